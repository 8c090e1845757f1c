//! Fuzz target: the MCP layer's JSON-RPC peeker.
//!
//! `mcp_auth::jsonrpc::peek` never panics, with the default limits and with tight ones. When it
//! accepts a body, `serde_json::Value` parses the body too and agrees on every call: the
//! `method`, the `id` (its raw text parses to the same value), the kind (request, notification,
//! response), the target (`params.name` of `tools/call` and `prompts/get`, `params.uri` of
//! `resources/read`) and `jsonrpc: "2.0"`; the document is no deeper than the limit. (`Value`
//! keeps the last of duplicate keys: a body where that differs from the first must have been
//! refused.) When it refuses a body as invalid JSON, `serde_json` refuses it too. The call's own method and target pass `check_headers`. Error responses, for a
//! refusal or for an accepted message, are valid JSON that echo the ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_auth::jsonrpc::{
    CallKind, Message, PeekLimits, check_headers, check_message_headers, error_response,
    error_response_for, peek,
};
use serde_json::Value;

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether a value can be sent as a plain header value: not starting or ending with the
/// whitespace HTTP strips, not looking like the `=?base64?…?=` form (clients encode those).
fn plain(value: Option<&str>) -> bool {
    value.is_none_or(|v| {
        v.trim_matches([' ', '\t']) == v && !(v.starts_with("=?base64?") && v.ends_with("?="))
    })
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON: {e}: {}", String::from_utf8_lossy(bytes)))
}

fuzz_target!(|data: &[u8]| {
    let tight = PeekLimits::default().with_max_depth(3).with_max_batch(2);
    if let Ok(message) = peek(data, &tight) {
        assert!(message.calls().len() <= 2);
        assert!(depth(&parse(data)) <= 3);
    }

    let limits = PeekLimits::default();
    let message = match peek(data, &limits) {
        Ok(message) => message,
        Err(err) => {
            assert!([-32700, -32600, -32602].contains(&err.code()), "{err:?}");
            assert!(err.position().line >= 1, "{err:?}");
            if err.code() == -32700 {
                // A parse error only for what a full JSON parser refuses too.
                assert!(
                    serde_json::from_slice::<Value>(data).is_err(),
                    "valid JSON called invalid: {err:?}"
                );
            }
            let answer = parse(&error_response(None, err.code(), &err.to_string(), None));
            assert_eq!(answer["error"]["code"], err.code());
            assert!(answer["id"].is_null());
            return;
        }
    };

    let value: Value = serde_json::from_slice(data)
        .unwrap_or_else(|e| panic!("peek accepted what serde_json refuses ({e}): {message:?}"));
    assert!(depth(&value) <= limits.max_depth());
    let objects: Vec<&Value> = match (&message, &value) {
        (Message::Single(_), Value::Object(_)) => vec![&value],
        (Message::Batch(_), Value::Array(items)) => items.iter().collect(),
        _ => panic!("shape differs: {message:?} vs {value}"),
    };
    assert_eq!(objects.len(), message.calls().len());
    assert!(!objects.is_empty() && objects.len() <= limits.max_batch());

    for (call, object) in message.calls().iter().zip(objects) {
        let object = object
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {object}"));
        assert_eq!(object.get("jsonrpc"), Some(&Value::from("2.0")));
        let method = object.get("method").and_then(Value::as_str);
        assert_eq!(call.method(), method, "{object:?}");
        match call.id() {
            Some(id) => {
                let id_value: Value = serde_json::from_str(id.as_json())
                    .unwrap_or_else(|e| panic!("raw id {id} does not parse: {e}"));
                assert_eq!(Some(&id_value), object.get("id"));
                assert!(id_value.is_string() || id_value.is_number() || id_value.is_null());
            }
            None => assert!(object.get("id").is_none()),
        }
        let responds = object.contains_key("result") || object.contains_key("error");
        match call.kind() {
            CallKind::Request => {
                assert!(method.is_some() && !responds);
                assert!(object.get("id").is_some_and(|id| !id.is_null()));
            }
            CallKind::Notification => assert!(method.is_some() && !object.contains_key("id")),
            CallKind::Response => {
                assert!(method.is_none() && object.contains_key("id"));
                assert!(object.contains_key("result") != object.contains_key("error"));
            }
        }
        let member = match method {
            Some("tools/call" | "prompts/get") => Some("name"),
            Some("resources/read") => Some("uri"),
            _ => None,
        };
        let expected = member.map(|member| {
            object
                .get("params")
                .and_then(|params| params.get(member))
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("target accepted without a string {member}"))
        });
        assert_eq!(call.target(), expected);
        if plain(call.method()) && plain(call.target()) {
            check_headers(
                call,
                call.method().map(str::as_bytes),
                call.target().map(str::as_bytes),
            )
            .unwrap_or_else(|e| panic!("own headers refused: {e}"));
        }

        let answer = parse(&error_response(call.id(), -32602, "refused", Some(&value)));
        assert_eq!(
            answer.get("id"),
            Some(object.get("id").unwrap_or(&Value::Null))
        );
        // (Not compared to `value`: floats need not survive a round trip without
        // serde_json's `float_roundtrip`.)
        assert!(answer["error"].get("data").is_some());
    }

    let answer = parse(&error_response_for(&message, -32600, "refused", None));
    let requests = message
        .calls()
        .iter()
        .filter(|c| c.kind() == CallKind::Request)
        .count();
    match answer {
        Value::Array(errors) => {
            assert!(message.is_batch());
            assert_eq!(errors.len(), requests);
        }
        Value::Object(_) => assert!(!message.is_batch() || requests == 0),
        other => panic!("error response is {other}"),
    }
    let call = &message.calls()[0];
    if message.calls().len() == 1 && plain(call.method()) && plain(call.target()) {
        let own = check_message_headers(
            &message,
            call.method().map(str::as_bytes),
            call.target().map(str::as_bytes),
        );
        assert!(own.is_ok());
    }
});
