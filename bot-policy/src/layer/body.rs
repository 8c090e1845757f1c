use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The response body of a [`BotPolicyService`](super::BotPolicyService): the inner service's
    /// body, or the body of a response the layer wrote itself (a block, a challenge, a 402, a
    /// 429).
    pub struct BotPolicyBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Own { data: Option<Bytes> },
    }
}

impl<B> BotPolicyBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        BotPolicyBody {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn own(data: Bytes) -> Self {
        BotPolicyBody {
            kind: Kind::Own { data: Some(data) },
        }
    }

    /// Whether the layer wrote this response itself (the inner service did not answer it).
    pub fn is_from_layer(&self) -> bool {
        matches!(self.kind, Kind::Own { .. })
    }
}

impl<B> Body for BotPolicyBody<B>
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
            KindProj::Own { data } => Poll::Ready(
                data.take()
                    .filter(|d| !d.is_empty())
                    .map(|d| Ok(Frame::data(d.into()))),
            ),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Own { data } => data.as_ref().is_none_or(Bytes::is_empty),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Own { data } => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}

impl<B> fmt::Debug for BotPolicyBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Inner { .. } => f.write_str("BotPolicyBody::Inner"),
            Kind::Own { data } => f
                .debug_struct("BotPolicyBody::Own")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .finish(),
        }
    }
}
