//! The store's checks in actix-web 4, which does not run tower layers: the adapter a user
//! writes around the crates' framework-agnostic cores.
//!
//! - `web-bot-auth`: [`WebBotAuthVerifier::verify`] on a [`RequestView`] of the request;
//! - `bot-policy`: [`Classifier::classify`] then [`Policy::evaluate`] on [`RequestFacts`];
//! - `mcp-auth`: [`AuthGate::check`] on a [`GateRequest`] (method, header fields, body bytes,
//!   client address), whose refusal is a ready [`GateResponse`](mcp_auth::gate::GateResponse):
//!   API tokens, the development authority's OAuth tokens (as in the axum store), per-IP and
//!   per-principal limits, and the RFC 9728 metadata its challenges point to.
//!
//! The first two run in an actix middleware (`middleware::from_fn`) on every route; the third
//! in the `/mcp` handler, which then calls the same `rmcp` server the axum store mounts (a
//! tower service of `http` 1 requests) with the `Principal` in its extensions.
//!
//! Pay-per-crawl runs in the middleware too: on a `charge` decision, [`negotiate`] reads the
//! crawler's price fields against a [`Payer`] built from the classification (and the key that
//! signed); a refusal is answered as it is, an agreement lets the request through and, when
//! the page answers `2xx`, is billed (here: logged) and acknowledged with `crawler-charged`.
//!
//! actix-web 4 is built on `http` 0.2, the crates on `http` 1: the adapter copies the method,
//! target and header fields across ([`to_http`]).
//!
//! ```sh
//! cargo run -p examples --bin actix_store                        # 127.0.0.1:8082
//! cargo run -p examples --bin actix_store -- --addr 127.0.0.1:0 --data-dir /tmp/store
//! ```
//!
//! The demo crawler's signing key, the development authority's key and the store's own key are
//! the axum store's (in the data directory, created on first start), so `signing_client` can
//! sign for either. On start it prints `listening <addr>`, two OAuth tokens for user `alice`
//! (`orders:read`, then `orders:read orders:write`) and an API token with scope
//! `inventory:read`.
//!
//! It also publishes the store's own Web Bot Auth key directory, signed per request with
//! [`sign_directory`] (the core of `DirectoryService`).
//!
//! What it leaves out compared with the axum store: the token file and its admin commands (the
//! API token lives in memory), and Redis.

use std::error::Error;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::web::{self, Bytes, Data};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use bot_policy::catalog::Catalog;
use bot_policy::classify::{Classifier, Signals, SignatureOutcome};
use bot_policy::pay_per_crawl::{Agreement, CRAWLER_CHARGED, ChargeError, Payer, negotiate};
use bot_policy::ranges::RangeRegistry;
use bot_policy::{Policy, RequestFacts, Verdict};
use clap::Parser;
use examples::store::catalogue::Shop;
use examples::store::datadir::{CRAWLER_KEY_FILE, DataDir, DevAuthority, STORE_KEY_FILE};
use examples::store::mcp::{ShopServer, mcp_service};
use examples::store::{
    BOT_POLICY, DEFAULT_AUTH_SERVER, DEMO_CRAWLER_AGENT, DEMO_CRAWLER_CATALOG, OAuth, TOOL_MAP,
};
use http_body_util::{BodyExt, Full};
use mcp_auth::clock::{Clock, SystemClock};
use mcp_auth::gate::{AuthGate, GateRequest};
use mcp_auth::ratelimit::{RateLimiter, RateLimits};
use mcp_auth::scope::Scopes;
use mcp_auth::token::{ApiTokens, MemoryTokenStore, TokenTtl};
use mcp_auth::toolmap::ToolMap;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tower::ServiceExt;
use web_bot_auth::directory::{DIRECTORY_MEDIA_TYPE, DIRECTORY_PATH, KeyDirectory, sign_directory};
use web_bot_auth::keys::SigningKey;
use web_bot_auth::message::{MessageView, RequestView};
use web_bot_auth::profile::{Outcome, WebBotAuthVerifier};
use web_bot_auth::verify::KeySet;

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Debug, Parser)]
#[command(
    about = "The store's checks in actix-web 4, through the crates' framework-agnostic cores"
)]
struct Cli {
    /// Where to listen (port 0: any free port, printed on the `listening` line).
    #[arg(long, default_value = "127.0.0.1:8082")]
    addr: SocketAddr,
    /// Where the keys are kept (the axum store's data directory works too).
    #[arg(long, default_value = "./.store-data")]
    data_dir: PathBuf,
}

/// The three cores, shared by the workers.
struct Checks {
    signatures: WebBotAuthVerifier<KeySet>,
    classifier: Classifier,
    policy: Policy,
    gate: AuthGate,
    mcp: StreamableHttpService<ShopServer, LocalSessionManager>,
}

/// What the middleware learned, for the handlers (actix request extensions).
#[derive(Debug, Clone)]
struct Visitor {
    signature: &'static str,
    bot: Option<String>,
    verified_by: Option<&'static str>,
    decision: &'static str,
}

/// The request as an `http` 1 request (no body): what the crates' cores read.
fn to_http(request: &HttpRequest) -> Result<http::Request<()>, BoxError> {
    let mut builder = http::Request::builder()
        .method(request.method().as_str())
        .uri(request.uri().to_string());
    for (name, value) in request.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    Ok(builder.body(())?)
}

/// The client's address.
fn peer(request: &HttpRequest) -> Option<IpAddr> {
    request.peer_addr().map(|a| a.ip().to_canonical())
}

/// A JSON answer of the middleware.
fn refuse(status: u16, body: &'static str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::FORBIDDEN);
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("cache-control", "no-store"))
        .body(body)
}

/// web-bot-auth, then bot-policy, in front of every route.
async fn bot_checks(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(checks) = request.app_data::<Data<Checks>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError(
            "no checks configured",
        ));
    };
    let http_request = to_http(request.request()).map_err(actix_web::error::ErrorBadRequest)?;
    let ip = peer(request.request());

    // 1. Web Bot Auth.
    let outcome = match RequestView::from_http(&http_request, "http") {
        Ok(view) => checks.signatures.verify(&MessageView::Request(view)),
        Err(_) => {
            return Ok(request
                .into_response(refuse(400, r#"{"error":"bad_request"}"#))
                .map_into_right_body());
        }
    };
    let signature = match &outcome {
        Outcome::Verified(agent) => SignatureOutcome::Verified {
            agent: agent.agent.as_ref().map_or("", |a| a.uri.as_str()),
        },
        Outcome::Invalid(_) => SignatureOutcome::Invalid,
        _ => SignatureOutcome::Absent,
    };

    // 2. Classify, evaluate.
    let facts = RequestFacts::from_http(&http_request);
    let classification = checks.classifier.classify(&Signals {
        user_agent: facts.user_agent(),
        client_ip: ip,
        signature,
        headers: Some(http_request.headers()),
    });
    let mut facts = facts.with_bot(classification.bot_facts());
    if let Some(ip) = ip {
        facts = facts.with_client_ip(ip);
    }
    let decision = checks.policy.evaluate(&facts);
    let verdict = decision.verdict();
    if !matches!(verdict, Verdict::Allow) {
        tracing::info!(
            target: "actix_store",
            action = verdict.name(),
            bot = classification.bot().map_or("-", |b| b.name.as_str()),
            path = request.path(),
            "bot policy decision"
        );
    }
    let mut agreement = None;
    let refusal = match verdict {
        Verdict::Allow | Verdict::Skip => None,
        Verdict::Block => Some(refuse(403, r#"{"error":"forbidden"}"#)),
        Verdict::Challenge => Some({
            let mut response = refuse(403, r#"{"error":"challenge_required"}"#);
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("cf-mitigated"),
                actix_web::http::header::HeaderValue::from_static("challenge"),
            );
            response
        }),
        Verdict::RateLimited { retry_after } => Some({
            let mut response = refuse(429, r#"{"error":"rate_limited"}"#);
            let secs = retry_after.as_secs().max(1);
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&secs.to_string()) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, value);
            }
            response
        }),
        // Pay-per-crawl: the crawler pays when its signature verified it (and covers its offer).
        Verdict::Charge(price) => {
            let agent = match &outcome {
                Outcome::Verified(agent) => Some(agent),
                _ => None,
            };
            // Verified by signature here means this verifier's `Verified` outcome.
            let payer = Payer::from_classification(&classification, false)
                .zip(agent)
                .map(|(payer, agent)| payer.with_keyid(agent.keyid.clone()));
            let covers = |name: &str| agent.is_some_and(|agent| agent.covers_field(name));
            match negotiate(*price, http_request.headers(), payer, Some(&covers)) {
                Ok(agreed) => {
                    agreement = Some(agreed);
                    None
                }
                Err(refusal) => {
                    let (parts, body) = refusal.into_response().into_parts();
                    Some(to_actix(parts.status, &parts.headers, body.into()))
                }
            }
        }
        _ => Some(refuse(403, r#"{"error":"forbidden"}"#)),
    };
    if let Some(response) = refusal {
        return Ok(request.into_response(response).map_into_right_body());
    }
    request.extensions_mut().insert(Visitor {
        signature: outcome.kind(),
        bot: classification.bot().map(|b| b.name.clone()),
        verified_by: classification.verified_by(),
        decision: verdict.name(),
    });
    let mut response = next.call(request).await?;
    if let Some(agreement) = agreement
        && response.status().is_success()
    {
        match bill(&agreement) {
            Ok(()) => {
                if let Ok(value) =
                    actix_web::http::header::HeaderValue::from_str(&agreement.price.to_string())
                {
                    response.headers_mut().insert(
                        actix_web::http::header::HeaderName::from_static(CRAWLER_CHARGED),
                        value,
                    );
                }
            }
            // The content is withheld: 403 `PaymentFailed` (declined) or 503 (unavailable).
            Err(error) => {
                let (parts, body) = error.response().into_parts();
                let refused = to_actix(parts.status, &parts.headers, body.into());
                return Ok(response.into_response(refused).map_into_right_body());
            }
        }
    }
    Ok(response.map_into_left_body())
}

/// The billing: records one pay-per-crawl charge (here, a log line; a real store writes its
/// ledger and may refuse with [`ChargeError`]).
fn bill(agreement: &Agreement) -> Result<(), ChargeError> {
    tracing::info!(
        target: "actix_store::billing",
        price = %agreement.price,
        payer = agreement.payer.signature_agent.as_deref().unwrap_or("-"),
        bot = agreement.payer.bot.as_deref().unwrap_or("-"),
        keyid = agreement.payer.keyid.as_deref().unwrap_or("-"),
        "pay-per-crawl charge recorded"
    );
    Ok(())
}

/// `POST|GET|DELETE /mcp`: mcp-auth's gate, then the rmcp server.
async fn mcp(
    request: HttpRequest,
    body: Bytes,
    checks: Data<Checks>,
) -> Result<HttpResponse, actix_web::Error> {
    let http_request = to_http(&request).map_err(actix_web::error::ErrorBadRequest)?;
    let checked = checks
        .gate
        .check(GateRequest {
            method: http_request.method(),
            headers: http_request.headers(),
            body: (http_request.method() == http::Method::POST).then_some(&body[..]),
            client_ip: peer(&request),
        })
        .await;
    let admission = match checked {
        Ok(admission) => admission,
        // The refusal is complete: status, WWW-Authenticate or Retry-After, JSON body.
        Err(refusal) => return Ok(to_actix(refusal.status, &refusal.headers, refusal.body)),
    };
    let (mut parts, ()) = http_request.into_parts();
    // Credentials stop here, as McpAuthLayer does.
    parts.headers.remove(http::header::AUTHORIZATION);
    parts.extensions.insert(admission.principal);
    let response = checks
        .mcp
        .clone()
        .oneshot(http::Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(actix_web::error::ErrorInternalServerError)?;
    let (parts, body) = response.into_parts();
    // Stateless JSON mode: every answer is a complete body, so collecting it is fine.
    let body = body
        .collect()
        .await
        .map_err(actix_web::error::ErrorInternalServerError)?
        .to_bytes();
    Ok(to_actix(parts.status, &parts.headers, body))
}

/// An `http` 1 response as an actix one.
fn to_actix(status: http::StatusCode, headers: &http::HeaderMap, body: Bytes) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in headers {
        response.append_header((name.as_str(), value.as_bytes()));
    }
    response.body(body)
}

/// The protected resource metadata (RFC 9728), serialized once and served as it is.
struct Metadata(Bytes);

/// `GET /.well-known/oauth-protected-resource[/mcp]`: what the `401` challenges point to.
async fn metadata_document(document: Data<Metadata>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("cache-control", "max-age=3600"))
        .body(document.0.clone())
}

/// The store's own key and the directory that publishes it.
struct OwnDirectory {
    key: SigningKey,
    json: String,
}

/// How long a signed directory response is valid, and may be cached.
const DIRECTORY_MAX_AGE: u64 = 3600;

/// `GET /.well-known/http-message-signatures-directory`: the directory, its response signed
/// for the authority it was fetched from.
async fn key_directory(request: HttpRequest, own: Data<OwnDirectory>) -> HttpResponse {
    let Some(authority) = request.headers().get("host").and_then(|h| h.to_str().ok()) else {
        return refuse(400, r#"{"error":"no_host"}"#);
    };
    let created = SystemClock.now_unix();
    let expires = created.saturating_add(DIRECTORY_MAX_AGE);
    match sign_directory(&own.json, &own.key, authority, created, expires, "sig1") {
        Ok(signed) => HttpResponse::Ok()
            .content_type(DIRECTORY_MEDIA_TYPE)
            .insert_header(("cache-control", format!("max-age={DIRECTORY_MAX_AGE}")))
            .insert_header(("content-digest", signed.content_digest))
            .insert_header(("signature-input", signed.signature_input))
            .insert_header(("signature", signed.signature))
            .body(signed.body),
        Err(error) => {
            tracing::error!(%error, "cannot sign the key directory");
            refuse(500, r#"{"error":"internal"}"#)
        }
    }
}

/// `GET /api/products`.
async fn api_products(request: HttpRequest, shop: Data<Shop>) -> HttpResponse {
    let visitor = request.extensions().get::<Visitor>().cloned();
    HttpResponse::Ok().json(serde_json::json!({
        "products": shop.list(None),
        "visitor": visitor.map(|v| serde_json::json!({
            "signature": v.signature, "bot": v.bot, "verified_by": v.verified_by,
            "decision": v.decision,
        })),
    }))
}

/// `GET /products/{slug}`.
async fn product(path: web::Path<String>, shop: Data<Shop>) -> HttpResponse {
    match shop.product(&path) {
        Some(p) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(format!(
                "<!doctype html><h1>{}</h1><p>{}</p>\n",
                p.name, p.description
            )),
        None => HttpResponse::NotFound().finish(),
    }
}

#[actix_web::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();

    // Bound first: the MCP resource's URL (the tokens' audience) names the port.
    let listener = std::net::TcpListener::bind(cli.addr)?;
    let bound = listener.local_addr()?;
    let mcp_url = format!("http://{bound}/mcp");
    let dir = DataDir::open(&cli.data_dir)?;
    let authority = DevAuthority::open(&dir, DEFAULT_AUTH_SERVER, &mcp_url)?;

    let tool_map = ToolMap::from_toml_str(TOOL_MAP)?;
    let OAuth { verifier, metadata } =
        OAuth::new(&authority, &tool_map, &mcp_url, Arc::new(SystemClock))?;
    let tokens = ApiTokens::new(Arc::new(MemoryTokenStore::new()));
    let (token, _) = tokens
        .issue(
            "partner",
            Scopes::parse("inventory:read")?,
            TokenTtl::Default,
        )
        .await?;
    let gate = AuthGate::builder(tool_map)
        .api_tokens(tokens)
        .oauth(verifier)
        .rate_limiter(RateLimiter::in_memory(RateLimits::default()))
        .resource_metadata(metadata.metadata_url())
        .build();
    let crawler = dir.web_bot_auth_key(CRAWLER_KEY_FILE)?;
    let mut agents = KeySet::new();
    agents.insert_for_agent(DEMO_CRAWLER_AGENT, crawler.verifying_key().clone());
    let mut catalog = Catalog::builtin();
    catalog.extend(Catalog::from_toml_str(DEMO_CRAWLER_CATALOG)?);
    let shop = Shop::new();
    let checks = Data::new(Checks {
        signatures: WebBotAuthVerifier::new(agents),
        classifier: Classifier::new(catalog, RangeRegistry::builtin()),
        policy: Policy::from_toml_str(BOT_POLICY)?,
        gate,
        mcp: mcp_service(
            shop.clone(),
            Vec::new(),
            StreamableHttpServerConfig::default(),
        ),
    });
    let shop = Data::new(shop);
    let document = Data::new(Metadata(Bytes::from(metadata.to_json())));
    let own_key = dir.web_bot_auth_key(STORE_KEY_FILE)?;
    let own = Data::new(OwnDirectory {
        json: KeyDirectory::from_keys([own_key.verifying_key()]).to_json(),
        key: own_key,
    });

    let server = HttpServer::new(move || {
        App::new()
            .app_data(checks.clone())
            .app_data(shop.clone())
            .app_data(document.clone())
            .app_data(own.clone())
            // The metadata and key directory are for any client, before any check (as in the
            // axum store).
            .route(
                "/.well-known/oauth-protected-resource",
                web::get().to(metadata_document),
            )
            .route(
                "/.well-known/oauth-protected-resource/mcp",
                web::get().to(metadata_document),
            )
            .route(DIRECTORY_PATH, web::get().to(key_directory))
            .service(
                web::scope("")
                    .wrap(from_fn(bot_checks))
                    .route("/mcp", web::to(mcp))
                    .route("/api/products", web::get().to(api_products))
                    .route("/products/{slug}", web::get().to(product)),
            )
    })
    .workers(2)
    .listen(listener)?;
    println!("listening {bound}");
    let now = SystemClock.now_unix();
    let day = Duration::from_secs(24 * 3600);
    for scopes in ["orders:read", "orders:read orders:write"] {
        let jwt = authority.mint("alice", scopes, now, day)?;
        println!("OAuth token ({scopes}, user alice): {jwt}");
    }
    println!("API token (inventory:read): {}", token.expose_secret());
    // actix-web stops gracefully on Ctrl-C.
    server.run().await?;
    Ok(())
}
