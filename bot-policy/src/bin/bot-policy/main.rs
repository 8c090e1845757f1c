//! `bot-policy`: check a policy file, evaluate it for one request, or replay an access log through
//! it.
//!
//! - `bot-policy check POLICY` loads, compiles and lints a policy and prints every error and
//!   warning as `FILE:LINE:COL: error|warning: message`.
//! - `bot-policy eval POLICY [--ua S] [--ip ADDR] [--method M] [--url URL] [--header "N: v"]...
//!   [--verified-agent URL] [--trace]` prints the decision for one request as a JSON object.
//! - `bot-policy replay POLICY LOG [--format combined|jsonl] [--json] [--compare OTHER]
//!   [--max-diffs N]` runs an access log through the policy and prints per-rule hits and
//!   per-action totals (and, with `--compare`, the requests another policy decides differently).
//!
//! Exit status: 0 on success, 1 when a policy does not load or a file cannot be read, 2 on a
//! usage error.
#![forbid(unsafe_code)]

mod check;
mod eval;
mod logparse;
mod replay;
mod request;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bot_policy::Policy;
use clap::{Parser, Subcommand, ValueEnum};

/// Check, evaluate and replay bot policies.
#[derive(Parser)]
#[command(name = "bot-policy", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load, compile and lint a policy; print errors and warnings as FILE:LINE:COL: …
    Check {
        /// The policy file (TOML).
        policy: PathBuf,
    },
    /// Evaluate a policy for one request and print the decision as JSON.
    Eval(EvalArgs),
    /// Run an access log through a policy: hits per rule, totals per action.
    Replay(ReplayArgs),
}

/// The request `eval` evaluates.
#[derive(clap::Args)]
struct EvalArgs {
    /// The policy file (TOML).
    policy: PathBuf,
    /// The User-Agent (replaces any `--header "User-Agent: …"`).
    #[arg(long, value_name = "S")]
    ua: Option<String>,
    /// The client address (`ip.src`).
    #[arg(long, value_name = "ADDR")]
    ip: Option<String>,
    /// The request method.
    #[arg(long, value_name = "M", default_value = "GET")]
    method: String,
    /// The request URL (`https://host/path?query`, or just `/path?query`).
    #[arg(long, value_name = "URL", default_value = "https://example.com/")]
    url: String,
    /// A header field, as "Name: value"; repeatable.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// The request carries a verified Web Bot Auth signature from this Signature-Agent.
    #[arg(long, value_name = "URL")]
    verified_agent: Option<String>,
    /// Add the trace of every rule evaluated.
    #[arg(long)]
    trace: bool,
}

/// Access log formats `replay` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Apache/nginx combined: IP - user [time] "METHOD TARGET PROTO" status bytes "referer" "ua".
    Combined,
    /// One JSON object per line: ip, method, url or path (+ host, query), ua, referer, headers,
    /// signature_agent, time.
    Jsonl,
}

/// What `replay` reads and how it reports.
#[derive(clap::Args)]
struct ReplayArgs {
    /// The policy file (TOML).
    policy: PathBuf,
    /// The access log (`-` for standard input).
    log: PathBuf,
    /// The log's format.
    #[arg(long, value_enum, default_value_t = LogFormat::Combined)]
    format: LogFormat,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Also run the log through this policy and list the requests it decides differently.
    #[arg(long, value_name = "OTHER_POLICY")]
    compare: Option<PathBuf>,
    /// The most differing requests listed with --compare (all are counted).
    #[arg(long, value_name = "N", default_value_t = 50)]
    max_diffs: usize,
}

/// Why a command failed.
#[derive(Debug)]
enum Failure {
    /// Bad arguments (exit status 2).
    Usage(String),
    /// A policy did not load, a file could not be read (exit status 1); the message, if any, is
    /// printed on stderr.
    Failed(Option<String>),
    /// Writing the output failed (a closed pipe: exit quietly).
    Output(std::io::Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Output(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { policy } => check::run(&policy),
        Command::Eval(args) => eval::run(&args),
        Command::Replay(args) => replay::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            let _ = writeln!(std::io::stderr(), "bot-policy: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            if let Some(message) = message {
                let _ = writeln!(std::io::stderr(), "bot-policy: {message}");
            }
            ExitCode::from(1)
        }
        Err(Failure::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(1),
        Err(Failure::Output(e)) => {
            let _ = writeln!(
                std::io::stderr(),
                "bot-policy: cannot write the output: {e}"
            );
            ExitCode::from(1)
        }
    }
}

/// The name a path is shown with in messages.
fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Checks that a file can be opened, for a plain message rather than a diagnostic at 1:1.
fn readable(path: &Path) -> Result<(), Failure> {
    match std::fs::File::open(path) {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::Failed(Some(format!(
            "cannot read {}: {e}",
            shown(path)
        )))),
    }
}

/// Loads a policy for `eval` and `replay`: on errors, prints them on stderr and fails.
fn load_policy(path: &Path) -> Result<Policy, Failure> {
    readable(path)?;
    match Policy::load(path) {
        Ok(policy) => Ok(policy),
        Err(error) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{}", error.render(&shown(path)));
            Err(Failure::Failed(Some(format!(
                "{} does not load",
                shown(path)
            ))))
        }
    }
}
