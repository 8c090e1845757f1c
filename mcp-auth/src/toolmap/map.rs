//! The map itself, its builder, and the lookups the layer makes on every request.

use std::collections::{BTreeSet, HashMap};

use foldhash::fast::RandomState;

use crate::jsonrpc::{Call, CallKind, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND};
use crate::scope::{Scope, ScopeError, ScopeHierarchy, Scopes};

use super::error::{Segment, ToolMapError, ToolMapErrorKind};
use super::requirement::{Require, ToolRequirement};

/// The longest tool name or method accepted, in bytes (MCP's tool-name limit).
pub const MAX_NAME_LEN: usize = 128;

/// Methods that [`ToolMapBuilder::with_mcp_defaults`] makes anonymous.
const DEFAULT_ANONYMOUS_METHODS: [&str; 4] =
    ["initialize", "ping", "tools/list", "notifications/*"];

/// Why a call has no requirement: it is not in the map, so it is refused (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unlisted {
    /// A `tools/call` for a tool the map does not list.
    #[error("unknown tool")]
    UnknownTool,
    /// A method the map does not list.
    #[error("unknown method")]
    UnknownMethod,
    /// A JSON-RPC response from the client, and the map accepts none.
    #[error("client responses are not accepted")]
    Response,
    /// A GET (the server-to-client SSE stream), and the map has no requirement for it.
    #[error("GET is not served")]
    Get,
    /// A DELETE (session termination), and the map has no requirement for it.
    #[error("DELETE is not served")]
    Delete,
}

impl Unlisted {
    /// The JSON-RPC error code to answer a POST with: [`INVALID_PARAMS`] for an unknown tool
    /// (as MCP specifies), [`METHOD_NOT_FOUND`] for an unknown method, [`INVALID_REQUEST`] for
    /// a refused response. GET and DELETE have no JSON-RPC answer (HTTP 405): they give
    /// [`METHOD_NOT_FOUND`].
    pub fn code(&self) -> i32 {
        match self {
            Unlisted::UnknownTool => INVALID_PARAMS,
            Unlisted::Response => INVALID_REQUEST,
            Unlisted::UnknownMethod | Unlisted::Get | Unlisted::Delete => METHOD_NOT_FOUND,
        }
    }
}

/// The single source of truth for what each MCP call needs: per tool, per method, for client
/// responses, and for GET and DELETE. Built and checked once ([`ToolMap::builder`],
/// [`ToolMap::from_toml_str`], [`ToolMap::from_json_str`]); looked up on every request without
/// allocating. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct ToolMap {
    tools: HashMap<Box<str>, ToolRequirement, RandomState>,
    methods: HashMap<Box<str>, ToolRequirement, RandomState>,
    /// `(prefix ending in '/', requirement)`, longest prefix first.
    method_prefixes: Vec<(Box<str>, ToolRequirement)>,
    responses: Option<ToolRequirement>,
    get: Option<ToolRequirement>,
    delete: Option<ToolRequirement>,
    hierarchy: ScopeHierarchy,
}

impl ToolMap {
    /// An empty builder: nothing is allowed until listed.
    pub fn builder() -> ToolMapBuilder {
        ToolMapBuilder::default()
    }

    /// The requirement of one JSON-RPC call: its tool's for `tools/call`, the map's
    /// `responses` for a client response, else its method's (exact name first, then the
    /// longest matching `prefix/*` pattern).
    pub fn requirement_for(&self, call: &Call) -> Result<&ToolRequirement, Unlisted> {
        match (call.kind(), call.method()) {
            (CallKind::Response, _) | (_, None) => self.requirement_for_response(),
            (_, Some("tools/call")) => self.requirement_for_tool(call.target().unwrap_or("")),
            (_, Some(method)) => self.requirement_for_method(method),
        }
    }

    /// The requirement of a `tools/call` of `tool`.
    pub fn requirement_for_tool(&self, tool: &str) -> Result<&ToolRequirement, Unlisted> {
        self.tools.get(tool).ok_or(Unlisted::UnknownTool)
    }

    /// The requirement of a method other than `tools/call` (for which the answer is
    /// [`Unlisted::UnknownTool`]: tool calls are looked up by tool).
    pub fn requirement_for_method(&self, method: &str) -> Result<&ToolRequirement, Unlisted> {
        if method == "tools/call" {
            return Err(Unlisted::UnknownTool);
        }
        if let Some(found) = self.methods.get(method) {
            return Ok(found);
        }
        self.method_prefixes
            .iter()
            .find(|(prefix, _)| method.starts_with(&**prefix))
            .map(|(_, requirement)| requirement)
            .ok_or(Unlisted::UnknownMethod)
    }

    /// The requirement of a JSON-RPC response sent by the client.
    pub fn requirement_for_response(&self) -> Result<&ToolRequirement, Unlisted> {
        self.responses.as_ref().ok_or(Unlisted::Response)
    }

    /// The requirement of a GET (the SSE stream).
    pub fn requirement_for_get(&self) -> Result<&ToolRequirement, Unlisted> {
        self.get.as_ref().ok_or(Unlisted::Get)
    }

    /// The requirement of a DELETE (session termination).
    pub fn requirement_for_delete(&self) -> Result<&ToolRequirement, Unlisted> {
        self.delete.as_ref().ok_or(Unlisted::Delete)
    }

    /// The scope implications every scope check of this map uses.
    pub fn hierarchy(&self) -> &ScopeHierarchy {
        &self.hierarchy
    }

    /// Every listed tool and its requirement, in no particular order.
    pub fn tools(&self) -> impl Iterator<Item = (&str, &ToolRequirement)> {
        self.tools.iter().map(|(name, req)| (&**name, req))
    }

    /// Every scope any requirement names: the `scopes_supported` of the protected resource
    /// metadata.
    pub fn scopes_supported(&self) -> Scopes {
        let requirements = self
            .tools
            .values()
            .chain(self.methods.values())
            .chain(self.method_prefixes.iter().map(|(_, r)| r))
            .chain(self.responses.iter())
            .chain(self.get.iter())
            .chain(self.delete.iter());
        let mut all = BTreeSet::new();
        for requirement in requirements {
            all.extend(requirement.all_scopes().iter().map(Scope::as_str));
        }
        // Every scope here was validated already.
        Scopes::from_strs(all).unwrap_or_default()
    }
}

/// Declares a [`ToolMap`]; [`build`](ToolMapBuilder::build) checks everything at once.
#[derive(Debug, Clone, Default)]
pub struct ToolMapBuilder {
    mcp_defaults: bool,
    implies: Vec<(String, Vec<String>)>,
    tools: Vec<(String, Require)>,
    methods: Vec<(String, Require)>,
    responses: Option<Require>,
    get: Option<Require>,
    delete: Option<Require>,
}

impl ToolMapBuilder {
    /// Makes `initialize`, `ping`, `tools/list`, every `notifications/…` and client responses
    /// anonymous (class `read`), unless declared otherwise (a declaration replaces its default).
    ///
    /// Anonymous `initialize` and `tools/list` let any client connect and see the tools;
    /// authentication is then asked for by the first tool call that needs it (a 401 with a
    /// `WWW-Authenticate` challenge). Many clients, though, start OAuth only when `initialize`
    /// itself gets a 401: for a server whose tools all need a token, declare `initialize` (and
    /// perhaps `tools/list`) with that requirement instead, so those clients sign in at once.
    /// Resource, prompt, completion and logging methods are not among the defaults: list those
    /// the server offers.
    pub fn with_mcp_defaults(mut self) -> ToolMapBuilder {
        self.mcp_defaults = true;
        self
    }

    /// Declares that granting `granted` also grants each of `implied` (transitively; a cycle is
    /// an error at build). Calls add up.
    pub fn scope_implies<I, S>(mut self, granted: &str, implied: I) -> ToolMapBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.implies.push((
            granted.to_owned(),
            implied.into_iter().map(|s| s.as_ref().to_owned()).collect(),
        ));
        self
    }

    /// The requirement of `tools/call` for `name`.
    pub fn tool(mut self, name: &str, require: Require) -> ToolMapBuilder {
        self.tools.push((name.to_owned(), require));
        self
    }

    /// The requirement of a method (not `tools/call`), or of every method under a prefix with
    /// a final `/*` (`notifications/*`).
    pub fn method(mut self, method: &str, require: Require) -> ToolMapBuilder {
        self.methods.push((method.to_owned(), require));
        self
    }

    /// The requirement of JSON-RPC responses sent by the client (answers to the server's
    /// sampling, elicitation or roots requests).
    pub fn responses(mut self, require: Require) -> ToolMapBuilder {
        self.responses = Some(require);
        self
    }

    /// The requirement of a GET (the server-to-client SSE stream). Without one, GET is refused.
    pub fn get(mut self, require: Require) -> ToolMapBuilder {
        self.get = Some(require);
        self
    }

    /// The requirement of a DELETE (session termination). Without one, DELETE is refused.
    pub fn delete(mut self, require: Require) -> ToolMapBuilder {
        self.delete = Some(require);
        self
    }

    /// Checks every declaration and builds the map.
    pub fn build(self) -> Result<ToolMap, ToolMapError> {
        let hierarchy = build_hierarchy(&self.implies)?;

        let mut tools = HashMap::with_capacity_and_hasher(self.tools.len(), RandomState::default());
        for (name, require) in &self.tools {
            let path = [Segment::key("tools"), Segment::key(name)];
            if name.is_empty() || name.len() > MAX_NAME_LEN {
                return Err(ToolMapError::at(
                    ToolMapErrorKind::InvalidToolName { name: name.clone() },
                    path.to_vec(),
                ));
            }
            let requirement = require.check(&path)?;
            if tools
                .insert(Box::from(name.as_str()), requirement)
                .is_some()
            {
                return Err(ToolMapError::at(
                    ToolMapErrorKind::DuplicateTool { name: name.clone() },
                    path.to_vec(),
                ));
            }
        }

        let mut methods = HashMap::with_hasher(RandomState::default());
        let mut method_prefixes: Vec<(Box<str>, ToolRequirement)> = Vec::new();
        let mut declared = BTreeSet::new();
        for (method, require) in &self.methods {
            let path = [Segment::key("methods"), Segment::key(method)];
            let prefix =
                method_prefix(method).map_err(|kind| ToolMapError::at(kind, path.to_vec()))?;
            let requirement = require.check(&path)?;
            if !declared.insert(method.as_str()) {
                return Err(ToolMapError::at(
                    ToolMapErrorKind::DuplicateMethod {
                        method: method.clone(),
                    },
                    path.to_vec(),
                ));
            }
            match prefix {
                Some(prefix) => method_prefixes.push((prefix.into(), requirement)),
                None => {
                    methods.insert(Box::from(method.as_str()), requirement);
                }
            }
        }

        let mut responses = self
            .responses
            .as_ref()
            .map(|r| r.check(&[Segment::key("responses")]))
            .transpose()?;
        if self.mcp_defaults {
            let anonymous = ToolRequirement::try_from(Require::anonymous())?;
            for method in DEFAULT_ANONYMOUS_METHODS {
                if declared.contains(method) {
                    continue;
                }
                match method_prefix(method) {
                    Ok(Some(prefix)) => method_prefixes.push((prefix.into(), anonymous.clone())),
                    _ => {
                        methods.insert(Box::from(method), anonymous.clone());
                    }
                }
            }
            responses.get_or_insert(anonymous);
        }
        method_prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));

        let get = self
            .get
            .as_ref()
            .map(|r| r.check(&[Segment::key("get")]))
            .transpose()?;
        let delete = self
            .delete
            .as_ref()
            .map(|r| r.check(&[Segment::key("delete")]))
            .transpose()?;
        Ok(ToolMap {
            tools,
            methods,
            method_prefixes,
            responses,
            get,
            delete,
            hierarchy,
        })
    }
}

/// Checks a method or pattern; `Some(prefix)` (ending in `/`) for a `prefix/*` pattern.
fn method_prefix(method: &str) -> Result<Option<&str>, ToolMapErrorKind> {
    let invalid = || ToolMapErrorKind::InvalidMethod {
        method: method.to_owned(),
    };
    if method.is_empty() || method.len() > MAX_NAME_LEN {
        return Err(invalid());
    }
    if method == "tools/call" {
        return Err(ToolMapErrorKind::ToolsCallAsMethod);
    }
    match method.strip_suffix('*') {
        None if !method.contains('*') => Ok(None),
        Some(prefix) if prefix.len() > 1 && prefix.ends_with('/') && !prefix.contains('*') => {
            Ok(Some(prefix))
        }
        _ => Err(invalid()),
    }
}

fn build_hierarchy(implies: &[(String, Vec<String>)]) -> Result<ScopeHierarchy, ToolMapError> {
    let mut pairs = Vec::new();
    for (granted, implied) in implies {
        let path = |more: Option<usize>| {
            let mut path = vec![
                Segment::key("scopes"),
                Segment::key("implies"),
                Segment::key(granted),
            ];
            path.extend(more.map(Segment::Index));
            path
        };
        if Scope::new(granted).is_err() {
            return Err(ToolMapError::at(
                ToolMapErrorKind::InvalidScope {
                    scope: granted.clone(),
                },
                path(None),
            ));
        }
        for (index, scope) in implied.iter().enumerate() {
            if Scope::new(scope).is_err() {
                return Err(ToolMapError::at(
                    ToolMapErrorKind::InvalidScope {
                        scope: scope.clone(),
                    },
                    path(Some(index)),
                ));
            }
            pairs.push((granted.as_str(), scope.as_str()));
        }
    }
    ScopeHierarchy::new(pairs).map_err(|err| {
        let scope = match err {
            ScopeError::Cycle { scope } | ScopeError::Invalid { scope, .. } => scope,
        };
        let path = vec![
            Segment::key("scopes"),
            Segment::key("implies"),
            Segment::Key(scope.clone()),
        ];
        ToolMapError::at(ToolMapErrorKind::ScopeCycle { scope }, path)
    })
}
