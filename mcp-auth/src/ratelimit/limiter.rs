//! The front type: a quota table and where the budgets live (memory or a shared store).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{MemoryLimiterConfig, MemoryRateLimiter, RateLimitKey, RateLimitStore, RateLimits};
use crate::clock::{Clock, SystemClock};

/// The answer to one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateDecision {
    /// The call may go ahead.
    Allowed {
        /// Requests that could follow right away, when known.
        remaining: Option<u32>,
    },
    /// The budget is spent: answer `429 Too Many Requests` with `Retry-After`.
    Limited {
        /// How long until one request is admitted again.
        retry_after: Duration,
    },
}

impl RateDecision {
    /// Whether the call may go ahead.
    pub fn is_allowed(&self) -> bool {
        matches!(self, RateDecision::Allowed { .. })
    }

    /// The `Retry-After` value in seconds for a limited call (see [`retry_after_secs`]).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            RateDecision::Allowed { .. } => None,
            RateDecision::Limited { retry_after } => Some(retry_after_secs(*retry_after)),
        }
    }
}

/// A wait as a `Retry-After` delay: whole seconds rounded up, at least 1 (a client told `0`
/// would retry at once and be refused again).
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// What a [`RateLimiter`] backed by a store answers when the store fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StoreFailurePolicy {
    /// Let the call through (logged at `warn`). The default: a rate limit protects capacity,
    /// and refusing every call while the store is down is the outage it was meant to prevent.
    #[default]
    FailOpen,
    /// Refuse the call as limited, with a `Retry-After` of one second (logged at `error`).
    FailClosed,
}

#[derive(Clone)]
enum Backend {
    Memory(MemoryRateLimiter),
    Store(Arc<dyn RateLimitStore>),
}

/// Rate limits per principal and class: a [`RateLimits`] table, and budgets kept in memory
/// ([`MemoryRateLimiter`]) or in a shared [`RateLimitStore`]. Cheap to clone.
///
/// [`RateLimiter::check`] serves both; [`RateLimiter::check_now`] is the synchronous fast path
/// of the in-memory backend (no future, no allocation) and answers `None` for a store.
///
/// ```
/// use std::net::IpAddr;
/// use std::sync::Arc;
/// use mcp_auth::Principal;
/// use mcp_auth::clock::ManualClock;
/// use mcp_auth::ratelimit::{
///     MemoryLimiterConfig, RateLimitClass, RateLimitKey, RateLimiter, RateLimits, class_names,
/// };
///
/// let clock = Arc::new(ManualClock::from_unix(1_700_000_000));
/// let limiter =
///     RateLimiter::in_memory_with(RateLimits::default(), MemoryLimiterConfig::default(), clock);
/// let ip: IpAddr = "192.0.2.1".parse().unwrap();
/// let class = RateLimitClass::new(class_names::CATALOGUE_READ).unwrap();
/// let key = RateLimitKey::new(&Principal::Anonymous { ip: Some(ip) }, &class);
/// // Anonymous catalogue reads: 60 per minute per IP.
/// for _ in 0..60 {
///     assert!(limiter.check_now(&key).unwrap().is_allowed());
/// }
/// let refused = limiter.check_now(&key).unwrap();
/// assert_eq!(refused.retry_after_secs(), Some(1));
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    limits: Arc<RateLimits>,
    backend: Backend,
    clock: Arc<dyn Clock>,
    on_store_failure: StoreFailurePolicy,
}

impl RateLimiter {
    /// Budgets in memory, the system clock, the default cap on tracked keys.
    pub fn in_memory(limits: RateLimits) -> RateLimiter {
        RateLimiter::in_memory_with(
            limits,
            MemoryLimiterConfig::default(),
            Arc::new(SystemClock),
        )
    }

    /// Budgets in memory, sized by `config`, reading time from `clock`.
    pub fn in_memory_with(
        limits: RateLimits,
        config: MemoryLimiterConfig,
        clock: Arc<dyn Clock>,
    ) -> RateLimiter {
        let memory = MemoryRateLimiter::new(&limits, config, Arc::clone(&clock));
        RateLimiter {
            limits: Arc::new(limits),
            backend: Backend::Memory(memory),
            clock,
            on_store_failure: StoreFailurePolicy::default(),
        }
    }

    /// Budgets in `store`, with `now` read from `clock`. Failures of the store follow
    /// [`StoreFailurePolicy::FailOpen`] unless [`RateLimiter::on_store_failure`] says otherwise.
    pub fn with_store(
        limits: RateLimits,
        store: Arc<dyn RateLimitStore>,
        clock: Arc<dyn Clock>,
    ) -> RateLimiter {
        RateLimiter {
            limits: Arc::new(limits),
            backend: Backend::Store(store),
            clock,
            on_store_failure: StoreFailurePolicy::default(),
        }
    }

    /// What to answer when the store fails (no effect on the in-memory backend, which cannot).
    pub fn on_store_failure(mut self, policy: StoreFailurePolicy) -> RateLimiter {
        self.on_store_failure = policy;
        self
    }

    /// The quota table.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The in-memory backend, if this limiter uses it (for [`MemoryRateLimiter::evict_idle`]
    /// and [`MemoryRateLimiter::tracked_keys`]).
    pub fn memory(&self) -> Option<&MemoryRateLimiter> {
        match &self.backend {
            Backend::Memory(memory) => Some(memory),
            Backend::Store(_) => None,
        }
    }

    /// The synchronous check of the in-memory backend; `None` when the budgets are in a store
    /// (use [`RateLimiter::check`]).
    pub fn check_now(&self, key: &RateLimitKey) -> Option<RateDecision> {
        self.memory().map(|memory| memory.check(key))
    }

    /// Spends one request of `key`'s budget. A (class, mode) pair with no quota and no fallback
    /// is allowed without counting.
    pub async fn check(&self, key: &RateLimitKey) -> RateDecision {
        let store = match &self.backend {
            Backend::Memory(memory) => return memory.check(key),
            Backend::Store(store) => store,
        };
        let Some(quota) = self.limits.quota_for(key.class(), key.mode()) else {
            return RateDecision::Allowed { remaining: None };
        };
        match store.check(key, quota, self.clock.since_epoch()).await {
            Ok(decision) => decision,
            Err(error) => match self.on_store_failure {
                StoreFailurePolicy::FailOpen => {
                    tracing::warn!(
                        class = %key.class(),
                        mode = %key.mode(),
                        %error,
                        "rate-limit store failed; call allowed (fail open)"
                    );
                    RateDecision::Allowed { remaining: None }
                }
                StoreFailurePolicy::FailClosed => {
                    tracing::error!(
                        class = %key.class(),
                        mode = %key.mode(),
                        %error,
                        "rate-limit store failed; call refused (fail closed)"
                    );
                    RateDecision::Limited {
                        retry_after: Duration::from_secs(1),
                    }
                }
            },
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.backend {
            Backend::Memory(_) => "memory",
            Backend::Store(_) => "store",
        };
        f.debug_struct("RateLimiter")
            .field("limits", &self.limits)
            .field("backend", &backend)
            .field("on_store_failure", &self.on_store_failure)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::sync::Mutex;

    use super::*;
    use crate::BoxFuture;
    use crate::clock::ManualClock;
    use crate::principal::AuthMode;
    use crate::ratelimit::{Quota, RateLimitClass, RateLimitStoreError, RateLimitSubject};

    /// Records what it is asked and answers from a script.
    struct ScriptedStore {
        seen: Mutex<Vec<(String, Quota, Duration)>>,
        answer: fn() -> Result<RateDecision, RateLimitStoreError>,
    }

    impl RateLimitStore for ScriptedStore {
        fn check<'a>(
            &'a self,
            key: &'a RateLimitKey,
            quota: &'a Quota,
            now: Duration,
        ) -> BoxFuture<'a, Result<RateDecision, RateLimitStoreError>> {
            self.seen
                .lock()
                .unwrap()
                .push((key.to_string(), *quota, now));
            Box::pin(async move { (self.answer)() })
        }
    }

    fn store(answer: fn() -> Result<RateDecision, RateLimitStoreError>) -> Arc<ScriptedStore> {
        Arc::new(ScriptedStore {
            seen: Mutex::default(),
            answer,
        })
    }

    fn write_key() -> RateLimitKey {
        RateLimitKey::from_parts(
            RateLimitClass::write(),
            RateLimitSubject::ApiToken(Arc::from("tok_7")),
        )
    }

    #[test]
    fn retry_after_rounds_up_to_at_least_one_second() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(6)), 6);
        assert_eq!(
            RateDecision::Allowed { remaining: None }.retry_after_secs(),
            None
        );
    }

    #[tokio::test]
    async fn a_store_gets_the_quota_of_the_pair_and_the_clocks_time() {
        let clock = Arc::new(ManualClock::from_unix(1_700_000_000));
        let store = store(|| {
            Ok(RateDecision::Limited {
                retry_after: Duration::from_millis(2500),
            })
        });
        let limiter = RateLimiter::with_store(RateLimits::default(), store.clone(), clock);
        assert_eq!(limiter.check_now(&write_key()), None);
        let decision = limiter.check(&write_key()).await;
        assert_eq!(decision.retry_after_secs(), Some(3));
        let seen = store.seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![(
                "write|token:tok_7".to_owned(),
                Quota::per_minute(NonZeroU32::new(60).unwrap()),
                Duration::from_secs(1_700_000_000)
            )]
        );
    }

    #[tokio::test]
    async fn store_failures_follow_the_policy() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::from_unix(1));
        let failing = || Err(RateLimitStoreError::Timeout);
        let open = RateLimiter::with_store(RateLimits::default(), store(failing), clock.clone());
        assert_eq!(
            open.check(&write_key()).await,
            RateDecision::Allowed { remaining: None }
        );
        let closed = RateLimiter::with_store(RateLimits::default(), store(failing), clock)
            .on_store_failure(StoreFailurePolicy::FailClosed);
        assert_eq!(
            closed.check(&write_key()).await,
            RateDecision::Limited {
                retry_after: Duration::from_secs(1)
            }
        );
    }

    #[tokio::test]
    async fn pairs_without_a_quota_never_reach_the_store() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::from_unix(1));
        let store = store(|| Err(RateLimitStoreError::Timeout));
        let limiter = RateLimiter::with_store(RateLimits::without_fallback(), store.clone(), clock)
            .on_store_failure(StoreFailurePolicy::FailClosed);
        assert!(limiter.check(&write_key()).await.is_allowed());
        assert!(store.seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_memory_backend_answers_both_ways() {
        let clock = ManualClock::from_unix(1_700_000_000);
        let limits = RateLimits::without_fallback().with(
            RateLimitClass::write(),
            AuthMode::ApiToken,
            Quota::per_minute(NonZeroU32::new(2).unwrap()),
        );
        let limiter =
            RateLimiter::in_memory_with(limits, MemoryLimiterConfig::default(), Arc::new(clock));
        assert!(limiter.check_now(&write_key()).unwrap().is_allowed());
        assert!(limiter.check(&write_key()).await.is_allowed());
        assert_eq!(
            limiter.check(&write_key()).await,
            RateDecision::Limited {
                retry_after: Duration::from_secs(30)
            }
        );
        assert_eq!(limiter.memory().unwrap().tracked_keys(), 1);
    }

    #[test]
    fn the_check_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let limiter = RateLimiter::in_memory(RateLimits::default());
        let key = write_key();
        let future = limiter.check(&key);
        assert_send(&future);
        fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
        assert_shareable::<RateLimiter>();
    }
}
