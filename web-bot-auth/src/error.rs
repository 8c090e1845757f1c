//! Error types.
//!
//! Parse errors carry the byte position in the input where the parser stopped (when the input is a
//! field value). Verification failures are reported to callers as one opaque [`VerifyError`]
//! whose [`VerifyError::reason`] gives the detail for logs.

use std::fmt;

/// Which input a [`ParseError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// The `Signature-Input` field.
    SignatureInput,
    /// The `Signature` field.
    Signature,
    /// The `Signature-Agent` field.
    SignatureAgent,
    /// The `Content-Digest` field.
    ContentDigest,
    /// A structured field covered with `;sf`, `;key` or `;bs`.
    CoveredField,
    /// A component identifier inside `Signature-Input`.
    ComponentIdentifier,
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Input::SignatureInput => "Signature-Input",
            Input::Signature => "Signature",
            Input::SignatureAgent => "Signature-Agent",
            Input::ContentDigest => "Content-Digest",
            Input::CoveredField => "covered field",
            Input::ComponentIdentifier => "component identifier",
        })
    }
}

/// A field value that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}: {message}{}", at(*.offset))]
pub struct ParseError {
    /// Which input.
    pub input: Input,
    /// Byte offset in the (combined) field value where parsing failed, when known.
    pub offset: Option<usize>,
    /// What is wrong.
    pub message: String,
}

fn at(offset: Option<usize>) -> String {
    match offset {
        Some(o) => format!(" at byte {o}"),
        None => String::new(),
    }
}

impl ParseError {
    pub(crate) fn new(input: Input, offset: Option<usize>, message: impl Into<String>) -> Self {
        ParseError {
            input,
            offset,
            message: message.into(),
        }
    }

    pub(crate) fn from_sfv(input: Input, err: &sfv::Error) -> Self {
        // sfv's Display already names the position; keep the message short and the offset typed.
        let message = err.to_string();
        let message = match message.split_once(" at index ") {
            Some((head, _)) => head.to_owned(),
            None => message,
        };
        ParseError::new(input, err.index(), message)
    }
}

/// Why the signature parameters of one signature are not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// The member is an item, not an inner list of component identifiers.
    #[error("signature input member is not an inner list")]
    NotInnerList,
    /// A covered component is not a string.
    #[error("component identifier {index} is not a string")]
    ComponentNotString {
        /// Position in the list of covered components.
        index: usize,
    },
    /// A component identifier is malformed or names an unknown derived component.
    #[error("component identifier {index}: {reason}")]
    BadComponent {
        /// Position in the list of covered components.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The same component identifier appears twice.
    #[error("component {0} is covered twice")]
    DuplicateComponent(String),
    /// A signature parameter has the wrong type or value.
    #[error("signature parameter `{name}`: {reason}")]
    BadParameter {
        /// Parameter name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Why a signature base could not be built for a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BaseError {
    /// A covered header field is absent from the message.
    #[error("covered field `{0}` is not in the message")]
    MissingField(String),
    /// `;key` names a member the dictionary does not have.
    #[error("field `{field}` has no dictionary member `{key}`")]
    MissingMember {
        /// Field name.
        field: String,
        /// Member key.
        key: String,
    },
    /// `;key` on a field known to be a List or an Item.
    #[error("field `{0}` is not a dictionary")]
    NotADictionary(String),
    /// `;sf` on a field whose structured type is unknown.
    #[error("field `{0}` is not known to be a structured field")]
    UnknownStructuredType(String),
    /// A covered structured field does not parse.
    #[error("covered field `{field}`: {error}")]
    BadStructuredField {
        /// Field name.
        field: String,
        /// The parse error.
        error: ParseError,
    },
    /// A derived component that does not apply to this kind of message.
    #[error("component `{0}` does not apply to this message")]
    NotApplicable(String),
    /// `;req` was used but the related request is not available.
    #[error("component `{0}` needs the request this response answers")]
    MissingRequest(String),
    /// `@query-param` names a parameter that is absent.
    #[error("query parameter `{0}` is not in the query")]
    MissingQueryParam(String),
    /// `@query-param` names a parameter that occurs more than once.
    #[error("query parameter `{0}` occurs more than once")]
    RepeatedQueryParam(String),
    /// The request has no authority (no `Host` and no authority in the target).
    #[error("the request has no authority")]
    MissingAuthority,
    /// A component value contains a character the base cannot carry.
    #[error("component `{0}` has a value with a newline or a non-ASCII character")]
    InvalidValue(String),
    /// The resulting base would be too large.
    #[error("signature base larger than {0} bytes")]
    TooLarge(usize),
}

/// Why a key could not be loaded or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The JSON of a JWK or JWKS is malformed.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A required JWK member is missing or malformed.
    #[error("JWK member `{0}` is missing or malformed")]
    Member(&'static str),
    /// Key type or curve not supported (or its cargo feature is off).
    #[error("unsupported key: {0}")]
    Unsupported(String),
    /// The key material is not a valid key.
    #[error("invalid key material: {0}")]
    Invalid(String),
    /// The PEM document could not be read.
    #[error("PEM: {0}")]
    Pem(String),
    /// The key's algorithm does not match the requested one.
    #[error("key is for {key}, not {requested}")]
    AlgorithmMismatch {
        /// The key's algorithm.
        key: &'static str,
        /// The algorithm asked for.
        requested: &'static str,
    },
    /// An RSA key whose algorithm (PSS or v1.5) is not stated.
    #[error("RSA key without an algorithm: say rsa-pss-sha512 or rsa-v1_5-sha256")]
    AmbiguousRsa,
    /// A private key was required but a public key was given.
    #[error("a private key is required")]
    NotPrivate,
    /// Signing failed inside the cryptographic library.
    #[error("signing failed")]
    Signing,
}

impl KeyError {
    pub(crate) fn json(err: &serde_json::Error) -> Self {
        let message = err.to_string();
        let message = match message.split_once(" at line ") {
            Some((head, _)) => head.to_owned(),
            None => message,
        };
        KeyError::Json {
            line: err.line(),
            column: err.column(),
            message,
        }
    }
}

/// The detailed reason a signature failed to verify. For logs; do not send it to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailureReason {
    /// `Signature-Input` names a label that `Signature` lacks (or the reverse).
    #[error("no `Signature` member for label `{0}`")]
    MissingSignatureValue(String),
    /// The `Signature` member is not a byte sequence.
    #[error("`Signature` member is not a byte sequence")]
    SignatureNotBytes,
    /// The signature parameters are unacceptable.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The signature base could not be built.
    #[error(transparent)]
    Base(#[from] BaseError),
    /// No key was found for the signature.
    #[error("no key for keyid `{0}`")]
    UnknownKey(String),
    /// The signature has no `keyid` and no key was given.
    #[error("no keyid and no key")]
    NoKeyId,
    /// `alg` names an algorithm this build does not know.
    #[error("unknown or disabled algorithm `{0}`")]
    UnknownAlgorithm(String),
    /// `alg` does not match the key's algorithm.
    #[error("alg `{alg}` does not match the key's algorithm `{key}`")]
    AlgorithmMismatch {
        /// The `alg` parameter.
        alg: String,
        /// The key's algorithm.
        key: &'static str,
    },
    /// The key is refused by policy (HMAC under the profile, an RFC test key).
    #[error("key refused: {0}")]
    KeyRefused(&'static str),
    /// The cryptographic check failed.
    #[error("signature does not match")]
    Mismatch,
    /// A profile requirement is not met.
    #[error("{0}")]
    Profile(String),
    /// `created` is in the future beyond the allowed skew.
    #[error("signature created in the future ({created} > now {now} + skew)")]
    NotYetValid {
        /// `created`.
        created: u64,
        /// The verifier's clock.
        now: u64,
    },
    /// `expires` is in the past beyond the allowed skew.
    #[error("signature expired at {expires} (now {now})")]
    Expired {
        /// `expires`.
        expires: u64,
        /// The verifier's clock.
        now: u64,
    },
    /// `expires - created` exceeds the configured maximum lifetime.
    #[error("signature lifetime {lifetime}s exceeds the maximum {max}s")]
    LifetimeTooLong {
        /// `expires - created`.
        lifetime: u64,
        /// The configured maximum.
        max: u64,
    },
    /// The nonce was seen before.
    #[error("nonce replayed")]
    Replayed,
    /// The replay store could not answer; the verifier fails closed.
    #[error("replay store unavailable: {0}")]
    ReplayStore(String),
}

/// A signature that did not verify.
///
/// Its `Display` says only "signature verification failed", so that it can be shown to a
/// client without teaching an attacker anything; [`VerifyError::reason`] has the detail for logs.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyError {
    reason: FailureReason,
}

impl VerifyError {
    /// The detailed reason, for logs.
    pub fn reason(&self) -> &FailureReason {
        &self.reason
    }
}

impl<T: Into<FailureReason>> From<T> for VerifyError {
    fn from(reason: T) -> Self {
        VerifyError {
            reason: reason.into(),
        }
    }
}

impl fmt::Debug for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyError")
            .field("reason", &self.reason)
            .finish()
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("signature verification failed")
    }
}

impl std::error::Error for VerifyError {}
