//! Parsing and validation of catalog data (TOML).

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use super::{BotEntry, BotKind, CatalogError, is_category};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    bot: Vec<RawBot>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    name: Spanned<String>,
    operator: String,
    category: Spanned<String>,
    #[serde(default)]
    kind: Option<RawKind>,
    #[serde(default)]
    tokens: Vec<Spanned<String>>,
    #[serde(default)]
    ip_ranges: Option<Spanned<String>>,
    #[serde(default)]
    rdns_suffixes: Vec<Spanned<String>>,
    #[serde(default)]
    signature_agents: Vec<Spanned<String>>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    Bot,
    Automation,
}

/// Line and column (from 1) of a byte offset.
struct Positions<'a> {
    src: &'a str,
}

impl Positions<'_> {
    fn at(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.src.len());
        while !self.src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.src[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    fn of<T>(&self, spanned: &Spanned<T>) -> (usize, usize) {
        self.at(spanned.span().start)
    }
}

/// Parses and validates catalog TOML.
pub(super) fn parse(src: &str) -> Result<Vec<BotEntry>, CatalogError> {
    let pos = Positions { src };
    let raw: RawFile = toml::from_str(src).map_err(|e| {
        let (line, column) = pos.at(e.span().map_or(0, |s| s.start));
        CatalogError::Syntax {
            line,
            column,
            message: e.message().to_owned(),
        }
    })?;

    let invalid = |(line, column): (usize, usize), message: String| CatalogError::Invalid {
        line,
        column,
        message,
    };

    // Lowercased name → line of its entry; lowercased token → entry name.
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut tokens: HashMap<String, String> = HashMap::new();
    let mut entries = Vec::with_capacity(raw.bot.len());

    for bot in raw.bot {
        let name = bot.name.get_ref().trim();
        if name.is_empty() {
            return Err(invalid(pos.of(&bot.name), "empty bot name".to_owned()));
        }
        let (line, column) = pos.of(&bot.name);
        if let Some(&first_line) = names.get(&name.to_ascii_lowercase()) {
            return Err(CatalogError::DuplicateName {
                line,
                column,
                name: name.to_owned(),
                first_line,
            });
        }
        names.insert(name.to_ascii_lowercase(), line);

        let category = bot.category.get_ref();
        if !is_category(category) {
            let (line, column) = pos.of(&bot.category);
            return Err(CatalogError::UnknownCategory {
                line,
                column,
                category: category.clone(),
            });
        }

        let mut entry_tokens = Vec::with_capacity(bot.tokens.len());
        for token in &bot.tokens {
            let text = token.get_ref();
            if text.trim().is_empty() {
                let (line, column) = pos.of(token);
                return Err(CatalogError::EmptyToken {
                    line,
                    column,
                    name: name.to_owned(),
                });
            }
            if text.trim() != text || !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return Err(invalid(
                    pos.of(token),
                    format!(
                        "token {text:?} of {name:?} must be printable ASCII without surrounding spaces"
                    ),
                ));
            }
            if let Some(other) = tokens.get(&text.to_ascii_lowercase()) {
                let (line, column) = pos.of(token);
                return Err(CatalogError::DuplicateToken {
                    line,
                    column,
                    token: text.clone(),
                    name: name.to_owned(),
                    other: other.clone(),
                });
            }
            tokens.insert(text.to_ascii_lowercase(), name.to_owned());
            entry_tokens.push(text.clone());
        }

        for suffix in &bot.rdns_suffixes {
            let text = suffix.get_ref();
            let valid = text.len() > 1
                && text.starts_with('.')
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !valid {
                return Err(invalid(
                    pos.of(suffix),
                    format!("rDNS suffix {text:?} of {name:?} must be a domain with a leading dot"),
                ));
            }
        }

        for agent in &bot.signature_agents {
            let text = agent.get_ref();
            let valid = (text.starts_with("https://") || text.starts_with("http://"))
                && !text.bytes().any(|b| b.is_ascii_whitespace() || b == b'"');
            if !valid {
                return Err(invalid(
                    pos.of(agent),
                    format!("signature agent {text:?} of {name:?} must be an http(s) origin"),
                ));
            }
        }

        if let Some(set) = &bot.ip_ranges
            && set.get_ref().trim().is_empty()
        {
            return Err(invalid(
                pos.of(set),
                format!("empty ip_ranges name in {name:?}"),
            ));
        }

        if entry_tokens.is_empty() && bot.signature_agents.is_empty() {
            return Err(invalid(
                (line, column),
                format!("{name:?} has neither tokens nor signature_agents, so nothing can find it"),
            ));
        }

        entries.push(BotEntry {
            name: name.to_owned(),
            operator: bot.operator,
            category: category.clone(),
            kind: match bot.kind.unwrap_or(RawKind::Bot) {
                RawKind::Bot => BotKind::Bot,
                RawKind::Automation => BotKind::Automation,
            },
            tokens: entry_tokens,
            ip_ranges: bot.ip_ranges.map(Spanned::into_inner),
            rdns_suffixes: bot
                .rdns_suffixes
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            signature_agents: bot
                .signature_agents
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            url: bot.url,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn positions() {
        let p = Positions { src: "ab\ncdé\nf" };
        assert_eq!(p.at(0), (1, 1));
        assert_eq!(p.at(3), (2, 1));
        assert_eq!(p.at(7), (2, 4));
        assert_eq!(p.at(8), (3, 1));
        assert_eq!(p.at(100), (3, 2));
    }
}
