//! [`McpAuthLayer`]: the tower layer in front of an MCP Streamable HTTP endpoint.
//!
//! It reads a `POST` body (up to the gate's limit: `413` above it, checked against
//! `Content-Length` first), runs the [`AuthGate`](crate::gate::AuthGate) checks, and hands the
//! request on with the same bytes, the [`Principal`](crate::Principal) in its extensions and the
//! credentials removed (`Authorization`, `Cf-Access-Jwt-Assertion`), unless told to forward them.
//! A refusal is answered by the layer (see [`gate`](crate::gate) for which status when).
//!
//! ```
//! use mcp_auth::gate::AuthGate;
//! use mcp_auth::layer::McpAuthLayer;
//! use mcp_auth::toolmap::{Require, ToolMap};
//!
//! let tools = ToolMap::builder()
//!     .with_mcp_defaults()
//!     .tool("catalogue.list", Require::anonymous())
//!     .build()?;
//! let gate = AuthGate::builder(tools)
//!     .resource_metadata("https://shop.example/.well-known/oauth-protected-resource/mcp")
//!     .build();
//! let layer = McpAuthLayer::new(gate);
//! // `tower::ServiceBuilder::new().layer(layer).service(mcp_service)`
//! # let _ = layer;
//! # Ok::<(), mcp_auth::toolmap::ToolMapError>(())
//! ```
//!
//! The client address for anonymous rate limits comes from the request extensions: a
//! [`ClientIp`] if some earlier layer set one (after checking a trusted proxy's header), else a
//! `SocketAddr` or `IpAddr` that the server put there.

mod body;
#[allow(clippy::module_inception)]
mod layer;
mod service;

use std::net::IpAddr;

pub use body::{McpRequestBody, McpResponseBody};
pub use layer::{DEFAULT_BODY_TIMEOUT, McpAuthLayer};
pub use service::{McpAuthService, ResponseFuture};

/// The client's address, for a layer in front of this one to set (for instance from a trusted
/// proxy's `X-Forwarded-For`); it wins over the connection's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);
