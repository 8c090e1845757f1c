//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document an MCP client reads to find
//! the authorization server, its well-known URLs, CORS for browser clients, and (feature
//! `tower`) a service that serves it.
//!
//! ```
//! use mcp_auth::metadata::ProtectedResourceMetadata;
//!
//! let metadata = ProtectedResourceMetadata::builder("https://shop.example/mcp")
//!     .authorization_server("https://auth.shop.example")
//!     .scopes_supported(["catalogue:read", "orders:write"])
//!     .resource_name("Shop")
//!     .build()
//!     .unwrap();
//! assert_eq!(
//!     metadata.metadata_url(),
//!     "https://shop.example/.well-known/oauth-protected-resource/mcp"
//! );
//! assert_eq!(
//!     metadata.to_json(),
//!     r#"{"resource":"https://shop.example/mcp","authorization_servers":["https://auth.shop.example"],"scopes_supported":["catalogue:read","orders:write"],"bearer_methods_supported":["header"],"resource_name":"Shop"}"#
//! );
//! ```

mod cors;
#[cfg(feature = "tower")]
mod service;
mod url;

pub use cors::{Cors, CorsError};
#[cfg(feature = "tower")]
pub use service::{
    MetadataLayer, MetadataResponseBody, MetadataRouter, MetadataRouterFuture, MetadataService,
};
pub use url::{WELL_KNOWN_PATH, metadata_url, well_known_path};

use serde::Serialize;

use crate::scope::Scope;
use url::{UrlRules, metadata_url_of, parse_url};

/// Why a metadata document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// A URL field is not an acceptable absolute URL.
    #[error("{field} {value:?} {reason}")]
    InvalidUrl {
        /// The field (`resource`, `authorization_servers`, `jwks_uri`, …).
        field: &'static str,
        /// The refused value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No authorization server: MCP clients need at least one.
    #[error("authorization_servers must name at least one authorization server")]
    NoAuthorizationServer,
    /// A scope is not an RFC 6749 scope token.
    #[error("scopes_supported: invalid scope {scope:?}")]
    InvalidScope {
        /// The refused scope.
        scope: String,
    },
    /// A bearer method other than `header`, `body` and `query`.
    #[error("bearer_methods_supported: unknown method {method:?} (header, body, query)")]
    InvalidBearerMethod {
        /// The refused method.
        method: String,
    },
    /// An algorithm name that is empty, not printable ASCII, or `none` where signatures are
    /// required.
    #[error("{field}: invalid algorithm {alg:?}")]
    InvalidAlgorithm {
        /// The field.
        field: &'static str,
        /// The refused name.
        alg: String,
    },
}

/// An RFC 9728 protected-resource metadata document, validated. Fields with empty values are
/// left out of the JSON (RFC 9728 §2); fields are serialized in the RFC's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedResourceMetadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bearer_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource_signing_alg_values_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_tos_uri: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_client_certificate_bound_access_tokens: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dpop_signing_alg_values_supported: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens_required: bool,
    #[serde(skip)]
    metadata_url: String,
    #[serde(skip)]
    resource_path: String,
}

impl ProtectedResourceMetadata {
    /// A builder for the document of `resource`: the canonical URI of the MCP endpoint, as
    /// clients write it (the audience of its tokens, RFC 8707).
    pub fn builder(resource: impl Into<String>) -> ProtectedResourceMetadataBuilder {
        ProtectedResourceMetadataBuilder {
            doc: ProtectedResourceMetadata {
                resource: resource.into(),
                authorization_servers: Vec::new(),
                jwks_uri: None,
                scopes_supported: Vec::new(),
                bearer_methods_supported: vec!["header".to_owned()],
                resource_signing_alg_values_supported: Vec::new(),
                resource_name: None,
                resource_documentation: None,
                resource_policy_uri: None,
                resource_tos_uri: None,
                tls_client_certificate_bound_access_tokens: false,
                dpop_signing_alg_values_supported: Vec::new(),
                dpop_bound_access_tokens_required: false,
                metadata_url: String::new(),
                resource_path: String::new(),
            },
            allow_http: false,
        }
    }

    /// `resource`.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// `authorization_servers` (never empty).
    pub fn authorization_servers(&self) -> &[String] {
        &self.authorization_servers
    }

    /// `scopes_supported`.
    pub fn scopes_supported(&self) -> &[String] {
        &self.scopes_supported
    }

    /// `bearer_methods_supported`.
    pub fn bearer_methods_supported(&self) -> &[String] {
        &self.bearer_methods_supported
    }

    /// `resource_name`.
    pub fn resource_name(&self) -> Option<&str> {
        self.resource_name.as_deref()
    }

    /// `jwks_uri`.
    pub fn jwks_uri(&self) -> Option<&str> {
        self.jwks_uri.as_deref()
    }

    /// The URL of this document (path-inserted form, RFC 9728 §3.1): the value of a challenge's
    /// `resource_metadata` parameter.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The paths this document is served at: the path-inserted form first, then the root form
    /// (the same path when the resource has no path).
    pub fn well_known_paths(&self) -> [String; 2] {
        [
            well_known_path(&self.resource_path),
            WELL_KNOWN_PATH.to_owned(),
        ]
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        // Serializing strings, string lists and booleans into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Builds a [`ProtectedResourceMetadata`]; [`build`](Self::build) validates it.
#[derive(Debug, Clone)]
#[must_use]
pub struct ProtectedResourceMetadataBuilder {
    doc: ProtectedResourceMetadata,
    allow_http: bool,
}

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

impl ProtectedResourceMetadataBuilder {
    /// Adds an authorization server (its issuer URL).
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.doc.authorization_servers.push(issuer.into());
        self
    }

    /// Sets `scopes_supported`.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.doc.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `bearer_methods_supported` (default `["header"]`, the only method MCP allows; an
    /// empty list leaves the field out).
    pub fn bearer_methods_supported<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.doc.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `resource_signing_alg_values_supported` (`none` is refused).
    pub fn resource_signing_alg_values_supported<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.doc.resource_signing_alg_values_supported = algs.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `dpop_signing_alg_values_supported`.
    pub fn dpop_signing_alg_values_supported<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.doc.dpop_signing_alg_values_supported = algs.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `resource_name`, for people (an empty name leaves the field out).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.doc.resource_name = non_empty(name.into());
        self
    }

    /// Sets `resource_documentation`, a URL.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.doc.resource_documentation = non_empty(url.into());
        self
    }

    /// Sets `resource_policy_uri`, a URL.
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.doc.resource_policy_uri = non_empty(url.into());
        self
    }

    /// Sets `resource_tos_uri`, a URL.
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.doc.resource_tos_uri = non_empty(url.into());
        self
    }

    /// Sets `jwks_uri`: the resource's own signing keys (not the authorization server's).
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.doc.jwks_uri = non_empty(url.into());
        self
    }

    /// Sets `tls_client_certificate_bound_access_tokens` (left out when false).
    pub fn tls_client_certificate_bound_access_tokens(mut self, bound: bool) -> Self {
        self.doc.tls_client_certificate_bound_access_tokens = bound;
        self
    }

    /// Sets `dpop_bound_access_tokens_required` (left out when false).
    pub fn dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.doc.dpop_bound_access_tokens_required = required;
        self
    }

    /// Accepts `http` URLs for any host. Without it, `http` is accepted only for loopback hosts
    /// (`localhost`, `127.0.0.0/8`, `[::1]`), for local development.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Validates the document: `resource` is an absolute `https` URL without fragment, there is
    /// at least one authorization server and each is an absolute `https` URL without query or
    /// fragment, the other URLs are absolute `https` URLs, scopes are scope tokens, bearer
    /// methods are known, algorithm names are sane.
    pub fn build(self) -> Result<ProtectedResourceMetadata, MetadataError> {
        let mut doc = self.doc;
        let allow_http = self.allow_http;
        let resource = parse_url(
            "resource",
            &doc.resource,
            UrlRules {
                allow_http,
                allow_query: true,
                allow_fragment: false,
            },
        )?;
        let metadata_url = metadata_url_of(&resource);
        let resource_path = resource.path.to_owned();
        if doc.authorization_servers.is_empty() {
            return Err(MetadataError::NoAuthorizationServer);
        }
        let issuer_rules = UrlRules {
            allow_http,
            allow_query: false,
            allow_fragment: false,
        };
        for issuer in &doc.authorization_servers {
            parse_url("authorization_servers", issuer, issuer_rules)?;
        }
        let link_rules = UrlRules {
            allow_http,
            allow_query: true,
            allow_fragment: true,
        };
        let links = [
            ("jwks_uri", &doc.jwks_uri),
            ("resource_documentation", &doc.resource_documentation),
            ("resource_policy_uri", &doc.resource_policy_uri),
            ("resource_tos_uri", &doc.resource_tos_uri),
        ];
        for (field, value) in links {
            if let Some(url) = value {
                parse_url(field, url, link_rules)?;
            }
        }
        for scope in &doc.scopes_supported {
            Scope::new(scope).map_err(|_| MetadataError::InvalidScope {
                scope: scope.clone(),
            })?;
        }
        for method in &doc.bearer_methods_supported {
            if !matches!(method.as_str(), "header" | "body" | "query") {
                return Err(MetadataError::InvalidBearerMethod {
                    method: method.clone(),
                });
            }
        }
        let alg_lists = [
            (
                "resource_signing_alg_values_supported",
                &doc.resource_signing_alg_values_supported,
            ),
            (
                "dpop_signing_alg_values_supported",
                &doc.dpop_signing_alg_values_supported,
            ),
        ];
        for (field, algs) in alg_lists {
            for alg in algs {
                let printable = !alg.is_empty() && alg.bytes().all(|b| (0x21..=0x7e).contains(&b));
                if !printable || alg.eq_ignore_ascii_case("none") {
                    return Err(MetadataError::InvalidAlgorithm {
                        field,
                        alg: alg.clone(),
                    });
                }
            }
        }
        doc.metadata_url = metadata_url;
        doc.resource_path = resource_path;
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ProtectedResourceMetadataBuilder {
        ProtectedResourceMetadata::builder("https://shop.example/mcp")
            .authorization_server("https://auth.shop.example")
    }

    #[test]
    fn serializes_every_field_in_order() {
        let doc = base()
            .authorization_server("https://login.partner.example/tenant-1")
            .jwks_uri("https://shop.example/jwks.json")
            .scopes_supported(["catalogue:read"])
            .resource_signing_alg_values_supported(["ES256"])
            .resource_name("Shop MCP")
            .resource_documentation("https://shop.example/docs#mcp")
            .resource_policy_uri("https://shop.example/privacy")
            .resource_tos_uri("https://shop.example/terms")
            .tls_client_certificate_bound_access_tokens(true)
            .dpop_signing_alg_values_supported(["EdDSA"])
            .dpop_bound_access_tokens_required(true)
            .build()
            .unwrap();
        assert_eq!(
            doc.to_json(),
            concat!(
                r#"{"resource":"https://shop.example/mcp","#,
                r#""authorization_servers":["https://auth.shop.example","https://login.partner.example/tenant-1"],"#,
                r#""jwks_uri":"https://shop.example/jwks.json","#,
                r#""scopes_supported":["catalogue:read"],"#,
                r#""bearer_methods_supported":["header"],"#,
                r#""resource_signing_alg_values_supported":["ES256"],"#,
                r#""resource_name":"Shop MCP","#,
                r#""resource_documentation":"https://shop.example/docs#mcp","#,
                r#""resource_policy_uri":"https://shop.example/privacy","#,
                r#""resource_tos_uri":"https://shop.example/terms","#,
                r#""tls_client_certificate_bound_access_tokens":true,"#,
                r#""dpop_signing_alg_values_supported":["EdDSA"],"#,
                r#""dpop_bound_access_tokens_required":true}"#
            )
        );
    }

    #[test]
    fn empty_values_are_left_out() {
        let doc = base()
            .bearer_methods_supported(Vec::<String>::new())
            .resource_name("")
            .build()
            .unwrap();
        assert_eq!(
            doc.to_json(),
            r#"{"resource":"https://shop.example/mcp","authorization_servers":["https://auth.shop.example"]}"#
        );
        assert_eq!(doc.resource_name(), None);
    }

    #[test]
    fn urls_and_paths_are_computed_once() {
        let doc = base().build().unwrap();
        assert_eq!(
            doc.metadata_url(),
            "https://shop.example/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            doc.well_known_paths(),
            [
                "/.well-known/oauth-protected-resource/mcp".to_owned(),
                "/.well-known/oauth-protected-resource".to_owned()
            ]
        );
        let root = ProtectedResourceMetadata::builder("https://shop.example")
            .authorization_server("https://auth.shop.example")
            .build()
            .unwrap();
        assert_eq!(
            root.metadata_url(),
            "https://shop.example/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn invalid_documents_are_refused() {
        let no_as = ProtectedResourceMetadata::builder("https://shop.example/mcp").build();
        assert_eq!(no_as, Err(MetadataError::NoAuthorizationServer));
        let cases = [
            ProtectedResourceMetadata::builder("http://shop.example/mcp")
                .authorization_server("https://auth.shop.example")
                .build(),
            ProtectedResourceMetadata::builder("https://shop.example/mcp#x")
                .authorization_server("https://auth.shop.example")
                .build(),
            base()
                .authorization_server("https://as.example/?q=1")
                .build(),
            base().authorization_server("auth.shop.example").build(),
            base().jwks_uri("/jwks.json").build(),
        ];
        for case in cases {
            assert!(
                matches!(case, Err(MetadataError::InvalidUrl { .. })),
                "{case:?}"
            );
        }
        assert!(matches!(
            base().scopes_supported(["a b"]).build(),
            Err(MetadataError::InvalidScope { .. })
        ));
        assert!(matches!(
            base().bearer_methods_supported(["cookie"]).build(),
            Err(MetadataError::InvalidBearerMethod { .. })
        ));
        assert!(matches!(
            base()
                .resource_signing_alg_values_supported(["none"])
                .build(),
            Err(MetadataError::InvalidAlgorithm { .. })
        ));
    }

    #[test]
    fn http_is_for_loopback_or_explicit() {
        assert!(
            ProtectedResourceMetadata::builder("http://localhost:3000/mcp")
                .authorization_server("http://127.0.0.1:9000")
                .build()
                .is_ok()
        );
        let doc = ProtectedResourceMetadata::builder("http://shop.internal/mcp")
            .authorization_server("http://auth.internal")
            .allow_insecure_http(true)
            .build()
            .unwrap();
        assert_eq!(
            doc.metadata_url(),
            "http://shop.internal/.well-known/oauth-protected-resource/mcp"
        );
    }
}
