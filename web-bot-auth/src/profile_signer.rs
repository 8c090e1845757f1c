//! Signing requests as a bot under the Web Bot Auth profile.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::agent::SignatureAgent;
use crate::clock::{Clock, SystemClock};
use crate::component::{ComponentIdentifier, DerivedComponent};
use crate::error::{KeyError, ParamsError};
use crate::keys::SigningKey;
use crate::message::{FieldSource, MessageView, RequestView};
use crate::params::SignatureParams;
use crate::profile::WEB_BOT_AUTH_TAG;
use crate::sign::{SignError, Signer};

/// The three fields a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFields {
    /// `Signature-Agent` value.
    pub signature_agent: String,
    /// `Signature-Input` value.
    pub signature_input: String,
    /// `Signature` value.
    pub signature: String,
}

impl SignedFields {
    /// Sets `Signature-Agent` and appends `Signature-Input` and `Signature` on a header map.
    pub fn apply(&self, headers: &mut http::HeaderMap) {
        if let Ok(v) = http::HeaderValue::from_str(&self.signature_agent) {
            headers.insert("signature-agent", v);
        }
        for (name, value) in [
            ("signature-input", &self.signature_input),
            ("signature", &self.signature),
        ] {
            if let Ok(v) = http::HeaderValue::from_str(value) {
                headers.append(name, v);
            }
        }
    }
}

/// Headers with one field replaced, so the base sees the `Signature-Agent` about to be sent.
struct WithAgent<'a> {
    inner: &'a dyn FieldSource,
    agent: &'a str,
}

impl FieldSource for WithAgent<'_> {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        if name == "signature-agent" {
            f(self.agent.as_bytes());
        } else {
            self.inner.for_each_value(name, f);
        }
    }
}

/// Signs outgoing requests for one key and one agent URI.
///
/// Each signature covers `@authority` and the `Signature-Agent` member (plus any components
/// added with [`WebBotAuthSigner::cover`]), with `created` = now, `expires` = now + 5 minutes
/// by default, `keyid` = the key's JWK thumbprint, `alg`, a random 64-byte `nonce` (on by
/// default) and `tag="web-bot-auth"`.
#[derive(Debug)]
pub struct WebBotAuthSigner<C = SystemClock> {
    key: SigningKey,
    agent: SignatureAgent,
    member: String,
    label: String,
    expires_in: u64,
    nonce: bool,
    extra: Vec<ComponentIdentifier>,
    clock: C,
}

impl WebBotAuthSigner<SystemClock> {
    /// A signer for `key` announcing `agent_uri` (an https URI where the key directory is).
    pub fn new(key: SigningKey, agent_uri: &str) -> Result<Self, SignError> {
        if key.algorithm().is_symmetric() {
            return Err(
                KeyError::Unsupported("HMAC keys cannot sign for Web Bot Auth".into()).into(),
            );
        }
        let member = "agent1".to_owned();
        let agent = SignatureAgent::single(&member, agent_uri)?;
        Ok(WebBotAuthSigner {
            key,
            agent,
            member,
            label: "sig1".into(),
            expires_in: 300,
            nonce: true,
            extra: Vec::new(),
            clock: SystemClock,
        })
    }
}

impl<C: Clock> WebBotAuthSigner<C> {
    /// Uses another clock.
    pub fn with_clock<C2: Clock>(self, clock: C2) -> WebBotAuthSigner<C2> {
        WebBotAuthSigner {
            key: self.key,
            agent: self.agent,
            member: self.member,
            label: self.label,
            expires_in: self.expires_in,
            nonce: self.nonce,
            extra: self.extra,
            clock,
        }
    }

    /// The signature label (default `sig1`).
    pub fn with_label(mut self, label: &str) -> Self {
        label.clone_into(&mut self.label);
        self
    }

    /// Seconds until `expires` (default 300).
    pub fn with_expires_in(mut self, secs: u64) -> Self {
        self.expires_in = secs;
        self
    }

    /// Whether to add a random nonce (default on).
    pub fn with_nonce(mut self, on: bool) -> Self {
        self.nonce = on;
        self
    }

    /// Also covers `component` (for example `content-digest`, or `@method`).
    pub fn cover(mut self, component: impl Into<ComponentIdentifier>) -> Self {
        self.extra.push(component.into());
        self
    }

    /// The key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The `Signature-Agent` this signer sends.
    pub fn signature_agent(&self) -> &SignatureAgent {
        &self.agent
    }

    /// The parameters for a signature created at `created`.
    pub fn params(
        &self,
        created: u64,
        nonce: Option<&str>,
    ) -> Result<SignatureParams, ParamsError> {
        let agent_id = ComponentIdentifier::field("signature-agent")
            .and_then(|c| c.with_key(&self.member))
            .map_err(|reason| ParamsError::BadComponent { index: 1, reason })?;
        let mut b = SignatureParams::builder()
            .component(DerivedComponent::Authority)
            .component(agent_id)
            .components(self.extra.iter().cloned())
            .created(created)
            .expires(created.saturating_add(self.expires_in))
            .keyid(self.key.thumbprint())
            .alg(self.key.algorithm());
        if let Some(n) = nonce {
            b = b.nonce(n);
        }
        b.tag(WEB_BOT_AUTH_TAG).build()
    }

    /// Signs a request, drawing the nonce (and any RSA-PSS salt) from the operating system.
    pub fn sign(&self, request: &RequestView<'_>) -> Result<SignedFields, SignError> {
        self.sign_with_rng(request, &mut rand_core::OsRng)
    }

    /// Signs a request at the clock's time, drawing randomness from `rng`.
    pub fn sign_with_rng(
        &self,
        request: &RequestView<'_>,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<SignedFields, SignError> {
        self.sign_at(request, self.clock.now_unix(), rng)
    }

    /// Signs a request as of `created`.
    pub fn sign_at(
        &self,
        request: &RequestView<'_>,
        created: u64,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<SignedFields, SignError> {
        let nonce = if self.nonce {
            let mut bytes = [0u8; 64];
            rng.fill_bytes(&mut bytes);
            Some(STANDARD.encode(bytes))
        } else {
            None
        };
        let params = self.params(created, nonce.as_deref())?;
        let signature_agent = self.agent.to_field_value();
        let headers = WithAgent {
            inner: request.headers,
            agent: &signature_agent,
        };
        let view = RequestView {
            headers: &headers,
            ..*request
        };
        let fields = Signer::new(&self.key).sign_with_rng(
            rng,
            &MessageView::Request(view),
            &self.label,
            &params,
        )?;
        Ok(SignedFields {
            signature_agent,
            signature_input: fields.signature_input,
            signature: fields.signature,
        })
    }

    /// Signs an `http::Request` in place (`default_scheme` as in [`RequestView::from_http`]).
    pub fn sign_http<B>(
        &self,
        request: &mut http::Request<B>,
        default_scheme: &str,
    ) -> Result<(), SignError> {
        let fields = {
            let view = RequestView::from_http(request, default_scheme)
                .map_err(|_| SignError::Base(crate::error::BaseError::MissingAuthority))?;
            self.sign(&view)?
        };
        fields.apply(request.headers_mut());
        Ok(())
    }
}
