//! Who is this client: the bot it claims to be, whether that is verified, and how automated it
//! looks.
//!
//! ```
//! use bot_policy::classify::{Classifier, Signals};
//!
//! let classifier = Classifier::builtin();
//! let signals = Signals {
//!     user_agent: b"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
//!     client_ip: Some("192.0.2.1".parse().unwrap()),
//!     ..Signals::default()
//! };
//! let classification = classifier.classify(&signals);
//! let facts = classification.bot_facts();
//! assert_eq!(facts.name, "GPTBot");
//! assert_eq!(facts.category, "AI Crawler");
//! // Not from OpenAI's published ranges: a spoofed claim, scored 1.
//! assert!(facts.spoofed && !facts.verified);
//! assert_eq!(facts.score, 1);
//! ```

mod client_ip;

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use memchr::memmem::Finder;

pub use client_ip::{TrustedProxies, TrustedProxiesError};

use crate::catalog::{BotEntry, BotKind, Catalog};
use crate::facts::{BotFacts, HeaderSource};
use crate::ranges::{IpRanges, RangeRegistry};

/// The outcome of a Web Bot Auth signature check made before classification (by `web-bot-auth`'s
/// `VerifyLayer`, or by an upstream proxy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureOutcome<'a> {
    /// No signature, or none that applies.
    #[default]
    Absent,
    /// A valid signature from this `Signature-Agent` (an https origin or URL).
    Verified {
        /// The agent URL.
        agent: &'a str,
    },
    /// A signature was there and failed.
    Invalid,
}

/// A Web Bot Auth check made by some other verifier, handed to the classifier through the
/// request extensions (see `BotPolicyLayer`) or [`SignatureCheck::outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureCheck {
    /// A valid signature from this `Signature-Agent`.
    Verified {
        /// The agent URL.
        agent: String,
    },
    /// A signature was there and failed.
    Invalid,
}

impl SignatureCheck {
    /// As a [`SignatureOutcome`] for [`Signals`].
    pub fn outcome(&self) -> SignatureOutcome<'_> {
        match self {
            SignatureCheck::Verified { agent } => SignatureOutcome::Verified { agent },
            SignatureCheck::Invalid => SignatureOutcome::Invalid,
        }
    }
}

/// What the classifier looks at.
#[derive(Clone, Copy, Default)]
pub struct Signals<'a> {
    /// The `User-Agent` value (bytes; need not be UTF-8).
    pub user_agent: &'a [u8],
    /// The client's address (after [`TrustedProxies`], when behind proxies).
    pub client_ip: Option<IpAddr>,
    /// The signature check's outcome.
    pub signature: SignatureOutcome<'a>,
    /// The request's header fields, for the browser-likeness part of the score.
    pub headers: Option<&'a dyn HeaderSource>,
}

impl std::fmt::Debug for Signals<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals")
            .field("user_agent", &String::from_utf8_lossy(self.user_agent))
            .field("client_ip", &self.client_ip)
            .field("signature", &self.signature)
            .finish_non_exhaustive()
    }
}

/// How a claim was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifiedBy {
    /// A valid Web Bot Auth signature from the bot's signature agent.
    Signature,
    /// The client address is in the operator's published ranges.
    IpRange,
}

impl VerifiedBy {
    /// `signature` or `ip`.
    pub fn name(self) -> &'static str {
        match self {
            VerifiedBy::Signature => "signature",
            VerifiedBy::IpRange => "ip",
        }
    }
}

/// Who the client is, as far as can be told.
#[derive(Debug, Clone, Copy)]
pub struct Classification<'a> {
    bot: Option<&'a BotEntry>,
    automation: Option<&'a BotEntry>,
    verified_by: Option<VerifiedBy>,
    signed: bool,
    spoofed: bool,
    signature_agent: &'a str,
    score: u8,
}

impl<'a> Classification<'a> {
    /// The catalog bot the client claims to be (by signature agent, else by user agent).
    pub fn bot(&self) -> Option<&'a BotEntry> {
        self.bot
    }

    /// The automation (HTTP library, headless browser, tool) the user agent names, if any.
    pub fn automation(&self) -> Option<&'a str> {
        self.automation.map(|entry| entry.name.as_str())
    }

    /// How the claim was verified: `signature` or `ip`; `None` when it was not.
    pub fn verified_by(&self) -> Option<&'static str> {
        self.verified_by.map(VerifiedBy::name)
    }

    /// Whether the claim failed a check it should have passed.
    pub fn spoofed(&self) -> bool {
        self.spoofed
    }

    /// The heuristic automation score, 1 (automated) to 99 (browser-like).
    pub fn score(&self) -> u8 {
        self.score
    }

    /// The `bot.*` and `cf.*` fields for the rules.
    pub fn bot_facts(&self) -> BotFacts<'a> {
        let (name, operator, category) = match self.bot {
            Some(bot) => (
                bot.name.as_str(),
                bot.operator.as_str(),
                bot.category.as_str(),
            ),
            None => ("", "", ""),
        };
        BotFacts {
            name,
            operator,
            category,
            claimed: self.bot.is_some(),
            verified: self.verified_by.is_some(),
            signed: self.signed,
            spoofed: self.spoofed,
            signature_agent: self.signature_agent,
            score: self.score,
        }
    }
}

/// Classifies requests against a bot catalog and the operators' published IP ranges.
///
/// # The score
///
/// A heuristic, documented as one: 1 for spoofed claims and known-bad automation (scanners);
/// 5 for headless browsers; 10 for named bots and for HTTP libraries and command-line tools;
/// 2 for an empty user agent; 20 for a user agent that names no browser engine; and for
/// browser-like user agents 30 to 99, more for the header fields browsers send (`Accept`,
/// `Accept-Language`, `Sec-Fetch-*`). It is not a machine-learned score like Cloudflare's, and
/// rules should treat it as a hint.
///
/// # Verification
///
/// A claim is verified by a valid signature whose agent is one of the bot's signature agents (or
/// of another bot of the same operator: the operator vouches for which of its bots sent the
/// request, as OpenAI signs for its agents with one `https://chatgpt.com`), or by the client
/// address being in the bot's published ranges. Reverse-DNS verification is not
/// done (it needs DNS lookups on the request path); a claim that can only be checked that way is
/// neither verified nor spoofed. A valid signature from an agent the catalog does not know sets
/// `bot.signed` and `bot.signature_agent`, but verifies no claim: anyone can publish keys.
#[derive(Debug, Clone)]
pub struct Classifier {
    catalog: Catalog,
    ranges: RangeRegistry,
    /// What classification needs of each catalog entry, by index, resolved once: the entry's
    /// range set (looked up by name here, not per request) and its automation score.
    resolved: Arc<[ResolvedEntry]>,
}

/// The per-request facts of one catalog entry.
#[derive(Debug)]
struct ResolvedEntry {
    /// The entry's published ranges, when it names a set that the registry holds.
    ranges: Option<IpRanges>,
    /// The score of a user agent that matches the entry as automation.
    automation_score: u8,
}

impl Classifier {
    /// A classifier with this catalog and these ranges.
    pub fn new(catalog: Catalog, ranges: RangeRegistry) -> Self {
        let resolved = catalog
            .entries()
            .iter()
            .map(|entry| ResolvedEntry {
                ranges: entry
                    .ip_ranges
                    .as_deref()
                    .and_then(|name| ranges.get(name))
                    .cloned(),
                automation_score: automation_score(entry),
            })
            .collect();
        Classifier {
            catalog,
            ranges,
            resolved,
        }
    }

    /// The built-in catalog and range snapshot.
    pub fn builtin() -> Self {
        Classifier::new(Catalog::builtin(), RangeRegistry::builtin())
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The ranges.
    pub fn ranges(&self) -> &RangeRegistry {
        &self.ranges
    }

    /// Classifies one request.
    pub fn classify<'a>(&'a self, signals: &Signals<'a>) -> Classification<'a> {
        let entries = self.catalog.entries();
        let by_user_agent = self
            .catalog
            .match_user_agent_index(signals.user_agent)
            .and_then(|index| Some((index, entries.get(index)?)));
        let (ua_bot, automation) = match by_user_agent {
            Some(found) if found.1.kind == BotKind::Bot => (Some(found), None),
            Some(found) => (None, Some(found)),
            None => (None, None),
        };
        let (signed, signature_agent, signer) = match signals.signature {
            SignatureOutcome::Verified { agent } => (
                true,
                agent,
                self.catalog
                    .by_signature_agent_index(agent)
                    .and_then(|index| Some((index, entries.get(index)?))),
            ),
            _ => (false, "", None),
        };
        // A verified signature from a known agent names the bot, unless the user agent claims
        // another bot of the same operator: the operator vouches for which of its bots it is.
        let (bot, by_signature) = match (signer, ua_bot) {
            (Some(signer), Some(claimed)) if signer.1.operator == claimed.1.operator => {
                (Some(claimed), true)
            }
            (Some(signer), _) => (Some(signer), true),
            (None, claimed) => (claimed, false),
        };
        let published = bot.and_then(|(index, _)| self.resolved.get(index)?.ranges.as_ref());
        let verified_by = match bot {
            Some(_) if by_signature => Some(VerifiedBy::Signature),
            Some(_) => match (published, signals.client_ip) {
                (Some(ranges), Some(ip)) if ranges.contains(ip) => Some(VerifiedBy::IpRange),
                _ => None,
            },
            None => None,
        };
        // An unverified claim is spoofed when a check that could be made failed: an invalid
        // signature on a bot that signs, or an address outside the ranges of a bot that
        // publishes them.
        let spoofed = verified_by.is_none()
            && bot.is_some_and(|(_, bot)| {
                (!bot.signature_agents.is_empty() && signals.signature == SignatureOutcome::Invalid)
                    || (published.is_some() && signals.client_ip.is_some())
            });
        let score = if spoofed {
            1
        } else if bot.is_some() {
            10
        } else if let Some((index, tool)) = automation {
            self.resolved
                .get(index)
                .map_or_else(|| automation_score(tool), |r| r.automation_score)
        } else {
            browser_score(signals)
        };
        let bot = bot.map(|(_, bot)| bot);
        let automation = automation.map(|(_, tool)| tool);
        Classification {
            bot,
            automation,
            verified_by,
            signed,
            spoofed,
            signature_agent,
            score,
        }
    }
}

fn automation_score(tool: &BotEntry) -> u8 {
    let name = tool.name.to_ascii_lowercase();
    if tool.category == "Security" {
        1
    } else if name.contains("headless")
        || name.contains("phantom")
        || name.contains("puppeteer")
        || name.contains("playwright")
        || name.contains("selenium")
    {
        5
    } else {
        10
    }
}

/// The browser engines a browser's user agent names, as searchers built once (building a
/// `memmem` searcher costs more than running it on a user agent).
static ENGINES: LazyLock<[Finder<'static>; 6]> = LazyLock::new(|| {
    [
        Finder::new(b"AppleWebKit/"),
        Finder::new(b"Gecko/"),
        Finder::new(b"Trident/"),
        Finder::new(b"Chrome/"),
        Finder::new(b"Firefox/"),
        Finder::new(b"Safari/"),
    ]
});

/// `text/html` in an `Accept` field.
static TEXT_HTML: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"text/html"));

/// A score for a user agent that names no catalog entry.
fn browser_score(signals: &Signals<'_>) -> u8 {
    let ua = signals.user_agent;
    if ua.iter().all(u8::is_ascii_whitespace) {
        return 2;
    }
    let browser_like =
        ua.starts_with(b"Mozilla/5.0") && ENGINES.iter().any(|engine| engine.find(ua).is_some());
    if !browser_like {
        return 20;
    }
    let Some(headers) = signals.headers else {
        return 60;
    };
    // One pass over the fields (cheaper than a lookup per name).
    let (mut language, mut accept, mut fetch, mut encoding) = (false, None::<i32>, false, false);
    headers.for_each_field(&mut |name, value| {
        match name {
            "accept-language" => language = true,
            "accept" if accept.is_none() => {
                let html = TEXT_HTML.find(value).is_some() || value == b"*/*";
                accept = Some(if html { 10 } else { 5 });
            }
            "sec-fetch-mode" | "sec-ch-ua" => fetch = true,
            "accept-encoding" => encoding = true,
            _ => {}
        }
        std::ops::ControlFlow::Continue(())
    });
    let mut score: i32 = 45;
    if language {
        score += 20;
    }
    score += accept.unwrap_or(-15);
    if fetch {
        score += 15;
    }
    if encoding {
        score += 5;
    }
    u8::try_from(score.clamp(30, 99)).unwrap_or(30)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(
        ua: &str,
        ip: Option<&str>,
        signature: SignatureOutcome<'_>,
    ) -> (String, bool, bool, Option<&'static str>, u8) {
        let classifier = Classifier::builtin();
        let signals = Signals {
            user_agent: ua.as_bytes(),
            client_ip: ip.map(|ip| ip.parse().unwrap_or(IpAddr::from([0u8; 4]))),
            signature,
            headers: None,
        };
        let c = classifier.classify(&signals);
        let facts = c.bot_facts();
        (
            facts.name.to_owned(),
            facts.verified,
            facts.spoofed,
            c.verified_by(),
            facts.score,
        )
    }

    const GPTBOT: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)";

    #[test]
    fn claims_are_verified_by_published_ranges() {
        let registry = RangeRegistry::builtin();
        let ranges = registry.get("openai-gptbot");
        let inside = ranges
            .and_then(|r| r.ipv4_intervals().next())
            .map(|(first, _)| first.to_string())
            .unwrap_or_default();
        let (name, verified, spoofed, by, _) =
            classify(GPTBOT, Some(&inside), SignatureOutcome::Absent);
        assert_eq!(
            (name.as_str(), verified, spoofed, by),
            ("GPTBot", true, false, Some("ip"))
        );
        let (_, verified, spoofed, _, score) =
            classify(GPTBOT, Some("198.51.100.1"), SignatureOutcome::Absent);
        assert!(!verified && spoofed);
        assert_eq!(score, 1);
        // No address to check: claimed, neither verified nor spoofed.
        let (_, verified, spoofed, _, score) = classify(GPTBOT, None, SignatureOutcome::Absent);
        assert!(!verified && !spoofed);
        assert_eq!(score, 10);
    }

    #[test]
    fn signatures_verify_known_agents_only() {
        let (name, verified, _, by, _) = classify(
            "Mozilla/5.0",
            None,
            SignatureOutcome::Verified {
                agent: "https://chatgpt.com",
            },
        );
        assert!(!name.is_empty());
        assert!(verified);
        assert_eq!(by, Some("signature"));
        let classifier = Classifier::builtin();
        let signals = Signals {
            user_agent: b"my-agent/1.0",
            signature: SignatureOutcome::Verified {
                agent: "https://unknown.example",
            },
            ..Signals::default()
        };
        let facts = classifier.classify(&signals).bot_facts();
        assert!(facts.signed && !facts.verified && !facts.claimed);
        assert_eq!(facts.signature_agent, "https://unknown.example");
    }

    #[test]
    fn an_operators_signature_verifies_its_other_bots() {
        let openai = SignatureOutcome::Verified {
            agent: "https://chatgpt.com",
        };
        // ChatGPT-User claimed in the user agent, signed by OpenAI's agent: ChatGPT-User,
        // verified by signature.
        let ua = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot";
        let (name, verified, spoofed, by, _) = classify(ua, Some("192.0.2.1"), openai);
        assert_eq!(
            (name.as_str(), verified, spoofed, by),
            ("ChatGPT-User", true, false, Some("signature"))
        );
        // Another operator's bot in the user agent: the signer names the bot.
        let ua = "Mozilla/5.0 (compatible; ClaudeBot/1.0; +claudebot@anthropic.com)";
        let (name, verified, _, _, _) = classify(ua, None, openai);
        assert_ne!(name, "ClaudeBot");
        assert!(verified);
        // A failed signature on a bot whose operator signs makes the claim spoofed.
        let (_, verified, spoofed, _, score) = classify(
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT Agent)",
            None,
            SignatureOutcome::Invalid,
        );
        assert!(!verified && spoofed);
        assert_eq!(score, 1);
    }

    #[test]
    fn a_signature_check_from_elsewhere_is_an_outcome() {
        let check = SignatureCheck::Verified {
            agent: "https://chatgpt.com".into(),
        };
        assert_eq!(
            check.outcome(),
            SignatureOutcome::Verified {
                agent: "https://chatgpt.com"
            }
        );
        assert_eq!(SignatureCheck::Invalid.outcome(), SignatureOutcome::Invalid);
    }

    #[test]
    fn scores() {
        assert_eq!(classify("", None, SignatureOutcome::Absent).4, 2);
        assert_eq!(classify("curl/8.5.0", None, SignatureOutcome::Absent).4, 10);
        assert_eq!(
            classify("python-requests/2.32.3", None, SignatureOutcome::Absent).4,
            10
        );
        assert_eq!(classify("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", None, SignatureOutcome::Absent).4, 5);
        assert_eq!(
            classify(
                "sqlmap/1.7.2#stable (https://sqlmap.org)",
                None,
                SignatureOutcome::Absent
            )
            .4,
            1
        );
        assert_eq!(classify("my-script", None, SignatureOutcome::Absent).4, 20);
        let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
        assert_eq!(classify(browser, None, SignatureOutcome::Absent).4, 60);
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "accept",
            http::HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        headers.insert("accept-language", http::HeaderValue::from_static("en-US"));
        headers.insert("sec-fetch-mode", http::HeaderValue::from_static("navigate"));
        headers.insert("accept-encoding", http::HeaderValue::from_static("gzip"));
        let classifier = Classifier::builtin();
        let signals = Signals {
            user_agent: browser.as_bytes(),
            headers: Some(&headers),
            ..Signals::default()
        };
        assert_eq!(classifier.classify(&signals).score(), 95);
        let bare = http::HeaderMap::new();
        let signals = Signals {
            user_agent: browser.as_bytes(),
            headers: Some(&bare),
            ..Signals::default()
        };
        assert_eq!(classifier.classify(&signals).score(), 30);
    }
}
