//! What a campaign recovered: `dunwell report OUTBOX --payments FILE…` matches the
//! payments received after the export to what the outbox claimed (as `send --payments`
//! does) and, per cluster × stage × channel, counts the customers who paid in full
//! within 7, 14 and 30 days of the contact, the amount recovered by then, the days to
//! pay, and what the contacts cost per amount recovered.
//!
//! The figures go to `recovery.json` in the outbox and into report.html as a section of
//! their own, dated with the payments' last day: the rest of the page stays the
//! byte-identical rebuild of the outbox that it always was.
//!
//! A contact is a message that reached the customer: an e-mail or SMS the journal says
//! was delivered, a letter in the print batch (letters/print.csv, after any cut-off).
//! A customer contacted on two channels counts in the row of each.

use crate::dataset::Channel;
use crate::diag::{Error, Result};
use crate::outbox::summary::RunSummary;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub const RECOVERY: &str = "recovery.json";
/// Days after the contact a payment is counted within.
pub const WINDOWS: [i64; 3] = [7, 14, 30];

/// One cluster × stage × channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    pub cluster: String,
    pub stage: String,
    pub channel: String,
    pub customers: u64,
    /// Customers who paid everything claimed within 7 / 14 / 30 days of the contact.
    pub paid_in_full: [u64; 3],
    /// Currency → amount claimed from these customers.
    pub claimed: BTreeMap<String, Decimal>,
    /// Currency → amount received within 7 / 14 / 30 days (at most what was claimed).
    pub recovered: BTreeMap<String, [Decimal; 3]>,
    /// Days from the contact to the first payment, of the customers who paid: the
    /// median (none when nobody paid).
    pub median_days_to_pay: Option<i64>,
    pub payers: u64,
}

/// The recovery of one outbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recovery {
    /// The last day of the payments read (the section's date).
    pub payments_until: Option<String>,
    pub payment_files: Vec<String>,
    pub payments_matched: usize,
    pub payments_unmatched: usize,
    pub rows: Vec<Row>,
    /// Currency → what the contacts cost (SMS at `sms.cost`, letters at `letters.cost`;
    /// e-mail counted free).
    pub cost: BTreeMap<String, Decimal>,
    /// Currency → recovered within 30 days, all rows (a customer once).
    pub recovered_30: BTreeMap<String, Decimal>,
}

struct Contacted {
    cluster: String,
    stage: String,
    channels: BTreeSet<Channel>,
    /// Currency → (amount claimed, the contact's day).
    claims: BTreeMap<String, (Decimal, NaiveDate)>,
}

/// Computes the recovery of `outbox` from the payment files and writes recovery.json.
pub fn recover(outbox: &Path, files: &[PathBuf]) -> Result<Recovery> {
    crate::outbox::seal::check(outbox)?;
    let summary = RunSummary::read(outbox)?;
    let as_of = NaiveDate::parse_from_str(&summary.as_of, "%Y-%m-%d").map_err(|_| {
        Error::Refused(format!(
            "{}: summary.json's as_of `{}` is not a date",
            outbox.display(),
            summary.as_of
        ))
    })?;
    let sealed = crate::outbox::Outbox::open(outbox)?;
    let delivered: BTreeSet<String> = crate::send::journal::states(outbox)?
        .into_iter()
        .filter(|(_, s)| s.as_str() == "delivered")
        .map(|(id, _)| id)
        .collect();
    let printed: BTreeSet<String> = crate::letter::print::letter_ids(outbox)?
        .into_iter()
        .collect();
    let mut contacted: BTreeMap<String, Contacted> = BTreeMap::new();
    for e in &sealed.entries {
        let reached = match e.channel {
            Channel::Email | Channel::Sms => delivered.contains(&e.id),
            Channel::Letter => printed.contains(&e.id),
            _ => false,
        };
        if !reached || e.currency.is_empty() {
            continue;
        }
        let day = chrono::DateTime::parse_from_rfc3339(&e.scheduled_at)
            .map(|t| t.date_naive())
            .unwrap_or(as_of);
        let c = contacted
            .entry(e.customer_id.clone())
            .or_insert_with(|| Contacted {
                cluster: e.cluster.clone(),
                stage: e.stage.clone(),
                channels: BTreeSet::new(),
                claims: BTreeMap::new(),
            });
        c.channels.insert(e.channel);
        let claim = c
            .claims
            .entry(e.currency.clone())
            .or_insert((Decimal::ZERO, day));
        claim.0 = claim.0.max(e.amount.unwrap_or_default());
        claim.1 = claim.1.min(day);
    }
    let payments = crate::received::read(files)?;
    let matching = crate::received::match_payments(
        &payments,
        crate::outbox::reader::claims(&sealed.entries),
        as_of,
    );
    let mut rows: BTreeMap<(String, String, Channel), (Row, Vec<i64>)> = BTreeMap::new();
    let mut recovered_30: BTreeMap<String, Decimal> = BTreeMap::new();
    for (customer, c) in &contacted {
        for (currency, (claimed, day)) in &c.claims {
            let mut pays: Vec<(NaiveDate, Decimal)> = matching
                .paid
                .get(&(customer.clone(), currency.clone()))
                .map(|p| p.payments.clone())
                .unwrap_or_default();
            pays.sort();
            // Within N days: paid by the contact's day + N (a payment before the
            // contact, after the export, counts as day 0: the reminder was on its way).
            let by = |n: i64| -> Decimal {
                let until = *day + chrono::Duration::days(n);
                pays.iter()
                    .filter(|(d, _)| *d <= until)
                    .map(|(_, a)| *a)
                    .sum::<Decimal>()
                    .min(*claimed)
            };
            let within = WINDOWS.map(by);
            let first = pays.first().map(|(d, _)| (*d - *day).num_days().max(0));
            *recovered_30.entry(currency.clone()).or_default() += within[2];
            for ch in &c.channels {
                let (row, days) = rows
                    .entry((c.cluster.clone(), c.stage.clone(), *ch))
                    .or_insert_with(|| {
                        (
                            Row {
                                cluster: c.cluster.clone(),
                                stage: c.stage.clone(),
                                channel: ch.to_string(),
                                ..Row::default()
                            },
                            Vec::new(),
                        )
                    });
                row.customers += 1;
                *row.claimed.entry(currency.clone()).or_default() += *claimed;
                let r = row.recovered.entry(currency.clone()).or_default();
                for k in 0..3 {
                    r[k] += within[k];
                    if within[k] >= *claimed && *claimed > Decimal::ZERO {
                        row.paid_in_full[k] += 1;
                    }
                }
                if let Some(f) = first {
                    days.push(f);
                    row.payers += 1;
                }
            }
        }
    }
    // What was spent: the run priced every SMS and letter it wrote; only those that
    // went out cost anything (a cancelled SMS, a letter cut off), so the price is taken
    // in the share that did (per-country SMS prices averaged over the run's).
    let share = |sent: usize, channel: &str| -> Decimal {
        let written = summary.by_channel.get(channel).copied().unwrap_or(0);
        if written == 0 {
            Decimal::ZERO
        } else {
            Decimal::from(sent as u64) / Decimal::from(written as u64)
        }
    };
    let sms_sent = sealed
        .entries
        .iter()
        .filter(|e| e.channel == Channel::Sms && delivered.contains(&e.id))
        .count();
    let mut cost: BTreeMap<String, Decimal> = BTreeMap::new();
    if let Some(s) = &summary.figures.sms_cost {
        *cost.entry(s.currency.clone()).or_default() +=
            (s.total * share(sms_sent, "sms")).round_dp(4);
    }
    if let Some(l) = &summary.figures.letter_cost {
        *cost.entry(l.currency.clone()).or_default() +=
            (l.total * share(printed.len(), "letter")).round_dp(4);
    }
    let recovery = Recovery {
        payments_until: payments.iter().map(|p| p.date).max().map(|d| d.to_string()),
        payment_files: files.iter().map(|f| f.display().to_string()).collect(),
        payments_matched: matching.matched,
        payments_unmatched: matching.unmatched.len(),
        rows: rows
            .into_values()
            .map(|(mut row, mut days)| {
                days.sort_unstable();
                row.median_days_to_pay = days.get(days.len() / 2).copied();
                row
            })
            .collect(),
        cost,
        recovered_30,
    };
    crate::outbox::write_json(&outbox.join(RECOVERY), &recovery)?;
    Ok(recovery)
}

/// The recovery recorded in the outbox, if `report --payments` made one.
pub fn read(outbox: &Path) -> Result<Option<Recovery>> {
    super::read_if_present(&outbox.join(RECOVERY))
}
