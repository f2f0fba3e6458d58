//! Payments received after the export: read from the files the operator hands to
//! `send --payments` and `outbox cutoff --payments` (a `payments.csv`, an ISO 20022
//! camt.053 statement or camt.054 notification, a SWIFT MT940 statement), and matched
//! to the customers an outbox claims money from — so that nobody who has paid since the
//! export gets a reminder for it.
//!
//! A stage of its own, below the outbox and `send`, because both use it: `send` cancels
//! e-mails and SMS right before they go out, `outbox cutoff` takes letters out of
//! print.pdf and withdraws payment pages. It knows claims only as [`Claim`]s (customer,
//! name, currency, amount), not the manifest, so it sits right after `payment`, whose
//! creditor reference it matches on.
//!
//! Matching (docs/payments.md): a payment naming its customer (`customer_id` in
//! payments.csv) or quoting a customer's RF creditor reference goes to that customer;
//! one without either is matched by amount (exactly a claim's amount, in its currency)
//! *and* name, and only when exactly one claim fits. Everything else is listed as
//! unmatched with the reason — never guessed, never dropped.

mod camt;
mod csv;
mod mt940;

use crate::dataset::vocabulary;
use crate::diag::{Error, Result};
use crate::money::Currency;
use crate::payment::reference::{Reference, creditor_reference_valid};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// One payment received: a credit on the creditor's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `FILE:LINE` of the payment (a camt `TxDtls` or `Ntry`, an MT940 `:61:`, a CSV row).
    pub source: String,
    /// When the money was booked (camt `BookgDt`, else `ValDt`; MT940 the entry date,
    /// else the value date; the CSV's `date`).
    pub date: NaiveDate,
    pub amount: Decimal,
    /// `None`: a payments.csv without a `currency` column (the README's export has
    /// none); the claim's currency is then taken — see [`match_payments`].
    pub currency: Option<Currency>,
    /// An RF creditor reference (validated, spaces removed, upper case) the payer
    /// quoted, or the `reference` cell of a CSV row as written.
    pub reference: Option<String>,
    /// The payer's name as the bank has it.
    pub name: Option<String>,
    /// The customer, when the file names one (payments.csv's `customer_id`).
    pub customer: Option<String>,
    /// The invoice paid, when the file names one (payments.csv's `invoice_id`).
    pub invoice: Option<String>,
}

/// Reads every file, in order. Each file's format is told by its content (docs/payments.md);
/// every problem of every file is listed, each as `FILE:LINE: what is wrong (what was
/// expected)`, and none of the payments is returned when there is one.
pub fn read(paths: &[PathBuf]) -> Result<Vec<Received>> {
    let mut out = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        let latin1: String;
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t),
            // MT940 is ASCII by the standard, but banks write names with their umlauts
            // in Latin-1: such a statement is read as Latin-1.
            Err(_) if Format::of_bytes(&bytes) == Format::Mt940 => {
                latin1 = bytes.iter().map(|&b| char::from(b)).collect();
                &latin1
            }
            Err(e) => {
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                problems.push(format!(
                    "{name}:{line}: not UTF-8 text (expected a payments.csv, a camt.053/camt.054 XML file or an MT940 statement in UTF-8)"
                ));
                continue;
            }
        };
        let r = match Format::of(text) {
            Format::Camt => camt::read(&name, text),
            Format::Mt940 => mt940::read(&name, text),
            Format::Csv => csv::read(&name, text),
        };
        match r {
            Ok(mut p) => out.append(&mut p),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::Input(problems.join("\n")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Camt,
    Mt940,
    Csv,
}

impl Format {
    /// XML is a camt file (the reader then checks its root); `:20:` and `:61:` tags at
    /// line starts are MT940; anything else is read as payments.csv.
    fn of(text: &str) -> Format {
        Format::of_bytes(text.as_bytes())
    }

    fn of_bytes(bytes: &[u8]) -> Format {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.trim_ascii_start().starts_with(b"<") {
            return Format::Camt;
        }
        let tag = |t: &[u8]| {
            bytes
                .split(|&b| b == b'\n')
                .any(|l| l.trim_ascii_start().starts_with(t))
        };
        if tag(b":20:") && tag(b":61:") {
            Format::Mt940
        } else {
            Format::Csv
        }
    }
}

/// The line (from 1) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..offset.min(text.len())]).count() + 1
}

/// An amount as a bank writes it (`.` or, in MT940, `,` as the decimal mark), which must
/// be more than zero.
fn positive_amount(text: &str, comma: bool) -> std::result::Result<Decimal, String> {
    let t = text.trim();
    let t = if comma {
        t.replace(',', ".")
    } else {
        t.to_string()
    };
    let t = t.strip_suffix('.').unwrap_or(&t);
    let ok = !t.is_empty()
        && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && t.bytes().filter(|&b| b == b'.').count() <= 1
        && t.bytes().any(|b| b.is_ascii_digit());
    let v: Option<Decimal> = if ok { t.parse().ok() } else { None };
    match v {
        Some(v) if v > Decimal::ZERO && v <= crate::money::MAX_AMOUNT => Ok(v),
        Some(_) => Err(format!(
            "amount `{text}` is not a payment (expected more than zero and at most {})",
            crate::money::MAX_AMOUNT
        )),
        None => Err(format!(
            "`{text}` is not an amount (expected digits with a decimal {}, such as {})",
            if comma { "comma" } else { "point" },
            if comma { "120,50" } else { "120.50" }
        )),
    }
}

/// An amount with at least its currency's minor units (`250,` in MT940 is 250.00).
fn in_units(mut amount: Decimal, currency: Currency) -> Decimal {
    if amount.scale() < currency.minor_units() {
        amount.rescale(currency.minor_units());
    }
    amount
}

/// The first valid RF creditor reference in free text (ISO 11649: `RF`, two check
/// digits, up to 21 letters and digits, printed compact or in groups of four:
/// `RF18 5390 0754 7034`), upper case and without spaces.
pub fn find_reference(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    let b = upper.as_bytes();
    let mut i = 0;
    while i + 4 <= b.len() {
        let starts = &b[i..i + 2] == b"RF"
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_alphabetic());
        if !starts {
            i += 1;
            continue;
        }
        // The run of letters and digits from here, then (when it is the 4-character
        // head of a grouped reference) the following groups of at most four.
        let run = |from: usize| {
            b[from..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count()
        };
        let first = run(i);
        let mut candidates = vec![upper[i..i + first].to_string()];
        if first == 4 {
            let mut at = i + first;
            let mut joined = candidates[0].clone();
            while at < b.len() && b[at] == b' ' {
                let len = run(at + 1);
                if len == 0 || len > 4 || joined.len() + len > 25 {
                    break;
                }
                joined.push_str(&upper[at + 1..at + 1 + len]);
                candidates.push(joined.clone());
                at += 1 + len;
                if len < 4 {
                    break;
                }
            }
        }
        if let Some(found) = candidates
            .into_iter()
            .rev()
            .find(|c| c.len() <= 25 && creditor_reference_valid(c))
        {
            return Some(found);
        }
        i += 1;
    }
    None
}

/// A name for comparing: lower case, accents and separators gone (`Zofia Kozłowska` and
/// `KOZLOWSKA ZOFIA` are the same words).
fn name_words(name: &str) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    let mut folded = String::with_capacity(name.len());
    for c in name.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        // Letters that do not decompose into a base letter and an accent.
        match c {
            'ł' | 'Ł' => folded.push('l'),
            'ø' | 'Ø' => folded.push('o'),
            'đ' | 'Đ' => folded.push('d'),
            'ß' => folded.push_str("ss"),
            'æ' | 'Æ' => folded.push_str("ae"),
            'œ' | 'Œ' => folded.push_str("oe"),
            'ı' => folded.push('i'),
            c if c.is_alphanumeric() => folded.extend(c.to_lowercase()),
            _ => folded.push(' '),
        }
    }
    let mut words: Vec<String> = folded.split_whitespace().map(str::to_string).collect();
    words.sort();
    words
}

/// Whether the payer's name is the customer's: the same words (in any order, accents
/// and case aside), or all words of one among the other's — with at least two words,
/// so that a first name alone never matches.
pub fn same_name(payer: &str, customer: &str) -> bool {
    let (a, b) = (name_words(payer), name_words(customer));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let (small, big) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if small.len() < 2 {
        return false;
    }
    let mut rest = big.clone();
    small
        .iter()
        .all(|w| match rest.iter().position(|x| x == w) {
            Some(k) => {
                rest.remove(k);
                true
            }
            None => false,
        })
}

vocabulary!(
    /// Why a message is not sent (or a letter not printed) after all: its customer paid
    /// since the export — everything claimed in that currency, or a part of it (the
    /// next run claims what is still open).
    Cancel {
        Paid = "paid",
        PartPaid = "part_paid",
    }
);

impl Cancel {
    /// The word of a cancelled message's state where it leaves the program (the send
    /// journal's state, cutoff.csv, summary.json): `cancelled:paid`, `cancelled:part_paid`.
    pub fn word(self) -> &'static str {
        match self {
            Cancel::Paid => "cancelled:paid",
            Cancel::PartPaid => "cancelled:part_paid",
        }
    }
}

/// What an outbox claims from one customer in one currency (every message of the
/// customer in that currency claims the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub customer: String,
    /// The customer's name (from the manifest; outboxes written before it was there
    /// have none, and their payments without a reference stay unmatched).
    pub name: Option<String>,
    pub currency: String,
    pub amount: Decimal,
    /// The invoices the messages claim (a payments.csv row naming one finds its currency).
    pub invoices: Vec<String>,
}

/// How a payment found its customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// payments.csv named the customer.
    Customer,
    /// The payer quoted the customer's RF creditor reference.
    Reference,
    /// Exactly one claim has the amount and the payer's name.
    AmountAndName,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Customer => "customer_id",
            How::Reference => "reference",
            How::AmountAndName => "amount_and_name",
        }
    }
}

/// What the payments received since the export paid of one claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paid {
    pub amount: Decimal,
    /// The payments, as `FILE:LINE`.
    pub sources: Vec<String>,
    /// The payments, as (date, amount), in the order matched.
    pub payments: Vec<(NaiveDate, Decimal)>,
}

/// A payment that found no claim, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    pub payment: Received,
    pub why: String,
}

/// The payments matched to an outbox's claims.
#[derive(Debug, Default)]
pub struct Matching {
    /// (customer, currency) → what was paid since the export.
    pub paid: BTreeMap<(String, String), Paid>,
    pub unmatched: Vec<Unmatched>,
    /// Payments dated on or before the export's `as_of` (the export has them).
    pub before_export: usize,
    /// Payments matched to a claim.
    pub matched: usize,
    /// How each matched payment was matched, by `How::as_str`.
    pub by_how: BTreeMap<&'static str, usize>,
    /// The claims, by (customer, currency).
    claims: BTreeMap<(String, String), Claim>,
}

impl Matching {
    /// Whether the customer's messages in `currency` are cancelled, and why: everything
    /// claimed paid, or a part of it.
    pub fn verdict(&self, customer: &str, currency: &str) -> Option<(Cancel, &Paid, &Claim)> {
        let key = (customer.to_string(), currency.to_string());
        let paid = self.paid.get(&key)?;
        let claim = self.claims.get(&key)?;
        if paid.amount <= Decimal::ZERO {
            return None;
        }
        let why = if paid.amount >= claim.amount {
            Cancel::Paid
        } else {
            Cancel::PartPaid
        };
        Some((why, paid, claim))
    }

    /// Customers and currencies whose messages are cancelled, in customer order.
    pub fn verdicts(&self) -> impl Iterator<Item = (&str, &str, Cancel, &Paid, &Claim)> {
        self.paid.keys().filter_map(|(customer, currency)| {
            self.verdict(customer, currency)
                .map(|(why, paid, claim)| (customer.as_str(), currency.as_str(), why, paid, claim))
        })
    }

    /// What a cancelled message says of its payments (the journal's reply, cutoff.csv).
    pub fn describe(why: Cancel, paid: &Paid, claim: &Claim) -> String {
        format!(
            "{}: {} {} received since the export, {} {} claimed ({})",
            why,
            paid.amount,
            claim.currency,
            claim.amount,
            claim.currency,
            paid.sources.join(", ")
        )
    }
}

/// A payer's name as two files may spell it: its words folded as [`same_name`] folds
/// them, sorted (`KOZLOWSKA ZOFIA` and `Zofia Kozłowska` are one name).
fn name_key(name: &str) -> String {
    let mut words = name_words(name);
    words.sort();
    words.join(" ")
}

/// Matches payments to claims. Only payments dated after `as_of` count — the export
/// already has the earlier ones. `claims` may repeat a (customer, currency): the largest
/// amount is the claim.
pub fn match_payments(
    payments: &[Received],
    claims: impl IntoIterator<Item = Claim>,
    as_of: NaiveDate,
) -> Matching {
    let mut m = Matching::default();
    for c in claims {
        let key = (c.customer.clone(), c.currency.clone());
        match m.claims.get_mut(&key) {
            Some(have) => {
                if c.amount > have.amount {
                    have.amount = c.amount;
                }
                if have.name.is_none() {
                    have.name = c.name;
                }
                for i in c.invoices {
                    if !have.invoices.contains(&i) {
                        have.invoices.push(i);
                    }
                }
            }
            None => {
                m.claims.insert(key, c);
            }
        }
    }
    // The RF reference each claimed customer's letters and pages carry.
    let mut by_reference: HashMap<String, &str> = HashMap::new();
    let mut currencies: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut invoice_currency: HashMap<(&str, &str), &str> = HashMap::new();
    for (customer, currency) in m.claims.keys() {
        if let Reference::Creditor(r) = Reference::for_customer(customer) {
            by_reference.insert(r, customer);
        }
        currencies.entry(customer).or_default().push(currency);
    }
    for c in m.claims.values() {
        for i in &c.invoices {
            invoice_currency.insert((c.customer.as_str(), i.as_str()), c.currency.as_str());
        }
    }
    let mut found: Vec<(String, String, &Received, How)> = Vec::new();
    let mut unmatched = Vec::new();
    // The same booking in two files (the day's camt.054 notification and its camt.053
    // statement, a statement and the portal's export) is one payment: counted once,
    // the copy listed. Within one file two equal lines are two payments.
    let mut seen: HashMap<(NaiveDate, Decimal, String, String, String), &str> = HashMap::new();
    for p in payments {
        if p.date <= as_of {
            m.before_export += 1;
            continue;
        }
        let file = p
            .source
            .rsplit_once(':')
            .map_or(p.source.as_str(), |(f, _)| f);
        let key = (
            p.date,
            p.amount.normalize(),
            p.currency.map(|c| c.code().to_string()).unwrap_or_default(),
            p.reference.clone().unwrap_or_default(),
            name_key(p.name.as_deref().unwrap_or("")),
        );
        match seen.get(&key) {
            Some(first) if first.rsplit_once(':').map_or(*first, |(f, _)| f) != file => {
                let shown = Path::new(first)
                    .file_name()
                    .map_or(first.to_string(), |n| n.to_string_lossy().into_owned());
                unmatched.push(Unmatched {
                    payment: p.clone(),
                    why: format!("the same payment as {shown} (counted once)"),
                });
                continue;
            }
            _ => {
                seen.insert(key, &p.source);
            }
        }
        let fail = |why: String| Unmatched {
            payment: p.clone(),
            why,
        };
        // 1. The customer named by the file, or by the RF reference the payer quoted.
        let named = p
            .customer
            .as_deref()
            .map(|c| (c.to_string(), How::Customer))
            .or_else(|| {
                let r = p.reference.as_deref()?;
                let r: String = r
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_uppercase();
                by_reference
                    .get(&r)
                    .map(|c| (c.to_string(), How::Reference))
            });
        if let Some((customer, how)) = named {
            let Some(theirs) = currencies.get(customer.as_str()) else {
                unmatched.push(fail(format!(
                    "customer `{customer}` has no message in this outbox"
                )));
                continue;
            };
            let currency = match (p.currency, &p.invoice) {
                (Some(c), _) => Some(c.code().to_string()),
                (None, Some(inv)) => invoice_currency
                    .get(&(customer.as_str(), inv.as_str()))
                    .map(|c| c.to_string())
                    .or_else(|| (theirs.len() == 1).then(|| theirs[0].to_string())),
                (None, None) => (theirs.len() == 1).then(|| theirs[0].to_string()),
            };
            let Some(currency) = currency else {
                unmatched.push(fail(format!(
                    "the payment has no currency and customer `{customer}` is claimed in {}",
                    theirs.join(" and ")
                )));
                continue;
            };
            if !theirs.contains(&currency.as_str()) {
                unmatched.push(fail(format!(
                    "paid in {currency}; customer `{customer}` is claimed in {}",
                    theirs.join(", ")
                )));
                continue;
            }
            // A payment for an invoice the messages do not claim (one not yet due, say)
            // does not pay what they claim.
            if let Some(inv) = &p.invoice
                && !invoice_currency.contains_key(&(customer.as_str(), inv.as_str()))
            {
                unmatched.push(fail(format!(
                    "paid invoice `{inv}`, which the messages to `{customer}` do not claim"
                )));
                continue;
            }
            found.push((customer, currency, p, how));
            continue;
        }
        // 2. No customer and no known reference: the amount and the name, one claim only.
        let Some(currency) = p.currency else {
            unmatched.push(fail(
                "no customer, no reference of this outbox and no currency".into(),
            ));
            continue;
        };
        let Some(payer) = p.name.as_deref() else {
            unmatched.push(fail(match &p.reference {
                Some(r) => format!(
                    "the reference `{r}` names no customer of this outbox, and the payer has no name to match"
                ),
                None => "no reference and no payer's name to match".into(),
            }));
            continue;
        };
        let fits: Vec<&Claim> = m
            .claims
            .values()
            .filter(|c| {
                c.currency == currency.code()
                    && c.amount == p.amount
                    && c.name.as_deref().is_some_and(|n| same_name(payer, n))
            })
            .collect();
        match fits.as_slice() {
            [one] => found.push((
                one.customer.clone(),
                one.currency.clone(),
                p,
                How::AmountAndName,
            )),
            [] => unmatched.push(fail(format!(
                "no claim of {} {currency} from a customer named like `{payer}`",
                p.amount
            ))),
            many => unmatched.push(fail(format!(
                "{} claims of {} {currency} from customers named like `{payer}` ({}): not guessed",
                many.len(),
                p.amount,
                many.iter()
                    .map(|c| c.customer.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
    for (customer, currency, p, how) in found {
        let e = m.paid.entry((customer, currency)).or_default();
        e.amount += p.amount;
        e.sources.push(p.source.clone());
        e.payments.push((p.date, p.amount));
        m.matched += 1;
        *m.by_how.entry(how.as_str()).or_default() += 1;
    }
    m.unmatched = unmatched;
    m
}

/// The file in the outbox listing the payments that found no claim.
pub const UNMATCHED: &str = "payments-unmatched.csv";

/// `payments-unmatched.csv`: every payment received since the export that found no
/// claim, with the reason — for a person to book by hand.
pub fn write_unmatched(path: &Path, unmatched: &[Unmatched]) -> Result<()> {
    let err = |e: ::csv::Error| Error::io(path, std::io::Error::other(e));
    let mut w = ::csv::Writer::from_path(path).map_err(err)?;
    w.write_record([
        "source",
        "date",
        "amount",
        "currency",
        "reference",
        "name",
        "customer_id",
        "why",
    ])
    .map_err(err)?;
    for u in unmatched {
        let p = &u.payment;
        let cell =
            |s: &Option<String>| crate::escape::safe_cell(s.as_deref().unwrap_or("")).into_owned();
        w.write_record([
            crate::escape::safe_cell(&p.source).into_owned(),
            p.date.to_string(),
            p.amount.to_string(),
            p.currency.map(|c| c.code().to_string()).unwrap_or_default(),
            cell(&p.reference),
            cell(&p.name),
            cell(&p.customer),
            crate::escape::safe_cell(&u.why).into_owned(),
        ])
        .map_err(err)?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rf(customer: &str) -> String {
        Reference::for_customer(customer).as_str().to_string()
    }

    fn payment(amount: &str, reference: Option<&str>, name: Option<&str>) -> Received {
        Received {
            source: "bank.xml:10".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            amount: amount.parse().unwrap(),
            currency: Some(Currency::parse("EUR").unwrap()),
            reference: reference.map(str::to_string),
            name: name.map(str::to_string),
            customer: None,
            invoice: None,
        }
    }

    fn claim(customer: &str, name: &str, amount: &str) -> Claim {
        Claim {
            customer: customer.into(),
            name: Some(name.into()),
            currency: "EUR".into(),
            amount: amount.parse().unwrap(),
            invoices: vec![format!("INV-{customer}")],
        }
    }

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/payments")
            .join(name)
    }

    /// (line, amount, currency, reference, name, date) of a payment read.
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    );

    /// Each payment read, as a [`Row`].
    fn summary(got: &[Received]) -> Vec<Row> {
        got.iter()
            .map(|p| {
                (
                    p.source.rsplit(':').next().unwrap().to_string(),
                    p.amount.to_string(),
                    p.currency.map(|c| c.code().to_string()).unwrap_or_default(),
                    p.reference.clone(),
                    p.name.clone(),
                    p.date.to_string(),
                )
            })
            .collect()
    }

    fn row(
        line: &str,
        amount: &str,
        currency: &str,
        reference: Option<&str>,
        name: &str,
        date: &str,
    ) -> Row {
        (
            line.into(),
            amount.into(),
            currency.into(),
            reference.map(str::to_string),
            (!name.is_empty()).then(|| name.to_string()),
            date.into(),
        )
    }

    #[test]
    fn a_camt053_statement_gives_its_booked_credits_with_references_and_names() {
        let got = read(&[fixture("camt053.xml")]).unwrap();
        assert!(
            got[0]
                .source
                .ends_with("tests/fixtures/payments/camt053.xml:49"),
            "{}",
            got[0].source
        );
        assert_eq!(
            summary(&got),
            vec![
                // Structured reference.
                row(
                    "49",
                    "489.72",
                    "EUR",
                    Some("RF75C0000041"),
                    "Zofia Kozłowska",
                    "2026-11-25"
                ),
                // Unstructured only, typed in groups of four, lower case.
                row(
                    "81",
                    "100.00",
                    "EUR",
                    Some("RF23C0000007"),
                    "MARTINS KRUMINA",
                    "2026-11-25"
                ),
                // No reference.
                row("98", "72.04", "EUR", None, "WILLIAMS EMILY", "2026-11-25"),
                // The debit (a fee) and the pending entry are not there; a batch gives
                // each of its transfers.
                row(
                    "127",
                    "50.00",
                    "EUR",
                    Some("RF82C0000012"),
                    "Ioana Popescu",
                    "2026-11-25"
                ),
                row(
                    "134",
                    "29.24",
                    "EUR",
                    None,
                    "Giulia Rossi & Figli S.r.l.",
                    "2026-11-25"
                ),
            ]
        );
    }

    #[test]
    fn a_camt054_notification_reads_the_newer_debtor_and_amount_elements() {
        let got = read(&[fixture("camt054.xml")]).unwrap();
        assert_eq!(
            summary(&got),
            vec![row(
                "20",
                "215.30",
                "EUR",
                Some("RF42C0000150"),
                "Zhang Wei",
                "2026-11-27"
            )]
        );
    }

    #[test]
    fn an_mt940_statement_gives_credits_and_nets_reversed_credits() {
        let got = read(&[fixture("statement.mt940")]).unwrap();
        assert_eq!(
            summary(&got),
            vec![
                // :86: over three lines, the reference cut by a line end.
                row(
                    "5",
                    "489.72",
                    "EUR",
                    Some("RF75C0000041"),
                    "ZOFIA KOZLOWSKA",
                    "2026-11-25"
                ),
                // Slash-structured :86:, the name over two lines.
                row(
                    "9",
                    "100.00",
                    "EUR",
                    Some("RF23C0000007"),
                    "MARTINS KRUMINA",
                    "2026-11-25"
                ),
                // The debit (D) is not here; no reference.
                row("14", "72.04", "EUR", None, "WILLIAMS EMILY", "2026-11-26"),
                // RC (a credit reversed) nets the credit it names; RD (our own debit
                // coming back) is not a customer paying.
                row(
                    "16",
                    "-100.00",
                    "EUR",
                    Some("RF23C0000007"),
                    "",
                    "2026-11-27"
                ),
                // A second statement in USD, without an entry date.
                row(
                    "26",
                    "250.00",
                    "USD",
                    Some("RF42C0000150"),
                    "ZHANG WEI",
                    "2026-11-26"
                ),
            ]
        );
    }

    #[test]
    fn an_mt940_in_latin1_is_read_and_other_files_must_be_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let mt = dir.path().join("latin1.sta");
        let mut bytes =
            b":20:S\n:60F:C261124EUR0,00\n:61:261125C5,00NTRF\n:86:?20RF18539007547034?32M"
                .to_vec();
        bytes.extend_from_slice(b"\xDCLLER HANS\n");
        std::fs::write(&mt, &bytes).unwrap();
        let got = read(&[mt]).unwrap();
        assert_eq!(got[0].name.as_deref(), Some("MÜLLER HANS"));
        let csv = dir.path().join("p.csv");
        std::fs::write(
            &csv,
            b"payment_id,customer_id,date,amount\nP1,M\xDC,2026-11-25,1\n",
        )
        .unwrap();
        match read(&[csv]) {
            Err(Error::Input(m)) => assert!(m.ends_with("p.csv:2: not UTF-8 text (expected a payments.csv, a camt.053/camt.054 XML file or an MT940 statement in UTF-8)"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statements_are_matched_by_reference_then_amount_and_name_and_the_rest_listed() {
        let paths = [fixture("camt053.xml"), fixture("statement.mt940")];
        let got = read(&paths).unwrap();
        let eur = |customer: &str, name: &str, amount: &str| Claim {
            currency: "EUR".into(),
            ..claim(customer, name, amount)
        };
        let claims = vec![
            eur("C0000041", "Zofia Kozłowska", "489.72"),
            eur("C0000007", "Mārtiņš Krūmiņa", "250.00"),
            eur("C0000001", "Emily Williams", "72.04"),
            eur("C0000012", "Ioana Popescu", "50.00"),
            eur("C0000150", "Zhang Wei", "215.30"),
        ];
        let m = match_payments(&got, claims, as_of());
        let verdicts: Vec<(String, Cancel, String)> = m
            .verdicts()
            .map(|(c, _, why, paid, _)| (c.to_string(), why, paid.amount.to_string()))
            .collect();
        assert_eq!(
            verdicts,
            vec![
                // Two payments: the statement's of 25 November and the MT940's of the 26th.
                ("C0000001".into(), Cancel::Paid, "144.08".into()),
                // C0000007: the 100 of the statement is the MT940's 100 of the same day
                // (counted once), and the MT940 reverses it (RC): nothing paid.
                ("C0000012".into(), Cancel::Paid, "50.00".into()),
                // The same booking in both files: counted once.
                ("C0000041".into(), Cancel::Paid, "489.72".into()),
            ]
        );
        let why: Vec<(&str, &str)> = m
            .unmatched
            .iter()
            .map(|u| (u.payment.source.rsplit('/').next().unwrap(), u.why.as_str()))
            .collect();
        assert_eq!(
            why,
            vec![
                (
                    "camt053.xml:134",
                    "no claim of 29.24 EUR from a customer named like `Giulia Rossi & Figli S.r.l.`"
                ),
                (
                    "statement.mt940:5",
                    "the same payment as camt053.xml:49 (counted once)"
                ),
                (
                    "statement.mt940:9",
                    "the same payment as camt053.xml:81 (counted once)"
                ),
                (
                    "statement.mt940:26",
                    "paid in USD; customer `C0000150` is claimed in EUR"
                ),
            ]
        );
        assert_eq!(m.by_how.get("reference"), Some(&4));
        assert_eq!(m.by_how.get("amount_and_name"), Some(&2));
    }

    #[test]
    fn references_are_found_compact_grouped_and_glued_to_subfield_codes() {
        assert_eq!(
            find_reference("Invoice RF18539007547034 thanks").as_deref(),
            Some("RF18539007547034")
        );
        assert_eq!(
            find_reference("rf18 5390 0754 7034 THANKS").as_deref(),
            Some("RF18539007547034")
        );
        assert_eq!(
            find_reference("?20RF18539007547034?21").as_deref(),
            Some("RF18539007547034")
        );
        assert_eq!(
            find_reference("/REMI/RF18539007547034/EREF/x").as_deref(),
            Some("RF18539007547034")
        );
        // Wrong check digits, or letters glued in front: no reference.
        assert_eq!(find_reference("RF19539007547034"), None);
        assert_eq!(find_reference("SURF18539007547034"), None);
        assert_eq!(find_reference("no reference"), None);
    }

    #[test]
    fn names_match_in_any_order_without_accents_never_on_one_word() {
        assert!(same_name("KOZLOWSKA ZOFIA", "Zofia Kozłowska"));
        assert!(same_name("Mārtiņš Krūmiņa", "MARTINS KRUMINA"));
        assert!(same_name(
            "Zofia Kozlowska and Jan Kozlowski",
            "Zofia Kozłowska"
        ));
        assert!(same_name("ACME", "Acme"));
        assert!(!same_name("Zofia", "Zofia Kozłowska"));
        assert!(!same_name("Jan Nowak", "Zofia Kozłowska"));
        assert!(!same_name("", "Zofia Kozłowska"));
    }

    #[test]
    fn a_reference_decides_then_amount_and_name_then_nothing_is_guessed() {
        let claims = vec![
            claim("C1", "Zofia Kozłowska", "120.50"),
            claim("C2", "Jan Nowak", "80.00"),
            claim("C3", "Anna Nowak", "80.00"),
            claim("C4", "Anna Nowak", "55.00"),
        ];
        let mut early = payment("120.50", Some(&rf("C1")), None);
        early.date = as_of();
        let payments = vec![
            payment("100.00", Some(&rf("C1")), Some("someone else")),
            payment("20.50", Some(&rf("C1")), None),
            payment("80.00", None, Some("NOWAK JAN")),
            // Two Anna Nowaks, one with 55.00 claimed: the amount decides.
            payment("55.00", None, Some("Anna Nowak")),
            // Nobody claims 81.00 from Jan Nowak.
            payment("81.00", None, Some("Jan Nowak")),
            // No name, no reference.
            payment("80.00", None, None),
            early,
        ];
        let m = match_payments(&payments, claims.clone(), as_of());
        assert_eq!(m.before_export, 1);
        assert_eq!(m.matched, 4);
        assert_eq!(m.unmatched.len(), 2, "{:?}", m.unmatched);
        let (why, paid, _) = m.verdict("C1", "EUR").unwrap();
        assert_eq!(
            (why, paid.amount),
            (Cancel::Paid, "120.50".parse().unwrap())
        );
        assert_eq!(m.verdict("C2", "EUR").unwrap().0, Cancel::Paid);
        assert_eq!(m.verdict("C4", "EUR").unwrap().0, Cancel::Paid);
        assert!(m.verdict("C3", "EUR").is_none());
        // Two customers with the same name and amount: listed, not guessed.
        let m = match_payments(
            &[payment("80.00", None, Some("Nowak"))],
            vec![
                claim("C2", "Anna Nowak", "80.00"),
                claim("C3", "Anna Nowak", "80.00"),
            ],
            as_of(),
        );
        assert_eq!(m.matched, 0);
        let m = match_payments(
            &[payment("80.00", None, Some("Anna Nowak"))],
            vec![
                claim("C2", "Anna Nowak", "80.00"),
                claim("C3", "Anna Nowak", "80.00"),
            ],
            as_of(),
        );
        assert!(m.unmatched[0].why.contains("2 claims"), "{:?}", m.unmatched);
    }

    #[test]
    fn part_of_a_claim_holds_the_messages_and_currencies_are_kept_apart() {
        let claims = vec![claim("C1", "Zofia Kozłowska", "120.50")];
        let m = match_payments(
            &[payment("20.00", Some(&rf("C1")), None)],
            claims.clone(),
            as_of(),
        );
        assert_eq!(m.verdict("C1", "EUR").unwrap().0, Cancel::PartPaid);
        let mut pln = payment("120.50", Some(&rf("C1")), None);
        pln.currency = Some(Currency::parse("PLN").unwrap());
        let m = match_payments(&[pln], claims.clone(), as_of());
        assert!(m.verdict("C1", "EUR").is_none());
        assert!(
            m.unmatched[0].why.contains("paid in PLN"),
            "{:?}",
            m.unmatched
        );
        // payments.csv without a currency: the customer's one claim.
        let mut csv = payment("120.50", None, None);
        csv.currency = None;
        csv.customer = Some("C1".into());
        let m = match_payments(&[csv], claims, as_of());
        assert_eq!(m.verdict("C1", "EUR").unwrap().0, Cancel::Paid);
    }
}
