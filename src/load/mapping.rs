//! Exports as they come: a table whose columns are not dunwell's, whose rows are not one
//! per record, or whose cells are typed (a spreadsheet) becomes rows the shared decoders
//! read like any CSV row.
//!
//! The table is read whole ([`Grid`], from [`super::csv::read_grid`] or
//! [`super::sheet::read`]); then, in this order: the campaign's `columns:` find each of
//! dunwell's columns under the export's header; `where:` drops the rows that are not
//! receivables; every cell becomes the text the decoders check (a double by its shortest
//! round-trip form, a date cell or serial day as `YYYY-MM-DD`, a text date by the
//! campaign's `date_format`); `group_by:` makes one record of the rows of an invoice,
//! adding up the `sum:` columns — every other column must agree, or the record is
//! rejected naming the rows. The decoders then hold each value to the same rules as a
//! CSV cell's, so a spreadsheet is no back door past them.
//!
//! Mapped tables are read into memory whole, unlike plain CSV: grouping needs every row
//! of an invoice, and exports that need a mapping are accounting exports, not the
//! millions of rows the CSV reader streams.

use super::decode::{Bad, Cell, Decoded, Extra, MAX_EXTRA_NAME, Row, RowDefects, Scratch};
use crate::campaign::{Mapping, TableSpec};
use crate::dataset::columns::{Kind, Table, kind};
use crate::diag::{Defect, Error, Result, Severity};
use crate::values::quote;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::sync::Arc;

/// A table as read, before mapping: its header and rows of typed cells.
pub(super) struct Grid {
    /// `export.csv`, or `export.xlsx:Invoices!` (a row number follows without a colon).
    pub(super) file: Arc<str>,
    pub(super) header_line: u64,
    pub(super) headers: Vec<String>,
    pub(super) rows: Vec<GridRow>,
    pub(super) system: DateSystem,
    /// A `;`-delimited CSV file: amounts may have a decimal comma (as in plain CSV).
    pub(super) comma_decimal: bool,
    /// What a row is called in messages: `line` in a CSV file, `row` in a sheet.
    pub(super) unit: &'static str,
    /// Rows that could not be read at all: (line, message).
    pub(super) broken: Vec<(u64, String)>,
}

pub(super) struct GridRow {
    pub(super) line: u64,
    pub(super) cells: Vec<Value>,
    /// What is wrong with the row as a whole (a CSV row with too few fields).
    pub(super) problem: Option<String>,
}

/// A cell as the file types it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Empty,
    Text(String),
    /// CSV bytes that are not UTF-8.
    NotUtf8,
    /// A spreadsheet's number: an IEEE double, exactly as stored.
    Number(f64),
    Int(i64),
    Bool(bool),
    /// A date cell, converted while the workbook's date system was known.
    Date(std::result::Result<NaiveDate, String>),
    /// A formula error or a duration: no value to read.
    Error(String),
}

/// How a workbook counts days: a number in a date column is a day of this count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DateSystem {
    /// A CSV file: no numbers are typed, so none is a serial day.
    Text,
    /// Excel's default: day 1 is 1900-01-01 and day 60 the 1900-02-29 that never was
    /// (Lotus 1-2-3's leap-year bug, kept for compatibility).
    Excel1900,
    /// Excel for the Mac before 2011 and workbooks saved with "Use 1904 date system": day
    /// 0 is 1904-01-01.
    Excel1904,
    /// OpenDocument's default null date: day 0 is 1899-12-30 (date cells themselves are
    /// ISO dates in ODS).
    Ods,
}

impl DateSystem {
    pub(super) fn excel(is_1904: bool) -> DateSystem {
        if is_1904 {
            DateSystem::Excel1904
        } else {
            DateSystem::Excel1900
        }
    }

    /// The day `serial` (a time of day, the fraction, is dropped as a time after a date
    /// is in a CSV cell).
    pub(super) fn date(self, serial: f64) -> std::result::Result<NaiveDate, String> {
        /// 9999-12-31 in the 1900 system: the last day Excel shows.
        const LAST: f64 = 2_958_465.0;
        if !serial.is_finite() || serial < 0.0 || serial.floor() > LAST {
            return Err(format!(
                "serial day {serial} is not a date (expected a date cell or a day number from 1 to {LAST})"
            ));
        }
        let day = serial.floor() as u64;
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a real date");
        let (base, day) = match self {
            DateSystem::Excel1900 => match day {
                0 => {
                    return Err(
                        "is serial day 0, which Excel shows as 1900-01-00, a day that does not exist (expected a real date)"
                            .into(),
                    );
                }
                60 => {
                    return Err(
                        "is serial day 60, which Excel shows as 1900-02-29, a day that did not exist (Excel's 1900 leap-year bug; expected a real date)"
                            .into(),
                    );
                }
                // Days before the phantom leap day count from 1899-12-31; after it, one
                // fewer real day has passed.
                1..60 => (ymd(1899, 12, 31), day),
                _ => (ymd(1899, 12, 30), day),
            },
            DateSystem::Excel1904 => (ymd(1904, 1, 1), day),
            DateSystem::Ods | DateSystem::Text => (ymd(1899, 12, 30), day),
        };
        base.checked_add_days(Days::new(day))
            .ok_or_else(|| format!("serial day {serial} is past the last date"))
    }
}

/// A mapped table, its rows ready for the decoders.
pub(super) struct MappedTable {
    file: Arc<str>,
    rows: Vec<MappedRow>,
    broken: Vec<(u64, String)>,
    comma_decimal: bool,
}

/// One record's row: the text of each known column, and what was found on the way.
pub(super) struct MappedRow {
    line: u64,
    names: &'static [&'static str],
    cells: Vec<Option<std::result::Result<String, Bad>>>,
    extras: Vec<(Arc<str>, std::result::Result<String, Bad>)>,
    notes: Vec<Note>,
}

#[derive(Clone)]
struct Note {
    column: Option<&'static str>,
    severity: Severity,
    message: String,
}

impl MappedTable {
    /// Reads the table `spec` names, as `table`.
    pub(super) fn open(spec: &TableSpec, table: Table) -> Result<MappedTable> {
        let grid = if spec.is_spreadsheet() {
            super::sheet::read(&spec.file, spec.sheet.as_deref())?
        } else {
            super::csv::read_grid(&spec.file)?
        };
        let plain = Mapping::default();
        build(grid, spec.mapping.as_ref().unwrap_or(&plain), table)
    }

    pub(super) fn file(&self) -> Arc<str> {
        self.file.clone()
    }

    pub(super) fn decode<T>(
        &self,
        decode: impl Fn(&MappedRow, &mut RowDefects<'_>) -> Option<T>,
    ) -> Decoded<T> {
        let mut scratch = Scratch::default();
        let mut records = Vec::with_capacity(self.rows.len());
        for (line, message) in &self.broken {
            scratch
                .row(&self.file, *line, false)
                .push(None, Severity::Error, message.clone());
        }
        for row in &self.rows {
            let mut rd = scratch.row(&self.file, row.line, self.comma_decimal);
            // Before decoding: an error makes the decoder reject the record, and each
            // note is attributed to the row's customer once the decoder knows it.
            for n in &row.notes {
                rd.push(n.column, n.severity, n.message.clone());
            }
            if let Some(r) = decode(row, &mut rd) {
                records.push(r);
            }
        }
        (records, scratch.defects, scratch.aside)
    }
}

impl Row for MappedRow {
    fn raw(&self, col: usize) -> Cell<'_> {
        match &self.cells[col] {
            None => Ok(None),
            Some(Ok(s)) => Ok(Some(Cow::Borrowed(s.as_str()))),
            Some(Err(bad)) => Err(bad.clone()),
        }
    }

    fn name(&self, col: usize) -> &'static str {
        self.names[col]
    }

    fn extras(&self) -> Vec<Extra<'_>> {
        self.extras
            .iter()
            .map(|(name, v)| {
                (
                    Cow::Borrowed(&**name),
                    v.as_ref()
                        .map(|s| Cow::Borrowed(s.as_str()))
                        .map_err(Bad::clone),
                )
            })
            .collect()
    }
}

/// A header as compared: trimmed, without regard to case, without the `*` Xero's and
/// other import templates put before a required column's name.
fn norm(header: &str) -> String {
    header.trim().trim_start_matches('*').trim().to_lowercase()
}

/// The headers found, for a message: the first twenty, and how many more.
fn found(headers: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut s = headers
        .iter()
        .take(SHOWN)
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(", ");
    if headers.len() > SHOWN {
        s.push_str(&format!(" and {} more", headers.len() - SHOWN));
    }
    s
}

fn build(grid: Grid, m: &Mapping, table: Table) -> Result<MappedTable> {
    let names = table.columns();
    let lower: Vec<String> = grid.headers.iter().map(|h| norm(h)).collect();
    let header_defect = |column: Option<&'static str>, message: String| Defect {
        file: grid.file.clone(),
        line: grid.header_line,
        column,
        customer_id: None,
        message,
        severity: Severity::Error,
    };
    let position = |header: &str| -> std::result::Result<Option<usize>, String> {
        let n = norm(header);
        let mut at = lower
            .iter()
            .enumerate()
            .filter(|(_, h)| **h == n)
            .map(|(i, _)| i);
        match (at.next(), at.next()) {
            (None, _) => Ok(None),
            (Some(p), None) => Ok(Some(p)),
            (Some(a), Some(b)) => Err(format!(
                "column {} appears twice, as field {} and {} (expected each column once)",
                quote(header.trim()),
                a + 1,
                b + 1
            )),
        }
    };
    let listed = found(&grid.headers);
    let mut errors = Vec::new();
    let mut known: Vec<Option<usize>> = vec![None; names.len()];
    for (i, &name) in names.iter().enumerate() {
        let mapped = m.header_of(name);
        if mapped.is_none() && m.absent.contains(&name) {
            continue;
        }
        let header = mapped.map_or(name, |c| c.header.as_str());
        let defaulted = m.defaults.iter().any(|(n, _)| *n == name);
        let required = table.required().contains(&i) && !defaulted;
        match position(header) {
            Err(msg) => errors.push(header_defect(Some(name), msg)),
            Ok(Some(p)) => known[i] = Some(p),
            Ok(None) => match mapped {
                Some(c) if !c.from_preset || required => {
                    let by = match (c.from_preset, m.preset) {
                        (true, Some(p)) => format!("preset `{p}`"),
                        _ => "the campaign's `columns:`".to_string(),
                    };
                    errors.push(header_defect(
                        Some(name),
                        format!(
                            "column {} is not in the header, and {by} reads `{name}` from it (expected a header named {}; found: {listed})",
                            quote(&c.header),
                            quote(&c.header)
                        ),
                    ));
                }
                None if required => errors.push(header_defect(
                    Some(name),
                    format!(
                        "required column is missing (expected a header named `{name}`, or the export's header for it under `columns:` in the campaign; found: {listed})"
                    ),
                )),
                _ => {}
            },
        }
    }
    let mut filter: Vec<(usize, Vec<String>)> = Vec::new();
    for (header, values) in &m.filter {
        match position(header) {
            Ok(Some(p)) => filter.push((p, values.iter().map(|v| v.trim().to_lowercase()).collect())),
            Ok(None) => errors.push(header_defect(
                None,
                format!(
                    "column {} is not in the header, and `where:` keeps rows by it (expected a header named {}; found: {listed})",
                    quote(header),
                    quote(header)
                ),
            )),
            Err(msg) => errors.push(header_defect(None, msg)),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Data(errors));
    }

    // Unknown columns are customer.extra, as in a plain customers file — but not in a
    // grouped table, whose other columns belong to the invoice lines.
    let mut extra: Vec<(usize, Arc<str>)> = Vec::new();
    if table == Table::Customers && m.group_by.is_none() {
        for (p, name) in lower.iter().enumerate() {
            let used = known.contains(&Some(p)) || filter.iter().any(|(f, _)| *f == p);
            if !used
                && !name.is_empty()
                && name.len() <= MAX_EXTRA_NAME
                && !extra.iter().any(|(_, n)| **n == **name)
            {
                extra.push((p, Arc::from(name.as_str())));
            }
        }
    }

    let opts = Opts {
        date_format: m.date_format.as_deref(),
        decimal: m.decimal,
        system: grid.system,
    };
    let kinds: Vec<Kind> = names.iter().map(|n| kind(n)).collect();
    let default_of = |i: usize| {
        m.defaults
            .iter()
            .find(|(n, _)| *n == names[i])
            .map(|(_, v)| v.clone())
    };
    let mut rows = Vec::with_capacity(grid.rows.len());
    for r in grid.rows {
        let cell = |p: usize| r.cells.get(p).unwrap_or(&Value::Empty);
        let kept = filter
            .iter()
            .all(|(p, values)| values.contains(&plain(cell(*p)).to_lowercase()));
        if !kept {
            continue;
        }
        let mut notes = Vec::new();
        if let Some(problem) = &r.problem {
            notes.push(Note {
                column: None,
                severity: Severity::Error,
                message: problem.clone(),
            });
        }
        let mut cells = Vec::with_capacity(names.len());
        for (i, pos) in known.iter().enumerate() {
            let v = pos.map_or(&Value::Empty, cell);
            let (text, warning) = cell_text(v, kinds[i], &opts);
            if let Some(message) = warning {
                notes.push(Note {
                    column: Some(names[i]),
                    severity: Severity::Warning,
                    message,
                });
            }
            cells.push(match text {
                Ok(None) => default_of(i).map(Ok),
                Ok(Some(s)) => Some(Ok(s)),
                Err(bad) => Some(Err(bad)),
            });
        }
        let extras = extra
            .iter()
            .filter_map(|(p, name)| {
                let (text, _) = cell_text(cell(*p), Kind::Text, &opts);
                match text {
                    Ok(None) => None,
                    Ok(Some(s)) => Some((name.clone(), Ok(s))),
                    Err(bad) => Some((name.clone(), Err(bad))),
                }
            })
            .collect();
        rows.push(MappedRow {
            line: r.line,
            names,
            cells,
            extras,
            notes,
        });
    }
    let comma_decimal = m.decimal.is_none() && grid.comma_decimal;
    if let Some(by) = m.group_by {
        let by = names
            .iter()
            .position(|n| *n == by)
            .expect("a checked column");
        let sum: Vec<usize> = m
            .sum
            .iter()
            .filter_map(|s| names.iter().position(|n| n == s))
            .collect();
        rows = group(rows, by, &sum, grid.unit, comma_decimal);
    }
    Ok(MappedTable {
        file: grid.file,
        rows,
        broken: grid.broken,
        comma_decimal,
    })
}

/// A cell as a `where:` filter compares it.
fn plain(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Number(f) => format!("{f}"),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Date(Ok(d)) => d.to_string(),
        _ => String::new(),
    }
}

struct Opts<'a> {
    date_format: Option<&'a str>,
    decimal: Option<char>,
    system: DateSystem,
}

/// A cell as the text its column's decoder checks, or why it has none; and a warning to
/// go with it (a number in an id column).
fn cell_text(
    v: &Value,
    kind: Kind,
    o: &Opts,
) -> (std::result::Result<Option<String>, Bad>, Option<String>) {
    let bad = |message: String| (Err(Bad::Cell(message)), None);
    let ok = |s: String| (Ok(Some(s)), None);
    match v {
        Value::Empty => (Ok(None), None),
        Value::NotUtf8 => (Err(Bad::Utf8), None),
        Value::Error(message) => bad(message.clone()),
        Value::Bool(b) => ok(b.to_string()),
        Value::Date(Ok(d)) => ok(d.to_string()),
        Value::Date(Err(message)) => bad(message.clone()),
        Value::Text(s) => match (kind, o.date_format, o.decimal) {
            (Kind::Date, Some(f), _) => match NaiveDate::parse_from_str(s, f) {
                Ok(d) => ok(d.to_string()),
                Err(_) => bad(format!(
                    "{} is not a date written as `{f}` (expected a date such as {}, as date_format says)",
                    quote(s),
                    example(f)
                )),
            },
            // A date in another shape is most often a table whose `date_format` was not
            // given: the message says where to give it.
            (Kind::Date, None, _) => match crate::values::parse_date(s) {
                Err(msg) if msg.contains("is not a date") => bad(format!(
                    "{}, or in the table's `date_format:` in the campaign)",
                    msg.trim_end_matches(')')
                )),
                _ => ok(s.clone()),
            },
            (Kind::Amount, _, Some(',')) => {
                if s.contains('.') || s.matches(',').count() > 1 {
                    bad(format!(
                        "{} is not an amount with a decimal comma (expected digits with at most one `,` and no thousands separators, as decimal: \",\" says)",
                        quote(s)
                    ))
                } else {
                    ok(s.replace(',', "."))
                }
            }
            _ => ok(s.clone()),
        },
        Value::Int(i) => match kind {
            Kind::Id => (
                Ok(Some(i.to_string())),
                Some(numeric_id_warning(&i.to_string())),
            ),
            Kind::Date => match o.system.date(*i as f64) {
                Ok(d) => ok(d.to_string()),
                Err(message) => bad(message),
            },
            _ => ok(i.to_string()),
        },
        Value::Number(f) => {
            if !f.is_finite() {
                return bad(format!("{f} is not a number (expected a finite value)"));
            }
            match kind {
                Kind::Id if f.fract() != 0.0 => bad(format!(
                    "is the number {f} (expected an id; format the column as text in the spreadsheet)"
                )),
                Kind::Id => {
                    // Display of an integral double is its integer text (1e20 too), never
                    // an exponent.
                    let text = format!("{f}");
                    let warning = numeric_id_warning(&text);
                    (Ok(Some(text)), Some(warning))
                }
                Kind::Date => match o.system.date(*f) {
                    Ok(d) => ok(d.to_string()),
                    Err(message) => bad(message),
                },
                // The shortest text that reads back as the same double: 0.1 is `0.1`, the
                // sum 0.1 + 0.2 is `0.30000000000000004` (and too many decimals for any
                // currency, as it should be), never an exponent.
                Kind::Amount | Kind::Text => ok(format!("{f}")),
            }
        }
    }
}

fn numeric_id_warning(text: &str) -> String {
    format!(
        "is a number cell ({text}); the id is read as `{text}`, but a spreadsheet keeps 15 significant digits, so a longer id may have lost some (expected a text cell: format the column as text)"
    )
}

/// 2026-03-31 written in format `f`, for a message.
fn example(f: &str) -> String {
    NaiveDate::from_ymd_opt(2026, 3, 31)
        .expect("a real date")
        .format(f)
        .to_string()
}

/// One record per value of column `by`, in the order each value is first seen. A row
/// with the column empty continues the group above it, as QuickBooks writes an invoice's
/// later lines; a row with a broken value stays on its own (the decoder says what is
/// wrong with it).
fn group(
    rows: Vec<MappedRow>,
    by: usize,
    sum: &[usize],
    unit: &str,
    comma_decimal: bool,
) -> Vec<MappedRow> {
    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    let mut groups: Vec<Vec<MappedRow>> = Vec::new();
    let mut last: Option<usize> = None;
    for r in rows {
        let g = match &r.cells[by] {
            Some(Ok(key)) => match index.get(key) {
                Some(&g) => g,
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push(Vec::new());
                    groups.len() - 1
                }
            },
            None if last.is_some() => last.expect("a group above"),
            _ => {
                groups.push(Vec::new());
                groups.len() - 1
            }
        };
        groups[g].push(r);
        last = Some(g);
    }
    groups
        .into_iter()
        .map(|g| merge(g, by, sum, unit, comma_decimal))
        .collect()
}

/// The rows of one group as one: summed columns added up, every other column the value
/// its rows agree on (an empty cell agrees with any: continuation rows often leave the
/// customer and dates out). The record is on its first row's line; what is wrong on a
/// later row says which.
fn merge(
    rows: Vec<MappedRow>,
    by: usize,
    sum: &[usize],
    unit: &str,
    comma_decimal: bool,
) -> MappedRow {
    if rows.len() == 1 {
        return rows.into_iter().next().expect("one row");
    }
    let first = rows[0].line;
    let names = rows[0].names;
    let key = match &rows[0].cells[by] {
        Some(Ok(k)) => k.clone(),
        _ => String::new(),
    };
    let on = |line: u64, message: String| {
        if line == first {
            message
        } else {
            format!("on {unit} {line}: {message}")
        }
    };
    let mut notes: Vec<Note> = Vec::new();
    for r in &rows {
        for n in &r.notes {
            notes.push(Note {
                message: on(r.line, n.message.clone()),
                ..n.clone()
            });
        }
    }
    let mut cells = Vec::with_capacity(names.len());
    for c in 0..names.len() {
        let bad = rows.iter().find_map(|r| match &r.cells[c] {
            Some(Err(b)) => Some((r.line, b)),
            _ => None,
        });
        if let Some((line, b)) = bad {
            cells.push(Some(Err(if line == first {
                b.clone()
            } else {
                Bad::Cell(on(line, b.message()))
            })));
            continue;
        }
        let values: Vec<(u64, &str)> = rows
            .iter()
            .filter_map(|r| match &r.cells[c] {
                Some(Ok(s)) => Some((r.line, s.as_str())),
                _ => None,
            })
            .collect();
        let Some(&(first_line, value)) = values.first() else {
            cells.push(None);
            continue;
        };
        if sum.contains(&c) {
            cells.push(Some(
                add_up(&values, comma_decimal).map_err(|(line, msg)| Bad::Cell(on(line, msg))),
            ));
            continue;
        }
        if let Some(&(line, other)) = values.iter().find(|(_, v)| *v != value) {
            let hint = if kind(names[c]) == Kind::Amount {
                format!(", or `sum: [{}]` to add the rows up", names[c])
            } else {
                String::new()
            };
            // A group of a thousand lines is named by its first few.
            const NAMED: usize = 10;
            let mut rows_named: Vec<String> = rows
                .iter()
                .take(NAMED)
                .map(|r| r.line.to_string())
                .collect();
            if rows.len() > NAMED {
                rows_named.push(format!("and {} more", rows.len() - NAMED));
            }
            notes.push(Note {
                column: Some(names[c]),
                severity: Severity::Error,
                message: format!(
                    "{} on {unit} {first_line} but {} on {unit} {line}, rows of the same {} `{key}` ({unit}s {}) (expected one value per {}{hint})",
                    quote(value),
                    quote(other),
                    names[by],
                    rows_named.join(", "),
                    names[by],
                ),
            });
        }
        cells.push(Some(Ok(value.to_string())));
    }
    MappedRow {
        line: first,
        names,
        cells,
        extras: Vec::new(),
        notes,
    }
}

/// The sum of a group's amounts. A line may be negative (a discount, a credited line);
/// the total is held to the amount rules by the decoder, with the currency's decimals.
fn add_up(
    values: &[(u64, &str)],
    comma_decimal: bool,
) -> std::result::Result<String, (u64, String)> {
    let mut total = Decimal::ZERO;
    for &(line, text) in values {
        let (negative, body) = match text.trim().strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let v = crate::money::parse_amount(body, None, comma_decimal).map_err(|m| (line, m))?;
        total = total
            .checked_add(if negative { -v } else { v })
            .ok_or_else(|| (line, format!("{} makes the sum too large", quote(text))))?;
    }
    Ok(total.normalize().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn serial_days_in_both_excel_systems() {
        let x = DateSystem::Excel1900;
        assert_eq!(x.date(1.0), Ok(ymd(1900, 1, 1)));
        assert_eq!(x.date(59.0), Ok(ymd(1900, 2, 28)));
        assert!(x.date(60.0).unwrap_err().contains("1900-02-29"));
        assert_eq!(x.date(61.0), Ok(ymd(1900, 3, 1)));
        assert!(x.date(0.0).is_err());
        assert_eq!(
            x.date(45_943.541),
            Ok(ymd(2025, 10, 13)),
            "a time of day is dropped"
        );
        assert_eq!(x.date(46_112.0), Ok(ymd(2026, 3, 31)));
        let m = DateSystem::Excel1904;
        assert_eq!(m.date(0.0), Ok(ymd(1904, 1, 1)));
        // The same day is 1,462 serial days fewer in the 1904 system.
        assert_eq!(m.date(46_112.0 - 1_462.0), Ok(ymd(2026, 3, 31)));
        assert_eq!(DateSystem::Ods.date(46_112.0), Ok(ymd(2026, 3, 31)));
        assert!(x.date(-1.0).is_err());
        assert!(x.date(f64::NAN).is_err());
        assert!(x.date(3e6).is_err());
    }

    fn text(v: Value, kind: Kind) -> (std::result::Result<Option<String>, Bad>, Option<String>) {
        let o = Opts {
            date_format: Some("%d.%m.%Y"),
            decimal: Some(','),
            system: DateSystem::Excel1900,
        };
        cell_text(&v, kind, &o)
    }

    #[test]
    fn doubles_become_their_shortest_decimal() {
        let amount = |f: f64| text(Value::Number(f), Kind::Amount).0.unwrap().unwrap();
        assert_eq!(amount(12.5), "12.5");
        assert_eq!(amount(0.1), "0.1");
        assert_eq!(amount(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(amount(1e-7), "0.0000001");
        assert_eq!(amount(12.345), "12.345");
        assert_eq!(amount(1e15), "1000000000000000");
        assert_eq!(amount(123_456_789_012.34), "123456789012.34");
        // …which the amount rules then judge: too many decimals for EUR is an error.
        let eur = crate::money::Currency::parse("EUR").ok();
        assert!(crate::money::parse_amount(&amount(0.1 + 0.2), eur, false).is_err());
        assert!(crate::money::parse_amount(&amount(12.345), eur, false).is_err());
        assert!(crate::money::parse_amount(&amount(12.34), eur, false).is_ok());
        assert!(text(Value::Number(f64::INFINITY), Kind::Amount).0.is_err());
    }

    #[test]
    fn numbers_as_ids_warn_and_keep_their_integer_text() {
        let (v, w) = text(Value::Number(4711.0), Kind::Id);
        assert_eq!(v.unwrap().as_deref(), Some("4711"));
        assert!(w.unwrap().contains("15 significant digits"));
        let (v, _) = text(Value::Number(1.2345678901234567e19), Kind::Id);
        assert_eq!(v.unwrap().as_deref(), Some("12345678901234567000"));
        let (v, w) = text(Value::Number(12.5), Kind::Id);
        assert!(matches!(v, Err(Bad::Cell(m)) if m.contains("12.5")));
        assert!(w.is_none());
        let (v, w) = text(Value::Int(42), Kind::Id);
        assert_eq!((v.unwrap().as_deref(), w.is_some()), (Some("42"), true));
    }

    #[test]
    fn text_dates_and_decimal_commas_follow_the_campaign() {
        let date = |s: &str| text(Value::Text(s.into()), Kind::Date).0;
        assert_eq!(date("31.03.2026").unwrap().as_deref(), Some("2026-03-31"));
        let Err(Bad::Cell(m)) = date("2026-03-31") else {
            panic!()
        };
        assert_eq!(
            m,
            "`2026-03-31` is not a date written as `%d.%m.%Y` (expected a date such as 31.03.2026, as date_format says)"
        );
        assert!(date("30.02.2026").is_err());
        let iso = Opts {
            date_format: None,
            decimal: None,
            system: DateSystem::Text,
        };
        let Err(Bad::Cell(m)) = cell_text(&Value::Text("11/06/2026".into()), Kind::Date, &iso).0
        else {
            panic!()
        };
        assert_eq!(
            m,
            "`11/06/2026` is not a date (expected YYYY-MM-DD, e.g. 2026-03-31, or in the table's `date_format:` in the campaign)"
        );
        assert_eq!(
            text(Value::Number(46_112.0), Kind::Date)
                .0
                .unwrap()
                .as_deref(),
            Some("2026-03-31")
        );
        let amount = |s: &str| text(Value::Text(s.into()), Kind::Amount).0;
        assert_eq!(amount("12,50").unwrap().as_deref(), Some("12.50"));
        assert!(amount("1.234,50").is_err());
        assert!(amount("1,234,50").is_err());
    }

    #[test]
    fn sums_allow_negative_lines() {
        assert_eq!(
            add_up(&[(2, "10.00"), (3, "-2.5"), (4, "0.30")], false),
            Ok("7.8".into())
        );
        assert_eq!(add_up(&[(2, "1,5"), (3, "2")], true), Ok("3.5".into()));
        let Err((3, m)) = add_up(&[(2, "1"), (3, "abc")], false) else {
            panic!()
        };
        assert!(m.contains("`abc` is not a decimal amount"), "{m}");
    }
}
