//! Server side: verify the Web Bot Auth signature of each request.
//!
//! [`VerifyService`] verifies each request with a
//! [`WebBotAuthVerifier`](crate::profile::WebBotAuthVerifier), inserts the resulting
//! [`Outcome`](crate::profile::Outcome) into the request extensions, and calls the inner
//! service. Handlers and policy layers read it with
//! `request.extensions().get::<Outcome>()`; the extension is always there after this layer.
//!
//! - [`Outcome::Verified`](crate::profile::Outcome::Verified) and
//!   [`Outcome::Unverified`](crate::profile::Outcome::Unverified) (no signature, or a key
//!   nobody could find) always pass: this layer says who a client is, not what it may do.
//! - [`Outcome::Invalid`](crate::profile::Outcome::Invalid) passes too by default, so that a
//!   policy layer decides; with [`VerifyLayer::reject_invalid`] it is answered
//!   `401 Unauthorized` with the body `invalid signature` and no detail, and the inner service
//!   is not called. Each invalid outcome is logged at debug level (label, agent, keyid and the
//!   reason; never signature bytes) under the target `web_bot_auth::layer::verify`.
//!
//! When a signature names a key the verifier's resolver does not hold and a
//! [`KeyFetcher`](crate::fetch::KeyFetcher) is set ([`VerifyLayer::with_fetcher`]), the layer
//! awaits `fetcher.fetch(agent)` and verifies once more. The layer has no timer of its own (the
//! `tower` feature does not bring a runtime): the fetcher must bound its time, as the directory
//! cache does with its fetch timeout, and since any client can name any agent, it should also
//! limit and cache its fetches (the directory cache rate-limits per agent and caches failures). A fetch failure leaves the outcome
//! [`UnverifiedReason::UnknownKey`](crate::profile::UnverifiedReason::UnknownKey). Without a
//! fetch, the response future allocates nothing.
//!
//! When the verifier has an [async replay
//! store](crate::profile::WebBotAuthVerifier::with_async_replay_store) (Redis, feature `redis`),
//! the nonce of a signature that verified is checked there before the inner service is called
//! (one boxed future per such request); a replay, or a store that fails closed, makes the
//! outcome [`Outcome::Invalid`](crate::profile::Outcome::Invalid).
//!
//! ```
//! use std::convert::Infallible;
//!
//! use tower::{Layer, ServiceExt, service_fn};
//! use web_bot_auth::layer::{Authority, VerifyLayer};
//! use web_bot_auth::profile::{Outcome, WebBotAuthVerifier};
//! use web_bot_auth::verify::KeySet;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = VerifyLayer::new(WebBotAuthVerifier::new(KeySet::new()))
//!     .reject_invalid(true)
//!     .authority(Authority::TrustedHeader(http::HeaderName::from_static("x-forwarded-host")));
//! let service = layer.layer(service_fn(|req: http::Request<String>| async move {
//!     let outcome = req.extensions().get::<Outcome>().cloned();
//!     Ok::<_, Infallible>(http::Response::new(format!("{:?}", outcome.map(|o| o.kind()))))
//! }));
//!
//! // An unsigned request is unverified, and passes.
//! let request = http::Request::get("/").header("host", "shop.example").body(String::new())?;
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//!
//! // A broken signature is refused.
//! let request = http::Request::get("/")
//!     .header("x-forwarded-host", "shop.example")
//!     .header("signature-input", "sig1=();tag=\"web-bot-auth\"")
//!     .header("signature", "sig1=:AAAA:")
//!     .body(String::new())?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), 401);
//! # Ok(())
//! # }
//! ```

mod body;
mod future;
mod layer;
mod service;

pub use body::VerifyResponseBody;
pub use future::ResponseFuture;
pub use layer::VerifyLayer;
pub use service::VerifyService;
