//! Policies: ordered rules, each an expression and an action, evaluated first match wins.
//!
//! A policy is written in TOML (see [`Policy::from_toml_str`] for the format). Rules are tried in
//! order; the first rule that matches with a *terminating* action (`allow`, `block`, `challenge`,
//! `charge`, `skip` of the rest, or `rate_limit` when over the limit) makes the [`Decision`].
//! `log` rules and rules in `mode = "log"` never terminate: they are recorded (a `tracing` event
//! on target `bot_policy::log`, the rule's hit counter, the trace) and evaluation goes on. When no
//! rule terminates, the policy's default applies (`allow` unless set otherwise).
//!
//! `rate_limit` rules count in memory, or in Redis for a service on several machines (feature
//! `redis`: `RedisRateLimiter`, evaluated with `Policy::evaluate_async`).

mod diagnostic;
mod load;
mod presets;
mod price;
mod ratelimit;
#[cfg(feature = "redis")]
mod redis_limit;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use diagnostic::{Diagnostic, PolicyError, Severity};
pub use load::LoadOptions;
pub use presets::PRESETS;
pub use price::{Price, PriceError};
#[cfg(feature = "redis")]
pub use redis_limit::{RateLimitUnavailable, RedisLimiterError, RedisRateLimiter};

use crate::expr::Expression;
use crate::facts::RequestFacts;
use ratelimit::{LocalCheck, RateLimit};

/// What a policy decided for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Let the request through.
    Allow,
    /// A `skip` rule ended evaluation: let the request through, past the remaining rules.
    Skip,
    /// Refuse it (403).
    Block,
    /// Ask the client to prove it is a browser (403 with a challenge, as Cloudflare does).
    Challenge,
    /// Pay-per-crawl: the client must pay this price (402 with `crawler-price`).
    Charge(Price),
    /// Over a `rate_limit` rule's limit (429 with `Retry-After`).
    RateLimited {
        /// When the key will next be allowed.
        retry_after: Duration,
    },
}

impl Verdict {
    /// Every verdict's [name](Verdict::name), in a fixed order (for reports and metrics).
    pub const NAMES: [&'static str; 6] = [
        "allow",
        "skip",
        "block",
        "challenge",
        "charge",
        "rate_limit",
    ];

    /// The status a rejecting layer answers with; `None` when the request goes on to the service.
    pub fn status(&self) -> Option<u16> {
        match self {
            Verdict::Allow | Verdict::Skip => None,
            Verdict::Block | Verdict::Challenge => Some(403),
            Verdict::Charge(_) => Some(402),
            Verdict::RateLimited { .. } => Some(429),
        }
    }

    /// The action's name: `allow`, `skip`, `block`, `challenge`, `charge`, `rate_limit`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Skip => "skip",
            Verdict::Block => "block",
            Verdict::Challenge => "challenge",
            Verdict::Charge(_) => "charge",
            Verdict::RateLimited { .. } => "rate_limit",
        }
    }
}

/// A rule's action, as configured.
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// Let the request through; no later rule is evaluated.
    Allow,
    /// Refuse the request.
    Block,
    /// Challenge the client.
    Challenge,
    /// Record the match and go on.
    Log,
    /// Skip the rest of the rules, or only the named ones (evaluation then goes on).
    Skip(SkipTarget),
    /// Charge this price (pay-per-crawl).
    Charge(Price),
    /// Limit the rate of matching requests, per key.
    RateLimit(RateLimitParams),
}

/// What a `skip` rule skips.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipTarget {
    /// Every later rule: evaluation ends with [`Verdict::Skip`].
    Rest,
    /// These later rules (their indexes in [`Policy::rules`]).
    Rules(Vec<usize>),
}

/// The parameters of a `rate_limit` rule.
#[derive(Debug)]
pub struct RateLimitParams {
    limit: RateLimit,
}

impl RateLimitParams {
    /// Requests allowed per period (also the burst).
    pub fn requests(&self) -> u32 {
        self.limit.requests.get()
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.limit.period
    }

    /// The fields whose values make up the key, by name.
    pub fn key(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.limit.key.iter().map(|f| f.name())
    }
}

impl Action {
    /// The action's name as written in a policy.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Block => "block",
            Action::Challenge => "challenge",
            Action::Log => "log",
            Action::Skip(_) => "skip",
            Action::Charge(_) => "charge",
            Action::RateLimit(_) => "rate_limit",
        }
    }

    /// Whether a match ends evaluation (`rate_limit` does only when over the limit; a `skip` of
    /// named rules does not).
    pub fn is_terminating(&self) -> bool {
        match self {
            Action::Allow | Action::Block | Action::Challenge | Action::Charge(_) => true,
            Action::Skip(target) => *target == SkipTarget::Rest,
            Action::Log | Action::RateLimit(_) => false,
        }
    }
}

/// Whether a rule acts or only records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Act on a match.
    Enforce,
    /// Evaluate and record, but do not act.
    Log,
}

/// Where a rule came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub line: usize,
    pub column: usize,
    /// The preset it was included from.
    pub preset: Option<&'static str>,
}

/// One rule of a policy.
#[derive(Debug)]
pub struct Rule {
    id: Arc<str>,
    description: Option<String>,
    expression: Expression,
    action: Action,
    mode: Mode,
    enabled: bool,
    hits: AtomicU64,
    #[cfg(feature = "metrics")]
    pub(crate) counter: crate::counters::RuleCounter,
    pub(crate) origin: Origin,
    pub(crate) notes: Vec<Diagnostic>,
}

impl Rule {
    /// The rule's id, unique in its policy.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id, shared (for records that outlive the policy).
    #[cfg(feature = "tower")]
    pub(crate) fn shared_id(&self) -> Arc<str> {
        Arc::clone(&self.id)
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The compiled expression.
    pub fn expression(&self) -> &Expression {
        &self.expression
    }

    /// The action.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// Enforce or log only.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether the rule is evaluated at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// How many requests matched this rule since the policy was loaded.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// The preset this rule came from, if it came from one.
    pub fn preset(&self) -> Option<&'static str> {
        self.origin.preset
    }

    /// 1-based line and column of the rule's `id` in its file (for a preset rule, of the
    /// `include` that brought it in).
    pub fn position(&self) -> (usize, usize) {
        (self.origin.line, self.origin.column)
    }

    /// Whether a match ends evaluation, in the rule's mode.
    pub(crate) fn terminates(&self) -> bool {
        self.enabled && self.mode == Mode::Enforce && self.action.is_terminating()
    }
}

/// What happened to one rule during an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleOutcome {
    /// The expression did not match.
    NoMatch,
    /// Matched, and the action was taken (for a terminating action, this made the decision).
    Matched,
    /// Matched a `log` rule or a rule in log mode: recorded, not acted on.
    Logged,
    /// Matched a `rate_limit` rule, and the key was within its limit.
    WithinLimit,
    /// Not evaluated: a `skip` rule named it.
    Skipped,
    /// Not evaluated: the rule is disabled.
    Disabled,
}

impl RuleOutcome {
    /// A short name: `no_match`, `matched`, `logged`, `within_limit`, `skipped`, `disabled`.
    pub fn name(&self) -> &'static str {
        match self {
            RuleOutcome::NoMatch => "no_match",
            RuleOutcome::Matched => "matched",
            RuleOutcome::Logged => "logged",
            RuleOutcome::WithinLimit => "within_limit",
            RuleOutcome::Skipped => "skipped",
            RuleOutcome::Disabled => "disabled",
        }
    }
}

/// One line of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEntry<'p> {
    /// The rule's id.
    pub rule: &'p str,
    /// Its action's name.
    pub action: &'static str,
    /// What happened.
    pub outcome: RuleOutcome,
}

/// The result of evaluating a policy: the verdict, the rule that made it, and on request the
/// trace of every rule evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'p> {
    verdict: Verdict,
    rule: Option<&'p str>,
    /// The deciding rule's index in the policy.
    pub(crate) index: Option<usize>,
    trace: Vec<TraceEntry<'p>>,
}

impl<'p> Decision<'p> {
    /// The verdict.
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    /// The id of the rule that made the decision; `None` when the policy's default applied.
    pub fn rule(&self) -> Option<&'p str> {
        self.rule
    }

    /// The status a rejecting layer answers with (see [`Verdict::status`]).
    pub fn status(&self) -> Option<u16> {
        self.verdict.status()
    }

    /// Every rule evaluated, in order, with what happened (empty unless the decision came from
    /// [`Policy::evaluate_traced`]). Rules after the deciding one are not listed.
    pub fn trace(&self) -> &[TraceEntry<'p>] {
        &self.trace
    }
}

/// A compiled policy. Cheap to share (`Arc<Policy>`), safe to evaluate from many threads.
#[derive(Debug)]
pub struct Policy {
    rules: Vec<Rule>,
    default: Verdict,
    /// Whether some `rate_limit` rule counts in Redis.
    shared_limits: bool,
}

/// Where an evaluation is: the next rule, the rules `skip` rules named, and the trace.
struct Evaluation<'p> {
    next: usize,
    inline: [u64; 8],
    spilled: Vec<u64>,
    traced: bool,
    trace: Vec<TraceEntry<'p>>,
}

impl<'p> Evaluation<'p> {
    fn new(rules: usize, traced: bool) -> Self {
        let mut evaluation = Evaluation {
            next: 0,
            inline: [0; 8],
            spilled: Vec::new(),
            traced,
            trace: if traced {
                Vec::with_capacity(rules)
            } else {
                Vec::new()
            },
        };
        if rules > evaluation.inline.len() * 64 {
            evaluation.spilled.resize(rules.div_ceil(64), 0);
        }
        evaluation
    }

    fn skipped(&mut self) -> &mut [u64] {
        if self.spilled.is_empty() {
            &mut self.inline
        } else {
            &mut self.spilled
        }
    }

    fn record(&mut self, rule: &'p Rule, outcome: RuleOutcome) {
        if self.traced {
            self.trace.push(TraceEntry {
                rule: &rule.id,
                action: rule.action.name(),
                outcome,
            });
        }
    }

    fn decide(&mut self, rule: Option<(&'p Rule, usize)>, verdict: Verdict) -> Decision<'p> {
        if let Some((rule, _)) = rule {
            self.record(rule, RuleOutcome::Matched);
        }
        Decision {
            verdict,
            rule: rule.map(|(rule, _)| &*rule.id),
            index: rule.map(|(_, index)| index),
            trace: std::mem::take(&mut self.trace),
        }
    }
}

/// What an evaluation step came to.
enum Step<'p> {
    /// The decision.
    Decided(Decision<'p>),
    /// The rule at this index is a `rate_limit` counted in Redis, and it matched.
    #[cfg(feature = "redis")]
    SharedLimit(usize, &'p RateLimit),
}

/// How an evaluation treats rate limits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Run {
    /// Count requests against rate limits and count hits.
    Live,
    /// Touch no state: rate-limit rules are recorded as within their limit, hits are not counted
    /// (the linter, and replays that should not disturb a live policy).
    Dry,
}

impl Policy {
    /// Evaluates the policy for a request.
    ///
    /// A `rate_limit` rule counted in Redis (feature `redis`, `LoadOptions::redis_rate_limiter`)
    /// cannot be waited for here: it answers as if Redis were down (as the limiter is configured
    /// to, and logged). Use `Policy::evaluate_async` for such a policy (the `BotPolicyLayer`
    /// does).
    pub fn evaluate(&self, facts: &RequestFacts<'_>) -> Decision<'_> {
        self.run(facts, false, Run::Live)
    }

    /// As [`Policy::evaluate`], and records the trace of every rule evaluated.
    pub fn evaluate_traced(&self, facts: &RequestFacts<'_>) -> Decision<'_> {
        self.run(facts, true, Run::Live)
    }

    /// As [`Policy::evaluate_traced`], without touching any state: rate limits are neither
    /// counted nor enforced, hit counters do not move, nothing is logged.
    pub fn evaluate_dry(&self, facts: &RequestFacts<'_>) -> Decision<'_> {
        self.run(facts, true, Run::Dry)
    }

    /// As [`Policy::evaluate`], waiting for Redis where a `rate_limit` rule is counted there
    /// (the same rules in the same order: a rule after a rate limit is evaluated only once the
    /// limit has answered).
    #[cfg(feature = "redis")]
    pub async fn evaluate_async(&self, facts: &RequestFacts<'_>) -> Decision<'_> {
        let mut evaluation = Evaluation::new(self.rules.len(), false);
        loop {
            match self.step(facts, &mut evaluation, Run::Live) {
                Step::Decided(decision) => return decision,
                Step::SharedLimit(index, limit) => {
                    let answer = limit.check_shared(facts).await;
                    if let Some(decision) = self.limit_answered(&mut evaluation, index, answer) {
                        return decision;
                    }
                }
            }
        }
    }

    /// Whether some `rate_limit` rule is counted in Redis (feature `redis`; then
    /// `Policy::evaluate_async` is the evaluation to use).
    pub fn has_shared_limits(&self) -> bool {
        self.shared_limits
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The verdict when no rule terminates.
    pub fn default_verdict(&self) -> &Verdict {
        &self.default
    }

    fn run<'p>(&'p self, facts: &RequestFacts<'_>, traced: bool, run: Run) -> Decision<'p> {
        let mut evaluation = Evaluation::new(self.rules.len(), traced);
        // Without the `redis` feature the first step always decides.
        #[cfg_attr(not(feature = "redis"), allow(clippy::never_loop))]
        loop {
            match self.step(facts, &mut evaluation, run) {
                Step::Decided(decision) => return decision,
                #[cfg(feature = "redis")]
                Step::SharedLimit(index, limit) => {
                    let answer = limit.shared_unavailable();
                    if let Some(decision) = self.limit_answered(&mut evaluation, index, answer) {
                        return decision;
                    }
                }
            }
        }
    }

    /// Goes on after the shared `rate_limit` rule at `index` answered: `None` to keep
    /// evaluating, or the decision when the rule was over its limit.
    #[cfg(feature = "redis")]
    fn limit_answered<'p>(
        &'p self,
        evaluation: &mut Evaluation<'p>,
        index: usize,
        answer: Result<(), Duration>,
    ) -> Option<Decision<'p>> {
        let rule = self.rules.get(index)?;
        match answer {
            Ok(()) => {
                evaluation.record(rule, RuleOutcome::WithinLimit);
                None
            }
            Err(retry_after) => {
                Some(evaluation.decide(Some((rule, index)), Verdict::RateLimited { retry_after }))
            }
        }
    }

    /// Evaluates rules from where `evaluation` is, until a decision or a rate limit that must
    /// wait for Redis.
    fn step<'p>(
        &'p self,
        facts: &RequestFacts<'_>,
        evaluation: &mut Evaluation<'p>,
        run: Run,
    ) -> Step<'p> {
        while let Some(rule) = self.rules.get(evaluation.next) {
            let index = evaluation.next;
            evaluation.next += 1;
            if !rule.enabled {
                evaluation.record(rule, RuleOutcome::Disabled);
                continue;
            }
            if evaluation.skipped()[index / 64] & (1 << (index % 64)) != 0 {
                evaluation.record(rule, RuleOutcome::Skipped);
                continue;
            }
            if !rule.expression.matches(facts) {
                evaluation.record(rule, RuleOutcome::NoMatch);
                continue;
            }
            if run == Run::Live {
                rule.hits.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                rule.counter.increment(&rule.id, rule.action.name());
            }
            if rule.mode == Mode::Log || matches!(rule.action, Action::Log) {
                if run == Run::Live {
                    tracing::info!(
                        target: "bot_policy::log",
                        rule = %rule.id,
                        action = rule.action.name(),
                        log_mode = rule.mode == Mode::Log,
                        method = facts.method(),
                        path = facts.path(),
                        "rule matched"
                    );
                }
                evaluation.record(rule, RuleOutcome::Logged);
                continue;
            }
            let verdict = match &rule.action {
                Action::Allow => Verdict::Allow,
                Action::Block => Verdict::Block,
                Action::Challenge => Verdict::Challenge,
                Action::Charge(price) => Verdict::Charge(*price),
                Action::Skip(SkipTarget::Rest) => Verdict::Skip,
                Action::Skip(SkipTarget::Rules(targets)) => {
                    let skipped = evaluation.skipped();
                    for &target in targets {
                        if let Some(word) = skipped.get_mut(target / 64) {
                            *word |= 1 << (target % 64);
                        }
                    }
                    evaluation.record(rule, RuleOutcome::Matched);
                    continue;
                }
                Action::RateLimit(params) => {
                    if run == Run::Dry {
                        evaluation.record(rule, RuleOutcome::WithinLimit);
                        continue;
                    }
                    match params.limit.check_local(facts) {
                        LocalCheck::Within => {
                            evaluation.record(rule, RuleOutcome::WithinLimit);
                            continue;
                        }
                        LocalCheck::Over(retry_after) => Verdict::RateLimited { retry_after },
                        #[cfg(feature = "redis")]
                        LocalCheck::Shared => return Step::SharedLimit(index, &params.limit),
                    }
                }
                Action::Log => Verdict::Allow,
            };
            return Step::Decided(evaluation.decide(Some((rule, index)), verdict));
        }
        Step::Decided(evaluation.decide(None, self.default))
    }
}
