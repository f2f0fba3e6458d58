//! The outbox folder itself: who may write in it, what an earlier run leaves behind, and
//! names that fit the file system.
//!
//! One `run` or one `send` at a time holds an advisory lock on the folder (flock on the
//! directory, not on a lock file that someone could delete): a second `run` into the
//! same outbox, or a `run` while a `send` is reading it, is refused. A run empties the
//! outbox of everything an earlier run wrote before it writes — the `web/` folder is
//! published, and a stale payment page with an old amount must not stay online — but
//! never touches a file it did not write: a folder holding anything else is refused.

use crate::diag::{Error, Result};
use std::path::{Path, PathBuf};

/// What `run`, `send` and `report` write into an outbox (and nothing else lives there).
pub const OWN_NAMES: &[&str] = &[
    "complete.json",
    ".complete.json.tmp",
    "manifest.jsonl",
    "sms.jsonl",
    "email",
    "letters",
    "web",
    "segments.csv",
    "exclusions.csv",
    "rejected.csv",
    "summary.json",
    "report.html",
    // `send --payments` and `outbox cutoff`.
    "payments-unmatched.csv",
    "cutoff.csv",
    ".cutoff.csv.tmp",
];

/// Files that say sending began from this outbox: it must never be rendered again.
pub const SENT_NAMES: &[&str] = &["journal.sqlite", "sending.json", "sending.mark"];

/// An exclusive lock on an outbox folder, held until dropped.
pub struct Lock {
    _dir: std::fs::File,
}

impl Lock {
    /// Takes the folder's lock for `what` (`run`, `send`), or says who may hold it.
    pub fn take(dir: &Path, what: &str) -> Result<Lock> {
        let f = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
        match f.try_lock() {
            Ok(()) => Ok(Lock { _dir: f }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Refused(format!(
                "{} is in use by another `dunwell run` or `dunwell send`; this `{what}` waits for nothing and changes nothing — try again when it has finished",
                dir.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(dir, e)),
        }
    }
}

/// Makes `dir` an empty outbox for a new run, holding its lock: refuses an outbox that
/// was sent from and a folder with files dunwell did not write; removes the completion
/// record first (from here on the folder is incomplete) and then what an earlier run
/// wrote.
pub fn prepare(dir: &Path) -> Result<Lock> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let lock = Lock::take(dir, "run")?;
    if let Some(sent) = SENT_NAMES.iter().find(|n| dir.join(n).exists()) {
        return Err(Error::Refused(format!(
            "{} has already been sent from (it has {sent}); rendering it again would give its messages new bytes behind the journal's back — write this run to a new outbox",
            dir.display()
        )));
    }
    let mut foreign = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name();
        if !OWN_NAMES.iter().any(|n| name == **n) {
            foreign.push(name.to_string_lossy().into_owned());
        }
    }
    if !foreign.is_empty() {
        foreign.sort();
        let shown: Vec<String> = foreign
            .iter()
            .take(5)
            .map(|n| format!("`{}`", n.escape_debug()))
            .collect();
        return Err(Error::Refused(format!(
            "{} holds files `dunwell run` did not write ({}{}): a run empties its outbox first, so write it to a new or empty folder",
            dir.display(),
            shown.join(", "),
            if foreign.len() > 5 { ", …" } else { "" }
        )));
    }
    super::seal::remove(dir)?;
    for name in OWN_NAMES {
        let p = dir.join(name);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    sync_dir(dir)?;
    Ok(lock)
}

/// Flushes a folder's entries (a created or renamed file) to stable storage.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Flushes every file written under `dir` to stable storage: one `syncfs` for the file
/// system instead of an fsync per letter and payment page.
pub fn sync_all(dir: &Path) -> Result<()> {
    let f = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: `f` is an open descriptor for the whole call.
        if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
            return Err(Error::io(dir, std::io::Error::last_os_error()));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        fn walk(p: &Path) -> std::io::Result<()> {
            for e in std::fs::read_dir(p)? {
                let e = e?;
                if e.file_type()?.is_dir() {
                    walk(&e.path())?;
                } else {
                    std::fs::File::open(e.path())?.sync_all()?;
                }
            }
            Ok(())
        }
        walk(dir)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(dir, e))
    }
}

/// Longest file name made from an id kept as it is; longer ones are shortened with a
/// hash (most file systems allow 255 bytes; object-store mounts often less).
const MAX_NAME_BYTES: usize = 240;

/// A file or folder name for `name` (an id with its suffix, a token): as it is when
/// short, else its first bytes, `~`, and 16 hex digits of its SHA-256 — distinct names
/// stay distinct, and the same name always maps to the same file.
pub fn file_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.len() <= MAX_NAME_BYTES {
        return name.into();
    }
    use sha2::Digest;
    let mut cut = 60;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let h = sha2::Sha256::digest(name.as_bytes());
    format!("{}~{}", &name[..cut], crate::hash::hex(&h[..8])).into()
}

/// `dir/name` with the name made to fit.
pub fn path_in(dir: &Path, name: &str) -> PathBuf {
    dir.join(&*file_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_shortened_distinctly() {
        assert_eq!(file_name("C1-letter.pdf"), "C1-letter.pdf");
        let a = "客".repeat(100) + "A-letter.pdf";
        let b = "客".repeat(100) + "B-letter.pdf";
        let (fa, fb) = (file_name(&a), file_name(&b));
        assert!(fa.len() <= 100 && fb.len() <= 100, "{fa}");
        assert_ne!(fa, fb);
        assert_eq!(fa, file_name(&a));
        assert!(fa.starts_with("客"));
    }

    #[test]
    fn a_run_refuses_foreign_files_and_removes_its_own() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("web/OLD")).unwrap();
        std::fs::write(d.path().join("web/OLD/index.html"), "old").unwrap();
        std::fs::write(d.path().join("manifest.jsonl"), "{}").unwrap();
        drop(prepare(d.path()).unwrap());
        assert!(!d.path().join("web").exists());
        assert!(!d.path().join("manifest.jsonl").exists());
        std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
        assert!(matches!(prepare(d.path()), Err(Error::Refused(_))));
        assert!(d.path().join("notes.txt").exists());
    }

    #[test]
    fn one_holder_at_a_time() {
        let d = tempfile::tempdir().unwrap();
        let first = Lock::take(d.path(), "send").unwrap();
        assert!(matches!(prepare(d.path()), Err(Error::Refused(_))));
        drop(first);
        assert!(prepare(d.path()).is_ok());
    }
}
