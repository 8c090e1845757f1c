//! Serving the metadata document with tower: a standalone service, and a layer that answers the
//! well-known paths in front of an inner service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ALLOW, CONTENT_LENGTH, CONTENT_TYPE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{Cors, ProtectedResourceMetadata};

const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";
const ALLOWED_REQUEST_HEADERS: &str = "mcp-protocol-version";
const PREFLIGHT_MAX_AGE_SECS: u64 = 86_400;

/// Who may read the document from a browser.
#[derive(Debug, Clone)]
enum DocumentCors {
    /// `Access-Control-Allow-Origin: *`: the document is public and carries no credentials.
    AnyOrigin,
    /// An allow-list.
    Restricted(Cors),
}

/// What both the service and the router answer on the well-known paths.
#[derive(Debug, Clone)]
struct Responder {
    document: Bytes,
    paths: [String; 2],
    cors: DocumentCors,
}

impl Responder {
    fn new(metadata: &ProtectedResourceMetadata) -> Responder {
        Responder {
            document: Bytes::from(metadata.to_json()),
            paths: metadata.well_known_paths(),
            cors: DocumentCors::AnyOrigin,
        }
    }

    fn restrict(&mut self, cors: Cors) {
        let cors = cors
            .allow_methods(&[Method::GET, Method::HEAD, Method::OPTIONS])
            .allow_headers(&[HeaderName::from_static(ALLOWED_REQUEST_HEADERS)]);
        self.cors = DocumentCors::Restricted(cors);
    }

    fn serves(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p == path)
    }

    /// The answer for a request on one of the well-known paths; `None` for other paths.
    fn respond<B>(&self, request: &Request<B>) -> Option<Response<Full<Bytes>>> {
        if !self.serves(request.uri().path()) {
            return None;
        }
        let method = request.method();
        let request_headers = request.headers();
        let mut response;
        if method == Method::GET || method == Method::HEAD {
            let body = if method == Method::GET {
                self.document.clone()
            } else {
                Bytes::new()
            };
            response = Response::new(Full::new(body));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CONTENT_LENGTH, HeaderValue::from(self.document.len()));
            match &self.cors {
                DocumentCors::AnyOrigin => {
                    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
                }
                DocumentCors::Restricted(cors) => cors.apply_to(request_headers, headers),
            }
        } else if method == Method::OPTIONS {
            response = Response::new(Full::default());
            *response.status_mut() = StatusCode::NO_CONTENT;
            let headers = response.headers_mut();
            headers.insert(ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
            match &self.cors {
                DocumentCors::AnyOrigin => preflight_any_origin(headers),
                DocumentCors::Restricted(cors) => cors.apply_preflight(request_headers, headers),
            }
        } else {
            response = Response::new(Full::default());
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
        }
        Some(response)
    }
}

fn preflight_any_origin(headers: &mut HeaderMap) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_REQUEST_HEADERS),
    );
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
    );
}

fn not_found() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::default());
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// A service that serves a [`ProtectedResourceMetadata`] document at its well-known paths (the
/// path-inserted form and the root form) and answers `404` elsewhere.
///
/// - `GET`: `200`, `application/json`, the document (serialized once, when the service is
///   built). `HEAD`: the same headers, no body.
/// - `OPTIONS`: `204` with `Allow` and a CORS preflight answer (methods `GET, HEAD, OPTIONS`,
///   request header `mcp-protocol-version`, cached a day).
/// - Other methods: `405` with `Allow: GET, HEAD, OPTIONS`.
///
/// The document is public, so by default any origin may read it (`Access-Control-Allow-Origin:
/// *`); [`MetadataService::restrict_origins`] limits it to an allow-list.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use http::{Request, StatusCode};
/// use mcp_auth::metadata::{MetadataService, ProtectedResourceMetadata};
/// use tower::ServiceExt;
///
/// let metadata = ProtectedResourceMetadata::builder("https://shop.example/mcp")
///     .authorization_server("https://auth.shop.example")
///     .build()
///     .unwrap();
/// let service = MetadataService::new(&metadata);
/// let request = Request::get("/.well-known/oauth-protected-resource/mcp")
///     .body(())
///     .unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct MetadataService {
    responder: Arc<Responder>,
}

impl MetadataService {
    /// A service for `metadata`.
    pub fn new(metadata: &ProtectedResourceMetadata) -> MetadataService {
        MetadataService {
            responder: Arc::new(Responder::new(metadata)),
        }
    }

    /// Lets only the origins of `cors` read the document from a browser (its methods and
    /// request headers are replaced by the document's).
    pub fn restrict_origins(mut self, cors: Cors) -> MetadataService {
        Arc::make_mut(&mut self.responder).restrict(cors);
        self
    }

    /// A layer answering the same paths in front of an inner service.
    pub fn into_layer(self) -> MetadataLayer {
        MetadataLayer {
            responder: self.responder,
        }
    }
}

impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        std::future::ready(Ok(self
            .responder
            .respond(&request)
            .unwrap_or_else(not_found)))
    }
}

/// A layer that answers the metadata document's well-known paths (as [`MetadataService`] does)
/// and hands every other request to the inner service.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use http::{Request, Response, StatusCode};
/// use http_body_util::Full;
/// use mcp_auth::metadata::{MetadataLayer, ProtectedResourceMetadata};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// let metadata = ProtectedResourceMetadata::builder("https://shop.example/mcp")
///     .authorization_server("https://auth.shop.example")
///     .build()
///     .unwrap();
/// let app = ServiceBuilder::new()
///     .layer(MetadataLayer::new(&metadata))
///     .service(service_fn(|_req: Request<()>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(Full::new(bytes::Bytes::from("mcp"))))
///     }));
/// let response = app
///     .clone()
///     .oneshot(Request::get("/.well-known/oauth-protected-resource").body(()).unwrap())
///     .await
///     .unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// let response = app.oneshot(Request::post("/mcp").body(()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct MetadataLayer {
    responder: Arc<Responder>,
}

impl MetadataLayer {
    /// A layer for `metadata`.
    pub fn new(metadata: &ProtectedResourceMetadata) -> MetadataLayer {
        MetadataService::new(metadata).into_layer()
    }

    /// Lets only the origins of `cors` read the document from a browser.
    pub fn restrict_origins(mut self, cors: Cors) -> MetadataLayer {
        Arc::make_mut(&mut self.responder).restrict(cors);
        self
    }
}

impl<S> Layer<S> for MetadataLayer {
    type Service = MetadataRouter<S>;

    fn layer(&self, inner: S) -> MetadataRouter<S> {
        MetadataRouter {
            inner,
            responder: Arc::clone(&self.responder),
        }
    }
}

/// The service of [`MetadataLayer`].
#[derive(Debug, Clone)]
pub struct MetadataRouter<S> {
    inner: S,
    responder: Arc<Responder>,
}

impl<S, B, ResBody> Service<Request<B>> for MetadataRouter<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<MetadataResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = MetadataRouterFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let state = match self.responder.respond(&request) {
            Some(response) => FutureState::Ready {
                response: Some(response),
            },
            None => FutureState::Inner {
                future: self.inner.call(request),
            },
        };
        MetadataRouterFuture { state }
    }
}

pin_project! {
    /// The future of [`MetadataRouter`].
    pub struct MetadataRouterFuture<F> {
        #[pin]
        state: FutureState<F>,
    }
}

pin_project! {
    #[project = FutureStateProj]
    enum FutureState<F> {
        Ready { response: Option<Response<Full<Bytes>>> },
        Inner { #[pin] future: F },
    }
}

impl<F, ResBody, E> Future for MetadataRouterFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<MetadataResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            FutureStateProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response.map(MetadataResponseBody::document))),
                // Polled again after completion: stay pending rather than panic.
                None => Poll::Pending,
            },
            FutureStateProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(MetadataResponseBody::inner))),
        }
    }
}

pin_project! {
    /// The response body of [`MetadataRouter`]: the document, or the inner service's body.
    pub struct MetadataResponseBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project! {
    #[project = BodyKindProj]
    enum BodyKind<B> {
        Document { body: Full<Bytes> },
        Inner { #[pin] body: B },
    }
}

impl<B> MetadataResponseBody<B> {
    fn document(body: Full<Bytes>) -> MetadataResponseBody<B> {
        MetadataResponseBody {
            kind: BodyKind::Document { body },
        }
    }

    fn inner(body: B) -> MetadataResponseBody<B> {
        MetadataResponseBody {
            kind: BodyKind::Inner { body },
        }
    }
}

impl<B> Body for MetadataResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            BodyKindProj::Document { body } => Pin::new(body)
                .poll_frame(cx)
                .map(|frame| frame.map(|result| result.map_err(|never| match never {}))),
            BodyKindProj::Inner { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Document { body } => body.is_end_stream(),
            BodyKind::Inner { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Document { body } => body.size_hint(),
            BodyKind::Inner { body } => body.size_hint(),
        }
    }
}

impl<B> std::fmt::Debug for MetadataResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            BodyKind::Document { .. } => "document",
            BodyKind::Inner { .. } => "inner",
        };
        f.debug_struct("MetadataResponseBody")
            .field("kind", &kind)
            .finish()
    }
}

impl<F> std::fmt::Debug for MetadataRouterFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataRouterFuture")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY};
    use http_body_util::BodyExt;
    use tower::{ServiceBuilder, ServiceExt, service_fn};

    use super::*;

    const INSERTED: &str = "/.well-known/oauth-protected-resource/mcp";
    const ROOT: &str = "/.well-known/oauth-protected-resource";

    fn metadata() -> ProtectedResourceMetadata {
        ProtectedResourceMetadata::builder("https://shop.example/mcp")
            .authorization_server("https://auth.shop.example")
            .scopes_supported(["catalogue:read"])
            .build()
            .unwrap()
    }

    async fn call(service: MetadataService, method: Method, path: &str) -> Response<Full<Bytes>> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap();
        service.oneshot(request).await.unwrap()
    }

    async fn body_of<B: Body>(response: Response<B>) -> Bytes
    where
        B::Error: std::fmt::Debug,
    {
        response.into_body().collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn get_serves_the_document_on_both_paths() {
        let doc = metadata();
        for path in [INSERTED, ROOT] {
            let response = call(MetadataService::new(&doc), Method::GET, path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let h = response.headers();
            assert_eq!(h[CONTENT_TYPE], "application/json");
            assert_eq!(h[CONTENT_LENGTH], doc.to_json().len().to_string().as_str());
            assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
            assert_eq!(body_of(response).await, doc.to_json());
        }
    }

    #[tokio::test]
    async fn head_has_the_headers_and_no_body() {
        let doc = metadata();
        let response = call(MetadataService::new(&doc), Method::HEAD, INSERTED).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            response.headers()[CONTENT_LENGTH],
            doc.to_json().len().to_string().as_str()
        );
        assert!(body_of(response).await.is_empty());
    }

    #[tokio::test]
    async fn options_is_a_preflight_answer() {
        let response = call(MetadataService::new(&metadata()), Method::OPTIONS, ROOT).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let h = response.headers();
        assert_eq!(h[ALLOW], "GET, HEAD, OPTIONS");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_METHODS], "GET, HEAD, OPTIONS");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_HEADERS], "mcp-protocol-version");
        assert_eq!(h[ACCESS_CONTROL_MAX_AGE], "86400");
    }

    #[tokio::test]
    async fn other_methods_get_405_and_other_paths_404() {
        let service = MetadataService::new(&metadata());
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let response = call(service.clone(), method, INSERTED).await;
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(response.headers()[ALLOW], "GET, HEAD, OPTIONS");
        }
        for path in [
            "/",
            "/mcp",
            "/.well-known/oauth-protected-resource/other",
            "/.well-known/oauth-protected-resource/mcp/",
            "/.well-known/oauth-authorization-server",
        ] {
            let response = call(service.clone(), Method::GET, path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn restricted_origins_are_echoed_with_vary() {
        let cors = Cors::allow_origins(["https://app.example"]).unwrap();
        let service = MetadataService::new(&metadata()).restrict_origins(cors);
        let get = |origin: &'static str| {
            Request::get(INSERTED)
                .header(ORIGIN, origin)
                .body(())
                .unwrap()
        };
        let response = service
            .clone()
            .oneshot(get("https://app.example"))
            .await
            .unwrap();
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
        assert_eq!(response.headers()[VARY], "origin");
        let response = service
            .clone()
            .oneshot(get("https://evil.example"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(response.headers()[VARY], "origin");
        let preflight = Request::options(INSERTED)
            .header(ORIGIN, "https://app.example")
            .header(ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(())
            .unwrap();
        let response = service.oneshot(preflight).await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_METHODS],
            "GET, HEAD, OPTIONS"
        );
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_HEADERS],
            "mcp-protocol-version"
        );
    }

    #[tokio::test]
    async fn the_layer_answers_its_paths_and_passes_the_rest() {
        let doc = metadata();
        let app = ServiceBuilder::new()
            .layer(MetadataLayer::new(&doc))
            .service(service_fn(|request: Request<()>| async move {
                let body = Full::new(Bytes::from(format!("inner {}", request.uri().path())));
                Ok::<_, Infallible>(Response::new(body))
            }));
        let response = app
            .clone()
            .oneshot(Request::get(INSERTED).body(()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(body_of(response).await, doc.to_json());
        let response = app
            .clone()
            .oneshot(Request::post(ROOT).body(()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        let response = app
            .oneshot(Request::post("/mcp").body(()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_of(response).await, "inner /mcp");
    }

    #[test]
    fn a_resource_at_the_root_serves_one_path() {
        let doc = ProtectedResourceMetadata::builder("https://shop.example")
            .authorization_server("https://auth.shop.example")
            .build()
            .unwrap();
        let responder = Responder::new(&doc);
        assert!(responder.serves(ROOT));
        assert!(!responder.serves(INSERTED));
    }
}
