//! The send journal: `OUTBOX/journal.sqlite`, one row per message and its fate.
//!
//! ```text
//! pending ──claim──▶ sending ──250──▶ delivered
//!    ▲                  │ 4xx, connection lost before the data ──▶ deferred ──(due)──▶ claim
//!    │                  │ 5xx ──────────────────────────────────▶ rejected
//!    │                  └ lost after the data, or killed ───────▶ unknown
//!    └────────── --resend-unknown ◀──────────────────────────────────┘
//! ```
//!
//! A message is claimed (`sending`) in a committed transaction *before* a byte of it
//! goes out, by a conditional update that only matches `pending`/`deferred` rows: a
//! message can be in flight once, and after a crash a `sending` row is exactly a message
//! whose fate nobody knows — it becomes `unknown` and is not sent again unless the
//! operator says so. WAL with `synchronous=NORMAL`: a commit survives the process being
//! killed (the kernel has the pages); surviving power loss would need `FULL`.

use crate::diag::{Error, Result};
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};

pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

/// A message as the sender needs it.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub channel: String,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered { reply: String, server_id: String },
    Deferred { reply: String, retry_at: i64 },
    Rejected { reply: String },
    Unknown { reply: String },
}

/// `sending.json`: written into the outbox before the first message is claimed, so
/// that the outbox itself remembers that sending began and with which journal. A
/// journal that is missing, emptied or swapped is then refused instead of silently
/// starting afresh — which would send every delivered message a second time.
pub const SENDING: &str = "sending.json";

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Began {
    pub journal_id: String,
    /// The manifest this journal was made for.
    pub manifest_sha256: String,
    pub messages: u64,
}

/// What the outbox says about its journal, before the journal is opened.
enum Found {
    /// Never sent from.
    Fresh,
    /// A journal without a sending record (made by an earlier dunwell, or killed
    /// between seeding the journal and writing the record): checked, then recorded.
    Unrecorded,
    Recorded(Began),
}

fn found(outbox: &Path) -> Result<Found> {
    let rec = outbox.join(SENDING);
    let journal = outbox.join("journal.sqlite");
    match std::fs::read(&rec) {
        Ok(text) => {
            let began: Began = serde_json::from_slice(&text).map_err(|e| {
                Error::Refused(format!(
                    "{}: unreadable ({e}); it records that sending began from this outbox — restore it from a backup, never delete it",
                    rec.display()
                ))
            })?;
            if !journal.exists() {
                return Err(Error::Refused(format!(
                    "sending began from {} (journal {}), but its journal.sqlite is missing: sending again would deliver every message a second time. Restore journal.sqlite from a backup (its id is {}); if it is lost for good, find out from the mail server's logs what was delivered and render a new outbox for the rest.",
                    outbox.display(),
                    began.journal_id,
                    began.journal_id
                )));
            }
            Ok(Found::Recorded(began))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(if journal.exists() {
            Found::Unrecorded
        } else {
            Found::Fresh
        }),
        Err(e) => Err(Error::io(&rec, e)),
    }
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS messages (
      id          TEXT PRIMARY KEY,      -- the manifest id: one row, one message
      seq         INTEGER NOT NULL,      -- plan order
      channel     TEXT NOT NULL,
      recipient   TEXT NOT NULL,
      cluster     TEXT NOT NULL,
      message_id  TEXT,
      sha256      TEXT,                  -- of the bytes: the outbox must not change
      scheduled_at INTEGER NOT NULL,     -- unix milliseconds, like every time here
      state       TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending','sending','delivered','deferred','rejected','unknown')),
      attempts    INTEGER NOT NULL DEFAULT 0,
      next_at     INTEGER,               -- deferred: not before
      last_reply  TEXT,
      server_id   TEXT,                  -- the queue id in the server's 250 reply
      claimed_at  INTEGER,
      done_at     INTEGER
    );
    CREATE INDEX IF NOT EXISTS messages_due ON messages(state, seq);";

impl Journal {
    /// The outbox's journal for a real send: a new one (seeded, then recorded in
    /// `sending.json`) or the recorded one, checked to be whole and this outbox's.
    pub fn begin<'a>(
        outbox: &Path,
        manifest_sha256: &str,
        entries: impl ExactSizeIterator<Item = (usize, &'a crate::outbox::Entry, i64)>,
    ) -> Result<Journal> {
        let found = found(outbox)?;
        let path = outbox.join("journal.sqlite");
        let mut j = Journal::connect(&path)?;
        let n = entries.len() as u64;
        let recorded = match &found {
            Found::Recorded(b) => Some(b.clone()),
            _ => None,
        };
        match found {
            Found::Fresh => j.create(manifest_sha256, entries)?,
            Found::Unrecorded if j.rows()? == 0 && j.meta("journal_id")?.is_none() => {
                j.create(manifest_sha256, entries)?
            }
            Found::Unrecorded => {
                if j.meta("journal_id")?.is_none() {
                    // A journal from before sending records: adopt it.
                    let id = new_id();
                    j.set_meta("journal_id", &id)?;
                    j.set_meta("manifest_sha256", manifest_sha256)?;
                }
            }
            Found::Recorded(_) => {}
        }
        let began = match recorded {
            Some(b) if b.manifest_sha256 != manifest_sha256 || b.messages != n => {
                return Err(Error::Refused(format!(
                    "{}: {SENDING} was written for another manifest ({} messages); this outbox's journal cannot be trusted",
                    outbox.display(),
                    b.messages
                )));
            }
            Some(b) => b,
            None => Began {
                journal_id: j.meta("journal_id")?.unwrap_or_default(),
                manifest_sha256: manifest_sha256.to_string(),
                messages: n,
            },
        };
        j.check(outbox, &began)?;
        // Written before anything is claimed: from here on the outbox says it was sent from.
        if !outbox.join(SENDING).exists() {
            write_began(outbox, &began)?;
        }
        Ok(j)
    }

    /// The journal for a dry run: the recorded one (checked, not changed) or, for an
    /// outbox never sent from, one in memory — a rehearsal leaves no trace.
    pub fn rehearse<'a>(
        outbox: &Path,
        manifest_sha256: &str,
        entries: impl ExactSizeIterator<Item = (usize, &'a crate::outbox::Entry, i64)>,
    ) -> Result<Journal> {
        let n = entries.len() as u64;
        match found(outbox)? {
            Found::Fresh => {
                let mut j = Journal::connect(Path::new(":memory:"))?;
                j.create(manifest_sha256, entries)?;
                Ok(j)
            }
            found => {
                let j = Journal::connect(&outbox.join("journal.sqlite"))?;
                let began = match found {
                    Found::Recorded(b) => b,
                    _ => Began {
                        journal_id: j.meta("journal_id")?.unwrap_or_default(),
                        manifest_sha256: manifest_sha256.to_string(),
                        messages: n,
                    },
                };
                if began.manifest_sha256 != manifest_sha256 || began.messages != n {
                    return Err(Error::Refused(format!(
                        "{}: {SENDING} was written for another manifest; this outbox's journal cannot be trusted",
                        outbox.display()
                    )));
                }
                j.check(outbox, &began)?;
                Ok(j)
            }
        }
    }

    fn connect(path: &Path) -> Result<Journal> {
        let err = |e: rusqlite::Error| Error::io(path, std::io::Error::other(e.to_string()));
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;",
        )
        .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Journal {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// A new journal: its identity and every message, in one transaction.
    fn create<'a>(
        &mut self,
        manifest_sha256: &str,
        entries: impl Iterator<Item = (usize, &'a crate::outbox::Entry, i64)>,
    ) -> Result<()> {
        let id = new_id();
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| Error::io(&path, std::io::Error::other(e.to_string()));
        let tx = self.conn.transaction().map_err(&err)?;
        for (k, v) in [
            ("journal_id", id.as_str()),
            ("manifest_sha256", manifest_sha256),
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
                    e.channel,
                    e.to,
                    e.cluster,
                    e.message_id,
                    e.sha256,
                    at
                ])
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
            }
        }
        tx.commit().map_err(err)
    }

    /// The journal is the recorded one, made for this manifest, with a row per message.
    fn check(&self, outbox: &Path, began: &Began) -> Result<()> {
        let refuse = |why: String| {
            Error::Refused(format!(
                "{}: {why}. Sending again could deliver messages a second time; restore journal.sqlite from a backup (journal id {}).",
                self.path.display(),
                began.journal_id
            ))
        };
        let id = self.meta("journal_id")?;
        if id.as_deref() != Some(began.journal_id.as_str()) || began.journal_id.is_empty() {
            return Err(refuse(format!(
                "this is not the journal sending began with (its id is {}, {} in {SENDING} of {})",
                id.as_deref()
                    .unwrap_or("missing — the journal was emptied or replaced"),
                began.journal_id,
                outbox.display()
            )));
        }
        if self.meta("manifest_sha256")?.as_deref() != Some(began.manifest_sha256.as_str()) {
            return Err(refuse("it was made for another outbox's manifest".into()));
        }
        let rows = self.rows()?;
        if rows != began.messages {
            return Err(refuse(format!(
                "it has {rows} messages, the outbox {} — rows were deleted or added",
                began.messages
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
                "UPDATE messages SET state='unknown', done_at=?1,
                   last_reply=COALESCE(last_reply, '') || ' (send was interrupted while this message was in flight)'
                 WHERE state='sending'",
                params![now],
            )
            .map_err(|e| self.err(e))
    }

    /// `--resend-unknown`: unknown messages go back to pending.
    pub fn release_unknown(&mut self) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE messages SET state='pending' WHERE state='unknown'",
                [],
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
        let tx = self
            .conn
            .transaction()
            .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
        let mut rows = Vec::new();
        {
            let mut q = tx
                .prepare(
                    "SELECT id, channel, attempts FROM messages
                     WHERE state IN ('pending','deferred') AND scheduled_at <= ?1
                       AND (next_at IS NULL OR next_at <= ?1) AND attempts < ?2
                       AND (?4 IS NULL OR cluster = ?4)
                       AND ((channel = 'email' AND ?5) OR (channel = 'sms' AND ?6))
                     ORDER BY seq LIMIT ?3",
                )
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
            let found = q
                .query_map(
                    params![
                        now,
                        max_attempts,
                        limit as i64,
                        only_cluster,
                        channels.0,
                        channels.1
                    ],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, u32>(2)?,
                        ))
                    },
                )
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
            let mut upd = tx
                .prepare(
                    "UPDATE messages SET state='sending', attempts=attempts+1, claimed_at=?2
                     WHERE id=?1 AND state IN ('pending','deferred')",
                )
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
            for f in found {
                let (id, channel, attempts) =
                    f.map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
                if upd
                    .execute(params![id, now])
                    .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?
                    == 1
                {
                    rows.push(Row {
                        id,
                        channel,
                        attempts: attempts + 1,
                    });
                }
                if rows.len() >= limit {
                    break;
                }
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Records outcomes in one transaction. Only rows still `sending` change.
    pub fn record(&mut self, outcomes: &[(String, Outcome)], now: i64) -> Result<()> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
        {
            let mut upd = tx
                .prepare(
                    "UPDATE messages SET state=?2, last_reply=?3, server_id=COALESCE(?4, server_id),
                       next_at=?5, done_at=?6
                     WHERE id=?1 AND state='sending'",
                )
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
            for (id, o) in outcomes {
                let (state, reply, server, next): (&str, &str, Option<&str>, Option<i64>) = match o
                {
                    Outcome::Delivered { reply, server_id } => {
                        ("delivered", reply, Some(server_id.as_str()), None)
                    }
                    Outcome::Deferred { reply, retry_at } => {
                        ("deferred", reply, None, Some(*retry_at))
                    }
                    Outcome::Rejected { reply } => ("rejected", reply, None, None),
                    Outcome::Unknown { reply } => ("unknown", reply, None, None),
                };
                upd.execute(params![id, state, reply, server, next, now])
                    .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Deferred messages that will be tried again, and when the next one is due.
    pub fn next_retry(&self, max_attempts: u32) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT MIN(next_at) FROM messages WHERE state='deferred' AND attempts < ?1",
                params![max_attempts],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Deferred messages that ran out of attempts become rejected.
    pub fn give_up(&mut self, max_attempts: u32, now: i64) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE messages SET state='rejected', done_at=?2,
                   last_reply=COALESCE(last_reply,'') || ' (gave up after ' || attempts || ' attempts)'
                 WHERE state='deferred' AND attempts >= ?1",
                params![max_attempts, now],
            )
            .map_err(|e| self.err(e))
    }

    /// Messages per state.
    pub fn counts(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        let mut q = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM messages GROUP BY state")
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = std::collections::BTreeMap::new();
        for r in rows {
            let (k, v) = r.map_err(|e| self.err(e))?;
            out.insert(k, v);
        }
        Ok(out)
    }

    /// Ids in a state, in plan order.
    pub fn ids_in(&self, state: &str) -> Result<Vec<(String, String)>> {
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
    pub fn waiting(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        let mut q = self
            .conn
            .prepare("SELECT channel, COUNT(*) FROM messages WHERE state IN ('pending','deferred') GROUP BY channel")
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// Messages not yet due (scheduled later than `now`).
    pub fn later(&self, now: i64) -> Result<(u64, Option<i64>)> {
        self.conn
            .query_row(
                "SELECT COUNT(*), MIN(scheduled_at) FROM messages WHERE state='pending' AND scheduled_at > ?1",
                params![now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))
    }
}
/// Delivery outcomes per channel and state, read-only (a running `send` may hold the
/// journal); `None` when the outbox has not been sent from.
pub fn outcomes(outbox: &Path) -> Result<Option<crate::report::Delivery>> {
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
                r.get::<_, String>(1)?,
                r.get::<_, u64>(2)?,
            ))
        })
        .map_err(err)?;
    let mut out = crate::report::Delivery::new();
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
    crate::outbox::hex(&bytes)
}

fn write_began(outbox: &Path, began: &Began) -> Result<()> {
    use std::io::Write;
    let path = outbox.join(SENDING);
    let tmp = outbox.join(".sending.json.tmp");
    let mut text = serde_json::to_vec_pretty(began).expect("serialises");
    text.push(b'\n');
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(&text).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    crate::outbox::folder::sync_dir(outbox)
}
