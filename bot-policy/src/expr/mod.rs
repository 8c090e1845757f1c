//! The expression language: the part of Cloudflare's Rules language that bot rules use, plus the
//! crate's own `bot.*` fields.
//!
//! An [`Expression`] is parsed, type-checked and compiled once; every mistake is an
//! [`ExprError`] with its position, at load time. Evaluation then allocates nothing for the plain
//! comparisons, sets, `contains`, `wildcard`, `matches`, `starts_with`/`ends_with`, and
//! `lower()`/`upper()` under `eq`, `ne`, `contains` and `wildcard` (the fold is applied byte by
//! byte as the comparison runs). `concat()`, and `lower()`/`upper()` under `matches`, `in` or an
//! ordering, build one string per evaluation.
//!
//! # The language
//!
//! - Fields: `http.request.method`, `http.host`, `http.request.uri`, `http.request.uri.path`,
//!   `http.request.uri.query`, `http.request.full_uri`, `http.request.version`, `http.user_agent`,
//!   `http.referer`, `http.cookie`, `http.x_forwarded_for`, `http.request.headers` (a map from
//!   lowercase names to arrays of values), `http.request.headers.names`,
//!   `http.request.headers.values`, `ssl`, `ip.src`, `ip.src.country` / `ip.geoip.country`,
//!   `ip.src.asnum` / `ip.geoip.asnum`, `cf.bot_management.score`,
//!   `cf.bot_management.verified_bot`, `cf.bot_management.static_resource`,
//!   `cf.verified_bot_category`, `cf.client.bot`, and `bot.name`, `bot.operator`, `bot.category`,
//!   `bot.claimed`, `bot.verified`, `bot.signed`, `bot.spoofed`, `bot.signature_agent`.
//! - Comparisons: `eq ne lt le gt ge contains matches wildcard strict wildcard in` and
//!   `== != < <= > >= ~`; sets `{…}` of strings, integers and ranges (`8000..8009`), addresses,
//!   CIDRs and address ranges; named lists `$name`.
//! - Logic, by precedence: `not` / `!`, `and` / `&&`, `xor` / `^^`, `or` / `||`; parentheses.
//! - Functions: `any all lower upper len concat starts_with ends_with`; arrays with `[0]` and
//!   `[*]`; strings quoted (`"…"`, escapes `\"` `\\` `\xHH`) or raw (`r"…"`, `r#"…"#`).
//! - A missing value (an absent header, an index past the end, no client address) makes every
//!   comparison with it false, as on Cloudflare.
//!
//! ```
//! use bot_policy::{Expression, RequestFacts};
//!
//! let expr = Expression::compile(
//!     r#"lower(http.user_agent) contains "sqlmap" or http.request.uri.path wildcard "/wp-*""#,
//! )
//! .unwrap();
//! let mut headers = http::HeaderMap::new();
//! headers.insert("user-agent", "SQLMap/1.7".parse().unwrap());
//! let facts = RequestFacts::new("GET", "/").with_headers(&headers);
//! assert!(expr.matches(&facts));
//!
//! let err = Expression::compile("http.user_agnet contains \"x\"").unwrap_err();
//! assert_eq!(err.line_col("http.user_agnet contains \"x\""), (1, 1));
//! assert!(err.message().contains("did you mean `http.user_agent`"));
//! ```

mod compile;
mod error;
mod eval;
pub(crate) mod fields;
mod lex;
pub(crate) mod matchers;
mod parse;
mod program;
mod tree;

use std::fmt;

pub use error::{ExprError, ExprErrorKind};
pub(crate) use error::{caret, line_col};

use crate::facts::RequestFacts;
use crate::lists::Lists;
pub(crate) use compile::Note;
pub(crate) use eval::hash_field;
pub(crate) use fields::Field;
use program::Program;
use tree::Cond;

/// Limits on what an expression may be. The defaults follow Cloudflare (4,096 bytes per
/// expression) and keep compiled regular expressions small.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest expression, in bytes.
    pub max_len: usize,
    /// The deepest nesting of parentheses, `not` and function calls.
    pub max_depth: usize,
    /// The largest compiled regular expression, in bytes (the `regex` crate's size limit).
    pub max_regex_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_len: 4096,
            max_depth: 32,
            max_regex_size: 256 * 1024,
        }
    }
}

/// A compiled expression.
#[derive(Clone)]
pub struct Expression {
    source: Box<str>,
    program: Program,
    constant: Option<bool>,
    fields: u64,
    notes: Vec<Note>,
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expression").field(&self.source).finish()
    }
}

impl Expression {
    /// Compiles an expression that uses no named lists, with the default [`Limits`].
    pub fn compile(source: &str) -> Result<Self, ExprError> {
        Self::compile_with(source, &Lists::new(), &Limits::default())
    }

    /// Compiles an expression that may refer to `lists`.
    pub fn compile_with(source: &str, lists: &Lists, limits: &Limits) -> Result<Self, ExprError> {
        if source.len() > limits.max_len {
            return Err(ExprError::new(
                ExprErrorKind::Limit,
                limits.max_len,
                source.len(),
                format!("expression longer than {} bytes", limits.max_len),
            ));
        }
        let tokens = lex::tokenize(source)?;
        let ast = parse::parse(source, tokens, limits.max_depth)?;
        let compiled = compile::compile(&ast, lists, limits)?;
        let constant = match compiled.root {
            Cond::Const(b) => Some(b),
            _ => None,
        };
        Ok(Expression {
            source: source.into(),
            program: Program::new(compiled.root),
            constant,
            fields: compiled.fields,
            notes: compiled.notes,
        })
    }

    /// Whether the request matches.
    pub fn matches(&self, facts: &RequestFacts<'_>) -> bool {
        self.program.run(facts)
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// `Some(value)` when the expression has the same value for every request (`true`, or a
    /// comparison that can never hold).
    pub fn constant(&self) -> Option<bool> {
        self.constant
    }

    pub(crate) fn uses(&self, field: Field) -> bool {
        self.fields & (1u64 << (field as u64)) != 0
    }

    pub(crate) fn used_fields(&self) -> impl Iterator<Item = Field> + '_ {
        fields::all_fields().filter(|f| self.uses(*f))
    }

    pub(crate) fn notes(&self) -> &[Note] {
        &self.notes
    }
}
