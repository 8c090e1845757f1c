//! The tool map: the single source of truth for what every MCP call requires. Unknown tools
//! and methods are refused.
//!
//! ```
//! use mcp_auth::jsonrpc::{peek, PeekLimits};
//! use mcp_auth::toolmap::{Require, ToolMap, Unlisted};
//! use mcp_auth::AuthMode;
//!
//! let map = ToolMap::builder()
//!     .with_mcp_defaults()
//!     .tool("order.status", Require::oauth(["orders:read"]))
//!     .tool("order.intent", Require::oauth(["orders:write"]).class("write"))
//!     .build()?;
//!
//! let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"order.intent"}}"#;
//! let message = peek(body, &PeekLimits::default()).unwrap();
//! let requirement = map.requirement_for(&message.calls()[0]).unwrap();
//! assert!(requirement.accepts(AuthMode::OAuth));
//! assert!(!requirement.accepts(AuthMode::Anonymous));
//! assert_eq!(requirement.rate_limit_class().as_str(), "write");
//!
//! assert_eq!(map.requirement_for_tool("order.cancel"), Err(Unlisted::UnknownTool));
//! assert!(map.requirement_for_method("tools/list").unwrap().accepts(AuthMode::Anonymous));
//! assert_eq!(map.requirement_for_method("sampling/x"), Err(Unlisted::UnknownMethod));
//! # Ok::<(), mcp_auth::toolmap::ToolMapError>(())
//! ```
//!
//! # Requirements
//!
//! A requirement ([`Require`], checked into a [`ToolRequirement`]) accepts one or more
//! [`AuthMode`](crate::AuthMode)s: `anonymous`, `api_token` with its scopes, `oauth` with its
//! scopes. Scopes are all-of, with the implications of the map's
//! [`ScopeHierarchy`](crate::scope::ScopeHierarchy) applied (`orders:write` can imply
//! `orders:read`). "An API token with `inventory:read`, or OAuth with `orders:read`" is one
//! requirement with two modes. Each requirement has a
//! [`RateLimitClass`](crate::ratelimit::RateLimitClass), `read` unless given.
//!
//! # What is looked up
//!
//! - `tools/call`: the tool's requirement, by `params.name`. An unlisted tool is
//!   [`Unlisted::UnknownTool`] (JSON-RPC `-32602`, as MCP specifies).
//! - Any other method: its exact entry under `methods`, else the longest matching pattern
//!   ending in `/*` (`notifications/*` covers `notifications/initialized`,
//!   `notifications/cancelled`, …). An unlisted method is [`Unlisted::UnknownMethod`].
//!   `tools/call` itself cannot be listed under `methods`.
//! - A JSON-RPC response from the client (to the server's sampling, elicitation or roots
//!   requests): `responses`.
//! - A GET (the SSE stream) and a DELETE (ending a session): `get` and `delete`.
//!
//! Nothing is allowed by default. [`ToolMapBuilder::with_mcp_defaults`] (`mcp_defaults = true`)
//! makes `initialize`, `ping`, `tools/list`, `notifications/*` and client responses anonymous;
//! see its docs for the trade-off of an anonymous `initialize`.
//!
//! # The TOML form
//!
//! ```
//! use mcp_auth::toolmap::ToolMap;
//! use mcp_auth::AuthMode;
//!
//! let map = ToolMap::from_toml_str(r#"
//! ## initialize, ping, tools/list, notifications/* and client responses: anonymous.
//! mcp_defaults = true
//!
//! [scopes]
//! ## A token with orders:write may also read orders.
//! implies = { "orders:write" = ["orders:read"] }
//!
//! [tools."catalogue.list"]
//! anonymous = true
//!
//! [tools."inventory.check"]
//! api_token = ["inventory:read"]
//!
//! [tools."order.status"]
//! oauth = ["orders:read"]
//!
//! [tools."order.intent"]
//! oauth = ["orders:write"]
//! class = "write"
//!
//! ## Either credential, each with its own scopes.
//! [tools."order.history"]
//! api_token = ["orders:read"]
//! oauth = ["orders:read", "profile"]
//!
//! [methods]
//! "resources/list" = { anonymous = true }
//! "resources/read" = { oauth = [] }           # any valid OAuth token
//!
//! [get]                                        # the SSE stream: omit to refuse GET
//! oauth = []
//! "#)?;
//!
//! let intent = map.requirement_for_tool("order.intent").unwrap();
//! assert_eq!(intent.scopes_for(AuthMode::OAuth).unwrap().to_string(), "orders:write");
//! assert_eq!(intent.rate_limit_class().as_str(), "write");
//! let check = map.requirement_for_tool("inventory.check").unwrap();
//! assert_eq!(check.modes().collect::<Vec<_>>(), [AuthMode::ApiToken]);
//! assert!(map.requirement_for_tool("catalogue.list").unwrap().accepts(AuthMode::Anonymous));
//! assert!(map.requirement_for_delete().is_err());
//!
//! let granted = mcp_auth::scope::Scopes::parse("orders:write").unwrap();
//! let status = map.requirement_for_tool("order.status").unwrap();
//! assert!(map.hierarchy().satisfies(&granted, status.scopes_for(AuthMode::OAuth).unwrap()));
//! # Ok::<(), mcp_auth::toolmap::ToolMapError>(())
//! ```
//!
//! Keys: `mcp_defaults` (boolean), `[scopes] implies` (scope → scopes it implies), `[tools]`
//! (tool name → requirement), `[methods]` (method or `prefix/*` → requirement), `[responses]`,
//! `[get]`, `[delete]`. A requirement is a table of `anonymous = true`, `api_token = [scopes]`,
//! `oauth = [scopes]` and `class = "name"`; at least one mode. Unknown keys are errors, as are
//! invalid scopes, anonymous with scopes, invalid class names, tool names that are empty or
//! longer than 128 bytes, and a key given twice; each error names the path and, in TOML, the
//! line and column. [`ToolMap::from_json_str`] reads the same shape in JSON.

mod error;
mod file;
mod map;
mod requirement;

pub use error::{ToolMapError, ToolMapErrorKind};
pub use map::{MAX_NAME_LEN, ToolMap, ToolMapBuilder, Unlisted};
pub use requirement::{Require, ToolRequirement};

#[cfg(test)]
mod tests;
