//! ISO 20022 bank-to-customer statements: camt.053 (`Document/BkToCstmrStmt/Stmt`) and
//! camt.054 notifications (`Document/BkToCstmrDbtCdtNtfctn/Ntfctn`), any version — the
//! elements read have kept their names from version 2 to 13 (the debtor's name moved
//! from `Dbtr/Nm` to `Dbtr/Pty/Nm` in version 8; both are read).
//!
//! Read with quick-xml's pull parser, element by element, keeping only the path of the
//! open elements: an entry (`Ntry`) is a credit (`CdtDbtInd` CRDT) or a debit, booked
//! (`Sts` BOOK, or no status) or not; each of its transactions (`NtryDtls/TxDtls`) is a
//! payment with its own amount when it has one, the entry's otherwise. The creditor
//! reference is the structured one (`RmtInf/Strd/CdtrRefInf/Ref`), else the first valid
//! `RF…` in the unstructured text (`RmtInf/Ustrd`, then the entry's `AddtlNtryInf`).

use super::{Received, find_reference, in_units, line_of, positive_amount};
use crate::money::Currency;
use chrono::NaiveDate;
use quick_xml::events::Event;

#[derive(Default)]
struct Tx {
    line: usize,
    amount: Option<(String, String)>,
    credit: Option<bool>,
    structured: Option<String>,
    unstructured: Vec<String>,
    name: Option<String>,
}

#[derive(Default)]
struct Entry {
    line: usize,
    amount: Option<(String, String)>,
    credit: Option<bool>,
    /// `RvslInd` true: the entry reverses an earlier one (a returned credit, a reversed
    /// debit) — not a customer paying.
    reversal: bool,
    booked: Option<bool>,
    booking_date: Option<String>,
    value_date: Option<String>,
    info: Vec<String>,
    txs: Vec<Tx>,
}

/// Whether `path` ends with `tail` (local names).
fn ends(path: &[String], tail: &[&str]) -> bool {
    path.len() >= tail.len()
        && path[path.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

pub(super) fn read(file: &str, text: &str) -> Result<Vec<Received>, Vec<String>> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut buf = String::new();
    let mut entry: Option<Entry> = None;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut kind_checked = false;
    loop {
        let at = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let line = line_of(text, reader.error_position() as usize);
                problems.push(format!(
                    "{file}:{line}: not well-formed XML: {e} (expected a camt.053 or camt.054 file)"
                ));
                return Err(problems);
            }
        };
        match event {
            Event::Start(s) => {
                let name = s.local_name().as_ref().to_string();
                if !kind_checked && path.len() == 1 {
                    kind_checked = true;
                    if path[0] != "Document"
                        || !matches!(name.as_str(), "BkToCstmrStmt" | "BkToCstmrDbtCdtNtfctn")
                    {
                        return Err(vec![not_a_statement(
                            file,
                            line_of(text, at),
                            &path[0],
                            &name,
                        )]);
                    }
                }
                path.push(name);
                buf.clear();
                let line = line_of(text, at);
                if ends(&path, &["Ntry"]) {
                    entry = Some(Entry {
                        line,
                        ..Entry::default()
                    });
                } else if ends(&path, &["NtryDtls", "TxDtls"])
                    && let Some(e) = entry.as_mut()
                {
                    e.txs.push(Tx {
                        line,
                        ..Tx::default()
                    });
                }
                if path.len() == 1 && path[0] != "Document" {
                    return Err(vec![format!(
                        "{file}:{line}: the root element is `{}` (expected a camt.053 or camt.054 `Document`)",
                        path[0]
                    )]);
                }
                // The currency is an attribute of the amount.
                if path.last().is_some_and(|n| n == "Amt") {
                    let ccy = s
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == "Ccy")
                        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
                        .map(|v| v.into_owned())
                        .unwrap_or_default();
                    buf.push_str(&ccy);
                    buf.push('\u{0}');
                }
            }
            Event::Empty(s) if !kind_checked && path.len() == 1 => {
                let name = s.local_name().as_ref().to_string();
                return Err(vec![not_a_statement(
                    file,
                    line_of(text, at),
                    &path[0],
                    &name,
                )]);
            }
            Event::Text(t) => buf.push_str(&t.xml10_content()),
            Event::CData(t) => buf.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    buf.push(c);
                } else if let Some(v) = quick_xml::escape::resolve_predefined_entity(&name) {
                    buf.push_str(v);
                }
            }
            Event::End(_) => {
                let value = std::mem::take(&mut buf);
                if let Some(e) = entry.as_mut() {
                    take(e, &path, value);
                }
                if ends(&path, &["Ntry"])
                    && let Some(e) = entry.take()
                {
                    finish(file, e, &mut out, &mut problems);
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !kind_checked {
        return Err(vec![format!(
            "{file}:1: no statement in this XML (expected a camt.053 `Document/BkToCstmrStmt` or a camt.054 `Document/BkToCstmrDbtCdtNtfctn`)"
        )]);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn not_a_statement(file: &str, line: usize, root: &str, child: &str) -> String {
    format!(
        "{file}:{line}: `{root}/{child}` is not a bank statement (expected a camt.053 `Document/BkToCstmrStmt` or a camt.054 `Document/BkToCstmrDbtCdtNtfctn`)"
    )
}

/// One element's text, where the entry or its last transaction keeps it.
fn take(e: &mut Entry, path: &[String], value: String) {
    let amount = |v: &str| {
        let (ccy, amt) = v.split_once('\u{0}').unwrap_or(("", v));
        Some((ccy.trim().to_string(), amt.trim().to_string()))
    };
    let tx = e.txs.last_mut();
    if ends(path, &["Ntry", "Amt"]) {
        e.amount = amount(&value);
    } else if ends(path, &["Ntry", "CdtDbtInd"]) {
        e.credit = Some(value.trim() == "CRDT");
    } else if ends(path, &["Ntry", "RvslInd"]) {
        e.reversal = matches!(value.trim(), "true" | "1");
    } else if ends(path, &["Ntry", "Sts"]) || ends(path, &["Ntry", "Sts", "Cd"]) {
        if !value.trim().is_empty() {
            e.booked = Some(value.trim() == "BOOK");
        }
    } else if ends(path, &["Ntry", "BookgDt", "Dt"]) || ends(path, &["Ntry", "BookgDt", "DtTm"]) {
        e.booking_date = Some(value.trim().to_string());
    } else if ends(path, &["Ntry", "ValDt", "Dt"]) || ends(path, &["Ntry", "ValDt", "DtTm"]) {
        e.value_date = Some(value.trim().to_string());
    } else if ends(path, &["Ntry", "AddtlNtryInf"]) {
        e.info.push(value);
    } else if let Some(tx) = tx {
        if ends(path, &["TxDtls", "Amt"]) || ends(path, &["TxDtls", "AmtDtls", "TxAmt", "Amt"]) {
            if tx.amount.is_none() || ends(path, &["TxDtls", "Amt"]) {
                tx.amount = amount(&value);
            }
        } else if ends(path, &["TxDtls", "CdtDbtInd"]) {
            tx.credit = Some(value.trim() == "CRDT");
        } else if ends(path, &["RmtInf", "Strd", "CdtrRefInf", "Ref"]) {
            tx.structured
                .get_or_insert_with(|| value.trim().to_string());
        } else if ends(path, &["RmtInf", "Ustrd"]) {
            tx.unstructured.push(value);
        } else if ends(path, &["RltdPties", "Dbtr", "Nm"])
            || ends(path, &["RltdPties", "Dbtr", "Pty", "Nm"])
        {
            tx.name.get_or_insert_with(|| value.trim().to_string());
        }
    }
}

/// An entry's payments: its credits, booked, each transaction with its own amount
/// when it has one.
fn finish(file: &str, e: Entry, out: &mut Vec<Received>, problems: &mut Vec<String>) {
    if e.credit != Some(true) || e.reversal || e.booked == Some(false) {
        return;
    }
    let line = e.line;
    let Some(date) = e
        .booking_date
        .as_deref()
        .or(e.value_date.as_deref())
        .map(|d| d.get(..10).unwrap_or(d))
    else {
        problems.push(format!(
            "{file}:{line}: the entry has no date (expected `BookgDt/Dt` or `ValDt/Dt`)"
        ));
        return;
    };
    let date = match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(d) => d,
        Err(_) => {
            problems.push(format!(
                "{file}:{line}: `{date}` is not a date (expected YYYY-MM-DD)"
            ));
            return;
        }
    };
    let money =
        |line: usize, (ccy, amt): &(String, String)| -> Result<(Decimal, Currency), String> {
            let currency =
                Currency::parse(ccy).map_err(|why| format!("{file}:{line}: `Amt Ccy`: {why}"))?;
            let amount = positive_amount(amt, false)
                .map_err(|why| format!("{file}:{line}: `Amt`: {why}"))?;
            Ok((in_units(amount, currency), currency))
        };
    use rust_decimal::Decimal;
    let each_has_amount = !e.txs.is_empty() && e.txs.iter().all(|t| t.amount.is_some());
    let info_ref = e.info.iter().find_map(|t| find_reference(t));
    let reference_of = |t: &Tx| {
        t.structured
            .as_deref()
            .and_then(|r| {
                let r: String = r.chars().filter(|c| !c.is_whitespace()).collect();
                (!r.is_empty()).then_some(r)
            })
            .or_else(|| t.unstructured.iter().find_map(|u| find_reference(u)))
    };
    if each_has_amount {
        for t in &e.txs {
            if t.credit == Some(false) {
                continue;
            }
            match money(t.line, t.amount.as_ref().expect("checked")) {
                Ok((amount, currency)) => out.push(Received {
                    source: format!("{file}:{}", t.line),
                    date,
                    amount,
                    currency: Some(currency),
                    reference: reference_of(t).or_else(|| info_ref.clone()),
                    name: t.name.clone(),
                    customer: None,
                    invoice: None,
                }),
                Err(p) => problems.push(p),
            }
        }
        return;
    }
    let Some(amount) = e.amount.as_ref() else {
        problems.push(format!(
            "{file}:{line}: the entry has no amount (expected `Amt Ccy=\"…\"`)"
        ));
        return;
    };
    // One payment for the entry: its transaction's details when it has exactly one.
    let only = match e.txs.as_slice() {
        [t] => Some(t),
        _ => None,
    };
    match money(line, amount) {
        Ok((amount, currency)) => out.push(Received {
            source: format!("{file}:{}", only.map_or(line, |t| t.line)),
            date,
            amount,
            currency: Some(currency),
            reference: only.and_then(reference_of).or(info_ref),
            name: only.and_then(|t| t.name.clone()),
            customer: None,
            invoice: None,
        }),
        Err(p) => problems.push(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <Stmt>
   <Ntry>
    <Amt Ccy="EUR">120.50</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd>
    <Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-11-25</Dt></BookgDt>
    <NtryDtls><TxDtls>
     <RltdPties><Dbtr><Pty><Nm>Kozłowska &amp; Syn</Nm></Pty></Dbtr></RltdPties>
     <RmtInf><Ustrd>Faktura RF18 5390 0754 7034</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"#;

    #[test]
    fn a_single_entry_takes_its_transactions_details() {
        let got = read("s.xml", ONE).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].source, "s.xml:10");
        assert_eq!(got[0].amount, "120.50".parse().unwrap());
        assert_eq!(got[0].reference.as_deref(), Some("RF18539007547034"));
        assert_eq!(got[0].name.as_deref(), Some("Kozłowska & Syn"));
        assert_eq!(got[0].date, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
    }

    #[test]
    fn other_xml_and_broken_xml_are_refused_with_their_line() {
        let p = read(
            "x.xml",
            "<?xml version=\"1.0\"?>\n<Document><CstmrCdtTrfInitn/></Document>",
        )
        .unwrap_err();
        assert!(
            p[0].starts_with("x.xml:2: `Document/CstmrCdtTrfInitn` is not a bank statement"),
            "{p:?}"
        );
        let p = read("x.xml", "<html>\n<body></body></html>").unwrap_err();
        assert!(p[0].contains("expected a camt.053"), "{p:?}");
        let p = read("x.xml", &ONE.replace("</Amt>", "</Amount>")).unwrap_err();
        assert!(p[0].starts_with("x.xml:6: not well-formed XML"), "{p:?}");
        let p = read("x.xml", &ONE.replace("120.50", "12O.50")).unwrap_err();
        assert!(
            p[0].starts_with("x.xml:5: `Amt`: `12O.50` is not an amount"),
            "{p:?}"
        );
    }
}
