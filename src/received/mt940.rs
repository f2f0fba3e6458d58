//! SWIFT MT940 customer statements, parsed by hand: the format is a few tagged lines,
//! and no crate for it is maintained (the ones on crates.io are unmaintained or read
//! one bank's dialect only).
//!
//! ```text
//! :20:STMT-2026-11-25          statement reference (a new statement starts)
//! :60F:C261124EUR1234,56       opening balance: its currency is the statement's
//! :61:2611251125C120,50NTRFNONREF//B1234
//!     value date YYMMDD, entry date MMDD (optional), C / D / RC / RD, an optional
//!     funds-code letter, the amount with a decimal comma, the transaction type…
//! :86:free text, possibly over several lines, holding the remittance information
//! ```
//!
//! Only credits count: `C`. An `RC` (a credit reversed: a customer's payment returned)
//! that names a reference is set against that customer's payments (a negative amount);
//! `D`, and `RD` (a debit reversed: money coming back from our own side), are not a
//! customer paying. The `:86:` text that follows a `:61:`
//! is its remittance information: the first valid `RF…` in it is the reference, and the
//! payer's name is read best-effort from the German `?32`/`?33` subfields or a
//! `/NAME/` field (the Dutch and ISO-style structured `:86:`).

use super::{Received, find_reference, in_units, positive_amount};
use crate::money::Currency;
use chrono::{Datelike, NaiveDate};

struct Pending {
    line: usize,
    date: NaiveDate,
    amount: rust_decimal::Decimal,
    /// 1: money in (`C`); -1: a credit reversed (`RC`), which nets the credit it names;
    /// 0: money out (`D`) or our own debit coming back (`RD`).
    sign: i8,
    currency: Option<Currency>,
    info: Vec<String>,
}

pub(super) fn read(file: &str, text: &str) -> Result<Vec<Received>, Vec<String>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut currency: Option<Currency> = None;
    let mut pending: Option<Pending> = None;
    // Which field the continuation lines belong to.
    let mut in_86 = false;
    let flush = |p: Option<Pending>, out: &mut Vec<Received>, problems: &mut Vec<String>| {
        let Some(p) = p else { return };
        if p.sign == 0 {
            return;
        }
        let Some(currency) = p.currency else {
            problems.push(format!(
                "{file}:{}: no currency for this entry (expected an opening balance `:60F:` before it, such as `:60F:C261124EUR1234,56`)",
                p.line
            ));
            return;
        };
        let (reference, name) = remittance(&p.info);
        if p.sign < 0 && reference.is_none() {
            // A reversal that names no reference cannot be set against the credit it
            // reverses: it is money out like any debit.
            return;
        }
        let amount = in_units(p.amount, currency);
        out.push(Received {
            source: format!("{file}:{}", p.line),
            date: p.date,
            amount: if p.sign < 0 { -amount } else { amount },
            currency: Some(currency),
            reference,
            name,
            customer: None,
            invoice: None,
        });
    };
    for (k, raw) in text.lines().enumerate() {
        let line = k + 1;
        let l = raw.trim_end_matches('\r');
        // SWIFT block framing ({1:…}{2:…}{4: … -}) carries no entries.
        if l.starts_with('{') || l.trim() == "-}" || l.trim() == "-" {
            in_86 = false;
            continue;
        }
        let Some((tag, value)) = field(l) else {
            if in_86 && let Some(p) = pending.as_mut() {
                p.info.push(l.to_string());
            }
            continue;
        };
        in_86 = false;
        match tag {
            "20" => {
                flush(pending.take(), &mut out, &mut problems);
                currency = None;
            }
            "60F" | "60M" => match value.get(7..10).map(Currency::parse) {
                Some(Ok(c)) => currency = Some(c),
                Some(Err(why)) => problems.push(format!("{file}:{line}: :{tag}: {why}")),
                None => problems.push(format!(
                    "{file}:{line}: :{tag}:{value} is not a balance (expected C or D, YYMMDD, the currency and the amount, such as C261124EUR1234,56)"
                )),
            },
            "61" => {
                flush(pending.take(), &mut out, &mut problems);
                match statement_line(value) {
                    Ok((date, sign, amount)) => {
                        pending = Some(Pending {
                            line,
                            date,
                            amount,
                            sign,
                            currency,
                            info: Vec::new(),
                        })
                    }
                    Err(why) => problems.push(format!("{file}:{line}: :61:{value}: {why}")),
                }
            }
            "86" => {
                if let Some(p) = pending.as_mut() {
                    p.info.push(value.to_string());
                    in_86 = true;
                }
            }
            _ => flush(pending.take(), &mut out, &mut problems),
        }
    }
    flush(pending.take(), &mut out, &mut problems);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// `:TAG:value` → (TAG, value).
fn field(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    let end = rest.find(':')?;
    let tag = &rest[..end];
    (!tag.is_empty() && tag.len() <= 3 && tag.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| (tag, &rest[end + 1..]))
}

/// A `:61:` line's date (the entry date when given, else the value date), whether it
/// is money in, and its amount.
fn statement_line(v: &str) -> Result<(NaiveDate, i8, rust_decimal::Decimal), String> {
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .map(|_| v[r].parse::<u32>().expect("digits"))
    };
    let expected = "expected YYMMDD, an optional MMDD, C, D, RC or RD, and the amount, such as 2611251125C120,50NTRFNONREF";
    let (Some(yy), Some(mm), Some(dd)) = (digits(0..2), digits(2..4), digits(4..6)) else {
        return Err(format!("no value date ({expected})"));
    };
    let value_date = NaiveDate::from_ymd_opt(2000 + yy as i32, mm, dd)
        .ok_or_else(|| format!("value date {yy:02}{mm:02}{dd:02} does not exist ({expected})"))?;
    let mut at = 6;
    let mut date = value_date;
    if let (Some(em), Some(ed)) = (digits(6..8), digits(8..10)) {
        at = 10;
        // The entry date has no year: the value date's, or the one next to it when they
        // straddle a new year (value 31 Dec, booked 2 Jan).
        let year = value_date.year();
        let candidates = [year - 1, year, year + 1];
        date = candidates
            .iter()
            .filter_map(|y| NaiveDate::from_ymd_opt(*y, em, ed))
            .min_by_key(|d| (*d - value_date).num_days().abs())
            .ok_or_else(|| format!("entry date {em:02}{ed:02} does not exist ({expected})"))?;
    }
    let rest = &v[at..];
    let (sign, rest) = if let Some(r) = rest.strip_prefix("RC") {
        (-1, r)
    } else if let Some(r) = rest.strip_prefix("RD") {
        // Money back from a debit reversed (our own transfer returned): not a customer
        // paying, so not counted.
        (0, r)
    } else if let Some(r) = rest.strip_prefix('C') {
        (1, r)
    } else if let Some(r) = rest.strip_prefix('D') {
        (0, r)
    } else {
        return Err(format!("no debit/credit mark ({expected})"));
    };
    // An optional funds code: the third letter of the currency code.
    let rest = match rest.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => &rest[1..],
        _ => rest,
    };
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b',')
        .count();
    let amount = positive_amount(&rest[..len], true)?;
    Ok((date, sign, amount))
}

/// The reference and the payer's name in a `:86:` field's lines.
fn remittance(lines: &[String]) -> (Option<String>, Option<String>) {
    // Lines are cut at 65 characters wherever that falls: a reference may run over two.
    let joined = lines.concat();
    let spaced = lines.join(" ");
    let reference = find_reference(&joined).or_else(|| find_reference(&spaced));
    let name = if subfield(&joined, "32").is_some() {
        let name = [subfield(&joined, "32"), subfield(&joined, "33")]
            .into_iter()
            .flatten()
            .collect::<String>();
        (!name.trim().is_empty()).then(|| name.trim().to_string())
    } else {
        slash_field(&joined, "NAME")
    };
    (reference, name)
}

/// The German `?NN` subfield `code` of a `:86:` text.
fn subfield(text: &str, code: &str) -> Option<String> {
    let key = format!("?{code}");
    let start = text.find(&key)? + key.len();
    let end = text[start..].find('?').map_or(text.len(), |k| start + k);
    Some(text[start..end].to_string())
}

/// `/NAME/value/` in a slash-structured `:86:` text (`//` inside a value is a slash).
fn slash_field(text: &str, code: &str) -> Option<String> {
    let key = format!("/{code}/");
    let start = text.find(&key)? + key.len();
    let rest = &text[start..];
    // The value ends at the next `/CODE/` (upper-case letters between slashes).
    let mut end = rest.len();
    for (k, _) in rest.match_indices('/') {
        let after = &rest[k + 1..];
        let code_len = after.bytes().take_while(u8::is_ascii_uppercase).count();
        if code_len > 0 && after.as_bytes().get(code_len) == Some(&b'/') {
            end = k;
            break;
        }
    }
    let v = rest[..end].trim();
    (!v.is_empty()).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_lines() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let (date, sign, amount) = statement_line("2611251126C120,50NTRFNONREF//B1").unwrap();
        assert_eq!((date, sign), (d(2026, 11, 26), 1));
        assert_eq!(amount, "120.50".parse().unwrap());
        assert_eq!(statement_line("261125D5,NTRF").unwrap().1, 0);
        assert_eq!(statement_line("261125RC5,00NTRF").unwrap().1, -1);
        assert_eq!(statement_line("261125RD5,00NTRF").unwrap().1, 0);
        // A funds code letter before the amount.
        assert_eq!(
            statement_line("261125CR77,10NMSC").unwrap().2,
            "77.10".parse().unwrap()
        );
        // Value on 31 December, booked on 2 January.
        assert_eq!(
            statement_line("2612310102C1,00NTRF").unwrap().0,
            d(2027, 1, 2)
        );
        assert!(
            statement_line("261325C1,00")
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(
            statement_line("261125X1,00")
                .unwrap_err()
                .contains("no debit/credit")
        );
    }

    #[test]
    fn names_from_subfields_and_slash_fields() {
        let (r, n) = remittance(&[
            "166?00GUTSCHRIFT?20EREF+X?21SVWZ+RF18 5390 0754 7".into(),
            "034?32ERIKA MUSTER".into(),
            "MANN?33GMBH".into(),
        ]);
        assert_eq!(r.as_deref(), Some("RF18539007547034"));
        assert_eq!(n.as_deref(), Some("ERIKA MUSTERMANNGMBH"));
        let (r, n) = remittance(&[
            "/TRTP/SEPA OVERBOEKING/IBAN/NL91ABNA0417164300/NAME/J. de V".into(),
            "ries/REMI/invoice 42/EREF/NOTPROVIDED".into(),
        ]);
        assert_eq!(r, None);
        assert_eq!(n.as_deref(), Some("J. de Vries"));
    }
}
