//! The floor: a bare Ed25519 verification of the finished signature base, with the key and the
//! signature already decoded. No parsing, no base building.

use crate::fixtures::{PUBLIC_KEY, Vector};

/// Prepared keys and signature for one vector, for both Ed25519 implementations in play.
#[derive(Debug, Clone)]
pub struct Floor {
    base: &'static [u8],
    dalek_key: ed25519_dalek::VerifyingKey,
    dalek_sig: ed25519_dalek::Signature,
    compact_key: ed25519_compact::PublicKey,
    compact_sig: ed25519_compact::Signature,
}

impl Floor {
    /// Decodes the test key and the vector's signature.
    pub fn new(vector: &Vector) -> Result<Self, String> {
        let sig = vector.signature_bytes();
        Ok(Floor {
            base: vector.base.as_bytes(),
            dalek_key: ed25519_dalek::VerifyingKey::from_bytes(&PUBLIC_KEY)
                .map_err(|e| e.to_string())?,
            dalek_sig: ed25519_dalek::Signature::from_bytes(&sig),
            compact_key: ed25519_compact::PublicKey::new(PUBLIC_KEY),
            compact_sig: ed25519_compact::Signature::new(sig),
        })
    }

    /// `ed25519-dalek` `verify_strict` (what our verifier calls).
    pub fn dalek_verify_strict(&self) -> bool {
        self.dalek_key
            .verify_strict(self.base, &self.dalek_sig)
            .is_ok()
    }

    /// `ed25519-dalek` `verify` (what Cloudflare's `web-bot-auth` calls).
    pub fn dalek_verify(&self) -> bool {
        use ed25519_dalek::Verifier as _;
        self.dalek_key.verify(self.base, &self.dalek_sig).is_ok()
    }

    /// `ed25519-compact` `verify` (what `httpsig` calls). Its public key is kept compressed, so
    /// every verification decompresses the point.
    pub fn compact_verify(&self) -> bool {
        self.compact_key
            .verify(self.base, &self.compact_sig)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{PUBLISHED, REORDERED};

    #[test]
    fn every_floor_verifies_both_vectors() {
        for v in [PUBLISHED, REORDERED] {
            let f = Floor::new(&v).unwrap();
            assert!(f.dalek_verify_strict(), "{}", v.name);
            assert!(f.dalek_verify(), "{}", v.name);
            assert!(f.compact_verify(), "{}", v.name);
        }
    }

    #[test]
    fn floors_reject_another_base() {
        let mut f = Floor::new(&PUBLISHED).unwrap();
        f.base = REORDERED.base.as_bytes();
        assert!(!f.dalek_verify_strict());
        assert!(!f.dalek_verify());
        assert!(!f.compact_verify());
    }
}
