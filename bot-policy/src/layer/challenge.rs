//! The `challenge` action: a pluggable responder.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri};

use super::record::RequestClassification;
use crate::pay_per_crawl::set_json_headers;

/// A request a `challenge` rule matched, as the [`ChallengeResponder`] sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Challenge<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request URI.
    pub uri: &'a Uri,
    /// The request header fields (cookies, for a responder that checks a clearance token).
    pub headers: &'a HeaderMap,
    /// The id of the rule that asked for the challenge (for the responder's logs; the default
    /// responder does not send it to the client).
    pub rule: Option<&'a str>,
    /// Who the client looks like.
    pub classification: &'a RequestClassification,
}

/// What a [`ChallengeResponder`] decided.
#[derive(Debug)]
pub enum ChallengeResponse {
    /// The client already passed a challenge (a valid clearance cookie, say): let the request
    /// go on to the service.
    Pass,
    /// Answer with this response instead of calling the service.
    Respond(Response<Bytes>),
}

/// Answers requests a `challenge` rule matched: an HTML page with a proof-of-work or a captcha, a
/// redirect to a challenge service, or a plain refusal.
///
/// Implemented for closures `Fn(&Challenge<'_>) -> ChallengeResponse`.
///
/// ```
/// use bot_policy::layer::{BotPolicyLayer, Challenge, ChallengeResponse};
/// use bot_policy::Policy;
///
/// let policy = Policy::from_toml_str(r#"include = ["baseline"]"#).unwrap();
/// let layer = BotPolicyLayer::new(policy).challenge_responder(|challenge: &Challenge<'_>| {
///     let cleared = challenge
///         .headers
///         .get("cookie")
///         .and_then(|c| c.to_str().ok())
///         .is_some_and(|c| c.contains("clearance=ok"));
///     if cleared {
///         ChallengeResponse::Pass
///     } else {
///         let page = http::Response::builder()
///             .status(403)
///             .header("content-type", "text/html")
///             .body(bytes::Bytes::from_static(b"<p>Please wait while we check your browser</p>"))
///             .unwrap();
///         ChallengeResponse::Respond(page)
///     }
/// });
/// # let _ = layer;
/// ```
pub trait ChallengeResponder: Send + Sync + 'static {
    /// Decides what to answer.
    fn respond(&self, challenge: &Challenge<'_>) -> ChallengeResponse;
}

impl<F> ChallengeResponder for F
where
    F: Fn(&Challenge<'_>) -> ChallengeResponse + Send + Sync + 'static,
{
    fn respond(&self, challenge: &Challenge<'_>) -> ChallengeResponse {
        self(challenge)
    }
}

/// The default responder: `403` with `{"error":"challenge_required"}` and `cf-mitigated:
/// challenge` (the header Cloudflare sets on challenge responses, so that clients written for
/// Cloudflare recognise it).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultChallenge;

impl ChallengeResponder for DefaultChallenge {
    fn respond(&self, _: &Challenge<'_>) -> ChallengeResponse {
        let mut response =
            json_response(StatusCode::FORBIDDEN, r#"{"error":"challenge_required"}"#);
        response
            .headers_mut()
            .insert("cf-mitigated", HeaderValue::from_static("challenge"));
        ChallengeResponse::Respond(response)
    }
}

/// A response the layer writes: `status`, a JSON `body`, `cache-control: no-store`.
pub(crate) fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    set_json_headers(response.headers_mut());
    response
}
