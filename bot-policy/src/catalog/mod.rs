//! The catalog of known bots, AI agents and automation tools.
//!
//! Each [`BotEntry`] names a client (`GPTBot`, `Claude-User`, `curl`, …), its
//! operator, its category (one of Cloudflare's verified-bot category strings,
//! [`CATEGORIES`]), whether it is a named bot or generic automation ([`BotKind`]),
//! the user-agent product tokens it is recognised by, and how a claim to be it
//! can be checked: a published IP range set (a name in
//! [`RangeRegistry`](crate::ranges::RangeRegistry)), reverse-DNS suffixes, or the
//! `Signature-Agent` origins of its Web Bot Auth signatures.
//!
//! The built-in data ([`Catalog::builtin`]) is the reviewable file
//! `data/catalog.toml` (sources and licences in `data/SOURCES.md`). Operators add
//! or override entries with their own TOML in the same format
//! ([`Catalog::from_toml_str`], [`Catalog::extend`]).
//!
//! # Matching
//!
//! [`Catalog::match_user_agent`] makes one pass over the user agent with an
//! ASCII case-insensitive Aho-Corasick automaton of all tokens and keeps only
//! matches at word boundaries, in the sense of a regex `\b`: where a token begins
//! (ends) with an ASCII letter or digit, the byte before (after) the match must
//! not be one (`-`, `_`, `/`, `;`, `.`, space, `(` and any non-ASCII byte are
//! boundaries). So the token `Spider` matches neither `Bytespider` nor
//! `CompanySpiderman`, `GPTBot` matches `GPTBot/1.1`, and a token `Java/` matches
//! `Java/17.0.2` but not `(Java; U; MIDP-2.0)`.
//!
//! Among the matches, a named bot beats automation (`HeadlessChrome … GPTBot` is
//! GPTBot); then the earliest match wins, because a user agent names itself
//! first and mentions others later (`Feedly/1.0 (…; like FeedFetcher-Google)` is
//! Feedly); at the same position the longest token wins (`Claude-User` beats a
//! token `Claude`). The user agent is bytes: invalid UTF-8 is fine, and the
//! search does not allocate.
//!
//! A user-agent match is a *claim*: anyone can send `GPTBot`. Whether the claim
//! holds is for the verification data of the entry to decide.
//!
//! ```
//! use bot_policy::catalog::{BotKind, Catalog};
//!
//! let catalog = Catalog::builtin();
//! let ua = b"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1; +https://openai.com/gptbot)";
//! let bot = catalog.match_user_agent(ua).expect("GPTBot is in the catalog");
//! assert_eq!(bot.name, "GPTBot");
//! assert_eq!(bot.category, "AI Crawler");
//! assert_eq!(bot.kind, BotKind::Bot);
//! assert_eq!(bot.ip_ranges.as_deref(), Some("openai-gptbot"));
//!
//! assert_eq!(catalog.match_user_agent(b"curl/8.7.1").map(|e| e.kind), Some(BotKind::Automation));
//! assert!(catalog.match_user_agent(b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0").is_none());
//! ```

mod data;
mod matcher;

use std::sync::OnceLock;

use matcher::Matcher;

/// The built-in catalog data.
const BUILTIN_TOML: &str = include_str!("../../data/catalog.toml");

/// Cloudflare's verified-bot category strings, exactly as Cloudflare spells them
/// (the values of `cf.verified_bot_category`). Every [`BotEntry::category`] is
/// one of these.
pub const CATEGORIES: [&str; 17] = [
    "Academic Research",
    "Accessibility",
    "Advertising & Marketing",
    "Aggregator",
    "AI Assistant",
    "AI Crawler",
    "AI Search",
    "Archiver",
    "Feed Fetcher",
    "Monitoring & Analytics",
    "Page Preview",
    "Search Engine Crawler",
    "Search Engine Optimization",
    "Security",
    "Social Media Marketing",
    "Webhooks",
    "Other",
];

/// Whether `category` is one of [`CATEGORIES`] (exact, case-sensitive).
pub fn is_category(category: &str) -> bool {
    CATEGORIES.contains(&category)
}

/// What sort of client an entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BotKind {
    /// A named bot or agent run by an operator (`GPTBot`, `Googlebot`,
    /// `Claude-User`, `claude-code`). `kind = "bot"` in the data.
    Bot,
    /// An HTTP library, headless browser or command-line tool that is not a named
    /// bot (`curl`, `python-requests`, `HeadlessChrome`); anyone may be behind it.
    /// `kind = "automation"` in the data.
    Automation,
}

impl BotKind {
    /// The spelling used in the data file: `"bot"` or `"automation"`.
    pub fn as_str(self) -> &'static str {
        match self {
            BotKind::Bot => "bot",
            BotKind::Automation => "automation",
        }
    }
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotEntry {
    /// The unique name, e.g. `"GPTBot"` (unique ignoring ASCII case).
    pub name: String,
    /// Who runs it, e.g. `"OpenAI"`; for automation, who makes the tool.
    pub operator: String,
    /// One of [`CATEGORIES`], e.g. `"AI Crawler"`.
    pub category: String,
    /// A named bot or generic automation.
    pub kind: BotKind,
    /// User-agent product tokens, matched ASCII case-insensitively at word
    /// boundaries (see the [module documentation](self)). May be empty for an
    /// entry known only by its signature agent.
    pub tokens: Vec<String>,
    /// The name of the range set (in a
    /// [`RangeRegistry`](crate::ranges::RangeRegistry)) the operator publishes
    /// for it, if any.
    pub ip_ranges: Option<String>,
    /// Reverse-DNS suffixes of its addresses, with a leading dot (e.g.
    /// `".googlebot.com"`), for forward-confirmed reverse DNS.
    pub rdns_suffixes: Vec<String>,
    /// The `Signature-Agent` origins its Web Bot Auth signatures name (e.g.
    /// `"https://chatgpt.com"`).
    pub signature_agents: Vec<String>,
    /// Where the operator documents it.
    pub url: Option<String>,
}

/// Why catalog data was refused. Every variant that comes from the data names
/// the line and column (counting from 1) of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The text is not TOML, or not of the catalog's shape (missing or unknown
    /// field, wrong type, unknown `kind`).
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What the TOML parser reported.
        message: String,
    },
    /// `category` is not one of [`CATEGORIES`].
    #[error(
        "line {line}, column {column}: unknown category {category:?}; expected one of Cloudflare's verified-bot categories"
    )]
    UnknownCategory {
        /// Line of the category value.
        line: usize,
        /// Column of the category value.
        column: usize,
        /// The category as written.
        category: String,
    },
    /// A token is empty or only whitespace.
    #[error("line {line}, column {column}: empty user-agent token in {name:?}")]
    EmptyToken {
        /// Line of the token.
        line: usize,
        /// Column of the token.
        column: usize,
        /// The entry's name.
        name: String,
    },
    /// Two entries have the same name (ignoring ASCII case).
    #[error(
        "line {line}, column {column}: duplicate bot name {name:?} (first on line {first_line})"
    )]
    DuplicateName {
        /// Line of the second name.
        line: usize,
        /// Column of the second name.
        column: usize,
        /// The name.
        name: String,
        /// Line of the first entry with that name.
        first_line: usize,
    },
    /// A token appears twice (ignoring ASCII case), in one entry or two.
    #[error(
        "line {line}, column {column}: token {token:?} of {name:?} is already a token of {other:?}"
    )]
    DuplicateToken {
        /// Line of the second occurrence.
        line: usize,
        /// Column of the second occurrence.
        column: usize,
        /// The token.
        token: String,
        /// The entry of the second occurrence.
        name: String,
        /// The entry of the first occurrence.
        other: String,
    },
    /// Some other value is unusable (a token with control characters, an
    /// rDNS suffix without its leading dot, a signature agent that is not an
    /// http(s) origin, an entry with neither tokens nor signature agents, …).
    #[error("line {line}, column {column}: {message}")]
    Invalid {
        /// Line of the value.
        line: usize,
        /// Column of the value.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The token automaton could not be built (only for absurdly large data).
    #[error("cannot build the user-agent matcher: {message}")]
    Matcher {
        /// What the automaton builder reported.
        message: String,
    },
}

impl CatalogError {
    /// The line of the error, counting from 1, when it comes from the data.
    pub fn line(&self) -> Option<usize> {
        match self {
            CatalogError::Syntax { line, .. }
            | CatalogError::UnknownCategory { line, .. }
            | CatalogError::EmptyToken { line, .. }
            | CatalogError::DuplicateName { line, .. }
            | CatalogError::DuplicateToken { line, .. }
            | CatalogError::Invalid { line, .. } => Some(*line),
            CatalogError::Matcher { .. } => None,
        }
    }

    /// The column of the error, counting from 1, when it comes from the data.
    pub fn column(&self) -> Option<usize> {
        match self {
            CatalogError::Syntax { column, .. }
            | CatalogError::UnknownCategory { column, .. }
            | CatalogError::EmptyToken { column, .. }
            | CatalogError::DuplicateName { column, .. }
            | CatalogError::DuplicateToken { column, .. }
            | CatalogError::Invalid { column, .. } => Some(*column),
            CatalogError::Matcher { .. } => None,
        }
    }
}

/// The catalog: entries plus a compiled user-agent matcher.
///
/// Cheap to share (`Clone`, `Send`, `Sync`); cloning copies the entries and
/// shares the automaton.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: Vec<BotEntry>,
    matcher: Matcher,
}

impl Catalog {
    /// The built-in catalog: `data/catalog.toml`, embedded at compile time and
    /// parsed once per process; each call returns a clone.
    ///
    /// Never panics. The embedded data is checked by a unit test; if it failed to
    /// parse anyway, the result would be an empty catalog and a
    /// `tracing::error!` event, so that a process keeps serving (with no bot
    /// recognised) rather than crashing.
    pub fn builtin() -> Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN
            .get_or_init(|| match Catalog::from_toml_str(BUILTIN_TOML) {
                Ok(catalog) => catalog,
                Err(error) => {
                    tracing::error!(%error, "built-in bot catalog does not parse; using an empty catalog");
                    Catalog::default()
                }
            })
            .clone()
    }

    /// Parses catalog data: a TOML document of `[[bot]]` tables.
    ///
    /// ```toml
    /// [[bot]]
    /// name = "ExampleBot"            # unique
    /// operator = "Example Inc."
    /// category = "Search Engine Crawler"   # one of CATEGORIES
    /// kind = "bot"                   # or "automation"; default "bot"
    /// tokens = ["ExampleBot"]        # user-agent product tokens
    /// ip_ranges = "examplebot"       # optional: a RangeRegistry name
    /// rdns_suffixes = [".crawl.example.com"]         # optional
    /// signature_agents = ["https://bot.example.com"] # optional
    /// url = "https://example.com/bot"                # optional
    /// ```
    ///
    /// # Errors
    ///
    /// A [`CatalogError`] with the line and column of the first problem: bad
    /// TOML or an unknown field, an unknown category string, an empty token, a
    /// duplicate name or token (ignoring ASCII case), and the checks listed on
    /// [`CatalogError::Invalid`].
    pub fn from_toml_str(src: &str) -> Result<Catalog, CatalogError> {
        let entries = data::parse(src)?;
        let matcher = Matcher::build(&entries)?;
        Ok(Catalog { entries, matcher })
    }

    /// Adds `other`'s entries: an entry whose name equals (ignoring ASCII case)
    /// an existing one replaces it in place; the others are appended. Use it to
    /// layer an operator's own entries over [`Catalog::builtin`].
    ///
    /// When a token ends up in two entries, the match goes to the one later in
    /// [`Catalog::entries`] (appended entries come last), other rules being equal.
    /// If the combined automaton cannot be built (only for absurdly large data)
    /// the catalog is left unchanged and a `tracing::error!` is emitted.
    pub fn extend(&mut self, other: Catalog) {
        let mut entries = self.entries.clone();
        for entry in other.entries {
            match entries
                .iter_mut()
                .find(|existing| existing.name.eq_ignore_ascii_case(&entry.name))
            {
                Some(existing) => *existing = entry,
                None => entries.push(entry),
            }
        }
        match Matcher::build(&entries) {
            Ok(matcher) => {
                self.entries = entries;
                self.matcher = matcher;
            }
            Err(error) => {
                tracing::error!(%error, "cannot extend the bot catalog; left unchanged");
            }
        }
    }

    /// All entries, in data order (built-in first, then extensions).
    pub fn entries(&self) -> &[BotEntry] {
        &self.entries
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry called `name`, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&BotEntry> {
        self.entries
            .iter()
            .find(|entry| entry.name.eq_ignore_ascii_case(name))
    }

    /// The entry a user agent claims to be, if any: one allocation-free pass over
    /// the bytes (see the [module documentation](self) for the rules).
    pub fn match_user_agent(&self, user_agent: &[u8]) -> Option<&BotEntry> {
        self.match_user_agent_index(user_agent)
            .and_then(|index| self.entries.get(index))
    }

    /// Like [`Catalog::match_user_agent`], the entry's index in [`Catalog::entries`].
    pub(crate) fn match_user_agent_index(&self, user_agent: &[u8]) -> Option<usize> {
        self.matcher.find(user_agent)
    }

    /// The entry whose Web Bot Auth signatures name `origin` as their
    /// `Signature-Agent`, if any.
    ///
    /// The comparison ignores ASCII case, surrounding whitespace, one pair of
    /// surrounding double quotes (the legacy string form of the header) and a
    /// trailing `/`, so `"https://chatgpt.com/"` finds `https://chatgpt.com`.
    pub fn by_signature_agent(&self, origin: &str) -> Option<&BotEntry> {
        self.by_signature_agent_index(origin)
            .and_then(|index| self.entries.get(index))
    }

    /// Like [`Catalog::by_signature_agent`], the entry's index in [`Catalog::entries`].
    pub(crate) fn by_signature_agent_index(&self, origin: &str) -> Option<usize> {
        let wanted = normalize_origin(origin);
        if wanted.is_empty() {
            return None;
        }
        self.entries.iter().rposition(|entry| {
            entry
                .signature_agents
                .iter()
                .any(|agent| normalize_origin(agent).eq_ignore_ascii_case(wanted))
        })
    }
}

/// Trims whitespace, one pair of double quotes and trailing slashes.
fn normalize_origin(origin: &str) -> &str {
    let origin = origin.trim();
    let origin = origin
        .strip_prefix('"')
        .and_then(|o| o.strip_suffix('"'))
        .unwrap_or(origin);
    origin.trim().trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// The fallback in `builtin` must never be needed.
    #[test]
    fn builtin_data_parses() {
        let catalog = Catalog::from_toml_str(BUILTIN_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert!(catalog.len() > 200, "{} entries", catalog.len());
        assert_eq!(Catalog::builtin().len(), catalog.len());
    }

    /// Every `ip_ranges` name of the built-in catalog exists in the built-in
    /// range registry.
    #[test]
    fn builtin_range_names_exist() {
        let registry = crate::ranges::RangeRegistry::builtin();
        for entry in Catalog::builtin().entries() {
            if let Some(name) = &entry.ip_ranges {
                assert!(
                    registry.get(name).is_some(),
                    "{}: no range set {name:?}",
                    entry.name
                );
            }
        }
    }

    #[test]
    fn origin_normalisation() {
        assert_eq!(
            normalize_origin(" \"https://chatgpt.com/\" "),
            "https://chatgpt.com"
        );
        assert_eq!(normalize_origin("\""), "\"");
        assert_eq!(normalize_origin(""), "");
    }

    #[test]
    fn catalog_is_send_sync() {
        fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
        check::<Catalog>();
    }
}
