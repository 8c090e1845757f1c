//! Our `web-bot-auth`: the full profile verifier, and its parse + base steps on their own.

use web_bot_auth::agent::SignatureAgent;
use web_bot_auth::base::SignatureBase;
use web_bot_auth::clock::ManualClock;
use web_bot_auth::field::FieldTypes;
use web_bot_auth::fields::signature_entries;
use web_bot_auth::keys::VerifyingKey;
use web_bot_auth::message::{MessageView, RequestView};
use web_bot_auth::profile::{Outcome, ProfileConfig, WebBotAuthVerifier};
use web_bot_auth::verify::KeySet;

use crate::fixtures::{NOW, PUBLIC_JWK};

/// What the parse + base steps produce.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The signature base of the first signature.
    pub base: SignatureBase,
    /// The `Signature-Agent` field.
    pub agent: Option<SignatureAgent>,
}

/// A profile verifier set up once: the test key pinned, the clock at [`NOW`], test keys allowed
/// and no lifetime limit (the vectors' `expires` is a century after `created`).
pub struct Ours {
    verifier: WebBotAuthVerifier<KeySet, ManualClock>,
    field_types: FieldTypes,
}

impl std::fmt::Debug for Ours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ours").finish_non_exhaustive()
    }
}

impl Ours {
    /// Sets the verifier up.
    pub fn new() -> Result<Self, String> {
        let mut keys = KeySet::new();
        keys.insert(VerifyingKey::from_jwk_json(PUBLIC_JWK).map_err(|e| e.to_string())?);
        let verifier = WebBotAuthVerifier::new(keys)
            .with_clock(ManualClock::new(NOW))
            .with_config(ProfileConfig {
                allow_test_keys: true,
                max_lifetime: u64::MAX,
                ..Default::default()
            });
        Ok(Ours {
            verifier,
            field_types: FieldTypes::default(),
        })
    }

    /// Full profile verification: view the request, read the three fields, check the profile,
    /// build the base, verify.
    pub fn verify<B>(&self, req: &http::Request<B>) -> Result<Outcome, String> {
        let view = RequestView::from_http(req, "https").map_err(|e| e.to_string())?;
        Ok(self.verifier.verify(&MessageView::Request(view)))
    }

    /// Parse + base: `Signature-Input`/`Signature` entries, the `Signature-Agent` field, and the
    /// signature base of the first entry. No profile checks, no key lookup, no crypto.
    pub fn parse_and_base<B>(&self, req: &http::Request<B>) -> Result<Parsed, String> {
        let view = RequestView::from_http(req, "https").map_err(|e| e.to_string())?;
        let entries = signature_entries(view.headers).map_err(|e| e.to_string())?;
        let agent = SignatureAgent::from_headers(view.headers).map_err(|e| e.to_string())?;
        let entry = entries.first().ok_or("no signature")?;
        let params = entry.params().map_err(|e| e.to_string())?;
        let base = SignatureBase::new(&MessageView::Request(view), params, &self.field_types)
            .map_err(|e| e.to_string())?;
        Ok(Parsed { base, agent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{PUBLISHED, REORDERED, SIGNATURE_AGENT, request_with};

    #[test]
    fn verifies_both_vectors() {
        let ours = Ours::new().unwrap();
        for v in [PUBLISHED, REORDERED] {
            let outcome = ours.verify(&v.request()).unwrap();
            let Outcome::Verified(agent) = outcome else {
                panic!("{}: {outcome:?}", v.name);
            };
            assert_eq!(agent.keyid, crate::fixtures::KEYID);
            assert_eq!(
                agent.agent.map(|a| a.uri).as_deref(),
                Some("https://signature-agent.test")
            );
        }
    }

    #[test]
    fn parse_and_base_builds_the_expected_base() {
        let ours = Ours::new().unwrap();
        for v in [PUBLISHED, REORDERED] {
            let parsed = ours.parse_and_base(&v.request()).unwrap();
            assert_eq!(parsed.base.as_str(), v.base, "{}", v.name);
            assert_eq!(
                parsed.agent.unwrap().to_field_value(),
                SIGNATURE_AGENT,
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn rejects_a_tampered_agent() {
        let ours = Ours::new().unwrap();
        let req = request_with(
            r#"agent2="https://evil.test""#,
            PUBLISHED.signature_input,
            PUBLISHED.signature,
        );
        assert!(matches!(ours.verify(&req).unwrap(), Outcome::Invalid(_)));
    }
}
