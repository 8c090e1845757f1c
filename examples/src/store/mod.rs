//! The agent-ready store: a small shop that runs all three crates for real.
//!
//! ```text
//! request ─► peer address ─► web-bot-auth VerifyLayer ─► bot-policy BotPolicyLayer ─┬─► /products/<slug>, /api/products
//!                                                                                   └─► /mcp: mcp-auth McpAuthLayer ─► rmcp server
//!            /.well-known/oauth-protected-resource[/mcp], /.well-known/http-message-signatures-directory
//! ```
//!
//! - `/mcp`: an MCP Streamable HTTP server built with `rmcp` ([`mcp::ShopServer`]), behind
//!   [`McpAuthLayer`] with the tool map [`TOOL_MAP`]: anonymous catalogue tools, an API-token
//!   `inventory.check`, OAuth `order.status` and `order.intent`.
//! - `/products/<slug>` (HTML) and `/api/products` (JSON) behind [`BotPolicyLayer`] with the
//!   policy [`BOT_POLICY`] (the `mcp-passthrough` and `baseline` presets and a pay-per-crawl
//!   rule for verified AI crawlers), fed by `web-bot-auth`'s [`VerifyLayer`].
//! - The RFC 9728 metadata document, pointing to the configured authorization server, and the
//!   store's own Web Bot Auth key directory.
//!
//! [`start`] binds, builds everything from a [`StoreConfig`] and serves until
//! [`RunningStore::stop`]:
//!
//! ```no_run
//! # async fn run() -> Result<(), examples::store::StoreError> {
//! use examples::store::{StoreConfig, start};
//!
//! let store = start(StoreConfig::new("127.0.0.1:0".parse().unwrap(), "./.store-data")).await?;
//! println!("listening {}", store.addr());
//! println!("{}", store.credentials().mcp_url);
//! store.stop().await?;
//! # Ok(())
//! # }
//! ```
//!
//! The state that must be shared between instances (API token records, rate-limit budgets,
//! replay nonces) is built in one place, [`SharedState::build`], from
//! [`StoreConfig::state`]: a Redis backend slots in there.

pub mod catalogue;
pub mod datadir;
pub mod mcp;
pub mod pages;

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use bot_policy::Policy;
use bot_policy::catalog::Catalog;
use bot_policy::classify::Classifier;
use bot_policy::layer::{BotPolicyLayer, ChargeError, ChargeRequest};
use bot_policy::ranges::RangeRegistry;
use mcp_auth::clock::{Clock, SystemClock};
use mcp_auth::gate::AuthGate;
use mcp_auth::layer::McpAuthLayer;
use mcp_auth::metadata::{MetadataService, ProtectedResourceMetadata};
use mcp_auth::oauth::JwtVerifier;
use mcp_auth::ratelimit::{MemoryLimiterConfig, Quota, RateLimiter, RateLimits};
use mcp_auth::scope::Scopes;
use mcp_auth::token::{ApiTokens, FileTokenStore, TokenStore, TokenTtl};
use mcp_auth::toolmap::ToolMap;
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;
use tower::util::MapRequestLayer;
use web_bot_auth::layer::{DirectoryService, VerifyLayer};
use web_bot_auth::profile::WebBotAuthVerifier;
use web_bot_auth::replay::{AsyncReplayStore, InMemoryReplayStore, ReplayStore};
use web_bot_auth::verify::{KeyResolver, KeySet};

use catalogue::Shop;
use datadir::{
    CRAWLER_KEY_FILE, DEMO_TOKEN_FILE, DataDir, DevAuthority, STORE_KEY_FILE, TOKEN_FILE,
};

/// What each MCP call needs: the single source of truth `mcp-auth` checks every call against.
pub const TOOL_MAP: &str = r#"
# The protocol's own calls, open to every caller (a call open to anonymous callers is open to
# callers with a valid token too, so a client that signs in before `initialize` gets in).
# `mcp_defaults = true` would declare these, in rate-limit class `read`.
[methods]
"initialize" = { anonymous = true }
"ping" = { anonymous = true }
"tools/list" = { anonymous = true }
"notifications/*" = { anonymous = true }

[responses]
anonymous = true

[scopes]
implies = { "orders:write" = ["orders:read"] }

# The catalogue is public: anonymous callers (limited per IP) and signed-in ones (limited per
# token or user) alike.
[tools."catalogue.list"]
anonymous = true
class = "catalogue.read"

[tools."product.detail"]
anonymous = true
class = "catalogue.read"

[tools."inventory.check"]
api_token = ["inventory:read"]
class = "inventory.read"

[tools."order.status"]
oauth = ["orders:read"]
class = "order.status"

[tools."order.intent"]
oauth = ["orders:write"]
class = "order.write"
"#;

/// The bot policy of the public pages.
pub const BOT_POLICY: &str = r#"
# Never challenge MCP or OAuth endpoints; the common baseline (verified bots skip the score
# rules, score 1 is blocked, likely bots are challenged outside /api and /mcp, unverified
# training crawlers are blocked).
include = ["mcp-passthrough", "baseline"]

[[rules]]
id = "pay-per-crawl-products"
description = "Verified AI crawlers pay to read product pages"
expression = 'cf.verified_bot_category eq "AI Crawler" and starts_with(http.request.uri.path, "/products/")'
action = "charge"
price = "USD 0.01"
"#;

/// The demo crawler's catalog entry: a training crawler that signs its requests with Web Bot
/// Auth as `https://crawler.example` (the key is in the data directory).
pub const DEMO_CRAWLER_CATALOG: &str = r#"
[[bot]]
name = "DemoCrawler"
operator = "agent-trust examples"
category = "AI Crawler"
kind = "bot"
tokens = ["DemoCrawler"]
signature_agents = ["https://crawler.example"]
"#;

/// The demo crawler's signature agent.
pub const DEMO_CRAWLER_AGENT: &str = "https://crawler.example";

/// `limits` with every quota (and the fallback) multiplied by `factor`: for load tests, where
/// the limits must be checked but not reached.
pub fn scaled_limits(limits: &RateLimits, factor: u32) -> RateLimits {
    let scale = |quota: &Quota| {
        let requests = quota
            .requests()
            .saturating_mul(std::num::NonZeroU32::new(factor).unwrap_or(std::num::NonZeroU32::MIN));
        Quota::new(requests, quota.period()).unwrap_or(*quota)
    };
    let mut scaled = RateLimits::without_fallback();
    scaled.set_fallback(limits.fallback().map(scale));
    for (class, mode, quota) in limits.iter() {
        scaled.set(class.clone(), mode, scale(quota));
    }
    scaled
}

/// The demo partner the demo API token is issued to.
pub const DEMO_PARTNER: &str = "demo-partner";

/// Why the store could not start or a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file or socket operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// With what.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A key file could not be read or used.
    #[error("key {file}: {reason}")]
    Key {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
    /// The built-in configuration (tool map, policy, catalog, metadata) was refused.
    #[error("configuration: {0}")]
    Config(String),
    /// The token store failed.
    #[error("API tokens: {0}")]
    Tokens(String),
}

impl StoreError {
    pub(crate) fn io(source: std::io::Error, action: &'static str, path: &Path) -> StoreError {
        StoreError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }

    fn config(error: impl fmt::Display) -> StoreError {
        StoreError::Config(error.to_string())
    }
}

/// Where the state shared between instances lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateBackend {
    /// This process: API tokens in the data directory's token file, rate-limit budgets and
    /// replay nonces in memory. Enough for one instance.
    #[default]
    Local,
    /// Redis at this URL (`redis://host:port/db`): token records, rate-limit budgets and
    /// replay nonces shared by every instance. The data directory still holds the keys.
    #[cfg(feature = "redis")]
    Redis {
        /// The server.
        url: String,
    },
}

/// Which layers run: all of them, or none (the bare `rmcp` server, for load comparisons).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layers {
    /// web-bot-auth, bot-policy and mcp-auth.
    #[default]
    All,
    /// None: the same routes without any check.
    None,
}

/// How to run the store.
#[derive(Clone)]
pub struct StoreConfig {
    /// Where to listen (port 0: any free port; see [`RunningStore::addr`]).
    pub addr: SocketAddr,
    /// Where keys and the token file live.
    pub data_dir: PathBuf,
    /// The URL clients reach the store at (default `http://<bound address>`): the MCP
    /// resource URI is this plus `/mcp`.
    pub public_url: Option<String>,
    /// The authorization server named in the metadata document, and the issuer (`iss`) of
    /// the development tokens.
    pub auth_server: String,
    /// The rate-limit table of the MCP tools.
    pub rate_limits: RateLimits,
    /// The clock of the token expiry and rate-limit checks (a manual one in tests).
    pub clock: Arc<dyn Clock>,
    /// Where shared state lives.
    pub state: StateBackend,
    /// Which layers run.
    pub layers: Layers,
    /// How long the development OAuth tokens printed at start are valid.
    pub demo_token_ttl: Duration,
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("auth_server", &self.auth_server)
            .field("state", &self.state)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

/// The default authorization server: a placeholder (the store mints development tokens
/// itself; point this at a real one with `--auth-server`).
pub const DEFAULT_AUTH_SERVER: &str = "https://auth.store.example";

impl StoreConfig {
    /// Listen on `addr`, keep data in `data_dir`; the default rate limits, the system clock,
    /// local state, every layer.
    pub fn new(addr: SocketAddr, data_dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            addr,
            data_dir: data_dir.into(),
            public_url: None,
            auth_server: DEFAULT_AUTH_SERVER.to_owned(),
            rate_limits: RateLimits::default(),
            clock: Arc::new(SystemClock),
            state: StateBackend::Local,
            layers: Layers::All,
            demo_token_ttl: Duration::from_secs(3600),
        }
    }

    /// The public URL for a store bound to `bound`.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

/// The state shared between instances: API token records, rate-limit budgets, replay nonces.
pub struct SharedState {
    /// API token records.
    pub tokens: Arc<dyn TokenStore>,
    /// The MCP tools' rate limiter.
    pub rate_limiter: RateLimiter,
    /// Web Bot Auth nonces seen.
    pub replay: Replay,
}

/// Where Web Bot Auth nonces are remembered.
#[derive(Clone)]
#[non_exhaustive]
pub enum Replay {
    /// In this process.
    Local(Arc<dyn ReplayStore>),
    /// Over the network (Redis).
    Shared(Arc<dyn AsyncReplayStore>),
}

impl Replay {
    /// `verifier` checking nonces here.
    pub fn apply<R: KeyResolver>(self, verifier: WebBotAuthVerifier<R>) -> WebBotAuthVerifier<R> {
        match self {
            Replay::Local(store) => verifier.with_replay_store(store),
            Replay::Shared(store) => verifier.with_async_replay_store(store),
        }
    }
}

impl fmt::Debug for SharedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedState").finish_non_exhaustive()
    }
}

/// The most replay nonces kept in memory.
const MAX_REPLAY_ENTRIES: usize = 100_000;

impl SharedState {
    /// Builds the stores `config.state` names. The only place that knows the backends.
    pub async fn build(config: &StoreConfig, dir: &DataDir) -> Result<SharedState, StoreError> {
        match &config.state {
            StateBackend::Local => {
                let tokens = FileTokenStore::open(dir.file(TOKEN_FILE))
                    .map_err(|e| StoreError::Tokens(e.to_string()))?;
                Ok(SharedState {
                    tokens: Arc::new(tokens),
                    rate_limiter: RateLimiter::in_memory_with(
                        config.rate_limits.clone(),
                        MemoryLimiterConfig::default(),
                        Arc::clone(&config.clock),
                    ),
                    replay: Replay::Local(Arc::new(InMemoryReplayStore::new(MAX_REPLAY_ENTRIES))),
                })
            }
            #[cfg(feature = "redis")]
            StateBackend::Redis { url } => {
                let unreachable = |e: &dyn fmt::Display| StoreError::Config(format!("redis: {e}"));
                let connection = mcp_auth::redis_connection::RedisConfig::new(url.clone())
                    .key_prefix("agent-trust-store:")
                    .connect()
                    .await
                    .map_err(|e| unreachable(&e))?;
                let replay = web_bot_auth::replay::RedisReplayStore::connect(url)
                    .await
                    .map_err(|e| unreachable(&e))?
                    .key_prefix("agent-trust-store:nonce:");
                Ok(SharedState {
                    tokens: Arc::new(mcp_auth::token::RedisTokenStore::new(&connection)),
                    rate_limiter: RateLimiter::with_store(
                        config.rate_limits.clone(),
                        Arc::new(mcp_auth::ratelimit::RedisRateLimitStore::new(&connection)),
                        Arc::clone(&config.clock),
                    ),
                    replay: Replay::Shared(Arc::new(replay)),
                })
            }
        }
    }
}

/// The credentials printed at start (`demo-credentials {json}`): enough to call every tool.
#[derive(Clone, Serialize)]
pub struct DemoCredentials {
    /// The MCP endpoint.
    pub mcp_url: String,
    /// An API token of [`DEMO_PARTNER`] with `inventory:read`.
    pub api_token: String,
    /// A JWT for user `alice` with `orders:read`.
    pub oauth_token_read: String,
    /// A JWT for user `alice` with `orders:read orders:write`.
    pub oauth_token_write: String,
    /// The JWKS the store verifies OAuth tokens with.
    pub jwks_path: String,
    /// The demo crawler's private Web Bot Auth key (for `signing_client`).
    pub crawler_key_path: String,
    /// The demo crawler's signature agent.
    pub crawler_agent: String,
}

impl fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoCredentials")
            .field("mcp_url", &self.mcp_url)
            .field("api_token", &"[redacted]")
            .field("oauth_token_read", &"[redacted]")
            .field("oauth_token_write", &"[redacted]")
            .field("jwks_path", &self.jwks_path)
            .finish_non_exhaustive()
    }
}

/// The store's data directory opened with its development authority and token issuer:
/// what the `token`, `api-token` and `revoke` commands work on (without a running server).
#[derive(Debug)]
pub struct Admin {
    /// The data directory.
    pub dir: DataDir,
    /// The development authorization server.
    pub authority: DevAuthority,
    /// The API token issuer over the configured token store.
    pub tokens: ApiTokens,
}

impl Admin {
    /// Opens the data directory of `config` for a store reachable at `public_url`.
    pub async fn open(config: &StoreConfig, public_url: &str) -> Result<Admin, StoreError> {
        let dir = DataDir::open(&config.data_dir)?;
        let authority =
            DevAuthority::open(&dir, &config.auth_server, &format!("{public_url}/mcp"))?;
        let state = SharedState::build(config, &dir).await?;
        let tokens = ApiTokens::new(state.tokens).with_clock(Arc::clone(&config.clock));
        Ok(Admin {
            dir,
            authority,
            tokens,
        })
    }
}

/// mcp-auth's OAuth side of the MCP resource: the verifier of the development authority's
/// JWTs, and the RFC 9728 metadata that names the authority.
#[derive(Debug)]
pub struct OAuth {
    /// Checks access tokens: the authority's keys, its issuer, the resource as audience.
    pub verifier: JwtVerifier,
    /// The protected resource metadata of the MCP endpoint.
    pub metadata: ProtectedResourceMetadata,
}

impl OAuth {
    /// The OAuth side of the MCP resource at `mcp_url` with the scopes of `tool_map`.
    pub fn new(
        authority: &DevAuthority,
        tool_map: &ToolMap,
        mcp_url: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<OAuth, StoreError> {
        let verifier = JwtVerifier::builder()
            .issuer(authority.issuer().to_owned())
            .audience(mcp_url.to_owned())
            .keys(authority.key_set()?)
            .clock(ClockRef(clock))
            .scope_hierarchy(tool_map.hierarchy().clone())
            .build()
            .map_err(StoreError::config)?;
        let metadata = ProtectedResourceMetadata::builder(mcp_url.to_owned())
            .authorization_server(authority.issuer().to_owned())
            .scopes_supported(
                tool_map
                    .scopes_supported()
                    .iter()
                    .map(|s| s.as_str().to_owned())
                    .collect::<Vec<_>>(),
            )
            .resource_name("agent-trust demo store")
            .allow_insecure_http(true)
            .build()
            .map_err(StoreError::config)?;
        Ok(OAuth { verifier, metadata })
    }
}

/// Everything the router is made of.
struct Built {
    router: Router,
    credentials: DemoCredentials,
}

/// Builds the store for `public_url`.
async fn build(config: &StoreConfig, public_url: &str) -> Result<Built, StoreError> {
    let dir = DataDir::open(&config.data_dir)?;
    let mcp_url = format!("{public_url}/mcp");
    let authority = DevAuthority::open(&dir, &config.auth_server, &mcp_url)?;
    let state = SharedState::build(config, &dir).await?;
    let hosts = allowed_hosts(public_url, config.addr);

    // mcp-auth: the tool map, API tokens, OAuth, rate limits, RFC 9728.
    let tool_map = ToolMap::from_toml_str(TOOL_MAP).map_err(StoreError::config)?;
    let tokens = ApiTokens::new(state.tokens).with_clock(Arc::clone(&config.clock));
    let OAuth { verifier, metadata } =
        OAuth::new(&authority, &tool_map, &mcp_url, Arc::clone(&config.clock))?;
    let gate = AuthGate::builder(tool_map)
        .api_tokens(tokens.clone())
        .oauth(verifier)
        .rate_limiter(state.rate_limiter)
        .resource_metadata(metadata.metadata_url())
        .build();

    // web-bot-auth: the demo crawler's key (a real store would use a DirectoryCache, feature
    // `fetch`, to find any agent's keys), the store's own key directory.
    let crawler = dir.web_bot_auth_key(CRAWLER_KEY_FILE)?;
    let own_key = dir.web_bot_auth_key(STORE_KEY_FILE)?;
    let mut agents = KeySet::new();
    agents.insert_for_agent(DEMO_CRAWLER_AGENT, crawler.verifying_key().clone());
    let signatures = state.replay.apply(WebBotAuthVerifier::new(agents));
    let directory = DirectoryService::new(Arc::new(own_key))
        .map_err(|e| StoreError::config(format!("key directory: {e}")))?;

    // bot-policy: the built-in catalog plus the demo crawler.
    let mut catalog = Catalog::builtin();
    catalog.extend(Catalog::from_toml_str(DEMO_CRAWLER_CATALOG).map_err(StoreError::config)?);
    let classifier = Classifier::new(catalog, RangeRegistry::builtin());
    let policy = Policy::from_toml_str(BOT_POLICY).map_err(StoreError::config)?;
    let bot_policy = BotPolicyLayer::new(policy)
        .classifier(classifier)
        .decision_headers(true)
        .charge_hook(|charge: ChargeRequest| async move {
            tracing::info!(
                target: "store::billing",
                price = %charge.price,
                payer = charge.payer.signature_agent.as_deref().unwrap_or("-"),
                bot = charge.payer.bot.as_deref().unwrap_or("-"),
                uri = %charge.uri,
                "pay-per-crawl charge recorded"
            );
            Ok::<(), ChargeError>(())
        });

    let shop = Shop::new();
    let mcp = mcp::mcp_service(shop.clone(), hosts, StreamableHttpServerConfig::default());
    let pages = Router::new()
        .route("/", get(pages::index))
        .route("/products/{slug}", get(pages::product_page))
        .route("/api/products", get(pages::api_products))
        .with_state(shop);
    let metadata_service = MetadataService::new(&metadata);
    let well_known = Router::new()
        .route_service(
            "/.well-known/oauth-protected-resource",
            metadata_service.clone(),
        )
        .route_service(
            "/.well-known/oauth-protected-resource/mcp",
            metadata_service,
        )
        .route_service("/.well-known/http-message-signatures-directory", directory);

    let router = match config.layers {
        Layers::All => {
            let verify = VerifyLayer::new(signatures).default_scheme(scheme_of(public_url));
            // The MCP endpoint gets its layers composed around it once: `Router::layer` wraps
            // each route in a new axum route per layer, which a call would cross one by one.
            let mcp = ServiceBuilder::new()
                .layer(MapRequestLayer::new(peer_address))
                .layer(verify.clone())
                .layer(bot_policy.clone())
                .layer(McpAuthLayer::new(gate))
                .service(mcp);
            pages
                .layer(bot_policy)
                .merge(well_known)
                .layer(verify)
                .layer(MapRequestLayer::new(peer_address))
                .route_service("/mcp", mcp)
        }
        Layers::None => pages.route_service("/mcp", mcp).merge(well_known),
    };

    let api_token = demo_api_token(&dir, &tokens).await?;
    let now = config.clock.now_unix();
    let ttl = config.demo_token_ttl;
    let credentials = DemoCredentials {
        mcp_url,
        api_token,
        oauth_token_read: authority.mint("alice", "orders:read", now, ttl)?,
        oauth_token_write: authority.mint("alice", "orders:read orders:write", now, ttl)?,
        jwks_path: authority.jwks_path().display().to_string(),
        crawler_key_path: dir.file(CRAWLER_KEY_FILE).display().to_string(),
        crawler_agent: DEMO_CRAWLER_AGENT.to_owned(),
    };
    Ok(Built {
        router,
        credentials,
    })
}

/// The demo partner's API token: the one kept in the data directory while it still works,
/// else a new one.
async fn demo_api_token(dir: &DataDir, tokens: &ApiTokens) -> Result<String, StoreError> {
    let path = dir.file(DEMO_TOKEN_FILE);
    if let Ok(kept) = std::fs::read_to_string(&path) {
        let kept = kept.trim();
        if tokens.authenticate(kept).await.is_ok() {
            return Ok(kept.to_owned());
        }
    }
    let scopes = Scopes::parse("inventory:read").map_err(StoreError::config)?;
    let (token, record) = tokens
        .issue(DEMO_PARTNER, scopes, TokenTtl::Default)
        .await
        .map_err(|e| StoreError::Tokens(e.to_string()))?;
    datadir::write_private(&path, token.expose_secret())?;
    tracing::info!(target: "store", id = %record.id, "issued the demo API token");
    Ok(token.expose_secret().to_owned())
}

/// Copies the connection's address (axum's `ConnectInfo`) into the request extensions as a
/// plain `SocketAddr`, where `bot-policy` and `mcp-auth` look for it.
fn peer_address<B>(mut request: http::Request<B>) -> http::Request<B> {
    if let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let addr = *addr;
        request.extensions_mut().insert(addr);
    }
    request
}

/// `http` or `https`, from the public URL.
fn scheme_of(public_url: &str) -> &'static str {
    if public_url.starts_with("https://") {
        "https"
    } else {
        "http"
    }
}

/// The `Host` values the MCP endpoint accepts (DNS-rebinding protection): the public URL's
/// host, and loopback names when listening on loopback.
fn allowed_hosts(public_url: &str, addr: SocketAddr) -> Vec<String> {
    let mut hosts = Vec::new();
    if let Ok(uri) = public_url.parse::<http::Uri>()
        && let Some(host) = uri.host()
    {
        hosts.push(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        );
    }
    if addr.ip().is_loopback() || addr.ip() == IpAddr::from([0, 0, 0, 0]) {
        for host in ["localhost", "127.0.0.1", "::1"] {
            if !hosts.iter().any(|h| h == host) {
                hosts.push(host.to_owned());
            }
        }
    }
    hosts
}

/// A shared clock handed to builders that take a clock by value.
#[derive(Clone)]
struct ClockRef(Arc<dyn Clock>);

impl Clock for ClockRef {
    fn since_epoch(&self) -> Duration {
        self.0.since_epoch()
    }
}

/// A store serving in the background.
pub struct RunningStore {
    addr: SocketAddr,
    credentials: DemoCredentials,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl fmt::Debug for RunningStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningStore")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningStore {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The demo credentials.
    pub fn credentials(&self) -> &DemoCredentials {
        &self.credentials
    }

    /// Stops accepting connections, lets the requests in flight finish, and returns.
    pub async fn stop(self) -> Result<(), StoreError> {
        // The server may already have stopped (and dropped the receiver).
        let _ = self.shutdown.send(());
        wait_for(self.addr, self.task).await
    }

    /// Waits until the server stops (after the shutdown signal it was started with).
    pub async fn wait(self) -> Result<(), StoreError> {
        wait_for(self.addr, self.task).await
    }
}

async fn wait_for(
    addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
) -> Result<(), StoreError> {
    let stopped = |source| StoreError::Io {
        action: "serving",
        path: addr.to_string(),
        source,
    };
    match task.await {
        Ok(result) => result.map_err(stopped),
        Err(join) => Err(stopped(std::io::Error::other(join))),
    }
}

/// Binds `config.addr`, builds the store and serves it in the background.
pub async fn start(config: StoreConfig) -> Result<RunningStore, StoreError> {
    start_with_shutdown(config, std::future::pending()).await
}

/// As [`start`], also stopping (gracefully) when `signal` completes (Ctrl-C in the binary).
pub async fn start_with_shutdown(
    config: StoreConfig,
    signal: impl Future<Output = ()> + Send + 'static,
) -> Result<RunningStore, StoreError> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| StoreError::io(e, "binding", Path::new(&config.addr.to_string())))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StoreError::io(e, "binding", Path::new(&config.addr.to_string())))?;
    let public_url = config.public_url_for(addr);
    let built = build(&config, &public_url).await?;
    let (shutdown, stop) = oneshot::channel::<()>();
    let service = built
        .router
        .into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = stop => {}
                    () = signal => {}
                }
                tracing::info!(target: "store", "shutting down");
            })
            .await
    });
    tracing::info!(target: "store", %addr, "listening");
    Ok(RunningStore {
        addr,
        credentials: built.credentials,
        shutdown,
        task,
    })
}
