//! Helpers shared by the end-to-end tests (each test binary uses a part of them).
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use examples::store::DEMO_CRAWLER_AGENT;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use web_bot_auth::component::ComponentIdentifier;
use web_bot_auth::keys::SigningKey;
use web_bot_auth::profile_signer::WebBotAuthSigner;

/// Runs the `store` binary with `args` on the data directory `dir` (an admin command: `token`,
/// `api-token`, `revoke`); asserts it succeeds; returns stdout and stderr.
pub fn store_command(dir: &Path, args: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_store"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A browser's user agent.
pub const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

/// An `rmcp` client of `url`, authenticating with `bearer`.
pub async fn mcp_client(
    url: &str,
    bearer: Option<&str>,
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(token) = bearer {
        config = config.auth_header(token.to_owned());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    ().serve(transport).await.unwrap()
}

/// Calls `tool` with `arguments`; returns (is_error, the first text content parsed as JSON or
/// as a string).
pub async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &'static str,
    arguments: Value,
) -> (bool, Value) {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    let result = client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .unwrap();
    let result = serde_json::to_value(&result).unwrap();
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    let content = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    (result["isError"].as_bool().unwrap_or(false), content)
}

/// The value of `name` in `response`, or an empty string.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Signs a GET of `url` as the demo crawler with the private JWK `key` (covering `cover` too,
/// with the `extra` fields) and sends it.
pub async fn signed_get(
    key: &str,
    url: &str,
    extra: &[(&str, &str)],
    cover: Option<&str>,
) -> reqwest::Response {
    let key = SigningKey::from_jwk_json(key).unwrap();
    let mut signer = WebBotAuthSigner::new(key, DEMO_CRAWLER_AGENT).unwrap();
    if let Some(name) = cover {
        signer = signer.cover(ComponentIdentifier::field(name).unwrap());
    }
    let mut request = http::Request::get(url)
        .header("user-agent", "DemoCrawler/1.0")
        .body(())
        .unwrap();
    for (name, value) in extra {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    signer.sign_http(&mut request, "http").unwrap();
    let mut out = reqwest::Client::new().get(url);
    for (name, value) in request.headers() {
        out = out.header(name, value);
    }
    out.send().await.unwrap()
}

/// GPTBot's user agent.
pub const GPTBOT: &str = "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)";

/// A GET of `url` with the header `fields`.
pub async fn get_with(url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in fields {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// A GET of `url` as a browser sends it.
pub async fn browser_get(url: &str) -> reqwest::Response {
    get_with(
        url,
        &[
            ("user-agent", BROWSER),
            ("accept", "text/html,application/xhtml+xml"),
            ("accept-language", "en-GB,en"),
            ("accept-encoding", "gzip"),
        ],
    )
    .await
}

/// The pay-per-crawl exchange on the product page `page` (a `charge` rule at `USD 0.01`), as
/// the demo crawler signing with `key`; `missing` is a product page that does not exist.
pub async fn assert_pay_per_crawl(key: &str, page: &str, missing: &str) {
    // The price first...
    let response = signed_get(key, page, &[], None).await;
    assert_eq!(response.status(), 402);
    assert_eq!(header(&response, "crawler-price"), "USD 0.01");
    assert_eq!(header(&response, "crawler-error"), "MissingCrawlerPrice");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["price"], "USD 0.01");
    // ...an offer the signature does not cover is refused (a replay could change it)...
    let response = signed_get(key, page, &[("crawler-exact-price", "USD 0.01")], None).await;
    assert_eq!(response.status(), 400);
    assert_eq!(header(&response, "crawler-error"), "InvalidSignature");
    assert!(header(&response, "crawler-charged").is_empty());
    // ...so are two offers at once, and one below the price...
    let both = [
        ("crawler-exact-price", "USD 0.01"),
        ("crawler-max-price", "USD 1"),
    ];
    let response = signed_get(key, page, &both, Some("crawler-max-price")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        header(&response, "crawler-error"),
        "ConflictingPriceHeaders"
    );
    let low = [("crawler-max-price", "USD 0.001")];
    let response = signed_get(key, page, &low, Some("crawler-max-price")).await;
    assert_eq!(response.status(), 402);
    assert_eq!(header(&response, "crawler-error"), "InvalidCrawlerMaxPrice");
    assert_eq!(header(&response, "crawler-price"), "USD 0.01");
    // ...a covered offer pays the rule's price and gets the page...
    for (field, offer) in [
        ("crawler-max-price", "USD 0.05"),
        ("crawler-exact-price", "USD 0.01"),
    ] {
        let response = signed_get(key, page, &[(field, offer)], Some(field)).await;
        assert_eq!(response.status(), 200, "{field}");
        assert_eq!(header(&response, "crawler-charged"), "USD 0.01");
        assert!(response.text().await.unwrap().contains("Coffee scale"));
    }
    // ...and a page that is not there is not charged.
    let offer = [("crawler-exact-price", "USD 0.01")];
    let response = signed_get(key, missing, &offer, Some("crawler-exact-price")).await;
    assert_eq!(response.status(), 404);
    assert!(header(&response, "crawler-charged").is_empty());
    // A signature by a key the store does not know is invalid: the crawler is spoofed.
    let stranger = SigningKey::generate_ed25519().to_private_jwk().to_json();
    let response = signed_get(&stranger, page, &offer, Some("crawler-exact-price")).await;
    assert_eq!(response.status(), 403);
    assert!(header(&response, "crawler-charged").is_empty());
}

/// A binary the test started on a free loopback port; killed when dropped.
pub struct Listening {
    /// The process.
    pub child: tokio::process::Child,
    /// `http://<addr>`, from its `listening <addr>` line.
    pub base: String,
    /// The rest of the line that said it is ready.
    pub ready: String,
    /// What it printed up to that line.
    pub printed: Vec<String>,
}

impl Listening {
    /// The rest of the printed line that begins with `prefix`.
    pub fn printed_after(&self, prefix: &str) -> &str {
        let found = self.printed.iter().find_map(|l| l.strip_prefix(prefix));
        found.unwrap_or_else(|| panic!("no line begins with `{prefix}`"))
    }
}

/// Starts `program` with `--addr 127.0.0.1:0` and `args` (logs discarded), and reads its
/// output up to the line beginning with `ready`; what it prints after that is drained, so that
/// it never blocks on a full pipe.
pub async fn start_listening(program: &str, args: &[&OsStr], ready: &str) -> Listening {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let mut child = tokio::process::Command::new(program)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = None;
    let mut printed = Vec::new();
    let rest = loop {
        let Some(line) = lines.next_line().await.unwrap() else {
            panic!("{program} exited before printing `{ready}`");
        };
        if let Some(addr) = line.strip_prefix("listening ") {
            base = Some(format!("http://{addr}"));
        }
        if let Some(rest) = line.strip_prefix(ready) {
            break rest.to_owned();
        }
        printed.push(line);
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Listening {
        child,
        base: base.unwrap(),
        ready: rest,
        printed,
    }
}

/// A raw JSON-RPC `tools/call` body.
pub fn tools_call(tool: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
    .to_string()
}

/// POSTs `body` to the MCP endpoint with an optional bearer token.
pub async fn post_mcp(url: &str, bearer: Option<&str>, body: String) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}
