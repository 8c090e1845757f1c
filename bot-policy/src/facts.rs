//! What a rule can look at: the request, and what is known about the client that sent it.
//!
//! [`RequestFacts`] borrows everything from the request (nothing is copied); [`BotFacts`] holds the
//! classification (which bot the client claims to be, whether that is verified, the automation
//! score). Building both costs a few header lookups; evaluating a policy against them allocates
//! nothing.

use std::net::IpAddr;
use std::ops::ControlFlow;

/// The header fields of a request, as a rule sees them (`http.request.headers`).
///
/// Names given to and passed by these methods are lowercase. Values are raw bytes: they need not be
/// UTF-8.
///
/// `Sync`, so that facts can be held across an `await` (a policy waiting for Redis).
pub trait HeaderSource: Sync {
    /// Calls `f` with each value of the field `name` (lowercase), in order, until `f` breaks.
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> ControlFlow<()>);
    /// Calls `f` with the name (lowercase) and value of each field line, in order, until `f`
    /// breaks.
    fn for_each_field(&self, f: &mut dyn FnMut(&str, &[u8]) -> ControlFlow<()>);
    /// The first value of the field `name` (lowercase), if the field is present.
    fn first(&self, name: &str) -> Option<&[u8]> {
        self.nth_value(name, 0)
    }
    /// Value number `n` (from 0) of the field `name` (lowercase).
    fn nth_value(&self, name: &str, n: usize) -> Option<&[u8]>;
    /// Field line number `n` (from 0): its name (lowercase) and value.
    fn nth_field(&self, n: usize) -> Option<(&str, &[u8])>;
}

impl HeaderSource for http::HeaderMap {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> ControlFlow<()>) {
        for value in self.get_all(name) {
            if f(value.as_bytes()).is_break() {
                return;
            }
        }
    }

    fn for_each_field(&self, f: &mut dyn FnMut(&str, &[u8]) -> ControlFlow<()>) {
        for (name, value) in self {
            if f(name.as_str(), value.as_bytes()).is_break() {
                return;
            }
        }
    }

    fn first(&self, name: &str) -> Option<&[u8]> {
        // The names looked up on every request, as `HeaderName` constants: a lookup by `&str`
        // parses the name first, which costs more than the lookup itself.
        use http::header;
        let value = match name {
            "user-agent" => self.get(header::USER_AGENT),
            "referer" => self.get(header::REFERER),
            "cookie" => self.get(header::COOKIE),
            "host" => self.get(header::HOST),
            "accept" => self.get(header::ACCEPT),
            _ => self.get(name),
        };
        value.map(http::HeaderValue::as_bytes)
    }

    fn nth_value(&self, name: &str, n: usize) -> Option<&[u8]> {
        self.get_all(name)
            .iter()
            .nth(n)
            .map(http::HeaderValue::as_bytes)
    }

    fn nth_field(&self, n: usize) -> Option<(&str, &[u8])> {
        self.iter()
            .nth(n)
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
    }
}

/// A request with no header fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHeaders;

impl HeaderSource for NoHeaders {
    fn for_each_value(&self, _: &str, _: &mut dyn FnMut(&[u8]) -> ControlFlow<()>) {}
    fn for_each_field(&self, _: &mut dyn FnMut(&str, &[u8]) -> ControlFlow<()>) {}
    fn nth_value(&self, _: &str, _: usize) -> Option<&[u8]> {
        None
    }
    fn nth_field(&self, _: usize) -> Option<(&str, &[u8])> {
        None
    }
}

/// What is known about the client: the `bot.*` fields and the `cf.*` bot-management fields.
///
/// The classifier fills this in; a service whose verification ran elsewhere (an upstream proxy)
/// can fill it in itself. The default is a client about which nothing is known: no claimed bot,
/// nothing verified, score 99 (Cloudflare's "likely human" end of the scale), so that no
/// score-based rule fires on a request that was never classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotFacts<'a> {
    /// `bot.name`: the catalog name of the bot the client claims to be (`""` when none).
    pub name: &'a str,
    /// `bot.operator`: who runs that bot (`""` when none).
    pub operator: &'a str,
    /// `bot.category`: the claimed bot's category, one of Cloudflare's verified-bot category
    /// strings such as `AI Crawler` (`""` when none). See [`BotFacts::verified_category`].
    pub category: &'a str,
    /// `bot.claimed`: the request claims to be a known bot (by its user agent or signature).
    pub claimed: bool,
    /// `bot.verified`, `cf.bot_management.verified_bot`, `cf.client.bot`: the claim was verified,
    /// by a message signature or by the source address being in the operator's published ranges.
    pub verified: bool,
    /// `bot.signed`: the request carries a verified Web Bot Auth signature.
    pub signed: bool,
    /// `bot.spoofed`: the request claims a bot whose claims can be checked, and the check failed.
    pub spoofed: bool,
    /// `bot.signature_agent`: the verified `Signature-Agent` URL (`""` when none).
    pub signature_agent: &'a str,
    /// `cf.bot_management.score`: 1 (certainly automated) to 99 (likely human). A heuristic.
    pub score: u8,
}

impl Default for BotFacts<'_> {
    fn default() -> Self {
        BotFacts {
            name: "",
            operator: "",
            category: "",
            claimed: false,
            verified: false,
            signed: false,
            spoofed: false,
            signature_agent: "",
            score: 99,
        }
    }
}

impl<'a> BotFacts<'a> {
    /// `cf.verified_bot_category`: the category, but only when the claim is verified (as on
    /// Cloudflare, where the field is empty for bots that are not verified).
    pub fn verified_category(&self) -> &'a str {
        if self.verified { self.category } else { "" }
    }
}

/// A request as the rules see it. Borrowed from the request; nothing is copied.
///
/// ```
/// use bot_policy::RequestFacts;
///
/// let headers = http::HeaderMap::new();
/// let facts = RequestFacts::new("GET", "/products/1?color=blue")
///     .with_scheme("https")
///     .with_host("shop.example")
///     .with_headers(&headers)
///     .with_client_ip("203.0.113.9".parse().unwrap());
/// assert_eq!(facts.path(), "/products/1");
/// assert_eq!(facts.query(), "color=blue");
/// ```
#[derive(Clone, Copy)]
pub struct RequestFacts<'a> {
    pub(crate) method: &'a str,
    pub(crate) scheme: &'a str,
    pub(crate) host: &'a str,
    pub(crate) target: &'a str,
    pub(crate) path_end: usize,
    pub(crate) version: &'a str,
    pub(crate) headers: &'a dyn HeaderSource,
    pub(crate) user_agent: &'a [u8],
    pub(crate) client_ip: Option<IpAddr>,
    pub(crate) country: &'a str,
    pub(crate) asn: u32,
    pub(crate) bot: BotFacts<'a>,
}

impl std::fmt::Debug for RequestFacts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestFacts")
            .field("method", &self.method)
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("target", &self.target)
            .field("user_agent", &String::from_utf8_lossy(self.user_agent))
            .field("client_ip", &self.client_ip)
            .field("bot", &self.bot)
            .finish_non_exhaustive()
    }
}

impl<'a> RequestFacts<'a> {
    /// A request with this method and request target (path and query, as sent: percent-encoding
    /// kept). Scheme `https`, no host, no header fields, no client address, nothing known about the
    /// client.
    pub fn new(method: &'a str, target: &'a str) -> Self {
        RequestFacts {
            method,
            scheme: "https",
            host: "",
            target,
            path_end: target.find('?').unwrap_or(target.len()),
            version: "HTTP/1.1",
            headers: &NoHeaders,
            user_agent: b"",
            client_ip: None,
            country: "",
            asn: 0,
            bot: BotFacts::default(),
        }
    }

    /// Facts from an `http` request: method, path and query, scheme (from the URI, `https` when the
    /// URI has none), host (the URI's authority, else the `Host` field), version and header fields.
    /// The client address and the classification are set separately.
    pub fn from_http<B>(request: &'a http::Request<B>) -> Self {
        Self::from_parts(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
        )
    }

    /// As [`RequestFacts::from_http`], from the parts of a request.
    pub fn from_parts(
        method: &'a http::Method,
        uri: &'a http::Uri,
        version: http::Version,
        headers: &'a http::HeaderMap,
    ) -> Self {
        let target = uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        let host = match uri.authority() {
            Some(authority) => authority.as_str(),
            None => headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        };
        let version = match version {
            http::Version::HTTP_09 => "HTTP/0.9",
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2",
            http::Version::HTTP_3 => "HTTP/3",
            _ => "HTTP/1.1",
        };
        RequestFacts::new(method.as_str(), target)
            .with_scheme(uri.scheme_str().unwrap_or("https"))
            .with_host(host)
            .with_version(version)
            .with_headers(headers)
    }

    /// Sets the scheme (`http.request.full_uri`, `ssl`).
    pub fn with_scheme(mut self, scheme: &'a str) -> Self {
        self.scheme = scheme;
        self
    }

    /// Sets the host (`http.host`), as the client sent it.
    pub fn with_host(mut self, host: &'a str) -> Self {
        self.host = host;
        self
    }

    /// Sets the protocol version (`http.request.version`), such as `HTTP/1.1` or `HTTP/2`.
    pub fn with_version(mut self, version: &'a str) -> Self {
        self.version = version;
        self
    }

    /// Sets the header fields, and takes `http.user_agent` from them (the first `User-Agent`
    /// value). `http.referer`, `http.cookie` and `http.x_forwarded_for` are looked up only when
    /// a rule reads them.
    pub fn with_headers(mut self, headers: &'a dyn HeaderSource) -> Self {
        self.headers = headers;
        self.user_agent = headers.first("user-agent").unwrap_or(b"");
        self
    }

    /// Sets the client address (`ip.src`). Without one, comparisons on `ip.src` are false.
    pub fn with_client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip.to_canonical());
        self
    }

    /// Sets the client's country code (`ip.src.country`, `ip.geoip.country`), from whatever geo
    /// database the service uses. Empty by default.
    pub fn with_country(mut self, country: &'a str) -> Self {
        self.country = country;
        self
    }

    /// Sets the client's autonomous system number (`ip.src.asnum`, `ip.geoip.asnum`). 0 by
    /// default.
    pub fn with_asn(mut self, asn: u32) -> Self {
        self.asn = asn;
        self
    }

    /// Sets what is known about the client (the `bot.*` and `cf.bot_management.*` fields).
    pub fn with_bot(mut self, bot: BotFacts<'a>) -> Self {
        self.bot = bot;
        self
    }

    /// The request method.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The path, percent-encoding kept (`http.request.uri.path`).
    pub fn path(&self) -> &'a str {
        &self.target[..self.path_end]
    }

    /// The query without its `?`, empty when there is none (`http.request.uri.query`).
    pub fn query(&self) -> &'a str {
        self.target.get(self.path_end + 1..).unwrap_or("")
    }

    /// Path and query (`http.request.uri`).
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The host.
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The scheme.
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// The first `User-Agent` value, as bytes.
    pub fn user_agent(&self) -> &'a [u8] {
        self.user_agent
    }

    /// The header fields.
    pub fn headers(&self) -> &'a dyn HeaderSource {
        self.headers
    }

    /// The client address.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// What is known about the client.
    pub fn bot(&self) -> &BotFacts<'a> {
        &self.bot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_query_split_at_the_first_question_mark() {
        let facts = RequestFacts::new("GET", "/a?b=c?d");
        assert_eq!(facts.path(), "/a");
        assert_eq!(facts.query(), "b=c?d");
        let facts = RequestFacts::new("GET", "/a");
        assert_eq!(facts.query(), "");
        let facts = RequestFacts::new("GET", "/a?");
        assert_eq!(facts.query(), "");
    }

    #[test]
    fn from_http_takes_host_and_headers() {
        let request = http::Request::builder()
            .uri("/x?y")
            .header("host", "Example.COM")
            .header("user-agent", "curl/8")
            .header("user-agent", "second")
            .body(())
            .unwrap_or_default();
        let facts = RequestFacts::from_http(&request);
        assert_eq!(facts.host(), "Example.COM");
        assert_eq!(facts.user_agent(), b"curl/8");
        assert_eq!(facts.path(), "/x");
        let mut values = Vec::new();
        facts.headers().for_each_value("user-agent", &mut |v| {
            values.push(v.to_vec());
            ControlFlow::Continue(())
        });
        assert_eq!(values, vec![b"curl/8".to_vec(), b"second".to_vec()]);
    }

    #[test]
    fn mapped_ipv6_addresses_are_canonical() {
        let facts = RequestFacts::new("GET", "/")
            .with_client_ip("::ffff:192.0.2.1".parse().unwrap_or(IpAddr::from([0u8; 4])));
        assert_eq!(facts.client_ip(), Some(IpAddr::from([192, 0, 2, 1])));
    }
}
