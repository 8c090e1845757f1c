//! Configuration and counters of a [`super::DirectoryCache`].

use std::time::Duration;

use crate::directory::MAX_DIRECTORY_KEYS;
use crate::keys::MAX_JWK_BYTES;

/// Longest negative-cache time: a failure is never remembered longer than this.
pub const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(300);

/// Longest fetch timeout accepted.
pub const MAX_FETCH_TIMEOUT: Duration = Duration::from_secs(300);

/// How a [`super::DirectoryCache`] fetches and keeps key directories.
///
/// Every field has a bound; out-of-range values are clamped when the cache is built (see each
/// field). Times are read from the cache's [`crate::clock::Clock`] in whole seconds, except
/// [`DirectoryCacheConfig::fetch_timeout`], which is measured on Tokio's monotonic clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryCacheConfig {
    /// Shortest time a fetched directory is fresh (default 60 s, at least 1 s). `Cache-Control:
    /// no-store` or `no-cache`, and a `max-age` below this, give this.
    pub min_ttl: Duration,
    /// Longest time a fetched directory is fresh (default 24 h; at least `min_ttl`).
    pub max_ttl: Duration,
    /// Freshness when the response has no `Cache-Control: max-age` (default 1 h; clamped to
    /// `min_ttl..=max_ttl`).
    pub default_ttl: Duration,
    /// How long a failed fetch is remembered (default 60 s; clamped to 1 s..=5 min). Within it,
    /// [`crate::fetch::KeyFetcher::fetch`] answers
    /// [`crate::fetch::FetchError::NegativelyCached`] without a request, and an agent whose
    /// refresh failed keeps being served its stale keys.
    pub negative_ttl: Duration,
    /// How long after its freshness ends a directory may still be served while refreshes fail
    /// (stale-if-error; default 24 h). Past it, the keys are dropped.
    pub max_stale: Duration,
    /// Most agents cached (default 10 000; at least 1). When full, the least recently used
    /// entries go first, failed and expired ones before fresh ones. Pinned entries
    /// ([`super::DirectoryCache::insert_static`]) do not count and are never evicted.
    pub max_agents: usize,
    /// Largest directory response body read (default 64 KiB; at most [`MAX_JWK_BYTES`]). The
    /// body is streamed and reading stops as soon as it passes the bound.
    pub max_response_bytes: usize,
    /// Most keys in a directory (default and maximum [`MAX_DIRECTORY_KEYS`]).
    pub max_keys: usize,
    /// Longest a fetch may take, connection, headers and body included (default 5 s, at most
    /// [`MAX_FETCH_TIMEOUT`]). No call to [`crate::fetch::KeyFetcher::fetch`] waits longer than
    /// this.
    pub fetch_timeout: Duration,
    /// Shortest time between two fetches of an agent whose directory is fresh (default 10 s).
    /// Asking sooner (for example for a keyid the directory does not list) gives
    /// [`crate::fetch::FetchError::RateLimited`] without a request.
    pub min_refetch_interval: Duration,
    /// Most fetches in flight at once, all agents together (default 64; at least 1). A fetch
    /// for one more agent gives [`crate::fetch::FetchError::RateLimited`].
    pub max_concurrent_fetches: usize,
    /// Allow loopback hosts (`127.0.0.0/8`, `::1`, `localhost`), over `http` too (default off;
    /// for tests). Without it only `https` to other hosts is fetched.
    pub allow_http_loopback: bool,
    /// When set, only these origins are fetched (each an agent URL, normalized like agents
    /// are); any other agent is [`crate::fetch::FetchError::NotAllowed`] and never fetched.
    pub allow_list: Option<Vec<String>>,
    /// Refuse directories whose response is not signed (default off). A response that carries a
    /// signature tagged `http-message-signatures-directory` is always verified, and refused when
    /// the signature fails, whatever this says.
    pub require_signed_directory: bool,
    /// Tolerated clock difference for directory response signatures (default 60 s, at most
    /// 1 h).
    pub signature_skew: Duration,
}

impl Default for DirectoryCacheConfig {
    fn default() -> Self {
        DirectoryCacheConfig {
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 60 * 60),
            default_ttl: Duration::from_secs(60 * 60),
            negative_ttl: Duration::from_secs(60),
            max_stale: Duration::from_secs(24 * 60 * 60),
            max_agents: 10_000,
            max_response_bytes: 64 * 1024,
            max_keys: MAX_DIRECTORY_KEYS,
            fetch_timeout: Duration::from_secs(5),
            min_refetch_interval: Duration::from_secs(10),
            max_concurrent_fetches: 64,
            allow_http_loopback: false,
            allow_list: None,
            require_signed_directory: false,
            signature_skew: Duration::from_secs(60),
        }
    }
}

impl DirectoryCacheConfig {
    /// This configuration with every value inside its bounds.
    pub fn clamped(&self) -> Self {
        let min_ttl = self.min_ttl.max(Duration::from_secs(1));
        let max_ttl = self.max_ttl.max(min_ttl);
        DirectoryCacheConfig {
            min_ttl,
            max_ttl,
            default_ttl: self.default_ttl.clamp(min_ttl, max_ttl),
            negative_ttl: self
                .negative_ttl
                .clamp(Duration::from_secs(1), MAX_NEGATIVE_TTL),
            max_stale: self.max_stale,
            max_agents: self.max_agents.max(1),
            max_response_bytes: self.max_response_bytes.min(MAX_JWK_BYTES),
            max_keys: self.max_keys.min(MAX_DIRECTORY_KEYS),
            fetch_timeout: self.fetch_timeout.min(MAX_FETCH_TIMEOUT),
            min_refetch_interval: self.min_refetch_interval,
            max_concurrent_fetches: self.max_concurrent_fetches.max(1),
            allow_http_loopback: self.allow_http_loopback,
            allow_list: self.allow_list.clone(),
            require_signed_directory: self.require_signed_directory,
            signature_skew: self.signature_skew.min(Duration::from_secs(60 * 60)),
        }
    }
}

/// Counters of a [`super::DirectoryCache`], for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Directory requests sent (after single-flight, rate limits and negative caching).
    pub fetches_started: u64,
    /// Of those, the ones that failed.
    pub fetch_failures: u64,
    /// Resolves that found a key.
    pub hits: u64,
    /// Resolves that found no key (unknown agent, unknown keyid, expired or failed directory).
    pub misses: u64,
    /// Fetches answered from a remembered failure, without a request.
    pub negative_hits: u64,
    /// Fetches refused by a rate limit (per-agent interval, or too many fetches in flight).
    pub rate_limited: u64,
    /// Entries evicted to stay within [`DirectoryCacheConfig::max_agents`].
    pub evictions: u64,
    /// Entries now cached (pinned ones included).
    pub entries: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_out_of_range_values() {
        let wild = DirectoryCacheConfig {
            min_ttl: Duration::ZERO,
            max_ttl: Duration::ZERO,
            default_ttl: Duration::from_secs(u64::MAX),
            negative_ttl: Duration::ZERO,
            max_agents: 0,
            max_response_bytes: usize::MAX,
            max_keys: usize::MAX,
            fetch_timeout: Duration::MAX,
            max_concurrent_fetches: 0,
            signature_skew: Duration::MAX,
            ..Default::default()
        }
        .clamped();
        assert_eq!(wild.min_ttl, Duration::from_secs(1));
        assert_eq!(wild.max_ttl, Duration::from_secs(1));
        assert_eq!(wild.default_ttl, Duration::from_secs(1));
        assert_eq!(wild.negative_ttl, Duration::from_secs(1));
        assert_eq!(wild.max_agents, 1);
        assert_eq!(wild.max_response_bytes, MAX_JWK_BYTES);
        assert_eq!(wild.max_keys, MAX_DIRECTORY_KEYS);
        assert_eq!(wild.fetch_timeout, MAX_FETCH_TIMEOUT);
        assert_eq!(wild.max_concurrent_fetches, 1);
        assert_eq!(wild.signature_skew, Duration::from_secs(3600));
        let default = DirectoryCacheConfig::default();
        assert_eq!(default.clamped(), default);
    }
}
