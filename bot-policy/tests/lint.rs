#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The linter: each known mistake is reported on the right rule with a fix, and the presets,
//! used as intended, are clean.

use bot_policy::Policy;
use bot_policy::policy::Severity;

fn lint(src: &str) -> Vec<String> {
    let policy =
        Policy::from_toml_str(src).unwrap_or_else(|e| panic!("{}", e.render("policy.toml")));
    policy
        .lint()
        .iter()
        .map(|d| {
            assert_eq!(d.severity, Severity::Warning);
            assert!(d.fix.is_some() || d.message.contains("never"), "{d}");
            d.render("policy.toml")
        })
        .collect()
}

fn assert_warns(src: &str, rule: &str, needle: &str) {
    let warnings = lint(src);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("[rule {rule}]")) && w.contains(needle)),
        "want `{needle}` on {rule}:\n{}",
        warnings.join("\n")
    );
}

#[test]
fn the_presets_used_as_intended_are_clean() {
    let warnings = lint(r#"include = ["mcp-passthrough", "baseline"]"#);
    assert!(warnings.is_empty(), "{}", warnings.join("\n"));
}

#[test]
fn baseline_without_mcp_passthrough_challenges_mcp_clients() {
    assert_warns(
        r#"include = ["baseline"]"#,
        "baseline-challenge-likely-bots",
        "challenges `GET /.well-known/oauth-protected-resource/mcp`",
    );
    // And the warning points at the include line.
    let warnings = lint("\ninclude = [\"baseline\"]");
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("policy.toml:2:12: warning:")),
        "{warnings:?}"
    );
}

#[test]
fn verified_skip_after_score_rules() {
    assert_warns(
        r#"
[[rules]]
id = "challenge-low"
expression = "cf.bot_management.score lt 30"
action = "challenge"

[[rules]]
id = "skip-verified"
expression = "cf.bot_management.verified_bot"
action = "skip"
"#,
        "skip-verified",
        "move `skip-verified` before `challenge-low`",
    );
}

#[test]
fn allow_on_the_user_agent_alone() {
    assert_warns(
        r#"
[[rules]]
id = "let-googlebot-in"
expression = 'http.user_agent contains "Googlebot"'
action = "allow"
"#,
        "let-googlebot-in",
        "trusts the user agent alone",
    );
    // Verified: no warning.
    let warnings = lint(
        r#"
[[rules]]
id = "let-googlebot-in"
expression = 'http.user_agent contains "Googlebot" and cf.bot_management.verified_bot'
action = "allow"
"#,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn blanket_ai_blocks_catch_assistants_and_search() {
    assert_warns(
        r#"
[[rules]]
id = "no-ai"
expression = 'cf.verified_bot_category in {"AI Crawler" "AI Assistant" "AI Search"}'
action = "block"
"#,
        "no-ai",
        "AI Assistant",
    );
    let warnings = lint(
        r#"
[[rules]]
id = "no-training"
expression = 'cf.verified_bot_category eq "AI Crawler"'
action = "block"
"#,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn charging_unverifiable_crawlers() {
    assert_warns(
        r#"
[[rules]]
id = "charge"
expression = 'bot.category eq "AI Crawler"'
action = "charge"
price = "USD 0.01"
"#,
        "charge",
        "cannot be charged",
    );
    let warnings = lint(
        r#"
[[rules]]
id = "charge"
expression = 'bot.category eq "AI Crawler" and bot.verified'
action = "charge"
price = "USD 0.01"
"#,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn blocks_on_mcp_endpoints() {
    assert_warns(
        r#"
[[rules]]
id = "no-libraries"
expression = 'cf.bot_management.score lt 20'
action = "block"
"#,
        "no-libraries",
        "blocks `POST /mcp`",
    );
    // Placed after the pass-through, the same rule is fine.
    let warnings = lint(
        r#"
include = ["mcp-passthrough"]
[[rules]]
id = "no-libraries"
expression = 'cf.bot_management.score lt 20'
action = "block"
"#,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn rules_that_never_match_or_are_never_reached() {
    let src = r#"
[[rules]]
id = "shouty"
expression = 'lower(http.user_agent) contains "BOT"'
action = "log"

[[rules]]
id = "impossible-score"
expression = "cf.bot_management.score gt 99"
action = "log"

[[rules]]
id = "lowercase-method"
expression = 'http.request.method eq "post"'
action = "log"

[[rules]]
id = "everything"
expression = "true"
action = "allow"

[[rules]]
id = "after"
expression = 'http.host eq "x"'
action = "log"
"#;
    assert_warns(src, "shouty", "never contains this literal");
    assert_warns(src, "impossible-score", "always false");
    assert_warns(src, "lowercase-method", "upper case");
    assert_warns(src, "after", "never reached: `everything`");
    // The note carries the expression position: line 4, under the literal.
    let warnings = lint(src);
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("policy.toml:4:47: warning:")),
        "{warnings:?}"
    );
}
