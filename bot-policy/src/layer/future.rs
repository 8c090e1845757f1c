use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::body::BotPolicyBody;
use super::charge::{ChargeFuture, ChargeHook, ChargeRequest};
use super::layer::{Action, Judgement, Settings};
use super::record::PolicyDecision;
use crate::pay_per_crawl::{Agreement, CRAWLER_CHARGED};

/// Response headers naming the rule and action, when enabled.
pub(crate) type DecisionHeaders = Option<[(HeaderName, HeaderValue); 2]>;

/// A charge to bill once the service answers `2xx`.
pub(crate) struct PendingCharge {
    hook: Arc<dyn ChargeHook>,
    request: ChargeRequest,
}

impl PendingCharge {
    pub(crate) fn new<B>(
        accepted: Agreement,
        hook: Arc<dyn ChargeHook>,
        request: &Request<B>,
        decision: &PolicyDecision,
    ) -> Self {
        let host = request
            .uri()
            .authority()
            .map(|a| a.as_str())
            .or_else(|| {
                request
                    .headers()
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
            })
            .unwrap_or("")
            .to_owned();
        PendingCharge {
            hook,
            request: ChargeRequest {
                price: accepted.price,
                payer: accepted.payer,
                method: request.method().clone(),
                uri: request.uri().clone(),
                host,
                rule: decision.rule.clone(),
                status: http::StatusCode::OK,
            },
        }
    }
}

/// A judgement waiting for Redis, owning the request's head (its body waits apart, so that it
/// need not be `Sync`).
pub(crate) type BoxJudging = Pin<Box<dyn Future<Output = (Request<()>, Judgement)> + Send>>;

/// What a request waiting for its judgement goes on with.
pub(crate) struct Waiting<S, B> {
    pub(crate) body: B,
    pub(crate) inner: S,
    pub(crate) settings: Arc<Settings>,
}

pin_project! {
    /// The response future of [`BotPolicyService`](super::BotPolicyService).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
        headers: DecisionHeaders,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        // The policy waits for Redis (a `rate_limit` rule counted there); then act.
        Judging { judging: BoxJudging, waiting: Option<Waiting<S, B>> },
        // The service has the request.
        Inner { #[pin] future: S::Future, charge: Option<PendingCharge> },
        // The service answered 2xx to a paying crawler; the billing hook is running.
        Charging { charge: ChargeFuture, response: Option<S::Response>, charged: Option<HeaderValue> },
        // Answered by the layer.
        Respond { response: Option<Response<Bytes>> },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    /// Acts on `judgement`: answers, or calls `inner` (ready) with the request.
    pub(crate) fn dispatch(
        settings: &Settings,
        inner: &mut S,
        request: Request<B>,
        judgement: Judgement,
    ) -> Self {
        let (state, headers) = State::dispatch(settings, inner, request, judgement);
        ResponseFuture { state, headers }
    }

    /// Waits for `judging`, then acts on it.
    #[cfg(feature = "redis")]
    pub(crate) fn judging(judging: BoxJudging, waiting: Waiting<S, B>) -> Self {
        ResponseFuture {
            state: State::Judging {
                judging,
                waiting: Some(waiting),
            },
            headers: None,
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
        judgement: Judgement,
    ) -> (Self, DecisionHeaders) {
        let Judgement {
            classification,
            decision,
            action,
        } = judgement;
        let headers = settings.decision_headers(&decision);
        let state = match action {
            Action::Respond(response) => State::Respond {
                response: Some(response),
            },
            Action::Pass | Action::PassCharged(_) => {
                let charge = match action {
                    Action::PassCharged(accepted) => settings.charge_hook().map(|hook| {
                        PendingCharge::new(accepted, Arc::clone(hook), &request, &decision)
                    }),
                    _ => None,
                };
                request.extensions_mut().insert(classification);
                request.extensions_mut().insert(decision);
                State::Inner {
                    future: inner.call(request),
                    charge,
                }
            }
        };
        (state, headers)
    }
}

fn finish<B>(
    mut response: Response<BotPolicyBody<B>>,
    headers: &mut DecisionHeaders,
) -> Response<BotPolicyBody<B>> {
    if let Some(headers) = headers.take() {
        for (name, value) in headers {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Output = Result<Response<BotPolicyBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Judging { judging, waiting } => {
                    let (head, judgement) = ready!(judging.as_mut().poll(cx));
                    let Some(Waiting {
                        body,
                        mut inner,
                        settings,
                    }) = waiting.take()
                    else {
                        return Poll::Pending;
                    };
                    let (parts, ()) = head.into_parts();
                    let request = Request::from_parts(parts, body);
                    let (state, headers) =
                        State::dispatch(&settings, &mut inner, request, judgement);
                    *this.headers = headers;
                    this.state.set(state);
                }
                StateProj::Inner { future, charge } => {
                    let response = ready!(future.poll(cx))?;
                    let pending = charge.take();
                    match pending {
                        Some(mut pending) if response.status().is_success() => {
                            pending.request.status = response.status();
                            let charged =
                                HeaderValue::try_from(pending.request.price.to_string()).ok();
                            let charge = pending.hook.charge(pending.request);
                            this.state.set(State::Charging {
                                charge,
                                response: Some(response),
                                charged,
                            });
                        }
                        _ => {
                            return Poll::Ready(Ok(finish(
                                response.map(BotPolicyBody::inner),
                                this.headers,
                            )));
                        }
                    }
                }
                StateProj::Charging {
                    charge,
                    response,
                    charged,
                } => {
                    let result = ready!(charge.as_mut().poll(cx));
                    let Some(response) = response.take() else {
                        return Poll::Pending;
                    };
                    let response = match result {
                        Ok(()) => {
                            let mut response = response.map(BotPolicyBody::inner);
                            if let Some(charged) = charged.take() {
                                response.headers_mut().insert(CRAWLER_CHARGED, charged);
                            }
                            response
                        }
                        Err(error) => {
                            tracing::warn!(
                                target: "bot_policy::decision",
                                %error,
                                "pay-per-crawl charge failed; the content is withheld"
                            );
                            drop(response);
                            error.response().map(|body| BotPolicyBody::own(body.into()))
                        }
                    };
                    return Poll::Ready(Ok(finish(response, this.headers)));
                }
                StateProj::Respond { response } => {
                    let Some(response) = response.take() else {
                        return Poll::Pending;
                    };
                    return Poll::Ready(Ok(finish(response.map(BotPolicyBody::own), this.headers)));
                }
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
            State::Judging { .. } => "judging",
            State::Inner { .. } => "inner",
            State::Charging { .. } => "charging",
            State::Respond { .. } => "respond",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
