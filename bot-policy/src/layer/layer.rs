use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use tower_layer::Layer;

use super::challenge::{
    Challenge, ChallengeResponder, ChallengeResponse, DefaultChallenge, json_response,
};
use super::charge::ChargeHook;
use super::record::{PolicyDecision, RequestClassification};
use super::service::BotPolicyService;
use crate::classify::{
    Classification, Classifier, Signals, SignatureCheck, SignatureOutcome, TrustedProxies,
};
use crate::facts::RequestFacts;
use crate::live::{LiveClassifier, LivePolicy};
use crate::pay_per_crawl::{self, Agreement, Payer};
use crate::policy::{Policy, Verdict};

/// Finds the connection's peer address of a request.
pub type PeerAddr = Arc<dyn Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync>;

/// The default peer address: an `IpAddr` or a `SocketAddr` in the request extensions.
fn peer_from_extensions(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<IpAddr>()
        .copied()
        .or_else(|| extensions.get::<SocketAddr>().map(SocketAddr::ip))
}

/// What a [`BotPolicyLayer`] and its services share.
#[derive(Clone)]
pub(crate) struct Settings {
    policy: LivePolicy,
    classifier: LiveClassifier,
    proxies: Option<TrustedProxies>,
    peer_addr: PeerAddr,
    upstream_agent_header: Option<HeaderName>,
    challenge: Arc<dyn ChallengeResponder>,
    charge_hook: Option<Arc<dyn ChargeHook>>,
    charge_ip_verified: bool,
    decision_headers: bool,
    warned_no_peer: Arc<AtomicBool>,
    #[cfg(feature = "metrics")]
    counters: Arc<crate::counters::DecisionCounters>,
}

/// What the layer does with one request.
pub(crate) enum Action {
    /// Call the service.
    Pass,
    /// Call the service; bill if it answers `2xx`.
    PassCharged(Agreement),
    /// Answer with this instead.
    Respond(Response<Bytes>),
}

/// The layer's judgement of one request.
pub(crate) struct Judgement {
    pub classification: RequestClassification,
    pub decision: PolicyDecision,
    pub action: Action,
}

impl Settings {
    pub(crate) fn charge_hook(&self) -> Option<&Arc<dyn ChargeHook>> {
        self.charge_hook.as_ref()
    }

    /// The decision headers to add to the response, when enabled.
    pub(crate) fn decision_headers(
        &self,
        decision: &PolicyDecision,
    ) -> Option<[(HeaderName, HeaderValue); 2]> {
        if !self.decision_headers {
            return None;
        }
        let rule = decision
            .rule()
            .and_then(|id| HeaderValue::from_str(id).ok())
            .unwrap_or_else(|| HeaderValue::from_static("-"));
        Some([
            (HeaderName::from_static("bot-policy-rule"), rule),
            (
                HeaderName::from_static("bot-policy-action"),
                HeaderValue::from_static(decision.verdict().name()),
            ),
        ])
    }

    /// The policy to evaluate `request` with, when it must wait for Redis (some `rate_limit`
    /// rule is counted there); `None` for the synchronous path.
    #[cfg(feature = "redis")]
    pub(crate) fn policy_waiting_for_redis(&self) -> Option<Arc<Policy>> {
        let policy = self.policy.guard();
        policy.has_shared_limits().then(|| Arc::clone(&policy))
    }

    /// Classifies `request`, evaluates the policy, and decides what to do.
    pub(crate) fn judge<B>(&self, request: &Request<B>) -> Judgement {
        let policy = self.policy.guard();
        let generation = self.policy.generation();
        let classifier = self.classifier.guard();
        let observed = self.observe(request);
        let facts = RequestFacts::from_http(request);
        let classification = observed.classify(&classifier, &facts, request);
        let facts = observed.complete(facts, &classification);
        let evaluated = policy.evaluate(&facts);
        self.conclude(
            request,
            &policy,
            generation,
            &observed,
            &classification,
            *evaluated.verdict(),
            evaluated.index,
        )
    }

    /// As [`Settings::judge`], waiting for Redis where the policy's rate limits are counted.
    #[cfg(feature = "redis")]
    pub(crate) async fn judge_async(
        &self,
        request: &Request<()>,
        policy: Arc<Policy>,
    ) -> Judgement {
        let generation = self.policy.generation();
        let classifier = self.classifier.current();
        let observed = self.observe(request);
        let facts = RequestFacts::from_http(request);
        let classification = observed.classify(&classifier, &facts, request);
        let facts = observed.complete(facts, &classification);
        let (verdict, index) = {
            let evaluated = policy.evaluate_async(&facts).await;
            (*evaluated.verdict(), evaluated.index)
        };
        self.conclude(
            request,
            &policy,
            generation,
            &observed,
            &classification,
            verdict,
            index,
        )
    }

    /// The client address and the signature outcome of `request`.
    fn observe<'r, B>(&self, request: &'r Request<B>) -> Observed<'r> {
        let headers = request.headers();
        let peer = (self.peer_addr)(request.extensions());
        if peer.is_none() && !self.warned_no_peer.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "bot_policy::layer",
                "no peer address in the request extensions: IP ranges, ip.src and per-IP rate \
                 limits cannot work (insert an IpAddr or SocketAddr, or set BotPolicyLayer::peer_addr)"
            );
        }
        let client_ip = match (peer, &self.proxies) {
            (Some(peer), Some(proxies)) => Some(proxies.client_ip(peer, headers)),
            (peer, _) => peer.map(|ip| ip.to_canonical()),
        };
        let trusted_hop = match (peer, &self.proxies) {
            (Some(peer), Some(proxies)) => proxies.trusts(peer),
            _ => false,
        };
        Observed {
            client_ip,
            signature: self.signature(request, trusted_hop),
        }
    }

    /// What to do, once the policy has decided.
    #[allow(clippy::too_many_arguments)]
    fn conclude<B>(
        &self,
        request: &Request<B>,
        policy: &Policy,
        generation: u64,
        observed: &Observed<'_>,
        classification: &Classification<'_>,
        verdict: Verdict,
        index: Option<usize>,
    ) -> Judgement {
        let headers = request.headers();
        let client_ip = observed.client_ip;
        let signature = observed.signature;
        let record = RequestClassification::new(classification, client_ip);
        let mut decision = PolicyDecision {
            verdict,
            rule: index
                .and_then(|i| policy.rules().get(i))
                .map(|r| r.shared_id()),
            generation,
            challenge_passed: false,
        };

        let action = match decision.verdict {
            Verdict::Allow | Verdict::Skip => Action::Pass,
            Verdict::Block => Action::Respond(json_response(
                StatusCode::FORBIDDEN,
                r#"{"error":"forbidden"}"#,
            )),
            Verdict::Challenge => {
                let challenge = Challenge {
                    method: request.method(),
                    uri: request.uri(),
                    headers,
                    rule: decision.rule(),
                    classification: &record,
                };
                match self.challenge.respond(&challenge) {
                    ChallengeResponse::Pass => {
                        decision.challenge_passed = true;
                        Action::Pass
                    }
                    ChallengeResponse::Respond(response) => Action::Respond(response),
                }
            }
            Verdict::RateLimited { retry_after } => Action::Respond(rate_limited(retry_after)),
            Verdict::Charge(price) => {
                let payer = self.payer(&record, signature);
                // A payer verified by its signature must have signed its offer too.
                let by_signature = payer.as_ref().is_some_and(|p| p.verified_by == "signature");
                let covers = |name: &str| !by_signature || signature.covers_field(name);
                let can_bill = self.charge_hook.is_some();
                match pay_per_crawl::exchange(price, headers, payer, Some(&covers), can_bill) {
                    Ok(agreement) => Action::PassCharged(agreement),
                    Err(refusal) => Action::Respond(refusal.into_response().map(Bytes::from)),
                }
            }
            // `Verdict` is non-exhaustive for users; a verdict this layer does not know is refused.
            #[allow(unreachable_patterns)]
            _ => Action::Respond(json_response(
                StatusCode::FORBIDDEN,
                r#"{"error":"forbidden"}"#,
            )),
        };
        self.report(request, &record, &decision, &action);
        Judgement {
            classification: record,
            decision,
            action,
        }
    }

    /// The signature outcome: `web-bot-auth`'s, else a [`SignatureCheck`] in the extensions,
    /// else the upstream header when the hop that set it is trusted.
    fn signature<'r, B>(&self, request: &'r Request<B>, trusted_hop: bool) -> Signature<'r> {
        #[cfg(feature = "web-bot-auth")]
        if let Some(outcome) = request.extensions().get::<web_bot_auth::profile::Outcome>() {
            return match outcome {
                web_bot_auth::profile::Outcome::Verified(agent) => Signature::WebBotAuth(agent),
                web_bot_auth::profile::Outcome::Invalid(_) => Signature::Invalid,
                _ => Signature::Absent,
            };
        }
        if let Some(check) = request.extensions().get::<SignatureCheck>() {
            return match check {
                SignatureCheck::Verified { agent } => Signature::Upstream(agent),
                _ => Signature::Invalid,
            };
        }
        if trusted_hop
            && let Some(name) = &self.upstream_agent_header
            && let Some(agent) = request.headers().get(name).and_then(|v| v.to_str().ok())
            && !agent.trim().is_empty()
        {
            return Signature::Upstream(agent.trim());
        }
        Signature::Absent
    }

    /// Who pays, when the client is verified strongly enough (with the key that signed, when
    /// `web-bot-auth` verified it).
    fn payer(&self, record: &RequestClassification, signature: Signature<'_>) -> Option<Payer> {
        let payer = Payer::verified(
            record.verified_by(),
            self.charge_ip_verified,
            record
                .bot()
                .map(|bot| (bot.name.as_str(), bot.operator.as_str())),
            record.signature_agent(),
        )?;
        Some(match signature.keyid() {
            Some(keyid) if payer.verified_by == "signature" => payer.with_keyid(keyid),
            _ => payer,
        })
    }

    /// Metrics, and one `tracing` event per decision that is not `allow`.
    fn report<B>(
        &self,
        request: &Request<B>,
        record: &RequestClassification,
        decision: &PolicyDecision,
        action: &Action,
    ) {
        #[cfg(feature = "metrics")]
        self.counters.decided(decision.verdict().name());
        if matches!(decision.verdict(), Verdict::Allow) {
            return;
        }
        let status = match action {
            Action::Respond(response) => response.status().as_u16(),
            Action::Pass | Action::PassCharged(_) => 0,
        };
        tracing::info!(
            target: "bot_policy::decision",
            action = decision.verdict().name(),
            rule = decision.rule().unwrap_or("-"),
            status,
            challenge_passed = decision.challenge_passed(),
            bot = record.bot().map_or("-", |b| b.name.as_str()),
            verified_by = record.verified_by().unwrap_or("-"),
            spoofed = record.spoofed(),
            score = record.score(),
            client_ip = ?record.client_ip(),
            method = %request.method(),
            path = request.uri().path(),
            "bot policy decision"
        );
    }
}

/// What the layer saw of a request before classifying it.
struct Observed<'r> {
    client_ip: Option<IpAddr>,
    signature: Signature<'r>,
}

impl<'r> Observed<'r> {
    /// Classifies the client.
    fn classify<'c, B>(
        &self,
        classifier: &'c Classifier,
        facts: &RequestFacts<'c>,
        request: &'c Request<B>,
    ) -> Classification<'c>
    where
        'r: 'c,
    {
        classifier.classify(&Signals {
            user_agent: facts.user_agent(),
            client_ip: self.client_ip,
            signature: self.signature.outcome(),
            headers: Some(request.headers()),
        })
    }

    /// The facts the policy reads: the request's, the classification's and the client address.
    fn complete<'c>(
        &self,
        facts: RequestFacts<'c>,
        classification: &Classification<'c>,
    ) -> RequestFacts<'c> {
        let mut facts = facts.with_bot(classification.bot_facts());
        if let Some(ip) = self.client_ip {
            facts = facts.with_client_ip(ip);
        }
        facts
    }
}

/// Where the signature outcome came from.
#[derive(Clone, Copy)]
enum Signature<'r> {
    Absent,
    Invalid,
    Upstream(&'r str),
    #[cfg(feature = "web-bot-auth")]
    WebBotAuth(&'r web_bot_auth::profile::VerifiedAgent),
}

impl<'r> Signature<'r> {
    /// The id of the key that signed, when `web-bot-auth` verified the signature.
    fn keyid(self) -> Option<&'r str> {
        match self {
            #[cfg(feature = "web-bot-auth")]
            Signature::WebBotAuth(agent) => Some(&agent.keyid),
            _ => None,
        }
    }

    /// Whether the signature covers the field `name`: known only when `web-bot-auth` verified
    /// it; any other outcome is taken to cover it.
    #[cfg_attr(not(feature = "web-bot-auth"), allow(unused_variables))]
    fn covers_field(self, name: &str) -> bool {
        match self {
            #[cfg(feature = "web-bot-auth")]
            Signature::WebBotAuth(agent) => agent.covers_field(name),
            _ => true,
        }
    }

    fn outcome(self) -> SignatureOutcome<'r> {
        match self {
            Signature::Absent => SignatureOutcome::Absent,
            Signature::Invalid => SignatureOutcome::Invalid,
            Signature::Upstream(agent) => SignatureOutcome::Verified { agent },
            #[cfg(feature = "web-bot-auth")]
            Signature::WebBotAuth(verified) => SignatureOutcome::Verified {
                agent: verified.agent.as_ref().map_or("", |a| a.uri.as_str()),
            },
        }
    }
}

/// `429` with `Retry-After` in whole seconds (at least 1).
fn rate_limited(retry_after: std::time::Duration) -> Response<Bytes> {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = json_response(
        StatusCode::TOO_MANY_REQUESTS,
        format!(r#"{{"error":"rate_limited","retry_after":{seconds}}}"#),
    );
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotPolicyLayer")
            .field("policy", &self.policy)
            .field("classifier", &self.classifier)
            .field("trusted_proxies", &self.proxies.is_some())
            .field("upstream_agent_header", &self.upstream_agent_header)
            .field("charge_hook", &self.charge_hook.is_some())
            .field("charge_ip_verified", &self.charge_ip_verified)
            .field("decision_headers", &self.decision_headers)
            .finish_non_exhaustive()
    }
}

/// Classifies each request, evaluates a bot policy, and acts on the decision; see the [module
/// documentation](super).
///
/// Cheap to clone: the configuration is shared. The builder methods are meant to be used before
/// the layer is cloned into services; each returns a layer with its own configuration.
///
/// # Where the signature outcome comes from
///
/// In order: `web-bot-auth`'s `Outcome` in the request extensions (feature `web-bot-auth`, put
/// there by its `VerifyLayer` placed before this one); else a [`SignatureCheck`] in the
/// extensions (from any other verifier); else the header named by
/// [`BotPolicyLayer::upstream_signature_agent_header`], believed only when the connection comes
/// from a trusted proxy.
#[derive(Clone)]
pub struct BotPolicyLayer {
    settings: Arc<Settings>,
}

impl fmt::Debug for BotPolicyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.settings.fmt(f)
    }
}

impl BotPolicyLayer {
    /// A layer evaluating `policy` (a [`Policy`](crate::Policy) or a [`LivePolicy`] for hot
    /// reload) with the built-in classifier; forwarding headers ignored, the default
    /// challenge, no charge hook, no decision headers.
    pub fn new(policy: impl Into<LivePolicy>) -> Self {
        BotPolicyLayer {
            settings: Arc::new(Settings {
                policy: policy.into(),
                classifier: LiveClassifier::default(),
                proxies: None,
                peer_addr: Arc::new(peer_from_extensions),
                upstream_agent_header: None,
                challenge: Arc::new(DefaultChallenge),
                charge_hook: None,
                charge_ip_verified: false,
                decision_headers: false,
                warned_no_peer: Arc::new(AtomicBool::new(false)),
                #[cfg(feature = "metrics")]
                counters: Arc::default(),
            }),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        change(Arc::make_mut(&mut self.settings));
        self
    }

    /// Classifies with this classifier (a [`Classifier`](crate::classify::Classifier), or a
    /// [`LiveClassifier`] whose ranges a refresher updates).
    pub fn classifier(self, classifier: impl Into<LiveClassifier>) -> Self {
        let classifier = classifier.into();
        self.with(|s| s.classifier = classifier)
    }

    /// Believes forwarding headers (`CF-Connecting-IP`, `X-Forwarded-For`, `Forwarded`) from
    /// these proxies; see [`TrustedProxies::client_ip`].
    pub fn trusted_proxies(self, proxies: TrustedProxies) -> Self {
        self.with(|s| s.proxies = Some(proxies))
    }

    /// Finds the connection's peer address with `peer_addr` instead of looking for an `IpAddr`
    /// or `SocketAddr` in the extensions (axum: `ConnectInfo<SocketAddr>`).
    pub fn peer_addr(
        self,
        peer_addr: impl Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    ) -> Self {
        let peer_addr: PeerAddr = Arc::new(peer_addr);
        self.with(|s| s.peer_addr = peer_addr)
    }

    /// Believes the Web Bot Auth signature agent an upstream verifier puts in header `name`
    /// (an https URL; its presence means the signature verified), when the connection comes from
    /// a [trusted proxy](BotPolicyLayer::trusted_proxies). From anyone else it is ignored.
    pub fn upstream_signature_agent_header(self, name: HeaderName) -> Self {
        self.with(|s| s.upstream_agent_header = Some(name))
    }

    /// Answers `challenge` decisions with `responder` (default: [`DefaultChallenge`]).
    pub fn challenge_responder(self, responder: impl ChallengeResponder) -> Self {
        let responder: Arc<dyn ChallengeResponder> = Arc::new(responder);
        self.with(|s| s.challenge = responder)
    }

    /// Bills pay-per-crawl charges with `hook`. Without one, `charge` rules answer `402` but
    /// nobody can pay.
    pub fn charge_hook(self, hook: impl ChargeHook) -> Self {
        let hook: Arc<dyn ChargeHook> = Arc::new(hook);
        self.with(|s| s.charge_hook = Some(hook))
    }

    /// Lets crawlers verified only by their IP ranges pay (default: only a Web Bot Auth
    /// signature is strong enough, as in Cloudflare's pay-per-crawl).
    pub fn charge_ip_verified(self, allow: bool) -> Self {
        self.with(|s| s.charge_ip_verified = allow)
    }

    /// Adds `bot-policy-rule` and `bot-policy-action` to every response (default: off; they
    /// tell clients how the policy is built).
    pub fn decision_headers(self, on: bool) -> Self {
        self.with(|s| s.decision_headers = on)
    }

    /// The live policy (replace it to reload).
    pub fn policy(&self) -> &LivePolicy {
        &self.settings.policy
    }

    /// The live classifier.
    pub fn live_classifier(&self) -> &LiveClassifier {
        &self.settings.classifier
    }
}

impl<S> Layer<S> for BotPolicyLayer {
    type Service = BotPolicyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BotPolicyService::new(inner, Arc::clone(&self.settings))
    }
}
