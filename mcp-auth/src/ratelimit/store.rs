//! The store trait behind distributed rate limits.

use std::sync::Arc;
use std::time::Duration;

use super::{Quota, RateDecision, RateLimitKey};
use crate::BoxFuture;

/// Why a rate-limit store could not decide.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitStoreError {
    /// The store could not be reached or failed.
    #[error("rate-limit store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store did not answer in time.
    #[error("rate-limit store timed out")]
    Timeout,
    /// The store answered something that is not a decision.
    #[error("rate-limit store gave an unexpected reply: {0}")]
    InvalidReply(String),
}

/// Where GCRA state lives when it must be shared by several processes (Redis, a database).
///
/// An implementation spends one request of `key`'s budget under `quota` at time `now` (since
/// the epoch, from the limiter's injected clock, so every process agrees on the frame) and says
/// whether the call may go ahead. The expected algorithm is GCRA, atomically in the store (for
/// Redis: one Lua script reading and writing the key's theoretical arrival time, with a TTL of
/// the time until the key is idle again). Use [`RateLimitKey`]'s `Display` form (or a hash of
/// it) as the storage key.
///
/// The in-memory limiter does not go through this trait: [`RateLimiter`](super::RateLimiter)
/// holds either a [`MemoryRateLimiter`](super::MemoryRateLimiter), checked synchronously with
/// no allocation, or an `Arc<dyn RateLimitStore>`, awaited.
pub trait RateLimitStore: Send + Sync + 'static {
    /// Spends one request of `key`'s budget.
    fn check<'a>(
        &'a self,
        key: &'a RateLimitKey,
        quota: &'a Quota,
        now: Duration,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitStoreError>>;
}

impl<S: RateLimitStore + ?Sized> RateLimitStore for Arc<S> {
    fn check<'a>(
        &'a self,
        key: &'a RateLimitKey,
        quota: &'a Quota,
        now: Duration,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitStoreError>> {
        (**self).check(key, quota, now)
    }
}
