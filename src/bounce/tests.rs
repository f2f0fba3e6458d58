//! Classification of real-world shaped notifications (tests/fixtures/bounces/: Postfix,
//! Exim, Gmail, Microsoft 365, sendmail, feedback loops, an out-of-office reply).

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/bounces/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (kind, action, status, address) of each notice, and the Message-ID.
fn summary(name: &str) -> (Vec<(Kind, String, String, String)>, String) {
    let c = classify(&fixture(name)).unwrap();
    (
        c.notices
            .iter()
            .map(|n| {
                (
                    n.kind,
                    n.action.clone(),
                    n.status.clone(),
                    n.address.clone(),
                )
            })
            .collect(),
        c.message_id,
    )
}

fn one(
    kind: Kind,
    action: &str,
    status: &str,
    address: &str,
) -> Vec<(Kind, String, String, String)> {
    vec![(kind, action.into(), status.into(), address.into())]
}

const FIXTURES: [&str; 11] = [
    "postfix-5.1.1-user-unknown.eml",
    "exim-5.1.1.eml",
    "gmail-5.1.1-no-such-user.eml",
    "m365-5.1.10-recipient-not-found.eml",
    "postfix-5.7.1-spamhaus.eml",
    "gmail-5.7.26-unauthenticated.eml",
    "delayed-4.4.7.eml",
    "arf-abuse-redacted.eml",
    "arf-not-spam.eml",
    "out-of-office.eml",
    "dsn-two-recipients.eml",
];

#[test]
fn a_5_1_1_marks_the_address_in_postfix_exim_and_gmail_formats() {
    assert_eq!(
        summary("postfix-5.1.1-user-unknown.eml"),
        (
            one(
                Kind::Bounce,
                "failed",
                "5.1.1",
                "emily.williams0@example.co.uk"
            ),
            "3f9a1c27b4e05d6a8c1e92f7a0b3d4c5@nordlicht.example".into()
        )
    );
    // Exim writes `Status: 5.0.0`; the remote server's 5.1.1 is in the diagnostic.
    assert_eq!(
        summary("exim-5.1.1.eml"),
        (
            one(
                Kind::Bounce,
                "failed",
                "5.1.1",
                "martins.krumina1@example.lv"
            ),
            "8b2e4f60a1c9d37e5f0b6a2c4d8e1f93@nordlicht.example".into()
        )
    );
    assert_eq!(
        summary("gmail-5.1.1-no-such-user.eml"),
        (
            one(Kind::Bounce, "failed", "5.1.1", "giulia.romano7@example.it"),
            "c4d7e2a9f1b3058e6a7d9c2b4e1f0a86@nordlicht.example".into()
        )
    );
    let c = classify(&fixture("gmail-5.1.1-no-such-user.eml")).unwrap();
    assert!(
        c.notices[0]
            .detail
            .starts_with("550-5.1.1 The email account that you tried to reach does not exist."),
        "{}",
        c.notices[0].detail
    );
    assert_eq!(
        c.date.unwrap().to_rfc3339(),
        "2026-11-23T09:04:12+00:00",
        "the Date, in UTC"
    );
}

#[test]
fn microsoft_365s_5_1_10_recipient_not_found_is_a_bad_mailbox() {
    let (notices, id) = summary("m365-5.1.10-recipient-not-found.eml");
    assert_eq!(
        notices,
        one(Kind::Bounce, "failed", "5.1.10", "piotr.nowak4@example.pl")
    );
    assert_eq!(id, "0e5b9d3c7a2f4861b9c0d5e3a7f1b2c4@nordlicht.example");
    let c = classify(&fixture("m365-5.1.10-recipient-not-found.eml")).unwrap();
    assert_eq!(
        c.notices[0].detail,
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
    );
}

#[test]
fn a_policy_or_authentication_refusal_does_not_mark_the_address() {
    assert_eq!(
        summary("postfix-5.7.1-spamhaus.eml"),
        (
            one(Kind::Refused, "failed", "5.7.1", "ana.popescu3@example.ro"),
            "5a1f8c3e9d2b4760a8e1c5f3b9d7e2a0@nordlicht.example".into()
        )
    );
    assert_eq!(
        summary("gmail-5.7.26-unauthenticated.eml"),
        (
            one(Kind::Refused, "failed", "5.7.26", "wang.fang6@example.cn"),
            "e7c3a1f9b5d2048c6e9a3f1d7b5c2e84@nordlicht.example".into()
        )
    );
}

#[test]
fn a_delayed_notice_is_ignored() {
    assert_eq!(
        summary("delayed-4.4.7.eml"),
        (
            one(Kind::Delayed, "delayed", "4.4.7", "yuki.tanaka5@example.jp"),
            "9d4b2f7e1a5c3086b2d9f4e7a1c5b3d0@nordlicht.example".into()
        )
    );
}

#[test]
fn feedback_reports_abuse_is_a_complaint_not_spam_is_not() {
    // The recipient is redacted: the third part's Message-ID is what matches.
    assert_eq!(
        summary("arf-abuse-redacted.eml"),
        (
            one(Kind::Complaint, "abuse", "", ""),
            "1c8e5a3f7b9d2640c1e8a5f3b7d9e2c6@nordlicht.example".into()
        )
    );
    assert_eq!(
        summary("arf-not-spam.eml"),
        (
            one(Kind::NotSpam, "not-spam", "", "lucia.bianchi9@example.it"),
            "b6f2d8a4c0e1937f5b2d8a4c6e0f1a39@nordlicht.example".into()
        )
    );
    let report = |t: &str| {
        let text = String::from_utf8(fixture("arf-not-spam.eml"))
            .unwrap()
            .replace("Feedback-Type: not-spam", &format!("Feedback-Type: {t}"));
        classify(text.as_bytes()).unwrap().notices[0].kind
    };
    assert_eq!(report("fraud"), Kind::Complaint);
    assert_eq!(report("virus"), Kind::Refused);
    assert_eq!(report("auth-failure"), Kind::Refused);
    assert_eq!(report("other"), Kind::Other);
    assert_eq!(report("ABUSE"), Kind::Complaint);
}

#[test]
fn a_non_bounce_is_left_alone_and_says_what_it_is() {
    let c = classify(&fixture("out-of-office.eml")).unwrap();
    assert_eq!(c.notices.len(), 1);
    assert_eq!(c.notices[0].kind, Kind::Other);
    assert_eq!(
        c.notices[0].detail,
        "an automatic reply: Automatic reply: Przypomnienie: faktura INV-0000005-03"
    );
    // The reply names our message: its customer can be found, nothing is held.
    assert_eq!(
        c.message_id,
        "7e1a9c5f3b2d4086e1a7c9f5b3d2e4a8@nordlicht.example"
    );
    let plain = classify(b"From: a@example.com\nSubject: hello\n\nhi\n").unwrap();
    assert_eq!(plain.notices[0].kind, Kind::Other);
    assert_eq!(
        plain.notices[0].detail,
        "not a delivery status notification or a feedback report: hello"
    );
    assert_eq!(plain.message_id, "");
}

#[test]
fn a_dsn_with_two_recipients_gives_one_notice_each() {
    assert_eq!(
        summary("dsn-two-recipients.eml"),
        (
            vec![
                (
                    Kind::Bounce,
                    "failed".into(),
                    "5.1.1".into(),
                    "camille.dubois@example.fr".into()
                ),
                (
                    Kind::Delayed,
                    "delivered".into(),
                    "2.0.0".into(),
                    "comptabilite@example.fr".into()
                ),
            ],
            "2d9f6b1e8c4a3075d2f9b6e1c8a4d3f7@nordlicht.example".into()
        )
    );
}

/// Without the returned headers, Gmail's X-Original-Message-ID, then In-Reply-To.
#[test]
fn the_original_message_id_falls_back_to_x_original_message_id_then_in_reply_to() {
    let text = String::from_utf8(fixture("gmail-5.1.1-no-such-user.eml")).unwrap();
    let cut = text
        .rfind("--000000000000b2a1c3062fe1d9a7\nContent-Type: text/rfc822-headers")
        .unwrap();
    let without_headers = format!("{}--000000000000b2a1c3062fe1d9a7--\n", &text[..cut]);
    let id = "c4d7e2a9f1b3058e6a7d9c2b4e1f0a86@nordlicht.example";
    let without_either = without_headers
        .replace(&format!("X-Original-Message-ID: <{id}>\n"), "")
        .replace(&format!("References: <{id}>\n"), "");
    assert_ne!(without_either, without_headers);
    for t in [&without_headers, &without_either] {
        let c = classify(t.as_bytes()).unwrap();
        assert_eq!(c.message_id, id);
        assert_eq!(c.notices[0].kind, Kind::Bounce);
    }
    // Two ids in In-Reply-To name no one message.
    let two = without_either.replace(
        &format!("In-Reply-To: <{id}>"),
        &format!("In-Reply-To: <{id}> <other@nordlicht.example>"),
    );
    assert_eq!(classify(two.as_bytes()).unwrap().message_id, "");
}

#[test]
fn status_codes_prefer_the_status_field_over_the_diagnostic() {
    assert_eq!(choose_status("5.1.1", "550 5.7.1 blocked"), "5.1.1");
    assert_eq!(choose_status("5.0.0", "550 5.1.1 user unknown"), "5.1.1");
    assert_eq!(choose_status("5.0.0", "550 4.2.2 odd"), "5.0.0");
    assert_eq!(
        choose_status("", "smtp; 550-5.1.1 The email account"),
        "5.1.1"
    );
    assert_eq!(choose_status("5.1.1 (bad mailbox)", ""), "5.1.1");
    assert_eq!(choose_status("garbage", "host 192.0.2.10 said 550"), "");
    assert_eq!(
        first_code_in("[10.5.1.1] 550 5.2.1 disabled"),
        Some("5.2.1".into())
    );
    assert_eq!(first_code_in("version 2.4.10.1"), None);
    for (status, marks) in [
        ("5.1.1", true),
        ("5.1.2", true),
        ("5.1.10", true),
        ("5.2.1", true),
        ("5.1.0", false),
        ("5.1.7", false),
        ("5.1.8", false),
        ("5.1.90", false),
        ("5.2.2", false),
        ("5.7.1", false),
        ("4.1.1", false),
        ("", false),
    ] {
        assert_eq!(marks_address(status), marks, "{status}");
    }
}

/// CRLF or LF line ends: the same classification.
#[test]
fn line_endings_do_not_matter() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let lf: Vec<u8> = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\r\n", "\n")
            .into_bytes();
        let crlf: Vec<u8> = String::from_utf8(lf.clone())
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes();
        let (a, b) = (classify(&lf).unwrap(), classify(&crlf).unwrap());
        assert_eq!(
            (a.notices, a.message_id, a.date),
            (b.notices, b.message_id, b.date),
            "{name}"
        );
    }
}

/// Garbage, truncations and flipped bytes: classified or refused, never a panic.
#[test]
fn garbage_never_panics() {
    assert!(classify(b"").is_err());
    assert!(classify(b" \n\r\n").is_err());
    let _ = classify(&[0xff, 0xfe, 0x00, 0x01]);
    let _ = classify(b"Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\n:\n\t\n--x--");
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
    for name in FIXTURES {
        let bytes = fixture(name);
        for cut in (0..bytes.len()).step_by(97) {
            let _ = classify(&bytes[..cut]);
        }
        for _ in 0..50 {
            let mut b = bytes.clone();
            for _ in 0..8 {
                let i = rng.random_range(0..b.len());
                b[i] = rng.random();
            }
            let _ = classify(&b);
        }
    }
}

/// Only an explicit `Action: failed` marks an address: a report without an Action is
/// read by its status, but a 5.1.1 there says our mail failed, not that the address is
/// proven bad.
#[test]
fn a_failure_without_an_action_does_not_mark_the_address() {
    let dsn = String::from_utf8(fixture("postfix-5.1.1-user-unknown.eml")).unwrap();
    assert!(dsn.contains("Action: failed"), "the fixture changed");
    let without: String = dsn
        .lines()
        .filter(|l| !l.starts_with("Action:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let c = classify(without.as_bytes()).unwrap();
    assert_eq!(c.notices.len(), 1);
    assert_eq!(c.notices[0].kind, Kind::Refused);
    assert_eq!(c.notices[0].status, "5.1.1");
}
