//! The `Signature-Agent` field: where a bot's keys can be found.
//!
//! Since draft-meunier-web-bot-auth-architecture-04 it is a structured dictionary whose members
//! are strings holding https URIs, with an optional `type` parameter (`directory`, `jwks_uri`,
//! `cimd`); a signature covers one member with `"signature-agent";key="<member>"`. The older
//! form, a single sf-string, is accepted on verification.

use std::fmt;

use sfv::{
    BareItem, DictSerializer, Dictionary, FieldType, Item, KeyRef, ListEntry, Parser, StringRef,
};

use crate::error::{Input, ParseError};
use crate::fields::{combined_field, parse_unique_dictionary};
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
    legacy: bool,
}

impl fmt::Display for SignatureAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_field_value())
    }
}

fn agent_type(params: &sfv::Parameters) -> AgentType {
    let value = match params.get("type") {
        Some(BareItem::String(s)) => s.as_str().to_owned(),
        Some(BareItem::Token(t)) => t.as_str().to_owned(),
        _ => return AgentType::Unspecified,
    };
    match value.as_str() {
        "directory" => AgentType::Directory,
        "jwks_uri" => AgentType::JwksUri,
        "cimd" => AgentType::Cimd,
        _ => AgentType::Other(value),
    }
}

impl SignatureAgent {
    /// Parses a field value: the dictionary form, else the legacy sf-string form.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let dict_err = match parse_unique_dictionary(value, Input::SignatureAgent) {
            Ok(dict) => return Self::from_dictionary(&dict),
            Err(e) => e,
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
                legacy: true,
            }),
            _ => Err(dict_err),
        }
    }

    fn from_dictionary(dict: &Dictionary) -> Result<Self, ParseError> {
        if dict.is_empty() {
            return Err(ParseError::new(
                Input::SignatureAgent,
                Some(0),
                "no members",
            ));
        }
        if dict.len() > MAX_AGENT_MEMBERS {
            return Err(ParseError::new(
                Input::SignatureAgent,
                None,
                format!("more than {MAX_AGENT_MEMBERS} members"),
            ));
        }
        let mut members = Vec::with_capacity(dict.len());
        for (key, entry) in dict {
            let ListEntry::Item(Item {
                bare_item: BareItem::String(uri),
                params,
            }) = entry
            else {
                return Err(ParseError::new(
                    Input::SignatureAgent,
                    None,
                    format!("member `{}` is not a string", key.as_str()),
                ));
            };
            members.push(AgentMember {
                key: Some(key.as_str().to_owned()),
                uri: uri.as_str().to_owned(),
                agent_type: agent_type(params),
            });
        }
        Ok(SignatureAgent {
            members,
            legacy: false,
        })
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
        let agent = SignatureAgent {
            members: vec![AgentMember {
                key: Some(key.to_owned()),
                uri: uri.to_owned(),
                agent_type: AgentType::Unspecified,
            }],
            legacy: false,
        };
        // Refuse what cannot be serialized.
        KeyRef::from_str(key)
            .map_err(|e| ParseError::new(Input::SignatureAgent, e.index(), "invalid member key"))?;
        StringRef::from_str(uri).map_err(|e| {
            ParseError::new(
                Input::SignatureAgent,
                e.index(),
                "URI is not a valid sf-string",
            )
        })?;
        Ok(agent)
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
