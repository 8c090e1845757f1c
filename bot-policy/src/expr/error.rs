//! Errors in an expression, with the byte span they are about.

use std::fmt;

/// What is wrong with an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExprErrorKind {
    /// The text is not an expression: an unexpected token, an unterminated string.
    Syntax,
    /// No such field.
    UnknownField,
    /// No such function.
    UnknownFunction,
    /// No such named list.
    UnknownList,
    /// An operator or function applied to values of the wrong type.
    Type,
    /// A regular expression that does not compile, or is too large.
    Regex,
    /// An address, CIDR or range that does not parse.
    Address,
    /// A wildcard pattern that is not valid (`**`).
    Wildcard,
    /// Too long, or nested too deep.
    Limit,
}

/// An expression that cannot be compiled: what, and where (a byte range in the expression).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    kind: ExprErrorKind,
    start: usize,
    end: usize,
    message: String,
}

impl ExprError {
    pub(crate) fn new(
        kind: ExprErrorKind,
        start: usize,
        end: usize,
        message: impl Into<String>,
    ) -> Self {
        ExprError {
            kind,
            start,
            end: end.max(start),
            message: message.into(),
        }
    }

    /// What kind of error.
    pub fn kind(&self) -> ExprErrorKind {
        self.kind
    }

    /// Byte offset in the expression where the problem starts.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Byte offset in the expression where the problem ends (exclusive; at least `start`).
    pub fn end(&self) -> usize {
        self.end
    }

    /// The message, without position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 1-based line and column (in characters) of the start within `src`, the expression this
    /// error came from.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        line_col(src, self.start)
    }

    /// The message with the offending line of `src` and a caret under the problem:
    ///
    /// ```text
    /// 1:26: unknown field `http.user_agnet`
    ///   http.host eq "a" and not http.user_agnet contains "x"
    ///                            ^^^^^^^^^^^^^^^
    /// ```
    pub fn render(&self, src: &str) -> String {
        let (line, col) = self.line_col(src);
        format!(
            "{line}:{col}: {}\n{}",
            self.message,
            caret(src, self.start, self.end)
        )
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.start, self.message)
    }
}

impl std::error::Error for ExprError {}

/// 1-based line and column (counted in characters) of byte `offset` in `src`.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(src, offset);
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The line of `src` holding byte `start`, and under it carets from `start` to `end` (kept on that
/// line, at least one).
pub(crate) fn caret(src: &str, start: usize, end: usize) -> String {
    let start = floor_char_boundary(src, start);
    let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
    let line = &src[line_start..line_end];
    let end = floor_char_boundary(src, end.clamp(start, line_end));
    let pad: String = src[line_start..start]
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let width = src[start..end].chars().count().max(1);
    format!("  {line}\n  {pad}{}", "^".repeat(width))
}

fn floor_char_boundary(src: &str, offset: usize) -> usize {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_carets() {
        let src = "a eq 1\nand http.x eq 2";
        let err = ExprError::new(
            ExprErrorKind::UnknownField,
            11,
            17,
            "unknown field `http.x`",
        );
        assert_eq!(err.line_col(src), (2, 5));
        assert_eq!(
            err.render(src),
            "2:5: unknown field `http.x`\n  and http.x eq 2\n      ^^^^^^"
        );
        // Out-of-range and mid-character offsets are clamped, never a panic.
        assert_eq!(line_col("é", 1), (1, 1));
        assert_eq!(caret("ab", 9, 20), "  ab\n    ^");
    }
}
