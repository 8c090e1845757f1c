//! Benchmark groups: one per workspace crate, each a list of named [`Case`]s.

pub mod bot_policy;
pub mod bot_policy_layer;
pub mod ip_ranges;
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
