use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::error::SignLayerError;
use super::service::SignService;
use crate::clock::Clock;
use crate::component::ComponentIdentifier;
use crate::message::RequestView;
use crate::profile_signer::{SignedFields, WebBotAuthSigner};
use crate::sign::SignError;

/// A [`WebBotAuthSigner`] with its clock type erased.
pub(crate) trait SignRequest: Send + Sync {
    fn sign(&self, request: &RequestView<'_>) -> Result<SignedFields, SignError>;
    fn covers(&self, component: &ComponentIdentifier) -> bool;
}

impl<C: Clock> SignRequest for WebBotAuthSigner<C> {
    fn sign(&self, request: &RequestView<'_>) -> Result<SignedFields, SignError> {
        WebBotAuthSigner::sign(self, request)
    }

    fn covers(&self, component: &ComponentIdentifier) -> bool {
        self.params(0, None).is_ok_and(|p| p.covers(component))
    }
}

/// What a [`SignLayer`] and its services share.
#[derive(Clone)]
pub(crate) struct Settings {
    signer: Arc<dyn SignRequest>,
    default_scheme: String,
    pub(crate) content_digest: Option<usize>,
}

impl Settings {
    /// Signs `request` in place: sets `Signature-Agent`, appends `Signature-Input` and
    /// `Signature`.
    pub(crate) fn sign<B>(&self, request: &mut http::Request<B>) -> Result<(), SignLayerError> {
        let fields = {
            let view = RequestView::from_http(request, &self.default_scheme)?;
            self.signer.sign(&view)?
        };
        fields.apply(request.headers_mut());
        Ok(())
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignLayer")
            .field("default_scheme", &self.default_scheme)
            .field("content_digest", &self.content_digest)
            .finish_non_exhaustive()
    }
}

/// Signs each outgoing request with a [`WebBotAuthSigner`]; see the
/// [module documentation](super).
///
/// Cheap to clone: the configuration is shared.
#[derive(Clone)]
pub struct SignLayer {
    settings: Arc<Settings>,
}

impl SignLayer {
    /// A layer signing with `signer`, for requests whose URI has no scheme taken as `https`,
    /// without content digest.
    pub fn new<C: Clock + 'static>(signer: WebBotAuthSigner<C>) -> Self {
        Self::from_shared(Arc::new(signer))
    }

    /// As [`SignLayer::new`], with a signer shared with other code.
    pub fn from_shared<C: Clock + 'static>(signer: Arc<WebBotAuthSigner<C>>) -> Self {
        SignLayer {
            settings: Arc::new(Settings {
                signer,
                default_scheme: "https".to_owned(),
                content_digest: None,
            }),
        }
    }

    fn settings_mut(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    /// The scheme of requests whose URI has none (default `https`).
    pub fn default_scheme(mut self, scheme: &str) -> Self {
        scheme.clone_into(&mut self.settings_mut().default_scheme);
        self
    }

    /// Reads each request body (at most `max_bytes`, else the call fails with
    /// [`SignLayerError::BodyTooLarge`]) and sets `Content-Digest` (`sha-256`) before signing.
    /// The signature covers it when the signer covers `content-digest`.
    pub fn with_content_digest(mut self, max_bytes: usize) -> Self {
        let covered = ComponentIdentifier::field("content-digest")
            .is_ok_and(|c| self.settings.signer.covers(&c));
        if !covered {
            tracing::warn!(
                "web-bot-auth: Content-Digest is sent but not signed: build the signer with \
                 .cover(ComponentIdentifier::field(\"content-digest\")?)"
            );
        }
        self.settings_mut().content_digest = Some(max_bytes);
        self
    }
}

impl fmt::Debug for SignLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.settings.fmt(f)
    }
}

impl<S> Layer<S> for SignLayer {
    type Service = SignService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SignService::from_settings(inner, Arc::clone(&self.settings))
    }
}
