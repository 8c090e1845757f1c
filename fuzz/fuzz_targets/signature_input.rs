//! Fuzz target: the `Signature-Input` field (RFC 9421 §4.1), against a fixed `Signature`.
//!
//! Each input line is one `Signature-Input` field line. Never panics; every member whose
//! parameters are accepted serializes (`SignatureParams::as_str`) to a value that is read back
//! to equal parameters; and the whole field, re-serialized, keeps every accepted entry equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use web_bot_auth::error::Input;
use web_bot_auth::fields::{reserialize_dictionary, signature_entries};
use web_bot_auth_fuzz::{SIGNATURE, check_params_round_trip, field_lines};

fuzz_target!(|data: &[u8]| {
    let mut headers: Vec<(String, Vec<u8>)> = field_lines(data)
        .map(|line| ("Signature-Input".to_owned(), line.to_vec()))
        .collect();
    headers.push(("signature".to_owned(), SIGNATURE.as_bytes().to_vec()));
    let Ok(entries) = signature_entries(&headers) else {
        return;
    };
    for entry in &entries {
        let _ = entry.signature();
        if let Ok(params) = entry.params() {
            check_params_round_trip(params);
        }
    }

    // The field as a whole: parse → serialize → parse gives the same entries.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let combined = text.split('\n').take(8).collect::<Vec<_>>().join(", ");
    let Ok(again) = reserialize_dictionary(&combined, Input::SignatureInput) else {
        return;
    };
    assert_eq!(
        reserialize_dictionary(&again, Input::SignatureInput).as_deref(),
        Ok(again.as_str()),
        "serialization is not stable"
    );
    let headers2 = vec![
        ("signature-input".to_owned(), again.into_bytes()),
        ("signature".to_owned(), SIGNATURE.as_bytes().to_vec()),
    ];
    let entries2 = signature_entries(&headers2).expect("re-serialized field must parse");
    assert_eq!(entries.len(), entries2.len());
    for (a, b) in entries.iter().zip(&entries2) {
        assert_eq!(a.label(), b.label());
        // Whatever is accepted survives the round trip unchanged. (A member repeating a
        // parameter is refused — no strict serialization repeats one — while the re-serialized
        // field has the duplicate collapsed, so it may be accepted there.)
        if let Ok(pa) = a.params() {
            assert_eq!(Some(pa), b.params().ok());
        }
        assert_eq!(a.signature().ok(), b.signature().ok());
    }
});
