#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! IP range sets: parsing, merging, boundaries, IPv6, mapped IPv4, errors, and a
//! property test against a naive linear scan.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bot_policy::ranges::{IpRanges, MAX_ENTRIES, RangeRegistry, RangesError};
use ipnet::IpNet;
use proptest::prelude::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn parses_operator_json() {
    // The shape of Google's and OpenAI's documents, with extra fields.
    let json = br#"{
      "creationTime": "2026-08-20T11:00:00.000000",
      "syncToken": "1755687600000",
      "prefixes": [
        {"ipv6Prefix": "2001:4860:4801:10::/64"},
        {"ipv4Prefix": "66.249.64.0/27", "service": "Googlebot"},
        {"ipv4Prefix": "66.249.64.32/27"},
        {"ipv4Prefix": "192.0.2.7"}
      ]
    }"#;
    let r = IpRanges::from_json(json).unwrap();
    assert_eq!(r.creation_time(), Some("2026-08-20T11:00:00.000000"));
    assert_eq!(r.len(), 3); // the two /27s merge
    assert!(r.contains(ip("66.249.64.0")));
    assert!(r.contains(ip("66.249.64.63")));
    assert!(!r.contains(ip("66.249.64.64")));
    assert!(r.contains(ip("192.0.2.7")));
    assert!(!r.contains(ip("192.0.2.8")));
    assert!(r.contains(ip("2001:4860:4801:10::1")));
    assert!(r.contains(ip("2001:4860:4801:10:ffff:ffff:ffff:ffff")));
    assert!(!r.contains(ip("2001:4860:4801:11::")));
    let v4: Vec<_> = r.ipv4_intervals().collect();
    assert_eq!(
        v4,
        vec![
            (
                Ipv4Addr::new(66, 249, 64, 0),
                Ipv4Addr::new(66, 249, 64, 63)
            ),
            (Ipv4Addr::new(192, 0, 2, 7), Ipv4Addr::new(192, 0, 2, 7)),
        ]
    );
    assert_eq!(r.ipv6_intervals().len(), 1);

    // Without creationTime, with an empty list.
    let r = IpRanges::from_json(br#"{"prefixes": []}"#).unwrap();
    assert!(r.is_empty());
    assert_eq!(r.creation_time(), None);
}

#[test]
fn json_errors_name_the_place() {
    let e =
        IpRanges::from_json(b"{\n  \"prefixes\": [\n    {\"ipv4Prefix\": \"1.2.3.0/24\"},\n  ]\n}")
            .unwrap_err();
    assert!(matches!(e, RangesError::Json { line: 4, .. }), "{e}");

    let e = IpRanges::from_json(br#"{"creationTime": "x"}"#).unwrap_err();
    assert!(
        matches!(&e, RangesError::Json { message, .. } if message.contains("prefixes")),
        "{e}"
    );

    let e = IpRanges::from_json(
        br#"{"prefixes": [{"ipv4Prefix": "1.2.3.0/24"}, {"ipv4Prefix": "1.2.3.0/33"}]}"#,
    )
    .unwrap_err();
    assert!(
        matches!(e, RangesError::InvalidPrefix { entry: 2, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("1.2.3.0/33"), "{e}");

    let e = IpRanges::from_json(br#"{"prefixes": [{"ipv4Prefix": "2001:db8::/32"}]}"#).unwrap_err();
    assert!(
        matches!(e, RangesError::InvalidPrefix { entry: 1, .. }),
        "{e}"
    );
    let e = IpRanges::from_json(br#"{"prefixes": [{"ipv6Prefix": "10.0.0.0/8"}]}"#).unwrap_err();
    assert!(
        matches!(e, RangesError::InvalidPrefix { entry: 1, .. }),
        "{e}"
    );
    let e =
        IpRanges::from_json(br#"{"prefixes": [{"ipv4Prefix": "10.0.0.0/8"}, {"service": "x"}]}"#)
            .unwrap_err();
    assert!(
        matches!(e, RangesError::InvalidPrefix { entry: 2, .. }),
        "{e}"
    );
    let e = IpRanges::from_json(
        br#"{"prefixes": [{"ipv4Prefix": "10.0.0.0/8", "ipv6Prefix": "::/0"}]}"#,
    )
    .unwrap_err();
    assert!(
        matches!(e, RangesError::InvalidPrefix { entry: 1, .. }),
        "{e}"
    );
    let e = IpRanges::from_json(b"\xff").unwrap_err();
    assert!(matches!(e, RangesError::Json { .. }), "{e}");
}

#[test]
fn parses_cidr_lists() {
    let text =
        "# Anthropic outbound\n\n160.79.104.0/21   # API\n  2001:db8::/48\n192.0.2.1\n# end\n";
    let r = IpRanges::from_cidr_list(text).unwrap();
    assert_eq!(r.len(), 3);
    assert!(r.contains(ip("160.79.104.0")));
    assert!(r.contains(ip("160.79.111.255")));
    assert!(!r.contains(ip("160.79.112.0")));
    assert!(!r.contains(ip("160.79.103.255")));
    assert!(r.contains(ip("2001:db8:0:ffff::1")));
    assert!(r.contains(ip("192.0.2.1")));
    assert!(IpRanges::from_cidr_list("").unwrap().is_empty());
    assert!(
        IpRanges::from_cidr_list("# only comments\n\n")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn cidr_list_errors_name_the_line() {
    let e = IpRanges::from_cidr_list("10.0.0.0/8\n# fine\n10.0.0.0/8 junk\n").unwrap_err();
    assert_eq!(
        e,
        RangesError::InvalidLine {
            line: 3,
            text: "10.0.0.0/8 junk".to_owned()
        }
    );
    assert_eq!(
        e.to_string(),
        "line 3: not a CIDR or IP address: \"10.0.0.0/8 junk\""
    );
    let e = IpRanges::from_cidr_list("\n\n300.1.1.1\n").unwrap_err();
    assert!(matches!(e, RangesError::InvalidLine { line: 3, .. }), "{e}");
    let long = "x".repeat(10_000);
    let e = IpRanges::from_cidr_list(&long).unwrap_err();
    assert!(e.to_string().len() < 200, "error text is bounded");
}

#[test]
fn from_cidrs_errors_name_the_entry() {
    let e = IpRanges::from_cidrs(["10.0.0.0/8", "", "1.2.3.4"]).unwrap_err();
    assert!(
        matches!(e, RangesError::InvalidEntry { entry: 2, .. }),
        "{e}"
    );
    let e = IpRanges::from_cidrs(vec!["::/129".to_owned()]).unwrap_err();
    assert!(
        matches!(e, RangesError::InvalidEntry { entry: 1, .. }),
        "{e}"
    );
    let ok = IpRanges::from_cidrs(Vec::<String>::new()).unwrap();
    assert!(ok.is_empty());
}

#[test]
fn merges_overlapping_and_adjacent_ranges() {
    let r = IpRanges::from_cidrs([
        "10.0.0.0/24",
        "10.0.1.0/24",   // adjacent
        "10.0.0.128/25", // inside
        "10.0.3.0/24",   // gap at 10.0.2.0/24
        "10.0.2.255",    // touches 10.0.3.0
        "10.0.0.0/23",   // duplicate span
    ])
    .unwrap();
    let v4: Vec<_> = r.ipv4_intervals().collect();
    assert_eq!(
        v4,
        vec![
            (Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(10, 0, 1, 255)),
            (Ipv4Addr::new(10, 0, 2, 255), Ipv4Addr::new(10, 0, 3, 255)),
        ]
    );
    assert!(!r.contains(ip("10.0.2.0")));
    assert!(!r.contains(ip("10.0.2.254")));
    assert!(r.contains(ip("10.0.2.255")));

    let r = IpRanges::from_cidrs(["2001:db8::/33", "2001:db8:8000::/33", "2001:db9::/32"]).unwrap();
    let v6: Vec<_> = r.ipv6_intervals().collect();
    assert_eq!(
        v6,
        vec![(
            "2001:db8::".parse::<Ipv6Addr>().unwrap(),
            "2001:db9:ffff:ffff:ffff:ffff:ffff:ffff"
                .parse::<Ipv6Addr>()
                .unwrap()
        )]
    );
}

#[test]
fn host_bits_are_ignored() {
    let r = IpRanges::from_cidrs(["192.0.2.77/24"]).unwrap();
    assert!(r.contains(ip("192.0.2.0")));
    assert!(r.contains(ip("192.0.2.255")));
}

#[test]
fn boundaries_of_the_address_space() {
    let r = IpRanges::from_cidrs([
        "0.0.0.0/32",
        "255.255.255.255/32",
        "::/128",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
    ])
    .unwrap();
    assert!(r.contains(ip("0.0.0.0")));
    assert!(!r.contains(ip("0.0.0.1")));
    assert!(r.contains(ip("255.255.255.255")));
    assert!(!r.contains(ip("255.255.255.254")));
    assert!(r.contains(ip("::")));
    assert!(!r.contains(ip("::1")));
    assert!(r.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    let all = IpRanges::from_cidrs(["0.0.0.0/0"]).unwrap();
    assert!(all.contains(ip("0.0.0.0")) && all.contains(ip("255.255.255.255")));
    assert!(!all.contains(ip("2001:db8::1")));
}

#[test]
fn mapped_ipv4() {
    let r = IpRanges::from_cidrs(["20.171.206.0/24"]).unwrap();
    assert!(r.contains(ip("::ffff:20.171.206.0")));
    assert!(r.contains(ip("::ffff:20.171.206.255")));
    assert!(!r.contains(ip("::ffff:20.171.207.0")));
    // An IPv4-compatible (not mapped) address is IPv6.
    assert!(!r.contains(ip("::20.171.206.1")));
    // A range written in mapped form also matches the plain IPv4 spelling.
    let r = IpRanges::from_cidrs(["::ffff:192.0.2.0/120"]).unwrap();
    assert!(r.contains(ip("192.0.2.200")));
    assert!(r.contains(ip("::ffff:192.0.2.200")));
    assert!(!r.contains(ip("192.0.3.0")));
    let r = IpRanges::from_cidrs(["::/0"]).unwrap();
    assert!(r.contains(ip("8.8.8.8")));
}

#[test]
fn refuses_too_many_entries() {
    let mut text = String::with_capacity((MAX_ENTRIES + 1) * 12);
    for i in 0..=MAX_ENTRIES as u32 {
        let a = Ipv4Addr::from(i);
        text.push_str(&a.to_string());
        text.push('\n');
    }
    let e = IpRanges::from_cidr_list(&text).unwrap_err();
    assert_eq!(e, RangesError::TooMany { limit: MAX_ENTRIES });

    let mut json = String::from("{\"prefixes\":[");
    for i in 0..=MAX_ENTRIES as u32 {
        if i > 0 {
            json.push(',');
        }
        json.push_str("{\"ipv4Prefix\":\"");
        json.push_str(&Ipv4Addr::from(i).to_string());
        json.push_str("\"}");
    }
    json.push_str("]}");
    let e = IpRanges::from_json(json.as_bytes()).unwrap_err();
    assert_eq!(e, RangesError::TooMany { limit: MAX_ENTRIES });

    let e = IpRanges::from_cidrs((0..=MAX_ENTRIES as u32).map(|i| Ipv4Addr::from(i).to_string()))
        .unwrap_err();
    assert_eq!(e, RangesError::TooMany { limit: MAX_ENTRIES });
}

#[test]
fn builtin_registry() {
    let registry = RangeRegistry::builtin();
    assert_eq!(registry.snapshot_date(), "2026-08-20");
    for name in [
        "openai-gptbot",
        "openai-searchbot",
        "openai-chatgpt-user",
        "googlebot",
        "bingbot",
        "perplexitybot",
        "applebot",
        "duckduckbot",
        "commoncrawl",
        "anthropic",
    ] {
        assert!(registry.get(name).is_some_and(|r| !r.is_empty()), "{name}");
    }
    assert!(registry.contains("anthropic", ip("160.79.104.1")));
    assert!(registry.contains("anthropic", ip("160.79.111.255")));
    assert!(!registry.contains("anthropic", ip("160.79.112.0")));
    assert!(registry.contains("openai-gptbot", ip("20.171.206.10")));
    assert!(registry.contains("googlebot", ip("2001:4860:4801:10::1")));
    assert!(!registry.contains("googlebot", ip("192.0.2.1")));
    assert!(!registry.contains("no-such-set", ip("160.79.104.1")));

    println!(
        "built-in range sets (snapshot {}):",
        registry.snapshot_date()
    );
    for name in registry.names() {
        let r = registry.get(name).unwrap();
        println!(
            "  {name:32} {:4} IPv4 + {:4} IPv6 intervals",
            r.ipv4_intervals().len(),
            r.ipv6_intervals().len()
        );
    }

    let mut mine = registry.clone();
    let old = mine.insert("anthropic", IpRanges::from_cidrs(["192.0.2.0/24"]).unwrap());
    assert!(old.is_some());
    assert!(mine.contains("anthropic", ip("192.0.2.1")));
    assert!(!mine.contains("anthropic", ip("160.79.104.1")));
    mine.set_snapshot_date("2026-09-01");
    assert_eq!(mine.snapshot_date(), "2026-09-01");
    assert!(mine.remove("anthropic").is_some());
    assert!(mine.get("anthropic").is_none());
    assert_eq!(RangeRegistry::new().snapshot_date(), "");
    assert!(RangeRegistry::new().is_empty());
}

// ---------------------------------------------------------------------------------------------

fn arb_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        // Short prefixes in a small space, so ranges overlap and touch often.
        (0u32..64, 16u8..=32).prop_map(|(x, len)| {
            IpNet::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (x << 10))), len)
                .unwrap()
                .trunc()
        }),
        (any::<u32>(), 0u8..=32).prop_map(|(x, len)| IpNet::new(
            IpAddr::V4(Ipv4Addr::from(x)),
            len
        )
        .unwrap()
        .trunc()),
        (0u128..64, 96u8..=128).prop_map(|(x, len)| {
            let base: u128 = 0x2001_0db8_u128 << 96;
            IpNet::new(IpAddr::V6(Ipv6Addr::from(base | (x << 20))), len)
                .unwrap()
                .trunc()
        }),
        (any::<u128>(), 0u8..=128).prop_map(|(x, len)| IpNet::new(
            IpAddr::V6(Ipv6Addr::from(x)),
            len
        )
        .unwrap()
        .trunc()),
        (any::<u32>(), 96u8..=128).prop_map(|(x, len)| {
            IpNet::new(IpAddr::V6(Ipv4Addr::from(x).to_ipv6_mapped()), len)
                .unwrap()
                .trunc()
        }),
    ]
}

fn arb_probe(nets: &[IpNet]) -> impl Strategy<Value = IpAddr> + use<> {
    // Probe the edges of the generated networks and their neighbours, plus random
    // addresses.
    let mut edges: Vec<IpAddr> = Vec::new();
    for net in nets {
        for a in [net.network(), net.broadcast()] {
            edges.push(a);
            match a {
                IpAddr::V4(v4) => {
                    let n = u32::from(v4);
                    edges.push(IpAddr::V4(Ipv4Addr::from(n.wrapping_add(1))));
                    edges.push(IpAddr::V4(Ipv4Addr::from(n.wrapping_sub(1))));
                    edges.push(IpAddr::V6(v4.to_ipv6_mapped()));
                }
                IpAddr::V6(v6) => {
                    let n = u128::from(v6);
                    edges.push(IpAddr::V6(Ipv6Addr::from(n.wrapping_add(1))));
                    edges.push(IpAddr::V6(Ipv6Addr::from(n.wrapping_sub(1))));
                    if let Some(v4) = v6.to_ipv4_mapped() {
                        edges.push(IpAddr::V4(v4));
                    }
                }
            }
        }
    }
    if edges.is_empty() {
        edges.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    prop_oneof![
        proptest::sample::select(edges),
        any::<u32>().prop_map(|x| IpAddr::V4(Ipv4Addr::from(x))),
        any::<u128>().prop_map(|x| IpAddr::V6(Ipv6Addr::from(x))),
    ]
}

/// The reference: linear scan, with a mapped address also tried as IPv4 and an
/// IPv4 address also tried in mapped form.
fn naive_contains(nets: &[IpNet], ip: IpAddr) -> bool {
    let alternatives: Vec<IpAddr> = match ip {
        IpAddr::V4(v4) => vec![ip, IpAddr::V6(v4.to_ipv6_mapped())],
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => vec![ip, IpAddr::V4(v4)],
            None => vec![ip],
        },
    };
    nets.iter()
        .any(|net| alternatives.iter().any(|a| net.contains(a)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn contains_agrees_with_a_linear_scan(
        (nets, probes) in proptest::collection::vec(arb_net(), 0..40)
            .prop_flat_map(|nets| {
                let probes = proptest::collection::vec(arb_probe(&nets), 1..64);
                (Just(nets), probes)
            })
    ) {
        let texts: Vec<String> = nets.iter().map(ToString::to_string).collect();
        let ranges = IpRanges::from_cidrs(&texts).unwrap();
        for probe in probes {
            prop_assert_eq!(ranges.contains(probe), naive_contains(&nets, probe), "probe {}", probe);
        }
        // Merged intervals are sorted and neither overlap nor touch.
        let v4: Vec<_> = ranges.ipv4_intervals().map(|(a, b)| (u32::from(a), u32::from(b))).collect();
        for w in v4.windows(2) {
            prop_assert!(w[0].0 <= w[0].1 && w[0].1.saturating_add(1) < w[1].0);
        }
        let v6: Vec<_> = ranges.ipv6_intervals().map(|(a, b)| (u128::from(a), u128::from(b))).collect();
        for w in v6.windows(2) {
            prop_assert!(w[0].0 <= w[0].1 && w[0].1.saturating_add(1) < w[1].0);
        }
        // The same list as text parses to the same set.
        let list = IpRanges::from_cidr_list(&texts.join("\n")).unwrap();
        prop_assert_eq!(&list, &ranges);
    }
}
