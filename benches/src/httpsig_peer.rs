//! `httpsig` 0.0.26 through `httpsig-hyper` 0.0.26 (its request-level API over `http` types).
//!
//! `httpsig-hyper` is async at heart; the `_sync` methods wrap it in
//! `futures::executor::block_on` (no runtime needed). Its verification checks `expires` against
//! the wall clock and cannot be pinned; the vectors expire in 2124. It verifies only the
//! [`REORDERED`](crate::fixtures::REORDERED) vector: it rebuilds `@signature-params` in its own
//! parameter order instead of the order received.

use httpsig_hyper::prelude::{AlgorithmName, PublicKey};
use httpsig_hyper::{MessageSignatureReq as _, MessageSignatureReqSync as _};

use crate::fixtures::{KEYID, PUBLIC_KEY};

/// The test key as `httpsig` holds it.
#[derive(Debug, Clone)]
pub struct Httpsig {
    key: PublicKey,
}

impl Httpsig {
    /// Reads the test key.
    pub fn new() -> Result<Self, String> {
        let key = PublicKey::from_bytes(&AlgorithmName::Ed25519, &PUBLIC_KEY)
            .map_err(|e| e.to_string())?;
        Ok(Httpsig { key })
    }

    /// Full verification: the fields, every signature's base, expiry, Ed25519 for the ones whose
    /// `keyid` is the test key's. Returns the label that verified.
    pub fn verify<B>(&self, req: &http::Request<B>) -> Result<String, String>
    where
        B: http_body::Body + Send + Sync,
    {
        req.verify_message_signature_sync(&self.key, Some(KEYID))
            .map_err(|e| e.to_string())
    }

    /// Parse + base: `extract_signatures` (fields parsed, each signature's base built) and the
    /// base bytes of the first one, as `verify` hands them to the key.
    pub fn parse_and_base<B>(&self, req: &http::Request<B>) -> Result<Vec<u8>, String>
    where
        B: http_body::Body + Send + Sync,
    {
        let signatures = req.extract_signatures().map_err(|e| e.to_string())?;
        let (_label, (base, _headers)) = signatures.first().ok_or("no signature base")?;
        Ok(base.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{PUBLISHED, REORDERED, request_with};

    #[test]
    fn verifies_the_reordered_vector() {
        let hs = Httpsig::new().unwrap();
        assert_eq!(hs.verify(&REORDERED.request()).unwrap(), "sig2");
        assert_eq!(
            hs.parse_and_base(&REORDERED.request()).unwrap(),
            REORDERED.base.as_bytes()
        );
    }

    /// Why the reordered vector exists: on the published one, httpsig builds the reordered base.
    #[test]
    fn cannot_verify_the_published_vector() {
        let hs = Httpsig::new().unwrap();
        assert!(hs.verify(&PUBLISHED.request()).is_err());
        assert_eq!(
            hs.parse_and_base(&PUBLISHED.request()).unwrap(),
            REORDERED.base.as_bytes()
        );
    }

    #[test]
    fn rejects_a_tampered_agent() {
        let hs = Httpsig::new().unwrap();
        let req = request_with(
            r#"agent2="https://evil.test""#,
            REORDERED.signature_input,
            REORDERED.signature,
        );
        assert!(hs.verify(&req).is_err());
    }
}
