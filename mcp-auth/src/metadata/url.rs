//! URL checks for the document and the well-known URLs of RFC 9728 §3.

use std::net::IpAddr;

use super::MetadataError;

/// The well-known path of the protected-resource metadata (RFC 9728 §3).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The parts of an absolute `http(s)` URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UrlParts<'a> {
    pub(crate) scheme: &'a str,
    pub(crate) authority: &'a str,
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) fragment: Option<&'a str>,
}

/// What a URL field accepts beyond an absolute `https` URL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UrlRules {
    /// `http` for any host (otherwise only for loopback hosts).
    pub(crate) allow_http: bool,
    pub(crate) allow_query: bool,
    pub(crate) allow_fragment: bool,
}

fn invalid(field: &'static str, value: &str, reason: &'static str) -> MetadataError {
    MetadataError::InvalidUrl {
        field,
        value: value.to_owned(),
        reason,
    }
}

/// Whether `host` (as written in a URL: IPv6 in brackets) is a loopback host.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let lower = host.to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        return true;
    }
    let bare = lower
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&lower);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Splits and checks an absolute URL.
pub(crate) fn parse_url<'a>(
    field: &'static str,
    value: &'a str,
    rules: UrlRules,
) -> Result<UrlParts<'a>, MetadataError> {
    if value.is_empty() {
        return Err(invalid(field, value, "empty"));
    }
    if !value.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(invalid(
            field,
            value,
            "holds a space, a control or a non-ASCII character",
        ));
    }
    let (before_fragment, fragment) = match value.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (value, None),
    };
    if fragment.is_some() && !rules.allow_fragment {
        return Err(invalid(field, value, "has a fragment"));
    }
    // The http crate's URI grammar refuses characters a URL may not hold unescaped.
    if before_fragment.parse::<http::Uri>().is_err() {
        return Err(invalid(field, value, "is not a valid URI"));
    }
    let Some((scheme, rest)) = before_fragment.split_once("://") else {
        return Err(invalid(field, value, "is not an absolute URL"));
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    if query.is_some() && !rules.allow_query {
        return Err(invalid(field, value, "has a query"));
    }
    if authority.contains('@') {
        return Err(invalid(field, value, "has user information"));
    }
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => authority.get(..=end).unwrap_or(authority),
            None => return Err(invalid(field, value, "has an unclosed IPv6 literal")),
        }
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    if host.is_empty() || host == "[]" {
        return Err(invalid(field, value, "has no host"));
    }
    let port = authority.get(host.len()..).unwrap_or("");
    let port_ok = match port.strip_prefix(':') {
        Some(digits) => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        None => port.is_empty(),
    };
    if !port_ok {
        return Err(invalid(field, value, "has an invalid port"));
    }
    if scheme.eq_ignore_ascii_case("https") {
        // Fine.
    } else if scheme.eq_ignore_ascii_case("http") {
        if !rules.allow_http && !is_loopback_host(host) {
            return Err(invalid(
                field,
                value,
                "uses http for a host that is not loopback (https required)",
            ));
        }
    } else {
        return Err(invalid(field, value, "is not an http(s) URL"));
    }
    Ok(UrlParts {
        scheme,
        authority,
        host,
        path,
        query,
        fragment,
    })
}

/// The path-inserted metadata path for a resource path (RFC 9728 §3.1): the well-known path,
/// then the resource's path unless it is empty or `/`.
pub fn well_known_path(resource_path: &str) -> String {
    if resource_path.is_empty() || resource_path == "/" {
        WELL_KNOWN_PATH.to_owned()
    } else if resource_path.starts_with('/') {
        format!("{WELL_KNOWN_PATH}{resource_path}")
    } else {
        format!("{WELL_KNOWN_PATH}/{resource_path}")
    }
}

pub(crate) fn metadata_url_of(parts: &UrlParts<'_>) -> String {
    let mut url = format!(
        "{}://{}{}",
        parts.scheme.to_ascii_lowercase(),
        parts.authority,
        well_known_path(parts.path)
    );
    if let Some(query) = parts.query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The URL of the metadata document of `resource` (RFC 9728 §3.1): the well-known path is
/// inserted between the host and the resource's path (and the query is kept), so
/// `https://shop.example/mcp` has its metadata at
/// `https://shop.example/.well-known/oauth-protected-resource/mcp`, and `https://shop.example/`
/// at `https://shop.example/.well-known/oauth-protected-resource`. This is the value of the
/// challenge's `resource_metadata` parameter.
///
/// `resource` must be an absolute `https` URL (or `http` on a loopback host) without fragment.
///
/// ```
/// use mcp_auth::metadata::metadata_url;
///
/// assert_eq!(
///     metadata_url("https://shop.example/mcp").unwrap(),
///     "https://shop.example/.well-known/oauth-protected-resource/mcp"
/// );
/// ```
pub fn metadata_url(resource: &str) -> Result<String, MetadataError> {
    let parts = parse_url(
        "resource",
        resource,
        UrlRules {
            allow_http: false,
            allow_query: true,
            allow_fragment: false,
        },
    )?;
    Ok(metadata_url_of(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlRules = UrlRules {
        allow_http: false,
        allow_query: false,
        allow_fragment: false,
    };

    #[test]
    fn both_url_forms() {
        assert_eq!(
            metadata_url("https://shop.example/mcp").unwrap(),
            "https://shop.example/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("https://shop.example").unwrap(),
            "https://shop.example/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url("https://shop.example/").unwrap(),
            "https://shop.example/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url("HTTPS://shop.example:8443/a/b/?tenant=1").unwrap(),
            "https://shop.example:8443/.well-known/oauth-protected-resource/a/b/?tenant=1"
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:3000/mcp").unwrap(),
            "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            well_known_path("/mcp"),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            well_known_path("mcp"),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(well_known_path("/"), WELL_KNOWN_PATH);
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for bad in [
            "",
            "shop.example/mcp",
            "/mcp",
            "ftp://shop.example/",
            "http://shop.example/mcp",
            "https://shop.example/mcp#frag",
            "https:///mcp",
            "https://user@shop.example/",
            "https://shop.example:80a/",
            "https://shop.example/a b",
            "https://[::1/",
            "https://shop.example/\u{e9}",
        ] {
            assert!(
                matches!(metadata_url(bad), Err(MetadataError::InvalidUrl { .. })),
                "{bad:?}"
            );
        }
        assert!(parse_url("f", "https://as.example/?x=1", STRICT).is_err());
    }

    #[test]
    fn loopback_hosts_may_use_http() {
        for host in [
            "localhost",
            "LOCALHOST",
            "api.localhost",
            "127.0.0.1",
            "127.9.9.9",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
            assert!(parse_url("f", &format!("http://{host}:8080/x"), STRICT).is_ok());
        }
        for host in [
            "example.com",
            "10.0.0.1",
            "[2001:db8::1]",
            "localhost.example",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        let lenient = UrlRules {
            allow_http: true,
            ..STRICT
        };
        assert!(parse_url("f", "http://shop.internal/x", lenient).is_ok());
        let parts = parse_url("f", "https://[2001:db8::1]:443/p", STRICT).unwrap();
        assert_eq!(parts.host, "[2001:db8::1]");
        assert_eq!(parts.authority, "[2001:db8::1]:443");
        assert_eq!(parts.path, "/p");
    }
}
