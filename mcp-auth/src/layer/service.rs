//! The service: read the body, check, hand on.

use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, ORIGIN};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower_service::Service;

use super::{ClientIp, McpAuthLayer, McpRequestBody, McpResponseBody};
use crate::BoxFuture;
use crate::bearer::CF_ACCESS_JWT_ASSERTION;
use crate::gate::{GateRequest, GateResponse};

/// The future of [`McpAuthService`]: boxed, since a check may wait for the body, a token store
/// or a key set.
pub type ResponseFuture<T, E> = BoxFuture<'static, Result<T, E>>;

/// The service [`McpAuthLayer`] makes.
#[derive(Debug, Clone)]
pub struct McpAuthService<S> {
    pub(super) inner: S,
    pub(super) config: McpAuthLayer,
}

/// The client address from the extensions.
fn client_ip(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ClientIp>()
        .map(|c| c.0)
        .or_else(|| extensions.get::<SocketAddr>().map(SocketAddr::ip))
        .or_else(|| extensions.get::<IpAddr>().copied())
        .map(|ip| ip.to_canonical())
}

/// What reading the body came to.
enum Read {
    Bytes(Bytes),
    Answer(GateResponse),
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for McpAuthService<S>
where
    S: Service<Request<McpRequestBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<McpResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The ready service goes into the future; a fresh clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        Box::pin(async move {
            let gate = &config.gate;
            let (mut parts, body) = request.into_parts();
            let ip = client_ip(&parts.extensions);
            let (read, passed) = if parts.method == Method::POST {
                (Some(read_body(&config, &parts.headers, body).await), None)
            } else {
                // Only a `POST` body is read; any other goes on untouched.
                (None, Some(body))
            };
            let bytes = match read {
                Some(Read::Answer(answer)) => return Ok(answer.into_response()),
                Some(Read::Bytes(bytes)) => Some(bytes),
                None => None,
            };
            let checked = gate
                .check(GateRequest {
                    method: &parts.method,
                    headers: &parts.headers,
                    body: bytes.as_deref(),
                    client_ip: ip,
                })
                .await;
            let admission = match checked {
                Ok(admission) => admission,
                Err(answer) => return Ok(answer.into_response()),
            };
            if !config.forward_credentials {
                parts.headers.remove(AUTHORIZATION);
                parts.headers.remove(CF_ACCESS_JWT_ASSERTION);
            }
            let origin = gate.cors().and_then(|_| parts.headers.get(ORIGIN).cloned());
            parts.extensions.insert(admission.principal);
            if let Some(message) = admission.message {
                parts.extensions.insert(message);
            }
            let body = match (bytes, passed) {
                (Some(bytes), _) => McpRequestBody::read(bytes),
                (None, Some(body)) => McpRequestBody::passed(body),
                (None, None) => McpRequestBody::read(Bytes::new()),
            };
            let response = inner.call(Request::from_parts(parts, body)).await?;
            let (mut parts, body) = response.into_parts();
            if let (Some(cors), Some(origin)) = (gate.cors(), origin) {
                let mut request_headers = HeaderMap::new();
                request_headers.insert(ORIGIN, origin);
                cors.apply_to(&request_headers, &mut parts.headers);
            }
            Ok(Response::from_parts(parts, McpResponseBody::service(body)))
        })
    }
}

/// Reads a `POST` body up to the gate's limit (and within the layer's timeout).
async fn read_body<B>(config: &McpAuthLayer, headers: &HeaderMap, body: B) -> Read
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let gate = &config.gate;
    let limit = gate.max_body_bytes();
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Read::Answer(gate.too_large(headers));
    }
    let collect = Limited::new(body, limit).collect();
    let collected = match config.body_timeout {
        Some(timeout) if tokio::runtime::Handle::try_current().is_ok() => {
            match tokio::time::timeout(timeout, collect).await {
                Ok(result) => result,
                Err(_) => {
                    let mut answer = gate.unreadable_body(headers);
                    answer.status = StatusCode::REQUEST_TIMEOUT;
                    return Read::Answer(answer);
                }
            }
        }
        _ => collect.await,
    };
    match collected {
        Ok(collected) => Read::Bytes(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Read::Answer(gate.too_large(headers))
        }
        Err(error) => {
            tracing::debug!(target: "mcp_auth", %error, "request body could not be read");
            Read::Answer(gate.unreadable_body(headers))
        }
    }
}
