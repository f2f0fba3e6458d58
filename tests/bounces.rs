//! `dunwell history bounces`: bounces and complaints read from an mbox or a Maildir into
//! the history store, matched to the contacts of a real outbox by Message-ID — and what
//! the next run does with them. The notifications are the fixtures of
//! tests/fixtures/bounces/ (Postfix, Exim, Gmail, Microsoft 365, sendmail, a feedback
//! loop), their Message-IDs and addresses replaced with the outbox's.

use crate::history::sql;
use crate::util::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The sample campaign with a history store, run (e-mail only) and recorded with
/// `history import`: the contacts carry their Message-IDs and addresses.
struct Recorded {
    dir: tempfile::TempDir,
    campaign: String,
    store: PathBuf,
    outbox: tempfile::TempDir,
}

fn recorded() -> Recorded {
    let dir = tempdir();
    let store = dir.path().join("state/history.sqlite");
    let campaign = dir.path().join("campaign.yaml");
    std::fs::write(
        &campaign,
        sample_text_with_absolute_paths() + &format!("\nhistory: {}\n", store.display()),
    )
    .unwrap();
    let campaign = campaign.display().to_string();
    let outbox = outbox_of(&campaign, &["--channel", "email"]);
    let r = dunwell(["history", "import", outbox.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    Recorded {
        dir,
        campaign,
        store,
        outbox,
    }
}

/// A contact of the outbox: customer, address, Message-ID.
#[derive(Clone, Debug)]
struct Contact {
    customer: String,
    to: String,
    id: String,
}

/// A fixture about `who`: its Message-ID and (when given) its address replaced.
fn notification(name: &str, fixture_id: &str, fixture_to: Option<&str>, who: &Contact) -> Vec<u8> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/bounces").join(name)).unwrap();
    assert!(text.contains(fixture_id), "{name}");
    let mut text = text.replace(fixture_id, &who.id);
    if let Some(to) = fixture_to {
        assert!(text.contains(to), "{name}");
        text = text.replace(to, &who.to);
    }
    text.into_bytes()
}

/// Messages as an mboxrd file: each after a `From ` line, `From ` lines quoted.
fn mbox(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(b"From MAILER-DAEMON Mon Nov 23 09:10:00 2026\n");
        for line in m.split_inclusive(|&b| b == b'\n') {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if line[quotes..].starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    out
}

/// The seven notifications about five customers of the outbox, and one about a message
/// no contact has.
struct Mailbox {
    bounced: Contact,
    refused: Contact,
    complainer: Contact,
    delayed: Contact,
    not_spam: Contact,
    away: Contact,
    /// The first recipient of a DSN with two (the second was delivered).
    two: Contact,
    messages: Vec<Vec<u8>>,
}

fn mailbox(contacts: &[Contact]) -> Mailbox {
    let c = |i: usize| contacts[i].clone();
    let (bounced, refused, complainer, delayed, not_spam, away, two) =
        (c(0), c(1), c(2), c(3), c(4), c(5), c(6));
    let messages = vec![
        notification(
            "postfix-5.1.1-user-unknown.eml",
            "3f9a1c27b4e05d6a8c1e92f7a0b3d4c5@nordlicht.example",
            Some("emily.williams0@example.co.uk"),
            &bounced,
        ),
        notification(
            "postfix-5.7.1-spamhaus.eml",
            "5a1f8c3e9d2b4760a8e1c5f3b9d7e2a0@nordlicht.example",
            Some("ana.popescu3@example.ro"),
            &refused,
        ),
        notification(
            "arf-abuse-redacted.eml",
            "1c8e5a3f7b9d2640c1e8a5f3b7d9e2c6@nordlicht.example",
            None,
            &complainer,
        ),
        notification(
            "delayed-4.4.7.eml",
            "9d4b2f7e1a5c3086b2d9f4e7a1c5b3d0@nordlicht.example",
            Some("yuki.tanaka5@example.jp"),
            &delayed,
        ),
        notification(
            "arf-not-spam.eml",
            "b6f2d8a4c0e1937f5b2d8a4c6e0f1a39@nordlicht.example",
            Some("lucia.bianchi9@example.it"),
            &not_spam,
        ),
        notification(
            "out-of-office.eml",
            "7e1a9c5f3b2d4086e1a7c9f5b3d2e4a8@nordlicht.example",
            None,
            &away,
        ),
        notification(
            "dsn-two-recipients.eml",
            "2d9f6b1e8c4a3075d2f9b6e1c8a4d3f7@nordlicht.example",
            Some("camille.dubois@example.fr"),
            &two,
        ),
        // Its Message-ID is the fixture's: no contact has it.
        std::fs::read(root().join("tests/fixtures/bounces/gmail-5.1.1-no-such-user.eml")).unwrap(),
    ];
    Mailbox {
        bounced,
        refused,
        complainer,
        delayed,
        not_spam,
        away,
        two,
        messages,
    }
}

/// The e-mail contacts of an outbox, in manifest order.
fn contacts(outbox: &Path) -> Vec<Contact> {
    manifest(outbox)
        .iter()
        .map(|e| Contact {
            customer: e["customer_id"].as_str().unwrap().into(),
            to: e["to"].as_str().unwrap().into(),
            id: e["message_id"].as_str().unwrap().into(),
        })
        .collect()
}

fn emailed(outbox: &Path) -> BTreeSet<String> {
    contacts(outbox).into_iter().map(|c| c.customer).collect()
}

fn excluded(outbox: &Path, customer: &str) -> Vec<String> {
    read_csv(&outbox.join("exclusions.csv"))
        .into_iter()
        .filter(|r| r["customer_id"] == customer)
        .map(|r| r["reason"].clone())
        .collect()
}

fn bounces(mailbox: &Path, store: &Path) -> Run {
    dunwell([
        "history",
        "bounces",
        mailbox.to_str().unwrap(),
        "--history",
        store.to_str().unwrap(),
        "--now",
        "2026-11-24T18:00:00Z",
    ])
}

/// The next week's run (e-mail only) from the store.
fn next_run(r: &Recorded, extra: &[&str]) -> (Run, tempfile::TempDir) {
    let out = tempdir();
    let mut args = vec!["--channel", "email", "--as-of", "2026-11-25"];
    args.extend_from_slice(extra);
    let run = run_campaign(&r.campaign, out.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (run, out)
}

fn rows(store: &Path, query: &str) -> Vec<Vec<String>> {
    sql(store, query)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()
        })
        .collect()
}

/// Customers e-mailed in the first run who, with nothing read back, are e-mailed again
/// the next week — so what the notifications change is the notifications' doing.
fn candidates(r: &Recorded) -> Vec<Contact> {
    let (_, baseline) = next_run(r, &[]);
    let again = emailed(baseline.path());
    let picked: Vec<Contact> = contacts(r.outbox.path())
        .into_iter()
        .filter(|c| again.contains(&c.customer))
        .collect();
    assert!(picked.len() >= 7, "{} customers", picked.len());
    picked
}

#[test]
fn bounces_and_complaints_are_recorded_once_and_change_the_next_run() {
    let r = recorded();
    let m = mailbox(&candidates(&r));
    let path = r.dir.path().join("bounces.mbox");
    std::fs::write(&path, mbox(&m.messages)).unwrap();

    let first = bounces(&path, &r.store);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let out = &first.stdout;
    assert!(
        out.contains("8 message(s), 9 notice(s), 8 matched to a contact")
            && out.contains("added 9 return(s), 4 event(s)"),
        "{out}"
    );
    for line in [
        "  bounce          3       2 matched",
        "  refused         1       1 matched",
        "  delayed         2       2 matched",
        "  complaint       1       1 matched",
        "  not_spam        1       1 matched",
        "  other           1       1 matched",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    // The Gmail bounce names a message no contact has: recorded, listed, held against no one.
    assert!(
        out.contains(&format!(
            "bounces.mbox:{}  bounce  <c4d7e2a9f1b3058e6a7d9c2b4e1f0a86@nordlicht.example>  giulia.romano7@example.it",
            mbox(&m.messages[..7]).iter().filter(|&&b| b == b'\n').count() + 1
        )),
        "{out}"
    );
    assert!(
        out.contains("an automatic reply: Automatic reply: Przypomnienie"),
        "{out}"
    );

    // The store: one return per recipient, each with its customer; the events.
    let store = &r.store;
    // In mailbox order: by the line of each message's `From ` line, then recipient.
    let mut returns = rows(
        store,
        "select source, key, kind, status, customer from returns",
    );
    returns.sort_by_key(|r| {
        let line: u64 = r[0].rsplit(':').next().unwrap().parse().unwrap();
        (line, r[1].clone())
    });
    assert_eq!(
        returns
            .into_iter()
            .map(|r| r[2..].to_vec())
            .collect::<Vec<_>>(),
        [
            ["bounce", "5.1.1", m.bounced.customer.as_str()],
            ["refused", "5.7.1", &m.refused.customer],
            ["complaint", "", &m.complainer.customer],
            ["delayed", "4.4.7", &m.delayed.customer],
            ["not_spam", "", &m.not_spam.customer],
            ["other", "", &m.away.customer],
            ["bounce", "5.1.1", &m.two.customer],
            ["delayed", "2.0.0", &m.two.customer],
            ["bounce", "5.1.1", ""],
        ]
        .map(|r| r.map(String::from).to_vec())
    );
    assert_eq!(
        rows(
            store,
            "select address, message_id from returns where customer = '' "
        ),
        [[
            "giulia.romano7@example.it",
            "c4d7e2a9f1b3058e6a7d9c2b4e1f0a86@nordlicht.example"
        ]]
    );
    let mut events = rows(
        store,
        "select customer, kind, date, channel, reference from events",
    );
    events.sort();
    let mut expected: Vec<Vec<String>> = [
        [
            &m.bounced.customer,
            "bounced",
            "2026-11-23",
            "email",
            &m.bounced.to,
        ],
        [&m.two.customer, "bounced", "2026-11-23", "email", &m.two.to],
        // The report redacts the recipient and the store keeps no addresses: a
        // complaint opts the customer out of e-mail, whatever the address.
        [
            &m.complainer.customer,
            "opted_out",
            "2026-11-24",
            "email",
            "",
        ],
        [
            &m.complainer.customer,
            "complaint",
            "2026-11-24",
            "email",
            "",
        ],
    ]
    .into_iter()
    .map(|r| r.map(|s| s.to_string()).to_vec())
    .collect();
    expected.sort();
    assert_eq!(events, expected);

    // Reading the same mailbox again adds nothing.
    let all = "select * from returns order by key";
    let (before, events_before) = (
        rows(store, all),
        rows(store, "select * from events order by key"),
    );
    let again = bounces(&path, store);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("added 0 return(s), 0 event(s)"),
        "{}",
        again.stdout
    );
    assert_eq!(rows(store, all), before);
    assert_eq!(
        rows(store, "select * from events order by key"),
        events_before
    );

    // The next run: the bounced addresses and the complainer are not e-mailed; a refusal
    // of our mail, a delay, a not-spam report and an auto-reply change nothing.
    let (run, next) = next_run(&r, &[]);
    assert!(
        run.stderr
            .contains("history: 4 recorded event(s) (promises, opt-outs, bounces …) added"),
        "{}",
        run.stderr
    );
    let to = emailed(next.path());
    for c in [&m.bounced, &m.two] {
        assert!(!to.contains(&c.customer), "{c:?}");
        let why = excluded(next.path(), &c.customer);
        assert!(why.contains(&"bounced:email".to_string()), "{c:?} {why:?}");
    }
    assert!(!to.contains(&m.complainer.customer));
    let why = excluded(next.path(), &m.complainer.customer);
    assert!(why.contains(&"opted_out:email".to_string()), "{why:?}");
    for c in [&m.refused, &m.delayed, &m.not_spam, &m.away] {
        assert!(to.contains(&c.customer), "{c:?}");
    }

    // The export has a new address for the bounced customer: e-mailed again, there.
    let data = r.dir.path().join("data");
    copy_tree(&root().join("samples/data"), &data);
    let customers = data.join("customers.csv");
    let text = std::fs::read_to_string(&customers).unwrap();
    assert_eq!(text.matches(&m.bounced.to).count(), 1);
    std::fs::write(
        &customers,
        text.replace(&m.bounced.to, "new.address@example.net"),
    )
    .unwrap();
    let (_, moved) = next_run(&r, &["--data", data.to_str().unwrap()]);
    let sent: Vec<Contact> = contacts(moved.path())
        .into_iter()
        .filter(|c| c.customer == m.bounced.customer)
        .collect();
    assert_eq!(
        sent.len(),
        1,
        "{:?}",
        excluded(moved.path(), &m.bounced.customer)
    );
    assert!(
        sent[0].to.contains("new.address@example.net"),
        "{:?}",
        sent[0]
    );
    assert!(excluded(moved.path(), &m.bounced.customer).is_empty());
    assert!(excluded(moved.path(), &m.two.customer).contains(&"bounced:email".to_string()));
}

/// The same notifications in a Maildir are the same rows, keyed by their bytes; a
/// message that cannot be read is named and the rest recorded (exit 3).
#[test]
fn a_maildir_gives_the_same_rows_and_names_what_it_cannot_read() {
    let r = recorded();
    let m = mailbox(&contacts(r.outbox.path()));
    let from_mbox = r.dir.path().join("copy.sqlite");
    std::fs::copy(&r.store, &from_mbox).unwrap();
    let path = r.dir.path().join("bounces.mbox");
    std::fs::write(&path, mbox(&m.messages)).unwrap();
    assert_eq!(bounces(&path, &from_mbox).code, 0);

    let maildir = r.dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    for (i, bytes) in m.messages.iter().enumerate() {
        let (sub, name) = if i % 2 == 0 {
            ("cur", format!("17954246{i:02}.M{i}P1.mx1:2,S"))
        } else {
            ("new", format!("17954246{i:02}.M{i}P1.mx1"))
        };
        std::fs::write(maildir.join(sub).join(name), bytes).unwrap();
    }
    std::fs::write(maildir.join("new/1795424699.M99P1.mx1"), "").unwrap();
    let run = bounces(&maildir, &r.store);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("new/1795424699.M99P1.mx1: an empty message")
            && run.stderr.contains("1 message(s) could not be read"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("9 message(s), 9 notice(s)"),
        "{}",
        run.stdout
    );
    let q = "select key, kind, action, status, address, message_id, customer, detail from returns order by key";
    assert_eq!(rows(&r.store, q), rows(&from_mbox, q));
    let q = "select key, customer, kind, date, reference from events order by key";
    assert_eq!(rows(&r.store, q), rows(&from_mbox, q));

    // What is not a mailbox, or not a store, stops before anything is read.
    let not_mbox = r.dir.path().join("note.txt");
    std::fs::write(&not_mbox, "Subject: hello\n\nhi\n").unwrap();
    let run = bounces(&not_mbox, &r.store);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("note.txt:1: not an mbox file"),
        "{}",
        run.stderr
    );
    let run = bounces(&path, &r.dir.path().join("typo.sqlite"));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no history store there"),
        "{}",
        run.stderr
    );
}
