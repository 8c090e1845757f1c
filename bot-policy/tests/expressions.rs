#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Rules language: what each construct means on a request, and what each mistake reports.

use bot_policy::{BotFacts, ExprErrorKind, Expression, Limits, ListKind, Lists, RequestFacts};
use proptest::prelude::*;

fn headers(pairs: &[(&str, &[u8])]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    map
}

fn lists() -> Lists {
    let mut lists = Lists::new();
    lists
        .insert_ips("office", ["192.0.2.0/24", "2001:db8::/32"])
        .unwrap();
    lists
        .insert_strings("bad_agents", ["sqlmap/1.7", "masscan"])
        .unwrap();
    lists
        .insert_integers("cloud_asns", [(16509, 16509), (14061, 14061)])
        .unwrap();
    lists
}

/// A browser request with a few headers, from 203.0.113.9.
fn check(expr: &str, want: bool) {
    let map = headers(&[
        (
            "user-agent",
            b"Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36",
        ),
        ("accept", b"text/html"),
        ("accept", b"application/json"),
        ("referer", b"https://search.example/?q=shoes"),
        ("x-bytes", b"\xff\xfe binary"),
        ("cookie", b"session=abc"),
    ]);
    let facts = RequestFacts::new("GET", "/Shop/Items/42.html?color=blue&size=9")
        .with_scheme("https")
        .with_host("www.example.com")
        .with_headers(&map)
        .with_client_ip("203.0.113.9".parse().unwrap())
        .with_country("DE")
        .with_asn(3320)
        .with_bot(BotFacts {
            name: "GPTBot",
            operator: "OpenAI",
            category: "AI Crawler",
            claimed: true,
            verified: true,
            signed: true,
            spoofed: false,
            signature_agent: "https://chatgpt.com",
            score: 12,
        });
    let compiled = Expression::compile_with(expr, &lists(), &Limits::default())
        .unwrap_or_else(|e| panic!("{expr}\n{}", e.render(expr)));
    assert_eq!(compiled.matches(&facts), want, "{expr}");
}

#[test]
fn fields_and_comparisons() {
    for (expr, want) in [
        (r#"http.request.method eq "GET""#, true),
        (r#"http.request.method == "get""#, false),
        (r#"http.host eq "www.example.com""#, true),
        (r#"http.request.uri.path eq "/Shop/Items/42.html""#, true),
        (r#"http.request.uri.query eq "color=blue&size=9""#, true),
        (
            r#"http.request.uri eq "/Shop/Items/42.html?color=blue&size=9""#,
            true,
        ),
        (
            r#"http.request.full_uri eq "https://www.example.com/Shop/Items/42.html?color=blue&size=9""#,
            true,
        ),
        (
            r#"http.request.full_uri wildcard "https://www.example.com/shop/*""#,
            true,
        ),
        (
            r#"http.request.full_uri strict wildcard "https://www.example.com/shop/*""#,
            false,
        ),
        (r#"http.user_agent contains "Chrome/""#, true),
        (r#"http.user_agent contains "chrome/""#, false),
        (r#"lower(http.user_agent) contains "chrome/""#, true),
        (r#"upper(http.user_agent) contains "CHROME/""#, true),
        (r#"http.referer matches r"^https://search\.example/""#, true),
        (r#"http.referer ~ "^https://search\.example/""#, true),
        (r#"http.cookie contains "session=""#, true),
        (r#"http.request.version eq "HTTP/1.1""#, true),
        ("ssl", true),
        ("not ssl", false),
        (r#"ip.src.country eq "DE" and ip.geoip.asnum eq 3320"#, true),
        ("ip.src eq 203.0.113.9", true),
        ("ip.src != 203.0.113.9", false),
        ("ip.src in {203.0.113.0/24}", true),
        ("ip.src in 203.0.113.0/24", true),
        ("ip.src in {198.51.100.0/24 2001:db8::/32}", false),
        ("ip.src in {203.0.113.1..203.0.113.10}", true),
        ("cf.bot_management.score lt 30", true),
        (
            "cf.bot_management.score >= 12 && cf.bot_management.score <= 12",
            true,
        ),
        ("cf.bot_management.score in {1..11 13..99}", false),
        ("cf.bot_management.verified_bot and cf.client.bot", true),
        (r#"cf.verified_bot_category eq "AI Crawler""#, true),
        ("cf.bot_management.static_resource", false),
        (
            r#"bot.name eq "GPTBot" and bot.operator eq "OpenAI" and bot.category eq "AI Crawler""#,
            true,
        ),
        (
            "bot.claimed and bot.verified and bot.signed and not bot.spoofed",
            true,
        ),
        (r#"bot.signature_agent eq "https://chatgpt.com""#, true),
        ("bot.verified eq true", true),
        ("bot.spoofed ne false", false),
        (r#"http.host lt "x" and http.host gt "a""#, true),
        ("true", true),
        ("false or not true", false),
    ] {
        check(expr, want);
    }
}

#[test]
fn logic_follows_cloudflare_precedence() {
    // `and` before `xor` before `or`; `not` binds to the comparison.
    check("true or false and false", true);
    check("(true or false) and false", false);
    check("true xor true or true", true);
    check("true xor (true or true)", false);
    check("false and false xor true", true);
    check("not false and false", false);
    check("! (false || true) ^^ true", true);
    check(r#"not http.request.method in {"POST" "PUT"}"#, true);
}

#[test]
fn strings_sets_and_lists() {
    check(r#"http.request.method in {"GET" "HEAD"}"#, true);
    check(r#"http.request.method in {"GET", "HEAD"}"#, true);
    check(
        r#"http.host in {"a" "b" "c" "d" "e" "f" "g" "www.example.com"}"#,
        true,
    );
    check(r#"http.host in {"a" "b" "c" "d" "e" "f" "g" "h"}"#, false);
    check("ip.src in $office", false);
    check("ip.src.asnum in $cloud_asns", false);
    check("http.user_agent in $bad_agents", false);
    check(r#"http.user_agent contains "\x43hrome""#, true);
    check(r###"http.user_agent matches r#"Chrome/\d+"#"###, true);
    check(r#"http.request.uri.path matches "\.html$""#, true);
}

#[test]
fn functions_arrays_and_maps() {
    check(r#"starts_with(http.request.uri.path, "/Shop/")"#, true);
    check(
        r#"starts_with(lower(http.request.uri.path), "/shop/")"#,
        true,
    );
    check(r#"ends_with(http.request.uri.path, ".html")"#, true);
    check(r#"ends_with(upper(http.request.uri.path), ".HTML")"#, true);
    check("len(http.host) eq 15", true);
    check(
        r#"concat(http.host, http.request.uri.path) eq "www.example.com/Shop/Items/42.html""#,
        true,
    );
    check(r#"concat("a", "b") == "ab""#, true);
    check(r#"lower(http.request.uri.path) matches "^/shop/""#, true);
    check(
        r#"lower(http.request.uri.path) in {"/shop/items/42.html"}"#,
        true,
    );
    check(r#"http.request.headers["accept"][0] eq "text/html""#, true);
    check(
        r#"http.request.headers["accept"][1] eq "application/json""#,
        true,
    );
    check(r#"http.request.headers["accept"][2] ne "x""#, false);
    check(
        r#"any(http.request.headers["accept"][*] == "application/json")"#,
        true,
    );
    check(
        r#"all(http.request.headers["accept"][*] contains "/")"#,
        true,
    );
    check(
        r#"all(http.request.headers["accept"][*] contains "json")"#,
        false,
    );
    check(r#"any(http.request.headers["x-missing"][*] == "a")"#, false);
    check(r#"all(http.request.headers["x-missing"][*] == "a")"#, false);
    check(r#"len(http.request.headers["accept"]) eq 2"#, true);
    check(r#"len(http.request.headers["x-missing"]) >= 0"#, false);
    check(r#"not len(http.request.headers["x-missing"]) >= 0"#, true);
    check(r#"any(http.request.headers.names[*] == "cookie")"#, true);
    check(
        r#"any(lower(http.request.headers.values[*])[*] contains "session")"#,
        true,
    );
    check(
        r#"all(len(http.request.headers["accept"][*])[*] in {9 16})"#,
        true,
    );
    check(
        r#"any(starts_with(http.request.headers["accept"][*], "application/"))"#,
        true,
    );
    check(
        r#"any(http.request.headers["x-bytes"][*] contains "binary")"#,
        true,
    );
    // Regular expressions work on bytes: `\xff` is the byte 0xFF, as in wirefilter.
    check(
        r#"any(http.request.headers["x-bytes"][*] matches "^\xff\xfe")"#,
        true,
    );
}

#[test]
fn missing_values_make_comparisons_false() {
    let facts = RequestFacts::new("GET", "/");
    for expr in [
        "ip.src eq 192.0.2.1",
        "ip.src ne 192.0.2.1",
        "ip.src in {0.0.0.0/0 ::/0}",
        r#"http.request.headers["a"][0] eq "x""#,
        r#"http.request.headers["a"][0] ne "x""#,
    ] {
        let compiled = Expression::compile(expr).unwrap();
        assert!(!compiled.matches(&facts), "{expr}");
    }
    // An unclassified request: nothing known, score 99.
    assert!(
        Expression::compile("cf.bot_management.score eq 99")
            .unwrap()
            .matches(&facts)
    );
    assert!(!Expression::compile("bot.claimed").unwrap().matches(&facts));
}

#[test]
fn cloudflare_documentation_examples_paste_in() {
    // From Cloudflare's Rules language pages (operators, values, functions).
    for expr in [
        r#"http.request.uri.path eq "/articles/2008/""#,
        "ip.src ne 203.0.113.0",
        r#"http.request.uri.path contains "/articles/""#,
        r#"http.request.uri.path wildcard "/articles/*""#,
        r#"http.request.uri.path strict wildcard "/AdminTeam/*""#,
        r#"http.request.uri.path matches "^/articles/200[7-8]/$""#,
        "ip.src in { 203.0.113.0 203.0.113.1 }",
        r#"ends_with(http.request.uri.path, ".html")"#,
        r#"lower(http.request.uri.path) contains "/wp-login.php""#,
        r#"http.request.full_uri wildcard "*.example.com/*/page.html""#,
        r#"not ( http.host eq "www.cloudflare.com" and ip.src in {203.0.113.0/24} )"#,
        r#"http.host eq "www.cloudflare.com" or ip.src in 203.0.113.0/24"#,
        r#"(
 (http.host eq "api.example.com" and http.request.uri.path eq "/api/v2/auth") or
 (http.host matches "^(www|store|blog)\.example\.com" and http.request.uri.path contains "wp-login.php") or
 ip.geoip.country in {"CN" "TH" "US" "ID" "KR" "MY" "IT" "SG" "GB"} or ip.geoip.asnum in {12345 54321 11111}
) and not ip.src in {11.22.33.0/24}"#,
        r#"http.request.uri.path matches "a\"b""#,
        r###"http.request.uri.path matches r#"a"b"#"###,
        r#"http.request.uri.path matches r"/api/login\.aspx$""#,
        r#"any(http.request.headers.names[*] == "Content-Type")"#,
        r#"any(lower(http.request.headers.names[*])[*] == "content-type")"#,
        r#"all(http.request.headers["content-type"][*] == "application/json")"#,
        r#"(cf.bot_management.score lt 30 and not cf.bot_management.verified_bot and not cf.bot_management.static_resource)"#,
        r#"cf.verified_bot_category in {"AI Crawler" "AI Search"}"#,
        "ip.src in {198.51.100.1 198.51.100.3..198.51.100.7 192.0.2.0/24 2001:0db8::/32}",
        r#"lower(http.host) == "www.cloudflare.com""#,
    ] {
        if let Err(e) = Expression::compile(expr) {
            panic!("{expr}\n{}", e.render(expr));
        }
    }
    // The quoted-string example means what the documentation says.
    let map = headers(&[]);
    let facts = RequestFacts::new("GET", "/x/a\"b").with_headers(&map);
    assert!(
        Expression::compile(r#"http.request.uri.path matches "a\"b""#)
            .unwrap()
            .matches(&facts)
    );
}

fn error_of(expr: &str) -> (ExprErrorKind, (usize, usize), String) {
    let err = Expression::compile_with(expr, &lists(), &Limits::default())
        .err()
        .unwrap_or_else(|| panic!("`{expr}` compiled"));
    (err.kind(), err.line_col(expr), err.render(expr))
}

#[test]
fn mistakes_are_load_time_errors_with_positions() {
    let cases: &[(&str, ExprErrorKind, (usize, usize), &str)] = &[
        (
            "http.user_agnet contains \"x\"",
            ExprErrorKind::UnknownField,
            (1, 1),
            "did you mean `http.user_agent`",
        ),
        (
            "lowr(http.host) eq \"a\"",
            ExprErrorKind::UnknownFunction,
            (1, 1),
            "did you mean `lower`",
        ),
        (
            "url_decode(http.host) eq \"a\"",
            ExprErrorKind::UnknownFunction,
            (1, 1),
            "does not implement",
        ),
        (
            "cf.bot_management.score eq \"1\"",
            ExprErrorKind::Type,
            (1, 28),
            "expected an integer",
        ),
        (
            "http.host eq 12",
            ExprErrorKind::Type,
            (1, 14),
            "quoted string",
        ),
        (
            "ip.src contains \"1\"",
            ExprErrorKind::Type,
            (1, 1),
            "`contains` does not apply to an IP address",
        ),
        (
            "ip.src eq 192.0.2.0/24",
            ExprErrorKind::Address,
            (1, 11),
            "compared with `in`",
        ),
        (
            "ip.src in {192.0.2.1/24}",
            ExprErrorKind::Address,
            (1, 12),
            "host bits",
        ),
        (
            "ip.src in {300.0.0.0/8}",
            ExprErrorKind::Address,
            (1, 12),
            "not a CIDR",
        ),
        (
            "http.host matches \"(\"",
            ExprErrorKind::Regex,
            (1, 19),
            "invalid regular expression",
        ),
        (
            "http.host wildcard \"a**b\"",
            ExprErrorKind::Wildcard,
            (1, 20),
            "`**`",
        ),
        (
            "ip.src in $nope",
            ExprErrorKind::UnknownList,
            (1, 11),
            "unknown list",
        ),
        (
            "http.host in $office",
            ExprErrorKind::Type,
            (1, 14),
            "kind `ip`",
        ),
        (
            "http.host",
            ExprErrorKind::Type,
            (1, 1),
            "expected a boolean",
        ),
        (
            "http.request.headers[\"Accept\"][0] eq \"x\"",
            ExprErrorKind::Type,
            (1, 1),
            "lowercase",
        ),
        (
            "http.request.headers[\"accept\"] eq \"x\"",
            ExprErrorKind::Type,
            (1, 1),
            "cannot be compared",
        ),
        (
            "http.request.headers[\"accept\"][*] eq \"x\"",
            ExprErrorKind::Type,
            (1, 1),
            "any(…) or all(…)",
        ),
        (
            "any(http.host)",
            ExprErrorKind::Type,
            (1, 5),
            "array of booleans",
        ),
        (
            "starts_with(\"x\", \"y\")",
            ExprErrorKind::Type,
            (1, 13),
            "not a literal",
        ),
        (
            "http.host eq \"a\" and\n  http.host eq",
            ExprErrorKind::Syntax,
            (2, 15),
            "expected a value",
        ),
        (
            "http.host eq \"a\" http.host",
            ExprErrorKind::Syntax,
            (1, 18),
            "expected `and`",
        ),
        (
            "http.host eq \"a\\.b\"",
            ExprErrorKind::Syntax,
            (1, 16),
            "unknown escape",
        ),
        (
            "http.host eq \"abc",
            ExprErrorKind::Syntax,
            (1, 14),
            "unterminated",
        ),
        (
            "http.host eq @",
            ExprErrorKind::Syntax,
            (1, 14),
            "unexpected character",
        ),
    ];
    for (expr, kind, position, message) in cases {
        let (got_kind, got_position, rendered) = error_of(expr);
        assert_eq!(got_kind, *kind, "{expr}: {rendered}");
        assert_eq!(got_position, *position, "{expr}: {rendered}");
        assert!(rendered.contains(message), "{expr}: {rendered}");
        assert!(rendered.contains('^'), "{rendered}");
    }
}

#[test]
fn limits_are_enforced() {
    let long = format!("http.host eq \"{}\"", "a".repeat(5000));
    assert_eq!(error_of(&long).0, ExprErrorKind::Limit);
    let deep = format!("{}true{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(error_of(&deep).0, ExprErrorKind::Limit);
    let deep_calls = format!(
        "{}http.host{} eq \"a\"",
        "lower(".repeat(50),
        ")".repeat(50)
    );
    assert_eq!(error_of(&deep_calls).0, ExprErrorKind::Limit);
    let huge_regex = "http.host matches \"(a{1000}){1000}\"";
    let (kind, _, rendered) = error_of(huge_regex);
    assert_eq!(kind, ExprErrorKind::Regex, "{rendered}");
    assert!(rendered.contains("too large"), "{rendered}");
    // Within the limit, a long chain of `or` compiles and evaluates (it is kept flat).
    let chain = vec!["http.host eq \"x\""; 200].join(" or ");
    let expr = Expression::compile(&chain).unwrap();
    assert!(!expr.matches(&RequestFacts::new("GET", "/")));
}

#[test]
fn constants_are_known_at_load_time() {
    assert_eq!(Expression::compile("true").unwrap().constant(), Some(true));
    assert_eq!(
        Expression::compile("cf.bot_management.score lt 1")
            .unwrap()
            .constant(),
        Some(false)
    );
    assert_eq!(
        Expression::compile("cf.bot_management.score ge 1")
            .unwrap()
            .constant(),
        Some(true)
    );
    assert_eq!(
        Expression::compile(r#"lower(http.host) eq "WWW""#)
            .unwrap()
            .constant(),
        Some(false)
    );
    assert_eq!(
        Expression::compile(r#"http.host eq "a" and false"#)
            .unwrap()
            .constant(),
        Some(false)
    );
    assert_eq!(
        Expression::compile(r#"http.host eq "a""#)
            .unwrap()
            .constant(),
        None
    );
}

#[test]
fn absurd_requests_are_bounded() {
    let huge = vec![b'a'; 1 << 20];
    let mut map = http::HeaderMap::new();
    map.insert("user-agent", http::HeaderValue::from_bytes(&huge).unwrap());
    for i in 0..5000 {
        map.append(
            http::HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap(),
            http::HeaderValue::from_static("v"),
        );
    }
    map.append(
        "x-bin",
        http::HeaderValue::from_bytes(b"\xff\x00\x80")
            .unwrap_or(http::HeaderValue::from_static("x")),
    );
    let facts = RequestFacts::new("GET", "/").with_headers(&map);
    for expr in [
        r#"http.user_agent contains "b""#,
        r#"lower(http.user_agent) contains "b""#,
        r#"http.user_agent wildcard "*a*a*a*a*b""#,
        r#"http.user_agent matches "(a|aa)*b""#,
        r#"any(http.request.headers.names[*] == "nope")"#,
        r#"len(http.request.headers.values) eq 1"#,
    ] {
        let compiled = Expression::compile(expr).unwrap();
        assert!(!compiled.matches(&facts), "{expr}");
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(src in ".{0,200}") {
        if let Err(e) = Expression::compile(&src) {
            let _ = e.render(&src);
            let _ = e.line_col(&src);
        }
    }

    #[test]
    fn arbitrary_requests_never_panic(
        ua in proptest::collection::vec(any::<u8>(), 0..300),
        path in "/[ -~]{0,60}",
        ip in any::<[u8; 16]>(),
        score in any::<u8>(),
    ) {
        let value = http::HeaderValue::from_bytes(&ua).unwrap_or(http::HeaderValue::from_static("x"));
        let mut map = http::HeaderMap::new();
        map.insert("user-agent", value);
        let facts = RequestFacts::new("GET", &path)
            .with_headers(&map)
            .with_client_ip(std::net::IpAddr::from(ip))
            .with_bot(BotFacts { score, ..BotFacts::default() });
        for expr in [
            r#"lower(http.user_agent) wildcard "*bot*" or http.request.full_uri contains "x""#,
            r#"any(lower(http.request.headers.values[*])[*] matches "^\\w+$") xor cf.bot_management.score in {1..29}"#,
            r#"ip.src in {10.0.0.0/8 ::/0} and ends_with(http.request.uri.path, "/")"#,
        ] {
            let _ = Expression::compile(expr).unwrap().matches(&facts);
        }
    }

    #[test]
    fn lower_folding_agrees_with_lowering(value in "[ -~]{0,40}", needle in "[a-zA-Z]{0,4}") {
        let lowered = value.to_ascii_lowercase();
        let mut map = http::HeaderMap::new();
        map.insert("user-agent", http::HeaderValue::from_str(&value).unwrap());
        let facts = RequestFacts::new("GET", "/").with_headers(&map);
        let folded = Expression::compile(&format!("lower(http.user_agent) contains \"{needle}\"")).unwrap();
        prop_assert_eq!(folded.matches(&facts), lowered.contains(needle.as_str()));
        let eq = Expression::compile(&format!("lower(http.user_agent) eq \"{needle}\"")).unwrap();
        prop_assert_eq!(eq.matches(&facts), lowered == needle);
        let starts = Expression::compile(&format!("starts_with(lower(http.user_agent), \"{needle}\")")).unwrap();
        prop_assert_eq!(starts.matches(&facts), lowered.starts_with(needle.as_str()));
    }

    #[test]
    fn wildcard_agrees_with_a_regex(value in "[abc/]{0,12}", pattern in "[abc/*]{0,6}") {
        prop_assume!(!pattern.contains("**"));
        let regex = format!("(?i)^{}$", regex_syntax_escape(&pattern).replace("\\*", ".*"));
        let want = regex::Regex::new(&regex).unwrap().is_match(&value);
        let mut map = http::HeaderMap::new();
        map.insert("user-agent", http::HeaderValue::from_str(&value).unwrap());
        let facts = RequestFacts::new("GET", "/").with_headers(&map);
        let expr = Expression::compile(&format!("http.user_agent wildcard \"{pattern}\"")).unwrap();
        prop_assert_eq!(expr.matches(&facts), want);
    }
}

fn regex_syntax_escape(text: &str) -> String {
    regex::escape(text)
}

#[test]
fn list_files_report_lines() {
    let mut lists = Lists::new();
    let err = lists
        .insert_from_text("asns", ListKind::Integer, "13335\n# comment\nnope\n")
        .unwrap_err();
    assert_eq!(err.item, 2);
}
