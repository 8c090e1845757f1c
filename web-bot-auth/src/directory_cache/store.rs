//! The cached entries, bounded in number.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fetch::FetchError;
use crate::keys::VerifyingKey;

use super::response::CachedKey;

/// What is known about one agent.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The directory's keys; `None` when no fetch ever succeeded (a negative entry).
    pub(crate) keys: Option<Box<[CachedKey]>>,
    /// Put there by the operator: never fetched, never expires, never evicted.
    pub(crate) pinned: bool,
    /// When the keys were fetched.
    pub(crate) fetched_at: u64,
    /// The keys are fresh until then.
    pub(crate) fresh_until: u64,
    /// The keys may be served while refreshes fail until then.
    pub(crate) stale_until: u64,
    /// When the last fetch (successful or not) was made.
    pub(crate) attempted_at: u64,
    /// The last fetch failed and is remembered until then (0: it did not fail).
    pub(crate) failed_until: u64,
    /// The result of the last fetch.
    pub(crate) last_result: Result<(), FetchError>,
    /// Changes with each fetch result (unique across the cache's life).
    pub(crate) generation: u64,
    /// Last time a resolve read the entry (for eviction).
    pub(crate) last_used: AtomicU64,
}

impl Entry {
    /// An operator's keys.
    pub(crate) fn pinned(keys: Vec<VerifyingKey>, now: u64, generation: u64) -> Self {
        Entry {
            keys: Some(
                keys.into_iter()
                    .map(|key| CachedKey {
                        key,
                        not_after: None,
                    })
                    .collect(),
            ),
            pinned: true,
            fetched_at: 0,
            fresh_until: u64::MAX,
            stale_until: u64::MAX,
            attempted_at: now,
            failed_until: 0,
            last_result: Ok(()),
            generation,
            last_used: AtomicU64::new(now),
        }
    }

    /// Whether the keys are fresh at `now`. A clock that reads before the fetch (it was moved
    /// back) makes them stale, so that they are fetched again.
    pub(crate) fn is_fresh(&self, now: u64) -> bool {
        self.pinned || (self.keys.is_some() && now >= self.fetched_at && now < self.fresh_until)
    }

    /// Whether the last fetch failed and is still remembered at `now`.
    pub(crate) fn failure_remembered(&self, now: u64) -> bool {
        self.last_result.is_err() && now >= self.attempted_at && now < self.failed_until
    }

    /// Whether resolve may answer from this entry at `now`: fresh keys, or stale keys whose
    /// refresh failed recently (stale-if-error), within `stale_until`.
    pub(crate) fn serves(&self, now: u64) -> bool {
        self.is_fresh(now)
            || (self.keys.is_some() && self.failure_remembered(now) && now < self.stale_until)
    }

    /// The key `keyid` (preferring `alg` when several share the thumbprint), valid at `now`.
    pub(crate) fn find(&self, keyid: &str, alg: Option<&str>, now: u64) -> Option<&VerifyingKey> {
        let keys = self.keys.as_deref()?;
        let mut fitting = keys
            .iter()
            .filter(|k| k.key.thumbprint() == keyid && k.not_after.is_none_or(|exp| now < exp))
            .map(|k| &k.key);
        let first = fitting.next()?;
        match alg {
            Some(alg) if first.algorithm().name() != alg => Some(
                fitting
                    .find(|k| k.algorithm().name() == alg)
                    .unwrap_or(first),
            ),
            _ => Some(first),
        }
    }

    /// Records a read at `now`, writing only when the time changed (hot entries stay shared
    /// between cores).
    pub(crate) fn touch(&self, now: u64) {
        if self.last_used.load(Ordering::Relaxed) != now {
            self.last_used.store(now, Ordering::Relaxed);
        }
    }

    /// Eviction order: failed or expired entries first, then the least recently used.
    fn eviction_rank(&self, now: u64) -> (bool, u64) {
        (self.is_fresh(now), self.last_used.load(Ordering::Relaxed))
    }
}

/// The entries by origin. Pinned entries are not counted against the bound.
#[derive(Debug, Default)]
pub(crate) struct Store {
    map: HashMap<String, Entry>,
    /// Entries that are not pinned.
    dynamic: usize,
}

impl Store {
    pub(crate) fn get(&self, origin: &str) -> Option<&Entry> {
        self.map.get(origin)
    }

    pub(crate) fn get_mut(&mut self, origin: &str) -> Option<&mut Entry> {
        self.map.get_mut(origin)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Inserts or replaces the entry for `origin`, first evicting when a new unpinned entry
    /// would pass `max`. Returns how many entries were evicted.
    pub(crate) fn put(&mut self, origin: &str, entry: Entry, max: usize, now: u64) -> usize {
        let mut evicted = 0;
        let was_dynamic = self.map.get(origin).map(|old| !old.pinned);
        let adds_dynamic = !entry.pinned && was_dynamic != Some(true);
        if adds_dynamic && self.dynamic >= max {
            evicted = self.evict(max, now);
        }
        if was_dynamic == Some(true) && entry.pinned {
            self.dynamic = self.dynamic.saturating_sub(1);
        }
        if adds_dynamic {
            self.dynamic += 1;
        }
        match self.map.get_mut(origin) {
            Some(slot) => *slot = entry,
            None => {
                self.map.insert(origin.to_owned(), entry);
            }
        }
        evicted
    }

    pub(crate) fn remove(&mut self, origin: &str) -> bool {
        match self.map.remove(origin) {
            Some(old) => {
                if !old.pinned {
                    self.dynamic = self.dynamic.saturating_sub(1);
                }
                true
            }
            None => false,
        }
    }

    /// Makes room for one more unpinned entry under `max`, in a batch (1/32 of `max`) so that a
    /// flood of new agents does not scan the whole map at each insertion.
    fn evict(&mut self, max: usize, now: u64) -> usize {
        let batch = (max / 32).max(1);
        let target = max.saturating_sub(batch);
        let count = self.dynamic.saturating_sub(target);
        if count == 0 {
            return 0;
        }
        let mut ranked: Vec<((bool, u64), &String)> = self
            .map
            .iter()
            .filter(|(_, e)| !e.pinned)
            .map(|(k, e)| (e.eviction_rank(now), k))
            .collect();
        let count = count.min(ranked.len());
        if count == 0 {
            return 0;
        }
        if count < ranked.len() {
            ranked.select_nth_unstable_by_key(count - 1, |(rank, _)| *rank);
        }
        let victims: Vec<String> = ranked
            .iter()
            .take(count)
            .map(|(_, k)| (*k).clone())
            .collect();
        for k in &victims {
            self.remove(k);
        }
        victims.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negative(now: u64) -> Entry {
        Entry {
            keys: None,
            pinned: false,
            fetched_at: 0,
            fresh_until: 0,
            stale_until: 0,
            attempted_at: now,
            failed_until: now + 60,
            last_result: Err(FetchError::Status(404)),
            generation: 1,
            last_used: AtomicU64::new(now),
        }
    }

    #[test]
    fn stays_bounded_and_keeps_pinned() {
        let mut store = Store::default();
        store.put(
            "https://pinned.example",
            Entry::pinned(Vec::new(), 0, 1),
            10,
            0,
        );
        for i in 0..1000u64 {
            store.put(&format!("https://a{i}.example"), negative(i), 10, i);
            assert!(store.dynamic <= 10);
            assert!(store.len() <= 11);
        }
        assert!(store.get("https://pinned.example").is_some());
        // The most recent one survives.
        assert!(store.get("https://a999.example").is_some());
        assert!(store.remove("https://a999.example"));
        assert!(!store.remove("https://a999.example"));
    }
}
