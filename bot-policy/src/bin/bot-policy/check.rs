//! `bot-policy check POLICY`: load, compile, lint.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use bot_policy::Policy;

use crate::{Failure, readable, shown};

/// Prints every error (exit status 1) or every warning and a summary (exit status 0).
pub(crate) fn run(path: &Path) -> Result<ExitCode, Failure> {
    readable(path)?;
    let name = shown(path);
    let mut out = BufWriter::new(std::io::stdout().lock());
    match Policy::load(path) {
        Err(error) => {
            for diagnostic in error.diagnostics() {
                writeln!(out, "{}", diagnostic.render(&name))?;
            }
            let count = error.diagnostics().len();
            writeln!(out, "{name}: {count} {}", plural(count, "error", "errors"))?;
            out.flush()?;
            Ok(ExitCode::from(1))
        }
        Ok(policy) => {
            let warnings = policy.lint();
            for diagnostic in &warnings {
                writeln!(out, "{}", diagnostic.render(&name))?;
            }
            let rules = policy.rules().len();
            writeln!(
                out,
                "{name}: {rules} {}, {} {}",
                plural(rules, "rule", "rules"),
                warnings.len(),
                plural(warnings.len(), "warning", "warnings"),
            )?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 { one } else { many }
}
