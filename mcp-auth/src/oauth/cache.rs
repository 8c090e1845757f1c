//! The verified-token cache: a bounded, sharded map from the SHA-256 of a token to its verified
//! result, each entry kept until the token's `exp` and never beyond.
//!
//! The trade-off: a cached token is honoured until its `exp` even if its key has meanwhile been
//! removed from the key set (a JWKS rotation or an emergency key withdrawal). Keep access tokens
//! short-lived, or leave the cache off (the default), when that matters more than the few
//! microseconds a signature check costs.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::oauth::verifier::VerifiedToken;

const SHARDS: usize = 16;

type Shard = HashMap<[u8; 32], VerifiedToken, foldhash::fast::RandomState>;

/// The cache. Checked with the verifier's clock.
#[derive(Debug)]
pub(crate) struct VerifiedTokenCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

/// The key for `token`.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifiedTokenCache {
    /// A cache of about `capacity` entries (rounded up to a multiple of the shard count).
    pub(crate) fn new(capacity: usize) -> VerifiedTokenCache {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        VerifiedTokenCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard,
        }
    }

    fn shard(&self, key: &[u8; 32]) -> std::sync::MutexGuard<'_, Shard> {
        let shard = &self.shards[usize::from(key[0]) % SHARDS];
        // A panic while holding the lock cannot leave a map half-updated in a way that matters
        // here: keep serving it.
        match shard.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The cached result for `key`, if it is still before its `exp` at `now`.
    pub(crate) fn get(&self, key: &[u8; 32], now: u64) -> Option<VerifiedToken> {
        let mut shard = self.shard(key);
        let entry = shard.get(key)?;
        if now < entry.expires_at {
            return Some(entry.clone());
        }
        shard.remove(key);
        None
    }

    /// Caches `token` under `key` (only if it has not expired at `now`). A full shard first
    /// drops its expired entries, then, if still full, an arbitrary one.
    pub(crate) fn insert(&self, key: [u8; 32], token: &VerifiedToken, now: u64) {
        if now >= token.expires_at {
            return;
        }
        let mut shard = self.shard(&key);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.retain(|_, entry| now < entry.expires_at);
            if shard.len() >= self.per_shard
                && let Some(victim) = shard.keys().next().copied()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(key, token.clone());
    }

    /// How many entries are held (expired ones included until they are swept).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| match s.lock() {
                Ok(g) => g.len(),
                Err(p) => p.into_inner().len(),
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Principal;

    fn token(exp: u64) -> VerifiedToken {
        VerifiedToken {
            principal: Principal::Anonymous { ip: None },
            expires_at: exp,
        }
    }

    #[test]
    fn entries_live_until_exp_only() {
        let cache = VerifiedTokenCache::new(10);
        let key = digest("a.b.c");
        cache.insert(key, &token(100), 50);
        assert_eq!(cache.get(&key, 99).map(|t| t.expires_at), Some(100));
        assert!(cache.get(&key, 100).is_none());
        assert_eq!(cache.len(), 0);
        cache.insert(key, &token(100), 100);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn bounded() {
        let cache = VerifiedTokenCache::new(32);
        for i in 0..1000 {
            cache.insert(digest(&format!("token-{i}")), &token(1_000), 0);
        }
        assert!(cache.len() <= 32, "{}", cache.len());
        // Expired entries are swept first (all three keys land in shard 0, which holds two).
        let cache = VerifiedTokenCache::new(32);
        let (old, live, new) = ([0; 32], [16; 32], [32; 32]);
        cache.insert(old, &token(10), 0);
        cache.insert(live, &token(100), 0);
        cache.insert(new, &token(100), 20);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&live, 20).is_some() && cache.get(&new, 20).is_some());
    }
}
