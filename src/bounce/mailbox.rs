//! The messages of a mailbox, one at a time: an mbox file (mboxrd or mboxo: messages
//! start at a `From ` line, `>From ` lines are unquoted) or a Maildir folder (the files
//! of `cur/` and `new/`, in file-name order, so a reading is the same every time and a
//! message a mail client moved from `new/` to `cur/` keeps its place). A folder is a
//! Maildir, a file an mbox. mboxcl's `Content-Length:` framing is not read: a body line
//! starting `From ` after a blank line that a writer did not quote starts a message.

use crate::diag::{Error, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One message of the mailbox.
#[derive(Debug)]
pub struct Item {
    /// Where it is, for messages and the store: `MAILBOX:LINE` (the line of its `From `
    /// line) in an mbox, the file in a Maildir.
    pub source: String,
    /// Its bytes, or why they could not be read.
    pub bytes: std::result::Result<Vec<u8>, String>,
}

/// The messages of the mbox file or Maildir folder at `path`, in order. An error that
/// stops the reading (not a mailbox, a read error in an mbox) is an `Err` item.
pub fn open(path: &Path) -> Result<Box<dyn Iterator<Item = Result<Item>>>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        Ok(Box::new(maildir(path)?))
    } else {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Ok(Box::new(Mbox {
            reader: std::io::BufReader::new(file),
            name: path.display().to_string(),
            path: path.to_path_buf(),
            line: 0,
            pending: None,
            done: false,
        }))
    }
}

fn maildir(dir: &Path) -> Result<impl Iterator<Item = Result<Item>> + use<>> {
    let mut files: Vec<(std::ffi::OsString, PathBuf)> = Vec::new();
    let mut found = false;
    for sub in ["cur", "new"] {
        let d = dir.join(sub);
        if !d.is_dir() {
            continue;
        }
        found = true;
        for e in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let e = e.map_err(|e| Error::io(&d, e))?;
            let name = e.file_name();
            // Dot files are not messages (Maildir's own rule); nor are folders.
            if name.to_string_lossy().starts_with('.') || e.path().is_dir() {
                continue;
            }
            files.push((name, e.path()));
        }
    }
    if !found {
        return Err(Error::Input(format!(
            "{}: a folder without cur/ or new/ (expected an mbox file or a Maildir)",
            dir.display()
        )));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, path)| {
        Ok(Item {
            source: path.display().to_string(),
            // A message a mail client moved away since the listing is that message's
            // problem, not the reading's.
            bytes: std::fs::read(&path).map_err(|e| e.to_string()),
        })
    }))
}

struct Mbox {
    reader: std::io::BufReader<std::fs::File>,
    name: String,
    path: PathBuf,
    /// Lines read so far.
    line: u64,
    /// The `From ` line that ends the message being read begins the next: its line.
    pending: Option<u64>,
    done: bool,
}

impl Mbox {
    fn read_line(&mut self, buf: &mut Vec<u8>) -> Result<bool> {
        buf.clear();
        let n = self
            .reader
            .read_until(b'\n', buf)
            .map_err(|e| Error::io(&self.path, e))?;
        if n > 0 {
            self.line += 1;
        }
        Ok(n > 0)
    }

    /// The next message: from its `From ` line to the next one (at the start of the
    /// file or after a blank line), the blank line between them not included.
    fn next_message(&mut self) -> Result<Option<Item>> {
        let mut line = Vec::new();
        let start = match self.pending.take() {
            Some(start) => start,
            None => loop {
                if !self.read_line(&mut line)? {
                    return Ok(None);
                }
                if line.starts_with(b"From ") {
                    break self.line;
                }
                if !line.iter().all(u8::is_ascii_whitespace) {
                    return Err(Error::Input(format!(
                        "{}:{}: not an mbox file (a message starts with a `From ` line); expected an mbox file or a Maildir folder",
                        self.name, self.line
                    )));
                }
            },
        };
        let mut bytes = Vec::new();
        let mut blank_before = false;
        while self.read_line(&mut line)? {
            if blank_before && line.starts_with(b"From ") {
                self.pending = Some(self.line);
                break;
            }
            blank_before = line == b"\n" || line == b"\r\n";
            // mboxrd: `>From `, `>>From ` … lose one `>` (mboxo quoted only `From `).
            let quoted = line.iter().take_while(|&&c| c == b'>').count();
            if quoted > 0 && line[quoted..].starts_with(b"From ") {
                bytes.extend_from_slice(&line[1..]);
            } else {
                bytes.extend_from_slice(&line);
            }
        }
        // The blank line that separates messages is the mbox's, not the message's.
        if bytes.ends_with(b"\r\n\r\n") {
            bytes.truncate(bytes.len() - 2);
        } else if bytes.ends_with(b"\n\n") {
            bytes.truncate(bytes.len() - 1);
        }
        Ok(Some(Item {
            source: format!("{}:{start}", self.name),
            bytes: Ok(bytes),
        }))
    }
}

impl Iterator for Mbox {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Result<Item>> {
        if self.done {
            return None;
        }
        let r = self.next_message().transpose();
        if !matches!(r, Some(Ok(_))) {
            self.done = true;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(path: &Path) -> Vec<(String, Vec<u8>)> {
        open(path)
            .unwrap()
            .map(|i| {
                let i = i.unwrap();
                (i.source, i.bytes.unwrap())
            })
            .collect()
    }

    #[test]
    fn an_mbox_is_split_at_from_lines_after_blank_lines_and_unquoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("box");
        std::fs::write(
            &path,
            "From MAILER-DAEMON Mon Nov 23 09:02:11 2026\nSubject: one\n\n>From here\n>>From there\nFrom a line that is not a separator\n\nFrom x@y Mon Nov 23 09:03:40 2026\r\nSubject: two\r\n\r\nbody\r\n\r\n",
        )
        .unwrap();
        let got = items(&path);
        let name = path.display().to_string();
        assert_eq!(
            got,
            [
                (
                    format!("{name}:1"),
                    b"Subject: one\n\nFrom here\n>From there\nFrom a line that is not a separator\n"
                        .to_vec()
                ),
                (
                    format!("{name}:8"),
                    b"Subject: two\r\n\r\nbody\r\n".to_vec()
                ),
            ]
        );
    }

    #[test]
    fn a_file_that_is_not_an_mbox_is_refused_and_an_empty_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.eml");
        std::fs::write(&path, "\nSubject: hello\n\nhi\n").unwrap();
        let err = open(&path).unwrap().next().unwrap().unwrap_err();
        assert!(err.to_string().contains("mail.eml:2: not an mbox"), "{err}");
        std::fs::write(&path, "").unwrap();
        assert!(items(&path).is_empty());
    }

    #[test]
    fn a_maildir_is_read_from_cur_and_new_in_file_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for (sub, name, text) in [
            ("new", "1795424700.M2P3.host", "Subject: b\n\nb\n"),
            ("cur", "1795424600.M1P2.host:2,S", "Subject: a\n\na\n"),
            ("new", ".hidden", "no"),
            ("tmp", "1795424500.M0P1.host", "being delivered"),
        ] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            std::fs::write(dir.path().join(sub).join(name), text).unwrap();
        }
        let got: Vec<String> = items(dir.path())
            .into_iter()
            .map(|(s, b)| {
                format!(
                    "{s} {}",
                    String::from_utf8(b).unwrap().lines().next().unwrap()
                )
            })
            .collect();
        let d = dir.path().display();
        assert_eq!(
            got,
            [
                format!("{d}/cur/1795424600.M1P2.host:2,S Subject: a"),
                format!("{d}/new/1795424700.M2P3.host Subject: b"),
            ]
        );
        let plain = tempfile::tempdir().unwrap();
        let err = open(plain.path()).err().unwrap();
        assert!(err.to_string().contains("without cur/ or new/"), "{err}");
    }
}
