use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tower_layer::Layer;

use super::service::VerifyService;
use crate::clock::Clock;
use crate::fetch::{FetchError, KeyFetcher};
use crate::layer::Authority;
use crate::message::MessageView;
use crate::profile::{Outcome, ReplayCheck, UnverifiedReason, WebBotAuthVerifier};
use crate::verify::KeyResolver;

/// A [`WebBotAuthVerifier`] with its key resolver and clock types erased.
pub(crate) trait VerifyRequest: Send + Sync {
    fn verify(&self, message: &MessageView<'_>) -> Outcome;
    fn replay_check(&self, outcome: Outcome) -> ReplayCheck;
}

impl<R: KeyResolver, C: Clock> VerifyRequest for WebBotAuthVerifier<R, C> {
    fn verify(&self, message: &MessageView<'_>) -> Outcome {
        WebBotAuthVerifier::verify(self, message)
    }

    fn replay_check(&self, outcome: Outcome) -> ReplayCheck {
        WebBotAuthVerifier::replay_check(self, outcome)
    }
}

/// A fetch in flight, owning what it borrows.
pub(crate) type BoxFetch = Pin<Box<dyn Future<Output = Result<(), FetchError>> + Send>>;

/// What a [`VerifyLayer`] and its services share.
#[derive(Clone)]
pub(crate) struct Settings {
    verifier: Arc<dyn VerifyRequest>,
    fetcher: Option<Arc<dyn KeyFetcher>>,
    reject_invalid: bool,
    default_scheme: String,
    authority: Authority,
}

impl Settings {
    /// Verifies `request`.
    pub(crate) fn outcome<B>(&self, request: &http::Request<B>) -> Outcome {
        let view = self.authority.view(request, &self.default_scheme);
        self.verifier.verify(&MessageView::Request(view))
    }

    /// The check of a verified nonce in the verifier's async replay store, if it has one.
    pub(crate) fn replay_check(&self, outcome: Outcome) -> ReplayCheck {
        self.verifier.replay_check(outcome)
    }

    /// The fetch to run before verifying again, when the outcome is a key unknown for a named
    /// agent and a fetcher is set.
    pub(crate) fn fetch_for(&self, outcome: &Outcome) -> Option<BoxFetch> {
        let Outcome::Unverified(UnverifiedReason::UnknownKey {
            agent: Some(agent), ..
        }) = outcome
        else {
            return None;
        };
        let fetcher = Arc::clone(self.fetcher.as_ref()?);
        let agent = agent.clone();
        Some(Box::pin(async move {
            let result = fetcher.fetch(&agent).await;
            if let Err(e) = &result {
                tracing::debug!(agent = %agent, error = %e, "web-bot-auth: key fetch failed");
            }
            result
        }))
    }

    /// Logs an invalid outcome; whether it is refused.
    pub(crate) fn judge(&self, outcome: &Outcome) -> bool {
        let Outcome::Invalid(bad) = outcome else {
            return false;
        };
        tracing::debug!(
            label = bad.label.as_deref().unwrap_or("-"),
            agent = bad.agent.as_deref().unwrap_or("-"),
            keyid = bad.keyid.as_deref().unwrap_or("-"),
            reason = %bad.error.reason(),
            rejected = self.reject_invalid,
            "web-bot-auth: invalid signature"
        );
        self.reject_invalid
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyLayer")
            .field("fetcher", &self.fetcher.is_some())
            .field("reject_invalid", &self.reject_invalid)
            .field("default_scheme", &self.default_scheme)
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

/// Verifies the Web Bot Auth signature of each request and puts the
/// [`Outcome`] in its extensions; see the [module documentation](super).
///
/// Cheap to clone: the configuration is shared.
#[derive(Clone)]
pub struct VerifyLayer {
    settings: Arc<Settings>,
}

impl VerifyLayer {
    /// A layer verifying with `verifier`: nothing is fetched, invalid signatures pass (marked
    /// [`Outcome::Invalid`]), the scheme is `https` unless the URI says otherwise, and the
    /// authority comes from the request ([`Authority::FromRequest`]).
    pub fn new<R, C>(verifier: WebBotAuthVerifier<R, C>) -> Self
    where
        R: KeyResolver + 'static,
        C: Clock + 'static,
    {
        Self::from_shared(Arc::new(verifier))
    }

    /// As [`VerifyLayer::new`], with a verifier shared with other code.
    pub fn from_shared<R, C>(verifier: Arc<WebBotAuthVerifier<R, C>>) -> Self
    where
        R: KeyResolver + 'static,
        C: Clock + 'static,
    {
        VerifyLayer {
            settings: Arc::new(Settings {
                verifier,
                fetcher: None,
                reject_invalid: false,
                default_scheme: "https".to_owned(),
                authority: Authority::FromRequest,
            }),
        }
    }

    fn settings_mut(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    /// Fetches the keys of an agent whose key is unknown, then verifies again. The fetcher must
    /// feed the verifier's resolver (a directory cache is both) and bound its own time.
    pub fn with_fetcher(mut self, fetcher: Arc<dyn KeyFetcher>) -> Self {
        self.settings_mut().fetcher = Some(fetcher);
        self
    }

    /// Answers invalid signatures with `401 Unauthorized` instead of passing them on (default
    /// `false`).
    pub fn reject_invalid(mut self, reject: bool) -> Self {
        self.settings_mut().reject_invalid = reject;
        self
    }

    /// The scheme of requests whose URI has none (default `https`; say `http` for a plain-text
    /// listener).
    pub fn default_scheme(mut self, scheme: &str) -> Self {
        scheme.clone_into(&mut self.settings_mut().default_scheme);
        self
    }

    /// Where the authority that `@authority` covers is read (default
    /// [`Authority::FromRequest`]).
    pub fn authority(mut self, authority: Authority) -> Self {
        self.settings_mut().authority = authority;
        self
    }
}

impl fmt::Debug for VerifyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.settings.fmt(f)
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyService::from_settings(inner, Arc::clone(&self.settings))
    }
}
