//! The verified-token cache: a bounded, sharded map of verified tokens, each entry kept until
//! the token's `exp` and never beyond.
//!
//! A token is found by the SHA-256 of its signature (the segment after its last `.`), and a hit
//! also compares the rest (the signing input, header and payload: not a credential without the
//! signature, and no more than the claims the entry holds anyway) byte for byte, so a hit is
//! the very token that was verified. The cache never holds a usable token. Hashing the
//! signature alone (86 characters for EdDSA and ES256) rather than the whole token (several
//! hundred) keeps a hit about as cheap as an API-token lookup.
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

/// A cached verification: the token's signing input (with its final `.`) and the result.
#[derive(Debug)]
struct Entry {
    signing_input: Box<[u8]>,
    token: VerifiedToken,
}

type Shard = HashMap<[u8; 32], Entry, foldhash::fast::RandomState>;

/// The cache. Checked with the verifier's clock.
#[derive(Debug)]
pub(crate) struct VerifiedTokenCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

/// Where a token is looked up: the SHA-256 of its signature, and its signing input.
#[derive(Debug, Clone)]
pub(crate) struct CacheKey<'t> {
    digest: [u8; 32],
    /// Everything up to and including the last `.` (empty when there is none, so that `a` and
    /// `.a` differ).
    signing_input: &'t [u8],
}

/// The key for `token`.
pub(crate) fn key(token: &str) -> CacheKey<'_> {
    let bytes = token.as_bytes();
    let split = memchr::memrchr(b'.', bytes).map_or(0, |dot| dot + 1);
    let (signing_input, signature) = bytes.split_at(split);
    CacheKey {
        digest: Sha256::digest(signature).into(),
        signing_input,
    }
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

    fn shard(&self, digest: &[u8; 32]) -> std::sync::MutexGuard<'_, Shard> {
        let shard = &self.shards[usize::from(digest[0]) % SHARDS];
        // A panic while holding the lock cannot leave a map half-updated in a way that matters
        // here: keep serving it.
        match shard.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The cached result for `key`, if it is still before its `exp` at `now`.
    pub(crate) fn get(&self, key: &CacheKey<'_>, now: u64) -> Option<VerifiedToken> {
        let mut shard = self.shard(&key.digest);
        let entry = shard.get(&key.digest)?;
        if *entry.signing_input != *key.signing_input {
            // The same signature over another header or payload: not this token.
            return None;
        }
        if now < entry.token.expires_at {
            return Some(entry.token.clone());
        }
        shard.remove(&key.digest);
        None
    }

    /// Caches `token` under `key` (only if it has not expired at `now`). A full shard first
    /// drops its expired entries, then, if still full, an arbitrary one.
    pub(crate) fn insert(&self, key: &CacheKey<'_>, token: &VerifiedToken, now: u64) {
        if now >= token.expires_at {
            return;
        }
        let mut shard = self.shard(&key.digest);
        if shard.len() >= self.per_shard && !shard.contains_key(&key.digest) {
            shard.retain(|_, entry| now < entry.token.expires_at);
            if shard.len() >= self.per_shard
                && let Some(victim) = shard.keys().next().copied()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(
            key.digest,
            Entry {
                signing_input: key.signing_input.into(),
                token: token.clone(),
            },
        );
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
        let key = key("a.b.c");
        cache.insert(&key, &token(100), 50);
        assert_eq!(cache.get(&key, 99).map(|t| t.expires_at), Some(100));
        assert!(cache.get(&key, 100).is_none());
        assert_eq!(cache.len(), 0);
        cache.insert(&key, &token(100), 100);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_hit_is_the_very_token() {
        let cache = VerifiedTokenCache::new(10);
        cache.insert(&key("header.payload.sig"), &token(100), 0);
        assert!(cache.get(&key("header.payload.sig"), 1).is_some());
        // The same signature over another header or payload, or with segments moved.
        for other in [
            "header.other.sig",
            "header.payload2.sig",
            "headerpayload.sig",
            "sig",
            ".sig",
        ] {
            assert!(cache.get(&key(other), 1).is_none(), "{other}");
        }
        // Another signature.
        assert!(cache.get(&key("header.payload.sig2"), 1).is_none());
        // No dot and a leading dot are told apart.
        cache.insert(&key("a"), &token(100), 0);
        assert!(cache.get(&key("a"), 1).is_some());
        assert!(cache.get(&key(".a"), 1).is_none());
    }

    #[test]
    fn bounded() {
        let cache = VerifiedTokenCache::new(32);
        for i in 0..1000 {
            cache.insert(&key(&format!("h.p.token-{i}")), &token(1_000), 0);
        }
        assert!(cache.len() <= 32, "{}", cache.len());
        // Expired entries are swept first (all three keys land in shard 0, which holds two).
        let cache = VerifiedTokenCache::new(32);
        let at = |first: u8| CacheKey {
            digest: [first; 32],
            signing_input: b"h.p.",
        };
        let (old, live, new) = (at(0), at(16), at(32));
        cache.insert(&old, &token(10), 0);
        cache.insert(&live, &token(100), 0);
        cache.insert(&new, &token(100), 20);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&live, 20).is_some() && cache.get(&new, 20).is_some());
    }
}
