//! `rate_limit` rules: GCRA per key, in memory (the `governor` crate, with a bounded key table)
//! or in Redis (feature `redis`, one Lua script per check, shared by every instance).

use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::{Clock, GovernorClock};
use crate::expr::{Field, hash_field};
use crate::facts::RequestFacts;

/// How many keys a rule tracks before it drops idle ones; when every tracked key is active, new
/// keys are refused (fail closed) until some go idle.
pub(crate) const DEFAULT_MAX_KEYS: usize = 100_000;

/// While a table is full, how often at most it is swept for idle keys. A sweep visits every
/// key (a third of a millisecond at 100,000 keys); sweeping on every new key would let a flood
/// of fresh addresses buy that much CPU per request. Between sweeps, new keys are refused.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

type Limiter = RateLimiter<
    u64,
    DashMapStateStore<u64>,
    GovernorClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// The parameters and the state of a `rate_limit` rule.
pub(crate) struct RateLimit {
    pub requests: NonZeroU32,
    pub period: Duration,
    pub key: Vec<Field>,
    backend: Backend,
}

/// Where a rule's counts live.
enum Backend {
    /// In this process.
    Memory {
        limiter: Limiter,
        clock: Arc<dyn Clock>,
        hasher: foldhash::fast::RandomState,
        max_keys: usize,
        /// When the next sweep of a full table may run (clock time, nanoseconds).
        next_sweep: AtomicU64,
    },
    /// In Redis, shared by every process with the same limiter settings.
    #[cfg(feature = "redis")]
    Redis(super::redis_limit::SharedLimit),
}

/// What a rule's check says without waiting.
pub(crate) enum LocalCheck {
    /// Within the limit (counted).
    Within,
    /// Over the limit: retry after this long.
    Over(Duration),
    /// The count is in Redis: ask with [`RateLimit::check_shared`].
    #[cfg(feature = "redis")]
    Shared,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("requests", &self.requests)
            .field("period", &self.period)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl RateLimit {
    /// `requests` per `period`, allowed as a burst, refilled evenly.
    pub(crate) fn new(
        requests: NonZeroU32,
        period: Duration,
        key: Vec<Field>,
        clock: Arc<dyn Clock>,
    ) -> Option<Self> {
        let interval = period.checked_div(requests.get())?;
        let quota = Quota::with_period(interval)?.allow_burst(requests);
        let limiter = RateLimiter::new(
            quota,
            DashMapStateStore::default(),
            GovernorClock(clock.clone()),
        );
        Some(RateLimit {
            requests,
            period,
            key,
            backend: Backend::Memory {
                limiter,
                clock,
                hasher: foldhash::fast::RandomState::default(),
                max_keys: DEFAULT_MAX_KEYS,
                next_sweep: AtomicU64::new(0),
            },
        })
    }

    /// `requests` per `period` as [`RateLimit::new`], counted in Redis under the rule `rule_id`.
    #[cfg(feature = "redis")]
    pub(crate) fn shared(
        requests: NonZeroU32,
        period: Duration,
        key: Vec<Field>,
        limiter: &super::redis_limit::RedisRateLimiter,
        rule_id: &str,
    ) -> Option<Self> {
        let interval = period.checked_div(requests.get())?;
        // The same quota checks as the in-memory limiter, so both accept the same rules.
        Quota::with_period(interval)?;
        let shared = limiter.limit_for(rule_id, requests, period)?;
        Some(RateLimit {
            requests,
            period,
            key,
            backend: Backend::Redis(shared),
        })
    }

    /// The retry delay when a check fails closed: one emission interval.
    pub(crate) fn interval(&self) -> Duration {
        self.period
            .checked_div(self.requests.get())
            .unwrap_or(self.period)
    }

    /// Whether the counts live in Redis.
    pub(crate) fn is_shared(&self) -> bool {
        match self.backend {
            Backend::Memory { .. } => false,
            #[cfg(feature = "redis")]
            Backend::Redis(_) => true,
        }
    }

    /// Counts the request in memory, or says that Redis must be asked.
    pub(crate) fn check_local(&self, facts: &RequestFacts<'_>) -> LocalCheck {
        match &self.backend {
            Backend::Memory {
                limiter,
                clock,
                hasher,
                max_keys,
                next_sweep,
            } => {
                if limiter.len() >= *max_keys {
                    if !sweep_due(next_sweep, clock.now()) {
                        return LocalCheck::Over(self.interval());
                    }
                    limiter.retain_recent();
                    if limiter.len() >= *max_keys {
                        return LocalCheck::Over(self.interval());
                    }
                }
                let mut hasher = hasher.build_hasher();
                for field in &self.key {
                    hash_field(*field, facts, &mut hasher);
                    hasher.write_u8(0xff);
                }
                match limiter.check_key(&hasher.finish()) {
                    Ok(()) => LocalCheck::Within,
                    Err(not_until) => LocalCheck::Over(not_until.wait_time_from(clock.now())),
                }
            }
            #[cfg(feature = "redis")]
            Backend::Redis(_) => LocalCheck::Shared,
        }
    }

    /// Counts the request in Redis; `Err(retry_after)` when its key is over the limit, or when
    /// Redis cannot answer and the limiter fails closed. In memory, as [`RateLimit::check_local`].
    #[cfg(feature = "redis")]
    pub(crate) async fn check_shared(&self, facts: &RequestFacts<'_>) -> Result<(), Duration> {
        match &self.backend {
            Backend::Redis(shared) => shared.check(self, facts).await,
            Backend::Memory { .. } => match self.check_local(facts) {
                LocalCheck::Over(retry) => Err(retry),
                _ => Ok(()),
            },
        }
    }

    /// The answer of a rule counted in Redis when Redis cannot be asked (a synchronous
    /// evaluation): as configured for an outage, logged.
    #[cfg(feature = "redis")]
    pub(crate) fn shared_unavailable(&self) -> Result<(), Duration> {
        match &self.backend {
            Backend::Redis(shared) => shared.unavailable(
                self,
                &"a synchronous evaluation cannot wait for redis (use Policy::evaluate_async)",
            ),
            Backend::Memory { .. } => Ok(()),
        }
    }

    /// Counts the request; `Err(retry_after)` when its key is over the limit. A rule counted in
    /// Redis cannot be waited for here: it answers as Redis being unavailable.
    #[cfg(test)]
    pub(crate) fn check(&self, facts: &RequestFacts<'_>) -> Result<(), Duration> {
        match self.check_local(facts) {
            LocalCheck::Within => Ok(()),
            LocalCheck::Over(retry) => Err(retry),
            #[cfg(feature = "redis")]
            LocalCheck::Shared => self.shared_unavailable(),
        }
    }

    #[cfg(test)]
    pub(crate) fn with_max_keys(mut self, max_keys: usize) -> Self {
        match &mut self.backend {
            Backend::Memory { max_keys: max, .. } => *max = max_keys,
            #[cfg(feature = "redis")]
            Backend::Redis(_) => {}
        }
        self
    }

    #[cfg(test)]
    fn memory_len(&self) -> usize {
        match &self.backend {
            Backend::Memory { limiter, .. } => limiter.len(),
            #[cfg(feature = "redis")]
            Backend::Redis(_) => 0,
        }
    }
}

/// Whether a sweep of a full table may run at `now`; if so, the next one may run
/// [`SWEEP_INTERVAL`] later. Exactly one caller wins each due sweep.
fn sweep_due(next_sweep: &AtomicU64, now: Duration) -> bool {
    let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
    let due = next_sweep.load(Ordering::Relaxed);
    if now < due {
        return false;
    }
    let next = now.saturating_add(u64::try_from(SWEEP_INTERVAL.as_nanos()).unwrap_or(u64::MAX));
    next_sweep
        .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok()
}

/// `"10s"`, `"1m"`, `"1h"`, `"1d"`, or a plain number of seconds.
pub(crate) fn parse_period(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        "d" => number.checked_mul(86_400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn periods() {
        assert_eq!(parse_period("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_period("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_period("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_period("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_period("0s"), None);
        assert_eq!(parse_period("1w"), None);
        assert_eq!(parse_period(""), None);
    }

    #[test]
    fn limits_per_key_and_refills() {
        let clock = ManualClock::new();
        let three = NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN);
        let limit = RateLimit::new(
            three,
            Duration::from_secs(60),
            vec![Field::IpSrc],
            Arc::new(clock.clone()),
        )
        .unwrap_or_else(|| panic!("quota"));
        let a = RequestFacts::new("GET", "/").with_client_ip(
            "192.0.2.1"
                .parse()
                .unwrap_or(std::net::IpAddr::from([0u8; 4])),
        );
        let b = RequestFacts::new("GET", "/").with_client_ip(
            "192.0.2.2"
                .parse()
                .unwrap_or(std::net::IpAddr::from([0u8; 4])),
        );
        for _ in 0..3 {
            assert!(limit.check(&a).is_ok());
        }
        let retry = limit.check(&a).err();
        assert_eq!(retry, Some(Duration::from_secs(20)));
        assert!(limit.check(&b).is_ok());
        clock.advance(Duration::from_secs(20));
        assert!(limit.check(&a).is_ok());
        assert!(limit.check(&a).is_err());
    }

    #[test]
    fn a_key_flood_is_bounded_and_fails_closed() {
        let clock = ManualClock::new();
        let one = NonZeroU32::MIN;
        let limit = RateLimit::new(
            one,
            Duration::from_secs(60),
            vec![Field::IpSrc],
            Arc::new(clock.clone()),
        )
        .unwrap_or_else(|| panic!("quota"))
        .with_max_keys(100);
        let mut refused = 0;
        for i in 0..1000u32 {
            let facts = RequestFacts::new("GET", "/")
                .with_client_ip(std::net::IpAddr::from(i.to_be_bytes()));
            if limit.check(&facts).is_err() {
                refused += 1;
            }
        }
        assert!(limit.memory_len() <= 100);
        assert_eq!(refused, 900);
        // Once the keys go idle, new ones are admitted again (at the next sweep).
        clock.advance(Duration::from_secs(120));
        let facts =
            RequestFacts::new("GET", "/").with_client_ip(std::net::IpAddr::from([10, 0, 0, 1]));
        assert!(limit.check(&facts).is_ok());
        assert_eq!(limit.memory_len(), 1);
    }

    #[test]
    fn a_full_table_is_swept_at_most_once_a_second() {
        let clock = ManualClock::new();
        let limit = RateLimit::new(
            NonZeroU32::MIN,
            Duration::from_millis(200),
            vec![Field::IpSrc],
            Arc::new(clock.clone()),
        )
        .unwrap_or_else(|| panic!("quota"))
        .with_max_keys(10);
        let ip = |i: u32| {
            RequestFacts::new("GET", "/").with_client_ip(std::net::IpAddr::from(i.to_be_bytes()))
        };
        for i in 0..10 {
            assert!(limit.check(&ip(i)).is_ok());
        }
        // Full of active keys: the sweep finds nothing idle; refused.
        assert!(limit.check(&ip(100)).is_err());
        // The keys are idle after 200 ms, but the next sweep is not due before a second has
        // passed: refused, the table untouched.
        clock.advance(Duration::from_millis(500));
        assert!(limit.check(&ip(101)).is_err());
        assert_eq!(limit.memory_len(), 10);
        // A second after the first sweep, the next one clears the idle keys.
        clock.advance(Duration::from_millis(500));
        assert!(limit.check(&ip(102)).is_ok());
        assert_eq!(limit.memory_len(), 1);
    }
}
