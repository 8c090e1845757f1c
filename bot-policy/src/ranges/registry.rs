//! Named range sets and the built-in snapshot.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use super::IpRanges;

/// The date of the built-in snapshot: the commit date of the Anubis data the
/// lists were taken from (see `data/ranges/README.md`).
const BUILTIN_SNAPSHOT_DATE: &str = "2026-08-20";

/// The built-in range sets: name and the operator-format JSON document.
const BUILTIN_SETS: &[(&str, &[u8])] = &[
    (
        "alibaba-cloud",
        include_bytes!("../../data/ranges/alibaba-cloud.json"),
    ),
    (
        "anthropic",
        include_bytes!("../../data/ranges/anthropic.json"),
    ),
    (
        "applebot",
        include_bytes!("../../data/ranges/applebot.json"),
    ),
    (
        "arquivo-pt",
        include_bytes!("../../data/ranges/arquivo-pt.json"),
    ),
    ("bingbot", include_bytes!("../../data/ranges/bingbot.json")),
    (
        "commoncrawl",
        include_bytes!("../../data/ranges/commoncrawl.json"),
    ),
    (
        "duckduckbot",
        include_bytes!("../../data/ranges/duckduckbot.json"),
    ),
    (
        "google-user-triggered-fetchers",
        include_bytes!("../../data/ranges/google-user-triggered-fetchers.json"),
    ),
    (
        "googlebot",
        include_bytes!("../../data/ranges/googlebot.json"),
    ),
    (
        "huawei-cloud",
        include_bytes!("../../data/ranges/huawei-cloud.json"),
    ),
    (
        "internet-archive",
        include_bytes!("../../data/ranges/internet-archive.json"),
    ),
    ("kagibot", include_bytes!("../../data/ranges/kagibot.json")),
    ("lyrenth", include_bytes!("../../data/ranges/lyrenth.json")),
    (
        "marginalia",
        include_bytes!("../../data/ranges/marginalia.json"),
    ),
    (
        "mistralai-user",
        include_bytes!("../../data/ranges/mistralai-user.json"),
    ),
    (
        "mojeekbot",
        include_bytes!("../../data/ranges/mojeekbot.json"),
    ),
    (
        "openai-chatgpt-user",
        include_bytes!("../../data/ranges/openai-chatgpt-user.json"),
    ),
    (
        "openai-gptbot",
        include_bytes!("../../data/ranges/openai-gptbot.json"),
    ),
    (
        "openai-searchbot",
        include_bytes!("../../data/ranges/openai-searchbot.json"),
    ),
    (
        "perplexity-user",
        include_bytes!("../../data/ranges/perplexity-user.json"),
    ),
    (
        "perplexitybot",
        include_bytes!("../../data/ranges/perplexitybot.json"),
    ),
    (
        "qwantbot",
        include_bytes!("../../data/ranges/qwantbot.json"),
    ),
    (
        "tencent-cloud",
        include_bytes!("../../data/ranges/tencent-cloud.json"),
    ),
    (
        "wikimedia",
        include_bytes!("../../data/ranges/wikimedia.json"),
    ),
    ("xai", include_bytes!("../../data/ranges/xai.json")),
];

/// Named range sets, e.g. `"googlebot"` → Google's published crawler ranges.
///
/// Cheap to query, cloneable; to refresh a set at run time, build a new
/// [`IpRanges`] from the operator's current document and [`insert`] it under the
/// same name (in a shared registry, swap the whole registry atomically, e.g. with
/// an `ArcSwap`).
///
/// [`insert`]: RangeRegistry::insert
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeRegistry {
    sets: BTreeMap<String, IpRanges>,
    snapshot_date: String,
}

impl RangeRegistry {
    /// An empty registry with an empty snapshot date.
    pub fn new() -> RangeRegistry {
        RangeRegistry::default()
    }

    /// The range sets shipped with the crate (files under `data/ranges/`, embedded
    /// at compile time), parsed once per process; each call returns a clone.
    ///
    /// The data is copied from the operators' published lists (via the Anubis
    /// project's policy data) and dated [`snapshot_date`]; refresh it from the
    /// operators for production use. Names: `openai-gptbot`, `openai-searchbot`,
    /// `openai-chatgpt-user`, `googlebot`, `google-user-triggered-fetchers`,
    /// `bingbot`, `applebot`, `duckduckbot`, `commoncrawl`, `perplexitybot`,
    /// `perplexity-user`, `mistralai-user`, `qwantbot`, `mojeekbot`, `kagibot`,
    /// `marginalia`, `internet-archive`, `arquivo-pt`, `wikimedia`, `lyrenth`,
    /// `anthropic`, and the cloud-provider sets `alibaba-cloud`, `huawei-cloud`,
    /// `tencent-cloud`, `xai` (networks, not a verification of any bot).
    ///
    /// Never panics: the embedded files are checked by a unit test, and a file
    /// that fails to parse anyway is left out with a `tracing::error!`.
    ///
    /// [`snapshot_date`]: RangeRegistry::snapshot_date
    pub fn builtin() -> RangeRegistry {
        static BUILTIN: OnceLock<RangeRegistry> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut registry = RangeRegistry {
                    sets: BTreeMap::new(),
                    snapshot_date: BUILTIN_SNAPSHOT_DATE.to_owned(),
                };
                for (name, json) in BUILTIN_SETS {
                    match IpRanges::from_json(json) {
                        Ok(ranges) => {
                            registry.sets.insert((*name).to_owned(), ranges);
                        }
                        Err(error) => {
                            tracing::error!(set = name, %error, "built-in IP range set does not parse; left out");
                        }
                    }
                }
                registry
            })
            .clone()
    }

    /// The range set called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&IpRanges> {
        self.sets.get(name)
    }

    /// Whether the set called `name` exists and contains `ip`.
    pub fn contains(&self, name: &str, ip: IpAddr) -> bool {
        self.get(name).is_some_and(|ranges| ranges.contains(ip))
    }

    /// Adds or replaces the set called `name`; returns the set it replaced.
    pub fn insert(&mut self, name: impl Into<String>, ranges: IpRanges) -> Option<IpRanges> {
        self.sets.insert(name.into(), ranges)
    }

    /// Removes the set called `name`; returns it.
    pub fn remove(&mut self, name: &str) -> Option<IpRanges> {
        self.sets.remove(name)
    }

    /// The names of all sets, sorted.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.sets.keys().map(String::as_str)
    }

    /// The number of sets.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether there is no set.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The date of the data (`YYYY-MM-DD`): for [`RangeRegistry::builtin`] the
    /// date of the snapshot, otherwise whatever [`set_snapshot_date`] recorded
    /// (empty by default).
    ///
    /// [`set_snapshot_date`]: RangeRegistry::set_snapshot_date
    pub fn snapshot_date(&self) -> &str {
        &self.snapshot_date
    }

    /// Records the date of the data, e.g. after a refresh.
    pub fn set_snapshot_date(&mut self, date: impl Into<String>) {
        self.snapshot_date = date.into();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// The fallback in `builtin` must never be needed: every embedded file parses
    /// and is non-empty.
    #[test]
    fn every_builtin_file_parses() {
        for (name, json) in BUILTIN_SETS {
            let ranges = IpRanges::from_json(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!ranges.is_empty(), "{name} is empty");
        }
        let registry = RangeRegistry::builtin();
        assert_eq!(registry.len(), BUILTIN_SETS.len());
        assert_eq!(registry.snapshot_date(), "2026-08-20");
    }

    #[test]
    fn builtin_names_are_sorted_and_unique() {
        let names: Vec<&str> = BUILTIN_SETS.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}
