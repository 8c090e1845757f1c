//! The TOML and JSON forms of a tool map.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::jsonrpc::Position;

use super::error::{Segment, ToolMapError, line_col};
use super::map::{ToolMap, ToolMapBuilder};
use super::requirement::Require;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    mcp_defaults: bool,
    #[serde(default)]
    scopes: ScopesFile,
    #[serde(default)]
    tools: Entries<RequireFile>,
    #[serde(default)]
    methods: Entries<RequireFile>,
    responses: Option<RequireFile>,
    get: Option<RequireFile>,
    delete: Option<RequireFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScopesFile {
    #[serde(default)]
    implies: Entries<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequireFile {
    anonymous: Option<Anonymous>,
    api_token: Option<Vec<String>>,
    oauth: Option<Vec<String>>,
    class: Option<String>,
}

impl From<RequireFile> for Require {
    fn from(file: RequireFile) -> Require {
        Require {
            anonymous: match file.anonymous {
                None | Some(Anonymous::Flag(false)) => None,
                Some(Anonymous::Flag(true)) => Some(Vec::new()),
                Some(Anonymous::Scopes(scopes)) => Some(scopes),
            },
            api_token: file.api_token,
            oauth: file.oauth,
            class: file.class,
        }
    }
}

/// `anonymous = true`, or a list (which must be empty: checked when built, so that the error
/// says why).
enum Anonymous {
    Flag(bool),
    Scopes(Vec<String>),
}

impl<'de> Deserialize<'de> for Anonymous {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Anonymous, D::Error> {
        struct AnonymousVisitor;

        impl<'de> Visitor<'de> for AnonymousVisitor {
            type Value = Anonymous;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or an empty list")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Anonymous, E> {
                Ok(Anonymous::Flag(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Anonymous, A::Error> {
                let mut scopes = Vec::new();
                while let Some(scope) = seq.next_element::<String>()? {
                    scopes.push(scope);
                }
                Ok(Anonymous::Scopes(scopes))
            }
        }

        deserializer.deserialize_any(AnonymousVisitor)
    }
}

/// A table read in order, refusing a key given twice (TOML refuses those itself; JSON
/// parsers usually keep the last one silently).
struct Entries<T>(Vec<(String, T)>);

impl<T> Default for Entries<T> {
    fn default() -> Entries<T> {
        Entries(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries<T>, D::Error> {
        struct EntriesVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for EntriesVisitor<T> {
            type Value = Entries<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<T>, A::Error> {
                let mut entries: Vec<(String, T)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
                    }
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

impl MapFile {
    fn into_builder(self) -> ToolMapBuilder {
        let mut builder = ToolMap::builder();
        if self.mcp_defaults {
            builder = builder.with_mcp_defaults();
        }
        for (granted, implied) in self.scopes.implies.0 {
            builder = builder.scope_implies(&granted, implied);
        }
        for (name, require) in self.tools.0 {
            builder = builder.tool(&name, require.into());
        }
        for (method, require) in self.methods.0 {
            builder = builder.method(&method, require.into());
        }
        if let Some(require) = self.responses {
            builder = builder.responses(require.into());
        }
        if let Some(require) = self.get {
            builder = builder.get(require.into());
        }
        if let Some(require) = self.delete {
            builder = builder.delete(require.into());
        }
        builder
    }
}

impl ToolMap {
    /// Reads and checks a map in TOML (format in the [module docs](super)). Errors carry the
    /// line and column of the offending value.
    pub fn from_toml_str(src: &str) -> Result<ToolMap, ToolMapError> {
        let file: MapFile = toml::from_str(src).map_err(|err| {
            let position = err.span().map(|span| line_col(src, span.start));
            ToolMapError::syntax(err.message().trim_end().to_owned(), position)
        })?;
        file.into_builder()
            .build()
            .map_err(|err| locate_in_toml(src, err))
    }

    /// Reads and checks a map in JSON: the same shape as the TOML form
    /// (`{"tools": {"order.status": {"oauth": ["orders:read"]}}}`). Parse errors carry a line
    /// and column; errors found when checking the map carry its path only.
    pub fn from_json_str(src: &str) -> Result<ToolMap, ToolMapError> {
        let file: MapFile = serde_json::from_str(src).map_err(|err| {
            let text = err.to_string();
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
            let position = (err.line() > 0).then(|| Position {
                line: err.line(),
                column: err.column(),
            });
            ToolMapError::syntax(message, position)
        })?;
        file.into_builder().build()
    }
}

/// Finds the value at the error's path in the TOML text (the deepest part of the path that
/// exists) and sets the error's position to it.
fn locate_in_toml(src: &str, err: ToolMapError) -> ToolMapError {
    let Ok(root) = toml::de::DeTable::parse(src) else {
        return err;
    };
    let root_span = root.span();
    let root = toml::de::DeValue::Table(root.into_inner());
    let mut current = &root;
    let mut span = root_span;
    for segment in err.segments() {
        let next = match segment {
            Segment::Key(key) => current.get(key.as_str()),
            Segment::Index(index) => current.get(*index),
        };
        let Some(next) = next else { break };
        if !next.span().is_empty() {
            span = next.span();
        }
        current = next.get_ref();
    }
    let position = Some(line_col(src, span.start));
    err.with_position(position)
}
