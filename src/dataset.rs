//! The receivables export as typed records: customers, invoices, payments, events.
//!
//! Records are compact (a million customers with their history must fit in well under
//! 2 GB) and refer to their customer by index, not by id string.

use crate::money::Currency;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::ops::Range;
use std::sync::Arc;

/// Defines a closed set of values read from a column, with its accepted spellings.
macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Case-insensitive; the error names the accepted values.
            pub fn parse(text: &str) -> Result<Self, String> {
                let t = text.trim();
                $(if t.eq_ignore_ascii_case($text) { return Ok($name::$variant); })+
                let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                let hint = crate::diag::did_you_mean(t, known.iter().copied())
                    .map(|s| format!(" — did you mean `{s}`?"))
                    .unwrap_or_default();
                Err(format!("`{t}` is not allowed (expected one of: {}){hint}", known.join(", ")))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary!(CustomerKind { Person = "person", Company = "company" });

vocabulary!(
    /// Why a customer must not be dunned at all right now.
    Hold {
        Dispute = "dispute",
        Hardship = "hardship",
        Bankruptcy = "bankruptcy",
        Deceased = "deceased",
        Legal = "legal",
        DoNotContact = "do_not_contact",
    }
);

vocabulary!(InvoiceStatus { Open = "open", Paid = "paid", Cancelled = "cancelled" });

vocabulary!(PaymentMethod {
    Card = "card",
    Transfer = "transfer",
    DirectDebit = "direct_debit",
    Wallet = "wallet",
    Cash = "cash",
    Cheque = "cheque",
    Other = "other",
});

vocabulary!(PaymentStatus { Ok = "ok", Bounced = "bounced", Reversed = "reversed" });

vocabulary!(Channel { Email = "email", Sms = "sms", Letter = "letter", Call = "call", Web = "web" });

vocabulary!(EventKind {
    ReminderSent = "reminder_sent",
    Opened = "opened",
    Clicked = "clicked",
    Replied = "replied",
    PromiseToPay = "promise_to_pay",
    PromiseBroken = "promise_broken",
    PlanAgreed = "plan_agreed",
    PlanBroken = "plan_broken",
    Bounced = "bounced",
    Complaint = "complaint",
    OptedOut = "opted_out",
});

pub type Text = Option<Box<str>>;

#[derive(Clone, Debug, Default)]
pub struct Customer {
    pub id: Box<str>,
    pub name: Box<str>,
    pub kind: Option<CustomerKind>,
    pub email: Text,
    pub phone: Text,
    pub address_line1: Text,
    pub address_line2: Text,
    pub postal_code: Text,
    pub city: Text,
    pub region: Text,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Text,
    /// BCP 47 tag as written (`pl`, `zh-Hant`, `en-GB`).
    pub language: Text,
    pub timezone: Option<chrono_tz::Tz>,
    pub consent_email: Option<bool>,
    pub consent_sms: Option<bool>,
    pub consent_letter: Option<bool>,
    pub hold: Option<Hold>,
    pub credit_limit: Option<Decimal>,
    /// Columns dunwell does not know, reachable from templates as `customer.extra.NAME`.
    pub extra: Vec<(Arc<str>, Box<str>)>,
    /// The e-mail was present but malformed: only the email channel is excluded.
    pub invalid_email: bool,
    pub invalid_phone: bool,
    /// Where the row is, for messages.
    pub line: u64,
}

#[derive(Clone, Debug)]
pub struct Invoice {
    pub id: Box<str>,
    pub customer: u32,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub amount: Decimal,
    pub amount_paid: Decimal,
    pub currency: Currency,
    pub status: InvoiceStatus,
    pub disputed: bool,
    pub line: u64,
}

impl Invoice {
    /// What is still owed on it (zero for paid and cancelled invoices).
    pub fn open_amount(&self) -> Decimal {
        match self.status {
            InvoiceStatus::Open => (self.amount - self.amount_paid).max(Decimal::ZERO),
            _ => Decimal::ZERO,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Payment {
    pub id: Box<str>,
    pub customer: u32,
    /// The invoice id as written; resolved to `invoice` by `validate`.
    pub invoice_ref: Text,
    pub invoice: Option<u32>,
    pub date: NaiveDate,
    pub amount: Decimal,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub line: u64,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub customer: u32,
    pub date: NaiveDate,
    pub channel: Channel,
    pub kind: EventKind,
    pub reference: Text,
    pub note: Text,
}

/// Which files a dataset was read from, as shown in messages.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub customers: Arc<str>,
    pub invoices: Arc<str>,
    pub payments: Option<Arc<str>>,
    pub events: Option<Arc<str>>,
}

/// The validated dataset: only customers fit to be processed, each with the ranges of
/// its own records (records are grouped by customer, in input order within a customer).
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub customers: Vec<Customer>,
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub events: Vec<Event>,
    pub records: Vec<Records>,
    pub sources: Sources,
}

#[derive(Clone, Debug, Default)]
pub struct Records {
    pub invoices: Range<u32>,
    pub payments: Range<u32>,
    pub events: Range<u32>,
}

/// One customer with its records, as the later stages see it.
#[derive(Clone, Copy, Debug)]
pub struct CustomerView<'a> {
    pub customer: &'a Customer,
    pub invoices: &'a [Invoice],
    pub payments: &'a [Payment],
    pub events: &'a [Event],
    /// Offset of `invoices[0]` in the dataset, to map `Payment::invoice` into the slice.
    pub invoice_base: u32,
}

impl Dataset {
    pub fn view(&self, i: usize) -> CustomerView<'_> {
        let r = &self.records[i];
        let range = |r: &Range<u32>| r.start as usize..r.end as usize;
        CustomerView {
            customer: &self.customers[i],
            invoices: &self.invoices[range(&r.invoices)],
            payments: &self.payments[range(&r.payments)],
            events: &self.events[range(&r.events)],
            invoice_base: r.invoices.start,
        }
    }

    pub fn len(&self) -> usize {
        self.customers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_case_insensitive_and_helpful() {
        assert_eq!(Hold::parse("Do_Not_Contact").unwrap(), Hold::DoNotContact);
        let err = EventKind::parse("promise_to_pai").unwrap_err();
        assert!(err.contains("did you mean `promise_to_pay`"), "{err}");
        assert!(err.contains("expected one of: reminder_sent"), "{err}");
    }
}
