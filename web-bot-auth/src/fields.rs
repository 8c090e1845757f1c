//! The `Signature-Input` and `Signature` fields (RFC 9421 §4): dictionaries keyed by label.

use std::convert::Infallible;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sfv::visitor::{DictionaryVisitor, EntryVisitor};
use sfv::{DictSerializer, Dictionary, FieldType, KeyRef, Parser};

use crate::error::{FailureReason, Input, ParamsError, ParseError};
use crate::input_visit::{InputsVisitor, SignaturesVisitor};
use crate::message::FieldSource;
use crate::params::SignatureParams;

/// Largest combined `Signature-Input` or `Signature` value read, in bytes.
pub const MAX_FIELD_BYTES: usize = 16 * 1024;

/// Most signatures read from one message.
pub const MAX_SIGNATURES: usize = 16;

/// Combines every line of a field with ", " (RFC 9110 §5.3). `None` when the field is absent.
pub(crate) fn combined_field(
    source: &dyn FieldSource,
    name: &str,
    input: Input,
) -> Result<Option<String>, ParseError> {
    let mut out: Option<String> = None;
    let mut too_large = false;
    let mut not_text = false;
    source.for_each_value(name, &mut |v| {
        let s = out.get_or_insert_with(String::new);
        if !s.is_empty() {
            s.push_str(", ");
        }
        if s.len() + v.len() > MAX_FIELD_BYTES {
            too_large = true;
            return;
        }
        match std::str::from_utf8(v) {
            Ok(t) => s.push_str(t),
            Err(_) => not_text = true,
        }
    });
    if too_large {
        return Err(ParseError::new(
            input,
            Some(MAX_FIELD_BYTES),
            format!("larger than {MAX_FIELD_BYTES} bytes"),
        ));
    }
    if not_text {
        return Err(ParseError::new(input, None, "not ASCII text"));
    }
    Ok(out)
}

#[derive(Debug)]
struct DuplicateKey(String);

impl std::fmt::Display for DuplicateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "label `{}` occurs more than once", self.0)
    }
}

impl std::error::Error for DuplicateKey {}

/// A dictionary visitor that refuses a repeated key instead of letting the last one win:
/// RFC 9421 §4 requires labels to be unique across all field lines.
struct UniqueKeys(Dictionary);

impl<'de> DictionaryVisitor<'de> for UniqueKeys {
    type Out = Dictionary;
    type Error = DuplicateKey;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        if self.0.contains_key(key) {
            return Err(DuplicateKey(key.as_str().to_owned()));
        }
        let entry: Result<_, Infallible> = DictionaryVisitor::entry(&mut self.0, key);
        match entry {
            Ok(e) => Ok(e),
            Err(never) => match never {},
        }
    }

    fn finish(self) -> Result<Dictionary, DuplicateKey> {
        Ok(self.0)
    }
}

/// Parses a dictionary field strictly (no repeated keys), with positioned errors.
pub(crate) fn parse_unique_dictionary(value: &str, input: Input) -> Result<Dictionary, ParseError> {
    Parser::new(value)
        .parse_dictionary_with_visitor(UniqueKeys(Dictionary::new()))
        .map_err(|e| ParseError::from_sfv(input, &e))
}

/// One signature found on a message: its label, its parameters, and its value.
#[derive(Debug, Clone)]
pub struct SignatureEntry {
    label: String,
    params: Result<SignatureParams, ParamsError>,
    signature: Result<Vec<u8>, FailureReason>,
}

impl SignatureEntry {
    /// The label (the dictionary key in both fields).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The signature parameters, or why they are unacceptable.
    pub fn params(&self) -> Result<&SignatureParams, &ParamsError> {
        self.params.as_ref()
    }

    /// The signature bytes, or why there are none.
    pub fn signature(&self) -> Result<&[u8], &FailureReason> {
        self.signature.as_deref()
    }
}

/// Reads every signature of a message from its `Signature-Input` and `Signature` fields.
///
/// Returns an empty list when neither field is present. A field that does not parse, a repeated
/// label, or too many signatures is an error for the whole message; a member whose parameters
/// are unacceptable, or a label present in only one field, is reported on that entry alone, so
/// that the other signatures can still be verified on their own.
pub fn signature_entries(headers: &dyn FieldSource) -> Result<Vec<SignatureEntry>, ParseError> {
    let inputs = match combined_field(headers, "signature-input", Input::SignatureInput)? {
        Some(v) => Parser::new(&v)
            .parse_dictionary_with_visitor(InputsVisitor::default())
            .map_err(|e| ParseError::from_sfv(Input::SignatureInput, &e))?,
        None => Vec::new(),
    };
    let mut sigs = match combined_field(headers, "signature", Input::Signature)? {
        Some(v) => Parser::new(&v)
            .parse_dictionary_with_visitor(SignaturesVisitor::default())
            .map_err(|e| ParseError::from_sfv(Input::Signature, &e))?,
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(inputs.len());
    for slot in inputs {
        let (label, params) = slot.finish();
        let signature = match sigs.iter().position(|(l, _)| *l == label) {
            Some(i) => sigs.swap_remove(i).1,
            None => Err(FailureReason::MissingSignatureValue(label.clone())),
        };
        out.push(SignatureEntry {
            label,
            params,
            signature,
        });
    }
    // Labels with a Signature but no Signature-Input.
    for (label, _) in sigs {
        out.push(SignatureEntry {
            params: Err(ParamsError::BadParameter {
                name: label.clone(),
                reason: "label has a Signature but no Signature-Input",
            }),
            signature: Err(FailureReason::MissingSignatureValue(label.clone())),
            label,
        });
    }
    Ok(out)
}

/// The field values to attach for one new signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFields {
    /// The label.
    pub label: String,
    /// The `Signature-Input` member, `label=(...)...`.
    pub signature_input: String,
    /// The `Signature` member, `label=:base64:`.
    pub signature: String,
}

impl SignatureFields {
    pub(crate) fn new(
        label: &str,
        params: &SignatureParams,
        sig: &[u8],
    ) -> Result<Self, ParseError> {
        let key = KeyRef::from_str(label).map_err(|e| {
            ParseError::new(
                Input::SignatureInput,
                e.index(),
                "label is not a valid dictionary key",
            )
        })?;
        let signature = {
            let mut ser = DictSerializer::new();
            let _ = ser.bare_item(key, sig);
            ser.finish().unwrap_or_default()
        };
        Ok(SignatureFields {
            label: label.to_owned(),
            signature_input: format!("{label}={}", params.as_str()),
            signature,
        })
    }

    /// The signature bytes, decoded again from the `Signature` member.
    pub fn signature_bytes(&self) -> Vec<u8> {
        self.signature
            .split_once('=')
            .and_then(|(_, v)| v.strip_prefix(':').and_then(|v| v.strip_suffix(':')))
            .and_then(|b| STANDARD.decode(b).ok())
            .unwrap_or_default()
    }
}

/// Serializes a parsed dictionary again (used by round-trip tests and the fuzz targets).
pub fn reserialize_dictionary(value: &str, input: Input) -> Result<String, ParseError> {
    let dict = parse_unique_dictionary(value, input)?;
    Ok(dict.serialize().unwrap_or_default())
}
