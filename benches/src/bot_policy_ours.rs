//! Our `bot-policy` on the shared rules of `benches/data/bot-policy-rules.tsv` (the ones
//! [`wirefilter_peer`](crate::wirefilter_peer) runs), and the requests both engines are fed.
//!
//! Two policies, written as TOML text from the TSV (expressions as TOML literal strings
//! `'''…'''`, exactly as the TSV has them: our engine has `starts_with` and `lower`, so none of
//! wirefilter's rewrites is needed):
//!
//! - [`OursPolicies::baseline_plus_20`]: `include = ["baseline"]` and rules 06..25, the issue's
//!   "baseline preset plus 20 typical rules". Rules 01..05 of the TSV are the baseline's logic,
//!   but the preset itself is what a user includes, so that is what is measured (its first rule
//!   skips two named rules rather than the rest; its `/mcp` test is `eq "/mcp"` or
//!   `starts_with "/mcp/"`, and assistants may reach `/cart` as well as `/checkout`).
//! - [`OursPolicies::all_25`]: all 25 TSV lines with their actions (`skip` as `skip = "rest"`),
//!   the like-for-like comparison with wirefilter's 25 filters: its deciding rule is wirefilter's
//!   first match (a `skip` match ends the scan in both; `log` matches do not).
//!
//! A request is built once as an `http::Request` (method, target, `Host`, `User-Agent` and
//! `Referer` fields) and turned into [`RequestFacts`] per evaluation, as a layer does per request.

use std::net::{IpAddr, Ipv4Addr};

use bot_policy::{BotFacts, Decision, Policy, RequestFacts};

use crate::wirefilter_peer::{Rule, WirefilterRequest, rules};

/// The first TSV rule that is not part of the baseline's logic (`rule-06`).
const FIRST_NON_BASELINE: usize = 5;

/// One request of the comparison, as plain values both engines are fed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixture {
    /// A short name, used in case names.
    pub name: &'static str,
    /// The method.
    pub method: &'static str,
    /// The `Host` field.
    pub host: &'static str,
    /// The path.
    pub path: &'static str,
    /// The query, without `?` (empty for none).
    pub query: &'static str,
    /// The `User-Agent` field (empty: none sent).
    pub user_agent: &'static str,
    /// The `Referer` field (empty: none sent).
    pub referer: &'static str,
    /// The client address.
    pub ip: IpAddr,
    /// The classification: `bot.*`, `cf.bot_management.*`, `cf.verified_bot_category`.
    pub bot: BotFacts<'static>,
}

/// Chrome 124's `User-Agent`.
pub const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                          (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

/// A plain browser GET of `/products/123?color=blue` from 203.0.114.7, score 80: no rule
/// matches, so every rule is evaluated (the worst case).
pub fn browser() -> Fixture {
    Fixture {
        name: "browser",
        method: "GET",
        host: "www.example.com",
        path: "/products/123",
        query: "color=blue",
        user_agent: CHROME,
        referer: "",
        ip: IpAddr::V4(Ipv4Addr::new(203, 0, 114, 7)),
        bot: BotFacts {
            score: 80,
            ..BotFacts::default()
        },
    }
}

/// The browser's request with an unverified GPTBot claim: `rule-05` (and `rule-20`) match.
pub fn gptbot() -> Fixture {
    Fixture {
        name: "gptbot",
        user_agent: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; \
                     GPTBot/1.2; +https://openai.com/gptbot",
        bot: BotFacts {
            name: "GPTBot",
            operator: "OpenAI",
            category: "AI Crawler",
            claimed: true,
            score: 80,
            ..BotFacts::default()
        },
        ..browser()
    }
}

/// A verified Googlebot: `rule-01` (skip) matches.
pub fn googlebot() -> Fixture {
    Fixture {
        name: "googlebot",
        user_agent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ip: IpAddr::V4(Ipv4Addr::new(66, 249, 66, 1)),
        bot: BotFacts {
            name: "Googlebot",
            operator: "Google",
            category: "Search Engine Crawler",
            claimed: true,
            verified: true,
            score: 99,
            ..BotFacts::default()
        },
        ..browser()
    }
}

/// sqlmap: `rule-07` matches.
pub fn sqlmap() -> Fixture {
    Fixture {
        name: "sqlmap",
        user_agent: "sqlmap/1.7",
        ..browser()
    }
}

impl Fixture {
    /// The values wirefilter's context is filled with, derived from the same classification
    /// as ours (`cf.bot_management.verified_bot` is `bot.verified`, and
    /// `cf.verified_bot_category` is the category of a verified bot only).
    pub fn wirefilter(&self) -> WirefilterRequest<'static> {
        WirefilterRequest {
            method: self.method,
            host: self.host,
            path: self.path,
            query: self.query,
            user_agent: self.user_agent,
            referer: self.referer,
            ip: self.ip,
            score: i32::from(self.bot.score),
            verified_bot: self.bot.verified,
            verified_bot_category: self.bot.verified_category(),
            bot_name: self.bot.name,
            bot_category: self.bot.category,
            bot_verified: self.bot.verified,
            bot_spoofed: self.bot.spoofed,
        }
    }

    /// The request as our layer receives it, built once.
    pub fn ours(&self) -> Result<OurRequest, String> {
        let target = if self.query.is_empty() {
            self.path.to_owned()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let mut builder = http::Request::builder()
            .method(self.method)
            .uri(target)
            .header(http::header::HOST, self.host);
        if !self.user_agent.is_empty() {
            builder = builder.header(http::header::USER_AGENT, self.user_agent);
        }
        if !self.referer.is_empty() {
            builder = builder.header(http::header::REFERER, self.referer);
        }
        let request = builder
            .body(())
            .map_err(|e| format!("fixture {}: {e}", self.name))?;
        Ok(OurRequest {
            request,
            ip: self.ip,
            bot: self.bot,
        })
    }
}

/// A request for our engine: the `http::Request` and what the layer knows besides it (the
/// client address from the connection, the classification).
#[derive(Debug)]
pub struct OurRequest {
    request: http::Request<()>,
    ip: IpAddr,
    bot: BotFacts<'static>,
}

impl OurRequest {
    /// The facts the rules see: the per-request work of a layer before evaluating.
    #[inline]
    pub fn facts(&self) -> RequestFacts<'_> {
        RequestFacts::from_http(&self.request)
            .with_client_ip(self.ip)
            .with_bot(self.bot)
    }
}

/// The two policies, compiled from the TSV.
#[derive(Debug)]
pub struct OursPolicies {
    /// `include = ["baseline"]` and TSV rules 06..25.
    pub baseline_plus_20: Policy,
    /// All 25 TSV rules, `skip` as `skip = "rest"`.
    pub all_25: Policy,
}

impl OursPolicies {
    /// Reads the TSV, writes both policies and loads them.
    pub fn new() -> Result<Self, String> {
        let rules = rules()?;
        let load = |name: &str, text: String| {
            Policy::from_toml_str(&text).map_err(|e| format!("{name}:\n{}", e.render(name)))
        };
        Ok(OursPolicies {
            baseline_plus_20: load("baseline+20", baseline_plus_20_toml(&rules)?)?,
            all_25: load("25-rules", all_25_toml(&rules)?)?,
        })
    }
}

/// The id of the rule that decided, if one did (a `skip` of the rest counts; `log` rules never
/// decide): what wirefilter's `first_match` computes.
pub fn first_terminating<'p>(decision: &Decision<'p>) -> Option<&'p str> {
    decision.rule()
}

/// `include = ["baseline"]`, then rules 06..25 of the TSV.
pub fn baseline_plus_20_toml(rules: &[Rule]) -> Result<String, String> {
    let rest = rules.get(FIRST_NON_BASELINE..).unwrap_or_default();
    if rest.len() != 20 {
        return Err(format!(
            "expected 20 rules after the baseline's 5, found {}",
            rest.len()
        ));
    }
    let mut toml = String::from("include = [\"baseline\"]\n");
    for rule in rest {
        push_rule(&mut toml, rule)?;
    }
    Ok(toml)
}

/// Every rule of the TSV, in order.
pub fn all_25_toml(rules: &[Rule]) -> Result<String, String> {
    if rules.len() != 25 {
        return Err(format!("expected 25 rules, found {}", rules.len()));
    }
    let mut toml = String::new();
    for rule in rules {
        push_rule(&mut toml, rule)?;
    }
    Ok(toml)
}

/// Appends one `[[rules]]` table: the TSV's id, action and expression (as written, not
/// wirefilter's rewrite).
fn push_rule(toml: &mut String, rule: &Rule) -> Result<(), String> {
    let expression = rule.source;
    if expression.contains("'''") || expression.ends_with('\'') || expression.contains('\n') {
        return Err(format!(
            "{}: expression does not fit a TOML literal string",
            rule.id
        ));
    }
    let valid_id = rule
        .id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let known_action = ["allow", "block", "challenge", "log", "skip"].contains(&rule.action);
    if !valid_id || !known_action {
        return Err(format!(
            "{}: unexpected id or action `{}`",
            rule.id, rule.action
        ));
    }
    toml.push_str(&format!(
        "\n[[rules]]\nid = \"{}\"\nexpression = '''{expression}'''\naction = \"{}\"\n",
        rule.id, rule.action
    ));
    if rule.action == "skip" {
        toml.push_str("skip = \"rest\"\n");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::wirefilter_peer::WirefilterRules;

    /// The four benchmark requests, then variants that make each kind of rule match.
    fn all_fixtures() -> Vec<Fixture> {
        let b = browser();
        let low = |name, path| Fixture {
            name,
            path,
            bot: BotFacts { score: 20, ..b.bot },
            ..b
        };
        let assistant = |name, path| Fixture {
            name,
            path,
            bot: BotFacts {
                name: "ChatGPT-User",
                category: "AI Assistant",
                claimed: true,
                verified: true,
                ..b.bot
            },
            ..b
        };
        vec![
            // Percent-encoded, as a client must send it: `rule-15` sees `%20`, in both engines.
            Fixture {
                query: "id=1%20union%20select%202",
                ..b
            },
            browser(),
            gptbot(),
            googlebot(),
            sqlmap(),
            Fixture {
                user_agent: "SQLMap/1.7 (https://sqlmap.org)",
                ..b
            },
            Fixture {
                path: "/wp-login.php",
                query: "",
                ..b
            },
            Fixture {
                user_agent: "python-requests/2.31",
                ..b
            },
            Fixture {
                user_agent: "python-requests/2.31",
                path: "/api/v1",
                ..b
            },
            Fixture {
                ip: "2001:db8::1".parse().unwrap(),
                ..b
            },
            Fixture {
                ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9)),
                ..b
            },
            Fixture {
                method: "DELETE",
                ..b
            },
            Fixture {
                method: "DELETE",
                path: "/api/items/1",
                ..b
            },
            Fixture {
                host: "admin.example.com",
                ..b
            },
            Fixture {
                host: "admin.example.com",
                ip: IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
                ..b
            },
            Fixture {
                path: "/admin/users",
                ..b
            },
            Fixture {
                path: "/public/admin/",
                ..b
            },
            Fixture {
                user_agent: "",
                ..b
            },
            Fixture {
                referer: "https://spam-domain.example/x",
                ..b
            },
            Fixture {
                query: "id=1 union select 2",
                ..b
            },
            Fixture {
                host: "example.com",
                path: "/robots.txt",
                query: "",
                ..b
            },
            Fixture {
                host: "example.com",
                path: "/robots.txt",
                method: "PROPFIND",
                ..b
            },
            Fixture {
                method: "PROPFIND",
                ..b
            },
            Fixture {
                bot: BotFacts { score: 5, ..b.bot },
                path: "/login",
                ..b
            },
            Fixture {
                bot: BotFacts { score: 1, ..b.bot },
                ..b
            },
            Fixture {
                user_agent: "curl/8.5.0",
                ..b
            },
            Fixture {
                user_agent: "Wget/1.21",
                ..b
            },
            Fixture {
                ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 50)),
                ..b
            },
            Fixture {
                ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 50)),
                bot: BotFacts { score: 40, ..b.bot },
                ..b
            },
            Fixture {
                bot: BotFacts {
                    name: "CCBot",
                    category: "AI Crawler",
                    claimed: true,
                    verified: true,
                    ..b.bot
                },
                ..b
            },
            Fixture {
                bot: BotFacts {
                    name: "Bytespider",
                    claimed: true,
                    ..b.bot
                },
                ..b
            },
            Fixture {
                path: "/cart/items",
                bot: BotFacts { score: 25, ..b.bot },
                ..b
            },
            Fixture {
                path: "/xmlrpc.php",
                ..b
            },
            Fixture { path: "/.env", ..b },
            Fixture {
                bot: BotFacts {
                    spoofed: true,
                    name: "Googlebot",
                    claimed: true,
                    ..b.bot
                },
                ..b
            },
            Fixture {
                path: "/search",
                bot: BotFacts {
                    name: "PerplexityBot",
                    category: "AI Search",
                    claimed: true,
                    verified: true,
                    ..b.bot
                },
                ..b
            },
            low("low-home", "/home"),
            low("low-api", "/api/items"),
            low("low-mcp", "/mcp"),
            low("low-home-api", "/home/api/"),
            assistant("assistant-checkout", "/checkout/pay"),
            assistant("assistant-cart", "/cart/checkout"),
        ]
    }

    #[test]
    fn both_policies_load_with_the_expected_rules() {
        let ours = OursPolicies::new().unwrap();
        let ids: Vec<_> = ours.all_25.rules().iter().map(|r| r.id()).collect();
        let expected: Vec<_> = (1..=25).map(|n| format!("rule-{n:02}")).collect();
        assert_eq!(ids, expected);

        let rules = ours.baseline_plus_20.rules();
        assert_eq!(rules.len(), 25);
        assert!(rules[..5].iter().all(|r| r.preset() == Some("baseline")));
        let own: Vec<_> = rules[5..].iter().map(|r| r.id()).collect();
        assert_eq!(own, expected[5..]);
        for rule in &rules[5..] {
            let tsv = &ours.all_25.rules()[rule.id()[5..].parse::<usize>().unwrap() - 1];
            assert_eq!(rule.expression().source(), tsv.expression().source());
            assert_eq!(rule.action().name(), tsv.action().name());
        }
    }

    #[test]
    fn ours_decides_as_wirefilter_on_every_fixture() {
        let ours = OursPolicies::new().unwrap();
        let wf = WirefilterRules::new().unwrap();
        let mut ever_matched = [false; 25];
        for fixture in all_fixtures() {
            let wreq = fixture.wirefilter();
            let theirs = wf.matches_all(&wreq);
            for (ever, now) in ever_matched.iter_mut().zip(&theirs) {
                *ever |= *now;
            }
            let expected = wf.first_match(&wreq).map(|i| wf.rules()[i].id);
            let check = |facts: &RequestFacts<'_>, how: &str| {
                // Rule by rule: the same 25 booleans.
                let mine: Vec<bool> = ours
                    .all_25
                    .rules()
                    .iter()
                    .map(|r| r.expression().matches(facts))
                    .collect();
                assert_eq!(mine, theirs, "{how}: {fixture:?}");
                // The deciding rule is wirefilter's first match.
                let decision = ours.all_25.evaluate(facts);
                assert_eq!(first_terminating(&decision), expected, "{how}: {fixture:?}");
            };

            // As the benchmark builds them: from an `http::Request` (which refuses a space in
            // the query, so one fixture has no such request).
            if !fixture.query.contains(' ') {
                let request = fixture.ours().unwrap();
                check(&request.facts(), "from_http");
            }
            // And directly from the values.
            let mut headers = http::HeaderMap::new();
            for (name, value) in [
                (http::header::USER_AGENT, fixture.user_agent),
                (http::header::REFERER, fixture.referer),
            ] {
                if !value.is_empty() {
                    headers.insert(name, value.parse().unwrap());
                }
            }
            let target = if fixture.query.is_empty() {
                fixture.path.to_owned()
            } else {
                format!("{}?{}", fixture.path, fixture.query)
            };
            let facts = RequestFacts::new(fixture.method, &target)
                .with_host(fixture.host)
                .with_headers(&headers)
                .with_client_ip(fixture.ip)
                .with_bot(fixture.bot);
            check(&facts, "direct");
        }
        let never: Vec<_> = (1..=25).filter(|n| !ever_matched[n - 1]).collect();
        assert!(never.is_empty(), "no fixture matches rules {never:?}");
    }

    #[test]
    fn the_benchmark_requests_decide_as_documented() {
        let ours = OursPolicies::new().unwrap();
        let wf = WirefilterRules::new().unwrap();
        let cases = [
            (browser(), None, None),
            (
                gptbot(),
                Some("rule-05"),
                Some("baseline-block-unverified-training-crawlers"),
            ),
            // The baseline's first rule skips two named rules only: nothing else matches.
            (googlebot(), Some("rule-01"), None),
            (sqlmap(), Some("rule-07"), Some("rule-07")),
        ];
        for (fixture, like_for_like, baseline) in cases {
            let request = fixture.ours().unwrap();
            let facts = request.facts();
            assert_eq!(
                ours.all_25.evaluate(&facts).rule(),
                like_for_like,
                "{}",
                fixture.name
            );
            assert_eq!(
                wf.first_match(&fixture.wirefilter())
                    .map(|i| wf.rules()[i].id),
                like_for_like,
                "{}",
                fixture.name
            );
            let decision = ours.baseline_plus_20.evaluate_traced(&facts);
            assert_eq!(decision.rule(), baseline, "{}", fixture.name);
            if fixture.name == "browser" {
                assert_eq!(decision.trace().len(), 25, "every rule is evaluated");
            }
        }
    }

    #[test]
    fn facts_come_from_the_http_request() {
        let request = gptbot().ours().unwrap();
        let facts = request.facts();
        assert_eq!(facts.method(), "GET");
        assert_eq!(facts.host(), "www.example.com");
        assert_eq!(facts.path(), "/products/123");
        assert_eq!(facts.query(), "color=blue");
        assert_eq!(facts.user_agent(), gptbot().user_agent.as_bytes());
        assert_eq!(facts.client_ip(), Some(gptbot().ip));
        assert_eq!(facts.bot().name, "GPTBot");
    }
}
