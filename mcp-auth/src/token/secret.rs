//! The raw token (shown once, zeroized, redacted) and its SHA-256 hash (what is stored).

use std::fmt;
use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use super::record::TokenId;

/// A newly issued token, the only time its secret exists in this process: hand it to its
/// owner and drop it. Zeroized on drop; `Debug` shows only the id; not `Clone`, not
/// `Display`, not serializable.
pub struct IssuedToken {
    secret: Zeroizing<String>,
    id: TokenId,
}

impl IssuedToken {
    pub(crate) fn new(secret: Zeroizing<String>, id: TokenId) -> IssuedToken {
        IssuedToken { secret, id }
    }

    /// The token itself, to show its owner once. Never log it.
    pub fn expose_secret(&self) -> &str {
        &self.secret
    }

    /// The token's public id (safe to log).
    pub fn id(&self) -> &TokenId {
        &self.id
    }

    /// The token's hash, as stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.secret)
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("secret", &format_args!("[redacted]"))
            .finish()
    }
}

/// The SHA-256 of a token's full text (prefix included): the key its record is stored under.
///
/// Equality is constant-time. The hash of a 256-bit random secret reveals nothing usable, but
/// `Debug` still shows only its first 4 bytes to keep logs short.
#[derive(Clone, Copy)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `raw`.
    pub fn of(raw: &str) -> TokenHash {
        TokenHash(Sha256::digest(raw.as_bytes()).into())
    }

    /// A hash from its 32 bytes (for stores).
    pub fn from_bytes(bytes: [u8; 32]) -> TokenHash {
        TokenHash(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits (for store keys).
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for b in self.0 {
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        out
    }

    /// Reads 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<TokenHash> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(TokenHash(out))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl ConstantTimeEq for TokenHash {
    fn ct_eq(&self, other: &Self) -> Choice {
        // Word by word: four constant-time comparisons rather than one per byte (each goes
        // through an optimization barrier; a lookup compares hashes twice).
        let words = |hash: &[u8; 32]| -> [u64; 4] {
            let mut words = [0u64; 4];
            for (word, chunk) in words.iter_mut().zip(hash.chunks_exact(8)) {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(chunk);
                *word = u64::from_ne_bytes(bytes);
            }
            words
        };
        words(&self.0).ct_eq(&words(&other.0))
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for TokenHash {}

impl Hash for TokenHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "TokenHash(sha256:{a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_differing_in_any_byte_are_not_equal() {
        let hash = TokenHash::of("abc");
        assert_eq!(hash, TokenHash(hash.0));
        for i in 0..32 {
            for bit in [0x01, 0x80] {
                let mut other = hash.0;
                other[i] ^= bit;
                assert_ne!(hash, TokenHash(other), "byte {i}");
            }
        }
    }

    #[test]
    fn hashes_round_trip_through_hex() {
        let hash = TokenHash::of("abc");
        let hex = hash.to_hex();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(TokenHash::from_hex(&hex), Some(hash));
        assert_eq!(TokenHash::from_hex(&hex.to_uppercase()), Some(hash));
        assert_eq!(TokenHash::from_hex(&hex[1..]), None);
        assert_eq!(TokenHash::from_hex(&format!("{}g", &hex[1..])), None);
        assert_eq!(format!("{hash:?}"), "TokenHash(sha256:ba7816bf…)");
        assert_ne!(TokenHash::of("abd"), hash);
    }

    #[test]
    fn issued_token_debug_hides_the_secret() {
        let id = TokenId::parse("tok_0123456789abcdef").unwrap();
        let token = IssuedToken::new(Zeroizing::new("mcpat_supersecret".to_owned()), id);
        let shown = format!("{token:?} {token:#?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(shown.contains("tok_0123456789abcdef"));
        assert!(shown.contains("[redacted]"));
        assert_eq!(token.expose_secret(), "mcpat_supersecret");
        assert_eq!(token.hash(), TokenHash::of("mcpat_supersecret"));
    }
}
