//! McpAuthLayer end to end: a real hyper server on loopback with the layer in front of a
//! service that echoes what it received (body bytes, principal, whether credentials reached it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth::Principal;
use mcp_auth::audit::{AuthEventKind, FailureReason, RecordingSink};
use mcp_auth::clock::{Clock, ManualClock};
use mcp_auth::gate::AuthGate;
use mcp_auth::layer::{McpAuthLayer, McpRequestBody};
use mcp_auth::oauth::{JwtVerifier, VerificationKey};
use mcp_auth::ratelimit::{Quota, RateLimiter, RateLimits};
use mcp_auth::scope::Scopes;
use mcp_auth::token::{ApiTokens, MemoryTokenStore, TokenTtl};
use mcp_auth::toolmap::{Require, ToolMap};
use tower::{Layer, Service, ServiceExt};

const ED_KEY: &str = include_str!("data/ed25519-a.key.pem");
const ED_PUB: &str = include_str!("data/ed25519-a.pub.pem");
const ISSUER: &str = "https://auth.shop.example";
const RESOURCE: &str = "https://shop.example/mcp";
const METADATA: &str = "https://shop.example/.well-known/oauth-protected-resource/mcp";
const NOW: u64 = 1_800_000_000;

struct Fixture {
    addr: SocketAddr,
    api_token: String,
    sink: RecordingSink,
    clock: ManualClock,
}

fn tool_map() -> ToolMap {
    ToolMap::builder()
        .with_mcp_defaults()
        .scope_implies("orders:write", ["orders:read"])
        .tool(
            "catalogue.list",
            Require::anonymous().class("catalogue.read"),
        )
        .tool(
            "inventory.check",
            Require::api_token(["inventory:read"]).class("inventory.read"),
        )
        .tool(
            "order.status",
            Require::oauth(["orders:read"]).class("order.status"),
        )
        .tool(
            "order.intent",
            Require::oauth(["orders:write"]).class("order.write"),
        )
        .build()
        .unwrap()
}

fn jwt(sub: &str, scope: &str, aud: &str, exp: u64) -> String {
    let claims = serde_json::json!({
        "iss": ISSUER, "aud": aud, "sub": sub, "exp": exp, "iat": NOW, "scope": scope,
    });
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_pem(ED_KEY.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// The service behind the layer: answers with what it saw.
async fn echo(
    request: Request<McpRequestBody<Incoming>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let principal = request
        .extensions()
        .get::<Principal>()
        .map(Principal::label);
    let authorization = request.headers().contains_key(http::header::AUTHORIZATION);
    let body = request
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let answer = serde_json::json!({
        "principal": principal,
        "authorization_forwarded": authorization,
        "body": String::from_utf8_lossy(&body),
    });
    Ok(Response::new(Full::new(Bytes::from(answer.to_string()))))
}

async fn start(limits: RateLimits) -> Fixture {
    let clock = ManualClock::from_unix(NOW);
    let sink = RecordingSink::new(1000);
    let tokens = ApiTokens::new(Arc::new(MemoryTokenStore::new()))
        .with_clock(Arc::new(clock.clone()))
        .with_sink(Arc::new(sink.clone()));
    let (issued, _) = tokens
        .issue(
            "partner-a",
            Scopes::parse("inventory:read").unwrap(),
            TokenTtl::Default,
        )
        .await
        .unwrap();
    let verifier = JwtVerifier::builder()
        .issuer(ISSUER)
        .audience(RESOURCE)
        .key(
            VerificationKey::from_pem(ED_PUB.as_bytes(), Algorithm::EdDSA)
                .unwrap()
                .with_kid("k1"),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    let limiter = RateLimiter::in_memory_with(
        limits,
        mcp_auth::ratelimit::MemoryLimiterConfig::default(),
        Arc::new(clock.clone()),
    );
    let gate = AuthGate::builder(tool_map())
        .api_tokens(tokens)
        .oauth(verifier)
        .rate_limiter(limiter)
        .resource_metadata(METADATA)
        .event_sink(Arc::new(sink.clone()))
        .max_body_bytes(64 * 1024)
        .build();
    let layer = McpAuthLayer::new(gate).body_timeout(Some(Duration::from_millis(500)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                return;
            };
            let service = layer.layer(tower::service_fn(echo));
            tokio::spawn(async move {
                let hyper_service =
                    hyper::service::service_fn(move |mut req: Request<Incoming>| {
                        req.extensions_mut().insert(peer);
                        service.clone().oneshot(req)
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    Fixture {
        addr,
        api_token: issued.expose_secret().to_owned(),
        sink,
        clock,
    }
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: serde_json::Value,
}

async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

fn call(tool: &str, bearer: Option<&str>) -> Request<Full<Bytes>> {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"{tool}","arguments":{{"q":"é"}}}}}}"#
    );
    post(&body, bearer)
}

fn post(body: &str, bearer: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::post("/mcp")
        .header("host", "shop.example")
        .header("content-type", "application/json")
        .header("user-agent", "claude-code/2.0 (cli)");
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

fn challenge(answer: &Answer) -> String {
    answer
        .headers
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn anonymous_tool_passes_with_the_body_unchanged() {
    let f = start(RateLimits::default()).await;
    let request = call("catalogue.list", None);
    let sent = request.body().clone().collect().await.unwrap().to_bytes();
    let answer = send(f.addr, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["principal"], "anonymous:127.0.0.1");
    assert_eq!(answer.body["body"].as_str().unwrap().as_bytes(), &sent[..]);
}

#[tokio::test]
async fn api_token_needs_scope_and_is_not_forwarded() {
    let f = start(RateLimits::default()).await;
    let ok = send(f.addr, call("inventory.check", Some(&f.api_token))).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(
        ok.body["principal"]
            .as_str()
            .unwrap()
            .starts_with("token:tok_")
    );
    assert_eq!(ok.body["authorization_forwarded"], false);
    // The API token is not accepted for an OAuth tool: 403 with every scope the call needs.
    let refused = send(f.addr, call("order.status", Some(&f.api_token))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&refused),
        format!(
            r#"Bearer resource_metadata="{METADATA}", scope="orders:read", error="insufficient_scope""#
        )
    );
    assert_eq!(refused.body["id"], 7);
    assert_eq!(refused.body["error"]["code"], -31403);
    let events = f.sink.take();
    assert!(events.iter().any(
        |e| e.kind == AuthEventKind::TokenUsed && e.tool.as_deref() == Some("inventory.check")
    ));
    assert!(
        events
            .iter()
            .any(|e| e.reason == Some(FailureReason::ModeNotAccepted))
    );
    for e in &events {
        assert!(
            !format!("{e:?}").contains(&f.api_token),
            "an event holds the token"
        );
    }
}

#[tokio::test]
async fn missing_bad_and_expired_credentials() {
    let f = start(RateLimits::default()).await;
    let missing = send(f.addr, call("inventory.check", None)).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&missing),
        format!(r#"Bearer resource_metadata="{METADATA}", scope="inventory:read""#)
    );
    let forged = format!("{}x", &f.api_token[..f.api_token.len() - 1]);
    let bad = send(f.addr, call("inventory.check", Some(&forged))).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&bad).contains(r#"error="invalid_token""#));
    // Bad credentials are refused even for an anonymous tool.
    let bad_anon = send(f.addr, call("catalogue.list", Some("not-a-known-kind"))).await;
    assert_eq!(bad_anon.status, StatusCode::UNAUTHORIZED);

    let expired = jwt("alice", "orders:read", RESOURCE, NOW - 3600);
    let answer = send(f.addr, call("order.status", Some(&expired))).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&answer).contains("expired"));
    let other_audience = jwt(
        "alice",
        "orders:read",
        "https://elsewhere.example/mcp",
        NOW + 3600,
    );
    let answer = send(f.addr, call("order.status", Some(&other_audience))).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let reasons: Vec<_> = f.sink.take().iter().filter_map(|e| e.reason).collect();
    assert!(reasons.contains(&FailureReason::Missing));
    assert!(
        reasons.contains(&FailureReason::Unknown) || reasons.contains(&FailureReason::Malformed)
    );
    assert!(reasons.contains(&FailureReason::Expired));
    assert!(reasons.contains(&FailureReason::InvalidClaims));
}

#[tokio::test]
async fn oauth_scopes_with_implication() {
    let f = start(RateLimits::default()).await;
    let reader = jwt("alice", "orders:read", RESOURCE, NOW + 3600);
    let ok = send(f.addr, call("order.status", Some(&reader))).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["principal"], "user:alice");
    let refused = send(f.addr, call("order.intent", Some(&reader))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(challenge(&refused).contains(r#"scope="orders:write""#));
    // orders:write implies orders:read.
    let writer = jwt("alice", "orders:write", RESOURCE, NOW + 3600);
    assert_eq!(
        send(f.addr, call("order.status", Some(&writer)))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(f.addr, call("order.intent", Some(&writer)))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_tools_batches_and_bad_bodies() {
    let f = start(RateLimits::default()).await;
    let unknown = send(f.addr, call("drop.tables", None)).await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(unknown.body["error"]["code"], -32602);
    // One forbidden call refuses the whole batch.
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"catalogue.list"}},
                    {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"inventory.check"}}]"#;
    let answer = send(f.addr, post(batch, None)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body.as_array().unwrap().len(), 2);
    let answer = send(f.addr, post("{not json", None)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["error"]["code"], -32700);
    let dup = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"catalogue.list","name":"inventory.check"}}"#;
    assert_eq!(
        send(f.addr, post(dup, None)).await.status,
        StatusCode::BAD_REQUEST
    );
    let numeric = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":42}}"#;
    assert_eq!(
        send(f.addr, post(numeric, None)).await.status,
        StatusCode::BAD_REQUEST
    );
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{}{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_eq!(
        send(f.addr, post(&deep, None)).await.status,
        StatusCode::BAD_REQUEST
    );
    // Mcp-Method / Mcp-Name must match the body.
    let mut request = call("catalogue.list", None);
    request
        .headers_mut()
        .insert("mcp-method", "tools/call".parse().unwrap());
    request
        .headers_mut()
        .insert("mcp-name", "inventory.check".parse().unwrap());
    let answer = send(f.addr, request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["error"]["code"], -32020);
    // Too large: by Content-Length, and by the bytes themselves.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(100_000)
    );
    let answer = send(f.addr, post(&big, None)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    // GET without a requirement in the map: 405.
    let get = Request::get("/mcp").body(Full::new(Bytes::new())).unwrap();
    assert_eq!(
        send(f.addr, get).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn rate_limits_per_principal_and_class() {
    let limits = RateLimits::default().with(
        mcp_auth::ratelimit::RateLimitClass::new("catalogue.read").unwrap(),
        mcp_auth::AuthMode::Anonymous,
        Quota::per_minute(std::num::NonZeroU32::new(3).unwrap()),
    );
    let f = start(limits).await;
    for _ in 0..3 {
        assert_eq!(
            send(f.addr, call("catalogue.list", None)).await.status,
            StatusCode::OK
        );
    }
    let limited = send(f.addr, call("catalogue.list", None)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    assert_eq!(limited.body["error"]["code"], -31429);
    // Another class is a separate budget; after the wait the limit lifts.
    assert_eq!(
        send(f.addr, call("inventory.check", Some(&f.api_token)))
            .await
            .status,
        StatusCode::OK
    );
    f.clock.advance(Duration::from_secs(retry));
    assert_eq!(
        send(f.addr, call("catalogue.list", None)).await.status,
        StatusCode::OK
    );
    assert!(
        f.sink
            .take()
            .iter()
            .any(|e| e.kind == AuthEventKind::RateLimited)
    );
    let _ = f.clock.now_unix();
}

#[tokio::test]
async fn slow_bodies_time_out() {
    let f = start(RateLimits::default()).await;
    // Declares 100 bytes, sends 10, then stalls.
    let mut stream = tokio::net::TcpStream::connect(f.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"jsonrpc\"")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
}

#[tokio::test]
async fn the_service_is_called_in_process_too() {
    // The same layer over tower's oneshot, no server: requests without a peer address are
    // anonymous with no address.
    let gate = AuthGate::builder(tool_map()).build();
    let service = McpAuthLayer::new(gate).layer(tower::service_fn(
        |request: Request<McpRequestBody<Full<Bytes>>>| async move {
            let principal = request.extensions().get::<Principal>().cloned();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                "{principal:?}"
            )))))
        },
    ));
    let mut service = service;
    let response = service
        .ready()
        .await
        .unwrap()
        .call(call("catalogue.list", None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"Some(Anonymous { ip: None })");
}
