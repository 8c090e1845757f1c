//! JSON-RPC error responses written by the layer.

use bytes::Bytes;

use super::{CallKind, Message, RequestId};

/// One JSON-RPC error object:
/// `{"jsonrpc":"2.0","id":<id or null>,"error":{"code":<code>,"message":"…","data":<data>}}`
/// (`data` only when given). The id is echoed as the client wrote it.
///
/// ```
/// use mcp_auth::jsonrpc::{error_response, peek, PeekLimits, INVALID_PARAMS};
///
/// let message = peek(br#"{"jsonrpc":"2.0","id":"a\u0062","method":"ping"}"#, &PeekLimits::default())?;
/// let body = error_response(message.calls()[0].id(), INVALID_PARAMS, "Unknown tool", None);
/// assert_eq!(
///     &body[..],
///     br#"{"jsonrpc":"2.0","id":"a\u0062","error":{"code":-32602,"message":"Unknown tool"}}"#
/// );
/// # Ok::<(), mcp_auth::jsonrpc::PeekError>(())
/// ```
pub fn error_response(
    id: Option<&RequestId>,
    code: i32,
    message: &str,
    data: Option<&serde_json::Value>,
) -> Bytes {
    let mut out = Vec::with_capacity(64 + message.len());
    write_error(&mut out, id, code, message, data);
    Bytes::from(out)
}

/// The error answer to a whole [`Message`], per JSON-RPC 2.0 §6: a single message gets one
/// error object (its id, or `null` for a notification or a response); a batch gets an array of
/// error objects, one per request in it (in body order); a batch without a request gets one
/// error object with a `null` id.
pub fn error_response_for(
    message: &Message,
    code: i32,
    text: &str,
    data: Option<&serde_json::Value>,
) -> Bytes {
    match message {
        Message::Single(call) => error_response(
            call.id().filter(|_| call.kind() == CallKind::Request),
            code,
            text,
            data,
        ),
        Message::Batch(calls) => {
            let mut requests = calls.iter().filter(|c| c.kind() == CallKind::Request);
            let Some(first) = requests.next() else {
                return error_response(None, code, text, data);
            };
            let mut out = Vec::with_capacity(80 * calls.len());
            out.push(b'[');
            write_error(&mut out, first.id(), code, text, data);
            for call in requests {
                out.push(b',');
                write_error(&mut out, call.id(), code, text, data);
            }
            out.push(b']');
            Bytes::from(out)
        }
    }
}

fn write_error(
    out: &mut Vec<u8>,
    id: Option<&RequestId>,
    code: i32,
    message: &str,
    data: Option<&serde_json::Value>,
) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id.map_or("null", RequestId::as_json).as_bytes());
    out.extend_from_slice(br#","error":{"code":"#);
    out.extend_from_slice(code.to_string().as_bytes());
    out.extend_from_slice(br#","message":"#);
    write_json(out, &message);
    if let Some(data) = data {
        out.extend_from_slice(br#","data":"#);
        write_json(out, data);
    }
    out.extend_from_slice(b"}}");
}

/// Serializes `value`; strings and `Value`s cannot fail to serialize into a `Vec`, but should
/// one ever fail, `null` keeps the output valid JSON.
fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{INVALID_REQUEST, PARSE_ERROR, PeekLimits, peek};

    fn parse(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn echoes_the_raw_id_and_escapes_the_message() {
        let id = RequestId(r#""x\"y""#.into());
        let data = serde_json::json!({"tool": "a\u{7}b"});
        let body = error_response(Some(&id), INVALID_REQUEST, "bad \"quote\"\n", Some(&data));
        assert_eq!(
            &body[..],
            br#"{"jsonrpc":"2.0","id":"x\"y","error":{"code":-32600,"message":"bad \"quote\"\n","data":{"tool":"a\u0007b"}}}"#
        );
        let value = parse(&body);
        assert_eq!(value["id"], "x\"y");
        assert_eq!(value["error"]["data"]["tool"], "a\u{7}b");
        let body = error_response(None, PARSE_ERROR, "Parse error", None);
        assert_eq!(
            &body[..],
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#
        );
    }

    #[test]
    fn a_batch_gets_one_error_per_request() {
        let limits = PeekLimits::default();
        let batch = peek(
            br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},
                {"jsonrpc":"2.0","method":"notifications/initialized"},
                {"jsonrpc":"2.0","id":"r","result":{}},
                {"jsonrpc":"2.0","id":-2.5,"method":"tools/list"}]"#,
            &limits,
        )
        .unwrap();
        let body = error_response_for(&batch, INVALID_REQUEST, "refused", None);
        let value = parse(&body);
        let ids: Vec<String> = value
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].to_string())
            .collect();
        assert_eq!(ids, ["1", "-2.5"]);
        assert_eq!(value[1]["error"]["code"], -32600);

        let no_requests = peek(
            br#"[{"jsonrpc":"2.0","method":"notifications/cancelled","params":{}}]"#,
            &limits,
        )
        .unwrap();
        let value = parse(&error_response_for(&no_requests, -32600, "refused", None));
        assert!(value["id"].is_null());

        let notification = peek(br#"{"jsonrpc":"2.0","method":"x"}"#, &limits).unwrap();
        assert!(parse(&error_response_for(&notification, 1, "m", None))["id"].is_null());
        let response = peek(br#"{"jsonrpc":"2.0","id":3,"error":{}}"#, &limits).unwrap();
        assert!(parse(&error_response_for(&response, 1, "m", None))["id"].is_null());
        let single = peek(br#"{"jsonrpc":"2.0","id":3,"method":"x"}"#, &limits).unwrap();
        assert_eq!(parse(&error_response_for(&single, 1, "m", None))["id"], 3);
    }
}
