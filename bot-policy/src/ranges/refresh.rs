//! Refreshing range sets from the operators' URLs at run time (feature `refresh`); see
//! [`RangeRefresher`].

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::Url;
use tokio::task::JoinSet;

use super::{IpRanges, RangeRegistry, RangesError};
use crate::LiveClassifier;

/// Most sources fetched at the same time in one round.
const MAX_CONCURRENT_FETCHES: usize = 8;

/// The jitter applied to every wait, in percent of the interval (either way).
const JITTER_PERCENT: u128 = 10;

/// The longest text (redirect target, transport message) kept in an error, in bytes.
const MAX_ERROR_TEXT: usize = 512;

/// The built-in sources: the operators that publish their ranges in the JSON format at a URL of
/// their own, one per built-in set of the same name. Keep in step with the table in
/// `data/ranges/README.md` (a unit test checks that every URL appears there).
const BUILTIN_SOURCES: &[(&str, &str)] = &[
    ("openai-gptbot", "https://openai.com/gptbot.json"),
    ("openai-searchbot", "https://openai.com/searchbot.json"),
    (
        "openai-chatgpt-user",
        "https://openai.com/chatgpt-user.json",
    ),
    (
        "googlebot",
        "https://developers.google.com/static/search/apis/ipranges/googlebot.json",
    ),
    (
        "google-user-triggered-fetchers",
        "https://developers.google.com/static/crawling/ipranges/user-triggered-fetchers-google.json",
    ),
    ("bingbot", "https://www.bing.com/toolbox/bingbot.json"),
    (
        "applebot",
        "https://search.developer.apple.com/applebot.json",
    ),
    ("commoncrawl", "https://index.commoncrawl.org/ccbot.json"),
    (
        "perplexitybot",
        "https://www.perplexity.com/perplexitybot.json",
    ),
    (
        "perplexity-user",
        "https://www.perplexity.com/perplexity-user.json",
    ),
    (
        "mistralai-user",
        "https://mistral.ai/mistralai-user-ips.json",
    ),
    (
        "qwantbot",
        "https://help.qwant.com/wp-content/uploads/sites/latest/qwantbot.json",
    ),
    ("mojeekbot", "https://www.mojeek.com/mojeekbot.json"),
    ("lyrenth", "https://www.lyrenth.com/bot/ip-ranges.json"),
];

/// How a source's document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RangeFormat {
    /// The operators' JSON document, `{"prefixes":[{"ipv4Prefix":…},{"ipv6Prefix":…}]}`,
    /// parsed with [`IpRanges::from_json`].
    Json,
    /// A plain-text list, one CIDR or address per line, `#` comments, parsed with
    /// [`IpRanges::from_cidr_list`]. The body must be UTF-8.
    CidrList,
}

impl RangeFormat {
    /// The `Accept` header field value sent for this format.
    fn accept(self) -> &'static str {
        match self {
            RangeFormat::Json => "application/json",
            RangeFormat::CidrList => "text/plain",
        }
    }
}

/// Where a range set is fetched from: the set's name in the [`RangeRegistry`] (the name the
/// catalog's `ip_ranges` fields use), the URL, and the document's format.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RangeSource {
    /// The range set's name, e.g. `openai-gptbot`.
    pub name: String,
    /// The URL: `https://…` (or `http://` to a loopback host, with
    /// [`RangeRefresherBuilder::allow_http_loopback`]).
    pub url: String,
    /// How the document is written.
    pub format: RangeFormat,
}

impl RangeSource {
    /// A source of the set `name` at `url`, written in `format`.
    pub fn new(name: impl Into<String>, url: impl Into<String>, format: RangeFormat) -> Self {
        RangeSource {
            name: name.into(),
            url: url.into(),
            format,
        }
    }

    /// A source publishing the operators' JSON format.
    pub fn json(name: impl Into<String>, url: impl Into<String>) -> Self {
        RangeSource::new(name, url, RangeFormat::Json)
    }

    /// A source publishing a plain CIDR list.
    pub fn cidr_list(name: impl Into<String>, url: impl Into<String>) -> Self {
        RangeSource::new(name, url, RangeFormat::CidrList)
    }

    /// The operators' own published lists for the built-in sets that have one (all JSON):
    /// `openai-gptbot`, `openai-searchbot`, `openai-chatgpt-user`, `googlebot`,
    /// `google-user-triggered-fetchers`, `bingbot`, `applebot`, `commoncrawl`,
    /// `perplexitybot`, `perplexity-user`, `mistralai-user`, `qwantbot`, `mojeekbot` and
    /// `lyrenth`. The URLs are listed in `data/ranges/README.md`.
    ///
    /// The other built-in sets (DuckDuckBot, Kagi, the cloud networks, …) have no list of this
    /// kind and stay as shipped.
    pub fn builtin() -> Vec<RangeSource> {
        BUILTIN_SOURCES
            .iter()
            .map(|(name, url)| RangeSource::json(*name, *url))
            .collect()
    }
}

/// Why a source could not be refreshed, or a refresher not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The configuration is unusable (a source without a name, two sources of one name, an
    /// unparseable URL).
    #[error("invalid refresher configuration: {0}")]
    Config(String),
    /// The URL is not allowed: not `https`, or `http` to a host that is not loopback, or
    /// `http` without [`RangeRefresherBuilder::allow_http_loopback`], or credentials in it.
    #[error("URL not allowed: {0}")]
    NotAllowed(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// No Tokio runtime to run on.
    #[error("no Tokio runtime: the range refresher runs on Tokio")]
    NoRuntime,
    /// The request failed (DNS, connection, TLS, an interrupted body).
    #[error("transport error: {0}")]
    Transport(String),
    /// The fetch took longer than [`RangeRefresherBuilder::timeout`].
    #[error("timed out")]
    Timeout,
    /// The response status was not 200 (and not a redirect).
    #[error("HTTP status {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// The response was a redirect, which is never followed: configure the target URL.
    #[error("HTTP status {status}: redirect to {location:?} not followed")]
    Redirect {
        /// The status code.
        status: u16,
        /// The `Location` header field value (cut to 512 bytes; empty when absent).
        location: String,
    },
    /// The body is longer than [`RangeRefresherBuilder::max_body_bytes`]; reading stopped
    /// there.
    #[error("response body larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// A [`RangeFormat::CidrList`] body is not UTF-8.
    #[error("the list is not UTF-8 (byte {position})")]
    NotUtf8 {
        /// The offset of the first invalid byte.
        position: usize,
    },
    /// The body does not parse as the source's format.
    #[error("cannot parse the list: {0}")]
    Parse(#[from] RangesError),
    /// The new set has fewer ranges than [`RangeRefresherBuilder::min_prefixes`] (an empty
    /// list always is).
    #[error("{ranges} ranges, fewer than the required {min}")]
    TooFew {
        /// Merged ranges in the new set.
        ranges: usize,
        /// The minimum.
        min: usize,
    },
    /// The new set shrank below [`RangeRefresherBuilder::min_retained_percent`] of the set in
    /// force.
    #[error("{ranges} ranges where {previous} were: below {min_percent}% of the set in force")]
    Shrunk {
        /// Merged ranges in the new set.
        ranges: usize,
        /// Merged ranges in the set in force.
        previous: usize,
        /// The minimum share, in percent.
        min_percent: u8,
    },
    /// A fetch or parse task ended without a result (it panicked or was cancelled).
    #[error("refresh task failed: {0}")]
    Task(String),
}

/// What one round did with one source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// A new set was swapped in.
    Updated {
        /// Merged ranges ([`IpRanges::len`]) in the new set.
        ranges: usize,
        /// Merged ranges in the set it replaced; `None` when there was no set of this name.
        previous: Option<usize>,
    },
    /// The document gave the set already in force (same ranges, same `creationTime`); nothing
    /// was swapped.
    Unchanged {
        /// Merged ranges in the set.
        ranges: usize,
    },
    /// The source could not be refreshed; the set in force (if any) is kept.
    Failed(RefreshError),
}

/// One source's line in a [`RefreshReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceReport {
    /// The range set's name.
    pub name: String,
    /// The URL it was fetched from.
    pub url: String,
    /// What happened.
    pub outcome: RefreshOutcome,
}

/// What a refresh round did, one [`SourceReport`] per source in the configured order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    sources: Vec<SourceReport>,
}

impl RefreshReport {
    /// Every source, in the configured order.
    pub fn sources(&self) -> &[SourceReport] {
        &self.sources
    }

    /// The report of the source of the set `name`.
    pub fn get(&self, name: &str) -> Option<&SourceReport> {
        self.sources.iter().find(|source| source.name == name)
    }

    /// The outcome for the set `name`.
    pub fn outcome(&self, name: &str) -> Option<&RefreshOutcome> {
        self.get(name).map(|source| &source.outcome)
    }

    /// How many sets were swapped in.
    pub fn updated(&self) -> usize {
        self.count(|outcome| matches!(outcome, RefreshOutcome::Updated { .. }))
    }

    /// How many sources were unchanged.
    pub fn unchanged(&self) -> usize {
        self.count(|outcome| matches!(outcome, RefreshOutcome::Unchanged { .. }))
    }

    /// How many sources failed.
    pub fn failed(&self) -> usize {
        self.count(|outcome| matches!(outcome, RefreshOutcome::Failed(_)))
    }

    /// Whether no source failed.
    pub fn is_ok(&self) -> bool {
        self.failed() == 0
    }

    fn count(&self, which: impl Fn(&RefreshOutcome) -> bool) -> usize {
        self.sources
            .iter()
            .filter(|source| which(&source.outcome))
            .count()
    }
}

/// Configures a [`RangeRefresher`]; from [`RangeRefresher::builder`].
#[derive(Debug, Clone)]
pub struct RangeRefresherBuilder {
    sources: Vec<RangeSource>,
    interval: Duration,
    retry_interval: Duration,
    timeout: Duration,
    max_body_bytes: usize,
    min_prefixes: usize,
    min_retained_percent: u8,
    allow_http_loopback: bool,
}

impl Default for RangeRefresherBuilder {
    fn default() -> Self {
        RangeRefresherBuilder {
            sources: RangeSource::builtin(),
            interval: RangeRefresher::DEFAULT_INTERVAL,
            retry_interval: RangeRefresher::DEFAULT_RETRY_INTERVAL,
            timeout: RangeRefresher::DEFAULT_TIMEOUT,
            max_body_bytes: RangeRefresher::DEFAULT_MAX_BODY_BYTES,
            min_prefixes: 1,
            min_retained_percent: RangeRefresher::DEFAULT_MIN_RETAINED_PERCENT,
            allow_http_loopback: false,
        }
    }
}

impl RangeRefresherBuilder {
    /// Replaces the sources (default: [`RangeSource::builtin`]).
    pub fn sources(mut self, sources: impl IntoIterator<Item = RangeSource>) -> Self {
        self.sources = sources.into_iter().collect();
        self
    }

    /// Adds one source.
    pub fn source(mut self, source: RangeSource) -> Self {
        self.sources.push(source);
        self
    }

    /// Time between two rounds of [`RangeRefresher::spawn`] (default
    /// [`RangeRefresher::DEFAULT_INTERVAL`], clamped to
    /// [`RangeRefresher::MIN_INTERVAL`]`..=`[`RangeRefresher::MAX_INTERVAL`]). Each wait is
    /// jittered by up to 10% either way, so that servers started together do not fetch
    /// together.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Time before the next round of [`RangeRefresher::spawn`] after a round in which a source
    /// failed (default [`RangeRefresher::DEFAULT_RETRY_INTERVAL`]; never more than the
    /// interval, at least [`RangeRefresher::MIN_INTERVAL`]). Every source is fetched again
    /// then.
    pub fn retry_interval(mut self, retry_interval: Duration) -> Self {
        self.retry_interval = retry_interval;
        self
    }

    /// Limit on one fetch, connection, headers and body together (default
    /// [`RangeRefresher::DEFAULT_TIMEOUT`], at most [`RangeRefresher::MAX_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest body read (default [`RangeRefresher::DEFAULT_MAX_BODY_BYTES`], at most
    /// [`RangeRefresher::MAX_BODY_BYTES`]). A body that declares a larger length is not read; a
    /// longer body is read up to the limit and refused there.
    pub fn max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// Fewest merged ranges ([`IpRanges::len`]) a new set must have to be accepted (default
    /// and minimum 1: an empty list is never accepted).
    pub fn min_prefixes(mut self, min_prefixes: usize) -> Self {
        self.min_prefixes = min_prefixes;
        self
    }

    /// Smallest size of a new set, in percent of the merged ranges of the set in force, for it
    /// to be accepted (default [`RangeRefresher::DEFAULT_MIN_RETAINED_PERCENT`]; 0 turns the
    /// check off; at most 100). A list that suddenly lost most of its ranges is more likely a
    /// publishing accident than a real change. When it is a real one, it is refused at every
    /// round (and logged) until this is lowered or the set is inserted by hand
    /// ([`LiveClassifier::update_ranges`]); the set in force meanwhile is the larger old one.
    pub fn min_retained_percent(mut self, percent: u8) -> Self {
        self.min_retained_percent = percent;
        self
    }

    /// Allow `http://` URLs to loopback hosts (`127.0.0.0/8`, `::1`, `localhost`), for tests
    /// (default off: `https` only). `http` to any other host is refused either way.
    pub fn allow_http_loopback(mut self, allow: bool) -> Self {
        self.allow_http_loopback = allow;
        self
    }

    /// Checks the sources and builds the refresher and its HTTP client: rustls, no redirects,
    /// no response compression, https only (unless [`allow_http_loopback`]), connection and
    /// total timeouts.
    ///
    /// # Errors
    ///
    /// [`RefreshError::Config`] for a source without a name, two sources of the same name, or
    /// a URL that does not parse; [`RefreshError::NotAllowed`] for a URL that is not allowed;
    /// [`RefreshError::Client`] when the HTTP client cannot be built.
    ///
    /// [`allow_http_loopback`]: RangeRefresherBuilder::allow_http_loopback
    pub fn build(self) -> Result<RangeRefresher, RefreshError> {
        let mut names = HashSet::new();
        let mut urls = Vec::with_capacity(self.sources.len());
        for source in &self.sources {
            if source.name.trim().is_empty() {
                return Err(RefreshError::Config(format!(
                    "the source {:?} has no name",
                    cut(&source.url)
                )));
            }
            if !names.insert(source.name.as_str()) {
                return Err(RefreshError::Config(format!(
                    "two sources of the set {:?}",
                    source.name
                )));
            }
            let url = Url::parse(&source.url).map_err(|e| {
                RefreshError::Config(format!(
                    "source {:?}: URL {:?}: {e}",
                    source.name,
                    cut(&source.url)
                ))
            })?;
            check_url(&url, self.allow_http_loopback).map_err(|e| match e {
                RefreshError::NotAllowed(why) => {
                    RefreshError::NotAllowed(format!("source {:?}: {why}", source.name))
                }
                other => other,
            })?;
            urls.push(url);
        }
        let timeout = self
            .timeout
            .clamp(Duration::from_millis(1), RangeRefresher::MAX_TIMEOUT);
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!self.allow_http_loopback)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .user_agent(concat!(
                "bot-policy/",
                env!("CARGO_PKG_VERSION"),
                " (IP range refresher)"
            ));
        if self.allow_http_loopback {
            // Loopback test servers are never behind the environment's proxy.
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| RefreshError::Client(error_text(&e)))?;
        let interval = self
            .interval
            .clamp(RangeRefresher::MIN_INTERVAL, RangeRefresher::MAX_INTERVAL);
        Ok(RangeRefresher {
            inner: Arc::new(Inner {
                client,
                sources: self.sources,
                urls,
                limits: Limits {
                    timeout,
                    max_body_bytes: self.max_body_bytes.min(RangeRefresher::MAX_BODY_BYTES),
                    allow_http_loopback: self.allow_http_loopback,
                },
                interval,
                retry_interval: self
                    .retry_interval
                    .clamp(RangeRefresher::MIN_INTERVAL, interval),
                min_prefixes: self.min_prefixes.max(1),
                min_retained_percent: self.min_retained_percent.min(100),
            }),
        })
    }
}

/// Fetches the operators' range lists and swaps the sets that changed into a
/// [`LiveClassifier`]: once ([`RangeRefresher::refresh_once`]) or in a Tokio task
/// ([`RangeRefresher::spawn`]). Feature `refresh`.
///
/// Each [`RangeSource`] is fetched over HTTPS (reqwest with rustls: no redirects, connection
/// and total timeouts, a hard cap on the body) and parsed with [`IpRanges::from_json`] or
/// [`IpRanges::from_cidr_list`] according to its [`RangeFormat`]; a set that passes the sanity
/// checks and differs from the one in force is swapped in with
/// [`LiveClassifier::update_ranges`]. Requests read the classifier with one atomic load, so a
/// refresh never blocks them; a request keeps the classifier it started with.
///
/// A refresh never makes things worse: a source that fails (transport error, timeout, status
/// other than 200, redirect, oversized or unparseable body) or that serves a suspicious set
/// (fewer ranges than [`RangeRefresherBuilder::min_prefixes`], or shrunk below
/// [`RangeRefresherBuilder::min_retained_percent`] of the set in force) is reported as failed,
/// logged with `tracing::warn!`, and the set in force is kept. A broken publisher cannot wipe
/// the verification of its bots.
///
/// [`RangeSource::builtin`] lists the operators that publish a machine-readable list of their
/// own (see `data/ranges/README.md`); the other built-in sets stay as shipped.
///
/// ```no_run
/// use std::time::Duration;
/// use bot_policy::LiveClassifier;
/// use bot_policy::ranges::{RangeRefresher, RangeSource, RefreshOutcome};
///
/// # async fn run() -> Result<(), bot_policy::ranges::RefreshError> {
/// let live = LiveClassifier::default(); // the built-in catalog and range snapshot
/// let refresher = RangeRefresher::builder()
///     .sources(RangeSource::builtin())
///     .source(RangeSource::cidr_list("partner", "https://partner.example/crawler-ips.txt"))
///     .interval(Duration::from_secs(6 * 60 * 60))
///     .build()?;
///
/// // One round now, and what it did:
/// let report = refresher.refresh_once(&live).await;
/// for source in report.sources() {
///     if let RefreshOutcome::Failed(error) = &source.outcome {
///         eprintln!("{}: {error}; the set in force is kept", source.name);
///     }
/// }
///
/// // Then a round every six hours (give or take a little jitter) until `handle` is dropped.
/// let handle = refresher.spawn(live.clone())?;
/// // … hand `live` to `BotPolicyLayer::classifier` and serve …
/// handle.stop();
/// # Ok(())
/// # }
/// ```
///
/// Cheap to clone (the configuration and the HTTP client are shared). One refresher per live
/// classifier: two refreshers of the same set would undo each other's work.
#[derive(Clone)]
pub struct RangeRefresher {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    sources: Vec<RangeSource>,
    /// The parsed URL of each source, same order.
    urls: Vec<Url>,
    limits: Limits,
    interval: Duration,
    retry_interval: Duration,
    min_prefixes: usize,
    min_retained_percent: u8,
}

/// What each fetch must respect.
#[derive(Debug, Clone, Copy)]
struct Limits {
    timeout: Duration,
    max_body_bytes: usize,
    allow_http_loopback: bool,
}

impl fmt::Debug for RangeRefresher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("RangeRefresher")
            .field(
                "sources",
                &inner
                    .sources
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("interval", &inner.interval)
            .field("retry_interval", &inner.retry_interval)
            .field("timeout", &inner.limits.timeout)
            .field("max_body_bytes", &inner.limits.max_body_bytes)
            .field("min_prefixes", &inner.min_prefixes)
            .field("min_retained_percent", &inner.min_retained_percent)
            .field("allow_http_loopback", &inner.limits.allow_http_loopback)
            .finish()
    }
}

/// A source's fetched set, or why there is none.
type Fetched = Result<IpRanges, RefreshError>;

impl RangeRefresher {
    /// Default time between two refresh rounds: 6 hours.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(6 * 60 * 60);

    /// Default time before the next round when a source failed: 5 minutes.
    pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(5 * 60);

    /// Shortest interval between rounds; shorter ones are raised to it.
    pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

    /// Longest interval between rounds; longer ones are lowered to it.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

    /// Default limit on one fetch, connection, headers and body together: 30 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Longest fetch timeout accepted; longer ones are lowered to it.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

    /// Default largest body read: 4 MiB (the operators' lists are tens of KiB).
    pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

    /// Largest body limit accepted; larger ones are lowered to it.
    pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

    /// Default for [`RangeRefresherBuilder::min_retained_percent`]: a new set must keep at least
    /// half as many ranges as the set in force.
    pub const DEFAULT_MIN_RETAINED_PERCENT: u8 = 50;

    /// A builder with the defaults: the [built-in sources](RangeSource::builtin), every 6
    /// hours, 30-second timeout, 4 MiB bodies, https only.
    pub fn builder() -> RangeRefresherBuilder {
        RangeRefresherBuilder::default()
    }

    /// The sources, in the order they are reported.
    pub fn sources(&self) -> &[RangeSource] {
        &self.inner.sources
    }

    /// The time between two rounds of [`RangeRefresher::spawn`], before jitter.
    pub fn interval(&self) -> Duration {
        self.inner.interval
    }

    /// Fetches every source (up to 8 at a time), and swaps the sets that changed into `live`
    /// in one [`LiveClassifier::update_ranges`]. Sets that did not change, and sets whose
    /// source failed, are left as they are; when nothing changed, nothing is swapped.
    ///
    /// Failures are logged with `tracing::warn!` and reported; this never panics. It needs a
    /// Tokio runtime (with the I/O and time drivers); without one, every source is reported as
    /// [`RefreshError::NoRuntime`].
    pub async fn refresh_once(&self, live: &LiveClassifier) -> RefreshReport {
        let fetched = if tokio::runtime::Handle::try_current().is_ok() {
            self.fetch_all().await
        } else {
            self.inner
                .sources
                .iter()
                .map(|_| Err(RefreshError::NoRuntime))
                .collect()
        };
        self.apply(live, fetched)
    }

    /// Runs a round now and then every [`interval`](RangeRefresherBuilder::interval) (or
    /// [`retry_interval`](RangeRefresherBuilder::retry_interval) after a round with a
    /// failure), each wait jittered by up to 10%, in a task on the current Tokio runtime,
    /// until the returned handle is dropped or stopped.
    ///
    /// # Errors
    ///
    /// [`RefreshError::NoRuntime`] when called outside a Tokio runtime (see
    /// [`RangeRefresher::spawn_on`]).
    pub fn spawn(self, live: LiveClassifier) -> Result<RefreshHandle, RefreshError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| RefreshError::NoRuntime)?;
        Ok(self.spawn_on(live, &runtime))
    }

    /// As [`RangeRefresher::spawn`], on the given runtime (which must have the I/O and time
    /// drivers enabled).
    pub fn spawn_on(self, live: LiveClassifier, runtime: &tokio::runtime::Handle) -> RefreshHandle {
        let state = Arc::new(HandleState::default());
        let task = runtime.spawn(self.run(live, Arc::clone(&state)));
        RefreshHandle { task, state }
    }

    async fn run(self, live: LiveClassifier, state: Arc<HandleState>) {
        loop {
            let report = self.refresh_once(&live).await;
            let wait = if report.is_ok() {
                self.inner.interval
            } else {
                self.inner.retry_interval
            };
            *state.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(report);
            state.rounds.fetch_add(1, Ordering::AcqRel);
            tokio::time::sleep(jittered(wait)).await;
        }
    }

    /// Fetches and parses every source, at most [`MAX_CONCURRENT_FETCHES`] at once; one result
    /// per source, in order.
    async fn fetch_all(&self) -> Vec<Fetched> {
        let count = self.inner.sources.len();
        let mut results: Vec<Option<Fetched>> = (0..count).map(|_| None).collect();
        // Dropping the set (when this future is dropped) aborts the fetches in flight.
        let mut tasks = JoinSet::new();
        let mut next = 0;
        loop {
            while tasks.len() < MAX_CONCURRENT_FETCHES && next < count {
                let index = next;
                next += 1;
                let (Some(source), Some(url)) =
                    (self.inner.sources.get(index), self.inner.urls.get(index))
                else {
                    continue;
                };
                let fetch = fetch(
                    self.inner.client.clone(),
                    url.clone(),
                    source.format,
                    self.inner.limits,
                );
                tasks.spawn(async move { (index, fetch.await) });
            }
            match tasks.join_next().await {
                Some(Ok((index, result))) => {
                    if let Some(slot) = results.get_mut(index) {
                        *slot = Some(result);
                    }
                }
                // The source of a task that panicked stays `None`, reported below.
                Some(Err(_)) => {}
                None => break,
            }
        }
        results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| {
                    Err(RefreshError::Task(
                        "the fetch task ended without a result".into(),
                    ))
                })
            })
            .collect()
    }

    /// Decides every source against the sets in force, swaps the changed ones in, logs and
    /// reports.
    fn apply(&self, live: &LiveClassifier, fetched: Vec<Fetched>) -> RefreshReport {
        let current = live.current();
        let mut changes: Vec<(&str, IpRanges)> = Vec::new();
        let mut sources = Vec::with_capacity(fetched.len());
        for (source, result) in self.inner.sources.iter().zip(fetched) {
            let decided = result.and_then(|new| self.decide(current.ranges(), &source.name, new));
            let outcome = match decided {
                Ok((outcome, Some(new))) => {
                    changes.push((&source.name, new));
                    outcome
                }
                Ok((outcome, None)) => outcome,
                Err(error) => RefreshOutcome::Failed(error),
            };
            log(source, &outcome);
            sources.push(SourceReport {
                name: source.name.clone(),
                url: source.url.clone(),
                outcome,
            });
        }
        if !changes.is_empty() {
            live.update_ranges(|ranges| {
                for (name, new) in &changes {
                    ranges.insert(*name, new.clone());
                }
            });
        }
        RefreshReport { sources }
    }

    /// Whether `new` may replace the set `name` in `registry`: the outcome, and the set to
    /// swap in when it changed.
    fn decide(
        &self,
        registry: &RangeRegistry,
        name: &str,
        new: IpRanges,
    ) -> Result<(RefreshOutcome, Option<IpRanges>), RefreshError> {
        let ranges = new.len();
        if ranges < self.inner.min_prefixes {
            return Err(RefreshError::TooFew {
                ranges,
                min: self.inner.min_prefixes,
            });
        }
        let old = registry.get(name);
        if let Some(old) = old {
            if *old == new {
                return Ok((RefreshOutcome::Unchanged { ranges }, None));
            }
            let percent = self.inner.min_retained_percent;
            let previous = old.len();
            if ranges.saturating_mul(100) < previous.saturating_mul(usize::from(percent)) {
                return Err(RefreshError::Shrunk {
                    ranges,
                    previous,
                    min_percent: percent,
                });
            }
        }
        let previous = old.map(IpRanges::len);
        Ok((RefreshOutcome::Updated { ranges, previous }, Some(new)))
    }
}

fn log(source: &RangeSource, outcome: &RefreshOutcome) {
    match outcome {
        RefreshOutcome::Updated { ranges, previous } => tracing::info!(
            set = %source.name,
            url = %source.url,
            ranges,
            previous,
            "IP range set updated"
        ),
        RefreshOutcome::Unchanged { ranges } => tracing::debug!(
            set = %source.name,
            url = %source.url,
            ranges,
            "IP range set unchanged"
        ),
        RefreshOutcome::Failed(error) => tracing::warn!(
            set = %source.name,
            url = %source.url,
            %error,
            "IP range refresh failed; the set in force is kept"
        ),
    }
}

/// Fetches one source and parses it (off the async worker threads).
async fn fetch(client: reqwest::Client, url: Url, format: RangeFormat, limits: Limits) -> Fetched {
    check_url(&url, limits.allow_http_loopback)?;
    // reqwest enforces the timeout too; this bounds the whole fetch whatever happens.
    let body = tokio::time::timeout(limits.timeout, get(&client, url, format, limits))
        .await
        .map_err(|_| RefreshError::Timeout)??;
    tokio::task::spawn_blocking(move || parse(format, &body))
        .await
        .map_err(|e| RefreshError::Task(format!("the parser task failed: {e}")))?
}

/// Sends the `GET` and reads a 200 body up to the limit.
async fn get(
    client: &reqwest::Client,
    url: Url,
    format: RangeFormat,
    limits: Limits,
) -> Result<Vec<u8>, RefreshError> {
    let mut response = client
        .get(url)
        .header(http::header::ACCEPT, format.accept())
        .send()
        .await
        .map_err(map_error)?;
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .map(|value| cut(&String::from_utf8_lossy(value.as_bytes())))
            .unwrap_or_default();
        return Err(RefreshError::Redirect {
            status: status.as_u16(),
            location,
        });
    }
    if status != reqwest::StatusCode::OK {
        // The body of an error is of no use: do not read it.
        return Err(RefreshError::Status {
            status: status.as_u16(),
        });
    }
    let max = limits.max_body_bytes;
    let too_large = RefreshError::TooLarge { limit: max };
    let declared = response.content_length();
    if declared.is_some_and(|len| len > max as u64) {
        return Err(too_large);
    }
    let capacity = declared.map_or(0, |len| usize::try_from(len).unwrap_or(max).min(max));
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(map_error)? {
        if body.len().saturating_add(chunk.len()) > max {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn parse(format: RangeFormat, body: &[u8]) -> Fetched {
    match format {
        RangeFormat::Json => Ok(IpRanges::from_json(body)?),
        RangeFormat::CidrList => {
            let text = std::str::from_utf8(body).map_err(|e| RefreshError::NotUtf8 {
                position: e.valid_up_to(),
            })?;
            Ok(IpRanges::from_cidr_list(text)?)
        }
    }
}

/// `https` to anywhere, or `http` to a loopback host when allowed; never credentials.
fn check_url(url: &Url, allow_http_loopback: bool) -> Result<(), RefreshError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RefreshError::NotAllowed(
            "the URL carries credentials".into(),
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(RefreshError::NotAllowed("the URL has no host".into()));
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http_loopback && is_loopback(host) => Ok(()),
        "http" if allow_http_loopback => Err(RefreshError::NotAllowed(format!(
            "http is allowed only to loopback hosts, not {}",
            cut(host)
        ))),
        "http" => Err(RefreshError::NotAllowed(
            "http is not allowed: use https".into(),
        )),
        other => Err(RefreshError::NotAllowed(format!(
            "scheme {:?} is not https",
            cut(other)
        ))),
    }
}

/// `localhost`, `*.localhost`, `127.0.0.0/8`, `::1` and `::ffff:127.0.0.0/104`, as
/// [`Url::host_str`] writes them (IPv6 in brackets).
fn is_loopback(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|ip| {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        });
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip.is_loopback();
    }
    let host = host.to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

fn map_error(e: reqwest::Error) -> RefreshError {
    if e.is_timeout() {
        RefreshError::Timeout
    } else {
        RefreshError::Transport(error_text(&e))
    }
}

/// An error with its causes (reqwest's own message is terse), cut to a bounded length.
fn error_text(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if message.len() > MAX_ERROR_TEXT {
            break;
        }
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    cut(&message)
}

/// Cuts text for an error message, on a character boundary.
fn cut(text: &str) -> String {
    if text.len() <= MAX_ERROR_TEXT {
        return text.to_owned();
    }
    let mut end = MAX_ERROR_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or_default())
}

/// `base`, give or take up to [`JITTER_PERCENT`] percent, at least
/// [`RangeRefresher::MIN_INTERVAL`].
fn jittered(base: Duration) -> Duration {
    let nanos = base.as_nanos();
    let spread = nanos / 100 * JITTER_PERCENT;
    if spread == 0 {
        return base.max(RangeRefresher::MIN_INTERVAL);
    }
    // A fresh `RandomState` is randomly keyed: enough randomness for spreading timers.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    let offset = u128::from(hasher.finish()) % (2 * spread + 1);
    let waited = nanos.saturating_sub(spread).saturating_add(offset);
    Duration::from_nanos(u64::try_from(waited).unwrap_or(u64::MAX))
        .max(RangeRefresher::MIN_INTERVAL)
}

/// What a [`RefreshHandle`] can tell about its task.
#[derive(Default)]
struct HandleState {
    rounds: AtomicU64,
    last: Mutex<Option<RefreshReport>>,
}

/// The task of [`RangeRefresher::spawn`]. Dropping the handle (or [`RefreshHandle::stop`])
/// ends the task; a round in progress is abandoned between two steps, and never half-applied
/// (the swap is atomic).
pub struct RefreshHandle {
    task: tokio::task::JoinHandle<()>,
    state: Arc<HandleState>,
}

impl fmt::Debug for RefreshHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshHandle")
            .field("rounds", &self.rounds())
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl RefreshHandle {
    /// How many rounds have completed.
    pub fn rounds(&self) -> u64 {
        self.state.rounds.load(Ordering::Acquire)
    }

    /// The report of the last completed round.
    pub fn last_report(&self) -> Option<RefreshReport> {
        self.state
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the task has ended (it ends only when stopped, or when its runtime shuts down).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Ends the task (as dropping the handle does).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for RefreshHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn builtin_sources_name_builtin_sets_and_are_documented() {
        let registry = RangeRegistry::builtin();
        let readme = include_str!("../../data/ranges/README.md");
        for source in RangeSource::builtin() {
            assert!(registry.get(&source.name).is_some(), "{}", source.name);
            assert!(
                readme.contains(&format!("`{}.json` |", source.name)),
                "{} has no row in the README",
                source.name
            );
            assert!(
                readme.contains(&format!("| {} ", source.url))
                    || readme.contains(&format!("| {} (", source.url)),
                "{} is not in the README",
                source.url
            );
            let url = Url::parse(&source.url).unwrap();
            check_url(&url, false).unwrap();
        }
        // The default builder takes them as they are.
        let refresher = RangeRefresher::builder().build().unwrap();
        assert_eq!(refresher.sources(), RangeSource::builtin().as_slice());
        assert_eq!(refresher.interval(), RangeRefresher::DEFAULT_INTERVAL);
    }

    #[test]
    fn urls() {
        let check = |url: &str, loopback: bool| check_url(&Url::parse(url).unwrap(), loopback);
        assert!(check("https://openai.com/gptbot.json", false).is_ok());
        assert!(check("https://127.0.0.1/x", false).is_ok());
        for (url, loopback) in [
            ("http://openai.com/gptbot.json", false),
            ("http://openai.com/gptbot.json", true),
            ("http://127.0.0.1:8080/x", false),
            ("http://10.0.0.1/x", true),
            ("http://localhost.example/x", true),
            ("ftp://127.0.0.1/x", true),
            ("file:///etc/passwd", true),
            ("https://user:pw@openai.com/x", false),
        ] {
            assert!(check(url, loopback).is_err(), "{url}");
        }
        for url in [
            "http://127.0.0.1:8080/x",
            "http://127.1.2.3/x",
            "http://[::1]:8080/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://localhost:9/x",
            "http://LOCALHOST/x",
            "http://a.localhost/x",
        ] {
            assert!(check(url, true).is_ok(), "{url}");
        }
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let base = Duration::from_secs(100);
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let waited = jittered(base);
            assert!(waited >= Duration::from_secs(90) && waited <= Duration::from_secs(110));
            seen.insert(waited);
        }
        assert!(seen.len() > 1, "no jitter at all");
        assert_eq!(jittered(Duration::ZERO), RangeRefresher::MIN_INTERVAL);
        assert!(
            jittered(RangeRefresher::MAX_INTERVAL)
                <= RangeRefresher::MAX_INTERVAL + RangeRefresher::MAX_INTERVAL / 10
        );
    }

    #[test]
    fn configuration_is_checked_and_clamped() {
        let err = RangeRefresher::builder()
            .sources([
                RangeSource::json("a", "https://a.example/a.json"),
                RangeSource::json("a", "https://b.example/a.json"),
            ])
            .build()
            .unwrap_err();
        assert!(matches!(err, RefreshError::Config(_)), "{err}");
        let err = RangeRefresher::builder()
            .sources([RangeSource::json(" ", "https://a.example/a.json")])
            .build()
            .unwrap_err();
        assert!(matches!(err, RefreshError::Config(_)), "{err}");
        let err = RangeRefresher::builder()
            .sources([RangeSource::json("a", "not a url")])
            .build()
            .unwrap_err();
        assert!(matches!(err, RefreshError::Config(_)), "{err}");

        let refresher = RangeRefresher::builder()
            .sources([])
            .interval(Duration::ZERO)
            .retry_interval(Duration::from_secs(3600))
            .timeout(Duration::MAX)
            .max_body_bytes(usize::MAX)
            .min_prefixes(0)
            .min_retained_percent(200)
            .build()
            .unwrap();
        let inner = &refresher.inner;
        assert_eq!(inner.interval, RangeRefresher::MIN_INTERVAL);
        assert_eq!(inner.retry_interval, RangeRefresher::MIN_INTERVAL);
        assert_eq!(inner.limits.timeout, RangeRefresher::MAX_TIMEOUT);
        assert_eq!(inner.limits.max_body_bytes, RangeRefresher::MAX_BODY_BYTES);
        assert_eq!(inner.min_prefixes, 1);
        assert_eq!(inner.min_retained_percent, 100);
    }

    #[test]
    fn sanity_checks() {
        let refresher = RangeRefresher::builder()
            .sources([])
            .min_prefixes(2)
            .build()
            .unwrap();
        let mut registry = RangeRegistry::new();
        let four =
            IpRanges::from_cidrs(["10.0.0.0/24", "10.0.2.0/24", "10.0.4.0/24", "10.0.6.0/24"])
                .unwrap();
        registry.insert("s", four.clone());
        let set = |cidrs: &[&str]| IpRanges::from_cidrs(cidrs).unwrap();
        let decide = |new| refresher.decide(&registry, "s", new);

        assert_eq!(
            decide(IpRanges::new()).unwrap_err(),
            RefreshError::TooFew { ranges: 0, min: 2 }
        );
        assert_eq!(
            decide(set(&["10.0.0.0/24"])).unwrap_err(),
            RefreshError::TooFew { ranges: 1, min: 2 }
        );
        assert_eq!(
            decide(four.clone()).unwrap(),
            (RefreshOutcome::Unchanged { ranges: 4 }, None)
        );
        // Half of the set in force is still accepted; less is not.
        let (outcome, new) = decide(set(&["10.0.0.0/24", "10.0.9.0/24"])).unwrap();
        assert_eq!(
            outcome,
            RefreshOutcome::Updated {
                ranges: 2,
                previous: Some(4)
            }
        );
        assert!(new.is_some());
        let mut big = RangeRegistry::new();
        big.insert(
            "s",
            set(&[
                "1.0.0.0/24",
                "1.0.2.0/24",
                "1.0.4.0/24",
                "1.0.6.0/24",
                "1.0.8.0/24",
            ]),
        );
        assert_eq!(
            refresher
                .decide(&big, "s", set(&["10.0.0.0/24", "10.0.9.0/24"]))
                .unwrap_err(),
            RefreshError::Shrunk {
                ranges: 2,
                previous: 5,
                min_percent: 50
            }
        );
        // A set that is not in force yet has nothing to shrink from.
        let (outcome, _) = refresher
            .decide(
                &RangeRegistry::new(),
                "s",
                set(&["10.0.0.0/24", "10.0.9.0/24"]),
            )
            .unwrap();
        assert_eq!(
            outcome,
            RefreshOutcome::Updated {
                ranges: 2,
                previous: None
            }
        );
    }

    #[test]
    fn parses_by_format() {
        assert_eq!(
            parse(RangeFormat::CidrList, b"10.0.0.0/8\n# c\n")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            parse(RangeFormat::CidrList, b"10.0.0.0/8\n\xff").unwrap_err(),
            RefreshError::NotUtf8 { position: 11 }
        );
        assert!(matches!(
            parse(RangeFormat::Json, b"10.0.0.0/8"),
            Err(RefreshError::Parse(RangesError::Json { .. }))
        ));
        assert_eq!(
            parse(
                RangeFormat::Json,
                br#"{"prefixes":[{"ipv4Prefix":"10.0.0.0/8"}]}"#
            )
            .unwrap()
            .len(),
            1
        );
    }
}
