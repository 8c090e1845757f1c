//! Auth events: every issue, use, revocation, failure and rate-limit refusal, with who, which
//! tool, from where; never the token itself.
//!
//! Events go to an [`AuthEventSink`]. The default, [`TracingSink`], writes one `tracing` event
//! per auth event under the target `mcp_auth::audit`; [`RecordingSink`] keeps them in memory
//! for tests.

use std::collections::VecDeque;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthEventKind {
    /// An API token was issued (its id, never its secret, is in the event).
    TokenIssued,
    /// An API token was rotated: a new token was issued and the old one expires after the
    /// overlap window.
    TokenRotated,
    /// An API token was revoked.
    TokenRevoked,
    /// An API token authenticated a call.
    TokenUsed,
    /// An OAuth access token authenticated a call.
    OAuthAccepted,
    /// An OAuth access token was refused.
    OAuthRefused,
    /// A call was refused for its credentials or its scopes.
    AuthFailed,
    /// A call was refused by a rate limit.
    RateLimited,
}

impl AuthEventKind {
    /// A stable snake_case name for logs.
    pub const fn name(self) -> &'static str {
        match self {
            AuthEventKind::TokenIssued => "token_issued",
            AuthEventKind::TokenRotated => "token_rotated",
            AuthEventKind::TokenRevoked => "token_revoked",
            AuthEventKind::TokenUsed => "token_used",
            AuthEventKind::OAuthAccepted => "oauth_accepted",
            AuthEventKind::OAuthRefused => "oauth_refused",
            AuthEventKind::AuthFailed => "auth_failed",
            AuthEventKind::RateLimited => "rate_limited",
        }
    }
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// No credentials, and the call needs some.
    Missing,
    /// Credentials that could not be parsed (a malformed header, JWT or token).
    Malformed,
    /// A token this server does not know.
    Unknown,
    /// An expired token (outside the leeway, for a JWT).
    Expired,
    /// A revoked API token.
    Revoked,
    /// A JWT whose signature does not verify, or whose algorithm is not the key's.
    BadSignature,
    /// A JWT signed by a key that is not in the key set.
    UnknownKey,
    /// A JWT for another audience or from another issuer, or not yet valid.
    InvalidClaims,
    /// The credentials are of a kind the call does not accept.
    ModeNotAccepted,
    /// The credentials lack a scope the call needs.
    MissingScope,
    /// The method or tool is not in the tool map.
    UnknownTool,
    /// The token store or key source could not be reached (the call is refused: fail closed).
    StoreUnavailable,
}

impl FailureReason {
    /// A stable snake_case name for logs.
    pub const fn name(self) -> &'static str {
        match self {
            FailureReason::Missing => "missing",
            FailureReason::Malformed => "malformed",
            FailureReason::Unknown => "unknown",
            FailureReason::Expired => "expired",
            FailureReason::Revoked => "revoked",
            FailureReason::BadSignature => "bad_signature",
            FailureReason::UnknownKey => "unknown_key",
            FailureReason::InvalidClaims => "invalid_claims",
            FailureReason::ModeNotAccepted => "mode_not_accepted",
            FailureReason::MissingScope => "missing_scope",
            FailureReason::UnknownTool => "unknown_tool",
            FailureReason::StoreUnavailable => "store_unavailable",
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The longest user agent an event keeps, in bytes (longer ones are cut at a char boundary).
pub const MAX_USER_AGENT: usize = 256;

/// One auth event. Built with [`AuthEvent::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthEvent {
    /// What happened.
    pub kind: AuthEventKind,
    /// Why, for refusals.
    pub reason: Option<FailureReason>,
    /// The principal's label (`token:<id>`, `user:<sub>`, `anonymous:<ip>`), when known.
    pub principal: Option<String>,
    /// The JSON-RPC method (`tools/call`, `initialize`, …).
    pub method: Option<String>,
    /// The tool, for `tools/call`.
    pub tool: Option<String>,
    /// The client's address.
    pub client_ip: Option<IpAddr>,
    /// The client's user agent, cut to [`MAX_USER_AGENT`] bytes.
    pub user_agent: Option<String>,
    /// Free-form detail for operators (which scope was missing, why the store failed). Never a
    /// secret.
    pub detail: Option<String>,
}

impl AuthEvent {
    /// An event of `kind` with nothing else known yet.
    pub fn new(kind: AuthEventKind) -> AuthEvent {
        AuthEvent {
            kind,
            reason: None,
            principal: None,
            method: None,
            tool: None,
            client_ip: None,
            user_agent: None,
            detail: None,
        }
    }

    /// Sets the reason.
    pub fn with_reason(mut self, reason: FailureReason) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Sets the principal label.
    pub fn with_principal(mut self, principal: impl Into<String>) -> Self {
        self.principal = Some(principal.into());
        self
    }

    /// Sets the method and tool.
    pub fn with_call(mut self, method: Option<&str>, tool: Option<&str>) -> Self {
        self.method = method.map(str::to_owned);
        self.tool = tool.map(str::to_owned);
        self
    }

    /// Sets the client address and user agent (cut to [`MAX_USER_AGENT`] bytes).
    pub fn with_client(mut self, ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        self.client_ip = ip;
        self.user_agent = user_agent.map(|ua| {
            let mut end = ua.len().min(MAX_USER_AGENT);
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua[..end].to_owned()
        });
        self
    }

    /// Sets the detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Where auth events go.
pub trait AuthEventSink: Send + Sync + 'static {
    /// Records one event. Called on the request path: keep it quick and never block.
    fn record(&self, event: &AuthEvent);

    /// Whether events of `kind` would be recorded at all. Asked before the events of admitted
    /// calls ([`AuthEventKind::TokenUsed`], [`AuthEventKind::OAuthAccepted`]), one per call,
    /// so that building them (a few small allocations) is skipped when nobody listens.
    /// Refusals are always built and recorded. The default says yes.
    fn wants(&self, kind: AuthEventKind) -> bool {
        let _ = kind;
        true
    }
}

impl<S: AuthEventSink + ?Sized> AuthEventSink for Arc<S> {
    fn record(&self, event: &AuthEvent) {
        (**self).record(event);
    }

    fn wants(&self, kind: AuthEventKind) -> bool {
        (**self).wants(kind)
    }
}

/// Writes each event as a `tracing` event, target `mcp_auth::audit`: refusals at `WARN`,
/// store failures at `ERROR`, the rest at `INFO`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingSink;

macro_rules! audit_event {
    ($level:expr, $e:expr) => {
        tracing::event!(
            target: "mcp_auth::audit",
            $level,
            event = $e.kind.name(),
            reason = $e.reason.map(FailureReason::name),
            principal = $e.principal.as_deref(),
            method = $e.method.as_deref(),
            tool = $e.tool.as_deref(),
            client_ip = $e.client_ip.map(tracing::field::display),
            user_agent = $e.user_agent.as_deref(),
            detail = $e.detail.as_deref(),
        )
    };
}

impl AuthEventSink for TracingSink {
    fn record(&self, e: &AuthEvent) {
        use tracing::Level;
        match (e.kind, e.reason) {
            (_, Some(FailureReason::StoreUnavailable)) => audit_event!(Level::ERROR, e),
            (
                AuthEventKind::AuthFailed
                | AuthEventKind::OAuthRefused
                | AuthEventKind::RateLimited,
                _,
            ) => audit_event!(Level::WARN, e),
            _ => audit_event!(Level::INFO, e),
        }
    }

    /// Events of admitted calls are written at `INFO`: wanted when that level is enabled for
    /// the target `mcp_auth::audit`.
    fn wants(&self, kind: AuthEventKind) -> bool {
        match kind {
            AuthEventKind::TokenUsed | AuthEventKind::OAuthAccepted => {
                tracing::enabled!(target: "mcp_auth::audit", tracing::Level::INFO)
            }
            _ => true,
        }
    }
}

/// Keeps the most recent events in memory (a bounded ring); for tests and debugging pages.
#[derive(Debug, Clone)]
pub struct RecordingSink {
    events: Arc<Mutex<VecDeque<AuthEvent>>>,
    capacity: usize,
}

impl RecordingSink {
    /// A sink that keeps at most `capacity` events, dropping the oldest.
    pub fn new(capacity: usize) -> RecordingSink {
        RecordingSink {
            events: Arc::new(Mutex::new(VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    /// The events kept so far, oldest first.
    pub fn events(&self) -> Vec<AuthEvent> {
        match self.events.lock() {
            Ok(events) => events.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
        }
    }

    /// Removes and returns the events kept so far.
    pub fn take(&self) -> Vec<AuthEvent> {
        match self.events.lock() {
            Ok(mut events) => events.drain(..).collect(),
            Err(poisoned) => poisoned.into_inner().drain(..).collect(),
        }
    }
}

impl AuthEventSink for RecordingSink {
    fn record(&self, event: &AuthEvent) {
        let mut events = match self.events.lock() {
            Ok(events) => events,
            Err(poisoned) => poisoned.into_inner(),
        };
        if events.len() == self.capacity {
            events.pop_front();
        }
        events.push_back(event.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracing_sink_wants_admissions_only_when_info_is_on() {
        use tracing_subscriber::fmt;
        let at = |level| {
            fmt()
                .with_max_level(level)
                .with_writer(std::io::sink)
                .finish()
        };
        tracing::subscriber::with_default(at(tracing::Level::WARN), || {
            assert!(!TracingSink.wants(AuthEventKind::TokenUsed));
            assert!(!TracingSink.wants(AuthEventKind::OAuthAccepted));
            assert!(TracingSink.wants(AuthEventKind::AuthFailed));
        });
        tracing::subscriber::with_default(at(tracing::Level::INFO), || {
            assert!(TracingSink.wants(AuthEventKind::TokenUsed));
            assert!(Arc::new(TracingSink).wants(AuthEventKind::OAuthAccepted));
        });
    }

    #[test]
    fn user_agents_are_cut_at_a_char_boundary() {
        let ua = "é".repeat(200);
        let e = AuthEvent::new(AuthEventKind::AuthFailed).with_client(None, Some(&ua));
        let kept = e.user_agent.unwrap();
        assert!(kept.len() <= MAX_USER_AGENT && kept.len() >= MAX_USER_AGENT - 1);
    }

    #[test]
    fn recording_sink_is_bounded() {
        let sink = RecordingSink::new(2);
        for kind in [
            AuthEventKind::TokenIssued,
            AuthEventKind::TokenUsed,
            AuthEventKind::TokenRevoked,
        ] {
            sink.record(&AuthEvent::new(kind));
        }
        let kinds: Vec<_> = sink.take().into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [AuthEventKind::TokenUsed, AuthEventKind::TokenRevoked]
        );
        assert!(sink.events().is_empty());
        TracingSink.record(
            &AuthEvent::new(AuthEventKind::AuthFailed).with_reason(FailureReason::StoreUnavailable),
        );
    }
}
