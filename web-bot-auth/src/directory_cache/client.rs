//! The HTTP client a [`super::DirectoryCache`] fetches with.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::directory::DIRECTORY_MEDIA_TYPE;
use crate::fetch::FetchError;

use super::config::{DirectoryCacheConfig, MAX_FETCH_TIMEOUT};

/// What a [`DirectoryClient`] must enforce on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchLimits {
    /// Largest body to read. A longer body must fail with
    /// [`FetchError::InvalidDirectory`] as soon as the bound is passed, without reading the rest.
    pub max_response_bytes: usize,
    /// Longest the whole request may take, body included (the cache also enforces it).
    pub timeout: Duration,
    /// Whether `http://` URLs (to loopback hosts) may be fetched.
    pub allow_http_loopback: bool,
}

impl FetchLimits {
    /// Limits with these values.
    pub fn new(max_response_bytes: usize, timeout: Duration, allow_http_loopback: bool) -> Self {
        FetchLimits {
            max_response_bytes,
            timeout,
            allow_http_loopback,
        }
    }
}

/// A response to a directory request, as received. The cache checks everything else (status,
/// media type, signature, keys).
#[derive(Clone, PartialEq, Eq)]
pub struct DirectoryResponse {
    /// The status code. Redirects must be returned as they are, never followed.
    pub status: u16,
    /// The response header fields.
    pub headers: http::HeaderMap,
    /// The body (may be empty when the status is not 200).
    pub body: Vec<u8>,
}

impl fmt::Debug for DirectoryResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// The future a [`DirectoryClient`] returns.
pub type DirectoryFuture<'a> =
    Pin<Box<dyn Future<Output = Result<DirectoryResponse, FetchError>> + Send + 'a>>;

/// Sends one `GET` for a key directory. [`ReqwestDirectoryClient`] is the real one; tests and
/// other HTTP stacks plug in their own.
///
/// An implementation must not follow redirects, must stop reading a body longer than
/// [`FetchLimits::max_response_bytes`], and should honor [`FetchLimits::timeout`].
pub trait DirectoryClient: Send + Sync {
    /// Fetches `url` (`https://host[:port]/.well-known/http-message-signatures-directory`).
    fn get<'a>(&'a self, url: &'a str, limits: &'a FetchLimits) -> DirectoryFuture<'a>;
}

impl<C: DirectoryClient + ?Sized> DirectoryClient for std::sync::Arc<C> {
    fn get<'a>(&'a self, url: &'a str, limits: &'a FetchLimits) -> DirectoryFuture<'a> {
        (**self).get(url, limits)
    }
}

/// A [`DirectoryClient`] on reqwest with rustls: no redirects, no proxies for loopback tests,
/// no compression, connection and total timeouts, `Accept:
/// application/http-message-signatures-directory+json`, and the body streamed with a hard cap.
#[derive(Clone)]
pub struct ReqwestDirectoryClient {
    client: reqwest::Client,
}

impl fmt::Debug for ReqwestDirectoryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestDirectoryClient")
            .finish_non_exhaustive()
    }
}

impl ReqwestDirectoryClient {
    /// A client for `config`: https only unless
    /// [`DirectoryCacheConfig::allow_http_loopback`], connection timeout and total timeout
    /// [`DirectoryCacheConfig::fetch_timeout`].
    pub fn new(config: &DirectoryCacheConfig) -> Result<Self, FetchError> {
        let timeout = config.fetch_timeout.min(MAX_FETCH_TIMEOUT);
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!config.allow_http_loopback)
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("web-bot-auth/", env!("CARGO_PKG_VERSION")));
        if config.allow_http_loopback {
            // Loopback test servers are never behind the environment's proxy.
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(ReqwestDirectoryClient { client })
    }

    /// Wraps a client configured elsewhere. It must not follow redirects
    /// (`reqwest::redirect::Policy::none()`), or a redirect target would be read as the
    /// directory.
    pub fn from_client(client: reqwest::Client) -> Self {
        ReqwestDirectoryClient { client }
    }

    async fn fetch(
        &self,
        url: &str,
        limits: &FetchLimits,
    ) -> Result<DirectoryResponse, FetchError> {
        let allowed = url.starts_with("https://")
            || (limits.allow_http_loopback && url.starts_with("http://"));
        if !allowed {
            return Err(FetchError::NotAllowed("directory URL is not https".into()));
        }
        let mut response = self
            .client
            .get(url)
            .header(http::header::ACCEPT, DIRECTORY_MEDIA_TYPE)
            .timeout(limits.timeout.min(MAX_FETCH_TIMEOUT))
            .send()
            .await
            .map_err(map_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if status != 200 {
            // The body of an error or a redirect is of no use: do not read it.
            return Ok(DirectoryResponse {
                status,
                headers,
                body: Vec::new(),
            });
        }
        let max = limits.max_response_bytes;
        let declared = response.content_length();
        if declared.is_some_and(|len| len > max as u64) {
            return Err(too_large(max));
        }
        let capacity = declared.map_or(0, |len| usize::try_from(len).unwrap_or(max).min(max));
        let mut body = Vec::with_capacity(capacity);
        while let Some(chunk) = response.chunk().await.map_err(map_error)? {
            if body.len().saturating_add(chunk.len()) > max {
                return Err(too_large(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(DirectoryResponse {
            status,
            headers,
            body,
        })
    }
}

fn too_large(max: usize) -> FetchError {
    FetchError::InvalidDirectory(format!("response body larger than {max} bytes"))
}

fn map_error(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else {
        // reqwest's own message is terse ("error sending request"): add the causes.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            if message.len() > 512 {
                break;
            }
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        FetchError::Transport(message)
    }
}

impl DirectoryClient for ReqwestDirectoryClient {
    fn get<'a>(&'a self, url: &'a str, limits: &'a FetchLimits) -> DirectoryFuture<'a> {
        Box::pin(self.fetch(url, limits))
    }
}
