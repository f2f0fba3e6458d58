//! Money: ISO 4217 currencies with their minor units, and decimal amounts.
//!
//! Amounts are `rust_decimal::Decimal`, never floating point: a dunning letter that is off
//! by one cent is a complaint, and a total that differs from the ERP's is an audit finding.

use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// The largest amount accepted on one row. Anything above is a data error (an export
/// that put an IBAN or a phone number into the amount column), not a real receivable.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0); // 10^12

/// An ISO 4217 currency that has minor units (so it can be paid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// The currency for an alphabetic code, or why it is not one we can bill in.
    pub fn parse(code: &str) -> Result<Currency, String> {
        let code = code.trim();
        let upper;
        let code_uc = if code.bytes().all(|b| b.is_ascii_uppercase()) {
            code
        } else {
            upper = code.to_ascii_uppercase();
            &upper
        };
        match iso_currency::Currency::from_code(code_uc) {
            Some(c) if c.exponent().is_some() => Ok(Currency(c)),
            Some(_) => Err(format!(
                "`{code}` is not a currency invoices can be paid in (expected an ISO 4217 code such as EUR, PLN, JPY)"
            )),
            None => Err(format!(
                "unknown currency `{code}` (expected an ISO 4217 code such as EUR, PLN, JPY)"
            )),
        }
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point: EUR 2, JPY 0, BHD 3.
    pub fn minor_units(self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(2))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Parses an amount written in an export: `1234.56`, or `1234,56` when the file is
/// `;`-delimited (the European spreadsheet convention). No thousands separators, no
/// exponent, no sign other than a leading `-` (which is then refused as negative).
pub fn parse_amount(
    text: &str,
    currency: Option<Currency>,
    comma_decimal: bool,
) -> Result<Decimal, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("is empty (expected an amount such as 1234.56)".into());
    }
    let normalised;
    let t = if comma_decimal && !t.contains('.') && t.matches(',').count() == 1 {
        normalised = t.replace(',', ".");
        normalised.as_str()
    } else {
        t
    };
    if let Some(v) = fast_decimal(t) {
        return check_amount(text, v, currency);
    }
    let body = t.strip_prefix('-').unwrap_or(t);
    let valid_shape = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|&b| b == b'.').count() <= 1
        && body.bytes().any(|b| b.is_ascii_digit());
    if !valid_shape {
        return Err(format!(
            "`{text}` is not a decimal amount (expected digits with an optional `.`, such as 1234.56)"
        ));
    }
    let value = Decimal::from_str(t)
        .map_err(|_| format!("`{text}` is out of range (expected at most {MAX_AMOUNT})"))?;
    check_amount(text, value, currency)
}

/// `123`, `123.45`: up to 15 digits before and 6 after the point, the shape almost every
/// export has — parsed without `Decimal::from_str`'s generality (much faster on millions
/// of rows).
fn fast_decimal(t: &str) -> Option<Decimal> {
    let b = t.as_bytes();
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b[..0]),
    };
    if int.is_empty()
        || int.len() > 15
        || frac.len() > 6
        || !int.iter().chain(frac).all(u8::is_ascii_digit)
    {
        return None;
    }
    let mut m: i64 = 0;
    for &d in int.iter().chain(frac) {
        m = m * 10 + i64::from(d - b'0');
    }
    Some(Decimal::new(m, frac.len() as u32))
}

fn check_amount(text: &str, value: Decimal, currency: Option<Currency>) -> Result<Decimal, String> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(format!(
            "`{text}` is negative (expected zero or more; credit notes belong in their own rows with status cancelled)"
        ));
    }
    if value > MAX_AMOUNT {
        return Err(format!(
            "`{text}` is implausibly large (expected at most {MAX_AMOUNT})"
        ));
    }
    let value = value.normalize();
    if let Some(cur) = currency {
        let scale = value.scale();
        if scale > cur.minor_units() {
            let expected = match cur.minor_units() {
                0 => format!("{cur} has no minor units: expected a whole number"),
                n => format!(
                    "{cur} has {n} decimal place{}",
                    if n == 1 { "" } else { "s" }
                ),
            };
            let places = if scale == 1 { "place" } else { "places" };
            return Err(format!(
                "`{text}` has {scale} decimal {places} ({expected})"
            ));
        }
    }
    Ok(value)
}

/// An amount rounded to its currency's minor units, half away from zero — the rule
/// accountants use; banker's rounding would surprise a debtor checking the sum.
pub fn round(amount: Decimal, currency: Currency) -> Decimal {
    amount.round_dp_with_strategy(
        currency.minor_units(),
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    )
}

/// Plain machine form with exactly the currency's decimals: `1234.50`, `12345`.
pub fn plain(amount: Decimal, currency: Currency) -> String {
    let mut a = round(amount, currency);
    a.rescale(currency.minor_units());
    a.to_string()
}

/// `total` in `n` instalments of whole minor units that sum to it exactly: equal parts
/// rounded down, the remainder on the first instalment (`100.00 / 3` → `33.34, 33.33,
/// 33.33`). A debtor who pays every instalment has paid the debt, to the cent.
pub fn split(total: Decimal, currency: Currency, n: usize) -> Vec<Decimal> {
    let n = n.max(1);
    let total = round(total, currency);
    let scale = Decimal::from(10u64.pow(currency.minor_units()));
    let minor = (total * scale).trunc();
    let part = (minor / Decimal::from(n as u64)).trunc();
    let first = minor - part * Decimal::from((n - 1) as u64);
    std::iter::once(first)
        .chain(std::iter::repeat_n(part, n - 1))
        .map(|m| {
            let mut v = m / scale;
            v.rescale(currency.minor_units());
            v
        })
        .collect()
}

/// Adds `amount` to a per-currency total, kept at the currency's minor units so that
/// reports show `330.00 PLN` and `15500 JPY`.
pub fn add_to(
    totals: &mut std::collections::BTreeMap<String, Decimal>,
    currency: Currency,
    amount: Decimal,
) {
    let t = totals.entry(currency.code().to_string()).or_default();
    *t += amount;
    t.rescale(currency.minor_units());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instalments_sum_to_the_debt() {
        let eur = Currency::parse("EUR").unwrap();
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let parts = split(d("100.00"), eur, 3);
        assert_eq!(parts, [d("33.34"), d("33.33"), d("33.33")]);
        for (total, n) in [("0.01", 3), ("1234.57", 4), ("999999.99", 7), ("5", 1)] {
            let parts = split(d(total), eur, n);
            assert_eq!(parts.len(), n);
            assert_eq!(parts.iter().sum::<Decimal>(), d(total), "{total}/{n}");
        }
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(split(d("10000"), jpy, 3), [d("3334"), d("3333"), d("3333")]);
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn minor_units_per_currency() {
        assert_eq!(Currency::parse("jpy").unwrap().minor_units(), 0);
        assert_eq!(eur().minor_units(), 2);
        assert_eq!(Currency::parse("BHD").unwrap().minor_units(), 3);
        assert!(
            Currency::parse("XAU").unwrap_err().contains("cannot")
                || Currency::parse("XAU").is_err()
        );
        assert!(
            Currency::parse("EURO")
                .unwrap_err()
                .contains("unknown currency `EURO`")
        );
    }

    #[test]
    fn amounts_are_strict_decimals() {
        assert_eq!(
            parse_amount("123.45", Some(eur()), false)
                .unwrap()
                .to_string(),
            "123.45"
        );
        assert_eq!(
            parse_amount("123.40", Some(eur()), false)
                .unwrap()
                .to_string(),
            "123.4"
        );
        assert_eq!(
            parse_amount("12,5", Some(eur()), true).unwrap().to_string(),
            "12.5"
        );
        assert!(parse_amount("12,5", Some(eur()), false).is_err());
        assert!(
            parse_amount("1e5", None, false)
                .unwrap_err()
                .contains("not a decimal")
        );
        assert!(
            parse_amount("-5", None, false)
                .unwrap_err()
                .contains("negative")
        );
        assert!(
            parse_amount("1.234", Some(eur()), false)
                .unwrap_err()
                .contains("EUR has 2 decimal places")
        );
        assert!(
            parse_amount("10.5", Some(Currency::parse("JPY").unwrap()), false)
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            parse_amount("1000000000000000", None, false)
                .unwrap_err()
                .contains("implausibly large")
        );
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000i64));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(plain(Decimal::from_str("2.345").unwrap(), eur()), "2.35");
        assert_eq!(
            plain(
                Decimal::from_str("2.5").unwrap(),
                Currency::parse("JPY").unwrap()
            ),
            "3"
        );
        assert_eq!(plain(Decimal::from(7), eur()), "7.00");
    }
}
