//! Exports as they come (issue 15): the same export as CSV, XLSX (both date systems) and
//! ODS through a `columns:` mapping gives the same outbox byte for byte; cells are named
//! by sheet and row; line-item exports are grouped; the Xero and QuickBooks presets run.
//! The fixtures are written by scripts/import-fixtures.py.

use crate::util::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/import")
}

fn at(name: &str) -> String {
    format!("\"{}\"", fixtures().join(name).display())
}

/// The sample campaign (its rules, templates, stages) over `data`, written into `dir`.
fn campaign(dir: &Path, name: &str, data: &str) -> PathBuf {
    let text = sample_text_with_absolute_paths();
    let start = text.find("\ndata:\n").expect("the sample has data");
    let end = start
        + 1
        + text[start + 1..]
            .find("\n\n")
            .expect("and a blank line after");
    let file = dir.join(name);
    std::fs::write(
        &file,
        format!("{}\ndata:\n{data}{}", &text[..start], &text[end..]),
    )
    .unwrap();
    file
}

/// The fixture export's data section: customers as given, invoices (`file: …` and maybe
/// `sheet: …`) under the ERP's headers, dates as 31.03.2026, decimal commas.
fn export(customers: &str, invoices: &str) -> String {
    format!(
        "  customers: {customers}
  invoices:
    {invoices}
    columns: {{invoice_id: \"Invoice No\", customer_id: \"Customer No\", issue_date: \"Invoice Date\", due_date: \"Due Date\", amount: Total, amount_paid: Paid}}
    date_format: \"%d.%m.%Y\"
    decimal: \",\"
  payments: {}
  events: {}
",
        at("payments.csv"),
        at("events.csv")
    )
}

/// The export with both tables in the sheets of `book`.
fn workbook(book: &str) -> String {
    export(
        &format!("{{file: {}, sheet: Customers}}", at(book)),
        &format!("file: {}\n    sheet: Invoices", at(book)),
    )
}

fn csv_export() -> String {
    export(
        &at("customers.csv"),
        &format!("file: {}", at("invoices-export.csv")),
    )
}

/// Every file under `dir`, by its path inside.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn csv_xlsx_1904_and_ods_give_byte_identical_outboxes() {
    let dir = tempdir();
    let csv = outbox_of(
        campaign(dir.path(), "csv.yaml", &csv_export())
            .to_str()
            .unwrap(),
        &[],
    );
    let want = tree(csv.path());
    assert!(manifest(csv.path()).len() > 50, "the export plans messages");
    let rejected = std::fs::read_to_string(csv.path().join("rejected.csv")).unwrap();
    assert_eq!(rejected.lines().count(), 1, "nothing rejected: {rejected}");
    for book in ["export.xlsx", "export-1904.xlsx", "export.ods"] {
        let c = campaign(dir.path(), &format!("{book}.yaml"), &workbook(book));
        let out = outbox_of(c.to_str().unwrap(), &[]);
        let got = tree(out.path());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{book}"
        );
        for (path, bytes) in &want {
            assert!(
                got[path] == *bytes,
                "{book}: {path} differs from the CSV run's"
            );
        }
    }
}

#[test]
fn a_bad_cell_is_named_by_its_sheet_and_row() {
    let dir = tempdir();
    let c = campaign(dir.path(), "bad.yaml", &workbook("bad.xlsx"));
    let (run, out) = segment(c.to_str().unwrap(), &[]);
    assert_eq!(run.code, 3, "a customer rejected: {}", run.stderr);
    let book = fixtures().join("bad.xlsx").display().to_string();
    let line = format!(
        "{book}:Invoices!4: column amount: `12.345` has 3 decimal places (EUR has 2 decimal places)"
    );
    assert!(run.stderr.contains(&line), "{}", run.stderr);
    let rejected = read_csv(&out.path().join("rejected.csv"));
    let row = rejected
        .iter()
        .find(|r| r["column"] == "amount")
        .expect("the cell is in rejected.csv");
    assert_eq!(
        (
            row["file"].as_str(),
            row["line"].as_str(),
            row["customer_id"].as_str()
        ),
        (format!("{book}:Invoices!").as_str(), "4", "C0000001")
    );
}

#[test]
fn a_number_in_an_id_column_is_a_warning_naming_the_cell() {
    let dir = tempdir();
    let c = campaign(dir.path(), "ids.yaml", &workbook("numeric-ids.xlsx"));
    let (run, _out) = segment(c.to_str().unwrap(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let book = fixtures().join("numeric-ids.xlsx").display().to_string();
    assert!(
        run.stderr.contains(&format!(
            "{book}:Invoices!2: column invoice_id: warning: is a number cell (1001); the id is read as `1001`, but a spreadsheet keeps 15 significant digits"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("0 rejected"), "{}", run.stderr);
}

/// The open amounts per currency `segment` reports for a campaign.
fn open_amounts(campaign: &str) -> BTreeMap<String, Decimal> {
    let (run, out) = segment(campaign, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = read_json(&out.path().join("summary.json"));
    summary["intake"]["open_amount"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), Decimal::from_str(v.as_str().unwrap()).unwrap()))
        .collect()
}

#[test]
fn the_xero_preset_reads_xeros_invoice_export() {
    let xero = fixtures().join("xero/campaign.yaml");
    let out = outbox_of(xero.to_str().unwrap(), &[]);
    assert!(manifest(out.path()).len() > 30);
    // One invoice per InvoiceNumber of its line-item rows; the credit note and the draft
    // are left out: what is open is what the same export as one row per invoice says.
    let dir = tempdir();
    let same = campaign(dir.path(), "csv.yaml", &csv_export());
    assert_eq!(
        open_amounts(xero.to_str().unwrap()),
        open_amounts(same.to_str().unwrap())
    );
    // As many invoices as the one-row-per-invoice export has.
    let invoices = std::fs::read_to_string(fixtures().join("invoices-export.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let (run, _) = segment(xero.to_str().unwrap(), &[]);
    assert!(
        run.stderr.contains(&format!(
            "read 40 customers (0 rejected); kept {invoices} invoices"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn the_quickbooks_preset_adds_up_line_items() {
    let qbo = fixtures().join("quickbooks/campaign.yaml");
    let out = outbox_of(qbo.to_str().unwrap(), &[]);
    assert!(manifest(out.path()).len() > 30);
    // Only open invoices are in the fixture, each split into lines: their sums are the
    // invoices' amounts.
    let mut want: BTreeMap<String, Decimal> = BTreeMap::new();
    let text = std::fs::read_to_string(fixtures().join("invoices-export.csv")).unwrap();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(';').collect();
        if f[7] == "open" {
            *want.entry(f[5].to_string()).or_default() +=
                Decimal::from_str(&f[4].replace(',', ".")).unwrap();
        }
    }
    assert_eq!(open_amounts(qbo.to_str().unwrap()), want);
}

#[test]
fn rows_of_one_invoice_must_agree_and_amounts_add_up() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(
        d.join("lines.csv"),
        "Invoice No,Customer No,Invoice Date,Due Date,Line,Currency\n\
         I-1,C0000001,2026-10-01,2026-10-15,10.00,GBP\n\
         I-2,C0000002,2026-10-01,2026-10-15,7.50,EUR\n\
         I-1,C0000001,2026-10-01,2026-10-20,5.00,GBP\n\
         I-2,C0000002,2026-10-01,2026-10-15,-2.25,EUR\n\
         I-2,,,,1.00,\n",
    )
    .unwrap();
    let data = format!(
        "  customers: {}
  invoices:
    file: {}
    columns: {{invoice_id: Invoice No, customer_id: Customer No, issue_date: Invoice Date, due_date: Due Date, amount: Line}}
    group_by: invoice_id
    sum: [amount]
",
        at("customers.csv"),
        d.join("lines.csv").display()
    );
    let c = campaign(d, "lines.yaml", &data);
    let (run, out) = segment(c.to_str().unwrap(), &[]);
    assert_eq!(run.code, 3, "a customer rejected: {}", run.stderr);
    let file = d.join("lines.csv").display().to_string();
    assert!(
        run.stderr.contains(&format!(
            "{file}:2: column due_date: `2026-10-15` on line 2 but `2026-10-20` on line 4, rows of the same invoice_id `I-1` (lines 2, 4) (expected one value per invoice_id)"
        )),
        "{}",
        run.stderr
    );
    let summary = read_json(&out.path().join("summary.json"));
    // I-2 is 7.50 − 2.25 + 1.00 (a continuation row with its customer left out);
    // I-1's customer is quarantined.
    assert_eq!(summary["intake"]["open_amount"]["EUR"], "6.25", "{summary}");
    assert_eq!(summary["intake"]["rejected_customers"], 1);
}

#[test]
fn mapping_mistakes_are_campaign_errors() {
    let dir = tempdir();
    let wrong_name =
        csv_export().replace("invoice_id: \"Invoice No\"", "invoce_id: \"Invoice No\"");
    let c = campaign(dir.path(), "name.yaml", &wrong_name);
    let (run, _) = segment(c.to_str().unwrap(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "data.invoices.columns: unknown column `invoce_id` — did you mean `invoice_id`?"
        ),
        "{}",
        run.stderr
    );
    // `    columns: {invoce_id: …}`: the caret is under the name, column 15, 9 wide.
    let caret = run.stderr.lines().find(|l| l.contains('^')).unwrap_or("");
    assert!(
        caret.ends_with(" ^^^^^^^^^")
            && run
                .stderr
                .lines()
                .any(|l| l.contains("name.yaml:") && l.ends_with(":15")),
        "a caret under the name: {}",
        run.stderr
    );

    let wrong_header = csv_export().replace("amount: Total", "amount: Totl");
    let c = campaign(dir.path(), "header.yaml", &wrong_header);
    let (run, _) = segment(c.to_str().unwrap(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "column amount: column `Totl` is not in the header, and the campaign's `columns:` reads `amount` from it (expected a header named `Totl`; found: `Invoice No`, `Customer No`,"
        ),
        "{}",
        run.stderr
    );
    let no_sheet = workbook("export.xlsx").replace("sheet: Invoices", "sheet: Invoice");
    let c = campaign(dir.path(), "sheet.yaml", &no_sheet);
    let (run, _) = segment(c.to_str().unwrap(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no sheet `Invoice` — did you mean `Invoices`?"),
        "{}",
        run.stderr
    );
}

/// The committed spreadsheets are what the committed script writes (compared entry by
/// entry: the zip's compressed bytes depend on the zlib at hand).
#[test]
fn the_fixtures_are_what_the_script_writes() {
    let dir = tempdir();
    let o = std::process::Command::new("python3")
        .arg("scripts/import-fixtures.py")
        .env("OUT", dir.path())
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let compare = r#"
import os, sys, zipfile
new, old = sys.argv[1], sys.argv[2]
bad = []
for base, _, files in os.walk(new):
    for f in files:
        a = os.path.join(base, f)
        b = os.path.join(old, os.path.relpath(a, new))
        if zipfile.is_zipfile(a):
            za, zb = zipfile.ZipFile(a), zipfile.ZipFile(b)
            same = [i.filename for i in za.infolist()] == [i.filename for i in zb.infolist()] and all(
                za.read(n) == zb.read(n) for n in za.namelist())
        else:
            same = open(a, "rb").read() == open(b, "rb").read()
        if not same:
            bad.append(os.path.relpath(a, new))
print(" ".join(sorted(bad)))
"#;
    let o = std::process::Command::new("python3")
        .args(["-c", compare])
        .arg(dir.path())
        .arg(fixtures())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "",
        "fixtures differ from the script's"
    );
}
