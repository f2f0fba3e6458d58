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

pub use crate::values::*;

use crate::campaign::DataSpec;
use crate::dataset::*;
use crate::diag::{Defect, Error, Result, Severity, did_you_mean};
use crate::money::{Currency, parse_amount};
use chrono::NaiveDate;
use rayon::prelude::*;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
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
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut header = csv::ByteRecord::new();
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
                next_line += line_breaks(&region[c.clone()]);
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

/// The longest header line read (a header is column names: megabytes are a wrong file).
const MAX_HEADER: usize = 16 << 20;

/// An unknown column's name longer than this is ignored: it would be stored with the
/// value of every customer who has one.
const MAX_EXTRA_NAME: usize = 128;

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
    header: &csv::ByteRecord,
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

// ---------------------------------------------------------------------------------------
// Rows: CSV and NDJSON look the same to the decoders.

/// Why a cell cannot be read as text.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Bad {
    /// The bytes are not UTF-8.
    Utf8,
    /// What is wrong with an NDJSON value (a float as an id, a key twice).
    Json(String),
}

impl Bad {
    fn message(&self) -> String {
        match self {
            Bad::Utf8 => {
                "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8)".into()
            }
            Bad::Json(msg) => msg.clone(),
        }
    }
}

type Cell<'r> = std::result::Result<Option<Cow<'r, str>>, Bad>;

/// An extra column of a row: its lower-case name and its value (or why it has none).
type Extra<'r> = (Cow<'r, str>, std::result::Result<Cow<'r, str>, Bad>);

trait Row {
    /// The trimmed value of known column `col`; `None` when the column is absent or the
    /// cell is empty.
    fn raw(&self, col: usize) -> Cell<'_>;
    fn name(&self, col: usize) -> &'static str;
    /// Unknown columns (lower-case name, value), for `customer.extra`; empty values are
    /// left out.
    fn extras(&self) -> Vec<Extra<'_>>;
}

struct CsvRow<'a> {
    rec: &'a csv::ByteRecord,
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
    /// Where this row's defects start in `out`.
    first: usize,
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
            first: self.defects.len(),
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
    /// Only this row's: the nested records of an NDJSON customer share its line, and
    /// looking back over the line's defects was quadratic in them (issue 12, item 14).
    fn set_customer(&mut self, id: &str) {
        self.owner.clear();
        self.owner.push_str(id);
        for d in &mut self.out[self.first..] {
            if d.customer_id.is_none() {
                d.customer_id = Some(Box::from(id));
            }
        }
    }

    fn text<'r>(&mut self, row: &'r impl Row, col: usize) -> Option<Cow<'r, str>> {
        match row.raw(col) {
            Ok(v) => v,
            Err(bad) => {
                self.error(row.name(col), bad.message());
                None
            }
        }
    }

    /// The value of a column that decides neither the amount claimed nor who is
    /// contacted (`credit_limit`, an event's `note`): whatever is wrong with it is a
    /// warning and the value is dropped, the customer is not quarantined (issue 12,
    /// item 15 — an export that wrote every credit limit as `5e+05` quarantined 14 % of
    /// a real data set).
    fn lenient<T>(
        &mut self,
        row: &impl Row,
        col: usize,
        f: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        let msg = match row.raw(col) {
            Ok(None) => return None,
            Ok(Some(v)) => match f(&v) {
                Ok(x) => return Some(x),
                Err(msg) => msg,
            },
            Err(bad) => bad.message(),
        };
        self.push(
            Some(row.name(col)),
            Severity::Warning,
            format!("{msg}; the value is ignored"),
        );
        None
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

    /// Checks a value already read with `check`; `false` (and an error) when it fails.
    fn check(
        &mut self,
        row: &impl Row,
        col: usize,
        value: Option<&str>,
        check: impl FnOnce(&str) -> std::result::Result<(), String>,
    ) -> bool {
        match value.map(check) {
            Some(Err(msg)) => {
                self.error(row.name(col), msg);
                false
            }
            _ => true,
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

// ---------------------------------------------------------------------------------------

fn id_field<'r>(
    rd: &mut RowDefects<'_>,
    row: &'r impl Row,
    col: usize,
    kind: IdKind,
    what: &str,
) -> Option<Cow<'r, str>> {
    let v = rd.required(row, col, what)?;
    match check_id(&v, kind) {
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
    let Some(id) = id_field(rd, row, cc::ID, IdKind::Customer, "the customer's id") else {
        rd.aside.push(Aside::Unidentified(rd.line));
        return None;
    };
    rd.set_customer(&id);
    let comma = rd.comma_decimal;
    let name = rd.required(row, cc::NAME, "the customer's name");
    rd.check(row, cc::NAME, name.as_deref(), check_name);
    let country = rd.parse(row, cc::COUNTRY, check_country);
    let language = rd.parse(row, cc::LANGUAGE, check_language);
    let email = rd.text(row, cc::EMAIL);
    let email_fits = rd.check(row, cc::EMAIL, email.as_deref(), check_email_length);
    let email_ok = email
        .as_deref()
        .is_none_or(|e| email_fits && is_sendable_email(e));
    if let Some(e) = email.as_deref().filter(|_| email_fits && !email_ok) {
        rd.push(
            Some("email"),
            Severity::Warning,
            format!(
                "{} is not an e-mail address (expected name@domain); e-mail is excluded for this customer",
                quote(e)
            ),
        );
    }
    let raw_phone = rd.text(row, cc::PHONE);
    let phone_fits = rd.check(row, cc::PHONE, raw_phone.as_deref(), |p| {
        check_length(p, MAX_PHONE_CHARS)
    });
    let phone = match raw_phone.as_deref().map(normalise_phone) {
        Some(Ok(p)) => Some(Cow::Owned(p)),
        Some(Err(msg)) => {
            if phone_fits {
                rd.push(Some("phone"), Severity::Warning, msg);
            }
            raw_phone.clone()
        }
        None => None,
    };
    let address = |rd: &mut RowDefects<'_>, col, max| {
        let v = rd.text(row, col);
        rd.check(row, col, v.as_deref(), |t| check_length(t, max));
        v
    };
    let (a1, a2, postal, city, region) = (
        address(rd, cc::ADDRESS1, MAX_ADDRESS_CHARS),
        address(rd, cc::ADDRESS2, MAX_ADDRESS_CHARS),
        address(rd, cc::POSTAL, MAX_POSTAL_CODE_CHARS),
        address(rd, cc::CITY, MAX_ADDRESS_CHARS),
        address(rd, cc::REGION, MAX_ADDRESS_CHARS),
    );
    // Extra columns decide neither the amount nor the recipient: a broken value is a
    // warning and is dropped (issue 12, item 15).
    let mut extras = row.extras();
    extras.retain(|(column, value)| {
        let msg = match value {
            Ok(v) => match check_extra(v) {
                Ok(()) => return true,
                Err(msg) => msg,
            },
            Err(bad) => bad.message(),
        };
        rd.push(
            Some(intern(column)),
            Severity::Warning,
            format!("{msg}; the value is ignored"),
        );
        false
    });
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
        extras
            .iter()
            .filter_map(|(k, v)| Some((&**k, &**v.as_ref().ok()?))),
    );
    c.kind = rd.parse(row, cc::KIND, CustomerKind::parse);
    c.timezone = rd.parse(row, cc::TIMEZONE, check_timezone);
    c.consent_email = rd.boolean(row, cc::CONSENT_EMAIL);
    c.consent_sms = rd.boolean(row, cc::CONSENT_SMS);
    c.consent_letter = rd.boolean(row, cc::CONSENT_LETTER);
    c.hold = rd.parse(row, cc::HOLD, Hold::parse);
    c.credit_limit = rd.lenient(row, cc::CREDIT_LIMIT, |t| parse_credit_limit(t, comma));
    c.invalid_email = !email_ok;
    c.invalid_phone = matches!(raw_phone.as_deref().map(normalise_phone), Some(Err(_)));
    c.line = rd.line;
    Some(c)
}

/// The `&'static str` a [`Defect`] names its column with, for a column known only from
/// the file (an extra column). Each distinct name is stored once per process.
fn intern(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = names.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(Box::from(name));
    names.insert(leaked);
    leaked
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
    let id = id_field(
        rd,
        row,
        col,
        IdKind::Customer,
        "the id of a customer in the customers file",
    )?;
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
    let id = id_field(rd, row, ic::ID, IdKind::Record, "the invoice number");
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
    let id = id_field(rd, row, pc::ID, IdKind::Record, "the payment reference");
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
    // A note is for people: it decides nothing, so a broken one is only a warning.
    let note = rd.lenient(row, ec::NOTE, |v| check_extra(v).map(|()| Box::from(v)));
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

/// A JSON object as written: its keys in file order (a key twice is seen, not
/// overwritten), each value's JSON text unparsed until a column asks for it.
///
/// Unparsed, because serde_json reads a number beyond 64 bits as a float: the customer
/// id `12345678901234567890123` became `1.2345678901234568e22`, and an amount `120.50`
/// became `120.5` (issue 12, item 14). A number is kept as the digits written.
#[derive(Debug)]
struct JsonObject(Vec<(String, Box<serde_json::value::RawValue>)>);

impl<'de> serde::Deserialize<'de> for JsonObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = JsonObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<JsonObject, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(256));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(JsonObject(entries))
            }
        }
        d.deserialize_map(Entries)
    }
}

impl JsonObject {
    /// The value of `key` (any case); a key twice is an error — which one holds the
    /// amount is not for dunwell to guess.
    fn get(&self, key: &str) -> std::result::Result<Option<&serde_json::value::RawValue>, Bad> {
        let mut found = self.0.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key));
        let first = found.next().map(|(_, v)| &**v);
        if found.next().is_some() {
            return Err(Bad::Json(format!(
                "`{key}` appears twice in this object (expected each key once)"
            )));
        }
        Ok(first)
    }
}

/// The text of a JSON value for a column: a string trimmed (`None` when empty), `null`
/// as `None`, a number as written, `true`/`false`, an object or array as its JSON text.
/// An id is a string or a whole number, never a fraction or exponent (`12.0`, `1.2e22`:
/// which id was meant is lost), `true` or an object. `lossy`: the line was not UTF-8 and was read with U+FFFD in
/// place of the bad bytes; a value holding one is reported as not UTF-8.
fn json_text(
    raw: &serde_json::value::RawValue,
    id: bool,
    lossy: bool,
) -> std::result::Result<Option<Cow<'_, str>>, Bad> {
    let s = raw.get().trim();
    let text: Option<Cow<'_, str>> = match s.as_bytes().first() {
        Some(b'"') if !s.contains('\\') => Some(Cow::Borrowed(s[1..s.len() - 1].trim())),
        Some(b'"') => {
            let owned: String = serde_json::from_str(s)
                .map_err(|e| Bad::Json(format!("cannot read this string: {e}")))?;
            Some(Cow::Owned(owned.trim().to_string()))
        }
        Some(b'n') => None,
        Some(b'-' | b'0'..=b'9') if id && s.contains(['.', 'e', 'E']) => {
            return Err(Bad::Json(format!(
                "`{s}` is a number with a fraction or an exponent (expected an id as a JSON string, or a whole number)"
            )));
        }
        Some(b'-' | b'0'..=b'9') => Some(Cow::Borrowed(s)),
        _ if id => {
            return Err(Bad::Json(format!(
                "{} is not a string or a number (expected an id as a JSON string, or a whole number)",
                quote(s)
            )));
        }
        _ => Some(Cow::Borrowed(s)),
    };
    match text {
        Some(t) if t.is_empty() => Ok(None),
        Some(t) if lossy && t.contains('\u{FFFD}') => Err(Bad::Utf8),
        t => Ok(t),
    }
}

struct JsonRow<'a> {
    obj: &'a JsonObject,
    /// The customer's id, for nested records that leave it out.
    parent_id: Option<&'a str>,
    keep_extra: bool,
    known: &'static [&'static str],
    lossy: bool,
}

impl Row for JsonRow<'_> {
    fn raw(&self, col: usize) -> Cell<'_> {
        let name = self.known[col];
        let found = self.obj.get(name)?;
        let value = match found {
            Some(v) => json_text(v, name.ends_with("_id"), self.lossy)?,
            None => None,
        };
        // A nested record without its own customer_id (absent or null) is its parent's.
        if name == "customer_id" && found.is_none_or(|v| v.get().trim() == "null") {
            return Ok(self.parent_id.map(Cow::Borrowed));
        }
        Ok(value)
    }

    fn name(&self, col: usize) -> &'static str {
        self.known[col]
    }

    fn extras(&self) -> Vec<Extra<'_>> {
        if !self.keep_extra {
            return Vec::new();
        }
        let mut v: Vec<Extra<'_>> = Vec::new();
        for (k, raw) in &self.obj.0 {
            let key = k.to_ascii_lowercase();
            if self.known.contains(&key.as_str())
                || matches!(key.as_str(), "invoices" | "payments" | "events")
            {
                continue;
            }
            let value = if key.is_empty() || key.len() > MAX_EXTRA_NAME {
                Err(Bad::Json(format!(
                    "a key of {} bytes (expected a name of 1 to {MAX_EXTRA_NAME} bytes)",
                    key.len()
                )))
            } else if self.lossy && key.contains('\u{FFFD}') {
                Err(Bad::Utf8)
            } else {
                match json_text(raw, false, self.lossy) {
                    Ok(None) => continue,
                    Ok(Some(t)) => Ok(t),
                    Err(bad) => Err(bad),
                }
            };
            let key = if key.len() > MAX_EXTRA_NAME {
                let cut = key.char_indices().nth(32).map_or(key.len(), |(i, _)| i);
                format!("{}…", &key[..cut])
            } else {
                key
            };
            v.push((Cow::Owned(key), value));
        }
        // By name, and a name twice keeps its first value (stable sort: file order).
        v.sort_by(|a, b| a.0.cmp(&b.0));
        for i in 1..v.len() {
            if v[i].0 == v[i - 1].0 && v[i].1.is_ok() {
                v[i].1 = Err(Bad::Json(format!(
                    "`{}` appears twice in this object (expected each key once)",
                    v[i].0
                )));
            }
        }
        v
    }
}

/// An NDJSON export, parsed: one customer object per line. NDJSON exports are API
/// dumps, small enough to decode on one thread.
struct NdjsonSource {
    file: Arc<str>,
    /// (line, object, read lossily) of every line that is a JSON object.
    objects: Vec<(u64, JsonObject, bool)>,
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
            // A line that is not UTF-8 is read with U+FFFD for the bad bytes, so that
            // only the values holding them are wrong, as in a CSV file — an extra
            // column in Latin-1 costs a warning, not the customer.
            let (text, lossy) = match std::str::from_utf8(raw) {
                Ok(s) => (Cow::Borrowed(s), false),
                Err(_) => (String::from_utf8_lossy(raw), true),
            };
            match serde_json::from_str::<JsonObject>(&text) {
                Ok(obj) => objects.push((line, obj, lossy)),
                Err(e) => unreadable.push((
                    line,
                    format!("is not a JSON object: {e} (expected one customer object per line)"),
                )),
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
        for (line, obj, lossy) in &self.objects {
            let parent = obj
                .get("customer_id")
                .ok()
                .flatten()
                .and_then(|v| json_text(v, true, *lossy).ok().flatten());
            let parent = parent.as_deref();
            let items: Vec<Box<serde_json::value::RawValue>> = match obj.get(key) {
                Ok(None) => Vec::new(),
                Ok(Some(v)) if v.get().trim() == "null" => Vec::new(),
                Ok(Some(v)) if v.get().trim_start().starts_with('[') => {
                    serde_json::from_str(v.get()).unwrap_or_default()
                }
                found => {
                    // Records that cannot be read are their customer's problem: the
                    // customer is quarantined, not contacted about a partial total.
                    let mut rd = scratch.row(&self.file, *line, false);
                    if let Some(p) = parent {
                        rd.set_customer(p);
                    }
                    let message = match found {
                        Err(bad) => bad.message(),
                        _ => format!("`{key}` is not a list (expected [{{\"...\": ...}}, ...])"),
                    };
                    rd.push(Some(key), Severity::Error, message);
                    continue;
                }
            };
            for item in items {
                let mut rd = scratch.row(&self.file, *line, false);
                match serde_json::from_str::<JsonObject>(item.get()) {
                    Ok(o) => records.extend(decode(
                        &JsonRow {
                            obj: &o,
                            parent_id: parent,
                            keep_extra: false,
                            known,
                            lossy: *lossy,
                        },
                        &mut rd,
                    )),
                    Err(_) => {
                        if let Some(p) = parent {
                            rd.set_customer(p);
                        }
                        rd.push(
                            Some(key),
                            Severity::Error,
                            format!(
                                "an entry of `{key}` is not an object (expected {{\"...\": ...}})"
                            ),
                        )
                    }
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
        type Line<'a> = (u64, Option<(&'a JsonObject, bool)>, &'a str);
        let mut lines: Vec<Line<'_>> = self
            .objects
            .iter()
            .map(|(l, o, lossy)| (*l, Some((o, *lossy)), ""))
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
                Some((obj, lossy)) => {
                    let row = JsonRow {
                        obj,
                        parent_id: None,
                        keep_extra: true,
                        known: CUSTOMER_COLS,
                        lossy,
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

    fn write(dir: &tempfile::TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Loads `customers` (with an empty invoices file) and validates it.
    fn load_csv(customers: impl AsRef<[u8]>) -> crate::validate::Validated {
        let dir = tempfile::tempdir().unwrap();
        let spec = DataSpec::Csv {
            customers: write(&dir, "customers.csv", customers),
            invoices: write(
                &dir,
                "invoices.csv",
                "invoice_id,customer_id,issue_date,due_date,amount,currency\n",
            ),
            payments: None,
            events: None,
        };
        crate::validate::validate(load(&spec).unwrap())
    }

    fn load_ndjson(lines: impl AsRef<[u8]>) -> crate::validate::Validated {
        let dir = tempfile::tempdir().unwrap();
        let spec = DataSpec::Ndjson {
            ndjson: write(&dir, "debtors.ndjson", lines),
        };
        crate::validate::validate(load(&spec).unwrap())
    }

    fn ids(v: &crate::validate::Validated) -> Vec<&str> {
        v.dataset.customers.iter().map(|c| c.id()).collect()
    }

    /// (line, column, message) of every defect of `severity`.
    fn defects(v: &crate::validate::Validated, severity: Severity) -> Vec<(u64, String, String)> {
        let list = match severity {
            Severity::Error => &v.rejected,
            Severity::Warning => &v.warnings,
        };
        list.iter()
            .map(|d| {
                (
                    d.line,
                    d.column.unwrap_or("").to_string(),
                    d.message.clone(),
                )
            })
            .collect()
    }

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

    /// All the nested records of an NDJSON customer are on its line: attributing a
    /// record's defects to the customer looked at every earlier defect of that line,
    /// quadratic in a customer with tens of thousands of broken invoices. The bound is
    /// loose; quadratic behaviour misses it by an order of magnitude.
    #[test]
    fn many_broken_records_of_one_customer_cost_linear_time() {
        let invoice = r#"{"invoice_id": "I", "issue_date": "2026-13-01", "due_date": "2026-02-01", "amount": "1", "currency": "EUR"}"#;
        // The fastest of three runs, and a ratio rather than seconds: the machine may be
        // busy with other builds; ten times the records must not cost a hundred times.
        let best = |n: usize| {
            let line = format!(
                r#"{{"customer_id": "C1", "name": "Anna", "invoices": [{}]}}"#,
                vec![invoice; n].join(",")
            );
            (0..3)
                .map(|_| {
                    let t = std::time::Instant::now();
                    let v = load_ndjson(line.clone() + "\n");
                    let took = t.elapsed();
                    assert_eq!(v.rejected.len(), n, "a bad date each");
                    assert!(
                        v.rejected
                            .iter()
                            .all(|d| d.customer_id.as_deref() == Some("C1"))
                    );
                    took
                })
                .min()
                .unwrap()
        };
        let small = best(4_000);
        let large = best(40_000);
        assert!(
            large.as_secs_f64() < 30.0 * small.as_secs_f64().max(0.001),
            "4,000 records: {small:?}; 40,000: {large:?}"
        );
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

    /// Issue 12, item 15: a bad credit limit or extra value is a warning, the value is
    /// dropped and the customer stays.
    #[test]
    fn bad_credit_limits_and_extras_are_dropped_with_a_warning() {
        let v = load_csv(
            b"customer_id,name,credit_limit,account_manager,contract_no\nC1,Anna,abc,Jos\xe9,K-1\nC2,Ben,1E+03,\x1b[2J,\"K\xe2\x80\x8b2\"\n".as_slice(),
        );
        assert_eq!(ids(&v), ["C1", "C2"]);
        assert!(v.rejected.is_empty(), "{:?}", v.rejected);
        let (c1, c2) = (&v.dataset.customers[0], &v.dataset.customers[1]);
        assert_eq!(
            (c1.credit_limit, c2.credit_limit),
            (None, Some(Decimal::from(1000)))
        );
        assert_eq!(c1.extras().collect::<Vec<_>>(), [("contract_no", "K-1")]);
        assert_eq!(c2.extras().count(), 0);
        let w = defects(&v, Severity::Warning);
        assert!(w.contains(&(2, "credit_limit".into(), "`abc` is not a decimal amount (expected digits with an optional `.`, such as 1234.56); the value is ignored".into())), "{w:?}");
        assert!(w.contains(&(2, "account_manager".into(), "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8); the value is ignored".into())), "{w:?}");
        assert!(w.contains(&(3, "account_manager".into(), "`\\u{1b}[2J` contains U+001B, a control character (expected printable characters only); the value is ignored".into())), "{w:?}");
        assert!(w.contains(&(3, "contract_no".into(), "`K\\u{200b}2` contains U+200B, a zero-width character (expected printable characters only); the value is ignored".into())), "{w:?}");
    }

    /// Issue 12, items 12 and 14: lengths, bidi and zero-width characters quarantine.
    #[test]
    fn long_or_invisible_text_is_rejected() {
        let long_name = "N".repeat(201);
        let cjk_id = "顧客".repeat(50);
        let text = format!(
            "customer_id,name,postal_code,city\n\
             C1,{long_name},,\n\
             C2,Anna {rlo}kcaB,,\n\
             C3,Anna,{},\n\
             {cjk_id},Anna,,\n\
             C{zwsp}5,Anna,,\n\
             C6,{persian},00-001,{}\n",
            "1".repeat(21),
            "M".repeat(100),
            rlo = '\u{202e}',
            zwsp = '\u{200b}',
            persian = "\u{645}\u{6cc}\u{200c}\u{62e}",
        );
        let v = load_csv(text);
        assert_eq!(ids(&v), ["C6"]);
        let e = defects(&v, Severity::Error);
        assert_eq!(
            e[0],
            (
                2,
                "name".into(),
                "is 201 characters long (expected at most 200 characters)".into()
            )
        );
        assert_eq!(e[1], (3, "name".into(), "`Anna \\u{202e}kcaB` contains U+202E, a bidirectional control character (expected printable characters only)".into()));
        assert_eq!(
            e[2],
            (
                4,
                "postal_code".into(),
                "is 21 characters long (expected at most 20 characters)".into()
            )
        );
        assert_eq!(e[3].1, "customer_id");
        assert!(
            e[3].2
                .ends_with("is 300 bytes long (expected an id of at most 64 bytes in UTF-8)"),
            "{e:?}"
        );
        assert_eq!(e[4], (6, "customer_id".into(), "`C\\u{200b}5` contains U+200B, a zero-width character (expected printable characters only)".into()));
        assert_eq!(v.intake.customers, 6);
        assert_eq!(v.intake.rejected_customers, 5);
    }

    /// Issue 12, item 14: invoice and payment ids may hold `/`; customer ids may not.
    #[test]
    fn invoice_ids_may_hold_slashes() {
        let dir = tempfile::tempdir().unwrap();
        let spec = DataSpec::Csv {
            customers: write(
                &dir,
                "customers.csv",
                "customer_id,name\nC1,Anna\nC/2,Ben\n",
            ),
            invoices: write(
                &dir,
                "invoices.csv",
                "invoice_id,customer_id,issue_date,due_date,amount,currency\nFV/2026/0042,C1,2026-01-01,2026-02-01,10.00,PLN\n",
            ),
            payments: Some(write(
                &dir,
                "payments.csv",
                "payment_id,customer_id,invoice_id,date,amount\nWB/2026/7,C1,FV/2026/0042,2026-01-15,5.00\n",
            )),
            events: None,
        };
        let v = crate::validate::validate(load(&spec).unwrap());
        assert_eq!(ids(&v), ["C1"]);
        assert_eq!(&*v.dataset.invoices[0].id, "FV/2026/0042");
        assert_eq!(&*v.dataset.payments[0].id, "WB/2026/7");
        assert_eq!(v.dataset.payments[0].invoice, Some(0));
        assert_eq!(v.rejected.len(), 1);
        assert!(v.rejected[0].message.contains("contains `/`, `\\` or `..`"));
    }

    /// Issue 12, item 14: serde_json reads 12345678901234567890123 as a float; the digits
    /// are kept. A float where an id belongs is refused: which id was meant is lost.
    #[test]
    fn ndjson_numbers_keep_their_digits() {
        let v = load_ndjson(concat!(
            r#"{"customer_id": 12345678901234567890123, "name": "Big", "credit_limit": 5e5, "invoices": [{"invoice_id": 98765432109876543210, "issue_date": "2026-01-01", "due_date": "2026-02-01", "amount": 1234567890.12, "currency": "EUR"}], "payments": [{"payment_id": 18446744073709551617, "date": "2026-01-15", "amount": 0.10}]}"#,
            "\n",
            r#"{"customer_id": 12.0, "name": "Float"}"#,
            "\n",
            r#"{"customer_id": 1.2345678901234568e22, "name": "Exponent"}"#,
            "\n",
            r#"{"customer_id": 42, "name": "Small", "invoices": [{"invoice_id": 7.5, "issue_date": "2026-01-01", "due_date": "2026-02-01", "amount": 1, "currency": "EUR"}]}"#,
            "\n",
            r#"{"customer_id": {"id": 1}, "name": "Object"}"#,
            "\n",
        ));
        assert_eq!(ids(&v), ["12345678901234567890123"]);
        let d = &v.dataset;
        assert_eq!(&*d.invoices[0].id, "98765432109876543210");
        assert_eq!(d.invoices[0].amount.to_string(), "1234567890.12");
        assert_eq!(&*d.payments[0].id, "18446744073709551617");
        assert_eq!(d.payments[0].amount.to_string(), "0.1");
        assert_eq!(d.customers[0].credit_limit, Some(Decimal::from(500_000)));
        let e = defects(&v, Severity::Error);
        assert_eq!(e[0], (2, "customer_id".into(), "`12.0` is a number with a fraction or an exponent (expected an id as a JSON string, or a whole number)".into()));
        assert_eq!(e[1].0, 3);
        assert!(
            e[1].2
                .starts_with("`1.2345678901234568e22` is a number with a fraction")
        );
        assert_eq!((e[2].0, e[2].1.as_str()), (4, "invoice_id"));
        assert_eq!(e[3], (5, "customer_id".into(), "`{\"id\": 1}` is not a string or a number (expected an id as a JSON string, or a whole number)".into()));
        assert_eq!(v.rejected_customers.len(), 4, "{:?}", v.rejected_customers);
        assert!(v.rejected_customers.contains(&Box::from("42")));
    }

    /// An NDJSON line with bytes that are not UTF-8 loses only the values that hold
    /// them; keys twice and nested lists that are not lists are errors of the customer.
    #[test]
    fn ndjson_defects_are_per_value() {
        let mut text = Vec::new();
        text.extend_from_slice(b"{\"customer_id\": \"N1\", \"name\": \"Anna\", \"account_manager\": \"Jos\xe9\", \"tier\": \"gold\"}\n");
        text.extend_from_slice(b"{\"customer_id\": \"N2\", \"name\": \"Ren\xe9\"}\n");
        text.extend_from_slice(b"{\"customer_id\": \"N3\", \"name\": \"A\", \"NAME\": \"B\"}\n");
        text.extend_from_slice(
            b"{\"customer_id\": \"N4\", \"name\": \"D\", \"tier\": \"a\", \"Tier\": \"b\"}\n",
        );
        text.extend_from_slice(
            b"{\"customer_id\": \"N5\", \"name\": \"E\", \"invoices\": {\"invoice_id\": \"X\"}}\n",
        );
        text.extend_from_slice(b"{\"customer_id\": \"N6\", \"name\": \"F\", \"invoices\": [17]}\n");
        let v = load_ndjson(text);
        assert_eq!(ids(&v), ["N1", "N4"]);
        assert_eq!(
            v.dataset.customers[0].extras().collect::<Vec<_>>(),
            [("tier", "gold")]
        );
        assert_eq!(
            v.dataset.customers[1].extras().collect::<Vec<_>>(),
            [("tier", "a")]
        );
        let w = defects(&v, Severity::Warning);
        assert!(w.contains(&(1, "account_manager".into(), "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8); the value is ignored".into())), "{w:?}");
        assert!(w.contains(&(4, "tier".into(), "`tier` appears twice in this object (expected each key once); the value is ignored".into())), "{w:?}");
        let e = defects(&v, Severity::Error);
        assert_eq!(
            e[0],
            (
                2,
                "name".into(),
                "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8)".into()
            )
        );
        assert_eq!(
            e[1],
            (
                3,
                "name".into(),
                "`name` appears twice in this object (expected each key once)".into()
            )
        );
        assert_eq!(
            e[2],
            (
                5,
                "invoices".into(),
                "`invoices` is not a list (expected [{\"...\": ...}, ...])".into()
            )
        );
        assert_eq!(
            e[3],
            (
                6,
                "invoices".into(),
                "an entry of `invoices` is not an object (expected {\"...\": ...})".into()
            )
        );
        assert_eq!(
            v.rejected_customers,
            [Box::from("N2"), "N3".into(), "N5".into(), "N6".into()]
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
