//! IP range sets: the address ranges operators publish for their crawlers.
//!
//! An [`IpRanges`] holds IPv4 and IPv6 ranges as sorted, merged `(first, last)`
//! intervals in two flat vectors; [`IpRanges::contains`] is a binary search that
//! does not allocate. Range sets are built from the operators' published JSON
//! ([`IpRanges::from_json`], the `{"prefixes":[{"ipv4Prefix":…},{"ipv6Prefix":…}]}`
//! format of Google, Bing, OpenAI, Perplexity and others), from plain CIDR lists
//! ([`IpRanges::from_cidr_list`]) or from any list of strings
//! ([`IpRanges::from_cidrs`]).
//!
//! A [`RangeRegistry`] names range sets; [`RangeRegistry::builtin`] is a snapshot
//! of the operators' lists shipped with the crate (see `data/ranges/README.md` for
//! each list's source and date). The catalog's
//! [`BotEntry::ip_ranges`](crate::catalog::BotEntry::ip_ranges) names refer to it.
//! A snapshot goes stale: refresh the sets at run time with
//! [`RangeRegistry::insert`] from the operators' URLs, or let the `refresh`
//! feature's `RangeRefresher` do it.
//!
//! ```
//! use std::net::IpAddr;
//! use bot_policy::ranges::{IpRanges, RangeRegistry};
//!
//! let ranges = IpRanges::from_cidr_list("# GPTBot\n20.171.206.0/24\n20.171.207.0/24\n")?;
//! assert_eq!(ranges.len(), 1); // adjacent ranges are merged
//! assert!(ranges.contains("20.171.207.255".parse::<IpAddr>()?));
//! assert!(ranges.contains("::ffff:20.171.206.1".parse::<IpAddr>()?)); // IPv4-mapped IPv6
//!
//! let registry = RangeRegistry::builtin();
//! assert!(registry.get("openai-gptbot").is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod parse;
#[cfg(feature = "refresh")]
mod refresh;
mod registry;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

#[cfg(feature = "refresh")]
pub use refresh::{
    RangeFormat, RangeRefresher, RangeRefresherBuilder, RangeSource, RefreshError, RefreshHandle,
    RefreshOutcome, RefreshReport, SourceReport,
};
pub use registry::RangeRegistry;

/// The most entries (prefixes, lines or strings) one range set may be built from.
///
/// Inputs with more entries are refused with [`RangesError::TooMany`], so a
/// hostile or corrupted download cannot exhaust memory.
pub const MAX_ENTRIES: usize = 1_000_000;

/// The longest entry text kept in an error message, in bytes.
const MAX_ERROR_TEXT: usize = 80;

/// Why a range set could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangesError {
    /// An entry of [`IpRanges::from_cidrs`] is neither a CIDR nor an address.
    #[error("entry {entry}: not a CIDR or IP address: {text:?}")]
    InvalidEntry {
        /// The entry's position, counting from 1.
        entry: usize,
        /// The entry's text (cut to 80 bytes).
        text: String,
    },
    /// A line of [`IpRanges::from_cidr_list`] is neither a CIDR nor an address.
    #[error("line {line}: not a CIDR or IP address: {text:?}")]
    InvalidLine {
        /// The line number, counting from 1.
        line: usize,
        /// The line's text without its comment (cut to 80 bytes).
        text: String,
    },
    /// The input of [`IpRanges::from_json`] is not JSON of the expected shape.
    #[error("JSON line {line}, column {column}: {message}")]
    Json {
        /// The line of the error, counting from 1.
        line: usize,
        /// The column of the error, counting from 1.
        column: usize,
        /// What the JSON parser reported.
        message: String,
    },
    /// An element of the `prefixes` array of [`IpRanges::from_json`] is unusable.
    #[error("prefix {entry}: {message}")]
    InvalidPrefix {
        /// The element's position in the `prefixes` array, counting from 1.
        entry: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The input has more than [`MAX_ENTRIES`] entries.
    #[error("more than {limit} entries")]
    TooMany {
        /// The limit that was exceeded.
        limit: usize,
    },
}

/// A set of IPv4 and IPv6 ranges with fast membership tests.
///
/// Ranges are stored as sorted, merged, inclusive `(first, last)` intervals:
/// overlapping and adjacent CIDRs collapse into one interval. Lookups are a
/// binary search over a flat vector and never allocate.
///
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are looked up as IPv4, and an
/// IPv6 range that covers part of the mapped block (`::ffff:0:0/96`) also adds the
/// matching IPv4 range, so the two spellings of an address always agree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpRanges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    creation_time: Option<String>,
}

/// The first address of the IPv4-mapped IPv6 block `::ffff:0:0/96`.
const MAPPED_FIRST: u128 = 0xffff_u128 << 32;
/// The last address of the IPv4-mapped IPv6 block.
const MAPPED_LAST: u128 = MAPPED_FIRST | u32::MAX as u128;

impl IpRanges {
    /// An empty set.
    pub fn new() -> IpRanges {
        IpRanges::default()
    }

    /// Builds a set from CIDRs (`"192.0.2.0/24"`, `"2001:db8::/32"`) or single
    /// addresses (`"192.0.2.7"`), one per item. Surrounding whitespace is ignored;
    /// host bits below the prefix length are ignored (`"192.0.2.7/24"` is
    /// `192.0.2.0/24`).
    ///
    /// # Errors
    ///
    /// [`RangesError::InvalidEntry`] naming the first bad item (counting from 1),
    /// or [`RangesError::TooMany`] for more than [`MAX_ENTRIES`] items.
    pub fn from_cidrs<I, S>(items: I) -> Result<IpRanges, RangesError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut builder = Builder::default();
        for (index, item) in items.into_iter().enumerate() {
            let text = item.as_ref();
            let net = parse::parse_net(text).ok_or_else(|| RangesError::InvalidEntry {
                entry: index + 1,
                text: cut(text),
            })?;
            builder.push(net)?;
        }
        Ok(builder.finish(None))
    }

    /// Parses a plain-text list: one CIDR or address per line; `#` starts a
    /// comment (a whole line or the rest of a line); blank lines are skipped.
    ///
    /// # Errors
    ///
    /// [`RangesError::InvalidLine`] naming the first bad line (counting from 1),
    /// or [`RangesError::TooMany`] for more than [`MAX_ENTRIES`] entries.
    pub fn from_cidr_list(text: &str) -> Result<IpRanges, RangesError> {
        parse::from_cidr_list(text)
    }

    /// Parses an operator's published JSON document:
    /// `{"creationTime":"…","prefixes":[{"ipv4Prefix":"…"},{"ipv6Prefix":"…"}]}`.
    ///
    /// This is the format of Google (`googlebot.json` and friends), Bing
    /// (`bingbot.json`), OpenAI (`gptbot.json`, `searchbot.json`,
    /// `chatgpt-user.json`), Perplexity, Apple, Common Crawl and Mistral. Unknown
    /// fields are ignored; `creationTime` is optional and kept
    /// ([`IpRanges::creation_time`]).
    ///
    /// # Errors
    ///
    /// [`RangesError::Json`] with the line and column for malformed JSON or a
    /// missing `prefixes` array, [`RangesError::InvalidPrefix`] naming the element
    /// for a prefix that does not parse, lacks both `ipv4Prefix` and `ipv6Prefix`,
    /// or has an address of the wrong family, and [`RangesError::TooMany`] for more
    /// than [`MAX_ENTRIES`] prefixes.
    pub fn from_json(json: &[u8]) -> Result<IpRanges, RangesError> {
        parse::from_json(json)
    }

    /// Whether `ip` lies in one of the ranges. Allocation-free binary search.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => lookup(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => lookup(&self.v4, u32::from(v4)),
                None => lookup(&self.v6, u128::from(v6)),
            },
        }
    }

    /// The number of merged intervals (IPv4 and IPv6 together). Overlapping or
    /// adjacent input ranges count once, so this can be less than the number of
    /// CIDRs the set was built from.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether the set holds no range at all.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// The merged IPv4 intervals, inclusive, sorted by first address.
    pub fn ipv4_intervals(&self) -> impl ExactSizeIterator<Item = (Ipv4Addr, Ipv4Addr)> + '_ {
        self.v4
            .iter()
            .map(|&(first, last)| (Ipv4Addr::from(first), Ipv4Addr::from(last)))
    }

    /// The merged IPv6 intervals, inclusive, sorted by first address.
    pub fn ipv6_intervals(&self) -> impl ExactSizeIterator<Item = (Ipv6Addr, Ipv6Addr)> + '_ {
        self.v6
            .iter()
            .map(|&(first, last)| (Ipv6Addr::from(first), Ipv6Addr::from(last)))
    }

    /// The `creationTime` of the JSON document the set was parsed from, if any.
    pub fn creation_time(&self) -> Option<&str> {
        self.creation_time.as_deref()
    }
}

/// Binary search over sorted, disjoint, inclusive intervals.
#[inline]
fn lookup<T: Copy + Ord>(intervals: &[(T, T)], x: T) -> bool {
    let after = intervals.partition_point(|&(first, _)| first <= x);
    after
        .checked_sub(1)
        .and_then(|i| intervals.get(i))
        .is_some_and(|&(_, last)| x <= last)
}

/// Cuts an entry's text for an error message, on a character boundary.
fn cut(text: &str) -> String {
    let text = text.trim();
    if text.len() <= MAX_ERROR_TEXT {
        return text.to_owned();
    }
    let mut end = MAX_ERROR_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Collects networks, then sorts and merges them.
#[derive(Default)]
struct Builder {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    entries: usize,
}

impl Builder {
    /// Counts one input entry against [`MAX_ENTRIES`].
    fn count(&mut self) -> Result<(), RangesError> {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(RangesError::TooMany { limit: MAX_ENTRIES });
        }
        Ok(())
    }

    fn push(&mut self, net: IpNet) -> Result<(), RangesError> {
        self.count()?;
        match net {
            IpNet::V4(net) => {
                self.v4
                    .push((u32::from(net.network()), u32::from(net.broadcast())));
            }
            IpNet::V6(net) => {
                let first = u128::from(net.network());
                let last = u128::from(net.broadcast());
                self.v6.push((first, last));
                // The part inside ::ffff:0:0/96 is also an IPv4 range, because
                // `contains` looks mapped addresses up as IPv4.
                let lo = first.max(MAPPED_FIRST);
                let hi = last.min(MAPPED_LAST);
                if lo <= hi {
                    // Both are within the mapped block, so the low 32 bits are the
                    // IPv4 address; the truncation is the point.
                    self.v4.push((lo as u32, hi as u32));
                }
            }
        }
        Ok(())
    }

    fn finish(self, creation_time: Option<String>) -> IpRanges {
        IpRanges {
            v4: merge(self.v4),
            v6: merge(self.v6),
            creation_time,
        }
    }
}

/// Sorts intervals and merges overlapping and adjacent ones.
fn merge<T: Copy + Ord + Successor>(mut intervals: Vec<(T, T)>) -> Vec<(T, T)> {
    intervals.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(intervals.len());
    for (first, last) in intervals {
        match merged.last_mut() {
            Some(previous) if first <= previous.1.saturating_next() => {
                if last > previous.1 {
                    previous.1 = last;
                }
            }
            _ => merged.push((first, last)),
        }
    }
    merged.shrink_to_fit();
    merged
}

/// `x + 1`, saturating at the top of the address space.
trait Successor {
    fn saturating_next(self) -> Self;
}

impl Successor for u32 {
    fn saturating_next(self) -> u32 {
        self.saturating_add(1)
    }
}

impl Successor for u128 {
    fn saturating_next(self) -> u128 {
        self.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn merges_overlapping_and_adjacent() {
        let r = IpRanges::from_cidrs([
            "10.0.0.0/25",
            "10.0.0.128/25",
            "10.0.0.64/26",
            "10.0.2.0/24",
        ])
        .unwrap();
        assert_eq!(
            r.v4,
            vec![(0x0a00_0000, 0x0a00_00ff), (0x0a00_0200, 0x0a00_02ff)]
        );
    }

    #[test]
    fn top_of_space_does_not_overflow() {
        let r = IpRanges::from_cidrs(["255.255.255.255", "255.255.255.0/24", "::/0"]).unwrap();
        assert_eq!(r.v4.len(), 1);
        assert!(r.contains("255.255.255.255".parse().unwrap()));
        assert!(r.contains("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap()));
        // ::/0 covers the mapped block, so every IPv4 address is in.
        assert!(r.contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn cut_respects_char_boundaries() {
        let long = "é".repeat(100);
        let c = cut(&long);
        assert!(c.len() <= MAX_ERROR_TEXT + '…'.len_utf8());
    }
}
