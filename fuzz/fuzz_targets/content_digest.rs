//! Fuzz target: `Content-Digest` (RFC 9530).
//!
//! Input: the field value, a newline, then the body. `verify_content_digest` never panics and
//! never accepts a digest that `content_digest` would not produce for that body; the digest
//! computed for the body always verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use web_bot_auth::digest::{DigestAlgorithm, content_digest, verify_content_digest};
use web_bot_auth_fuzz::split_once;

fuzz_target!(|data: &[u8]| {
    let (field, body) = split_once(data, b'\n');
    if let Ok(field) = std::str::from_utf8(field)
        && let Ok(algs) = verify_content_digest(field, body)
    {
        assert!(!algs.is_empty());
        // Every algorithm that was checked really matches the body.
        for alg in algs {
            let expected = content_digest(body, &[alg]);
            assert!(
                verify_content_digest(&expected, body) == Ok(vec![alg]),
                "the computed digest does not verify"
            );
        }
    }

    let all = [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512];
    for algs in [&all[..1], &all[1..], &all[..]] {
        let value = content_digest(body, algs);
        assert_eq!(verify_content_digest(&value, body).as_deref(), Ok(algs));
        let mut other = body.to_vec();
        other.push(0);
        assert!(verify_content_digest(&value, &other).is_err());
    }
});
