//! Reading the export: CSV files (UTF-8 with or without BOM, `,` or `;`, CRLF or LF,
//! case-insensitive headers) or one NDJSON file of nested customer records.
//!
//! Every row is decoded into typed records here, and every defect of a single row is
//! recorded with its file, line and column. Nothing is dropped silently: a row that
//! cannot be decoded becomes a [`Defect`] that names its customer, and `validate`
//! quarantines that customer. Only a file that cannot be read as a table at all (empty,
//! no header, a required column missing) stops the run.

use crate::campaign::{DataSpec, parse_date};
use crate::dataset::*;
use crate::diag::{Defect, Error, Result, Severity, did_you_mean};
use crate::money::{Currency, parse_amount};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::path::Path;
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
    /// Invoice and payment rows that name a customer the customers file does not have:
    /// their open amounts, per currency, so totals still reconcile.
    pub orphan_invoices: Vec<(Currency, Decimal)>,
    pub sources: Sources,
}

/// Years outside this window are typing errors (9999-12-31 placeholders, 0202 for 2020).
const YEARS: std::ops::RangeInclusive<i32> = 1970..=2099;

const CUSTOMER_COLS: &[&str] = &[
    "customer_id",
    "name",
    "kind",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "country",
    "language",
    "timezone",
    "consent_email",
    "consent_sms",
    "consent_letter",
    "hold",
    "credit_limit",
];
const CUSTOMER_REQUIRED: &[&str] = &["customer_id", "name"];
const INVOICE_COLS: &[&str] = &[
    "invoice_id",
    "customer_id",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "amount_paid",
    "status",
    "disputed",
];
const INVOICE_REQUIRED: &[&str] = &[
    "invoice_id",
    "customer_id",
    "issue_date",
    "due_date",
    "amount",
    "currency",
];
const PAYMENT_COLS: &[&str] = &[
    "payment_id",
    "customer_id",
    "invoice_id",
    "date",
    "amount",
    "method",
    "status",
];
const PAYMENT_REQUIRED: &[&str] = &["payment_id", "customer_id", "date", "amount"];
const EVENT_COLS: &[&str] = &[
    "customer_id",
    "date",
    "channel",
    "kind",
    "reference",
    "note",
];
const EVENT_REQUIRED: &[&str] = &["customer_id", "date", "channel", "kind"];

/// Reads the whole dataset a campaign names.
pub fn load(spec: &DataSpec) -> Result<Loaded> {
    match spec {
        DataSpec::Csv {
            customers,
            invoices,
            payments,
            events,
        } => load_csv(customers, invoices, payments.as_deref(), events.as_deref()),
        DataSpec::Ndjson { ndjson } => load_ndjson(ndjson),
    }
}

fn display(path: &Path) -> Arc<str> {
    Arc::from(path.display().to_string())
}

fn load_csv(
    customers: &Path,
    invoices: &Path,
    payments: Option<&Path>,
    events: Option<&Path>,
) -> Result<Loaded> {
    let cust_table = Table::open(customers, CUSTOMER_COLS, CUSTOMER_REQUIRED, true)?;
    // Open (and header-check) every file before decoding any, so a missing column in
    // events.csv is reported before a minute spent on customers.
    let inv_table = Table::open(invoices, INVOICE_COLS, INVOICE_REQUIRED, false)?;
    let pay_table = payments
        .map(|p| Table::open(p, PAYMENT_COLS, PAYMENT_REQUIRED, false))
        .transpose()?;
    let ev_table = events
        .map(|p| Table::open(p, EVENT_COLS, EVENT_REQUIRED, false))
        .transpose()?;

    let mut out = Loaded {
        sources: Sources {
            customers: cust_table.file.clone(),
            invoices: inv_table.file.clone(),
            payments: pay_table.as_ref().map(|t| t.file.clone()),
            events: ev_table.as_ref().map(|t| t.file.clone()),
        },
        ..Loaded::default()
    };
    out.defects
        .extend(cust_table.header_warnings.iter().cloned());
    let mut index = CustomerIndex::default();
    cust_table.for_each_row(&mut out.defects, |row, defects| {
        decode_customer(
            &row,
            defects,
            &mut index,
            &mut out.customers,
            &mut out.unidentified_customers,
        )
    });

    let index = &index;
    let (inv, (pay, ev)) = rayon::join(
        || {
            let mut inv = Partial::<Invoice>::new(&inv_table);
            let mut ids = FxHashMap::default();
            inv_table.for_each_row(&mut inv.defects, |row, defects| {
                decode_invoice(
                    &row,
                    defects,
                    index,
                    &mut ids,
                    &mut inv.records,
                    &mut inv.orphans,
                )
            });
            inv
        },
        || {
            rayon::join(
                || {
                    pay_table.as_ref().map(|t| {
                        let mut pay = Partial::<Payment>::new(t);
                        let mut ids = FxHashMap::default();
                        t.for_each_row(&mut pay.defects, |row, defects| {
                            decode_payment(&row, defects, index, &mut ids, &mut pay.records)
                        });
                        pay
                    })
                },
                || {
                    ev_table.as_ref().map(|t| {
                        let mut ev = Partial::<Event>::new(t);
                        t.for_each_row(&mut ev.defects, |row, defects| {
                            decode_event(&row, defects, index, &mut ev.records)
                        });
                        ev
                    })
                },
            )
        },
    );
    out.invoices = inv.records;
    out.orphan_invoices = inv.orphans;
    out.defects.extend(inv.defects);
    if let Some(p) = pay {
        out.payments = p.records;
        out.defects.extend(p.defects);
    }
    if let Some(e) = ev {
        out.events = e.records;
        out.defects.extend(e.defects);
    }
    Ok(out)
}

struct Partial<T> {
    records: Vec<T>,
    defects: Vec<Defect>,
    orphans: Vec<(Currency, Decimal)>,
}

impl<T> Partial<T> {
    fn new(table: &Table) -> Self {
        Partial {
            records: Vec::new(),
            defects: table.header_warnings.clone(),
            orphans: Vec::new(),
        }
    }
}

/// Customer id → index of its first row; later rows with the same id are duplicates.
#[derive(Default)]
struct CustomerIndex {
    by_id: FxHashMap<Box<str>, (u32, u64)>,
}

impl CustomerIndex {
    fn get(&self, id: &str) -> Option<u32> {
        self.by_id.get(id).map(|&(i, _)| i)
    }
}

// ---------------------------------------------------------------------------------------
// Tables

/// A CSV file opened, its header checked, ready to be decoded row by row.
struct Table {
    file: Arc<str>,
    bytes: Vec<u8>,
    /// Offset of the first data byte (after the BOM).
    start: usize,
    delimiter: u8,
    /// For each known column (in the table's column list), its position in the file.
    known: Vec<Option<usize>>,
    names: &'static [&'static str],
    /// Unknown columns: (position, name), kept as `extra` for customers.
    extra: Vec<(usize, Arc<str>)>,
    width: usize,
    header_warnings: Vec<Defect>,
}

impl Table {
    fn open(
        path: &Path,
        names: &'static [&'static str],
        required: &[&'static str],
        keeps_extra: bool,
    ) -> Result<Table> {
        let file = display(path);
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let start = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
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
        let body = &bytes[start..];
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(fatal(
                None,
                format!(
                    "the file is empty (expected a header line such as `{}`)",
                    required.join(",")
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
        let mut known = vec![None; names.len()];
        let mut extra = Vec::new();
        let mut header_warnings = Vec::new();
        let mut seen: FxHashMap<String, usize> = FxHashMap::default();
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
            if let Some(first) = seen.insert(name.clone(), pos) {
                return Err(fatal(
                    None,
                    format!(
                        "column `{name}` appears twice, as field {} and {} (expected each column once)",
                        first + 1,
                        pos + 1
                    ),
                ));
            }
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
            .filter(|r| known[names.iter().position(|n| n == *r).unwrap()].is_none())
            .map(|r| Defect {
                file: file.clone(),
                line: 1,
                column: Some(r),
                customer_id: None,
                message: format!(
                    "required column is missing (expected a header named `{r}`; found: {})",
                    seen_in_order(&seen)
                ),
                severity: Severity::Error,
            })
            .collect();
        if !missing.is_empty() {
            return Err(Error::Data(missing));
        }
        Ok(Table {
            file,
            start,
            delimiter,
            known,
            names,
            extra,
            width: header.len(),
            header_warnings,
            bytes,
        })
    }

    /// Calls `decode` for every data row; rows with the wrong number of fields are
    /// reported and still decoded as far as their fields go, so their customer is known.
    fn for_each_row(
        &self,
        defects: &mut Vec<Defect>,
        mut decode: impl FnMut(CsvRow<'_>, &mut RowDefects<'_>),
    ) {
        let body = &self.bytes[self.start..];
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut rec = csv::ByteRecord::new();
        let mut first = true;
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    defects.push(Defect {
                        file: self.file.clone(),
                        line,
                        column: None,
                        customer_id: None,
                        message: format!(
                            "cannot read this row: {e} (expected a well-formed CSV row)"
                        ),
                        severity: Severity::Error,
                    });
                    continue;
                }
            }
            if first {
                first = false;
                continue; // the header
            }
            // A blank line (a trailing newline pair, say) is not a row.
            if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = rec.position().map_or(0, |p| p.line());
            let mut rd = RowDefects {
                file: &self.file,
                line,
                customer_id: None,
                out: defects,
                comma_decimal: self.delimiter == b';',
                errors: 0,
            };
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
            decode(
                CsvRow {
                    rec: &rec,
                    table: self,
                },
                &mut rd,
            );
        }
    }
}

fn seen_in_order(seen: &FxHashMap<String, usize>) -> String {
    let mut v: Vec<(&usize, &String)> = seen.iter().map(|(k, v)| (v, k)).collect();
    v.sort();
    v.into_iter()
        .map(|(_, k)| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
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
    /// The trimmed value of a known column; `None` when the column is absent or the
    /// cell is empty. `Err` when the bytes are not UTF-8.
    fn raw(&self, col: &'static str) -> std::result::Result<Option<Cow<'_, str>>, ()>;
    /// Unknown columns with a value, for `customer.extra`.
    fn extras(&self) -> Vec<(Arc<str>, Box<str>)>;
}

struct CsvRow<'a> {
    rec: &'a csv::ByteRecord,
    table: &'a Table,
}

impl Row for CsvRow<'_> {
    fn raw(&self, col: &'static str) -> std::result::Result<Option<Cow<'_, str>>, ()> {
        let Some(k) = self.table.names.iter().position(|n| *n == col) else {
            return Ok(None);
        };
        let Some(pos) = self.table.known[k] else {
            return Ok(None);
        };
        let Some(bytes) = self.rec.get(pos) else {
            return Ok(None);
        };
        let s = std::str::from_utf8(bytes).map_err(|_| ())?.trim();
        Ok((!s.is_empty()).then_some(Cow::Borrowed(s)))
    }

    fn extras(&self) -> Vec<(Arc<str>, Box<str>)> {
        self.table
            .extra
            .iter()
            .filter_map(|(pos, name)| {
                let v = std::str::from_utf8(self.rec.get(*pos)?).ok()?.trim();
                (!v.is_empty()).then(|| (name.clone(), Box::from(v)))
            })
            .collect()
    }
}

/// Collects the defects of one row, attributing them to its customer.
struct RowDefects<'a> {
    file: &'a Arc<str>,
    line: u64,
    customer_id: Option<Box<str>>,
    out: &'a mut Vec<Defect>,
    comma_decimal: bool,
    /// Errors recorded for this row so far: a row with any is not turned into a record.
    errors: usize,
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
            customer_id: self.customer_id.clone(),
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
        self.customer_id = Some(Box::from(id));
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

    fn text<'r>(&mut self, row: &'r impl Row, col: &'static str) -> Option<Cow<'r, str>> {
        match row.raw(col) {
            Ok(v) => v,
            Err(()) => {
                self.error(
                    col,
                    "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8)".into(),
                );
                None
            }
        }
    }

    fn required<'r>(
        &mut self,
        row: &'r impl Row,
        col: &'static str,
        what: &str,
    ) -> Option<Cow<'r, str>> {
        let v = self.text(row, col);
        if v.is_none() && row.raw(col).is_ok() {
            self.error(col, format!("is empty (expected {what})"));
        }
        v
    }

    fn parse<T>(
        &mut self,
        row: &impl Row,
        col: &'static str,
        f: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        let v = self.text(row, col)?;
        match f(&v) {
            Ok(x) => Some(x),
            Err(msg) => {
                self.error(col, msg);
                None
            }
        }
    }

    fn date(&mut self, row: &impl Row, col: &'static str, required: bool) -> Option<NaiveDate> {
        if required {
            self.required(row, col, "a date such as 2026-03-31")?;
        }
        self.parse(row, col, plausible_date)
    }

    fn boolean(&mut self, row: &impl Row, col: &'static str) -> Option<bool> {
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
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(true),
        "false" | "no" | "n" | "0" => Ok(false),
        _ => Err(format!(
            "`{text}` is not a yes/no value (expected true or false)"
        )),
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
// Decoders: one row → one record, or defects.

fn id_field(
    rd: &mut RowDefects<'_>,
    row: &impl Row,
    col: &'static str,
    what: &str,
) -> Option<Box<str>> {
    let v = rd.required(row, col, what)?;
    match check_id(&v) {
        Ok(()) => Some(Box::from(v.as_ref())),
        Err(msg) => {
            rd.error(col, msg);
            None
        }
    }
}

fn decode_customer(
    row: &impl Row,
    rd: &mut RowDefects<'_>,
    index: &mut CustomerIndex,
    customers: &mut Vec<Customer>,
    unidentified: &mut Vec<(Arc<str>, u64)>,
) {
    let Some(id) = id_field(rd, row, "customer_id", "the customer's id") else {
        unidentified.push((rd.file.clone(), rd.line));
        return;
    };
    rd.set_customer(&id);
    if let Some(&(_, first_line)) = index.by_id.get(&id) {
        rd.error("customer_id", format!("duplicate customer_id `{id}`, first on line {first_line} (expected each customer once)"));
        return;
    }
    index
        .by_id
        .insert(id.clone(), (customers.len() as u32, rd.line));
    let mut c = decode_customer_fields(row, rd);
    c.id = id;
    c.line = rd.line;
    customers.push(c);
}

fn decode_customer_fields(row: &impl Row, rd: &mut RowDefects<'_>) -> Customer {
    let comma = rd.comma_decimal;
    let text = |rd: &mut RowDefects<'_>, col| rd.text(row, col).map(|v| Box::from(v.as_ref()));
    let name = rd
        .required(row, "name", "the customer's name")
        .map(|v| Box::from(v.as_ref()))
        .unwrap_or_default();
    let mut c = Customer {
        name,
        kind: rd.parse(row, "kind", CustomerKind::parse),
        address_line1: text(rd, "address_line1"),
        address_line2: text(rd, "address_line2"),
        postal_code: text(rd, "postal_code"),
        city: text(rd, "city"),
        region: text(rd, "region"),
        country: rd.parse(row, "country", check_country),
        language: rd.parse(row, "language", check_language),
        timezone: rd.parse(row, "timezone", check_timezone),
        consent_email: rd.boolean(row, "consent_email"),
        consent_sms: rd.boolean(row, "consent_sms"),
        consent_letter: rd.boolean(row, "consent_letter"),
        hold: rd.parse(row, "hold", Hold::parse),
        credit_limit: rd.parse(row, "credit_limit", |t| parse_amount(t, None, comma)),
        extra: row.extras(),
        ..Customer::default()
    };
    if let Some(email) = rd.text(row, "email") {
        if email_address::EmailAddress::is_valid(&email) {
            c.email = Some(Box::from(email.as_ref()));
        } else {
            c.invalid_email = true;
            c.email = Some(Box::from(email.as_ref()));
            rd.push(
                Some("email"),
                Severity::Warning,
                format!("`{email}` is not an e-mail address (expected name@domain); e-mail is excluded for this customer"),
            );
        }
    }
    if let Some(phone) = rd.text(row, "phone") {
        match normalise_phone(&phone) {
            Ok(p) => c.phone = Some(p.into_boxed_str()),
            Err(msg) => {
                c.invalid_phone = true;
                c.phone = Some(Box::from(phone.as_ref()));
                rd.push(Some("phone"), Severity::Warning, msg);
            }
        }
    }
    c
}

/// Finds the row's customer; an unknown one is reported (the row is an orphan).
fn owner(rd: &mut RowDefects<'_>, row: &impl Row, index: &CustomerIndex) -> Option<u32> {
    let id = id_field(
        rd,
        row,
        "customer_id",
        "the id of a customer in the customers file",
    )?;
    rd.set_customer(&id);
    match index.get(&id) {
        Some(i) => Some(i),
        None => {
            rd.error(
                "customer_id",
                format!("unknown customer `{id}` (expected a customer_id from the customers file)"),
            );
            None
        }
    }
}

fn decode_invoice(
    row: &impl Row,
    rd: &mut RowDefects<'_>,
    index: &CustomerIndex,
    ids: &mut FxHashMap<Box<str>, u64>,
    out: &mut Vec<Invoice>,
    orphans: &mut Vec<(Currency, Decimal)>,
) {
    let customer = owner(rd, row, index);
    let id = id_field(rd, row, "invoice_id", "the invoice number");
    if let Some(id) = &id {
        if let Some(first) = ids.get(id) {
            rd.error("invoice_id", format!("duplicate invoice_id `{id}`, first on line {first} (expected each invoice once)"));
        } else {
            ids.insert(id.clone(), rd.line);
        }
    }
    let issue = rd.date(row, "issue_date", true);
    let due = rd.date(row, "due_date", true);
    let currency = rd
        .required(row, "currency", "an ISO 4217 code such as EUR")
        .and_then(|_| rd.parse(row, "currency", Currency::parse));
    let comma = rd.comma_decimal;
    let amount = rd
        .required(row, "amount", "the invoice amount")
        .and_then(|_| rd.parse(row, "amount", |t| parse_amount(t, currency, comma)));
    let paid = rd
        .parse(row, "amount_paid", |t| parse_amount(t, currency, comma))
        .unwrap_or_default();
    let status = rd
        .parse(row, "status", InvoiceStatus::parse)
        .unwrap_or(InvoiceStatus::Open);
    let disputed = rd.boolean(row, "disputed").unwrap_or(false);
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
    let clean = rd.errors == 0;
    match (customer, id, issue, due, amount, currency) {
        (
            Some(customer),
            Some(id),
            Some(issue_date),
            Some(due_date),
            Some(amount),
            Some(currency),
        ) if clean => {
            out.push(Invoice {
                id,
                customer,
                issue_date,
                due_date,
                amount,
                amount_paid: paid,
                currency,
                status,
                disputed,
                line: rd.line,
            });
        }
        (None, _, _, _, Some(amount), Some(currency)) if status == InvoiceStatus::Open => {
            orphans.push((currency, (amount - paid).max(Decimal::ZERO)));
        }
        _ => {}
    }
}

fn decode_payment(
    row: &impl Row,
    rd: &mut RowDefects<'_>,
    index: &CustomerIndex,
    ids: &mut FxHashMap<Box<str>, u64>,
    out: &mut Vec<Payment>,
) {
    let customer = owner(rd, row, index);
    let id = id_field(rd, row, "payment_id", "the payment reference");
    if let Some(id) = &id {
        if let Some(first) = ids.get(id) {
            rd.error("payment_id", format!("duplicate payment_id `{id}`, first on line {first} (expected each payment once)"));
        } else {
            ids.insert(id.clone(), rd.line);
        }
    }
    let invoice_ref = rd.parse(row, "invoice_id", |t| check_id(t).map(|()| Box::from(t)));
    let date = rd.date(row, "date", true);
    let comma = rd.comma_decimal;
    let amount = rd
        .required(row, "amount", "the amount paid")
        .and_then(|_| rd.parse(row, "amount", |t| parse_amount(t, None, comma)));
    let method = rd
        .parse(row, "method", PaymentMethod::parse)
        .unwrap_or(PaymentMethod::Other);
    let status = rd
        .parse(row, "status", PaymentStatus::parse)
        .unwrap_or(PaymentStatus::Ok);
    let clean = rd.errors == 0;
    if let (Some(customer), Some(id), Some(date), Some(amount), true) =
        (customer, id, date, amount, clean)
    {
        out.push(Payment {
            id,
            customer,
            invoice_ref,
            invoice: None,
            date,
            amount,
            method,
            status,
            line: rd.line,
        });
    }
}

fn decode_event(
    row: &impl Row,
    rd: &mut RowDefects<'_>,
    index: &CustomerIndex,
    out: &mut Vec<Event>,
) {
    let customer = owner(rd, row, index);
    let date = rd.date(row, "date", true);
    let channel = rd
        .required(row, "channel", "email, sms, letter, call or web")
        .and_then(|_| rd.parse(row, "channel", Channel::parse));
    let kind = rd
        .required(row, "kind", "an event kind such as reminder_sent")
        .and_then(|_| rd.parse(row, "kind", EventKind::parse));
    let reference = rd.text(row, "reference").map(|v| Box::from(v.as_ref()));
    let note = rd.text(row, "note").map(|v| Box::from(v.as_ref()));
    let clean = rd.errors == 0;
    if let (Some(customer), Some(date), Some(channel), Some(kind), true) =
        (customer, date, channel, kind, clean)
    {
        out.push(Event {
            customer,
            date,
            channel,
            kind,
            reference,
            note,
        });
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
    fn raw(&self, col: &'static str) -> std::result::Result<Option<Cow<'_, str>>, ()> {
        use serde_json::Value;
        let v = self
            .obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(col))
            .map(|(_, v)| v);
        Ok(match v {
            None | Some(Value::Null) => (col == "customer_id")
                .then(|| self.parent_id.map(Cow::Borrowed))
                .flatten(),
            Some(Value::String(s)) => Some(s.trim()).filter(|s| !s.is_empty()).map(Cow::Borrowed),
            Some(other) => Some(Cow::Owned(other.to_string())),
        })
    }

    fn extras(&self) -> Vec<(Arc<str>, Box<str>)> {
        if !self.keep_extra {
            return Vec::new();
        }
        let mut v: Vec<(Arc<str>, Box<str>)> = self
            .obj
            .iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !self.known.contains(&k.as_str())
                    && !matches!(k.as_str(), "invoices" | "payments" | "events")
            })
            .map(|(k, v)| {
                let s = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (
                    Arc::from(k.to_ascii_lowercase().as_str()),
                    s.into_boxed_str(),
                )
            })
            .collect();
        v.sort();
        v
    }
}

fn load_ndjson(path: &Path) -> Result<Loaded> {
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
    let mut out = Loaded {
        sources: Sources {
            customers: file.clone(),
            invoices: file.clone(),
            payments: Some(file.clone()),
            events: Some(file.clone()),
        },
        ..Loaded::default()
    };
    let mut index = CustomerIndex::default();
    let mut inv_ids = FxHashMap::default();
    let mut pay_ids = FxHashMap::default();
    let mut defects = Vec::new();
    for (n, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = n as u64 + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut rd = RowDefects {
            file: &file,
            line,
            customer_id: None,
            out: &mut defects,
            comma_decimal: false,
            errors: 0,
        };
        let obj = match std::str::from_utf8(raw)
            .map_err(|_| "is not valid UTF-8 (expected UTF-8 text)".to_string())
            .and_then(|s| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).map_err(|e| {
                    format!("is not a JSON object: {e} (expected one customer object per line)")
                })
            }) {
            Ok(o) => o,
            Err(msg) => {
                rd.push(None, Severity::Error, format!("line {msg}"));
                out.unidentified_customers.push((file.clone(), line));
                continue;
            }
        };
        let top = JsonRow {
            obj: &obj,
            parent_id: None,
            keep_extra: true,
            known: CUSTOMER_COLS,
        };
        let before = out.customers.len();
        decode_customer(
            &top,
            &mut rd,
            &mut index,
            &mut out.customers,
            &mut out.unidentified_customers,
        );
        let parent = (out.customers.len() > before).then(|| out.customers[before].id.to_string());
        let nested = |key: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .and_then(|(_, v)| v.as_array())
        };
        for (key, known) in [
            ("invoices", INVOICE_COLS),
            ("payments", PAYMENT_COLS),
            ("events", EVENT_COLS),
        ] {
            for item in nested(key).into_iter().flatten() {
                let Some(o) = item.as_object() else {
                    rd.push(
                        None,
                        Severity::Error,
                        format!("an entry of `{key}` is not an object (expected {{\"...\": ...}})"),
                    );
                    continue;
                };
                let r = JsonRow {
                    obj: o,
                    parent_id: parent.as_deref(),
                    keep_extra: false,
                    known,
                };
                let mut rd = RowDefects {
                    file: &file,
                    line,
                    customer_id: None,
                    out: rd.out,
                    comma_decimal: false,
                    errors: 0,
                };
                match key {
                    "invoices" => decode_invoice(
                        &r,
                        &mut rd,
                        &index,
                        &mut inv_ids,
                        &mut out.invoices,
                        &mut out.orphan_invoices,
                    ),
                    "payments" => {
                        decode_payment(&r, &mut rd, &index, &mut pay_ids, &mut out.payments)
                    }
                    _ => decode_event(&r, &mut rd, &index, &mut out.events),
                }
            }
        }
    }
    out.defects = defects;
    Ok(out)
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
}
