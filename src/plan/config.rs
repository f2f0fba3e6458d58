//! The plan's part of the campaign file, as written: `stages` (the ladder), `matrix`
//! (cluster × stage → channels, a [`Cell`] each) and `policy`. `Rules::checked` (mod.rs)
//! checks them and builds what `plan` plans with.

use crate::money::Currency;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A rung of the ladder: customers whose oldest open invoice is `from`…`to` days past due.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    pub from: i64,
    #[serde(default)]
    pub to: Option<i64>,
}

/// A matrix cell: the channels, written as a list, or with a template override.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Cell {
    Channels(Vec<String>),
    Full {
        channels: Vec<String>,
        #[serde(default)]
        template: Option<String>,
        /// The e-mail carries the letter as a PDF attachment.
        #[serde(default)]
        attach_letter: bool,
        /// The e-mail carries the customer's statement of account (PDF and XLSX).
        #[serde(default)]
        attach_statement: bool,
    },
}

impl Cell {
    pub fn channels(&self) -> &[String] {
        match self {
            Cell::Channels(c) | Cell::Full { channels: c, .. } => c,
        }
    }

    pub fn template(&self) -> Option<&str> {
        match self {
            Cell::Channels(_) => None,
            Cell::Full { template, .. } => template.as_deref(),
        }
    }

    pub fn attach_statement(&self) -> bool {
        matches!(
            self,
            Cell::Full {
                attach_statement: true,
                ..
            }
        )
    }

    pub fn attach_letter(&self) -> bool {
        matches!(
            self,
            Cell::Full {
                attach_letter: true,
                ..
            }
        )
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    pub max: u32,
    pub days: i64,
}

/// The minimum amount worth a reminder: one number for every currency, or per currency
/// (`{EUR: 5, JPY: 500, default: 5}`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum MinAmount {
    All(Amount),
    PerCurrency(BTreeMap<String, Amount>),
}

/// A decimal amount written in YAML (`5`, `12.50`, `"12.50"`). A YAML float is taken
/// by its shortest decimal spelling (`12.5`), which is exactly what was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an amount such as 5 or 12.50")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<Amount, E> {
                crate::money::parse_amount(s, None, false)
                    .map(Amount)
                    .map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Amount, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Amount, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Amount, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

impl MinAmount {
    pub fn for_currency(&self, c: Currency) -> Decimal {
        match self {
            MinAmount::All(d) => d.0,
            MinAmount::PerCurrency(m) => m
                .get(c.code())
                .or_else(|| m.get("default"))
                .map_or(Decimal::ZERO, |a| a.0),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Days messages may arrive on, `mon` … `sun`.
    pub days: Vec<String>,
    /// Local time, `HH:MM`.
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default = "no_minimum")]
    pub min_amount: MinAmount,
    /// Per channel: at most `max` reminders within `days` days (from events.csv).
    #[serde(default)]
    pub frequency_caps: BTreeMap<String, Cap>,
    pub contact_window: Window,
    /// When the campaign starts sending (RFC 3339, e.g. `2026-11-23T08:00:00Z`). Left
    /// out: the campaign date (`as_of`, or `--as-of`) — what a weekly cycle wants.
    #[serde(default)]
    pub send_from: Option<String>,
    /// For customers without a `timezone`.
    pub default_timezone: String,
    /// Days after a promised date before a promise to pay stops pausing contact.
    #[serde(default = "promise_grace")]
    pub promise_grace_days: i64,
    /// With a history store: the fewest days between two reminders about one invoice.
    #[serde(default = "level_interval")]
    pub level_interval_days: i64,
    /// Days of the campaign's own on which nobody in a country is contacted, besides the
    /// public holidays of laws/holidays.yaml: `{NL: [2026-12-24, 2026-12-31]}`.
    #[serde(default)]
    pub holidays: BTreeMap<String, Vec<chrono::NaiveDate>>,
}

fn level_interval() -> i64 {
    7
}

fn promise_grace() -> i64 {
    3
}

fn no_minimum() -> MinAmount {
    MinAmount::All(Amount(Decimal::ZERO))
}

/// The `stages`, `matrix` and `policy` keys of a campaign file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PlanConfig {
    pub stages: Vec<Stage>,
    /// cluster → stage → channels; a `default` cluster applies to clusters not listed.
    pub matrix: BTreeMap<String, BTreeMap<String, Cell>>,
    pub policy: Policy,
}
