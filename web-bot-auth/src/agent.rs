//! The `Signature-Agent` field: where a bot's keys can be found.
//!
//! Since draft-meunier-web-bot-auth-architecture-04 it is a structured dictionary whose members
//! are strings holding https URIs, with an optional `type` parameter (`directory`, `jwks_uri`,
//! `cimd`); a signature covers one member with `"signature-agent";key="<member>"`. The older
//! form, a single sf-string, is accepted on verification.

use std::fmt;

use sfv::visitor::{
    DictionaryVisitor, EntryVisitor, Ignored, InnerListVisitor, ItemVisitor, ParameterVisitor,
};
use sfv::{
    BareItem, BareItemFromInput, DictSerializer, FieldType, Item, KeyRef, Parser, StringRef,
};

use crate::error::{Input, ParseError};
use crate::fields::combined_field;
use crate::message::FieldSource;

/// Most members read from one `Signature-Agent` field.
pub const MAX_AGENT_MEMBERS: usize = 16;

/// What an agent URI points at (the member's `type` parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentType {
    /// No `type`: a key directory, by default.
    Unspecified,
    /// `directory`: an `http-message-signatures-directory`.
    Directory,
    /// `jwks_uri`: a plain JWKS document.
    JwksUri,
    /// `cimd`: client ID metadata document.
    Cimd,
    /// Any other type (ignored by verifiers, kept for logs).
    Other(String),
}

/// One member of `Signature-Agent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMember {
    /// The dictionary key, or `None` for the legacy string form.
    pub key: Option<String>,
    /// The URI.
    pub uri: String,
    /// The `type` parameter.
    pub agent_type: AgentType,
}

impl AgentMember {
    /// Whether the URI is `https:` (or also `http:` when `allow_http` is set) with a non-empty
    /// authority.
    pub fn has_web_uri(&self, allow_http: bool) -> bool {
        let rest = self.uri.strip_prefix("https://").or_else(|| {
            if allow_http {
                self.uri.strip_prefix("http://")
            } else {
                None
            }
        });
        matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/'))
    }
}

/// A parsed `Signature-Agent` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureAgent {
    members: Vec<AgentMember>,
    /// Each member's value serialized as a structured field (what `;key` covers).
    serialized: Vec<String>,
    legacy: bool,
}

impl fmt::Display for SignatureAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_field_value())
    }
}

fn agent_type_named(value: &str) -> AgentType {
    match value {
        "directory" => AgentType::Directory,
        "jwks_uri" => AgentType::JwksUri,
        "cimd" => AgentType::Cimd,
        _ => AgentType::Other(value.to_owned()),
    }
}

impl SignatureAgent {
    /// Parses a field value: the dictionary form, else the legacy sf-string form.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let dict_err =
            match Parser::new(value).parse_dictionary_with_visitor(AgentVisitor::default()) {
                Ok(agent) => {
                    if agent.members.is_empty() {
                        return Err(ParseError::new(
                            Input::SignatureAgent,
                            Some(0),
                            "no members",
                        ));
                    }
                    return Ok(agent);
                }
                Err(e) => ParseError::from_sfv(Input::SignatureAgent, &e),
            };
        // The legacy form is a single string item.
        match Parser::new(value).parse::<Item>() {
            Ok(Item {
                bare_item: BareItem::String(s),
                ..
            }) => Ok(SignatureAgent {
                members: vec![AgentMember {
                    key: None,
                    uri: s.as_str().to_owned(),
                    agent_type: AgentType::Unspecified,
                }],
                serialized: Vec::new(),
                legacy: true,
            }),
            _ => Err(dict_err),
        }
    }

    /// Reads the field from a message: `Ok(None)` when absent.
    pub fn from_headers(headers: &dyn FieldSource) -> Result<Option<Self>, ParseError> {
        match combined_field(headers, "signature-agent", Input::SignatureAgent)? {
            Some(v) => Self::parse(&v).map(Some),
            None => Ok(None),
        }
    }

    /// A dictionary-form field with one member.
    pub fn single(key: &str, uri: &str) -> Result<Self, ParseError> {
        // Refuse what cannot be serialized.
        KeyRef::from_str(key)
            .map_err(|e| ParseError::new(Input::SignatureAgent, e.index(), "invalid member key"))?;
        let value = StringRef::from_str(uri).map_err(|e| {
            ParseError::new(
                Input::SignatureAgent,
                e.index(),
                "URI is not a valid sf-string",
            )
        })?;
        Ok(SignatureAgent {
            members: vec![AgentMember {
                key: Some(key.to_owned()),
                uri: uri.to_owned(),
                agent_type: AgentType::Unspecified,
            }],
            serialized: vec![Item::new(value.to_owned()).serialize()],
            legacy: false,
        })
    }

    /// Whether this is the legacy single-string form.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The members, in order.
    pub fn members(&self) -> &[AgentMember] {
        &self.members
    }

    /// The member with this key.
    pub fn member(&self, key: &str) -> Option<&AgentMember> {
        self.members.iter().find(|m| m.key.as_deref() == Some(key))
    }

    /// The member with this key and its value serialized as a structured field, as
    /// `"signature-agent";key="…"` covers it (parsed fields only).
    pub(crate) fn member_with_value(&self, key: &str) -> Option<(&AgentMember, &str)> {
        let i = self
            .members
            .iter()
            .position(|m| m.key.as_deref() == Some(key))?;
        Some((self.members.get(i)?, self.serialized.get(i)?.as_str()))
    }

    /// The field value.
    pub fn to_field_value(&self) -> String {
        if self.legacy {
            return match self
                .members
                .first()
                .and_then(|m| StringRef::from_str(&m.uri).ok())
            {
                Some(s) => Item::new(s.to_owned()).serialize(),
                None => String::new(),
            };
        }
        // A parsed field keeps each member as received (unknown parameters included).
        if self.serialized.len() == self.members.len() {
            let mut out = String::new();
            for (m, value) in self.members.iter().zip(&self.serialized) {
                if let Some(key) = &m.key {
                    if !out.is_empty() {
                        out.push_str(", ");
                    }
                    out.push_str(key);
                    if value != "?1" {
                        out.push('=');
                        out.push_str(value);
                    }
                }
            }
            return out;
        }
        let mut ser = DictSerializer::new();
        for m in &self.members {
            let (Some(key), Ok(uri)) = (
                m.key.as_deref().and_then(|k| KeyRef::from_str(k).ok()),
                StringRef::from_str(&m.uri),
            ) else {
                continue;
            };
            let params = ser.bare_item(key, uri);
            let ty = match &m.agent_type {
                AgentType::Unspecified => None,
                AgentType::Directory => Some("directory"),
                AgentType::JwksUri => Some("jwks_uri"),
                AgentType::Cimd => Some("cimd"),
                AgentType::Other(o) => Some(o.as_str()),
            };
            if let (Some(ty), Ok(k)) = (
                ty.and_then(|t| StringRef::from_str(t).ok()),
                KeyRef::from_str("type"),
            ) {
                let _ = params.parameter(k, ty);
            }
        }
        ser.finish().unwrap_or_default()
    }
}

/// Reads the dictionary form straight into a [`SignatureAgent`]: members must be strings; each
/// member's value is kept serialized as received (for `;key`), its `type` parameter read.
#[derive(Default)]
struct AgentVisitor {
    members: Vec<AgentMember>,
    serialized: Vec<String>,
}

#[derive(Debug)]
struct AgentError(String);

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AgentError {}

impl<'de> DictionaryVisitor<'de> for AgentVisitor {
    type Out = SignatureAgent;
    type Error = AgentError;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        if self
            .members
            .iter()
            .any(|m| m.key.as_deref() == Some(key.as_str()))
        {
            return Err(AgentError(format!(
                "member `{}` occurs more than once",
                key.as_str()
            )));
        }
        if self.members.len() >= MAX_AGENT_MEMBERS {
            return Err(AgentError(format!("more than {MAX_AGENT_MEMBERS} members")));
        }
        Ok(AgentEntry {
            visitor: self,
            key: key.as_str(),
        })
    }

    fn finish(self) -> Result<SignatureAgent, Self::Error> {
        Ok(SignatureAgent {
            members: self.members,
            serialized: self.serialized,
            legacy: false,
        })
    }
}

struct AgentEntry<'a, 'de> {
    visitor: &'a mut AgentVisitor,
    key: &'de str,
}

impl<'de> EntryVisitor<'de> for AgentEntry<'_, 'de> {
    type Error = AgentError;

    fn item(self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        Ok(self)
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Self::Error> {
        Err::<Ignored, _>(AgentError(format!("member `{}` is not a string", self.key)))
    }
}

impl<'de, 'a> ItemVisitor<'de> for AgentEntry<'a, 'de> {
    type Out = ();
    type Error = AgentError;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Self::Error> {
        let BareItemFromInput::String(uri) = bare_item else {
            return Err(AgentError(format!("member `{}` is not a string", self.key)));
        };
        let mut value = String::with_capacity(uri.as_str().len() + 2);
        let _ = sfv::ItemSerializer::with_buffer(&mut value).bare_item(uri.as_ref());
        self.visitor.members.push(AgentMember {
            key: Some(self.key.to_owned()),
            uri: uri.as_str().to_owned(),
            agent_type: AgentType::Unspecified,
        });
        self.visitor.serialized.push(value);
        Ok(AgentParams(self.visitor))
    }
}

struct AgentParams<'a>(&'a mut AgentVisitor);

impl<'de> ParameterVisitor<'de> for AgentParams<'_> {
    type Out = ();
    type Error = AgentError;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Self::Error> {
        if let (Some(m), Some(s)) = (self.0.members.last_mut(), self.0.serialized.last_mut()) {
            if key.as_str() == "type" && m.agent_type == AgentType::Unspecified {
                let ty = match &value {
                    BareItemFromInput::String(t) => Some(t.as_str()),
                    BareItemFromInput::Token(t) => Some(t.as_str()),
                    _ => None,
                };
                if let Some(t) = ty {
                    m.agent_type = agent_type_named(t);
                }
            }
            crate::sf::push_parameter(s, key, &value);
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_and_legacy_forms() {
        let a = SignatureAgent::parse(r#"agent2="https://signature-agent.test""#).unwrap();
        assert!(!a.is_legacy());
        assert_eq!(
            a.member("agent2").unwrap().uri,
            "https://signature-agent.test"
        );
        assert_eq!(
            a.to_field_value(),
            r#"agent2="https://signature-agent.test""#
        );

        let l = SignatureAgent::parse(r#""https://signature-agent.test""#).unwrap();
        assert!(l.is_legacy());
        assert_eq!(l.members()[0].uri, "https://signature-agent.test");
        assert_eq!(l.to_field_value(), r#""https://signature-agent.test""#);

        let t = SignatureAgent::parse(r#"a="https://a.example";type="jwks_uri", b="https://b.example";type=cimd, c="https://c.example";type="new""#).unwrap();
        assert_eq!(t.member("a").unwrap().agent_type, AgentType::JwksUri);
        assert_eq!(t.member("b").unwrap().agent_type, AgentType::Cimd);
        assert_eq!(
            t.member("c").unwrap().agent_type,
            AgentType::Other("new".into())
        );
        assert_eq!(
            SignatureAgent::parse(&t.to_field_value())
                .unwrap()
                .member("a"),
            t.member("a")
        );
    }

    #[test]
    fn bad_values_have_positions() {
        for bad in ["a=1", "a=(\"x\")", "\"unterminated", "a=\"x\", a=\"y\"", ""] {
            assert!(SignatureAgent::parse(bad).is_err(), "{bad}");
        }
        let e = SignatureAgent::parse("a=\"x\" junk").unwrap_err();
        assert_eq!(e.input, Input::SignatureAgent);
        assert!(e.offset.is_some());
    }

    #[test]
    fn web_uri_check() {
        let m = |u: &str| AgentMember {
            key: None,
            uri: u.into(),
            agent_type: AgentType::Unspecified,
        };
        assert!(m("https://bot.example").has_web_uri(false));
        assert!(!m("http://bot.example").has_web_uri(false));
        assert!(m("http://127.0.0.1:8080").has_web_uri(true));
        assert!(!m("https://").has_web_uri(false));
        assert!(!m("data:application/json,{}").has_web_uri(true));
    }
}
