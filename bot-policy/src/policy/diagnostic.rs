//! Errors and warnings about a policy file, with their positions.

use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// The policy does not load.
    Error,
    /// The policy loads, but probably does not do what was meant.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// An error or warning about a policy: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// 1-based line in the policy file.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// The rule it is about, if any.
    pub rule: Option<String>,
    /// How to fix it, if there is a known fix.
    pub fix: Option<String>,
    /// The offending line with a caret under the problem, when the position is in the file.
    pub snippet: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(
        severity: Severity,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            line,
            column,
            message: message.into(),
            rule: None,
            fix: None,
            snippet: None,
        }
    }

    pub(crate) fn rule(mut self, id: &str) -> Self {
        self.rule = Some(id.to_owned());
        self
    }

    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub(crate) fn snippet(mut self, snippet: String) -> Self {
        self.snippet = Some(snippet);
        self
    }

    /// `FILE:LINE:COL: error|warning: message [rule id]`, then the snippet and the fix, each on
    /// lines of their own.
    pub fn render(&self, file: &str) -> String {
        let mut out = format!("{file}:{self}");
        if let Some(snippet) = &self.snippet {
            out.push('\n');
            out.push_str(snippet);
        }
        if let Some(fix) = &self.fix {
            out.push_str("\n  fix: ");
            out.push_str(fix);
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line,
            self.column,
            self.severity.name(),
            self.message
        )?;
        if let Some(rule) = &self.rule {
            write!(f, " [rule {rule}]")?;
        }
        Ok(())
    }
}

/// A policy that does not load: every error found, each with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    diagnostics: Vec<Diagnostic>,
}

impl PolicyError {
    pub(crate) fn new(diagnostics: Vec<Diagnostic>) -> Self {
        PolicyError { diagnostics }
    }

    /// An error that is not about a position in the file (reported at line 1, column 1).
    pub(crate) fn message(message: &str) -> Self {
        PolicyError::new(vec![Diagnostic::new(Severity::Error, 1, 1, message)])
    }

    /// The errors, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Every error rendered as [`Diagnostic::render`] does, one after the other.
    pub fn render(&self, file: &str) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(file))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.diagnostics.first() {
            Some(first) if self.diagnostics.len() == 1 => write!(f, "{first}"),
            Some(first) => write!(f, "{first} (and {} more)", self.diagnostics.len() - 1),
            None => write!(f, "invalid policy"),
        }
    }
}

impl std::error::Error for PolicyError {}
