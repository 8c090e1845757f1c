//! Who is calling: the principal the layer authenticated, put in the request extensions for the
//! handler.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::scope::Scopes;

/// A way of authenticating a call. A tool requirement accepts one or more of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum AuthMode {
    /// No credentials; limited per client IP address.
    Anonymous,
    /// A scoped API token issued by this server (`Authorization: Bearer <token>`).
    ApiToken,
    /// An OAuth 2.1 access token (a JWT) for this server's resource URI.
    OAuth,
}

impl AuthMode {
    /// The mode's name in configuration files: `anonymous`, `api_token`, `oauth`.
    pub const fn name(self) -> &'static str {
        match self {
            AuthMode::Anonymous => "anonymous",
            AuthMode::ApiToken => "api_token",
            AuthMode::OAuth => "oauth",
        }
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The authenticated caller of a request. Put in the request extensions by the layer; a handler
/// reads it with `request.extensions().get::<Principal>()` (in `rmcp`, from the request's
/// `http::request::Parts`).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Principal {
    /// No credentials were presented (or none were needed).
    Anonymous {
        /// The client's address, when the connection or a trusted proxy told it.
        ip: Option<IpAddr>,
    },
    /// An API token issued by this server.
    ApiToken {
        /// The token's public identifier (never the secret).
        id: Arc<str>,
        /// The scopes the token grants, implications applied.
        scopes: Scopes,
        /// Whom the token was issued to (a partner, a service).
        principal: Arc<str>,
    },
    /// A verified OAuth access token.
    OAuth {
        /// The `sub` claim: the user the token acts for.
        sub: Arc<str>,
        /// The granted scopes (`scope` or `scp` claim), implications applied.
        scopes: Scopes,
        /// The `client_id` (or `azp`) claim, when present.
        client_id: Option<Arc<str>>,
        /// Every claim of the token, as JSON.
        claims: Arc<serde_json::Map<String, serde_json::Value>>,
    },
}

impl Principal {
    /// How the principal authenticated.
    pub fn mode(&self) -> AuthMode {
        match self {
            Principal::Anonymous { .. } => AuthMode::Anonymous,
            Principal::ApiToken { .. } => AuthMode::ApiToken,
            Principal::OAuth { .. } => AuthMode::OAuth,
        }
    }

    /// The granted scopes (none for an anonymous caller).
    pub fn scopes(&self) -> Scopes {
        match self {
            Principal::Anonymous { .. } => Scopes::empty(),
            Principal::ApiToken { scopes, .. } | Principal::OAuth { scopes, .. } => scopes.clone(),
        }
    }

    /// A short label for logs and audit events: `anonymous`, `token:<id>`, `user:<sub>`.
    /// Never contains a secret.
    pub fn label(&self) -> String {
        match self {
            Principal::Anonymous { ip: Some(ip) } => format!("anonymous:{ip}"),
            Principal::Anonymous { ip: None } => "anonymous".to_owned(),
            Principal::ApiToken { id, .. } => format!("token:{id}"),
            Principal::OAuth { sub, .. } => format!("user:{sub}"),
        }
    }
}

impl fmt::Debug for Principal {
    /// The claims are left out: they may hold personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anonymous { ip } => f.debug_struct("Anonymous").field("ip", ip).finish(),
            Principal::ApiToken {
                id,
                scopes,
                principal,
            } => f
                .debug_struct("ApiToken")
                .field("id", id)
                .field("scopes", scopes)
                .field("principal", principal)
                .finish(),
            Principal::OAuth {
                sub,
                scopes,
                client_id,
                claims,
            } => f
                .debug_struct("OAuth")
                .field("sub", sub)
                .field("scopes", scopes)
                .field("client_id", client_id)
                .field("claims", &format_args!("{} claims", claims.len()))
                .finish(),
        }
    }
}
