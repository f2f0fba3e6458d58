//! `sending.json`: the outbox's own memory that sending began, and how far it got.
//!
//! The journal (`journal.sqlite`) knows every message's fate, but a journal can be lost
//! in ways SQLite cannot see: deleted, emptied, replaced by an older backup, its
//! write-ahead log removed after a crash (taking the newest deliveries with it), or the
//! whole outbox copied and sent from twice. Any of these would silently send delivered
//! messages again. So the outbox keeps a small record beside the manifest, written
//! atomically and flushed before the first claim and at every step that matters:
//!
//! - `journal_id` — which journal belongs here (128 random bits, also in the journal);
//! - `phase` — `creating` (the journal is being made; nothing claimed yet), `sending`
//!   (a send is running, or was killed), `stopped` (the last send ended cleanly, its
//!   write-ahead log folded into the journal);
//! - `claims` — how many claims the journal had made when the last send stopped;
//!   while a send runs, `sending.mark` beside it holds the count after every claim (one
//!   small write into the page cache: it survives the process being killed, as the
//!   journal's own commits do). A journal with fewer claims than either is an older
//!   copy — a backup restored, or its write-ahead log removed after a crash;
//! - `folder` — the outbox folder's device and inode: a copy of an outbox is another
//!   folder, and is refused until the operator says it was moved, not copied.

use crate::diag::{Error, Result};
use std::io::Write;
use std::path::Path;

pub const SENDING: &str = "sending.json";

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Creating,
    Sending,
    Stopped,
}

/// Which folder: a move within a file system keeps it, a copy does not.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folder {
    pub dev: u64,
    pub ino: u64,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub journal_id: String,
    /// The manifest this journal was made for.
    pub manifest_sha256: String,
    pub messages: u64,
    pub phase: Phase,
    pub claims: u64,
    pub folder: Folder,
}

pub fn folder_of(outbox: &Path) -> Result<Folder> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(outbox).map_err(|e| Error::io(outbox, e))?;
    Ok(Folder {
        dev: m.dev(),
        ino: m.ino(),
    })
}

/// The record, if sending ever began here.
pub fn read(outbox: &Path) -> Result<Option<Record>> {
    let path = outbox.join(SENDING);
    match std::fs::read(&path) {
        Ok(text) => serde_json::from_slice(&text).map(Some).map_err(|e| {
            Error::Refused(format!(
                "{}: unreadable ({e}); it records that sending began from this outbox and how far it got — restore it from a backup, never delete it",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Replaces the record atomically and flushes it to stable storage.
pub fn write(outbox: &Path, record: &Record) -> Result<()> {
    let path = outbox.join(SENDING);
    let tmp = outbox.join(".sending.json.tmp");
    let mut text = serde_json::to_vec_pretty(record).expect("a record serialises");
    text.push(b'\n');
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(&text).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    crate::outbox::folder::sync_dir(outbox)
}

/// `sending.mark`: the journal's claim count after every claim, the high-water mark a
/// journal must never fall below.
pub const MARK: &str = "sending.mark";

/// The open mark file, written in place (20 ASCII digits at offset 0).
pub struct Mark {
    file: std::fs::File,
}

impl Mark {
    pub fn open(outbox: &Path) -> Result<Mark> {
        let path = outbox.join(MARK);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Mark { file })
    }

    pub fn set(&self, claims: u64) -> Result<()> {
        use std::os::unix::fs::FileExt;
        self.file
            .write_all_at(format!("{claims:020}\n").as_bytes(), 0)
            .map_err(|e| Error::io(Path::new(MARK), e))
    }
}

/// The mark's value; `None` when there is no mark file.
pub fn read_mark(outbox: &Path) -> Result<Option<u64>> {
    let path = outbox.join(MARK);
    match std::fs::read_to_string(&path) {
        Ok(t) => t.trim().parse().map(Some).map_err(|_| {
            Error::Refused(format!(
                "{}: unreadable; it is the high-water mark of this outbox's sends — restore it from a backup",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}
