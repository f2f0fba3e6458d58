//! The same customers in other shapes of export give the same segmentation.

use crate::util::*;

fn segments_of(campaign: &str) -> String {
    let (run, out) = segment(campaign, &[]);
    assert_eq!(run.code, 0, "{campaign}: {}", run.stderr);
    std::fs::read_to_string(out.path().join("segments.csv")).unwrap()
}

#[test]
fn semicolons_crlf_bom_upper_case_headers_and_comma_decimals() {
    let eu = root().join("tests/fixtures/eu_export/invoices.csv");
    let bytes = std::fs::read(&eu).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBFINVOICE_ID;"),
        "the fixture is what it claims"
    );
    assert!(bytes.windows(2).any(|w| w == b"\r\n") && bytes.windows(6).any(|w| w == b"100,00"));
    assert_eq!(
        segments_of(&fixture("eu_export/campaign.yaml")),
        segments_of(&fixture("clusters/campaign.yaml"))
    );
}

#[test]
fn ndjson_with_nested_records() {
    assert_eq!(
        segments_of(&fixture("ndjson/campaign.yaml")),
        segments_of(&fixture("clusters/campaign.yaml"))
    );
}

#[test]
fn quoted_fields_with_commas_and_newlines() {
    let dir = tempdir();
    let d = dir.path();
    let clusters = root().join("tests/fixtures/clusters");
    for f in ["invoices.csv", "payments.csv", "events.csv"] {
        std::fs::copy(clusters.join(f), d.join(f)).unwrap();
    }
    let customers = std::fs::read_to_string(clusters.join("customers.csv"))
        .unwrap()
        .replace("Giulia Rossi,", "\"Rossi, Giulia\nc/o Studio Bianchi\",");
    std::fs::write(d.join("customers.csv"), customers).unwrap();
    let (run, out) = segment(
        &fixture("clusters/campaign.yaml"),
        &["--data", d.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(read_csv(&out.path().join("segments.csv")).len(), 5);
}

#[test]
fn crlf_exports_report_the_same_lines() {
    let dir = tempdir();
    let bad = root().join("tests/fixtures/bad");
    for f in [
        "customers.csv",
        "invoices.csv",
        "payments.csv",
        "events.csv",
    ] {
        let bytes = std::fs::read(bad.join(f)).unwrap();
        let mut crlf = Vec::new();
        for &b in &bytes {
            if b == b'\n' {
                crlf.push(b'\r');
            }
            crlf.push(b);
        }
        std::fs::write(dir.path().join(f), crlf).unwrap();
    }
    let lines = |run: &[&str]| -> Vec<(String, String, String)> {
        let (r, out) = segment(&fixture("bad/campaign.yaml"), run);
        assert_eq!(r.code, 3, "{}", r.stderr);
        read_csv(&out.path().join("rejected.csv"))
            .into_iter()
            .map(|r| {
                (
                    r["customer_id"].clone(),
                    r["line"].clone(),
                    r["column"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(lines(&["--data", dir.path().to_str().unwrap()]), lines(&[]));
}

#[test]
fn ndjson_bad_lines_are_rejected_with_their_line() {
    let dir = tempdir();
    let good =
        std::fs::read_to_string(root().join("tests/fixtures/ndjson/debtors.ndjson")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(2, "{\"customer_id\": \"X1\", \"name\": ");
    lines.push(r#"{"customer_id": "X2", "name": "Bad Date", "invoices": [{"invoice_id": "X2-1", "issue_date": "2026-13-01", "due_date": "2026-11-01", "amount": 5, "currency": "EUR"}]}"#);
    std::fs::write(dir.path().join("debtors.ndjson"), lines.join("\n") + "\n").unwrap();
    let (run, out) = segment(
        &fixture("clusters/campaign.yaml"),
        &["--data", dir.path().to_str().unwrap()],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let rejected = read_csv(&out.path().join("rejected.csv"));
    assert_eq!(rejected.len(), 2, "{rejected:#?}");
    assert_eq!(
        (
            rejected[0]["line"].as_str(),
            rejected[0]["customer_id"].as_str()
        ),
        ("3", "")
    );
    assert!(rejected[0]["reason"].contains("is not a JSON object"));
    assert_eq!(
        (
            rejected[1]["line"].as_str(),
            rejected[1]["column"].as_str(),
            rejected[1]["customer_id"].as_str()
        ),
        ("7", "issue_date", "X2")
    );
    assert!(rejected[1]["reason"].contains("has no month 13"));
    let s = read_json(&out.path().join("summary.json"));
    assert_eq!(
        (
            s["reconciliation"]["customers_in"].as_u64(),
            s["reconciliation"]["segmented"].as_u64()
        ),
        (Some(7), Some(5))
    );
    assert_eq!(s["reconciliation"]["balanced"], true);
}
