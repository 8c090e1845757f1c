//! Our `VerifyLayer` in front of a bare service, against the core verify call on the same
//! request (both clone the request, as a server hands each request over by value).

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use tower_layer::Layer;
use tower_service::Service;
use web_bot_auth::clock::ManualClock;
use web_bot_auth::keys::VerifyingKey;
use web_bot_auth::layer::{VerifyLayer, VerifyService};
use web_bot_auth::message::{MessageView, RequestView};
use web_bot_auth::profile::{Outcome, ProfileConfig, WebBotAuthVerifier};
use web_bot_auth::verify::KeySet;

use crate::fixtures::{NOW, PUBLIC_JWK};

/// The inner service: answers at once, saying whether the layer attached a verified outcome.
#[derive(Debug, Clone, Copy)]
pub struct Bare;

impl Service<http::Request<String>> for Bare {
    type Response = http::Response<bool>;
    type Error = Infallible;
    type Future = Ready<Result<http::Response<bool>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<String>) -> Self::Future {
        let verified = matches!(
            req.extensions().get::<Outcome>(),
            Some(Outcome::Verified(_))
        );
        ready(Ok(http::Response::new(verified)))
    }
}

/// The layered service and the same verifier called directly.
pub struct Layered {
    service: VerifyService<Bare>,
    verifier: Arc<WebBotAuthVerifier<KeySet, ManualClock>>,
}

impl std::fmt::Debug for Layered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layered").finish_non_exhaustive()
    }
}

impl Layered {
    /// Builds both over the RFC 9421 test key.
    pub fn new() -> Result<Self, String> {
        let mut keys = KeySet::new();
        keys.insert(VerifyingKey::from_jwk_json(PUBLIC_JWK).map_err(|e| e.to_string())?);
        let verifier = Arc::new(
            WebBotAuthVerifier::new(keys)
                .with_clock(ManualClock::new(NOW))
                .with_config(ProfileConfig {
                    allow_test_keys: true,
                    max_lifetime: u64::MAX,
                    ..Default::default()
                }),
        );
        Ok(Layered {
            service: VerifyLayer::from_shared(Arc::clone(&verifier)).layer(Bare),
            verifier,
        })
    }

    /// The core call on a copy of the request.
    pub fn core(&self, req: &http::Request<String>) -> bool {
        let req = req.clone();
        match RequestView::from_http(&req, "https") {
            Ok(view) => matches!(
                self.verifier.verify(&MessageView::Request(view)),
                Outcome::Verified(_)
            ),
            Err(_) => false,
        }
    }

    /// The layer on a copy of the request; its future completes at once (no fetch).
    pub fn layered(&self, req: &http::Request<String>) -> bool {
        let mut service = self.service.clone();
        let future = pin!(service.call(req.clone()));
        match future.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(res)) => *res.body().inner_ref().unwrap_or(&false),
            _ => false,
        }
    }
}

/// A directory cache holding the test key for the vector's agent.
pub struct CacheHit {
    cache: web_bot_auth::directory_cache::DirectoryCache,
    keyid: String,
}

impl std::fmt::Debug for CacheHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheHit").finish_non_exhaustive()
    }
}

impl CacheHit {
    /// The agent of the protocol-02 vectors.
    pub const AGENT: &'static str = "https://signature-agent.test";

    /// A cache with the key pinned for [`CacheHit::AGENT`].
    pub fn new() -> Result<Self, String> {
        use web_bot_auth::directory_cache::{DirectoryCache, DirectoryCacheConfig};
        let key = VerifyingKey::from_jwk_json(PUBLIC_JWK).map_err(|e| e.to_string())?;
        let cache =
            DirectoryCache::new(DirectoryCacheConfig::default()).map_err(|e| e.to_string())?;
        let keyid = key.thumbprint().to_owned();
        cache
            .insert_static(Self::AGENT, vec![key])
            .map_err(|e| e.to_string())?;
        Ok(CacheHit { cache, keyid })
    }

    /// One lookup, as the verifier makes it.
    pub fn resolve(&self) -> bool {
        use web_bot_auth::verify::{KeyQuery, KeyResolver};
        self.cache
            .resolve(&KeyQuery {
                agent: Some(Self::AGENT),
                keyid: &self.keyid,
                alg: Some("ed25519"),
            })
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::PUBLISHED;

    #[test]
    fn both_paths_verify() {
        let l = Layered::new().unwrap();
        let req = PUBLISHED.request();
        assert!(l.core(&req));
        assert!(l.layered(&req));
        assert!(CacheHit::new().unwrap().resolve());
    }
}
