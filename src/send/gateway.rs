//! SMS through an HTTP gateway: a generic JSON POST or a Twilio-compatible form post.
//!
//! `DUNWELL_SMS_URL` (where to POST), `DUNWELL_SMS_KIND` (`json`, the default, or
//! `twilio`), `DUNWELL_SMS_FROM` (sender id or number), `DUNWELL_SMS_AUTH` (a whole
//! `Authorization` header value, e.g. `Bearer …`) or `DUNWELL_SMS_USER` and
//! `DUNWELL_SMS_PASSWORD` (basic auth: Twilio's account SID and token), and for `json`
//! an optional `DUNWELL_SMS_TEMPLATE`: the body with `{{to}}`, `{{text}}`, `{{from}}`,
//! `{{id}}` standing for JSON strings, e.g. `{"msisdn": {{to}}, "message": {{text}}}`.
//!
//! Every request carries an `Idempotency-Key` header (the IETF httpapi draft's name,
//! as Stripe-style APIs take it), the same for every attempt at one message of one
//! journal, and the JSON body's `reference` is the message id.
//!
//! Replies: 2xx delivered; 408 and 429 (the request was not processed) are tried again;
//! other 4xx are final. After a request went out, anything else — a 5xx, a 504 from a
//! proxy, a timeout, a connection lost — may come after the gateway sent the SMS: it is
//! `unknown` and not retried, unless `DUNWELL_SMS_IDEMPOTENT=1` says the gateway
//! deduplicates by the key; then it is tried again. A request that could not connect
//! was never sent and is tried again.

use super::smtp::Sent;
use crate::diag::{Error, Result};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Json,
    Twilio,
}

#[derive(Clone)]
pub struct Config {
    pub url: String,
    pub kind: Kind,
    pub from: String,
    pub auth: Option<String>,
    pub basic: Option<(String, String)>,
    pub template: Option<String>,
    pub timeout: Duration,
    /// The gateway deduplicates requests by their `Idempotency-Key`.
    pub idempotent: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("url", &crate::redact::url(&self.url))
            .field("kind", &self.kind)
            .finish()
    }
}

impl Config {
    /// `None` when `DUNWELL_SMS_URL` is not set: SMS then stay pending.
    pub fn from_env() -> Result<Option<Config>> {
        let Ok(url) = std::env::var("DUNWELL_SMS_URL") else {
            return Ok(None);
        };
        // A URL that cannot be requested is a configuration error before anything is
        // claimed, not an SMS whose fate is unknown.
        match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(Error::Config(vec![crate::diag::Diagnostic::whole_file(
                    "DUNWELL_SMS_URL",
                    format!(
                        "`{}` is not an http:// or https:// URL with a host",
                        crate::redact::url(&url)
                    ),
                )]));
            }
        }
        let kind = match std::env::var("DUNWELL_SMS_KIND").as_deref() {
            Err(_) | Ok("json") => Kind::Json,
            Ok("twilio") => Kind::Twilio,
            Ok(other) => {
                return Err(Error::Environment(format!(
                    "DUNWELL_SMS_KIND `{other}` (expected json or twilio)"
                )));
            }
        };
        let template = std::env::var("DUNWELL_SMS_TEMPLATE").ok();
        if let Some(t) = &template {
            // The template must be JSON once the placeholders are strings.
            let probe = fill(t, "+000", "x", "x", "x");
            serde_json::from_str::<serde_json::Value>(&probe).map_err(|e| {
                Error::Environment(format!(
                    "DUNWELL_SMS_TEMPLATE is not JSON once {{{{to}}}}, {{{{text}}}}, {{{{from}}}}, {{{{id}}}} are filled in: {e}"
                ))
            })?;
        }
        Ok(Some(Config {
            url,
            kind,
            from: std::env::var("DUNWELL_SMS_FROM").unwrap_or_default(),
            auth: std::env::var("DUNWELL_SMS_AUTH").ok(),
            basic: match (
                std::env::var("DUNWELL_SMS_USER"),
                std::env::var("DUNWELL_SMS_PASSWORD"),
            ) {
                (Ok(u), Ok(p)) => Some((u, p)),
                _ => None,
            },
            template,
            timeout: Duration::from_secs(30),
            idempotent: match std::env::var("DUNWELL_SMS_IDEMPOTENT").as_deref() {
                Err(_) | Ok("" | "0" | "false" | "no") => false,
                Ok("1" | "true" | "yes") => true,
                Ok(other) => {
                    return Err(Error::Environment(format!(
                        "DUNWELL_SMS_IDEMPOTENT `{other}` (expected 1 or 0)"
                    )));
                }
            },
        }))
    }
}

/// The template with each placeholder replaced by its JSON string, in one pass: a
/// value that itself contains `{{from}}` (a customer's name in the text) stays text.
fn fill(template: &str, to: &str, text: &str, from: &str, id: &str) -> String {
    let j = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut out = String::with_capacity(template.len() + text.len() + 64);
    let mut rest = template;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let value = [
            ("{{to}}", to),
            ("{{text}}", text),
            ("{{from}}", from),
            ("{{id}}", id),
        ]
        .into_iter()
        .find(|(k, _)| tail.starts_with(k));
        match value {
            Some((k, v)) => {
                out.push_str(&j(v));
                rest = &tail[k.len()..];
            }
            None => {
                out.push_str("{{");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The most of a gateway's reply that is read.
const MAX_REPLY_BYTES: usize = 64 << 10;

pub fn client(cfg: &Config) -> std::result::Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout)
        // A redirect is not followed: reqwest would turn a POST into a GET without the
        // message (and a 307 would post it to another address).
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())
}

/// The key for every attempt at message `id` of the journal `journal_id`: the same on a
/// retry and on `--resend-unknown`, different for another outbox.
pub fn idempotency_key(journal_id: &str, id: &str) -> String {
    let h = crate::hash::sha256_hex(format!("{journal_id}\0{id}").as_bytes());
    format!("dunwell-{}", &h[..32])
}

/// One SMS.
pub async fn send(
    client: &reqwest::Client,
    cfg: &Config,
    id: &str,
    key: &str,
    to: &str,
    text: &str,
) -> Sent {
    let mut req = client.post(&cfg.url).header("Idempotency-Key", key);
    if let Some(a) = &cfg.auth {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    if let Some((u, p)) = &cfg.basic {
        req = req.basic_auth(u, Some(p));
    }
    req = match cfg.kind {
        Kind::Json => {
            let body = match &cfg.template {
                Some(t) => fill(t, to, text, &cfg.from, id),
                None => {
                    serde_json::json!({"to": to, "text": text, "from": cfg.from, "reference": id})
                        .to_string()
                }
            };
            req.header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
        }
        Kind::Twilio => req.form(&[("To", to), ("From", cfg.from.as_str()), ("Body", text)]),
    };
    // What may have been sent is retried only where the gateway deduplicates.
    let maybe_sent = |reply: String| {
        if cfg.idempotent {
            Sent::Transient(reply)
        } else {
            Sent::Unknown(format!(
                "{reply} (the gateway may have sent it; not retried — see --resend-unknown)"
            ))
        }
    };
    // reqwest's errors name the URL, which may hold a key: never into the journal.
    match req.send().await {
        Err(e) if e.is_connect() => {
            Sent::Unreachable(format!("cannot connect: {}", e.without_url()))
        }
        // Never built, never sent.
        Err(e) if e.is_builder() => Sent::Permanent(format!(
            "the request could not be made: {}",
            e.without_url()
        )),
        Err(e) if e.is_timeout() => maybe_sent(format!("no answer in time: {}", e.without_url())),
        Err(e) => maybe_sent(e.without_url().to_string()),
        Ok(mut resp) => {
            let status = resp.status();
            // At most 64 kB of the reply: a gateway that sends an endless body must not
            // fill the memory.
            let mut raw = Vec::new();
            let mut read_error = None;
            loop {
                match resp.chunk().await {
                    Ok(Some(c)) => {
                        let room = MAX_REPLY_BYTES - raw.len();
                        raw.extend_from_slice(&c[..c.len().min(room)]);
                        if raw.len() >= MAX_REPLY_BYTES {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        read_error = Some(e.without_url().to_string());
                        break;
                    }
                }
            }
            if let (Some(e), true) = (&read_error, status.is_success()) {
                return Sent::Accepted(format!("{} ({e})", status.as_u16()));
            }
            let body = String::from_utf8_lossy(&raw).into_owned();
            let short: String = body.chars().take(200).collect();
            let reply = crate::redact::url(&format!("{} {}", status.as_u16(), short.trim()));
            if status.is_success() {
                Sent::Accepted(gateway_id(&body).unwrap_or(reply))
            } else if status.as_u16() == 408 || status.as_u16() == 429 {
                Sent::Transient(reply)
            } else if status.is_server_error() || status.is_redirection() {
                // A redirect is not followed, and the gateway may have acted on the
                // request before sending it elsewhere.
                maybe_sent(reply)
            } else {
                Sent::Permanent(reply)
            }
        }
    }
}

/// The gateway's id for the message (`sid`, `id`, `message_id`), if its reply has one.
fn gateway_id(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    ["sid", "id", "message_id"]
        .iter()
        .find_map(|k| v.get(k))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_values_are_json_strings() {
        let body = fill(
            r#"{"msisdn": {{to}}, "message": {{text}}}"#,
            "+48600100200",
            "Zapłać \"teraz\"\n",
            "",
            "",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["message"], "Zapłać \"teraz\"\n");
        assert_eq!(gateway_id(r#"{"sid":"SM123"}"#).as_deref(), Some("SM123"));
        // A value holding a placeholder is not expanded again.
        let body = fill(
            r#"{"to": {{to}}, "text": {{text}}, "from": {{from}}}"#,
            "+40700000000",
            "Ana {{from}} Radu {{",
            "Firma",
            "",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["text"], "Ana {{from}} Radu {{");
        assert_eq!(v["from"], "Firma");
    }
}
