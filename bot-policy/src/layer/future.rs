use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;

use super::body::BotPolicyBody;
use super::charge::{self, Accepted, ChargeFuture, ChargeHook, ChargeRequest};
use super::record::PolicyDecision;

/// Response headers naming the rule and action, when enabled.
pub(crate) type DecisionHeaders = Option<[(HeaderName, HeaderValue); 2]>;

/// A charge to bill once the service answers `2xx`.
pub(crate) struct PendingCharge {
    hook: Arc<dyn ChargeHook>,
    request: ChargeRequest,
}

impl PendingCharge {
    pub(crate) fn new<B>(
        accepted: Accepted,
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

pin_project! {
    /// The response future of [`BotPolicyService`](super::BotPolicyService).
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
        headers: DecisionHeaders,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        // The service has the request.
        Inner { #[pin] future: F, charge: Option<PendingCharge> },
        // The service answered 2xx to a paying crawler; the billing hook is running.
        Charging { charge: ChargeFuture, response: Option<Response<B>>, charged: Option<HeaderValue> },
        // Answered by the layer.
        Respond { response: Option<Response<Bytes>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(
        future: F,
        headers: DecisionHeaders,
        charge: Option<PendingCharge>,
    ) -> Self {
        ResponseFuture {
            state: State::Inner { future, charge },
            headers,
        }
    }

    pub(crate) fn respond(response: Response<Bytes>, headers: DecisionHeaders) -> Self {
        ResponseFuture {
            state: State::Respond {
                response: Some(response),
            },
            headers,
        }
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

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<BotPolicyBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
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
                                response.headers_mut().insert(charge::CHARGED, charged);
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
                            charge::failed(&error).map(BotPolicyBody::own)
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

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Inner { .. } => "inner",
            State::Charging { .. } => "charging",
            State::Respond { .. } => "respond",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
