//! A bot operator's HTTP client: a reqwest client behind `web-bot-auth`'s `SignLayer`, so that
//! every request it sends is signed with Web Bot Auth. It plays the store's demo AI crawler
//! (`DemoCrawler`, signature agent `https://crawler.example`) and shows what the store makes of
//! it: verified by signature, then the pay-per-crawl exchange on a product page.
//!
//! ```sh
//! # against a running store (its data directory holds the demo crawler's key)
//! cargo run -p examples --bin signing_client -- --store http://127.0.0.1:8080 --key ./.store-data/demo-crawler-key.jwk
//! # alone: starts a store in-process on a free loopback port
//! cargo run -p examples --bin signing_client
//! ```

use std::error::Error;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use clap::Parser;
use examples::store::{DEMO_CRAWLER_AGENT, StoreConfig, start};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, ServiceExt};
use web_bot_auth::component::ComponentIdentifier;
use web_bot_auth::keys::SigningKey;
use web_bot_auth::layer::SignLayer;
use web_bot_auth::layer::sign::SignBody;
use web_bot_auth::profile_signer::WebBotAuthSigner;

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Debug, Parser)]
#[command(about = "Sign requests with Web Bot Auth and call the store as its demo AI crawler")]
struct Cli {
    /// The store's URL; without it, a store is started in-process on a free port.
    #[arg(long)]
    store: Option<String>,
    /// The crawler's private key (a JWK), as the store wrote it in its data directory.
    #[arg(long, default_value = "./.store-data/demo-crawler-key.jwk")]
    key: PathBuf,
    /// The crawler's signature agent (where its key directory is published).
    #[arg(long, default_value = DEMO_CRAWLER_AGENT)]
    agent: String,
    /// The most the crawler pays for a page.
    #[arg(long, default_value = "USD 0.05")]
    max_price: String,
}

/// reqwest as a tower service of `http` requests, which is what `SignLayer` wraps.
#[derive(Clone)]
struct ReqwestService(reqwest::Client);

impl Service<Request<SignBody<Full<Bytes>>>> for ReqwestService {
    type Response = Response<Bytes>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Bytes>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<SignBody<Full<Bytes>>>) -> Self::Future {
        let client = self.0.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await?.to_bytes();
            let request = reqwest::Request::try_from(Request::from_parts(parts, body))?;
            let response = client.execute(request).await?;
            let mut out = Response::builder().status(response.status());
            if let Some(headers) = out.headers_mut() {
                headers.extend(response.headers().clone());
            }
            Ok(out.body(response.bytes().await?)?)
        })
    }
}

/// A signing client: `signer` in front of reqwest.
fn signing_client(
    http: &reqwest::Client,
    signer: WebBotAuthSigner,
) -> impl Service<Request<Full<Bytes>>, Response = Response<Bytes>, Error = BoxError, Future: Send> + Clone
{
    SignLayer::new(signer)
        .default_scheme("http")
        .layer(ReqwestService(http.clone()))
}

fn get(url: &str, headers: &[(&str, &str)]) -> Result<Request<Full<Bytes>>, BoxError> {
    let mut request =
        Request::get(url).header("user-agent", "DemoCrawler/1.0 (+https://crawler.example)");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Ok(request.body(Full::new(Bytes::new()))?)
}

fn show(what: &str, response: &Response<Bytes>) {
    println!("{what}: {}", response.status());
    for name in [
        "bot-policy-rule",
        "bot-policy-action",
        "crawler-price",
        "crawler-charged",
        "crawler-error",
    ] {
        if let Some(value) = response.headers().get(name) {
            println!("  {name}: {}", value.to_str().unwrap_or("?"));
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    // Without --store: a store of our own, in a fresh data directory.
    let (base, key_path, own_store) = match cli.store {
        Some(url) => (url.trim_end_matches('/').to_owned(), cli.key, None),
        None => {
            let dir = std::env::temp_dir().join(format!("signing-client-{}", std::process::id()));
            let store = start(StoreConfig::new("127.0.0.1:0".parse()?, &dir)).await?;
            let base = format!("http://{}", store.addr());
            println!("started a store at {base} (data in {})", dir.display());
            let key = PathBuf::from(&store.credentials().crawler_key_path);
            (base, key, Some((store, dir)))
        }
    };
    let jwk = std::fs::read_to_string(&key_path)
        .map_err(|e| format!("reading {}: {e}", key_path.display()))?;
    let key = SigningKey::from_jwk_json(&jwk)?;
    println!("crawler {}, key {}\n", cli.agent, key.thumbprint());
    let same_key = SigningKey::from_jwk_json(&jwk)?;

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let signer = WebBotAuthSigner::new(key, &cli.agent)?;
    // When it offers to pay, the signature also covers the price header, so a replayed
    // request cannot be made to pay more.
    let paying_signer = WebBotAuthSigner::new(same_key, &cli.agent)?
        .cover(ComponentIdentifier::field("crawler-max-price")?);
    let client = signing_client(&http, signer);
    let paying = signing_client(&http, paying_signer);

    let url = format!("{base}/api/products");
    let response = client.clone().oneshot(get(&url, &[])?).await?;
    show(&format!("signed GET {url}"), &response);
    let body: serde_json::Value = serde_json::from_slice(response.body())?;
    println!("  the store sees: {}", body["visitor"]);

    let url = format!("{base}/products/scale");
    let response = client.oneshot(get(&url, &[])?).await?;
    show(&format!("\nsigned GET {url} (no price offered)"), &response);
    let asked = response.status();

    let response = paying
        .oneshot(get(&url, &[("crawler-max-price", &cli.max_price)])?)
        .await?;
    show(
        &format!(
            "\nsigned GET {url} with crawler-max-price: {}",
            cli.max_price
        ),
        &response,
    );
    let paid = response.status();

    let unsigned = http
        .get(&url)
        .header("user-agent", "DemoCrawler/1.0 (+https://crawler.example)")
        .send()
        .await?;
    println!("\nunsigned GET {url}: {}", unsigned.status());

    if let Some((store, dir)) = own_store {
        store.stop().await?;
        // The temporary data directory; nothing in it is needed any more.
        let _ = std::fs::remove_dir_all(dir);
    }
    if asked != http::StatusCode::PAYMENT_REQUIRED || paid != http::StatusCode::OK {
        return Err(format!("unexpected answers: {asked} then {paid}").into());
    }
    Ok(())
}
