//! The HTTP signature algorithms of RFC 9421 §3.3.

use std::fmt;

/// An HTTP message signature algorithm (RFC 9421 §3.3, IANA "HTTP Signature Algorithms").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `ed25519`: EdDSA over Curve25519 (RFC 8032).
    Ed25519,
    /// `ecdsa-p256-sha256`: ECDSA over P-256 with SHA-256, signature as raw `r || s`.
    EcdsaP256Sha256,
    /// `ecdsa-p384-sha384`: ECDSA over P-384 with SHA-384, signature as raw `r || s`.
    EcdsaP384Sha384,
    /// `rsa-pss-sha512`: RSASSA-PSS with SHA-512, MGF1-SHA-512, 64-byte salt.
    RsaPssSha512,
    /// `rsa-v1_5-sha256`: RSASSA-PKCS1-v1_5 with SHA-256.
    RsaV15Sha256,
    /// `hmac-sha256`: HMAC with SHA-256 over a shared secret.
    HmacSha256,
}

impl Algorithm {
    /// Every algorithm this crate knows (whether or not its feature is compiled in).
    pub const ALL: [Algorithm; 6] = [
        Algorithm::Ed25519,
        Algorithm::EcdsaP256Sha256,
        Algorithm::EcdsaP384Sha384,
        Algorithm::RsaPssSha512,
        Algorithm::RsaV15Sha256,
        Algorithm::HmacSha256,
    ];

    /// The registered name, as in the `alg` parameter.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Algorithm::EcdsaP384Sha384 => "ecdsa-p384-sha384",
            Algorithm::RsaPssSha512 => "rsa-pss-sha512",
            Algorithm::RsaV15Sha256 => "rsa-v1_5-sha256",
            Algorithm::HmacSha256 => "hmac-sha256",
        }
    }

    /// Looks up a registered name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JOSE (RFC 7518) name used in a JWK's `alg` member.
    pub fn jose_name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "EdDSA",
            Algorithm::EcdsaP256Sha256 => "ES256",
            Algorithm::EcdsaP384Sha384 => "ES384",
            Algorithm::RsaPssSha512 => "PS512",
            Algorithm::RsaV15Sha256 => "RS256",
            Algorithm::HmacSha256 => "HS256",
        }
    }

    /// Reads a JWK `alg` member: a JOSE name or an RFC 9421 name.
    pub fn from_jwk_alg(alg: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.jose_name() == alg)
            .or_else(|| Self::from_name(alg))
    }

    /// Whether this build can use the algorithm (its cargo feature is on).
    pub fn is_enabled(self) -> bool {
        match self {
            Algorithm::Ed25519 => true,
            Algorithm::EcdsaP256Sha256 | Algorithm::EcdsaP384Sha384 => cfg!(feature = "ecdsa"),
            Algorithm::RsaPssSha512 | Algorithm::RsaV15Sha256 => cfg!(feature = "rsa"),
            Algorithm::HmacSha256 => cfg!(feature = "hmac"),
        }
    }

    /// Whether the algorithm uses a shared secret.
    pub fn is_symmetric(self) -> bool {
        self == Algorithm::HmacSha256
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(a.name()), Some(a));
            assert_eq!(Algorithm::from_jwk_alg(a.jose_name()), Some(a));
        }
        assert_eq!(Algorithm::from_name("ED25519"), None);
        assert_eq!(Algorithm::from_name("none"), None);
    }
}
