//! Fuzz target: key directories (`/.well-known/http-message-signatures-directory`).
//!
//! `KeyDirectory::parse` and `verifying_keys` never panic; a parsed directory written out and
//! read again is unchanged; `verify_directory_response` never panics with the input as the body,
//! neither with the fixed headers of the signed-directory vector nor with a `Content-Digest`
//! that matches the body (so that the signature check is reached), and never accepts a body
//! other than the signed one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use web_bot_auth::clock::ManualClock;
use web_bot_auth::digest::{DigestAlgorithm, content_digest};
use web_bot_auth::directory::{KeyDirectory, verify_directory_response};
use web_bot_auth_fuzz::{
    DIRECTORY_AUTHORITY, DIRECTORY_BODY, DIRECTORY_DIGEST, DIRECTORY_SIGNATURE,
    DIRECTORY_SIGNATURE_INPUT, VECTOR_NOW,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(dir) = KeyDirectory::parse(data) {
        for now in [0, VECTOR_NOW, u64::MAX] {
            let (good, bad) = dir.verifying_keys(now);
            assert_eq!(good.len() + bad.len(), dir.keys.len());
        }
        let json = dir.to_json();
        let again = KeyDirectory::parse(json.as_bytes())
            .unwrap_or_else(|e| panic!("to_json() {json:?} does not parse: {e}"));
        assert!(
            again == dir,
            "JSON round trip changed the directory: {json}"
        );
    }

    let clock = ManualClock::new(VECTOR_NOW);
    let fixed = vec![
        ("content-digest", DIRECTORY_DIGEST.to_owned()),
        ("signature-input", DIRECTORY_SIGNATURE_INPUT.to_owned()),
        ("signature", DIRECTORY_SIGNATURE.to_owned()),
    ];
    let matching = vec![
        (
            "content-digest",
            content_digest(data, &[DigestAlgorithm::Sha256, DigestAlgorithm::Sha512]),
        ),
        ("signature-input", DIRECTORY_SIGNATURE_INPUT.to_owned()),
        ("signature", DIRECTORY_SIGNATURE.to_owned()),
    ];
    for headers in [&fixed, &matching] {
        let result = verify_directory_response(headers, data, DIRECTORY_AUTHORITY, &clock, 60);
        if result.is_ok() {
            assert_eq!(data, DIRECTORY_BODY.as_bytes(), "another body verified");
        }
    }
});
