//! Named lists (`$name` in an expression): addresses, strings or integers.

use std::collections::HashMap;
use std::sync::Arc;

use crate::expr::matchers::{IpSet, Ranges, StrSet, parse_ip_item};

/// The most items a list may hold.
pub const MAX_LIST_ITEMS: usize = 1_000_000;

/// What a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListKind {
    /// Addresses, CIDRs and `a..b` ranges, IPv4 and IPv6 (for `ip.src in $name`).
    Ip,
    /// Byte strings (for `http.user_agent in $name` and the like).
    String,
    /// Integers and `a..b` ranges (for `ip.src.asnum in $name`).
    Integer,
}

impl ListKind {
    /// The name used in policy files: `ip`, `string`, `integer`.
    pub fn name(self) -> &'static str {
        match self {
            ListKind::Ip => "ip",
            ListKind::String => "string",
            ListKind::Integer => "integer",
        }
    }
}

#[derive(Debug)]
pub(crate) enum ListValue {
    Ip(IpSet),
    Str(StrSet),
    Int(Ranges<i64>),
}

/// A list that cannot be built: which item, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("list `{list}`, item {item}: {message}")]
pub struct ListError {
    /// The list's name.
    pub list: String,
    /// The 0-based index of the offending item (for a file: the 0-based line).
    pub item: usize,
    /// What is wrong.
    pub message: String,
}

/// Named lists, referenced from expressions as `$name`.
///
/// ```
/// use bot_policy::{Expression, Lists, RequestFacts};
///
/// let mut lists = Lists::new();
/// lists.insert_ips("office", ["192.0.2.0/24", "2001:db8::/32"]).unwrap();
/// let expr = Expression::compile_with("ip.src in $office", &lists, &Default::default()).unwrap();
/// let facts = RequestFacts::new("GET", "/").with_client_ip("192.0.2.7".parse().unwrap());
/// assert!(expr.matches(&facts));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Lists {
    lists: HashMap<String, (ListKind, Arc<ListValue>)>,
}

fn check_name(name: &str) -> Result<(), ListError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ListError {
            list: name.to_owned(),
            item: 0,
            message: "a list name holds only lowercase letters, digits and `_`".into(),
        })
    }
}

fn check_count(name: &str, count: usize) -> Result<(), ListError> {
    if count > MAX_LIST_ITEMS {
        return Err(ListError {
            list: name.to_owned(),
            item: MAX_LIST_ITEMS,
            message: format!("more than {MAX_LIST_ITEMS} items"),
        });
    }
    Ok(())
}

impl Lists {
    /// No lists.
    pub fn new() -> Self {
        Lists::default()
    }

    /// Adds (or replaces) a list of addresses, CIDRs (`192.0.2.0/24`) and ranges (`a..b`).
    pub fn insert_ips<'i>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = &'i str>,
    ) -> Result<(), ListError> {
        check_name(name)?;
        let mut ranges = Vec::new();
        for (item, text) in items.into_iter().enumerate() {
            check_count(name, item)?;
            let range = parse_ip_item(text.trim()).map_err(|message| ListError {
                list: name.to_owned(),
                item,
                message,
            })?;
            ranges.push(range);
        }
        self.lists.insert(
            name.to_owned(),
            (ListKind::Ip, Arc::new(ListValue::Ip(IpSet::new(ranges)))),
        );
        Ok(())
    }

    /// Adds (or replaces) a list of strings, compared byte for byte.
    pub fn insert_strings<I, S>(&mut self, name: &str, items: I) -> Result<(), ListError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        check_name(name)?;
        let mut values = Vec::new();
        for (item, value) in items.into_iter().enumerate() {
            check_count(name, item)?;
            values.push(value.as_ref().to_vec());
        }
        self.lists.insert(
            name.to_owned(),
            (
                ListKind::String,
                Arc::new(ListValue::Str(StrSet::new(values))),
            ),
        );
        Ok(())
    }

    /// Adds (or replaces) a list of integers and inclusive ranges `(from, to)`.
    pub fn insert_integers(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = (i64, i64)>,
    ) -> Result<(), ListError> {
        check_name(name)?;
        let mut ranges = Vec::new();
        for (item, (from, to)) in items.into_iter().enumerate() {
            check_count(name, item)?;
            if from > to {
                return Err(ListError {
                    list: name.to_owned(),
                    item,
                    message: format!("{from}..{to} runs backwards"),
                });
            }
            ranges.push((from, to));
        }
        self.lists.insert(
            name.to_owned(),
            (
                ListKind::Integer,
                Arc::new(ListValue::Int(Ranges::new(ranges))),
            ),
        );
        Ok(())
    }

    /// Adds a list from the text of a list file: one item per line; blank lines and lines
    /// starting with `#` are skipped, and so is anything after ` #` on a line. Errors name the
    /// 0-based line.
    pub fn insert_from_text(
        &mut self,
        name: &str,
        kind: ListKind,
        text: &str,
    ) -> Result<(), ListError> {
        let lines = text
            .lines()
            .enumerate()
            .map(|(n, line)| (n, line.split(" #").next().unwrap_or("").trim()))
            .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'));
        let renumber = |lines: &[(usize, &str)], err: ListError| ListError {
            item: lines.get(err.item).map_or(err.item, |(n, _)| *n),
            ..err
        };
        let lines: Vec<(usize, &str)> = lines.collect();
        let result = match kind {
            ListKind::Ip => self.insert_ips(name, lines.iter().map(|(_, l)| *l)),
            ListKind::String => self.insert_strings(name, lines.iter().map(|(_, l)| *l)),
            ListKind::Integer => {
                let mut items = Vec::new();
                for (n, line) in &lines {
                    items.push(parse_int_item(line).map_err(|message| ListError {
                        list: name.to_owned(),
                        item: *n,
                        message,
                    })?);
                }
                return self.insert_integers(name, items);
            }
        };
        result.map_err(|err| renumber(&lines, err))
    }

    /// Whether a list of this name exists, and its kind.
    pub fn kind(&self, name: &str) -> Option<ListKind> {
        self.lists.get(name).map(|(kind, _)| *kind)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<ListValue>> {
        self.lists.get(name).map(|(_, value)| value)
    }

    /// The names of the lists.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lists.keys().map(String::as_str)
    }
}

/// `42` or `8000..8009`.
pub(crate) fn parse_int_item(text: &str) -> Result<(i64, i64), String> {
    let parse = |t: &str| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| format!("`{t}` is not an integer"))
    };
    match text.split_once("..") {
        Some((from, to)) => {
            let (from, to) = (parse(from)?, parse(to)?);
            if from > to {
                return Err(format!("{from}..{to} runs backwards"));
            }
            Ok((from, to))
        }
        None => parse(text).map(|v| (v, v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_errors() {
        let mut lists = Lists::new();
        assert!(lists.insert_ips("Office", ["192.0.2.1"]).is_err());
        let err = lists.insert_ips("office", ["192.0.2.1", "nope"]).err();
        assert_eq!(err.map(|e| e.item), Some(1));
        let err = lists
            .insert_from_text("asns", ListKind::Integer, "# comment\n13335\n\nx\n")
            .err();
        assert_eq!(err.map(|e| e.item), Some(3));
        let err = lists
            .insert_from_text(
                "ips",
                ListKind::Ip,
                "# c\n192.0.2.0/24 # office\n\n10.0.0.1/8\n",
            )
            .err();
        assert_eq!(err.map(|e| e.item), Some(3));
        assert!(
            lists
                .insert_from_text("ips", ListKind::Ip, "192.0.2.0/24\n")
                .is_ok()
        );
        assert_eq!(lists.kind("ips"), Some(ListKind::Ip));
    }
}
