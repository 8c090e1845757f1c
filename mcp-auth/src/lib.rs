//! Authentication, authorization and rate limits for MCP endpoints.
//!
//! One [`ToolMap`](toolmap::ToolMap) says what each JSON-RPC method and tool needs (anonymous,
//! a scoped API token, an OAuth access token, or a choice of them) and which rate-limit class it
//! spends; an [`AuthGate`](gate::AuthGate) checks every request against it, and
//! [`McpAuthLayer`](layer::McpAuthLayer) puts the gate in front of any tower service (an `rmcp`
//! Streamable HTTP server, an axum router). Refusals follow RFC 6750 and RFC 9728, so MCP
//! clients find the authorization server from the `WWW-Authenticate` challenge.
//!
//! ```
//! use std::sync::Arc;
//!
//! use mcp_auth::gate::AuthGate;
//! use mcp_auth::layer::McpAuthLayer;
//! use mcp_auth::ratelimit::{RateLimiter, RateLimits};
//! use mcp_auth::token::{ApiTokens, MemoryTokenStore};
//! use mcp_auth::toolmap::ToolMap;
//!
//! let tools = ToolMap::from_toml_str(r#"
//!     [tools."catalogue.list"]
//!     anonymous = true
//!     class = "catalogue.read"
//!
//!     [tools."inventory.check"]
//!     api_token = ["inventory:read"]
//!     class = "inventory.read"
//! "#)?;
//! let gate = AuthGate::builder(tools)
//!     .api_tokens(ApiTokens::new(Arc::new(MemoryTokenStore::new())))
//!     .rate_limiter(RateLimiter::in_memory(RateLimits::default()))
//!     .resource_metadata("https://shop.example/.well-known/oauth-protected-resource/mcp")
//!     .build();
//! let layer = McpAuthLayer::new(gate);
//! # let _ = layer;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The parts are usable alone: [`jsonrpc::peek`] reads what a body asks for,
//! [`token::ApiTokens`] issues and checks API tokens, [`oauth::JwtVerifier`] verifies JWTs (static
//! keys or a JWKS URL with the `jwks` feature), [`ratelimit::RateLimiter`] is GCRA per principal
//! and class, [`metadata`] serves the RFC 9728 document, and [`audit`] records every auth event.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod bearer;
pub mod challenge;
pub mod clock;
pub mod gate;
pub mod jsonrpc;
#[cfg(feature = "tower")]
pub mod layer;
pub mod metadata;
pub mod oauth;
pub mod principal;
pub mod ratelimit;
#[cfg(feature = "redis")]
pub mod redis_connection;
mod scan;
pub mod scope;
pub mod token;
pub mod toolmap;

pub use principal::{AuthMode, Principal};

/// A boxed, sendable future: what the store traits return, so that they can be used as trait
/// objects and implemented over a network.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
