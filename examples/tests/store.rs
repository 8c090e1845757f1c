//! End-to-end tests of the store: started in-process (or as the `store` binary) on an
//! ephemeral loopback port and driven over real HTTP, MCP calls through `rmcp`'s own client.

// Test helpers panic on anything unexpected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{
    GPTBOT, assert_pay_per_crawl, browser_get, call, get_with, header, mcp_client, post_mcp,
    signed_get, start_listening, store_command, tools_call,
};
use examples::store::{DEMO_CRAWLER_AGENT, RunningStore, StoreConfig, start};
use mcp_auth::AuthMode;
use mcp_auth::clock::{Clock, ManualClock, SystemClock};
use mcp_auth::ratelimit::{Quota, RateLimitClass, RateLimits};
use serde_json::{Value, json};

/// A store on a free loopback port with data in `dir`, the given clock and limits.
async fn store_in(
    dir: &Path,
    clock: Option<ManualClock>,
    limits: Option<RateLimits>,
) -> RunningStore {
    let mut config = StoreConfig::new("127.0.0.1:0".parse().unwrap(), dir);
    if let Some(clock) = clock {
        config.clock = Arc::new(clock);
    }
    if let Some(limits) = limits {
        config.rate_limits = limits;
    }
    start(config).await.unwrap()
}

#[tokio::test]
async fn mcp_handshake_with_each_credential() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_in(tmp.path(), None, None).await;
    let creds = store.credentials().clone();

    // Anonymous: initialize, tools/list, an anonymous tool.
    let anonymous = mcp_client(&creds.mcp_url, None).await;
    let info = anonymous.peer_info().unwrap();
    assert!(info.capabilities.tools.is_some());
    let mut names: Vec<String> = anonymous
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "catalogue.list",
            "inventory.check",
            "order.intent",
            "order.status",
            "product.detail"
        ]
    );
    let (error, products) = call(&anonymous, "catalogue.list", json!({"query": "kettle"})).await;
    assert!(!error);
    assert_eq!(products[0]["slug"], "pour-over-kettle");
    let (error, product) = call(&anonymous, "product.detail", json!({"slug": "scale"})).await;
    assert!(!error);
    assert_eq!(product["price_cents"], 4500);
    anonymous.cancel().await.unwrap();

    // API token with inventory:read.
    let partner = mcp_client(&creds.mcp_url, Some(&creds.api_token)).await;
    let (error, stock) = call(&partner, "inventory.check", json!({"slug": "scale"})).await;
    assert!(!error);
    assert_eq!(
        stock,
        json!([{"warehouse": "Lyon", "units": 0}, {"warehouse": "Rotterdam", "units": 6}])
    );
    partner.cancel().await.unwrap();

    // OAuth, orders:read: only alice's orders, and bob's order is "not found".
    let alice = mcp_client(&creds.mcp_url, Some(&creds.oauth_token_read)).await;
    let (error, orders) = call(&alice, "order.status", json!({})).await;
    assert!(!error);
    let orders = orders.as_array().unwrap();
    assert_eq!(orders.len(), 2);
    assert!(orders.iter().all(|o| o["user"] == "alice"));
    let (error, text) = call(&alice, "order.status", json!({"order_id": "ord_1003"})).await;
    assert!(error);
    assert_eq!(text, "no such order");
    alice.cancel().await.unwrap();

    // OAuth, orders:write (which implies orders:read).
    let writer = mcp_client(&creds.mcp_url, Some(&creds.oauth_token_write)).await;
    let (error, intent) = call(
        &writer,
        "order.intent",
        json!({"slug": "scale", "quantity": 2}),
    )
    .await;
    assert!(!error);
    assert_eq!(intent["user"], "alice");
    assert_eq!(intent["status"], "intent");
    assert_eq!(intent["total_cents"], 9000);
    let (error, orders) = call(&writer, "order.status", json!({})).await;
    assert!(!error);
    assert_eq!(orders.as_array().unwrap().len(), 3);
    writer.cancel().await.unwrap();

    store.stop().await.unwrap();
}

#[tokio::test]
async fn every_refusal_has_its_status_and_challenge() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_in(tmp.path(), None, None).await;
    let creds = store.credentials().clone();
    let url = &creds.mcp_url;
    let metadata = format!(
        "http://{}/.well-known/oauth-protected-resource/mcp",
        store.addr()
    );

    // No credentials for an OAuth tool: 401, no error code, the scope and the metadata URL.
    let response = post_mcp(url, None, tools_call("order.status", json!({}))).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        header(&response, "www-authenticate"),
        format!(r#"Bearer resource_metadata="{metadata}", scope="orders:read""#)
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], 7);
    assert_eq!(body["error"]["code"], -31401);

    // No credentials for an API-token tool.
    let response = post_mcp(
        url,
        None,
        tools_call("inventory.check", json!({"slug": "scale"})),
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        header(&response, "www-authenticate"),
        format!(r#"Bearer resource_metadata="{metadata}", scope="inventory:read""#)
    );

    // A token that is not one: 401 invalid_token (also where anonymous calls are allowed).
    for bad in [
        "not.a.jwt",
        "mcpat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let response = post_mcp(url, Some(bad), tools_call("catalogue.list", json!({}))).await;
        assert_eq!(response.status(), 401, "{bad}");
        let challenge = header(&response, "www-authenticate");
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
        assert!(
            challenge.contains(&format!(r#"resource_metadata="{metadata}""#)),
            "{challenge}"
        );
    }

    // An expired token, and one for another audience: 401 invalid_token.
    let admin = examples::store::Admin::open(
        &StoreConfig::new(store.addr(), tmp.path()),
        &format!("http://{}", store.addr()),
    )
    .await
    .unwrap();
    let now = SystemClock.now_unix();
    let expired = admin
        .authority
        .mint("alice", "orders:read", now - 7200, Duration::from_secs(600))
        .unwrap();
    let response = post_mcp(url, Some(&expired), tools_call("order.status", json!({}))).await;
    assert_eq!(response.status(), 401);
    assert!(header(&response, "www-authenticate").contains(r#"error="invalid_token""#));
    let other = examples::store::Admin::open(
        &StoreConfig::new(store.addr(), tmp.path()),
        "http://127.0.0.1:1",
    )
    .await
    .unwrap();
    let elsewhere = other
        .authority
        .mint("alice", "orders:read", now, Duration::from_secs(600))
        .unwrap();
    let response = post_mcp(url, Some(&elsewhere), tools_call("order.status", json!({}))).await;
    assert_eq!(response.status(), 401);
    assert!(header(&response, "www-authenticate").contains(r#"error="invalid_token""#));

    // Valid credentials without the scope: 403 insufficient_scope with every scope needed.
    let response = post_mcp(
        url,
        Some(&creds.oauth_token_read),
        tools_call("order.intent", json!({"slug": "scale", "quantity": 1})),
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        header(&response, "www-authenticate"),
        format!(
            r#"Bearer resource_metadata="{metadata}", scope="orders:write", error="insufficient_scope""#
        )
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -31403);

    // The wrong kind of credentials: an API token for an OAuth tool.
    let response = post_mcp(
        url,
        Some(&creds.api_token),
        tools_call("order.status", json!({})),
    )
    .await;
    assert_eq!(response.status(), 403);
    assert!(header(&response, "www-authenticate").contains(r#"error="insufficient_scope""#));

    // An unknown tool: a JSON-RPC error -32602 (HTTP 200), nothing reaches the server.
    let response = post_mcp(url, None, tools_call("order.cancel", json!({}))).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32602);

    // Mcp-Method disagreeing with the body: 400, -32020.
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-method", "tools/list")
        .body(tools_call("catalogue.list", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32020);

    // A body over the limit: 413.
    let huge = tools_call(
        "catalogue.list",
        json!({"query": "x".repeat(2 * 1024 * 1024)}),
    );
    let response = post_mcp(url, None, huge).await;
    assert_eq!(response.status(), 413);

    // No SSE stream on this stateless server: GET is 405.
    let response = reqwest::Client::new().get(url).send().await.unwrap();
    assert_eq!(response.status(), 405);

    // The metadata document the challenges point to.
    let document: Value = reqwest::get(&metadata).await.unwrap().json().await.unwrap();
    assert_eq!(document["resource"], creds.mcp_url.as_str());
    assert_eq!(
        document["authorization_servers"],
        json!([examples::store::DEFAULT_AUTH_SERVER])
    );
    let root: Value = reqwest::get(format!(
        "http://{}/.well-known/oauth-protected-resource",
        store.addr()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(root, document);

    store.stop().await.unwrap();
}

#[tokio::test]
async fn rate_limits_are_reached_and_recover() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(SystemClock.since_epoch());
    let three = NonZeroU32::new(3).unwrap();
    let limits = RateLimits::default()
        .with(
            RateLimitClass::new("catalogue.read").unwrap(),
            AuthMode::Anonymous,
            Quota::per_minute(three),
        )
        .with(
            RateLimitClass::new("order.write").unwrap(),
            AuthMode::OAuth,
            Quota::per_minute(NonZeroU32::new(1).unwrap()),
        );
    let store = store_in(tmp.path(), Some(clock.clone()), Some(limits)).await;
    let creds = store.credentials().clone();
    let url = &creds.mcp_url;

    for _ in 0..3 {
        let response = post_mcp(url, None, tools_call("catalogue.list", json!({}))).await;
        assert_eq!(response.status(), 200);
    }
    let response = post_mcp(
        url,
        None,
        tools_call("product.detail", json!({"slug": "scale"})),
    )
    .await;
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "retry-after"), "20");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -31429);
    // Another class, and another principal, have their own budgets.
    let response = post_mcp(
        url,
        Some(&creds.api_token),
        tools_call("catalogue.list", json!({})),
    )
    .await;
    assert_eq!(response.status(), 200);

    clock.advance(Duration::from_secs(20));
    let response = post_mcp(url, None, tools_call("catalogue.list", json!({}))).await;
    assert_eq!(response.status(), 200);
    let response = post_mcp(url, None, tools_call("catalogue.list", json!({}))).await;
    assert_eq!(response.status(), 429);

    // One order a minute for alice.
    let order = || tools_call("order.intent", json!({"slug": "scale", "quantity": 1}));
    assert_eq!(
        post_mcp(url, Some(&creds.oauth_token_write), order())
            .await
            .status(),
        200
    );
    let response = post_mcp(url, Some(&creds.oauth_token_write), order()).await;
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "retry-after"), "60");
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        post_mcp(url, Some(&creds.oauth_token_write), order())
            .await
            .status(),
        200
    );

    store.stop().await.unwrap();
}

#[tokio::test]
async fn bot_policy_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_in(tmp.path(), None, None).await;
    let base = format!("http://{}", store.addr());
    let page = format!("{base}/products/scale");
    let api = format!("{base}/api/products");
    let client = reqwest::Client::new();

    // A browser reads the page.
    let response = browser_get(&page).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "bot-policy-action"), "allow");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Coffee scale with timer")
    );

    // A crawler claiming to be GPTBot from an address OpenAI does not use: spoofed, blocked.
    let response = get_with(&page, &[("user-agent", GPTBOT)]).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        header(&response, "bot-policy-rule"),
        "baseline-block-definite-bots"
    );
    assert_eq!(response.text().await.unwrap(), r#"{"error":"forbidden"}"#);

    // A script is challenged on pages, but not on the API or on MCP.
    let curl = [("user-agent", "curl/8.5.0")];
    let response = get_with(&page, &curl).await;
    assert_eq!(response.status(), 403);
    assert_eq!(header(&response, "cf-mitigated"), "challenge");
    assert_eq!(get_with(&api, &curl).await.status(), 200);

    // The demo crawler, unsigned: a bot that cannot be verified, refused (challenged, which it
    // cannot solve, before the rule blocking unverified training crawlers is reached).
    let crawler = [("user-agent", "DemoCrawler/1.0")];
    let response = get_with(&page, &crawler).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        header(&response, "bot-policy-rule"),
        "baseline-challenge-likely-bots"
    );
    // On the API it is not challenged: the unverified training crawler is blocked there.
    let response = get_with(&api, &crawler).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        header(&response, "bot-policy-rule"),
        "baseline-block-unverified-training-crawlers"
    );

    // Signed: verified by its Web Bot Auth signature.
    let key_path = &store.credentials().crawler_key_path;
    let key = std::fs::read_to_string(key_path).unwrap();
    let response = signed_get(&key, &api, &[], None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["visitor"]["signature"], "verified");
    assert_eq!(body["visitor"]["verified_by"], "signature");
    assert_eq!(body["visitor"]["bot"]["name"], "DemoCrawler");
    assert_eq!(body["visitor"]["signature_agent"], DEMO_CRAWLER_AGENT);

    // Pay-per-crawl on product pages.
    assert_pay_per_crawl(&key, &page, &format!("{base}/products/no-such-thing")).await;

    // The store's own key directory.
    let response = client
        .get(format!(
            "{base}/.well-known/http-message-signatures-directory"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "application/http-message-signatures-directory+json"
    );
    let directory: Value = response.json().await.unwrap();
    assert_eq!(directory["keys"].as_array().unwrap().len(), 1);

    store.stop().await.unwrap();
}

#[tokio::test]
async fn api_tokens_survive_a_restart_and_revocation_is_immediate() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_in(tmp.path(), None, None).await;
    let url = store.credentials().mcp_url.clone();
    let demo = store.credentials().api_token.clone();

    // The operator issues a token with the CLI while the store runs.
    let (stdout, stderr) = store_command(
        tmp.path(),
        &[
            "api-token",
            "--scopes",
            "inventory:read",
            "--principal",
            "acme",
        ],
    );
    let token = stdout.trim().to_owned();
    let id = stderr
        .split_whitespace()
        .find(|w| w.starts_with("tok_"))
        .unwrap()
        .to_owned();
    let check = || tools_call("inventory.check", json!({"slug": "scale"}));
    assert_eq!(post_mcp(&url, Some(&token), check()).await.status(), 200);

    // Restart on the same data directory: both tokens still work, the demo token is reused.
    store.stop().await.unwrap();
    let store = store_in(tmp.path(), None, None).await;
    let url = store.credentials().mcp_url.clone();
    assert_eq!(store.credentials().api_token, demo);
    assert_eq!(post_mcp(&url, Some(&token), check()).await.status(), 200);
    assert_eq!(post_mcp(&url, Some(&demo), check()).await.status(), 200);

    // Revoked with the CLI: refused on the next call.
    let (stdout, _) = store_command(tmp.path(), &["revoke", &id]);
    assert_eq!(stdout.trim(), format!("revoked {id}"));
    let response = post_mcp(&url, Some(&token), check()).await;
    assert_eq!(response.status(), 401);
    assert!(header(&response, "www-authenticate").contains(r#"error="invalid_token""#));
    assert_eq!(post_mcp(&url, Some(&demo), check()).await.status(), 200);

    // A JWT minted by the CLI works.
    let (jwt, _) = store_command(
        tmp.path(),
        &[
            "--addr",
            &store.addr().to_string(),
            "token",
            "--sub",
            "carol",
            "--scopes",
            "orders:read",
        ],
    );
    let response = post_mcp(
        &url,
        Some(jwt.trim()),
        tools_call("order.status", json!({})),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"]["content"][0]["text"], "[]");

    store.stop().await.unwrap();
}

#[tokio::test]
async fn the_binary_starts_with_no_setup_and_prints_its_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let store = start_listening(
        env!("CARGO_BIN_EXE_store"),
        &[OsStr::new("--data-dir"), data.as_os_str()],
        "demo-credentials ",
    )
    .await;
    let credentials: Value = serde_json::from_str(&store.ready).unwrap();
    let addr = store.base.strip_prefix("http://").unwrap();
    assert_eq!(credentials["mcp_url"], format!("http://{addr}/mcp"));
    for field in [
        "api_token",
        "oauth_token_read",
        "oauth_token_write",
        "jwks_path",
    ] {
        assert!(
            credentials[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}"
        );
    }
    assert!(Path::new(credentials["jwks_path"].as_str().unwrap()).exists());

    let client = mcp_client(
        credentials["mcp_url"].as_str().unwrap(),
        credentials["api_token"].as_str(),
    )
    .await;
    let (error, _) = call(&client, "inventory.check", json!({"slug": "kettle"})).await;
    assert!(error, "an unknown product is the tool's own error");
    let (error, _) = call(
        &client,
        "inventory.check",
        json!({"slug": "pour-over-kettle"}),
    )
    .await;
    assert!(!error);
    client.cancel().await.unwrap();
    drop(store);
}
