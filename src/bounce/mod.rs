//! What came back from the mail system: delivery status notifications (RFC 3464) and
//! feedback reports (RFC 5965), each classified by what it says about the address it
//! is about — so an address that does not exist is not written to again, a refusal of
//! our mail is not held against the customer, and a complaint is an e-mail opt-out
//! (docs/history.md, "What came back").
//!
//! A module of its own because it reads mail, which nothing else does: the parsing
//! ([`classify`], with Stalwart's `mail-parser` for the MIME structure and a small
//! reader for the report fields), the mailbox (`mailbox.rs`: mbox or Maildir) and the
//! recording into the history store (`record.rs`: matching each notice back to its
//! contact by the original Message-ID). Only machine-readable parts are read: a
//! bounce that is only prose (qmail, old Exim) is `other`, listed for a person to read.

pub mod mailbox;
pub mod record;

use crate::dataset::vocabulary;
use mail_parser::{MessageParser, MimeHeaders, PartType};

vocabulary!(
    /// What a notification says about one recipient:
    /// - `bounce`: `Action: failed` with an address status (5.1.1 bad mailbox, 5.1.2 bad
    ///   domain, 5.1.10 null MX …, 5.2.1 mailbox disabled) — the address is unusable;
    /// - `refused`: `Action: failed` for any other reason (5.7.x policy, spam,
    ///   authentication; 5.6.x content; 5.2.2 mailbox full; 4.x.x given up) — our mail
    ///   was refused, the address is not held against the customer;
    /// - `delayed`: delayed, or a positive notice (delivered, relayed, expanded) —
    ///   nothing to do;
    /// - `complaint`: a feedback report of type `abuse` or `fraud` — an e-mail opt-out;
    /// - `not_spam`: a feedback report of type `not-spam` — recorded, no opt-out;
    /// - `other`: neither a delivery status notification nor a feedback report (or one
    ///   of a kind not read) — left alone and listed.
    Kind {
        Bounce = "bounce",
        Refused = "refused",
        Delayed = "delayed",
        Complaint = "complaint",
        NotSpam = "not_spam",
        Other = "other",
    }
);

/// One recipient's fate: a notification has one per recipient it reports on (a
/// feedback report and any other message: one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub kind: Kind,
    /// The DSN's `Action` (failed, delayed, …) or the report's `Feedback-Type`; empty
    /// for other mail.
    pub action: String,
    /// The RFC 3463 status code (`5.1.1`), or empty.
    pub status: String,
    /// The address it is about: `Original-Recipient` (the address as we gave it), else
    /// `Final-Recipient`; a report's `Original-Rcpt-To`. Empty when absent or redacted.
    pub address: String,
    /// The diagnostic, or what the report or message is; one line, shortened.
    pub detail: String,
}

/// A message of the mailbox, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classified {
    /// SHA-256 of the message's bytes (hex): reading it again is recognised.
    pub sha256: String,
    /// The message's `Date`, in UTC.
    pub date: Option<chrono::DateTime<chrono::Utc>>,
    /// The Message-ID of the message it is about (ours), without angle brackets; empty
    /// when it cannot be told.
    pub message_id: String,
    /// At least one.
    pub notices: Vec<Notice>,
}

/// Messages larger than this are not read (mail-parser counts in 32 bits; no
/// notification is anywhere near it).
const MAX_MESSAGE: usize = 64 << 20;

/// The longest detail kept, in characters.
const DETAIL: usize = 300;

/// Classifies one message. `Err` only when the bytes are not a mail message at all (no
/// header can be read); anything that parses is classified, `other` if need be. Never
/// panics, whatever the bytes.
pub fn classify(bytes: &[u8]) -> Result<Classified, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("an empty message".into());
    }
    if bytes.len() > MAX_MESSAGE {
        return Err(format!(
            "a message of {} MiB (more than {} MiB is not read)",
            bytes.len() >> 20,
            MAX_MESSAGE >> 20
        ));
    }
    let parser = MessageParser::new();
    let message = parser
        .parse(bytes)
        .filter(|m| !m.parts.is_empty() && !m.root_part().headers.is_empty())
        .ok_or("not a mail message (no header could be read)")?;
    let date = message.date().filter(|d| d.is_valid()).and_then(|d| {
        chrono::DateTime::from_timestamp(d.to_timestamp(), 0)
            .filter(|t| (1970..2100).contains(&chrono::Datelike::year(t)))
    });

    let mut delivery_status = None;
    let mut feedback = None;
    let mut returned_id = None;
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let (ctype, sub) = (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or("").to_ascii_lowercase(),
        );
        match (ctype.as_str(), sub.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                delivery_status.get_or_insert_with(|| text_of(part.contents()));
            }
            ("message", "feedback-report") => {
                feedback.get_or_insert_with(|| text_of(part.contents()));
            }
            ("message", "rfc822" | "global") if returned_id.is_none() => {
                returned_id = match &part.body {
                    PartType::Message(m) => m.message_id().map(msg_id),
                    other => headers_id(&parser, part_bytes(other)),
                };
            }
            ("text", "rfc822-headers") | ("message", "global-headers" | "rfc822-headers")
                if returned_id.is_none() =>
            {
                returned_id = headers_id(&parser, part.contents());
            }
            _ => {}
        }
    }

    let header = |name: &str| -> Option<String> {
        message
            .root_part()
            .headers
            .iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
            .and_then(|h| {
                let raw = bytes.get(h.offset_start() as usize..h.offset_end() as usize)?;
                Some(String::from_utf8_lossy(raw).into_owned())
            })
    };
    // The original Message-ID: the returned message's or headers' own; else a DSN's
    // X-Original-Message-ID (Gmail); else the notification's In-Reply-To or References
    // when it names exactly one message (an auto-reply's, an Exim bounce's).
    let fallback = |fields: Option<&Fields>| -> Option<String> {
        fields
            .and_then(|f| f.first("x-original-message-id"))
            .map(str::to_string)
            .or_else(|| header("X-Original-Message-ID"))
            .and_then(|v| single_id(&v))
            .or_else(|| header("In-Reply-To").and_then(|v| single_id(&v)))
            .or_else(|| header("References").and_then(|v| single_id(&v)))
    };

    let (message_id, notices) = if let Some(text) = feedback {
        let fields = Fields::parse(&text);
        let id = returned_id.or_else(|| fallback(None)).unwrap_or_default();
        (id, vec![feedback_notice(&fields.all())])
    } else if let Some(text) = delivery_status {
        let fields = Fields::parse(&text);
        let id = returned_id
            .or_else(|| fallback(Some(&fields)))
            .unwrap_or_default();
        let mut notices: Vec<Notice> = fields.recipients().map(recipient_notice).collect();
        if notices.is_empty() {
            notices.push(Notice {
                kind: Kind::Other,
                action: String::new(),
                status: String::new(),
                address: String::new(),
                detail: "a delivery status notification that names no recipient".into(),
            });
        }
        (id, notices)
    } else {
        let id = returned_id.or_else(|| fallback(None)).unwrap_or_default();
        let what = what_else(&message, &header);
        let subject = message.subject().map(one_line).unwrap_or_default();
        (
            id,
            vec![Notice {
                kind: Kind::Other,
                action: String::new(),
                status: String::new(),
                address: String::new(),
                detail: shorten(&if subject.is_empty() {
                    what
                } else {
                    format!("{what}: {subject}")
                }),
            }],
        )
    };
    Ok(Classified {
        sha256: crate::hash::sha256_hex(bytes),
        date,
        message_id,
        notices,
    })
}

/// One recipient of a delivery status notification.
fn recipient_notice(group: &[(String, String)]) -> Notice {
    let get = |name: &str| {
        group
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let address = get("original-recipient")
        .map(address_of)
        .filter(|a| !a.is_empty())
        .or_else(|| get("final-recipient").map(address_of))
        .unwrap_or_default();
    let diagnostic = get("diagnostic-code")
        .map(|d| d.split_once(';').map_or(d, |(_, rest)| rest))
        .map(one_line)
        .unwrap_or_default();
    let status = choose_status(get("status").unwrap_or(""), &diagnostic);
    let mut action = get("action")
        .and_then(|a| a.split_whitespace().next())
        .unwrap_or("")
        .to_ascii_lowercase();
    // RFC 3464 requires Action; a notification without one is read by its status —
    // but only an explicit `Action: failed` marks an address unusable.
    let stated = !action.is_empty();
    if action.is_empty() {
        action = match status.as_bytes().first() {
            Some(b'5') => "failed",
            Some(b'4') => "delayed",
            _ => "",
        }
        .into();
    }
    let kind = match action.as_str() {
        "failed" if stated && marks_address(&status) => Kind::Bounce,
        "failed" => Kind::Refused,
        "delayed" | "delivered" | "relayed" | "expanded" => Kind::Delayed,
        _ => Kind::Other,
    };
    let detail = if diagnostic.is_empty() {
        format!("Action: {action}, Status: {status}")
    } else {
        diagnostic
    };
    Notice {
        kind,
        action,
        status,
        address,
        detail: shorten(&detail),
    }
}

/// Whether a failure's status says the address itself is unusable (RFC 3463 and RFC
/// 7505): 5.1.1 bad destination mailbox, 5.1.2 bad destination system, 5.1.3 bad
/// destination address syntax, 5.1.4 ambiguous destination, 5.1.6 mailbox moved, 5.1.10
/// null MX (Microsoft 365: recipient not found), 5.2.1 mailbox disabled. Not 5.1.0
/// (which servers use for the sender as often as for the recipient), 5.1.5 (the address
/// is valid), 5.1.7 and 5.1.8 (our sender address), nor any code a server made up.
fn marks_address(status: &str) -> bool {
    let mut n = status.split('.').map(|p| p.parse::<u32>().ok());
    match (n.next(), n.next(), n.next()) {
        (Some(Some(5)), Some(Some(1)), Some(Some(d))) => matches!(d, 1 | 2 | 3 | 4 | 6 | 10),
        (Some(Some(5)), Some(Some(2)), Some(Some(1))) => true,
        _ => false,
    }
}

/// The status code a recipient is classified by. `Status:` is the field RFC 3464
/// defines, so it wins — unless it says nothing beyond its class (`5.0.0`, Exim's habit)
/// or is missing or malformed: then the first code of the same class in the
/// Diagnostic-Code (the remote server's own words) is taken.
fn choose_status(field: &str, diagnostic: &str) -> String {
    let field = field.split_whitespace().next().and_then(enhanced_code);
    let from_diagnostic = first_code_in(diagnostic);
    match (field, from_diagnostic) {
        (Some(f), Some(d)) if f.ends_with(".0.0") && f.as_bytes()[0] == d.as_bytes()[0] => d,
        (Some(f), _) => f,
        (None, Some(d)) => d,
        (None, None) => String::new(),
    }
}

/// `5.1.1`, `4.4.7`, `5.1.10`: an RFC 3463 code (class 2, 4 or 5; subject and detail
/// of one to three digits), normalised; trailing punctuation is allowed.
fn enhanced_code(token: &str) -> Option<String> {
    let token = token.trim_end_matches(|c: char| !c.is_ascii_digit());
    let mut parts = token.split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !matches!(class, "2" | "4" | "5") {
        return None;
    }
    let number =
        |s: &str| -> Option<u32> { (1..=3).contains(&s.len()).then(|| s.parse().ok()).flatten() };
    Some(format!("{class}.{}.{}", number(subject)?, number(detail)?))
}

/// The first enhanced status code in a diagnostic (`550-5.1.1 The email account …`),
/// not part of a longer dotted number (an IP address, a version).
fn first_code_in(text: &str) -> Option<String> {
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if !matches!(c, b'2' | b'4' | b'5') || b.get(i + 1) != Some(&b'.') {
            continue;
        }
        if i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.') {
            continue;
        }
        let end = b[i..]
            .iter()
            .position(|c| !(c.is_ascii_digit() || *c == b'.'))
            .map_or(b.len(), |k| i + k);
        let token = text[i..end].trim_end_matches('.');
        if token.split('.').count() == 3
            && let Some(code) = enhanced_code(token)
        {
            return Some(code);
        }
    }
    None
}

/// A feedback report (RFC 5965). `abuse` (spam) and `fraud` (phishing: our reminder
/// taken for a scam) both say the recipient's side does not want this mail: an e-mail
/// opt-out. `virus` is a scanner's verdict and `auth-failure` (RFC 6591) a failed
/// DKIM or SPF check — about our mail, not the customer's wish: refused. `not-spam`
/// (RFC 6430) is recorded; `other` and unknown types are left alone.
fn feedback_notice(fields: &[(String, String)]) -> Notice {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let kind_word = get("feedback-type")
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or("")
        .to_ascii_lowercase();
    let kind = match kind_word.as_str() {
        "abuse" | "fraud" => Kind::Complaint,
        "not-spam" => Kind::NotSpam,
        "virus" | "auth-failure" => Kind::Refused,
        _ => Kind::Other,
    };
    let address = get("original-rcpt-to")
        .map(address_of)
        .filter(|a| !redacted(a))
        .unwrap_or_default();
    let mut detail = format!("Feedback-Type: {kind_word}");
    for name in ["User-Agent", "Arrival-Date", "Source-IP"] {
        if let Some(v) = get(name) {
            detail.push_str(&format!(", {name}: {v}"));
        }
    }
    Notice {
        kind,
        action: kind_word,
        status: String::new(),
        address,
        detail: shorten(&one_line(&detail)),
    }
}

/// A recipient a feedback report hides: no domain part, or a local part of `redacted`,
/// asterisks or x's.
fn redacted(address: &str) -> bool {
    let Some((local, _)) = address.rsplit_once('@') else {
        return true;
    };
    local.is_empty()
        || local.eq_ignore_ascii_case("redacted")
        || local.chars().all(|c| matches!(c, '*' | 'x' | 'X'))
}

/// What a message that is neither a DSN nor a feedback report is, for the list of
/// messages left alone.
fn what_else(
    message: &mail_parser::Message<'_>,
    header: &dyn Fn(&str) -> Option<String>,
) -> String {
    let report_type = message
        .root_part()
        .content_type()
        .filter(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        .map(|ct| {
            ct.attribute("report-type")
                .unwrap_or("")
                .to_ascii_lowercase()
        });
    if let Some(t) = report_type {
        return match t.as_str() {
            "disposition-notification" => "a read receipt (RFC 8098)".into(),
            "delivery-status" | "feedback-report" => {
                format!("a {t} report without its {t} part")
            }
            _ => format!("a report of type `{}`", one_line(&t)),
        };
    }
    let auto = header("Auto-Submitted")
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| !v.is_empty() && v != "no")
        || header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some();
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_ascii_lowercase();
    let daemon = ["mailer-daemon@", "postmaster@"]
        .iter()
        .any(|p| from.starts_with(p));
    if daemon {
        "from the mail system, but with no delivery-status part to read (a bounce in prose only?)"
            .into()
    } else if auto {
        "an automatic reply".into()
    } else {
        "not a delivery status notification or a feedback report".into()
    }
}

/// The report fields of a `message/delivery-status` or `message/feedback-report` body:
/// `Name: value` lines, folded lines unfolded, in groups separated by blank lines.
struct Fields {
    groups: Vec<Vec<(String, String)>>,
}

impl Fields {
    fn parse(text: &str) -> Fields {
        let mut groups: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for line in text.lines() {
            let current = groups.last_mut().expect("one group at least");
            if line.trim().is_empty() {
                if !current.is_empty() {
                    groups.push(Vec::new());
                }
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = current.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue; // not a field: garbage in a report is skipped
            };
            let name = name.trim().to_string();
            // A recipient's first field again without a blank line before it: a new
            // recipient (some MTAs leave the blank lines out).
            let starts_recipient = ["final-recipient", "original-recipient", "action"]
                .iter()
                .any(|f| name.eq_ignore_ascii_case(f));
            if starts_recipient && current.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                groups.push(Vec::new());
            }
            let current = groups.last_mut().expect("one group at least");
            current.push((name, value.trim().to_string()));
        }
        groups.retain(|g| !g.is_empty());
        Fields { groups }
    }

    /// The groups about a recipient (those with a Final-Recipient or an Action).
    fn recipients(&self) -> impl Iterator<Item = &[(String, String)]> {
        self.groups
            .iter()
            .filter(|g| {
                g.iter().any(|(n, _)| {
                    n.eq_ignore_ascii_case("final-recipient") || n.eq_ignore_ascii_case("action")
                })
            })
            .map(Vec::as_slice)
    }

    /// The first value of a field in any group.
    fn first(&self, name: &str) -> Option<&str> {
        self.groups
            .iter()
            .flatten()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every field, in order (a feedback report is one group).
    fn all(&self) -> Vec<(String, String)> {
        self.groups.iter().flatten().cloned().collect()
    }
}

/// A part's bytes as text: UTF-8 where it is, Latin-1 elsewhere (report fields are
/// ASCII by definition; a stray byte must not lose the rest).
fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn part_bytes<'a>(body: &'a PartType<'_>) -> &'a [u8] {
    match body {
        PartType::Text(t) | PartType::Html(t) => t.as_bytes(),
        PartType::Binary(b) | PartType::InlineBinary(b) => b,
        PartType::Message(m) => m.raw_message(),
        PartType::Multipart(_) => b"",
    }
}

/// The Message-ID of a block of returned headers.
fn headers_id(parser: &MessageParser, bytes: &[u8]) -> Option<String> {
    parser
        .parse_headers(bytes)
        .and_then(|m| m.message_id().map(msg_id))
        .filter(|id| !id.is_empty())
}

/// `<id@host>` → `id@host`, as contacts record it.
fn msg_id(raw: &str) -> String {
    raw.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// The one message id a header value names (`<a@b>`), or `None` for none or several.
fn single_id(value: &str) -> Option<String> {
    let ids: Vec<&str> = value
        .split('<')
        .skip(1)
        .filter_map(|s| s.split_once('>').map(|(id, _)| id.trim()))
        .filter(|id| id.contains('@') && !id.contains(char::is_whitespace))
        .collect();
    match ids.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

/// `rfc822; Anna@Example.com` or `<anna@example.com>` → the address.
fn address_of(value: &str) -> String {
    let v = value.split_once(';').map_or(value, |(_, a)| a);
    v.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// Whitespace (line breaks included) collapsed to single spaces, control characters
/// dropped.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= DETAIL {
        return text.to_string();
    }
    let mut s: String = text.chars().take(DETAIL - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests;
