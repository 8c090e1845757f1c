//! The operator's billing hook for pay-per-crawl; the exchange itself is
//! [`crate::pay_per_crawl`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::{Method, StatusCode, Uri};

use crate::pay_per_crawl::{ChargeError, Payer};
use crate::policy::Price;

/// One charge for the [`ChargeHook`] to bill: the crawler fetched `uri` and the service answered
/// with `status` (a `2xx`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChargeRequest {
    /// The price charged (the rule's price, also when the crawler offered more).
    pub price: Price,
    /// Who pays.
    pub payer: Payer,
    /// The request method.
    pub method: Method,
    /// The request URI as received.
    pub uri: Uri,
    /// The host the request was for.
    pub host: String,
    /// The `charge` rule's id.
    pub rule: Option<Arc<str>>,
    /// The status the service answered with.
    pub status: StatusCode,
}

/// A charge in flight.
pub type ChargeFuture = Pin<Box<dyn Future<Output = Result<(), ChargeError>> + Send>>;

/// The operator's billing: records (or refuses) one charge. Called once per paid response,
/// after the service answered with a `2xx` and before the response goes out; the response
/// waits for it.
///
/// Implemented for closures `Fn(ChargeRequest) -> impl Future<Output = Result<(), ChargeError>>`.
///
/// ```
/// use bot_policy::layer::{BotPolicyLayer, ChargeError, ChargeRequest};
/// use bot_policy::Policy;
///
/// let policy = Policy::from_toml_str(r#"
///     [[rules]]
///     id = "pay-per-crawl"
///     expression = 'cf.verified_bot_category eq "AI Crawler"'
///     action = "charge"
///     price = "USD 0.01"
/// "#).unwrap();
/// let layer = BotPolicyLayer::new(policy).charge_hook(|charge: ChargeRequest| async move {
///     // Record `charge.price` against `charge.payer` in the ledger.
///     println!("{} owes {} for {}", charge.payer.signature_agent.unwrap_or_default(), charge.price, charge.uri);
///     Ok::<(), ChargeError>(())
/// });
/// # let _ = layer;
/// ```
pub trait ChargeHook: Send + Sync + 'static {
    /// Bills `charge`.
    fn charge(&self, charge: ChargeRequest) -> ChargeFuture;
}

impl<F, Fut> ChargeHook for F
where
    F: Fn(ChargeRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ChargeError>> + Send + 'static,
{
    fn charge(&self, charge: ChargeRequest) -> ChargeFuture {
        Box::pin(self(charge))
    }
}
