//! Original invoices with the messages (`document` in the export, docs/input.md): the
//! e-mail attaches them, parsed back as MIME with their names and bytes intact; print.pdf
//! encloses the PDF ones after their letter, read back with `qpdf`, `pdfinfo` and
//! `pdftotext`; a file that is missing or outside the export folder is a `FILE:LINE`
//! defect; an e-mail over `limits.email_bytes` is an exclusion, never truncated.

use crate::util::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CAMPAIGN: &str = "tests/fixtures/documents/campaign.yaml";

/// Pages of each fixture document, by invoice.
const ENCLOSED: [(&str, &str, usize); 3] = [
    ("D-EN-1", "D-EN-1.pdf", 1),
    ("D-PL-1", "Faktura ż D-PL-1.pdf", 2),
    ("D-PL-2", "D-PL-2.pdf", 1),
];

fn fixture_doc(name: &str) -> PathBuf {
    root().join("tests/fixtures/documents/documents").join(name)
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The raw RFC 5322 message of a manifest entry (its mbox slice, without the From line).
fn raw_email(out: &Path, e: &serde_json::Value) -> Vec<u8> {
    let mbox = std::fs::read(out.join(e["path"].as_str().unwrap())).unwrap();
    let off = e["offset"].as_u64().unwrap() as usize;
    let len = e["length"].as_u64().unwrap() as usize;
    let raw = &mbox[off..off + len];
    raw.splitn(2, |&b| b == b'\n').nth(1).unwrap().to_vec()
}

fn entry<'a>(m: &'a [serde_json::Value], customer: &str, channel: &str) -> &'a serde_json::Value {
    m.iter()
        .find(|e| e["customer_id"] == customer && e["channel"] == channel)
        .unwrap_or_else(|| panic!("no {channel} for {customer}"))
}

/// The invoices a message claims, main currency first (as the manifest lists them).
fn claimed(e: &serde_json::Value) -> Vec<String> {
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i[0].as_str().unwrap().to_string())
            .collect()
    };
    let mut out = ids(&e["invoices"]);
    for o in e["others"].as_array().into_iter().flatten() {
        out.extend(ids(&o["invoices"]));
    }
    out
}

fn pages(pdf: &Path) -> usize {
    tool("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn page_text(pdf: &Path, page: usize) -> String {
    let n = page.to_string();
    tool(
        "pdftotext",
        &["-f", &n, "-l", &n, pdf.to_str().unwrap(), "-"],
    )
}

#[test]
fn each_email_attaches_its_letter_then_the_claimed_invoices_bytes_intact() {
    let out = tempdir();
    let r = run_campaign(CAMPAIGN, out.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = manifest(out.path());
    let files: BTreeMap<&str, &str> = ENCLOSED
        .iter()
        .map(|(inv, file, _)| (*inv, *file))
        .chain([("D-XML-1", "FV-D-XML-1.xml")])
        .collect();
    for customer in ["D-EN", "D-PL", "D-XML", "D-NONE"] {
        let e = entry(&m, customer, "email");
        let raw = raw_email(out.path(), e);
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let got: Vec<(String, String, String)> = parsed
            .attachments()
            .map(|a| {
                use mail_parser::MimeHeaders;
                let ct = a.content_type().unwrap();
                (
                    a.attachment_name().unwrap().to_string(),
                    format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")),
                    sha(a.contents()),
                )
            })
            .collect();
        let letter = std::fs::read(out.path().join(format!("letters/{customer}-letter.pdf")));
        let mut want = vec![format!("{customer}-letter.pdf")];
        want.extend(
            claimed(e)
                .iter()
                .filter_map(|inv| files.get(inv.as_str()))
                .map(|f| f.to_string()),
        );
        let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(names, want, "{customer}");
        assert!(letter.is_ok(), "{customer} has a letter");
        for (name, ct, digest) in &got[1..] {
            assert_eq!(
                *digest,
                sha(&std::fs::read(fixture_doc(name)).unwrap()),
                "{name}"
            );
            let expected = if name.ends_with(".xml") {
                "application/xml"
            } else {
                "application/pdf"
            };
            assert_eq!(ct, expected, "{name}");
        }
        // The name that is not ASCII travels RFC 2231-encoded, never raw in a header.
        if customer == "D-PL" {
            let text = String::from_utf8_lossy(&raw);
            assert!(
                text.contains("filename*0*=utf-8''Faktura%20%C5%BC%20D-PL-1.pdf"),
                "{text}"
            );
        }
    }
    // Both currencies' documents, though the message's own currency is one of them.
    assert_eq!(claimed(entry(&m, "D-PL", "email")).len(), 2);
}

#[test]
fn print_pdf_encloses_each_letters_pdf_invoices_and_the_next_letter_starts_on_an_odd_page() {
    let out = tempdir();
    let r = run_campaign(CAMPAIGN, out.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let print = out.path().join("letters/print.pdf");
    let check = tool("qpdf", &["--check", print.to_str().unwrap()]);
    assert!(
        check.contains("No syntax or stream encoding errors"),
        "{check}"
    );
    let m = manifest(out.path());
    let enclosed_pages = |customer: &str| -> Vec<(&str, usize)> {
        claimed(entry(&m, customer, "letter"))
            .iter()
            .filter_map(|inv| ENCLOSED.iter().find(|(i, _, _)| i == inv))
            .map(|(inv, _, n)| (*inv, *n))
            .collect()
    };
    let rows = read_csv(&out.path().join("letters/print.csv"));
    assert_eq!(rows.len(), 4);
    let mut next = 1;
    for r in &rows {
        let customer = r["customer_id"].as_str();
        let first: usize = r["first_page"].parse().unwrap();
        let count: usize = r["pages"].parse().unwrap();
        assert_eq!(first, next, "{r:?}");
        assert_eq!(first % 2, 1, "{customer} starts on a right-hand page");
        // The letter's own file is the letter as posted: the same pages.
        let own = out.path().join(format!("letters/{}.pdf", r["letter_id"]));
        assert_eq!(pages(&own), count, "{customer}");
        let check = tool("qpdf", &["--check", own.to_str().unwrap()]);
        assert!(
            check.contains("No syntax or stream encoding errors"),
            "{check}"
        );
        let enclosures = enclosed_pages(customer);
        let extra: usize = enclosures.iter().map(|e| e.1).sum();
        let letter_pages = count - extra;
        assert!(letter_pages >= 1, "{customer}");
        // The letter comes first: its first page names the customer.
        let name = match customer {
            "D-EN" => "Margaret O",
            "D-PL" => "Katarzyna",
            "D-XML" => "Hendrik de Vries",
            _ => "Aoife Byrne",
        };
        assert!(page_text(&print, first).contains(name), "{customer}");
        // Then each claimed invoice as issued, in the message's order.
        let mut page = first + letter_pages;
        for (inv, n) in &enclosures {
            let text = page_text(&print, page);
            assert!(text.contains(inv), "page {page}: {text}");
            assert!(
                !text.contains(name),
                "an enclosure is not a page of the letter"
            );
            page += n;
        }
        next += count + count % 2;
    }
    assert_eq!(pages(&print), next - 1);
    // The document's text comes right after its letter's, before the next letter.
    let all = tool("pdftotext", &[print.to_str().unwrap(), "-"]);
    let at = |s: &str| {
        all.find(s)
            .unwrap_or_else(|| panic!("{s} not in print.pdf"))
    };
    assert!(at("Margaret O") < at("INVOICE D-EN-1 AS ISSUED"));
    // The XML e-invoice is not printed; the run says so.
    assert!(!all.contains("D-XML-1</ID>"));
    assert!(
        r.stderr.contains(
            "warning: D-XML-letter: the document of invoice D-XML-1, `FV-D-XML-1.xml`, is not a PDF"
        ),
        "{}",
        r.stderr
    );
    let summary = read_json(&out.path().join("summary.json"));
    assert_eq!(summary["documents_not_printed"], 1);
    let letter_pages: u64 = rows
        .iter()
        .map(|r| r["pages"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(summary["letter_pages"], letter_pages);
}

#[test]
fn the_same_export_gives_the_same_outbox_bytes() {
    let a = tempdir();
    let b = tempdir();
    for out in [&a, &b] {
        let r = run_campaign(CAMPAIGN, out.path(), &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let (ta, tb) = (tree(a.path()), tree(b.path()));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(tb[path] == *bytes, "{path} differs between two runs");
    }
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

/// The fixture copied into `dir/export/` with its campaign's rules and templates made
/// absolute, `edit` applied to its text: the campaign file.
fn copy(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let export = dir.join("export");
    copy_tree(&root().join("tests/fixtures/documents"), &export);
    let text = std::fs::read_to_string(export.join("campaign.yaml"))
        .unwrap()
        .replace(
            "../../../segments",
            &root().join("segments").display().to_string(),
        )
        .replace(
            "../../../templates",
            &root().join("templates").display().to_string(),
        );
    let file = export.join("campaign.yaml");
    std::fs::write(&file, edit(text)).unwrap();
    file
}

#[test]
fn a_missing_outside_or_unreadable_document_rejects_its_customer_at_its_line() {
    let dir = tempdir();
    let campaign = copy(dir.path(), |t| t);
    let export = dir.path().join("export");
    std::fs::write(dir.path().join("outside.pdf"), "x").unwrap();
    std::fs::write(
        export.join("documents/broken.pdf"),
        "%PDF-1.4\nnot really\n",
    )
    .unwrap();
    let invoices = std::fs::read_to_string(export.join("invoices.csv"))
        .unwrap()
        .replace("documents/D-EN-1.pdf", "documents/D-EN-9.pdf")
        .replace("./documents/D-PL-2.pdf", "documents/../../outside.pdf")
        .replace("documents/FV-D-XML-1.xml", "documents/broken.pdf");
    std::fs::write(export.join("invoices.csv"), invoices).unwrap();
    let out = tempdir();
    let r = run_campaign(campaign.to_str().unwrap(), out.path(), &[]);
    assert_eq!(r.code, 3, "customers rejected: {}", r.stderr);
    let file = export.join("invoices.csv").display().to_string();
    for line in [
        format!("{file}:2: column document: `documents/D-EN-9.pdf` does not exist in "),
        format!(
            "{file}:4: column document: `documents/../../outside.pdf` leads out of the export folder with `..` (expected a path relative to the folder of the invoices file, such as `documents/INV-1.pdf`, inside that folder)"
        ),
        format!("{file}:5: column document: `documents/broken.pdf` is not a PDF dunwell can read"),
    ] {
        assert!(r.stderr.contains(&line), "{line}\n{}", r.stderr);
    }
    let rejected = read_csv(&out.path().join("rejected.csv"));
    let who: Vec<(&str, &str, &str)> = rejected
        .iter()
        .map(|r| {
            (
                r["customer_id"].as_str(),
                r["line"].as_str(),
                r["column"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("D-EN", "2", "document"),
            ("D-PL", "4", "document"),
            ("D-XML", "5", "document")
        ]
    );
    // Nothing goes to them; the counts still reconcile.
    let m = manifest(out.path());
    assert!(m.iter().all(|e| e["customer_id"] == "D-NONE"), "{m:?}");
    let s = read_json(&out.path().join("summary.json"));
    assert_eq!(s["rejected_customers"], 3);
    assert_eq!(s["customers_in"], 4);
    assert_eq!(s["balanced"], true);
}

#[test]
fn an_absolute_path_or_a_control_character_is_refused_in_ndjson_too() {
    let dir = tempdir();
    let export = dir.path().join("export");
    copy(dir.path(), |t| t);
    let line = |id: &str, doc: &str| {
        serde_json::json!({
            "customer_id": id, "name": "Ann", "email": "a@example.com",
            "invoices": [{"invoice_id": format!("{id}-1"), "issue_date": "2026-09-01",
                "due_date": "2026-10-01", "amount": "10.00", "currency": "EUR", "document": doc}]
        })
        .to_string()
    };
    let ndjson = [
        line("N-OK", "documents/D-EN-1.pdf"),
        line("N-ABS", "/etc/passwd"),
        line("N-ESC", "documents/D-EN-1\u{1b}[2J.pdf"),
    ]
    .join("\n");
    std::fs::write(export.join("debtors.ndjson"), ndjson).unwrap();
    let text = std::fs::read_to_string(export.join("campaign.yaml"))
        .unwrap()
        .replace(
            "  customers: customers.csv\n  invoices: invoices.csv",
            "  ndjson: debtors.ndjson",
        );
    std::fs::write(export.join("campaign.yaml"), text).unwrap();
    let (r, out) = segment(export.join("campaign.yaml").to_str().unwrap(), &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let file = export.join("debtors.ndjson").display().to_string();
    assert!(
        r.stderr.contains(&format!(
            "{file}:2: column document: `/etc/passwd` is an absolute path (expected"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{file}:3: column document: `documents/D-EN-1\\u{{1b}}[2J.pdf` contains U+001B, a control character"
        )),
        "{}",
        r.stderr
    );
    let rejected: Vec<String> = read_csv(&out.path().join("rejected.csv"))
        .iter()
        .map(|r| r["customer_id"].clone())
        .collect();
    assert_eq!(rejected, ["N-ABS", "N-ESC"]);
}

#[test]
fn a_mapped_export_names_its_document_column_and_gives_the_same_outbox() {
    let dir = tempdir();
    let campaign = copy(dir.path(), |t| {
        t.replace(
            "  invoices: invoices.csv",
            "  invoices: {file: export.csv, columns: {document: \"Original PDF\"}}",
        )
    });
    let export = dir.path().join("export");
    let plain = std::fs::read_to_string(export.join("invoices.csv")).unwrap();
    std::fs::write(
        export.join("export.csv"),
        plain.replacen(",document\n", ",Original PDF\n", 1),
    )
    .unwrap();
    let mapped = outbox_of(campaign.to_str().unwrap(), &[]);
    let fixture = outbox_of(CAMPAIGN, &[]);
    let (a, b) = (tree(fixture.path()), tree(mapped.path()));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        // rejected.csv and the summary name no file when nothing is rejected.
        assert!(b[path] == *bytes, "{path} differs from the plain CSV run's");
    }
}

#[test]
fn an_email_over_the_size_limit_is_excluded_with_its_reason_and_never_cut() {
    let dir = tempdir();
    let campaign = copy(dir.path(), |t| {
        t.replace("locales:", "limits: {email_bytes: 150000}\nlocales:")
    });
    // D-XML's e-invoice grows to 200 kB: with base64, its e-mail is well over 150 kB.
    let xml = dir.path().join("export/documents/FV-D-XML-1.xml");
    let mut body = std::fs::read_to_string(&xml).unwrap();
    body.push_str(&format!("<!-- {} -->\n", "x".repeat(200_000)));
    std::fs::write(&xml, body).unwrap();
    let out = tempdir();
    let r = run_campaign(campaign.to_str().unwrap(), out.path(), &[]);
    assert_eq!(r.code, 0, "an exclusion is not a failure: {}", r.stderr);
    assert!(
        r.stderr.contains("D-XML-email: the e-mail is ")
            && r.stderr
                .contains("more than limits.email_bytes (150000): not written"),
        "{}",
        r.stderr
    );
    let m = manifest(out.path());
    assert!(
        !m.iter()
            .any(|e| e["customer_id"] == "D-XML" && e["channel"] == "email")
    );
    // Its letter still goes; the others' e-mails are written whole.
    entry(&m, "D-XML", "letter");
    for e in m.iter().filter(|e| e["channel"] == "email") {
        assert!(e["length"].as_u64().unwrap() <= 150_000, "{e}");
    }
    let mbox: Vec<u8> = m
        .iter()
        .filter(|e| e["channel"] == "email")
        .flat_map(|e| raw_email(out.path(), e))
        .collect();
    assert!(
        !String::from_utf8_lossy(&mbox).contains("h@example.com"),
        "no part of the large e-mail is written"
    );
    let exclusions = read_csv(&out.path().join("exclusions.csv"));
    let rows: Vec<(&str, &str, &str)> = exclusions
        .iter()
        .map(|r| {
            (
                r["customer_id"].as_str(),
                r["channel"].as_str(),
                r["reason"].as_str(),
            )
        })
        .collect();
    assert_eq!(rows, [("D-XML", "email", "too_large:email")]);
    let s = read_json(&out.path().join("summary.json"));
    assert_eq!(s["exclusions_by_reason"]["too_large:email"], 1);
    assert_eq!(s["balanced"], true);
    assert_eq!(s["planned_customers"], 4);
}

#[test]
fn an_email_limit_out_of_range_is_a_campaign_error() {
    let dir = tempdir();
    let campaign = copy(dir.path(), |t| {
        t.replace("locales:", "limits: {email_bytes: 500}\nlocales:")
    });
    let r = dunwell(["check", campaign.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("limits.email_bytes: 500 (expected 10000 to 150000000)"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_cutoff_binds_print_pdf_again_with_the_enclosures_of_the_letters_it_keeps() {
    let out = tempdir();
    let r = run_campaign(CAMPAIGN, out.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let files = tempdir();
    let paid = files.path().join("payments.csv");
    std::fs::write(
        &paid,
        "payment_id,customer_id,invoice_id,date,amount,method,status\nW1,D-EN,,2026-11-24,1,card,ok\n",
    )
    .unwrap();
    let r = dunwell([
        "outbox",
        "cutoff",
        out.path().to_str().unwrap(),
        "--payments",
        paid.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let rows = read_csv(&out.path().join("letters/print.csv"));
    let kept: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["customer_id"].as_str(),
                r["first_page"].as_str(),
                r["pages"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            ("D-PL", "1", "5"),
            ("D-XML", "7", "1"),
            ("D-NONE", "9", "1")
        ]
    );
    let print = out.path().join("letters/print.pdf");
    let check = tool("qpdf", &["--check", print.to_str().unwrap()]);
    assert!(
        check.contains("No syntax or stream encoding errors"),
        "{check}"
    );
    assert!(page_text(&print, 3).contains("FAKTURA D-PL-1 PAGE ONE"));
    assert!(page_text(&print, 5).contains("INVOICE D-PL-2 IN EURO"));
    assert!(!tool("pdftotext", &[print.to_str().unwrap(), "-"]).contains("D-EN-1"));
}
