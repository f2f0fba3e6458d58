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
    // The export lists them out of order (M-000, M-007, M-014, …); the table lists
    // the oldest due first, which is M-000 (due 2026-08-01) to M-059 (2026-09-29).
    let expected: Vec<String> = (0..60).map(|k| format!("M-{k:03}")).collect();
    assert_eq!(ids, expected, "every invoice once, oldest due first");
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
                .split("<strong class=\"money\">")
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

/// Each language's payment slip heading (`templates/letter/labels.yaml`).
fn slip_heading(locale: &str) -> &'static str {
    match locale.split('-').next().unwrap() {
        "it" => "Dati per il pagamento",
        "pl" => "Dane do przelewu",
        "ro" => "Date pentru plată",
        "lv" => "Maksājuma rekvizīti",
        "ja" => "お振込のご案内",
        "zh" => "付款信息",
        _ => "Payment slip",
    }
}

/// The letters of an outbox with their manifest entries.
fn letters_of(out: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    manifest(out)
        .into_iter()
        .filter(|e| e["channel"] == "letter")
        .map(|e| (out.join(e["path"].as_str().unwrap()), e))
        .collect()
}

/// The slip is on the letter's last page, and the letter's own last lines are on that
/// page with it: above the slip's heading at least the closing and the signature, not
/// only the running head.
fn assert_slip_not_alone(pdf: &Path, locale: &str) {
    let n = pages(pdf);
    let heading = slip_heading(locale);
    let on: Vec<usize> = (1..=n)
        .filter(|&k| text(pdf, Some(k)).contains(heading))
        .collect();
    assert_eq!(on, [n], "{}: the slip on the last page", pdf.display());
    let page = tool(
        "pdftotext",
        &[
            "-layout",
            "-f",
            &n.to_string(),
            "-l",
            &n.to_string(),
            pdf.to_str().unwrap(),
            "-",
        ],
    );
    let lines: Vec<&str> = page.lines().filter(|l| !l.trim().is_empty()).collect();
    let at = lines.iter().position(|l| l.contains(heading)).unwrap();
    // From page 2 on, the first line is the running head (name · number · date).
    let above = if n > 1 { at.saturating_sub(1) } else { at };
    assert!(
        above >= 2,
        "{}: the slip stands alone on page {n}:\n{page}",
        pdf.display()
    );
}

#[test]
fn the_payment_slip_never_stands_alone_on_a_page() {
    // The fixture's Japanese and Polish letters, and the 60-invoice one, used to put
    // the slip on a page of its own (2 / 2, 3 / 3) below the running head.
    let out = outbox_of("tests/fixtures/letters/campaign.yaml", &[]);
    for (pdf, e) in letters_of(out.path()) {
        assert_slip_not_alone(&pdf, e["locale"].as_str().unwrap());
    }
    // The Japanese and Polish slips now fit on page 1, compact; the letter is one page.
    for id in ["L-JA", "L-PL", "L-EN", "L-ZH"] {
        assert_eq!(pages(&letter(out.path(), id)), 1, "{id}");
    }
    // Every letter of the sample campaign (59 of its 86 had their slip alone on page 2).
    let out = sample_outbox("letter", &[]);
    let letters = letters_of(out.path());
    assert!(letters.len() > 50, "{}", letters.len());
    let mut two = 0;
    for (pdf, e) in &letters {
        assert_slip_not_alone(pdf, e["locale"].as_str().unwrap());
        two += usize::from(pages(pdf) == 2);
    }
    assert!(
        two < letters.len() / 2,
        "{two} of {} letters have 2 pages",
        letters.len()
    );
}

/// Whether `phrase` is split over two consecutive lines of `lines` (trimmed): a line
/// ends with its start and the next begins with the rest — at a space, or between any
/// two characters in Japanese and Chinese, which break without spaces.
fn split_in(lines: &[&str], phrase: &str) -> Option<String> {
    let chars: Vec<(usize, char)> = phrase.char_indices().collect();
    for pair in lines.windows(2) {
        let (a, b) = (pair[0].trim_end(), pair[1].trim_start());
        for &(i, c) in &chars[1..] {
            let (head, tail) = (&phrase[..i], &phrase[i..]);
            let (head, tail) = if c == ' ' {
                (head, &tail[1..])
            } else if head.ends_with(' ')
                || c > '\u{2E80}'
                || head.chars().last().unwrap() > '\u{2E80}'
            {
                (head.trim_end(), tail)
            } else {
                continue;
            };
            if !head.is_empty() && !tail.is_empty() && a.ends_with(head) && b.starts_with(tail) {
                return Some(format!("{a}\n{b}"));
            }
        }
    }
    None
}

#[test]
fn no_date_amount_or_phone_number_is_broken_across_lines() {
    use dunwell::format::{DateLength, Formats};
    let out = sample_outbox("letter", &[]);
    let letters = letters_of(out.path());
    let locales: Vec<String> = letters
        .iter()
        .map(|(_, e)| e["locale"].as_str().unwrap().to_string())
        .collect();
    let formats = Formats::new(locales.iter().map(String::as_str));
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    // The campaign date, the pay-by date (14 days on) and the plan's instalments.
    let dates = ["2026-11-20", "2026-12-04", "2027-01-04", "2027-02-04"].map(day);
    let mut checked = 0;
    for (pdf, e) in &letters {
        let locale = e["locale"].as_str().unwrap();
        let currency = dunwell::money::Currency::parse(e["currency"].as_str().unwrap()).unwrap();
        let amount = |s: &str| formats.money(s.parse().unwrap(), currency, locale);
        let mut phrases = vec!["+31 20 555 0100".to_string()];
        phrases.extend(
            dates
                .iter()
                .map(|d| formats.date(*d, DateLength::Long, locale)),
        );
        phrases.push(amount(e["amount"].as_str().unwrap()));
        for inv in e["invoices"].as_array().unwrap() {
            phrases.push(amount(inv[1].as_str().unwrap()));
        }
        let t = tool("pdftotext", &["-layout", pdf.to_str().unwrap(), "-"])
            .replace(['\u{a0}', '\u{202f}'], " ");
        let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
        for p in &phrases {
            let p = p.replace(['\u{a0}', '\u{202f}'], " ");
            if let Some(at) = split_in(&lines, &p) {
                panic!("{}: {p:?} is broken across lines:\n{at}", pdf.display());
            }
            checked += usize::from(t.contains(&p));
        }
    }
    // The phrases are there to be split: each letter prints its dates and amounts.
    assert!(checked > letters.len() * 3, "{checked} phrases found");
    // The check finds what it looks for.
    assert!(split_in(&["pay by December 4,", "2026 at"], "December 4, 2026").is_some());
    assert!(split_in(&["までに2026年12", "月4日"], "2026年12月4日").is_some());
    assert!(split_in(&["by December 4, 2026", "at"], "December 4, 2026").is_none());
}

#[test]
fn the_return_address_is_one_line_or_the_campaign_stops() {
    let out = outbox_of("tests/fixtures/letters/campaign.yaml", &[]);
    for id in ["L-EN", "L-JA", "L-ZH", "L-MANY"] {
        let window = window_text(&letter(out.path(), id));
        let first = window.lines().find(|l| !l.trim().is_empty()).unwrap();
        // The full name and address need 84 mm at 6 pt, the window 75: the short name
        // stands in for the name, on one line.
        assert_eq!(
            first.trim(),
            "Nordlicht · Keizersgracht 123 · 1015 CJ Amsterdam · Netherlands",
            "{id}:\n{window}"
        );
    }
    // Without a short name it cannot be one line: the campaign stops before any letter
    // is made, saying what to change.
    let dir = tempdir();
    let src = root().join("tests/fixtures/letters");
    for f in ["campaign.yaml", "customers.csv", "invoices.csv"] {
        let text = std::fs::read_to_string(src.join(f))
            .unwrap()
            .replace("../../../", &format!("{}/", root().display()));
        let text: String = text
            .lines()
            .filter(|l| !l.contains("short_name:"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.path().join(f), text).unwrap();
    }
    let campaign = dir.path().join("campaign.yaml");
    let out = tempdir();
    let r = run_campaign(campaign.to_str().unwrap(), out.path(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("does not fit on one line of the envelope window")
            && r.stderr.contains("creditor.short_name"),
        "{}",
        r.stderr
    );
    assert!(!out.path().join("letters").exists());
    let r = dunwell(["check", campaign.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("does not fit on one line"),
        "{}",
        r.stdout
    );
}

#[test]
fn ibans_are_printed_in_groups_of_four() {
    let out = outbox_of("tests/fixtures/letters/campaign.yaml", &[]);
    let t = text(&letter(out.path(), "L-EN"), None);
    // The footer's bank line and the slip.
    assert!(t.contains("IBAN NL91 ABNA 0417 1643 00 ·"), "{t}");
    assert!(!t.contains("NL91ABNA"), "{t}");
    let t = text(&letter(out.path(), "L-PL"), None);
    assert!(t.contains("PL61 1090 1014 0000 0712 1981 2874"), "{t}");
}

/// Words of a page with their boxes, from `pdftotext -bbox`: (text, xMin, yMin, xMax).
fn words(pdf: &Path, page: usize) -> Vec<(String, f32, f32, f32)> {
    let html = tool(
        "pdftotext",
        &[
            "-bbox",
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
            pdf.to_str().unwrap(),
            "-",
        ],
    );
    let attr = |tag: &str, name: &str| -> f32 {
        let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    html.split("<word ")
        .skip(1)
        .map(|w| {
            let (tag, rest) = w.split_once('>').unwrap();
            let text = rest.split("</word>").next().unwrap().to_string();
            (
                text,
                attr(tag, "xMin"),
                attr(tag, "yMin"),
                attr(tag, "xMax"),
            )
        })
        .collect()
}

#[test]
fn japanese_letters_close_with_keigu_at_the_right_and_chinese_with_cizhi_jingli() {
    let pt = |mm: f32| mm * 72.0 / 25.4;
    let (left, right) = (pt(25.0), pt(190.0));
    let out = sample_outbox("letter", &["--segment", "unable"]);
    let fixture = outbox_of("tests/fixtures/letters/campaign.yaml", &[]);
    let mut letters = letters_of(out.path());
    letters.extend(letters_of(fixture.path()));
    let (mut ja, mut zh) = (0, 0);
    for (pdf, e) in &letters {
        let n = pages(pdf);
        let find = |word: &str| {
            (1..=n).find_map(|k| {
                words(pdf, k)
                    .into_iter()
                    .find(|w| w.0 == word)
                    .map(|w| (k, w))
            })
        };
        let t = text(pdf, None);
        match e["locale"].as_str().unwrap() {
            "ja" => {
                // 拝啓 opens the letter, 敬具 closes it flush right on its own line.
                let (open, close) = (t.find("拝啓").unwrap(), t.find("敬具").unwrap());
                assert!(open < close, "{}", pdf.display());
                let (_, w) = find("敬具").unwrap();
                assert!(
                    (w.3 - right).abs() < 1.0,
                    "{}: 敬具 ends at {} pt, the margin is at {right}",
                    pdf.display(),
                    w.3
                );
                ja += 1;
            }
            "zh" => {
                // 此致 two characters in, 敬礼 on the next line flush left, the name at
                // the right.
                let (k, cizhi) = find("此致").unwrap();
                let (k2, jingli) = find("敬礼").unwrap();
                assert_eq!(k, k2);
                assert!(
                    (cizhi.1 - (left + 20.0)).abs() < 1.0,
                    "{}: 此致 at {}",
                    pdf.display(),
                    cizhi.1
                );
                assert!(
                    (jingli.1 - left).abs() < 1.0,
                    "{}: 敬礼 at {}",
                    pdf.display(),
                    jingli.1
                );
                assert!(jingli.2 > cizhi.2, "敬礼 below 此致");
                // The signature: the next line below 敬礼.
                let below = words(pdf, k)
                    .into_iter()
                    .filter(|w| w.2 > jingli.2 + 1.0)
                    .min_by(|a, b| a.2.total_cmp(&b.2).then(b.3.total_cmp(&a.3)))
                    .unwrap();
                assert_eq!(below.0, "B.V.", "{}", pdf.display());
                assert!(
                    (below.3 - right).abs() < 1.0,
                    "{}: the signature ends at {}",
                    pdf.display(),
                    below.3
                );
                zh += 1;
            }
            _ => {}
        }
    }
    assert!(ja >= 2 && zh >= 2, "{ja} Japanese, {zh} Chinese letters");
}
