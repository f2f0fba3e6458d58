//! Words every channel prints that are not a template's own: the names of a bank
//! account's lines and "+1 other currency", per language, from `templates/words.yaml`
//! (the shipped file when a templates folder has none).

use crate::diag::{Diagnostic, Error, Result};
use crate::payment::account::Label;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

const SHIPPED: &str = include_str!("../../templates/words.yaml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    pub iban: String,
    pub bic: String,
    pub sort_code: String,
    pub account_number: String,
    pub bank: String,
    pub branch: String,
    pub account_type: String,
    pub holder: String,
    /// "(+{n} other currencies)" by CLDR plural category; `other` is required.
    pub more_currencies: BTreeMap<String, String>,
    /// Statutory interest and compensation: the invoice table's rows (`{date}`: the
    /// campaign date) and the sentences templates print as `totals.interest_line`
    /// (`{amount}`). English when a words file predates them.
    #[serde(default = "en_interest_row")]
    pub interest_row: String,
    #[serde(default = "en_compensation_row")]
    pub compensation_row: String,
    #[serde(default = "en_interest_sentence")]
    pub interest_sentence: String,
    #[serde(default = "en_compensation_sentence")]
    pub compensation_sentence: String,
    /// A statement of account's words: its name, the payments table's heading and its
    /// column for the payment's reference, the ageing table's first column and buckets
    /// (not yet due, 1–30, 31–60, 61–90, over 90 days).
    #[serde(default = "en_statement")]
    pub statement: String,
    #[serde(default = "en_payments_since")]
    pub payments_since: String,
    #[serde(default = "en_payment")]
    pub payment: String,
    #[serde(default = "en_overdue")]
    pub overdue: String,
    #[serde(default = "en_ageing")]
    pub ageing: Vec<String>,
    /// How the language's letters set their closing: the template writes the words
    /// (`敬具`, `此致` and `敬礼`), the layout puts them where the language's letters have
    /// them. None: every paragraph flush left.
    #[serde(default)]
    pub closing: Closing,
}

/// Lines of a letter laid out by the language's custom rather than flush left: a line of
/// a paragraph that is exactly `text` (after the template's Markdown is read) is set
/// `align`ed, `indent` characters in; the paragraphs after the first such line (the
/// signature) are set `signature`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closing {
    #[serde(default)]
    pub lines: Vec<ClosingLine>,
    #[serde(default)]
    pub signature: Side,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosingLine {
    pub text: String,
    #[serde(default)]
    pub align: Side,
    /// In characters of the body text (an em: a Japanese or Chinese character's width).
    #[serde(default)]
    pub indent: f32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    #[default]
    Left,
    Right,
}

impl Closing {
    /// The rule for a set line, if it is a closing line.
    pub fn rule(&self, line: &str) -> Option<&ClosingLine> {
        let line = line.trim();
        self.lines.iter().find(|r| r.text.trim() == line)
    }
}

fn en_statement() -> String {
    "Statement of account".into()
}
fn en_payments_since() -> String {
    "Payments received since".into()
}
fn en_payment() -> String {
    "Payment".into()
}
fn en_overdue() -> String {
    "Days overdue".into()
}
fn en_ageing() -> Vec<String> {
    [
        "Not yet due",
        "1–30 days",
        "31–60 days",
        "61–90 days",
        "Over 90 days",
    ]
    .map(String::from)
    .to_vec()
}

fn en_interest_row() -> String {
    "Interest to {date}".into()
}
fn en_compensation_row() -> String {
    "Compensation for recovery costs".into()
}
fn en_interest_sentence() -> String {
    "Statutory late-payment interest to {date}: {amount}.".into()
}
fn en_compensation_sentence() -> String {
    "Fixed compensation for recovery costs: {amount}.".into()
}

impl Language {
    pub fn label(&self, l: Label) -> &str {
        match l {
            Label::Iban => &self.iban,
            Label::Bic => &self.bic,
            Label::SortCode => &self.sort_code,
            Label::AccountNumber => &self.account_number,
            Label::Bank => &self.bank,
            Label::Branch => &self.branch,
            Label::AccountType => &self.account_type,
            Label::Holder => &self.holder,
        }
    }

    /// The five ageing buckets' names (English for any the words file leaves out).
    pub fn ageing_buckets(&self) -> Vec<String> {
        let en = en_ageing();
        (0..5)
            .map(|k| self.ageing.get(k).unwrap_or(&en[k]).clone())
            .collect()
    }

    /// `(+2 other currencies)` in the category's form.
    pub fn more(&self, category: &str, n: usize) -> String {
        self.more_currencies
            .get(category)
            .or_else(|| self.more_currencies.get("other"))
            .map(|f| f.replace("{n}", &n.to_string()))
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct Words {
    by_locale: BTreeMap<String, Language>,
}

impl Words {
    /// `templates/words.yaml` when the folder has one, else the shipped words.
    pub fn load(templates: &Path) -> Result<Words> {
        let path = templates.join("words.yaml");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SHIPPED.to_string(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Self::parse(&text).map_err(|msg| Error::Config(vec![Diagnostic::whole_file(&path, msg)]))
    }

    fn parse(text: &str) -> std::result::Result<Words, String> {
        let by_locale: BTreeMap<String, Language> = serde_saphyr::from_str(text)
            .map_err(|e| format!("{e} (expected locale: {{iban: …, bic: …, …}})"))?;
        if !by_locale.contains_key("en") {
            return Err("needs `en`, the last fallback".into());
        }
        if let Some((loc, _)) = by_locale
            .iter()
            .find(|(_, l)| !l.more_currencies.contains_key("other"))
        {
            return Err(format!(
                "{loc}.more_currencies has no `other` form (expected one per plural category the language uses, `other` always)"
            ));
        }
        Ok(Words { by_locale })
    }

    /// A locale's words: its own, its language's, else English.
    pub fn get(&self, locale: &str) -> &Language {
        let lang = locale.split(['-', '_']).next().unwrap_or(locale);
        self.by_locale
            .get(locale)
            .or_else(|| self.by_locale.get(lang))
            .unwrap_or(&self.by_locale["en"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_words_parse_and_fall_back() {
        let w = Words::parse(SHIPPED).unwrap();
        assert_eq!(w.get("pl").more("few", 3), "(+3 inne waluty)");
        assert_eq!(w.get("en-GB").label(Label::SortCode), "Sort code");
        assert_eq!(w.get("xx").label(Label::Holder), "Account holder");
        assert_eq!(w.get("ja").label(Label::AccountType), "預金種目");
    }
}
