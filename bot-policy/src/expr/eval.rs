//! Evaluation of the compiled tree against a request. Values are borrowed from the request; only
//! `concat()`, and `lower()`/`upper()` under a comparison that cannot fold as it goes (`matches`,
//! `in`, ordering), build a string.

use std::borrow::Cow;
use std::cell::RefCell;
use std::net::IpAddr;
use std::ops::ControlFlow;

use super::compile::compare_ord;
use super::fields::Field;
use super::matchers::Fold;
use super::tree::{ArrayVal, Cond, Source, Test, Val};
use crate::facts::RequestFacts;
use crate::lists::ListValue;

/// A value at run time. `Missing` is Cloudflare's "missing value": a header that is not there, an
/// index past the end, no client address. Every comparison with it is false.
#[derive(Debug)]
pub(crate) enum Value<'x> {
    Missing,
    Bool(bool),
    Int(i64),
    Bytes(Cow<'x, [u8]>),
    Ip(IpAddr),
}

thread_local! {
    /// The buffer `http.request.full_uri` is assembled in, reused from request to request.
    static FULL_URI: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn build_full_uri(facts: &RequestFacts<'_>, buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend_from_slice(facts.scheme.as_bytes());
    buf.extend_from_slice(b"://");
    buf.extend_from_slice(facts.host.as_bytes());
    buf.extend_from_slice(facts.target.as_bytes());
}

fn with_full_uri<R>(facts: &RequestFacts<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
    FULL_URI.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            build_full_uri(facts, &mut buf);
            let result = f(&buf);
            if buf.capacity() > 64 * 1024 {
                *buf = Vec::new();
            }
            result
        }
        Err(_) => {
            let mut buf = Vec::new();
            build_full_uri(facts, &mut buf);
            f(&buf)
        }
    })
}

/// File extensions Cloudflare counts as static resources (`cf.bot_management.static_resource`).
const STATIC_EXTENSIONS: &[&str] = &[
    "7z", "avi", "avif", "apk", "bin", "bmp", "bz2", "class", "css", "csv", "doc", "docx", "dmg",
    "ejs", "eot", "eps", "exe", "flac", "gif", "gz", "ico", "iso", "jar", "jpeg", "jpg", "js",
    "mid", "midi", "mkv", "mp3", "mp4", "ogg", "otf", "pdf", "pict", "pls", "png", "ppt", "pptx",
    "ps", "rar", "svg", "svgz", "swf", "tar", "tif", "tiff", "ttf", "webm", "webp", "woff",
    "woff2", "xls", "xlsx", "zip", "zst",
];

fn is_static_resource(path: &str) -> bool {
    let segment = path.rsplit('/').next().unwrap_or("");
    match segment.rsplit_once('.') {
        Some((_, ext)) => STATIC_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext)),
        None => false,
    }
}

/// A field whose value is a string, borrowed from the request; `None` for the other fields
/// and for `http.request.full_uri`, which is assembled in a buffer (see [`with_full_uri`]).
#[inline]
fn bytes_field<'x>(field: Field, facts: &RequestFacts<'x>) -> Option<&'x [u8]> {
    let bot = &facts.bot;
    Some(match field {
        Field::Method => facts.method.as_bytes(),
        Field::Host => facts.host.as_bytes(),
        Field::Path => facts.path().as_bytes(),
        Field::Query => facts.query().as_bytes(),
        Field::Uri => facts.target.as_bytes(),
        Field::UserAgent => facts.user_agent,
        Field::Referer => facts.headers.first("referer").unwrap_or(b""),
        Field::Cookie => facts.headers.first("cookie").unwrap_or(b""),
        Field::XForwardedFor => facts.headers.first("x-forwarded-for").unwrap_or(b""),
        Field::Version => facts.version.as_bytes(),
        Field::Country => facts.country.as_bytes(),
        Field::VerifiedBotCategory => bot.verified_category().as_bytes(),
        Field::BotName => bot.name.as_bytes(),
        Field::BotOperator => bot.operator.as_bytes(),
        Field::BotCategory => bot.category.as_bytes(),
        Field::BotSignatureAgent => bot.signature_agent.as_bytes(),
        _ => return None,
    })
}

/// A field whose value is an integer; `None` for the other fields.
#[inline]
fn int_field(field: Field, facts: &RequestFacts<'_>) -> Option<i64> {
    match field {
        Field::Asn => Some(i64::from(facts.asn)),
        Field::Score => Some(i64::from(facts.bot.score.clamp(1, 99))),
        _ => None,
    }
}

/// A field whose value is a boolean; `None` for the other fields.
#[inline]
fn bool_field(field: Field, facts: &RequestFacts<'_>) -> Option<bool> {
    let bot = &facts.bot;
    Some(match field {
        Field::Ssl => facts.scheme.eq_ignore_ascii_case("https"),
        Field::VerifiedBot | Field::ClientBot | Field::BotVerified => bot.verified,
        Field::StaticResource => is_static_resource(facts.path()),
        Field::BotClaimed => bot.claimed,
        Field::BotSigned => bot.signed,
        Field::BotSpoofed => bot.spoofed,
        _ => return None,
    })
}

fn field<'x>(field: Field, facts: &RequestFacts<'x>) -> Value<'x> {
    if let Some(b) = bytes_field(field, facts) {
        return Value::Bytes(Cow::Borrowed(b));
    }
    if let Some(i) = int_field(field, facts) {
        return Value::Int(i);
    }
    if let Some(b) = bool_field(field, facts) {
        return Value::Bool(b);
    }
    match field {
        Field::FullUri => {
            let mut buf = Vec::new();
            build_full_uri(facts, &mut buf);
            Value::Bytes(Cow::Owned(buf))
        }
        Field::IpSrc => facts.client_ip.map_or(Value::Missing, Value::Ip),
        _ => Value::Missing,
    }
}

fn ascii_case(bytes: Cow<'_, [u8]>, upper: bool) -> Cow<'_, [u8]> {
    let needs = if upper {
        bytes.iter().any(u8::is_ascii_lowercase)
    } else {
        bytes.iter().any(u8::is_ascii_uppercase)
    };
    if !needs {
        return bytes;
    }
    let mut owned = bytes.into_owned();
    if upper {
        owned.make_ascii_uppercase();
    } else {
        owned.make_ascii_lowercase();
    }
    Cow::Owned(owned)
}

/// Calls `f` with each element of the array's source. Returns false when the source is missing
/// (a header that is not there).
fn for_each_element(
    source: &Source,
    facts: &RequestFacts<'_>,
    f: &mut dyn FnMut(&[u8]) -> ControlFlow<()>,
) -> bool {
    match source {
        Source::Values(name) => {
            let mut present = false;
            facts.headers.for_each_value(name, &mut |value| {
                present = true;
                f(value)
            });
            present
        }
        Source::Names => {
            facts
                .headers
                .for_each_field(&mut |name, _| f(name.as_bytes()));
            true
        }
        Source::AllValues => {
            facts.headers.for_each_field(&mut |_, value| f(value));
            true
        }
    }
}

fn nth_element<'x>(source: &Source, facts: &RequestFacts<'x>, n: usize) -> Option<&'x [u8]> {
    let headers = facts.headers;
    match source {
        Source::Values(name) => headers.nth_value(name, n),
        Source::Names => headers.nth_field(n).map(|(name, _)| name.as_bytes()),
        Source::AllValues => headers.nth_field(n).map(|(_, value)| value),
    }
}

/// The per-element value of `array` at `element`, as a boolean.
fn element_is_true(array: &ArrayVal, facts: &RequestFacts<'_>, element: &[u8]) -> bool {
    match &array.each {
        Some(each) => matches!(each.value(facts, Some(element)), Value::Bool(true)),
        None => false,
    }
}

impl Cond {
    /// Whether the condition holds. `element` is the current array element inside a
    /// per-element expression.
    pub(crate) fn eval<'x>(&'x self, facts: &RequestFacts<'x>, element: Option<&'x [u8]>) -> bool {
        match self {
            Cond::FieldTest(f, test) => test.holds_on(*f, facts),
            Cond::And(all) => all.iter().all(|c| c.eval(facts, element)),
            Cond::Or(any) => any.iter().any(|c| c.eval(facts, element)),
            Cond::Not(inner) => !inner.eval(facts, element),
            Cond::Const(b) => *b,
            _ => self.eval_rest(facts, element),
        }
    }

    /// The less common conditions, kept out of [`Cond::eval`] so that its frame stays small.
    #[inline(never)]
    fn eval_rest<'x>(&'x self, facts: &RequestFacts<'x>, element: Option<&'x [u8]>) -> bool {
        match self {
            Cond::FieldTest(..) | Cond::And(_) | Cond::Or(_) | Cond::Not(_) | Cond::Const(_) => {
                self.eval(facts, element)
            }
            Cond::Xor(operands) => operands
                .iter()
                .fold(false, |acc, c| acc ^ c.eval(facts, element)),
            Cond::Value(val) => matches!(val.value(facts, element), Value::Bool(true)),
            Cond::Test(val, test) => {
                if let Val::Field(f) = **val {
                    return test.holds_on(f, facts);
                }
                test.holds(val.value(facts, element))
            }
            Cond::Any(array) => {
                let mut found = false;
                for_each_element(&array.source, facts, &mut |e| {
                    if element_is_true(array, facts, e) {
                        found = true;
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                found
            }
            Cond::All(array) => {
                let mut every = true;
                let present = for_each_element(&array.source, facts, &mut |e| {
                    if element_is_true(array, facts, e) {
                        ControlFlow::Continue(())
                    } else {
                        every = false;
                        ControlFlow::Break(())
                    }
                });
                present && every
            }
        }
    }
}

impl Val {
    pub(crate) fn value<'x>(
        &'x self,
        facts: &RequestFacts<'x>,
        element: Option<&'x [u8]>,
    ) -> Value<'x> {
        match self {
            Val::Field(f) => field(*f, facts),
            Val::Element => element.map_or(Value::Missing, |e| Value::Bytes(Cow::Borrowed(e))),
            Val::At(array, n) => match nth_element(&array.source, facts, *n) {
                None => Value::Missing,
                Some(item) => match &array.each {
                    Some(each) => each.value(facts, Some(item)),
                    None => Value::Bytes(Cow::Borrowed(item)),
                },
            },
            Val::Lower(inner) | Val::Upper(inner) => match inner.value(facts, element) {
                Value::Bytes(b) => Value::Bytes(ascii_case(b, matches!(self, Val::Upper(_)))),
                _ => Value::Missing,
            },
            Val::Len(inner) => match inner.value(facts, element) {
                Value::Bytes(b) => Value::Int(i64::try_from(b.len()).unwrap_or(i64::MAX)),
                _ => Value::Missing,
            },
            Val::Count(array) => {
                let mut count = 0i64;
                let present = for_each_element(&array.source, facts, &mut |_| {
                    count += 1;
                    ControlFlow::Continue(())
                });
                if present {
                    Value::Int(count)
                } else {
                    Value::Missing
                }
            }
            Val::Concat(parts) => {
                let mut out = Vec::new();
                for part in parts.iter() {
                    match part.value(facts, element) {
                        Value::Bytes(b) => out.extend_from_slice(&b),
                        _ => return Value::Missing,
                    }
                }
                Value::Bytes(Cow::Owned(out))
            }
            Val::Bytes(b) => Value::Bytes(Cow::Borrowed(b)),
            Val::Int(i) => Value::Int(*i),
            Val::Bool(b) => Value::Bool(*b),
            Val::Cond(cond) => Value::Bool(cond.eval(facts, element)),
        }
    }
}

impl Test {
    /// Whether the test holds on field `f`: the common case, read from the request in the type
    /// the test needs, without building a [`Value`].
    #[inline]
    pub(super) fn holds_on(&self, f: Field, facts: &RequestFacts<'_>) -> bool {
        if f == Field::FullUri {
            return with_full_uri(facts, |uri| self.holds(Value::Bytes(Cow::Borrowed(uri))));
        }
        let bytes = || bytes_field(f, facts);
        match self {
            Test::BytesEq(literal, fold) => bytes().is_some_and(|b| fold.equals(b, literal)),
            Test::BytesNe(literal, fold) => bytes().is_some_and(|b| !fold.equals(b, literal)),
            Test::StartsWith(literal, fold) => {
                bytes().is_some_and(|b| starts_with(b, literal, *fold))
            }
            Test::EndsWith(literal, fold) => bytes().is_some_and(|b| ends_with(b, literal, *fold)),
            Test::Contains(finder) => bytes().is_some_and(|b| finder.is_in(b)),
            Test::Matches(regex) => bytes().is_some_and(|b| regex.is_match(b)),
            Test::InStrings(set) => bytes().is_some_and(|b| set.contains(b)),
            Test::IntCompare(op, literal) => {
                int_field(f, facts).is_some_and(|i| compare_ord(i.cmp(literal), *op))
            }
            Test::BoolEq(want) => bool_field(f, facts) == Some(*want),
            Test::InIps(set) if f == Field::IpSrc => {
                facts.client_ip.is_some_and(|ip| set.contains(ip))
            }
            _ => self.holds(field(f, facts)),
        }
    }

    fn holds(&self, value: Value<'_>) -> bool {
        match (self, value) {
            (_, Value::Missing) => false,
            (Test::BytesEq(literal, fold), Value::Bytes(b)) => fold.equals(&b, literal),
            (Test::BytesNe(literal, fold), Value::Bytes(b)) => !fold.equals(&b, literal),
            (Test::BytesOrder(op, literal), Value::Bytes(b)) => {
                compare_ord((*b).cmp(&**literal), *op)
            }
            (Test::StartsWith(literal, fold), Value::Bytes(b)) => starts_with(&b, literal, *fold),
            (Test::EndsWith(literal, fold), Value::Bytes(b)) => ends_with(&b, literal, *fold),
            (Test::Contains(finder), Value::Bytes(b)) => finder.is_in(&b),
            (Test::Matches(regex), Value::Bytes(b)) => regex.is_match(&b),
            (Test::Wildcard(pattern), Value::Bytes(b)) => pattern.is_match(&b),
            (Test::InStrings(set), Value::Bytes(b)) => set.contains(&b),
            (Test::IntCompare(op, literal), Value::Int(i)) => compare_ord(i.cmp(literal), *op),
            (Test::InIntegers(ranges), Value::Int(i)) => ranges.contains(i),
            (Test::IpEq(ip), Value::Ip(v)) => *ip == v.to_canonical(),
            (Test::IpNe(ip), Value::Ip(v)) => *ip != v.to_canonical(),
            (Test::InIps(set), Value::Ip(v)) => set.contains(v),
            (Test::BoolEq(want), Value::Bool(b)) => *want == b,
            (Test::InList(list), value) => match (&**list, value) {
                (ListValue::Str(set), Value::Bytes(b)) => set.contains(&b),
                (ListValue::Ip(set), Value::Ip(ip)) => set.contains(ip),
                (ListValue::Int(ranges), Value::Int(i)) => ranges.contains(i),
                _ => false,
            },
            _ => false,
        }
    }
}

fn starts_with(value: &[u8], literal: &[u8], fold: Fold) -> bool {
    value
        .get(..literal.len())
        .is_some_and(|head| fold.equals(head, literal))
}

fn ends_with(value: &[u8], literal: &[u8], fold: Fold) -> bool {
    value
        .len()
        .checked_sub(literal.len())
        .and_then(|start| value.get(start..))
        .is_some_and(|tail| fold.equals(tail, literal))
}

/// Feeds the value of a scalar field to `hasher` (the key of a rate limit).
pub(crate) fn hash_field(f: Field, facts: &RequestFacts<'_>, hasher: &mut dyn std::hash::Hasher) {
    match field(f, facts) {
        Value::Missing => hasher.write_u8(0),
        Value::Bool(b) => hasher.write_u8(1 + u8::from(b)),
        Value::Int(i) => hasher.write_i64(i),
        Value::Bytes(b) => hasher.write(&b),
        Value::Ip(IpAddr::V4(ip)) => hasher.write(&ip.octets()),
        Value::Ip(IpAddr::V6(ip)) => hasher.write(&ip.octets()),
    }
}
