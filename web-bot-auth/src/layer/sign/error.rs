use crate::layer::BoxError;
use crate::message::ViewError;
use crate::sign::SignError;

/// Why [`SignService`](super::SignService) could not send a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignLayerError {
    /// The request has no authority to sign (no absolute URI and no single `Host`).
    #[error("cannot sign the request: {0}")]
    View(#[from] ViewError),
    /// The signer failed.
    #[error("cannot sign the request: {0}")]
    Sign(#[from] SignError),
    /// The body is larger than the content-digest limit.
    #[error("request body larger than {limit} bytes: no Content-Digest computed")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Reading the body failed.
    #[error("reading the request body: {0}")]
    Body(#[source] BoxError),
}
