//! Fuzz target: PEM key documents (SPKI, PKCS#8, PKCS#1, SEC1).
//!
//! `VerifyingKey::from_pem` and `SigningKey::from_pem`, with and without a required algorithm,
//! never panic; a signing key that loads signs a message that its public key verifies, and the
//! public key read from the same text is that key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use web_bot_auth::alg::Algorithm;
use web_bot_auth::keys::{SigningKey, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let algs = [
        None,
        Some(Algorithm::Ed25519),
        Some(Algorithm::EcdsaP256Sha256),
        Some(Algorithm::RsaPssSha512),
        Some(Algorithm::RsaV15Sha256),
    ];
    for alg in algs {
        let public = VerifyingKey::from_pem(text, alg);
        if let (Ok(k), Some(a)) = (&public, alg) {
            assert_eq!(k.algorithm(), a);
        }
        if let Ok(key) = SigningKey::from_pem(text, alg) {
            if let Some(a) = alg {
                assert_eq!(key.algorithm(), a);
            }
            let message = b"fuzz message";
            let signature = key.sign(message).expect("a loaded key signs");
            key.verifying_key()
                .verify(message, &signature)
                .expect("own signature must verify");
            // With only private blocks, the public key comes from the private one.
            if !text.contains("PUBLIC KEY-----") {
                let public = public.expect("a private key also gives a verifying key");
                assert_eq!(&public, key.verifying_key());
            }
        }
    }
});
