//! Fuzz target: the `Signature` field (RFC 9421 §4.2), against a fixed `Signature-Input`.
//!
//! Each input line is one `Signature` field line. Never panics, and the field re-serialized
//! gives the same signature bytes for every label.
#![no_main]

use libfuzzer_sys::fuzz_target;
use web_bot_auth::error::Input;
use web_bot_auth::fields::{reserialize_dictionary, signature_entries};
use web_bot_auth_fuzz::{SIGNATURE_INPUT, field_lines};

fuzz_target!(|data: &[u8]| {
    let mut headers: Vec<(String, Vec<u8>)> = vec![(
        "signature-input".to_owned(),
        SIGNATURE_INPUT.as_bytes().to_vec(),
    )];
    headers.extend(field_lines(data).map(|line| ("Signature".to_owned(), line.to_vec())));
    let Ok(entries) = signature_entries(&headers) else {
        return;
    };
    for entry in &entries {
        let _ = (entry.label(), entry.params(), entry.signature());
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let combined = text.split('\n').take(8).collect::<Vec<_>>().join(", ");
    let Ok(again) = reserialize_dictionary(&combined, Input::Signature) else {
        return;
    };
    assert_eq!(
        reserialize_dictionary(&again, Input::Signature).as_deref(),
        Ok(again.as_str()),
        "serialization is not stable"
    );
    let headers2 = vec![
        (
            "signature-input".to_owned(),
            SIGNATURE_INPUT.as_bytes().to_vec(),
        ),
        ("signature".to_owned(), again.into_bytes()),
    ];
    let entries2 = signature_entries(&headers2).expect("re-serialized field must parse");
    assert_eq!(entries.len(), entries2.len());
    for (a, b) in entries.iter().zip(&entries2) {
        assert_eq!(a.label(), b.label());
        assert_eq!(a.signature().ok(), b.signature().ok());
    }
});
