//! JWKS fetching against a loopback server: first use, refresh on an unknown `kid` (rate
//! limited), rotation, stale-if-error, no stampede, size cap, no redirects, Cloudflare Access.
//! Time is a `ManualClock`; the server counts the fetches.
#![cfg(feature = "jwks")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{EncodingKey, Header};
use mcp_auth::Principal;
use mcp_auth::audit::FailureReason;
use mcp_auth::clock::ManualClock;
use mcp_auth::oauth::{
    Algorithm, CloudflareAccess, JwksConfig, JwtRefusal, JwtVerifier, SyncVerification,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const RSA_A: &str = include_str!("data/rsa-a.key.pem");
const RSA_B: &str = include_str!("data/rsa-b.key.pem");
const EC: &str = include_str!("data/ec-p256.key.pem");
const ED_A: &str = include_str!("data/ed25519-a.key.pem");

const ISS: &str = "https://issuer.example";
const AUD: &str = "https://mcp.example/mcp";
const T0: u64 = 1_750_000_000;

/// What the server answers, and what it saw.
#[derive(Default)]
struct Served {
    /// The JWKS body, or `None` for a 503.
    body: Mutex<Option<String>>,
    cache_control: Mutex<Option<&'static str>>,
    /// Delay before answering (to make concurrent requests overlap).
    delay: Mutex<Duration>,
    fetches: AtomicUsize,
    other_path_hits: AtomicUsize,
}

impl Served {
    fn set_keys(&self, keys: &[Value]) {
        *self.body.lock().unwrap() = Some(json!({ "keys": keys }).to_string());
    }
    fn set_body(&self, body: Option<String>) {
        *self.body.lock().unwrap() = body;
    }
    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn handle(
    served: Arc<Served>,
    path: &'static str,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/redirect" {
        served.fetches.fetch_add(1, Ordering::SeqCst);
        return Ok(Response::builder()
            .status(StatusCode::FOUND)
            .header("location", path)
            .body(Full::new(Bytes::new()))
            .unwrap());
    }
    if req.uri().path() != path {
        served.other_path_hits.fetch_add(1, Ordering::SeqCst);
    } else {
        served.fetches.fetch_add(1, Ordering::SeqCst);
    }
    let delay = *served.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let body = served.body.lock().unwrap().clone();
    let mut response = Response::builder().header("content-type", "application/json");
    if let Some(cc) = *served.cache_control.lock().unwrap() {
        response = response.header("cache-control", cc);
    }
    Ok(match body {
        Some(body) => response.body(Full::new(Bytes::from(body))).unwrap(),
        None => response
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .body(Full::new(Bytes::new()))
            .unwrap(),
    })
}

/// Serves `served` at `path` on a loopback port.
async fn serve(served: Arc<Served>, path: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let served = served.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(served.clone(), path, req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn encoding_key(pem: &str, alg: Algorithm) -> EncodingKey {
    match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
    }
}

fn jwk(pem: &str, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&encoding_key(pem, alg), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

fn claims(exp: u64) -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "alice", "exp": exp, "scope": "tools:call"})
}

fn sign(pem: &str, alg: Algorithm, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &encoding_key(pem, alg)).unwrap()
}

fn config(addr: SocketAddr) -> JwksConfig {
    JwksConfig::new(format!("http://{addr}/jwks")).allow_http_loopback(true)
}

fn verifier(config: JwksConfig, clock: &ManualClock) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks(config)
        .clock(clock.clone())
        .build()
        .unwrap()
}

async fn setup(keys: &[Value]) -> (Arc<Served>, SocketAddr, ManualClock) {
    let served = Arc::new(Served::default());
    served.set_keys(keys);
    let addr = serve(served.clone(), "/jwks").await;
    (served, addr, ManualClock::from_unix(T0))
}

fn reason(result: Result<mcp_auth::oauth::VerifiedToken, JwtRefusal>) -> FailureReason {
    match result {
        Ok(t) => panic!("accepted: {t:?}"),
        Err(e) => e.reason(),
    }
}

#[tokio::test]
async fn fetched_on_first_use_then_cached_with_sync_fast_path() {
    let (served, addr, clock) = setup(&[jwk(RSA_A, Algorithm::RS256, "a")]).await;
    let v = verifier(config(addr), &clock);
    let token = sign(RSA_A, Algorithm::RS256, "a", &claims(T0 + 3600));
    assert_eq!(served.fetches(), 0, "nothing fetched before first use");
    assert_eq!(
        v.verify_with_current_keys(&token),
        SyncVerification::NeedsKeyFetch
    );
    assert_eq!(
        v.verify(&token).await.unwrap().principal.label(),
        "user:alice"
    );
    assert_eq!(served.fetches(), 1);
    for _ in 0..5 {
        assert!(v.verify(&token).await.is_ok());
        assert!(matches!(
            v.verify_with_current_keys(&token),
            SyncVerification::Verified(_)
        ));
    }
    assert_eq!(served.fetches(), 1);
    // TTL (10 min by default) passed: one refetch.
    clock.advance(Duration::from_secs(601));
    assert_eq!(
        v.verify_with_current_keys(&token),
        SyncVerification::NeedsKeyFetch
    );
    assert!(v.verify(&token).await.is_ok());
    assert_eq!(served.fetches(), 2);
}

#[tokio::test]
async fn unknown_kid_triggers_one_rate_limited_refresh() {
    let (served, addr, clock) = setup(&[jwk(RSA_A, Algorithm::RS256, "a")]).await;
    let v = verifier(config(addr), &clock);
    let token_a = sign(RSA_A, Algorithm::RS256, "a", &claims(T0 + 3600));
    let token_b = sign(ED_A, Algorithm::EdDSA, "b", &claims(T0 + 3600));
    assert_eq!(prefetch(&v).await, 1);
    assert_eq!(served.fetches(), 1);

    // The issuer adds key b. Within 30 s of the last fetch: no refetch, refused.
    served.set_keys(&[
        jwk(RSA_A, Algorithm::RS256, "a"),
        jwk(ED_A, Algorithm::EdDSA, "b"),
    ]);
    clock.advance(Duration::from_secs(10));
    assert_eq!(reason(v.verify(&token_b).await), FailureReason::UnknownKey);
    assert!(matches!(
        v.verify_with_current_keys(&token_b),
        SyncVerification::Refused(JwtRefusal::UnknownKey { .. })
    ));
    assert_eq!(served.fetches(), 1);

    // After the interval, the unknown kid causes exactly one refetch, and b verifies.
    clock.advance(Duration::from_secs(21));
    assert_eq!(
        v.verify_with_current_keys(&token_b),
        SyncVerification::NeedsKeyFetch
    );
    assert!(v.verify(&token_b).await.is_ok());
    assert_eq!(served.fetches(), 2);
    assert!(v.verify(&token_a).await.is_ok());

    // A flood of unknown kids: no more fetches within the interval.
    for i in 0..50 {
        let t = sign(
            ED_A,
            Algorithm::EdDSA,
            &format!("flood-{i}"),
            &claims(T0 + 3600),
        );
        assert_eq!(reason(v.verify(&t).await), FailureReason::UnknownKey);
        clock.advance(Duration::from_millis(500));
    }
    assert_eq!(served.fetches(), 2);
    clock.advance(Duration::from_secs(10));
    let t = sign(ED_A, Algorithm::EdDSA, "flood-last", &claims(T0 + 3600));
    assert_eq!(reason(v.verify(&t).await), FailureReason::UnknownKey);
    assert_eq!(served.fetches(), 3, "one fetch per interval");
}

async fn prefetch(v: &JwtVerifier) -> usize {
    v.prefetch_keys().await.unwrap()
}

#[tokio::test]
async fn rotation() {
    let (served, addr, clock) = setup(&[jwk(RSA_A, Algorithm::RS256, "old")]).await;
    let v = verifier(config(addr), &clock);
    let old = sign(RSA_A, Algorithm::RS256, "old", &claims(T0 + 7200));
    let new = sign(RSA_B, Algorithm::RS256, "new", &claims(T0 + 7200));
    assert!(v.verify(&old).await.is_ok());

    // The issuer rotates: only the new key is published.
    served.set_keys(&[jwk(RSA_B, Algorithm::RS256, "new")]);
    // The cached set still holds the old key until its TTL.
    clock.advance(Duration::from_secs(100));
    assert!(v.verify(&old).await.is_ok());
    assert_eq!(served.fetches(), 1);
    // A token signed by the new key brings the new set in (unknown kid).
    assert!(v.verify(&new).await.is_ok());
    assert_eq!(served.fetches(), 2);
    // The old key is gone from the set now.
    assert_eq!(reason(v.verify(&old).await), FailureReason::UnknownKey);

    // Same rotation seen only through the TTL, with no new-key token to trigger it.
    let (served, addr, clock) = setup(&[jwk(RSA_A, Algorithm::RS256, "old")]).await;
    let v = verifier(config(addr), &clock);
    assert!(v.verify(&old).await.is_ok());
    served.set_keys(&[jwk(RSA_B, Algorithm::RS256, "new")]);
    clock.advance(Duration::from_secs(599));
    assert!(v.verify(&old).await.is_ok());
    clock.advance(Duration::from_secs(2));
    assert_eq!(reason(v.verify(&old).await), FailureReason::UnknownKey);
    assert_eq!(served.fetches(), 2);
    assert!(v.verify(&new).await.is_ok());
}

#[tokio::test]
async fn server_down_keeps_the_stale_set_for_a_bounded_time() {
    let (served, addr, clock) = setup(&[jwk(EC, Algorithm::ES256, "ec")]).await;
    let v = verifier(config(addr), &clock);
    let token = sign(EC, Algorithm::ES256, "ec", &claims(T0 + 10 * 24 * 3600));
    assert!(v.verify(&token).await.is_ok());

    served.set_body(None); // 503 from now on
    clock.advance(Duration::from_secs(601)); // the set is stale
    assert!(v.verify(&token).await.is_ok(), "stale set keeps working");
    assert_eq!(served.fetches(), 2, "one refetch was tried");
    // Retries are rate limited: many requests, one more attempt per 30 s.
    for _ in 0..20 {
        assert!(v.verify(&token).await.is_ok());
        assert!(matches!(
            v.verify_with_current_keys(&token),
            SyncVerification::Verified(_)
        ));
    }
    assert_eq!(served.fetches(), 2);
    clock.advance(Duration::from_secs(30));
    assert!(v.verify(&token).await.is_ok());
    assert_eq!(served.fetches(), 3);

    // Past TTL + 24 h: nothing usable, fail closed.
    clock.set(Duration::from_secs(T0 + 601 + 24 * 3600));
    assert_eq!(
        reason(v.verify(&token).await),
        FailureReason::StoreUnavailable
    );

    // The server comes back: the next allowed fetch restores service.
    served.set_keys(&[jwk(EC, Algorithm::ES256, "ec")]);
    clock.advance(Duration::from_secs(30));
    assert!(v.verify(&token).await.is_ok());
}

#[tokio::test]
async fn nothing_cached_and_unreachable_is_store_unavailable() {
    // A port with nothing listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let clock = ManualClock::from_unix(T0);
    let v = verifier(config(addr).timeout(Duration::from_secs(5)), &clock);
    let token = sign(ED_A, Algorithm::EdDSA, "x", &claims(T0 + 60));
    assert_eq!(
        reason(v.verify(&token).await),
        FailureReason::StoreUnavailable
    );
    // Within the interval, no new attempt: refused at once, also on the sync path.
    assert!(matches!(
        v.verify_with_current_keys(&token),
        SyncVerification::Refused(JwtRefusal::KeysUnavailable { .. })
    ));

    // A server answering 503 likewise.
    let (served, addr, clock) = setup(&[]).await;
    served.set_body(None);
    let v = verifier(config(addr), &clock);
    assert_eq!(
        reason(v.verify(&token).await),
        FailureReason::StoreUnavailable
    );
    assert_eq!(served.fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_use_fetches_once() {
    let (served, addr, clock) = setup(&[jwk(ED_A, Algorithm::EdDSA, "ed")]).await;
    *served.delay.lock().unwrap() = Duration::from_millis(100);
    let v = verifier(config(addr), &clock);
    let token = sign(ED_A, Algorithm::EdDSA, "ed", &claims(T0 + 600));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let v = v.clone();
            let token = token.clone();
            tokio::spawn(async move { v.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(served.fetches(), 1);

    // Concurrent unknown kids after the interval: one refetch.
    clock.advance(Duration::from_secs(31));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let v = v.clone();
            let token = sign(
                ED_A,
                Algorithm::EdDSA,
                &format!("new-{i}"),
                &claims(T0 + 600),
            );
            tokio::spawn(async move { v.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(
            task.await.unwrap().unwrap_err().reason(),
            FailureReason::UnknownKey
        );
    }
    assert_eq!(served.fetches(), 2);
}

#[tokio::test]
async fn max_age_is_honoured() {
    let (served, addr, clock) = setup(&[jwk(ED_A, Algorithm::EdDSA, "ed")]).await;
    *served.cache_control.lock().unwrap() = Some("public, max-age=3600");
    let v = verifier(config(addr), &clock);
    let token = sign(ED_A, Algorithm::EdDSA, "ed", &claims(T0 + 7200));
    assert!(v.verify(&token).await.is_ok());
    clock.advance(Duration::from_secs(3599));
    assert!(v.verify(&token).await.is_ok());
    assert_eq!(served.fetches(), 1);
    clock.advance(Duration::from_secs(2));
    assert!(v.verify(&token).await.is_ok());
    assert_eq!(served.fetches(), 2);
}

#[tokio::test]
async fn oversized_bodies_and_redirects_are_refused() {
    let (served, addr, clock) = setup(&[jwk(ED_A, Algorithm::EdDSA, "ed")]).await;
    let token = sign(ED_A, Algorithm::EdDSA, "ed", &claims(T0 + 600));
    let small = verifier(config(addr).max_body(64), &clock);
    assert_eq!(
        reason(small.verify(&token).await),
        FailureReason::StoreUnavailable
    );

    let redirected = verifier(
        JwksConfig::new(format!("http://{addr}/redirect")).allow_http_loopback(true),
        &clock,
    );
    assert_eq!(
        reason(redirected.verify(&token).await),
        FailureReason::StoreUnavailable
    );
    assert_eq!(served.fetches(), 2, "the redirect was not followed");

    // A body that is not a JWKS, or a JWKS with nothing usable.
    served.set_body(Some("<html>".into()));
    let v = verifier(config(addr), &clock);
    assert_eq!(
        reason(v.verify(&token).await),
        FailureReason::StoreUnavailable
    );
    served.set_keys(&[json!({"kty": "oct", "k": "c2VjcmV0", "kid": "ed"})]);
    let v = verifier(config(addr), &clock);
    assert_eq!(
        reason(v.verify(&token).await),
        FailureReason::StoreUnavailable
    );
    assert_eq!(served.other_path_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn cloudflare_access() {
    const TEAM: &str = "acme";
    const AUD_TAG: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
    let served = Arc::new(Served::default());
    // Cloudflare's certs document: RS256 keys plus PEM certificates; an ES256 key is ignored
    // (Access signs with RS256 only).
    *served.body.lock().unwrap() = Some(
        json!({
            "keys": [jwk(RSA_A, Algorithm::RS256, "cf-1"), jwk(EC, Algorithm::ES256, "cf-ec")],
            "public_cert": {"kid": "cf-1", "cert": "-----BEGIN CERTIFICATE-----..."},
            "public_certs": [{"kid": "cf-1", "cert": "-----BEGIN CERTIFICATE-----..."}],
        })
        .to_string(),
    );
    let addr = serve(served.clone(), "/cdn-cgi/access/certs").await;
    let clock = ManualClock::from_unix(T0);
    let access = CloudflareAccess::new(TEAM, AUD_TAG).unwrap().with_jwks(
        JwksConfig::new(format!("http://{addr}/cdn-cgi/access/certs")).allow_http_loopback(true),
    );
    let v = access.builder().clock(clock.clone()).build().unwrap();

    let user = json!({
        "aud": [AUD_TAG], "email": "alice@example.com", "exp": T0 + 86_400, "iat": T0,
        "nbf": T0, "iss": "https://acme.cloudflareaccess.com", "type": "app",
        "identity_nonce": "6ei69kawdKzMIAPF", "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
        "country": "US",
    });
    let token = sign(RSA_A, Algorithm::RS256, "cf-1", &user);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        mcp_auth::bearer::CF_ACCESS_JWT_ASSERTION,
        http::HeaderValue::from_str(&token).unwrap(),
    );
    let from_header = mcp_auth::bearer::cf_access_jwt(&headers).unwrap().unwrap();
    let verified = v.verify(from_header.as_str()).await.unwrap();
    match &verified.principal {
        Principal::OAuth {
            sub,
            scopes,
            client_id,
            claims,
        } => {
            assert_eq!(&**sub, "7335d417-61da-459d-899c-0a01c76a2f94");
            assert!(scopes.is_empty(), "Access tokens carry no scopes");
            assert_eq!(*client_id, None);
            assert_eq!(claims["email"], "alice@example.com");
        }
        other => panic!("{other:?}"),
    }

    // A service token: empty sub, common_name.
    let mut service = user.clone();
    service["sub"] = json!("");
    service["common_name"] = json!("abc123.access");
    service.as_object_mut().unwrap().remove("email");
    let verified = v
        .verify(&sign(RSA_A, Algorithm::RS256, "cf-1", &service))
        .await
        .unwrap();
    assert_eq!(verified.principal.label(), "user:abc123.access");

    // Another application's AUD, another team, an ES256 token: refused.
    let mut other_app = user.clone();
    other_app["aud"] = json!(["0000"]);
    assert_eq!(
        reason(
            v.verify(&sign(RSA_A, Algorithm::RS256, "cf-1", &other_app))
                .await
        ),
        FailureReason::InvalidClaims
    );
    let mut other_team = user.clone();
    other_team["iss"] = json!("https://evil.cloudflareaccess.com");
    assert_eq!(
        reason(
            v.verify(&sign(RSA_A, Algorithm::RS256, "cf-1", &other_team))
                .await
        ),
        FailureReason::InvalidClaims
    );
    assert_eq!(
        reason(v.verify(&sign(EC, Algorithm::ES256, "cf-ec", &user)).await),
        FailureReason::UnknownKey
    );
    assert_eq!(served.fetches(), 1);
}
