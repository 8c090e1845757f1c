//! OAuth 2.1 access tokens as JWTs: signature with keys pinned to one algorithm, required
//! `exp`/`iss`/`aud`, leeway, JWKS with refresh on an unknown `kid`, and Cloudflare Access.
//!
//! ```
//! use jsonwebtoken::{EncodingKey, Header};
//! use mcp_auth::clock::ManualClock;
//! use mcp_auth::oauth::{Algorithm, JwtVerifier, SyncVerification, VerificationKey};
//!
//! // An issuer sharing an HMAC secret (RSA, EC and Ed25519 keys load from PEM or a JWKS).
//! let secret = b"a shared secret of 32 bytes or more";
//! let verifier = JwtVerifier::builder()
//!     .issuer("https://auth.example.com")
//!     .audience("https://mcp.example.com/mcp") // this server's resource URI (RFC 8707)
//!     .key(VerificationKey::hmac_secret(secret, Algorithm::HS256)?)
//!     .clock(ManualClock::from_unix(1_750_000_000))
//!     .build()?;
//!
//! let claims = serde_json::json!({
//!     "iss": "https://auth.example.com", "aud": "https://mcp.example.com/mcp",
//!     "sub": "alice", "exp": 1_750_000_300, "scope": "orders:read",
//! });
//! let token = jsonwebtoken::encode(
//!     &Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret)?)?;
//!
//! match verifier.verify_with_current_keys(&token) {
//!     SyncVerification::Verified(verified) => {
//!         assert_eq!(verified.principal.label(), "user:alice");
//!         assert!(verified.principal.scopes().contains("orders:read"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is checked
//!
//! See [`JwtVerifier`]. Every key verifies exactly one algorithm ([`VerificationKey`]): an
//! HMAC token presented with an RSA key's `kid`, or an `alg: none` token, is refused before any
//! cryptography. `exp` and `nbf` are checked against the injected [`Clock`](crate::clock::Clock)
//! with the leeway (jsonwebtoken's own time checks, which read the system clock, are not used).
//! Scopes come from `scope` (space-separated) and `scp` (array or string); an invalid scope
//! refuses the token.
//!
//! # Keys
//!
//! Static keys ([`VerificationKey::from_pem`], [`VerificationKey::from_jwk`],
//! [`KeySet::from_jwks_json`], [`VerificationKey::hmac_secret`]) or, with the `jwks` feature, a
//! JWKS URL (`JwksConfig`): fetched on first use, cached for its `max-age` (bounded) or 10
//! minutes, refetched when a token names an unknown `kid` — at most once per 30 s whatever the
//! traffic —, one fetch at a time, and served stale for up to 24 h while the issuer is
//! unreachable. With nothing usable cached, tokens are refused
//! ([`JwtRefusal::KeysUnavailable`]): fail closed.
//!
//! # Verified-token cache
//!
//! Off by default ([`JwtVerifierBuilder::verified_token_cache`]). It keeps each verified result
//! until the token's `exp` and never beyond, so a repeated token costs a hash and a map lookup
//! instead of a signature check. Entries are keyed by the SHA-256 of the token's signature and
//! hold its signing input (header and payload), which a hit compares byte for byte: a hit is the
//! exact token verified, and no usable token is kept in memory. The trade-off: a cached
//! token stays accepted until its `exp` even after its key is removed from the JWKS. Use it with
//! short-lived access tokens.
//!
//! # Fast path
//!
//! [`JwtVerifier::verify`] is async because it may have to fetch keys;
//! [`JwtVerifier::verify_with_current_keys`] never waits and says when a fetch is needed.

mod cache;
mod claims;
mod cloudflare;
#[cfg(feature = "jwks")]
mod jwks;
mod keys;
mod refusal;
mod verifier;

pub use cloudflare::CloudflareAccess;
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "jwks")]
pub use jwks::JwksConfig;
pub use keys::{KeyError, KeySet, MAX_JWKS_KEYS, MIN_RSA_BITS, SkippedKey, VerificationKey};
pub use refusal::JwtRefusal;
pub use verifier::{
    ConfigError, DEFAULT_LEEWAY, JwtVerifier, JwtVerifierBuilder, MAX_TOKEN_LEN, SyncVerification,
    VerifiedToken,
};
