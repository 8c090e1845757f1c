//! Prices for pay-per-crawl: `USD 0.01`.

use std::fmt;
use std::str::FromStr;

/// A price: an ISO 4217 currency code and an amount, exact to a millionth.
///
/// ```
/// use bot_policy::policy::Price;
///
/// let price: Price = "USD 0.01".parse().unwrap();
/// assert_eq!(price.currency(), "USD");
/// assert_eq!(price.micros(), 10_000);
/// assert_eq!(price.to_string(), "USD 0.01");
/// assert!("usd 1".parse::<Price>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Price {
    currency: [u8; 3],
    micros: u64,
}

/// A price that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid price `{text}`: {reason} (expected a currency code and an amount, as in `USD 0.01`)"
)]
pub struct PriceError {
    text: String,
    reason: &'static str,
}

impl Price {
    /// The currency code, three upper-case letters.
    pub fn currency(&self) -> &str {
        std::str::from_utf8(&self.currency).unwrap_or("XXX")
    }

    /// The amount in millionths of the currency unit.
    pub fn micros(&self) -> u64 {
        self.micros
    }
}

impl FromStr for Price {
    type Err = PriceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| PriceError {
            text: text.chars().take(64).collect(),
            reason,
        };
        let (code, amount) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| fail("no space between currency and amount"))?;
        let currency: [u8; 3] = code
            .as_bytes()
            .try_into()
            .map_err(|_| fail("the currency code has three letters"))?;
        if !currency.iter().all(u8::is_ascii_uppercase) {
            return Err(fail("the currency code is upper case"));
        }
        let amount = amount.trim();
        let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(fail("the amount is a non-negative decimal number"));
        }
        if fraction.len() > 6 {
            return Err(fail("the amount has at most six decimals"));
        }
        let whole: u64 = whole.parse().map_err(|_| fail("the amount is too large"))?;
        let mut micros_part: u64 = 0;
        for (i, digit) in fraction.bytes().enumerate() {
            micros_part += u64::from(digit - b'0') * 10u64.pow(5 - i as u32);
        }
        let micros = whole
            .checked_mul(1_000_000)
            .and_then(|w| w.checked_add(micros_part))
            .ok_or_else(|| fail("the amount is too large"))?;
        Ok(Price { currency, micros })
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.micros / 1_000_000;
        let mut fraction = format!("{:06}", self.micros % 1_000_000);
        while fraction.len() > 2 && fraction.ends_with('0') {
            fraction.pop();
        }
        write!(f, "{} {whole}.{fraction}", self.currency())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        for (text, micros, shown) in [
            ("USD 0.01", 10_000, "USD 0.01"),
            ("EUR 1", 1_000_000, "EUR 1.00"),
            ("USD 0.000001", 1, "USD 0.000001"),
            ("USD 12.5", 12_500_000, "USD 12.50"),
        ] {
            let price: Price = text.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(price.micros(), micros);
            assert_eq!(price.to_string(), shown);
        }
        for bad in [
            "",
            "USD",
            "USD -1",
            "US 1",
            "USD 1.0000001",
            "USD 1e3",
            "USD .5",
            "USDX 1",
            "USD 99999999999999999999",
        ] {
            assert!(bad.parse::<Price>().is_err(), "{bad}");
        }
    }
}
