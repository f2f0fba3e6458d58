//! Presets: the mapping of a widely used accounting export, so that `preset: xero` is
//! all a campaign says about a file the credit team downloads as it is.
//!
//! Each is built from the export's header row as published (docs/input.md cites where),
//! not from a guess; a campaign's own `columns:`, `where:`, `group_by:`, `sum:` and
//! `defaults:` override a preset's. Neither sets `date_format`: both write dates in the
//! company's regional format, which dunwell is told, never guesses.

use super::data::{MappedColumn, Mapping};
use crate::dataset::columns::Table;

pub struct Preset {
    pub name: &'static str,
    tables: &'static [(Table, TablePreset)],
}

pub(super) struct TablePreset {
    columns: &'static [(&'static str, &'static str)],
    filter: &'static [(&'static str, &'static [&'static str])],
    group_by: Option<&'static str>,
    sum: &'static [&'static str],
    /// dunwell's columns not to read by their own name (see [`Mapping::absent`]).
    absent: &'static [&'static str],
}

/// Xero's invoice export (Business › Invoices › Export, the same columns as its import
/// template): one row per line item, the invoice's `Total` and `InvoiceAmountPaid`
/// repeated on each, so rows are grouped by invoice and must agree. There is no customer
/// id: the contact's name is Xero's key for a contact. Credit notes, overpayments and
/// drafts are left out by `Type` and `Status`; `POCountry` is not mapped (Xero holds a
/// country name there, not an ISO code).
const XERO: Preset = Preset {
    name: "xero",
    tables: &[
        (
            Table::Customers,
            TablePreset {
                columns: &[
                    ("customer_id", "ContactName"),
                    ("name", "ContactName"),
                    ("email", "EmailAddress"),
                    ("address_line1", "POAddressLine1"),
                    ("address_line2", "POAddressLine2"),
                    ("city", "POCity"),
                    ("region", "PORegion"),
                    ("postal_code", "POPostalCode"),
                ],
                filter: XERO_SALES_INVOICES,
                group_by: Some("customer_id"),
                sum: &[],
                absent: &[],
            },
        ),
        (
            Table::Invoices,
            TablePreset {
                columns: &[
                    ("invoice_id", "InvoiceNumber"),
                    ("customer_id", "ContactName"),
                    ("issue_date", "InvoiceDate"),
                    ("due_date", "DueDate"),
                    ("amount", "Total"),
                    ("amount_paid", "InvoiceAmountPaid"),
                    ("currency", "Currency"),
                ],
                filter: XERO_SALES_INVOICES,
                group_by: Some("invoice_id"),
                sum: &[],
                absent: &["status"],
            },
        ),
    ],
};

const XERO_SALES_INVOICES: &[(&str, &[&str])] = &[
    ("Type", &["Sales invoice"]),
    ("Status", &["Awaiting Payment", "Paid"]),
];

/// QuickBooks Online's invoice CSV (the columns its "Import invoices" maps by itself):
/// one row per line item, the invoice's total nowhere — so `ItemAmount` is added up per
/// invoice. Continuation rows may leave the customer and dates empty; they take the
/// invoice's. `ItemTaxAmount` is not added: where tax is billed on top, map `amount` to
/// a column holding the line's total with tax.
const QUICKBOOKS: Preset = Preset {
    name: "quickbooks",
    tables: &[
        (
            Table::Customers,
            TablePreset {
                columns: &[("customer_id", "Customer"), ("name", "Customer")],
                filter: &[],
                group_by: Some("customer_id"),
                sum: &[],
                absent: &[],
            },
        ),
        (
            Table::Invoices,
            TablePreset {
                columns: &[
                    ("invoice_id", "InvoiceNo"),
                    ("customer_id", "Customer"),
                    ("issue_date", "InvoiceDate"),
                    ("due_date", "DueDate"),
                    ("amount", "ItemAmount"),
                    ("currency", "Currency"),
                ],
                filter: &[],
                group_by: Some("invoice_id"),
                sum: &["amount"],
                absent: &[],
            },
        ),
    ],
};

const ALL: &[Preset] = &[XERO, QUICKBOOKS];

pub fn find(name: &str) -> Option<&'static Preset> {
    ALL.iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}

pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|p| p.name).collect()
}

impl Preset {
    pub(super) fn table(&self, table: Table) -> Option<&TablePreset> {
        self.tables
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, p)| p)
    }

    pub(super) fn tables(&self) -> Vec<&'static str> {
        self.tables.iter().map(|(t, _)| t.key()).collect()
    }
}

impl TablePreset {
    pub(super) fn mapping(&self) -> Mapping {
        Mapping {
            columns: self
                .columns
                .iter()
                .map(|&(name, header)| MappedColumn {
                    name,
                    header: header.into(),
                    from_preset: true,
                })
                .collect(),
            filter: self
                .filter
                .iter()
                .map(|(h, vs)| (h.to_string(), vs.iter().map(|v| v.to_string()).collect()))
                .collect(),
            group_by: self.group_by,
            sum: self.sum.to_vec(),
            absent: self.absent.to_vec(),
            ..Mapping::default()
        }
    }
}
