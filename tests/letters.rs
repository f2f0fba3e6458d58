//! Letters and payment pages, read back with real readers: poppler's `pdftotext`,
//! `pdffonts`, `pdfinfo` and `pdftoppm`, `qpdf --check`, and `zbarimg` for the QR code.
//! `scripts/test` installs them; a missing tool fails the test, it never skips it.

use crate::util::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The text of a PDF (or of one page), spaces normalised: ICU groups digits with
/// no-break spaces.
fn text(pdf: &Path, page: Option<usize>) -> String {
    let p = pdf.to_str().unwrap();
    let t = match page {
        Some(n) => tool(
            "pdftotext",
            &["-f", &n.to_string(), "-l", &n.to_string(), p, "-"],
        ),
        None => tool("pdftotext", &[p, "-"]),
    };
    t.replace(['\u{a0}', '\u{202f}'], " ")
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

/// The text in the envelope window of page 1 (the default DIN 5008 window).
fn window_text(pdf: &Path) -> String {
    let pt = |mm: f32| ((mm * 72.0 / 25.4).round() as i32).to_string();
    tool(
        "pdftotext",
        &[
            "-f",
            "1",
            "-l",
            "1",
            "-r",
            "72",
            "-x",
            &pt(20.0),
            "-y",
            &pt(45.0),
            "-W",
            &pt(85.0),
            "-H",
            &pt(45.0),
            "-layout",
            pdf.to_str().unwrap(),
            "-",
        ],
    )
    .replace(['\u{a0}', '\u{202f}'], " ")
}

fn letter(out: &Path, customer: &str) -> PathBuf {
    out.join(format!("letters/{customer}-letter.pdf"))
}

#[test]
fn each_letter_reads_back_with_name_address_and_total_in_its_language() {
    let out = outbox_of("tests/fixtures/letters/campaign.yaml", &[]);
    let cases: [(&str, &str, &[&str], &str, &str); 8] = [
        (
            "L-EN",
            "Margaret O'Brien",
            &["14 Harbour Street", "Dublin", "DUB 2", "IRELAND"],
            "€123.45",
            "Payment slip",
        ),
        (
            "L-IT",
            "Niccolò Ricciardi",
            &["Via dei Mille 7", "20121 MILANO", "ITALY"],
            "1.234,56 €",
            "Dati per il pagamento",
        ),
        (
            "L-PL",
            "Katarzyna Żółkiewska-Wąs",
            &["ul. Kościuszki 83", "m. 4", "50-248 Wrocław", "POLAND"],
            "1 447,32 zł",
            "Dane do przelewu",
        ),
        (
            "L-RO",
            "Ștefan Țurcanu",
            &["STR. FÂNTÂNII 12", "400000 CLUJ-NAPOCA", "ROMANIA"],
            "2.500,75 lei",
            "Date pentru plată",
        ),
        (
            "L-LV",
            "Jānis Bērziņš",
            &["Brīvības iela 21", "Rīga, LV-1010", "LATVIA"],
            "89,90 €",
            "Maksājuma rekvizīti",
        ),
        (
            "L-JA",
            "小林 結衣",
            &[
                "〒812-0011",
                "福岡市博多区",
                "博多駅前2-1-1",
                "小林 結衣 様",
                "JAPAN",
            ],
            "¥59,064",
            "お振込のご案内",
        ),
        (
            "L-ZH",
            "王秀英",
            &["100022", "北京市", "朝阳区建国路88号", "王秀英", "CHINA"],
            "¥8,800.00",
            "付款信息",
        ),
        // Markdown in data is printed, not interpreted.
        (
            "L-MANY",
            "Acme *Wholesale* [Ltd] #1",
            &["1 Industrial Park", "LONDON", "EC1A 1BB", "UNITED KINGDOM"],
            "€2,370.60",
            "Payment slip",
        ),
    ];
    for (id, name, address, total, slip) in cases {
        let t = text(&letter(out.path(), id), None);
        assert!(t.contains(name), "{id}: no name {name:?} in\n{t}");
        // The address is in the envelope window (DIN 5008: 20 mm from the left, 45 mm
        // from the top, 85 × 45 mm), line by line in the destination's order, the
        // country last: the campaign names no creditor country, so all is mail abroad.
        let window = window_text(&letter(out.path(), id));
        let lines: Vec<&str> = window
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let at = lines
            .iter()
            .position(|l| *l == address[0])
            .unwrap_or_else(|| panic!("{id}: no {:?} in the window:\n{window}", address[0]));
        assert_eq!(&lines[at..], address, "{id}: {window}");
        assert!(t.contains(total), "{id}: no total {total:?} in\n{t}");
        assert!(t.contains(slip), "{id}: no slip heading {slip:?}");
        assert!(!t.contains('\u{FFFD}'), "{id}: a replacement character");
    }
}

#[test]
fn fonts_are_embedded_and_subset_and_qpdf_finds_no_error() {
    let out = outbox_of("tests/fixtures/letters/campaign.yaml", &[]);
    let mut seen_faces = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.path().join("letters"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 9, "8 letters and print.pdf");
    for f in &files {
        let listing = tool("pdffonts", &[f.to_str().unwrap()]);
        let rows: Vec<&str> = listing.lines().skip(2).collect();
        assert!(!rows.is_empty(), "{}: no fonts", f.display());
        for row in rows {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // name type… encoding emb sub uni object-id generation
            let n = cols.len();
            assert_eq!(
                &cols[n - 5..n - 2],
                &["yes", "yes", "yes"],
                "{}: {row}",
                f.display()
            );
            let name = cols[0];
            let (tag, face) = name.split_once('+').unwrap_or(("", name));
            assert!(
                tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()),
                "subset tag: {row}"
            );
            seen_faces
                .entry(f.file_name().unwrap().to_string_lossy().into_owned())
                .or_insert_with(Vec::new)
                .push(face.to_string());
        }
        let check = Command::new("qpdf")
            .args(["--check", f.to_str().unwrap()])
            .output()
            .expect("qpdf (scripts/test installs it)");
        assert!(
            check.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&check.stdout)
        );
    }
    assert!(
        seen_faces["L-JA-letter.pdf"]
            .iter()
            .any(|f| f.contains("CJKjp"))
    );
    assert!(
        seen_faces["L-ZH-letter.pdf"]
            .iter()
            .any(|f| f.contains("CJKsc"))
    );
    assert!(
        seen_faces["L-PL-letter.pdf"]
            .iter()
            .all(|f| f.starts_with("NotoSans-"))
    );
    // A letter with CJK stays small: the 1.5 MB face is cut to the glyphs used.
    for id in ["L-JA", "L-ZH", "L-EN"] {
        let size = std::fs::metadata(letter(out.path(), id)).unwrap().len();
        assert!(size < 60_000, "{id}: {size} bytes");
    }
}

/// ISO 7064 MOD 97-10 over an `RF…` reference, written here again on purpose.
fn rf_valid(r: &str) -> bool {
    let moved = format!("{}{}", &r[4..], &r[..4]);
    let digits: String = moved
        .chars()
        .map(|c| c.to_digit(36).unwrap().to_string())
        .collect();
    digits
        .bytes()
        .fold(0u32, |acc, d| (acc * 10 + u32::from(d - b'0')) % 97)
        == 1
}

fn qr_of_last_page(pdf: &Path, dir: &Path) -> String {
    let n = pages(pdf);
    let prefix = dir.join("page");
    tool(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-png",
            "-f",
            &n.to_string(),
            "-l",
            &n.to_string(),
            "-singlefile",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    tool(
        "zbarimg",
        &["--quiet", "--raw", dir.join("page.png").to_str().unwrap()],
    )
    // zbarimg ends its output with one line feed; anything before it is the payload's.
    .strip_suffix('\n')
    .expect("zbarimg ends with a line feed")
    .to_string()
}

#[test]
fn the_qr_code_decodes_to_an_epc_transfer_for_euro_and_the_link_otherwise() {
    let out = outbox_of("tests/fixtures/letters/campaign.yaml", &[]);
    let scratch = tempdir();
    let payload = qr_of_last_page(&letter(out.path(), "L-EN"), scratch.path());
    let lines: Vec<&str> = payload.split('\n').collect();
    assert_eq!(
        &lines[..9],
        &[
            "BCD",
            "002",
            "1",
            "SCT",
            "ABNANL2A",
            "Nordlicht Utilities Europe B.V.",
            "NL91ABNA0417164300",
            "EUR123.45",
            ""
        ],
        "{payload}"
    );
    assert!(
        lines[9].starts_with("RF") && lines[9].ends_with("LEN"),
        "{payload}"
    );
    assert!(rf_valid(lines[9]), "{}", lines[9]);
    // EPC069-12: nothing after the last populated element (the reference).
    assert_eq!(lines.len(), 10, "{payload:?}");
    // The same reference is printed on the slip for people who type it.
    assert!(text(&letter(out.path(), "L-EN"), None).contains(lines[9]));

    // Yen: no SEPA transfer; the QR opens the customer's payment link.
    let m = manifest(out.path());
    let link = m
        .iter()
        .find(|e| e["customer_id"] == "L-JA" && e["channel"] == "letter")
        .unwrap()["link"]
        .as_str()
        .unwrap()
        .to_string();
    let scratch = tempdir();
    assert_eq!(
        qr_of_last_page(&letter(out.path(), "L-JA"), scratch.path()),
        link
    );
}

#[test]
fn sixty_invoices_make_a_multi_page_letter_with_the_header_repeated_and_the_right_total() {
    let out = outbox_of("tests/fixtures/letters/campaign.yaml", &[]);
    let pdf = letter(out.path(), "L-MANY");
    let n = pages(&pdf);
    assert!(n >= 2, "{n} pages");
    let mut ids = Vec::new();
    for k in 1..=n {
        let t = text(&pdf, Some(k));
        assert!(
            t.replace(' ', "").contains(&format!("{k}/{n}")),
            "page {k}: no page number"
        );
        let rows: Vec<String> = t
            .split_whitespace()
            .filter(|w| w.starts_with("M-0"))
            .map(str::to_string)
            .collect();
        if !rows.is_empty() {
            assert!(
                t.contains("Invoice") && t.contains("Paid") && t.contains("Outstanding"),
                "page {k} has rows but no header"
            );
        }
        ids.extend(rows);
    }
    let expected: Vec<String> = (0..60).map(|k| format!("M-{k:03}")).collect();
    assert_eq!(ids, expected, "every invoice once, in order");
    // 60 × 10.01 + (0 + … + 59) = 2,370.60: the total row, the slip and the wording.
    let all = text(&pdf, None);
    assert!(all.matches("€2,370.60").count() >= 3, "{all}");
    assert!(all.contains("€69.01") && all.contains("€10.01"));
}

#[test]
fn print_pdf_binds_every_letter_in_plan_order_each_on_an_odd_page() {
    let out = outbox_of("tests/fixtures/letters/campaign.yaml", &[]);
    let rows = read_csv(&out.path().join("letters/print.csv"));
    assert_eq!(rows.len(), 8);
    let print = out.path().join("letters/print.pdf");
    let mut expected_first = 1;
    for r in &rows {
        let first: usize = r["first_page"].parse().unwrap();
        let count: usize = r["pages"].parse().unwrap();
        assert_eq!(first, expected_first, "{r:?}");
        assert_eq!(first % 2, 1, "starts on a right-hand page");
        let own = out.path().join(format!("letters/{}.pdf", r["letter_id"]));
        assert_eq!(count, pages(&own));
        // The page in the bound file is the letter's first page.
        let name_line = text(&own, Some(1));
        let bound = text(&print, Some(first));
        assert_eq!(bound, name_line, "{}", r["letter_id"]);
        expected_first += count + count % 2;
    }
    assert_eq!(pages(&print), expected_first - 1);
}

/// Digits only: `1 447,32 zł` → 144732. Every amount shows all its minor digits.
fn minor(s: &str) -> u64 {
    s.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn payment_pages_are_static_and_the_plan_sums_to_the_debt() {
    let out = outbox_of(SAMPLE, &[]);
    let m = manifest(out.path());
    let pages: Vec<&serde_json::Value> = m.iter().filter(|e| e["channel"] == "web").collect();
    assert!(pages.len() > 10);
    let mut plans = 0;
    for e in pages {
        let path = out.path().join(e["path"].as_str().unwrap());
        let html = std::fs::read_to_string(&path).unwrap();
        // Reachable from every message: the page's folder is the link's token.
        let token = e["link"]
            .as_str()
            .unwrap()
            .split(['/', '?'])
            .nth(4)
            .unwrap();
        assert!(e["path"].as_str().unwrap().contains(token));
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains(" src="));
        // The account of the page's currency (samples/campaign.yaml), as its payers
        // write it — never the euro account for another currency.
        let account = match e["currency"].as_str().unwrap() {
            "EUR" => "NL91 ABNA 0417 1643 00",
            "GBP" => "20-20-15",
            "PLN" => "PL61 1090 1014 0000 0712 1981 2874",
            "RON" => "RO54 RZBR 0000 0600 1234 5678",
            "JPY" => "1234567",
            "CNY" => "4563 5123 4567 8901 234",
            other => panic!("no account in the sample for {other}"),
        };
        assert!(
            html.contains("<svg") && html.contains(account),
            "{account}: {html}"
        );
        if e["currency"] != "EUR" {
            assert!(!html.contains("NL91 ABNA"), "{html}");
        }
        assert!(html.contains("name=\"viewport\""));
        let amount = html
            .split("<p class=\"amount\">")
            .nth(1)
            .and_then(|s| s.split("</p>").next())
            .unwrap();
        if let Some(list) = html.split("<ol class=\"instalments\">").nth(1) {
            let list = list.split("</ol>").next().unwrap();
            let parts: Vec<u64> = list
                .split("<strong>")
                .skip(1)
                .map(|s| minor(s.split("</strong>").next().unwrap()))
                .collect();
            assert_eq!(parts.len(), 3, "{list}");
            assert_eq!(
                parts.iter().sum::<u64>(),
                minor(amount),
                "{}",
                path.display()
            );
            assert_eq!(e["cluster"], "unable");
            plans += 1;
        } else {
            assert_ne!(e["cluster"], "unable");
        }
    }
    assert!(plans > 10, "{plans} pages offer a plan");
}

#[test]
fn the_sample_writes_letters_in_all_seven_languages() {
    let out = outbox_of(SAMPLE, &[]);
    let m = manifest(out.path());
    let mut by_locale: BTreeMap<String, usize> = BTreeMap::new();
    for e in m.iter().filter(|e| e["channel"] == "letter") {
        *by_locale
            .entry(e["locale"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert!(out.path().join(e["path"].as_str().unwrap()).exists());
    }
    assert_eq!(
        by_locale.keys().map(String::as_str).collect::<Vec<_>>(),
        ["en", "it", "ja", "lv", "pl", "ro", "zh"]
    );
    let summary = read_json(&out.path().join("summary.json"));
    assert_eq!(
        summary["by_channel"]["letter"].as_u64().unwrap() as usize,
        by_locale.values().sum::<usize>()
    );
}

#[test]
fn a_character_no_font_has_excludes_that_letter_and_the_campaign_goes_on() {
    let dir = tempdir();
    let src = root().join("tests/fixtures/letters");
    for f in ["campaign.yaml", "customers.csv", "invoices.csv"] {
        let text = std::fs::read_to_string(src.join(f))
            .unwrap()
            .replace("../../../", &format!("{}/", root().display()))
            .replace("Margaret O'Brien", "Margaret 🙂 O'Brien");
        std::fs::write(dir.path().join(f), text).unwrap();
    }
    let out = tempdir();
    let r = run_campaign(
        dir.path().join("campaign.yaml").to_str().unwrap(),
        out.path(),
        &[],
    );
    assert!(r.code == 0 || r.code == 3, "{}", r.stderr);
    assert!(r.stderr.contains("U+1F642"), "{}", r.stderr);
    let excluded = read_csv(&out.path().join("exclusions.csv"));
    assert!(excluded.iter().any(|e| e["customer_id"] == "L-EN"
        && e["channel"] == "letter"
        && e["reason"] == "render_failed:letter"));
    assert!(!letter(out.path(), "L-EN").exists());
    assert!(letter(out.path(), "L-JA").exists() && letter(out.path(), "L-MANY").exists());
}
