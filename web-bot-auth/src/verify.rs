//! Verification (RFC 9421 §3.2): each signature on its own, with a key from a [`KeyResolver`].

use std::collections::HashMap;

use crate::alg::Algorithm;
use crate::base::SignatureBase;
use crate::clock::{Clock, SystemClock};
use crate::error::{FailureReason, ParseError, VerifyError};
use crate::field::FieldTypes;
use crate::fields::{SignatureEntry, signature_entries};
use crate::keys::VerifyingKey;
use crate::message::MessageView;
use crate::params::SignatureParams;

/// What a verifier knows about the key a signature asks for.
#[derive(Debug, Clone, Copy)]
pub struct KeyQuery<'a> {
    /// The signature agent (Web Bot Auth `Signature-Agent` URL), when there is one.
    pub agent: Option<&'a str>,
    /// The `keyid` parameter.
    pub keyid: &'a str,
    /// The `alg` parameter, as sent.
    pub alg: Option<&'a str>,
}

/// Finds the key for a signature. Look keys up by agent and keyid together: the same keyid
/// under another agent is another key.
pub trait KeyResolver: Send + Sync {
    /// The key for `query`, if known.
    fn resolve(&self, query: &KeyQuery<'_>) -> Option<VerifyingKey>;
}

impl<R: KeyResolver + ?Sized> KeyResolver for &R {
    fn resolve(&self, query: &KeyQuery<'_>) -> Option<VerifyingKey> {
        (**self).resolve(query)
    }
}

impl<R: KeyResolver + ?Sized> KeyResolver for std::sync::Arc<R> {
    fn resolve(&self, query: &KeyQuery<'_>) -> Option<VerifyingKey> {
        (**self).resolve(query)
    }
}

/// A fixed set of keys.
///
/// Keys added with [`KeySet::insert_for_agent`] match only signatures naming that agent; keys
/// added with [`KeySet::insert`] or [`KeySet::insert_with_keyid`] are pinned by the operator and
/// match whatever agent a signature names.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Vec<(Option<String>, VerifyingKey)>>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pinned key under its thumbprint.
    pub fn insert(&mut self, key: VerifyingKey) -> &mut Self {
        let id = key.thumbprint().to_owned();
        self.insert_with_keyid(&id, key)
    }

    /// Adds a pinned key under an explicit keyid (RFC 9421 lets keyids be anything).
    pub fn insert_with_keyid(&mut self, keyid: &str, key: VerifyingKey) -> &mut Self {
        self.keys
            .entry(keyid.to_owned())
            .or_default()
            .push((None, key));
        self
    }

    /// Adds a key that an agent publishes, under its thumbprint.
    pub fn insert_for_agent(&mut self, agent: &str, key: VerifyingKey) -> &mut Self {
        self.keys
            .entry(key.thumbprint().to_owned())
            .or_default()
            .push((Some(agent.to_owned()), key));
        self
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.values().map(Vec::len).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl KeyResolver for KeySet {
    /// The key under `keyid` for the agent; when several fit, the one whose algorithm is the
    /// signature's `alg`.
    fn resolve(&self, query: &KeyQuery<'_>) -> Option<VerifyingKey> {
        let alg = query.alg.and_then(Algorithm::from_name);
        let mut fitting = self
            .keys
            .get(query.keyid)?
            .iter()
            .filter(|(agent, _)| match (agent, query.agent) {
                (None, _) => true,
                (Some(a), Some(q)) => a == q,
                (Some(_), None) => false,
            })
            .map(|(_, key)| key);
        let first = fitting.next()?;
        if alg.is_none_or(|a| first.algorithm() == a) {
            return Some(first.clone());
        }
        Some(
            fitting
                .find(|k| alg.is_some_and(|a| k.algorithm() == a))
                .unwrap_or(first)
                .clone(),
        )
    }
}

/// Checks the `alg` parameter against the key, builds the base and checks the signature.
pub(crate) fn check_signature(
    message: &MessageView<'_>,
    params: &SignatureParams,
    signature: &[u8],
    key: &VerifyingKey,
    types: &FieldTypes,
) -> Result<(), FailureReason> {
    check_signature_with(message, params, signature, key, types, None)
}

/// As [`check_signature`], with one dictionary member's value already known (see
/// [`SignatureBase::with_member`]).
pub(crate) fn check_signature_with(
    message: &MessageView<'_>,
    params: &SignatureParams,
    signature: &[u8],
    key: &VerifyingKey,
    types: &FieldTypes,
    known: Option<(&str, &str, &str)>,
) -> Result<(), FailureReason> {
    if let Some(alg) = params.alg() {
        let named = Algorithm::from_name(alg)
            .filter(|a| a.is_enabled())
            .ok_or_else(|| FailureReason::UnknownAlgorithm(alg.to_owned()))?;
        if named != key.algorithm() {
            return Err(FailureReason::AlgorithmMismatch {
                alg: alg.to_owned(),
                key: key.algorithm().name(),
            });
        }
    }
    let base = SignatureBase::with_member(message, params, types, known)?;
    key.verify(base.as_bytes(), signature)
}

/// Checks `created` and `expires` against `now` with `skew` seconds of tolerance.
pub(crate) fn check_time(
    params: &SignatureParams,
    now: u64,
    skew: u64,
) -> Result<(), FailureReason> {
    if let Some(created) = params.created()
        && created > now.saturating_add(skew)
    {
        return Err(FailureReason::NotYetValid { created, now });
    }
    if let Some(expires) = params.expires() {
        if expires.saturating_add(skew) < now {
            return Err(FailureReason::Expired { expires, now });
        }
        if params.created().is_some_and(|c| expires < c) {
            return Err(FailureReason::Profile("expires is before created".into()));
        }
    }
    Ok(())
}

/// A signature that verified.
#[derive(Debug, Clone)]
pub struct VerifiedSignature {
    /// The label.
    pub label: String,
    /// The signature's parameters.
    pub params: SignatureParams,
    /// The key that verified it.
    pub key: VerifyingKey,
}

/// One signature's label and result.
pub type LabeledResult = (String, Result<VerifiedSignature, VerifyError>);

/// A plain RFC 9421 verifier: every signature checked on its own with a key from `R`.
///
/// `created` and `expires`, when present, are checked against the clock (with a skew of 60
/// seconds by default); RFC 9421 leaves further freshness rules to the application.
#[derive(Debug, Clone)]
pub struct Verifier<R, C = SystemClock> {
    keys: R,
    clock: C,
    skew: u64,
    check_time: bool,
    field_types: FieldTypes,
}

impl<R: KeyResolver> Verifier<R, SystemClock> {
    /// A verifier with keys from `keys` and the system clock.
    pub fn new(keys: R) -> Self {
        Verifier {
            keys,
            clock: SystemClock,
            skew: 60,
            check_time: true,
            field_types: FieldTypes::default(),
        }
    }
}

impl<R: KeyResolver, C: Clock> Verifier<R, C> {
    /// Uses another clock.
    pub fn with_clock<C2: Clock>(self, clock: C2) -> Verifier<R, C2> {
        Verifier {
            keys: self.keys,
            clock,
            skew: self.skew,
            check_time: self.check_time,
            field_types: self.field_types,
        }
    }

    /// Tolerated clock difference, in seconds.
    pub fn with_skew(mut self, secs: u64) -> Self {
        self.skew = secs;
        self
    }

    /// Whether to check `created`/`expires` at all (on by default).
    pub fn check_time(mut self, on: bool) -> Self {
        self.check_time = on;
        self
    }

    /// Uses these structured-field types for `;sf` components.
    pub fn with_field_types(mut self, types: FieldTypes) -> Self {
        self.field_types = types;
        self
    }

    /// Verifies one signature entry with the key its `keyid` resolves to.
    pub fn verify_entry(
        &self,
        message: &MessageView<'_>,
        entry: &SignatureEntry,
    ) -> Result<VerifiedSignature, VerifyError> {
        let params = entry
            .params()
            .map_err(|e| FailureReason::Params(e.clone()))?;
        let keyid = params.keyid().ok_or(FailureReason::NoKeyId)?;
        let key = self
            .keys
            .resolve(&KeyQuery {
                agent: None,
                keyid,
                alg: params.alg(),
            })
            .ok_or_else(|| FailureReason::UnknownKey(keyid.to_owned()))?;
        self.verify_entry_with_key(message, entry, key)
    }

    /// Verifies one signature entry with a key the caller chose (RFC 9421 lets a verifier know
    /// the key by other means than `keyid`, which may then be absent).
    pub fn verify_entry_with_key(
        &self,
        message: &MessageView<'_>,
        entry: &SignatureEntry,
        key: VerifyingKey,
    ) -> Result<VerifiedSignature, VerifyError> {
        let params = entry
            .params()
            .map_err(|e| FailureReason::Params(e.clone()))?;
        let signature = entry.signature().map_err(|e| e.clone())?;
        if self.check_time {
            check_time(params, self.clock.now_unix(), self.skew)?;
        }
        check_signature(message, params, signature, &key, &self.field_types)?;
        Ok(VerifiedSignature {
            label: entry.label().to_owned(),
            params: params.clone(),
            key,
        })
    }

    /// Verifies every signature on the message, each on its own.
    pub fn verify_all(&self, message: &MessageView<'_>) -> Result<Vec<LabeledResult>, ParseError> {
        Ok(signature_entries(message.headers())?
            .iter()
            .map(|e| (e.label().to_owned(), self.verify_entry(message, e)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    #[test]
    fn key_set_matches_agent_and_prefers_the_signature_alg() {
        let a = SigningKey::ed25519_from_seed(&[1; 32])
            .verifying_key()
            .clone();
        let b = SigningKey::ed25519_from_seed(&[2; 32])
            .verifying_key()
            .clone();
        let mut set = KeySet::new();
        set.insert_for_agent("https://a.example", a.clone());
        set.insert_with_keyid("shared", b.clone());
        let q = |agent, keyid, alg| KeyQuery { agent, keyid, alg };
        assert_eq!(
            set.resolve(&q(Some("https://a.example"), a.thumbprint(), None)),
            Some(a.clone())
        );
        assert_eq!(
            set.resolve(&q(Some("https://b.example"), a.thumbprint(), None)),
            None
        );
        assert_eq!(set.resolve(&q(None, a.thumbprint(), None)), None);
        // A pinned key matches any agent.
        assert_eq!(
            set.resolve(&q(Some("https://z.example"), "shared", None)),
            Some(b.clone())
        );
        assert_eq!(set.resolve(&q(None, "shared", Some("ed25519"))), Some(b));
        assert_eq!(set.len(), 2);
    }
}
