//! Dataset-level decisions: links between files, who is quarantined, and the intake
//! totals every later stage must reconcile to.
//!
//! `load` judged each row on its own; here a customer with any erroneous row (its own,
//! or an invoice, payment or event of theirs) is quarantined as a whole — contacting a
//! customer about a total we know to be wrong is worse than not contacting them.

use crate::dataset::*;
use crate::diag::{Defect, Severity};
use crate::load::Loaded;
use crate::money::Currency;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The outcome of validation: the clean dataset and everything set aside.
#[derive(Debug, Default)]
pub struct Validated {
    pub dataset: Dataset,
    /// Error defects, one row each in `rejected.csv`, in file order.
    pub rejected: Vec<Defect>,
    /// Warnings (malformed e-mail, phone, unknown column) — reported, nobody quarantined.
    pub warnings: Vec<Defect>,
    /// Ids of quarantined customers, in input order (unidentified rows as `FILE:LINE`).
    pub rejected_customers: Vec<Box<str>>,
    pub intake: Intake,
}

/// What came in, to reconcile against what went out.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Intake {
    /// Distinct customers in the customers file (rows without a usable id count one each).
    pub customers: usize,
    pub rejected_customers: usize,
    pub accepted_customers: usize,
    /// Open (unpaid) invoice amounts per currency, of all customers in the file.
    pub open_amount: BTreeMap<String, Decimal>,
    pub rejected_open_amount: BTreeMap<String, Decimal>,
    /// Invoice rows naming a customer not in the customers file.
    pub orphan_open_amount: BTreeMap<String, Decimal>,
}

pub fn validate(mut loaded: Loaded) -> Validated {
    link_payments(&mut loaded);

    let n = loaded.customers.len();
    let by_id: FxHashMap<&str, u32> = loaded
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| (&*c.id, i as u32))
        .collect();
    let mut quarantined = vec![false; n];
    let (mut rejected, mut warnings) = (Vec::new(), Vec::new());
    for d in std::mem::take(&mut loaded.defects) {
        if d.severity == Severity::Warning {
            warnings.push(d);
            continue;
        }
        if let Some(&i) = d.customer_id.as_deref().and_then(|id| by_id.get(id)) {
            quarantined[i as usize] = true;
        }
        rejected.push(d);
    }
    drop(by_id);

    let mut intake = Intake {
        customers: n + loaded.unidentified_customers.len(),
        ..Intake::default()
    };
    for inv in &loaded.invoices {
        let open = inv.open_amount();
        if open.is_zero() {
            continue;
        }
        add(&mut intake.open_amount, inv.currency, open);
        if quarantined[inv.customer as usize] {
            add(&mut intake.rejected_open_amount, inv.currency, open);
        }
    }
    for &(cur, open) in &loaded.orphan_invoices {
        add(&mut intake.orphan_open_amount, cur, open);
    }

    let mut rejected_customers: Vec<Box<str>> = loaded
        .customers
        .iter()
        .zip(&quarantined)
        .filter(|(_, q)| **q)
        .map(|(c, _)| c.id.clone())
        .collect();
    rejected_customers.extend(
        loaded
            .unidentified_customers
            .iter()
            .map(|(f, l)| Box::from(format!("{f}:{l}"))),
    );
    intake.rejected_customers = rejected_customers.len();
    intake.accepted_customers = intake.customers - intake.rejected_customers;

    let dataset = group(loaded, &quarantined);
    Validated {
        dataset,
        rejected,
        warnings,
        rejected_customers,
        intake,
    }
}

fn add(map: &mut BTreeMap<String, Decimal>, cur: Currency, amount: Decimal) {
    *map.entry(cur.code().to_string()).or_default() += amount;
}

/// Resolves each payment's `invoice_id`. An unknown invoice is a payment on account
/// (a warning); an invoice of another customer is an error for the payer.
fn link_payments(loaded: &mut Loaded) {
    let ids: FxHashMap<&str, u32> = loaded
        .invoices
        .iter()
        .enumerate()
        .map(|(i, inv)| (&*inv.id, i as u32))
        .collect();
    let Some(file) = loaded.sources.payments.clone() else {
        return;
    };
    let mut found = Vec::new();
    for p in &mut loaded.payments {
        let Some(r) = p.invoice_ref.as_deref() else {
            continue;
        };
        let customer_id = &loaded.customers[p.customer as usize].id;
        let defect = |message: String, severity| Defect {
            file: Arc::clone(&file),
            line: p.line,
            column: Some("invoice_id"),
            customer_id: Some(customer_id.clone()),
            message,
            severity,
        };
        match ids.get(r) {
            Some(&i) if loaded.invoices[i as usize].customer == p.customer => p.invoice = Some(i),
            Some(&i) => {
                let other = &loaded.customers[loaded.invoices[i as usize].customer as usize].id;
                found.push(defect(
                    format!("invoice `{r}` belongs to customer `{other}` (expected an invoice of `{customer_id}`)"),
                    Severity::Error,
                ));
            }
            None => found.push(defect(
                format!("unknown invoice `{r}`; the payment is counted on account (expected an invoice_id from the invoices file)"),
                Severity::Warning,
            )),
        }
    }
    loaded.defects.extend(found);
}

/// Keeps the customers not quarantined and groups every record under its customer
/// (a counting sort: records keep their input order within a customer).
fn group(loaded: Loaded, quarantined: &[bool]) -> Dataset {
    let mut new_index = vec![u32::MAX; quarantined.len()];
    let mut customers = Vec::with_capacity(quarantined.len());
    for (i, c) in loaded.customers.into_iter().enumerate() {
        if !quarantined[i] {
            new_index[i] = customers.len() as u32;
            customers.push(c);
        }
    }
    let n = customers.len();

    // Invoices first: payments refer to them by index.
    let mut inv_new_pos = vec![u32::MAX; loaded.invoices.len()];
    let (invoices, inv_ranges) = bucket(
        loaded.invoices,
        n,
        |inv| new_index[inv.customer as usize],
        |inv, c| inv.customer = c,
        Some(&mut inv_new_pos),
    );
    let (mut payments, pay_ranges) = bucket(
        loaded.payments,
        n,
        |p| new_index[p.customer as usize],
        |p, c| p.customer = c,
        None,
    );
    for p in &mut payments {
        p.invoice = p
            .invoice
            .map(|i| inv_new_pos[i as usize])
            .filter(|&i| i != u32::MAX);
    }
    let (events, ev_ranges) = bucket(
        loaded.events,
        n,
        |e| new_index[e.customer as usize],
        |e, c| e.customer = c,
        None,
    );
    let records = (0..n)
        .map(|i| Records {
            invoices: inv_ranges[i].clone(),
            payments: pay_ranges[i].clone(),
            events: ev_ranges[i].clone(),
        })
        .collect();
    Dataset {
        customers,
        invoices,
        payments,
        events,
        records,
        sources: loaded.sources,
    }
}

type Ranges = Vec<std::ops::Range<u32>>;

fn bucket<T>(
    items: Vec<T>,
    n: usize,
    key: impl Fn(&T) -> u32,
    set: impl Fn(&mut T, u32),
    mut moved_to: Option<&mut Vec<u32>>,
) -> (Vec<T>, Ranges) {
    let mut counts = vec![0u32; n + 1];
    for it in &items {
        let k = key(it);
        if k != u32::MAX {
            counts[k as usize + 1] += 1;
        }
    }
    for i in 0..n {
        counts[i + 1] += counts[i];
    }
    let ranges: Ranges = (0..n).map(|i| counts[i]..counts[i + 1]).collect();
    let mut next = counts;
    let mut slots: Vec<Option<T>> = (0..ranges.last().map_or(0, |r| r.end))
        .map(|_| None)
        .collect();
    for (old, mut it) in items.into_iter().enumerate() {
        let k = key(&it);
        if k == u32::MAX {
            continue;
        }
        let pos = next[k as usize];
        next[k as usize] += 1;
        set(&mut it, k);
        if let Some(m) = moved_to.as_deref_mut() {
            m[old] = pos;
        }
        slots[pos as usize] = Some(it);
    }
    (
        slots
            .into_iter()
            .map(|s| s.expect("every slot filled"))
            .collect(),
        ranges,
    )
}
