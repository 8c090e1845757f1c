//! Why a tool map was refused, and where.

use std::fmt;

use crate::jsonrpc::Position;

/// A tool map that cannot be built: what is wrong ([`kind`](ToolMapError::kind)), where in the
/// map ([`path`](ToolMapError::path), e.g. `tools."order.intent".oauth[1]`) and, for a map read
/// from TOML or JSON, the line and column ([`position`](ToolMapError::position)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolMapError {
    kind: ToolMapErrorKind,
    segments: Vec<Segment>,
    position: Option<Position>,
}

/// What is wrong with a tool map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolMapErrorKind {
    /// The TOML or JSON text does not parse, or does not have the map's shape: a syntax error,
    /// a value of the wrong type, an unknown key, a key given twice.
    #[error("{message}")]
    Syntax {
        /// What the parser said.
        message: String,
    },
    /// A requirement that accepts no mode at all.
    #[error("no authentication mode accepted (give anonymous, api_token or oauth)")]
    NoModes,
    /// `anonymous` with scopes: an anonymous caller has none to show.
    #[error("anonymous calls cannot require scopes")]
    AnonymousWithScopes,
    /// A scope outside RFC 6749's `scope-token` syntax.
    #[error("invalid scope {scope:?}")]
    InvalidScope {
        /// The scope.
        scope: String,
    },
    /// Scope implications that loop.
    #[error("scope implications form a cycle through {scope:?}")]
    ScopeCycle {
        /// A scope on the cycle.
        scope: String,
    },
    /// A rate-limit class name that is not 1 to 64 bytes of `a-z 0-9 _ - . :`.
    #[error("invalid rate-limit class {name:?}")]
    InvalidClass {
        /// The name.
        name: String,
    },
    /// A tool name that is empty or longer than 128 bytes.
    #[error("invalid tool name {name:?}: 1 to 128 bytes")]
    InvalidToolName {
        /// The name.
        name: String,
    },
    /// A method that is empty, longer than 128 bytes, or has a `*` anywhere but in a final
    /// `/*` after a non-empty prefix.
    #[error("invalid method {method:?}: 1 to 128 bytes, `*` only as a final `/*`")]
    InvalidMethod {
        /// The method.
        method: String,
    },
    /// `tools/call` under `methods`: tool calls are looked up by tool, under `tools`.
    #[error("`tools/call` is configured per tool, under `tools`")]
    ToolsCallAsMethod,
    /// The same tool declared twice.
    #[error("tool {name:?} declared twice")]
    DuplicateTool {
        /// The tool.
        name: String,
    },
    /// The same method or pattern declared twice.
    #[error("method {method:?} declared twice")]
    DuplicateMethod {
        /// The method.
        method: String,
    },
}

/// One step of a path into the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

impl Segment {
    pub(crate) fn key(key: &str) -> Segment {
        Segment::Key(key.to_owned())
    }
}

impl ToolMapError {
    pub(crate) fn at(kind: ToolMapErrorKind, segments: Vec<Segment>) -> ToolMapError {
        ToolMapError {
            kind,
            segments,
            position: None,
        }
    }

    pub(crate) fn syntax(message: String, position: Option<Position>) -> ToolMapError {
        ToolMapError {
            kind: ToolMapErrorKind::Syntax { message },
            segments: Vec::new(),
            position,
        }
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub(crate) fn with_position(mut self, position: Option<Position>) -> ToolMapError {
        self.position = position;
        self
    }

    /// What is wrong.
    pub fn kind(&self) -> &ToolMapErrorKind {
        &self.kind
    }

    /// Where in the map, as dotted keys with TOML quoting (`tools."order.intent".class`);
    /// empty for a syntax error.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
                Segment::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    let bare = !key.is_empty()
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                    if bare {
                        out.push_str(key);
                    } else {
                        out.push_str(&format!("{key:?}"));
                    }
                }
            }
        }
        out
    }

    /// Line and column in the TOML or JSON text, when the map was read from one and the place
    /// could be found.
    pub fn position(&self) -> Option<Position> {
        self.position
    }
}

impl fmt::Display for ToolMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = self.position {
            write!(f, "{at}: ")?;
        }
        let path = self.path();
        if !path.is_empty() {
            write!(f, "{path}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for ToolMapError {}

/// 1-based line and column (in characters) of byte `offset` in `src`.
pub(crate) fn line_col(src: &str, offset: usize) -> Position {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = src.get(..offset).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before.get(line_start..).unwrap_or("").chars().count() + 1,
    }
}
