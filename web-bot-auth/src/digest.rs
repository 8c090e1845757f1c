//! `Content-Digest` (RFC 9530) with `sha-256` and `sha-512`.

use sfv::{BareItem, DictSerializer, KeyRef, ListEntry};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::error::{Input, ParseError};
use crate::fields::parse_unique_dictionary;

/// A digest algorithm of the IANA "Hash Algorithms for HTTP Digest Fields" registry that this
/// crate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// `sha-256`
    Sha256,
    /// `sha-512`
    Sha512,
}

impl DigestAlgorithm {
    /// The registered key.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha-256",
            DigestAlgorithm::Sha512 => "sha-512",
        }
    }

    fn digest(self, body: &[u8]) -> Vec<u8> {
        match self {
            DigestAlgorithm::Sha256 => Sha256::digest(body).to_vec(),
            DigestAlgorithm::Sha512 => Sha512::digest(body).to_vec(),
        }
    }
}

/// Why a `Content-Digest` does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The field does not parse as a dictionary.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// No member uses an algorithm this crate computes.
    #[error("no supported digest algorithm (sha-256, sha-512)")]
    NoSupportedAlgorithm,
    /// A member's value is not a byte sequence.
    #[error("digest `{0}` is not a byte sequence")]
    NotBytes(&'static str),
    /// The digest does not match the body.
    #[error("digest `{0}` does not match the content")]
    Mismatch(&'static str),
}

/// The `Content-Digest` field value for `body`, with one member per algorithm, in order.
pub fn content_digest(body: &[u8], algorithms: &[DigestAlgorithm]) -> String {
    let mut ser = DictSerializer::new();
    for alg in algorithms {
        if let Ok(key) = KeyRef::from_str(alg.name()) {
            let _ = ser.bare_item(key, alg.digest(body).as_slice());
        }
    }
    ser.finish().unwrap_or_default()
}

/// Checks a `Content-Digest` field value against `body`. Every member with a supported algorithm
/// must match (compared in constant time), and there must be at least one; members with other
/// algorithms are ignored. Returns the algorithms checked.
pub fn verify_content_digest(
    field_value: &str,
    body: &[u8],
) -> Result<Vec<DigestAlgorithm>, DigestError> {
    let dict = parse_unique_dictionary(field_value, Input::ContentDigest)?;
    let mut checked = Vec::new();
    for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
        let Some(entry) = dict.get(alg.name()) else {
            continue;
        };
        let ListEntry::Item(item) = entry else {
            return Err(DigestError::NotBytes(alg.name()));
        };
        let BareItem::ByteSequence(expected) = &item.bare_item else {
            return Err(DigestError::NotBytes(alg.name()));
        };
        if !bool::from(alg.digest(body).ct_eq(expected)) {
            return Err(DigestError::Mismatch(alg.name()));
        }
        checked.push(alg);
    }
    if checked.is_empty() {
        return Err(DigestError::NoSupportedAlgorithm);
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9421_test_request_digest() {
        let body = br#"{"hello": "world"}"#;
        let v = content_digest(body, &[DigestAlgorithm::Sha512]);
        assert_eq!(
            v,
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        );
        assert_eq!(
            verify_content_digest(&v, body).unwrap(),
            vec![DigestAlgorithm::Sha512]
        );
        assert_eq!(
            verify_content_digest(&v, b"{}"),
            Err(DigestError::Mismatch("sha-512"))
        );
    }

    #[test]
    fn unknown_algorithms_and_bad_values() {
        assert_eq!(
            verify_content_digest("md5=:AAAA:", b""),
            Err(DigestError::NoSupportedAlgorithm)
        );
        assert_eq!(
            verify_content_digest("sha-256=abc", b""),
            Err(DigestError::NotBytes("sha-256"))
        );
        assert!(matches!(
            verify_content_digest("sha-256=:!!:", b""),
            Err(DigestError::Parse(ParseError {
                offset: Some(_),
                ..
            }))
        ));
        let both = content_digest(b"x", &[DigestAlgorithm::Sha256, DigestAlgorithm::Sha512]);
        assert_eq!(verify_content_digest(&both, b"x").unwrap().len(), 2);
        let extra = format!("{both}, md5=:AAAA:");
        assert!(verify_content_digest(&extra, b"x").is_ok());
    }
}
