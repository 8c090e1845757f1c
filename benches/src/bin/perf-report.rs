//! `perf-report`: a short run of every benchmark group's comparisons, printed as a Markdown table
//! and written as JSON to `<target>/perf-report.json`.
//!
//! ```text
//! cargo run -p benches --bin perf-report --release
//! cargo run -p benches --bin perf-report --release -- --group mcp_auth --batches 31 --batch-ms 5
//! ```
//!
//! Not criterion: each group's cases (the same [`benches::groups::Case`]s the criterion entry
//! point times, fixtures checked first) are timed in batches, round robin, so that every case of
//! a group sees the same machine state; a batch runs a case enough times to take about
//! `--batch-ms` milliseconds (calibrated once), and a case's time is the median over the batches
//! of the time per run. The table shows, per group, each ratio (ours over a peer or a floor) and
//! each absolute budget (a case's time, or what it adds over a baseline case). Ratios are what
//! it is read for: absolute times depend on the machine.
//!
//! The target directory is `$CARGO_TARGET_DIR` when set, else the workspace's `target/`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use benches::groups::{ALL, Case, GroupSpec};

/// How the run is sized.
#[derive(Debug, Clone)]
struct Options {
    batches: usize,
    batch: Duration,
    groups: Vec<String>,
    json: Option<PathBuf>,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut options = Options {
            batches: 31,
            batch: Duration::from_millis(10),
            groups: Vec::new(),
            json: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--batches" => {
                    options.batches = value("--batches")?
                        .parse()
                        .map_err(|e| format!("--batches: {e}"))?;
                }
                "--batch-ms" => {
                    let ms: u64 = value("--batch-ms")?
                        .parse()
                        .map_err(|e| format!("--batch-ms: {e}"))?;
                    options.batch = Duration::from_millis(ms.max(1));
                }
                "--group" => options.groups.push(value("--group")?),
                "--json" => options.json = Some(PathBuf::from(value("--json")?)),
                "--bench" => {} // passed by `cargo bench`; ignored
                "-h" | "--help" => {
                    return Err("usage: perf-report [--group NAME]... [--batches N] \
                                [--batch-ms MS] [--json PATH]"
                        .to_owned());
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        options.batches = options.batches.max(3);
        Ok(options)
    }
}

/// The median time per run of one case.
#[derive(Debug, Clone)]
struct Timing {
    name: &'static str,
    median_ns: f64,
}

/// Runs `case` `n` times: the elapsed time, or `None` if a run failed.
fn run_batch(case: &Case, n: u64) -> Option<Duration> {
    let start = Instant::now();
    let mut ok = true;
    for _ in 0..n {
        ok &= black_box(case.run());
    }
    let elapsed = start.elapsed();
    ok.then_some(elapsed)
}

/// How many runs of `case` take about `target`.
fn calibrate(case: &Case, target: Duration) -> Result<u64, String> {
    let mut n: u64 = 1;
    loop {
        let elapsed = run_batch(case, n).ok_or(format!("{} failed", case.name))?;
        if elapsed >= target / 4 || n >= 1 << 30 {
            let per_run = elapsed.as_secs_f64() / n as f64;
            let wanted = (target.as_secs_f64() / per_run.max(1e-10)).ceil();
            return Ok((wanted as u64).clamp(1, 1 << 32));
        }
        n *= 4;
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Times every case of a group, round robin over the batches.
fn time_group(cases: &[Case], options: &Options) -> Result<Vec<Timing>, String> {
    let mut sizes = Vec::with_capacity(cases.len());
    for case in cases {
        if !case.run() {
            return Err(format!("{} failed before timing", case.name));
        }
        sizes.push(calibrate(case, options.batch)?);
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(options.batches); cases.len()];
    for _ in 0..options.batches {
        for ((case, n), out) in cases.iter().zip(&sizes).zip(&mut samples) {
            let elapsed = run_batch(case, *n).ok_or(format!("{} failed", case.name))?;
            out.push(elapsed.as_nanos() as f64 / *n as f64);
        }
    }
    Ok(cases
        .iter()
        .zip(samples)
        .map(|(case, mut s)| Timing {
            name: case.name,
            median_ns: median(&mut s),
        })
        .collect())
}

/// One line of the report.
#[derive(Debug, Clone)]
struct Row {
    group: &'static str,
    operation: String,
    ours: &'static str,
    ours_ns: f64,
    other: Option<&'static str>,
    other_ns: Option<f64>,
    ratio: Option<f64>,
    /// The target as written in the table.
    target: Option<String>,
    /// The measured value the target is about, when it is not the ratio (an overhead or a time).
    measured: Option<String>,
    met: Option<bool>,
}

fn time_of(timings: &[Timing], name: &str) -> Result<f64, String> {
    timings
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.median_ns)
        .ok_or(format!("no case named {name:?}"))
}

fn rows_of(spec: &GroupSpec, timings: &[Timing]) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for ratio in spec.ratios {
        let ours_ns = time_of(timings, ratio.numerator)?;
        let other_ns = time_of(timings, ratio.denominator)?;
        let value = ours_ns / other_ns;
        rows.push(Row {
            group: spec.name,
            operation: ratio.label.to_owned(),
            ours: ratio.numerator,
            ours_ns,
            other: Some(ratio.denominator),
            other_ns: Some(other_ns),
            ratio: Some(value),
            target: ratio.target.map(|t| format!("≤ {t:.2}×")),
            measured: None,
            met: ratio.target.map(|t| value <= t),
        });
    }
    for budget in spec.budgets {
        let ours_ns = time_of(timings, budget.case)?;
        let (other_ns, amount, target) = match budget.baseline {
            Some(baseline) => {
                let base = time_of(timings, baseline)?;
                (
                    Some(base),
                    ours_ns - base,
                    format!("≤ +{}", format_ns(budget.max_ns)),
                )
            }
            None => (None, ours_ns, format!("≤ {}", format_ns(budget.max_ns))),
        };
        let measured = match budget.baseline {
            Some(_) => format!(
                "{}{}",
                if amount < 0.0 { "−" } else { "+" },
                format_ns(amount.abs())
            ),
            None => format_ns(amount),
        };
        rows.push(Row {
            group: spec.name,
            operation: budget.label.to_owned(),
            ours: budget.case,
            ours_ns,
            other: budget.baseline,
            other_ns,
            ratio: other_ns.map(|o| ours_ns / o),
            target: Some(target),
            measured: Some(measured),
            met: Some(amount <= budget.max_ns),
        });
    }
    Ok(rows)
}

/// `812 ns`, `4.31 µs`, `1.25 ms`.
fn format_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| group | operation | ours | peer or floor | ratio | target | met? |\n");
    out.push_str("|---|---|---:|---:|---:|---|:---:|\n");
    for row in rows {
        let other = row.other_ns.map_or("—".to_owned(), format_ns);
        let ratio = row.ratio.map_or("—".to_owned(), |r| format!("{r:.2}×"));
        let target = match (&row.target, &row.measured) {
            (Some(t), Some(m)) => format!("{t} (measured {m})"),
            (Some(t), None) => t.clone(),
            (None, _) => "—".to_owned(),
        };
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.group,
            row.operation,
            format_ns(row.ours_ns),
            other,
            ratio,
            target,
            met
        );
    }
    out
}

fn json(rows: &[Row], groups: &[(&'static str, Vec<Timing>)], options: &Options) -> String {
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "group": r.group,
                "operation": r.operation,
                "ours_case": r.ours,
                "ours_ns": r.ours_ns,
                "other_case": r.other,
                "other_ns": r.other_ns,
                "ratio": r.ratio,
                "target": r.target,
                "measured": r.measured,
                "met": r.met,
            })
        })
        .collect();
    let cases: Vec<_> = groups
        .iter()
        .flat_map(|(group, timings)| {
            timings.iter().map(move |t| {
                serde_json::json!({ "group": group, "case": t.name, "median_ns": t.median_ns })
            })
        })
        .collect();
    let doc = serde_json::json!({
        "method": {
            "batches": options.batches,
            "batch_ms": options.batch.as_millis() as u64,
            "statistic": "median over batches of the time per run",
        },
        "rows": rows,
        "cases": cases,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// `$CARGO_TARGET_DIR`, else the workspace's `target/` (this crate's parent directory).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("target"), |root| root.join("target")),
    }
}

fn run() -> Result<bool, String> {
    let options = Options::parse()?;
    if cfg!(debug_assertions) {
        eprintln!("perf-report: a debug build; run with --release for meaningful numbers");
    }
    let selected: Vec<&GroupSpec> = ALL
        .iter()
        .filter(|g| options.groups.is_empty() || options.groups.iter().any(|n| n == g.name))
        .collect();
    if selected.is_empty() {
        let names: Vec<_> = ALL.iter().map(|g| g.name).collect();
        return Err(format!(
            "no such group; the groups are {}",
            names.join(", ")
        ));
    }
    let mut rows = Vec::new();
    let mut all_timings = Vec::new();
    for spec in selected {
        let started = Instant::now();
        let cases = (spec.cases)().map_err(|e| format!("{}: fixtures: {e}", spec.name))?;
        let timings = time_group(&cases, &options).map_err(|e| format!("{}: {e}", spec.name))?;
        eprintln!(
            "perf-report: {} ({} cases) in {:.1} s",
            spec.name,
            cases.len(),
            started.elapsed().as_secs_f64()
        );
        rows.extend(rows_of(spec, &timings).map_err(|e| format!("{}: {e}", spec.name))?);
        all_timings.push((spec.name, timings));
    }
    print!("{}", markdown(&rows));
    println!();
    println!(
        "Medians over {} batches of about {} ms per case, cases of a group interleaved. \
         Memory per tracked key: `cargo run -p benches --release --bin memory-report`.",
        options.batches,
        options.batch.as_millis()
    );
    let path = options
        .json
        .clone()
        .unwrap_or_else(|| target_dir().join("perf-report.json"));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(&path, json(&rows, &all_timings, &options))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("perf-report: wrote {}", path.display());
    Ok(rows.iter().all(|r| r.met != Some(false)))
}

fn main() -> ExitCode {
    match run() {
        // A missed target is reported in the table, not as a failure: the machine may be noisy.
        Ok(all_met) => {
            if !all_met {
                eprintln!("perf-report: some targets were not met on this run (see the table)");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("perf-report: {error}");
            ExitCode::FAILURE
        }
    }
}
