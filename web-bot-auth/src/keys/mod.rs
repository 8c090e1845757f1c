//! Keys: verifying keys and signing keys for every algorithm, from JWK or PEM, and their
//! RFC 7638 thumbprints.
//!
//! A key is bound to exactly one [`Algorithm`]: a signature whose `alg` names another one is
//! refused, so there is no algorithm confusion. RSA keys must say which RSA algorithm they are
//! for (the JWK `alg` member, or an explicit argument), except PKCS#8/SPKI keys marked
//! RSASSA-PSS.

mod jwk;
mod pem;

use std::fmt;
use std::sync::Arc;

use crate::alg::Algorithm;
use crate::error::{FailureReason, KeyError};

pub use jwk::{ExtraMembers, Jwk, MAX_JWK_BYTES};
pub(crate) use jwk::{b64, b64_member};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// Smallest HMAC secret accepted, in bytes.
pub const MIN_HMAC_BYTES: usize = 32;

/// Thumbprints of the RFC 9421 Appendix B.1 test keys (refused by the Web Bot Auth profile
/// unless test keys are explicitly allowed).
pub(crate) const RFC9421_TEST_KEY_THUMBPRINTS: [&str; 4] = [
    "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U",
    "oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA",
    "BHj8s0GPnMEQtkaULIM-PLgEhLBbuGUQ1vMxmBWZzEo",
    "ydQXMtvbsOsZyFir-Y7A8t7fKEM1gbKPvyFkdpu4fvI",
];

#[derive(Clone)]
pub(crate) enum Public {
    Ed25519(ed25519_dalek::VerifyingKey),
    #[cfg(feature = "ecdsa")]
    P256(p256::ecdsa::VerifyingKey),
    #[cfg(feature = "ecdsa")]
    P384(p384::ecdsa::VerifyingKey),
    #[cfg(feature = "rsa")]
    RsaPss(rsa::pss::VerifyingKey<sha2::Sha512>),
    #[cfg(feature = "rsa")]
    RsaV15(rsa::pkcs1v15::VerifyingKey<sha2::Sha256>),
    #[cfg(feature = "hmac")]
    Hmac(Arc<zeroize::Zeroizing<Vec<u8>>>),
}

/// A key that checks signatures, bound to one algorithm.
#[derive(Clone)]
pub struct VerifyingKey {
    inner: Public,
    thumbprint: Arc<str>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.algorithm().name())
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm() == other.algorithm() && self.thumbprint == other.thumbprint
    }
}

fn rsa_alg(alg: Option<Algorithm>) -> Result<Algorithm, KeyError> {
    match alg {
        Some(a @ (Algorithm::RsaPssSha512 | Algorithm::RsaV15Sha256)) => Ok(a),
        Some(a) => Err(KeyError::AlgorithmMismatch {
            key: "RSA",
            requested: a.name(),
        }),
        None => Err(KeyError::AmbiguousRsa),
    }
}

fn check_alg(have: Algorithm, want: Option<Algorithm>) -> Result<(), KeyError> {
    match want {
        Some(w) if w != have => Err(KeyError::AlgorithmMismatch {
            key: have.name(),
            requested: w.name(),
        }),
        _ => Ok(()),
    }
}

/// The algorithm a JWK is for: its `alg` member, which must agree with `requested` when both
/// are given, else `requested`.
fn jwk_alg(jwk: &Jwk, requested: Option<Algorithm>) -> Result<Option<Algorithm>, KeyError> {
    let declared = match jwk.alg.as_deref() {
        None => None,
        Some(a) => Some(
            Algorithm::from_jwk_alg(a)
                .ok_or_else(|| KeyError::Unsupported(format!("alg {a:?}")))?,
        ),
    };
    if let (Some(d), Some(r)) = (declared, requested)
        && d != r
    {
        return Err(KeyError::AlgorithmMismatch {
            key: d.name(),
            requested: r.name(),
        });
    }
    Ok(declared.or(requested))
}

fn fixed<const N: usize>(bytes: &[u8], name: &'static str) -> Result<[u8; N], KeyError> {
    bytes.try_into().map_err(|_| KeyError::Member(name))
}

#[cfg(feature = "rsa")]
fn rsa_public(n: &[u8], e: &[u8]) -> Result<rsa::RsaPublicKey, KeyError> {
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(n),
        rsa::BigUint::from_bytes_be(e),
    )
    .map_err(|e| KeyError::Invalid(e.to_string()))?;
    check_rsa_size(&key)?;
    Ok(key)
}

#[cfg(feature = "rsa")]
fn check_rsa_size(key: &rsa::RsaPublicKey) -> Result<(), KeyError> {
    use rsa::traits::PublicKeyParts;
    if key.n().bits() < MIN_RSA_BITS {
        return Err(KeyError::Invalid(format!(
            "RSA modulus under {MIN_RSA_BITS} bits"
        )));
    }
    Ok(())
}

impl VerifyingKey {
    pub(crate) fn from_inner(inner: Public) -> Self {
        let mut key = VerifyingKey {
            inner,
            thumbprint: Arc::from(""),
        };
        // A key built from valid material always has the members a thumbprint needs.
        key.thumbprint = Arc::from(key.to_jwk().thumbprint().unwrap_or_default());
        key
    }

    /// An Ed25519 public key from its 32 bytes.
    pub fn ed25519(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let k = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| KeyError::Invalid("not an Ed25519 point".into()))?;
        Ok(Self::from_inner(Public::Ed25519(k)))
    }

    /// An HMAC-SHA256 shared secret (at least [`MIN_HMAC_BYTES`] bytes).
    #[cfg(feature = "hmac")]
    pub fn hmac_sha256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_BYTES {
            return Err(KeyError::Invalid(format!(
                "HMAC secret under {MIN_HMAC_BYTES} bytes"
            )));
        }
        Ok(Self::from_inner(Public::Hmac(Arc::new(
            zeroize::Zeroizing::new(secret.to_vec()),
        ))))
    }

    /// Reads a JWK (public or private; only the public part is kept, except for `oct`).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        Self::from_jwk_with_alg(jwk, None)
    }

    /// Reads a JWK, requiring (or, for RSA without `alg`, choosing) the algorithm.
    pub fn from_jwk_with_alg(jwk: &Jwk, alg: Option<Algorithm>) -> Result<Self, KeyError> {
        let alg = jwk_alg(jwk, alg)?;
        match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => {
                check_alg(Algorithm::Ed25519, alg)?;
                let x = fixed::<32>(&b64_member(&jwk.x, "x")?, "x")?;
                Self::ed25519(&x)
            }
            #[cfg(feature = "ecdsa")]
            ("EC", Some("P-256")) => {
                check_alg(Algorithm::EcdsaP256Sha256, alg)?;
                let point = p256::EncodedPoint::from_affine_coordinates(
                    &fixed::<32>(&b64_member(&jwk.x, "x")?, "x")?.into(),
                    &fixed::<32>(&b64_member(&jwk.y, "y")?, "y")?.into(),
                    false,
                );
                let k = p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map_err(|_| KeyError::Invalid("not a P-256 point".into()))?;
                Ok(Self::from_inner(Public::P256(k)))
            }
            #[cfg(feature = "ecdsa")]
            ("EC", Some("P-384")) => {
                check_alg(Algorithm::EcdsaP384Sha384, alg)?;
                let point = p384::EncodedPoint::from_affine_coordinates(
                    &fixed::<48>(&b64_member(&jwk.x, "x")?, "x")?.into(),
                    &fixed::<48>(&b64_member(&jwk.y, "y")?, "y")?.into(),
                    false,
                );
                let k = p384::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map_err(|_| KeyError::Invalid("not a P-384 point".into()))?;
                Ok(Self::from_inner(Public::P384(k)))
            }
            #[cfg(feature = "rsa")]
            ("RSA", _) => {
                let alg = rsa_alg(alg)?;
                let key = rsa_public(&b64_member(&jwk.n, "n")?, &b64_member(&jwk.e, "e")?)?;
                Ok(Self::rsa(key, alg))
            }
            #[cfg(feature = "hmac")]
            ("oct", _) => {
                check_alg(Algorithm::HmacSha256, alg)?;
                let k = zeroize::Zeroizing::new(b64_member(&jwk.k, "k")?);
                Self::hmac_sha256(&k)
            }
            (kty, crv) => Err(KeyError::Unsupported(match crv {
                Some(c) => format!("kty {kty:?} crv {c:?} (or its cargo feature is off)"),
                None => format!("kty {kty:?} (or its cargo feature is off)"),
            })),
        }
    }

    /// Reads a JWK from JSON.
    pub fn from_jwk_json(json: &str) -> Result<Self, KeyError> {
        Self::from_jwk(&Jwk::from_json(json)?)
    }

    /// Reads a PEM document: SPKI `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`, or any private key form
    /// (whose public half is taken). `alg` is required for RSA keys not marked RSASSA-PSS.
    pub fn from_pem(text: &str, alg: Option<Algorithm>) -> Result<Self, KeyError> {
        pem::verifying_key(text, alg)
    }

    #[cfg(feature = "rsa")]
    pub(crate) fn rsa(key: rsa::RsaPublicKey, alg: Algorithm) -> Self {
        Self::from_inner(if alg == Algorithm::RsaPssSha512 {
            Public::RsaPss(rsa::pss::VerifyingKey::new(key))
        } else {
            Public::RsaV15(rsa::pkcs1v15::VerifyingKey::new(key))
        })
    }

    /// The algorithm this key is for.
    pub fn algorithm(&self) -> Algorithm {
        match &self.inner {
            Public::Ed25519(_) => Algorithm::Ed25519,
            #[cfg(feature = "ecdsa")]
            Public::P256(_) => Algorithm::EcdsaP256Sha256,
            #[cfg(feature = "ecdsa")]
            Public::P384(_) => Algorithm::EcdsaP384Sha384,
            #[cfg(feature = "rsa")]
            Public::RsaPss(_) => Algorithm::RsaPssSha512,
            #[cfg(feature = "rsa")]
            Public::RsaV15(_) => Algorithm::RsaV15Sha256,
            #[cfg(feature = "hmac")]
            Public::Hmac(_) => Algorithm::HmacSha256,
        }
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url): the Web Bot Auth `keyid`.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Whether this is one of the RFC 9421 Appendix B.1 test keys.
    pub fn is_rfc9421_test_key(&self) -> bool {
        RFC9421_TEST_KEY_THUMBPRINTS.contains(&&*self.thumbprint)
    }

    /// Checks `signature` over `message` with this key's algorithm.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), FailureReason> {
        let ok = match &self.inner {
            Public::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .ok()
                .is_some_and(|s| k.verify_strict(message, &s).is_ok()),
            #[cfg(feature = "ecdsa")]
            Public::P256(k) => {
                use p256::ecdsa::signature::Verifier;
                p256::ecdsa::Signature::from_slice(signature)
                    .ok()
                    .is_some_and(|s| k.verify(message, &s).is_ok())
            }
            #[cfg(feature = "ecdsa")]
            Public::P384(k) => {
                use p384::ecdsa::signature::Verifier;
                p384::ecdsa::Signature::from_slice(signature)
                    .ok()
                    .is_some_and(|s| k.verify(message, &s).is_ok())
            }
            #[cfg(feature = "rsa")]
            Public::RsaPss(k) => {
                use rsa::signature::Verifier;
                rsa::pss::Signature::try_from(signature)
                    .ok()
                    .is_some_and(|s| k.verify(message, &s).is_ok())
            }
            #[cfg(feature = "rsa")]
            Public::RsaV15(k) => {
                use rsa::signature::Verifier;
                rsa::pkcs1v15::Signature::try_from(signature)
                    .ok()
                    .is_some_and(|s| k.verify(message, &s).is_ok())
            }
            #[cfg(feature = "hmac")]
            Public::Hmac(secret) => {
                use hmac::Mac;
                hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
                    .map(|mut mac| {
                        mac.update(message);
                        // `verify_slice` compares in constant time.
                        mac.verify_slice(signature).is_ok()
                    })
                    .unwrap_or(false)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(FailureReason::Mismatch)
        }
    }

    /// The public key as a JWK, with `kid` set to the thumbprint and `alg` to the JOSE name
    /// (RSA keys only, where the algorithm is not implied by the key type). For HMAC keys the
    /// JWK holds the secret.
    pub fn to_jwk(&self) -> Jwk {
        let mut jwk = Jwk::default();
        match &self.inner {
            Public::Ed25519(k) => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(b64(k.as_bytes()));
            }
            #[cfg(feature = "ecdsa")]
            Public::P256(k) => {
                let p = k.to_encoded_point(false);
                jwk.kty = "EC".into();
                jwk.crv = Some("P-256".into());
                jwk.x = p.x().map(|x| b64(x));
                jwk.y = p.y().map(|y| b64(y));
            }
            #[cfg(feature = "ecdsa")]
            Public::P384(k) => {
                let p = k.to_encoded_point(false);
                jwk.kty = "EC".into();
                jwk.crv = Some("P-384".into());
                jwk.x = p.x().map(|x| b64(x));
                jwk.y = p.y().map(|y| b64(y));
            }
            #[cfg(feature = "rsa")]
            Public::RsaPss(k) => rsa_jwk(&mut jwk, k.as_ref(), Algorithm::RsaPssSha512),
            #[cfg(feature = "rsa")]
            Public::RsaV15(k) => rsa_jwk(&mut jwk, k.as_ref(), Algorithm::RsaV15Sha256),
            #[cfg(feature = "hmac")]
            Public::Hmac(secret) => {
                jwk.kty = "oct".into();
                jwk.k = Some(b64(secret));
            }
        }
        if !self.thumbprint.is_empty() {
            jwk.kid = Some(self.thumbprint.to_string());
        }
        jwk
    }
}

#[cfg(feature = "rsa")]
fn rsa_jwk(jwk: &mut Jwk, key: &rsa::RsaPublicKey, alg: Algorithm) {
    use rsa::traits::PublicKeyParts;
    jwk.kty = "RSA".into();
    jwk.n = Some(b64(&key.n().to_bytes_be()));
    jwk.e = Some(b64(&key.e().to_bytes_be()));
    jwk.alg = Some(alg.jose_name().into());
}

pub(crate) enum Secret {
    Ed25519(ed25519_dalek::SigningKey),
    #[cfg(feature = "ecdsa")]
    P256(p256::ecdsa::SigningKey),
    #[cfg(feature = "ecdsa")]
    P384(p384::ecdsa::SigningKey),
    #[cfg(feature = "rsa")]
    Rsa(Box<rsa::RsaPrivateKey>, Algorithm),
    #[cfg(feature = "hmac")]
    Hmac(zeroize::Zeroizing<Vec<u8>>),
}

/// A private key that signs, bound to one algorithm.
///
/// Its `Debug` shows only the algorithm and the public thumbprint; the secret is wiped from
/// memory when the key is dropped.
pub struct SigningKey {
    inner: Secret,
    public: VerifyingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm().name())
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub(crate) fn from_secret(inner: Secret) -> Self {
        let public = match &inner {
            Secret::Ed25519(k) => Public::Ed25519(k.verifying_key()),
            #[cfg(feature = "ecdsa")]
            Secret::P256(k) => Public::P256(*k.verifying_key()),
            #[cfg(feature = "ecdsa")]
            Secret::P384(k) => Public::P384(*k.verifying_key()),
            #[cfg(feature = "rsa")]
            Secret::Rsa(k, alg) => {
                return SigningKey {
                    public: VerifyingKey::rsa(k.to_public_key(), *alg),
                    inner,
                };
            }
            #[cfg(feature = "hmac")]
            Secret::Hmac(k) => Public::Hmac(Arc::new(k.clone())),
        };
        SigningKey {
            public: VerifyingKey::from_inner(public),
            inner,
        }
    }

    /// A new random Ed25519 key from the operating system's generator.
    pub fn generate_ed25519() -> Self {
        Self::generate_ed25519_with(&mut rand_core::OsRng)
    }

    /// A new random Ed25519 key from `rng`.
    pub fn generate_ed25519_with(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        Self::from_secret(Secret::Ed25519(ed25519_dalek::SigningKey::generate(rng)))
    }

    /// An Ed25519 key from its 32-byte seed.
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Self {
        Self::from_secret(Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed)))
    }

    /// An HMAC-SHA256 shared secret (at least [`MIN_HMAC_BYTES`] bytes).
    #[cfg(feature = "hmac")]
    pub fn hmac_sha256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_BYTES {
            return Err(KeyError::Invalid(format!(
                "HMAC secret under {MIN_HMAC_BYTES} bytes"
            )));
        }
        Ok(Self::from_secret(Secret::Hmac(zeroize::Zeroizing::new(
            secret.to_vec(),
        ))))
    }

    /// Reads a private JWK.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        Self::from_jwk_with_alg(jwk, None)
    }

    /// Reads a private JWK, requiring (or, for RSA without `alg`, choosing) the algorithm.
    pub fn from_jwk_with_alg(jwk: &Jwk, alg: Option<Algorithm>) -> Result<Self, KeyError> {
        if !jwk.is_private() {
            return Err(KeyError::NotPrivate);
        }
        let alg = jwk_alg(jwk, alg)?;
        let d = zeroize::Zeroizing::new(match jwk.kty.as_str() {
            "oct" => Vec::new(),
            _ => b64_member(&jwk.d, "d")?,
        });
        let key = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => {
                check_alg(Algorithm::Ed25519, alg)?;
                let seed = zeroize::Zeroizing::new(fixed::<32>(&d, "d")?);
                Self::ed25519_from_seed(&seed)
            }
            #[cfg(feature = "ecdsa")]
            ("EC", Some("P-256")) => {
                check_alg(Algorithm::EcdsaP256Sha256, alg)?;
                let k =
                    p256::ecdsa::SigningKey::from_slice(&d).map_err(|_| KeyError::Member("d"))?;
                Self::from_secret(Secret::P256(k))
            }
            #[cfg(feature = "ecdsa")]
            ("EC", Some("P-384")) => {
                check_alg(Algorithm::EcdsaP384Sha384, alg)?;
                let k =
                    p384::ecdsa::SigningKey::from_slice(&d).map_err(|_| KeyError::Member("d"))?;
                Self::from_secret(Secret::P384(k))
            }
            #[cfg(feature = "rsa")]
            ("RSA", _) => {
                let alg = rsa_alg(alg)?;
                let big = |v: &Option<String>, n: &'static str| {
                    b64_member(v, n).map(|b| rsa::BigUint::from_bytes_be(&b))
                };
                let key = rsa::RsaPrivateKey::from_components(
                    big(&jwk.n, "n")?,
                    big(&jwk.e, "e")?,
                    rsa::BigUint::from_bytes_be(&d),
                    vec![big(&jwk.p, "p")?, big(&jwk.q, "q")?],
                )
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
                key.validate()
                    .map_err(|e| KeyError::Invalid(e.to_string()))?;
                check_rsa_size(&key.to_public_key())?;
                Self::from_secret(Secret::Rsa(Box::new(key), alg))
            }
            #[cfg(feature = "hmac")]
            ("oct", _) => {
                check_alg(Algorithm::HmacSha256, alg)?;
                let k = zeroize::Zeroizing::new(b64_member(&jwk.k, "k")?);
                Self::hmac_sha256(&k)?
            }
            (kty, _) => {
                return Err(KeyError::Unsupported(format!(
                    "kty {kty:?} (or its cargo feature is off)"
                )));
            }
        };
        // A JWK that carries public members must carry the ones matching its private key.
        if jwk.kty != "oct" {
            let given = VerifyingKey::from_jwk_with_alg(&jwk.to_public(), Some(key.algorithm()))?;
            if given.thumbprint() != key.public.thumbprint() {
                return Err(KeyError::Invalid(
                    "private and public members do not match".into(),
                ));
            }
        }
        Ok(key)
    }

    /// Reads a private JWK from JSON.
    pub fn from_jwk_json(json: &str) -> Result<Self, KeyError> {
        Self::from_jwk(&Jwk::from_json(json)?)
    }

    /// Reads a PEM private key: PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1
    /// `EC PRIVATE KEY`. `alg` is required for RSA keys not marked RSASSA-PSS.
    pub fn from_pem(text: &str, alg: Option<Algorithm>) -> Result<Self, KeyError> {
        pem::signing_key(text, alg)
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The public thumbprint (the Web Bot Auth `keyid`).
    pub fn thumbprint(&self) -> &str {
        self.public.thumbprint()
    }

    /// Signs `message`, drawing any randomness (RSA-PSS salt) from the operating system.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.sign_with_rng(&mut rand_core::OsRng, message)
    }

    /// Signs `message`, drawing any randomness from `rng`. Ed25519, ECDSA (RFC 6979) and HMAC
    /// are deterministic; RSA-PSS uses a random salt.
    pub fn sign_with_rng(
        &self,
        rng: &mut impl rand_core::CryptoRngCore,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let _ = &rng;
        match &self.inner {
            Secret::Ed25519(k) => {
                use ed25519_dalek::Signer;
                Ok(k.sign(message).to_bytes().to_vec())
            }
            #[cfg(feature = "ecdsa")]
            Secret::P256(k) => {
                use p256::ecdsa::signature::Signer;
                let s: p256::ecdsa::Signature =
                    k.try_sign(message).map_err(|_| KeyError::Signing)?;
                Ok(s.to_bytes().to_vec())
            }
            #[cfg(feature = "ecdsa")]
            Secret::P384(k) => {
                use p384::ecdsa::signature::Signer;
                let s: p384::ecdsa::Signature =
                    k.try_sign(message).map_err(|_| KeyError::Signing)?;
                Ok(s.to_bytes().to_vec())
            }
            #[cfg(feature = "rsa")]
            Secret::Rsa(k, Algorithm::RsaPssSha512) => {
                use rsa::signature::{RandomizedSigner, SignatureEncoding};
                let signer = rsa::pss::SigningKey::<sha2::Sha512>::new((**k).clone());
                signer
                    .try_sign_with_rng(rng, message)
                    .map(|s| s.to_vec())
                    .map_err(|_| KeyError::Signing)
            }
            #[cfg(feature = "rsa")]
            Secret::Rsa(k, _) => {
                use rsa::signature::{SignatureEncoding, Signer};
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
                signer
                    .try_sign(message)
                    .map(|s| s.to_vec())
                    .map_err(|_| KeyError::Signing)
            }
            #[cfg(feature = "hmac")]
            Secret::Hmac(secret) => {
                use hmac::Mac;
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
                    .map_err(|_| KeyError::Signing)?;
                mac.update(message);
                Ok(mac.finalize().into_bytes().to_vec())
            }
        }
    }

    /// The private key as a JWK (`kid` = thumbprint). Handle the result as a secret.
    pub fn to_private_jwk(&self) -> Jwk {
        let mut jwk = self.public.to_jwk();
        match &self.inner {
            Secret::Ed25519(k) => jwk.d = Some(b64(&zeroize::Zeroizing::new(k.to_bytes())[..])),
            #[cfg(feature = "ecdsa")]
            Secret::P256(k) => jwk.d = Some(b64(&k.to_bytes())),
            #[cfg(feature = "ecdsa")]
            Secret::P384(k) => jwk.d = Some(b64(&k.to_bytes())),
            #[cfg(feature = "rsa")]
            Secret::Rsa(k, _) => {
                use rsa::traits::PrivateKeyParts;
                jwk.d = Some(b64(&k.d().to_bytes_be()));
                if let [p, q] = k.primes() {
                    jwk.p = Some(b64(&p.to_bytes_be()));
                    jwk.q = Some(b64(&q.to_bytes_be()));
                }
                if let (Some(dp), Some(dq)) = (k.dp(), k.dq()) {
                    jwk.dp = Some(b64(&dp.to_bytes_be()));
                    jwk.dq = Some(b64(&dq.to_bytes_be()));
                }
                if let Some(qi) = k.qinv() {
                    let (_, bytes) = qi.to_bytes_be();
                    jwk.qi = Some(b64(&bytes));
                }
            }
            #[cfg(feature = "hmac")]
            Secret::Hmac(_) => {}
        }
        jwk
    }
}
