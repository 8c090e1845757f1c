//! The in-memory limiter: `governor`'s GCRA over a bounded, sharded table of 64-bit key hashes.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;

use super::{Quota, RateDecision, RateLimitKey, RateLimits};
use crate::clock::Clock;
use crate::principal::AuthMode;

/// How many of the oldest entries a full shard inspects to make room for a new key.
const EVICTION_SAMPLE: usize = 8;
/// The most shards a table is split into (fewer when the cap is small).
const MAX_SHARDS: usize = 16;
/// The default cap on tracked keys.
const DEFAULT_MAX_TRACKED_KEYS: usize = 1_000_000;

/// Sizing of a [`MemoryRateLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimiterConfig {
    max_tracked_keys: NonZeroUsize,
}

impl MemoryLimiterConfig {
    /// At most `max_tracked_keys` keys are tracked at once (the table is split in up to 16
    /// shards of `max_tracked_keys / shards` keys each, so the total never exceeds it).
    pub fn new(max_tracked_keys: NonZeroUsize) -> MemoryLimiterConfig {
        MemoryLimiterConfig { max_tracked_keys }
    }

    /// The cap on tracked keys.
    pub fn max_tracked_keys(&self) -> NonZeroUsize {
        self.max_tracked_keys
    }
}

impl Default for MemoryLimiterConfig {
    /// One million keys (about 40 MB at the worst load factor of the tables).
    fn default() -> MemoryLimiterConfig {
        MemoryLimiterConfig {
            max_tracked_keys: NonZeroUsize::new(DEFAULT_MAX_TRACKED_KEYS)
                .unwrap_or(NonZeroUsize::MIN),
        }
    }
}

/// A pass-through hasher: the table's keys are already keyed 64-bit hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// One shard: key hash → GCRA theoretical arrival time (nanoseconds after the limiter's start),
/// and the keys in the order they were first seen (each key once: `order` and `map` hold the
/// same set).
#[derive(Default)]
struct Shard {
    map: HashMap<u64, u64, BuildHasherDefault<PassThrough>>,
    order: VecDeque<u64>,
}

impl Shard {
    /// Inspects up to [`EVICTION_SAMPLE`] of the oldest keys: removes those that are idle (their
    /// theoretical arrival time has passed, so they are in the same state as an unseen key);
    /// if none is idle and `force`, removes the one closest to idle (the least limited). The
    /// others go to the back of the queue. Returns how many keys were removed.
    fn evict_oldest(&mut self, now: u64, force: bool) -> usize {
        let mut kept = [(0_u64, 0_u64); EVICTION_SAMPLE];
        let mut kept_len = 0;
        let mut removed = 0;
        for _ in 0..EVICTION_SAMPLE {
            let Some(key) = self.order.pop_front() else {
                break;
            };
            match self.map.get(&key) {
                Some(&tat) if tat > now => {
                    if let Some(slot) = kept.get_mut(kept_len) {
                        *slot = (key, tat);
                        kept_len += 1;
                    }
                }
                Some(_) => {
                    self.map.remove(&key);
                    removed += 1;
                }
                // Not tracked any more: nothing to keep.
                None => {}
            }
        }
        let kept = kept.get(..kept_len).unwrap_or(&[]);
        let victim = if removed == 0 && force {
            kept.iter().min_by_key(|(_, tat)| *tat).map(|(key, _)| *key)
        } else {
            None
        };
        for (key, _) in kept {
            if Some(*key) == victim {
                self.map.remove(key);
                removed += 1;
            } else {
                self.order.push_back(*key);
            }
        }
        removed
    }

    fn evict_idle(&mut self, now: u64) -> usize {
        let before = self.map.len();
        self.map.retain(|_, tat| *tat > now);
        let map = &self.map;
        self.order.retain(|key| map.contains_key(key));
        if self.map.len() < self.map.capacity() / 4 {
            self.map.shrink_to_fit();
            self.order.shrink_to_fit();
        }
        before - self.map.len()
    }
}

/// The bounded table, shared by the `governor` limiters of every quota.
struct BoundedTable {
    /// Always [`MAX_SHARDS`] shards; the first `shard_mask + 1` are used.
    shards: [Mutex<Shard>; MAX_SHARDS],
    shard_mask: u64,
    per_shard_cap: usize,
    clock: Arc<dyn Clock>,
    /// Nanoseconds since the epoch, read after every limiter was built: no limiter started
    /// later, so `now - origin` never overstates a key's age and eviction stays conservative.
    origin: AtomicU64,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl BoundedTable {
    fn new(config: MemoryLimiterConfig, clock: Arc<dyn Clock>) -> BoundedTable {
        let cap = config.max_tracked_keys.get();
        // The largest power of two not above min(cap, MAX_SHARDS): at least one.
        let limit = cap.min(MAX_SHARDS);
        let mut shard_count = 1;
        while shard_count * 2 <= limit {
            shard_count *= 2;
        }
        BoundedTable {
            shards: std::array::from_fn(|_| Mutex::default()),
            shard_mask: (shard_count - 1) as u64,
            per_shard_cap: (cap / shard_count).max(1),
            clock,
            origin: AtomicU64::new(u64::MAX),
        }
    }

    fn shard(&self, key: u64) -> MutexGuard<'_, Shard> {
        // Bits 40.. pick the shard: the map uses the low bits (bucket) and the top 7 (tag).
        let index = usize::try_from((key >> 40) & self.shard_mask).unwrap_or(0);
        let shard = self.shards.get(index).unwrap_or(&self.shards[0]);
        shard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Time since the origin, in the frame of the stored arrival times.
    fn now(&self) -> u64 {
        nanos(self.clock.since_epoch()).saturating_sub(self.origin.load(Ordering::Relaxed))
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).map.len())
            .sum()
    }
}

/// The handle each `governor` limiter holds.
#[derive(Clone)]
struct TableHandle(Arc<BoundedTable>);

impl StateStore for TableHandle {
    type Key = u64;

    fn measure_and_replace<T, F, E>(&self, key: &u64, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let table = &*self.0;
        let mut shard = table.shard(*key);
        if let Some(tat) = shard.map.get_mut(key) {
            let (outcome, next) = f(Some(Nanos::from(*tat)))?;
            *tat = next.as_u64();
            return Ok(outcome);
        }
        let (outcome, next) = f(None)?;
        let len = shard.map.len();
        if len >= table.per_shard_cap || len >= shard.map.capacity() {
            // Full, or about to grow: reclaim idle keys first; at the cap, evict one anyway.
            let now = table.now();
            shard.evict_oldest(now, len >= table.per_shard_cap);
        }
        shard.map.insert(*key, next.as_u64());
        shard.order.push_back(*key);
        Ok(outcome)
    }
}

thread_local! {
    /// The last reading of a [`GovernorClock`] on this thread: a refused check computes its
    /// `retry_after` from the reading its decision used, without a second clock read.
    static LAST_READING: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// `crate::clock::Clock` as a `governor` clock: instants are durations since the epoch.
#[derive(Clone)]
struct GovernorClock(Arc<dyn Clock>);

impl governor::clock::Clock for GovernorClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        let now = self.0.since_epoch();
        LAST_READING.with(|last| last.set(now));
        now
    }
}

type Limiter = governor::RateLimiter<u64, TableHandle, GovernorClock, StateInformationMiddleware>;

/// Which limiter serves a (class, mode) pair.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Unlimited,
    Limiter(usize),
}

fn mode_index(mode: AuthMode) -> usize {
    match mode {
        AuthMode::Anonymous => 0,
        AuthMode::ApiToken => 1,
        AuthMode::OAuth => 2,
    }
}

struct MemoryInner {
    classes: HashMap<super::RateLimitClass, [Slot; 3], foldhash::fast::RandomState>,
    fallback: Slot,
    limiters: Vec<(Quota, Limiter)>,
    table: Arc<BoundedTable>,
    key_hasher: foldhash::fast::RandomState,
}

/// GCRA rate limits in memory, with bounded memory under a flood of distinct keys.
///
/// - Each quota of a [`RateLimits`] table gets one `governor` GCRA limiter; all of them share
///   one table of tracked keys. A key is a [`RateLimitKey`] hashed to 64 bits with a randomly
///   seeded `foldhash` hasher (an attacker cannot aim collisions; two keys colliding by chance,
///   about one pair in 2^64, would share a budget). A tracked key costs 16 bytes of table plus
///   8 bytes of eviction queue, about 30 to 60 bytes with the tables' load factors.
/// - A key whose theoretical arrival time has passed is *idle*: it is in the same state as a
///   key never seen, so dropping it changes no decision. Before a shard's table would grow, the
///   oldest keys are checked and idle ones dropped. [`MemoryRateLimiter::evict_idle`] sweeps
///   every shard and returns memory; run it now and then (say, each minute) from a background
///   task.
/// - At most `max_tracked_keys` keys are tracked. When a shard is full and none of its oldest
///   keys is idle, the least limited of them is dropped: its budget starts afresh next time.
///   Keys being limited (arrival time far ahead) are the last to go, so an attacker who floods
///   distinct keys cannot free an exhausted key from its limit, and memory never grows past the
///   cap.
///
/// ```
/// use std::num::NonZeroU32;
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mcp_auth::AuthMode;
/// use mcp_auth::clock::ManualClock;
/// use mcp_auth::ratelimit::{
///     MemoryLimiterConfig, MemoryRateLimiter, Quota, RateDecision, RateLimitClass, RateLimitKey,
///     RateLimitSubject, RateLimits,
/// };
///
/// let limits = RateLimits::without_fallback().with(
///     RateLimitClass::write(),
///     AuthMode::ApiToken,
///     Quota::per_minute(NonZeroU32::new(2).unwrap()),
/// );
/// let clock = ManualClock::from_unix(1_700_000_000);
/// let limiter =
///     MemoryRateLimiter::new(&limits, MemoryLimiterConfig::default(), Arc::new(clock.clone()));
/// let key = RateLimitKey::from_parts(
///     RateLimitClass::write(),
///     RateLimitSubject::ApiToken(Arc::from("tok_1")),
/// );
/// assert!(limiter.check(&key).is_allowed());
/// assert!(limiter.check(&key).is_allowed());
/// assert_eq!(limiter.check(&key), RateDecision::Limited { retry_after: Duration::from_secs(30) });
/// clock.advance(Duration::from_secs(30));
/// assert!(limiter.check(&key).is_allowed());
/// ```
#[derive(Clone)]
pub struct MemoryRateLimiter {
    inner: Arc<MemoryInner>,
}

impl MemoryRateLimiter {
    /// A limiter for `limits`, reading time from `clock`.
    pub fn new(
        limits: &RateLimits,
        config: MemoryLimiterConfig,
        clock: Arc<dyn Clock>,
    ) -> MemoryRateLimiter {
        let table = Arc::new(BoundedTable::new(config, Arc::clone(&clock)));
        let mut limiters: Vec<(Quota, Limiter)> = Vec::new();
        let mut slot_of = |quota: &Quota| -> Slot {
            if let Some(index) = limiters.iter().position(|(q, _)| q == quota) {
                return Slot::Limiter(index);
            }
            // A validated quota always has a non-zero interval; were it not so, the pair would
            // not be limited rather than the program stopping.
            let Some(gcra) = quota.to_governor() else {
                return Slot::Unlimited;
            };
            let limiter: Limiter = governor::RateLimiter::new(
                gcra,
                TableHandle(Arc::clone(&table)),
                GovernorClock(Arc::clone(&clock)),
            );
            limiters.push((*quota, limiter));
            Slot::Limiter(limiters.len() - 1)
        };
        let fallback = limits.fallback().map_or(Slot::Unlimited, &mut slot_of);
        let mut classes: HashMap<_, [Slot; 3], _> = HashMap::default();
        for (class, mode, quota) in limits.iter() {
            let slot = slot_of(quota);
            let slots = classes.entry(class.clone()).or_insert([fallback; 3]);
            if let Some(entry) = slots.get_mut(mode_index(mode)) {
                *entry = slot;
            }
        }
        table
            .origin
            .store(nanos(clock.since_epoch()), Ordering::Relaxed);
        MemoryRateLimiter {
            inner: Arc::new(MemoryInner {
                classes,
                fallback,
                limiters,
                table,
                key_hasher: foldhash::fast::RandomState::default(),
            }),
        }
    }

    /// Spends one request of `key`'s budget, if there is one left.
    pub fn check(&self, key: &RateLimitKey) -> RateDecision {
        let inner = &*self.inner;
        let slot = match inner.classes.get(key.class()) {
            Some(slots) => slots
                .get(mode_index(key.mode()))
                .copied()
                .unwrap_or(inner.fallback),
            None => inner.fallback,
        };
        let Slot::Limiter(index) = slot else {
            return RateDecision::Allowed { remaining: None };
        };
        let Some((_, limiter)) = inner.limiters.get(index) else {
            return RateDecision::Allowed { remaining: None };
        };
        let hash = inner.key_hasher.hash_one(key);
        match limiter.check_key(&hash) {
            Ok(state) => RateDecision::Allowed {
                remaining: Some(state.remaining_burst_capacity()),
            },
            Err(not_until) => RateDecision::Limited {
                // `check_key` read the clock on this thread just now.
                retry_after: not_until.wait_time_from(LAST_READING.with(Cell::get)),
            },
        }
    }

    /// How many keys are tracked now.
    pub fn tracked_keys(&self) -> usize {
        self.inner.table.len()
    }

    /// Drops every idle key (one whose budget is full again: forgetting it changes nothing) and
    /// returns the memory of mostly empty shards. Returns how many keys were dropped.
    pub fn evict_idle(&self) -> usize {
        let table = &*self.inner.table;
        table
            .shards
            .iter()
            .map(|shard| {
                let now = table.now();
                shard
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .evict_idle(now)
            })
            .sum()
    }

    /// The cap on tracked keys actually applied (the configured cap rounded down to a multiple
    /// of the shard count).
    pub fn max_tracked_keys(&self) -> usize {
        let table = &*self.inner.table;
        let used_shards = usize::try_from(table.shard_mask + 1).unwrap_or(1);
        table.per_shard_cap * used_shards
    }
}

impl fmt::Debug for MemoryRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRateLimiter")
            .field(
                "quotas",
                &self
                    .inner
                    .limiters
                    .iter()
                    .map(|(q, _)| q)
                    .collect::<Vec<_>>(),
            )
            .field("max_tracked_keys", &self.max_tracked_keys())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::num::NonZeroU32;

    use super::*;
    use crate::clock::ManualClock;
    use crate::ratelimit::{RateLimitClass, RateLimitSubject};

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    fn limiter(limits: &RateLimits, cap: usize) -> (MemoryRateLimiter, ManualClock) {
        let clock = ManualClock::from_unix(1_700_000_000);
        let config = MemoryLimiterConfig::new(NonZeroUsize::new(cap).unwrap());
        let limiter = MemoryRateLimiter::new(limits, config, Arc::new(clock.clone()));
        (limiter, clock)
    }

    fn ip_key(class: &RateLimitClass, ip: IpAddr) -> RateLimitKey {
        RateLimitKey::from_parts(class.clone(), RateLimitSubject::ip(ip))
    }

    fn v4(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(i))
    }

    fn per_minute_read(requests: u32) -> RateLimits {
        RateLimits::without_fallback().with(
            RateLimitClass::read(),
            AuthMode::Anonymous,
            Quota::per_minute(n(requests)),
        )
    }

    #[test]
    fn a_quota_admits_its_burst_then_refuses_until_time_passes() {
        let (limiter, clock) = limiter(&per_minute_read(60), 1000);
        let key = ip_key(&RateLimitClass::read(), v4(1));
        for i in 0..60 {
            assert_eq!(
                limiter.check(&key),
                RateDecision::Allowed {
                    remaining: Some(59 - i)
                },
                "request {i}"
            );
        }
        let refused = limiter.check(&key);
        assert_eq!(
            refused,
            RateDecision::Limited {
                retry_after: Duration::from_secs(1)
            }
        );
        assert_eq!(refused.retry_after_secs(), Some(1));
        clock.advance(Duration::from_millis(400));
        assert_eq!(
            limiter.check(&key),
            RateDecision::Limited {
                retry_after: Duration::from_millis(600)
            }
        );
        clock.advance(Duration::from_millis(600));
        assert!(limiter.check(&key).is_allowed());
        assert!(!limiter.check(&key).is_allowed());
        // A full minute refills the whole burst.
        clock.advance(Duration::from_secs(60));
        for _ in 0..60 {
            assert!(limiter.check(&key).is_allowed());
        }
        assert!(!limiter.check(&key).is_allowed());
    }

    #[test]
    fn keys_are_independent_across_subjects_and_classes() {
        let limits = per_minute_read(1).with(
            RateLimitClass::write(),
            AuthMode::Anonymous,
            Quota::per_minute(n(1)),
        );
        let (limiter, _clock) = limiter(&limits, 1000);
        let read = RateLimitClass::read();
        assert!(limiter.check(&ip_key(&read, v4(1))).is_allowed());
        assert!(!limiter.check(&ip_key(&read, v4(1))).is_allowed());
        assert!(limiter.check(&ip_key(&read, v4(2))).is_allowed());
        assert!(
            limiter
                .check(&ip_key(&RateLimitClass::write(), v4(1)))
                .is_allowed()
        );
        let token =
            RateLimitKey::from_parts(read.clone(), RateLimitSubject::ApiToken(Arc::from("tok")));
        // No quota for API tokens and no fallback: not limited, not tracked.
        for _ in 0..5 {
            assert_eq!(
                limiter.check(&token),
                RateDecision::Allowed { remaining: None }
            );
        }
        assert_eq!(limiter.tracked_keys(), 3);
    }

    #[test]
    fn an_ipv6_64_shares_one_budget() {
        let (limiter, _clock) = limiter(&per_minute_read(2), 1000);
        let read = RateLimitClass::read();
        let a: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let b: IpAddr = "2001:db8:0:1:ffff:ffff:ffff:fffe".parse().unwrap();
        let other: IpAddr = "2001:db8:0:2::1".parse().unwrap();
        assert!(limiter.check(&ip_key(&read, a)).is_allowed());
        assert!(limiter.check(&ip_key(&read, b)).is_allowed());
        assert!(!limiter.check(&ip_key(&read, a)).is_allowed());
        assert!(limiter.check(&ip_key(&read, other)).is_allowed());
    }

    #[test]
    fn the_fallback_quota_covers_unnamed_pairs() {
        let limits = RateLimits::with_fallback(Quota::per_hour(n(1)));
        let (limiter, clock) = limiter(&limits, 1000);
        let key = RateLimitKey::from_parts(
            RateLimitClass::new("anything").unwrap(),
            RateLimitSubject::User(Arc::from("u")),
        );
        assert!(limiter.check(&key).is_allowed());
        assert_eq!(
            limiter.check(&key),
            RateDecision::Limited {
                retry_after: Duration::from_secs(3600)
            }
        );
        clock.advance(Duration::from_secs(3600));
        assert!(limiter.check(&key).is_allowed());
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_under_the_cap_and_keeps_limited_keys_limited() {
        let cap = 1000;
        let (limiter, clock) = limiter(&per_minute_read(5), cap);
        assert!(limiter.max_tracked_keys() <= cap);
        let read = RateLimitClass::read();
        let victim = ip_key(&read, "198.51.100.1".parse().unwrap());
        for _ in 0..5 {
            assert!(limiter.check(&victim).is_allowed());
        }
        assert!(!limiter.check(&victim).is_allowed());
        for i in 0..1_000_000_u32 {
            // Every flooding key is new, so it gets its burst.
            assert!(
                limiter
                    .check(&ip_key(&read, v4(0x0a00_0000 + i)))
                    .is_allowed()
            );
            if i % 1024 == 0 {
                clock.advance(Duration::from_millis(20));
                assert!(limiter.tracked_keys() <= cap);
            }
        }
        assert!(limiter.tracked_keys() <= cap);
        assert!(limiter.tracked_keys() >= cap / 2);
        // About 19.5 s passed (one request per 12 s): the victim earned one request back.
        assert!(limiter.check(&victim).is_allowed());
        assert!(!limiter.check(&victim).is_allowed());
    }

    #[test]
    fn idle_keys_are_evicted() {
        let (limiter, clock) = limiter(&per_minute_read(60), 1000);
        let read = RateLimitClass::read();
        for i in 0..100 {
            assert!(limiter.check(&ip_key(&read, v4(i))).is_allowed());
        }
        // Key 0 spends its whole budget: it stays busy for a minute.
        for _ in 0..59 {
            assert!(limiter.check(&ip_key(&read, v4(0))).is_allowed());
        }
        assert_eq!(limiter.tracked_keys(), 100);
        assert_eq!(limiter.evict_idle(), 0);
        clock.advance(Duration::from_secs(2));
        assert_eq!(limiter.evict_idle(), 99);
        assert_eq!(limiter.tracked_keys(), 1);
        // Key 0 kept its state: two seconds earned it two requests, not a new burst.
        assert!(limiter.check(&ip_key(&read, v4(0))).is_allowed());
        assert!(limiter.check(&ip_key(&read, v4(0))).is_allowed());
        assert!(!limiter.check(&ip_key(&read, v4(0))).is_allowed());
        clock.advance(Duration::from_secs(60));
        assert_eq!(limiter.evict_idle(), 1);
        assert_eq!(limiter.tracked_keys(), 0);
    }

    #[test]
    fn a_full_table_reuses_idle_entries_before_dropping_busy_ones() {
        let cap = 64;
        let (limiter, clock) = limiter(&per_minute_read(60), cap);
        let read = RateLimitClass::read();
        let mut inserted = 0;
        for i in 0..(cap as u32 * 4) {
            assert!(limiter.check(&ip_key(&read, v4(i))).is_allowed());
            inserted += 1;
        }
        assert!(inserted > cap);
        assert!(limiter.tracked_keys() <= cap);
        clock.advance(Duration::from_secs(5));
        for i in 10_000..10_000 + cap as u32 {
            assert!(limiter.check(&ip_key(&read, v4(i))).is_allowed());
        }
        assert!(limiter.tracked_keys() <= cap);
        // Everything seen before the pause was idle and is gone from the sweep's count.
        clock.advance(Duration::from_secs(5));
        limiter.evict_idle();
        assert_eq!(limiter.tracked_keys(), 0);
    }

    #[test]
    fn eviction_prefers_idle_then_least_limited() {
        let mut shard = Shard::default();
        for (key, tat) in [(1, 50), (2, 500), (3, 200), (4, 300)] {
            shard.map.insert(key, tat);
            shard.order.push_back(key);
        }
        // At time 100, key 1 is idle: only it goes.
        assert_eq!(shard.evict_oldest(100, true), 1);
        assert!(!shard.map.contains_key(&1));
        // Nothing idle at 150 and not forced: nothing goes.
        assert_eq!(shard.evict_oldest(150, false), 0);
        // Forced: the least limited (key 3, tat 200) goes.
        assert_eq!(shard.evict_oldest(150, true), 1);
        assert_eq!(shard.map.len(), 2);
        assert!(!shard.map.contains_key(&3));
        assert_eq!(shard.order.len(), 2);
    }
}
