use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, Bytes};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::body::SignBody;
use super::error::SignLayerError;
use super::layer::Settings;
use crate::digest::{DigestAlgorithm, content_digest};
use crate::layer::BoxError;

const CONTENT_DIGEST: HeaderName = HeaderName::from_static("content-digest");

/// A request whose body is being read, with the ready inner service that will take it.
pub(crate) struct Pending<S> {
    parts: Parts,
    inner: S,
    settings: Arc<Settings>,
    limit: usize,
    data: Vec<u8>,
    trailers: Option<HeaderMap>,
}

impl<S> Pending<S> {
    pub(crate) fn new(parts: Parts, inner: S, settings: Arc<Settings>, limit: usize) -> Self {
        Pending {
            parts,
            inner,
            settings,
            limit,
            data: Vec::new(),
            trailers: None,
        }
    }

    /// Reads `body` to its end, within the limit.
    fn read<B>(
        &mut self,
        mut body: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SignLayerError>>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        loop {
            let frame = match ready!(body.as_mut().poll_frame(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Err(e)) => return Poll::Ready(Err(SignLayerError::Body(e.into()))),
                Some(Ok(frame)) => frame,
            };
            match frame.into_data() {
                Ok(data) => {
                    if self.data.len().saturating_add(data.remaining()) > self.limit {
                        return Poll::Ready(Err(SignLayerError::BodyTooLarge {
                            limit: self.limit,
                        }));
                    }
                    self.data.put(data);
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        match &mut self.trailers {
                            Some(t) => t.extend(trailers),
                            None => self.trailers = Some(trailers),
                        }
                    }
                }
            }
        }
    }

    /// Sets `Content-Digest` for the body read, signs, and calls the inner service.
    fn send<B>(self) -> State<S, B>
    where
        S: Service<Request<SignBody<B>>>,
    {
        let Pending {
            mut parts,
            mut inner,
            settings,
            data,
            trailers,
            ..
        } = self;
        let data = Bytes::from(data);
        let digest = content_digest(&data, &[DigestAlgorithm::Sha256]);
        // A Content-Digest value is base64 and punctuation: always a valid header value.
        if let Ok(value) = HeaderValue::try_from(digest) {
            parts.headers.insert(CONTENT_DIGEST, value);
        }
        let request = Request::from_parts(parts, SignBody::buffered(data, trailers));
        State::sign_and_call(&settings, &mut inner, request)
    }
}

pin_project! {
    /// The response future of [`SignService`](super::SignService).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<SignBody<B>>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateReplace]
    enum State<S, B>
    where
        S: Service<Request<SignBody<B>>>,
    {
        // Reading the body to compute its digest.
        Buffering { #[pin] body: B, pending: Pending<S> },
        // The inner service has the signed request.
        Inner { #[pin] future: S::Future },
        // The request could not be signed.
        Failed { error: Option<SignLayerError> },
        // Between two states (never observed from outside).
        Moving,
    }
}

impl<S, B> State<S, B>
where
    S: Service<Request<SignBody<B>>>,
{
    fn sign_and_call(
        settings: &Settings,
        inner: &mut S,
        mut request: Request<SignBody<B>>,
    ) -> Self {
        match settings.sign(&mut request) {
            Ok(()) => State::Inner {
                future: inner.call(request),
            },
            Err(error) => State::Failed { error: Some(error) },
        }
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<SignBody<B>>>,
{
    /// Reads `body` first, then signs and calls.
    pub(crate) fn buffering(body: B, pending: Pending<S>) -> Self {
        ResponseFuture {
            state: State::Buffering { body, pending },
        }
    }

    /// Signs `request` and calls `inner` with it.
    pub(crate) fn sign_and_call(
        settings: &Settings,
        inner: &mut S,
        request: Request<SignBody<B>>,
    ) -> Self {
        ResponseFuture {
            state: State::sign_and_call(settings, inner, request),
        }
    }
}

impl<S, B> Future for ResponseFuture<S, B>
where
    S: Service<Request<SignBody<B>>>,
    S::Error: Into<BoxError>,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Output = Result<S::Response, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Buffering { body, pending } => {
                    let read = ready!(pending.read(body, cx));
                    let StateReplace::Buffering { pending, .. } =
                        state.as_mut().project_replace(State::Moving)
                    else {
                        return Poll::Pending;
                    };
                    let next = match read {
                        Ok(()) => pending.send(),
                        Err(error) => State::Failed { error: Some(error) },
                    };
                    state.set(next);
                }
                StateProj::Inner { future } => return future.poll(cx).map_err(Into::into),
                StateProj::Failed { error } => {
                    return match error.take() {
                        Some(error) => Poll::Ready(Err(error.into())),
                        // Polled again after completion.
                        None => Poll::Pending,
                    };
                }
                // Only seen if signing panicked mid-transition.
                StateProj::Moving => return Poll::Pending,
            }
        }
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<SignBody<B>>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Buffering { .. } => "buffering",
            State::Inner { .. } => "inner",
            State::Failed { .. } => "failed",
            State::Moving => "moving",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
