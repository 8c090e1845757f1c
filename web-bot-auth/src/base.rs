//! The signature base (RFC 9421 §2.5).

use std::fmt;

use crate::component::{ComponentName, DerivedComponent};
use crate::derived;
use crate::error::BaseError;
use crate::field::{self, FieldTypes};
use crate::message::MessageView;
use crate::params::SignatureParams;

/// Largest signature base this crate builds.
pub const MAX_BASE_LEN: usize = 256 * 1024;

/// The exact bytes a signature is computed over.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureBase(String);

impl fmt::Debug for SignatureBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Covered fields may include credentials: show the size only.
        write!(f, "SignatureBase({} bytes)", self.0.len())
    }
}

impl SignatureBase {
    /// Builds the base for `params` over `message`.
    pub fn new(
        message: &MessageView<'_>,
        params: &SignatureParams,
        types: &FieldTypes,
    ) -> Result<Self, BaseError> {
        Self::with_member(message, params, types, None)
    }

    /// As [`SignatureBase::new`], with the serialized value of one dictionary member of a
    /// target-message header field already known (`(field, key, value)`), so that a field the
    /// caller parsed is not parsed again.
    pub(crate) fn with_member(
        message: &MessageView<'_>,
        params: &SignatureParams,
        types: &FieldTypes,
        known: Option<(&str, &str, &str)>,
    ) -> Result<Self, BaseError> {
        let mut out = String::with_capacity(256);
        for id in params.components() {
            out.push_str(id.as_str());
            out.push_str(": ");
            let req = id.is_req();
            let (request, response) = match message {
                MessageView::Request(r) => {
                    if req {
                        // `;req` on a request is an error (§2.5).
                        return Err(BaseError::NotApplicable(id.as_str().to_owned()));
                    }
                    (Some(r), None)
                }
                MessageView::Response(res, req_view) => {
                    if req {
                        match req_view {
                            Some(r) => (Some(r), None),
                            None => return Err(BaseError::MissingRequest(id.as_str().to_owned())),
                        }
                    } else {
                        (None, Some(res))
                    }
                }
            };
            match id.name() {
                ComponentName::Derived(DerivedComponent::Status) => match response {
                    Some(res) => {
                        if !(100..=999).contains(&res.status) {
                            return Err(BaseError::InvalidValue(id.as_str().to_owned()));
                        }
                        out.push_str(&res.status.to_string());
                    }
                    None => return Err(BaseError::NotApplicable(id.as_str().to_owned())),
                },
                ComponentName::Derived(d) => match request {
                    Some(r) => derived::request_value(r, *d, id, &mut out)?,
                    None => return Err(BaseError::NotApplicable(id.as_str().to_owned())),
                },
                ComponentName::Field(name) => {
                    let flags = id.flags();
                    if let Some((field, key, value)) = known
                        && field == name
                        && flags.key.as_deref() == Some(key)
                        && !flags.tr
                        && !req
                    {
                        out.push_str(value);
                        out.push('\n');
                        continue;
                    }
                    let source = match (request, response) {
                        (Some(r), _) if flags.tr => r.trailers,
                        (Some(r), _) => r.headers,
                        (None, Some(res)) if flags.tr => res.trailers,
                        (None, Some(res)) => res.headers,
                        (None, None) => {
                            return Err(BaseError::NotApplicable(id.as_str().to_owned()));
                        }
                    };
                    field::field_value(source, name, id, types, &mut out)?;
                }
            }
            out.push('\n');
            if out.len() > MAX_BASE_LEN {
                return Err(BaseError::TooLarge(MAX_BASE_LEN));
            }
        }
        out.push_str("\"@signature-params\": ");
        out.push_str(params.as_str());
        if !out.is_ascii() {
            return Err(BaseError::InvalidValue("@signature-params".into()));
        }
        if out.len() > MAX_BASE_LEN {
            return Err(BaseError::TooLarge(MAX_BASE_LEN));
        }
        Ok(SignatureBase(out))
    }

    /// The base as text (always ASCII).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The base as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}
