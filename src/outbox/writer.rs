//! Writing an outbox: the one place that puts a message's bytes into the folder and its
//! line into `manifest.jsonl`, so that what `send` and `outbox show` read back
//! ([`super::Outbox`]) has one author.
//!
//! The work is split so that `run` keeps its shape — render in parallel, write in plan
//! order: [`Ready::new`] does the per-message work that can run on the render threads
//! (hashing, mbox quoting, parsing a letter for `print.pdf`); [`Writer::bind`] numbers a
//! block's letters for `print.pdf` in order and serialises them in parallel; then
//! [`Writer::write`] only writes. [`Writer::finish`] closes the files, and
//! [`Finished::seal`] — called after every other file of the outbox is written — makes
//! the outbox complete.

use super::seal::{FileSeal, Hashing, Seal};
use super::{Entry, Mbox, folder, mboxrd_escape};
use crate::diag::{Diagnostic, Error, Result};
use crate::hash::sha256_hex;
use crate::letter::print::{self, Binder};
use crate::render::Rendered;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A rendered message with the work done that the writer would otherwise do alone.
pub struct Ready {
    rendered: Rendered,
    sha256: String,
    /// The e-mail quoted for the mbox (empty when e-mails are written as `.eml`).
    escaped: Vec<u8>,
    print: Option<print::Prepared>,
    bound: Option<print::Serialized>,
}

impl Ready {
    /// On a render thread. `eml`: e-mails go to files of their own, not to the mbox.
    pub fn new(mut rendered: Rendered, eml: bool) -> Ready {
        let (sha256, escaped, print) = match &mut rendered {
            Rendered::Email { bytes, .. } => {
                let escaped = if eml {
                    Vec::new()
                } else {
                    mboxrd_escape(bytes)
                };
                (sha256_hex(bytes), escaped, None)
            }
            Rendered::Sms { text, to, .. } => (crate::hash::sms_digest(to, text), Vec::new(), None),
            Rendered::Letter {
                bytes,
                objects,
                drawing,
                ..
            } => {
                // The layout is for the gallery; a run holds a block of letters at once.
                drawing.forget();
                let doc = std::mem::take(&mut **objects);
                (sha256_hex(bytes), Vec::new(), Some(print::prepare(doc)))
            }
            Rendered::Web { html, .. } => (sha256_hex(html.as_bytes()), Vec::new(), None),
        };
        Ready {
            rendered,
            sha256,
            escaped,
            print,
            bound: None,
        }
    }

    pub fn rendered(&self) -> &Rendered {
        &self.rendered
    }
}

/// What the manifest says of a message besides where its bytes are.
pub struct Meta {
    pub id: String,
    pub customer_id: String,
    /// The customer's name (the manifest keeps it for matching payments).
    pub name: String,
    pub cluster: String,
    pub stage: String,
    pub locale: String,
    pub scheduled_at: chrono::DateTime<chrono_tz::Tz>,
    /// The matrix cell's template, else the stage's name.
    pub template: String,
    /// What the message claims: (invoice number, open amount), and their total.
    pub invoices: Vec<(String, rust_decimal::Decimal)>,
    pub amount: rust_decimal::Decimal,
    pub currency: String,
    pub others: Vec<super::OtherClaim>,
    /// Whether it is, encloses or carries the statement of account.
    pub statement: bool,
}

/// An outbox being written. Holds the folder's lock until it is sealed.
pub struct Writer {
    dir: PathBuf,
    lock: folder::Lock,
    eml: bool,
    mbox: Mbox,
    manifest: Hashing<BufWriter<File>>,
    sms: Hashing<BufWriter<File>>,
    binder: Option<Binder>,
    messages: usize,
    letter_pages: u64,
}

/// The message files closed; what remains is to seal them.
pub struct Finished {
    dir: PathBuf,
    lock: folder::Lock,
    files: [(String, FileSeal); 2],
    pub messages: usize,
    /// Pages of all letters, and of `letters/print.pdf` (with the blank backs).
    pub letter_pages: u64,
    pub print_pages: u64,
}

fn create(path: &Path) -> Result<Hashing<BufWriter<File>>> {
    let f = File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(Hashing::new(BufWriter::new(f)))
}

impl Writer {
    /// Takes the folder (one writer; nothing of an earlier run left, see
    /// [`folder::prepare`]) and opens the message files. `letters`: the run has letters,
    /// so `letters/print.pdf` is bound as they are written.
    pub fn create(dir: &Path, eml: bool, letters: bool) -> Result<Writer> {
        let lock = folder::prepare(dir)?;
        let mbox = Mbox::new(&dir.join("email"))?;
        let manifest = create(&dir.join("manifest.jsonl"))?;
        let sms = create(&dir.join("sms.jsonl"))?;
        let binder = if letters {
            Some(Binder::create(&dir.join("letters"))?)
        } else {
            None
        };
        Ok(Writer {
            dir: dir.to_path_buf(),
            lock,
            eml,
            mbox,
            manifest,
            sms,
            binder,
            messages: 0,
            letter_pages: 0,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A block's letters join `print.pdf` in plan order: object numbers are handed out
    /// in order here, the renumbering runs in parallel.
    pub fn bind(&mut self, block: &mut [std::result::Result<Ready, Diagnostic>]) {
        use rayon::prelude::*;
        let Some(b) = self.binder.as_mut() else {
            return;
        };
        let bases: Vec<Option<u32>> = block
            .iter()
            .map(|r| match r {
                Ok(Ready { print: Some(p), .. }) => Some(b.reserve(p.ids_needed())),
                _ => None,
            })
            .collect();
        block.par_iter_mut().zip(bases).for_each(|(r, base)| {
            if let (Ok(ready), Some(base)) = (r, base) {
                ready.bound = ready.print.take().map(|p| p.serialize(base));
            }
        });
    }

    /// Writes one message and its manifest line. `Ok(Err(why))`: the file system refused
    /// the message's file name — that message fails, the run goes on. Any other error
    /// (a full disk, a read-only folder) stops the run, and the outbox stays unsealed.
    pub fn write(
        &mut self,
        meta: Meta,
        ready: Ready,
    ) -> Result<std::result::Result<Entry, String>> {
        let Ready {
            rendered,
            sha256,
            escaped,
            bound,
            ..
        } = ready;
        let base = Entry {
            id: meta.id,
            customer_id: meta.customer_id,
            channel: rendered.channel(),
            cluster: meta.cluster,
            stage: meta.stage,
            locale: meta.locale,
            to: String::new(),
            subject: None,
            path: String::new(),
            offset: 0,
            length: 0,
            sha256,
            message_id: None,
            sms_encoding: None,
            sms_segments: None,
            link: String::new(),
            scheduled_at: meta.scheduled_at.to_rfc3339(),
            template: meta.template,
            invoices: meta.invoices,
            amount: Some(meta.amount),
            currency: meta.currency,
            others: meta.others,
            pages: Vec::new(),
            name: Some(meta.name),
            statement: meta.statement,
        };
        let id = base.id.clone();
        let entry = match rendered {
            Rendered::Email {
                bytes,
                message_id,
                subject,
                to,
                link,
                ..
            } => {
                let (path, offset, length) = if self.eml {
                    let name = format!("{id}.eml");
                    if let Some(why) = put_file(&self.dir.join("email"), &name, &bytes)? {
                        return Ok(Err(why));
                    }
                    (
                        format!("email/{}", folder::file_name(&name)),
                        0,
                        bytes.len() as u64,
                    )
                } else {
                    self.mbox.append_escaped(
                        &escaped,
                        &meta
                            .scheduled_at
                            .to_utc()
                            .format("%a %b %e %H:%M:%S %Y")
                            .to_string(),
                    )?
                };
                Entry {
                    to,
                    subject: Some(subject),
                    path,
                    offset,
                    length,
                    message_id: Some(message_id),
                    link,
                    ..base
                }
            }
            Rendered::Sms {
                to,
                link,
                text,
                info,
            } => {
                let line = super::reader::SmsLine {
                    encoding: info.encoding.as_str().to_string(),
                    id: id.clone(),
                    scheduled_at: base.scheduled_at.clone(),
                    segments: info.segments,
                    text,
                    to,
                };
                let mut bytes = serde_json::to_vec(&line).expect("json");
                bytes.push(b'\n');
                let path = self.dir.join("sms.jsonl");
                self.sms
                    .write_all(&bytes)
                    .map_err(|e| Error::io(&path, e))?;
                Entry {
                    to: line.to,
                    path: "sms.jsonl".into(),
                    length: line.text.len() as u64,
                    sms_encoding: Some(info.encoding.as_str().into()),
                    sms_segments: Some(info.segments),
                    link,
                    ..base
                }
            }
            Rendered::Letter {
                bytes,
                pages,
                subject,
                to,
                link,
                ..
            } => {
                let name = format!("{id}.pdf");
                if let Some(why) = put_file(&self.dir.join("letters"), &name, &bytes)? {
                    return Ok(Err(why));
                }
                if let (Some(b), Some(s)) = (self.binder.as_mut(), bound) {
                    b.append(s, &id, &base.customer_id, pages)?;
                }
                self.letter_pages += pages as u64;
                Entry {
                    to,
                    subject: Some(subject),
                    path: format!("letters/{}", folder::file_name(&name)),
                    length: bytes.len() as u64,
                    link,
                    ..base
                }
            }
            Rendered::Web {
                token,
                html,
                link,
                aliases,
            } => {
                // The folder must be the token itself (the link opens it): a token too
                // long for a folder name fails this page, not the campaign.
                for t in std::iter::once(&token).chain(&aliases) {
                    if folder::file_name(t) != t.as_str() {
                        return Ok(Err(format!(
                            "web/{t}: the token is too long for a folder name"
                        )));
                    }
                }
                for t in std::iter::once(&token).chain(&aliases) {
                    let dir = self.dir.join("web").join(t);
                    if let Some(why) = put_file(&dir, "index.html", html.as_bytes())? {
                        return Ok(Err(why));
                    }
                }
                Entry {
                    path: format!("web/{token}/index.html"),
                    length: html.len() as u64,
                    link,
                    pages: aliases
                        .iter()
                        .map(|t| format!("web/{t}/index.html"))
                        .collect(),
                    ..base
                }
            }
        };
        let mut line = serde_json::to_vec(&entry).expect("json");
        line.push(b'\n');
        let path = self.dir.join("manifest.jsonl");
        self.manifest
            .write_all(&line)
            .map_err(|e| Error::io(&path, e))?;
        self.messages += 1;
        Ok(Ok(entry))
    }

    /// Closes the message files (mbox parts, print.pdf, manifest, sms.jsonl).
    pub fn finish(self) -> Result<Finished> {
        self.mbox.finish()?;
        let print_pages = match self.binder {
            Some(b) => b.finish()? as u64,
            None => 0,
        };
        let manifest_path = self.dir.join("manifest.jsonl");
        let (_, manifest) = self
            .manifest
            .finish()
            .map_err(|e| Error::io(&manifest_path, e))?;
        let sms_path = self.dir.join("sms.jsonl");
        let (_, sms) = self.sms.finish().map_err(|e| Error::io(&sms_path, e))?;
        Ok(Finished {
            dir: self.dir,
            lock: self.lock,
            files: [
                ("manifest.jsonl".to_string(), manifest),
                ("sms.jsonl".to_string(), sms),
            ],
            messages: self.messages,
            letter_pages: self.letter_pages,
            print_pages,
        })
    }
}

impl Finished {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Last of all: from here on the outbox is complete and may be sent. The lock is
    /// released after the seal is on disk.
    pub fn seal(
        self,
        campaign: &str,
        as_of: &str,
        shard: Option<&str>,
        approval_required: bool,
    ) -> Result<()> {
        let Finished {
            dir,
            lock,
            files,
            messages,
            ..
        } = self;
        super::seal::write(
            &dir,
            &Seal {
                format: 1,
                campaign: campaign.to_string(),
                as_of: as_of.to_string(),
                shard: shard.map(str::to_string),
                messages,
                files: files.into(),
                approval_required,
            },
        )?;
        drop(lock);
        Ok(())
    }
}

/// Writes one message's file (`name` made to fit, see `folder::file_name`). A name the
/// file system still refuses fails that message only (`Ok(Some(why))`); any other
/// error — a full disk, a read-only folder — stops the run, and the outbox stays
/// unsealed.
fn put_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<Option<String>> {
    let path = folder::path_in(dir, name);
    let r = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, bytes));
    match r {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidFilename => {
            Ok(Some(format!("{}: {e}", path.display())))
        }
        Err(e) => Err(Error::io(&path, e)),
    }
}
