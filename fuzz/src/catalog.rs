//! Helpers of the catalog and range targets: a naive user-agent matcher to check
//! `Catalog::match_user_agent` against, and the invariants of an `IpRanges`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bot_policy::catalog::{BotEntry, BotKind, Catalog};
use bot_policy::ranges::IpRanges;

/// Whether the byte at `index` (none: before the start or past the end) ends a word: only ASCII
/// letters and digits continue one.
fn is_boundary(haystack: &[u8], index: Option<usize>) -> bool {
    index
        .and_then(|i| haystack.get(i))
        .is_none_or(|b| !b.is_ascii_alphanumeric())
}

/// One token of a [`Reference`].
struct RefToken {
    lower: Vec<u8>,
    entry: usize,
    bot: bool,
    check_start: bool,
    check_end: bool,
}

/// A naive user-agent matcher following the rules of the catalog's documentation, to check
/// `Catalog::match_user_agent` against: every occurrence of every token (ASCII
/// case-insensitive), kept when at word boundaries (checked only on the token's alphanumeric
/// ends); a named bot beats automation, then the earliest match, then the longest token, then the
/// later entry. Tokens are grouped by their first byte, lowercased, so that each position of the
/// user agent is compared with few of them.
pub struct Reference {
    by_first: Vec<Vec<RefToken>>,
}

impl Reference {
    /// The tokens of `catalog`.
    pub fn new(catalog: &Catalog) -> Reference {
        let mut by_first: Vec<Vec<RefToken>> = (0..256).map(|_| Vec::new()).collect();
        for (entry, bot) in catalog.entries().iter().enumerate() {
            for token in &bot.tokens {
                let lower = token.as_bytes().to_ascii_lowercase();
                let Some(&first) = lower.first() else {
                    continue;
                };
                by_first[usize::from(first)].push(RefToken {
                    check_start: first.is_ascii_alphanumeric(),
                    check_end: lower.last().is_some_and(u8::is_ascii_alphanumeric),
                    lower,
                    entry,
                    bot: bot.kind == BotKind::Bot,
                });
            }
        }
        Reference { by_first }
    }

    /// The index of the entry `match_user_agent` must return.
    pub fn find(&self, user_agent: &[u8]) -> Option<usize> {
        // (bot, Reverse(start), len, entry index)
        let mut best: Option<(bool, std::cmp::Reverse<usize>, usize, usize)> = None;
        for (start, byte) in user_agent.iter().enumerate() {
            for token in &self.by_first[usize::from(byte.to_ascii_lowercase())] {
                let end = start + token.lower.len();
                let Some(text) = user_agent.get(start..end) else {
                    continue;
                };
                if !text.eq_ignore_ascii_case(&token.lower)
                    || (token.check_start && !is_boundary(user_agent, start.checked_sub(1)))
                    || (token.check_end && !is_boundary(user_agent, Some(end)))
                {
                    continue;
                }
                let rank = (
                    token.bot,
                    std::cmp::Reverse(start),
                    token.lower.len(),
                    token.entry,
                );
                if best.is_none_or(|b| rank > b) {
                    best = Some(rank);
                }
            }
        }
        best.map(|(_, _, _, entry)| entry)
    }
}

/// The position of `entry` in `catalog.entries()` (by address: the catalog hands out references
/// into its own vector).
pub fn entry_index(catalog: &Catalog, entry: &BotEntry) -> Option<usize> {
    catalog
        .entries()
        .iter()
        .position(|e| std::ptr::eq(e, entry))
}

/// `match_user_agent` never panics, returns one of the catalog's own entries, and agrees with
/// `reference` (the catalog's [`Reference`]).
pub fn check_match(catalog: &Catalog, reference: &Reference, user_agent: &[u8]) {
    let found = catalog.match_user_agent(user_agent);
    let found_at = found.map(|entry| entry_index(catalog, entry));
    assert!(
        found_at.is_none_or(|at| at.is_some()),
        "match_user_agent returned an entry that is not in entries()"
    );
    let expected = reference.find(user_agent);
    assert_eq!(
        found.map(|e| &e.name),
        expected
            .and_then(|i| catalog.entries().get(i))
            .map(|e| &e.name),
        "match_user_agent({:?}) disagrees with the documented rules",
        String::from_utf8_lossy(user_agent)
    );
}

/// The next address after `x`, if any.
fn next_v4(x: Ipv4Addr) -> Option<Ipv4Addr> {
    u32::from(x).checked_add(1).map(Ipv4Addr::from)
}
fn prev_v4(x: Ipv4Addr) -> Option<Ipv4Addr> {
    u32::from(x).checked_sub(1).map(Ipv4Addr::from)
}
fn next_v6(x: Ipv6Addr) -> Option<Ipv6Addr> {
    u128::from(x).checked_add(1).map(Ipv6Addr::from)
}
fn prev_v6(x: Ipv6Addr) -> Option<Ipv6Addr> {
    u128::from(x).checked_sub(1).map(Ipv6Addr::from)
}

/// An IPv4 address and its IPv4-mapped IPv6 spelling are looked up alike.
fn check_both_spellings(ranges: &IpRanges, v4: Ipv4Addr) -> bool {
    let as_v4 = ranges.contains(IpAddr::V4(v4));
    let as_v6 = ranges.contains(IpAddr::V6(v4.to_ipv6_mapped()));
    assert_eq!(
        as_v4,
        as_v6,
        "{v4} and {} are looked up differently",
        v4.to_ipv6_mapped()
    );
    as_v4
}

/// Addresses looked up in every set besides the interval ends.
const PROBES: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)),
    IpAddr::V4(Ipv4Addr::new(20, 171, 206, 5)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
    IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0)),
    IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xfffe, 0xffff, 0xffff)),
    IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 1, 0, 0)),
    IpAddr::V6(Ipv6Addr::new(
        0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
    )),
];

/// The invariants of a range set visible through its public API: intervals are non-empty,
/// sorted, disjoint and not adjacent (adjacent ones are merged); both ends of each are contained,
/// the addresses just outside are not (for IPv6, unless they are IPv4-mapped, which are looked up
/// in the IPv4 intervals); an IPv4 address and its mapped IPv6 form agree; `len` and `is_empty`
/// count the intervals.
pub fn check_ranges(ranges: &IpRanges) {
    let v4: Vec<(Ipv4Addr, Ipv4Addr)> = ranges.ipv4_intervals().collect();
    let v6: Vec<(Ipv6Addr, Ipv6Addr)> = ranges.ipv6_intervals().collect();
    assert_eq!(ranges.len(), v4.len() + v6.len());
    assert_eq!(ranges.is_empty(), ranges.len() == 0);

    for (i, &(first, last)) in v4.iter().enumerate() {
        assert!(first <= last, "IPv4 interval {first}..{last} is reversed");
        if let Some(&(_, previous_last)) = i.checked_sub(1).and_then(|p| v4.get(p)) {
            assert!(
                next_v4(previous_last).is_some_and(|n| n < first),
                "IPv4 intervals ..{previous_last} and {first}.. overlap or touch"
            );
        }
        assert!(check_both_spellings(ranges, first), "{first} not contained");
        assert!(check_both_spellings(ranges, last), "{last} not contained");
        if let Some(before) = prev_v4(first) {
            assert!(
                !check_both_spellings(ranges, before),
                "{before}, before {first}..{last}, is contained"
            );
        }
        if let Some(after) = next_v4(last) {
            assert!(
                !check_both_spellings(ranges, after),
                "{after}, after {first}..{last}, is contained"
            );
        }
    }

    for (i, &(first, last)) in v6.iter().enumerate() {
        assert!(first <= last, "IPv6 interval {first}..{last} is reversed");
        if let Some(&(_, previous_last)) = i.checked_sub(1).and_then(|p| v6.get(p)) {
            assert!(
                next_v6(previous_last).is_some_and(|n| n < first),
                "IPv6 intervals ..{previous_last} and {first}.. overlap or touch"
            );
        }
        assert!(ranges.contains(IpAddr::V6(first)), "{first} not contained");
        assert!(ranges.contains(IpAddr::V6(last)), "{last} not contained");
        for outside in [prev_v6(first), next_v6(last)].into_iter().flatten() {
            if outside.to_ipv4_mapped().is_none() {
                assert!(
                    !ranges.contains(IpAddr::V6(outside)),
                    "{outside}, next to {first}..{last}, is contained"
                );
            }
        }
    }

    for &probe in PROBES {
        match probe {
            IpAddr::V4(v4) => {
                check_both_spellings(ranges, v4);
            }
            IpAddr::V6(v6) => {
                let _ = ranges.contains(IpAddr::V6(v6));
            }
        }
    }
}
