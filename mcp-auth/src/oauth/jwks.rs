//! Keys from a JWKS URL: fetched on first use, cached with a TTL (`Cache-Control: max-age`
//! within bounds), refetched on an unknown `kid` at most once per interval, served stale when a
//! refetch fails (for a bounded time), one fetch at a time.
//!
//! Every timer reads the verifier's [`Clock`]; only the HTTP timeout is real time.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use jsonwebtoken::Algorithm;

use crate::clock::Clock;
use crate::oauth::keys::KeySet;
use crate::oauth::verifier::ConfigError;

/// Where and how to fetch a JWKS. Defaults: TTL 10 min when the response has no usable
/// `max-age` (bounded to 1 min – 24 h when it has), refetch at most once per 30 s, stale copies
/// served up to 24 h past their TTL, 256 KiB body cap, 10 s timeout, https only, no redirects.
#[derive(Debug, Clone)]
pub struct JwksConfig {
    url: String,
    ttl: Duration,
    min_ttl: Duration,
    max_ttl: Duration,
    min_refetch_interval: Duration,
    max_stale: Duration,
    timeout: Duration,
    max_body: usize,
    allow_http_loopback: bool,
}

impl JwksConfig {
    /// A JWKS at `url` (https).
    pub fn new(url: impl Into<String>) -> JwksConfig {
        JwksConfig {
            url: url.into(),
            ttl: Duration::from_secs(600),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            min_refetch_interval: Duration::from_secs(30),
            max_stale: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            max_body: 256 * 1024,
            allow_http_loopback: false,
        }
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How long a fetched set is fresh when the response carries no `max-age`.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The bounds a response's `max-age` (or `no-cache`, read as 0) is clamped to.
    pub fn ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_ttl = min;
        self.max_ttl = max.max(min);
        self
    }

    /// The least time between two fetches (an unknown `kid`, a failed fetch, an expired set).
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// How long past its TTL a set keeps being served while refetches fail.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// The HTTP timeout of one fetch (connect and body).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body read.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Allows `http://` to a loopback address (`127.0.0.0/8`, `::1`, `localhost`); for tests.
    pub fn allow_http_loopback(mut self, allow: bool) -> Self {
        self.allow_http_loopback = allow;
        self
    }
}

/// A fetched key set and its timers (Unix seconds).
#[derive(Debug)]
pub(crate) struct LoadedKeys {
    pub(crate) keys: KeySet,
    /// Served without refetching until then.
    fresh_until: u64,
    /// Served at all (while refetches fail) until then.
    usable_until: u64,
}

/// What to do before verifying.
pub(crate) enum KeysPlan {
    /// Verify with these keys.
    Use(Arc<LoadedKeys>),
    /// Fetch first (`fallback`: the stale set to use if the fetch fails or is in progress).
    Fetch {
        generation: u64,
        fallback: Option<Arc<LoadedKeys>>,
    },
    /// Nothing usable, and a fetch is not allowed yet.
    Unavailable,
}

/// Why a fetch failed (logged, never shown to clients).
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("status {0}")]
    Status(reqwest::StatusCode),
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Keys(#[from] crate::oauth::keys::KeyError),
}

/// The fetcher and its cache.
pub(crate) struct JwksCache {
    url: reqwest::Url,
    client: reqwest::Client,
    config: JwksConfig,
    clock: Arc<dyn Clock>,
    algorithms: Option<Vec<Algorithm>>,
    current: ArcSwapOption<LoadedKeys>,
    /// One fetch at a time.
    fetch_lock: tokio::sync::Mutex<()>,
    /// Bumped by every fetch attempt; the time of the last attempt + 1 (0: never).
    generation: AtomicU64,
    last_attempt: AtomicU64,
    /// A fetch is in progress: callers wait for it rather than being refused.
    in_flight: AtomicBool,
}

/// Clears the in-flight flag however the fetch ends (including a dropped future).
struct InFlight<'a>(&'a AtomicBool);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl JwksCache {
    pub(crate) fn new(
        config: JwksConfig,
        clock: Arc<dyn Clock>,
        algorithms: Option<Vec<Algorithm>>,
    ) -> Result<JwksCache, ConfigError> {
        let url = reqwest::Url::parse(&config.url).map_err(|e| ConfigError::InvalidJwksUrl {
            detail: e.to_string(),
        })?;
        let loopback = url.host_str().is_some_and(|host| {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || bare
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        match url.scheme() {
            "https" => {}
            "http" if loopback && config.allow_http_loopback => {}
            _ => {
                return Err(ConfigError::HttpsRequired {
                    url: config.url.clone(),
                });
            }
        }
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout);
        if loopback {
            client = client.no_proxy();
        }
        let client = client.build().map_err(|e| ConfigError::HttpClient {
            detail: e.to_string(),
        })?;
        Ok(JwksCache {
            url,
            client,
            config,
            clock,
            algorithms,
            current: ArcSwapOption::empty(),
            fetch_lock: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            last_attempt: AtomicU64::new(0),
            in_flight: AtomicBool::new(false),
        })
    }

    /// Whether a fetch may start at `now` (rate limit over all attempts), or one is in
    /// progress (to wait for); the generation to hand to [`JwksCache::refresh`].
    pub(crate) fn may_refetch(&self, now: u64) -> Option<u64> {
        let generation = self.generation.load(Ordering::Acquire);
        if self.in_flight.load(Ordering::Acquire) {
            return Some(generation);
        }
        let last = self.last_attempt.load(Ordering::Acquire);
        let allowed = last == 0
            || now >= (last - 1).saturating_add(self.config.min_refetch_interval.as_secs());
        allowed.then_some(generation)
    }

    pub(crate) fn plan(&self, now: u64) -> KeysPlan {
        let current = self.current.load_full();
        match current {
            Some(keys) if now < keys.fresh_until => KeysPlan::Use(keys),
            Some(keys) if now < keys.usable_until => match self.may_refetch(now) {
                Some(generation) => KeysPlan::Fetch {
                    generation,
                    fallback: Some(keys),
                },
                None => KeysPlan::Use(keys),
            },
            _ => match self.may_refetch(now) {
                Some(generation) => KeysPlan::Fetch {
                    generation,
                    fallback: None,
                },
                None => KeysPlan::Unavailable,
            },
        }
    }

    /// Fetches the set unless another task did (or tried) since `generation` was read. With a
    /// usable `fallback`, does not wait for a fetch in progress. Returns the set to use, if any.
    pub(crate) async fn refresh(
        &self,
        generation: u64,
        fallback: Option<Arc<LoadedKeys>>,
    ) -> Option<Arc<LoadedKeys>> {
        let _guard = match self.fetch_lock.try_lock() {
            Ok(guard) => guard,
            Err(_) if fallback.is_some() => return fallback,
            Err(_) => self.fetch_lock.lock().await,
        };
        let now = self.clock.now_unix();
        // Another task fetched (or tried) meanwhile, or the rate limit forbids a new attempt.
        if self.generation.load(Ordering::Acquire) != generation || self.may_refetch(now).is_none()
        {
            return self.usable(now);
        }
        self.in_flight.store(true, Ordering::Release);
        let _in_flight = InFlight(&self.in_flight);
        self.last_attempt
            .store(now.saturating_add(1), Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        match self.fetch().await {
            Ok((mut keys, ttl)) => {
                if let Some(algorithms) = &self.algorithms {
                    keys.retain_algorithms(algorithms);
                }
                if keys.is_empty() {
                    tracing::warn!(
                        target: "mcp_auth::oauth",
                        url = %self.url,
                        "JWKS holds no key of an accepted algorithm; keeping the previous set"
                    );
                    return self.usable(now);
                }
                for skipped in keys.skipped() {
                    tracing::debug!(
                        target: "mcp_auth::oauth",
                        url = %self.url,
                        kid = skipped.kid.as_deref(),
                        error = %skipped.error,
                        "JWKS key skipped"
                    );
                }
                // Timers start when the fetch completes.
                let now = self.clock.now_unix();
                let fresh_until = now.saturating_add(ttl.as_secs());
                let loaded = Arc::new(LoadedKeys {
                    keys,
                    fresh_until,
                    usable_until: fresh_until.saturating_add(self.config.max_stale.as_secs()),
                });
                self.current.store(Some(loaded.clone()));
                Some(loaded)
            }
            Err(error) => {
                let stale = self.usable(now);
                tracing::warn!(
                    target: "mcp_auth::oauth",
                    url = %self.url,
                    %error,
                    serving_stale = stale.is_some(),
                    "JWKS fetch failed"
                );
                stale
            }
        }
    }

    fn usable(&self, now: u64) -> Option<Arc<LoadedKeys>> {
        self.current
            .load_full()
            .filter(|keys| now < keys.usable_until)
    }

    async fn fetch(&self) -> Result<(KeySet, Duration), FetchError> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(
                http::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status()));
        }
        let cap = self.config.max_body;
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(FetchError::TooLarge(cap));
        }
        let ttl = self.ttl_of(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len().saturating_add(chunk.len()) > cap {
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((KeySet::from_jwks_json(&body)?, ttl))
    }

    /// `max-age` (or 0 for `no-cache` / `no-store`) clamped to the bounds; the default TTL
    /// when the response says nothing.
    fn ttl_of(&self, headers: &http::HeaderMap) -> Duration {
        let mut max_age = None;
        for value in headers.get_all(http::header::CACHE_CONTROL) {
            let Ok(value) = value.to_str() else { continue };
            for directive in value.split(',') {
                let directive = directive.trim();
                let lower = directive.to_ascii_lowercase();
                if lower == "no-cache" || lower == "no-store" {
                    max_age = Some(0);
                } else if let Some(seconds) = lower.strip_prefix("max-age=")
                    && let Ok(seconds) = seconds.trim_matches('"').parse::<u64>()
                {
                    max_age = Some(max_age.map_or(seconds, |m: u64| m.min(seconds)));
                }
            }
        }
        let ttl = max_age.map_or(self.config.ttl, Duration::from_secs);
        ttl.clamp(self.config.min_ttl, self.config.max_ttl)
    }
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.current.load();
        f.debug_struct("JwksCache")
            .field("url", &self.url.as_str())
            .field("keys", &current.as_ref().map(|k| k.keys.len()))
            .field("fresh_until", &current.as_ref().map(|k| k.fresh_until))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn cache(config: JwksConfig) -> Result<JwksCache, ConfigError> {
        JwksCache::new(config, Arc::new(ManualClock::from_unix(1_000)), None)
    }

    #[test]
    fn https_only_unless_loopback_is_allowed() {
        assert!(cache(JwksConfig::new("https://issuer.example/jwks")).is_ok());
        for url in [
            "http://issuer.example/jwks",
            "http://127.0.0.1:8080/jwks",
            "ftp://issuer.example/jwks",
        ] {
            assert!(matches!(
                cache(JwksConfig::new(url)),
                Err(ConfigError::HttpsRequired { .. })
            ));
        }
        for url in [
            "http://127.0.0.1:8080/jwks",
            "http://[::1]:8080/jwks",
            "http://localhost/jwks",
        ] {
            assert!(
                cache(JwksConfig::new(url).allow_http_loopback(true)).is_ok(),
                "{url}"
            );
        }
        assert!(matches!(
            cache(JwksConfig::new("http://10.0.0.1/jwks").allow_http_loopback(true)),
            Err(ConfigError::HttpsRequired { .. })
        ));
        assert!(matches!(
            cache(JwksConfig::new("not a url")),
            Err(ConfigError::InvalidJwksUrl { .. })
        ));
    }

    #[test]
    fn ttl_from_cache_control_is_bounded() {
        let c = cache(JwksConfig::new("https://issuer.example/jwks")).unwrap();
        let ttl = |value: Option<&'static str>| {
            let mut h = http::HeaderMap::new();
            if let Some(v) = value {
                h.insert(
                    http::header::CACHE_CONTROL,
                    http::HeaderValue::from_static(v),
                );
            }
            c.ttl_of(&h).as_secs()
        };
        assert_eq!(ttl(None), 600);
        assert_eq!(ttl(Some("public, max-age=3600")), 3600);
        assert_eq!(ttl(Some("Max-Age=5")), 60);
        assert_eq!(ttl(Some("max-age=99999999")), 24 * 3600);
        assert_eq!(ttl(Some("no-cache")), 60);
        assert_eq!(ttl(Some("max-age=nonsense")), 600);
    }

    #[test]
    fn refetch_rate_limit() {
        let c = cache(JwksConfig::new("https://issuer.example/jwks")).unwrap();
        assert_eq!(c.may_refetch(1_000), Some(0));
        c.last_attempt.store(1_001, Ordering::Release);
        assert_eq!(c.may_refetch(1_029), None);
        assert!(c.may_refetch(1_030).is_some());
        assert!(matches!(c.plan(1_010), KeysPlan::Unavailable));
        assert!(matches!(
            c.plan(1_031),
            KeysPlan::Fetch { fallback: None, .. }
        ));
    }
}
