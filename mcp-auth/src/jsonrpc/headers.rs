//! The `Mcp-Method` / `Mcp-Name` headers of MCP 2026-07-28 (SEP-2243), checked against the body.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Call, HEADER_MISMATCH, Message};

/// How the mirror headers disagree with the body. Every variant answers [`HEADER_MISMATCH`]
/// (`-32020`, HTTP 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderMismatch {
    /// `Mcp-Method` differs from the body's `method` (or the body is a response).
    #[error("Mcp-Method does not match the body's method")]
    Method,
    /// `Mcp-Name` differs from the body's `params.name` / `params.uri`.
    #[error("Mcp-Name does not match the body's tool, prompt or resource")]
    Name,
    /// `Mcp-Name` was sent for a message that names no tool, prompt or resource.
    #[error("Mcp-Name sent for a method without a name")]
    UnexpectedName,
    /// `Mcp-Method` was sent for `tools/call`, `prompts/get` or `resources/read` without
    /// `Mcp-Name`.
    #[error("Mcp-Name missing for a method that names a tool, prompt or resource")]
    MissingName,
    /// A `=?base64?…?=` value that is not canonical base64 of UTF-8.
    #[error("{header} is not a valid header value")]
    Malformed {
        /// `Mcp-Method` or `Mcp-Name`.
        header: &'static str,
    },
}

impl HeaderMismatch {
    /// [`HEADER_MISMATCH`].
    pub fn code(&self) -> i32 {
        HEADER_MISMATCH
    }
}

/// Checks the raw `Mcp-Method` and `Mcp-Name` header values (absent: `None`) against one call.
///
/// - A present `Mcp-Method` must equal the call's `method`; a response (no `method`) never
///   matches one.
/// - A present `Mcp-Name` must equal the call's [target](Call::target); it is refused on a
///   call without one.
/// - When `Mcp-Method` is present and the call has a target (`tools/call`, `prompts/get`,
///   `resources/read`), `Mcp-Name` must be present too: a client that sends the new headers
///   sends both, and an intermediary routing on the headers alone must not see a tool call
///   without its tool.
/// - Nothing is required when both are absent (clients of earlier revisions send neither);
///   whether to require them is the caller's decision, made from `MCP-Protocol-Version`.
///
/// Values of the form `=?base64?…?=` are decoded (standard alphabet, padded, canonical, UTF-8)
/// first; plain values are compared byte for byte after trimming spaces and tabs.
///
/// ```
/// use mcp_auth::jsonrpc::{check_headers, peek, HeaderMismatch, PeekLimits};
///
/// let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"héllo"}}"#;
/// let message = peek(body.as_bytes(), &PeekLimits::default())?;
/// let call = &message.calls()[0];
/// assert_eq!(check_headers(call, Some(b"tools/call"), Some(b"=?base64?aMOpbGxv?=")), Ok(()));
/// assert_eq!(
///     check_headers(call, Some(b"tools/call"), Some(b"hello")),
///     Err(HeaderMismatch::Name)
/// );
/// # Ok::<(), mcp_auth::jsonrpc::PeekError>(())
/// ```
pub fn check_headers(
    call: &Call,
    mcp_method: Option<&[u8]>,
    mcp_name: Option<&[u8]>,
) -> Result<(), HeaderMismatch> {
    if let Some(header) = mcp_method {
        let matches = decoded_equals(header, call.method(), "Mcp-Method")?;
        if !matches {
            return Err(HeaderMismatch::Method);
        }
    }
    match (mcp_name, call.target()) {
        (Some(header), target @ Some(_)) => {
            if !decoded_equals(header, target, "Mcp-Name")? {
                return Err(HeaderMismatch::Name);
            }
        }
        (Some(_), None) => return Err(HeaderMismatch::UnexpectedName),
        (None, Some(_)) if mcp_method.is_some() => return Err(HeaderMismatch::MissingName),
        (None, _) => {}
    }
    Ok(())
}

/// [`check_headers`] for a whole message. A batch cannot be described by one pair of headers
/// unless every call in it has the same method and target: when either header is present, each
/// call of the batch must match it (so a batch of mixed calls, or one with a response, is
/// refused). Without headers a batch passes.
pub fn check_message_headers(
    message: &Message,
    mcp_method: Option<&[u8]>,
    mcp_name: Option<&[u8]>,
) -> Result<(), HeaderMismatch> {
    if mcp_method.is_none() && mcp_name.is_none() {
        return Ok(());
    }
    message
        .calls()
        .iter()
        .try_for_each(|call| check_headers(call, mcp_method, mcp_name))
}

const SENTINEL_START: &[u8] = b"=?base64?";
const SENTINEL_END: &[u8] = b"?=";

/// Whether the header value, decoded, equals `body` (`None` never matches).
fn decoded_equals(
    header: &[u8],
    body: Option<&str>,
    name: &'static str,
) -> Result<bool, HeaderMismatch> {
    let header = trim(header);
    if let Some(encoded) = header
        .strip_prefix(SENTINEL_START)
        .and_then(|rest| rest.strip_suffix(SENTINEL_END))
    {
        let decoded = STANDARD
            .decode(encoded)
            .map_err(|_| HeaderMismatch::Malformed { header: name })?;
        let decoded = std::str::from_utf8(&decoded)
            .map_err(|_| HeaderMismatch::Malformed { header: name })?;
        return Ok(body == Some(decoded));
    }
    Ok(body.is_some_and(|body| body.as_bytes() == header))
}

fn trim(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{PeekLimits, peek};

    fn one(body: &str) -> Message {
        peek(body.as_bytes(), &PeekLimits::default()).unwrap()
    }

    #[test]
    fn method_and_name_must_match_the_body() {
        let message =
            one(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a.b"}}"#);
        let call = &message.calls()[0];
        assert_eq!(check_headers(call, None, None), Ok(()));
        assert_eq!(
            check_headers(call, Some(b"tools/call"), Some(b"a.b")),
            Ok(())
        );
        assert_eq!(
            check_headers(call, Some(b" tools/call\t"), Some(b"a.b ")),
            Ok(())
        );
        assert_eq!(check_headers(call, None, Some(b"a.b")), Ok(()));
        assert_eq!(
            check_headers(call, Some(b"tools/list"), Some(b"a.b")),
            Err(HeaderMismatch::Method)
        );
        assert_eq!(
            check_headers(call, Some(b"Tools/call"), Some(b"a.b")),
            Err(HeaderMismatch::Method)
        );
        assert_eq!(
            check_headers(call, Some(b"tools/call"), Some(b"a.c")),
            Err(HeaderMismatch::Name)
        );
        assert_eq!(
            check_headers(call, Some(b"tools/call"), None),
            Err(HeaderMismatch::MissingName)
        );
        assert_eq!(
            check_headers(call, Some(b"tools/call"), Some(b"")),
            Err(HeaderMismatch::Name)
        );
    }

    #[test]
    fn base64_values_are_decoded_strictly() {
        let message = one(
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///日本"}}"#,
        );
        let call = &message.calls()[0];
        let encoded = format!("=?base64?{}?=", STANDARD.encode("file:///日本"));
        assert_eq!(
            check_headers(
                call,
                Some(b"=?base64?cmVzb3VyY2VzL3JlYWQ=?="),
                Some(encoded.as_bytes())
            ),
            Ok(())
        );
        assert_eq!(
            check_headers(call, None, Some(b"=?base64?%%%?=")),
            Err(HeaderMismatch::Malformed { header: "Mcp-Name" })
        );
        // Valid base64, not UTF-8.
        assert_eq!(
            check_headers(call, Some(b"=?base64?//4=?="), None),
            Err(HeaderMismatch::Malformed {
                header: "Mcp-Method"
            })
        );
        // Non-canonical padding bits.
        assert_eq!(
            check_headers(call, None, Some(b"=?base64?YR==?=")),
            Err(HeaderMismatch::Malformed { header: "Mcp-Name" })
        );
    }

    #[test]
    fn edge_whitespace_must_be_sent_encoded() {
        let message =
            one(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\tx "}}"#);
        let call = &message.calls()[0];
        // HTTP strips the whitespace around a field value: such a name only matches encoded.
        assert_eq!(
            check_headers(call, None, Some(b"\tx ")),
            Err(HeaderMismatch::Name)
        );
        assert_eq!(check_headers(call, None, Some(b"=?base64?CXgg?=")), Ok(()));
    }

    #[test]
    fn names_only_where_the_method_has_one() {
        let ping = one(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
        let call = &ping.calls()[0];
        assert_eq!(check_headers(call, Some(b"ping"), None), Ok(()));
        assert_eq!(
            check_headers(call, Some(b"ping"), Some(b"x")),
            Err(HeaderMismatch::UnexpectedName)
        );
        let response = one(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(
            check_headers(&response.calls()[0], Some(b"ping"), None),
            Err(HeaderMismatch::Method)
        );
        assert_eq!(check_headers(&response.calls()[0], None, None), Ok(()));
        assert_eq!(HeaderMismatch::Method.code(), -32020);
    }

    #[test]
    fn a_batch_matches_only_if_every_call_does() {
        let same = one(
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}},
                {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t"}}]"#,
        );
        assert_eq!(
            check_message_headers(&same, Some(b"tools/call"), Some(b"t")),
            Ok(())
        );
        let mixed = one(
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}},
                {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"u"}}]"#,
        );
        assert_eq!(check_message_headers(&mixed, None, None), Ok(()));
        assert_eq!(
            check_message_headers(&mixed, Some(b"tools/call"), Some(b"t")),
            Err(HeaderMismatch::Name)
        );
    }
}
