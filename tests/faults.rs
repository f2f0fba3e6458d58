//! The bad day (issue 12): every way a fault, an edit or hostile input could duplicate,
//! misdirect or lose a message, each reproduced against the real binary, real servers
//! (tests/smtp/silent.py, tests/sms/gateway.py, aiosmtpd) and real SIGKILLs.

use crate::send::{Gateway, NOW, Server, emails, journal, send, spawn};
use crate::util::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A generated export of `n` customers.
fn export(n: usize, seed: u64) -> tempfile::TempDir {
    let data = tempdir();
    let g = dunwell([
        "gen",
        "--customers",
        &n.to_string(),
        "--seed",
        &seed.to_string(),
        "--out",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(g.code, 0, "{}", g.stderr);
    data
}

fn run_args<'a>(out: &'a Path, data: &'a Path) -> Vec<&'a str> {
    vec![
        "run",
        "samples/campaign.yaml",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
}

/// `dunwell run` started, not waited for.
fn start_run(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dunwell"))
        .args(args)
        .current_dir(root())
        .env(SECRET.0, SECRET.1)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Everything a half-written outbox must be refused by.
fn assert_refused_everywhere(out: &Path, server: &Server) {
    let dry = send(out, server, &["--dry-run"]);
    assert_eq!(dry.code, 1, "dry run: {}{}", dry.stdout, dry.stderr);
    let real = send(out, server, &[]);
    assert_eq!(real.code, 1, "send: {}{}", real.stdout, real.stderr);
    assert!(
        real.stderr.contains("complete.json is missing"),
        "{}",
        real.stderr
    );
    let report = dunwell(["report", out.to_str().unwrap()]);
    assert_eq!(report.code, 1, "report: {}", report.stderr);
    let id = read_jsonl(&out.join("manifest.jsonl"))
        .first()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "C0000001-email".into());
    let show = dunwell(["outbox", "show", out.to_str().unwrap(), &id]);
    assert_eq!(show.code, 1, "outbox show: {}", show.stderr);
    assert!(show.stdout.is_empty());
    assert!(!out.join("journal.sqlite").exists(), "nothing was claimed");
}

#[test]
fn a_run_killed_at_any_point_leaves_an_outbox_nothing_will_send() {
    let data = export(2500, 21);
    let server = Server::start(&[]);
    let mut mid_run = 0;
    for delay in [250u64, 600, 1100, 1700, 2600, 4000] {
        let out = tempdir();
        let mut child = start_run(&run_args(out.path(), data.path()));
        std::thread::sleep(Duration::from_millis(delay));
        let running = child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if out.path().join("complete.json").exists() {
            // It finished before the kill: then it is whole.
            assert!(!running || child.try_wait().is_ok());
            continue;
        }
        mid_run += 1;
        assert_refused_everywhere(out.path(), &server);
    }
    assert!(mid_run >= 3, "only {mid_run} kills landed mid-run");
    assert!(
        server.received().1.is_empty(),
        "nothing of a half outbox went out"
    );
}

#[test]
fn a_run_that_runs_out_of_disk_leaves_an_outbox_nothing_will_send() {
    // `ulimit -f` stands for a full disk: writes past 300 kB fail with EFBIG (SIGXFSZ
    // ignored, as a process on a full disk gets ENOSPC rather than a signal).
    let data = export(600, 22);
    let out = tempdir();
    let args = run_args(out.path(), data.path());
    let o = Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 300; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_dunwell"))
        .args(&args)
        .current_dir(root())
        .env(SECRET.0, SECRET.1)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let server = Server::start(&[]);
    assert_refused_everywhere(out.path(), &server);
}

/// Copies of the journal's files, to put back after a test broke them.
fn backup_journal(out: &Path) -> Vec<(String, Vec<u8>)> {
    ["journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"]
        .iter()
        .filter_map(|n| std::fs::read(out.join(n)).ok().map(|b| (n.to_string(), b)))
        .collect()
}

fn restore_journal(out: &Path, files: &[(String, Vec<u8>)]) {
    for n in ["journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"] {
        let _ = std::fs::remove_file(out.join(n));
    }
    for (n, b) in files {
        std::fs::write(out.join(n), b).unwrap();
    }
}

fn sqlite(db: &Path, sql: &str) {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()",
        ])
        .arg(db)
        .arg(sql)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_deleted_or_emptied_journal_is_refused_never_a_fresh_start() {
    let out = email_outbox(&["--sample", "12"]);
    let server = Server::start(&[]);
    let expected = emails(out.path());
    let first = send(out.path(), &server, &["--limit", "4"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert_eq!(server.received().1.len(), 4);
    let record = read_json(&out.path().join("sending.json"));
    let id = record["journal_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    let saved = backup_journal(out.path());

    // Deleted.
    restore_journal(out.path(), &[]);
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("journal.sqlite is missing"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&id),
        "names the journal to restore: {}",
        r.stderr
    );
    assert_eq!(send(out.path(), &server, &["--dry-run"]).code, 1);
    // Emptied: a file of zero bytes is an empty database to SQLite.
    std::fs::write(out.path().join("journal.sqlite"), b"").unwrap();
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("emptied or replaced"), "{}", r.stderr);
    // Its rows deleted.
    restore_journal(out.path(), &saved);
    sqlite(
        &out.path().join("journal.sqlite"),
        "DELETE FROM messages WHERE state='delivered'",
    );
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("rows were deleted"), "{}", r.stderr);
    // The record deleted too: the outbox still refuses to start afresh over a journal
    // that delivered messages… and `run` still refuses to render over it.
    restore_journal(out.path(), &saved);
    let again = run_campaign(
        SAMPLE,
        out.path(),
        &["--channel", "email", "--sample", "12"],
    );
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert_eq!(
        server.received().1.len(),
        4,
        "nothing was sent while refused"
    );

    // Put back, it finishes: every message exactly once.
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let (got, _) = server.received();
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        expected.keys().cloned().collect::<BTreeSet<_>>()
    );
    assert!(got.values().all(|n| *n == 1), "{got:?}");
}

/// The states in the journal, counted.
fn states(out: &Path) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for s in journal(out).values() {
        *n.entry(s.clone()).or_default() += 1;
    }
    n
}

#[test]
fn an_smtp_server_that_goes_silent_at_any_step_never_hangs_the_send() {
    let template = email_outbox(&["--sample", "3"]);
    let messages = emails(template.path()).len();
    assert!(messages >= 3);
    for step in [
        "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "content", "quit",
    ] {
        let out = tempdir();
        copy_tree(template.path(), out.path());
        let (mut child, port, received, _dir) =
            spawn("tests/smtp/silent.py", &["--silent-at", step]);
        let url = match step {
            "starttls" => format!("smtp+starttls://127.0.0.1:{port}"),
            "auth" => format!("smtp://dunning:pw@127.0.0.1:{port}"),
            _ => format!("smtp://127.0.0.1:{port}"),
        };
        let t = Instant::now();
        let r = dunwell_env(
            [
                "send",
                out.path().to_str().unwrap(),
                "--now",
                NOW,
                "--timeout",
                "300ms",
                "--concurrency",
                "2",
                "--max-attempts",
                "3",
                "--retry-after",
                "1h",
            ],
            &[("DUNWELL_SMTP_URL", url.as_str())],
        );
        let took = t.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            took < Duration::from_secs(20),
            "{step}: took {took:?}: {}{}",
            r.stdout,
            r.stderr
        );
        let got = read_jsonl(&received).len();
        match step {
            // Nothing can be claimed before the relay answers the health check.
            "greeting" | "ehlo" | "starttls" | "auth" => {
                assert_eq!(r.code, 1, "{step}: {}", r.stderr);
                assert!(
                    r.stderr.contains("health check failed"),
                    "{step}: {}",
                    r.stderr
                );
                assert_eq!(got, 0);
                assert!(
                    states(out.path()).keys().all(|s| s == "pending"),
                    "{step}: {:?}",
                    states(out.path())
                );
            }
            // Certainly not taken: deferred, to be retried — not unknown.
            "mail" | "rcpt" | "data" => {
                assert_eq!(got, 0, "{step}");
                assert_eq!(
                    states(out.path()),
                    BTreeMap::from([("deferred".to_string(), messages)]),
                    "{step}: {}{}",
                    r.stdout,
                    r.stderr
                );
            }
            // The relay may have queued it: unknown, listed, never resent blindly.
            "content" => {
                assert_eq!(r.code, 3, "{step}: {}{}", r.stdout, r.stderr);
                assert_eq!(
                    states(out.path()),
                    BTreeMap::from([("unknown".to_string(), messages)]),
                    "{step}"
                );
                assert_eq!(r.stdout.matches("unknown: ").count(), messages);
            }
            // Delivered; only the goodbye hangs.
            "quit" => {
                assert_eq!(r.code, 0, "{step}: {}{}", r.stdout, r.stderr);
                assert_eq!(got, messages);
                assert_eq!(
                    states(out.path()),
                    BTreeMap::from([("delivered".to_string(), messages)])
                );
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn an_sms_gateway_answering_504_after_sending_does_not_get_the_sms_twice() {
    let out = sample_outbox("sms", &["--sample", "6"]);
    let sms = crate::send::sms_lines(out.path());
    assert!(sms.len() >= 4);
    let gw = Gateway::start(&["--504-after-sending-every", "1"]);
    let url = format!("http://127.0.0.1:{}/v1/messages", gw.port);
    let env = [("DUNWELL_SMS_URL", url.as_str())];
    let args = [
        "send",
        out.path().to_str().unwrap(),
        "--now",
        NOW,
        "--retry-after",
        "50ms",
    ];
    let r = dunwell_env(args, &env);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout.matches("unknown: ").count(),
        sms.len(),
        "{}",
        r.stdout
    );
    let got = gw.received();
    assert_eq!(got.len(), sms.len(), "each sent once, none retried");
    // Sending again sends nothing; the operator decides with --resend-unknown.
    assert_eq!(dunwell_env(args, &env).code, 3);
    assert_eq!(gw.received().len(), sms.len());
    let mut resend = args.to_vec();
    resend.push("--resend-unknown");
    dunwell_env(&resend, &env);
    let again = gw.received();
    assert_eq!(again.len(), 2 * sms.len());
    // …with the same Idempotency-Key per message: a gateway that honours it drops them.
    let keys = |rows: &[serde_json::Value]| -> BTreeMap<String, String> {
        rows.iter()
            .map(|g| {
                (
                    g["body"]["reference"].as_str().unwrap().to_string(),
                    g["key"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(keys(&again[..sms.len()]), keys(&again[sms.len()..]));

    // A gateway declared idempotent: the 504 is retried, and the retry deduplicated.
    let out = sample_outbox("sms", &["--sample", "6"]);
    let gw = Gateway::start(&["--504-after-sending-every", "1", "--dedupe"]);
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
            ("DUNWELL_SMS_IDEMPOTENT", "1"),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(gw.received().len(), sms.len());
    assert_eq!(
        states(out.path()),
        BTreeMap::from([("delivered".to_string(), sms.len())])
    );
}

#[test]
fn two_runs_into_one_outbox_at_once_cannot_both_write() {
    let data = export(1500, 23);
    let out = tempdir();
    let args = run_args(out.path(), data.path());
    let mut first = start_run(&args);
    // Wait until the first run holds the outbox (it writes the manifest).
    let t = Instant::now();
    while !out.path().join("manifest.jsonl").exists() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the first run never wrote"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = dunwell_env(&args, &[SECRET]);
    let first = first.wait().unwrap();
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second.stderr.contains("in use by another"),
        "{}",
        second.stderr
    );
    assert!(matches!(first.code(), Some(0 | 3)), "{first:?}");
    // The first one's outbox is whole: sealed and readable end to end.
    assert!(out.path().join("complete.json").exists());
    let m = manifest(out.path());
    let last = m.last().unwrap()["id"].as_str().unwrap();
    let show = dunwell(["outbox", "show", out.path().to_str().unwrap(), last]);
    assert_eq!(show.code, 0, "{}", show.stderr);
}

#[test]
fn a_smaller_run_over_a_bigger_one_leaves_nothing_stale() {
    let out = tempdir();
    let full = run_campaign(SAMPLE, out.path(), &[]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let pages = |dir: &Path| std::fs::read_dir(dir.join("web")).map_or(0, |d| d.count());
    assert!(pages(out.path()) > 20);
    let small = run_campaign(SAMPLE, out.path(), &["--sample", "5"]);
    assert_eq!(small.code, 0, "{}", small.stderr);
    // Every message file in the outbox is one the new manifest lists.
    let listed: BTreeSet<String> = manifest(out.path())
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    let mut stale = Vec::new();
    for sub in ["letters", "web", "email"] {
        walk(&out.path().join(sub), &mut |p| {
            let rel = p
                .strip_prefix(out.path())
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if !listed.contains(&rel) && !rel.ends_with("print.pdf") && !rel.ends_with("print.csv")
            {
                stale.push(rel);
            }
        });
    }
    assert!(stale.is_empty(), "left from the bigger run: {stale:?}");
    // A folder with a file dunwell did not write is refused, and the file kept.
    std::fs::write(out.path().join("notes.txt"), "mine").unwrap();
    let r = run_campaign(SAMPLE, out.path(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("notes.txt"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(out.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(
        out.path().join("complete.json").exists(),
        "the old outbox untouched"
    );
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

/// Seals an outbox again after a test edited it, as someone covering their tracks would.
fn reseal(out: &Path) {
    let path = out.join("complete.json");
    let mut seal = read_json(&path);
    for name in ["manifest.jsonl", "sms.jsonl"] {
        let bytes = std::fs::read(out.join(name)).unwrap();
        seal["files"][name] = serde_json::json!({
            "bytes": bytes.len(),
            "sha256": dunwell::hash::sha256_hex(&bytes),
        });
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&seal).unwrap()).unwrap();
}

fn rewrite_jsonl(path: &Path, f: impl Fn(&mut serde_json::Value)) {
    let mut lines = read_jsonl(path);
    f(&mut lines[0]);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_recipient_edited_after_review_is_never_sent_to() {
    let out = email_outbox(&["--sample", "4"]);
    let server = Server::start(&[]);
    let manifest_path = out.path().join("manifest.jsonl");
    let victim = manifest(out.path())[0]["id"].as_str().unwrap().to_string();
    rewrite_jsonl(&manifest_path, |e| e["to"] = "attacker@evil.example".into());
    // The seal no longer matches: nothing is sent at all.
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("manifest.jsonl changed after"),
        "{}",
        r.stderr
    );
    assert!(server.received().1.is_empty());
    // Sealed again: the reviewed message still says where it goes; that one is refused.
    reseal(out.path());
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!("rejected: {victim}")),
        "{}",
        r.stdout
    );
    let (_, rows) = server.received();
    assert!(
        rows.iter()
            .all(|row| row["rcpt"][0] != "attacker@evil.example"),
        "{rows:?}"
    );
    assert_eq!(rows.len(), emails(out.path()).len() - 1);

    // SMS: the number in sms.jsonl is checked against the manifest's.
    let out = sample_outbox("sms", &["--sample", "4"]);
    let sms_path = out.path().join("sms.jsonl");
    rewrite_jsonl(&sms_path, |s| s["to"] = "+15550000000".into());
    let gw = Gateway::start(&[]);
    let url = format!("http://127.0.0.1:{}/v1/messages", gw.port);
    let env = [("DUNWELL_SMS_URL", url.as_str())];
    let args = ["send", out.path().to_str().unwrap(), "--now", NOW];
    assert_eq!(dunwell_env(args, &env).code, 1);
    reseal(out.path());
    let r = dunwell_env(args, &env);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        gw.received()
            .iter()
            .all(|g| g["body"]["to"] != "+15550000000")
    );
    // Both files edited alike and sealed again: the manifest's SHA-256 of an SMS covers
    // its number with its text, so it is still refused.
    let out = sample_outbox("sms", &["--sample", "4"]);
    let victim = crate::send::sms_lines(out.path())[0]["id"].clone();
    rewrite_jsonl(&out.path().join("sms.jsonl"), |s| {
        s["to"] = "+15550009999".into()
    });
    let path = out.path().join("manifest.jsonl");
    let mut lines = read_jsonl(&path);
    for e in &mut lines {
        if e["id"] == victim {
            e["to"] = "+15550009999".into();
        }
    }
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    reseal(out.path());
    let r = dunwell_env(["send", out.path().to_str().unwrap(), "--now", NOW], &env);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("rejected: {}", victim.as_str().unwrap()))
    );
    assert!(
        gw.received()
            .iter()
            .all(|g| g["body"]["to"] != "+15550009999")
    );
}

#[test]
fn outbox_show_reads_only_inside_the_outbox() {
    let out = email_outbox(&["--sample", "2"]);
    let m = manifest(out.path());
    let id = m[0]["id"].as_str().unwrap().to_string();
    let path = out.path().join("manifest.jsonl");
    rewrite_jsonl(&path, |e| e["path"] = "../../../../../../etc/passwd".into());
    reseal(out.path());
    let r = dunwell(["outbox", "show", out.path().to_str().unwrap(), &id]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stdout.contains("root:"), "{}", r.stdout);
    assert!(
        r.stderr.contains("is not a email message file"),
        "{}",
        r.stderr
    );
    // A length of an exabyte is refused, not allocated.
    rewrite_jsonl(&path, |e| {
        e["path"] = m[0]["path"].clone();
        e["length"] = 1_000_000_000_000_000_000u64.into();
    });
    reseal(out.path());
    let r = dunwell(["outbox", "show", out.path().to_str().unwrap(), &id]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked") && !r.stderr.contains("memory"));
}

#[test]
fn credentials_in_gateway_and_relay_urls_are_never_printed_or_stored() {
    const KEY: &str = "SUPERSECRET-api-key-0123";
    let out = sample_outbox("sms", &["--sample", "4"]);
    let sms = crate::send::sms_lines(out.path());
    let gw = Gateway::start(&["--reject", sms[0]["to"].as_str().unwrap()]);
    // One gateway that refuses a number (its reply is stored), one that cannot be
    // reached (the HTTP client's error names the URL).
    for url in [
        format!(
            "http://user:{KEY}@127.0.0.1:{}/v1/messages?api_key={KEY}",
            gw.port
        ),
        format!("http://127.0.0.1:9/v1/messages?token={KEY}"),
    ] {
        let r = dunwell_env(
            [
                "send",
                out.path().to_str().unwrap(),
                "--now",
                NOW,
                "--max-attempts",
                "1",
            ],
            &[("DUNWELL_SMS_URL", url.as_str())],
        );
        assert!(
            !r.stdout.contains(KEY) && !r.stderr.contains(KEY),
            "{}{}",
            r.stdout,
            r.stderr
        );
    }
    for f in [
        "journal.sqlite",
        "summary.json",
        "report.html",
        "sending.json",
    ] {
        let bytes = std::fs::read(out.path().join(f)).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(KEY),
            "{f} holds the key"
        );
    }
    // A malformed relay URL is reported without its password.
    let mail = email_outbox(&["--sample", "1"]);
    let r = dunwell_env(
        ["send", mail.path().to_str().unwrap(), "--dry-run"],
        &[(
            "DUNWELL_SMTP_URL",
            "smtp://dunning:pa55w0rd-xyz@relay.example:notaport",
        )],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("relay.example"), "{}", r.stderr);
    assert!(!r.stderr.contains("pa55w0rd-xyz"), "{}", r.stderr);
}

#[test]
fn values_that_used_to_panic_are_clear_errors() {
    let out = email_outbox(&["--sample", "1"]);
    let o = out.path().to_str().unwrap();
    for (flag, value) in [
        ("--rate", "1e-300/s"),
        ("--rate", "1e12/s"),
        ("--rate", "NaN/s"),
        ("--retry-after", "99999999999999999999h"),
        ("--timeout", "0s"),
        ("--concurrency", "100000000"),
        ("--max-attempts", "0"),
        ("--only-cluster", "forgetfull"),
        ("--sms-to-override", "abc"),
    ] {
        let r = dunwell(["send", o, flag, value, "--dry-run"]);
        assert_eq!(r.code, 2, "{flag} {value}: {}", r.stderr);
        assert!(r.stderr.contains(flag), "{flag} {value}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
    // A link lifetime past what a token can carry.
    let dir = tempdir();
    let campaign = dir.path().join("campaign.yaml");
    let text = sample_text_with_absolute_paths()
        .replace("expires_after_days: 30", "expires_after_days: 4294967295");
    std::fs::write(&campaign, text).unwrap();
    let r = run_campaign(campaign.to_str().unwrap(), &dir.path().join("o"), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("expires_after_days"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

fn append(path: &Path, text: &str) {
    let mut s = std::fs::read_to_string(path).unwrap();
    s.push_str(text);
    std::fs::write(path, s).unwrap();
}

#[test]
fn a_template_over_its_budget_fails_its_customers_not_the_campaign() {
    let dir = sample_copy();
    let t = dir.path().join("templates/email/forgetful/default.en.txt");
    // Nine million loop iterations: over the default of a million steps.
    append(
        &t,
        "{% for a in range(end=3000) %}{% for b in range(end=3000) %}{% endfor %}{% endfor %}",
    );
    // A text that doubles forty times: over the default 2 MiB long before the memory.
    let u = dir.path().join("templates/email/unwilling/default.en.txt");
    append(
        &u,
        "{% set_global s = \"xy\" %}{% for i in range(end=40) %}{% set_global s = s ~ s %}{% endfor %}{{ s }}",
    );
    let campaign = dir.path().join("samples/campaign.yaml");
    let c = campaign.to_str().unwrap();
    let check = dunwell(["check", c]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert!(
        check.stdout.contains("forgetful/default.en.txt"),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains("steps"), "{}", check.stdout);
    assert!(
        check.stdout.contains("unwilling/default.en.txt"),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains("bytes"), "{}", check.stdout);

    let run = |threads: &str| {
        let out = tempdir();
        let r = run_campaign(c, out.path(), &["--channel", "email", "--threads", threads]);
        (r, out)
    };
    let (r1, out1) = run("1");
    assert_eq!(r1.code, 3, "{}", r1.stderr);
    let excluded: Vec<BTreeMap<String, String>> = read_csv(&out1.path().join("exclusions.csv"))
        .into_iter()
        .filter(|r| r["reason"] == "render_failed:email")
        .collect();
    assert!(excluded.len() >= 2, "{excluded:?}");
    assert!(
        !manifest(out1.path()).is_empty(),
        "the rest of the campaign goes on"
    );
    // The same customers on every thread count: the budget is counted, not timed.
    let (r2, out2) = run("2");
    assert_eq!(r2.code, 3);
    for f in ["manifest.jsonl", "exclusions.csv", "complete.json"] {
        assert_eq!(
            std::fs::read(out1.path().join(f)).unwrap(),
            std::fs::read(out2.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

/// `dunwell ARGS` with at most 3 GB of address space: a template that allocates more
/// kills the process (an allocation failure aborts) instead of swapping.
fn dunwell_in_3gb(args: &[&str]) -> Run {
    let out = Command::new("bash")
        .arg("-c")
        .arg("ulimit -v 3000000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_dunwell"))
        .args(args)
        .current_dir(root())
        .env_remove("DUNWELL_LINK_SECRET")
        .env(SECRET.0, SECRET.1)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_template_referencing_gigabytes_fails_its_customers_not_the_process() {
    let dir = sample_copy();
    // A 2 MiB text (within the default limit), referenced 8,192 times by a list (16 GiB
    // of text in a few kilobytes), joined: 16 GB before the budget weighed lists.
    append(
        &dir.path().join("templates/email/forgetful/default.en.txt"),
        "{% set s = \"xxxxxxxxxxxxxxxx\" %}{% for i in range(end=17) %}{% set_global s = s ~ s %}{% endfor %}{% set a = [s,s,s,s,s,s,s,s] %}{% for i in range(end=10) %}{% set_global a = [...a, ...a] %}{% endfor %}{{ a | join(sep=\"\") | length }}",
    );
    // A component that includes a partial that calls the component: twenty levels of
    // two interpreter frames each overflowed a worker thread's stack.
    let partials = dir.path().join("templates/email/partials");
    std::fs::create_dir_all(&partials).unwrap();
    std::fs::write(partials.join("r.txt"), "{{ <R n={n}/> }}").unwrap();
    append(
        &dir.path().join("templates/email/unwilling/default.en.txt"),
        "{% component R(n) %}{% include \"email/partials/r.txt\" %}{% endcomponent R %}{{ <R n={1}/> }}",
    );
    let campaign = dir.path().join("samples/campaign.yaml");
    let c = campaign.to_str().unwrap();
    let crashed = |r: &Run| {
        r.code < 0
            || r.stderr.contains("memory allocation")
            || r.stderr.contains("overflow")
            || r.stderr.contains("panicked")
    };

    let check = dunwell_in_3gb(&["check", c]);
    assert!(!crashed(&check), "{}", check.stderr);
    assert_eq!(check.code, 1, "{}{}", check.stdout, check.stderr);
    for (file, limit) in [
        ("forgetful/default.en.txt", "bytes"),
        ("unwilling/default.en.txt", "deep"),
    ] {
        // `error: MESSAGE` then ` --> FILE`
        let lines: Vec<&str> = check.stdout.lines().collect();
        assert!(
            lines
                .windows(2)
                .any(|w| w[0].contains(limit) && w[1].contains(file)),
            "{file}: {}",
            check.stdout
        );
    }

    let run = |threads: &str| {
        let out = tempdir();
        let o = out.path().to_str().unwrap();
        let r = dunwell_in_3gb(&[
            "run",
            c,
            "--out",
            o,
            "--channel",
            "email",
            "--threads",
            threads,
        ]);
        (r, out)
    };
    let (r1, out1) = run("1");
    assert!(!crashed(&r1), "{}", r1.stderr);
    assert_eq!(r1.code, 3, "{}", r1.stderr);
    let excluded = read_csv(&out1.path().join("exclusions.csv"))
        .into_iter()
        .filter(|r| r["reason"] == "render_failed:email")
        .count();
    assert!(excluded >= 2, "{excluded}");
    assert!(
        !manifest(out1.path()).is_empty(),
        "the rest of the campaign goes on"
    );
    // The same customers on every thread count: the budget is counted, not timed.
    let (r2, out2) = run("2");
    assert!(!crashed(&r2), "{}", r2.stderr);
    assert_eq!(r2.code, 3, "{}", r2.stderr);
    for f in ["manifest.jsonl", "exclusions.csv", "complete.json"] {
        assert_eq!(
            std::fs::read(out1.path().join(f)).unwrap(),
            std::fs::read(out2.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn a_partial_included_by_a_template_is_found() {
    let dir = sample_copy();
    std::fs::create_dir_all(dir.path().join("templates/email/partials")).unwrap();
    std::fs::write(
        dir.path().join("templates/email/partials/signature.txt"),
        "-- \nThe credit team of {{ creditor.name }}\n",
    )
    .unwrap();
    append(
        &dir.path().join("templates/email/forgetful/default.en.txt"),
        "\n{% include \"email/partials/signature.txt\" %}",
    );
    let c = dir.path().join("samples/campaign.yaml");
    let check = dunwell(["check", c.to_str().unwrap()]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let out = tempdir();
    let r = run_campaign(
        c.to_str().unwrap(),
        out.path(),
        &["--channel", "email", "--segment", "forgetful"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let en = manifest(out.path())
        .into_iter()
        .find(|e| e["locale"] == "en")
        .unwrap();
    let show = dunwell([
        "outbox",
        "show",
        out.path().to_str().unwrap(),
        en["id"].as_str().unwrap(),
    ]);
    assert!(
        show.stdout
            .contains("The credit team of Nordlicht Utilities Europe B.V."),
        "{}",
        show.stdout
    );
}

#[test]
fn print_csv_cells_cannot_run_as_formulas() {
    let data = tempdir();
    for f in ["customers.csv", "invoices.csv"] {
        let text = std::fs::read_to_string(root().join("tests/fixtures/letters").join(f))
            .unwrap()
            .replace("L-EN", "=1+2-EN");
        std::fs::write(data.path().join(f), text).unwrap();
    }
    let out = tempdir();
    let r = run_campaign(
        "tests/fixtures/letters/campaign.yaml",
        out.path(),
        &["--data", data.path().to_str().unwrap()],
    );
    assert!(matches!(r.code, 0 | 3), "{}", r.stderr);
    let rows = read_csv(&out.path().join("letters/print.csv"));
    let row = rows
        .iter()
        .find(|r| r["customer_id"].contains("1+2-EN"))
        .expect("the letter is bound");
    assert_eq!(row["customer_id"], "'=1+2-EN");
    assert_eq!(row["letter_id"], "'=1+2-EN-letter");
}

#[test]
fn long_cjk_ids_get_distinct_links_that_verify() {
    let c = "tests/fixtures/long_ids/campaign.yaml";
    let out = tempdir();
    let r = run_campaign(c, out.path(), &[]);
    assert!(matches!(r.code, 0 | 3), "{}", r.stderr);
    let m = manifest(out.path());
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    for e in m.iter().filter(|e| e["channel"] == "email") {
        links.insert(
            e["customer_id"].as_str().unwrap().to_string(),
            e["link"].as_str().unwrap().to_string(),
        );
    }
    assert_eq!(links.len(), 3, "{links:?}");
    let distinct: BTreeSet<&String> = links.values().collect();
    assert_eq!(distinct.len(), 3, "each customer their own link");
    for (customer, link) in &links {
        let token = link
            .split('/')
            .next_back()
            .unwrap()
            .split('?')
            .next()
            .unwrap();
        let v = dunwell_env(
            ["link", "verify", token, "--today", "2026-11-20"],
            &[SECRET],
        );
        assert_eq!(v.code, 0, "{}", v.stderr);
        let claims: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
        assert_eq!(claims["customer"], customer.as_str());
        assert_eq!(claims["campaign"], "長期延滞のご案内・二〇二六年十一月");
        // The payment page lives in a folder named by the token.
        assert!(
            out.path()
                .join("web")
                .join(token)
                .join("index.html")
                .exists()
        );
    }
}

#[test]
fn a_test_send_leaves_the_messages_and_never_reaches_customers_on_other_channels() {
    // An outbox with SMS, a gateway configured, a test send of the e-mails only: no SMS
    // may go to a real customer, and nothing is marked sent.
    let out = sample_outbox("sms", &["--sample", "4"]);
    let gw = Gateway::start(&[]);
    let url = format!("http://127.0.0.1:{}/v1/messages", gw.port);
    let r = dunwell_env(
        [
            "send",
            out.path().to_str().unwrap(),
            "--now",
            NOW,
            "--to-override",
            "qa@example.com",
        ],
        &[("DUNWELL_SMS_URL", url.as_str())],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(gw.received().is_empty(), "{:?}", gw.received());
    assert!(!out.path().join("sending.json").exists());
    // Redirected SMS go to the team's phone only, and the real send still sends them all.
    let r = dunwell_env(
        [
            "send",
            out.path().to_str().unwrap(),
            "--now",
            NOW,
            "--sms-to-override",
            "+48 600 000 000",
        ],
        &[("DUNWELL_SMS_URL", url.as_str())],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let sms = crate::send::sms_lines(out.path());
    assert!(
        gw.received()
            .iter()
            .all(|g| g["body"]["to"] == "+48600000000")
    );
    let r = dunwell_env(
        ["send", out.path().to_str().unwrap(), "--now", NOW],
        &[("DUNWELL_SMS_URL", url.as_str())],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let real: Vec<_> = gw
        .received()
        .into_iter()
        .filter(|g| g["body"]["to"] != "+48600000000")
        .collect();
    assert_eq!(real.len(), sms.len());
}

/// A send into an outbox of about 2,000 e-mails to a slow server, SIGKILLed mid-way.
fn killed_mid_send() -> (tempfile::TempDir, tempfile::TempDir, Server) {
    let data = export(2400, 7);
    let out = email_outbox(&["--data", data.path().to_str().unwrap()]);
    let server = Server::start(&["--delay-ms", "5"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_dunwell"))
        .args([
            "send",
            out.path().to_str().unwrap(),
            "--now",
            NOW,
            "--concurrency",
            "4",
        ])
        .env("DUNWELL_SMTP_URL", server.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while server.received().1.len() < 50 {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the send never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        read_json(&out.path().join("sending.json"))["phase"],
        "sending"
    );
    (data, out, server)
}

#[test]
fn a_journal_that_went_back_in_time_is_refused() {
    // Killed mid-send, then its write-ahead log removed (a "stale file" cleanup, a
    // backup of *.sqlite only): the newest claims are gone from the journal.
    let (_data, out, server) = killed_mid_send();
    let saved = backup_journal(out.path());
    for f in ["journal.sqlite-wal", "journal.sqlite-shm"] {
        let _ = std::fs::remove_file(out.path().join(f));
    }
    let sent = server.received().1.len();
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("restore journal.sqlite"), "{}", r.stderr);
    assert_eq!(server.received().1.len(), sent);
    restore_journal(out.path(), &saved);
    // Put back, a dry run checks it and changes nothing.
    let before = journal(out.path());
    assert!(
        before.values().any(|s| s == "sending"),
        "some were in flight"
    );
    let dry = send(out.path(), &server, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert_eq!(journal(out.path()), before, "a dry run changes nothing");

    // Finished cleanly, a backup taken, more sent (a second batch), the backup restored.
    let r = send(out.path(), &server, &["--limit", "100"]);
    assert!(matches!(r.code, 0 | 3), "{}{}", r.stdout, r.stderr);
    assert_eq!(
        read_json(&out.path().join("sending.json"))["phase"],
        "stopped"
    );
    let backup = backup_journal(out.path());
    let r = send(out.path(), &server, &["--limit", "100"]);
    assert!(matches!(r.code, 0 | 3), "{}{}", r.stdout, r.stderr);
    restore_journal(out.path(), &backup);
    let sent = server.received().1.len();
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("older copy of the journal"),
        "{}",
        r.stderr
    );
    assert_eq!(server.received().1.len(), sent, "nothing went out twice");
}

#[test]
fn a_copy_of_a_sent_from_outbox_is_refused_until_it_is_said_to_be_moved() {
    let out = email_outbox(&["--sample", "10"]);
    let server = Server::start(&[]);
    assert_eq!(send(out.path(), &server, &["--limit", "3"]).code, 0);
    let copy = tempdir();
    copy_tree(out.path(), copy.path());
    let r = send(copy.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--moved"), "{}", r.stderr);
    assert_eq!(server.received().1.len(), 3);
    // Moved, not copied: the operator says so, and it goes on from there — once.
    drop(out);
    let r = send(copy.path(), &server, &["--moved"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let (got, _) = server.received();
    assert!(got.values().all(|n| *n == 1), "{got:?}");
    assert_eq!(got.len(), emails(copy.path()).len());
}

#[test]
fn a_relay_that_goes_away_costs_the_messages_no_attempts() {
    let out = email_outbox(&["--sample", "60"]);
    let expected = emails(out.path()).len();
    let server = Server::start(&["--delay-ms", "150"]);
    let child = Command::new(env!("CARGO_BIN_EXE_dunwell"))
        .args([
            "send",
            out.path().to_str().unwrap(),
            "--now",
            NOW,
            "--concurrency",
            "2",
            "--max-attempts",
            "1",
            "--retry-after",
            "100ms",
            "--timeout",
            "500ms",
        ])
        .env("DUNWELL_SMTP_URL", server.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while server.received().1.len() < 3 {
        assert!(t.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server); // the relay goes away mid-campaign
    let o = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("could not be reached"), "{stdout}");
    let after = states(out.path());
    assert!(
        !after.contains_key("rejected"),
        "an outage rejected messages: {after:?}"
    );
    // The relay is back (at another port): the rest goes out, nothing is lost.
    let server = Server::start(&[]);
    let r = send(out.path(), &server, &["--max-attempts", "1"]);
    assert!(matches!(r.code, 0 | 3), "{}{}", r.stdout, r.stderr);
    let end = states(out.path());
    assert_eq!(
        end.get("delivered").copied().unwrap_or(0) + end.get("unknown").copied().unwrap_or(0),
        expected,
        "{end:?}"
    );
}

/// The peak resident memory of a command, in MiB, sampled every 20 ms.
fn peak_rss_mib(mut cmd: Command) -> (i32, u64) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb / 1024);
        }
        if let Some(s) = child.try_wait().unwrap() {
            return (s.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_relay_or_gateway_sending_without_end_cannot_fill_the_memory() {
    // A relay whose greeting never ends: refused after 1 MiB, not gigabytes.
    let mail = email_outbox(&["--sample", "2"]);
    let (mut relay, port, _, _dir) = spawn(
        "tests/smtp/silent.py",
        &["--silent-at", "greeting", "--flood"],
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dunwell"));
    cmd.args([
        "send",
        mail.path().to_str().unwrap(),
        "--now",
        NOW,
        "--timeout",
        "3s",
    ])
    .env("DUNWELL_SMTP_URL", format!("smtp://127.0.0.1:{port}"));
    let (code, peak) = peak_rss_mib(cmd);
    let _ = relay.kill();
    let _ = relay.wait();
    assert_eq!(code, 1, "the health check fails");
    assert!(peak < 300, "{peak} MiB");

    // A gateway whose reply never ends: read up to 64 kB.
    let out = sample_outbox("sms", &["--sample", "3"]);
    let gw = Gateway::start(&["--endless-body"]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dunwell"));
    cmd.args([
        "send",
        out.path().to_str().unwrap(),
        "--now",
        NOW,
        "--timeout",
        "3s",
    ])
    .env(
        "DUNWELL_SMS_URL",
        format!("http://127.0.0.1:{}/v1", gw.port),
    );
    let (code, peak) = peak_rss_mib(cmd);
    assert!(matches!(code, 0 | 3), "{code}");
    assert!(peak < 300, "{peak} MiB");
}

#[test]
fn a_redirecting_gateway_is_not_followed() {
    let out = sample_outbox("sms", &["--sample", "3"]);
    let n = crate::send::sms_lines(out.path()).len();
    let gw = Gateway::start(&["--redirect", "302"]);
    let url = format!("http://127.0.0.1:{}/v1/messages", gw.port);
    let r = dunwell_env(
        ["send", out.path().to_str().unwrap(), "--now", NOW],
        &[("DUNWELL_SMS_URL", url.as_str())],
    );
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(gw.received().is_empty(), "followed: {:?}", gw.received());
    assert_eq!(
        states(out.path()),
        BTreeMap::from([("unknown".to_string(), n)])
    );
    // A gateway URL that cannot be requested is a configuration error up front.
    let out = sample_outbox("sms", &["--sample", "2"]);
    let r = dunwell_env(
        ["send", out.path().to_str().unwrap(), "--now", NOW],
        &[("DUNWELL_SMS_URL", "ht!tp://gateway.example/sms")],
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("DUNWELL_SMS_URL"), "{}", r.stderr);
    assert!(
        !out.path().join("journal.sqlite").exists()
            || states(out.path()).keys().all(|s| s == "pending")
    );
}

#[test]
fn a_long_name_folds_the_to_header_and_the_mail_still_goes_out() {
    let data = tempdir();
    for f in [
        "customers.csv",
        "invoices.csv",
        "payments.csv",
        "events.csv",
    ] {
        std::fs::copy(root().join("samples/data").join(f), data.path().join(f)).unwrap();
    }
    // Every customer gets a long Polish company name: the To: header folds.
    let customers = data.path().join("customers.csv");
    let mut rdr = csv::Reader::from_path(&customers).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let name_col = headers.iter().position(|h| h == "name").unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let mut w = csv::Writer::from_path(&customers).unwrap();
    w.write_record(&headers).unwrap();
    for r in rows {
        let mut r: Vec<String> = r.iter().map(str::to_string).collect();
        r[name_col] = format!(
            "Przedsiębiorstwo Handlowo-Usługowe {} sp. z o.o.",
            r[name_col]
        );
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
    let out = email_outbox(&["--data", data.path().to_str().unwrap(), "--sample", "20"]);
    let server = Server::start(&[]);
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(server.received().1.len(), emails(out.path()).len());
}
