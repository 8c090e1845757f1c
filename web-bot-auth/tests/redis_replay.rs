//! The Redis replay store against a real Redis: a `redis-server` started on a free loopback port
//! (or the server at `REDIS_URL`), two verifiers sharing it as two instances of a service would,
//! key expiry, and an outage in the middle of a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tower::{Layer, ServiceExt, service_fn};
use web_bot_auth::clock::ManualClock;
use web_bot_auth::error::FailureReason;
use web_bot_auth::keys::SigningKey;
use web_bot_auth::layer::VerifyLayer;
use web_bot_auth::message::{MessageView, RequestView};
use web_bot_auth::profile::{Outcome, WebBotAuthVerifier};
use web_bot_auth::profile_signer::WebBotAuthSigner;
use web_bot_auth::replay::{
    AsyncReplayStore, RedisReplayStore, ReplayKey, ReplayStoreError, ReplayUnavailable,
};
use web_bot_auth::verify::KeySet;

const AGENT: &str = "https://bot.example";
const NOW: u64 = 1_750_000_000;

// ---------------------------------------------------------------------------------------------
// A Redis for the test: its own `redis-server` on a free loopback port, killed on drop; or the
// server at `REDIS_URL` when that is set.

struct TestRedis {
    url: String,
    port: Option<u16>,
    child: Option<Child>,
}

impl TestRedis {
    /// The server at `REDIS_URL`, else a new `redis-server`.
    fn start() -> TestRedis {
        match std::env::var("REDIS_URL") {
            Ok(url) if !url.is_empty() => TestRedis {
                url,
                port: None,
                child: None,
            },
            _ => TestRedis::spawn(),
        }
    }

    /// A new `redis-server` of our own (for tests that stop and restart it).
    fn spawn() -> TestRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let mut redis = TestRedis {
            url: format!("redis://127.0.0.1:{port}/"),
            port: Some(port),
            child: None,
        };
        redis.restart();
        redis
    }

    /// Starts the server again on the same port.
    fn restart(&mut self) {
        let port = self.port.expect("only a server of our own restarts");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "these tests need a Redis: install redis-server (Debian: apt-get install \
                     redis-server) or set REDIS_URL to a server they may write to ({e})"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ping(port) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (the port stays ours to restart on).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn client(&self) -> redis::Client {
        redis::Client::open(self.url.as_str()).unwrap()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

/// A key prefix no other test (or earlier run against the same `REDIS_URL`) uses.
fn unique_prefix(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "wba-test:{test}:{}:{nanos}:{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------------------------

struct Bot {
    signer: WebBotAuthSigner<Arc<ManualClock>>,
    keys: KeySet,
    clock: Arc<ManualClock>,
}

fn bot() -> Bot {
    let key = SigningKey::generate_ed25519();
    let mut keys = KeySet::new();
    keys.insert_for_agent(AGENT, key.verifying_key().clone());
    let clock = Arc::new(ManualClock::new(NOW));
    let signer = WebBotAuthSigner::new(key, AGENT)
        .unwrap()
        .with_clock(Arc::clone(&clock))
        .with_expires_in(60);
    Bot {
        signer,
        keys,
        clock,
    }
}

fn signed_request(bot: &Bot) -> http::Request<String> {
    let mut request = http::Request::get("https://shop.example/products/42")
        .body(String::new())
        .unwrap();
    bot.signer.sign_http(&mut request, "https").unwrap();
    request
}

/// One instance of the service: a verifier with its own connection to the shared Redis.
async fn instance(
    bot: &Bot,
    redis: &TestRedis,
    prefix: &str,
    when_unavailable: ReplayUnavailable,
) -> WebBotAuthVerifier<KeySet, Arc<ManualClock>> {
    let store = RedisReplayStore::connect(&redis.url)
        .await
        .unwrap()
        .key_prefix(prefix)
        .when_unavailable(when_unavailable);
    WebBotAuthVerifier::new(bot.keys.clone())
        .with_clock(Arc::clone(&bot.clock))
        .with_async_replay_store(Arc::new(store))
}

async fn verify(
    verifier: &WebBotAuthVerifier<KeySet, Arc<ManualClock>>,
    request: &http::Request<String>,
) -> Outcome {
    let view = RequestView::from_http(request, "https").unwrap();
    verifier.verify_async(&MessageView::Request(view)).await
}

fn failure(outcome: &Outcome) -> &FailureReason {
    match outcome {
        Outcome::Invalid(bad) => bad.error.reason(),
        other => panic!("expected an invalid outcome, got {other:?}"),
    }
}

#[tokio::test]
async fn a_nonce_used_on_one_instance_is_refused_on_another() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("two-instances");
    let bot = bot();
    let a = instance(&bot, &redis, &prefix, ReplayUnavailable::FailClosed).await;
    let b = instance(&bot, &redis, &prefix, ReplayUnavailable::FailClosed).await;

    let request = signed_request(&bot);
    assert_eq!(verify(&a, &request).await.kind(), "verified");
    // The same request again, on the other instance: a replay.
    let again = verify(&b, &request).await;
    assert!(
        matches!(failure(&again), FailureReason::Replayed),
        "{again:?}"
    );
    // And on the first one too.
    let again = verify(&a, &request).await;
    assert!(
        matches!(failure(&again), FailureReason::Replayed),
        "{again:?}"
    );

    // A new signature (new nonce) is fine on either.
    assert_eq!(verify(&b, &signed_request(&bot)).await.kind(), "verified");
    assert_eq!(verify(&a, &signed_request(&bot)).await.kind(), "verified");

    // The synchronous path does not ask the async store (and says nothing false about it).
    let fresh = signed_request(&bot);
    let view = RequestView::from_http(&fresh, "https").unwrap();
    assert_eq!(a.verify(&MessageView::Request(view)).kind(), "verified");
    assert_eq!(verify(&b, &fresh).await.kind(), "verified");

    // Another prefix is another store.
    let c = instance(
        &bot,
        &redis,
        &unique_prefix("other"),
        ReplayUnavailable::FailClosed,
    )
    .await;
    assert_eq!(verify(&c, &request).await.kind(), "verified");
}

#[tokio::test]
async fn signatures_without_a_nonce_and_unverified_requests_never_reach_redis() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("no-nonce");
    let mut bot = bot();
    bot.signer = bot.signer.with_nonce(false);
    let a = instance(&bot, &redis, &prefix, ReplayUnavailable::FailClosed).await;
    let request = signed_request(&bot);
    assert_eq!(verify(&a, &request).await.kind(), "verified");
    assert_eq!(verify(&a, &request).await.kind(), "verified");
    let unsigned = http::Request::get("https://shop.example/")
        .body(String::new())
        .unwrap();
    assert_eq!(verify(&a, &unsigned).await.kind(), "unverified");
    let mut connection = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test]
async fn the_record_lives_as_long_as_the_signature() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("expiry");
    let store = RedisReplayStore::connect(&redis.url)
        .await
        .unwrap()
        .key_prefix(&prefix);
    let mut connection = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    // Good for 30 more seconds (through the end of second NOW + 30): PX is 31 s.
    let key = ReplayKey {
        agent: AGENT,
        keyid: "k1",
        nonce: "n-long",
    };
    assert_eq!(store.check(&key, NOW + 30, NOW).await, Ok(true));
    assert_eq!(store.check(&key, NOW + 30, NOW + 29).await, Ok(false));
    let pttl: i64 = redis::cmd("PTTL")
        .arg(store.redis_key(&key))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 31_000, "PTTL {pttl}");
    let value: String = redis::cmd("GET")
        .arg(store.redis_key(&key))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(value, "1");

    // The same nonce under another key id or agent is another record.
    let other_keyid = ReplayKey { keyid: "k2", ..key };
    assert_eq!(store.check(&other_keyid, NOW + 30, NOW).await, Ok(true));
    let other_agent = ReplayKey {
        agent: "https://other.example",
        ..key
    };
    assert_eq!(store.check(&other_agent, NOW + 30, NOW).await, Ok(true));

    // Expiring this very second: PX is 1 s; once Redis drops the key, the nonce is new again
    // (the verifier refuses the expired signature itself by then).
    let short = ReplayKey {
        agent: AGENT,
        keyid: "k1",
        nonce: "n-short",
    };
    assert_eq!(store.check(&short, NOW, NOW).await, Ok(true));
    let pttl: i64 = redis::cmd("PTTL")
        .arg(store.redis_key(&short))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 1_000, "PTTL {pttl}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(store.redis_key(&short))
            .query_async(&mut connection)
            .await
            .unwrap();
        if exists == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the key never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.check(&short, NOW + 60, NOW + 2).await, Ok(true));
}

#[tokio::test]
async fn redis_down_then_back() {
    // A server of our own, since it is stopped in the middle.
    let mut redis = TestRedis::spawn();
    let prefix = unique_prefix("outage");
    let bot = bot();
    let closed = instance(&bot, &redis, &prefix, ReplayUnavailable::FailClosed).await;
    let open = instance(&bot, &redis, &prefix, ReplayUnavailable::FailOpen).await;
    assert_eq!(
        verify(&closed, &signed_request(&bot)).await.kind(),
        "verified"
    );

    redis.stop();
    // Fail closed: the signature checks out, but its nonce cannot be checked, so it is not
    // verified; the reason says why.
    let outcome = verify(&closed, &signed_request(&bot)).await;
    assert!(
        matches!(failure(&outcome), FailureReason::ReplayStore(_)),
        "{outcome:?}"
    );
    // A forged signature is still invalid for its own reason, without asking Redis.
    let signed = signed_request(&bot);
    let mut forged = http::Request::get("https://elsewhere.example/products/42")
        .body(String::new())
        .unwrap();
    *forged.headers_mut() = signed.headers().clone();
    assert!(!matches!(
        failure(&verify(&closed, &forged).await),
        FailureReason::ReplayStore(_)
    ));
    // An unsigned request stays unverified.
    let unsigned = http::Request::get("https://shop.example/")
        .body(String::new())
        .unwrap();
    assert_eq!(verify(&closed, &unsigned).await.kind(), "unverified");
    // Fail open: accepted unchecked.
    assert_eq!(
        verify(&open, &signed_request(&bot)).await.kind(),
        "verified"
    );
    // The store alone says so too.
    let store = RedisReplayStore::connect_lazy(&redis.url)
        .unwrap()
        .key_prefix(&prefix);
    let key = ReplayKey {
        agent: AGENT,
        keyid: "k",
        nonce: "during-outage",
    };
    assert!(matches!(
        AsyncReplayStore::check_and_record(&store, &key, NOW + 60, NOW).await,
        Err(ReplayStoreError::Backend(_))
    ));

    // Back on the same port: the same verifiers work again, without being rebuilt.
    redis.restart();
    let request = signed_request(&bot);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let outcome = verify(&closed, &request).await;
        if outcome.kind() == "verified" {
            break;
        }
        assert!(
            matches!(failure(&outcome), FailureReason::ReplayStore(_)),
            "{outcome:?}"
        );
        assert!(Instant::now() < deadline, "never reconnected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = verify(&open, &request).await;
    assert!(
        matches!(failure(&again), FailureReason::Replayed),
        "{again:?}"
    );
}

#[tokio::test]
async fn verify_layers_on_two_instances_share_nonces() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("layer");
    let bot = bot();
    let handler = service_fn(|request: http::Request<String>| async move {
        let kind = request
            .extensions()
            .get::<Outcome>()
            .map_or("none", Outcome::kind);
        Ok::<_, Infallible>(http::Response::new(kind.to_owned()))
    });
    let first =
        VerifyLayer::new(instance(&bot, &redis, &prefix, ReplayUnavailable::FailClosed).await)
            .layer(handler);
    let second =
        VerifyLayer::new(instance(&bot, &redis, &prefix, ReplayUnavailable::FailClosed).await)
            .reject_invalid(true)
            .layer(handler);

    let request = signed_request(&bot);
    let copy = || {
        let mut r = http::Request::get(request.uri().clone())
            .body(String::new())
            .unwrap();
        *r.headers_mut() = request.headers().clone();
        r
    };
    let response = first.clone().oneshot(copy()).await.unwrap();
    assert_eq!(body(response).await, "verified");
    // Replayed on the second instance, which refuses invalid signatures.
    let response = second.clone().oneshot(copy()).await.unwrap();
    assert_eq!(response.status(), 401);
    // Replayed on the first, which passes them on marked invalid.
    let response = first.clone().oneshot(copy()).await.unwrap();
    assert_eq!(body(response).await, "invalid");
    // A fresh signature passes the second.
    let response = second.oneshot(signed_request(&bot)).await.unwrap();
    assert_eq!(response.status(), 200);
}

async fn body<B: http_body::Body>(response: http::Response<B>) -> String
where
    B::Error: std::fmt::Debug,
{
    use http_body_util::BodyExt;
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}
