#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The bot catalog: data checks, matcher rules, and precision/recall over public
//! user-agent corpora (copied under `tests/data/corpora/` with their licences):
//!
//! - isbot (github.com/omrilotan/isbot, commit 344052da664bde49579e21f1e62349280791efb3,
//!   Unlicense): `fixtures/browsers.yml` (real browsers: false-positive set) and
//!   `fixtures/crawlers.yml` (bots).
//! - crawler-user-agents (github.com/monperrus/crawler-user-agents, commit
//!   7c7f9f254f16fcbc7d0fcb60d0a188897c00b050, MIT): the `instances` of each pattern.
//!
//! `cargo test -p bot-policy --test catalog -- --nocapture` prints the figures.

use std::collections::BTreeSet;
use std::path::PathBuf;

use bot_policy::catalog::{BotEntry, BotKind, CATEGORIES, Catalog, CatalogError};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Corpora

fn corpus(path: &str) -> String {
    let full: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/data/corpora", path]
        .iter()
        .collect();
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The isbot fixtures are YAML maps of `name:` to lists of `  - user agent` lines,
/// some double-quoted; nothing else, so a few lines of parsing do.
fn isbot_fixtures(path: &str) -> Vec<(String, String)> {
    let text = corpus(path);
    let mut out = Vec::new();
    let mut key = String::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(item) = line.strip_prefix("  - ") {
            assert!(!key.is_empty(), "{path}: item before any key: {line}");
            out.push((key.clone(), unquote(item)));
        } else if let Some(k) = line.strip_suffix(':') {
            assert!(!k.starts_with(' '), "{path}: unexpected line: {line}");
            key = unquote(k);
        } else {
            panic!("{path}: unexpected line: {line}");
        }
    }
    out
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        inner.replace("\\\"", "\"").replace("\\\\", "\\")
    } else if let Some(inner) = s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else {
        s.to_owned()
    }
}

/// `(pattern, instances)` of crawler-user-agents.
fn crawler_user_agents() -> Vec<(String, Vec<String>)> {
    let json: serde_json::Value =
        serde_json::from_str(&corpus("crawler-user-agents/crawler-user-agents.json")).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let pattern = entry["pattern"].as_str().unwrap().to_owned();
            let instances = entry["instances"]
                .as_array()
                .map(|a| a.iter().map(|i| i.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            (pattern, instances)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// An independent, naive oracle: where does each catalog token occur, at word boundaries?

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Spans `(entry index, start, end)` of every token occurrence at word boundaries
/// (a token edge that is a letter or digit must not touch another one).
fn occurrences(catalog: &Catalog, ua: &str) -> Vec<(usize, usize, usize)> {
    let hay = ua.to_ascii_lowercase();
    let hay = hay.as_bytes();
    let mut out = Vec::new();
    for (index, entry) in catalog.entries().iter().enumerate() {
        for token in &entry.tokens {
            let needle = token.to_ascii_lowercase();
            let check_start = is_word(needle.as_bytes()[0]);
            let check_end = is_word(needle.as_bytes()[needle.len() - 1]);
            for start in memchr::memmem::find_iter(hay, needle.as_bytes()) {
                let end = start + needle.len();
                let before_ok = !check_start || start == 0 || !is_word(hay[start - 1]);
                let after_ok = !check_end || end == hay.len() || !is_word(hay[end]);
                if before_ok && after_ok {
                    out.push((index, start, end));
                }
            }
        }
    }
    out
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Entries whose name or a token is the isbot fixture's name (ignoring case and
/// punctuation), or appears in it.
fn entries_named(catalog: &Catalog, label: &str) -> BTreeSet<usize> {
    let label = normalize(label);
    let mut out = BTreeSet::new();
    for (index, entry) in catalog.entries().iter().enumerate() {
        let names = std::iter::once(&entry.name).chain(entry.tokens.iter());
        for name in names {
            let name = normalize(name);
            if name == label || (name.len() >= 5 && label.contains(&name)) {
                out.insert(index);
            }
        }
    }
    out
}

#[derive(Default)]
struct Score {
    fixtures: usize,
    covered: usize,
    returned: usize,
    correct: usize,
    misses: Vec<String>,
    wrong: Vec<String>,
    siblings: Vec<String>,
}

impl Score {
    /// `expected`: the entries a correct answer may be (empty: not covered).
    fn record(&mut self, catalog: &Catalog, ua: &str, expected: &BTreeSet<usize>) {
        let entries = catalog.entries();
        self.fixtures += 1;
        let got = catalog
            .match_user_agent(ua.as_bytes())
            .map(|e| index_of(catalog, e));
        if !expected.is_empty() {
            self.covered += 1;
        }
        if let Some(got) = got {
            self.returned += 1;
            // A sibling crawler of the labelled one (same operator, its own token
            // present) counts as right: crawler-user-agents files Bing's adidxbot
            // under its `bingbot` pattern, for instance.
            let sibling = || {
                expected
                    .iter()
                    .any(|&e| entries[e].operator == entries[got].operator)
                    && occurrences(catalog, ua).iter().any(|&(i, _, _)| i == got)
            };
            if expected.contains(&got) {
                self.correct += 1;
            } else if sibling() {
                self.correct += 1;
                self.siblings.push(format!(
                    "{ua:?}: got {}, labelled {:?}",
                    entries[got].name,
                    expected
                        .iter()
                        .map(|&i| entries[i].name.as_str())
                        .collect::<Vec<_>>()
                ));
            } else {
                let want: Vec<&str> = expected
                    .iter()
                    .map(|&i| catalog.entries()[i].name.as_str())
                    .collect();
                self.wrong.push(format!(
                    "{ua:?}: got {}, expected {want:?}",
                    catalog.entries()[got].name
                ));
            }
        } else if !expected.is_empty() {
            let want: Vec<&str> = expected
                .iter()
                .map(|&i| catalog.entries()[i].name.as_str())
                .collect();
            self.misses
                .push(format!("{ua:?}: nothing, expected {want:?}"));
        }
    }

    fn precision(&self) -> f64 {
        self.correct as f64 / self.returned.max(1) as f64
    }

    fn recall(&self) -> f64 {
        self.correct as f64 / self.covered.max(1) as f64
    }
}

fn index_of(catalog: &Catalog, entry: &BotEntry) -> usize {
    catalog
        .entries()
        .iter()
        .position(|e| std::ptr::eq(e, entry))
        .unwrap()
}

/// What a correct answer may be, given the spans a labelled pattern matched (if
/// any): the entries whose token overlaps the labelled span; failing that, the
/// named bots whose tokens occur, else the automation whose tokens occur.
fn expected_entries(
    catalog: &Catalog,
    ua: &str,
    label_spans: &[(usize, usize)],
    named: &BTreeSet<usize>,
) -> BTreeSet<usize> {
    let found = occurrences(catalog, ua);
    let labelled: BTreeSet<usize> = found
        .iter()
        .filter(|&&(_, s, e)| label_spans.iter().any(|&(ls, le)| s < le && ls < e))
        .map(|&(i, _, _)| i)
        .chain(
            found
                .iter()
                .map(|&(i, _, _)| i)
                .filter(|i| named.contains(i)),
        )
        .collect();
    if !labelled.is_empty() {
        return labelled;
    }
    let bots: BTreeSet<usize> = found
        .iter()
        .map(|&(i, _, _)| i)
        .filter(|&i| catalog.entries()[i].kind == BotKind::Bot)
        .collect();
    if !bots.is_empty() {
        return bots;
    }
    found.iter().map(|&(i, _, _)| i).collect()
}

#[test]
fn no_bot_matches_on_browser_fixtures() {
    let catalog = Catalog::builtin();
    let browsers = isbot_fixtures("isbot/browsers.yml");
    assert_eq!(browsers.len(), 555, "isbot browsers.yml parse");
    let mut named = Vec::new();
    let mut automation = Vec::new();
    let mut excluded = Vec::new();
    let mut checked = 0;
    for (name, ua) in &browsers {
        // isbot keeps a few bots in its browser file on purpose, so that isbot does
        // not flag them; they are bots, and naming them is right.
        let known_bot = name.starts_with("ZZZ Insignificat bots")
            // ai.robots.txt: Amazon's AI assistant fetcher; isbot files user-directed
            // agents under "Miscellaneous Browsers".
            || ua.contains("compatible; Amzn-User/");
        if known_bot {
            excluded.push(format!(
                "[{name}] {ua:?} -> {:?}",
                catalog
                    .match_user_agent(ua.as_bytes())
                    .map(|e| e.name.as_str())
            ));
            continue;
        }
        checked += 1;
        if let Some(entry) = catalog.match_user_agent(ua.as_bytes()) {
            let line = format!(
                "[{name}] {ua:?} -> {} ({})",
                entry.name,
                entry.kind.as_str()
            );
            match entry.kind {
                BotKind::Bot => named.push(line),
                _ => automation.push(line),
            }
        }
    }
    println!(
        "browsers (isbot browsers.yml): {} fixtures, {checked} checked, {} excluded as bots by isbot's own label, \
         {} named-bot matches, {} automation matches",
        browsers.len(),
        excluded.len(),
        named.len(),
        automation.len()
    );
    for line in &excluded {
        println!("  excluded (a bot in isbot's browser file): {line}");
    }
    for line in &automation {
        println!("  automation marker in a browser fixture: {line}");
    }
    assert!(
        named.is_empty(),
        "named bots matched browser fixtures:\n{}",
        named.join("\n")
    );
}

#[test]
fn precision_and_recall_on_crawler_fixtures() {
    let catalog = Catalog::builtin();

    let mut isbot = Score::default();
    let crawlers = isbot_fixtures("isbot/crawlers.yml");
    assert_eq!(crawlers.len(), 626, "isbot crawlers.yml parse");
    for (name, ua) in &crawlers {
        let named = entries_named(&catalog, name);
        let expected = expected_entries(&catalog, ua, &[], &named);
        isbot.record(&catalog, ua, &expected);
    }

    let mut cua = Score::default();
    let mut patterns = 0;
    let mut unusable_patterns = 0;
    for (pattern, instances) in crawler_user_agents() {
        patterns += 1;
        let regex = regex::RegexBuilder::new(&pattern)
            .case_insensitive(true)
            .build();
        if regex.is_err() {
            unusable_patterns += 1;
        }
        for ua in &instances {
            let spans: Vec<(usize, usize)> = match &regex {
                Ok(r) => r.find_iter(ua).map(|m| (m.start(), m.end())).collect(),
                Err(_) => Vec::new(),
            };
            let expected = expected_entries(&catalog, ua, &spans, &BTreeSet::new());
            cua.record(&catalog, ua, &expected);
        }
    }

    let total = Score {
        fixtures: isbot.fixtures + cua.fixtures,
        covered: isbot.covered + cua.covered,
        returned: isbot.returned + cua.returned,
        correct: isbot.correct + cua.correct,
        misses: isbot.misses.iter().chain(&cua.misses).cloned().collect(),
        wrong: isbot.wrong.iter().chain(&cua.wrong).cloned().collect(),
        siblings: isbot
            .siblings
            .iter()
            .chain(&cua.siblings)
            .cloned()
            .collect(),
    };
    for (label, s) in [
        ("isbot crawlers.yml", &isbot),
        ("crawler-user-agents instances", &cua),
        ("both", &total),
    ] {
        println!(
            "{label}: {} fixtures, {} covered by the catalog, {} matched, {} correct: precision {:.4}, recall {:.4}",
            s.fixtures,
            s.covered,
            s.returned,
            s.correct,
            s.precision(),
            s.recall()
        );
    }
    println!(
        "crawler-user-agents: {patterns} patterns, {unusable_patterns} not compilable by `regex` (instances scored by the token oracle)"
    );
    for line in &total.siblings {
        println!("  sibling of the labelled crawler (counted right): {line}");
    }
    for line in &total.wrong {
        println!("  wrong: {line}");
    }
    for line in &total.misses {
        println!("  missed: {line}");
    }
    assert!(total.recall() >= 0.99, "recall {:.4}", total.recall());
    assert!(
        total.precision() >= 0.99,
        "precision {:.4}",
        total.precision()
    );
}

// ---------------------------------------------------------------------------------------------
// The built-in data

#[test]
fn builtin_entries_are_valid() {
    let catalog = Catalog::builtin();
    assert!(catalog.len() > 300);
    for entry in catalog.entries() {
        assert!(
            CATEGORIES.contains(&entry.category.as_str()),
            "{}",
            entry.name
        );
        assert!(!entry.operator.is_empty(), "{}", entry.name);
    }
    let mut by_category: std::collections::BTreeMap<(String, &str), usize> = Default::default();
    for entry in catalog.entries() {
        *by_category
            .entry((entry.category.clone(), entry.kind.as_str()))
            .or_default() += 1;
    }
    println!("catalog: {} entries", catalog.len());
    for ((category, kind), n) in by_category {
        println!("  {category:28} {kind:10} {n}");
    }
}

#[test]
fn spec_notes_bots_have_their_categories() {
    let catalog = Catalog::builtin();
    let expect = [
        ("GPTBot", "AI Crawler"),
        ("ClaudeBot", "AI Crawler"),
        ("CCBot", "AI Crawler"),
        ("Bytespider", "AI Crawler"),
        ("Meta-ExternalAgent", "AI Crawler"),
        ("Amazonbot", "AI Crawler"),
        ("Google-CloudVertexBot", "AI Crawler"),
        ("OAI-SearchBot", "AI Search"),
        ("Claude-SearchBot", "AI Search"),
        ("PerplexityBot", "AI Search"),
        ("ChatGPT-User", "AI Assistant"),
        ("Claude-User", "AI Assistant"),
        ("Perplexity-User", "AI Assistant"),
        ("Meta-ExternalFetcher", "AI Assistant"),
        ("DuckAssistBot", "AI Assistant"),
        ("MistralAI-User", "AI Assistant"),
        ("Googlebot", "Search Engine Crawler"),
        ("Bingbot", "Search Engine Crawler"),
    ];
    for (name, category) in expect {
        let entry = catalog
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(entry.category, category, "{name}");
        assert_eq!(entry.kind, BotKind::Bot, "{name}");
        // The entry is found by its own name as a user agent.
        let ua = format!("Mozilla/5.0 (compatible; {name}/1.0; +https://example.com/bot)");
        assert_eq!(
            catalog
                .match_user_agent(ua.as_bytes())
                .map(|e| e.name.as_str()),
            Some(name),
            "{ua}"
        );
    }
    assert_eq!(
        catalog.get("gptbot").map(|e| e.name.as_str()),
        Some("GPTBot")
    );
    assert_eq!(
        catalog.get("GPTBot").unwrap().ip_ranges.as_deref(),
        Some("openai-gptbot")
    );
    assert_eq!(
        catalog.get("Claude-User").unwrap().ip_ranges.as_deref(),
        Some("anthropic")
    );
    assert!(
        catalog
            .get("Googlebot")
            .unwrap()
            .rdns_suffixes
            .contains(&".googlebot.com".to_owned())
    );
}

#[test]
fn mcp_and_oauth_clients() {
    let catalog = Catalog::builtin();
    let cases: [(&str, &str, BotKind, &str); 7] = [
        (
            "Python/3.12 aiohttp/3.9.5",
            "Python aiohttp",
            BotKind::Automation,
            "Other",
        ),
        ("Claude-User", "Claude-User", BotKind::Bot, "AI Assistant"),
        (
            "claude-code/1.0.83 (cli)",
            "Claude Code",
            BotKind::Bot,
            "AI Assistant",
        ),
        ("Bun/1.2.19", "Bun", BotKind::Automation, "Other"),
        ("node", "Node.js", BotKind::Automation, "Other"),
        (
            "mcp-inspector-proxy",
            "MCP Inspector",
            BotKind::Automation,
            "Other",
        ),
        (
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
            "ChatGPT-User",
            BotKind::Bot,
            "AI Assistant",
        ),
    ];
    for (ua, name, kind, category) in cases {
        let entry = catalog
            .match_user_agent(ua.as_bytes())
            .unwrap_or_else(|| panic!("{ua}: no match"));
        assert_eq!(
            (entry.name.as_str(), entry.kind, entry.category.as_str()),
            (name, kind, category),
            "{ua}"
        );
    }
    let agent = catalog
        .by_signature_agent("\"https://chatgpt.com\"")
        .unwrap();
    assert_eq!(agent.name, "ChatGPT Agent");
    assert_eq!(
        catalog
            .by_signature_agent("https://ChatGPT.com/")
            .unwrap()
            .name,
        "ChatGPT Agent"
    );
    assert!(catalog.by_signature_agent("https://example.com").is_none());
    assert!(catalog.by_signature_agent("").is_none());
}

#[test]
fn common_automation_is_automation() {
    let catalog = Catalog::builtin();
    for ua in [
        "curl/8.7.1",
        "Wget/1.21.4",
        "python-requests/2.32.3",
        "python-httpx/0.27.0",
        "Go-http-client/2.0",
        "okhttp/4.12.0",
        "axios/1.7.2",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "undici",
        "Java/17.0.2",
        "Java-http-client/21.0.1",
        "libwww-perl/6.72",
        "Scrapy/2.11.2 (+https://scrapy.org)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
    ] {
        let entry = catalog
            .match_user_agent(ua.as_bytes())
            .unwrap_or_else(|| panic!("{ua}: no match"));
        assert_eq!(entry.kind, BotKind::Automation, "{ua} -> {}", entry.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Matcher rules, on a small catalog

const SMALL: &str = r#"
[[bot]]
name = "Spider"
operator = "Test"
category = "Other"
tokens = ["Spider"]

[[bot]]
name = "GPTBot"
operator = "OpenAI"
category = "AI Crawler"
kind = "bot"
tokens = ["GPTBot"]

[[bot]]
name = "Claude"
operator = "Anthropic"
category = "AI Assistant"
tokens = ["Claude"]

[[bot]]
name = "Claude-User"
operator = "Anthropic"
category = "AI Assistant"
tokens = ["Claude-User"]

[[bot]]
name = "HeadlessChrome"
operator = "Google"
category = "Other"
kind = "automation"
tokens = ["HeadlessChrome"]

[[bot]]
name = "Java"
operator = "OpenJDK"
category = "Other"
kind = "automation"
tokens = ["Java/"]

[[bot]]
name = "Signed agent"
operator = "Example"
category = "AI Assistant"
signature_agents = ["https://agent.example"]
"#;

fn small() -> Catalog {
    Catalog::from_toml_str(SMALL).unwrap()
}

fn name_of<'a>(catalog: &'a Catalog, ua: &[u8]) -> Option<&'a str> {
    catalog.match_user_agent(ua).map(|e| e.name.as_str())
}

#[test]
fn word_boundaries() {
    let c = small();
    assert_eq!(name_of(&c, b"Bytespider"), None);
    assert_eq!(name_of(&c, b"CompanySpiderman/1.0"), None);
    assert_eq!(name_of(&c, b"Spiderman"), None);
    assert_eq!(name_of(&c, b"Spider"), Some("Spider"));
    assert_eq!(
        name_of(&c, b"Mozilla/5.0 (compatible; Spider/2.0)"),
        Some("Spider")
    );
    assert_eq!(name_of(&c, b"a_Spider_b"), Some("Spider"));
    assert_eq!(name_of(&c, b"x-Spider;"), Some("Spider"));
    assert_eq!(name_of(&c, b"GPTBot/1.1"), Some("GPTBot"));
    assert_eq!(name_of(&c, b"(GPTBot)"), Some("GPTBot"));
    assert_eq!(name_of(&c, b"GPTBot2"), None);
    assert_eq!(name_of(&c, b"MyGPTBot"), None);
    assert_eq!(name_of(&c, b"1GPTBot"), None);
    // A user agent names itself first: the earliest match wins.
    assert_eq!(
        name_of(&c, b"Spider/1.0 (+https://example.com; like GPTBot)"),
        Some("Spider")
    );
    // Tokens ending in punctuation need no boundary there.
    assert_eq!(name_of(&c, b"Java/17.0.2"), Some("Java"));
    assert_eq!(name_of(&c, b"UCWEB/2.0 (Java; U; MIDP-2.0)"), None);
    assert_eq!(name_of(&c, b"MyJava/17"), None);
    // The longest token wins over a shorter one at the same place.
    assert_eq!(name_of(&c, b"Claude-User/1.0"), Some("Claude-User"));
    assert_eq!(name_of(&c, b"Claude/1.0"), Some("Claude"));
    assert_eq!(name_of(&c, b"Claude-Web/1.0"), Some("Claude"));
    // Named bots beat automation.
    assert_eq!(
        name_of(
            &c,
            b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36; GPTBot/1.1"
        ),
        Some("GPTBot")
    );
    assert_eq!(
        name_of(&c, b"Mozilla/5.0 HeadlessChrome/120.0.0.0"),
        Some("HeadlessChrome")
    );
    // Earliest wins among equals.
    assert_eq!(name_of(&c, b"Spider GPTBot"), Some("Spider"));
    assert_eq!(name_of(&c, b"Claude GPTBot"), Some("Claude"));
    assert_eq!(name_of(&c, b""), None);
}

#[test]
fn case_insensitive() {
    let c = small();
    for ua in [
        &b"gptbot/1.1"[..],
        b"GPTBOT",
        b"GpTbOt",
        b"compatible; gptBot;",
    ] {
        assert_eq!(
            name_of(&c, ua),
            Some("GPTBot"),
            "{}",
            String::from_utf8_lossy(ua)
        );
    }
    assert_eq!(name_of(&c, b"CLAUDE-USER"), Some("Claude-User"));
}

#[test]
fn invalid_utf8() {
    let c = small();
    assert_eq!(name_of(&c, b"\xff\xfeGPTBot\xc3"), Some("GPTBot"));
    assert_eq!(name_of(&c, b"\xc3\x28Spider\xa0\xa1"), Some("Spider"));
    assert_eq!(name_of(&c, b"\x80\x81\x82\x83"), None);
    // Non-ASCII bytes are boundaries; ASCII letters are not.
    assert_eq!(name_of(&c, "éSpider".as_bytes()), Some("Spider"));
}

#[test]
fn megabyte_user_agents() {
    let c = Catalog::builtin();
    let filler = vec![b'a'; 1 << 20];
    assert_eq!(c.match_user_agent(&filler), None);
    let many = b"GPTBot ".repeat((1 << 20) / 7);
    assert_eq!(
        c.match_user_agent(&many).map(|e| e.name.as_str()),
        Some("GPTBot")
    );
    let noise: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let _ = c.match_user_agent(&noise);
    let mut tail = vec![b' '; 1 << 20];
    tail.extend_from_slice(b"ClaudeBot/1.0");
    assert_eq!(
        c.match_user_agent(&tail).map(|e| e.name.as_str()),
        Some("ClaudeBot")
    );
}

#[test]
fn extend_replaces_by_name_and_appends() {
    let mut c = small();
    let before = c.len();
    let extra = Catalog::from_toml_str(
        r#"
[[bot]]
name = "gptbot"
operator = "Someone else"
category = "AI Search"
tokens = ["GPTBot", "GPTBot-Next"]

[[bot]]
name = "My Bot"
operator = "Me"
category = "Monitoring & Analytics"
tokens = ["MyBot", "Spider"]
"#,
    )
    .unwrap();
    c.extend(extra);
    assert_eq!(c.len(), before + 1);
    assert_eq!(c.get("GPTBot").unwrap().operator, "Someone else");
    assert_eq!(name_of(&c, b"GPTBot-Next/1"), Some("gptbot"));
    assert_eq!(name_of(&c, b"MyBot/1"), Some("My Bot"));
    // The same token in two entries: the later (the extension) wins.
    assert_eq!(name_of(&c, b"Spider/1"), Some("My Bot"));
    c.extend(Catalog::default());
    assert_eq!(c.len(), before + 1);
}

#[test]
fn signature_agents() {
    let c = small();
    assert_eq!(
        c.by_signature_agent("https://agent.example").unwrap().name,
        "Signed agent"
    );
    assert_eq!(
        c.by_signature_agent(" \"HTTPS://AGENT.EXAMPLE/\" ")
            .unwrap()
            .name,
        "Signed agent"
    );
    assert!(c.by_signature_agent("https://agent.example.org").is_none());
}

#[test]
fn empty_catalog() {
    let c = Catalog::default();
    assert!(c.is_empty());
    assert!(c.match_user_agent(b"GPTBot").is_none());
    assert!(c.get("GPTBot").is_none());
    let c = Catalog::from_toml_str("").unwrap();
    assert!(c.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Errors carry positions

fn err(src: &str) -> CatalogError {
    Catalog::from_toml_str(src).unwrap_err()
}

#[test]
fn unknown_category_is_positioned() {
    let e = err(
        "[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"AI crawler\"\ntokens = [\"X\"]\n",
    );
    assert!(
        matches!(&e, CatalogError::UnknownCategory { category, .. } if category == "AI crawler"),
        "{e}"
    );
    assert_eq!((e.line(), e.column()), (Some(4), Some(12)), "{e}");
    assert!(e.to_string().starts_with("line 4, column 12"), "{e}");
}

#[test]
fn empty_token_is_positioned() {
    let e = err(
        "[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"X\", \" \"]\n",
    );
    assert!(
        matches!(&e, CatalogError::EmptyToken { name, .. } if name == "X"),
        "{e}"
    );
    assert_eq!((e.line(), e.column()), (Some(5), Some(16)), "{e}");
}

#[test]
fn duplicate_name_is_positioned() {
    let one = "[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"X\"]\n";
    let two = "[[bot]]\nname = \"x\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"Y\"]\n";
    let e = err(&format!("{one}{two}"));
    assert!(
        matches!(&e, CatalogError::DuplicateName { name, first_line: 2, .. } if name == "x"),
        "{e}"
    );
    assert_eq!((e.line(), e.column()), (Some(7), Some(8)), "{e}");
}

#[test]
fn duplicate_token_is_positioned() {
    let one = "[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"Tok\"]\n";
    let two = "[[bot]]\nname = \"Y\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"TOK\"]\n";
    let e = err(&format!("{one}{two}"));
    assert!(
        matches!(&e, CatalogError::DuplicateToken { other, .. } if other == "X"),
        "{e}"
    );
    assert_eq!(e.line(), Some(10), "{e}");
}

#[test]
fn syntax_and_shape_errors_are_positioned() {
    let e = err("[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"X\"\n");
    assert!(matches!(e, CatalogError::Syntax { line: 5, .. }), "{e}");
    // Unknown field (a typo) is refused.
    let e = err(
        "[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"X\"]\nrdns_sufixes = []\n",
    );
    assert!(matches!(e, CatalogError::Syntax { line: 6, .. }), "{e}");
    // Unknown kind.
    let e = err(
        "[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\nkind = \"robot\"\ntokens = [\"X\"]\n",
    );
    assert!(matches!(e, CatalogError::Syntax { line: 5, .. }), "{e}");
    // Missing category.
    let e = err("[[bot]]\nname = \"X\"\noperator = \"O\"\ntokens = [\"X\"]\n");
    assert!(matches!(e, CatalogError::Syntax { .. }), "{e}");
    // rDNS suffix without a dot, bad signature agent, nothing to match on.
    let e = err(
        "[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"X\"]\nrdns_suffixes = [\"google.com\"]\n",
    );
    assert!(matches!(e, CatalogError::Invalid { line: 6, .. }), "{e}");
    let e = err(
        "[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"X\"]\nsignature_agents = [\"chatgpt.com\"]\n",
    );
    assert!(matches!(e, CatalogError::Invalid { line: 6, .. }), "{e}");
    let e = err("[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\n");
    assert!(matches!(e, CatalogError::Invalid { line: 2, .. }), "{e}");
    let e = err(
        "[[bot]]\nname = \"X\"\noperator = \"O\"\ncategory = \"Other\"\ntokens = [\"a\\tb\"]\n",
    );
    assert!(matches!(e, CatalogError::Invalid { line: 5, .. }), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_bytes(ua in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let c = Catalog::builtin();
        let _ = c.match_user_agent(&ua);
    }

    /// A token surrounded by boundary bytes is found; glued to a letter it is not.
    #[test]
    fn token_between_boundaries_is_found(
        before in "[ ;/()_.+-]{0,8}",
        after in "[ ;/()_.+-]{0,8}",
        upper in any::<bool>(),
    ) {
        let c = small();
        let token = if upper { "GPTBOT" } else { "gptbot" };
        let ua = format!("{before}{token}{after}");
        prop_assert_eq!(name_of(&c, ua.as_bytes()), Some("GPTBot"));
        let glued = format!("{before}x{token}{after}");
        prop_assert_eq!(name_of(&c, glued.as_bytes()), None);
    }
}
