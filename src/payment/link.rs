//! Personal payment links (SPEC §8): signed tokens that a payment portal can trust.
//!
//! A token carries the campaign, the customer, the amount in minor units, the currency
//! and an expiry date, followed by an HMAC-SHA256 tag (truncated to 128 bits) over all
//! of it. Version 2 (what `sign` makes) gives the campaign's and the customer's length
//! as a LEB128 number, so no id is ever cut; version 1 gave one byte and cut at 255 —
//! three long CJK ids once shared a link — and is still verified for links already out.
//! Tokens are keyed by a secret from the environment — never from a file in the repository,
//! never written to the outbox or the logs. Changing one byte of a token, or signing it
//! with another key, makes verification fail; the tag is compared in constant time.
//!
//! The short form for SMS is an unforgeable reference, not a container: 72 bits of a
//! second HMAC over the same claims, so the whole path (`/s/` + 12 characters) stays
//! under 40 characters. The portal resolves it through the outbox's link list.

use crate::diag::{Error, Result};
use crate::money::Currency;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::NaiveDate;
use hmac::{Hmac, KeyInit, Mac};
use rust_decimal::Decimal;
use sha2::Sha256;
use std::fmt;

/// The environment variable holding the signing secret unless the campaign names another.
pub const DEFAULT_SECRET_ENV: &str = "DUNWELL_LINK_SECRET";
/// The layout `sign` writes; `verify` also reads [`V1`].
const VERSION: u8 = 2;
const V1: u8 = 1;
const TAG_LEN: usize = 16;
const SHORT_LEN: usize = 9;
/// Expiry dates are stored as days since this date (two bytes reach 2199).
const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(2020, 1, 1).expect("a valid date");
const MIN_SECRET_BYTES: usize = 32;

/// What a payment link promises.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Claims {
    pub campaign: String,
    pub customer: String,
    /// The amount due, in the currency's minor units (cents; yen for JPY).
    pub amount_minor: u64,
    #[serde(serialize_with = "currency_code")]
    pub currency: Currency,
    /// The last day the link can be used.
    pub expires: NaiveDate,
}

fn currency_code<S: serde::Serializer>(c: &Currency, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(c.code())
}

impl Claims {
    /// Claims for a decimal amount, converted to minor units (rounded half away from zero).
    pub fn new(
        campaign: &str,
        customer: &str,
        amount: Decimal,
        currency: Currency,
        expires: NaiveDate,
    ) -> std::result::Result<Claims, String> {
        check_expiry(expires)?;
        let mut minor = crate::money::round(amount, currency);
        minor.rescale(currency.minor_units());
        let amount_minor = u64::try_from(minor.mantissa()).map_err(|_| {
            format!("{amount} {} cannot be claimed by a payment link (expected an amount from 0 to 10^12)", currency.code())
        })?;
        Ok(Claims {
            campaign: campaign.into(),
            customer: customer.into(),
            amount_minor,
            currency,
            expires,
        })
    }

    /// The amount as a decimal in its currency.
    pub fn amount(&self) -> Decimal {
        Decimal::from_i128_with_scale(i128::from(self.amount_minor), self.currency.minor_units())
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.campaign.len() + self.customer.len());
        out.push(VERSION);
        // In range: `new` checked it (a claim is never built otherwise).
        let days = (self.expires - EPOCH).num_days() as u16;
        out.extend_from_slice(&days.to_be_bytes());
        out.extend_from_slice(&self.amount_minor.to_be_bytes());
        out.extend_from_slice(self.currency.code().as_bytes());
        for s in [&self.campaign, &self.customer] {
            let mut len = s.len();
            loop {
                let low = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    out.push(low);
                    break;
                }
                out.push(low | 0x80);
            }
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> std::result::Result<Claims, Invalid> {
        let mut r = bytes;
        let mut take = |n: usize| -> std::result::Result<&[u8], Invalid> {
            if r.len() < n {
                return Err(Invalid::Malformed);
            }
            let (head, tail) = r.split_at(n);
            r = tail;
            Ok(head)
        };
        let version = take(1)?[0];
        if version != VERSION && version != V1 {
            return Err(Invalid::Malformed);
        }
        let days = u16::from_be_bytes(take(2)?.try_into().map_err(|_| Invalid::Malformed)?);
        let amount_minor = u64::from_be_bytes(take(8)?.try_into().map_err(|_| Invalid::Malformed)?);
        let code = std::str::from_utf8(take(3)?).map_err(|_| Invalid::Malformed)?;
        let currency = Currency::parse(code).map_err(|_| Invalid::Malformed)?;
        let mut text = || -> std::result::Result<String, Invalid> {
            let len = if version == V1 {
                usize::from(take(1)?[0])
            } else {
                let mut len = 0usize;
                let mut shift = 0;
                loop {
                    let b = take(1)?[0];
                    if shift > 28 {
                        return Err(Invalid::Malformed);
                    }
                    len |= usize::from(b & 0x7f) << shift;
                    shift += 7;
                    if b & 0x80 == 0 {
                        break;
                    }
                }
                len
            };
            String::from_utf8(take(len)?.to_vec()).map_err(|_| Invalid::Malformed)
        };
        let (campaign, customer) = (text()?, text()?);
        if !r.is_empty() {
            return Err(Invalid::Malformed);
        }
        let expires = EPOCH + chrono::Duration::days(i64::from(days));
        Ok(Claims {
            campaign,
            customer,
            amount_minor,
            currency,
            expires,
        })
    }
}

/// The last day a token can name: two bytes of days after 2020-01-01.
pub fn last_expiry() -> NaiveDate {
    EPOCH + chrono::Duration::days(i64::from(u16::MAX))
}

/// An expiry a token can carry (2020-01-01 to 2199-06-06), or why not — never clamped.
pub fn check_expiry(expires: NaiveDate) -> std::result::Result<(), String> {
    if expires < EPOCH || expires > last_expiry() {
        return Err(format!(
            "a payment link cannot expire on {expires} (expected a date from {EPOCH} to {})",
            last_expiry()
        ));
    }
    Ok(())
}

const MIN_SECRET_BITS: f64 = 128.0;

/// Shannon entropy of the byte distribution × length, in bits.
fn entropy_bits(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    let per_byte: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    per_byte * n
}

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Not a token this version of dunwell made.
    Malformed,
    /// Altered, or signed with another secret.
    BadSignature,
    Expired {
        on: NaiveDate,
    },
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::Malformed => f.write_str("not a payment token (malformed)"),
            Invalid::BadSignature => {
                f.write_str("signature does not match (altered, or signed with another secret)")
            }
            Invalid::Expired { on } => write!(f, "expired on {on}"),
        }
    }
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer { key: <redacted> }") // the secret never reaches a log
    }
}

impl Signer {
    /// The signer keyed by the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Signer> {
        // A campaign that names PATH or HOME would sign every link with a value anyone
        // on the machine can read.
        const NOT_SECRETS: &[&str] = &[
            "PATH",
            "HOME",
            "USER",
            "LOGNAME",
            "SHELL",
            "PWD",
            "OLDPWD",
            "LANG",
            "LANGUAGE",
            "TERM",
            "HOSTNAME",
            "TMPDIR",
            "TZ",
            "DISPLAY",
            "EDITOR",
            "VISUAL",
            "PAGER",
            "MAIL",
            "SHLVL",
            "_",
            "MANPATH",
            "LD_LIBRARY_PATH",
            "PYTHONPATH",
            "XDG_RUNTIME_DIR",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
            "SSH_AUTH_SOCK",
            "COLORTERM",
            "HISTFILE",
        ];
        let upper = var.to_ascii_uppercase();
        if NOT_SECRETS.contains(&upper.as_str())
            || ["LC_", "CARGO", "RUSTUP", "XDG_"]
                .iter()
                .any(|p| upper.starts_with(p))
        {
            return Err(Error::Usage(format!(
                "`{var}` is not a secret: name a variable that holds only the payment-link key (e.g. {DEFAULT_SECRET_ENV})"
            )));
        }
        match std::env::var(var) {
            Ok(secret) => Signer::new(secret.as_bytes())
                .map_err(|msg| Error::Environment(format!("{var}: {msg}"))),
            Err(_) => Err(Error::Environment(format!(
                "the payment-link secret is not set: export {var}=… (at least {MIN_SECRET_BYTES} random bytes, e.g. `openssl rand -base64 48`)"
            ))),
        }
    }

    pub fn new(secret: &[u8]) -> std::result::Result<Signer, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the secret is {} bytes long (expected at least {MIN_SECRET_BYTES})",
                secret.len()
            ));
        }
        // A minimal entropy check: the bytes' Shannon entropy times their number. It
        // cannot prove a secret random, but it refuses `aaaa…`, `abababab…` and the like.
        let bits = entropy_bits(secret);
        if bits < MIN_SECRET_BITS {
            return Err(format!(
                "the secret looks guessable (about {bits:.0} bits of entropy, expected at least {MIN_SECRET_BITS:.0}): use random bytes, e.g. `openssl rand -base64 48`"
            ));
        }
        Ok(Signer {
            key: secret.to_vec(),
        })
    }

    fn mac(&self, domain: u8, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        // Long and short tags are separate domains: one can never stand for the other.
        mac.update(&[domain]);
        mac.update(payload);
        mac
    }

    /// The long token: claims and tag, base64url.
    pub fn sign(&self, claims: &Claims) -> String {
        let mut bytes = claims.encode();
        let tag = self.mac(b'L', &bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        B64.encode(bytes)
    }

    /// The short reference for SMS: 12 characters.
    pub fn short(&self, claims: &Claims) -> String {
        let tag = self.mac(b'S', &claims.encode()).finalize().into_bytes();
        B64.encode(&tag[..SHORT_LEN])
    }

    /// Checks a long token's signature, then its expiry against `today`.
    pub fn verify(&self, token: &str, today: NaiveDate) -> std::result::Result<Claims, Invalid> {
        let bytes = B64.decode(token.trim()).map_err(|_| Invalid::Malformed)?;
        if bytes.len() <= TAG_LEN {
            return Err(Invalid::Malformed);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        self.mac(b'L', payload)
            .verify_truncated_left(tag)
            .map_err(|_| Invalid::BadSignature)?;
        let claims = Claims::decode(payload)?;
        if today > claims.expires {
            return Err(Invalid::Expired { on: claims.expires });
        }
        Ok(claims)
    }

    /// Checks that `short` is the short form of `claims` (constant time).
    pub fn verify_short(&self, short: &str, claims: &Claims) -> bool {
        B64.decode(short.trim()).is_ok_and(|tag| {
            tag.len() == SHORT_LEN
                && self
                    .mac(b'S', &claims.encode())
                    .verify_truncated_left(&tag)
                    .is_ok()
        })
    }
}

/// A link with the UTM parameters marketing measures by: medium = channel, content =
/// cluster, campaign = the campaign's name.
pub fn url(base: &str, token: &str, campaign: &str, channel: &str, cluster: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "{}/{token}?utm_source=dunwell&utm_medium={}&utm_campaign={}&utm_content={}",
        base.trim_end_matches('/'),
        enc(channel),
        enc(campaign),
        enc(cluster)
    )
}

/// `links.base_url` (and `link sign --base-url`) as links are made from it, or why it
/// cannot be one. Every e-mail, SMS, letter and page carries `BASE_URL/TOKEN?utm_…`, so:
/// `https://` with a host (`http://` only for localhost and loopback addresses, for
/// tests) — a `javascript:` or `file:` link, or one a network can rewrite, would go to
/// every customer; no `user:password@` (it would be printed in every message); no
/// query or fragment (the token and the UTM parameters are appended). The URL comes back
/// normalised (host in lower case, international names in punycode, no trailing `/`).
/// Messages quote it with any credentials redacted.
pub fn check_base_url(text: &str) -> std::result::Result<String, String> {
    const EXPECTED: &str = "expected https://HOST/PATH, e.g. https://pay.example.com/p";
    let shown = crate::diag::escape_control(&crate::redact::url(text)).into_owned();
    if text
        .chars()
        .any(|c| c.is_whitespace() || crate::diag::is_unprintable(c))
    {
        return Err(format!(
            "`{shown}` contains spaces or control characters ({EXPECTED})"
        ));
    }
    let u =
        url::Url::parse(text).map_err(|e| format!("`{shown}` is not a URL: {e} ({EXPECTED})"))?;
    let local = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match u.scheme() {
        "https" => {}
        "http" if local => {}
        "http" => {
            return Err(format!(
                "`{shown}` is plain http: payment links must be https (http only for localhost and 127.0.0.1, in tests) ({EXPECTED})"
            ));
        }
        other => {
            return Err(format!(
                "`{shown}` is a `{other}:` address, not a web page ({EXPECTED})"
            ));
        }
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{shown}` has no host ({EXPECTED})"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!(
            "`{shown}` holds a user name or password, which every message would print ({EXPECTED}, without `user:password@`)"
        ));
    }
    if u.query().is_some() {
        return Err(format!(
            "`{shown}` has a query (`?…`): the token and the UTM parameters are appended to the URL ({EXPECTED}, without `?`)"
        ));
    }
    if u.fragment().is_some() {
        return Err(format!(
            "`{shown}` has a fragment (`#…`): the token appended after it would never reach the portal ({EXPECTED}, without `#`)"
        ));
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

/// The SMS link: base host, `/s/`, the short reference — no parameters, every character
/// counts in an SMS.
pub fn short_url(base: &str, short: &str) -> String {
    let origin = base.split('/').take(3).collect::<Vec<_>>().join("/");
    format!("{origin}/s/{short}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_that_cannot_carry_a_payment_link_are_refused() {
        assert_eq!(
            check_base_url("https://Pay.Example.com/p/").unwrap(),
            "https://pay.example.com/p"
        );
        assert_eq!(
            check_base_url("http://127.0.0.1:8080/p").unwrap(),
            "http://127.0.0.1:8080/p"
        );
        assert!(check_base_url("http://localhost/p").is_ok());
        for (bad, why) in [
            ("javascript:alert(1)", "`javascript:` address"),
            ("file:///etc/passwd", "`file:` address"),
            ("http://pay.example.com/p", "plain http"),
            (
                "https://user:hunter2@pay.example.com/p",
                "user name or password",
            ),
            ("https://pay.example.com/p?a=1", "has a query"),
            ("https://pay.example.com/p?", "has a query"),
            ("https://pay.example.com/p#x", "has a fragment"),
            ("https://pay.exa mple.com/p", "spaces or control"),
            ("https://pay.example.com/\np", "spaces or control"),
            ("pay.example.com/p", "not a URL"),
            ("https://", "not a URL"),
        ] {
            let e = check_base_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    fn signer() -> Signer {
        Signer::new(b"0123456789abcdef0123456789abcdef-test-only").unwrap()
    }

    fn claims() -> Claims {
        let d = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        Claims::new(
            "sample-2026-11",
            "C0000042",
            Decimal::new(12345, 2),
            Currency::parse("EUR").unwrap(),
            d,
        )
        .unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn round_trip() {
        let t = signer().sign(&claims());
        let c = signer().verify(&t, day("2026-12-31")).unwrap();
        assert_eq!(c, claims());
        assert_eq!(c.amount().to_string(), "123.45");
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{t}"
        );
    }

    #[test]
    fn every_altered_character_is_refused() {
        let t = signer().sign(&claims());
        for i in 0..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(b).unwrap();
            if altered == t {
                continue;
            }
            let r = signer().verify(&altered, day("2026-12-01"));
            assert!(
                matches!(r, Err(Invalid::BadSignature | Invalid::Malformed)),
                "position {i}: {r:?}"
            );
        }
    }

    #[test]
    fn expired_and_foreign_tokens_are_refused() {
        let t = signer().sign(&claims());
        assert_eq!(
            signer().verify(&t, day("2027-01-01")),
            Err(Invalid::Expired {
                on: day("2026-12-31")
            })
        );
        let other = Signer::new(b"another secret, also 32 bytes long!!").unwrap();
        assert_eq!(
            other.verify(&t, day("2026-12-01")),
            Err(Invalid::BadSignature)
        );
        assert_eq!(
            signer().verify("not a token", day("2026-12-01")),
            Err(Invalid::Malformed)
        );
        assert!(Signer::new(b"short").is_err());
        assert!(Signer::new(&[b'a'; 64]).is_err(), "one repeated byte");
        assert!(
            Signer::new(&b"ab".repeat(40)).is_err(),
            "two bytes taking turns"
        );
        assert!(Signer::new(b"Zx8Qe1/9mLr0aT7uVw3KbPq+Y2nH5sJcDfGiOk4Ej6U=").is_ok());
        assert!(
            Signer::from_env("PATH")
                .unwrap_err()
                .to_string()
                .contains("not a secret")
        );
    }

    #[test]
    fn short_form_fits_an_sms() {
        let s = signer().short(&claims());
        let u = short_url("https://pay.example.com/portal", &s);
        let path = u.trim_start_matches("https://pay.example.com");
        assert!(path.len() <= 40, "{path}");
        assert_eq!(path.len(), 15);
        assert!(signer().verify_short(&s, &claims()));
        let mut other = claims();
        other.amount_minor += 1;
        assert!(!signer().verify_short(&s, &other));
    }

    #[test]
    fn jpy_has_no_minor_units() {
        let c = Claims::new(
            "c",
            "x",
            Decimal::new(15500, 0),
            Currency::parse("JPY").unwrap(),
            day("2026-12-31"),
        )
        .unwrap();
        assert_eq!(c.amount_minor, 15500);
        let c = Claims::new(
            "c",
            "x",
            Decimal::new(12345, 3),
            Currency::parse("EUR").unwrap(),
            day("2026-12-31"),
        )
        .unwrap();
        assert_eq!(c.amount_minor, 1235, "12.345 rounds half away from zero");
    }

    #[test]
    fn utm_parameters() {
        let u = url(
            "https://pay.example.com/p/",
            "TOKEN",
            "autumn 2026",
            "email",
            "chronic_late",
        );
        assert_eq!(
            u,
            "https://pay.example.com/p/TOKEN?utm_source=dunwell&utm_medium=email&utm_campaign=autumn%202026&utm_content=chronic_late"
        );
    }

    /// A version-1 token as dunwell made them before: one length byte per text.
    fn v1_token(signer: &Signer, c: &Claims) -> String {
        let mut bytes = vec![V1];
        let days = (c.expires - EPOCH).num_days() as u16;
        bytes.extend_from_slice(&days.to_be_bytes());
        bytes.extend_from_slice(&c.amount_minor.to_be_bytes());
        bytes.extend_from_slice(c.currency.code().as_bytes());
        for t in [&c.campaign, &c.customer] {
            bytes.push(t.len() as u8);
            bytes.extend_from_slice(t.as_bytes());
        }
        let tag = signer.mac(b'L', &bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        B64.encode(bytes)
    }

    #[test]
    fn version_1_tokens_still_verify() {
        let t = v1_token(&signer(), &claims());
        assert_eq!(signer().verify(&t, day("2026-12-01")), Ok(claims()));
        assert_ne!(t, signer().sign(&claims()), "new tokens are version 2");
    }

    #[test]
    fn long_ids_are_never_cut() {
        // 3 × 100 CJK characters = 300 bytes: version 1 cut them at 255 and three such
        // customers shared one link; 128 emoji (512 bytes) signed but never verified.
        let base = "顧客".repeat(50);
        let ids = [format!("{base}A"), format!("{base}B"), "😀".repeat(128)];
        let mut tokens = std::collections::BTreeSet::new();
        for id in &ids {
            let mut c = claims();
            c.customer = id.clone();
            let t = signer().sign(&c);
            assert_eq!(
                signer().verify(&t, day("2026-12-01")).unwrap().customer,
                *id
            );
            assert!(signer().verify_short(&signer().short(&c), &c));
            tokens.insert(t);
        }
        assert_eq!(tokens.len(), 3);
    }

    #[test]
    fn the_longest_valid_claims_make_a_token_that_is_a_folder_name() {
        // Ids and campaign names are at most 64 bytes (validation): the token names the
        // payment page's folder, which must stay under the 255-byte file-name limit.
        let mut c = claims();
        c.customer = "顧".repeat(21) + "x";
        c.campaign = "c".repeat(64);
        c.amount_minor = u64::MAX;
        let t = signer().sign(&c);
        assert!(t.len() <= 240, "{}", t.len());
    }

    #[test]
    fn expiry_outside_the_token_range_is_an_error_not_a_clamp() {
        let eur = Currency::parse("EUR").unwrap();
        let new = |d: &str| Claims::new("c", "x", Decimal::ONE, eur, day(d));
        assert!(new("2019-12-31").is_err());
        assert!(new("2020-01-01").is_ok());
        assert!(new(&last_expiry().to_string()).is_ok());
        assert!(new(&last_expiry().succ_opt().unwrap().to_string()).is_err());
        assert!(Claims::new("c", "x", Decimal::NEGATIVE_ONE, eur, day("2026-01-01")).is_err());
    }

    #[test]
    fn the_secret_is_never_printed() {
        assert!(!format!("{:?}", signer()).contains("0123"));
    }
}
