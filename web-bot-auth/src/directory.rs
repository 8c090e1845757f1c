//! The key directory a bot publishes at `/.well-known/http-message-signatures-directory`: a
//! JWKS served as `application/http-message-signatures-directory+json`, optionally signed to
//! prove possession of its keys (tag `http-message-signatures-directory`, covering
//! `"@authority";req` and `content-digest`).

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::component::{ComponentIdentifier, DerivedComponent};
use crate::digest::{DigestAlgorithm, content_digest, verify_content_digest};
use crate::error::{FailureReason, KeyError, VerifyError};
use crate::field::FieldTypes;
use crate::fields::{SignatureFields, signature_entries};
use crate::keys::{Jwk, MAX_JWK_BYTES, SigningKey, VerifyingKey};
use crate::message::{FieldSource, MessageView, NoFields, RequestView, ResponseView};
use crate::params::SignatureParams;
use crate::sign::{SignError, Signer};
use crate::verify::{check_signature, check_time};

/// The well-known path of a key directory.
pub const DIRECTORY_PATH: &str = "/.well-known/http-message-signatures-directory";

/// The media type of a key directory.
pub const DIRECTORY_MEDIA_TYPE: &str = "application/http-message-signatures-directory+json";

/// The `tag` of a directory response signature.
pub const DIRECTORY_TAG: &str = "http-message-signatures-directory";

/// Most keys read from one directory.
pub const MAX_DIRECTORY_KEYS: usize = 64;

/// A key directory: a JSON Web Key Set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyDirectory {
    /// The keys, as published.
    pub keys: Vec<Jwk>,
}

/// A directory key that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedKey {
    /// Position in `keys`.
    pub index: usize,
    /// The key's `kid`, if any.
    pub kid: Option<String>,
    /// Why it was left out.
    pub reason: String,
}

impl KeyDirectory {
    /// Parses a directory body. Bounded in size and key count.
    pub fn parse(body: &[u8]) -> Result<Self, KeyError> {
        if body.len() > MAX_JWK_BYTES {
            return Err(KeyError::Invalid(format!(
                "directory larger than {MAX_JWK_BYTES} bytes"
            )));
        }
        let dir: KeyDirectory = serde_json::from_slice(body).map_err(|e| KeyError::json(&e))?;
        if dir.keys.len() > MAX_DIRECTORY_KEYS {
            return Err(KeyError::Invalid(format!(
                "more than {MAX_DIRECTORY_KEYS} keys"
            )));
        }
        if dir.keys.iter().any(Jwk::is_private) {
            return Err(KeyError::Invalid(
                "directory publishes private key material".into(),
            ));
        }
        Ok(dir)
    }

    /// A directory publishing the public parts of `keys`, each with `kid` = thumbprint and
    /// `use` = `sig`.
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a VerifyingKey>) -> Self {
        KeyDirectory {
            keys: keys
                .into_iter()
                .filter(|k| !k.algorithm().is_symmetric())
                .map(|k| {
                    let mut jwk = k.to_jwk();
                    jwk.key_use = Some("sig".into());
                    jwk
                })
                .collect(),
        }
    }

    /// The body to serve (compact JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The usable keys at `now`: each must be a supported public signing key whose `kid` is its
    /// RFC 7638 thumbprint, inside its `nbf`/`exp` when present. Others are returned as rejected.
    pub fn verifying_keys(&self, now: u64) -> (Vec<VerifyingKey>, Vec<RejectedKey>) {
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for (index, jwk) in self.keys.iter().enumerate() {
            match Self::check_key(jwk, now) {
                Ok(k) => good.push(k),
                Err(reason) => bad.push(RejectedKey {
                    index,
                    kid: jwk.kid.clone(),
                    reason,
                }),
            }
        }
        (good, bad)
    }

    fn check_key(jwk: &Jwk, now: u64) -> Result<VerifyingKey, String> {
        let time = |name: &str| jwk.other.get_u64(name);
        if time("nbf").is_some_and(|nbf| nbf > now) {
            return Err("not yet valid (nbf)".into());
        }
        if time("exp").is_some_and(|exp| exp <= now) {
            return Err("expired (exp)".into());
        }
        if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
            return Err("use is not sig".into());
        }
        let key = VerifyingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        if key.algorithm().is_symmetric() {
            return Err("symmetric keys cannot be published".into());
        }
        match &jwk.kid {
            Some(kid) if kid == key.thumbprint() => Ok(key),
            Some(_) => Err("kid is not the key's JWK thumbprint".into()),
            None => Err("kid is missing".into()),
        }
    }
}

/// The request that fetched a directory from `authority` (what `"@authority";req` covers).
fn directory_request(authority: &str) -> RequestView<'_> {
    RequestView {
        method: "GET",
        scheme: "https",
        authority,
        path: DIRECTORY_PATH,
        query: None,
        request_target: None,
        headers: &NoFields,
        trailers: &NoFields,
    }
}

/// The fields of a signed directory response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDirectory {
    /// The body to send, byte for byte.
    pub body: String,
    /// `Content-Digest` value.
    pub content_digest: String,
    /// `Signature-Input` value.
    pub signature_input: String,
    /// `Signature` value.
    pub signature: String,
}

/// Signs a directory response: `body` as it will be sent, `authority` of the request that
/// fetched it, validity `created..expires`. The key must be one the directory publishes.
pub fn sign_directory(
    body: &str,
    key: &SigningKey,
    authority: &str,
    created: u64,
    expires: u64,
    label: &str,
) -> Result<SignedDirectory, SignError> {
    let digest = content_digest(body.as_bytes(), &[DigestAlgorithm::Sha256]);
    let params = directory_params(key.thumbprint(), created, expires)?;
    let headers = vec![("content-digest", digest.as_bytes())];
    let request = directory_request(authority);
    let view = MessageView::Response(
        ResponseView {
            status: 200,
            headers: &headers,
            trailers: &NoFields,
        },
        Some(request),
    );
    let SignatureFields {
        signature_input,
        signature,
        ..
    } = Signer::new(key).sign(&view, label, &params)?;
    Ok(SignedDirectory {
        body: body.to_owned(),
        content_digest: digest,
        signature_input,
        signature,
    })
}

fn directory_params(
    keyid: &str,
    created: u64,
    expires: u64,
) -> Result<SignatureParams, crate::error::ParamsError> {
    SignatureParams::builder()
        .component(ComponentIdentifier::derived(DerivedComponent::Authority).with_req())
        .component(
            ComponentIdentifier::field("content-digest")
                .map_err(|reason| crate::error::ParamsError::BadComponent { index: 1, reason })?,
        )
        .created(created)
        .expires(expires)
        .keyid(keyid)
        .tag(DIRECTORY_TAG)
        .build()
}

/// A directory response whose signature checked out.
#[derive(Debug, Clone)]
pub struct VerifiedDirectory {
    /// The directory.
    pub directory: KeyDirectory,
    /// Its usable keys.
    pub keys: Vec<VerifyingKey>,
    /// The key that signed the response.
    pub signed_by: String,
}

/// Verifies a signed directory response fetched from `authority`: the `content-digest` must
/// match `body`, and a signature tagged `http-message-signatures-directory`, covering
/// `"@authority";req` and `content-digest`, inside its validity window (with `skew`), must
/// verify with a key the directory itself publishes.
pub fn verify_directory_response(
    headers: &dyn FieldSource,
    body: &[u8],
    authority: &str,
    clock: &dyn Clock,
    skew: u64,
) -> Result<VerifiedDirectory, VerifyError> {
    let fail = |m: &str| VerifyError::from(FailureReason::Profile(m.to_owned()));
    let directory = KeyDirectory::parse(body).map_err(|e| fail(&e.to_string()))?;
    let now = clock.now_unix();
    let (keys, _rejected) = directory.verifying_keys(now);
    let entries = signature_entries(headers).map_err(|e| fail(&e.to_string()))?;
    let request = directory_request(authority);
    let view = MessageView::Response(
        ResponseView {
            status: 200,
            headers,
            trailers: &NoFields,
        },
        Some(request),
    );
    let required = [
        ComponentIdentifier::derived(DerivedComponent::Authority).with_req(),
        ComponentIdentifier::field("content-digest").map_err(|e| fail(&e))?,
    ];
    let mut last = fail("no directory signature");
    for entry in &entries {
        let Ok(params) = entry.params() else { continue };
        if params.tag() != Some(DIRECTORY_TAG) {
            continue;
        }
        let result = (|| {
            let signature = entry
                .signature()
                .map_err(|e| VerifyError::from(e.clone()))?;
            if !required.iter().all(|c| params.covers(c)) {
                return Err(fail("must cover \"@authority\";req and content-digest"));
            }
            let (Some(keyid), Some(_), Some(_)) =
                (params.keyid(), params.created(), params.expires())
            else {
                return Err(fail("keyid, created and expires are required"));
            };
            check_time(params, now, skew)?;
            let mut digest = String::new();
            headers.for_each_value("content-digest", &mut |v| {
                if digest.is_empty() {
                    digest = String::from_utf8_lossy(v).into_owned();
                }
            });
            verify_content_digest(&digest, body).map_err(|e| fail(&e.to_string()))?;
            let key = keys
                .iter()
                .find(|k| k.thumbprint() == keyid)
                .ok_or_else(|| VerifyError::from(FailureReason::UnknownKey(keyid.to_owned())))?;
            check_signature(&view, params, signature, key, &FieldTypes::default())?;
            Ok(keyid.to_owned())
        })();
        match result {
            Ok(signed_by) => {
                return Ok(VerifiedDirectory {
                    directory,
                    keys,
                    signed_by,
                });
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
