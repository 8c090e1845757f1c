//! The user-agent matcher: an anchored Aho-Corasick walk from each place a token can start,
//! word boundaries, best match.
//!
//! A token that starts with a letter or digit can only match at the start of a word (the byte
//! before it is not a letter or digit), so instead of running the automaton over every byte of
//! the user agent, the matcher walks an anchored automaton from each word start (and, when the
//! catalog has tokens that start with punctuation, from each punctuation byte). The walk stops at
//! the automaton's dead state, usually after one to three bytes. A browser's user agent has about
//! twenty word starts; this costs about a third of an unanchored overlapping search.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

use super::{BotEntry, BotKind, CatalogError};

/// What a pattern of the automaton stands for.
#[derive(Debug, Clone, Copy)]
struct Pattern {
    /// Index into the catalog's entries.
    entry: usize,
    /// Named bots beat automation.
    bot: bool,
    /// The token's length in bytes.
    len: usize,
    /// The token ends with a letter or digit, so the byte after a match must not
    /// be one.
    check_end: bool,
}

/// The compiled tokens of a catalog.
#[derive(Debug, Clone, Default)]
pub(super) struct Matcher {
    /// `None` when the catalog has no token.
    automaton: Option<DFA>,
    /// Indexed by pattern id.
    patterns: Vec<Pattern>,
    /// Some token starts with a byte that is not a letter or digit: walks start at such bytes
    /// too, wherever they are.
    punctuation_starts: bool,
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
        let mut punctuation_starts = false;
        for (index, entry) in entries.iter().enumerate() {
            for token in &entry.tokens {
                tokens.push(token);
                let bytes = token.as_bytes();
                punctuation_starts |= bytes.first().is_some_and(|b| !b.is_ascii_alphanumeric());
                patterns.push(Pattern {
                    entry: index,
                    bot: entry.kind == BotKind::Bot,
                    len: bytes.len(),
                    check_end: bytes.last().is_some_and(u8::is_ascii_alphanumeric),
                });
            }
        }
        if tokens.is_empty() {
            return Ok(Matcher::default());
        }
        // A DFA (about 2 MB for the built-in tokens): one table lookup per byte.
        let automaton = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Anchored)
            .build(&tokens)
            .map_err(|e| CatalogError::Matcher {
                message: e.to_string(),
            })?;
        Ok(Matcher {
            automaton: Some(automaton),
            patterns,
            punctuation_starts,
        })
    }

    /// The index of the best entry matching `haystack`, if any.
    pub(super) fn find(&self, haystack: &[u8]) -> Option<usize> {
        let automaton = self.automaton.as_ref()?;
        // Fails only for an automaton built without anchored starts, which `build` never makes.
        let start = automaton.start_state(Anchored::Yes).ok()?;
        let mut best: Option<Rank> = None;
        let is_word = |at: usize| haystack.get(at).is_some_and(|b| WORD_BYTE[usize::from(*b)]);
        let mut at = 0;
        while at < haystack.len() {
            // `at` is at punctuation or at the start of a word.
            let word = is_word(at);
            if (word || self.punctuation_starts)
                && let Some(rank) = self.walk(automaton, start, haystack, at)
            {
                if best.is_none_or(|b| rank > b) {
                    best = Some(rank);
                }
                // A named bot found here cannot be beaten by a later start.
                if rank.bot {
                    break;
                }
            }
            at += 1;
            if word {
                // The rest of the word: no token can start inside it.
                while is_word(at) {
                    at += 1;
                }
            }
        }
        best.map(|rank| rank.entry)
    }

    /// The best token that starts at `at` and ends at a word boundary, if any.
    #[inline]
    fn walk(&self, automaton: &DFA, start: StateID, haystack: &[u8], at: usize) -> Option<Rank> {
        let mut best: Option<Rank> = None;
        let mut state = start;
        let mut end = at;
        while let Some(&byte) = haystack.get(end) {
            state = automaton.next_state(Anchored::Yes, state, byte);
            end += 1;
            if !automaton.is_special(state) {
                continue;
            }
            if automaton.is_dead(state) {
                break;
            }
            if !automaton.is_match(state) {
                continue;
            }
            for index in 0..automaton.match_len(state) {
                let id = automaton.match_pattern(state, index);
                let Some(pattern) = self.patterns.get(id.as_usize()) else {
                    continue;
                };
                // Only tokens that start here (a state can also carry shorter tokens that are
                // suffixes of the walk), and end at a boundary.
                if end.checked_sub(pattern.len) != Some(at)
                    || (pattern.check_end && !is_boundary(haystack, Some(end)))
                {
                    continue;
                }
                let rank = Rank {
                    bot: pattern.bot,
                    earlier: std::cmp::Reverse(at),
                    len: pattern.len,
                    entry: pattern.entry,
                };
                if best.is_none_or(|b| rank > b) {
                    best = Some(rank);
                }
            }
        }
        best
    }
}

/// The bytes that continue a word: ASCII letters and digits.
static WORD_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

/// Whether the byte at `index` (none: before the start, or past the end) does
/// not continue a word: only ASCII letters and digits do.
#[inline]
fn is_boundary(haystack: &[u8], index: Option<usize>) -> bool {
    match index.and_then(|i| haystack.get(i)) {
        Some(byte) => !byte.is_ascii_alphanumeric(),
        None => true,
    }
}
