//! Parsers for CIDR strings, plain CIDR lists and the operators' JSON format.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};

use super::{Builder, IpRanges, MAX_ENTRIES, RangesError, cut};

/// Parses `"a.b.c.d/len"`, `"v6::/len"` or a bare address; host bits are dropped.
pub(super) fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if text.contains('/') {
        text.parse::<IpNet>().ok().map(|net| net.trunc())
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

pub(super) fn from_cidr_list(text: &str) -> Result<IpRanges, RangesError> {
    let mut builder = Builder::default();
    for (index, line) in text.lines().enumerate() {
        let content = match line.find('#') {
            Some(hash) => &line[..hash],
            None => line,
        };
        let content = content.trim();
        if content.is_empty() {
            continue;
        }
        let net = parse_net(content).ok_or_else(|| RangesError::InvalidLine {
            line: index + 1,
            text: cut(content),
        })?;
        builder.push(net)?;
    }
    Ok(builder.finish(None))
}

/// The operators' document. Unknown fields (`syncToken`, `service`, `scope`, …)
/// are ignored.
#[derive(Deserialize)]
struct Document {
    #[serde(rename = "creationTime", default)]
    creation_time: Option<String>,
    prefixes: Prefixes,
}

/// One element of `prefixes`.
#[derive(Deserialize)]
struct Prefix {
    #[serde(rename = "ipv4Prefix", default)]
    ipv4: Option<String>,
    #[serde(rename = "ipv6Prefix", default)]
    ipv6: Option<String>,
}

/// The `prefixes` array, keeping at most [`MAX_ENTRIES`] elements in memory and
/// counting (without keeping) any beyond.
struct Prefixes {
    kept: Vec<Prefix>,
    overflow: bool,
}

impl<'de> Deserialize<'de> for Prefixes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PrefixesVisitor;

        impl<'de> Visitor<'de> for PrefixesVisitor {
            type Value = Prefixes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of {\"ipv4Prefix\": …} or {\"ipv6Prefix\": …} objects")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Prefixes, A::Error> {
                let mut kept = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                let mut overflow = false;
                while kept.len() < MAX_ENTRIES {
                    match seq.next_element::<Prefix>()? {
                        Some(prefix) => kept.push(prefix),
                        None => return Ok(Prefixes { kept, overflow }),
                    }
                }
                // Consume the rest without keeping it, so the error is `TooMany`
                // rather than a JSON error.
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    overflow = true;
                }
                Ok(Prefixes { kept, overflow })
            }
        }

        deserializer.deserialize_seq(PrefixesVisitor)
    }
}

pub(super) fn from_json(json: &[u8]) -> Result<IpRanges, RangesError> {
    let document: Document = serde_json::from_slice(json).map_err(|e| RangesError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if document.prefixes.overflow {
        return Err(RangesError::TooMany { limit: MAX_ENTRIES });
    }
    let mut builder = Builder::default();
    for (index, prefix) in document.prefixes.kept.iter().enumerate() {
        let entry = index + 1;
        let invalid = |message: String| RangesError::InvalidPrefix { entry, message };
        let (text, want_v4) = match (&prefix.ipv4, &prefix.ipv6) {
            (Some(v4), None) => (v4, true),
            (None, Some(v6)) => (v6, false),
            (Some(_), Some(_)) => {
                return Err(invalid("has both ipv4Prefix and ipv6Prefix".to_owned()));
            }
            (None, None) => {
                return Err(invalid("has neither ipv4Prefix nor ipv6Prefix".to_owned()));
            }
        };
        let net = parse_net(text)
            .ok_or_else(|| invalid(format!("not a CIDR or IP address: {:?}", cut(text))))?;
        match (net, want_v4) {
            (IpNet::V4(_), true) | (IpNet::V6(_), false) => {}
            (IpNet::V6(_), true) => {
                return Err(invalid(format!(
                    "ipv4Prefix holds an IPv6 network: {:?}",
                    cut(text)
                )));
            }
            (IpNet::V4(_), false) => {
                return Err(invalid(format!(
                    "ipv6Prefix holds an IPv4 network: {:?}",
                    cut(text)
                )));
            }
        }
        builder.push(net)?;
    }
    Ok(builder.finish(document.creation_time))
}
