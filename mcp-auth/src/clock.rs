//! Time, injected: token expiry, JWT `exp`/`nbf`, rotation windows and rate limits all read a
//! [`Clock`], so tests pin and advance time without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// Time since 1970-01-01T00:00:00Z. A clock set before 1970 reads as zero.
    fn since_epoch(&self) -> Duration;

    /// Whole seconds since the epoch.
    fn now_unix(&self) -> u64 {
        self.since_epoch().as_secs()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn since_epoch(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock that stands still until moved; for tests. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `since_epoch` (nanosecond precision, up to the year 2554).
    pub fn new(since_epoch: Duration) -> Self {
        ManualClock(Arc::new(AtomicU64::new(nanos(since_epoch))))
    }

    /// A clock reading `secs` seconds after the epoch.
    pub fn from_unix(secs: u64) -> Self {
        ManualClock::new(Duration::from_secs(secs))
    }

    /// Sets the time.
    pub fn set(&self, since_epoch: Duration) {
        self.0.store(nanos(since_epoch), Ordering::SeqCst);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let by = nanos(by);
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(by))
            });
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Clock for ManualClock {
    fn since_epoch(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn since_epoch(&self) -> Duration {
        (**self).since_epoch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::from_unix(1_700_000_000);
        let other = clock.clone();
        assert_eq!(clock.now_unix(), 1_700_000_000);
        other.advance(Duration::from_millis(1500));
        assert_eq!(clock.now_unix(), 1_700_000_001);
        assert_eq!(clock.since_epoch().subsec_millis(), 500);
        clock.set(Duration::from_secs(5));
        assert_eq!(other.now_unix(), 5);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_unix() > 1_577_836_800);
    }
}
