//! The receivables export as typed records: customers, invoices, payments, events.
//!
//! Records are compact (a million customers with their history must fit in well under
//! 2 GB) and refer to their customer by index, not by id string.

use crate::money::Currency;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::ops::Range;

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

        // In files (the manifest, summary.json) a value is its word, as in the input.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary!(CustomerKind { Person = "person", Company = "company" });

vocabulary!(
    /// A company debtor's size, where a law turns on it (China's regulation on paying
    /// small and medium-sized enterprises: large enterprises and public bodies owe
    /// interest to an SME creditor).
    CustomerSize {
        Sme = "sme",
        Large = "large",
        Public = "public",
    }
);

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

/// A word of a vocabulary the program has no label for (a stage the campaign names, a
/// code from a newer version) as people read it: `third_call` → `Third call`.
pub fn humanize(word: &str) -> String {
    let spaced = word.replace(['_', ':'], " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How the report and the gallery name things for the credit team (in English: the
/// report is theirs); files and the terminal keep the words.
impl Channel {
    /// `E-mail`, `SMS`, `Letter`, `Call`, `Payment page`.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "E-mail",
            Channel::Sms => "SMS",
            Channel::Letter => "Letter",
            Channel::Call => "Call",
            Channel::Web => "Payment page",
        }
    }

    /// The label inside a sentence: `no SMS consent`, `no e-mail consent`.
    pub fn noun(self) -> &'static str {
        match self {
            Channel::Email => "e-mail",
            Channel::Sms => "SMS",
            Channel::Letter => "letter",
            Channel::Call => "call",
            Channel::Web => "payment page",
        }
    }

    /// What a customer is reached at on this channel.
    pub fn contact(self) -> &'static str {
        match self {
            Channel::Email => "e-mail address",
            Channel::Sms => "mobile number",
            Channel::Call => "phone number",
            Channel::Letter => "postal address",
            Channel::Web => "payment page",
        }
    }
}

impl Hold {
    /// The hold as the credit team reads it: `bankruptcy`, `do not contact`.
    pub fn label(self) -> &'static str {
        match self {
            Hold::Dispute => "dispute",
            Hold::Hardship => "hardship",
            Hold::Bankruptcy => "bankruptcy",
            Hold::Deceased => "deceased",
            Hold::Legal => "legal proceedings",
            Hold::DoNotContact => "do not contact",
        }
    }
}

pub type Text = Option<Box<str>>;

/// The text fields of a customer, in storage order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Id,
    Name,
    Email,
    Phone,
    AddressLine1,
    AddressLine2,
    PostalCode,
    City,
    Region,
    /// ISO 3166-1 alpha-2, upper case.
    Country,
    /// BCP 47 tag as written (`pl`, `zh-Hant`, `en-GB`).
    Language,
}

const FIELDS: usize = 11;

#[derive(Clone, Debug, Default)]
pub struct Customer {
    /// Every text field, then the extra columns as name/value pairs, in one allocation:
    /// a million customers with a dozen separate strings each cost 300 MB more.
    text: Box<str>,
    /// End offset of each field in `text` (empty field = absent).
    ends: Box<[u32]>,
    pub kind: Option<CustomerKind>,
    pub size: Option<CustomerSize>,
    /// The campaign date of the last statement of account the history store knows
    /// delivered to the customer: a new one lists the payments since.
    pub last_statement: Option<NaiveDate>,
    pub timezone: Option<chrono_tz::Tz>,
    pub consent_email: Option<bool>,
    pub consent_sms: Option<bool>,
    pub consent_letter: Option<bool>,
    pub hold: Option<Hold>,
    pub credit_limit: Option<Decimal>,
    /// The e-mail was present but malformed: only the email channel is excluded.
    pub invalid_email: bool,
    pub invalid_phone: bool,
    /// Where the row is, for messages.
    pub line: u64,
}

impl Customer {
    /// A customer with these text fields (`Field` order) and extra columns.
    pub fn with_text<'a>(
        fields: [Option<&'a str>; FIELDS],
        extras: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Customer {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(FIELDS + 4);
        for f in fields {
            text.push_str(f.unwrap_or(""));
            ends.push(text.len() as u32);
        }
        for (k, v) in extras {
            text.push_str(k);
            ends.push(text.len() as u32);
            text.push_str(v);
            ends.push(text.len() as u32);
        }
        Customer {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
            ..Customer::default()
        }
    }

    /// A customer with only an id and a name (tests, personas).
    pub fn named(id: &str, name: &str) -> Customer {
        let mut fields = [None; FIELDS];
        fields[Field::Id as usize] = Some(id);
        fields[Field::Name as usize] = Some(name);
        Customer::with_text(fields, [])
    }

    fn slot(&self, i: usize) -> &str {
        if i >= self.ends.len() {
            return "";
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// The field's value; `None` when it was empty or absent in the export.
    pub fn get(&self, f: Field) -> Option<&str> {
        Some(self.slot(f as usize)).filter(|s| !s.is_empty())
    }

    pub fn id(&self) -> &str {
        self.slot(Field::Id as usize)
    }

    pub fn name(&self) -> &str {
        self.slot(Field::Name as usize)
    }

    pub fn email(&self) -> Option<&str> {
        self.get(Field::Email)
    }

    pub fn phone(&self) -> Option<&str> {
        self.get(Field::Phone)
    }

    pub fn language(&self) -> Option<&str> {
        self.get(Field::Language)
    }

    /// Columns dunwell does not know, reachable from templates as `customer.extra.NAME`.
    pub fn extras(&self) -> impl Iterator<Item = (&str, &str)> {
        (FIELDS..self.ends.len())
            .step_by(2)
            .map(|i| (self.slot(i), self.slot(i + 1)))
    }
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
    /// The original invoice (a PDF, an e-invoice, a scan): the file the export's
    /// `document` column names, joined to the invoices file's folder and checked to be
    /// readable when it was loaded. Boxed: most invoices have none, and a million
    /// customers' invoices must fit in memory.
    pub document: Option<Box<std::path::Path>>,
    /// What the contract says about late payment, when the export has it. Boxed for
    /// the same reason as `document`.
    pub terms: Option<Box<Terms>>,
    /// The first day the history store knows a reminder about it was delivered (none
    /// without a store): a demand letter's term runs from it.
    pub reminded: Option<NaiveDate>,
    pub line: u64,
}

/// An invoice's own late-payment terms: the export's `governing_law`, `interest_rate`
/// and `contract_date` columns (docs/money.md).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Terms {
    /// The contract's governing law, upper case (`DE`, `EU`): under `interest: {law:
    /// auto}` it displaces the creditor's country.
    pub governing_law: Option<Box<str>>,
    /// An agreed late-payment rate, percent a year, where the law lets it displace
    /// the statutory one.
    pub interest_rate: Option<Decimal>,
    /// When the contract was made (China's floor is the LPR of that day).
    pub contract_date: Option<NaiveDate>,
}

impl Invoice {
    /// Whether a document is a PDF (by its extension, in any case): a PDF is attached as
    /// `application/pdf` and bound into print.pdf after the letter; anything else (an
    /// XML e-invoice, a scan) only rides with the e-mail.
    pub fn is_pdf(path: &std::path::Path) -> bool {
        path.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
    }

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
    /// The invoice paid, as a position in the invoice list (load: as read; after
    /// `validate`: in the grouped dataset). `None`: paid on account.
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
    /// For `promise_to_pay`: the day the customer promised to pay by (events.csv's
    /// optional `promised_date`).
    pub promised: Option<NaiveDate>,
    /// For `promise_to_pay`: the amount promised (`promised_amount`), in the customer's
    /// main currency; none promises whatever was open.
    pub promised_amount: Option<Decimal>,
}

/// Which files a dataset was read from, as shown in messages.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub customers: std::sync::Arc<str>,
    pub invoices: std::sync::Arc<str>,
    pub payments: Option<std::sync::Arc<str>>,
    pub events: Option<std::sync::Arc<str>>,
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

    /// Adds events (each naming its customer by index) after each customer's own, in
    /// the order given; the per-customer ranges are rebuilt. Returns how many were added.
    pub fn add_events(&mut self, mut extra: Vec<Event>) -> usize {
        if extra.is_empty() {
            return 0;
        }
        extra.sort_by_key(|e| e.customer); // stable: the given order within a customer
        let added = extra.len();
        let old = std::mem::take(&mut self.events);
        let mut events = Vec::with_capacity(old.len() + added);
        let mut extra = extra.into_iter().peekable();
        for (i, r) in self.records.iter_mut().enumerate() {
            let start = events.len() as u32;
            events.extend_from_slice(&old[r.events.start as usize..r.events.end as usize]);
            while let Some(e) = extra.next_if(|e| e.customer as usize == i) {
                events.push(e);
            }
            r.events = start..events.len() as u32;
        }
        self.events = events;
        added
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }
}

/// The columns of each table, as dunwell names them: what a CSV header, an NDJSON key or
/// a campaign's `columns:` mapping must say. Kept here, below the campaign, so that a
/// mapping naming an unknown column is a campaign error with a caret.
pub mod columns {
    /// Column positions in each table's list of known columns; decoders use these names.
    macro_rules! columns {
        ($list:ident, $module:ident { $($c:ident = $name:literal),+ $(,)? }) => {
            pub const $list: &[&str] = &[$($name),+];
            #[allow(dead_code)]
            pub mod $module {
                columns!(@idx 0usize, $($c),+);
            }
        };
        (@idx $n:expr, $c:ident $(, $rest:ident)*) => {
            pub const $c: usize = $n;
            columns!(@idx $n + 1usize $(, $rest)*);
        };
        (@idx $n:expr) => {};
    }

    columns!(CUSTOMER_COLS, cc {
        ID = "customer_id", NAME = "name", KIND = "kind", EMAIL = "email", PHONE = "phone",
        ADDRESS1 = "address_line1", ADDRESS2 = "address_line2", POSTAL = "postal_code", CITY = "city",
        REGION = "region", COUNTRY = "country", LANGUAGE = "language", TIMEZONE = "timezone",
        CONSENT_EMAIL = "consent_email", CONSENT_SMS = "consent_sms", CONSENT_LETTER = "consent_letter",
        HOLD = "hold", CREDIT_LIMIT = "credit_limit", SIZE = "size",
    });
    pub const CUSTOMER_REQUIRED: &[usize] = &[cc::ID, cc::NAME];

    columns!(INVOICE_COLS, ic {
        ID = "invoice_id", CUSTOMER = "customer_id", ISSUE = "issue_date", DUE = "due_date", AMOUNT = "amount",
        CURRENCY = "currency", PAID = "amount_paid", STATUS = "status", DISPUTED = "disputed",
        DOCUMENT = "document", GOVERNING_LAW = "governing_law", INTEREST_RATE = "interest_rate",
        CONTRACT_DATE = "contract_date",
    });
    pub const INVOICE_REQUIRED: &[usize] = &[
        ic::ID,
        ic::CUSTOMER,
        ic::ISSUE,
        ic::DUE,
        ic::AMOUNT,
        ic::CURRENCY,
    ];

    columns!(PAYMENT_COLS, pc {
        ID = "payment_id", CUSTOMER = "customer_id", INVOICE = "invoice_id", DATE = "date", AMOUNT = "amount",
        METHOD = "method", STATUS = "status",
    });
    pub const PAYMENT_REQUIRED: &[usize] = &[pc::ID, pc::CUSTOMER, pc::DATE, pc::AMOUNT];

    columns!(EVENT_COLS, ec {
        CUSTOMER = "customer_id", DATE = "date", CHANNEL = "channel", KIND = "kind", REFERENCE = "reference", NOTE = "note",
        PROMISED_DATE = "promised_date", PROMISED_AMOUNT = "promised_amount",
    });
    pub const EVENT_REQUIRED: &[usize] = &[ec::CUSTOMER, ec::DATE, ec::CHANNEL, ec::KIND];

    /// Which table of an export: each has its own columns and required ones.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Table {
        Customers,
        Invoices,
        Payments,
        Events,
    }

    impl Table {
        pub const ALL: [Table; 4] = [
            Table::Customers,
            Table::Invoices,
            Table::Payments,
            Table::Events,
        ];

        /// The table's key under `data:`.
        pub fn key(self) -> &'static str {
            match self {
                Table::Customers => "customers",
                Table::Invoices => "invoices",
                Table::Payments => "payments",
                Table::Events => "events",
            }
        }

        pub fn columns(self) -> &'static [&'static str] {
            match self {
                Table::Customers => CUSTOMER_COLS,
                Table::Invoices => INVOICE_COLS,
                Table::Payments => PAYMENT_COLS,
                Table::Events => EVENT_COLS,
            }
        }

        pub fn required(self) -> &'static [usize] {
            match self {
                Table::Customers => CUSTOMER_REQUIRED,
                Table::Invoices => INVOICE_REQUIRED,
                Table::Payments => PAYMENT_REQUIRED,
                Table::Events => EVENT_REQUIRED,
            }
        }
    }

    /// What a column holds, for reading a spreadsheet cell into the text the decoders
    /// check: a number in an id column lost digits past 15, a number in a date column is
    /// a serial day.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        Id,
        Date,
        Amount,
        Text,
    }

    pub fn kind(column: &str) -> Kind {
        match column {
            "customer_id" | "invoice_id" | "payment_id" => Kind::Id,
            "issue_date" | "due_date" | "date" | "promised_date" | "contract_date" => Kind::Date,
            "amount" | "amount_paid" | "credit_limit" | "promised_amount" | "interest_rate" => {
                Kind::Amount
            }
            _ => Kind::Text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_text_fields_round_trip() {
        let mut f = [None; FIELDS];
        f[Field::Id as usize] = Some("C1");
        f[Field::Name as usize] = Some("Łucja Żak");
        f[Field::Language as usize] = Some("pl");
        let c = Customer::with_text(f, [("account_manager", "Anna"), ("tier", "")]);
        assert_eq!(
            (c.id(), c.name(), c.language()),
            ("C1", "Łucja Żak", Some("pl"))
        );
        assert_eq!(c.email(), None);
        assert_eq!(
            c.extras().collect::<Vec<_>>(),
            [("account_manager", "Anna"), ("tier", "")]
        );
    }

    #[test]
    fn added_events_land_after_their_customers_own_and_ranges_follow() {
        let ev = |customer: u32, day: u32| Event {
            customer,
            date: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            channel: Channel::Email,
            kind: EventKind::ReminderSent,
            reference: None,
            note: None,
            promised: None,
            promised_amount: None,
        };
        let customer = || Customer::with_text([None; FIELDS], std::iter::empty());
        let mut d = Dataset {
            customers: vec![customer(), customer(), customer()],
            events: vec![ev(0, 1), ev(2, 2), ev(2, 3)],
            records: vec![
                Records {
                    events: 0..1,
                    ..Records::default()
                },
                Records {
                    events: 1..1,
                    ..Records::default()
                },
                Records {
                    events: 1..3,
                    ..Records::default()
                },
            ],
            ..Dataset::default()
        };
        assert_eq!(d.add_events(vec![ev(2, 9), ev(1, 8), ev(2, 10)]), 3);
        let days = |i: usize| {
            d.view(i)
                .events
                .iter()
                .map(|e| e.date.day())
                .collect::<Vec<_>>()
        };
        use chrono::Datelike;
        assert_eq!(
            (days(0), days(1), days(2)),
            (vec![1], vec![8], vec![2, 3, 9, 10])
        );
        assert!(d.view(1).events.iter().all(|e| e.customer == 1));
    }

    #[test]
    fn vocabulary_is_case_insensitive_and_helpful() {
        assert_eq!(Hold::parse("Do_Not_Contact").unwrap(), Hold::DoNotContact);
        let err = EventKind::parse("promise_to_pai").unwrap_err();
        assert!(err.contains("did you mean `promise_to_pay`"), "{err}");
        assert!(err.contains("expected one of: reminder_sent"), "{err}");
    }
}
