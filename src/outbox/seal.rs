//! The outbox's completion record, `complete.json` (the reader that checks it first is
//! `reader.rs`).
//!
//! `run` writes it last, after every other file is on disk, with the size and SHA-256
//! of `manifest.jsonl` and `sms.jsonl`; the manifest in turn holds the SHA-256 and the
//! recipient of every message. So an outbox either has a record that matches what is in
//! it — complete, as reviewed — or it is refused: a run that was killed, ran out of
//! disk or failed half-way leaves no record, and an edit after the run (a recipient
//! changed in the manifest) no longer matches it. A folder renamed into place would
//! not do: a rename onto a non-empty folder fails, and it is not atomic on the object
//! store mounts a sharded campaign writes to (docs/scale-out.md).

use crate::diag::{Error, Result};
use sha2::Digest;
use std::io::Write;
use std::path::Path;

/// The completion record's file name.
pub const COMPLETE: &str = "complete.json";
/// What the record vouches for, besides the messages the manifest points at.
const SEALED: [&str; 2] = ["manifest.jsonl", "sms.jsonl"];

/// One sealed file: its size and SHA-256.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FileSeal {
    pub bytes: u64,
    pub sha256: String,
}

/// `complete.json`.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    pub format: u32,
    pub campaign: String,
    pub as_of: String,
    pub shard: Option<String>,
    pub messages: usize,
    pub files: std::collections::BTreeMap<String, FileSeal>,
    /// The campaign asks for a second person's approval before sending (kept here as
    /// well as in summary.json, which is rewritten after every send).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approval_required: bool,
}

impl Seal {
    /// The export's date: payments after it are news to this outbox.
    pub fn as_of_date(&self) -> Result<chrono::NaiveDate> {
        chrono::NaiveDate::parse_from_str(&self.as_of, "%Y-%m-%d").map_err(|_| {
            Error::Refused(format!(
                "the outbox's seal has `{}` as its as_of date (expected YYYY-MM-DD); run `dunwell run` into it again",
                self.as_of
            ))
        })
    }
}

/// A writer that hashes what passes through it (the manifest and sms.jsonl are sealed
/// as they are written, not read back).
pub struct Hashing<W: Write> {
    inner: W,
    hash: sha2::Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: sha2::Sha256::new(),
            bytes: 0,
        }
    }

    /// Flushes and returns the writer with the seal of everything written.
    pub fn finish(mut self) -> std::io::Result<(W, FileSeal)> {
        self.inner.flush()?;
        let seal = FileSeal {
            bytes: self.bytes,
            sha256: crate::hash::hex(&self.hash.finalize()),
        };
        Ok((self.inner, seal))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `complete.json` after every file of the outbox is on stable storage: the
/// record must never exist for bytes a power cut could still take back.
pub fn write(out: &Path, seal: &Seal) -> Result<()> {
    super::folder::sync_all(out)?;
    let path = out.join(COMPLETE);
    let tmp = out.join(".complete.json.tmp");
    let mut text = serde_json::to_vec_pretty(seal).expect("a seal serialises");
    text.push(b'\n');
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(&text).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    super::folder::sync_dir(out)
}

/// Removes the record first thing in a run: from then on the folder is incomplete
/// until the run writes a new one.
pub fn remove(out: &Path) -> Result<()> {
    let path = out.join(COMPLETE);
    match std::fs::remove_file(&path) {
        Ok(()) => super::folder::sync_dir(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn file_seal(path: &Path) -> Result<FileSeal> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Hashing::new(std::io::sink());
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(h.finish().map_err(|e| Error::io(path, e))?.1)
}

/// Checks that `dir` is a complete outbox whose sealed files are as `run` wrote them.
pub fn check(dir: &Path) -> Result<Seal> {
    let path = dir.join(COMPLETE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let what = if dir.join("manifest.jsonl").exists() {
                "it is incomplete: `dunwell run` did not finish writing it (it was stopped, ran out of disk, failed, or is still running)"
            } else if dir.is_dir() {
                "it is not an outbox written by `dunwell run`"
            } else {
                "there is no such folder"
            };
            return Err(Error::Refused(format!(
                "{}: {what} — {COMPLETE} is missing. Nothing in it can be trusted to be whole; run `dunwell run` into it again.",
                dir.display()
            )));
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let seal: Seal = serde_json::from_slice(&text).map_err(|e| {
        Error::Refused(format!(
            "{}: not a completion record ({e}); run `dunwell run` into {} again",
            path.display(),
            dir.display()
        ))
    })?;
    for name in SEALED {
        let Some(want) = seal.files.get(name) else {
            return Err(Error::Refused(format!(
                "{}: does not seal {name}; run `dunwell run` into {} again",
                path.display(),
                dir.display()
            )));
        };
        let file = dir.join(name);
        let got = file_seal(&file)?;
        if &got != want {
            return Err(Error::Refused(format!(
                "{} changed after `dunwell run` sealed the outbox ({} bytes, SHA-256 {}…; the seal says {} bytes, {}…): what would be sent is no longer what was reviewed. Render the campaign again into a new outbox.",
                file.display(),
                got.bytes,
                &got.sha256[..12],
                want.bytes,
                &want.sha256[..want.sha256.len().min(12)]
            )));
        }
    }
    Ok(seal)
}
