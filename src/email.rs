//! RFC 5322 messages: multipart/alternative (plain text + HTML), built with lettre;
//! multipart/mixed around it when files ride along: the letter as a PDF, the original
//! invoices the message claims. lettre writes each file's name as RFC 2231 asks
//! (`filename*0*=utf-8''Faktura%C5%BC.pdf` when it is not plain ASCII).
//!
//! Byte-stable: the Date is the plan's `scheduled_at`, the Message-ID and the MIME
//! boundary are derived from the message's content — the same inputs give the same
//! bytes, whatever the machine or the thread. Header values are cleaned of control
//! characters first, so a customer named `"X\r\nBcc: all@example.com"` stays a name.

use chrono::{DateTime, Datelike, TimeZone};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart, header};
use sha2::{Digest, Sha256};

/// The three rendered parts of an e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parts {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Files attached, in this order.
    pub attachments: Vec<Attachment>,
}

/// A file an e-mail carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The name the recipient sees (the file's own name).
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// The MIME type, from the name's extension: what a mail client needs to open the
    /// file with the right program. The extensions an invoice comes in; anything else
    /// is offered as plain bytes to save.
    pub fn content_type(&self) -> &'static str {
        let ext = self
            .name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "pdf" => "application/pdf",
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            // RFC 7303; XRechnung, ZUGFeRD's XML, UBL and FatturaPA invoices.
            "xml" => "application/xml",
            _ => "application/octet-stream",
        }
    }
}

/// Who sends, who receives.
#[derive(Clone, Debug)]
pub struct Envelope<'a> {
    pub from_name: &'a str,
    pub from_address: &'a str,
    pub reply_to: Option<&'a str>,
    pub to_name: &'a str,
    pub to_address: &'a str,
}

/// A header value with every control character (CR, LF, tab, …) turned into a space and
/// runs of spaces folded: nothing a customer's data holds can start a new header.
pub fn header_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if !(c == ' ' && (out.is_empty() || out.ends_with(' '))) {
            out.push(c);
        }
    }
    out.trim_end().to_string()
}

/// The message's bytes and its Message-ID (without angle brackets).
pub fn build<Tz: TimeZone>(
    env: &Envelope<'_>,
    parts: &Parts,
    date: &DateTime<Tz>,
) -> Result<(Vec<u8>, String), String> {
    // httpdate (lettre's Date header) panics outside 1970–9999. The plan keeps every
    // scheduled time within 1970–2099 (`policy.send_from` is bounded); this is the
    // second line: one message fails, the process does not (issue 12).
    let year = date.to_utc().year();
    if !(1970..=9999).contains(&year) {
        return Err(format!(
            "the Date {} is outside the years an e-mail header can carry (expected 1970 to 9999; check policy.send_from)",
            date.to_rfc3339()
        ));
    }
    let mut h = Sha256::new();
    for field in [
        env.from_address,
        env.to_address,
        env.to_name,
        &parts.subject,
        &parts.text,
        &parts.html,
        &date.to_rfc3339(),
    ] {
        h.update(field.as_bytes());
        h.update([0u8]);
    }
    for a in &parts.attachments {
        h.update(a.name.as_bytes());
        h.update(Sha256::digest(&a.bytes));
    }
    let digest = h.finalize();
    let hex = crate::hash::hex(&digest);
    let domain = env
        .from_address
        .rsplit_once('@')
        .map_or("dunwell.invalid", |(_, d)| d);
    let message_id = format!("{}@{domain}", &hex[..32]);

    let mailbox = |name: &str, address: &str| -> Result<Mailbox, String> {
        let address = address
            .trim()
            .parse()
            .map_err(|e| format!("`{address}` is not an e-mail address: {e}"))?;
        let name = header_text(name);
        Ok(Mailbox::new((!name.is_empty()).then_some(name), address))
    };
    let mut builder = Message::builder()
        .from(mailbox(env.from_name, env.from_address)?)
        .to(mailbox(env.to_name, env.to_address)?)
        .subject(header_text(&parts.subject))
        .date(std::time::SystemTime::from(date.to_utc()))
        .message_id(Some(format!("<{message_id}>")));
    if let Some(r) = env.reply_to {
        builder = builder.reply_to(mailbox(env.from_name, r)?);
    }
    let body = MultiPart::alternative()
        .boundary(format!("dunwell-{}", &hex[32..56]))
        .singlepart(
            SinglePart::builder()
                .header(header::ContentType::TEXT_PLAIN)
                .body(parts.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(header::ContentType::TEXT_HTML)
                .body(parts.html.clone()),
        );
    let message = if parts.attachments.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed()
            .boundary(format!("dunwell-m-{}", &hex[32..56]))
            .multipart(body);
        for a in &parts.attachments {
            mixed = mixed.singlepart(lettre::message::Attachment::new(header_text(&a.name)).body(
                a.bytes.clone(),
                header::ContentType::parse(a.content_type()).expect("a valid MIME type"),
            ));
        }
        builder.multipart(mixed)
    }
    .map_err(|e| e.to_string())?;
    Ok((message.formatted(), message_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(to_name: &'a str) -> Envelope<'a> {
        Envelope {
            from_name: "Nordlicht Utilities",
            from_address: "credit@nordlicht.example",
            reply_to: Some("help@nordlicht.example"),
            to_name,
            to_address: "anna@example.com",
        }
    }

    fn parts() -> Parts {
        Parts {
            subject: "Zapłata: 1 234,56 zł".into(),
            text: "Dzień dobry".into(),
            html: "<p>Dzień dobry</p>".into(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn deterministic_bytes() {
        let date = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00+01:00").unwrap();
        let (a, id_a) = build(&env("Anna"), &parts(), &date).unwrap();
        let (b, id_b) = build(&env("Anna"), &parts(), &date).unwrap();
        assert_eq!(a, b);
        assert_eq!(id_a, id_b);
        assert!(id_a.ends_with("@nordlicht.example"));
        let text = String::from_utf8(a).unwrap();
        assert!(
            text.contains("Date: Mon, 23 Nov 2026 08:00:00 +0000"),
            "{text}"
        );
        assert!(text.contains("multipart/alternative"));
        let (c, _) = build(&env("Anna B"), &parts(), &date).unwrap();
        assert_ne!(
            text.as_bytes(),
            c.as_slice(),
            "another recipient, another message"
        );
    }

    #[test]
    fn a_date_no_header_can_carry_is_an_error_not_a_panic() {
        for at in [
            "+10000-01-01T09:00:00+00:00",
            "1969-12-31T23:59:59+00:00",
            "0001-01-01T00:00:00+00:00",
        ] {
            let date = chrono::DateTime::parse_from_rfc3339(at)
                .or_else(|_| at.parse::<chrono::DateTime<chrono::FixedOffset>>())
                .unwrap();
            let e = build(&env("Anna"), &parts(), &date).unwrap_err();
            assert!(e.contains("outside the years"), "{at}: {e}");
        }
        // The first moment a Date header can carry.
        let date = chrono::DateTime::parse_from_rfc3339("1970-01-01T00:00:00+00:00").unwrap();
        assert!(build(&env("Anna"), &parts(), &date).is_ok());
    }

    #[test]
    fn attachments_keep_their_names_types_and_bytes() {
        let date = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00+01:00").unwrap();
        let mut p = parts();
        let files = [
            (
                "L-1-letter.pdf",
                "application/pdf",
                b"%PDF-1.7 letter".to_vec(),
            ),
            (
                "Faktura ż 2026\"01.PDF",
                "application/pdf",
                vec![0, 255, 13, 10, 46],
            ),
            (
                "FV-2026-0042.xml",
                "application/xml",
                b"<Invoice/>".to_vec(),
            ),
            ("scan.JPG", "image/jpeg", vec![0xFF, 0xD8]),
            ("scan.png", "image/png", vec![0x89, b'P']),
            ("notes", "application/octet-stream", b"x".to_vec()),
        ];
        p.attachments = files
            .iter()
            .map(|(name, _, bytes)| Attachment {
                name: name.to_string(),
                bytes: bytes.clone(),
            })
            .collect();
        let (bytes, _) = build(&env("Anna"), &p, &date).unwrap();
        assert_eq!(bytes, build(&env("Anna"), &p, &date).unwrap().0);
        let text = String::from_utf8_lossy(&bytes);
        // RFC 2231: a name that is not plain ASCII is percent-encoded in UTF-8.
        assert!(
            text.contains("filename*0*=utf-8''Faktura%20%C5%BC%202026%2201.PDF"),
            "{text}"
        );
        assert!(text.contains("filename=\"L-1-letter.pdf\""), "{text}");
        let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        let found: Vec<_> = parsed.attachments().collect();
        assert_eq!(found.len(), files.len());
        for (part, (name, content_type, body)) in found.iter().zip(&files) {
            use mail_parser::MimeHeaders;
            assert_eq!(part.attachment_name(), Some(*name));
            let ct = part.content_type().unwrap();
            let got = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""));
            assert_eq!(got, *content_type, "{name}");
            assert_eq!(part.contents(), body.as_slice(), "{name}");
        }
        // Another file, another Message-ID.
        let mut q = p.clone();
        q.attachments[2].bytes = b"<Invoice>2</Invoice>".to_vec();
        assert_ne!(
            build(&env("Anna"), &q, &date).unwrap().1,
            build(&env("Anna"), &p, &date).unwrap().1
        );
    }

    #[test]
    fn names_cannot_add_headers() {
        assert_eq!(
            header_text("Evil\r\nBcc: all@example.com"),
            "Evil Bcc: all@example.com"
        );
        let date = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00+01:00").unwrap();
        let mut p = parts();
        p.subject = "Hi\r\nBcc: victim@example.com".into();
        let (bytes, _) = build(&env("X\r\nBcc: all@example.com"), &p, &date).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.lines().any(|l| l.starts_with("Bcc:")), "{text}");
    }
}
