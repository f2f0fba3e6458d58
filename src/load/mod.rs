//! Reading the export: CSV files (UTF-8 with or without BOM, `,` or `;`, CRLF or LF,
//! case-insensitive headers) or one NDJSON file of nested customer records.
//!
//! Every row is decoded into typed records here, and every defect of a single row is
//! recorded with its file, line and column. Nothing is dropped silently: a row that
//! cannot be decoded becomes a [`Defect`] that names its customer, and `validate`
//! quarantines that customer. Only a file that cannot be read as a table at all (empty,
//! no header, a required column missing) stops the run.
//!
//! The formats differ only in how rows are found: [`csv`] reads tables in parallel
//! blocks, [`ndjson`] one object per line with its records nested, and a table with a
//! mapping or in a spreadsheet ([`sheet`]) is read whole and mapped ([`mapping`]). All
//! hand rows to the same decoders ([`decode`]), so a value is held to the same rules
//! whichever file it came from; this module links the decoded tables (duplicates,
//! owners, invoices).

mod csv;
mod decode;
mod document;
mod mapping;
mod ndjson;
mod sheet;

use self::decode::{Aside, Decoded};
use self::document::DocumentRoot;
use self::mapping::MappedTable;
use self::ndjson::NdjsonSource;
use crate::campaign::{DataSpec, TableSpec};
use crate::dataset::columns::Table;
use crate::dataset::*;
use crate::diag::{Defect, Result, Severity};
use crate::money::Currency;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::path::Path;
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

/// Reads the whole dataset a campaign names.
pub fn load(spec: &DataSpec) -> Result<Loaded> {
    match spec {
        DataSpec::Tables {
            customers,
            invoices,
            payments,
            events,
        } => assemble(&TablesSource::open(
            customers,
            invoices,
            payments.as_ref(),
            events.as_ref(),
        )?),
        DataSpec::Ndjson { ndjson } => assemble(&NdjsonSource::open(ndjson)?),
    }
}

/// The tables of an export: each a plain CSV file (streamed) or a mapped table.
struct TablesSource {
    customers: AnyTable,
    invoices: AnyTable,
    /// The invoices file's folder: `document` paths are relative to it.
    documents: DocumentRoot,
    payments: Option<AnyTable>,
    events: Option<AnyTable>,
}

enum AnyTable {
    Csv(self::csv::Table),
    Mapped(MappedTable),
}

impl AnyTable {
    fn open(spec: &TableSpec, table: Table) -> Result<AnyTable> {
        if spec.mapping.is_none() && !spec.is_spreadsheet() {
            let t = self::csv::Table::open(
                &spec.file,
                table.columns(),
                table.required(),
                table == Table::Customers,
            )?;
            Ok(AnyTable::Csv(t))
        } else {
            Ok(AnyTable::Mapped(MappedTable::open(spec, table)?))
        }
    }

    fn file(&self) -> Arc<str> {
        match self {
            AnyTable::Csv(t) => t.file(),
            AnyTable::Mapped(t) => t.file(),
        }
    }
}

/// Decodes a table of either kind with one decoder (a closure cannot be generic over
/// the row type, so it is written out for each).
macro_rules! decode_table {
    ($table:expr, |$row:ident, $rd:ident| $decode:expr) => {
        match $table {
            AnyTable::Csv(t) => t.decode(|$row, $rd| $decode),
            AnyTable::Mapped(t) => Ok(t.decode(|$row, $rd| $decode)),
        }
    };
}

impl TablesSource {
    /// Opens every table and checks every header before any row is decoded, so a
    /// missing column in events.csv is reported before a minute spent on customers.
    fn open(
        customers: &TableSpec,
        invoices: &TableSpec,
        payments: Option<&TableSpec>,
        events: Option<&TableSpec>,
    ) -> Result<Self> {
        Ok(TablesSource {
            customers: AnyTable::open(customers, Table::Customers)?,
            invoices: AnyTable::open(invoices, Table::Invoices)?,
            documents: DocumentRoot::of(&invoices.file),
            payments: payments
                .map(|p| AnyTable::open(p, Table::Payments))
                .transpose()?,
            events: events
                .map(|p| AnyTable::open(p, Table::Events))
                .transpose()?,
        })
    }
}

impl Source for TablesSource {
    fn sources(&self) -> Sources {
        Sources {
            customers: self.customers.file(),
            invoices: self.invoices.file(),
            payments: self.payments.as_ref().map(AnyTable::file),
            events: self.events.as_ref().map(AnyTable::file),
        }
    }

    fn customers(&self) -> Result<Decoded<Customer>> {
        decode_table!(&self.customers, |row, rd| decode::decode_customer(row, rd))
    }

    fn invoices(&self, customers: &CustomerIndex) -> Result<Decoded<Invoice>> {
        decode_table!(&self.invoices, |row, rd| decode::decode_invoice(
            row,
            rd,
            customers,
            &self.documents
        ))
    }

    fn payments(&self, links: &Links) -> Result<Option<Decoded<Payment>>> {
        self.payments
            .as_ref()
            .map(|t| decode_table!(t, |row, rd| decode::decode_payment(row, rd, links)))
            .transpose()
    }

    fn events(&self, customers: &CustomerIndex) -> Result<Option<Decoded<Event>>> {
        self.events
            .as_ref()
            .map(|t| decode_table!(t, |row, rd| decode::decode_event(row, rd, customers)))
            .transpose()
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
    let index = CustomerIndex {
        by_id,
        list: &customers,
    };
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
                "duplicate {column} `{id}`, first on {} {} (expected each {} once)",
                if file.ends_with('!') { "row" } else { "line" },
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
    /// The customers `by_id` indexes, in file order: a row that names the customer after
    /// the previous row's is found without hashing (see `decode::owner`).
    list: &'c [Customer],
}

impl CustomerIndex<'_> {
    fn get(&self, id: &str) -> Option<u32> {
        self.by_id.get(id).copied()
    }

    /// Whether customer `k` has exactly this id: ids are unique here, so `true` means
    /// `get` would answer `k`.
    fn is_at(&self, k: u32, id: &str) -> bool {
        self.list.get(k as usize).is_some_and(|c| c.id() == id)
    }
}

/// What the loaders' tests share: files in a temporary directory, loaded and validated.
#[cfg(test)]
mod testing {
    pub(super) use super::*;
    pub(super) use std::path::PathBuf;

    pub(super) fn write(dir: &tempfile::TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Loads `customers` (with an empty invoices file) and validates it.
    pub(super) fn load_csv(customers: impl AsRef<[u8]>) -> crate::validate::Validated {
        let dir = tempfile::tempdir().unwrap();
        let spec = DataSpec::Tables {
            customers: write(&dir, "customers.csv", customers).into(),
            invoices: write(
                &dir,
                "invoices.csv",
                "invoice_id,customer_id,issue_date,due_date,amount,currency\n",
            )
            .into(),
            payments: None,
            events: None,
        };
        crate::validate::validate(load(&spec).unwrap())
    }

    pub(super) fn load_ndjson(lines: impl AsRef<[u8]>) -> crate::validate::Validated {
        let dir = tempfile::tempdir().unwrap();
        let spec = DataSpec::Ndjson {
            ndjson: write(&dir, "debtors.ndjson", lines),
        };
        crate::validate::validate(load(&spec).unwrap())
    }

    pub(super) fn ids(v: &crate::validate::Validated) -> Vec<&str> {
        v.dataset.customers.iter().map(|c| c.id()).collect()
    }

    /// (line, column, message) of every defect of `severity`.
    pub(super) fn defects(
        v: &crate::validate::Validated,
        severity: Severity,
    ) -> Vec<(u64, String, String)> {
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
}
