//! Peer 3: Cloudflare's `wirefilter-engine` 0.6.1 (library name `wirefilter`), the newest
//! release on crates.io, on the shared bot-policy rules of `benches/data/bot-policy-rules.tsv`.
//!
//! Its API: a [`struct@Scheme`] maps field names to a [`Type`] (`Bytes`, `Int` = `i32`, `Ip`, `Bool`);
//! `scheme.parse(expr)` gives an AST and `.compile()` a [`Filter`] (a tree of boxed closures);
//! per request an [`ExecutionContext`] is made from the scheme (one boxed slot per field) and
//! filled with `set_field_value(name, value)` (a hash lookup of the name each time), and
//! `filter.execute(&ctx)` answers. What that means here:
//!
//! - 0.6 has no functions at all: no call syntax, no registration API. The three uses of
//!   `starts_with` and `lower` are rewritten to regexes, see [`ADAPTATIONS`]; every other rule
//!   is parsed exactly as written in the TSV.
//! - A field that was never given a value makes `execute` panic, so [`WirefilterRules::context`]
//!   always sets all fourteen.
//! - `eq`, `in` and `contains` compare bytes, case-sensitively; `matches` is a byte regex built
//!   with Unicode off, so `(?i)` folds ASCII case only.
//! - A `Filter<'s>` runs only on an `ExecutionContext<'s>` with the same `'s` (both the scheme
//!   borrow and the values' lifetime), so the request data has to outlive the compiled rules
//!   (hence the lifetime on [`WirefilterRules`]). The scheme is a process-wide static.

use std::net::IpAddr;
use std::sync::OnceLock;

use wirefilter::{ExecutionContext, Filter, Scheme, Type};

/// The shared rules file: `id<TAB>action<TAB>expression`, `#` comment lines.
pub const RULES_TSV: &str = include_str!("../data/bot-policy-rules.tsv");

/// The scheme's fields, named as in the expressions, with their wirefilter types.
pub const FIELDS: &[(&str, Type)] = &[
    ("http.request.method", Type::Bytes),
    ("http.host", Type::Bytes),
    ("http.request.uri.path", Type::Bytes),
    ("http.request.uri.query", Type::Bytes),
    ("http.user_agent", Type::Bytes),
    ("http.referer", Type::Bytes),
    ("ip.src", Type::Ip),
    ("cf.bot_management.score", Type::Int),
    ("cf.bot_management.verified_bot", Type::Bool),
    ("cf.verified_bot_category", Type::Bytes),
    ("bot.name", Type::Bytes),
    ("bot.category", Type::Bytes),
    ("bot.verified", Type::Bool),
    ("bot.spoofed", Type::Bool),
];

/// What had to change for wirefilter 0.6 to accept a rule: (rule id, what and why).
pub const ADAPTATIONS: &[(&str, &str)] = &[
    (
        "rule-03",
        "`not starts_with(http.request.uri.path, \"/api/\")` and `... \"/mcp\")` became \
         `not http.request.uri.path matches \"^/api/\"` and `... \"^/mcp\"`: wirefilter 0.6 has \
         no functions (no call syntax, no API to register one); an anchored regex is the same test",
    ),
    (
        "rule-04",
        "`starts_with(http.request.uri.path, \"/checkout\")` became \
         `http.request.uri.path matches \"^/checkout\"`: no functions in wirefilter 0.6",
    ),
    (
        "rule-07",
        "`lower(http.user_agent) contains \"sqlmap\"` became \
         `http.user_agent matches \"(?i)sqlmap\"`: no functions in wirefilter 0.6; its regexes are \
         byte regexes with Unicode off, so `(?i)` folds ASCII case only, as `lower()` does",
    ),
];

/// The expressions given to wirefilter in place of the TSV's, one per entry of [`ADAPTATIONS`].
const REWRITES: &[(&str, &str)] = &[
    (
        "rule-03",
        "cf.bot_management.score ge 2 and cf.bot_management.score lt 30 and \
         not http.request.uri.path matches \"^/api/\" and \
         not http.request.uri.path matches \"^/mcp\"",
    ),
    (
        "rule-04",
        "cf.verified_bot_category eq \"AI Assistant\" and \
         http.request.uri.path matches \"^/checkout\"",
    ),
    ("rule-07", "http.user_agent matches \"(?i)sqlmap\""),
];

/// The values the 25 expressions read, borrowed from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WirefilterRequest<'a> {
    /// `http.request.method`.
    pub method: &'a str,
    /// `http.host`.
    pub host: &'a str,
    /// `http.request.uri.path`.
    pub path: &'a str,
    /// `http.request.uri.query` (without the `?`).
    pub query: &'a str,
    /// `http.user_agent` (empty when absent).
    pub user_agent: &'a str,
    /// `http.referer` (empty when absent).
    pub referer: &'a str,
    /// `ip.src`.
    pub ip: IpAddr,
    /// `cf.bot_management.score` (wirefilter's `Int` is `i32`).
    pub score: i32,
    /// `cf.bot_management.verified_bot`.
    pub verified_bot: bool,
    /// `cf.verified_bot_category` (empty when none).
    pub verified_bot_category: &'a str,
    /// `bot.name` (empty when none).
    pub bot_name: &'a str,
    /// `bot.category` (empty when none).
    pub bot_category: &'a str,
    /// `bot.verified`.
    pub bot_verified: bool,
    /// `bot.spoofed`.
    pub bot_spoofed: bool,
}

/// One rule of the TSV as wirefilter runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `rule-01` .. `rule-25`.
    pub id: &'static str,
    /// `skip`, `block`, `challenge`, `allow` or `log`.
    pub action: &'static str,
    /// The expression as the TSV has it (Cloudflare Rules language).
    pub source: &'static str,
    /// The expression given to wirefilter: `source`, or its rewrite from [`ADAPTATIONS`].
    pub expression: &'static str,
}

impl Rule {
    /// Whether a match ends the scan: every action but `log`.
    pub fn stops(&self) -> bool {
        self.action != "log"
    }
}

/// Reads [`RULES_TSV`] and applies the rewrites of [`ADAPTATIONS`].
pub fn rules() -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for (n, line) in RULES_TSV.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (Some(id), Some(action), Some(source)) = (cols.next(), cols.next(), cols.next()) else {
            return Err(format!(
                "rules line {}: expected id, action, expression",
                n + 1
            ));
        };
        let expression = REWRITES
            .iter()
            .find(|(rid, _)| *rid == id)
            .map_or(source, |(_, expr)| *expr);
        rules.push(Rule {
            id,
            action,
            source,
            expression,
        });
    }
    for (id, _) in REWRITES {
        if !rules.iter().any(|r| r.id == *id) {
            return Err(format!("rewrite for unknown rule {id}"));
        }
    }
    Ok(rules)
}

/// The scheme of [`FIELDS`], built once per process.
pub fn scheme() -> &'static Scheme {
    static SCHEME: OnceLock<Scheme> = OnceLock::new();
    SCHEME.get_or_init(|| {
        let mut scheme = Scheme::with_capacity(FIELDS.len());
        for (name, ty) in FIELDS {
            // The names in FIELDS are distinct (checked by a test).
            let added = scheme.add_field((*name).to_owned(), *ty);
            debug_assert!(added.is_ok(), "duplicate field {name}");
        }
        scheme
    })
}

/// The 25 rules compiled to wirefilter filters, evaluated in order.
///
/// `'s` is both the scheme borrow and the lifetime of the request values (wirefilter 0.6 ties
/// them), so requests must outlive the rules.
pub struct WirefilterRules<'s> {
    rules: Vec<Rule>,
    filters: Vec<Filter<'s>>,
    scheme: &'s Scheme,
}

impl<'s> WirefilterRules<'s> {
    /// Parses and compiles every rule against [`scheme`].
    pub fn new() -> Result<Self, String> {
        let scheme: &'s Scheme = scheme();
        let rules = rules()?;
        let mut filters = Vec::with_capacity(rules.len());
        for rule in &rules {
            let ast = scheme
                .parse(rule.expression)
                .map_err(|e| format!("{}: {e}", rule.id))?;
            filters.push(ast.compile());
        }
        Ok(WirefilterRules {
            rules,
            filters,
            scheme,
        })
    }

    /// The rules, in evaluation order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// An execution context holding every field of `req`: the per-request work a wirefilter
    /// user does before running filters (one allocation, one name lookup per field).
    pub fn context(&self, req: &WirefilterRequest<'s>) -> ExecutionContext<'s> {
        let mut ctx = ExecutionContext::new(self.scheme);
        set(&mut ctx, "http.request.method", req.method);
        set(&mut ctx, "http.host", req.host);
        set(&mut ctx, "http.request.uri.path", req.path);
        set(&mut ctx, "http.request.uri.query", req.query);
        set(&mut ctx, "http.user_agent", req.user_agent);
        set(&mut ctx, "http.referer", req.referer);
        set(&mut ctx, "ip.src", req.ip);
        set(&mut ctx, "cf.bot_management.score", req.score);
        set(&mut ctx, "cf.bot_management.verified_bot", req.verified_bot);
        set(
            &mut ctx,
            "cf.verified_bot_category",
            req.verified_bot_category,
        );
        set(&mut ctx, "bot.name", req.bot_name);
        set(&mut ctx, "bot.category", req.bot_category);
        set(&mut ctx, "bot.verified", req.bot_verified);
        set(&mut ctx, "bot.spoofed", req.bot_spoofed);
        ctx
    }

    /// Index of the first rule that matches and whose action is not `log` (a `log` match is
    /// evaluated but does not stop the scan); the context is built in this call.
    pub fn first_match(&self, req: &WirefilterRequest<'s>) -> Option<usize> {
        self.first_match_in(&self.context(req))
    }

    /// [`first_match`](Self::first_match) on a prebuilt context: the filter execution alone.
    pub fn first_match_in(&self, ctx: &ExecutionContext<'s>) -> Option<usize> {
        self.filters
            .iter()
            .zip(&self.rules)
            .position(|(filter, rule)| run(filter, ctx) && rule.stops())
    }

    /// Whether each rule matches, in order (for checking).
    pub fn matches_all(&self, req: &WirefilterRequest<'s>) -> Vec<bool> {
        self.matches_all_in(&self.context(req))
    }

    /// [`matches_all`](Self::matches_all) on a prebuilt context.
    pub fn matches_all_in(&self, ctx: &ExecutionContext<'s>) -> Vec<bool> {
        self.filters.iter().map(|f| run(f, ctx)).collect()
    }
}

/// Sets one field; the names and value types are those of [`FIELDS`], so it cannot fail.
fn set<'s, V: Into<wirefilter::LhsValue<'s>>>(
    ctx: &mut ExecutionContext<'s>,
    name: &str,
    value: V,
) {
    let result = ctx.set_field_value(name, value);
    debug_assert!(result.is_ok(), "{name}: {result:?}");
}

/// Runs one filter; its only error (a context from another scheme) cannot happen here.
fn run<'s>(filter: &Filter<'s>, ctx: &ExecutionContext<'s>) -> bool {
    matches!(filter.execute(ctx), Ok(true))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                          (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    fn browser() -> WirefilterRequest<'static> {
        WirefilterRequest {
            method: "GET",
            host: "www.example.com",
            path: "/products/123",
            query: "color=blue",
            user_agent: CHROME,
            referer: "",
            ip: "203.0.114.7".parse().unwrap(),
            score: 80,
            verified_bot: false,
            verified_bot_category: "",
            bot_name: "",
            bot_category: "",
            bot_verified: false,
            bot_spoofed: false,
        }
    }

    /// The ids of the rules that match.
    fn matched(rules: &WirefilterRules<'_>, req: &WirefilterRequest<'static>) -> Vec<String> {
        rules
            .matches_all(req)
            .iter()
            .zip(rules.rules())
            .filter(|(m, _)| **m)
            .map(|(_, r)| r.id.to_owned())
            .collect()
    }

    #[test]
    fn all_25_rules_compile_in_order() {
        let rules = WirefilterRules::new().unwrap();
        let ids: Vec<_> = rules.rules().iter().map(|r| r.id).collect();
        let expected: Vec<_> = (1..=25).map(|n| format!("rule-{n:02}")).collect();
        assert_eq!(ids, expected);
        assert_eq!(rules.filters.len(), 25);
    }

    #[test]
    fn adapted_rules_are_exactly_the_ones_wirefilter_rejects_as_written() {
        assert_eq!(ADAPTATIONS.len(), REWRITES.len());
        for (a, r) in ADAPTATIONS.iter().zip(REWRITES) {
            assert_eq!(a.0, r.0);
        }
        for rule in rules().unwrap() {
            let adapted = ADAPTATIONS.iter().any(|(id, _)| *id == rule.id);
            assert_eq!(
                scheme().parse(rule.source).is_err(),
                adapted,
                "{}: {}",
                rule.id,
                rule.source
            );
            assert_eq!(rule.expression != rule.source, adapted, "{}", rule.id);
        }
    }

    #[test]
    fn field_names_are_distinct() {
        for (i, (name, _)) in FIELDS.iter().enumerate() {
            assert!(!FIELDS[..i].iter().any(|(n, _)| n == name), "{name}");
        }
    }

    #[test]
    fn a_plain_browser_matches_nothing() {
        let rules = WirefilterRules::new().unwrap();
        let req = browser();
        assert_eq!(rules.matches_all(&req), vec![false; 25]);
        assert_eq!(rules.first_match(&req), None);
        assert_eq!(rules.first_match_in(&rules.context(&req)), None);
    }

    #[test]
    fn sqlmap_matches_rule_07_in_any_case() {
        let rules = WirefilterRules::new().unwrap();
        for ua in ["sqlmap/1.7", "SQLMap/1.7 (https://sqlmap.org)"] {
            let req = WirefilterRequest {
                user_agent: ua,
                ..browser()
            };
            assert_eq!(matched(&rules, &req), ["rule-07"], "{ua}");
            assert_eq!(rules.first_match(&req), Some(6));
        }
    }

    #[test]
    fn a_verified_googlebot_matches_rule_01() {
        let rules = WirefilterRules::new().unwrap();
        let req = WirefilterRequest {
            user_agent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            ip: "66.249.66.1".parse().unwrap(),
            score: 99,
            verified_bot: true,
            verified_bot_category: "Search Engine Crawler",
            bot_name: "Googlebot",
            bot_category: "Search Engine Crawler",
            bot_verified: true,
            ..browser()
        };
        assert_eq!(matched(&rules, &req), ["rule-01"]);
        assert_eq!(rules.first_match(&req), Some(0));
    }

    #[test]
    fn an_unverified_gptbot_claim_matches_rules_05_and_20() {
        let rules = WirefilterRules::new().unwrap();
        let req = WirefilterRequest {
            user_agent: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; \
                         GPTBot/1.2; +https://openai.com/gptbot",
            bot_name: "GPTBot",
            bot_category: "AI Crawler",
            bot_verified: false,
            ..browser()
        };
        assert_eq!(matched(&rules, &req), ["rule-05", "rule-20"]);
        assert_eq!(rules.first_match(&req), Some(4));
    }

    #[test]
    fn wp_login_matches_rule_06() {
        let rules = WirefilterRules::new().unwrap();
        let req = WirefilterRequest {
            path: "/wp-login.php",
            query: "",
            ..browser()
        };
        assert_eq!(matched(&rules, &req), ["rule-06"]);
        assert_eq!(rules.first_match(&req), Some(5));
    }

    #[test]
    fn an_ipv6_documentation_source_matches_rule_09() {
        let rules = WirefilterRules::new().unwrap();
        let req = WirefilterRequest {
            ip: "2001:db8::1".parse().unwrap(),
            ..browser()
        };
        assert_eq!(matched(&rules, &req), ["rule-09"]);
        assert_eq!(rules.first_match(&req), Some(8));
    }

    #[test]
    fn a_log_match_does_not_stop_the_scan() {
        let rules = WirefilterRules::new().unwrap();
        let robots = WirefilterRequest {
            host: "example.com",
            path: "/robots.txt",
            query: "",
            ..browser()
        };
        assert_eq!(matched(&rules, &robots), ["rule-22"]);
        assert_eq!(rules.first_match(&robots), None);

        let probe = WirefilterRequest {
            method: "PROPFIND",
            ..robots
        };
        assert_eq!(matched(&rules, &probe), ["rule-22", "rule-23"]);
        assert_eq!(rules.first_match(&probe), Some(22));
    }

    #[test]
    fn rewritten_starts_with_keeps_its_meaning() {
        let rules = WirefilterRules::new().unwrap();
        let low = |path| WirefilterRequest {
            path,
            score: 20,
            ..browser()
        };
        assert_eq!(matched(&rules, &low("/home")), ["rule-03"]);
        assert!(matched(&rules, &low("/api/items")).is_empty());
        assert!(matched(&rules, &low("/mcp")).is_empty());
        assert_eq!(matched(&rules, &low("/home/api/")), ["rule-03"]);

        let assistant = |path| WirefilterRequest {
            path,
            verified_bot_category: "AI Assistant",
            ..browser()
        };
        assert_eq!(matched(&rules, &assistant("/checkout/pay")), ["rule-04"]);
        assert!(matched(&rules, &assistant("/cart/checkout")).is_empty());
    }
}
