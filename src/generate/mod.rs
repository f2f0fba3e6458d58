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
    /// (written name, romanised for the e-mail address)
    #[serde(borrow)]
    first: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    last: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    streets: Vec<&'a str>,
    /// (city, postal code prefix, region)
    #[serde(borrow)]
    cities: Vec<(&'a str, &'a str, &'a str)>,
    #[serde(borrow)]
    company: Vec<&'a str>,
    #[serde(borrow)]
    phone: Phone<'a>,
    tld: &'a str,
    /// Family name first, as the locale writes it.
    family_first: bool,
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
        let (first, first_r) = self.pick(&loc.first);
        let (last, last_r) = self.pick(&loc.last);
        let company = self.chance(20);
        let name = if company {
            self.pick(&loc.company).replace("{}", last)
        } else if loc.family_first {
            format!("{last}{}{first}", if loc.lang == "ja" { " " } else { "" })
        } else {
            format!("{first} {last}")
        };
        let email = if company {
            format!("accounts@{last_r}-{}.example.{}", n % 997, loc.tld)
        } else {
            format!("{first_r}.{last_r}{}@example.{}", n % 97, loc.tld)
        };
        let (city, postal, region) = self.pick(&loc.cities);
        let street = format!(
            "{} {}",
            self.pick(&loc.streets),
            self.rng.random_range(1..120)
        );
        let postal_code = format!("{postal}{}", digits(&mut self.rng, 3));
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
            street,
            if self.chance(15) {
                format!(
                    "{} {}",
                    if loc.lang == "pl" { "lok." } else { "Apt" },
                    self.rng.random_range(1..40)
                )
            } else {
                String::new()
            },
            postal_code,
            city.into(),
            region.into(),
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
                ("streets", l.streets.len()),
                ("cities", l.cities.len()),
                ("company", l.company.len()),
            ] {
                assert!(len > 0, "locales/{lang}.json: `{table}` is empty");
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
