//! `rate_limit` rules counted in Redis (feature `redis`): one limit for every instance.

use std::fmt;
use std::hash::Hasher;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, Script};
use sha2::{Digest, Sha256};

use super::ratelimit::RateLimit;
use crate::clock::Clock;
use crate::expr::hash_field;
use crate::facts::RequestFacts;

/// GCRA, as the in-memory limiter (`governor`) runs it, on one key, atomically.
///
/// `KEYS[1]`: the key. `ARGV`: now, the emission interval `t` and the tolerance
/// `tau = t * (requests - 1)`, all in whole microseconds. The key holds the theoretical arrival
/// time (TAT); a missing key is a TAT of now. Returns `{1, 0}` when the request is allowed (and
/// counted), `{0, wait}` when it is not before `wait` microseconds. The key expires once its TAT
/// has passed (plus a second, against clock differences with Redis), when it means no more than
/// a missing key.
const GCRA_LUA: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = tonumber(stored) or now
end
local earliest = tat - tolerance
if now < earliest then
  return {0, earliest - now}
end
local next_tat = math.max(tat, now) + interval
local ttl_ms = math.ceil((next_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', string.format('%d', ttl_ms))
return {1, 0}
";

static GCRA: LazyLock<Script> = LazyLock::new(|| Script::new(GCRA_LUA));

/// What a rate limit does when Redis cannot answer (down, unreachable, or slower than the
/// command timeout).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitUnavailable {
    /// The request is let through uncounted: an outage of Redis does not turn traffic away.
    /// The default.
    #[default]
    FailOpen,
    /// The request is refused as over the limit (`429`, `Retry-After` of one emission interval,
    /// `period / requests`).
    FailClosed,
}

/// Why a [`RedisRateLimiter`] could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisLimiterError {
    /// The URL did not parse, or the first connection failed.
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
}

/// Counts `rate_limit` rules in Redis, so that every instance of a service enforces one limit.
///
/// Give it to [`LoadOptions::redis_rate_limiter`](crate::policy::LoadOptions::redis_rate_limiter):
/// every `rate_limit` rule of the policies loaded with those options is then counted in Redis,
/// with the same GCRA as the in-memory limiter (`requests` allowed at once, refilled one every
/// `period / requests`) and the same `Retry-After`. Each check is one Lua script (`EVALSHA`,
/// loaded again by itself after a Redis restart) on one key: the prefix, the rule id, the quota
/// (so a changed limit starts afresh), and a SHA-256 of the rule's key fields, the same fields
/// the in-memory limiter hashes. The key holds the theoretical arrival time and expires once it
/// has passed, so idle keys disappear. A reload of the policy keeps the counts of the rules whose
/// id and quota did not change (in memory, a reload starts every rule afresh).
///
/// Time is read from the limiter's [`Clock`], not from Redis (`TIME`), so tests can inject it;
/// every instance must therefore read clocks with the same start. The default clock is the
/// system's wall clock since the Unix epoch (machines kept in step by NTP: a skew between two of
/// them shifts the limit by as much). Times are whole microseconds (Lua numbers are doubles): a
/// `Retry-After` can differ from the in-memory limiter's by under a microsecond when
/// `period / requests` is not a whole number of microseconds.
///
/// When Redis cannot answer within the command timeout (default 500 ms), the rule answers as
/// configured with [`RedisRateLimiter::when_unavailable`] (fail open by default), and logs it at
/// `warn` under the target `bot_policy::rate_limit`. The connection is the `redis` crate's
/// [`ConnectionManager`] (one multiplexed connection that reconnects by itself). Needs a Tokio
/// runtime.
///
/// Redis is asked by [`Policy::evaluate_async`](crate::Policy::evaluate_async) and by the
/// `BotPolicyLayer`; the synchronous [`Policy::evaluate`](crate::Policy::evaluate) cannot wait
/// and answers as for an outage.
///
/// ```no_run
/// use bot_policy::Policy;
/// use bot_policy::policy::{LoadOptions, RateLimitUnavailable, RedisRateLimiter};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = RedisRateLimiter::connect("redis://127.0.0.1:6379/")
///     .await?
///     .key_prefix("shop:bot-policy:")
///     .when_unavailable(RateLimitUnavailable::FailClosed);
/// let options = LoadOptions::new().redis_rate_limiter(limiter);
/// let policy = Policy::from_toml_str_with(
///     r#"
///     [[rules]]
///     id = "crawlers"
///     expression = 'cf.verified_bot_category eq "AI Crawler"'
///     action = "rate_limit"
///     requests = 60
///     period = "1m"
///     "#,
///     &options,
/// )?;
/// # let _ = policy;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisRateLimiter {
    connection: ConnectionManager,
    key_prefix: String,
    command_timeout: Duration,
    when_unavailable: RateLimitUnavailable,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for RedisRateLimiter {
    // The connection is left out: its client's address may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("key_prefix", &self.key_prefix)
            .field("command_timeout", &self.command_timeout)
            .field("when_unavailable", &self.when_unavailable)
            .finish_non_exhaustive()
    }
}

/// Wall-clock time since the Unix epoch: the same start on every machine.
struct UnixTime;

impl Clock for UnixTime {
    fn now(&self) -> Duration {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

impl RedisRateLimiter {
    /// The default key prefix.
    pub const DEFAULT_KEY_PREFIX: &'static str = "bot-policy:rate:";
    /// The default timeout of one check.
    pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

    /// Connects to the Redis at `url` (`redis://[user:password@]host:port/db`), failing when the
    /// first connection does; the defaults otherwise (prefix [`Self::DEFAULT_KEY_PREFIX`], 500 ms
    /// per check, fail open, Unix time).
    pub async fn connect(url: &str) -> Result<Self, RedisLimiterError> {
        let client = Client::open(url)?;
        let connection = ConnectionManager::new_with_config(client, manager_config()).await?;
        Ok(Self::new(connection))
    }

    /// As [`RedisRateLimiter::connect`], without waiting for a connection: the first check
    /// connects (so a service can start while Redis is down). Fails only on a malformed URL.
    /// Must be called inside a Tokio runtime.
    pub fn connect_lazy(url: &str) -> Result<Self, RedisLimiterError> {
        let client = Client::open(url)?;
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config())?;
        Ok(Self::new(connection))
    }

    /// A limiter on an existing connection, with the defaults.
    pub fn new(connection: ConnectionManager) -> Self {
        RedisRateLimiter {
            connection,
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            command_timeout: Self::DEFAULT_COMMAND_TIMEOUT,
            when_unavailable: RateLimitUnavailable::default(),
            clock: Arc::new(UnixTime),
        }
    }

    /// Puts keys under this prefix (default [`Self::DEFAULT_KEY_PREFIX`]).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Gives Redis this long to answer one check (default 500 ms).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// What to answer when Redis cannot (default [`RateLimitUnavailable::FailOpen`]).
    pub fn when_unavailable(mut self, choice: RateLimitUnavailable) -> Self {
        self.when_unavailable = choice;
        self
    }

    /// Reads time from `clock` (default: wall-clock time since the Unix epoch). Every instance
    /// sharing the Redis must read clocks with the same start.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The settings of one rule; `None` for a quota GCRA cannot hold.
    pub(crate) fn limit_for(
        &self,
        rule_id: &str,
        requests: NonZeroU32,
        period: Duration,
    ) -> Option<SharedLimit> {
        let interval = period.checked_div(requests.get())?;
        let interval_us = u64::try_from(interval.as_micros()).ok()?.max(1);
        let tolerance_us = interval_us.checked_mul(u64::from(requests.get() - 1))?;
        let key_base = format!(
            "{}{rule_id}:{}/{}us:",
            self.key_prefix,
            requests.get(),
            period.as_micros()
        );
        Some(SharedLimit {
            limiter: self.clone(),
            key_base,
            interval_us,
            tolerance_us,
        })
    }
}

/// One rule's limit in Redis.
pub(crate) struct SharedLimit {
    limiter: RedisRateLimiter,
    key_base: String,
    interval_us: u64,
    tolerance_us: u64,
}

impl SharedLimit {
    /// The Redis key of the request's rule key.
    fn redis_key(&self, rule: &RateLimit, facts: &RequestFacts<'_>) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut digest = KeyDigest(Sha256::new());
        for field in &rule.key {
            hash_field(*field, facts, &mut digest);
        }
        let digest = digest.0.finalize();
        let mut key = String::with_capacity(self.key_base.len() + 32);
        key.push_str(&self.key_base);
        for &byte in digest.iter().take(16) {
            key.push(char::from(HEX[usize::from(byte >> 4)]));
            key.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        key
    }

    /// Counts the request in Redis.
    pub(crate) async fn check(
        &self,
        rule: &RateLimit,
        facts: &RequestFacts<'_>,
    ) -> Result<(), Duration> {
        let key = self.redis_key(rule, facts);
        let now_us = u64::try_from(self.limiter.clock.now().as_micros()).unwrap_or(u64::MAX);
        let mut invocation = GCRA.key(key);
        invocation
            .arg(now_us)
            .arg(self.interval_us)
            .arg(self.tolerance_us);
        let mut connection = self.limiter.connection.clone();
        let answer = tokio::time::timeout(
            self.limiter.command_timeout,
            invocation.invoke_async::<(i64, i64)>(&mut connection),
        )
        .await;
        match answer {
            Ok(Ok((1, _))) => Ok(()),
            Ok(Ok((_, wait_us))) => Err(Duration::from_micros(
                u64::try_from(wait_us).unwrap_or_default(),
            )),
            Ok(Err(error)) => self.unavailable(rule, &format_args!("redis: {error}")),
            Err(_) => self.unavailable(
                rule,
                &format_args!(
                    "redis did not answer within {} ms",
                    self.limiter.command_timeout.as_millis()
                ),
            ),
        }
    }

    /// The configured answer when Redis cannot be asked, logged.
    pub(crate) fn unavailable(
        &self,
        rule: &RateLimit,
        error: &dyn fmt::Display,
    ) -> Result<(), Duration> {
        match self.limiter.when_unavailable {
            RateLimitUnavailable::FailOpen => {
                tracing::warn!(
                    target: "bot_policy::rate_limit",
                    %error,
                    "redis rate limiter unavailable; failing open: the request is not counted"
                );
                Ok(())
            }
            RateLimitUnavailable::FailClosed => {
                tracing::warn!(
                    target: "bot_policy::rate_limit",
                    %error,
                    "redis rate limiter unavailable; failing closed: the request is refused"
                );
                Err(rule.interval())
            }
        }
    }
}

/// Feeds field values to SHA-256 the same way on every machine (little-endian integers, each
/// value length-prefixed), so every instance finds the same key.
struct KeyDigest(Sha256);

impl Hasher for KeyDigest {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }

    fn write_i64(&mut self, i: i64) {
        self.write(&i.to_le_bytes());
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        // Only the SHA-256 is used.
        0
    }
}

/// Connection timeouts for the manager; the limiter's own timeout bounds every check.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(RedisRateLimiter::DEFAULT_COMMAND_TIMEOUT))
        .set_response_timeout(Some(RedisRateLimiter::DEFAULT_COMMAND_TIMEOUT))
}
