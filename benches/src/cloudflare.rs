//! Cloudflare's `web-bot-auth` 0.7 (crates.io), driven over an `http::Request`.
//!
//! That crate is framework-agnostic: the caller implements [`SignedMessage`], which looks up
//! every covered component, the `;key` member of a dictionary field included (the crate only
//! hands over the `Key` parameter), and also returns the raw `Signature-Input`, `Signature` and
//! `Signature-Agent` fields. [`Message`] is that glue, written the way an integrator would.
//!
//! Its `verify` does not look at `created`/`expires` (that is a separate advisory tied to the
//! wall clock), so [`Cloudflare::verify`] checks them against a given time, as our verifier's
//! pinned clock does.

use cf_sfv::SerializeValue as _;
use cf_web_bot_auth::WebBotAuthVerifier;
use cf_web_bot_auth::components::{
    CoveredComponent, DerivedComponent, HTTPField, HTTPFieldParameters,
};
use cf_web_bot_auth::keyring::{Algorithm, KeyRing};
use cf_web_bot_auth::message_signatures::{SignatureBase, SignedMessage};

use crate::fixtures::{KEYID, PUBLIC_KEY};

/// An `http::Request` as Cloudflare's crate sees it.
#[derive(Debug)]
pub struct Message<'a, B>(pub &'a http::Request<B>);

impl<B> Message<'_, B> {
    fn field(&self, name: &str, key: Option<&str>) -> Vec<String> {
        let values = self
            .0
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok());
        match key {
            None => values.map(str::to_owned).collect(),
            // RFC 9421 §2.1.2: parse the field as a dictionary and serialize the member.
            Some(key) => values
                .filter_map(|v| cf_sfv::Parser::new(v).parse_dictionary().ok())
                .filter_map(|dict| dict.get(key).cloned())
                .filter_map(|entry| vec![entry].serialize_value())
                .collect(),
        }
    }

    fn derived(&self, component: &DerivedComponent) -> Option<String> {
        let req = self.0;
        let uri = req.uri();
        match component {
            // Like our `RequestView::from_http`: the URI's authority, else the `Host` field.
            DerivedComponent::Authority { .. } => uri
                .authority()
                .map(|a| a.as_str())
                .or_else(|| {
                    req.headers()
                        .get(http::header::HOST)
                        .and_then(|h| h.to_str().ok())
                })
                .map(str::to_ascii_lowercase),
            DerivedComponent::Method { .. } => Some(req.method().as_str().to_owned()),
            DerivedComponent::Path { .. } => Some(uri.path().to_owned()),
            DerivedComponent::Query { .. } => Some(format!("?{}", uri.query().unwrap_or(""))),
            DerivedComponent::Scheme { .. } => uri.scheme_str().map(str::to_ascii_lowercase),
            DerivedComponent::TargetUri { .. } => Some(uri.to_string()),
            DerivedComponent::RequestTarget { .. } => uri.path_and_query().map(|p| p.to_string()),
            _ => None,
        }
    }
}

impl<B> SignedMessage for Message<'_, B> {
    fn lookup_component(&self, component: &CoveredComponent) -> Vec<String> {
        match component {
            CoveredComponent::HTTP(HTTPField { name, parameters }) => {
                let key = parameters.0.iter().find_map(|p| match p {
                    HTTPFieldParameters::Key(k) => Some(k.as_str()),
                    _ => None,
                });
                self.field(name, key)
            }
            CoveredComponent::Derived(d) => self.derived(d).into_iter().collect(),
        }
    }
}

/// Cloudflare's verifier with the test key in its key ring.
#[derive(Debug)]
pub struct Cloudflare {
    keyring: KeyRing,
}

impl Default for Cloudflare {
    fn default() -> Self {
        Self::new()
    }
}

impl Cloudflare {
    /// A key ring holding the test key under its keyid.
    pub fn new() -> Self {
        let mut keyring = KeyRing::default();
        keyring.import_raw(KEYID.to_owned(), Algorithm::Ed25519, PUBLIC_KEY.to_vec());
        Cloudflare { keyring }
    }

    /// Full Web Bot Auth verification: `WebBotAuthVerifier::parse` (fields, label selection by
    /// the profile's rules, `Signature-Agent`, component lookup), the validity window at `now`,
    /// then `verify` (key lookup, base serialization, Ed25519).
    pub fn verify<B>(&self, req: &http::Request<B>, now: u64) -> Result<(), String> {
        let verifier = WebBotAuthVerifier::parse(&Message(req)).map_err(|e| e.to_string())?;
        let details = &verifier.get_parsed_label().base.parameters.details;
        let now = i64::try_from(now).map_err(|e| e.to_string())?;
        if details.expires.is_some_and(|e| e < now) || details.created.is_some_and(|c| c > now) {
            return Err("outside its validity window".into());
        }
        verifier
            .verify(&self.keyring, None)
            .map(|_timing| ())
            .map_err(|e| e.to_string())
    }

    /// Parse + base: `WebBotAuthVerifier::parse`, then the base serialized as `verify` does.
    pub fn parse_and_base<B>(&self, req: &http::Request<B>) -> Result<String, String> {
        let verifier = WebBotAuthVerifier::parse(&Message(req)).map_err(|e| e.to_string())?;
        base_to_ascii(&verifier.get_parsed_label().base)
    }
}

/// The signature base as Cloudflare's crate serializes it. Its own serializer
/// (`SignatureBase::into_ascii`) is private in 0.7; this follows it step by step through the
/// public API, borrowing instead of consuming the base.
pub fn base_to_ascii(base: &SignatureBase) -> Result<String, String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut items: Vec<cf_sfv::Item> = Vec::with_capacity(base.components.len());
    for (component, value) in &base.components {
        let item = match component.clone() {
            CoveredComponent::HTTP(h) => cf_sfv::Item::try_from(h),
            CoveredComponent::Derived(d) => cf_sfv::Item::try_from(d),
        }
        .map_err(|e| e.to_string())?;
        let _ = writeln!(out, "{}: {}", item.serialize_value(), value);
        items.push(item);
    }
    let params_line = vec![cf_sfv::ListEntry::InnerList(
        cf_sfv::InnerList::with_params(items, base.parameters.raw.clone()),
    )]
    .serialize_value()
    .ok_or("@signature-params does not serialize")?;
    let _ = write!(out, "\"@signature-params\": {params_line}");
    if out.is_ascii() {
        Ok(out)
    } else {
        Err("base is not ASCII".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{NOW, PUBLISHED, REORDERED, request_with};

    #[test]
    fn verifies_both_vectors() {
        let cf = Cloudflare::new();
        for v in [PUBLISHED, REORDERED] {
            cf.verify(&v.request(), NOW)
                .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        }
    }

    #[test]
    fn parse_and_base_builds_the_expected_base() {
        let cf = Cloudflare::new();
        for v in [PUBLISHED, REORDERED] {
            assert_eq!(
                cf.parse_and_base(&v.request()).unwrap(),
                v.base,
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn rejects_a_tampered_agent_and_an_expired_signature() {
        let cf = Cloudflare::new();
        let req = request_with(
            r#"agent2="https://evil.test""#,
            PUBLISHED.signature_input,
            PUBLISHED.signature,
        );
        assert!(cf.verify(&req, NOW).is_err());
        assert!(cf.verify(&PUBLISHED.request(), 4_889_289_601).is_err());
    }
}
