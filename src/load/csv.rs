//! CSV tables. Large files are read in blocks and each block is cut at row boundaries
//! into chunks decoded in parallel; results are put back in file order, so the outcome
//! does not depend on the thread count. Memory holds one block per file, not the file.
//!
//! Rows and lines are found here from the bytes, not from csv's own counts: line numbers
//! name defects (`FILE:LINE`), and must be right across blocks, chunks, quoted line
//! breaks and every line end an export may use.

use super::decode::*;
use super::display;
use super::mapping::{DateSystem, Grid, GridRow, Value};
use crate::diag::{Defect, Error, Result, Severity, did_you_mean};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes read per block; each block is decoded by all threads at once.
const BLOCK: usize = 32 << 20;

// ---------------------------------------------------------------------------------------
// Tables

/// A CSV file whose header has been read and checked.
pub(super) struct Table {
    path: PathBuf,
    file: Arc<str>,
    /// Offset of the first data row.
    data_start: u64,
    delimiter: u8,
    /// For each known column (in the table's column list), its position in the file.
    known: Vec<Option<usize>>,
    names: &'static [&'static str],
    /// Unknown columns: (position, name), kept as `extra` for customers.
    extra: Vec<(usize, Arc<str>)>,
    width: usize,
    header_warnings: Vec<Defect>,
    /// Bytes read per block (tests make it tiny to cross many block boundaries).
    block: usize,
}

impl Table {
    pub(super) fn file(&self) -> Arc<str> {
        self.file.clone()
    }

    pub(super) fn open(
        path: &Path,
        names: &'static [&'static str],
        required: &[usize],
        keeps_extra: bool,
    ) -> Result<Table> {
        let file = display(path);
        let fatal = |column: Option<&'static str>, message: String| {
            Error::Data(vec![Defect {
                file: file.clone(),
                line: 1,
                column,
                customer_id: None,
                message,
                severity: Severity::Error,
            }])
        };
        // The header is in the first few kilobytes; read until a newline outside quotes,
        // scanning each byte once (a 100,000-column header is megabytes long).
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 64 << 10];
        let mut scan = RowEndScan::default();
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
            head.extend_from_slice(&buf[..n]);
            if n == 0 || scan.feed(&head).is_some() {
                break;
            }
            if head.len() > MAX_HEADER {
                return Err(fatal(
                    None,
                    format!(
                        "the header line is longer than {} MB (expected a line of column names)",
                        MAX_HEADER >> 20
                    ),
                ));
            }
        }
        let bom = if head.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let body = &head[bom..];
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            let names: Vec<&str> = required.iter().map(|&i| names[i]).collect();
            return Err(fatal(
                None,
                format!(
                    "the file is empty (expected a header line such as `{}`)",
                    names.join(",")
                ),
            ));
        }
        let delimiter = sniff_delimiter(body);
        let mut rdr = ::csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut header = ::csv::ByteRecord::new();
        rdr.read_byte_record(&mut header)
            .map_err(|e| fatal(None, format!("cannot read the header line: {e}")))?;
        // Rows start on line 2: skip the rest of the header's line break (after a CRLF
        // header csv stops at the `\n`), and only that — blank lines after the header
        // are lines too, or every line number after them is off.
        let after = rdr.position().byte() as usize;
        let rest = &body[after..];
        let skip = match (after.checked_sub(1).map(|i| body[i]), rest) {
            (Some(b'\n'), _) => 0,
            (Some(b'\r'), [b'\n', ..]) => 1,
            (Some(b'\r'), _) => 0,
            (_, [b'\r', b'\n', ..]) => 2,
            (_, [b'\r' | b'\n', ..]) => 1,
            _ => 0,
        };
        let data_start = (bom + after + skip) as u64;
        let checked = check_header(&header, names, keeps_extra, &file);
        let missing: Vec<Defect> = required
            .iter()
            .filter(|&&r| checked.known[r].is_none())
            .map(|&r| Defect {
                file: file.clone(),
                line: 1,
                column: Some(names[r]),
                customer_id: None,
                message: format!(
                    "required column is missing (expected a header named `{}`; found: {})",
                    names[r],
                    checked.found()
                ),
                severity: Severity::Error,
            })
            .collect();
        let errors: Vec<Defect> = checked.errors.into_iter().chain(missing).collect();
        if !errors.is_empty() {
            return Err(Error::Data(errors));
        }
        let (known, extra, header_warnings) = (checked.known, checked.extra, checked.warnings);
        Ok(Table {
            path: path.to_path_buf(),
            file,
            data_start,
            delimiter,
            known,
            names,
            extra,
            width: header.len(),
            header_warnings,
            block: BLOCK,
        })
    }

    /// Decodes every data row with `decode`, block by block, chunks in parallel; the
    /// records and defects come back in file order.
    pub(super) fn decode<T: Send>(
        &self,
        decode: impl Fn(&CsvRow<'_>, &mut RowDefects<'_>) -> Option<T> + Sync,
    ) -> Result<Decoded<T>> {
        let mut f = std::fs::File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let file_len = f.metadata().map_err(|e| Error::io(&self.path, e))?.len();
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(self.data_start))
            .map_err(|e| Error::io(&self.path, e))?;
        // The header line is line 1; data starts on the line after it (a quoted header
        // cell with a newline would shift this, and is reported as such by csv).
        let mut next_line = 2u64;
        let mut records: Vec<T> = Vec::new();
        let mut defects = self.header_warnings.clone();
        let mut aside = Vec::new();
        let mut buf: Vec<u8> = Vec::with_capacity(self.block + (1 << 20));
        // Each chunk's records, kept from block to block: fresh vectors every block were
        // memory the allocator handed back to the kernel and took again, and every page
        // of it zeroed anew — a sixth of the load's time.
        let mut parts: Vec<Vec<T>> = Vec::new();
        let mut eof = false;
        let threads = rayon::current_num_threads().max(1);
        let mut read = |buf: &mut Vec<u8>, want: usize| -> Result<bool> {
            let got = (&mut f)
                .take(want as u64)
                .read_to_end(buf)
                .map_err(|e| Error::io(&self.path, e))?;
            Ok(got < want)
        };
        loop {
            if !eof {
                let want = self.block.saturating_sub(buf.len());
                eof = read(&mut buf, want)?;
            }
            if buf.is_empty() {
                break;
            }
            let cut = if eof {
                buf.len()
            } else {
                last_row_end(&buf).unwrap_or(0)
            };
            if cut == 0 {
                // A row longer than the block so far: read on before cutting.
                eof = read(&mut buf, self.block)?;
                continue;
            }
            let region = &buf[..cut];
            let chunks = split_rows(region, threads * 4);
            let mut starts = Vec::with_capacity(chunks.len());
            for c in &chunks {
                starts.push(next_line);
                next_line += line_breaks(&region[c.clone()]);
            }
            if parts.len() < chunks.len() {
                parts.resize_with(chunks.len(), Vec::new);
            }
            let parts = &mut parts[..chunks.len()];
            let found: Vec<(Vec<Defect>, Vec<Aside>)> = chunks
                .par_iter()
                .zip(starts.par_iter())
                .zip(parts.par_iter_mut())
                .map(|((range, &first_line), out)| {
                    self.decode_chunk(&region[range.clone()], first_line, &decode, out)
                })
                .collect();
            if records.capacity() == 0 {
                // Size the result from the first block's row density: growing a vector of
                // millions of records by doubling costs more than decoding them.
                let rows: usize = parts.iter().map(Vec::len).sum();
                let estimate = (rows as f64 * file_len as f64 / cut as f64 * 1.02) as usize;
                records.reserve(estimate.max(rows));
            }
            for (r, (d, a)) in parts.iter_mut().zip(found) {
                records.append(r);
                defects.extend(d);
                aside.extend(a);
            }
            buf.drain(..cut);
        }
        Ok((records, defects, aside))
    }

    fn decode_chunk<T>(
        &self,
        bytes: &[u8],
        first_line: u64,
        decode: &(impl Fn(&CsvRow<'_>, &mut RowDefects<'_>) -> Option<T> + Sync),
        records: &mut Vec<T>,
    ) -> (Vec<Defect>, Vec<Aside>) {
        let mut rdr = ::csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut rec = ::csv::ByteRecord::new();
        records.reserve(bytes.len() / 64);
        let mut scratch = Scratch::default();
        let mut lines = LineCounter {
            bytes,
            first_line,
            counted_to: 0,
            newlines: 0,
        };
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = lines.at(e.position().map_or(0, |p| p.byte() as usize));
                    let message =
                        format!("cannot read this row: {e} (expected a well-formed CSV row)");
                    scratch
                        .row(&self.file, line, false)
                        .push(None, Severity::Error, message);
                    continue;
                }
            }
            // A blank line (a trailing newline pair, say) is not a row.
            if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = lines.at(rec.position().map_or(0, |p| p.byte() as usize));
            let mut rd = scratch.row(&self.file, line, self.delimiter == b';');
            if rec.len() != self.width {
                rd.push(
                    None,
                    Severity::Error,
                    format!(
                        "row has {} fields (expected {}, as in the header line)",
                        rec.len(),
                        self.width
                    ),
                );
            }
            if let Some(r) = decode(
                &CsvRow {
                    rec: &rec,
                    table: self,
                },
                &mut rd,
            ) {
                records.push(r);
            }
        }
        (scratch.defects, scratch.aside)
    }
}

/// The longest header line read (a header is column names: megabytes are a wrong file).
const MAX_HEADER: usize = 16 << 20;

/// Unknown columns of a header that are compared with the known ones for a "did you
/// mean".
const MAX_SUGGESTIONS: usize = 100;

/// A header line, judged: where each known column is, which unknown columns are kept.
struct Header {
    known: Vec<Option<usize>>,
    extra: Vec<(usize, Arc<str>)>,
    /// Every column's name (lower case), for "found: …".
    seen: Vec<String>,
    /// Unknown columns so far.
    extra_seen: usize,
    errors: Vec<Defect>,
    warnings: Vec<Defect>,
}

impl Header {
    /// The names found, for a message: the first twenty, and how many more.
    fn found(&self) -> String {
        const SHOWN: usize = 20;
        let mut s = self
            .seen
            .iter()
            .take(SHOWN)
            .map(|n| crate::values::quote(n))
            .collect::<Vec<_>>()
            .join(", ");
        if self.seen.len() > SHOWN {
            s.push_str(&format!(" and {} more", self.seen.len() - SHOWN));
        }
        s
    }
}

/// Checks a header in time linear in its width (issue 12, item 14: a 100,000-column
/// header took minutes when each name was compared with every earlier one).
///
/// A known column twice is an error: which of the two holds the amount is not for
/// dunwell to guess. Everything wrong with an unknown column — twice, no name, a name
/// that is not UTF-8 or too long — only costs that column, with a warning (item 15):
/// it decides neither the amount claimed nor who is contacted.
fn check_header(
    header: &::csv::ByteRecord,
    names: &'static [&'static str],
    keeps_extra: bool,
    file: &Arc<str>,
) -> Header {
    let mut h = Header {
        known: vec![None; names.len()],
        extra: Vec::new(),
        seen: Vec::with_capacity(header.len()),
        extra_seen: 0,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let defect = |column: Option<&'static str>, severity, message| Defect {
        file: file.clone(),
        line: 1,
        column,
        customer_id: None,
        message,
        severity,
    };
    let ignored = if keeps_extra {
        "kept as customer.extra"
    } else {
        "ignored"
    };
    let mut first_at: FxHashMap<String, usize> =
        FxHashMap::with_capacity_and_hasher(header.len(), Default::default());
    for (pos, raw) in header.iter().enumerate() {
        let field = pos + 1;
        let Ok(name) = std::str::from_utf8(raw) else {
            h.seen
                .push(String::from_utf8_lossy(raw).trim().to_ascii_lowercase());
            h.warnings.push(defect(
                None,
                Severity::Warning,
                format!("the name of header field {field} is not valid UTF-8; the column is ignored (expected a UTF-8 encoded file)"),
            ));
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        h.seen.push(name.clone());
        let known = names.iter().position(|n| *n == name);
        match first_at.entry(name) {
            std::collections::hash_map::Entry::Occupied(first) => {
                let twice = format!(
                    "column {} appears twice, as field {} and {field}",
                    crate::values::quote(first.key()),
                    first.get() + 1
                );
                h.warnings.push(match known {
                    _ if first.key().is_empty() => defect(
                        None,
                        Severity::Warning,
                        format!("header field {field} has no name; the column is ignored"),
                    ),
                    Some(k) => defect(
                        Some(names[k]),
                        Severity::Error,
                        format!("{twice} (expected each column once)"),
                    ),
                    None => defect(
                        None,
                        Severity::Warning,
                        format!("{twice}; the second is ignored (expected each column once)"),
                    ),
                });
                continue;
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(pos);
            }
        }
        let name = h.seen.last().expect("pushed above");
        if let Some(k) = known {
            h.known[k] = Some(pos);
        } else if name.is_empty() {
            h.warnings.push(defect(
                None,
                Severity::Warning,
                format!("header field {field} has no name; the column is ignored"),
            ));
        } else if name.len() > MAX_EXTRA_NAME {
            h.warnings.push(defect(
                None,
                Severity::Warning,
                format!(
                    "the name of header field {field} is {} bytes long; the column is ignored (expected a name of at most {MAX_EXTRA_NAME} bytes)",
                    name.len()
                ),
            ));
        } else {
            // A typo is among the first few unknown columns of a header, not the
            // thousandth: comparing each of 100,000 names with every known one costs
            // seconds and finds nothing.
            let close = (h.extra_seen < MAX_SUGGESTIONS)
                .then(|| did_you_mean(name, names.iter().copied()))
                .flatten();
            h.extra_seen += 1;
            if let Some(close) = close {
                h.warnings.push(defect(
                    None,
                    Severity::Warning,
                    format!(
                        "unknown column {} {ignored} — did you mean `{close}`?",
                        crate::values::quote(name)
                    ),
                ));
            }
            if keeps_extra {
                h.extra.push((pos, Arc::from(name.as_str())));
            }
        }
    }
    let (errors, warnings) = std::mem::take(&mut h.warnings)
        .into_iter()
        .partition(Defect::is_error);
    (h.errors, h.warnings) = (errors, warnings);
    h
}

/// Finds the end of a file's first row while it is read in pieces, looking at each
/// byte once: a line break (`\n`, `\r\n` or a lone `\r`, as csv has it) ends the row when
/// the quotes before it are balanced.
#[derive(Default)]
struct RowEndScan {
    scanned: usize,
    quotes: usize,
}

impl RowEndScan {
    /// End (exclusive) of the first row of `bytes`, which only grows between calls.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        let quotes = |b: &[u8]| memchr::memchr_iter(b'"', b).count();
        while let Some(off) = memchr::memchr2(b'\n', b'\r', &bytes[self.scanned..]) {
            let at = self.scanned + off;
            self.quotes += quotes(&bytes[self.scanned..at]);
            if bytes[at] == b'\r' && at + 1 == bytes.len() {
                // A `\r\n` cut in two: decide when the next byte is read.
                self.scanned = at;
                return None;
            }
            self.scanned = at + 1;
            let crlf = bytes[at] == b'\r' && bytes[at + 1] == b'\n';
            if !crlf && self.quotes.is_multiple_of(2) {
                return Some(at + 1);
            }
        }
        self.quotes += quotes(&bytes[self.scanned..]);
        self.scanned = bytes.len();
        None
    }
}

/// Line breaks in `bytes` as csv sees them: `\n`, `\r\n` and a lone `\r` (the line end of
/// old Mac exports) each end a line — counting `\n` only put every row of a CR-only file
/// on line 2, and two rows without a usable id got the same `FILE:LINE` name. A `\r` at
/// the end of `bytes` counts: callers cut after a `\n` or before a record, never inside
/// a `\r\n`.
fn line_breaks(bytes: &[u8]) -> u64 {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
        .count() as u64
}

/// Line numbers from byte offsets. csv's own line count lags by one after a CRLF row
/// (it stops at the `\r`), so lines are counted here, from the bytes.
struct LineCounter<'a> {
    bytes: &'a [u8],
    first_line: u64,
    counted_to: usize,
    newlines: u64,
}

impl LineCounter<'_> {
    /// The line a record starting at byte `start` of the chunk is on; offsets only grow.
    fn at(&mut self, mut start: usize) -> u64 {
        // A record never starts with a line break: csv reports the record after a CRLF
        // (or after blank lines) at the break itself.
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let start = start.min(self.bytes.len()).max(self.counted_to);
        self.newlines += line_breaks(&self.bytes[self.counted_to..start]);
        self.counted_to = start;
        self.first_line + self.newlines
    }
}

/// End (exclusive) of the first row of `bytes`, if a whole row is there.
#[cfg(test)]
fn row_end(bytes: &[u8]) -> Option<usize> {
    RowEndScan::default().feed(bytes)
}

/// End (exclusive) of the last complete row in `bytes`: after the last newline that is
/// not inside a quoted field (an even number of quotes before it; `""` escapes keep the
/// count even). `bytes` starts at a row boundary.
fn last_row_end(bytes: &[u8]) -> Option<usize> {
    let total = memchr::memchr_iter(b'"', bytes).count();
    let mut after = 0usize; // quotes after the candidate newline
    let mut end = bytes.len();
    while let Some(nl) = memchr::memrchr(b'\n', &bytes[..end]) {
        after += memchr::memchr_iter(b'"', &bytes[nl..end]).count();
        if (total - after).is_multiple_of(2) {
            return Some(nl + 1);
        }
        end = nl;
    }
    None
}

/// Cuts `region` (whole rows) into about `n` ranges at row boundaries.
fn split_rows(region: &[u8], n: usize) -> Vec<std::ops::Range<usize>> {
    let target = (region.len() / n.max(1)).max(1 << 16);
    let mut out = Vec::new();
    let mut start = 0;
    let mut quotes = 0usize; // in region[start..pos]
    let mut pos = start;
    while start < region.len() {
        let want = (start + target).min(region.len());
        quotes += memchr::memchr_iter(b'"', &region[pos..want]).count();
        pos = want;
        let mut cut = region.len();
        let mut scan = pos;
        while let Some(off) = memchr::memchr(b'\n', &region[scan..]) {
            let nl = scan + off;
            quotes += memchr::memchr_iter(b'"', &region[scan..nl]).count();
            scan = nl + 1;
            if quotes.is_multiple_of(2) {
                cut = nl + 1;
                break;
            }
        }
        quotes = 0;
        out.push(start..cut);
        start = cut;
        pos = cut;
    }
    out
}

/// `,` or `;`, whichever the header line has more of outside quotes.
fn sniff_delimiter(body: &[u8]) -> u8 {
    let mut in_quotes = false;
    let (mut commas, mut semis) = (0, 0);
    for &b in body {
        match b {
            b'\n' if !in_quotes => break,
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => commas += 1,
            b';' if !in_quotes => semis += 1,
            _ => {}
        }
    }
    if semis > commas { b';' } else { b',' }
}

pub(super) struct CsvRow<'a> {
    rec: &'a ::csv::ByteRecord,
    table: &'a Table,
}

impl Row for CsvRow<'_> {
    fn raw(&self, col: usize) -> Cell<'_> {
        let Some(pos) = self.table.known[col] else {
            return Ok(None);
        };
        let Some(bytes) = self.rec.get(pos) else {
            return Ok(None);
        };
        let s = std::str::from_utf8(bytes).map_err(|_| Bad::Utf8)?.trim();
        Ok((!s.is_empty()).then_some(Cow::Borrowed(s)))
    }

    fn name(&self, col: usize) -> &'static str {
        self.table.names[col]
    }

    fn extras(&self) -> Vec<Extra<'_>> {
        self.table
            .extra
            .iter()
            .filter_map(|(pos, name)| {
                let v = match std::str::from_utf8(self.rec.get(*pos)?) {
                    Ok(v) if v.trim().is_empty() => return None,
                    Ok(v) => Ok(Cow::Borrowed(v.trim())),
                    Err(_) => Err(Bad::Utf8),
                };
                Some((Cow::Borrowed(&**name), v))
            })
            .collect()
    }
}

/// A whole CSV file as a [`Grid`] of text cells, for a table read through a mapping
/// (`load/mapping.rs`): line numbers as the streaming reader counts them.
pub(super) fn read_grid(path: &Path) -> Result<Grid> {
    let file = display(path);
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let fatal = |message: String| {
        Error::Data(vec![Defect {
            file: file.clone(),
            line: 1,
            column: None,
            customer_id: None,
            message,
            severity: Severity::Error,
        }])
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(fatal(
            "the file is empty (expected a header line of column names)".into(),
        ));
    }
    let delimiter = sniff_delimiter(body);
    let mut rdr = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut rec = ::csv::ByteRecord::new();
    rdr.read_byte_record(&mut rec)
        .map_err(|e| fatal(format!("cannot read the header line: {e}")))?;
    let headers: Vec<String> = rec
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let mut lines = LineCounter {
        bytes: body,
        first_line: 1,
        counted_to: 0,
        newlines: 0,
    };
    let mut rows = Vec::new();
    let mut broken = Vec::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = lines.at(e.position().map_or(0, |p| p.byte() as usize));
                broken.push((
                    line,
                    format!("cannot read this row: {e} (expected a well-formed CSV row)"),
                ));
                continue;
            }
        }
        if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = lines.at(rec.position().map_or(0, |p| p.byte() as usize));
        let cells = rec
            .iter()
            .map(|b| match std::str::from_utf8(b) {
                Ok(t) if t.trim().is_empty() => Value::Empty,
                Ok(t) => Value::Text(t.trim().to_string()),
                Err(_) => Value::NotUtf8,
            })
            .collect();
        let problem = (rec.len() != headers.len()).then(|| {
            format!(
                "row has {} fields (expected {}, as in the header line)",
                rec.len(),
                headers.len()
            )
        });
        rows.push(GridRow {
            line,
            cells,
            problem,
        });
    }
    Ok(Grid {
        file,
        header_line: 1,
        headers,
        rows,
        system: DateSystem::Text,
        comma_decimal: delimiter == b';',
        unit: "line",
        broken,
    })
}

#[cfg(test)]
mod tests {
    use super::Table;
    use super::*;
    use crate::load::testing::*;

    /// Issue 12, item 14: a 100,000-column header took 159 s in a debug build, because
    /// every name was compared with every earlier one. Linear now: well under a second
    /// (the bound is loose so that a loaded machine does not fail it; quadratic
    /// behaviour misses it by two orders of magnitude).
    #[test]
    fn a_wide_header_is_checked_in_linear_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("customer_id,name");
        for i in 0..100_000 {
            text.push_str(&format!(",extra_column_{i}"));
        }
        text.push_str("\nC1,Name\n");
        let path = write(&dir, "customers.csv", &text);
        let t = std::time::Instant::now();
        let table = Table::open(&path, CUSTOMER_COLS, CUSTOMER_REQUIRED, true).unwrap();
        let took = t.elapsed();
        assert_eq!(table.extra.len(), 100_000);
        assert_eq!(table.known[cc::NAME], Some(1));
        assert!(took.as_secs_f64() < 3.0, "took {took:?}");
    }

    #[test]
    fn the_header_is_found_across_reads() {
        let text = b"a,\"b\nc\",d\r\n1,2,3\n";
        assert_eq!(row_end(text), Some(11));
        let mut scan = RowEndScan::default();
        let found: Vec<Option<usize>> = (1..=text.len()).map(|n| scan.feed(&text[..n])).collect();
        assert_eq!(found.iter().flatten().next(), Some(&11));
        assert!(found[..10].iter().all(Option::is_none));
    }

    /// A file with old Mac line ends (a lone `\r`): each row has its own line, so rows
    /// without a usable id are not all named `FILE:2`.
    #[test]
    fn lone_carriage_returns_end_lines() {
        let v = load_csv("customer_id,name\rC1,Anna\r,Ben\r,Cleo\rC2,Dan\r\nC3,Eve\n");
        assert_eq!(ids(&v), ["C1", "C2", "C3"]);
        let lines: Vec<u64> = v.dataset.customers.iter().map(|c| c.line).collect();
        assert_eq!(lines, [2, 5, 6]);
        assert_eq!(
            v.rejected_customers
                .iter()
                .map(|r| r.rsplit(':').next().unwrap())
                .collect::<Vec<_>>(),
            ["3", "4"]
        );
        let mut scan = RowEndScan::default();
        assert_eq!(scan.feed(b"a,b\r"), None, "wait for a possible \\n");
        assert_eq!(scan.feed(b"a,b\r1"), Some(4));
        assert_eq!(line_breaks(b"a\rb\r\nc\n\rd\r"), 5);
    }

    /// Blank lines after the header are lines: the rows after them keep their numbers.
    #[test]
    fn blank_lines_after_the_header_count() {
        for (text, want) in [
            ("customer_id,name\n\n\nC1,A\n,B\n", [4, 5]),
            ("customer_id,name\r\n\r\nC1,A\r\n,B\r\n", [3, 4]),
            ("customer_id,name\r\rC1,A\r,B", [3, 4]),
            ("customer_id,name\nC1,A\n\n,B\n", [2, 4]),
        ] {
            let v = load_csv(text);
            assert_eq!(v.dataset.customers[0].line, want[0], "{text:?}");
            assert!(
                v.rejected_customers[0].ends_with(&format!(":{}", want[1])),
                "{text:?}: {:?}",
                v.rejected_customers
            );
        }
    }

    /// Issue 12, item 15: what is wrong with an unknown column costs that column only.
    #[test]
    fn broken_unknown_columns_only_warn() {
        let v = load_csv(
            b"customer_id,name,Notes,notes,,\xff\xfe,credit_limit\nC1,Anna,a,b,c,d,5e+05\n"
                .as_slice(),
        );
        assert_eq!(ids(&v), ["C1"]);
        assert_eq!(
            v.dataset.customers[0].credit_limit,
            Some(Decimal::from(500_000))
        );
        assert_eq!(
            v.dataset.customers[0].extras().collect::<Vec<_>>(),
            [("notes", "a")]
        );
        let w = defects(&v, Severity::Warning);
        assert!(w.iter().any(|(l, _, m)| *l == 1 && m == "column `notes` appears twice, as field 3 and 4; the second is ignored (expected each column once)"), "{w:?}");
        assert!(
            w.iter()
                .any(|(_, _, m)| m == "header field 5 has no name; the column is ignored"),
            "{w:?}"
        );
        assert!(
            w.iter().any(|(_, _, m)| m.starts_with(
                "the name of header field 6 is not valid UTF-8; the column is ignored"
            )),
            "{w:?}"
        );
        // A known column twice is still an error: which one holds the name?
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "customers.csv", "customer_id,name,NAME\nC1,a,b\n");
        let Err(Error::Data(e)) = Table::open(&path, CUSTOMER_COLS, CUSTOMER_REQUIRED, true) else {
            panic!("a known column twice is accepted");
        };
        assert_eq!(
            e[0].message,
            "column `name` appears twice, as field 2 and 3 (expected each column once)"
        );
    }

    #[test]
    fn delimiter_sniffing_ignores_quoted() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1,2;3"), b';');
        assert_eq!(sniff_delimiter(b"\"x;y;z\",b\n"), b',');
    }

    /// Line numbers survive block and chunk boundaries, quoted newlines and a BOM.
    #[test]
    fn lines_are_exact_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.csv");
        let mut text = String::from("\u{feff}customer_id,date,channel,kind,reference,note\r\n");
        let mut expected = Vec::new();
        let mut line = 2;
        for i in 0..500 {
            expected.push((line, format!("C{i}")));
            if i % 7 == 0 {
                text.push_str(&format!("C{i},2026-01-01,email,replied,,\"a note\nover two lines, with \"\"quotes\"\"\"\r\n"));
                line += 2;
            } else {
                text.push_str(&format!("C{i},2026-01-01,email,replied,,\r\n"));
                line += 1;
            }
        }
        std::fs::write(&path, text).unwrap();
        for block in [64, 100, 1000, BLOCK] {
            let mut t = Table::open(&path, EVENT_COLS, EVENT_REQUIRED, false).unwrap();
            t.block = block;
            let (rows, defects, _) = t
                .decode(|row, rd| {
                    Some((
                        rd.line,
                        row.raw(ec::CUSTOMER).unwrap().unwrap().into_owned(),
                    ))
                })
                .unwrap();
            assert!(defects.is_empty(), "{defects:?}");
            assert_eq!(rows, expected, "block of {block} bytes");
        }
    }

    #[test]
    fn rows_are_cut_outside_quotes() {
        let text = b"1,\"a\nb\",x\n2,c,y\n3,\"d\ne\",z\n";
        assert_eq!(last_row_end(text), Some(text.len()));
        assert_eq!(last_row_end(&text[..20]), Some(16));
        assert_eq!(last_row_end(&text[..8]), None);
        assert_eq!(row_end(text), Some(10));
        // Chunks always end on a row boundary, however small the target.
        let big: Vec<u8> = text.repeat(20_000);
        let chunks = split_rows(&big, 16);
        assert!(chunks.len() > 1);
        assert_eq!(chunks.last().unwrap().end, big.len());
        for c in &chunks {
            assert_eq!(memchr::memchr_iter(b'"', &big[c.clone()]).count() % 2, 0);
            assert_eq!(big[c.end - 1], b'\n');
        }
    }
}
