//! Checks of one value at a time: ids, free text and its length, phone numbers,
//! languages, countries, time zones, dates, booleans, credit limits.
//!
//! Each returns the value or why it is wrong, in the words that follow
//! `FILE:LINE: column COLUMN:` — what is wrong, then what was expected in parentheses.
//! Values quoted in a message are escaped ([`quote`]): messages go to the terminal.

use crate::diag::{did_you_mean, escape_control, is_unprintable};
use crate::money::{MAX_AMOUNT, parse_amount};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::str::FromStr;

/// The longest id (`customer_id`, `invoice_id`, `payment_id`), in bytes of UTF-8.
///
/// Bytes, not characters: ids go into payment tokens and file names, whose limits are
/// bytes — 128 CJK characters are 384 bytes, 128 emoji 512 (issue 12, items 4 and 5).
/// 64 bytes hold any ERP's invoice or customer number (and a UUID with room to spare).
pub const MAX_ID_BYTES: usize = 64;

/// The longest values of the customer's free-text columns, in characters (issue 12,
/// item 12: a 100,000-character name made letter layout take seconds, a megabyte never
/// finished). Generous for real data: the longest legal names of companies are about
/// 160 characters; an address line holds what a window envelope shows.
pub const MAX_NAME_CHARS: usize = 200;
/// `address_line1`, `address_line2`, `city`, `region`.
pub const MAX_ADDRESS_CHARS: usize = 100;
pub const MAX_POSTAL_CODE_CHARS: usize = 20;
/// An e-mail address, in bytes: RFC 5321 allows a path of 256 octets, `<` and `>`
/// included.
pub const MAX_EMAIL_BYTES: usize = 254;
/// A phone number as written, separators included (E.164 has at most 15 digits).
pub const MAX_PHONE_CHARS: usize = 32;
/// Whether `text` is an e-mail address dunwell can send to: a valid address (RFC 5322,
/// the `email_address` crate) that lettre — which builds and sends every message —
/// also takes, and reads back from the `To:` header as the same address.
///
/// lettre accepts `"a b"@example.com` and `"x<evil@e.com>"@good.com` as addresses, but
/// cannot read them back from the header it writes, so building the message fails: such
/// an address is as unusable as a malformed one, and must be found at load (a warning,
/// e-mail excluded), not as a failed render. Plain addresses (`first.last+tag@example.com`)
/// take a fast path; the header round trip (about 2 µs) is only for the rest.
pub fn is_sendable_email(text: &str) -> bool {
    if !email_address::EmailAddress::is_valid(text) {
        return false;
    }
    let Ok(address) = text.parse::<lettre::Address>() else {
        return false;
    };
    plain_email(text) || round_trips(&address)
}

/// A dot-atom of ASCII letters, digits and `._%+-'` at a domain of letters, digits,
/// dots and hyphens: what nearly every export holds, and what lettre always reads back.
fn plain_email(text: &str) -> bool {
    text.rsplit_once('@').is_some_and(|(user, domain)| {
        !user.is_empty()
            && !domain.is_empty()
            && user
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._%+-'".contains(&b))
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    })
}

/// Whether lettre reads `address` back, unchanged, from the header it writes it into.
fn round_trips(address: &lettre::Address) -> bool {
    use lettre::message::Mailbox;
    Mailbox::new(None, address.clone())
        .to_string()
        .parse::<Mailbox>()
        .is_ok_and(|back| back.email == *address)
}

/// The value of an extra (unknown) column, kept for templates as `customer.extra.NAME`.
pub const MAX_EXTRA_CHARS: usize = 1000;

/// Which rules an id follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// A customer id names files (letters, e-mails, gallery pages): no `/`, `\` or `..`.
    Customer,
    /// Invoice and payment ids never become file names, so `FV/2026/0042`, the most
    /// common invoice number format in Poland, is fine.
    Record,
}

/// `text` quoted for a message: escaped, and cut after 80 characters.
pub fn quote(text: &str) -> String {
    const SHOWN: usize = 80;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("`{}…`", escape_control(&text[..cut])),
        None => format!("`{}`", escape_control(text)),
    }
}

/// A character no id may hold, and what it is: every [`is_unprintable`] character and,
/// in ids only, the zero-width joiners (two ids that look the same must be the same id).
fn id_forbidden(c: char) -> Option<&'static str> {
    match c {
        '\u{200C}' | '\u{200D}' => Some("a zero-width joiner"),
        c => unprintable_kind(c),
    }
}

/// Invisible characters that change how text around them reads or compares — every
/// [`is_unprintable`] character that is not a control character (bidirectional
/// controls, zero-width characters, line separators) and the joiners U+200C and U+200D.
/// For short identifying text: ids (see [`check_id`]) and campaign names.
pub fn is_format_control(c: char) -> bool {
    (is_unprintable(c) && !c.is_control()) || matches!(c, '\u{200C}' | '\u{200D}')
}

/// What kind of [`is_unprintable`] character `c` is, if it is one.
fn unprintable_kind(c: char) -> Option<&'static str> {
    if !is_unprintable(c) {
        return None;
    }
    Some(match c {
        '\u{0}' => "a NUL character",
        c if c.is_control() => "a control character",
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => "a bidirectional control character",
        '\u{2028}' | '\u{2029}' => "a line separator",
        _ => "a zero-width character",
    })
}

fn forbidden_message(text: &str, c: char, kind: &str) -> String {
    format!(
        "{} contains U+{:04X}, {kind} (expected printable characters only)",
        quote(text),
        c as u32
    )
}

/// An id: at most [`MAX_ID_BYTES`] bytes, printable characters only (no control,
/// bidirectional or zero-width characters: they make two different ids look the same,
/// or one id look like another); customer ids also without `/`, `\` or `..`.
pub fn check_id(text: &str, kind: IdKind) -> Result<(), String> {
    if text.len() > MAX_ID_BYTES {
        return Err(format!(
            "{} is {} bytes long (expected an id of at most {MAX_ID_BYTES} bytes in UTF-8)",
            quote(text),
            text.len()
        ));
    }
    // Printable ASCII (almost every id) holds no forbidden character: skip the
    // per-character Unicode checks.
    let printable_ascii = text.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !printable_ascii
        && let Some((c, what)) = text.chars().find_map(|c| Some((c, id_forbidden(c)?)))
    {
        return Err(forbidden_message(text, c, what));
    }
    if kind == IdKind::Customer && (text.contains(['/', '\\']) || text.contains("..")) {
        return Err(format!(
            "{} contains `/`, `\\` or `..` (expected a customer id without path separators: it names files)",
            quote(text)
        ));
    }
    Ok(())
}

/// A name: at most [`MAX_NAME_CHARS`] characters, no NUL, control, bidirectional or
/// zero-width characters. Line breaks and tabs are allowed — a quoted CSV cell holds
/// `Rossi, Giulia⏎c/o Studio Bianchi`, and every renderer turns them into spaces where
/// a line is one line (headers). The joiners U+200C (ZWNJ) and U+200D (ZWJ) are allowed
/// too: Persian (`می‌خواهم`), the Indic scripts and emoji sequences need them to be
/// spelled right, and unlike the characters refused they neither reorder nor hide text.
pub fn check_name(text: &str) -> Result<(), String> {
    check_length(text, MAX_NAME_CHARS)?;
    check_printable(text)
}

/// No [`is_unprintable`] character but line breaks and tabs.
fn check_printable(text: &str) -> Result<(), String> {
    let bad = text
        .chars()
        .filter(|c| !matches!(c, '\n' | '\r' | '\t'))
        .find_map(|c| Some((c, unprintable_kind(c)?)));
    match bad {
        Some((c, what)) => Err(forbidden_message(text, c, what)),
        None => Ok(()),
    }
}

/// At most `max` characters.
pub fn check_length(text: &str, max: usize) -> Result<(), String> {
    // Bytes bound characters from above: most values need no count at all.
    if text.len() <= max {
        return Ok(());
    }
    let n = text.chars().count();
    if n > max {
        return Err(format!(
            "is {n} characters long (expected at most {max} characters)"
        ));
    }
    Ok(())
}

/// An e-mail address no longer than RFC 5321 allows ([`MAX_EMAIL_BYTES`]). Whether it
/// is an address at all is checked by the caller (a warning, not an error).
pub fn check_email_length(text: &str) -> Result<(), String> {
    if text.len() > MAX_EMAIL_BYTES {
        return Err(format!(
            "{} is {} bytes long (expected an e-mail address of at most {MAX_EMAIL_BYTES} bytes, the limit of RFC 5321)",
            quote(text),
            text.len()
        ));
    }
    Ok(())
}

/// The value of an extra column, kept for templates: the same characters as a name,
/// at most [`MAX_EXTRA_CHARS`].
pub fn check_extra(text: &str) -> Result<(), String> {
    check_length(text, MAX_EXTRA_CHARS)?;
    check_printable(text)
}

/// The longest `document` path, in bytes: Linux's `PATH_MAX` is 4096, and an export's
/// folders rarely need a tenth of it.
pub const MAX_DOCUMENT_PATH_BYTES: usize = 1024;

/// An invoice's `document`: a path relative to the folder of the invoices file, with
/// `/` between folders. Returned in a plain form (no `.`, no empty parts, `..` resolved)
/// that cannot leave the export folder — an export names files, it must not be able to
/// make a message carry `/etc/shadow` or `../../.ssh/id_rsa`. Whether the file exists
/// is for the loader, which knows the folder.
pub fn check_document_path(text: &str) -> Result<String, String> {
    const EXPECTED: &str = "expected a path relative to the folder of the invoices file, such as `documents/INV-1.pdf`";
    if text.len() > MAX_DOCUMENT_PATH_BYTES {
        return Err(format!(
            "{} is {} bytes long (expected a path of at most {MAX_DOCUMENT_PATH_BYTES} bytes)",
            quote(text),
            text.len()
        ));
    }
    if let Some(c) = text.chars().find(|c| id_forbidden(*c).is_some()) {
        return Err(format!(
            "{} contains U+{:04X}, {} ({EXPECTED}, of printable characters)",
            quote(text),
            c as u32,
            id_forbidden(c).unwrap_or("a control character")
        ));
    }
    let bytes = text.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if text.starts_with(['/', '\\']) || drive {
        return Err(format!("{} is an absolute path ({EXPECTED})", quote(text)));
    }
    // A Windows export writes `docs\INV-1.pdf`; on Linux that is one odd file name. Said
    // rather than guessed: the column is then fixed once, in the export.
    if text.contains('\\') {
        return Err(format!(
            "{} contains `\\` ({EXPECTED}, with `/` between folders)",
            quote(text)
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "{} leads out of the export folder with `..` ({EXPECTED}, inside that folder)",
                        quote(text)
                    ));
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() || text.ends_with('/') {
        return Err(format!(
            "{} names a folder, not a file ({EXPECTED})",
            quote(text)
        ));
    }
    Ok(parts.join("/"))
}

/// A `governing_law` cell: a law file's code — an ISO 3166-1 country (`DE`) or `EU` —
/// in any case; held upper case. Whether a law file exists for it is the campaign's
/// question (`interest.laws`), asked before anything is rendered.
pub fn check_law_code(text: &str) -> Result<Box<str>, String> {
    let t = text.trim();
    if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Ok(t.to_ascii_uppercase().into_boxed_str());
    }
    Err(format!(
        "{} is not a law's code (expected a two-letter country code such as DE, or EU)",
        quote(text)
    ))
}

/// An `interest_rate` cell: an agreed rate in percent a year (`8.5`, or `8,5` with a
/// comma decimal separator), 0 or from 1 to 100. A spreadsheet's percentage cell holds
/// a fraction (0.085 for 8.5 %): a rate between 0 and 1 is refused rather than read as
/// a hundredth of what the contract says.
pub fn check_rate(text: &str, comma_decimal: bool) -> Result<Decimal, String> {
    let t = text.trim().trim_end_matches('%').trim_end();
    let t = if comma_decimal {
        std::borrow::Cow::Owned(t.replace(',', "."))
    } else {
        std::borrow::Cow::Borrowed(t)
    };
    match t.parse::<Decimal>() {
        Ok(v) if v > Decimal::ZERO && v < Decimal::ONE => Err(format!(
            "{v} looks like a fraction (a spreadsheet percentage cell?) (expected percent a year, such as {} for {v})",
            (v * Decimal::ONE_HUNDRED).normalize()
        )),
        Ok(v) if v >= Decimal::ZERO && v <= Decimal::ONE_HUNDRED => Ok(v.normalize()),
        Ok(v) => Err(format!(
            "{v} % a year is out of range (expected an agreed rate from 0 to 100, percent a year)"
        )),
        Err(_) => Err(format!(
            "{} is not a rate (expected percent a year, such as 8.5)",
            quote(text)
        )),
    }
}

/// A credit limit: an amount, or what a spreadsheet makes of a round one — `5e+05`,
/// `5E+05` (Excel and R write large numbers so). Only the credit limit is read this way:
/// it decides neither what is claimed nor who is contacted, while an amount in an
/// exponent form is more likely a damaged cell than a real receivable.
pub fn parse_credit_limit(text: &str, comma_decimal: bool) -> Result<Decimal, String> {
    let plain = parse_amount(text, None, comma_decimal);
    if plain.is_ok() {
        return plain;
    }
    let t = text.trim();
    let normalised;
    let t = if comma_decimal && t.matches(',').count() == 1 && !t.contains('.') {
        normalised = t.replace(',', ".");
        normalised.as_str()
    } else {
        t
    };
    let Some((mantissa, exponent)) = t.split_once(['e', 'E']) else {
        return plain;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((i, f)) => digits(i) && (f.is_empty() || digits(f)),
        None => digits(mantissa),
    };
    let exp_digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if !mantissa_ok || !digits(exp_digits) || exp_digits.len() > 2 {
        return Err(format!(
            "{} is not an amount (expected digits with an optional `.`, such as 500000, or an exponent form such as 5e+05)",
            quote(text)
        ));
    }
    match Decimal::from_scientific(t) {
        Ok(v) if v <= MAX_AMOUNT => Ok(v.normalize()),
        _ => Err(format!(
            "{} is implausibly large (expected at most {MAX_AMOUNT})",
            quote(text)
        )),
    }
}

/// Years outside this window are typing errors (9999-12-31 placeholders, 0202 for 2020).
pub const YEARS: std::ops::RangeInclusive<i32> = 1970..=2099;

pub fn plausible_date(text: &str) -> Result<NaiveDate, String> {
    let d = parse_date(text)?;
    if !YEARS.contains(&d.year()) {
        return Err(format!(
            "`{text}` is implausible (expected a year between {} and {})",
            YEARS.start(),
            YEARS.end()
        ));
    }
    Ok(d)
}

pub fn parse_bool(text: &str) -> Result<bool, String> {
    let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(text));
    if is(&["true", "yes", "y", "1"]) {
        Ok(true)
    } else if is(&["false", "no", "n", "0"]) {
        Ok(false)
    } else {
        Err(format!(
            "{} is not a yes/no value (expected true or false)",
            quote(text)
        ))
    }
}

/// An E.164 number (`+48601234567`); spaces, dashes, dots and parentheses are allowed
/// between digits and removed.
pub fn normalise_phone(text: &str) -> Result<String, String> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
        && (7..=15).contains(&digits.len());
    if ok {
        Ok(compact)
    } else {
        Err(format!(
            "{} is not a phone number in E.164 form (expected + country code and number, e.g. +48601234567); SMS is excluded for this customer",
            quote(text)
        ))
    }
}

/// A BCP 47 tag whose language is a real ISO 639 language and whose region, if any, a
/// real country: `en`, `pl`, `zh-Hant`, `en-GB`, `es-419`.
pub fn check_language(text: &str) -> Result<Box<str>, String> {
    let tag = text.replace('_', "-");
    let bad = || {
        format!(
            "unknown language tag {} (expected a BCP 47 tag such as en, it, pl, ro, lv, ja, zh, zh-Hant, en-GB)",
            quote(text)
        )
    };
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or("").to_ascii_lowercase();
    let known = match lang.len() {
        2 => isolang::Language::from_639_1(&lang).is_some(),
        3 => isolang::Language::from_639_3(&lang).is_some(),
        _ => false,
    };
    if !known || !lang.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(bad());
    }
    for sub in parts {
        let ok = match sub.len() {
            4 => sub.bytes().all(|b| b.is_ascii_alphabetic()),
            2 => isocountry::CountryCode::for_alpha2(&sub.to_ascii_uppercase()).is_ok(),
            3 => sub.bytes().all(|b| b.is_ascii_digit()),
            5..=8 => sub.bytes().all(|b| b.is_ascii_alphanumeric()),
            _ => false,
        };
        if !ok {
            return Err(bad());
        }
    }
    Ok(tag.into_boxed_str())
}

pub fn check_country(text: &str) -> Result<Box<str>, String> {
    let up = text.to_ascii_uppercase();
    isocountry::CountryCode::for_alpha2(&up)
        .map(|_| up.into_boxed_str())
        .map_err(|_| {
            format!(
                "unknown country {} (expected an ISO 3166-1 alpha-2 code such as IT, PL, JP)",
                quote(text)
            )
        })
}

pub fn check_timezone(text: &str) -> Result<chrono_tz::Tz, String> {
    chrono_tz::Tz::from_str(text).map_err(|_| {
        // Nobody types a time zone of more than 64 bytes: no "did you mean" for it (the
        // comparison costs its length times every zone's).
        let hint = (text.len() <= 64)
            .then(|| did_you_mean(text, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name())))
            .flatten()
            .map(|s| format!(" — did you mean `{s}`?"))
            .unwrap_or_default();
        format!(
            "unknown time zone {} (expected an IANA name such as Europe/Warsaw, Asia/Tokyo){hint}",
            quote(text)
        )
    })
}

/// A campaign date within the years dunwell reads and writes (1970–2099, as every date
/// of the export): every date a message quotes and schedules derives from it.
pub fn plausible_year(d: NaiveDate, what: &str) -> std::result::Result<NaiveDate, String> {
    let years = YEARS;
    if years.contains(&chrono::Datelike::year(&d)) {
        Ok(d)
    } else {
        Err(format!(
            "{what} {d} is out of range (expected a date from {}-01-01 to {}-12-31)",
            years.start(),
            years.end()
        ))
    }
}

/// `YYYY-MM-DD`, with a message that says what is wrong with an impossible date.
pub fn parse_date(text: &str) -> std::result::Result<NaiveDate, String> {
    let t = text.trim();
    let b = t.as_bytes();
    let shape = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4]
            .iter()
            .chain(&b[5..7])
            .chain(&b[8..10])
            .all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T' || b[10] == b' ');
    if !shape {
        return Err(format!(
            "`{t}` is not a date (expected YYYY-MM-DD, e.g. 2026-03-31)"
        ));
    }
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let (y, m, d) = (num(0..4) as i32, num(5..7), num(8..10));
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| {
        if !(1..=12).contains(&m) {
            format!("`{t}` has no month {m} (expected YYYY-MM-DD with a month from 01 to 12)")
        } else {
            let days = days_in_month(y, m);
            format!(
                "`{t}` does not exist: {} {y} has {days} days (expected a real calendar date)",
                month_name(m)
            )
        }
    })
}

fn days_in_month(y: i32, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| chrono::Datelike::day(&d))
}

fn month_name(m: u32) -> &'static str {
    const NAMES: [&str; 12] = [
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
    NAMES[(m as usize).saturating_sub(1).min(11)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_paths_stay_in_the_export_folder() {
        for (given, plain) in [
            ("INV-1.pdf", "INV-1.pdf"),
            ("documents/INV-1.pdf", "documents/INV-1.pdf"),
            ("./documents//2026/./INV-1.pdf", "documents/2026/INV-1.pdf"),
            ("documents/old/../INV-1.pdf", "documents/INV-1.pdf"),
            ("Rechnungen/Übersicht 1.pdf", "Rechnungen/Übersicht 1.pdf"),
            ("FV 2026 0042.xml", "FV 2026 0042.xml"),
        ] {
            assert_eq!(check_document_path(given).as_deref(), Ok(plain), "{given}");
        }
        for (given, why) in [
            ("/etc/passwd", "is an absolute path"),
            ("C:/exports/INV-1.pdf", "is an absolute path"),
            ("\\\\server\\share\\INV-1.pdf", "is an absolute path"),
            ("../INV-1.pdf", "leads out of the export folder"),
            (
                "documents/../../INV-1.pdf",
                "leads out of the export folder",
            ),
            ("documents/../..", "leads out of the export folder"),
            ("documents\\INV-1.pdf", "with `/` between folders"),
            ("documents/", "names a folder"),
            (".", "names a folder"),
            ("INV-1\u{1b}[2J.pdf", "U+001B, a control character"),
            (
                "INV\u{202e}fdp.exe",
                "U+202E, a bidirectional control character",
            ),
            ("INV-1.pdf\n", "U+000A, a control character"),
        ] {
            let e = check_document_path(given).unwrap_err();
            assert!(e.contains(why), "{given:?}: {e}");
            assert!(e.contains("(expected "), "{given:?}: {e}");
        }
        let long = "a/".repeat(600) + "x.pdf";
        assert!(
            check_document_path(&long)
                .unwrap_err()
                .contains("bytes long")
        );
    }

    #[test]
    fn addresses_lettre_cannot_send_are_not_sendable() {
        for ok in [
            "anna@example.com",
            "first.last+tag@example.co.uk",
            "o'brien@example.ie",
            "Zoë@exämple.com",
            "x@localhost",
        ] {
            assert!(is_sendable_email(ok), "{ok}");
        }
        // Valid addresses by RFC 5322 (and to `lettre::Address`), but lettre cannot read
        // them back from the `To:` header it writes: the render would fail.
        for bad in [
            "\"x<evil@e.com>\"@good.com",
            "\"a b\"@example.com",
            "\"a\\\"b\"@x.com",
            "user@[127.0.0.1]",
            "not-an-email",
            "a..b@x.com",
        ] {
            assert!(!is_sendable_email(bad), "{bad}");
        }
    }

    #[test]
    fn the_fast_path_takes_only_addresses_that_round_trip() {
        let chars = ["a", "Z", "1", ".", "_", "%", "+", "-", "'"];
        for domain in ["b.com", "x-y.example", "a"] {
            for a in chars {
                for b in chars {
                    for c in chars {
                        let text = format!("{a}{b}{c}@{domain}");
                        if !email_address::EmailAddress::is_valid(&text) {
                            continue;
                        }
                        let Ok(address) = text.parse::<lettre::Address>() else {
                            continue;
                        };
                        if plain_email(&text) {
                            assert!(round_trips(&address), "{text}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(normalise_phone("+48 601-234-567").unwrap(), "+48601234567");
        assert!(normalise_phone("601234567").is_err());
        assert!(normalise_phone("+0123456789").is_err());
        assert!(normalise_phone("+48abc").is_err());
    }

    #[test]
    fn language_tags() {
        for ok in [
            "en", "pl", "zh-Hant", "en-GB", "es-419", "ja", "lv", "ro", "it", "zh_CN",
        ] {
            assert!(check_language(ok).is_ok(), "{ok}");
        }
        for bad in ["xx", "english", "en-XX", "", "e1"] {
            assert!(check_language(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn customer_ids_cannot_escape_the_outbox() {
        assert!(check_id("C-001", IdKind::Customer).is_ok());
        for bad in ["../etc", "a/b", "a\\b", "FV/2026/0042"] {
            let err = check_id(bad, IdKind::Customer).unwrap_err();
            assert!(err.contains("contains `/`, `\\` or `..`"), "{bad}: {err}");
        }
        assert!(check_id("a\u{7}b", IdKind::Customer).is_err());
    }

    /// Issue 12, item 14: invoice numbers such as `FV/2026/0042` never name a file.
    #[test]
    fn invoice_and_payment_ids_may_hold_slashes() {
        for ok in ["FV/2026/0042", "2026/10/7", "INV\\7", "A..B"] {
            assert_eq!(check_id(ok, IdKind::Record), Ok(()), "{ok}");
        }
        assert!(check_id("FV/2026\u{0}/1", IdKind::Record).is_err());
    }

    /// Issue 12, items 4/5: the limit is in bytes, and the message names it and the length.
    #[test]
    fn ids_are_bounded_in_bytes() {
        let ascii = "C".repeat(MAX_ID_BYTES);
        assert_eq!(check_id(&ascii, IdKind::Customer), Ok(()));
        let err = check_id(&format!("{ascii}1"), IdKind::Customer).unwrap_err();
        assert!(
            err.ends_with("is 65 bytes long (expected an id of at most 64 bytes in UTF-8)"),
            "{err}"
        );
        // 22 CJK characters are 66 bytes: too long, though far below 128 characters.
        let cjk = "顧".repeat(22);
        let err = check_id(&cjk, IdKind::Record).unwrap_err();
        assert!(err.contains("is 66 bytes long"), "{err}");
        assert!(check_id(&"顧".repeat(21), IdKind::Customer).is_ok());
        let emoji = "🦀".repeat(17);
        assert!(
            check_id(&emoji, IdKind::Customer)
                .unwrap_err()
                .contains("is 68 bytes long")
        );
    }

    /// Issue 12, item 14: NUL, bidirectional and zero-width characters in ids.
    #[test]
    fn ids_refuse_invisible_characters() {
        let cases = [
            ("C\u{0}1", "U+0000, a NUL character"),
            ("C\u{1b}[2J", "U+001B, a control character"),
            ("C\u{85}1", "U+0085, a control character"),
            ("C\u{7f}1", "U+007F, a control character"),
            ("C\u{202e}1", "U+202E, a bidirectional control character"),
            ("C\u{2067}1", "U+2067, a bidirectional control character"),
            ("C\u{200f}1", "U+200F, a bidirectional control character"),
            ("C\u{61c}1", "U+061C, a bidirectional control character"),
            ("C\u{200b}1", "U+200B, a zero-width character"),
            ("C\u{2060}1", "U+2060, a zero-width character"),
            ("\u{feff}C1", "U+FEFF, a zero-width character"),
            ("C\u{200c}1", "U+200C, a zero-width joiner"),
            ("C\u{200d}1", "U+200D, a zero-width joiner"),
        ];
        for (id, what) in cases {
            for kind in [IdKind::Customer, IdKind::Record] {
                let err = check_id(id, kind).unwrap_err();
                assert!(
                    err.contains(&format!(
                        "contains {what} (expected printable characters only)"
                    )),
                    "{id:?}: {err}"
                );
                assert!(
                    !err.chars().any(is_unprintable),
                    "the message is escaped: {err:?}"
                );
            }
        }
        assert!(check_id("Łódź-田中-Ωmega", IdKind::Customer).is_ok());
        // The campaign name's check (campaign.rs) refuses what an id refuses.
        for c in [
            '\u{202e}', '\u{2066}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}',
            '\u{61c}',
        ] {
            assert!(is_format_control(c), "{c:?}");
            assert!(id_forbidden(c).is_some(), "{c:?}");
        }
        assert!(!is_format_control('a') && !is_format_control('\u{7}'));
    }

    /// Names keep the joiners (Persian, Indic, emoji) and line breaks, and nothing else
    /// invisible.
    #[test]
    fn names_refuse_controls_but_keep_joiners() {
        for ok in [
            "می\u{200c}خواهم",
            "क्\u{200d}ष",
            "👩\u{200d}💻 Studio",
            "Rossi, Giulia\nc/o Studio Bianchi",
            "Mallory\r\nBcc: x@example.com",
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok:?}");
        }
        for (bad, what) in [
            ("Anna\u{0}", "U+0000, a NUL character"),
            ("Anna \u{1b}[2J", "U+001B, a control character"),
            (
                "Anna \u{202e}kcaB",
                "U+202E, a bidirectional control character",
            ),
            ("An\u{200b}na", "U+200B, a zero-width character"),
            ("Anna\u{2028}", "U+2028, a line separator"),
        ] {
            let err = check_name(bad).unwrap_err();
            assert!(err.contains(what), "{bad:?}: {err}");
        }
    }

    /// Issue 12, item 12.
    #[test]
    fn lengths_name_their_limit() {
        assert_eq!(check_name(&"ż".repeat(200)), Ok(()));
        assert_eq!(
            check_name(&"ż".repeat(201)).unwrap_err(),
            "is 201 characters long (expected at most 200 characters)"
        );
        assert_eq!(check_length(&"x".repeat(20), MAX_POSTAL_CODE_CHARS), Ok(()));
        assert!(check_length(&"x".repeat(21), MAX_POSTAL_CODE_CHARS).is_err());
        let local = "a".repeat(64);
        let long = format!("{local}@{}.example", "d".repeat(240));
        assert!(check_email_length(&long).unwrap_err().ends_with(
            "bytes long (expected an e-mail address of at most 254 bytes, the limit of RFC 5321)"
        ));
        assert_eq!(check_email_length("a@example.com"), Ok(()));
    }

    /// Issue 12, item 15: what R and Excel write for 500000.
    #[test]
    fn credit_limits_in_exponent_form() {
        for (text, want) in [
            ("500000", "500000"),
            ("5e+05", "500000"),
            ("5E+05", "500000"),
            ("1.5e3", "1500"),
            ("2.5E-1", "0.25"),
            ("12.34", "12.34"),
        ] {
            assert_eq!(
                parse_credit_limit(text, false).unwrap().to_string(),
                want,
                "{text}"
            );
        }
        assert_eq!(
            parse_credit_limit("1,5e3", true).unwrap().to_string(),
            "1500"
        );
        for bad in ["abc", "e5", "5e", "5e+999", "1e13", "-5e+05", "5e+05x"] {
            assert!(parse_credit_limit(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn quotes_are_escaped_and_short() {
        assert_eq!(quote("a\u{1b}b"), "`a\\u{1b}b`");
        assert_eq!(quote(&"x".repeat(90)), format!("`{}…`", "x".repeat(80)));
    }
}
