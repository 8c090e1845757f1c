//! The peeker: one pass over the body's bytes that reads the members it needs, skips and
//! validates the rest, counts depth and refuses duplicates.
//!
//! The common case is scanned here: strings without escapes (16 bytes at a time), numbers
//! whose value cannot overflow, literals, structure. The rare cases where a full JSON parser
//! has the last word go to `serde_json` itself, so that the peeker accepts exactly what it
//! accepts: strings with escapes (decoded by it: escapes, surrogate pairs) and numbers with an
//! exponent or hundreds of digits (its range check).

use std::borrow::Cow;

use super::{Call, CallKind, Message, PeekError, PeekLimits, Position, RequestId};
use crate::scan::first_string_special;

/// The deepest nesting [`PeekLimits::with_max_depth`] accepts: a service that parses the body
/// with `serde_json` refuses a 128th level, and the peeker must see the excess first to report
/// it as [`PeekError::TooDeep`].
pub const DEPTH_CEILING: usize = 126;

/// Reads `body` as one JSON-RPC message or a batch, without altering it. See the
/// [module docs](super) for what is checked.
pub fn peek(body: &[u8], limits: &PeekLimits) -> Result<Message, PeekError> {
    // Validating UTF-8 once, up front, lets the scanner work on bytes: every delimiter it
    // looks for is ASCII, so every slice it takes falls on character boundaries.
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(err) => return Err(not_utf8(body, err)),
    };
    let mut reader = Reader {
        text,
        pos: 0,
        max_depth: limits.max_depth().min(DEPTH_CEILING),
        max_batch: limits.max_batch(),
    };
    let read = reader.top().and_then(|message| match reader.next_byte() {
        None => Ok(message),
        Some(_) => Err(reader.syntax("trailing characters")),
    });
    read.map_err(|stop| stop.into_error(text, &reader))
}

/// The error for a body that is not UTF-8, at its first invalid byte.
#[cold]
fn not_utf8(body: &[u8], err: std::str::Utf8Error) -> PeekError {
    PeekError::Syntax {
        detail: "invalid UTF-8".into(),
        at: position(body, err.valid_up_to()),
    }
}

/// The 1-based line and byte column of `offset`.
fn position(body: &[u8], offset: usize) -> Position {
    let before = body.get(..offset).unwrap_or(body);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Position {
        line: before.iter().filter(|&&b| b == b'\n').count() + 1,
        column: before.len() - line_start + 1,
    }
}

/// Why the reading stopped.
#[derive(Debug)]
enum Problem {
    Syntax(Cow<'static, str>),
    TooDeep,
    NotAnObject,
    EmptyBatch,
    BatchTooLarge,
    Duplicate(&'static str),
    BadVersion,
    MethodNotString,
    BadId,
    ParamsNotStructured,
    MissingMethod,
    Ambiguous(&'static str),
    MissingTarget(&'static str, &'static str),
    TargetNotString(&'static str, &'static str),
}

/// A problem and the byte offset it was found at.
#[derive(Debug)]
struct Stop {
    at: usize,
    problem: Problem,
}

impl Stop {
    #[cold]
    fn into_error(self, text: &str, reader: &Reader<'_>) -> PeekError {
        let at = position(text.as_bytes(), self.at);
        match self.problem {
            Problem::Syntax(detail) => PeekError::Syntax {
                detail: detail.into(),
                at,
            },
            Problem::TooDeep => PeekError::TooDeep {
                max: reader.max_depth,
                at,
            },
            Problem::NotAnObject => PeekError::NotAnObject { at },
            Problem::EmptyBatch => PeekError::EmptyBatch { at },
            Problem::BatchTooLarge => PeekError::BatchTooLarge {
                max: reader.max_batch,
                at,
            },
            Problem::Duplicate(member) => PeekError::DuplicateMember { member, at },
            Problem::BadVersion => PeekError::BadVersion { at },
            Problem::MethodNotString => PeekError::MethodNotString { at },
            Problem::BadId => PeekError::BadId { at },
            Problem::ParamsNotStructured => PeekError::ParamsNotStructured { at },
            Problem::MissingMethod => PeekError::MissingMethod { at },
            Problem::Ambiguous(problem) => PeekError::Ambiguous { problem, at },
            Problem::MissingTarget(method, member) => {
                PeekError::MissingTarget { method, member, at }
            }
            Problem::TargetNotString(method, member) => {
                PeekError::TargetNotString { method, member, at }
            }
        }
    }
}

type Read<T> = Result<T, Stop>;

/// `params`, with `name` and `uri` when it is an object: `Some(Some(s))` a string,
/// `Some(None)` another value.
enum Params<'a> {
    Object {
        name: Option<Option<Cow<'a, str>>>,
        uri: Option<Option<Cow<'a, str>>>,
    },
    Other,
}

/// The members of a message that the peeker reads.
enum Member {
    Jsonrpc,
    Method,
    Id,
    Params,
    Result,
    Error,
    Other,
}

impl Member {
    /// From the decoded key.
    fn of(key: &str) -> Member {
        match key {
            "jsonrpc" => Member::Jsonrpc,
            "method" => Member::Method,
            "id" => Member::Id,
            "params" => Member::Params,
            "result" => Member::Result,
            "error" => Member::Error,
            _ => Member::Other,
        }
    }
}

/// Where an object or an array is in its members: before the first, or after one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Members {
    First,
    More,
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    max_depth: usize,
    max_batch: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn stop(&self, at: usize, problem: Problem) -> Stop {
        Stop { at, problem }
    }

    #[cold]
    fn syntax(&self, detail: &'static str) -> Stop {
        self.stop(self.pos, Problem::Syntax(Cow::Borrowed(detail)))
    }

    /// Skips whitespace and returns the byte after it, without consuming it.
    fn next_byte(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Refuses an array or an object at `level` (the top-level value is 1) past the limit.
    fn enter(&self, level: usize) -> Read<()> {
        if level > self.max_depth {
            Err(self.stop(self.pos, Problem::TooDeep))
        } else {
            Ok(())
        }
    }

    /// In an object whose `{` is consumed: reads the next key and its `:`, `None` at the `}`.
    /// Returns the key and where it starts.
    fn next_key(&mut self, members: &mut Members) -> Read<Option<(Cow<'a, str>, usize)>> {
        if !self.next_member(members, b'}', "expected `,` or `}`")? {
            return Ok(None);
        }
        let at = self.pos;
        match self.next_byte() {
            Some(b'"') => {}
            Some(b'}') => return Err(self.syntax("trailing comma")),
            None => return Err(self.syntax("EOF while parsing an object")),
            Some(_) => return Err(self.syntax("key must be a string")),
        }
        let key = self.string()?;
        match self.next_byte() {
            Some(b':') => self.pos += 1,
            None => return Err(self.syntax("EOF while parsing an object")),
            Some(_) => return Err(self.syntax("expected `:`")),
        }
        Ok(Some((key, at)))
    }

    /// In an array whose `[` is consumed: whether an element follows (the reader is then at
    /// it); `false` at the `]`.
    fn next_element(&mut self, members: &mut Members) -> Read<bool> {
        if !self.next_member(members, b']', "expected `,` or `]`")? {
            return Ok(false);
        }
        match self.next_byte() {
            Some(b']') => Err(self.syntax("trailing comma")),
            None => Err(self.syntax("EOF while parsing a list")),
            Some(_) => Ok(true),
        }
    }

    /// The separator before a member: `false` (and consumed) at the closing `close`, `true`
    /// when a member follows.
    fn next_member(
        &mut self,
        members: &mut Members,
        close: u8,
        expected: &'static str,
    ) -> Read<bool> {
        let next = self.next_byte();
        if next == Some(close) {
            self.pos += 1;
            return Ok(false);
        }
        match *members {
            Members::First => *members = Members::More,
            Members::More => match next {
                Some(b',') => self.pos += 1,
                None => return Err(self.syntax("EOF while parsing a value")),
                Some(_) => return Err(self.syntax(expected)),
            },
        }
        Ok(true)
    }

    /// At a `"`: the decoded string, borrowed from the body when it has no escapes.
    fn string(&mut self) -> Read<Cow<'a, str>> {
        let bytes = self.bytes();
        let start = self.pos;
        let mut i = start + 1;
        let mut escaped = false;
        let end = loop {
            let rest = bytes.get(i..).unwrap_or_default();
            let Some(offset) = first_string_special(rest) else {
                self.pos = bytes.len();
                return Err(self.syntax("EOF while parsing a string"));
            };
            i += offset;
            match bytes.get(i) {
                Some(b'"') => break i,
                Some(b'\\') => {
                    // The escaped byte is checked below, by the decoder; skipping it here keeps
                    // `\"` inside the string.
                    escaped = true;
                    i += 2;
                }
                _ => {
                    self.pos = i;
                    return Err(self.syntax(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
            }
        };
        self.pos = end + 1;
        if !escaped {
            return match self.text.get(start + 1..end) {
                Some(s) => Ok(Cow::Borrowed(s)),
                None => Err(self.stop(start, Problem::Syntax("invalid string".into()))),
            };
        }
        let Some(raw) = self.text.get(start..=end) else {
            return Err(self.stop(start, Problem::Syntax("invalid string".into())));
        };
        serde_json::from_str::<String>(raw)
            .map(Cow::Owned)
            .map_err(|err| self.stop(start, delegated(&err)))
    }

    /// At the first byte of a number: checks its grammar, and its range when it could be out
    /// of range.
    fn number(&mut self) -> Read<()> {
        let bytes = self.bytes();
        let start = self.pos;
        let digits = |from: usize| {
            bytes
                .get(from..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        // One digit or more at `i`: how many, or the error at `i`.
        let some_digits = |reader: &mut Self, i: usize| match digits(i) {
            0 => {
                reader.pos = i;
                Err(reader.syntax("invalid number"))
            }
            n => Ok(n),
        };
        let mut i = start;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        i += match bytes.get(i) {
            Some(b'0') => 1,
            _ => some_digits(self, i)?,
        };
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            i += some_digits(self, i)?;
        }
        let mut exponent = false;
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            exponent = true;
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            i += some_digits(self, i)?;
        }
        self.pos = i;
        // Without an exponent, only a number of more than 300 digits can exceed f64's range.
        if exponent || i - start > 300 {
            let text = self.text.get(start..i).unwrap_or_default();
            if let Err(err) = serde_json::from_str::<f64>(text) {
                return Err(self.stop(start, delegated(&err)));
            }
        }
        Ok(())
    }

    /// At `t`, `f` or `n`: the literal.
    fn literal(&mut self, word: &'static [u8]) -> Read<()> {
        if self
            .bytes()
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.syntax("expected ident"))
        }
    }

    /// Any value, validated and skipped; arrays and objects at `level` and below count toward
    /// the depth limit.
    fn skip(&mut self, level: usize) -> Read<()> {
        match self.next_byte() {
            Some(b'{') => {
                self.enter(level)?;
                self.pos += 1;
                let mut members = Members::First;
                while self.next_key(&mut members)?.is_some() {
                    self.skip(level + 1)?;
                }
                Ok(())
            }
            Some(b'[') => {
                self.enter(level)?;
                self.pos += 1;
                let mut members = Members::First;
                while self.next_element(&mut members)? {
                    self.skip(level + 1)?;
                }
                Ok(())
            }
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            None => Err(self.syntax("EOF while parsing a value")),
            Some(_) => Err(self.syntax("expected value")),
        }
    }

    /// A value that matters only if it is a string: `Some` the decoded string, `None` anything
    /// else (skipped, depth counted).
    fn string_or_skip(&mut self, level: usize) -> Read<Option<Cow<'a, str>>> {
        if self.next_byte() == Some(b'"') {
            self.string().map(Some)
        } else {
            self.skip(level).map(|()| None)
        }
    }

    /// The body: an object or a batch.
    fn top(&mut self) -> Read<Message> {
        match self.next_byte() {
            Some(b'{') => {
                self.enter(1)?;
                self.message(1).map(Message::Single)
            }
            Some(b'[') => {
                self.enter(1)?;
                let open = self.pos;
                self.pos += 1;
                let mut calls = Vec::new();
                let mut members = Members::First;
                while self.next_element(&mut members)? {
                    let at = self.pos;
                    if self.next_byte() != Some(b'{') {
                        return Err(self.stop(at, Problem::NotAnObject));
                    }
                    self.enter(2)?;
                    let call = self.message(2)?;
                    if calls.len() >= self.max_batch {
                        return Err(self.stop(at, Problem::BatchTooLarge));
                    }
                    calls.push(call);
                }
                if calls.is_empty() {
                    return Err(self.stop(open, Problem::EmptyBatch));
                }
                Ok(Message::Batch(calls))
            }
            None => Err(self.syntax("EOF while parsing a value")),
            Some(b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                Err(self.stop(self.pos, Problem::NotAnObject))
            }
            Some(_) => Err(self.syntax("expected value")),
        }
    }

    /// At the `{` of a message at `level`.
    fn message(&mut self, level: usize) -> Read<Call> {
        let object = self.pos;
        self.pos += 1;
        let inner = level + 1;
        let mut version = false;
        let mut method: Option<Cow<'a, str>> = None;
        let mut id: Option<&'a str> = None;
        let mut params: Option<Params<'a>> = None;
        let mut result = false;
        let mut error = false;
        let mut members = Members::First;
        while let Some((key, at)) = self.next_key(&mut members)? {
            self.next_byte();
            let value = self.pos;
            let once = |seen: bool, member: &'static str| {
                if seen {
                    Err(Stop {
                        at,
                        problem: Problem::Duplicate(member),
                    })
                } else {
                    Ok(())
                }
            };
            match Member::of(&key) {
                Member::Jsonrpc => {
                    once(version, "jsonrpc")?;
                    version = true;
                    match self.string_or_skip(inner)? {
                        Some(v) if v == "2.0" => {}
                        _ => return Err(self.stop(value, Problem::BadVersion)),
                    }
                }
                Member::Method => {
                    once(method.is_some(), "method")?;
                    match self.string_or_skip(inner)? {
                        Some(v) => method = Some(v),
                        None => return Err(self.stop(value, Problem::MethodNotString)),
                    }
                }
                Member::Id => {
                    once(id.is_some(), "id")?;
                    id = Some(self.id()?);
                }
                Member::Params => {
                    once(params.is_some(), "params")?;
                    params = Some(self.params(inner)?);
                }
                Member::Result => {
                    once(result, "result")?;
                    result = true;
                    self.skip(inner)?;
                }
                Member::Error => {
                    once(error, "error")?;
                    error = true;
                    self.skip(inner)?;
                }
                Member::Other => self.skip(inner)?,
            }
        }
        let refuse = |problem| {
            Err(Stop {
                at: object,
                problem,
            })
        };
        if !version {
            return refuse(Problem::BadVersion);
        }
        let id = id.map(|raw| RequestId(raw.into()));
        let Some(method) = method else {
            return match (result, error, id) {
                (false, false, _) => refuse(Problem::MissingMethod),
                (true, true, _) => refuse(Problem::Ambiguous("both `result` and `error`")),
                (_, _, None) => refuse(Problem::Ambiguous("a response without `id`")),
                (_, _, Some(id)) => Ok(Call {
                    kind: CallKind::Response,
                    method: None,
                    id: Some(id),
                    target: None,
                }),
            };
        };
        if result || error {
            return refuse(Problem::Ambiguous("`method` with `result` or `error`"));
        }
        let kind = match &id {
            None => CallKind::Notification,
            // MCP: "Unlike base JSON-RPC, the ID MUST NOT be null."
            Some(id) if id.is_null() => return refuse(Problem::BadId),
            Some(_) => CallKind::Request,
        };
        let target = match &*method {
            "tools/call" => Some(target(params, "tools/call", "name")),
            "prompts/get" => Some(target(params, "prompts/get", "name")),
            "resources/read" => Some(target(params, "resources/read", "uri")),
            _ => None,
        };
        let target = match target {
            Some(Err(problem)) => return refuse(problem),
            Some(Ok(target)) => Some(target),
            None => None,
        };
        Ok(Call {
            kind,
            method: Some(method.into()),
            id,
            target,
        })
    }

    /// The `id`: a string, a number or `null`, kept as written.
    fn id(&mut self) -> Read<&'a str> {
        let next = self.next_byte();
        let start = self.pos;
        match next {
            Some(b'"') => self.string().map(drop)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b'n') => self.literal(b"null")?,
            None => return Err(self.syntax("EOF while parsing a value")),
            Some(_) => return Err(self.stop(start, Problem::BadId)),
        }
        self.text
            .get(start..self.pos)
            .ok_or_else(|| self.stop(start, Problem::BadId))
    }

    /// `params`: an object (with `name` and `uri` read), an array or `null` (skipped).
    fn params(&mut self, level: usize) -> Read<Params<'a>> {
        let next = self.next_byte();
        let start = self.pos;
        match next {
            Some(b'{') => {}
            Some(b'[') => return self.skip(level).map(|()| Params::Other),
            Some(b'n') => return self.literal(b"null").map(|()| Params::Other),
            None => return Err(self.syntax("EOF while parsing a value")),
            Some(b'"' | b'-' | b'0'..=b'9' | b't' | b'f') => {
                return Err(self.stop(start, Problem::ParamsNotStructured));
            }
            Some(_) => return Err(self.syntax("expected value")),
        }
        self.enter(level)?;
        self.pos += 1;
        let inner = level + 1;
        let mut name = None;
        let mut uri = None;
        let mut members = Members::First;
        while let Some((key, at)) = self.next_key(&mut members)? {
            let (slot, member) = match &*key {
                "name" => (&mut name, "params.name"),
                "uri" => (&mut uri, "params.uri"),
                _ => {
                    self.skip(inner)?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(self.stop(at, Problem::Duplicate(member)));
            }
            *slot = Some(self.string_or_skip(inner)?);
        }
        Ok(Params::Object { name, uri })
    }
}

/// The target member of a `tools/call`, `prompts/get` or `resources/read`.
fn target(
    params: Option<Params<'_>>,
    method: &'static str,
    member: &'static str,
) -> Result<Box<str>, Problem> {
    let value = match params {
        Some(Params::Object { name, uri }) => {
            if member == "name" {
                name
            } else {
                uri
            }
        }
        _ => None,
    };
    match value {
        None => Err(Problem::MissingTarget(method, member)),
        Some(None) => Err(Problem::TargetNotString(method, member)),
        Some(Some(s)) => Ok(s.into()),
    }
}

/// A `serde_json` error on a piece of the body, as a syntax problem without its position
/// (which is relative to the piece; the reader knows where the piece is).
#[cold]
fn delegated(err: &serde_json::Error) -> Problem {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let detail = text.strip_suffix(&suffix).unwrap_or(&text);
    Problem::Syntax(Cow::Owned(detail.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR};
    use proptest::prelude::*;
    use serde::de::IgnoredAny;

    fn ok(body: &str) -> Message {
        match peek(body.as_bytes(), &PeekLimits::default()) {
            Ok(message) => message,
            Err(err) => panic!("{body}: {err}"),
        }
    }

    fn err(body: &str) -> PeekError {
        match peek(body.as_bytes(), &PeekLimits::default()) {
            Ok(message) => panic!("{body}: accepted as {message:?}"),
            Err(err) => err,
        }
    }

    fn single(body: &str) -> Call {
        match ok(body) {
            Message::Single(call) => call,
            batch => panic!("{body}: {batch:?}"),
        }
    }

    #[test]
    fn reads_requests_notifications_and_responses() {
        let call = single(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}"#,
        );
        assert_eq!(call.kind(), CallKind::Request);
        assert_eq!(call.method(), Some("initialize"));
        assert_eq!(call.id().map(RequestId::as_json), Some("1"));
        assert_eq!(call.target(), None);

        let call = single(
            r#" {"params":{"arguments":{"q":[1,2,{"name":"inner"}]},"name":"search"},"method":"tools/call","id":"x-1","jsonrpc":"2.0"} "#,
        );
        assert_eq!(call.target(), Some("search"));
        assert_eq!(call.tool_name(), Some("search"));
        assert_eq!(call.id().map(RequestId::as_json), Some(r#""x-1""#));
        assert!(call.id().is_some_and(RequestId::is_string));

        let call = single(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert_eq!(call.kind(), CallKind::Notification);
        assert_eq!(call.id(), None);

        let call = single(r#"{"jsonrpc":"2.0","id":-1.5e2,"result":{"roots":[]}}"#);
        assert_eq!(call.kind(), CallKind::Response);
        assert_eq!(call.method(), None);
        assert_eq!(call.id().map(RequestId::as_json), Some("-1.5e2"));
        let call = single(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"m"}}"#);
        assert!(call.id().is_some_and(RequestId::is_null));

        let call =
            single(r#"{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"p"}}"#);
        assert_eq!(call.target(), Some("p"));
        assert_eq!(call.tool_name(), None);
        let call = single(
            r#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///a","name":7}}"#,
        );
        assert_eq!(call.target(), Some("file:///a"));
        // Another method's `params.name` may be anything; `params` may be an array or null.
        let call = single(r#"{"jsonrpc":"2.0","id":2,"method":"x/y","params":{"name":7}}"#);
        assert_eq!(call.target(), None);
        single(r#"{"jsonrpc":"2.0","id":2,"method":"x/y","params":[1,"a"]}"#);
        single(r#"{"jsonrpc":"2.0","id":2,"method":"x/y","params":null}"#);
    }

    #[test]
    fn reads_batches_in_order() {
        let message = ok(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},
            {"jsonrpc":"2.0","method":"notifications/progress","params":{}},
            {"jsonrpc":"2.0","id":9,"result":{}}]"#);
        assert!(message.is_batch());
        let kinds: Vec<CallKind> = message.calls().iter().map(Call::kind).collect();
        assert_eq!(
            kinds,
            [
                CallKind::Request,
                CallKind::Notification,
                CallKind::Response
            ]
        );
        assert!(matches!(err("[]"), PeekError::EmptyBatch { .. }));
        assert!(matches!(err("[1]"), PeekError::NotAnObject { .. }));
        assert!(matches!(err("[[]]"), PeekError::NotAnObject { .. }));
        let limits = PeekLimits::default().with_max_batch(2);
        let three = br#"[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"},{"jsonrpc":"2.0","method":"c"}]"#;
        assert!(matches!(
            peek(three, &limits),
            Err(PeekError::BatchTooLarge { max: 2, .. })
        ));
        assert_eq!(
            peek(&three[..], &limits.with_max_batch(3))
                .unwrap()
                .calls()
                .len(),
            3
        );
        assert!(matches!(
            peek(
                br#"[{"jsonrpc":"2.0","method":"a"}]"#,
                &limits.with_max_batch(0)
            ),
            Err(PeekError::BatchTooLarge { max: 0, .. })
        ));
    }

    #[test]
    fn escaped_strings_are_compared_decoded() {
        let call = single(
            r#"{"jsonrpc":"2\u002e0","id":"\u0031","method":"tools\/call","params":{"na\u006de":"\u0074ool"}}"#,
        );
        assert_eq!(call.method(), Some("tools/call"));
        assert_eq!(call.target(), Some("tool"));
        // The id stays as written.
        assert_eq!(call.id().map(RequestId::as_json), Some(r#""\u0031""#));
        let call = single(
            r#"{"jsonrpc":"2.0","id":1,"\u006dethod":"\u0074ools/call","params":{"name":"t"}}"#,
        );
        assert_eq!(call.tool_name(), Some("t"));
    }

    #[test]
    fn duplicates_are_refused_even_when_escaped() {
        for (body, member) in [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","na\u006de":"b"}}"#,
                "params.name",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
                "params.name",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a","uri":1}}"#,
                "params.uri",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","m\u0065thod":"tools/call"}"#,
                "method",
            ),
            (r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#, "id"),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}"#,
                "params",
            ),
            (
                r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"ping"}"#,
                "jsonrpc",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":1,"result":2}"#,
                "result",
            ),
        ] {
            match err(body) {
                PeekError::DuplicateMember { member: m, .. } => assert_eq!(m, member, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        // Members the peeker does not read may repeat; names deeper down too.
        single(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","x":1,"x":2,"params":{"name":"a","arguments":{"name":1,"name":2}}}"#,
        );
    }

    #[test]
    fn structure_errors_are_invalid_requests_with_positions() {
        for (body, code) in [
            (r#"{"id":1,"method":"ping"}"#, INVALID_REQUEST),
            (
                r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
                INVALID_REQUEST,
            ),
            (r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#, INVALID_REQUEST),
            (r#"{"jsonrpc":"2.0","id":1,"method":7}"#, INVALID_REQUEST),
            (r#"{"jsonrpc":"2.0","id":1,"method":null}"#, INVALID_REQUEST),
            (
                r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}"#,
                INVALID_REQUEST,
            ),
            (r#"{"jsonrpc":"2.0","id":1}"#, INVALID_REQUEST),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}"#,
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#,
                INVALID_REQUEST,
            ),
            (r#"{"jsonrpc":"2.0","result":{}}"#, INVALID_REQUEST),
            ("1", INVALID_REQUEST),
            (r#""tools/call""#, INVALID_REQUEST),
            ("null", INVALID_REQUEST),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#,
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["t"]}"#,
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":42}}"#,
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["t"]}}"#,
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"uri":"u"}}"#,
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"n"}}"#,
                INVALID_PARAMS,
            ),
        ] {
            let e = err(body);
            assert_eq!(e.code(), code, "{body}: {e}");
            assert_eq!(e.position().line, 1, "{body}: {e}");
            assert!(e.position().column >= 1, "{body}: {e}");
        }
        assert!(matches!(
            err(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":42}}"#),
            PeekError::TargetNotString {
                method: "tools/call",
                member: "name",
                ..
            }
        ));
        let e = err("{\"jsonrpc\":\"2.0\",\n  \"id\":1,\n  \"method\":5}");
        assert!(matches!(e, PeekError::MethodNotString { .. }));
        assert_eq!(e.position().line, 3);
        assert_eq!(e.public_message(), "Invalid Request");
    }

    #[test]
    fn bad_json_is_a_parse_error() {
        for body in [
            &b""[..],
            b"{",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\"} x",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}{}",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"p\xffing\"}",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"x\":\"\xc3\"}",
            b"{\"jsonrpc\":\"2.0\",\"id\":\"\xe2\x82\",\"method\":\"ping\"}",
            br#"{"jsonrpc":"2.0","id":"\ud800","method":"ping"}"#,
            br#"{"jsonrpc":"2.0","id":1e999,"method":"ping"}"#,
            br#"{"jsonrpc":"2.0","method":"ping","params":{"a":1e999}}"#,
            br#"{"jsonrpc":"2.0","method":"ping","params":{"\ud800":1}}"#,
            br#"{"jsonrpc":"2.0","method":"ping",}"#,
            br#"{"jsonrpc":"2.0","method":"ping","params":[1,]}"#,
            b"{\"jsonrpc\":\"2.0\",\"method\":\"a\nb\"}",
        ] {
            match peek(body, &PeekLimits::default()) {
                Err(e @ PeekError::Syntax { .. }) => {
                    assert_eq!(e.code(), PARSE_ERROR);
                    assert!(!e.to_string().contains(" at line 1 column"), "{e}");
                }
                other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
            }
        }
        let e = peek(b"{\n  \"a\":\"\xff\"}", &PeekLimits::default()).unwrap_err();
        assert_eq!(e.position(), Position { line: 2, column: 8 });
        // Escaped and numeric ids that a full parser accepts are kept.
        let call = single(r#"{"jsonrpc":"2.0","id":"\ud83d\ude00\n","method":"ping"}"#);
        assert_eq!(
            call.id().map(RequestId::as_json),
            Some(r#""\ud83d\ude00\n""#)
        );
        single(r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}"#);
    }

    fn nested(depth: usize, inner: &str) -> String {
        format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn nesting_is_capped_everywhere() {
        let limits = PeekLimits::default();
        assert_eq!(limits.max_depth(), 64);
        // The message is depth 1, params 2, arguments 3: 61 more levels fit.
        let fits = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"t","arguments":{{"a":{}}}}}}}"#,
            nested(61, "")
        );
        assert!(peek(fits.as_bytes(), &limits).is_ok());
        let deeper = fits.replacen('[', "[[", 1).replacen(']', "]]", 1);
        assert!(matches!(
            peek(deeper.as_bytes(), &limits),
            Err(PeekError::TooDeep { max: 64, .. })
        ));
        for body in [
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"ping","x":{}}}"#,
                nested(70, "1")
            ),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":{}}}"#, nested(70, "")),
            format!(r#"{{"jsonrpc":{},"id":1,"method":"ping"}}"#, nested(70, "")),
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"result":{}}}"#,
                nested(70, "{}")
            ),
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{}}}"#,
                nested(70, "")
            ),
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":{}}}}}"#,
                nested(70, "")
            ),
            format!(
                r#"[{{"jsonrpc":"2.0","method":"x","params":{}}}]"#,
                nested(70, "")
            ),
        ] {
            assert!(
                matches!(
                    peek(body.as_bytes(), &limits),
                    Err(PeekError::TooDeep { .. })
                ),
                "{body}"
            );
        }
        // Far past serde_json's own limit: an error, never a stack overflow.
        let huge = format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":{}}}"#,
            nested(100_000, "")
        );
        assert!(peek(huge.as_bytes(), &limits).is_err());
        let huge = format!(
            r#"{{"jsonrpc":"2.0","method":"x","id":{}}}"#,
            nested(100_000, "")
        );
        assert!(peek(huge.as_bytes(), &limits).is_err());
        let one = PeekLimits::default().with_max_depth(1);
        assert!(peek(br#"{"jsonrpc":"2.0","method":"x"}"#, &one).is_ok());
        assert!(peek(br#"{"jsonrpc":"2.0","method":"x","params":{}}"#, &one).is_err());
        assert!(peek(br#"{"jsonrpc":"2.0","method":"x"}"#, &one.with_max_depth(0)).is_err());
        let ceiling = PeekLimits::default().with_max_depth(10_000);
        assert_eq!(ceiling.max_depth(), DEPTH_CEILING);
        let body = format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":{}}}"#,
            nested(200, "")
        );
        assert!(matches!(
            peek(body.as_bytes(), &ceiling),
            Err(PeekError::TooDeep {
                max: DEPTH_CEILING,
                ..
            })
        ));
    }

    /// A message built from parts, written with random key order and escapes.
    #[derive(Debug, Clone)]
    struct Parts {
        method: Option<String>,
        id: Option<String>,
        name: Option<String>,
        result: bool,
        extra: Vec<(String, u8)>,
        escape: bool,
    }

    fn json_string(s: &str, escape: bool) -> String {
        if escape {
            let mut out = String::from("\"");
            for unit in s.encode_utf16() {
                out.push_str(&format!("\\u{unit:04x}"));
            }
            out.push('"');
            out
        } else {
            serde_json::to_string(s).unwrap()
        }
    }

    fn write(parts: &Parts, order: &[usize]) -> String {
        let mut members = vec![format!("\"jsonrpc\":{}", json_string("2.0", parts.escape))];
        if let Some(method) = &parts.method {
            members.push(format!("\"method\":{}", json_string(method, parts.escape)));
        }
        if let Some(id) = &parts.id {
            members.push(format!("\"id\":{id}"));
        }
        if let Some(name) = &parts.name {
            members.push(format!(
                "\"params\":{{\"arguments\":{{\"name\":[1]}},{}:{}}}",
                json_string("name", parts.escape),
                json_string(name, parts.escape)
            ));
        }
        if parts.result {
            members.push("\"result\":{\"content\":[]}".to_owned());
        }
        for (key, value) in &parts.extra {
            members.push(format!("{}:{value}", json_string(key, false)));
        }
        let mut ordered: Vec<&String> = Vec::new();
        for &i in order {
            if i < members.len() && !ordered.contains(&&members[i]) {
                ordered.push(&members[i]);
            }
        }
        for m in &members {
            if !ordered.contains(&m) {
                ordered.push(m);
            }
        }
        let joined: Vec<&str> = ordered.iter().map(|s| s.as_str()).collect();
        format!("{{{}}}", joined.join(","))
    }

    fn parts() -> impl Strategy<Value = Parts> {
        (
            prop::option::of(prop_oneof![
                Just("tools/call".to_owned()),
                Just("ping".to_owned()),
                "[a-z/]{1,12}",
            ]),
            prop::option::of(prop_oneof![
                (-1000i64..1000).prop_map(|n| n.to_string()),
                "[a-z0-9é]{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            ]),
            prop::option::of("[ -~é日]{0,10}"),
            any::<bool>(),
            prop::collection::vec(("[a-z]{1,3}", any::<u8>()), 0..3),
            any::<bool>(),
        )
            .prop_map(|(method, id, name, result, extra, escape)| Parts {
                method,
                id,
                name,
                result,
                extra: extra
                    .into_iter()
                    .filter(|(k, _)| {
                        !["jsonrpc", "method", "id", "params", "result", "error"]
                            .contains(&k.as_str())
                    })
                    .collect(),
                escape,
            })
    }

    /// JSON text with every kind of value: escapes (surrogate pairs, lone surrogates),
    /// numbers with exponents (some out of range), nesting.
    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            r"-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?",
            r#""([ -!#-\[\]-~é]|\\[nrtbf"\\/]|\\u[0-9a-fA-F]{4}|\\ud83d\\ude00|\\ud800){0,6}""#,
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((r#""[a-z]{0,3}""#, inner), 0..4).prop_map(|members| {
                    let members: Vec<String> =
                        members.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    /// `text` with one byte deleted, inserted or replaced (or unchanged).
    fn mutated(text: &str, how: u8, at: prop::sample::Index, byte: u8) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        let i = at.index(bytes.len() + 1);
        match how {
            1 if i < bytes.len() => {
                bytes.remove(i);
            }
            2 => bytes.insert(i, byte),
            3 if i < bytes.len() => bytes[i] = byte,
            _ => {}
        }
        bytes
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json_value(parts in parts(), order in prop::collection::vec(0usize..8, 0..8)) {
            let body = write(&parts, &order);
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            match peek(body.as_bytes(), &PeekLimits::default()) {
                Ok(Message::Single(call)) => {
                    prop_assert_eq!(call.method(), value["method"].as_str());
                    let id = call.id().map(|id| serde_json::from_str::<serde_json::Value>(id.as_json()).unwrap());
                    prop_assert_eq!(id.as_ref(), value.get("id"));
                    if call.method() == Some("tools/call") {
                        prop_assert_eq!(call.target(), value["params"]["name"].as_str());
                    }
                    let expected = match (&parts.method, &parts.id) {
                        (Some(_), Some(_)) => CallKind::Request,
                        (Some(_), None) => CallKind::Notification,
                        (None, _) => CallKind::Response,
                    };
                    prop_assert_eq!(call.kind(), expected);
                }
                Ok(batch) => prop_assert!(false, "batch {:?}", batch),
                Err(e) => {
                    // Only the structural refusals the parts can produce.
                    let explained = match &e {
                        PeekError::MissingMethod { .. } => parts.method.is_none() && !parts.result,
                        PeekError::Ambiguous { .. } => {
                            (parts.method.is_some() && parts.result)
                                || (parts.method.is_none() && parts.id.is_none())
                        }
                        PeekError::MissingTarget { .. } => {
                            parts.method.as_deref() == Some("tools/call") && parts.name.is_none()
                        }
                        _ => false,
                    };
                    prop_assert!(explained, "{}: {}", body, e);
                }
            }
        }

        /// The peeker calls a body invalid JSON exactly when `serde_json` does: it never
        /// refuses valid JSON as a parse error, and never lets invalid JSON through.
        #[test]
        fn syntax_verdicts_match_serde_json(
            params in json_text(),
            how in 0u8..4,
            at in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"{}[],:\"\\0123456789.eE+-tfnu x\n\x01\xc3".to_vec()),
        ) {
            let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"x/y","params":{params}}}"#);
            let body = mutated(&body, how, at, byte);
            let json = serde_json::from_slice::<serde_json::Value>(&body);
            match peek(&body, &PeekLimits::default()) {
                Ok(_) => prop_assert!(json.is_ok(), "{}", String::from_utf8_lossy(&body)),
                Err(e @ PeekError::Syntax { .. }) => {
                    prop_assert!(json.is_err(), "{}: {}", String::from_utf8_lossy(&body), e);
                }
                // Valid JSON that is not a valid message, or invalid JSON refused for its
                // structure before the bad bytes were reached.
                Err(_) => {}
            }
        }

        #[test]
        fn never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = peek(&body, &PeekLimits::default());
        }

        #[test]
        fn never_panics_on_json_like_text(body in r#"[\[\]{}",:0-9a-z\\/ .e-]{0,64}"#) {
            if let Ok(message) = peek(body.as_bytes(), &PeekLimits::default()) {
                prop_assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok());
                prop_assert!(!message.calls().is_empty());
            }
        }
    }

    /// Not a benchmark (those live in `benches/`): prints a rough cost per peek.
    /// `cargo test -p mcp-auth --release -- --ignored --nocapture peek_timing`
    #[test]
    #[ignore]
    fn peek_timing() {
        let arguments: String = (0..20)
            .map(|i| format!(r#""field{i}":"some value number {i} with text","n{i}":{i}.5"#))
            .collect::<Vec<_>>()
            .join(",");
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{{"name":"order.status","arguments":{{{arguments}}},"_meta":{{"progressToken":"abc"}}}}}}"#
        );
        let limits = PeekLimits::default();
        for body in [body.clone(), body.replace(".5", "")] {
            time(&body, &limits);
        }
    }

    fn time(body: &str, limits: &PeekLimits) {
        let rounds = 200_000u32;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(peek(std::hint::black_box(body.as_bytes()), limits).unwrap());
        }
        let per = start.elapsed() / rounds;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(
                serde_json::from_slice::<serde_json::Value>(std::hint::black_box(body.as_bytes()))
                    .unwrap(),
            );
        }
        let value = start.elapsed() / rounds;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(
                serde_json::from_slice::<IgnoredAny>(std::hint::black_box(body.as_bytes()))
                    .unwrap(),
            );
        }
        let skip = start.elapsed() / rounds;
        println!(
            "{} bytes: peek {per:?}, serde_json::Value {value:?}, IgnoredAny {skip:?}",
            body.len()
        );
    }
}
