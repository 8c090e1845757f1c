//! The user-agent matcher: one Aho-Corasick pass, word boundaries, best match.

use aho_corasick::{AhoCorasick, MatchKind};

use super::{BotEntry, BotKind, CatalogError};

/// What a pattern of the automaton stands for.
#[derive(Debug, Clone, Copy)]
struct Pattern {
    /// Index into the catalog's entries.
    entry: usize,
    /// Named bots beat automation.
    bot: bool,
    /// The token starts with a letter or digit, so the byte before a match must
    /// not be one.
    check_start: bool,
    /// The token ends with a letter or digit, so the byte after a match must not
    /// be one.
    check_end: bool,
}

/// The compiled tokens of a catalog.
#[derive(Debug, Clone, Default)]
pub(super) struct Matcher {
    /// `None` when the catalog has no token.
    automaton: Option<AhoCorasick>,
    /// Indexed by pattern id.
    patterns: Vec<Pattern>,
}

/// How good a match is; larger is better. Field order is priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    /// Named bots beat automation.
    bot: bool,
    /// Earlier is better, hence reversed: a user agent names itself first and
    /// mentions others later (`Feedly/1.0 (…; like FeedFetcher-Google)`).
    earlier: std::cmp::Reverse<usize>,
    /// At the same start, the longer token is the more specific.
    len: usize,
    /// On a complete tie, the later entry (an extension) wins.
    entry: usize,
}

impl Matcher {
    pub(super) fn build(entries: &[BotEntry]) -> Result<Matcher, CatalogError> {
        let mut tokens: Vec<&str> = Vec::new();
        let mut patterns = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            for token in &entry.tokens {
                tokens.push(token);
                let bytes = token.as_bytes();
                patterns.push(Pattern {
                    entry: index,
                    bot: entry.kind == BotKind::Bot,
                    check_start: bytes.first().is_some_and(u8::is_ascii_alphanumeric),
                    check_end: bytes.last().is_some_and(u8::is_ascii_alphanumeric),
                });
            }
        }
        if tokens.is_empty() {
            return Ok(Matcher::default());
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // A DFA: about 2 MB for the built-in tokens, and a quarter faster per user agent than
            // the default contiguous NFA (measured: 290 ns against 380 ns on a Chrome user agent).
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&tokens)
            .map_err(|e| CatalogError::Matcher {
                message: e.to_string(),
            })?;
        Ok(Matcher {
            automaton: Some(automaton),
            patterns,
        })
    }

    /// The index of the best entry matching `haystack`, if any.
    pub(super) fn find(&self, haystack: &[u8]) -> Option<usize> {
        let automaton = self.automaton.as_ref()?;
        let mut best: Option<Rank> = None;
        // Fails only for a match kind other than `Standard`, which `build` never
        // uses; the fallible form keeps this path free of panics regardless.
        let Ok(matches) = automaton.try_find_overlapping_iter(haystack) else {
            return None;
        };
        for found in matches {
            let (start, end) = (found.start(), found.end());
            let Some(pattern) = self.patterns.get(found.pattern().as_usize()) else {
                continue;
            };
            if (pattern.check_start && !is_boundary(haystack, start.checked_sub(1)))
                || (pattern.check_end && !is_boundary(haystack, Some(end)))
            {
                continue;
            }
            let rank = Rank {
                bot: pattern.bot,
                earlier: std::cmp::Reverse(start),
                len: end - start,
                entry: pattern.entry,
            };
            if best.is_none_or(|b| rank > b) {
                best = Some(rank);
            }
        }
        best.map(|rank| rank.entry)
    }
}

/// Whether the byte at `index` (none: before the start, or past the end) does
/// not continue a word: only ASCII letters and digits do.
#[inline]
fn is_boundary(haystack: &[u8], index: Option<usize>) -> bool {
    match index.and_then(|i| haystack.get(i)) {
        Some(byte) => !byte.is_ascii_alphanumeric(),
        None => true,
    }
}
