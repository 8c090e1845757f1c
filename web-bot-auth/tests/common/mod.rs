//! Helpers shared by the integration tests: reading the vector files.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use web_bot_auth::alg::Algorithm;
use web_bot_auth::http1::{self, Http1Limits, Http1Message};
use web_bot_auth::keys::{SigningKey, VerifyingKey};

pub fn data_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub fn data(rel: &str) -> String {
    std::fs::read_to_string(data_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn vector(name: &str) -> String {
    data(&format!("vectors/{name}"))
}

/// The exact bytes between `<<<BEGIN` and `END>>>` (the n-th such block).
pub fn exact_block(text: &str, n: usize) -> String {
    let mut rest = text;
    for _ in 0..n {
        rest = &rest[rest.find("END>>>").unwrap() + 6..];
    }
    let start = rest.find("<<<BEGIN\n").unwrap() + 9;
    let end = rest[start..].find("\nEND>>>").unwrap();
    rest[start..start + end].to_owned()
}

/// The line that follows the line `marker` (the n-th occurrence).
pub fn line_after(text: &str, marker: &str) -> String {
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim_end() == marker {
            return lines.next().unwrap().to_owned();
        }
    }
    panic!("no line {marker:?}")
}

/// The value of a `Name: value` line in an UNWRAPPED section (the first after `after`).
pub fn field_line(text: &str, after: &str, name: &str) -> String {
    let start = text.find(after).unwrap();
    let prefix = format!("{name}: ");
    text[start..]
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap()
        .to_owned()
}

/// RFC 8792 single-backslash unwrapping: a line ending in `\` joins the next one, whose leading
/// white space is dropped.
pub fn unwrap_8792(text: &str) -> String {
    let text = text
        .strip_prefix("NOTE: '\\' line wrapping per RFC 8792\n\n")
        .unwrap_or(text);
    let mut out = String::new();
    let mut joining = false;
    for line in text.split_inclusive('\n') {
        let line = if joining { line.trim_start() } else { line };
        if let Some(head) = line.strip_suffix("\\\n") {
            out.push_str(head);
            joining = true;
        } else {
            out.push_str(line);
            joining = false;
        }
    }
    out
}

/// The fenced blocks (between `~~~…` lines) of a vector text, unwrapped.
pub fn fenced_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("~~~") {
            match current.take() {
                Some(b) => blocks.push(unwrap_8792(&b)),
                None => current = Some(String::new()),
            }
        } else if let Some(b) = current.as_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks
}

pub fn message(text: &str) -> Http1Message {
    http1::parse(text.as_bytes(), &Http1Limits::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

pub fn test_request() -> String {
    data("messages/test-request.http")
}

pub fn test_response() -> String {
    data("messages/test-response.http")
}

/// A message text with extra field lines inserted after the start line.
pub fn with_fields(msg: &str, fields: &[(&str, &str)]) -> String {
    let (start, rest) = msg.split_once('\n').unwrap();
    let mut out = format!("{start}\n");
    for (n, v) in fields {
        out.push_str(&format!("{n}: {v}\n"));
    }
    out.push_str(rest);
    out
}

pub fn public_key(name: &str, alg: Option<Algorithm>) -> VerifyingKey {
    VerifyingKey::from_pem(&data(&format!("keys/{name}.pub.pem")), alg).unwrap()
}

pub fn private_key(name: &str, alg: Option<Algorithm>) -> SigningKey {
    SigningKey::from_pem(&data(&format!("keys/{name}.priv.pem")), alg).unwrap()
}

pub fn shared_secret() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(data("keys/test-shared-secret.b64").trim())
        .unwrap()
}
