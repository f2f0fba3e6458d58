//! The campaign's `interest:` block: off by default; whom to charge, under which law,
//! from which day late. Defined here, next to the engine it configures, so that the
//! campaign module only embeds it.

use super::data::Laws;
use crate::diag::{Result, did_you_mean};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Whom statutory interest and compensation are claimed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Apply {
    /// Companies only — what most laws give (the Directive is about businesses).
    B2b,
    /// Companies and people, each at their own rate where the law has one.
    All,
    #[default]
    None,
}

/// `interest: {apply: b2b, law: auto, from_day: 15}` in campaign.yaml.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterestConfig {
    #[serde(default)]
    pub apply: Apply,
    /// `auto`, or a law file's code (`DE`, `NL`, `EU`, …).
    #[serde(default = "auto")]
    pub law: String,
    /// Nothing is claimed on an invoice fewer days late than this.
    #[serde(default)]
    pub from_day: u32,
    /// A folder of law files (`*.yaml`) and rate tables (`rates/*.yaml`) that extend and
    /// override the shipped ones, relative to the campaign file.
    #[serde(default)]
    pub laws: Option<PathBuf>,
    /// The contract's governing law when it is not the creditor's country (`law: auto`).
    #[serde(default)]
    pub governing_law: Option<String>,
    /// Whether payment links (and their signed amount) include interest and compensation.
    #[serde(default)]
    pub include_in_links: bool,
    /// The campaign's reminders are demand letters in the sense a law asks for before
    /// costs may be claimed (the Netherlands, art. 6:96(6) BW: 14 days to pay, the costs
    /// named): the first one the history knows delivered starts the term.
    #[serde(default)]
    pub demand_letters: bool,
}

impl Default for InterestConfig {
    fn default() -> Self {
        InterestConfig {
            apply: Apply::None,
            law: auto(),
            from_day: 0,
            laws: None,
            governing_law: None,
            include_in_links: false,
            demand_letters: false,
        }
    }
}

fn auto() -> String {
    "auto".to_string()
}

/// Why a law was chosen, for the report and a letter's footnote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chosen {
    /// `interest.law` names it.
    Campaign,
    /// The invoice's `governing_law` column.
    Column,
    /// `interest.governing_law`.
    GoverningLaw,
    /// The creditor's country (Rome I art. 4: the seller's or service provider's law).
    Creditor,
}

/// A problem in the block: the key under `interest` it concerns, the message, notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub key: &'static str,
    pub message: String,
    pub notes: Vec<String>,
}

impl InterestConfig {
    /// The law files this campaign uses: the shipped ones, with `laws:` laid over them.
    pub fn load_laws(&self, campaign_dir: &Path) -> Result<Laws> {
        match &self.laws {
            Some(dir) => Laws::shipped_and(&campaign_dir.join(dir)),
            None => Laws::shipped(),
        }
    }

    /// Every problem at once, each with the key to point at.
    pub fn check(&self, laws: &Laws) -> Vec<Problem> {
        let mut out = Vec::new();
        if !self.law.eq_ignore_ascii_case("auto")
            && let Err(p) = known(laws, "law", &self.law)
        {
            out.push(p);
        }
        if let Some(g) = &self.governing_law
            && let Err(p) = known(laws, "governing_law", g)
        {
            out.push(p);
        }
        if self.from_day > 3650 {
            out.push(Problem {
                key: "from_day",
                message: format!(
                    "interest.from_day: {} (expected 0 to 3650 days)",
                    self.from_day
                ),
                notes: Vec::new(),
            });
        }
        out
    }

    /// The law for one invoice: `law:` when it names one; under `auto` the invoice's
    /// `governing_law` column, then `governing_law:`, then the creditor's country — never
    /// the debtor's, whose law a contract rarely chooses.
    pub fn resolve(
        &self,
        laws: &Laws,
        column: Option<&str>,
        creditor_country: Option<&str>,
    ) -> std::result::Result<(String, Chosen), String> {
        let (code, chosen) = if !self.law.eq_ignore_ascii_case("auto") {
            (self.law.as_str(), Chosen::Campaign)
        } else if let Some(c) = column.map(str::trim).filter(|c| !c.is_empty()) {
            (c, Chosen::Column)
        } else if let Some(g) = &self.governing_law {
            (g.as_str(), Chosen::GoverningLaw)
        } else if let Some(c) = creditor_country {
            (c, Chosen::Creditor)
        } else {
            return Err(
                "interest.law is `auto` and the creditor's country is not known: set interest.law or interest.governing_law"
                    .to_string(),
            );
        };
        match laws.law(code) {
            Some(l) => Ok((l.code.clone(), chosen)),
            None => Err(known(laws, "law", code)
                .err()
                .map(|p| {
                    let mut m = p.message;
                    for n in p.notes {
                        m.push_str(&format!("; {n}"));
                    }
                    m
                })
                .unwrap_or_default()),
        }
    }
}

fn known(laws: &Laws, key: &'static str, code: &str) -> std::result::Result<(), Problem> {
    if laws.law(code).is_some() {
        return Ok(());
    }
    let upper = code.to_ascii_uppercase();
    let mut message = format!("unknown law `{code}` in interest.{key}");
    if let Some(s) = did_you_mean(&upper, laws.codes()) {
        message.push_str(&format!(" — did you mean `{s}`?"));
    }
    let list: Vec<&str> = laws.codes().collect();
    Err(Problem {
        key,
        message,
        notes: vec![
            format!("known laws: {}", list.join(", ")),
            format!(
                "to add one, write laws/{}.yaml (docs/money.md) and name its folder in interest.laws",
                upper.to_ascii_lowercase()
            ),
        ],
    })
}
