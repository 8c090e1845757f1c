//! End-to-end tests of the smaller examples, each binary run on an ephemeral loopback port and
//! driven over real HTTP: `actix_store` (the bot-policy cases with the whole pay-per-crawl
//! exchange, MCP calls through `rmcp`'s own client with each credential kind), `hyper_minimal`
//! (the anonymous and API-token calls), and `signing_client` paying both stores.

// Test helpers panic on anything unexpected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{
    GPTBOT, Listening, assert_pay_per_crawl, browser_get, call, get_with, header, mcp_client,
    post_mcp, signed_get, start_listening, tools_call,
};
use examples::store::DEFAULT_AUTH_SERVER;
use serde_json::{Value, json};
use web_bot_auth::clock::SystemClock;
use web_bot_auth::directory::{DIRECTORY_MEDIA_TYPE, DIRECTORY_PATH, verify_directory_response};
use web_bot_auth::keys::SigningKey;

/// What `actix_store` and `hyper_minimal` print before their API token.
const TOKEN_LINE: &str = "API token (inventory:read): ";

/// `actix_store` running (`base`) with its data in `dir`, and the API token it printed
/// (`ready`).
async fn start(dir: &Path) -> Listening {
    let args = [OsStr::new("--data-dir"), dir.as_os_str()];
    start_listening(env!("CARGO_BIN_EXE_actix_store"), &args, TOKEN_LINE).await
}

#[tokio::test]
async fn actix_store_runs_bot_policy_and_pay_per_crawl() {
    let tmp = tempfile::tempdir().unwrap();
    let store = start(tmp.path()).await;
    let base = &store.base;
    let page = format!("{base}/products/scale");
    // The demo crawler's key is kept in the data directory, as the axum store keeps it.
    let key = std::fs::read_to_string(tmp.path().join("demo-crawler-key.jwk")).unwrap();

    // A browser reads the page.
    let response = browser_get(&page).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Coffee scale"));

    // A spoofed GPTBot is blocked; a script is challenged on pages.
    let response = get_with(&page, &[("user-agent", GPTBOT)]).await;
    assert_eq!(response.status(), 403);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"forbidden"}"#);
    let response = get_with(&page, &[("user-agent", "curl/8.5.0")]).await;
    assert_eq!(response.status(), 403);
    assert_eq!(header(&response, "cf-mitigated"), "challenge");

    // The signed crawler is verified by its signature.
    let response = signed_get(&key, &format!("{base}/api/products"), &[], None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["visitor"]["signature"], "verified");
    assert_eq!(body["visitor"]["verified_by"], "signature");
    assert_eq!(body["visitor"]["bot"], "DemoCrawler");

    // The whole pay-per-crawl exchange, through `negotiate` in the actix middleware.
    assert_pay_per_crawl(&key, &page, &format!("{base}/products/no-such-thing")).await;

    // The store's own key directory: served to anyone, its response signed by the key it
    // publishes, for the authority it was fetched from.
    let response = get_with(&format!("{base}{DIRECTORY_PATH}"), &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), DIRECTORY_MEDIA_TYPE);
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap();
    let authority = base.strip_prefix("http://").unwrap();
    let verified = verify_directory_response(&headers, &body, authority, &SystemClock, 60).unwrap();
    let own = std::fs::read_to_string(tmp.path().join("store-signing-key.jwk")).unwrap();
    let own = SigningKey::from_jwk_json(&own).unwrap();
    assert_eq!(verified.signed_by, own.thumbprint());
    assert_eq!(verified.keys.len(), 1);
    // Fetched under another name, the response does not verify for this one.
    assert!(verify_directory_response(&headers, &body, "shop.example", &SystemClock, 60).is_err());

    // The unsigned crawler never reaches the exchange (challenged as a likely bot), whatever
    // it offers.
    let offer = [
        ("user-agent", "DemoCrawler/1.0"),
        ("crawler-exact-price", "USD 0.01"),
    ];
    let response = get_with(&page, &offer).await;
    assert_eq!(response.status(), 403);
    assert!(header(&response, "crawler-charged").is_empty());
}

#[tokio::test]
async fn actix_store_gates_mcp_calls() {
    let tmp = tempfile::tempdir().unwrap();
    let store = start(tmp.path()).await;
    assert_mcp_gate(&format!("{}/mcp", store.base), &store.ready).await;
}

#[tokio::test]
async fn actix_store_checks_oauth_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let store = start(tmp.path()).await;
    let url = format!("{}/mcp", store.base);
    let read = store.printed_after("OAuth token (orders:read, user alice): ");
    let write = store.printed_after("OAuth token (orders:read orders:write, user alice): ");

    // orders:read: alice sees her own orders only.
    let alice = mcp_client(&url, Some(read)).await;
    let (error, orders) = call(&alice, "order.status", json!({})).await;
    assert!(!error, "{orders}");
    let orders = orders.as_array().unwrap();
    assert_eq!(orders.len(), 2);
    assert!(orders.iter().all(|o| o["user"] == "alice"));
    alice.cancel().await.unwrap();
    // ...and cannot place an order: 403 with the scope it lacks.
    let intent = || tools_call("order.intent", json!({"slug": "scale", "quantity": 1}));
    let response = post_mcp(&url, Some(read), intent()).await;
    assert_eq!(response.status(), 403);
    let challenge = header(&response, "www-authenticate");
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="orders:write""#), "{challenge}");
    // orders:write can.
    let response = post_mcp(&url, Some(write), intent()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("alice")
    );

    // Without a token: 401 pointing at the metadata, which is served to anyone.
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", store.base);
    let response = post_mcp(&url, None, tools_call("order.status", json!({}))).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        header(&response, "www-authenticate"),
        format!(r#"Bearer resource_metadata="{metadata}", scope="orders:read""#)
    );
    let response = get_with(&metadata, &[("user-agent", "curl/8.5.0")]).await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["resource"], url.as_str());
    assert_eq!(document["authorization_servers"][0], DEFAULT_AUTH_SERVER);
}

#[tokio::test]
async fn hyper_minimal_gates_mcp_calls() {
    let server = start_listening(env!("CARGO_BIN_EXE_hyper_minimal"), &[], TOKEN_LINE).await;
    assert_mcp_gate(&format!("{}/mcp", server.base), &server.ready).await;
}

/// An MCP endpoint with the store's tool map and an API token `token` (scope
/// `inventory:read`): the handshake and the public tools for anyone, `inventory.check` with the
/// token, `401` with a Bearer challenge without it or with a wrong one.
async fn assert_mcp_gate(url: &str, token: &str) {
    // Anonymous: the public tools only.
    let client = mcp_client(url, None).await;
    let (error, products) = call(&client, "catalogue.list", json!({})).await;
    assert!(!error);
    assert!(products.as_array().is_some_and(|p| !p.is_empty()));
    client.cancel().await.unwrap();

    // The API token reaches its scope's tool.
    let client = mcp_client(url, Some(token)).await;
    let (error, stock) = call(
        &client,
        "inventory.check",
        json!({"slug": "pour-over-kettle"}),
    )
    .await;
    assert!(!error, "{stock}");
    client.cancel().await.unwrap();

    // Without it, the same call is refused with the challenge MCP clients read.
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "inventory.check", "arguments": {"slug": "pour-over-kettle"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(header(&response, "www-authenticate").starts_with("Bearer"));
    // A wrong token is refused as invalid.
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth("mcp_not-a-token")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(header(&response, "www-authenticate").contains("invalid_token"));
}

/// Runs `signing_client` with `args`; asserts it succeeds (it checks that it was asked the
/// price, then paid) and returns what it printed.
async fn signing_client(args: &[&OsStr]) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_signing_client"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn signing_client_pays_the_actix_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store = start(tmp.path()).await;
    let key = tmp.path().join("demo-crawler-key.jwk");
    let args = [
        OsStr::new("--store"),
        OsStr::new(&store.base),
        OsStr::new("--key"),
        key.as_os_str(),
    ];
    let printed = signing_client(&args).await;
    assert!(
        printed.contains(r#""verified_by":"signature""#),
        "{printed}"
    );
    assert!(printed.contains("crawler-price: USD 0.01"), "{printed}");
    assert!(printed.contains("crawler-charged: USD 0.01"), "{printed}");
}

#[tokio::test]
async fn signing_client_pays_a_store_of_its_own() {
    let printed = signing_client(&[]).await;
    assert!(
        printed.contains("started a store at http://127.0.0.1:"),
        "{printed}"
    );
    assert!(printed.contains("bot-policy-action: charge"), "{printed}");
    assert!(printed.contains("crawler-charged: USD 0.01"), "{printed}");
}
