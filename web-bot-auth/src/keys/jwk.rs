//! JSON Web Keys (RFC 7517) and their RFC 7638 thumbprints.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::error::KeyError;

/// Largest JWK or JWKS document accepted, in bytes.
pub const MAX_JWK_BYTES: usize = 256 * 1024;

/// A JSON Web Key. Unknown members are kept, so that a key read and written again is unchanged.
///
/// Private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`) are redacted in `Debug` and wiped
/// from memory on drop.
#[derive(Clone, Default, PartialEq)]
pub struct Jwk {
    /// Key type: `OKP`, `EC`, `RSA`, `oct`.
    pub kty: String,
    /// Curve, for `OKP` and `EC`.
    pub crv: Option<String>,
    /// Key id.
    pub kid: Option<String>,
    /// Public x coordinate (`OKP`, `EC`), base64url.
    pub x: Option<String>,
    /// Public y coordinate (`EC`), base64url.
    pub y: Option<String>,
    /// RSA modulus, base64url.
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    pub e: Option<String>,
    /// Private key (`OKP`, `EC`) or RSA private exponent.
    pub d: Option<String>,
    /// RSA first prime.
    pub p: Option<String>,
    /// RSA second prime.
    pub q: Option<String>,
    /// RSA first CRT exponent.
    pub dp: Option<String>,
    /// RSA second CRT exponent.
    pub dq: Option<String>,
    /// RSA CRT coefficient.
    pub qi: Option<String>,
    /// Symmetric key (`oct`), base64url.
    pub k: Option<String>,
    /// Public key use (`sig`).
    pub key_use: Option<String>,
    /// Algorithm (JOSE or RFC 9421 name).
    pub alg: Option<String>,
    /// Any other members, kept exactly as received (numbers included).
    pub other: ExtraMembers,
}

/// The members of a JWK that this crate does not interpret, in order, each kept as its raw JSON
/// text so that writing the key again reproduces it exactly.
#[derive(Clone, Default)]
pub struct ExtraMembers(Vec<(String, Box<RawValue>)>);

impl PartialEq for ExtraMembers {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((a, x), (b, y))| a == b && x.get() == y.get())
    }
}

impl fmt::Debug for ExtraMembers {
    /// Names only: an unknown member may hold private material (an RSA key's `oth`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

impl ExtraMembers {
    /// The raw JSON text of a member.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.get())
    }

    /// A member that is a non-negative integer (such as `nbf` and `exp`).
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|raw| raw.parse().ok())
    }

    /// Sets a member (replacing one of the same name).
    pub fn insert(&mut self, name: String, value: serde_json::Value) {
        let Ok(raw) = serde_json::value::to_raw_value(&value) else {
            return;
        };
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = raw,
            None => self.0.push((name, raw)),
        }
    }

    /// Removes a member.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| k != name);
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members in order, as (name, raw JSON text).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.get()))
    }
}

impl Serialize for Jwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kty", &self.kty)?;
        for (name, value) in self.known_members() {
            if let Some(v) = value {
                map.serialize_entry(name, v)?;
            }
        }
        for (name, raw) in &self.other.0 {
            map.serialize_entry(name, raw)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Jwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(JwkVisitor)
    }
}

struct JwkVisitor;

impl<'de> Visitor<'de> for JwkVisitor {
    type Value = Jwk;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON Web Key object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Jwk, A::Error> {
        let mut jwk = Jwk::default();
        let mut kty = None;
        let mut names: Vec<String> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            // RFC 7517 §4: member names are unique.
            if names.contains(&name) {
                return Err(de::Error::custom(format!("member `{name}` repeated")));
            }
            names.push(name.clone());
            let slot = match name.as_str() {
                "kty" => {
                    kty = Some(map.next_value::<String>()?);
                    continue;
                }
                "crv" => &mut jwk.crv,
                "kid" => &mut jwk.kid,
                "x" => &mut jwk.x,
                "y" => &mut jwk.y,
                "n" => &mut jwk.n,
                "e" => &mut jwk.e,
                "d" => &mut jwk.d,
                "p" => &mut jwk.p,
                "q" => &mut jwk.q,
                "dp" => &mut jwk.dp,
                "dq" => &mut jwk.dq,
                "qi" => &mut jwk.qi,
                "k" => &mut jwk.k,
                "use" => &mut jwk.key_use,
                "alg" => &mut jwk.alg,
                _ => {
                    let raw = map.next_value::<Box<RawValue>>()?;
                    jwk.other.0.push((name, raw));
                    continue;
                }
            };
            *slot = Some(map.next_value::<String>()?);
        }
        jwk.kty = kty.ok_or_else(|| de::Error::missing_field("kty"))?;
        Ok(jwk)
    }
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
    /// The interpreted members other than `kty`, in the order they are written.
    fn known_members(&self) -> [(&'static str, &Option<String>); 15] {
        [
            ("crv", &self.crv),
            ("kid", &self.kid),
            ("x", &self.x),
            ("y", &self.y),
            ("n", &self.n),
            ("e", &self.e),
            ("d", &self.d),
            ("p", &self.p),
            ("q", &self.q),
            ("dp", &self.dp),
            ("dq", &self.dq),
            ("qi", &self.qi),
            ("k", &self.k),
            ("use", &self.key_use),
            ("alg", &self.alg),
        ]
    }

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
        assert_eq!(jwk.other.get("nbf"), Some("1712793600"));
        assert_eq!(jwk.other.get_u64("nbf"), Some(1712793600));
        let again = Jwk::from_json(&jwk.to_json()).unwrap();
        assert_eq!(again, jwk);
        assert!(!format!("{jwk:?}").contains("secret-ish"));
        let oth = Jwk::from_json(r#"{"kty":"RSA","oth":[{"r":"private-prime"}]}"#).unwrap();
        assert!(!format!("{oth:?}").contains("private-prime"));
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
