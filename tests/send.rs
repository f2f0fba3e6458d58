//! `dunwell send` against a real SMTP server on loopback: aiosmtpd in its own process
//! (tests/smtp/server.py), counting what it received. Crashes are real SIGKILLs.

use crate::util::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// After every message's scheduled time.
pub(crate) const NOW: &str = "2026-12-01T00:00:00Z";

pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    pub(crate) received: PathBuf,
    _dir: tempfile::TempDir,
}

/// Starts one of the test servers (a Python script that writes its port to a file and
/// what it received to a JSONL file): (process, port, that file, its folder).
pub(crate) fn spawn(script: &str, args: &[&str]) -> (Child, u16, PathBuf, tempfile::TempDir) {
    let dir = tempdir();
    let received = dir.path().join("received.jsonl");
    let port_file = dir.path().join("port");
    let child = Command::new("python3")
        .arg(root().join(script))
        .arg(&received)
        .arg("--port-file")
        .arg(&port_file)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (scripts/test installs it)");
    let t = Instant::now();
    let port = loop {
        if let Ok(p) = std::fs::read_to_string(&port_file) {
            break p.trim().parse().unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{script} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    (child, port, received, dir)
}

impl Server {
    pub(crate) fn start(args: &[&str]) -> Server {
        let (child, port, received, _dir) = spawn("tests/smtp/server.py", args);
        Server {
            child,
            port,
            received,
            _dir,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// What the server took: Message-ID → how many times, and the raw records.
    pub(crate) fn received(&self) -> (BTreeMap<String, usize>, Vec<serde_json::Value>) {
        let rows = read_jsonl(&self.received);
        let mut count = BTreeMap::new();
        for r in &rows {
            let id = r["message_id"]
                .as_str()
                .unwrap()
                .trim_matches(['<', '>'])
                .to_string();
            *count.entry(id).or_default() += 1;
        }
        (count, rows)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Message-IDs of the outbox's e-mails, with their recipients.
pub(crate) fn emails(dir: &Path) -> BTreeMap<String, String> {
    manifest(dir)
        .into_iter()
        .filter(|e| e["channel"] == "email")
        .map(|e| {
            (
                e["message_id"].as_str().unwrap().to_string(),
                e["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub(crate) fn send(dir: &Path, server: &Server, extra: &[&str]) -> Run {
    let mut args = vec!["send", dir.to_str().unwrap(), "--now", NOW];
    args.extend_from_slice(extra);
    let url = server.url();
    dunwell_env(&args, &[("DUNWELL_SMTP_URL", url.as_str())])
}

/// The journal's state per message id, read with sqlite through Python.
pub(crate) fn journal(dir: &Path) -> BTreeMap<String, String> {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); print(json.dumps(dict(c.execute('select id, state from messages'))))",
        ])
        .arg(dir.join("journal.sqlite"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn every_email_arrives_once_and_a_second_send_sends_nothing() {
    let out = email_outbox(&[]);
    let server = Server::start(&[]);
    let expected = emails(out.path());
    assert!(expected.len() > 200);
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let (got, rows) = server.received();
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        expected.keys().cloned().collect::<BTreeSet<_>>()
    );
    assert!(got.values().all(|n| *n == 1));
    // Each went to its own recipient, from the creditor.
    for row in &rows {
        let id = row["message_id"].as_str().unwrap().trim_matches(['<', '>']);
        assert_eq!(row["rcpt"][0].as_str().unwrap(), expected[id]);
        assert_eq!(row["from"], "credit@nordlicht.example");
    }
    let again = send(out.path(), &server, &[]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("delivered 0"), "{}", again.stdout);
    assert_eq!(server.received().1.len(), expected.len());
    let summary = read_json(&out.path().join("summary.json"));
    assert_eq!(
        summary["delivery"]["states"]["delivered"].as_u64().unwrap() as usize,
        expected.len()
    );
    // The report shows the outcomes per channel once a send ends.
    assert_eq!(
        summary["delivery"]["by_channel"]["email"]["delivered"]
            .as_u64()
            .unwrap() as usize,
        expected.len()
    );
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(!html.contains("Not sent yet"));
    assert!(
        html.contains(&format!(">\n{}\n</text>", expected.len())),
        "the delivered count is in the delivery chart"
    );
}

#[test]
fn killed_ten_times_then_finished_nothing_is_sent_twice_or_lost() {
    // About 2,000 e-mails from a generated export.
    let data = tempdir();
    let g = dunwell([
        "gen",
        "--customers",
        "2400",
        "--seed",
        "7",
        "--out",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(g.code, 0, "{}", g.stderr);
    let out = email_outbox(&["--data", data.path().to_str().unwrap()]);
    let expected = emails(out.path());
    assert!(expected.len() >= 1900, "{} e-mails", expected.len());
    // A slow server, so that kills land mid-campaign.
    let server = Server::start(&["--delay-ms", "5"]);
    let url = server.url();
    let mut kills = 0;
    for k in 0..10u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dunwell"))
            .args([
                "send",
                out.path().to_str().unwrap(),
                "--now",
                NOW,
                "--concurrency",
                "8",
            ])
            .env("DUNWELL_SMTP_URL", &url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(120 + 37 * k));
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    assert!(
        kills >= 5,
        "only {kills} sends were still running when killed"
    );
    eprintln!("{kills} sends killed mid-campaign");
    let r = send(out.path(), &server, &[]);
    assert!(r.code == 0 || r.code == 3, "{}{}", r.stdout, r.stderr);
    let states = journal(out.path());
    let (got, _) = server.received();
    let dup: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "delivered twice: {dup:?}");
    let unknown: BTreeSet<String> = states
        .iter()
        .filter(|(_, s)| s.as_str() == "unknown")
        .map(|(id, _)| id.clone())
        .collect();
    // Unknown messages are listed by the send.
    for id in &unknown {
        assert!(
            r.stdout.contains(&format!("unknown: {id}")),
            "{id} not listed"
        );
    }
    eprintln!("{} unknown after the kills", unknown.len());
    // At most what was in flight at each kill: concurrency + 2 claimed (here 10), with
    // room to spare.
    assert!(unknown.len() <= 10 * 16, "{} unknown", unknown.len());
    let by_id: BTreeMap<String, String> = manifest(out.path())
        .into_iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["message_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (id, state) in &states {
        let mid = &by_id[id];
        if state == "unknown" {
            continue; // arrived once or not at all: the operator decides
        }
        assert_eq!(state, "delivered", "{id}");
        assert_eq!(got.get(mid), Some(&1), "{id} ({mid}) missing");
    }
    assert_eq!(states.len(), expected.len());
}

#[test]
fn transient_failures_and_dropped_connections_are_retried_and_a_550_is_rejected() {
    let out = email_outbox(&[]);
    let expected = emails(out.path());
    let victim = expected.values().nth(17).unwrap().clone();
    let server = Server::start(&[
        "--transient-every",
        "5",
        "--drop-every",
        "7",
        "--reject",
        &victim,
    ]);
    let r = send(out.path(), &server, &["--retry-after", "50ms"]);
    assert_eq!(
        r.code, 3,
        "a rejection is a partial send: {}{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stdout.contains("rejected:") && r.stdout.contains("550"),
        "{}",
        r.stdout
    );
    let (got, _) = server.received();
    let states = journal(out.path());
    let rejected: Vec<_> = states.iter().filter(|(_, s)| *s == "rejected").collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    for (mid, to) in &expected {
        if *to == victim {
            assert_eq!(got.get(mid), None);
        } else {
            assert_eq!(got.get(mid), Some(&1), "{mid} to {to}");
        }
    }
    assert!(states.values().all(|s| s == "delivered" || s == "rejected"));
}

#[test]
fn test_sends_go_to_one_inbox_and_dry_run_sends_nothing() {
    let out = email_outbox(&[]);
    let server = Server::start(&[]);
    let dry = send(out.path(), &server, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("nothing sent"), "{}", dry.stdout);
    assert_eq!(server.received().1.len(), 0);

    let r = send(
        out.path(),
        &server,
        &[
            "--to-override",
            "qa@example.com",
            "--limit",
            "5",
            "--only-cluster",
            "unable",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let (_, rows) = server.received();
    assert_eq!(rows.len(), 5);
    for row in &rows {
        assert_eq!(row["rcpt"][0], "qa@example.com");
    }
    // A test send leaves the outbox as it was: its messages are still to be sent for
    // real (once marked delivered, those five customers would never have got theirs).
    assert!(!out.path().join("journal.sqlite").exists());
    assert!(!out.path().join("sending.json").exists());
    // A server that is not there: a clear error before anything is claimed.
    let down = dunwell_env(
        ["send", out.path().to_str().unwrap(), "--now", NOW],
        &[("DUNWELL_SMTP_URL", "smtp://127.0.0.1:1")],
    );
    assert_eq!(down.code, 1);
    assert!(
        down.stderr.contains("SMTP health check failed"),
        "{}",
        down.stderr
    );
    let real = send(out.path(), &server, &[]);
    assert_eq!(real.code, 0, "{}{}", real.stdout, real.stderr);
    let expected = emails(out.path());
    let (_, rows) = server.received();
    let to_customers: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["rcpt"][0] != "qa@example.com")
        .collect();
    assert_eq!(
        to_customers.len(),
        expected.len(),
        "every customer got theirs"
    );
    for row in &to_customers {
        let id = row["message_id"].as_str().unwrap().trim_matches(['<', '>']);
        assert_eq!(row["rcpt"][0].as_str().unwrap(), expected[id]);
    }
    let states = journal(out.path());
    assert!(states.values().all(|s| s == "delivered"), "{states:?}");
}

#[test]
fn a_second_sender_on_the_same_outbox_is_refused() {
    let out = email_outbox(&["--sample", "5"]);
    let server = Server::start(&[]);
    // The outbox folder itself is locked (a lock file could be deleted under a sender).
    let lock = std::fs::File::open(out.path()).unwrap();
    lock.lock().unwrap();
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("in use by another"), "{}", r.stderr);
    assert!(server.received().1.is_empty());
    drop(lock);
    assert_eq!(send(out.path(), &server, &[]).code, 0);
}

#[test]
fn dkim_signatures_verify_with_dkimpy() {
    let out = email_outbox(&["--sample", "12"]);
    let keys = tempdir();
    let key = keys.path().join("dkim.pem");
    let o = Command::new("openssl")
        .args(["genrsa", "-out", key.to_str().unwrap(), "2048"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let server = Server::start(&["--keep-raw"]);
    let url = server.url();
    let r = dunwell_env(
        ["send", out.path().to_str().unwrap(), "--now", NOW],
        &[
            ("DUNWELL_SMTP_URL", url.as_str()),
            ("DUNWELL_DKIM_KEY", key.to_str().unwrap()),
            ("DUNWELL_DKIM_SELECTOR", "dunwell"),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let script = r#"
import base64, json, subprocess, sys, dkim
pub = subprocess.run(["openssl", "rsa", "-in", sys.argv[2], "-pubout", "-outform", "DER"], capture_output=True, check=True).stdout
record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)
def dns(name, timeout=5):
    assert name == b"dunwell._domainkey.nordlicht.example.", name
    return record
n = 0
for line in open(sys.argv[1]):
    raw = base64.b64decode(json.loads(line)["raw"])
    assert raw.startswith(b"DKIM-Signature:"), raw[:60]
    sig = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    first = [sig[0]] + [l for l in sig[1:] if l[:1] in (b" ", b"\t")][:0]
    header = b""
    for l in sig:
        if header and not l[:1] in (b" ", b"\t"):
            break
        header += l.strip()
    tags = dict(t.strip().split(b"=", 1) for t in header.split(b":", 1)[1].split(b";") if b"=" in t)
    assert tags[b"c"] == b"relaxed/relaxed" and tags[b"a"] == b"rsa-sha256", tags
    signed = tags[b"h"].lower().split(b":")
    assert b"content-type" not in signed and b"from" in signed, signed
    assert dkim.verify(raw, dnsfunc=dns), "signature does not verify"
    n += 1
print(n)
"#;
    let v = Command::new("python3")
        .args(["-c", script])
        .arg(&server.received)
        .arg(&key)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let n: usize = String::from_utf8_lossy(&v.stdout).trim().parse().unwrap();
    assert_eq!(n, emails(out.path()).len());
    assert!(n > 0);
}

pub(crate) struct Gateway {
    child: Child,
    pub(crate) port: u16,
    received: PathBuf,
    _dir: tempfile::TempDir,
}

impl Gateway {
    pub(crate) fn start(args: &[&str]) -> Gateway {
        let (child, port, received, _dir) = spawn("tests/sms/gateway.py", args);
        Gateway {
            child,
            port,
            received,
            _dir,
        }
    }

    pub(crate) fn received(&self) -> Vec<serde_json::Value> {
        read_jsonl(&self.received)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn sms_lines(dir: &Path) -> Vec<serde_json::Value> {
    read_jsonl(&dir.join("sms.jsonl"))
}

#[test]
fn sms_go_through_a_json_gateway_once_with_retries_and_a_final_400() {
    let out = sample_outbox("sms", &[]);
    let sms = sms_lines(out.path());
    let victim = sms[9]["to"].as_str().unwrap().to_string();
    // 503 may come after a gateway sent the SMS: retried only from a gateway that
    // deduplicates by Idempotency-Key (this one does; --fail-every sends nothing).
    let gw = Gateway::start(&["--fail-every", "4", "--reject", &victim, "--dedupe"]);
    let url = format!("http://127.0.0.1:{}/v1/messages", gw.port);
    let r = dunwell_env(
        [
            "send",
            out.path().to_str().unwrap(),
            "--now",
            NOW,
            "--retry-after",
            "50ms",
        ],
        &[
            ("DUNWELL_SMS_URL", url.as_str()),
            ("DUNWELL_SMS_AUTH", "Bearer test-token"),
            ("DUNWELL_SMS_FROM", "Nordlicht"),
            ("DUNWELL_SMS_IDEMPOTENT", "1"),
        ],
    );
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("rejected:") && r.stdout.contains("400"));
    let got = gw.received();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for g in &got {
        assert_eq!(g["auth"], "Bearer test-token");
        assert_eq!(g["body"]["from"], "Nordlicht");
        *seen
            .entry(g["body"]["reference"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for s in &sms {
        let id = s["id"].as_str().unwrap();
        if s["to"] == victim.as_str() {
            assert_eq!(seen.get(id), None);
        } else {
            assert_eq!(seen.get(id), Some(&1), "{id}");
            let body = &got.iter().find(|g| g["body"]["reference"] == id).unwrap()["body"];
            assert_eq!(body["text"], s["text"], "the text run wrote, unchanged");
            assert_eq!(body["to"], s["to"]);
        }
    }
}

#[test]
fn sms_through_a_twilio_compatible_form_post() {
    let out = sample_outbox("sms", &["--sample", "10"]);
    let sms = sms_lines(out.path());
    let gw = Gateway::start(&[]);
    let url = format!(
        "http://127.0.0.1:{}/2010-04-01/Accounts/AC123/Messages.json",
        gw.port
    );
    let r = dunwell_env(
        ["send", out.path().to_str().unwrap(), "--now", NOW],
        &[
            ("DUNWELL_SMS_URL", url.as_str()),
            ("DUNWELL_SMS_KIND", "twilio"),
            ("DUNWELL_SMS_USER", "AC123"),
            ("DUNWELL_SMS_PASSWORD", "secret"),
            ("DUNWELL_SMS_FROM", "+3197010250000"),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let got = gw.received();
    assert_eq!(got.len(), sms.len());
    for g in &got {
        assert!(
            g["type"]
                .as_str()
                .unwrap()
                .starts_with("application/x-www-form-urlencoded")
        );
        // Basic AC123:secret
        assert_eq!(g["auth"], "Basic QUMxMjM6c2VjcmV0");
        assert_eq!(g["body"]["From"], "+3197010250000");
        assert!(
            sms.iter()
                .any(|s| s["to"] == g["body"]["To"] && s["text"] == g["body"]["Body"])
        );
    }
}

#[test]
fn rate_limited_sends_are_evenly_spaced() {
    let out = email_outbox(&[]);
    let server = Server::start(&[]);
    let r = send(
        out.path(),
        &server,
        &["--rate", "1200/min", "--limit", "30"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let (_, rows) = server.received();
    assert_eq!(rows.len(), 30);
    let mut t: Vec<f64> = rows.iter().map(|r| r["t"].as_f64().unwrap()).collect();
    t.sort_by(f64::total_cmp);
    // 20 per second: 29 gaps of 50 ms, not a burst and a pause.
    let span = t[29] - t[0];
    assert!((1.2..2.5).contains(&span), "30 messages over {span:.2} s");
    let max_in_any_quarter_second = (0..30)
        .map(|i| {
            t.iter()
                .filter(|x| **x >= t[i] && **x < t[i] + 0.25)
                .count()
        })
        .max()
        .unwrap();
    assert!(
        max_in_any_quarter_second <= 7,
        "{max_in_any_quarter_second} within 250 ms"
    );
}

#[test]
fn nothing_goes_out_before_its_scheduled_time() {
    let out = email_outbox(&["--sample", "20"]);
    let server = Server::start(&[]);
    let url = server.url();
    // The sample is scheduled from Monday 2026-11-23 07:00 UTC in each customer's window.
    let early = dunwell_env(
        [
            "send",
            out.path().to_str().unwrap(),
            "--now",
            "2026-11-22T12:00:00Z",
        ],
        &[("DUNWELL_SMTP_URL", url.as_str())],
    );
    assert_eq!(early.code, 0, "{}", early.stderr);
    assert!(
        early
            .stdout
            .contains("scheduled later (first at 2026-11-23"),
        "{}",
        early.stdout
    );
    assert_eq!(server.received().1.len(), 0);
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 0);
    assert_eq!(server.received().1.len(), emails(out.path()).len());
}

#[test]
fn starttls_and_auth_with_a_private_ca() {
    let out = email_outbox(&["--sample", "8"]);
    // A private CA and a server certificate it signed (webpki refuses a self-signed
    // certificate used as its own CA).
    let certs = tempdir();
    let p = |n: &str| certs.path().join(n).to_str().unwrap().to_string();
    let (ca, ca_key, cert, key, csr) = (
        p("ca.pem"),
        p("ca.key"),
        p("cert.pem"),
        p("key.pem"),
        p("req.csr"),
    );
    let ext = p("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    for args in [
        vec![
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=dunwell test CA",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
        ],
        vec![
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
        vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    ] {
        let o = Command::new("openssl").args(&args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let server = Server::start(&[
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--auth",
        "dunning:s3cret",
    ]);
    let go = |url: String| {
        dunwell_env(
            ["send", out.path().to_str().unwrap(), "--now", NOW],
            &[
                ("DUNWELL_SMTP_URL", url.as_str()),
                ("DUNWELL_SMTP_CA", ca.as_str()),
            ],
        )
    };
    // A wrong password fails the health check, before anything is claimed.
    let bad = go(format!(
        "smtp+starttls://dunning:nope@127.0.0.1:{}",
        server.port
    ));
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("AUTH as dunning"), "{}", bad.stderr);
    assert_eq!(server.received().1.len(), 0);
    let ok = go(format!(
        "smtp+starttls://dunning:s3cret@127.0.0.1:{}",
        server.port
    ));
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert_eq!(server.received().1.len(), emails(out.path()).len());
}

#[test]
fn an_outbox_that_was_sent_from_cannot_be_rendered_again_or_swapped() {
    let out = email_outbox(&["--sample", "6"]);
    let server = Server::start(&[]);
    assert_eq!(send(out.path(), &server, &[]).code, 0);
    // `run` refuses to overwrite it…
    let again = run_campaign(SAMPLE, out.path(), &["--channel", "email"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("already been sent from"),
        "{}",
        again.stderr
    );
    // …and `send` notices bytes that are not the ones it journaled.
    let other = email_outbox(&["--sample", "6", "--as-of", "2026-11-27"]);
    std::fs::copy(
        out.path().join("journal.sqlite"),
        other.path().join("journal.sqlite"),
    )
    .unwrap();
    let r = send(other.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("sending.json is missing"), "{}", r.stderr);
}

#[test]
fn a_dry_run_says_what_waits_whole() {
    let out = email_outbox(&["--sample", "5"]);
    let server = Server::start(&[]);
    let url = server.url();
    let mut transcript = String::new();
    // Everything due; then everything still to come.
    for now in [NOW, "2026-11-21T00:00:00Z"] {
        let r = dunwell_env(
            [
                "send",
                out.path().to_str().unwrap(),
                "--dry-run",
                "--now",
                now,
            ],
            &[("DUNWELL_SMTP_URL", url.as_str())],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        transcript += &format!("$ dunwell send $OUT --dry-run --now {now}\n{}", r.stdout);
        if !r.stderr.is_empty() {
            transcript += &format!("(stderr)\n{}", r.stderr);
        }
    }
    assert!(server.received().1.is_empty());
    assert_matches_file(
        &normalise(&transcript, &[(out.path(), "$OUT")]),
        "send_dry_run",
    );
}
