//! The campaign report (SPEC §11): `report.html` (self-contained, charts drawn with
//! plotters as inline SVG, the numbers beside them) and the same figures in
//! `summary.json`.
//!
//! The figures that need the export (amounts, ageing, DSO) are computed by `run`, which
//! has the data, and stored in `summary.json`; `dunwell report OUTBOX` needs only the
//! outbox, so it can be run again after `send` to add the delivery outcomes from the
//! journal.

mod charts;
mod html;
pub mod recovery;

use crate::dataset::{Channel, Dataset, Field};
use crate::diag::{Error, Result};
use crate::money::Currency;
use crate::plan::Planned;
use crate::segment::Segmentation;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::outbox::summary::{
    BUCKETS, Bucket, DeliverySummary, Figures, Group, RunSummary, SmsCost,
};

pub const DSO_PERIOD_DAYS: i64 = 90;

fn bucket_of(days_past_due: i64) -> usize {
    match days_past_due {
        ..=0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    }
}

/// Adds the figures of the customers `in_scope` selects; `messages` are the run's.
pub fn figures(
    data: &Dataset,
    seg: &Segmentation,
    stage_names: &[String],
    messages: &[&Planned],
    as_of: NaiveDate,
    in_scope: &dyn Fn(u32) -> bool,
) -> Figures {
    let n = data.customers.len();
    let mut stage_of: Vec<Option<usize>> = vec![None; n];
    for m in messages {
        stage_of[m.customer as usize].get_or_insert(m.stage);
    }
    let mut f = Figures::default();
    for (i, stage) in stage_of.iter().enumerate() {
        if !in_scope(i as u32) {
            continue;
        }
        if let Some(a) = &seg.assignments[i] {
            f.customers_by_cluster
                .entry(a.cluster.as_str().to_string())
                .or_default()
                .customers += 1;
        }
        if let Some(s) = stage {
            f.customers_by_stage
                .entry(stage_names[*s].clone())
                .or_default()
                .customers += 1;
        }
    }
    let mut receivable: BTreeMap<Currency, Decimal> = BTreeMap::new();
    let mut invoiced: BTreeMap<Currency, Decimal> = BTreeMap::new();
    let period_start = as_of - chrono::Duration::days(DSO_PERIOD_DAYS);
    for inv in &data.invoices {
        let c = inv.customer as usize;
        if !in_scope(inv.customer) {
            continue;
        }
        if inv.issue_date > period_start && inv.issue_date <= as_of {
            *invoiced.entry(inv.currency).or_default() += inv.amount;
        }
        let open = inv.open_amount();
        if open <= Decimal::ZERO {
            continue;
        }
        let code = inv.currency.code().to_string();
        *receivable.entry(inv.currency).or_default() += open;
        let days = (as_of - inv.due_date).num_days();
        let buckets = f.ageing.entry(code.clone()).or_insert_with(|| {
            BUCKETS
                .iter()
                .map(|b| Bucket {
                    bucket: b.to_string(),
                    ..Bucket::default()
                })
                .collect()
        });
        let b = &mut buckets[bucket_of(days)];
        b.invoices += 1;
        b.amount += open;
        if days <= 0 {
            continue;
        }
        if let Some(a) = &seg.assignments[c] {
            *f.customers_by_cluster
                .entry(a.cluster.as_str().to_string())
                .or_default()
                .overdue
                .entry(code.clone())
                .or_default() += open;
        }
        if let Some(s) = stage_of[c] {
            *f.customers_by_stage
                .entry(stage_names[s].clone())
                .or_default()
                .overdue
                .entry(code)
                .or_default() += open;
        }
    }
    for (cur, open) in &receivable {
        let sales = invoiced.get(cur).copied().unwrap_or_default();
        let dso = (sales > Decimal::ZERO)
            .then(|| (open / sales * Decimal::from(DSO_PERIOD_DAYS)).round_dp(1));
        f.dso_days.insert(cur.code().to_string(), dso);
    }
    f
}

/// Counts one SMS's segments against its customer's country.
pub fn count_sms(f: &mut Figures, data: &Dataset, customer: u32, segments: u32) {
    let country = data.customers[customer as usize]
        .get(Field::Country)
        .unwrap_or("??")
        .to_string();
    *f.sms_segments_by_country.entry(country).or_default() += u64::from(segments);
}

/// Prices the SMS segments at the campaign's `sms.cost`.
pub fn price_sms(f: &mut Figures, cost: Option<&crate::campaign::SmsPrice>) {
    let Some(cost) = cost else {
        return;
    };
    let mut out = SmsCost {
        currency: cost.currency.clone(),
        ..SmsCost::default()
    };
    for (country, segments) in &f.sms_segments_by_country {
        match cost.by_country.get(country).or(cost.per_segment.as_ref()) {
            Some(p) => out.total += p.0 * Decimal::from(*segments),
            None => out.unpriced_segments += segments,
        }
    }
    f.sms_cost = Some(out);
}

pub use crate::send::journal::Delivery;

/// `dunwell report OUTBOX`: refreshes the delivery outcomes in `summary.json` from the
/// journal (when `send` has run) and writes `report.html`.
pub fn report(outbox: &Path) -> Result<std::path::PathBuf> {
    // Figures of a half-written outbox would be wrong without saying so.
    crate::outbox::seal::check(outbox)?;
    let mut summary = RunSummary::read(outbox)?;
    if let Some(delivery) = crate::send::journal::outcomes(outbox)? {
        // summary.json holds the states as their words (the outbox sits below send).
        let mut states: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_channel: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (channel, per) in &delivery {
            for (s, n) in per {
                *states.entry(s.as_str().to_string()).or_default() += n;
                by_channel
                    .entry(channel.clone())
                    .or_default()
                    .insert(s.as_str().to_string(), *n);
            }
        }
        let d = summary
            .delivery
            .get_or_insert_with(DeliverySummary::default);
        d.by_channel = Some(by_channel);
        d.states = states;
        summary.rewrite(outbox)?;
    }
    write_html(outbox, &summary)?;
    Ok(outbox.join("report.html"))
}

/// Writes `report.html` from the summary (`run` calls it with the summary it just wrote).
pub fn write_html(outbox: &Path, summary: &RunSummary) -> Result<()> {
    let path = outbox.join("report.html");
    let mut page = html::page(summary);
    if let Some(r) = recovery::read(outbox)? {
        let at = page.rfind("</main>").unwrap_or(page.len());
        page.insert_str(at, &html::recovery(&r));
    }
    if let Some(trail) = read_audit(outbox)? {
        let at = page.rfind("</main>").unwrap_or(page.len());
        page.insert_str(at, &html::audit(&trail));
    }
    std::fs::write(&path, page).map_err(|e| Error::io(&path, e))
}

/// The outbox's audit trail as `report` last read it from the history store:
/// (action, actor, detail, at).
pub const AUDIT: &str = "audit.json";

pub type Trail = Vec<(String, String, String, String)>;

/// Writes the trail the report shows (`dunwell report` reads it from the store).
pub fn write_audit(outbox: &Path, trail: &Trail) -> Result<()> {
    crate::outbox::write_json(&outbox.join(AUDIT), trail)
}

fn read_audit(outbox: &Path) -> Result<Option<Trail>> {
    read_if_present(&outbox.join(AUDIT))
}

/// A JSON file a later command added to the outbox (recovery.json, audit.json), if it
/// is there; a damaged one is refused, naming it.
fn read_if_present<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Refused(format!("{}: {e}", path.display())))
}

/// Groups a number's integer digits in threes: 1234567.8 → 1,234,567.8.
pub(crate) fn grouped(text: &str) -> String {
    let (sign, rest) = text.strip_prefix('-').map_or(("", text), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(a, b)| (a, Some(b)));
    let mut out = String::new();
    for (k, ch) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// An amount with its currency's minor units: `EUR 12,345.60`, `JPY 59,064`.
pub(crate) fn money(amount: Decimal, currency: &str) -> String {
    let dp = Currency::parse(currency).map_or(2, |c| c.minor_units());
    let mut a = amount.round_dp(dp);
    a.rescale(dp);
    format!("{currency} {}", grouped(&a.to_string()))
}

/// Channels in the order the report lists them.
pub(crate) const CHANNELS: [Channel; 4] =
    [Channel::Email, Channel::Sms, Channel::Letter, Channel::Web];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_grouping() {
        assert_eq!(bucket_of(-3), 0);
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 1);
        assert_eq!(bucket_of(30), 1);
        assert_eq!(bucket_of(31), 2);
        assert_eq!(bucket_of(90), 3);
        assert_eq!(bucket_of(91), 4);
        assert_eq!(grouped("1234567.80"), "1,234,567.80");
        assert_eq!(grouped("-999"), "-999");
        assert_eq!(grouped("100000"), "100,000");
        assert_eq!(money(Decimal::new(590646, 1), "JPY"), "JPY 59,065");
        assert_eq!(money(Decimal::new(12345, 0), "EUR"), "EUR 12,345.00");
    }
}
