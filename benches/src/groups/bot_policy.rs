//! Group `bot_policy`: evaluating ordered rules in Cloudflare's Rules language with our
//! `bot-policy` and with Cloudflare's `wirefilter-engine` 0.6.1, on the 25 rules of
//! `benches/data/bot-policy-rules.tsv`.
//!
//! Targets (from the issue): the baseline preset plus 20 typical rules under 1 µs median on a
//! request; and, on the same expressions in the same run, at most wirefilter's time per filter
//! (both run 25 rules, so at most its time per request).
//!
//! Per request, each side does what its user must: ours builds [`bot_policy::RequestFacts`]
//! from the `http::Request` and evaluates; wirefilter fills an `ExecutionContext` and runs the
//! filters in order until one that is not `log` matches. The `prebuilt-ctx` cases time
//! wirefilter's filters alone, on a context filled before timing.
//!
//! wirefilter 0.6's compiled filters are neither `Send` nor `Sync`, so these cases share their
//! fixtures through an `Rc`.

use std::hint::black_box;
use std::rc::Rc;

use bot_policy::Verdict;
use wirefilter::ExecutionContext;

use super::{Case, Ratio};
use crate::bot_policy_ours::{Fixture, OurRequest, OursPolicies, browser, gptbot};
use crate::wirefilter_peer::{WirefilterRequest, WirefilterRules};

/// The group name.
pub const GROUP: &str = "bot_policy";

/// Case names.
pub mod names {
    /// Ours: `include = ["baseline"]` + rules 06..25, plain browser (nothing matches).
    pub const OURS_BASELINE_BROWSER: &str = "ours/baseline+20/browser";
    /// Ours: the 25 TSV rules, plain browser.
    pub const OURS_25_BROWSER: &str = "ours/25-rules/browser";
    /// wirefilter: the 25 rules, context filled per request, plain browser.
    pub const WF_25_BROWSER: &str = "wirefilter/25-rules/browser";
    /// wirefilter: the 25 filters on a prebuilt context, plain browser.
    pub const WF_PREBUILT_BROWSER: &str = "wirefilter/25-rules-prebuilt-ctx/browser";
    /// Ours: baseline + 20, unverified GPTBot claim (decided by the baseline's fifth rule).
    pub const OURS_BASELINE_GPTBOT: &str = "ours/baseline+20/gptbot";
    /// Ours: the 25 TSV rules, unverified GPTBot claim (decided by `rule-05`).
    pub const OURS_25_GPTBOT: &str = "ours/25-rules/gptbot";
    /// wirefilter: the 25 rules, context filled per request, unverified GPTBot claim.
    pub const WF_25_GPTBOT: &str = "wirefilter/25-rules/gptbot";
    /// wirefilter: the 25 filters on a prebuilt context, unverified GPTBot claim.
    pub const WF_PREBUILT_GPTBOT: &str = "wirefilter/25-rules-prebuilt-ctx/gptbot";
}

/// Budget for the baseline preset plus 20 rules on a request, in nanoseconds.
pub const BASELINE_PLUS_20_BUDGET_NS: f64 = 1000.0;

/// The ratios the report shows.
pub const RATIOS: &[Ratio] = &[
    Ratio {
        label: "ours / wirefilter, 25 rules per request (browser)",
        numerator: names::OURS_25_BROWSER,
        denominator: names::WF_25_BROWSER,
        target: Some(1.0),
    },
    Ratio {
        label: "ours / wirefilter, 25 rules per request (gptbot)",
        numerator: names::OURS_25_GPTBOT,
        denominator: names::WF_25_GPTBOT,
        target: Some(1.0),
    },
    Ratio {
        label: "ours baseline+20 / wirefilter 25 rules per request (browser)",
        numerator: names::OURS_BASELINE_BROWSER,
        denominator: names::WF_25_BROWSER,
        target: Some(1.0),
    },
    Ratio {
        label: "ours / wirefilter filters alone on a prebuilt context (browser)",
        numerator: names::OURS_25_BROWSER,
        denominator: names::WF_PREBUILT_BROWSER,
        target: None,
    },
    Ratio {
        label: "ours / wirefilter filters alone on a prebuilt context (gptbot)",
        numerator: names::OURS_25_GPTBOT,
        denominator: names::WF_PREBUILT_GPTBOT,
        target: None,
    },
];

/// One request, prepared for both engines, with the outcomes the cases expect.
pub struct Prepared {
    /// The values both sides are built from.
    pub fixture: Fixture,
    /// Ours: the `http::Request`, client address and classification.
    pub ours: OurRequest,
    /// wirefilter: the request values.
    pub wirefilter: WirefilterRequest<'static>,
    /// wirefilter: a context filled before timing.
    pub context: ExecutionContext<'static>,
    /// The verdict of the baseline+20 policy.
    pub baseline_verdict: Verdict,
    /// The verdict of the 25-rule policy.
    pub verdict: Verdict,
    /// wirefilter's first match (index of a rule that is not `log`).
    pub first_match: Option<usize>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("fixture", &self.fixture.name)
            .field("verdict", &self.verdict)
            .field("first_match", &self.first_match)
            .finish_non_exhaustive()
    }
}

/// Everything the cases need, built once.
pub struct Fixtures {
    /// Our two policies.
    pub ours: OursPolicies,
    /// wirefilter's 25 filters.
    pub wirefilter: WirefilterRules<'static>,
    /// The plain browser request.
    pub browser: Prepared,
    /// The unverified GPTBot claim.
    pub gptbot: Prepared,
}

impl std::fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtures")
            .field("browser", &self.browser)
            .field("gptbot", &self.gptbot)
            .finish_non_exhaustive()
    }
}

impl Fixtures {
    /// Loads both policies, compiles wirefilter's filters and prepares the requests.
    pub fn new() -> Result<Self, String> {
        let ours = OursPolicies::new()?;
        let wirefilter = WirefilterRules::new()?;
        let prepare = |fixture: Fixture| -> Result<Prepared, String> {
            let request = fixture.ours()?;
            let facts = request.facts();
            let baseline_verdict = *ours.baseline_plus_20.evaluate(&facts).verdict();
            let verdict = *ours.all_25.evaluate(&facts).verdict();
            let wreq = fixture.wirefilter();
            Ok(Prepared {
                fixture,
                context: wirefilter.context(&wreq),
                first_match: wirefilter.first_match(&wreq),
                ours: request,
                wirefilter: wreq,
                baseline_verdict,
                verdict,
            })
        };
        Ok(Fixtures {
            browser: prepare(browser())?,
            gptbot: prepare(gptbot())?,
            ours,
            wirefilter,
        })
    }

    /// Checks that both engines compute the same thing on each request: our deciding rule (on
    /// the 25 rules) is wirefilter's first match, with or without a prebuilt context, and the
    /// outcomes are the documented ones (nothing for the browser, `rule-05` for GPTBot).
    pub fn check(&self) -> Result<(), String> {
        for (p, expected) in [(&self.browser, None), (&self.gptbot, Some("rule-05"))] {
            let name = p.fixture.name;
            let facts = p.ours.facts();
            let ours = self.ours.all_25.evaluate(&facts).rule();
            let theirs = p.first_match.map(|i| self.wirefilter.rules()[i].id);
            if ours != expected || theirs != expected {
                return Err(format!(
                    "{name}: ours decided by {ours:?}, wirefilter by {theirs:?}, expected {expected:?}"
                ));
            }
            if self.wirefilter.first_match_in(&p.context) != p.first_match {
                return Err(format!(
                    "{name}: wirefilter differs on the prebuilt context"
                ));
            }
        }
        let expected = [
            (&self.browser, Verdict::Allow, Verdict::Allow),
            (&self.gptbot, Verdict::Block, Verdict::Block),
        ];
        for (p, baseline, all_25) in expected {
            if p.baseline_verdict != baseline || p.verdict != all_25 {
                return Err(format!(
                    "{}: verdicts {:?} / {:?}",
                    p.fixture.name, p.baseline_verdict, p.verdict
                ));
            }
        }
        Ok(())
    }
}

/// The group's cases, in report order, after [`Fixtures::check`] passed. Each routine returns
/// whether it reached the outcome checked before timing.
pub fn cases() -> Result<Vec<Case>, String> {
    let fixtures = Rc::new(Fixtures::new()?);
    fixtures.check()?;
    let case = |name: &'static str, routine: fn(&Fixtures) -> bool| {
        let f = Rc::clone(&fixtures);
        Case::new(name, move || routine(black_box(&f)))
    };
    Ok(vec![
        case(names::OURS_BASELINE_BROWSER, |f| {
            let p = &f.browser;
            *f.ours.baseline_plus_20.evaluate(&p.ours.facts()).verdict() == p.baseline_verdict
        }),
        case(names::OURS_25_BROWSER, |f| {
            let p = &f.browser;
            *f.ours.all_25.evaluate(&p.ours.facts()).verdict() == p.verdict
        }),
        case(names::WF_25_BROWSER, |f| {
            let p = &f.browser;
            f.wirefilter.first_match(&p.wirefilter) == p.first_match
        }),
        case(names::WF_PREBUILT_BROWSER, |f| {
            let p = &f.browser;
            f.wirefilter.first_match_in(&p.context) == p.first_match
        }),
        case(names::OURS_BASELINE_GPTBOT, |f| {
            let p = &f.gptbot;
            *f.ours.baseline_plus_20.evaluate(&p.ours.facts()).verdict() == p.baseline_verdict
        }),
        case(names::OURS_25_GPTBOT, |f| {
            let p = &f.gptbot;
            *f.ours.all_25.evaluate(&p.ours.facts()).verdict() == p.verdict
        }),
        case(names::WF_25_GPTBOT, |f| {
            let p = &f.gptbot;
            f.wirefilter.first_match(&p.wirefilter) == p.first_match
        }),
        case(names::WF_PREBUILT_GPTBOT, |f| {
            let p = &f.gptbot;
            f.wirefilter.first_match_in(&p.context) == p.first_match
        }),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_check_and_every_case_succeeds() {
        let cases = cases().unwrap();
        assert_eq!(cases.len(), 8);
        for c in &cases {
            assert!(c.run(), "{}", c.name);
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
}
