//! [`RedisTokenStore`]: token records in Redis, shared by every process of a deployment.

use std::fmt;

use ::redis::{Script, Value};

use super::record::{TokenId, TokenRecord};
use super::secret::TokenHash;
use super::store::{TokenStore, TokenStoreError};
use crate::BoxFuture;
use crate::redis_connection::{RedisCallError, RedisConnection};

/// The largest record read back, in bytes: a record is a few hundred bytes; anything near this
/// is not one of ours.
const MAX_RECORD_BYTES: usize = 64 * 1024;
/// How many times a revocation or rotation re-reads a record that changed under it before
/// giving up with a conflict.
const MAX_ATTEMPTS: usize = 16;
/// Keys per `MGET` when listing.
const LIST_BATCH: usize = 256;

/// KEYS: record, id index, id set. ARGV: record JSON, hash hex, id.
const INSERT_SCRIPT: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 'hash' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'id' end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return 'ok'
"#;

/// KEYS: id index. ARGV: the record key prefix. The record JSON, or nil. (The record's key is
/// built in the script, from the hash the index holds: one round trip instead of two. Redis
/// Cluster wants every key declared; with one, keep the prefix to one slot with a hash tag.)
const FIND_BY_ID_SCRIPT: &str = r#"
local hash = redis.call('GET', KEYS[1])
if not hash then return false end
return redis.call('GET', ARGV[1] .. hash)
"#;

/// KEYS: record. ARGV: the JSON read, the new JSON. Compare and set.
const REPLACE_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'changed' end
redis.call('SET', KEYS[1], ARGV[2])
return 'ok'
"#;

/// KEYS: old record, new record, new id index, id set. ARGV: the old JSON read, the old
/// record's new JSON, the new JSON, the new hash hex, the new id.
const ROTATE_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'changed' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'hash' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'id' end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('SET', KEYS[1], ARGV[2])
return 'ok'
"#;

/// KEYS: record, id index, id set. ARGV: the JSON read, the hash hex, the id. 1 if removed,
/// 0 if the record changed since it was read.
const REMOVE_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
redis.call('SREM', KEYS[3], ARGV[3])
return 1
"#;

/// Token records in Redis: a revocation or rotation through any process is seen by every
/// process on its next lookup.
///
/// Keys, under the connection's prefix `<p>` (default `mcp-auth:`):
///
/// - `<p>tok:<hash hex>`: the record's JSON (the same serde form as the file store's
///   entries), read by [`TokenStore::get`] with one `GET` on the request path;
/// - `<p>id:<id>`: the hash hex, the index [`TokenStore::find_by_id`] follows;
/// - `<p>ids`: the set of ids, for [`TokenStore::list`] and [`TokenStore::purge`].
///
/// Writes are atomic Lua scripts: `insert` refuses an existing hash or id; `revoke` and
/// `rotate` read the record, change it in Rust, and write it back with a script that checks
/// the record is still the one read (and, for `rotate`, stores the replacement in the same
/// step), reading again when another process changed it in between. Records carry their own
/// expiry and stay in Redis (no Redis TTL) until [`TokenStore::purge`] removes them, exactly
/// as in the other stores, so that an expired or revoked token is refused as such.
///
/// Fail closed: any Redis error or timeout is [`TokenStoreError::Unavailable`] with the reason
/// (logged at `error`), and the layer answers 503; a record that does not parse is
/// [`TokenStoreError::Corrupt`].
///
/// ```no_run
/// use std::sync::Arc;
/// use mcp_auth::redis_connection::RedisConfig;
/// use mcp_auth::token::{ApiTokens, RedisTokenStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConfig::new("redis://127.0.0.1:6379").connect().await?;
/// let tokens = ApiTokens::new(Arc::new(RedisTokenStore::new(&redis)));
/// # let _ = tokens;
/// # Ok(())
/// # }
/// ```
pub struct RedisTokenStore {
    connection: RedisConnection,
    record_prefix: String,
    id_prefix: String,
    ids_key: String,
    insert: Script,
    find_by_id: Script,
    replace: Script,
    rotate: Script,
    remove: Script,
}

/// A record as read: its JSON (to compare and set against) and its value.
struct Stored {
    json: String,
    record: TokenRecord,
}

impl RedisTokenStore {
    /// Records under the connection's key prefix.
    pub fn new(connection: &RedisConnection) -> RedisTokenStore {
        let prefix = connection.key_prefix();
        RedisTokenStore {
            connection: connection.clone(),
            record_prefix: format!("{prefix}tok:"),
            id_prefix: format!("{prefix}id:"),
            ids_key: format!("{prefix}ids"),
            insert: Script::new(INSERT_SCRIPT),
            find_by_id: Script::new(FIND_BY_ID_SCRIPT),
            replace: Script::new(REPLACE_SCRIPT),
            rotate: Script::new(ROTATE_SCRIPT),
            remove: Script::new(REMOVE_SCRIPT),
        }
    }

    fn record_key(&self, hash: &TokenHash) -> String {
        format!("{}{}", self.record_prefix, hash.to_hex())
    }

    fn id_key(&self, id: &str) -> String {
        format!("{}{id}", self.id_prefix)
    }

    /// Where a record is, for error messages: the key with the hash shortened.
    fn location(&self, hash: &TokenHash) -> String {
        let hex = hash.to_hex();
        format!("{}{}…", self.record_prefix, hex.get(..8).unwrap_or(""))
    }

    fn unavailable(&self, operation: &'static str, error: RedisCallError) -> TokenStoreError {
        tracing::error!(
            operation,
            %error,
            "Redis token store unavailable; the call is refused (fail closed)"
        );
        TokenStoreError::Unavailable {
            reason: format!("Redis {operation}: {error}"),
        }
    }

    fn decode(
        &self,
        json: &str,
        expected_id: Option<&TokenId>,
    ) -> Result<TokenRecord, TokenStoreError> {
        let corrupt =
            |location: String, message: String| TokenStoreError::Corrupt { location, message };
        let where_id = |id: Option<&TokenId>| match id {
            Some(id) => self.id_key(id.as_str()),
            None => format!("{}…", self.record_prefix),
        };
        if json.len() > MAX_RECORD_BYTES {
            return Err(corrupt(
                where_id(expected_id),
                format!(
                    "record of {} bytes, more than {MAX_RECORD_BYTES}",
                    json.len()
                ),
            ));
        }
        let record: TokenRecord = serde_json::from_str(json)
            .map_err(|e| corrupt(where_id(expected_id), format!("invalid record: {e}")))?;
        if let Some(id) = expected_id.filter(|id| **id != record.id) {
            return Err(corrupt(
                self.id_key(id.as_str()),
                format!("the index leads to the record of {}", record.id),
            ));
        }
        Ok(record)
    }

    async fn get_record(&self, hash: TokenHash) -> Result<Option<TokenRecord>, TokenStoreError> {
        let mut manager = self.connection.manager();
        let command = ::redis::cmd("GET").arg(self.record_key(&hash)).to_owned();
        let json: Option<String> = self
            .connection
            .bounded(command.query_async(&mut manager))
            .await
            .map_err(|e| self.unavailable("GET", e))?;
        let Some(json) = json else {
            return Ok(None);
        };
        let record = self.decode(&json, None).map_err(|e| match e {
            TokenStoreError::Corrupt { message, .. } => TokenStoreError::Corrupt {
                location: self.location(&hash),
                message,
            },
            other => other,
        })?;
        if record.hash != hash {
            return Err(TokenStoreError::Corrupt {
                location: self.location(&hash),
                message: format!("the key holds the record of {}", record.id),
            });
        }
        Ok(Some(record))
    }

    async fn find_stored(&self, id: &TokenId) -> Result<Option<Stored>, TokenStoreError> {
        let mut invocation = self.find_by_id.key(self.id_key(id.as_str()));
        invocation.arg(self.record_prefix.as_str());
        let mut manager = self.connection.manager();
        let json: Option<String> = self
            .connection
            .bounded(invocation.invoke_async(&mut manager))
            .await
            .map_err(|e| self.unavailable("find by id", e))?;
        let Some(json) = json else {
            return Ok(None);
        };
        let record = self.decode(&json, Some(id))?;
        Ok(Some(Stored { json, record }))
    }

    async fn insert_record(&self, record: TokenRecord) -> Result<(), TokenStoreError> {
        let json = encode(&record)?;
        let hash_hex = record.hash.to_hex();
        let mut invocation = self.insert.key(self.record_key(&record.hash));
        invocation
            .key(self.id_key(record.id.as_str()))
            .key(self.ids_key.as_str())
            .arg(json)
            .arg(hash_hex)
            .arg(record.id.as_str());
        let mut manager = self.connection.manager();
        let outcome: String = self
            .connection
            .bounded(invocation.invoke_async(&mut manager))
            .await
            .map_err(|e| self.unavailable("insert", e))?;
        match outcome.as_str() {
            "ok" => Ok(()),
            code => Err(insert_conflict(code, &record.id)),
        }
    }

    async fn revoke_record(
        &self,
        id: &TokenId,
        at: u64,
    ) -> Result<Option<TokenRecord>, TokenStoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(Stored { json, mut record }) = self.find_stored(id).await? else {
                return Ok(None);
            };
            if record.revoked_at.is_some() {
                return Ok(Some(record));
            }
            record.revoked_at = Some(at);
            let mut invocation = self.replace.key(self.record_key(&record.hash));
            invocation.arg(json).arg(encode(&record)?);
            let mut manager = self.connection.manager();
            let outcome: String = self
                .connection
                .bounded(invocation.invoke_async(&mut manager))
                .await
                .map_err(|e| self.unavailable("revoke", e))?;
            if outcome == "ok" {
                return Ok(Some(record));
            }
        }
        Err(TokenStoreError::Conflict {
            detail: format!("token {id} kept changing while being revoked"),
        })
    }

    async fn rotate_record(
        &self,
        old: &TokenId,
        replacement: TokenRecord,
        old_expires_at: u64,
    ) -> Result<Option<TokenRecord>, TokenStoreError> {
        let new_json = encode(&replacement)?;
        for _ in 0..MAX_ATTEMPTS {
            let Some(Stored { json, mut record }) = self.find_stored(old).await? else {
                return Ok(None);
            };
            if record.revoked_at.is_some() {
                return Err(TokenStoreError::Conflict {
                    detail: format!("token {old} is revoked"),
                });
            }
            if let Some(next) = &record.replaced_by {
                return Err(TokenStoreError::Conflict {
                    detail: format!("token {old} was already replaced by {next}"),
                });
            }
            record.expires_at = Some(
                record
                    .expires_at
                    .map_or(old_expires_at, |at| at.min(old_expires_at)),
            );
            record.replaced_by = Some(replacement.id.clone());
            let mut invocation = self.rotate.key(self.record_key(&record.hash));
            invocation
                .key(self.record_key(&replacement.hash))
                .key(self.id_key(replacement.id.as_str()))
                .key(self.ids_key.as_str())
                .arg(json)
                .arg(encode(&record)?)
                .arg(new_json.as_str())
                .arg(replacement.hash.to_hex())
                .arg(replacement.id.as_str());
            let mut manager = self.connection.manager();
            let outcome: String = self
                .connection
                .bounded(invocation.invoke_async(&mut manager))
                .await
                .map_err(|e| self.unavailable("rotate", e))?;
            match outcome.as_str() {
                "ok" => return Ok(Some(record)),
                "changed" => continue,
                code => return Err(insert_conflict(code, &replacement.id)),
            }
        }
        Err(TokenStoreError::Conflict {
            detail: format!("token {old} kept changing while being rotated"),
        })
    }

    /// Every record with its JSON, in no particular order. Ids whose record vanished between
    /// the reads (purged meanwhile) are skipped.
    async fn list_stored(&self) -> Result<Vec<Stored>, TokenStoreError> {
        let mut manager = self.connection.manager();
        let command = ::redis::cmd("SMEMBERS")
            .arg(self.ids_key.as_str())
            .to_owned();
        let ids: Vec<String> = self
            .connection
            .bounded(command.query_async(&mut manager))
            .await
            .map_err(|e| self.unavailable("SMEMBERS", e))?;
        let mut stored = Vec::with_capacity(ids.len());
        for batch in ids.chunks(LIST_BATCH) {
            let id_keys: Vec<String> = batch.iter().map(|id| self.id_key(id)).collect();
            let hashes = self.mget(&id_keys).await?;
            let record_keys: Vec<String> = hashes
                .iter()
                .flatten()
                .map(|hash| format!("{}{hash}", self.record_prefix))
                .collect();
            if record_keys.is_empty() {
                continue;
            }
            for json in self.mget(&record_keys).await?.into_iter().flatten() {
                let record = self.decode(&json, None)?;
                stored.push(Stored { json, record });
            }
        }
        Ok(stored)
    }

    async fn mget(&self, keys: &[String]) -> Result<Vec<Option<String>>, TokenStoreError> {
        let mut manager = self.connection.manager();
        let command = ::redis::cmd("MGET").arg(keys).to_owned();
        self.connection
            .bounded(command.query_async(&mut manager))
            .await
            .map_err(|e| self.unavailable("MGET", e))
    }

    async fn list_records(&self) -> Result<Vec<TokenRecord>, TokenStoreError> {
        let mut records: Vec<TokenRecord> = self
            .list_stored()
            .await?
            .into_iter()
            .map(|s| s.record)
            .collect();
        // The memory and file stores' order: creation time, then id.
        records.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(records)
    }

    async fn purge_records(&self, before: u64) -> Result<usize, TokenStoreError> {
        let mut removed = 0;
        for Stored { json, record } in self.list_stored().await? {
            let dead = record.revoked_at.is_some_and(|at| at < before)
                || record.expires_at.is_some_and(|at| at < before);
            if !dead {
                continue;
            }
            let mut invocation = self.remove.key(self.record_key(&record.hash));
            invocation
                .key(self.id_key(record.id.as_str()))
                .key(self.ids_key.as_str())
                .arg(json)
                .arg(record.hash.to_hex())
                .arg(record.id.as_str());
            let mut manager = self.connection.manager();
            let reply: Value = self
                .connection
                .bounded(invocation.invoke_async(&mut manager))
                .await
                .map_err(|e| self.unavailable("purge", e))?;
            // A record changed since it was listed is left for the next purge.
            if matches!(reply, Value::Int(1)) {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn encode(record: &TokenRecord) -> Result<String, TokenStoreError> {
    serde_json::to_string(record).map_err(|e| TokenStoreError::Corrupt {
        location: record.id.to_string(),
        message: format!("cannot serialize the record: {e}"),
    })
}

/// The conflict an insert script reported (`hash` or `id`), worded as the other stores word it.
fn insert_conflict(code: &str, id: &TokenId) -> TokenStoreError {
    let detail = match code {
        "hash" => format!("a token with the hash of {id} exists"),
        "id" => format!("a token with id {id} exists"),
        other => format!("unexpected reply {other:?} while storing {id}"),
    };
    TokenStoreError::Conflict { detail }
}

impl TokenStore for RedisTokenStore {
    fn get(&self, hash: TokenHash) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(self.get_record(hash))
    }

    fn find_by_id(
        &self,
        id: &TokenId,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        let id = id.clone();
        Box::pin(async move { Ok(self.find_stored(&id).await?.map(|s| s.record)) })
    }

    fn insert(&self, record: TokenRecord) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        Box::pin(self.insert_record(record))
    }

    fn revoke(
        &self,
        id: &TokenId,
        at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        let id = id.clone();
        Box::pin(async move { self.revoke_record(&id, at).await })
    }

    fn rotate(
        &self,
        old: &TokenId,
        replacement: TokenRecord,
        old_expires_at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        let old = old.clone();
        Box::pin(async move { self.rotate_record(&old, replacement, old_expires_at).await })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>, TokenStoreError>> {
        Box::pin(self.list_records())
    }

    fn purge(&self, before: u64) -> BoxFuture<'_, Result<usize, TokenStoreError>> {
        Box::pin(self.purge_records(before))
    }
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}
