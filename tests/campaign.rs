//! Campaign values that cannot work (issue 12): each is a clear error at its file, line
//! and column, exit 1, before anything is rendered — never a panic, never a broken
//! letter, QR code or link. And the per-customer side: an address the envelope window
//! cannot hold, an e-mail address lettre cannot send to.

use crate::util::*;
use std::path::{Path, PathBuf};

/// The sample campaign with its paths made absolute, edited by `edit`, written into
/// `dir`; returns its path.
fn campaign(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let path = dir.join("campaign.yaml");
    std::fs::write(&path, edit(sample_text_with_absolute_paths())).unwrap();
    path
}

/// `old` → `new` in the sample, once (and it must be there).
fn set(old: &'static str, new: &'static str) -> impl Fn(String) -> String {
    move |t: String| {
        assert!(t.contains(old), "the sample has no {old:?}");
        t.replacen(old, new, 1)
    }
}

/// `FILE:LINE:COL` of the value after `key` (`"send_from: "`) on the first line that
/// has it: where the caret must point.
fn after(file: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let (n, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(key))
        .unwrap_or_else(|| panic!("{key:?} not in {}", file.display()));
    let col = line[..line.find(key).unwrap() + key.len()].chars().count() + 1;
    format!("{}:{}:{col}", file.display(), n + 1)
}

/// Runs `cmd` on the campaign (run, check or preview) into a fresh folder.
fn on(cmd: &str, file: &Path, dir: &Path) -> Run {
    let out = dir.join(format!("out-{cmd}"));
    let f = file.to_str().unwrap();
    let o = out.to_str().unwrap();
    let args: Vec<&str> = match cmd {
        "check" => vec!["check", f],
        other => vec![other, f, "--out", o],
    };
    let r = dunwell_env(&args, &[SECRET]);
    if cmd != "check" {
        assert!(
            !out.join("manifest.jsonl").exists() && !out.join("index.html").exists(),
            "{cmd} wrote output before refusing"
        );
    }
    r
}

/// Exit 1 with every `expected` text in stderr, at `place`, and no panic.
fn refused(r: &Run, what: &str, expected: &[&str]) {
    assert_eq!(r.code, 1, "{what}: exit {}\n{}", r.code, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
    for e in expected {
        assert!(r.stderr.contains(e), "{what}: no {e:?} in\n{}", r.stderr);
    }
}

#[test]
fn send_from_outside_1970_to_2099_is_an_error_in_run_check_and_preview_not_a_panic() {
    let dir = tempdir();
    for (value, bad) in [
        (
            "send_from: 9999-12-31T23:59:59Z",
            set(
                "send_from: 2026-11-23T07:00:00Z",
                "send_from: 9999-12-31T23:59:59Z",
            ),
        ),
        (
            "send_from: 0001-01-01T00:00:00Z",
            set(
                "send_from: 2026-11-23T07:00:00Z",
                "send_from: 0001-01-01T00:00:00Z",
            ),
        ),
        (
            "send_from: 1969-12-31T00:00:00Z",
            set(
                "send_from: 2026-11-23T07:00:00Z",
                "send_from: 1969-12-31T00:00:00Z",
            ),
        ),
        // Scheduled up to two weeks later: into 2100.
        (
            "send_from: 2099-12-31T00:00:00Z",
            set(
                "send_from: 2026-11-23T07:00:00Z",
                "send_from: 2099-12-31T00:00:00Z",
            ),
        ),
    ] {
        let file = campaign(dir.path(), bad);
        let at = after(&file, "send_from: ");
        for cmd in ["run", "check", "preview"] {
            refused(
                &on(cmd, &file, dir.path()),
                &format!("{cmd} {value}"),
                &[
                    "policy.send_from",
                    "expected a moment from 1970-01-01T00:00:00Z to 2099-12-16T23:59:59Z",
                    &at,
                ],
            );
        }
    }
    // The last moment allowed still runs its checks to the end.
    let file = campaign(
        dir.path(),
        set(
            "send_from: 2026-11-23T07:00:00Z",
            "send_from: 2099-12-16T23:59:59Z",
        ),
    );
    let r = on("check", &file, dir.path());
    assert!(!r.stderr.contains("send_from"), "{}", r.stderr);
}

#[test]
fn a_campaign_date_outside_1970_to_2099_is_an_error() {
    let dir = tempdir();
    let file = campaign(dir.path(), set("as_of: 2026-11-20", "as_of: 2150-01-01"));
    refused(
        &on("check", &file, dir.path()),
        "as_of",
        &[
            "as_of 2150-01-01 is out of range (expected a date from 1970-01-01 to 2099-12-31)",
            &after(&file, "as_of: "),
        ],
    );
    let r = dunwell(["check", "samples/campaign.yaml", "--as-of", "1969-12-31"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--as-of"), "{}", r.stderr);
}

#[test]
fn a_letter_window_that_cannot_hold_an_address_is_an_error() {
    let dir = tempdir();
    let window = "window: {left_mm: 20, top_mm: 45, width_mm: 85, height_mm: 45}";
    for (key, edited, expected) in [
        (
            "left_mm: .nan",
            "window: {left_mm: .nan, top_mm: 45, width_mm: 85, height_mm: 45}",
            "letters.window.left_mm: NaN is not a number of millimetres (expected a finite number",
        ),
        (
            "top_mm: 1000",
            "window: {left_mm: 20, top_mm: 1000, width_mm: 85, height_mm: 45}",
            "ends at 1045 mm, below the start of the body text (letters.body_top_mm 98.4)",
        ),
        (
            "left_mm: 500",
            "window: {left_mm: 500, top_mm: 45, width_mm: 85, height_mm: 45}",
            "(expected it within 0 to 125 mm from the left edge",
        ),
        (
            "width_mm: 0",
            "window: {left_mm: 20, top_mm: 45, width_mm: 0, height_mm: 45}",
            "letters.window.width_mm: 0 is too narrow for an address (expected at least 45 mm",
        ),
        (
            "height_mm: 1",
            "window: {left_mm: 20, top_mm: 45, width_mm: 85, height_mm: 1}",
            "letters.window.height_mm: 1 is too low for an address (expected at least 30 mm",
        ),
    ] {
        let file = campaign(dir.path(), move |t: String| t.replacen(window, edited, 1));
        let at = after(&file, &key[..=key.find(' ').unwrap()]);
        refused(&on("run", &file, dir.path()), key, &[expected, &at]);
    }
    let file = campaign(dir.path(), set("  fold_marks: true", "  body_top_mm: 290"));
    refused(
        &on("check", &file, dir.path()),
        "body_top_mm",
        &["letters.body_top_mm: 290", "expected at most 240 mm"],
    );
}

/// A one-customer export: a final notice (40 days overdue) to `name` at `address`.
fn export(dir: &Path, email: &str, address: [&str; 6]) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let csv = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    std::fs::write(
        data.join("customers.csv"),
        format!(
            "customer_id,name,email,address_line1,address_line2,postal_code,city,region,country,language,timezone\n\
             A1,Sanita Bērziņa,{},{},lv,Europe/Riga\n",
            csv(email),
            address.map(csv).join(",")
        ),
    )
    .unwrap();
    std::fs::write(
        data.join("invoices.csv"),
        "invoice_id,customer_id,issue_date,due_date,amount,currency\n\
         I-1,A1,2026-09-11,2026-10-11,240.11,EUR\n",
    )
    .unwrap();
    data
}

const SEVEN_LINES: [&str; 6] = [
    "Tērbatas iela 105",
    "Apt 18",
    "LV-30788",
    "Jelgava",
    "Zemgale",
    "LV",
];

/// How the window sets them: Latvia's format (street lines, region, `city, postcode`),
/// the country's name for mail from the Netherlands.
const IN_THE_WINDOW: [&str; 5] = [
    "Tērbatas iela 105",
    "Apt 18",
    "Zemgale",
    "Jelgava, LV-30788",
    "LATVIA",
];

fn letter_text(pdf: &Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-l", "1"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_address_line_is_in_the_window_or_the_letter_is_not_printed() {
    let dir = tempdir();
    let data = export(dir.path(), "sanita@example.lv", SEVEN_LINES);
    let run = |file: &Path, out: &Path| {
        run_campaign(
            file.to_str().unwrap(),
            out,
            &["--data", data.to_str().unwrap(), "--channel", "letter"],
        )
    };
    // Name and six address lines: the country used to fall below the window, unprinted.
    let file = campaign(dir.path(), |t| t);
    let out = dir.path().join("din");
    let r = run(&file, &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = letter_text(&out.join("letters/A1-letter.pdf"));
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let name = lines.iter().position(|l| *l == "Sanita Bērziņa").unwrap();
    assert_eq!(
        &lines[name + 1..name + 1 + IN_THE_WINDOW.len()],
        IN_THE_WINDOW,
        "every line, in order:\n{text}"
    );
    // A window that holds only three lines: the letter is refused for this customer
    // (render_failed:letter, exit 3), never posted with half an address.
    let file = campaign(
        dir.path(),
        set(
            "window: {left_mm: 20, top_mm: 45, width_mm: 85, height_mm: 45}",
            "window: {left_mm: 20, top_mm: 45, width_mm: 85, height_mm: 30}",
        ),
    );
    let out = dir.path().join("low");
    let r = run(&file, &out);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(!out.join("letters/A1-letter.pdf").exists());
    assert!(
        r.stderr.contains(
            "the recipient's address needs 6 lines even at 8 pt, and the envelope window holds 3"
        ),
        "{}",
        r.stderr
    );
    let ex = read_csv(&out.join("exclusions.csv"));
    assert!(
        ex.iter()
            .any(|e| e["customer_id"] == "A1" && e["reason"] == "render_failed:letter"),
        "{ex:?}"
    );
}

#[test]
fn a_creditor_iban_or_bic_that_fails_its_check_is_an_error() {
    let dir = tempdir();
    let file = campaign(
        dir.path(),
        set("iban: NL91ABNA0417164300", "iban: NL00ABNA0417164300"),
    );
    refused(
        &on("run", &file, dir.path()),
        "iban",
        &[
            "creditor.iban: `NL00ABNA0417164300` fails the IBAN check (ISO 13616, mod 97)",
            &after(&file, "iban: "),
        ],
    );
    let file = campaign(dir.path(), set("bic: ABNANL2A", "bic: ABNANL2"));
    refused(
        &on("check", &file, dir.path()),
        "bic",
        &[
            "creditor.bic: `ABNANL2` is not a BIC (expected ISO 9362: 8 or 11 capital letters and digits",
            &after(&file, "bic: "),
        ],
    );
}

#[test]
fn a_base_url_that_cannot_carry_a_payment_link_is_an_error() {
    let dir = tempdir();
    for (url, why) in [
        (
            "javascript:alert(1)",
            "is a `javascript:` address, not a web page",
        ),
        (
            "https://ops:hunter2@pay.example.com/p",
            "holds a user name or password",
        ),
        ("https://pay.example.com/p?ref=mail", "has a query (`?…`)"),
        ("https://pay.example.com/p#top", "has a fragment (`#…`)"),
        ("http://pay.example.com/p", "is plain http"),
    ] {
        let file = campaign(dir.path(), move |t: String| {
            t.replacen(
                "base_url: https://pay.nordlicht.example/p",
                &format!("base_url: \"{url}\""),
                1,
            )
        });
        let r = on("run", &file, dir.path());
        refused(
            &r,
            url,
            &[
                "links.base_url: ",
                why,
                "(expected https://HOST/PATH",
                &after(&file, "base_url: "),
            ],
        );
        assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    }
    // The same check for `link sign --base-url` (a usage error there).
    let r = dunwell_env(
        [
            "link",
            "sign",
            "--campaign",
            "c",
            "--customer",
            "C1",
            "--amount",
            "10",
            "--currency",
            "EUR",
            "--expires",
            "2026-12-31",
            "--base-url",
            "javascript:alert(1)",
        ],
        &[SECRET],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--base-url"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing signed: {}", r.stdout);
}

#[test]
fn plan_and_sms_numbers_out_of_range_are_errors_each_at_its_place() {
    let dir = tempdir();
    for (old, new, needle, expected) in [
        (
            "sms: {max: 1, days: 7}",
            "sms: {max: 1, days: -7}",
            "-7",
            "policy.frequency_caps.sms.days: -7 (expected 1 to 3650 days)",
        ),
        (
            "email: {max: 2, days: 7}",
            "email: {max: 0, days: 7}",
            "0, days",
            "policy.frequency_caps.email.max: 0 (expected 1 to 1000 reminders",
        ),
        (
            "max_segments: 3",
            "max_segments: 0",
            "0",
            "sms.max_segments: 0 (expected 1 to 10 segments",
        ),
        (
            "max_segments: 3",
            "max_segments: 11",
            "11",
            "sms.max_segments: 11 (expected 1 to 10 segments",
        ),
        (
            "{name: pre_legal, from: 60}",
            "{name: pre_legal, from: 99999}",
            "99999",
            "stage `pre_legal`: from 99999 is out of range (expected -365 to 36500 days past due)",
        ),
        (
            "reminder: [email]\n    second_reminder: [email, sms]",
            "reminder: [email, email]\n    second_reminder: [email, sms]",
            "email]",
            "matrix.forgetful.reminder: channel `email` is listed twice",
        ),
        (
            "from: \"09:00\", to: \"19:00\"",
            "from: \"19:00\", to: \"09:00\"",
            "\"09:00\"",
            "policy.contact_window: `from` 19:00 is not before `to` 09:00",
        ),
        (
            "supported: [en, it,",
            "supported: [en, italian,",
            "italian",
            "locales.supported: unknown language tag `italian`",
        ),
        (
            "PLN: 20",
            "PLNN: 20",
            "20,",
            "policy.min_amount: `PLNN` is not a currency code",
        ),
    ] {
        let file = campaign(dir.path(), move |t: String| {
            assert!(t.contains(old), "{old}");
            t.replacen(old, new, 1)
        });
        // The line the edit is on, and the needle's column on it.
        let text = std::fs::read_to_string(&file).unwrap();
        let start = text.find(new).unwrap();
        let line_no = text[..start].matches('\n').count() + 1;
        let line = text.lines().nth(line_no - 1).unwrap();
        let col = line[..line.find(needle).unwrap()].chars().count() + 1;
        let at = format!("{}:{line_no}:{col}", file.display());
        refused(&on("check", &file, dir.path()), new, &[expected, &at]);
    }
}

#[test]
fn every_problem_of_a_campaign_is_listed_at_once() {
    let dir = tempdir();
    let file = campaign(dir.path(), |t: String| {
        t.replacen("iban: NL91ABNA0417164300", "iban: NL00ABNA0417164300", 1)
            .replacen("max_segments: 3", "max_segments: 0", 1)
            .replacen("left_mm: 20", "left_mm: .nan", 1)
            .replacen("sms: {max: 1, days: 7}", "sms: {max: 1, days: -7}", 1)
            .replacen("base_url: https", "base_url: http", 1)
    });
    refused(
        &on("check", &file, dir.path()),
        "all",
        &[
            "creditor.iban",
            "sms.max_segments",
            "letters.window.left_mm",
            "policy.frequency_caps.sms.days",
            "links.base_url",
            "5 errors found",
        ],
    );
}

#[test]
fn an_address_lettre_cannot_send_to_is_a_load_warning_not_a_render_failure() {
    for email in ["\"x<evil@e.com>\"@good.com", "\"a b\"@example.com"] {
        let dir = tempdir();
        let data = export(dir.path(), email, SEVEN_LINES);
        let file = campaign(dir.path(), |t| t);
        let out = dir.path().join("out");
        let r = run_campaign(
            file.to_str().unwrap(),
            &out,
            &["--data", data.to_str().unwrap()],
        );
        assert_eq!(r.code, 0, "{email}: {}", r.stderr);
        assert!(
            r.stderr.contains("column email: warning:")
                && r.stderr.contains("e-mail is excluded for this customer"),
            "{email}: {}",
            r.stderr
        );
        let ex = read_csv(&out.join("exclusions.csv"));
        let reasons: Vec<&str> = ex.iter().map(|e| e["reason"].as_str()).collect();
        assert!(
            reasons.contains(&"invalid_contact:email"),
            "{email}: {reasons:?}"
        );
        assert!(
            !reasons.iter().any(|r| r.starts_with("render_failed")),
            "{email}: {reasons:?}"
        );
        // The other channels still go: the letter is written.
        assert!(out.join("letters/A1-letter.pdf").exists(), "{email}");
    }
}
