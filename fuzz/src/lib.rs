//! Helpers shared by the fuzz targets: fixed field values taken from the test vectors and the
//! round-trip checks that several targets make; [`policy`] and [`catalog`] hold those of the
//! `bot-policy` targets.

pub mod catalog;
pub mod policy;

use sfv::{List, Parser};
use web_bot_auth::params::SignatureParams;

/// A `Signature` field with members for the labels of [`SIGNATURE_INPUT`] (and of the seed
/// corpus): `sig-b21` (RFC 9421 B.2.1), `sig2` (Web Bot Auth Ed25519), `sig1`, `binding`.
pub const SIGNATURE: &str = "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:, sig2=:RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEwYCCg==:, sig1=:AAAA:, binding=:l6P8R67tm3kujAxbHWio7ll01qrEZ0dKD/WWlGhNYEmTnFZM8Wt0VQ9zqGfvo7T/UMkBxsigzChM1Gpz7gOVBg==:";

/// A `Signature-Input` field with the labels of [`SIGNATURE`].
pub const SIGNATURE_INPUT: &str = concat!(
    r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd", "#,
    r#"sig2=("@authority" "signature-agent";key="agent2");created=1735689600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=4889289600;nonce="n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==";tag="web-bot-auth", "#,
    r#"sig1=("@method" "@path" "@query" "content-type" "date" "@authority");created=1618884473;keyid="test-key-ed25519", "#,
    r#"binding=("@authority";req "content-digest");created=1735689600;expires=4889289600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";tag="http-message-signatures-directory""#,
);

/// The `Signature-Agent` of the Web Bot Auth vectors.
pub const SIGNATURE_AGENT: &str = r#"agent2="https://signature-agent.test""#;

/// The signed directory response of draft-meunier-webbotauth-httpsig-protocol-02: body and
/// fields.
pub const DIRECTORY_BODY: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs","use":"sig"}]}"#;
/// `Content-Digest` of [`DIRECTORY_BODY`].
pub const DIRECTORY_DIGEST: &str = "sha-256=:CADMT2aBdV/rqQr/NIru64ERQkCobVvllA4V0fLFDu0=:";
/// `Signature-Input` of the signed directory response.
pub const DIRECTORY_SIGNATURE_INPUT: &str = r#"binding=("@authority";req "content-digest");created=1735689600;expires=4889289600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";tag="http-message-signatures-directory""#;
/// `Signature` of the signed directory response.
pub const DIRECTORY_SIGNATURE: &str = "binding=:l6P8R67tm3kujAxbHWio7ll01qrEZ0dKD/WWlGhNYEmTnFZM8Wt0VQ9zqGfvo7T/UMkBxsigzChM1Gpz7gOVBg==:";
/// The authority that fetched the directory.
pub const DIRECTORY_AUTHORITY: &str = "signature-agent.test";
/// A time inside the validity of the vectors' signatures.
pub const VECTOR_NOW: u64 = 1_735_689_700;

/// RFC 9421 B.1.4 `test-key-ed25519`, public JWK.
pub const TEST_KEY_ED25519_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}"#;

/// Field lines made from fuzz input: one per line (`\n`), so that multi-line fields are
/// combined by the code under test. At most 8 lines.
pub fn field_lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n').take(8)
}

/// Splits `data` at the first `sep` byte: `(before, after)`; all of it before when absent.
pub fn split_once(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Reads a `@signature-params` value (an inner list with parameters) back into
/// [`SignatureParams`], as a verifier reading it from `Signature-Input` would.
pub fn reparse_params(value: &str) -> SignatureParams {
    let list: List = Parser::new(value)
        .parse()
        .unwrap_or_else(|e| panic!("as_str() {value:?} does not parse as a list: {e}"));
    assert_eq!(list.len(), 1, "as_str() {value:?} is not one list member");
    SignatureParams::from_entry(&list[0])
        .unwrap_or_else(|e| panic!("as_str() {value:?} is refused when read back: {e}"))
}

/// Checks that `params` survives serialize → parse unchanged.
pub fn check_params_round_trip(params: &SignatureParams) {
    let again = reparse_params(params.as_str());
    assert_eq!(&again, params, "round trip changed the parameters");
    assert_eq!(
        again.as_str(),
        params.as_str(),
        "serialization is not stable"
    );
}
