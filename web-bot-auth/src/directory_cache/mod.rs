//! Fetching and caching agents' key directories (feature `fetch`).
//!
//! [`DirectoryCache`] is both the [`KeyResolver`] a verifier reads keys from and the
//! [`KeyFetcher`] that fills it:
//!
//! - [`KeyResolver::resolve`] answers from memory only (a read lock and a hash lookup; it never
//!   fetches). It finds the key whose thumbprint is the signature's `keyid` in the directory of
//!   the signature's agent, while that directory is fresh, or stale but its refresh failed
//!   recently (stale-if-error).
//! - [`KeyFetcher::fetch`] fetches `<origin>/.well-known/http-message-signatures-directory` for
//!   an agent and caches it, so that the next resolve finds its keys.
//!
//! A server verifies with the cache; when the outcome is "unknown key" for an agent, it awaits
//! `fetch(agent)` and verifies again, whatever the fetch returned (after a failed refresh the
//! stale keys are still served).
//!
//! What a fetch checks: the agent URL (`https` only; no userinfo, fragment, non-public IP
//! literal; loopback only when [`DirectoryCacheConfig::allow_http_loopback`]; the allow-list),
//! status 200 (redirects are never followed), `Content-Type:
//! application/http-message-signatures-directory+json` (no other media type is accepted: the
//! cache fails closed), the body size (streamed, reading stops past the bound), the JWKS, each
//! `kid` against its key's thumbprint, and the response signature whenever one is tagged
//! `http-message-signatures-directory` (required with
//! [`DirectoryCacheConfig::require_signed_directory`]).
//!
//! What it bounds: freshness from `Cache-Control` within `min_ttl..=max_ttl`; failures
//! remembered for `negative_ttl` (at most 5 minutes); one request in flight per agent however
//! many callers wait for it (single-flight); one fetch of a fresh agent per
//! `min_refetch_interval`; a fixed number of fetches in flight and of cached agents; every fetch
//! within `fetch_timeout`.
//!
//! ```no_run
//! use web_bot_auth::directory_cache::{DirectoryCache, DirectoryCacheConfig};
//! use web_bot_auth::fetch::KeyFetcher;
//! use web_bot_auth::message::{MessageView, RequestView};
//! use web_bot_auth::profile::{Outcome, UnverifiedReason, WebBotAuthVerifier};
//!
//! # async fn run(request: http::Request<()>) -> Result<(), Box<dyn std::error::Error>> {
//! let cache = DirectoryCache::new(DirectoryCacheConfig::default())?;
//! let verifier = WebBotAuthVerifier::new(cache.clone());
//! let view = MessageView::Request(RequestView::from_http(&request, "https")?);
//! let mut outcome = verifier.verify(&view);
//! if let Outcome::Unverified(UnverifiedReason::UnknownKey { agent: Some(agent), .. }) = &outcome {
//!     if let Err(e) = cache.fetch(agent).await {
//!         println!("directory of {agent}: {e}");
//!     }
//!     outcome = verifier.verify(&view);
//! }
//! println!("{}", outcome.kind());
//! # Ok(())
//! # }
//! ```
//!
//! Fetching needs a Tokio runtime with the time driver (reqwest needs one anyway).

mod client;
mod config;
mod origin;
mod response;
mod store;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tokio::sync::OnceCell;
use tokio::time::{Instant, timeout_at};

use crate::clock::{Clock, SystemClock};
use crate::directory::{DIRECTORY_PATH, MAX_DIRECTORY_KEYS};
use crate::fetch::{FetchError, FetchFuture, KeyFetcher};
use crate::keys::VerifyingKey;
use crate::verify::{KeyQuery, KeyResolver};

pub use client::{
    DirectoryClient, DirectoryFuture, DirectoryResponse, FetchLimits, ReqwestDirectoryClient,
};
pub use config::{CacheStats, DirectoryCacheConfig, MAX_FETCH_TIMEOUT, MAX_NEGATIVE_TTL};

use origin::parse_origin;
use store::{Entry, Store};

/// Key directories of agents, fetched on demand and cached; see the [module
/// documentation](self).
///
/// Cloning is cheap and shares the cache.
#[derive(Clone)]
pub struct DirectoryCache {
    inner: Arc<Inner>,
}

/// Builds a [`DirectoryCache`] with another client or clock.
pub struct DirectoryCacheBuilder {
    config: DirectoryCacheConfig,
    client: Option<Arc<dyn DirectoryClient>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DirectoryCacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryCacheBuilder")
            .field("config", &self.config)
            .field("custom_client", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

impl DirectoryCacheBuilder {
    /// Fetches with `client` instead of a [`ReqwestDirectoryClient`].
    pub fn client(mut self, client: Arc<dyn DirectoryClient>) -> Self {
        self.client = Some(client);
        self
    }

    /// Reads time from `clock` (TTLs, negative caching, rate limits, key and signature
    /// validity) instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The cache. Fails when an allow-list entry is not a valid agent URL, or when the default
    /// HTTP client cannot be built.
    pub fn build(self) -> Result<DirectoryCache, FetchError> {
        let config = self.config.clamped();
        let allow_list = match &config.allow_list {
            None => None,
            Some(list) => {
                let mut set = HashSet::with_capacity(list.len());
                for agent in list {
                    let origin =
                        parse_origin(agent, config.allow_http_loopback).map_err(|why| {
                            FetchError::NotAllowed(format!("allow-list entry {agent:?}: {why}"))
                        })?;
                    set.insert(origin.key.into_owned());
                }
                Some(set)
            }
        };
        let client = match self.client {
            Some(c) => c,
            None => Arc::new(ReqwestDirectoryClient::new(&config)?),
        };
        Ok(DirectoryCache {
            inner: Arc::new(Inner {
                config,
                allow_list,
                client,
                clock: self.clock,
                store: RwLock::new(Store::default()),
                flights: Mutex::new(HashMap::new()),
                generation: AtomicU64::new(1),
                counters: Counters::default(),
            }),
        })
    }
}

struct Inner {
    config: DirectoryCacheConfig,
    allow_list: Option<HashSet<String>>,
    client: Arc<dyn DirectoryClient>,
    clock: Arc<dyn Clock>,
    store: RwLock<Store>,
    /// One fetch in flight per origin; callers for the same origin share its result.
    flights: Mutex<HashMap<String, Arc<Flight>>>,
    generation: AtomicU64,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    fetches_started: AtomicU64,
    fetch_failures: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    negative_hits: AtomicU64,
    rate_limited: AtomicU64,
    evictions: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A fetch in flight. Whoever initializes the cell does the request; the others wait for its
/// result. If the one fetching is cancelled, a waiting caller takes over (`OnceCell` semantics).
#[derive(Default)]
struct Flight {
    result: OnceCell<Result<(), FetchError>>,
}

/// What to do about a fetch request, before any network.
enum Decision {
    /// Answer without a request.
    Answer(Result<(), FetchError>),
    /// Fetch; the entry's generation seen (0: none).
    Fetch(u64),
}

impl fmt::Debug for DirectoryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryCache")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl DirectoryCache {
    /// A cache with `config`, fetching with a [`ReqwestDirectoryClient`] and reading the system
    /// clock.
    pub fn new(config: DirectoryCacheConfig) -> Result<Self, FetchError> {
        Self::builder(config).build()
    }

    /// A builder, to choose the client or the clock.
    pub fn builder(config: DirectoryCacheConfig) -> DirectoryCacheBuilder {
        DirectoryCacheBuilder {
            config,
            client: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The configuration in use (clamped).
    pub fn config(&self) -> &DirectoryCacheConfig {
        &self.inner.config
    }

    /// Pins `keys` for `agent`: they are served for the agent's origin, never expire, are never
    /// evicted and never fetched ([`KeyFetcher::fetch`] answers `Ok` at once). Replaces whatever
    /// was cached for the origin. At most [`MAX_DIRECTORY_KEYS`] keys.
    pub fn insert_static(
        &self,
        agent: &str,
        keys: impl IntoIterator<Item = VerifyingKey>,
    ) -> Result<(), FetchError> {
        let origin = parse_origin(agent, self.inner.config.allow_http_loopback)
            .map_err(|why| FetchError::NotAllowed(why.into()))?;
        let keys: Vec<VerifyingKey> = keys.into_iter().take(MAX_DIRECTORY_KEYS + 1).collect();
        if keys.len() > MAX_DIRECTORY_KEYS {
            return Err(FetchError::InvalidDirectory(format!(
                "more than {MAX_DIRECTORY_KEYS} keys"
            )));
        }
        let now = self.inner.clock.now_unix();
        let entry = Entry::pinned(keys, now, self.inner.next_generation());
        let mut store = self.inner.write_store();
        let evicted = store.put(&origin.key, entry, self.inner.config.max_agents, now);
        self.inner
            .counters
            .evictions
            .fetch_add(evicted as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Forgets what is cached for `agent`'s origin (pinned keys included). `true` if there was
    /// an entry.
    pub fn remove(&self, agent: &str) -> bool {
        match parse_origin(agent, self.inner.config.allow_http_loopback) {
            Ok(origin) => self.inner.write_store().remove(&origin.key),
            Err(_) => false,
        }
    }

    /// Whether resolve would answer from `agent`'s directory now (fresh, pinned, or stale after
    /// a failed refresh).
    pub fn is_cached(&self, agent: &str) -> bool {
        let Ok(origin) = parse_origin(agent, self.inner.config.allow_http_loopback) else {
            return false;
        };
        let now = self.inner.clock.now_unix();
        self.inner
            .read_store()
            .get(&origin.key)
            .is_some_and(|e| e.serves(now))
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        let c = &self.inner.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheStats {
            fetches_started: load(&c.fetches_started),
            fetch_failures: load(&c.fetch_failures),
            hits: load(&c.hits),
            misses: load(&c.misses),
            negative_hits: load(&c.negative_hits),
            rate_limited: load(&c.rate_limited),
            evictions: load(&c.evictions),
            entries: self.inner.read_store().len(),
        }
    }
}

impl Inner {
    fn read_store(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_store(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_flights(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Flight>>> {
        self.flights.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::Relaxed)
    }

    fn resolve(&self, query: &KeyQuery<'_>) -> Option<VerifyingKey> {
        let found = (|| {
            let agent = query.agent?;
            let store = self.read_store();
            // Keys are validated, normalized origins: an agent equal to one is that origin, and
            // needs no parsing (the common case, `Signature-Agent: "https://bot.example"`).
            let entry = match store.get(agent) {
                Some(entry) => entry,
                None => {
                    let origin = parse_origin(agent, self.config.allow_http_loopback).ok()?;
                    if origin.key == agent {
                        return None;
                    }
                    store.get(origin.key.as_ref())?
                }
            };
            let now = self.clock.now_unix();
            entry.touch(now);
            if !entry.serves(now) {
                return None;
            }
            entry.find(query.keyid, query.alg, now).cloned()
        })();
        bump(if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        });
        found
    }

    /// Whether `origin` needs a request now.
    fn decide(&self, origin: &str) -> Decision {
        let now = self.clock.now_unix();
        let store = self.read_store();
        let Some(entry) = store.get(origin) else {
            return Decision::Fetch(0);
        };
        if entry.pinned {
            return Decision::Answer(Ok(()));
        }
        if entry.failure_remembered(now) {
            bump(&self.counters.negative_hits);
            let why = match &entry.last_result {
                Err(e) => e.to_string(),
                Ok(()) => String::new(),
            };
            return Decision::Answer(Err(FetchError::NegativelyCached(why)));
        }
        let since_attempt = now.checked_sub(entry.attempted_at);
        if entry.is_fresh(now)
            && since_attempt.is_some_and(|s| s < self.config.min_refetch_interval.as_secs())
        {
            bump(&self.counters.rate_limited);
            return Decision::Answer(Err(FetchError::RateLimited));
        }
        Decision::Fetch(entry.generation)
    }

    /// The flight for `origin`, joined or started.
    fn join_flight(&self, origin: &str) -> Result<Arc<Flight>, FetchError> {
        let mut flights = self.lock_flights();
        if let Some(flight) = flights.get(origin)
            && !flight.result.initialized()
        {
            return Ok(Arc::clone(flight));
        }
        // A finished flight still listed is replaced; a new one needs room.
        if !flights.contains_key(origin) && flights.len() >= self.config.max_concurrent_fetches {
            bump(&self.counters.rate_limited);
            return Err(FetchError::RateLimited);
        }
        let flight = Arc::new(Flight::default());
        flights.insert(origin.to_owned(), Arc::clone(&flight));
        Ok(flight)
    }

    async fn fetch(&self, agent: &str) -> Result<(), FetchError> {
        let deadline = Instant::now() + self.config.fetch_timeout;
        let origin = match parse_origin(agent, self.config.allow_http_loopback) {
            Ok(o) => o,
            Err(why) => {
                tracing::debug!(agent = ?loggable(agent), error = why, "directory fetch refused");
                return Err(FetchError::NotAllowed(why.into()));
            }
        };
        if let Some(list) = &self.allow_list
            && !list.contains(origin.key.as_ref())
        {
            tracing::debug!(
                agent = origin.key.as_ref(),
                "directory fetch refused: not on the allow-list"
            );
            return Err(FetchError::NotAllowed(
                "agent is not on the allow-list".into(),
            ));
        }
        let seen = match self.decide(&origin.key) {
            Decision::Answer(result) => return result,
            Decision::Fetch(generation) => generation,
        };
        let flight = self.join_flight(&origin.key)?;
        let guard = FlightGuard {
            inner: self,
            origin: &origin.key,
            flight,
        };
        let shared = guard
            .flight
            .result
            .get_or_init(|| self.fetch_and_store(&origin.key, origin.authority(), seen, deadline));
        let result = match timeout_at(deadline, shared).await {
            Ok(result) => result.clone(),
            Err(_) => Err(FetchError::Timeout),
        };
        drop(guard);
        result
    }

    /// Sends the request (unless a result arrived since `seen`), checks the response and
    /// stores the outcome.
    async fn fetch_and_store(
        &self,
        origin: &str,
        authority: &str,
        seen: u64,
        deadline: Instant,
    ) -> Result<(), FetchError> {
        {
            // A flight that finished between our decision and now already answered.
            let store = self.read_store();
            if let Some(entry) = store.get(origin)
                && entry.generation != seen
            {
                return entry.last_result.clone();
            }
        }
        bump(&self.counters.fetches_started);
        let url = format!("{origin}{DIRECTORY_PATH}");
        let limits = FetchLimits::new(
            self.config.max_response_bytes,
            self.config.fetch_timeout,
            self.config.allow_http_loopback,
        );
        let received = match timeout_at(deadline, self.client.get(&url, &limits)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout),
        };
        let now = self.clock.now_unix();
        let accepted = received.and_then(|response| {
            response::accept(&response, authority, &self.config, &*self.clock, now)
        });
        self.store_outcome(origin, accepted, now)
    }

    fn store_outcome(
        &self,
        origin: &str,
        accepted: Result<response::Accepted, FetchError>,
        now: u64,
    ) -> Result<(), FetchError> {
        let generation = self.next_generation();
        let mut store = self.write_store();
        if store.get(origin).is_some_and(|e| e.pinned) {
            // Pinned while we fetched: the operator's keys win.
            return Ok(());
        }
        match accepted {
            Ok(accepted) => {
                let fresh_until = now.saturating_add(accepted.ttl);
                tracing::debug!(
                    agent = origin,
                    keys = accepted.keys.len(),
                    rejected_keys = accepted.rejected,
                    signed = accepted.signed,
                    ttl = accepted.ttl,
                    "directory fetched"
                );
                let entry = Entry {
                    keys: Some(accepted.keys.into_boxed_slice()),
                    pinned: false,
                    fetched_at: now,
                    fresh_until,
                    stale_until: fresh_until.saturating_add(self.config.max_stale.as_secs()),
                    attempted_at: now,
                    failed_until: 0,
                    last_result: Ok(()),
                    generation,
                    last_used: AtomicU64::new(now),
                };
                let evicted = store.put(origin, entry, self.config.max_agents, now);
                self.counters
                    .evictions
                    .fetch_add(evicted as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(error) => {
                bump(&self.counters.fetch_failures);
                let failed_until = now.saturating_add(self.config.negative_ttl.as_secs());
                match store.get_mut(origin) {
                    // Stale-if-error: keep the keys, remember the failure.
                    Some(entry) if entry.keys.is_some() && now < entry.stale_until => {
                        tracing::warn!(
                            agent = origin,
                            error = %error,
                            "directory refresh failed; serving the cached keys"
                        );
                        entry.attempted_at = now;
                        entry.failed_until = failed_until;
                        entry.last_result = Err(error.clone());
                        entry.generation = generation;
                    }
                    _ => {
                        // Unknown agents are attacker-chosen: keep their failures quiet.
                        tracing::debug!(agent = origin, error = %error, "directory fetch failed");
                        let entry = Entry {
                            keys: None,
                            pinned: false,
                            fetched_at: 0,
                            fresh_until: 0,
                            stale_until: 0,
                            attempted_at: now,
                            failed_until,
                            last_result: Err(error.clone()),
                            generation,
                            last_used: AtomicU64::new(now),
                        };
                        let evicted = store.put(origin, entry, self.config.max_agents, now);
                        self.counters
                            .evictions
                            .fetch_add(evicted as u64, Ordering::Relaxed);
                    }
                }
                Err(error)
            }
        }
    }
}

/// At most 128 bytes of an untrusted agent string, for logs (printed with `?`, which escapes
/// control characters).
fn loggable(agent: &str) -> &str {
    let mut end = agent.len().min(128);
    while !agent.is_char_boundary(end) {
        end -= 1;
    }
    agent.get(..end).unwrap_or("")
}

/// Takes a flight off the list when its caller leaves and the flight is finished or nobody
/// else waits for it (a cancelled caller must not leave a dead flight behind).
struct FlightGuard<'a> {
    inner: &'a Inner,
    origin: &'a str,
    flight: Arc<Flight>,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        let mut flights = self.inner.lock_flights();
        let listed = flights
            .get(self.origin)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight));
        // Other callers take a reference only under this lock: two means the list and us.
        if listed && (self.flight.result.initialized() || Arc::strong_count(&self.flight) <= 2) {
            flights.remove(self.origin);
        }
    }
}

impl KeyResolver for DirectoryCache {
    /// The key whose thumbprint is `keyid` in the directory of `agent` (required), from memory
    /// only.
    fn resolve(&self, query: &KeyQuery<'_>) -> Option<VerifyingKey> {
        self.inner.resolve(query)
    }
}

impl KeyFetcher for DirectoryCache {
    /// Fetches `agent`'s directory unless its failure is remembered
    /// ([`FetchError::NegativelyCached`]), it was fetched less than
    /// [`DirectoryCacheConfig::min_refetch_interval`] ago and is fresh
    /// ([`FetchError::RateLimited`]), or its keys are pinned (`Ok`). Concurrent calls for one
    /// agent share one request. Never waits longer than [`DirectoryCacheConfig::fetch_timeout`].
    fn fetch<'a>(&'a self, agent: &'a str) -> FetchFuture<'a> {
        Box::pin(self.inner.fetch(agent))
    }
}
