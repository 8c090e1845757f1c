//! Client side: sign each outgoing request as a bot.
//!
//! [`SignService`] signs each request with a
//! [`WebBotAuthSigner`](crate::profile_signer::WebBotAuthSigner) before handing it to the inner
//! service (a `hyper_util` client, a `reqwest`-like adapter, any
//! `tower::Service<http::Request<_>>`). Each request gets a fresh signature: `created` is read
//! from the signer's clock at call time, with a new nonce.
//!
//! The inner service receives the request with its body wrapped in [`SignBody`], so that the
//! same service works with and without a content digest: build the client for
//! `SignBody<YourBody>`.
//!
//! With [`SignLayer::with_content_digest`], the service first reads the whole body (refusing
//! more than the given number of bytes), sets `Content-Digest: sha-256=:…:` and then signs.
//! The signature covers the digest only if the signer was built to cover it, with
//! `.cover(ComponentIdentifier::field("content-digest")?)`; the layer logs a warning when it is
//! not.
//!
//! Failures (no authority to sign, a body too large or unreadable) are errors of the service, as
//! a [`SignLayerError`] inside a [`BoxError`](crate::layer::BoxError); errors of the inner
//! service are boxed unchanged.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use tower::{Layer, ServiceExt, service_fn};
//! use web_bot_auth::component::ComponentIdentifier;
//! use web_bot_auth::keys::SigningKey;
//! use web_bot_auth::layer::SignLayer;
//! use web_bot_auth::layer::sign::SignBody;
//! use web_bot_auth::profile_signer::WebBotAuthSigner;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let signer = WebBotAuthSigner::new(SigningKey::generate_ed25519(), "https://bot.example")?
//!     .cover(ComponentIdentifier::field("content-digest")?);
//! // Stands for an HTTP client: shows what would be sent.
//! let client = service_fn(|req: http::Request<SignBody<Full<Bytes>>>| async move {
//!     Ok::<_, Infallible>(req.headers().clone())
//! });
//! let client = SignLayer::new(signer).with_content_digest(1 << 20).layer(client);
//!
//! let request = http::Request::post("https://shop.example/orders")
//!     .body(Full::new(Bytes::from_static(b"{\"item\":42}")))?;
//! let sent = client.oneshot(request).await?;
//! assert!(sent.contains_key("content-digest"));
//! assert!(sent["signature-input"].to_str()?.contains("\"content-digest\""));
//! # Ok(())
//! # }
//! ```

mod body;
mod error;
mod future;
mod layer;
mod service;

pub use body::SignBody;
pub use error::SignLayerError;
pub use future::ResponseFuture;
pub use layer::SignLayer;
pub use service::SignService;
