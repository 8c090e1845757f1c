//! The directory cache against real HTTP/1.1 servers on loopback (one per scenario) and, for
//! floods, a stub client.
#![cfg(feature = "fetch")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use web_bot_auth::clock::{Clock, ManualClock, SystemClock};
use web_bot_auth::directory::{DIRECTORY_MEDIA_TYPE, DIRECTORY_PATH, KeyDirectory, sign_directory};
use web_bot_auth::directory_cache::{
    DirectoryCache, DirectoryCacheConfig, DirectoryClient, DirectoryFuture, DirectoryResponse,
    FetchLimits,
};
use web_bot_auth::fetch::{FetchError, KeyFetcher};
use web_bot_auth::keys::{SigningKey, VerifyingKey};
use web_bot_auth::message::{MessageView, RequestView};
use web_bot_auth::profile::{Outcome, ProfileConfig, UnverifiedReason, WebBotAuthVerifier};
use web_bot_auth::profile_signer::WebBotAuthSigner;
use web_bot_auth::verify::{KeyQuery, KeyResolver};

// ---------------------------------------------------------------------------------------------
// Test servers

type Body = BoxBody<Bytes, Infallible>;

/// A loopback HTTP/1.1 server; `hits` counts requests.
struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Server {
    fn agent(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn authority(&self) -> String {
        self.addr.to_string()
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Serves `make(addr)(request)` for every request.
async fn serve<H, Fut>(make: impl FnOnce(SocketAddr) -> H) -> Server
where
    H: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(make(addr));
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = Arc::clone(&handler);
            let hits = Arc::clone(&counted);
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let response = handler(req);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server { addr, hits }
}

fn full(body: impl Into<Bytes>) -> Body {
    http_body_util::Full::new(body.into()).boxed()
}

fn respond(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Body> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(full(body)).unwrap()
}

fn directory_body(keys: &[&VerifyingKey]) -> String {
    KeyDirectory::from_keys(keys.iter().copied()).to_json()
}

fn good_response(body: &str) -> Response<Body> {
    respond(
        200,
        &[
            ("content-type", DIRECTORY_MEDIA_TYPE),
            ("cache-control", "max-age=600"),
        ],
        body.to_owned(),
    )
}

/// A server publishing `keys` properly, at the well-known path only.
async fn good_server(keys: &[&VerifyingKey]) -> Server {
    let body = directory_body(keys);
    serve(move |_| {
        move |req: Request<Incoming>| {
            let response = if req.uri().path() == DIRECTORY_PATH {
                good_response(&body)
            } else {
                respond(404, &[], "")
            };
            async move { response }
        }
    })
    .await
}

/// A server answering a signed directory response, the signature made by `signer` over
/// `signed_body` with validity `created..expires`, and sending `served_body`.
async fn signed_server(
    keys: Vec<VerifyingKey>,
    signer: SigningKey,
    created: u64,
    expires: u64,
    tamper: bool,
) -> Server {
    serve(move |addr| {
        let body = directory_body(&keys.iter().collect::<Vec<_>>());
        let signed =
            sign_directory(&body, &signer, &addr.to_string(), created, expires, "sig1").unwrap();
        let served = if tamper {
            body.replace("\"sig\"", "\"sig\" ")
        } else {
            body
        };
        move |_| {
            let response = respond(
                200,
                &[
                    ("content-type", DIRECTORY_MEDIA_TYPE),
                    ("cache-control", "max-age=600"),
                    ("content-digest", &signed.content_digest),
                    ("signature-input", &signed.signature_input),
                    ("signature", &signed.signature),
                ],
                served.clone(),
            );
            async move { response }
        }
    })
    .await
}

/// A body of `total` bytes of JSON-ish whitespace, produced lazily; `sent` counts what was
/// handed to the connection.
struct Endless {
    remaining: usize,
    sent: Arc<AtomicUsize>,
    declare_length: bool,
    chunk: Bytes,
}

impl hyper::body::Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.chunk.len().min(self.remaining);
        self.remaining -= n;
        self.sent.fetch_add(n, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..n)))))
    }

    fn size_hint(&self) -> SizeHint {
        if self.declare_length {
            SizeHint::with_exact(self.remaining as u64)
        } else {
            SizeHint::default()
        }
    }
}

const HUGE: usize = 100 * 1024 * 1024;

async fn huge_server(declare_length: bool, sent: Arc<AtomicUsize>) -> Server {
    serve(move |_| {
        move |_| {
            let body = Endless {
                remaining: HUGE,
                sent: Arc::clone(&sent),
                declare_length,
                chunk: Bytes::from(vec![b' '; 16 * 1024]),
            };
            let response = Response::builder()
                .header("content-type", DIRECTORY_MEDIA_TYPE)
                .body(BoxBody::new(body))
                .unwrap();
            async move { response }
        }
    })
    .await
}

/// A body that sends one byte, then nothing for a long time.
struct Trickle {
    sleep: Pin<Box<tokio::time::Sleep>>,
    first: bool,
}

impl hyper::body::Body for Trickle {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.first {
            self.first = false;
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{")))));
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn now() -> u64 {
    SystemClock.now_unix()
}

fn loopback_config() -> DirectoryCacheConfig {
    DirectoryCacheConfig {
        allow_http_loopback: true,
        fetch_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

fn cache_with(config: DirectoryCacheConfig, clock: &Arc<ManualClock>) -> DirectoryCache {
    DirectoryCache::builder(config)
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(now()))
}

fn resolve(cache: &DirectoryCache, agent: &str, key: &VerifyingKey) -> Option<VerifyingKey> {
    cache.resolve(&KeyQuery {
        agent: Some(agent),
        keyid: key.thumbprint(),
        alg: None,
    })
}

fn new_key() -> (SigningKey, VerifyingKey) {
    let key = SigningKey::generate_ed25519();
    let public = key.verifying_key().clone();
    (key, public)
}

fn assert_invalid(result: Result<(), FetchError>, contains: &str) {
    match result {
        Err(FetchError::InvalidDirectory(why)) => {
            assert!(
                why.contains(contains),
                "{why:?} should mention {contains:?}"
            )
        }
        other => panic!("expected InvalidDirectory({contains}), got {other:?}"),
    }
}

/// How a [`StubClient`] answers a URL.
type Answer = dyn Fn(&str) -> Result<DirectoryResponse, FetchError> + Send + Sync;

/// A client that never touches the network: counts calls and in-flight calls, waits `delay`,
/// and answers with `answer(url)`.
struct StubClient {
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    delay: Duration,
    answer: Box<Answer>,
}

impl StubClient {
    fn new(
        delay: Duration,
        answer: impl Fn(&str) -> Result<DirectoryResponse, FetchError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(StubClient {
            calls: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            delay,
            answer: Box::new(answer),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl DirectoryClient for StubClient {
    fn get<'a>(&'a self, url: &'a str, _limits: &'a FetchLimits) -> DirectoryFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            (self.answer)(url)
        })
    }
}

fn stub_directory(body: &str) -> DirectoryResponse {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(DIRECTORY_MEDIA_TYPE),
    );
    DirectoryResponse {
        status: 200,
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn stub_cache(config: DirectoryCacheConfig, client: &Arc<StubClient>) -> DirectoryCache {
    DirectoryCache::builder(config)
        .client(client.clone())
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Directories good and bad

#[tokio::test]
async fn good_directory_is_fetched_then_resolved() {
    let (_, public) = new_key();
    let server = good_server(&[&public]).await;
    let clock = manual_clock();
    let cache = cache_with(loopback_config(), &clock);
    let agent = server.agent();

    assert_eq!(resolve(&cache, &agent, &public), None);
    cache.fetch(&agent).await.unwrap();
    assert_eq!(resolve(&cache, &agent, &public), Some(public.clone()));
    // Same origin, written differently, with a path.
    let other_form = format!("HTTP://{}/some/path", server.authority());
    assert_eq!(resolve(&cache, &other_form, &public), Some(public.clone()));
    // Unknown keyid, or another agent: a miss.
    let (_, stranger) = new_key();
    assert_eq!(resolve(&cache, &agent, &stranger), None);
    assert_eq!(resolve(&cache, "https://bot.example", &public), None);
    let no_agent = KeyQuery {
        agent: None,
        keyid: public.thumbprint(),
        alg: None,
    };
    assert_eq!(cache.resolve(&no_agent), None);

    let stats = cache.stats();
    assert_eq!(server.hits(), 1);
    assert_eq!(stats.fetches_started, 1);
    assert_eq!(stats.fetch_failures, 0);
    assert_eq!(stats.entries, 1);
    assert_eq!(stats.hits, 2);
    assert_eq!(stats.misses, 4);
}

#[tokio::test]
async fn signed_directory_is_verified() {
    let (key, public) = new_key();
    let t = now();
    let server = signed_server(vec![public.clone()], key, t - 10, t + 3600, false).await;
    let clock = manual_clock();
    let config = DirectoryCacheConfig {
        require_signed_directory: true,
        ..loopback_config()
    };
    let cache = cache_with(config, &clock);
    cache.fetch(&server.agent()).await.unwrap();
    assert_eq!(resolve(&cache, &server.agent(), &public), Some(public));
}

#[tokio::test]
async fn bad_directory_signatures_are_refused() {
    let clock = manual_clock();
    let t = now();
    // The body was changed after signing: the digest no longer matches.
    let (key, public) = new_key();
    let tampered = signed_server(vec![public.clone()], key, t - 10, t + 3600, true).await;
    // Signed by a key the directory does not publish (even though signing is not required).
    let (_, published) = new_key();
    let (outsider, _) = new_key();
    let foreign = signed_server(vec![published.clone()], outsider, t - 10, t + 3600, false).await;
    // The signature expired (the directory server's clock disagrees with ours).
    let (key, public2) = new_key();
    let expired = signed_server(vec![public2.clone()], key, t - 7200, t - 3600, false).await;
    // Created an hour from now.
    let (key, public3) = new_key();
    let future = signed_server(vec![public3.clone()], key, t + 3600, t + 7200, false).await;

    let cache = cache_with(loopback_config(), &clock);
    for (server, key) in [
        (&tampered, &public),
        (&foreign, &published),
        (&expired, &public2),
        (&future, &public3),
    ] {
        assert_invalid(cache.fetch(&server.agent()).await, "directory signature");
        assert_eq!(resolve(&cache, &server.agent(), key), None);
    }
}

#[tokio::test]
async fn unsigned_directory_refused_when_signatures_are_required() {
    let (_, public) = new_key();
    let server = good_server(&[&public]).await;
    let config = DirectoryCacheConfig {
        require_signed_directory: true,
        ..loopback_config()
    };
    let cache = cache_with(config, &manual_clock());
    assert_invalid(cache.fetch(&server.agent()).await, "not signed");
}

#[tokio::test]
async fn wrong_kid_is_refused() {
    let (_, public) = new_key();
    let (_, other) = new_key();
    let mut directory = KeyDirectory::from_keys([&public]);
    directory.keys[0].kid = Some(other.thumbprint().to_owned());
    let body = directory.to_json();
    let server = serve(move |_| move |_| std::future::ready(good_response(&body))).await;
    let cache = cache_with(loopback_config(), &manual_clock());
    assert_invalid(cache.fetch(&server.agent()).await, "thumbprint");
    assert_eq!(resolve(&cache, &server.agent(), &public), None);
    assert_eq!(resolve(&cache, &server.agent(), &other), None);
}

#[tokio::test]
async fn expired_keys_are_not_served() {
    let (_, public) = new_key();
    let t = now();
    // One key already expired: refused.
    let mut directory = KeyDirectory::from_keys([&public]);
    directory.keys[0]
        .other
        .insert("exp".into(), serde_json::json!(t - 1));
    let body = directory.to_json();
    let expired = serve(move |_| move |_| std::future::ready(good_response(&body))).await;
    let clock = manual_clock();
    let cache = cache_with(loopback_config(), &clock);
    assert_invalid(cache.fetch(&expired.agent()).await, "expired");

    // A key that expires before the directory does stops being served at its `exp`.
    let (_, short) = new_key();
    let mut directory = KeyDirectory::from_keys([&short]);
    directory.keys[0]
        .other
        .insert("exp".into(), serde_json::json!(t + 100));
    let body = directory.to_json();
    let server = serve(move |_| move |_| std::future::ready(good_response(&body))).await;
    cache.fetch(&server.agent()).await.unwrap();
    assert_eq!(
        resolve(&cache, &server.agent(), &short),
        Some(short.clone())
    );
    clock.advance(100);
    assert_eq!(resolve(&cache, &server.agent(), &short), None);
}

#[tokio::test]
async fn wrong_media_types_are_refused() {
    let (_, public) = new_key();
    let body = directory_body(&[&public]);
    for media_type in [
        "application/json",
        "application/jwk-set+json",
        "text/html",
        "",
    ] {
        let body = body.clone();
        let server = serve(move |_| {
            move |_| {
                let headers: &[(&str, &str)] = if media_type.is_empty() {
                    &[]
                } else {
                    &[("content-type", media_type)]
                };
                std::future::ready(respond(200, headers, body.clone()))
            }
        })
        .await;
        let cache = cache_with(loopback_config(), &manual_clock());
        assert_invalid(cache.fetch(&server.agent()).await, "Content-Type");
    }
}

#[tokio::test]
async fn media_type_parameters_are_accepted() {
    let (_, public) = new_key();
    let body = directory_body(&[&public]);
    let server = serve(move |_| {
        move |_| {
            std::future::ready(respond(
                200,
                &[(
                    "content-type",
                    "Application/HTTP-Message-Signatures-Directory+JSON; charset=utf-8",
                )],
                body.clone(),
            ))
        }
    })
    .await;
    let cache = cache_with(loopback_config(), &manual_clock());
    cache.fetch(&server.agent()).await.unwrap();
    assert!(cache.is_cached(&server.agent()));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (_, public) = new_key();
    let target = good_server(&[&public]).await;
    let location = format!("{}{}", target.agent(), DIRECTORY_PATH);
    let server = serve(move |_| {
        move |_| std::future::ready(respond(302, &[("location", location.as_str())], ""))
    })
    .await;
    let cache = cache_with(loopback_config(), &manual_clock());
    assert_eq!(
        cache.fetch(&server.agent()).await,
        Err(FetchError::Status(302))
    );
    assert_eq!(server.hits(), 1);
    assert_eq!(target.hits(), 0);
    assert_eq!(resolve(&cache, &server.agent(), &public), None);
}

#[tokio::test]
async fn slow_servers_time_out_within_the_fetch_timeout() {
    let timeout = Duration::from_millis(300);
    let config = DirectoryCacheConfig {
        fetch_timeout: timeout,
        ..loopback_config()
    };
    // No headers for ten seconds.
    let slow_headers = serve(|_| {
        |_| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            respond(200, &[("content-type", DIRECTORY_MEDIA_TYPE)], "{}")
        }
    })
    .await;
    // Headers at once, then one byte and a ten-second stall.
    let slow_body = serve(|_| {
        |_| {
            let body = Trickle {
                sleep: Box::pin(tokio::time::sleep(Duration::from_secs(10))),
                first: true,
            };
            let response = Response::builder()
                .header("content-type", DIRECTORY_MEDIA_TYPE)
                .body(BoxBody::new(body))
                .unwrap();
            std::future::ready(response)
        }
    })
    .await;
    let cache = cache_with(config, &manual_clock());
    for server in [&slow_headers, &slow_body] {
        let started = Instant::now();
        assert_eq!(cache.fetch(&server.agent()).await, Err(FetchError::Timeout));
        let took = started.elapsed();
        assert!(took >= timeout - Duration::from_millis(50), "{took:?}");
        assert!(took < timeout + Duration::from_millis(700), "{took:?}");
    }
    // The failure is remembered: no second request.
    assert!(matches!(
        cache.fetch(&slow_headers.agent()).await,
        Err(FetchError::NegativelyCached(_))
    ));
    assert_eq!(slow_headers.hits(), 1);
}

#[tokio::test]
async fn huge_bodies_are_cut_off_early() {
    for declare_length in [false, true] {
        let sent = Arc::new(AtomicUsize::new(0));
        let server = huge_server(declare_length, Arc::clone(&sent)).await;
        let cache = cache_with(loopback_config(), &manual_clock());
        let started = Instant::now();
        assert_invalid(
            cache.fetch(&server.agent()).await,
            "larger than 65536 bytes",
        );
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{took:?}");
        // Give the server a moment to notice the closed connection.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let produced = sent.load(Ordering::SeqCst);
        assert!(
            produced < HUGE / 4,
            "the server produced {produced} bytes (length declared: {declare_length})"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Cache behaviour

#[tokio::test]
async fn ttl_expiry_refetches() {
    let (_, public) = new_key();
    let server = good_server(&[&public]).await;
    let clock = manual_clock();
    let cache = cache_with(loopback_config(), &clock);
    let agent = server.agent();
    cache.fetch(&agent).await.unwrap();
    clock.advance(599);
    assert_eq!(resolve(&cache, &agent, &public), Some(public.clone()));
    clock.advance(1);
    // Expired: resolve stops answering (so that the caller fetches), and never fetches itself.
    assert_eq!(resolve(&cache, &agent, &public), None);
    assert_eq!(server.hits(), 1);
    cache.fetch(&agent).await.unwrap();
    assert_eq!(server.hits(), 2);
    assert_eq!(resolve(&cache, &agent, &public), Some(public));
}

#[tokio::test]
async fn fresh_agents_are_rate_limited() {
    let (_, public) = new_key();
    let server = good_server(&[&public]).await;
    let clock = manual_clock();
    let cache = cache_with(loopback_config(), &clock);
    let agent = server.agent();
    cache.fetch(&agent).await.unwrap();
    // A signature naming a keyid the directory lacks cannot make us fetch again at once.
    for _ in 0..100 {
        assert_eq!(cache.fetch(&agent).await, Err(FetchError::RateLimited));
    }
    clock.advance(9);
    assert_eq!(cache.fetch(&agent).await, Err(FetchError::RateLimited));
    clock.advance(1);
    cache.fetch(&agent).await.unwrap();
    assert_eq!(server.hits(), 2);
    assert_eq!(cache.stats().rate_limited, 101);
}

#[tokio::test]
async fn failures_are_negatively_cached() {
    let server = serve(|_| |_| std::future::ready(respond(404, &[], "not here"))).await;
    let clock = manual_clock();
    let cache = cache_with(loopback_config(), &clock);
    let agent = server.agent();
    assert_eq!(cache.fetch(&agent).await, Err(FetchError::Status(404)));
    for _ in 0..10 {
        match cache.fetch(&agent).await {
            Err(FetchError::NegativelyCached(why)) => assert!(why.contains("404"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
    clock.advance(59);
    assert!(matches!(
        cache.fetch(&agent).await,
        Err(FetchError::NegativelyCached(_))
    ));
    assert_eq!(server.hits(), 1);
    clock.advance(1);
    assert_eq!(cache.fetch(&agent).await, Err(FetchError::Status(404)));
    assert_eq!(server.hits(), 2);
    let stats = cache.stats();
    assert_eq!(stats.negative_hits, 11);
    assert_eq!(stats.fetch_failures, 2);
}

#[tokio::test]
async fn negative_ttl_is_at_most_five_minutes() {
    let server = serve(|_| |_| std::future::ready(respond(500, &[], ""))).await;
    let clock = manual_clock();
    let config = DirectoryCacheConfig {
        negative_ttl: Duration::from_secs(86_400),
        ..loopback_config()
    };
    let cache = cache_with(config, &clock);
    assert_eq!(cache.config().negative_ttl, Duration::from_secs(300));
    assert_eq!(
        cache.fetch(&server.agent()).await,
        Err(FetchError::Status(500))
    );
    clock.advance(300);
    assert_eq!(
        cache.fetch(&server.agent()).await,
        Err(FetchError::Status(500))
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn stale_keys_survive_a_failed_refresh() {
    let (_, public) = new_key();
    let body = directory_body(&[&public]);
    // Good the first time, 500 ever after.
    let count = Arc::new(AtomicUsize::new(0));
    let server = serve(move |_| {
        move |_| {
            let response = if count.fetch_add(1, Ordering::SeqCst) == 0 {
                good_response(&body)
            } else {
                respond(500, &[], "")
            };
            std::future::ready(response)
        }
    })
    .await;
    let clock = manual_clock();
    let cache = cache_with(loopback_config(), &clock);
    let agent = server.agent();
    cache.fetch(&agent).await.unwrap();
    clock.advance(600);
    assert_eq!(resolve(&cache, &agent, &public), None, "expired");
    assert_eq!(cache.fetch(&agent).await, Err(FetchError::Status(500)));
    // The refresh failed: the old keys are served again.
    assert_eq!(resolve(&cache, &agent, &public), Some(public.clone()));
    assert!(matches!(
        cache.fetch(&agent).await,
        Err(FetchError::NegativelyCached(_))
    ));
    assert_eq!(server.hits(), 2);
    // Once the failure is forgotten, resolve asks for a refresh again; it fails again and the
    // keys stay.
    clock.advance(60);
    assert_eq!(resolve(&cache, &agent, &public), None);
    assert_eq!(cache.fetch(&agent).await, Err(FetchError::Status(500)));
    assert_eq!(resolve(&cache, &agent, &public), Some(public.clone()));
    assert_eq!(server.hits(), 3);
    assert_eq!(cache.stats().entries, 1);
    // Past max_stale (24 h after expiry) the keys are dropped.
    clock.advance(86_400);
    assert_eq!(cache.fetch(&agent).await, Err(FetchError::Status(500)));
    assert_eq!(resolve(&cache, &agent, &public), None);
}

#[tokio::test]
async fn a_thousand_concurrent_fetches_send_one_request() {
    let (_, public) = new_key();
    let body = directory_body(&[&public]);
    let server = serve(move |_| {
        move |_| {
            let body = body.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                good_response(&body)
            }
        }
    })
    .await;
    let cache = cache_with(loopback_config(), &manual_clock());
    let agent = server.agent();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            let agent = agent.clone();
            tokio::spawn(async move { cache.fetch(&agent).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Ok(()));
    }
    assert_eq!(server.hits(), 1);
    assert_eq!(cache.stats().fetches_started, 1);
    assert_eq!(resolve(&cache, &agent, &public), Some(public));
}

#[tokio::test]
async fn a_cancelled_fetch_leaves_nothing_stuck() {
    let slow = serve(|_| {
        |_| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            respond(500, &[], "")
        }
    })
    .await;
    let config = DirectoryCacheConfig {
        fetch_timeout: Duration::from_millis(400),
        ..loopback_config()
    };
    let cache = cache_with(config, &manual_clock());
    // The caller gives up first (its request was cancelled).
    let gave_up = tokio::time::timeout(Duration::from_millis(50), cache.fetch(&slow.agent())).await;
    assert!(gave_up.is_err());
    // The next caller fetches on its own, bounded by the fetch timeout.
    let started = Instant::now();
    assert_eq!(cache.fetch(&slow.agent()).await, Err(FetchError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_flood_of_agents_stays_bounded() {
    let (_, public) = new_key();
    let body = directory_body(&[&public]);
    // Even-numbered agents publish a directory, odd ones fail.
    let client = StubClient::new(Duration::ZERO, move |url| {
        let n: usize = url
            .trim_start_matches("https://a")
            .split('.')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap();
        if n.is_multiple_of(2) {
            Ok(stub_directory(&body))
        } else {
            Err(FetchError::Transport("connection refused".into()))
        }
    });
    let config = DirectoryCacheConfig {
        max_agents: 1000,
        ..Default::default()
    };
    let cache = stub_cache(config, &client);
    for i in 0..20_000u32 {
        let agent = format!("https://a{i}.example");
        let result = cache.fetch(&agent).await;
        assert_eq!(result.is_ok(), i.is_multiple_of(2), "{agent}: {result:?}");
        if i % 100 == 0 {
            assert!(cache.stats().entries <= 1000);
        }
    }
    let stats = cache.stats();
    assert!(stats.entries <= 1000, "{stats:?}");
    assert!(stats.evictions >= 19_000, "{stats:?}");
    assert_eq!(stats.fetches_started, 20_000);
    assert_eq!(client.calls(), 20_000);
    // The latest agent is still there and rate-limited; refetching it sends nothing.
    let last = "https://a19998.example";
    assert_eq!(resolve(&cache, last, &public), Some(public));
    assert_eq!(cache.fetch(last).await, Err(FetchError::RateLimited));
    assert!(matches!(
        cache.fetch("https://a19999.example").await,
        Err(FetchError::NegativelyCached(_))
    ));
    assert_eq!(client.calls(), 20_000);
}

#[tokio::test]
async fn concurrent_fetches_of_many_agents_are_bounded() {
    let client = StubClient::new(Duration::from_millis(200), |_| Err(FetchError::Status(404)));
    let config = DirectoryCacheConfig {
        max_concurrent_fetches: 16,
        ..Default::default()
    };
    let cache = stub_cache(config, &client);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.fetch(&format!("https://flood{i}.example")).await })
        })
        .collect();
    let mut limited = 0;
    for task in tasks {
        match task.await.unwrap() {
            Err(FetchError::RateLimited) => limited += 1,
            Err(FetchError::Status(404)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(client.max_in_flight.load(Ordering::SeqCst) <= 16);
    assert_eq!(limited + client.calls(), 200);
    assert!(limited >= 184, "{limited}");
}

#[tokio::test]
async fn allow_list_refuses_without_a_request() {
    let (_, public) = new_key();
    let server = good_server(&[&public]).await;
    let config = DirectoryCacheConfig {
        allow_list: Some(vec!["https://bot.example".into()]),
        ..loopback_config()
    };
    let cache = cache_with(config, &manual_clock());
    assert!(matches!(
        cache.fetch(&server.agent()).await,
        Err(FetchError::NotAllowed(_))
    ));
    assert_eq!(server.hits(), 0);

    // Listed (written differently): fetched.
    let config = DirectoryCacheConfig {
        allow_list: Some(vec![format!("HTTP://{}/", server.authority())]),
        ..loopback_config()
    };
    let cache = cache_with(config, &manual_clock());
    cache.fetch(&server.agent()).await.unwrap();
    assert_eq!(server.hits(), 1);

    // A bad allow-list entry is a configuration error.
    let config = DirectoryCacheConfig {
        allow_list: Some(vec!["not a url".into()]),
        ..Default::default()
    };
    assert!(matches!(
        DirectoryCache::new(config),
        Err(FetchError::NotAllowed(_))
    ));
}

#[tokio::test]
async fn unsafe_agent_urls_are_refused_without_a_request() {
    let (_, public) = new_key();
    let server = good_server(&[&public]).await;
    // Loopback is refused unless allowed.
    let cache = cache_with(DirectoryCacheConfig::default(), &manual_clock());
    assert!(matches!(
        cache.fetch(&server.agent()).await,
        Err(FetchError::NotAllowed(_))
    ));
    let https_loopback = format!("https://{}", server.authority());
    assert!(matches!(
        cache.fetch(&https_loopback).await,
        Err(FetchError::NotAllowed(_))
    ));
    assert_eq!(server.hits(), 0);

    let client = StubClient::new(Duration::ZERO, |_| Err(FetchError::Status(404)));
    let cache = stub_cache(loopback_config(), &client);
    for agent in [
        "http://bot.example",
        "ftp://bot.example",
        "https://user:pass@bot.example",
        "https://bot.example/#fragment",
        "https://10.1.2.3",
        "https://169.254.169.254",
        "https://[fd00::1]",
        "https://127.1",
        "bot.example",
        "",
    ] {
        assert!(
            matches!(cache.fetch(agent).await, Err(FetchError::NotAllowed(_))),
            "{agent}"
        );
    }
    assert_eq!(client.calls(), 0);
    assert_eq!(cache.stats().entries, 0);
}

#[tokio::test]
async fn resolve_never_fetches() {
    let client = StubClient::new(Duration::ZERO, |_| Err(FetchError::Status(404)));
    let cache = stub_cache(DirectoryCacheConfig::default(), &client);
    let (_, public) = new_key();
    for agent in ["https://bot.example", "https://other.example/x", "garbage"] {
        assert_eq!(resolve(&cache, agent, &public), None);
    }
    assert_eq!(client.calls(), 0);
    assert_eq!(cache.stats().misses, 3);
    assert_eq!(cache.stats().entries, 0);
}

#[tokio::test]
async fn pinned_keys_are_served_and_never_fetched() {
    let client = StubClient::new(Duration::ZERO, |_| Err(FetchError::Status(500)));
    let config = DirectoryCacheConfig {
        max_agents: 10,
        ..Default::default()
    };
    let cache = stub_cache(config, &client);
    let (_, public) = new_key();
    cache
        .insert_static("https://Pinned.example/", [public.clone()])
        .unwrap();
    assert_eq!(
        resolve(&cache, "https://pinned.example", &public),
        Some(public.clone())
    );
    cache.fetch("https://pinned.example").await.unwrap();
    assert_eq!(client.calls(), 0);
    // A flood does not evict it.
    for i in 0..100 {
        let _ = cache.fetch(&format!("https://f{i}.example")).await;
    }
    assert_eq!(
        resolve(&cache, "https://pinned.example", &public),
        Some(public)
    );
    assert!(cache.stats().entries <= 11);
    assert!(matches!(
        cache.insert_static("http://pinned.example", []),
        Err(FetchError::NotAllowed(_))
    ));
    assert!(cache.remove("https://pinned.example"));
}

#[tokio::test]
async fn a_clock_moved_back_refetches_instead_of_trusting_old_entries() {
    let (_, public) = new_key();
    let server = good_server(&[&public]).await;
    let clock = manual_clock();
    let cache = cache_with(loopback_config(), &clock);
    let agent = server.agent();
    cache.fetch(&agent).await.unwrap();
    clock.set(clock.now_unix() - 3600);
    assert_eq!(resolve(&cache, &agent, &public), None);
    cache.fetch(&agent).await.unwrap();
    assert_eq!(resolve(&cache, &agent, &public), Some(public));
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn empty_directory_revokes_cached_keys() {
    let (_, public) = new_key();
    let body = directory_body(&[&public]);
    let count = Arc::new(AtomicUsize::new(0));
    let server = serve(move |_| {
        move |_| {
            let response = if count.fetch_add(1, Ordering::SeqCst) == 0 {
                good_response(&body)
            } else {
                good_response(r#"{"keys":[]}"#)
            };
            std::future::ready(response)
        }
    })
    .await;
    let clock = manual_clock();
    let cache = cache_with(loopback_config(), &clock);
    let agent = server.agent();
    cache.fetch(&agent).await.unwrap();
    clock.advance(600);
    cache.fetch(&agent).await.unwrap();
    assert_eq!(resolve(&cache, &agent, &public), None);
}

#[tokio::test]
async fn resolve_hits_are_answered_from_memory() {
    let client = StubClient::new(Duration::ZERO, |_| Err(FetchError::Status(404)));
    let cache = stub_cache(DirectoryCacheConfig::default(), &client);
    let keys: Vec<VerifyingKey> = (0..8).map(|_| new_key().1).collect();
    cache
        .insert_static("https://bot.example", keys.clone())
        .unwrap();
    let query = KeyQuery {
        agent: Some("https://bot.example"),
        keyid: keys[7].thumbprint(),
        alg: Some("ed25519"),
    };
    // Hits are answered from memory: counted as hits, no fetch started. (Their cost is
    // measured in `benches`, not asserted here.)
    let before = cache.stats();
    for _ in 0..1000 {
        assert!(cache.resolve(&query).is_some());
    }
    let after = cache.stats();
    assert_eq!(after.fetches_started, before.fetches_started);
    assert_eq!(after.hits - before.hits, 1000);
}

#[tokio::test]
async fn verify_fetch_verify() {
    let (key, public) = new_key();
    let server = good_server(&[&public]).await;
    let agent = server.agent();
    let signer = WebBotAuthSigner::new(key, &agent).unwrap();
    let mut request = http::Request::get("https://shop.example/products/42")
        .body(())
        .unwrap();
    signer.sign_http(&mut request, "https").unwrap();

    let cache = DirectoryCache::new(loopback_config()).unwrap();
    let verifier = WebBotAuthVerifier::new(cache.clone()).with_config(ProfileConfig {
        allow_http_agent: true,
        ..Default::default()
    });
    let view = MessageView::Request(RequestView::from_http(&request, "https").unwrap());
    let missing = match verifier.verify(&view) {
        Outcome::Unverified(UnverifiedReason::UnknownKey {
            agent: Some(missing),
            keyid,
        }) => {
            assert_eq!(keyid, public.thumbprint());
            missing
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(missing, agent);
    cache.fetch(&missing).await.unwrap();
    match verifier.verify(&view) {
        Outcome::Verified(verified) => {
            assert_eq!(verified.keyid, public.thumbprint());
            assert_eq!(verified.agent.unwrap().uri, agent);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.hits(), 1);
}
