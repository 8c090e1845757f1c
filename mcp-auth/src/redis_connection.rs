//! The Redis connection the Redis-backed stores share: a URL, a key prefix and a per-command
//! timeout, over the `redis` crate's [`ConnectionManager`] (one multiplexed connection that
//! reconnects by itself).
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use mcp_auth::clock::SystemClock;
//! use mcp_auth::ratelimit::{RateLimiter, RateLimits, RedisRateLimitStore, StoreFailurePolicy};
//! use mcp_auth::redis_connection::RedisConfig;
//! use mcp_auth::token::{ApiTokens, RedisTokenStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let redis = RedisConfig::new("redis://127.0.0.1:6379/0")
//!     .key_prefix("shop:")
//!     .command_timeout(Duration::from_millis(250))
//!     .connect()
//!     .await?;
//! // Rate limits: one budget per key across every process that shares this Redis.
//! let limiter = RateLimiter::with_store(
//!     RateLimits::default(),
//!     Arc::new(RedisRateLimitStore::new(&redis)),
//!     Arc::new(SystemClock),
//! )
//! .on_store_failure(StoreFailurePolicy::FailOpen);
//! // API tokens: a revocation through any process is seen by all on their next lookup.
//! let tokens = ApiTokens::new(Arc::new(RedisTokenStore::new(&redis)));
//! # let _ = (limiter, tokens);
//! # Ok(())
//! # }
//! ```
//!
//! # Failures
//!
//! Every command is bounded by the [command timeout](RedisConfig::command_timeout) (500 ms by
//! default), so a Redis that hangs never hangs a request. When Redis is down, the stores say so
//! and the caller's configured choice applies: [`RateLimiter`](crate::ratelimit::RateLimiter)
//! follows its [`StoreFailurePolicy`](crate::ratelimit::StoreFailurePolicy) (fail open by
//! default), and the token store fails closed (the layer answers 503). In the meantime the
//! connection manager reconnects in the background, with exponential back-off; service resumes
//! on the first command after Redis is back.
//!
//! # Keys
//!
//! Every key starts with the configured prefix (default `mcp-auth:`): rate-limit budgets under
//! `<prefix>rl:`, token records under `<prefix>tok:`, `<prefix>id:` and `<prefix>ids`. Set a
//! prefix per deployment when several share one Redis. The scripts touch several keys at once,
//! which Redis Cluster allows only within one hash slot: with a cluster, use a prefix with a
//! hash tag (`{shop}:`), which puts every key of the deployment on one node.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError};

/// The default key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "mcp-auth:";
/// The default bound on one Redis command, connection set-up included.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// The longest accepted key prefix, in bytes.
pub const MAX_KEY_PREFIX_LEN: usize = 128;

/// Why a Redis connection could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisConnectError {
    /// The URL is not a Redis URL (`redis://`, `redis+unix://`).
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(#[source] RedisError),
    /// The key prefix is longer than [`MAX_KEY_PREFIX_LEN`].
    #[error("Redis key prefix is {len} bytes, more than {MAX_KEY_PREFIX_LEN}")]
    PrefixTooLong {
        /// Its length.
        len: usize,
    },
    /// The server could not be reached, or refused the connection (authentication, database).
    #[error("cannot connect to Redis: {0}")]
    Connect(#[source] RedisError),
    /// The first connection took longer than the command timeout.
    #[error("connecting to Redis timed out after {0:?}")]
    Timeout(Duration),
}

/// Where the Redis-backed stores keep their state: a URL, a key prefix and a per-command
/// timeout. `Debug` hides the URL's password.
#[derive(Clone)]
pub struct RedisConfig {
    url: String,
    key_prefix: String,
    command_timeout: Duration,
}

impl RedisConfig {
    /// The server at `url` (`redis://[user:password@]host[:port][/db]`, or `redis+unix://`),
    /// keys under [`DEFAULT_KEY_PREFIX`], commands bounded by [`DEFAULT_COMMAND_TIMEOUT`].
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
        }
    }

    /// Puts every key under `prefix` (at most [`MAX_KEY_PREFIX_LEN`] bytes; checked when
    /// connecting).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> RedisConfig {
        self.key_prefix = prefix.into();
        self
    }

    /// Bounds each command (and each connection attempt) by `timeout`; a command that takes
    /// longer fails as the store being unavailable.
    pub fn command_timeout(mut self, timeout: Duration) -> RedisConfig {
        self.command_timeout = timeout;
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The per-command timeout.
    pub fn timeout(&self) -> Duration {
        self.command_timeout
    }

    /// Connects, waiting (at most the command timeout) for the first connection, so that a
    /// wrong URL, password or an unreachable server is found at start-up. Must run inside a
    /// Tokio runtime.
    pub async fn connect(&self) -> Result<RedisConnection, RedisConnectError> {
        let (client, config) = self.client()?;
        let manager = tokio::time::timeout(
            self.command_timeout,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| RedisConnectError::Timeout(self.command_timeout))?
        .map_err(RedisConnectError::Connect)?;
        Ok(self.connection(manager))
    }

    /// A connection made on first use: start-up does not wait for Redis (commands fail, and
    /// the stores apply their failure policies, until it answers). Must be called inside a
    /// Tokio runtime (the manager spawns a task).
    pub fn connect_lazy(&self) -> Result<RedisConnection, RedisConnectError> {
        let (client, config) = self.client()?;
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(RedisConnectError::Connect)?;
        Ok(self.connection(manager))
    }

    fn client(&self) -> Result<(Client, ConnectionManagerConfig), RedisConnectError> {
        if self.key_prefix.len() > MAX_KEY_PREFIX_LEN {
            return Err(RedisConnectError::PrefixTooLong {
                len: self.key_prefix.len(),
            });
        }
        let client = Client::open(self.url.as_str()).map_err(RedisConnectError::InvalidUrl)?;
        // Reconnection: up to 6 tries a round, from 50 ms doubling to at most 1 s apart; each
        // command is bounded by our timeout in any case, and a failed round starts again on
        // the next command.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.command_timeout))
            .set_response_timeout(Some(self.command_timeout))
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1))
            .set_number_of_retries(6);
        Ok((client, config))
    }

    fn connection(&self, manager: ConnectionManager) -> RedisConnection {
        RedisConnection {
            manager,
            key_prefix: self.key_prefix.clone().into(),
            command_timeout: self.command_timeout,
        }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redacted_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("command_timeout", &self.command_timeout)
            .finish()
    }
}

/// `url` with its user information (`user:password@`) replaced by `***@`.
fn redacted_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "***".to_owned();
    };
    let rest = url.get(scheme_end..).unwrap_or("");
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or("");
    match authority.rfind('@') {
        Some(at) => format!(
            "{}***{}",
            url.get(..scheme_end).unwrap_or(""),
            rest.get(at..).unwrap_or("")
        ),
        None => url.to_owned(),
    }
}

/// A connection to Redis shared by the Redis-backed stores (cheap to clone: clones share one
/// multiplexed connection). Made by [`RedisConfig::connect`] or [`RedisConfig::connect_lazy`].
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
    key_prefix: std::sync::Arc<str>,
    command_timeout: Duration,
}

impl RedisConnection {
    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The per-command timeout.
    pub fn command_timeout(&self) -> Duration {
        self.command_timeout
    }

    /// A handle on the multiplexed connection, for one command.
    pub(crate) fn manager(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// Runs one command (or script invocation), bounded by the command timeout.
    pub(crate) async fn bounded<T>(
        &self,
        command: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, RedisCallError> {
        match tokio::time::timeout(self.command_timeout, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(RedisCallError::Redis(error)),
            Err(_) => Err(RedisCallError::Timeout(self.command_timeout)),
        }
    }
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("key_prefix", &self.key_prefix)
            .field("command_timeout", &self.command_timeout)
            .finish_non_exhaustive()
    }
}

/// Why one command failed: what the stores map to their own errors.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedisCallError {
    #[error("{0}")]
    Redis(RedisError),
    #[error("no answer from Redis within {0:?}")]
    Timeout(Duration),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let config = RedisConfig::new("redis://user:s3cret@cache.internal:6380/2");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("user"), "{shown}");
        assert!(
            shown.contains("redis://***@cache.internal:6380/2"),
            "{shown}"
        );
        assert_eq!(redacted_url("redis://:pw@h/0"), "redis://***@h/0");
        assert_eq!(redacted_url("redis://h:6379"), "redis://h:6379");
        assert_eq!(redacted_url("not a url"), "***");
        // An `@` in the path is not user information.
        assert_eq!(
            redacted_url("redis+unix:///run/redis@1.sock"),
            "redis+unix:///run/redis@1.sock"
        );
    }

    #[test]
    fn bad_urls_and_long_prefixes_are_refused() {
        assert!(matches!(
            RedisConfig::new("http://example.com").client(),
            Err(RedisConnectError::InvalidUrl(_))
        ));
        assert!(matches!(
            RedisConfig::new("redis://127.0.0.1")
                .key_prefix("x".repeat(MAX_KEY_PREFIX_LEN + 1))
                .client(),
            Err(RedisConnectError::PrefixTooLong { .. })
        ));
        assert!(RedisConfig::new("redis://127.0.0.1").client().is_ok());
    }
}
