//! JSON Web Keys (RFC 7517) and their RFC 7638 thumbprints.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::error::KeyError;

/// Largest JWK or JWKS document accepted, in bytes.
pub const MAX_JWK_BYTES: usize = 256 * 1024;

/// A JSON Web Key. Unknown members are kept, so that a key read and written again is unchanged.
///
/// Private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`) are redacted in `Debug` and wiped
/// from memory on drop.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Jwk {
    /// Key type: `OKP`, `EC`, `RSA`, `oct`.
    pub kty: String,
    /// Curve, for `OKP` and `EC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Public x coordinate (`OKP`, `EC`), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Public y coordinate (`EC`), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Private key (`OKP`, `EC`) or RSA private exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// RSA first prime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// RSA second prime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// RSA first CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    /// RSA second CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    /// RSA CRT coefficient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    /// Symmetric key (`oct`), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    /// Public key use (`sig`).
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Algorithm (JOSE or RFC 9421 name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Any other members, kept as received.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Drop for Jwk {
    fn drop(&mut self) {
        self.d.zeroize();
        self.p.zeroize();
        self.q.zeroize();
        self.dp.zeroize();
        self.dq.zeroize();
        self.qi.zeroize();
        self.k.zeroize();
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("n", &self.n)
            .field("e", &self.e)
            .field("d", &redact(&self.d))
            .field("k", &redact(&self.k))
            .finish_non_exhaustive()
    }
}

impl Jwk {
    /// Parses one JWK from JSON.
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        if json.len() > MAX_JWK_BYTES {
            return Err(KeyError::Invalid(format!(
                "JWK larger than {MAX_JWK_BYTES} bytes"
            )));
        }
        serde_json::from_str(json).map_err(|e| KeyError::json(&e))
    }

    /// Serializes the key as compact JSON.
    pub fn to_json(&self) -> String {
        // Serializing a struct of strings and a JSON map cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether the key holds private material.
    pub fn is_private(&self) -> bool {
        self.d.is_some() || self.k.is_some()
    }

    /// The key with every private member removed.
    pub fn to_public(&self) -> Jwk {
        let mut public = self.clone();
        public.d = None;
        public.p = None;
        public.q = None;
        public.dp = None;
        public.dq = None;
        public.qi = None;
        public.k = None;
        public.other.remove("oth");
        public
    }

    /// The RFC 7638 thumbprint with SHA-256, base64url without padding (RFC 8037 §A.3 for `OKP`).
    pub fn thumbprint(&self) -> Result<String, KeyError> {
        let canonical = self.thumbprint_input()?;
        Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
    }

    /// The canonical JSON that the thumbprint hashes: the required members only, in
    /// lexicographic order, no white space.
    pub fn thumbprint_input(&self) -> Result<String, KeyError> {
        fn req<'a>(v: &'a Option<String>, name: &'static str) -> Result<String, KeyError> {
            let s: &'a str = v.as_deref().ok_or(KeyError::Member(name))?;
            serde_json::to_string(s).map_err(|_| KeyError::Member(name))
        }
        let kty = serde_json::to_string(&self.kty).map_err(|_| KeyError::Member("kty"))?;
        Ok(match self.kty.as_str() {
            "EC" => format!(
                "{{\"crv\":{},\"kty\":{kty},\"x\":{},\"y\":{}}}",
                req(&self.crv, "crv")?,
                req(&self.x, "x")?,
                req(&self.y, "y")?
            ),
            "OKP" => format!(
                "{{\"crv\":{},\"kty\":{kty},\"x\":{}}}",
                req(&self.crv, "crv")?,
                req(&self.x, "x")?
            ),
            "RSA" => format!(
                "{{\"e\":{},\"kty\":{kty},\"n\":{}}}",
                req(&self.e, "e")?,
                req(&self.n, "n")?
            ),
            "oct" => format!("{{\"k\":{},\"kty\":{kty}}}", req(&self.k, "k")?),
            other => return Err(KeyError::Unsupported(format!("kty {other:?}"))),
        })
    }
}

/// Decodes a base64url member (no padding; padding tolerated).
pub(crate) fn b64_member(v: &Option<String>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let s = v.as_deref().ok_or(KeyError::Member(name))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| KeyError::Member(name))
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = Jwk::from_json(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            jwk.thumbprint().unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn unknown_members_round_trip_and_debug_redacts() {
        let json = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"secret-ish","nbf":1712793600,"custom":{"a":1}}"#;
        let jwk = Jwk::from_json(json).unwrap();
        assert_eq!(jwk.other.get("nbf"), Some(&serde_json::json!(1712793600)));
        let again = Jwk::from_json(&jwk.to_json()).unwrap();
        assert_eq!(again, jwk);
        assert!(!format!("{jwk:?}").contains("secret-ish"));
        assert!(jwk.is_private());
        assert!(!jwk.to_public().is_private());
    }

    #[test]
    fn json_errors_have_positions() {
        match Jwk::from_json("{\"kty\":\n  3}") {
            Err(KeyError::Json { line: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
