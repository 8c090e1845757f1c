//! Benchmark groups: one per workspace crate, each a list of named [`Case`]s.

pub mod bot_policy;
pub mod bot_policy_layer;
pub mod ip_ranges;
pub mod mcp_auth;
pub mod redis_limits;
pub mod web_bot_auth;

use std::fmt;

/// One benchmark: a name (unique in its group) and a prepared routine to time.
///
/// The routine returns whether it succeeded (verified, or built its base), so that a harness
/// can check it once before timing it and keep the optimizer from discarding the work.
///
/// Routines need not be `Send` or `Sync`: wirefilter's compiled filters are neither.
pub struct Case {
    /// The case name, `<implementation>/<operation>`.
    pub name: &'static str,
    routine: Box<dyn Fn() -> bool>,
}

impl Case {
    /// A case running `routine`.
    pub fn new(name: &'static str, routine: impl Fn() -> bool + 'static) -> Self {
        Case {
            name,
            routine: Box::new(routine),
        }
    }

    /// Runs the routine once.
    pub fn run(&self) -> bool {
        (self.routine)()
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A ratio worth reporting: `numerator` / `denominator`, two case names of the same group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    /// What the ratio says.
    pub label: &'static str,
    /// The case timed on top.
    pub numerator: &'static str,
    /// The case timed below.
    pub denominator: &'static str,
    /// The target, when the ratio has one (at most this).
    pub target: Option<f64>,
}

/// An absolute target, in nanoseconds: a case's time, or (with a baseline) what the case adds
/// over the baseline case of the same group (`case - baseline`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// What the budget says.
    pub label: &'static str,
    /// The case timed.
    pub case: &'static str,
    /// The case whose time is subtracted, when the budget is an overhead.
    pub baseline: Option<&'static str>,
    /// At most this many nanoseconds.
    pub max_ns: f64,
}

/// One group as a report tool runs it: its name, how to build its cases (fixtures checked), and
/// what to report.
#[derive(Debug, Clone, Copy)]
pub struct GroupSpec {
    /// The group name.
    pub name: &'static str,
    /// Builds the cases, after checking the fixtures.
    pub cases: fn() -> Result<Vec<Case>, String>,
    /// The ratios worth reporting.
    pub ratios: &'static [Ratio],
    /// The absolute targets.
    pub budgets: &'static [Budget],
}

/// Budgets of the groups that state theirs as constants.
mod budgets {
    use super::{Budget, bot_policy, bot_policy_layer, ip_ranges, web_bot_auth};

    pub(super) const WEB_BOT_AUTH: &[Budget] = &[Budget {
        label: "parse + base",
        case: web_bot_auth::names::OURS_PARSE,
        baseline: None,
        max_ns: web_bot_auth::PARSE_AND_BASE_BUDGET_NS,
    }];

    pub(super) const BOT_POLICY: &[Budget] = &[Budget {
        label: "evaluate baseline + 20, browser",
        case: bot_policy::names::OURS_BASELINE_BROWSER,
        baseline: None,
        max_ns: bot_policy::BASELINE_PLUS_20_BUDGET_NS,
    }];

    pub(super) const BOT_POLICY_LAYER: &[Budget] = &[
        Budget {
            label: "classify + evaluate, browser",
            case: bot_policy_layer::names::CLASSIFY_EVAL_BROWSER,
            baseline: None,
            max_ns: bot_policy_layer::CLASSIFY_EVAL_BUDGET_NS,
        },
        Budget {
            label: "classify + evaluate, verified Googlebot",
            case: bot_policy_layer::names::CLASSIFY_EVAL_GOOGLEBOT,
            baseline: None,
            max_ns: bot_policy_layer::CLASSIFY_EVAL_BUDGET_NS,
        },
        Budget {
            label: "layer overhead, browser",
            case: bot_policy_layer::names::LAYER_BROWSER,
            baseline: Some(bot_policy_layer::names::BARE_BROWSER),
            max_ns: bot_policy_layer::LAYER_OVERHEAD_BUDGET_NS,
        },
    ];

    pub(super) const IP_RANGES: &[Budget] = &[
        Budget {
            label: "IPv4 lookup (hit), over the rotation",
            case: ip_ranges::names::OURS_V4_HIT,
            baseline: Some(ip_ranges::names::HARNESS),
            max_ns: ip_ranges::LOOKUP_BUDGET_NS,
        },
        Budget {
            label: "IPv4 lookup (miss), over the rotation",
            case: ip_ranges::names::OURS_V4_MISS,
            baseline: Some(ip_ranges::names::HARNESS),
            max_ns: ip_ranges::LOOKUP_BUDGET_NS,
        },
        Budget {
            label: "IPv6 lookup (hit), over the rotation",
            case: ip_ranges::names::OURS_V6_HIT,
            baseline: Some(ip_ranges::names::HARNESS),
            max_ns: ip_ranges::LOOKUP_BUDGET_NS,
        },
        Budget {
            label: "IPv6 lookup (miss), over the rotation",
            case: ip_ranges::names::OURS_V6_MISS,
            baseline: Some(ip_ranges::names::HARNESS),
            max_ns: ip_ranges::LOOKUP_BUDGET_NS,
        },
    ];
}

/// Every group, in report order. A new group adds its module above, an entry here and a bench
/// function in `benches/perf.rs`.
pub const ALL: &[GroupSpec] = &[
    GroupSpec {
        name: web_bot_auth::GROUP,
        cases: web_bot_auth::cases,
        ratios: web_bot_auth::RATIOS,
        budgets: budgets::WEB_BOT_AUTH,
    },
    GroupSpec {
        name: bot_policy::GROUP,
        cases: bot_policy::cases,
        ratios: bot_policy::RATIOS,
        budgets: budgets::BOT_POLICY,
    },
    GroupSpec {
        name: bot_policy_layer::GROUP,
        cases: bot_policy_layer::cases,
        ratios: bot_policy_layer::RATIOS,
        budgets: budgets::BOT_POLICY_LAYER,
    },
    GroupSpec {
        name: ip_ranges::GROUP,
        cases: ip_ranges::cases,
        ratios: ip_ranges::RATIOS,
        budgets: budgets::IP_RANGES,
    },
    GroupSpec {
        name: mcp_auth::GROUP,
        cases: mcp_auth::cases,
        ratios: mcp_auth::RATIOS,
        budgets: mcp_auth::BUDGETS,
    },
    GroupSpec {
        name: redis_limits::GROUP,
        cases: redis_limits::cases,
        ratios: redis_limits::RATIOS,
        budgets: &[],
    },
];
