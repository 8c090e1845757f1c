//! `bot-policy replay POLICY LOG …`: an access log through a policy, dry (no rate limit fires,
//! no hit counter moves): hits per rule, totals per action, and differences from another policy.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use bot_policy::classify::Classifier;
use bot_policy::policy::{Decision, RuleOutcome};
use bot_policy::{Policy, Verdict};
use serde::Serialize;

use crate::check::plural;
use crate::logparse::{Line, MAX_LINE, parse, read_line};
use crate::request::Request;
use crate::{Failure, ReplayArgs, load_policy, shown};

/// Logs larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: u64 = 1024 * 1024;
/// How many malformed line numbers are reported.
const MALFORMED_SHOWN: usize = 5;
/// The action names, in the order reported.
const ACTIONS: [&str; 6] = bot_policy::Verdict::NAMES;
/// The longest user agent shown in a difference (in characters).
const UA_SHOWN: usize = 120;

/// Counts for one policy.
struct Tally<'p> {
    policy: &'p Policy,
    hits: Vec<u64>,
    index: HashMap<&'p str, usize>,
    actions: [u64; ACTIONS.len()],
}

impl<'p> Tally<'p> {
    fn new(policy: &'p Policy) -> Self {
        Tally {
            policy,
            hits: vec![0; policy.rules().len()],
            index: policy
                .rules()
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id(), i))
                .collect(),
            actions: [0; ACTIONS.len()],
        }
    }

    fn count(&mut self, decision: &Decision<'p>) {
        let rules = self.policy.rules();
        for (i, entry) in decision.trace().iter().enumerate() {
            if !matches!(
                entry.outcome,
                RuleOutcome::Matched | RuleOutcome::Logged | RuleOutcome::WithinLimit
            ) {
                continue;
            }
            // The trace lists every rule in order up to the deciding one; look the id up only
            // if that ever changes.
            let index = match rules.get(i) {
                Some(rule) if rule.id() == entry.rule => Some(i),
                _ => self.index.get(entry.rule).copied(),
            };
            if let Some(hits) = index.and_then(|index| self.hits.get_mut(index)) {
                *hits += 1;
            }
        }
        let name = decision.verdict().name();
        if let Some(at) = ACTIONS.iter().position(|a| *a == name) {
            self.actions[at] += 1;
        }
    }

    fn actions_json(&self) -> BTreeMap<&'static str, u64> {
        ACTIONS.iter().copied().zip(self.actions).collect()
    }
}

/// A request two policies decide differently.
#[derive(Serialize)]
struct Difference {
    line: u64,
    method: String,
    path: String,
    query: String,
    ua: String,
    a: Outcome,
    b: Outcome,
}

/// A verdict and the rule that made it.
#[derive(Serialize)]
struct Outcome {
    action: String,
    rule: Option<String>,
}

impl Outcome {
    fn of(decision: &Decision<'_>) -> Self {
        let action = match decision.verdict() {
            Verdict::Charge(price) => format!("charge {price}"),
            verdict => verdict.name().to_owned(),
        };
        Outcome {
            action,
            rule: decision.rule().map(str::to_owned),
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({})",
            self.action,
            self.rule.as_deref().unwrap_or("default")
        )
    }
}

#[derive(Serialize)]
struct RuleJson<'p> {
    id: &'p str,
    action: &'static str,
    mode: &'static str,
    enabled: bool,
    hits: u64,
}

#[derive(Serialize)]
struct CompareJson<'a> {
    policy: String,
    actions: BTreeMap<&'static str, u64>,
    differences: u64,
    diffs: &'a [Difference],
}

#[derive(Serialize)]
struct ReportJson<'a> {
    policy: String,
    rules: Vec<RuleJson<'a>>,
    actions: BTreeMap<&'static str, u64>,
    lines: u64,
    requests: u64,
    malformed: u64,
    malformed_lines: &'a [u64],
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<CompareJson<'a>>,
}

/// Everything counted over a log.
struct Report<'p> {
    a: Tally<'p>,
    b: Option<Tally<'p>>,
    lines: u64,
    requests: u64,
    malformed: u64,
    malformed_lines: Vec<u64>,
    differences: u64,
    diffs: Vec<Difference>,
}

/// Opens the log: a file, or standard input for `-`; with its size when known.
fn open(path: &Path) -> Result<(Box<dyn Read>, Option<u64>), Failure> {
    if path == Path::new("-") {
        return Ok((Box::new(std::io::stdin().lock()), None));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::Failed(Some(format!("cannot read {}: {e}", shown(path)))))?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    Ok((Box::new(file), size))
}

fn progress_bar(size: Option<u64>) -> Option<indicatif::ProgressBar> {
    let size = size.filter(|size| *size > PROGRESS_THRESHOLD)?;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

/// Runs the log through the policies.
pub(crate) fn run(args: &ReplayArgs) -> Result<ExitCode, Failure> {
    let policy = load_policy(&args.policy)?;
    let other = match &args.compare {
        Some(path) => Some(load_policy(path)?),
        None => None,
    };
    let (input, size) = open(&args.log)?;
    let mut reader = BufReader::with_capacity(256 * 1024, input);
    let classifier = Classifier::builtin();
    let bar = progress_bar(size);

    let mut report = Report {
        a: Tally::new(&policy),
        b: other.as_ref().map(Tally::new),
        lines: 0,
        requests: 0,
        malformed: 0,
        malformed_lines: Vec::new(),
        differences: 0,
        diffs: Vec::new(),
    };
    let mut buf = Vec::with_capacity(4096);
    let mut consumed = 0u64;
    loop {
        let line = read_line(&mut reader, &mut buf, MAX_LINE, &mut consumed)
            .map_err(|e| Failure::Failed(Some(format!("cannot read {}: {e}", shown(&args.log)))))?;
        if line == Line::End {
            break;
        }
        report.lines += 1;
        if let Some(bar) = bar.as_ref().filter(|_| report.lines.is_multiple_of(1024)) {
            bar.set_position(consumed);
        }
        let parsed = match line {
            Line::Text => parse(args.format, &buf).ok(),
            Line::TooLong | Line::End => None,
        };
        let Some(request) = parsed else {
            report.malformed += 1;
            if report.malformed_lines.len() < MALFORMED_SHOWN {
                report.malformed_lines.push(report.lines);
            }
            continue;
        };
        let Some(request) = request else {
            continue; // a blank line
        };
        report.requests += 1;
        replay_one(&mut report, &classifier, &request, args.max_diffs);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    if report.malformed > 0 {
        let numbers: Vec<String> = report.malformed_lines.iter().map(u64::to_string).collect();
        let more = if report.malformed > report.malformed_lines.len() as u64 {
            ", …"
        } else {
            ""
        };
        let _ = writeln!(
            std::io::stderr(),
            "bot-policy: {}: {} malformed {} skipped ({} {}{more})",
            shown(&args.log),
            report.malformed,
            plural(report.malformed as usize, "line", "lines"),
            plural(numbers.len(), "line", "lines"),
            numbers.join(", "),
        );
    }

    let mut out = BufWriter::new(std::io::stdout().lock());
    if args.json {
        let json = report_json(&report, args);
        let json = serde_json::to_string_pretty(&json)
            .map_err(|e| Failure::Failed(Some(format!("cannot write JSON: {e}"))))?;
        writeln!(out, "{json}")?;
    } else {
        out.write_all(report_text(&report, args).as_bytes())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn replay_one<'p>(
    report: &mut Report<'p>,
    classifier: &Classifier,
    request: &Request,
    max_diffs: usize,
) {
    let a_policy = report.a.policy;
    let b_policy = report.b.as_ref().map(|b| b.policy);
    request.with_facts(classifier, |facts, _| {
        let a = a_policy.evaluate_dry(facts);
        report.a.count(&a);
        if let (Some(b_policy), Some(b_tally)) = (b_policy, report.b.as_mut()) {
            let b = b_policy.evaluate_dry(facts);
            b_tally.count(&b);
            if a.verdict() != b.verdict() || a.rule() != b.rule() {
                report.differences += 1;
                if report.diffs.len() < max_diffs {
                    report.diffs.push(Difference {
                        line: report.lines,
                        method: facts.method().to_owned(),
                        path: facts.path().to_owned(),
                        query: facts.query().to_owned(),
                        ua: String::from_utf8_lossy(facts.user_agent()).into_owned(),
                        a: Outcome::of(&a),
                        b: Outcome::of(&b),
                    });
                }
            }
        }
    });
}

fn report_json<'a>(report: &'a Report<'a>, args: &ReplayArgs) -> ReportJson<'a> {
    ReportJson {
        policy: shown(&args.policy),
        rules: report
            .a
            .policy
            .rules()
            .iter()
            .zip(&report.a.hits)
            .map(|(rule, &hits)| RuleJson {
                id: rule.id(),
                action: rule.action().name(),
                mode: match rule.mode() {
                    bot_policy::policy::Mode::Log => "log",
                    _ => "enforce",
                },
                enabled: rule.enabled(),
                hits,
            })
            .collect(),
        actions: report.a.actions_json(),
        lines: report.lines,
        requests: report.requests,
        malformed: report.malformed,
        malformed_lines: &report.malformed_lines,
        compare: report.b.as_ref().map(|b| CompareJson {
            policy: args.compare.as_deref().map(shown).unwrap_or_default(),
            actions: b.actions_json(),
            differences: report.differences,
            diffs: &report.diffs,
        }),
    }
}

fn percent(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

fn report_text(report: &Report<'_>, args: &ReplayArgs) -> String {
    let mut out = String::new();
    let rules = report.a.policy.rules();
    let id_width = rules
        .iter()
        .map(|r| r.id().chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let _ = writeln!(out, "{}", shown(&args.policy));
    let _ = writeln!(
        out,
        "  {:<id_width$}  {:<16}  {:>10}",
        "rule", "action", "hits"
    );
    for (rule, hits) in rules.iter().zip(&report.a.hits) {
        let mut action = rule.action().name().to_owned();
        if rule.mode() == bot_policy::policy::Mode::Log {
            action.push_str(" (log)");
        }
        if !rule.enabled() {
            action.push_str(" (off)");
        }
        let _ = writeln!(out, "  {:<id_width$}  {action:<16}  {hits:>10}", rule.id());
    }
    let _ = writeln!(out);
    action_table(&mut out, &report.a, report.requests);
    let _ = writeln!(out);
    let _ = writeln!(out, "  lines      {:>10}", report.lines);
    let _ = writeln!(out, "  requests   {:>10}", report.requests);
    let _ = writeln!(out, "  malformed  {:>10}", report.malformed);
    if let (Some(b), Some(other)) = (&report.b, &args.compare) {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", shown(other));
        action_table(&mut out, b, report.requests);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} {} decided differently (A: {}, B: {})",
            report.differences,
            plural(report.differences as usize, "request", "requests"),
            shown(&args.policy),
            shown(other),
        );
        for diff in &report.diffs {
            let target = if diff.query.is_empty() {
                diff.path.clone()
            } else {
                format!("{}?{}", diff.path, diff.query)
            };
            let mut ua: String = diff.ua.chars().take(UA_SHOWN).collect();
            if diff.ua.chars().count() > UA_SHOWN {
                ua.push('…');
            }
            let _ = writeln!(
                out,
                "  line {}: {} {} {:?}  A: {} vs B: {}",
                diff.line, diff.method, target, ua, diff.a, diff.b
            );
        }
        if report.differences > report.diffs.len() as u64 {
            let _ = writeln!(
                out,
                "  … and {} more (--max-diffs)",
                report.differences - report.diffs.len() as u64
            );
        }
    }
    out
}

fn action_table(out: &mut String, tally: &Tally<'_>, requests: u64) {
    let _ = writeln!(
        out,
        "  {:<12}  {:>10}  {:>7}",
        "action", "requests", "share"
    );
    for (name, count) in ACTIONS.iter().zip(tally.actions) {
        if count == 0 && matches!(*name, "rate_limit" | "skip" | "charge") {
            continue;
        }
        let _ = writeln!(
            out,
            "  {name:<12}  {count:>10}  {:>6.1}%",
            percent(count, requests)
        );
    }
}
