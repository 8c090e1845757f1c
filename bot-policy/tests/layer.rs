//! `BotPolicyLayer` in front of a real HTTP server on loopback, with `web-bot-auth`'s
//! `VerifyLayer` before it where signatures matter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bot_policy::catalog::Catalog;
use bot_policy::classify::{Classifier, TrustedProxies};
use bot_policy::layer::{
    BotPolicyLayer, Challenge, ChallengeResponse, ChargeError, ChargeRequest, PolicyDecision,
    RequestClassification,
};
use bot_policy::ranges::RangeRegistry;
use bot_policy::{LivePolicy, Policy};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt};
use web_bot_auth::component::ComponentIdentifier;
use web_bot_auth::keys::SigningKey;
use web_bot_auth::layer::VerifyLayer;
use web_bot_auth::profile::WebBotAuthVerifier;
use web_bot_auth::profile_signer::WebBotAuthSigner;
use web_bot_auth::verify::KeySet;

/// An address in OpenAI's published GPTBot ranges (`data/ranges/openai-gptbot.json`).
const GPTBOT_IP: &str = "20.171.206.5";
const GPTBOT_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot";
const CHATGPT_USER_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot";
const BROWSER_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const CRAWLER_AGENT: &str = "https://crawler.example";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `service` on a fresh loopback port; each request carries its connection's peer
/// address in its extensions, as a server would put it there.
async fn serve<S, B>(service: S) -> SocketAddr
where
    S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let service = service
                .clone()
                .map_request(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(peer);
                    request
                });
            let service = TowerToHyperService::new(service);
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The service behind the layer: reports what the layer put in the extensions as `x-…`
/// headers, answers 404 for `/missing`, and echoes the body.
fn handler(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |request: Request<Incoming>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            let class = parts
                .extensions
                .get::<RequestClassification>()
                .unwrap()
                .clone();
            let decision = parts.extensions.get::<PolicyDecision>().unwrap().clone();
            let mut response = Response::new(Full::new(body));
            if parts.uri.path() == "/missing" {
                *response.status_mut() = StatusCode::NOT_FOUND;
            }
            let headers = response.headers_mut();
            let mut set = |name: &'static str, value: String| {
                headers.insert(name, HeaderValue::from_str(&value).unwrap());
            };
            set("x-bot", class.bot().map_or("-".into(), |b| b.name.clone()));
            set(
                "x-category",
                class.bot().map_or("-".into(), |b| b.category.clone()),
            );
            set("x-verified-by", class.verified_by().unwrap_or("-").into());
            set("x-spoofed", class.spoofed().to_string());
            set("x-score", class.score().to_string());
            set(
                "x-client-ip",
                class.client_ip().map_or("-".into(), |ip| ip.to_string()),
            );
            set("x-verdict", decision.verdict().name().into());
            set("x-rule", decision.rule().unwrap_or("-").into());
            Ok(response)
        }
    })
}

/// A server with `layer` in front of [`handler`]; its address and the handler's call count.
async fn server(layer: BotPolicyLayer) -> (SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    (serve(layer.layer(handler(Arc::clone(&calls)))).await, calls)
}

/// A server with `web-bot-auth`'s `VerifyLayer` (knowing `keys`) before `layer`.
async fn verifying_server(layer: BotPolicyLayer, keys: KeySet) -> (SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let verify = VerifyLayer::new(WebBotAuthVerifier::new(keys));
    let service = verify.layer(layer.layer(handler(Arc::clone(&calls))));
    (serve(service).await, calls)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }
}

async fn send(request: Request<Full<Bytes>>) -> Answer {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut builder = Request::get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::new(Bytes::new())).unwrap()
}

async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Answer {
    send(request(addr, path, headers)).await
}

const SITE_POLICY: &str = r#"
include = ["mcp-passthrough", "baseline"]

[[rules]]
id = "crawlers-slow-down"
expression = 'cf.verified_bot_category eq "AI Crawler" and starts_with(http.request.uri.path, "/articles/")'
action = "rate_limit"
requests = 2
period = "1m"
key = ["ip.src"]

[[rules]]
id = "assistants-welcome"
expression = 'cf.verified_bot_category eq "AI Assistant"'
action = "allow"
"#;

fn site_layer() -> BotPolicyLayer {
    BotPolicyLayer::new(Policy::from_toml_str(SITE_POLICY).unwrap()).decision_headers(true)
}

fn behind_loopback_proxy(layer: BotPolicyLayer) -> BotPolicyLayer {
    layer.trusted_proxies(TrustedProxies::new(["127.0.0.1"]).unwrap())
}

#[tokio::test]
async fn a_browser_passes_and_its_body_arrives_byte_for_byte() {
    let (addr, calls) = server(site_layer()).await;
    let body: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let request = Request::post(format!("http://{addr}/search?q=shoes"))
        .header("user-agent", BROWSER_UA)
        .header("accept", "text/html")
        .header("accept-language", "en")
        .header("sec-fetch-mode", "navigate")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let answer = send(request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, body);
    assert_eq!(answer.header("x-bot"), "-");
    assert_eq!(answer.header("x-verdict"), "allow");
    assert_eq!(answer.header("x-client-ip"), "127.0.0.1");
    assert!(answer.header("x-score").parse::<u8>().unwrap() >= 30);
    // The decision headers are on: the default applied.
    assert_eq!(answer.header("bot-policy-rule"), "-");
    assert_eq!(answer.header("bot-policy-action"), "allow");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn decision_headers_are_off_by_default() {
    let layer = BotPolicyLayer::new(Policy::from_toml_str(SITE_POLICY).unwrap());
    let (addr, _) = server(layer).await;
    let answer = get(addr, "/", &[("user-agent", "sqlmap/1.7")]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(!answer.headers.contains_key("bot-policy-rule"));
    assert!(!answer.headers.contains_key("bot-policy-action"));
}

#[tokio::test]
async fn gptbot_from_an_openai_range_is_verified_and_handled_by_its_rule() {
    let (addr, calls) = server(behind_loopback_proxy(site_layer())).await;
    let headers = [("user-agent", GPTBOT_UA), ("x-forwarded-for", GPTBOT_IP)];
    for _ in 0..2 {
        let answer = get(addr, "/articles/1", &headers).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("x-bot"), "GPTBot");
        assert_eq!(answer.header("x-category"), "AI Crawler");
        assert_eq!(answer.header("x-verified-by"), "ip");
        assert_eq!(answer.header("x-spoofed"), "false");
        assert_eq!(answer.header("x-client-ip"), GPTBOT_IP);
    }
    // Its rule: two a minute, per address.
    let answer = get(addr, "/articles/2", &headers).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.header("retry-after"), "30");
    assert_eq!(answer.header("bot-policy-rule"), "crawlers-slow-down");
    assert_eq!(answer.header("bot-policy-action"), "rate_limit");
    assert_eq!(answer.header("content-type"), "application/json");
    assert_eq!(answer.body, r#"{"error":"rate_limited","retry_after":30}"#);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Other paths are not limited.
    assert_eq!(get(addr, "/about", &headers).await.status, StatusCode::OK);
}

#[tokio::test]
async fn gptbot_from_another_address_is_spoofed_and_blocked() {
    let (addr, calls) = server(behind_loopback_proxy(site_layer())).await;
    let answer = get(
        addr,
        "/articles/1",
        &[
            ("user-agent", GPTBOT_UA),
            ("x-forwarded-for", "203.0.113.7"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body, r#"{"error":"forbidden"}"#);
    assert_eq!(answer.header("cache-control"), "no-store");
    assert_eq!(
        answer.header("bot-policy-rule"),
        "baseline-block-definite-bots"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // Without a trusted proxy, a forwarded OpenAI address is not believed.
    let (addr, calls) = server(site_layer()).await;
    let answer = get(
        addr,
        "/articles/1",
        &[("user-agent", GPTBOT_UA), ("x-forwarded-for", GPTBOT_IP)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// A signer for `agent` with a fresh key, and a key set that knows it.
fn signer_for(agent: &str) -> (WebBotAuthSigner, KeySet, String) {
    let key = SigningKey::generate_ed25519();
    let public = key.verifying_key().clone();
    let thumbprint = public.thumbprint().to_owned();
    let mut keys = KeySet::new();
    keys.insert_for_agent(agent, public);
    (WebBotAuthSigner::new(key, agent).unwrap(), keys, thumbprint)
}

fn signed(signer: &WebBotAuthSigner, mut request: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    signer.sign_http(&mut request, "http").unwrap();
    request
}

#[tokio::test]
async fn chatgpt_user_with_a_valid_signature_is_verified_by_signature() {
    let (signer, keys, _) = signer_for("https://chatgpt.com");
    let (addr, calls) = verifying_server(site_layer(), keys).await;

    // From loopback, far from OpenAI's ranges: only the signature can verify it.
    let answer = send(signed(
        &signer,
        request(addr, "/checkout", &[("user-agent", CHATGPT_USER_UA)]),
    ))
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-bot"), "ChatGPT-User");
    assert_eq!(answer.header("x-verified-by"), "signature");
    assert_eq!(answer.header("x-category"), "AI Assistant");
    assert_eq!(
        answer.header("x-rule"),
        "baseline-ai-assistants-reach-checkout"
    );

    // The same request with a signature that fails (sent to another authority than signed).
    let mut bad = signed(
        &signer,
        request(addr, "/checkout", &[("user-agent", CHATGPT_USER_UA)]),
    );
    bad.headers_mut()
        .insert("host", HeaderValue::from_static("elsewhere.example"));
    let answer = send(bad).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.header("bot-policy-rule"),
        "baseline-block-definite-bots"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn mcp_clients_reach_mcp_and_oauth_discovery_under_the_baseline() {
    let (addr, calls) = server(site_layer()).await;
    let clients = [
        "Python/3.12 aiohttp/3.11.18",
        "claude-code/2.0.14 (cli)",
        "Bun/1.2.19",
        "node",
    ];
    for ua in clients {
        for path in [
            "/mcp",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-authorization-server",
        ] {
            let answer = get(addr, path, &[("user-agent", ua)]).await;
            assert_eq!(answer.status, StatusCode::OK, "{ua} {path}");
            assert_eq!(answer.header("x-rule"), "mcp-passthrough", "{ua} {path}");
            assert_eq!(answer.header("x-verdict"), "skip");
        }
        let post = Request::post(format!("http://{addr}/mcp"))
            .header("user-agent", ua)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            )))
            .unwrap();
        let answer = send(post).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(
            answer.body,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
        );

        // Elsewhere the same clients are challenged: they look automated.
        let answer = get(addr, "/products", &[("user-agent", ua)]).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{ua}");
        assert_eq!(answer.header("cf-mitigated"), "challenge");
        assert_eq!(answer.body, r#"{"error":"challenge_required"}"#);
    }
    assert_eq!(calls.load(Ordering::SeqCst), clients.len() * 4);
}

#[tokio::test]
async fn a_challenge_responder_can_let_a_cleared_client_pass() {
    let layer = site_layer().challenge_responder(|challenge: &Challenge<'_>| {
        let cleared = challenge
            .headers
            .get("cookie")
            .is_some_and(|c| c.as_bytes() == b"clearance=ok");
        if cleared {
            ChallengeResponse::Pass
        } else {
            let page = Response::builder()
                .status(403)
                .header("content-type", "text/html")
                .body(Bytes::from_static(b"<p>checking</p>"))
                .unwrap();
            ChallengeResponse::Respond(page)
        }
    });
    let (addr, calls) = server(layer).await;
    let answer = get(addr, "/products", &[("user-agent", "curl/8.5.0")]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body, "<p>checking</p>");
    assert_eq!(answer.header("bot-policy-action"), "challenge");
    let answer = get(
        addr,
        "/products",
        &[("user-agent", "curl/8.5.0"), ("cookie", "clearance=ok")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-verdict"), "challenge");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_upstream_verifier_header_is_believed_only_from_a_trusted_proxy() {
    let layer = |trusted: bool| {
        let layer = site_layer().upstream_signature_agent_header(http::HeaderName::from_static(
            "x-verified-signature-agent",
        ));
        if trusted {
            behind_loopback_proxy(layer)
        } else {
            layer
        }
    };
    let headers = [
        ("user-agent", CHATGPT_USER_UA),
        ("x-verified-signature-agent", "https://chatgpt.com"),
    ];
    let (addr, _) = server(layer(true)).await;
    let answer = get(addr, "/checkout", &headers).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-verified-by"), "signature");

    let (addr, _) = server(layer(false)).await;
    let answer = get(addr, "/checkout", &headers).await;
    // Not believed: an unverified ChatGPT-User claim from outside OpenAI's ranges is spoofed.
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

// ---------------------------------------------------------------------------------------------
// Pay-per-crawl.

const PAY_POLICY: &str = r#"
include = ["mcp-passthrough", "baseline"]

[[rules]]
id = "private"
expression = 'starts_with(http.request.uri.path, "/private/")'
action = "block"

[[rules]]
id = "pay-per-crawl"
expression = 'cf.verified_bot_category eq "AI Crawler"'
action = "charge"
price = "USD 0.01"
"#;

/// The built-in catalog plus a crawler that signs as [`CRAWLER_AGENT`].
fn classifier_with_crawler() -> Classifier {
    let mut catalog = Catalog::builtin();
    catalog.extend(
        Catalog::from_toml_str(&format!(
            r#"
            [[bot]]
            name = "ExampleCrawler"
            operator = "Example"
            category = "AI Crawler"
            kind = "bot"
            tokens = ["ExampleCrawler"]
            signature_agents = ["{CRAWLER_AGENT}"]
            "#
        ))
        .unwrap(),
    );
    Classifier::new(catalog, RangeRegistry::builtin())
}

type Ledger = Arc<Mutex<Vec<ChargeRequest>>>;

fn pay_layer(policy: &str, ledger: &Ledger, decline: bool) -> BotPolicyLayer {
    let ledger = Arc::clone(ledger);
    BotPolicyLayer::new(Policy::from_toml_str(policy).unwrap())
        .classifier(classifier_with_crawler())
        .charge_hook(move |charge: ChargeRequest| {
            let ledger = Arc::clone(&ledger);
            async move {
                if decline {
                    return Err(ChargeError::Declined("no funds".into()));
                }
                ledger.lock().unwrap().push(charge);
                Ok(())
            }
        })
}

#[tokio::test]
async fn pay_per_crawl_end_to_end() {
    let ledger = Ledger::default();
    let (plain, keys, thumbprint) = signer_for(CRAWLER_AGENT);
    let (addr, calls) = verifying_server(pay_layer(PAY_POLICY, &ledger, false), keys).await;
    let ua = [("user-agent", "ExampleCrawler/1.0")];

    // 1. The crawler asks, and learns the price.
    let answer = send(signed(&plain, request(addr, "/articles/1", &ua))).await;
    assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(answer.header("crawler-price"), "USD 0.01");
    assert_eq!(answer.header("crawler-error"), "MissingCrawlerPrice");
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // 2. It retries with a maximum price, covered by its signature: served and charged the
    //    price, not its maximum.
    let covering_max = signer_with_cover(&plain, "crawler-max-price");
    let answer = send(signed(
        &covering_max,
        request(
            addr,
            "/articles/1",
            &[
                ("user-agent", "ExampleCrawler/1.0"),
                ("crawler-max-price", "USD 0.05"),
            ],
        ),
    ))
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("crawler-charged"), "USD 0.01");
    assert_eq!(answer.header("x-verified-by"), "signature");
    assert_eq!(answer.header("x-verdict"), "charge");
    {
        let ledger = ledger.lock().unwrap();
        assert_eq!(ledger.len(), 1);
        let charge = &ledger[0];
        assert_eq!(charge.price.to_string(), "USD 0.01");
        assert_eq!(charge.payer.signature_agent.as_deref(), Some(CRAWLER_AGENT));
        assert_eq!(charge.payer.bot.as_deref(), Some("ExampleCrawler"));
        assert_eq!(charge.payer.keyid.as_deref(), Some(thumbprint.as_str()));
        assert_eq!(charge.payer.verified_by, "signature");
        assert_eq!(charge.uri.path(), "/articles/1");
        assert_eq!(charge.rule.as_deref(), Some("pay-per-crawl"));
        assert_eq!(charge.status, StatusCode::OK);
    }

    // 3. The exact price works too.
    let covering_exact = signer_with_cover(&plain, "crawler-exact-price");
    let exact = |price: &'static str| {
        signed(
            &covering_exact,
            request(
                addr,
                "/articles/2",
                &[
                    ("user-agent", "ExampleCrawler/1.0"),
                    ("crawler-exact-price", price),
                ],
            ),
        )
    };
    let answer = send(exact("USD 0.01")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("crawler-charged"), "USD 0.01");
    // A wrong exact price is asked again.
    let answer = send(exact("USD 0.02")).await;
    assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(answer.header("crawler-error"), "InvalidCrawlerExactPrice");

    // 4. A maximum below the price is asked again.
    let answer = send(signed(
        &covering_max,
        request(
            addr,
            "/articles/3",
            &[
                ("user-agent", "ExampleCrawler/1.0"),
                ("crawler-max-price", "USD 0.005"),
            ],
        ),
    ))
    .await;
    assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(answer.header("crawler-error"), "InvalidCrawlerMaxPrice");
    assert_eq!(answer.header("crawler-price"), "USD 0.01");

    // 5. A price header the signature does not cover could have been added by anyone.
    let answer = send(signed(
        &plain,
        request(
            addr,
            "/articles/4",
            &[
                ("user-agent", "ExampleCrawler/1.0"),
                ("crawler-max-price", "USD 1"),
            ],
        ),
    ))
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.header("crawler-error"), "InvalidSignature");

    // 6. An explicit block beats any price.
    let answer = send(signed(
        &covering_max,
        request(
            addr,
            "/private/report",
            &[
                ("user-agent", "ExampleCrawler/1.0"),
                ("crawler-max-price", "USD 100"),
            ],
        ),
    ))
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(!answer.headers.contains_key("crawler-charged"));

    // 7. A response that is not a success is not charged.
    let answer = send(signed(
        &covering_max,
        request(
            addr,
            "/missing",
            &[
                ("user-agent", "ExampleCrawler/1.0"),
                ("crawler-max-price", "USD 1"),
            ],
        ),
    ))
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(!answer.headers.contains_key("crawler-charged"));

    assert_eq!(ledger.lock().unwrap().len(), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

fn signer_with_cover(base: &WebBotAuthSigner, field: &str) -> WebBotAuthSigner {
    // Same key and agent, plus the price header.
    let key = SigningKey::from_jwk(&base.key().to_private_jwk()).unwrap();
    WebBotAuthSigner::new(key, CRAWLER_AGENT)
        .unwrap()
        .cover(ComponentIdentifier::field(field).unwrap())
}

#[tokio::test]
async fn a_crawler_that_cannot_be_verified_cannot_be_charged() {
    let ledger = Ledger::default();
    // No baseline here, so nothing blocks the unverified crawler before the charge rule.
    let policy = r#"
        [[rules]]
        id = "pay-per-crawl"
        expression = 'bot.category eq "AI Crawler"'
        action = "charge"
        price = "USD 0.01"
    "#;
    let (addr, calls) = server(pay_layer(policy, &ledger, false)).await;
    let answer = get(addr, "/articles/1", &[("user-agent", "ExampleCrawler/1.0")]).await;
    assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
    let answer = get(
        addr,
        "/articles/1",
        &[
            ("user-agent", "ExampleCrawler/1.0"),
            ("crawler-max-price", "USD 1"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.header("crawler-error"), "StrongAuthRequired");
    // GPTBot verified by IP only cannot pay either, unless the layer allows it.
    let answer = get(
        addr,
        "/articles/1",
        &[("user-agent", GPTBOT_UA), ("crawler-max-price", "USD 1")],
    )
    .await;
    assert_eq!(answer.header("crawler-error"), "StrongAuthRequired");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(ledger.lock().unwrap().is_empty());

    let layer = behind_loopback_proxy(pay_layer(policy, &ledger, false)).charge_ip_verified(true);
    let (addr, _) = server(layer).await;
    let answer = get(
        addr,
        "/articles/1",
        &[
            ("user-agent", GPTBOT_UA),
            ("x-forwarded-for", GPTBOT_IP),
            ("crawler-max-price", "USD 1"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("crawler-charged"), "USD 0.01");
    assert_eq!(ledger.lock().unwrap()[0].payer.verified_by, "ip");
}

#[tokio::test]
async fn a_declined_charge_withholds_the_content() {
    let ledger = Ledger::default();
    let (signer, keys, _) = signer_for(CRAWLER_AGENT);
    let signer = signer.cover(ComponentIdentifier::field("crawler-exact-price").unwrap());
    let (addr, calls) = verifying_server(pay_layer(PAY_POLICY, &ledger, true), keys).await;
    let answer = send(signed(
        &signer,
        request(
            addr,
            "/articles/1",
            &[
                ("user-agent", "ExampleCrawler/1.0"),
                ("crawler-exact-price", "USD 0.01"),
            ],
        ),
    ))
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.header("crawler-error"), "PaymentFailed");
    assert!(!answer.headers.contains_key("crawler-charged"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// Hot reload.

const BLOCK_X: &str = r#"
[[rules]]
id = "block-x"
expression = 'http.request.uri.path eq "/x"'
action = "block"
"#;

const ALLOW_X: &str = r#"
[[rules]]
id = "allow-x"
expression = 'http.request.uri.path eq "/x"'
action = "allow"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_load_loses_no_request() {
    let live = LivePolicy::new(Policy::from_toml_str(BLOCK_X).unwrap());
    let layer = BotPolicyLayer::new(live.clone()).decision_headers(true);
    let (addr, calls) = server(layer).await;

    const CLIENTS: usize = 8;
    const EACH: usize = 150;
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        tasks.push(tokio::spawn(async move {
            let client: Client<HttpConnector, Full<Bytes>> =
                Client::builder(TokioExecutor::new()).build_http();
            let (mut blocked, mut allowed) = (0, 0);
            for _ in 0..EACH {
                let response = client
                    .request(request(addr, "/x", &[("user-agent", BROWSER_UA)]))
                    .await
                    .unwrap();
                let status = response.status();
                let rule = response.headers()["bot-policy-rule"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let _ = response.into_body().collect().await.unwrap();
                match (status, rule.as_str()) {
                    (StatusCode::FORBIDDEN, "block-x") => blocked += 1,
                    (StatusCode::OK, "allow-x") => allowed += 1,
                    other => panic!("unexpected answer {other:?}"),
                }
            }
            (blocked, allowed)
        }));
    }
    let swapper = {
        let live = live.clone();
        tokio::spawn(async move {
            for i in 0..60 {
                let src = if i % 2 == 0 { ALLOW_X } else { BLOCK_X };
                live.replace_toml(src).unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let (mut blocked, mut allowed) = (0, 0);
    for task in tasks {
        let (b, a) = task.await.unwrap();
        blocked += b;
        allowed += a;
    }
    swapper.await.unwrap();
    assert_eq!(blocked + allowed, CLIENTS * EACH);
    assert_eq!(calls.load(Ordering::SeqCst), allowed);
    assert_eq!(live.generation(), 60);
    // The last swap (i = 59) put BLOCK_X in force.
    let answer = get(addr, "/x", &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_watched_policy_file_reloads_and_a_broken_one_keeps_the_old_policy() {
    let dir = std::env::temp_dir().join(format!("bot-policy-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.toml");
    std::fs::write(&file, BLOCK_X).unwrap();
    let live = LivePolicy::load(&file).unwrap();
    let _watch = live.watch(Duration::from_millis(20)).unwrap();
    let (addr, _) = server(BotPolicyLayer::new(live.clone())).await;
    assert_eq!(get(addr, "/x", &[]).await.status, StatusCode::FORBIDDEN);

    async fn until(live: &LivePolicy, generation: u64) {
        for _ in 0..500 {
            if live.generation() >= generation {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no reload");
    }

    std::fs::write(&file, ALLOW_X).unwrap();
    until(&live, 1).await;
    assert_eq!(get(addr, "/x", &[]).await.status, StatusCode::OK);

    // A broken file: reported, and the running policy stays.
    std::fs::write(
        &file,
        "[[rules]]\nid = \"bad\"\nexpression = 'http.nope eq 1'\naction = \"block\"\n",
    )
    .unwrap();
    for _ in 0..500 {
        if live.last_error().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let error = live.last_error().expect("the failed reload is reported");
    assert!(error.to_string().contains("http.nope"), "{error}");
    assert_eq!(live.generation(), 1);
    assert_eq!(get(addr, "/x", &[]).await.status, StatusCode::OK);

    // Fixed: taken up, and the error cleared.
    std::fs::write(&file, BLOCK_X).unwrap();
    until(&live, 2).await;
    assert!(live.last_error().is_none());
    assert_eq!(get(addr, "/x", &[]).await.status, StatusCode::FORBIDDEN);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Metrics.

#[test]
fn counters_per_rule_and_per_action() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let layer = BotPolicyLayer::new(Policy::from_toml_str(SITE_POLICY).unwrap());
            let service = layer.layer(tower::service_fn(|_: Request<()>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            }));
            let peer: IpAddr = "192.0.2.1".parse().unwrap();
            for ua in ["sqlmap/1.7", "sqlmap/1.8", BROWSER_UA] {
                let request = Request::get("http://shop.example/")
                    .header("user-agent", ua)
                    .extension(peer)
                    .body(())
                    .unwrap();
                let _ = service.clone().oneshot(request).await.unwrap();
            }
        });
    });
    type Labels = Vec<(String, String)>;
    let counters: Vec<(String, Labels, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => Some((
                key.key().name().to_owned(),
                key.key()
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect(),
                n,
            )),
            _ => None,
        })
        .collect();
    let find = |name: &str, labels: &[(&str, &str)]| {
        counters
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, n)| *n)
    };
    assert_eq!(
        find("bot_policy_decisions_total", &[("action", "block")]),
        Some(2),
        "{counters:?}"
    );
    assert_eq!(
        find("bot_policy_decisions_total", &[("action", "allow")]),
        Some(1)
    );
    assert_eq!(
        find(
            "bot_policy_rule_matches_total",
            &[
                ("rule", "baseline-block-definite-bots"),
                ("action", "block")
            ]
        ),
        Some(2)
    );
}

#[tokio::test]
async fn a_signature_check_in_the_extensions_feeds_the_classification() {
    use bot_policy::classify::SignatureCheck;

    let layer = site_layer();
    let service = layer.layer(tower::service_fn(|request: Request<()>| async move {
        let class = request
            .extensions()
            .get::<RequestClassification>()
            .unwrap()
            .clone();
        Ok::<_, Infallible>(Response::new(format!(
            "{} {}",
            class.bot().map_or("-", |b| b.name.as_str()),
            class.verified_by().unwrap_or("-")
        )))
    }));
    let peer: IpAddr = "192.0.2.1".parse().unwrap();
    let make = |check: SignatureCheck| {
        Request::get("http://shop.example/checkout")
            .header("user-agent", CHATGPT_USER_UA)
            .extension(peer)
            .extension(check)
            .body(())
            .unwrap()
    };
    let verified = SignatureCheck::Verified {
        agent: "https://chatgpt.com".into(),
    };
    let response = service.clone().oneshot(make(verified)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "ChatGPT-User signature");

    let response = service
        .oneshot(make(SignatureCheck::Invalid))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.body().is_from_layer());
}
