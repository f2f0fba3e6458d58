//! The payment pages (`web/TOKEN/index.html`) as a customer's browser draws them:
//! headless Chromium (tests/js/pages.js) on a phone and a desktop.

use crate::node;
use crate::util::*;
use std::collections::BTreeMap;

/// How each language labels a row of the payment plan: which instalment of how many.
fn instalment_label(locale: &str, n: usize) -> String {
    match locale.split('-').next().unwrap() {
        "it" => format!("Rata {n} di 3"),
        "pl" => format!("Rata {n} z 3"),
        "ro" => format!("Rata {n} din 3"),
        "lv" => format!("{n}. iemaksa no 3"),
        "ja" => format!("第{n}回（全3回）"),
        "zh" => format!("第{n}期（共3期）"),
        _ => format!("Instalment {n} of 3"),
    }
}

/// Issue 16: every payment page of the sample campaign, at 390 px and 1280 px, fits the
/// window, each part inside its card; breaks no word anywhere (no `word-break: break-all`, which cut names
/// mid-word); sets every date, amount and the phone number on one line; starts the header's text where
/// the content column starts; and labels each row of the payment plan as the
/// instalment it is, with its amount and date.
#[test]
fn payment_pages_fit_break_no_word_or_date_and_label_instalments() {
    use dunwell::format::{DateLength, Formats};
    let _quiet = crate::quiet();
    let out = sample_outbox("web", &[]);
    let entries: Vec<serde_json::Value> =
        std::fs::read_to_string(out.path().join("manifest.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|e: &serde_json::Value| e["channel"] == "web")
            .collect();
    assert!(entries.len() >= 30, "{} pages", entries.len());
    let due: BTreeMap<String, String> = read_csv(&root().join("samples/data/invoices.csv"))
        .into_iter()
        .map(|r| (r["invoice_id"].clone(), r["due_date"].clone()))
        .collect();
    // Dates and amounts are written as in the customer's country (`en` in the UK as
    // en-GB).
    let country: BTreeMap<String, String> = read_csv(&root().join("samples/data/customers.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["country"].clone()))
        .collect();
    let tag = |e: &serde_json::Value| {
        let locale = e["locale"].as_str().unwrap();
        match country.get(e["customer_id"].as_str().unwrap()) {
            Some(c) if !locale.contains('-') && !c.is_empty() => format!("{locale}-{c}"),
            _ => locale.to_string(),
        }
    };
    let tags: Vec<String> = entries.iter().map(tag).collect();
    let formats = Formats::new(tags.iter().map(String::as_str));
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    // The pay-by date and the plan's (14 days after the campaign date, then monthly),
    // and the day the page expires (30 days after it).
    let plan_days = ["2026-12-04", "2027-01-04", "2027-02-04"];
    let mut spec = Vec::new();
    // Per page: its locale, and each instalment's (amount, date) as printed.
    let mut plans: BTreeMap<String, (String, Vec<(String, String)>)> = BTreeMap::new();
    for (e, format_tag) in entries.iter().zip(&tags) {
        let locale = e["locale"].as_str().unwrap();
        let currency = dunwell::money::Currency::parse(e["currency"].as_str().unwrap()).unwrap();
        let money = |a: rust_decimal::Decimal| formats.money(a, currency, format_tag);
        let date = |d: &str| formats.date(day(d), DateLength::Long, format_tag);
        let total: rust_decimal::Decimal = e["amount"].as_str().unwrap().parse().unwrap();
        let mut phrases = vec![money(total), date("2026-12-20"), "+31 20 555 0100".into()];
        for inv in e["invoices"].as_array().unwrap() {
            phrases.push(money(inv[1].as_str().unwrap().parse().unwrap()));
            phrases.push(date(&due[inv[0].as_str().unwrap()]));
        }
        let plan: Vec<(String, String)> = dunwell::money::split(total, currency, 3)
            .into_iter()
            .zip(plan_days)
            .map(|(a, d)| (money(a), date(d)))
            .collect();
        for (a, d) in &plan {
            phrases.push(a.clone());
            phrases.push(d.clone());
        }
        phrases.sort();
        phrases.dedup();
        let file = out.path().join(e["path"].as_str().unwrap());
        let file = file.display().to_string();
        plans.insert(file.clone(), (locale.to_string(), plan));
        spec.push(serde_json::json!({"file": file, "phrases": phrases}));
    }
    let spec_file = out.path().join("pages-spec.json");
    std::fs::write(&spec_file, serde_json::to_string(&spec).unwrap()).unwrap();

    let v = node("pages.js", &[spec_file.to_str().unwrap(), "390", "1280"]);
    assert_eq!(v["requests"].as_array().unwrap().len(), 0, "{v}");

    let short = |f: &str| {
        f.rsplit('/')
            .nth(1)
            .unwrap_or(f)
            .chars()
            .take(24)
            .collect::<String>()
    };
    let norm = |s: &str| s.replace(['\u{a0}', '\u{202f}'], " ");
    let mut wrong = Vec::new();
    for (width, rows) in v["widths"].as_object().unwrap() {
        let (mut scrolled, mut broken, mut shifted) = (0, 0, 0);
        for row in rows.as_array().unwrap() {
            let file = row["file"].as_str().unwrap();
            let (locale, plan) = &plans[file];
            let at = format!("{} ({locale}) at {width} px", short(file));
            let (scroll, inner) = (
                row["scroll"].as_f64().unwrap(),
                row["inner"].as_f64().unwrap(),
            );
            if scroll > inner {
                scrolled += 1;
                wrong.push(format!("{at}: {scroll} px wide in a {inner} px window"));
            }
            for b in row["break_all"].as_array().unwrap() {
                wrong.push(format!("{at}: word-break: break-all on {b}"));
            }
            for e in row["outside"].as_array().unwrap() {
                wrong.push(format!("{at}: sticks out of its card: {e}"));
            }
            let found = row["found"].as_array().unwrap();
            // Each page prints its total, a due date and amount per invoice, the
            // plan's three dates and amounts and the expiry date.
            assert!(
                found.len() >= 9,
                "{at}: only {} dates and amounts found: {found:?}",
                found.len()
            );
            let mut page_broken = false;
            for f in found {
                if f["lines"].as_u64() != Some(1) {
                    page_broken = true;
                    wrong.push(format!(
                        "{at}: {:?} in a <{}> is set on {} lines",
                        f["phrase"].as_str().unwrap(),
                        f["in"].as_str().unwrap(),
                        f["lines"]
                    ));
                }
            }
            broken += usize::from(page_broken);
            let (header, column) = (row["header_left"].as_f64(), row["column_left"].as_f64());
            match (header, column) {
                (Some(h), Some(c)) if (h - c).abs() <= 1.0 => {}
                _ => {
                    shifted += 1;
                    wrong.push(format!(
                        "{at}: the header's text starts at {header:?} px, the content at {column:?} px"
                    ));
                }
            }
            let rows: Vec<String> = row["plan_rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            if rows.len() != plan.len() {
                wrong.push(format!("{at}: {} plan rows: {rows:?}", rows.len()));
                continue;
            }
            for (k, (text, (amount, date))) in rows.iter().zip(plan).enumerate() {
                let label = instalment_label(locale, k + 1);
                if !text.contains(&label)
                    || !text.contains(&norm(amount))
                    || !text.contains(&norm(date))
                {
                    wrong.push(format!(
                        "{at}: plan row {text:?} does not say {label:?}, {amount:?} and {date:?}"
                    ));
                }
            }
        }
        eprintln!(
            "at {width} px: {} pages, {scrolled} scroll sideways, {broken} break a date or amount, {shifted} with the header off the column",
            rows.as_array().unwrap().len()
        );
    }
    assert!(
        wrong.is_empty(),
        "{} problems:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
