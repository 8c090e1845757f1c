use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::body::VerifyResponseBody;
use super::future::{Pending, ResponseFuture};
use super::layer::Settings;
use crate::profile::ReplayCheck;

/// The service [`VerifyLayer`](super::VerifyLayer) makes: verifies each request, then calls
/// `S` with the [`Outcome`](crate::profile::Outcome) in the request extensions.
#[derive(Clone)]
pub struct VerifyService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> VerifyService<S> {
    pub(crate) fn from_settings(inner: S, settings: Arc<Settings>) -> Self {
        VerifyService { inner, settings }
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

impl<S: fmt::Debug> fmt::Debug for VerifyService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyService")
            .field("inner", &self.inner)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for VerifyService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<VerifyResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let outcome = self.settings.outcome(&request);
        if let Some(fetch) = self.settings.fetch_for(&outcome) {
            // The ready service goes with the request; this one is a fresh clone.
            let clone = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, clone);
            return ResponseFuture::fetching(
                fetch,
                Pending {
                    request,
                    inner,
                    settings: Arc::clone(&self.settings),
                },
            );
        }
        match self.settings.replay_check(outcome) {
            ReplayCheck::Done(outcome) => {
                ResponseFuture::dispatch(&self.settings, &mut self.inner, request, outcome)
            }
            ReplayCheck::Pending(check) => {
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::replaying(
                    check,
                    Pending {
                        request,
                        inner,
                        settings: Arc::clone(&self.settings),
                    },
                )
            }
        }
    }
}
