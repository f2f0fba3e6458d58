//! `dunwell gen`: realistic receivables exports of any size, for samples, tests and
//! benchmarks.
//!
//! Each customer is drawn from a locale (names, addresses, phones, currency, time zone)
//! and a hidden behaviour — forgetful, chronic late, unable, unwilling, new, or paying on
//! time — that shapes their invoices, payments and contact history, so that the default
//! rules find every cluster in roughly the proportions credit teams report. The same seed
//! gives the same files, byte for byte (ChaCha8 is stable across platforms and versions).

use crate::diag::{Error, Result};
use chrono::{Duration, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct GenOptions {
    pub customers: usize,
    pub seed: u64,
    pub as_of: NaiveDate,
    pub out: PathBuf,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GenStats {
    pub customers: usize,
    pub invoices: usize,
    pub payments: usize,
    pub events: usize,
}

/// A locale's tables: names, streets, cities, companies, phone numbers. They live in
/// `locales/LANG.json`, data rather than code, so that a locale is added or corrected
/// without touching the generator; the strings are borrowed from the embedded files.
#[derive(serde::Deserialize)]
struct Locale<'a> {
    lang: &'a str,
    country: &'a str,
    tz: &'a str,
    currency: &'a str,
    /// Units of this currency per euro, roughly: amounts look native.
    per_eur: u32,
    minor: bool,
    /// (written name, romanised for the e-mail address, `f` or `m`)
    #[serde(borrow)]
    first: Vec<(&'a str, &'a str, Gender)>,
    #[serde(borrow)]
    last: Vec<Surname<'a>>,
    #[serde(borrow)]
    address: AddressShape<'a>,
    /// Streets of any city that has none of its own.
    #[serde(borrow, default)]
    streets: Vec<&'a str>,
    #[serde(borrow)]
    cities: Vec<City<'a>>,
    #[serde(borrow)]
    company: Vec<&'a str>,
    #[serde(borrow)]
    phone: Phone<'a>,
    tld: &'a str,
    /// Family name first, as the locale writes it.
    family_first: bool,
}

#[derive(serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
enum Gender {
    #[serde(rename = "f")]
    Female,
    #[serde(rename = "m")]
    Male,
}

/// A family name, written and romanised: `[masculine, romanised]`, and where the
/// language inflects it by gender (Polish -ski/-ska, Latvian -š/-a, -s/-e) the feminine
/// form after it: `[Kowalski, kowalski, Kowalska, kowalska]`.
#[derive(serde::Deserialize)]
struct Surname<'a> {
    m: &'a str,
    m_romanised: &'a str,
    #[serde(default)]
    f: Option<&'a str>,
    #[serde(default)]
    f_romanised: Option<&'a str>,
}

impl<'a> Surname<'a> {
    /// The form that agrees with a first name of this gender: (written, romanised).
    fn of(&self, g: Gender) -> (&'a str, &'a str) {
        match (g, self.f, self.f_romanised) {
            (Gender::Female, Some(f), Some(r)) => (f, r),
            _ => (self.m, self.m_romanised),
        }
    }
}

/// How the locale writes a street line, with the house number where its post puts it:
/// `{street}` the street, `{n}` a house number, `{f}` a flat, `{d}` a digit 1–9, `{s}`
/// 1–30, `{L}` a letter A–D, `{building}` one of `buildings`.
#[derive(serde::Deserialize)]
struct AddressShape<'a> {
    line1: &'a str,
    /// The lines of an address with a flat: line 1, and line 2 if the flat has its own.
    #[serde(borrow)]
    flat: Vec<&'a str>,
    #[serde(borrow, default)]
    buildings: Vec<&'a str>,
}

/// A city with its region as the post writes it and its postcodes: `#` a digit, `@` a
/// letter of a UK inward code (Royal Mail never uses C, I, K, M, O or V there).
#[derive(serde::Deserialize)]
struct City<'a> {
    city: &'a str,
    postcode: &'a str,
    region: &'a str,
    /// Streets of this city (Japanese and Chinese street names belong to their
    /// district); else the locale's.
    #[serde(borrow, default)]
    streets: Vec<&'a str>,
}

/// A mobile number: `prefix`, one of `choices` (when there are any), `digits` random
/// digits.
#[derive(serde::Deserialize)]
struct Phone<'a> {
    prefix: &'a str,
    #[serde(borrow)]
    choices: Vec<&'a str>,
    digits: usize,
}

impl Locale<'_> {
    fn phone(&self, rng: &mut ChaCha8Rng) -> String {
        let p = &self.phone;
        let choice = if p.choices.is_empty() {
            ""
        } else {
            p.choices[rng.random_range(0..p.choices.len())]
        };
        format!("{}{choice}{}", p.prefix, digits(rng, p.digits))
    }
}

fn digits(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// The locales customers are drawn from, in the order the draw indexes them (changing it
/// changes every generated file).
const LOCALE_FILES: [(&str, &str); 7] = [
    ("en", include_str!("locales/en.json")),
    ("it", include_str!("locales/it.json")),
    ("pl", include_str!("locales/pl.json")),
    ("ro", include_str!("locales/ro.json")),
    ("lv", include_str!("locales/lv.json")),
    ("ja", include_str!("locales/ja.json")),
    ("zh", include_str!("locales/zh.json")),
];

/// The locale tables, parsed once.
fn locales() -> &'static [Locale<'static>] {
    static LOCALES: std::sync::OnceLock<Vec<Locale<'static>>> = std::sync::OnceLock::new();
    LOCALES.get_or_init(|| {
        LOCALE_FILES
            .iter()
            .map(|(lang, text)| {
                serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("src/generate/locales/{lang}.json: {e}"))
            })
            .collect()
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Forgetful,
    ChronicLate,
    Unable,
    Unwilling,
    New,
    OnTime,
}

fn pick_behaviour(rng: &mut ChaCha8Rng) -> Behaviour {
    match rng.random_range(0..100) {
        0..30 => Behaviour::Forgetful,
        30..55 => Behaviour::ChronicLate,
        55..70 => Behaviour::Unable,
        70..82 => Behaviour::Unwilling,
        82..92 => Behaviour::New,
        _ => Behaviour::OnTime,
    }
}

/// Writes `customers.csv`, `invoices.csv`, `payments.csv` and `events.csv` into `out`.
pub fn generate(opts: &GenOptions) -> Result<GenStats> {
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let open = |name: &str| -> Result<(PathBuf, csv::Writer<std::io::BufWriter<std::fs::File>>)> {
        let p = opts.out.join(name);
        let f = std::fs::File::create(&p).map_err(|e| Error::io(&p, e))?;
        Ok((
            p,
            csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, f)),
        ))
    };
    let (cp, mut cw) = open("customers.csv")?;
    let (ip, mut iw) = open("invoices.csv")?;
    let (pp, mut pw) = open("payments.csv")?;
    let (ep, mut ew) = open("events.csv")?;
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(opts.seed),
        as_of: opts.as_of,
        stats: GenStats::default(),
        inv: vec![],
        pay: vec![],
        ev: vec![],
    };
    let w = |p: &Path, r: std::result::Result<(), csv::Error>| {
        r.map_err(|e| Error::io(p, std::io::Error::other(e)))
    };
    w(&cp, cw.write_record(CUSTOMER_HEADER))?;
    w(
        &ip,
        iw.write_record([
            "invoice_id",
            "customer_id",
            "issue_date",
            "due_date",
            "amount",
            "currency",
            "amount_paid",
            "status",
            "disputed",
        ]),
    )?;
    w(
        &pp,
        pw.write_record([
            "payment_id",
            "customer_id",
            "invoice_id",
            "date",
            "amount",
            "method",
            "status",
        ]),
    )?;
    w(
        &ep,
        ew.write_record([
            "customer_id",
            "date",
            "channel",
            "kind",
            "reference",
            "note",
        ]),
    )?;
    for n in 0..opts.customers {
        let row = g.customer(n);
        w(&cp, cw.write_record(&row))?;
        for r in g.inv.drain(..) {
            w(&ip, iw.write_record(&r))?;
        }
        for r in g.pay.drain(..) {
            w(&pp, pw.write_record(&r))?;
        }
        for r in g.ev.drain(..) {
            w(&ep, ew.write_record(&r))?;
        }
    }
    for (p, mut wr) in [(cp, cw), (ip, iw), (pp, pw), (ep, ew)] {
        wr.flush().map_err(|e| Error::io(&p, e))?;
        wr.into_inner()
            .map_err(|e| Error::io(&p, std::io::Error::other(e.to_string())))?
            .flush()
            .map_err(|e| Error::io(&p, e))?;
    }
    g.stats.customers = opts.customers;
    Ok(g.stats)
}

const CUSTOMER_HEADER: [&str; 20] = [
    "customer_id",
    "name",
    "kind",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "country",
    "language",
    "timezone",
    "consent_email",
    "consent_sms",
    "consent_letter",
    "hold",
    "credit_limit",
    "account_manager",
    "contract_no",
];

/// The letters Royal Mail uses in the inward code's last two places.
const UK_INWARD_LETTERS: [char; 20] = [
    'A', 'B', 'D', 'E', 'F', 'G', 'H', 'J', 'L', 'N', 'P', 'Q', 'R', 'S', 'T', 'U', 'W', 'X', 'Y',
    'Z',
];

struct Gen {
    rng: ChaCha8Rng,
    as_of: NaiveDate,
    stats: GenStats,
    inv: Vec<[String; 9]>,
    pay: Vec<[String; 7]>,
    ev: Vec<[String; 6]>,
}

impl Gen {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.random_range(0..100) < percent
    }

    fn customer(&mut self, n: usize) -> Vec<String> {
        let locales = locales();
        let loc = &locales[self.rng.random_range(0..locales.len())];
        let id = format!("C{:07}", n + 1);
        let (first, first_r, gender) = self.pick(&loc.first);
        let surname = &loc.last[self.rng.random_range(0..loc.last.len())];
        let company = self.chance(20);
        // A company is named after the family (the name's dictionary form); a person's
        // family name agrees with their first name.
        let (last, last_r) = surname.of(if company { Gender::Male } else { gender });
        let name = if company {
            self.pick(&loc.company).replace("{}", last)
        } else if loc.family_first {
            format!("{last}{}{first}", if loc.lang == "ja" { " " } else { "" })
        } else {
            format!("{first} {last}")
        };
        // Numbered by the customer: two customers of one name are two addresses.
        let email = if company {
            format!("accounts@{last_r}-{n}.example.{}", loc.tld)
        } else {
            format!("{first_r}.{last_r}{n}@example.{}", loc.tld)
        };
        let city = &loc.cities[self.rng.random_range(0..loc.cities.len())];
        let streets = if city.streets.is_empty() {
            &loc.streets
        } else {
            &city.streets
        };
        let street = self.pick(streets);
        let (line1, line2) = if self.chance(15) {
            let line2 = loc.address.flat.get(1).copied().unwrap_or("");
            (
                self.fill(loc.address.flat[0], street, loc),
                self.fill(line2, street, loc),
            )
        } else {
            (self.fill(loc.address.line1, street, loc), String::new())
        };
        let postal_code = self.postcode(city.postcode);
        let hold = if self.chance(2) {
            self.pick(&[
                "dispute",
                "hardship",
                "bankruptcy",
                "deceased",
                "legal",
                "do_not_contact",
            ])
        } else {
            ""
        };
        let behaviour = pick_behaviour(&mut self.rng);
        let scale = if company { 20 } else { 1 };
        self.history(&id, loc, behaviour, scale);
        let credit_limit = if company {
            format!("{}", 5000 * loc.per_eur * self.rng.random_range(1..20))
        } else {
            String::new()
        };
        let phone = loc.phone(&mut self.rng);
        vec![
            id,
            name,
            if company { "company" } else { "person" }.into(),
            email,
            phone,
            line1,
            line2,
            postal_code,
            city.city.into(),
            city.region.into(),
            loc.country.into(),
            loc.lang.into(),
            loc.tz.into(),
            self.chance(95).to_string(),
            self.chance(80).to_string(),
            "true".into(),
            hold.into(),
            credit_limit,
            self.pick(&[
                "Anna K.",
                "Marco B.",
                "Piotr W.",
                "Ioana P.",
                "Jānis B.",
                "佐藤",
                "王芳",
            ])
            .into(),
            format!("K-{}", 10_000 + n),
        ]
    }

    /// A street line from the locale's shape (see [`AddressShape`]).
    fn fill(&mut self, shape: &str, street: &str, loc: &Locale) -> String {
        let mut out = String::new();
        let mut rest = shape;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = open + rest[open..].find('}').expect("a closed placeholder");
            match &rest[open + 1..close] {
                "street" => out.push_str(street),
                "n" => out.push_str(&self.rng.random_range(1..120).to_string()),
                "f" => out.push_str(&self.rng.random_range(1..40).to_string()),
                "d" => out.push_str(&self.rng.random_range(1..10).to_string()),
                "s" => out.push_str(&self.rng.random_range(1..31).to_string()),
                "L" => out.push(self.pick(&['A', 'B', 'C', 'D'])),
                "building" => out.push_str(self.pick(&loc.address.buildings)),
                other => panic!("locales/{}.json: unknown placeholder {{{other}}}", loc.lang),
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A postcode of the city's pattern: `#` a digit, `@` a letter of a UK inward code.
    fn postcode(&mut self, pattern: &str) -> String {
        pattern
            .chars()
            .map(|c| match c {
                '#' => char::from(b'0' + self.rng.random_range(0..10u8)),
                '@' => self.pick(&UK_INWARD_LETTERS),
                c => c,
            })
            .collect()
    }

    /// One amount in the customer's currency, as the ERP writes it.
    fn amount(&mut self, loc: &Locale, scale: u32) -> (u64, String) {
        let cents = u64::from(self.rng.random_range(2_000..60_000u32))
            * u64::from(scale)
            * u64::from(loc.per_eur);
        if loc.minor {
            (cents, format!("{}.{:02}", cents / 100, cents % 100))
        } else {
            let whole = cents / 100;
            (whole, whole.to_string())
        }
    }

    fn money(loc: &Locale, units: u64) -> String {
        if loc.minor {
            format!("{}.{:02}", units / 100, units % 100)
        } else {
            units.to_string()
        }
    }

    /// Invoices, payments and events for one customer: settled history, then what is open.
    fn history(&mut self, id: &str, loc: &Locale, b: Behaviour, scale: u32) {
        use Behaviour::*;
        let settled = match b {
            New => usize::from(self.chance(30)),
            Forgetful | OnTime => self.rng.random_range(2..4),
            ChronicLate => self.rng.random_range(2..5),
            Unable | Unwilling => self.rng.random_range(2..4),
        };
        let open = match b {
            Unable => 2,
            Unwilling => self.rng.random_range(1..3),
            _ => 1,
        };
        let terms = self.pick(&[14i64, 30, 30, 60]);
        let total = settled + open;
        let mut k = 0;
        // Settled invoices: one a month going back from the open ones.
        for s in 0..settled {
            k += 1;
            let months_back = (total - s) as i64;
            let issue =
                self.as_of - Duration::days(30 * months_back + 20 + self.rng.random_range(0..10));
            let due = issue + Duration::days(terms);
            let inv_id = format!("INV-{}-{k:02}", &id[1..]);
            let (units, amount) = self.amount(loc, scale);
            let late = match b {
                Forgetful => {
                    if self.chance(20) {
                        self.rng.random_range(1..8)
                    } else {
                        -self.rng.random_range(0..5)
                    }
                }
                OnTime | New => -self.rng.random_range(0..6),
                ChronicLate => {
                    if self.chance(80) {
                        self.rng.random_range(8..40)
                    } else {
                        0
                    }
                }
                Unable => self.rng.random_range(10..50),
                Unwilling => self.rng.random_range(30..90),
            };
            let paid_on = (due + Duration::days(late)).min(self.as_of - Duration::days(1));
            if late > 0 && (matches!(b, Unable | Unwilling) || self.chance(50)) {
                {
                    let d = due + Duration::days(3);
                    if d < paid_on {
                        let channel = self.pick(&["email", "email", "sms", "letter"]);
                        self.event(id, d, channel, "reminder_sent", &inv_id, "");
                    }
                }
            }
            if b == Unable && self.chance(70) {
                // Paid in two instalments.
                let half = units / 2;
                self.payment(
                    id,
                    &inv_id,
                    paid_on - Duration::days(12),
                    &Self::money(loc, half),
                    "transfer",
                    "ok",
                );
                self.payment(
                    id,
                    &inv_id,
                    paid_on,
                    &Self::money(loc, units - half),
                    "transfer",
                    "ok",
                );
            } else {
                let method = match b {
                    OnTime if self.chance(50) => "direct_debit",
                    _ => self.pick(&["transfer", "transfer", "card", "wallet"]),
                };
                self.payment(id, &inv_id, paid_on, &amount, method, "ok");
            }
            self.invoice(
                &inv_id,
                id,
                issue,
                due,
                &amount,
                loc.currency,
                &amount,
                "paid",
                false,
            );
        }
        // Open invoices: how far past due depends on who they are.
        for o in 0..open {
            k += 1;
            let dpd: i64 = match b {
                Forgetful => self.rng.random_range(2..25),
                OnTime => -self.rng.random_range(1..6),
                ChronicLate => {
                    if self.chance(25) {
                        -self.rng.random_range(1..6)
                    } else {
                        self.rng.random_range(5..45)
                    }
                }
                Unable => self.rng.random_range(20..80) + 30 * (open - 1 - o) as i64,
                Unwilling => self.rng.random_range(45..150),
                New => self.rng.random_range(3..40),
            };
            let due = self.as_of - Duration::days(dpd);
            let issue = due - Duration::days(terms);
            let inv_id = format!("INV-{}-{k:02}", &id[1..]);
            let (units, amount) = self.amount(loc, scale);
            let mut paid = String::from("0");
            if b == Unable && o == 0 {
                let part = units / 3;
                paid = Self::money(loc, part);
                self.payment(
                    id,
                    &inv_id,
                    due + Duration::days(5).min(Duration::days(dpd.max(1) - 1)),
                    &paid,
                    "transfer",
                    "ok",
                );
            }
            let disputed = self.chance(2);
            self.invoice(
                &inv_id,
                id,
                issue,
                due,
                &amount,
                loc.currency,
                &paid,
                "open",
                disputed,
            );
            if dpd > 7 && b != OnTime && o == 0 {
                self.event(
                    id,
                    due + Duration::days(7),
                    "email",
                    "reminder_sent",
                    &inv_id,
                    "",
                );
                if self.chance(30) {
                    self.event(id, due + Duration::days(8), "email", "opened", &inv_id, "");
                }
            }
            match b {
                Unable if o == 0 => {
                    if self.chance(50) {
                        self.payment(
                            id,
                            &inv_id,
                            due + Duration::days(2).min(Duration::days(dpd.max(1) - 1)),
                            &Self::money(loc, units / 4),
                            "direct_debit",
                            "bounced",
                        );
                    } else {
                        self.event(
                            id,
                            due + Duration::days(10).min(Duration::days(dpd.max(1) - 1)),
                            "call",
                            "plan_agreed",
                            &inv_id,
                            "3 instalments",
                        );
                        self.event(
                            id,
                            (due + Duration::days(40)).min(self.as_of - Duration::days(1)),
                            "call",
                            "plan_broken",
                            &inv_id,
                            "",
                        );
                    }
                }
                Unwilling if o == 0 => {
                    let mut d = due + Duration::days(10);
                    for _ in 0..self.rng.random_range(1..3) {
                        self.event(
                            id,
                            d.min(self.as_of - Duration::days(1)),
                            "call",
                            "promise_to_pay",
                            &inv_id,
                            "will pay next week",
                        );
                        self.event(
                            id,
                            (d + Duration::days(8)).min(self.as_of - Duration::days(1)),
                            "call",
                            "promise_broken",
                            &inv_id,
                            "",
                        );
                        d += Duration::days(15);
                    }
                    for r in 0..2 {
                        let when = self.as_of - Duration::days(20 + 15 * r);
                        if when > due {
                            let channel = self.pick(&["email", "sms", "letter"]);
                            self.event(id, when, channel, "reminder_sent", &inv_id, "");
                        }
                    }
                    if self.chance(15) {
                        self.event(
                            id,
                            self.as_of - Duration::days(5),
                            "email",
                            "complaint",
                            &inv_id,
                            "disputes the late fee",
                        );
                    }
                }
                _ => {}
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn invoice(
        &mut self,
        inv_id: &str,
        id: &str,
        issue: NaiveDate,
        due: NaiveDate,
        amount: &str,
        cur: &str,
        paid: &str,
        status: &str,
        disputed: bool,
    ) {
        self.stats.invoices += 1;
        self.inv.push([
            inv_id.into(),
            id.into(),
            issue.to_string(),
            due.to_string(),
            amount.into(),
            cur.into(),
            paid.into(),
            status.into(),
            disputed.to_string(),
        ]);
    }

    fn payment(
        &mut self,
        id: &str,
        inv_id: &str,
        date: NaiveDate,
        amount: &str,
        method: &str,
        status: &str,
    ) {
        self.stats.payments += 1;
        let pid = format!("PAY-{}-{:02}", &id[1..], self.pay.len() + 1);
        self.pay.push([
            pid,
            id.into(),
            inv_id.into(),
            date.min(self.as_of).to_string(),
            amount.into(),
            method.into(),
            status.into(),
        ]);
    }

    fn event(
        &mut self,
        id: &str,
        date: NaiveDate,
        channel: &str,
        kind: &str,
        reference: &str,
        note: &str,
    ) {
        if date > self.as_of {
            return;
        }
        self.stats.events += 1;
        self.ev.push([
            id.into(),
            date.to_string(),
            channel.into(),
            kind.into(),
            reference.into(),
            note.into(),
        ]);
    }
}

impl GenStats {
    pub fn write_line(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{} customers, {} invoices, {} payments, {} events",
            self.customers, self.invoices, self.payments, self.events
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let run = |sub: &str, seed| {
            let out = dir.path().join(sub);
            generate(&GenOptions {
                customers: 50,
                seed,
                as_of: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                out: out.clone(),
            })
            .unwrap();
            std::fs::read(out.join("invoices.csv")).unwrap()
        };
        assert_eq!(run("a", 7), run("b", 7));
        assert_ne!(run("a", 7), run("c", 8));
    }

    /// Every locale file parses, is the locale it is named for, and has something in
    /// every table (a draw from an empty one panics).
    #[test]
    fn every_locale_file_parses_and_has_its_tables() {
        let locales = locales();
        assert_eq!(locales.len(), LOCALE_FILES.len());
        for ((lang, _), l) in LOCALE_FILES.iter().zip(locales) {
            assert_eq!(l.lang, *lang);
            for (table, len) in [
                ("first", l.first.len()),
                ("last", l.last.len()),
                ("cities", l.cities.len()),
                ("company", l.company.len()),
                ("address.flat", l.address.flat.len()),
            ] {
                assert!(len > 0, "locales/{lang}.json: `{table}` is empty");
            }
            for c in &l.cities {
                assert!(
                    !c.streets.is_empty() || !l.streets.is_empty(),
                    "locales/{lang}.json: {} has no streets and the locale none",
                    c.city
                );
            }
            // Both feminine forms or neither; both genders among the first names.
            for s in &l.last {
                assert_eq!(s.f.is_some(), s.f_romanised.is_some(), "{lang} {}", s.m);
            }
            for g in [Gender::Female, Gender::Male] {
                assert!(l.first.iter().any(|f| f.2 == g), "{lang}: no {g:?} names");
            }
            let shapes = std::iter::once(l.address.line1).chain(l.address.flat.iter().copied());
            for shape in shapes {
                let mut g = Gen {
                    rng: ChaCha8Rng::seed_from_u64(1),
                    as_of: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                    stats: GenStats::default(),
                    inv: vec![],
                    pay: vec![],
                    ev: vec![],
                };
                // Panics on an unknown placeholder or a `{building}` without buildings.
                let line = g.fill(shape, "Street", l);
                assert!(!line.contains(['{', '}']), "{lang}: {shape}");
            }
            assert!(l.company.iter().all(|c| c.contains("{}")), "{lang}");
            assert!(
                l.phone.prefix.starts_with('+') && l.phone.digits > 0,
                "{lang}"
            );
            assert!(
                !l.country.is_empty()
                    && !l.tz.is_empty()
                    && !l.currency.is_empty()
                    && !l.tld.is_empty()
                    && l.per_eur > 0,
                "{lang}"
            );
        }
    }
}
