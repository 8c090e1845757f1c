//! `Signature-Input` and `Signature` parsed with sfv's visitor interface straight into this
//! crate's types: no intermediate dictionary, the `@signature-params` text written while
//! parsing, and each member's problems kept on that member.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use sfv::visitor::{
    DictionaryVisitor, EntryVisitor, Ignored, InnerListVisitor, ItemVisitor, ParameterVisitor,
};
use sfv::{BareItemFromInput, KeyRef, Parameters, StringRef};

use crate::sf::push_parameter;

use crate::component::ComponentIdentifier;
use crate::error::{FailureReason, ParamsError};
use crate::fields::MAX_SIGNATURES;
use crate::params::{MAX_COMPONENTS, SignatureParams};

/// A field-level problem found while visiting (the parse as a whole fails).
#[derive(Debug)]
pub(crate) struct VisitError(String);

impl fmt::Display for VisitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VisitError {}

/// RFC 9421 §4: labels are unique across the field; and at most [`MAX_SIGNATURES`] of them.
fn new_label<'a>(
    mut seen: impl ExactSizeIterator<Item = &'a str>,
    key: &KeyRef,
) -> Result<(), VisitError> {
    if seen.len() >= MAX_SIGNATURES {
        return Err(VisitError(format!("more than {MAX_SIGNATURES} signatures")));
    }
    if seen.any(|l| l == key.as_str()) {
        return Err(VisitError(format!(
            "label `{}` occurs more than once",
            key.as_str()
        )));
    }
    Ok(())
}

fn bad(name: &str, reason: &'static str) -> ParamsError {
    ParamsError::BadParameter {
        name: name.to_owned(),
        reason,
    }
}

/// One `Signature-Input` member being read.
pub(crate) struct InputSlot {
    pub(crate) label: String,
    state: Result<SignatureParams, ParamsError>,
    /// Known parameters already read (bit i = KNOWN_PARAMS[i]).
    seen: u8,
    /// Unknown parameters already read (rare: allocated only when there are some).
    seen_other: Vec<String>,
}

const KNOWN_PARAMS: [&str; 6] = ["created", "expires", "keyid", "alg", "nonce", "tag"];

impl InputSlot {
    fn fail(&mut self, e: ParamsError) {
        if self.state.is_ok() {
            self.state = Err(e);
        }
    }

    fn params(&mut self) -> Option<&mut SignatureParams> {
        self.state.as_mut().ok()
    }

    /// The parameters, once the member is complete.
    pub(crate) fn finish(self) -> (String, Result<SignatureParams, ParamsError>) {
        let state = self.state.and_then(|p| {
            for (i, c) in p.components.iter().enumerate() {
                if p.components.iter().take(i).any(|earlier| earlier == c) {
                    return Err(ParamsError::DuplicateComponent(c.as_str().to_owned()));
                }
            }
            Ok(p)
        });
        (self.label, state)
    }
}

fn empty_params() -> SignatureParams {
    SignatureParams {
        components: Vec::new(),
        value: String::with_capacity(256),
        created: None,
        expires: None,
        keyid: None,
        alg: None,
        nonce: None,
        tag: None,
        params: OnceLock::new(),
    }
}

/// Visits a whole `Signature-Input` dictionary.
#[derive(Default)]
pub(crate) struct InputsVisitor(pub(crate) Vec<InputSlot>);

impl<'de> DictionaryVisitor<'de> for InputsVisitor {
    type Out = Vec<InputSlot>;
    type Error = VisitError;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        new_label(self.0.iter().map(|s| s.label.as_str()), key)?;
        self.0.push(InputSlot {
            label: key.as_str().to_owned(),
            state: Ok(empty_params()),
            seen: 0,
            seen_other: Vec::new(),
        });
        // Just pushed: the slot exists.
        match self.0.last_mut() {
            Some(slot) => Ok(InputEntry(slot)),
            None => Err(VisitError("internal".into())),
        }
    }

    fn finish(self) -> Result<Self::Out, Self::Error> {
        Ok(self.0)
    }
}

struct InputEntry<'a>(&'a mut InputSlot);

impl<'de> EntryVisitor<'de> for InputEntry<'_> {
    type Error = VisitError;

    fn item(self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        self.0.fail(ParamsError::NotInnerList);
        Ok(Ignored)
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Self::Error> {
        if let Some(p) = self.0.params() {
            p.value.push('(');
        }
        Ok(InputList(self.0))
    }
}

struct InputList<'a>(&'a mut InputSlot);

impl<'de> InnerListVisitor<'de> for InputList<'_> {
    type Error = VisitError;

    fn item(&mut self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        let index = self.0.params().map_or(0, |p| p.components.len());
        if index >= MAX_COMPONENTS {
            self.0
                .fail(bad("components", "too many covered components"));
        }
        Ok(ComponentItem {
            slot: &mut *self.0,
            index,
        })
    }

    fn finish(self) -> Result<impl ParameterVisitor<'de>, Self::Error> {
        if let Some(p) = self.0.params() {
            p.value.push(')');
        }
        Ok(SignatureParameters(self.0))
    }
}

struct ComponentItem<'a> {
    slot: &'a mut InputSlot,
    index: usize,
}

impl<'de, 'a> ItemVisitor<'de> for ComponentItem<'a> {
    type Out = ();
    type Error = VisitError;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Self::Error> {
        let name = match bare_item {
            BareItemFromInput::String(s) => Some(s),
            _ => {
                self.slot
                    .fail(ParamsError::ComponentNotString { index: self.index });
                None
            }
        };
        Ok(ComponentParams {
            slot: self.slot,
            index: self.index,
            name,
            params: Parameters::new(),
        })
    }
}

struct ComponentParams<'a, 'de> {
    slot: &'a mut InputSlot,
    index: usize,
    name: Option<Cow<'de, StringRef>>,
    params: Parameters,
}

impl<'de> ParameterVisitor<'de> for ComponentParams<'_, 'de> {
    type Out = ();
    type Error = VisitError;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Self::Error> {
        if self.params.insert(key.to_owned(), value.into()).is_some() {
            self.slot.fail(ParamsError::BadComponent {
                index: self.index,
                reason: format!("parameter `{}` repeated", key.as_str()),
            });
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Self::Error> {
        let (Some(name), Some(_)) = (self.name, self.slot.params()) else {
            return Ok(());
        };
        match ComponentIdentifier::from_parts(&name, self.params) {
            Ok(id) => {
                if let Some(p) = self.slot.params() {
                    if !p.components.is_empty() {
                        p.value.push(' ');
                    }
                    p.value.push_str(id.as_str());
                    p.components.push(id);
                }
            }
            Err(reason) => self.slot.fail(ParamsError::BadComponent {
                index: self.index,
                reason,
            }),
        }
        Ok(())
    }
}

struct SignatureParameters<'a>(&'a mut InputSlot);

impl<'de> ParameterVisitor<'de> for SignatureParameters<'_> {
    type Out = ();
    type Error = VisitError;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Self::Error> {
        let name = key.as_str();
        if let Some(bit) = KNOWN_PARAMS.iter().position(|k| *k == name) {
            let mask = 1u8 << bit;
            if self.0.seen & mask != 0 {
                self.0.fail(bad(name, "is repeated"));
                return Ok(());
            }
            self.0.seen |= mask;
        } else if self.0.seen_other.iter().any(|o| o == name) {
            self.0.fail(bad(name, "is repeated"));
            return Ok(());
        } else {
            self.0.seen_other.push(name.to_owned());
        }
        let slot = &mut *self.0;
        let Ok(p) = &mut slot.state else {
            return Ok(());
        };
        let typed: Result<(), ParamsError> = match (name, &value) {
            ("created" | "expires", BareItemFromInput::Integer(i)) => {
                match u64::try_from(i64::from(*i)) {
                    Ok(t) if name == "created" => {
                        p.created = Some(t);
                        Ok(())
                    }
                    Ok(t) => {
                        p.expires = Some(t);
                        Ok(())
                    }
                    Err(_) => Err(bad(name, "must not be negative")),
                }
            }
            ("created" | "expires", _) => Err(bad(name, "must be an integer")),
            ("keyid" | "alg" | "nonce" | "tag", BareItemFromInput::String(s)) => {
                let s = Some(s.as_str().to_owned());
                match name {
                    "keyid" => p.keyid = s,
                    "alg" => p.alg = s,
                    "nonce" => p.nonce = s,
                    _ => p.tag = s,
                }
                Ok(())
            }
            ("keyid" | "alg" | "nonce" | "tag", _) => Err(bad(name, "must be a string")),
            _ => Ok(()),
        };
        match typed {
            Ok(()) => push_parameter(&mut p.value, key, &value),
            Err(e) => slot.fail(e),
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// One `Signature` member: a byte sequence, or why not.
pub(crate) type SignatureValue = (String, Result<Vec<u8>, FailureReason>);

/// Visits a whole `Signature` dictionary.
#[derive(Default)]
pub(crate) struct SignaturesVisitor(pub(crate) Vec<SignatureValue>);

impl<'de> DictionaryVisitor<'de> for SignaturesVisitor {
    type Out = Vec<SignatureValue>;
    type Error = VisitError;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        new_label(self.0.iter().map(|(l, _)| l.as_str()), key)?;
        self.0.push((
            key.as_str().to_owned(),
            Err(FailureReason::SignatureNotBytes),
        ));
        match self.0.last_mut() {
            Some((_, value)) => Ok(SignatureEntry(value)),
            None => Err(VisitError("internal".into())),
        }
    }

    fn finish(self) -> Result<Self::Out, Self::Error> {
        Ok(self.0)
    }
}

struct SignatureEntry<'a>(&'a mut Result<Vec<u8>, FailureReason>);

impl<'de> EntryVisitor<'de> for SignatureEntry<'_> {
    type Error = VisitError;

    fn item(self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        Ok(SignatureItem(self.0))
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Self::Error> {
        Ok(Ignored)
    }
}

struct SignatureItem<'a>(&'a mut Result<Vec<u8>, FailureReason>);

impl<'de> ItemVisitor<'de> for SignatureItem<'_> {
    type Out = ();
    type Error = VisitError;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Self::Error> {
        if let BareItemFromInput::ByteSequence(bytes) = bare_item {
            *self.0 = Ok(bytes);
        }
        Ok(Ignored)
    }
}
