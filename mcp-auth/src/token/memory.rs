//! [`MemoryTokenStore`]: token records in a hash map, for one process.

use std::future::ready;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::record::{TokenId, TokenRecord};
use super::secret::TokenHash;
use super::store::{TokenStore, TokenStoreError};
use super::table::TokenTable;
use crate::BoxFuture;

/// Token records in memory (a foldhash map behind a `RwLock`): lost on restart, so for tests,
/// single-process services that issue tokens at start-up, and as a model for other stores.
///
/// Unbounded: tokens are issued by the operator, not by clients, so their number is the
/// operator's choice; [`TokenStore::purge`] drops dead records.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    table: RwLock<TokenTable>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> MemoryTokenStore {
        MemoryTokenStore::default()
    }

    /// How many records it holds (revoked and expired ones included).
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while the lock is held cannot leave the table half-updated (every write is a
    // single map operation after its checks), so a poisoned lock is used as is.
    fn read(&self) -> RwLockReadGuard<'_, TokenTable> {
        self.table.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, TokenTable> {
        self.table.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl TokenStore for MemoryTokenStore {
    fn get(&self, hash: TokenHash) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(Ok(self.read().get(&hash).cloned())))
    }

    fn find_by_id(
        &self,
        id: &TokenId,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(Ok(self.read().find_by_id(id).cloned())))
    }

    fn insert(&self, record: TokenRecord) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        Box::pin(ready(self.write().insert(record)))
    }

    fn revoke(
        &self,
        id: &TokenId,
        at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(Ok(self.write().revoke(id, at))))
    }

    fn rotate(
        &self,
        old: &TokenId,
        replacement: TokenRecord,
        old_expires_at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(self.write().rotate(old, replacement, old_expires_at)))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(Ok(self.read().sorted())))
    }

    fn purge(&self, before: u64) -> BoxFuture<'_, Result<usize, TokenStoreError>> {
        Box::pin(ready(Ok(self.write().purge(before))))
    }
}
