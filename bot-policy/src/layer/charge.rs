//! Pay-per-crawl: the price exchange and the operator's billing hook.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri};

use super::challenge::json_response;
use crate::policy::Price;

/// The request header with the exact price a crawler agrees to pay.
pub(crate) const EXACT_PRICE: &str = "crawler-exact-price";
/// The request header with the most a crawler agrees to pay.
pub(crate) const MAX_PRICE: &str = "crawler-max-price";
/// The response header with the price asked.
const PRICE: &str = "crawler-price";
/// The response header with the price charged.
pub(crate) const CHARGED: &str = "crawler-charged";
/// The response header with the error code.
const ERROR: &str = "crawler-error";

/// Who pays: the verified crawler.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Payer {
    /// The catalog bot's name, when the catalog knows it.
    pub bot: Option<String>,
    /// Its operator, when known.
    pub operator: Option<String>,
    /// The Web Bot Auth signature agent (an https URL), when verified by signature.
    pub signature_agent: Option<String>,
    /// The key that signed (its JWK thumbprint), when the outcome came from `web-bot-auth`.
    pub keyid: Option<String>,
    /// How the crawler was verified: `signature` or `ip`.
    pub verified_by: &'static str,
}

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

/// Why a charge did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChargeError {
    /// The billing refused it (no account, no funds): the crawler gets `403` `PaymentFailed`
    /// instead of the content.
    #[error("charge declined: {0}")]
    Declined(String),
    /// The billing could not be reached: the crawler gets `503` and may retry.
    #[error("billing unavailable: {0}")]
    Unavailable(String),
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

/// Whether the signature covers a header field (by name).
pub(crate) type CoversField = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// What the crawler is, as far as paying goes.
pub(crate) enum Standing {
    /// Verified strongly enough to pay.
    CanPay {
        payer: Payer,
        /// `Some(false)` when the signature is known not to cover the price header offered.
        covers: Option<CoversField>,
    },
    /// Not verified (or only by IP, when that is not enough).
    CannotPay,
}

/// The crawler's offer accepted: bill this price to this payer if the service answers `2xx`.
pub(crate) struct Accepted {
    pub price: Price,
    pub payer: Payer,
}

/// A pay-per-crawl refusal: the status, Cloudflare's error code, and the price when the
/// crawler may retry with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub price: Option<Price>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, price: Option<Price>) -> Self {
        Refusal {
            status,
            code,
            price,
        }
    }

    /// The response: `status`, `crawler-error: code`, and `crawler-price` when the crawler may
    /// retry with a price.
    pub(crate) fn response(self) -> Response<Bytes> {
        let Refusal {
            status,
            code,
            price,
        } = self;
        let body = match price {
            Some(price) => format!(
                r#"{{"error":"payment_required","crawler_error":"{code}","price":"{price}"}}"#
            ),
            None => format!(r#"{{"error":"payment_refused","crawler_error":"{code}"}}"#),
        };
        let mut response = json_response(status, body);
        let headers = response.headers_mut();
        headers.insert(ERROR, HeaderValue::from_static(code));
        if let Some(price) = price
            && let Ok(value) = HeaderValue::try_from(price.to_string())
        {
            headers.insert(PRICE, value);
        }
        response
    }
}

/// Runs the price exchange for a request a `charge` rule decided.
pub(crate) fn exchange(
    price: Price,
    headers: &HeaderMap,
    standing: Standing,
    can_bill: bool,
) -> Result<Accepted, Refusal> {
    let exact = single(headers, EXACT_PRICE)?;
    let max = single(headers, MAX_PRICE)?;
    let (offer, header) = match (exact, max) {
        (None, None) => {
            return Err(Refusal::new(
                StatusCode::PAYMENT_REQUIRED,
                "MissingCrawlerPrice",
                Some(price),
            ));
        }
        (Some(_), Some(_)) => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "ConflictingPriceHeaders",
                None,
            ));
        }
        (Some(value), None) => (value, EXACT_PRICE),
        (None, Some(value)) => (value, MAX_PRICE),
    };
    let Standing::CanPay { payer, covers } = standing else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "StrongAuthRequired",
            None,
        ));
    };
    let Some(offered) = offer
        .to_str()
        .ok()
        .and_then(|text| text.parse::<Price>().ok())
    else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "InvalidCrawlerPriceValue",
            None,
        ));
    };
    if covers.is_some_and(|covers| !covers(header)) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "InvalidSignature",
            None,
        ));
    }
    let agreed = if header == EXACT_PRICE {
        offered == price
    } else {
        offered.currency() == price.currency() && offered.micros() >= price.micros()
    };
    if !agreed {
        let code = if header == EXACT_PRICE {
            "InvalidCrawlerExactPrice"
        } else {
            "InvalidCrawlerMaxPrice"
        };
        return Err(Refusal::new(
            StatusCode::PAYMENT_REQUIRED,
            code,
            Some(price),
        ));
    }
    if !can_bill {
        tracing::error!(
            target: "bot_policy::decision",
            "a charge rule matched but the layer has no charge hook: refusing to serve unbilled"
        );
        return Err(Refusal::new(StatusCode::FORBIDDEN, "PaymentFailed", None));
    }
    Ok(Accepted { price, payer })
}

/// The one value of `name`; more than one is malformed.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h HeaderValue>, Refusal> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (first, None) => Ok(first),
        (Some(_), Some(_)) | (None, Some(_)) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "InvalidCrawlerPriceValue",
            None,
        )),
    }
}

/// The response to a charge the hook refused.
pub(crate) fn failed(error: &ChargeError) -> Response<Bytes> {
    match error {
        ChargeError::Declined(_) => {
            Refusal::new(StatusCode::FORBIDDEN, "PaymentFailed", None).response()
        }
        ChargeError::Unavailable(_) => {
            Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "InternalError", None).response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(text: &str) -> Price {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn payer() -> Payer {
        Payer {
            bot: Some("GPTBot".into()),
            operator: Some("OpenAI".into()),
            signature_agent: Some("https://chatgpt.com".into()),
            keyid: None,
            verified_by: "signature",
        }
    }

    fn can_pay() -> Standing {
        Standing::CanPay {
            payer: payer(),
            covers: None,
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn code(result: Result<Accepted, Refusal>) -> (u16, String, Option<String>) {
        match result.map_err(Refusal::response) {
            Ok(_) => (200, String::new(), None),
            Err(response) => (
                response.status().as_u16(),
                response.headers()[ERROR].to_str().unwrap_or("").to_owned(),
                response
                    .headers()
                    .get(PRICE)
                    .map(|v| v.to_str().unwrap_or("").to_owned()),
            ),
        }
    }

    #[test]
    fn the_exchange_follows_cloudflares_codes() {
        let p = price("USD 0.01");
        let run = |pairs: &[(&'static str, &'static str)], standing| {
            code(exchange(p, &headers(pairs), standing, true))
        };
        assert_eq!(
            run(&[], can_pay()),
            (402, "MissingCrawlerPrice".into(), Some("USD 0.01".into()))
        );
        assert_eq!(run(&[(EXACT_PRICE, "USD 0.01")], can_pay()).0, 200);
        assert_eq!(run(&[(EXACT_PRICE, "USD 0.010")], can_pay()).0, 200);
        assert_eq!(
            run(&[(EXACT_PRICE, "USD 0.02")], can_pay()),
            (
                402,
                "InvalidCrawlerExactPrice".into(),
                Some("USD 0.01".into())
            )
        );
        assert_eq!(run(&[(MAX_PRICE, "USD 0.05")], can_pay()).0, 200);
        assert_eq!(run(&[(MAX_PRICE, "USD 0.01")], can_pay()).0, 200);
        assert_eq!(
            run(&[(MAX_PRICE, "USD 0.009")], can_pay()),
            (
                402,
                "InvalidCrawlerMaxPrice".into(),
                Some("USD 0.01".into())
            )
        );
        assert_eq!(
            run(&[(MAX_PRICE, "EUR 5")], can_pay()).1,
            "InvalidCrawlerMaxPrice"
        );
        assert_eq!(
            run(
                &[(MAX_PRICE, "USD 1"), (EXACT_PRICE, "USD 0.01")],
                can_pay()
            ),
            (400, "ConflictingPriceHeaders".into(), None)
        );
        assert_eq!(
            run(&[(MAX_PRICE, "a lot")], can_pay()),
            (400, "InvalidCrawlerPriceValue".into(), None)
        );
        assert_eq!(
            run(&[(MAX_PRICE, "USD 1"), (MAX_PRICE, "USD 2")], can_pay()),
            (400, "InvalidCrawlerPriceValue".into(), None)
        );
        // Unverified crawlers learn the price, and are never charged.
        assert_eq!(run(&[], Standing::CannotPay).0, 402);
        assert_eq!(
            run(&[(MAX_PRICE, "USD 1")], Standing::CannotPay),
            (400, "StrongAuthRequired".into(), None)
        );
    }

    #[test]
    fn an_uncovered_price_header_is_refused() {
        let standing = Standing::CanPay {
            payer: payer(),
            covers: Some(Box::new(|name: &str| name == EXACT_PRICE)),
        };
        let h = headers(&[(MAX_PRICE, "USD 1")]);
        assert_eq!(
            code(exchange(price("USD 0.01"), &h, standing, true)).1,
            "InvalidSignature"
        );
    }

    #[test]
    fn without_a_hook_nobody_pays() {
        let h = headers(&[(EXACT_PRICE, "USD 0.01")]);
        assert_eq!(
            code(exchange(price("USD 0.01"), &h, can_pay(), false)),
            (403, "PaymentFailed".into(), None)
        );
    }

    #[test]
    fn hook_failures_map_to_statuses() {
        assert_eq!(
            failed(&ChargeError::Declined("no funds".into())).status(),
            403
        );
        assert_eq!(
            failed(&ChargeError::Unavailable("down".into())).status(),
            503
        );
    }
}
