//! What the gate answers instead of the service.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};

use crate::jsonrpc::{Message, error_response, error_response_for};

/// A response written by the gate: status, header fields and a short JSON body. Convert it with
/// [`GateResponse::into_response`] or read its parts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GateResponse {
    /// The status.
    pub status: StatusCode,
    /// The header fields (`Content-Type`, `Cache-Control`, and `WWW-Authenticate`,
    /// `Retry-After` or CORS fields where they apply).
    pub headers: HeaderMap,
    /// The body (JSON; empty for a preflight).
    pub body: Bytes,
}

impl GateResponse {
    /// A bare response with no body.
    pub(crate) fn empty(status: StatusCode) -> GateResponse {
        GateResponse {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    fn json(status: StatusCode, body: Bytes) -> GateResponse {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        GateResponse {
            status,
            headers,
            body,
        }
    }

    /// A JSON-RPC error object with a `null` id (or `id`).
    pub(crate) fn json_rpc_error(
        status: StatusCode,
        id: Option<&crate::jsonrpc::RequestId>,
        code: i32,
        message: &str,
    ) -> GateResponse {
        GateResponse::json(status, error_response(id, code, message, None))
    }

    /// The JSON-RPC error answer to every request of `message`; without a message (a `GET` or
    /// `DELETE`), an OAuth-style `{"error": …}` object.
    pub(crate) fn refusal(
        status: StatusCode,
        message: Option<&Message>,
        code: i32,
        text: &str,
        oauth_error: &str,
    ) -> GateResponse {
        let body = match message {
            Some(message) => error_response_for(message, code, text, None),
            None => {
                let body = serde_json::json!({ "error": oauth_error, "error_description": text });
                Bytes::from(body.to_string())
            }
        };
        GateResponse::json(status, body)
    }

    /// A `tools/call` result with `isError: true` and the challenge in
    /// `_meta["mcp/www_authenticate"]`.
    pub(crate) fn tool_result_challenge(
        id: &crate::jsonrpc::RequestId,
        text: &str,
        challenge: &str,
    ) -> GateResponse {
        let result = serde_json::json!({
            "content": [{ "type": "text", "text": text }],
            "isError": true,
            "_meta": { "mcp/www_authenticate": [challenge] },
        });
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{},"result":{}}}"#,
            id.as_json(),
            result
        );
        GateResponse::json(StatusCode::OK, Bytes::from(body))
    }

    /// The `WWW-Authenticate` value, if any.
    pub fn challenge(&self) -> Option<&HeaderValue> {
        self.headers.get(WWW_AUTHENTICATE)
    }

    /// An `http::Response` with this status, these fields and `body` made from the bytes.
    pub fn into_response<B: From<Bytes>>(self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}
