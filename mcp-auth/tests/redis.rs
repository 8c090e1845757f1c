//! The Redis-backed stores against a real Redis: each test starts its own `redis-server` on a
//! free loopback port (or uses the server at `REDIS_URL`, under a key prefix of its own), and
//! compares the Redis stores with the in-memory ones on the same sequences.
//!
//! The outage test always starts its own server, since it kills and restarts it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::num::NonZeroU32;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcp_auth::AuthMode;
use mcp_auth::clock::{Clock, ManualClock};
use mcp_auth::ratelimit::{
    MemoryLimiterConfig, Quota, RateDecision, RateLimitClass, RateLimitKey, RateLimitStore,
    RateLimitSubject, RateLimiter, RateLimits, RedisRateLimitStore, RedisTimeSource,
    StoreFailurePolicy,
};
use mcp_auth::redis_connection::{RedisConfig, RedisConnection};
use mcp_auth::scope::Scopes;
use mcp_auth::token::{
    ApiTokens, MemoryTokenStore, RedisTokenStore, TokenHash, TokenId, TokenRecord, TokenRefusal,
    TokenStore, TokenStoreError, TokenTtl,
};
use redis::TypedCommands;

const START: u64 = 1_700_000_000;

// ---------------------------------------------------------------------------------------------
// A redis-server for the test
// ---------------------------------------------------------------------------------------------

/// A `redis-server` started by the test on a loopback port, killed on drop.
struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// A server on a free loopback port.
    fn start() -> RedisServer {
        // The port is free when the listener drops; another process could take it in between,
        // and then the server fails to start and `wait_ready` says so.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let mut server = RedisServer { port, child: None };
        server.restart();
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts the server (again) on its port.
    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): these tests need a Redis. Install \
                     redis-server (Debian: apt-get install redis-server; `.ci/run` does) or set \
                     REDIS_URL to a server's URL"
                )
            });
        self.child = Some(child);
        self.wait_ready();
    }

    /// Kills the server at once (no shutdown, no save).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if ping(self.port) {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("redis-server on port {} exited: {status}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether a Redis on `port` answers `PING` with `+PONG`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// The Redis a test uses: `REDIS_URL`'s, or one of its own.
struct TestRedis {
    url: String,
    prefix: String,
    _server: Option<RedisServer>,
}

impl TestRedis {
    fn new(test: &str) -> TestRedis {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let unique = format!(
            "{}-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let prefix = format!("mcp-auth-test:{test}:{unique}:");
        match std::env::var("REDIS_URL") {
            Ok(url) if !url.is_empty() => TestRedis {
                url,
                prefix,
                _server: None,
            },
            _ => {
                let server = RedisServer::start();
                TestRedis {
                    url: server.url(),
                    prefix,
                    _server: Some(server),
                }
            }
        }
    }

    fn config(&self) -> RedisConfig {
        RedisConfig::new(self.url.clone()).key_prefix(self.prefix.clone())
    }

    /// A new connection: a separate connection manager, as another process would have.
    async fn connect(&self) -> RedisConnection {
        self.config().connect().await.unwrap()
    }
}

impl Drop for TestRedis {
    /// On a server of `REDIS_URL`'s, removes the test's keys (its own server just stops).
    fn drop(&mut self) {
        if self._server.is_some() {
            return;
        }
        let Ok(mut connection) =
            redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        else {
            return;
        };
        let pattern = format!("{}*", self.prefix);
        let keys: Vec<String> = match connection.scan_match::<_, String>(&pattern) {
            Ok(iter) => iter.filter_map(Result::ok).collect(),
            Err(_) => return,
        };
        for key in keys {
            let _: Result<i64, _> = redis::cmd("DEL").arg(&key).query(&mut connection);
        }
    }
}

/// One raw command on a connection of its own (for TTL and GET checks).
async fn raw<T: redis::FromRedisValue>(url: &str, args: &[&str]) -> T {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query_async(&mut connection).await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

fn n(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap()
}

fn token_key(class: &RateLimitClass, id: &str) -> RateLimitKey {
    RateLimitKey::from_parts(class.clone(), RateLimitSubject::ApiToken(Arc::from(id)))
}

/// Quotas with awkward intervals: 60/7 s (not a whole number of microseconds), a burst
/// smaller than the rate, and a fast one (1 ms).
fn mixed_limits() -> RateLimits {
    RateLimits::without_fallback()
        .with(
            RateLimitClass::read(),
            AuthMode::ApiToken,
            Quota::per_minute(n(7)),
        )
        .with(
            RateLimitClass::write(),
            AuthMode::ApiToken,
            Quota::with_burst_of(n(30), Duration::from_secs(60), n(5)).unwrap(),
        )
        .with(
            RateLimitClass::new("fast").unwrap(),
            AuthMode::ApiToken,
            Quota::per_second(n(1000)),
        )
}

/// A deterministic pseudo-random sequence (an LCG): the same steps for every run.
struct Steps(u64);

impl Steps {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[tokio::test]
async fn gcra_in_redis_decides_as_the_memory_limiter_does() {
    let redis = TestRedis::new("gcra-same");
    let clock = ManualClock::new(Duration::new(START, 123_456_789));
    let memory = RateLimiter::in_memory_with(
        mixed_limits(),
        MemoryLimiterConfig::default(),
        Arc::new(clock.clone()),
    );
    // The manual clock stands still while real time passes: a grace keeps Redis from expiring
    // a key before the manual clock reaches its arrival time.
    let store = Arc::new(
        RedisRateLimitStore::new(&redis.connect().await).idle_grace(Duration::from_secs(3600)),
    );
    let shared = RateLimiter::with_store(mixed_limits(), store, Arc::new(clock.clone()))
        .on_store_failure(StoreFailurePolicy::FailClosed);
    let keys = [
        token_key(&RateLimitClass::read(), "tok_a"),
        token_key(&RateLimitClass::write(), "tok_a"),
        token_key(&RateLimitClass::write(), "tok_b"),
        token_key(&RateLimitClass::new("fast").unwrap(), "tok_a"),
    ];
    let mut steps = Steps(7);
    let (mut allowed, mut limited) = (0, 0);
    for i in 0..1500 {
        // Mostly bursts (no time passing), sometimes a pause from a nanosecond to 20 s.
        match steps.next() % 8 {
            0 => clock.advance(Duration::from_nanos(steps.next() % 1_000_000)),
            1 => clock.advance(Duration::from_millis(steps.next() % 20_000)),
            2 => clock.advance(Duration::from_nanos(1)),
            _ => {}
        }
        let key = &keys[usize::try_from(steps.next() % 4).unwrap()];
        let expected = memory.check(key).await;
        let actual = shared.check(key).await;
        assert_eq!(
            actual,
            expected,
            "step {i}, key {key}, at {:?}",
            clock.since_epoch()
        );
        if expected.is_allowed() {
            allowed += 1;
        } else {
            limited += 1;
        }
    }
    // The sequence exercised both answers.
    assert!(
        allowed > 100 && limited > 100,
        "{allowed} allowed, {limited} limited"
    );
}

#[tokio::test]
async fn a_burst_is_admitted_then_refused_with_the_right_retry_after() {
    let redis = TestRedis::new("gcra-burst");
    let clock = ManualClock::from_unix(START);
    let limits = RateLimits::default();
    let store = Arc::new(RedisRateLimitStore::new(&redis.connect().await));
    let limiter = RateLimiter::with_store(limits, store, Arc::new(clock.clone()));
    // OAuth users: 10 orders a minute.
    let key = RateLimitKey::from_parts(
        RateLimitClass::new("order.write").unwrap(),
        RateLimitSubject::User(Arc::from("user-1")),
    );
    for i in 0..10 {
        assert_eq!(
            limiter.check(&key).await,
            RateDecision::Allowed {
                remaining: Some(9 - i)
            }
        );
    }
    let refused = limiter.check(&key).await;
    assert_eq!(
        refused,
        RateDecision::Limited {
            retry_after: Duration::from_secs(6)
        }
    );
    assert_eq!(refused.retry_after_secs(), Some(6));
    clock.advance(Duration::from_millis(5_500));
    assert_eq!(
        limiter.check(&key).await,
        RateDecision::Limited {
            retry_after: Duration::from_millis(500)
        }
    );
    clock.advance(Duration::from_millis(500));
    assert!(limiter.check(&key).await.is_allowed());
    assert!(!limiter.check(&key).await.is_allowed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sharing_one_redis_enforce_one_limit() {
    let redis = TestRedis::new("two-instances");
    let clock = ManualClock::from_unix(START);
    let limits = RateLimits::without_fallback().with(
        RateLimitClass::write(),
        AuthMode::ApiToken,
        Quota::per_minute(n(10)),
    );
    // Two "processes": each its own connection, its own limiter, its own clock (in step).
    let instance = |connection: RedisConnection, clock: ManualClock| {
        RateLimiter::with_store(
            limits.clone(),
            Arc::new(RedisRateLimitStore::new(&connection)),
            Arc::new(clock),
        )
        .on_store_failure(StoreFailurePolicy::FailClosed)
    };
    let a = instance(redis.connect().await, clock.clone());
    let b = instance(redis.connect().await, ManualClock::from_unix(START));
    let key = token_key(&RateLimitClass::write(), "tok_shared");

    // Alternating: ten in all, whichever instance serves them.
    let mut admitted = 0;
    for i in 0..30 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        if limiter.check(&key).await.is_allowed() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 10);

    // Concurrently, on a fresh key: 64 checks in flight from both instances, ten admitted.
    let key = token_key(&RateLimitClass::write(), "tok_concurrent");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let limiter = if i % 2 == 0 { a.clone() } else { b.clone() };
        let key = key.clone();
        tasks.spawn(async move { limiter.check(&key).await });
    }
    let mut decisions = Vec::new();
    while let Some(decision) = tasks.join_next().await {
        decisions.push(decision.unwrap());
    }
    assert_eq!(decisions.iter().filter(|d| d.is_allowed()).count(), 10);
    // Every refusal says when the next request is earned: within one interval (6 s).
    for decision in decisions.iter().filter(|d| !d.is_allowed()) {
        assert_eq!(decision.retry_after_secs(), Some(6), "{decision:?}");
    }
}

#[tokio::test]
async fn keys_carry_a_ttl_until_the_budget_is_full_again() {
    let redis = TestRedis::new("ttl");
    let clock = ManualClock::from_unix(START);
    let connection = redis.connect().await;
    let store = RedisRateLimitStore::new(&connection);
    let hourly = Quota::per_hour(n(2));
    let key = token_key(&RateLimitClass::read(), "tok_ttl");
    let redis_key = store.redis_key(&key);
    assert_eq!(
        redis_key,
        format!("{}rl:read|token:tok_ttl", redis.prefix),
        "the documented key"
    );

    let decision = store
        .check(&key, &hourly, clock.since_epoch())
        .await
        .unwrap();
    assert_eq!(decision, RateDecision::Allowed { remaining: Some(1) });
    // The arrival time is 30 minutes ahead: so is the TTL (less what real time passed since).
    let ttl: i64 = raw(&redis.url, &["PTTL", &redis_key]).await;
    assert!((1_700_000..=1_800_000).contains(&ttl), "PTTL {ttl}");
    let stored: String = raw(&redis.url, &["GET", &redis_key]).await;
    assert_eq!(stored, format!("{}.000000000", START + 1800));

    store
        .check(&key, &hourly, clock.since_epoch())
        .await
        .unwrap();
    let ttl: i64 = raw(&redis.url, &["PTTL", &redis_key]).await;
    assert!((3_500_000..=3_600_000).contains(&ttl), "PTTL {ttl}");
    // A refusal writes nothing.
    let refused = store
        .check(&key, &hourly, clock.since_epoch())
        .await
        .unwrap();
    assert_eq!(
        refused,
        RateDecision::Limited {
            retry_after: Duration::from_secs(1800)
        }
    );
    let after: String = raw(&redis.url, &["GET", &redis_key]).await;
    assert_eq!(after, format!("{}.000000000", START + 3600));

    // With a grace, keys live that much longer.
    let graceful = RedisRateLimitStore::new(&connection).idle_grace(Duration::from_secs(600));
    let other = token_key(&RateLimitClass::read(), "tok_grace");
    graceful
        .check(&other, &hourly, clock.since_epoch())
        .await
        .unwrap();
    let ttl: i64 = raw(&redis.url, &["PTTL", &graceful.redis_key(&other)]).await;
    assert!((2_300_000..=2_400_000).contains(&ttl), "PTTL {ttl}");

    // A key past its arrival time is idle: Redis drops it. With a 1 ms interval the key lives
    // 1 ms; wait (generously) for it to go.
    let fast_key = token_key(&RateLimitClass::read(), "tok_fast");
    store
        .check(&fast_key, &Quota::per_second(n(1000)), clock.since_epoch())
        .await
        .unwrap();
    let fast_redis_key = store.redis_key(&fast_key);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let exists: i64 = raw(&redis.url, &["EXISTS", &fast_redis_key]).await;
        if exists == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the idle key never expired");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_key_holding_something_else_is_an_error_not_a_decision() {
    let redis = TestRedis::new("rl-garbage");
    let store = RedisRateLimitStore::new(&redis.connect().await);
    let key = token_key(&RateLimitClass::read(), "tok_garbage");
    let _: () = raw(&redis.url, &["SET", &store.redis_key(&key), "not a time"]).await;
    let error = store
        .check(&key, &Quota::per_minute(n(5)), Duration::from_secs(START))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("holds no arrival time"),
        "{error}"
    );
}

#[tokio::test]
async fn redis_time_is_one_clock_for_every_instance() {
    let redis = TestRedis::new("server-time");
    let connection = redis.connect().await;
    let store = RedisRateLimitStore::new(&connection).time_source(RedisTimeSource::Server);
    let hourly = Quota::per_hour(n(2));
    let key = token_key(&RateLimitClass::read(), "tok_server_time");
    // The caller's clocks disagree wildly (1970, 2100): Redis's TIME decides.
    assert!(
        store
            .check(&key, &hourly, Duration::ZERO)
            .await
            .unwrap()
            .is_allowed()
    );
    assert!(
        store
            .check(&key, &hourly, Duration::from_secs(4_102_444_800))
            .await
            .unwrap()
            .is_allowed()
    );
    let refused = store.check(&key, &hourly, Duration::ZERO).await.unwrap();
    let wait = match refused {
        RateDecision::Limited { retry_after } => retry_after,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // 30 minutes, less the (real) time the three checks took.
    assert!(
        wait <= Duration::from_secs(1800) && wait > Duration::from_secs(1700),
        "{wait:?}"
    );
    // The stored arrival time is an hour after Redis's now, which is about the real time.
    let stored: String = raw(&redis.url, &["GET", &store.redis_key(&key)]).await;
    let stored_secs: u64 = stored.split('.').next().unwrap().parse().unwrap();
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        stored_secs.abs_diff(real + 3600) < 600,
        "stored {stored}, real {real}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

fn record(n: u8, created_at: u64, expires_at: Option<u64>) -> TokenRecord {
    TokenRecord::new(
        TokenHash::from_bytes([n; 32]),
        TokenId::parse(&format!("tok_{n:02x}")).unwrap(),
        Arc::from(format!("partner-{n}")),
        Scopes::parse("orders:read tools:call").unwrap(),
        created_at,
        expires_at,
    )
}

/// What a store answered, as text to compare across stores.
fn show<T: std::fmt::Debug>(result: &Result<T, TokenStoreError>) -> String {
    match result {
        Ok(value) => format!("ok {value:?}"),
        Err(TokenStoreError::Conflict { detail }) => format!("conflict: {detail}"),
        Err(other) => format!("error: {other}"),
    }
}

/// The same operations on any store, with the answers a store must give; returns the
/// transcript, so two stores can be compared answer by answer.
async fn exercise(store: &dyn TokenStore) -> Vec<String> {
    let mut transcript = Vec::new();
    let mut log = |line: String| transcript.push(line);
    let (r1, r2, r3) = (
        record(1, 100, Some(2_000)),
        record(2, 200, None),
        record(3, 300, Some(5_000)),
    );
    for r in [&r1, &r3, &r2] {
        let inserted = store.insert(r.clone()).await;
        assert!(inserted.is_ok());
        log(show(&inserted));
    }
    // The same hash under another id, the same id with another hash: refused.
    let mut same_hash = record(9, 900, None);
    same_hash.hash = r1.hash;
    let refused = store.insert(same_hash).await;
    assert!(matches!(refused, Err(TokenStoreError::Conflict { .. })));
    log(show(&refused));
    let mut same_id = record(9, 900, None);
    same_id.id = r2.id.clone();
    let refused = store.insert(same_id).await;
    assert!(matches!(refused, Err(TokenStoreError::Conflict { .. })));
    log(show(&refused));

    let got = store.get(r1.hash).await;
    assert_eq!(got.as_ref().unwrap().as_ref(), Some(&r1));
    log(show(&got));
    let unknown = store.get(TokenHash::from_bytes([0xee; 32])).await;
    assert!(unknown.as_ref().unwrap().is_none());
    log(show(&unknown));
    let found = store.find_by_id(&r2.id).await;
    assert_eq!(found.as_ref().unwrap().as_ref(), Some(&r2));
    log(show(&found));
    log(show(
        &store.find_by_id(&TokenId::parse("tok_ffff").unwrap()).await,
    ));

    // Revocation keeps the first time.
    let revoked = store.revoke(&r2.id, 1_500).await;
    assert_eq!(
        revoked.as_ref().unwrap().as_ref().unwrap().revoked_at,
        Some(1_500)
    );
    log(show(&revoked));
    let again = store.revoke(&r2.id, 1_600).await;
    assert_eq!(
        again.as_ref().unwrap().as_ref().unwrap().revoked_at,
        Some(1_500)
    );
    log(show(&again));
    log(show(
        &store.revoke(&TokenId::parse("tok_ffff").unwrap(), 1).await,
    ));

    // Rotation: the old record gets the earlier expiry and its successor's id.
    let r4 = record(4, 1_000, Some(9_000));
    let rotated = store.rotate(&r1.id, r4.clone(), 1_800).await;
    let old = rotated.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(old.expires_at, Some(1_800));
    assert_eq!(old.replaced_by.as_ref(), Some(&r4.id));
    log(show(&rotated));
    // Already replaced, revoked, unknown: refused or None, and nothing stored.
    log(show(
        &store.rotate(&r1.id, record(5, 1_000, None), 1_900).await,
    ));
    log(show(
        &store.rotate(&r2.id, record(5, 1_000, None), 1_900).await,
    ));
    log(show(
        &store
            .rotate(
                &TokenId::parse("tok_ffff").unwrap(),
                record(5, 1_000, None),
                1,
            )
            .await,
    ));
    assert!(
        store
            .find_by_id(&record(5, 0, None).id)
            .await
            .unwrap()
            .is_none()
    );
    // A replacement whose hash or id exists: refused, the old token unchanged.
    let mut clash = record(6, 1_000, None);
    clash.hash = r2.hash;
    log(show(&store.rotate(&r3.id, clash, 4_000).await));
    let mut clash = record(6, 1_000, None);
    clash.id = r2.id.clone();
    log(show(&store.rotate(&r3.id, clash, 4_000).await));
    assert_eq!(store.find_by_id(&r3.id).await.unwrap().as_ref(), Some(&r3));
    // A later expiry than the old one's keeps the old one's.
    let r7 = record(7, 1_100, None);
    let later = store.rotate(&r3.id, r7, 6_000).await;
    assert_eq!(
        later.as_ref().unwrap().as_ref().unwrap().expires_at,
        Some(5_000)
    );
    log(show(&later));
    log(show(&store.get(r4.hash).await));
    log(show(&store.get(r1.hash).await));

    let listed = store.list().await;
    assert_eq!(listed.as_ref().unwrap().len(), 5);
    log(show(&listed));

    // Purge: r2 was revoked at 1500; r1 expires at 1800.
    let purged = store.purge(1_700).await;
    assert_eq!(purged.as_ref().unwrap(), &1);
    log(show(&purged));
    let purged = store.purge(1_900).await;
    assert_eq!(purged.as_ref().unwrap(), &1);
    log(show(&purged));
    log(show(&store.purge(1_900).await));
    assert!(store.get(r1.hash).await.unwrap().is_none());
    assert!(store.find_by_id(&r2.id).await.unwrap().is_none());
    log(show(&store.list().await));
    // A purged hash and id are free again.
    log(show(&store.insert(r1.clone()).await));
    log(show(&store.list().await));
    transcript
}

#[tokio::test]
async fn the_redis_token_store_answers_as_the_memory_store_does() {
    let redis = TestRedis::new("token-same");
    let memory = exercise(&MemoryTokenStore::new()).await;
    let in_redis = exercise(&RedisTokenStore::new(&redis.connect().await)).await;
    assert_eq!(in_redis.len(), memory.len());
    for (i, (r, m)) in in_redis.iter().zip(&memory).enumerate() {
        assert_eq!(r, m, "answer {i}");
    }
}

#[tokio::test]
async fn records_live_under_the_documented_keys() {
    let redis = TestRedis::new("token-keys");
    let store = RedisTokenStore::new(&redis.connect().await);
    let r = record(1, 100, None);
    store.insert(r.clone()).await.unwrap();
    let hex = r.hash.to_hex();
    let p = &redis.prefix;
    let json: String = raw(&redis.url, &["GET", &format!("{p}tok:{hex}")]).await;
    assert_eq!(serde_json::from_str::<TokenRecord>(&json).unwrap(), r);
    let hash: String = raw(&redis.url, &["GET", &format!("{p}id:tok_01")]).await;
    assert_eq!(hash, hex);
    let ids: Vec<String> = raw(&redis.url, &["SMEMBERS", &format!("{p}ids")]).await;
    assert_eq!(ids, vec!["tok_01".to_owned()]);
    // No Redis TTL: expiry is the record's.
    let ttl: i64 = raw(&redis.url, &["TTL", &format!("{p}tok:{hex}")]).await;
    assert_eq!(ttl, -1);

    // A damaged record is reported as corrupt, naming the key (hash shortened), not the data.
    let _: () = raw(&redis.url, &["SET", &format!("{p}tok:{hex}"), "{not json"]).await;
    let error = store.get(r.hash).await.unwrap_err();
    match error {
        TokenStoreError::Corrupt { location, .. } => {
            assert_eq!(location, format!("{p}tok:{}…", &hex[..8]));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn a_revocation_through_one_instance_is_seen_by_another_at_once() {
    let redis = TestRedis::new("token-two");
    let clock = ManualClock::from_unix(START);
    let instance = |connection: RedisConnection| {
        ApiTokens::new(Arc::new(RedisTokenStore::new(&connection)))
            .with_clock(Arc::new(clock.clone()))
    };
    let operator = instance(redis.connect().await);
    let server = instance(redis.connect().await);

    let (token, record) = operator
        .issue(
            "partner-a",
            Scopes::parse("orders:read").unwrap(),
            TokenTtl::Default,
        )
        .await
        .unwrap();
    let grant = server.authenticate(token.expose_secret()).await.unwrap();
    assert_eq!(grant.id, record.id);

    operator.revoke(&record.id).await.unwrap();
    assert!(matches!(
        server.authenticate(token.expose_secret()).await,
        Err(TokenRefusal::Revoked { .. })
    ));

    // A rotation by one instance: the other accepts both tokens during the overlap, then only
    // the new one.
    let (old_token, old) = operator
        .issue(
            "partner-b",
            Scopes::parse("orders:read").unwrap(),
            TokenTtl::Default,
        )
        .await
        .unwrap();
    let rotation = operator.rotate(&old.id).await.unwrap();
    assert!(server.authenticate(old_token.expose_secret()).await.is_ok());
    assert!(
        server
            .authenticate(rotation.token.expose_secret())
            .await
            .is_ok()
    );
    clock.advance(Duration::from_secs(7 * 24 * 60 * 60));
    assert!(matches!(
        server.authenticate(old_token.expose_secret()).await,
        Err(TokenRefusal::Expired { .. })
    ));
    assert!(
        server
            .authenticate(rotation.token.expose_secret())
            .await
            .is_ok()
    );
    // Rotating it again from the server instance is refused: it was already replaced.
    assert!(server.rotate(&old.id).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_of_one_token_leave_one_successor() {
    let redis = TestRedis::new("token-race");
    let a = RedisTokenStore::new(&redis.connect().await);
    let b = RedisTokenStore::new(&redis.connect().await);
    let old = record(1, 100, None);
    a.insert(old.clone()).await.unwrap();
    let (ra, rb) = tokio::join!(
        a.rotate(&old.id, record(2, 200, None), 1_000),
        b.rotate(&old.id, record(3, 200, None), 1_000),
    );
    let successes = [ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(successes, 1, "{ra:?} {rb:?}");
    let stored = a.find_by_id(&old.id).await.unwrap().unwrap();
    let successor = stored.replaced_by.unwrap();
    // Only the winner's replacement was stored.
    let records = a.list().await.unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.iter().any(|r| r.id == successor));
}

// ---------------------------------------------------------------------------------------------
// Redis going away and coming back
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_follows_each_stores_policy_and_service_resumes() {
    let mut server = RedisServer::start();
    let config = RedisConfig::new(server.url())
        .key_prefix("outage:")
        .command_timeout(Duration::from_millis(300));
    let connection = config.connect().await.unwrap();
    let clock = ManualClock::from_unix(START);
    let limits = RateLimits::without_fallback().with(
        RateLimitClass::write(),
        AuthMode::ApiToken,
        Quota::per_minute(n(2)),
    );
    let store = Arc::new(RedisRateLimitStore::new(&connection));
    let open = RateLimiter::with_store(limits.clone(), store.clone(), Arc::new(clock.clone()));
    let closed = RateLimiter::with_store(limits, store.clone(), Arc::new(clock.clone()))
        .on_store_failure(StoreFailurePolicy::FailClosed);
    let tokens = ApiTokens::new(Arc::new(RedisTokenStore::new(&connection)))
        .with_clock(Arc::new(clock.clone()));
    let key = token_key(&RateLimitClass::write(), "tok_outage");

    let (token, _) = tokens
        .issue("partner", Scopes::parse("a").unwrap(), TokenTtl::Default)
        .await
        .unwrap();
    assert!(closed.check(&key).await.is_allowed());
    assert!(closed.check(&key).await.is_allowed());
    assert!(!closed.check(&key).await.is_allowed());

    server.kill();
    for _ in 0..3 {
        // Fail open: allowed (not counted); fail closed: limited for a second.
        assert_eq!(
            open.check(&key).await,
            RateDecision::Allowed { remaining: None }
        );
        assert_eq!(
            closed.check(&key).await,
            RateDecision::Limited {
                retry_after: Duration::from_secs(1)
            }
        );
        // Tokens fail closed.
        assert!(matches!(
            tokens.authenticate(token.expose_secret()).await,
            Err(TokenRefusal::StoreUnavailable(
                TokenStoreError::Unavailable { .. }
            ))
        ));
        let direct = RedisTokenStore::new(&connection)
            .get(token.hash())
            .await
            .unwrap_err();
        assert!(
            matches!(direct, TokenStoreError::Unavailable { .. }),
            "{direct:?}"
        );
    }

    // Redis comes back (empty: it kept nothing). The connection manager reconnects on its own;
    // wait, generously, for the first answer.
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    let fresh = token_key(&RateLimitClass::write(), "tok_after");
    let quota = Quota::per_minute(n(2));
    loop {
        match store.check(&fresh, &quota, clock.since_epoch()).await {
            Ok(decision) => {
                assert_eq!(decision, RateDecision::Allowed { remaining: Some(1) });
                break;
            }
            Err(error) => {
                assert!(Instant::now() < deadline, "Redis never came back: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // Decisions are exact again, and tokens work.
    assert_eq!(
        closed.check(&fresh).await,
        RateDecision::Allowed { remaining: Some(0) }
    );
    assert_eq!(
        closed.check(&fresh).await,
        RateDecision::Limited {
            retry_after: Duration::from_secs(30)
        }
    );
    let (token, record) = tokens
        .issue("partner", Scopes::parse("a").unwrap(), TokenTtl::Default)
        .await
        .unwrap();
    assert_eq!(
        tokens.authenticate(token.expose_secret()).await.unwrap().id,
        record.id
    );
}

#[tokio::test]
async fn a_lazy_connection_starts_without_redis() {
    // Nothing listens on this port (bound and released just now).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = RedisConfig::new(format!("redis://127.0.0.1:{port}"))
        .command_timeout(Duration::from_millis(200));
    assert!(config.connect().await.is_err());
    let connection = config.connect_lazy().unwrap();
    let store = RedisTokenStore::new(&connection);
    assert!(matches!(
        store.get(TokenHash::from_bytes([1; 32])).await,
        Err(TokenStoreError::Unavailable { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Timing (not a test of speed: run by hand, prints medians)
// ---------------------------------------------------------------------------------------------

/// `cargo test -p mcp-auth --features redis --release --test redis -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints timings; run by hand"]
async fn print_check_timings() {
    let redis = TestRedis::new("timing");
    let clock: Arc<dyn Clock> = Arc::new(mcp_auth::clock::SystemClock);
    let limits = RateLimits::with_fallback(Quota::per_second(n(1_000_000_000)));
    let memory = RateLimiter::in_memory_with(
        limits.clone(),
        MemoryLimiterConfig::default(),
        clock.clone(),
    );
    let store = Arc::new(RedisRateLimitStore::new(&redis.connect().await));
    let shared = RateLimiter::with_store(limits, store, clock);
    let keys: Vec<RateLimitKey> = (0..1024)
        .map(|i| token_key(&RateLimitClass::read(), &format!("tok_{i}")))
        .collect();
    let median = |mut samples: Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2]
    };
    let rounds = 5_000;
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let key = &keys[i % keys.len()];
        let started = Instant::now();
        std::hint::black_box(memory.check(key).await);
        samples.push(started.elapsed());
    }
    let memory_median = median(std::mem::take(&mut samples));
    for i in 0..rounds {
        let key = &keys[i % keys.len()];
        let started = Instant::now();
        assert!(shared.check(key).await.is_allowed());
        samples.push(started.elapsed());
    }
    let redis_median = median(std::mem::take(&mut samples));
    // Many checks in flight at once: the multiplexed connection pipelines them.
    let in_flight = 64;
    let batches = 200;
    let started = Instant::now();
    for b in 0..batches {
        let mut tasks = tokio::task::JoinSet::new();
        for j in 0..in_flight {
            let shared = shared.clone();
            let key = keys[(b * in_flight + j) % keys.len()].clone();
            tasks.spawn(async move { shared.check(&key).await });
        }
        while tasks.join_next().await.is_some() {}
    }
    let per_check_pipelined = started.elapsed() / (batches * in_flight) as u32;
    println!("memory check, median:            {memory_median:?}");
    println!("Redis check (loopback), median:  {redis_median:?}");
    println!("Redis check, {in_flight} in flight, mean: {per_check_pipelined:?} per check");
    println!(
        "Redis costs {:?} more per sequential check",
        redis_median.saturating_sub(memory_median)
    );
}
