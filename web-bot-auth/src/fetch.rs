//! Fetching keys that are not known yet.
//!
//! Verification itself is synchronous: a [`crate::verify::KeyResolver`] answers from what it
//! already holds (a static set, or a directory cache). When a signature names a key the resolver
//! does not hold, a [`KeyFetcher`] can fetch the agent's key directory; the caller then verifies
//! again. A cache hit therefore costs one verification and no await.

use std::future::Future;
use std::pin::Pin;

/// Why the keys of an agent could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The agent URL is not allowed (not https, not on the allow-list, …).
    #[error("agent not allowed: {0}")]
    NotAllowed(String),
    /// A recent fetch failed; the failure is cached for a while.
    #[error("recent failure cached: {0}")]
    NegativelyCached(String),
    /// Too many fetches for this agent recently.
    #[error("fetch rate limit reached for this agent")]
    RateLimited,
    /// The fetch took longer than allowed.
    #[error("directory fetch timed out")]
    Timeout,
    /// The server answered something other than 200 (redirects included).
    #[error("directory answered HTTP {0}")]
    Status(u16),
    /// The response is not a key directory (media type, size, JSON, keys, signature).
    #[error("invalid directory: {0}")]
    InvalidDirectory(String),
    /// The connection failed.
    #[error("transport: {0}")]
    Transport(String),
}

/// The future a [`KeyFetcher`] returns.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<(), FetchError>> + Send + 'a>>;

/// Makes an agent's keys available to a resolver.
pub trait KeyFetcher: Send + Sync {
    /// Fetches (or refreshes) the keys `agent` publishes. When it returns `Ok`, the resolver
    /// this fetcher feeds can find them.
    fn fetch<'a>(&'a self, agent: &'a str) -> FetchFuture<'a>;
}
