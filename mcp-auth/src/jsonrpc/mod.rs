//! A strict, allocation-light look at a JSON-RPC body: what the MCP layer must know before it
//! lets a POST through, read without building a document tree and without changing a byte.
//!
//! ```
//! use mcp_auth::jsonrpc::{peek, CallKind, PeekLimits};
//!
//! let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call",
//!                 "params":{"name":"order.status","arguments":{"order":"A-1"}}}"#;
//! let message = peek(body, &PeekLimits::default())?;
//! let call = &message.calls()[0];
//! assert_eq!(call.kind(), CallKind::Request);
//! assert_eq!(call.method(), Some("tools/call"));
//! assert_eq!(call.target(), Some("order.status"));
//! assert_eq!(call.id().map(|id| id.as_json()), Some("7"));
//! # Ok::<(), mcp_auth::jsonrpc::PeekError>(())
//! ```
//!
//! # What is read, and how strictly
//!
//! [`peek`] reads one message (an object) or a batch (a non-empty array of objects). For each
//! message it keeps the `method`, the `id` as its raw JSON text (so an error response echoes it
//! byte for byte), the [`CallKind`] and, for `tools/call` and `prompts/get`, `params.name`, for
//! `resources/read`, `params.uri`: the call's *target*. Everything else is skipped, but still
//! validated as JSON and counted for depth, so a body the peeker accepts is a body any JSON
//! parser accepts.
//!
//! The peeker is deliberately stricter than most JSON-RPC servers, because an authorization
//! decision made on one reading of the body and a tool run on another is a bypass:
//!
//! - a member the peeker reads (`jsonrpc`, `method`, `id`, `params`, `result`, `error`, and
//!   `params.name`, `params.uri`) may appear only once: parsers disagree on which duplicate wins.
//!   Keys are compared decoded, so `"na\u006de"` is `name`;
//! - `jsonrpc` must be `"2.0"`; `method` a string; `id` a string or a number (MCP forbids a
//!   `null` id in a request; a response may carry `null`); `params`, when present, an object or
//!   an array (`null` is read as absent);
//! - a request or notification has a `method`; a response has exactly one of `result` and
//!   `error`, an `id`, and no `method`;
//! - `tools/call` and `prompts/get` need a string `params.name`, `resources/read` a string
//!   `params.uri` ([`PeekError::MissingTarget`], [`PeekError::TargetNotString`], code
//!   `-32602`);
//! - nesting deeper than [`PeekLimits::max_depth`] (default 64) and batches longer than
//!   [`PeekLimits::max_batch`] (default 100) are refused; invalid JSON, invalid UTF-8, lone
//!   surrogates, numbers out of range and trailing bytes are parse errors (`-32700`).
//!
//! MCP removed JSON-RPC batches in its 2025-06-18 revision; a server that speaks only later
//! revisions can refuse every batch with `PeekLimits::default().with_max_batch(0)`.
//!
//! # Answering with an error
//!
//! [`error_response`] writes one JSON-RPC error object echoing an id. For a whole [`Message`],
//! [`error_response_for`] follows JSON-RPC 2.0 §6: a single message gets one error object
//! (with its id, or `null` for a notification or a response); a batch gets an array with one
//! error object per request in it, since a refusal of the batch refuses each of its requests;
//! a batch holding only notifications and responses gets a single error object with a `null`
//! id (MCP lets an HTTP error carry "a JSON-RPC error response that has no id").
//!
//! # `Mcp-Method` and `Mcp-Name`
//!
//! [`check_headers`] and [`check_message_headers`] compare the MCP 2026-07-28 mirror headers to
//! the body (error [`HEADER_MISMATCH`], `-32020`); see their docs for the rules.

mod headers;
mod peek;
mod response;

pub use headers::{HeaderMismatch, check_headers, check_message_headers};
pub use peek::{DEPTH_CEILING, peek};
pub use response::{error_response, error_response_for};

use std::fmt;

/// JSON-RPC 2.0: invalid JSON was received.
pub const PARSE_ERROR: i32 = -32700;
/// JSON-RPC 2.0: the JSON sent is not a valid request object.
pub const INVALID_REQUEST: i32 = -32600;
/// JSON-RPC 2.0: the method does not exist or is not available.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// JSON-RPC 2.0: invalid method parameters (MCP: also an unknown tool).
pub const INVALID_PARAMS: i32 = -32602;
/// MCP 2026-07-28: the `Mcp-Method` / `Mcp-Name` headers do not match the body.
pub const HEADER_MISMATCH: i32 = -32020;

/// Caps applied by [`peek`]. Cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeekLimits {
    max_depth: usize,
    max_batch: usize,
}

impl Default for PeekLimits {
    /// Depth 64, batches of at most 100 messages.
    fn default() -> PeekLimits {
        PeekLimits {
            max_depth: 64,
            max_batch: 100,
        }
    }
}

impl PeekLimits {
    /// Sets the deepest nesting of arrays and objects accepted, the top-level value counting as
    /// depth 1. Values above [`DEPTH_CEILING`] are lowered to it (`serde_json` refuses deeper
    /// documents itself); 0 refuses every body.
    pub fn with_max_depth(self, max_depth: usize) -> PeekLimits {
        PeekLimits {
            max_depth: max_depth.min(DEPTH_CEILING),
            ..self
        }
    }

    /// Sets the most messages a batch may hold; 0 refuses every batch.
    pub fn with_max_batch(self, max_batch: usize) -> PeekLimits {
        PeekLimits { max_batch, ..self }
    }

    /// The deepest nesting accepted.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// The most messages in a batch.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }
}

/// What a body held: one message or a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A single JSON-RPC object.
    Single(Call),
    /// A JSON-RPC batch: a non-empty array of objects, in order.
    Batch(Vec<Call>),
}

impl Message {
    /// The calls, in body order (one for a single message).
    pub fn calls(&self) -> &[Call] {
        match self {
            Message::Single(call) => std::slice::from_ref(call),
            Message::Batch(calls) => calls,
        }
    }

    /// Whether the body was a batch (even of one message).
    pub fn is_batch(&self) -> bool {
        matches!(self, Message::Batch(_))
    }
}

/// What a JSON-RPC message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// A `method` and an `id`: the server answers.
    Request,
    /// A `method` without an `id`: no answer.
    Notification,
    /// A `result` or an `error` without a `method`: a client answering a server's request.
    Response,
}

/// One JSON-RPC message as the peeker saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    kind: CallKind,
    method: Option<Box<str>>,
    id: Option<RequestId>,
    target: Option<Box<str>>,
}

impl Call {
    /// Request, notification or response.
    pub fn kind(&self) -> CallKind {
        self.kind
    }

    /// The decoded `method` (`None` for a response).
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// The `id`, as raw JSON (`None` for a notification).
    pub fn id(&self) -> Option<&RequestId> {
        self.id.as_ref()
    }

    /// The decoded `params.name` of `tools/call` and `prompts/get`, `params.uri` of
    /// `resources/read`; `None` for every other method. Always present for those three methods.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// The tool name, for a `tools/call`.
    pub fn tool_name(&self) -> Option<&str> {
        if self.method() == Some("tools/call") {
            self.target()
        } else {
            None
        }
    }
}

/// A JSON-RPC `id` kept as the JSON text the client sent (`7`, `"a\u0062c"`, `null`), so that an
/// answer echoes it exactly.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Box<str>);

impl RequestId {
    /// The raw JSON text of the id.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// Whether the id is a JSON string.
    pub fn is_string(&self) -> bool {
        self.0.starts_with('"')
    }

    /// Whether the id is `null` (allowed in a response only).
    pub fn is_null(&self) -> bool {
        &*self.0 == "null"
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", self.0)
    }
}

impl fmt::Display for RequestId {
    /// The raw JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A place in a document: 1-based line and column (columns count bytes, as `serde_json` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a body was refused. Each variant knows its JSON-RPC error [`code`](PeekError::code) and
/// where in the body the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeekError {
    /// Not JSON: bad syntax, invalid UTF-8, an unpaired surrogate escape, a number out of range,
    /// trailing bytes, or an unexpected end. `-32700`.
    #[error("invalid JSON at {at}: {detail}")]
    Syntax {
        /// What is wrong (in `serde_json`'s words where it had the last say).
        detail: Box<str>,
        /// Where.
        at: Position,
    },
    /// Arrays and objects nested deeper than the limit. `-32600`.
    #[error("nesting deeper than {max} at {at}")]
    TooDeep {
        /// The limit.
        max: usize,
        /// Where.
        at: Position,
    },
    /// The body, or an element of a batch, is not a JSON object. `-32600`.
    #[error("expected a JSON-RPC object at {at}")]
    NotAnObject {
        /// Where.
        at: Position,
    },
    /// `[]`. `-32600`.
    #[error("empty batch at {at}")]
    EmptyBatch {
        /// Where.
        at: Position,
    },
    /// A batch longer than the limit. `-32600`.
    #[error("batch longer than {max} messages at {at}")]
    BatchTooLarge {
        /// The limit.
        max: usize,
        /// Where.
        at: Position,
    },
    /// A member the peeker reads appears twice in one object. `-32600`.
    #[error("duplicate member `{member}` at {at}")]
    DuplicateMember {
        /// `method`, `id`, `params.name`, …
        member: &'static str,
        /// Where (the second occurrence).
        at: Position,
    },
    /// `jsonrpc` is missing or not `"2.0"`. `-32600`.
    #[error("`jsonrpc` must be \"2.0\" at {at}")]
    BadVersion {
        /// Where.
        at: Position,
    },
    /// `method` is not a string. `-32600`.
    #[error("`method` is not a string at {at}")]
    MethodNotString {
        /// Where.
        at: Position,
    },
    /// `id` is not a string or a number (or `null`, in a request). `-32600`.
    #[error("`id` must be a string or a number at {at}")]
    BadId {
        /// Where.
        at: Position,
    },
    /// `params` is a string, a number or a boolean. `-32600`.
    #[error("`params` must be an object or an array at {at}")]
    ParamsNotStructured {
        /// Where.
        at: Position,
    },
    /// Neither a `method` nor a `result`/`error`. `-32600`.
    #[error("neither `method` nor `result`/`error` at {at}")]
    MissingMethod {
        /// Where.
        at: Position,
    },
    /// Not clearly a request or a response: `method` with `result`/`error`, both `result` and
    /// `error`, or a response without an `id`. `-32600`.
    #[error("not a valid request or response ({problem}) at {at}")]
    Ambiguous {
        /// What is wrong.
        problem: &'static str,
        /// Where.
        at: Position,
    },
    /// `tools/call`/`prompts/get` without `params.name`, `resources/read` without `params.uri`.
    /// `-32602`.
    #[error("`{method}` needs `params.{member}` at {at}")]
    MissingTarget {
        /// The method.
        method: &'static str,
        /// `name` or `uri`.
        member: &'static str,
        /// Where.
        at: Position,
    },
    /// That member is present but not a string. `-32602`.
    #[error("`params.{member}` of `{method}` is not a string at {at}")]
    TargetNotString {
        /// The method.
        method: &'static str,
        /// `name` or `uri`.
        member: &'static str,
        /// Where.
        at: Position,
    },
}

impl PeekError {
    /// The JSON-RPC error code to answer with: [`PARSE_ERROR`], [`INVALID_REQUEST`] or
    /// [`INVALID_PARAMS`].
    pub fn code(&self) -> i32 {
        match self {
            PeekError::Syntax { .. } => PARSE_ERROR,
            PeekError::MissingTarget { .. } | PeekError::TargetNotString { .. } => INVALID_PARAMS,
            _ => INVALID_REQUEST,
        }
    }

    /// Where in the body the problem was found.
    pub fn position(&self) -> Position {
        match self {
            PeekError::Syntax { at, .. }
            | PeekError::TooDeep { at, .. }
            | PeekError::NotAnObject { at }
            | PeekError::EmptyBatch { at }
            | PeekError::BatchTooLarge { at, .. }
            | PeekError::DuplicateMember { at, .. }
            | PeekError::BadVersion { at }
            | PeekError::MethodNotString { at }
            | PeekError::BadId { at }
            | PeekError::ParamsNotStructured { at }
            | PeekError::MissingMethod { at }
            | PeekError::Ambiguous { at, .. }
            | PeekError::MissingTarget { at, .. }
            | PeekError::TargetNotString { at, .. } => *at,
        }
    }

    /// The standard message for [`code`](PeekError::code) (`"Parse error"`, `"Invalid
    /// Request"`, `"Invalid params"`): what to put in an error response, which should not echo
    /// the details to the network.
    pub fn public_message(&self) -> &'static str {
        match self.code() {
            PARSE_ERROR => "Parse error",
            INVALID_PARAMS => "Invalid params",
            _ => "Invalid Request",
        }
    }
}
