//! [`RedisRateLimitStore`]: GCRA budgets in Redis, one Lua script per check.

use std::fmt;
use std::time::Duration;

use ::redis::{Script, Value};

use super::{
    MAX_QUOTA_WINDOW, Quota, RateDecision, RateLimitKey, RateLimitStore, RateLimitStoreError,
};
use crate::BoxFuture;
use crate::redis_connection::{RedisCallError, RedisConnection};

/// The GCRA step, atomically: read the key's theoretical arrival time (TAT), decide, and on
/// admission write the new TAT with a TTL of the time until it (when the key would be idle
/// again, so idle keys disappear).
///
/// Lua numbers are doubles, exact only up to 2^53, and nanoseconds since the epoch pass that;
/// so every time is a pair (seconds, nanoseconds), each part an exact integer, and the TAT is
/// stored as the text `<seconds>.<9 digits>`. The decision is the one `governor` makes in
/// memory: with emission interval `t` and tolerance `tau = t * (burst - 1)`, a call at `now`
/// is refused while `now < tat - tau` (retry after `tat - tau - now`), else admitted with
/// `tat = max(tat, now) + t`.
///
/// KEYS[1]: the budget. ARGV: now (s, ns), t (s, ns), tau (s, ns), `1` to read the time from
/// Redis (`TIME`) instead of the caller's `now`, and the idle grace in milliseconds (added to
/// the TTL).
/// Returns `{1, s, ns}` (admitted; the new TAT is `s.ns` after now) or `{0, s, ns}` (refused;
/// retry after `s.ns`).
const GCRA_SCRIPT: &str = r#"
local B = 1000000000
local now_s, now_ns
if ARGV[7] == '1' then
  local time = redis.call('TIME')
  now_s = tonumber(time[1])
  now_ns = tonumber(time[2]) * 1000
else
  now_s = tonumber(ARGV[1])
  now_ns = tonumber(ARGV[2])
end
local t_s, t_ns = tonumber(ARGV[3]), tonumber(ARGV[4])
local tau_s, tau_ns = tonumber(ARGV[5]), tonumber(ARGV[6])

local function less(a_s, a_ns, b_s, b_ns)
  return a_s < b_s or (a_s == b_s and a_ns < b_ns)
end
-- a - b, or 0 when b > a
local function minus(a_s, a_ns, b_s, b_ns)
  local s, ns = a_s - b_s, a_ns - b_ns
  if ns < 0 then
    s = s - 1
    ns = ns + B
  end
  if s < 0 then return 0, 0 end
  return s, ns
end

local tat_s, tat_ns = now_s, now_ns
local stored = redis.call('GET', KEYS[1])
if stored then
  local s, ns = string.match(stored, '^(%d+)%.(%d%d%d%d%d%d%d%d%d)$')
  if not s then
    return redis.error_reply('rate-limit key holds no arrival time: ' .. KEYS[1])
  end
  tat_s, tat_ns = tonumber(s), tonumber(ns)
end

local earliest_s, earliest_ns = minus(tat_s, tat_ns, tau_s, tau_ns)
if less(now_s, now_ns, earliest_s, earliest_ns) then
  local wait_s, wait_ns = minus(earliest_s, earliest_ns, now_s, now_ns)
  return {0, wait_s, wait_ns}
end

if less(tat_s, tat_ns, now_s, now_ns) then
  tat_s, tat_ns = now_s, now_ns
end
local next_s, next_ns = tat_s + t_s, tat_ns + t_ns
if next_ns >= B then
  next_s = next_s + 1
  next_ns = next_ns - B
end
local ahead_s, ahead_ns = minus(next_s, next_ns, now_s, now_ns)
local ttl_ms = ahead_s * 1000 + math.ceil(ahead_ns / 1000000) + tonumber(ARGV[8])
if ttl_ms < 1 then ttl_ms = 1 end
redis.call('SET', KEYS[1], string.format('%d.%09d', next_s, next_ns), 'PX', ttl_ms)
return {1, ahead_s, ahead_ns}
"#;

/// Which clock a [`RedisRateLimitStore`] decides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RedisTimeSource {
    /// The `now` the [`RateLimiter`](super::RateLimiter) passes, read from its injected
    /// [`Clock`](crate::clock::Clock). The default: decisions are reproducible (tests pin time
    /// with a `ManualClock`) and match the in-memory limiter exactly. Every instance must keep
    /// its clock in sync (NTP): an instance whose clock runs `d` ahead sees budgets refill `d`
    /// early, and one running behind refuses calls up to `d` longer; with clocks within a few
    /// milliseconds, as NTP keeps them, that is a few milliseconds of one request's interval.
    #[default]
    Caller,
    /// Redis's own clock (`TIME`, microsecond precision), read inside the script: one clock for
    /// every instance, whatever theirs say, at the cost of ignoring the injected clock (the
    /// `now` the limiter passes is not used). Choose it when the instances' clocks cannot be
    /// trusted to agree. (Redis 5 or later replicates scripts by their effects, so a script
    /// that reads `TIME` is safe with replicas.)
    Server,
}

/// GCRA rate-limit budgets in Redis, shared by every process that uses the same Redis and key
/// prefix: three instances behind a load balancer enforce one limit.
///
/// Each check is one Lua script (`EVALSHA`, falling back to loading the script when the
/// server does not know it yet): it reads the budget's theoretical arrival time, decides and
/// writes the new one, atomically, so concurrent checks from any number of processes never
/// over-admit. Decisions and `Retry-After` are those of the in-memory limiter for the same
/// sequence of times; the key's TTL is the time until the budget is full again, so idle keys
/// disappear by themselves.
///
/// Keys are `<prefix>rl:<class>|<subject>` ([`RateLimitKey`]'s `Display` form), for example
/// `mcp-auth:rl:order.write|token:tok_1f2e…`, holding the arrival time as
/// `<seconds>.<nanoseconds>` since the epoch. Time comes from the caller by default (see
/// [`RedisTimeSource`]).
///
/// Errors (Redis down, a timeout, an unexpected reply) are returned as
/// [`RateLimitStoreError`]; the [`RateLimiter`](super::RateLimiter) holding the store answers
/// them by its [`StoreFailurePolicy`](super::StoreFailurePolicy), and logs that it did.
///
/// No local caching: a cache could only over-admit. The `redis` crate's multiplexed connection
/// pipelines concurrent checks on one socket.
///
/// ```no_run
/// use std::sync::Arc;
/// use mcp_auth::clock::SystemClock;
/// use mcp_auth::ratelimit::{RateLimiter, RateLimits, RedisRateLimitStore, StoreFailurePolicy};
/// use mcp_auth::redis_connection::RedisConfig;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConfig::new("redis://127.0.0.1:6379").connect().await?;
/// let limiter = RateLimiter::with_store(
///     RateLimits::default(),
///     Arc::new(RedisRateLimitStore::new(&redis)),
///     Arc::new(SystemClock),
/// )
/// .on_store_failure(StoreFailurePolicy::FailClosed);
/// # let _ = limiter;
/// # Ok(())
/// # }
/// ```
pub struct RedisRateLimitStore {
    connection: RedisConnection,
    key_prefix: String,
    time_source: RedisTimeSource,
    idle_grace: Duration,
    script: Script,
}

impl RedisRateLimitStore {
    /// Budgets under `<the connection's prefix>rl:`, timed by the caller's clock.
    pub fn new(connection: &RedisConnection) -> RedisRateLimitStore {
        RedisRateLimitStore {
            connection: connection.clone(),
            key_prefix: format!("{}rl:", connection.key_prefix()),
            time_source: RedisTimeSource::default(),
            idle_grace: Duration::ZERO,
            script: Script::new(GCRA_SCRIPT),
        }
    }

    /// Decides by `source`'s clock.
    pub fn time_source(mut self, source: RedisTimeSource) -> RedisRateLimitStore {
        self.time_source = source;
        self
    }

    /// Keeps each key `grace` longer than its arrival time (none by default; at most a year):
    /// the TTL becomes the time until the budget is full again, plus `grace`.
    ///
    /// A key past its arrival time decides exactly as a missing key, so a longer life never
    /// changes a decision; a shorter one could (the budget would refill early). Without grace,
    /// a key lives at least until its arrival time as long as the caller's clock and Redis's
    /// advance at the same rate (the TTL starts when the script runs, after the caller read
    /// its clock). Give a grace when they may not: a caller's clock that is stepped back, or a
    /// clock frozen in tests while real time passes.
    pub fn idle_grace(mut self, grace: Duration) -> RedisRateLimitStore {
        self.idle_grace = grace;
        self
    }

    /// The Redis key of `key`'s budget.
    pub fn redis_key(&self, key: &RateLimitKey) -> String {
        format!("{}{key}", self.key_prefix)
    }

    async fn check_in_redis(
        &self,
        key: &RateLimitKey,
        quota: &Quota,
        now: Duration,
    ) -> Result<RateDecision, RateLimitStoreError> {
        let t = quota.replenish_interval();
        // Validated quotas keep `t * burst` under a year; `saturating_mul` keeps an impossible
        // one from wrapping.
        let tau = t.saturating_mul(quota.burst().get() - 1);
        let server_time = matches!(self.time_source, RedisTimeSource::Server);
        let mut invocation = self.script.key(self.redis_key(key));
        invocation
            .arg(now.as_secs())
            .arg(now.subsec_nanos())
            .arg(t.as_secs())
            .arg(t.subsec_nanos())
            .arg(tau.as_secs())
            .arg(tau.subsec_nanos())
            .arg(if server_time { "1" } else { "0" })
            // At most a year, so the TTL stays an exact integer in Lua.
            .arg(self.idle_grace.min(MAX_QUOTA_WINDOW).as_millis());
        let mut manager = self.connection.manager();
        let reply: Value = self
            .connection
            .bounded(invocation.invoke_async(&mut manager))
            .await
            .map_err(|error| match error {
                RedisCallError::Timeout(_) => RateLimitStoreError::Timeout,
                RedisCallError::Redis(error) => RateLimitStoreError::Unavailable(Box::new(error)),
            })?;
        decision(&reply, t, tau)
    }
}

/// The decision from the script's reply `{admitted, s, ns}`.
fn decision(
    reply: &Value,
    t: Duration,
    tau: Duration,
) -> Result<RateDecision, RateLimitStoreError> {
    let invalid = || RateLimitStoreError::InvalidReply(format!("{reply:?}"));
    let Value::Array(items) = reply else {
        return Err(invalid());
    };
    let [Value::Int(admitted), Value::Int(secs), Value::Int(nanos)] = items.as_slice() else {
        return Err(invalid());
    };
    let secs = u64::try_from(*secs).map_err(|_| invalid())?;
    let nanos = u32::try_from(*nanos)
        .ok()
        .filter(|&n| n < 1_000_000_000)
        .ok_or_else(invalid)?;
    let span = Duration::new(secs, nanos);
    match admitted {
        // `span` is how far the new arrival time is ahead of now: what is left of the burst is
        // what fits in the tolerance after it (as `governor` counts it).
        1 => {
            let window = tau.saturating_add(t);
            let left = window.saturating_sub(span).as_nanos() / t.as_nanos().max(1);
            Ok(RateDecision::Allowed {
                remaining: Some(u32::try_from(left).unwrap_or(u32::MAX)),
            })
        }
        0 => Ok(RateDecision::Limited { retry_after: span }),
        _ => Err(invalid()),
    }
}

impl RateLimitStore for RedisRateLimitStore {
    fn check<'a>(
        &'a self,
        key: &'a RateLimitKey,
        quota: &'a Quota,
        now: Duration,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitStoreError>> {
        Box::pin(self.check_in_redis(key, quota, now))
    }
}

impl fmt::Debug for RedisRateLimitStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimitStore")
            .field("connection", &self.connection)
            .field("key_prefix", &self.key_prefix)
            .field("time_source", &self.time_source)
            .field("idle_grace", &self.idle_grace)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(admitted: i64, secs: i64, nanos: i64) -> Value {
        Value::Array(vec![
            Value::Int(admitted),
            Value::Int(secs),
            Value::Int(nanos),
        ])
    }

    #[test]
    fn replies_become_decisions() {
        let t = Duration::from_secs(1);
        let tau = Duration::from_secs(59);
        // A fresh key: the new arrival time is one interval ahead, 59 left.
        assert_eq!(
            decision(&reply(1, 1, 0), t, tau).unwrap(),
            RateDecision::Allowed {
                remaining: Some(59)
            }
        );
        // The last of the burst.
        assert_eq!(
            decision(&reply(1, 60, 0), t, tau).unwrap(),
            RateDecision::Allowed { remaining: Some(0) }
        );
        assert_eq!(
            decision(&reply(0, 0, 600_000_000), t, tau).unwrap(),
            RateDecision::Limited {
                retry_after: Duration::from_millis(600)
            }
        );
        for bad in [
            reply(2, 0, 0),
            reply(1, -1, 0),
            reply(1, 0, 1_000_000_000),
            Value::Array(vec![Value::Int(1)]),
            Value::Nil,
        ] {
            assert!(matches!(
                decision(&bad, t, tau),
                Err(RateLimitStoreError::InvalidReply(_))
            ));
        }
    }
}
