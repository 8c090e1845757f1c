//! The bodies the layer hands on and answers with.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The request body the service receives: the bytes the layer read (a `POST`), byte for
    /// byte, or the untouched original (other methods).
    #[derive(Debug)]
    pub struct McpRequestBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    /// The response body: the service's, or a short JSON answer of the layer.
    #[derive(Debug)]
    pub struct McpResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Passed { #[pin] body: B },
        Bytes { bytes: Option<Bytes> },
    }
}

impl<B> McpRequestBody<B> {
    pub(super) fn read(bytes: Bytes) -> Self {
        McpRequestBody {
            kind: Kind::Bytes { bytes: Some(bytes) },
        }
    }

    pub(super) fn passed(body: B) -> Self {
        McpRequestBody {
            kind: Kind::Passed { body },
        }
    }

    /// The bytes the layer read, if it read the body (and it was not polled yet).
    pub fn read_bytes(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::Bytes { bytes } => bytes.as_ref(),
            Kind::Passed { .. } => None,
        }
    }
}

impl<B> McpResponseBody<B> {
    pub(super) fn service(body: B) -> Self {
        McpResponseBody {
            kind: Kind::Passed { body },
        }
    }

    /// Whether the layer wrote this response (a refusal) rather than the service.
    pub fn is_from_layer(&self) -> bool {
        matches!(self.kind, Kind::Bytes { .. })
    }
}

impl<B> From<Bytes> for McpResponseBody<B> {
    fn from(bytes: Bytes) -> Self {
        McpResponseBody {
            kind: Kind::Bytes { bytes: Some(bytes) },
        }
    }
}

impl<B: Body<Data = Bytes>> Kind<B> {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project() {
            KindProj::Passed { body } => body.poll_frame(cx),
            KindProj::Bytes { bytes } => Poll::Ready(
                bytes
                    .take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
        }
    }

    fn at_end(&self) -> bool {
        match self {
            Kind::Passed { body } => body.is_end_stream(),
            Kind::Bytes { bytes } => bytes.as_ref().is_none_or(Bytes::is_empty),
        }
    }

    fn hint(&self) -> SizeHint {
        match self {
            Kind::Passed { body } => body.size_hint(),
            Kind::Bytes { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

macro_rules! body_impl {
    ($name:ident) => {
        impl<B: Body<Data = Bytes>> Body for $name<B> {
            type Data = Bytes;
            type Error = B::Error;

            fn poll_frame(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
                self.project().kind.poll(cx)
            }

            fn is_end_stream(&self) -> bool {
                self.kind.at_end()
            }

            fn size_hint(&self) -> SizeHint {
                self.kind.hint()
            }
        }
    };
}

body_impl!(McpRequestBody);
body_impl!(McpResponseBody);
