//! The history store: `send` records what it delivered, `history import` records an
//! outbox sent elsewhere, both idempotent; `history show` prints a customer's timeline.
//! Sends go to a real SMTP server (aiosmtpd); stores are SQLite files and a real
//! PostgreSQL server, read back with Python's sqlite3 and psql, not dunwell's code.

use crate::send::{Server, emails, send};
use crate::util::pg;
use crate::util::*;
use std::path::Path;
use std::process::Command;

/// The sample campaign, copied, with `history:` naming a store outside its folder.
fn campaign_with_history(dir: &Path) -> (String, std::path::PathBuf) {
    let store = dir.join("state/history.sqlite");
    (campaign_with(dir, &store.display().to_string()), store)
}

fn campaign_with(dir: &Path, history: &str) -> String {
    let text = sample_text_with_absolute_paths() + &format!("\nhistory: {history}\n");
    let path = dir.join("campaign.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A store under test, read back with its own tools (Python's sqlite3, psql).
enum Store {
    Sqlite(std::path::PathBuf),
    Postgres(pg::Postgres),
}

impl Store {
    fn location(&self) -> String {
        match self {
            Store::Sqlite(p) => p.display().to_string(),
            Store::Postgres(pg) => pg.url.clone(),
        }
    }

    /// Each row as its columns' text.
    fn rows(&self, query: &str) -> Vec<Vec<String>> {
        match self {
            Store::Sqlite(p) => sql(p, query)
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .collect(),
            Store::Postgres(pg) => pg.rows(query),
        }
    }

    fn count(&self, query: &str) -> usize {
        self.rows(query)[0][0].parse().unwrap()
    }
}

pub fn sql(store: &Path, query: &str) -> serde_json::Value {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); print(json.dumps(c.execute(sys.argv[2]).fetchall()))",
        ])
        .arg(store)
        .arg(query)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn count(store: &Path, query: &str) -> u64 {
    sql(store, query)[0][0].as_u64().unwrap()
}

/// Run → send (records) → send again, import twice (nothing added) → show, against
/// one store; returns the outbox for further comparison.
fn recorded_once(store: &Store) -> tempfile::TempDir {
    let dir = tempdir();
    let campaign = campaign_with(dir.path(), &store.location());
    let out = outbox_of(&campaign, &["--channel", "email"]);
    let summary = read_json(&out.path().join("summary.json"));
    assert_eq!(summary["history"], store.location());
    let sent = emails(out.path());
    let server = Server::start(&[]);
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("state(s) recorded"), "{}", r.stderr);

    // Every message of the manifest is a contact, delivered, with what it claimed.
    let manifest = manifest(out.path());
    assert_eq!(store.count("select count(*) from runs"), 1);
    assert_eq!(store.count("select count(*) from messages"), manifest.len());
    assert_eq!(
        store.count("select count(*) from messages where state = 'delivered'"),
        sent.len()
    );
    // One claim per customer: the invoices their messages claim, with the total.
    let mut by_customer: std::collections::BTreeMap<&str, &serde_json::Value> = Default::default();
    for e in &manifest {
        by_customer.insert(e["customer_id"].as_str().unwrap(), e);
    }
    let claims: usize = by_customer
        .values()
        .map(|e| e["invoices"].as_array().unwrap().len())
        .sum();
    assert!(claims >= by_customer.len());
    assert_eq!(
        store.count("select count(*) from claims"),
        by_customer.len()
    );
    assert_eq!(store.count("select count(*) from claim_invoices"), claims);
    // A claim's amount is the sum of the open amounts of its invoices.
    let mut totals: std::collections::BTreeMap<String, rust_decimal::Decimal> = Default::default();
    for r in store.rows("select customer, open_amount from claim_invoices") {
        *totals.entry(r[0].clone()).or_default() += r[1].parse::<rust_decimal::Decimal>().unwrap();
    }
    for r in store.rows("select customer, amount, stage from claims") {
        assert_eq!(
            r[1].parse::<rust_decimal::Decimal>().unwrap(),
            totals[&r[0]],
            "{}",
            r[0]
        );
        assert_eq!(by_customer[r[0].as_str()]["stage"], r[2].as_str());
    }
    // Each message knows its link by the token's hash, and its Message-ID's start.
    let by_id: std::collections::BTreeMap<String, &serde_json::Value> = manifest
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_string(), e))
        .collect();
    for r in store.rows("select customer, channel, link, message_id from messages") {
        let e = by_id[&format!("{}-{}", r[0], r[1])];
        let token = e["link"]
            .as_str()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        assert_eq!(r[2], dunwell::history::link_key(token), "{r:?}");
        assert!(
            e["message_id"].as_str().unwrap_or("").starts_with(&r[3]) && r[3].len() == 16,
            "{r:?}"
        );
    }
    // The run's segmentation: every customer of the export, with cluster and rule.
    assert_eq!(
        store.count("select count(*) from segments"),
        read_csv(&out.path().join("segments.csv")).len()
    );

    // Sending again, importing, importing again: nothing added.
    let all = "select * from messages order by customer, channel";
    let before = store.rows(all);
    assert_eq!(send(out.path(), &server, &[]).code, 0);
    for _ in 0..2 {
        let r = dunwell(["history", "import", out.path().to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.contains("added 0 run, 0 contact(s), 0 invoice claim(s), 0 segment row(s); 0 state(s) changed"),
            "{}",
            r.stdout
        );
    }
    assert_eq!(store.rows(all), before);
    assert_eq!(store.count("select count(*) from runs"), 1);

    // The timeline of one customer: their cluster and the delivered e-mail.
    let e = &manifest[0];
    let customer = e["customer_id"].as_str().unwrap();
    let r = dunwell(["history", "show", customer, "--history", &store.location()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(e["cluster"].as_str().unwrap()),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("— delivered at 2026-12-01T00:00:00Z"),
        "{}",
        r.stdout
    );
    for inv in e["invoices"].as_array().unwrap() {
        assert!(r.stdout.contains(inv[0].as_str().unwrap()), "{}", r.stdout);
    }
    out
}

#[test]
fn a_sent_outbox_is_recorded_once_with_every_contact_and_its_outcome() {
    let dir = tempdir();
    recorded_once(&Store::Sqlite(dir.path().join("state/history.sqlite")));
}

/// The same in a real PostgreSQL server, and the same rows as SQLite holds for the
/// same outbox; the next run reads the same history from either.
#[test]
fn postgresql_holds_the_same_history_as_sqlite() {
    let pg = Store::Postgres(pg::Postgres::start());
    let out = recorded_once(&pg);
    let dir = tempdir();
    let lite = Store::Sqlite(dir.path().join("h.sqlite"));
    let r = dunwell([
        "history",
        "import",
        out.path().to_str().unwrap(),
        "--history",
        &lite.location(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for q in [
        "select run, outbox, campaign, shard, as_of, messages from runs",
        "select run, customer, stage, template, currency, amount, scheduled_at from claims order by run, customer",
        "select run, customer, channel, state, message_id, link from messages order by run, customer, channel",
        "select * from claim_invoices order by run, customer, invoice",
        "select * from segments order by run, customer",
        "select version, name from refinery_schema_history",
    ] {
        assert_eq!(pg.rows(q), lite.rows(q), "{q}");
    }
    // A week later, from each store: the same outbox, byte for byte.
    let next = |store: &Store| {
        let d = tempdir();
        let campaign = campaign_with(d.path(), &store.location());
        let o = tempdir();
        let r = run_campaign(
            &campaign,
            o.path(),
            &["--channel", "email", "--as-of", "2026-12-02"],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("read as reminder_sent events"),
            "{}",
            r.stderr
        );
        (d, o)
    };
    let (_a, from_pg) = next(&pg);
    let (_b, from_lite) = next(&lite);
    for f in ["manifest.jsonl", "exclusions.csv", "segments.csv"] {
        assert_eq!(
            std::fs::read(from_pg.path().join(f)).unwrap(),
            std::fs::read(from_lite.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn an_outbox_sent_elsewhere_is_imported_with_its_journal_states() {
    let out = email_outbox(&[]);
    let server = Server::start(&[]);
    // Sent without a store (the sample campaign names none) …
    assert_eq!(send(out.path(), &server, &[]).code, 0);
    let r = dunwell(["history", "import", out.path().to_str().unwrap()]);
    assert_eq!(r.code, 1, "no store named anywhere is an error");
    assert!(r.stderr.contains("history: PATH"), "{}", r.stderr);
    // … then imported into one: every contact with its delivered state.
    let dir = tempdir();
    let store = dir.path().join("h.sqlite");
    let r = dunwell([
        "history",
        "import",
        out.path().to_str().unwrap(),
        "--history",
        store.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let n = manifest(out.path()).len() as u64;
    assert_eq!(
        count(
            &store,
            "select count(*) from messages where state = 'delivered'"
        ),
        n
    );
    // The schema came from refinery's migrations (its own table records them).
    assert_eq!(
        sql(&store, "select version, name from refinery_schema_history"),
        serde_json::json!([
            [1, "contacts"],
            [2, "returns_events_audit"],
            [3, "statements"]
        ])
    );
}

#[test]
fn a_history_url_with_a_password_is_refused_without_showing_it() {
    let dir = tempdir();
    let path = dir.path().join("campaign.yaml");
    std::fs::write(
        &path,
        sample_text_with_absolute_paths()
            + "\nhistory: postgres://dunwell:hunter2@db.internal/ar\n",
    )
    .unwrap();
    let r = dunwell(["check", path.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("PGPASSWORD"), "{}", r.stderr);
    assert!(!r.stderr.contains("hunter2") && !r.stdout.contains("hunter2"));
}

/// The next run reads what the history knew at its `as_of`: e-mails delivered by then
/// count towards the frequency cap like the export's own `reminder_sent` events; a
/// re-run of the earlier date still gives the same bytes.
#[test]
fn the_next_run_counts_delivered_contacts_towards_the_frequency_cap() {
    let dir = tempdir();
    let (campaign, store) = campaign_with_history(dir.path());
    // One e-mail a week, and no minimum interval between levels: the cap alone is under
    // test (with the default week, the reminded invoices would wait for their next level
    // instead). The same policy without the store, to compare.
    let text = std::fs::read_to_string(&campaign).unwrap();
    assert!(text.contains("\npolicy:\n") && text.contains("email: {max: 2, days: 7}"));
    let text = text
        .replace("\npolicy:\n", "\npolicy:\n  level_interval_days: 0\n")
        .replace("email: {max: 2, days: 7}", "email: {max: 1, days: 7}");
    std::fs::write(&campaign, &text).unwrap();
    let no_history = dir.path().join("no-history.yaml");
    std::fs::write(
        &no_history,
        text.lines()
            .filter(|l| !l.starts_with("history:"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let first = outbox_of(&campaign, &["--channel", "email"]);
    let server = Server::start(&[]);
    let r = dunwell_env(
        [
            "send",
            first.path().to_str().unwrap(),
            "--now",
            // Monday 23 November is a holiday in Japan: its e-mails are due on Tuesday.
            "2026-11-24T12:00:00Z",
        ],
        &[("DUNWELL_SMTP_URL", server.url().as_str())],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let emailed: std::collections::BTreeSet<String> = manifest(first.path())
        .iter()
        .map(|e| e["customer_id"].as_str().unwrap().to_string())
        .collect();

    // Two days on, with and without the store.
    let next = |with_history: bool| {
        let path = if with_history {
            campaign.clone()
        } else {
            no_history.display().to_string()
        };
        let out = tempdir();
        let r = run_campaign(
            &path,
            out.path(),
            &["--channel", "email", "--as-of", "2026-11-25"],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        (r, out)
    };
    let (with, with_out) = next(true);
    let (_, without_out) = next(false);
    assert!(
        with.stderr.contains(&format!(
            "history: {} contact(s) delivered by 2026-11-25",
            emailed.len()
        )),
        "{}",
        with.stderr
    );
    let capped = |out: &Path| -> std::collections::BTreeSet<String> {
        read_csv(&out.join("exclusions.csv"))
            .into_iter()
            .filter(|r| r["reason"] == "frequency_cap:email")
            .map(|r| r["customer_id"].clone())
            .collect()
    };
    let newly: Vec<String> = capped(with_out.path())
        .difference(&capped(without_out.path()))
        .cloned()
        .collect();
    assert!(!newly.is_empty(), "the history capped nobody");
    // Exactly customers e-mailed on 11-23 whose export had no e-mail reminder within the
    // 7 days: the one from the history is the cap.
    let events = read_csv(&root().join("samples/data/events.csv"));
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    for c in &newly {
        assert!(emailed.contains(c), "{c} was capped but never contacted");
        let recent = events
            .iter()
            .filter(|e| {
                &e["customer_id"] == c && e["channel"] == "email" && e["kind"] == "reminder_sent"
            })
            .filter(|e| {
                let d = chrono::NaiveDate::parse_from_str(&e["date"], "%Y-%m-%d").unwrap();
                d <= as_of && (as_of - d).num_days() < 7
            })
            .count();
        assert_eq!(recent, 0, "{c}");
    }

    // The first run again, after the send was recorded: the history after its as_of is
    // not read, so the outbox is the same, byte for byte.
    let again = outbox_of(&campaign, &["--channel", "email"]);
    for f in ["manifest.jsonl", "exclusions.csv", "segments.csv"] {
        assert_eq!(
            std::fs::read(first.path().join(f)).unwrap(),
            std::fs::read(again.path().join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(store.exists());
}

/// A store that cannot be opened stops the send before anything goes out.
#[test]
fn a_store_that_cannot_be_written_stops_the_send_before_it_starts() {
    let dir = tempdir();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "a file where the store's folder should be").unwrap();
    let campaign = campaign_with(
        dir.path(),
        &blocker.join("history.sqlite").display().to_string(),
    );
    let out = outbox_of(&campaign, &["--channel", "email"]);
    let server = Server::start(&[]);
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not-a-folder"), "{}", r.stderr);
    assert!(server.received().1.is_empty(), "nothing may be sent");
    assert!(!out.path().join("journal.sqlite").exists());
}

/// A "PostgreSQL" server that accepts the connection and never answers: the command
/// gives up with a clear error instead of hanging.
#[test]
fn a_silent_postgresql_server_is_given_up_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(std::time::Duration::from_secs(25));
        drop(conn);
    });
    let out = email_outbox(&[]);
    let t = std::time::Instant::now();
    let r = dunwell([
        "history",
        "import",
        out.path().to_str().unwrap(),
        "--history",
        &format!("postgres://dunwell@127.0.0.1:{port}/ar"),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("no answer within"), "{}", r.stderr);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(24),
        "{:?}",
        t.elapsed()
    );
    hold.join().unwrap();
}

/// Four eyes: with `approval: required`, `send` refuses an outbox nobody approved, one
/// approved only by the sender, and a new run of it; the audit trail says who did what.
#[test]
fn an_outbox_that_needs_approval_is_sent_only_after_a_second_person_approved_it() {
    let dir = tempdir();
    let store = dir.path().join("state/history.sqlite");
    let path = dir.path().join("campaign.yaml");
    std::fs::write(
        &path,
        sample_text_with_absolute_paths()
            + &format!("\nhistory: {}\napproval: required\n", store.display()),
    )
    .unwrap();
    let campaign = path.display().to_string();
    let out = outbox_of(&campaign, &["--channel", "email"]);
    let o = out.path().to_str().unwrap();
    let server = Server::start(&[]);
    let send_as = |who: &str| {
        dunwell_env(
            ["send", o, "--now", "2026-12-01T00:00:00Z"],
            &[
                ("DUNWELL_SMTP_URL", server.url().as_str()),
                ("DUNWELL_USER", who),
            ],
        )
    };
    let r = send_as("ops");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not approved"), "{}", r.stderr);
    assert!(server.received().1.is_empty(), "sent without approval");

    // Approved by the person who sends: still one pair of eyes.
    let r = dunwell(["approve", o, "--by", "ops"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = send_as("OPS");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("four eyes"), "{}", r.stderr);
    assert!(server.received().1.is_empty());

    let r = dunwell(["approve", o, "--by", "Maria Rossi"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("approved by Maria Rossi"), "{}", r.stdout);
    let r = dunwell(["approve", o, "--by", "Maria Rossi"]);
    assert!(r.stdout.contains("already approved"), "{}", r.stdout);
    let r = send_as("ops");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("approved by Maria Rossi; sent by ops"),
        "{}",
        r.stderr
    );
    assert_eq!(server.received().1.len(), emails(out.path()).len());
    assert_eq!(
        sql(
            &store,
            "select action, actor from audit order by action, actor"
        ),
        serde_json::json!([
            ["approve", "Maria Rossi"],
            ["approve", "ops"],
            ["send", "ops"]
        ])
    );

    // The report shows the audit trail from the store.
    let r = dunwell(["report", o]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    let audit = &html[html
        .find("<section id=\"audit\">")
        .expect("an audit section")..];
    assert!(
        audit.contains("Maria Rossi") && audit.contains("<td>send</td>"),
        "{audit}"
    );

    // The campaign run again a day later is another outbox: its approval does not carry.
    let later = outbox_of(&campaign, &["--channel", "email", "--as-of", "2026-11-21"]);
    let r = dunwell_env(
        ["send", later.path().to_str().unwrap()],
        &[
            ("DUNWELL_SMTP_URL", server.url().as_str()),
            ("DUNWELL_USER", "ops"),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not approved"), "{}", r.stderr);
    // Editing the requirement out of the outbox's files does not skip it: the store
    // knows this campaign's outboxes are approved.
    for f in ["summary.json", "complete.json"] {
        let p = later.path().join(f);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("approval_required"), "{f}");
        let edited: String = text
            .lines()
            .filter(|l| !l.contains("approval_required"))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&p, edited.replace(",\n}", "\n}")).unwrap();
    }
    let r = dunwell_env(
        ["send", later.path().to_str().unwrap()],
        &[
            ("DUNWELL_SMTP_URL", server.url().as_str()),
            ("DUNWELL_USER", "ops"),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not approved"), "{}", r.stderr);
    // A sender without a name cannot be told from the approver.
    let r = dunwell_env(
        ["send", o, "--now", "2026-12-01T00:00:00Z"],
        &[
            ("DUNWELL_SMTP_URL", server.url().as_str()),
            ("DUNWELL_USER", ""),
            ("USER", ""),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("set DUNWELL_USER"), "{}", r.stderr);

    // Without a store to record approvals in, the campaign is refused when read.
    std::fs::write(
        &path,
        sample_text_with_absolute_paths() + "\napproval: required\n",
    )
    .unwrap();
    let r = dunwell(["check", &campaign]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("approval: required needs a history store"),
        "{}",
        r.stderr
    );
}

/// Events from the CRM recorded into the store reach the next run: a promise pauses the
/// customer, an opt-out drops the channel. The same file twice adds nothing; a file with
/// a bad row is refused whole, each bad row named.
#[test]
fn crm_events_recorded_into_the_history_reach_the_next_run() {
    let dir = tempdir();
    let (campaign, store) = campaign_with_history(dir.path());
    let first = outbox_of(&campaign, &["--channel", "email", "--channel", "sms"]);
    let m = manifest(first.path());
    let who = |channel: &str| {
        m.iter().find(|e| e["channel"] == channel).unwrap()["customer_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (promiser, texted) = (who("email"), who("sms"));
    let texted = if texted == promiser {
        m.iter()
            .filter(|e| e["channel"] == "sms" && e["customer_id"] != promiser.as_str())
            .map(|e| e["customer_id"].as_str().unwrap().to_string())
            .next()
            .unwrap()
    } else {
        texted
    };
    let crm = dir.path().join("crm.csv");
    std::fs::write(
        &crm,
        format!(
            "customer_id,date,channel,kind,promised_date,promised_amount\n{promiser},2026-11-19,call,promise_to_pay,2026-11-27,50\n{texted},2026-11-19,sms,opted_out,,\n"
        ),
    )
    .unwrap();
    let record = |file: &Path| {
        dunwell([
            "history",
            "events",
            file.to_str().unwrap(),
            "--history",
            store.to_str().unwrap(),
            "--now",
            "2026-11-19T18:00:00Z",
        ])
    };
    let r = record(&crm);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("2 event(s) read"), "{}", r.stdout);
    assert!(r.stdout.contains(", 2 new"), "{}", r.stdout);
    assert!(record(&crm).stdout.contains(", 0 new"));

    let next = outbox_of(&campaign, &["--channel", "email", "--channel", "sms"]);
    let x = read_csv(&next.path().join("exclusions.csv"));
    let reason = |c: &str| -> Vec<String> {
        x.iter()
            .filter(|r| r["customer_id"] == c)
            .map(|r| r["reason"].clone())
            .collect()
    };
    assert_eq!(reason(&promiser), ["promised_until:2026-11-30"]);
    assert!(
        reason(&texted).contains(&"opted_out:sms".to_string()),
        "{:?}",
        reason(&texted)
    );
    assert!(
        !manifest(next.path())
            .iter()
            .any(|e| e["customer_id"] == promiser.as_str()
                || (e["customer_id"] == texted.as_str() && e["channel"] == "sms"))
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("customer_id,date,channel,kind\n{promiser},2026-11-31,call,promise_to_pay\nC1,2026-11-19,pigeon,replied\n"),
    )
    .unwrap();
    let r = record(&bad);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("bad.csv:2: column date"), "{}", r.stderr);
    assert!(
        r.stderr.contains("bad.csv:3: column channel"),
        "{}",
        r.stderr
    );
    assert_eq!(count(&store, "select count(*) from events"), 2);
}

/// Letters make a level once their batch is posted: `outbox posted` marks exactly the
/// letters of letters/print.csv delivered, once.
#[test]
fn posting_the_print_batch_marks_its_letters_delivered() {
    let out = sample_outbox("letter", &[]);
    let dir = tempdir();
    let store = dir.path().join("h.sqlite");
    let o = out.path().to_str().unwrap();
    let posted = || {
        dunwell([
            "outbox",
            "posted",
            o,
            "--history",
            store.to_str().unwrap(),
            "--now",
            "2026-11-23T16:00:00Z",
        ])
    };
    let r = posted();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let letters = read_csv(&out.path().join("letters/print.csv")).len();
    assert!(letters > 10);
    assert!(
        r.stdout.contains(&format!(
            "{letters} letter(s) in the print batch, {letters} newly marked"
        )),
        "{}",
        r.stdout
    );
    assert_eq!(
        count(
            &store,
            "select count(*) from messages where channel = 'letter' and state = 'delivered' and state_at = '2026-11-23T16:00:00Z'"
        ),
        letters as u64
    );
    assert!(posted().stdout.contains(", 0 newly marked"));
}

/// `send` records deliveries into the history as they happen, not only when it ends: a
/// paced send is watched from outside and the store's delivered count grows while the
/// send is still running.
#[test]
fn deliveries_reach_the_history_while_the_send_is_still_running() {
    let dir = tempdir();
    let (campaign, store) = campaign_with_history(dir.path());
    let out = outbox_of(&campaign, &["--channel", "email"]);
    let total = emails(out.path()).len() as u64;
    assert!(total > 40, "{total}");
    let server = Server::start(&[]);
    // About 20 a second: the send takes a few seconds.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dunwell"))
        .args([
            "send",
            out.path().to_str().unwrap(),
            "--now",
            "2026-12-01T00:00:00Z",
            "--rate",
            "20/s",
        ])
        .env("DUNWELL_SMTP_URL", server.url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let delivered = || {
        if !store.exists() {
            return 0;
        }
        let o = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys\ntry:\n c=sqlite3.connect(sys.argv[1]); print(c.execute(\"select count(*) from messages where state='delivered'\").fetchone()[0])\nexcept Exception: print(0)",
            ])
            .arg(&store)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
    };
    let mut seen_during = 0;
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed().as_secs() < 60 {
        let n = delivered();
        if n > 0 && n < total {
            seen_during = seen_during.max(n);
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        seen_during > 0,
        "the store had no delivery until the send ended ({total} e-mails)"
    );
    assert_eq!(delivered(), total);
}
