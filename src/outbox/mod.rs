//! The files a run leaves behind for people and machines: the messages (mbox parts,
//! letters, pages, `sms.jsonl`) with `manifest.jsonl`, `segments.csv`, `rejected.csv`,
//! `exclusions.csv`, `summary.json`; `seal.rs` makes the outbox complete or not at all,
//! `folder.rs` owns the folder (one writer, nothing stale, names that fit).
//!
//! CSV cells holding text from the input are written so that a spreadsheet does not run
//! them as formulas (a customer named `=HYPERLINK(…)` is a classic CSV injection).

use crate::dataset::{Channel, Dataset};
use crate::diag::{Defect, Error, Result};
use crate::escape::safe_cell;
use crate::plan::ExclusionReason;
use crate::segment::{RuleSet, Segmentation};
use std::io::Write;
use std::path::Path;

pub mod cutoff;
pub mod folder;
pub mod reader;
pub mod seal;
pub mod summary;
pub mod writer;

pub use reader::Outbox;
pub use writer::Writer;

fn csv_writer(path: &Path) -> Result<csv::Writer<std::io::BufWriter<std::fs::File>>> {
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(csv::WriterBuilder::new().from_writer(std::io::BufWriter::with_capacity(1 << 20, f)))
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    Error::io(path, std::io::Error::other(e))
}

/// `segments.csv`: customer_id, cluster, rule, because, evidence, then every feature
/// any rule uses — enough to see why each earlier rule did not fire, too.
pub fn write_segments(
    path: &Path,
    data: &Dataset,
    rules: &RuleSet,
    seg: &Segmentation,
) -> Result<()> {
    use rayon::prelude::*;
    let mut header = vec!["customer_id", "cluster", "rule", "because", "evidence"];
    header.extend(rules.features.iter().copied());
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(|e| csv_err(path, e))?;
    out.write_all(
        &w.into_inner()
            .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?,
    )
    .map_err(|e| Error::io(path, e))?;
    // Rows are formatted in parallel, in blocks, and written in customer order.
    const BLOCK: usize = 16_384;
    for start in (0..seg.assignments.len()).step_by(BLOCK * 8) {
        let end = (start + BLOCK * 8).min(seg.assignments.len());
        let parts: Vec<std::result::Result<Vec<u8>, csv::Error>> = (start..end)
            .step_by(BLOCK)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|b| segment_rows(b..(b + BLOCK).min(end), data, rules, seg))
            .collect();
        for p in parts {
            out.write_all(&p.map_err(|e| csv_err(path, e))?)
                .map_err(|e| Error::io(path, e))?;
        }
    }
    out.flush().map_err(|e| Error::io(path, e))
}

fn segment_rows(
    range: std::ops::Range<usize>,
    data: &Dataset,
    rules: &RuleSet,
    seg: &Segmentation,
) -> std::result::Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::with_capacity(range.len() * 128));
    let mut row: Vec<String> = Vec::new();
    for i in range {
        let Some(a) = &seg.assignments[i] else {
            continue;
        };
        let f = &seg.features[i];
        let rule = &rules.rules[a.rule];
        row.clear();
        row.push(safe_cell(data.customers[i].id()).into_owned());
        row.push(a.cluster.to_string());
        row.push(rule.name.clone());
        row.push(safe_cell(&rule.because).into_owned());
        let evidence: Vec<String> = rules
            .evidence(a, f)
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        row.push(evidence.join("; "));
        for name in &rules.features {
            row.push((crate::features::feature(name).unwrap().get)(f).to_string());
        }
        w.write_record(&row)?;
    }
    w.into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))
}

/// `rejected.csv`: customer_id, file, line, column, reason — one row per defect.
pub fn write_rejected<'a>(
    path: &Path,
    defects: impl IntoIterator<Item = &'a Defect>,
) -> Result<()> {
    let mut w = csv_writer(path)?;
    w.write_record(["customer_id", "file", "line", "column", "reason"])
        .map_err(|e| csv_err(path, e))?;
    for d in defects {
        let line = d.line.to_string();
        w.write_record([
            &*safe_cell(d.customer_id.as_deref().unwrap_or("")),
            &*safe_cell(&d.file),
            line.as_str(),
            d.column.unwrap_or(""),
            &*safe_cell(&d.message),
        ])
        .map_err(|e| csv_err(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

/// `exclusions.csv`: customer_id, channel (empty = the whole customer), reason.
pub fn write_exclusions<'a>(
    path: &Path,
    rows: impl IntoIterator<Item = (&'a str, Option<Channel>, ExclusionReason)>,
) -> Result<()> {
    let mut w = csv_writer(path)?;
    w.write_record(["customer_id", "channel", "reason"])
        .map_err(|e| csv_err(path, e))?;
    for (customer, channel, reason) in rows {
        let channel = channel.map(Channel::as_str).unwrap_or("");
        w.write_record([&*safe_cell(customer), channel, &reason.code()])
            .map_err(|e| csv_err(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

/// One line of `manifest.jsonl`: where a message is and what it is.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub customer_id: String,
    pub channel: Channel,
    pub cluster: String,
    pub stage: String,
    pub locale: String,
    pub to: String,
    #[serde(default)]
    pub subject: Option<String>,
    /// The file holding the message, relative to the outbox.
    pub path: String,
    /// Where in `path` the message's bytes are (mbox files hold many).
    pub offset: u64,
    pub length: u64,
    pub sha256: String,
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub sms_encoding: Option<String>,
    #[serde(default)]
    pub sms_segments: Option<u32>,
    pub link: String,
    pub scheduled_at: String,
    /// The template the matrix picked (the cell's, else the stage's name). Outboxes
    /// written before December 2026 have none.
    #[serde(default)]
    pub template: String,
    /// What the message claims: (invoice number, open amount) and the total, in
    /// `currency` — what the history records as the contact's claim.
    #[serde(default)]
    pub invoices: Vec<(String, rust_decimal::Decimal)>,
    #[serde(default)]
    pub amount: Option<rust_decimal::Decimal>,
    #[serde(default)]
    pub currency: String,
    /// What it claims in other currencies, each with its own total; absent when the
    /// message claims one currency only (and in outboxes written before December 2026).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<OtherClaim>,
    /// A payment page's copies under the other currencies' tokens (each link opens
    /// the page), relative to the outbox.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<String>,
    /// The customer's name, for matching a payment that quotes no reference by its
    /// payer's name (`received.rs`). Outboxes written before it was added have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The message is, encloses or carries the customer's statement of account: the
    /// history records it, and the next statement lists payments since its date.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub statement: bool,
}

/// A message's debts in a currency other than its main one.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OtherClaim {
    pub currency: String,
    pub amount: rust_decimal::Decimal,
    pub invoices: Vec<(String, rust_decimal::Decimal)>,
}

impl Entry {
    /// Every currency the message claims, its main one first.
    pub fn currencies(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.currency.as_str())
            .filter(|c| !c.is_empty())
            .chain(self.others.iter().map(|o| o.currency.as_str()))
    }

    /// Every invoice it claims with its open amount, main currency first.
    pub fn all_invoices(&self) -> impl Iterator<Item = &(String, rust_decimal::Decimal)> {
        self.invoices
            .iter()
            .chain(self.others.iter().flat_map(|o| o.invoices.iter()))
    }
}

/// Appends e-mails to `email/part-NNNNN.mbox` files (mboxrd: `From ` separator lines,
/// body lines starting with `>*From ` get one more `>`). One big file is ~100× cheaper
/// than a small file per message on these machines (SPEC §9).
pub struct Mbox {
    dir: std::path::PathBuf,
    part: u32,
    file: Option<std::io::BufWriter<std::fs::File>>,
    written: u64,
}

/// A new part file past this size.
const MBOX_PART_BYTES: u64 = 256 << 20;

impl Mbox {
    pub fn new(dir: &Path) -> Result<Mbox> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(Mbox {
            dir: dir.to_path_buf(),
            part: 0,
            file: None,
            written: 0,
        })
    }

    /// Appends one message; returns (file name, offset, length) of its stored bytes.
    pub fn append(&mut self, message: &[u8], from_line_date: &str) -> Result<(String, u64, u64)> {
        self.append_escaped(&mboxrd_escape(message), from_line_date)
    }

    /// As [`append`](Self::append) for a message already passed through
    /// [`mboxrd_escape`] (render threads escape; the writer only writes).
    pub fn append_escaped(
        &mut self,
        body: &[u8],
        from_line_date: &str,
    ) -> Result<(String, u64, u64)> {
        if self.file.is_none() || self.written >= MBOX_PART_BYTES {
            if let Some(mut f) = self.file.take() {
                f.flush().map_err(|e| Error::io(&self.dir, e))?;
                self.part += 1;
            }
            let path = self.dir.join(format!("part-{:05}.mbox", self.part));
            let f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            self.file = Some(std::io::BufWriter::with_capacity(1 << 20, f));
            self.written = 0;
        }
        let name = format!("email/part-{:05}.mbox", self.part);
        let f = self.file.as_mut().expect("opened above");
        let sep = format!("From dunwell {from_line_date}\n");
        let offset = self.written + sep.len() as u64;
        let io = |e| Error::io(Path::new(&name), e);
        f.write_all(sep.as_bytes()).map_err(io)?;
        f.write_all(body).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        self.written += sep.len() as u64 + body.len() as u64 + 1;
        Ok((name, offset, body.len() as u64))
    }

    pub fn finish(mut self) -> Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush().map_err(|e| Error::io(&self.dir, e))?;
        }
        Ok(())
    }
}

/// mboxrd quoting: `From ` → `>From `, `>From ` → `>>From `, … at line starts.
pub fn mboxrd_escape(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut copied = 0;
    // Only a `From ` preceded by `>`s and a line start needs a quote: find those
    // (rare) places with memmem instead of walking every line.
    for at in memchr::memmem::find_iter(message, b"From ") {
        let quotes = message[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'>')
            .count();
        let line_start = at - quotes;
        if line_start == 0 || message[line_start - 1] == b'\n' {
            out.extend_from_slice(&message[copied..line_start]);
            out.push(b'>');
            copied = line_start;
        }
    }
    out.extend_from_slice(&message[copied..]);
    out
}

/// The inverse of [`mboxrd_escape`], for `outbox show`.
pub fn mboxrd_unescape(stored: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(stored.len());
    for line in stored.split_inclusive(|&b| b == b'\n') {
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if quotes > 0 && line[quotes..].starts_with(b"From ") {
            out.extend_from_slice(&line[1..]);
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut text =
        serde_json::to_vec_pretty(value).map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    text.push(b'\n');
    let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(&text).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mboxrd_round_trip() {
        let m = b"Subject: x\r\n\r\nFrom here\r\n>From there\r\nnot From\r\n";
        let e = mboxrd_escape(m);
        assert_eq!(
            e,
            b"Subject: x\r\n\r\n>From here\r\n>>From there\r\nnot From\r\n"
        );
        assert_eq!(mboxrd_unescape(&e), m);
    }

    #[test]
    fn mboxrd_escape_agrees_with_the_line_by_line_rule() {
        fn by_lines(message: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            for line in message.split_inclusive(|&b| b == b'\n') {
                let quotes = line.iter().take_while(|&&b| b == b'>').count();
                if line[quotes..].starts_with(b"From ") {
                    out.push(b'>');
                }
                out.extend_from_slice(line);
            }
            out
        }
        let pieces: [&[u8]; 6] = [b"From ", b">", b"\n", b"x", b"From", b" "];
        // Every sequence of up to 5 pieces: 9,331 messages.
        let mut stack = vec![(Vec::new(), 0)];
        while let Some((m, depth)) = stack.pop() {
            assert_eq!(
                mboxrd_escape(&m),
                by_lines(&m),
                "{:?}",
                String::from_utf8_lossy(&m)
            );
            if depth < 5 {
                for p in pieces {
                    let mut next = m.clone();
                    next.extend_from_slice(p);
                    stack.push((next, depth + 1));
                }
            }
        }
    }
}
