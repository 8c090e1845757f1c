//! Group `ip_ranges`: is an address in a set of published crawler ranges? Our
//! [`bot_policy::ranges::IpRanges`] (sorted, merged intervals, binary search) against
//! `prefix-trie` 0.10 (a binary prefix trie, `JointPrefixSet<ipnet::IpNet>`, asked
//! `is_covered`) and `ip_network_table` 0.2 (a tree-bitmap longest-prefix-match table, asked
//! `longest_match`), on one big set.
//!
//! Target (from the issue): IPv4 and IPv6, one lookup under 30 ns over thousands of ranges
//! ([`LOOKUP_BUDGET_NS`]). The ratios against the peers carry a target of 1 (at most the peer's
//! time), as in the other groups.
//!
//! The set is the union of every built-in set: every prefix of every JSON document under
//! `bot-policy/data/ranges/` (3,491 prefixes, 2,911 IPv4 and 580 IPv6, when this was written),
//! given to each implementation as published (ours merges them into 965 IPv4 and 74 IPv6
//! intervals, the tries keep them as prefixes). [`Fixtures::check`] makes sure all three, and the built-in
//! [`RangeRegistry`] asked set by set, agree on every address the cases use and around the
//! edges of every prefix.
//!
//! Each case rotates through [`ROTATION`] addresses, the same ones for every implementation,
//! shuffled, so that neither the branch predictor nor the caches see one address over and over;
//! one iteration is one lookup (criterion's median is the time per lookup). The addresses are
//! chosen deterministically:
//!
//! - hits: one address at a pseudo-random offset inside prefixes spread evenly over the
//!   published list;
//! - misses: half just past the end of a merged interval (close to the set, so a trie walks down
//!   beside a real prefix), half pseudo-random outside the set (IPv4 anywhere, IPv6 in the global
//!   unicast block `2000::/3`), as a browser's address would be.
//!
//! The `googlebot` cases time what classification does, by set name through
//! [`RangeRegistry::contains`], against the same lookups on the set itself: half Googlebot's
//! addresses, half addresses just past its intervals, IPv4 and IPv6 mixed. The `harness` case is
//! the rotation without a lookup: what every case pays on top of its lookup.

use std::cell::Cell;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::rc::Rc;

use bot_policy::ranges::{IpRanges, RangeRegistry};
use ip_network::IpNetwork;
use ip_network_table::IpNetworkTable;
use ipnet::IpNet;
use prefix_trie::joint::JointPrefixSet;

use super::{Case, Ratio};

/// The group name.
pub const GROUP: &str = "ip_ranges";

/// Case names.
pub mod names {
    /// Ours: [`IpRanges::contains`](bot_policy::ranges::IpRanges::contains), IPv4 addresses in
    /// the set.
    pub const OURS_V4_HIT: &str = "ours/v4-hit";
    /// Ours: IPv4 addresses outside the set.
    pub const OURS_V4_MISS: &str = "ours/v4-miss";
    /// Ours: IPv6 addresses in the set.
    pub const OURS_V6_HIT: &str = "ours/v6-hit";
    /// Ours: IPv6 addresses outside the set.
    pub const OURS_V6_MISS: &str = "ours/v6-miss";
    /// `prefix-trie`: `JointPrefixSet::is_covered`, IPv4 addresses in the set.
    pub const PT_V4_HIT: &str = "prefix-trie-0.10/v4-hit";
    /// `prefix-trie`: IPv4 addresses outside the set.
    pub const PT_V4_MISS: &str = "prefix-trie-0.10/v4-miss";
    /// `prefix-trie`: IPv6 addresses in the set.
    pub const PT_V6_HIT: &str = "prefix-trie-0.10/v6-hit";
    /// `prefix-trie`: IPv6 addresses outside the set.
    pub const PT_V6_MISS: &str = "prefix-trie-0.10/v6-miss";
    /// `ip_network_table`: `IpNetworkTable::longest_match`, IPv4 addresses in the set.
    pub const INT_V4_HIT: &str = "ip_network_table-0.2/v4-hit";
    /// `ip_network_table`: IPv4 addresses outside the set.
    pub const INT_V4_MISS: &str = "ip_network_table-0.2/v4-miss";
    /// `ip_network_table`: IPv6 addresses in the set.
    pub const INT_V6_HIT: &str = "ip_network_table-0.2/v6-hit";
    /// `ip_network_table`: IPv6 addresses outside the set.
    pub const INT_V6_MISS: &str = "ip_network_table-0.2/v6-miss";
    /// Ours: `IpRanges::contains` on the built-in `googlebot` set, mixed addresses.
    pub const OURS_GOOGLEBOT_SET: &str = "ours/googlebot-set/mixed";
    /// Ours: `RangeRegistry::contains("googlebot", ip)` on the built-in registry, the same
    /// addresses.
    pub const OURS_GOOGLEBOT_REGISTRY: &str = "ours/registry-contains-googlebot/mixed";
    /// The rotation alone (no lookup): the harness cost included in every case.
    pub const HARNESS: &str = "harness/rotation-only";
}

/// Budget for one lookup over thousands of ranges, in nanoseconds.
pub const LOOKUP_BUDGET_NS: f64 = 30.0;

/// How many addresses each case rotates through.
pub const ROTATION: usize = 256;

/// The ratios the report shows.
pub const RATIOS: &[Ratio] = &[
    Ratio {
        label: "ours / prefix-trie, IPv4 hit",
        numerator: names::OURS_V4_HIT,
        denominator: names::PT_V4_HIT,
        target: Some(1.0),
    },
    Ratio {
        label: "ours / prefix-trie, IPv4 miss",
        numerator: names::OURS_V4_MISS,
        denominator: names::PT_V4_MISS,
        target: Some(1.0),
    },
    Ratio {
        label: "ours / prefix-trie, IPv6 hit",
        numerator: names::OURS_V6_HIT,
        denominator: names::PT_V6_HIT,
        target: Some(1.0),
    },
    Ratio {
        label: "ours / prefix-trie, IPv6 miss",
        numerator: names::OURS_V6_MISS,
        denominator: names::PT_V6_MISS,
        target: Some(1.0),
    },
    Ratio {
        label: "ours / ip_network_table, IPv4 hit",
        numerator: names::OURS_V4_HIT,
        denominator: names::INT_V4_HIT,
        target: Some(1.0),
    },
    Ratio {
        label: "ours / ip_network_table, IPv4 miss",
        numerator: names::OURS_V4_MISS,
        denominator: names::INT_V4_MISS,
        target: Some(1.0),
    },
    Ratio {
        label: "ours / ip_network_table, IPv6 hit",
        numerator: names::OURS_V6_HIT,
        denominator: names::INT_V6_HIT,
        target: Some(1.0),
    },
    Ratio {
        label: "ours / ip_network_table, IPv6 miss",
        numerator: names::OURS_V6_MISS,
        denominator: names::INT_V6_MISS,
        target: Some(1.0),
    },
    Ratio {
        label: "registry lookup by name / the googlebot set itself",
        numerator: names::OURS_GOOGLEBOT_REGISTRY,
        denominator: names::OURS_GOOGLEBOT_SET,
        target: None,
    },
];

/// The built-in set the `googlebot` cases ask for.
const GOOGLEBOT: &str = "googlebot";

/// [`ROTATION`] addresses and, for each, whether it is in the set the case asks.
#[derive(Debug, Clone)]
pub struct Addresses {
    /// The addresses, in the order the case visits them.
    pub ips: [IpAddr; ROTATION],
    /// Whether each address is in the set.
    pub expected: [bool; ROTATION],
}

impl Addresses {
    /// Shuffles `(address, expected)` pairs deterministically; there must be [`ROTATION`].
    fn shuffled(mut pairs: Vec<(IpAddr, bool)>, rng: &mut SplitMix) -> Result<Self, String> {
        if pairs.len() != ROTATION {
            return Err(format!("{} addresses, expected {ROTATION}", pairs.len()));
        }
        for i in (1..pairs.len()).rev() {
            pairs.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut ips = [IpAddr::from([0, 0, 0, 0]); ROTATION];
        let mut expected = [false; ROTATION];
        for (i, (ip, e)) in pairs.into_iter().enumerate() {
            ips[i] = ip;
            expected[i] = e;
        }
        Ok(Addresses { ips, expected })
    }
}

/// The sets, built once for each implementation, and the addresses the cases look up.
pub struct Fixtures {
    /// Every published prefix of every built-in set, host bits cleared, file by file.
    pub prefixes: Vec<IpNet>,
    /// Ours: the union as one [`IpRanges`].
    pub ours: IpRanges,
    /// `prefix-trie`: the union as a `JointPrefixSet`.
    pub prefix_trie: JointPrefixSet<IpNet>,
    /// `ip_network_table`: the union as an `IpNetworkTable`.
    pub table: IpNetworkTable<()>,
    /// The built-in registry (25 named sets).
    pub registry: RangeRegistry,
    /// IPv4 addresses in the union.
    pub v4_hit: Addresses,
    /// IPv4 addresses outside the union.
    pub v4_miss: Addresses,
    /// IPv6 addresses in the union.
    pub v6_hit: Addresses,
    /// IPv6 addresses outside the union.
    pub v6_miss: Addresses,
    /// Googlebot's addresses and addresses just past its intervals, IPv4 and IPv6.
    pub googlebot: Addresses,
}

impl std::fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtures")
            .field("prefixes", &self.prefixes.len())
            .field("intervals", &self.ours.len())
            .finish_non_exhaustive()
    }
}

/// A small deterministic generator (SplitMix64), so that every run picks the same addresses.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn next_u128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }

    /// A number in `0..n` (`n > 0`; the slight modulo bias does not matter here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number in `0..=span` for a 128-bit span.
    fn up_to_u128(&mut self, span: u128) -> u128 {
        let r = self.next_u128();
        span.checked_add(1).map_or(r, |n| r % n)
    }
}

/// The IPv4 address `x`.
fn v4(x: u32) -> IpAddr {
    IpAddr::from(Ipv4Addr::from(x))
}

/// The IPv6 address `x`.
fn v6(x: u128) -> IpAddr {
    IpAddr::from(Ipv6Addr::from(x))
}

/// The directory of the built-in range documents.
fn ranges_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bot-policy/data/ranges"
    ))
}

/// Parses a published prefix (`"192.0.2.0/24"`, or a bare address) with its host bits cleared.
fn parse_prefix(text: &str) -> Option<IpNet> {
    let text = text.trim();
    match text.parse::<IpNet>() {
        Ok(net) => Some(net.trunc()),
        Err(_) => text.parse::<IpAddr>().ok().map(IpNet::from),
    }
}

/// Every prefix of every JSON document under `bot-policy/data/ranges/`, file by file in name
/// order, and the number of documents.
pub fn published_prefixes() -> Result<(Vec<IpNet>, usize), String> {
    let dir = ranges_dir();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut prefixes = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let entries = doc
            .get("prefixes")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| format!("{}: no `prefixes` array", path.display()))?;
        for entry in entries {
            let text = entry
                .get("ipv4Prefix")
                .or_else(|| entry.get("ipv6Prefix"))
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| format!("{}: a prefix without an address", path.display()))?;
            let net = parse_prefix(text)
                .ok_or_else(|| format!("{}: not a prefix: {text:?}", path.display()))?;
            prefixes.push(net);
        }
    }
    Ok((prefixes, paths.len()))
}

/// `count` items spread evenly over `items` (repeating some when there are fewer).
fn spread<T: Copy>(items: &[T], count: usize) -> impl Iterator<Item = T> + '_ {
    (0..count).map(move |i| items[i * items.len() / count])
}

impl Fixtures {
    /// Reads the published prefixes, builds the three sets and picks the addresses.
    pub fn new() -> Result<Self, String> {
        let (prefixes, documents) = published_prefixes()?;
        let registry = RangeRegistry::builtin();
        if documents != registry.len() {
            return Err(format!(
                "{documents} range documents, but the built-in registry has {} sets",
                registry.len()
            ));
        }
        if prefixes.len() < 2000 {
            return Err(format!("only {} prefixes", prefixes.len()));
        }

        let ours = IpRanges::from_cidrs(prefixes.iter().map(IpNet::to_string))
            .map_err(|e| e.to_string())?;
        let mut prefix_trie = JointPrefixSet::new();
        let mut table = IpNetworkTable::new();
        for net in &prefixes {
            prefix_trie.insert(*net);
            let network = IpNetwork::new_truncate(net.network(), net.prefix_len())
                .map_err(|e| format!("{net}: {e}"))?;
            table.insert(network, ());
        }

        let mut rng = SplitMix(0x1b2a_c0de);
        let mut v4_nets: Vec<_> = prefixes
            .iter()
            .filter_map(|n| match n {
                IpNet::V4(n) => Some(*n),
                IpNet::V6(_) => None,
            })
            .collect();
        let mut v6_nets: Vec<_> = prefixes
            .iter()
            .filter_map(|n| match n {
                IpNet::V6(n) => Some(*n),
                IpNet::V4(_) => None,
            })
            .collect();
        v4_nets.sort_unstable();
        v4_nets.dedup();
        v6_nets.sort_unstable();
        v6_nets.dedup();
        if v4_nets.is_empty() || v6_nets.is_empty() {
            return Err("the set needs IPv4 and IPv6 prefixes".to_owned());
        }

        // Hits: a pseudo-random address inside prefixes spread over the set.
        let v4_hit: Vec<_> = spread(&v4_nets, ROTATION)
            .map(|n| {
                let offset = rng.next() as u32 & u32::from(n.hostmask());
                (v4(u32::from(n.network()) | offset), true)
            })
            .collect();
        let v6_hit: Vec<_> = spread(&v6_nets, ROTATION)
            .map(|n| {
                let offset = rng.next_u128() & u128::from(n.hostmask());
                (v6(u128::from(n.network()) | offset), true)
            })
            .collect();

        // Misses: alternately just past a merged interval and pseudo-random outside the set.
        let v4_ends: Vec<u32> = ours
            .ipv4_intervals()
            .map(|(_, last)| u32::from(last).wrapping_add(1))
            .collect();
        let mut v4_miss = Vec::with_capacity(ROTATION);
        for end in spread(&v4_ends, ROTATION / 2) {
            v4_miss.push((v4(end), false));
            let far = loop {
                let ip = v4(rng.next() as u32);
                if !ours.contains(ip) {
                    break ip;
                }
            };
            v4_miss.push((far, false));
        }
        let v6_ends: Vec<u128> = ours
            .ipv6_intervals()
            .map(|(_, last)| u128::from(last).wrapping_add(1))
            .collect();
        let mut v6_miss = Vec::with_capacity(ROTATION);
        for end in spread(&v6_ends, ROTATION / 2) {
            v6_miss.push((v6(end), false));
            let far = loop {
                // 2000::/3: the top three bits are 001.
                let ip = v6((rng.next_u128() >> 3) | (1 << 125));
                if !ours.contains(ip) {
                    break ip;
                }
            };
            v6_miss.push((far, false));
        }

        // Googlebot: a quarter each of IPv4 and IPv6 addresses in its intervals and just past.
        let googlebot_set = registry.get(GOOGLEBOT).ok_or("no built-in googlebot set")?;
        let g4: Vec<(u32, u32)> = googlebot_set
            .ipv4_intervals()
            .map(|(a, b)| (u32::from(a), u32::from(b)))
            .collect();
        let g6: Vec<(u128, u128)> = googlebot_set
            .ipv6_intervals()
            .map(|(a, b)| (u128::from(a), u128::from(b)))
            .collect();
        if g4.is_empty() || g6.is_empty() {
            return Err("the googlebot set needs IPv4 and IPv6 ranges".to_owned());
        }
        let mut googlebot = Vec::with_capacity(ROTATION);
        for (first, last) in spread(&g4, ROTATION / 4) {
            let offset = rng.below(u64::from(last - first) + 1) as u32;
            googlebot.push((v4(first + offset), true));
            googlebot.push((v4(last.wrapping_add(1)), false));
        }
        for (first, last) in spread(&g6, ROTATION / 4) {
            let offset = rng.up_to_u128(last - first);
            googlebot.push((v6(first + offset), true));
            googlebot.push((v6(last.wrapping_add(1)), false));
        }

        Ok(Fixtures {
            v4_hit: Addresses::shuffled(v4_hit, &mut rng)?,
            v4_miss: Addresses::shuffled(v4_miss, &mut rng)?,
            v6_hit: Addresses::shuffled(v6_hit, &mut rng)?,
            v6_miss: Addresses::shuffled(v6_miss, &mut rng)?,
            googlebot: Addresses::shuffled(googlebot, &mut rng)?,
            prefixes,
            ours,
            prefix_trie,
            table,
            registry,
        })
    }

    /// Ours: whether the union contains `ip`.
    pub fn ours(&self, ip: IpAddr) -> bool {
        self.ours.contains(ip)
    }

    /// `prefix-trie`: whether a prefix of the union covers `ip`.
    pub fn prefix_trie(&self, ip: IpAddr) -> bool {
        self.prefix_trie.is_covered(&IpNet::from(ip))
    }

    /// `ip_network_table`: whether some prefix of the union matches `ip`.
    pub fn table(&self, ip: IpAddr) -> bool {
        self.table.longest_match(ip).is_some()
    }

    /// The built-in registry, asked set by set.
    fn any_builtin_set(&self, ip: IpAddr) -> bool {
        self.registry
            .names()
            .any(|name| self.registry.contains(name, ip))
    }

    /// Checks that the three implementations and the registry agree: on every address the cases
    /// use (and that each is a hit or a miss as its case says), and on the first and last address
    /// of every published prefix and the addresses just outside it.
    pub fn check(&self) -> Result<(), String> {
        let union_sets = [
            ("v4-hit", &self.v4_hit),
            ("v4-miss", &self.v4_miss),
            ("v6-hit", &self.v6_hit),
            ("v6-miss", &self.v6_miss),
        ];
        for (name, addresses) in union_sets {
            for (ip, expected) in addresses.ips.iter().zip(addresses.expected) {
                self.agree(*ip, Some(expected))
                    .map_err(|e| format!("{name}: {e}"))?;
            }
        }
        for net in &self.prefixes {
            let (first, last) = match net {
                IpNet::V4(n) => (
                    u128::from(u32::from(n.network())),
                    u128::from(u32::from(n.broadcast())),
                ),
                IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
            };
            let address = |x: u128| match net {
                IpNet::V4(_) => u32::try_from(x).ok().map(v4),
                IpNet::V6(_) => Some(v6(x)),
            };
            self.agree(net.network(), Some(true))?;
            self.agree(net.broadcast(), Some(true))?;
            for outside in [first.checked_sub(1), last.checked_add(1)] {
                if let Some(ip) = outside.and_then(address) {
                    self.agree(ip, None)?;
                }
            }
        }
        let googlebot = self
            .registry
            .get(GOOGLEBOT)
            .ok_or("no built-in googlebot set")?;
        for (ip, expected) in self.googlebot.ips.iter().zip(self.googlebot.expected) {
            let set = googlebot.contains(*ip);
            let by_name = self.registry.contains(GOOGLEBOT, *ip);
            if set != expected || by_name != expected {
                return Err(format!(
                    "googlebot, {ip}: set {set}, registry {by_name}, expected {expected}"
                ));
            }
        }
        Ok(())
    }

    /// Whether every implementation gives the same answer on `ip` (and the expected one).
    fn agree(&self, ip: IpAddr, expected: Option<bool>) -> Result<(), String> {
        let ours = self.ours(ip);
        let answers = [
            ("prefix-trie", self.prefix_trie(ip)),
            ("ip_network_table", self.table(ip)),
            ("the built-in registry", self.any_builtin_set(ip)),
        ];
        if let Some(expected) = expected
            && ours != expected
        {
            return Err(format!("{ip}: ours says {ours}, expected {expected}"));
        }
        for (name, answer) in answers {
            if answer != ours {
                return Err(format!("{ip}: ours says {ours}, {name} {answer}"));
            }
        }
        Ok(())
    }
}

/// A case that looks up the next of `addresses` on each run (cycling) and succeeds when the
/// answer is the expected one.
fn rotating(
    name: &'static str,
    addresses: &Addresses,
    lookup: impl Fn(IpAddr) -> bool + 'static,
) -> Case {
    let Addresses { ips, expected } = addresses.clone();
    let next = Cell::new(0_usize);
    Case::new(name, move || {
        let i = next.get() % ROTATION;
        next.set(i + 1);
        lookup(black_box(ips[i])) == expected[i]
    })
}

/// The group's cases, in report order, after [`Fixtures::check`] passed. Each case succeeds when
/// its lookup gives the answer checked before timing.
pub fn cases() -> Result<Vec<Case>, String> {
    let fixtures = Rc::new(Fixtures::new()?);
    fixtures.check()?;
    let f = &fixtures;
    let case =
        |name: &'static str, addresses: &Addresses, lookup: fn(&Fixtures, IpAddr) -> bool| {
            let f = Rc::clone(f);
            rotating(name, addresses, move |ip| lookup(black_box(&f), ip))
        };
    let googlebot_set = f
        .registry
        .get(GOOGLEBOT)
        .ok_or("no built-in googlebot set")?
        .clone();
    let registry = f.registry.clone();
    Ok(vec![
        case(names::OURS_V4_HIT, &f.v4_hit, Fixtures::ours),
        case(names::PT_V4_HIT, &f.v4_hit, Fixtures::prefix_trie),
        case(names::INT_V4_HIT, &f.v4_hit, Fixtures::table),
        case(names::OURS_V4_MISS, &f.v4_miss, Fixtures::ours),
        case(names::PT_V4_MISS, &f.v4_miss, Fixtures::prefix_trie),
        case(names::INT_V4_MISS, &f.v4_miss, Fixtures::table),
        case(names::OURS_V6_HIT, &f.v6_hit, Fixtures::ours),
        case(names::PT_V6_HIT, &f.v6_hit, Fixtures::prefix_trie),
        case(names::INT_V6_HIT, &f.v6_hit, Fixtures::table),
        case(names::OURS_V6_MISS, &f.v6_miss, Fixtures::ours),
        case(names::PT_V6_MISS, &f.v6_miss, Fixtures::prefix_trie),
        case(names::INT_V6_MISS, &f.v6_miss, Fixtures::table),
        rotating(names::OURS_GOOGLEBOT_SET, &f.googlebot, move |ip| {
            black_box(&googlebot_set).contains(ip)
        }),
        rotating(names::OURS_GOOGLEBOT_REGISTRY, &f.googlebot, move |ip| {
            black_box(&registry).contains(black_box(GOOGLEBOT), ip)
        }),
        rotating(names::HARNESS, &f.v4_hit, |ip| ip.is_ipv4()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_check_and_every_case_succeeds_on_every_address() {
        let cases = cases().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cases.len(), 15);
        for c in &cases {
            for _ in 0..ROTATION {
                assert!(c.run(), "{}", c.name);
            }
        }
        let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        for r in RATIOS {
            assert!(names.contains(&r.numerator), "{}", r.numerator);
            assert!(names.contains(&r.denominator), "{}", r.denominator);
        }
    }

    #[test]
    fn the_addresses_are_the_same_on_every_run() {
        let a = Fixtures::new().unwrap_or_else(|e| panic!("{e}"));
        let b = Fixtures::new().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.v4_hit.ips, b.v4_hit.ips);
        assert_eq!(a.v6_miss.ips, b.v6_miss.ips);
        assert_eq!(a.googlebot.ips, b.googlebot.ips);
    }
}
