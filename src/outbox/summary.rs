//! `summary.json`, the outbox's figures: written by `run`, read back (typed) by `report`
//! and `send`. Amounts are per currency and never added across currencies.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `summary.json`: what was written and why the rest was not.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub campaign: String,
    pub as_of: String,
    pub shard: Option<String>,
    pub messages: usize,
    pub by_channel: BTreeMap<String, usize>,
    pub by_cluster: BTreeMap<String, usize>,
    pub by_stage: BTreeMap<String, usize>,
    /// cluster → channel → messages.
    pub by_cluster_channel: BTreeMap<String, BTreeMap<String, usize>>,
    pub by_locale: BTreeMap<String, usize>,
    pub sms_segments: u64,
    /// Pages of all letters, and of `letters/print.pdf` (with the blank backs).
    pub letter_pages: u64,
    pub print_pages: u64,
    pub exclusions_by_reason: BTreeMap<String, usize>,
    /// customers_in = planned + excluded + rejected (whole customers).
    pub customers_in: usize,
    pub planned_customers: usize,
    pub excluded_customers: usize,
    pub rejected_customers: usize,
    pub balanced: bool,
    /// The campaign's stages in order (the report lists them so).
    pub stages: Vec<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

pub const BUCKETS: [&str; 5] = ["current", "1-30", "31-60", "61-90", "90+"];

/// Customers and what they owe past due (per currency: amounts in different currencies
/// are never added up).
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct Group {
    pub customers: usize,
    pub overdue: BTreeMap<String, Decimal>,
}

/// One ageing bucket of open invoices.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct Bucket {
    pub bucket: String,
    pub invoices: usize,
    pub amount: Decimal,
}

/// The estimated cost of the run's SMS at the campaign's prices.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct SmsCost {
    pub currency: String,
    pub total: Decimal,
    /// Segments to countries with no price (and no default price): not in `total`.
    pub unpriced_segments: u64,
}

/// The report's figures that need the export; flattened into `summary.json`.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct Figures {
    /// Segmented customers of the run by cluster, and their overdue amounts.
    pub customers_by_cluster: BTreeMap<String, Group>,
    /// Customers with a message, by the stage of their messages.
    pub customers_by_stage: BTreeMap<String, Group>,
    /// Currency → open invoices by days past due: current, 1–30, 31–60, 61–90, 90+.
    pub ageing: BTreeMap<String, Vec<Bucket>>,
    /// Currency → days sales outstanding: open receivables ÷ amount invoiced in the
    /// `DSO_PERIOD_DAYS` days up to `as_of` × that period (none when nothing was invoiced).
    pub dso_days: BTreeMap<String, Option<Decimal>>,
    /// Customer's country (ISO 3166) → SMS segments written.
    pub sms_segments_by_country: BTreeMap<String, u64>,
    pub sms_cost: Option<SmsCost>,
}
