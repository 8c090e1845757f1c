//! `rate_limit` rules counted in a real Redis: a `redis-server` started on a free loopback port
//! (or the server at `REDIS_URL`), two `BotPolicyLayer`s on two loopback HTTP servers sharing
//! it as two instances of a service would, `Retry-After` against the in-memory limiter on the
//! same timeline, and Redis stopped in the middle of a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bot_policy::layer::BotPolicyLayer;
use bot_policy::policy::{LoadOptions, RateLimitUnavailable, RedisRateLimiter};
use bot_policy::{ManualClock, Policy, RequestFacts, Verdict};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt, service_fn};

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
        "bp-test:{test}:{}:{nanos}:{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------------------------

fn policy_text(requests: u32, period: &str) -> String {
    format!(
        r#"
[[rules]]
id = "api-slow-down"
expression = 'starts_with(http.request.uri.path, "/api/")'
action = "rate_limit"
requests = {requests}
period = "{period}"
key = ["ip.src"]

[[rules]]
id = "no-admin"
expression = 'http.request.uri.path eq "/api/admin"'
action = "block"
"#
    )
}

/// One instance's policy, counting in the shared Redis through its own connection.
async fn shared_policy(
    redis: &TestRedis,
    prefix: &str,
    clock: &ManualClock,
    text: &str,
    when_unavailable: RateLimitUnavailable,
) -> Policy {
    let limiter = RedisRateLimiter::connect(&redis.url)
        .await
        .unwrap()
        .key_prefix(prefix)
        .clock(clock.clone())
        .when_unavailable(when_unavailable);
    Policy::from_toml_str_with(text, &LoadOptions::new().redis_rate_limiter(limiter)).unwrap()
}

fn facts(path: &str, ip: [u8; 4]) -> RequestFacts<'_> {
    RequestFacts::new("GET", path).with_client_ip(IpAddr::from(ip))
}

/// Serves `layer` over a handler answering 200 on a fresh loopback port; each request carries
/// its connection's peer address in its extensions, as a server would put it there.
async fn serve(layer: BotPolicyLayer) -> SocketAddr {
    let service = layer.layer(service_fn(|_: Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(String::from("ok")))
    }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let service = service
                .clone()
                .map_request(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(peer);
                    request
                });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                    .await;
            });
        }
    });
    addr
}

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    rule: Option<String>,
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client
        .request(
            Request::get(format!("http://{addr}{path}"))
                .body(Empty::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let answer = Answer {
        status: response.status(),
        retry_after: header("retry-after"),
        rule: header("bot-policy-rule"),
    };
    response.into_body().collect().await.unwrap();
    answer
}

#[tokio::test]
async fn two_layers_sharing_redis_enforce_one_limit() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("two-layers");
    let clock = ManualClock::new();
    let text = policy_text(5, "1m");
    let mut servers = Vec::new();
    for _ in 0..2 {
        let policy = shared_policy(
            &redis,
            &prefix,
            &clock,
            &text,
            RateLimitUnavailable::FailOpen,
        )
        .await;
        assert!(policy.has_shared_limits());
        servers.push(serve(BotPolicyLayer::new(policy).decision_headers(true)).await);
    }

    // Alternating between the two instances, from one client address (loopback): 5 per minute
    // in all, not 5 on each.
    let mut allowed = 0;
    let mut first_refusal = None;
    for i in 0..12 {
        let answer = get(servers[i % 2], "/api/items").await;
        match answer.status {
            StatusCode::OK => allowed += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(answer.rule.as_deref(), Some("api-slow-down"));
                first_refusal.get_or_insert(answer);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(allowed, 5);
    // Burst of 5, one more every 12 s: the next request is allowed in 12 s.
    assert_eq!(first_refusal.unwrap().retry_after.as_deref(), Some("12"));
    // A later rule still runs after the limit answered within it... once there is room.
    clock.advance(Duration::from_secs(12));
    assert_eq!(
        get(servers[1], "/api/admin").await.status,
        StatusCode::FORBIDDEN
    );
    // The other paths are not limited.
    assert_eq!(get(servers[0], "/about").await.status, StatusCode::OK);
    // The time moved 12 s and one request was counted since: over again on both.
    assert_eq!(
        get(servers[0], "/api/items").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        get(servers[1], "/api/items").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn keys_are_per_client_and_expire_when_idle() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("keys");
    let clock = ManualClock::new();
    let policy = shared_policy(
        &redis,
        &prefix,
        &clock,
        &policy_text(2, "1m"),
        RateLimitUnavailable::FailOpen,
    )
    .await;
    for _ in 0..2 {
        assert_eq!(
            policy
                .evaluate_async(&facts("/api/x", [192, 0, 2, 1]))
                .await
                .verdict(),
            &Verdict::Allow
        );
    }
    assert!(matches!(
        policy
            .evaluate_async(&facts("/api/x", [192, 0, 2, 1]))
            .await
            .verdict(),
        Verdict::RateLimited { .. }
    ));
    // Another client has its own count.
    assert_eq!(
        policy
            .evaluate_async(&facts("/api/x", [192, 0, 2, 2]))
            .await
            .verdict(),
        &Verdict::Allow
    );

    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        assert!(
            key.starts_with(&format!("{prefix}api-slow-down:2/")),
            "{key}"
        );
        // One emission interval is 30 s; the first client's TAT is 60 s ahead, the second's
        // 30 s: each key lives that long and a second more.
        let pttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(pttl > 0 && pttl <= 61_000, "{key}: PTTL {pttl}");
    }
}

#[tokio::test]
async fn retry_after_is_the_in_memory_limiters() {
    let redis = TestRedis::start();
    // Whole microseconds per emission (12 s, 2.5 s), and not (60 s / 7 = 8.571428571… s).
    for (requests, period) in [(5, "1m"), (7, "1m"), (4, "10s")] {
        let prefix = unique_prefix("retry-after");
        let text = policy_text(requests, period);
        let memory_clock = ManualClock::new();
        let in_memory =
            Policy::from_toml_str_with(&text, &LoadOptions::new().clock(memory_clock.clone()))
                .unwrap();
        let redis_clock = ManualClock::new();
        let shared = shared_policy(
            &redis,
            &prefix,
            &redis_clock,
            &text,
            RateLimitUnavailable::FailOpen,
        )
        .await;
        // An irregular timeline: bursts, pauses shorter and longer than the interval.
        let steps_ms = [
            0u64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 900, 3_000, 0, 0, 7_777, 12_001, 0, 0, 1, 59_999,
            0, 0, 0, 0, 0, 0, 0, 0, 250, 250, 250, 250, 8_571, 1, 0, 120_000, 0, 0, 0,
        ];
        let (mut allowed, mut refused) = (0, 0);
        for (n, step) in steps_ms.into_iter().enumerate() {
            memory_clock.advance(Duration::from_millis(step));
            redis_clock.advance(Duration::from_millis(step));
            let ip = [198, 51, 100, 7];
            let expected = *in_memory.evaluate(&facts("/api/x", ip)).verdict();
            let got = *shared.evaluate_async(&facts("/api/x", ip)).await.verdict();
            match (expected, got) {
                (Verdict::Allow, Verdict::Allow) => allowed += 1,
                (
                    Verdict::RateLimited { retry_after: want },
                    Verdict::RateLimited { retry_after: have },
                ) => {
                    // Redis counts whole microseconds.
                    let difference = want.abs_diff(have);
                    assert!(
                        difference < Duration::from_micros(64),
                        "{requests}/{period} step {n}: {want:?} in memory, {have:?} in redis"
                    );
                    assert_eq!(
                        header_seconds(want),
                        header_seconds(have),
                        "{requests}/{period} step {n}"
                    );
                    if requests != 7 {
                        assert_eq!(want, have, "{requests}/{period} step {n}");
                    }
                    refused += 1;
                }
                _ => {
                    panic!("{requests}/{period} step {n}: {expected:?} in memory, {got:?} in redis")
                }
            }
        }
        assert!(
            allowed > requests && refused > 10,
            "{allowed} allowed, {refused} refused"
        );
    }
}

/// `Retry-After` as the layer writes it: whole seconds, rounded up, at least 1.
fn header_seconds(retry_after: Duration) -> u64 {
    (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1)
}

#[tokio::test]
async fn redis_down_answers_as_configured_then_recovers() {
    // A server of our own, since it is stopped in the middle.
    let mut redis = TestRedis::spawn();
    let prefix = unique_prefix("outage");
    let clock = ManualClock::new();
    let text = policy_text(3, "1m");
    let open = shared_policy(
        &redis,
        &prefix,
        &clock,
        &text,
        RateLimitUnavailable::FailOpen,
    )
    .await;
    let closed = shared_policy(
        &redis,
        &prefix,
        &clock,
        &text,
        RateLimitUnavailable::FailClosed,
    )
    .await;
    let open_server = serve(BotPolicyLayer::new(open).decision_headers(true)).await;
    let closed_server = serve(BotPolicyLayer::new(closed).decision_headers(true)).await;
    assert_eq!(get(open_server, "/api/a").await.status, StatusCode::OK);
    assert_eq!(get(closed_server, "/api/a").await.status, StatusCode::OK);

    redis.stop();
    for _ in 0..5 {
        // Fail open: let through uncounted, as often as asked.
        assert_eq!(get(open_server, "/api/a").await.status, StatusCode::OK);
        // Fail closed: refused, Retry-After one emission interval (20 s).
        let answer = get(closed_server, "/api/a").await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.retry_after.as_deref(), Some("20"));
    }
    // Rules that do not wait for Redis answer as ever.
    assert_eq!(get(closed_server, "/about").await.status, StatusCode::OK);

    // The synchronous evaluation cannot wait for Redis, and answers as for an outage.
    let sync_open = shared_policy_lazy(
        &redis,
        &prefix,
        &clock,
        &text,
        RateLimitUnavailable::FailOpen,
    );
    assert_eq!(
        sync_open
            .evaluate(&facts("/api/a", [192, 0, 2, 9]))
            .verdict(),
        &Verdict::Allow
    );
    let sync_closed = shared_policy_lazy(
        &redis,
        &prefix,
        &clock,
        &text,
        RateLimitUnavailable::FailClosed,
    );
    assert_eq!(
        sync_closed
            .evaluate(&facts("/api/a", [192, 0, 2, 9]))
            .verdict(),
        &Verdict::RateLimited {
            retry_after: Duration::from_secs(20)
        }
    );

    // Back on the same port (empty: no persistence): the same layers count again.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = get(closed_server, "/api/b").await;
        if answer.status == StatusCode::OK {
            break;
        }
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(Instant::now() < deadline, "never reconnected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One counted already; two more, then over (on both instances: they share the count).
    assert_eq!(get(open_server, "/api/b").await.status, StatusCode::OK);
    assert_eq!(get(closed_server, "/api/b").await.status, StatusCode::OK);
    let answer = get(open_server, "/api/b").await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.rule.as_deref(), Some("api-slow-down"));
}

/// A policy whose limiter has not connected (a synchronous evaluation never does).
fn shared_policy_lazy(
    redis: &TestRedis,
    prefix: &str,
    clock: &ManualClock,
    text: &str,
    when_unavailable: RateLimitUnavailable,
) -> Policy {
    let limiter = RedisRateLimiter::connect_lazy(&redis.url)
        .unwrap()
        .key_prefix(prefix)
        .clock(clock.clone())
        .when_unavailable(when_unavailable);
    Policy::from_toml_str_with(text, &LoadOptions::new().redis_rate_limiter(limiter)).unwrap()
}
