use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
#[cfg(feature = "redis")]
use super::future::{BoxJudging, Waiting};
use super::layer::Settings;

/// The service a [`BotPolicyLayer`](super::BotPolicyLayer) wraps around `S`.
#[derive(Clone)]
pub struct BotPolicyService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> BotPolicyService<S> {
    pub(crate) fn new(inner: S, settings: Arc<Settings>) -> Self {
        BotPolicyService { inner, settings }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for BotPolicyService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotPolicyService")
            .field("inner", &self.inner)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<S, B, ResBody> Service<Request<B>> for BotPolicyService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<super::BotPolicyBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        #[cfg(feature = "redis")]
        if let Some(policy) = self.settings.policy_waiting_for_redis() {
            // The head goes into the judging future; the body and the ready service wait.
            let (parts, body) = request.into_parts();
            let head = Request::from_parts(parts, ());
            let settings = Arc::clone(&self.settings);
            let judging: BoxJudging = Box::pin(async move {
                let judgement = settings.judge_async(&head, policy).await;
                (head, judgement)
            });
            let clone = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, clone);
            return ResponseFuture::judging(
                judging,
                Waiting {
                    body,
                    inner,
                    settings: Arc::clone(&self.settings),
                },
            );
        }
        let judgement = self.settings.judge(&request);
        // The ready service takes the request; a clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::dispatch(&self.settings, &mut ready, request, judgement)
    }
}
