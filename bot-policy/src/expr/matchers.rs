//! The compiled forms of comparisons: byte searches, wildcard patterns and sets.

use std::collections::HashSet;
use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Anchored, Input, MatchKind, StartKind};
use memchr::memmem;

/// Case folding applied to the left-hand side by `lower()` or `upper()`, compared without building
/// the folded string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fold {
    None,
    Lower,
    Upper,
}

impl Fold {
    pub(crate) fn apply(self, b: u8) -> u8 {
        match self {
            Fold::None => b,
            Fold::Lower => b.to_ascii_lowercase(),
            Fold::Upper => b.to_ascii_uppercase(),
        }
    }

    /// Whether `literal` can be the result of this fold (`lower(x)` never holds `A`).
    pub(crate) fn can_produce(self, literal: &[u8]) -> bool {
        match self {
            Fold::None => true,
            Fold::Lower => !literal.iter().any(u8::is_ascii_uppercase),
            Fold::Upper => !literal.iter().any(u8::is_ascii_lowercase),
        }
    }

    /// `fold(value) == literal`
    pub(crate) fn equals(self, value: &[u8], literal: &[u8]) -> bool {
        value.len() == literal.len() && value.iter().zip(literal).all(|(&v, &l)| self.apply(v) == l)
    }
}

/// A substring search: `memmem` when case matters, an ASCII case-insensitive automaton when the
/// left-hand side is folded. Both run in time linear in the haystack.
#[derive(Debug, Clone)]
pub(crate) enum Substring {
    Exact(Box<memmem::Finder<'static>>),
    AsciiCaseless(AhoCorasick),
    /// The literal cannot occur (a folded left-hand side and a literal the fold cannot produce).
    Never,
}

impl Substring {
    pub(crate) fn new(literal: &[u8], fold: Fold, case_insensitive: bool) -> Result<Self, String> {
        if !case_insensitive && !fold.can_produce(literal) {
            return Ok(Substring::Never);
        }
        if fold == Fold::None && !case_insensitive {
            return Ok(Substring::Exact(Box::new(
                memmem::Finder::new(literal).into_owned(),
            )));
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .start_kind(StartKind::Both)
            .build([literal])
            .map_err(|e| e.to_string())?;
        Ok(Substring::AsciiCaseless(automaton))
    }

    /// The end of the first occurrence at or after `from`.
    pub(crate) fn find_end(&self, haystack: &[u8], from: usize) -> Option<usize> {
        let rest = haystack.get(from..)?;
        match self {
            Substring::Exact(finder) => {
                let needle = finder.needle();
                // On short values a plain scan beats setting up the vectorised search.
                if rest.len() <= 64 {
                    let Some(&first) = needle.first() else {
                        return Some(from);
                    };
                    return rest
                        .windows(needle.len())
                        .position(|window| window[0] == first && window == needle)
                        .map(|at| from + at + needle.len());
                }
                finder.find(rest).map(|at| from + at + needle.len())
            }
            Substring::AsciiCaseless(automaton) => automaton
                .find(Input::new(haystack).range(from..))
                .map(|m| m.end()),
            Substring::Never => None,
        }
    }

    pub(crate) fn is_in(&self, haystack: &[u8]) -> bool {
        self.find_end(haystack, 0).is_some()
    }

    /// Whether the literal occurs exactly at `at` (an anchored search).
    fn is_at(&self, haystack: &[u8], at: usize) -> Option<usize> {
        match self {
            Substring::Exact(finder) => {
                let needle = finder.needle();
                haystack
                    .get(at..at + needle.len())
                    .filter(|window| *window == needle)
                    .map(|_| at + needle.len())
            }
            Substring::AsciiCaseless(automaton) => automaton
                .find(Input::new(haystack).range(at..).anchored(Anchored::Yes))
                .map(|m| m.end()),
            Substring::Never => None,
        }
    }

    fn len(&self) -> usize {
        match self {
            Substring::Exact(finder) => finder.needle().len(),
            Substring::AsciiCaseless(automaton) => automaton.max_pattern_len(),
            Substring::Never => 0,
        }
    }
}

/// A `wildcard` / `strict wildcard` pattern: literal segments between `*`, matched against the
/// whole value. Greedy leftmost matching of the middle segments is exact for `*`-only patterns and
/// linear in the value.
#[derive(Debug, Clone)]
pub(crate) struct Wildcard {
    first: Substring,
    middle: Vec<Substring>,
    last: Option<Substring>,
}

impl Wildcard {
    /// Parses a pattern (`\*` is a literal star, `\\` a backslash; `**` is refused).
    pub(crate) fn new(pattern: &[u8], case_insensitive: bool, fold: Fold) -> Result<Self, String> {
        let mut segments: Vec<Vec<u8>> = vec![Vec::new()];
        let mut i = 0;
        let mut last_was_star = false;
        while i < pattern.len() {
            match pattern[i] {
                b'\\' => match pattern.get(i + 1) {
                    Some(&c @ (b'*' | b'\\')) => {
                        if let Some(segment) = segments.last_mut() {
                            segment.push(c);
                        }
                        i += 2;
                        last_was_star = false;
                        continue;
                    }
                    _ => return Err("in a wildcard pattern `\\` escapes only `*` and `\\`".into()),
                },
                b'*' => {
                    if last_was_star {
                        return Err("`**` is not allowed in a wildcard pattern".into());
                    }
                    segments.push(Vec::new());
                    last_was_star = true;
                }
                c => {
                    if let Some(segment) = segments.last_mut() {
                        segment.push(c);
                    }
                    last_was_star = false;
                }
            }
            i += 1;
        }
        let make = |segment: &[u8]| Substring::new(segment, fold, case_insensitive);
        let first = make(&segments[0])?;
        let last = if segments.len() > 1 {
            segments.last().map(|s| make(s)).transpose()?
        } else {
            None
        };
        let middle = if segments.len() > 2 {
            segments[1..segments.len() - 1]
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| make(s))
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(Wildcard {
            first,
            middle,
            last,
        })
    }

    pub(crate) fn is_match(&self, value: &[u8]) -> bool {
        let Some(mut at) = self.first.is_at(value, 0) else {
            return false;
        };
        let Some(last) = &self.last else {
            // No `*`: the whole value is the literal.
            return at == value.len();
        };
        let suffix_len = last.len();
        let Some(suffix_start) = value.len().checked_sub(suffix_len) else {
            return false;
        };
        if suffix_start < at || last.is_at(value, suffix_start) != Some(value.len()) {
            return false;
        }
        let body = &value[..suffix_start];
        for segment in &self.middle {
            match segment.find_end(body, at) {
                Some(end) => at = end,
                None => return false,
            }
        }
        true
    }
}

/// Byte strings for `in`: a hash set (with a fast hasher), or a short list scanned in place.
#[derive(Debug, Clone)]
pub(crate) enum StrSet {
    Few(Vec<Box<[u8]>>),
    Many(HashSet<Box<[u8]>, foldhash::fast::FixedState>),
}

impl StrSet {
    pub(crate) fn new(items: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let items: Vec<Box<[u8]>> = items.into_iter().map(Vec::into_boxed_slice).collect();
        if items.len() <= 6 {
            StrSet::Few(items)
        } else {
            StrSet::Many(items.into_iter().collect())
        }
    }

    pub(crate) fn contains(&self, value: &[u8]) -> bool {
        match self {
            StrSet::Few(items) => items.iter().any(|item| **item == *value),
            StrSet::Many(set) => set.contains(value),
        }
    }
}

/// Sorted, merged, inclusive ranges, searched by bisection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ranges<T> {
    ranges: Vec<(T, T)>,
}

impl<T: Ord + Copy + Successor> Ranges<T> {
    pub(crate) fn new(mut ranges: Vec<(T, T)>) -> Self {
        ranges.retain(|(lo, hi)| lo <= hi);
        ranges.sort_unstable();
        let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if last.1 >= lo || last.1.successor() == Some(lo) => {
                    last.1 = last.1.max(hi)
                }
                _ => merged.push((lo, hi)),
            }
        }
        merged.shrink_to_fit();
        Ranges { ranges: merged }
    }

    pub(crate) fn contains(&self, value: T) -> bool {
        let index = self.ranges.partition_point(|(lo, _)| *lo <= value);
        index > 0 && self.ranges[index - 1].1 >= value
    }
}

/// The next value, for merging adjacent ranges.
pub(crate) trait Successor: Sized {
    fn successor(self) -> Option<Self>;
}

impl Successor for i64 {
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

impl Successor for u32 {
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

impl Successor for u128 {
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

/// Addresses, CIDRs and address ranges, IPv4 and IPv6 kept apart.
#[derive(Debug, Clone, Default)]
pub(crate) struct IpSet {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
}

impl IpSet {
    pub(crate) fn new(ranges: impl IntoIterator<Item = (IpAddr, IpAddr)>) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (lo, hi) in ranges {
            match (lo.to_canonical(), hi.to_canonical()) {
                (IpAddr::V4(lo), IpAddr::V4(hi)) => v4.push((u32::from(lo), u32::from(hi))),
                (IpAddr::V6(lo), IpAddr::V6(hi)) => v6.push((u128::from(lo), u128::from(hi))),
                _ => {}
            }
        }
        IpSet {
            v4: Ranges::new(v4),
            v6: Ranges::new(v6),
        }
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(ip) => self.v4.contains(u32::from(ip)),
            IpAddr::V6(ip) => self.v6.contains(u128::from(ip)),
        }
    }
}

/// Parses one member of an address set: an address, a CIDR, or `a..b`.
pub(crate) fn parse_ip_item(text: &str) -> Result<(IpAddr, IpAddr), String> {
    if let Some((lo, hi)) = text.split_once("..") {
        let lo: IpAddr = lo
            .parse()
            .map_err(|_| format!("`{lo}` is not an IP address"))?;
        let hi: IpAddr = hi
            .parse()
            .map_err(|_| format!("`{hi}` is not an IP address"))?;
        if lo.is_ipv4() != hi.is_ipv4() || lo > hi {
            return Err(format!(
                "`{text}` is not a range from a lower to a higher address of one family"
            ));
        }
        return Ok((lo, hi));
    }
    if text.contains('/') {
        let net: ipnet::IpNet = text
            .parse()
            .map_err(|_| format!("`{text}` is not a CIDR"))?;
        if net.trunc() != net {
            return Err(format!(
                "`{text}` has host bits set; the network is `{}`",
                net.trunc()
            ));
        }
        return Ok((net.network(), net.broadcast()));
    }
    let ip: IpAddr = text
        .parse()
        .map_err(|_| format!("`{text}` is not an IP address or CIDR"))?;
    Ok((ip, ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wildcard(pattern: &str, ci: bool) -> Wildcard {
        Wildcard::new(pattern.as_bytes(), ci, Fold::None).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn wildcard_matches_the_whole_value() {
        let w = wildcard("https://example.com/a/*", true);
        assert!(w.is_match(b"https://example.com/a/"));
        assert!(w.is_match(b"https://EXAMPLE.com/a/page.html"));
        assert!(w.is_match(b"https://example.com/a/sub/folder/?name=value"));
        assert!(!w.is_match(b"https://example.com/ab/"));
        assert!(!w.is_match(b"https://sub.example.com/a/"));
        let w = wildcard("*.example.com/*/page.html", true);
        assert!(w.is_match(b"http://sub.example.com/folder/page.html"));
        assert!(w.is_match(b"https://admin.example.com/team/subteam/page.html"));
        assert!(!w.is_match(b"https://example.com/ab/page.html"));
        assert!(!w.is_match(b"https://sub.example.com/folder2/page.html?s=value"));
        let w = wildcard("/AdminTeam/*", false);
        assert!(w.is_match(b"/AdminTeam/x"));
        assert!(!w.is_match(b"/adminteam/x"));
        assert!(wildcard("*", true).is_match(b""));
        assert!(wildcard("a*a", true).is_match(b"aa"));
        assert!(!wildcard("a*a", true).is_match(b"a"));
        assert!(wildcard("*ab*ab*", true).is_match(b"xxabyyab"));
        assert!(wildcard(r"a\*b", true).is_match(b"a*b"));
        assert!(!wildcard(r"a\*b", true).is_match(b"axb"));
        assert!(wildcard("abc", true).is_match(b"ABC"));
        assert!(!wildcard("abc", true).is_match(b"abcd"));
        assert!(Wildcard::new(b"a**b", true, Fold::None).is_err());
        assert!(Wildcard::new(br"a\b", true, Fold::None).is_err());
    }

    #[test]
    fn wildcard_is_linear_on_hostile_input() {
        let value = vec![b'a'; 1 << 20];
        let w = wildcard("*a*a*a*a*a*b", true);
        assert!(!w.is_match(&value));
    }

    #[test]
    fn folded_searches() {
        let s = Substring::new(b"sqlmap", Fold::Lower, false).unwrap_or(Substring::Never);
        assert!(s.is_in(b"Mozilla SQLMap/1.7"));
        let never = Substring::new(b"SQLmap", Fold::Lower, false).unwrap_or(Substring::Never);
        assert!(!never.is_in(b"SQLmap"));
        assert!(Fold::Lower.equals(b"WWW.Example.com", b"www.example.com"));
        assert!(!Fold::Lower.equals(b"WWW.Example.com", b"www.Example.com"));
    }

    #[test]
    fn ranges_merge_and_search() {
        let r = Ranges::new(vec![(10i64, 20), (21, 25), (30, 40), (35, 50), (5, 5)]);
        assert_eq!(r.ranges, vec![(5, 5), (10, 25), (30, 50)]);
        for (v, want) in [
            (4, false),
            (5, true),
            (6, false),
            (10, true),
            (25, true),
            (26, false),
            (50, true),
            (51, false),
        ] {
            assert_eq!(r.contains(v), want, "{v}");
        }
        let set = IpSet::new(
            [
                "192.0.2.0/24",
                "2001:db8::/32",
                "198.51.100.3..198.51.100.7",
            ]
            .map(|s| parse_ip_item(s).unwrap_or_else(|e| panic!("{e}"))),
        );
        for (ip, want) in [
            ("192.0.2.0", true),
            ("192.0.2.255", true),
            ("192.0.3.0", false),
            ("::ffff:192.0.2.1", true),
            ("2001:db8::1", true),
            ("2001:db9::", false),
            ("198.51.100.7", true),
            ("198.51.100.8", false),
        ] {
            assert_eq!(
                set.contains(ip.parse().unwrap_or(IpAddr::from([0u8; 4]))),
                want,
                "{ip}"
            );
        }
        assert!(parse_ip_item("192.0.2.1/24").is_err());
        assert!(parse_ip_item("192.0.2.9..192.0.2.1").is_err());
        assert!(parse_ip_item("300.1.1.1").is_err());
    }
}
