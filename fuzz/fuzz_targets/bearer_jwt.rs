//! Fuzz target: the `Authorization: Bearer` header and the JWT verifier of `mcp-auth`.
//!
//! The input as a header value: `bearer_token` (and `parse_authorization` on the raw bytes)
//! never panics, and a token it returns matches RFC 6750's b64token grammar and is a slice of
//! the input; `cf_access_jwt` returns only JWT-shaped tokens. The input (and any token read from
//! it) as a JWT: the verifier (a static Ed25519 key, a fixed clock, the synchronous path) never
//! panics, never asks for a key fetch, and refuses with a bounded detail (it cannot forge a
//! signature); `jsonwebtoken::decode_header` never panics.
#![no_main]

use std::sync::LazyLock;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use mcp_auth::bearer::{
    CF_ACCESS_JWT_ASSERTION, bearer_token, cf_access_jwt, is_jwt_shaped, parse_authorization,
};
use mcp_auth::clock::ManualClock;
use mcp_auth::oauth::{Algorithm, JwtVerifier, SyncVerification, VerificationKey};

/// The public half of `mcp-auth/tests/data/ed25519-a.key.pem`, which signed the seeds.
const ED25519_PUBLIC: &str = include_str!("../../mcp-auth/tests/data/ed25519-a.pub.pem");

static VERIFIER: LazyLock<JwtVerifier> = LazyLock::new(|| {
    let key = VerificationKey::from_pem(ED25519_PUBLIC.as_bytes(), Algorithm::EdDSA)
        .expect("the test key loads")
        .with_kid("ed");
    JwtVerifier::builder()
        .issuer("https://issuer.fuzz.invalid")
        .audience("https://mcp.fuzz.invalid/mcp")
        .key(key)
        // After every seed's `exp`: a correctly signed seed is refused as expired.
        .clock(ManualClock::from_unix(1_800_000_000))
        .build()
        .expect("the verifier builds")
});

fn is_b64token(token: &str) -> bool {
    let bytes = token.as_bytes();
    let body = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
        .count();
    body > 0 && bytes[body..].iter().all(|b| *b == b'=')
}

fn is_slice_of(part: &str, whole: &[u8]) -> bool {
    let start = part.as_ptr() as usize;
    let base = whole.as_ptr() as usize;
    start >= base && start + part.len() <= base + whole.len()
}

fn verify(token: &str) {
    match VERIFIER.verify_with_current_keys(token) {
        SyncVerification::Refused(refusal) => {
            let _ = refusal.reason();
            assert!(
                refusal.detail().len() < 1024,
                "unbounded detail: {} bytes",
                refusal.detail().len()
            );
            let _ = refusal.to_string();
        }
        other => panic!("a fuzzed token was not refused: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    match parse_authorization(data) {
        Ok(token) => {
            assert!(is_b64token(token.as_str()), "not a b64token: {token:?}");
            assert!(is_slice_of(token.as_str(), data));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }

    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.clone());
        match bearer_token(&headers) {
            Ok(Some(token)) => {
                assert!(is_b64token(token.as_str()));
                assert_eq!(Ok(token), parse_authorization(data));
                let _ = token.is_jwt_shaped();
                verify(token.as_str());
            }
            Ok(None) => panic!("a present header read as absent"),
            Err(e) => assert_eq!(Err(e), parse_authorization(data)),
        }
        headers.append(AUTHORIZATION, value.clone());
        assert!(bearer_token(&headers).is_err(), "two headers accepted");

        let mut headers = HeaderMap::new();
        headers.insert(CF_ACCESS_JWT_ASSERTION, value);
        if let Ok(Some(token)) = cf_access_jwt(&headers) {
            assert!(is_jwt_shaped(token.as_str()));
            verify(token.as_str());
        }
    }

    if let Ok(text) = std::str::from_utf8(data) {
        let _ = is_jwt_shaped(text);
        verify(text);
        let _ = jsonwebtoken::decode_header(text);
    }
});
