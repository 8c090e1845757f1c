use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use tower_service::Service;

use crate::clock::{Clock, SystemClock};
use crate::directory::{DIRECTORY_MEDIA_TYPE, KeyDirectory, sign_directory};
use crate::error::KeyError;
use crate::keys::{SigningKey, VerifyingKey};
use crate::layer::Authority;

/// The label of the directory response signature.
const LABEL: &str = "sig1";

/// Serves a signed key directory; see the [module documentation](super).
///
/// Cheap to clone: the configuration is shared.
#[derive(Clone)]
pub struct DirectoryService {
    config: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    signing_key: Arc<SigningKey>,
    published: Vec<VerifyingKey>,
    directory: KeyDirectory,
    json: String,
    body: Bytes,
    clock: Arc<dyn Clock>,
    max_age: u64,
    authority: Authority,
}

impl DirectoryService {
    /// A directory publishing the public part of `signing_key`, and signing its responses with
    /// it; `Cache-Control: max-age=3600`, the system clock, the authority from the request.
    ///
    /// Fails for a shared-secret (HMAC) key, which cannot be published.
    pub fn new(signing_key: Arc<SigningKey>) -> Result<Self, KeyError> {
        if signing_key.algorithm().is_symmetric() {
            return Err(KeyError::Unsupported(
                "HMAC keys cannot be published in a key directory".into(),
            ));
        }
        let mut config = Config {
            published: vec![signing_key.verifying_key().clone()],
            signing_key,
            directory: KeyDirectory::default(),
            json: String::new(),
            body: Bytes::new(),
            clock: Arc::new(SystemClock),
            max_age: 3600,
            authority: Authority::FromRequest,
        };
        config.render();
        Ok(DirectoryService {
            config: Arc::new(config),
        })
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Also publishes `key` (the next key of a rotation, or another key of the same bot).
    /// Shared-secret keys are left out.
    pub fn publish(mut self, key: VerifyingKey) -> Self {
        let config = self.config_mut();
        if !config
            .published
            .iter()
            .any(|k| k.thumbprint() == key.thumbprint())
        {
            config.published.push(key);
            config.render();
        }
        self
    }

    /// Seconds a response may be cached, and its signature is valid (default 3600).
    pub fn max_age(mut self, secs: u64) -> Self {
        self.config_mut().max_age = secs;
        self
    }

    /// Reads "now" from `clock` (default the system clock).
    pub fn with_clock<C: Clock + 'static>(mut self, clock: C) -> Self {
        self.config_mut().clock = Arc::new(clock);
        self
    }

    /// Where the authority the signature covers (`"@authority";req`) is read (default
    /// [`Authority::FromRequest`]).
    pub fn authority(mut self, authority: Authority) -> Self {
        self.config_mut().authority = authority;
        self
    }

    /// The directory served.
    pub fn directory(&self) -> &KeyDirectory {
        &self.config.directory
    }

    fn respond<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let head = match *request.method() {
            Method::GET => false,
            Method::HEAD => true,
            _ => {
                let mut response =
                    text_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                return response;
            }
        };
        let config = &self.config;
        let Some(authority) = config.authority.of(request) else {
            return text_response(StatusCode::BAD_REQUEST, "no authority");
        };
        let created = config.clock.now_unix();
        let expires = created.saturating_add(config.max_age);
        let signed = match sign_directory(
            &config.json,
            &config.signing_key,
            authority,
            created,
            expires,
            LABEL,
        ) {
            Ok(signed) => signed,
            Err(e) => {
                tracing::error!(error = %e, "web-bot-auth: cannot sign the key directory");
                return text_response(StatusCode::INTERNAL_SERVER_ERROR, "cannot sign directory");
            }
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(DIRECTORY_MEDIA_TYPE),
        );
        let fields = [
            ("cache-control", format!("max-age={}", config.max_age)),
            ("content-digest", signed.content_digest),
            ("signature-input", signed.signature_input),
            ("signature", signed.signature),
        ];
        for (name, value) in fields {
            match HeaderValue::try_from(value) {
                Ok(v) => {
                    headers.insert(HeaderName::from_static(name), v);
                }
                Err(_) => {
                    return text_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "cannot sign directory",
                    );
                }
            }
        }
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(config.body.len()));
        let body = if head {
            Bytes::new()
        } else {
            config.body.clone()
        };
        let mut response = Response::new(Full::new(body));
        *response.headers_mut() = headers;
        response
    }
}

impl Config {
    /// Renders the directory and its body from the published keys.
    fn render(&mut self) {
        self.directory = KeyDirectory::from_keys(&self.published);
        self.json = self.directory.to_json();
        self.body = Bytes::from(self.json.clone());
    }
}

fn text_response(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl fmt::Debug for DirectoryService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keyids: Vec<&str> = self
            .config
            .published
            .iter()
            .map(VerifyingKey::thumbprint)
            .collect();
        f.debug_struct("DirectoryService")
            .field("signing_keyid", &self.config.signing_key.thumbprint())
            .field("published", &keyids)
            .field("max_age", &self.config.max_age)
            .field("authority", &self.config.authority)
            .finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for DirectoryService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(&request)))
    }
}
