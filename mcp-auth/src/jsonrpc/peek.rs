//! The peeker: `serde_json` driving hand-written visitors that borrow what they can, skip the
//! rest, count depth and refuse duplicates.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{Call, CallKind, Message, PeekError, PeekLimits, Position, RequestId};

/// The deepest nesting [`PeekLimits::with_max_depth`] accepts: `serde_json` itself refuses a
/// 128th level, and the peeker must see the excess first to report it as
/// [`PeekError::TooDeep`].
pub const DEPTH_CEILING: usize = 126;

/// Reads `body` as one JSON-RPC message or a batch, without altering it. See the
/// [module docs](super) for what is checked.
pub fn peek(body: &[u8], limits: &PeekLimits) -> Result<Message, PeekError> {
    let ctx = Ctx {
        max_depth: limits.max_depth().min(DEPTH_CEILING),
        max_batch: limits.max_batch(),
        problem: Cell::new(None),
    };
    // Validating UTF-8 once, up front, is faster than string by string.
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(err) => return Err(not_utf8(body, err)),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let message = match (TopSeed { ctx: &ctx }).deserialize(&mut de) {
        Ok(message) => message,
        Err(err) => return Err(ctx.error(&err)),
    };
    match de.end() {
        Ok(()) => Ok(message),
        Err(err) => Err(ctx.error(&err)),
    }
}

/// The error for a body that is not UTF-8, at its first invalid byte.
#[cold]
fn not_utf8(body: &[u8], err: std::str::Utf8Error) -> PeekError {
    let valid = body.get(..err.valid_up_to()).unwrap_or(body);
    let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    PeekError::Syntax {
        detail: "invalid UTF-8".into(),
        at: Position {
            line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
            column: valid.len() - line_start + 1,
        },
    }
}

/// What a visitor found wrong; kept beside the `serde_json` error, which carries the position.
#[derive(Debug, Clone, Copy)]
enum Problem {
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
    /// An `id` whose string escapes or number range a full JSON parser refuses.
    IdSyntax,
    MissingTarget(&'static str, &'static str),
    TargetNotString(&'static str, &'static str),
}

struct Ctx {
    max_depth: usize,
    max_batch: usize,
    problem: Cell<Option<Problem>>,
}

impl Ctx {
    /// Records `problem` and returns an error for `serde_json` to position and hand back.
    fn fail<E: de::Error>(&self, problem: Problem) -> E {
        if self.problem.get().is_none() {
            self.problem.set(Some(problem));
        }
        E::custom("refused by the JSON-RPC peeker")
    }

    fn enter<E: de::Error>(&self, level: usize) -> Result<(), E> {
        if level > self.max_depth {
            Err(self.fail(Problem::TooDeep))
        } else {
            Ok(())
        }
    }

    fn error(&self, err: &serde_json::Error) -> PeekError {
        let at = Position {
            line: err.line(),
            column: err.column(),
        };
        let Some(problem) = self.problem.get() else {
            let text = err.to_string();
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            let detail = text.strip_suffix(&suffix).unwrap_or(&text);
            return PeekError::Syntax {
                detail: detail.into(),
                at,
            };
        };
        match problem {
            Problem::TooDeep => PeekError::TooDeep {
                max: self.max_depth,
                at,
            },
            Problem::NotAnObject => PeekError::NotAnObject { at },
            Problem::EmptyBatch => PeekError::EmptyBatch { at },
            Problem::BatchTooLarge => PeekError::BatchTooLarge {
                max: self.max_batch,
                at,
            },
            Problem::Duplicate(member) => PeekError::DuplicateMember { member, at },
            Problem::BadVersion => PeekError::BadVersion { at },
            Problem::MethodNotString => PeekError::MethodNotString { at },
            Problem::BadId => PeekError::BadId { at },
            Problem::IdSyntax => PeekError::Syntax {
                detail: "invalid escape or number out of range in `id`".into(),
                at,
            },
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

/// Scalars are refused with `$problem` (the visitor has a `ctx` field).
macro_rules! refuse_scalars {
    ($problem:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(self.ctx.fail($problem))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(self.ctx.fail($problem))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(self.ctx.fail($problem))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(self.ctx.fail($problem))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(self.ctx.fail($problem))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.ctx.fail($problem))
        }
    };
}

/// The body: an object or a batch.
struct TopSeed<'c> {
    ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Message;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Message, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC object or batch")
    }

    refuse_scalars!(Problem::NotAnObject);

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Message, A::Error> {
        self.ctx.enter(1)?;
        read_message(self.ctx, 1, map).map(Message::Single)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Message, A::Error> {
        self.ctx.enter(1)?;
        let mut calls = Vec::new();
        while let Some(call) = seq.next_element_seed(MessageSeed {
            ctx: self.ctx,
            level: 2,
        })? {
            if calls.len() >= self.ctx.max_batch {
                return Err(self.ctx.fail(Problem::BatchTooLarge));
            }
            calls.push(call);
        }
        if calls.is_empty() {
            return Err(self.ctx.fail(Problem::EmptyBatch));
        }
        Ok(Message::Batch(calls))
    }
}

/// One element of a batch.
struct MessageSeed<'c> {
    ctx: &'c Ctx,
    level: usize,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Call;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Call, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_> {
    type Value = Call;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC object")
    }

    refuse_scalars!(Problem::NotAnObject);

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Call, A::Error> {
        Err(self.ctx.fail(Problem::NotAnObject))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Call, A::Error> {
        self.ctx.enter(self.level)?;
        read_message(self.ctx, self.level, map)
    }
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

struct MemberSeed;

impl<'de> DeserializeSeed<'de> for MemberSeed {
    type Value = Member;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Member, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for MemberSeed {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    /// Called with the decoded key, borrowed or unescaped alike.
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Member, E> {
        Ok(match key {
            "jsonrpc" => Member::Jsonrpc,
            "method" => Member::Method,
            "id" => Member::Id,
            "params" => Member::Params,
            "result" => Member::Result,
            "error" => Member::Error,
            _ => Member::Other,
        })
    }
}

/// The members of `params` that the peeker reads.
enum ParamMember {
    Name,
    Uri,
    Other,
}

struct ParamMemberSeed;

impl<'de> DeserializeSeed<'de> for ParamMemberSeed {
    type Value = ParamMember;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ParamMember, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for ParamMemberSeed {
    type Value = ParamMember;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<ParamMember, E> {
        Ok(match key {
            "name" => ParamMember::Name,
            "uri" => ParamMember::Uri,
            _ => ParamMember::Other,
        })
    }
}

fn duplicate<E: de::Error>(ctx: &Ctx, seen: bool, member: &'static str) -> Result<(), E> {
    if seen {
        Err(ctx.fail(Problem::Duplicate(member)))
    } else {
        Ok(())
    }
}

fn read_message<'de, A: MapAccess<'de>>(
    ctx: &Ctx,
    level: usize,
    mut map: A,
) -> Result<Call, A::Error> {
    let inner = level + 1;
    let mut version = false;
    let mut method: Option<Cow<'de, str>> = None;
    let mut id: Option<&'de RawValue> = None;
    let mut params: Option<Params<'de>> = None;
    let mut result = false;
    let mut error = false;
    while let Some(member) = map.next_key_seed(MemberSeed)? {
        match member {
            Member::Jsonrpc => {
                duplicate(ctx, version, "jsonrpc")?;
                version = true;
                match map.next_value_seed(StrSeed { ctx, level: inner })? {
                    Some(v) if v == "2.0" => {}
                    _ => return Err(ctx.fail(Problem::BadVersion)),
                }
            }
            Member::Method => {
                duplicate(ctx, method.is_some(), "method")?;
                match map.next_value_seed(StrSeed { ctx, level: inner })? {
                    Some(v) => method = Some(v),
                    None => return Err(ctx.fail(Problem::MethodNotString)),
                }
            }
            Member::Id => {
                duplicate(ctx, id.is_some(), "id")?;
                let raw: &'de RawValue = map.next_value()?;
                check_id(ctx, raw)?;
                id = Some(raw);
            }
            Member::Params => {
                duplicate(ctx, params.is_some(), "params")?;
                params = Some(map.next_value_seed(ParamsSeed { ctx, level: inner })?);
            }
            Member::Result => {
                duplicate(ctx, result, "result")?;
                result = true;
                map.next_value_seed(Skip { ctx, level: inner })?;
            }
            Member::Error => {
                duplicate(ctx, error, "error")?;
                error = true;
                map.next_value_seed(Skip { ctx, level: inner })?;
            }
            Member::Other => map.next_value_seed(Skip { ctx, level: inner })?,
        }
    }
    if !version {
        return Err(ctx.fail(Problem::BadVersion));
    }
    let id = id.map(|raw| RequestId(raw.get().into()));
    let Some(method) = method else {
        return match (result, error, id) {
            (false, false, _) => Err(ctx.fail(Problem::MissingMethod)),
            (true, true, _) => Err(ctx.fail(Problem::Ambiguous("both `result` and `error`"))),
            (_, _, None) => Err(ctx.fail(Problem::Ambiguous("a response without `id`"))),
            (_, _, Some(id)) => Ok(Call {
                kind: CallKind::Response,
                method: None,
                id: Some(id),
                target: None,
            }),
        };
    };
    if result || error {
        return Err(ctx.fail(Problem::Ambiguous("`method` with `result` or `error`")));
    }
    let kind = match &id {
        None => CallKind::Notification,
        // MCP: "Unlike base JSON-RPC, the ID MUST NOT be null."
        Some(id) if id.is_null() => return Err(ctx.fail(Problem::BadId)),
        Some(_) => CallKind::Request,
    };
    let target = match &*method {
        "tools/call" => Some(target(ctx, params, "tools/call", "name")?),
        "prompts/get" => Some(target(ctx, params, "prompts/get", "name")?),
        "resources/read" => Some(target(ctx, params, "resources/read", "uri")?),
        _ => None,
    };
    Ok(Call {
        kind,
        method: Some(method.into()),
        id,
        target,
    })
}

fn target<E: de::Error>(
    ctx: &Ctx,
    params: Option<Params<'_>>,
    method: &'static str,
    member: &'static str,
) -> Result<Box<str>, E> {
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
        None => Err(ctx.fail(Problem::MissingTarget(method, member))),
        Some(None) => Err(ctx.fail(Problem::TargetNotString(method, member))),
        Some(Some(s)) => Ok(s.into()),
    }
}

/// Checks that a raw `id` is a string, a number or `null`, and one a full JSON parser accepts
/// too (`RawValue` skips strings and numbers without checking escapes or ranges).
fn check_id<E: de::Error>(ctx: &Ctx, raw: &RawValue) -> Result<(), E> {
    let text = raw.get();
    let valid = match text.as_bytes().first() {
        Some(b'n') => return Ok(()),
        Some(b'"') if !text.contains('\\') => return Ok(()),
        Some(b'"' | b'-' | b'0'..=b'9') => serde_json::Deserializer::from_str(text)
            .deserialize_any(IgnoredAny)
            .is_ok(),
        _ => return Err(ctx.fail(Problem::BadId)),
    };
    if valid {
        Ok(())
    } else {
        Err(ctx.fail(Problem::IdSyntax))
    }
}

/// `params`, with `name` and `uri` when it is an object: `Some(Some(s))` a string,
/// `Some(None)` another value.
enum Params<'de> {
    Object {
        name: Option<Option<Cow<'de, str>>>,
        uri: Option<Option<Cow<'de, str>>>,
    },
    Other,
}

struct ParamsSeed<'c> {
    ctx: &'c Ctx,
    level: usize,
}

impl<'de> DeserializeSeed<'de> for ParamsSeed<'_> {
    type Value = Params<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Params<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ParamsSeed<'_> {
    type Value = Params<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an array")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Params<'de>, E> {
        Err(self.ctx.fail(Problem::ParamsNotStructured))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Params<'de>, E> {
        Err(self.ctx.fail(Problem::ParamsNotStructured))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Params<'de>, E> {
        Err(self.ctx.fail(Problem::ParamsNotStructured))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Params<'de>, E> {
        Err(self.ctx.fail(Problem::ParamsNotStructured))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Params<'de>, E> {
        Err(self.ctx.fail(Problem::ParamsNotStructured))
    }

    /// `"params": null` reads as no params.
    fn visit_unit<E: de::Error>(self) -> Result<Params<'de>, E> {
        Ok(Params::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Params<'de>, A::Error> {
        Skip {
            ctx: self.ctx,
            level: self.level,
        }
        .visit_seq(seq)?;
        Ok(Params::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params<'de>, A::Error> {
        let ctx = self.ctx;
        ctx.enter(self.level)?;
        let inner = self.level + 1;
        let mut name = None;
        let mut uri = None;
        while let Some(member) = map.next_key_seed(ParamMemberSeed)? {
            match member {
                ParamMember::Name => {
                    duplicate(ctx, name.is_some(), "params.name")?;
                    name = Some(map.next_value_seed(StrSeed { ctx, level: inner })?);
                }
                ParamMember::Uri => {
                    duplicate(ctx, uri.is_some(), "params.uri")?;
                    uri = Some(map.next_value_seed(StrSeed { ctx, level: inner })?);
                }
                ParamMember::Other => map.next_value_seed(Skip { ctx, level: inner })?,
            }
        }
        Ok(Params::Object { name, uri })
    }
}

/// A value that matters only if it is a string: `Some` the decoded string (borrowed from the
/// body when it has no escapes), `None` anything else (skipped, depth counted).
struct StrSeed<'c> {
    ctx: &'c Ctx,
    level: usize,
}

impl<'de> DeserializeSeed<'de> for StrSeed<'_> {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrSeed<'_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip {
            ctx: self.ctx,
            level: self.level,
        }
        .visit_seq(seq)?;
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip {
            ctx: self.ctx,
            level: self.level,
        }
        .visit_map(map)?;
        Ok(None)
    }
}

/// Any value, validated and skipped; arrays and objects count toward the depth limit.
/// (`IgnoredAny` would skip faster, but `serde_json` skips without telling the visitor about
/// nesting, and without checking escapes or number ranges.)
struct Skip<'c> {
    ctx: &'c Ctx,
    /// The depth of this value if it is an array or an object.
    level: usize,
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.ctx.enter(self.level)?;
        while seq
            .next_element_seed(Skip {
                ctx: self.ctx,
                level: self.level + 1,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.ctx.enter(self.level)?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Skip {
                ctx: self.ctx,
                level: self.level + 1,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR};
    use proptest::prelude::*;

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
