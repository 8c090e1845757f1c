//! Why a JWT was refused: one variant per [`FailureReason`], each with a detail for logs.

use std::borrow::Cow;

use crate::audit::FailureReason;

/// Why a JWT was refused. The detail is for logs and audit events; it never contains the token
/// (claim values quoted in it are cut short). To the client, every variant is
/// `401 invalid_token` (RFC 6750 §3.1), except [`JwtRefusal::KeysUnavailable`], which the layer
/// may answer with `503`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtRefusal {
    /// Not a JWS compact serialization, bad base64url or JSON, a `crit` header, too long.
    #[error("malformed JWT: {detail}")]
    Malformed {
        /// What was wrong.
        detail: Cow<'static, str>,
    },
    /// The signature does not verify, or the token's algorithm is not the one its key is pinned
    /// to (this includes `alg: none` and HMAC tokens presented for an asymmetric key).
    #[error("bad signature: {detail}")]
    BadSignature {
        /// What was wrong.
        detail: Cow<'static, str>,
    },
    /// The token names a key (`kid`) the key set does not hold, or names none while several keys
    /// could verify it.
    #[error("unknown key: {detail}")]
    UnknownKey {
        /// What was wrong.
        detail: Cow<'static, str>,
    },
    /// `exp` is past, leeway included.
    #[error("expired: {detail}")]
    Expired {
        /// What was wrong.
        detail: Cow<'static, str>,
    },
    /// A required claim is missing or malformed, the issuer or audience is not the configured
    /// one, the token is not yet valid (`nbf`), or a scope is invalid.
    #[error("invalid claims: {detail}")]
    InvalidClaims {
        /// What was wrong.
        detail: Cow<'static, str>,
    },
    /// The key set could not be fetched and nothing usable is cached (fail closed).
    #[error("keys unavailable: {detail}")]
    KeysUnavailable {
        /// What was wrong.
        detail: Cow<'static, str>,
    },
}

impl JwtRefusal {
    /// The audit reason.
    pub fn reason(&self) -> FailureReason {
        match self {
            JwtRefusal::Malformed { .. } => FailureReason::Malformed,
            JwtRefusal::BadSignature { .. } => FailureReason::BadSignature,
            JwtRefusal::UnknownKey { .. } => FailureReason::UnknownKey,
            JwtRefusal::Expired { .. } => FailureReason::Expired,
            JwtRefusal::InvalidClaims { .. } => FailureReason::InvalidClaims,
            JwtRefusal::KeysUnavailable { .. } => FailureReason::StoreUnavailable,
        }
    }

    /// The detail, for logs.
    pub fn detail(&self) -> &str {
        match self {
            JwtRefusal::Malformed { detail }
            | JwtRefusal::BadSignature { detail }
            | JwtRefusal::UnknownKey { detail }
            | JwtRefusal::Expired { detail }
            | JwtRefusal::InvalidClaims { detail }
            | JwtRefusal::KeysUnavailable { detail } => detail,
        }
    }

    pub(crate) fn malformed(detail: &'static str) -> JwtRefusal {
        JwtRefusal::Malformed {
            detail: Cow::Borrowed(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_and_details() {
        let r = JwtRefusal::KeysUnavailable {
            detail: "jwks down".into(),
        };
        assert_eq!(r.reason(), FailureReason::StoreUnavailable);
        assert_eq!(r.detail(), "jwks down");
        assert_eq!(r.to_string(), "keys unavailable: jwks down");
        assert_eq!(
            JwtRefusal::malformed("x").reason(),
            FailureReason::Malformed
        );
    }
}
