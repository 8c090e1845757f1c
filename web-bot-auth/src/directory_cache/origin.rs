//! Agent URL → normalized origin (the cache key, and where the directory is fetched from).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest agent URL read.
pub(crate) const MAX_AGENT_URL_BYTES: usize = 2048;

/// Longest host name (RFC 1035).
const MAX_HOST_BYTES: usize = 253;

/// Longest label of a host name (RFC 1035).
const MAX_LABEL_BYTES: usize = 63;

/// A normalized origin: `scheme://host[:port]`, scheme and host lowercase, default port dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin<'a> {
    /// The origin text.
    pub(crate) key: Cow<'a, str>,
    /// Where the authority starts in `key`.
    authority_start: usize,
}

impl Origin<'_> {
    /// `host[:port]`, as normalized.
    pub(crate) fn authority(&self) -> &str {
        self.key.get(self.authority_start..).unwrap_or("")
    }
}

enum Host<'a> {
    Name(&'a str),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl Host<'_> {
    fn is_loopback(&self) -> bool {
        match self {
            Host::Name(n) => {
                n.eq_ignore_ascii_case("localhost")
                    || n.len() > ".localhost".len()
                        && n.get(n.len() - ".localhost".len()..)
                            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
            }
            Host::V4(ip) => ip.is_loopback(),
            Host::V6(ip) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }

    /// An IP literal outside the public unicast space (loopback aside).
    fn is_non_public_ip(&self) -> bool {
        match self {
            Host::Name(_) => false,
            Host::V4(ip) => v4_non_public(*ip),
            Host::V6(ip) => match ip.to_ipv4_mapped() {
                Some(v4) => v4_non_public(v4),
                None => {
                    let [first, ..] = ip.segments();
                    ip.is_unspecified()
                        || ip.is_multicast()
                        || first & 0xfe00 == 0xfc00
                        || first & 0xffc0 == 0xfe80
                }
            },
        }
    }

    /// Whether the host text is already in normal form.
    fn is_canonical(&self) -> bool {
        match self {
            Host::Name(n) => !n.bytes().any(|b| b.is_ascii_uppercase()),
            // Rust's parser takes only four plain decimal octets, which is the normal form.
            Host::V4(_) => true,
            Host::V6(_) => false,
        }
    }

    fn write_canonical(&self, out: &mut String) {
        match self {
            Host::Name(n) => out.extend(n.chars().map(|c| c.to_ascii_lowercase())),
            Host::V4(ip) => out.push_str(&ip.to_string()),
            Host::V6(ip) => {
                out.push('[');
                out.push_str(&ip.to_string());
                out.push(']');
            }
        }
    }
}

fn v4_non_public(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && b & 0xc0 == 64)
}

/// A host name: dot-separated labels of letters, digits, `-` and `_`; the last label must not
/// look like a number (WHATWG URL parsers would read `127.1` or `0x7f.1` as an IPv4 address).
fn check_name(name: &str) -> Result<(), &'static str> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_HOST_BYTES {
        return Err("host name is empty or too long");
    }
    let mut label_len = 0usize;
    let mut last_start = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'.' {
            if label_len == 0 {
                return Err("host name has an empty label");
            }
            label_len = 0;
            last_start = i + 1;
        } else if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            label_len += 1;
            if label_len > MAX_LABEL_BYTES {
                return Err("host name has a label longer than 63 bytes");
            }
        } else {
            return Err("host name has characters outside letters, digits, '-' and '_'");
        }
    }
    if label_len == 0 {
        return Err("host name has an empty label");
    }
    let last = bytes.get(last_start..).unwrap_or_default();
    let hex = match last {
        [b'0', b'x' | b'X', rest @ ..] => rest.iter().all(u8::is_ascii_hexdigit),
        _ => false,
    };
    if hex || last.iter().all(u8::is_ascii_digit) {
        return Err("host looks numeric but is not a dotted-quad IPv4 address");
    }
    Ok(())
}

/// Splits `host[:port]` / `[v6][:port]` and classifies the host.
fn split_authority(authority: &str) -> Result<(Host<'_>, Option<&str>), &'static str> {
    if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or("unterminated IPv6 literal")?;
        let literal = rest.get(..end).unwrap_or("");
        let after = rest.get(end + 1..).unwrap_or("");
        let ip: Ipv6Addr = literal
            .parse()
            .map_err(|_| "invalid IPv6 literal (zone identifiers are not allowed)")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after the IPv6 literal")?),
        };
        return Ok((Host::V6(ip), port));
    }
    let (host, port) = match authority.bytes().rposition(|b| b == b':') {
        Some(i) => (
            authority.get(..i).unwrap_or(""),
            Some(authority.get(i + 1..).unwrap_or("")),
        ),
        None => (authority, None),
    };
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && let Ok(ip) = host.parse::<Ipv4Addr>()
    {
        return Ok((Host::V4(ip), port));
    }
    check_name(host)?;
    Ok((Host::Name(host), port))
}

fn parse_port(text: &str) -> Result<Option<u16>, &'static str> {
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid port");
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err("invalid port"),
        Ok(p) => Ok(Some(p)),
    }
}

/// Normalizes an agent URL to its origin.
///
/// Refuses anything but `https` (and `http` to a loopback host when `allow_loopback`),
/// userinfo, fragments, non-ASCII or numeric-looking host names, IP literals outside the public
/// unicast space, and loopback hosts unless `allow_loopback`. Borrows from `agent` when it is
/// already normal (no allocation on the resolve path).
pub(crate) fn parse_origin(agent: &str, allow_loopback: bool) -> Result<Origin<'_>, &'static str> {
    if agent.len() > MAX_AGENT_URL_BYTES {
        return Err("agent URL is too long");
    }
    let bytes = agent.as_bytes();
    let has_prefix = |p: &[u8]| {
        bytes
            .get(..p.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(p))
    };
    let (https, authority_start) = if has_prefix(b"https://") {
        (true, "https://".len())
    } else if has_prefix(b"http://") {
        (false, "http://".len())
    } else {
        return Err("agent is not an absolute https URL");
    };
    // One pass: visible ASCII only, no fragment, the authority ends at the path or query.
    let mut authority_end = None;
    for (i, &b) in bytes.iter().enumerate().skip(authority_start) {
        if !b.is_ascii_graphic() {
            return Err("agent URL has spaces, control or non-ASCII characters");
        }
        if b == b'#' {
            return Err("agent URL has a fragment");
        }
        if authority_end.is_none() && (b == b'/' || b == b'?') {
            authority_end = Some(i);
        }
    }
    let authority_end = authority_end.unwrap_or(bytes.len());
    let authority_len = authority_end - authority_start;
    let scheme = agent.get(..authority_start - 3).unwrap_or("");
    let authority = agent.get(authority_start..authority_end).unwrap_or("");
    if authority.is_empty() {
        return Err("agent URL has no host");
    }
    if authority.contains('@') {
        return Err("agent URL has userinfo");
    }
    let (host, port_text) = split_authority(authority)?;
    let port = parse_port(port_text.unwrap_or(""))?;
    let loopback = host.is_loopback();
    if loopback && !allow_loopback {
        return Err("loopback hosts are not allowed");
    }
    if !https && !loopback {
        return Err("http is allowed only for loopback hosts in tests");
    }
    if !loopback && host.is_non_public_ip() {
        return Err("IP address is not public");
    }
    let default_port = if https { 443 } else { 80 };
    let kept_port = port.filter(|p| *p != default_port);
    let port_canonical = match (port_text, kept_port) {
        (None, None) => true,
        (Some(t), Some(_)) => !t.starts_with('0'),
        _ => false,
    };
    let scheme_canonical = !scheme.bytes().any(|b| b.is_ascii_uppercase());
    let key = if scheme_canonical && host.is_canonical() && port_canonical {
        Cow::Borrowed(agent.get(..authority_start + authority_len).unwrap_or(""))
    } else {
        let mut out = String::with_capacity(authority_start + authority_len + 8);
        out.push_str(if https { "https://" } else { "http://" });
        host.write_canonical(&mut out);
        if let Some(p) = kept_port {
            out.push(':');
            out.push_str(&p.to_string());
        }
        Cow::Owned(out)
    };
    Ok(Origin {
        key,
        authority_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(agent: &str, loopback: bool) -> String {
        match parse_origin(agent, loopback) {
            Ok(o) => o.key.into_owned(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn normalizes() {
        let cases = [
            ("https://bot.example", "https://bot.example"),
            ("https://bot.example/", "https://bot.example"),
            ("https://bot.example/a/b?c=d", "https://bot.example"),
            ("HTTPS://Bot.Example:443/x", "https://bot.example"),
            ("https://bot.example:8443", "https://bot.example:8443"),
            ("https://bot.example:08443", "https://bot.example:8443"),
            ("https://bot.example:", "https://bot.example"),
            ("https://bot.example?x", "https://bot.example"),
            ("https://203.0.113.7", "https://203.0.113.7"),
            ("https://[2001:DB8::1]:443", "https://[2001:db8::1]"),
            ("https://under_score.example", "https://under_score.example"),
        ];
        for (agent, want) in cases {
            assert_eq!(ok(agent, false), want, "{agent}");
        }
        let borrowed = parse_origin("https://bot.example/path", false).unwrap();
        assert!(matches!(borrowed.key, Cow::Borrowed(_)));
        assert_eq!(borrowed.authority(), "bot.example");
        let port = parse_origin("HTTPS://BOT.example:8443", false).unwrap();
        assert_eq!(port.authority(), "bot.example:8443");
    }

    #[test]
    fn loopback_only_when_allowed() {
        assert_eq!(ok("http://127.0.0.1:8080", true), "http://127.0.0.1:8080");
        assert_eq!(ok("http://localhost:80", true), "http://localhost");
        assert_eq!(ok("https://[::1]:9", true), "https://[::1]:9");
        assert_eq!(ok("http://a.localhost", true), "http://a.localhost");
        for agent in [
            "http://127.0.0.1:8080",
            "https://127.0.0.1",
            "https://localhost",
            "https://[::1]",
            "https://[::ffff:127.0.0.1]",
        ] {
            assert!(ok(agent, false).starts_with("ERR"), "{agent}");
        }
    }

    #[test]
    fn refuses() {
        for agent in [
            "http://bot.example",
            "ftp://bot.example",
            "bot.example",
            "https://",
            "https:///path",
            "https://user@bot.example",
            "https://bot.example#frag",
            "https://bot example",
            "https://bot.example.",
            "https://.bot.example",
            "https://b\u{e9}t.example",
            "https://bot.example:0",
            "https://bot.example:65536",
            "https://bot.example:x",
            "https://127.1",
            "https://0x7f.0.0.1",
            "https://2130706433",
            "https://10.0.0.1",
            "https://192.168.1.1",
            "https://169.254.169.254",
            "https://100.64.0.1",
            "https://0.0.0.0",
            "https://[fe80::1]",
            "https://[fd00::1]",
            "https://[::ffff:10.0.0.1]",
            "https://[::1%25eth0]",
            "https://[::1",
            "https://[::1]x",
            "https://a:b:c",
        ] {
            assert!(ok(agent, true).starts_with("ERR"), "{agent}");
        }
        let long = format!("https://{}.example", "a".repeat(MAX_AGENT_URL_BYTES));
        assert!(ok(&long, false).starts_with("ERR"));
    }
}
