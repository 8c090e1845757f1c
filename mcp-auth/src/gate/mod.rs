//! The framework-agnostic core of the MCP auth layer: given a request's method, header fields,
//! body bytes and client address, decide whether it goes on (and as which
//! [`Principal`](crate::Principal)) or
//! what to answer instead.
//!
//! [`McpAuthLayer`](crate::layer::McpAuthLayer) wraps an [`AuthGate`] for tower services; a
//! framework that does not run tower layers (actix-web) calls [`AuthGate::check`] itself and
//! turns a [`GateResponse`] into its own response type.
//!
//! What a check does, in order:
//!
//! 1. An `OPTIONS` preflight from an allowed origin is answered (`204`), when CORS is set.
//! 2. The requirement: for a `POST`, the JSON-RPC body is peeked (method, id, tool name), the
//!    `Mcp-Method` / `Mcp-Name` header fields checked against it (`400`, `-32020`), and every call
//!    of a batch looked up in the [`ToolMap`]; a call the map does not list refuses the request
//!    (fail closed; `-32602` for an unknown tool). `GET` and `DELETE` have their own
//!    requirements; other methods get `405`.
//! 3. The credentials: `Authorization: Bearer` (an API token by its prefix, else a JWT), or
//!    Cloudflare Access's `Cf-Access-Jwt-Assertion`; none makes the caller anonymous. Bad
//!    credentials are refused even where anonymous calls are allowed (`401`,
//!    `error="invalid_token"`); a token store or key set that cannot be reached gives `503`.
//! 4. Each call's accepted modes and scopes (all-of, with the map's implications); a call open
//!    to anonymous callers is open to authenticated ones as well (spending their budget): no
//!    credentials where some are needed is `401` without an error code; credentials of the wrong
//!    kind or without a needed scope are `403` `error="insufficient_scope"` with every scope the
//!    call needs. Both carry `resource_metadata` when it is configured.
//! 5. The rate limit of each call's (principal, class): `429` with `Retry-After`.
//!
//! Every refusal and every authenticated use is an [`AuthEvent`](crate::audit::AuthEvent) to the
//! configured sink.
//!
//! JSON-RPC bodies of refusals use the HTTP status as the error code's magnitude, outside the
//! reserved range: `-31401`, `-31403`, `-31429`, `-31503` (see [`codes`]).

mod check;
mod response;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

pub use check::Admission;
pub use response::GateResponse;

use crate::audit::{AuthEventSink, TracingSink};
use crate::jsonrpc::PeekLimits;
use crate::metadata::Cors;
use crate::oauth::JwtVerifier;
use crate::ratelimit::RateLimiter;
use crate::token::ApiTokens;
use crate::toolmap::ToolMap;

/// The JSON-RPC error codes of the gate's refusals (application codes, outside JSON-RPC's
/// reserved `-32768..=-32000`).
pub mod codes {
    /// Credentials are missing or invalid (HTTP 401).
    pub const UNAUTHORIZED: i32 = -31401;
    /// The credentials do not grant the call (HTTP 403).
    pub const FORBIDDEN: i32 = -31403;
    /// The body is larger than the limit (HTTP 413).
    pub const TOO_LARGE: i32 = -31413;
    /// A rate limit refused the call (HTTP 429).
    pub const RATE_LIMITED: i32 = -31429;
    /// A token store or key set could not be reached (HTTP 503).
    pub const UNAVAILABLE: i32 = -31503;
}

/// The default body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the gate needs to know of a request. The body is that of a `POST` (read by the caller
/// up to [`AuthGate::max_body_bytes`]); `None` for other methods.
#[derive(Debug, Clone, Copy)]
pub struct GateRequest<'a> {
    /// The HTTP method.
    pub method: &'a http::Method,
    /// The request's header fields.
    pub headers: &'a http::HeaderMap,
    /// The body of a `POST`.
    pub body: Option<&'a [u8]>,
    /// The client's address, as the connection (or a trusted proxy) tells it.
    pub client_ip: Option<IpAddr>,
}

/// The checks of an MCP endpoint, configured once and shared (cheap to clone).
#[derive(Clone)]
pub struct AuthGate {
    inner: Arc<Config>,
}

struct Config {
    tool_map: ToolMap,
    tokens: Option<ApiTokens>,
    oauth: Option<JwtVerifier>,
    cf_access: Option<JwtVerifier>,
    limiter: Option<RateLimiter>,
    sink: Arc<dyn AuthEventSink>,
    resource_metadata: Option<String>,
    realm: Option<String>,
    cors: Option<Cors>,
    peek_limits: PeekLimits,
    max_body_bytes: usize,
    challenge_in_tool_result: bool,
}

impl fmt::Debug for AuthGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("AuthGate")
            .field("tool_map", &c.tool_map)
            .field("api_tokens", &c.tokens.is_some())
            .field("oauth", &c.oauth.is_some())
            .field("cf_access", &c.cf_access.is_some())
            .field("rate_limits", &c.limiter.is_some())
            .field("resource_metadata", &c.resource_metadata)
            .field("max_body_bytes", &c.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl AuthGate {
    /// A gate for the calls that `tool_map` lists: no credentials configured yet (only
    /// anonymous calls can pass), no rate limits, events to [`TracingSink`].
    pub fn builder(tool_map: ToolMap) -> AuthGateBuilder {
        AuthGateBuilder {
            config: Config {
                tool_map,
                tokens: None,
                oauth: None,
                cf_access: None,
                limiter: None,
                sink: Arc::new(TracingSink),
                resource_metadata: None,
                realm: None,
                cors: None,
                peek_limits: PeekLimits::default(),
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                challenge_in_tool_result: false,
            },
        }
    }

    /// The largest `POST` body the gate reads; a larger one is answered `413`
    /// ([`AuthGate::too_large`]).
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// The tool map.
    pub fn tool_map(&self) -> &ToolMap {
        &self.inner.tool_map
    }

    /// The CORS settings, if any: the layer applies them to the service's responses too.
    pub fn cors(&self) -> Option<&Cors> {
        self.inner.cors.as_ref()
    }

    /// The answer to a body over the limit: `413` with a JSON-RPC error.
    pub fn too_large(&self, request_headers: &http::HeaderMap) -> GateResponse {
        let mut response = GateResponse::json_rpc_error(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            None,
            codes::TOO_LARGE,
            "Request body too large",
        );
        self.finish(request_headers, &mut response);
        response
    }

    /// The answer to a body that could not be read (the client went away, or sent it too
    /// slowly): `400` with a JSON-RPC error.
    pub fn unreadable_body(&self, request_headers: &http::HeaderMap) -> GateResponse {
        let mut response = GateResponse::json_rpc_error(
            http::StatusCode::BAD_REQUEST,
            None,
            crate::jsonrpc::INVALID_REQUEST,
            "Request body could not be read",
        );
        self.finish(request_headers, &mut response);
        response
    }

    /// Adds the CORS fields to a response the gate wrote.
    fn finish(&self, request_headers: &http::HeaderMap, response: &mut GateResponse) {
        if let Some(cors) = &self.inner.cors {
            cors.apply_to(request_headers, &mut response.headers);
        }
    }
}

/// Builds an [`AuthGate`].
pub struct AuthGateBuilder {
    config: Config,
}

impl fmt::Debug for AuthGateBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthGateBuilder").finish_non_exhaustive()
    }
}

impl AuthGateBuilder {
    /// Accepts API tokens issued by `tokens` (recognised by their prefix).
    pub fn api_tokens(mut self, tokens: ApiTokens) -> Self {
        self.config.tokens = Some(tokens);
        self
    }

    /// Accepts OAuth access tokens (JWTs) that `verifier` verifies.
    pub fn oauth(mut self, verifier: JwtVerifier) -> Self {
        self.config.oauth = Some(verifier);
        self
    }

    /// Accepts Cloudflare Access's `Cf-Access-Jwt-Assertion` header, verified by `verifier`
    /// (see [`CloudflareAccess`](crate::oauth::CloudflareAccess)); the principal is an OAuth
    /// one.
    pub fn cloudflare_access(mut self, verifier: JwtVerifier) -> Self {
        self.config.cf_access = Some(verifier);
        self
    }

    /// Rate-limits every call by (principal, class).
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.config.limiter = Some(limiter);
        self
    }

    /// Where auth events go (default: [`TracingSink`]).
    pub fn event_sink(mut self, sink: Arc<dyn AuthEventSink>) -> Self {
        self.config.sink = sink;
        self
    }

    /// The URL of this resource's RFC 9728 metadata document, sent as `resource_metadata` in
    /// every challenge so that clients can find the authorization server (see
    /// [`metadata_url`](crate::metadata::metadata_url)).
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.config.resource_metadata = Some(url.into());
        self
    }

    /// A `realm` for the challenges.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.config.realm = Some(realm.into());
        self
    }

    /// CORS for browser-based clients: allowed origins get `Access-Control-Allow-Origin`
    /// (never `*`) and `Access-Control-Expose-Headers: WWW-Authenticate` on every answer,
    /// and preflights are answered.
    pub fn cors(mut self, cors: Cors) -> Self {
        self.config.cors = Some(cors);
        self
    }

    /// Limits of the JSON-RPC peeker (nesting depth, batch size).
    pub fn peek_limits(mut self, limits: PeekLimits) -> Self {
        self.config.peek_limits = limits;
        self
    }

    /// The largest `POST` body read (default [`DEFAULT_MAX_BODY_BYTES`]).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.max_body_bytes = bytes;
        self
    }

    /// Also answers a refused single `tools/call` as a tool result with `isError: true` and
    /// the challenge in `_meta["mcp/www_authenticate"]` (HTTP `200`), for clients that read a
    /// tool-level challenge there (ChatGPT). Other refusals are unchanged. Off by default.
    pub fn challenge_in_tool_result(mut self, on: bool) -> Self {
        self.config.challenge_in_tool_result = on;
        self
    }

    /// The gate.
    pub fn build(self) -> AuthGate {
        AuthGate {
            inner: Arc::new(self.config),
        }
    }
}
