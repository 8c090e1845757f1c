//! The `Authorization: Bearer <token>` header (RFC 6750 §2.1) and Cloudflare Access's
//! `Cf-Access-Jwt-Assertion` header: zero-copy parsing with typed, positioned errors.
//!
//! ```
//! use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
//! use mcp_auth::bearer::{bearer_token, is_jwt_shaped};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer mcp_live_abc.DEF-123"));
//! let token = bearer_token(&headers).unwrap().unwrap();
//! assert_eq!(token.as_str(), "mcp_live_abc.DEF-123");
//! assert!(!format!("{token:?}").contains("abc")); // Debug never shows the token
//! assert!(!is_jwt_shaped(token.as_str()));        // so: an API token, not a JWT
//!
//! headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwYXNz"));
//! assert!(bearer_token(&headers).is_err());
//! ```
//!
//! Grammar (RFC 6750 §2.1, with RFC 9110 §11.1's case-insensitive scheme):
//!
//! ```text
//! credentials = "Bearer" 1*SP b64token
//! b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! Optional whitespace (SP / HTAB) around the whole field value is tolerated, as RFC 9110 §5.5
//! excludes it from the value; between the scheme and the token only spaces are accepted (one or
//! more).

use std::fmt;

use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderName};

use crate::scan::first_not;

/// The header Cloudflare Access puts the application token in, on every request it forwards.
pub const CF_ACCESS_JWT_ASSERTION: HeaderName = HeaderName::from_static("cf-access-jwt-assertion");

/// The longest scheme name an error keeps.
const MAX_SCHEME_IN_ERROR: usize = 32;

/// A bearer token borrowed from a request header. `Debug` shows only its length.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BearerToken<'a>(&'a str);

impl<'a> BearerToken<'a> {
    /// The token, exactly as sent. A secret: never log it.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether the token looks like a JWT (see [`is_jwt_shaped`]).
    pub fn is_jwt_shaped(&self) -> bool {
        is_jwt_shaped(self.0)
    }
}

impl fmt::Debug for BearerToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BearerToken([redacted; {} bytes])", self.0.len())
    }
}

/// Why an `Authorization` (or `Cf-Access-Jwt-Assertion`) header was refused. Positions are
/// byte offsets in the header value. The layer answers all of them with `invalid_request`
/// (RFC 6750 §3.1) except where noted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// The header appears more than once.
    #[error("{count} {name} headers; exactly one is allowed")]
    MultipleHeaders {
        /// The header's name.
        name: &'static str,
        /// How many there were.
        count: usize,
    },
    /// The value is empty (or only whitespace).
    #[error("empty {name} header")]
    Empty {
        /// The header's name.
        name: &'static str,
    },
    /// Another authentication scheme (`Basic`, `DPoP`, …), or no scheme at all: the
    /// credentials are not a bearer token.
    #[error("authorization scheme {} is not Bearer", scheme.as_deref().unwrap_or("(none)"))]
    OtherScheme {
        /// The scheme, for logs: kept only when it is a well-formed scheme name (RFC 9110
        /// `token`) of at most 32 bytes followed by a space. A value without a space may be a
        /// bare secret sent without its scheme, so nothing of it is kept.
        scheme: Option<String>,
    },
    /// `Bearer` with no token after it.
    #[error("Bearer scheme without a token (at byte {position})")]
    MissingToken {
        /// Where the token should have started.
        position: usize,
    },
    /// A byte outside the token grammar (b64token for `Authorization`, base64url JWS compact
    /// form for `Cf-Access-Jwt-Assertion`).
    #[error("invalid byte {byte:#04x} in token at byte {position}")]
    InvalidToken {
        /// The offending byte.
        byte: u8,
        /// Its offset in the header value.
        position: usize,
    },
    /// The `Cf-Access-Jwt-Assertion` value is not shaped like a JWT.
    #[error("Cf-Access-Jwt-Assertion is not a JWT")]
    NotAJwt,
}

/// Reads the bearer token of `Authorization`.
///
/// No header: `Ok(None)` (the caller decides whether credentials are needed). Several headers,
/// another scheme, a missing or malformed token: an error. The scheme is matched without regard
/// to case (`bearer`, `BEARER`).
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<BearerToken<'_>>, BearerError> {
    let name = "Authorization";
    let Some(value) = single(headers, &AUTHORIZATION, name)? else {
        return Ok(None);
    };
    parse_authorization(value.as_bytes()).map(Some)
}

/// Parses one `Authorization` field value as `Bearer <b64token>`.
pub fn parse_authorization(value: &[u8]) -> Result<BearerToken<'_>, BearerError> {
    let name = "Authorization";
    let (start, end) = trim_ows(value);
    if start == end {
        return Err(BearerError::Empty { name });
    }
    let field = &value[start..end];
    let scheme_len = field.iter().position(|&b| b == b' ').unwrap_or(field.len());
    let scheme = &field[..scheme_len];
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        let loggable = scheme_len < field.len()
            && scheme.len() <= MAX_SCHEME_IN_ERROR
            && scheme.iter().all(|&b| is_tchar(b));
        return Err(BearerError::OtherScheme {
            scheme: loggable.then(|| String::from_utf8_lossy(scheme).into_owned()),
        });
    }
    let mut token_start = scheme_len;
    while field.get(token_start) == Some(&b' ') {
        token_start += 1;
    }
    if token_start == scheme_len || token_start == field.len() {
        return Err(BearerError::MissingToken {
            position: start + token_start,
        });
    }
    let token = &field[token_start..];
    check_b64token(token, start + token_start)?;
    // Every byte was checked to be ASCII.
    match std::str::from_utf8(token) {
        Ok(token) => Ok(BearerToken(token)),
        Err(e) => Err(BearerError::InvalidToken {
            byte: token.get(e.valid_up_to()).copied().unwrap_or(0),
            position: start + token_start + e.valid_up_to(),
        }),
    }
}

/// Reads the `Cf-Access-Jwt-Assertion` header (the raw JWT, no scheme) that Cloudflare Access
/// adds to the requests it forwards. No header: `Ok(None)`; several, or a value that is not a
/// JWT: an error. Verify the token with [`crate::oauth::JwtVerifier::cloudflare_access`]; the
/// header alone proves nothing.
pub fn cf_access_jwt(headers: &HeaderMap) -> Result<Option<BearerToken<'_>>, BearerError> {
    let name = "Cf-Access-Jwt-Assertion";
    let Some(value) = single(headers, &CF_ACCESS_JWT_ASSERTION, name)? else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let (start, end) = trim_ows(bytes);
    if start == end {
        return Err(BearerError::Empty { name });
    }
    let token = &bytes[start..end];
    if let Some(i) = first_not(token, is_jws_byte) {
        return Err(BearerError::InvalidToken {
            byte: token[i],
            position: start + i,
        });
    }
    // Every byte was just checked: only the dots remain to be checked.
    match std::str::from_utf8(token) {
        Ok(token) if has_jws_dots(token.as_bytes()) => Ok(Some(BearerToken(token))),
        _ => Err(BearerError::NotAJwt),
    }
}

/// Whether `token` has the shape of a JWS compact serialization: three base64url segments
/// separated by two dots, the first two non-empty. The third (the signature) may be empty so
/// that unsigned (`alg: none`) tokens reach the JWT verifier and are refused there with a clear
/// reason rather than looked up as API tokens. The shape says nothing about validity.
pub fn is_jwt_shaped(token: &str) -> bool {
    let bytes = token.as_bytes();
    first_not(bytes, is_jws_byte).is_none() && has_jws_dots(bytes)
}

/// A byte of the JWS compact form: base64url or `.`.
fn is_jws_byte(b: u8) -> bool {
    is_base64url(b) | (b == b'.')
}

/// Whether `bytes` (already checked to be JWS bytes) has exactly two dots, neither at the start
/// nor next to the other: three segments, the first two non-empty.
fn has_jws_dots(bytes: &[u8]) -> bool {
    let mut dots = memchr::memchr_iter(b'.', bytes);
    match (dots.next(), dots.next(), dots.next()) {
        (Some(first), Some(second), None) => first > 0 && second > first + 1,
        _ => false,
    }
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `ALPHA / DIGIT / "-" / "_"`, without branches.
fn is_base64url(b: u8) -> bool {
    (b.wrapping_sub(b'0') < 10) | ((b | 0x20).wrapping_sub(b'a') < 26) | (b == b'-') | (b == b'_')
}

/// The body of a b64token: `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`.
fn is_b64token_body(b: u8) -> bool {
    is_base64url(b) | (b == b'.') | (b == b'~') | (b == b'+') | (b == b'/')
}

/// The one value of `name`, or `None`; an error if it appears more than once.
fn single<'h>(
    headers: &'h HeaderMap,
    header: &HeaderName,
    name: &'static str,
) -> Result<Option<&'h http::HeaderValue>, BearerError> {
    let mut values = headers.get_all(header).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let more = values.count();
    if more > 0 {
        return Err(BearerError::MultipleHeaders {
            name,
            count: more + 1,
        });
    }
    Ok(Some(first))
}

/// `[start, end)` of `value` without leading and trailing SP / HTAB.
fn trim_ows(value: &[u8]) -> (usize, usize) {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    (start, end)
}

/// Checks `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`; `offset` is the
/// token's position in the header value.
fn check_b64token(token: &[u8], offset: usize) -> Result<(), BearerError> {
    let body_len = first_not(token, is_b64token_body).unwrap_or(token.len());
    let invalid = |i: usize| BearerError::InvalidToken {
        byte: token[i],
        position: offset + i,
    };
    if body_len == 0 {
        return Err(invalid(0));
    }
    match token[body_len..].iter().position(|&b| b != b'=') {
        Some(i) => Err(invalid(body_len + i)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn auth(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static(value));
        h
    }

    fn token_of(value: &'static str) -> Result<String, BearerError> {
        let h = auth(value);
        bearer_token(&h).map(|t| t.map(|t| t.as_str().to_owned()).unwrap_or_default())
    }

    #[test]
    fn no_header_is_none() {
        assert_eq!(bearer_token(&HeaderMap::new()), Ok(None));
        assert_eq!(cf_access_jwt(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn scheme_is_case_insensitive_and_spaces_are_one_or_more() {
        assert_eq!(token_of("Bearer abc").as_deref(), Ok("abc"));
        assert_eq!(token_of("bearer abc").as_deref(), Ok("abc"));
        assert_eq!(token_of("BEARER abc").as_deref(), Ok("abc"));
        assert_eq!(token_of("BeArEr    abc").as_deref(), Ok("abc"));
        assert_eq!(token_of("  Bearer abc \t").as_deref(), Ok("abc"));
        assert_eq!(
            token_of("Bearer a-b.c_d~e+f/g==").as_deref(),
            Ok("a-b.c_d~e+f/g==")
        );
    }

    #[test]
    fn grammar_violations_carry_their_position() {
        assert_eq!(
            token_of("Bearer ab=c"),
            Err(BearerError::InvalidToken {
                byte: b'c',
                position: 10
            })
        );
        assert_eq!(
            token_of("Bearer =abc"),
            Err(BearerError::InvalidToken {
                byte: b'=',
                position: 7
            })
        );
        assert_eq!(
            token_of("Bearer abc def"),
            Err(BearerError::InvalidToken {
                byte: b' ',
                position: 10
            })
        );
        assert_eq!(
            token_of("Bearer\tabc"),
            Err(BearerError::OtherScheme { scheme: None })
        );
        assert_eq!(
            token_of("Bearer"),
            Err(BearerError::MissingToken { position: 6 })
        );
        assert_eq!(
            token_of("Bearer    "),
            Err(BearerError::MissingToken { position: 6 })
        );
        assert_eq!(
            token_of("  "),
            Err(BearerError::Empty {
                name: "Authorization"
            })
        );
        assert_eq!(
            token_of("Bearerabc"),
            Err(BearerError::OtherScheme { scheme: None })
        );
    }

    #[test]
    fn other_schemes_are_typed_errors() {
        assert_eq!(
            token_of("Basic dXNlcjpwYXNz"),
            Err(BearerError::OtherScheme {
                scheme: Some("Basic".into())
            })
        );
        assert_eq!(
            token_of("DPoP eyJ.eyJ.sig"),
            Err(BearerError::OtherScheme {
                scheme: Some("DPoP".into())
            })
        );
        // A bare secret (no scheme) or an over-long "scheme" is never copied into the error.
        for value in [
            "mcp_live_secret0123456789".to_owned(),
            format!("{} x", "S".repeat(33)),
        ] {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
            assert_eq!(
                bearer_token(&h),
                Err(BearerError::OtherScheme { scheme: None })
            );
        }
    }

    #[test]
    fn non_ascii_bytes_are_refused_with_position() {
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer ab\xc3\xa9").unwrap(),
        );
        assert_eq!(
            bearer_token(&h),
            Err(BearerError::InvalidToken {
                byte: 0xc3,
                position: 9
            })
        );
    }

    #[test]
    fn several_headers_are_refused() {
        let mut h = auth("Bearer a");
        h.append(AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(
            bearer_token(&h),
            Err(BearerError::MultipleHeaders {
                name: "Authorization",
                count: 2
            })
        );
    }

    #[test]
    fn debug_is_redacted() {
        let h = auth("Bearer supersecretvalue");
        let t = bearer_token(&h).unwrap().unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(shown.contains("16 bytes"));
    }

    #[test]
    fn jwt_shape() {
        assert!(is_jwt_shaped("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(is_jwt_shaped("a.b."));
        assert!(!is_jwt_shaped("a.b"));
        assert!(!is_jwt_shaped("a.b.c.d"));
        assert!(!is_jwt_shaped(".b.c"));
        assert!(!is_jwt_shaped("a..c"));
        assert!(!is_jwt_shaped("a.b+.c"));
        assert!(!is_jwt_shaped("a.b.c="));
        assert!(!is_jwt_shaped("mcp_live_abcdef"));
        assert!(!is_jwt_shaped(""));
    }

    #[test]
    fn cf_access_header() {
        let mut h = HeaderMap::new();
        h.insert(
            CF_ACCESS_JWT_ASSERTION,
            HeaderValue::from_static("eyJh.eyJz.c2ln"),
        );
        assert_eq!(
            cf_access_jwt(&h).unwrap().map(|t| t.as_str()),
            Some("eyJh.eyJz.c2ln")
        );
        h.insert(
            CF_ACCESS_JWT_ASSERTION,
            HeaderValue::from_static("Bearer x.y.z"),
        );
        assert_eq!(
            cf_access_jwt(&h),
            Err(BearerError::InvalidToken {
                byte: b' ',
                position: 6
            })
        );
        h.insert(CF_ACCESS_JWT_ASSERTION, HeaderValue::from_static("abc"));
        assert_eq!(cf_access_jwt(&h), Err(BearerError::NotAJwt));
        h.append(CF_ACCESS_JWT_ASSERTION, HeaderValue::from_static("a.b.c"));
        assert!(matches!(
            cf_access_jwt(&h),
            Err(BearerError::MultipleHeaders { count: 2, .. })
        ));
    }

    fn b64token_byte(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
    }

    proptest! {
        #[test]
        fn never_panics_and_tokens_match_the_grammar(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(token) = parse_authorization(&value) {
                let t = token.as_str().as_bytes();
                let body = t.iter().take_while(|b| b64token_byte(**b)).count();
                prop_assert!(body > 0);
                prop_assert!(t[body..].iter().all(|b| *b == b'='));
            }
        }

        #[test]
        fn valid_tokens_round_trip(
            token in "[A-Za-z0-9._~+/-]{1,40}={0,2}",
            spaces in 1usize..4,
            upper in any::<bool>(),
        ) {
            let scheme = if upper { "BEARER" } else { "Bearer" };
            let value = format!("{scheme}{}{token}", " ".repeat(spaces));
            prop_assert_eq!(parse_authorization(value.as_bytes()).map(|t| t.as_str()), Ok(token.as_str()));
        }

        #[test]
        fn jwt_shape_is_three_base64url_segments_the_first_two_non_empty(
            token in "[A-Za-z0-9_.=+~-]{0,24}",
        ) {
            let segments: Vec<&str> = token.split('.').collect();
            let expected = segments.len() == 3
                && !segments[0].is_empty()
                && !segments[1].is_empty()
                && segments.iter().all(|s| {
                    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
            prop_assert_eq!(is_jwt_shaped(&token), expected, "{}", token);
        }
    }
}
