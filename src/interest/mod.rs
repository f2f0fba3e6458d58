//! Statutory late-payment interest and fixed compensation for recovery costs, per
//! invoice, from the law and rate files in `laws/` (docs/money.md).
//!
//! A module of its own because it is law, not dunning: the figures change with central
//! banks and statutes, each must be traceable to its source, and a wrong one is a claim
//! the creditor cannot defend. The engine is pure — no clock, no files, no network — so
//! a letter, a payment page and a test get the same figures from the same inputs.
//! Whatever is uncertain errs towards claiming less: an undated payment counts as made
//! on the due date, payments reduce the principal before the interest, a debtor of
//! unknown kind is never charged the business rate.

pub mod config;
pub mod data;

pub use config::{Apply, InterestConfig};
pub use data::{DataGap, DayCount, Law, Laws, Table};

use crate::money::{self, Currency};
use chrono::{Datelike, Months, NaiveDate};
use data::{CompensationRule, ConvertOn, Floor, RateFixedAt, RateRule, ReferenceDay, Reset};
use rust_decimal::Decimal;
use std::fmt;

/// Who owes: the export's `kind` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebtorKind {
    Company,
    Person,
    Unknown,
}

/// One invoice as the engine needs it.
#[derive(Clone, Debug)]
pub struct Invoice<'a> {
    pub due: NaiveDate,
    pub issued: Option<NaiveDate>,
    pub amount: Decimal,
    /// The export's `amount_paid`: what of it the dated payments do not explain counts as
    /// paid on the due date.
    pub amount_paid: Decimal,
    pub currency: Currency,
    pub debtor: DebtorKind,
    /// Payments to this invoice that went through: (date, amount).
    pub payments: &'a [(NaiveDate, Decimal)],
    /// An agreed annual rate in percent, from the export.
    pub contractual_rate: Option<Decimal>,
    /// When the contract was made (China's floor); the issue date, then the due date,
    /// stand in for it.
    pub contract_date: Option<NaiveDate>,
    /// The day a demand letter reached the debtor (the Netherlands' 14-day letter).
    pub demand_letter: Option<NaiveDate>,
    pub creditor_is_sme: bool,
    pub debtor_large_or_public: bool,
}

/// The campaign's side: whom to charge, up to when, from which day late.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    pub apply: Apply,
    pub as_of: NaiveDate,
    /// Nothing is claimed on an invoice fewer days late than this (a campaign's choice;
    /// interest claimed still runs from the due date, as the law has it).
    pub from_day: u32,
}

/// Which rate a period ran at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    Statutory,
    Contractual,
    /// The contractual rate was below the floor the law sets; the floor applies.
    Floor,
}

/// A stretch of days at one balance and one rate, for a letter to print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    /// First and last day of interest, both included.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
    /// The sum interest ran on (with interest capitalised, where the law adds it).
    pub balance: Decimal,
    /// Percent a year, or a day with `DayCount::Daily`.
    pub rate: Decimal,
    pub basis: Basis,
    /// Not rounded: only the total is.
    pub amount: Decimal,
    /// False when a figure behind it is marked unverified in the data.
    pub verified: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interest {
    /// The total, rounded to the currency's minor unit.
    pub amount: Decimal,
    pub periods: Vec<Period>,
    pub day_count: DayCount,
    /// The rate was fixed when interest started (Japan, the UK).
    pub fixed_at_start: bool,
    pub verified: bool,
}

/// How a sum the law states in one currency became the invoice's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversion {
    pub table: String,
    pub date: NaiveDate,
    pub rate: Decimal,
    pub from_amount: Decimal,
    pub from_currency: Currency,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compensation {
    pub amount: Decimal,
    pub currency: Currency,
    /// Which tier or scale, in words for the letter: `below 1000 GBP`.
    pub tier: String,
    pub conversion: Option<Conversion>,
    pub verified: bool,
}

/// Why nothing is claimed. The words are for people; callers match on the variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `apply: none`.
    Off,
    /// Not yet due, or paid by the due date.
    NotLate,
    /// Fewer days late than the campaign's `from_day`.
    BeforeFromDay { days_late: i64, from_day: u32 },
    /// `apply: b2b` and the debtor is a person.
    Consumer,
    /// `apply: b2b` and the export does not say whether the debtor is a company.
    UnknownKind,
    /// The law file has no rule for this kind of debtor.
    NoRule { law: String, consumer: bool },
    /// A condition of the law is not met (China's creditor size).
    Condition(&'static str),
    /// The law requires a demand letter first (the Netherlands' consumer costs).
    NeedsLetter { days: u32 },
    /// The demand letter's term has not run out by the campaign date.
    LetterRunning { claimable_from: NaiveDate },
    /// The sums are in another currency and the law gives no conversion.
    Currency { law: Currency, invoice: Currency },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Off => write!(f, "interest is off for this campaign (apply: none)"),
            Reason::NotLate => write!(f, "not late on the campaign date"),
            Reason::BeforeFromDay {
                days_late,
                from_day,
            } => write!(
                f,
                "{days_late} days late, claimed from day {from_day} (interest.from_day)"
            ),
            Reason::Consumer => write!(
                f,
                "the debtor is a person and the campaign applies it to businesses only (apply: b2b)"
            ),
            Reason::UnknownKind => write!(
                f,
                "the export does not say whether the debtor is a company (kind), so no business rate is claimed"
            ),
            Reason::NoRule { law, consumer } => write!(
                f,
                "the law file of {law} has no statutory claim against {}",
                if *consumer { "consumers" } else { "businesses" }
            ),
            Reason::Condition(c) => write!(f, "a condition of the law is not met: {c}"),
            Reason::NeedsLetter { days } => write!(
                f,
                "collection costs need a demand letter giving {days} days first; none was delivered"
            ),
            Reason::LetterRunning { claimable_from } => write!(
                f,
                "the demand letter's term runs; collection costs can be claimed from {claimable_from}"
            ),
            Reason::Currency { law, invoice } => write!(
                f,
                "the law states the sum in {law} and the invoice is in {invoice}, with no conversion rule"
            ),
        }
    }
}

/// Everything computed for one invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub law: String,
    pub interest: Result<Interest, Reason>,
    pub compensation: Result<Compensation, Reason>,
    /// What `amount_paid` holds beyond the dated payments, counted as paid on the due date.
    pub undated_paid: Decimal,
    /// Open on the campaign date.
    pub open: Decimal,
}

/// Interest and compensation for one invoice under `law_code`. An `Err` is a gap in the
/// data (a day no table covers, a law not found): the campaign stops and says what to add.
pub fn compute(
    laws: &Laws,
    law_code: &str,
    terms: &Terms,
    inv: &Invoice<'_>,
) -> Result<Outcome, DataGap> {
    let law = laws.law(law_code).ok_or_else(|| DataGap {
        file: "laws".into(),
        message: format!("no law file with code `{law_code}`"),
    })?;
    let dated: Decimal = inv.payments.iter().map(|(_, a)| *a).sum();
    let undated_paid = (inv.amount_paid - dated).max(Decimal::ZERO);
    let mut opening = inv.amount - undated_paid;
    let mut later: Vec<(NaiveDate, Decimal)> = Vec::new();
    for &(d, a) in inv.payments {
        if d <= inv.due {
            opening -= a;
        } else {
            later.push((d, a));
        }
    }
    later.sort();
    // A payment dated after the campaign date is not known on it.
    later.retain(|(d, _)| *d <= terms.as_of);
    let open = (opening - later.iter().map(|(_, a)| *a).sum::<Decimal>()).max(Decimal::ZERO);
    let mut outcome = Outcome {
        law: law.code.clone(),
        interest: Err(Reason::Off),
        compensation: Err(Reason::Off),
        undated_paid,
        open,
    };
    let consumer = match (terms.apply, inv.debtor) {
        (Apply::None, _) => return Ok(outcome),
        (_, DebtorKind::Company) => false,
        (Apply::B2b, DebtorKind::Person) => return Ok(both(outcome, Reason::Consumer)),
        (Apply::B2b, DebtorKind::Unknown) => return Ok(both(outcome, Reason::UnknownKind)),
        // Unknown under `all`: the consumer rate, the lower claim.
        (Apply::All, _) => true,
    };
    let days_late = (terms.as_of - inv.due).num_days();
    if days_late <= 0 || opening <= Decimal::ZERO {
        return Ok(both(outcome, Reason::NotLate));
    }
    if days_late < i64::from(terms.from_day) {
        return Ok(both(
            outcome,
            Reason::BeforeFromDay {
                days_late,
                from_day: terms.from_day,
            },
        ));
    }
    let no_rule = Reason::NoRule {
        law: law.code.clone(),
        consumer,
    };
    let rule = if consumer {
        law.interest.consumer.as_ref()
    } else {
        law.interest.b2b.as_ref()
    };
    outcome.interest = match rule {
        None => Err(no_rule.clone()),
        Some(rule) => match conditions(rule, inv) {
            Some(r) => Err(r),
            None => Ok(interest(laws, law, rule, terms, inv, opening, &later)?),
        },
    };
    let comp = if consumer {
        law.compensation.consumer.as_ref()
    } else {
        law.compensation.b2b.as_ref()
    };
    outcome.compensation = match comp {
        None => Err(no_rule),
        Some(c) => compensation(laws, law, c, terms, inv, open)?,
    };
    Ok(outcome)
}

fn both(mut o: Outcome, r: Reason) -> Outcome {
    o.interest = Err(r.clone());
    o.compensation = Err(r);
    o
}

fn conditions(rule: &RateRule, inv: &Invoice<'_>) -> Option<Reason> {
    if rule.requires.creditor_sme && !inv.creditor_is_sme {
        return Some(Reason::Condition(
            "the creditor must be a small or medium-sized enterprise",
        ));
    }
    if rule.requires.debtor_large_or_public && !inv.debtor_large_or_public {
        return Some(Reason::Condition(
            "the debtor must be a large enterprise or a public body",
        ));
    }
    None
}

/// The statutory rate of one day, and whether its figures are verified.
fn statutory_rate(
    laws: &Laws,
    law: &Law,
    rule: &RateRule,
    day: NaiveDate,
) -> Result<(Decimal, bool), DataGap> {
    if let Some(fixed) = rule.fixed {
        return Ok((fixed, rule.verified));
    }
    let name = rule.reference.as_deref().unwrap_or_default();
    let table = laws.table(name).ok_or_else(|| DataGap {
        file: law.file.clone(),
        message: format!("unknown rate table `{name}`"),
    })?;
    let read_on = match rule.reset {
        Reset::Continuous => day,
        Reset::HalfYearly => {
            let start = half_year_start(day);
            match rule.reference_day {
                ReferenceDay::FirstDay => start,
                ReferenceDay::DayBefore => start.pred_opt().unwrap_or(start),
            }
        }
    };
    let looked = table.rate_on(read_on)?;
    Ok((
        looked.rate + rule.margin.unwrap_or_default(),
        looked.verified && rule.verified,
    ))
}

fn half_year_start(day: NaiveDate) -> NaiveDate {
    let month = if day.month() <= 6 { 1 } else { 7 };
    NaiveDate::from_ymd_opt(day.year(), month, 1).expect("1 January or 1 July")
}

/// Days on which a rate, a balance or the day count may change, inside `[first, end)`.
fn breakpoints(
    laws: &Laws,
    rule: &RateRule,
    first: NaiveDate,
    end: NaiveDate,
    payments: &[(NaiveDate, Decimal)],
    compound: bool,
) -> Vec<NaiveDate> {
    let mut out = vec![first, end];
    for (d, _) in payments {
        // Paid on day d: the payment day still ran on the old balance.
        if let Some(n) = d.succ_opt() {
            out.push(n);
        }
    }
    for year in first.year()..=end.year() {
        for month in [1, 7] {
            out.push(NaiveDate::from_ymd_opt(year, month, 1).expect("valid"));
        }
    }
    if let Some(t) = rule.reference.as_deref().and_then(|n| laws.table(n)) {
        out.extend(t.entries.iter().filter_map(|e| e.from));
    }
    if compound {
        let mut k = 1;
        while let Some(a) = first.checked_add_months(Months::new(12 * k)) {
            if a >= end {
                break;
            }
            out.push(a);
            k += 1;
        }
    }
    out.retain(|d| *d >= first && *d <= end);
    out.sort();
    out.dedup();
    out
}

fn interest(
    laws: &Laws,
    law: &Law,
    rule: &RateRule,
    terms: &Terms,
    inv: &Invoice<'_>,
    opening: Decimal,
    later: &[(NaiveDate, Decimal)],
) -> Result<Interest, DataGap> {
    let first = inv.due.succ_opt().expect("a day after the due date");
    let end = terms
        .as_of
        .succ_opt()
        .expect("a day after the campaign date");
    let compound = law.compound == data::Compound::Yearly;
    let fixed_at_start = rule.rate_fixed_at == RateFixedAt::Default;
    let contractual = inv.contractual_rate.filter(|_| law.contractual.allowed);
    // An agreed rate without a floor needs no table: a day the tables do not cover yet
    // is then no reason to stop.
    let needs_statutory = !matches!(
        (contractual, law.contractual.floor),
        (Some(_), Floor::None | Floor::ReferenceAtContract)
    );
    let start_rate = if needs_statutory && fixed_at_start {
        Some(statutory_rate(laws, law, rule, first)?)
    } else {
        None
    };
    let floor_at_contract = match (contractual, law.contractual.floor) {
        (Some(_), Floor::ReferenceAtContract) => {
            let name = law.contractual.floor_table.as_deref().unwrap_or_default();
            let table = laws.table(name).ok_or_else(|| DataGap {
                file: law.file.clone(),
                message: format!("unknown rate table `{name}`"),
            })?;
            let day = inv.contract_date.or(inv.issued).unwrap_or(inv.due);
            Some(table.rate_on(day)?)
        }
        _ => None,
    };
    // A contractual rate is annual even where the statutory one is per day.
    let day_count = |basis: Basis| match (law.day_count, basis) {
        (DayCount::Daily, Basis::Contractual | Basis::Floor) => DayCount::Act365,
        (dc, _) => dc,
    };

    let points = breakpoints(laws, rule, first, end, later, compound);
    let mut principal = opening;
    let mut capitalised = Decimal::ZERO;
    let mut year_interest = Decimal::ZERO;
    // Counted from the first day each time, so that a 29 February start keeps its
    // anniversaries in step with the breakpoints.
    let anniversary = |k: u32| first.checked_add_months(Months::new(12 * k));
    let mut years = 1;
    let mut paid = later.iter().peekable();
    let mut periods: Vec<Period> = Vec::new();
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        if compound && Some(a) == anniversary(years) {
            capitalised += year_interest;
            year_interest = Decimal::ZERO;
            years += 1;
        }
        // Payments made the day before `a` or earlier lower the balance from `a` on.
        while let Some((d, amt)) = paid.peek() {
            if *d < a {
                principal -= *amt;
                paid.next();
            } else {
                break;
            }
        }
        if principal <= Decimal::ZERO {
            // Paid off: interest on interest stops with the principal (the lower claim).
            break;
        }
        let statutory = || match start_rate {
            Some(r) => Ok(r),
            None => statutory_rate(laws, law, rule, a),
        };
        let (rate, basis, verified) = match (contractual, law.contractual.floor) {
            (None, _) => {
                let (stat, ok) = statutory()?;
                (stat, Basis::Statutory, ok)
            }
            (Some(c), Floor::None) => (c, Basis::Contractual, true),
            (Some(c), Floor::Statutory) => {
                let (stat, ok) = statutory()?;
                if c >= stat {
                    (c, Basis::Contractual, ok)
                } else {
                    (stat, Basis::Statutory, ok)
                }
            }
            (Some(c), Floor::ReferenceAtContract) => {
                let f = floor_at_contract.expect("looked up above");
                if c >= f.rate {
                    (c, Basis::Contractual, f.verified)
                } else {
                    (f.rate, Basis::Floor, f.verified)
                }
            }
        };
        let balance = principal + capitalised;
        let days = (b - a).num_days();
        let amount = accrue(balance, rate, a, days, day_count(basis));
        year_interest += amount;
        match periods.last_mut() {
            Some(p)
                if p.rate == rate
                    && p.balance == balance
                    && p.basis == basis
                    && p.verified == verified
                    && p.to.succ_opt() == Some(a) =>
            {
                p.to = b.pred_opt().expect("a day");
                p.days += days;
                p.amount += amount;
            }
            _ => periods.push(Period {
                from: a,
                to: b.pred_opt().expect("a day"),
                days,
                balance,
                rate,
                basis,
                amount,
                verified,
            }),
        }
    }
    let total: Decimal = periods.iter().map(|p| p.amount).sum();
    let verified = periods.iter().all(|p| p.verified);
    Ok(Interest {
        amount: money::round(total, inv.currency),
        periods,
        day_count: law.day_count,
        fixed_at_start,
        verified,
    })
}

/// Interest on `balance` for `days` days from `from`, unrounded.
fn accrue(balance: Decimal, rate: Decimal, from: NaiveDate, days: i64, dc: DayCount) -> Decimal {
    let hundred = Decimal::from(100);
    let days_d = Decimal::from(days);
    match dc {
        DayCount::Act365 => balance * rate / hundred * days_d / Decimal::from(365),
        DayCount::Act360 => balance * rate / hundred * days_d / Decimal::from(360),
        DayCount::Daily => balance * rate / hundred * days_d,
        DayCount::ActAct => {
            // Segments never cross 1 January (it is a breakpoint), so one year's length.
            let leap = NaiveDate::from_ymd_opt(from.year(), 2, 29).is_some();
            let year = Decimal::from(if leap { 366 } else { 365 });
            balance * rate / hundred * days_d / year
        }
    }
}

fn compensation(
    laws: &Laws,
    law: &Law,
    rule: &CompensationRule,
    terms: &Terms,
    inv: &Invoice<'_>,
    open: Decimal,
) -> Result<Result<Compensation, Reason>, DataGap> {
    if let Some(days) = rule.requires.demand_letter_days {
        let Some(letter) = inv.demand_letter else {
            return Ok(Err(Reason::NeedsLetter { days }));
        };
        // The term runs from the day after the letter arrives; the day after its last
        // day the costs are due.
        let claimable_from = letter + chrono::Days::new(u64::from(days) + 1);
        if terms.as_of < claimable_from {
            return Ok(Err(Reason::LetterRunning { claimable_from }));
        }
    }
    let law_currency = Currency::parse(&rule.currency).map_err(|e| DataGap {
        file: law.file.clone(),
        message: e,
    })?;
    let bounds_currency = match &rule.thresholds_currency {
        Some(c) => Currency::parse(c).map_err(|e| DataGap {
            file: law.file.clone(),
            message: e,
        })?,
        None => law_currency,
    };
    let fx_table = match &rule.convert {
        None => None,
        Some(cv) => Some(laws.table(&cv.table).ok_or_else(|| DataGap {
            file: law.file.clone(),
            message: format!("unknown rate table `{}`", cv.table),
        })?),
    };
    // The currency the sum ends up in: the law's, or the target of its conversion.
    let target = match fx_table.and_then(|t| t.pair.as_deref()) {
        Some(pair) => pair
            .split_once('/')
            .and_then(|(_, to)| Currency::parse(to).ok())
            .ok_or_else(|| DataGap {
                file: fx_table.map(|t| t.file.clone()).unwrap_or_default(),
                message: format!("pair `{pair}` is not FROM/TO currency codes such as EUR/PLN"),
            })?,
        None => law_currency,
    };
    let has_bounds = rule
        .tiers
        .iter()
        .any(|t| t.up_to.is_some() || t.below.is_some());
    for need in [Some(target), has_bounds.then_some(bounds_currency)]
        .into_iter()
        .flatten()
    {
        if inv.currency != need {
            return Ok(Err(Reason::Currency {
                law: need,
                invoice: inv.currency,
            }));
        }
    }
    let (sum, tier) = if rule.tiers.is_empty() {
        scale(rule, open, law_currency)
    } else {
        let t = rule
            .tiers
            .iter()
            .find(|t| match (t.up_to, t.below) {
                (Some(u), _) => inv.amount <= u,
                (None, Some(b)) => inv.amount < b,
                (None, None) => true,
            })
            .unwrap_or_else(|| rule.tiers.last().expect("tiers are not empty"));
        let label = match (t.up_to, t.below) {
            (Some(u), _) => format!("up to {u} {bounds_currency}"),
            (None, Some(b)) => format!("below {b} {bounds_currency}"),
            (None, None) => match rule.tiers.iter().rev().nth(1) {
                Some(prev) => format!(
                    "{} {} {bounds_currency}",
                    if prev.up_to.is_some() {
                        "above"
                    } else {
                        "from"
                    },
                    prev.up_to.or(prev.below).unwrap_or_default()
                ),
                None => "any amount".to_string(),
            },
        };
        (t.amount, label)
    };
    let mut verified = rule.verified;
    let (amount, conversion) = match &rule.convert {
        None => (sum, None),
        Some(cv) => {
            let table = fx_table.expect("looked up above");
            let looked = match cv.on {
                ConvertOn::LastBusinessDayOfMonthBeforeDue => {
                    let prev = inv.due.with_day(1).expect("day 1") - chrono::Days::new(1);
                    table.fx_last_business_day(prev.year(), prev.month())?
                }
                ConvertOn::DueDate => table.fx_on(inv.due)?,
            };
            verified &= looked.verified;
            (
                money::round(sum * looked.rate, inv.currency),
                Some(Conversion {
                    table: cv.table.clone(),
                    date: looked.date,
                    rate: looked.rate,
                    from_amount: sum,
                    from_currency: law_currency,
                }),
            )
        }
    };
    let mut amount = money::round(amount, inv.currency);
    amount.rescale(inv.currency.minor_units());
    Ok(Ok(Compensation {
        amount,
        currency: inv.currency,
        tier,
        conversion,
        verified,
    }))
}

/// A percentage scale over bands of `base` (the Dutch collection-cost scale).
fn scale(rule: &CompensationRule, base: Decimal, cur: Currency) -> (Decimal, String) {
    let hundred = Decimal::from(100);
    let mut total = Decimal::ZERO;
    let mut lower = Decimal::ZERO;
    for band in &rule.scale {
        let upper = band.up_to.unwrap_or(base).min(base);
        if upper > lower {
            total += (upper - lower) * band.percent / hundred;
        }
        match band.up_to {
            Some(u) if u < base => lower = u,
            _ => break,
        }
    }
    if let Some(min) = rule.minimum {
        total = total.max(min);
    }
    if let Some(max) = rule.maximum {
        total = total.min(max);
    }
    (
        money::round(total, cur),
        format!("scale on {} {cur} open", money::plain(base, cur)),
    )
}

#[cfg(test)]
mod tests;

/// What a campaign asks of the engine for its invoices.
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    pub config: &'a InterestConfig,
    pub laws: &'a Laws,
    /// The invoice's law's code.
    pub law: &'a str,
    pub as_of: NaiveDate,
    pub creditor_sme: bool,
    /// When a demand letter about this invoice reached the debtor (from the history).
    pub demand_letter: Option<NaiveDate>,
}

/// What a campaign claims on one invoice of the dataset, in the invoice's currency:
/// (interest, compensation), both zero when the law gives none. Compensation in another
/// currency than the invoice's (no conversion rule for it) is not claimed: amounts are
/// never mixed. `k` is the invoice's dataset position (payments name it).
pub fn claimed(
    ask: &Ask<'_>,
    view: &crate::dataset::CustomerView<'_>,
    k: u32,
    inv: &crate::dataset::Invoice,
) -> Result<(Decimal, Decimal), DataGap> {
    use crate::dataset::{CustomerKind, CustomerSize, PaymentStatus};
    let payments: Vec<(NaiveDate, Decimal)> = view
        .payments
        .iter()
        .filter(|p| p.invoice == Some(k) && p.status == PaymentStatus::Ok)
        .map(|p| (p.date, p.amount))
        .collect();
    let debtor = match view.customer.kind {
        Some(CustomerKind::Company) => DebtorKind::Company,
        Some(CustomerKind::Person) => DebtorKind::Person,
        None => DebtorKind::Unknown,
    };
    let terms = Terms {
        apply: ask.config.apply,
        as_of: ask.as_of,
        from_day: ask.config.from_day,
    };
    let own = inv.terms.as_deref();
    let input = Invoice {
        due: inv.due_date,
        issued: Some(inv.issue_date),
        amount: inv.amount,
        amount_paid: inv.amount_paid,
        currency: inv.currency,
        debtor,
        payments: &payments,
        contractual_rate: own.and_then(|t| t.interest_rate),
        contract_date: own.and_then(|t| t.contract_date),
        demand_letter: ask.demand_letter,
        creditor_is_sme: ask.creditor_sme,
        debtor_large_or_public: matches!(
            view.customer.size,
            Some(CustomerSize::Large | CustomerSize::Public)
        ),
    };
    let out = compute(ask.laws, ask.law, &terms, &input)?;
    let interest = out.interest.map(|x| x.amount).unwrap_or_default();
    let comp = match out.compensation {
        Ok(c) if c.currency == inv.currency => c.amount,
        _ => Decimal::ZERO,
    };
    Ok((interest, comp))
}
