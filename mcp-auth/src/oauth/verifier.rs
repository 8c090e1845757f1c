//! [`JwtVerifier`]: signature, algorithm pinning, registered claims, principal.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use jsonwebtoken::crypto::CryptoProvider;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::Principal;
use crate::clock::{Clock, SystemClock};
use crate::oauth::cache::{self, VerifiedTokenCache};
use crate::oauth::claims::ClaimRules;
#[cfg(feature = "jwks")]
use crate::oauth::jwks::{JwksCache, JwksConfig, KeysPlan};
use crate::oauth::keys::{KeySet, Selection, VerificationKey, b64url_decode};
use crate::oauth::refusal::JwtRefusal;
use crate::scope::{ScopeHierarchy, Scopes};

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The default clock-skew allowance for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// A verified token: the principal and when the token expires.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// A [`Principal::OAuth`] built from the claims.
    pub principal: Principal,
    /// The token's `exp` (Unix seconds).
    pub expires_at: u64,
}

/// The outcome of [`JwtVerifier::verify_with_current_keys`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SyncVerification {
    /// The token is valid.
    Verified(VerifiedToken),
    /// The token is refused.
    Refused(JwtRefusal),
    /// The key set must be fetched first: call [`JwtVerifier::verify`].
    NeedsKeyFetch,
}

/// Why a verifier could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No issuer (`iss`) was configured.
    #[error("an issuer is required")]
    MissingIssuer,
    /// No audience (`aud`, this server's canonical resource URI) was configured.
    #[error("an audience (this server's resource URI) is required")]
    MissingAudience,
    /// Neither keys nor a JWKS URL, or every key was filtered out by the algorithm list.
    #[error("no verification key configured")]
    NoKeys,
    /// Both static keys and a JWKS URL: choose one.
    #[error("both static keys and a JWKS URL are configured")]
    TwoKeySources,
    /// The JWKS URL could not be parsed.
    #[error("invalid JWKS URL: {detail}")]
    InvalidJwksUrl {
        /// Why.
        detail: String,
    },
    /// A JWKS URL that is not `https` (plain `http` is allowed only to a loopback address, and
    /// only with `allow_http_loopback(true)`).
    #[error("JWKS URL must be https: {url}")]
    HttpsRequired {
        /// The URL.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {detail}")]
    HttpClient {
        /// Why.
        detail: String,
    },
    /// A Cloudflare Access team domain that is not `<team>` or `<team>.cloudflareaccess.com`.
    #[error("invalid Cloudflare Access team domain {domain:?}")]
    InvalidTeamDomain {
        /// The domain given.
        domain: String,
    },
    /// A Cloudflare Access application AUD tag that is empty or not alphanumeric.
    #[error("invalid Cloudflare Access AUD tag")]
    InvalidAudTag,
    /// jsonwebtoken has no crypto provider (more than one backend feature enabled).
    #[error("jsonwebtoken has no crypto provider")]
    NoCryptoProvider,
}

enum KeySource {
    Static(KeySet),
    #[cfg(feature = "jwks")]
    Jwks(Box<JwksCache>),
}

struct Inner {
    rules: ClaimRules,
    keys: KeySource,
    clock: Arc<dyn Clock>,
    cache: Option<VerifiedTokenCache>,
}

/// Verifies OAuth 2.1 access tokens (JWS-signed JWTs) for one issuer and audience. Cheap to
/// clone (an `Arc`).
///
/// What is checked, in order: the size and shape of the token; the header (`crit` is refused;
/// `jku`, `x5u`, `jwk` are ignored, never followed); the key, chosen by `kid` and pinned to one
/// algorithm (a token whose `alg` is not its key's is refused, so `none` and HMAC-with-a-public-
/// key never pass); the signature; then the claims: `exp`, `iss`, `aud` required, `iss` equal to
/// the issuer, `aud` (a string or an array) naming the audience, `exp`/`nbf` against the injected
/// clock with the leeway, `sub` required, `scope`/`scp` valid scopes.
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

/// The part of the token the checks read.
struct ParsedToken<'t> {
    signing_input: &'t str,
    payload: &'t str,
    signature: &'t str,
    algorithm: Algorithm,
    kid: Option<String>,
}

/// What a key set said about a token.
enum Attempt {
    Done(Result<VerifiedToken, JwtRefusal>),
    UnknownKid,
}

impl JwtVerifier {
    /// A builder with the defaults: leeway 60 s, the system clock, no cache.
    pub fn builder() -> JwtVerifierBuilder {
        JwtVerifierBuilder::default()
    }

    fn now(&self) -> u64 {
        self.inner.clock.now_unix()
    }

    /// Verifies `token` (the bearer token, without the scheme), fetching the key set first if
    /// it is a JWKS that is not loaded, stale, or lacks the token's `kid` (rate-limited).
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, JwtRefusal> {
        let now = self.now();
        let cache_key = match self.cached(token, now) {
            Ok(hit) => return Ok(hit),
            Err(key) => key,
        };
        let parsed = parse(token)?;
        let result = match &self.inner.keys {
            KeySource::Static(keys) => self.attempt(&parsed, keys, now).into_result(&parsed),
            #[cfg(feature = "jwks")]
            KeySource::Jwks(jwks) => self.verify_remote(jwks, &parsed).await,
        };
        self.remember(cache_key, &result, now);
        result
    }

    /// Verifies `token` without waiting: with static keys, or a JWKS already loaded, fresh (or
    /// stale but not yet due for a refetch) and holding the token's key. Otherwise says that a
    /// fetch is needed ([`SyncVerification::NeedsKeyFetch`]): then call
    /// [`JwtVerifier::verify`]. Allocates no future; the layer's fast path.
    pub fn verify_with_current_keys(&self, token: &str) -> SyncVerification {
        let now = self.now();
        let cache_key = match self.cached(token, now) {
            Ok(hit) => return SyncVerification::Verified(hit),
            Err(key) => key,
        };
        let parsed = match parse(token) {
            Ok(parsed) => parsed,
            Err(refusal) => return SyncVerification::Refused(refusal),
        };
        let result = match &self.inner.keys {
            KeySource::Static(keys) => self.attempt(&parsed, keys, now).into_result(&parsed),
            #[cfg(feature = "jwks")]
            KeySource::Jwks(jwks) => match jwks.plan(now) {
                KeysPlan::Use(keys) => match self.attempt(&parsed, &keys.keys, now) {
                    Attempt::Done(result) => result,
                    Attempt::UnknownKid if jwks.may_refetch(now).is_some() => {
                        return SyncVerification::NeedsKeyFetch;
                    }
                    unknown @ Attempt::UnknownKid => unknown.into_result(&parsed),
                },
                KeysPlan::Fetch { .. } => return SyncVerification::NeedsKeyFetch,
                KeysPlan::Unavailable => Err(keys_unavailable()),
            },
        };
        self.remember(cache_key, &result, now);
        match result {
            Ok(token) => SyncVerification::Verified(token),
            Err(refusal) => SyncVerification::Refused(refusal),
        }
    }

    /// Loads the key set now if it is a JWKS with nothing loaded (subject to the refetch rate
    /// limit); returns how many keys are usable. Useful at start-up, to fail fast.
    pub async fn prefetch_keys(&self) -> Result<usize, JwtRefusal> {
        match &self.inner.keys {
            KeySource::Static(keys) => Ok(keys.len()),
            #[cfg(feature = "jwks")]
            KeySource::Jwks(jwks) => {
                let keys = match jwks.plan(self.now()) {
                    KeysPlan::Use(keys) => Some(keys),
                    KeysPlan::Fetch {
                        generation,
                        fallback,
                    } => jwks.refresh(generation, fallback).await,
                    KeysPlan::Unavailable => None,
                };
                keys.map(|k| k.keys.len()).ok_or_else(keys_unavailable)
            }
        }
    }

    #[cfg(feature = "jwks")]
    async fn verify_remote(
        &self,
        jwks: &JwksCache,
        parsed: &ParsedToken<'_>,
    ) -> Result<VerifiedToken, JwtRefusal> {
        let keys = match jwks.plan(self.now()) {
            KeysPlan::Use(keys) => keys,
            KeysPlan::Fetch {
                generation,
                fallback,
            } => jwks
                .refresh(generation, fallback)
                .await
                .ok_or_else(keys_unavailable)?,
            KeysPlan::Unavailable => return Err(keys_unavailable()),
        };
        match self.attempt(parsed, &keys.keys, self.now()) {
            Attempt::Done(result) => result,
            Attempt::UnknownKid => {
                let Some(generation) = jwks.may_refetch(self.now()) else {
                    return Attempt::UnknownKid.into_result(parsed);
                };
                let keys = jwks.refresh(generation, None).await.unwrap_or(keys);
                self.attempt(parsed, &keys.keys, self.now())
                    .into_result(parsed)
            }
        }
    }

    /// The cached result, or the cache key to store the result under (when the cache is on).
    fn cached<'t>(
        &self,
        token: &'t str,
        now: u64,
    ) -> Result<VerifiedToken, Option<cache::CacheKey<'t>>> {
        let Some(cache) = &self.inner.cache else {
            return Err(None);
        };
        let key = cache::key(token);
        cache.get(&key, now).ok_or(Some(key))
    }

    fn remember(
        &self,
        key: Option<cache::CacheKey<'_>>,
        result: &Result<VerifiedToken, JwtRefusal>,
        now: u64,
    ) {
        if let (Some(cache), Some(key), Ok(token)) = (&self.inner.cache, key, result) {
            cache.insert(&key, token, now);
        }
    }

    /// Key selection, signature, claims.
    fn attempt(&self, parsed: &ParsedToken<'_>, keys: &KeySet, now: u64) -> Attempt {
        let key = match keys.select(parsed.algorithm, parsed.kid.as_deref()) {
            Selection::Key(key) => key,
            Selection::UnknownKid => return Attempt::UnknownKid,
            Selection::AlgorithmNotAllowed => {
                return Attempt::Done(Err(JwtRefusal::BadSignature {
                    detail: format!(
                        "key {} is not pinned to {:?}",
                        quoted_kid(parsed.kid.as_deref()),
                        parsed.algorithm
                    )
                    .into(),
                }));
            }
            Selection::NoKeyForAlgorithm => {
                return Attempt::Done(Err(JwtRefusal::BadSignature {
                    detail: format!("no key is pinned to {:?}", parsed.algorithm).into(),
                }));
            }
            Selection::Ambiguous => {
                return Attempt::Done(Err(JwtRefusal::UnknownKey {
                    detail: format!(
                        "no kid, and several keys are pinned to {:?}",
                        parsed.algorithm
                    )
                    .into(),
                }));
            }
        };
        Attempt::Done(verify_and_check(parsed, key, &self.inner.rules, now))
    }
}

impl Attempt {
    fn into_result(self, parsed: &ParsedToken<'_>) -> Result<VerifiedToken, JwtRefusal> {
        match self {
            Attempt::Done(result) => result,
            Attempt::UnknownKid => Err(JwtRefusal::UnknownKey {
                detail: format!(
                    "kid {} is not in the key set",
                    quoted_kid(parsed.kid.as_deref())
                )
                .into(),
            }),
        }
    }
}

fn verify_and_check(
    parsed: &ParsedToken<'_>,
    key: &VerificationKey,
    rules: &ClaimRules,
    now: u64,
) -> Result<VerifiedToken, JwtRefusal> {
    match jsonwebtoken::crypto::verify(
        parsed.signature,
        parsed.signing_input.as_bytes(),
        key.decoding_key(),
        parsed.algorithm,
    ) {
        Ok(true) => {}
        Ok(false) => {
            return Err(JwtRefusal::BadSignature {
                detail: Cow::Borrowed("signature does not verify"),
            });
        }
        Err(e) => {
            return Err(JwtRefusal::BadSignature {
                detail: format!("signature: {e}").into(),
            });
        }
    }
    let payload = b64url_decode(parsed.payload)
        .ok_or_else(|| JwtRefusal::malformed("payload is not base64url"))?;
    let claims: Map<String, Value> = serde_json::from_slice(&payload)
        .map_err(|_| JwtRefusal::malformed("claims are not a JSON object"))?;
    rules.check(claims, now)
}

#[cfg(feature = "jwks")]
fn keys_unavailable() -> JwtRefusal {
    JwtRefusal::KeysUnavailable {
        detail: Cow::Borrowed("the JWKS could not be fetched and no usable copy is cached"),
    }
}

fn quoted_kid(kid: Option<&str>) -> String {
    match kid {
        None => "(none)".to_owned(),
        Some(kid) => {
            let mut end = kid.len().min(64);
            while !kid.is_char_boundary(end) {
                end -= 1;
            }
            format!("{:?}", &kid[..end])
        }
    }
}

/// Splits and reads the header. Nothing of the payload is read before the signature verifies.
fn parse(token: &str) -> Result<ParsedToken<'_>, JwtRefusal> {
    #[derive(Deserialize)]
    struct Header<'a> {
        #[serde(borrow)]
        alg: Cow<'a, str>,
        #[serde(borrow, default)]
        kid: Option<Cow<'a, str>>,
        #[serde(default, deserialize_with = "present")]
        crit: bool,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| true)
    }

    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtRefusal::malformed("token longer than 16 KiB"));
    }
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| JwtRefusal::malformed("not three dot-separated segments"))?;
    let (header, payload) = signing_input
        .split_once('.')
        .filter(|(h, p)| !h.is_empty() && !p.is_empty() && !p.contains('.'))
        .ok_or_else(|| JwtRefusal::malformed("not three dot-separated segments"))?;
    let header =
        b64url_decode(header).ok_or_else(|| JwtRefusal::malformed("header is not base64url"))?;
    let header: Header<'_> = serde_json::from_slice(&header)
        .map_err(|_| JwtRefusal::malformed("header is not a JSON object with an alg"))?;
    if header.crit {
        return Err(JwtRefusal::malformed(
            "crit header parameter: no extension is supported",
        ));
    }
    let algorithm = match &*header.alg {
        "none" => {
            return Err(JwtRefusal::BadSignature {
                detail: Cow::Borrowed("unsecured JWT (alg none)"),
            });
        }
        alg => Algorithm::from_str(alg).map_err(|_| JwtRefusal::BadSignature {
            detail: format!("unsupported algorithm {}", quoted_kid(Some(alg))).into(),
        })?,
    };
    Ok(ParsedToken {
        signing_input,
        payload,
        signature,
        algorithm,
        kid: header.kid.map(Cow::into_owned),
    })
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("JwtVerifier");
        s.field("issuer", &self.inner.rules.issuer)
            .field("audiences", &self.inner.rules.audiences)
            .field("leeway_secs", &self.inner.rules.leeway_secs);
        match &self.inner.keys {
            KeySource::Static(keys) => s.field("keys", keys),
            #[cfg(feature = "jwks")]
            KeySource::Jwks(jwks) => s.field("jwks", jwks),
        };
        s.field("cache", &self.inner.cache.is_some()).finish()
    }
}

/// Builds a [`JwtVerifier`]. Issuer, audience and a key source are required.
#[derive(Default)]
pub struct JwtVerifierBuilder {
    issuer: Option<String>,
    audiences: Vec<String>,
    leeway: Option<Duration>,
    keys: KeySet,
    #[cfg(feature = "jwks")]
    jwks: Option<JwksConfig>,
    clock: Option<Arc<dyn Clock>>,
    cache_capacity: Option<NonZeroUsize>,
    hierarchy: ScopeHierarchy,
    default_scopes: Scopes,
    algorithms: Option<Vec<Algorithm>>,
    subject_fallback: Option<&'static str>,
}

impl JwtVerifierBuilder {
    /// The issuer: `iss` must equal it exactly.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// An accepted audience: this server's canonical resource URI (RFC 8707). `aud` must name
    /// one of the configured audiences. May be called more than once.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The clock-skew allowance for `exp` and `nbf` (default 60 s, whole seconds).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Adds a static key.
    pub fn key(mut self, key: VerificationKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds static keys.
    pub fn keys(mut self, keys: KeySet) -> Self {
        for key in keys.keys() {
            self.keys.push(key.clone());
        }
        self
    }

    /// Fetches the keys from a JWKS URL (instead of static keys).
    #[cfg(feature = "jwks")]
    pub fn jwks(mut self, config: JwksConfig) -> Self {
        self.jwks = Some(config);
        self
    }

    /// The clock `exp`, `nbf`, the cache and the JWKS timers read (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Turns on the verified-token cache with room for about `capacity` tokens (see the
    /// [module docs](crate::oauth) for the trade-off).
    pub fn verified_token_cache(mut self, capacity: NonZeroUsize) -> Self {
        self.cache_capacity = Some(capacity);
        self
    }

    /// Scope implications applied to the token's scopes.
    pub fn scope_hierarchy(mut self, hierarchy: ScopeHierarchy) -> Self {
        self.hierarchy = hierarchy;
        self
    }

    /// Scopes granted to every token this verifier accepts, in addition to its own `scope` /
    /// `scp` claims. For issuers whose tokens carry no scopes (Cloudflare Access): without
    /// this, their principals have no scopes.
    pub fn default_scopes(mut self, scopes: Scopes) -> Self {
        self.default_scopes = scopes;
        self
    }

    /// Accepts only keys pinned to one of `algorithms` (static keys and JWKS keys alike).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    pub(crate) fn subject_fallback(mut self, claim: &'static str) -> Self {
        self.subject_fallback = Some(claim);
        self
    }

    /// Builds the verifier.
    pub fn build(self) -> Result<JwtVerifier, ConfigError> {
        let issuer = self
            .issuer
            .filter(|i| !i.is_empty())
            .ok_or(ConfigError::MissingIssuer)?;
        let audiences: Box<[Box<str>]> = self
            .audiences
            .into_iter()
            .filter(|a| !a.is_empty())
            .map(String::into_boxed_str)
            .collect();
        if audiences.is_empty() {
            return Err(ConfigError::MissingAudience);
        }
        if CryptoProvider::try_get_default().is_none() {
            return Err(ConfigError::NoCryptoProvider);
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let mut static_keys = self.keys;
        if let Some(algorithms) = &self.algorithms {
            static_keys.retain_algorithms(algorithms);
        }
        #[cfg(feature = "jwks")]
        let keys = match self.jwks {
            Some(_) if !static_keys.is_empty() => return Err(ConfigError::TwoKeySources),
            Some(config) => KeySource::Jwks(Box::new(JwksCache::new(
                config,
                clock.clone(),
                self.algorithms,
            )?)),
            None if static_keys.is_empty() => return Err(ConfigError::NoKeys),
            None => KeySource::Static(static_keys),
        };
        #[cfg(not(feature = "jwks"))]
        let keys = if static_keys.is_empty() {
            return Err(ConfigError::NoKeys);
        } else {
            KeySource::Static(static_keys)
        };
        Ok(JwtVerifier {
            inner: Arc::new(Inner {
                rules: ClaimRules {
                    issuer: issuer.into_boxed_str(),
                    audiences,
                    leeway_secs: self.leeway.unwrap_or(DEFAULT_LEEWAY).as_secs(),
                    hierarchy: self.hierarchy,
                    default_scopes: self.default_scopes,
                    subject_fallback: self.subject_fallback,
                },
                keys,
                clock,
                cache: self
                    .cache_capacity
                    .map(|c| VerifiedTokenCache::new(c.get())),
            }),
        })
    }
}

impl fmt::Debug for JwtVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::oauth::keys::b64url;
    use crate::oauth::keys::test_keys::*;
    use serde_json::json;

    const ISS: &str = "https://issuer.example";
    const AUD: &str = "https://mcp.example/mcp";
    const NOW: u64 = 1_750_000_000;

    fn claims() -> Value {
        json!({"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 300, "iat": NOW,
               "scope": "orders:read", "client_id": "app"})
    }

    fn verifier_with(keys: KeySet, clock: &ManualClock) -> JwtVerifier {
        JwtVerifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .keys(keys)
            .clock(clock.clone())
            .build()
            .unwrap()
    }

    fn all_keys() -> KeySet {
        KeySet::new()
            .with(
                VerificationKey::from_pem(RSA_A_PUB.as_bytes(), Algorithm::RS256)
                    .unwrap()
                    .with_kid("rsa"),
            )
            .with(
                VerificationKey::from_pem(EC_PUB.as_bytes(), Algorithm::ES256)
                    .unwrap()
                    .with_kid("ec"),
            )
            .with(
                VerificationKey::from_pem(ED_A_PUB.as_bytes(), Algorithm::EdDSA)
                    .unwrap()
                    .with_kid("ed"),
            )
    }

    fn sync(v: &JwtVerifier, token: &str) -> Result<VerifiedToken, JwtRefusal> {
        match v.verify_with_current_keys(token) {
            SyncVerification::Verified(t) => Ok(t),
            SyncVerification::Refused(r) => Err(r),
            SyncVerification::NeedsKeyFetch => panic!("static keys never need a fetch"),
        }
    }

    fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
        format!(
            "{}.{}.{signature}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn valid_rs256_es256_eddsa() {
        let clock = ManualClock::from_unix(NOW);
        let v = verifier_with(all_keys(), &clock);
        for (pem, alg, kid) in [
            (RSA_A_KEY, Algorithm::RS256, "rsa"),
            (EC_KEY, Algorithm::ES256, "ec"),
            (ED_A_KEY, Algorithm::EdDSA, "ed"),
        ] {
            let token = sign(pem, alg, Some(kid), &claims());
            let verified = sync(&v, &token).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
            assert_eq!(verified.expires_at, NOW + 300);
            match &verified.principal {
                Principal::OAuth {
                    sub,
                    scopes,
                    client_id,
                    claims,
                } => {
                    assert_eq!(&**sub, "alice");
                    assert_eq!(scopes.to_string(), "orders:read");
                    assert_eq!(client_id.as_deref(), Some("app"));
                    assert_eq!(claims.get("iat"), Some(&json!(NOW)));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn async_verify_with_static_keys() {
        let clock = ManualClock::from_unix(NOW);
        let v = verifier_with(all_keys(), &clock);
        let token = sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &claims());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let verified = rt.block_on(v.verify(&token)).unwrap();
        assert_eq!(verified.principal.label(), "user:alice");
        assert_eq!(rt.block_on(v.prefetch_keys()), Ok(3));
    }

    #[test]
    fn verifier_and_its_future_are_send_and_sync() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let clock = ManualClock::from_unix(NOW);
        let v = verifier_with(all_keys(), &clock);
        send_sync(&v);
        let future = v.verify("a.b.c");
        send(&future);
    }

    #[test]
    fn alg_none_is_refused() {
        let clock = ManualClock::from_unix(NOW);
        let v = verifier_with(all_keys(), &clock);
        for header in [
            json!({"alg": "none", "typ": "JWT"}),
            json!({"alg": "none", "kid": "ed"}),
        ] {
            let token = unsigned(&header, &claims(), "");
            let err = sync(&v, &token).unwrap_err();
            assert!(
                matches!(&err, JwtRefusal::BadSignature { detail } if detail.contains("none")),
                "{err:?}"
            );
        }
        let err = sync(&v, &unsigned(&json!({"alg": "HS1"}), &claims(), "x")).unwrap_err();
        assert!(matches!(err, JwtRefusal::BadSignature { .. }));
    }

    #[test]
    fn hmac_with_the_rsa_public_key_as_secret_is_refused() {
        let clock = ManualClock::from_unix(NOW);
        let rsa_only = KeySet::new().with(
            VerificationKey::from_pem(RSA_A_PUB.as_bytes(), Algorithm::RS256)
                .unwrap()
                .with_kid("rsa"),
        );
        let v = verifier_with(rsa_only, &clock);
        for kid in [Some("rsa"), None] {
            let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
            header.kid = kid.map(str::to_owned);
            let forged = jsonwebtoken::encode(
                &header,
                &claims(),
                &jsonwebtoken::EncodingKey::from_secret(RSA_A_PUB.as_bytes()).unwrap(),
            )
            .unwrap();
            let err = sync(&v, &forged).unwrap_err();
            assert_eq!(err.reason(), crate::audit::FailureReason::BadSignature);
        }
        // The genuine RS256 token passes.
        let genuine = sign(RSA_A_KEY, Algorithm::RS256, Some("rsa"), &claims());
        assert!(sync(&v, &genuine).is_ok());
    }

    #[test]
    fn signatures_are_checked() {
        let clock = ManualClock::from_unix(NOW);
        let v = verifier_with(all_keys(), &clock);
        // Signed by another Ed25519 key under the same kid.
        let wrong_key = sign(ED_B_KEY, Algorithm::EdDSA, Some("ed"), &claims());
        assert!(matches!(
            sync(&v, &wrong_key),
            Err(JwtRefusal::BadSignature { .. })
        ));
        // A payload swapped under a valid signature.
        let good = sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &claims());
        let mut other = claims();
        other["sub"] = json!("mallory");
        let swapped = sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &other);
        let parts: Vec<&str> = good.split('.').collect();
        let swapped_parts: Vec<&str> = swapped.split('.').collect();
        let franken = format!("{}.{}.{}", parts[0], swapped_parts[1], parts[2]);
        assert!(matches!(
            sync(&v, &franken),
            Err(JwtRefusal::BadSignature { .. })
        ));
        // RS256 token presented as PS256 under the RSA key's kid.
        let rs = sign(RSA_A_KEY, Algorithm::PS256, Some("rsa"), &claims());
        assert!(matches!(
            sync(&v, &rs),
            Err(JwtRefusal::BadSignature { .. })
        ));
    }

    #[test]
    fn kid_rules() {
        let clock = ManualClock::from_unix(NOW);
        let v = verifier_with(all_keys(), &clock);
        // No kid, one key of the algorithm: accepted.
        assert!(sync(&v, &sign(ED_A_KEY, Algorithm::EdDSA, None, &claims())).is_ok());
        // Unknown kid.
        assert!(matches!(
            sync(
                &v,
                &sign(ED_A_KEY, Algorithm::EdDSA, Some("zzz"), &claims())
            ),
            Err(JwtRefusal::UnknownKey { .. })
        ));
        // No kid, two keys of the algorithm: refused.
        let two_ed = all_keys().with(
            VerificationKey::from_pem(ED_A_PUB.as_bytes(), Algorithm::EdDSA)
                .unwrap()
                .with_kid("ed2"),
        );
        let v2 = verifier_with(two_ed, &clock);
        assert!(matches!(
            sync(&v2, &sign(ED_A_KEY, Algorithm::EdDSA, None, &claims())),
            Err(JwtRefusal::UnknownKey { .. })
        ));
    }

    #[test]
    fn audience_issuer_and_required_claims() {
        let clock = ManualClock::from_unix(NOW);
        let v = verifier_with(all_keys(), &clock);
        let refused = |patch: Value| {
            let mut c = claims();
            for (k, val) in patch.as_object().unwrap() {
                if val.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = val.clone();
                }
            }
            sync(&v, &sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &c)).unwrap_err()
        };
        for patch in [
            json!({"aud": "https://other.example/mcp"}),
            json!({"aud": ["https://other.example/mcp"]}),
            json!({"iss": "https://evil.example"}),
            json!({"exp": null}),
            json!({"iss": null}),
            json!({"aud": null}),
            json!({"sub": null}),
        ] {
            let err = refused(patch.clone());
            assert_eq!(
                err.reason(),
                crate::audit::FailureReason::InvalidClaims,
                "{patch}: {err}"
            );
        }
        // aud as an array naming this resource among others is fine.
        let mut c = claims();
        c["aud"] = json!(["https://other.example", AUD]);
        assert!(sync(&v, &sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &c)).is_ok());
    }

    #[test]
    fn expiry_and_nbf_follow_the_injected_clock() {
        let clock = ManualClock::from_unix(NOW);
        let v = verifier_with(all_keys(), &clock);
        let token = sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &claims());
        clock.set(Duration::from_secs(NOW + 300 + 59)); // inside the leeway
        assert!(sync(&v, &token).is_ok());
        clock.set(Duration::from_secs(NOW + 300 + 60)); // outside
        assert!(matches!(sync(&v, &token), Err(JwtRefusal::Expired { .. })));

        clock.set(Duration::from_secs(NOW));
        let mut future = claims();
        future["nbf"] = json!(NOW + 61);
        let not_yet = sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &future);
        assert!(matches!(
            sync(&v, &not_yet),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
        clock.advance(Duration::from_secs(1));
        assert!(sync(&v, &not_yet).is_ok());

        // A zero leeway is exact.
        let strict = JwtVerifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .keys(all_keys())
            .leeway(Duration::ZERO)
            .clock(clock.clone())
            .build()
            .unwrap();
        clock.set(Duration::from_secs(NOW + 299));
        assert!(sync(&strict, &token).is_ok());
        clock.set(Duration::from_secs(NOW + 300));
        assert!(sync(&strict, &token).is_err());
    }

    #[test]
    fn malformed_tokens() {
        let clock = ManualClock::from_unix(NOW);
        let v = verifier_with(all_keys(), &clock);
        let good = sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &claims());
        let huge = format!("{good}{}", "A".repeat(MAX_TOKEN_LEN));
        let crit = unsigned(
            &json!({"alg": "EdDSA", "kid": "ed", "crit": ["exp"]}),
            &claims(),
            "AAAA",
        );
        let dup = format!(
            "{}.{}.AAAA",
            b64url(br#"{"alg":"EdDSA","alg":"none"}"#),
            b64url(b"{}")
        );
        for token in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            ".b.c",
            "a..c",
            "!!!.b.c",
            "e30.e30.",
            huge.as_str(),
            crit.as_str(),
            dup.as_str(),
        ] {
            let err = sync(&v, token).unwrap_err();
            assert_eq!(
                err.reason(),
                crate::audit::FailureReason::Malformed,
                "{token:.40}: {err}"
            );
        }
        // A correctly signed payload that is not a JSON object.
        let array = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::EdDSA),
            &json!([1, 2]),
            &encoding_key(ED_A_KEY, Algorithm::EdDSA),
        )
        .unwrap();
        assert!(matches!(
            sync(&v, &array),
            Err(JwtRefusal::Malformed { .. })
        ));
    }

    #[test]
    fn cache_hits_return_the_same_principal_and_stop_at_exp() {
        let clock = ManualClock::from_unix(NOW);
        let v = JwtVerifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .keys(all_keys())
            .clock(clock.clone())
            .verified_token_cache(NonZeroUsize::new(100).unwrap())
            .build()
            .unwrap();
        let token = sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &claims());
        let first = sync(&v, &token).unwrap();
        let cache = v.inner.cache.as_ref().unwrap();
        assert!(cache.get(&cache::key(&token), NOW).is_some());
        let second = sync(&v, &token).unwrap();
        assert_eq!(first, second);
        // Identical principals, down to the shared claim map.
        if let (Principal::OAuth { claims: a, .. }, Principal::OAuth { claims: b, .. }) =
            (&first.principal, &second.principal)
        {
            assert!(Arc::ptr_eq(a, b));
        }
        // At exp the cache no longer answers; the full check applies its leeway.
        clock.set(Duration::from_secs(NOW + 300));
        assert!(cache.get(&cache::key(&token), NOW + 300).is_none());
        assert!(sync(&v, &token).is_ok());
        assert_eq!(cache.len(), 0, "never cached beyond exp");
        clock.set(Duration::from_secs(NOW + 360));
        assert!(matches!(sync(&v, &token), Err(JwtRefusal::Expired { .. })));
        // Refusals are never cached.
        let other = sign(ED_B_KEY, Algorithm::EdDSA, Some("ed"), &claims());
        assert!(sync(&v, &other).is_err());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn builder_requires_issuer_audience_keys() {
        let key = || VerificationKey::from_pem(ED_A_PUB.as_bytes(), Algorithm::EdDSA).unwrap();
        assert_eq!(
            JwtVerifier::builder()
                .audience(AUD)
                .key(key())
                .build()
                .unwrap_err(),
            ConfigError::MissingIssuer
        );
        assert_eq!(
            JwtVerifier::builder()
                .issuer(ISS)
                .key(key())
                .build()
                .unwrap_err(),
            ConfigError::MissingAudience
        );
        assert_eq!(
            JwtVerifier::builder()
                .issuer(ISS)
                .audience(AUD)
                .build()
                .unwrap_err(),
            ConfigError::NoKeys
        );
        assert_eq!(
            JwtVerifier::builder()
                .issuer(ISS)
                .audience(AUD)
                .key(key())
                .algorithms([Algorithm::RS256])
                .build()
                .unwrap_err(),
            ConfigError::NoKeys
        );
    }

    #[test]
    fn debug_shows_no_secrets() {
        let secret = b"an-hmac-secret-that-is-long-enough!!";
        let v = JwtVerifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .key(VerificationKey::hmac_secret(secret, Algorithm::HS256).unwrap())
            .build()
            .unwrap();
        let shown = format!("{v:?}");
        assert!(!shown.contains("an-hmac-secret"), "{shown}");
        assert!(!shown.contains(&b64url(secret)), "{shown}");
        // And HMAC works when explicitly configured.
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims(),
            &jsonwebtoken::EncodingKey::from_secret(secret).unwrap(),
        )
        .unwrap();
        let clock = ManualClock::from_unix(NOW);
        let v = JwtVerifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .key(VerificationKey::hmac_secret(secret, Algorithm::HS256).unwrap())
            .clock(clock)
            .build()
            .unwrap();
        assert!(sync(&v, &token).is_ok());
        let refusal = sync(&v, &format!("{token}x")).unwrap_err();
        assert!(!refusal.to_string().contains(&token[..20]));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_are_refused_without_panicking(token in ".{0,300}") {
            let clock = ManualClock::from_unix(NOW);
            let v = verifier_with(all_keys(), &clock);
            proptest::prop_assert!(sync(&v, &token).is_err());
        }

        #[test]
        fn any_byte_flip_fails(index in 0usize..400, bit in 0u8..8) {
            let clock = ManualClock::from_unix(NOW);
            let v = verifier_with(all_keys(), &clock);
            let token = sign(ED_A_KEY, Algorithm::EdDSA, Some("ed"), &claims());
            let mut bytes = token.into_bytes();
            let i = index % bytes.len();
            bytes[i] ^= 1 << bit;
            if let Ok(mutated) = String::from_utf8(bytes) {
                // Canonical base64url only: every flip changes the signed bytes or the
                // encoding, and either way the token fails.
                proptest::prop_assert!(sync(&v, &mutated).is_err());
            }
        }
    }
}
