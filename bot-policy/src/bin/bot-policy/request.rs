//! A request owned by the CLI (from the command line or a log line), classified and turned into
//! [`RequestFacts`].

use std::net::IpAddr;

use bot_policy::classify::{Classification, Classifier, Signals, SignatureOutcome};
use bot_policy::{HeaderSource, RequestFacts};
use http::HeaderMap;
use serde::Serialize;

/// A request, owned.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    pub scheme: String,
    pub host: String,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    pub client_ip: Option<IpAddr>,
    /// The Signature-Agent of a verified Web Bot Auth signature.
    pub signature_agent: Option<String>,
}

impl Request {
    /// A GET of `/` on no host, with nothing else known.
    pub fn new() -> Self {
        Request {
            method: "GET".to_owned(),
            scheme: "https".to_owned(),
            host: String::new(),
            target: "/".to_owned(),
            headers: HeaderMap::new(),
            client_ip: None,
            signature_agent: None,
        }
    }

    /// The first User-Agent value.
    pub fn user_agent(&self) -> &[u8] {
        self.headers
            .get(http::header::USER_AGENT)
            .map_or(&b""[..], http::HeaderValue::as_bytes)
    }

    /// Classifies the request, builds its facts and hands both to `f`.
    pub fn with_facts<R>(
        &self,
        classifier: &Classifier,
        f: impl FnOnce(&RequestFacts<'_>, &Classification<'_>) -> R,
    ) -> R {
        let signals = Signals {
            user_agent: self.user_agent(),
            client_ip: self.client_ip,
            signature: match &self.signature_agent {
                Some(agent) => SignatureOutcome::Verified { agent },
                None => SignatureOutcome::Absent,
            },
            headers: Some(&self.headers as &dyn HeaderSource),
        };
        let classification = classifier.classify(&signals);
        let mut facts = RequestFacts::new(&self.method, &self.target)
            .with_scheme(&self.scheme)
            .with_host(&self.host)
            .with_headers(&self.headers)
            .with_bot(classification.bot_facts());
        if let Some(ip) = self.client_ip {
            facts = facts.with_client_ip(ip);
        }
        f(&facts, &classification)
    }
}

/// A URL split into scheme, host and target.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SplitUrl<'a> {
    pub scheme: Option<&'a str>,
    /// Host, with the port when there is one; no user information.
    pub host: Option<&'a str>,
    /// Path and query (`/` when the URL has no path); no fragment.
    pub target: String,
}

/// Splits `https://host:port/path?query#fragment`, or an origin-form `/path?query`.
pub(crate) fn split_url(url: &str) -> Result<SplitUrl<'_>, String> {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    if url.starts_with('/') || url == "*" {
        return Ok(SplitUrl {
            scheme: None,
            host: None,
            target: url.to_owned(),
        });
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "`{url}` is not a URL: expected scheme://host/path or /path"
        ));
    };
    let scheme_ok = scheme
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(format!("`{url}` is not a URL: `{scheme}` is not a scheme"));
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_empty()
        || host
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(format!("`{url}` is not a URL: it has no host"));
    }
    let target = if target.is_empty() {
        "/".to_owned()
    } else if target.starts_with('?') {
        format!("/{target}")
    } else {
        target.to_owned()
    };
    Ok(SplitUrl {
        scheme: Some(scheme),
        host: Some(host),
        target,
    })
}

/// Whether `method` is an HTTP token.
pub(crate) fn valid_method(method: &str) -> bool {
    !method.is_empty()
        && method.len() <= 64
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value from bytes that may hold control characters: these become spaces.
pub(crate) fn header_value(bytes: &[u8]) -> http::HeaderValue {
    match http::HeaderValue::from_bytes(bytes) {
        Ok(value) => value,
        Err(_) => {
            let cleaned: Vec<u8> = bytes
                .iter()
                .map(|&b| {
                    if (b < 0x20 && b != b'\t') || b == 0x7f {
                        b' '
                    } else {
                        b
                    }
                })
                .collect();
            http::HeaderValue::from_bytes(&cleaned)
                .unwrap_or_else(|_| http::HeaderValue::from_static(""))
        }
    }
}

/// The `classification` object of `eval` and `replay --compare`.
#[derive(Debug, Serialize)]
pub(crate) struct ClassificationJson<'a> {
    bot: Option<&'a str>,
    operator: Option<&'a str>,
    category: Option<&'a str>,
    claimed: bool,
    verified: bool,
    verified_by: Option<&'static str>,
    signed: bool,
    spoofed: bool,
    score: u8,
    automation: Option<&'a str>,
}

impl<'a> ClassificationJson<'a> {
    pub fn new(classification: &Classification<'a>) -> Self {
        let bot = classification.bot_facts();
        let text = |s: &'a str| if s.is_empty() { None } else { Some(s) };
        ClassificationJson {
            bot: text(bot.name),
            operator: text(bot.operator),
            category: text(bot.category),
            claimed: bot.claimed,
            verified: bot.verified,
            verified_by: classification.verified_by(),
            signed: bot.signed,
            spoofed: bot.spoofed,
            score: bot.score,
            automation: classification.automation(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        let url = split_url("https://user@shop.example:8443/a/b?c=d#frag")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url.scheme, Some("https"));
        assert_eq!(url.host, Some("shop.example:8443"));
        assert_eq!(url.target, "/a/b?c=d");
        let url = split_url("http://example.com").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url.target, "/");
        let url = split_url("http://example.com?x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url.target, "/?x");
        let url = split_url("/mcp?x=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (url.scheme, url.host, url.target.as_str()),
            (None, None, "/mcp?x=1")
        );
        assert!(split_url("example.com/x").is_err());
        assert!(split_url("https:///x").is_err());
        assert!(split_url("1ttp://a/").is_err());
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(header_value(b"a\x01b").as_bytes(), b"a b");
        assert_eq!(header_value(b"caf\xc3\xa9").as_bytes(), b"caf\xc3\xa9");
    }
}
