//! Tower middleware (feature `tower`): verify Web Bot Auth signatures on a server, sign requests
//! on a client, and serve a key directory.
//!
//! - [`verify`]: [`VerifyLayer`] checks each request with a
//!   [`WebBotAuthVerifier`](crate::profile::WebBotAuthVerifier), optionally fetches the key
//!   directory of an agent it does not know yet, and puts the [`Outcome`](crate::profile::Outcome)
//!   in the request extensions for the handler (or a policy layer) to read.
//! - [`sign`]: [`SignLayer`] signs each outgoing request with a
//!   [`WebBotAuthSigner`](crate::profile_signer::WebBotAuthSigner), optionally with a
//!   `Content-Digest` of the body.
//! - [`directory`]: [`DirectoryService`] serves a signed key directory at
//!   [`DIRECTORY_PATH`](crate::directory::DIRECTORY_PATH).
//!
//! ```
//! use std::convert::Infallible;
//!
//! use http_body_util::BodyExt;
//! use tower::{Layer, ServiceExt, service_fn};
//! use web_bot_auth::keys::SigningKey;
//! use web_bot_auth::layer::VerifyLayer;
//! use web_bot_auth::profile::{Outcome, WebBotAuthVerifier};
//! use web_bot_auth::profile_signer::WebBotAuthSigner;
//! use web_bot_auth::verify::KeySet;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let key = SigningKey::generate_ed25519();
//! let mut keys = KeySet::new();
//! keys.insert_for_agent("https://bot.example", key.verifying_key().clone());
//! let signer = WebBotAuthSigner::new(key, "https://bot.example")?;
//!
//! // The handler reads the outcome the layer left in the extensions.
//! let handler = service_fn(|req: http::Request<String>| async move {
//!     let kind = req.extensions().get::<Outcome>().map_or("none", Outcome::kind);
//!     Ok::<_, Infallible>(http::Response::new(kind.to_owned()))
//! });
//! let service = VerifyLayer::new(WebBotAuthVerifier::new(keys)).layer(handler);
//!
//! let mut request = http::Request::get("https://shop.example/").body(String::new())?;
//! signer.sign_http(&mut request, "https")?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.into_body().collect().await?.to_bytes(), "verified");
//! # Ok(())
//! # }
//! ```
//!
//! The layers follow tower-http's conventions: a layer is cheap to clone, a rejection is a
//! response (never a service error), and the response future is a state machine that allocates
//! nothing on the common path.

use http::HeaderName;

use crate::message::{NoFields, RequestView};

pub mod directory;
pub mod sign;
pub mod verify;

pub use directory::DirectoryService;
pub use sign::{SignLayer, SignLayerError, SignService};
pub use verify::{VerifyLayer, VerifyService};

/// A boxed error, as tower's `BoxError`: what [`SignService`] fails with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where a server reads the authority (`host[:port]`) a request was sent to, which `@authority`
/// covers.
///
/// The authority must be the one the client addressed. Behind a reverse proxy that rewrites
/// `Host`, read it from the header the proxy sets, and only from a proxy you trust: a client
/// reaching the server directly could set that header to anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authority {
    /// The authority of the request URI (HTTP/2, absolute-form), else the single `Host` field
    /// (HTTP/1.1 origin-form). The default.
    #[default]
    FromRequest,
    /// The single value of this header, set by a trusted proxy (for example
    /// `x-forwarded-host`). A request without exactly one such field has no authority: its
    /// signatures covering `@authority` are invalid.
    TrustedHeader(HeaderName),
    /// Always this authority (a server that knows its public name).
    Fixed(String),
}

impl Authority {
    /// The authority of `request` according to this source, or `None` when it has none.
    pub fn of<'a, B>(&'a self, request: &'a http::Request<B>) -> Option<&'a str> {
        match self {
            Authority::FromRequest => match request.uri().authority() {
                Some(a) => Some(a.as_str()),
                None => single_header(request.headers(), &http::header::HOST),
            },
            Authority::TrustedHeader(name) => single_header(request.headers(), name),
            Authority::Fixed(authority) => Some(authority.as_str()),
        }
    }

    /// The view of `request` the signature base reads, with the authority from this source (an
    /// empty authority when there is none, which fails any signature covering it).
    pub(crate) fn view<'a, B>(
        &'a self,
        request: &'a http::Request<B>,
        default_scheme: &'a str,
    ) -> RequestView<'a> {
        let authority = self.of(request).unwrap_or("");
        match RequestView::from_http(request, default_scheme) {
            Ok(mut view) => {
                view.authority = authority;
                view
            }
            // `from_http` only fails for want of an authority, which this source supplies.
            Err(_) => RequestView {
                method: request.method().as_str(),
                scheme: request.uri().scheme_str().unwrap_or(default_scheme),
                authority,
                path: request.uri().path(),
                query: request.uri().query(),
                request_target: None,
                headers: request.headers(),
                trailers: &NoFields,
            },
        }
    }
}

/// The value of `name` when the field occurs exactly once and is visible ASCII.
fn single_header<'a>(headers: &'a http::HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_sources() {
        let origin_form = http::Request::get("/a?b")
            .header("host", "shop.example")
            .header("x-forwarded-host", "public.example")
            .body(())
            .unwrap();
        assert_eq!(
            Authority::FromRequest.of(&origin_form),
            Some("shop.example")
        );
        let forwarded = Authority::TrustedHeader(HeaderName::from_static("x-forwarded-host"));
        assert_eq!(forwarded.of(&origin_form), Some("public.example"));
        let fixed = Authority::Fixed("fixed.example".into());
        assert_eq!(fixed.of(&origin_form), Some("fixed.example"));

        let absolute = http::Request::get("http://uri.example:8080/")
            .header("host", "shop.example")
            .body(())
            .unwrap();
        assert_eq!(
            Authority::FromRequest.of(&absolute),
            Some("uri.example:8080")
        );
        let view = Authority::FromRequest.view(&absolute, "https");
        assert_eq!(view.scheme, "http");
        assert_eq!(view.path, "/");

        let two_hosts = http::Request::get("/")
            .header("host", "a.example")
            .header("host", "b.example")
            .body(())
            .unwrap();
        assert_eq!(Authority::FromRequest.of(&two_hosts), None);
        assert_eq!(forwarded.of(&two_hosts), None);
        // No authority at all: the view still exists, with an empty authority.
        let view = Authority::FromRequest.view(&two_hosts, "https");
        assert_eq!(view.authority, "");
        assert_eq!(view.scheme, "https");
        let view = fixed.view(&two_hosts, "https");
        assert_eq!(view.authority, "fixed.example");
    }
}
