//! PEM key documents: SPKI, PKCS#8, PKCS#1 (RSA) and SEC1 (EC).

use pkcs8::ObjectIdentifier;
use pkcs8::der::pem;

use super::{Public, Secret, SigningKey, VerifyingKey};
use crate::alg::Algorithm;
use crate::error::KeyError;

const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// Largest PEM document read.
const MAX_PEM_BYTES: usize = 64 * 1024;

/// The PEM blocks of a text, as (label, DER).
fn blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, KeyError> {
    if text.len() > MAX_PEM_BYTES {
        return Err(KeyError::Pem(format!(
            "document larger than {MAX_PEM_BYTES} bytes"
        )));
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let tail = rest.get(start..).unwrap_or("");
        let label_end = tail
            .get(11..)
            .and_then(|t| t.find("-----"))
            .ok_or_else(|| KeyError::Pem("unterminated BEGIN line".into()))?;
        let label = tail.get(11..11 + label_end).unwrap_or("");
        let end_marker = format!("-----END {label}-----");
        let end = tail
            .find(&end_marker)
            .ok_or_else(|| KeyError::Pem(format!("no END line for {label}")))?;
        let block = tail.get(..end + end_marker.len()).unwrap_or("");
        let (label, der) =
            pem::decode_vec(block.as_bytes()).map_err(|e| KeyError::Pem(e.to_string()))?;
        out.push((label.to_owned(), der));
        rest = tail.get(end + end_marker.len()..).unwrap_or("");
    }
    if out.is_empty() {
        return Err(KeyError::Pem("no PEM block found".into()));
    }
    Ok(out)
}

fn rsa_alg_for(oid: ObjectIdentifier, alg: Option<Algorithm>) -> Result<Algorithm, KeyError> {
    if oid == RSASSA_PSS {
        match alg {
            None | Some(Algorithm::RsaPssSha512) => Ok(Algorithm::RsaPssSha512),
            Some(a) => Err(KeyError::AlgorithmMismatch {
                key: Algorithm::RsaPssSha512.name(),
                requested: a.name(),
            }),
        }
    } else {
        super::rsa_alg(alg)
    }
}

fn unsupported(what: &str) -> KeyError {
    KeyError::Unsupported(format!("{what} (or its cargo feature is off)"))
}

fn public_from_spki(der: &[u8], alg: Option<Algorithm>) -> Result<VerifyingKey, KeyError> {
    let spki = spki::SubjectPublicKeyInfoRef::try_from(der)
        .map_err(|e| KeyError::Pem(format!("SubjectPublicKeyInfo: {e}")))?;
    let oid = spki.algorithm.oid;
    let key = if oid == ED25519 {
        use spki::DecodePublicKey;
        let k = ed25519_dalek::VerifyingKey::from_public_key_der(der)
            .map_err(|e| KeyError::Invalid(e.to_string()))?;
        VerifyingKey::from_inner(Public::Ed25519(k))
    } else if oid == EC_PUBLIC_KEY {
        ec_public(der)?
    } else if oid == RSA_ENCRYPTION || oid == RSASSA_PSS {
        rsa_public(spki.subject_public_key.raw_bytes(), rsa_alg_for(oid, alg)?)?
    } else {
        return Err(unsupported(&format!("key algorithm {oid}")));
    };
    super::check_alg(key.algorithm(), alg)?;
    Ok(key)
}

#[cfg(feature = "ecdsa")]
fn ec_public(der: &[u8]) -> Result<VerifyingKey, KeyError> {
    use spki::DecodePublicKey;
    if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
        return Ok(VerifyingKey::from_inner(Public::P256(k)));
    }
    p384::ecdsa::VerifyingKey::from_public_key_der(der)
        .map(|k| VerifyingKey::from_inner(Public::P384(k)))
        .map_err(|_| unsupported("EC curve"))
}

#[cfg(not(feature = "ecdsa"))]
fn ec_public(_der: &[u8]) -> Result<VerifyingKey, KeyError> {
    Err(unsupported("EC key"))
}

#[cfg(feature = "rsa")]
fn rsa_public(pkcs1: &[u8], alg: Algorithm) -> Result<VerifyingKey, KeyError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    let key =
        rsa::RsaPublicKey::from_pkcs1_der(pkcs1).map_err(|e| KeyError::Invalid(e.to_string()))?;
    super::check_rsa_size(&key)?;
    Ok(VerifyingKey::rsa(key, alg))
}

#[cfg(not(feature = "rsa"))]
fn rsa_public(_pkcs1: &[u8], _alg: Algorithm) -> Result<VerifyingKey, KeyError> {
    Err(unsupported("RSA key"))
}

fn private_from_pkcs8(der: &[u8], alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
    let info = pkcs8::PrivateKeyInfo::try_from(der)
        .map_err(|e| KeyError::Pem(format!("PrivateKeyInfo: {e}")))?;
    let oid = info.algorithm.oid;
    let key = if oid == ED25519 {
        use pkcs8::DecodePrivateKey;
        let k = ed25519_dalek::SigningKey::from_pkcs8_der(der)
            .map_err(|e| KeyError::Invalid(e.to_string()))?;
        SigningKey::from_secret(Secret::Ed25519(k))
    } else if oid == EC_PUBLIC_KEY {
        ec_private_pkcs8(der)?
    } else if oid == RSA_ENCRYPTION || oid == RSASSA_PSS {
        rsa_private(info.private_key, rsa_alg_for(oid, alg)?)?
    } else {
        return Err(unsupported(&format!("key algorithm {oid}")));
    };
    super::check_alg(key.algorithm(), alg)?;
    Ok(key)
}

#[cfg(feature = "ecdsa")]
fn ec_private_pkcs8(der: &[u8]) -> Result<SigningKey, KeyError> {
    use pkcs8::DecodePrivateKey;
    if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
        return Ok(SigningKey::from_secret(Secret::P256(k)));
    }
    p384::ecdsa::SigningKey::from_pkcs8_der(der)
        .map(|k| SigningKey::from_secret(Secret::P384(k)))
        .map_err(|_| unsupported("EC curve"))
}

#[cfg(feature = "ecdsa")]
fn ec_private_sec1(der: &[u8]) -> Result<SigningKey, KeyError> {
    if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
        return Ok(SigningKey::from_secret(Secret::P256(k.into())));
    }
    p384::SecretKey::from_sec1_der(der)
        .map(|k| SigningKey::from_secret(Secret::P384(k.into())))
        .map_err(|_| unsupported("EC curve"))
}

#[cfg(not(feature = "ecdsa"))]
fn ec_private_pkcs8(_der: &[u8]) -> Result<SigningKey, KeyError> {
    Err(unsupported("EC key"))
}

#[cfg(not(feature = "ecdsa"))]
fn ec_private_sec1(_der: &[u8]) -> Result<SigningKey, KeyError> {
    Err(unsupported("EC key"))
}

#[cfg(feature = "rsa")]
fn rsa_private(pkcs1: &[u8], alg: Algorithm) -> Result<SigningKey, KeyError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let key =
        rsa::RsaPrivateKey::from_pkcs1_der(pkcs1).map_err(|e| KeyError::Invalid(e.to_string()))?;
    super::check_rsa_size(&key.to_public_key())?;
    Ok(SigningKey::from_secret(Secret::Rsa(Box::new(key), alg)))
}

#[cfg(not(feature = "rsa"))]
fn rsa_private(_pkcs1: &[u8], _alg: Algorithm) -> Result<SigningKey, KeyError> {
    Err(unsupported("RSA key"))
}

fn private_block(
    label: &str,
    der: &[u8],
    alg: Option<Algorithm>,
) -> Option<Result<SigningKey, KeyError>> {
    match label {
        "PRIVATE KEY" => Some(private_from_pkcs8(der, alg)),
        "RSA PRIVATE KEY" => Some(super::rsa_alg(alg).and_then(|a| rsa_private(der, a))),
        "EC PRIVATE KEY" => Some(ec_private_sec1(der).and_then(|k| {
            super::check_alg(k.algorithm(), alg)?;
            Ok(k)
        })),
        _ => None,
    }
}

pub(super) fn signing_key(text: &str, alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
    for (label, der) in blocks(text)? {
        let der = zeroize::Zeroizing::new(der);
        if let Some(result) = private_block(&label, &der, alg) {
            return result;
        }
    }
    Err(KeyError::NotPrivate)
}

pub(super) fn verifying_key(text: &str, alg: Option<Algorithm>) -> Result<VerifyingKey, KeyError> {
    let all = blocks(text)?;
    for (label, der) in &all {
        match label.as_str() {
            "PUBLIC KEY" => return public_from_spki(der, alg),
            "RSA PUBLIC KEY" => return super::rsa_alg(alg).and_then(|a| rsa_public(der, a)),
            _ => {}
        }
    }
    for (label, der) in all {
        let der = zeroize::Zeroizing::new(der);
        if let Some(result) = private_block(&label, &der, alg) {
            return result.map(|k| k.verifying_key().clone());
        }
    }
    Err(KeyError::Pem("no key block found".into()))
}
