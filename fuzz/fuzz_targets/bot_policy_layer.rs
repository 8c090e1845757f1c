//! Fuzz target: `bot_policy::layer::BotPolicyLayer` in front of a trivial service.
//!
//! One layer, built once: the `mcp-passthrough` and `baseline` presets, a `rate_limit` rule on
//! `/api/` (2 per second per client address), a `charge` rule (`USD 0.01`) for AI crawlers,
//! 127.0.0.1 as a trusted proxy (whose `x-verified-signature-agent` is believed), a charge hook
//! that always succeeds, and decision headers on. The service answers `200` with no headers.
//!
//! The input is lines (`\n`): the method, the request target (any URI `http::Uri` accepts; an
//! input whose method or target does not parse is skipped), the peer address (an `IpAddr` or a
//! `SocketAddr`; anything else: none), then up to 16 header lines, each a selector byte (`a` is
//! the first of [`MENU`], `b` the second, …, modulo its length) followed by the value (lines
//! whose value `HeaderValue::from_bytes` refuses are skipped). The request is called and its
//! future polled to completion with a no-op waker.
//!
//! Checks: never panics; the status is 200, 400, 402, 403, 429 or 503; a response the layer
//! wrote is `application/json` and `no-store`, one the service wrote is its `200`; a `402`
//! carries `crawler-price: USD 0.01` and a `crawler-error`; a `429` a `Retry-After`; the service
//! sees a `PolicyDecision` of `allow`, `skip` or `charge`; a request is charged at most once,
//! only when it offered one price header and a trusted hop vouched for its signature, and then
//! the response is the service's `200` with `crawler-charged: USD 0.01`; a response with
//! `crawler-charged` was charged.
#![no_main]

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use bot_policy::Policy;
use bot_policy::classify::TrustedProxies;
use bot_policy::layer::{BotPolicyLayer, ChargeError, ChargeRequest, PolicyDecision};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use libfuzzer_sys::fuzz_target;
use tower::{Layer, Service};

const POLICY: &str = r#"
include = ["mcp-passthrough", "baseline"]

[[rules]]
id = "api-rate"
expression = 'starts_with(http.request.uri.path, "/api/")'
action = "rate_limit"
requests = 2
period = "1s"
key = ["ip.src"]

[[rules]]
id = "pay-per-crawl"
expression = 'cf.verified_bot_category eq "AI Crawler"'
action = "charge"
price = "USD 0.01"
"#;

/// The price of the `charge` rule, as the layer writes it.
const PRICE: &str = "USD 0.01";

/// The header a trusted proxy sets to vouch for a verified Web Bot Auth signature.
const UPSTREAM_AGENT: &str = "x-verified-signature-agent";

/// The header fields a request may carry, chosen by the first byte of a header line.
const MENU: &[&str] = &[
    "user-agent",
    "x-forwarded-for",
    "forwarded",
    "cf-connecting-ip",
    "crawler-exact-price",
    "crawler-max-price",
    "accept",
    "cookie",
    UPSTREAM_AGENT,
    "host",
    "accept-language",
    "sec-fetch-mode",
];

/// Charges billed so far (the hook counts them).
static CHARGES: AtomicU64 = AtomicU64::new(0);
/// Requests that reached the service.
static SERVED: AtomicU64 = AtomicU64::new(0);

fn layer() -> &'static BotPolicyLayer {
    static LAYER: OnceLock<BotPolicyLayer> = OnceLock::new();
    LAYER.get_or_init(|| {
        let policy = Policy::from_toml_str(POLICY).unwrap_or_else(|e| panic!("{e}"));
        let proxies = TrustedProxies::new(["127.0.0.1"]).unwrap_or_else(|e| panic!("{e}"));
        BotPolicyLayer::new(policy)
            .trusted_proxies(proxies)
            .upstream_signature_agent_header(HeaderName::from_static(UPSTREAM_AGENT))
            .decision_headers(true)
            .charge_hook(|charge: ChargeRequest| {
                assert_eq!(charge.price.to_string(), PRICE);
                assert_eq!(charge.payer.verified_by, "signature");
                assert!(charge.status.is_success());
                CHARGES.fetch_add(1, Ordering::SeqCst);
                std::future::ready(Ok::<(), ChargeError>(()))
            })
    })
}

/// The service behind the layer: checks what the layer put in the extensions, answers `200`.
fn service(request: Request<()>) -> std::future::Ready<Result<Response<()>, Infallible>> {
    let decision = request.extensions().get::<PolicyDecision>();
    let verdict = decision.map(|d| d.verdict().name());
    assert!(
        matches!(verdict, Some("allow" | "skip" | "charge")),
        "the service got a request with verdict {verdict:?}"
    );
    assert!(
        request
            .extensions()
            .get::<bot_policy::layer::RequestClassification>()
            .is_some()
    );
    SERVED.fetch_add(1, Ordering::SeqCst);
    std::future::ready(Ok(Response::new(())))
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let (Some(method), Some(target)) = (lines.next(), lines.next()) else {
        return;
    };
    let Ok(method) = Method::from_bytes(method) else {
        return;
    };
    let Ok(uri) = Uri::try_from(target) else {
        return;
    };
    let peer = lines.next().and_then(|line| std::str::from_utf8(line).ok());
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    let mut trusted_peer = false;
    if let Some(peer) = peer {
        if let Ok(ip) = peer.parse::<IpAddr>() {
            trusted_peer = ip.to_canonical() == IpAddr::from([127, 0, 0, 1]);
            request.extensions_mut().insert(ip);
        } else if let Ok(addr) = peer.parse::<SocketAddr>() {
            trusted_peer = addr.ip().to_canonical() == IpAddr::from([127, 0, 0, 1]);
            request.extensions_mut().insert(addr);
        }
    }
    for line in lines.take(16) {
        let Some((&selector, value)) = line.split_first() else {
            continue;
        };
        let name = MENU[usize::from(selector.wrapping_sub(b'a')) % MENU.len()];
        if let Ok(value) = HeaderValue::from_bytes(value) {
            request
                .headers_mut()
                .append(HeaderName::from_static(name), value);
        }
    }
    let price_headers = ["crawler-exact-price", "crawler-max-price"]
        .iter()
        .map(|name| request.headers().get_all(*name).iter().count())
        .sum::<usize>();
    let vouched = trusted_peer
        && request
            .headers()
            .get(UPSTREAM_AGENT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty());

    let charges_before = CHARGES.load(Ordering::SeqCst);
    let served_before = SERVED.load(Ordering::SeqCst);
    let mut service = layer().layer(tower::service_fn(service));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))),
        "a service_fn is always ready"
    );
    let mut future = pin!(service.call(request));
    let mut response = None;
    for _ in 0..8 {
        if let Poll::Ready(result) = future.as_mut().poll(&mut cx) {
            response = Some(result);
            break;
        }
    }
    let Some(Ok(response)) = response else {
        panic!("the response future did not complete with ready inner futures");
    };
    let charged = CHARGES.load(Ordering::SeqCst) - charges_before;
    let served = SERVED.load(Ordering::SeqCst) - served_before;

    let status = response.status();
    let headers = response.headers();
    let header = |name: &str| headers.get(name).map(HeaderValue::as_bytes);
    assert!(
        [200, 400, 402, 403, 429, 503].contains(&status.as_u16()),
        "status {status}"
    );
    assert!(served <= 1 && charged <= 1);
    assert!(
        header("bot-policy-action").is_some() && header("bot-policy-rule").is_some(),
        "decision headers are on"
    );
    if response.body().is_from_layer() {
        assert_eq!(served, 0, "the layer answered, yet the service was called");
        assert_eq!(header("content-type"), Some(&b"application/json"[..]));
        assert_eq!(header("cache-control"), Some(&b"no-store"[..]));
    } else {
        assert_eq!(
            served, 1,
            "the service's answer without calling the service"
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header("content-type"), None);
    }
    if status == StatusCode::PAYMENT_REQUIRED {
        assert_eq!(header("crawler-price"), Some(PRICE.as_bytes()));
        assert!(header("crawler-error").is_some());
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry = header("retry-after")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert!(
            retry.is_some_and(|s| s >= 1),
            "429 with Retry-After {retry:?}"
        );
    }
    if charged == 1 {
        assert_eq!(
            price_headers, 1,
            "charged with {price_headers} price headers"
        );
        assert!(vouched, "charged without a vouched-for signature");
        assert_eq!(served, 1);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header("crawler-charged"), Some(PRICE.as_bytes()));
        assert_eq!(header("bot-policy-action"), Some(&b"charge"[..]));
    } else {
        assert_eq!(
            header("crawler-charged"),
            None,
            "crawler-charged but not charged"
        );
        if status == StatusCode::OK {
            assert_ne!(
                header("bot-policy-action"),
                Some(&b"charge"[..]),
                "served under a charge rule without a charge"
            );
        }
    }
});
