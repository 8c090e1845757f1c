//! Type checking and compilation: the syntax tree to the [`Cond`] tree, every literal turned into
//! its matcher, every mistake reported with its position.

use std::net::IpAddr;
use std::sync::Arc;

use super::Limits;
use super::error::{ExprError, ExprErrorKind};
use super::fields::{Field, FieldType, suggest};
use super::lex::StrLit;
use super::matchers::{Fold, IpSet, Ranges, StrSet, Substring, Wildcard, parse_ip_item};
use super::parse::{Ast, AstKind, CmpOp, IndexKind, LogicOp, Rhs, RhsKind};
use super::tree::{ArrayVal, Cond, Source, Test, Val};
use crate::lists::{ListKind, ListValue, Lists, parse_int_item};

/// The scalar types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Bool,
    Int,
    Bytes,
    Ip,
}

impl Scalar {
    fn name(self) -> &'static str {
        match self {
            Scalar::Bool => "a boolean",
            Scalar::Int => "an integer",
            Scalar::Bytes => "a string",
            Scalar::Ip => "an IP address",
        }
    }
}

/// A value with its type.
enum Typed {
    Scalar(Val, Scalar),
    /// An array not (yet) unpacked.
    Array(ArrayVal, Scalar),
    /// An array unpacked with `[*]`: what follows applies to each element.
    Each(ArrayVal, Scalar),
    /// `http.request.headers`
    Map,
}

impl Typed {
    fn describe(&self) -> String {
        match self {
            Typed::Scalar(_, s) => s.name().to_owned(),
            Typed::Array(_, s) => format!("an array of {}", plural(*s)),
            Typed::Each(_, s) => format!("each element ([*]) of an array of {}", plural(*s)),
            Typed::Map => "a map of header names to arrays".to_owned(),
        }
    }
}

fn plural(s: Scalar) -> &'static str {
    match s {
        Scalar::Bool => "booleans",
        Scalar::Int => "integers",
        Scalar::Bytes => "strings",
        Scalar::Ip => "addresses",
    }
}

/// Something the linter should know: a part of the expression that can never match, or always
/// does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

pub(crate) struct Compiled {
    pub root: Cond,
    pub fields: u64,
    pub notes: Vec<Note>,
}

const FUNCTIONS: &[&str] = &[
    "any",
    "all",
    "lower",
    "upper",
    "len",
    "concat",
    "starts_with",
    "ends_with",
];
const UNSUPPORTED_FUNCTIONS: &[&str] = &[
    "cidr",
    "cidr6",
    "decode_base64",
    "join",
    "lookup_json_integer",
    "lookup_json_string",
    "regex_replace",
    "remove_bytes",
    "remove_query_args",
    "split",
    "to_string",
    "url_decode",
    "uuidv4",
    "wildcard_replace",
    "encode_base64",
    "is_timed_hmac_valid_v0",
    "sha256",
    "bit_slice",
];

pub(crate) fn compile(ast: &Ast, lists: &Lists, limits: &Limits) -> Result<Compiled, ExprError> {
    let mut compiler = Compiler {
        lists,
        limits,
        fields: 0,
        notes: Vec::new(),
    };
    let root = compiler.cond(ast)?;
    Ok(Compiled {
        root,
        fields: compiler.fields,
        notes: compiler.notes,
    })
}

struct Compiler<'l> {
    lists: &'l Lists,
    limits: &'l Limits,
    fields: u64,
    notes: Vec<Note>,
}

fn err(kind: ExprErrorKind, start: usize, end: usize, message: impl Into<String>) -> ExprError {
    ExprError::new(kind, start, end, message)
}

fn type_err(at: &Ast, message: impl Into<String>) -> ExprError {
    err(ExprErrorKind::Type, at.start, at.end, message)
}

fn into_cond(val: Val) -> Cond {
    match val {
        Val::Cond(cond) => match *cond {
            Cond::Test(val, test) => match *val {
                Val::Field(field) => Cond::FieldTest(field, test),
                other => Cond::Test(Box::new(other), test),
            },
            other => other,
        },
        Val::Bool(b) => Cond::Const(b),
        // A boolean field alone reads as `field eq true`: the field-test path.
        Val::Field(field) if field.ty() == FieldType::Bool => {
            Cond::FieldTest(field, Test::BoolEq(true))
        }
        other => Cond::Value(Box::new(other)),
    }
}

fn fold_logic(op: LogicOp, conds: Vec<Cond>) -> Cond {
    match op {
        LogicOp::And | LogicOp::Or => {
            let absorbing = op == LogicOp::Or;
            let mut kept = Vec::with_capacity(conds.len());
            for cond in conds {
                match cond {
                    Cond::Const(b) if b == absorbing => return Cond::Const(absorbing),
                    Cond::Const(_) => {}
                    other => kept.push(other),
                }
            }
            match kept.len() {
                0 => Cond::Const(!absorbing),
                1 => kept.pop().unwrap_or(Cond::Const(!absorbing)),
                _ if op == LogicOp::And => Cond::And(kept.into_boxed_slice()),
                _ => Cond::Or(kept.into_boxed_slice()),
            }
        }
        LogicOp::Xor => {
            if conds.iter().all(|c| matches!(c, Cond::Const(_))) {
                let value = conds
                    .iter()
                    .filter(|c| matches!(c, Cond::Const(true)))
                    .count()
                    % 2
                    == 1;
                Cond::Const(value)
            } else {
                Cond::Xor(conds.into_boxed_slice())
            }
        }
    }
}

impl Compiler<'_> {
    fn note(&mut self, start: usize, end: usize, message: impl Into<String>) {
        self.notes.push(Note {
            start,
            end,
            message: message.into(),
        });
    }

    fn use_field(&mut self, field: Field) {
        self.fields |= 1u64 << (field as u64);
    }

    fn cond(&mut self, ast: &Ast) -> Result<Cond, ExprError> {
        match &ast.kind {
            AstKind::Logic(op, operands) => {
                let conds = operands
                    .iter()
                    .map(|a| self.cond(a))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(fold_logic(*op, conds))
            }
            AstKind::Not(inner) => Ok(match self.cond(inner)? {
                Cond::Const(b) => Cond::Const(!b),
                other => Cond::Not(Box::new(other)),
            }),
            _ => match self.value(ast)? {
                Typed::Scalar(val, Scalar::Bool) => Ok(into_cond(val)),
                Typed::Array(_, Scalar::Bool) => Err(type_err(
                    ast,
                    "this is an array of booleans: wrap it in any(…) or all(…)",
                )),
                other => Err(type_err(
                    ast,
                    format!("expected a boolean, found {}", other.describe()),
                )),
            },
        }
    }

    fn value(&mut self, ast: &Ast) -> Result<Typed, ExprError> {
        match &ast.kind {
            AstKind::Logic(..) | AstKind::Not(_) => Ok(Typed::Scalar(
                Val::Cond(Box::new(self.cond(ast)?)),
                Scalar::Bool,
            )),
            AstKind::Compare(lhs, op, rhs) => self.compare(lhs, *op, rhs),
            AstKind::Name(name) => self.field(name, ast),
            AstKind::Index(base, index) => self.index(base, index, ast),
            AstKind::Call(name, args) => self.call(name, args, ast),
            AstKind::Str(lit) => Ok(Typed::Scalar(
                Val::Bytes(lit.decode()?.into_boxed_slice()),
                Scalar::Bytes,
            )),
            AstKind::Int(v) => Ok(Typed::Scalar(Val::Int(*v), Scalar::Int)),
            AstKind::Bool(b) => Ok(Typed::Scalar(Val::Bool(*b), Scalar::Bool)),
        }
    }

    fn field(&mut self, name: &str, at: &Ast) -> Result<Typed, ExprError> {
        let Some(field) = Field::from_name(name) else {
            let hint = match suggest(name, Field::all_names()) {
                Some(known) => format!("; did you mean `{known}`?"),
                None => String::new(),
            };
            return Err(err(
                ExprErrorKind::UnknownField,
                at.start,
                at.end,
                format!("unknown field `{name}`{hint}"),
            ));
        };
        self.use_field(field);
        Ok(match field.ty() {
            FieldType::Bool => Typed::Scalar(Val::Field(field), Scalar::Bool),
            FieldType::Int => Typed::Scalar(Val::Field(field), Scalar::Int),
            FieldType::Bytes => Typed::Scalar(Val::Field(field), Scalar::Bytes),
            FieldType::Ip => Typed::Scalar(Val::Field(field), Scalar::Ip),
            FieldType::Map => Typed::Map,
            FieldType::Array => {
                let source = if field == Field::HeaderNames {
                    Source::Names
                } else {
                    Source::AllValues
                };
                Typed::Array(ArrayVal { source, each: None }, Scalar::Bytes)
            }
        })
    }

    fn index(&mut self, base: &Ast, index: &IndexKind, at: &Ast) -> Result<Typed, ExprError> {
        let base_value = self.value(base)?;
        match (base_value, index) {
            (Typed::Map, IndexKind::Key(key)) => {
                let name = key.decode()?;
                let Ok(name) = String::from_utf8(name) else {
                    return Err(type_err(at, "a header name is ASCII"));
                };
                if name.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(type_err(
                        at,
                        format!(
                            "header names in http.request.headers are lowercase: write \"{}\"",
                            name.to_ascii_lowercase()
                        ),
                    ));
                }
                if name == "user-agent" {
                    self.use_field(Field::UserAgent);
                }
                Ok(Typed::Array(
                    ArrayVal {
                        source: Source::Values(name.into_boxed_str()),
                        each: None,
                    },
                    Scalar::Bytes,
                ))
            }
            (Typed::Map, _) => Err(type_err(
                at,
                "http.request.headers is indexed by a quoted, lowercase header name",
            )),
            (Typed::Array(array, ty), IndexKind::Position(n)) => {
                let n = usize::try_from(*n)
                    .map_err(|_| type_err(at, "an array index is not negative"))?;
                Ok(Typed::Scalar(Val::At(Box::new(array), n), ty))
            }
            (Typed::Array(array, ty), IndexKind::Each) => Ok(Typed::Each(array, ty)),
            (Typed::Array(..), IndexKind::Key(_)) => {
                Err(type_err(at, "an array is indexed by a number or `*`"))
            }
            (Typed::Each(..), _) => Err(type_err(at, "`[*]` was already applied to this array")),
            (Typed::Scalar(_, ty), _) => {
                Err(type_err(at, format!("{} cannot be indexed", ty.name())))
            }
        }
    }

    fn call(&mut self, name: &str, args: &[Ast], at: &Ast) -> Result<Typed, ExprError> {
        let arity = |n: usize| -> Result<(), ExprError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(type_err(
                    at,
                    format!(
                        "{name}() takes {n} argument{}",
                        if n == 1 { "" } else { "s" }
                    ),
                ))
            }
        };
        match name {
            "lower" | "upper" => {
                arity(1)?;
                let wrap = |v: Val| {
                    if name == "lower" {
                        Val::Lower(Box::new(v))
                    } else {
                        Val::Upper(Box::new(v))
                    }
                };
                match self.value(&args[0])? {
                    Typed::Scalar(v, Scalar::Bytes) => Ok(Typed::Scalar(wrap(v), Scalar::Bytes)),
                    Typed::Each(array, Scalar::Bytes) => {
                        Ok(Typed::Array(map_each(array, wrap), Scalar::Bytes))
                    }
                    other => Err(type_err(
                        &args[0],
                        format!("{name}() takes a string, not {}", other.describe()),
                    )),
                }
            }
            "len" => {
                arity(1)?;
                match self.value(&args[0])? {
                    Typed::Scalar(v, Scalar::Bytes) => {
                        Ok(Typed::Scalar(Val::Len(Box::new(v)), Scalar::Int))
                    }
                    Typed::Array(array, _) => {
                        Ok(Typed::Scalar(Val::Count(Box::new(array)), Scalar::Int))
                    }
                    Typed::Each(array, Scalar::Bytes) => Ok(Typed::Array(
                        map_each(array, |v| Val::Len(Box::new(v))),
                        Scalar::Int,
                    )),
                    other => Err(type_err(
                        &args[0],
                        format!("len() takes a string or an array, not {}", other.describe()),
                    )),
                }
            }
            "concat" => {
                if args.is_empty() {
                    return Err(type_err(at, "concat() takes at least one argument"));
                }
                let mut parts = Vec::with_capacity(args.len());
                for arg in args {
                    match self.value(arg)? {
                        Typed::Scalar(v, Scalar::Bytes) => parts.push(v),
                        other => {
                            return Err(type_err(
                                arg,
                                format!("concat() here takes strings, not {}", other.describe()),
                            ));
                        }
                    }
                }
                Ok(Typed::Scalar(
                    Val::Concat(parts.into_boxed_slice()),
                    Scalar::Bytes,
                ))
            }
            "starts_with" | "ends_with" => {
                arity(2)?;
                if matches!(args[0].kind, AstKind::Str(_)) {
                    return Err(type_err(
                        &args[0],
                        format!("the first argument of {name}() is a field, not a literal"),
                    ));
                }
                let AstKind::Str(lit) = &args[1].kind else {
                    return Err(type_err(
                        &args[1],
                        format!("the second argument of {name}() is a quoted string"),
                    ));
                };
                let literal = lit.decode()?.into_boxed_slice();
                let starts = name == "starts_with";
                let build = |v: Val, notes: &mut Vec<Note>| {
                    let (v, fold) = split_fold(v);
                    if !fold.can_produce(&literal) {
                        notes.push(Note {
                            start: args[1].start,
                            end: args[1].end,
                            message: format!(
                                "{name}() of a {} value never matches this literal",
                                fold_name(fold)
                            ),
                        });
                        return Val::Bool(false);
                    }
                    let test = if starts {
                        Test::StartsWith(literal.clone(), fold)
                    } else {
                        Test::EndsWith(literal.clone(), fold)
                    };
                    Val::Cond(Box::new(Cond::Test(Box::new(v), test)))
                };
                match self.value(&args[0])? {
                    Typed::Scalar(v, Scalar::Bytes) => {
                        Ok(Typed::Scalar(build(v, &mut self.notes), Scalar::Bool))
                    }
                    Typed::Each(array, Scalar::Bytes) => {
                        let mut notes = Vec::new();
                        let mapped = map_each(array, |v| build(v, &mut notes));
                        self.notes.extend(notes);
                        Ok(Typed::Array(mapped, Scalar::Bool))
                    }
                    other => Err(type_err(
                        &args[0],
                        format!("{name}() takes a string, not {}", other.describe()),
                    )),
                }
            }
            "any" | "all" => {
                arity(1)?;
                match self.value(&args[0])? {
                    Typed::Array(array, Scalar::Bool) => {
                        let cond = if name == "any" {
                            Cond::Any(Box::new(array))
                        } else {
                            Cond::All(Box::new(array))
                        };
                        Ok(Typed::Scalar(Val::Cond(Box::new(cond)), Scalar::Bool))
                    }
                    other => Err(type_err(
                        &args[0],
                        format!(
                            "{name}() takes an array of booleans, such as `http.request.headers[\"accept\"][*] contains \"json\"`, not {}",
                            other.describe()
                        ),
                    )),
                }
            }
            _ if UNSUPPORTED_FUNCTIONS.contains(&name) => Err(err(
                ExprErrorKind::UnknownFunction,
                at.start,
                at.end,
                format!("{name}() is a Cloudflare function this engine does not implement"),
            )),
            _ => {
                let hint = match suggest(name, FUNCTIONS.iter().copied()) {
                    Some(known) => format!("; did you mean `{known}`?"),
                    None => String::new(),
                };
                Err(err(
                    ExprErrorKind::UnknownFunction,
                    at.start,
                    at.end,
                    format!("unknown function `{name}`{hint}"),
                ))
            }
        }
    }

    fn compare(&mut self, lhs: &Ast, op: CmpOp, rhs: &Rhs) -> Result<Typed, ExprError> {
        match self.value(lhs)? {
            Typed::Scalar(v, ty) => {
                let cond = self.test(v, ty, op, rhs, lhs)?;
                Ok(Typed::Scalar(Val::Cond(Box::new(cond)), Scalar::Bool))
            }
            Typed::Each(array, ty) => {
                let element = array.each.clone().unwrap_or(Val::Element);
                let cond = self.test(element, ty, op, rhs, lhs)?;
                Ok(Typed::Array(
                    ArrayVal {
                        source: array.source,
                        each: Some(Val::Cond(Box::new(cond))),
                    },
                    Scalar::Bool,
                ))
            }
            Typed::Array(..) => Err(type_err(
                lhs,
                "an array cannot be compared: take one element (`[0]`), or compare each (`[*]`) inside any(…) or all(…)",
            )),
            Typed::Map => Err(type_err(
                lhs,
                "a map cannot be compared: index it with a header name, as in http.request.headers[\"accept\"]",
            )),
        }
    }

    fn test(
        &mut self,
        val: Val,
        ty: Scalar,
        op: CmpOp,
        rhs: &Rhs,
        lhs: &Ast,
    ) -> Result<Cond, ExprError> {
        let rhs_err = |message: String| err(ExprErrorKind::Type, rhs.start, rhs.end, message);
        let wrong = || {
            err(
                ExprErrorKind::Type,
                lhs.start,
                rhs.end,
                format!("`{}` does not apply to {}", op.name(), ty.name()),
            )
        };
        match ty {
            Scalar::Bytes => self.test_bytes(val, op, rhs),
            Scalar::Int => match op {
                CmpOp::Eq | CmpOp::Ne | CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
                    let value = int_literal(rhs).ok_or_else(|| {
                        rhs_err(format!("expected an integer after `{}`", op.name()))
                    })?;
                    Ok(self.int_compare(val, op, value, lhs, rhs))
                }
                CmpOp::In => {
                    if let RhsKind::List(name) = &rhs.kind {
                        return self.list(val, name, ListKind::Integer, rhs);
                    }
                    let mut ranges = Vec::new();
                    for item in set_items(rhs) {
                        let range = match &item.kind {
                            RhsKind::Word(w) => parse_int_item(w).ok(),
                            RhsKind::NegInt(v) => Some((*v, *v)),
                            _ => None,
                        };
                        let range = range.ok_or_else(|| {
                            err(
                                ExprErrorKind::Type,
                                item.start,
                                item.end,
                                "expected an integer or a range `a..b`",
                            )
                        })?;
                        ranges.push(range);
                    }
                    Ok(Cond::Test(
                        Box::new(val),
                        Test::InIntegers(Arc::new(Ranges::new(ranges))),
                    ))
                }
                _ => Err(wrong()),
            },
            Scalar::Ip => match op {
                CmpOp::Eq | CmpOp::Ne => {
                    let RhsKind::Word(text) = &rhs.kind else {
                        return Err(rhs_err("expected an IP address".into()));
                    };
                    if text.contains('/') {
                        return Err(err(
                            ExprErrorKind::Address,
                            rhs.start,
                            rhs.end,
                            format!("a CIDR is compared with `in`: ip.src in {{{text}}}"),
                        ));
                    }
                    let ip: IpAddr = text.parse().map_err(|_| {
                        err(
                            ExprErrorKind::Address,
                            rhs.start,
                            rhs.end,
                            format!("`{text}` is not an IP address"),
                        )
                    })?;
                    let ip = ip.to_canonical();
                    let test = if op == CmpOp::Eq {
                        Test::IpEq(ip)
                    } else {
                        Test::IpNe(ip)
                    };
                    Ok(Cond::Test(Box::new(val), test))
                }
                CmpOp::In => {
                    if let RhsKind::List(name) = &rhs.kind {
                        return self.list(val, name, ListKind::Ip, rhs);
                    }
                    let mut ranges = Vec::new();
                    for item in set_items(rhs) {
                        let RhsKind::Word(text) = &item.kind else {
                            return Err(err(
                                ExprErrorKind::Type,
                                item.start,
                                item.end,
                                "expected an address, a CIDR or a range",
                            ));
                        };
                        let range = parse_ip_item(text).map_err(|message| {
                            err(ExprErrorKind::Address, item.start, item.end, message)
                        })?;
                        ranges.push(range);
                    }
                    Ok(Cond::Test(
                        Box::new(val),
                        Test::InIps(Arc::new(IpSet::new(ranges))),
                    ))
                }
                _ => Err(wrong()),
            },
            Scalar::Bool => match (op, &rhs.kind) {
                (CmpOp::Eq | CmpOp::Ne, RhsKind::Word(w)) if w == "true" || w == "false" => {
                    let want = (w == "true") == (op == CmpOp::Eq);
                    Ok(Cond::Test(Box::new(val), Test::BoolEq(want)))
                }
                (CmpOp::Eq | CmpOp::Ne, _) => Err(rhs_err("expected `true` or `false`".into())),
                _ => Err(wrong()),
            },
        }
    }

    fn test_bytes(&mut self, val: Val, op: CmpOp, rhs: &Rhs) -> Result<Cond, ExprError> {
        let string = |rhs| quoted_string(rhs, op);
        match op {
            CmpOp::Eq | CmpOp::Ne => {
                let literal = string(rhs)?.decode()?.into_boxed_slice();
                let (val, fold) = split_fold(val);
                if !fold.can_produce(&literal) {
                    self.note(
                        rhs.start,
                        rhs.end,
                        format!("a {} value never equals this literal", fold_name(fold)),
                    );
                    if op == CmpOp::Eq {
                        return Ok(Cond::Const(false));
                    }
                }
                if op == CmpOp::Eq
                    && let Val::Field(Field::Method) = val
                    && literal.iter().any(u8::is_ascii_lowercase)
                {
                    self.note(
                        rhs.start,
                        rhs.end,
                        "request methods are upper case; this never matches a real client",
                    );
                }
                let test = if op == CmpOp::Eq {
                    Test::BytesEq(literal, fold)
                } else {
                    Test::BytesNe(literal, fold)
                };
                Ok(Cond::Test(Box::new(val), test))
            }
            CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
                let literal = string(rhs)?.decode()?.into_boxed_slice();
                Ok(Cond::Test(Box::new(val), Test::BytesOrder(op, literal)))
            }
            CmpOp::Contains => {
                let literal = string(rhs)?.decode()?;
                let (val, fold) = split_fold(val);
                let finder = Substring::new(&literal, fold, false)
                    .map_err(|message| err(ExprErrorKind::Limit, rhs.start, rhs.end, message))?;
                if matches!(finder, Substring::Never) {
                    self.note(
                        rhs.start,
                        rhs.end,
                        format!("a {} value never contains this literal", fold_name(fold)),
                    );
                    return Ok(Cond::Const(false));
                }
                Ok(Cond::Test(Box::new(val), Test::Contains(finder)))
            }
            CmpOp::Matches => {
                let lit = string(rhs)?;
                // Bytes, not Unicode scalar values: `\xff` is the byte 0xFF and `(?i)` folds ASCII,
                // as in Cloudflare's wirefilter.
                let regex = regex::bytes::RegexBuilder::new(&lit.text)
                    .unicode(false)
                    .size_limit(self.limits.max_regex_size)
                    .dfa_size_limit(self.limits.max_regex_size.saturating_mul(2))
                    .nest_limit(64)
                    .build()
                    .map_err(|e| {
                        let message = match e {
                            regex::Error::CompiledTooBig(limit) => {
                                format!(
                                    "regular expression too large (compiled, over {limit} bytes)"
                                )
                            }
                            other => {
                                let text = other.to_string();
                                let last = text
                                    .lines()
                                    .rfind(|l| !l.trim().is_empty())
                                    .unwrap_or("")
                                    .trim();
                                format!(
                                    "invalid regular expression: {}",
                                    last.trim_start_matches("error: ")
                                )
                            }
                        };
                        err(ExprErrorKind::Regex, rhs.start, rhs.end, message)
                    })?;
                Ok(Cond::Test(Box::new(val), Test::Matches(Box::new(regex))))
            }
            CmpOp::Wildcard | CmpOp::StrictWildcard => {
                let literal = string(rhs)?.decode()?;
                let (val, fold) = split_fold(val);
                let wildcard = Wildcard::new(&literal, op == CmpOp::Wildcard, fold)
                    .map_err(|message| err(ExprErrorKind::Wildcard, rhs.start, rhs.end, message))?;
                Ok(Cond::Test(
                    Box::new(val),
                    Test::Wildcard(Box::new(wildcard)),
                ))
            }
            CmpOp::In => {
                if let RhsKind::List(name) = &rhs.kind {
                    return self.list(val, name, ListKind::String, rhs);
                }
                let mut items = Vec::new();
                for item in set_items(rhs) {
                    let RhsKind::Str(lit) = &item.kind else {
                        return Err(err(
                            ExprErrorKind::Type,
                            item.start,
                            item.end,
                            "expected a quoted string",
                        ));
                    };
                    items.push(lit.decode()?);
                }
                Ok(Cond::Test(
                    Box::new(val),
                    Test::InStrings(Arc::new(StrSet::new(items))),
                ))
            }
        }
    }

    fn list(&mut self, val: Val, name: &str, want: ListKind, rhs: &Rhs) -> Result<Cond, ExprError> {
        let Some(kind) = self.lists.kind(name) else {
            return Err(err(
                ExprErrorKind::UnknownList,
                rhs.start,
                rhs.end,
                format!("unknown list `${name}`"),
            ));
        };
        if kind != want {
            return Err(err(
                ExprErrorKind::Type,
                rhs.start,
                rhs.end,
                format!(
                    "`${name}` is a list of kind `{}`; this comparison needs `{}`",
                    kind.name(),
                    want.name()
                ),
            ));
        }
        let list: Arc<ListValue> = self.lists.get(name).cloned().ok_or_else(|| {
            err(
                ExprErrorKind::UnknownList,
                rhs.start,
                rhs.end,
                format!("unknown list `${name}`"),
            )
        })?;
        Ok(Cond::Test(Box::new(val), Test::InList(list)))
    }

    /// An integer comparison; on `cf.bot_management.score` (always 1 to 99) one that is decided
    /// for every request is folded to a constant and noted.
    fn int_compare(&mut self, val: Val, op: CmpOp, value: i64, lhs: &Ast, rhs: &Rhs) -> Cond {
        if let Val::Field(Field::Score) = val {
            let holds = |score: i64| compare_ord(score.cmp(&value), op);
            let hits = (1..=99).filter(|s| holds(*s)).count();
            if hits == 0 || hits == 99 {
                self.note(
                    lhs.start,
                    rhs.end,
                    format!(
                        "cf.bot_management.score is between 1 and 99, so this is always {}",
                        hits == 99
                    ),
                );
                return Cond::Const(hits == 99);
            }
        }
        Cond::Test(Box::new(val), Test::IntCompare(op, value))
    }
}

fn quoted_string(rhs: &Rhs, op: CmpOp) -> Result<&StrLit, ExprError> {
    match &rhs.kind {
        RhsKind::Str(lit) => Ok(lit),
        _ => Err(err(
            ExprErrorKind::Type,
            rhs.start,
            rhs.end,
            format!("expected a quoted string after `{}`", op.name()),
        )),
    }
}

fn fold_name(fold: Fold) -> &'static str {
    match fold {
        Fold::Lower => "lower()ed",
        Fold::Upper => "upper()ed",
        Fold::None => "plain",
    }
}

/// `lower(x)` → `(x, Lower)`: comparisons that can fold bytes as they go do not build the
/// lowered string.
fn split_fold(val: Val) -> (Val, Fold) {
    match val {
        Val::Lower(inner) => (*inner, Fold::Lower),
        Val::Upper(inner) => (*inner, Fold::Upper),
        other => (other, Fold::None),
    }
}

fn map_each(array: ArrayVal, f: impl FnOnce(Val) -> Val) -> ArrayVal {
    let element = array.each.unwrap_or(Val::Element);
    ArrayVal {
        source: array.source,
        each: Some(f(element)),
    }
}

fn set_items(rhs: &Rhs) -> &[Rhs] {
    match &rhs.kind {
        RhsKind::Set(items) => items,
        // `ip.src in 192.0.2.0/24` (no braces) appears in Cloudflare's own examples.
        _ => std::slice::from_ref(rhs),
    }
}

fn int_literal(rhs: &Rhs) -> Option<i64> {
    match &rhs.kind {
        RhsKind::Word(w) if w.bytes().all(|b| b.is_ascii_digit()) => w.parse().ok(),
        RhsKind::NegInt(v) => Some(*v),
        _ => None,
    }
}

pub(crate) fn compare_ord(ordering: std::cmp::Ordering, op: CmpOp) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        CmpOp::Eq => ordering == Equal,
        CmpOp::Ne => ordering != Equal,
        CmpOp::Lt => ordering == Less,
        CmpOp::Le => ordering != Greater,
        CmpOp::Gt => ordering == Greater,
        CmpOp::Ge => ordering != Less,
        _ => false,
    }
}
