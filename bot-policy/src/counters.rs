//! Counters through the `metrics` facade (feature `metrics`).
//!
//! - `bot_policy_rule_matches_total{rule, action}`: requests each rule matched (log rules and
//!   rules in log mode included), counted by [`Policy::evaluate`](crate::Policy::evaluate).
//! - `bot_policy_decisions_total{action}`: decisions of a `BotPolicyLayer`, by verdict
//!   (`allow`, `skip`, `block`, `challenge`, `charge`, `rate_limit`).
//!
//! Handles are registered with the recorder in force at a counter's first use: install the
//! recorder before the first request.

use std::sync::OnceLock;

use metrics::Counter;

/// Per-rule match counter, registered at first use.
#[derive(Debug, Default)]
pub(crate) struct RuleCounter(OnceLock<Counter>);

impl RuleCounter {
    pub(crate) fn increment(&self, rule: &str, action: &'static str) {
        self.0
            .get_or_init(|| {
                metrics::counter!(
                    "bot_policy_rule_matches_total",
                    "rule" => rule.to_owned(),
                    "action" => action
                )
            })
            .increment(1);
    }
}

#[cfg(feature = "tower")]
const VERDICTS: [&str; 6] = crate::policy::Verdict::NAMES;

/// Per-verdict decision counters of one layer.
#[cfg(feature = "tower")]
#[derive(Debug, Default)]
pub(crate) struct DecisionCounters([OnceLock<Counter>; 6]);

#[cfg(feature = "tower")]
impl DecisionCounters {
    pub(crate) fn decided(&self, verdict: &'static str) {
        let Some(index) = VERDICTS.iter().position(|v| *v == verdict) else {
            return;
        };
        if let Some(slot) = self.0.get(index) {
            slot.get_or_init(
                || metrics::counter!("bot_policy_decisions_total", "action" => VERDICTS[index]),
            )
            .increment(1);
        }
    }
}
