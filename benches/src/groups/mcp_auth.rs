//! Group `mcp_auth`: [`McpAuthLayer`] in front of a bare tower service against the bare service
//! alone, [`JwtVerifier`] against a bare `jsonwebtoken::decode`, and a rate-limit check of
//! [`MemoryRateLimiter`] against `governor` used directly.
//!
//! Targets (from the issue), measured side by side in the same run, with a 1 KB `tools/call`
//! body:
//!
//! - the anonymous path (a tool allowed anonymously, the per-IP rate limit on) adds at most
//!   2 µs over the bare service ([`ANONYMOUS_OVERHEAD_BUDGET_NS`]);
//! - the API-token path ([`MemoryTokenStore`], a valid token) adds at most 5 µs
//!   ([`API_TOKEN_OVERHEAD_BUDGET_NS`]);
//! - the JWT verifier ([`JwtVerifier::verify_with_current_keys`], EdDSA, a static key, no cache)
//!   takes at most 1.2× a bare `jsonwebtoken::decode` of the same token with the same key and the
//!   same claim checks; with the verified-token cache on, the whole layer path takes at most the
//!   API-token path's time;
//! - a rate-limit check takes under 100 ns ([`RATE_LIMIT_CHECK_BUDGET_NS`]).
//!
//! Every request is cloned per iteration, for the layer and for the bare service alike (a server
//! hands each request over by value), so the difference is the layer's own work: reading the
//! body, peeking the JSON-RPC call, looking up the tool, authenticating, the rate-limit check,
//! removing the credentials and handing the same bytes on. The futures complete at once (the
//! token store and the body are in memory) and are polled once with a no-op waker; outside a
//! tokio runtime the layer sets no body timer. Auth events go to the default sink (`tracing`,
//! with no subscriber installed here).
//!
//! The clocks are the system clock, as in a server. The quotas of the benchmarked classes are
//! 1,000 requests per second with a burst of 10^9, so that no iteration is refused while every
//! key stays tracked (its theoretical arrival time runs ahead of the clock, as a busy caller's
//! does): a GCRA check costs the same whatever its quota. The rate-limit cases rotate through
//! [`RATE_LIMIT_KEYS`] keys (anonymous callers by address), the same keys and the same quota for
//! ours and for `governor`.
//!
//! [`Fixtures::check`] runs before any timing: each request passes with status 200, the inner
//! service sees the expected principal, the same body bytes and no credentials; an anonymous
//! call to the API-token tool is refused with 401; the verifier and the bare decode agree on the
//! token's subject.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::{NonZeroU32, NonZeroUsize};
use std::pin::pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use governor::DefaultKeyedRateLimiter;
use http::{Request, Response, StatusCode};
use http_body_util::{Empty, Full};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use mcp_auth::gate::AuthGate;
use mcp_auth::layer::{McpAuthLayer, McpAuthService, McpRequestBody};
use mcp_auth::oauth::{JwtVerifier, SyncVerification, VerificationKey};
use mcp_auth::ratelimit::{
    MemoryRateLimiter, Quota, RateLimitClass, RateLimitKey, RateLimitSubject, RateLimiter,
    RateLimits, class_names,
};
use mcp_auth::scope::Scopes;
use mcp_auth::token::{ApiTokens, MemoryTokenStore, TokenTtl};
use mcp_auth::toolmap::{Require, ToolMap};
use mcp_auth::{AuthMode, Principal};
use tower_layer::Layer;
use tower_service::Service;

use super::{Budget, Case, Ratio};

/// The group name.
pub const GROUP: &str = "mcp_auth";

/// Case names.
pub mod names {
    /// The bare service on the anonymous request.
    pub const BARE_ANONYMOUS: &str = "bare/anonymous";
    /// `McpAuthLayer` over the bare service: an anonymous tool, the per-IP rate limit on.
    pub const LAYER_ANONYMOUS: &str = "layer/anonymous";
    /// The bare service on the API-token request.
    pub const BARE_API_TOKEN: &str = "bare/api-token";
    /// `McpAuthLayer` over the bare service: an API token from a `MemoryTokenStore`.
    pub const LAYER_API_TOKEN: &str = "layer/api-token";
    /// The bare service on the JWT request.
    pub const BARE_JWT: &str = "bare/jwt";
    /// `McpAuthLayer` over the bare service: an EdDSA JWT, the verified-token cache on.
    pub const LAYER_JWT_CACHED: &str = "layer/jwt (verified-token cache)";
    /// `McpAuthLayer` over the bare service: an EdDSA JWT, no cache (a signature check per call).
    pub const LAYER_JWT_UNCACHED: &str = "layer/jwt (no cache)";
    /// `JwtVerifier::verify_with_current_keys`, no cache.
    pub const VERIFIER: &str = "ours/JwtVerifier verify_with_current_keys";
    /// `JwtVerifier::verify_with_current_keys`, a hit in the verified-token cache.
    pub const VERIFIER_CACHED: &str = "ours/JwtVerifier verify_with_current_keys (cache hit)";
    /// `jsonwebtoken::decode` of the same token, the same key and the same claim checks.
    pub const FLOOR_DECODE: &str = "floor/jsonwebtoken decode";
    /// `MemoryRateLimiter::check`, rotating keys.
    pub const RATE_LIMIT_OURS: &str = "ours/MemoryRateLimiter check";
    /// `RateLimiter::check_now` (the in-memory backend, as the gate calls it), rotating keys.
    pub const RATE_LIMIT_OURS_NOW: &str = "ours/RateLimiter check_now";
    /// `governor` 0.10 keyed limiter (`RateLimiter::keyed`, its default `DashMap` store and
    /// clock), the same keys.
    pub const RATE_LIMIT_GOVERNOR: &str = "governor-0.10/keyed check_key";
}

/// Budget for what the layer adds on the anonymous path, in nanoseconds.
pub const ANONYMOUS_OVERHEAD_BUDGET_NS: f64 = 2000.0;
/// Budget for what the layer adds on the API-token path, in nanoseconds.
pub const API_TOKEN_OVERHEAD_BUDGET_NS: f64 = 5000.0;
/// Budget for one rate-limit check, in nanoseconds.
pub const RATE_LIMIT_CHECK_BUDGET_NS: f64 = 100.0;

/// How many keys the rate-limit cases rotate through.
pub const RATE_LIMIT_KEYS: usize = 1024;

/// The burst of the benchmarked quotas (1,000 per second): no run reaches it.
const BURST: u32 = 1_000_000_000;

/// The size the `tools/call` bodies are padded to, in bytes.
pub const BODY_BYTES: usize = 1024;

/// The ratios the report shows.
pub const RATIOS: &[Ratio] = &[
    Ratio {
        label: "JwtVerifier (no cache) / bare jsonwebtoken decode",
        numerator: names::VERIFIER,
        denominator: names::FLOOR_DECODE,
        target: Some(1.2),
    },
    Ratio {
        label: "layer JWT path (verified-token cache) / layer API-token path",
        numerator: names::LAYER_JWT_CACHED,
        denominator: names::LAYER_API_TOKEN,
        target: Some(1.0),
    },
    Ratio {
        label: "layer / bare service (anonymous)",
        numerator: names::LAYER_ANONYMOUS,
        denominator: names::BARE_ANONYMOUS,
        target: None,
    },
    Ratio {
        label: "layer JWT path (no cache) / bare jsonwebtoken decode",
        numerator: names::LAYER_JWT_UNCACHED,
        denominator: names::FLOOR_DECODE,
        target: None,
    },
    Ratio {
        label: "MemoryRateLimiter check / governor keyed check",
        numerator: names::RATE_LIMIT_OURS,
        denominator: names::RATE_LIMIT_GOVERNOR,
        target: None,
    },
];

/// The absolute targets the report shows.
pub const BUDGETS: &[Budget] = &[
    Budget {
        label: "layer overhead, anonymous path",
        case: names::LAYER_ANONYMOUS,
        baseline: Some(names::BARE_ANONYMOUS),
        max_ns: ANONYMOUS_OVERHEAD_BUDGET_NS,
    },
    Budget {
        label: "layer overhead, API-token path",
        case: names::LAYER_API_TOKEN,
        baseline: Some(names::BARE_API_TOKEN),
        max_ns: API_TOKEN_OVERHEAD_BUDGET_NS,
    },
    Budget {
        label: "layer overhead, JWT path (verified-token cache)",
        case: names::LAYER_JWT_CACHED,
        baseline: Some(names::BARE_JWT),
        max_ns: API_TOKEN_OVERHEAD_BUDGET_NS,
    },
    Budget {
        label: "rate-limit check (MemoryRateLimiter::check)",
        case: names::RATE_LIMIT_OURS,
        baseline: None,
        max_ns: RATE_LIMIT_CHECK_BUDGET_NS,
    },
    Budget {
        label: "rate-limit check (RateLimiter::check_now)",
        case: names::RATE_LIMIT_OURS_NOW,
        baseline: None,
        max_ns: RATE_LIMIT_CHECK_BUDGET_NS,
    },
];

const ED_KEY: &str = include_str!("../../../mcp-auth/tests/data/ed25519-a.key.pem");
const ED_PUB: &str = include_str!("../../../mcp-auth/tests/data/ed25519-a.pub.pem");
const ISSUER: &str = "https://auth.shop.example";
const RESOURCE: &str = "https://shop.example/mcp";
const METADATA: &str = "https://shop.example/.well-known/oauth-protected-resource/mcp";
const KID: &str = "bench-ed25519";
const USER: &str = "user-1842";
const PARTNER: &str = "partner-acme";
const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)), 51_234);

const ANONYMOUS_TOOL: &str = "catalogue.search";
const TOKEN_TOOL: &str = "inventory.check";
const OAUTH_TOOL: &str = "order.status";

/// The request body type the servers hand over.
pub type BenchBody = Full<Bytes>;

/// The inner service: answers `200` at once with an empty body, as the floor of any handler.
#[derive(Debug, Clone, Copy)]
pub struct Bare;

impl<B> Service<Request<B>> for Bare {
    type Response = Response<Empty<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Empty<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        ready(Ok(Response::new(Empty::new())))
    }
}

/// What the recording service saw of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// The principal in the extensions.
    pub principal: Option<Principal>,
    /// Whether `Authorization` reached the service.
    pub authorization: bool,
    /// The body bytes the layer handed on.
    pub body: Option<Bytes>,
}

/// An inner service that records what it received (for the checks, not timed).
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Seen>>);

impl Recorder {
    fn take(&self) -> Seen {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Service<Request<McpRequestBody<BenchBody>>> for Recorder {
    type Response = Response<Empty<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Empty<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<McpRequestBody<BenchBody>>) -> Self::Future {
        let seen = Seen {
            principal: req.extensions().get::<Principal>().cloned(),
            authorization: req.headers().contains_key(http::header::AUTHORIZATION),
            body: req.body().read_bytes().cloned(),
        };
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = seen;
        ready(Ok(Response::new(Empty::new())))
    }
}

/// Polls `future` once with a no-op waker: its output if it completed.
pub fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let future = pin!(future);
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// The claims a bare `jsonwebtoken::decode` reads.
#[derive(Debug, serde::Deserialize)]
pub struct BareClaims {
    /// The subject.
    pub sub: String,
    /// The space-separated scopes.
    pub scope: String,
    /// The expiry.
    pub exp: u64,
}

/// A `tools/call` request for `tool`, its arguments padded so that the body is
/// [`BODY_BYTES`] long.
pub fn tools_call_body(tool: &str) -> Result<String, String> {
    let head = format!(
        r#"{{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{{"name":"{tool}","arguments":{{"query":"waterproof hiking boots","filters":{{"size":"44","colour":["brown","black"],"max_price":{{"amount":"180.00","currency":"EUR"}},"in_stock":true}},"sort":"relevance","page":1,"page_size":20,"locale":"en-GB","notes":""#
    );
    let tail = r#""},"_meta":{"progressToken":"p-42"}}}"#;
    let fill = BODY_BYTES
        .checked_sub(head.len() + tail.len())
        .ok_or("the body head is longer than the target size")?;
    let notes: String = "Customer asks for boots suited to long wet walks; prefers leather. "
        .chars()
        .cycle()
        .take(fill)
        .collect();
    let body = format!("{head}{notes}{tail}");
    serde_json::from_str::<serde_json::Value>(&body).map_err(|e| e.to_string())?;
    Ok(body)
}

/// The request a Streamable HTTP client sends, with the peer address in its extensions as a
/// server puts it there.
fn request(tool: &str, bearer: Option<&str>) -> Result<Request<BenchBody>, String> {
    let body = tools_call_body(tool)?;
    let mut builder = Request::post("/mcp")
        .header(http::header::HOST, "shop.example")
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, text/event-stream")
        .header(http::header::CONTENT_LENGTH, body.len())
        .header(http::header::USER_AGENT, "example-mcp-client/1.4")
        .header("mcp-protocol-version", "2025-06-18")
        .header("mcp-session-id", "3f6c1d0e9b8a4f2c8d7e6a5b4c3d2e1f")
        .extension(CLIENT);
    if let Some(token) = bearer {
        builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())
}

fn unix_now() -> Result<u64, String> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|e| e.to_string())
}

/// The benchmarked quota: 1,000 requests per second, with a burst of 10^9 so that no iteration
/// is refused. A key stays tracked (its arrival time moves ahead of the clock), as a busy key is.
fn wide_quota() -> Result<Quota, String> {
    let per_second = NonZeroU32::new(1000).ok_or("zero")?;
    let burst = NonZeroU32::new(BURST).ok_or("zero")?;
    Quota::with_burst_of(per_second, Duration::from_secs(1), burst).map_err(|e| e.to_string())
}

/// The default table with the benchmarked (class, mode) pairs widened.
fn limits() -> Result<RateLimits, String> {
    let class = |name: &str| RateLimitClass::new(name).map_err(|e| e.to_string());
    Ok(RateLimits::default()
        .with(
            class(class_names::CATALOGUE_READ)?,
            AuthMode::Anonymous,
            wide_quota()?,
        )
        .with(
            class(class_names::INVENTORY_READ)?,
            AuthMode::ApiToken,
            wide_quota()?,
        )
        .with(
            class(class_names::ORDER_STATUS)?,
            AuthMode::OAuth,
            wide_quota()?,
        ))
}

fn tool_map() -> Result<ToolMap, String> {
    ToolMap::builder()
        .with_mcp_defaults()
        .tool(
            ANONYMOUS_TOOL,
            Require::anonymous().class(class_names::CATALOGUE_READ),
        )
        .tool(
            TOKEN_TOOL,
            Require::api_token(["inventory:read"]).class(class_names::INVENTORY_READ),
        )
        .tool(
            OAUTH_TOOL,
            Require::oauth(["orders:read"]).class(class_names::ORDER_STATUS),
        )
        .build()
        .map_err(|e| e.to_string())
}

fn verifier(cache: bool) -> Result<JwtVerifier, String> {
    let key = VerificationKey::from_pem(ED_PUB.as_bytes(), Algorithm::EdDSA)
        .map_err(|e| e.to_string())?
        .with_kid(KID);
    let mut builder = JwtVerifier::builder()
        .issuer(ISSUER)
        .audience(RESOURCE)
        .key(key);
    if cache {
        builder =
            builder.verified_token_cache(NonZeroUsize::new(1024).unwrap_or(NonZeroUsize::MIN));
    }
    builder.build().map_err(|e| e.to_string())
}

/// An EdDSA access token for [`USER`], valid for a day.
fn jwt(now: u64) -> Result<String, String> {
    let claims = serde_json::json!({
        "iss": ISSUER,
        "aud": RESOURCE,
        "sub": USER,
        "client_id": "example-mcp-client",
        "scope": "orders:read catalogue:read",
        "iat": now,
        "exp": now + 24 * 3600,
    });
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.to_owned());
    let key = EncodingKey::from_ed_pem(ED_KEY.as_bytes()).map_err(|e| e.to_string())?;
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| e.to_string())
}

/// A gate over `tokens`, `oauth` and its own in-memory limiter.
fn gate(tokens: &ApiTokens, oauth: JwtVerifier) -> Result<AuthGate, String> {
    Ok(AuthGate::builder(tool_map()?)
        .api_tokens(tokens.clone())
        .oauth(oauth)
        .rate_limiter(RateLimiter::in_memory(limits()?))
        .resource_metadata(METADATA)
        .build())
}

/// The services, requests, verifiers and limiters, built once.
pub struct Fixtures {
    layer_cached: McpAuthLayer,
    layer_uncached: McpAuthLayer,
    layered_cached: RefCell<McpAuthService<Bare>>,
    layered_uncached: RefCell<McpAuthService<Bare>>,
    anonymous: Request<BenchBody>,
    api_token: Request<BenchBody>,
    jwt: Request<BenchBody>,
    /// The API token's id (for the principal check).
    token_id: String,
    token: String,
    verifier: JwtVerifier,
    verifier_cached: JwtVerifier,
    decoding_key: DecodingKey,
    validation: Validation,
    limiter: RateLimiter,
    governor: DefaultKeyedRateLimiter<RateLimitKey>,
    keys: Vec<RateLimitKey>,
    next_key: std::cell::Cell<usize>,
}

impl std::fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtures").finish_non_exhaustive()
    }
}

impl Fixtures {
    /// Issues the API token, signs the JWT, builds the layers over [`Bare`] and the limiters.
    pub fn new() -> Result<Self, String> {
        let now = unix_now()?;
        let tokens = ApiTokens::new(Arc::new(MemoryTokenStore::new()));
        let scopes = Scopes::parse("inventory:read").map_err(|e| e.to_string())?;
        let (issued, _record) = poll_once(tokens.issue(PARTNER, scopes, TokenTtl::Default))
            .ok_or("the memory token store did not answer at once")?
            .map_err(|e| e.to_string())?;
        let token = jwt(now)?;
        let layer_cached = McpAuthLayer::new(gate(&tokens, verifier(true)?)?);
        let layer_uncached = McpAuthLayer::new(gate(&tokens, verifier(false)?)?);

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[RESOURCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;

        let class = RateLimitClass::new(class_names::CATALOGUE_READ).map_err(|e| e.to_string())?;
        let keys = (0..RATE_LIMIT_KEYS as u32)
            .map(|i| {
                let ip = IpAddr::V4(Ipv4Addr::from(0xc633_6400_u32 + i));
                RateLimitKey::from_parts(class.clone(), RateLimitSubject::ip(ip))
            })
            .collect();
        let governor_quota = governor::Quota::per_second(NonZeroU32::new(1000).ok_or("zero")?)
            .allow_burst(NonZeroU32::new(BURST).ok_or("zero")?);

        Ok(Fixtures {
            layered_cached: RefCell::new(layer_cached.layer(Bare)),
            layered_uncached: RefCell::new(layer_uncached.layer(Bare)),
            layer_cached,
            layer_uncached,
            anonymous: request(ANONYMOUS_TOOL, None)?,
            api_token: request(TOKEN_TOOL, Some(issued.expose_secret()))?,
            jwt: request(OAUTH_TOOL, Some(&token))?,
            token_id: issued.id().as_str().to_owned(),
            token,
            verifier: verifier(false)?,
            verifier_cached: verifier(true)?,
            decoding_key: DecodingKey::from_ed_pem(ED_PUB.as_bytes()).map_err(|e| e.to_string())?,
            validation,
            limiter: RateLimiter::in_memory(limits()?),
            governor: governor::RateLimiter::keyed(governor_quota),
            keys,
            next_key: std::cell::Cell::new(0),
        })
    }

    /// The bare service on a copy of `req`: its status.
    pub fn bare(&self, req: &Request<BenchBody>) -> u16 {
        let mut service = Bare;
        if !matches!(
            Service::<Request<BenchBody>>::poll_ready(
                &mut service,
                &mut Context::from_waker(Waker::noop())
            ),
            Poll::Ready(Ok(()))
        ) {
            return 0;
        }
        match poll_once(service.call(req.clone())) {
            Some(Ok(res)) => res.status().as_u16(),
            _ => 0,
        }
    }

    /// The layer (with or without the verified-token cache) over the bare service on a copy of
    /// `req`: the status, `0` when the layer answered itself or the future did not complete.
    pub fn layered(&self, req: &Request<BenchBody>, cached: bool) -> u16 {
        let cell = if cached {
            &self.layered_cached
        } else {
            &self.layered_uncached
        };
        let mut service = cell.borrow_mut();
        if !matches!(
            Service::<Request<BenchBody>>::poll_ready(
                &mut *service,
                &mut Context::from_waker(Waker::noop())
            ),
            Poll::Ready(Ok(()))
        ) {
            return 0;
        }
        match poll_once(service.call(req.clone())) {
            Some(Ok(res)) if !res.body().is_from_layer() => res.status().as_u16(),
            _ => 0,
        }
    }

    /// The verifier on the token: the subject, if verified.
    pub fn verify(&self, cached: bool) -> Option<Arc<str>> {
        let verifier = if cached {
            &self.verifier_cached
        } else {
            &self.verifier
        };
        match verifier.verify_with_current_keys(black_box(&self.token)) {
            SyncVerification::Verified(verified) => match verified.principal {
                Principal::OAuth { sub, .. } => Some(sub),
                _ => None,
            },
            _ => None,
        }
    }

    /// A bare `jsonwebtoken::decode` of the token: the subject, if valid.
    pub fn decode(&self) -> Option<String> {
        jsonwebtoken::decode::<BareClaims>(
            black_box(&self.token),
            &self.decoding_key,
            &self.validation,
        )
        .ok()
        .filter(|data| !data.claims.scope.is_empty() && data.claims.exp > 0)
        .map(|data| data.claims.sub)
    }

    fn next_key(&self) -> &RateLimitKey {
        let i = self.next_key.get() % RATE_LIMIT_KEYS;
        self.next_key.set(i + 1);
        &self.keys[i]
    }

    /// `MemoryRateLimiter::check` on the next key: whether it was allowed.
    pub fn rate_limit_ours(&self) -> bool {
        let key = black_box(self.next_key());
        self.memory().is_some_and(|m| m.check(key).is_allowed())
    }

    /// `RateLimiter::check_now` on the next key: whether it was allowed.
    pub fn rate_limit_ours_now(&self) -> bool {
        let key = black_box(self.next_key());
        self.limiter
            .check_now(key)
            .is_some_and(|decision| decision.is_allowed())
    }

    /// `governor`'s keyed limiter on the next key: whether it was allowed.
    pub fn rate_limit_governor(&self) -> bool {
        let key = black_box(self.next_key());
        self.governor.check_key(key).is_ok()
    }

    fn memory(&self) -> Option<&MemoryRateLimiter> {
        self.limiter.memory()
    }

    /// What the inner service receives through `layer` for `req`, and the status.
    fn through(layer: &McpAuthLayer, req: &Request<BenchBody>) -> (u16, Seen) {
        let recorder = Recorder::default();
        let mut service = layer.layer(recorder.clone());
        let status = match poll_once(service.call(req.clone())) {
            Some(Ok(res)) => res.status().as_u16(),
            _ => 0,
        };
        (status, recorder.take())
    }

    /// Checks the outcomes the cases expect (see the module documentation).
    pub fn check(&self) -> Result<(), String> {
        let body = |tool: &str| tools_call_body(tool).map(Bytes::from);
        if body(ANONYMOUS_TOOL)?.len() != BODY_BYTES {
            return Err(format!("the body is not {BODY_BYTES} bytes"));
        }
        let expected_anonymous = Principal::Anonymous {
            ip: Some(CLIENT.ip()),
        };
        for layer in [&self.layer_cached, &self.layer_uncached] {
            let (status, seen) = Self::through(layer, &self.anonymous);
            if status != 200 || seen.principal.as_ref() != Some(&expected_anonymous) {
                return Err(format!("anonymous: status {status}, {seen:?}"));
            }
            if seen.body != Some(body(ANONYMOUS_TOOL)?) {
                return Err("anonymous: the body changed on the way".to_owned());
            }

            let (status, seen) = Self::through(layer, &self.api_token);
            let token_ok = matches!(
                &seen.principal,
                Some(Principal::ApiToken { id, principal, scopes })
                    if **id == *self.token_id && &**principal == PARTNER
                        && scopes.contains("inventory:read")
            );
            if status != 200 || !token_ok || seen.authorization {
                return Err(format!("api token: status {status}, {seen:?}"));
            }
            if seen.body != Some(body(TOKEN_TOOL)?) {
                return Err("api token: the body changed on the way".to_owned());
            }

            let (status, seen) = Self::through(layer, &self.jwt);
            let jwt_ok = matches!(
                &seen.principal,
                Some(Principal::OAuth { sub, scopes, .. })
                    if &**sub == USER && scopes.contains("orders:read")
            );
            if status != 200 || !jwt_ok || seen.authorization {
                return Err(format!("jwt: status {status}, {seen:?}"));
            }

            // The layer refuses: an anonymous call to the API-token tool.
            let mut refused = request(TOKEN_TOOL, None)?;
            refused.extensions_mut().insert(CLIENT);
            let (status, seen) = Self::through(layer, &refused);
            if status != StatusCode::UNAUTHORIZED.as_u16() || seen.principal.is_some() {
                return Err(format!("anonymous call to {TOKEN_TOOL}: status {status}"));
            }
        }

        let statuses = [
            ("bare anonymous", self.bare(&self.anonymous)),
            ("bare api token", self.bare(&self.api_token)),
            ("bare jwt", self.bare(&self.jwt)),
            ("layer anonymous", self.layered(&self.anonymous, true)),
            ("layer api token", self.layered(&self.api_token, true)),
            ("layer jwt cached", self.layered(&self.jwt, true)),
            ("layer jwt uncached", self.layered(&self.jwt, false)),
        ];
        for (name, status) in statuses {
            if status != 200 {
                return Err(format!("{name}: status {status}, expected 200"));
            }
        }

        let ours = self.verify(false);
        let cached = self.verify(true);
        let bare = self.decode();
        if ours.as_deref() != Some(USER) || cached.as_deref() != Some(USER) {
            return Err(format!("verifier: {ours:?}, cached {cached:?}"));
        }
        if bare.as_deref() != Some(USER) {
            return Err(format!("bare decode: {bare:?}"));
        }
        // A token for another audience is refused by both.
        let mut other = self.validation.clone();
        other.set_audience(&["https://elsewhere.example/mcp"]);
        if jsonwebtoken::decode::<BareClaims>(&self.token, &self.decoding_key, &other).is_ok() {
            return Err("the bare decode accepts another audience".to_owned());
        }

        for _ in 0..RATE_LIMIT_KEYS {
            if !self.rate_limit_ours() || !self.rate_limit_ours_now() || !self.rate_limit_governor()
            {
                return Err("a rate-limit check refused a key under a wide quota".to_owned());
            }
        }
        // Keys idle for a moment may have been dropped as the table grew (by design); most are
        // tracked.
        let tracked = self.memory().map_or(0, MemoryRateLimiter::tracked_keys);
        if !(RATE_LIMIT_KEYS / 2..=RATE_LIMIT_KEYS).contains(&tracked) {
            return Err(format!(
                "the limiter tracks {tracked} keys, expected about {RATE_LIMIT_KEYS}"
            ));
        }
        if self.governor.len() != RATE_LIMIT_KEYS {
            return Err(format!(
                "governor tracks {} keys, expected {RATE_LIMIT_KEYS}",
                self.governor.len()
            ));
        }
        Ok(())
    }
}

/// The group's cases, in report order, after [`Fixtures::check`] passed.
pub fn cases() -> Result<Vec<Case>, String> {
    let fixtures = Rc::new(Fixtures::new()?);
    fixtures.check()?;
    let case = |name: &'static str, routine: fn(&Fixtures) -> bool| {
        let f = Rc::clone(&fixtures);
        Case::new(name, move || routine(black_box(&f)))
    };
    Ok(vec![
        case(names::BARE_ANONYMOUS, |f| f.bare(&f.anonymous) == 200),
        case(names::LAYER_ANONYMOUS, |f| {
            f.layered(&f.anonymous, true) == 200
        }),
        case(names::BARE_API_TOKEN, |f| f.bare(&f.api_token) == 200),
        case(names::LAYER_API_TOKEN, |f| {
            f.layered(&f.api_token, true) == 200
        }),
        case(names::BARE_JWT, |f| f.bare(&f.jwt) == 200),
        case(names::LAYER_JWT_CACHED, |f| f.layered(&f.jwt, true) == 200),
        case(names::LAYER_JWT_UNCACHED, |f| {
            f.layered(&f.jwt, false) == 200
        }),
        case(names::VERIFIER, |f| f.verify(false).is_some()),
        case(names::VERIFIER_CACHED, |f| f.verify(true).is_some()),
        case(names::FLOOR_DECODE, |f| f.decode().is_some()),
        case(names::RATE_LIMIT_OURS, Fixtures::rate_limit_ours),
        case(names::RATE_LIMIT_OURS_NOW, Fixtures::rate_limit_ours_now),
        case(names::RATE_LIMIT_GOVERNOR, Fixtures::rate_limit_governor),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_check_and_every_case_succeeds() {
        let cases = cases().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cases.len(), 13);
        for c in &cases {
            for _ in 0..3 {
                assert!(c.run(), "{}", c.name);
            }
        }
        let names: Vec<_> = cases.iter().map(|c| c.name).collect();
        for r in RATIOS {
            assert!(names.contains(&r.numerator), "{}", r.numerator);
            assert!(names.contains(&r.denominator), "{}", r.denominator);
        }
        for b in BUDGETS {
            assert!(names.contains(&b.case), "{}", b.case);
            assert!(b.baseline.is_none_or(|n| names.contains(&n)), "{}", b.label);
        }
    }

    #[test]
    fn the_body_is_a_1_kb_tools_call() {
        let body = tools_call_body(ANONYMOUS_TOOL).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body.len(), BODY_BYTES);
        let value: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value["method"], "tools/call");
        assert_eq!(value["params"]["name"], ANONYMOUS_TOOL);
    }
}
