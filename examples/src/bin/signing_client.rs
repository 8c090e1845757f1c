//! A bot operator's HTTP client: every request it sends is signed with Web Bot Auth by
//! `SignLayer`. To show the other side, the example starts a small verifying server in-process
//! (hyper with `VerifyLayer`, on a loopback port) that answers with what it found out.
//!
//! Run with `cargo run -p examples --bin signing_client`.

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt, service_fn};
use web_bot_auth::keys::{SigningKey, VerifyingKey};
use web_bot_auth::layer::sign::SignBody;
use web_bot_auth::layer::{SignLayer, VerifyLayer};
use web_bot_auth::profile::{Outcome, WebBotAuthVerifier};
use web_bot_auth::profile_signer::WebBotAuthSigner;
use web_bot_auth::verify::KeySet;

type BoxError = Box<dyn Error + Send + Sync>;

/// Where the bot publishes its key directory.
const AGENT: &str = "https://crawler.example";

/// What the server's handler says about a request, from the outcome `VerifyLayer` left.
fn describe(outcome: Option<&Outcome>) -> String {
    match outcome {
        Some(Outcome::Verified(v)) => format!(
            "verified: agent {}, keyid {}, valid {}..{}",
            v.agent.as_ref().map_or("-", |a| a.uri.as_str()),
            v.keyid,
            v.created,
            v.expires
        ),
        // The handler is trusted: it may see the reason; a client would not.
        Some(Outcome::Invalid(bad)) => format!("invalid: {}", bad.error.reason()),
        Some(Outcome::Unverified(why)) => format!("unverified: {why}"),
        None => "no outcome (is VerifyLayer in front?)".to_owned(),
    }
}

/// Starts the verifying server: it knows the bot's public key (in a real deployment, from the
/// bot's key directory).
async fn start_server(bot_key: VerifyingKey) -> Result<SocketAddr, BoxError> {
    let mut keys = KeySet::new();
    keys.insert_for_agent(AGENT, bot_key);
    let handler = service_fn(|request: Request<Incoming>| async move {
        let text = describe(request.extensions().get::<Outcome>());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
    });
    let service = VerifyLayer::new(WebBotAuthVerifier::new(keys))
        .default_scheme("http")
        .layer(handler);

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    eprintln!("server: {e}");
                }
            });
        }
    });
    Ok(addr)
}

async fn text(response: Response<Incoming>) -> Result<String, BoxError> {
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // The bot's key; its public half goes into the directory at AGENT.
    let key = SigningKey::generate_ed25519();
    let public = key.verifying_key().clone();
    println!("bot {AGENT}, key {}", public.thumbprint());

    let addr = start_server(public).await?;
    println!("verifying server on http://{addr}\n");

    // The bot's client: a hyper client for `SignBody` bodies, behind `SignLayer`.
    let signer = WebBotAuthSigner::new(key, AGENT)?;
    let http = Client::builder(TokioExecutor::new()).build_http::<SignBody<Full<Bytes>>>();
    let client = SignLayer::new(signer).layer(http.clone());

    let url = format!("http://{addr}/products/42");
    let request = Request::get(&url)
        .header("user-agent", "ExampleCrawler/1.0")
        .body(Full::new(Bytes::new()))?;
    let signed = text(client.oneshot(request).await?).await?;
    println!("signed GET {url}\n  server: {signed}");

    // The same client without the layer: nothing proves who it is.
    let request = Request::get(&url).body(SignBody::new(Full::new(Bytes::new())))?;
    let unsigned = text(http.request(request).await?).await?;
    println!("unsigned GET {url}\n  server: {unsigned}");

    if !signed.starts_with("verified") || !unsigned.starts_with("unverified") {
        return Err("unexpected outcomes".into());
    }
    Ok(())
}
