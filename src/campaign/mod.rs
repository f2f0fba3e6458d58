//! The campaign file (`campaign.yaml`): what to read, as of when, under which rules.
//!
//! Parsed with serde-saphyr, which reports line and column; unknown keys are errors
//! with a "did you mean" hint, because a misspelt key silently ignored is a campaign
//! sent with the wrong settings.

pub mod bounds;
mod data;
pub mod letters;
mod presets;

pub use data::{DataSpec, MappedColumn, Mapping, TableSpec, is_spreadsheet};

use crate::diag::{Diagnostic, Error, Result};
use crate::spans::{Spans, parse_yaml};
use chrono::NaiveDate;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    name: serde_saphyr::Spanned<String>,
    as_of: serde_saphyr::Spanned<String>,
    data: serde_saphyr::Spanned<data::RawData>,
    #[serde(default = "default_segments")]
    segments: String,
    creditor: Creditor,
    #[serde(default)]
    locales: Locales,
    #[serde(default)]
    stages: Option<Vec<crate::plan::Stage>>,
    #[serde(default)]
    matrix: Option<
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, crate::plan::Cell>>,
    >,
    #[serde(default)]
    policy: Option<crate::plan::Policy>,
    #[serde(default = "default_templates")]
    templates: String,
    #[serde(default)]
    links: Option<Links>,
    #[serde(default)]
    sms: SmsConfig,
    #[serde(default)]
    letters: letters::LetterConfig,
    #[serde(default)]
    limits: Limits,
    /// Where the history store is: a SQLite file (relative to the campaign file) or
    /// `postgres://…` (docs/history.md).
    #[serde(default)]
    history: Option<String>,
    /// `required`: `send` refuses an outbox nobody approved (`dunwell approve`).
    #[serde(default)]
    approval: Approval,
    /// Statutory late-payment interest and fixed compensation (docs/money.md); off when
    /// absent.
    #[serde(default)]
    interest: Option<crate::interest::InterestConfig>,
}

/// `interest:` checked: its settings, the law files it reads and the law it applies.
#[derive(Clone, Debug)]
pub struct Interest {
    pub config: crate::interest::InterestConfig,
    pub laws: std::sync::Arc<crate::interest::Laws>,
    /// The law's code (`NL`, `DE`, …): `law:`, else the governing law, else the
    /// creditor's country. An invoice's `governing_law` displaces it under `law: auto`.
    pub law: String,
    /// `creditor.sme`: a law may give interest only to small and medium-sized creditors.
    pub creditor_sme: bool,
}

impl Interest {
    /// The law an invoice is claimed under: its own `governing_law` under `law: auto`,
    /// else the campaign's. An unknown code is refused before rendering
    /// ([`Interest::unknown_laws`]), so here it is an error only for a caller that
    /// skipped that check.
    pub fn law_of(&self, inv: &crate::dataset::Invoice) -> std::result::Result<&str, String> {
        let column = inv.terms.as_ref().and_then(|t| t.governing_law.as_deref());
        match column {
            Some(code) if self.config.law.eq_ignore_ascii_case("auto") => self
                .laws
                .law(code)
                .map(|l| l.code.as_str())
                .ok_or_else(|| format!("no law file for governing_law `{code}`")),
            _ => Ok(&self.law),
        }
    }

    /// Interest and compensation claimed on one invoice (`k` its dataset position), in
    /// its currency. `demand_letter`: when a letter that starts a law's waiting term
    /// (the Netherlands' 14-day letter) reached the debtor, if one did.
    pub fn claimed(
        &self,
        as_of: chrono::NaiveDate,
        view: &crate::dataset::CustomerView<'_>,
        k: u32,
        inv: &crate::dataset::Invoice,
        demand_letter: Option<chrono::NaiveDate>,
    ) -> std::result::Result<(rust_decimal::Decimal, rust_decimal::Decimal), String> {
        let law = self.law_of(inv)?;
        let ask = crate::interest::Ask {
            config: &self.config,
            laws: &self.laws,
            law,
            as_of,
            creditor_sme: self.creditor_sme,
            demand_letter,
        };
        crate::interest::claimed(&ask, view, k, inv).map_err(|gap| gap.to_string())
    }

    /// When the demand letter a law's waiting term runs from reached the debtor: the
    /// first reminder about the invoice the history knows delivered, when the campaign
    /// says its reminders are such letters (`interest.demand_letters`). Two days are
    /// added for the post (a letter's delivery is recorded on the day it was posted),
    /// and an e-mail is treated alike: the term may start later than the law allows,
    /// never earlier.
    pub fn demand_letter(&self, inv: &crate::dataset::Invoice) -> Option<chrono::NaiveDate> {
        if !self.config.demand_letters {
            return None;
        }
        inv.reminded.map(|d| d + chrono::Duration::days(2))
    }

    /// The invoices whose `governing_law` names a law no file describes, as `FILE:LINE`
    /// lines (at most `limit`) and how many there are: under `law: auto` each would be
    /// claimed under a law dunwell does not have, so the run stops before writing.
    pub fn unknown_laws(
        &self,
        data: &crate::dataset::Dataset,
        file: &str,
        limit: usize,
    ) -> (Vec<String>, usize) {
        let mut lines = Vec::new();
        let mut count = 0;
        if !self.config.law.eq_ignore_ascii_case("auto") {
            return (lines, 0);
        }
        for inv in &data.invoices {
            if let Some(code) = inv.terms.as_ref().and_then(|t| t.governing_law.as_deref())
                && self.laws.law(code).is_none()
            {
                count += 1;
                if lines.len() < limit {
                    lines.push(format!(
                        "{file}:{}: column governing_law: no law file for `{code}` (expected one of {}; add laws/{}.yaml under interest.laws — docs/money.md)",
                        inv.line,
                        self.laws.codes().collect::<Vec<_>>().join(", "),
                        code.to_ascii_lowercase()
                    ));
                }
            }
        }
        (lines, count)
    }
}

/// Whether an outbox needs a second person's approval before it is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    #[default]
    None,
    Required,
}

/// What rendering one message and segmenting one customer may cost, counted by dunwell
/// (never by a clock, so the same customer fails on every machine). A message over
/// budget is that customer's `render_failed:CHANNEL` exclusion; a rule over budget is
/// a rule-file error. Unset: the defaults (see docs/templates.md).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Loop iterations, filter and function calls, includes and work (a step per 64
    /// bytes copied, scanned or compared) per template render.
    #[serde(default)]
    pub template_steps: Option<u64>,
    /// The longest output of one template, and the heaviest text, list or map it may
    /// build.
    #[serde(default)]
    pub message_bytes: Option<u64>,
    /// The worst-case evaluation cost of one rule (docs/segmentation.md).
    #[serde(default)]
    pub rule_steps: Option<u64>,
    /// The largest e-mail written, attachments and MIME encoding included.
    #[serde(default)]
    pub email_bytes: Option<u64>,
}

/// The largest e-mail by default: Postfix, the most common mail server, refuses a
/// message over 10,240,000 bytes unless told otherwise (`message_size_limit`), and so
/// do many company gateways; the margin is for the headers added on the way (Received,
/// DKIM-Signature). Base64 makes attached files a third larger: about 7.3 MB of them.
pub const DEFAULT_EMAIL_BYTES: u64 = 10_000_000;

/// What one render of one template may cost (campaign `limits:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateLimits {
    /// Loop iterations, calls, includes, and work (a step per 64 bytes of text
    /// copied, scanned or compared) — counted by the engine.
    pub steps: u64,
    /// The longest output of a template, and the heaviest text, list or map it may
    /// build (a list weighs the text it references).
    pub bytes: usize,
}

impl Default for TemplateLimits {
    /// Far above what a dunning message needs (the sample's richest e-mail takes about a
    /// thousand steps and 12 kB), far below what hurts a batch run (a render allocates
    /// at most about 64 bytes per step: 64 MiB).
    fn default() -> Self {
        TemplateLimits {
            steps: 1_000_000,
            bytes: 2 << 20,
        }
    }
}

impl Limits {
    /// The template budget, defaults filled in.
    pub fn templates(&self) -> TemplateLimits {
        let d = TemplateLimits::default();
        TemplateLimits {
            steps: self.template_steps.unwrap_or(d.steps),
            bytes: self
                .message_bytes
                .map_or(d.bytes, |b| usize::try_from(b).unwrap_or(usize::MAX)),
        }
    }

    /// The rule budget, the default filled in.
    pub fn rule_steps(&self) -> u64 {
        self.rule_steps
            .unwrap_or(crate::segment::DEFAULT_RULE_STEPS)
    }

    /// The largest e-mail, the default filled in.
    pub fn email_bytes(&self) -> u64 {
        self.email_bytes.unwrap_or(DEFAULT_EMAIL_BYTES)
    }

    /// Each setting out of its range: (its key under `limits`, what is wrong).
    fn check(&self) -> Vec<(&'static str, String)> {
        let range = |name: &'static str, v: Option<u64>, lo: u64, hi: u64| match v {
            Some(v) if !(lo..=hi).contains(&v) => {
                Some((name, format!("limits.{name}: {v} (expected {lo} to {hi})")))
            }
            _ => None,
        };
        [
            range("template_steps", self.template_steps, 100, 1_000_000_000),
            range("message_bytes", self.message_bytes, 1024, 64 << 20),
            range("rule_steps", self.rule_steps, 10, 1_000_000_000),
            // Below 10 kB not even a reminder without attachments fits; 150 MB is the
            // most any common mail service takes (Microsoft 365, at its highest setting).
            range("email_bytes", self.email_bytes, 10_000, 150_000_000),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Payment links (SPEC §8).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Links {
    /// Where the payment portal lives: links are `BASE_URL/TOKEN`.
    pub base_url: String,
    /// Days after `as_of` a link stays valid.
    #[serde(default = "default_expiry")]
    pub expires_after_days: u32,
    /// The environment variable holding the signing secret.
    #[serde(default = "default_secret_env")]
    pub secret_env: String,
}

/// The longest campaign name, in bytes (it is in every payment token).
pub const MAX_NAME_BYTES: usize = 64;
/// Links live at most ten years.
const MAX_LINK_DAYS: u32 = 3650;

fn default_expiry() -> u32 {
    30
}

fn default_secret_env() -> String {
    crate::payment::link::DEFAULT_SECRET_ENV.to_string()
}

/// SMS limits (SPEC §7).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// More segments than this is a template error (`check`) and an exclusion (`run`).
    #[serde(default = "default_max_segments")]
    pub max_segments: u32,
    /// Languages whose SMS are transliterated into GSM-7 (`ą` → `a`): one 160-character
    /// segment instead of 70-character UCS-2 ones.
    #[serde(default)]
    pub transliterate: Vec<String>,
    /// What a segment costs, for the report's estimate.
    #[serde(default)]
    pub cost: Option<SmsPrice>,
}

/// SMS prices per segment: one default and per destination country (the customer's
/// ISO 3166 country), in one currency. `cost: {currency: EUR, per_segment: 0.06,
/// by_country: {GB: 0.035}}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmsPrice {
    pub currency: String,
    #[serde(default)]
    pub per_segment: Option<crate::plan::Amount>,
    #[serde(default)]
    pub by_country: std::collections::BTreeMap<String, crate::plan::Amount>,
}

fn default_max_segments() -> u32 {
    3
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            max_segments: default_max_segments(),
            transliterate: Vec::new(),
            cost: None,
        }
    }
}

fn default_templates() -> String {
    "templates".into()
}

fn default_segments() -> String {
    "segments/default.yaml".into()
}

/// Who is owed the money: shown in every message and on the payment slip.
#[derive(Clone, Debug, Deserialize, serde::Serialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Creditor {
    pub name: String,
    /// The name SMS use, short enough for an alphanumeric sender ID (11 characters);
    /// the name when not given (filled in when the campaign is read).
    #[serde(default)]
    pub short_name: Option<String>,
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Where replies go, when not to `email` (a shared inbox of the credit team).
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub iban: Option<String>,
    #[serde(default)]
    pub bic: Option<String>,
    /// The accounts debts are paid into, one per currency (docs/money.md). `iban`/`bic`
    /// above are the euro account when no entry here is in euro.
    #[serde(default)]
    pub accounts: Vec<crate::payment::account::Account>,
    #[serde(default)]
    pub vat_id: Option<String>,
    /// The creditor's country (ISO 3166-1 alpha-2): whose law `interest: {law: auto}`
    /// applies.
    #[serde(default)]
    pub country: Option<String>,
    /// Whether the creditor is a small or medium-sized enterprise (China's regulation
    /// gives late-payment interest to SMEs only).
    #[serde(default)]
    pub sme: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Locales {
    /// The language used when a customer's own has no template.
    #[serde(default = "default_locale")]
    pub default: String,
    /// The languages templates exist for.
    #[serde(default)]
    pub supported: Vec<String>,
}

fn default_locale() -> String {
    "en".into()
}

impl Locales {
    /// The locale a customer is written to in: their language tag if templates exist
    /// for it or its language, else the campaign's default.
    pub fn pick<'a>(&'a self, tag: Option<&'a str>) -> &'a str {
        let tag = tag.unwrap_or(&self.default);
        let lang = tag.split(['-', '_']).next().unwrap_or(tag);
        if self.supported.iter().any(|s| s == tag || s == lang) {
            tag
        } else {
            &self.default
        }
    }

    /// [`Locales::pick`] with the customer's country as the region when their language
    /// tag has none: English to a British customer is `en-GB` — 4 December 2026,
    /// 04/12/2026 — not the American default of plain `en`. Templates and words are
    /// still found by the language; dates, numbers and lists follow the region.
    pub fn pick_for<'a>(
        &'a self,
        tag: Option<&'a str>,
        country: Option<&str>,
    ) -> std::borrow::Cow<'a, str> {
        let picked = self.pick(tag);
        match country {
            Some(c) if !picked.contains(['-', '_']) && c.len() == 2 => {
                std::borrow::Cow::Owned(format!("{picked}-{}", c.to_ascii_uppercase()))
            }
            _ => std::borrow::Cow::Borrowed(picked),
        }
    }
}

impl Default for Locales {
    fn default() -> Self {
        Locales {
            default: default_locale(),
            supported: vec![default_locale()],
        }
    }
}

/// A campaign ready to run: paths resolved, overrides applied.
#[derive(Clone, Debug)]
pub struct Campaign {
    pub path: PathBuf,
    pub name: String,
    pub as_of: NaiveDate,
    pub data: DataSpec,
    pub segments: PathBuf,
    pub creditor: Creditor,
    pub locales: Locales,
    /// The stage ladder, matrix and policy; `None` when the file has none (enough for
    /// `segment`; `run` needs them).
    pub plan: Option<crate::plan::PlanConfig>,
    pub links: Option<Links>,
    pub sms: SmsConfig,
    /// Letter layout: the envelope window and marks.
    pub letters: letters::LetterConfig,
    /// The templates folder.
    pub templates: PathBuf,
    pub limits: Limits,
    pub history: Option<crate::history::Location>,
    pub approval: Approval,
    /// Statutory interest, when the campaign claims it.
    pub interest: Option<Interest>,
}

/// Command-line values that take precedence over the campaign file (SPEC §3).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub data: Option<PathBuf>,
    pub as_of: Option<NaiveDate>,
    pub rules: Option<PathBuf>,
}

impl Campaign {
    /// Reads and checks a campaign file: every value that cannot work is reported at
    /// its line and column (`bounds`), all of them at once.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Campaign> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let raw: RawCampaign = parse_yaml(path, &text)?;
        let at = Spans::read(path, &text);
        let base = path.parent().unwrap_or(Path::new("."));
        let mut problems: Vec<Diagnostic> = Vec::new();
        let as_of = match overrides.as_of {
            Some(d) => d,
            None => match parse_date(&raw.as_of.value).and_then(|d| plausible_year(d, "as_of")) {
                Ok(d) => d,
                Err(msg) => {
                    problems.push(
                        Diagnostic::error(
                            path,
                            raw.as_of.referenced.line() as usize,
                            raw.as_of.referenced.column() as usize,
                            format!("as_of: {msg}"),
                        )
                        .width(raw.as_of.value.chars().count()),
                    );
                    NaiveDate::default()
                }
            },
        };
        let data = match &overrides.data {
            Some(dir) => DataSpec::from_dir(dir)?,
            None => {
                let whole = |msg: &str| {
                    let r = &raw.data.referenced;
                    Diagnostic::error(
                        path,
                        r.line() as usize,
                        r.column() as usize,
                        format!("data: {msg}"),
                    )
                };
                match raw.data.value.clone().spec(whole, &at, &text) {
                    Ok(spec) => spec.resolve(base),
                    Err(d) => {
                        problems.extend(d);
                        DataSpec::Ndjson {
                            ndjson: PathBuf::new(),
                        }
                    }
                }
            }
        };
        let segments = match &overrides.rules {
            Some(p) => p.clone(),
            None => join(base, Path::new(&raw.segments)),
        };
        // The name goes into every payment token and the token into a folder name:
        // bounded in bytes, printable.
        let name = &raw.name.value;
        let bad_name = if name.trim().is_empty() {
            Some("is empty (expected a short campaign name such as autumn-2026)".to_string())
        } else if name.len() > MAX_NAME_BYTES {
            Some(format!(
                "is {} bytes long (expected at most {MAX_NAME_BYTES} bytes of UTF-8)",
                name.len()
            ))
        } else if name
            .chars()
            .any(|c| c.is_control() || crate::values::is_format_control(c))
        {
            Some(format!(
                "`{}` contains control or invisible formatting characters (expected printable text)",
                name.escape_debug()
            ))
        } else {
            None
        };
        if let Some(msg) = bad_name {
            problems.push(Diagnostic::error(
                path,
                raw.name.referenced.line() as usize,
                raw.name.referenced.column() as usize,
                format!("name: {msg}"),
            ));
        }
        let mut links = raw.links;
        if let Some(l) = &mut links {
            if !(1..=MAX_LINK_DAYS).contains(&l.expires_after_days) {
                problems.push(at.error(
                    &["links", "expires_after_days"],
                    format!(
                        "links.expires_after_days: {} (expected 1 to {MAX_LINK_DAYS} days)",
                        l.expires_after_days
                    ),
                ));
            }
            match crate::payment::link::check_base_url(&l.base_url) {
                Ok(url) => l.base_url = url,
                Err(msg) => {
                    let d = at.error(&["links", "base_url"], format!("links.base_url: {msg}"));
                    // `user:password@`: the message shows it redacted, the frame not at all.
                    problems.push(if l.base_url.contains('@') {
                        d.hiding_source()
                    } else {
                        d
                    });
                }
            }
        }
        for (key, msg) in raw.limits.check() {
            problems.push(at.error(&["limits", key], msg));
        }
        let mut locales = raw.locales;
        if let Err(msg) = crate::values::check_language(&locales.default) {
            problems.push(at.error(&["locales", "default"], format!("locales.default: {msg}")));
        }
        for (k, tag) in locales.supported.iter().enumerate() {
            if let Err(msg) = crate::values::check_language(tag) {
                problems.push(at.error(
                    &["locales", "supported", &k.to_string()],
                    format!("locales.supported: {msg}"),
                ));
            }
        }
        if !locales.supported.contains(&locales.default) {
            locales.supported.insert(0, locales.default.clone());
        }
        let plan = match (raw.stages, raw.matrix, raw.policy) {
            (Some(stages), Some(matrix), Some(policy)) => Some(crate::plan::PlanConfig {
                stages,
                matrix,
                policy,
            }),
            (None, None, None) => None,
            _ => {
                problems.push(Diagnostic::whole_file(
                    path,
                    "`stages`, `matrix` and `policy` go together: give all three, or none",
                ));
                None
            }
        };
        let history = match raw
            .history
            .as_deref()
            .map(|t| crate::history::Location::parse(t, base))
        {
            None => None,
            Some(Ok(loc)) => Some(loc),
            Some(Err(msg)) => {
                let d = at.error(&["history"], format!("history: {msg}"));
                // A URL with a password: the message says so, the frame does not show it.
                problems.push(if msg.contains("PGPASSWORD") {
                    d.hiding_source()
                } else {
                    d
                });
                None
            }
        };
        if raw.approval == Approval::Required && history.is_none() && raw.history.is_none() {
            problems.push(at.error(
                &["approval"],
                "approval: required needs a history store to record approvals in (add `history: PATH`)",
            ));
        }
        let interest = match raw.interest {
            None => None,
            Some(config) => match config.load_laws(base) {
                Err(Error::Config(d)) => {
                    problems.extend(d);
                    None
                }
                Err(e) => return Err(e),
                Ok(laws) => {
                    let found = config.check(&laws);
                    for p in &found {
                        let mut d = at.error(&["interest", p.key], p.message.clone());
                        for n in &p.notes {
                            d = d.note(n.clone());
                        }
                        problems.push(d);
                    }
                    match config.resolve(&laws, None, raw.creditor.country.as_deref()) {
                        Ok((law, _)) => Some(Interest {
                            config,
                            laws: std::sync::Arc::new(laws),
                            law,
                            creditor_sme: raw.creditor.sme,
                        }),
                        Err(msg) => {
                            if found.is_empty() {
                                problems.push(at.error(
                                    &["interest", "law"],
                                    format!("{msg} (or creditor.country: the creditor's ISO country code)"),
                                ));
                            }
                            None
                        }
                    }
                }
            },
        };
        let campaign = Campaign {
            path: path.to_path_buf(),
            name: raw.name.value,
            as_of,
            data,
            segments,
            creditor: raw.creditor,
            locales,
            plan,
            links,
            sms: raw.sms,
            letters: raw.letters,
            limits: raw.limits,
            templates: join(base, Path::new(&raw.templates)),
            history,
            approval: raw.approval,
            interest,
        };
        problems.extend(crate::campaign::bounds::check(&campaign, &at));
        if problems.is_empty() {
            let mut campaign = campaign;
            let name = campaign.creditor.name.clone();
            campaign.creditor.short_name.get_or_insert(name);
            Ok(campaign)
        } else {
            Err(Error::Config(problems))
        }
    }
}

/// `rel` relative to `base`, with `.` and `..` resolved lexically: messages then name
/// `segments/default.yaml`, not `samples/../segments/default.yaml`.
pub fn join(base: &Path, rel: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

pub use crate::values::{parse_date, plausible_year};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customers_locale_takes_their_country_as_its_region() {
        let l = Locales {
            default: "en".into(),
            supported: vec!["en".into(), "pl".into(), "zh-Hant".into()],
        };
        assert_eq!(l.pick_for(Some("en"), Some("GB")), "en-GB");
        assert_eq!(l.pick_for(None, Some("IE")), "en-IE");
        assert_eq!(l.pick_for(Some("de"), Some("DE")), "en-DE"); // no German: English
        assert_eq!(l.pick_for(Some("zh-Hant"), Some("TW")), "zh-Hant");
        assert_eq!(l.pick_for(Some("pl"), None), "pl");
    }

    #[test]
    fn impossible_dates_say_why() {
        assert!(
            parse_date("2026-02-30")
                .unwrap_err()
                .contains("February 2026 has 28 days")
        );
        assert!(parse_date("2024-02-29").is_ok());
        assert!(
            parse_date("2026-13-01")
                .unwrap_err()
                .contains("no month 13")
        );
        assert!(
            parse_date("31/12/2026")
                .unwrap_err()
                .contains("expected YYYY-MM-DD")
        );
        assert_eq!(
            parse_date("2026-01-02T10:00:00Z").unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()
        );
    }
}
