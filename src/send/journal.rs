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

impl Journal {
    pub fn open(outbox: &Path) -> Result<Journal> {
        let path = outbox.join("journal.sqlite");
        let err = |e: rusqlite::Error| Error::io(&path, std::io::Error::other(e.to_string()));
        let conn = Connection::open(&path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;
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
             CREATE INDEX IF NOT EXISTS messages_due ON messages(state, seq);",
        )
        .map_err(err)?;
        Ok(Journal { conn, path })
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        Error::io(&self.path, std::io::Error::other(e.to_string()))
    }

    /// Adds the outbox's messages not yet in the journal (idempotent).
    pub fn seed<'a>(
        &mut self,
        rows: impl Iterator<Item = (usize, &'a crate::outbox::Entry, i64)>,
    ) -> Result<usize> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
        let mut added = 0;
        {
            let mut ins = tx
                .prepare(
                    "INSERT OR IGNORE INTO messages (id, seq, channel, recipient, cluster, message_id, sha256, scheduled_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
            for (seq, e, at) in rows {
                added += ins
                    .execute(params![
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
        tx.commit().map_err(|e| self.err(e))?;
        Ok(added)
    }

    /// Messages of the journal whose bytes in the outbox are not the ones it recorded
    /// (the outbox was rendered again after sending began).
    pub fn changed<'a>(
        &self,
        entries: impl Iterator<Item = &'a crate::outbox::Entry>,
    ) -> Result<Vec<String>> {
        let mut q = self
            .conn
            .prepare("SELECT sha256 FROM messages WHERE id=?1")
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for e in entries {
            let sha: Option<String> = q
                .query_row(params![e.id], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            if sha.as_deref().is_some_and(|s| s != e.sha256) {
                out.push(e.id.clone());
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
