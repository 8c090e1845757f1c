//! HTTP field component values (RFC 9421 §2.1): plain, `;sf`, `;key`, `;bs`.

use sfv::{Dictionary, FieldType, Item, List, ListSerializer, Parser};

use crate::component::ComponentIdentifier;
use crate::error::{BaseError, Input, ParseError};
use crate::message::FieldSource;

/// The structured-field type of a field (RFC 9651 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructuredType {
    /// An Item.
    Item,
    /// A List.
    List,
    /// A Dictionary.
    Dictionary,
}

/// Which fields are known to be structured, and of what type: `;sf` is only possible on these
/// (RFC 9421 §2.1.1). `;key` parses the field as a Dictionary, and fails on a field known to be
/// of another type.
///
/// The built-in fields are a static table, so the default costs nothing to create; fields
/// declared with [`FieldTypes::with`] are looked up first.
#[derive(Debug, Clone, Default)]
pub struct FieldTypes {
    declared: Vec<(String, StructuredType)>,
}

/// The structured fields this crate knows: the signature fields, the digest fields and the
/// structured fields registered with RFC 9651 types.
const BUILT_IN: [(&str, StructuredType); 17] = [
    ("signature-input", StructuredType::Dictionary),
    ("signature", StructuredType::Dictionary),
    ("signature-agent", StructuredType::Dictionary),
    ("accept-signature", StructuredType::Dictionary),
    ("content-digest", StructuredType::Dictionary),
    ("repr-digest", StructuredType::Dictionary),
    ("want-content-digest", StructuredType::Dictionary),
    ("want-repr-digest", StructuredType::Dictionary),
    ("priority", StructuredType::Dictionary),
    ("cache-status", StructuredType::List),
    ("proxy-status", StructuredType::List),
    ("cdn-cache-control", StructuredType::Dictionary),
    ("client-cert", StructuredType::Item),
    ("client-cert-chain", StructuredType::List),
    ("accept-ch", StructuredType::List),
    ("cross-origin-embedder-policy", StructuredType::Item),
    ("cross-origin-opener-policy", StructuredType::Item),
];

impl FieldTypes {
    /// Declares (or overrides) the type of a field.
    pub fn with(mut self, name: &str, ty: StructuredType) -> Self {
        let name = name.to_ascii_lowercase();
        self.declared.retain(|(n, _)| *n != name);
        self.declared.push((name, ty));
        self
    }

    /// The type of a field (lowercase name), if known.
    pub fn get(&self, name: &str) -> Option<StructuredType> {
        self.declared
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .or_else(|| BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t))
    }
}

fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or(&[])
}

/// The combined value of a field: each line trimmed, joined with ", ". Values must be visible
/// ASCII, spaces and tabs (RFC 9421 §2.5: a base is ASCII and has no newline).
pub(crate) fn combined(
    source: &dyn FieldSource,
    name: &str,
    id: &ComponentIdentifier,
    out: &mut String,
) -> Result<(), BaseError> {
    let mut count = 0usize;
    let mut bad = false;
    source.for_each_value(name, &mut |v| {
        let v = trim_ows(v);
        if count > 0 {
            out.push_str(", ");
        }
        count += 1;
        match std::str::from_utf8(v) {
            Ok(s) if s.bytes().all(|b| b == b'\t' || (0x20..=0x7e).contains(&b)) => out.push_str(s),
            _ => bad = true,
        }
    });
    if count == 0 {
        return Err(BaseError::MissingField(name.to_owned()));
    }
    if bad {
        return Err(BaseError::InvalidValue(id.as_str().to_owned()));
    }
    Ok(())
}

fn bad_sf(name: &str, e: &sfv::Error) -> BaseError {
    BaseError::BadStructuredField {
        field: name.to_owned(),
        error: ParseError::from_sfv(Input::CoveredField, e),
    }
}

/// Appends the component value of a field for this identifier.
pub(crate) fn field_value(
    source: &dyn FieldSource,
    name: &str,
    id: &ComponentIdentifier,
    types: &FieldTypes,
    out: &mut String,
) -> Result<(), BaseError> {
    let flags = id.flags();
    if flags.bs {
        let mut values: Vec<Vec<u8>> = Vec::new();
        source.for_each_value(name, &mut |v| values.push(trim_ows(v).to_vec()));
        if values.is_empty() {
            return Err(BaseError::MissingField(name.to_owned()));
        }
        let mut ser = ListSerializer::with_buffer(out);
        for v in &values {
            ser.bare_item(v.as_slice());
        }
        let _ = ser.finish();
        return Ok(());
    }
    if flags.key.is_none() && !flags.sf {
        return combined(source, name, id, out);
    }
    let mut raw = String::new();
    combined(source, name, id, &mut raw)?;
    if let Some(member) = &flags.key {
        if matches!(
            types.get(name),
            Some(StructuredType::Item | StructuredType::List)
        ) {
            return Err(BaseError::NotADictionary(name.to_owned()));
        }
        let member = Parser::new(&raw)
            .parse_dictionary_with_visitor(crate::sf::MemberVisitor::new(member))
            .map_err(|e| bad_sf(name, &e))?
            .ok_or_else(|| BaseError::MissingMember {
                field: name.to_owned(),
                key: member.clone(),
            })?;
        out.push_str(&member);
        return Ok(());
    }
    let serialized = match types.get(name) {
        Some(StructuredType::Item) => Parser::new(&raw)
            .parse::<Item>()
            .map(|i| Some(i.serialize())),
        Some(StructuredType::List) => Parser::new(&raw).parse::<List>().map(|l| l.serialize()),
        Some(StructuredType::Dictionary) => Parser::new(&raw)
            .parse::<Dictionary>()
            .map(|d| d.serialize()),
        None => return Err(BaseError::UnknownStructuredType(name.to_owned())),
    }
    .map_err(|e| bad_sf(name, &e))?;
    // An empty list or dictionary serializes to nothing: the empty string.
    out.push_str(serialized.as_deref().unwrap_or(""));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_types_and_declared_overrides() {
        let types = FieldTypes::default();
        assert_eq!(
            types.get("signature-agent"),
            Some(StructuredType::Dictionary)
        );
        assert_eq!(types.get("cache-status"), Some(StructuredType::List));
        assert_eq!(types.get("example-dict"), None);
        let types = types
            .with("Example-Dict", StructuredType::Dictionary)
            .with("cache-status", StructuredType::Item)
            .with("cache-status", StructuredType::Dictionary);
        assert_eq!(types.get("example-dict"), Some(StructuredType::Dictionary));
        assert_eq!(types.get("cache-status"), Some(StructuredType::Dictionary));
    }
}
