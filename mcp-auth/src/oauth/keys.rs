//! Verification keys, each pinned to exactly one algorithm, and key sets with selection by `kid`.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

/// The shortest RSA modulus accepted, in bits (RFC 7518 §3.3 requires 2048 or more).
pub const MIN_RSA_BITS: usize = 2048;

/// The most keys read from one JWKS document; further keys are ignored.
pub const MAX_JWKS_KEYS: usize = 64;

/// Why a key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM or JWK could not be read as a public key of the algorithm's family.
    #[error("not a usable {family} public key: {detail}")]
    InvalidKey {
        /// The family expected (`RSA`, `EC`, `Ed25519`, `HMAC`).
        family: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// An RSA key shorter than [`MIN_RSA_BITS`].
    #[error("RSA key of {bits} bits; at least 2048 are required")]
    RsaKeyTooShort {
        /// The modulus size.
        bits: usize,
    },
    /// An HMAC secret shorter than the hash output (RFC 7518 §3.2).
    #[error("HMAC secret of {len} bytes; {algorithm:?} needs at least {min}")]
    HmacSecretTooShort {
        /// The algorithm.
        algorithm: Algorithm,
        /// The secret's length.
        len: usize,
        /// The minimum length.
        min: usize,
    },
    /// The algorithm cannot be used with this kind of key (an HMAC algorithm for a PEM key, an
    /// RSA algorithm for an EC key, …), or a JWK names an algorithm that is not for signatures.
    #[error("algorithm {algorithm} does not fit this key")]
    AlgorithmMismatch {
        /// The algorithm named.
        algorithm: String,
    },
    /// A JWK with no `alg` whose key type does not determine one (an EC key on an unsupported
    /// curve, a key type this crate does not know).
    #[error("JWK has no usable algorithm: {detail}")]
    NoAlgorithm {
        /// Why.
        detail: String,
    },
    /// A symmetric (`oct`) JWK: HMAC secrets are accepted only through
    /// [`VerificationKey::hmac_secret`], never from a key set.
    #[error("symmetric (oct) JWKs are not accepted; configure HMAC secrets explicitly")]
    SymmetricJwk,
    /// A JWK meant for encryption (`use: enc`) or without `verify` in its `key_ops`.
    #[error("JWK is not for signature verification")]
    NotForVerification,
    /// A JSON document that is not a JWK or JWKS.
    #[error("invalid JWK/JWKS JSON: {detail}")]
    Json {
        /// The parser's message (line and column included).
        detail: String,
    },
    /// A JWKS with no key this crate can use.
    #[error("JWKS holds no usable key ({skipped} skipped)")]
    NoUsableKey {
        /// How many keys were skipped.
        skipped: usize,
    },
    /// jsonwebtoken has no crypto provider (more than one backend feature enabled).
    #[error("jsonwebtoken has no crypto provider")]
    NoCryptoProvider,
}

/// A public key (or an explicitly configured HMAC secret) that verifies tokens of exactly one
/// algorithm, with an optional key id. `Debug` never shows key material.
#[derive(Clone)]
pub struct VerificationKey {
    kid: Option<Arc<str>>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl VerificationKey {
    /// Reads a PEM public key (`PUBLIC KEY` / SubjectPublicKeyInfo, or `RSA PUBLIC KEY`) for
    /// `algorithm`: `RS*`/`PS*` need an RSA key of at least 2048 bits, `ES256` a P-256 key,
    /// `ES384` a P-384 key, `EdDSA` an Ed25519 key. HMAC algorithms are refused (see
    /// [`VerificationKey::hmac_secret`]); so are private keys.
    pub fn from_pem(pem: &[u8], algorithm: Algorithm) -> Result<VerificationKey, KeyError> {
        let family = algorithm.family();
        let invalid = |e: jsonwebtoken::errors::Error| KeyError::InvalidKey {
            family: family_name(family),
            detail: e.to_string(),
        };
        let key = match family {
            AlgorithmFamily::Hmac => {
                return Err(KeyError::AlgorithmMismatch {
                    algorithm: format!("{algorithm:?}"),
                });
            }
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem).map_err(invalid)?,
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem).map_err(invalid)?,
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem).map_err(invalid)?,
        };
        VerificationKey::checked(key, algorithm, None)
    }

    /// Reads one JWK (RFC 7517). The algorithm is the JWK's `alg` when present (it must fit the
    /// key type and curve); otherwise it follows from the key type: `RSA` → `RS256`, `EC` on
    /// P-256 → `ES256`, on P-384 → `ES384`, `OKP` on Ed25519 → `EdDSA`. Symmetric (`oct`) keys,
    /// encryption keys and keys of other types are refused.
    pub fn from_jwk(jwk: &Jwk) -> Result<VerificationKey, KeyError> {
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            return Err(KeyError::NotForVerification);
        }
        if let Some(ops) = &jwk.common.key_operations
            && !ops.contains(&KeyOperations::Verify)
        {
            return Err(KeyError::NotForVerification);
        }
        let implied = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => Some(Algorithm::ES256),
                EllipticCurve::P384 => Some(Algorithm::ES384),
                _ => None,
            },
            AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
                EllipticCurve::Ed25519 => Some(Algorithm::EdDSA),
                _ => None,
            },
            AlgorithmParameters::OctetKey(_) => return Err(KeyError::SymmetricJwk),
            _ => None,
        };
        let algorithm = match jwk.common.key_algorithm {
            Some(named) => {
                let algorithm = signature_algorithm(named)?;
                match implied {
                    // RSA keys may be pinned to any RSA algorithm; curves to exactly theirs.
                    Some(Algorithm::RS256) if algorithm.family() == AlgorithmFamily::Rsa => {
                        algorithm
                    }
                    Some(implied) if implied == algorithm => algorithm,
                    _ => {
                        return Err(KeyError::AlgorithmMismatch {
                            algorithm: format!("{named:?}"),
                        });
                    }
                }
            }
            None => implied.ok_or_else(|| KeyError::NoAlgorithm {
                detail: "unsupported key type or curve".to_owned(),
            })?,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError::InvalidKey {
            family: family_name(algorithm.family()),
            detail: e.to_string(),
        })?;
        let kid = jwk.common.key_id.as_deref().map(Arc::from);
        VerificationKey::checked(key, algorithm, kid)
    }

    /// Reads one JWK from JSON (see [`VerificationKey::from_jwk`]).
    pub fn from_jwk_json(json: &str) -> Result<VerificationKey, KeyError> {
        let jwk: Jwk = serde_json::from_str(json).map_err(|e| KeyError::Json {
            detail: e.to_string(),
        })?;
        VerificationKey::from_jwk(&jwk)
    }

    /// An HMAC secret for `algorithm` (`HS256`, `HS384`, `HS512`), at least as long as the hash
    /// output (32, 48, 64 bytes). Only for issuers that share a secret with this server; the
    /// secret is zeroized when the key is dropped.
    pub fn hmac_secret(secret: &[u8], algorithm: Algorithm) -> Result<VerificationKey, KeyError> {
        let min = match algorithm {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            other => {
                return Err(KeyError::AlgorithmMismatch {
                    algorithm: format!("{other:?}"),
                });
            }
        };
        if secret.len() < min {
            return Err(KeyError::HmacSecretTooShort {
                algorithm,
                len: secret.len(),
                min,
            });
        }
        let key = DecodingKey::from_secret(secret).map_err(|e| KeyError::InvalidKey {
            family: "HMAC",
            detail: e.to_string(),
        })?;
        Ok(VerificationKey {
            kid: None,
            algorithm,
            key,
        })
    }

    /// Sets the key id that tokens name in their `kid` header.
    pub fn with_kid(mut self, kid: impl AsRef<str>) -> VerificationKey {
        self.kid = Some(Arc::from(kid.as_ref()));
        self
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }

    /// Checks the key material against `algorithm` so that a bad key fails at load time, not
    /// at the first token.
    fn checked(
        key: DecodingKey,
        algorithm: Algorithm,
        kid: Option<Arc<str>>,
    ) -> Result<VerificationKey, KeyError> {
        let provider = CryptoProvider::try_get_default().ok_or(KeyError::NoCryptoProvider)?;
        let family = algorithm.family();
        let invalid = |detail: String| KeyError::InvalidKey {
            family: family_name(family),
            detail,
        };
        if key.family() != family {
            return Err(KeyError::AlgorithmMismatch {
                algorithm: format!("{algorithm:?}"),
            });
        }
        match family {
            AlgorithmFamily::Rsa => {
                let n = match key.kind() {
                    jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, e } => {
                        if e.is_empty() || e.len() > 8 {
                            return Err(invalid("bad public exponent".to_owned()));
                        }
                        n.clone()
                    }
                    jsonwebtoken::DecodingKeyKind::SecretOrDer(der) => {
                        (provider.key_utils.rsa_pub_components_from_public_key)(der)
                            .map_err(|e| invalid(e.to_string()))?
                            .0
                    }
                };
                let significant = n.iter().skip_while(|b| **b == 0).count();
                let bits = significant * 8;
                if bits < MIN_RSA_BITS {
                    return Err(KeyError::RsaKeyTooShort { bits });
                }
            }
            AlgorithmFamily::Ec => {
                let len = key.try_get_as_bytes().map(<[u8]>::len).unwrap_or(0);
                let expected = match algorithm {
                    Algorithm::ES256 => 65,
                    _ => 97,
                };
                if len != expected {
                    return Err(KeyError::AlgorithmMismatch {
                        algorithm: format!("{algorithm:?}"),
                    });
                }
            }
            AlgorithmFamily::Ed => {
                // jsonwebtoken slices the first 32 bytes without checking the length.
                if key.try_get_as_bytes().map(<[u8]>::len).unwrap_or(0) != 32 {
                    return Err(invalid("an Ed25519 public key is 32 bytes".to_owned()));
                }
            }
            AlgorithmFamily::Hmac => {}
        }
        // Builds the verifier once: parses points and checks they are on the curve.
        (provider.verifier_factory)(&algorithm, &key).map_err(|e| invalid(e.to_string()))?;
        Ok(VerificationKey {
            kid,
            algorithm,
            key,
        })
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("key", &"[redacted]")
            .finish()
    }
}

fn family_name(family: AlgorithmFamily) -> &'static str {
    match family {
        AlgorithmFamily::Hmac => "HMAC",
        AlgorithmFamily::Rsa => "RSA",
        AlgorithmFamily::Ec => "EC",
        AlgorithmFamily::Ed => "Ed25519",
    }
}

fn signature_algorithm(named: KeyAlgorithm) -> Result<Algorithm, KeyError> {
    let mismatch = || KeyError::AlgorithmMismatch {
        algorithm: format!("{named:?}"),
    };
    let algorithm = Algorithm::try_from(named).map_err(|_| mismatch())?;
    if algorithm.family() == AlgorithmFamily::Hmac {
        return Err(KeyError::SymmetricJwk);
    }
    Ok(algorithm)
}

/// A key from a JWKS that could not be used, and why (for logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// The key's `kid`, when it had one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub error: KeyError,
}

/// The keys a verifier trusts. Selection by `kid` is a linear scan: sets are small.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
    skipped: Vec<SkippedKey>,
}

/// Which key verifies a token, or why none does.
pub(crate) enum Selection<'k> {
    /// This key.
    Key(&'k VerificationKey),
    /// The token names a `kid` the set does not hold.
    UnknownKid,
    /// The `kid` is known, but its key is pinned to another algorithm.
    AlgorithmNotAllowed,
    /// No `kid`, and no key of the token's algorithm.
    NoKeyForAlgorithm,
    /// No `kid`, and several keys of the token's algorithm.
    Ambiguous,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// Adds a key.
    pub fn push(&mut self, key: VerificationKey) {
        self.keys.push(key);
    }

    /// Adds a key (builder form).
    pub fn with(mut self, key: VerificationKey) -> KeySet {
        self.keys.push(key);
        self
    }

    /// The usable keys of a parsed JWKS (at most [`MAX_JWKS_KEYS`]); the others are listed in
    /// [`KeySet::skipped`].
    pub fn from_jwk_set(set: &JwkSet) -> KeySet {
        let mut keys = KeySet::new();
        for jwk in set.keys.iter().take(MAX_JWKS_KEYS) {
            match VerificationKey::from_jwk(jwk) {
                Ok(key) => keys.keys.push(key),
                Err(error) => keys.skipped.push(SkippedKey {
                    kid: jwk.common.key_id.clone(),
                    error,
                }),
            }
        }
        keys
    }

    /// Reads a JWKS document (`{"keys": [...]}`). Keys that cannot be used (unknown key type,
    /// no usable algorithm, `oct`, `use: enc`, malformed) are skipped, not fatal; a document
    /// that is not a JWKS, or with no usable key at all, is an error.
    pub fn from_jwks_json(json: &[u8]) -> Result<KeySet, KeyError> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(json).map_err(|e| KeyError::Json {
            detail: e.to_string(),
        })?;
        let mut keys = KeySet::new();
        for value in document.keys.into_iter().take(MAX_JWKS_KEYS) {
            let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
            let loaded = serde_json::from_value::<Jwk>(value)
                .map_err(|e| KeyError::Json {
                    detail: e.to_string(),
                })
                .and_then(|jwk| VerificationKey::from_jwk(&jwk));
            match loaded {
                Ok(key) => keys.keys.push(key),
                Err(error) => keys.skipped.push(SkippedKey { kid, error }),
            }
        }
        if keys.keys.is_empty() {
            return Err(KeyError::NoUsableKey {
                skipped: keys.skipped.len(),
            });
        }
        Ok(keys)
    }

    /// Keeps only the keys pinned to one of `algorithms`; the others move to
    /// [`KeySet::skipped`].
    pub fn retain_algorithms(&mut self, algorithms: &[Algorithm]) {
        let (kept, dropped): (Vec<_>, Vec<_>) = std::mem::take(&mut self.keys)
            .into_iter()
            .partition(|k| algorithms.contains(&k.algorithm));
        self.keys = kept;
        self.skipped.extend(dropped.into_iter().map(|k| SkippedKey {
            kid: k.kid.as_deref().map(str::to_owned),
            error: KeyError::AlgorithmMismatch {
                algorithm: format!("{:?}", k.algorithm),
            },
        }));
    }

    /// The usable keys.
    pub fn keys(&self) -> &[VerificationKey] {
        &self.keys
    }

    /// The keys that were skipped while loading, and why.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// How many usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no usable keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Picks the key for a token of `algorithm` naming `kid`. With a `kid`, the key with that
    /// id must be pinned to `algorithm`; without one, exactly one key may be pinned to it.
    pub(crate) fn select(&self, algorithm: Algorithm, kid: Option<&str>) -> Selection<'_> {
        match kid {
            Some(kid) => {
                let mut known = false;
                for key in &self.keys {
                    if key.kid.as_deref() == Some(kid) {
                        if key.algorithm == algorithm {
                            return Selection::Key(key);
                        }
                        known = true;
                    }
                }
                if known {
                    Selection::AlgorithmNotAllowed
                } else {
                    Selection::UnknownKid
                }
            }
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.algorithm == algorithm);
                match (candidates.next(), candidates.next()) {
                    (Some(key), None) => Selection::Key(key),
                    (None, _) => Selection::NoKeyForAlgorithm,
                    (Some(_), Some(_)) => Selection::Ambiguous,
                }
            }
        }
    }
}

/// base64url (no padding) of `bytes`; used by tests and the JWK helpers.
#[cfg(test)]
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding (RFC 7515 §2), refusing non-canonical trailing bits.
pub(crate) fn b64url_decode(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment).ok()
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! The keys under `tests/data`, and signing helpers.
    use jsonwebtoken::{EncodingKey, Header, jwk::Jwk};

    pub const RSA_A_KEY: &str = include_str!("../../tests/data/rsa-a.key.pem");
    pub const RSA_A_PUB: &str = include_str!("../../tests/data/rsa-a.pub.pem");
    pub const RSA_1024_PUB: &str = include_str!("../../tests/data/rsa-1024.pub.pem");
    pub const EC_KEY: &str = include_str!("../../tests/data/ec-p256.key.pem");
    pub const EC_PUB: &str = include_str!("../../tests/data/ec-p256.pub.pem");
    pub const ED_A_KEY: &str = include_str!("../../tests/data/ed25519-a.key.pem");
    pub const ED_A_PUB: &str = include_str!("../../tests/data/ed25519-a.pub.pem");
    pub const ED_B_KEY: &str = include_str!("../../tests/data/ed25519-b.key.pem");

    pub fn encoding_key(pem: &str, alg: jsonwebtoken::Algorithm) -> EncodingKey {
        use jsonwebtoken::AlgorithmFamily::*;
        match alg.family() {
            Rsa => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            Ec => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            Ed => EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
            Hmac => EncodingKey::from_secret(pem.as_bytes()).unwrap(),
        }
    }

    /// The public JWK of a private PEM, with `kid`.
    pub fn public_jwk(private_pem: &str, alg: jsonwebtoken::Algorithm, kid: &str) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&encoding_key(private_pem, alg), alg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        jwk
    }

    pub fn sign(
        private_pem: &str,
        alg: jsonwebtoken::Algorithm,
        kid: Option<&str>,
        claims: &serde_json::Value,
    ) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &encoding_key(private_pem, alg)).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_keys::*;
    use super::*;

    #[test]
    fn pem_keys_are_pinned_and_checked() {
        let rsa = VerificationKey::from_pem(RSA_A_PUB.as_bytes(), Algorithm::RS256).unwrap();
        assert_eq!(rsa.algorithm(), Algorithm::RS256);
        assert!(VerificationKey::from_pem(RSA_A_PUB.as_bytes(), Algorithm::PS256).is_ok());
        assert!(VerificationKey::from_pem(EC_PUB.as_bytes(), Algorithm::ES256).is_ok());
        assert!(VerificationKey::from_pem(ED_A_PUB.as_bytes(), Algorithm::EdDSA).is_ok());
        // Wrong family, wrong curve, HMAC, private keys, short RSA keys.
        assert!(VerificationKey::from_pem(RSA_A_PUB.as_bytes(), Algorithm::ES256).is_err());
        assert!(VerificationKey::from_pem(EC_PUB.as_bytes(), Algorithm::ES384).is_err());
        assert!(VerificationKey::from_pem(EC_PUB.as_bytes(), Algorithm::EdDSA).is_err());
        assert!(matches!(
            VerificationKey::from_pem(RSA_A_PUB.as_bytes(), Algorithm::HS256),
            Err(KeyError::AlgorithmMismatch { .. })
        ));
        assert!(VerificationKey::from_pem(RSA_A_KEY.as_bytes(), Algorithm::RS256).is_err());
        assert!(VerificationKey::from_pem(ED_A_KEY.as_bytes(), Algorithm::EdDSA).is_err());
        assert_eq!(
            VerificationKey::from_pem(RSA_1024_PUB.as_bytes(), Algorithm::RS256).unwrap_err(),
            KeyError::RsaKeyTooShort { bits: 1024 }
        );
        assert!(VerificationKey::from_pem(b"not a pem", Algorithm::RS256).is_err());
    }

    #[test]
    fn jwk_algorithm_comes_from_alg_or_key_type() {
        let jwk = public_jwk(EC_KEY, Algorithm::ES256, "ec");
        let key = VerificationKey::from_jwk(&jwk).unwrap();
        assert_eq!((key.kid(), key.algorithm()), (Some("ec"), Algorithm::ES256));

        let mut no_alg = public_jwk(RSA_A_KEY, Algorithm::RS256, "r");
        no_alg.common.key_algorithm = None;
        assert_eq!(
            VerificationKey::from_jwk(&no_alg).unwrap().algorithm(),
            Algorithm::RS256
        );
        let mut ps = no_alg.clone();
        ps.common.key_algorithm = Some(KeyAlgorithm::PS384);
        assert_eq!(
            VerificationKey::from_jwk(&ps).unwrap().algorithm(),
            Algorithm::PS384
        );
        // alg that does not fit the key type, an encryption alg, an HMAC alg.
        for bad in [
            KeyAlgorithm::ES256,
            KeyAlgorithm::RSA_OAEP,
            KeyAlgorithm::UNKNOWN_ALGORITHM,
        ] {
            let mut k = no_alg.clone();
            k.common.key_algorithm = Some(bad);
            assert!(matches!(
                VerificationKey::from_jwk(&k),
                Err(KeyError::AlgorithmMismatch { .. })
            ));
        }
        let mut hs = no_alg.clone();
        hs.common.key_algorithm = Some(KeyAlgorithm::HS256);
        assert_eq!(
            VerificationKey::from_jwk(&hs).unwrap_err(),
            KeyError::SymmetricJwk
        );
        let mut enc = no_alg;
        enc.common.public_key_use = Some(PublicKeyUse::Encryption);
        assert_eq!(
            VerificationKey::from_jwk(&enc).unwrap_err(),
            KeyError::NotForVerification
        );
    }

    #[test]
    fn bad_jwk_material_is_refused_at_load() {
        let oct = r#"{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}"#;
        assert_eq!(
            VerificationKey::from_jwk_json(oct).unwrap_err(),
            KeyError::SymmetricJwk
        );
        let short_ed = r#"{"kty":"OKP","crv":"Ed25519","x":"AAEC"}"#;
        assert!(matches!(
            VerificationKey::from_jwk_json(short_ed),
            Err(KeyError::InvalidKey { .. })
        ));
        let off_curve = format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#,
            b64url(&[1; 32]),
            b64url(&[2; 32])
        );
        assert!(VerificationKey::from_jwk_json(&off_curve).is_err());
        let short_rsa = format!(
            r#"{{"kty":"RSA","n":"{}","e":"AQAB"}}"#,
            b64url(&[0xff; 128])
        );
        assert_eq!(
            VerificationKey::from_jwk_json(&short_rsa).unwrap_err(),
            KeyError::RsaKeyTooShort { bits: 1024 }
        );
        let p521 = r#"{"kty":"EC","crv":"P-521","x":"AA","y":"AA"}"#;
        assert!(VerificationKey::from_jwk_json(p521).is_err());
    }

    #[test]
    fn jwks_skips_unusable_keys() {
        let good = serde_json::to_value(public_jwk(ED_A_KEY, Algorithm::EdDSA, "ed")).unwrap();
        let doc = serde_json::json!({"keys": [
            good,
            {"kty": "oct", "k": "AAAA", "kid": "sym"},
            {"kty": "weird", "kid": "w"},
            "not an object",
        ]});
        let set = KeySet::from_jwks_json(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.skipped().len(), 3);
        assert_eq!(set.skipped()[0].kid.as_deref(), Some("sym"));
        assert!(matches!(
            KeySet::from_jwks_json(br#"{"keys":[{"kty":"oct","k":"AAAA"}]}"#),
            Err(KeyError::NoUsableKey { skipped: 1 })
        ));
        assert!(matches!(
            KeySet::from_jwks_json(b"[]"),
            Err(KeyError::Json { .. })
        ));
    }

    #[test]
    fn selection_by_kid_and_algorithm() {
        let ed = VerificationKey::from_pem(ED_A_PUB.as_bytes(), Algorithm::EdDSA)
            .unwrap()
            .with_kid("ed");
        let rsa = VerificationKey::from_pem(RSA_A_PUB.as_bytes(), Algorithm::RS256)
            .unwrap()
            .with_kid("rsa");
        let set = KeySet::new().with(ed.clone()).with(rsa);
        assert!(
            matches!(set.select(Algorithm::EdDSA, Some("ed")), Selection::Key(k) if k.kid() == Some("ed"))
        );
        assert!(matches!(
            set.select(Algorithm::HS256, Some("rsa")),
            Selection::AlgorithmNotAllowed
        ));
        assert!(matches!(
            set.select(Algorithm::EdDSA, Some("nope")),
            Selection::UnknownKid
        ));
        assert!(
            matches!(set.select(Algorithm::RS256, None), Selection::Key(k) if k.kid() == Some("rsa"))
        );
        assert!(matches!(
            set.select(Algorithm::ES256, None),
            Selection::NoKeyForAlgorithm
        ));
        let two = set.clone().with(ed.with_kid("ed2"));
        assert!(matches!(
            two.select(Algorithm::EdDSA, None),
            Selection::Ambiguous
        ));
        let mut only_rsa = two;
        only_rsa.retain_algorithms(&[Algorithm::RS256]);
        assert_eq!(only_rsa.len(), 1);
        assert_eq!(only_rsa.skipped().len(), 2);
    }

    #[test]
    fn hmac_secrets_are_explicit_long_and_redacted() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let key = VerificationKey::hmac_secret(secret, Algorithm::HS256).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("0123456789"), "{shown}");
        assert!(shown.contains("redacted"));
        assert!(matches!(
            VerificationKey::hmac_secret(secret, Algorithm::HS512),
            Err(KeyError::HmacSecretTooShort { min: 64, .. })
        ));
        assert!(VerificationKey::hmac_secret(secret, Algorithm::RS256).is_err());
        let rsa = VerificationKey::from_pem(RSA_A_PUB.as_bytes(), Algorithm::RS256).unwrap();
        assert!(!format!("{rsa:?}").contains("MII"));
    }
}
