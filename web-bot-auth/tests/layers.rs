//! The tower layers over real loopback connections: hyper servers with `VerifyLayer` or
//! `DirectoryService`, hyper clients with `SignLayer`.
#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Layer, Service, ServiceExt};
use web_bot_auth::clock::SystemClock;
use web_bot_auth::component::ComponentIdentifier;
use web_bot_auth::digest::verify_content_digest;
use web_bot_auth::directory::{
    DIRECTORY_MEDIA_TYPE, DIRECTORY_PATH, KeyDirectory, verify_directory_response,
};
use web_bot_auth::fetch::{FetchError, FetchFuture, KeyFetcher};
use web_bot_auth::keys::{SigningKey, VerifyingKey};
use web_bot_auth::layer::sign::SignBody;
use web_bot_auth::layer::{
    Authority, BoxError, DirectoryService, SignLayer, SignLayerError, VerifyLayer,
};
use web_bot_auth::profile::{Outcome, WebBotAuthVerifier};
use web_bot_auth::profile_signer::WebBotAuthSigner;
use web_bot_auth::verify::{KeyQuery, KeyResolver, KeySet};

const AGENT: &str = "https://bot.example";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Serves `service` on a fresh loopback port, one task per connection.
async fn serve<S, B>(service: S) -> SocketAddr
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The handler behind `VerifyLayer`: reports the outcome it finds in the extensions as
/// `x-outcome`, `x-agent`, `x-keyid`, `x-detail`, the `Content-Digest` check as `x-digest`,
/// and echoes the body.
#[derive(Clone, Default)]
struct Echo {
    calls: Arc<AtomicUsize>,
}

impl Service<Request<Incoming>> for Echo {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            let outcome = parts.extensions.get::<Outcome>().cloned();
            let (kind, agent, keyid, detail) = match &outcome {
                None => ("none", None, None, String::new()),
                Some(Outcome::Verified(v)) => (
                    "verified",
                    v.agent.as_ref().map(|a| a.uri.clone()),
                    Some(v.keyid.clone()),
                    String::new(),
                ),
                Some(Outcome::Invalid(bad)) => (
                    "invalid",
                    bad.agent.clone(),
                    bad.keyid.clone(),
                    bad.error.reason().to_string(),
                ),
                Some(Outcome::Unverified(why)) => ("unverified", None, None, why.to_string()),
            };
            let digest = match parts.headers.get("content-digest") {
                None => "missing",
                Some(v) => match verify_content_digest(v.to_str().unwrap(), &body) {
                    Ok(_) => "ok",
                    Err(_) => "bad",
                },
            };
            let mut response = Response::new(Full::new(body));
            let headers = response.headers_mut();
            let mut set = |name: &'static str, value: &str| {
                headers.insert(name, HeaderValue::from_str(value).unwrap());
            };
            set("x-outcome", kind);
            set("x-agent", agent.as_deref().unwrap_or("-"));
            set("x-keyid", keyid.as_deref().unwrap_or("-"));
            set("x-detail", &detail);
            set("x-digest", digest);
            Ok(response)
        })
    }
}

/// What the server answered.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    async fn from(response: Response<Incoming>) -> Self {
        let (parts, body) = response.into_parts();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }
}

type PlainClient = Client<HttpConnector, Full<Bytes>>;
type SigningClient = Client<HttpConnector, SignBody<Full<Bytes>>>;

fn plain_client() -> PlainClient {
    Client::builder(TokioExecutor::new()).build_http()
}

fn signing_client() -> SigningClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A bot: its key and a signer for [`AGENT`].
fn bot() -> (WebBotAuthSigner, VerifyingKey) {
    let key = SigningKey::generate_ed25519();
    let public = key.verifying_key().clone();
    (WebBotAuthSigner::new(key, AGENT).unwrap(), public)
}

fn keys_for(public: &VerifyingKey) -> KeySet {
    let mut keys = KeySet::new();
    keys.insert_for_agent(AGENT, public.clone());
    keys
}

/// A `VerifyLayer` server over `Echo`; returns its address and the handler's call counter.
async fn verifying_server(layer: VerifyLayer) -> (SocketAddr, Arc<AtomicUsize>) {
    let echo = Echo::default();
    let calls = Arc::clone(&echo.calls);
    (serve(layer.layer(echo)).await, calls)
}

fn get(addr: SocketAddr, path: &str) -> Request<Full<Bytes>> {
    Request::get(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

#[tokio::test]
async fn signed_request_is_verified_and_the_body_arrives_intact() {
    let (signer, public) = bot();
    let layer = VerifyLayer::new(WebBotAuthVerifier::new(keys_for(&public)));
    let (addr, calls) = verifying_server(layer).await;
    let client = SignLayer::new(signer).layer(signing_client());

    let body: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let request = Request::post(format!("http://{addr}/upload?x=1"))
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let answer = Answer::from(client.clone().oneshot(request).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("x-outcome"),
        "verified",
        "{}",
        answer.header("x-detail")
    );
    assert_eq!(answer.header("x-agent"), AGENT);
    assert_eq!(answer.header("x-keyid"), public.thumbprint());
    assert_eq!(answer.header("x-digest"), "missing");
    assert_eq!(answer.body, body);

    // Each request is signed afresh.
    let answer = Answer::from(client.oneshot(get(addr, "/again")).await.unwrap()).await;
    assert_eq!(answer.header("x-outcome"), "verified");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unsigned_request_is_unverified_and_passes() {
    let (_, public) = bot();
    let keys = Arc::new(LearningKeys::new(vec![]));
    let layer = VerifyLayer::new(WebBotAuthVerifier::new(keys_for(&public)))
        .reject_invalid(true)
        .with_fetcher(keys.clone());
    let (addr, calls) = verifying_server(layer).await;

    let answer = Answer::from(plain_client().request(get(addr, "/")).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-outcome"), "unverified");
    assert_eq!(answer.header("x-detail"), "no signature");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 0);
}

/// Sends a request signed for the loopback authority with a `Host` the client did not sign.
async fn send_with_wrong_host(addr: SocketAddr, signer: WebBotAuthSigner) -> Answer {
    let client = SignLayer::new(signer).layer(signing_client());
    let request = Request::get(format!("http://{addr}/"))
        .header("host", "elsewhere.example")
        .body(Full::new(Bytes::new()))
        .unwrap();
    Answer::from(client.oneshot(request).await.unwrap()).await
}

/// Flips one character of the signature value: still well-formed, no longer valid.
fn corrupt(mut request: Request<SignBody<Full<Bytes>>>) -> Request<SignBody<Full<Bytes>>> {
    let value = request.headers()["signature"].to_str().unwrap().to_owned();
    let at = value.find(":").unwrap() + 1;
    let flipped = if value.as_bytes()[at] == b'A' {
        "B"
    } else {
        "A"
    };
    let value = format!("{}{flipped}{}", &value[..at], &value[at + 1..]);
    request
        .headers_mut()
        .insert("signature", HeaderValue::from_str(&value).unwrap());
    request
}

#[tokio::test]
async fn tampered_request_is_invalid_and_passes_by_default() {
    let (signer, public) = bot();
    let layer = VerifyLayer::new(WebBotAuthVerifier::new(keys_for(&public)));
    let (addr, calls) = verifying_server(layer).await;

    // Sent to another authority than the one signed.
    let answer = send_with_wrong_host(addr, signer).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-outcome"), "invalid");
    assert_eq!(answer.header("x-agent"), AGENT);
    assert_eq!(answer.header("x-detail"), "signature does not match");

    // A corrupted signature.
    let (signer, public) = bot();
    let layer = VerifyLayer::new(WebBotAuthVerifier::new(keys_for(&public)));
    let (addr2, _) = verifying_server(layer).await;
    let client = SignLayer::new(signer).layer(signing_client().map_request(corrupt));
    let answer = Answer::from(client.oneshot(get(addr2, "/")).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-outcome"), "invalid");
    assert_eq!(answer.header("x-detail"), "signature does not match");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reject_invalid_answers_401_without_calling_the_handler() {
    let (signer, public) = bot();
    let layer = VerifyLayer::new(WebBotAuthVerifier::new(keys_for(&public))).reject_invalid(true);
    let (addr, calls) = verifying_server(layer).await;

    let answer = send_with_wrong_host(addr, signer).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(answer.body, "invalid signature");
    assert_eq!(answer.header("x-outcome"), "");
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // Valid and unsigned requests still pass.
    let (signer, public) = bot();
    let layer = VerifyLayer::new(WebBotAuthVerifier::new(keys_for(&public))).reject_invalid(true);
    let (addr, calls) = verifying_server(layer).await;
    let client = SignLayer::new(signer).layer(signing_client());
    let answer = Answer::from(client.oneshot(get(addr, "/")).await.unwrap()).await;
    assert_eq!(answer.header("x-outcome"), "verified");
    let answer = Answer::from(plain_client().request(get(addr, "/")).await.unwrap()).await;
    assert_eq!(answer.header("x-outcome"), "unverified");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A resolver that learns an agent's keys when asked to fetch them, and counts the fetches.
struct LearningKeys {
    known: Mutex<KeySet>,
    published: Vec<(String, VerifyingKey)>,
    fetches: AtomicUsize,
}

impl LearningKeys {
    fn new(published: Vec<(String, VerifyingKey)>) -> Self {
        LearningKeys {
            known: Mutex::new(KeySet::new()),
            published,
            fetches: AtomicUsize::new(0),
        }
    }
}

impl KeyResolver for LearningKeys {
    fn resolve(&self, query: &KeyQuery<'_>) -> Option<VerifyingKey> {
        self.known.lock().unwrap().resolve(query)
    }
}

impl KeyFetcher for LearningKeys {
    fn fetch<'a>(&'a self, agent: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            // A real fetcher waits for the network.
            tokio::task::yield_now().await;
            let mut found = false;
            for (a, key) in &self.published {
                if a == agent {
                    self.known
                        .lock()
                        .unwrap()
                        .insert_for_agent(agent, key.clone());
                    found = true;
                }
            }
            if found {
                Ok(())
            } else {
                Err(FetchError::Status(404))
            }
        })
    }
}

#[tokio::test]
async fn unknown_key_is_fetched_once_then_verified() {
    let (signer, public) = bot();
    let keys = Arc::new(LearningKeys::new(vec![(AGENT.to_owned(), public)]));
    let layer =
        VerifyLayer::new(WebBotAuthVerifier::new(Arc::clone(&keys))).with_fetcher(keys.clone());
    let (addr, calls) = verifying_server(layer).await;
    let client = SignLayer::new(signer).layer(signing_client());

    let request = Request::post(format!("http://{addr}/"))
        .body(Full::new(Bytes::from_static(b"after a fetch")))
        .unwrap();
    let answer = Answer::from(client.clone().oneshot(request).await.unwrap()).await;
    assert_eq!(
        answer.header("x-outcome"),
        "verified",
        "{}",
        answer.header("x-detail")
    );
    assert_eq!(answer.body, "after a fetch");
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);

    // Now known: no second fetch.
    let answer = Answer::from(client.oneshot(get(addr, "/")).await.unwrap()).await;
    assert_eq!(answer.header("x-outcome"), "verified");
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn failed_fetch_leaves_the_key_unknown() {
    let (signer, _) = bot();
    let keys = Arc::new(LearningKeys::new(vec![]));
    let layer = VerifyLayer::new(WebBotAuthVerifier::new(Arc::clone(&keys)))
        .with_fetcher(keys.clone())
        .reject_invalid(true);
    let (addr, calls) = verifying_server(layer).await;
    let client = SignLayer::new(signer).layer(signing_client());

    let answer = Answer::from(client.oneshot(get(addr, "/")).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-outcome"), "unverified");
    assert!(
        answer.header("x-detail").contains(AGENT),
        "{}",
        answer.header("x-detail")
    );
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn trusted_header_behind_a_proxy() {
    let (signer, public) = bot();
    let forwarded = http::HeaderName::from_static("x-forwarded-host");
    let verifier = Arc::new(WebBotAuthVerifier::new(keys_for(&public)));
    let (behind_proxy, _) = verifying_server(
        VerifyLayer::from_shared(Arc::clone(&verifier))
            .authority(Authority::TrustedHeader(forwarded.clone())),
    )
    .await;
    let (fixed, _) = verifying_server(
        VerifyLayer::from_shared(Arc::clone(&verifier))
            .authority(Authority::Fixed("shop.example".into())),
    )
    .await;
    let (direct, _) = verifying_server(VerifyLayer::from_shared(verifier)).await;

    // The bot signs for the public name; the proxy rewrites the target (and so `Host`) and
    // says where the request was sent.
    let proxied = |addr: SocketAddr| {
        let mut request = Request::get("https://shop.example/page?q=1")
            .body(Full::new(Bytes::new()))
            .unwrap();
        signer.sign_http(&mut request, "https").unwrap();
        *request.uri_mut() = format!("http://{addr}/page?q=1").parse().unwrap();
        request
            .headers_mut()
            .insert(forwarded.clone(), HeaderValue::from_static("shop.example"));
        request
    };
    let client = plain_client();
    let answer = Answer::from(client.request(proxied(behind_proxy)).await.unwrap()).await;
    assert_eq!(
        answer.header("x-outcome"),
        "verified",
        "{}",
        answer.header("x-detail")
    );
    let answer = Answer::from(client.request(proxied(fixed)).await.unwrap()).await;
    assert_eq!(
        answer.header("x-outcome"),
        "verified",
        "{}",
        answer.header("x-detail")
    );
    let answer = Answer::from(client.request(proxied(direct)).await.unwrap()).await;
    assert_eq!(answer.header("x-outcome"), "invalid");

    // Behind the proxy, a request without the header has no authority.
    let mut request = proxied(behind_proxy);
    request.headers_mut().remove(&forwarded);
    let answer = Answer::from(client.request(request).await.unwrap()).await;
    assert_eq!(answer.header("x-outcome"), "invalid");
}

#[tokio::test]
async fn content_digest_is_sent_and_signed() {
    let key = SigningKey::generate_ed25519();
    let public = key.verifying_key().clone();
    let signer = WebBotAuthSigner::new(key, AGENT)
        .unwrap()
        .cover(ComponentIdentifier::field("content-digest").unwrap());
    let layer = VerifyLayer::new(WebBotAuthVerifier::new(keys_for(&public)));
    let (addr, calls) = verifying_server(layer).await;
    let client = SignLayer::new(signer)
        .with_content_digest(1024)
        .layer(signing_client());

    let request = Request::post(format!("http://{addr}/orders"))
        .body(Full::new(Bytes::from_static(b"{\"item\":42}")))
        .unwrap();
    let answer = Answer::from(client.clone().oneshot(request).await.unwrap()).await;
    assert_eq!(
        answer.header("x-outcome"),
        "verified",
        "{}",
        answer.header("x-detail")
    );
    assert_eq!(answer.header("x-digest"), "ok");
    assert_eq!(answer.body, "{\"item\":42}");

    // A body without content gets the digest of nothing.
    let answer = Answer::from(client.clone().oneshot(get(addr, "/")).await.unwrap()).await;
    assert_eq!(answer.header("x-outcome"), "verified");
    assert_eq!(answer.header("x-digest"), "ok");

    // Over the limit: the client fails, nothing is sent.
    let request = Request::post(format!("http://{addr}/orders"))
        .body(Full::new(Bytes::from(vec![b'x'; 1025])))
        .unwrap();
    let error = client.oneshot(request).await.unwrap_err();
    let error = error.downcast_ref::<SignLayerError>().unwrap();
    assert!(matches!(
        error,
        SignLayerError::BodyTooLarge { limit: 1024 }
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_signature_covers_the_digest() {
    // The verifier sees a digest of another body: the digest check fails and so does the
    // signature, because the signed digest is not the one received.
    let key = SigningKey::generate_ed25519();
    let public = key.verifying_key().clone();
    let signer = WebBotAuthSigner::new(key, AGENT)
        .unwrap()
        .cover(ComponentIdentifier::field("content-digest").unwrap());
    let layer = VerifyLayer::new(WebBotAuthVerifier::new(keys_for(&public)));
    let (addr, _) = verifying_server(layer).await;
    let swap_digest = |mut request: Request<SignBody<Full<Bytes>>>| {
        let other = web_bot_auth::digest::content_digest(
            b"other",
            &[web_bot_auth::digest::DigestAlgorithm::Sha256],
        );
        request
            .headers_mut()
            .insert("content-digest", HeaderValue::from_str(&other).unwrap());
        request
    };
    let client = SignLayer::new(signer)
        .with_content_digest(1024)
        .layer(signing_client().map_request(swap_digest));
    let request = Request::post(format!("http://{addr}/"))
        .body(Full::new(Bytes::from_static(b"body")))
        .unwrap();
    let answer = Answer::from(client.oneshot(request).await.unwrap()).await;
    assert_eq!(answer.header("x-outcome"), "invalid");
    assert_eq!(answer.header("x-digest"), "bad");
}

#[tokio::test]
async fn directory_service_on_loopback() {
    let key = Arc::new(SigningKey::generate_ed25519());
    let next = SigningKey::generate_ed25519().verifying_key().clone();
    let service = DirectoryService::new(Arc::clone(&key))
        .unwrap()
        .publish(next.clone())
        .max_age(120);
    let addr = serve(service).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();

    let answer = Answer::from(client.request(get(addr, DIRECTORY_PATH)).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), DIRECTORY_MEDIA_TYPE);
    assert_eq!(answer.header("cache-control"), "max-age=120");
    assert_eq!(
        answer.header("content-length"),
        answer.body.len().to_string()
    );
    let directory = KeyDirectory::parse(&answer.body).unwrap();
    let kids: Vec<_> = directory
        .keys
        .iter()
        .map(|k| k.kid.clone().unwrap())
        .collect();
    assert_eq!(kids, [key.thumbprint(), next.thumbprint()]);

    let verified = verify_directory_response(
        &answer.headers,
        &answer.body,
        &addr.to_string(),
        &SystemClock,
        60,
    )
    .unwrap();
    assert_eq!(verified.signed_by, key.thumbprint());
    assert_eq!(verified.keys.len(), 2);
    // Signed for the authority it was fetched from, not another.
    assert!(
        verify_directory_response(
            &answer.headers,
            &answer.body,
            "other.example",
            &SystemClock,
            60
        )
        .is_err()
    );
    let input = answer.header("signature-input");
    let created: u64 = field_param(input, "created");
    let expires: u64 = field_param(input, "expires");
    assert_eq!(expires - created, 120);

    let head = Request::head(format!("http://{addr}{DIRECTORY_PATH}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let answer_head = Answer::from(client.request(head).await.unwrap()).await;
    assert_eq!(answer_head.status, StatusCode::OK);
    assert!(answer_head.body.is_empty());
    assert_eq!(answer_head.header("content-type"), DIRECTORY_MEDIA_TYPE);
    assert_eq!(
        answer_head.header("content-length"),
        answer.body.len().to_string()
    );

    let post = Request::post(format!("http://{addr}{DIRECTORY_PATH}"))
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let answer = Answer::from(client.request(post).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("allow"), "GET, HEAD");
}

/// The integer value of `;name=` in a `Signature-Input` value.
fn field_param(input: &str, name: &str) -> u64 {
    let start = input.find(&format!(";{name}=")).unwrap() + name.len() + 2;
    input[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}
