//! SMTP delivery with lettre's connection on tokio, one transaction at a time per
//! connection, many connections at once.
//!
//! The transaction is driven step by step (MAIL, RCPT, DATA, the message) rather than
//! with `send()`, so that a failure says *where* it happened: before the message data
//! went out the message was certainly not taken and may be retried; after it, the
//! server may have queued it, and retrying could deliver it twice — that is `unknown`.
//! Sockets get `TCP_NODELAY`: lettre writes the message and the closing dot separately,
//! and Nagle's algorithm with delayed ACKs otherwise stalls every message by ~40 ms.

use crate::diag::{Error, Result};
use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// A local relay on a trusted network.
    Plain,
    StartTls,
    /// SMTPS (port 465).
    Tls,
}

/// Where and how to connect: `DUNWELL_SMTP_URL` (`smtp://`, `smtp+starttls://`,
/// `smtps://`, optionally `user:password@`), or `DUNWELL_SMTP_USER` and
/// `DUNWELL_SMTP_PASSWORD` beside it.
#[derive(Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<(String, String)>,
    pub hello: String,
    pub timeout: Duration,
    /// An extra trusted CA (PEM) for a relay with a private certificate.
    pub ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish()
    }
}

impl Config {
    pub fn parse(url: &str) -> std::result::Result<Config, String> {
        let shown = crate::redact::url(url);
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("`{shown}` is not an SMTP URL (expected smtp://host:port, smtp+starttls://… or smtps://…)"))?;
        let (security, default_port) = match scheme {
            "smtp" => (Security::Plain, 25),
            "smtp+starttls" => (Security::StartTls, 587),
            "smtps" => (Security::Tls, 465),
            other => {
                return Err(format!(
                    "unknown scheme `{other}` (expected smtp, smtp+starttls or smtps)"
                ));
            }
        };
        let rest = rest.trim_end_matches('/');
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse::<u16>().map_err(|_| {
                    format!("the port in `{shown}` is not a number from 1 to 65535")
                })?,
            ),
            None => (hostport.to_string(), default_port),
        };
        if host.is_empty() {
            return Err(format!("`{shown}` names no host"));
        }
        let credentials = auth.map(|a| {
            let (u, p) = a.split_once(':').unwrap_or((a, ""));
            (pct_decode(u), pct_decode(p))
        });
        Ok(Config {
            host,
            port,
            security,
            credentials,
            hello: "dunwell.localhost".into(),
            timeout: Duration::from_secs(30),
            ca: None,
        })
    }

    pub fn from_env() -> Result<Config> {
        let url = std::env::var("DUNWELL_SMTP_URL").map_err(|_| {
            Error::Environment(
                "sending e-mail needs DUNWELL_SMTP_URL (e.g. smtp+starttls://relay.example.com:587; credentials in DUNWELL_SMTP_USER and DUNWELL_SMTP_PASSWORD)".into(),
            )
        })?;
        let mut cfg = Config::parse(&url)
            .map_err(|m| Error::Environment(format!("DUNWELL_SMTP_URL: {m}")))?;
        if let (Ok(u), Ok(p)) = (
            std::env::var("DUNWELL_SMTP_USER"),
            std::env::var("DUNWELL_SMTP_PASSWORD"),
        ) {
            cfg.credentials = Some((u, p));
        }
        if let Ok(path) = std::env::var("DUNWELL_SMTP_CA") {
            cfg.ca =
                Some(std::fs::read(&path).map_err(|e| Error::io(std::path::Path::new(&path), e))?);
        }
        Ok(cfg)
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..(i + 3).min(s.len())], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn tls(cfg: &Config) -> std::result::Result<TlsParameters, String> {
    let mut b = TlsParameters::builder(cfg.host.clone());
    if let Some(pem) = &cfg.ca {
        b = b.add_root_certificate(
            lettre::transport::smtp::client::Certificate::from_pem(pem)
                .map_err(|e| format!("DUNWELL_SMTP_CA: {e}"))?,
        );
    }
    b.build_rustls().map_err(|e| e.to_string())
}

/// Connects, greets, upgrades to TLS and authenticates as configured — all within the
/// timeout: a server that stops answering half-way does not hang the send.
pub async fn connect(cfg: &Config) -> std::result::Result<AsyncSmtpConnection, String> {
    tokio::time::timeout(cfg.timeout, connect_steps(cfg))
        .await
        .map_err(|_| {
            format!(
                "{}:{} did not finish greeting, TLS and AUTH within {:?}",
                cfg.host, cfg.port, cfg.timeout
            )
        })?
}

async fn connect_steps(cfg: &Config) -> std::result::Result<AsyncSmtpConnection, String> {
    let hello = ClientId::Domain(cfg.hello.clone());
    let mut conn = match cfg.security {
        Security::Tls => {
            let tls = tls(cfg)?;
            AsyncSmtpConnection::connect_tokio1(
                (cfg.host.as_str(), cfg.port),
                Some(cfg.timeout),
                &hello,
                Some(tls),
                None,
            )
            .await
            .map_err(|e| e.to_string())?
        }
        _ => {
            let tcp = tokio::time::timeout(
                cfg.timeout,
                tokio::net::TcpStream::connect((cfg.host.as_str(), cfg.port)),
            )
            .await
            .map_err(|_| {
                format!(
                    "no answer from {}:{} within {:?}",
                    cfg.host, cfg.port, cfg.timeout
                )
            })?
            .map_err(|e| format!("cannot connect to {}:{}: {e}", cfg.host, cfg.port))?;
            let _ = tcp.set_nodelay(true);
            let mut conn = tokio::time::timeout(
                cfg.timeout,
                AsyncSmtpConnection::connect_with_transport(Box::new(Bounded::new(tcp)), &hello),
            )
            .await
            .map_err(|_| "the server did not greet in time".to_string())?
            .map_err(|e| e.to_string())?;
            if cfg.security == Security::StartTls {
                conn.starttls(tls(cfg)?, &hello)
                    .await
                    .map_err(|e| format!("STARTTLS: {e}"))?;
            }
            conn
        }
    };
    if let Some((user, pass)) = &cfg.credentials {
        conn.auth(
            &[Mechanism::Plain, Mechanism::Login],
            &Credentials::new(user.clone(), pass.clone()),
        )
        .await
        .map_err(|e| format!("AUTH as {user}: {e}"))?;
    }
    Ok(conn)
}

/// A server may send at most this much without waiting for a command: an SMTP reply
/// is a few lines, and lettre reads a reply line whole — a relay sending an endless line
/// would otherwise fill the memory within the timeout.
const MAX_UNPROMPTED_BYTES: usize = 1 << 20;

/// A TCP stream that refuses to read more than [`MAX_UNPROMPTED_BYTES`] between two
/// writes (plain and STARTTLS connections; the count is of bytes on the wire).
#[derive(Debug)]
struct Bounded {
    inner: tokio::net::TcpStream,
    read_since_write: usize,
}

impl Bounded {
    fn new(inner: tokio::net::TcpStream) -> Self {
        Bounded {
            inner,
            read_since_write: 0,
        }
    }
}

impl tokio::io::AsyncRead for Bounded {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = r {
            self.read_since_write += buf.filled().len() - before;
            if self.read_since_write > MAX_UNPROMPTED_BYTES {
                return std::task::Poll::Ready(Err(std::io::Error::other(
                    "the server sent more than 1 MiB without waiting for a command",
                )));
            }
        }
        r
    }
}

impl tokio::io::AsyncWrite for Bounded {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = r
            && n > 0
        {
            self.read_since_write = 0;
        }
        r
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for Bounded {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.inner.peer_addr()
    }
}

/// How one transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// 250 after the data: the server's reply.
    Accepted(String),
    /// A 4xx reply, or the connection failed before the data was sent: try later.
    Transient(String),
    /// The server could not be reached (connect, greeting, TLS, AUTH) or the connection
    /// failed or fell silent before the message's data: certainly not taken, and this
    /// costs the message no attempt — an outage is not its fault.
    Unreachable(String),
    /// A 5xx reply: the server will never take it.
    Permanent(String),
    /// The connection failed while or after the data was sent: it may have been taken.
    Unknown(String),
}

/// One message, MAIL → RCPT → DATA → content. On anything but `Accepted` the
/// connection should be dropped.
pub async fn transaction(
    conn: &mut AsyncSmtpConnection,
    from: &Address,
    to: &Address,
    message: &[u8],
    timeout: Duration,
) -> Sent {
    // Before the data: a 5xx is final, a 4xx is this message's attempt; a connection
    // that failed or fell silent is the server's fault and costs the message nothing.
    let reply_err = |e: lettre::transport::smtp::Error| -> Sent {
        let text = e.to_string();
        if e.is_permanent() {
            Sent::Permanent(text)
        } else if e.is_transient() {
            Sent::Transient(text)
        } else {
            Sent::Unreachable(format!("the connection failed before the data: {text}"))
        }
    };
    let mut opts = Vec::new();
    if !message.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        opts.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let before = async {
        conn.command(Mail::new(Some(from.clone()), opts)).await?;
        conn.command(Rcpt::new(to.clone(), vec![])).await?;
        conn.command(Data).await
    };
    match tokio::time::timeout(timeout, before).await {
        Err(_) => return Sent::Unreachable("no answer before the data within the timeout".into()),
        Ok(Err(e)) => return reply_err(e),
        Ok(Ok(_)) => {}
    }
    match tokio::time::timeout(timeout, conn.message(message)).await {
        Err(_) => Sent::Unknown("timed out waiting for the reply to the data".into()),
        Ok(Ok(r))
            if r.code().severity
                == lettre::transport::smtp::response::Severity::PositiveCompletion =>
        {
            Sent::Accepted(r.message().collect::<Vec<_>>().join(" "))
        }
        // Only a 2xx after the data says the message was taken.
        Ok(Ok(r)) => Sent::Unknown(format!(
            "the server answered {} to the data, not 250: it may or may not have taken it",
            r.code()
        )),
        // A reply is a reply: the server said what it did with the message.
        Ok(Err(e)) if e.is_permanent() => Sent::Permanent(e.to_string()),
        Ok(Err(e)) if e.is_transient() => Sent::Transient(e.to_string()),
        Ok(Err(e)) => Sent::Unknown(format!("connection lost after the data: {e}")),
    }
}

/// Ends a connection politely: QUIT, waiting at most `timeout` for the reply (a server
/// that has gone silent must not hold the send).
pub async fn quit(mut conn: AsyncSmtpConnection, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, conn.quit()).await;
}

/// Drops a connection after a failed transaction. lettre's `abort` sends QUIT and
/// waits for its reply: under the timeout, or the socket is simply closed.
pub async fn abort(mut conn: AsyncSmtpConnection, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, conn.abort()).await;
}

/// The queue id a server names in its 250 reply (`… queued as 4F2A1`), else the reply.
pub fn server_id(reply: &str) -> String {
    reply
        .split_once("queued as ")
        .map(|(_, id)| id.split_whitespace().next().unwrap_or(id))
        .unwrap_or(reply)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = Config::parse("smtp+starttls://user%40x:p%3Ass@relay.example.com:2587").unwrap();
        assert_eq!(c.security, Security::StartTls);
        assert_eq!(c.port, 2587);
        assert_eq!(c.credentials, Some(("user@x".into(), "p:ss".into())));
        assert_eq!(Config::parse("smtps://h").unwrap().port, 465);
        assert_eq!(
            Config::parse("smtp://127.0.0.1:2525").unwrap().credentials,
            None
        );
        assert!(Config::parse("http://h").is_err());
        assert!(!format!("{c:?}").contains("p:ss"));
        assert_eq!(server_id("2.0.0 Ok: queued as 4F2A1"), "4F2A1");
    }
}
