//! Group `redis_limits`: one rate-limit check through
//! [`mcp_auth::ratelimit::RedisRateLimitStore`] on a loopback Redis,
//! against the same check in memory.
//!
//! The group starts its own `redis-server` on a free loopback port (`--save ''`,
//! `--appendonly no`), or uses the server at `REDIS_URL` when that is set, under a key prefix of
//! its own. Without either, [`cases`] fails and says why.
//!
//! Every case rotates through [`KEYS`] keys (API tokens in the `read` class) under a quota no
//! check exhausts (10^9 a second), so every check writes a new arrival time, as an admitted call
//! does; the Redis keys live a millisecond (their TTL) and the budget never refills from
//! nothing.
//!
//! - `memory/check`: `RateLimiter::check_now` on the in-memory backend (governor), no runtime.
//! - `memory/check-block-on`: `RateLimiter::check` on the in-memory backend, awaited through a
//!   current-thread Tokio runtime's `block_on`: the harness cost the Redis cases also pay.
//! - `redis/check`: `RateLimiter::check` on a Redis store, one at a time: one `EVALSHA` round
//!   trip on loopback per iteration (the script is loaded once, then called by its SHA-1).
//! - `redis/check-x32-in-flight`: 32 checks on 32 keys in flight at once (32 tasks on the
//!   runtime), which the `redis` crate's multiplexed connection pipelines on one socket; one
//!   iteration is the 32 checks, so divide by 32 for the cost of one check under load.
//!
//! No local caching is measured: any cache in front of Redis could over-admit, which the store
//! must not do. Pipelining concurrent checks is the exact speed-up, and it is what the
//! multiplexed connection does by itself.

use std::cell::Cell;
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::num::NonZeroU32;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_auth::clock::{Clock, SystemClock};
use mcp_auth::ratelimit::{
    MemoryLimiterConfig, Quota, RateLimitClass, RateLimitKey, RateLimitSubject, RateLimiter,
    RateLimits, RedisRateLimitStore, StoreFailurePolicy,
};
use mcp_auth::redis_connection::RedisConfig;
use tokio::runtime::Runtime;

use super::{Case, Ratio};

/// The group name.
pub const GROUP: &str = "redis_limits";

/// How many keys the cases rotate through.
pub const KEYS: usize = 1024;
/// Checks in flight at once in the pipelined case.
pub const IN_FLIGHT: usize = 32;

/// Case names.
pub mod names {
    /// The in-memory check, synchronous.
    pub const MEMORY: &str = "memory/check";
    /// The in-memory check through `block_on`.
    pub const MEMORY_BLOCK_ON: &str = "memory/check-block-on";
    /// The Redis check, one at a time.
    pub const REDIS: &str = "redis/check";
    /// 32 Redis checks in flight at once (divide by 32 for one).
    pub const REDIS_PIPELINED: &str = "redis/check-x32-in-flight";
}

/// The ratios the report shows (no target: a network round trip against a hash-map update).
pub const RATIOS: &[Ratio] = &[
    Ratio {
        label: "Redis check / in-memory check (both through block_on)",
        numerator: names::REDIS,
        denominator: names::MEMORY_BLOCK_ON,
        target: None,
    },
    Ratio {
        label: "32 Redis checks in flight / one Redis check",
        numerator: names::REDIS_PIPELINED,
        denominator: names::REDIS,
        target: None,
    },
];

/// A `redis-server` on a free loopback port, killed on drop.
struct RedisServer {
    child: Child,
}

impl RedisServer {
    fn start() -> Result<(RedisServer, String), String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free loopback port: {e}"))?;
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start redis-server ({e}): install redis-server or set REDIS_URL \
                     to run the {GROUP} group"
                )
            })?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ping(port) {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("redis-server on port {port} exited: {status}"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("redis-server on port {port} did not answer PING"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok((RedisServer { child }, format!("redis://127.0.0.1:{port}/0")))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// What the cases share: the runtime, both limiters, the keys, and the server (kept alive as
/// long as a case is).
pub struct Fixtures {
    runtime: Runtime,
    memory: RateLimiter,
    redis: RateLimiter,
    keys: Vec<RateLimitKey>,
    next: Cell<usize>,
    _server: Option<RedisServer>,
}

impl Fixtures {
    /// Starts (or finds) Redis and builds both limiters.
    pub fn new() -> Result<Fixtures, String> {
        let (server, url) = match std::env::var("REDIS_URL") {
            Ok(url) if !url.is_empty() => (None, url),
            _ => {
                let (server, url) = RedisServer::start()?;
                (Some(server), url)
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let prefix = format!("mcp-auth-bench:{}:", std::process::id());
        let connection = runtime
            .block_on(RedisConfig::new(url).key_prefix(prefix).connect())
            .map_err(|e| e.to_string())?;
        let quota = Quota::per_second(NonZeroU32::MAX);
        let limits = RateLimits::with_fallback(quota);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let memory = RateLimiter::in_memory_with(
            limits.clone(),
            MemoryLimiterConfig::default(),
            clock.clone(),
        );
        let redis = RateLimiter::with_store(
            limits,
            Arc::new(RedisRateLimitStore::new(&connection)),
            clock,
        )
        // A failure must not pass for an admitted call: fail closed, and `check` sees it.
        .on_store_failure(StoreFailurePolicy::FailClosed);
        let keys = (0..KEYS)
            .map(|i| {
                RateLimitKey::from_parts(
                    RateLimitClass::read(),
                    RateLimitSubject::ApiToken(Arc::from(format!("tok_{i:016x}"))),
                )
            })
            .collect();
        Ok(Fixtures {
            runtime,
            memory,
            redis,
            keys,
            next: Cell::new(0),
            _server: server,
        })
    }

    fn key(&self) -> &RateLimitKey {
        let i = self.next.get();
        self.next.set((i + 1) % self.keys.len());
        &self.keys[i]
    }

    /// The synchronous in-memory check.
    pub fn memory_check(&self) -> bool {
        self.memory
            .check_now(self.key())
            .is_some_and(|d| d.is_allowed())
    }

    /// The in-memory check, awaited through `block_on`.
    pub fn memory_check_block_on(&self) -> bool {
        let key = self.key();
        self.runtime.block_on(self.memory.check(key)).is_allowed()
    }

    /// One Redis check.
    pub fn redis_check(&self) -> bool {
        let key = self.key();
        self.runtime.block_on(self.redis.check(key)).is_allowed()
    }

    /// [`IN_FLIGHT`] Redis checks at once; true when all were admitted.
    pub fn redis_checks_in_flight(&self) -> bool {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..IN_FLIGHT {
            let limiter = self.redis.clone();
            let key = self.key().clone();
            tasks.spawn_on(
                async move { limiter.check(&key).await.is_allowed() },
                self.runtime.handle(),
            );
        }
        self.runtime.block_on(async move {
            let mut all = true;
            while let Some(joined) = tasks.join_next().await {
                all &= joined.unwrap_or(false);
            }
            all
        })
    }

    /// Every routine succeeds once (Redis answers, nothing is refused).
    pub fn check(&self) -> Result<(), String> {
        let routines: [(&str, Routine); 4] = [
            (names::MEMORY, Fixtures::memory_check),
            (names::MEMORY_BLOCK_ON, Fixtures::memory_check_block_on),
            (names::REDIS, Fixtures::redis_check),
            (names::REDIS_PIPELINED, Fixtures::redis_checks_in_flight),
        ];
        for (name, routine) in routines {
            if !routine(self) {
                return Err(format!("{GROUP}/{name}: a check was refused or failed"));
            }
        }
        Ok(())
    }
}

/// One timed operation on the fixtures.
type Routine = fn(&Fixtures) -> bool;

/// The group's cases, in report order, after [`Fixtures::check`] passed.
pub fn cases() -> Result<Vec<Case>, String> {
    let fixtures = Rc::new(Fixtures::new()?);
    fixtures.check()?;
    let case = |name: &'static str, routine: Routine| {
        let f = Rc::clone(&fixtures);
        Case::new(name, move || routine(black_box(&f)))
    };
    Ok(vec![
        case(names::MEMORY, Fixtures::memory_check),
        case(names::MEMORY_BLOCK_ON, Fixtures::memory_check_block_on),
        case(names::REDIS, Fixtures::redis_check),
        case(names::REDIS_PIPELINED, Fixtures::redis_checks_in_flight),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_check_and_every_case_succeeds() {
        let cases = cases().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cases.len(), 4);
        for c in &cases {
            assert!(c.run(), "{}", c.name);
        }
    }
}
