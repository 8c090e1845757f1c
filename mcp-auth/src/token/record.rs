//! What is stored about a token: its hash, public id, owner, scopes and lifetime; never the
//! token itself.

use std::fmt;
use std::sync::Arc;

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use super::secret::TokenHash;
use crate::scope::Scopes;

/// The longest id accepted, in bytes (`tok_` included).
pub const MAX_TOKEN_ID_LEN: usize = 68;
const ID_PREFIX: &str = "tok_";

/// Why a token id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenIdError {
    /// The id does not start with `tok_`, is too short or too long, or holds a byte other than
    /// a lowercase ASCII letter or digit after `tok_`.
    #[error(
        "invalid token id at byte {position}: expected `tok_` and 1 to 64 lowercase ASCII \
         letters or digits"
    )]
    Invalid {
        /// Byte offset of the first problem.
        position: usize,
    },
}

/// A token's public identifier, `tok_` and 16 lowercase hex digits when generated here
/// (64 random bits). Safe to log, show and type: it is how operators revoke and rotate tokens.
/// Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(Arc<str>);

impl TokenId {
    /// Validates `id`: `tok_` and 1 to 64 lowercase ASCII letters or digits.
    pub fn parse(id: &str) -> Result<TokenId, TokenIdError> {
        if !id.starts_with(ID_PREFIX) {
            let position = id
                .bytes()
                .zip(ID_PREFIX.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(id.len());
            return Err(TokenIdError::Invalid { position });
        }
        if id.len() == ID_PREFIX.len() {
            return Err(TokenIdError::Invalid { position: id.len() });
        }
        if id.len() > MAX_TOKEN_ID_LEN {
            return Err(TokenIdError::Invalid {
                position: MAX_TOKEN_ID_LEN,
            });
        }
        if let Some(offset) = id.as_bytes()[ID_PREFIX.len()..]
            .iter()
            .position(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit()))
        {
            return Err(TokenIdError::Invalid {
                position: ID_PREFIX.len() + offset,
            });
        }
        Ok(TokenId(Arc::from(id)))
    }

    /// A fresh random id (64 bits from the OS RNG).
    pub(crate) fn generate() -> Result<TokenId, rand_core::Error> {
        let mut random = [0u8; 8];
        OsRng.try_fill_bytes(&mut random)?;
        Ok(TokenId(Arc::from(format!(
            "{ID_PREFIX}{:016x}",
            u64::from_be_bytes(random)
        ))))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn as_arc(&self) -> Arc<str> {
        Arc::clone(&self.0)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for TokenId {
    type Err = TokenIdError;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        TokenId::parse(id)
    }
}

impl Serialize for TokenId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TokenId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        TokenId::parse(&id).map_err(serde::de::Error::custom)
    }
}

/// Where a token stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenStatus {
    /// It authenticates calls.
    Active,
    /// It expired at this time (Unix seconds).
    Expired {
        /// When.
        at: u64,
    },
    /// It was revoked at this time (Unix seconds).
    Revoked {
        /// When.
        at: u64,
    },
}

/// A stored token. Serializes to JSON (the file store's format, and what a networked store
/// would keep under the hash) with the hash as `sha256:<hex>`.
///
/// Times are Unix seconds. A token is valid while `now < expires_at` and until `revoked_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RecordWire", try_from = "RecordWire")]
#[non_exhaustive]
pub struct TokenRecord {
    /// SHA-256 of the token: the record's key.
    pub hash: TokenHash,
    /// The public id.
    pub id: TokenId,
    /// Whom it was issued to (a partner, a service); free text, no control characters.
    pub principal: Arc<str>,
    /// What it grants.
    pub scopes: Scopes,
    /// When it was issued.
    pub created_at: u64,
    /// When it stops working (`None`: never, only when asked for explicitly).
    pub expires_at: Option<u64>,
    /// When it was revoked.
    pub revoked_at: Option<u64>,
    /// The token that replaced it, when rotated.
    pub replaced_by: Option<TokenId>,
    /// The token it replaced, when issued by a rotation.
    pub rotated_from: Option<TokenId>,
}

impl TokenRecord {
    /// A record for a token issued now: not revoked, not rotated.
    pub fn new(
        hash: TokenHash,
        id: TokenId,
        principal: Arc<str>,
        scopes: Scopes,
        created_at: u64,
        expires_at: Option<u64>,
    ) -> TokenRecord {
        TokenRecord {
            hash,
            id,
            principal,
            scopes,
            created_at,
            expires_at,
            revoked_at: None,
            replaced_by: None,
            rotated_from: None,
        }
    }

    /// Its status at `now` (Unix seconds). Revocation wins over expiry.
    pub fn status(&self, now: u64) -> TokenStatus {
        if let Some(at) = self.revoked_at.filter(|&at| at <= now) {
            return TokenStatus::Revoked { at };
        }
        if let Some(at) = self.expires_at.filter(|&at| at <= now) {
            return TokenStatus::Expired { at };
        }
        TokenStatus::Active
    }

    /// The label its holder appears under in logs and events: `token:<id>`.
    pub fn label(&self) -> String {
        format!("token:{}", self.id)
    }
}

/// The serialized form: plain strings, validated when read back.
#[derive(Serialize, Deserialize)]
struct RecordWire {
    id: TokenId,
    hash: String,
    principal: String,
    scopes: Vec<String>,
    created_at: u64,
    expires_at: Option<u64>,
    #[serde(default)]
    revoked_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replaced_by: Option<TokenId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotated_from: Option<TokenId>,
}

const HASH_PREFIX: &str = "sha256:";

impl From<TokenRecord> for RecordWire {
    fn from(r: TokenRecord) -> RecordWire {
        RecordWire {
            id: r.id,
            hash: format!("{HASH_PREFIX}{}", r.hash.to_hex()),
            principal: r.principal.to_string(),
            scopes: r.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            replaced_by: r.replaced_by,
            rotated_from: r.rotated_from,
        }
    }
}

impl TryFrom<RecordWire> for TokenRecord {
    type Error = String;

    fn try_from(w: RecordWire) -> Result<TokenRecord, String> {
        let hash = w
            .hash
            .strip_prefix(HASH_PREFIX)
            .and_then(TokenHash::from_hex)
            .ok_or_else(|| format!("token {}: hash is not `sha256:` and 64 hex digits", w.id))?;
        let scopes = Scopes::from_strs(&w.scopes).map_err(|e| format!("token {}: {e}", w.id))?;
        if let Err(reason) = super::issuer::check_principal(&w.principal) {
            return Err(format!("token {}: principal {reason}", w.id));
        }
        Ok(TokenRecord {
            hash,
            id: w.id,
            principal: Arc::from(w.principal),
            scopes,
            created_at: w.created_at,
            expires_at: w.expires_at,
            revoked_at: w.revoked_at,
            replaced_by: w.replaced_by,
            rotated_from: w.rotated_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TokenRecord {
        TokenRecord::new(
            TokenHash::of("mcpat_example"),
            TokenId::parse("tok_00000000000000aa").unwrap(),
            Arc::from("partner-a"),
            Scopes::parse("orders:read tools:call").unwrap(),
            1_000,
            Some(2_000),
        )
    }

    #[test]
    fn ids_are_validated_with_positions() {
        assert!(TokenId::parse("tok_abc123").is_ok());
        assert_eq!(
            TokenId::parse("tak_abc"),
            Err(TokenIdError::Invalid { position: 1 })
        );
        assert_eq!(
            TokenId::parse("tok_"),
            Err(TokenIdError::Invalid { position: 4 })
        );
        assert_eq!(
            TokenId::parse("tok_abC"),
            Err(TokenIdError::Invalid { position: 6 })
        );
        assert_eq!(
            TokenId::parse("to"),
            Err(TokenIdError::Invalid { position: 2 })
        );
        assert!(TokenId::parse(&format!("tok_{}", "a".repeat(64))).is_ok());
        assert!(TokenId::parse(&format!("tok_{}", "a".repeat(65))).is_err());
        let generated = TokenId::generate().unwrap();
        assert_eq!(generated.as_str().len(), 20);
        assert_eq!(TokenId::parse(generated.as_str()), Ok(generated));
    }

    #[test]
    fn status_follows_revocation_then_expiry() {
        let mut r = record();
        assert_eq!(r.status(1_999), TokenStatus::Active);
        assert_eq!(r.status(2_000), TokenStatus::Expired { at: 2_000 });
        r.revoked_at = Some(1_500);
        assert_eq!(r.status(1_499), TokenStatus::Active);
        assert_eq!(r.status(2_500), TokenStatus::Revoked { at: 1_500 });
        r.expires_at = None;
        r.revoked_at = None;
        assert_eq!(r.status(u64::MAX), TokenStatus::Active);
    }

    #[test]
    fn records_round_trip_through_json_and_are_validated() {
        let mut r = record();
        r.replaced_by = Some(TokenId::parse("tok_bb").unwrap());
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(&format!("\"hash\":\"sha256:{}\"", r.hash.to_hex())));
        assert!(json.contains("\"scopes\":[\"orders:read\",\"tools:call\"]"));
        let back: TokenRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);

        let bad_scope = json.replace("orders:read", "orders read");
        let err = serde_json::from_str::<TokenRecord>(&bad_scope).unwrap_err();
        assert!(err.to_string().contains("tok_00000000000000aa"), "{err}");
        let bad_hash = json.replace("sha256:", "md5:");
        assert!(serde_json::from_str::<TokenRecord>(&bad_hash).is_err());
        let bad_id = json.replace("tok_00000000000000aa", "TOK");
        assert!(serde_json::from_str::<TokenRecord>(&bad_id).is_err());
        let bad_principal = json.replace("partner-a", "partner\\u0000");
        assert!(serde_json::from_str::<TokenRecord>(&bad_principal).is_err());
    }

    #[test]
    fn record_debug_shows_no_full_hash() {
        let r = record();
        let shown = format!("{r:?}");
        assert!(!shown.contains(&r.hash.to_hex()), "{shown}");
        assert!(shown.contains("tok_00000000000000aa"));
        assert!(!shown.contains("mcpat_example"));
    }
}
