//! One defective row per kind of defect: each is reported with its file, line, column
//! and what was expected, its customer is quarantined, and nothing is lost.

use crate::util::*;
use std::collections::BTreeSet;

/// (customer, file, line, column, words the message must contain)
const DEFECTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "D1",
        "customers.csv",
        "4",
        "customer_id",
        "duplicate customer_id `D1`, first on line 3 (expected each customer once)",
    ),
    (
        "TZ1",
        "customers.csv",
        "5",
        "timezone",
        "unknown time zone `Europe/Warsow` (expected an IANA name such as Europe/Warsaw, Asia/Tokyo) — did you mean `Europe/Warsaw`?",
    ),
    (
        "LG1",
        "customers.csv",
        "6",
        "language",
        "unknown language tag `xx` (expected a BCP 47 tag",
    ),
    (
        "CT1",
        "customers.csv",
        "7",
        "country",
        "unknown country `XX` (expected an ISO 3166-1 alpha-2 code",
    ),
    (
        "KD1",
        "customers.csv",
        "8",
        "kind",
        "`dog` is not allowed (expected one of: person, company)",
    ),
    (
        "HD1",
        "customers.csv",
        "9",
        "hold",
        "`vacation` is not allowed (expected one of: dispute, hardship, bankruptcy, deceased, legal, do_not_contact)",
    ),
    (
        "",
        "customers.csv",
        "10",
        "customer_id",
        "`../etc` contains `/`, `\\` or `..` (expected a customer id without path separators: it names files)",
    ),
    (
        "UT1",
        "customers.csv",
        "11",
        "name",
        "is not valid UTF-8 (expected UTF-8 text",
    ),
    (
        "FC1",
        "customers.csv",
        "12",
        "",
        "row has 4 fields (expected 10, as in the header line)",
    ),
    (
        "BL1",
        "customers.csv",
        "15",
        "consent_email",
        "`maybe` is not a yes/no value (expected true or false)",
    ),
    (
        "DI1",
        "invoices.csv",
        "5",
        "invoice_id",
        "duplicate invoice_id `I-DI1`, first on line 4",
    ),
    (
        "DT1",
        "invoices.csv",
        "6",
        "issue_date",
        "`2026/10/01` is not a date (expected YYYY-MM-DD",
    ),
    (
        "DT2",
        "invoices.csv",
        "7",
        "due_date",
        "`2026-02-30` does not exist: February 2026 has 28 days",
    ),
    (
        "DB1",
        "invoices.csv",
        "8",
        "due_date",
        "due date 2026-10-01 is before the issue date 2026-10-31",
    ),
    (
        "AM1",
        "invoices.csv",
        "9",
        "amount",
        "`12 EUR` is not a decimal amount",
    ),
    (
        "AM2",
        "invoices.csv",
        "10",
        "amount",
        "`-10.00` is negative",
    ),
    (
        "AM3",
        "invoices.csv",
        "11",
        "amount",
        "`10.123` has 3 decimal places (EUR has 2 decimal places)",
    ),
    (
        "AM4",
        "invoices.csv",
        "12",
        "amount",
        "`1000.5` has 1 decimal place (JPY has no minor units: expected a whole number)",
    ),
    (
        "CU1",
        "invoices.csv",
        "13",
        "currency",
        "unknown currency `EURO` (expected an ISO 4217 code",
    ),
    (
        "AB1",
        "invoices.csv",
        "14",
        "amount",
        "`1000000000000000` is implausibly large (expected at most 1000000000000)",
    ),
    (
        "YR1",
        "invoices.csv",
        "15",
        "due_date",
        "`9999-12-31` is implausible (expected a year between 1970 and 2099)",
    ),
    (
        "ST1",
        "invoices.csv",
        "16",
        "status",
        "`pending` is not allowed (expected one of: open, paid, cancelled)",
    ),
    (
        "GHOST",
        "invoices.csv",
        "17",
        "customer_id",
        "unknown customer `GHOST` (expected a customer_id from the customers file)",
    ),
    (
        "CTL1",
        "invoices.csv",
        "18",
        "invoice_id",
        "`I\\u{7}X` contains U+0007, a control character (expected printable characters only)",
    ),
    (
        "PM1",
        "payments.csv",
        "3",
        "method",
        "`bitcoin` is not allowed (expected one of: card, transfer",
    ),
    (
        "PX1",
        "payments.csv",
        "4",
        "invoice_id",
        "invoice `I-G2` belongs to customer `G2` (expected an invoice of `PX1`)",
    ),
    (
        "EV1",
        "events.csv",
        "3",
        "channel",
        "`fax` is not allowed (expected one of: email, sms, letter, call, web)",
    ),
    (
        "EV2",
        "events.csv",
        "4",
        "kind",
        "— did you mean `promise_to_pay`?",
    ),
];

#[test]
fn each_defect_is_reported_with_file_line_and_column() {
    let (run, out) = segment(&fixture("bad/campaign.yaml"), &[]);
    assert_eq!(run.code, 3, "rejections make a partial run\n{}", run.stderr);
    let rejected = read_csv(&out.path().join("rejected.csv"));
    for (customer, file, line, column, words) in DEFECTS {
        let found = rejected.iter().find(|r| {
            r["file"].ends_with(&format!("bad/{file}"))
                && r["line"] == *line
                && r["column"] == *column
                && r["reason"].contains(words)
        });
        assert!(
            found.is_some(),
            "no rejected row {file}:{line} column {column}: {words}\n{rejected:#?}"
        );
        assert_eq!(found.unwrap()["customer_id"], *customer, "{file}:{line}");
    }
    assert_eq!(
        rejected.len(),
        DEFECTS.len(),
        "one row per defect, no more: {rejected:#?}"
    );
    // The same text on the terminal, as FILE:LINE: column COL: message.
    assert!(run.stderr.contains(
        "tests/fixtures/bad/invoices.csv:7: column due_date: `2026-02-30` does not exist: February 2026 has 28 days (expected a real calendar date)"
    ));
}

#[test]
fn malformed_contacts_warn_but_do_not_quarantine() {
    let (run, out) = segment(&fixture("bad/campaign.yaml"), &[]);
    assert!(run.stderr.contains(
        "bad/customers.csv:13: column email: warning: `not-an-email` is not an e-mail address"
    ));
    assert!(run.stderr.contains(
        "bad/customers.csv:14: column phone: warning: `12345` is not a phone number in E.164 form"
    ));
    let segmented: BTreeSet<String> = read_csv(&out.path().join("segments.csv"))
        .into_iter()
        .map(|r| r["customer_id"].clone())
        .collect();
    assert!(
        segmented.contains("EM1") && segmented.contains("PH1"),
        "{segmented:?}"
    );
}

#[test]
fn counts_and_amounts_reconcile() {
    let (_run, out) = segment(&fixture("bad/campaign.yaml"), &[]);
    let segmented: BTreeSet<String> = read_csv(&out.path().join("segments.csv"))
        .into_iter()
        .map(|r| r["customer_id"].clone())
        .collect();
    let rejected = read_csv(&out.path().join("rejected.csv"));
    // Customers of the input, counted independently of dunwell: distinct ids, and the
    // row whose id is unusable counts as one customer.
    let input: BTreeSet<String> = read_csv(&root().join("tests/fixtures/bad/customers.csv"))
        .into_iter()
        .map(|r| r["customer_id"].clone())
        .collect();
    let rejected_ids: BTreeSet<String> = rejected
        .iter()
        .filter(|r| r["file"].ends_with("customers.csv") || input.contains(&r["customer_id"]))
        .map(|r| {
            if r["customer_id"].is_empty() {
                format!("{}:{}", r["file"], r["line"])
            } else {
                r["customer_id"].replace('\'', "")
            }
        })
        .collect();
    assert!(
        segmented.is_disjoint(&rejected_ids),
        "nobody is both segmented and rejected"
    );
    assert_eq!(
        segmented.len() + rejected_ids.len(),
        input.len(),
        "segmented {segmented:?} + rejected {rejected_ids:?}"
    );
    assert_eq!(segmented.len(), 5);
    // `=SUM(A1)` is defused for spreadsheets in the output.
    assert!(segmented.contains("'=SUM(A1)"));

    let s = read_json(&out.path().join("summary.json"));
    let r = &s["reconciliation"];
    assert_eq!(r["customers_in"], input.len());
    assert_eq!(
        (r["segmented"].as_u64(), r["rejected"].as_u64()),
        (Some(5), Some(27))
    );
    assert_eq!(r["balanced"], true);
    // Open amounts: G1 100 + G2 200 + EM1 30 segmented; DI1 10 + PM1 10 + PX1 40 rejected.
    assert_eq!(r["open_amount_segmented"]["PLN"], "330.00");
    assert_eq!(r["open_amount_rejected"]["PLN"], "60.00");
    assert_eq!(r["open_amount_in"]["PLN"], "390.00");
    // The invoice of an unknown customer is not lost either.
    assert_eq!(s["intake"]["orphan_open_amount"]["PLN"], "77.00");
}

#[test]
fn strict_turns_any_rejection_into_exit_1() {
    let (run, out) = segment(&fixture("bad/campaign.yaml"), &["--strict"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("--strict: 28 rows rejected"),
        "{}",
        run.stderr
    );
    assert!(!out.path().join("segments.csv").exists());
}

#[test]
fn an_empty_file_stops_the_run() {
    let (run, _) = segment(
        &fixture("clusters/campaign.yaml"),
        &["--data", &fixture("empty")],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("tests/fixtures/empty/customers.csv:1: the file is empty (expected a header line such as `customer_id,name`)"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_missing_column_is_named() {
    let (run, _) = segment(
        &fixture("clusters/campaign.yaml"),
        &["--data", &fixture("missing_column")],
    );
    assert_eq!(run.code, 1);
    for col in ["amount", "currency"] {
        let line = format!(
            "tests/fixtures/missing_column/invoices.csv:1: column {col}: required column is missing (expected a header named `{col}`;"
        );
        assert!(run.stderr.contains(&line), "{line}\n{}", run.stderr);
    }
}

/// Issue 12, items 4/5, 12, 14 and 15: text that breaks things downstream is stopped at
/// the door with the limit it broke, a column that decides nothing only warns, and
/// every customer is still counted once.
#[test]
fn text_is_bounded_and_printable() {
    let (run, out) = segment(&fixture("bad_text/campaign.yaml"), &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let rejected = read_csv(&out.path().join("rejected.csv"));
    let rows: Vec<(&str, &str, &str)> = rejected
        .iter()
        .map(|r| {
            (
                r["line"].as_str(),
                r["column"].as_str(),
                r["customer_id"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("3", "customer_id", ""),
            ("4", "name", "T3"),
            ("8", "name", "T7"),
            ("10", "postal_code", "T9"),
            ("11", "name", "T10"),
        ],
        "{rejected:#?}"
    );
    let reason = |k: usize| rejected[k]["reason"].as_str();
    assert!(
        reason(0).ends_with("…` is 300 bytes long (expected an id of at most 64 bytes in UTF-8)"),
        "{}",
        reason(0)
    );
    assert_eq!(
        reason(1),
        "`Anna \\u{202e}kcaB` contains U+202E, a bidirectional control character (expected printable characters only)"
    );
    assert_eq!(
        reason(2),
        "is 201 characters long (expected at most 200 characters)"
    );
    assert_eq!(
        reason(3),
        "is 21 characters long (expected at most 20 characters)"
    );
    assert_eq!(
        reason(4),
        "`Title \\u{1b}]0;owned\\u{7}` contains U+001B, a control character (expected printable characters only)"
    );

    // The invoice number with slashes is accepted; the columns that decide nothing warn.
    let segmented: Vec<String> = read_csv(&out.path().join("segments.csv"))
        .into_iter()
        .map(|r| r["customer_id"].clone())
        .collect();
    assert_eq!(segmented, ["T1", "T4", "T5", "T6", "T8"]);
    for warning in [
        "bad_text/customers.csv:6: column credit_limit: warning: `abc` is not a decimal amount (expected digits with an optional `.`, such as 1234.56); the value is ignored",
        "bad_text/customers.csv:7: column email: warning: `\\u{1b}[2J@example.com` is not an e-mail address (expected name@domain); e-mail is excluded for this customer",
        "bad_text/customers.csv:9: column account_manager: warning: is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8); the value is ignored",
    ] {
        assert!(run.stderr.contains(warning), "{warning}\n{}", run.stderr);
    }
    // `5e+05` is what Excel and R write for 500000: read, no warning.
    assert!(!run.stderr.contains("customers.csv:5:"), "{}", run.stderr);
    // Nothing from the data reaches the terminal unescaped (ESC [2J clears it).
    assert!(
        !run.stderr.contains(['\u{1b}', '\u{7}', '\u{202e}']),
        "{:?}",
        run.stderr
    );

    let s = read_json(&out.path().join("summary.json"));
    let r = &s["reconciliation"];
    assert_eq!(
        (
            r["customers_in"].as_u64(),
            r["segmented"].as_u64(),
            r["rejected"].as_u64()
        ),
        (Some(10), Some(5), Some(5))
    );
    assert_eq!(r["balanced"], true);
    assert_eq!(r["open_amount_segmented"]["PLN"], "50.00");
    assert_eq!(r["open_amount_rejected"]["PLN"], "40.00");
}

/// Issue 12, item 14: an NDJSON id beyond 2^53 keeps its digits (serde_json made it
/// `1.2345678901234568e22`); a float where an id belongs is refused.
#[test]
fn ndjson_numeric_ids_keep_their_digits() {
    let dir = tempdir();
    let invoice = |id: &str| {
        format!(
            r#"[{{"invoice_id": {id}, "issue_date": "2026-09-01", "due_date": "2026-10-01", "amount": 120.50, "currency": "EUR"}}]"#
        )
    };
    let lines = [
        format!(
            r#"{{"customer_id": 12345678901234567890123, "name": "Big Id", "invoices": {}}}"#,
            invoice("98765432109876543210")
        ),
        format!(
            r#"{{"customer_id": 12345678901234567890124, "name": "Next Id", "invoices": {}}}"#,
            invoice("98765432109876543211")
        ),
        r#"{"customer_id": 12.0, "name": "Float Id"}"#.to_string(),
    ];
    std::fs::write(dir.path().join("debtors.ndjson"), lines.join("\n") + "\n").unwrap();
    let (run, out) = segment(
        &fixture("clusters/campaign.yaml"),
        &["--data", dir.path().to_str().unwrap()],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let segmented: Vec<String> = read_csv(&out.path().join("segments.csv"))
        .into_iter()
        .map(|r| r["customer_id"].clone())
        .collect();
    assert_eq!(
        segmented,
        ["12345678901234567890123", "12345678901234567890124"]
    );
    assert!(
        run.stderr.contains("debtors.ndjson:3: column customer_id: `12.0` is a number with a fraction or an exponent (expected an id as a JSON string, or a whole number)"),
        "{}",
        run.stderr
    );
    let s = read_json(&out.path().join("summary.json"));
    assert_eq!(
        s["reconciliation"]["open_amount_segmented"]["EUR"],
        "241.00"
    );
    assert_eq!(s["reconciliation"]["balanced"], true);
}

#[test]
fn every_defect_line_on_stderr_whole() {
    let (run, out) = segment(&fixture("bad/campaign.yaml"), &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_matches_file(
        &normalise(&run.stderr, &[(out.path(), "$OUT")]),
        "bad_input_stderr",
    );
}
