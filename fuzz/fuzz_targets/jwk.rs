//! Fuzz target: JSON Web Keys.
//!
//! `Jwk::from_json`, `VerifyingKey::from_jwk` (with and without a required algorithm) and
//! `SigningKey::from_jwk` never panic. A parsed JWK written out and read again is unchanged; a
//! key that loads gives a JWK (`to_jwk`) that loads to the same key; a signing key that loads
//! signs a message that its own public key verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use web_bot_auth::alg::Algorithm;
use web_bot_auth::keys::{Jwk, SigningKey, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(jwk) = Jwk::from_json(text) else {
        return;
    };

    let json = jwk.to_json();
    let again =
        Jwk::from_json(&json).unwrap_or_else(|e| panic!("to_json() {json:?} does not parse: {e}"));
    assert!(again == jwk, "JSON round trip changed the JWK: {json}");
    assert_eq!(again.to_json(), json, "serialization is not stable");

    let _ = (
        jwk.thumbprint(),
        jwk.is_private(),
        jwk.to_public().is_private(),
    );

    if let Ok(key) = VerifyingKey::from_jwk(&jwk) {
        let public = key.to_jwk();
        let reloaded = VerifyingKey::from_jwk(&public).expect("to_jwk() must load again");
        assert_eq!(reloaded, key);
        assert_eq!(public.thumbprint().ok().as_deref(), Some(key.thumbprint()));
        let _ = key.verify(b"message", data);
    }
    for alg in Algorithm::ALL {
        if let Ok(key) = VerifyingKey::from_jwk_with_alg(&jwk, Some(alg)) {
            assert_eq!(key.algorithm(), alg);
        }
    }

    if let Ok(key) = SigningKey::from_jwk(&jwk) {
        let message = b"fuzz message";
        let signature = key.sign(message).expect("a loaded key signs");
        key.verifying_key()
            .verify(message, &signature)
            .expect("own signature must verify");
        let private = key.to_private_jwk();
        let reloaded = SigningKey::from_jwk(&private).expect("to_private_jwk() must load again");
        assert_eq!(reloaded.thumbprint(), key.thumbprint());
        assert_eq!(reloaded.algorithm(), key.algorithm());
    }
});
