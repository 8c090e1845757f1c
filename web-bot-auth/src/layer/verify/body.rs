use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The response body of a [`VerifyService`](super::VerifyService): the inner service's body,
    /// or the short text of a rejection.
    pub struct VerifyResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Rejection { data: Option<Bytes> },
    }
}

impl<B> VerifyResponseBody<B> {
    /// The inner service's body.
    pub(crate) fn inner(body: B) -> Self {
        VerifyResponseBody {
            kind: Kind::Inner { body },
        }
    }

    /// A body of `data`, sent in one frame.
    pub(crate) fn rejection(data: Bytes) -> Self {
        VerifyResponseBody {
            kind: Kind::Rejection { data: Some(data) },
        }
    }

    /// The inner service's body, unless this is a rejection.
    pub fn inner_ref(&self) -> Option<&B> {
        match &self.kind {
            Kind::Inner { body } => Some(body),
            Kind::Rejection { .. } => None,
        }
    }

    /// Whether this is a rejection written by the layer (the inner service was not called).
    pub fn is_rejection(&self) -> bool {
        matches!(self.kind, Kind::Rejection { .. })
    }
}

impl<B> Body for VerifyResponseBody<B>
where
    B: Body,
    B::Data: From<Bytes>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Rejection { data } => Poll::Ready(
                data.take()
                    .filter(|d| !d.is_empty())
                    .map(|d| Ok(Frame::data(d.into()))),
            ),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rejection { data } => data.as_ref().is_none_or(Bytes::is_empty),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rejection { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

impl<B> fmt::Debug for VerifyResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Inner { .. } => f.write_str("VerifyResponseBody::Inner"),
            Kind::Rejection { data } => f
                .debug_struct("VerifyResponseBody::Rejection")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    #[tokio::test]
    async fn both_kinds_stream_their_bytes() {
        let inner = VerifyResponseBody::inner(Full::new(Bytes::from_static(b"hello")));
        assert!(!inner.is_rejection());
        assert_eq!(inner.size_hint().exact(), Some(5));
        assert_eq!(inner.collect().await.unwrap().to_bytes(), "hello");

        let rejection = VerifyResponseBody::<Full<Bytes>>::rejection(Bytes::from_static(b"no"));
        assert!(rejection.is_rejection());
        assert!(!rejection.is_end_stream());
        assert_eq!(rejection.size_hint().exact(), Some(2));
        assert_eq!(rejection.collect().await.unwrap().to_bytes(), "no");

        let empty = VerifyResponseBody::<Full<Bytes>>::rejection(Bytes::new());
        assert!(empty.is_end_stream());
        assert!(empty.collect().await.unwrap().to_bytes().is_empty());
    }
}
