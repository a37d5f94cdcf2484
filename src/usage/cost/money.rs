//! Money without binary floats: prices and costs are integers of micro-units (millionths of the
//! currency unit), written in reports as decimal strings with six decimals (`"12.345678"`).
//!
//! A price is micro-units per million tokens ([`Rate`]), so a Price List price per token with up
//! to 12 decimals, per 1K tokens with up to 9, or per 1M tokens with up to 6, is kept exactly;
//! further digits are rounded half up. A cost is summed exactly in micro-units × tokens / 10⁶
//! ([`Exact`]) and rounded to the micro-unit only when shown, so summing many cells never drifts.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Micro-units per million tokens: `3_000_000` is 3.00 per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(pub u64);

/// An exact cost: micro-units × 10⁻⁶ (what tokens × [`Rate`] gives before dividing by a
/// million tokens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Exact(pub u128);

/// An amount in micro-units, possibly negative (a drift), shown as a decimal string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub i64);

/// Parses an unsigned decimal (`"0.0000030000"`, `"15"`, `"2.5"`) into an integer scaled by
/// `10^scale`, rounding further digits half up. No sign, exponent or separators; at most 40
/// characters.
pub fn parse_decimal(text: &str, scale: u32) -> Option<u128> {
    let text = text.trim();
    if text.is_empty() || text.len() > 40 {
        return None;
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut value: u128 = 0;
    for b in whole.bytes() {
        value = value.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
    }
    let mut digits = fraction.bytes();
    for _ in 0..scale {
        let digit = digits.next().map_or(0, |b| u128::from(b - b'0'));
        value = value.checked_mul(10)?.checked_add(digit)?;
    }
    if digits.next().is_some_and(|b| b >= b'5') {
        value = value.checked_add(1)?;
    }
    Some(value)
}

impl Rate {
    /// The rate of a price of `price` (a decimal string) per `per_tokens` tokens.
    pub fn per_tokens(price: &str, per_tokens: u64) -> Option<Rate> {
        if per_tokens == 0 {
            return None;
        }
        // price × 10¹² is pico-units per `per_tokens` tokens; micro-units per million tokens
        // is that / per_tokens.
        let pico = parse_decimal(price, 12)?;
        let rate = div_half_up(pico, u128::from(per_tokens));
        u64::try_from(rate).ok().map(Rate)
    }

    /// The rate of `price` (decimal string) per million tokens.
    pub fn per_million(price: &str) -> Option<Rate> {
        Rate::per_tokens(price, 1_000_000)
    }

    /// The cost of `tokens` tokens at this rate.
    pub fn cost_of(self, tokens: u64) -> Exact {
        Exact(u128::from(tokens) * u128::from(self.0))
    }

    /// This rate times `percent`/100, rounded half up (a discount of 10% is `percent` 90).
    pub fn scaled_percent(self, percent: u64) -> Rate {
        let scaled = (u128::from(self.0) * u128::from(percent) + 50) / 100;
        Rate(u64::try_from(scaled).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for Rate {
    /// Per million tokens, as a decimal string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Micros(i64::try_from(self.0).unwrap_or(i64::MAX)).fmt(f)
    }
}

impl Exact {
    /// Adds `other`, saturating.
    pub fn add(&mut self, other: Exact) {
        self.0 = self.0.saturating_add(other.0);
    }

    /// The exact cost of `quantity` units at `price` (a decimal string, at most 12 decimals
    /// kept) per `per` units; saturating. `None` when `price` is not a non-negative decimal or
    /// `per` is 0.
    pub fn of_units(quantity: u64, price: &str, per: u64) -> Option<Exact> {
        if per == 0 {
            return None;
        }
        // price × 10¹² is pico-units (an Exact) per `per` units.
        let pico = parse_decimal(price, 12)?;
        let total = u128::from(quantity).saturating_mul(pico);
        Some(Exact(total / u128::from(per)))
    }

    /// Rounded half up to the micro-unit; a sum past what an `i64` of micro-units holds
    /// (a saturated one included) shows as that maximum, never wraps.
    pub fn micros(self) -> Micros {
        let micros = div_half_up(self.0, 1_000_000);
        Micros(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

/// `value / divisor` rounded half up, for any `value` (no `value + divisor / 2` to overflow).
/// `divisor` must not be 0.
fn div_half_up(value: u128, divisor: u128) -> u128 {
    let (quotient, remainder) = (value / divisor, value % divisor);
    // remainder >= divisor / 2 (rounded up) without overflow: remainder < divisor.
    if remainder >= divisor - divisor / 2 {
        quotient + 1
    } else {
        quotient
    }
}

impl Micros {
    /// `self - other`, saturating.
    pub fn minus(self, other: Micros) -> Micros {
        Micros(self.0.saturating_sub(other.0))
    }

    /// Parses a decimal string with an optional leading `-`, rounding past six decimals.
    pub fn parse(text: &str) -> Option<Micros> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let value = i64::try_from(parse_decimal(digits, 6)?).ok()?;
        Some(Micros(if negative { -value } else { value }))
    }
}

impl fmt::Display for Micros {
    /// `-1.500000`, `0.000042`, `12.345678`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
    }
}

impl Serialize for Micros {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The decimal string [`Micros`] serialises to (a report read back).
impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Micros::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("an amount must be a decimal string, not {text:?}"))
        })
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A rate per million tokens in a pricing file: a JSON number (`0.8`, read through its
/// shortest decimal form, so `0.08` is exactly 80,000 micro-units) or a decimal string.
impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Number(f64),
            Text(String),
        }
        let text = match Given::deserialize(deserializer)? {
            Given::Number(n) if n.is_finite() && n >= 0.0 => format!("{n}"),
            Given::Number(n) => {
                return Err(serde::de::Error::custom(format!(
                    "a price must be >= 0, not {n}"
                )));
            }
            Given::Text(text) => text,
        };
        Rate::per_million(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "a price must be a non-negative decimal (at most 40 characters), not {text:?}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_and_round_half_up() {
        assert_eq!(parse_decimal("0.0000030000", 12), Some(3_000_000));
        assert_eq!(parse_decimal("15", 6), Some(15_000_000));
        assert_eq!(parse_decimal(".5", 1), Some(5));
        assert_eq!(parse_decimal("0.0000005", 6), Some(1));
        assert_eq!(parse_decimal("0.0000004", 6), Some(0));
        for bad in ["", "-1", "1e3", "1.2.3", "a", ".", "1,5"] {
            assert_eq!(parse_decimal(bad, 6), None, "{bad}");
        }
    }

    #[test]
    fn rates_from_each_price_list_unit() {
        // $0.000003 per token, $0.003 per 1K tokens and $3 per 1M tokens are one rate.
        let per_million = Rate(3_000_000);
        assert_eq!(Rate::per_tokens("0.0000030000", 1), Some(per_million));
        assert_eq!(Rate::per_tokens("0.0030000000", 1_000), Some(per_million));
        assert_eq!(Rate::per_million("3"), Some(per_million));
        // Nova Micro's $0.000035 per 1K input tokens.
        assert_eq!(Rate::per_tokens("0.000035", 1_000), Some(Rate(35_000)));
        assert_eq!(Rate::per_tokens("1", 0), None);
    }

    #[test]
    fn costs_sum_exactly_and_round_once() {
        // A million cells of one token at 0.25 per million: each is 0.00000025, the sum 0.25.
        let rate = Rate::per_million("0.25").unwrap();
        let mut sum = Exact::default();
        for _ in 0..1_000_000 {
            sum.add(rate.cost_of(1));
        }
        assert_eq!(sum.micros(), Micros(250_000));
        assert_eq!(sum.micros().to_string(), "0.250000");
        assert_eq!(Micros(-1_500_000).to_string(), "-1.500000");
        assert_eq!(Micros(42).to_string(), "0.000042");
        assert_eq!(Micros::parse("-1.5"), Some(Micros(-1_500_000)));
        assert_eq!(Rate(3_000_000).scaled_percent(90), Rate(2_700_000));
    }

    #[test]
    fn sums_near_the_top_of_u128_saturate_instead_of_wrapping() {
        // A saturated sum shows as the most micro-units there are, never 0.000000.
        let mut sum = Exact(u128::MAX - 1);
        sum.add(Exact(5));
        assert_eq!(sum, Exact(u128::MAX));
        assert_eq!(sum.micros(), Micros(i64::MAX));
        assert_eq!(sum.micros().to_string(), "9223372036854.775807");
        assert_eq!(Exact(u128::MAX - 400_000).micros(), Micros(i64::MAX));
        // Just below and at the half, the rounding is still exact.
        assert_eq!(Exact(1_499_999).micros(), Micros(1));
        assert_eq!(Exact(1_500_000).micros(), Micros(2));
        // A price whose pico-units are near u128::MAX: no rate (it does not fit), no panic.
        let huge = u128::MAX.to_string();
        assert_eq!(parse_decimal(&huge, 0), Some(u128::MAX));
        let huge_rate = format!("{}", u128::MAX / 1_000_000_000_000);
        assert_eq!(Rate::per_tokens(&huge_rate, u64::MAX), None);
        assert_eq!(Rate::per_tokens(&huge_rate, 1), None);
        // Half up at the pico-unit boundary with odd and even divisors.
        assert_eq!(Rate::per_tokens("0.000000000003", 2), Some(Rate(2)));
        assert_eq!(div_half_up(u128::MAX, 3), u128::MAX / 3);
        assert_eq!(div_half_up(u128::MAX, 2), u128::MAX / 2 + 1);
        assert_eq!(div_half_up(5, 3), 2);
        assert_eq!(div_half_up(4, 3), 1);
        // Units at a price per many: exact, saturating.
        let cost = Exact::of_units(2_500_000_000, "0.0076", 1_000_000_000).unwrap();
        assert_eq!(cost.micros(), Micros(19_000));
        let all = Exact::of_units(u64::MAX, &huge_rate, 1).unwrap();
        assert_eq!(all.micros(), Micros(i64::MAX));
        assert_eq!(Exact::of_units(1, "-1", 1), None);
        assert_eq!(Exact::of_units(1, "1", 0), None);
    }

    #[test]
    fn file_prices_read_numbers_through_their_shortest_form() {
        let rate: Rate = serde_json::from_str("0.08").unwrap();
        assert_eq!(rate, Rate(80_000));
        let rate: Rate = serde_json::from_str("\"0.0001234567\"").unwrap();
        assert_eq!(rate, Rate(123));
        assert!(serde_json::from_str::<Rate>("-1").is_err());
        assert!(serde_json::from_str::<Rate>("\"x\"").is_err());
    }
}
