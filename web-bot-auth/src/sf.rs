//! Small structured-field helpers shared by the visitors: strict serialization of what a
//! visitor sees, and extraction of one dictionary member.

use sfv::visitor::{
    DictionaryVisitor, EntryVisitor, InnerListVisitor, ItemVisitor, ParameterVisitor,
};
use sfv::{BareItemFromInput, ItemSerializer, KeyRef};

/// Appends `;key` or `;key=value` (RFC 9651 §4.1.1.2).
pub(crate) fn push_parameter(out: &mut String, key: &KeyRef, value: &BareItemFromInput<'_>) {
    out.push(';');
    out.push_str(key.as_str());
    if !matches!(value, BareItemFromInput::Boolean(true)) {
        out.push('=');
        push_bare_item(out, value);
    }
}

/// Appends a bare item.
pub(crate) fn push_bare_item(out: &mut String, value: &BareItemFromInput<'_>) {
    match value {
        // The common items of a signature's parameters and component names, written in one
        // copy: a token is its characters (RFC 9651 §4.1.7), a string without `"` or `\` its
        // characters between quotes (§4.1.6). `sfv` checks and escapes character by character.
        BareItemFromInput::Token(token) => out.push_str(token.as_str()),
        BareItemFromInput::String(string)
            if string
                .as_str()
                .bytes()
                .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\') =>
        {
            out.reserve(string.as_str().len() + 2);
            out.push('"');
            out.push_str(string.as_str());
            out.push('"');
        }
        _ => {
            let _ = ItemSerializer::with_buffer(out).bare_item(value);
        }
    }
}

/// Finds one member of a dictionary and serializes its value (item or inner list, with
/// parameters) strictly; the last occurrence of a repeated key wins, as RFC 9651 says.
pub(crate) struct MemberVisitor<'k> {
    wanted: &'k str,
    found: Option<String>,
}

impl<'k> MemberVisitor<'k> {
    pub(crate) fn new(wanted: &'k str) -> Self {
        MemberVisitor {
            wanted,
            found: None,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Never {}

impl std::fmt::Display for Never {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl std::error::Error for Never {}

impl<'de> DictionaryVisitor<'de> for MemberVisitor<'_> {
    type Out = Option<String>;
    type Error = Never;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Never> {
        if key.as_str() != self.wanted {
            return Ok(None);
        }
        let out = self.found.insert(String::new());
        Ok(Some(Writer(out)))
    }

    fn finish(self) -> Result<Option<String>, Never> {
        Ok(self.found)
    }
}

/// Serializes what it visits into a string.
struct Writer<'a>(&'a mut String);

impl<'de> EntryVisitor<'de> for Writer<'_> {
    type Error = Never;

    fn item(self) -> Result<impl ItemVisitor<'de>, Never> {
        Ok(self)
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Never> {
        self.0.push('(');
        Ok(ListWriter {
            out: self.0,
            first: true,
        })
    }
}

impl<'de> ItemVisitor<'de> for Writer<'_> {
    type Out = ();
    type Error = Never;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Never> {
        push_bare_item(self.0, &bare_item);
        Ok(self)
    }
}

impl<'de> ParameterVisitor<'de> for Writer<'_> {
    type Out = ();
    type Error = Never;

    fn parameter(&mut self, key: &'de KeyRef, value: BareItemFromInput<'de>) -> Result<(), Never> {
        push_parameter(self.0, key, &value);
        Ok(())
    }

    fn finish(self) -> Result<(), Never> {
        Ok(())
    }
}

struct ListWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'de> InnerListVisitor<'de> for ListWriter<'_> {
    type Error = Never;

    fn item(&mut self) -> Result<impl ItemVisitor<'de>, Never> {
        if !self.first {
            self.out.push(' ');
        }
        self.first = false;
        Ok(Writer(&mut *self.out))
    }

    fn finish(self) -> Result<impl ParameterVisitor<'de>, Never> {
        self.out.push(')');
        Ok(Writer(self.out))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use proptest::prelude::*;
    use sfv::{BareItemFromInput, ItemSerializer, StringRef, TokenRef};

    use super::push_bare_item;

    fn by_sfv(value: &BareItemFromInput<'_>) -> String {
        let mut out = String::new();
        let _ = ItemSerializer::with_buffer(&mut out).bare_item(value);
        out
    }

    proptest! {
        /// The one-copy paths write what `sfv`'s serializer writes, escapes included.
        #[test]
        fn strings_and_tokens_serialize_as_sfv_does(
            text in "[ -~]{0,40}",
            token in "[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,20}",
        ) {
            let string = StringRef::from_str(&text).unwrap();
            let value = BareItemFromInput::String(Cow::Borrowed(string));
            let mut ours = String::from("x");
            push_bare_item(&mut ours, &value);
            prop_assert_eq!(&ours[1..], by_sfv(&value));

            let value = BareItemFromInput::Token(TokenRef::from_str(&token).unwrap());
            let mut ours = String::new();
            push_bare_item(&mut ours, &value);
            prop_assert_eq!(ours, by_sfv(&value));
        }
    }
}
