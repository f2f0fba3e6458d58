//! Who gets what, and when (SPEC §6): the stage ladder, the cluster × stage → channels
//! matrix, and the contact policy, with a reason code for everything left out.
//!
//! One message per customer per channel, covering all their overdue invoices — never one
//! per invoice. Policy applies after the matrix: holds, disputes, minimum amount, consent,
//! contact data, frequency caps; every customer skipped, and every channel dropped for a
//! planned customer, gets a row in `exclusions.csv`. Messages are scheduled at the first
//! moment inside the customer's contact window, in their own time zone.

use crate::dataset::{Channel, CustomerView, EventKind, Field, Invoice, InvoiceStatus};
use crate::diag::{Diagnostic, Error, Result, did_you_mean};
use crate::features::Features;
use crate::money::Currency;
use crate::segment::{Assignment, Cluster};
use crate::spans::Spans;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;

mod config;
mod exclusion;

/// A stage as the credit team reads it in the report and the gallery: the sample
/// ladder's stages by their meaning (`pre_legal` → `Before legal action`), any other
/// name a campaign gives made readable (`third_call` → `Third call`). Files and the
/// terminal keep the name.
pub fn stage_label(name: &str) -> String {
    match name {
        "pre_due" => "Before the due date".into(),
        "reminder" => "Reminder".into(),
        "second_reminder" => "Second reminder".into(),
        "final_notice" => "Final notice".into(),
        "pre_legal" => "Before legal action".into(),
        other => crate::dataset::humanize(other),
    }
}

pub use config::{Amount, Cap, Cell, MinAmount, PlanConfig, Policy, Stage, Window};
pub use exclusion::{Block, ExclusionReason};

/// The ladder, matrix and policy, checked and ready.
#[derive(Clone, Debug)]
pub struct Rules {
    stages: Vec<Stage>,
    matrix: BTreeMap<(Cluster, usize), MatrixCell>,
    min_amount: MinAmount,
    caps: BTreeMap<Channel, Cap>,
    days: Vec<Weekday>,
    from: NaiveTime,
    to: NaiveTime,
    send_from: DateTime<Utc>,
    /// `policy.send_from` was written; else it is the campaign date (`starting_on`).
    send_from_given: bool,
    default_tz: chrono_tz::Tz,
    promise_grace_days: i64,
    level_interval_days: i64,
    /// Per country, the days nobody there is contacted: public holidays and the
    /// campaign's own.
    holidays: BTreeMap<String, std::collections::BTreeSet<NaiveDate>>,
}

/// A cell of the matrix as planned: the campaign file's [`Cell`] with its channels parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixCell {
    pub channels: Vec<Channel>,
    /// The template override: NAME of templates/CHANNEL/CLUSTER/NAME.LOCALE.EXT in place
    /// of the stage's name.
    pub template: Option<String>,
    /// The letter goes with the e-mail as a PDF attachment.
    pub attach_letter: bool,
    /// So does the customer's statement of account (PDF and XLSX); with a letter, the
    /// statement is enclosed after it.
    pub attach_statement: bool,
    /// `statement` among the channels: the customer's statement of account is posted
    /// as the letter (the letter channel, with the statement's pages in its place).
    pub statement: bool,
}

const PLANNED_CHANNELS: [Channel; 4] =
    [Channel::Email, Channel::Sms, Channel::Letter, Channel::Web];

/// The matrix's word for a posted statement of account: a letter channel message.
pub const STATEMENT: &str = "statement";

impl Rules {
    /// Checks names, ranges and times; every problem is reported, at the campaign file.
    pub fn new(config: &PlanConfig, file: &Path) -> Result<Rules> {
        Self::checked(config, &Spans::unknown(file))
    }

    /// Like [`Rules::new`], each problem pointing at its value in the campaign file.
    pub fn checked(config: &PlanConfig, at: &Spans) -> Result<Rules> {
        let mut problems: Vec<Diagnostic> = Vec::new();
        let stages = check_stages(&config.stages, at, &mut problems);
        let stage_names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
        let mut matrix = BTreeMap::new();
        let default_row = config.matrix.get("default");
        for (cluster_name, row) in &config.matrix {
            if cluster_name != "default" && Cluster::parse(cluster_name).is_err() {
                problems.push(at.error(
                    &["matrix", cluster_name],
                    unknown(
                        "cluster",
                        cluster_name,
                        Cluster::ALL.iter().map(|c| c.as_str()).chain(["default"]),
                    ),
                ));
            }
            for (stage, cell) in row {
                let here = ["matrix", cluster_name.as_str(), stage.as_str()];
                if !stage_names.contains(&stage.as_str()) {
                    problems.push(
                        at.error(&here, unknown("stage", stage, stage_names.iter().copied())),
                    );
                }
                let mut seen: Vec<Channel> = Vec::new();
                for (k, ch) in cell.channels().iter().enumerate() {
                    let k = k.to_string();
                    let place: Vec<&str> = match cell {
                        Cell::Channels(_) => here.iter().copied().chain([k.as_str()]).collect(),
                        Cell::Full { .. } => here
                            .iter()
                            .copied()
                            .chain(["channels", k.as_str()])
                            .collect(),
                    };
                    // `statement` is a letter whose pages are the statement of account.
                    let parsed = if ch == STATEMENT {
                        Ok(Channel::Letter)
                    } else {
                        Channel::parse(ch)
                    };
                    match parsed {
                        Ok(c) if PLANNED_CHANNELS.contains(&c) => {
                            if seen.contains(&c) {
                                // Two messages with one id: which one would be sent?
                                problems.push(at.error(
                                    &place,
                                    if c == Channel::Letter && cell.channels().iter().any(|x| x == STATEMENT) && cell.channels().iter().any(|x| x == "letter") {
                                        format!(
                                            "matrix.{cluster_name}.{stage}: `letter` and `statement` are both posted letters (expected one of them; to enclose the statement with the reminder letter, write `channels: [letter], attach_statement: true`)"
                                        )
                                    } else {
                                        format!(
                                            "matrix.{cluster_name}.{stage}: channel `{ch}` is listed twice (expected each channel once: one message per channel)"
                                        )
                                    },
                                ));
                            }
                            seen.push(c);
                        }
                        _ => problems.push(
                            at.error(
                                &place,
                                unknown(
                                    "channel",
                                    ch,
                                    PLANNED_CHANNELS
                                        .iter()
                                        .map(|c| c.as_str())
                                        .chain([STATEMENT]),
                                ),
                            ),
                        ),
                    }
                }
                let posts_statement = cell.channels().iter().any(|x| x == STATEMENT);
                if cell.attach_statement()
                    && !seen.contains(&Channel::Email)
                    && (!seen.contains(&Channel::Letter) || posts_statement)
                {
                    problems.push(at.error(
                        &[&here[..], &["attach_statement"]].concat(),
                        format!(
                            "matrix.{cluster_name}.{stage}: `attach_statement` without `email` or `letter` in its channels: the statement would be attached to nothing (expected `email` or `letter` among the channels)"
                        ),
                    ));
                }
                if cell.attach_letter() && !seen.contains(&Channel::Email) {
                    problems.push(at.error(
                        &[&here[..], &["attach_letter"]].concat(),
                        format!(
                            "matrix.{cluster_name}.{stage}: `attach_letter` without `email` in its channels: the letter would be attached to nothing (expected `email` among the channels)"
                        ),
                    ));
                }
                if let Some(t) = cell.template()
                    && (t.trim().is_empty() || t.contains(['/', '\\', '.']))
                {
                    problems.push(at.error(
                        &[&here[..], &["template"]].concat(),
                        format!(
                            "matrix.{cluster_name}.{stage}.template: `{}` is not a template name (expected a stage-like name such as final_notice, without `/` or `.`: templates/CHANNEL/CLUSTER/NAME.LOCALE.EXT)",
                            t.escape_debug()
                        ),
                    ));
                }
            }
        }
        for cluster in Cluster::ALL {
            let row = config.matrix.get(cluster.as_str()).or(default_row);
            for (i, stage) in stages.iter().enumerate() {
                if let Some(cell) = row.and_then(|r| r.get(&stage.name)) {
                    let channels = cell
                        .channels()
                        .iter()
                        .filter_map(|c| {
                            if c == STATEMENT {
                                Some(Channel::Letter)
                            } else {
                                Channel::parse(c).ok()
                            }
                        })
                        .collect();
                    matrix.insert(
                        (*cluster, i),
                        MatrixCell {
                            channels,
                            template: cell.template().map(str::to_string),
                            attach_letter: cell.attach_letter(),
                            attach_statement: cell.attach_statement(),
                            statement: cell.channels().iter().any(|c| c == STATEMENT),
                        },
                    );
                }
            }
        }
        let policy = &config.policy;
        let mut caps = BTreeMap::new();
        for (ch, cap) in &policy.frequency_caps {
            let here = ["policy", "frequency_caps", ch.as_str()];
            match Channel::parse(ch) {
                Ok(c) if PLANNED_CHANNELS.contains(&c) => {
                    caps.insert(c, *cap);
                }
                _ => problems.push(at.error(
                    &here,
                    unknown("channel", ch, PLANNED_CHANNELS.iter().map(|c| c.as_str())),
                )),
            }
            if !CAP_MAX.contains(&cap.max) {
                problems.push(at.error(
                    &[&here[..], &["max"]].concat(),
                    format!(
                        "policy.frequency_caps.{ch}.max: {} (expected {} to {} reminders; to send none on a channel, leave it out of the matrix)",
                        cap.max,
                        CAP_MAX.start(),
                        CAP_MAX.end()
                    ),
                ));
            }
            if !CAP_DAYS.contains(&cap.days) {
                problems.push(at.error(
                    &[&here[..], &["days"]].concat(),
                    format!(
                        "policy.frequency_caps.{ch}.days: {} (expected {} to {} days)",
                        cap.days,
                        CAP_DAYS.start(),
                        CAP_DAYS.end()
                    ),
                ));
            }
        }
        if let MinAmount::PerCurrency(m) = &policy.min_amount {
            for code in m.keys() {
                let ok = code == "default"
                    || Currency::parse(code).is_ok_and(|c| c.code() == code.as_str());
                if !ok {
                    problems.push(at.error(
                        &["policy", "min_amount", code.as_str()],
                        format!(
                            "policy.min_amount: `{code}` is not a currency code (expected an ISO 4217 code in capitals such as EUR, PLN, JPY, or `default`)"
                        ),
                    ));
                }
            }
        }
        let w = &policy.contact_window;
        let window = ["policy", "contact_window"];
        let mut days = Vec::new();
        for (k, d) in w.days.iter().enumerate() {
            match d.parse::<Weekday>() {
                Ok(day) => days.push(day),
                Err(_) => problems.push(at.error(
                    &[&window[..], &["days", &k.to_string()]].concat(),
                    format!("policy.contact_window.days: `{d}` is not a day (expected mon, tue, wed, thu, fri, sat, sun)"),
                )),
            }
        }
        let time = |t: &str, what: &str, problems: &mut Vec<Diagnostic>| {
            NaiveTime::parse_from_str(t, "%H:%M").unwrap_or_else(|_| {
                problems.push(at.error(
                    &[&window[..], &[what]].concat(),
                    format!(
                        "policy.contact_window.{what}: `{t}` is not a time (expected HH:MM from 00:00 to 23:59, e.g. 09:00)"
                    ),
                ));
                NaiveTime::MIN
            })
        };
        let (from, to) = (
            time(&w.from, "from", &mut problems),
            time(&w.to, "to", &mut problems),
        );
        if from >= to {
            problems.push(at.error(
                &[&window[..], &["to"]].concat(),
                format!(
                    "policy.contact_window: `from` {} is not before `to` {} (expected a window within one day, e.g. from 09:00 to 18:00)",
                    w.from, w.to
                ),
            ));
        }
        if days.is_empty() {
            problems.push(at.error(
                &[&window[..], &["days"]].concat(),
                "policy.contact_window.days is empty: no message could ever be sent (expected days such as [mon, tue, wed, thu, fri])",
            ));
        }
        let given = policy
            .send_from
            .as_deref()
            .unwrap_or("1970-01-01T00:00:00Z");
        let send_from = match DateTime::parse_from_rfc3339(given) {
            Ok(d) if (send_from_range().contains(&d.with_timezone(&Utc))) => d.with_timezone(&Utc),
            Ok(_) => {
                let r = send_from_range();
                problems.push(at.error(
                    &["policy", "send_from"],
                    format!(
                        "policy.send_from: `{}` is out of range (expected a moment from {} to {}: messages go out at the first moment of the contact window, up to {SCHEDULE_DAYS} days later, and every date dunwell writes is in 1970–2099)",
                        given,
                        r.start().format("%Y-%m-%dT%H:%M:%SZ"),
                        r.end().format("%Y-%m-%dT%H:%M:%SZ"),
                    ),
                ));
                DateTime::<Utc>::MIN_UTC
            }
            Err(_) => {
                problems.push(at.error(
                    &["policy", "send_from"],
                    format!("policy.send_from: `{given}` is not a moment (expected RFC 3339, e.g. 2026-11-23T08:00:00Z)"),
                ));
                DateTime::<Utc>::MIN_UTC
            }
        };
        if !(0..=MAX_PROMISE_GRACE).contains(&policy.promise_grace_days) {
            problems.push(at.error(
                &["policy", "promise_grace_days"],
                format!(
                    "policy.promise_grace_days: {} (expected 0 to {MAX_PROMISE_GRACE} days after the promised date)",
                    policy.promise_grace_days
                ),
            ));
        }
        if !LEVEL_INTERVAL.contains(&policy.level_interval_days) {
            problems.push(at.error(
                &["policy", "level_interval_days"],
                format!(
                    "policy.level_interval_days: {} (expected {} to {} days between two reminders about one invoice)",
                    policy.level_interval_days,
                    LEVEL_INTERVAL.start(),
                    LEVEL_INTERVAL.end()
                ),
            ));
        }
        let default_tz = policy.default_timezone.parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            problems.push(at.error(
                &["policy", "default_timezone"],
                format!("policy.default_timezone: unknown time zone `{}` (expected an IANA name such as Europe/Warsaw)", policy.default_timezone),
            ));
            chrono_tz::UTC
        });
        if !problems.is_empty() {
            return Err(Error::Config(problems));
        }
        Ok(Rules {
            stages,
            matrix,
            min_amount: config.policy.min_amount.clone(),
            caps,
            days,
            from,
            to,
            send_from,
            send_from_given: policy.send_from.is_some(),
            default_tz,
            promise_grace_days: policy.promise_grace_days,
            level_interval_days: policy.level_interval_days,
            holidays: holidays(&policy.holidays),
        })
    }

    /// Without a `policy.send_from`, messages start on the campaign date: its first
    /// moment in the default time zone, then the contact window as always.
    ///
    /// A `send_from` before the campaign date counts from the campaign date: a weekly
    /// cycle reruns one campaign file with `--as-of`, and a reminder about next week's
    /// export must not be dated in the week before it was taken.
    pub fn starting_on(mut self, as_of: NaiveDate) -> Rules {
        // Where the clocks skip midnight on that day (a DST change at 00:00, as in
        // Santiago or Cairo), the first hour that exists; UTC midnight at worst.
        let local = (0..24).find_map(|h| {
            self.default_tz
                .from_local_datetime(&as_of.and_time(NaiveTime::from_hms_opt(h, 0, 0)?))
                .earliest()
        });
        let start = local.map_or_else(
            || as_of.and_time(NaiveTime::MIN).and_utc(),
            |t| t.with_timezone(&Utc),
        );
        if !self.send_from_given || self.send_from < start {
            self.send_from = start;
        }
        self
    }

    /// The stage's index, by name (history rows name the stage they were sent at).
    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }

    /// A prevention stage ends before the due date (`pre_due`): not a reminder level.
    fn is_prevention(&self, stage: usize) -> bool {
        self.stages[stage].to.is_some_and(|to| to < 0)
    }

    /// The stage's label for the report and the gallery ([`stage_label`]).
    pub fn stage_label(&self, i: usize) -> String {
        stage_label(self.stage_name(i))
    }

    pub fn stage_name(&self, i: usize) -> &str {
        &self.stages[i].name
    }

    pub fn stage_count(&self) -> usize {
        self.stages.len()
    }

    /// The matrix cell of `cluster` at `stage`, if the matrix has one.
    pub fn cell(&self, cluster: Cluster, stage: usize) -> Option<&MatrixCell> {
        self.matrix.get(&(cluster, stage))
    }

    /// Whether any cell prints letters or attaches them (fonts are loaded only then).
    pub fn uses_letters(&self) -> bool {
        self.matrix
            .values()
            .any(|c| c.attach_letter || c.attach_statement || c.channels.contains(&Channel::Letter))
    }

    /// The highest stage an invoice may have reached at its age, with history: the last
    /// stage that has begun by `days_past_due` — in a gap of the ladder the one before
    /// it — and none past the end of a ladder whose top rung ends.
    fn highest_for(&self, days_past_due: i64) -> Option<usize> {
        let k = self.stages.iter().rposition(|s| s.from <= days_past_due)?;
        let last = k == self.stages.len() - 1;
        match self.stages[k].to {
            Some(to) if last && days_past_due > to => None,
            _ => Some(k),
        }
    }

    fn stage_for(&self, days_past_due: i64) -> Option<usize> {
        self.stages
            .iter()
            .position(|s| days_past_due >= s.from && s.to.is_none_or(|to| days_past_due <= to))
    }

    /// The first moment at or after `send_from` inside the contact window, in `tz`.
    pub fn schedule(&self, tz: chrono_tz::Tz, country: Option<&str>) -> DateTime<chrono_tz::Tz> {
        let local = self.send_from.with_timezone(&tz);
        let mut day = local.date_naive();
        let mut earliest = local.time();
        let off = country.and_then(|c| self.holidays.get(c));
        for _ in 0..SCHEDULE_DAYS {
            if self.days.contains(&day.weekday())
                && earliest < self.to
                && !off.is_some_and(|h| h.contains(&day))
            {
                let t = earliest.max(self.from);
                // Truncate to whole seconds: outputs are byte-stable.
                let t = t.with_nanosecond(0).unwrap_or(t);
                if let Some(at) = tz.from_local_datetime(&day.and_time(t)).earliest() {
                    return at;
                }
            }
            day = day.succ_opt().unwrap_or(day);
            earliest = NaiveTime::MIN;
        }
        // Fifteen days of holidays and closed weekdays: the first allowed weekday.
        let mut day = local.date_naive();
        for _ in 0..SCHEDULE_DAYS {
            if self.days.contains(&day.weekday()) {
                let t = self.from.with_nanosecond(0).unwrap_or(self.from);
                if let Some(at) = tz.from_local_datetime(&day.and_time(t)).earliest() {
                    return at;
                }
            }
            day = day.succ_opt().unwrap_or(day);
        }
        unreachable!("a week always holds an allowed day; Rules::new checks days is not empty")
    }
}

/// The shipped public holidays (laws/holidays.yaml) with the campaign's own days added.
fn holidays(
    extra: &BTreeMap<String, Vec<NaiveDate>>,
) -> BTreeMap<String, std::collections::BTreeSet<NaiveDate>> {
    #[derive(serde::Deserialize)]
    struct Day {
        date: NaiveDate,
    }
    static SHIPPED: std::sync::OnceLock<BTreeMap<String, std::collections::BTreeSet<NaiveDate>>> =
        std::sync::OnceLock::new();
    let shipped = SHIPPED.get_or_init(|| {
        let raw: BTreeMap<String, Vec<Day>> =
            serde_saphyr::from_str(include_str!("../../laws/holidays.yaml"))
                .expect("laws/holidays.yaml parses (a test reads it)");
        raw.into_iter()
            .map(|(c, days)| (c, days.into_iter().map(|d| d.date).collect()))
            .collect()
    });
    let mut all = shipped.clone();
    for (country, days) in extra {
        all.entry(country.to_ascii_uppercase())
            .or_default()
            .extend(days.iter().copied());
    }
    all
}

/// Days past due a stage may start or end at: from a year before the due date to a
/// hundred years after it (dates are in 1970–2099; anything outside is a typing error).
pub const STAGE_DAYS: std::ops::RangeInclusive<i64> = -365..=36_500;
/// `frequency_caps`: at most this many reminders…
pub const CAP_MAX: std::ops::RangeInclusive<u32> = 1..=1000;
/// …within this many days (ten years of events at most).
pub const CAP_DAYS: std::ops::RangeInclusive<i64> = 1..=3650;
/// How many days [`Rules::schedule`] looks ahead for a day in the contact window.
const SCHEDULE_DAYS: i64 = 15;

/// Where `send_from` may be: every scheduled moment — up to [`SCHEDULE_DAYS`] later —
/// then stays within 1970–2099, the years a Date header, the journal and a reader of
/// the manifest all handle (a Date header in the year 10000 panicked in httpdate).
fn send_from_range() -> std::ops::RangeInclusive<DateTime<Utc>> {
    let start = DateTime::<Utc>::UNIX_EPOCH;
    let end = NaiveDate::from_ymd_opt(2100, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(start)
        - chrono::Duration::days(SCHEDULE_DAYS)
        - chrono::Duration::seconds(1);
    start..=end
}

/// The stage ladder sorted by `from`, with every problem of it: no stage, an empty or
/// repeated name, days out of range, a stage that ends before it starts, overlaps.
fn check_stages(stages: &[Stage], at: &Spans, problems: &mut Vec<Diagnostic>) -> Vec<Stage> {
    if stages.is_empty() {
        problems.push(at.error(
            &["stages"],
            "stages is empty: no customer could be in a stage (expected at least one `{name: reminder, from: 1, to: 14}`)",
        ));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, s) in stages.iter().enumerate() {
        let k = i.to_string();
        if s.name.trim().is_empty() || s.name.chars().any(char::is_control) {
            problems.push(at.error(
                &["stages", &k, "name"],
                format!(
                    "stages: `{}` is not a stage name (expected a name such as reminder)",
                    s.name.escape_debug()
                ),
            ));
        } else if let Some(first) = seen.insert(s.name.as_str(), i) {
            seen.insert(s.name.as_str(), first);
            problems.push(at.error(
                &["stages", &k, "name"],
                format!(
                    "stage `{}` is named twice (stages {} and {}): the matrix could not tell them apart (expected unique names)",
                    s.name,
                    first + 1,
                    i + 1
                ),
            ));
        }
        for (key, v) in [("from", Some(s.from)), ("to", s.to)] {
            if let Some(v) = v.filter(|v| !STAGE_DAYS.contains(v)) {
                problems.push(at.error(
                    &["stages", &k, key],
                    format!(
                        "stage `{}`: {key} {v} is out of range (expected {} to {} days past due)",
                        s.name,
                        STAGE_DAYS.start(),
                        STAGE_DAYS.end()
                    ),
                ));
            }
        }
        if s.to.is_some_and(|to| to < s.from) {
            problems.push(at.error(
                &["stages", &k, "to"],
                format!(
                    "stage `{}` ends before it starts (from {} to {})",
                    s.name,
                    s.from,
                    s.to.unwrap_or_default()
                ),
            ));
        }
    }
    let mut order: Vec<usize> = (0..stages.len()).collect();
    order.sort_by_key(|&i| stages[i].from);
    for pair in order.windows(2) {
        let (a, b) = (&stages[pair[0]], &stages[pair[1]]);
        if a.to.unwrap_or(i64::MAX) >= b.from {
            problems.push(at.error(
                &["stages", &pair[1].to_string(), "from"],
                format!(
                    "stages `{}` and `{}` overlap (expected `to` of one below `from` of the next)",
                    a.name, b.name
                ),
            ));
        }
    }
    order.into_iter().map(|i| stages[i].clone()).collect()
}

fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str> + Clone) -> String {
    let hint = did_you_mean(name, known.clone())
        .map(|s| format!(" — did you mean `{s}`?"))
        .unwrap_or_default();
    format!(
        "unknown {what} `{name}`{hint} (known: {})",
        known.collect::<Vec<_>>().join(", ")
    )
}

/// One message to render: a customer, a channel, a stage, a moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// Index of the customer in the dataset.
    pub customer: u32,
    pub channel: Channel,
    pub stage: usize,
    pub template: Option<String>,
    /// An e-mail that carries the letter as a PDF.
    pub attach_letter: bool,
    /// An e-mail that carries the statement of account, or a letter that encloses it.
    pub attach_statement: bool,
    /// A letter that is the statement of account, posted.
    pub statement: bool,
    pub scheduled_at: DateTime<chrono_tz::Tz>,
    /// What the message asks for in its main currency: the invoices it covers (dataset
    /// positions) and their open total. The main currency is the customer's (the one
    /// with most open debt) when the message claims anything in it.
    pub invoices: Vec<u32>,
    pub amount: Decimal,
    pub currency: Currency,
    /// What it asks for in every other currency, by currency code: a message claims
    /// every open debt, each currency with its own total (amounts are never added or
    /// compared across currencies).
    pub others: Vec<Claim>,
}

/// The debts of a message in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub currency: Currency,
    pub invoices: Vec<u32>,
    pub amount: Decimal,
}

impl Planned {
    /// Every currency's claim, the main one first.
    pub fn claims(&self) -> impl Iterator<Item = (Currency, &[u32], Decimal)> {
        std::iter::once((self.currency, self.invoices.as_slice(), self.amount)).chain(
            self.others
                .iter()
                .map(|c| (c.currency, c.invoices.as_slice(), c.amount)),
        )
    }

    /// Every invoice claimed, main currency first.
    pub fn all_invoices(&self) -> impl Iterator<Item = u32> + '_ {
        self.claims().flat_map(|(_, inv, _)| inv.iter().copied())
    }
}

/// Splits what a message covers by currency: the main currency first (or, when it
/// claims nothing in it, the currency of its oldest invoice), the others by code.
fn by_currency(covered: &[&(u32, &Invoice)], main: Currency) -> Vec<Claim> {
    let mut groups: BTreeMap<&str, Claim> = BTreeMap::new();
    for (k, inv) in covered {
        let g = groups.entry(inv.currency.code()).or_insert_with(|| Claim {
            currency: inv.currency,
            invoices: Vec::new(),
            amount: Decimal::ZERO,
        });
        g.invoices.push(*k);
        g.amount += inv.open_amount();
    }
    let lead = if groups.contains_key(main.code()) {
        main
    } else {
        covered
            .iter()
            .min_by_key(|(k, inv)| (inv.due_date, *k))
            .map_or(main, |(_, inv)| inv.currency)
    };
    let mut out: Vec<Claim> = Vec::with_capacity(groups.len());
    if let Some(g) = groups.remove(lead.code()) {
        out.push(g);
    }
    out.extend(groups.into_values());
    out
}

/// Whether a message is worth sending: some currency's total reaches its minimum.
fn worth(rules: &Rules, groups: &[Claim]) -> bool {
    groups
        .iter()
        .any(|g| g.amount >= rules.min_amount.for_currency(g.currency))
}

/// The longest grace after a promised date: a promise cannot pause dunning for months.
pub const MAX_PROMISE_GRACE: i64 = 60;
/// `policy.level_interval_days`: from the same day to a year.
pub const LEVEL_INTERVAL: std::ops::RangeInclusive<i64> = 0..=365;

/// What the history store says each invoice has had: by the invoice's position in the
/// dataset, the highest stage delivered about it and the day of its last delivery.
/// With levels, a message's stage is the invoices' next level, not their age.
#[derive(Clone, Debug, Default)]
pub struct Levels {
    pub by_invoice: std::collections::HashMap<u32, Delivered>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The highest stage delivered (an index into the ladder, sorted by `from`).
    pub stage: usize,
    /// The day the last reminder about the invoice was delivered.
    pub last: NaiveDate,
}

impl Levels {
    /// Adds a delivered reminder: the highest stage and the latest day win.
    pub fn add(&mut self, invoice: u32, stage: usize, day: NaiveDate) {
        let d = self
            .by_invoice
            .entry(invoice)
            .or_insert(Delivered { stage, last: day });
        d.stage = d.stage.max(stage);
        d.last = d.last.max(day);
    }
}

/// A customer, or one channel of a customer, left out — and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exclusion {
    pub customer: u32,
    /// `None`: the whole customer.
    pub channel: Option<Channel>,
    pub reason: ExclusionReason,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub messages: Vec<Planned>,
    pub exclusions: Vec<Exclusion>,
    /// Customers with at least one message.
    pub planned_customers: usize,
    /// Customers with a whole-customer exclusion.
    pub excluded_customers: usize,
}

/// Plans every segmented customer, in parallel; messages and exclusions come out in
/// customer order, channels in matrix order, whatever the thread count.
pub fn plan(
    data: &crate::dataset::Dataset,
    seg: &crate::segment::Segmentation,
    rules: &Rules,
    levels: Option<&Levels>,
    as_of: NaiveDate,
) -> Plan {
    use rayon::prelude::*;
    let parts: Vec<(Vec<Planned>, Vec<Exclusion>)> = (0..data.len())
        .into_par_iter()
        .with_min_len(512)
        .map(|i| match &seg.assignments[i] {
            Some(a) => plan_customer(
                rules,
                levels,
                i as u32,
                &data.view(i),
                &seg.features[i],
                a,
                as_of,
            ),
            None => (Vec::new(), Vec::new()), // rejected by a failing rule: already in rejected.csv
        })
        .collect();
    let mut out = Plan::default();
    for (m, x) in parts {
        out.planned_customers += usize::from(!m.is_empty());
        out.excluded_customers += usize::from(x.iter().any(|e| e.channel.is_none()));
        out.messages.extend(m);
        out.exclusions.extend(x);
    }
    out
}

/// Plans one customer: their messages, or the reasons there are none.
pub fn plan_customer(
    rules: &Rules,
    levels: Option<&Levels>,
    i: u32,
    view: &CustomerView<'_>,
    features: &Features,
    a: &Assignment,
    as_of: NaiveDate,
) -> (Vec<Planned>, Vec<Exclusion>) {
    let excluded = |reason: ExclusionReason| {
        (
            Vec::new(),
            vec![Exclusion {
                customer: i,
                channel: None,
                reason,
            }],
        )
    };
    let c = view.customer;
    if let Some(hold) = c.hold {
        return excluded(ExclusionReason::Hold(hold));
    }
    if let Some(until) = promise_pause(view, as_of, rules.promise_grace_days) {
        return excluded(ExclusionReason::PromisedUntil(until));
    }
    let Some(currency) = features.currency else {
        return excluded(ExclusionReason::NothingOpen);
    };
    let base = view.invoice_base;
    let open: Vec<(u32, &Invoice)> = view
        .invoices
        .iter()
        .enumerate()
        .filter(|(_, inv)| {
            inv.status == InvoiceStatus::Open
                && !inv.open_amount().is_zero()
                && inv.issue_date <= as_of
        })
        .map(|(k, inv)| (base + k as u32, inv))
        .collect();
    let claimable: Vec<&(u32, &Invoice)> = open.iter().filter(|(_, inv)| !inv.disputed).collect();
    if claimable.is_empty() {
        return excluded(if open.is_empty() {
            ExclusionReason::NothingOpen
        } else {
            ExclusionReason::AllDisputed
        });
    }
    let (stage, covered) = match levels {
        None => match by_age(rules, claimable, as_of) {
            Some(found) => found,
            None => return excluded(ExclusionReason::NoStage),
        },
        Some(levels) => {
            // A rung reaches the customer when its cell has a channel the contact
            // policy lets through.
            let reachable = |stage: usize| {
                rules.matrix.get(&(a.cluster, stage)).is_some_and(|cell| {
                    cell.channels
                        .iter()
                        .any(|&ch| channel_block(rules, view, ch, as_of).is_none())
                })
            };
            let candidates = match by_level(rules, levels, claimable.clone(), as_of, &reachable) {
                Ok(c) => c,
                Err(reason) => return excluded(reason),
            };
            // The lowest level worth a message; a level whose invoices are below the
            // minimum does not hold up the ones above it.
            match candidates
                .iter()
                .find(|(_, covered)| worth(rules, &by_currency(covered, currency)))
            {
                Some((stage, covered)) => (*stage, covered.clone()),
                None => return excluded(ExclusionReason::BelowMinimum),
            }
        }
    };
    let mut groups = by_currency(&covered, currency);
    if !worth(rules, &groups) {
        return excluded(ExclusionReason::BelowMinimum);
    }
    let main = groups.remove(0);
    let Some(MatrixCell {
        channels,
        template,
        attach_letter: attach,
        attach_statement,
        statement,
    }) = rules
        .matrix
        .get(&(a.cluster, stage))
        .filter(|c| !c.channels.is_empty())
    else {
        return excluded(ExclusionReason::NoChannelInMatrix);
    };
    let tz = c.timezone.unwrap_or(rules.default_tz);
    let scheduled_at = rules.schedule(tz, c.get(crate::dataset::Field::Country));
    // A reminder "before it falls due" that arrives on the due day or later is wrong: the
    // customer waits for the first level instead (a weekend or a late send_from push the
    // contact window past the due date).
    if rules.is_prevention(stage)
        && covered
            .iter()
            .any(|(_, inv)| scheduled_at.date_naive() >= inv.due_date)
    {
        return excluded(ExclusionReason::PreDueTooLate);
    }
    let mut messages = Vec::new();
    let mut exclusions = Vec::new();
    if levels.is_some() {
        // Rungs below this one that could not reach the customer were passed over:
        // say why, per channel (a planned customer's dropped channels get a row).
        let first = (0..stage)
            .find(|&k| !rules.is_prevention(k))
            .unwrap_or(stage);
        let mut said: Vec<Channel> = channels.clone();
        for skipped in first..stage {
            let Some(cell) = rules.matrix.get(&(a.cluster, skipped)) else {
                continue;
            };
            for &ch in &cell.channels {
                if said.contains(&ch) {
                    continue;
                }
                if let Some(reason) = channel_block(rules, view, ch, as_of) {
                    said.push(ch);
                    exclusions.push(Exclusion {
                        customer: i,
                        channel: Some(ch),
                        reason: ExclusionReason::Blocked(reason, ch),
                    });
                }
            }
        }
    }
    for &ch in channels {
        match channel_block(rules, view, ch, as_of) {
            Some(reason) => exclusions.push(Exclusion {
                customer: i,
                channel: Some(ch),
                reason: ExclusionReason::Blocked(reason, ch),
            }),
            None => messages.push(Planned {
                customer: i,
                channel: ch,
                stage,
                template: template.clone(),
                attach_letter: *attach && ch == Channel::Email,
                attach_statement: *attach_statement
                    && (ch == Channel::Email || (ch == Channel::Letter && !*statement)),
                statement: *statement && ch == Channel::Letter,
                scheduled_at,
                invoices: main.invoices.clone(),
                amount: main.amount,
                currency: main.currency,
                others: groups.clone(),
            }),
        }
    }
    if messages.is_empty() {
        exclusions.push(Exclusion {
            customer: i,
            channel: None,
            reason: ExclusionReason::NoChannelLeft,
        });
    }
    (messages, exclusions)
}

/// Without history: the stage of the oldest invoice's days past due, covering every
/// overdue invoice (before the due date: what falls due).
fn by_age<'a, 'b>(
    rules: &Rules,
    claimable: Vec<&'b (u32, &'a Invoice)>,
    as_of: NaiveDate,
) -> Option<(usize, Vec<&'b (u32, &'a Invoice)>)> {
    let dpd = claimable
        .iter()
        .map(|(_, inv)| (as_of - inv.due_date).num_days())
        .max()
        .unwrap_or(0);
    let stage = rules.stage_for(dpd)?;
    // Before the due date the reminder covers what falls due; after it, what is overdue.
    let covered = if dpd < 0 {
        claimable
    } else {
        claimable
            .into_iter()
            .filter(|(_, inv)| inv.due_date < as_of)
            .collect()
    };
    Some((stage, covered))
}

/// A level a message could be at, with the invoices it would claim.
type Candidate<'a, 'b> = (usize, Vec<&'b (u32, &'a Invoice)>);

/// With history: each invoice's next level is one above the highest delivered about it
/// (never skipped), at most what its age allows, and not sooner than
/// `level_interval_days` after its last reminder (never repeated; only the open-ended
/// top of the ladder is sent again, after the interval). The candidates come out by
/// level, lowest first, each claiming the invoices at that level: the message is the
/// lowest that can go out, so an invoice never gets a level twice and the invoices
/// behind catch up with the rest. A rung that cannot reach this customer at all
/// (`reachable` is false: no channel in the matrix, or every one blocked — a bounced
/// address, an opt-out) is passed over, as the ladder without history would: else
/// a customer whose e-mail bounced would wait at the e-mail-only first rung forever.
/// Prevention (`pre_due`) only when nothing is overdue, once per invoice.
fn by_level<'a, 'b>(
    rules: &Rules,
    levels: &Levels,
    claimable: Vec<&'b (u32, &'a Invoice)>,
    as_of: NaiveDate,
    reachable: &dyn Fn(usize) -> bool,
) -> std::result::Result<Vec<Candidate<'a, 'b>>, ExclusionReason> {
    let first_level = (0..rules.stages.len()).find(|&k| !rules.is_prevention(k));
    let top_stage = rules.stages.len() - 1;
    let overdue: Vec<&(u32, &Invoice)> = claimable
        .iter()
        .copied()
        .filter(|(_, inv)| inv.due_date < as_of)
        .collect();
    let pool = if overdue.is_empty() {
        claimable
    } else {
        overdue
    };
    let mut next_at: Option<NaiveDate> = None;
    let mut soonest = |d: NaiveDate| next_at = Some(next_at.map_or(d, |n| n.min(d)));
    let mut eligible: BTreeMap<usize, Vec<&(u32, &Invoice)>> = BTreeMap::new();
    for entry in pool {
        let (k, inv) = entry;
        let dpd = (as_of - inv.due_date).num_days();
        let had = levels.by_invoice.get(k);
        let mut next = had.map_or(0, |d| d.stage + 1);
        if dpd > 0 {
            // Once overdue, the ladder starts at its first level, never at prevention.
            next = next.max(first_level.unwrap_or(next));
        }
        let allowed = rules.highest_for(dpd);
        while allowed.is_some_and(|top| next < top) && !reachable(next) {
            next += 1;
        }
        let level = match (allowed, had) {
            (Some(top), _) if next <= top => Some(next),
            // The open-ended top rung is repeated, after the interval.
            (Some(top), Some(d))
                if d.stage == top && top == top_stage && rules.stages[top].to.is_none() =>
            {
                Some(top)
            }
            _ => None,
        };
        let rested = had.map(|d| d.last + chrono::Duration::days(rules.level_interval_days));
        match level {
            Some(level) => {
                if let Some(ready) = rested
                    && as_of < ready
                {
                    soonest(ready);
                    continue;
                }
                eligible.entry(level).or_default().push(entry);
            }
            None => {
                // Not old enough for its next rung: it will be when it reaches `from`
                // (and, if it had one, its interval has passed).
                if let Some(stage) = rules.stages.get(next)
                    && stage.from > dpd
                {
                    let old_enough = inv.due_date + chrono::Duration::days(stage.from);
                    soonest(old_enough.max(rested.unwrap_or(old_enough)));
                }
            }
        }
    }
    if eligible.is_empty() {
        return Err(next_at.map_or(ExclusionReason::NoStage, ExclusionReason::NextLevelFrom));
    }
    Ok(eligible.into_iter().collect())
}

/// The last day a promise to pay pauses contact, if one does at `as_of`: the latest
/// promise made by then with a promised date, unless a later `promise_broken` says it
/// was broken; it pauses until the promised date plus the grace days.
fn promise_pause(view: &CustomerView<'_>, as_of: NaiveDate, grace: i64) -> Option<NaiveDate> {
    let promise = view
        .events
        .iter()
        .filter(|e| e.kind == EventKind::PromiseToPay && e.date <= as_of && e.promised.is_some())
        .max_by_key(|e| (e.date, e.promised))?;
    let broken = view
        .events
        .iter()
        .any(|e| e.kind == EventKind::PromiseBroken && e.date >= promise.date && e.date <= as_of);
    let until = promise.promised? + chrono::Duration::days(grace);
    (!broken && as_of <= until).then_some(until)
}

/// Why a channel cannot be used for this customer, if it cannot.
fn channel_block(
    rules: &Rules,
    view: &CustomerView<'_>,
    ch: Channel,
    as_of: NaiveDate,
) -> Option<Block> {
    let c = view.customer;
    let (consent, contact, invalid) = match ch {
        Channel::Email => (c.consent_email, c.email().is_some(), c.invalid_email),
        Channel::Sms => (c.consent_sms, c.phone().is_some(), c.invalid_phone),
        Channel::Letter => {
            let address = c.get(Field::AddressLine1).is_some()
                && (c.get(Field::City).is_some() || c.get(Field::PostalCode).is_some());
            (c.consent_letter, address, false)
        }
        _ => (Some(true), true, false),
    };
    if consent == Some(false) {
        return Some(Block::NoConsent);
    }
    if view
        .events
        .iter()
        .any(|e| e.kind == EventKind::OptedOut && e.channel == ch && e.date <= as_of)
    {
        return Some(Block::OptedOut);
    }
    if ch == Channel::Email && bounced(view, c.email(), as_of) {
        return Some(Block::Bounced);
    }
    if invalid {
        return Some(Block::InvalidContact);
    }
    if !contact {
        return Some(Block::MissingContact);
    }
    if let Some(cap) = rules.caps.get(&ch) {
        let recent = view
            .events
            .iter()
            .filter(|e| {
                e.kind == EventKind::ReminderSent
                    && e.channel == ch
                    && e.date <= as_of
                    && (as_of - e.date).num_days() < cap.days
            })
            .count();
        if recent >= cap.max as usize {
            return Some(Block::FrequencyCap);
        }
    }
    None
}

/// Whether the customer's e-mail address is known to bounce: a `bounced` e-mail event
/// by `as_of` (from the export, or `history bounces`) for this very address — compared
/// trimmed and without case — or for no address in particular. A new address in the
/// export is tried again.
fn bounced(view: &CustomerView<'_>, email: Option<&str>, as_of: NaiveDate) -> bool {
    let current = email.map(str::trim).unwrap_or("");
    view.events.iter().any(|e| {
        e.kind == EventKind::Bounced
            && e.channel == Channel::Email
            && e.date <= as_of
            && e.reference
                .as_deref()
                .map(str::trim)
                .is_none_or(|r| r.is_empty() || r.eq_ignore_ascii_case(current))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Customer, Event, Hold};

    fn config() -> PlanConfig {
        crate::spans::parse_yaml(
            Path::new("c.yaml"),
            r#"
stages:
  - {name: pre_due, from: -5, to: -1}
  - {name: reminder, from: 1, to: 14}
  - {name: final_notice, from: 15}
matrix:
  chronic_late: {pre_due: [email, sms], reminder: [email, sms], final_notice: [email, letter]}
  default: {reminder: [email, sms], final_notice: {channels: [email, letter], template: firm}}
policy:
  min_amount: {EUR: 5, default: 1}
  frequency_caps: {sms: {max: 1, days: 7}}
  contact_window: {days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}
  send_from: 2026-11-21T07:30:00Z
  default_timezone: Europe/Rome
"#,
        )
        .unwrap()
    }

    fn rules() -> Rules {
        Rules::new(&config(), Path::new("c.yaml")).unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn customer() -> Customer {
        let mut f = [None; 11];
        f[Field::Id as usize] = Some("C1");
        f[Field::Name as usize] = Some("Anna");
        f[Field::Email as usize] = Some("anna@example.com");
        f[Field::Phone as usize] = Some("+48601234567");
        f[Field::AddressLine1 as usize] = Some("ul. Długa 5");
        f[Field::City as usize] = Some("Warszawa");
        let mut c = Customer::with_text(f, []);
        c.timezone = Some(chrono_tz::Europe::Warsaw);
        c
    }

    fn invoice(due: &str, amount: i64, disputed: bool) -> Invoice {
        Invoice {
            id: format!("I-{due}").into(),
            customer: 0,
            issue_date: d(due) - chrono::Duration::days(30),
            due_date: d(due),
            amount: Decimal::from(amount),
            amount_paid: Decimal::ZERO,
            currency: Currency::parse("EUR").unwrap(),
            status: InvoiceStatus::Open,
            disputed,
            document: None,
            terms: None,
            reminded: None,
            line: 2,
        }
    }

    fn run(
        c: &Customer,
        invoices: &[Invoice],
        events: &[Event],
        cluster: Cluster,
    ) -> (Vec<Planned>, Vec<Exclusion>) {
        let view = CustomerView {
            customer: c,
            invoices,
            payments: &[],
            events,
            invoice_base: 0,
        };
        let f = crate::features::compute(&view, d("2026-11-20"));
        plan_customer(
            &rules(),
            None,
            0,
            &view,
            &f,
            &Assignment { cluster, rule: 0 },
            d("2026-11-20"),
        )
    }

    /// Plans with history: `had` is (invoice position, stage, day) delivered.
    fn with_levels(
        invoices: &[Invoice],
        had: &[(u32, usize, &str)],
        as_of: &str,
    ) -> (Vec<Planned>, Vec<Exclusion>) {
        let c = customer();
        let view = CustomerView {
            customer: &c,
            invoices,
            payments: &[],
            events: &[],
            invoice_base: 0,
        };
        let mut levels = Levels::default();
        for &(k, stage, day) in had {
            levels.add(k, stage, d(day));
        }
        let f = crate::features::compute(&view, d(as_of));
        plan_customer(
            &rules(),
            Some(&levels),
            0,
            &view,
            &f,
            &Assignment {
                // The cluster whose matrix row has every stage, pre_due included.
                cluster: Cluster::ChronicLate,
                rule: 0,
            },
            d(as_of),
        )
    }

    #[test]
    fn every_currency_is_claimed_each_with_its_own_total_the_main_one_first() {
        let cur = |inv: Invoice, code: &str| Invoice {
            currency: Currency::parse(code).unwrap(),
            ..inv
        };
        let invoices = [
            cur(invoice("2026-10-01", 3, false), "EUR"),
            cur(invoice("2026-10-15", 900, false), "PLN"),
            cur(invoice("2026-11-01", 100, false), "PLN"),
            // Not due yet: not claimed.
            cur(invoice("2026-12-01", 50, false), "GBP"),
        ];
        let (m, x) = run(&customer(), &invoices, &[], Cluster::Forgetful);
        assert!(x.is_empty(), "{x:?}");
        // PLN has most open debt: it leads; EUR (below its minimum of 5 on its own) is
        // still listed — the message is worth sending for its PLN.
        assert_eq!(
            (m[0].currency.code(), m[0].amount),
            ("PLN", Decimal::from(1000))
        );
        assert_eq!(m[0].invoices, [1, 2]);
        assert_eq!(m[0].others.len(), 1);
        assert_eq!(m[0].others[0].currency.code(), "EUR");
        assert_eq!(m[0].others[0].amount, Decimal::from(3));
        assert_eq!(m[0].all_invoices().collect::<Vec<_>>(), [1, 2, 0]);
        // Amounts in different currencies are never added: EUR 3 alone is below the
        // euro minimum even beside a large debt in another currency.
        let (m, x) = run(&customer(), &invoices[..1], &[], Cluster::Forgetful);
        assert!(m.is_empty());
        assert_eq!(x[0].reason, ExclusionReason::BelowMinimum);
    }

    #[test]
    fn levels_are_never_skipped_and_the_lowest_next_level_decides() {
        // 40 days overdue and never reminded: the first level, not the final notice.
        let old = invoice("2026-10-11", 100, false);
        let (m, x) = with_levels(std::slice::from_ref(&old), &[], "2026-11-20");
        assert!(x.is_empty(), "{x:?}");
        assert_eq!(m[0].stage, 1, "reminder");
        // Reminded on 11-06: now the final notice.
        let (m, _) = with_levels(
            std::slice::from_ref(&old),
            &[(0, 1, "2026-11-06")],
            "2026-11-20",
        );
        assert_eq!(m[0].stage, 2);
        // Two invoices, one a level ahead: the message is at the lower level and claims
        // only the invoice at it, so neither gets a level twice; the other catches up.
        let new = invoice("2026-11-12", 40, false);
        let (m, _) = with_levels(
            &[old.clone(), new.clone()],
            &[(0, 1, "2026-11-06")],
            "2026-11-20",
        );
        assert_eq!((m[0].stage, m[0].invoices.clone()), (1, vec![1]));
        assert_eq!(m[0].amount, Decimal::from(40));
    }

    #[test]
    fn a_level_waits_for_the_interval_and_for_the_invoices_age() {
        // 19 days overdue, reminded 4 days ago: nothing until 7 days after it.
        let inv = invoice("2026-11-01", 100, false);
        let (m, x) = with_levels(
            std::slice::from_ref(&inv),
            &[(0, 1, "2026-11-16")],
            "2026-11-20",
        );
        assert!(m.is_empty());
        assert_eq!(x[0].reason.to_string(), "next_level_from:2026-11-23");
        // Reminded 10 days ago, but 10 days overdue: the final notice starts at day 15.
        let inv = invoice("2026-11-10", 100, false);
        let (m, x) = with_levels(
            std::slice::from_ref(&inv),
            &[(0, 1, "2026-11-10")],
            "2026-11-20",
        );
        assert!(m.is_empty());
        assert_eq!(x[0].reason.to_string(), "next_level_from:2026-11-25");
        // The open-ended top rung is sent again, once the interval has passed.
        let old = invoice("2026-09-01", 100, false);
        let (m, _) = with_levels(
            std::slice::from_ref(&old),
            &[(0, 2, "2026-11-12")],
            "2026-11-20",
        );
        assert_eq!(m[0].stage, 2);
        let (m, x) = with_levels(
            std::slice::from_ref(&old),
            &[(0, 2, "2026-11-15")],
            "2026-11-20",
        );
        assert!(m.is_empty());
        assert_eq!(x[0].reason.to_string(), "next_level_from:2026-11-22");
    }

    #[test]
    fn a_rung_that_cannot_reach_the_customer_is_passed_over_and_a_small_level_does_not_hold_up_a_big_one()
     {
        let rules = rules();
        let plan_for = |c: &Customer, invoices: &[Invoice], had: &[(u32, usize, &str)]| {
            let view = CustomerView {
                customer: c,
                invoices,
                payments: &[],
                events: &[],
                invoice_base: 0,
            };
            let mut levels = Levels::default();
            for &(k, stage, day) in had {
                levels.add(k, stage, d(day));
            }
            let f = crate::features::compute(&view, d("2026-11-20"));
            plan_customer(
                &rules,
                Some(&levels),
                0,
                &view,
                &f,
                &Assignment {
                    cluster: Cluster::ChronicLate,
                    rule: 0,
                },
                d("2026-11-20"),
            )
        };
        // No consent to e-mail or SMS: the reminder (e-mail, SMS) cannot reach them;
        // 20 days overdue, the final notice goes by letter instead of waiting forever.
        let mut c = customer();
        c.consent_email = Some(false);
        c.consent_sms = Some(false);
        let late = invoice("2026-10-31", 100, false);
        let (m, _) = plan_for(&c, std::slice::from_ref(&late), &[]);
        assert_eq!(
            m.iter().map(|m| (m.stage, m.channel)).collect::<Vec<_>>(),
            [(2, Channel::Letter)]
        );
        // A 3 EUR invoice at the first level (below the 5 EUR minimum) does not hold up
        // the 100 EUR one that is due its final notice.
        let small = invoice("2026-11-15", 3, false);
        let (m, x) = plan_for(&customer(), &[late.clone(), small], &[(0, 1, "2026-11-06")]);
        assert!(x.is_empty(), "{x:?}");
        assert_eq!((m[0].stage, m[0].invoices.clone()), (2, vec![0]));
    }

    #[test]
    fn without_send_from_messages_start_on_the_campaign_date_even_where_midnight_is_skipped() {
        let mut cfg = config();
        cfg.policy.send_from = None;
        cfg.policy.default_timezone = "America/Santiago".into();
        let r = Rules::new(&cfg, Path::new("c.yaml"))
            .unwrap()
            .starting_on(d("2026-09-06"));
        // Chile's clocks go from 00:00 to 01:00 on 6 September 2026.
        let at = r.schedule(chrono_tz::America::Santiago, None);
        assert_eq!(at.date_naive(), d("2026-09-07"), "{at}"); // a Sunday: Monday 09:00
        assert_eq!(at.format("%H:%M").to_string(), "09:00");
    }

    #[test]
    fn prevention_is_sent_once_and_is_not_a_level() {
        let soon = invoice("2026-11-25", 100, false);
        let (m, _) = with_levels(std::slice::from_ref(&soon), &[], "2026-11-20");
        assert_eq!(m[0].stage, 0, "pre_due");
        let (m, x) = with_levels(
            std::slice::from_ref(&soon),
            &[(0, 0, "2026-11-19")],
            "2026-11-20",
        );
        // Not again; the first reminder once overdue (day 1, 11-24) and a week after
        // the notice (11-26).
        assert!(m.is_empty());
        assert_eq!(x[0].reason.to_string(), "next_level_from:2026-11-26");
        // Overdue after a pre-due notice: the first level.
        let (m, _) = with_levels(
            std::slice::from_ref(&soon),
            &[(0, 0, "2026-11-19")],
            "2026-11-28",
        );
        assert_eq!(m[0].stage, 1);
    }

    #[test]
    fn one_message_per_channel_covering_every_overdue_invoice() {
        let invs = [
            invoice("2026-11-10", 100, false),
            invoice("2026-11-01", 50, false),
            invoice("2026-11-25", 70, false),
        ];
        let (m, x) = run(&customer(), &invs, &[], Cluster::Forgetful);
        assert!(x.is_empty(), "{x:?}");
        assert_eq!(
            m.iter().map(|p| p.channel).collect::<Vec<_>>(),
            [Channel::Email, Channel::Letter]
        );
        assert_eq!(
            m[0].invoices,
            [0, 1],
            "the not-yet-due invoice is not claimed"
        );
        assert_eq!(m[0].amount, Decimal::from(150));
        assert_eq!(rules().stage_name(m[0].stage), "final_notice");
        assert_eq!(
            m[0].template.as_deref(),
            Some("firm"),
            "the matrix cell's template override"
        );
        let (m, _) = run(
            &customer(),
            &[invoice("2026-11-15", 100, false)],
            &[],
            Cluster::Forgetful,
        );
        assert_eq!(rules().stage_name(m[0].stage), "reminder");
        assert_eq!(m[0].template, None);
    }

    #[test]
    fn pre_due_only_where_the_matrix_says() {
        let invs = [invoice("2026-11-25", 100, false)];
        let (m, _) = run(&customer(), &invs, &[], Cluster::ChronicLate);
        assert_eq!((m.len(), rules().stage_name(m[0].stage)), (2, "pre_due"));
        let (m, x) = run(&customer(), &invs, &[], Cluster::Forgetful);
        assert!(m.is_empty());
        assert_eq!(x[0].reason.code(), "no_channel_in_matrix");
    }

    #[test]
    fn public_holidays_are_skipped_like_weekends_in_the_customers_country() {
        let r = rules();
        // Monday 23 November 2026 is Labour Thanksgiving Day in Japan: Tuesday instead.
        assert_eq!(
            r.schedule(chrono_tz::Asia::Tokyo, Some("JP")).to_rfc3339(),
            "2026-11-24T09:00:00+09:00"
        );
        assert_eq!(
            r.schedule(chrono_tz::Europe::Warsaw, Some("PL"))
                .to_rfc3339(),
            "2026-11-23T09:00:00+01:00"
        );
        // Romania's National Day (Tuesday 1 December) and a campaign's own day off.
        let mut cfg = config();
        cfg.policy.send_from = Some("2026-12-01T06:00:00Z".into());
        cfg.policy
            .holidays
            .insert("ro".into(), vec![d("2026-12-02")]);
        let r = Rules::new(&cfg, Path::new("c.yaml")).unwrap();
        assert_eq!(
            r.schedule(chrono_tz::Europe::Bucharest, Some("RO"))
                .to_rfc3339(),
            "2026-12-03T09:00:00+02:00"
        );
        assert_eq!(
            r.schedule(chrono_tz::Europe::Bucharest, Some("PL"))
                .to_rfc3339(),
            "2026-12-01T09:00:00+02:00"
        );
    }

    #[test]
    fn a_send_from_before_the_campaign_date_counts_from_the_campaign_date() {
        // The campaign file says 21 November; next week's run (--as-of 27 November,
        // a Friday) must not date its messages in the week before its export.
        let r = Rules::new(&config(), Path::new("c.yaml"))
            .unwrap()
            .starting_on(d("2026-11-27"));
        assert_eq!(
            r.schedule(chrono_tz::Europe::Rome, None).to_rfc3339(),
            "2026-11-27T09:00:00+01:00"
        );
        // A send_from after the campaign date stays as written.
        let r = Rules::new(&config(), Path::new("c.yaml"))
            .unwrap()
            .starting_on(d("2026-11-20"));
        assert_eq!(
            r.schedule(chrono_tz::Europe::Rome, None).to_rfc3339(),
            "2026-11-23T09:00:00+01:00"
        );
    }

    #[test]
    fn a_pre_due_reminder_never_arrives_on_or_after_the_due_date() {
        // The campaign's Friday (20 Nov) sends from Saturday 07:30 UTC: the contact window
        // opens on Monday 23 November, 09:00 local. Due that Monday: the "it falls due
        // soon" e-mail would arrive on the day, so the customer waits for the reminder.
        let (m, x) = run(
            &customer(),
            &[invoice("2026-11-23", 100, false)],
            &[],
            Cluster::ChronicLate,
        );
        assert!(m.is_empty(), "{m:?}");
        assert_eq!(x[0].reason.code(), "pre_due_too_late");
        // Due on Tuesday: Monday is before it.
        let (m, _) = run(
            &customer(),
            &[invoice("2026-11-24", 100, false)],
            &[],
            Cluster::ChronicLate,
        );
        assert_eq!(rules().stage_name(m[0].stage), "pre_due");
        assert!(m[0].scheduled_at.date_naive() < d("2026-11-24"));
    }

    #[test]
    fn policy_reasons() {
        let invs = [invoice("2026-11-01", 100, false)];
        let mut c = customer();
        c.hold = Some(Hold::Hardship);
        assert_eq!(
            run(&c, &invs, &[], Cluster::Unable).1[0].reason.code(),
            "hold:hardship"
        );
        assert_eq!(
            run(
                &customer(),
                &[invoice("2026-11-01", 100, true)],
                &[],
                Cluster::Unable
            )
            .1[0]
                .reason
                .code(),
            "all_disputed"
        );
        assert_eq!(
            run(
                &customer(),
                &[invoice("2026-11-01", 4, false)],
                &[],
                Cluster::Unable
            )
            .1[0]
                .reason
                .code(),
            "below_minimum"
        );
        assert_eq!(
            run(
                &customer(),
                &[invoice("2026-11-20", 40, false)],
                &[],
                Cluster::Unable
            )
            .1[0]
                .reason
                .code(),
            "no_stage"
        );
        assert_eq!(
            run(&customer(), &[], &[], Cluster::Unable).1[0]
                .reason
                .code(),
            "nothing_open"
        );

        let mut c = customer();
        c.consent_sms = Some(false);
        c.invalid_email = true;
        let (m, x) = run(&c, &invs, &[], Cluster::Unable);
        assert_eq!(
            m.iter().map(|p| p.channel).collect::<Vec<_>>(),
            [Channel::Letter],
            "final_notice: email, letter"
        );
        assert_eq!(
            x,
            [Exclusion {
                customer: 0,
                channel: Some(Channel::Email),
                reason: ExclusionReason::Blocked(Block::InvalidContact, Channel::Email)
            }]
        );
        let (_, x) = run(
            &c,
            &[invoice("2026-11-10", 100, false)],
            &[],
            Cluster::Unable,
        );
        let reasons: Vec<String> = x.iter().map(|e| e.reason.code()).collect();
        assert_eq!(
            reasons,
            ["invalid_contact:email", "no_consent:sms", "no_channel_left"]
        );
    }

    #[test]
    fn frequency_cap_from_events() {
        let ev = Event {
            customer: 0,
            date: d("2026-11-18"),
            channel: Channel::Sms,
            kind: EventKind::ReminderSent,
            reference: None,
            note: None,
            promised: None,
            promised_amount: None,
        };
        let (m, x) = run(
            &customer(),
            &[invoice("2026-11-10", 100, false)],
            &[ev],
            Cluster::Forgetful,
        );
        assert_eq!(m.len(), 1);
        assert_eq!(x[0].reason.code(), "frequency_cap:sms");
    }

    #[test]
    fn a_bounced_address_blocks_email_until_the_export_has_another() {
        let ev = |kind: EventKind, date: &str, reference: Option<&str>| Event {
            customer: 0,
            date: d(date),
            channel: Channel::Email,
            kind,
            reference: reference.map(Into::into),
            note: None,
            promised: None,
            promised_amount: None,
        };
        let reasons = |events: &[Event]| -> Vec<String> {
            let (_, x) = run(
                &customer(),
                &[invoice("2026-11-10", 100, false)],
                events,
                Cluster::Forgetful,
            );
            x.iter().map(|e| e.reason.code()).collect()
        };
        let bounced = EventKind::Bounced;
        // The customer's address, in another case and with spaces; or no address named.
        for reference in [Some(" ANNA@example.com "), None, Some("")] {
            assert_eq!(
                reasons(&[ev(bounced, "2026-11-19", reference)]),
                ["bounced:email"],
                "{reference:?}"
            );
        }
        // Another address bounced (the export has a new one), or later than as_of.
        assert!(reasons(&[ev(bounced, "2026-11-19", Some("old@example.com"))]).is_empty());
        assert!(reasons(&[ev(bounced, "2026-11-21", Some("anna@example.com"))]).is_empty());
        // An opt-out is checked first.
        assert_eq!(
            reasons(&[
                ev(bounced, "2026-11-19", None),
                ev(EventKind::OptedOut, "2026-11-19", None)
            ]),
            ["opted_out:email"]
        );
    }

    #[test]
    fn a_promise_pauses_contact_until_its_date_plus_grace_unless_broken() {
        let promise = |made: &str, by: &str| Event {
            customer: 0,
            date: d(made),
            channel: Channel::Call,
            kind: EventKind::PromiseToPay,
            reference: None,
            note: None,
            promised: Some(d(by)),
            promised_amount: None,
        };
        let invs = [invoice("2026-11-01", 100, false)];
        // as_of is 2026-11-20: promised by the 18th + 3 days of grace → paused to the 21st.
        let (m, x) = run(
            &customer(),
            &invs,
            &[promise("2026-11-10", "2026-11-18")],
            Cluster::Unable,
        );
        assert!(m.is_empty());
        assert_eq!(x[0].reason.code(), "promised_until:2026-11-21");
        // Promised by the 16th: the grace is over on the 19th, contact resumes.
        let (m, _) = run(
            &customer(),
            &invs,
            &[promise("2026-11-10", "2026-11-16")],
            Cluster::Unable,
        );
        assert!(!m.is_empty());
        // A promise made after as_of does not count yet; a broken one does not pause.
        let (m, _) = run(
            &customer(),
            &invs,
            &[promise("2026-11-21", "2026-11-30")],
            Cluster::Unable,
        );
        assert!(!m.is_empty());
        let broken = Event {
            kind: EventKind::PromiseBroken,
            promised: None,
            promised_amount: None,
            date: d("2026-11-19"),
            ..promise("2026-11-19", "2026-11-19")
        };
        let (m, _) = run(
            &customer(),
            &invs,
            &[promise("2026-11-10", "2026-11-25"), broken],
            Cluster::Unable,
        );
        assert!(!m.is_empty(), "a broken promise pauses nothing");
    }

    #[test]
    fn scheduled_inside_the_window_in_the_customers_zone() {
        let r = rules();
        // Saturday 2026-11-21 07:30 UTC → Monday 09:00 local.
        assert_eq!(
            r.schedule(chrono_tz::Europe::Warsaw, None).to_rfc3339(),
            "2026-11-23T09:00:00+01:00"
        );
        assert_eq!(
            r.schedule(chrono_tz::Asia::Tokyo, None).to_rfc3339(),
            "2026-11-23T09:00:00+09:00"
        );
        let mut cfg = config();
        cfg.policy.send_from = Some("2026-11-23T10:15:00Z".into()); // a Monday
        let r = Rules::new(&cfg, Path::new("c.yaml")).unwrap();
        assert_eq!(
            r.schedule(chrono_tz::Europe::Warsaw, None).to_rfc3339(),
            "2026-11-23T11:15:00+01:00",
            "inside the window: now"
        );
        assert_eq!(
            r.schedule(chrono_tz::Asia::Tokyo, None).to_rfc3339(),
            "2026-11-24T09:00:00+09:00",
            "19:15 in Tokyo: next morning"
        );
        assert_eq!(
            r.schedule(chrono_tz::America::Los_Angeles, None)
                .to_rfc3339(),
            "2026-11-23T09:00:00-08:00"
        );
    }

    #[test]
    fn send_from_keeps_every_scheduled_time_within_1970_to_2099() {
        let mut cfg = config();
        cfg.policy.contact_window.days = vec!["mon".into()];
        cfg.policy.contact_window.from = "23:00".into();
        cfg.policy.contact_window.to = "23:59".into();
        cfg.policy.send_from = Some("2099-12-16T23:59:59Z".into());
        let r = Rules::new(&cfg, Path::new("c.yaml")).unwrap();
        for tz in [
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::Etc::GMTPlus12,
            chrono_tz::Europe::Warsaw,
        ] {
            let at = r.schedule(tz, None);
            assert!(at.to_utc().year() <= 2099, "{tz}: {at}");
            assert!(at.year() <= 2099, "{tz}: {at}");
        }
        cfg.policy.send_from = Some("1970-01-01T00:00:00Z".into());
        assert!(Rules::new(&cfg, Path::new("c.yaml")).is_ok());
        for bad in [
            "2099-12-17T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "1969-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
        ] {
            cfg.policy.send_from = Some(bad.into());
            let Err(Error::Config(d)) = Rules::new(&cfg, Path::new("c.yaml")) else {
                panic!("{bad} accepted")
            };
            assert!(
                d[0].message.contains("policy.send_from") && d[0].message.contains("out of range"),
                "{bad}: {d:?}"
            );
        }
    }

    #[test]
    fn config_mistakes_are_named() {
        let mut cfg = config();
        cfg.matrix.insert(
            "forgetfull".into(),
            BTreeMap::from([("reminderr".into(), Cell::Channels(vec!["fax".into()]))]),
        );
        cfg.policy.contact_window.from = "9am".into();
        let Err(Error::Config(d)) = Rules::new(&cfg, Path::new("c.yaml")) else {
            panic!()
        };
        let text: Vec<String> = d.iter().map(|d| d.message.clone()).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("unknown cluster `forgetfull` — did you mean `forgetful`?")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("unknown stage `reminderr` — did you mean `reminder`?")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("unknown channel `fax`")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("`9am` is not a time")),
            "{text:?}"
        );
    }
}
