//! Fixtures for the `bot-policy` targets: named lists and fixed requests to evaluate against.

use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use bot_policy::{BotFacts, Lists, RequestFacts};
use http::{HeaderMap, HeaderName, HeaderValue};

/// The directory holding the list files that fuzzed policies may name (`file = "agents.txt"`).
pub const LIST_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/policy-lists");

/// The list files in [`LIST_DIR`]: the only files a fuzzed policy is allowed to read.
pub const LIST_FILES: &[&str] = &["ips.txt", "agents.txt", "asns.txt"];

/// One list of each kind: `$ips` (addresses, CIDRs, a range), `$names` (strings) and `$asns`
/// (integers and a range).
pub fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| {
        let mut lists = Lists::new();
        let ips = lists.insert_ips(
            "ips",
            [
                "192.0.2.0/24",
                "198.51.100.7",
                "2001:db8::/32",
                "203.0.113.1..203.0.113.99",
            ],
        );
        let names = lists.insert_strings("names", ["GPTBot", "ClaudeBot", "sqlmap/1.7", ""]);
        let asns = lists.insert_integers("asns", [(13335, 13335), (15169, 15169), (64512, 65534)]);
        assert!(
            ips.is_ok() && names.is_ok() && asns.is_ok(),
            "fixture lists: {ips:?} {names:?} {asns:?}"
        );
        lists
    })
}

/// The header fields of the first fixed request: a browser's, plus a 64 KiB value, a value that
/// is not UTF-8 (obs-text bytes), a repeated field and an empty value.
pub fn headers() -> &'static HeaderMap {
    static HEADERS: OnceLock<HeaderMap> = OnceLock::new();
    HEADERS.get_or_init(|| {
        let mut map = HeaderMap::new();
        let mut add = |name: &'static str, value: &[u8]| {
            let value = HeaderValue::from_bytes(value);
            assert!(value.is_ok(), "fixture header {name}");
            if let Ok(value) = value {
                map.append(HeaderName::from_static(name), value);
            }
        };
        add(
            "user-agent",
            b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
              Chrome/124.0.0.0 Safari/537.36 sqlmap GPTBot",
        );
        add("user-agent", b"second-agent/1.0");
        add("referer", b"https://spam-domain.example/\xff\xfe");
        add("cookie", b"session=abc; theme=dark");
        add("x-forwarded-for", b"198.51.100.7, 10.0.0.1");
        add("accept", b"text/html,application/json;q=0.9");
        add("accept", b"");
        add(
            "x-binary",
            b"\x80\x81\xc3\x28\xed\xa0\x80\xf0\x28\x8c\xbc\xff",
        );
        let mut huge = Vec::with_capacity(64 * 1024);
        while huge.len() < 64 * 1024 {
            huge.extend_from_slice(b"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_.~%2F/*?");
        }
        huge.extend_from_slice(b"sqlmap\xff");
        add("x-huge", &huge);
        map
    })
}

/// Runs `f` on each fixed request: one with the [`headers`] and a client address in `$ips`; a
/// verified AI crawler from IPv6 with every `bot.*` field set; and a bare request with an empty
/// target, no headers and no client address.
pub fn with_requests(mut f: impl FnMut(&RequestFacts<'_>)) {
    let browser = RequestFacts::new("GET", "/products/123?color=blue&q=union%20select")
        .with_scheme("https")
        .with_host("shop.example.com")
        .with_version("HTTP/2")
        .with_headers(headers())
        .with_client_ip(IpAddr::from([192, 0, 2, 7]))
        .with_country("NL")
        .with_asn(64512)
        .with_bot(BotFacts {
            score: 1,
            spoofed: true,
            claimed: true,
            name: "GPTBot",
            ..BotFacts::default()
        });
    f(&browser);

    let crawler = RequestFacts::new("POST", "/mcp/tools?x=%00%ff")
        .with_scheme("http")
        .with_host("Admin.Example.COM:8443")
        .with_client_ip(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]))
        .with_asn(15169)
        .with_bot(BotFacts {
            name: "ClaudeBot",
            operator: "Anthropic",
            category: "AI Crawler",
            claimed: true,
            verified: true,
            signed: true,
            spoofed: false,
            signature_agent: "https://signature-agent.test",
            score: 29,
        });
    f(&crawler);

    f(&RequestFacts::new("", ""));
}

/// Whether every list file a policy names (`[lists.*] file = "…"`) is one of [`LIST_FILES`],
/// so that a fuzzed policy never reads anything else (`/dev/stdin`, `/dev/zero`, …). Text that is
/// not TOML passes: the loader refuses it before reading any file.
pub fn list_files_are_fixtures(text: &str) -> bool {
    let Ok(value) = text.parse::<toml::Table>() else {
        return true;
    };
    let Some(lists) = value.get("lists").and_then(toml::Value::as_table) else {
        return true;
    };
    lists
        .values()
        .all(|list| match list.as_table().and_then(|l| l.get("file")) {
            None => true,
            Some(file) => file
                .as_str()
                .is_some_and(|f| LIST_FILES.contains(&f) && Path::new(LIST_DIR).join(f).is_file()),
        })
}
