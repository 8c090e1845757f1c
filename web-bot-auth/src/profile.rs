//! The Web Bot Auth profile (draft-meunier-webbotauth-httpsig-protocol-02) on top of RFC 9421:
//! who is this bot, by cryptography.
//!
//! A request is [`Outcome::Verified`] when one of its signatures is tagged `web-bot-auth`,
//! carries `created`, `expires` and `keyid`, covers `@authority` (or `@target-uri`) and the
//! `Signature-Agent` member it names, is inside its validity window, and checks out with the key
//! found for (agent, keyid). It is [`Outcome::Invalid`] when such a signature is there but fails,
//! and [`Outcome::Unverified`] when there is none (or none this verifier can check).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::agent::{AgentMember, SignatureAgent};
use crate::alg::Algorithm;
use crate::clock::{Clock, SystemClock};
use crate::component::{ComponentIdentifier, DerivedComponent};
use crate::error::{FailureReason, ParseError, VerifyError};
use crate::field::FieldTypes;
use crate::fields::{SignatureEntry, signature_entries};
use crate::keys::VerifyingKey;
use crate::message::MessageView;
use crate::replay::{AsyncReplayStore, ReplayKey, ReplayStore};
use crate::verify::{KeyQuery, KeyResolver, check_signature_with, check_time};

/// The `tag` of a Web Bot Auth request signature.
pub const WEB_BOT_AUTH_TAG: &str = "web-bot-auth";

/// What the profile requires and tolerates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileConfig {
    /// Longest accepted `expires - created`, in seconds (default 24 hours, the draft's limit).
    pub max_lifetime: u64,
    /// Tolerated clock difference, in seconds (default 60).
    pub skew: u64,
    /// Require a `nonce` (default off; with a replay store, a present nonce is always checked).
    pub require_nonce: bool,
    /// Require a covered `Signature-Agent` (default on: keys are found by agent and keyid).
    pub require_signature_agent: bool,
    /// Accept the legacy sf-string `Signature-Agent` (default on, as the draft allows).
    pub accept_legacy_agent: bool,
    /// Accept `http:` agent URIs (default off; for loopback tests).
    pub allow_http_agent: bool,
    /// Accept the RFC 9421 Appendix B.1 test keys (default off; the published vectors use them).
    pub allow_test_keys: bool,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            max_lifetime: 24 * 60 * 60,
            skew: 60,
            require_nonce: false,
            require_signature_agent: true,
            accept_legacy_agent: true,
            allow_http_agent: false,
            allow_test_keys: false,
        }
    }
}

/// A request whose Web Bot Auth signature verified.
#[derive(Debug, Clone)]
pub struct VerifiedAgent {
    /// The signature label.
    pub label: String,
    /// The `Signature-Agent` member the signature covers.
    pub agent: Option<AgentMember>,
    /// The `keyid` (the key's JWK thumbprint).
    pub keyid: String,
    /// The algorithm.
    pub alg: Algorithm,
    /// `created`.
    pub created: u64,
    /// `expires`.
    pub expires: u64,
    /// `nonce`, if any.
    pub nonce: Option<String>,
    /// The components the signature covers, in order.
    pub components: Vec<ComponentIdentifier>,
}

impl VerifiedAgent {
    /// Whether the signature covers the header field `name` (as a whole field, not only one
    /// member of it, and of the request itself, not of a related request).
    pub fn covers_field(&self, name: &str) -> bool {
        self.components.iter().any(|c| {
            c.field_name().is_some_and(|f| f.eq_ignore_ascii_case(name))
                && c.key().is_none()
                && !c.is_req()
        })
    }
}

/// A Web Bot Auth signature that was present but failed.
#[derive(Debug, Clone)]
pub struct InvalidSignature {
    /// The label, when the fields parsed far enough to know it.
    pub label: Option<String>,
    /// The `keyid`, when known.
    pub keyid: Option<String>,
    /// The agent URI, when known.
    pub agent: Option<String>,
    /// Why (opaque to `Display`; see [`VerifyError::reason`]).
    pub error: VerifyError,
}

/// Why a request is unverified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnverifiedReason {
    /// No `Signature-Input` at all.
    NoSignature,
    /// Signatures, but none tagged `web-bot-auth`.
    NotWebBotAuth,
    /// A Web Bot Auth signature whose key is not known for its agent.
    UnknownKey {
        /// The agent URI.
        agent: Option<String>,
        /// The keyid.
        keyid: String,
    },
}

impl fmt::Display for UnverifiedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnverifiedReason::NoSignature => f.write_str("no signature"),
            UnverifiedReason::NotWebBotAuth => f.write_str("no web-bot-auth signature"),
            UnverifiedReason::UnknownKey { agent, keyid } => match agent {
                Some(a) => write!(f, "no key {keyid} known for agent {a}"),
                None => write!(f, "no key {keyid} known"),
            },
        }
    }
}

/// The result of verifying a request under the profile.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A signature verified.
    Verified(VerifiedAgent),
    /// A signature was present and failed (and none verified).
    Invalid(InvalidSignature),
    /// Nothing to verify, or nothing this verifier could check.
    Unverified(UnverifiedReason),
}

impl Outcome {
    /// `verified`, `invalid` or `unverified`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Verified(_) => "verified",
            Outcome::Invalid(_) => "invalid",
            Outcome::Unverified(_) => "unverified",
        }
    }

    /// The verified agent, if verified.
    pub fn verified(&self) -> Option<&VerifiedAgent> {
        match self {
            Outcome::Verified(v) => Some(v),
            _ => None,
        }
    }
}

/// One signature's outcome, for reports.
#[derive(Debug, Clone)]
pub struct SignatureReport {
    /// The label (`None` when the fields did not parse).
    pub label: Option<String>,
    /// The `keyid`, when present.
    pub keyid: Option<String>,
    /// The `alg` parameter, when present.
    pub alg: Option<String>,
    /// The outcome of this signature alone.
    pub outcome: Outcome,
}

/// The nonce check of a verified outcome in an [`AsyncReplayStore`]: what
/// [`WebBotAuthVerifier::replay_check`] returns.
pub enum ReplayCheck {
    /// Nothing to ask the store (no async store, an outcome that is not verified, or a
    /// signature without a nonce): the outcome as it was.
    Done(Outcome),
    /// The store's answer is awaited; the future resolves to the final outcome.
    Pending(PendingReplayCheck),
}

/// A nonce check in flight, owning what it needs; resolves to the final [`Outcome`].
pub type PendingReplayCheck = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

impl fmt::Debug for ReplayCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayCheck::Done(outcome) => f.debug_tuple("Done").field(outcome).finish(),
            ReplayCheck::Pending(_) => f.write_str("Pending"),
        }
    }
}

/// Verifies requests under the Web Bot Auth profile.
pub struct WebBotAuthVerifier<R, C = SystemClock> {
    keys: R,
    clock: C,
    config: ProfileConfig,
    replay: Option<Arc<dyn ReplayStore>>,
    async_replay: Option<Arc<dyn AsyncReplayStore>>,
    field_types: FieldTypes,
}

impl<R, C> fmt::Debug for WebBotAuthVerifier<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebBotAuthVerifier")
            .field("config", &self.config)
            .field("replay_store", &self.replay.is_some())
            .field("async_replay_store", &self.async_replay.is_some())
            .finish_non_exhaustive()
    }
}

impl<R: KeyResolver> WebBotAuthVerifier<R, SystemClock> {
    /// A verifier with keys from `keys`, the system clock and the default configuration.
    pub fn new(keys: R) -> Self {
        WebBotAuthVerifier {
            keys,
            clock: SystemClock,
            config: ProfileConfig::default(),
            replay: None,
            async_replay: None,
            field_types: FieldTypes::default(),
        }
    }
}

fn invalid(
    entry: Option<&SignatureEntry>,
    agent: Option<&str>,
    reason: impl Into<FailureReason>,
) -> Outcome {
    Outcome::Invalid(InvalidSignature {
        label: entry.map(|e| e.label().to_owned()),
        keyid: entry
            .and_then(|e| e.params().ok())
            .and_then(|p| p.keyid())
            .map(str::to_owned),
        agent: agent.map(str::to_owned),
        error: VerifyError::from(reason.into()),
    })
}

fn profile(msg: &str) -> FailureReason {
    FailureReason::Profile(msg.to_owned())
}

impl<R: KeyResolver, C: Clock> WebBotAuthVerifier<R, C> {
    /// Uses another clock.
    pub fn with_clock<C2: Clock>(self, clock: C2) -> WebBotAuthVerifier<R, C2> {
        WebBotAuthVerifier {
            keys: self.keys,
            clock,
            config: self.config,
            replay: self.replay,
            async_replay: self.async_replay,
            field_types: self.field_types,
        }
    }

    /// Uses this configuration.
    pub fn with_config(mut self, config: ProfileConfig) -> Self {
        self.config = config;
        self
    }

    /// Checks nonces against this store (a seen nonce is refused until its signature expires).
    pub fn with_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replay = Some(store);
        self
    }

    /// Checks nonces against this store too, a store answered over the network and shared by
    /// every instance of the service (a Redis store, feature `redis`).
    ///
    /// The synchronous [`WebBotAuthVerifier::verify`] cannot wait for it: the store is asked by
    /// [`WebBotAuthVerifier::verify_async`] (and by the `VerifyLayer`), after the signature has
    /// verified, about the signature that verified. A replay, or a store that cannot answer and
    /// fails closed, turns the outcome into [`Outcome::Invalid`] (reason
    /// [`FailureReason::Replayed`] or [`FailureReason::ReplayStore`]).
    pub fn with_async_replay_store(mut self, store: Arc<dyn AsyncReplayStore>) -> Self {
        self.async_replay = Some(store);
        self
    }

    /// Uses these structured-field types for `;sf` components.
    pub fn with_field_types(mut self, types: FieldTypes) -> Self {
        self.field_types = types;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ProfileConfig {
        &self.config
    }

    /// The key resolver.
    pub fn keys(&self) -> &R {
        &self.keys
    }

    /// Verifies the request: [`Outcome::Verified`] if any Web Bot Auth signature verifies, else
    /// [`Outcome::Invalid`] if one failed, else [`Outcome::Unverified`].
    pub fn verify(&self, message: &MessageView<'_>) -> Outcome {
        self.verify_with(message, &self.keys)
    }

    /// As [`WebBotAuthVerifier::verify`], finding keys in `keys` instead of the verifier's own
    /// resolver (for a per-request key set, or a cache shared with a fetcher).
    pub fn verify_with(&self, message: &MessageView<'_>, keys: &dyn KeyResolver) -> Outcome {
        let entries = match signature_entries(message.headers()) {
            Ok(e) => e,
            Err(e) => return invalid(None, None, parse_failure(e)),
        };
        let agent = SignatureAgent::from_headers(message.headers());
        let mut first_invalid = None;
        let mut first_unverified = None;
        for entry in &entries {
            let outcome = self.verify_entry(message, entry, &agent, keys);
            match outcome {
                Outcome::Verified(_) => return outcome,
                Outcome::Invalid(_) => {
                    first_invalid.get_or_insert(outcome);
                }
                Outcome::Unverified(ref reason) => {
                    // An unknown key says more than "not a web-bot-auth signature".
                    let better = matches!(reason, UnverifiedReason::UnknownKey { .. });
                    if first_unverified.is_none() || better {
                        first_unverified = Some(outcome);
                    }
                }
            }
        }
        first_invalid
            .or(first_unverified)
            .unwrap_or(Outcome::Unverified(UnverifiedReason::NoSignature))
    }

    /// As [`WebBotAuthVerifier::verify`], then the nonce of the signature that verified is
    /// checked in the [async replay store](WebBotAuthVerifier::with_async_replay_store), if one
    /// is set.
    pub async fn verify_async(&self, message: &MessageView<'_>) -> Outcome {
        match self.replay_check(self.verify(message)) {
            ReplayCheck::Done(outcome) => outcome,
            ReplayCheck::Pending(check) => check.await,
        }
    }

    /// The check of `outcome`'s nonce in the [async replay
    /// store](WebBotAuthVerifier::with_async_replay_store): [`ReplayCheck::Done`] when there is
    /// nothing to ask, else a future owning what it needs (for a caller that cannot hold the
    /// message across an `await`, as a tower service).
    pub fn replay_check(&self, outcome: Outcome) -> ReplayCheck {
        let Some(store) = &self.async_replay else {
            return ReplayCheck::Done(outcome);
        };
        let Outcome::Verified(agent) = outcome else {
            return ReplayCheck::Done(outcome);
        };
        if agent.nonce.is_none() {
            return ReplayCheck::Done(Outcome::Verified(agent));
        }
        let store = Arc::clone(store);
        let expires_at = agent.expires.saturating_add(self.config.skew);
        let now = self.clock.now_unix();
        ReplayCheck::Pending(Box::pin(async move {
            let agent_uri = agent.agent.as_ref().map_or("", |a| a.uri.as_str());
            let key = ReplayKey {
                agent: agent_uri,
                keyid: &agent.keyid,
                nonce: agent.nonce.as_deref().unwrap_or(""),
            };
            let reason = match store.check_and_record(&key, expires_at, now).await {
                Ok(true) => None,
                Ok(false) => Some(FailureReason::Replayed),
                Err(e) => Some(FailureReason::ReplayStore(e.to_string())),
            };
            match reason {
                None => Outcome::Verified(agent),
                Some(reason) => Outcome::Invalid(InvalidSignature {
                    agent: agent.agent.as_ref().map(|a| a.uri.clone()),
                    label: Some(agent.label),
                    keyid: Some(agent.keyid),
                    error: VerifyError::from(reason),
                }),
            }
        }))
    }

    /// Verifies every signature on its own and reports each.
    pub fn verify_each(&self, message: &MessageView<'_>) -> Vec<SignatureReport> {
        let entries = match signature_entries(message.headers()) {
            Ok(e) => e,
            Err(e) => {
                return vec![SignatureReport {
                    label: None,
                    keyid: None,
                    alg: None,
                    outcome: invalid(None, None, parse_failure(e)),
                }];
            }
        };
        let agent = SignatureAgent::from_headers(message.headers());
        entries
            .iter()
            .map(|entry| {
                let params = entry.params().ok();
                SignatureReport {
                    label: Some(entry.label().to_owned()),
                    keyid: params.and_then(|p| p.keyid()).map(str::to_owned),
                    alg: params.and_then(|p| p.alg()).map(str::to_owned),
                    outcome: self.verify_entry(message, entry, &agent, &self.keys),
                }
            })
            .collect()
    }

    fn verify_entry(
        &self,
        message: &MessageView<'_>,
        entry: &SignatureEntry,
        agent_field: &Result<Option<SignatureAgent>, ParseError>,
        keys: &dyn KeyResolver,
    ) -> Outcome {
        let params = match entry.params() {
            Ok(p) => p,
            Err(e) => return invalid(Some(entry), None, FailureReason::Params(e.clone())),
        };
        if params.tag() != Some(WEB_BOT_AUTH_TAG) {
            return Outcome::Unverified(UnverifiedReason::NotWebBotAuth);
        }
        let signature = match entry.signature() {
            Ok(s) => s,
            Err(e) => return invalid(Some(entry), None, e.clone()),
        };
        let (Some(keyid), Some(created), Some(expires)) =
            (params.keyid(), params.created(), params.expires())
        else {
            return invalid(
                Some(entry),
                None,
                profile("keyid, created and expires are required"),
            );
        };
        let covers_target = params.covers_derived(DerivedComponent::Authority)
            || params.covers_derived(DerivedComponent::TargetUri);
        if !covers_target {
            return invalid(
                Some(entry),
                None,
                profile("@authority or @target-uri must be covered"),
            );
        }
        let agent = match self.covered_agent(params.components(), agent_field) {
            Ok(a) => a,
            Err(reason) => return invalid(Some(entry), None, reason),
        };
        let agent_uri = agent.as_ref().map(|a| a.member.uri.as_str());
        let known = agent.as_ref().and_then(|a| a.known);
        let now = self.clock.now_unix();
        if let Err(reason) = check_time(params, now, self.config.skew) {
            return invalid(Some(entry), agent_uri, reason);
        }
        let lifetime = expires.saturating_sub(created);
        if lifetime > self.config.max_lifetime {
            return invalid(
                Some(entry),
                agent_uri,
                FailureReason::LifetimeTooLong {
                    lifetime,
                    max: self.config.max_lifetime,
                },
            );
        }
        if self.config.require_nonce && params.nonce().is_none() {
            return invalid(Some(entry), agent_uri, profile("a nonce is required"));
        }
        let Some(key) = keys.resolve(&KeyQuery {
            agent: agent_uri,
            keyid,
            alg: params.alg(),
        }) else {
            return Outcome::Unverified(UnverifiedReason::UnknownKey {
                agent: agent_uri.map(str::to_owned),
                keyid: keyid.to_owned(),
            });
        };
        if let Err(reason) = self.check_key(&key, keyid) {
            return invalid(Some(entry), agent_uri, reason);
        }
        if let Err(reason) =
            check_signature_with(message, params, signature, &key, &self.field_types, known)
        {
            return invalid(Some(entry), agent_uri, reason);
        }
        if let (Some(nonce), Some(store)) = (params.nonce(), &self.replay) {
            let replay_key = ReplayKey {
                agent: agent_uri.unwrap_or(""),
                keyid,
                nonce,
            };
            match store.check_and_record(&replay_key, expires.saturating_add(self.config.skew), now)
            {
                Ok(true) => {}
                Ok(false) => return invalid(Some(entry), agent_uri, FailureReason::Replayed),
                Err(e) => {
                    return invalid(
                        Some(entry),
                        agent_uri,
                        FailureReason::ReplayStore(e.to_string()),
                    );
                }
            }
        }
        Outcome::Verified(VerifiedAgent {
            label: entry.label().to_owned(),
            agent: agent.map(|a| a.member.clone()),
            keyid: keyid.to_owned(),
            alg: key.algorithm(),
            created,
            expires,
            nonce: params.nonce().map(str::to_owned),
            components: params.components().to_vec(),
        })
    }

    fn check_key(&self, key: &VerifyingKey, keyid: &str) -> Result<(), FailureReason> {
        if key.algorithm().is_symmetric() {
            return Err(FailureReason::KeyRefused(
                "shared-secret HMAC is not allowed for Web Bot Auth",
            ));
        }
        if key.is_rfc9421_test_key() && !self.config.allow_test_keys {
            return Err(FailureReason::KeyRefused("RFC 9421 test key"));
        }
        if key.thumbprint() != keyid {
            return Err(profile("keyid is not the key's JWK thumbprint"));
        }
        Ok(())
    }

    /// The `Signature-Agent` member this signature covers, checked against the profile, with
    /// the member key and serialized value its `;key` component covers (dictionary form).
    fn covered_agent<'f>(
        &self,
        components: &'f [ComponentIdentifier],
        field: &'f Result<Option<SignatureAgent>, ParseError>,
    ) -> Result<Option<CoveredAgent<'f>>, FailureReason> {
        let mut covered = components
            .iter()
            .filter(|c| c.field_name() == Some("signature-agent"));
        let (first, second) = (covered.next(), covered.next());
        let field = match field {
            Ok(f) => f.as_ref(),
            Err(e) => return Err(parse_failure(e.clone())),
        };
        let Some(field) = field else {
            if self.config.require_signature_agent {
                return Err(profile("Signature-Agent is required"));
            }
            // A covered but absent field fails when the base is built.
            return Ok(None);
        };
        let id = match (first, second) {
            (Some(id), None) => id,
            (None, _) => return Err(profile("Signature-Agent is present but not covered")),
            (Some(_), Some(_)) => return Err(profile("Signature-Agent is covered more than once")),
        };
        let covered = if field.is_legacy() {
            if !self.config.accept_legacy_agent {
                return Err(profile("legacy string Signature-Agent refused"));
            }
            if id.key().is_some() {
                return Err(profile("a string Signature-Agent has no members"));
            }
            field.members().first().map(|member| CoveredAgent {
                member,
                known: None,
            })
        } else {
            let Some(key) = id.key() else {
                return Err(profile(
                    "a dictionary Signature-Agent must be covered with ;key",
                ));
            };
            field
                .member_with_value(key)
                .map(|(member, value)| CoveredAgent {
                    member,
                    known: Some(("signature-agent", key, value)),
                })
        };
        let Some(covered) = covered else {
            return Err(profile("the covered Signature-Agent member is absent"));
        };
        if !covered.member.has_web_uri(self.config.allow_http_agent) {
            return Err(profile("the Signature-Agent member is not an https URI"));
        }
        Ok(Some(covered))
    }
}

/// The `Signature-Agent` member a signature covers.
struct CoveredAgent<'f> {
    member: &'f AgentMember,
    known: Option<(&'static str, &'f str, &'f str)>,
}

fn parse_failure(e: ParseError) -> FailureReason {
    FailureReason::Profile(e.to_string())
}
