use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::body::VerifyResponseBody;
use super::layer::{BoxFetch, Settings};
use crate::profile::{Outcome, PendingReplayCheck, ReplayCheck};

/// The body of a rejection: no detail, so that a client learns nothing about why.
const REJECTION: &[u8] = b"invalid signature";

/// A request waiting for a key fetch, with the ready inner service that will take it.
pub(crate) struct Pending<S, B> {
    pub(crate) request: Request<B>,
    pub(crate) inner: S,
    pub(crate) settings: Arc<Settings>,
}

pin_project! {
    /// The response future of [`VerifyService`](super::VerifyService).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
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
        S: Service<Request<B>>,
    {
        // Fetching the keys of an agent; then verify again and go on.
        Fetching { fetch: BoxFetch, pending: Pending<S, B> },
        // Checking the nonce of a verified signature in the async replay store; then go on.
        Replaying { check: PendingReplayCheck, pending: Pending<S, B> },
        // The inner service has the request.
        Inner { #[pin] future: S::Future },
        // Refused without calling the inner service.
        Rejected,
        // Between two states (never observed from outside).
        Moving,
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    /// Waits for `fetch`, then verifies `pending` again.
    pub(crate) fn fetching(fetch: BoxFetch, pending: Pending<S, B>) -> Self {
        ResponseFuture {
            state: State::Fetching { fetch, pending },
        }
    }

    /// Waits for the nonce `check`, then acts on the outcome it gives.
    pub(crate) fn replaying(check: PendingReplayCheck, pending: Pending<S, B>) -> Self {
        ResponseFuture {
            state: State::Replaying { check, pending },
        }
    }

    /// Acts on a final `outcome`: refuses the request, or calls `inner` with the outcome in the
    /// request's extensions.
    pub(crate) fn dispatch(
        settings: &Settings,
        inner: &mut S,
        request: Request<B>,
        outcome: Outcome,
    ) -> Self {
        ResponseFuture {
            state: State::dispatch(settings, inner, request, outcome),
        }
    }
}

impl<S, B> State<S, B>
where
    S: Service<Request<B>>,
{
    fn dispatch(
        settings: &Settings,
        inner: &mut S,
        mut request: Request<B>,
        outcome: Outcome,
    ) -> Self {
        if settings.judge(&outcome) {
            return State::Rejected;
        }
        request.extensions_mut().insert(outcome);
        State::Inner {
            future: inner.call(request),
        }
    }
}

fn rejection<B>() -> Response<VerifyResponseBody<B>> {
    let mut response = Response::new(VerifyResponseBody::rejection(Bytes::from_static(REJECTION)));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Output = Result<Response<VerifyResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Fetching { fetch, .. } => {
                    // Verify again whatever the fetch said: a failed refresh of a cached agent
                    // leaves its stale keys resolvable (stale-if-error).
                    let _ = ready!(fetch.as_mut().poll(cx));
                    let StateReplace::Fetching { pending, .. } =
                        state.as_mut().project_replace(State::Moving)
                    else {
                        return Poll::Pending;
                    };
                    let Pending {
                        request,
                        mut inner,
                        settings,
                    } = pending;
                    let outcome = settings.outcome(&request);
                    match settings.replay_check(outcome) {
                        ReplayCheck::Done(outcome) => {
                            state.set(State::dispatch(&settings, &mut inner, request, outcome));
                        }
                        ReplayCheck::Pending(check) => state.set(State::Replaying {
                            check,
                            pending: Pending {
                                request,
                                inner,
                                settings,
                            },
                        }),
                    }
                }
                StateProj::Replaying { check, .. } => {
                    let outcome = ready!(check.as_mut().poll(cx));
                    let StateReplace::Replaying { pending, .. } =
                        state.as_mut().project_replace(State::Moving)
                    else {
                        return Poll::Pending;
                    };
                    let Pending {
                        request,
                        mut inner,
                        settings,
                    } = pending;
                    state.set(State::dispatch(&settings, &mut inner, request, outcome));
                }
                StateProj::Inner { future } => {
                    return future
                        .poll(cx)
                        .map_ok(|response| response.map(VerifyResponseBody::inner));
                }
                StateProj::Rejected => return Poll::Ready(Ok(rejection())),
                // Only seen if a verification panicked mid-transition.
                StateProj::Moving => return Poll::Pending,
            }
        }
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Fetching { .. } => "fetching",
            State::Replaying { .. } => "replaying",
            State::Inner { .. } => "inner",
            State::Rejected => "rejected",
            State::Moving => "moving",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
