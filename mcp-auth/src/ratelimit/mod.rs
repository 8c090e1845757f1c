//! Rate limits per principal and class: GCRA (the `governor` crate) in memory with bounded
//! memory, or in a shared store; `429` with `Retry-After` when a budget is spent.
//!
//! - A [`RateLimitKey`] names one budget: a rate-limit class and a subject (anonymous callers
//!   by client IP, IPv6 by `/64`; API tokens by token id; OAuth users by `sub`).
//! - [`RateLimits`] gives each (class, [`AuthMode`](crate::AuthMode)) a [`Quota`]; pairs it does
//!   not name get its fallback quota (or are not limited, when there is none). The default table
//!   and its class names ([`class_names`]) are documented on [`RateLimits`].
//! - [`RateLimiter`] is what the layer holds: [`MemoryRateLimiter`] (synchronous, bounded) or a
//!   [`RateLimitStore`] (async, for several processes), with a failure policy for the store;
//!   `RedisRateLimitStore` (feature `redis`) is that store in Redis.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use mcp_auth::Principal;
//! use mcp_auth::clock::ManualClock;
//! use mcp_auth::ratelimit::{
//!     MemoryLimiterConfig, RateLimitClass, RateLimitKey, RateLimiter, RateLimits, class_names,
//! };
//! use mcp_auth::scope::Scopes;
//!
//! let clock = ManualClock::from_unix(1_700_000_000);
//! let limiter = RateLimiter::in_memory_with(
//!     RateLimits::default(),
//!     MemoryLimiterConfig::default(),
//!     Arc::new(clock.clone()),
//! );
//! let user = Principal::OAuth {
//!     sub: Arc::from("user-1"),
//!     scopes: Scopes::empty(),
//!     client_id: None,
//!     claims: Arc::default(),
//! };
//! // OAuth users may place 10 orders a minute.
//! let key = RateLimitKey::new(&user, &RateLimitClass::new(class_names::ORDER_WRITE).unwrap());
//! for _ in 0..10 {
//!     assert!(limiter.check_now(&key).unwrap().is_allowed());
//! }
//! let refused = limiter.check_now(&key).unwrap();
//! assert_eq!(refused.retry_after_secs(), Some(6));
//! clock.advance(Duration::from_secs(6));
//! assert!(limiter.check_now(&key).unwrap().is_allowed());
//! ```

mod class;
mod key;
mod limiter;
mod memory;
mod quota;
#[cfg(feature = "redis")]
mod redis;
mod store;

#[cfg(feature = "redis")]
pub use self::redis::{RedisRateLimitStore, RedisTimeSource};
pub use class::{RateLimitClass, RateLimitClassError};
pub use key::{RateLimitKey, RateLimitSubject, group_address};
pub use limiter::{RateDecision, RateLimiter, StoreFailurePolicy, retry_after_secs};
pub use memory::{MemoryLimiterConfig, MemoryRateLimiter};
pub use quota::{MAX_QUOTA_WINDOW, Quota, QuotaError, RateLimits, class_names};
pub use store::{RateLimitStore, RateLimitStoreError};
