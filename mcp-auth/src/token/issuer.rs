//! [`ApiTokens`]: issuing, rotating, revoking, listing and authenticating API tokens.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use subtle::ConstantTimeEq;

use super::format::{MalformedToken, TokenPrefix, TokenPrefixError};
use super::record::{TokenId, TokenRecord, TokenStatus};
use super::secret::{IssuedToken, TokenHash};
use super::store::{TokenStore, TokenStoreError};
use crate::audit::{AuthEvent, AuthEventKind, AuthEventSink, FailureReason, TracingSink};
use crate::clock::{Clock, SystemClock};
use crate::principal::Principal;
use crate::scope::{ScopeHierarchy, Scopes};

/// The default lifetime of a token: 90 days.
pub const DEFAULT_TTL: Duration = Duration::from_secs(90 * 24 * 60 * 60);
/// The default time a rotated token keeps working next to its replacement: 7 days.
pub const DEFAULT_ROTATION_OVERLAP: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The longest principal accepted, in bytes.
pub const MAX_PRINCIPAL_LEN: usize = 256;

/// How long a token is issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenTtl {
    /// The configured default ([`TokenConfig::with_default_ttl`], 90 days unless changed).
    #[default]
    Default,
    /// This long (whole seconds; at least one).
    For(Duration),
    /// No expiry. Only on explicit request: prefer rotation.
    Never,
}

/// How tokens are made: their prefix, default lifetime and rotation overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    prefix: TokenPrefix,
    default_ttl: Duration,
    rotation_overlap: Duration,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            prefix: TokenPrefix::default(),
            default_ttl: DEFAULT_TTL,
            rotation_overlap: DEFAULT_ROTATION_OVERLAP,
        }
    }
}

impl TokenConfig {
    /// Prefix `mcpat`, 90-day tokens, 7-day rotation overlap.
    pub fn new() -> TokenConfig {
        TokenConfig::default()
    }

    /// Sets the token prefix (see [`TokenPrefix::new`]). Tokens issued with another prefix are
    /// refused as malformed afterwards.
    pub fn with_prefix(mut self, prefix: &str) -> Result<TokenConfig, TokenPrefixError> {
        self.prefix = TokenPrefix::new(prefix)?;
        Ok(self)
    }

    /// Sets the lifetime of tokens issued with [`TokenTtl::Default`]. Under a second counts as
    /// one second.
    pub fn with_default_ttl(mut self, ttl: Duration) -> TokenConfig {
        self.default_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// Sets how long a rotated token keeps working next to its replacement (zero: it stops at
    /// once).
    pub fn with_rotation_overlap(mut self, overlap: Duration) -> TokenConfig {
        self.rotation_overlap = overlap;
        self
    }

    /// The token prefix.
    pub fn prefix(&self) -> &TokenPrefix {
        &self.prefix
    }

    /// The default token lifetime.
    pub fn default_ttl(&self) -> Duration {
        self.default_ttl
    }

    /// The rotation overlap.
    pub fn rotation_overlap(&self) -> Duration {
        self.rotation_overlap
    }
}

/// Why an operator action (issue, rotate, revoke, list) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] TokenStoreError),
    /// No token has this id.
    #[error("no API token has the id {id}")]
    NotFound {
        /// The id asked for.
        id: TokenId,
    },
    /// The token is revoked (it cannot be rotated).
    #[error("API token {id} is revoked")]
    Revoked {
        /// Its id.
        id: TokenId,
    },
    /// The token has expired (it cannot be rotated).
    #[error("API token {id} has expired")]
    Expired {
        /// Its id.
        id: TokenId,
    },
    /// The token was already rotated; rotate its replacement instead.
    #[error("API token {id} was already replaced by {replaced_by}")]
    AlreadyRotated {
        /// Its id.
        id: TokenId,
        /// Its replacement.
        replaced_by: TokenId,
    },
    /// The principal is empty, too long or holds a control character.
    #[error("invalid principal: {reason}")]
    InvalidPrincipal {
        /// What is wrong with it.
        reason: String,
    },
    /// The lifetime is under a second or reaches past the year 2554.
    #[error("invalid token lifetime: {reason}")]
    InvalidTtl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A token could not be generated (the operating system's random number generator
    /// failed).
    #[error("could not generate a token: {message}")]
    Generation {
        /// Its error.
        message: String,
    },
}

impl From<rand_core::Error> for TokenError {
    fn from(e: rand_core::Error) -> TokenError {
        TokenError::Generation {
            message: format!("the OS random number generator failed: {e}"),
        }
    }
}

/// What a valid token grants: enough to build a [`Principal::ApiToken`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenGrant {
    /// The token's public id.
    pub id: TokenId,
    /// Whom it was issued to.
    pub principal: Arc<str>,
    /// The scopes it grants, as issued (no implications applied).
    pub scopes: Scopes,
    /// When it expires (Unix seconds).
    pub expires_at: Option<u64>,
}

impl TokenGrant {
    /// The principal for the request extensions, with `hierarchy`'s implications applied to
    /// the scopes.
    pub fn to_principal(&self, hierarchy: &ScopeHierarchy) -> Principal {
        Principal::ApiToken {
            id: self.id.as_arc(),
            scopes: hierarchy.expand(&self.scopes),
            principal: Arc::clone(&self.principal),
        }
    }

    /// `token:<id>`, as in [`Principal::label`].
    pub fn label(&self) -> String {
        format!("token:{}", self.id)
    }
}

/// Why a presented token was refused. [`TokenRefusal::reason`] gives the audit reason; the
/// `Display` text is the detail for logs (never the token). To the client every refusal but
/// [`TokenRefusal::StoreUnavailable`] is the same `invalid_token`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenRefusal {
    /// Not the shape of a token of this server (refused without a store lookup).
    #[error("malformed API token: {0}")]
    Malformed(#[from] MalformedToken),
    /// The right shape, but no such token.
    #[error("unknown API token")]
    Unknown,
    /// The token has expired.
    #[error("API token {id} expired at {expired_at}{}", match replaced_by {
        Some(next) => format!(" (rotated, replaced by {next})"),
        None => String::new(),
    })]
    Expired {
        /// Its id.
        id: TokenId,
        /// When it expired (Unix seconds).
        expired_at: u64,
        /// The token that replaced it, when it expired at the end of a rotation overlap.
        replaced_by: Option<TokenId>,
    },
    /// The token was revoked.
    #[error("API token {id} was revoked at {revoked_at}")]
    Revoked {
        /// Its id.
        id: TokenId,
        /// When (Unix seconds).
        revoked_at: u64,
    },
    /// The store could not answer: the call is refused (fail closed).
    #[error("the token store could not answer: {0}")]
    StoreUnavailable(#[source] TokenStoreError),
}

impl TokenRefusal {
    /// The reason for the audit event.
    pub fn reason(&self) -> FailureReason {
        match self {
            TokenRefusal::Malformed(_) => FailureReason::Malformed,
            TokenRefusal::Unknown => FailureReason::Unknown,
            TokenRefusal::Expired { .. } => FailureReason::Expired,
            TokenRefusal::Revoked { .. } => FailureReason::Revoked,
            TokenRefusal::StoreUnavailable(_) => FailureReason::StoreUnavailable,
        }
    }

    /// The detail for logs and audit events (the `Display` text; never the token).
    pub fn detail(&self) -> String {
        self.to_string()
    }

    /// The id of the token refused, when it was found.
    pub fn token_id(&self) -> Option<&TokenId> {
        match self {
            TokenRefusal::Expired { id, .. } | TokenRefusal::Revoked { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// The result of a rotation.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rotation {
    /// The new token: show it once.
    pub token: IssuedToken,
    /// The new token's record.
    pub new: TokenRecord,
    /// The old token's record, now expiring at the end of the overlap.
    pub old: TokenRecord,
}

/// API tokens: issues, rotates, revokes and lists them for operators, and authenticates them
/// for the layer. Cheap to clone (shared store, clock and sink).
#[derive(Clone)]
pub struct ApiTokens {
    store: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    sink: Arc<dyn AuthEventSink>,
    config: TokenConfig,
}

impl fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiTokens")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ApiTokens {
    /// Tokens in `store`, with the default [`TokenConfig`], the system clock and events to
    /// [`TracingSink`].
    pub fn new(store: Arc<dyn TokenStore>) -> ApiTokens {
        ApiTokens {
            store,
            clock: Arc::new(SystemClock),
            sink: Arc::new(TracingSink),
            config: TokenConfig::default(),
        }
    }

    /// Uses `config`.
    pub fn with_config(mut self, config: TokenConfig) -> ApiTokens {
        self.config = config;
        self
    }

    /// Reads time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> ApiTokens {
        self.clock = clock;
        self
    }

    /// Sends issue, rotation and revocation events to `sink`.
    pub fn with_sink(mut self, sink: Arc<dyn AuthEventSink>) -> ApiTokens {
        self.sink = sink;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    /// Whether `raw` starts like one of these tokens (`<prefix>_`), to tell it from a JWT.
    pub fn looks_like_token(&self, raw: &str) -> bool {
        self.config.prefix.looks_like_token(raw)
    }

    /// Issues a token to `principal` granting `scopes`. Returns the token (show it once: only
    /// its hash is kept) and its record. Emits [`AuthEventKind::TokenIssued`].
    pub async fn issue(
        &self,
        principal: &str,
        scopes: Scopes,
        ttl: TokenTtl,
    ) -> Result<(IssuedToken, TokenRecord), TokenError> {
        check_principal(principal).map_err(|reason| TokenError::InvalidPrincipal { reason })?;
        let now = self.clock.now_unix();
        let expires_at = self.expiry(now, ttl)?;
        let (token, record) = self.new_token(Arc::from(principal), scopes, now, expires_at)?;
        self.store.insert(record.clone()).await?;
        self.sink.record(
            &AuthEvent::new(AuthEventKind::TokenIssued)
                .with_principal(record.label())
                .with_detail(describe("issued", &record)),
        );
        Ok((token, record))
    }

    /// Replaces the token `id` with a new one for the same principal and scopes, with the same
    /// lifetime as the old one had (none if it had none). The old token keeps working until
    /// the earlier of its expiry and now + the rotation overlap. Emits
    /// [`AuthEventKind::TokenRotated`].
    pub async fn rotate(&self, id: &TokenId) -> Result<Rotation, TokenError> {
        let now = self.clock.now_unix();
        let old = self
            .store
            .find_by_id(id)
            .await?
            .ok_or_else(|| TokenError::NotFound { id: id.clone() })?;
        match old.status(now) {
            TokenStatus::Revoked { .. } => return Err(TokenError::Revoked { id: id.clone() }),
            TokenStatus::Expired { .. } => return Err(TokenError::Expired { id: id.clone() }),
            _ => {}
        }
        if let Some(replaced_by) = old.replaced_by.clone() {
            return Err(TokenError::AlreadyRotated {
                id: id.clone(),
                replaced_by,
            });
        }
        let expires_at = match old.expires_at {
            Some(at) => Some(now.saturating_add(at.saturating_sub(old.created_at))),
            None => None,
        };
        let (token, mut new) = self.new_token(
            Arc::clone(&old.principal),
            old.scopes.clone(),
            now,
            expires_at,
        )?;
        new.rotated_from = Some(old.id.clone());
        let overlap_end = now.saturating_add(self.config.rotation_overlap.as_secs());
        let old = self
            .store
            .rotate(id, new.clone(), overlap_end)
            .await?
            .ok_or_else(|| TokenError::NotFound { id: id.clone() })?;
        self.sink.record(
            &AuthEvent::new(AuthEventKind::TokenRotated)
                .with_principal(old.label())
                .with_detail(format!(
                    "replaced by {}; old token expires at {}; {}",
                    new.id,
                    old.expires_at.unwrap_or(overlap_end),
                    describe("new token issued", &new)
                )),
        );
        Ok(Rotation { token, new, old })
    }

    /// Revokes the token `id`: refused from its next use on. Revoking a revoked token keeps
    /// the first revocation time. Emits [`AuthEventKind::TokenRevoked`].
    pub async fn revoke(&self, id: &TokenId) -> Result<TokenRecord, TokenError> {
        let now = self.clock.now_unix();
        let record = self
            .store
            .revoke(id, now)
            .await?
            .ok_or_else(|| TokenError::NotFound { id: id.clone() })?;
        self.sink.record(
            &AuthEvent::new(AuthEventKind::TokenRevoked)
                .with_principal(record.label())
                .with_detail(format!(
                    "issued to {:?}; revoked at {}",
                    record.principal,
                    record.revoked_at.unwrap_or(now)
                )),
        );
        Ok(record)
    }

    /// Every token record, oldest first.
    pub async fn list(&self) -> Result<Vec<TokenRecord>, TokenError> {
        let mut records = self.store.list().await?;
        records.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(records)
    }

    /// Removes the records of tokens that expired or were revoked more than `retention` ago.
    pub async fn purge(&self, retention: Duration) -> Result<usize, TokenError> {
        let before = self.clock.now_unix().saturating_sub(retention.as_secs());
        Ok(self.store.purge(before).await?)
    }

    /// Authenticates a presented token. Its shape (prefix, length, alphabet, checksum) is
    /// checked before any store lookup, here, before the future is returned; the future does
    /// not borrow `raw`. The record found under the token's hash is compared with the hash in
    /// constant time, then its revocation and expiry are checked against the clock.
    pub fn authenticate<'a>(
        &'a self,
        raw: &str,
    ) -> impl Future<Output = Result<TokenGrant, TokenRefusal>> + Send + use<'a> {
        let shape = self.config.prefix.check_shape(raw);
        async move {
            let hash = shape?;
            let record = self
                .store
                .get(hash)
                .await
                .map_err(TokenRefusal::StoreUnavailable)?
                .ok_or(TokenRefusal::Unknown)?;
            self.grant(&hash, record)
        }
    }

    fn grant(&self, hash: &TokenHash, record: TokenRecord) -> Result<TokenGrant, TokenRefusal> {
        if !bool::from(record.hash.ct_eq(hash)) {
            return Err(TokenRefusal::Unknown);
        }
        match record.status(self.clock.now_unix()) {
            TokenStatus::Revoked { at } => Err(TokenRefusal::Revoked {
                id: record.id,
                revoked_at: at,
            }),
            TokenStatus::Expired { at } => Err(TokenRefusal::Expired {
                id: record.id,
                expired_at: at,
                replaced_by: record.replaced_by,
            }),
            TokenStatus::Active => Ok(TokenGrant {
                id: record.id,
                principal: record.principal,
                scopes: record.scopes,
                expires_at: record.expires_at,
            }),
        }
    }

    fn expiry(&self, now: u64, ttl: TokenTtl) -> Result<Option<u64>, TokenError> {
        let ttl = match ttl {
            TokenTtl::Never => return Ok(None),
            TokenTtl::Default => self.config.default_ttl,
            TokenTtl::For(ttl) => ttl,
        };
        if ttl.as_secs() == 0 {
            return Err(TokenError::InvalidTtl {
                reason: "a token must live at least one second",
            });
        }
        match now.checked_add(ttl.as_secs()) {
            // The clock stores nanoseconds in a u64: keep expiries it can reach.
            Some(at) if at < u64::MAX / 1_000_000_000 => Ok(Some(at)),
            _ => Err(TokenError::InvalidTtl {
                reason: "the expiry is too far in the future; ask for no expiry instead",
            }),
        }
    }

    fn new_token(
        &self,
        principal: Arc<str>,
        scopes: Scopes,
        now: u64,
        expires_at: Option<u64>,
    ) -> Result<(IssuedToken, TokenRecord), TokenError> {
        let secret = self.config.prefix.generate()?;
        let id = TokenId::generate()?;
        let record = TokenRecord::new(
            TokenHash::of(&secret),
            id.clone(),
            principal,
            scopes,
            now,
            expires_at,
        );
        Ok((IssuedToken::new(secret, id), record))
    }
}

fn describe(what: &str, record: &TokenRecord) -> String {
    let expires = match record.expires_at {
        Some(at) => at.to_string(),
        None => "never".to_owned(),
    };
    format!(
        "{what} to {:?}; scopes: {:?}; expires at: {expires}",
        record.principal,
        record.scopes.to_string()
    )
}

/// A principal is 1 to [`MAX_PRINCIPAL_LEN`] bytes without control characters (it is logged).
pub(crate) fn check_principal(principal: &str) -> Result<(), String> {
    if principal.is_empty() {
        return Err("it is empty".to_owned());
    }
    if principal.len() > MAX_PRINCIPAL_LEN {
        return Err(format!(
            "it is {} bytes long, at most {MAX_PRINCIPAL_LEN} are allowed",
            principal.len()
        ));
    }
    if let Some((position, _)) = principal.char_indices().find(|(_, c)| c.is_control()) {
        return Err(format!("it holds a control character at byte {position}"));
    }
    Ok(())
}
