//! The linter: the mistakes operators make with bot rules, each reported on the rule with a fix.
//!
//! Some checks read the rules (which fields an expression uses, which actions come in which
//! order); the others run the whole policy, without touching its state, on *probes*: synthetic
//! requests from known AI assistants, AI search bots, training crawlers and MCP clients, so that a
//! warning such as "blocks verified AI assistants" comes with the request that shows it.

use crate::expr::Field;
use crate::facts::{BotFacts, RequestFacts};
use crate::policy::{Action, Diagnostic, Mode, Policy, Rule, Severity, Verdict};

/// A synthetic request the linter runs through the policy.
struct Probe {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    user_agent: &'static str,
    bot: BotFacts<'static>,
}

fn bot(
    name: &'static str,
    operator: &'static str,
    category: &'static str,
    verified: bool,
    score: u8,
) -> BotFacts<'static> {
    BotFacts {
        name,
        operator,
        category,
        claimed: true,
        verified,
        signed: false,
        spoofed: false,
        signature_agent: "",
        score,
    }
}

fn automation(score: u8) -> BotFacts<'static> {
    BotFacts {
        score,
        ..BotFacts::default()
    }
}

const GPTBOT_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)";
const CLAUDEBOT_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)";
const CHATGPT_USER_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot";
const CLAUDE_USER_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Claude-User/1.0; +Claude-User@anthropic.com)";
const OAI_SEARCH_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot";
const PERPLEXITY_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)";

fn crawler_probes() -> Vec<Probe> {
    let page = "/articles/2026/agents";
    vec![
        Probe {
            what: "a verified GPTBot (AI Crawler)",
            method: "GET",
            path: page,
            user_agent: GPTBOT_UA,
            bot: bot("GPTBot", "OpenAI", "AI Crawler", true, 20),
        },
        Probe {
            what: "an unverified ClaudeBot claim (AI Crawler)",
            method: "GET",
            path: page,
            user_agent: CLAUDEBOT_UA,
            bot: bot("ClaudeBot", "Anthropic", "AI Crawler", false, 20),
        },
    ]
}

fn assistant_and_search_probes() -> Vec<Probe> {
    let page = "/articles/2026/agents";
    vec![
        Probe {
            what: "a verified ChatGPT-User (AI Assistant, acting for a user)",
            method: "GET",
            path: page,
            user_agent: CHATGPT_USER_UA,
            bot: bot("ChatGPT-User", "OpenAI", "AI Assistant", true, 20),
        },
        Probe {
            what: "a verified Claude-User (AI Assistant, acting for a user)",
            method: "GET",
            path: page,
            user_agent: CLAUDE_USER_UA,
            bot: bot("Claude-User", "Anthropic", "AI Assistant", true, 20),
        },
        Probe {
            what: "a verified OAI-SearchBot (AI Search)",
            method: "GET",
            path: page,
            user_agent: OAI_SEARCH_UA,
            bot: bot("OAI-SearchBot", "OpenAI", "AI Search", true, 20),
        },
        Probe {
            what: "a verified PerplexityBot (AI Search)",
            method: "GET",
            path: page,
            user_agent: PERPLEXITY_UA,
            bot: bot("PerplexityBot", "Perplexity", "AI Search", true, 20),
        },
    ]
}

/// Verified bots with low automation scores (as verified bots usually have), on pages they visit.
fn verified_low_score_probes() -> Vec<Probe> {
    let mut probes = Vec::new();
    for score in [1, 15] {
        for path in ["/", "/checkout/pay"] {
            probes.push(Probe {
                what: "a verified Googlebot",
                method: "GET",
                path,
                user_agent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                bot: bot("Googlebot", "Google", "Search Engine Crawler", true, score),
            });
            probes.push(Probe {
                what: "a verified ChatGPT-User",
                method: "GET",
                path,
                user_agent: CHATGPT_USER_UA,
                bot: bot("ChatGPT-User", "OpenAI", "AI Assistant", true, score),
            });
        }
    }
    probes
}

/// MCP and OAuth requests as the AI clients that make them send them.
fn mcp_probes() -> Vec<Probe> {
    let clients: [(&str, &str, BotFacts<'static>); 5] = [
        (
            "ChatGPT's MCP client",
            "Python/3.12 aiohttp/3.11.11",
            automation(10),
        ),
        (
            "Claude Code",
            "claude-code/2.0.14 (cli)",
            bot("Claude Code", "Anthropic", "AI Assistant", false, 15),
        ),
        ("Codex", "Bun/1.2.19", automation(10)),
        ("Gemini CLI", "node", automation(10)),
        (
            "Claude",
            "Claude-User",
            bot("Claude-User", "Anthropic", "AI Assistant", false, 20),
        ),
    ];
    let endpoints: [(&str, &str); 6] = [
        ("POST", "/mcp"),
        ("GET", "/.well-known/oauth-protected-resource/mcp"),
        ("GET", "/.well-known/oauth-protected-resource"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("POST", "/oauth/token"),
        ("POST", "/register"),
    ];
    let mut probes = Vec::new();
    for (method, path) in endpoints {
        for (what, user_agent, bot) in clients {
            probes.push(Probe {
                what,
                method,
                path,
                user_agent,
                bot,
            });
        }
    }
    probes
}

/// The unverified crawler a `charge` rule must not charge.
fn unverified_crawler_probe() -> Probe {
    Probe {
        what: "an unverified GPTBot claim",
        method: "GET",
        path: "/articles/2026/agents",
        user_agent: GPTBOT_UA,
        bot: bot("GPTBot", "OpenAI", "AI Crawler", false, 20),
    }
}

impl Probe {
    /// The decision for this probe: the deciding rule's index and the verdict.
    fn run(&self, policy: &Policy) -> (Option<usize>, Verdict) {
        let mut headers = http::HeaderMap::new();
        if let Ok(value) = http::HeaderValue::from_str(self.user_agent) {
            headers.insert(http::header::USER_AGENT, value);
        }
        let facts = RequestFacts::new(self.method, self.path)
            .with_host("shop.example")
            .with_headers(&headers)
            .with_client_ip(std::net::IpAddr::from([203, 0, 113, 50]))
            .with_bot(self.bot);
        let decision = policy.evaluate_dry(&facts);
        let index = decision
            .rule()
            .and_then(|id| policy.rules().iter().position(|r| r.id() == id));
        (index, *decision.verdict())
    }
}

fn warn(rule: &Rule, message: String, fix: &str) -> Diagnostic {
    let (line, column) = rule.position();
    let message = match rule.preset() {
        Some(preset) => format!("{message} (in preset `{preset}`)"),
        None => message,
    };
    Diagnostic::new(Severity::Warning, line, column, message)
        .rule(rule.id())
        .fix(fix)
}

fn is_enforced(rule: &Rule) -> bool {
    rule.enabled() && rule.mode() == Mode::Enforce
}

fn uses_verification(rule: &Rule) -> bool {
    rule.expression().used_fields().any(Field::is_verification)
}

impl Policy {
    /// Warnings about mistakes that load fine but do not do what the operator meant, each on a
    /// rule, with a fix. The policy's state (rate limits, hit counters) is not touched.
    ///
    /// ```
    /// use bot_policy::Policy;
    ///
    /// let policy = Policy::from_toml_str(r#"
    ///     [[rules]]
    ///     id = "no-ai"
    ///     expression = 'bot.category contains "AI"'
    ///     action = "block"
    /// "#).unwrap();
    /// let warnings = policy.lint();
    /// assert!(warnings.iter().any(|w| w.message.contains("AI Assistant")));
    /// ```
    pub fn lint(&self) -> Vec<Diagnostic> {
        let rules = self.rules();
        let mut out: Vec<Diagnostic> = Vec::new();

        for rule in rules {
            out.extend(rule.notes.iter().cloned());
            if rule.enabled()
                && rule.expression().constant() == Some(false)
                && rule.notes.is_empty()
            {
                out.push(warn(
                    rule,
                    "this rule can never match".into(),
                    "fix or remove the expression",
                ));
            }
        }

        // Unreachable rules, after an unconditional terminating rule.
        if let Some(first) = rules
            .iter()
            .position(|r| r.terminates() && r.expression().constant() == Some(true))
        {
            for rule in &rules[first + 1..] {
                if rule.enabled() {
                    out.push(warn(
                        rule,
                        format!(
                            "this rule is never reached: `{}` before it matches every request and ends evaluation",
                            rules[first].id()
                        ),
                        "move it before that rule, or narrow that rule's expression",
                    ));
                }
            }
        }

        // Rules that block or challenge verified bots because of their score.
        let mut score_deciders: Vec<usize> = verified_low_score_probes()
            .iter()
            .filter_map(|probe| match probe.run(self) {
                (Some(index), Verdict::Block | Verdict::Challenge)
                    if rules[index].expression().uses(Field::Score) =>
                {
                    Some(index)
                }
                _ => None,
            })
            .collect();
        score_deciders.sort_unstable();

        for (index, rule) in rules.iter().enumerate() {
            if !is_enforced(rule) {
                continue;
            }
            let skips_or_allows = matches!(rule.action(), Action::Skip(_) | Action::Allow);
            // A verified-bot skip placed after score-based blocks or challenges that verified
            // bots actually hit.
            if skips_or_allows
                && uses_verification(rule)
                && let Some(&earlier) = score_deciders.iter().find(|&&d| d < index)
            {
                let earlier = &rules[earlier];
                out.push(warn(
                        rule,
                        format!(
                            "verified bots reach this rule only after `{}` has blocked or challenged them by score; verified bots with low scores never get here",
                            earlier.id()
                        ),
                        &format!("move `{}` before `{}`", rule.id(), earlier.id()),
                    ));
            }
            // Allow rules that trust the user agent alone.
            let fields: Vec<Field> = rule.expression().used_fields().collect();
            if skips_or_allows
                && fields.iter().any(|f| f.is_user_agent_derived())
                && !fields.iter().any(|f| f.is_verification())
            {
                out.push(warn(
                    rule,
                    format!(
                        "this `{}` rule trusts the user agent alone, which any client can send",
                        rule.action().name()
                    ),
                    "add `and cf.bot_management.verified_bot` (or `bot.verified`), or match on ip.src or bot.signed",
                ));
            }
        }

        // Rules that block AI crawlers and catch AI assistants and AI search too.
        let crawler_blockers: Vec<usize> = crawler_probes()
            .iter()
            .filter_map(|probe| match probe.run(self) {
                (Some(index), Verdict::Block | Verdict::Challenge) => Some(index),
                _ => None,
            })
            .collect();
        let mut reported = vec![false; rules.len()];
        for probe in assistant_and_search_probes() {
            if let (Some(index), Verdict::Block | Verdict::Challenge) = probe.run(self)
                && crawler_blockers.contains(&index)
                && !reported[index]
            {
                reported[index] = true;
                out.push(warn(
                        &rules[index],
                        format!(
                            "this rule blocks AI crawlers, and also {}: AI Assistant and AI Search bots fetch pages a user asked for, or send visitors",
                            probe.what
                        ),
                        "match training crawlers only: `cf.verified_bot_category eq \"AI Crawler\"` or `bot.category eq \"AI Crawler\"`",
                    ));
            }
        }

        // Charging crawlers that cannot be verified.
        let probe = unverified_crawler_probe();
        if let (Some(index), Verdict::Charge(_)) = probe.run(self) {
            out.push(warn(
                &rules[index],
                format!(
                    "this rule charges {}: a crawler that cannot be verified cannot be charged (anyone can claim its name)",
                    probe.what
                ),
                "add `and cf.bot_management.verified_bot` (or `bot.verified`) to the expression",
            ));
        }

        // Challenges and blocks on MCP and OAuth endpoints.
        let mut reported = vec![false; rules.len()];
        for probe in mcp_probes() {
            if let (Some(index), verdict @ (Verdict::Block | Verdict::Challenge)) = probe.run(self)
                && !reported[index]
            {
                reported[index] = true;
                out.push(warn(
                        &rules[index],
                        format!(
                            "this rule {}s `{} {}` from {} ({}): automated AI clients cannot solve challenges, so MCP and OAuth calls fail",
                            verdict.name(),
                            probe.method,
                            probe.path,
                            probe.what,
                            probe.user_agent
                        ),
                        "include the `mcp-passthrough` preset first (include = [\"mcp-passthrough\", …]), or exclude /mcp, /.well-known/oauth-* and the token endpoint",
                    ));
            }
        }

        out.sort_by_key(|d| (d.line, d.column));
        out
    }
}
