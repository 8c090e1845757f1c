//! The Redis replay store (feature `redis`).

use std::fmt;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, Value};

use super::{AsyncReplayStore, ReplayFuture, ReplayKey, ReplayStoreError};

/// What a store does when Redis cannot answer (down, unreachable, or slower than the command
/// timeout).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayUnavailable {
    /// The nonce cannot be checked, so the signature is not verified: the outcome is
    /// [`Outcome::Invalid`](crate::profile::Outcome::Invalid) with the reason
    /// [`FailureReason::ReplayStore`](crate::error::FailureReason::ReplayStore). The default.
    #[default]
    FailClosed,
    /// The nonce is accepted unchecked (a replay during the outage goes unnoticed), so that an
    /// outage of Redis does not turn every signed request away.
    FailOpen,
}

/// Why a [`RedisReplayStore`] could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL did not parse, or the first connection failed.
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
}

/// A replay store in Redis, shared by every instance of a service: a nonce used on one instance
/// is refused on all of them until its signature expires.
///
/// Each check is one `SET <prefix><digest> 1 NX PX <ms>`: the key is the prefix and the hex
/// SHA-256 of (agent, keyid, nonce), as [`ReplayKey::digest`] scopes nonces for the in-memory
/// store (so the key length is fixed whatever a client sends), and it expires when the
/// signature does. The connection is the `redis` crate's [`ConnectionManager`] (one multiplexed
/// connection that reconnects by itself); each command has a timeout (default 500 ms), after
/// which Redis counts as unavailable and the store answers as configured with
/// [`RedisReplayStore::when_unavailable`] (fail closed by default). Every failure is logged at
/// `warn` under the target `web_bot_auth::replay`, saying which way the store failed.
///
/// Needs a Tokio runtime (the connection and the timeout run on it).
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use web_bot_auth::profile::WebBotAuthVerifier;
/// use web_bot_auth::replay::RedisReplayStore;
/// use web_bot_auth::verify::KeySet;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisReplayStore::connect("redis://127.0.0.1:6379/")
///     .await?
///     .key_prefix("shop:wba-nonce:")
///     .command_timeout(Duration::from_millis(200));
/// let verifier = WebBotAuthVerifier::new(KeySet::new()).with_async_replay_store(Arc::new(store));
/// # let _ = verifier;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    connection: ConnectionManager,
    key_prefix: String,
    command_timeout: Duration,
    when_unavailable: ReplayUnavailable,
}

impl fmt::Debug for RedisReplayStore {
    // The connection is left out: its client's address may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("key_prefix", &self.key_prefix)
            .field("command_timeout", &self.command_timeout)
            .field("when_unavailable", &self.when_unavailable)
            .finish_non_exhaustive()
    }
}

impl RedisReplayStore {
    /// The default key prefix.
    pub const DEFAULT_KEY_PREFIX: &'static str = "web-bot-auth:nonce:";
    /// The default timeout of one command.
    pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

    /// Connects to the Redis at `url` (`redis://[user:password@]host:port/db`), failing when the
    /// first connection does; the defaults otherwise (prefix [`Self::DEFAULT_KEY_PREFIX`], 500 ms
    /// per command, fail closed).
    pub async fn connect(url: &str) -> Result<Self, RedisStoreError> {
        let client = Client::open(url)?;
        let connection = ConnectionManager::new_with_config(client, manager_config()).await?;
        Ok(Self::new(connection))
    }

    /// As [`RedisReplayStore::connect`], without waiting for a connection: the first check
    /// connects (so a service can start while Redis is down, and answer as configured until it
    /// is back). Fails only on a malformed URL. Must be called inside a Tokio runtime.
    pub fn connect_lazy(url: &str) -> Result<Self, RedisStoreError> {
        let client = Client::open(url)?;
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config())?;
        Ok(Self::new(connection))
    }

    /// A store on an existing connection, with the defaults.
    pub fn new(connection: ConnectionManager) -> Self {
        RedisReplayStore {
            connection,
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            command_timeout: Self::DEFAULT_COMMAND_TIMEOUT,
            when_unavailable: ReplayUnavailable::default(),
        }
    }

    /// Puts keys under this prefix (default [`Self::DEFAULT_KEY_PREFIX`]).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Gives Redis this long to answer one command (default 500 ms).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// What to answer when Redis cannot (default [`ReplayUnavailable::FailClosed`]).
    pub fn when_unavailable(mut self, choice: ReplayUnavailable) -> Self {
        self.when_unavailable = choice;
        self
    }

    /// The Redis key that records `key`: the prefix and the hex SHA-256 digest.
    pub fn redis_key(&self, key: &ReplayKey<'_>) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = key.digest();
        let mut out = String::with_capacity(self.key_prefix.len() + 2 * digest.len());
        out.push_str(&self.key_prefix);
        for byte in digest {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// Records `key` until the end of second `expires_at`; `Ok(true)` when it is new,
    /// `Ok(false)` when it is a replay. When Redis cannot answer: an error (fail closed) or
    /// `Ok(true)` (fail open), logged either way.
    pub async fn check(
        &self,
        key: &ReplayKey<'_>,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, ReplayStoreError> {
        match self.set_if_absent(key, expires_at, now).await {
            Ok(fresh) => Ok(fresh),
            Err(error) => match self.when_unavailable {
                ReplayUnavailable::FailOpen => {
                    tracing::warn!(
                        target: "web_bot_auth::replay",
                        %error,
                        "redis replay store unavailable; failing open: the nonce is accepted unchecked"
                    );
                    Ok(true)
                }
                ReplayUnavailable::FailClosed => {
                    tracing::warn!(
                        target: "web_bot_auth::replay",
                        %error,
                        "redis replay store unavailable; failing closed: the signature is not verified"
                    );
                    Err(ReplayStoreError::Backend(error))
                }
            },
        }
    }

    /// `SET key 1 NX PX ms`, within the command timeout.
    async fn set_if_absent(
        &self,
        key: &ReplayKey<'_>,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, String> {
        // Times are whole seconds and the signature is good through second `expires_at`, so the
        // nonce must be kept until that second is over.
        let remaining_ms = expires_at
            .saturating_sub(now)
            .saturating_add(1)
            .saturating_mul(1000);
        let mut command = ::redis::cmd("SET");
        command
            .arg(self.redis_key(key))
            .arg(1u8)
            .arg("NX")
            .arg("PX")
            .arg(remaining_ms);
        let mut connection = self.connection.clone();
        let answer = tokio::time::timeout(
            self.command_timeout,
            command.query_async::<Value>(&mut connection),
        )
        .await;
        match answer {
            Err(_) => Err(format!(
                "redis did not answer within {} ms",
                self.command_timeout.as_millis()
            )),
            Ok(Err(error)) => Err(format!("redis: {error}")),
            Ok(Ok(Value::Okay)) => Ok(true),
            Ok(Ok(Value::Nil)) => Ok(false),
            Ok(Ok(other)) => Err(format!("redis: unexpected answer to SET NX: {other:?}")),
        }
    }
}

impl AsyncReplayStore for RedisReplayStore {
    fn check_and_record<'a>(
        &'a self,
        key: &'a ReplayKey<'a>,
        expires_at: u64,
        now: u64,
    ) -> ReplayFuture<'a> {
        Box::pin(self.check(key, expires_at, now))
    }
}

/// Connection timeouts for the manager; the store's own command timeout bounds every check.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(RedisReplayStore::DEFAULT_COMMAND_TIMEOUT))
        .set_response_timeout(Some(RedisReplayStore::DEFAULT_COMMAND_TIMEOUT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_are_prefixed_digests() {
        let Ok(store) = RedisReplayStore::connect_lazy("redis://127.0.0.1:1/") else {
            panic!("a well-formed URL");
        };
        let store = store.key_prefix("p:");
        let key = ReplayKey {
            agent: "https://a.example",
            keyid: "k",
            nonce: "n",
        };
        let redis_key = store.redis_key(&key);
        assert_eq!(redis_key.len(), 2 + 64);
        assert!(redis_key.starts_with("p:"));
        let other = ReplayKey { nonce: "m", ..key };
        assert_ne!(store.redis_key(&other), redis_key);
        assert!(!format!("{store:?}").contains("127.0.0.1"));
    }
}
