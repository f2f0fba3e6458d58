//! `data:` — where the export is and how its tables are read.
//!
//! A table is a path (`invoices: invoices.csv`, the export already in dunwell's columns)
//! or a mapping: the file (CSV or a spreadsheet, by its extension), the sheet, the
//! export's header for each of dunwell's columns, which rows count and how rows that
//! are not one per invoice are grouped (docs/input.md). Everything a mapping names that
//! dunwell does not know — a column, a preset, a date format — is a campaign error at
//! its place in the file, found before any row is read.

use super::presets;
use crate::dataset::columns::{Kind, Table, kind};
use crate::diag::{Diagnostic, Error, Result, did_you_mean};
use crate::spans::Spans;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// `data:` as written: one struct, so that a misspelt key gets a "did you mean".
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawData {
    customers: Option<RawTable>,
    invoices: Option<RawTable>,
    payments: Option<RawTable>,
    events: Option<RawTable>,
    ndjson: Option<PathBuf>,
}

/// One table as written: a path, or a path with a mapping.
#[derive(Clone, Debug)]
enum RawTable {
    Path(PathBuf),
    Mapped(Box<RawMapping>),
}

#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    file: PathBuf,
    #[serde(default)]
    sheet: Option<Text>,
    #[serde(default)]
    preset: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, Text>,
    #[serde(default, rename = "where")]
    filter: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    group_by: Option<String>,
    #[serde(default)]
    sum: Vec<String>,
    #[serde(default)]
    defaults: BTreeMap<String, Text>,
    #[serde(default)]
    date_format: Option<String>,
    #[serde(default)]
    decimal: Option<String>,
}

/// Where the export is; paths are relative to the campaign file.
// One per run: its size is of no account, and boxing would only add noise to every match.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSpec {
    /// One table per kind of record, each a CSV file or a sheet of a spreadsheet.
    Tables {
        customers: TableSpec,
        invoices: TableSpec,
        payments: Option<TableSpec>,
        events: Option<TableSpec>,
    },
    Ndjson {
        ndjson: PathBuf,
    },
}

/// One table: its file, its sheet when the file is a spreadsheet, its mapping when its
/// columns are not dunwell's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub file: PathBuf,
    /// `None`: the first sheet of a spreadsheet (a CSV file has none).
    pub sheet: Option<String>,
    pub mapping: Option<Mapping>,
}

impl From<PathBuf> for TableSpec {
    fn from(file: PathBuf) -> TableSpec {
        TableSpec {
            file,
            sheet: None,
            mapping: None,
        }
    }
}

impl TableSpec {
    /// Whether the file is read as a spreadsheet (by its extension; anything else is
    /// CSV, as before spreadsheets were read).
    pub fn is_spreadsheet(&self) -> bool {
        is_spreadsheet(&self.file)
    }
}

pub fn is_spreadsheet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| SPREADSHEET_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// What calamine reads: Excel 2007+ (and with macros), binary and 97–2003 workbooks,
/// OpenDocument spreadsheets.
const SPREADSHEET_EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// How a table's columns and rows become dunwell's: a preset's and the campaign's
/// settings, merged (the campaign's win).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    /// dunwell's column → the export's header, for every column mapped.
    pub columns: Vec<MappedColumn>,
    /// A row counts when, for every entry, the cell under the header is one of the values
    /// (compared trimmed and without regard to case).
    pub filter: Vec<(String, Vec<String>)>,
    /// Rows with the same value in this column are one record.
    pub group_by: Option<&'static str>,
    /// Amount columns added up over a group's rows; every other column must agree.
    pub sum: Vec<&'static str>,
    /// Values for columns the export leaves empty or does not have (`currency: EUR`).
    pub defaults: Vec<(&'static str, String)>,
    /// chrono's `strftime` format of dates written as text (`%d.%m.%Y`).
    pub date_format: Option<String>,
    /// The decimal separator of amounts written as text.
    pub decimal: Option<char>,
    /// The preset this mapping started from, for messages.
    pub preset: Option<&'static str>,
    /// dunwell's columns the export has none of, though it has a header of the same name
    /// meaning something else (Xero's `Status` is `Awaiting Payment`, not `open`).
    pub absent: Vec<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedColumn {
    pub name: &'static str,
    pub header: String,
    /// Mapped by a preset, not by the campaign: an optional column the export does not
    /// have is left out instead of being an error (exports differ in their columns).
    pub from_preset: bool,
}

impl Mapping {
    pub fn header_of(&self, column: &str) -> Option<&MappedColumn> {
        self.columns.iter().find(|c| c.name == column)
    }
}

impl RawData {
    /// The data section checked: every problem at its place in `at`; the whole section
    /// when its shape is wrong (`ndjson` with tables, no invoices).
    pub(super) fn spec(
        self,
        whole: impl Fn(&str) -> Diagnostic,
        at: &Spans,
        text: &str,
    ) -> std::result::Result<DataSpec, Vec<Diagnostic>> {
        match self {
            RawData {
                ndjson: Some(ndjson),
                customers: None,
                invoices: None,
                payments: None,
                events: None,
            } => Ok(DataSpec::Ndjson { ndjson }),
            RawData {
                ndjson: Some(_), ..
            } => Err(vec![whole(
                "`ndjson` goes alone (expected either `ndjson:` or the tables)",
            )]),
            RawData {
                customers: Some(customers),
                invoices: Some(invoices),
                payments,
                events,
                ndjson: None,
            } => {
                let mut problems = Vec::new();
                let mut table =
                    |raw: RawTable, t: Table| table_spec(raw, t, (at, text), &mut problems);
                let spec = DataSpec::Tables {
                    customers: table(customers, Table::Customers),
                    invoices: table(invoices, Table::Invoices),
                    payments: payments.map(|p| table(p, Table::Payments)),
                    events: events.map(|e| table(e, Table::Events)),
                };
                if problems.is_empty() {
                    Ok(spec)
                } else {
                    Err(problems)
                }
            }
            _ => Err(vec![whole(
                "`customers` and `invoices` are required (expected `{customers: …, invoices: …, payments: …, events: …}` or `{ndjson: …}`)",
            )]),
        }
    }
}

/// One table checked; its problems are added to `problems`.
fn table_spec(
    raw: RawTable,
    table: Table,
    (at, text): (&Spans, &str),
    problems: &mut Vec<Diagnostic>,
) -> TableSpec {
    let raw = match raw {
        RawTable::Path(file) => return file.into(),
        RawTable::Mapped(m) => *m,
    };
    let key = table.key();
    let err = |path: &[&str], msg: String| {
        let full: Vec<&str> = ["data", key]
            .into_iter()
            .chain(path.iter().copied())
            .collect();
        at.error(&full, format!("data.{key}.{}: {msg}", path[0]))
    };
    let names = table.columns();
    let column = |name: &str, what: &str, problems: &mut Vec<Diagnostic>, path: &[&str]| {
        let found = names
            .iter()
            .copied()
            .find(|n| n.eq_ignore_ascii_case(name.trim()));
        if found.is_none() {
            let mut msg = format!(
                "unknown column `{name}` (expected {what} of the {key} table: {})",
                names.join(", ")
            );
            if let Some(close) = did_you_mean(name, names.iter().copied()) {
                msg = format!(
                    "unknown column `{name}` — did you mean `{close}`? (expected {what} of the {key} table)"
                );
            }
            problems.push(err(path, msg));
        }
        found
    };

    let mut mapping = Mapping::default();
    if let Some(p) = raw.preset.as_deref() {
        match presets::find(p) {
            Some(preset) => match preset.table(table) {
                Some(t) => {
                    mapping = t.mapping();
                    mapping.preset = Some(preset.name);
                }
                None => problems.push(err(
                    &["preset"],
                    format!(
                        "preset `{}` has no {key} table (expected it under {})",
                        preset.name,
                        preset.tables().join(" or ")
                    ),
                )),
            },
            None => {
                let known = presets::names();
                let hint = did_you_mean(p, known.iter().copied())
                    .map(|s| format!(" — did you mean `{s}`?"))
                    .unwrap_or_default();
                problems.push(err(
                    &["preset"],
                    format!(
                        "unknown preset `{p}`{hint} (expected one of {})",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    for (name, header) in &raw.columns {
        let before = problems.len();
        let found = column(name, "a column", problems, &["columns", name]);
        under_key(&mut problems[before..], name, text);
        let Some(name) = found else {
            continue;
        };
        if header.0.trim().is_empty() {
            problems.push(err(
                &["columns", name],
                format!("the header for `{name}` is empty (expected the export's column name)"),
            ));
            continue;
        }
        mapping.columns.retain(|c| c.name != name);
        mapping.absent.retain(|a| *a != name);
        mapping.columns.push(MappedColumn {
            name,
            header: header.0.trim().to_string(),
            from_preset: false,
        });
    }
    mapping
        .columns
        .sort_by_key(|c| names.iter().position(|n| *n == c.name));
    if !raw.filter.is_empty() {
        mapping.filter = raw
            .filter
            .into_iter()
            .map(|(header, values)| (header.trim().to_string(), values.0))
            .collect();
    }
    if let Some(g) = &raw.group_by {
        mapping.group_by = column(g, "a column", problems, &["group_by"]);
    }
    if !raw.sum.is_empty() {
        mapping.sum.clear();
        for (k, s) in raw.sum.iter().enumerate() {
            let Some(name) = column(s, "an amount column", problems, &["sum", &k.to_string()])
            else {
                continue;
            };
            if kind(name) != Kind::Amount {
                problems.push(err(
                    &["sum", &k.to_string()],
                    format!("`{name}` is not an amount (expected amount columns only: only amounts add up)"),
                ));
            } else if !mapping.sum.contains(&name) {
                mapping.sum.push(name);
            }
        }
    }
    if !mapping.sum.is_empty() && mapping.group_by.is_none() {
        problems.push(err(
            &["sum"],
            "`sum` adds up the rows of a group (expected `group_by:` with it)".into(),
        ));
    }
    for (name, value) in &raw.defaults {
        let before = problems.len();
        let found = column(name, "a column", problems, &["defaults", name]);
        under_key(&mut problems[before..], name, text);
        if let Some(name) = found {
            mapping.defaults.retain(|(n, _)| *n != name);
            mapping.defaults.push((name, value.0.trim().to_string()));
        }
    }
    if let Some(f) = raw.date_format {
        if let Err(msg) = check_date_format(&f) {
            problems.push(err(&["date_format"], msg));
        }
        mapping.date_format = Some(f);
    }
    match raw.decimal.as_deref() {
        None => {}
        Some(".") => mapping.decimal = Some('.'),
        Some(",") => mapping.decimal = Some(','),
        Some(other) => problems.push(err(
            &["decimal"],
            format!("`{other}` is not a decimal separator (expected \".\" or \",\")"),
        )),
    }
    let sheet = raw.sheet.map(|s| s.0);
    if sheet.is_some() && !is_spreadsheet(&raw.file) {
        problems.push(err(
            &["sheet"],
            format!(
                "{} is not a spreadsheet (expected a sheet only for .xlsx, .xlsm, .xlsb, .xls or .ods files)",
                raw.file.display()
            ),
        ));
    }
    TableSpec {
        file: raw.file,
        sheet,
        mapping: Some(mapping),
    }
}

/// Moves each of `problems` from a value to its key `key`, when the key is before the
/// value on its line: in `columns: {invoce_id: "Invoice No"}` the wrong name is the key,
/// and the caret belongs under it (spans know where values are, not keys).
fn under_key(problems: &mut [Diagnostic], key: &str, text: &str) {
    for d in problems {
        let Some(line) = d.line.checked_sub(1).and_then(|l| text.lines().nth(l)) else {
            continue;
        };
        let before: String = line.chars().take(d.column.saturating_sub(1)).collect();
        if let Some(at) = before.rfind(key) {
            d.column = before[..at].chars().count() + 1;
            d.width = key.chars().count();
        }
    }
}

/// A `strftime` format that can read a date: chrono's items, and a day, a month and a
/// year among them (a format without a year would read every date into one year).
fn check_date_format(f: &str) -> std::result::Result<(), String> {
    use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
    let (mut day, mut month, mut year) = (false, false, false);
    for item in StrftimeItems::new(f) {
        match item {
            Item::Error => {
                return Err(format!(
                    "`{f}` is not a date format (expected strftime fields such as %d.%m.%Y)"
                ));
            }
            Item::Numeric(Numeric::Day, _) => day = true,
            Item::Numeric(Numeric::Month, _)
            | Item::Fixed(Fixed::ShortMonthName | Fixed::LongMonthName) => month = true,
            Item::Numeric(Numeric::Year, _) => year = true,
            Item::Numeric(Numeric::YearMod100, _) => {
                return Err(format!(
                    "`{f}` has a two-digit year (expected %Y: which century 26 is in is a guess)"
                ));
            }
            _ => {}
        }
    }
    if day && month && year {
        Ok(())
    } else {
        Err(format!(
            "`{f}` does not name a day, a month and a year (expected %d, %m and %Y, as in %d.%m.%Y)"
        ))
    }
}

impl DataSpec {
    /// The files of a `--data DIR` folder: `debtors.ndjson`, or the CSV files.
    pub fn from_dir(dir: &Path) -> Result<DataSpec> {
        let nd = dir.join("debtors.ndjson");
        if nd.is_file() {
            return Ok(DataSpec::Ndjson { ndjson: nd });
        }
        let customers = dir.join("customers.csv");
        let invoices = dir.join("invoices.csv");
        if !customers.is_file() || !invoices.is_file() {
            return Err(Error::Input(format!(
                "--data {}: expected a folder with customers.csv and invoices.csv (and optionally payments.csv, events.csv), or debtors.ndjson",
                dir.display()
            )));
        }
        let optional = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        Ok(DataSpec::Tables {
            customers: customers.into(),
            invoices: invoices.into(),
            payments: optional("payments.csv").map(TableSpec::from),
            events: optional("events.csv").map(TableSpec::from),
        })
    }

    pub(super) fn resolve(self, base: &Path) -> DataSpec {
        let j = |mut t: TableSpec| {
            t.file = super::join(base, &t.file);
            t
        };
        match self {
            DataSpec::Tables {
                customers,
                invoices,
                payments,
                events,
            } => DataSpec::Tables {
                customers: j(customers),
                invoices: j(invoices),
                payments: payments.map(j),
                events: events.map(j),
            },
            DataSpec::Ndjson { ndjson } => DataSpec::Ndjson {
                ndjson: super::join(base, &ndjson),
            },
        }
    }

    /// Every file read, for watching.
    pub fn files(&self) -> Vec<&Path> {
        match self {
            DataSpec::Tables {
                customers,
                invoices,
                payments,
                events,
            } => [
                Some(customers),
                Some(invoices),
                payments.as_ref(),
                events.as_ref(),
            ]
            .into_iter()
            .flatten()
            .map(|t| t.file.as_path())
            .collect(),
            DataSpec::Ndjson { ndjson } => vec![ndjson.as_path()],
        }
    }
}

// ---------------------------------------------------------------------------------------
// YAML shapes: a table is a path or a mapping; headers and filter values are any scalar.

impl<'de> Deserialize<'de> for RawTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a file path, or `{file: …, columns: …}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<RawTable, E> {
                Ok(RawTable::Path(PathBuf::from(v)))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<RawTable, A::Error> {
                RawMapping::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|m| RawTable::Mapped(Box::new(m)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A scalar as text, whatever its YAML type: a header may be `2026`, a filter value
/// `1200` (an account code) or `true`.
#[derive(Clone, Debug)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(TextVisitor).map(Text)
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a text, number or yes/no value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
}

/// A filter's accepted values: one, or a list.
#[derive(Clone, Debug)]
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(t)) = seq.next_element()? {
                    out.push(t);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> std::result::Result<DataSpec, Vec<Diagnostic>> {
        let path = Path::new("c.yaml");
        #[derive(serde::Deserialize)]
        struct Top {
            data: RawData,
        }
        let top: Top = crate::spans::parse_yaml(path, yaml).unwrap();
        let at = Spans::read(path, yaml);
        top.data
            .spec(|m| Diagnostic::whole_file(path, m), &at, yaml)
    }

    #[test]
    fn a_path_and_a_mapping_both_read() {
        let s = spec(
            "data:\n  customers: c.csv\n  invoices:\n    file: x.xlsx\n    sheet: Invoices\n    columns: {invoice_id: \"Invoice No\", amount: Total}\n    where: {Type: [a, b], Code: 1200}\n    date_format: \"%d.%m.%Y\"\n    decimal: \",\"\n",
        )
        .unwrap();
        let DataSpec::Tables {
            customers,
            invoices,
            ..
        } = s
        else {
            panic!()
        };
        assert_eq!(customers, TableSpec::from(PathBuf::from("c.csv")));
        assert_eq!(invoices.sheet.as_deref(), Some("Invoices"));
        let m = invoices.mapping.unwrap();
        assert_eq!(m.header_of("amount").unwrap().header, "Total");
        assert_eq!(
            m.columns[0].name, "invoice_id",
            "in the table's column order"
        );
        assert_eq!(
            m.filter,
            [
                ("Code".to_string(), vec!["1200".to_string()]),
                ("Type".to_string(), vec!["a".to_string(), "b".to_string()])
            ]
        );
        assert_eq!(
            (m.decimal, m.date_format.as_deref()),
            (Some(','), Some("%d.%m.%Y"))
        );
    }

    #[test]
    fn unknown_names_are_located_with_a_suggestion() {
        let e = spec(
            "data:\n  customers: c.csv\n  invoices:\n    file: x.csv\n    columns: {invoce_id: \"Invoice No\"}\n    group_by: invoice_id\n    sum: [due_date]\n    preset: xeor\n    date_format: \"%d.%m.\"\n    decimal: \";\"\n    sheet: One\n",
        )
        .unwrap_err();
        let msgs: Vec<(usize, &str)> = e.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert!(
            msgs.contains(&(5, "data.invoices.columns: unknown column `invoce_id` — did you mean `invoice_id`? (expected a column of the invoices table)")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|(l, m)| *l == 7 && m.contains("`due_date` is not an amount")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|(l, m)| *l == 8 && m.contains("unknown preset `xeor` — did you mean `xero`?")), "{msgs:?}");
        assert!(
            msgs.iter()
                .any(|(l, m)| *l == 9 && m.contains("does not name a day, a month and a year")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|(l, m)| *l == 10 && m.contains("not a decimal separator")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|(l, m)| *l == 11 && m.contains("x.csv is not a spreadsheet")),
            "{msgs:?}"
        );
        // The caret is under the unknown name, the key.
        let d = e.iter().find(|d| d.line == 5).unwrap();
        assert_eq!((d.column, d.width), (15, 9), "{d:?}");
    }

    #[test]
    fn a_preset_is_merged_under_the_campaigns_settings() {
        let s = spec(
            "data:\n  customers: c.csv\n  invoices:\n    file: x.csv\n    preset: xero\n    columns: {amount: InvoiceAmountDue}\n",
        )
        .unwrap();
        let DataSpec::Tables { invoices, .. } = s else {
            panic!()
        };
        let m = invoices.mapping.unwrap();
        assert_eq!(m.preset, Some("xero"));
        let amount = m.header_of("amount").unwrap();
        assert_eq!(
            (amount.header.as_str(), amount.from_preset),
            ("InvoiceAmountDue", false)
        );
        assert!(m.header_of("invoice_id").unwrap().from_preset);
        assert_eq!(m.group_by, Some("invoice_id"));
    }
}
