//! `verify --profile rfc9421`: plain RFC 9421 signatures, whose `keyid` is a free-form name.
//!
//! For each signature, the candidate keys are the given keys whose thumbprint or JWK `kid`
//! equals the `keyid`; when none is named so, the one given key that fits the signature's `alg`
//! (if there is exactly one: the operator named it explicitly). A key whose algorithm is not
//! stated (RSA) is tried with the `alg` parameter, else with `rsa-pss-sha512` and then
//! `rsa-v1_5-sha256`; the first candidate that verifies wins.

use web_bot_auth::clock::ManualClock;
use web_bot_auth::fields::{SignatureEntry, signature_entries};
use web_bot_auth::keys::VerifyingKey;
use web_bot_auth::message::MessageView;
use web_bot_auth::verify::{KeyQuery, KeyResolver, Verifier};

use crate::keyfile::LoadedKey;
use crate::verify::Report;

/// A resolver holding the one candidate key being tried.
struct Candidate(VerifyingKey);

impl KeyResolver for Candidate {
    fn resolve(&self, _query: &KeyQuery<'_>) -> Option<VerifyingKey> {
        Some(self.0.clone())
    }
}

/// The keys to try for a signature with this `keyid` and `alg`, in order.
fn candidates(keys: &[LoadedKey], keyid: &str, alg: Option<&str>) -> Vec<VerifyingKey> {
    let fitting: Vec<(&LoadedKey, Vec<VerifyingKey>)> = keys
        .iter()
        .map(|k| (k, k.fitting(alg)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let named: Vec<VerifyingKey> = fitting
        .iter()
        .filter(|(k, _)| k.is_named(keyid))
        .flat_map(|(_, v)| v.iter().cloned())
        .collect();
    if !named.is_empty() {
        return named;
    }
    match fitting.as_slice() {
        [(_, only)] => only.clone(),
        _ => Vec::new(),
    }
}

fn verify_entry(
    view: &MessageView<'_>,
    entry: &SignatureEntry,
    keys: &[LoadedKey],
    now: u64,
    skew: u64,
) -> Report {
    let label = Some(entry.label().to_owned());
    let params = match entry.params() {
        Ok(p) => p,
        Err(e) => return Report::invalid(label, None, None, e.to_string()),
    };
    let alg = params.alg();
    let alg_owned = alg.map(str::to_owned);
    let Some(keyid) = params.keyid() else {
        return Report::unverified(
            label,
            None,
            alg_owned,
            "the signature has no keyid".to_owned(),
        );
    };
    let keyid_owned = Some(keyid.to_owned());
    let candidates = candidates(keys, keyid, alg);
    if candidates.is_empty() {
        let for_alg = alg.map(|a| format!(" for {a}")).unwrap_or_default();
        return Report::unverified(
            label,
            keyid_owned,
            alg_owned,
            format!("no key given fits keyid `{keyid}`{for_alg}"),
        );
    }
    let mut first_error = None;
    for key in candidates {
        let verifier = Verifier::new(Candidate(key))
            .with_clock(ManualClock::new(now))
            .with_skew(skew);
        match verifier.verify_entry(view, entry) {
            Ok(verified) => {
                return Report {
                    label,
                    outcome: "verified",
                    keyid: keyid_owned,
                    alg: Some(verified.key.algorithm().name().to_owned()),
                    agent: None,
                    reason: None,
                };
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let reason = first_error
        .map(|e| e.reason().to_string())
        .unwrap_or_default();
    Report::invalid(label, keyid_owned, alg_owned, reason)
}

/// Verifies every signature of the message on its own.
pub fn reports(view: &MessageView<'_>, keys: &[LoadedKey], now: u64, skew: u64) -> Vec<Report> {
    match signature_entries(view.headers()) {
        Ok(entries) => entries
            .iter()
            .map(|entry| verify_entry(view, entry, keys, now, skew))
            .collect(),
        Err(e) => vec![Report::invalid(None, None, None, e.to_string())],
    }
}
