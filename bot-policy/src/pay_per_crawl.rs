//! Cloudflare's pay-per-crawl price exchange, for any framework: what a crawler offers in
//! `crawler-exact-price` / `crawler-max-price`, checked against a `charge` rule's price and the
//! crawler's standing.
//!
//! `BotPolicyLayer` (feature `tower`) runs it for tower services; its module documentation
//! walks through the whole exchange. A service that does not run tower layers (actix-web)
//! calls [`negotiate`] on a `charge` verdict, with a [`Payer`] from its classification; it
//! answers a [`PaymentRefusal`] with its response, and bills an [`Agreement`] once its handler
//! answered `2xx`.

use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::classify::Classification;
use crate::policy::Price;

/// The request field with the exact price a crawler agrees to pay.
pub const CRAWLER_EXACT_PRICE: &str = "crawler-exact-price";
/// The request field with the most a crawler agrees to pay.
pub const CRAWLER_MAX_PRICE: &str = "crawler-max-price";
/// The response field with the price asked.
pub const CRAWLER_PRICE: &str = "crawler-price";
/// The response field with the price charged.
pub const CRAWLER_CHARGED: &str = "crawler-charged";
/// The response field with Cloudflare's error code for a refused exchange.
pub const CRAWLER_ERROR: &str = "crawler-error";

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

impl Payer {
    /// The payer `classification` describes, when its claim was verified strongly enough to
    /// pay: by a Web Bot Auth signature, or by IP range when `accept_ip` is set (what
    /// `BotPolicyLayer::charge_ip_verified` sets for the layer). `None` for anyone else: they
    /// learn the price, and cannot pay it.
    pub fn from_classification(
        classification: &Classification<'_>,
        accept_ip: bool,
    ) -> Option<Payer> {
        let facts = classification.bot_facts();
        Payer::verified(
            classification.verified_by(),
            accept_ip,
            classification
                .bot()
                .map(|bot| (bot.name.as_str(), bot.operator.as_str())),
            facts.signed.then_some(facts.signature_agent),
        )
    }

    /// A crawler the service verified by its Web Bot Auth signature, from `signature_agent`
    /// (an https URL), without the catalog's name for it.
    pub fn verified_by_signature(signature_agent: impl Into<String>) -> Payer {
        Payer {
            bot: None,
            operator: None,
            signature_agent: Some(signature_agent.into()),
            keyid: None,
            verified_by: "signature",
        }
    }

    /// The payer with the id of the key that signed (its JWK thumbprint).
    pub fn with_keyid(mut self, keyid: impl Into<String>) -> Payer {
        self.keyid = Some(keyid.into());
        self
    }

    /// The payer, when `verified_by` is strong enough.
    pub(crate) fn verified(
        verified_by: Option<&'static str>,
        accept_ip: bool,
        bot: Option<(&str, &str)>,
        signature_agent: Option<&str>,
    ) -> Option<Payer> {
        let verified_by = match verified_by {
            Some("signature") => "signature",
            Some("ip") if accept_ip => "ip",
            _ => return None,
        };
        Some(Payer {
            bot: bot.map(|(name, _)| name.to_owned()),
            operator: bot.map(|(_, operator)| operator.to_owned()),
            signature_agent: signature_agent.map(str::to_owned),
            keyid: None,
            verified_by,
        })
    }
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

/// The crawler's offer accepted: bill [`price`](Self::price) to [`payer`](Self::payer) once the
/// service answers `2xx`, and send the `2xx` with `crawler-charged: <price>`
/// ([`CRAWLER_CHARGED`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Agreement {
    /// The price to charge: the rule's, also when the crawler offered more.
    pub price: Price,
    /// Who pays.
    pub payer: Payer,
}

/// A refused pay-per-crawl exchange: the status, Cloudflare's error code, and the price when
/// the crawler may retry with one. [`into_response`](Self::into_response) is the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentRefusal {
    status: StatusCode,
    code: &'static str,
    price: Option<Price>,
}

impl PaymentRefusal {
    fn new(status: StatusCode, code: &'static str, price: Option<Price>) -> Self {
        PaymentRefusal {
            status,
            code,
            price,
        }
    }

    /// `402` (pay this price), `400` (a malformed or unverifiable offer) or `403` (the crawler
    /// cannot be billed).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Cloudflare's error code, e.g. `MissingCrawlerPrice`, sent in [`CRAWLER_ERROR`].
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The price the crawler may retry with (sent in [`CRAWLER_PRICE`]), for a `402`.
    pub fn price(&self) -> Option<Price> {
        self.price
    }

    /// The response: the status, `crawler-error: <code>`, `crawler-price` when the crawler may
    /// retry with a price, and a short JSON body.
    pub fn into_response(self) -> Response<String> {
        let PaymentRefusal {
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
        headers.insert(CRAWLER_ERROR, HeaderValue::from_static(code));
        if let Some(price) = price
            && let Ok(value) = HeaderValue::try_from(price.to_string())
        {
            headers.insert(CRAWLER_PRICE, value);
        }
        response
    }
}

/// Runs the pay-per-crawl price exchange for a request a `charge` rule decided (a
/// [`Verdict::Charge`](crate::Verdict::Charge) with `price`), for services that do not run
/// `BotPolicyLayer` (which does this itself).
///
/// `headers` are the request's; `payer` is who pays when the crawler is verified strongly
/// enough ([`Payer::from_classification`]), `None` otherwise; `covers` says whether the
/// crawler's signature covers a header field (by lower-case name), when that is known
/// (`web-bot-auth`'s `VerifiedAgent::covers_field`): a price field the signature does not
/// cover is refused, so that a replayed request cannot change the offer.
///
/// On [`Agreement`], pass the request on; if the service answers `2xx`, bill the agreement and
/// add `crawler-charged` (if billing fails, answer [`ChargeError::response`] instead of the
/// content). On [`PaymentRefusal`], answer its response.
///
/// ```
/// use bot_policy::pay_per_crawl::{negotiate, Payer, CRAWLER_EXACT_PRICE};
/// use bot_policy::policy::Price;
/// use http::HeaderMap;
///
/// let price: Price = "USD 0.01".parse().unwrap();
/// let payer = || Some(Payer::verified_by_signature("https://crawler.example"));
///
/// // First the crawler learns the price...
/// let refusal = negotiate(price, &HeaderMap::new(), payer(), None).unwrap_err();
/// assert_eq!(refusal.status(), 402);
/// assert_eq!(refusal.code(), "MissingCrawlerPrice");
/// assert_eq!(refusal.price(), Some(price));
///
/// // ...then it offers it, and the service bills it for the content.
/// let mut headers = HeaderMap::new();
/// headers.insert(CRAWLER_EXACT_PRICE, "USD 0.01".parse().unwrap());
/// let agreement = negotiate(price, &headers, payer(), None).unwrap();
/// assert_eq!(agreement.price, price);
///
/// // A crawler nobody verified is never charged.
/// assert_eq!(negotiate(price, &headers, None, None).unwrap_err().code(), "StrongAuthRequired");
/// ```
pub fn negotiate(
    price: Price,
    headers: &HeaderMap,
    payer: Option<Payer>,
    covers: Option<&dyn Fn(&str) -> bool>,
) -> Result<Agreement, PaymentRefusal> {
    exchange(price, headers, payer, covers, true)
}

/// [`negotiate`], refusing with `403` `PaymentFailed` when there is no billing (`can_bill`).
pub(crate) fn exchange(
    price: Price,
    headers: &HeaderMap,
    payer: Option<Payer>,
    covers: Option<&dyn Fn(&str) -> bool>,
    can_bill: bool,
) -> Result<Agreement, PaymentRefusal> {
    let exact = single(headers, CRAWLER_EXACT_PRICE)?;
    let max = single(headers, CRAWLER_MAX_PRICE)?;
    let (offer, header) = match (exact, max) {
        (None, None) => {
            return Err(PaymentRefusal::new(
                StatusCode::PAYMENT_REQUIRED,
                "MissingCrawlerPrice",
                Some(price),
            ));
        }
        (Some(_), Some(_)) => {
            return Err(PaymentRefusal::new(
                StatusCode::BAD_REQUEST,
                "ConflictingPriceHeaders",
                None,
            ));
        }
        (Some(value), None) => (value, CRAWLER_EXACT_PRICE),
        (None, Some(value)) => (value, CRAWLER_MAX_PRICE),
    };
    let Some(payer) = payer else {
        return Err(PaymentRefusal::new(
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
        return Err(PaymentRefusal::new(
            StatusCode::BAD_REQUEST,
            "InvalidCrawlerPriceValue",
            None,
        ));
    };
    if covers.is_some_and(|covers| !covers(header)) {
        return Err(PaymentRefusal::new(
            StatusCode::BAD_REQUEST,
            "InvalidSignature",
            None,
        ));
    }
    let agreed = if header == CRAWLER_EXACT_PRICE {
        offered == price
    } else {
        offered.currency() == price.currency() && offered.micros() >= price.micros()
    };
    if !agreed {
        let code = if header == CRAWLER_EXACT_PRICE {
            "InvalidCrawlerExactPrice"
        } else {
            "InvalidCrawlerMaxPrice"
        };
        return Err(PaymentRefusal::new(
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
        return Err(PaymentRefusal::new(
            StatusCode::FORBIDDEN,
            "PaymentFailed",
            None,
        ));
    }
    Ok(Agreement { price, payer })
}

/// The one value of `name`; more than one is malformed.
fn single<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h HeaderValue>, PaymentRefusal> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (first, None) => Ok(first),
        (Some(_), Some(_)) | (None, Some(_)) => Err(PaymentRefusal::new(
            StatusCode::BAD_REQUEST,
            "InvalidCrawlerPriceValue",
            None,
        )),
    }
}

impl ChargeError {
    /// The answer instead of the content: `403` `PaymentFailed` for [`Declined`](Self::Declined),
    /// `503` for [`Unavailable`](Self::Unavailable).
    pub fn response(&self) -> Response<String> {
        match self {
            ChargeError::Declined(_) => {
                PaymentRefusal::new(StatusCode::FORBIDDEN, "PaymentFailed", None)
            }
            ChargeError::Unavailable(_) => {
                PaymentRefusal::new(StatusCode::SERVICE_UNAVAILABLE, "InternalError", None)
            }
        }
        .into_response()
    }
}

/// A JSON response the client can parse, never cached.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    set_json_headers(response.headers_mut());
    response
}

/// `content-type: application/json` and `cache-control: no-store`.
pub(crate) fn set_json_headers(headers: &mut HeaderMap) {
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
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

    fn can_pay() -> Option<Payer> {
        Some(payer())
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn code(result: Result<Agreement, PaymentRefusal>) -> (u16, String, Option<String>) {
        match result.map_err(PaymentRefusal::into_response) {
            Ok(_) => (200, String::new(), None),
            Err(response) => (
                response.status().as_u16(),
                response.headers()[CRAWLER_ERROR]
                    .to_str()
                    .unwrap_or("")
                    .to_owned(),
                response
                    .headers()
                    .get(CRAWLER_PRICE)
                    .map(|v| v.to_str().unwrap_or("").to_owned()),
            ),
        }
    }

    #[test]
    fn the_exchange_follows_cloudflares_codes() {
        let p = price("USD 0.01");
        let run = |pairs: &[(&'static str, &'static str)], payer| {
            code(negotiate(p, &headers(pairs), payer, None))
        };
        assert_eq!(
            run(&[], can_pay()),
            (402, "MissingCrawlerPrice".into(), Some("USD 0.01".into()))
        );
        assert_eq!(run(&[(CRAWLER_EXACT_PRICE, "USD 0.01")], can_pay()).0, 200);
        assert_eq!(run(&[(CRAWLER_EXACT_PRICE, "USD 0.010")], can_pay()).0, 200);
        assert_eq!(
            run(&[(CRAWLER_EXACT_PRICE, "USD 0.02")], can_pay()),
            (
                402,
                "InvalidCrawlerExactPrice".into(),
                Some("USD 0.01".into())
            )
        );
        assert_eq!(run(&[(CRAWLER_MAX_PRICE, "USD 0.05")], can_pay()).0, 200);
        assert_eq!(run(&[(CRAWLER_MAX_PRICE, "USD 0.01")], can_pay()).0, 200);
        assert_eq!(
            run(&[(CRAWLER_MAX_PRICE, "USD 0.009")], can_pay()),
            (
                402,
                "InvalidCrawlerMaxPrice".into(),
                Some("USD 0.01".into())
            )
        );
        assert_eq!(
            run(&[(CRAWLER_MAX_PRICE, "EUR 5")], can_pay()).1,
            "InvalidCrawlerMaxPrice"
        );
        assert_eq!(
            run(
                &[
                    (CRAWLER_MAX_PRICE, "USD 1"),
                    (CRAWLER_EXACT_PRICE, "USD 0.01")
                ],
                can_pay()
            ),
            (400, "ConflictingPriceHeaders".into(), None)
        );
        assert_eq!(
            run(&[(CRAWLER_MAX_PRICE, "a lot")], can_pay()),
            (400, "InvalidCrawlerPriceValue".into(), None)
        );
        assert_eq!(
            run(
                &[(CRAWLER_MAX_PRICE, "USD 1"), (CRAWLER_MAX_PRICE, "USD 2")],
                can_pay()
            ),
            (400, "InvalidCrawlerPriceValue".into(), None)
        );
        // Unverified crawlers learn the price, and are never charged.
        assert_eq!(run(&[], None).0, 402);
        assert_eq!(
            run(&[(CRAWLER_MAX_PRICE, "USD 1")], None),
            (400, "StrongAuthRequired".into(), None)
        );
    }

    #[test]
    fn an_uncovered_price_header_is_refused() {
        let covers = |name: &str| name == CRAWLER_EXACT_PRICE;
        let h = headers(&[(CRAWLER_MAX_PRICE, "USD 1")]);
        assert_eq!(
            code(negotiate(price("USD 0.01"), &h, can_pay(), Some(&covers))).1,
            "InvalidSignature"
        );
        let h = headers(&[(CRAWLER_EXACT_PRICE, "USD 0.01")]);
        let agreement = negotiate(price("USD 0.01"), &h, can_pay(), Some(&covers));
        assert_eq!(agreement.map(|a| a.payer), Ok(payer()));
    }

    #[test]
    fn without_a_hook_nobody_pays() {
        let h = headers(&[(CRAWLER_EXACT_PRICE, "USD 0.01")]);
        assert_eq!(
            code(exchange(price("USD 0.01"), &h, can_pay(), None, false)),
            (403, "PaymentFailed".into(), None)
        );
    }

    #[test]
    fn only_verified_classifications_pay() {
        use crate::catalog::Catalog;
        use crate::classify::{Classifier, Signals, SignatureOutcome};
        use crate::ranges::RangeRegistry;

        let classifier = Classifier::new(Catalog::builtin(), RangeRegistry::builtin());
        let gptbot = "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)";
        let classify = |user_agent: &str, signature| {
            let signals = Signals {
                user_agent: user_agent.as_bytes(),
                client_ip: "203.0.113.9".parse().ok(),
                signature,
                headers: None,
            };
            Payer::from_classification(&classifier.classify(&signals), true)
        };
        let signed = classify(
            gptbot,
            SignatureOutcome::Verified {
                agent: "https://chatgpt.com",
            },
        );
        let Some(signed) = signed else {
            panic!("a verified signature pays");
        };
        assert_eq!(signed.verified_by, "signature");
        assert_eq!(signed.bot.as_deref(), Some("GPTBot"));
        assert_eq!(signed.operator.as_deref(), Some("OpenAI"));
        assert_eq!(
            signed.signature_agent.as_deref(),
            Some("https://chatgpt.com")
        );
        assert_eq!(
            signed.with_keyid("k1").keyid.as_deref(),
            Some("k1"),
            "the key id is kept"
        );
        // A claim from the wrong address, an invalid signature, a browser: nobody to bill.
        assert_eq!(classify(gptbot, SignatureOutcome::Absent), None);
        assert_eq!(classify(gptbot, SignatureOutcome::Invalid), None);
        assert_eq!(
            classify("Mozilla/5.0 Firefox/128.0", SignatureOutcome::Absent),
            None
        );
    }

    #[test]
    fn hook_failures_map_to_statuses() {
        assert_eq!(
            ChargeError::Declined("no funds".into()).response().status(),
            403
        );
        assert_eq!(
            ChargeError::Unavailable("down".into()).response().status(),
            503
        );
    }
}
