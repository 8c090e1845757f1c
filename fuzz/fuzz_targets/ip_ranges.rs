//! Fuzz target: IP range sets (`bot_policy::ranges::IpRanges`) and user-agent matching against
//! the built-in catalog.
//!
//! The input is parsed as an operator's JSON document (`IpRanges::from_json`) and, if UTF-8, as
//! a plain CIDR list (`IpRanges::from_cidr_list`) and as comma-separated items
//! (`IpRanges::from_cidrs`). Never panics. A set that loads keeps its invariants: sorted,
//! disjoint, non-adjacent intervals whose ends are contained and whose neighbours are not, IPv4
//! and IPv4-mapped IPv6 spellings looked up alike; a CIDR list and the same items given to
//! `from_cidrs` give the same set. Errors name an entry or line that exists. The input is also a
//! user agent for `Catalog::builtin().match_user_agent`, checked against the naive matcher.
#![no_main]

use std::sync::OnceLock;

use bot_policy::catalog::Catalog;
use bot_policy::ranges::{IpRanges, RangesError};
use libfuzzer_sys::fuzz_target;
use web_bot_auth_fuzz::catalog::{Reference, check_match, check_ranges};

/// The built-in catalog and its naive matcher, made once.
fn builtin() -> &'static (Catalog, Reference) {
    static CATALOG: OnceLock<(Catalog, Reference)> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let catalog = Catalog::builtin();
        let reference = Reference::new(&catalog);
        (catalog, reference)
    })
}

/// The non-comment, non-blank lines of a CIDR list, as `from_cidr_list` reads them.
fn list_items(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|item| !item.is_empty())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    match IpRanges::from_json(data) {
        Ok(ranges) => check_ranges(&ranges),
        Err(RangesError::Json { line, column, .. }) => {
            let lines = data.split(|&b| b == b'\n').count();
            assert!(
                line >= 1 && line <= lines,
                "JSON error on line {line} of {lines}"
            );
            let _ = column;
        }
        Err(RangesError::InvalidPrefix { entry, .. }) => assert!(entry >= 1),
        Err(err) => {
            let _ = err.to_string();
        }
    }

    if let Ok(text) = std::str::from_utf8(data) {
        match IpRanges::from_cidr_list(text) {
            Ok(ranges) => {
                check_ranges(&ranges);
                assert!(ranges.creation_time().is_none());
                let again = IpRanges::from_cidrs(list_items(text));
                assert_eq!(
                    again.as_ref(),
                    Ok(&ranges),
                    "from_cidrs of the same items gives another set"
                );
            }
            Err(RangesError::InvalidLine { line, text: bad }) => {
                let lines = text.lines().count();
                assert!(
                    line >= 1 && line <= lines,
                    "error on line {line} of {lines}"
                );
                assert!(
                    IpRanges::from_cidrs(list_items(text)).is_err(),
                    "line {line} ({bad:?}) is refused in a list but its items are accepted"
                );
            }
            Err(err) => {
                let _ = err.to_string();
            }
        }

        match IpRanges::from_cidrs(text.split(',')) {
            Ok(ranges) => check_ranges(&ranges),
            Err(RangesError::InvalidEntry { entry, .. }) => {
                assert!(entry >= 1 && entry <= text.split(',').count());
            }
            Err(err) => {
                let _ = err.to_string();
            }
        }
    }

    let (catalog, reference) = builtin();
    check_match(catalog, reference, data);
});
