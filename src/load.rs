//! Reading the export: CSV files (UTF-8 with or without BOM, `,` or `;`, CRLF or LF,
//! case-insensitive headers) or one NDJSON file of nested customer records.
//!
//! Every row is decoded into typed records here, and every defect of a single row is
//! recorded with its file, line and column. Nothing is dropped silently: a row that
//! cannot be decoded becomes a [`Defect`] that names its customer, and `validate`
//! quarantines that customer. Only a file that cannot be read as a table at all (empty,
//! no header, a required column missing) stops the run.
//!
//! Large files are read in blocks and each block is cut at row boundaries into chunks
//! decoded in parallel; results are put back in file order, so the outcome does not
//! depend on the thread count. Memory holds one block per file, not the file.

use crate::campaign::{DataSpec, parse_date};
use crate::dataset::*;
use crate::diag::{Defect, Error, Result, Severity, did_you_mean};
use crate::money::{Currency, parse_amount};
use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

/// The export as read, before cross-row decisions (who is quarantined) are made.
#[derive(Debug, Default)]
pub struct Loaded {
    pub customers: Vec<Customer>,
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub events: Vec<Event>,
    /// Errors and warnings of every row, in file order per file.
    pub defects: Vec<Defect>,
    /// Rows of the customers file that name no usable id: customers all the same.
    pub unidentified_customers: Vec<(Arc<str>, u64)>,
    /// Open amounts of invoice rows naming a customer the customers file does not have,
    /// so totals still reconcile.
    pub orphan_invoices: Vec<(Currency, Decimal)>,
    pub sources: Sources,
}

/// Years outside this window are typing errors (9999-12-31 placeholders, 0202 for 2020).
const YEARS: std::ops::RangeInclusive<i32> = 1970..=2099;

/// Bytes read per block; each block is decoded by all threads at once.
const BLOCK: usize = 32 << 20;

/// Column positions in each table's list of known columns; decoders use these names.
macro_rules! columns {
    ($list:ident, $module:ident { $($c:ident = $name:literal),+ $(,)? }) => {
        const $list: &[&str] = &[$($name),+];
        #[allow(dead_code)]
        mod $module {
            columns!(@idx 0usize, $($c),+);
        }
    };
    (@idx $n:expr, $c:ident $(, $rest:ident)*) => {
        pub const $c: usize = $n;
        columns!(@idx $n + 1usize $(, $rest)*);
    };
    (@idx $n:expr) => {};
}

columns!(CUSTOMER_COLS, cc {
    ID = "customer_id", NAME = "name", KIND = "kind", EMAIL = "email", PHONE = "phone",
    ADDRESS1 = "address_line1", ADDRESS2 = "address_line2", POSTAL = "postal_code", CITY = "city",
    REGION = "region", COUNTRY = "country", LANGUAGE = "language", TIMEZONE = "timezone",
    CONSENT_EMAIL = "consent_email", CONSENT_SMS = "consent_sms", CONSENT_LETTER = "consent_letter",
    HOLD = "hold", CREDIT_LIMIT = "credit_limit",
});
const CUSTOMER_REQUIRED: &[usize] = &[cc::ID, cc::NAME];

columns!(INVOICE_COLS, ic {
    ID = "invoice_id", CUSTOMER = "customer_id", ISSUE = "issue_date", DUE = "due_date", AMOUNT = "amount",
    CURRENCY = "currency", PAID = "amount_paid", STATUS = "status", DISPUTED = "disputed",
});
const INVOICE_REQUIRED: &[usize] = &[
    ic::ID,
    ic::CUSTOMER,
    ic::ISSUE,
    ic::DUE,
    ic::AMOUNT,
    ic::CURRENCY,
];

columns!(PAYMENT_COLS, pc {
    ID = "payment_id", CUSTOMER = "customer_id", INVOICE = "invoice_id", DATE = "date", AMOUNT = "amount",
    METHOD = "method", STATUS = "status",
});
const PAYMENT_REQUIRED: &[usize] = &[pc::ID, pc::CUSTOMER, pc::DATE, pc::AMOUNT];

columns!(EVENT_COLS, ec {
    CUSTOMER = "customer_id", DATE = "date", CHANNEL = "channel", KIND = "kind", REFERENCE = "reference", NOTE = "note",
});
const EVENT_REQUIRED: &[usize] = &[ec::CUSTOMER, ec::DATE, ec::CHANNEL, ec::KIND];

/// Reads the whole dataset a campaign names.
pub fn load(spec: &DataSpec) -> Result<Loaded> {
    match spec {
        DataSpec::Csv {
            customers,
            invoices,
            payments,
            events,
        } => assemble(&CsvSource::open(
            customers,
            invoices,
            payments.as_deref(),
            events.as_deref(),
        )?),
        DataSpec::Ndjson { ndjson } => assemble(&NdjsonSource::open(ndjson)?),
    }
}

fn display(path: &Path) -> Arc<str> {
    Arc::from(path.display().to_string())
}

/// What payments are decoded against: they name their customer and their invoice.
struct Links<'a> {
    customers: &'a CustomerIndex<'a>,
    customer_list: &'a [Customer],
    invoice_index: &'a FxHashMap<&'a str, u32>,
    invoices: &'a [Invoice],
}

/// Where rows come from — CSV tables or NDJSON lines. Each method decodes one kind of
/// record, in file order, with the defects and asides of its rows.
trait Source: Sync {
    fn sources(&self) -> Sources;
    fn customers(&self) -> Result<Decoded<Customer>>;
    fn invoices(&self, customers: &CustomerIndex) -> Result<Decoded<Invoice>>;
    fn payments(&self, links: &Links) -> Result<Option<Decoded<Payment>>>;
    fn events(&self, customers: &CustomerIndex) -> Result<Option<Decoded<Event>>>;
}

/// Decodes every table and links them: duplicates out, ids indexed once, events decoded
/// while payments are linked so that the single-threaded parts of one overlap the other.
fn assemble(source: &impl Source) -> Result<Loaded> {
    let mut out = Loaded {
        sources: source.sources(),
        ..Loaded::default()
    };
    let cust_file = out.sources.customers.clone();
    let inv_file = out.sources.invoices.clone();
    let pay_file = out
        .sources
        .payments
        .clone()
        .unwrap_or_else(|| inv_file.clone());

    let (mut customers, defects, aside) = source.customers()?;
    out.defects.extend(defects);
    out.take_aside(aside, &cust_file);
    let by_id = match unique_index(&customers, Customer::id) {
        Ok(by_id) => by_id,
        Err(dups) => {
            let describe = |c: &Customer| (Box::from(c.id()), c.line, Box::from(c.id()));
            drop_duplicates(
                &mut customers,
                &dups,
                (&cust_file, "customer_id"),
                describe,
                &mut out.defects,
            );
            unique_index(&customers, Customer::id).expect("duplicates were removed")
        }
    };
    let index = CustomerIndex { by_id };
    let owner_id = |customer: u32| Box::<str>::from(customers[customer as usize].id());

    let (mut invoices, defects, aside) = source.invoices(&index)?;
    out.defects.extend(defects);
    out.take_aside(aside, &inv_file);
    let invoice_index = match unique_index(&invoices, |i| &i.id) {
        Ok(by_id) => by_id,
        Err(dups) => {
            let describe = |i: &Invoice| (i.id.clone(), i.line, owner_id(i.customer));
            drop_duplicates(
                &mut invoices,
                &dups,
                (&inv_file, "invoice_id"),
                describe,
                &mut out.defects,
            );
            unique_index(&invoices, |i| &i.id).expect("duplicates were removed")
        }
    };

    let links = Links {
        customers: &index,
        customer_list: &customers,
        invoice_index: &invoice_index,
        invoices: &invoices,
    };
    let (payments, events) = rayon::join(
        || -> Result<Option<(Vec<Payment>, Vec<Defect>)>> {
            let Some((mut payments, mut defects, _)) = source.payments(&links)? else {
                return Ok(None);
            };
            if let Err(dups) = unique_index(&payments, |p| &p.id) {
                let describe = |p: &Payment| (p.id.clone(), p.line, owner_id(p.customer));
                drop_duplicates(
                    &mut payments,
                    &dups,
                    (&pay_file, "payment_id"),
                    describe,
                    &mut defects,
                );
            }
            Ok(Some((payments, defects)))
        },
        || source.events(&index),
    );
    if let Some((payments, defects)) = payments? {
        out.defects.extend(defects);
        out.payments = payments;
    }
    if let Some((events, defects, _)) = events? {
        out.defects.extend(defects);
        out.events = events;
    }
    out.customers = customers;
    out.invoices = invoices;
    Ok(out)
}

/// The CSV files of an export, headers checked.
struct CsvSource {
    customers: Table,
    invoices: Table,
    payments: Option<Table>,
    events: Option<Table>,
}

impl CsvSource {
    /// Opens every file and checks every header before any row is decoded, so a
    /// missing column in events.csv is reported before a minute spent on customers.
    fn open(
        customers: &Path,
        invoices: &Path,
        payments: Option<&Path>,
        events: Option<&Path>,
    ) -> Result<Self> {
        Ok(CsvSource {
            customers: Table::open(customers, CUSTOMER_COLS, CUSTOMER_REQUIRED, true)?,
            invoices: Table::open(invoices, INVOICE_COLS, INVOICE_REQUIRED, false)?,
            payments: payments
                .map(|p| Table::open(p, PAYMENT_COLS, PAYMENT_REQUIRED, false))
                .transpose()?,
            events: events
                .map(|p| Table::open(p, EVENT_COLS, EVENT_REQUIRED, false))
                .transpose()?,
        })
    }
}

impl Source for CsvSource {
    fn sources(&self) -> Sources {
        Sources {
            customers: self.customers.file.clone(),
            invoices: self.invoices.file.clone(),
            payments: self.payments.as_ref().map(|t| t.file.clone()),
            events: self.events.as_ref().map(|t| t.file.clone()),
        }
    }

    fn customers(&self) -> Result<Decoded<Customer>> {
        self.customers.decode(|row, rd| decode_customer(row, rd))
    }

    fn invoices(&self, customers: &CustomerIndex) -> Result<Decoded<Invoice>> {
        self.invoices
            .decode(|row, rd| decode_invoice(row, rd, customers))
    }

    fn payments(&self, links: &Links) -> Result<Option<Decoded<Payment>>> {
        self.payments
            .as_ref()
            .map(|t| t.decode(|row, rd| decode_payment(row, rd, links)))
            .transpose()
    }

    fn events(&self, customers: &CustomerIndex) -> Result<Option<Decoded<Event>>> {
        self.events
            .as_ref()
            .map(|t| t.decode(|row, rd| decode_event(row, rd, customers)))
            .transpose()
    }
}

/// Id → position of every record, when the ids are unique; otherwise the duplicates as
/// (position, position of the first record with that id).
fn unique_index<'a, T>(
    items: &'a [T],
    id: impl Fn(&'a T) -> &'a str,
) -> std::result::Result<FxHashMap<&'a str, u32>, Vec<(usize, usize)>> {
    let mut index: FxHashMap<&str, u32> =
        FxHashMap::with_capacity_and_hasher(items.len(), Default::default());
    let mut dups = Vec::new();
    for (k, it) in items.iter().enumerate() {
        if let Some(&first) = index.get(id(it)) {
            dups.push((k, first as usize));
        } else {
            index.insert(id(it), k as u32);
        }
    }
    if dups.is_empty() {
        Ok(index)
    } else {
        Err(dups)
    }
}

/// Reports the duplicates `unique_index` found against their customers and removes them
/// (the first record of an id stays; which of two rows is right is for a person to
/// decide, and the customer is quarantined).
/// `describe` gives a record's id, line and customer id.
fn drop_duplicates<T>(
    items: &mut Vec<T>,
    dups: &[(usize, usize)],
    (file, column): (&Arc<str>, &'static str),
    describe: impl Fn(&T) -> (Box<str>, u64, Box<str>),
    defects: &mut Vec<Defect>,
) {
    for &(k, first) in dups {
        let (id, line, customer) = describe(&items[k]);
        defects.push(Defect {
            file: file.clone(),
            line,
            column: Some(column),
            customer_id: Some(customer),
            message: format!(
                "duplicate {column} `{id}`, first on line {} (expected each {} once)",
                describe(&items[first]).1,
                column.trim_end_matches("_id")
            ),
            severity: Severity::Error,
        });
    }
    let mut k = 0;
    let mut next = dups.iter().map(|d| d.0).peekable();
    items.retain(|_| {
        let drop_it = next.peek() == Some(&k);
        if drop_it {
            next.next();
        }
        k += 1;
        !drop_it
    });
}

impl Loaded {
    fn take_aside(&mut self, aside: Vec<Aside>, file: &Arc<str>) {
        for a in aside {
            match a {
                Aside::Unidentified(line) => self.unidentified_customers.push((file.clone(), line)),
                Aside::Orphan(cur, open) => self.orphan_invoices.push((cur, open)),
            }
        }
    }
}

/// Customer id → index. Built after duplicates are removed, so each id is there once.
struct CustomerIndex<'c> {
    by_id: FxHashMap<&'c str, u32>,
}

impl CustomerIndex<'_> {
    fn get(&self, id: &str) -> Option<u32> {
        self.by_id.get(id).copied()
    }
}

// ---------------------------------------------------------------------------------------
// Tables

/// Records, defects and asides of a table or chunk, in file order.
type Decoded<T> = (Vec<T>, Vec<Defect>, Vec<Aside>);

/// A CSV file whose header has been read and checked.
struct Table {
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
    fn open(
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
        // The header is in the first few kilobytes; read until a newline outside quotes.
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 64 << 10];
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
            head.extend_from_slice(&buf[..n]);
            if n == 0 || row_end(&head).is_some() || head.len() > 16 << 20 {
                break;
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
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut header = csv::ByteRecord::new();
        rdr.read_byte_record(&mut header)
            .map_err(|e| fatal(None, format!("cannot read the header line: {e}")))?;
        // After a CRLF header csv stops at the `\n`: skip it, so rows start on line 2.
        let after = rdr.position().byte() as usize;
        let data_start = (bom
            + after
            + body[after..]
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count()) as u64;
        let mut known = vec![None; names.len()];
        let mut extra = Vec::new();
        let mut header_warnings = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (pos, raw) in header.iter().enumerate() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| {
                    fatal(
                        None,
                        format!(
                            "header field {} is not valid UTF-8 (expected a UTF-8 encoded file)",
                            pos + 1
                        ),
                    )
                })?
                .trim()
                .to_ascii_lowercase();
            if let Some(first) = seen.iter().position(|s| *s == name) {
                return Err(fatal(
                    None,
                    format!(
                        "column `{name}` appears twice, as field {} and {} (expected each column once)",
                        first + 1,
                        pos + 1
                    ),
                ));
            }
            seen.push(name.clone());
            match names.iter().position(|n| *n == name) {
                Some(k) => known[k] = Some(pos),
                None => {
                    if let Some(close) = did_you_mean(&name, names.iter().copied()) {
                        header_warnings.push(Defect {
                            file: file.clone(),
                            line: 1,
                            column: None,
                            customer_id: None,
                            message: format!(
                                "unknown column `{name}` {} — did you mean `{close}`?",
                                if keeps_extra {
                                    "kept as customer.extra"
                                } else {
                                    "ignored"
                                }
                            ),
                            severity: Severity::Warning,
                        });
                    }
                    if keeps_extra {
                        extra.push((pos, Arc::from(name.as_str())));
                    }
                }
            }
        }
        let missing: Vec<Defect> = required
            .iter()
            .filter(|&&r| known[r].is_none())
            .map(|&r| Defect {
                file: file.clone(),
                line: 1,
                column: Some(names[r]),
                customer_id: None,
                message: format!(
                    "required column is missing (expected a header named `{}`; found: {})",
                    names[r],
                    seen.join(", ")
                ),
                severity: Severity::Error,
            })
            .collect();
        if !missing.is_empty() {
            return Err(Error::Data(missing));
        }
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
    fn decode<T: Send>(
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
                next_line += memchr::memchr_iter(b'\n', &region[c.clone()]).count() as u64;
            }
            let parts: Vec<Decoded<T>> = chunks
                .par_iter()
                .zip(starts.par_iter())
                .map(|(range, &first_line)| {
                    self.decode_chunk(&region[range.clone()], first_line, &decode)
                })
                .collect();
            if records.capacity() == 0 {
                // Size the result from the first block's row density: growing a vector of
                // millions of records by doubling costs more than decoding them.
                let rows: usize = parts.iter().map(|p| p.0.len()).sum();
                let estimate = (rows as f64 * file_len as f64 / cut as f64 * 1.02) as usize;
                records.reserve(estimate.max(rows));
            }
            for (r, d, a) in parts {
                records.extend(r);
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
    ) -> Decoded<T> {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut rec = csv::ByteRecord::new();
        let mut records = Vec::with_capacity(bytes.len() / 64);
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
        (records, scratch.defects, scratch.aside)
    }
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
        self.newlines +=
            memchr::memchr_iter(b'\n', &self.bytes[self.counted_to..start]).count() as u64;
        self.counted_to = start;
        self.first_line + self.newlines
    }
}

/// End (exclusive) of the first row of `bytes`, if a whole row is there.
fn row_end(bytes: &[u8]) -> Option<usize> {
    let mut quotes = 0usize;
    let mut from = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        quotes += memchr::memchr_iter(b'"', &bytes[from..nl]).count();
        from = nl;
        if quotes.is_multiple_of(2) {
            return Some(nl + 1);
        }
    }
    None
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

// ---------------------------------------------------------------------------------------
// Rows: CSV and NDJSON look the same to the decoders.

trait Row {
    /// The trimmed value of known column `col`; `None` when the column is absent or the
    /// cell is empty. `Err` when the bytes are not UTF-8.
    fn raw(&self, col: usize) -> std::result::Result<Option<Cow<'_, str>>, ()>;
    fn name(&self, col: usize) -> &'static str;
    /// Unknown columns (lower-case name, value), for `customer.extra`.
    fn extras(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)>;
}

struct CsvRow<'a> {
    rec: &'a csv::ByteRecord,
    table: &'a Table,
}

impl Row for CsvRow<'_> {
    fn raw(&self, col: usize) -> std::result::Result<Option<Cow<'_, str>>, ()> {
        let Some(pos) = self.table.known[col] else {
            return Ok(None);
        };
        let Some(bytes) = self.rec.get(pos) else {
            return Ok(None);
        };
        let s = std::str::from_utf8(bytes).map_err(|_| ())?.trim();
        Ok((!s.is_empty()).then_some(Cow::Borrowed(s)))
    }

    fn name(&self, col: usize) -> &'static str {
        self.table.names[col]
    }

    fn extras(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.table
            .extra
            .iter()
            .filter_map(|(pos, name)| {
                let v = std::str::from_utf8(self.rec.get(*pos)?).ok()?.trim();
                (!v.is_empty()).then_some((Cow::Borrowed(&**name), Cow::Borrowed(v)))
            })
            .collect()
    }
}

/// Collects the defects of one row, attributing them to its customer.
struct RowDefects<'a> {
    file: &'a Arc<str>,
    line: u64,
    /// The row's customer id once known (a reused buffer: no allocation per row).
    owner: &'a mut String,
    /// The previous row's customer, to skip the index lookup.
    cache: &'a mut OwnerCache,
    out: &'a mut Vec<Defect>,
    /// What a row yields besides a record (orphan amounts, unidentified customers).
    aside: &'a mut Vec<Aside>,
    comma_decimal: bool,
    /// Errors recorded for this row so far: a row with any is not turned into a record.
    errors: usize,
}

/// What the rows of one chunk share: their defects and asides, and reused buffers.
#[derive(Default)]
struct Scratch {
    defects: Vec<Defect>,
    aside: Vec<Aside>,
    owner: String,
    cache: OwnerCache,
}

impl Scratch {
    /// The defect collector for the row at `line`.
    fn row<'a>(&'a mut self, file: &'a Arc<str>, line: u64, comma_decimal: bool) -> RowDefects<'a> {
        self.owner.clear();
        RowDefects {
            file,
            line,
            owner: &mut self.owner,
            cache: &mut self.cache,
            out: &mut self.defects,
            aside: &mut self.aside,
            comma_decimal,
            errors: 0,
        }
    }
}

#[derive(Default)]
struct OwnerCache {
    id: String,
    index: Option<u32>,
}

/// Rows that are not records but still count in the totals.
enum Aside {
    /// A customers row without a usable id: a customer nobody can name, rejected as `FILE:LINE`.
    Unidentified(u64),
    /// An open invoice of a customer the customers file does not have.
    Orphan(Currency, Decimal),
}

impl RowDefects<'_> {
    fn push(&mut self, column: Option<&'static str>, severity: Severity, message: String) {
        if severity == Severity::Error {
            self.errors += 1;
        }
        self.out.push(Defect {
            file: self.file.clone(),
            line: self.line,
            column,
            customer_id: (!self.owner.is_empty()).then(|| Box::from(self.owner.as_str())),
            message,
            severity,
        });
    }

    fn error(&mut self, col: &'static str, message: String) {
        self.push(Some(col), Severity::Error, message);
    }

    /// Later defects of this row name `id`, and so do those already recorded for it
    /// (a wrong field count is found before the id is read).
    fn set_customer(&mut self, id: &str) {
        self.owner.clear();
        self.owner.push_str(id);
        let (line, file) = (self.line, self.file);
        for d in self
            .out
            .iter_mut()
            .rev()
            .take_while(|d| d.line == line && Arc::ptr_eq(&d.file, file))
        {
            if d.customer_id.is_none() {
                d.customer_id = Some(Box::from(id));
            }
        }
    }

    fn text<'r>(&mut self, row: &'r impl Row, col: usize) -> Option<Cow<'r, str>> {
        match row.raw(col) {
            Ok(v) => v,
            Err(()) => {
                self.error(
                    row.name(col),
                    "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8)".into(),
                );
                None
            }
        }
    }

    fn required<'r>(&mut self, row: &'r impl Row, col: usize, what: &str) -> Option<Cow<'r, str>> {
        let v = self.text(row, col);
        if v.is_none() && row.raw(col).is_ok() {
            self.error(row.name(col), format!("is empty (expected {what})"));
        }
        v
    }

    fn parse<T>(
        &mut self,
        row: &impl Row,
        col: usize,
        f: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        let v = self.text(row, col)?;
        match f(&v) {
            Ok(x) => Some(x),
            Err(msg) => {
                self.error(row.name(col), msg);
                None
            }
        }
    }

    fn date(&mut self, row: &impl Row, col: usize, required: bool) -> Option<NaiveDate> {
        if required {
            self.required(row, col, "a date such as 2026-03-31")?;
        }
        self.parse(row, col, plausible_date)
    }

    fn boolean(&mut self, row: &impl Row, col: usize) -> Option<bool> {
        self.parse(row, col, parse_bool)
    }
}

fn plausible_date(text: &str) -> std::result::Result<NaiveDate, String> {
    let d = parse_date(text)?;
    if !YEARS.contains(&d.year()) {
        return Err(format!(
            "`{text}` is implausible (expected a year between {} and {})",
            YEARS.start(),
            YEARS.end()
        ));
    }
    Ok(d)
}

fn parse_bool(text: &str) -> std::result::Result<bool, String> {
    let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(text));
    if is(&["true", "yes", "y", "1"]) {
        Ok(true)
    } else if is(&["false", "no", "n", "0"]) {
        Ok(false)
    } else {
        Err(format!(
            "`{text}` is not a yes/no value (expected true or false)"
        ))
    }
}

/// Ids end up in file names (letters, payment pages) and URLs: no separators, no `..`,
/// no control characters.
pub fn check_id(text: &str) -> std::result::Result<(), String> {
    if text.chars().count() > 128 {
        return Err("is longer than 128 characters (expected a short identifier)".into());
    }
    if text.contains(['/', '\\']) || text.contains("..") {
        return Err(format!(
            "`{}` contains `/`, `\\` or `..` (expected an identifier without path separators)",
            text.escape_debug()
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "`{}` contains control characters (expected printable characters only)",
            text.escape_debug()
        ));
    }
    Ok(())
}

/// Invisible characters that change how text around them reads or compares: bidi
/// controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) and zero-width
/// characters (U+200B–U+200D, U+2060, U+FEFF).
pub fn is_format_control(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}'
        | '\u{061C}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// An E.164 number (`+48601234567`); spaces, dashes, dots and parentheses are allowed
/// between digits and removed.
pub fn normalise_phone(text: &str) -> std::result::Result<String, String> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
        && (7..=15).contains(&digits.len());
    if ok {
        Ok(compact)
    } else {
        Err(format!(
            "`{text}` is not a phone number in E.164 form (expected + country code and number, e.g. +48601234567); SMS is excluded for this customer"
        ))
    }
}

/// A BCP 47 tag whose language is a real ISO 639 language and whose region, if any, a
/// real country: `en`, `pl`, `zh-Hant`, `en-GB`, `es-419`.
pub fn check_language(text: &str) -> std::result::Result<Box<str>, String> {
    let tag = text.replace('_', "-");
    let bad = || {
        format!(
            "unknown language tag `{text}` (expected a BCP 47 tag such as en, it, pl, ro, lv, ja, zh, zh-Hant, en-GB)"
        )
    };
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or("").to_ascii_lowercase();
    let known = match lang.len() {
        2 => isolang::Language::from_639_1(&lang).is_some(),
        3 => isolang::Language::from_639_3(&lang).is_some(),
        _ => false,
    };
    if !known || !lang.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(bad());
    }
    for sub in parts {
        let ok = match sub.len() {
            4 => sub.bytes().all(|b| b.is_ascii_alphabetic()),
            2 => isocountry::CountryCode::for_alpha2(&sub.to_ascii_uppercase()).is_ok(),
            3 => sub.bytes().all(|b| b.is_ascii_digit()),
            5..=8 => sub.bytes().all(|b| b.is_ascii_alphanumeric()),
            _ => false,
        };
        if !ok {
            return Err(bad());
        }
    }
    Ok(tag.into_boxed_str())
}

fn check_country(text: &str) -> std::result::Result<Box<str>, String> {
    let up = text.to_ascii_uppercase();
    isocountry::CountryCode::for_alpha2(&up)
        .map(|_| up.into_boxed_str())
        .map_err(|_| {
            format!(
                "unknown country `{text}` (expected an ISO 3166-1 alpha-2 code such as IT, PL, JP)"
            )
        })
}

fn check_timezone(text: &str) -> std::result::Result<chrono_tz::Tz, String> {
    chrono_tz::Tz::from_str(text).map_err(|_| {
        let hint = did_you_mean(text, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()))
            .map(|s| format!(" — did you mean `{s}`?"))
            .unwrap_or_default();
        format!("unknown time zone `{text}` (expected an IANA name such as Europe/Warsaw, Asia/Tokyo){hint}")
    })
}

// ---------------------------------------------------------------------------------------

fn id_field<'r>(
    rd: &mut RowDefects<'_>,
    row: &'r impl Row,
    col: usize,
    what: &str,
) -> Option<Cow<'r, str>> {
    let v = rd.required(row, col, what)?;
    match check_id(&v) {
        Ok(()) => Some(v),
        Err(msg) => {
            rd.error(row.name(col), msg);
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Decoders: one row → one record, or defects.

fn decode_customer(row: &impl Row, rd: &mut RowDefects<'_>) -> Option<Customer> {
    let Some(id) = id_field(rd, row, cc::ID, "the customer's id") else {
        rd.aside.push(Aside::Unidentified(rd.line));
        return None;
    };
    rd.set_customer(&id);
    let comma = rd.comma_decimal;
    let name = rd.required(row, cc::NAME, "the customer's name");
    let country = rd.parse(row, cc::COUNTRY, check_country);
    let language = rd.parse(row, cc::LANGUAGE, check_language);
    let email = rd.text(row, cc::EMAIL);
    let email_ok = email
        .as_deref()
        .is_none_or(email_address::EmailAddress::is_valid);
    if let Some(e) = email.as_deref().filter(|_| !email_ok) {
        rd.push(Some("email"), Severity::Warning, format!("`{e}` is not an e-mail address (expected name@domain); e-mail is excluded for this customer"));
    }
    let raw_phone = rd.text(row, cc::PHONE);
    let phone = match raw_phone.as_deref().map(normalise_phone) {
        Some(Ok(p)) => Some(Cow::Owned(p)),
        Some(Err(msg)) => {
            rd.push(Some("phone"), Severity::Warning, msg);
            raw_phone.clone()
        }
        None => None,
    };
    let (a1, a2, postal, city, region) = (
        rd.text(row, cc::ADDRESS1),
        rd.text(row, cc::ADDRESS2),
        rd.text(row, cc::POSTAL),
        rd.text(row, cc::CITY),
        rd.text(row, cc::REGION),
    );
    let extras = row.extras();
    let mut c = Customer::with_text(
        [
            Some(&*id),
            name.as_deref(),
            email.as_deref(),
            phone.as_deref(),
            a1.as_deref(),
            a2.as_deref(),
            postal.as_deref(),
            city.as_deref(),
            region.as_deref(),
            country.as_deref(),
            language.as_deref(),
        ],
        extras.iter().map(|(k, v)| (&**k, &**v)),
    );
    c.kind = rd.parse(row, cc::KIND, CustomerKind::parse);
    c.timezone = rd.parse(row, cc::TIMEZONE, check_timezone);
    c.consent_email = rd.boolean(row, cc::CONSENT_EMAIL);
    c.consent_sms = rd.boolean(row, cc::CONSENT_SMS);
    c.consent_letter = rd.boolean(row, cc::CONSENT_LETTER);
    c.hold = rd.parse(row, cc::HOLD, Hold::parse);
    c.credit_limit = rd.parse(row, cc::CREDIT_LIMIT, |t| parse_amount(t, None, comma));
    c.invalid_email = !email_ok;
    c.invalid_phone = matches!(raw_phone.as_deref().map(normalise_phone), Some(Err(_)));
    c.line = rd.line;
    Some(c)
}

/// Finds the row's customer; an unknown one is reported (the row is an orphan).
fn owner(
    rd: &mut RowDefects<'_>,
    row: &impl Row,
    col: usize,
    index: &CustomerIndex,
) -> Option<u32> {
    // Exports list a customer's rows together: most rows name the previous row's customer,
    // and a string compare beats a lookup in a table of a million ids.
    if let Ok(Some(raw)) = row.raw(col)
        && let Some(cached) = rd.cache.index.filter(|_| rd.cache.id == *raw)
    {
        rd.set_customer(&raw);
        return Some(cached);
    }
    let id = id_field(rd, row, col, "the id of a customer in the customers file")?;
    rd.set_customer(&id);
    let found = index.get(&id);
    rd.cache.id.clear();
    rd.cache.id.push_str(&id);
    rd.cache.index = found;
    if found.is_none() {
        rd.error(
            row.name(col),
            format!("unknown customer `{id}` (expected a customer_id from the customers file)"),
        );
    }
    found
}

fn decode_invoice(
    row: &impl Row,
    rd: &mut RowDefects<'_>,
    index: &CustomerIndex,
) -> Option<Invoice> {
    let customer = owner(rd, row, ic::CUSTOMER, index);
    let id = id_field(rd, row, ic::ID, "the invoice number");
    let issue = rd.date(row, ic::ISSUE, true);
    let due = rd.date(row, ic::DUE, true);
    let currency = rd
        .required(row, ic::CURRENCY, "an ISO 4217 code such as EUR")
        .and_then(|_| rd.parse(row, ic::CURRENCY, Currency::parse));
    let comma = rd.comma_decimal;
    let amount = rd
        .required(row, ic::AMOUNT, "the invoice amount")
        .and_then(|_| rd.parse(row, ic::AMOUNT, |t| parse_amount(t, currency, comma)));
    let paid = rd
        .parse(row, ic::PAID, |t| parse_amount(t, currency, comma))
        .unwrap_or_default();
    let status = rd
        .parse(row, ic::STATUS, InvoiceStatus::parse)
        .unwrap_or(InvoiceStatus::Open);
    let disputed = rd.boolean(row, ic::DISPUTED).unwrap_or(false);
    if let (Some(i), Some(d)) = (issue, due)
        && d < i
    {
        rd.error("due_date", format!("due date {d} is before the issue date {i} (expected due_date on or after issue_date)"));
    }
    if let Some(a) = amount
        && paid > a
    {
        rd.error(
            "amount_paid",
            format!("{paid} is more than the invoice amount {a} (expected at most the amount)"),
        );
    }
    match (customer, id, issue, due, amount, currency) {
        (
            Some(customer),
            Some(id),
            Some(issue_date),
            Some(due_date),
            Some(amount),
            Some(currency),
        ) if rd.errors == 0 => Some(Invoice {
            id: Box::from(id.as_ref()),
            customer,
            issue_date,
            due_date,
            amount,
            amount_paid: paid,
            currency,
            status,
            disputed,
            line: rd.line,
        }),
        (None, _, _, _, Some(amount), Some(currency)) if status == InvoiceStatus::Open => {
            rd.aside
                .push(Aside::Orphan(currency, (amount - paid).max(Decimal::ZERO)));
            None
        }
        _ => None,
    }
}

fn decode_payment(row: &impl Row, rd: &mut RowDefects<'_>, links: &Links) -> Option<Payment> {
    let (invoice_index, invoices, customers) =
        (links.invoice_index, links.invoices, links.customer_list);
    let customer = owner(rd, row, pc::CUSTOMER, links.customers);
    let id = id_field(rd, row, pc::ID, "the payment reference");
    let mut invoice = None;
    if let (Some(r), Some(payer)) = (rd.text(row, pc::INVOICE), customer) {
        match invoice_index.get(&*r).map(|&k| (k, invoices[k as usize].customer)) {
            Some((k, owner)) if owner == payer => invoice = Some(k),
            Some((_, owner)) => rd.error(
                "invoice_id",
                format!("invoice `{r}` belongs to customer `{}` (expected an invoice of `{}`)", customers[owner as usize].id(), customers[payer as usize].id()),
            ),
            None => rd.push(
                Some("invoice_id"),
                Severity::Warning,
                format!("unknown invoice `{r}`; the payment is counted on account (expected an invoice_id from the invoices file)"),
            ),
        }
    }
    let date = rd.date(row, pc::DATE, true);
    let comma = rd.comma_decimal;
    let amount = rd
        .required(row, pc::AMOUNT, "the amount paid")
        .and_then(|_| rd.parse(row, pc::AMOUNT, |t| parse_amount(t, None, comma)));
    let method = rd
        .parse(row, pc::METHOD, PaymentMethod::parse)
        .unwrap_or(PaymentMethod::Other);
    let status = rd
        .parse(row, pc::STATUS, PaymentStatus::parse)
        .unwrap_or(PaymentStatus::Ok);
    match (customer, id, date, amount) {
        (Some(customer), Some(id), Some(date), Some(amount)) if rd.errors == 0 => Some(Payment {
            id: Box::from(id.as_ref()),
            customer,
            invoice,
            date,
            amount,
            method,
            status,
            line: rd.line,
        }),
        _ => None,
    }
}

fn decode_event(row: &impl Row, rd: &mut RowDefects<'_>, index: &CustomerIndex) -> Option<Event> {
    let customer = owner(rd, row, ec::CUSTOMER, index);
    let date = rd.date(row, ec::DATE, true);
    let channel = rd
        .required(row, ec::CHANNEL, "email, sms, letter, call or web")
        .and_then(|_| rd.parse(row, ec::CHANNEL, Channel::parse));
    let kind = rd
        .required(row, ec::KIND, "an event kind such as reminder_sent")
        .and_then(|_| rd.parse(row, ec::KIND, EventKind::parse));
    let reference = rd.text(row, ec::REFERENCE).map(|v| Box::from(v.as_ref()));
    let note = rd.text(row, ec::NOTE).map(|v| Box::from(v.as_ref()));
    match (customer, date, channel, kind) {
        (Some(customer), Some(date), Some(channel), Some(kind)) if rd.errors == 0 => Some(Event {
            customer,
            date,
            channel,
            kind,
            reference,
            note,
        }),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// NDJSON: one customer per line, with nested `invoices`, `payments`, `events`.

struct JsonRow<'a> {
    obj: &'a serde_json::Map<String, serde_json::Value>,
    /// The customer's id, for nested records that leave it out.
    parent_id: Option<&'a str>,
    keep_extra: bool,
    known: &'static [&'static str],
}

impl Row for JsonRow<'_> {
    fn raw(&self, col: usize) -> std::result::Result<Option<Cow<'_, str>>, ()> {
        use serde_json::Value;
        let name = self.known[col];
        let v = self
            .obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v);
        Ok(match v {
            None | Some(Value::Null) => (name == "customer_id")
                .then(|| self.parent_id.map(Cow::Borrowed))
                .flatten(),
            Some(Value::String(s)) => Some(s.trim()).filter(|s| !s.is_empty()).map(Cow::Borrowed),
            Some(other) => Some(Cow::Owned(other.to_string())),
        })
    }

    fn name(&self, col: usize) -> &'static str {
        self.known[col]
    }

    fn extras(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        if !self.keep_extra {
            return Vec::new();
        }
        let mut v: Vec<(Cow<'_, str>, Cow<'_, str>)> = self
            .obj
            .iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !self.known.contains(&k.as_str())
                    && !matches!(k.as_str(), "invoices" | "payments" | "events")
            })
            .map(|(k, v)| {
                let s = match v {
                    serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
                    other => Cow::Owned(other.to_string()),
                };
                (Cow::Owned(k.to_ascii_lowercase()), s)
            })
            .collect();
        v.sort();
        v
    }
}

type JsonObject = serde_json::Map<String, serde_json::Value>;

/// An NDJSON export, parsed: one customer object per line. NDJSON exports are API
/// dumps, small enough to decode on one thread.
struct NdjsonSource {
    file: Arc<str>,
    /// (line, object) of every line that is a JSON object.
    objects: Vec<(u64, JsonObject)>,
    /// Lines that are not: an error each, and a customer nobody can name.
    unreadable: Vec<(u64, String)>,
}

impl NdjsonSource {
    fn open(path: &Path) -> Result<Self> {
        let file = display(path);
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::Data(vec![Defect {
                file,
                line: 1,
                column: None,
                customer_id: None,
                message: "the file is empty (expected one JSON customer object per line)".into(),
                severity: Severity::Error,
            }]));
        }
        let (mut objects, mut unreadable) = (Vec::new(), Vec::new());
        for (n, raw) in body.split(|&b| b == b'\n').enumerate() {
            let line = n as u64 + 1;
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match std::str::from_utf8(raw)
                .map_err(|_| "is not valid UTF-8 (expected UTF-8 text)".to_string())
                .and_then(|s| {
                    serde_json::from_str(s).map_err(|e| {
                        format!("is not a JSON object: {e} (expected one customer object per line)")
                    })
                }) {
                Ok(obj) => objects.push((line, obj)),
                Err(msg) => unreadable.push((line, msg)),
            }
        }
        Ok(NdjsonSource {
            file,
            objects,
            unreadable,
        })
    }

    /// Decodes the objects under `key` of every customer, in file order.
    fn nested<T>(
        &self,
        key: &'static str,
        known: &'static [&'static str],
        decode: impl Fn(&JsonRow<'_>, &mut RowDefects<'_>) -> Option<T>,
    ) -> Decoded<T> {
        let (mut records, mut scratch) = (Vec::new(), Scratch::default());
        for (line, obj) in &self.objects {
            let parent = obj
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("customer_id"))
                .and_then(|(_, v)| v.as_str());
            let items = obj
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .and_then(|(_, v)| v.as_array());
            for item in items.into_iter().flatten() {
                let mut rd = scratch.row(&self.file, *line, false);
                match item.as_object() {
                    Some(o) => records.extend(decode(
                        &JsonRow {
                            obj: o,
                            parent_id: parent,
                            keep_extra: false,
                            known,
                        },
                        &mut rd,
                    )),
                    None => rd.push(
                        None,
                        Severity::Error,
                        format!("an entry of `{key}` is not an object (expected {{\"...\": ...}})"),
                    ),
                }
            }
        }
        (records, scratch.defects, scratch.aside)
    }
}

impl Source for NdjsonSource {
    fn sources(&self) -> Sources {
        let f = &self.file;
        Sources {
            customers: f.clone(),
            invoices: f.clone(),
            payments: Some(f.clone()),
            events: Some(f.clone()),
        }
    }

    fn customers(&self) -> Result<Decoded<Customer>> {
        let (mut records, mut scratch) = (Vec::new(), Scratch::default());
        // Objects and unreadable lines, back in line order.
        let mut lines: Vec<(u64, Option<&JsonObject>, &str)> = self
            .objects
            .iter()
            .map(|(l, o)| (*l, Some(o), ""))
            .collect();
        lines.extend(
            self.unreadable
                .iter()
                .map(|(l, msg)| (*l, None, msg.as_str())),
        );
        lines.sort_by_key(|l| l.0);
        for (line, obj, msg) in lines {
            let mut rd = scratch.row(&self.file, line, false);
            match obj {
                Some(obj) => {
                    let row = JsonRow {
                        obj,
                        parent_id: None,
                        keep_extra: true,
                        known: CUSTOMER_COLS,
                    };
                    records.extend(decode_customer(&row, &mut rd));
                }
                None => {
                    rd.push(None, Severity::Error, format!("line {msg}"));
                    rd.aside.push(Aside::Unidentified(line));
                }
            }
        }
        Ok((records, scratch.defects, scratch.aside))
    }

    fn invoices(&self, customers: &CustomerIndex) -> Result<Decoded<Invoice>> {
        Ok(self.nested("invoices", INVOICE_COLS, |row, rd| {
            decode_invoice(row, rd, customers)
        }))
    }

    fn payments(&self, links: &Links) -> Result<Option<Decoded<Payment>>> {
        Ok(Some(self.nested("payments", PAYMENT_COLS, |row, rd| {
            decode_payment(row, rd, links)
        })))
    }

    fn events(&self, customers: &CustomerIndex) -> Result<Option<Decoded<Event>>> {
        Ok(Some(self.nested("events", EVENT_COLS, |row, rd| {
            decode_event(row, rd, customers)
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(normalise_phone("+48 601-234-567").unwrap(), "+48601234567");
        assert!(normalise_phone("601234567").is_err());
        assert!(normalise_phone("+0123456789").is_err());
        assert!(normalise_phone("+48abc").is_err());
    }

    #[test]
    fn language_tags() {
        for ok in [
            "en", "pl", "zh-Hant", "en-GB", "es-419", "ja", "lv", "ro", "it", "zh_CN",
        ] {
            assert!(check_language(ok).is_ok(), "{ok}");
        }
        for bad in ["xx", "english", "en-XX", "", "e1"] {
            assert!(check_language(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_cannot_escape_the_outbox() {
        assert!(check_id("C-001").is_ok());
        assert!(check_id("../etc").is_err());
        assert!(check_id("a/b").is_err());
        assert!(check_id("a\u{7}b").is_err());
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
