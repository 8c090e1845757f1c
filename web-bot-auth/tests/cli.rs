//! The `web-bot-auth` command-line tool, run as a process: keygen, thumbprint, directory, sign
//! and verify (Web Bot Auth profile and plain RFC 9421), with their exit statuses.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use serde_json::Value;

/// A scratch directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "web-bot-auth-cli-{}-{name}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// Writes `contents` to `file` and returns its path as a string.
    fn write(&self, file: &str, contents: &str) -> String {
        let p = self.path(file);
        std::fs::write(&p, contents).unwrap();
        s(&p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

fn key_path(name: &str) -> String {
    s(&data_path(&format!("keys/{name}")))
}

/// Runs the tool with `args` (and `stdin`, when given).
fn run_with(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_web-bot-auth"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_with(args, None)
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The JSON reports of `verify`, one per line.
fn reports(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Runs `verify` and checks the exit status; returns the reports.
fn verify(args: &[&str], expected: i32) -> Vec<Value> {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert_eq!(
        code(&out),
        expected,
        "verify {args:?}\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    reports(&out)
}

fn keygen(dir: &TempDir, name: &str) -> (String, Value) {
    let path = dir.path(name);
    let out = run(&["keygen", "--out", &s(&path)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let jwk: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (s(&path), jwk)
}

// ---------------------------------------------------------------------------------------------
// keygen, thumbprint, directory

#[test]
fn keygen_thumbprint_and_directory() {
    let dir = TempDir::new("keygen");
    let (k1, jwk1) = keygen(&dir, "k1.json");
    let (k2, jwk2) = keygen(&dir, "k2.json");
    assert_eq!(jwk1["kty"], "OKP");
    assert_eq!(jwk1["crv"], "Ed25519");
    assert!(jwk1["d"].is_string(), "a private JWK");
    assert_ne!(jwk1["kid"], jwk2["kid"]);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&k1).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The thumbprint of the file is its kid.
    let out = run(&["thumbprint", &k1]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", jwk1["kid"].as_str().unwrap()));

    // An existing key file is not overwritten.
    let before = std::fs::read_to_string(&k1).unwrap();
    let out = run(&["keygen", "--out", &k1]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("k1.json"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&k1).unwrap(), before);

    // keygen to standard output.
    let out = run(&["keygen"]);
    assert_eq!(code(&out), 0);
    let jwk: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(jwk["kid"].is_string() && jwk["d"].is_string());

    // The directory lists both public keys, and no private member.
    let out = run(&["directory", "--key", &k1, "--key", &k2]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let jwks: Value = serde_json::from_str(&text).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for (key, original) in keys.iter().zip([&jwk1, &jwk2]) {
        assert_eq!(key["kid"], original["kid"]);
        assert_eq!(key["x"], original["x"]);
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "{key}");
    }
    assert!(!text.contains(jwk1["d"].as_str().unwrap()));
    assert!(!text.contains("\"d\""));
}

#[test]
fn thumbprints_of_the_rfc9421_test_keys() {
    // RFC 9421 B.1 thumbprints, from every form of each key (RSA keys without an alg too).
    let expected = [
        (
            "test-key-rsa",
            "BHj8s0GPnMEQtkaULIM-PLgEhLBbuGUQ1vMxmBWZzEo",
        ),
        (
            "test-key-rsa-pss",
            "oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA",
        ),
        (
            "test-key-ecc-p256",
            "ydQXMtvbsOsZyFir-Y7A8t7fKEM1gbKPvyFkdpu4fvI",
        ),
        (
            "test-key-ed25519",
            "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U",
        ),
    ];
    for (name, thumbprint) in expected {
        for form in ["pub.pem", "priv.pem", "jwk.json"] {
            let out = run(&["thumbprint", &key_path(&format!("{name}.{form}"))]);
            assert_eq!(code(&out), 0, "{name}.{form}: {}", stderr(&out));
            assert_eq!(stdout(&out), format!("{thumbprint}\n"), "{name}.{form}");
        }
    }
}

#[test]
fn key_file_errors_name_the_file() {
    let dir = TempDir::new("keyerr");
    let missing = s(&dir.path("missing.json"));
    let out = run(&["thumbprint", &missing]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("missing.json"), "{}", stderr(&out));

    let bad = dir.write("bad.json", "{\"kty\":\n  3}");
    let out = run(&["thumbprint", &bad]);
    assert_eq!(code(&out), 3);
    let err = stderr(&out);
    assert!(err.contains("bad.json") && err.contains("line 2"), "{err}");

    let neither = dir.write("neither.txt", "hello");
    let out = run(&["directory", "--key", &neither]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("neither.txt"), "{}", stderr(&out));

    // A public key cannot sign.
    let out = run(&[
        "sign",
        "--key",
        &key_path("test-key-ed25519.pub.pem"),
        "--agent",
        "https://bot.example",
        "https://example.com/",
    ]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("private key"), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------------
// sign and verify (Web Bot Auth profile)

fn sign(args: &[&str]) -> String {
    let mut all = vec!["sign"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert_eq!(code(&out), 0, "sign {args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn sign_verify_round_trip() {
    let dir = TempDir::new("roundtrip");
    let (key, jwk) = keygen(&dir, "bot.json");
    let kid = jwk["kid"].as_str().unwrap();
    let text = sign(&[
        "--key",
        &key,
        "--agent",
        "https://bot.example/directory",
        "--method",
        "POST",
        "--header",
        "Accept: text/html",
        "--header",
        "X-Trace:  abc ",
        "--nonce",
        "--label",
        "bot",
        "https://Example.com:8443/a/b?x=1&y=2",
    ]);
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0], "POST /a/b?x=1&y=2 HTTP/1.1");
    assert_eq!(lines[1], "Host: Example.com:8443");
    assert_eq!(lines[2], "Accept: text/html");
    assert_eq!(lines[3], "X-Trace: abc");
    assert_eq!(
        lines[4],
        "Signature-Agent: agent1=\"https://bot.example/directory\""
    );
    assert!(lines[5].starts_with(
        "Signature-Input: bot=(\"@authority\" \"signature-agent\";key=\"agent1\");created="
    ));
    assert!(lines[5].contains(&format!("keyid=\"{kid}\"")));
    assert!(lines[5].contains(";nonce="));
    assert!(lines[5].contains("tag=\"web-bot-auth\""));
    assert!(lines[6].starts_with("Signature: bot=:"));
    assert!(text.ends_with("\n\n"), "ends with an empty line");
    let msg = dir.write("req.http", &text);

    let r = verify(&["--key", &key, &msg], 0);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["label"], "bot");
    assert_eq!(r[0]["outcome"], "verified");
    assert_eq!(r[0]["keyid"], kid);
    assert_eq!(r[0]["alg"], "ed25519");
    assert_eq!(r[0]["agent"], "https://bot.example/directory");
    assert!(r[0]["reason"].is_null());

    // From standard input, and with the key from a directory file.
    let out = run(&["directory", "--key", &key]);
    let jwks = dir.write("jwks.json", &stdout(&out));
    let out = run_with(&["verify", "--jwks", &jwks, "-"], Some(&text));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(reports(&out)[0]["outcome"], "verified");

    // A key that is not the signer's: nothing to verify.
    let (other, _) = keygen(&dir, "other.json");
    let r = verify(&["--key", &other, &msg], 2);
    assert_eq!(r[0]["outcome"], "unverified");
    assert!(r[0]["reason"].as_str().unwrap().contains(kid));
    // No key at all.
    verify(&[&msg], 2);
}

#[test]
fn verify_rejects_expired_and_tampered_requests() {
    let dir = TempDir::new("tamper");
    let (key, _) = keygen(&dir, "bot.json");
    let text = sign(&[
        "--key",
        &key,
        "--agent",
        "https://bot.example",
        "--created",
        "1700000000",
        "--expires-in",
        "60",
        "https://example.com/page",
    ]);
    assert!(text.contains(";created=1700000000;expires=1700000060;"));
    assert!(!text.contains(";nonce="), "no nonce unless asked");
    let msg = dir.write("req.http", &text);

    let r = verify(&["--key", &key, "--now", "1700000030", &msg], 0);
    assert_eq!(r[0]["label"], "sig1");
    assert_eq!(r[0]["outcome"], "verified");

    // Past expiry (beyond the skew).
    let r = verify(&["--key", &key, "--now", "1700001000", &msg], 1);
    assert_eq!(r[0]["outcome"], "invalid");
    assert!(
        r[0]["reason"].as_str().unwrap().contains("expired"),
        "{}",
        r[0]
    );
    // Within a larger skew it passes.
    verify(
        &["--key", &key, "--now", "1700001000", "--skew", "1000", &msg],
        0,
    );
    // Before creation.
    let r = verify(&["--key", &key, "--now", "1699990000", &msg], 1);
    assert!(r[0]["reason"].as_str().unwrap().contains("future"));

    // Another Host: the signature no longer matches.
    let tampered = text.replace("Host: example.com\n", "Host: evil.example\n");
    assert_ne!(tampered, text);
    let bad = dir.write("tampered.http", &tampered);
    let r = verify(&["--key", &key, "--now", "1700000030", &bad], 1);
    assert_eq!(r[0]["outcome"], "invalid");
    assert_eq!(r[0]["reason"], "signature does not match");
}

#[test]
fn verify_with_nothing_to_verify() {
    let r = verify(
        &[
            "--key",
            &key_path("test-key-ed25519.pub.pem"),
            &s(&data_path("messages/test-request.http")),
        ],
        2,
    );
    assert!(r.is_empty());
}

#[test]
fn verify_input_errors() {
    let dir = TempDir::new("inputerr");
    let (key, _) = keygen(&dir, "bot.json");

    // A garbage message: the parse error with its position.
    let garbage = dir.write("garbage.http", "GET /\u{7f} HTTP/1.1\nHost: x\n\n");
    let out = run(&["verify", "--key", &key, &garbage]);
    assert_eq!(code(&out), 3);
    let err = stderr(&out);
    assert!(
        err.contains("garbage.http") && err.contains("line 1, column"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());

    let garbage = dir.write("garbage2.http", "hello world\n");
    let out = run(&["verify", "--key", &key, &garbage]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("line 1, column"), "{}", stderr(&out));

    let folded = dir.write("field.http", "GET / HTTP/1.1\nHost: a\nBad Field: x\n\n");
    let out = run(&["verify", "--key", &key, &folded]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("line 3, column"), "{}", stderr(&out));

    // A missing message file, a missing key file.
    let out = run(&["verify", "--key", &key, &s(&dir.path("none.http"))]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("none.http"));
    let msg = s(&data_path("messages/test-request.http"));
    let out = run(&["verify", "--key", &s(&dir.path("nokey.json")), &msg]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("nokey.json"), "{}", stderr(&out));

    // --request-of is for responses only.
    let out = run(&["verify", "--request-of", &msg, &msg]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("--request-of"));
}

#[test]
fn usage_errors_exit_3_and_help_exits_0() {
    for args in [
        vec!["verify", "--bogus", "x.http"],
        vec!["verify"],
        vec!["verify", "--profile", "nope", "x.http"],
        vec!["verify", "--now", "yesterday", "x.http"],
        vec!["sign", "https://example.com/"],
        vec!["directory"],
        vec!["frobnicate"],
        vec![],
    ] {
        let out = run(&args);
        assert_eq!(code(&out), 3, "{args:?}");
        assert!(!stderr(&out).is_empty(), "{args:?}");
    }
    for args in [
        vec!["--help"],
        vec!["--version"],
        vec!["verify", "--help"],
        vec!["sign", "-h"],
        vec!["help", "keygen"],
    ] {
        let out = run(&args);
        assert_eq!(code(&out), 0, "{args:?}");
        assert!(!stdout(&out).is_empty(), "{args:?}");
    }
}

#[test]
fn sign_usage_errors() {
    let dir = TempDir::new("signerr");
    let (key, _) = keygen(&dir, "bot.json");
    let base = [
        "sign",
        "--key",
        key.as_str(),
        "--agent",
        "https://bot.example",
    ];
    for extra in [
        vec!["example.com/x"],
        vec!["ftp://example.com/x"],
        vec!["--method", "GE T", "https://example.com/"],
        vec!["--header", "NoColon", "https://example.com/"],
        vec!["--header", "Host: other", "https://example.com/"],
        vec!["--label", "Bad Label", "https://example.com/"],
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(&extra);
        let out = run(&args);
        assert_eq!(code(&out), 3, "{extra:?}: {}", stdout(&out));
        assert!(stderr(&out).contains("error"), "{extra:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 9421 Appendix B.2 vectors, --profile rfc9421

/// A vector's message (request or response) with its Signature-Input and Signature added.
fn vector_message(file: &str, response: bool) -> String {
    let text = vector(file);
    let input = line_after(&text, "--- Signature-Input field value ---");
    let sig = line_after(&text, "--- Signature field value ---");
    let msg = if response {
        test_response()
    } else {
        test_request()
    };
    with_fields(&msg, &[("Signature-Input", &input), ("Signature", &sig)])
}

/// The RFC 9421 B.1.5 shared secret as an `oct` JWK file.
fn hmac_jwk(dir: &TempDir, kid: Option<&str>) -> String {
    use base64::Engine;
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(shared_secret());
    let jwk = match kid {
        Some(kid) => serde_json::json!({"kty": "oct", "k": k, "kid": kid}),
        None => serde_json::json!({"kty": "oct", "k": k}),
    };
    dir.write(
        &format!("hmac-{}.json", kid.unwrap_or("nokid")),
        &jwk.to_string(),
    )
}

const RFC9421_NOW: &str = "1618884473";

#[test]
fn rfc9421_appendix_b2_vectors() {
    let dir = TempDir::new("rfc9421");
    let hmac = hmac_jwk(&dir, None);
    let hmac_named = hmac_jwk(&dir, Some("test-shared-secret"));
    let cases: Vec<(&str, bool, &str, Vec<String>)> = vec![
        (
            "rfc9421-b21.txt",
            false,
            "sig-b21",
            vec![
                key_path("test-key-rsa-pss.pub.pem"),
                key_path("test-key-rsa-pss.priv.pem"),
                key_path("test-key-rsa-pss.jwk.json"),
            ],
        ),
        (
            "rfc9421-b22.txt",
            false,
            "sig-b22",
            vec![
                key_path("test-key-rsa-pss.pub.pem"),
                key_path("test-key-rsa-pss.jwk.json"),
            ],
        ),
        (
            "rfc9421-b23.txt",
            false,
            "sig-b23",
            vec![
                key_path("test-key-rsa-pss.pub.pem"),
                key_path("test-key-rsa-pss.jwk.json"),
            ],
        ),
        (
            "rfc9421-b24.txt",
            true,
            "sig-b24",
            vec![
                key_path("test-key-ecc-p256.pub.pem"),
                key_path("test-key-ecc-p256.jwk.json"),
            ],
        ),
        ("rfc9421-b25.txt", false, "sig-b25", vec![hmac, hmac_named]),
        (
            "rfc9421-b26.txt",
            false,
            "sig-b26",
            vec![
                key_path("test-key-ed25519.pub.pem"),
                key_path("test-key-ed25519.priv.pem"),
                key_path("test-key-ed25519.jwk.json"),
            ],
        ),
    ];
    for (file, response, label, keys) in cases {
        let msg = dir.write(&format!("{label}.http"), &vector_message(file, response));
        for key in &keys {
            let r = verify(
                &[
                    "--profile",
                    "rfc9421",
                    "--key",
                    key,
                    "--now",
                    RFC9421_NOW,
                    &msg,
                ],
                0,
            );
            assert_eq!(r.len(), 1, "{file}");
            assert_eq!(r[0]["label"], label, "{file}");
            assert_eq!(r[0]["outcome"], "verified", "{file} {key}: {}", r[0]);
            assert!(r[0]["agent"].is_null() && r[0]["reason"].is_null());
        }
    }
}

#[test]
fn rfc9421_key_selection() {
    let dir = TempDir::new("select");
    let b26 = dir.write("b26.http", &vector_message("rfc9421-b26.txt", false));
    let b21 = dir.write("b21.http", &vector_message("rfc9421-b21.txt", false));
    let ed = key_path("test-key-ed25519.pub.pem");
    let ed_jwk = key_path("test-key-ed25519.jwk.json");
    let p256 = key_path("test-key-ecc-p256.pub.pem");
    let rsa = key_path("test-key-rsa.pub.pem");
    let pss_jwk = key_path("test-key-rsa-pss.jwk.json");
    let now = ["--profile", "rfc9421", "--now", RFC9421_NOW];
    let with = |keys: &[&str], msg: &str, expected: i32| {
        let mut args: Vec<&str> = now.to_vec();
        for k in keys {
            args.extend_from_slice(&["--key", k]);
        }
        args.push(msg);
        verify(&args, expected)
    };

    // The JWK kid names the key among several.
    let r = with(&[&p256, &ed_jwk, &pss_jwk], &b26, 0);
    assert_eq!(r[0]["alg"], "ed25519");
    // Several keys, none named: nothing to verify.
    let r = with(&[&p256, &ed], &b26, 2);
    assert_eq!(r[0]["outcome"], "unverified");
    assert_eq!(r[0]["keyid"], "test-key-ed25519");
    // The one given key is the wrong one.
    let r = with(&[&p256], &b26, 1);
    assert_eq!(r[0]["outcome"], "invalid");
    assert_eq!(r[0]["reason"], "signature does not match");
    // An RSA key of unstated algorithm is tried both ways; neither matches.
    let r = with(&[&rsa], &b21, 1);
    assert_eq!(r[0]["reason"], "signature does not match");
    // The kid names the RSA-PSS key among several, and it verifies as rsa-pss-sha512.
    let r = with(&[&rsa, &pss_jwk, &ed], &b21, 0);
    assert_eq!(r[0]["alg"], "rsa-pss-sha512");
    // Too late for the signature? B.2 signatures have no expires: any later time is fine.
    verify(
        &[
            "--profile",
            "rfc9421",
            "--key",
            &ed,
            "--now",
            "2000000000",
            &b26,
        ],
        0,
    );
    // But not before created.
    let r = verify(
        &[
            "--profile",
            "rfc9421",
            "--key",
            &ed,
            "--now",
            "1600000000",
            &b26,
        ],
        1,
    );
    assert!(r[0]["reason"].as_str().unwrap().contains("future"));

    // Under the default profile, an RFC 9421 signature is not a Web Bot Auth one.
    let r = verify(&["--key", &ed, "--now", RFC9421_NOW, &b26], 2);
    assert_eq!(r[0]["outcome"], "unverified");
}

#[test]
fn rfc9421_several_signatures_are_reported_each() {
    let dir = TempDir::new("multi");
    let b26 = vector("rfc9421-b26.txt");
    let b22 = vector("rfc9421-b22.txt");
    let msg = with_fields(
        &test_request(),
        &[
            (
                "Signature-Input",
                &line_after(&b26, "--- Signature-Input field value ---"),
            ),
            (
                "Signature",
                &line_after(&b26, "--- Signature field value ---"),
            ),
            (
                "Signature-Input",
                &line_after(&b22, "--- Signature-Input field value ---"),
            ),
            (
                "Signature",
                &line_after(&b22, "--- Signature field value ---"),
            ),
        ],
    );
    let msg = dir.write("multi.http", &msg);
    let ed = key_path("test-key-ed25519.jwk.json");
    let pss = key_path("test-key-rsa-pss.jwk.json");
    let r = verify(
        &[
            "--profile",
            "rfc9421",
            "--now",
            RFC9421_NOW,
            "--key",
            &ed,
            "--key",
            &pss,
            &msg,
        ],
        0,
    );
    let outcomes: Vec<(&str, &str)> = r
        .iter()
        .map(|r| (r["label"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, [("sig-b26", "verified"), ("sig-b22", "verified")]);
    // With only the Ed25519 key, that one key is also tried for sig-b22 and fails; one
    // signature verified, so the exit status is still 0.
    let r = verify(
        &[
            "--profile",
            "rfc9421",
            "--now",
            RFC9421_NOW,
            "--key",
            &ed,
            &msg,
        ],
        0,
    );
    assert_eq!(r[0]["outcome"], "verified");
    assert_eq!(r[1]["outcome"], "invalid");
}

#[test]
fn rfc9421_response_with_the_request_it_answers() {
    // The protocol-02 signed directory response covers "@authority";req.
    let dir = TempDir::new("reqof");
    let text = vector("wba-protocol-02-ed25519-signed-directory-response.txt");
    let body = line_after(&text, "response body bytes (exact, no trailing newline):");
    let input = field_line(&text, "UNWRAPPED", "Signature-Input");
    let sig = field_line(&text, "UNWRAPPED", "Signature");
    let response = format!(
        "HTTP/1.1 200 OK\nContent-Type: application/http-message-signatures-directory+json\n\
         Content-Digest: sha-256=:CADMT2aBdV/rqQr/NIru64ERQkCobVvllA4V0fLFDu0=:\n\
         Signature-Input: {input}\nSignature: {sig}\nContent-Length: {}\n\n{body}",
        body.len()
    );
    let response = dir.write("response.http", &response);
    let request = dir.write(
        "request.http",
        "GET /.well-known/http-message-signatures-directory HTTP/1.1\n\
         Host: signature-agent.test\n\
         Accept: application/http-message-signatures-directory+json\n\n",
    );
    let key = key_path("test-key-ed25519.pub.pem");
    let args = ["--profile", "rfc9421", "--key", &key, "--now", "1735689600"];

    let mut with_request = args.to_vec();
    with_request.extend_from_slice(&["--request-of", &request, &response]);
    let r = verify(&with_request, 0);
    assert_eq!(r[0]["label"], "binding");
    assert_eq!(r[0]["outcome"], "verified");

    let mut without = args.to_vec();
    without.push(&response);
    let r = verify(&without, 1);
    assert!(
        r[0]["reason"].as_str().unwrap().contains("request"),
        "{}",
        r[0]
    );

    // Another authority in the request: no match.
    let other = dir.write(
        "other.http",
        "GET /.well-known/http-message-signatures-directory HTTP/1.1\nHost: evil.test\n\n",
    );
    let mut wrong = args.to_vec();
    wrong.extend_from_slice(&["--request-of", &other, &response]);
    verify(&wrong, 1);

    // --request-of must name a request.
    let mut not_request = args.to_vec();
    not_request.extend_from_slice(&["--request-of", &response, &response]);
    let out = run(&[&["verify"][..], not_request.as_slice()].concat());
    assert_eq!(code(&out), 3);
}

#[test]
fn hmac_is_refused_by_the_web_bot_auth_profile() {
    let dir = TempDir::new("hmac");
    let hmac = hmac_jwk(&dir, None);
    // An oct key cannot sign for Web Bot Auth.
    let out = run(&[
        "sign",
        "--key",
        &hmac,
        "--agent",
        "https://bot.example",
        "https://example.com/",
    ]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("hmac-nokid.json"), "{}", stderr(&out));
    // Nor be published.
    let out = run(&["directory", "--key", &hmac]);
    assert_eq!(code(&out), 3);
}

// ---------------------------------------------------------------------------------------------
// draft-meunier-webbotauth-httpsig-protocol-02 vectors, default profile

/// The vector's request: test-request plus its Signature-Agent, Signature-Input, Signature.
fn protocol_message(file: &str) -> String {
    let text = vector(file);
    let agent = field_line(&text, "UNWRAPPED", "Signature-Agent");
    let input = field_line(&text, "UNWRAPPED", "Signature-Input");
    let sig = field_line(&text, "UNWRAPPED", "Signature");
    with_fields(
        &test_request(),
        &[
            ("Signature-Agent", &agent),
            ("Signature-Input", &input),
            ("Signature", &sig),
        ],
    )
}

const PROTOCOL_NOW: &str = "1735689600";

#[test]
fn protocol_02_vectors_verify_with_test_keys_allowed() {
    let dir = TempDir::new("protocol");
    let cases = [
        (
            "wba-protocol-02-ed25519-signature-agent-included-present-on-the-request.txt",
            "test-key-ed25519",
            "ed25519",
            "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U",
            true,
        ),
        (
            "wba-protocol-02-ed25519-legacy-signature-agent-sf-string.txt",
            "test-key-ed25519",
            "ed25519",
            "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U",
            false,
        ),
        (
            "wba-protocol-02-rsa-signature-agent-included-present-on-the-request.txt",
            "test-key-rsa-pss",
            "rsa-pss-sha512",
            "oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA",
            true,
        ),
        (
            "wba-protocol-02-rsa-legacy-signature-agent-sf-string.txt",
            "test-key-rsa-pss",
            "rsa-pss-sha512",
            "oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA",
            false,
        ),
    ];
    for (i, (file, key, alg, keyid, long_lived)) in cases.into_iter().enumerate() {
        let msg = dir.write(&format!("{i}.http"), &protocol_message(file));
        // The dictionary-form vectors expire in 2124: far beyond the default 24 h lifetime.
        let lifetime = if long_lived { "4000000000" } else { "86400" };
        for form in ["pub.pem", "jwk.json", "priv.pem"] {
            let key = key_path(&format!("{key}.{form}"));
            let r = verify(
                &[
                    "--key",
                    &key,
                    "--allow-test-keys",
                    "--now",
                    PROTOCOL_NOW,
                    "--max-lifetime",
                    lifetime,
                    &msg,
                ],
                0,
            );
            assert_eq!(r.len(), 1);
            assert_eq!(r[0]["label"], "sig2");
            assert_eq!(r[0]["outcome"], "verified", "{file} {form}: {}", r[0]);
            assert_eq!(r[0]["keyid"], keyid);
            assert_eq!(r[0]["alg"], alg);
            assert_eq!(r[0]["agent"], "https://signature-agent.test");
            assert!(r[0]["reason"].is_null());
        }
        let key = key_path(&format!("{key}.pub.pem"));

        // Without --allow-test-keys: refused.
        let r = verify(
            &[
                "--key",
                &key,
                "--now",
                PROTOCOL_NOW,
                "--max-lifetime",
                lifetime,
                &msg,
            ],
            1,
        );
        assert_eq!(r[0]["outcome"], "invalid");
        assert!(
            r[0]["reason"].as_str().unwrap().contains("test key"),
            "{}",
            r[0]
        );

        if long_lived {
            // With the default maximum lifetime: refused as too long-lived.
            let r = verify(
                &[
                    "--key",
                    &key,
                    "--allow-test-keys",
                    "--now",
                    PROTOCOL_NOW,
                    &msg,
                ],
                1,
            );
            assert!(
                r[0]["reason"].as_str().unwrap().contains("lifetime"),
                "{}",
                r[0]
            );
        } else {
            // The legacy vectors expire an hour after creation.
            let r = verify(
                &[
                    "--key",
                    &key,
                    "--allow-test-keys",
                    "--now",
                    "1735700000",
                    &msg,
                ],
                1,
            );
            assert!(r[0]["reason"].as_str().unwrap().contains("expired"));
        }
    }
}
