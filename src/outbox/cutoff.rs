//! The print cut-off, `dunwell outbox cutoff OUTBOX --payments FILE…`: letters and
//! payment pages do not leave through `send` (print.pdf goes to a print shop, `web/` is
//! published), so the check `send --payments` makes for e-mails and SMS is made here for
//! them, right before print.pdf goes out. A customer who paid since the export — all of
//! it (`cancelled:paid`) or a part (`cancelled:part_paid`) — has their letters taken
//! out of `letters/print.pdf` and `print.csv`, and their payment page replaced by one
//! that thanks them (`web::withdrawn`, in the page's language: the link in an e-mail
//! already sent must not ask for the money again). `cutoff.csv` records each.
//!
//! print.pdf is bound again from the letters' own files (`letters/ID.pdf`, checked
//! against the manifest's SHA-256) by the binder `run` uses, into temporary files
//! renamed over the old ones. The letters' files, the manifest and sms.jsonl stay as
//! they are: the seal (complete.json) still holds, so the outbox can be sent, shown
//! and reported on as before, and what was reviewed stays on record.
//!
//! Idempotent: what `cutoff.csv` lists stays out, and a run with the same files finds
//! nothing more to remove and changes nothing.

use super::Entry;
use super::reader::Outbox;
use crate::dataset::Channel;
use crate::diag::{Error, Result};
use crate::letter::print::Binder;
use crate::received::{Matching, Unmatched};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The record of what cut-offs removed.
pub const CUTOFF: &str = "cutoff.csv";
/// Written first, renamed over it.
pub const CUTOFF_TMP: &str = ".cutoff.csv.tmp";

/// One letter or payment page taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub customer_id: String,
    pub id: String,
    pub channel: Channel,
    /// `cancelled:paid` or `cancelled:part_paid`.
    pub reason: String,
    /// What was received and claimed, and the payments (`FILE:LINE`).
    pub payments: String,
}

/// What a cut-off did.
#[derive(Debug, Default)]
pub struct Cutoff {
    pub received: usize,
    pub before_export: usize,
    pub matched: usize,
    pub unmatched: Vec<Unmatched>,
    /// Taken out now.
    pub removed: Vec<Removed>,
    /// Taken out by earlier cut-offs (in cutoff.csv already).
    pub earlier: usize,
    /// Everything cutoff.csv lists now.
    pub record: Vec<Removed>,
    /// Letters left in print.pdf, and its pages (with the blank backs).
    pub letters_left: usize,
    pub print_pages: u64,
}

/// Takes the letters and pages of customers who paid out of the outbox.
pub fn cutoff(outbox: &Path, payments: &[PathBuf]) -> Result<Cutoff> {
    let received = crate::received::read(payments)?;
    let sealed = Outbox::open(outbox)?;
    let _lock = super::folder::Lock::take(outbox, "cutoff")?;
    let m = crate::received::match_payments(
        &received,
        super::reader::claims(&sealed.entries),
        sealed.seal.as_of_date()?,
    );
    let record = outbox.join(CUTOFF);
    let mut rows = read_record(&record)?;
    let earlier: BTreeSet<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut removed = Vec::new();
    for e in &sealed.entries {
        if !matches!(e.channel, Channel::Letter | Channel::Web) || earlier.contains(&e.id) {
            continue;
        }
        let Some((why, paid, claim)) = e.currencies().find_map(|c| m.verdict(&e.customer_id, c))
        else {
            continue;
        };
        removed.push(Removed {
            customer_id: e.customer_id.clone(),
            id: e.id.clone(),
            channel: e.channel,
            reason: why.word().to_string(),
            payments: Matching::describe(why, paid, claim),
        });
    }
    let out_letters: BTreeSet<&str> = rows
        .iter()
        .chain(&removed)
        .filter(|r| r.channel == Channel::Letter)
        .map(|r| r.id.as_str())
        .collect();
    let letters: Vec<&Entry> = sealed
        .entries
        .iter()
        .filter(|e| e.channel == Channel::Letter)
        .collect();
    let kept: Vec<&Entry> = letters
        .iter()
        .copied()
        .filter(|e| !out_letters.contains(e.id.as_str()))
        .collect();
    // The record first: it is the intent. A cut-off killed after it is completed by
    // the next one (with any payment files), which finds print.csv still listing a
    // letter the record took out and binds again, and withdraws every page the record
    // names; killed before it, nothing was changed yet.
    if !removed.is_empty() {
        rows.extend(removed.iter().cloned());
        write_record(outbox, &record, &rows)?;
    }
    let listed = crate::letter::print::letter_ids(outbox)?;
    let print_pages = if listed
        .iter()
        .map(String::as_str)
        .ne(kept.iter().map(|e| e.id.as_str()))
    {
        rebind(&sealed, &kept)?
    } else {
        print_pages(outbox)?
    };
    for r in rows.iter().filter(|r| r.channel == Channel::Web) {
        let Some(e) = sealed.entries.iter().find(|e| e.id == r.id) else {
            continue;
        };
        let page = crate::web::withdrawn(&e.locale, r.reason == "cancelled:paid");
        // The page answers every currency's link: each copy is withdrawn.
        for rel in std::iter::once(&e.path).chain(&e.pages) {
            let path = sealed.root.join(rel);
            if std::fs::read(&path).ok().as_deref() != Some(page.as_bytes()) {
                replace(&path, page.as_bytes())?;
            }
        }
    }
    crate::received::write_unmatched(&outbox.join(crate::received::UNMATCHED), &m.unmatched)?;
    super::folder::sync_dir(outbox)?;
    Ok(Cutoff {
        received: received.len(),
        before_export: m.before_export,
        matched: m.matched,
        unmatched: m.unmatched,
        earlier: earlier.len(),
        removed,
        record: rows,
        letters_left: kept.len(),
        print_pages,
    })
}

/// What a cut-off recorded of one message (a letter taken out, a page withdrawn).
pub fn removed(outbox: &Path, id: &str) -> Result<Option<Removed>> {
    Ok(read_record(&outbox.join(CUTOFF))?
        .into_iter()
        .find(|r| r.id == id))
}

/// Binds print.pdf and print.csv again from the letters kept, in plan order, into
/// temporary files renamed over the old ones: the print shop never finds half a file.
fn rebind(sealed: &Outbox, kept: &[&Entry]) -> Result<u64> {
    let dir = sealed.root.join("letters");
    let (pdf, csv) = (dir.join(".print.pdf.tmp"), dir.join(".print.csv.tmp"));
    let mut b = Binder::create_at(pdf.clone(), csv.clone())?;
    for e in kept {
        let bytes = sealed.stored_bytes(e).map_err(Error::Refused)?;
        // What is printed is what was reviewed.
        if crate::hash::sha256_hex(&bytes) != e.sha256 {
            return Err(Error::Refused(format!(
                "{}: {} changed since `dunwell run` wrote it (SHA-256 differs): print.pdf is left as it was. Render the campaign again.",
                sealed.root.display(),
                e.path
            )));
        }
        let doc = lopdf::Document::load_mem(&bytes).map_err(|err| {
            Error::Refused(format!(
                "{}: {}: not a PDF lopdf can read ({err}); print.pdf is left as it was",
                sealed.root.display(),
                e.path
            ))
        })?;
        let prepared = crate::letter::print::prepare(doc);
        let pages = prepared.pages_in_letter;
        let base = b.reserve(prepared.ids_needed());
        b.append(prepared.serialize(base), &e.id, &e.customer_id, pages)?;
    }
    let pages = b.finish()? as u64;
    for (tmp, name) in [(&pdf, "print.pdf"), (&csv, "print.csv")] {
        std::fs::File::open(tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(tmp, e))?;
        let to = dir.join(name);
        std::fs::rename(tmp, &to).map_err(|e| Error::io(&to, e))?;
    }
    super::folder::sync_dir(&dir)?;
    Ok(pages)
}

/// The pages of print.pdf as it is (print.csv's last letter's first page + its pages,
/// rounded up to even, as the binder pads them).
fn print_pages(outbox: &Path) -> Result<u64> {
    let path = outbox.join("letters").join("print.csv");
    if !path.exists() {
        return Ok(0);
    }
    let mut r = csv::Reader::from_path(&path).map_err(|e| Error::io(&path, e.into()))?;
    let mut pages = 0u64;
    for row in r.records() {
        let row = row.map_err(|e| Error::io(&path, e.into()))?;
        let first: u64 = row.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
        let n: u64 = row.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
        pages = first.saturating_sub(1) + n + n % 2;
    }
    Ok(pages)
}

/// Writes a file by a temporary one renamed over it.
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("html.tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

const HEADER: [&str; 5] = ["customer_id", "id", "channel", "reason", "payments"];

fn read_record(path: &Path) -> Result<Vec<Removed>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bad = |why: String| {
        Error::Refused(format!(
            "{}: {why}; it is the record of what earlier cut-offs removed — restore it, or run `dunwell run` into the outbox again",
            path.display()
        ))
    };
    let mut r = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let head = r.headers().map_err(|e| bad(e.to_string()))?.clone();
    if head.iter().collect::<Vec<_>>() != HEADER {
        return Err(bad(format!(
            "its header is not {} (it was not written by `dunwell outbox cutoff`)",
            HEADER.join(",")
        )));
    }
    let mut out = Vec::new();
    for row in r.records() {
        let row = row.map_err(|e| bad(e.to_string()))?;
        let cell = |k: usize| crate::escape::read_cell(row.get(k).unwrap_or("")).to_string();
        out.push(Removed {
            customer_id: cell(0),
            id: cell(1),
            channel: Channel::parse(&cell(2)).map_err(|why| bad(format!("channel: {why}")))?,
            reason: cell(3),
            payments: cell(4),
        });
    }
    Ok(out)
}

fn write_record(outbox: &Path, path: &Path, rows: &[Removed]) -> Result<()> {
    let tmp = outbox.join(CUTOFF_TMP);
    let err = |e: csv::Error| Error::io(&tmp, std::io::Error::other(e));
    let mut w = csv::Writer::from_path(&tmp).map_err(err)?;
    w.write_record(HEADER).map_err(err)?;
    for r in rows {
        w.write_record([
            &*crate::escape::safe_cell(&r.customer_id),
            &*crate::escape::safe_cell(&r.id),
            r.channel.as_str(),
            &r.reason,
            &*crate::escape::safe_cell(&r.payments),
        ])
        .map_err(err)?;
    }
    w.flush().map_err(|e| Error::io(&tmp, e))?;
    drop(w);
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    super::folder::sync_dir(outbox)
}
