//! Several store processes sharing one Redis (`store --redis URL`, feature `redis`): the
//! `store` binary started twice on one data directory, both answering from the same Redis.
//! They spend one rate-limit budget, refuse a nonce the other has seen, honour a revocation
//! at once; with Redis gone each store answers as configured, and service resumes when Redis
//! is back. Starts its own `redis-server` on a free loopback port.
#![cfg(feature = "redis")]
// Test helpers panic on anything unexpected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use examples::store::DEMO_CRAWLER_AGENT;
use serde_json::{Value, json};
use web_bot_auth::keys::SigningKey;
use web_bot_auth::profile_signer::WebBotAuthSigner;

/// A `redis-server` on a loopback port with an append-only file (so that a restart keeps the
/// data, as a production Redis does), killed on drop.
struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    async fn start(dir: &Path) -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = RedisServer {
            child: None,
            port,
            dir: dir.to_owned(),
        };
        redis.restart().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts the server (again) on its port and data directory; waits until it answers.
    async fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian: apt-get install redis-server)");
        self.child = Some(child);
        for _ in 0..200 {
            if self.answers_ping() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Whether the server answers `PING` (not only accepts connections: while it loads its
    /// data it answers `-LOADING`).
    fn answers_ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Kills the server outright (no shutdown handshake: the stores see connections drop).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `store` process (`--addr 127.0.0.1:0 --redis URL`), killed on drop.
struct StoreProcess {
    _child: common::Listening,
    base: String,
    credentials: Value,
}

impl StoreProcess {
    async fn start(dir: &Path, redis: &RedisServer) -> StoreProcess {
        let url = redis.url();
        let args = [
            OsStr::new("--redis"),
            OsStr::new(&url),
            OsStr::new("--data-dir"),
            dir.as_os_str(),
        ];
        let store =
            common::start_listening(env!("CARGO_BIN_EXE_store"), &args, "demo-credentials ").await;
        StoreProcess {
            credentials: serde_json::from_str(&store.ready).unwrap(),
            base: store.base.clone(),
            _child: store,
        }
    }

    fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// POSTs a `tools/call` of `tool` to `/mcp`, with an optional bearer token; returns the
    /// status.
    async fn call(&self, tool: &str, arguments: Value, bearer: Option<&str>) -> u16 {
        let mut request = reqwest::Client::new()
            .post(self.mcp_url())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": tool, "arguments": arguments}})
                .to_string(),
            );
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().status().as_u16()
    }

    async fn inventory(&self, token: &str) -> u16 {
        self.call("inventory.check", json!({"slug": "scale"}), Some(token))
            .await
    }

    async fn catalogue(&self) -> u16 {
        self.call("catalogue.list", json!({}), None).await
    }

    /// Sends `signed` (headers of a request signed for `SIGNED_AUTHORITY`) as a GET of
    /// `/api/products`; returns the status and the body.
    async fn get_signed(&self, signed: &http::HeaderMap) -> (u16, Value) {
        let mut request = reqwest::Client::new().get(format!("{}/api/products", self.base));
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }
}

/// The authority the demo crawler signs for: both stores are reached with this `Host`, as
/// behind a load balancer.
const SIGNED_AUTHORITY: &str = "store.example";

/// The headers of a GET of `/api/products` signed by the demo crawler with a fresh nonce.
fn signed_headers(key_path: &str) -> http::HeaderMap {
    let key = SigningKey::from_jwk_json(&std::fs::read_to_string(key_path).unwrap()).unwrap();
    let signer = WebBotAuthSigner::new(key, DEMO_CRAWLER_AGENT).unwrap();
    let mut request = http::Request::get(format!("http://{SIGNED_AUTHORITY}/api/products"))
        .header("host", SIGNED_AUTHORITY)
        .header("user-agent", "DemoCrawler/1.0")
        .body(())
        .unwrap();
    signer.sign_http(&mut request, "http").unwrap();
    request.headers().clone()
}

/// Runs the `store` binary's admin command `args` against Redis; returns stdout and stderr.
fn store_command(dir: &Path, redis: &RedisServer, args: &[&str]) -> (String, String) {
    let url = redis.url();
    let mut all = vec!["--redis", &url];
    all.extend_from_slice(args);
    common::store_command(dir, &all)
}

/// Issues an API token with `inventory:read` through the CLI; returns (token, id).
fn issue_token(dir: &Path, redis: &RedisServer) -> (String, String) {
    let (stdout, stderr) = store_command(
        dir,
        redis,
        &[
            "api-token",
            "--scopes",
            "inventory:read",
            "--principal",
            "acme",
        ],
    );
    let id = stderr
        .split_whitespace()
        .find(|w| w.starts_with("tok_"))
        .unwrap()
        .to_owned();
    (stdout.trim().to_owned(), id)
}

/// The anonymous catalogue quota of the store's default table (per IP, per minute).
const ANONYMOUS_CATALOGUE_PER_MINUTE: usize = 60;

#[tokio::test]
async fn two_store_processes_behave_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(tmp.path()).await;
    let data = tmp.path().join("data");
    // The first creates the data directory (keys); the second reuses it.
    let a = StoreProcess::start(&data, &redis).await;
    let b = StoreProcess::start(&data, &redis).await;

    // One budget of 60 anonymous catalogue calls a minute for this address, whichever process
    // answers: within one request of 60, plus the one a second the budget refills meanwhile.
    let mut allowed = 0;
    let mut refused_by = [0; 2];
    let started = std::time::Instant::now();
    for i in 0..ANONYMOUS_CATALOGUE_PER_MINUTE + 10 {
        let store = if i % 2 == 0 { &a } else { &b };
        match store.catalogue().await {
            200 => allowed += 1,
            429 => refused_by[i % 2] += 1,
            other => panic!("catalogue call {i}: status {other}"),
        }
    }
    let refilled = usize::try_from(started.elapsed().as_secs()).unwrap();
    assert!(
        (ANONYMOUS_CATALOGUE_PER_MINUTE..=ANONYMOUS_CATALOGUE_PER_MINUTE + 1 + refilled)
            .contains(&allowed),
        "{allowed} calls allowed across both processes"
    );
    // Both refuse once the shared budget is spent.
    assert!(
        refused_by.iter().all(|&n| n > 0),
        "refusals: {refused_by:?}"
    );

    // A signed request verified by one process is a replay on the other.
    let key_path = a.credentials["crawler_key_path"].as_str().unwrap();
    let signed = signed_headers(key_path);
    let (status, body) = a.get_signed(&signed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["visitor"]["signature"], "verified");
    let (status, body) = b.get_signed(&signed).await;
    assert_eq!(status, 403, "{body}");
    // A fresh nonce is fine on either.
    assert_eq!(b.get_signed(&signed_headers(key_path)).await.0, 200);

    // A token issued into Redis works on both; revoked through the CLI, refused by both on
    // the next request.
    let (token, id) = issue_token(&data, &redis);
    assert_eq!(a.inventory(&token).await, 200);
    assert_eq!(b.inventory(&token).await, 200);
    let (stdout, _) = store_command(&data, &redis, &["revoke", &id]);
    assert_eq!(stdout.trim(), format!("revoked {id}"));
    assert_eq!(b.inventory(&token).await, 401);
    assert_eq!(a.inventory(&token).await, 401);
}

#[tokio::test]
async fn a_redis_outage_is_answered_as_configured_and_service_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut redis = RedisServer::start(tmp.path()).await;
    let data = tmp.path().join("data");
    let store = StoreProcess::start(&data, &redis).await;
    let (token, _) = issue_token(&data, &redis);
    let key_path = store.credentials["crawler_key_path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(store.inventory(&token).await, 200);
    assert_eq!(store.get_signed(&signed_headers(&key_path)).await.0, 200);

    redis.kill();
    // Tokens fail closed: the caller is told to retry, not that its token is bad.
    assert_eq!(store.inventory(&token).await, 503);
    // Rate limits fail open: anonymous calls go on.
    assert_eq!(store.catalogue().await, 200);
    // Replay protection fails closed: the signature cannot be checked, so the crawler is
    // not verified (and is refused like any unverified crawler).
    let (status, body) = store.get_signed(&signed_headers(&key_path)).await;
    assert_eq!(status, 403, "{body}");
    // Pages that need no shared state are served.
    let response = reqwest::get(format!("{}/api/products", store.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Redis comes back (with its data): the store reconnects by itself.
    redis.restart().await;
    let mut status = 0;
    for _ in 0..100 {
        status = store.inventory(&token).await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "service did not resume after Redis came back");
    assert_eq!(store.get_signed(&signed_headers(&key_path)).await.0, 200);
}
