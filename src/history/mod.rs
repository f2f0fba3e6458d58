//! The history store: every run that was sent or imported, the contacts it made (with
//! the invoices they claimed and what became of them) and each run's segmentation — so
//! the dunning cycle can remember what it did last week (docs/history.md).
//!
//! Synchronous, like every stage but send and serve. One schema with versioned
//! migrations (`migrations/history/`, applied by refinery); SQLite is the default store,
//! a file named by the campaign's `history:`. Everything is recorded idempotently: a
//! run is keyed by its outbox (the manifest's SHA-256), a contact by run and message
//! id, so recording the same outbox twice — a re-send, an import after a send — adds
//! nothing.

use crate::diag::{Error, Result};
use std::path::{Path, PathBuf};

mod db;
pub mod events;

/// The migrations, in order. A released migration is never edited: a change is a new
/// file (refinery refuses a database whose applied migrations differ from these).
const MIGRATIONS: [(&str, &str); 3] = [
    (
        "V1__contacts",
        include_str!("../../migrations/history/V1__contacts.sql"),
    ),
    (
        "V2__returns_events_audit",
        include_str!("../../migrations/history/V2__returns_events_audit.sql"),
    ),
    (
        "V3__statements",
        include_str!("../../migrations/history/V3__statements.sql"),
    ),
];

/// Where the history is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A PostgreSQL URL without credentials (they come from the environment).
    Postgres(String),
}

impl Location {
    /// `postgres://…` / `postgresql://…`, else a file path (relative to `base`).
    pub fn parse(text: &str, base: &Path) -> std::result::Result<Location, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("is empty (expected a file path or postgres://HOST/DB)".into());
        }
        if let Some(rest) = t
            .strip_prefix("postgres://")
            .or_else(|| t.strip_prefix("postgresql://"))
        {
            let authority = rest.split('/').next().unwrap_or("");
            if authority.contains('@') && authority.split('@').next().unwrap_or("").contains(':') {
                return Err(
                    "has a password in it (expected postgres://USER@HOST/DB, with the password in PGPASSWORD)"
                        .into(),
                );
            }
            return Ok(Location::Postgres(t.to_string()));
        }
        if t.contains("://") {
            return Err(format!(
                "`{t}` is not a store dunwell knows (expected a file path or postgres://HOST/DB)"
            ));
        }
        let p = Path::new(t);
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        };
        // Absolute, so that summary.json names the same file whatever folder `send` or
        // `history import` is started from.
        Ok(Location::Sqlite(if p.is_absolute() {
            p
        } else {
            std::env::current_dir().map_or(p.clone(), |cwd| cwd.join(&p))
        }))
    }

    /// As written in summary.json and printed: never with credentials.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => url.clone(),
        }
    }
}

/// A run as recorded: one outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    /// The manifest's SHA-256, hex.
    pub outbox: String,
    pub campaign: String,
    pub shard: String,
    pub as_of: String,
    pub messages: u64,
    /// `send` or `import`.
    pub source: String,
}

impl RunRecord {
    /// The run's key: the first 8 bytes of the manifest hash (stable, and the same in
    /// every store, unlike a sequence).
    pub fn key(&self) -> Result<i64> {
        key_of(&self.outbox)
    }
}

fn key_of(outbox_sha256: &str) -> Result<i64> {
    outbox_sha256
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .map(|k| k as i64)
        .ok_or_else(|| Error::Refused(format!("`{outbox_sha256}` is not a manifest hash")))
}

/// An `events` row read back, its columns in [`EventRecord`]'s order (customer, kind,
/// date, channel, reference, note, promised_date, promised_amount, source).
fn event_of(mut r: Vec<db::V>) -> EventRecord {
    EventRecord {
        customer: r[0].take(),
        kind: r[1].take(),
        date: r[2].take(),
        channel: r[3].take(),
        reference: r[4].take(),
        note: r[5].take(),
        promised_date: r[6].take(),
        promised_amount: r[7].take(),
        source: r[8].take(),
    }
}

/// A manifest id is `CUSTOMER-CHANNEL`; channel names have no `-`.
fn split_id(id: &str) -> Option<(&str, &str)> {
    id.rsplit_once('-')
}

/// What a message is found by when a bounce names it: the first 16 characters of its
/// Message-ID's local part (dunwell's are 32 hex digits of a hash), or empty.
fn message_key(message_id: &str) -> String {
    let local = message_id
        .trim()
        .trim_matches(['<', '>'])
        .split('@')
        .next()
        .unwrap_or("");
    local.chars().take(16).collect()
}

/// What a payment-link token is found by: the first 16 hex digits of its SHA-256 (the
/// token is the portal's to show; the history only needs to know it when it sees it).
pub fn link_key(token: &str) -> String {
    if token.is_empty() {
        return String::new();
    }
    crate::hash::sha256_hex(token.as_bytes())[..16].to_string()
}

/// One contact: a message of the run, with the invoices it claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    pub customer: String,
    pub channel: String,
    pub stage: String,
    pub cluster: String,
    pub template: String,
    pub currency: String,
    pub amount: String,
    /// The payment link's token: the link without its base and tracking parameters.
    pub token: String,
    pub scheduled_at: String,
    /// (invoice number, open amount).
    pub invoices: Vec<(String, String)>,
    /// The e-mail's Message-ID (without angle brackets), or empty.
    pub message_id: String,
    /// It was, enclosed or carried the statement of account.
    pub statement: bool,
}

/// An event as events.csv has it (plus a promised amount), or derived from a return:
/// `bounced` (the address in `reference`) or an e-mail opt-out after a complaint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventRecord {
    pub customer: String,
    pub kind: String,
    /// YYYY-MM-DD.
    pub date: String,
    pub channel: String,
    pub reference: String,
    pub note: String,
    pub promised_date: String,
    pub promised_amount: String,
    /// FILE:LINE, or the return it was derived from.
    pub source: String,
}

impl EventRecord {
    /// The event's identity: its fields, not where it was read nor its note — the same
    /// event in this week's CRM export and last week's (its note edited since) is one.
    fn key(&self) -> String {
        let mut joined = String::new();
        for f in [
            &self.customer,
            &self.kind,
            &self.date,
            &self.channel,
            &self.reference,
            &self.promised_date,
            &self.promised_amount,
        ] {
            joined.push_str(f);
            joined.push('\u{1f}');
        }
        crate::hash::sha256_hex(joined.as_bytes())
    }
}

/// A delivery status notification or feedback report, as classified.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReturnRecord {
    /// SHA-256 of the notification's bytes (hex).
    pub key: String,
    pub received_at: String,
    /// bounce | refused | complaint | not_spam | delayed | other
    pub kind: String,
    pub action: String,
    pub status: String,
    pub address: String,
    pub message_id: String,
    pub customer: String,
    pub detail: String,
    pub source: String,
}

/// A customer's row of the run's segmentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub customer: String,
    pub cluster: String,
    pub rule: String,
}

/// What a recording added (zero everywhere when it had been recorded before).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Added {
    pub runs: u64,
    pub contacts: u64,
    pub invoices: u64,
    pub segments: u64,
}

/// One contact in a customer's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contacted {
    pub campaign: String,
    pub as_of: String,
    pub channel: String,
    pub stage: String,
    pub cluster: String,
    pub template: String,
    pub currency: String,
    pub amount: String,
    pub scheduled_at: String,
    pub state: String,
    pub state_at: String,
    pub invoices: Vec<(String, String)>,
}

/// A customer's path through the runs: each run's cluster and the contacts made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// (campaign, as_of, cluster, rule), oldest first.
    pub clusters: Vec<(String, String, String, String)>,
    pub contacts: Vec<Contacted>,
    /// Events recorded into the store (promises, opt-outs, bounces …), by date.
    pub events: Vec<EventRecord>,
    /// Notifications matched to the customer: (received_at, kind, status, detail).
    pub returns: Vec<(String, String, String, String)>,
}

/// Totals, for `history` commands and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub runs: u64,
    pub contacts: u64,
    pub invoices: u64,
    pub segments: u64,
}

pub struct History {
    db: db::Db,
    /// Where, for messages: the file, or the URL without credentials.
    name: String,
}

impl History {
    /// Opens (creating a SQLite file if need be) and brings the schema up to date.
    pub fn open(location: &Location) -> Result<History> {
        let name = location.describe();
        let mut db = match location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                db::Db::sqlite(path).map_err(|e| Error::io(path, std::io::Error::other(e)))?
            }
            Location::Postgres(url) => db::Db::postgres(url)
                .map_err(|e| Error::Unavailable(format!("history {name}: cannot connect: {e}")))?,
        };
        // SQLite keeps a table keyed by its primary key WITHOUT ROWID (one b-tree, not a
        // table and an index); PostgreSQL reads the marker as a comment.
        let sqlite = matches!(location, Location::Sqlite(_));
        let migrations = MIGRATIONS
            .iter()
            .map(|(file, sql)| {
                let sql = if sqlite {
                    sql.replace("/*WITHOUT ROWID*/", "WITHOUT ROWID")
                } else {
                    sql.to_string()
                };
                refinery_core::Migration::unapplied(file, &sql)
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Refused(format!("{name}: {e}")))?;
        db.migrate(&migrations).map_err(|e| {
            Error::Refused(format!(
                "{name}: its schema cannot be brought up to date: {e}"
            ))
        })?;
        Ok(History { db, name })
    }

    fn err(&self, e: String) -> Error {
        Error::Unavailable(format!("history {}: {e}", self.name))
    }

    /// One statement over many rows, in one transaction: the rows it changed.
    fn write_one(&mut self, sql: &str, rows: Vec<Vec<db::V>>) -> Result<u64> {
        let n = self.db.write(&[(sql, rows)]).map_err(|e| self.err(e))?;
        Ok(n[0])
    }

    /// Records a run with its contacts and segmentation. A run recorded before adds
    /// nothing (a contact's state is left as it is). Each part is its own transaction;
    /// a recording cut short is completed by the next, which adds only what is missing.
    pub fn record_run(
        &mut self,
        run: &RunRecord,
        contacts: &[Contact],
        segments: &[Segment],
        now: &str,
    ) -> Result<Added> {
        let runs = self.record_run_row(run, now)?;
        let (contacts, invoices) = self.record_contacts(run, contacts, now)?;
        let segments = self.record_segments(run, segments)?;
        Ok(Added {
            runs,
            contacts,
            invoices,
            segments,
        })
    }

    /// The run's own row.
    pub fn record_run_row(&mut self, run: &RunRecord, now: &str) -> Result<u64> {
        use db::V;
        let row = vec![vec![
            V::I(run.key()?),
            V::from(&run.outbox),
            V::from(&run.campaign),
            V::from(&run.shard),
            V::from(&run.as_of),
            V::I(run.messages as i64),
            V::from(&run.source),
            V::from(now),
        ]];
        self.write_one(
            "INSERT INTO runs (run, outbox, campaign, shard, as_of, messages, source, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            row,
        )
    }

    /// Some of a run's contacts with the invoices they claim, in one transaction:
    /// (contacts, invoice claims) added. A run's messages to one customer share one
    /// claim (stage, amount, invoices, time), kept once; each message keeps its channel,
    /// outcome, Message-ID and link. Callers pass a large run in parts, so memory holds
    /// one part.
    pub fn record_contacts(
        &mut self,
        run: &RunRecord,
        contacts: &[Contact],
        now: &str,
    ) -> Result<(u64, u64)> {
        use db::V;
        let key = run.key()?;
        let mut claims = Vec::new();
        let mut invoices = Vec::new();
        let mut messages = Vec::with_capacity(contacts.len());
        let mut last: Option<&str> = None;
        for x in contacts {
            // A customer's messages are consecutive in the manifest (plan order); the
            // database ignores a claim recorded before in any case.
            if last != Some(x.customer.as_str()) {
                last = Some(&x.customer);
                claims.push(vec![
                    V::I(key),
                    V::from(&x.customer),
                    V::from(&x.stage),
                    V::from(if x.template == x.stage {
                        ""
                    } else {
                        &x.template
                    }),
                    V::from(&x.currency),
                    V::from(&x.amount),
                    V::from(&x.scheduled_at),
                ]);
                for (number, open) in &x.invoices {
                    invoices.push(vec![
                        V::I(key),
                        V::from(&x.customer),
                        V::from(number),
                        V::from(open),
                    ]);
                }
            }
            messages.push(vec![
                V::I(key),
                V::from(&x.customer),
                V::from(&x.channel),
                V::from(now),
                V::T(message_key(&x.message_id)),
                V::T(link_key(&x.token)),
                V::I(i64::from(x.statement)),
            ]);
        }
        let n = self
            .db
            .write(&[
                (
                    "INSERT INTO claims (run, customer, stage, template, currency, amount, scheduled_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    claims,
                ),
                (
                    "INSERT INTO claim_invoices (run, customer, invoice, open_amount) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    invoices,
                ),
                (
                    "INSERT INTO messages (run, customer, channel, state, state_at, message_id, link, statement)
                     VALUES ($1, $2, $3, 'written', $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    messages,
                ),
            ])
            .map_err(|e| self.err(e))?;
        Ok((n[2], n[1]))
    }

    /// Some of a run's segmentation rows, in one transaction: how many were added.
    pub fn record_segments(&mut self, run: &RunRecord, segments: &[Segment]) -> Result<u64> {
        use db::V;
        let key = run.key()?;
        let rows = segments
            .iter()
            .map(|x| {
                vec![
                    V::I(key),
                    V::from(&x.customer),
                    V::from(&x.cluster),
                    V::from(&x.rule),
                ]
            })
            .collect();
        self.write_one(
            "INSERT INTO segments (run, customer, cluster, rule) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            rows,
        )
    }

    /// Records delivery states of a run's contacts (the send journal's words). Only a
    /// state that moved is written, and counted.
    pub fn record_states(
        &mut self,
        outbox_sha256: &str,
        states: &[(String, String)],
        now: &str,
    ) -> Result<u64> {
        use db::V;
        let key = key_of(outbox_sha256)?;
        let rows = states
            .iter()
            .filter_map(|(id, state)| {
                let (customer, channel) = split_id(id)?;
                Some(vec![
                    V::from(state),
                    V::from(now),
                    V::I(key),
                    V::from(customer),
                    V::from(channel),
                ])
            })
            .collect();
        self.write_one(
            "UPDATE messages SET state = $1, state_at = $2 WHERE run = $3 AND customer = $4 AND channel = $5 AND state <> $1",
            rows,
        )
    }

    /// Records events (from `history events`, or derived from returns): how many were
    /// new. An event recorded before — from any file — adds nothing.
    pub fn record_events(&mut self, events: &[EventRecord], now: &str) -> Result<u64> {
        use db::V;
        let rows = events
            .iter()
            .map(|e| {
                vec![
                    V::T(e.key()),
                    V::from(&e.customer),
                    V::from(&e.kind),
                    V::from(&e.date),
                    V::from(&e.channel),
                    V::from(&e.reference),
                    V::from(&e.note),
                    V::from(&e.promised_date),
                    V::from(&e.promised_amount),
                    V::from(&e.source),
                    V::from(now),
                ]
            })
            .collect();
        self.write_one(
            "INSERT INTO events (key, customer, kind, date, channel, reference, note, promised_date, promised_amount, source, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
            rows,
        )
    }

    /// The events as the history stood at `as_of`: dated on or before it and recorded
    /// by then, in customer, date order.
    pub fn events_by(&mut self, as_of: chrono::NaiveDate) -> Result<Vec<EventRecord>> {
        let day = as_of.format("%Y-%m-%d").to_string();
        let rows = self
            .db
            .read(
                "SELECT customer, kind, date, channel, reference, note, promised_date, promised_amount, source FROM events
                 WHERE date <= $1 AND substr(recorded_at, 1, 10) <= $1
                 ORDER BY customer, date, kind, channel, key",
                &[db::V::T(day)],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.into_iter().map(event_of).collect())
    }

    /// Records classified notifications: how many were new — or newly matched: a
    /// notification read before its outbox was recorded gets its customer when read again.
    pub fn record_returns(&mut self, returns: &[ReturnRecord], now: &str) -> Result<u64> {
        use db::V;
        let rows = returns
            .iter()
            .map(|r| {
                vec![
                    V::from(&r.key),
                    V::from(&r.received_at),
                    V::from(&r.kind),
                    V::from(&r.action),
                    V::from(&r.status),
                    V::from(&r.address),
                    V::from(&r.message_id),
                    V::from(&r.customer),
                    V::from(&r.detail),
                    V::from(&r.source),
                    V::from(now),
                ]
            })
            .collect();
        self.write_one(
            "INSERT INTO returns (key, received_at, kind, action, status, address, message_id, customer, detail, source, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (key) DO UPDATE SET customer = excluded.customer
                 WHERE returns.customer = '' AND excluded.customer <> ''",
            rows,
        )
    }

    /// The contact an e-mail's Message-ID belongs to: (customer, address written to —
    /// not kept since version 2 of the store, so empty).
    pub fn contact_of_message(&mut self, message_id: &str) -> Result<Option<(String, String)>> {
        let found = self.customers_of_messages(&[message_id.to_string()])?;
        Ok(found
            .into_values()
            .next()
            .map(|customer| (customer, String::new())))
    }

    /// The customers the e-mails with these Message-IDs went to (Message-ID → customer).
    /// One pass over the messages per few hundred ids: a mailbox of bounces is read
    /// rarely, and an index for it would cost every contact.
    pub fn customers_of_messages(
        &mut self,
        message_ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>> {
        let mut out = std::collections::HashMap::new();
        let keys: Vec<(String, &String)> = message_ids
            .iter()
            .map(|id| (message_key(id), id))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        for part in keys.chunks(500) {
            let marks: Vec<String> = (1..=part.len()).map(|k| format!("${k}")).collect();
            let sql = format!(
                "SELECT DISTINCT message_id, customer FROM messages WHERE message_id IN ({})",
                marks.join(", ")
            );
            let params: Vec<db::V> = part.iter().map(|(k, _)| db::V::T(k.clone())).collect();
            let rows = self.db.read(&sql, &params).map_err(|e| self.err(e))?;
            for mut r in rows {
                let (k, customer) = (r[0].take(), r[1].take());
                for (key, id) in part {
                    if *key == k {
                        out.insert((*id).clone(), customer.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Adds a line to the audit trail of an outbox; the same line twice adds nothing.
    pub fn audit(
        &mut self,
        outbox_sha256: &str,
        action: &str,
        actor: &str,
        detail: &str,
        now: &str,
    ) -> Result<u64> {
        use db::V;
        self.write_one(
            "INSERT INTO audit (outbox, action, actor, detail, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            vec![vec![
                V::from(outbox_sha256),
                V::from(action),
                V::from(actor),
                V::from(detail),
                V::from(now),
            ]],
        )
    }

    /// Whether any outbox of `campaign` was ever approved in this store: then every
    /// outbox of it needs an approval, whatever its own files say.
    pub fn campaign_approves(&mut self, campaign: &str) -> Result<bool> {
        let rows = self
            .db
            .read(
                "SELECT COUNT(*) FROM audit a JOIN runs r ON r.outbox = a.outbox
                 WHERE a.action = 'approve' AND r.campaign = $1",
                &[db::V::from(campaign)],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.first().is_some_and(|r| r[0].int() > 0))
    }

    /// An outbox's audit trail: (action, actor, detail, at), in time order.
    pub fn audit_trail(
        &mut self,
        outbox_sha256: &str,
    ) -> Result<Vec<(String, String, String, String)>> {
        let rows = self
            .db
            .read(
                "SELECT action, actor, detail, at FROM audit WHERE outbox = $1 ORDER BY at, action, actor, detail",
                &[db::V::from(outbox_sha256)],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .map(|mut r| (r[0].take(), r[1].take(), r[2].take(), r[3].take()))
            .collect())
    }

    /// Marks letters of a run delivered: their print batch was posted. Returns how many
    /// moved; a letter marked before is left as it was.
    pub fn record_posted(&mut self, outbox_sha256: &str, ids: &[String], now: &str) -> Result<u64> {
        use db::V;
        let key = key_of(outbox_sha256)?;
        let rows = ids
            .iter()
            .filter_map(|id| {
                let (customer, channel) = split_id(id)?;
                (channel == "letter").then(|| vec![V::from(now), V::I(key), V::from(customer)])
            })
            .collect();
        self.write_one(
            "UPDATE messages SET state = 'delivered', state_at = $1
             WHERE run = $2 AND customer = $3 AND channel = 'letter' AND state <> 'delivered'",
            rows,
        )
    }

    pub fn counts(&mut self) -> Result<Counts> {
        let rows = self
            .db
            .read(
                "SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM messages),
                        (SELECT COUNT(*) FROM claim_invoices), (SELECT COUNT(*) FROM segments)",
                &[],
            )
            .map_err(|e| self.err(e))?;
        let n = |k: usize| rows.first().map_or(0, |r| r[k].int() as u64);
        Ok(Counts {
            runs: n(0),
            contacts: n(1),
            invoices: n(2),
            segments: n(3),
        })
    }

    /// The delivered contacts as the history stood at `as_of`: made by runs of earlier
    /// dates (never by a run of the same date — the run itself, re-run after its send),
    /// scheduled on or before it and known delivered by then — (customer, channel,
    /// day), once each. A run reads only this, so re-running it later gives the same
    /// bytes.
    pub fn delivered_by(
        &mut self,
        as_of: chrono::NaiveDate,
    ) -> Result<Vec<(String, String, String)>> {
        let mut out = Vec::new();
        self.each_delivered(as_of, &mut |c, ch, d| {
            out.push((c.to_string(), ch.to_string(), d.to_string()))
        })?;
        Ok(out)
    }

    /// [`History::delivered_by`] a row at a time: memory holds one row.
    pub fn each_delivered(
        &mut self,
        as_of: chrono::NaiveDate,
        f: &mut dyn FnMut(&str, &str, &str),
    ) -> Result<()> {
        let day = as_of.format("%Y-%m-%d").to_string();
        let name = self.name.clone();
        self.db
            .each(
                "SELECT DISTINCT m.customer, m.channel, substr(c.scheduled_at, 1, 10)
                 FROM messages m JOIN claims c ON c.run = m.run AND c.customer = m.customer
                 JOIN runs r ON r.run = m.run
                 WHERE m.state = 'delivered' AND r.as_of < $1
                 AND substr(c.scheduled_at, 1, 10) <= $1 AND substr(m.state_at, 1, 10) <= $1
                 ORDER BY 1, 3, 2",
                &[db::V::T(day)],
                &mut |r| {
                    f(r[0].text(), r[1].text(), r[2].text());
                    Ok(())
                },
            )
            .map_err(|e| Error::Unavailable(format!("history {name}: {e}")))
    }

    /// The invoices the delivered contacts claimed, as the history stood at `as_of`:
    /// (customer, invoice, stage, the day of its latest delivery at that stage).
    pub fn delivered_invoices(
        &mut self,
        as_of: chrono::NaiveDate,
    ) -> Result<Vec<(String, String, String, String)>> {
        let mut out = Vec::new();
        self.each_delivered_invoice(as_of, &mut |c, i, st, d| {
            out.push((c.to_string(), i.to_string(), st.to_string(), d.to_string()))
        })?;
        Ok(out)
    }

    /// [`History::delivered_invoices`] a row at a time: memory holds one row.
    pub fn each_delivered_invoice(
        &mut self,
        as_of: chrono::NaiveDate,
        f: &mut dyn FnMut(&str, &str, &str, &str),
    ) -> Result<()> {
        let day = as_of.format("%Y-%m-%d").to_string();
        let name = self.name.clone();
        self.db
            .each(
                "SELECT c.customer, i.invoice, c.stage, MAX(substr(c.scheduled_at, 1, 10))
                 FROM claims c JOIN claim_invoices i ON i.run = c.run AND i.customer = c.customer
                 JOIN runs r ON r.run = c.run
                 WHERE r.as_of < $1 AND substr(c.scheduled_at, 1, 10) <= $1 AND EXISTS (
                     SELECT 1 FROM messages m WHERE m.run = c.run AND m.customer = c.customer
                     AND m.state = 'delivered' AND substr(m.state_at, 1, 10) <= $1)
                 GROUP BY c.customer, i.invoice, c.stage
                 ORDER BY 1, 2, 3",
                &[db::V::T(day)],
                &mut |r| {
                    f(r[0].text(), r[1].text(), r[2].text(), r[3].text());
                    Ok(())
                },
            )
            .map_err(|e| Error::Unavailable(format!("history {name}: {e}")))
    }

    /// The campaign date of each customer's last statement of account known delivered
    /// as the history stood at `as_of` (by runs of earlier dates, delivered by then):
    /// (customer, day), a row at a time.
    pub fn each_last_statement(
        &mut self,
        as_of: chrono::NaiveDate,
        f: &mut dyn FnMut(&str, &str),
    ) -> Result<()> {
        let day = as_of.format("%Y-%m-%d").to_string();
        let name = self.name.clone();
        self.db
            .each(
                "SELECT m.customer, MAX(r.as_of) FROM messages m JOIN runs r ON r.run = m.run
                 WHERE m.statement = 1 AND m.state = 'delivered' AND r.as_of < $1
                 AND substr(m.state_at, 1, 10) <= $1
                 GROUP BY m.customer ORDER BY 1",
                &[db::V::T(day)],
                &mut |r| {
                    f(r[0].text(), r[1].text());
                    Ok(())
                },
            )
            .map_err(|e| Error::Unavailable(format!("history {name}: {e}")))
    }

    /// A customer's clusters and contacts over every recorded run, oldest first.
    pub fn timeline(&mut self, customer: &str) -> Result<Timeline> {
        use db::V;
        let who = [V::from(customer)];
        let clusters = self
            .db
            .read(
                "SELECT r.campaign, r.as_of, s.cluster, s.rule FROM segments s JOIN runs r ON r.run = s.run
                 WHERE s.customer = $1 ORDER BY r.as_of, r.campaign, r.shard",
                &who,
            )
            .map_err(|e| self.err(e))?;
        let contacts = self
            .db
            .read(
                "SELECT c.run, '', r.campaign, r.as_of, m.channel, c.stage, COALESCE(s.cluster, ''),
                        CASE WHEN c.template = '' THEN c.stage ELSE c.template END,
                        c.currency, c.amount, c.scheduled_at, m.state, m.state_at
                 FROM claims c JOIN messages m ON m.run = c.run AND m.customer = c.customer
                 JOIN runs r ON r.run = c.run
                 LEFT JOIN segments s ON s.run = c.run AND s.customer = c.customer
                 WHERE c.customer = $1 ORDER BY c.scheduled_at, r.as_of, m.channel",
                &who,
            )
            .map_err(|e| self.err(e))?;
        let invoices = self
            .db
            .read(
                "SELECT i.run, '', i.invoice, i.open_amount
                 FROM claims c JOIN claim_invoices i ON i.run = c.run AND i.customer = c.customer
                 WHERE c.customer = $1 ORDER BY i.run, i.invoice",
                &who,
            )
            .map_err(|e| self.err(e))?;
        let events = self
            .db
            .read(
                "SELECT customer, kind, date, channel, reference, note, promised_date, promised_amount, source
                 FROM events WHERE customer = $1 ORDER BY date, kind, channel, key",
                &who,
            )
            .map_err(|e| self.err(e))?;
        let returns = self
            .db
            .read(
                "SELECT received_at, kind, status, detail FROM returns WHERE customer = $1 ORDER BY received_at, key",
                &who,
            )
            .map_err(|e| self.err(e))?;
        let mut out = Timeline {
            clusters: clusters
                .into_iter()
                .map(|mut r| (r[0].take(), r[1].take(), r[2].take(), r[3].take()))
                .collect(),
            contacts: Vec::new(),
            events: events.into_iter().map(event_of).collect(),
            returns: returns
                .into_iter()
                .map(|mut r| (r[0].take(), r[1].take(), r[2].take(), r[3].take()))
                .collect(),
        };
        for mut r in contacts {
            let (run, id) = (r[0].int(), r[1].take());
            out.contacts.push(Contacted {
                campaign: r[2].take(),
                as_of: r[3].take(),
                channel: r[4].take(),
                stage: r[5].take(),
                cluster: r[6].take(),
                template: r[7].take(),
                currency: r[8].take(),
                amount: r[9].take(),
                scheduled_at: r[10].take(),
                state: r[11].take(),
                state_at: r[12].take(),
                invoices: invoices
                    .iter()
                    .filter(|i| i[0].int() == run && i[1].text() == id)
                    .map(|i| (i[2].text().to_string(), i[3].text().to_string()))
                    .collect(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunRecord {
        RunRecord {
            outbox: "ab".repeat(32),
            campaign: "c".into(),
            shard: String::new(),
            as_of: "2026-11-20".into(),
            messages: 1,
            source: "import".into(),
        }
    }

    fn contact() -> Contact {
        Contact {
            id: "C1-email".into(),
            customer: "C1".into(),
            channel: "email".into(),
            stage: "reminder".into(),
            cluster: "forgetful".into(),
            template: "reminder".into(),
            currency: "EUR".into(),
            amount: "157.25".into(),
            token: "x".into(),
            scheduled_at: "2026-11-23T09:00:00+01:00".into(),
            invoices: vec![("INV-1".into(), "157.25".into())],
            message_id: "0123abcd@example.com".into(),
            statement: false,
        }
    }

    #[test]
    fn recording_twice_adds_nothing_and_states_move_once() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::Sqlite(dir.path().join("h/history.sqlite"));
        let seg = [Segment {
            customer: "C1".into(),
            cluster: "forgetful".into(),
            rule: "r".into(),
        }];
        let mut h = History::open(&loc).unwrap();
        let first = h.record_run(&run(), &[contact()], &seg, "t1").unwrap();
        assert_eq!(
            first,
            Added {
                runs: 1,
                contacts: 1,
                invoices: 1,
                segments: 1,
            }
        );
        drop(h);
        // Reopened: the migration is not applied twice; the same run adds nothing.
        let mut h = History::open(&loc).unwrap();
        assert_eq!(
            h.record_run(&run(), &[contact()], &seg, "t2").unwrap(),
            Added::default()
        );
        let states = [("C1-email".to_string(), "delivered".to_string())];
        assert_eq!(h.record_states(&run().outbox, &states, "t3").unwrap(), 1);
        assert_eq!(h.record_states(&run().outbox, &states, "t4").unwrap(), 0);
        let t = h.timeline("C1").unwrap();
        assert_eq!(t.contacts.len(), 1);
        assert_eq!(t.contacts[0].state, "delivered");
        assert_eq!(t.contacts[0].state_at, "t3");
        assert_eq!(t.contacts[0].invoices, [("INV-1".into(), "157.25".into())]);
        assert_eq!(t.clusters[0].2, "forgetful");
        assert_eq!(
            h.counts().unwrap(),
            Counts {
                runs: 1,
                contacts: 1,
                invoices: 1,
                segments: 1
            }
        );
    }

    #[test]
    fn events_returns_and_audit_are_recorded_once_and_read_as_they_stood() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::open(&Location::Sqlite(dir.path().join("h.sqlite"))).unwrap();
        h.record_run(&run(), &[contact()], &[], "2026-11-20T08:00:00Z")
            .unwrap();
        let promise = EventRecord {
            customer: "C1".into(),
            kind: "promise_to_pay".into(),
            date: "2026-11-18".into(),
            channel: "call".into(),
            promised_date: "2026-11-27".into(),
            promised_amount: "157.25".into(),
            source: "crm.csv:2".into(),
            ..EventRecord::default()
        };
        let later = EventRecord {
            date: "2026-11-25".into(),
            ..promise.clone()
        };
        assert_eq!(
            h.record_events(&[promise.clone(), later.clone()], "2026-11-19T10:00:00Z")
                .unwrap(),
            2
        );
        // The same event from next week's export: one event.
        let again = EventRecord {
            source: "crm-next.csv:7".into(),
            ..promise.clone()
        };
        assert_eq!(
            h.record_events(&[again], "2026-11-26T10:00:00Z").unwrap(),
            0
        );
        let as_of = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        assert_eq!(
            h.events_by(as_of("2026-11-20")).unwrap(),
            std::slice::from_ref(&promise)
        );
        assert_eq!(h.events_by(as_of("2026-11-30")).unwrap(), [promise, later]);
        assert!(
            h.events_by(as_of("2026-11-18")).unwrap().is_empty(),
            "recorded after that day"
        );

        let bounce = ReturnRecord {
            key: "k1".into(),
            kind: "bounce".into(),
            status: "5.1.1".into(),
            message_id: "0123abcd@example.com".into(),
            ..ReturnRecord::default()
        };
        assert_eq!(
            h.record_returns(std::slice::from_ref(&bounce), "t")
                .unwrap(),
            1
        );
        assert_eq!(h.record_returns(&[bounce], "t2").unwrap(), 0);
        assert_eq!(
            h.contact_of_message("0123abcd@example.com").unwrap(),
            Some(("C1".into(), String::new()))
        );
        assert_eq!(h.contact_of_message("nope@example.com").unwrap(), None);

        let sha = run().outbox;
        assert_eq!(h.audit(&sha, "approve", "Ada", "", "t1").unwrap(), 1);
        assert_eq!(h.audit(&sha, "approve", "Ada", "", "t2").unwrap(), 0);
        assert_eq!(
            h.audit_trail(&sha).unwrap(),
            [("approve".into(), "Ada".into(), String::new(), "t1".into())]
        );
    }

    #[test]
    fn locations() {
        let base = Path::new("/campaigns/nov");
        assert_eq!(
            Location::parse("../history/dunning.sqlite", base).unwrap(),
            Location::Sqlite(PathBuf::from("/campaigns/nov/../history/dunning.sqlite"))
        );
        assert!(matches!(
            Location::parse("postgres://dunwell@db.internal/ar", base),
            Ok(Location::Postgres(_))
        ));
        let err = Location::parse("postgres://dunwell:hunter2@db/ar", base).unwrap_err();
        assert!(
            err.contains("PGPASSWORD") && !err.contains("hunter2"),
            "{err}"
        );
        assert!(Location::parse("mysql://x/y", base).is_err());
        assert!(Location::parse(" ", base).is_err());
    }
}
