//! A bot signs a request with Web Bot Auth; a service verifies it, then refuses a tampered copy
//! and a replay.
//!
//! Run with `cargo run -p examples --bin web_bot_auth_demo`.

use std::sync::Arc;

use web_bot_auth::directory::{DIRECTORY_MEDIA_TYPE, DIRECTORY_PATH, KeyDirectory};
use web_bot_auth::keys::SigningKey;
use web_bot_auth::message::{MessageView, RequestView};
use web_bot_auth::profile::{Outcome, WebBotAuthVerifier};
use web_bot_auth::profile_signer::WebBotAuthSigner;
use web_bot_auth::replay::InMemoryReplayStore;
use web_bot_auth::verify::KeySet;

const AGENT: &str = "https://crawler.example";

fn describe(label: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Verified(v) => println!(
            "{label}: verified — agent {}, keyid {}, valid {}..{}",
            v.agent.as_ref().map_or("-", |a| a.uri.as_str()),
            v.keyid,
            v.created,
            v.expires
        ),
        Outcome::Invalid(i) => println!("{label}: invalid — {}", i.error.reason()),
        Outcome::Unverified(u) => println!("{label}: unverified — {u}"),
    }
}

fn verify(verifier: &WebBotAuthVerifier<KeySet>, request: &http::Request<()>) -> Outcome {
    match RequestView::from_http(request, "https") {
        Ok(view) => verifier.verify(&MessageView::Request(view)),
        Err(e) => {
            println!("cannot view request: {e}");
            Outcome::Unverified(web_bot_auth::profile::UnverifiedReason::NoSignature)
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The bot operator: a key, and the directory it publishes.
    let key = SigningKey::generate_ed25519();
    let public = key.verifying_key().clone();
    let directory = KeyDirectory::from_keys([&public]);
    println!(
        "{AGENT}{DIRECTORY_PATH} ({DIRECTORY_MEDIA_TYPE}):\n  {}\n",
        directory.to_json()
    );

    let signer = WebBotAuthSigner::new(key, AGENT)?;
    let mut request = http::Request::get("https://shop.example/products/42?ref=feed")
        .header("user-agent", "ExampleCrawler/1.0")
        .body(())?;
    signer.sign_http(&mut request, "https")?;
    println!("{} {}", request.method(), request.uri());
    for (name, value) in request.headers() {
        println!("{name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    println!();

    // The service: keys by (agent, keyid), nonces remembered until the signature expires.
    let mut keys = KeySet::new();
    keys.insert_for_agent(AGENT, public);
    let verifier =
        WebBotAuthVerifier::new(keys).with_replay_store(Arc::new(InMemoryReplayStore::default()));

    describe("original", &verify(&verifier, &request));
    describe("replayed", &verify(&verifier, &request));

    let mut tampered = http::Request::get("https://shop.example/checkout").body(())?;
    *tampered.headers_mut() = request.headers().clone();
    *tampered.uri_mut() = "https://other.example/products/42".parse()?;
    describe("tampered authority", &verify(&verifier, &tampered));

    let unsigned = http::Request::get("https://shop.example/").body(())?;
    describe("unsigned", &verify(&verifier, &unsigned));
    Ok(())
}
