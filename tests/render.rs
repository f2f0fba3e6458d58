//! What a debtor actually receives: messages parsed back with Python's `email` package
//! (an independent MIME reader), checked for escaping, header injection, money and
//! dates in the customer's own language, and for default wording in all seven languages.

use crate::util::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const NBSP: &str = "\u{a0}";

/// Every e-mail of an outbox as Python's `email` package reads it, by message id.
fn parse_emails(out: &std::path::Path) -> BTreeMap<String, Value> {
    let script = r#"
import json, sys, mailbox
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
rows = {}
manifest = [json.loads(l) for l in open(sys.argv[1] + "/manifest.jsonl")]
raw = {}
for e in manifest:
    if e["channel"] != "email":
        continue
    path = sys.argv[1] + "/" + e["path"]
    if path not in raw:
        raw[path] = open(path, "rb").read()
    data = raw[path][e["offset"]:e["offset"] + e["length"]]
    # mboxrd: un-escape ">From " lines.
    data = b"\n".join(l[1:] if l.startswith(b">") and l.lstrip(b">").startswith(b"From ") else l for l in data.split(b"\n"))
    m = BytesParser(policy=policy.default).parsebytes(data)
    rows[e["id"]] = {
        "headers": [k for k in m.keys()],
        "to": str(m["To"]),
        "to_addresses": [a for _, a in getaddresses([str(v) for k in ("To", "Cc", "Bcc") for v in m.get_all(k, [])])],
        "subject": str(m["Subject"]),
        "text": m.get_body(("plain",)).get_content(),
        "html": m.get_body(("html",)).get_content(),
        "locale": e["locale"],
        "cluster": e["cluster"],
        "stage": e["stage"],
        "link": e["link"],
    }
print(json.dumps(rows))
"#;
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn sms(out: &std::path::Path) -> BTreeMap<String, Value> {
    std::fs::read_to_string(out.join("sms.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}"))
}

#[test]
fn html_in_a_name_is_escaped_in_html_and_kept_in_text() {
    let out = outbox_of(&fixture("hostile/campaign.yaml"), &[]);
    let mail = parse_emails(out.path());
    let h1 = &mail["H1-email"];
    let html = s(h1, "html");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co &lt;b&gt;Ltd&lt;/b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "no live script in the HTML part");
    assert!(!html.contains("<b>Ltd"), "no markup from data");
    assert!(
        s(h1, "text").contains("<script>alert(1)</script> & Co <b>Ltd</b>"),
        "plain text is not HTML-escaped"
    );
    assert!(s(h1, "to").contains("<script>alert(1)</script> & Co"));
}

#[test]
fn a_crlf_in_a_name_does_not_start_a_header() {
    let out = outbox_of(&fixture("hostile/campaign.yaml"), &[]);
    let mail = parse_emails(out.path());
    let h2 = &mail["H2-email"];
    let headers: Vec<&str> = h2["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(
        headers,
        [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "Reply-To",
            "MIME-Version",
            "Content-Type"
        ]
    );
    assert_eq!(h2["to_addresses"], serde_json::json!(["h2@example.com"]));
    assert_eq!(
        s(h2, "to"),
        "\"Mallory Bcc: everyone@example.com\" <h2@example.com>"
    );
}

#[test]
fn money_dates_and_plurals_in_the_customers_language() {
    let out = outbox_of(&fixture("hostile/campaign.yaml"), &[]);
    let mail = parse_emails(out.path());
    let pl = s(&mail["H3-email"], "text");
    for want in [
        format!("2{NBSP}234,50{NBSP}zł"),
        format!("1{NBSP}234,50{NBSP}zł"),
        "1 października 2026".into(),
        "2 nieopłacone faktury".into(),
        "4 grudnia 2026".into(),
    ] {
        assert!(pl.contains(&want), "Polish e-mail lacks {want:?}:\n{pl}");
    }
    let it = s(&mail["H4-email"], "text");
    for want in [
        format!("1.234,56{NBSP}€"),
        "1 ottobre 2026".into(),
        "Gentile Giulia Bianchi".into(),
    ] {
        assert!(it.contains(&want), "Italian e-mail lacks {want:?}:\n{it}");
    }
    let ja = s(&mail["H5-email"], "text");
    for want in ["¥123,456", "2026年10月1日", "田中 花子 様"] {
        assert!(ja.contains(want), "Japanese e-mail lacks {want:?}:\n{ja}");
    }
    let en = s(&mail["H1-email"], "text");
    assert!(
        en.contains("€1,234.56") && en.contains("October 1, 2026"),
        "{en}"
    );
    assert!(
        s(&mail["H1-email"], "html").contains("Pay €1,234.56"),
        "the button"
    );

    let texts = sms(out.path());
    let pl_sms = &texts["H3-sms"];
    assert_eq!(s(pl_sms, "encoding"), "GSM-7", "Polish is transliterated");
    assert!(
        s(pl_sms, "text").contains("zaplate 2 234,50 zl"),
        "{pl_sms}"
    );
    assert_eq!(s(&texts["H5-sms"], "encoding"), "UCS-2");
    assert!(s(&texts["H5-sms"], "text").contains("¥123,456"));
}

/// Words only that language's wording uses, one of them in every e-mail of the locale
/// (a greeting: to people, or the business form to companies).
const MARKERS: [(&str, &[&str]); 7] = [
    (
        "en",
        &[
            "Kind regards",
            "Yours sincerely",
            "Yours faithfully",
            "Best wishes",
        ],
    ),
    ("it", &["salut"]),
    ("pl", &["Dzień dobry", "Szanowni Państwo", "Szanowna Pani"]),
    ("ro", &["Bună ziua", "Stimată doamnă"]),
    ("lv", &["Labdien", "Godātie kungi"]),
    ("ja", &["様", "御中"]),
    ("zh", &["您"]),
];

#[test]
fn the_sample_speaks_seven_languages_in_every_cluster() {
    let out = outbox_of(SAMPLE, &[]);
    let mail = parse_emails(out.path());
    let texts = sms(out.path());
    let manifest: Vec<Value> = std::fs::read_to_string(out.path().join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let mut cells = BTreeSet::new();
    for e in mail.values() {
        let locale = s(e, "locale");
        let (_, markers) = MARKERS
            .iter()
            .find(|(l, _)| *l == locale)
            .unwrap_or_else(|| panic!("unexpected locale {locale}"));
        let text = s(e, "text");
        assert!(
            markers.iter().any(|m| text.contains(m)),
            "{locale}/{}/{}: none of {markers:?} in\n{text}",
            s(e, "cluster"),
            s(e, "stage")
        );
        if locale != "en" {
            assert!(
                !text.contains("Dear ") && !text.contains("Kind regards"),
                "{locale} fell back to English:\n{text}"
            );
        }
        assert!(text.contains(s(e, "link")), "every e-mail has its link");
        assert!(s(e, "html").contains("utm_medium=email"));
        cells.insert((locale.to_string(), s(e, "cluster").to_string()));
    }
    let locales: BTreeSet<&str> = cells.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(locales.len(), 7, "{locales:?}");
    let clusters: BTreeSet<&str> = cells.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(clusters.len(), 5, "{clusters:?}");

    // Each cluster's tone: a payment plan for the unable, direct debit for the chronic
    // late, a dated final notice for the unwilling.
    for e in mail.values().filter(|e| s(e, "locale") == "en") {
        let text = s(e, "text");
        match s(e, "cluster") {
            "unable" => assert!(text.contains("three instalments"), "{text}"),
            "chronic_late" => assert!(text.contains("direct debit"), "{text}"),
            "unwilling" if matches!(s(e, "stage"), "final_notice" | "pre_legal") => {
                let head = if s(e, "stage") == "pre_legal" {
                    "LAST NOTICE BEFORE DEBT COLLECTION"
                } else {
                    "FINAL NOTICE"
                };
                assert!(s(e, "subject").starts_with(head), "{text}");
                assert!(
                    text.contains("December 4, 2026") || text.contains("4 December 2026"),
                    "dated: {text}"
                );
            }
            _ => {}
        }
    }

    for m in manifest.iter().filter(|m| m["channel"] == "sms") {
        let t = &texts[s(m, "id")];
        let locale = s(m, "locale");
        assert!(t["segments"].as_u64().unwrap() <= 3, "{t}");
        assert!(
            s(t, "text").contains(s(m, "link")),
            "every SMS has its link"
        );
        let want = if matches!(locale, "ja" | "zh") {
            "UCS-2"
        } else {
            "GSM-7"
        };
        assert_eq!(s(t, "encoding"), want, "{locale}: {t}");
    }
}

/// `December 4, 2026` or `12/4/26`: how an American writes a date, found in `text`.
fn us_date(text: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let text = text.replace(['\u{a0}', '\u{202f}'], " ");
    for m in MONTHS {
        for (at, _) in text.match_indices(m) {
            let rest = &text[at + m.len()..];
            let digits: String = rest
                .strip_prefix(' ')
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if (1..=2).contains(&digits.len()) && rest[1 + digits.len()..].starts_with(',') {
                return Some(format!("{m} {digits},"));
            }
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .iter()
        .find(|w| {
            let parts: Vec<&str> = w
                .trim_matches(|c: char| !c.is_ascii_digit())
                .split('/')
                .collect();
            parts.len() == 3
                && parts[2].len() == 2
                && parts[0].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
                && parts[1].len() <= 2
        })
        .map(|w| w.to_string())
}

#[test]
fn british_customers_read_british_dates_in_every_channel() {
    let out = outbox_of(SAMPLE, &[]);
    let countries: BTreeMap<String, String> = read_csv(&root().join("samples/data/customers.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["country"].clone()))
        .collect();
    let british = |id: &str| countries.get(id).is_some_and(|c| c == "GB");
    let mut checked = 0;
    let mut british_dates = 0;
    for (id, e) in parse_emails(out.path()) {
        let customer = id.trim_end_matches("-email");
        if !british(customer) {
            continue;
        }
        checked += 1;
        for part in ["subject", "text", "html"] {
            let text = s(&e, part);
            assert_eq!(us_date(text), None, "{id} {part}:\n{text}");
        }
        if s(&e, "text").contains(" December 2026") {
            british_dates += 1;
        }
    }
    for (id, t) in sms(out.path()) {
        if british(id.trim_end_matches("-sms")) {
            checked += 1;
            assert_eq!(us_date(s(&t, "text")), None, "{id}: {t}");
        }
    }
    for f in std::fs::read_dir(out.path().join("letters")).unwrap() {
        let path = f.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(customer) = name.strip_suffix("-letter.pdf")
            && british(customer)
        {
            checked += 1;
            let text = tool("pdftotext", &[path.to_str().unwrap(), "-"]);
            assert_eq!(us_date(&text), None, "{name}:\n{text}");
        }
    }
    assert!(checked > 40, "{checked} British messages");
    assert!(
        british_dates > 10,
        "{british_dates} e-mails with `4 December 2026`"
    );
    // The check can fail: an American date is found.
    assert_eq!(
        us_date("pay by December 4, 2026"),
        Some("December 4,".into())
    );
    assert_eq!(us_date("due 12/4/26."), Some("12/4/26.".into()));
    assert_eq!(us_date("pay by 4 December 2026, please"), None);
}
