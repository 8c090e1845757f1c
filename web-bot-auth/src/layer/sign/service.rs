use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use http_body::Body;
use tower_service::Service;

use super::body::SignBody;
use super::future::{Pending, ResponseFuture};
use super::layer::Settings;
use crate::layer::BoxError;

/// The service [`SignLayer`](super::SignLayer) makes: signs each request, then calls `S` with
/// it (the body wrapped in [`SignBody`]).
#[derive(Clone)]
pub struct SignService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> SignService<S> {
    pub(crate) fn from_settings(inner: S, settings: Arc<Settings>) -> Self {
        SignService { inner, settings }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, without this layer.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for SignService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignService")
            .field("inner", &self.inner)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<S, B> Service<Request<B>> for SignService<S>
where
    S: Service<Request<SignBody<B>>> + Clone,
    S::Error: Into<BoxError>,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some(limit) = self.settings.content_digest {
            // The ready service goes with the request; this one is a fresh clone.
            let clone = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, clone);
            let (parts, body) = request.into_parts();
            return ResponseFuture::buffering(
                body,
                Pending::new(parts, inner, Arc::clone(&self.settings), limit),
            );
        }
        ResponseFuture::sign_and_call(&self.settings, &mut self.inner, request.map(SignBody::new))
    }
}
