//! `WWW-Authenticate: Bearer` challenges (RFC 6750 §3, RFC 9728 §5.1): built for 401 and 403
//! responses, and parsed back for clients and tests.
//!
//! - Missing credentials: no error code, only `resource_metadata` and `scope` (RFC 6750 §3.1).
//! - Invalid or expired token: `error="invalid_token"` (401).
//! - Insufficient scope: `error="insufficient_scope"` with `scope` listing every scope the call
//!   needs (403).
//! - Malformed request: `error="invalid_request"` (400).
//!
//! Values are quoted strings; `"` and `\` are escaped, and characters outside printable ASCII
//! (controls, DEL, non-ASCII) are dropped when a value is set, so the rendered header value is
//! always valid.
//!
//! ```
//! use mcp_auth::challenge::BearerChallenge;
//! use mcp_auth::scope::Scopes;
//!
//! let scopes = Scopes::parse("orders:read orders:write").unwrap();
//! let challenge = BearerChallenge::insufficient_scope(&scopes)
//!     .resource_metadata("https://shop.example/.well-known/oauth-protected-resource/mcp");
//! let value = challenge.to_header_value();
//! assert_eq!(
//!     value.to_str().unwrap(),
//!     "Bearer resource_metadata=\"https://shop.example/.well-known/oauth-protected-resource/mcp\", \
//!      scope=\"orders:read orders:write\", error=\"insufficient_scope\""
//! );
//! assert_eq!(BearerChallenge::parse(value.to_str().unwrap()).unwrap(), challenge);
//! ```

use std::fmt::{self, Write as _};

use http::HeaderValue;

use crate::scope::Scopes;

/// The longest header value [`BearerChallenge::parse`] reads.
pub const MAX_CHALLENGE_LEN: usize = 8 * 1024;
/// The most parameters one challenge may carry when parsed.
pub const MAX_CHALLENGE_PARAMS: usize = 32;

/// The `error` code of a Bearer challenge (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BearerErrorCode {
    /// `invalid_request`: the request is malformed (400).
    InvalidRequest,
    /// `invalid_token`: the token is expired, revoked, malformed or for another resource (401).
    InvalidToken,
    /// `insufficient_scope`: the token lacks a scope the call needs (403).
    InsufficientScope,
    /// Another code, read from a parsed challenge.
    Other(String),
}

impl BearerErrorCode {
    /// The code as written in the header.
    pub fn as_str(&self) -> &str {
        match self {
            BearerErrorCode::InvalidRequest => "invalid_request",
            BearerErrorCode::InvalidToken => "invalid_token",
            BearerErrorCode::InsufficientScope => "insufficient_scope",
            BearerErrorCode::Other(code) => code,
        }
    }

    fn from_value(value: String) -> BearerErrorCode {
        match value.as_str() {
            "invalid_request" => BearerErrorCode::InvalidRequest,
            "invalid_token" => BearerErrorCode::InvalidToken,
            "insufficient_scope" => BearerErrorCode::InsufficientScope,
            _ => BearerErrorCode::Other(value),
        }
    }
}

impl fmt::Display for BearerErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `Bearer` challenge for the `WWW-Authenticate` header.
///
/// Parameters are rendered in this order: `realm`, `resource_metadata`, `scope`, `error`,
/// `error_description`, `error_uri`, then any other parameter a parsed challenge carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    realm: Option<String>,
    resource_metadata: Option<String>,
    scope: Option<String>,
    error: Option<BearerErrorCode>,
    error_description: Option<String>,
    error_uri: Option<String>,
    other: Vec<(String, String)>,
}

/// Keeps printable ASCII (`0x20..=0x7E`): what a header value may hold and a client can read.
fn clean(value: &str) -> String {
    value.chars().filter(|c| matches!(c, ' '..='~')).collect()
}

/// Keeps RFC 6749 scope-token characters and single spaces between tokens.
fn clean_scope<'a>(scopes: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut out = String::new();
    for scope in scopes {
        let token: String = scope
            .chars()
            .filter(|c| matches!(c, '!' | '#'..='[' | ']'..='~'))
            .collect();
        if !token.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&token);
        }
    }
    (!out.is_empty()).then_some(out)
}

impl BearerChallenge {
    /// A challenge without an error code: the request had no credentials (RFC 6750 §3.1).
    pub fn new() -> BearerChallenge {
        BearerChallenge::default()
    }

    /// `error="invalid_token"`.
    pub fn invalid_token() -> BearerChallenge {
        BearerChallenge::new().error(BearerErrorCode::InvalidToken)
    }

    /// `error="invalid_request"`.
    pub fn invalid_request() -> BearerChallenge {
        BearerChallenge::new().error(BearerErrorCode::InvalidRequest)
    }

    /// `error="insufficient_scope"` with `scope` = every scope the call needs.
    pub fn insufficient_scope(required: &Scopes) -> BearerChallenge {
        BearerChallenge::new()
            .error(BearerErrorCode::InsufficientScope)
            .scopes(required)
    }

    /// Sets `realm`.
    pub fn realm(mut self, realm: &str) -> BearerChallenge {
        self.realm = Some(clean(realm));
        self
    }

    /// Sets `resource_metadata`: the URL of the RFC 9728 document (see
    /// [`metadata_url`](crate::metadata::metadata_url)).
    pub fn resource_metadata(mut self, url: &str) -> BearerChallenge {
        self.resource_metadata = Some(clean(url));
        self
    }

    /// Sets `scope` from validated scopes (omitted when empty).
    pub fn scopes(mut self, scopes: &Scopes) -> BearerChallenge {
        self.scope = clean_scope(scopes.iter().map(|s| s.as_str()));
        self
    }

    /// Sets `scope` from a space-separated list; characters a scope may not hold are dropped
    /// (omitted when nothing is left).
    pub fn scope(mut self, scope: &str) -> BearerChallenge {
        self.scope = clean_scope(scope.split(' '));
        self
    }

    /// Sets `error`.
    pub fn error(mut self, code: BearerErrorCode) -> BearerChallenge {
        self.error = Some(match code {
            BearerErrorCode::Other(other) => BearerErrorCode::from_value(clean(&other)),
            known => known,
        });
        self
    }

    /// Sets `error_description`, a human-readable explanation (no secrets: clients log it).
    pub fn error_description(mut self, description: &str) -> BearerChallenge {
        self.error_description = Some(clean(description));
        self
    }

    /// Sets `error_uri`.
    pub fn error_uri(mut self, uri: &str) -> BearerChallenge {
        self.error_uri = Some(clean(uri));
        self
    }

    /// The `realm`.
    pub fn realm_value(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The `resource_metadata` URL.
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }

    /// The `scope` value, space-separated.
    pub fn scope_value(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The `error` code.
    pub fn error_code(&self) -> Option<&BearerErrorCode> {
        self.error.as_ref()
    }

    /// The `error_description`.
    pub fn error_description_value(&self) -> Option<&str> {
        self.error_description.as_deref()
    }

    /// The `error_uri`.
    pub fn error_uri_value(&self) -> Option<&str> {
        self.error_uri.as_deref()
    }

    /// Parameters of a parsed challenge this type has no field for (names lowercased), in order.
    pub fn other_params(&self) -> &[(String, String)] {
        &self.other
    }

    /// The header value. Never fails: every value holds printable ASCII only.
    pub fn to_header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }

    /// Reads the `Bearer` challenge of a `WWW-Authenticate` value (which may list challenges of
    /// other schemes too; the first `Bearer` one is returned).
    pub fn parse(header: &str) -> Result<BearerChallenge, ChallengeParseError> {
        if header.len() > MAX_CHALLENGE_LEN {
            return Err(ChallengeParseError::TooLong { len: header.len() });
        }
        let mut cursor = Cursor {
            bytes: header.as_bytes(),
            pos: 0,
        };
        let mut found = None;
        loop {
            cursor.skip_separators();
            if cursor.at_end() {
                break;
            }
            let (is_bearer, params) = parse_challenge(&mut cursor)?;
            if is_bearer && found.is_none() {
                found = Some(params);
            }
        }
        let Some(params) = found else {
            return Err(ChallengeParseError::NoBearerChallenge);
        };
        let mut challenge = BearerChallenge::new();
        for param in params {
            let slot = match param.name.as_str() {
                "realm" => &mut challenge.realm,
                "resource_metadata" => &mut challenge.resource_metadata,
                "scope" => &mut challenge.scope,
                "error_description" => &mut challenge.error_description,
                "error_uri" => &mut challenge.error_uri,
                "error" => {
                    challenge.error = Some(BearerErrorCode::from_value(param.value));
                    continue;
                }
                _ => {
                    challenge.other.push((param.name, param.value));
                    continue;
                }
            };
            *slot = Some(param.value);
        }
        Ok(challenge)
    }
}

fn write_quoted(out: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.write_char('\\')?;
        }
        out.write_char(c)?;
    }
    out.write_char('"')
}

impl fmt::Display for BearerChallenge {
    /// The header value, e.g. `Bearer resource_metadata="…", scope="a b"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer")?;
        let known = [
            ("realm", self.realm.as_deref()),
            ("resource_metadata", self.resource_metadata.as_deref()),
            ("scope", self.scope.as_deref()),
            ("error", self.error.as_ref().map(BearerErrorCode::as_str)),
            ("error_description", self.error_description.as_deref()),
            ("error_uri", self.error_uri.as_deref()),
        ];
        let params = known
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v)))
            .chain(self.other.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        for (i, (name, value)) in params.enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            // Names of parsed parameters are tokens; values are cleaned or were parsed.
            f.write_str(name)?;
            f.write_char('=')?;
            write_quoted(f, value)?;
        }
        Ok(())
    }
}

/// Why a `WWW-Authenticate` value could not be read. Positions are byte offsets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeParseError {
    /// The value is longer than [`MAX_CHALLENGE_LEN`].
    #[error("challenge of {len} bytes is longer than {MAX_CHALLENGE_LEN}")]
    TooLong {
        /// The value's length.
        len: usize,
    },
    /// No `Bearer` challenge in the value.
    #[error("no Bearer challenge")]
    NoBearerChallenge,
    /// An auth scheme (a token) was expected.
    #[error("expected an auth scheme at byte {position}")]
    ExpectedScheme {
        /// Where.
        position: usize,
    },
    /// A parameter value (a token or a quoted string) was expected.
    #[error("expected a token or a quoted string at byte {position}")]
    ExpectedValue {
        /// Where.
        position: usize,
    },
    /// A `,` or the end was expected after a parameter.
    #[error("expected ',' at byte {position}")]
    ExpectedComma {
        /// Where.
        position: usize,
    },
    /// A quoted string has no closing quote.
    #[error("unterminated quoted string opened at byte {position}")]
    UnterminatedQuote {
        /// Where the string opened.
        position: usize,
    },
    /// A control character inside a quoted string.
    #[error("invalid character at byte {position}")]
    InvalidCharacter {
        /// Where.
        position: usize,
    },
    /// A parameter appears twice in one challenge (RFC 9110 §11.2).
    #[error("parameter {name:?} repeated at byte {position}")]
    DuplicateParameter {
        /// The parameter, lowercased.
        name: String,
        /// Where the repetition starts.
        position: usize,
    },
    /// More than [`MAX_CHALLENGE_PARAMS`] parameters.
    #[error("more than {MAX_CHALLENGE_PARAMS} parameters at byte {position}")]
    TooManyParameters {
        /// Where the parameter over the limit starts.
        position: usize,
    },
    /// A `Bearer` challenge in token68 form, which RFC 6750 does not define.
    #[error("Bearer challenge in token68 form at byte {position}")]
    Token68 {
        /// Where.
        position: usize,
    },
}

struct Param {
    name: String,
    value: String,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, pos: usize) -> Option<u8> {
        self.bytes.get(pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Option<&str> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        let token = self.bytes.get(start..self.pos)?;
        if token.is_empty() {
            return None;
        }
        std::str::from_utf8(token).ok()
    }

    /// Whether an `auth-param` (`token BWS "=" BWS ( token / quoted-string )`) starts here.
    fn at_param(&self) -> bool {
        let mut pos = self.pos;
        let start = pos;
        while self.peek_at(pos).is_some_and(is_tchar) {
            pos += 1;
        }
        if pos == start {
            return false;
        }
        while matches!(self.peek_at(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        if self.peek_at(pos) != Some(b'=') {
            return false;
        }
        pos += 1;
        while matches!(self.peek_at(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        self.peek_at(pos).is_some_and(|b| b == b'"' || is_tchar(b))
    }

    /// Whether a token68 (`1*tchar68 *"="`) followed by the end or a separator starts here.
    fn at_token68(&self) -> bool {
        let mut pos = self.pos;
        let start = pos;
        while self.peek_at(pos).is_some_and(is_token68_char) {
            pos += 1;
        }
        if pos == start {
            return false;
        }
        while self.peek_at(pos) == Some(b'=') {
            pos += 1;
        }
        matches!(self.peek_at(pos), None | Some(b' ' | b'\t' | b','))
    }

    fn quoted(&mut self) -> Result<String, ChallengeParseError> {
        let open = self.pos;
        self.pos += 1;
        let mut value = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(ChallengeParseError::UnterminatedQuote { position: open });
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    let escaped = self.peek_at(self.pos + 1);
                    match escaped {
                        Some(e) if e == b'\t' || (e >= 0x20 && e != 0x7f) => {
                            value.push(e);
                            self.pos += 2;
                        }
                        Some(_) => {
                            return Err(ChallengeParseError::InvalidCharacter {
                                position: self.pos + 1,
                            });
                        }
                        None => {
                            return Err(ChallengeParseError::UnterminatedQuote { position: open });
                        }
                    }
                }
                b if b == b'\t' || (b >= 0x20 && b != 0x7f) => {
                    value.push(b);
                    self.pos += 1;
                }
                _ => {
                    return Err(ChallengeParseError::InvalidCharacter { position: self.pos });
                }
            }
        }
        // Splits happened at ASCII bytes of a `str`, so the bytes are UTF-8.
        String::from_utf8(value)
            .map_err(|_| ChallengeParseError::InvalidCharacter { position: open })
    }
}

/// Reads one challenge: its scheme and parameters. Stops before the next challenge's scheme.
fn parse_challenge(cursor: &mut Cursor<'_>) -> Result<(bool, Vec<Param>), ChallengeParseError> {
    let scheme_at = cursor.pos;
    let is_bearer = cursor
        .token()
        .ok_or(ChallengeParseError::ExpectedScheme {
            position: scheme_at,
        })?
        .eq_ignore_ascii_case("bearer");
    let mut params: Vec<Param> = Vec::new();
    let mut first = true;
    loop {
        cursor.skip_ows();
        match cursor.peek() {
            None => break,
            Some(b',') => {
                cursor.pos += 1;
                first = false;
                continue;
            }
            Some(_) => {}
        }
        if cursor.at_param() {
            let name_at = cursor.pos;
            let name = cursor
                .token()
                .ok_or(ChallengeParseError::ExpectedScheme { position: name_at })?
                .to_ascii_lowercase();
            cursor.skip_ows();
            // `at_param` saw the '='.
            cursor.pos += 1;
            cursor.skip_ows();
            let value_at = cursor.pos;
            let value = if cursor.peek() == Some(b'"') {
                cursor.quoted()?
            } else {
                cursor
                    .token()
                    .ok_or(ChallengeParseError::ExpectedValue { position: value_at })?
                    .to_owned()
            };
            if params.iter().any(|p| p.name == name) {
                return Err(ChallengeParseError::DuplicateParameter {
                    name,
                    position: name_at,
                });
            }
            if params.len() >= MAX_CHALLENGE_PARAMS {
                return Err(ChallengeParseError::TooManyParameters { position: name_at });
            }
            params.push(Param { name, value });
            cursor.skip_ows();
            match cursor.peek() {
                None | Some(b',') => {}
                Some(_) => {
                    return Err(ChallengeParseError::ExpectedComma {
                        position: cursor.pos,
                    });
                }
            }
        } else if first && cursor.at_token68() {
            if is_bearer {
                return Err(ChallengeParseError::Token68 {
                    position: cursor.pos,
                });
            }
            while cursor
                .peek()
                .is_some_and(|b| is_token68_char(b) || b == b'=')
            {
                cursor.pos += 1;
            }
        } else {
            // The next challenge starts here (or something unreadable: the caller says where).
            break;
        }
        first = false;
    }
    Ok((is_bearer, params))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn missing_credentials_carry_no_error_code() {
        let c = BearerChallenge::new()
            .resource_metadata("https://shop.example/.well-known/oauth-protected-resource/mcp")
            .scope("catalogue:read orders:read");
        assert_eq!(
            c.to_header_value(),
            "Bearer resource_metadata=\"https://shop.example/.well-known/oauth-protected-resource/mcp\", scope=\"catalogue:read orders:read\""
        );
        assert_eq!(c.error_code(), None);
        assert_eq!(BearerChallenge::new().to_string(), "Bearer");
    }

    #[test]
    fn error_codes_render_in_order() {
        let c = BearerChallenge::invalid_token()
            .realm("shop")
            .error_description("The access token expired")
            .resource_metadata("https://shop.example/.well-known/oauth-protected-resource");
        assert_eq!(
            c.to_string(),
            "Bearer realm=\"shop\", resource_metadata=\"https://shop.example/.well-known/oauth-protected-resource\", error=\"invalid_token\", error_description=\"The access token expired\""
        );
        assert_eq!(
            BearerChallenge::invalid_request().to_string(),
            "Bearer error=\"invalid_request\""
        );
        let needed = Scopes::parse("b:write a:read").unwrap();
        assert_eq!(
            BearerChallenge::insufficient_scope(&needed).to_string(),
            "Bearer scope=\"a:read b:write\", error=\"insufficient_scope\""
        );
    }

    #[test]
    fn values_are_escaped_and_cleaned() {
        let c = BearerChallenge::invalid_token()
            .error_description("say \"hi\" \\ bye\r\n\u{7f}\u{e9}\0!");
        assert_eq!(
            c.to_string(),
            "Bearer error=\"invalid_token\", error_description=\"say \\\"hi\\\" \\\\ bye!\""
        );
        assert!(c.to_header_value().to_str().is_ok());
        assert_eq!(c.error_description_value(), Some("say \"hi\" \\ bye!"));
        // Scope tokens lose what a scope may not hold; empty scopes are omitted.
        assert_eq!(
            BearerChallenge::new().scope(" a\"b  c\\ ").scope_value(),
            Some("ab c")
        );
        assert_eq!(BearerChallenge::new().scope("\" \\").to_string(), "Bearer");
    }

    #[test]
    fn parses_real_world_shapes() {
        let c = BearerChallenge::parse(
            "Basic realm=\"x\", bearer  Error = invalid_token ,error_description=\"a \\\"b\\\"\", foo=bar, Negotiate abc==",
        )
        .unwrap();
        assert_eq!(c.error_code(), Some(&BearerErrorCode::InvalidToken));
        assert_eq!(c.error_description_value(), Some("a \"b\""));
        assert_eq!(c.other_params(), &[("foo".to_owned(), "bar".to_owned())]);
        assert_eq!(c.realm_value(), None);
        let c = BearerChallenge::parse("Bearer").unwrap();
        assert_eq!(c, BearerChallenge::new());
        let c = BearerChallenge::parse("Negotiate, Bearer , realm=\"r\"").unwrap();
        assert_eq!(c.realm_value(), Some("r"));
        let c = BearerChallenge::parse("Bearer error=\"weird_code\"").unwrap();
        assert_eq!(
            c.error_code(),
            Some(&BearerErrorCode::Other("weird_code".to_owned()))
        );
    }

    #[test]
    fn parse_errors_carry_positions() {
        use ChallengeParseError::*;
        let cases: &[(&str, ChallengeParseError)] = &[
            ("Basic realm=x", NoBearerChallenge),
            ("", NoBearerChallenge),
            ("Bearer realm=\"x", UnterminatedQuote { position: 13 }),
            ("Bearer realm=\"x\\", UnterminatedQuote { position: 13 }),
            ("Bearer realm=\"a\u{1}\"", InvalidCharacter { position: 15 }),
            ("Bearer realm=\"a\" scope=b", ExpectedComma { position: 17 }),
            (
                "Bearer realm=a, Realm=b",
                DuplicateParameter {
                    name: "realm".to_owned(),
                    position: 16,
                },
            ),
            ("Bearer abc==", Token68 { position: 7 }),
            ("Bearer realm=a, \"x\"", ExpectedScheme { position: 16 }),
            ("=x", ExpectedScheme { position: 0 }),
        ];
        for (input, expected) in cases {
            assert_eq!(
                BearerChallenge::parse(input).as_ref(),
                Err(expected),
                "{input:?}"
            );
        }
        let long = format!("Bearer realm=\"{}\"", "a".repeat(MAX_CHALLENGE_LEN));
        assert!(matches!(BearerChallenge::parse(&long), Err(TooLong { .. })));
        let many: Vec<String> = (0..=MAX_CHALLENGE_PARAMS)
            .map(|i| format!("p{i}=v"))
            .collect();
        assert!(matches!(
            BearerChallenge::parse(&format!("Bearer {}", many.join(", "))),
            Err(TooManyParameters { .. })
        ));
    }

    fn error_code() -> impl Strategy<Value = Option<BearerErrorCode>> {
        prop_oneof![
            Just(None),
            Just(Some(BearerErrorCode::InvalidRequest)),
            Just(Some(BearerErrorCode::InvalidToken)),
            Just(Some(BearerErrorCode::InsufficientScope)),
            "[a-z_]{1,12}".prop_map(|c| Some(BearerErrorCode::from_value(c))),
        ]
    }

    proptest! {
        #[test]
        fn build_render_parse_round_trips(
            realm in proptest::option::of(any::<String>()),
            metadata in proptest::option::of(any::<String>()),
            scope in proptest::option::of("[ -~]{0,40}"),
            error in error_code(),
            description in proptest::option::of(any::<String>()),
            uri in proptest::option::of("[ -~]{0,20}"),
        ) {
            let mut c = BearerChallenge::new();
            if let Some(v) = &realm { c = c.realm(v); }
            if let Some(v) = &metadata { c = c.resource_metadata(v); }
            if let Some(v) = &scope { c = c.scope(v); }
            if let Some(v) = error { c = c.error(v); }
            if let Some(v) = &description { c = c.error_description(v); }
            if let Some(v) = &uri { c = c.error_uri(v); }
            let value = c.to_header_value();
            let text = value.to_str().unwrap();
            prop_assert_eq!(BearerChallenge::parse(text).unwrap(), c);
        }

        #[test]
        fn parse_never_panics(input in any::<String>()) {
            let _ = BearerChallenge::parse(&input);
        }

        #[test]
        fn parse_never_panics_on_challenge_like_input(input in "[Bb]earer[ a-z=\",\\\\\t]{0,40}") {
            let _ = BearerChallenge::parse(&input);
        }
    }
}
