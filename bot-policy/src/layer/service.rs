use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::{Action, Judgement, Settings};

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
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let Judgement {
            classification,
            decision,
            action,
        } = self.settings.judge(&request);
        let headers = self.settings.decision_headers(&decision);
        match action {
            Action::Respond(response) => ResponseFuture::respond(response, headers),
            Action::Pass | Action::PassCharged(_) => {
                let charge = match action {
                    Action::PassCharged(accepted) => self.settings.charge_hook().map(|hook| {
                        super::future::PendingCharge::new(
                            accepted,
                            Arc::clone(hook),
                            &request,
                            &decision,
                        )
                    }),
                    _ => None,
                };
                request.extensions_mut().insert(classification);
                request.extensions_mut().insert(decision);
                // The ready service takes the request; a clone waits for the next `poll_ready`.
                let clone = self.inner.clone();
                let mut ready = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::inner(ready.call(request), headers, charge)
            }
        }
    }
}
