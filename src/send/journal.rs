//! The send journal: `OUTBOX/journal.sqlite`, one row per message and its fate.
//!
//! ```text
//! pending ──claim──▶ sending ──250──▶ delivered
//!    ▲ │                │ 4xx, connection lost before the data ──▶ deferred ──(due)──▶ claim
//!    │ │                │ 5xx ──────────────────────────────────▶ rejected
//!    │ │                └ lost after the data, or killed ───────▶ unknown
//!    └─┼──────── --resend-unknown ◀──────────────────────────────────┘
//!      └── paid since the export (send --payments) ──▶ cancelled:paid / cancelled:part_paid
//! ```
//!
//! A cancelled message is final: it is never claimed, on this send or a later one.
//!
//! A message is claimed (`sending`) in a committed transaction *before* a byte of it
//! goes out, by a conditional update that only matches `pending`/`deferred` rows: a
//! message can be in flight once, and after a crash a `sending` row is exactly a message
//! whose fate nobody knows — it becomes `unknown` and is not sent again unless the
//! operator says so. WAL with `synchronous=NORMAL`: a commit survives the process being
//! killed (the kernel has the pages); surviving power loss would need `FULL`.

use super::record::{self, Phase, Record, SENDING};
use crate::dataset::vocabulary;
use crate::diag::{Error, Result};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

vocabulary!(
    /// Where a message is in its life (the diagram above). Stored as its word, so
    /// journals written before the type existed open unchanged (those written before
    /// `cancelled:…` are migrated when opened: [`migrate`]). Declared in
    /// alphabetical order: maps keyed by state print (send's line, summary.json) in the
    /// order they had when they were keyed by the word. `cancelled:paid`,
    /// `cancelled:part_paid`: not sent, the customer paid all or a part of what the
    /// message claims since the export (`send --payments`; the next run claims what is
    /// still open) — one word each, the reason after the colon as exclusion codes have it.
    State {
        CancelledPaid = "cancelled:paid",
        CancelledPartPaid = "cancelled:part_paid",
        Deferred = "deferred",
        Delivered = "delivered",
        Pending = "pending",
        Rejected = "rejected",
        Sending = "sending",
        Unknown = "unknown",
    }
);

impl State {
    /// The state of a message cancelled because its customer paid.
    pub fn cancelled(why: crate::received::Cancel) -> State {
        let state = match why {
            crate::received::Cancel::Paid => State::CancelledPaid,
            crate::received::Cancel::PartPaid => State::CancelledPartPaid,
        };
        debug_assert_eq!(state.as_str(), why.word());
        state
    }

    /// The state as the report names it for the credit team; files keep the word.
    pub fn label(self) -> &'static str {
        match self {
            State::CancelledPaid => "Cancelled: paid",
            State::CancelledPartPaid => "Cancelled: paid in part",
            State::Deferred => "Deferred (retrying)",
            State::Delivered => "Delivered",
            State::Pending => "Pending",
            State::Rejected => "Rejected",
            State::Sending => "Sending",
            State::Unknown => "Fate unknown",
        }
    }

    /// A state no send changes any more.
    pub fn is_cancelled(self) -> bool {
        matches!(self, State::CancelledPaid | State::CancelledPartPaid)
    }
}

impl ToSql for State {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for State {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        State::parse(text).map_err(|m| FromSqlError::Other(m.into()))
    }
}

pub struct Journal {
    conn: Connection,
    path: PathBuf,
    /// Made by this process from the outbox's entries (`create`): its rows are the
    /// outbox's by construction, and checking them again one query each is wasted.
    made_here: bool,
}

/// A message as the sender needs it.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub channel: &'static str,
    pub attempts: u32,
}

/// What a claim takes: at most `limit` due messages of the enabled channels (`(e-mail,
/// SMS)`), of one cluster if given, that have attempts left.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub limit: usize,
    pub max_attempts: u32,
    pub only_cluster: Option<&'a str>,
    pub channels: (bool, bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        reply: String,
        server_id: String,
    },
    /// Tried again later; `counted` is false when the server could not be reached at all
    /// (the attempt is given back: an outage must not use up a message's attempts).
    Deferred {
        reply: String,
        retry_at: i64,
        counted: bool,
    },
    Rejected {
        reply: String,
    },
    Unknown {
        reply: String,
    },
}

/// The messages table, named `name` (a migration builds the new one beside the old).
fn messages_table(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (
      id          TEXT PRIMARY KEY,      -- the manifest id: one row, one message
      seq         INTEGER NOT NULL,      -- plan order
      channel     TEXT NOT NULL,
      recipient   TEXT NOT NULL,
      cluster     TEXT NOT NULL,
      message_id  TEXT,
      sha256      TEXT,                  -- of the bytes: the outbox must not change
      scheduled_at INTEGER NOT NULL,     -- unix milliseconds, like every time here
      state       TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending','sending','delivered','deferred','rejected','unknown',
                                   'cancelled:paid','cancelled:part_paid')),
      attempts    INTEGER NOT NULL DEFAULT 0,
      next_at     INTEGER,               -- deferred: not before
      last_reply  TEXT,
      server_id   TEXT,                  -- the queue id in the server's 250 reply
      claimed_at  INTEGER,
      done_at     INTEGER
    )"
    )
}

/// The columns of the messages table, as every version has had them.
const COLUMNS: &str = "id, seq, channel, recipient, cluster, message_id, sha256, scheduled_at, state, attempts, next_at, last_reply, server_id, claimed_at, done_at";

/// Journals written before `cancelled:…` existed check their states against the older
/// list: SQLite cannot change a CHECK constraint in place, so the table is rebuilt with
/// the new one (rows copied as they are, in one transaction) when such a journal is
/// opened for sending. Nothing else about it changes: its id, claims and rows stay.
fn migrate(conn: &Connection) -> rusqlite::Result<bool> {
    let sql: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type='table' AND name='messages'",
        [],
        |r| r.get(0),
    )?;
    if sql.contains("'cancelled:paid'") {
        return Ok(false);
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         DROP TABLE IF EXISTS messages_next;
         {};
         INSERT INTO messages_next ({COLUMNS}) SELECT {COLUMNS} FROM messages;
         DROP TABLE messages;
         ALTER TABLE messages_next RENAME TO messages;
         CREATE INDEX IF NOT EXISTS messages_due ON messages(state, seq);
         COMMIT;",
        messages_table("messages_next")
    ))?;
    Ok(true)
}

/// The waiting messages of one channel in plan order, and nothing else: a claim walks
/// this index from its start, so what it passes over must not grow with the messages
/// already sent (they leave the index when claimed) nor with another channel's waiting
/// messages — a send without an SMS gateway would otherwise step over every pending SMS
/// at every claim. Partial on the two waiting states, written as literals: SQLite only
/// uses a partial index for a query whose WHERE repeats its condition word for word.
/// Journals made before it get it when they are opened for sending: built once from the
/// rows, nothing else changed (an older dunwell opens such a journal and ignores it).
const WAITING_INDEX: &str = "CREATE INDEX IF NOT EXISTS messages_waiting
     ON messages(channel, seq) WHERE state IN ('pending', 'deferred')";

/// The claim's query, one channel at a time. `INDEXED BY`: should the index ever be
/// missing or unusable, the claim fails loudly instead of sorting every waiting row of
/// the journal on each call, as it did when it read `messages_due`.
const CLAIM_SQL: &str = "SELECT rowid, id, seq, attempts FROM messages INDEXED BY messages_waiting
     WHERE channel = ?1 AND state IN ('pending', 'deferred')
       AND scheduled_at <= ?2 AND (next_at IS NULL OR next_at <= ?2) AND attempts < ?3
       AND (?4 IS NULL OR cluster = ?4)
     ORDER BY seq LIMIT ?5";

fn claim_in(tx: &rusqlite::Transaction<'_>, now: i64, c: &Claim<'_>) -> rusqlite::Result<Vec<Row>> {
    debug_assert_eq!(State::Pending.as_str(), "pending");
    debug_assert_eq!(State::Deferred.as_str(), "deferred");
    let mut found: Vec<(i64, String, i64, u32, &'static str)> = Vec::new();
    {
        let mut q = tx.prepare_cached(CLAIM_SQL)?;
        for (channel, on) in [("email", c.channels.0), ("sms", c.channels.1)] {
            if !on {
                continue;
            }
            let mut rows = q.query(params![
                channel,
                now,
                c.max_attempts,
                c.only_cluster,
                c.limit as i64
            ])?;
            while let Some(r) = rows.next()? {
                found.push((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, channel));
            }
        }
    }
    // Each channel came in plan order; together they must too.
    if c.channels.0 && c.channels.1 {
        found.sort_unstable_by_key(|f| f.2);
        found.truncate(c.limit);
    }
    let mut rows = Vec::with_capacity(found.len());
    {
        let mut upd = tx.prepare_cached(
            "UPDATE messages SET state=?3, attempts=attempts+1, claimed_at=?2
             WHERE rowid=?1 AND state IN (?4, ?5)",
        )?;
        for (rowid, id, _, attempts, channel) in found {
            if upd.execute(params![
                rowid,
                now,
                State::Sending,
                State::Pending,
                State::Deferred
            ])? == 1
            {
                rows.push(Row {
                    id,
                    channel,
                    attempts: attempts + 1,
                });
            }
        }
    }
    // Counted in the same transaction: the record's high-water mark compares it.
    if !rows.is_empty() {
        tx.prepare_cached(
            "INSERT INTO meta (key, value) VALUES ('claims', ?1)
             ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?1",
        )?
        .execute(params![rows.len() as i64])?;
    }
    Ok(rows)
}

/// Outcomes, in the caller's transaction. Only rows still `sending` change.
fn record_in(
    tx: &rusqlite::Transaction<'_>,
    outcomes: &[(String, Outcome)],
    now: i64,
) -> rusqlite::Result<()> {
    let mut upd = tx.prepare_cached(
        "UPDATE messages SET state=?2, last_reply=?3, server_id=COALESCE(?4, server_id),
           next_at=?5, done_at=?6, attempts=attempts - ?7
         WHERE id=?1 AND state=?8",
    )?;
    for (id, o) in outcomes {
        let (state, reply, server, next, given_back): (
            State,
            &str,
            Option<&str>,
            Option<i64>,
            i64,
        ) = match o {
            Outcome::Delivered { reply, server_id } => {
                (State::Delivered, reply, Some(server_id.as_str()), None, 0)
            }
            Outcome::Deferred {
                reply,
                retry_at,
                counted,
            } => (
                State::Deferred,
                reply,
                None,
                Some(*retry_at),
                i64::from(!*counted),
            ),
            Outcome::Rejected { reply } => (State::Rejected, reply, None, None, 0),
            Outcome::Unknown { reply } => (State::Unknown, reply, None, None, 0),
        };
        upd.execute(params![
            id,
            state,
            reply,
            server,
            next,
            now,
            given_back,
            State::Sending
        ])?;
    }
    Ok(())
}

impl Journal {
    /// The outbox's journal for a real send, checked against `sending.json`
    /// (`record.rs`): a new one, made and recorded before anything is claimed, or the
    /// recorded one — refused when it is missing, emptied, older than the record, its
    /// write-ahead log lost after a crash, made for another manifest, or when the outbox
    /// is a copy (unless `moved` says the operator moved it). Returns the record, now in
    /// phase `sending`.
    pub fn begin<'a>(
        outbox: &Path,
        manifest_sha256: &str,
        entries: impl ExactSizeIterator<Item = (usize, &'a crate::outbox::Entry, i64)>,
        moved: bool,
    ) -> Result<(Journal, Record)> {
        let n = entries.len() as u64;
        let path = outbox.join("journal.sqlite");
        let folder = record::folder_of(outbox)?;
        let fresh = |outbox: &Path| -> Result<(Journal, Record)> {
            // Recorded first: a record in phase `creating` with no journal is a start
            // that never claimed anything.
            let mut rec = Record {
                journal_id: new_id(),
                manifest_sha256: manifest_sha256.to_string(),
                messages: n,
                phase: Phase::Creating,
                claims: 0,
                folder,
            };
            record::write(outbox, &rec)?;
            remove_journal(outbox)?;
            record::Mark::open(outbox)?.set(0)?;
            let mut j = Journal::connect(&outbox.join("journal.sqlite"))?;
            j.create(&rec.journal_id, manifest_sha256, entries)?;
            rec.phase = Phase::Sending;
            record::write(outbox, &rec)?;
            Ok((j, rec))
        };
        let Some(mut rec) = record::read(outbox)? else {
            if !path.exists() {
                return fresh(outbox);
            }
            let j = Journal::connect(&path)?;
            if j.meta("journal_id")?.is_some() {
                return Err(Error::Refused(format!(
                    "{}: sending.json is missing, but the journal says sending began from this outbox. Restore sending.json from a backup; without it dunwell cannot tell whether this journal is whole.",
                    outbox.display()
                )));
            }
            if j.rows()? == 0 {
                drop(j);
                return fresh(outbox);
            }
            // A journal from before sending records: adopt it.
            let id = new_id();
            j.set_meta("journal_id", &id)?;
            j.set_meta("manifest_sha256", manifest_sha256)?;
            let rec = Record {
                journal_id: id,
                manifest_sha256: manifest_sha256.to_string(),
                messages: n,
                phase: Phase::Sending,
                claims: j.claims()?,
                folder,
            };
            record::Mark::open(outbox)?.set(rec.claims)?;
            j.check(outbox, &rec)?;
            record::write(outbox, &rec)?;
            return Ok((j, rec));
        };
        if rec.phase == Phase::Creating {
            // Killed while the journal was being made: nothing was claimed.
            return fresh(outbox);
        }
        if rec.manifest_sha256 != manifest_sha256 || rec.messages != n {
            return Err(Error::Refused(format!(
                "{}: {SENDING} was written for another manifest ({} messages); this outbox's journal cannot be trusted",
                outbox.display(),
                rec.messages
            )));
        }
        if rec.folder != folder && !moved {
            return Err(Error::Refused(format!(
                "{} is not the folder sending began in: it looks like a copy of an outbox that was sent from, and sending from both would deliver their messages twice. If the outbox was moved, not copied, say so: `dunwell send {} --moved`.",
                outbox.display(),
                outbox.display()
            )));
        }
        rec.folder = folder;
        check_present(outbox, &rec)?;
        let j = Journal::connect(&path)?;
        j.check(outbox, &rec)?;
        rec.phase = Phase::Sending;
        record::write(outbox, &rec)?;
        Ok((j, rec))
    }

    /// The journal for a dry run: the recorded one, checked as `begin` checks it but
    /// left unchanged; or, for an outbox never sent from, one in memory.
    pub fn rehearse<'a>(
        outbox: &Path,
        manifest_sha256: &str,
        entries: impl ExactSizeIterator<Item = (usize, &'a crate::outbox::Entry, i64)>,
    ) -> Result<Journal> {
        let n = entries.len() as u64;
        let path = outbox.join("journal.sqlite");
        match record::read(outbox)? {
            None if !path.exists() => Journal::in_memory(manifest_sha256, entries),
            Some(r) if r.phase == Phase::Creating => Journal::in_memory(manifest_sha256, entries),
            None => {
                let j = Journal::connect(&path)?;
                if j.meta("journal_id")?.is_some() {
                    return Err(Error::Refused(format!(
                        "{}: sending.json is missing, but the journal says sending began from this outbox. Restore sending.json from a backup.",
                        outbox.display()
                    )));
                }
                match j.rows()? {
                    0 => Journal::in_memory(manifest_sha256, entries),
                    rows if rows == n => Ok(j),
                    rows => Err(Error::Refused(format!(
                        "{}: it has {rows} messages, the outbox {n} — rows were deleted or added. Sending again could deliver messages a second time; restore journal.sqlite from a backup.",
                        path.display()
                    ))),
                }
            }
            Some(rec) => {
                if rec.manifest_sha256 != manifest_sha256 || rec.messages != n {
                    return Err(Error::Refused(format!(
                        "{}: {SENDING} was written for another manifest; this outbox's journal cannot be trusted",
                        outbox.display()
                    )));
                }
                check_present(outbox, &rec)?;
                let j = Journal::connect(&path)?;
                j.check(outbox, &rec)?;
                Ok(j)
            }
        }
    }

    /// A journal that lives only in memory: a dry run of a fresh outbox, a test send
    /// (whose messages go to a team inbox and must stay to be sent for real).
    pub fn in_memory<'a>(
        manifest_sha256: &str,
        entries: impl Iterator<Item = (usize, &'a crate::outbox::Entry, i64)>,
    ) -> Result<Journal> {
        let mut j = Journal::connect(Path::new(":memory:"))?;
        j.create(&new_id(), manifest_sha256, entries)?;
        Ok(j)
    }

    /// The claims made so far: the record's high-water mark.
    pub fn claims(&self) -> Result<u64> {
        Ok(self
            .meta("claims")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Ends a send cleanly: the write-ahead log is folded into the journal, so the
    /// record can say exactly how many claims it holds.
    pub fn finish(&self) -> Result<u64> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.err(e))?;
        self.claims()
    }

    fn connect(path: &Path) -> Result<Journal> {
        let err = |e: rusqlite::Error| Error::io(path, std::io::Error::other(e.to_string()));
        let conn = Connection::open(path).map_err(err)?;
        // A checkpoint syncs the files twice, inside whichever commit crossed the
        // threshold: the send loop stalls on it while every connection waits for its
        // next claim. Fewer of them (every 32 MiB of log, not 4): commits are exactly as
        // durable, `finish` still folds the log in.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;
             PRAGMA wal_autocheckpoint=8192;",
        )
        .map_err(err)?;
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             {};
             CREATE INDEX IF NOT EXISTS messages_due ON messages(state, seq);",
            messages_table("messages")
        ))
        .map_err(err)?;
        migrate(&conn).map_err(err)?;
        conn.execute_batch(WAITING_INDEX).map_err(err)?;
        Ok(Journal {
            conn,
            path: path.to_path_buf(),
            made_here: false,
        })
    }

    /// A new journal: its identity and every message, in one transaction.
    fn create<'a>(
        &mut self,
        id: &str,
        manifest_sha256: &str,
        entries: impl Iterator<Item = (usize, &'a crate::outbox::Entry, i64)>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| Error::io(&path, std::io::Error::other(e.to_string()));
        let tx = self.conn.transaction().map_err(&err)?;
        for (k, v) in [
            ("journal_id", id),
            ("manifest_sha256", manifest_sha256),
            ("claims", "0"),
        ] {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )
            .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
        }
        {
            let mut ins = tx
                .prepare(
                    "INSERT OR IGNORE INTO messages (id, seq, channel, recipient, cluster, message_id, sha256, scheduled_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
            for (seq, e, at) in entries {
                ins.execute(params![
                    e.id,
                    seq as i64,
                    e.channel.as_str(),
                    e.to,
                    e.cluster,
                    e.message_id,
                    e.sha256,
                    at
                ])
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
            }
        }
        tx.commit().map_err(err)?;
        self.made_here = true;
        Ok(())
    }

    /// The journal is the recorded one, made for this manifest, with a row per message,
    /// and not older than the record says.
    fn check(&self, outbox: &Path, rec: &Record) -> Result<()> {
        let refuse = |why: String| {
            Error::Refused(format!(
                "{}: {why}. Sending again could deliver messages a second time; restore journal.sqlite from a backup (journal id {}).",
                self.path.display(),
                rec.journal_id
            ))
        };
        let id = self.meta("journal_id")?;
        if id.as_deref() != Some(rec.journal_id.as_str()) || rec.journal_id.is_empty() {
            return Err(refuse(format!(
                "this is not the journal sending began with (its id is {}, {} in {SENDING} of {})",
                id.as_deref()
                    .unwrap_or("missing — the journal was emptied or replaced"),
                rec.journal_id,
                outbox.display()
            )));
        }
        if self.meta("manifest_sha256")?.as_deref() != Some(rec.manifest_sha256.as_str()) {
            return Err(refuse("it was made for another outbox's manifest".into()));
        }
        let rows = self.rows()?;
        if rows != rec.messages {
            return Err(refuse(format!(
                "it has {rows} messages, the outbox {} — rows were deleted or added",
                rec.messages
            )));
        }
        let claims = self.claims()?;
        let mark = record::read_mark(outbox)?;
        if rec.phase != Phase::Creating && mark.is_none() {
            return Err(refuse(format!(
                "{} is missing: without it dunwell cannot tell whether this journal is the newest",
                record::MARK
            )));
        }
        let floor = rec.claims.max(mark.unwrap_or(0));
        if claims < floor {
            return Err(refuse(format!(
                "it has made {claims} claims, but {floor} were made before — it is an older copy of the journal (a backup restored, or its write-ahead log removed after a crash), and messages delivered since would go out again"
            )));
        }
        Ok(())
    }

    fn rows(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT value FROM meta WHERE key=?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The journal's identity (recorded in `sending.json`; SMS idempotency keys use it).
    pub fn id(&self) -> Result<String> {
        Ok(self.meta("journal_id")?.unwrap_or_default())
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        Error::io(&self.path, std::io::Error::other(e.to_string()))
    }

    /// Messages whose bytes or recipient in the outbox are not the ones the journal
    /// recorded (the outbox was rendered again or edited after sending began).
    pub fn changed<'a>(
        &self,
        entries: impl Iterator<Item = &'a crate::outbox::Entry>,
    ) -> Result<Vec<String>> {
        use rusqlite::OptionalExtension;
        if self.made_here {
            return Ok(Vec::new());
        }
        let mut q = self
            .conn
            .prepare("SELECT sha256, recipient FROM messages WHERE id=?1")
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for e in entries {
            let row: Option<(Option<String>, String)> = q
                .query_row(params![e.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(|e| self.err(e))?;
            match row {
                Some((sha, to)) if sha.as_deref() == Some(e.sha256.as_str()) && to == e.to => {}
                _ => out.push(e.id.clone()),
            }
        }
        Ok(out)
    }

    /// Rows left `sending` by a process that died: their fate is unknown.
    pub fn orphans_to_unknown(&mut self, now: i64) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE messages SET state=?2, done_at=?1,
                   last_reply=COALESCE(last_reply, '') || ' (send was interrupted while this message was in flight)'
                 WHERE state=?3",
                params![now, State::Unknown, State::Sending],
            )
            .map_err(|e| self.err(e))
    }

    /// `--resend-unknown`: unknown messages go back to pending.
    pub fn release_unknown(&mut self) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE messages SET state=?1 WHERE state=?2",
                params![State::Pending, State::Unknown],
            )
            .map_err(|e| self.err(e))
    }

    /// Claims up to `limit` due messages (plan order) in one committed transaction.
    pub fn claim(
        &mut self,
        now: i64,
        limit: usize,
        max_attempts: u32,
        only_cluster: Option<&str>,
        channels: (bool, bool),
    ) -> Result<Vec<Row>> {
        self.step(
            &[],
            now,
            &Claim {
                limit,
                max_attempts,
                only_cluster,
                channels,
            },
        )
    }

    /// Records outcomes in one transaction. Only rows still `sending` change.
    pub fn record(&mut self, outcomes: &[(String, Outcome)], now: i64) -> Result<()> {
        self.step(
            outcomes,
            now,
            &Claim {
                limit: 0,
                max_attempts: 0,
                only_cluster: None,
                channels: (false, false),
            },
        )
        .map(|_| ())
    }

    /// Records `outcomes` and makes the next claim in one committed transaction: a group
    /// commit. Nothing claimed here goes out before this returns, so the claim is as
    /// durable as one made alone; the outcomes are committed no later than they would
    /// have been by [`Journal::record`] just before it.
    pub fn step(
        &mut self,
        outcomes: &[(String, Outcome)],
        now: i64,
        claim: &Claim<'_>,
    ) -> Result<Vec<Row>> {
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| Error::io(&path, std::io::Error::other(e.to_string()));
        let tx = self.conn.transaction().map_err(&err)?;
        if !outcomes.is_empty() {
            record_in(&tx, outcomes, now).map_err(&err)?;
        }
        let rows = if claim.limit > 0 {
            claim_in(&tx, now, claim).map_err(&err)?
        } else {
            Vec::new()
        };
        tx.commit().map_err(&err)?;
        Ok(rows)
    }

    /// Cancels messages whose customer paid since the export (`send --payments`): each
    /// `(id, cancelled state, what was received)`, only where it is still waiting
    /// (pending or deferred) — a delivered, rejected or unknown message keeps its fate.
    /// One transaction; `rehearse` rolls it back (a dry run). Returns the ids changed.
    pub fn cancel(
        &mut self,
        cancels: &[(String, State, String)],
        now: i64,
        rehearse: bool,
    ) -> Result<Vec<(String, State, String)>> {
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| Error::io(&path, std::io::Error::other(e.to_string()));
        let tx = self.conn.transaction().map_err(&err)?;
        let mut done = Vec::new();
        {
            let mut upd = tx
                .prepare(
                    "UPDATE messages SET state=?2, last_reply=?3, done_at=?4, next_at=NULL
                     WHERE id=?1 AND state IN (?5, ?6)",
                )
                .map_err(&err)?;
            for (id, state, reply) in cancels {
                debug_assert!(state.is_cancelled());
                let n = upd
                    .execute(params![
                        id,
                        state,
                        reply,
                        now,
                        State::Pending,
                        State::Deferred
                    ])
                    .map_err(&err)?;
                if n == 1 {
                    done.push((id.clone(), *state, reply.clone()));
                }
            }
        }
        if rehearse {
            tx.rollback().map_err(&err)?;
        } else {
            tx.commit().map_err(&err)?;
        }
        Ok(done)
    }

    /// Deferred messages that will be tried again, and when the next one is due.
    pub fn next_retry(&self, max_attempts: u32) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT MIN(next_at) FROM messages WHERE state=?2 AND attempts < ?1",
                params![max_attempts, State::Deferred],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Deferred messages that ran out of attempts become rejected.
    pub fn give_up(&mut self, max_attempts: u32, now: i64) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE messages SET state=?3, done_at=?2,
                   last_reply=COALESCE(last_reply,'') || ' (gave up after ' || attempts || ' attempts)'
                 WHERE state=?4 AND attempts >= ?1",
                params![max_attempts, now, State::Rejected, State::Deferred],
            )
            .map_err(|e| self.err(e))
    }

    /// Messages per state.
    pub fn counts(&self) -> Result<BTreeMap<State, u64>> {
        let mut q = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM messages GROUP BY state")
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map([], |r| Ok((r.get::<_, State>(0)?, r.get::<_, u64>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = BTreeMap::new();
        for r in rows {
            let (k, v) = r.map_err(|e| self.err(e))?;
            out.insert(k, v);
        }
        Ok(out)
    }

    /// Ids in a state, in plan order.
    pub fn ids_in(&self, state: State) -> Result<Vec<(String, String)>> {
        let mut q = self
            .conn
            .prepare("SELECT id, COALESCE(last_reply,'') FROM messages WHERE state=?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map(params![state], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// Messages waiting to be sent (pending or deferred), per channel.
    pub fn waiting(&self) -> Result<BTreeMap<String, u64>> {
        let mut q = self
            .conn
            .prepare(
                "SELECT channel, COUNT(*) FROM messages WHERE state IN (?1, ?2) GROUP BY channel",
            )
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map(params![State::Pending, State::Deferred], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// Messages not yet due (scheduled later than `now`).
    pub fn later(&self, now: i64) -> Result<(u64, Option<i64>)> {
        self.conn
            .query_row(
                "SELECT COUNT(*), MIN(scheduled_at) FROM messages WHERE state=?2 AND scheduled_at > ?1",
                params![now, State::Pending],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))
    }
}
/// Delivery outcomes from the journal: channel → state → messages.
pub type Delivery = BTreeMap<String, BTreeMap<State, u64>>;

/// Delivery outcomes per channel and state, read-only (a running `send` may hold the
/// journal); `None` when the outbox has not been sent from.
pub fn outcomes(outbox: &Path) -> Result<Option<Delivery>> {
    let path = outbox.join("journal.sqlite");
    if !path.exists() {
        return Ok(None);
    }
    let err = |e: rusqlite::Error| Error::io(&path, std::io::Error::other(e.to_string()));
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(err)?;
    let mut q = conn
        .prepare("SELECT channel, state, COUNT(*) FROM messages GROUP BY channel, state")
        .map_err(err)?;
    let rows = q
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, State>(1)?,
                r.get::<_, u64>(2)?,
            ))
        })
        .map_err(err)?;
    let mut out = Delivery::new();
    for r in rows {
        let (channel, state, n) = r.map_err(err)?;
        out.entry(channel).or_default().insert(state, n);
    }
    Ok(Some(out))
}

/// A journal id: 128 random bits.
fn new_id() -> String {
    use rand::RngExt;
    let bytes: [u8; 16] = rand::rng().random();
    crate::hash::hex(&bytes)
}

/// The recorded journal must be there.
fn check_present(outbox: &Path, rec: &Record) -> Result<()> {
    let journal = outbox.join("journal.sqlite");
    if !journal.exists() {
        return Err(Error::Refused(format!(
            "sending began from {} (journal {}), but its journal.sqlite is missing: sending again would deliver every message a second time. Restore journal.sqlite from a backup (its id is {}); if it is lost for good, find out from the mail server's logs what was delivered and render a new outbox for the rest.",
            outbox.display(),
            rec.journal_id,
            rec.journal_id
        )));
    }
    let _ = rec;
    Ok(())
}

/// A fresh start replaces whatever journal files a start that never claimed left.
fn remove_journal(outbox: &Path) -> Result<()> {
    for name in ["journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"] {
        let p = outbox.join(name);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    Ok(())
}

/// Every message's id and state, read-only; empty when the outbox has not been sent
/// from. What `history import` records.
pub fn states(outbox: &Path) -> Result<Vec<(String, State)>> {
    let path = outbox.join("journal.sqlite");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let err = |e: rusqlite::Error| Error::io(&path, std::io::Error::other(e.to_string()));
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(err)?;
    let mut q = conn
        .prepare("SELECT id, state FROM messages ORDER BY seq")
        .map_err(err)?;
    let rows = q
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, State>(1)?)))
        .map_err(err)?;
    rows.map(|r| r.map_err(err)).collect()
}

/// The states of the messages that moved at or after `since_ms` (the journal's own
/// clock, unix milliseconds: claimed or done then), read-only while a send writes, and
/// the latest such moment seen: what a recorder following the send passes on as it
/// happens, and where it looks from next time.
pub fn states_since(outbox: &Path, since_ms: i64) -> Result<(Vec<(String, State)>, i64)> {
    let path = outbox.join("journal.sqlite");
    if !path.exists() {
        return Ok((Vec::new(), since_ms));
    }
    let err = |e: rusqlite::Error| Error::io(&path, std::io::Error::other(e.to_string()));
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(err)?;
    let mut q = conn
        .prepare(
            "SELECT id, state, MAX(COALESCE(done_at, 0), COALESCE(claimed_at, 0)) AS moved
             FROM messages WHERE moved >= ?1 ORDER BY seq",
        )
        .map_err(err)?;
    let mut latest = since_ms;
    let rows = q
        .query_map([since_ms], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, State>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(err)?;
    let mut out = Vec::new();
    for r in rows {
        let (id, state, moved) = r.map_err(err)?;
        latest = latest.max(moved);
        out.push((id, state));
    }
    Ok((out, latest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages table as journals had it before `cancelled:…` existed.
    const OLD: &str = "
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE messages (
          id          TEXT PRIMARY KEY,
          seq         INTEGER NOT NULL,
          channel     TEXT NOT NULL,
          recipient   TEXT NOT NULL,
          cluster     TEXT NOT NULL,
          message_id  TEXT,
          sha256      TEXT,
          scheduled_at INTEGER NOT NULL,
          state       TEXT NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending','sending','delivered','deferred','rejected','unknown')),
          attempts    INTEGER NOT NULL DEFAULT 0,
          next_at     INTEGER,
          last_reply  TEXT,
          server_id   TEXT,
          claimed_at  INTEGER,
          done_at     INTEGER
        );
        CREATE INDEX messages_due ON messages(state, seq);
        INSERT INTO meta VALUES ('journal_id', 'j1'), ('claims', '1');
        INSERT INTO messages (id, seq, channel, recipient, cluster, scheduled_at, state, attempts, last_reply)
          VALUES ('C1-email', 0, 'email', 'a@x.example', 'forgetful', 0, 'delivered', 1, '250 ok'),
                 ('C2-email', 1, 'email', 'b@x.example', 'forgetful', 0, 'pending', 0, NULL),
                 ('C3-sms', 2, 'sms', '+4930123', 'unable', 0, 'deferred', 1, '429');";

    /// A journal of `sms` pending SMS followed, in plan order, by `emails` pending e-mails
    /// (the SMS first: the worst case for a claim that steps over them).
    fn journal_of(sms: usize, emails: usize) -> Journal {
        let mut j = Journal::connect(Path::new(":memory:")).unwrap();
        let tx = j.conn.transaction().unwrap();
        {
            let mut ins = tx
                .prepare(
                    "INSERT INTO messages (id, seq, channel, recipient, cluster, scheduled_at)
                     VALUES (?1, ?2, ?3, 'r', 'c', 0)",
                )
                .unwrap();
            for k in 0..sms + emails {
                let channel = if k < sms { "sms" } else { "email" };
                ins.execute(params![format!("C{k}-{channel}"), k as i64, channel])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
        j
    }

    /// The virtual-machine steps of one claim query: the work it does, without a clock.
    fn claim_steps(j: &Journal, channel: &str, limit: i64) -> (i32, i32) {
        let mut q = j.conn.prepare(CLAIM_SQL).unwrap();
        let mut rows = q
            .query(params![channel, 1_000, 6, None::<&str>, limit])
            .unwrap();
        while rows.next().unwrap().is_some() {}
        drop(rows);
        (
            q.get_status(rusqlite::StatementStatus::VmStep),
            q.get_status(rusqlite::StatementStatus::Sort),
        )
    }

    #[test]
    fn a_claim_reads_its_own_index_in_plan_order_without_sorting() {
        let j = journal_of(10, 10);
        let plan: Vec<String> = j
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {CLAIM_SQL}"))
            .unwrap()
            .query_map(params!["email", 0, 6, None::<&str>, 16], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("USING INDEX messages_waiting"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn a_claim_costs_the_same_whatever_else_the_journal_holds() {
        // A few e-mails after 10,000 SMS nobody can send: the claim must not step over
        // the SMS (it did, and sorted every waiting row, at every claim).
        let mut j = journal_of(10_000, 40);
        let (steps, sorts) = claim_steps(&j, "email", 16);
        assert_eq!(sorts, 0);
        assert!(steps < 2_000, "{steps} steps to find 16 e-mails");
        let few = claim_steps(&journal_of(0, 40), "email", 16).0;
        assert_eq!(steps, few, "the SMS changed the e-mails' claim");
        // Nor over the messages already claimed and done.
        let mut claimed = 0;
        while claimed < 32 {
            let rows = j.claim(1_000, 16, 6, None, (true, false)).unwrap();
            assert!(rows.iter().all(|r| r.channel == "email"));
            let done: Vec<(String, Outcome)> = rows
                .iter()
                .map(|r| {
                    let o = Outcome::Delivered {
                        reply: "250".into(),
                        server_id: "q".into(),
                    };
                    (r.id.clone(), o)
                })
                .collect();
            j.record(&done, 1_000).unwrap();
            claimed += rows.len();
        }
        let later = claim_steps(&j, "email", 16).0;
        assert!(later <= few, "{later} steps after 32 claimed, {few} before");
    }

    #[test]
    fn a_claim_of_both_channels_keeps_plan_order() {
        let mut j = journal_of(3, 3);
        let rows = j.claim(1_000, 4, 6, None, (true, true)).unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["C0-sms", "C1-sms", "C2-sms", "C3-email"]);
        // Outcomes and the next claim in one transaction.
        let done = [(
            "C0-sms".to_string(),
            Outcome::Rejected { reply: "no".into() },
        )];
        let claim = Claim {
            limit: 4,
            max_attempts: 6,
            only_cluster: None,
            channels: (true, true),
        };
        let rows = j.step(&done, 1_000, &claim).unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["C4-email", "C5-email"]);
        assert_eq!(j.counts().unwrap().get(&State::Rejected), Some(&1));
        assert_eq!(j.claims().unwrap(), 6);
    }

    #[test]
    fn an_older_journal_opens_and_takes_cancelled_messages_with_its_rows_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        Connection::open(&path).unwrap().execute_batch(OLD).unwrap();
        let mut j = Journal::connect(&path).unwrap();
        assert_eq!(j.meta("journal_id").unwrap().as_deref(), Some("j1"));
        // With the claim's index, built from its rows: its deferred SMS is in it.
        let indexed: i64 = j
            .conn
            .query_row(
                "SELECT COUNT(*) FROM messages INDEXED BY messages_waiting WHERE channel='sms' AND state IN ('pending', 'deferred')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexed, 1);
        assert_eq!(j.claims().unwrap(), 1);
        let cancels = [
            (
                "C1-email".to_string(),
                State::CancelledPaid,
                "paid".to_string(),
            ),
            (
                "C2-email".to_string(),
                State::CancelledPaid,
                "paid".to_string(),
            ),
            (
                "C3-sms".to_string(),
                State::CancelledPartPaid,
                "part".to_string(),
            ),
        ];
        // A dry run changes nothing.
        assert_eq!(j.cancel(&cancels, 5, true).unwrap().len(), 2);
        assert_eq!(j.counts().unwrap().get(&State::Pending), Some(&1));
        // The delivered message keeps its fate; the waiting ones are cancelled.
        let done = j.cancel(&cancels, 5, false).unwrap();
        let ids: Vec<&str> = done.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids, ["C2-email", "C3-sms"]);
        let counts = j.counts().unwrap();
        assert_eq!(
            counts.into_iter().collect::<Vec<_>>(),
            [
                (State::CancelledPaid, 1),
                (State::CancelledPartPaid, 1),
                (State::Delivered, 1)
            ]
        );
        // Never claimed again.
        assert!(j.claim(10, 10, 6, None, (true, true)).unwrap().is_empty());
        drop(j);
        // Opened again: migrated once, the rows as they were.
        let j = Journal::connect(&path).unwrap();
        assert_eq!(j.rows().unwrap(), 3);
        assert_eq!(
            j.ids_in(State::Delivered).unwrap(),
            [("C1-email".to_string(), "250 ok".to_string())]
        );
        // The constraint still refuses a word that is not a state.
        let bad = j.conn.execute(
            "UPDATE messages SET state='cancelled' WHERE id='C1-email'",
            [],
        );
        assert!(bad.is_err());
    }
}
