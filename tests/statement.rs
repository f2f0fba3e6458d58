//! `dunwell statement`: a statement of account read back as a payer's accountant would —
//! the PDF with poppler's `pdftotext`, the workbook with an independent reader (Python's
//! openpyxl) — and held to the export's figures.

use crate::util::*;
use mail_parser::MimeHeaders;
use std::path::Path;

const CAMPAIGN: &str = "tests/fixtures/statement/campaign.yaml";

fn statement(customer: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "statement",
        CAMPAIGN,
        "--customer",
        customer,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    dunwell(&args)
}

/// Every row of the workbook's first sheet, as openpyxl reads it: numbers as numbers,
/// dates as `YYYY-MM-DD`, empty cells as null.
fn sheet(xlsx: &Path) -> Vec<Vec<serde_json::Value>> {
    let script = r#"
import json, sys, datetime, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.worksheets[0]
def cell(v):
    if isinstance(v, datetime.datetime): return v.date().isoformat()
    return v
print(json.dumps([[cell(c) for c in row] for row in ws.iter_rows(values_only=True)]))
"#;
    let out = tool("python3", &["-c", script, xlsx.to_str().unwrap()]);
    serde_json::from_str(&out).unwrap()
}

/// The rows of one currency's block: from the row naming the currency to the next
/// currency's (or the end).
fn block<'a>(rows: &'a [Vec<serde_json::Value>], code: &str) -> &'a [Vec<serde_json::Value>] {
    let start = rows
        .iter()
        .position(|r| r[0] == code)
        .unwrap_or_else(|| panic!("no {code} block"));
    let end = rows[start + 1..]
        .iter()
        .position(|r| matches!(r[0].as_str(), Some("EUR" | "PLN")))
        .map_or(rows.len(), |k| start + 1 + k);
    &rows[start..end]
}

/// Cents of a workbook number (amounts are written from their decimal spelling).
fn cents(v: &serde_json::Value) -> i64 {
    (v.as_f64().unwrap() * 100.0).round() as i64
}

#[test]
fn a_statement_lists_open_items_with_interest_payments_in_the_period_and_ageing() {
    let dir = tempdir();
    let run = statement("S-1", dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pdf = dir.path().join("statement-S-1.pdf");
    let xlsx = dir.path().join("statement-S-1.xlsx");
    assert!(run.stdout.contains("statement-S-1.pdf") && run.stdout.contains("statement-S-1.xlsx"));
    tool("qpdf", &["--check", pdf.to_str().unwrap()]);
    let text = tool("pdftotext", &[pdf.to_str().unwrap(), "-"]).replace('\u{a0}', " ");
    for want in [
        "Statement of account",
        "Dear Sir or Madam",
        "S1-A",
        "S1-B",
        "S1-C",
        "Compensation for",
        "€80.00",
        "Not yet due",
        "P-2",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    // A paid invoice is no open item; a payment before the period is not listed.
    assert!(!text.contains("S1-D") && !text.contains("P-1"), "{text}");

    // The workbook, read by openpyxl, adds up to the export.
    let rows = sheet(&xlsx);
    let eur = block(&rows, "EUR");
    let items: Vec<&Vec<serde_json::Value>> = eur
        .iter()
        .filter(|r| r[0].as_str().is_some_and(|s| s.starts_with("S1-")))
        .collect();
    assert_eq!(items.len(), 2, "{eur:?}");
    // Open amounts: 1000 − 500 paid, and 500.
    assert_eq!(items.iter().map(|r| cents(&r[6])).sum::<i64>(), 100_000);
    assert_eq!(
        items[0][2], "2023-05-01",
        "dates are date cells, oldest first"
    );
    let interest = eur
        .iter()
        .find(|r| r[0].as_str().is_some_and(|s| s.starts_with("Interest to")))
        .map(|r| cents(&r[6]))
        .expect("an interest row");
    let comp = eur
        .iter()
        .find(|r| r[0] == "Compensation for recovery costs")
        .map(|r| cents(&r[6]))
        .expect("a compensation row");
    assert_eq!(comp, 8_000, "EUR 40 per late invoice, § 288(5) BGB");
    assert!(interest > 0);
    let total = eur.iter().find(|r| r[0] == "Total").unwrap();
    assert_eq!(cents(&total[6]), 100_000 + interest + comp);
    // The PDF says the same balance.
    let balance = format!("€{:.2}", (100_000 + interest + comp) as f64 / 100.0);
    let balance = balance.replacen("€1", "€1,", 1);
    assert!(text.contains(&balance), "{balance} missing:\n{text}");
    // Ageing: the buckets add up to the balance.
    let ageing: i64 = eur
        .iter()
        .skip_while(|r| r[0] != "Days overdue")
        .skip(1)
        .take(5)
        .map(|r| cents(&r[1]))
        .sum();
    assert_eq!(ageing, 100_000 + interest + comp);
    // The payment inside the period, in its invoice's currency.
    assert!(
        eur.iter().any(|r| r[1] == "P-2" && cents(&r[3]) == 40_000),
        "{eur:?}"
    );
    // Złoty: not due yet — no interest, all in the first bucket.
    let pln = block(&rows, "PLN");
    let total = pln.iter().find(|r| r[0] == "Total").unwrap();
    assert_eq!(cents(&total[6]), 200_000);
    assert!(
        pln.iter()
            .any(|r| r[0] == "Not yet due" && cents(&r[1]) == 200_000)
    );
}

#[test]
fn statements_are_byte_identical_run_to_run_and_follow_the_language() {
    let (a, b) = (tempdir(), tempdir());
    for d in [&a, &b] {
        let run = statement("S-2", d.path(), &["--since", "2023-01-01"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    for f in ["statement-S-2.pdf", "statement-S-2.xlsx"] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    let text = tool(
        "pdftotext",
        &[a.path().join("statement-S-2.pdf").to_str().unwrap(), "-"],
    );
    assert!(
        text.contains("Wyciąg z konta") && text.contains("Szanowni Państwo"),
        "{text}"
    );
}

#[test]
fn an_unknown_customer_is_refused_by_name() {
    let dir = tempdir();
    let run = statement("NOBODY", dir.path(), &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("NOBODY: no such customer"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_email_can_carry_the_statement_the_same_bytes_the_command_writes() {
    let out = outbox_of("tests/fixtures/statement/run.yaml", &[]);
    let m = manifest(out.path());
    let mail = m
        .iter()
        .find(|e| e["customer_id"] == "S-1" && e["channel"] == "email")
        .expect("an e-mail to S-1");
    let mbox = std::fs::read(out.path().join(mail["path"].as_str().unwrap())).unwrap();
    let off = mail["offset"].as_u64().unwrap() as usize;
    let raw = &mbox[off..off + mail["length"].as_u64().unwrap() as usize];
    let raw = raw.splitn(2, |&b| b == b'\n').nth(1).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(raw).unwrap();
    let attached: Vec<(String, Vec<u8>)> = parsed
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or("").to_string(),
                a.contents().to_vec(),
            )
        })
        .collect();
    let names: Vec<&str> = attached.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["statement-S-1.pdf", "statement-S-1.xlsx"]);
    // What `dunwell statement` writes for the same campaign date and period.
    let dir = tempdir();
    let run = dunwell([
        "statement",
        "tests/fixtures/statement/run.yaml",
        "--customer",
        "S-1",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (name, bytes) in &attached {
        assert_eq!(
            &std::fs::read(dir.path().join(name)).unwrap(),
            bytes,
            "{name} differs from the command's"
        );
    }
}

/// The statement fixture's sending campaign in a folder of its own, with `cell` as both
/// of its rungs' matrix cell, sending on its campaign date, and a history store: the
/// campaign's path and the folder.
fn posting(cell: &str) -> (String, tempfile::TempDir) {
    let dir = tempdir();
    let fixture = root().join("tests/fixtures/statement");
    for f in ["customers.csv", "invoices.csv", "payments.csv"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    let text = with_final_notice_rung(
        &std::fs::read_to_string(fixture.join("run.yaml"))
            .unwrap()
            .replace("../../../", &format!("{}/", root().display()))
            .replace(
                "reminder: {channels: [email], attach_statement: true}",
                &format!("reminder: {cell}\n    final_notice: {cell}"),
            ),
    );
    let path = dir.path().join("campaign.yaml");
    std::fs::write(
        &path,
        format!(
            "{text}\nhistory: {}\n",
            dir.path().join("history.sqlite").display()
        ),
    )
    .unwrap();
    (path.display().to_string(), dir)
}

#[test]
fn a_posted_statement_lists_the_payments_since_the_last_one_delivered() {
    let (campaign, dir) = posting("[statement]");
    // First run, 31 July 2023: no statement before, so the 30 days before (P-2 of 10 July,
    // not P-1 of 20 May).
    let first = dir.path().join("first");
    let run = run_campaign(&campaign, &first, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let m = manifest(&first);
    let letter = m
        .iter()
        .find(|e| e["customer_id"] == "S-1")
        .expect("a statement to S-1");
    assert_eq!(letter["channel"], "letter");
    assert_eq!(letter["template"], "statement");
    assert_eq!(letter["statement"], true);
    let pdf = first.join(letter["path"].as_str().unwrap());
    let text = tool("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    assert!(text.contains("Statement of account"), "{text}");
    assert!(text.contains("P-2") && !text.contains("P-1"), "{text}");
    // In print.pdf too: it is posted like any letter.
    let print = tool(
        "pdftotext",
        &[first.join("letters/print.pdf").to_str().unwrap(), "-"],
    );
    assert!(print.contains("Statement of account"), "{print}");
    // The print batch goes out: the history knows the statement delivered.
    let r = dunwell([
        "outbox",
        "posted",
        first.to_str().unwrap(),
        "--now",
        "2023-07-31T16:00:00Z",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A payment of 10 August; the next run on 15 September lists it: it came after the
    // last statement (31 July), though more than 30 days before the campaign date.
    let payments = dir.path().join("payments.csv");
    let mut p = std::fs::read_to_string(&payments).unwrap();
    p.push_str("P-4,S-1,S1-B,2023-08-10,100.00,transfer,ok\n");
    std::fs::write(&payments, p).unwrap();
    let second = dir.path().join("second");
    let run = run_campaign(&campaign, &second, &["--as-of", "2023-09-15"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let m = manifest(&second);
    let letter = m.iter().find(|e| e["customer_id"] == "S-1").unwrap();
    let pdf = second.join(letter["path"].as_str().unwrap());
    let text = tool("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    assert!(text.contains("P-4") && !text.contains("P-2"), "{text}");
    // `dunwell statement` reads the same history: the same bytes.
    let out = dir.path().join("cmd");
    let r = dunwell([
        "statement",
        campaign.as_str(),
        "--customer",
        "S-1",
        "--as-of",
        "2023-09-15",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read(out.join("statement-S-1.pdf")).unwrap(),
        std::fs::read(&pdf).unwrap()
    );
}

#[test]
fn a_letter_can_enclose_the_statement_and_a_cell_cannot_post_both() {
    let (campaign, dir) = posting("{channels: [letter], attach_statement: true}");
    let out = dir.path().join("out");
    let run = run_campaign(&campaign, &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let m = manifest(&out);
    let letter = m.iter().find(|e| e["customer_id"] == "S-1").unwrap();
    assert_eq!(letter["statement"], true);
    let text = tool(
        "pdftotext",
        &[
            out.join(letter["path"].as_str().unwrap()).to_str().unwrap(),
            "-",
        ],
    );
    // The reminder first, then the statement's pages.
    let statement = text.find("Statement of account").expect(&text);
    assert!(
        statement > 0 && text[..statement].contains("S1-A"),
        "{text}"
    );

    let (campaign, dir) = posting("[letter, statement]");
    let run = run_campaign(&campaign, &dir.path().join("out"), &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`letter` and `statement` are both posted letters"),
        "{}",
        run.stderr
    );
}
