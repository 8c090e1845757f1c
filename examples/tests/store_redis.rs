//! Two store instances sharing one Redis (`StateBackend::Redis`, feature `redis`): an API token
//! issued through one works on the other, revocation reaches both at once, and they spend one
//! rate-limit budget. Starts its own `redis-server` on a free loopback port.
#![cfg(feature = "redis")]
// Test helpers panic on anything unexpected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::num::NonZeroU32;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use examples::store::{Admin, StateBackend, StoreConfig, start};
use mcp_auth::AuthMode;
use mcp_auth::ratelimit::{Quota, RateLimitClass, RateLimits};
use mcp_auth::scope::Scopes;
use mcp_auth::token::TokenTtl;
use serde_json::json;

/// A `redis-server` on a free loopback port, killed on drop.
struct RedisServer {
    child: Child,
    url: String,
}

impl RedisServer {
    async fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian: apt-get install redis-server)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        RedisServer {
            child,
            url: format!("redis://127.0.0.1:{port}/0"),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &std::path::Path, redis: &RedisServer) -> StoreConfig {
    let mut config = StoreConfig::new("127.0.0.1:0".parse().unwrap(), dir);
    config.state = StateBackend::Redis {
        url: redis.url.clone(),
    };
    config.rate_limits = RateLimits::default().with(
        RateLimitClass::new("inventory.read").unwrap(),
        AuthMode::ApiToken,
        Quota::per_minute(NonZeroU32::new(4).unwrap()),
    );
    config
}

async fn inventory(url: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(token)
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "inventory.check", "arguments": {"slug": "scale"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn two_instances_share_tokens_revocations_and_limits() {
    let redis = RedisServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let first = start(config(tmp.path(), &redis)).await.unwrap();
    let second = start(config(tmp.path(), &redis)).await.unwrap();
    let (a, b) = (
        first.credentials().mcp_url.clone(),
        second.credentials().mcp_url.clone(),
    );

    // Issued into Redis (as the `api-token` command does with --redis).
    let admin = Admin::open(&config(tmp.path(), &redis), "http://127.0.0.1:1")
        .await
        .unwrap();
    let (token, record) = admin
        .tokens
        .issue(
            "acme",
            Scopes::parse("inventory:read").unwrap(),
            TokenTtl::Default,
        )
        .await
        .unwrap();
    let token = token.expose_secret().to_owned();

    // One budget of 4 a minute for the token, whichever instance answers.
    assert_eq!(inventory(&a, &token).await, 200);
    assert_eq!(inventory(&b, &token).await, 200);
    assert_eq!(inventory(&a, &token).await, 200);
    assert_eq!(inventory(&b, &token).await, 200);
    assert_eq!(inventory(&a, &token).await, 429);
    assert_eq!(inventory(&b, &token).await, 429);

    // Revoked once, refused by both.
    admin.tokens.revoke(&record.id).await.unwrap();
    assert_eq!(inventory(&a, &token).await, 401);
    assert_eq!(inventory(&b, &token).await, 401);

    first.stop().await.unwrap();
    second.stop().await.unwrap();
}
