//! The history store: `send` records what it delivered, `history import` records an
//! outbox sent elsewhere, both idempotent; `history show` prints a customer's timeline.
//! Sends go to a real SMTP server (aiosmtpd); the store is read back with Python's
//! sqlite3, not with dunwell's own code.

use crate::send::{Server, emails, send};
use crate::util::*;
use std::path::Path;
use std::process::Command;

/// The sample campaign, copied, with `history:` naming a store outside its folder.
fn campaign_with_history(dir: &Path) -> (String, std::path::PathBuf) {
    let store = dir.join("state/history.sqlite");
    let text = sample_text_with_absolute_paths() + &format!("\nhistory: {}\n", store.display());
    let path = dir.join("campaign.yaml");
    std::fs::write(&path, text).unwrap();
    (path.display().to_string(), store)
}

fn sql(store: &Path, query: &str) -> serde_json::Value {
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

#[test]
fn a_sent_outbox_is_recorded_once_with_every_contact_and_its_outcome() {
    let dir = tempdir();
    let (campaign, store) = campaign_with_history(dir.path());
    let out = outbox_of(&campaign, &["--channel", "email"]);
    let summary = read_json(&out.path().join("summary.json"));
    assert_eq!(summary["history"], store.display().to_string());
    let sent = emails(out.path());
    let server = Server::start(&[]);
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("state(s) recorded"), "{}", r.stderr);

    // Every message of the manifest is a contact, delivered, with what it claimed.
    let manifest = manifest(out.path());
    assert_eq!(count(&store, "select count(*) from runs"), 1);
    assert_eq!(
        count(&store, "select count(*) from contacts") as usize,
        manifest.len()
    );
    assert_eq!(
        count(
            &store,
            "select count(*) from contacts where state = 'delivered'"
        ) as usize,
        sent.len()
    );
    let claims: usize = manifest
        .iter()
        .map(|e| e["invoices"].as_array().unwrap().len())
        .sum();
    assert!(claims >= manifest.len());
    assert_eq!(
        count(&store, "select count(*) from contact_invoices") as usize,
        claims
    );
    // A contact's amount is the sum of the open amounts it claims (in the store's text).
    let rows = sql(
        &store,
        "select c.amount, group_concat(i.open_amount, ' ') from contacts c join contact_invoices i on i.run = c.run and i.id = c.id group by c.run, c.id",
    );
    for row in rows.as_array().unwrap() {
        let total: rust_decimal::Decimal = row[1]
            .as_str()
            .unwrap()
            .split(' ')
            .map(|a| a.parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        assert_eq!(
            row[0]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap(),
            total
        );
    }
    // The run's segmentation: every customer of the export, with cluster and rule.
    assert_eq!(
        count(&store, "select count(*) from segments") as usize,
        read_csv(&out.path().join("segments.csv")).len()
    );

    // Sending again, importing, importing again: nothing added.
    let before = sql(&store, "select * from contacts order by id");
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
    assert_eq!(sql(&store, "select * from contacts order by id"), before);
    assert_eq!(count(&store, "select count(*) from runs"), 1);

    // The timeline of one customer: their cluster and the delivered e-mail.
    let e = &manifest[0];
    let customer = e["customer_id"].as_str().unwrap();
    let r = dunwell([
        "history",
        "show",
        customer,
        "--history",
        store.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(e["cluster"].as_str().unwrap()),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("email"), "{}", r.stdout);
    assert!(
        r.stdout.contains("— delivered at 2026-12-01T00:00:00Z"),
        "{}",
        r.stdout
    );
    for inv in e["invoices"].as_array().unwrap() {
        assert!(r.stdout.contains(inv[0].as_str().unwrap()), "{}", r.stdout);
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
            "select count(*) from contacts where state = 'delivered'"
        ),
        n
    );
    // The schema came from refinery's migrations (its own table records them).
    assert_eq!(
        sql(&store, "select version, name from refinery_schema_history"),
        serde_json::json!([[1, "contacts"]])
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
    let first = outbox_of(&campaign, &["--channel", "email"]);
    let server = Server::start(&[]);
    let r = dunwell_env(
        [
            "send",
            first.path().to_str().unwrap(),
            "--now",
            "2026-11-23T12:00:00Z",
        ],
        &[("DUNWELL_SMTP_URL", server.url().as_str())],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let emailed: std::collections::BTreeSet<String> = manifest(first.path())
        .iter()
        .map(|e| e["customer_id"].as_str().unwrap().to_string())
        .collect();

    // A week on (the sample caps e-mail at 2 in 7 days), with and without the store.
    let next = |with_history: bool| {
        let path = if with_history {
            campaign.clone()
        } else {
            let p = dir.path().join("no-history.yaml");
            std::fs::write(&p, sample_text_with_absolute_paths()).unwrap();
            p.display().to_string()
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
    // Exactly the customers e-mailed on 11-23 whose export already had one e-mail
    // reminder within the 7 days: one from the export + one from the history = the cap.
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
        assert_eq!(recent, 1, "{c}");
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
