//! Fuzz target: the HTTP/1.1 message parser must never panic, whatever the input.
//!
//! A message that parses is then viewed (`request_view` / `response_view`) and verified: under
//! the Web Bot Auth profile with an empty key set (nothing can verify) and with the RFC 9421
//! Ed25519 test key known (so that signature bases are built from the message), and with the
//! plain RFC 9421 verifier. None of that may panic, and nothing verifies without a key.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use web_bot_auth::clock::ManualClock;
use web_bot_auth::http1::{Http1Limits, parse};
use web_bot_auth::keys::VerifyingKey;
use web_bot_auth::message::{MessageView, NoFields, RequestView};
use web_bot_auth::profile::{ProfileConfig, WebBotAuthVerifier};
use web_bot_auth::verify::{KeySet, Verifier};
use web_bot_auth_fuzz::{TEST_KEY_ED25519_JWK, VECTOR_NOW};

fn test_keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = VerifyingKey::from_jwk_json(TEST_KEY_ED25519_JWK).expect("test key");
        let mut keys = KeySet::new();
        keys.insert(key.clone())
            .insert_with_keyid("test-key-ed25519", key);
        keys
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(message) = parse(data, &Http1Limits::default()) else {
        return;
    };
    let clock = ManualClock::new(VECTOR_NOW);
    if let Ok(view) = message.request_view("https") {
        let view = MessageView::Request(view);
        let outcome = WebBotAuthVerifier::new(KeySet::new())
            .with_clock(&clock)
            .verify(&view);
        assert!(
            outcome.verified().is_none(),
            "verified without any key: {outcome:?}"
        );
        let _ = WebBotAuthVerifier::new(test_keys())
            .with_clock(&clock)
            .with_config(ProfileConfig {
                allow_test_keys: true,
                allow_http_agent: true,
                ..ProfileConfig::default()
            })
            .verify_each(&view);
        let _ = Verifier::new(test_keys())
            .with_clock(&clock)
            .verify_all(&view);
    } else {
        // A response, alone and answering the RFC 9421 test request.
        let request = RequestView {
            method: "POST",
            scheme: "https",
            authority: "example.com",
            path: "/foo",
            query: Some("param=Value&Pet=dog"),
            request_target: None,
            headers: &NoFields,
            trailers: &NoFields,
        };
        for req in [None, Some(request)] {
            if let Ok(view) = message.response_view(req) {
                let _ = Verifier::new(test_keys())
                    .with_clock(&clock)
                    .verify_all(&view);
            }
        }
    }
});
