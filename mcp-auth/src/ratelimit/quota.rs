//! Quotas (n requests per period, with a burst) and the table that gives each
//! (class, authentication mode) its quota.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use super::RateLimitClass;
use crate::principal::AuthMode;

/// The longest time a quota may take to refill its whole burst (a year): keeps the GCRA
/// arithmetic (nanoseconds in a `u64`) far from overflow.
pub const MAX_QUOTA_WINDOW: Duration = Duration::from_secs(366 * 24 * 3600);

/// Why a quota was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuotaError {
    /// The period is zero.
    #[error("a quota's period must not be zero")]
    ZeroPeriod,
    /// More requests than nanoseconds in the period.
    #[error("{requests} requests per {period:?} is finer than one request per nanosecond")]
    TooFine {
        /// The requests per period.
        requests: u32,
        /// The period.
        period: Duration,
    },
    /// The burst takes longer than [`MAX_QUOTA_WINDOW`] to refill.
    #[error("a burst of {burst} at one request per {interval:?} takes more than a year to refill")]
    WindowTooLong {
        /// The burst.
        burst: u32,
        /// The time to earn one request.
        interval: Duration,
    },
}

/// A rate: `requests` per `period`, earned continuously (one every `period / requests`), with up
/// to `burst` requests admitted back to back. Validated at construction.
///
/// ```
/// use std::num::NonZeroU32;
/// use mcp_auth::ratelimit::Quota;
///
/// let quota = Quota::per_minute(NonZeroU32::new(60).unwrap());
/// assert_eq!(quota.burst().get(), 60);
/// assert_eq!(quota.replenish_interval().as_secs(), 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    requests: NonZeroU32,
    period: Duration,
    burst: NonZeroU32,
}

impl Quota {
    /// `requests` per `period`, with a burst of `requests`.
    pub fn new(requests: NonZeroU32, period: Duration) -> Result<Quota, QuotaError> {
        Quota::with_burst_of(requests, period, requests)
    }

    /// `requests` per `period`, with a burst of `burst`.
    pub fn with_burst_of(
        requests: NonZeroU32,
        period: Duration,
        burst: NonZeroU32,
    ) -> Result<Quota, QuotaError> {
        if period.is_zero() {
            return Err(QuotaError::ZeroPeriod);
        }
        let interval = period / requests.get();
        if interval.is_zero() {
            return Err(QuotaError::TooFine {
                requests: requests.get(),
                period,
            });
        }
        if interval.saturating_mul(burst.get()) > MAX_QUOTA_WINDOW {
            return Err(QuotaError::WindowTooLong {
                burst: burst.get(),
                interval,
            });
        }
        Ok(Quota {
            requests,
            period,
            burst,
        })
    }

    /// `requests` per second (burst `requests`); more than 10^9 per second counts as 10^9.
    pub fn per_second(requests: NonZeroU32) -> Quota {
        const MAX_PER_SECOND: NonZeroU32 = NonZeroU32::MIN.saturating_add(999_999_999);
        Quota::fixed(requests.min(MAX_PER_SECOND), 1)
    }

    /// `requests` per minute (burst `requests`).
    pub fn per_minute(requests: NonZeroU32) -> Quota {
        Quota::fixed(requests, 60)
    }

    /// `requests` per hour (burst `requests`).
    pub fn per_hour(requests: NonZeroU32) -> Quota {
        Quota::fixed(requests, 3600)
    }

    /// A quota whose validity follows from its shape: at most 10^9 requests per second, or any
    /// `u32` of requests per minute or hour (6e10 ns > 4.3e9), is never finer than a nanosecond,
    /// and a burst of `requests` refills in the period (at most an hour).
    fn fixed(requests: NonZeroU32, seconds: u64) -> Quota {
        Quota {
            requests,
            period: Duration::from_secs(seconds),
            burst: requests,
        }
    }

    /// The same rate with another burst.
    pub fn burst_of(self, burst: NonZeroU32) -> Result<Quota, QuotaError> {
        Quota::with_burst_of(self.requests, self.period, burst)
    }

    /// Requests per period.
    pub fn requests(&self) -> NonZeroU32 {
        self.requests
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Requests admitted back to back.
    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// The time to earn one request: `period / requests`.
    pub fn replenish_interval(&self) -> Duration {
        self.period / self.requests.get()
    }

    /// The same quota for the `governor` crate.
    pub(crate) fn to_governor(self) -> Option<governor::Quota> {
        governor::Quota::with_period(self.replenish_interval()).map(|q| q.allow_burst(self.burst))
    }
}

impl fmt::Debug for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Quota {
    /// `60/60s burst 60`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{:?} burst {}",
            self.requests, self.period, self.burst
        )
    }
}

/// The rate-limit class names of the default table.
pub mod class_names {
    /// Browsing the catalogue: products, search.
    pub const CATALOGUE_READ: &str = "catalogue.read";
    /// Stock levels (partners, by API token).
    pub const INVENTORY_READ: &str = "inventory.read";
    /// Reading an order's status.
    pub const ORDER_STATUS: &str = "order.status";
    /// Placing or changing an order.
    pub const ORDER_WRITE: &str = "order.write";
    /// Generic reads (the [`RateLimitClass::read`](super::RateLimitClass::read) class).
    pub const READ: &str = "read";
    /// Generic writes (the [`RateLimitClass::write`](super::RateLimitClass::write) class).
    pub const WRITE: &str = "write";
}

/// Which quota applies to a call: a table from (rate-limit class, authentication mode) to
/// [`Quota`], and a fallback quota for pairs the table does not name.
///
/// A (class, mode) pair without an entry gets the fallback quota (each key still has its own
/// budget); with no fallback ([`RateLimits::without_fallback`]) such calls are not limited.
/// The fallback of the default table is 60 requests per minute.
///
/// The default table ([`RateLimits::default`]), per minute:
///
/// | class            | anonymous (per IP) | api_token (per token) | oauth (per user) |
/// |------------------|-------------------:|----------------------:|-----------------:|
/// | `catalogue.read` | 60                 | 600                   | 120              |
/// | `inventory.read` | –                  | 300                   | –                |
/// | `order.status`   | –                  | 60                    | 60               |
/// | `order.write`    | –                  | 30                    | 10               |
/// | `read`           | 30                 | 300                   | 120              |
/// | `write`          | 5                  | 60                    | 20               |
///
/// ```
/// use mcp_auth::AuthMode;
/// use mcp_auth::ratelimit::{RateLimitClass, RateLimits};
///
/// let limits = RateLimits::default();
/// let class = RateLimitClass::new("order.write").unwrap();
/// let quota = limits.quota_for(&class, AuthMode::OAuth).unwrap();
/// assert_eq!(quota.requests().get(), 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    table: BTreeMap<(RateLimitClass, AuthMode), Quota>,
    fallback: Option<Quota>,
}

/// The fallback quota of the default table: 60 requests per minute.
const DEFAULT_FALLBACK_PER_MINUTE: u32 = 60;

impl RateLimits {
    /// An empty table whose every call gets `fallback`.
    pub fn with_fallback(fallback: Quota) -> RateLimits {
        RateLimits {
            table: BTreeMap::new(),
            fallback: Some(fallback),
        }
    }

    /// An empty table with no fallback: only the pairs added later are limited.
    pub fn without_fallback() -> RateLimits {
        RateLimits {
            table: BTreeMap::new(),
            fallback: None,
        }
    }

    /// Sets the quota of (`class`, `mode`).
    pub fn set(&mut self, class: RateLimitClass, mode: AuthMode, quota: Quota) {
        self.table.insert((class, mode), quota);
    }

    /// Sets the quota of (`class`, `mode`), builder style.
    pub fn with(mut self, class: RateLimitClass, mode: AuthMode, quota: Quota) -> RateLimits {
        self.set(class, mode, quota);
        self
    }

    /// Replaces the fallback quota (`None`: pairs without an entry are not limited).
    pub fn set_fallback(&mut self, fallback: Option<Quota>) {
        self.fallback = fallback;
    }

    /// The quota the table names for (`class`, `mode`), without the fallback.
    pub fn get(&self, class: &RateLimitClass, mode: AuthMode) -> Option<&Quota> {
        self.table.get(&(class.clone(), mode))
    }

    /// The quota that applies to (`class`, `mode`): the table's entry, else the fallback;
    /// `None` means not limited.
    pub fn quota_for(&self, class: &RateLimitClass, mode: AuthMode) -> Option<&Quota> {
        self.get(class, mode).or(self.fallback.as_ref())
    }

    /// The fallback quota.
    pub fn fallback(&self) -> Option<&Quota> {
        self.fallback.as_ref()
    }

    /// Every entry, sorted by class then mode.
    pub fn iter(&self) -> impl Iterator<Item = (&RateLimitClass, AuthMode, &Quota)> {
        self.table
            .iter()
            .map(|((class, mode), quota)| (class, *mode, quota))
    }
}

impl Default for RateLimits {
    /// The table documented on [`RateLimits`], with a fallback of 60 requests per minute.
    fn default() -> RateLimits {
        use class_names::*;
        let entries: [(&str, AuthMode, u32); 14] = [
            (CATALOGUE_READ, AuthMode::Anonymous, 60),
            (CATALOGUE_READ, AuthMode::ApiToken, 600),
            (CATALOGUE_READ, AuthMode::OAuth, 120),
            (INVENTORY_READ, AuthMode::ApiToken, 300),
            (ORDER_STATUS, AuthMode::ApiToken, 60),
            (ORDER_STATUS, AuthMode::OAuth, 60),
            (ORDER_WRITE, AuthMode::ApiToken, 30),
            (ORDER_WRITE, AuthMode::OAuth, 10),
            (READ, AuthMode::Anonymous, 30),
            (READ, AuthMode::ApiToken, 300),
            (READ, AuthMode::OAuth, 120),
            (WRITE, AuthMode::Anonymous, 5),
            (WRITE, AuthMode::ApiToken, 60),
            (WRITE, AuthMode::OAuth, 20),
        ];
        let mut limits = RateLimits::without_fallback();
        limits.fallback = NonZeroU32::new(DEFAULT_FALLBACK_PER_MINUTE).map(Quota::per_minute);
        for (class, mode, per_minute) in entries {
            // The names and numbers above are constants that pass validation.
            if let (Ok(class), Some(n)) = (RateLimitClass::new(class), NonZeroU32::new(per_minute))
            {
                limits.set(class, mode, Quota::per_minute(n));
            }
        }
        limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    #[test]
    fn quotas_are_validated() {
        assert_eq!(
            Quota::new(n(10), Duration::ZERO),
            Err(QuotaError::ZeroPeriod)
        );
        assert!(matches!(
            Quota::new(n(1000), Duration::from_nanos(999)),
            Err(QuotaError::TooFine { .. })
        ));
        assert!(matches!(
            Quota::with_burst_of(n(1), Duration::from_secs(86_400), n(400)),
            Err(QuotaError::WindowTooLong { .. })
        ));
        let q = Quota::with_burst_of(n(30), Duration::from_secs(60), n(5)).unwrap();
        assert_eq!(q.replenish_interval(), Duration::from_secs(2));
        assert_eq!(q.burst(), n(5));
        assert_eq!(q.to_string(), "30/60s burst 5");
        assert_eq!(Quota::per_hour(n(7)).period(), Duration::from_secs(3600));
        let fastest = Quota::per_second(n(4_000_000_000));
        assert_eq!(fastest.requests(), n(1_000_000_000));
        assert_eq!(fastest.replenish_interval(), Duration::from_nanos(1));
    }

    #[test]
    fn the_default_table_is_the_issues() {
        use class_names::*;
        let limits = RateLimits::default();
        let expected: &[(&str, AuthMode, u32)] = &[
            (CATALOGUE_READ, AuthMode::Anonymous, 60),
            (CATALOGUE_READ, AuthMode::ApiToken, 600),
            (CATALOGUE_READ, AuthMode::OAuth, 120),
            (INVENTORY_READ, AuthMode::ApiToken, 300),
            (ORDER_STATUS, AuthMode::ApiToken, 60),
            (ORDER_STATUS, AuthMode::OAuth, 60),
            (ORDER_WRITE, AuthMode::ApiToken, 30),
            (ORDER_WRITE, AuthMode::OAuth, 10),
            (READ, AuthMode::Anonymous, 30),
            (READ, AuthMode::ApiToken, 300),
            (READ, AuthMode::OAuth, 120),
            (WRITE, AuthMode::Anonymous, 5),
            (WRITE, AuthMode::ApiToken, 60),
            (WRITE, AuthMode::OAuth, 20),
        ];
        let mut actual: Vec<(String, AuthMode, Quota)> = limits
            .iter()
            .map(|(c, m, q)| (c.as_str().to_owned(), m, *q))
            .collect();
        let mut wanted: Vec<(String, AuthMode, Quota)> = expected
            .iter()
            .map(|(c, m, per_min)| ((*c).to_owned(), *m, Quota::per_minute(n(*per_min))))
            .collect();
        actual.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        wanted.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        assert_eq!(actual, wanted);
        for (_, _, q) in &actual {
            assert_eq!(q.period(), Duration::from_secs(60));
            assert_eq!(q.burst(), q.requests());
        }
        assert_eq!(limits.fallback(), Some(&Quota::per_minute(n(60))));
    }

    #[test]
    fn missing_pairs_get_the_fallback_or_nothing() {
        let inventory = RateLimitClass::new(class_names::INVENTORY_READ).unwrap();
        let limits = RateLimits::default();
        assert_eq!(limits.get(&inventory, AuthMode::Anonymous), None);
        assert_eq!(
            limits.quota_for(&inventory, AuthMode::Anonymous),
            Some(&Quota::per_minute(n(60)))
        );
        let strict = RateLimits::without_fallback().with(
            inventory.clone(),
            AuthMode::ApiToken,
            Quota::per_second(n(1)),
        );
        assert_eq!(strict.quota_for(&inventory, AuthMode::OAuth), None);
        assert_eq!(
            strict.quota_for(&inventory, AuthMode::ApiToken),
            Some(&Quota::per_second(n(1)))
        );
        let everything = RateLimits::with_fallback(Quota::per_hour(n(3)));
        assert_eq!(
            everything.quota_for(&RateLimitClass::write(), AuthMode::OAuth),
            Some(&Quota::per_hour(n(3)))
        );
    }
}
