//! The law and rate files (`laws/*.yaml`, `laws/rates/*.yaml`): their types, the shipped
//! copies compiled in, a campaign's own folder laid over them, and the look-ups the engine
//! makes in them.
//!
//! Rates change with every central-bank meeting and statutes get amended; a rate wired
//! into code would be wrong by the next release and nobody could check it. As data, each
//! figure sits next to where it was checked, and a user adds next month's rate without a
//! new build.

use crate::diag::{Diagnostic, Error, Result, did_you_mean};
use crate::spans::parse_yaml;
use chrono::{Datelike, NaiveDate, Weekday};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The shipped files: (path shown in messages, text).
const SHIPPED_LAWS: &[(&str, &str)] = &[
    ("laws/cn.yaml", include_str!("../../laws/cn.yaml")),
    ("laws/de.yaml", include_str!("../../laws/de.yaml")),
    ("laws/eu.yaml", include_str!("../../laws/eu.yaml")),
    ("laws/gb.yaml", include_str!("../../laws/gb.yaml")),
    ("laws/it.yaml", include_str!("../../laws/it.yaml")),
    ("laws/jp.yaml", include_str!("../../laws/jp.yaml")),
    ("laws/lv.yaml", include_str!("../../laws/lv.yaml")),
    ("laws/nl.yaml", include_str!("../../laws/nl.yaml")),
    ("laws/pl.yaml", include_str!("../../laws/pl.yaml")),
    ("laws/ro.yaml", include_str!("../../laws/ro.yaml")),
];

const SHIPPED_TABLES: &[(&str, &str)] = &[
    (
        "laws/rates/bnr_eur_ron.yaml",
        include_str!("../../laws/rates/bnr_eur_ron.yaml"),
    ),
    (
        "laws/rates/bnr_reference.yaml",
        include_str!("../../laws/rates/bnr_reference.yaml"),
    ),
    (
        "laws/rates/boe_base.yaml",
        include_str!("../../laws/rates/boe_base.yaml"),
    ),
    (
        "laws/rates/bundesbank_base.yaml",
        include_str!("../../laws/rates/bundesbank_base.yaml"),
    ),
    (
        "laws/rates/cn_lpr_1y.yaml",
        include_str!("../../laws/rates/cn_lpr_1y.yaml"),
    ),
    (
        "laws/rates/ecb_mro.yaml",
        include_str!("../../laws/rates/ecb_mro.yaml"),
    ),
    (
        "laws/rates/it_legal.yaml",
        include_str!("../../laws/rates/it_legal.yaml"),
    ),
    (
        "laws/rates/jp_statutory.yaml",
        include_str!("../../laws/rates/jp_statutory.yaml"),
    ),
    (
        "laws/rates/nbp_eur_pln.yaml",
        include_str!("../../laws/rates/nbp_eur_pln.yaml"),
    ),
    (
        "laws/rates/nbp_reference.yaml",
        include_str!("../../laws/rates/nbp_reference.yaml"),
    ),
    (
        "laws/rates/nl_wettelijke_rente.yaml",
        include_str!("../../laws/rates/nl_wettelijke_rente.yaml"),
    ),
];

/// Where a figure comes from.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub url: String,
    pub title: String,
}

/// How days become a fraction of the annual rate.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum DayCount {
    /// Actual days over 365, leap years too.
    #[serde(rename = "act/365")]
    Act365,
    /// Actual days over the days of the year each day falls in (365 or 366).
    #[serde(rename = "act/act")]
    ActAct,
    /// Actual days over 360.
    #[serde(rename = "act/360")]
    Act360,
    /// The rate is per day (China's 0.05 %).
    #[serde(rename = "daily")]
    Daily,
}

/// Whether interest of a year is added to the sum interest runs on.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Compound {
    #[default]
    None,
    /// After each full year of interest (the Netherlands, art. 6:119(2) BW).
    Yearly,
}

/// When the reference table is read.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Reset {
    /// Every day at the rate in force that day.
    #[default]
    Continuous,
    /// For each half-year (1 January, 1 July) at one reference day's rate.
    HalfYearly,
}

/// Which day's rate sets a half-year's rate.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceDay {
    /// The rate in force on 1 January / 1 July (Poland, Germany's base rate).
    #[default]
    FirstDay,
    /// The rate in force the day before: 31 December / 30 June (the ECB's "most recent
    /// operation before the first calendar day", the UK's 31 December / 30 June).
    DayBefore,
}

/// Whether the rate follows the periods or is fixed when interest starts.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RateFixedAt {
    /// Each period at its own rate.
    #[default]
    PerPeriod,
    /// The rate of the first day of interest, for the whole debt (Japan art. 419, the
    /// UK's reference day).
    Default,
}

/// Conditions a rule holds only under, passed in by the caller.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// The creditor is a small or medium-sized enterprise (China).
    #[serde(default)]
    pub creditor_sme: bool,
    /// The debtor is a large enterprise or a public body (China).
    #[serde(default)]
    pub debtor_large_or_public: bool,
    /// A demand letter giving this many days, counted from the day after it was
    /// received, must have run out (the Netherlands' consumer collection costs).
    #[serde(default)]
    pub demand_letter_days: Option<u32>,
}

/// The statutory rate for one kind of debtor.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RateRule {
    /// The reference table's name (`laws/rates/NAME.yaml`), or none with `fixed`.
    #[serde(default)]
    pub reference: Option<String>,
    /// A rate the law writes down itself (Latvia's 6 %, China's 0.05 % a day).
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub fixed: Option<Decimal>,
    /// Points over the reference rate.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub margin: Option<Decimal>,
    #[serde(default)]
    pub reset: Reset,
    #[serde(default)]
    pub reference_day: ReferenceDay,
    #[serde(default)]
    pub rate_fixed_at: RateFixedAt,
    #[serde(default)]
    pub requires: Requires,
    #[serde(default = "yes")]
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct ByDebtor<T> {
    #[serde(default = "none")]
    pub b2b: Option<T>,
    #[serde(default = "none")]
    pub consumer: Option<T>,
}

impl<T> Default for ByDebtor<T> {
    fn default() -> Self {
        ByDebtor {
            b2b: None,
            consumer: None,
        }
    }
}

fn none<T>() -> Option<T> {
    None
}

/// How low a contractual rate may go.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Floor {
    /// The agreed rate as agreed.
    #[default]
    None,
    /// Never below the statutory rate of the day (Germany, Japan).
    Statutory,
    /// Never below `floor_table`'s rate on the day the contract was made (China's LPR).
    ReferenceAtContract,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contractual {
    /// Whether an agreed rate displaces the statutory one at all.
    #[serde(default)]
    pub allowed: bool,
    #[serde(default)]
    pub floor: Floor,
    #[serde(default)]
    pub floor_table: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// One fixed-sum tier: the first tier whose bound the amount meets applies.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The amount is at most this.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub up_to: Option<Decimal>,
    /// The amount is less than this.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub below: Option<Decimal>,
    #[serde(deserialize_with = "de_decimal")]
    pub amount: Decimal,
}

/// One band of a percentage scale: `percent` of the part of the amount up to `up_to`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Band {
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub up_to: Option<Decimal>,
    #[serde(deserialize_with = "de_decimal")]
    pub percent: Decimal,
}

/// Which day's exchange rate converts a compensation.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConvertOn {
    /// Poland: the last business day of the month before the month of the due date.
    LastBusinessDayOfMonthBeforeDue,
    /// The due date itself (or the last rate published before it).
    DueDate,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Convert {
    pub table: String,
    pub on: ConvertOn,
}

/// The fixed compensation for recovery costs for one kind of debtor.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CompensationRule {
    /// The currency the law states the sums in.
    pub currency: String,
    /// The currency the tier bounds are in, when not `currency` (Poland: PLN bounds,
    /// EUR sums).
    #[serde(default)]
    pub thresholds_currency: Option<String>,
    #[serde(default)]
    pub tiers: Vec<Tier>,
    #[serde(default)]
    pub scale: Vec<Band>,
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub minimum: Option<Decimal>,
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub maximum: Option<Decimal>,
    #[serde(default)]
    pub convert: Option<Convert>,
    #[serde(default)]
    pub requires: Requires,
    #[serde(default = "yes")]
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// One jurisdiction's file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Law {
    /// `DE`, `GB`, `EU`: the code a campaign names.
    pub code: String,
    pub name: String,
    pub statute: String,
    pub source: Source,
    pub day_count: DayCount,
    #[serde(default)]
    pub day_count_note: Option<String>,
    #[serde(default)]
    pub compound: Compound,
    #[serde(default)]
    pub interest: ByDebtor<RateRule>,
    #[serde(default)]
    pub contractual: Contractual,
    #[serde(default)]
    pub compensation: ByDebtor<CompensationRule>,
    /// What the law leaves to the courts, for people to read; never computed.
    #[serde(default)]
    pub guidance: Option<String>,
    #[serde(skip)]
    pub file: PathBuf,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// A rate in force from each entry's `from` until the next entry.
    #[default]
    Step,
    /// An exchange rate published on each entry's `on` day.
    Fx,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub on: Option<NaiveDate>,
    #[serde(deserialize_with = "de_decimal")]
    pub rate: Decimal,
    /// Where this figure was checked.
    #[serde(default)]
    pub checked: Option<String>,
    #[serde(default = "yes")]
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub kind: TableKind,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub pair: Option<String>,
    pub source: Source,
    /// The last day the table is known to be complete; later days use the last rate and
    /// are marked unverified.
    #[serde(default)]
    pub verified_until: Option<NaiveDate>,
    /// The last day the table may be read at all (step tables).
    #[serde(default)]
    pub until: Option<NaiveDate>,
    pub entries: Vec<Entry>,
    #[serde(skip)]
    pub file: PathBuf,
}

/// A rate read from a table, with whether it can be relied on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Looked {
    pub rate: Decimal,
    /// The day the rate was published or took effect.
    pub date: NaiveDate,
    pub verified: bool,
}

/// A day the data does not cover, or a file that cannot be used: the user's files are
/// incomplete, which stops the campaign rather than claiming a guessed amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataGap {
    pub file: PathBuf,
    pub message: String,
}

impl std::fmt::Display for DataGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl Table {
    /// The step rate in force on `day`.
    pub fn rate_on(&self, day: NaiveDate) -> Result<Looked, DataGap> {
        let gap = |message: String| DataGap {
            file: self.file.clone(),
            message,
        };
        if let Some(until) = self.until.filter(|u| day > *u) {
            return Err(gap(format!(
                "`{}` is known only until {until}; {day} is later: add the rate in force on {day} ({})",
                self.name, self.source.url
            )));
        }
        let entry = self
            .entries
            .iter()
            .filter(|e| e.from.is_some_and(|f| f <= day))
            .max_by_key(|e| e.from);
        let Some(e) = entry else {
            let first = self.entries.iter().filter_map(|e| e.from).min();
            return Err(gap(match first {
                Some(f) => format!(
                    "`{}` starts on {f}; {day} is earlier: add the rate in force on {day} ({})",
                    self.name, self.source.url
                ),
                None => format!(
                    "`{}` has no rates: add the rate in force on {day} ({})",
                    self.name, self.source.url
                ),
            }));
        };
        let from = e.from.unwrap_or(day);
        Ok(Looked {
            rate: e.rate,
            date: from,
            verified: e.verified && self.verified_until.is_some_and(|v| day <= v),
        })
    }

    /// The exchange rate published exactly on `day`.
    pub fn fx_on(&self, day: NaiveDate) -> Result<Looked, DataGap> {
        self.entries
            .iter()
            .find(|e| e.on == Some(day))
            .map(|e| Looked {
                rate: e.rate,
                date: day,
                verified: e.verified,
            })
            .ok_or_else(|| DataGap {
                file: self.file.clone(),
                message: format!(
                    "`{}` has no {} rate for {day}: add `- {{on: {day}, rate: \"…\"}}` from {}",
                    self.name,
                    self.pair.as_deref().unwrap_or("exchange"),
                    self.source.url
                ),
            })
    }

    /// The rate of the last day in `(year, month)` the table lists, which must be the
    /// last business day: NBP publishes on business days only, so a month's last row is
    /// that day's rate as long as the table holds the month's end. A row more than four
    /// days before the month's last weekday is taken as a gap, not as the month's end.
    pub fn fx_last_business_day(&self, year: i32, month: u32) -> Result<Looked, DataGap> {
        let last = last_weekday_of_month(year, month);
        let found = self
            .entries
            .iter()
            .filter_map(|e| e.on.map(|d| (d, e)))
            .filter(|(d, _)| d.year() == year && d.month() == month)
            .max_by_key(|(d, _)| *d);
        match found {
            Some((d, e)) if (last - d).num_days() <= 4 => Ok(Looked {
                rate: e.rate,
                date: d,
                verified: e.verified,
            }),
            _ => Err(DataGap {
                file: self.file.clone(),
                message: format!(
                    "`{}` has no {} rate for the last business day of {year}-{month:02} (on or shortly before {last}): add it from {}",
                    self.name,
                    self.pair.as_deref().unwrap_or("exchange"),
                    self.source.url
                ),
            }),
        }
    }
}

fn last_weekday_of_month(year: i32, month: u32) -> NaiveDate {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("a valid month");
    let mut d = next.pred_opt().expect("a day before");
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d = d.pred_opt().expect("a day before");
    }
    d
}

/// Every law and table a campaign can use: the shipped ones, overridden and extended by
/// the campaign's `interest.laws` folder.
#[derive(Clone, Debug, Default)]
pub struct Laws {
    laws: BTreeMap<String, Law>,
    tables: BTreeMap<String, Table>,
}

impl Laws {
    /// The files shipped with dunwell.
    pub fn shipped() -> Result<Laws> {
        let mut laws = Laws::default();
        let mut diags = Vec::new();
        for (path, text) in SHIPPED_TABLES {
            laws.add_table(Path::new(path), text, &mut diags);
        }
        for (path, text) in SHIPPED_LAWS {
            laws.add_law(Path::new(path), text, &mut diags);
        }
        laws.finish(diags)
    }

    /// The shipped files with a folder laid over them: `DIR/*.yaml` are laws,
    /// `DIR/rates/*.yaml` tables; a file with the same code or name replaces the shipped
    /// one (a user who knows better than the release wins, and says so in their file).
    pub fn shipped_and(dir: &Path) -> Result<Laws> {
        let mut laws = Laws::shipped()?;
        let mut diags = Vec::new();
        for (sub, is_table) in [(dir.join("rates"), true), (dir.to_path_buf(), false)] {
            if !sub.is_dir() {
                if !is_table {
                    return Err(Error::Input(format!(
                        "{}: interest.laws is not a folder (expected a folder of law files such as de.yaml and a rates/ folder)",
                        dir.display()
                    )));
                }
                continue;
            }
            let mut files: Vec<PathBuf> = std::fs::read_dir(&sub)
                .map_err(|e| Error::io(&sub, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            for f in files {
                let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e))?;
                if is_table {
                    laws.add_table(&f, &text, &mut diags);
                } else {
                    laws.add_law(&f, &text, &mut diags);
                }
            }
        }
        laws.finish(diags)
    }

    fn add_table(&mut self, path: &Path, text: &str, diags: &mut Vec<Diagnostic>) {
        match parse_yaml::<Table>(path, text) {
            Ok(mut t) => {
                t.file = path.to_path_buf();
                self.tables.insert(t.name.clone(), t);
            }
            Err(Error::Config(d)) => diags.extend(d),
            Err(e) => diags.push(Diagnostic::whole_file(path, e.to_string())),
        }
    }

    fn add_law(&mut self, path: &Path, text: &str, diags: &mut Vec<Diagnostic>) {
        match parse_yaml::<Law>(path, text) {
            Ok(mut l) => {
                l.file = path.to_path_buf();
                l.code = l.code.to_ascii_uppercase();
                self.laws.insert(l.code.clone(), l);
            }
            Err(Error::Config(d)) => diags.extend(d),
            Err(e) => diags.push(Diagnostic::whole_file(path, e.to_string())),
        }
    }

    /// Checks what serde cannot: references between files, entry shapes, tier order.
    fn finish(self, mut diags: Vec<Diagnostic>) -> Result<Laws> {
        for t in self.tables.values() {
            for (i, e) in t.entries.iter().enumerate() {
                let ok = match t.kind {
                    TableKind::Step => e.from.is_some() && e.on.is_none(),
                    TableKind::Fx => e.on.is_some() && e.from.is_none(),
                };
                if !ok {
                    let want = if t.kind == TableKind::Fx {
                        "on"
                    } else {
                        "from"
                    };
                    diags.push(Diagnostic::whole_file(
                        &t.file,
                        format!("entries[{i}]: expected a `{want}:` date (and only that)"),
                    ));
                }
                if !e.verified && e.note.is_none() {
                    diags.push(Diagnostic::whole_file(
                        &t.file,
                        format!("entries[{i}]: `verified: false` needs a `note:` saying what is not checked"),
                    ));
                }
            }
        }
        for l in self.laws.values() {
            let mut refs = Vec::new();
            for (kind, r) in [("b2b", &l.interest.b2b), ("consumer", &l.interest.consumer)] {
                let Some(r) = r else { continue };
                match (&r.reference, r.fixed) {
                    (Some(t), None) => refs.push((format!("interest.{kind}.reference"), t.clone())),
                    (None, Some(_)) => {}
                    _ => diags.push(Diagnostic::whole_file(
                        &l.file,
                        format!("interest.{kind}: give either `reference:` (a table) or `fixed:` (a rate)"),
                    )),
                }
            }
            if let Some(t) = &l.contractual.floor_table {
                refs.push(("contractual.floor_table".into(), t.clone()));
            } else if l.contractual.floor == Floor::ReferenceAtContract {
                diags.push(Diagnostic::whole_file(
                    &l.file,
                    "contractual.floor: reference_at_contract needs `floor_table:`",
                ));
            }
            for (kind, c) in [
                ("b2b", &l.compensation.b2b),
                ("consumer", &l.compensation.consumer),
            ] {
                let Some(c) = c else { continue };
                if c.tiers.is_empty() == c.scale.is_empty() {
                    diags.push(Diagnostic::whole_file(
                        &l.file,
                        format!("compensation.{kind}: give either `tiers:` or `scale:`"),
                    ));
                }
                if let Some(cv) = &c.convert {
                    refs.push((
                        format!("compensation.{kind}.convert.table"),
                        cv.table.clone(),
                    ));
                }
                for code in std::iter::once(&c.currency).chain(&c.thresholds_currency) {
                    if let Err(e) = crate::money::Currency::parse(code) {
                        diags.push(Diagnostic::whole_file(
                            &l.file,
                            format!("compensation.{kind}: {e}"),
                        ));
                    }
                }
            }
            for (key, name) in refs {
                if !self.tables.contains_key(&name) {
                    let mut d = Diagnostic::whole_file(
                        &l.file,
                        format!("{key}: unknown rate table `{name}`"),
                    );
                    if let Some(s) = did_you_mean(&name, self.tables.keys().map(String::as_str)) {
                        d.message.push_str(&format!(" — did you mean `{s}`?"));
                    }
                    diags.push(d.note("a table is laws/rates/NAME.yaml with `name: NAME`"));
                }
            }
        }
        if diags.is_empty() {
            Ok(self)
        } else {
            Err(Error::Config(diags))
        }
    }

    pub fn law(&self, code: &str) -> Option<&Law> {
        self.laws.get(&code.to_ascii_uppercase())
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// The law codes, for "did you mean" and for listing.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.laws.keys().map(String::as_str)
    }
}

fn yes() -> bool {
    true
}

/// Rates are written as strings (`"3.12"`) so that YAML never reads them as floats; a bare
/// number is accepted through its text for the same reason.
fn de_decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Decimal;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a decimal number written as a string, such as \"3.12\"")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str(v.trim())
                .map_err(|_| E::custom(format!("`{v}` is not a decimal number")))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
            // The shortest text that reads back as `v` is what the person typed.
            Decimal::from_str(&v.to_string())
                .map_err(|_| E::custom(format!("`{v}` is not a decimal number")))
        }
    }
    d.deserialize_any(V)
}

fn de_opt_decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    de_decimal(d).map(Some)
}

/// The shipped tables' names (their file stems), for tests over all of them.
#[cfg(test)]
pub(crate) fn shipped_table_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    SHIPPED_TABLES.iter().map(|(path, _)| {
        let stem = path.rsplit('/').next().unwrap_or(path);
        (stem.trim_end_matches(".yaml"), *path)
    })
}
