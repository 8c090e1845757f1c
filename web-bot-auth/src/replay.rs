//! Replay protection for signature nonces.
//!
//! A verifier with a replay store refuses a signature whose nonce it has seen before, until the
//! signature expires. [`InMemoryReplayStore`] remembers nonces in one process ([`ReplayStore`],
//! checked inside [`WebBotAuthVerifier::verify`](crate::profile::WebBotAuthVerifier::verify));
//! a service running on several machines shares them through a store answered over the network,
//! an [`AsyncReplayStore`] such as `RedisReplayStore` (feature `redis`), checked by
//! [`WebBotAuthVerifier::verify_async`](crate::profile::WebBotAuthVerifier::verify_async) and by
//! the `VerifyLayer`.
//!
//! ```
//! use web_bot_auth::replay::{InMemoryReplayStore, ReplayKey, ReplayStore};
//!
//! let store = InMemoryReplayStore::new(1000);
//! let key = ReplayKey { agent: "https://bot.example", keyid: "k1", nonce: "n-1" };
//! // The first use is recorded until the signature expires (Unix second 2000)...
//! assert_eq!(store.check_and_record(&key, 2000, 1000), Ok(true));
//! // ...and a second use before then is a replay.
//! assert_eq!(store.check_and_record(&key, 2000, 1500), Ok(false));
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use self::redis::{RedisReplayStore, RedisStoreError, ReplayUnavailable};

use sha2::{Digest, Sha256};

/// What identifies one use of a signature: the agent, the key and the nonce.
#[derive(Debug, Clone, Copy)]
pub struct ReplayKey<'a> {
    /// The signature agent URI (empty when none).
    pub agent: &'a str,
    /// The keyid.
    pub keyid: &'a str,
    /// The nonce.
    pub nonce: &'a str,
}

impl ReplayKey<'_> {
    /// A fixed-size digest of the key, for stores that index by bytes.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [self.agent, self.keyid, self.nonce] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    }
}

/// Why a replay store could not answer. Verifiers fail closed on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayStoreError {
    /// The store holds as many live nonces as it may.
    #[error("replay store is full")]
    Full,
    /// The backing store failed.
    #[error("replay store backend: {0}")]
    Backend(String),
}

/// Remembers nonces until their signatures expire.
pub trait ReplayStore: Send + Sync {
    /// Records `key` until `expires_at` (Unix seconds). `Ok(true)` when it was not seen before,
    /// `Ok(false)` when it is a replay.
    fn check_and_record(
        &self,
        key: &ReplayKey<'_>,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, ReplayStoreError>;
}

/// What an [`AsyncReplayStore`] answers with: a boxed future of the same answer as
/// [`ReplayStore::check_and_record`].
pub type ReplayFuture<'a> =
    Pin<Box<dyn Future<Output = Result<bool, ReplayStoreError>> + Send + 'a>>;

/// Remembers nonces until their signatures expire, in a store answered over the network (and so
/// shared by every instance of a service), such as Redis.
///
/// The verifier checks it after the signature itself has verified, so a forged request never
/// costs a round trip; see
/// [`WebBotAuthVerifier::with_async_replay_store`](crate::profile::WebBotAuthVerifier::with_async_replay_store).
pub trait AsyncReplayStore: Send + Sync {
    /// Records `key` until `expires_at` (Unix seconds; the nonce stays refused through that
    /// second). `Ok(true)` when it was not seen before, `Ok(false)` when it is a replay, an
    /// error when the store could not say (the verifier then fails closed).
    fn check_and_record<'a>(
        &'a self,
        key: &'a ReplayKey<'a>,
        expires_at: u64,
        now: u64,
    ) -> ReplayFuture<'a>;
}

/// An in-memory replay store with a hard cap on entries. Entries leave when their signature
/// expires; when the store is full of live entries it refuses new ones (so the verifier fails
/// closed) rather than forget a nonce that could then be replayed.
#[derive(Debug)]
pub struct InMemoryReplayStore {
    max_entries: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashMap<[u8; 32], u64>,
    by_expiry: BinaryHeap<Reverse<(u64, [u8; 32])>>,
}

impl InMemoryReplayStore {
    /// A store holding at most `max_entries` live nonces (about 90 bytes each).
    pub fn new(max_entries: usize) -> Self {
        InMemoryReplayStore {
            max_entries,
            state: Mutex::new(State::default()),
        }
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.state.lock().map(|s| s.seen.len()).unwrap_or(0)
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for InMemoryReplayStore {
    /// 100 000 entries.
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ReplayStore for InMemoryReplayStore {
    fn check_and_record(
        &self,
        key: &ReplayKey<'_>,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, ReplayStoreError> {
        let digest = key.digest();
        let mut state = self
            .state
            .lock()
            .map_err(|_| ReplayStoreError::Backend("lock poisoned".into()))?;
        while let Some(Reverse((exp, d))) = state.by_expiry.peek().copied() {
            if exp >= now {
                break;
            }
            state.by_expiry.pop();
            if state.seen.get(&d) == Some(&exp) {
                state.seen.remove(&d);
            }
        }
        if state.seen.get(&digest).is_some_and(|&exp| exp >= now) {
            return Ok(false);
        }
        if state.seen.len() >= self.max_entries {
            return Err(ReplayStoreError::Full);
        }
        state.seen.insert(digest, expires_at);
        state.by_expiry.push(Reverse((expires_at, digest)));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(nonce: &str) -> ReplayKey<'_> {
        ReplayKey {
            agent: "https://a.example",
            keyid: "k",
            nonce,
        }
    }

    #[test]
    fn refuses_replays_until_expiry() {
        let s = InMemoryReplayStore::new(10);
        assert_eq!(s.check_and_record(&key("n1"), 100, 10), Ok(true));
        assert_eq!(s.check_and_record(&key("n1"), 100, 50), Ok(false));
        assert_eq!(s.check_and_record(&key("n2"), 100, 50), Ok(true));
        // After expiry the entry is gone, and so is the signature's validity.
        assert_eq!(s.check_and_record(&key("n1"), 300, 101), Ok(true));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn bounded_and_fails_closed() {
        let s = InMemoryReplayStore::new(2);
        assert_eq!(s.check_and_record(&key("a"), 100, 0), Ok(true));
        assert_eq!(s.check_and_record(&key("b"), 100, 0), Ok(true));
        assert_eq!(
            s.check_and_record(&key("c"), 100, 0),
            Err(ReplayStoreError::Full)
        );
        assert_eq!(s.check_and_record(&key("c"), 200, 101), Ok(true));
        assert!(s.len() <= 2);
    }

    #[test]
    fn parts_do_not_run_together() {
        let a = ReplayKey {
            agent: "ab",
            keyid: "c",
            nonce: "",
        }
        .digest();
        let b = ReplayKey {
            agent: "a",
            keyid: "bc",
            nonce: "",
        }
        .digest();
        assert_ne!(a, b);
    }
}
