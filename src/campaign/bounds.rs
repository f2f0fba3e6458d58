//! Every value of a campaign file that cannot work, found when the file is read — before
//! any customer is loaded or any message rendered — and each reported at its line and
//! column with what is allowed.
//!
//! The rule (issue 12): a number, date, URL or bank code in the campaign that would make
//! the run panic, write a broken file (NaN in a PDF, a QR code with a wrong IBAN, an
//! address outside the envelope window) or do something other than what it says (a cap
//! of `-7` days, a `javascript:` payment link) is a configuration error, exit 1, never
//! discovered customer by customer. Every problem is listed at once.

use crate::campaign::{Campaign, Creditor, SmsConfig};
use crate::diag::Diagnostic;
use crate::payment::account::{check_bic, check_iban};
use crate::spans::Spans;

/// The most SMS segments a message may be cut into: gateways and handsets concatenate
/// up to about ten (1,530 GSM-7 characters); more is refused or arrives in pieces.
pub const MAX_SMS_SEGMENTS: std::ops::RangeInclusive<u32> = 1..=10;
/// EPC069-12 allows the beneficiary's name 70 characters in the payment QR code.
const MAX_CREDITOR_NAME_CHARS: usize = 70;

/// Every problem of `c`'s settings, at its place in the campaign file; empty when the
/// campaign can run. The plan's ladder, matrix and policy are checked by
/// [`crate::plan::Rules::checked`], the letter layout by
/// [`crate::campaign::letters::LetterConfig::problems`].
pub fn check(c: &Campaign, at: &Spans) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    creditor(&c.creditor, at, &mut out);
    sms(&c.sms, at, &mut out);
    for (path, msg) in c.letters.problems() {
        let path: Vec<&str> = std::iter::once("letters").chain(path).collect();
        out.push(at.error(&path, msg));
    }
    if let Some(plan) = &c.plan
        && let Err(crate::diag::Error::Config(d)) = crate::plan::Rules::checked(plan, at)
    {
        out.extend(d);
    }
    out
}

fn creditor(c: &Creditor, at: &Spans, out: &mut Vec<Diagnostic>) {
    let name = c.name.trim();
    if name.is_empty() {
        out.push(at.error(
            &["creditor", "name"],
            "creditor.name is empty (expected who is owed the money: it signs every message and is the beneficiary of every transfer)",
        ));
    } else if c.name.chars().any(crate::diag::is_unprintable) {
        out.push(at.error(
            &["creditor", "name"],
            format!(
                "creditor.name: `{}` contains control or invisible characters (expected printable text: a line break would shift every field of the payment QR code)",
                crate::diag::escape_control(&c.name)
            ),
        ));
    } else if c.name.chars().count() > MAX_CREDITOR_NAME_CHARS {
        out.push(at.error(
            &["creditor", "name"],
            format!(
                "creditor.name is {} characters long (expected at most {MAX_CREDITOR_NAME_CHARS}, what a SEPA transfer and its QR code carry as the beneficiary)",
                c.name.chars().count()
            ),
        ));
    }
    if let Some(short) = &c.short_name
        && let Err(msg) = check_short_name(short)
    {
        out.push(at.error(
            &["creditor", "short_name"],
            format!("creditor.short_name: {msg}"),
        ));
    }
    if let Some(iban) = &c.iban
        && let Err(msg) = check_iban(iban)
    {
        out.push(at.error(&["creditor", "iban"], format!("creditor.iban: {msg}")));
    }
    if let Some(bic) = &c.bic
        && let Err(msg) = check_bic(bic)
    {
        out.push(at.error(&["creditor", "bic"], format!("creditor.bic: {msg}")));
    }
    if let Some(country) = &c.country
        && let Err(msg) = crate::values::check_country(country)
    {
        out.push(at.error(&["creditor", "country"], format!("creditor.country: {msg}")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (k, acc) in c.accounts.iter().enumerate() {
        let key = k.to_string();
        for (field, msg) in acc.problems() {
            out.push(at.error(
                &["creditor", "accounts", &key, field],
                format!("creditor.accounts[{k}].{field}: {msg}"),
            ));
        }
        if !seen.insert(acc.currency.trim()) {
            out.push(at.error(
                &["creditor", "accounts", &key, "currency"],
                format!(
                    "creditor.accounts[{k}]: a second {} account (expected one account per currency: which one a payer uses must not be a guess)",
                    acc.currency.trim()
                ),
            ));
        }
    }
    if let Some(site) = &c.website
        && let Err(msg) = check_website(site)
    {
        let d = at.error(&["creditor", "website"], format!("creditor.website: {msg}"));
        out.push(if site.contains('@') {
            d.hiding_source()
        } else {
            d
        });
    }
    for (key, value) in [("email", &c.email), ("reply_to", &c.reply_to)] {
        if let Some(v) = value
            && !crate::values::is_sendable_email(v.trim())
        {
            out.push(at.error(
                &["creditor", key],
                format!(
                    "creditor.{key}: `{}` is not an e-mail address every message can carry (expected name@domain, e.g. credit@example.com)",
                    crate::diag::escape_control(v)
                ),
            ));
        }
    }
}

/// The creditor's website, printed in messages and letters: an `http(s)://` address
/// with a host, without `user:password@` (a `javascript:` link or a credential would
/// reach every customer).
/// The name SMS carry: what an alphanumeric sender ID can be — 1 to 11 of A–Z, a–z,
/// 0–9, space, `.`, `-`, `&` (the set carriers pass on; a longer or other one is
/// replaced by a number, or refused).
pub fn check_short_name(text: &str) -> Result<(), String> {
    let n = text.chars().count();
    if text.trim().is_empty() {
        return Err(
            "is empty (expected the creditor's short name, at most 11 characters, e.g. Nordlicht)"
                .into(),
        );
    }
    if n > 11 {
        return Err(format!(
            "`{text}` is {n} characters long (expected at most 11: it doubles as an alphanumeric SMS sender ID)"
        ));
    }
    if let Some(c) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '&')))
    {
        return Err(format!(
            "`{}` contains `{}` (expected letters A-Z, digits, spaces, `.`, `-` or `&`: what an alphanumeric SMS sender ID may hold)",
            crate::diag::escape_control(text),
            crate::diag::escape_control(&c.to_string())
        ));
    }
    Ok(())
}

pub fn check_website(text: &str) -> Result<(), String> {
    let shown = crate::diag::escape_control(&crate::redact::url(text)).into_owned();
    let expected = "expected a web address such as https://www.example.com";
    if text
        .chars()
        .any(|c| c.is_whitespace() || crate::diag::is_unprintable(c))
    {
        return Err(format!(
            "`{shown}` contains spaces or control characters ({expected})"
        ));
    }
    let u =
        url::Url::parse(text).map_err(|e| format!("`{shown}` is not a URL: {e} ({expected})"))?;
    if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{shown}` is not a web address ({expected})"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!(
            "`{shown}` holds a user name or password, which every message would print ({expected})"
        ));
    }
    Ok(())
}

fn sms(s: &SmsConfig, at: &Spans, out: &mut Vec<Diagnostic>) {
    if !MAX_SMS_SEGMENTS.contains(&s.max_segments) {
        out.push(at.error(
            &["sms", "max_segments"],
            format!(
                "sms.max_segments: {} (expected {} to {} segments: 0 would refuse every SMS, and gateways concatenate at most about ten)",
                s.max_segments,
                MAX_SMS_SEGMENTS.start(),
                MAX_SMS_SEGMENTS.end()
            ),
        ));
    }
    for (k, lang) in s.transliterate.iter().enumerate() {
        if let Err(msg) = crate::values::check_language(lang) {
            out.push(at.error(
                &["sms", "transliterate", &k.to_string()],
                format!("sms.transliterate: {msg}"),
            ));
        }
    }
    if let Some(cost) = &s.cost {
        if let Err(msg) = crate::money::Currency::parse(&cost.currency) {
            out.push(at.error(
                &["sms", "cost", "currency"],
                format!("sms.cost.currency: {msg}"),
            ));
        }
        for country in cost.by_country.keys() {
            if crate::values::check_country(country).ok().as_deref() != Some(country.as_str()) {
                out.push(at.error(
                    &["sms", "cost", "by_country", country],
                    format!(
                        "sms.cost.by_country: `{}` is not a country code (expected ISO 3166-1 alpha-2 in capitals, such as GB, PL)",
                        crate::diag::escape_control(country)
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_short_name_is_what_an_sms_sender_id_can_hold() {
        assert!(super::check_short_name("Nordlicht").is_ok());
        assert!(super::check_short_name("A&B Energy").is_ok());
        let long = super::check_short_name("Nordlicht Utilities").unwrap_err();
        assert!(
            long.contains("19 characters") && long.contains("at most 11"),
            "{long}"
        );
        let odd = super::check_short_name("Żabka").unwrap_err();
        assert!(odd.contains("`Ż`"), "{odd}");
        assert!(super::check_short_name("  ").is_err());
    }

    use super::*;

    #[test]
    fn a_website_is_an_http_address_without_credentials() {
        assert!(check_website("https://pay.nordlicht.example").is_ok());
        assert!(check_website("http://www.example.com/kontakt").is_ok());
        for bad in [
            "javascript:alert(1)",
            "www.example.com",
            "https://u:secret@example.com",
            "https://exa mple.com",
        ] {
            let e = check_website(bad).unwrap_err();
            assert!(!e.contains("secret"), "{e}");
        }
    }
}
