//! Loading a policy from TOML: every mistake found at once, each with its line and column.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, PolicyError, Severity};
use super::presets::preset;
use super::price::Price;
use super::ratelimit::{RateLimit, parse_period};
use super::{Action, Mode, Origin, Policy, RateLimitParams, Rule, SkipTarget, Verdict};
use crate::clock::{Clock, SystemClock};
use crate::expr::fields::FieldType;
use crate::expr::{Expression, Field, Limits, caret, line_col};
use crate::lists::{ListKind, Lists};

/// The largest list file read.
const MAX_LIST_FILE: u64 = 64 * 1024 * 1024;
/// The largest policy file read by [`Policy::load`].
const MAX_POLICY_FILE: u64 = 16 * 1024 * 1024;

/// How to load a policy: where list files are, which clock rate limits read, expression limits,
/// and lists defined in code.
#[derive(Clone)]
pub struct LoadOptions {
    base_dir: Option<PathBuf>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    lists: Lists,
    #[cfg(feature = "redis")]
    redis: Option<super::redis_limit::RedisRateLimiter>,
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("LoadOptions");
        out.field("base_dir", &self.base_dir)
            .field("limits", &self.limits);
        #[cfg(feature = "redis")]
        out.field("redis_rate_limiter", &self.redis);
        out.finish_non_exhaustive()
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            base_dir: None,
            clock: Arc::new(SystemClock::new()),
            limits: Limits::default(),
            lists: Lists::new(),
            #[cfg(feature = "redis")]
            redis: None,
        }
    }
}

impl LoadOptions {
    /// The defaults: list files relative to the working directory, the system clock, default
    /// [`Limits`], no lists from code.
    pub fn new() -> Self {
        LoadOptions::default()
    }

    /// List files (`file = "…"`) are read relative to this directory.
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// The clock `rate_limit` rules read.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Limits on expressions.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Counts every `rate_limit` rule in Redis with `limiter`, so that every instance of the
    /// service enforces one limit (see [`RedisRateLimiter`](super::RedisRateLimiter); the clock
    /// of [`LoadOptions::clock`] is then not used by rate limits, the limiter's is).
    #[cfg(feature = "redis")]
    pub fn redis_rate_limiter(mut self, limiter: super::redis_limit::RedisRateLimiter) -> Self {
        self.redis = Some(limiter);
        self
    }

    /// Lists defined in code; the policy file's own `[lists]` are added to them (and replace
    /// lists of the same name).
    pub fn lists(mut self, lists: Lists) -> Self {
        self.lists = lists;
        self
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    version: Option<Spanned<i64>>,
    default: Option<Spanned<String>>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    lists: BTreeMap<String, Spanned<ListSpec>>,
    #[serde(default)]
    rules: Vec<Spanned<RuleSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListSpec {
    kind: Spanned<String>,
    items: Option<Vec<Spanned<ListItem>>>,
    file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListItem {
    Int(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: Spanned<String>,
    description: Option<String>,
    expression: Spanned<String>,
    action: Spanned<String>,
    enabled: Option<bool>,
    mode: Option<Spanned<String>>,
    skip: Option<Spanned<OneOrMany>>,
    price: Option<Spanned<String>>,
    requests: Option<Spanned<i64>>,
    period: Option<Spanned<Period>>,
    key: Option<Spanned<OneOrMany>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(one) => vec![one.as_str()],
            OneOrMany::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Period {
    Seconds(i64),
    Text(String),
}

/// A source file: its text and name, for positions.
struct Source<'s> {
    text: &'s str,
    preset: Option<&'static str>,
}

impl Source<'_> {
    fn at(&self, severity: Severity, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, column) = line_col(self.text, span.start);
        Diagnostic::new(severity, line, column, message)
            .snippet(caret(self.text, span.start, span.end))
    }

    fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.at(Severity::Error, span, message)
    }
}

/// Where a TOML string's content starts, and whether it is a basic string (with escapes).
fn string_body(src: &str, span: &Range<usize>) -> (usize, bool) {
    let raw = src.get(span.clone()).unwrap_or("");
    let (delimiter, basic) = if raw.starts_with("'''") {
        (3, false)
    } else if raw.starts_with("\"\"\"") {
        (3, true)
    } else if raw.starts_with('\'') {
        (1, false)
    } else {
        (1, true)
    };
    let mut start = span.start + delimiter;
    if delimiter == 3 {
        let rest = src.get(start..).unwrap_or("");
        if rest.starts_with("\r\n") {
            start += 2;
        } else if rest.starts_with('\n') {
            start += 1;
        }
    }
    (start, basic)
}

/// Maps an offset in a decoded TOML string to an offset in the file, walking the escapes of a
/// basic string.
fn map_offset(src: &str, body_start: usize, basic: bool, offset: usize) -> usize {
    let raw = src.get(body_start..).unwrap_or("");
    if !basic {
        return body_start + offset.min(raw.len());
    }
    let bytes = raw.as_bytes();
    let (mut r, mut decoded) = (0usize, 0usize);
    while decoded < offset && r < bytes.len() {
        if bytes[r] == b'\\' {
            match bytes.get(r + 1) {
                Some(&kind @ (b'u' | b'U')) => {
                    let digits = if kind == b'u' { 4 } else { 8 };
                    let width = raw
                        .get(r + 2..r + 2 + digits)
                        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                        .and_then(char::from_u32)
                        .map_or(1, char::len_utf8);
                    r += 2 + digits;
                    decoded += width;
                }
                Some(b'x') => {
                    r += 4;
                    decoded += 1;
                }
                Some(b' ' | b'\t' | b'\r' | b'\n') => {
                    r += 1;
                    while r < bytes.len() && bytes[r].is_ascii_whitespace() {
                        r += 1;
                    }
                }
                _ => {
                    r += 2;
                    decoded += 1;
                }
            }
        } else {
            r += 1;
            decoded += 1;
        }
    }
    body_start + r.min(bytes.len())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn parse_spec(source: &Source<'_>) -> Result<FileSpec, Diagnostic> {
    toml::from_str::<FileSpec>(source.text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        source.error(span, e.message().trim().to_owned())
    })
}

/// A rule spec with the source it came from and the position it reports.
struct PendingRule<'s> {
    spec: Spanned<RuleSpec>,
    source: Source<'s>,
    /// Where messages about a preset rule point: the `include` line.
    include_span: Option<Range<usize>>,
}

impl Policy {
    /// Loads a policy from TOML text. List files are read relative to the working directory; see
    /// [`Policy::from_toml_str_with`] for the options.
    ///
    /// The format:
    ///
    /// ```toml
    /// version = 1                       # optional
    /// default = "allow"                 # allow (the default), block or challenge
    /// include = ["mcp-passthrough", "baseline"]   # presets, placed before the rules below
    /// disable = ["baseline-challenge-likely-bots"] # rules (from presets, usually) to disable
    ///
    /// [lists.office]
    /// kind = "ip"                       # ip, string or integer
    /// items = ["192.0.2.0/24", "2001:db8::/32"]
    ///
    /// [lists.bad_agents]
    /// kind = "string"
    /// file = "bad-agents.txt"           # one item per line, `#` comments
    ///
    /// [[rules]]
    /// id = "office-allowed"
    /// description = "Staff are never challenged"
    /// expression = "ip.src in $office"
    /// action = "allow"
    ///
    /// [[rules]]
    /// id = "charge-crawlers"
    /// expression = 'cf.verified_bot_category eq "AI Crawler"'
    /// action = "charge"
    /// price = "USD 0.01"
    ///
    /// [[rules]]
    /// id = "slow-down-scrapers"
    /// expression = "cf.bot_management.score lt 30"
    /// action = "rate_limit"
    /// requests = 60
    /// period = "1m"                     # or seconds; "10s", "1h", "1d"
    /// key = ["ip.src"]                  # fields whose values make the key (ip.src by default)
    ///
    /// [[rules]]
    /// id = "trial"
    /// expression = 'http.user_agent contains "python-requests"'
    /// action = "block"
    /// mode = "log"                      # evaluate and record, do not act
    /// enabled = true
    ///
    /// [[rules]]
    /// id = "verified-skip-some"
    /// expression = "cf.bot_management.verified_bot"
    /// action = "skip"
    /// skip = ["slow-down-scrapers"]     # or "rest" (the default): every later rule
    /// ```
    pub fn from_toml_str(src: &str) -> Result<Policy, PolicyError> {
        Self::from_toml_str_with(src, &LoadOptions::default())
    }

    /// Loads a policy from a file; list files are read relative to the policy's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let options = LoadOptions::default().base_dir(path.parent().unwrap_or(Path::new(".")));
        Self::load_with(path, options)
    }

    /// As [`Policy::load`], with options (the base directory is the policy's directory unless
    /// `options` sets one).
    pub fn load_with(
        path: impl AsRef<Path>,
        mut options: LoadOptions,
    ) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        if options.base_dir.is_none() {
            options.base_dir = Some(path.parent().unwrap_or(Path::new(".")).to_path_buf());
        }
        let text = read_bounded(path, MAX_POLICY_FILE).map_err(|message| {
            PolicyError::new(vec![Diagnostic::new(Severity::Error, 1, 1, message)])
        })?;
        Self::from_toml_str_with(&text, &options)
    }

    /// Loads a policy from TOML text with options.
    pub fn from_toml_str_with(src: &str, options: &LoadOptions) -> Result<Policy, PolicyError> {
        let mut errors = Vec::new();
        let source = Source {
            text: src,
            preset: None,
        };
        let spec = parse_spec(&source).map_err(|d| PolicyError::new(vec![d]))?;

        if let Some(version) = &spec.version
            && *version.get_ref() != 1
        {
            errors.push(source.error(
                version.span(),
                "unsupported policy version; this crate reads version 1",
            ));
        }
        let default = match &spec.default {
            None => Verdict::Allow,
            Some(default) => match default.get_ref().as_str() {
                "allow" => Verdict::Allow,
                "block" => Verdict::Block,
                "challenge" => Verdict::Challenge,
                other => {
                    errors.push(source.error(
                        default.span(),
                        format!("unknown default `{other}`: the default is `allow`, `block` or `challenge`"),
                    ));
                    Verdict::Allow
                }
            },
        };

        let lists = build_lists(&source, &spec.lists, options, &mut errors);

        // Presets first, in the order included, then the file's own rules.
        let mut pending = Vec::new();
        let mut included: Vec<&str> = Vec::new();
        for include in &spec.include {
            let name = include.get_ref().as_str();
            if included.contains(&name) {
                errors.push(
                    source.error(include.span(), format!("preset `{name}` is included twice")),
                );
                continue;
            }
            included.push(name);
            let Some((preset_name, text)) = preset(name) else {
                let known: Vec<&str> = super::PRESETS.iter().map(|(n, _)| *n).collect();
                errors.push(source.error(
                    include.span(),
                    format!(
                        "unknown preset `{name}`; the presets are: {}",
                        known.join(", ")
                    ),
                ));
                continue;
            };
            let preset_source = Source {
                text,
                preset: Some(preset_name),
            };
            match parse_spec(&preset_source) {
                Ok(preset_spec) => {
                    for rule in preset_spec.rules {
                        pending.push(PendingRule {
                            spec: rule,
                            source: Source {
                                text,
                                preset: Some(preset_name),
                            },
                            include_span: Some(include.span()),
                        });
                    }
                }
                Err(d) => errors.push(d),
            }
        }
        for rule in spec.rules {
            pending.push(PendingRule {
                spec: rule,
                source: Source {
                    text: src,
                    preset: None,
                },
                include_span: None,
            });
        }

        // Ids: valid and unique.
        let mut ids: HashMap<String, usize> = HashMap::new();
        for (index, rule) in pending.iter().enumerate() {
            let id = rule.spec.get_ref().id.get_ref();
            let span = rule.spec.get_ref().id.span();
            if !valid_id(id) {
                errors.push(rule.source.error(
                    span.clone(),
                    "a rule id is 1 to 128 letters, digits, `-`, `_` or `.`",
                ));
            }
            if let Some(&first) = ids.get(id) {
                let first_rule = &pending[first];
                let (line, _) = position(first_rule);
                errors.push(
                    at_rule(
                        rule,
                        &source,
                        Severity::Error,
                        span,
                        format!("duplicate rule id `{id}` (first defined on line {line})"),
                    )
                    .rule(id),
                );
            } else {
                ids.insert(id.clone(), index);
            }
        }

        let mut disabled = vec![false; pending.len()];
        for name in &spec.disable {
            match ids.get(name.get_ref()) {
                Some(&index) => disabled[index] = true,
                None => errors.push(source.error(
                    name.span(),
                    format!("`disable` names an unknown rule `{}`", name.get_ref()),
                )),
            }
        }

        let mut rules = Vec::with_capacity(pending.len());
        for (index, rule) in pending.iter().enumerate() {
            if let Some(built) =
                build_rule(rule, index, &ids, &lists, options, &source, &mut errors)
            {
                let mut built = built;
                if disabled[index] {
                    built.enabled = false;
                }
                rules.push(built);
            }
        }

        if errors.is_empty() {
            let shared_limits = rules.iter().any(|rule| match &rule.action {
                Action::RateLimit(params) => params.limit.is_shared(),
                _ => false,
            });
            Ok(Policy {
                rules,
                default,
                shared_limits,
            })
        } else {
            errors.sort_by_key(|d| (d.line, d.column));
            Err(PolicyError::new(errors))
        }
    }
}

fn position(rule: &PendingRule<'_>) -> (usize, usize) {
    let span = rule.spec.get_ref().id.span();
    line_col(rule.source.text, span.start)
}

/// A diagnostic about a rule: in the policy file at `span`, or (for a preset rule) at the
/// `include` that brought it in.
fn at_rule(
    rule: &PendingRule<'_>,
    file: &Source<'_>,
    severity: Severity,
    span: Range<usize>,
    message: String,
) -> Diagnostic {
    match (&rule.include_span, rule.source.preset) {
        (Some(include), Some(preset)) => file.at(
            severity,
            include.clone(),
            format!("{message} (in preset `{preset}`)"),
        ),
        _ => rule.source.at(severity, span, message),
    }
}

fn read_bounded(path: &Path, max: u64) -> Result<String, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(max + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.len() as u64 > max {
        return Err(format!("{} is larger than {max} bytes", path.display()));
    }
    Ok(text)
}

fn build_lists(
    source: &Source<'_>,
    specs: &BTreeMap<String, Spanned<ListSpec>>,
    options: &LoadOptions,
    errors: &mut Vec<Diagnostic>,
) -> Lists {
    let mut lists = options.lists.clone();
    for (name, spec) in specs {
        let span = spec.span();
        let spec = spec.get_ref();
        let kind = match spec.kind.get_ref().as_str() {
            "ip" => ListKind::Ip,
            "string" => ListKind::String,
            "integer" => ListKind::Integer,
            other => {
                errors.push(source.error(
                    spec.kind.span(),
                    format!(
                        "unknown list kind `{other}`: a list is of kind `ip`, `string` or `integer`"
                    ),
                ));
                continue;
            }
        };
        match (&spec.items, &spec.file) {
            (Some(items), None) => {
                let mut texts = Vec::with_capacity(items.len());
                for item in items {
                    match item.get_ref() {
                        ListItem::Text(text) => texts.push(text.clone()),
                        ListItem::Int(value) if kind == ListKind::Integer => {
                            texts.push(value.to_string())
                        }
                        ListItem::Int(_) => {
                            errors.push(source.error(
                                item.span(),
                                format!("a list of kind `{}` holds strings", kind.name()),
                            ));
                        }
                    }
                }
                let text = texts.join("\n");
                if let Err(e) = lists.insert_from_text(name, kind, &text) {
                    let item_span = items.get(e.item).map_or(span.clone(), Spanned::span);
                    errors.push(source.error(item_span, e.to_string()));
                }
            }
            (None, Some(file)) => {
                let path = match &options.base_dir {
                    Some(dir) => dir.join(file.get_ref()),
                    None => PathBuf::from(file.get_ref()),
                };
                match read_bounded(&path, MAX_LIST_FILE) {
                    Ok(text) => {
                        if let Err(e) = lists.insert_from_text(name, kind, &text) {
                            errors.push(source.error(
                                file.span(),
                                format!("{}:{}: {}", path.display(), e.item + 1, e.message),
                            ));
                        }
                    }
                    Err(message) => errors.push(source.error(file.span(), message)),
                }
            }
            _ => errors.push(source.error(
                span,
                format!("list `{name}` needs exactly one of `items` and `file`"),
            )),
        }
    }
    lists
}

#[allow(clippy::too_many_arguments)]
fn build_rule(
    rule: &PendingRule<'_>,
    index: usize,
    ids: &HashMap<String, usize>,
    lists: &Lists,
    options: &LoadOptions,
    file: &Source<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let spec = rule.spec.get_ref();
    let id = spec.id.get_ref().as_str();
    let before = errors.len();
    let error = |span: Range<usize>, message: String| {
        at_rule(rule, file, Severity::Error, span, message).rule(id)
    };

    // The expression, with positions mapped from the expression into the file.
    let text = rule.source.text;
    let (body_start, basic) = string_body(text, &spec.expression.span());
    let to_file = |offset: usize| map_offset(text, body_start, basic, offset);
    let expression =
        match Expression::compile_with(spec.expression.get_ref(), lists, &options.limits) {
            Ok(expression) => Some(expression),
            Err(e) => {
                let span = to_file(e.start())..to_file(e.end());
                errors.push(error(span, e.message().to_owned()));
                None
            }
        };
    let notes: Vec<Diagnostic> = expression
        .iter()
        .flat_map(|expr| expr.notes())
        .map(|note| {
            at_rule(
                rule,
                file,
                Severity::Warning,
                to_file(note.start)..to_file(note.end),
                note.message.clone(),
            )
            .rule(id)
            .fix("this comparison decides nothing: correct the literal or remove the comparison")
        })
        .collect();

    let mode = match &spec.mode {
        None => Mode::Enforce,
        Some(mode) => match mode.get_ref().as_str() {
            "enforce" => Mode::Enforce,
            "log" => Mode::Log,
            other => {
                errors.push(error(
                    mode.span(),
                    format!("unknown mode `{other}`: `enforce` (the default) or `log`"),
                ));
                Mode::Enforce
            }
        },
    };

    let action_name = spec.action.get_ref().as_str();
    let misplaced =
        |name: &str, present: bool, span: Option<Range<usize>>, errors: &mut Vec<Diagnostic>| {
            if present {
                errors.push(error(
                    span.unwrap_or(spec.action.span()),
                    format!("`{name}` does not apply to action `{action_name}`"),
                ));
            }
        };
    if action_name != "skip" {
        misplaced(
            "skip",
            spec.skip.is_some(),
            spec.skip.as_ref().map(Spanned::span),
            errors,
        );
    }
    if action_name != "charge" {
        misplaced(
            "price",
            spec.price.is_some(),
            spec.price.as_ref().map(Spanned::span),
            errors,
        );
    }
    if action_name != "rate_limit" {
        misplaced(
            "requests",
            spec.requests.is_some(),
            spec.requests.as_ref().map(Spanned::span),
            errors,
        );
        misplaced(
            "period",
            spec.period.is_some(),
            spec.period.as_ref().map(Spanned::span),
            errors,
        );
        misplaced(
            "key",
            spec.key.is_some(),
            spec.key.as_ref().map(Spanned::span),
            errors,
        );
    }

    let action = match action_name {
        "allow" => Some(Action::Allow),
        "block" => Some(Action::Block),
        "challenge" => Some(Action::Challenge),
        "log" => Some(Action::Log),
        "skip" => skip_action(spec, index, ids, &error, errors),
        "charge" => match &spec.price {
            None => {
                errors.push(error(
                    spec.action.span(),
                    "action `charge` needs a price: price = \"USD 0.01\"".into(),
                ));
                None
            }
            Some(price) => match price.get_ref().parse::<Price>() {
                Ok(price) => Some(Action::Charge(price)),
                Err(e) => {
                    errors.push(error(price.span(), e.to_string()));
                    None
                }
            },
        },
        "rate_limit" => rate_limit_action(spec, options, &error, errors),
        other => {
            let hint = if other == "rate-limit" || other == "ratelimit" {
                "; did you mean `rate_limit`?"
            } else {
                ""
            };
            errors.push(error(
                spec.action.span(),
                format!("unknown action `{other}`: allow, block, challenge, skip, log, charge or rate_limit{hint}"),
            ));
            None
        }
    };

    if errors.len() != before {
        return None;
    }
    let (line, column) = match (&rule.include_span, rule.source.preset) {
        (Some(include), Some(_)) => line_col(file.text, include.start),
        _ => position(rule),
    };
    Some(Rule {
        id: Arc::from(id),
        description: spec.description.clone(),
        expression: expression?,
        action: action?,
        mode,
        enabled: spec.enabled.unwrap_or(true),
        hits: Default::default(),
        #[cfg(feature = "metrics")]
        counter: Default::default(),
        origin: Origin {
            line,
            column,
            preset: rule.source.preset,
        },
        notes,
    })
}

fn skip_action(
    spec: &RuleSpec,
    index: usize,
    ids: &HashMap<String, usize>,
    error: &dyn Fn(Range<usize>, String) -> Diagnostic,
    errors: &mut Vec<Diagnostic>,
) -> Option<Action> {
    let Some(skip) = &spec.skip else {
        return Some(Action::Skip(SkipTarget::Rest));
    };
    let names = skip.get_ref().items();
    if names == ["rest"] {
        return Some(Action::Skip(SkipTarget::Rest));
    }
    if names.is_empty() {
        errors.push(error(
            skip.span(),
            "`skip` names the rules to skip, or is \"rest\"".into(),
        ));
        return None;
    }
    let mut targets = Vec::new();
    for name in names {
        match ids.get(name) {
            Some(&target) if target > index => targets.push(target),
            Some(_) => errors.push(error(
                skip.span(),
                format!("`skip` names `{name}`, which comes before this rule; only later rules can be skipped"),
            )),
            None => errors.push(error(skip.span(), format!("`skip` names an unknown rule `{name}`"))),
        }
    }
    Some(Action::Skip(SkipTarget::Rules(targets)))
}

fn rate_limit_action(
    spec: &RuleSpec,
    options: &LoadOptions,
    error: &dyn Fn(Range<usize>, String) -> Diagnostic,
    errors: &mut Vec<Diagnostic>,
) -> Option<Action> {
    let requests = match &spec.requests {
        None => {
            errors.push(error(
                spec.action.span(),
                "action `rate_limit` needs `requests` and `period`".into(),
            ));
            return None;
        }
        Some(requests) => match u32::try_from(*requests.get_ref())
            .ok()
            .and_then(NonZeroU32::new)
        {
            Some(n) => n,
            None => {
                errors.push(error(
                    requests.span(),
                    "`requests` is a positive whole number".into(),
                ));
                return None;
            }
        },
    };
    let period = match &spec.period {
        None => {
            errors.push(error(
                spec.action.span(),
                "action `rate_limit` needs `period`, as in period = \"1m\"".into(),
            ));
            return None;
        }
        Some(period) => {
            let parsed = match period.get_ref() {
                Period::Seconds(s) => u64::try_from(*s)
                    .ok()
                    .filter(|s| *s > 0)
                    .map(std::time::Duration::from_secs),
                Period::Text(text) => parse_period(text),
            };
            match parsed {
                Some(p) => p,
                None => {
                    errors.push(error(period.span(), "`period` is a positive number of seconds, or \"10s\", \"1m\", \"1h\", \"1d\"".into()));
                    return None;
                }
            }
        }
    };
    let mut key = Vec::new();
    match &spec.key {
        None => key.push(Field::IpSrc),
        Some(names) => {
            for name in names.get_ref().items() {
                match Field::from_name(name) {
                    Some(field) if !matches!(field.ty(), FieldType::Map | FieldType::Array) => {
                        key.push(field)
                    }
                    _ => errors.push(error(
                        names.span(),
                        format!("`key` names `{name}`, which is not a field with a single value"),
                    )),
                }
            }
        }
    }
    #[cfg(feature = "redis")]
    let limit = match &options.redis {
        Some(limiter) => RateLimit::shared(requests, period, key, limiter, spec.id.get_ref()),
        None => RateLimit::new(requests, period, key, options.clock.clone()),
    };
    #[cfg(not(feature = "redis"))]
    let limit = RateLimit::new(requests, period, key, options.clock.clone());
    match limit {
        Some(limit) => Some(Action::RateLimit(RateLimitParams { limit })),
        None => {
            errors.push(error(
                spec.action.span(),
                "this period is too short for so many requests".into(),
            ));
            None
        }
    }
}
