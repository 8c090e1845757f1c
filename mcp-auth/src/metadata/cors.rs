//! CORS for authenticated MCP responses: an allow-list of origins, echoed back, never `*`.

use std::sync::Arc;
use std::time::Duration;

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};

/// Why an origin was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorsError {
    /// Not a serialized origin (`scheme://host[:port]`, no path), or `*` / `null`.
    #[error("invalid CORS origin {origin:?}: {reason}")]
    InvalidOrigin {
        /// The refused origin.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// CORS headers for responses of an authenticated endpoint (the MCP endpoint's 401, 403 and
/// 429 answers, and its preflights). Browser-based MCP clients need them to read the
/// `WWW-Authenticate` challenge.
///
/// Origins come from an allow-list and are echoed back one at a time with `Vary: Origin`;
/// this type cannot produce `Access-Control-Allow-Origin: *` (wildcard CORS does not belong on
/// authenticated endpoints). Cheap to clone.
///
/// Defaults: methods `GET, POST, DELETE, OPTIONS` (Streamable HTTP); request headers
/// `authorization, content-type, mcp-protocol-version, mcp-session-id, mcp-method, mcp-name,
/// last-event-id`; exposed headers `www-authenticate, retry-after, mcp-session-id`; preflight
/// cached for two hours (the most Chromium honours).
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use mcp_auth::metadata::Cors;
///
/// let cors = Cors::allow_origins(["https://app.example"]).unwrap();
/// let mut request = HeaderMap::new();
/// request.insert("origin", HeaderValue::from_static("https://app.example"));
/// let mut response = HeaderMap::new();
/// cors.apply_to(&request, &mut response);
/// assert_eq!(response["access-control-allow-origin"], "https://app.example");
/// assert_eq!(response["access-control-expose-headers"], "www-authenticate, retry-after, mcp-session-id");
/// assert_eq!(response["vary"], "origin");
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Arc<[HeaderValue]>,
    allow_methods: HeaderValue,
    allow_headers: HeaderValue,
    expose_headers: HeaderValue,
    max_age: HeaderValue,
}

fn join_names<'a>(names: impl IntoIterator<Item = &'a str>) -> HeaderValue {
    let joined = names.into_iter().collect::<Vec<_>>().join(", ");
    // Header names and method names are tokens: the join is a valid header value.
    HeaderValue::from_str(&joined).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn validate_origin(origin: &str) -> Result<HeaderValue, CorsError> {
    let refuse = |reason| CorsError::InvalidOrigin {
        origin: origin.to_owned(),
        reason,
    };
    if origin == "*" || origin.eq_ignore_ascii_case("null") {
        return Err(refuse("wildcard and null origins are not allowed"));
    }
    let Some((scheme, host)) = origin.split_once("://") else {
        return Err(refuse("expected scheme://host[:port]"));
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok {
        return Err(refuse("invalid scheme"));
    }
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    if !host_ok {
        return Err(refuse("expected a host and optional port, without path"));
    }
    HeaderValue::from_str(&origin.to_ascii_lowercase()).map_err(|_| refuse("invalid characters"))
}

/// Adds `origin` to `Vary` unless it is listed already (or `Vary: *`).
fn add_vary_origin(headers: &mut HeaderMap) {
    let listed = headers.get_all(VARY).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',').any(|item| {
                matches!(item.trim(), "*") || item.trim().eq_ignore_ascii_case("origin")
            })
        })
    });
    if !listed {
        headers.append(VARY, HeaderValue::from_static("origin"));
    }
}

impl Cors {
    /// No origin allowed: [`Cors::apply_to`] adds nothing, preflights are answered without
    /// `Access-Control-Allow-Origin` (so browsers refuse cross-origin calls).
    pub fn none() -> Cors {
        Cors {
            origins: Arc::new([]),
            allow_methods: join_names(["GET", "POST", "DELETE", "OPTIONS"]),
            allow_headers: join_names([
                "authorization",
                "content-type",
                "mcp-protocol-version",
                "mcp-session-id",
                "mcp-method",
                "mcp-name",
                "last-event-id",
            ]),
            expose_headers: join_names(["www-authenticate", "retry-after", "mcp-session-id"]),
            max_age: HeaderValue::from(7200_u64),
        }
    }

    /// Allows exactly `origins` (`scheme://host[:port]`, compared case-insensitively). `*`,
    /// `null` and origins with a path are refused.
    pub fn allow_origins<I, S>(origins: I) -> Result<Cors, CorsError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let origins = origins
            .into_iter()
            .map(|o| validate_origin(o.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cors {
            origins: origins.into(),
            ..Cors::none()
        })
    }

    /// Replaces the methods a preflight allows.
    pub fn allow_methods(mut self, methods: &[Method]) -> Cors {
        self.allow_methods = join_names(methods.iter().map(Method::as_str));
        self
    }

    /// Replaces the request headers a preflight allows.
    pub fn allow_headers(mut self, names: &[HeaderName]) -> Cors {
        self.allow_headers = join_names(names.iter().map(HeaderName::as_str));
        self
    }

    /// Replaces the response headers exposed to scripts.
    pub fn expose_headers(mut self, names: &[HeaderName]) -> Cors {
        self.expose_headers = join_names(names.iter().map(HeaderName::as_str));
        self
    }

    /// How long browsers may cache a preflight answer (whole seconds).
    pub fn max_age(mut self, max_age: Duration) -> Cors {
        self.max_age = HeaderValue::from(max_age.as_secs());
        self
    }

    /// Whether `origin` is on the allow-list.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        self.origins
            .iter()
            .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
    }

    /// Whether a request is a CORS preflight: `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`.
    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && headers.contains_key(ORIGIN)
            && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The request's `Origin`, when it is allowed.
    fn allowed_origin<'a>(&self, request_headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
        request_headers
            .get(ORIGIN)
            .filter(|origin| self.allows(origin))
    }

    /// Adds the CORS headers of an actual (not preflight) response: the request's origin when
    /// allowed, the exposed headers, and `Vary: Origin` whenever the allow-list is not empty.
    pub fn apply_to(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        if self.origins.is_empty() {
            return;
        }
        add_vary_origin(response_headers);
        if let Some(origin) = self.allowed_origin(request_headers) {
            response_headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            response_headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, self.expose_headers.clone());
        }
    }

    /// Adds the headers of a preflight answer: the request's origin when allowed, with the
    /// allowed methods, request headers and cache lifetime; `Vary: Origin` whenever the
    /// allow-list is not empty.
    pub fn apply_preflight(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        if self.origins.is_empty() {
            return;
        }
        add_vary_origin(response_headers);
        if let Some(origin) = self.allowed_origin(request_headers) {
            response_headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            response_headers.insert(ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods.clone());
            response_headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, self.allow_headers.clone());
            response_headers.insert(ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        }
    }

    /// A `204 No Content` preflight answer (see [`Cors::apply_preflight`]).
    pub fn preflight_response<B: Default>(&self, request_headers: &HeaderMap) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::NO_CONTENT;
        self.apply_preflight(request_headers, response.headers_mut());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    #[test]
    fn an_allowed_origin_is_echoed_a_disallowed_one_is_not() {
        let cors = Cors::allow_origins(["https://App.example", "http://localhost:5173"]).unwrap();
        let mut response = HeaderMap::new();
        cors.apply_to(&request(Some("https://app.example")), &mut response);
        assert_eq!(response[ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
        assert_eq!(
            response[ACCESS_CONTROL_EXPOSE_HEADERS],
            "www-authenticate, retry-after, mcp-session-id"
        );
        assert_eq!(response[VARY], "origin");

        let mut response = HeaderMap::new();
        cors.apply_to(&request(Some("https://evil.example")), &mut response);
        assert!(!response.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(!response.contains_key(ACCESS_CONTROL_EXPOSE_HEADERS));
        assert_eq!(response[VARY], "origin");

        let mut response = HeaderMap::new();
        cors.apply_to(&request(None), &mut response);
        assert!(!response.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(response[VARY], "origin");
    }

    #[test]
    fn vary_is_added_once() {
        let cors = Cors::allow_origins(["https://app.example"]).unwrap();
        let mut response = HeaderMap::new();
        response.insert(VARY, HeaderValue::from_static("accept-encoding, Origin"));
        cors.apply_to(&request(Some("https://app.example")), &mut response);
        assert_eq!(response.get_all(VARY).iter().count(), 1);
        let mut response = HeaderMap::new();
        response.insert(VARY, HeaderValue::from_static("accept-encoding"));
        cors.apply_to(&request(Some("https://app.example")), &mut response);
        let vary: Vec<_> = response.get_all(VARY).iter().collect();
        assert_eq!(vary, ["accept-encoding", "origin"]);
    }

    #[test]
    fn preflights_answer_204_with_the_allowances() {
        let cors = Cors::allow_origins(["https://app.example"])
            .unwrap()
            .allow_methods(&[Method::POST])
            .allow_headers(&[HeaderName::from_static("authorization")])
            .max_age(Duration::from_secs(600));
        let mut headers = request(Some("https://app.example"));
        headers.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        assert!(Cors::is_preflight(&Method::OPTIONS, &headers));
        assert!(!Cors::is_preflight(&Method::POST, &headers));
        assert!(!Cors::is_preflight(
            &Method::OPTIONS,
            &request(Some("https://a.example"))
        ));
        let response: Response<()> = cors.preflight_response(&headers);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let h = response.headers();
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_METHODS], "POST");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_HEADERS], "authorization");
        assert_eq!(h[ACCESS_CONTROL_MAX_AGE], "600");
        assert_eq!(h[VARY], "origin");

        let mut other = request(Some("https://evil.example"));
        other.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        let response: Response<()> = cors.preflight_response(&other);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(!response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(
            !response
                .headers()
                .contains_key(ACCESS_CONTROL_ALLOW_METHODS)
        );
    }

    #[test]
    fn wildcards_and_malformed_origins_are_refused() {
        for bad in [
            "*",
            "null",
            "app.example",
            "https://app.example/",
            "https://",
            "1x://a",
        ] {
            assert!(Cors::allow_origins([bad]).is_err(), "{bad}");
        }
        let none = Cors::none();
        let mut response = HeaderMap::new();
        none.apply_to(&request(Some("https://app.example")), &mut response);
        assert!(response.is_empty());
    }
}
