//! DKIM signatures (RFC 6376), relaxed/relaxed, RSA-SHA256, with the `mail-auth` crate.
//!
//! The key is read from the file `DUNWELL_DKIM_KEY` names (PEM, PKCS#1 or PKCS#8);
//! `DUNWELL_DKIM_SELECTOR` and `DUNWELL_DKIM_DOMAIN` (default: the From address's
//! domain) name the DNS record. Content-Type is not signed: lettre writes it in the
//! MIME body part, so a signature over it would never verify.

use crate::diag::{Error, Result};
use mail_auth::common::crypto::{RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};

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
    signer: DkimSigner<RsaKey<Sha256>, Done>,
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
        let der = rustls_pki_types::PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| format!("not a PEM private key: {e}"))?;
        let key =
            RsaKey::<Sha256>::from_key_der(der).map_err(|e| format!("not an RSA key: {e}"))?;
        let signer = DkimSigner::from_key(key)
            .domain(domain)
            .selector(selector)
            .headers(SIGNED)
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed);
        Ok(Dkim { signer })
    }

    /// The message with its `DKIM-Signature:` header first.
    pub fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, String> {
        let sig = self.signer.sign(message).map_err(|e| e.to_string())?;
        let header = sig.to_header();
        let mut out = Vec::with_capacity(header.len() + message.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(message);
        Ok(out)
    }
}
