//! The in-memory token table both the memory store and the file store use: records by hash,
//! an id index, and the write operations of [`TokenStore`](super::TokenStore) with their checks.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::record::{TokenId, TokenRecord};
use super::secret::TokenHash;
use super::store::TokenStoreError;

#[derive(Debug, Clone, Default)]
pub(crate) struct TokenTable {
    by_hash: HashMap<TokenHash, TokenRecord, RandomState>,
    by_id: HashMap<TokenId, TokenHash, RandomState>,
}

impl TokenTable {
    /// A table of `records`; a duplicate hash or id is an error naming it.
    pub(crate) fn from_records(records: Vec<TokenRecord>) -> Result<TokenTable, String> {
        let mut table = TokenTable::default();
        for record in records {
            let id = record.id.clone();
            table
                .insert(record)
                .map_err(|_| format!("token {id}: duplicate id or hash"))?;
        }
        Ok(table)
    }

    pub(crate) fn get(&self, hash: &TokenHash) -> Option<&TokenRecord> {
        self.by_hash.get(hash)
    }

    pub(crate) fn find_by_id(&self, id: &TokenId) -> Option<&TokenRecord> {
        self.by_id.get(id).and_then(|hash| self.by_hash.get(hash))
    }

    pub(crate) fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// The records sorted by creation time, then id: a stable order for files and listings.
    pub(crate) fn sorted(&self) -> Vec<TokenRecord> {
        let mut records: Vec<TokenRecord> = self.by_hash.values().cloned().collect();
        records.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        records
    }

    pub(crate) fn insert(&mut self, record: TokenRecord) -> Result<(), TokenStoreError> {
        if self.by_hash.contains_key(&record.hash) {
            return Err(TokenStoreError::Conflict {
                detail: format!("a token with the hash of {} exists", record.id),
            });
        }
        if self.by_id.contains_key(&record.id) {
            return Err(TokenStoreError::Conflict {
                detail: format!("a token with id {} exists", record.id),
            });
        }
        self.by_id.insert(record.id.clone(), record.hash);
        self.by_hash.insert(record.hash, record);
        Ok(())
    }

    pub(crate) fn revoke(&mut self, id: &TokenId, at: u64) -> Option<TokenRecord> {
        let hash = self.by_id.get(id)?;
        let record = self.by_hash.get_mut(hash)?;
        if record.revoked_at.is_none() {
            record.revoked_at = Some(at);
        }
        Some(record.clone())
    }

    pub(crate) fn rotate(
        &mut self,
        old: &TokenId,
        replacement: TokenRecord,
        old_expires_at: u64,
    ) -> Result<Option<TokenRecord>, TokenStoreError> {
        let Some(old_record) = self.find_by_id(old) else {
            return Ok(None);
        };
        if old_record.revoked_at.is_some() {
            return Err(TokenStoreError::Conflict {
                detail: format!("token {old} is revoked"),
            });
        }
        if let Some(next) = &old_record.replaced_by {
            return Err(TokenStoreError::Conflict {
                detail: format!("token {old} was already replaced by {next}"),
            });
        }
        let old_hash = old_record.hash;
        let new_id = replacement.id.clone();
        self.insert(replacement)?;
        let Some(record) = self.by_hash.get_mut(&old_hash) else {
            return Ok(None);
        };
        record.expires_at = Some(
            record
                .expires_at
                .map_or(old_expires_at, |at| at.min(old_expires_at)),
        );
        record.replaced_by = Some(new_id);
        Ok(Some(record.clone()))
    }

    pub(crate) fn purge(&mut self, before: u64) -> usize {
        let gone: Vec<TokenHash> = self
            .by_hash
            .values()
            .filter(|r| {
                r.revoked_at.is_some_and(|at| at < before)
                    || r.expires_at.is_some_and(|at| at < before)
            })
            .map(|r| r.hash)
            .collect();
        for hash in &gone {
            if let Some(record) = self.by_hash.remove(hash) {
                self.by_id.remove(&record.id);
            }
        }
        gone.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::scope::Scopes;

    fn record(n: u8, expires_at: Option<u64>) -> TokenRecord {
        TokenRecord::new(
            TokenHash::from_bytes([n; 32]),
            TokenId::parse(&format!("tok_{n:02x}")).unwrap(),
            Arc::from("p"),
            Scopes::empty(),
            u64::from(n),
            expires_at,
        )
    }

    #[test]
    fn inserts_refuse_duplicates_and_rotation_checks_state() {
        let mut t = TokenTable::default();
        t.insert(record(1, Some(100))).unwrap();
        assert!(matches!(
            t.insert(record(1, None)),
            Err(TokenStoreError::Conflict { .. })
        ));
        let mut same_id = record(2, None);
        same_id.id = TokenId::parse("tok_01").unwrap();
        assert!(t.insert(same_id).is_err());
        assert_eq!(t.len(), 1);

        let old = t
            .rotate(&record(1, None).id, record(2, None), 50)
            .unwrap()
            .unwrap();
        assert_eq!(old.expires_at, Some(50));
        assert_eq!(old.replaced_by, Some(record(2, None).id));
        // Already replaced: refused, and nothing is inserted.
        assert!(t.rotate(&old.id, record(3, None), 10).is_err());
        assert!(t.find_by_id(&record(3, None).id).is_none());
        // An earlier expiry is kept.
        let rotated = t
            .rotate(&record(2, None).id, record(3, None), 500)
            .unwrap()
            .unwrap();
        assert_eq!(rotated.expires_at, Some(500));
        assert_eq!(
            t.rotate(&TokenId::parse("tok_ff").unwrap(), record(4, None), 1)
                .unwrap(),
            None
        );
        assert!(t.find_by_id(&record(4, None).id).is_none());

        let revoked = t.revoke(&record(3, None).id, 7).unwrap();
        assert_eq!(revoked.revoked_at, Some(7));
        assert_eq!(
            t.revoke(&record(3, None).id, 9).unwrap().revoked_at,
            Some(7)
        );
        assert!(t.rotate(&record(3, None).id, record(4, None), 1).is_err());
    }

    #[test]
    fn purge_removes_only_old_dead_records() {
        let mut t = TokenTable::default();
        t.insert(record(1, Some(100))).unwrap();
        t.insert(record(2, Some(300))).unwrap();
        t.insert(record(3, None)).unwrap();
        t.revoke(&record(3, None).id, 50).unwrap();
        assert_eq!(t.purge(200), 2);
        assert_eq!(t.len(), 1);
        assert!(t.find_by_id(&record(2, None).id).is_some());
        assert!(t.find_by_id(&record(1, None).id).is_none());
        assert_eq!(t.sorted().len(), 1);
        assert!(TokenTable::from_records(vec![record(1, None), record(1, None)]).is_err());
    }
}
