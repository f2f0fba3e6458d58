//! Rows to records. A row is a CSV record or an NDJSON object; both look the same here
//! ([`Row`]), so every value is held to one set of rules whichever format it came in,
//! and each defect is recorded against the row's customer.

use super::document::DocumentRoot;
use super::{CustomerIndex, Links};
use crate::dataset::*;
use crate::diag::{Defect, Severity};
use crate::money::{Currency, parse_amount};
use crate::values::*;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::sync::Arc;

/// An unknown column's name longer than this is ignored: it would be stored with the
/// value of every customer who has one.
pub(super) const MAX_EXTRA_NAME: usize = 128;

// The tables' column lists live in `dataset::columns`: the campaign checks a `columns:`
// mapping against them before anything is read.
pub(super) use crate::dataset::columns::*;

// ---------------------------------------------------------------------------------------
// Rows: CSV and NDJSON look the same to the decoders.

/// Why a cell cannot be read as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Bad {
    /// The bytes are not UTF-8.
    Utf8,
    /// What is wrong with an NDJSON value (a float as an id, a key twice).
    Json(String),
    /// What is wrong with a spreadsheet cell or a mapped value (a formula error, a text
    /// date not in the campaign's `date_format`).
    Cell(String),
}

impl Bad {
    pub(super) fn message(&self) -> String {
        match self {
            Bad::Utf8 => {
                "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8)".into()
            }
            Bad::Json(msg) | Bad::Cell(msg) => msg.clone(),
        }
    }
}

pub(super) type Cell<'r> = std::result::Result<Option<Cow<'r, str>>, Bad>;

/// An extra column of a row: its lower-case name and its value (or why it has none).
pub(super) type Extra<'r> = (Cow<'r, str>, std::result::Result<Cow<'r, str>, Bad>);

pub(super) trait Row {
    /// The trimmed value of known column `col`; `None` when the column is absent or the
    /// cell is empty.
    fn raw(&self, col: usize) -> Cell<'_>;
    fn name(&self, col: usize) -> &'static str;
    /// Unknown columns (lower-case name, value), for `customer.extra`; empty values are
    /// left out.
    fn extras(&self) -> Vec<Extra<'_>>;
}

/// Collects the defects of one row, attributing them to its customer.
pub(super) struct RowDefects<'a> {
    file: &'a Arc<str>,
    pub(super) line: u64,
    /// The row's customer id once known (a reused buffer: no allocation per row).
    owner: &'a mut String,
    /// The previous row's customer, to skip the index lookup.
    cache: &'a mut OwnerCache,
    out: &'a mut Vec<Defect>,
    /// What a row yields besides a record (orphan amounts, unidentified customers).
    pub(super) aside: &'a mut Vec<Aside>,
    comma_decimal: bool,
    /// Errors recorded for this row so far: a row with any is not turned into a record.
    errors: usize,
    /// Where this row's defects start in `out`.
    first: usize,
}

/// What the rows of one chunk share: their defects and asides, and reused buffers.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) defects: Vec<Defect>,
    pub(super) aside: Vec<Aside>,
    owner: String,
    cache: OwnerCache,
}

impl Scratch {
    /// The defect collector for the row at `line`.
    pub(super) fn row<'a>(
        &'a mut self,
        file: &'a Arc<str>,
        line: u64,
        comma_decimal: bool,
    ) -> RowDefects<'a> {
        self.owner.clear();
        RowDefects {
            first: self.defects.len(),
            file,
            line,
            owner: &mut self.owner,
            cache: &mut self.cache,
            out: &mut self.defects,
            aside: &mut self.aside,
            comma_decimal,
            errors: 0,
        }
    }
}

#[derive(Default)]
struct OwnerCache {
    id: String,
    index: Option<u32>,
    /// The invoice the previous payment row paid: the next row usually pays it again
    /// or the one after it.
    invoice: Option<u32>,
}

/// Records, defects and asides of a table or chunk, in file order.
pub(super) type Decoded<T> = (Vec<T>, Vec<Defect>, Vec<Aside>);

/// Rows that are not records but still count in the totals.
pub(super) enum Aside {
    /// A customers row without a usable id: a customer nobody can name, rejected as `FILE:LINE`.
    Unidentified(u64),
    /// An open invoice of a customer the customers file does not have.
    Orphan(Currency, Decimal),
}

impl RowDefects<'_> {
    pub(super) fn push(
        &mut self,
        column: Option<&'static str>,
        severity: Severity,
        message: String,
    ) {
        if severity == Severity::Error {
            self.errors += 1;
        }
        self.out.push(Defect {
            file: self.file.clone(),
            line: self.line,
            column,
            customer_id: (!self.owner.is_empty()).then(|| Box::from(self.owner.as_str())),
            message,
            severity,
        });
    }

    pub(super) fn error(&mut self, col: &'static str, message: String) {
        self.push(Some(col), Severity::Error, message);
    }

    /// Later defects of this row name `id`, and so do those already recorded for it
    /// (a wrong field count is found before the id is read).
    /// Only this row's: the nested records of an NDJSON customer share its line, and
    /// looking back over the line's defects was quadratic in them (issue 12, item 14).
    pub(super) fn set_customer(&mut self, id: &str) {
        self.owner.clear();
        self.owner.push_str(id);
        for d in &mut self.out[self.first..] {
            if d.customer_id.is_none() {
                d.customer_id = Some(Box::from(id));
            }
        }
    }

    pub(super) fn text<'r>(&mut self, row: &'r impl Row, col: usize) -> Option<Cow<'r, str>> {
        match row.raw(col) {
            Ok(v) => v,
            Err(bad) => {
                self.error(row.name(col), bad.message());
                None
            }
        }
    }

    /// The value of a column that decides neither the amount claimed nor who is
    /// contacted (`credit_limit`, an event's `note`): whatever is wrong with it is a
    /// warning and the value is dropped, the customer is not quarantined (issue 12,
    /// item 15 — an export that wrote every credit limit as `5e+05` quarantined 14 % of
    /// a real data set).
    fn lenient<T>(
        &mut self,
        row: &impl Row,
        col: usize,
        f: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        let msg = match row.raw(col) {
            Ok(None) => return None,
            Ok(Some(v)) => match f(&v) {
                Ok(x) => return Some(x),
                Err(msg) => msg,
            },
            Err(bad) => bad.message(),
        };
        self.push(
            Some(row.name(col)),
            Severity::Warning,
            format!("{msg}; the value is ignored"),
        );
        None
    }

    fn required<'r>(&mut self, row: &'r impl Row, col: usize, what: &str) -> Option<Cow<'r, str>> {
        let v = self.text(row, col);
        if v.is_none() && row.raw(col).is_ok() {
            self.error(row.name(col), format!("is empty (expected {what})"));
        }
        v
    }

    fn parse<T>(
        &mut self,
        row: &impl Row,
        col: usize,
        f: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        let v = self.text(row, col)?;
        self.apply(row, col, &v, f)
    }

    /// Parses a value already read (by `required`, which reads and checks the cell once
    /// instead of `required` and `parse` each decoding it).
    fn apply<T>(
        &mut self,
        row: &impl Row,
        col: usize,
        v: &str,
        f: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        match f(v) {
            Ok(x) => Some(x),
            Err(msg) => {
                self.error(row.name(col), msg);
                None
            }
        }
    }

    /// Checks a value already read with `check`; `false` (and an error) when it fails.
    fn check(
        &mut self,
        row: &impl Row,
        col: usize,
        value: Option<&str>,
        check: impl FnOnce(&str) -> std::result::Result<(), String>,
    ) -> bool {
        match value.map(check) {
            Some(Err(msg)) => {
                self.error(row.name(col), msg);
                false
            }
            _ => true,
        }
    }

    fn date(&mut self, row: &impl Row, col: usize, required: bool) -> Option<NaiveDate> {
        let v = if required {
            self.required(row, col, "a date such as 2026-03-31")?
        } else {
            self.text(row, col)?
        };
        self.apply(row, col, &v, plausible_date)
    }

    fn boolean(&mut self, row: &impl Row, col: usize) -> Option<bool> {
        self.parse(row, col, parse_bool)
    }
}

// ---------------------------------------------------------------------------------------

pub(super) fn id_field<'r>(
    rd: &mut RowDefects<'_>,
    row: &'r impl Row,
    col: usize,
    kind: IdKind,
    what: &str,
) -> Option<Cow<'r, str>> {
    let v = rd.required(row, col, what)?;
    match check_id(&v, kind) {
        Ok(()) => Some(v),
        Err(msg) => {
            rd.error(row.name(col), msg);
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Decoders: one row → one record, or defects.

pub(super) fn decode_customer(row: &impl Row, rd: &mut RowDefects<'_>) -> Option<Customer> {
    let Some(id) = id_field(rd, row, cc::ID, IdKind::Customer, "the customer's id") else {
        rd.aside.push(Aside::Unidentified(rd.line));
        return None;
    };
    rd.set_customer(&id);
    let comma = rd.comma_decimal;
    let name = rd.required(row, cc::NAME, "the customer's name");
    rd.check(row, cc::NAME, name.as_deref(), check_name);
    let country = rd.parse(row, cc::COUNTRY, check_country);
    let language = rd.parse(row, cc::LANGUAGE, check_language);
    let email = rd.text(row, cc::EMAIL);
    let email_fits = rd.check(row, cc::EMAIL, email.as_deref(), check_email_length);
    let email_ok = email
        .as_deref()
        .is_none_or(|e| email_fits && is_sendable_email(e));
    if let Some(e) = email.as_deref().filter(|_| email_fits && !email_ok) {
        rd.push(
            Some("email"),
            Severity::Warning,
            format!(
                "{} is not an e-mail address (expected name@domain); e-mail is excluded for this customer",
                quote(e)
            ),
        );
    }
    let raw_phone = rd.text(row, cc::PHONE);
    let phone_fits = rd.check(row, cc::PHONE, raw_phone.as_deref(), |p| {
        check_length(p, MAX_PHONE_CHARS)
    });
    let phone = match raw_phone.as_deref().map(normalise_phone) {
        Some(Ok(p)) => Some(Cow::Owned(p)),
        Some(Err(msg)) => {
            if phone_fits {
                rd.push(Some("phone"), Severity::Warning, msg);
            }
            raw_phone.clone()
        }
        None => None,
    };
    let address = |rd: &mut RowDefects<'_>, col, max| {
        let v = rd.text(row, col);
        rd.check(row, col, v.as_deref(), |t| check_length(t, max));
        v
    };
    let (a1, a2, postal, city, region) = (
        address(rd, cc::ADDRESS1, MAX_ADDRESS_CHARS),
        address(rd, cc::ADDRESS2, MAX_ADDRESS_CHARS),
        address(rd, cc::POSTAL, MAX_POSTAL_CODE_CHARS),
        address(rd, cc::CITY, MAX_ADDRESS_CHARS),
        address(rd, cc::REGION, MAX_ADDRESS_CHARS),
    );
    // Extra columns decide neither the amount nor the recipient: a broken value is a
    // warning and is dropped (issue 12, item 15).
    let mut extras = row.extras();
    extras.retain(|(column, value)| {
        let msg = match value {
            Ok(v) => match check_extra(v) {
                Ok(()) => return true,
                Err(msg) => msg,
            },
            Err(bad) => bad.message(),
        };
        rd.push(
            Some(intern(column)),
            Severity::Warning,
            format!("{msg}; the value is ignored"),
        );
        false
    });
    let mut c = Customer::with_text(
        [
            Some(&*id),
            name.as_deref(),
            email.as_deref(),
            phone.as_deref(),
            a1.as_deref(),
            a2.as_deref(),
            postal.as_deref(),
            city.as_deref(),
            region.as_deref(),
            country.as_deref(),
            language.as_deref(),
        ],
        extras
            .iter()
            .filter_map(|(k, v)| Some((&**k, &**v.as_ref().ok()?))),
    );
    c.kind = rd.parse(row, cc::KIND, CustomerKind::parse);
    c.size = rd.parse(row, cc::SIZE, CustomerSize::parse);
    c.timezone = rd.parse(row, cc::TIMEZONE, check_timezone);
    c.consent_email = rd.boolean(row, cc::CONSENT_EMAIL);
    c.consent_sms = rd.boolean(row, cc::CONSENT_SMS);
    c.consent_letter = rd.boolean(row, cc::CONSENT_LETTER);
    c.hold = rd.parse(row, cc::HOLD, Hold::parse);
    c.credit_limit = rd.lenient(row, cc::CREDIT_LIMIT, |t| parse_credit_limit(t, comma));
    c.invalid_email = !email_ok;
    c.invalid_phone = matches!(raw_phone.as_deref().map(normalise_phone), Some(Err(_)));
    c.line = rd.line;
    Some(c)
}

/// The `&'static str` a [`Defect`] names its column with, for a column known only from
/// the file (an extra column). Each distinct name is stored once per process.
fn intern(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = names.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(Box::from(name));
    names.insert(leaked);
    leaked
}

/// Finds the row's customer; an unknown one is reported (the row is an orphan).
fn owner(
    rd: &mut RowDefects<'_>,
    row: &impl Row,
    col: usize,
    index: &CustomerIndex,
) -> Option<u32> {
    // Exports list a customer's rows together: most rows name the previous row's customer,
    // and a string compare beats a lookup in a table of a million ids.
    if let Ok(Some(raw)) = row.raw(col) {
        if let Some(cached) = rd.cache.index.filter(|_| rd.cache.id == *raw) {
            rd.set_customer(&raw);
            return Some(cached);
        }
        // Files sorted like the customers file move on to the next customer: one
        // compare against a neighbour in memory instead of a hash lookup whose table and
        // keys miss the cache. A match is a known (so valid) id, as on the cached path.
        if let Some(next) = rd.cache.index.map(|k| k + 1)
            && index.is_at(next, &raw)
        {
            rd.set_customer(&raw);
            rd.cache.id.clear();
            rd.cache.id.push_str(&raw);
            rd.cache.index = Some(next);
            return Some(next);
        }
    }
    let id = id_field(
        rd,
        row,
        col,
        IdKind::Customer,
        "the id of a customer in the customers file",
    )?;
    rd.set_customer(&id);
    let found = index.get(&id);
    rd.cache.id.clear();
    rd.cache.id.push_str(&id);
    rd.cache.index = found;
    if found.is_none() {
        rd.error(
            row.name(col),
            format!("unknown customer `{id}` (expected a customer_id from the customers file)"),
        );
    }
    found
}

pub(super) fn decode_invoice(
    row: &impl Row,
    rd: &mut RowDefects<'_>,
    index: &CustomerIndex,
    documents: &DocumentRoot,
) -> Option<Invoice> {
    let customer = owner(rd, row, ic::CUSTOMER, index);
    let id = id_field(rd, row, ic::ID, IdKind::Record, "the invoice number");
    let issue = rd.date(row, ic::ISSUE, true);
    let due = rd.date(row, ic::DUE, true);
    let currency = rd
        .required(row, ic::CURRENCY, "an ISO 4217 code such as EUR")
        .and_then(|v| rd.apply(row, ic::CURRENCY, &v, Currency::parse));
    let comma = rd.comma_decimal;
    let amount = rd
        .required(row, ic::AMOUNT, "the invoice amount")
        .and_then(|v| rd.apply(row, ic::AMOUNT, &v, |t| parse_amount(t, currency, comma)));
    let paid = rd
        .parse(row, ic::PAID, |t| parse_amount(t, currency, comma))
        .unwrap_or_default();
    let status = rd
        .parse(row, ic::STATUS, InvoiceStatus::parse)
        .unwrap_or(InvoiceStatus::Open);
    let disputed = rd.boolean(row, ic::DISPUTED).unwrap_or(false);
    // An error, not a warning: a message that says "the invoice is attached" and is sent
    // without it, or a print run one copy short, is worse than no message.
    let document = rd.parse(row, ic::DOCUMENT, |t| documents.check(t));
    let terms = Terms {
        governing_law: rd.parse(row, ic::GOVERNING_LAW, check_law_code),
        interest_rate: rd.parse(row, ic::INTEREST_RATE, |t| check_rate(t, comma)),
        contract_date: rd.date(row, ic::CONTRACT_DATE, false),
    };
    let terms = (terms != Terms::default()).then(|| Box::new(terms));
    if let (Some(i), Some(d)) = (issue, due)
        && d < i
    {
        rd.error("due_date", format!("due date {d} is before the issue date {i} (expected due_date on or after issue_date)"));
    }
    if let Some(a) = amount
        && paid > a
    {
        rd.error(
            "amount_paid",
            format!("{paid} is more than the invoice amount {a} (expected at most the amount)"),
        );
    }
    match (customer, id, issue, due, amount, currency) {
        (
            Some(customer),
            Some(id),
            Some(issue_date),
            Some(due_date),
            Some(amount),
            Some(currency),
        ) if rd.errors == 0 => Some(Invoice {
            id: Box::from(id.as_ref()),
            customer,
            issue_date,
            due_date,
            amount,
            amount_paid: paid,
            currency,
            status,
            disputed,
            document,
            terms,
            reminded: None,
            line: rd.line,
        }),
        (None, _, _, _, Some(amount), Some(currency)) if status == InvoiceStatus::Open => {
            rd.aside
                .push(Aside::Orphan(currency, (amount - paid).max(Decimal::ZERO)));
            None
        }
        _ => None,
    }
}

pub(super) fn decode_payment(
    row: &impl Row,
    rd: &mut RowDefects<'_>,
    links: &Links,
) -> Option<Payment> {
    let (invoice_index, invoices, customers) =
        (links.invoice_index, links.invoices, links.customer_list);
    let customer = owner(rd, row, pc::CUSTOMER, links.customers);
    let id = id_field(rd, row, pc::ID, IdKind::Record, "the payment reference");
    let mut invoice = None;
    if let (Some(r), Some(payer)) = (rd.text(row, pc::INVOICE), customer) {
        // Payments are listed in invoice order: try the previous row's invoice and the
        // next one before hashing (ids are unique, so a match is the index's answer).
        let near = rd.cache.invoice.and_then(|k| {
            [k, k + 1]
                .into_iter()
                .find(|&k| invoices.get(k as usize).is_some_and(|i| *i.id == *r))
        });
        let found = near.or_else(|| invoice_index.get(&*r).copied());
        rd.cache.invoice = found;
        match found.map(|k| (k, invoices[k as usize].customer)) {
            Some((k, owner)) if owner == payer => invoice = Some(k),
            Some((_, owner)) => rd.error(
                "invoice_id",
                format!("invoice `{r}` belongs to customer `{}` (expected an invoice of `{}`)", customers[owner as usize].id(), customers[payer as usize].id()),
            ),
            None => rd.push(
                Some("invoice_id"),
                Severity::Warning,
                format!("unknown invoice `{r}`; the payment is counted on account (expected an invoice_id from the invoices file)"),
            ),
        }
    }
    let date = rd.date(row, pc::DATE, true);
    let comma = rd.comma_decimal;
    let amount = rd
        .required(row, pc::AMOUNT, "the amount paid")
        .and_then(|v| rd.apply(row, pc::AMOUNT, &v, |t| parse_amount(t, None, comma)));
    let method = rd
        .parse(row, pc::METHOD, PaymentMethod::parse)
        .unwrap_or(PaymentMethod::Other);
    let status = rd
        .parse(row, pc::STATUS, PaymentStatus::parse)
        .unwrap_or(PaymentStatus::Ok);
    match (customer, id, date, amount) {
        (Some(customer), Some(id), Some(date), Some(amount)) if rd.errors == 0 => Some(Payment {
            id: Box::from(id.as_ref()),
            customer,
            invoice,
            date,
            amount,
            method,
            status,
            line: rd.line,
        }),
        _ => None,
    }
}

pub(super) fn decode_event(
    row: &impl Row,
    rd: &mut RowDefects<'_>,
    index: &CustomerIndex,
) -> Option<Event> {
    let customer = owner(rd, row, ec::CUSTOMER, index);
    let date = rd.date(row, ec::DATE, true);
    let channel = rd
        .required(row, ec::CHANNEL, "email, sms, letter, call or web")
        .and_then(|v| rd.apply(row, ec::CHANNEL, &v, Channel::parse));
    let kind = rd
        .required(row, ec::KIND, "an event kind such as reminder_sent")
        .and_then(|v| rd.apply(row, ec::KIND, &v, EventKind::parse));
    let reference = rd.text(row, ec::REFERENCE).map(|v| Box::from(v.as_ref()));
    // A note is for people: it decides nothing, so a broken one is only a warning.
    let note = rd.lenient(row, ec::NOTE, |v| check_extra(v).map(|()| Box::from(v)));
    let promised = rd.date(row, ec::PROMISED_DATE, false);
    let comma = rd.comma_decimal;
    let promised_amount = rd.parse(row, ec::PROMISED_AMOUNT, |t| parse_amount(t, None, comma));
    match (customer, date, channel, kind) {
        (Some(customer), Some(date), Some(channel), Some(kind)) if rd.errors == 0 => Some(Event {
            customer,
            date,
            channel,
            kind,
            reference,
            note,
            promised,
            promised_amount,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::testing::*;

    /// Issue 12, item 15: a bad credit limit or extra value is a warning, the value is
    /// dropped and the customer stays.
    #[test]
    fn bad_credit_limits_and_extras_are_dropped_with_a_warning() {
        let v = load_csv(
            b"customer_id,name,credit_limit,account_manager,contract_no\nC1,Anna,abc,Jos\xe9,K-1\nC2,Ben,1E+03,\x1b[2J,\"K\xe2\x80\x8b2\"\n".as_slice(),
        );
        assert_eq!(ids(&v), ["C1", "C2"]);
        assert!(v.rejected.is_empty(), "{:?}", v.rejected);
        let (c1, c2) = (&v.dataset.customers[0], &v.dataset.customers[1]);
        assert_eq!(
            (c1.credit_limit, c2.credit_limit),
            (None, Some(Decimal::from(1000)))
        );
        assert_eq!(c1.extras().collect::<Vec<_>>(), [("contract_no", "K-1")]);
        assert_eq!(c2.extras().count(), 0);
        let w = defects(&v, Severity::Warning);
        assert!(w.contains(&(2, "credit_limit".into(), "`abc` is not a decimal amount (expected digits with an optional `.`, such as 1234.56); the value is ignored".into())), "{w:?}");
        assert!(w.contains(&(2, "account_manager".into(), "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8); the value is ignored".into())), "{w:?}");
        assert!(w.contains(&(3, "account_manager".into(), "`\\u{1b}[2J` contains U+001B, a control character (expected printable characters only); the value is ignored".into())), "{w:?}");
        assert!(w.contains(&(3, "contract_no".into(), "`K\\u{200b}2` contains U+200B, a zero-width character (expected printable characters only); the value is ignored".into())), "{w:?}");
    }

    /// Issue 12, items 12 and 14: lengths, bidi and zero-width characters quarantine.
    #[test]
    fn long_or_invisible_text_is_rejected() {
        let long_name = "N".repeat(201);
        let cjk_id = "顧客".repeat(50);
        let text = format!(
            "customer_id,name,postal_code,city\n\
             C1,{long_name},,\n\
             C2,Anna {rlo}kcaB,,\n\
             C3,Anna,{},\n\
             {cjk_id},Anna,,\n\
             C{zwsp}5,Anna,,\n\
             C6,{persian},00-001,{}\n",
            "1".repeat(21),
            "M".repeat(100),
            rlo = '\u{202e}',
            zwsp = '\u{200b}',
            persian = "\u{645}\u{6cc}\u{200c}\u{62e}",
        );
        let v = load_csv(text);
        assert_eq!(ids(&v), ["C6"]);
        let e = defects(&v, Severity::Error);
        assert_eq!(
            e[0],
            (
                2,
                "name".into(),
                "is 201 characters long (expected at most 200 characters)".into()
            )
        );
        assert_eq!(e[1], (3, "name".into(), "`Anna \\u{202e}kcaB` contains U+202E, a bidirectional control character (expected printable characters only)".into()));
        assert_eq!(
            e[2],
            (
                4,
                "postal_code".into(),
                "is 21 characters long (expected at most 20 characters)".into()
            )
        );
        assert_eq!(e[3].1, "customer_id");
        assert!(
            e[3].2
                .ends_with("is 300 bytes long (expected an id of at most 64 bytes in UTF-8)"),
            "{e:?}"
        );
        assert_eq!(e[4], (6, "customer_id".into(), "`C\\u{200b}5` contains U+200B, a zero-width character (expected printable characters only)".into()));
        assert_eq!(v.intake.customers, 6);
        assert_eq!(v.intake.rejected_customers, 5);
    }

    /// Issue 12, item 14: invoice and payment ids may hold `/`; customer ids may not.
    #[test]
    fn invoice_ids_may_hold_slashes() {
        let dir = tempfile::tempdir().unwrap();
        let spec = DataSpec::Tables {
            customers: write(
                &dir,
                "customers.csv",
                "customer_id,name\nC1,Anna\nC/2,Ben\n",
            )
            .into(),
            invoices: write(
                &dir,
                "invoices.csv",
                "invoice_id,customer_id,issue_date,due_date,amount,currency\nFV/2026/0042,C1,2026-01-01,2026-02-01,10.00,PLN\n",
            )
            .into(),
            payments: Some(
                write(
                    &dir,
                    "payments.csv",
                    "payment_id,customer_id,invoice_id,date,amount\nWB/2026/7,C1,FV/2026/0042,2026-01-15,5.00\n",
                )
                .into(),
            ),
            events: None,
        };
        let v = crate::validate::validate(load(&spec).unwrap());
        assert_eq!(ids(&v), ["C1"]);
        assert_eq!(&*v.dataset.invoices[0].id, "FV/2026/0042");
        assert_eq!(&*v.dataset.payments[0].id, "WB/2026/7");
        assert_eq!(v.dataset.payments[0].invoice, Some(0));
        assert_eq!(v.rejected.len(), 1);
        assert!(v.rejected[0].message.contains("contains `/`, `\\` or `..`"));
    }
}
