//! Reading key files: a JWK (the text starts with `{`) or a PEM document.
//!
//! RSA keys whose algorithm the file does not state (a PEM `RSA PUBLIC KEY` or
//! `RSA PRIVATE KEY`, an SPKI/PKCS#8 key marked rsaEncryption, a JWK without `alg`) are loaded
//! for both RSA algorithms when verifying, and as `rsa-pss-sha512` when signing or publishing.

use web_bot_auth::alg::Algorithm;
use web_bot_auth::directory::KeyDirectory;
use web_bot_auth::error::KeyError;
use web_bot_auth::keys::{Jwk, MAX_JWK_BYTES, SigningKey, VerifyingKey};

use crate::output::{CliError, read_text, warn};

/// Largest key file read.
const MAX_KEY_FILE_BYTES: usize = MAX_JWK_BYTES;

/// The algorithm assumed for an RSA key that does not state one, when one key must be chosen.
pub const DEFAULT_RSA_ALG: Algorithm = Algorithm::RsaPssSha512;

/// The order in which the RSA algorithms are tried for a key that does not state one.
const RSA_ALGS: [Algorithm; 2] = [Algorithm::RsaPssSha512, Algorithm::RsaV15Sha256];

/// A key file's contents.
enum KeyText {
    Jwk(Box<Jwk>),
    Pem(zeroize::Zeroizing<String>),
}

fn read_key_text(path: &str) -> Result<KeyText, CliError> {
    let text = zeroize::Zeroizing::new(read_text(path, MAX_KEY_FILE_BYTES)?);
    if text.trim_start().starts_with('{') {
        Jwk::from_json(&text)
            .map(|jwk| KeyText::Jwk(Box::new(jwk)))
            .map_err(|e| CliError::at(path, format_args!("JWK: {e}")))
    } else if text.contains("-----BEGIN ") {
        Ok(KeyText::Pem(text))
    } else {
        Err(CliError::at(
            path,
            "neither a JWK (JSON object) nor a PEM document",
        ))
    }
}

/// A key given on the command line to verify with.
#[derive(Debug, Clone)]
pub struct LoadedKey {
    /// The JWK `kid`, when the file is a JWK that has one.
    pub kid: Option<String>,
    /// The key, once per algorithm it may be used with (two for an RSA key of unstated
    /// algorithm: `rsa-pss-sha512` first, then `rsa-v1_5-sha256`).
    pub variants: Vec<VerifyingKey>,
}

impl LoadedKey {
    /// The RFC 7638 thumbprint (the same for every variant).
    pub fn thumbprint(&self) -> &str {
        self.variants.first().map_or("", |k| k.thumbprint())
    }

    /// Whether `keyid` names this key: its thumbprint or its JWK `kid`.
    pub fn is_named(&self, keyid: &str) -> bool {
        self.thumbprint() == keyid || self.kid.as_deref() == Some(keyid)
    }

    /// The variants usable for a signature whose `alg` parameter is `alg` (all of them when
    /// `alg` is absent or unknown, so that the verifier reports the mismatch).
    pub fn fitting(&self, alg: Option<&str>) -> Vec<VerifyingKey> {
        match alg.and_then(Algorithm::from_name) {
            Some(a) => self
                .variants
                .iter()
                .filter(|k| k.algorithm() == a)
                .cloned()
                .collect(),
            None => self.variants.clone(),
        }
    }
}

/// Loads a key once, or once per RSA algorithm when the key does not state its own.
fn per_alg(
    load: impl Fn(Option<Algorithm>) -> Result<VerifyingKey, KeyError>,
) -> Result<Vec<VerifyingKey>, KeyError> {
    match load(None) {
        Ok(k) => Ok(vec![k]),
        Err(KeyError::AmbiguousRsa) => RSA_ALGS.iter().map(|a| load(Some(*a))).collect(),
        Err(e) => Err(e),
    }
}

/// Reads a public or private key file (JWK or PEM) for verification; only the public part is
/// kept (an `oct` JWK is an HMAC secret).
pub fn load_verifying(path: &str) -> Result<LoadedKey, CliError> {
    let (kid, variants) = match read_key_text(path)? {
        KeyText::Jwk(jwk) => (
            jwk.kid.clone(),
            per_alg(|alg| VerifyingKey::from_jwk_with_alg(&jwk, alg)),
        ),
        KeyText::Pem(text) => (None, per_alg(|alg| VerifyingKey::from_pem(&text, alg))),
    };
    let variants = variants.map_err(|e| CliError::at(path, e))?;
    Ok(LoadedKey { kid, variants })
}

/// Reads a key file and returns the one key it holds: an RSA key of unstated algorithm is taken
/// as [`DEFAULT_RSA_ALG`].
pub fn load_one_verifying(path: &str) -> Result<VerifyingKey, CliError> {
    let loaded = load_verifying(path)?;
    loaded
        .variants
        .iter()
        .find(|k| loaded.variants.len() == 1 || k.algorithm() == DEFAULT_RSA_ALG)
        .cloned()
        .ok_or_else(|| CliError::at(path, "no usable key"))
}

/// Reads a private key file (JWK or PEM) for signing; an RSA key of unstated algorithm signs
/// with [`DEFAULT_RSA_ALG`].
pub fn load_signing(path: &str) -> Result<SigningKey, CliError> {
    let result = match read_key_text(path)? {
        KeyText::Jwk(jwk) => match SigningKey::from_jwk(&jwk) {
            Err(KeyError::AmbiguousRsa) => {
                SigningKey::from_jwk_with_alg(&jwk, Some(DEFAULT_RSA_ALG))
            }
            other => other,
        },
        KeyText::Pem(text) => match SigningKey::from_pem(&text, None) {
            Err(KeyError::AmbiguousRsa) => SigningKey::from_pem(&text, Some(DEFAULT_RSA_ALG)),
            other => other,
        },
    };
    result.map_err(|e| CliError::at(path, e))
}

/// Reads a JWKS (key directory) file: its usable keys at `now`. Keys the directory rules
/// leave out are reported as warnings.
pub fn load_jwks(path: &str, now: u64) -> Result<Vec<LoadedKey>, CliError> {
    let text = read_text(path, MAX_KEY_FILE_BYTES)?;
    let directory = KeyDirectory::parse(text.as_bytes())
        .map_err(|e| CliError::at(path, format_args!("JWKS: {e}")))?;
    let (keys, rejected) = directory.verifying_keys(now);
    for r in &rejected {
        let kid = r
            .kid
            .as_deref()
            .map(|k| format!(" (kid {k:?})"))
            .unwrap_or_default();
        warn(format_args!(
            "{path}: key {}{kid} skipped: {}",
            r.index, r.reason
        ));
    }
    Ok(keys
        .into_iter()
        .map(|k| LoadedKey {
            kid: Some(k.thumbprint().to_owned()),
            variants: vec![k],
        })
        .collect())
}
