//! `serve` facing a hostile network (issue 12, item 10): raw HTTP/1.1 over TCP against
//! the real server — DNS-rebinding Host and cross-site Origin headers, the security
//! headers, the access token of a LAN bind, a client that dribbles its headers.

use crate::util::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One response: status, headers (lower-case names) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `head` (request line and headers, without the blank line) on a fresh
/// connection with `Connection: close` and reads the whole answer.
fn ask(port: u16, head: &str) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "{head}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

fn get(port: u16, path: &str, host: &str) -> Answer {
    ask(port, &format!("GET {path} HTTP/1.1\r\nHost: {host}"))
}

/// The first customer's name the gallery shows: what a refusal must not contain.
fn a_customer_name(index: &str) -> String {
    let after = index
        .split("<aside class=\"who\"><b>")
        .nth(1)
        .expect("a sample");
    after[..after.find("</b>").unwrap()].to_string()
}

/// A message file the gallery links to, ending in `suffix`.
fn message(index: &str, suffix: &str) -> String {
    index
        .split("src=\"")
        .skip(1)
        .map(|p| &p[..p.find('"').unwrap()])
        .find(|p| p.starts_with("m/") && p.ends_with(suffix))
        .unwrap_or_else(|| panic!("no m/…{suffix} in the gallery"))
        .to_string()
}

fn refused(a: &Answer, name: &str, what: &str) {
    assert_eq!(a.status, 403, "{what}: {}", a.body);
    assert!(a.body.starts_with("forbidden: "), "{what}: {}", a.body);
    assert!(
        !a.body.contains(name) && !a.body.contains("<article") && a.body.len() < 400,
        "{what}: the refusal carries data: {}",
        a.body
    );
}

#[test]
fn serve_answers_only_to_its_own_host_and_origin_dns_rebinding_gets_no_data() {
    let dir = tempdir();
    let server = Serve::start(&small_campaign(dir.path(), true), &[]);
    let p = server.port;
    assert_eq!(server.url, format!("http://127.0.0.1:{p}/"));

    let good = get(p, "/", &format!("127.0.0.1:{p}"));
    assert_eq!(good.status, 200);
    let name = a_customer_name(&good.body);
    let email = message(&good.body, ".html");
    for host in [format!("localhost:{p}"), format!("[::1]:{p}")] {
        let a = get(p, "/", &host);
        assert_eq!(a.status, 200, "{host}");
        assert!(a.body.contains(&name), "{host}");
    }
    // A rebound name, a name that starts like the address, the wrong port, no port,
    // another address literal: no gallery, no message, no event stream.
    for host in [
        "evil.example".to_string(),
        format!("evil.example:{p}"),
        format!("127.0.0.1.evil.example:{p}"),
        format!("localhost.evil.example:{p}"),
        format!("127.0.0.1:{}", p.wrapping_add(1)),
        "127.0.0.1".to_string(),
        format!("192.0.2.1:{p}"),
        String::new(),
    ] {
        for path in ["/", "/index.html", &format!("/{email}"), "/events"] {
            refused(
                &get(p, path, &host),
                &name,
                &format!("Host {host:?} {path}"),
            );
        }
    }
    // No Host header at all; an absolute-form target naming another server.
    refused(&ask(p, "GET / HTTP/1.1"), &name, "no Host");
    refused(
        &ask(
            p,
            &format!("GET http://evil.example/ HTTP/1.1\r\nHost: 127.0.0.1:{p}"),
        ),
        &name,
        "absolute-form target",
    );
    // Another site's page (or a sandboxed one) asking: refused, whatever the Host.
    for origin in [
        "http://evil.example",
        &format!("http://evil.example:{p}"),
        &format!("https://127.0.0.1:{p}"),
        &format!("http://127.0.0.1:{}", p.wrapping_add(1)),
        "null",
    ] {
        for path in ["/", "/events"] {
            let a = ask(
                p,
                &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nOrigin: {origin}"),
            );
            refused(&a, &name, &format!("Origin {origin} {path}"));
        }
    }
    // The server's own origin is fine.
    let a = ask(
        p,
        &format!("GET / HTTP/1.1\r\nHost: localhost:{p}\r\nOrigin: http://localhost:{p}"),
    );
    assert_eq!(a.status, 200);
}

fn sha256_b64(s: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s.as_bytes()))
}

/// The text of every `<tag>…</tag>` in `html`.
fn inline(html: &str, tag: &str) -> Vec<String> {
    html.split(&format!("<{tag}>"))
        .skip(1)
        .map(|p| p[..p.find(&format!("</{tag}>")).unwrap()].to_string())
        .collect()
}

/// The sources one directive of a policy allows.
fn directive<'a>(csp: &'a str, name: &str) -> Vec<&'a str> {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).filter(|r| r.starts_with(' ')))
        .map(|r| r.split_whitespace().collect())
        .unwrap_or_default()
}

#[test]
fn serve_sends_security_headers_and_a_csp_the_gallery_and_messages_work_under() {
    let dir = tempdir();
    let server = Serve::start(&small_campaign(dir.path(), true), &[]);
    let p = server.port;
    let host = format!("127.0.0.1:{p}");
    let index = get(p, "/", &host);
    assert_eq!(index.status, 200);

    let common = |a: &Answer, what: &str| {
        assert_eq!(
            a.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(a.header("referrer-policy"), Some("no-referrer"), "{what}");
        assert_eq!(a.header("cache-control"), Some("no-store"), "{what}");
        let csp = a
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no CSP"));
        assert!(csp.contains("frame-ancestors "), "{what}: {csp}");
        csp.to_string()
    };

    // The gallery: nothing by default; its own inline script and style by hash, and
    // nothing else inline (no handler attributes, which no hash can allow).
    let csp = common(&index, "index");
    assert_eq!(directive(&csp, "default-src"), ["'none'"], "{csp}");
    assert_eq!(directive(&csp, "frame-ancestors"), ["'none'"], "{csp}");
    let scripts = inline(&index.body, "script");
    let styles = inline(&index.body, "style");
    assert_eq!((scripts.len(), styles.len()), (1, 1));
    let allowed = |d: &str, text: &str| {
        directive(&csp, d) == [format!("'sha256-{}'", sha256_b64(text)).as_str()]
    };
    assert!(allowed("script-src", &scripts[0]), "{csp}");
    assert!(allowed("style-src", &styles[0]), "{csp}");
    assert!(
        !index.body.contains(" style=\""),
        "an inline style attribute"
    );
    for handler in [
        " onsubmit=",
        " onclick=",
        " onload=",
        " onchange=",
        " onerror=",
    ] {
        assert!(!index.body.contains(handler), "{handler}");
    }
    // Its frames, letter pages and event stream are its own; the script fetches `./`.
    for (d, source) in [
        ("frame-src", "'self'"),
        ("img-src", "'self'"),
        ("connect-src", "'self'"),
    ] {
        assert!(directive(&csp, d).contains(&source), "{d}: {csp}");
    }

    // Messages: no script at all, sandboxed even when opened on their own.
    for suffix in [".en.0.html", ".web.html", ".p1.svg"] {
        let file = message(&index.body, suffix);
        let a = get(p, &format!("/{file}"), &host);
        assert_eq!(a.status, 200, "{file}");
        let csp = common(&a, &file);
        assert_eq!(directive(&csp, "default-src"), ["'none'"], "{file}: {csp}");
        assert!(directive(&csp, "script-src").is_empty(), "{file}: {csp}");
        assert!(
            csp.split(';').any(|d| d.trim() == "sandbox"),
            "{file}: {csp}"
        );
        assert_eq!(directive(&csp, "frame-ancestors"), ["'self'"], "{file}");
    }
    // The rest: a PDF (Chromium shows no PDF in a sandbox), the event stream, a miss
    // and a refusal all carry the headers.
    let pdf = index
        .body
        .split("href=\"")
        .skip(1)
        .map(|p| &p[..p.find('"').unwrap()])
        .find(|p| p.ends_with(".pdf"))
        .unwrap()
        .to_string();
    let a = get(p, &format!("/{pdf}"), &host);
    assert_eq!(a.status, 200);
    assert_eq!(common(&a, "pdf"), "frame-ancestors 'none'");
    let mut events = TcpStream::connect(("127.0.0.1", p)).unwrap();
    write!(events, "GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    events
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let n = events.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    for h in [
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "content-security-policy: default-src 'none'",
    ] {
        assert!(head.contains(h), "events: {head}");
    }
    let missing = get(p, "/m/nothing.html", &host);
    assert_eq!(missing.status, 404);
    common(&missing, "404");
    common(&get(p, "/", "evil.example"), "403");
}

#[test]
fn serve_on_a_lan_address_needs_the_token_it_printed() {
    let dir = tempdir();
    let server = Serve::start(&small_campaign(dir.path(), true), &["--bind", "0.0.0.0"]);
    let p = server.port;
    // `serving http://0.0.0.0:PORT/TOKEN/`: 128 random bits as hex.
    let rest = server
        .url
        .strip_prefix(&format!("http://0.0.0.0:{p}/"))
        .unwrap_or_else(|| panic!("{}", server.url));
    let token = rest.strip_suffix('/').unwrap();
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    let host = format!("127.0.0.1:{p}");

    let good = get(p, &format!("/{token}/"), &host);
    assert_eq!(good.status, 200);
    let name = a_customer_name(&good.body);
    let email = message(&good.body, ".html");
    let a = get(p, &format!("/{token}/{email}"), &host);
    assert_eq!((a.status, a.body.contains(&name)), (200, true));
    // The printed address itself is accepted as Host, and so is a LAN address.
    assert_eq!(
        get(p, &format!("/{token}/"), &format!("0.0.0.0:{p}")).status,
        200
    );
    assert_eq!(
        get(p, &format!("/{token}/"), &format!("192.0.2.7:{p}")).status,
        200
    );
    // `/TOKEN` goes on to `/TOKEN/`, where the gallery's relative links resolve.
    let a = get(p, &format!("/{token}"), &host);
    assert_eq!(a.status, 308);
    assert_eq!(a.header("location"), Some(format!("/{token}/").as_str()));

    // Without the token, with a wrong or partial one: nothing.
    let mut wrong = token.to_string().into_bytes();
    wrong[31] = if wrong[31] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    for path in [
        "/".to_string(),
        "/index.html".to_string(),
        format!("/{email}"),
        "/events".to_string(),
        format!("/{wrong}/"),
        format!("/{wrong}/{email}"),
        format!("/{}/", &token[..31]),
        format!("/{token}0/"),
        format!("/x/{token}/"),
    ] {
        refused(&get(p, &path, &host), &name, &path);
    }
    // The token does not open the door to a rebound name.
    refused(
        &get(p, &format!("/{token}/"), &format!("evil.example:{p}")),
        &name,
        "a DNS name on a LAN bind",
    );
}

#[test]
fn serve_closes_a_connection_that_dribbles_its_headers_but_keeps_the_event_stream() {
    let dir = tempdir();
    let server = Serve::start(
        &small_campaign(dir.path(), false),
        &["--header-timeout", "1"],
    );
    let p = server.port;

    // Half a header line, then nothing: cut off after the timeout, with no answer.
    let started = Instant::now();
    let mut slow = TcpStream::connect(("127.0.0.1", p)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:")
        .unwrap();
    let mut buf = Vec::new();
    let read = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(
        read.is_ok() && !String::from_utf8_lossy(&buf).contains("200 OK"),
        "{read:?} {:?}",
        String::from_utf8_lossy(&buf)
    );
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(8),
        "closed after {waited:?}"
    );

    // An event stream is a response, not a request head: it stays open past the timeout.
    let mut events = TcpStream::connect(("127.0.0.1", p)).unwrap();
    write!(
        events,
        "GET /events HTTP/1.1\r\nHost: localhost:{p}\r\n\r\n"
    )
    .unwrap();
    events
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut first = [0u8; 2048];
    let n = events.read(&mut first).unwrap();
    assert!(
        String::from_utf8_lossy(&first[..n]).contains("event: version"),
        "{}",
        String::from_utf8_lossy(&first[..n])
    );
    std::thread::sleep(Duration::from_millis(2500));
    events
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    match events.read(&mut first) {
        Ok(0) => panic!("the event stream was closed"),
        Ok(_) => {} // a keep-alive comment
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
    }
    // And a request sent in time is answered.
    assert_eq!(get(p, "/", &format!("127.0.0.1:{p}")).status, 200);
}
