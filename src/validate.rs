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
    let n = loaded.customers.len();
    let mut quarantined = vec![false; n];
    let (mut rejected, mut warnings): (Vec<Defect>, Vec<Defect>) =
        std::mem::take(&mut loaded.defects)
            .into_iter()
            .partition(|d| d.severity == Severity::Error);
    if rejected.iter().any(|d| d.customer_id.is_some()) {
        let by_id: FxHashMap<&str, u32> = loaded
            .customers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id(), i as u32))
            .collect();
        for d in &rejected {
            if let Some(&i) = d.customer_id.as_deref().and_then(|id| by_id.get(id)) {
                quarantined[i as usize] = true;
            }
        }
    }
    // Row order within each file, files in the order they are read: duplicates found
    // after a file was decoded slot in where their rows are.
    let rank = |d: &Defect| {
        let s = &loaded.sources;
        let files = [
            Some(&s.customers),
            Some(&s.invoices),
            s.payments.as_ref(),
            s.events.as_ref(),
        ];
        (
            files
                .iter()
                .position(|f| f.is_some_and(|f| Arc::ptr_eq(f, &d.file) || **f == *d.file))
                .unwrap_or(4),
            d.line,
        )
    };
    rejected.sort_by_key(rank);
    warnings.sort_by_key(rank);

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
        .map(|(c, _)| Box::from(c.id()))
        .collect();
    rejected_customers.extend(
        loaded
            .unidentified_customers
            .iter()
            .map(|(f, l)| Box::from(crate::diag::location(f, *l))),
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
    crate::money::add_to(map, cur, amount);
}

/// Keeps the customers not quarantined and groups every record under its customer, in
/// place: exports are usually sorted by customer already, and then nothing moves.
fn group(loaded: Loaded, quarantined: &[bool]) -> Dataset {
    let mut new_index = vec![u32::MAX; quarantined.len()];
    let mut kept = 0u32;
    for (i, q) in quarantined.iter().enumerate() {
        if !q {
            new_index[i] = kept;
            kept += 1;
        }
    }
    let mut customers = loaded.customers;
    let mut k = 0;
    customers.retain(|_| {
        k += 1;
        !quarantined[k - 1]
    });
    let n = customers.len();
    let (mut invoices, mut payments, mut events) =
        (loaded.invoices, loaded.payments, loaded.events);
    let (inv_ranges, moved) = regroup(&mut invoices, n, &new_index);
    let (pay_ranges, _) = regroup(&mut payments, n, &new_index);
    let (ev_ranges, _) = regroup(&mut events, n, &new_index);
    if let Some(moved) = moved {
        for p in &mut payments {
            p.invoice = p
                .invoice
                .map(|i| moved[i as usize])
                .filter(|&i| i != u32::MAX);
        }
    }
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

/// A record that belongs to one customer.
trait Owned {
    fn owner(&self) -> u32;
    fn set_owner(&mut self, c: u32);
}

macro_rules! owned {
    ($($t:ty),+) => {$(
        impl Owned for $t {
            fn owner(&self) -> u32 {
                self.customer
            }
            fn set_owner(&mut self, c: u32) {
                self.customer = c;
            }
        }
    )+};
}
owned!(Invoice, Payment, Event);

type Ranges = Vec<std::ops::Range<u32>>;

/// Drops the records of quarantined customers, renumbers the rest and groups them by
/// customer (input order within a customer). Returns each customer's range and, when
/// records moved, each old position's new one (`u32::MAX`: dropped).
fn regroup<T: Owned>(
    items: &mut Vec<T>,
    n: usize,
    new_index: &[u32],
) -> (Ranges, Option<Vec<u32>>) {
    let mut counts = vec![0u32; n + 1];
    let mut in_place = true;
    let mut prev = 0;
    for it in items.iter() {
        let c = new_index[it.owner() as usize];
        in_place &= c != u32::MAX && c >= prev;
        if c != u32::MAX {
            counts[c as usize + 1] += 1;
            prev = c;
        }
    }
    for i in 0..n {
        counts[i + 1] += counts[i];
    }
    let ranges = (0..n).map(|i| counts[i]..counts[i + 1]).collect();
    if in_place {
        for it in items.iter_mut() {
            it.set_owner(new_index[it.owner() as usize]);
        }
        return (ranges, None);
    }
    // A counting sort: stable, one move per record.
    let mut next = counts;
    let mut moved = Vec::with_capacity(items.len());
    let mut slots: Vec<Option<T>> = (0..next[n]).map(|_| None).collect();
    for mut it in items.drain(..) {
        let c = new_index[it.owner() as usize];
        if c == u32::MAX {
            moved.push(u32::MAX);
            continue;
        }
        let pos = next[c as usize];
        next[c as usize] += 1;
        it.set_owner(c);
        moved.push(pos);
        slots[pos as usize] = Some(it);
    }
    items.extend(
        slots
            .into_iter()
            .map(|s| s.expect("every slot is filled once")),
    );
    (ranges, Some(moved))
}
