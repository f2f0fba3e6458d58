//! `dunwell gen --respond OUTBOX --data EXPORT --out NEXT`: the next export, as the
//! customers an outbox reached would have reacted a cycle later — so whole dunning
//! cycles (run → send → history → next run) can be tested and measured without real
//! customers.
//!
//! Each contacted customer reacts by the cluster the run put them in: forgetful ones
//! mostly pay after the first reminder, chronic late ones later and less often, unable
//! ones promise (half of them keep it) or pay part, unwilling ones promise and break it.
//! Independently, some e-mail addresses bounce (a delivery status notification in
//! `NEXT/returns.mbox`, naming the original Message-ID), a few recipients report the
//! e-mail as abuse, and a few opt out of SMS. Some pay the day after the next export
//! was taken: those payments are in `NEXT/received.csv` (payments.csv's columns) — what
//! `send --payments` is for — and are folded into the export after that.
//!
//! Deterministic: the same outbox, export, seed and days give the same files, byte for
//! byte; each customer's draw depends only on the seed, the run's date and their id.

use crate::diag::{Error, Result};
use crate::outbox::Entry;
use chrono::{Duration, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub struct RespondOptions {
    pub outbox: PathBuf,
    /// The export the outbox was made from.
    pub data: PathBuf,
    pub out: PathBuf,
    pub seed: u64,
    /// Days until the next export.
    pub days: i64,
}

/// How the contacted customers reacted, for the command's line and for tests.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Responses {
    pub as_of: String,
    pub next_as_of: String,
    pub contacted: usize,
    pub paid: Vec<String>,
    /// Paid the day after the next export was taken (received.csv).
    pub paid_late: Vec<String>,
    pub part_paid: Vec<String>,
    pub promised_kept: Vec<String>,
    pub promised_broken: Vec<String>,
    pub bounced: Vec<String>,
    pub complained: Vec<String>,
    pub opted_out_sms: Vec<String>,
    pub ignored: Vec<String>,
}

/// One contacted customer, as the outbox shows them.
#[derive(Default)]
struct Contacted {
    cluster: String,
    /// invoice → open amount claimed.
    invoices: BTreeMap<String, Decimal>,
    email: Option<(String, String)>,
    sms: bool,
    /// The claim's currency's minor units (2 for EUR, 0 for JPY).
    minor_units: u32,
}

enum Reaction {
    Pay { day: i64 },
    PayLate,
    PartPay { day: i64 },
    Promise { keep: bool },
    Ignore,
}

pub fn respond(opts: &RespondOptions) -> Result<Responses> {
    let summary = crate::outbox::summary::RunSummary::read(&opts.outbox)?;
    let as_of = NaiveDate::parse_from_str(&summary.as_of, "%Y-%m-%d").map_err(|_| {
        Error::Refused(format!(
            "{}: summary.json's as_of `{}` is not a date",
            opts.outbox.display(),
            summary.as_of
        ))
    })?;
    if !(1..=366).contains(&opts.days) {
        return Err(Error::Usage(format!(
            "--days {}: expected 1 to 366 days until the next export",
            opts.days
        )));
    }
    let next = as_of + Duration::days(opts.days);
    let contacted = read_manifest(&opts.outbox)?;

    let mut invoices = Table::read(&opts.data.join("invoices.csv"))?;
    let mut payments = Table::read(&opts.data.join("payments.csv"))?;
    let mut events = Table::read(&opts.data.join("events.csv"))?;
    let mut received = Table {
        head: payments.head.clone(),
        rows: Vec::new(),
    };
    let mut mbox = Vec::new();
    let mut r = Responses {
        as_of: as_of.to_string(),
        next_as_of: next.to_string(),
        contacted: contacted.len(),
        ..Responses::default()
    };
    let (inv_id, inv_paid, inv_status, inv_amount) = (
        invoices.col("invoice_id")?,
        invoices.col("amount_paid")?,
        invoices.col("status")?,
        invoices.col("amount")?,
    );
    let by_id: HashMap<String, usize> = invoices
        .rows
        .iter()
        .enumerate()
        .map(|(k, row)| (row[inv_id].clone(), k))
        .collect();
    // Payments made after the last export was taken belong in this one, and so does
    // what they paid on their invoices.
    let late = opts.data.join("received.csv");
    let mut settled_late: std::collections::BTreeSet<String> = Default::default();
    if late.exists() {
        let t = Table::read(&late)?;
        let (invoice, amount, who) = (
            t.col("invoice_id")?,
            t.col("amount")?,
            t.col("customer_id")?,
        );
        for row in &t.rows {
            settled_late.insert(row[who].clone());
            payments.push_named(&t.head, row);
            if let Some(&k) = by_id.get(&row[invoice]) {
                let part = row[amount].parse::<Decimal>().unwrap_or_default();
                let inv = &mut invoices.rows[k];
                let paid = inv[inv_paid].parse::<Decimal>().unwrap_or_default() + part;
                let total = inv[inv_amount].parse::<Decimal>().unwrap_or_default();
                inv[inv_paid] = paid.to_string();
                if paid >= total {
                    inv[inv_status] = "paid".into();
                }
            }
        }
    }
    let mut serial = 0u32;
    for (customer, c) in &contacted {
        let mut rng = ChaCha8Rng::seed_from_u64(
            opts.seed
                ^ u64::from_be_bytes(
                    crate::hash::sha256_hex(format!("{as_of}/{customer}").as_bytes()).as_bytes()
                        [..8]
                        .try_into()
                        .expect("8 bytes"),
                ),
        );
        if settled_late.contains(customer.as_str()) {
            // Paid after the last export: nothing left to react to.
            continue;
        }
        let total: Decimal = c.invoices.values().sum();
        let roll = rng.random_range(0..100u32);
        let reaction = match c.cluster.as_str() {
            "chronic_late" => match roll {
                0..30 => Reaction::Pay {
                    day: rng.random_range(3..=opts.days.max(3)),
                },
                30..40 => Reaction::PayLate,
                _ => Reaction::Ignore,
            },
            "unable" => match roll {
                0..25 => Reaction::Promise {
                    keep: rng.random_range(0..2u32) == 0,
                },
                25..35 => Reaction::PartPay {
                    day: rng.random_range(1..=opts.days),
                },
                _ => Reaction::Ignore,
            },
            "unwilling" => match roll {
                0..20 => Reaction::Promise { keep: false },
                20..28 => Reaction::Pay {
                    day: rng.random_range(1..=opts.days),
                },
                _ => Reaction::Ignore,
            },
            // forgetful, and clusters a credit team added: a nudge is enough.
            _ => match roll {
                0..70 => Reaction::Pay {
                    day: rng.random_range(1..=opts.days.min(4)),
                },
                70..80 => Reaction::PayLate,
                _ => Reaction::Ignore,
            },
        };
        let mut pay = |amount: Decimal, day: NaiveDate, into_received: bool| {
            // Oldest claimed invoices first (BTreeMap: by number, which the generator
            // numbers in date order).
            let mut left = amount;
            for (number, open) in &c.invoices {
                if left <= Decimal::ZERO {
                    break;
                }
                let Some(&k) = by_id.get(number) else {
                    continue;
                };
                // Never more than the invoice still has open (a payment that came in
                // after the last export may have settled it already).
                let row = &invoices.rows[k];
                let still_open = row[inv_amount].parse::<Decimal>().unwrap_or_default()
                    - row[inv_paid].parse::<Decimal>().unwrap_or_default();
                let part = left.min(*open).min(still_open);
                if part <= Decimal::ZERO {
                    continue;
                }
                left -= part;
                serial += 1;
                let row = vec![
                    (
                        "payment_id",
                        format!("SIM-{}-{serial:06}", next.format("%Y%m%d")),
                    ),
                    ("customer_id", customer.clone()),
                    ("invoice_id", number.clone()),
                    ("date", day.to_string()),
                    ("amount", part.to_string()),
                    ("method", "transfer".to_string()),
                    ("status", "ok".to_string()),
                ];
                if into_received {
                    received.push_pairs(&row);
                } else {
                    payments.push_pairs(&row);
                    let inv = &mut invoices.rows[k];
                    let paid = inv[inv_paid].parse::<Decimal>().unwrap_or_default() + part;
                    let amount = inv[inv_amount].parse::<Decimal>().unwrap_or_default();
                    inv[inv_paid] = paid.to_string();
                    if paid >= amount {
                        inv[inv_status] = "paid".into();
                    }
                }
            }
        };
        match reaction {
            Reaction::Pay { day } => {
                pay(total, as_of + Duration::days(day), false);
                r.paid.push(customer.clone());
            }
            Reaction::PayLate => {
                pay(total, next + Duration::days(1), true);
                r.paid_late.push(customer.clone());
            }
            Reaction::PartPay { day } => {
                pay(
                    (total / Decimal::from(2)).round_dp(c.minor_units),
                    as_of + Duration::days(day),
                    false,
                );
                r.part_paid.push(customer.clone());
            }
            Reaction::Promise { keep } => {
                let by = as_of + Duration::days(opts.days.min(5));
                events.push_pairs(&[
                    ("customer_id", customer.clone()),
                    ("date", (as_of + Duration::days(1)).to_string()),
                    ("channel", "call".into()),
                    ("kind", "promise_to_pay".into()),
                    ("reference", String::new()),
                    ("note", "simulated".into()),
                    ("promised_date", by.to_string()),
                    ("promised_amount", total.to_string()),
                ]);
                if keep {
                    pay(total, by - Duration::days(1), false);
                    r.promised_kept.push(customer.clone());
                } else {
                    r.promised_broken.push(customer.clone());
                }
            }
            Reaction::Ignore => r.ignored.push(customer.clone()),
        }
        if let Some((address, message_id)) = &c.email {
            match rng.random_range(0..100u32) {
                0..6 => {
                    mbox.extend(dsn(address, message_id, as_of + Duration::days(1)));
                    r.bounced.push(customer.clone());
                }
                6..7 => {
                    mbox.extend(abuse_report(message_id, as_of + Duration::days(2)));
                    r.complained.push(customer.clone());
                }
                _ => {}
            }
        }
        if c.sms && rng.random_range(0..100u32) < 4 {
            events.push_pairs(&[
                ("customer_id", customer.clone()),
                ("date", (as_of + Duration::days(2)).to_string()),
                ("channel", "sms".into()),
                ("kind", "opted_out".into()),
                ("reference", String::new()),
                ("note", "STOP".into()),
            ]);
            r.opted_out_sms.push(customer.clone());
        }
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let customers = opts.data.join("customers.csv");
    let target = opts.out.join("customers.csv");
    std::fs::copy(&customers, &target).map_err(|e| Error::io(&target, e))?;
    invoices.write(&opts.out.join("invoices.csv"))?;
    payments.write(&opts.out.join("payments.csv"))?;
    events.write(&opts.out.join("events.csv"))?;
    received.write(&opts.out.join("received.csv"))?;
    let path = opts.out.join("returns.mbox");
    std::fs::write(&path, &mbox).map_err(|e| Error::io(&path, e))?;
    Ok(r)
}

/// Who the outbox contacted, with what: customer → cluster, claimed invoices, the
/// e-mail's address and Message-ID, whether an SMS went.
fn read_manifest(outbox: &Path) -> Result<BTreeMap<String, Contacted>> {
    use std::io::BufRead;
    let path = outbox.join("manifest.jsonl");
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut out: BTreeMap<String, Contacted> = BTreeMap::new();
    for (k, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(&path, e))?;
        let e: Entry = serde_json::from_str(&line).map_err(|e| {
            Error::Refused(format!(
                "{}:{}: not a manifest line: {e}",
                path.display(),
                k + 1
            ))
        })?;
        let c = out.entry(e.customer_id.clone()).or_default();
        c.cluster = e.cluster.clone();
        c.minor_units = crate::money::Currency::parse(&e.currency).map_or(2, |c| c.minor_units());
        for (number, open) in &e.invoices {
            c.invoices.insert(number.clone(), *open);
        }
        match e.channel {
            crate::dataset::Channel::Email => {
                c.email = Some((e.to.clone(), e.message_id.clone().unwrap_or_default()));
            }
            crate::dataset::Channel::Sms => c.sms = true,
            _ => {}
        }
    }
    Ok(out)
}

/// A CSV file held as text: the generator's files are small enough per cycle, and a
/// column the simulator does not know is carried through untouched.
struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(path: &Path) -> Result<Table> {
        if !path.exists() {
            return Ok(Table {
                head: Vec::new(),
                rows: Vec::new(),
            });
        }
        let mut r = csv::Reader::from_path(path)
            .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
        let bad = |e: csv::Error| Error::Input(format!("{}: {e}", path.display()));
        let head = r
            .headers()
            .map_err(bad)?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for row in r.records() {
            rows.push(row.map_err(bad)?.iter().map(str::to_string).collect());
        }
        Ok(Table { head, rows })
    }

    fn col(&self, name: &str) -> Result<usize> {
        self.head
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Input(format!("no `{name}` column in the export")))
    }

    /// Adds a row by column name; a column the table lacks is added to it (empty above).
    fn push_pairs(&mut self, pairs: &[(&str, String)]) {
        for (name, _) in pairs {
            if !self.head.iter().any(|h| h == name) {
                self.head.push(name.to_string());
                for row in &mut self.rows {
                    row.push(String::new());
                }
            }
        }
        let mut row = vec![String::new(); self.head.len()];
        for (name, value) in pairs {
            if let Some(k) = self.head.iter().position(|h| h == name) {
                row[k] = value.clone();
            }
        }
        self.rows.push(row);
    }

    fn push_named(&mut self, head: &[String], row: &[String]) {
        let pairs: Vec<(&str, String)> = head
            .iter()
            .zip(row)
            .map(|(h, v)| (h.as_str(), v.clone()))
            .collect();
        self.push_pairs(&pairs);
    }

    fn write(&self, path: &Path) -> Result<()> {
        let mut w = csv::Writer::from_path(path)
            .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
        let err = |e: csv::Error| Error::io(path, std::io::Error::other(e.to_string()));
        w.write_record(&self.head).map_err(err)?;
        for row in &self.rows {
            w.write_record(row).map_err(err)?;
        }
        w.flush().map_err(|e| Error::io(path, e))
    }
}

/// A Postfix-style delivery status notification (RFC 3464): 5.1.1, the user is unknown.
fn dsn(address: &str, message_id: &str, day: NaiveDate) -> Vec<u8> {
    let date = day.format("%a, %d %b %Y 10:00:00 +0000");
    let boundary = format!(
        "{}.sim",
        &crate::hash::sha256_hex(message_id.as_bytes())[..12]
    );
    let domain = address.rsplit('@').next().unwrap_or("example.com");
    format!(
        "From MAILER-DAEMON {asctime}\n\
Return-Path: <>\n\
Date: {date}\n\
From: MAIL-DAEMON@mx.{domain} (Mail Delivery System)\n\
Subject: Undelivered Mail Returned to Sender\n\
To: <bounces@example.com>\n\
Auto-Submitted: auto-replied\n\
MIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\n\
Message-Id: <{boundary}@mx.{domain}>\n\
\n\
--{boundary}\n\
Content-Description: Notification\n\
Content-Type: text/plain; charset=us-ascii\n\
\n\
This is the mail system at host mx.{domain}.\n\
\n\
I'm sorry to have to inform you that your message could not\n\
be delivered to one or more recipients.\n\
\n\
<{address}>: host mx.{domain} said: 550 5.1.1 <{address}>: Recipient address\n\
    rejected: User unknown in virtual mailbox table\n\
\n\
--{boundary}\n\
Content-Description: Delivery report\n\
Content-Type: message/delivery-status\n\
\n\
Reporting-MTA: dns; mx.{domain}\n\
Arrival-Date: {date}\n\
\n\
Final-Recipient: rfc822; {address}\n\
Original-Recipient: rfc822;{address}\n\
Action: failed\n\
Status: 5.1.1\n\
Remote-MTA: dns; mx.{domain}\n\
Diagnostic-Code: smtp; 550 5.1.1 <{address}>: Recipient address rejected: User\n\
    unknown in virtual mailbox table\n\
\n\
--{boundary}\n\
Content-Description: Undelivered Message Headers\n\
Content-Type: text/rfc822-headers\n\
\n\
Message-ID: <{message_id}>\n\
To: {address}\n\
Subject: Payment reminder\n\
\n\
--{boundary}--\n\
\n",
        asctime = day.format("%a %b %e 10:00:00 %Y"),
    )
    .into_bytes()
}

/// An ARF abuse report (RFC 5965), the recipient redacted as mailbox providers do.
fn abuse_report(message_id: &str, day: NaiveDate) -> Vec<u8> {
    let date = day.format("%a, %d %b %Y 11:00:00 +0000");
    let boundary = format!(
        "{}.arf",
        &crate::hash::sha256_hex(message_id.as_bytes())[..12]
    );
    format!(
        "From feedback@fbl.example.net {asctime}\n\
Date: {date}\n\
From: <feedback@fbl.example.net>\n\
To: <abuse@example.com>\n\
Subject: Complaint about message from example.com\n\
MIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=\"{boundary}\"\n\
Message-Id: <{boundary}@fbl.example.net>\n\
\n\
--{boundary}\n\
Content-Type: text/plain; charset=us-ascii\n\
\n\
This is an email abuse report for an email message received on {date}.\n\
\n\
--{boundary}\n\
Content-Type: message/feedback-report\n\
\n\
Feedback-Type: abuse\n\
User-Agent: SomeGenerator/1.0\n\
Version: 1\n\
Original-Rcpt-To: <redacted@example.net>\n\
Arrival-Date: {date}\n\
\n\
--{boundary}\n\
Content-Type: text/rfc822-headers\n\
\n\
Message-ID: <{message_id}>\n\
To: redacted@example.net\n\
Subject: Payment reminder\n\
\n\
--{boundary}--\n\
\n",
        asctime = day.format("%a %b %e 11:00:00 %Y"),
    )
    .into_bytes()
}
