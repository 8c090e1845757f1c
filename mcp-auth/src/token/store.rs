//! Where token records live: the [`TokenStore`] trait and its errors.

use std::path::PathBuf;

use super::record::{TokenId, TokenRecord};
use super::secret::TokenHash;
use crate::BoxFuture;

/// Why a token store could not answer. The layer refuses the call (fail closed, 503) on any of
/// them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenStoreError {
    /// The store cannot be reached or its data is gone (a network store down, the token file
    /// deleted).
    #[error("token store unavailable: {reason}")]
    Unavailable {
        /// What went wrong.
        reason: String,
    },
    /// The stored data cannot be read back (invalid JSON, an invalid record, duplicate keys).
    #[error("token store data is corrupt at {location}: {message}")]
    Corrupt {
        /// Where: `<path>:<line>:<column>` for a file, a key for a network store.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// An I/O operation failed.
    #[error("token store I/O error while {operation} {}: {source}", path.display())]
    Io {
        /// What was being done (`reading`, `renaming`, …).
        operation: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A write conflicts with the stored state (a duplicate hash or id, rotating a token that
    /// was already rotated or revoked).
    #[error("token store conflict: {detail}")]
    Conflict {
        /// What conflicts.
        detail: String,
    },
}

/// Storage for token records, keyed by [`TokenHash`] with a secondary index by [`TokenId`].
///
/// Object safe and asynchronous ([`BoxFuture`]) so that a networked store can implement it.
/// Each write is atomic with respect to the others. A Redis implementation maps naturally:
///
/// - `get`: `GET <ns>:token:<hash hex>` → the record's JSON (`TokenRecord` implements serde).
/// - `find_by_id`: `GET <ns>:token-id:<id>` → the hash hex, then `get`.
/// - `insert`: `SET … NX` on both keys (in one `MULTI` or Lua script); an existing key is a
///   [`TokenStoreError::Conflict`].
/// - `revoke` and `rotate`: a Lua script that reads, checks and rewrites the records, so that
///   revocation is seen by every server on its next lookup and a rotation cannot race with
///   another one.
/// - `list`: `SCAN` over the id index (or a set of ids).
/// - `purge`: the same scan; or give each key a Redis TTL past its expiry and make it a no-op.
pub trait TokenStore: Send + Sync + 'static {
    /// The record stored under `hash`, if any. On the request path: keep it fast.
    fn get(&self, hash: TokenHash) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>>;

    /// The record with this id, if any.
    fn find_by_id(
        &self,
        id: &TokenId,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>>;

    /// Stores a new record. A record with the same hash or id is a
    /// [`TokenStoreError::Conflict`].
    fn insert(&self, record: TokenRecord) -> BoxFuture<'_, Result<(), TokenStoreError>>;

    /// Marks the token revoked at `at` (Unix seconds) and returns the updated record, or
    /// `None` when no token has this id. A token already revoked keeps its first revocation
    /// time.
    fn revoke(
        &self,
        id: &TokenId,
        at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>>;

    /// In one atomic step: stores `replacement`, sets the old token's `replaced_by` to its id
    /// and its expiry to the earlier of its current expiry and `old_expires_at`. Returns the
    /// updated old record, or `None` (and stores nothing) when no token has the id `old`.
    /// A [`TokenStoreError::Conflict`] when the old token is revoked or already replaced, or
    /// when the replacement's hash or id exists.
    fn rotate(
        &self,
        old: &TokenId,
        replacement: TokenRecord,
        old_expires_at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>>;

    /// Every record, in no particular order.
    fn list(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>, TokenStoreError>>;

    /// Removes the records that expired or were revoked before `before` (Unix seconds) and
    /// returns how many. Housekeeping only: such tokens are refused anyway (as unknown, once
    /// removed, instead of expired or revoked).
    fn purge(&self, before: u64) -> BoxFuture<'_, Result<usize, TokenStoreError>>;
}
