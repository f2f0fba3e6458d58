//! `summary.json`, the outbox's figures: written by `run`, read back (typed) by `report`
//! and `send`. Amounts are per currency and never added across currencies.

use crate::diag::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file's name in the outbox.
pub const SUMMARY: &str = "summary.json";

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
    /// Documents of claimed invoices left out of letters because they are not PDFs
    /// (an XML e-invoice): they go with the e-mail only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub documents_not_printed: usize,
    pub exclusions_by_reason: BTreeMap<String, usize>,
    /// customers_in = planned + excluded + rejected (whole customers).
    pub customers_in: usize,
    pub planned_customers: usize,
    pub excluded_customers: usize,
    pub rejected_customers: usize,
    /// The run was asked for part of its customers or messages (`--sample`, `--segment`,
    /// `--channel`): the counts cover that selection only. A shard is not filtered (it
    /// accounts for all of its own customers).
    pub filtered: bool,
    /// customers_in = planned + excluded + rejected holds (for a filtered run it
    /// normally does not, and is not expected to).
    pub balanced: bool,
    /// The campaign's stages in order (the report lists them so).
    pub stages: Vec<String>,
    /// The campaign's history store (never with credentials), for `send`, `report`
    /// and `history import` to find it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<String>,
    /// The campaign asks for a second person's approval before sending.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approval_required: bool,
    #[serde(flatten)]
    pub figures: Figures,
    /// What `outbox cutoff` took out of the print file and the published pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<CutoffSummary>,
    /// The send journal's outcomes: added by `send` and `report` once sending began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliverySummary>,
}

/// `summary.json`'s `delivery`. `send` writes `states`, `unknown` and `rejected` when it
/// ends; `report` (which `send` runs then) refreshes `states` and adds `by_channel` from
/// the journal. A part not written yet (a send that was killed) stays out of the file.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct DeliverySummary {
    /// Channel → journal state → messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_channel: Option<BTreeMap<String, BTreeMap<String, u64>>>,
    /// Rejected messages with the server's or gateway's reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<Rejected>>,
    /// Journal state → messages.
    pub states: BTreeMap<String, u64>,
    /// Ids of the messages whose fate is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<Vec<String>>,
    /// The payments the last `send --payments` read (the messages it cancelled are
    /// counted in `states` as `cancelled:paid` and `cancelled:part_paid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payments: Option<PaymentsSummary>,
}

/// `summary.json`'s `cutoff`: what every `outbox cutoff` so far removed (cutoff.csv
/// lists each), the print file left, and the payments the last one read.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct CutoffSummary {
    /// Letters taken out of letters/print.pdf, by reason (`cancelled:paid`, …).
    pub letters: BTreeMap<String, usize>,
    /// Payment pages withdrawn, by reason.
    pub pages: BTreeMap<String, usize>,
    /// Letters and pages (with the blank backs) left in letters/print.pdf.
    pub print_letters: usize,
    pub print_pages: u64,
    pub payments: PaymentsSummary,
}

/// Payments received since the export, as `send --payments` or `outbox cutoff` found them.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct PaymentsSummary {
    /// Read from the files.
    pub received: usize,
    /// Dated on or before the export's `as_of` (the export has them): not counted.
    pub before_export: usize,
    /// Matched to a customer's claim.
    pub matched: usize,
    /// Found no claim: listed in payments-unmatched.csv.
    pub unmatched: usize,
}

/// A rejected message and the reply that rejected it.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: String,
    pub reply: String,
}

impl RunSummary {
    /// Reads an outbox's `summary.json`. A summary that is missing or is not the one
    /// `run` writes (a field missing or of the wrong type) is refused, naming the file:
    /// the report would otherwise show zeros for what it cannot read.
    pub fn read(outbox: &Path) -> Result<RunSummary> {
        let path = outbox.join(SUMMARY);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Refused(format!(
                "{}: {e}: the outbox's figures are missing; run `dunwell run` again to write the outbox whole",
                path.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Refused(format!(
                "{}: not the summary `dunwell run` writes ({e}); run `dunwell run` again to rewrite the outbox",
                path.display()
            ))
        })
    }

    /// Writes the summary back into `outbox` after `send` or `report` changed it. Its
    /// keys are sorted, as they have been in a summary rewritten after a send (`run`
    /// writes them in the order of this struct).
    pub fn rewrite(&self, outbox: &Path) -> Result<()> {
        let path = outbox.join(SUMMARY);
        let value =
            serde_json::to_value(self).map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
        super::write_json(&path, &value)
    }
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
    /// The letters' cost at the campaign's `letters.cost` (none without a price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letter_cost: Option<LetterCost>,
}

/// Letters × the campaign's price per letter.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub struct LetterCost {
    pub currency: String,
    pub total: Decimal,
}

/// `true` for 0: counts that are usually nothing are left out of summary.json then.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> RunSummary {
        let mut s = RunSummary {
            campaign: "c".into(),
            as_of: "2026-11-20".into(),
            messages: 2,
            customers_in: 3,
            planned_customers: 2,
            excluded_customers: 1,
            balanced: true,
            stages: vec!["reminder".into()],
            ..RunSummary::default()
        };
        s.by_channel.insert("email".into(), 2);
        s.figures
            .dso_days
            .insert("EUR".into(), Some(Decimal::new(4251, 1)));
        s.figures.dso_days.insert("JPY".into(), None);
        s.figures.sms_cost = Some(SmsCost {
            currency: "EUR".into(),
            total: Decimal::new(1300, 3),
            unpriced_segments: 1,
        });
        s
    }

    fn written(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SUMMARY), text).unwrap();
        dir
    }

    fn refusal(dir: &Path) -> String {
        match RunSummary::read(dir) {
            Err(Error::Refused(msg)) => msg,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_summary_reads_back_as_written_with_and_without_delivery() {
        let mut s = summary();
        let dir = written(&serde_json::to_string_pretty(&s).unwrap());
        assert_eq!(RunSummary::read(dir.path()).unwrap(), s);
        s.delivery = Some(DeliverySummary {
            states: [("delivered".to_string(), 2)].into(),
            unknown: Some(vec![]),
            rejected: Some(vec![Rejected {
                id: "C1-email".into(),
                reply: "550 no such user".into(),
            }]),
            by_channel: None,
            payments: None,
        });
        s.rewrite(dir.path()).unwrap();
        assert_eq!(RunSummary::read(dir.path()).unwrap(), s);
        // What is not known stays out of the file (no empty by_channel invented).
        let text = std::fs::read_to_string(dir.path().join(SUMMARY)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["delivery"].get("by_channel"), None, "{text}");
        assert_eq!(v["delivery"]["unknown"], serde_json::json!([]), "{text}");
    }

    #[test]
    fn a_field_missing_or_of_the_wrong_type_is_refused_naming_the_file() {
        let full = serde_json::to_value(summary()).unwrap();
        for (key, value) in [
            ("customers_in", None),
            ("filtered", None),
            ("ageing", None),
            ("customers_in", Some(serde_json::json!("320"))),
            ("balanced", Some(serde_json::json!(1))),
            ("dso_days", Some(serde_json::json!({"EUR": 42.5}))),
        ] {
            let mut v = full.clone();
            let missing = value.is_none();
            match value {
                None => {
                    v.as_object_mut().unwrap().remove(key);
                }
                Some(x) => v[key] = x,
            }
            let dir = written(&v.to_string());
            let msg = refusal(dir.path());
            let path = dir.path().join(SUMMARY).display().to_string();
            assert!(msg.starts_with(&path), "{key}: {msg}");
            assert!(msg.contains("dunwell run"), "{key}: {msg}");
            if missing {
                assert!(msg.contains(&format!("missing field `{key}`")), "{msg}");
            }
        }
    }

    #[test]
    fn a_missing_or_unparsable_summary_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let msg = refusal(dir.path());
        assert!(
            msg.contains("summary.json") && msg.contains("dunwell run"),
            "{msg}"
        );
        let dir = written("{\"campaign\": ");
        let msg = refusal(dir.path());
        assert!(
            msg.contains("summary.json") && msg.contains("dunwell run"),
            "{msg}"
        );
        // `dunwell segment`'s summary is not an outbox's.
        let dir = written("{\"intake\": {}, \"reconciliation\": {}, \"clusters\": []}");
        assert!(refusal(dir.path()).contains("missing field"));
    }
}
