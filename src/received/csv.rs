//! payments.csv, as the export has it (`payment_id, customer_id, date, amount`, and
//! `invoice_id`, `method`, `status`), with two optional columns a bank export or a
//! payment portal adds: `currency` and `reference` (and `name`, the payer). `,` or `;`
//! delimited; in a `;` file a decimal comma is read, as in the export (docs/input.md).
//! Bounced and reversed payments (`status`) are not money received.

use super::Received;
use crate::money::Currency;

const REQUIRED: [&str; 4] = ["payment_id", "customer_id", "date", "amount"];

pub(super) fn read(file: &str, text: &str) -> Result<Vec<Received>, Vec<String>> {
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut r = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let head: Vec<String> = match r.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_ascii_lowercase()).collect(),
        Err(e) => return Err(vec![format!("{file}:1: {e}")]),
    };
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !head.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        return Err(vec![format!(
            "{file}:1: no {} column{} (expected a payments.csv with the columns {}, and optionally currency, reference, name, invoice_id, status — or a camt.053/camt.054 or MT940 statement)",
            missing
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if missing.len() == 1 { "" } else { "s" },
            REQUIRED.join(", ")
        )]);
    }
    let col = |name: &str| head.iter().position(|h| h == name);
    let (c_customer, c_date, c_amount) = (
        col("customer_id").expect("checked"),
        col("date").expect("checked"),
        col("amount").expect("checked"),
    );
    let (c_currency, c_reference, c_name, c_invoice, c_status) = (
        col("currency"),
        col("reference"),
        col("name"),
        col("invoice_id"),
        col("status"),
    );
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for row in r.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("{file}:{line}: {e}"));
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line());
        let cell = |k: Option<usize>| {
            k.and_then(|k| row.get(k))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match cell(c_status).map(str::to_ascii_lowercase).as_deref() {
            None | Some("ok") => {}
            Some("bounced" | "reversed") => continue,
            Some(other) => {
                problems.push(format!(
                    "{file}:{line}: column status: `{other}` is not a payment status (expected ok, bounced or reversed)"
                ));
                continue;
            }
        }
        let mut bad = |column: &str, why: String| {
            problems.push(format!("{file}:{line}: column {column}: {why}"));
        };
        let date = match crate::values::parse_date(cell(Some(c_date)).unwrap_or("")) {
            Ok(d) => d,
            Err(why) => {
                bad("date", why);
                continue;
            }
        };
        let currency = match cell(c_currency).map(Currency::parse) {
            None => None,
            Some(Ok(c)) => Some(c),
            Some(Err(why)) => {
                bad("currency", why);
                continue;
            }
        };
        let amount = match crate::money::parse_amount(
            cell(Some(c_amount)).unwrap_or(""),
            currency,
            delimiter == b';',
        ) {
            Ok(a) if a > rust_decimal::Decimal::ZERO => a,
            Ok(_) => {
                bad(
                    "amount",
                    "is zero (expected the amount received, more than zero)".into(),
                );
                continue;
            }
            Err(why) => {
                bad("amount", why);
                continue;
            }
        };
        out.push(Received {
            source: format!("{file}:{line}"),
            date,
            amount,
            currency,
            reference: cell(c_reference).map(|r| {
                // An RF reference is compared without its spaces; other text as written.
                super::find_reference(r).unwrap_or_else(|| r.to_string())
            }),
            name: cell(c_name).map(str::to_string),
            customer: cell(Some(c_customer)).map(str::to_string),
            invoice: cell(c_invoice).map(str::to_string),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_with_their_lines_and_bounced_ones_are_not_money() {
        let text = "payment_id,customer_id,invoice_id,date,amount,method,status,currency,reference\n\
                    P1,C1,INV-1,2026-11-25,120.50,transfer,ok,EUR,RF18 5390 0754 7034\n\
                    P2,C2,INV-2,2026-11-26,80,card,bounced,,\n\
                    P3,,,2026-11-27,15.00,transfer,,PLN,\n";
        let got = read("payments.csv", text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].source, "payments.csv:2");
        assert_eq!(got[0].reference.as_deref(), Some("RF18539007547034"));
        assert_eq!(got[0].customer.as_deref(), Some("C1"));
        assert_eq!(got[0].invoice.as_deref(), Some("INV-1"));
        assert_eq!(got[1].source, "payments.csv:4");
        assert_eq!(got[1].customer, None);
        assert_eq!(got[1].currency.unwrap().code(), "PLN");
    }

    #[test]
    fn a_semicolon_file_takes_a_decimal_comma() {
        let text = "payment_id;customer_id;date;amount\nP1;C1;2026-11-25;120,50\n";
        let got = read("p.csv", text).unwrap();
        assert_eq!(got[0].amount, "120.50".parse().unwrap());
        assert_eq!(got[0].currency, None);
    }

    #[test]
    fn problems_name_the_file_line_and_column() {
        let text = "payment_id,customer_id,date,amount,currency\n\
                    P1,C1,2026-11-31,1.00,EUR\n\
                    P2,C1,2026-11-25,-3,EUR\n\
                    P3,C1,2026-11-25,1.005,EUR\n\
                    P4,C1,2026-11-25,1.00,EUX\n";
        let p = read("p.csv", text).unwrap_err();
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(p[0].starts_with("p.csv:2: column date: "), "{}", p[0]);
        assert!(p[1].starts_with("p.csv:3: column amount: "), "{}", p[1]);
        assert!(p[2].contains("2 decimal places"), "{}", p[2]);
        assert!(p[3].starts_with("p.csv:5: column currency: "), "{}", p[3]);
        let p = read("p.csv", "id,amount\n1,2\n").unwrap_err();
        assert!(
            p[0].starts_with("p.csv:1: no `payment_id`, `customer_id`, `date` columns"),
            "{}",
            p[0]
        );
    }
}
