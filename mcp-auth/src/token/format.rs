//! The API token's text form: `<prefix>_<body><checksum>`, how one is generated and how a
//! presented one is checked for shape before any store is asked about it.
//!
//! - `prefix`: configurable, default [`DEFAULT_PREFIX`] (`mcpat`); 1 to [`MAX_PREFIX_LEN`]
//!   ASCII letters, digits and inner underscores.
//! - `body`: 32 bytes (256 bits) from the operating system's RNG, base64url without padding
//!   ([`BODY_LEN`] = 43 characters).
//! - `checksum`: CRC-32 (IEEE 802.3, the zlib/PNG one) of the 43 body characters as ASCII,
//!   big-endian, base64url without padding ([`CHECKSUM_LEN`] = 6 characters). It is no secret
//!   and adds no security: it lets a secret scanner (and this crate) tell a real token from a
//!   typo or a random string without a lookup, like GitHub's token checksum.
//!
//! A scanner looks for `<prefix>_` followed by exactly 49 base64url characters
//! (`[A-Za-z0-9_-]`) and checks the last 6 against the CRC-32 of the 43 before them.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::issuer::TokenError;
use super::secret::TokenHash;

/// The prefix tokens get unless configured otherwise ("MCP access token").
pub const DEFAULT_PREFIX: &str = "mcpat";
/// The longest accepted prefix, in bytes.
pub const MAX_PREFIX_LEN: usize = 32;
/// Random bytes in a token: 256 bits.
pub const SECRET_BYTES: usize = 32;
/// Characters of the base64url body (32 bytes, no padding).
pub const BODY_LEN: usize = 43;
/// Characters of the base64url checksum (a CRC-32, no padding).
pub const CHECKSUM_LEN: usize = 6;

/// Why a prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenPrefixError {
    /// The prefix is empty.
    #[error("the token prefix is empty")]
    Empty,
    /// The prefix is longer than [`MAX_PREFIX_LEN`].
    #[error("the token prefix is {len} bytes long, at most {max} are allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A byte that is not an ASCII letter, digit or inner underscore.
    #[error(
        "invalid byte in the token prefix at {position}: only ASCII letters, digits and inner \
         underscores are allowed"
    )]
    InvalidCharacter {
        /// Byte offset in the prefix.
        position: usize,
    },
}

/// Why a presented token was refused before any lookup. Never holds any part of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedToken {
    /// The token does not start with `<prefix>_`.
    #[error("the token does not start with the expected prefix")]
    WrongPrefix,
    /// The token has the prefix but not the length of a token.
    #[error("the token is {actual} bytes long, expected {expected}")]
    WrongLength {
        /// The length a token with this prefix has.
        expected: usize,
        /// The length presented.
        actual: usize,
    },
    /// A byte after the prefix is not in the base64url alphabet.
    #[error("the token has a byte outside the base64url alphabet at {position}")]
    BadCharacter {
        /// Byte offset in the token.
        position: usize,
    },
    /// The checksum does not match the body (a typo, a truncated copy, a made-up token).
    #[error("the token's checksum does not match its body")]
    BadChecksum,
}

/// A validated token prefix, and with it the token format. Cheap to clone.
///
/// A token is `<prefix>_<body><checksum>`:
///
/// - `prefix`: default [`DEFAULT_PREFIX`] (`mcpat`); 1 to [`MAX_PREFIX_LEN`] ASCII letters,
///   digits and inner underscores.
/// - `body`: [`SECRET_BYTES`] (32) bytes from the operating system's RNG (256 bits), base64url
///   without padding: [`BODY_LEN`] (43) characters.
/// - `checksum`: the CRC-32 (IEEE 802.3, as in zlib and PNG) of the 43 body characters taken as
///   ASCII, as 4 big-endian bytes, base64url without padding: [`CHECKSUM_LEN`] (6) characters.
///   It is no secret and adds no security: it lets secret scanners (and
///   [`check_shape`](TokenPrefix::check_shape)) tell a real token from a typo, a truncated copy
///   or a made-up string without a lookup, as GitHub's token checksum does. A scanner looks for
///   `<prefix>_` followed by exactly 49 base64url characters (`[A-Za-z0-9_-]`) and checks the
///   last 6 against the 43 before them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenPrefix(Arc<str>);

impl Default for TokenPrefix {
    fn default() -> Self {
        TokenPrefix(Arc::from(DEFAULT_PREFIX))
    }
}

impl TokenPrefix {
    /// Validates `prefix`: 1 to [`MAX_PREFIX_LEN`] ASCII letters, digits and underscores, not
    /// starting or ending with an underscore.
    pub fn new(prefix: &str) -> Result<TokenPrefix, TokenPrefixError> {
        if prefix.is_empty() {
            return Err(TokenPrefixError::Empty);
        }
        if prefix.len() > MAX_PREFIX_LEN {
            return Err(TokenPrefixError::TooLong {
                len: prefix.len(),
                max: MAX_PREFIX_LEN,
            });
        }
        let last = prefix.len() - 1;
        for (position, b) in prefix.bytes().enumerate() {
            let inner_underscore = b == b'_' && position != 0 && position != last;
            if !(b.is_ascii_alphanumeric() || inner_underscore) {
                return Err(TokenPrefixError::InvalidCharacter { position });
            }
        }
        Ok(TokenPrefix(Arc::from(prefix)))
    }

    /// The prefix, without the `_` that follows it in a token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The length of every token with this prefix, in bytes.
    pub fn token_len(&self) -> usize {
        self.0.len() + 1 + BODY_LEN + CHECKSUM_LEN
    }

    /// Whether `raw` starts with `<prefix>_`: a cheap test to tell an API token from another
    /// kind of bearer credential (a JWT) before choosing how to authenticate it. Says nothing
    /// about validity.
    pub fn looks_like_token(&self, raw: &str) -> bool {
        let prefix = self.0.as_bytes();
        let raw = raw.as_bytes();
        raw.len() > prefix.len() && raw.starts_with(prefix) && raw[prefix.len()] == b'_'
    }

    /// Checks that `raw` has the shape of a token with this prefix (prefix, length, alphabet,
    /// checksum) and returns its hash, the store key. Does a bounded amount of work whatever
    /// the input.
    pub fn check_shape(&self, raw: &str) -> Result<TokenHash, MalformedToken> {
        if !self.looks_like_token(raw) {
            return Err(MalformedToken::WrongPrefix);
        }
        let expected = self.token_len();
        if raw.len() != expected {
            return Err(MalformedToken::WrongLength {
                expected,
                actual: raw.len(),
            });
        }
        let start = self.0.len() + 1;
        let tail = &raw.as_bytes()[start..];
        if let Some(offset) = tail.iter().position(|&b| !is_base64url(b)) {
            return Err(MalformedToken::BadCharacter {
                position: start + offset,
            });
        }
        let (body, checksum) = tail.split_at(BODY_LEN);
        let expected_checksum = encode_checksum(body);
        if !bool::from(expected_checksum.as_slice().ct_eq(checksum)) {
            return Err(MalformedToken::BadChecksum);
        }
        Ok(TokenHash::of(raw))
    }

    /// A new token: 256 bits from the OS RNG, encoded with this prefix and a checksum. The
    /// intermediate buffers are zeroized.
    pub(crate) fn generate(&self) -> Result<Zeroizing<String>, TokenError> {
        let mut random = Zeroizing::new([0u8; SECRET_BYTES]);
        OsRng.try_fill_bytes(random.as_mut_slice())?;
        let mut body = Zeroizing::new([0u8; BODY_LEN]);
        let written = URL_SAFE_NO_PAD
            .encode_slice(random.as_slice(), body.as_mut_slice())
            .map_err(|_| encoding_error())?;
        let body = body.get(..written).ok_or_else(encoding_error)?;
        let body_text = std::str::from_utf8(body).map_err(|_| encoding_error())?;
        let checksum = encode_checksum(body);
        let checksum = std::str::from_utf8(&checksum).map_err(|_| encoding_error())?;

        // Reserve the full length first so the string never reallocates (which would leave an
        // unzeroized copy of the secret behind).
        let mut token = Zeroizing::new(String::with_capacity(self.token_len()));
        token.push_str(&self.0);
        token.push('_');
        token.push_str(body_text);
        token.push_str(checksum);
        Ok(token)
    }
}

fn encoding_error() -> TokenError {
    // Unreachable in practice: 32 bytes always encode to 43 ASCII characters.
    TokenError::Generation {
        message: "encoding the random bytes failed".to_owned(),
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The 6-character checksum of a 43-character body.
fn encode_checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut out = [0u8; CHECKSUM_LEN];
    // 4 bytes always encode to exactly 6 characters without padding; the fallback is never used.
    if URL_SAFE_NO_PAD
        .encode_slice(crc32(body).to_be_bytes(), &mut out)
        .is_err()
    {
        out = [0; CHECKSUM_LEN];
    }
    out
}

/// CRC-32/ISO-HDLC (reflected polynomial 0xEDB88320), one table lookup per byte.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc = CRC32_TABLE[usize::from((crc as u8) ^ byte)] ^ (crc >> 8);
    }
    !crc
}

const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn prefixes_are_validated_with_positions() {
        assert_eq!(TokenPrefix::default().as_str(), "mcpat");
        assert!(TokenPrefix::new("acme_mcp").is_ok());
        assert_eq!(TokenPrefix::new(""), Err(TokenPrefixError::Empty));
        assert_eq!(
            TokenPrefix::new("_x"),
            Err(TokenPrefixError::InvalidCharacter { position: 0 })
        );
        assert_eq!(
            TokenPrefix::new("ab-c"),
            Err(TokenPrefixError::InvalidCharacter { position: 2 })
        );
        assert_eq!(
            TokenPrefix::new("x_"),
            Err(TokenPrefixError::InvalidCharacter { position: 1 })
        );
        assert!(matches!(
            TokenPrefix::new(&"a".repeat(33)),
            Err(TokenPrefixError::TooLong { len: 33, max: 32 })
        ));
    }

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let prefix = TokenPrefix::default();
        let token = prefix.generate().unwrap();
        assert_eq!(token.len(), 5 + 1 + 43 + 6);
        assert!(token.starts_with("mcpat_"));
        let body = &token[6..49];
        let checksum = &token[49..];
        let crc = URL_SAFE_NO_PAD.decode(checksum).unwrap();
        assert_eq!(crc, crc32(body.as_bytes()).to_be_bytes());
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_eq!(prefix.check_shape(&token), Ok(TokenHash::of(&token)));
        let other = prefix.generate().unwrap();
        assert_ne!(*token, *other);
    }

    #[test]
    fn wrong_shapes_are_told_apart() {
        let prefix = TokenPrefix::default();
        let token = prefix.generate().unwrap();
        assert_eq!(
            prefix.check_shape("eyJhbGciOiJIUzI1NiJ9.e30.x"),
            Err(MalformedToken::WrongPrefix)
        );
        assert_eq!(
            prefix.check_shape("mcpat"),
            Err(MalformedToken::WrongPrefix)
        );
        assert_eq!(
            prefix.check_shape(&token[..token.len() - 1]),
            Err(MalformedToken::WrongLength {
                expected: 55,
                actual: 54
            })
        );
        let mut bad_char = token.to_string();
        bad_char.replace_range(10..11, "+");
        assert_eq!(
            prefix.check_shape(&bad_char),
            Err(MalformedToken::BadCharacter { position: 10 })
        );
        // Change one body character: the checksum no longer matches.
        let mut typo = token.to_string();
        let replacement = if &typo[10..11] == "A" { "B" } else { "A" };
        typo.replace_range(10..11, replacement);
        assert_eq!(prefix.check_shape(&typo), Err(MalformedToken::BadChecksum));
        let other = TokenPrefix::new("acme").unwrap();
        assert_eq!(other.check_shape(&token), Err(MalformedToken::WrongPrefix));
        assert!(prefix.looks_like_token(&token));
        assert!(!other.looks_like_token(&token));
        assert!(prefix.looks_like_token("mcpat_"));
        assert!(matches!(
            prefix.check_shape("mcpat_"),
            Err(MalformedToken::WrongLength { actual: 6, .. })
        ));
        assert!(!prefix.looks_like_token("mcpatx"));
    }

    proptest! {
        #[test]
        fn shape_check_never_panics(raw in ".{0,80}") {
            let prefix = TokenPrefix::default();
            let _ = prefix.check_shape(&raw);
            let _ = prefix.check_shape(&format!("mcpat_{raw}"));
        }

        #[test]
        fn any_single_body_change_is_caught(position in 6usize..55, replacement in "[A-Za-z0-9_-]") {
            let prefix = TokenPrefix::default();
            let token = prefix.generate().unwrap();
            let mut changed = token.to_string();
            changed.replace_range(position..position + 1, &replacement);
            if changed != *token {
                // CRC-32 detects every single-character change.
                prop_assert_eq!(prefix.check_shape(&changed), Err(MalformedToken::BadChecksum));
            }
        }
    }
}
