//! Signing (RFC 9421 §3.1).

use crate::base::SignatureBase;
use crate::error::{BaseError, KeyError, ParamsError, ParseError};
use crate::field::FieldTypes;
use crate::fields::SignatureFields;
use crate::keys::SigningKey;
use crate::message::MessageView;
use crate::params::SignatureParams;

/// Why a message could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The parameters are not acceptable.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The base could not be built (a covered field is missing, …).
    #[error(transparent)]
    Base(#[from] BaseError),
    /// The key could not sign, or `alg` does not match it.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The label is not a valid dictionary key.
    #[error(transparent)]
    Label(#[from] ParseError),
}

/// Signs messages with one key.
#[derive(Debug)]
pub struct Signer<'k> {
    key: &'k SigningKey,
    field_types: FieldTypes,
}

impl<'k> Signer<'k> {
    /// A signer for `key`.
    pub fn new(key: &'k SigningKey) -> Self {
        Signer {
            key,
            field_types: FieldTypes::default(),
        }
    }

    /// Uses these structured-field types for `;sf` components.
    pub fn with_field_types(mut self, types: FieldTypes) -> Self {
        self.field_types = types;
        self
    }

    /// Builds the base for `params` over `message` and signs it; returns the field members to
    /// add under `label`.
    pub fn sign(
        &self,
        message: &MessageView<'_>,
        label: &str,
        params: &SignatureParams,
    ) -> Result<SignatureFields, SignError> {
        self.sign_with_rng(&mut rand_core::OsRng, message, label, params)
    }

    /// As [`Signer::sign`], drawing randomness (RSA-PSS only) from `rng`.
    pub fn sign_with_rng(
        &self,
        rng: &mut impl rand_core::CryptoRngCore,
        message: &MessageView<'_>,
        label: &str,
        params: &SignatureParams,
    ) -> Result<SignatureFields, SignError> {
        if let Some(alg) = params.alg()
            && alg != self.key.algorithm().name()
        {
            {
                return Err(KeyError::AlgorithmMismatch {
                    key: self.key.algorithm().name(),
                    requested: crate::alg::Algorithm::from_name(alg)
                        .map_or("an unknown algorithm", |a| a.name()),
                }
                .into());
            }
        }
        let base = SignatureBase::new(message, params, &self.field_types)?;
        let sig = self.key.sign_with_rng(rng, base.as_bytes())?;
        Ok(SignatureFields::new(label, params, &sig)?)
    }
}

impl SignatureFields {
    /// Appends the two members to an `http::HeaderMap` as new `Signature-Input` and `Signature`
    /// field lines.
    pub fn append_to(&self, headers: &mut http::HeaderMap) {
        for (name, value) in [
            ("signature-input", &self.signature_input),
            ("signature", &self.signature),
        ] {
            // Both values are serialized structured fields: visible ASCII only.
            if let Ok(v) = http::HeaderValue::from_str(value) {
                headers.append(name, v);
            }
        }
    }
}
