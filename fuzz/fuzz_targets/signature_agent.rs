//! Fuzz target: the `Signature-Agent` field (dictionary and legacy string forms).
//!
//! Never panics; a parsed field serializes (`to_field_value`) to a value that parses back to
//! the same field; a field built with `SignatureAgent::single` does too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use web_bot_auth::agent::SignatureAgent;
use web_bot_auth_fuzz::{field_lines, split_once};

fuzz_target!(|data: &[u8]| {
    // As received: possibly several field lines.
    let headers: Vec<(String, Vec<u8>)> = field_lines(data)
        .map(|line| ("signature-agent".to_owned(), line.to_vec()))
        .collect();
    if let Ok(Some(agent)) = SignatureAgent::from_headers(&headers) {
        round_trip(&agent);
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(agent) = SignatureAgent::parse(text) {
        round_trip(&agent);
    }

    // Built by a signer: `key` before the first tab, URI after it.
    let (key, uri) = split_once(data, b'\t');
    if let (Ok(key), Ok(uri)) = (std::str::from_utf8(key), std::str::from_utf8(uri))
        && let Ok(agent) = SignatureAgent::single(key, uri)
    {
        round_trip(&agent);
        assert_eq!(agent.member(key).map(|m| m.uri.as_str()), Some(uri));
    }
});

fn round_trip(agent: &SignatureAgent) {
    for m in agent.members() {
        let _ = (m.has_web_uri(false), m.has_web_uri(true));
    }
    let value = agent.to_field_value();
    let again = SignatureAgent::parse(&value)
        .unwrap_or_else(|e| panic!("to_field_value() {value:?} does not parse: {e}"));
    assert_eq!(
        &again, agent,
        "round trip through {value:?} changed the field"
    );
    assert_eq!(again.to_field_value(), value, "serialization is not stable");
}
