//! The layer's configuration.

use std::time::Duration;

use tower_layer::Layer;

use super::McpAuthService;
use crate::gate::AuthGate;

/// Puts an [`AuthGate`] in front of a service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct McpAuthLayer {
    pub(super) gate: AuthGate,
    pub(super) forward_credentials: bool,
    pub(super) body_timeout: Option<Duration>,
}

/// How long a `POST` body may take to arrive, by default.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

impl McpAuthLayer {
    /// The layer for `gate`: credentials are removed before the service, bodies must arrive
    /// within [`DEFAULT_BODY_TIMEOUT`].
    pub fn new(gate: AuthGate) -> McpAuthLayer {
        McpAuthLayer {
            gate,
            forward_credentials: false,
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
        }
    }

    /// Keeps `Authorization` and `Cf-Access-Jwt-Assertion` on the request handed on. Off by
    /// default: a token issued for this server must not travel further (MCP's authorization
    /// specification forbids passing it through to upstream APIs).
    pub fn forward_credentials(mut self, forward: bool) -> Self {
        self.forward_credentials = forward;
        self
    }

    /// How long a `POST` body may take to arrive (`None`: no limit). Past it the request is
    /// answered `408`. The timer needs a tokio runtime; without one, no timeout applies.
    pub fn body_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The gate.
    pub fn gate(&self) -> &AuthGate {
        &self.gate
    }
}

impl<S> Layer<S> for McpAuthLayer {
    type Service = McpAuthService<S>;

    fn layer(&self, inner: S) -> McpAuthService<S> {
        McpAuthService {
            inner,
            config: self.clone(),
        }
    }
}
