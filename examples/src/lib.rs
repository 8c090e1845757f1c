//! Runnable examples of the workspace's crates, and the agent-ready store they share.
//!
//! The binaries (`cargo run -p examples --bin <name>`):
//!
//! - `store`: the [`store`] — an `rmcp` MCP server and a small shop behind `web-bot-auth`,
//!   `bot-policy` and `mcp-auth` (axum).
//! - `hyper_minimal`: `mcp-auth` alone in front of a plain hyper service.
//! - `actix_store`: the same checks in actix-web 4, through the crates' framework-agnostic cores.
//! - `signing_client`: a bot operator's client that signs with `SignLayer` and calls the store.
//! - `web_bot_auth_demo`: sign, verify, refuse a replay and a tampered copy, in one process.
//!
//! ```no_run
//! # async fn run() -> Result<(), examples::store::StoreError> {
//! let config = examples::store::StoreConfig::new("127.0.0.1:0".parse().unwrap(), "./.store-data");
//! let store = examples::store::start(config).await?;
//! println!("MCP at {}", store.credentials().mcp_url);
//! # store.stop().await
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod store;

/// The README's code blocks, compiled and run as doctests by `cargo test --workspace`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
