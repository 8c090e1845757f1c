//! A small, framework-agnostic view of an HTTP message: what the signature base needs and nothing
//! more. [`RequestView::from_http`] and [`ResponseView::from_http`] build one from `http` 1.x types;
//! any other framework fills the fields itself.

use std::fmt;

/// Where a message's field values come from.
///
/// `name` is always lowercase. Implementations call `f` once per field line, in message order,
/// with the raw value bytes.
pub trait FieldSource {
    /// Calls `f` with each value of the field `name`, in order.
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&[u8]));

    /// Whether the field occurs at all.
    fn contains(&self, name: &str) -> bool {
        let mut found = false;
        self.for_each_value(name, &mut |_| found = true);
        found
    }
}

impl FieldSource for http::HeaderMap {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        // `get_all` with a string that is not a valid header name finds nothing.
        for value in self.get_all(name) {
            f(value.as_bytes());
        }
    }
}

/// Field lines as (name, value) pairs; names are matched case-insensitively.
impl<N: AsRef<str>, V: AsRef<[u8]>> FieldSource for [(N, V)] {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for (n, v) in self {
            if n.as_ref().eq_ignore_ascii_case(name) {
                f(v.as_ref());
            }
        }
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>> FieldSource for Vec<(N, V)> {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        self.as_slice().for_each_value(name, f)
    }
}

/// No fields at all (for example, a message without trailers).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFields;

impl FieldSource for NoFields {
    fn for_each_value(&self, _name: &str, _f: &mut dyn FnMut(&[u8])) {}
}

/// The request parts a signature base can cover.
#[derive(Clone, Copy)]
pub struct RequestView<'a> {
    /// The method, exactly as sent (no case change).
    pub method: &'a str,
    /// The scheme of the target URI (`https` unless known otherwise).
    pub scheme: &'a str,
    /// The authority as received: `host[:port]`. `@authority` lowercases it and drops a default port.
    pub authority: &'a str,
    /// The path, percent-encoding kept. Empty means `/`.
    pub path: &'a str,
    /// The query without its leading `?`; `None` when the target has no `?`.
    pub query: Option<&'a str>,
    /// The request target exactly as on the HTTP/1.1 request line, when known. When `None`,
    /// `@request-target` is derived (origin form `path?query`; the authority for `CONNECT`).
    pub request_target: Option<&'a str>,
    /// Header fields.
    pub headers: &'a dyn FieldSource,
    /// Trailer fields, for `;tr`.
    pub trailers: &'a dyn FieldSource,
}

impl fmt::Debug for RequestView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Field values may hold credentials: never print them.
        f.debug_struct("RequestView")
            .field("method", &self.method)
            .field("scheme", &self.scheme)
            .field("authority", &self.authority)
            .field("path", &self.path)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

/// Why an `http::Request` cannot be viewed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// Neither the URI nor a single `Host` field gives an authority.
    #[error("request has no authority (no absolute URI and no single valid Host field)")]
    NoAuthority,
    /// A request was expected.
    #[error("not a request")]
    NotARequest,
    /// A response was expected.
    #[error("not a response")]
    NotAResponse,
}

impl<'a> RequestView<'a> {
    /// Views an `http::Request`. The authority comes from the URI when it has one (HTTP/2,
    /// absolute-form), else from the `Host` field (HTTP/1.1 origin-form); the scheme comes from
    /// the URI, else `default_scheme` (what the server knows about its own listener, usually
    /// `"https"` behind TLS).
    pub fn from_http<B>(
        req: &'a http::Request<B>,
        default_scheme: &'a str,
    ) -> Result<Self, ViewError> {
        Self::from_parts(req.method(), req.uri(), req.headers(), default_scheme)
    }

    /// Views request parts (for a response signer holding `http::request::Parts`).
    pub fn from_parts(
        method: &'a http::Method,
        uri: &'a http::Uri,
        headers: &'a http::HeaderMap,
        default_scheme: &'a str,
    ) -> Result<Self, ViewError> {
        let authority = match uri.authority() {
            Some(a) => a.as_str(),
            None => {
                let mut hosts = headers.get_all(http::header::HOST).iter();
                match (hosts.next(), hosts.next()) {
                    (Some(h), None) => h.to_str().map_err(|_| ViewError::NoAuthority)?,
                    _ => return Err(ViewError::NoAuthority),
                }
            }
        };
        Ok(RequestView {
            method: method.as_str(),
            scheme: uri.scheme_str().unwrap_or(default_scheme),
            authority,
            path: uri.path(),
            query: uri.query(),
            request_target: None,
            headers,
            trailers: &NoFields,
        })
    }
}

/// The response parts a signature base can cover.
#[derive(Clone, Copy)]
pub struct ResponseView<'a> {
    /// The status code.
    pub status: u16,
    /// Header fields.
    pub headers: &'a dyn FieldSource,
    /// Trailer fields, for `;tr`.
    pub trailers: &'a dyn FieldSource,
}

impl fmt::Debug for ResponseView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseView")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl<'a> ResponseView<'a> {
    /// Views an `http::Response`.
    pub fn from_http<B>(res: &'a http::Response<B>) -> Self {
        ResponseView {
            status: res.status().as_u16(),
            headers: res.headers(),
            trailers: &NoFields,
        }
    }
}

/// The message a signature is on: a request, or a response with (optionally) the request it
/// answers, for components marked `;req`.
#[derive(Debug, Clone, Copy)]
pub enum MessageView<'a> {
    /// A request.
    Request(RequestView<'a>),
    /// A response, and the request that it answers when known.
    Response(ResponseView<'a>, Option<RequestView<'a>>),
}

impl<'a> MessageView<'a> {
    /// The target message's header fields.
    pub fn headers(&self) -> &'a dyn FieldSource {
        match self {
            MessageView::Request(r) => r.headers,
            MessageView::Response(r, _) => r.headers,
        }
    }
}

impl<'a> From<RequestView<'a>> for MessageView<'a> {
    fn from(r: RequestView<'a>) -> Self {
        MessageView::Request(r)
    }
}
