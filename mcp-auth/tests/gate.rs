//! `AuthGate::check`, the framework-agnostic core, on the cases the loopback layer tests do not
//! cover: a failing token store (503, fail closed), CORS, the tool-result challenge, an
//! `initialize` that requires OAuth, GET streams, and Cloudflare Access's header.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth::audit::{FailureReason, RecordingSink};
use mcp_auth::clock::ManualClock;
use mcp_auth::gate::{AuthGate, GateRequest, GateResponse};
use mcp_auth::metadata::Cors;
use mcp_auth::oauth::{JwtVerifier, VerificationKey};
use mcp_auth::scope::Scopes;
use mcp_auth::token::{
    ApiTokens, MemoryTokenStore, TokenHash, TokenId, TokenRecord, TokenStore, TokenStoreError,
    TokenTtl,
};
use mcp_auth::toolmap::{Require, ToolMap};
use mcp_auth::{BoxFuture, Principal};

const ED_KEY: &str = include_str!("data/ed25519-a.key.pem");
const ED_PUB: &str = include_str!("data/ed25519-a.pub.pem");
const NOW: u64 = 1_800_000_000;
const METADATA: &str = "https://shop.example/.well-known/oauth-protected-resource/mcp";

/// A store that is always down.
struct DownStore;

fn down<T: Send + 'static>() -> BoxFuture<'static, Result<T, TokenStoreError>> {
    Box::pin(async {
        Err(TokenStoreError::Unavailable {
            reason: "connection refused".into(),
        })
    })
}

impl TokenStore for DownStore {
    fn get(&self, _: TokenHash) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        down()
    }
    fn find_by_id(
        &self,
        _: &TokenId,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        down()
    }
    fn insert(&self, _: TokenRecord) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        down()
    }
    fn revoke(
        &self,
        _: &TokenId,
        _: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        down()
    }
    fn rotate(
        &self,
        _: &TokenId,
        _: TokenRecord,
        _: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        down()
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>, TokenStoreError>> {
        down()
    }
    fn purge(&self, _: u64) -> BoxFuture<'_, Result<usize, TokenStoreError>> {
        down()
    }
}

fn map(initialize_needs_oauth: bool) -> ToolMap {
    let mut builder = ToolMap::builder()
        .with_mcp_defaults()
        .tool("catalogue.list", Require::anonymous())
        .tool("inventory.check", Require::api_token(["inventory:read"]))
        .tool("order.status", Require::oauth(["orders:read"]))
        .get(Require::oauth(["orders:read"]));
    if initialize_needs_oauth {
        builder = builder.method("initialize", Require::oauth(["orders:read"]));
    }
    builder.build().unwrap()
}

fn verifier() -> JwtVerifier {
    JwtVerifier::builder()
        .issuer("https://auth.example")
        .audience("https://shop.example/mcp")
        .key(VerificationKey::from_pem(ED_PUB.as_bytes(), Algorithm::EdDSA).unwrap())
        .clock(ManualClock::from_unix(NOW))
        .build()
        .unwrap()
}

fn jwt(scope: &str) -> String {
    let claims = serde_json::json!({
        "iss": "https://auth.example", "aud": "https://shop.example/mcp", "sub": "alice",
        "exp": NOW + 600, "scope": scope,
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_pem(ED_KEY.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn body(method: &str, tool: Option<&str>) -> Vec<u8> {
    match tool {
        Some(tool) => format!(
            r#"{{"jsonrpc":"2.0","id":"r1","method":"{method}","params":{{"name":"{tool}"}}}}"#
        ),
        None => format!(r#"{{"jsonrpc":"2.0","id":"r1","method":"{method}","params":{{}}}}"#),
    }
    .into_bytes()
}

async fn check(
    gate: &AuthGate,
    method: Method,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<Principal, GateResponse> {
    gate.check(GateRequest {
        method: &method,
        headers,
        body,
        client_ip: Some(IpAddr::from([192, 0, 2, 1])),
    })
    .await
    .map(|admission| admission.principal)
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers
}

#[tokio::test]
async fn a_failing_token_store_fails_closed_with_503() {
    // A well-formed token from a working issuer, presented to a gate whose store is down.
    let issuer = ApiTokens::new(Arc::new(MemoryTokenStore::new()));
    let (token, _) = issuer
        .issue(
            "p",
            Scopes::parse("inventory:read").unwrap(),
            TokenTtl::Default,
        )
        .await
        .unwrap();
    let sink = RecordingSink::new(10);
    let gate = AuthGate::builder(map(false))
        .api_tokens(ApiTokens::new(Arc::new(DownStore)))
        .event_sink(Arc::new(sink.clone()))
        .build();
    let body = body("tools/call", Some("inventory.check"));
    let refused = check(
        &gate,
        Method::POST,
        &bearer(token.expose_secret()),
        Some(&body),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(json["id"], "r1");
    assert_eq!(json["error"]["code"], mcp_auth::gate::codes::UNAVAILABLE);
    let events = sink.take();
    assert_eq!(events[0].reason, Some(FailureReason::StoreUnavailable));
    assert!(
        events[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("connection refused")
    );
}

#[tokio::test]
async fn cors_on_refusals_and_preflights() {
    let gate = AuthGate::builder(map(false))
        .cors(Cors::allow_origins(["https://app.example"]).unwrap())
        .resource_metadata(METADATA)
        .build();
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_static("https://app.example"));
    let body = body("tools/call", Some("order.status"));
    let refused = check(&gate, Method::POST, &headers, Some(&body))
        .await
        .unwrap_err();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let exposed = refused.headers["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(
        exposed.to_ascii_lowercase().contains("www-authenticate"),
        "{exposed}"
    );
    // Another origin gets no CORS grant.
    headers.insert("origin", HeaderValue::from_static("https://evil.example"));
    let refused = check(&gate, Method::POST, &headers, Some(&body))
        .await
        .unwrap_err();
    assert!(!refused.headers.contains_key("access-control-allow-origin"));
    // A preflight from the allowed origin.
    headers.insert("origin", HeaderValue::from_static("https://app.example"));
    headers.insert(
        "access-control-request-method",
        HeaderValue::from_static("POST"),
    );
    let preflight = check(&gate, Method::OPTIONS, &headers, None)
        .await
        .unwrap_err();
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://app.example"
    );
}

#[tokio::test]
async fn tool_result_challenge_for_clients_that_read_meta() {
    let gate = AuthGate::builder(map(false))
        .resource_metadata(METADATA)
        .challenge_in_tool_result(true)
        .build();
    let body = body("tools/call", Some("order.status"));
    let answer = check(&gate, Method::POST, &HeaderMap::new(), Some(&body))
        .await
        .unwrap_err();
    assert_eq!(answer.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(json["id"], "r1");
    assert_eq!(json["result"]["isError"], true);
    let challenge = json["result"]["_meta"]["mcp/www_authenticate"][0]
        .as_str()
        .unwrap();
    assert_eq!(
        challenge,
        format!(r#"Bearer resource_metadata="{METADATA}", scope="orders:read""#)
    );
    assert_eq!(answer.headers["www-authenticate"], challenge);
}

#[tokio::test]
async fn initialize_can_require_oauth() {
    let open = AuthGate::builder(map(false)).build();
    let init = body("initialize", None);
    assert!(matches!(
        check(&open, Method::POST, &HeaderMap::new(), Some(&init)).await,
        Ok(Principal::Anonymous { .. })
    ));
    let closed = AuthGate::builder(map(true))
        .oauth(verifier())
        .resource_metadata(METADATA)
        .build();
    let refused = check(&closed, Method::POST, &HeaderMap::new(), Some(&init))
        .await
        .unwrap_err();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.challenge().is_some());
    let ok = check(
        &closed,
        Method::POST,
        &bearer(&jwt("orders:read")),
        Some(&init),
    )
    .await;
    assert!(matches!(ok, Ok(Principal::OAuth { .. })));
}

#[tokio::test]
async fn get_streams_have_their_own_requirement_and_other_methods_are_refused() {
    let gate = AuthGate::builder(map(false)).oauth(verifier()).build();
    let refused = check(&gate, Method::GET, &HeaderMap::new(), None)
        .await
        .unwrap_err();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let json: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(json["error"], "unauthorized");
    let ok = check(&gate, Method::GET, &bearer(&jwt("orders:read")), None).await;
    assert!(matches!(ok, Ok(Principal::OAuth { .. })));
    let put = check(&gate, Method::PUT, &HeaderMap::new(), None)
        .await
        .unwrap_err();
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(put.headers.contains_key("allow"));
    let delete = check(&gate, Method::DELETE, &HeaderMap::new(), None)
        .await
        .unwrap_err();
    assert_eq!(delete.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn cloudflare_access_header_is_read_when_configured() {
    let gate = AuthGate::builder(map(false))
        .cloudflare_access(verifier())
        .build();
    let mut headers = HeaderMap::new();
    headers.insert(
        "cf-access-jwt-assertion",
        jwt("orders:read").parse().unwrap(),
    );
    let body = body("tools/call", Some("order.status"));
    let ok = check(&gate, Method::POST, &headers, Some(&body)).await;
    assert!(
        matches!(ok, Ok(Principal::OAuth { ref sub, .. }) if &**sub == "alice"),
        "{ok:?}"
    );
    headers.insert("cf-access-jwt-assertion", HeaderValue::from_static("a.b.c"));
    let refused = check(&gate, Method::POST, &headers, Some(&body))
        .await
        .unwrap_err();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Without the Access verifier, the header is not a credential.
    let plain = AuthGate::builder(map(false)).build();
    let refused = check(&plain, Method::POST, &headers, Some(&body))
        .await
        .unwrap_err();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        !refused
            .challenge()
            .unwrap()
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn malformed_authorization_is_a_400_invalid_request() {
    let gate = AuthGate::builder(map(false)).build();
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_static("Bearer a b c"));
    let body = body("tools/call", Some("catalogue.list"));
    let refused = check(&gate, Method::POST, &headers, Some(&body))
        .await
        .unwrap_err();
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .challenge()
            .unwrap()
            .to_str()
            .unwrap()
            .contains("invalid_request")
    );
    headers.append("authorization", HeaderValue::from_static("Bearer x"));
    let refused = check(&gate, Method::POST, &headers, Some(&body))
        .await
        .unwrap_err();
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn anonymous_calls_are_open_to_authenticated_callers_too() {
    // A client that sends its token from the start (as rmcp's client does) must get through
    // `initialize` and the anonymous tools, as itself.
    let tokens = ApiTokens::new(Arc::new(MemoryTokenStore::new()));
    let (token, _) = tokens
        .issue(
            "p",
            Scopes::parse("inventory:read").unwrap(),
            TokenTtl::Default,
        )
        .await
        .unwrap();
    let gate = AuthGate::builder(map(false))
        .api_tokens(tokens)
        .oauth(verifier())
        .build();
    for body in [
        body("initialize", None),
        body("tools/call", Some("catalogue.list")),
    ] {
        let as_token = check(
            &gate,
            Method::POST,
            &bearer(token.expose_secret()),
            Some(&body),
        )
        .await;
        assert!(
            matches!(as_token, Ok(Principal::ApiToken { .. })),
            "{as_token:?}"
        );
        let as_user = check(&gate, Method::POST, &bearer(&jwt("")), Some(&body)).await;
        assert!(
            matches!(as_user, Ok(Principal::OAuth { .. })),
            "{as_user:?}"
        );
    }
}
