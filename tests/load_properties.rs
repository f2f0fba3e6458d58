//! Property tests of the loaders (issue 12, "Must show"): random CSV and NDJSON exports —
//! random text and bytes in every column, columns in any order, missing and extra
//! columns and fields, quotes, CRLF, a BOM, `;` — never make the library panic, and
//! every customer of the input ends in exactly one of the segmented set or the
//! rejected set, the way `dunwell segment` counts them (`cli::prepare_data`,
//! `segment::summary::reconcile`), driven in-process.
//!
//! A row is "accounted for" when its customer id (as the export wrote it, trimmed) or,
//! for a row without a usable id, its `FILE:LINE` is among the outcomes.

use dunwell::campaign::DataSpec;
use dunwell::segment::{RuleSet, segment};
use dunwell::validate::{Validated, validate};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Cases per property: enough to cross every branch many times, few enough that the
/// suite stays fast in a debug build. `PROPTEST_CASES=5000` explores further.
const CASES: u32 = 96;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        // A failure prints its shrunk input; nothing is written into the repository.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Characters that break things: delimiters, quotes, line ends, escapes, bidi and
/// zero-width characters, NUL, non-ASCII, path separators, JSON punctuation.
const CHARS: &[char] = &[
    'a', 'Z', '7', ' ', ',', ';', '"', '\n', '\r', '\t', 'é', '顧', '🦀', '\u{202e}', '\u{200b}',
    '\u{200d}', '\u{1b}', '\0', '/', '\\', '.', '-', '+', 'e', '@', '{', '}', '[', ']', ':',
    '\u{feff}', '\u{85}',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(select(CHARS), 0..12).prop_map(|v| v.into_iter().collect())
}

/// Values that are probably right (or wrong in the usual ways) for a column.
fn plausible(column: &str) -> Vec<&'static str> {
    match column {
        "customer_id" => vec![
            "C1",
            "C2",
            "C3",
            "C4",
            " C1 ",
            "C/5",
            "12345678901234567890123",
        ],
        "name" => vec!["Anna", "Ben Żak", "Rossi, Giulia", "می\u{200c}خواهم"],
        "email" => vec!["a@example.com", "not-an-email", "\u{1b}[2J@example.com"],
        "phone" => vec!["+48601234567", "12345", "+48 601-234-567"],
        "country" => vec!["PL", "IT", "XX"],
        "language" => vec!["pl", "en", "xx", "zh-Hant"],
        "timezone" => vec!["Europe/Warsaw", "Europe/Warsow"],
        "consent_email" => vec!["true", "no", "maybe"],
        "hold" => vec!["dispute", "vacation"],
        "credit_limit" => vec!["500000", "5e+05", "abc", "1,5"],
        // Customers' kind and events' kind.
        "kind" => vec![
            "person",
            "company",
            "dog",
            "reminder_sent",
            "promise_to_pay",
        ],
        "payment_id" => vec!["P1", "P2", "WB/2026/7"],
        "date" => vec!["2026-09-15", "2026-13-01"],
        "method" => vec!["card", "bitcoin"],
        "status" => vec!["ok", "bounced", "pending"],
        "channel" => vec!["email", "fax"],
        "reference" => vec!["I1", "FV/2026/0042"],
        "note" => vec!["called, no answer", "Jos\u{e9}"],
        "invoice_id" => vec!["I1", "I2", "FV/2026/0042", "I1"],
        "issue_date" | "due_date" => vec!["2026-09-01", "2026-10-01", "2026-02-30", "x"],
        "amount" => vec![
            "10.00",
            "5",
            "-1",
            "1e3",
            "abc",
            "1000000000000000",
            "12,50",
        ],
        "currency" => vec!["PLN", "EUR", "JPY", "XAU"],
        _ => vec!["x", "Marco", "K-1"],
    }
}

/// One cell's bytes: a plausible value, random text, random bytes or a long value.
fn cell(column: &'static str) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        5 => select(plausible(column)).prop_map(|s| s.as_bytes().to_vec()),
        1 => Just(Vec::new()),
        3 => text().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..8),
        1 => (60usize..260).prop_map(|n| "顧".repeat(n).into_bytes()),
    ]
    .boxed()
}

const CUSTOMER_OPTIONAL: &[&str] = &[
    "kind",
    "email",
    "phone",
    "country",
    "language",
    "timezone",
    "consent_email",
    "hold",
    "credit_limit",
    "account_manager",
    "contract_no",
    "Notes",
    "notes",
    "",
];

const INVOICE_COLS: &[&str] = &[
    "invoice_id",
    "customer_id",
    "issue_date",
    "due_date",
    "amount",
    "currency",
];

const PAYMENT_COLS: &[&str] = &[
    "payment_id",
    "customer_id",
    "invoice_id",
    "date",
    "amount",
    "method",
    "status",
];

const EVENT_COLS: &[&str] = &[
    "customer_id",
    "date",
    "channel",
    "kind",
    "reference",
    "note",
];

/// A table: its header and rows; each row's cells, and what to do to its field count
/// (0: drop the last field, 1: add one, else nothing).
#[derive(Clone, Debug)]
struct Table {
    header: Vec<&'static str>,
    rows: Vec<(Vec<Vec<u8>>, u8)>,
}

fn table(columns: Vec<&'static str>, rows: std::ops::Range<usize>) -> BoxedStrategy<Table> {
    let row: Vec<BoxedStrategy<Vec<u8>>> = columns.iter().map(|c| cell(c)).collect();
    prop::collection::vec((row, 0u8..12), rows)
        .prop_map(move |rows| Table {
            header: columns.clone(),
            rows,
        })
        .boxed()
}

fn customers() -> impl Strategy<Value = Table> {
    subsequence(CUSTOMER_OPTIONAL.to_vec(), 0..=CUSTOMER_OPTIONAL.len())
        .prop_map(|mut cols| {
            cols.extend(["customer_id", "name"]);
            cols
        })
        .prop_shuffle()
        .prop_flat_map(|cols| table(cols, 0..10))
}

/// A table of every column of `cols`, in any order.
fn records(cols: &'static [&'static str]) -> impl Strategy<Value = Table> {
    Just(cols.to_vec())
        .prop_shuffle()
        .prop_flat_map(|cols| table(cols, 0..8))
}

/// How the files are written.
#[derive(Clone, Debug)]
struct Shape {
    delimiter: u8,
    crlf: bool,
    bom: bool,
    upper_case_header: bool,
    /// Cells quoted as CSV requires; otherwise written raw (rows break apart).
    quoted: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        select(vec![b',', b';']),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(delimiter, crlf, bom, upper_case_header, quoted)| Shape {
            delimiter,
            crlf,
            bom,
            upper_case_header,
            quoted,
        })
}

/// A written row: its line and its cells.
type Written = (u64, Vec<Vec<u8>>);

/// The table as CSV bytes, and each written row.
fn write_csv(t: &Table, s: &Shape) -> (Vec<u8>, Vec<Written>) {
    let mut out = Vec::new();
    if s.bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let end: &[u8] = if s.crlf { b"\r\n" } else { b"\n" };
    let put_row = |out: &mut Vec<u8>, cells: &[Vec<u8>]| {
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(s.delimiter);
            }
            let special = c
                .iter()
                .any(|&b| b == s.delimiter || matches!(b, b'"' | b'\r' | b'\n'));
            if s.quoted && special {
                out.push(b'"');
                for &b in c {
                    if b == b'"' {
                        out.push(b'"');
                    }
                    out.push(b);
                }
                out.push(b'"');
            } else {
                out.extend_from_slice(c);
            }
        }
        out.extend_from_slice(end);
    };
    let header: Vec<Vec<u8>> = t
        .header
        .iter()
        .map(|h| {
            let h = if s.upper_case_header {
                h.to_ascii_uppercase()
            } else {
                h.to_string()
            };
            h.into_bytes()
        })
        .collect();
    put_row(&mut out, &header);
    let mut rows = Vec::new();
    for (cells, change) in &t.rows {
        let mut cells = cells.clone();
        match change {
            0 => {
                cells.pop();
            }
            1 => cells.push(b"extra".to_vec()),
            _ => {}
        }
        let line = 1 + line_breaks(&out);
        put_row(&mut out, &cells);
        rows.push((line, cells));
    }
    (out, rows)
}

/// Lines end at `\n`, `\r\n` or a lone `\r`, as csv and text editors have it.
fn line_breaks(bytes: &[u8]) -> u64 {
    let mut n = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

static RULES: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();

fn rules() -> &'static RuleSet {
    RULES.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("segments/default.yaml");
        RuleSet::load(&path).expect("the default rules load")
    })
}

/// Segmented and rejected customers of a validated dataset, as `segment` counts them;
/// checks that they reconcile and that nobody is in both or twice.
fn outcomes(v: &Validated) -> (BTreeSet<String>, BTreeSet<String>) {
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let data = &v.dataset;
    let seg = segment(data, rules(), as_of);
    let rec = dunwell::prepare::summary::reconcile(v, data, &seg);
    assert!(rec.balanced, "{rec:?}");
    let mut segmented = BTreeSet::new();
    let mut rejected: BTreeSet<String> =
        v.rejected_customers.iter().map(|s| s.to_string()).collect();
    assert_eq!(rejected.len(), v.rejected_customers.len(), "rejected twice");
    for (c, a) in data.customers.iter().zip(&seg.assignments) {
        let fresh = match a {
            Some(_) => segmented.insert(c.id().to_string()),
            None => rejected.insert(c.id().to_string()),
        };
        assert!(fresh, "customer `{}` counted twice", c.id());
    }
    assert!(
        segmented.is_disjoint(&rejected),
        "both segmented and rejected: {:?}",
        segmented.intersection(&rejected).collect::<Vec<_>>()
    );
    assert_eq!(
        segmented.len() + rejected.len(),
        v.intake.customers,
        "customers in = segmented + rejected"
    );
    assert_eq!(rec.segmented + rec.rejected, rec.customers_in);
    (segmented, rejected)
}

/// Asserts that the row with this id cell (its bytes) on `line` of `file` is accounted
/// for: by its id, or — when the id is unusable — by `FILE:LINE`.
fn accounted(
    all: &BTreeSet<String>,
    file: &Path,
    line: u64,
    id: Option<String>,
) -> Result<(), TestCaseError> {
    let at = format!("{}:{line}", file.display());
    prop_assert!(
        id.as_ref().is_some_and(|id| all.contains(id)) || all.contains(&at),
        "the row on line {line} (id {id:?}) is neither segmented nor rejected: {all:?}"
    );
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn csv_exports_never_panic_and_lose_nobody(
        customers in customers(),
        invoices in records(INVOICE_COLS),
        payments in prop::option::of(records(PAYMENT_COLS)),
        events in prop::option::of(records(EVENT_COLS)),
        shape in shape(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (bytes, rows) = write_csv(&customers, &shape);
        let customers_path = write(dir.path(), "customers.csv", &bytes);
        let other = |name: &str, t: &Table| write(dir.path(), name, &write_csv(t, &shape).0);
        let spec = DataSpec::Tables {
            customers: customers_path.clone().into(),
            invoices: other("invoices.csv", &invoices).into(),
            payments: payments.as_ref().map(|t| other("payments.csv", t).into()),
            events: events.as_ref().map(|t| other("events.csv", t).into()),
        };
        // Every header is sound (every required column, each once): the files load.
        let loaded = dunwell::load::load(&spec);
        let loaded = match loaded {
            Ok(l) => l,
            Err(e) => return Err(TestCaseError::fail(format!("load failed: {e}"))),
        };
        let v = validate(loaded);
        let (segmented, rejected) = outcomes(&v);
        if !shape.quoted {
            return Ok(());
        }
        // Quoted as CSV requires, every written row is a row: each is accounted for.
        prop_assert!(v.intake.customers <= rows.len());
        let id_col = customers.header.iter().position(|h| *h == "customer_id").unwrap();
        let all: BTreeSet<String> = segmented.union(&rejected).cloned().collect();
        for (line, cells) in rows {
            // A line holding one blank field is a blank line, not a row.
            if cells.len() == 1 && cells[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let id = cells
                .get(id_col)
                .and_then(|c| std::str::from_utf8(c).ok())
                .map(|s| s.trim().to_string());
            accounted(&all, &customers_path, line, id)?;
        }
    }
}

// ---------------------------------------------------------------------------------------
// NDJSON

/// A JSON value's text for a key: a string (valid, or with bytes that are not UTF-8),
/// a number as written (beyond 2^64, a fraction, an exponent), a literal, an object.
fn json_value(key: &'static str) -> BoxedStrategy<Vec<u8>> {
    let string = |s: String| serde_json::to_string(&s).unwrap().into_bytes();
    prop_oneof![
        5 => select(plausible(key)).prop_map(move |s| string(s.to_string())),
        3 => text().prop_map(string),
        1 => Just(b"\"Jos\xe9\"".to_vec()),
        2 => select(vec!["42", "12345678901234567890123", "12.0", "5e+05", "-1", "0"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => select(vec!["true", "false", "null", "{}", "[]"]).prop_map(|s| s.as_bytes().to_vec()),
    ]
    .boxed()
}

/// A JSON object of some of `keys` (a key may come twice), as bytes.
fn json_object(keys: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    let entry = select(keys.to_vec()).prop_flat_map(|k| (Just(k), json_value(k)));
    prop::collection::vec(entry, 0..keys.len() + 2)
        .prop_map(|entries| {
            let mut out = b"{".to_vec();
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(serde_json::to_string(k).unwrap().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(&v);
            }
            out.push(b'}');
            out
        })
        .boxed()
}

const JSON_CUSTOMER: &[&str] = &[
    "customer_id",
    "customer_id",
    "name",
    "Name",
    "email",
    "credit_limit",
    "language",
    "account_manager",
];
const JSON_INVOICE: &[&str] = &[
    "invoice_id",
    "customer_id",
    "issue_date",
    "due_date",
    "amount",
    "currency",
];
const JSON_PAYMENT: &[&str] = &["payment_id", "invoice_id", "date", "amount", "status"];

/// A nested list: objects, or something that is not a list of objects.
fn json_list(keys: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(json_object(keys), 0..3).prop_map(|items| {
            let mut out = b"[".to_vec();
            out.extend(items.join(&b", "[..]));
            out.push(b']');
            out
        }),
        1 => select(vec!["\"x\"", "17", "[17]", "null", "{}"]).prop_map(|s| s.as_bytes().to_vec()),
    ]
    .boxed()
}

/// One line: a customer object with nested lists, maybe cut short.
fn json_line() -> impl Strategy<Value = Vec<u8>> {
    (
        json_object(JSON_CUSTOMER),
        prop::option::of(json_list(JSON_INVOICE)),
        prop::option::of(json_list(JSON_PAYMENT)),
        prop::option::weighted(0.1, any::<prop::sample::Index>()),
    )
        .prop_map(|(customer, invoices, payments, cut)| {
            let mut line = customer[..customer.len() - 1].to_vec();
            for (key, list) in [("invoices", invoices), ("payments", payments)] {
                if let Some(list) = list {
                    if line.len() > 1 {
                        line.extend_from_slice(b", ");
                    }
                    line.extend_from_slice(format!("\"{key}\": ").as_bytes());
                    line.extend(list);
                }
            }
            line.push(b'}');
            if let Some(cut) = cut {
                line.truncate(cut.index(line.len()));
            }
            line
        })
}

/// The customer id a line names, as the export wrote it, if it names one plainly.
fn json_id(line: &[u8]) -> Option<String> {
    // Bytes that are not UTF-8 cost only the values holding them.
    let text = String::from_utf8_lossy(line);
    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).ok()?;
    match obj.get("customer_id")? {
        serde_json::Value::String(s) if !s.contains('\u{FFFD}') => Some(s.trim().to_string()),
        // The digits as written: the id test names them by the text of the line.
        serde_json::Value::Number(_) => {
            let start = text.find("\"customer_id\": ")? + "\"customer_id\": ".len();
            let rest = &text[start..];
            let end = rest.find([',', '}']).unwrap_or(rest.len());
            Some(rest[..end].trim().to_string())
        }
        _ => None,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ndjson_exports_never_panic_and_lose_nobody(
        lines in prop::collection::vec(json_line(), 1..8),
        crlf in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        for l in &lines {
            bytes.extend_from_slice(l);
            bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        let path = write(dir.path(), "debtors.ndjson", &bytes);
        let spec = DataSpec::Ndjson { ndjson: path.clone() };
        let blank = |l: &Vec<u8>| l.iter().all(u8::is_ascii_whitespace);
        let loaded = match dunwell::load::load(&spec) {
            Ok(l) => l,
            // Only a file with nothing in it stops the run.
            Err(e) => {
                prop_assert!(lines.iter().all(blank), "load failed: {e}");
                return Ok(());
            }
        };
        let v = validate(loaded);
        let (segmented, rejected) = outcomes(&v);
        let all: BTreeSet<String> = segmented.union(&rejected).cloned().collect();
        // One customer per line at most (a line repeating an earlier id is the same one).
        prop_assert!(v.intake.customers <= lines.iter().filter(|l| !blank(l)).count());
        for (n, line) in lines.iter().enumerate() {
            if blank(line) {
                continue;
            }
            accounted(&all, &path, n as u64 + 1, json_id(line))?;
        }
    }
}
