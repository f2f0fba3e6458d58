//! What validation and segmentation add up to: every customer segmented or rejected (the
//! reconciliation `segment` and `run` check and write), and customers and overdue
//! amounts per cluster.

use crate::dataset::Dataset;
use crate::features::Features;
use crate::segment::{Cluster, Segmentation};
use crate::validate::Validated;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

#[derive(serde::Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Reconciliation {
    pub customers_in: usize,
    pub segmented: usize,
    pub rejected: usize,
    pub balanced: bool,
    pub open_amount_in: BTreeMap<String, Decimal>,
    pub open_amount_segmented: BTreeMap<String, Decimal>,
    pub open_amount_rejected: BTreeMap<String, Decimal>,
}

#[derive(serde::Serialize, Default)]
pub struct ClusterSummary {
    pub customers: usize,
    pub overdue_amount: BTreeMap<String, Decimal>,
}

/// Every input customer is segmented or rejected; amounts likewise.
pub fn reconcile(v: &Validated, data: &Dataset, seg: &Segmentation) -> Reconciliation {
    let segmented = seg.assignments.iter().filter(|a| a.is_some()).count();
    let rule_failures = seg.assignments.len() - segmented;
    let mut open_segmented: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut open_rejected = v.intake.rejected_open_amount.clone();
    for (i, a) in seg.assignments.iter().enumerate() {
        let target = if a.is_some() {
            &mut open_segmented
        } else {
            &mut open_rejected
        };
        let view = data.view(i);
        for inv in view.invoices {
            let open = inv.open_amount();
            if !open.is_zero() {
                crate::money::add_to(target, inv.currency, open);
            }
        }
    }
    let customers_in = v.intake.customers;
    let rejected = v.intake.rejected_customers + rule_failures;
    let mut sum = open_segmented.clone();
    for (k, a) in &open_rejected {
        *sum.entry(k.clone()).or_default() += a;
    }
    let balanced = customers_in == segmented + rejected && sum == v.intake.open_amount;
    Reconciliation {
        customers_in,
        segmented,
        rejected,
        balanced,
        open_amount_in: v.intake.open_amount.clone(),
        open_amount_segmented: open_segmented,
        open_amount_rejected: open_rejected,
    }
}

pub fn cluster_table(seg: &Segmentation) -> BTreeMap<&'static str, ClusterSummary> {
    let mut out: BTreeMap<&'static str, ClusterSummary> = Cluster::ALL
        .iter()
        .map(|c| (c.as_str(), ClusterSummary::default()))
        .collect();
    for (a, f) in seg.assignments.iter().zip(&seg.features) {
        let Some(a) = a else { continue };
        let s = out
            .get_mut(a.cluster.as_str())
            .expect("every cluster listed");
        s.customers += 1;
        add_overdue(&mut s.overdue_amount, f);
    }
    out
}

fn add_overdue(map: &mut BTreeMap<String, Decimal>, f: &Features) {
    if let Some(c) = f.currency
        && !f.overdue_amount.is_zero()
    {
        crate::money::add_to(map, c, f.overdue_amount);
    }
}
