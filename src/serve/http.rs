//! `serve`'s front door (issue 12, item 10): who may ask, what every answer carries, and
//! the connection loop.
//!
//! - **Host and Origin.** DNS rebinding points a hostile name (`evil.example`) at
//!   127.0.0.1: the browser then lets that site's scripts read this server, but it still
//!   sends `Host: evil.example`. So only names that cannot be re-pointed are accepted —
//!   `localhost` and IP-address literals — with the bound port: on a loopback bind the
//!   loopback ones (`127.0.0.1:P`, `localhost:P`, `[::1]:P`); on a LAN bind also the bound
//!   address, or any address literal when bound to all interfaces (0.0.0.0 or ::), since
//!   which one a LAN browser used is not known. A DNS name never is, not even this
//!   machine's. An `Origin`, when sent, must be this same server (`http://` + the Host).
//! - **An access token on a LAN bind.** Anything but a loopback bind serves only under
//!   `/TOKEN/`, a random 128-bit token drawn at start and printed in the URL. The
//!   gallery's links are relative, so the whole gallery and its event stream work under
//!   the prefix; a request without it gets a refusal and no data.
//! - **Headers on every answer**: `X-Content-Type-Options: nosniff`, `Referrer-Policy:
//!   no-referrer` (the token is in the path), `Cache-Control: no-store`, and a
//!   Content-Security-Policy — the gallery's own (its hashes) and the messages' set by
//!   the handler; anything else gets `default-src 'none'; frame-ancestors 'none'`.
//! - **A header-read timeout.** A client that opens a connection and dribbles its
//!   headers is cut off (hyper's `header_read_timeout`; `axum::serve` has no way to set
//!   it). It covers reading a request's head only: a long event stream is a response.
//! - **At most [`MAX_CONNECTIONS`] connections at once.** Each holds a file descriptor;
//!   thousands of idle ones would exhaust them and stop the server (and its file
//!   watcher). One past the limit is not accepted until another ends: it waits in the
//!   kernel's listen backlog, and the header-read timeout ends idle ones.

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Whom this server answers: the bound address and, on a non-loopback bind, the token.
#[derive(Debug)]
pub struct Access {
    bound: SocketAddr,
    token: Option<String>,
}

/// How a `Host` (or an `Origin`'s host) names the server.
#[derive(Debug, PartialEq)]
enum Name {
    Localhost,
    Ip(IpAddr),
    /// A DNS name: never accepted (it can be re-pointed).
    Other,
}

pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

impl Access {
    /// `token` is required exactly when `bound` is not a loopback address.
    pub fn new(bound: SocketAddr, token: Option<String>) -> Access {
        debug_assert_eq!(token.is_none(), is_loopback(bound.ip()));
        Access { bound, token }
    }

    /// A fresh access token: 128 bits from the operating system, as hex.
    pub fn draw_token() -> std::io::Result<String> {
        use rand::TryRng;
        let mut bytes = [0u8; 16];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(std::io::Error::other)?;
        Ok(crate::hash::hex(&bytes))
    }

    /// The gallery's address, with the token when there is one.
    pub fn url(&self) -> String {
        match &self.token {
            Some(t) => format!("http://{}/{t}/", self.bound),
            None => format!("http://{}/", self.bound),
        }
    }

    fn name_ok(&self, name: &Name) -> bool {
        let ip = self.bound.ip();
        match name {
            Name::Localhost => true,
            Name::Ip(a) if is_loopback(*a) => true,
            Name::Ip(a) => {
                !is_loopback(ip) && (ip.is_unspecified() || a.to_canonical() == ip.to_canonical())
            }
            Name::Other => false,
        }
    }

    /// Whether `authority` (`host[:port]`, as in `Host`) names this server.
    fn host_ok(&self, authority: &str) -> bool {
        parse_authority(authority)
            .is_some_and(|(name, port)| port == self.bound.port() && self.name_ok(&name))
    }

    /// The request as the router should see it (the token taken off its path), or why
    /// not.
    fn admit(&self, mut req: Request<Body>) -> Result<Request<Body>, Refusal> {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !self.host_ok(host) {
            return Err(Refusal::Forbidden(
                "this server answers only to its own address (Host: 127.0.0.1:PORT, \
                 localhost:PORT or the address it printed), not to a name that may \
                 point elsewhere",
            ));
        }
        // An absolute-form target (`GET http://other/ HTTP/1.1`) must name it too.
        if let Some(a) = req.uri().authority()
            && !a.as_str().eq_ignore_ascii_case(host)
        {
            return Err(Refusal::Forbidden(
                "the request target names another server",
            ));
        }
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let same = origin
                .to_str()
                .ok()
                .and_then(|o| o.strip_prefix("http://"))
                .is_some_and(|o| o.eq_ignore_ascii_case(host));
            if !same {
                return Err(Refusal::Forbidden(
                    "requests from another site's pages are refused (Origin is not this server)",
                ));
            }
        }
        let Some(token) = &self.token else {
            return Ok(req);
        };
        let path = req.uri().path();
        let rest = path
            .strip_prefix('/')
            .and_then(|p| {
                let (first, rest) = p.split_once('/').map_or((p, None), |(f, r)| (f, Some(r)));
                same_secret(first.as_bytes(), token.as_bytes()).then_some(rest)
            })
            .ok_or(Refusal::Forbidden(
                "this server needs the access token it printed when it started: open the \
                 whole URL (http://ADDRESS/TOKEN/)",
            ))?;
        let Some(rest) = rest else {
            // `/TOKEN` → `/TOKEN/`, so that the gallery's relative links resolve under it.
            return Err(Refusal::Redirect(format!("/{token}/")));
        };
        let target = match req.uri().query() {
            Some(q) => format!("/{rest}?{q}"),
            None => format!("/{rest}"),
        };
        *req.uri_mut() = target
            .parse()
            .map_err(|_| Refusal::Forbidden("a malformed path"))?;
        Ok(req)
    }
}

/// `host[:port]` → the name and the port (80 when none is given).
fn parse_authority(a: &str) -> Option<(Name, u16)> {
    if let Ok(sa) = a.parse::<SocketAddr>() {
        return Some((Name::Ip(sa.ip()), sa.port()));
    }
    let (host, port) = if a.ends_with(']') || !a.contains(':') {
        (a, 80)
    } else {
        let (h, p) = a.rsplit_once(':')?;
        // Digits only: `u16::from_str` would take a `+`.
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        (h, p.parse().ok()?)
    };
    if host.is_empty() {
        return None;
    }
    let name = if host.eq_ignore_ascii_case("localhost") {
        Name::Localhost
    } else if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Name::Ip(IpAddr::V6(v6.parse().ok()?))
    } else if let Ok(v4) = host.parse::<std::net::Ipv4Addr>() {
        Name::Ip(IpAddr::V4(v4))
    } else {
        Name::Other
    };
    Some((name, port))
}

/// Compares in time independent of where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// What a request gets instead of the gallery.
#[derive(Debug)]
enum Refusal {
    /// `403` and a short plain-text reason: no gallery data.
    Forbidden(&'static str),
    /// To the gallery's own address (`/TOKEN` → `/TOKEN/`).
    Redirect(String),
}

impl Refusal {
    fn into_response(self) -> Response<Body> {
        match self {
            Refusal::Forbidden(why) => {
                (StatusCode::FORBIDDEN, format!("forbidden: {why}\n")).into_response()
            }
            Refusal::Redirect(to) => {
                let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
                if let Ok(v) = HeaderValue::from_str(&to) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r
            }
        }
    }
}

/// The headers every answer carries; a handler's own Content-Security-Policy stays.
fn secure(r: &mut Response<Body>) {
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'",
        ));
}

/// Connections served at once: far more than a person's browser tabs (a gallery opens
/// a few, each with its event stream), far fewer than the usual limit of 1,024 open files.
pub const MAX_CONNECTIONS: usize = 256;

/// Accepts connections until the listener fails for good, at most `max_connections` at
/// once; each connection is served by hyper with `header_timeout` to send each request's
/// head.
pub async fn run(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    access: Arc<Access>,
    header_timeout: Duration,
    max_connections: usize,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let app = TowerToHyperService::new(router);
    let limit = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    loop {
        // A permit first, then the connection: past the limit, new connections wait
        // in the listen backlog instead of taking a file descriptor each.
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return; // never closed
        };
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait, as axum::serve does.
                eprintln!("cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let access = access.clone();
        tokio::spawn(async move {
            // Held for the connection's life.
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let app = app.clone();
                let access = access.clone();
                async move {
                    let mut r = match access.admit(req.map(Body::new)) {
                        Ok(req) => hyper::service::Service::call(&app, req)
                            .await
                            .unwrap_or_else(|e: std::convert::Infallible| match e {}),
                        Err(refusal) => refusal.into_response(),
                    };
                    secure(&mut r);
                    Ok::<_, std::convert::Infallible>(r)
                }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            // A client that goes away or times out ends its connection, nothing more.
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(bind: &str) -> Access {
        let bound: SocketAddr = bind.parse().unwrap();
        let token = (!is_loopback(bound.ip())).then(|| "ab".repeat(16));
        Access::new(bound, token)
    }

    #[test]
    fn a_loopback_bind_answers_to_loopback_names_with_its_port_only() {
        let a = access("127.0.0.1:8040");
        for ok in [
            "127.0.0.1:8040",
            "localhost:8040",
            "LocalHost:8040",
            "[::1]:8040",
        ] {
            assert!(a.host_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:8040",
            "127.0.0.1.evil.example:8040",
            "localhost.:8040",
            "127.0.0.1:8041",
            "127.0.0.1",
            "localhost:+8040",
            "192.0.2.2:8040",
            "0.0.0.0:8040",
            "[::1]",
            ":8040",
        ] {
            assert!(!a.host_ok(bad), "{bad}");
        }
        // Port 80 may be left out, as browsers do.
        assert!(access("127.0.0.1:80").host_ok("localhost"));
    }

    #[test]
    fn a_lan_bind_also_answers_to_address_literals_but_never_to_dns_names() {
        let one = access("192.0.2.2:8040");
        assert!(one.host_ok("192.0.2.2:8040"));
        assert!(one.host_ok("127.0.0.1:8040"));
        assert!(!one.host_ok("192.0.2.3:8040"));
        assert!(!one.host_ok("build-box.lan:8040"));
        let all = access("0.0.0.0:8040");
        assert!(all.host_ok("192.0.2.3:8040"));
        assert!(all.host_ok("[2001:db8::1]:8040"));
        assert!(!all.host_ok("192.0.2.3:8041"));
        assert!(!all.host_ok("evil.example:8040"));
        assert_eq!(
            all.url(),
            format!("http://0.0.0.0:8040/{}/", "ab".repeat(16))
        );
    }

    #[tokio::test]
    async fn connections_past_the_limit_wait_until_one_ends() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let access = Arc::new(Access::new(addr, None));
        tokio::spawn(run(listener, router, access, Duration::from_secs(30), 2));
        // Two idle connections take both permits.
        let idle = TcpStream::connect(addr).await.unwrap();
        let _idle2 = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut third = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        third.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let early =
            tokio::time::timeout(Duration::from_millis(400), third.read_to_end(&mut answer)).await;
        assert!(
            early.is_err() && answer.is_empty(),
            "answered past the limit: {}",
            String::from_utf8_lossy(&answer)
        );
        // One ends: the waiting connection is served.
        drop(idle);
        tokio::time::timeout(Duration::from_secs(10), third.read_to_end(&mut answer))
            .await
            .expect("served once a connection ended")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ok"), "{answer}");
    }

    #[test]
    fn tokens_are_fresh_and_compared_whole() {
        let (a, b) = (Access::draw_token().unwrap(), Access::draw_token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(same_secret(a.as_bytes(), a.as_bytes()));
        assert!(!same_secret(a.as_bytes(), b.as_bytes()));
        assert!(!same_secret(a.as_bytes(), &a.as_bytes()[..31]));
    }
}
