//! API tokens: issued once, stored as SHA-256 hashes, with scopes, expiry, revocation and
//! rotation with an overlap window.
//!
//! ```
//! use std::sync::Arc;
//! use mcp_auth::scope::Scopes;
//! use mcp_auth::token::{ApiTokens, MemoryTokenStore, TokenTtl};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let tokens = ApiTokens::new(Arc::new(MemoryTokenStore::new()));
//!
//! // The operator issues a token; its secret is shown once and only its hash is kept.
//! let (token, record) = tokens
//!     .issue("partner-a", Scopes::parse("orders:read")?, TokenTtl::Default)
//!     .await?;
//! assert!(token.expose_secret().starts_with("mcpat_"));
//!
//! // The layer authenticates it on each call.
//! let grant = tokens.authenticate(token.expose_secret()).await?;
//! assert_eq!(grant.id, record.id);
//! assert!(grant.scopes.contains("orders:read"));
//!
//! // Revocation takes effect on the next call.
//! tokens.revoke(&record.id).await?;
//! assert!(tokens.authenticate(token.expose_secret()).await.is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! # The token
//!
//! `<prefix>_<43 characters of base64url: 256 random bits from the OS><6-character checksum>`,
//! for example `mcpat_` followed by 49 characters. The prefix (default `mcpat`, configurable
//! with [`TokenConfig::with_prefix`]) makes a leaked token recognisable; the checksum (CRC-32
//! of the 43 body characters, base64url) lets secret scanners, and [`ApiTokens::authenticate`],
//! reject a look-alike without a lookup. See [`TokenPrefix`] for the exact rules.
//!
//! The secret exists only in the [`IssuedToken`] returned by [`ApiTokens::issue`] and
//! [`ApiTokens::rotate`]: zeroized on drop, redacted in `Debug`, read only through
//! [`IssuedToken::expose_secret`]. The store keeps a [`TokenRecord`]: the token's SHA-256
//! ([`TokenHash`], the key), a public id (`tok_…`, safe to log; operators revoke and rotate by
//! it), the principal it was issued to, its [`Scopes`](crate::scope::Scopes), and when it was
//! created, expires (90 days by default; never only with [`TokenTtl::Never`]) and was revoked.
//!
//! # Authentication
//!
//! [`ApiTokens::authenticate`] checks the shape first (a wrong prefix, length, alphabet or
//! checksum is [`TokenRefusal::Malformed`], with no store call), looks the record up by hash,
//! compares the hashes in constant time, then checks revocation and expiry against the injected
//! [`Clock`](crate::clock::Clock). A refusal maps to an audit
//! [`FailureReason`](crate::audit::FailureReason) with [`TokenRefusal::reason`]; a store that
//! cannot answer gives [`TokenRefusal::StoreUnavailable`], and the call is refused.
//!
//! # Rotation
//!
//! [`ApiTokens::rotate`] issues a new token for the same principal and scopes and cuts the old
//! one's expiry to the earlier of its own and now + the overlap (7 days by default), so both
//! work while clients move over.
//!
//! # Stores
//!
//! [`TokenStore`] is an object-safe async trait; [`MemoryTokenStore`] keeps records in memory,
//! [`FileTokenStore`] in a JSON file that survives restarts and notices changes made by other
//! processes (an operator's CLI) on the next lookup; `RedisTokenStore` (feature `redis`) in
//! Redis, shared by every process of a deployment.

mod file;
mod format;
mod issuer;
mod memory;
mod record;
#[cfg(feature = "redis")]
mod redis;
mod secret;
mod store;
mod table;

#[cfg(test)]
mod tests;

#[cfg(feature = "redis")]
pub use self::redis::RedisTokenStore;
pub use file::{FileTokenStore, MAX_TOKEN_FILE_BYTES};
pub use format::{
    BODY_LEN, CHECKSUM_LEN, DEFAULT_PREFIX, MAX_PREFIX_LEN, MalformedToken, SECRET_BYTES,
    TokenPrefix, TokenPrefixError,
};
pub use issuer::{
    ApiTokens, DEFAULT_ROTATION_OVERLAP, DEFAULT_TTL, MAX_PRINCIPAL_LEN, Rotation, TokenConfig,
    TokenError, TokenGrant, TokenRefusal, TokenTtl,
};
pub use memory::MemoryTokenStore;
pub use record::{MAX_TOKEN_ID_LEN, TokenId, TokenIdError, TokenRecord, TokenStatus};
pub use secret::{IssuedToken, TokenHash};
pub use store::{TokenStore, TokenStoreError};
