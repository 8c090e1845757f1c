//! `BotPolicyLayer`: classify each request, evaluate the policy, and act, in front of any tower
//! service (hyper, axum, tonic).
//!
//! ```
//! use bot_policy::layer::{BotPolicyLayer, PolicyDecision, RequestClassification};
//! use bot_policy::Policy;
//! use http::{Request, Response, StatusCode};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let policy = Policy::from_toml_str(r#"
//!     include = ["mcp-passthrough", "baseline"]
//!
//!     [[rules]]
//!     id = "no-scanners"
//!     expression = 'lower(http.user_agent) contains "sqlmap"'
//!     action = "block"
//! "#).unwrap();
//!
//! let mut service = ServiceBuilder::new()
//!     .layer(BotPolicyLayer::new(policy))
//!     .service_fn(|request: Request<String>| async move {
//!         // What the layer learned is in the request's extensions.
//!         let decision = request.extensions().get::<PolicyDecision>().unwrap();
//!         assert_eq!(decision.verdict().name(), "allow");
//!         Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
//!     });
//!
//! let request = Request::get("https://shop.example/search?q=1")
//!     .header("user-agent", "sqlmap/1.7")
//!     .extension("203.0.113.9".parse::<std::net::IpAddr>().unwrap())
//!     .body(String::new())
//!     .unwrap();
//! let response = service.ready().await.unwrap().call(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! # }
//! ```
//!
//! # What the layer does
//!
//! For each request it finds the client address (the connection's, from an `IpAddr` or
//! `SocketAddr` in the request extensions unless [`BotPolicyLayer::peer_addr`] says otherwise, or
//! the one a [trusted proxy](BotPolicyLayer::trusted_proxies) forwarded), takes the Web Bot Auth
//! outcome if one is known (see [`BotPolicyLayer`]), classifies the client, evaluates the policy,
//! and then:
//!
//! - `allow` and `skip`: the request goes on, unchanged, with a [`RequestClassification`] and a
//!   [`PolicyDecision`] in its extensions;
//! - `block`: `403` with `{"error":"forbidden"}`;
//! - `challenge`: whatever the [`ChallengeResponder`] answers (by default `403` with
//!   `{"error":"challenge_required"}` and `cf-mitigated: challenge`); a responder may also let
//!   the request pass (a client that already solved the challenge);
//! - `rate_limit` over the limit: `429` with `Retry-After` and `{"error":"rate_limited"}`;
//! - `charge`: the pay-per-crawl exchange, see [`ChargeHook`].
//!
//! Responses the layer writes are JSON, `cache-control: no-store`, and say no more than the
//! status needs (never the rule). With [`BotPolicyLayer::decision_headers`] every response also
//! names the rule and action in `bot-policy-rule` and `bot-policy-action` (for debugging; off by
//! default).
//!
//! # Pay-per-crawl
//!
//! A `charge` rule's match starts the exchange Cloudflare's pay-per-crawl defines:
//!
//! 1. Without a price header, the answer is `402` with `crawler-price: USD 0.01`.
//! 2. The crawler retries with `crawler-exact-price` (must equal the price) or
//!    `crawler-max-price` (must be at least the price, same currency). A price that does not do
//!    is `402` again; both headers at once, or a malformed one, is `400`. Errors carry a
//!    `crawler-error` header with Cloudflare's error codes (`MissingCrawlerPrice`,
//!    `InvalidCrawlerExactPrice`, `InvalidCrawlerMaxPrice`, `ConflictingPriceHeaders`,
//!    `InvalidCrawlerPriceValue`, `StrongAuthRequired`, `InvalidSignature`, `PaymentFailed`).
//! 3. Only a crawler verified by a Web Bot Auth signature can pay (by IP range too, if
//!    [`BotPolicyLayer::charge_ip_verified`] is set): anyone else offering a price gets `400`
//!    `StrongAuthRequired`, and is never charged. When the signature's outcome comes from
//!    `web-bot-auth` (feature `web-bot-auth`), the price header must be covered by the signature,
//!    so that a replayed request cannot raise the price.
//! 4. The request goes to the service; if the service answers with a `2xx`, the [`ChargeHook`]
//!    (the operator's billing) is called, and the response goes out with `crawler-charged:
//!    USD 0.01`. Other statuses are not charged. A hook that declines turns the answer into `403`
//!    `PaymentFailed`; one that cannot be reached, into `503`. Without a hook, no one can pay
//!    (fail closed).
//!
//! An explicit block, or any rule that decides before the `charge` rule, wins over any price
//! header: the price headers are looked at only when a `charge` rule decided.
//!
//! A service that does not run tower layers (actix-web) runs the same exchange with
//! [`pay_per_crawl::negotiate`](crate::pay_per_crawl::negotiate), given a [`Payer`] from its
//! classification.
//!
//! # Rate limits shared through Redis
//!
//! When the policy's `rate_limit` rules are counted in Redis (feature `redis`,
//! `LoadOptions::redis_rate_limiter`), the layer evaluates it with `Policy::evaluate_async`: the
//! request's head goes into one boxed future that classifies, evaluates and waits for Redis,
//! while its body and the ready inner service wait beside it (so the body need not be `Sync`);
//! then the layer acts on the decision as above. Policies without such rules take the
//! synchronous path, which allocates no future. What happens when Redis cannot answer is the
//! limiter's configured choice (`RateLimitUnavailable`).
//!
//! # Hot reload
//!
//! The layer reads its policy and classifier from a [`LivePolicy`](crate::LivePolicy) and a
//! [`LiveClassifier`](crate::LiveClassifier): replace either (or let [`LivePolicy::watch`] do it)
//! and the next request uses the new one. Requests in flight finish with the one they started
//! with.
//!
//! [`LivePolicy::watch`]: crate::LivePolicy::watch

mod body;
mod challenge;
mod charge;
mod future;
#[allow(clippy::module_inception)]
mod layer;
mod record;
mod service;

pub use crate::pay_per_crawl::{ChargeError, Payer};
pub use body::BotPolicyBody;
pub use challenge::{Challenge, ChallengeResponder, ChallengeResponse, DefaultChallenge};
pub use charge::{ChargeHook, ChargeRequest};
pub use future::ResponseFuture;
pub use layer::{BotPolicyLayer, PeerAddr};
pub use record::{ClaimedBot, PolicyDecision, RequestClassification};
pub use service::BotPolicyService;
