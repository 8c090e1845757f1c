//! The test vectors and the request they are on, shared by every adapter.
//!
//! Sources:
//! - the published vector is draft-meunier-webbotauth-httpsig-protocol-02, "Test Vectors" >
//!   Ed25519 > "Signature-Agent included present on the request", unwrapped; the repository copy
//!   is `web-bot-auth/tests/data/vectors/wba-protocol-02-ed25519-signature-agent-included-present-on-the-request.txt`
//!   (the unit tests below check these constants against it);
//! - the key is RFC 9421 Appendix B.1.4 `test-key-ed25519`
//!   (`web-bot-auth/tests/data/keys/test-key-ed25519.jwk.json`);
//! - the message is the RFC 9421 Appendix B.2 `test-request`.
//!
//! `httpsig` always rebuilds `@signature-params` in its own parameter order
//! (`created;expires;nonce;alg;keyid;tag`), so it cannot verify the published vector, whose
//! order is `created;keyid;alg;expires;nonce;tag`. [`REORDERED`] is the same request, the same
//! components and the same parameter values in httpsig's order, signed with the same key
//! (Ed25519 is deterministic; the unit tests re-sign both vectors to prove it). Its base has
//! exactly the same bytes as the published one, permuted, so the crypto costs the same.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// `created` of both vectors; the benchmarks' clock reads this.
pub const NOW: u64 = 1_735_689_600;

/// The `keyid` of the test key: its RFC 7638 thumbprint.
pub const KEYID: &str = "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";

/// The public half of the test key, as a JWK.
pub const PUBLIC_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}"#;

/// The public key, raw (the JWK `x` decoded).
pub const PUBLIC_KEY: [u8; 32] = [
    0x26, 0xb4, 0x0b, 0x8f, 0x93, 0xff, 0xf3, 0xd8, 0x97, 0x11, 0x2f, 0x7e, 0xbc, 0x58, 0x2b, 0x23,
    0x2d, 0xbd, 0x72, 0x51, 0x7d, 0x08, 0x2f, 0xe8, 0x3c, 0xfb, 0x30, 0xdd, 0xce, 0x43, 0xd1, 0xbb,
];

/// The `Signature-Agent` field of both vectors.
pub const SIGNATURE_AGENT: &str = r#"agent2="https://signature-agent.test""#;

/// One signed request: its two signature fields and the base they sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vector {
    /// A short name for reports.
    pub name: &'static str,
    /// The `Signature-Input` field value.
    pub signature_input: &'static str,
    /// The `Signature` field value.
    pub signature: &'static str,
    /// The exact signature base (no trailing newline).
    pub base: &'static str,
}

/// The protocol-02 Ed25519 vector, as published.
pub const PUBLISHED: Vector = Vector {
    name: "published",
    signature_input: concat!(
        r#"sig2=("@authority" "signature-agent";key="agent2")"#,
        r#";created=1735689600"#,
        r#";keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U""#,
        r#";alg="ed25519""#,
        r#";expires=4889289600"#,
        r#";nonce="n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==""#,
        r#";tag="web-bot-auth""#,
    ),
    signature: "sig2=:RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEwYCCg==:",
    base: concat!(
        "\"@authority\": example.com\n",
        "\"signature-agent\";key=\"agent2\": \"https://signature-agent.test\"\n",
        "\"@signature-params\": (\"@authority\" \"signature-agent\";key=\"agent2\")",
        ";created=1735689600",
        ";keyid=\"poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U\"",
        ";alg=\"ed25519\"",
        ";expires=4889289600",
        ";nonce=\"n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==\"",
        ";tag=\"web-bot-auth\"",
    ),
};

/// The same message re-signed with the parameters in `httpsig`'s order.
pub const REORDERED: Vector = Vector {
    name: "reordered",
    signature_input: concat!(
        r#"sig2=("@authority" "signature-agent";key="agent2")"#,
        r#";created=1735689600"#,
        r#";expires=4889289600"#,
        r#";nonce="n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==""#,
        r#";alg="ed25519""#,
        r#";keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U""#,
        r#";tag="web-bot-auth""#,
    ),
    signature: "sig2=:W4HAp9awtDuAcBKRnjYq1CnBGWtsfVFxBm2v01toqc4uXV8mlpqwwFrIRUch6reItfpVf3neTgIY1Lkko+FpAA==:",
    base: concat!(
        "\"@authority\": example.com\n",
        "\"signature-agent\";key=\"agent2\": \"https://signature-agent.test\"\n",
        "\"@signature-params\": (\"@authority\" \"signature-agent\";key=\"agent2\")",
        ";created=1735689600",
        ";expires=4889289600",
        ";nonce=\"n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==\"",
        ";alg=\"ed25519\"",
        ";keyid=\"poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U\"",
        ";tag=\"web-bot-auth\"",
    ),
};

impl Vector {
    /// The raw signature: the byte sequence of the `Signature` member.
    pub fn signature_bytes(&self) -> [u8; 64] {
        let b64 = self
            .signature
            .split_once("=:")
            .and_then(|(_, rest)| rest.strip_suffix(':'))
            .unwrap_or("");
        let mut out = [0u8; 64];
        if let Ok(bytes) = STANDARD.decode(b64)
            && let Some(prefix) = out.get_mut(..bytes.len())
        {
            prefix.copy_from_slice(&bytes);
        }
        out
    }

    /// The RFC 9421 test-request carrying this signature.
    ///
    /// The URI is in absolute form (as an HTTP/2 server or a proxy sees it), with a `Host` field
    /// too: `httpsig-hyper` derives `@authority` from the URI only.
    pub fn request(&self) -> http::Request<String> {
        request_with(SIGNATURE_AGENT, self.signature_input, self.signature)
    }
}

/// The RFC 9421 test-request with these three fields; the body type implements `http_body::Body`
/// (which `httpsig-hyper` requires).
pub fn request_with(agent: &str, input: &str, signature: &str) -> http::Request<String> {
    let mut req = http::Request::new(String::from("{\"hello\": \"world\"}"));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = http::Uri::from_static("https://example.com/foo?param=Value&Pet=dog");
    let headers = req.headers_mut();
    let mut add = |name: &'static str, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            headers.append(name, v);
        }
    };
    add("host", "example.com");
    add("date", "Tue, 20 Apr 2021 02:07:55 GMT");
    add("content-type", "application/json");
    add(
        "content-digest",
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    );
    add("content-length", "18");
    add("signature-agent", agent);
    add("signature-input", input);
    add("signature", signature);
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_FILE: &str = include_str!(
        "../../web-bot-auth/tests/data/vectors/wba-protocol-02-ed25519-signature-agent-included-present-on-the-request.txt"
    );
    const KEY_FILE: &str =
        include_str!("../../web-bot-auth/tests/data/keys/test-key-ed25519.jwk.json");

    #[test]
    fn published_vector_matches_the_test_data() {
        let unwrapped = VECTOR_FILE.split_once("UNWRAPPED").map(|(_, u)| u).unwrap();
        let base = unwrapped
            .split_once("<<<BEGIN\n")
            .and_then(|(_, rest)| rest.split_once("\nEND>>>"))
            .map(|(b, _)| b)
            .unwrap();
        assert_eq!(base, PUBLISHED.base);
        let line = |name: &str| {
            unwrapped
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap()
        };
        assert_eq!(line("Signature-Agent: "), SIGNATURE_AGENT);
        assert_eq!(line("Signature-Input: "), PUBLISHED.signature_input);
        assert_eq!(line("Signature: "), PUBLISHED.signature);
    }

    #[test]
    fn key_matches_the_test_data() {
        let jwk = web_bot_auth::keys::Jwk::from_json(KEY_FILE).unwrap();
        let public = web_bot_auth::keys::VerifyingKey::from_jwk_json(PUBLIC_JWK).unwrap();
        assert_eq!(jwk.thumbprint().unwrap(), KEYID);
        assert_eq!(public.thumbprint(), KEYID);
        assert_eq!(
            web_bot_auth::keys::VerifyingKey::ed25519(&PUBLIC_KEY)
                .unwrap()
                .thumbprint(),
            KEYID
        );
    }

    /// Both signatures are the test key's (deterministic) signatures of their bases.
    #[test]
    fn vectors_are_signed_by_the_test_key() {
        let key = web_bot_auth::keys::SigningKey::from_jwk_json(KEY_FILE).unwrap();
        for v in [PUBLISHED, REORDERED] {
            assert_eq!(
                key.sign(v.base.as_bytes()).unwrap(),
                v.signature_bytes().to_vec(),
                "{}",
                v.name
            );
        }
    }

    /// The reordered vector differs from the published one only in the parameter order.
    #[test]
    fn reordered_is_a_permutation_of_published() {
        let params = |input: &'static str| {
            let (components, rest) = input.split_once(')').unwrap();
            let mut p: Vec<&str> = rest.split(';').collect();
            p.sort_unstable();
            (components, p)
        };
        assert_eq!(
            params(PUBLISHED.signature_input),
            params(REORDERED.signature_input)
        );
        assert_ne!(PUBLISHED.signature_input, REORDERED.signature_input);
        assert_eq!(PUBLISHED.base.len(), REORDERED.base.len());
        let head = |b: &'static str| b.split_once("\"@signature-params\"").unwrap().0;
        assert_eq!(head(PUBLISHED.base), head(REORDERED.base));
    }

    #[test]
    fn request_carries_the_fields() {
        let req = REORDERED.request();
        assert_eq!(req.uri().authority().unwrap().as_str(), "example.com");
        assert_eq!(req.headers()["host"], "example.com");
        assert_eq!(req.headers()["signature-agent"], SIGNATURE_AGENT);
        assert_eq!(req.headers()["signature-input"], REORDERED.signature_input);
        assert_eq!(req.headers()["signature"], REORDERED.signature);
    }
}
