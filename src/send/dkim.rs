//! DKIM signatures (RFC 6376), relaxed/relaxed, RSA-SHA256: canonicalization and the
//! header written here, the RSA signature by `ring` (already built for rustls). A DKIM
//! library would bring a DNS resolver along for verifying, which dunwell never does.
//! The header is written as `mail-auth` wrote it before (same tags, order and folding).
//!
//! The key is read from the file `DUNWELL_DKIM_KEY` names (PEM, PKCS#1 or PKCS#8);
//! `DUNWELL_DKIM_SELECTOR` and `DUNWELL_DKIM_DOMAIN` (default: the From address's
//! domain) name the DNS record. Content-Type is not signed: lettre writes it in the
//! MIME body part, so a signature over it would never verify.

use crate::diag::{Error, Result};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use sha2::Digest;

/// The headers signed when the message has them.
const SIGNED: [&str; 7] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
];

pub struct Dkim {
    key: RsaKeyPair,
    rng: SystemRandom,
    domain: String,
    selector: String,
}

impl Dkim {
    /// From the environment; `None` when `DUNWELL_DKIM_KEY` is not set.
    pub fn from_env(default_domain: &str) -> Result<Option<Dkim>> {
        let Ok(path) = std::env::var("DUNWELL_DKIM_KEY") else {
            return Ok(None);
        };
        let selector = std::env::var("DUNWELL_DKIM_SELECTOR").map_err(|_| {
            Error::Environment("DUNWELL_DKIM_KEY is set but DUNWELL_DKIM_SELECTOR is not (the DNS record is SELECTOR._domainkey.DOMAIN)".into())
        })?;
        let domain =
            std::env::var("DUNWELL_DKIM_DOMAIN").unwrap_or_else(|_| default_domain.to_string());
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(std::path::Path::new(&path), e))?;
        Dkim::new(&pem, &domain, &selector)
            .map(Some)
            .map_err(|m| Error::Environment(format!("DUNWELL_DKIM_KEY {path}: {m}")))
    }

    pub fn new(pem: &str, domain: &str, selector: &str) -> std::result::Result<Dkim, String> {
        use rustls_pki_types::pem::PemObject;
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| format!("not a PEM private key: {e}"))?;
        let key = match &der {
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            _ => {
                return Err(
                    "not an RSA key: Cryptography layer error: Unsupported RSA key format".into(),
                );
            }
        }
        .map_err(|e| format!("not an RSA key: Cryptography layer error: {e}"))?;
        Ok(Dkim {
            key,
            rng: SystemRandom::new(),
            domain: domain.to_string(),
            selector: selector.to_string(),
        })
    }

    /// The message with its `DKIM-Signature:` header first.
    pub fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = self.signature(message, now)?;
        let mut out = Vec::with_capacity(header.len() + message.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(message);
        Ok(out)
    }

    /// The `DKIM-Signature:` header (with its CRLF) for `message` signed at `now`.
    fn signature(&self, message: &[u8], now: u64) -> std::result::Result<Vec<u8>, String> {
        let (headers, body) = split(message);
        // The signed headers in message order; `h=` lists them last first, then the
        // ones the message lacks (signing their absence), and the hash takes them in
        // `h=` order.
        let mut found = [false; SIGNED.len()];
        let mut signed: Vec<(&[u8], &[u8])> = Vec::new();
        for (name, value) in headers {
            if let Some(k) = SIGNED
                .iter()
                .position(|h| name.eq_ignore_ascii_case(h.as_bytes()))
            {
                signed.push((name, value));
                found[k] = true;
            }
        }
        if signed.is_empty() {
            return Err("No headers found".into());
        }
        signed.reverse();
        let mut h: Vec<&str> = signed
            .iter()
            .map(|(n, _)| std::str::from_utf8(n).unwrap_or_default())
            .collect();
        h.extend(
            SIGNED
                .iter()
                .zip(found)
                .filter(|(_, f)| !f)
                .map(|(n, _)| *n),
        );

        let b64 = base64::engine::general_purpose::STANDARD;
        let mut body_hash = sha2::Sha256::new();
        relaxed_body(body, &mut body_hash);
        let bh = b64.encode(body_hash.finalize());

        let mut data = Vec::with_capacity(1024);
        for (name, value) in &signed {
            relaxed_header(name, value, &mut data);
        }
        write_tags(
            &mut data,
            &self.selector,
            &self.domain,
            &h,
            now,
            &bh,
            "",
            false,
        );
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, &data, &mut sig)
            .map_err(|e| format!("Cryptography layer error: {e}"))?;

        let mut out = Vec::with_capacity(512);
        write_tags(
            &mut out,
            &self.selector,
            &self.domain,
            &h,
            now,
            &bh,
            &b64.encode(&sig),
            true,
        );
        Ok(out)
    }
}

/// A header field: its name, and its value with the line end.
type Field<'a> = (&'a [u8], &'a [u8]);

/// The header fields and the body.
fn split(message: &[u8]) -> (Vec<Field<'_>>, &[u8]) {
    let mut headers = Vec::new();
    let mut start = 0;
    let mut colon = None;
    let mut last = 0u8;
    let mut pos = 0;
    while pos < message.len() {
        let ch = message[pos];
        let continued = || matches!(message.get(pos + 1), Some(b' ' | b'\t'));
        match colon {
            None if ch == b':' => colon = Some(pos),
            None if ch == b'\n' => {
                if last == b'\r' || start == pos {
                    // The empty line that ends the header.
                    return (headers, &message[pos + 1..]);
                } else if !continued() {
                    // A line without a colon: a name without a value.
                    headers.push((&message[start..=pos], &b""[..]));
                    start = pos + 1;
                }
            }
            Some(c) if ch == b'\n' && !continued() => {
                headers.push((&message[start..c], &message[c + 1..=pos]));
                start = pos + 1;
                colon = None;
            }
            _ => {}
        }
        last = ch;
        pos += 1;
    }
    (headers, &[])
}

/// RFC 6376 §3.4.2: the name lower-cased, runs of white space in the value one space,
/// none at the ends.
fn relaxed_header(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.extend(
        name.iter()
            .filter(|c| !c.is_ascii_whitespace())
            .map(u8::to_ascii_lowercase),
    );
    out.push(b':');
    let mut written = false;
    let mut last = 0u8;
    for &ch in value {
        if !ch.is_ascii_whitespace() {
            if matches!(last, b' ' | b'\t') && written {
                out.push(b' ');
            }
            out.push(ch);
            written = true;
        }
        last = ch;
    }
    if last == b'\n' {
        out.extend_from_slice(b"\r\n");
    }
}

/// RFC 6376 §3.4.4: white space runs one space, none at line ends, no empty lines at
/// the end, lines ending in CRLF.
fn relaxed_body(body: &[u8], h: &mut sha2::Sha256) {
    let mut crlf = 0;
    let mut last = 0u8;
    let mut empty = true;
    for &ch in body {
        match ch {
            b' ' | b'\t' => {
                for _ in 0..crlf {
                    h.update(b"\r\n");
                }
                crlf = 0;
                empty = false;
            }
            b'\n' => crlf += 1,
            b'\r' => {}
            _ => {
                for _ in 0..crlf {
                    h.update(b"\r\n");
                }
                crlf = 0;
                if matches!(last, b' ' | b'\t') {
                    h.update(b" ");
                }
                h.update([ch]);
                empty = false;
            }
        }
        last = ch;
    }
    if !empty {
        h.update(b"\r\n");
    }
}

/// The signature's tags. `as_header`: `DKIM-Signature: …` folded with CRLF TAB, ending
/// in CRLF; otherwise the relaxed form that goes into the signed data (folded with
/// spaces, `b=` empty, no line end).
#[allow(clippy::too_many_arguments)]
fn write_tags(
    w: &mut Vec<u8>,
    selector: &str,
    domain: &str,
    h: &[&str],
    t: u64,
    bh: &str,
    b: &str,
    as_header: bool,
) {
    let (start, fold): (&[u8], &[u8]) = if as_header {
        (b"DKIM-Signature: ", b"\r\n\t")
    } else {
        (b"dkim-signature:", b" ")
    };
    w.extend_from_slice(start);
    w.extend_from_slice(b"v=1; a=rsa-sha256; s=");
    w.extend_from_slice(selector.as_bytes());
    w.extend_from_slice(b"; d=");
    w.extend_from_slice(domain.as_bytes());
    w.extend_from_slice(b"; c=relaxed/relaxed;");
    w.extend_from_slice(fold);
    // The column count of the folded part (starts at 1, folds before 76).
    let mut col = 1;
    for (k, name) in h.iter().enumerate() {
        if col + name.len() + 1 >= 76 {
            w.extend_from_slice(fold);
            col = 1;
        }
        let sep: &[u8] = if k > 0 { b":" } else { b"h=" };
        w.extend_from_slice(sep);
        w.extend_from_slice(name.as_bytes());
        col += sep.len() + name.len();
    }
    if t > 0 {
        let value = t.to_string();
        w.push(b';');
        col += 1;
        if col + 2 + value.len() >= 76 {
            w.extend_from_slice(fold);
            col = 1;
        } else {
            w.push(b' ');
            col += 1;
        }
        w.extend_from_slice(b"t=");
        w.extend_from_slice(value.as_bytes());
        col += 2 + value.len();
    }
    for (tag, value) in [(&b"; bh="[..], bh), (&b"; b="[..], b)] {
        w.extend_from_slice(tag);
        col += tag.len();
        for &byte in value.as_bytes() {
            w.push(byte);
            col += 1;
            if col >= 76 {
                w.extend_from_slice(fold);
                col = 1;
            }
        }
    }
    w.push(b';');
    if as_header {
        w.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGES: &[&[u8]] = &[
        b"From: hello@stalw.art\r\nTo: dkim@stalw.art\r\nSubject: Testing  DKIM!\r\n\r\nHere goes the test\r\n\r\n",
        b"From: =?utf-8?q?Nordlicht?= <credit@nordlicht.example>\r\nReply-To: help@nordlicht.example\r\nTo: \"Zofia K.\" <zofia@example.pl>\r\nSubject: =?utf-8?b?RHJvYm5lIHByenlwb21uaWVuaWU6IDQ4OSw3MiB6xYIgY3pla2EgbmEgemFwxYJhdMSZ?=\r\n =?utf-8?b?IGN6ZWthIG5hIHphcMWCYXTEmQ==?=\r\nMessage-ID: <a.b@nordlicht.example>\r\nDate: Fri, 20 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary=\"xyz\"\r\n\r\n--xyz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDzie\xc5\x84 dobry,  \t \r\n\r\n  a\tb  \r\n--xyz--\r\n\r\n\r\n",
        b"from:a@b.c\nsubject:\tx  y\t\n\nbody\n",
        b"From: a@b.c\r\n\r\n",
        b"X-Other: 1\r\nFrom: a@b.c\r\nTo: one@x.y, two@x.y,\r\n\tthree@x.y\r\nSubject: s\r\n\r\n \r\n\t\r\nline\r\n",
    ];

    /// The headers `mail-auth` 0.7 (the DKIM crate dunwell used before) wrote for these
    /// messages with the test key, recorded with their `t=` (RSA PKCS#1 v1.5 signatures
    /// are deterministic): this signer writes the same bytes. That they verify is
    /// tests/send.rs's `dkim_signatures_verify_with_dkimpy`.
    #[test]
    fn same_header_as_mail_auth() {
        let recorded = include_str!("../../tests/fixtures/dkim-mail-auth-0.7.txt");
        let selectors = [
            ("nordlicht.example", "dunwell"),
            (
                "a-very-long-subdomain.of.a-rather-long-domain-name.example",
                "selector-2026-with-a-long-name",
            ),
        ];
        let lines: Vec<&str> = recorded.lines().collect();
        assert_eq!(lines.len(), selectors.len() * MESSAGES.len());
        for pem in [
            include_str!("../../tests/fixtures/dkim-test-key.pem"),
            include_str!("../../tests/fixtures/dkim-test-key-pkcs8.pem"),
        ] {
            for (k, (domain, selector)) in selectors.iter().enumerate() {
                let signer = Dkim::new(pem, domain, selector).unwrap();
                for (m, message) in MESSAGES.iter().enumerate() {
                    let mut cols = lines[k * MESSAGES.len() + m].splitn(3, '\t');
                    let t: u64 = cols.next().unwrap().parse().unwrap();
                    assert_eq!(cols.next(), Some(*domain));
                    let theirs = cols
                        .next()
                        .unwrap()
                        .replace("\\r", "\r")
                        .replace("\\n", "\n")
                        .replace("\\t", "\t");
                    let ours = String::from_utf8(signer.signature(message, t).unwrap()).unwrap();
                    assert_eq!(ours, theirs, "message {m}, {domain}");
                }
            }
        }
        // Any `t=` folds without panicking.
        let signer = Dkim::new(
            include_str!("../../tests/fixtures/dkim-test-key.pem"),
            "d.example",
            "s",
        )
        .unwrap();
        for t in [1u64, 99, 311923920, 9999999999, u64::MAX] {
            for message in MESSAGES {
                signer.signature(message, t).unwrap();
            }
        }
    }

    #[test]
    fn refuses_what_is_not_an_rsa_key() {
        assert!(Dkim::new("not pem", "d.example", "s").is_err());
        // A P-256 key: PKCS#8, but not RSA.
        let ec = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbabLkXPgOBBeB8hC\nk5AX14JDzQcDySmHBKGpwbFtp76hRANCAASua5/8pjUed5Fsc0356WOWXkk7+4tn\n/e+7fap15pDRkIAYjCMSlTUrm5an9INK7M3f+RAxxubdmEiOSFxciTzp\n-----END PRIVATE KEY-----\n";
        assert!(Dkim::new(ec, "d.example", "s").is_err());
    }
}
