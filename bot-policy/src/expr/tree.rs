//! The compiled form of an expression: a tree of conditions over values, with every literal
//! already turned into the matcher that tests it.

use std::net::IpAddr;
use std::sync::Arc;

use super::fields::Field;
use super::matchers::{Fold, IpSet, Ranges, StrSet, Substring, Wildcard};
use super::parse::CmpOp;

/// A boolean condition.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Const(bool),
    And(Box<[Cond]>),
    Or(Box<[Cond]>),
    Xor(Box<[Cond]>),
    Not(Box<Cond>),
    /// A boolean value (a boolean field, `any(…)`, `starts_with(…)`…).
    Value(Box<Val>),
    /// A comparison of a value with a literal.
    Test(Box<Val>, Test),
    /// A comparison of a field with a literal (the common case, one indirection less).
    FieldTest(Field, Test),
    Any(Box<ArrayVal>),
    All(Box<ArrayVal>),
}

/// A value.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Field(Field),
    /// The current element, inside an array's per-element expression.
    Element,
    /// Element `n` of an array.
    At(Box<ArrayVal>, usize),
    Lower(Box<Val>),
    Upper(Box<Val>),
    Len(Box<Val>),
    Count(Box<ArrayVal>),
    Concat(Box<[Val]>),
    Bytes(Box<[u8]>),
    Int(i64),
    Bool(bool),
    Cond(Box<Cond>),
}

/// An array: where its elements come from and, when a function or comparison was applied to each
/// (`[*]`), the expression computed per element.
#[derive(Debug, Clone)]
pub(crate) struct ArrayVal {
    pub source: Source,
    pub each: Option<Val>,
}

#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// `http.request.headers["name"]`; missing when the request has no such field.
    Values(Box<str>),
    /// `http.request.headers.names`
    Names,
    /// `http.request.headers.values`
    AllValues,
}

/// What a comparison checks, the literal already compiled.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    BytesEq(Box<[u8]>, Fold),
    BytesNe(Box<[u8]>, Fold),
    BytesOrder(CmpOp, Box<[u8]>),
    StartsWith(Box<[u8]>, Fold),
    EndsWith(Box<[u8]>, Fold),
    Contains(Substring),
    Matches(Box<regex::bytes::Regex>),
    Wildcard(Box<Wildcard>),
    InStrings(Arc<StrSet>),
    IntCompare(CmpOp, i64),
    InIntegers(Arc<Ranges<i64>>),
    IpEq(IpAddr),
    IpNe(IpAddr),
    InIps(Arc<IpSet>),
    BoolEq(bool),
    /// A set shared with a named list.
    InList(Arc<crate::lists::ListValue>),
}
