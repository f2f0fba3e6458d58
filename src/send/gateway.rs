//! SMS through an HTTP gateway: a generic JSON POST or a Twilio-compatible form post.
//!
//! `DUNWELL_SMS_URL` (where to POST), `DUNWELL_SMS_KIND` (`json`, the default, or
//! `twilio`), `DUNWELL_SMS_FROM` (sender id or number), `DUNWELL_SMS_AUTH` (a whole
//! `Authorization` header value, e.g. `Bearer …`) or `DUNWELL_SMS_USER` and
//! `DUNWELL_SMS_PASSWORD` (basic auth: Twilio's account SID and token), and for `json`
//! an optional `DUNWELL_SMS_TEMPLATE`: the body with `{{to}}`, `{{text}}`, `{{from}}`,
//! `{{id}}` standing for JSON strings, e.g. `{"msisdn": {{to}}, "message": {{text}}}`.
//!
//! Replies: 2xx delivered; 408, 429 and 5xx are tried again; other 4xx are final. A
//! request that could not connect was not sent; one that timed out may have been.

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
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.url)
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
        let kind = match std::env::var("DUNWELL_SMS_KIND").as_deref() {
            Err(_) | Ok("json") => Kind::Json,
            Ok("twilio") => Kind::Twilio,
            Ok(other) => {
                return Err(Error::Usage(format!(
                    "DUNWELL_SMS_KIND `{other}` (expected json or twilio)"
                )));
            }
        };
        let template = std::env::var("DUNWELL_SMS_TEMPLATE").ok();
        if let Some(t) = &template {
            // The template must be JSON once the placeholders are strings.
            let probe = fill(t, "+000", "x", "x", "x");
            serde_json::from_str::<serde_json::Value>(&probe).map_err(|e| {
                Error::Usage(format!(
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
        }))
    }
}

fn fill(template: &str, to: &str, text: &str, from: &str, id: &str) -> String {
    let j = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    template
        .replace("{{to}}", &j(to))
        .replace("{{text}}", &j(text))
        .replace("{{from}}", &j(from))
        .replace("{{id}}", &j(id))
}

pub fn client(cfg: &Config) -> std::result::Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(cfg.timeout)
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())
}

/// One SMS.
pub async fn send(client: &reqwest::Client, cfg: &Config, id: &str, to: &str, text: &str) -> Sent {
    let mut req = client.post(&cfg.url);
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
    match req.send().await {
        Err(e) if e.is_connect() => Sent::Transient(format!("cannot connect: {e}")),
        Err(e) if e.is_timeout() => Sent::Unknown(format!("no answer in time: {e}")),
        Err(e) => Sent::Unknown(e.to_string()),
        Ok(resp) => {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            let short: String = body.chars().take(200).collect();
            let reply = format!("{} {}", status.as_u16(), short.trim());
            if status.is_success() {
                Sent::Accepted(gateway_id(&body).unwrap_or(reply))
            } else if status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error() {
                Sent::Transient(reply)
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
    }
}
