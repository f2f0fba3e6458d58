//! Behavioural features per customer, computed as of the campaign date.
//!
//! Only records dated on or before `as_of` count (invoices by issue date, payments and
//! events by their date). Open amounts are the export's own figures: the ERP knows
//! best what is owed today. History features (`late_ratio`, `avg_days_late`, …) look at settled
//! invoices; the current situation (`overdue_amount`, `max_days_past_due`) at open ones.
//! [`FEATURES`] is the one list of names rule authors and templates see.

use crate::dataset::*;
use crate::money::Currency;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fmt;

/// Days within which a reply, promise or payment answers a reminder.
const ANSWER_WINDOW: i64 = 14;
/// Settled invoices needed before a customer's habits can be judged.
const MIN_HISTORY: i64 = 2;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Features {
    /// The currency of the amounts below (the one with most open debt).
    pub currency: Option<Currency>,
    pub overdue_amount: Decimal,
    pub open_amount: Decimal,
    pub max_days_past_due: i64,
    pub open_invoices: i64,
    pub overdue_invoices: i64,
    pub invoices_12m: i64,
    pub settled_invoices: i64,
    pub on_time_ratio: f64,
    pub late_ratio: f64,
    pub avg_days_late: f64,
    pub paid_after_first_reminder_ratio: f64,
    pub partial_payments: i64,
    pub bounced_payments: i64,
    pub promises_made: i64,
    pub promises_broken: i64,
    pub promises_kept: i64,
    pub plans_agreed: i64,
    pub plans_broken: i64,
    pub reminders_ignored: i64,
    pub disputes: i64,
    pub complaints: i64,
    pub bounces: i64,
    pub days_since_email: i64,
    pub days_since_sms: i64,
    pub days_since_letter: i64,
    pub days_since_last_payment: i64,
    pub days_late_trend: f64,
    pub has_history: bool,
    pub uses_direct_debit: bool,
    pub hold: &'static str,
    pub kind: &'static str,
}

/// A feature's value as rules and reports see it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Number(f64),
    Money(Decimal),
    Bool(bool),
    Text(&'static str),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            // Three decimals are plenty for a ratio and keep output byte-stable.
            Value::Number(v) => write!(f, "{v:.3}"),
            Value::Money(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Text(v) => f.write_str(v),
        }
    }
}

pub struct FeatureDef {
    pub name: &'static str,
    pub doc: &'static str,
    pub get: fn(&Features) -> Value,
}

macro_rules! features {
    ($($name:ident : $kind:ident = $doc:literal),+ $(,)?) => {
        /// Every feature a rule or template can name, in documentation order.
        pub const FEATURES: &[FeatureDef] = &[
            $(FeatureDef { name: stringify!($name), doc: $doc, get: |f| Value::$kind(f.$name) }),+
        ];
    };
}

features! {
    overdue_amount: Money = "open amount of invoices past their due date (in `currency`)",
    open_amount: Money = "open amount of all unpaid invoices, due or not",
    max_days_past_due: Int = "days past due of the oldest open invoice (negative: days until due; 0 with none open)",
    open_invoices: Int = "unpaid invoices",
    overdue_invoices: Int = "unpaid invoices past their due date",
    invoices_12m: Int = "invoices issued in the last 365 days",
    settled_invoices: Int = "invoices fully paid, with the payment dated",
    on_time_ratio: Number = "share of settled invoices paid by their due date (0–1)",
    late_ratio: Number = "share of settled invoices paid after their due date (0–1)",
    avg_days_late: Number = "average days between due date and payment over settled invoices (on time counts 0)",
    paid_after_first_reminder_ratio: Number = "share of reminded late invoices paid after a single reminder",
    partial_payments: Int = "payments that left their invoice partly unpaid",
    bounced_payments: Int = "payments bounced or reversed",
    promises_made: Int = "promise_to_pay events",
    promises_broken: Int = "promises broken: promise_broken events, and promises whose promised_date has passed without the promised amount (or, with none promised, any payment) paid since the promise",
    promises_kept: Int = "promises whose promised amount (or, with none promised, any payment) was paid between the promise and its promised_date",
    plans_agreed: Int = "plan_agreed events",
    plans_broken: Int = "plan_broken events",
    reminders_ignored: Int = "reminders in the last 365 days with no payment, reply or promise within 14 days",
    disputes: Int = "open invoices marked disputed",
    complaints: Int = "complaint events",
    bounces: Int = "bounced events: addresses that bounced (from `dunwell history bounces` or the export)",
    days_since_email: Int = "days since the last e-mail reminder (reminder_sent events, and e-mails the history store knows were delivered; -1: none)",
    days_since_sms: Int = "days since the last SMS reminder (as days_since_email; -1: none)",
    days_since_letter: Int = "days since the last letter (a letter counts once its print batch was posted; -1: none)",
    days_since_last_payment: Int = "days since the last successful payment (-1: never paid)",
    days_late_trend: Number = "average lateness of the last 3 settled invoices minus that of the earlier ones (> 0: getting later)",
    has_history: Bool = "at least 2 settled invoices to judge habits by",
    uses_direct_debit: Bool = "has paid by direct debit",
    hold: Text = "the customer's hold (dispute, hardship, …) or empty",
    kind: Text = "person or company (empty when unknown)",
}

pub fn feature(name: &str) -> Option<&'static FeatureDef> {
    FEATURES.iter().find(|f| f.name == name)
}

pub fn feature_names() -> impl Iterator<Item = &'static str> {
    FEATURES.iter().map(|f| f.name)
}

/// Whether a promise to pay was kept (`Some(true)`), broken (`Some(false)`), or cannot
/// be judged yet (its promised date has not passed) or at all (no promised date). A
/// `promise_broken` event after the promise (and before the next promise) counts as the
/// break itself (counted there), so it is not derived twice. Kept: the promised amount — or, with none, any payment —
/// paid between the promise and the promised date.
fn promise_outcome(
    promise: &Event,
    payments: &[&Payment],
    events: &[&Event],
    as_of: NaiveDate,
) -> Option<bool> {
    let by = promise.promised?;
    if by >= as_of {
        return None;
    }
    let paid: Decimal = payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Ok && p.date >= promise.date && p.date <= by)
        .map(|p| p.amount)
        .sum();
    let kept = match promise.promised_amount {
        Some(amount) => paid >= amount,
        None => paid > Decimal::ZERO,
    };
    if kept {
        return Some(true);
    }
    // A break logged before the customer's next promise is this promise's.
    let next_promise = events
        .iter()
        .filter(|e| e.kind == EventKind::PromiseToPay && e.date > promise.date)
        .map(|e| e.date)
        .min();
    let told = events.iter().any(|e| {
        e.kind == EventKind::PromiseBroken
            && e.date >= promise.date
            && next_promise.is_none_or(|n| e.date < n)
    });
    (!told).then_some(false)
}

/// Computes the features of one customer as of `as_of`.
pub fn compute(view: &CustomerView<'_>, as_of: NaiveDate) -> Features {
    let days = |from: NaiveDate, to: NaiveDate| (to - from).num_days();
    let mut f = Features {
        hold: view.customer.hold.map_or("", Hold::as_str),
        kind: view.customer.kind.map_or("", CustomerKind::as_str),
        ..Features::default()
    };
    // (index in the dataset, invoice): payments point at invoices by dataset index.
    let invoices: Vec<(u32, &Invoice)> = view
        .invoices
        .iter()
        .enumerate()
        .filter(|(_, i)| i.issue_date <= as_of && i.status != InvoiceStatus::Cancelled)
        .map(|(k, i)| (view.invoice_base + k as u32, i))
        .collect();
    let payments: Vec<&Payment> = view.payments.iter().filter(|p| p.date <= as_of).collect();
    let events: Vec<&Event> = view.events.iter().filter(|e| e.date <= as_of).collect();

    // Current situation, in the currency with most open debt.
    let mut open_by_cur: Vec<(Currency, Decimal)> = Vec::new();
    for (_, inv) in &invoices {
        let open = inv.open_amount();
        if open.is_zero() {
            continue;
        }
        match open_by_cur.iter_mut().find(|(c, _)| *c == inv.currency) {
            Some((_, sum)) => *sum += open,
            None => open_by_cur.push((inv.currency, open)),
        }
    }
    open_by_cur.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    f.currency = open_by_cur.first().map(|c| c.0);
    let mut oldest: Option<i64> = None;
    for (_, inv) in &invoices {
        let open = inv.open_amount();
        if open.is_zero() {
            continue;
        }
        f.open_invoices += 1;
        f.disputes += i64::from(inv.disputed);
        let dpd = days(inv.due_date, as_of);
        oldest = Some(oldest.map_or(dpd, |o: i64| o.max(dpd)));
        if Some(inv.currency) == f.currency {
            f.open_amount += open;
            if dpd > 0 {
                f.overdue_amount += open;
            }
        }
        if dpd > 0 {
            f.overdue_invoices += 1;
        }
    }
    f.max_days_past_due = oldest.unwrap_or(0);
    f.invoices_12m = invoices
        .iter()
        .filter(|(_, i)| days(i.issue_date, as_of) < 365)
        .count() as i64;

    // Habits, from settled invoices: (due date, days late, reminders before settling).
    let mut settled: Vec<(NaiveDate, i64, usize)> = Vec::new();
    for &(idx, inv) in &invoices {
        let mut paid = Decimal::ZERO;
        let mut settled_on = None;
        let mut linked = 0;
        for p in payments
            .iter()
            .filter(|p| p.invoice == Some(idx) && p.status == PaymentStatus::Ok)
        {
            linked += 1;
            paid += p.amount;
            if paid >= inv.amount {
                settled_on = Some(p.date);
                break;
            }
            f.partial_payments += 1;
        }
        if linked == 0
            && inv.amount_paid > Decimal::ZERO
            && inv.amount_paid < inv.amount
            && inv.status == InvoiceStatus::Open
        {
            f.partial_payments += 1;
        }
        if let Some(on) = settled_on {
            let late = days(inv.due_date, on).max(0);
            let reminders = events
                .iter()
                .filter(|e| {
                    e.kind == EventKind::ReminderSent
                        && e.date > inv.due_date
                        && e.date <= on
                        && e.reference.as_deref().is_none_or(|r| r == &*inv.id)
                })
                .count();
            settled.push((inv.due_date, late, reminders));
        }
    }
    settled.sort_by_key(|s| s.0);
    f.settled_invoices = settled.len() as i64;
    f.has_history = f.settled_invoices >= MIN_HISTORY;
    if !settled.is_empty() {
        let n = settled.len() as f64;
        let late = settled.iter().filter(|s| s.1 > 0).count() as f64;
        f.late_ratio = late / n;
        f.on_time_ratio = 1.0 - f.late_ratio;
        f.avg_days_late = settled.iter().map(|s| s.1 as f64).sum::<f64>() / n;
        let reminded: Vec<_> = settled.iter().filter(|s| s.1 > 0 && s.2 > 0).collect();
        if !reminded.is_empty() {
            f.paid_after_first_reminder_ratio =
                reminded.iter().filter(|s| s.2 == 1).count() as f64 / reminded.len() as f64;
        }
        if settled.len() >= 4 {
            let (early, recent) = settled.split_at(settled.len() - 3);
            let mean = |s: &[(NaiveDate, i64, usize)]| {
                s.iter().map(|x| x.1 as f64).sum::<f64>() / s.len() as f64
            };
            f.days_late_trend = mean(recent) - mean(early);
        }
    }

    let mut last_payment: Option<NaiveDate> = None;
    for p in &payments {
        match p.status {
            PaymentStatus::Ok => {
                f.uses_direct_debit |= p.method == PaymentMethod::DirectDebit;
                last_payment = last_payment.max(Some(p.date));
            }
            PaymentStatus::Bounced | PaymentStatus::Reversed => f.bounced_payments += 1,
        }
    }
    f.days_since_last_payment = last_payment.map_or(-1, |d| days(d, as_of));

    f.days_since_email = -1;
    f.days_since_sms = -1;
    f.days_since_letter = -1;
    for e in &events {
        match e.kind {
            EventKind::PromiseToPay => {
                f.promises_made += 1;
                match promise_outcome(e, &payments, &events, as_of) {
                    Some(true) => f.promises_kept += 1,
                    Some(false) => f.promises_broken += 1,
                    None => {}
                }
            }
            EventKind::PromiseBroken => f.promises_broken += 1,
            EventKind::PlanAgreed => f.plans_agreed += 1,
            EventKind::PlanBroken => f.plans_broken += 1,
            EventKind::Complaint => f.complaints += 1,
            EventKind::Bounced => f.bounces += 1,
            EventKind::ReminderSent => {
                let since = days(e.date, as_of);
                let last = match e.channel {
                    Channel::Email => Some(&mut f.days_since_email),
                    Channel::Sms => Some(&mut f.days_since_sms),
                    Channel::Letter => Some(&mut f.days_since_letter),
                    _ => None,
                };
                if let Some(last) = last
                    && (*last < 0 || since < *last)
                {
                    *last = since;
                }
                let (sent, until) = (e.date, e.date + chrono::Duration::days(ANSWER_WINDOW));
                if days(sent, as_of) >= 365 || until > as_of {
                    continue; // too old to matter, or still within its answer window
                }
                let paid = payments
                    .iter()
                    .any(|p| p.status == PaymentStatus::Ok && p.date >= sent && p.date <= until);
                let answered = events.iter().any(|a| {
                    matches!(
                        a.kind,
                        EventKind::Replied | EventKind::PromiseToPay | EventKind::PlanAgreed
                    ) && a.date >= sent
                        && a.date <= until
                });
                if !paid && !answered {
                    f.reminders_ignored += 1;
                }
            }
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::from_str(s).unwrap()
    }

    fn inv(id: &str, due: &str, amount: i64, status: InvoiceStatus) -> Invoice {
        Invoice {
            id: id.into(),
            customer: 0,
            issue_date: d(due) - chrono::Duration::days(30),
            due_date: d(due),
            amount: Decimal::from(amount),
            amount_paid: Decimal::ZERO,
            currency: Currency::parse("EUR").unwrap(),
            status,
            disputed: false,
            document: None,
            terms: None,
            reminded: None,
            line: 2,
        }
    }

    fn pay(inv: u32, date: &str, amount: i64) -> Payment {
        Payment {
            id: format!("P{inv}{date}").into(),
            customer: 0,
            invoice: Some(inv),
            date: d(date),
            amount: Decimal::from(amount),
            method: PaymentMethod::Transfer,
            status: PaymentStatus::Ok,
            line: 2,
        }
    }

    #[test]
    fn late_history_and_current_debt() {
        let customer = Customer::named("C1", "A");
        let invoices = vec![
            inv("I1", "2026-06-01", 100, InvoiceStatus::Paid),
            inv("I2", "2026-07-01", 100, InvoiceStatus::Paid),
            inv("I3", "2026-10-01", 250, InvoiceStatus::Open),
        ];
        let payments = vec![
            pay(0, "2026-06-01", 100),
            pay(1, "2026-07-21", 60),
            pay(1, "2026-07-31", 40),
        ];
        let events = vec![Event {
            customer: 0,
            date: d("2026-07-10"),
            channel: Channel::Email,
            kind: EventKind::ReminderSent,
            reference: Some("I2".into()),
            note: None,
            promised: None,
            promised_amount: None,
        }];
        let view = CustomerView {
            customer: &customer,
            invoices: &invoices,
            payments: &payments,
            events: &events,
            invoice_base: 0,
        };
        let f = compute(&view, d("2026-11-20"));
        assert_eq!(f.overdue_amount, Decimal::from(250));
        assert_eq!(f.max_days_past_due, 50);
        assert_eq!(f.settled_invoices, 2);
        assert!(f.has_history);
        assert_eq!(f.late_ratio, 0.5);
        assert_eq!(f.avg_days_late, 15.0); // (0 + 30) / 2
        assert_eq!(f.partial_payments, 1);
        assert_eq!(f.paid_after_first_reminder_ratio, 1.0);
        assert_eq!(f.days_since_last_payment, 112);
        // The reminder was answered by a payment only 11 days later: not ignored.
        assert_eq!(f.reminders_ignored, 0);
    }

    #[test]
    fn promises_are_kept_or_broken_by_the_payments_not_by_someone_typing_it() {
        let customer = Customer::named("C1", "A");
        let invoices = vec![inv("I1", "2026-10-01", 300, InvoiceStatus::Open)];
        let ev = |kind, date: &str, by: Option<&str>, amount: Option<i64>| Event {
            customer: 0,
            date: d(date),
            channel: Channel::Call,
            kind,
            reference: None,
            note: None,
            promised: by.map(d),
            promised_amount: amount.map(Decimal::from),
        };
        let events = vec![
            // Kept: 100 promised by 11-05, 100 paid on 11-04.
            ev(
                EventKind::PromiseToPay,
                "2026-11-01",
                Some("2026-11-05"),
                Some(100),
            ),
            // Broken: 200 promised by 11-15, nothing more paid.
            ev(
                EventKind::PromiseToPay,
                "2026-11-10",
                Some("2026-11-15"),
                Some(200),
            ),
            // Not judged yet: the date is to come.
            ev(
                EventKind::PromiseToPay,
                "2026-11-18",
                Some("2026-11-25"),
                None,
            ),
            Event {
                channel: Channel::Email,
                ..ev(EventKind::ReminderSent, "2026-11-12", None, None)
            },
            Event {
                channel: Channel::Email,
                ..ev(EventKind::ReminderSent, "2026-11-16", None, None)
            },
            Event {
                channel: Channel::Letter,
                ..ev(EventKind::ReminderSent, "2026-11-02", None, None)
            },
            Event {
                channel: Channel::Email,
                reference: Some("a@example.com".into()),
                ..ev(EventKind::Bounced, "2026-11-03", None, None)
            },
        ];
        let mut events = events;
        let payments = vec![pay(0, "2026-11-04", 100)];
        let view = CustomerView {
            customer: &customer,
            invoices: &invoices,
            payments: &payments,
            events: &events,
            invoice_base: 0,
        };
        let f = compute(&view, d("2026-11-20"));
        assert_eq!(
            (f.promises_made, f.promises_kept, f.promises_broken),
            (3, 1, 1)
        );
        assert_eq!(
            (f.days_since_email, f.days_since_sms, f.days_since_letter),
            (4, -1, 18)
        );
        assert_eq!(f.bounces, 1);
        // Someone also typed the break: still one broken promise.
        events.push(ev(EventKind::PromiseBroken, "2026-11-16", None, None));
        let view = CustomerView {
            customer: &customer,
            invoices: &invoices,
            payments: &payments,
            events: &events,
            invoice_base: 0,
        };
        assert_eq!(compute(&view, d("2026-11-20")).promises_broken, 1);
    }

    #[test]
    fn never_paid_is_minus_one() {
        let customer = Customer::named("C1", "A");
        let invoices = vec![inv("I1", "2026-10-01", 100, InvoiceStatus::Open)];
        let view = CustomerView {
            customer: &customer,
            invoices: &invoices,
            payments: &[],
            events: &[],
            invoice_base: 0,
        };
        let f = compute(&view, d("2026-11-20"));
        assert_eq!(f.days_since_last_payment, -1);
        assert!(!f.has_history);
        assert_eq!(f.overdue_invoices, 1);
    }
}

#[cfg(test)]
mod doc_tests {
    /// docs/features.md is what rule authors read: it must list every feature.
    #[test]
    fn every_feature_is_documented() {
        let doc = include_str!("../docs/features.md");
        for f in super::FEATURES {
            assert!(
                doc.contains(&format!("| `{}` |", f.name)),
                "docs/features.md lacks `{}`",
                f.name
            );
        }
    }
}
