#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Policies: loading, ordering, actions, presets, the trace, and every load error's position.

use std::time::Duration;

use bot_policy::policy::{LoadOptions, Price, RuleOutcome};
use bot_policy::{BotFacts, ManualClock, Policy, RequestFacts, Verdict};

fn load(src: &str) -> Policy {
    Policy::from_toml_str(src).unwrap_or_else(|e| panic!("{}", e.render("policy.toml")))
}

fn errors(src: &str) -> String {
    match Policy::from_toml_str(src) {
        Ok(_) => panic!("loaded:\n{src}"),
        Err(e) => e.render("policy.toml"),
    }
}

fn request<'a>(path: &'a str, map: &'a http::HeaderMap, bot: BotFacts<'a>) -> RequestFacts<'a> {
    RequestFacts::new("GET", path)
        .with_host("shop.example")
        .with_headers(map)
        .with_client_ip("203.0.113.7".parse().unwrap())
        .with_bot(bot)
}

fn ua(value: &str) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    map.insert("user-agent", value.parse().unwrap());
    map
}

const ORDERED: &str = r#"
[[rules]]
id = "log-everything"
expression = "true"
action = "log"

[[rules]]
id = "trial-block"
expression = 'http.request.uri.path eq "/trial"'
action = "block"
mode = "log"

[[rules]]
id = "admin"
expression = 'starts_with(http.request.uri.path, "/admin")'
action = "block"

[[rules]]
id = "admin-again"
expression = 'starts_with(http.request.uri.path, "/admin")'
action = "challenge"

[[rules]]
id = "off"
expression = "true"
action = "block"
enabled = false
"#;

#[test]
fn first_terminating_rule_wins_and_log_rules_do_not_terminate() {
    let policy = load(ORDERED);
    let map = ua("Mozilla/5.0");
    let decision = policy.evaluate_traced(&request("/admin/users", &map, BotFacts::default()));
    assert_eq!(decision.verdict(), &Verdict::Block);
    assert_eq!(decision.rule(), Some("admin"));
    assert_eq!(decision.status(), Some(403));
    let outcomes: Vec<(&str, RuleOutcome)> = decision
        .trace()
        .iter()
        .map(|t| (t.rule, t.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("log-everything", RuleOutcome::Logged),
            ("trial-block", RuleOutcome::NoMatch),
            ("admin", RuleOutcome::Matched),
        ]
    );

    // A rule in log mode records its match but does not act; the default then applies.
    let decision = policy.evaluate_traced(&request("/trial", &map, BotFacts::default()));
    assert_eq!(decision.verdict(), &Verdict::Allow);
    assert_eq!(decision.rule(), None);
    assert_eq!(decision.trace()[1].outcome, RuleOutcome::Logged);
    assert_eq!(
        decision.trace().last().map(|t| t.outcome),
        Some(RuleOutcome::Disabled)
    );

    // The untraced decision is the same, without a trace; hit counters count matches.
    let decision = policy.evaluate(&request("/admin", &map, BotFacts::default()));
    assert_eq!(decision.rule(), Some("admin"));
    assert!(decision.trace().is_empty());
    let hits: Vec<u64> = policy.rules().iter().map(|r| r.hits()).collect();
    assert_eq!(hits, vec![3, 1, 2, 0, 0]);
}

#[test]
fn the_default_is_configurable() {
    let policy = load(
        r#"
default = "challenge"
[[rules]]
id = "home"
expression = 'http.request.uri.path eq "/"'
action = "allow"
"#,
    );
    let map = ua("x");
    assert_eq!(
        policy
            .evaluate(&request("/", &map, BotFacts::default()))
            .verdict(),
        &Verdict::Allow
    );
    let decision = policy.evaluate(&request("/other", &map, BotFacts::default()));
    assert_eq!(decision.verdict(), &Verdict::Challenge);
    assert_eq!(decision.rule(), None);
}

#[test]
fn skip_the_rest_or_named_rules() {
    let policy = load(
        r#"
[[rules]]
id = "skip-verified"
expression = "cf.bot_management.verified_bot"
action = "skip"
skip = ["low-score"]

[[rules]]
id = "skip-health"
expression = 'http.request.uri.path eq "/health"'
action = "skip"

[[rules]]
id = "low-score"
expression = "cf.bot_management.score lt 30"
action = "block"

[[rules]]
id = "crawlers"
expression = 'bot.category eq "AI Crawler"'
action = "charge"
price = "USD 0.01"
"#,
    );
    let map = ua("GPTBot/1.2");
    let verified = BotFacts {
        name: "GPTBot",
        category: "AI Crawler",
        claimed: true,
        verified: true,
        score: 5,
        ..BotFacts::default()
    };
    let decision = policy.evaluate_traced(&request("/a", &map, verified));
    assert_eq!(
        decision.verdict(),
        &Verdict::Charge("USD 0.01".parse::<Price>().unwrap())
    );
    assert_eq!(decision.status(), Some(402));
    assert_eq!(decision.trace()[2].outcome, RuleOutcome::Skipped);

    let unverified = BotFacts {
        verified: false,
        ..verified
    };
    assert_eq!(
        policy.evaluate(&request("/a", &map, unverified)).rule(),
        Some("low-score")
    );
    let decision = policy.evaluate(&request("/health", &map, unverified));
    assert_eq!(decision.verdict(), &Verdict::Skip);
    assert_eq!(decision.rule(), Some("skip-health"));
    assert_eq!(decision.status(), None);
}

#[test]
fn rate_limits_count_per_key_with_an_injected_clock() {
    let clock = ManualClock::new();
    let policy = Policy::from_toml_str_with(
        r#"
[[rules]]
id = "api-limit"
expression = 'starts_with(http.request.uri.path, "/api/")'
action = "rate_limit"
requests = 2
period = "10s"
key = ["ip.src", "http.user_agent"]
"#,
        &LoadOptions::new().clock(clock.clone()),
    )
    .unwrap();
    let map = ua("client");
    let facts = request("/api/x", &map, BotFacts::default());
    assert_eq!(policy.evaluate(&facts).verdict(), &Verdict::Allow);
    let decision = policy.evaluate_traced(&facts);
    assert_eq!(decision.trace()[0].outcome, RuleOutcome::WithinLimit);
    let decision = policy.evaluate(&facts);
    assert_eq!(
        decision.verdict(),
        &Verdict::RateLimited {
            retry_after: Duration::from_secs(5)
        }
    );
    assert_eq!(decision.status(), Some(429));
    // Another user agent is another key; a dry run touches nothing.
    let other = ua("other");
    assert_eq!(
        policy
            .evaluate(&request("/api/x", &other, BotFacts::default()))
            .verdict(),
        &Verdict::Allow
    );
    assert_eq!(policy.evaluate_dry(&facts).verdict(), &Verdict::Allow);
    clock.advance(Duration::from_secs(5));
    assert_eq!(policy.evaluate(&facts).verdict(), &Verdict::Allow);
}

#[test]
fn lists_inline_and_from_files() {
    let dir = std::env::temp_dir().join(format!("bot-policy-lists-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("agents.txt"), "# scanners\nsqlmap/1.7\nnikto\n").unwrap();
    std::fs::write(
        dir.join("policy.toml"),
        r#"
[lists.office]
kind = "ip"
items = ["203.0.113.0/24", "2001:db8::/32"]

[lists.asns]
kind = "integer"
items = [13335, "16509..16510"]

[lists.scanners]
kind = "string"
file = "agents.txt"

[[rules]]
id = "office"
expression = "ip.src in $office and not http.user_agent in $scanners"
action = "allow"

[[rules]]
id = "scanners"
expression = "http.user_agent in $scanners or ip.src.asnum in $asns"
action = "block"
"#,
    )
    .unwrap();
    let policy = Policy::load(dir.join("policy.toml"))
        .unwrap_or_else(|e| panic!("{}", e.render("policy.toml")));
    let map = ua("sqlmap/1.7");
    assert_eq!(
        policy
            .evaluate(&request("/", &map, BotFacts::default()))
            .rule(),
        Some("scanners")
    );
    let map = ua("Mozilla/5.0");
    assert_eq!(
        policy
            .evaluate(&request("/", &map, BotFacts::default()))
            .rule(),
        Some("office")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn presets_baseline_and_mcp_passthrough() {
    let policy = load(r#"include = ["mcp-passthrough", "baseline"]"#);
    let ids: Vec<&str> = policy.rules().iter().map(|r| r.id()).collect();
    assert_eq!(ids[0], "mcp-passthrough");
    assert_eq!(ids.len(), 6);
    assert!(policy.rules().iter().all(|r| r.preset().is_some()));

    let map = ua("x");
    let bot = |score: u8| BotFacts {
        score,
        ..BotFacts::default()
    };
    assert_eq!(
        policy.evaluate(&request("/", &map, bot(1))).verdict(),
        &Verdict::Block
    );
    assert_eq!(
        policy.evaluate(&request("/", &map, bot(15))).verdict(),
        &Verdict::Challenge
    );
    assert_eq!(
        policy
            .evaluate(&request("/api/items", &map, bot(15)))
            .verdict(),
        &Verdict::Allow
    );
    assert_eq!(
        policy.evaluate(&request("/", &map, bot(80))).verdict(),
        &Verdict::Allow
    );
    // MCP and OAuth paths skip everything, even score 1.
    for path in [
        "/mcp",
        "/mcp/messages",
        "/.well-known/oauth-protected-resource/mcp",
        "/oauth/token",
    ] {
        let decision = policy.evaluate(&request(path, &map, bot(1)));
        assert_eq!(decision.verdict(), &Verdict::Skip, "{path}");
        assert_eq!(decision.rule(), Some("mcp-passthrough"));
    }
    // Verified bots skip the score rules; verified assistants reach checkout; unverified
    // training crawlers are blocked.
    let assistant = BotFacts {
        name: "ChatGPT-User",
        category: "AI Assistant",
        claimed: true,
        verified: true,
        score: 5,
        ..BotFacts::default()
    };
    let decision = policy.evaluate(&request("/checkout/pay", &map, assistant));
    assert_eq!(
        decision.rule(),
        Some("baseline-ai-assistants-reach-checkout")
    );
    let crawler = BotFacts {
        name: "GPTBot",
        category: "AI Crawler",
        claimed: true,
        verified: false,
        score: 50,
        ..BotFacts::default()
    };
    assert_eq!(
        policy.evaluate(&request("/", &map, crawler)).rule(),
        Some("baseline-block-unverified-training-crawlers")
    );
    let verified_crawler = BotFacts {
        verified: true,
        score: 5,
        ..crawler
    };
    assert_eq!(
        policy
            .evaluate(&request("/", &map, verified_crawler))
            .verdict(),
        &Verdict::Allow
    );

    // `disable` turns a preset rule off.
    let policy = load("include = [\"baseline\"]\ndisable = [\"baseline-challenge-likely-bots\"]");
    assert_eq!(
        policy.evaluate(&request("/", &map, bot(15))).verdict(),
        &Verdict::Allow
    );
}

#[test]
fn load_errors_point_at_the_line_and_column() {
    // A bad expression in a multi-line literal string: the caret is on the expression's line.
    let rendered = errors(
        "[[rules]]\nid = \"x\"\nexpression = '''\nhttp.host eq \"a\"\n  and http.user_agnet contains \"b\"\n'''\naction = \"block\"\n",
    );
    assert!(
        rendered.starts_with("policy.toml:5:7: error: unknown field `http.user_agnet`"),
        "{rendered}"
    );
    assert!(rendered.contains("[rule x]"), "{rendered}");
    assert!(
        rendered.contains("    and http.user_agnet contains \"b\"\n        ^^^^^^^^^^^^^^^"),
        "{rendered}"
    );

    // In a basic string with escapes, the column still lands on the problem.
    let rendered = errors(
        "[[rules]]\nid = \"x\"\nexpression = \"http.host eq \\\"a\\\" and ip.src eq 1.2.3\"\naction = \"block\"\n",
    );
    assert!(
        rendered.starts_with("policy.toml:3:48: error:"),
        "{rendered}"
    );

    // A non-ASCII `\u` escape before the problem: columns count characters of the file.
    let rendered = errors(
        "[[rules]]\nid = \"x\"\nexpression = \"http.host eq \\\"\\u00e9\\\" and nope\"\naction = \"block\"\n",
    );
    assert!(
        rendered.starts_with("policy.toml:3:43: error:"),
        "{rendered}"
    );

    let cases: &[(&str, &str)] = &[
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"deny\"\n",
            "policy.toml:4:10: error: unknown action `deny`",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"rate-limit\"\n",
            "did you mean `rate_limit`",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"block\"\n[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"block\"\n",
            "policy.toml:6:6: error: duplicate rule id `a` (first defined on line 2)",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"block\"\nextra = 1\n",
            "policy.toml:5:1: error: unknown field `extra`",
        ),
        (
            "[[rules]]\nid = \"a\"\naction = \"block\"\n",
            "missing field `expression`",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"charge\"\n",
            "needs a price",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"charge\"\nprice = \"1 USD\"\n",
            "policy.toml:5:9: error: invalid price",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"block\"\nprice = \"USD 1\"\n",
            "`price` does not apply to action `block`",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"rate_limit\"\nrequests = 0\nperiod = \"1m\"\n",
            "`requests` is a positive",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"rate_limit\"\nrequests = 5\nperiod = \"1 fortnight\"\n",
            "`period` is",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"rate_limit\"\nrequests = 5\nperiod = 60\nkey = [\"http.request.headers\"]\n",
            "not a field with a single value",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"skip\"\nskip = [\"nope\"]\n",
            "unknown rule `nope`",
        ),
        (
            "[[rules]]\nid = \"b\"\nexpression = \"true\"\naction = \"block\"\n[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"skip\"\nskip = [\"b\"]\n",
            "only later rules can be skipped",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = \"true\"\naction = \"block\"\nmode = \"dry\"\n",
            "unknown mode `dry`",
        ),
        (
            "include = [\"basline\"]\n",
            "policy.toml:1:12: error: unknown preset `basline`",
        ),
        ("default = \"deny\"\n", "unknown default `deny`"),
        ("version = 2\n", "unsupported policy version"),
        ("disable = [\"ghost\"]\n", "unknown rule `ghost`"),
        (
            "[lists.x]\nkind = \"ip\"\nitems = [\"192.0.2.0/24\", \"bad\"]\n",
            "policy.toml:3:26: error: list `x`, item 1",
        ),
        (
            "[lists.x]\nkind = \"ipv4\"\nitems = []\n",
            "unknown list kind `ipv4`",
        ),
        (
            "[lists.x]\nkind = \"ip\"\nfile = \"/nonexistent/list.txt\"\n",
            "cannot read /nonexistent/list.txt",
        ),
        (
            "[lists.Bad]\nkind = \"ip\"\nitems = []\n",
            "lowercase letters",
        ),
        (
            "[[rules]]\nid = \"bad id!\"\nexpression = \"true\"\naction = \"block\"\n",
            "a rule id is",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = 'http.host matches \"(\"'\naction = \"block\"\n",
            "invalid regular expression",
        ),
        (
            "[[rules]]\nid = \"a\"\nexpression = 'ip.src in {10.0.0.0/33}'\naction = \"block\"\n",
            "not a CIDR",
        ),
        ("this is not toml", "policy.toml:1:"),
    ];
    for (src, want) in cases {
        let rendered = errors(src);
        assert!(rendered.contains(want), "want `{want}` in:\n{rendered}");
    }

    // Every error is reported, not just the first.
    let err =
        Policy::from_toml_str("[[rules]]\nid = \"a\"\nexpression = \"nope\"\naction = \"deny\"\n")
            .unwrap_err();
    assert_eq!(err.diagnostics().len(), 2);
}

#[test]
fn huge_and_deep_policies_are_refused_cleanly() {
    let deep = format!(
        "[[rules]]\nid = \"a\"\nexpression = '{}true{}'\naction = \"block\"\n",
        "(".repeat(200),
        ")".repeat(200)
    );
    assert!(errors(&deep).contains("nested more than"));
    let long = format!(
        "[[rules]]\nid = \"a\"\nexpression = 'http.host eq \"{}\"'\naction = \"block\"\n",
        "a".repeat(10_000)
    );
    assert!(errors(&long).contains("longer than 4096 bytes"));
    let regex = "[[rules]]\nid = \"a\"\nexpression = 'http.host matches \"(a{1000}){1000}\"'\naction = \"block\"\n";
    assert!(errors(regex).contains("too large"));
}
