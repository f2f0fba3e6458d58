//! SMS encoding and segment counts agree with an independent calculator (Twilio's
//! `sms-segments-calculator`, installed by scripts/test under tests/js).

use crate::util::root;
use dunwell::sms::analyse;
use std::io::Write;
use std::process::{Command, Stdio};

fn corpus() -> Vec<String> {
    let mut c: Vec<String> = [
        "Hello Giulia, your invoice INV-1 of 120.50 EUR is due. Pay: https://pay.example.com/s/AbCdEfGhIjKl",
        "Prosimy o zapłatę 1 234,56 zł do 30.11.2026. Dziękujemy!",
        "Vă rugăm să achitați suma de 3 100,00 lei până la 30.11.2026.",
        "Lūdzam samaksāt 120,50 € līdz 30.11.2026. Paldies!",
        "お支払い期限を過ぎています。12,345円をお支払いください。",
        "您的账单已逾期,请支付¥880.00。谢谢!",
        "Gentile cliente, le ricordiamo il pagamento di 120,50 € entro il 30/11.",
        "Price: 10€ [approx] ~ {ok} | ^caret\\ backslash",
        "Thanks 😀 see you",
        "Family 👨‍👩‍👧 and flag 🇵🇱 are one character each",
        "Line one\nLine two\nLine three",
        "Ç is GSM, ç is not",
        "ΔΦΓΛΩΠΨΣΘΞ are Greek capitals in GSM-7",
        "Zażółć gęślą jaźń",
        "Ștefan Țăranu: plata restantă",
        "",
        "curly ‘quotes’ and “double” – dashes…",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    c.push("a".repeat(160));
    c.push("a".repeat(161));
    c.push("a".repeat(306));
    c.push("a".repeat(307));
    c.push(format!("{}€", "a".repeat(158)));
    c.push(format!("{}€", "a".repeat(159)));
    c.push(format!("{}€{}", "a".repeat(152), "b".repeat(10)));
    c.push("ą".repeat(70));
    c.push("ą".repeat(71));
    c.push(format!("{}😀", "x".repeat(66)));
    c.push(format!("{}😀{}", "ł".repeat(66), "y".repeat(10)));
    c.push("お".repeat(134));
    c.push("お".repeat(135));
    c
}

#[test]
fn encoding_and_segments_agree_with_twilios_calculator() {
    let corpus = corpus();
    assert!(corpus.len() >= 20);
    let script = root().join("tests/js/sms_segments.js");
    let mut child = Command::new("node")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node is installed (scripts/test installs the calculator)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&corpus).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the calculator failed: is tests/js/node_modules installed? run scripts/test"
    );
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), corpus.len());
    for (text, t) in corpus.iter().zip(&theirs) {
        let ours = analyse(text);
        assert_eq!(
            (ours.encoding.as_str(), u64::from(ours.segments)),
            (
                t["encoding"].as_str().unwrap(),
                t["segments"].as_u64().unwrap()
            ),
            "{text:?}"
        );
    }
}
