//! Serve the key directory of a bot, signed.
//!
//! [`DirectoryService`] answers `GET` (and `HEAD`) with the JWKS of the configured keys as
//! [`DIRECTORY_MEDIA_TYPE`](crate::directory::DIRECTORY_MEDIA_TYPE), `Cache-Control: max-age`,
//! and a response signature (tag `http-message-signatures-directory`, covering
//! `"@authority";req` and `content-digest`) made with one key the directory publishes, valid
//! from now until the cache lifetime ends. Other methods get `405 Method Not Allowed`.
//!
//! It does not look at the path: mount it at
//! [`DIRECTORY_PATH`](crate::directory::DIRECTORY_PATH), for example with axum's
//! `Router::route_service(DIRECTORY_PATH, service)`.
//!
//! ```
//! use std::sync::Arc;
//!
//! use http_body_util::BodyExt;
//! use tower::ServiceExt;
//! use web_bot_auth::clock::SystemClock;
//! use web_bot_auth::directory::{DIRECTORY_PATH, verify_directory_response};
//! use web_bot_auth::keys::SigningKey;
//! use web_bot_auth::layer::DirectoryService;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let key = Arc::new(SigningKey::generate_ed25519());
//! let service = DirectoryService::new(key)?.max_age(600);
//!
//! let request = http::Request::get(DIRECTORY_PATH)
//!     .header("host", "bot.example")
//!     .body(())?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.headers()["cache-control"], "max-age=600");
//! let headers = response.headers().clone();
//! let body = response.into_body().collect().await?.to_bytes();
//! let verified = verify_directory_response(&headers, &body, "bot.example", &SystemClock, 60)?;
//! assert_eq!(verified.keys.len(), 1);
//! # Ok(())
//! # }
//! ```

mod service;

pub use service::DirectoryService;
