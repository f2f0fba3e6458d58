//! The command line: clap's types, and the parsers that check each flag's value. What a
//! command does with them is in `cmd/`.

use crate::campaign::parse_date;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "dunwell",
    version,
    about = "Personalised dunning campaigns from an accounts-receivable export",
    after_help = "Examples:\n  dunwell segment samples/campaign.yaml\n  dunwell segment samples/campaign.yaml --rules segments/strict.yaml\n  dunwell gen --customers 100000 --seed 1 --out /tmp/ar"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Segment every customer into a behavioural cluster and write segments.csv.
    #[command(
        after_help = "Examples:\n  dunwell segment samples/campaign.yaml --out out/\n  dunwell segment samples/campaign.yaml --rules my-rules.yaml   # who would move where\n  dunwell segment samples/campaign.yaml --data exports/2026-11-27 --as-of 2026-11-27"
    )]
    Segment(SegmentArgs),
    /// Plan and render the campaign into an outbox; sends nothing.
    #[command(
        after_help = "Examples:\n  DUNWELL_LINK_SECRET=… dunwell run samples/campaign.yaml --out out/\n  dunwell run samples/campaign.yaml --sample 20 --channel email --eml\n  dunwell run campaign.yaml --shard 2/8 --out /data/outbox-2   # one of 8 machines"
    )]
    Run(RunArgs),
    /// Render every cell of the matrix with a real customer and report every problem.
    #[command(
        after_help = "Exit 1 on any error, 0 with warnings only. Needs no secret: links are signed with a throw-away key.\n\nExamples:\n  dunwell check samples/campaign.yaml\n  dunwell check campaign.yaml --data exports/2026-11-27"
    )]
    Check(CheckArgs),
    /// Write one customer's statement of account (PDF and XLSX): open items with the
    /// interest accrued, payments received, ageing, per currency.
    #[command(
        after_help = "Payments received after --since up to the campaign date are listed (default: since the last statement the history store knows was delivered, else the 30 days before the campaign date). Writes DIR/statement-ID.pdf and DIR/statement-ID.xlsx.\n\nExamples:\n  dunwell statement samples/campaign.yaml --customer C0000042\n  dunwell statement campaign.yaml --customer C0000042 --since 2026-10-20 --out statements/"
    )]
    Statement(StatementArgs),
    /// Render a sample of every cell into a static gallery (DIR/index.html).
    #[command(
        after_help = "Opens without a network: e-mails and payment pages in sandboxed frames, letters as their pages, SMS as phone bubbles; filter by cluster, stage, channel and locale. Needs no secret.\n\nExamples:\n  dunwell preview samples/campaign.yaml --open\n  dunwell preview campaign.yaml --per-cell 3 --out /tmp/gallery"
    )]
    Preview(PreviewArgs),
    /// Serve the gallery live: edits to templates and rules show in the open page.
    #[command(
        after_help = "Listens on 127.0.0.1 and answers only to Host 127.0.0.1, localhost or [::1] with its port (no other site's pages, no DNS rebinding). --bind on any other address serves the gallery only under an access token drawn at start — open the URL printed on the first line (http://ADDRESS/TOKEN/) — and by IP address, never by a DNS name. A template error is shown where its message would be.\n\nExamples:\n  dunwell serve samples/campaign.yaml --port 8040\n  dunwell serve campaign.yaml --bind 0.0.0.0   # LAN: the printed URL, this machine's IP"
    )]
    Serve(ServeArgs),
    /// Deliver an outbox's e-mails exactly once (journaled, resumable, rate-limited).
    #[command(
        after_help = "The SMTP server comes from DUNWELL_SMTP_URL (smtp://host:port for a local relay,\nsmtp+starttls://host:587, smtps://host:465; user and password in the URL or in\nDUNWELL_SMTP_USER / DUNWELL_SMTP_PASSWORD). DKIM: DUNWELL_DKIM_KEY (PEM file),\nDUNWELL_DKIM_SELECTOR, DUNWELL_DKIM_DOMAIN. SMS: DUNWELL_SMS_URL, DUNWELL_SMS_KIND (json or\ntwilio), DUNWELL_SMS_FROM, DUNWELL_SMS_AUTH or DUNWELL_SMS_USER/PASSWORD, DUNWELL_SMS_TEMPLATE.\n\nExamples:\n  dunwell send out/ --dry-run                        # every check, the health check, nothing sent\n  dunwell send out/ --to-override me@example.com --limit 20   # a test send to one inbox\n  dunwell send out/ --rate 6000/min --concurrency 16\n  dunwell send out/                                  # again after a crash: resumes"
    )]
    Send(SendArgs),
    /// Write the campaign report (report.html with charts, summary.json) for an outbox.
    #[command(
        after_help = "`run` writes report.html too; after `send`, this adds the delivery outcomes.\n\nExample:\n  dunwell report out/"
    )]
    Report {
        /// The outbox `dunwell run` wrote.
        outbox: PathBuf,
        /// Payments received since the export (payments.csv, camt.053/camt.054, MT940;
        /// repeatable): adds what the campaign recovered, by cluster, stage and channel.
        #[arg(long = "payments", value_name = "FILE")]
        payments: Vec<PathBuf>,
        /// The history store instead of the campaign's: adds the outbox's audit trail
        /// (approvals, the send, the print batch posted).
        #[arg(long, value_name = "PATH")]
        history: Option<String>,
    },
    /// Print one message of an outbox.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The history store: record outboxes and bounces into it, show a customer's timeline.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Approve an outbox for sending (campaigns with `approval: required`): records who
    /// approved exactly this outbox in the history; `send` refuses it otherwise.
    #[command(
        after_help = "The approver must be someone other than the sender (DUNWELL_USER, else the login name).\n\nExample:\n  dunwell approve out/ --by \"Maria Rossi\""
    )]
    Approve {
        /// The outbox `dunwell run` wrote.
        outbox: PathBuf,
        /// The approver's name, as the audit trail shows it.
        #[arg(long, value_name = "NAME")]
        by: String,
        /// The history store instead of the campaign's: a SQLite file or postgres://USER@HOST/DB.
        #[arg(long, value_name = "PATH")]
        history: Option<String>,
        /// When (RFC 3339; for tests and rehearsals), instead of now.
        #[arg(long, value_name = "TIME", value_parser = now_arg)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Make or check a signed payment token (for the payment portal side).
    #[command(subcommand)]
    Link(LinkCommand),
    /// Generate a realistic receivables export (customers, invoices, payments, events).
    #[command(
        after_help = "Examples:\n  dunwell gen --customers 1000000 --seed 42 --out /tmp/ar-1m\n  dunwell gen --respond out/ --data /tmp/ar-1m --out /tmp/ar-1m-next   # the next week's export"
    )]
    Gen(GenArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// The campaign file.
    pub campaign: PathBuf,
    /// This week's export instead of the campaign's `data:` (customers.csv, invoices.csv,
    /// optional payments.csv, events.csv — or debtors.ndjson).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The campaign date instead of the campaign's `as_of:`.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = as_of_arg)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Any rejected row fails the command (exit 1) instead of quarantining its customer.
    #[arg(long)]
    pub strict: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct SegmentArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Where segments.csv, rejected.csv and summary.json go.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Another rule file: print how customers would move between clusters under it.
    #[arg(long, value_name = "OTHER.yaml")]
    pub rules: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct StatementArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The customer's id.
    #[arg(long, value_name = "ID")]
    pub customer: String,
    /// List the payments received after this day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = as_of_arg)]
    pub since: Option<chrono::NaiveDate>,
    /// Where the PDF and the workbook go.
    #[arg(long, value_name = "DIR", default_value = "statements")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Args, Debug)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Where index.html and the messages go.
    #[arg(long, value_name = "DIR", default_value = "preview")]
    pub out: PathBuf,
    /// Customers shown per cell.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub per_cell: usize,
    /// Open the gallery in the default browser.
    #[arg(long)]
    pub open: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The port to listen on (0: any free port; the address is printed at start).
    #[arg(long, default_value_t = 8040)]
    pub port: u16,
    /// Customers shown per cell.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub per_cell: usize,
    /// Listen on this address instead of 127.0.0.1. The gallery shows customer data: any
    /// address but a loopback one serves only under a random access token, printed in the
    /// URL at start.
    #[arg(long, value_name = "IP")]
    pub bind: Option<std::net::IpAddr>,
    /// Close a connection that has not sent a request's headers within this time.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_header_timeout)]
    pub header_timeout: std::time::Duration,
}

/// `--header-timeout`: seconds, fractions allowed, from 1 ms to an hour.
fn parse_header_timeout(s: &str) -> std::result::Result<std::time::Duration, String> {
    match s.parse::<f64>() {
        Ok(secs) if (0.001..=3600.0).contains(&secs) => {
            Ok(std::time::Duration::from_secs_f64(secs))
        }
        _ => Err("expected seconds between 0.001 and 3600 (e.g. 10 or 0.5)".into()),
    }
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// The outbox `dunwell run` wrote.
    pub outbox: PathBuf,
    /// Messages per second, minute or hour, evenly spaced: 100/s, 6000/min, 50000/h.
    #[arg(long, value_parser = rate_arg)]
    pub rate: Option<f64>,
    /// SMTP connections working at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Send as of this time instead of now (RFC 3339; for tests and rehearsals).
    #[arg(long, value_parser = now_arg)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Record into this history store (a SQLite file or postgres://USER@HOST/DB) instead of the campaign's.
    #[arg(long, value_name = "PATH")]
    pub history: Option<String>,
    /// Every message to this address instead; the real recipient in the subject and in
    /// an X-Dunwell-Original-To header.
    #[arg(long, value_name = "ADDR")]
    pub to_override: Option<String>,
    /// Every SMS to this number instead; the real number at the start of the text.
    #[arg(long, value_name = "PHONE", value_parser = phone_arg)]
    pub sms_to_override: Option<String>,
    /// Send at most N messages in this run.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only this cluster's messages.
    #[arg(long, value_name = "CLUSTER", value_parser = cluster_arg)]
    pub only_cluster: Option<crate::segment::Cluster>,
    /// Every check and the server health check; nothing is sent.
    #[arg(long)]
    pub dry_run: bool,
    /// Send again the messages whose fate is unknown (in flight when a send was killed).
    #[arg(long)]
    pub resend_unknown: bool,
    /// Tries per message before a 4xx reply counts as a failure (an unreachable server
    /// costs no attempt).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
    /// The outbox was moved (not copied) to this folder after sending began: send from
    /// here from now on. Without it, a copy of a sent-from outbox is refused.
    #[arg(long)]
    pub moved: bool,
    /// Wait before the first retry, doubled for each next one (with ±20 % jitter).
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = retry_after_arg)]
    pub retry_after: std::time::Duration,
    /// Give up on a network step (connect, greeting, each SMTP command, the data, QUIT,
    /// an SMS request) after this long.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = timeout_arg)]
    pub timeout: std::time::Duration,
    /// Payments received since the export (payments.csv, camt.053/camt.054, MT940;
    /// repeatable): the e-mails and SMS of a customer who paid are cancelled
    /// (`cancelled:paid`, `cancelled:part_paid`) instead of sent.
    #[arg(long = "payments", value_name = "FILE")]
    pub payments: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The outbox folder.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Only the first N planned customers (a test batch).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Only customers of this cluster.
    #[arg(long, value_name = "CLUSTER", value_parser = cluster_arg)]
    pub segment: Option<crate::segment::Cluster>,
    /// Only these channels (repeatable).
    #[arg(long = "channel", value_name = "CHANNEL", value_parser = channel_arg)]
    pub channels: Vec<crate::dataset::Channel>,
    /// The I-th of N disjoint, stable parts of the campaign (0-based): `--shard 0/3`.
    #[arg(long, value_name = "I/N", value_parser = shard_arg)]
    pub shard: Option<(u64, u64)>,
    /// One `email/ID.eml` file per message instead of mbox parts (small runs).
    #[arg(long)]
    pub eml: bool,
}

fn shard_arg(s: &str) -> std::result::Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/3")?;
    let (i, n): (u64, u64) = (
        i.parse().map_err(|_| "I is not a number")?,
        n.parse().map_err(|_| "N is not a number")?,
    );
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: expected 0 ≤ I < N"));
    }
    Ok((i, n))
}

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// Print a message (an e-mail as RFC 5322 text, an SMS as its text).
    #[command(after_help = "Example:\n  dunwell outbox show out/ C0000042-email")]
    Show { outbox: PathBuf, id: String },
    /// Record that the print batch (letters/print.csv) was posted: its letters count as
    /// delivered in the history — for reminder levels, caps and timelines.
    #[command(
        after_help = "The store is the campaign's `history:` unless --history names one.\n\nExample:\n  dunwell outbox posted out/"
    )]
    Posted {
        outbox: PathBuf,
        /// The history store instead of the campaign's: a SQLite file or postgres://USER@HOST/DB.
        #[arg(long, value_name = "PATH")]
        history: Option<String>,
        /// When the batch was posted (RFC 3339; for tests and rehearsals), instead of now.
        #[arg(long, value_name = "TIME", value_parser = now_arg)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The print cut-off: take the letters of customers who paid since the export out
    /// of letters/print.pdf and print.csv and withdraw their payment pages, recorded in
    /// cutoff.csv. Twice with the same files removes nothing more.
    #[command(
        after_help = "Example:\n  dunwell outbox cutoff out/ --payments bank/camt053-2026-11-25.xml --payments bank/portal.csv"
    )]
    Cutoff {
        outbox: PathBuf,
        /// Payments received since the export (payments.csv, camt.053/camt.054, MT940; repeatable).
        #[arg(long = "payments", value_name = "FILE", required = true)]
        payments: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Record an outbox — its contacts, segmentation and delivery states — into the
    /// history (for an outbox sent elsewhere; `send` records by itself). Twice adds nothing.
    #[command(
        after_help = "The store is the campaign's `history:` (as `run` wrote it into summary.json) unless --history names one.\n\nExamples:\n  dunwell history import out/\n  dunwell history import /data/outbox-3 --history /var/lib/dunwell/history.sqlite"
    )]
    Import {
        /// The outbox `dunwell run` wrote.
        outbox: PathBuf,
        /// The history store instead of the campaign's: a SQLite file or postgres://USER@HOST/DB.
        #[arg(long, value_name = "PATH")]
        history: Option<String>,
    },
    /// Record events from the portal or the CRM (events.csv's columns plus promised_date,
    /// promised_amount): promises, disputes, plans, opt-outs, replies. Twice adds nothing.
    #[command(
        after_help = "A file with a bad row is refused whole, every bad row named.\n\nExample:\n  dunwell history events crm-2026-12-04.csv --history /var/lib/dunwell/history.sqlite"
    )]
    Events {
        /// A CSV file with events.csv's columns.
        file: PathBuf,
        /// The history store: a SQLite file or postgres://USER@HOST/DB.
        #[arg(long, value_name = "PATH")]
        history: String,
        /// When the events are recorded (RFC 3339; for tests and rehearsals), instead of now.
        #[arg(long, value_name = "TIME", value_parser = now_arg)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Print a customer's timeline: clusters over the runs, every contact and its outcome.
    #[command(
        after_help = "Example:\n  dunwell history show C0000042 --history /var/lib/dunwell/history.sqlite"
    )]
    Show {
        /// The customer's id, as in the export.
        customer: String,
        /// The history store: a SQLite file or postgres://USER@HOST/DB.
        #[arg(long, value_name = "PATH")]
        history: String,
    },
    /// Read bounces and complaints from a mailbox into the history: an address that does
    /// not exist is not e-mailed again, a spam complaint is an e-mail opt-out.
    #[command(
        after_help = "Reads delivery status notifications (RFC 3464) and feedback reports (RFC 5965) from an mbox file or a Maildir folder and matches each to its contact by the original Message-ID. `Action: failed` with an address status (5.1.1, 5.1.2, 5.1.10, 5.2.1 …) marks the address: the next run leaves e-mail out (`bounced:email`) until the export has another address. Refusals of our mail (5.7.x policy, spam, authentication) are recorded, not held against the customer; delayed notices are counted and ignored; an `abuse` complaint is an e-mail opt-out. Other mail is left alone and listed. Reading a mailbox again adds nothing. Exit 3 when some messages could not be read.\n\nExamples:\n  dunwell history bounces /var/mail/bounces --history /var/lib/dunwell/history.sqlite\n  dunwell history bounces ~/Maildir/.Bounces --history postgres://dunwell@db.internal/dunning"
    )]
    Bounces {
        /// An mbox file, or a Maildir folder (its cur/ and new/).
        mailbox: PathBuf,
        /// The history store: a SQLite file or postgres://USER@HOST/DB.
        #[arg(long, value_name = "PATH")]
        history: String,
        /// Record as of this time instead of now (RFC 3339; for tests and rehearsals).
        #[arg(long, value_parser = now_arg)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LinkCommand {
    /// Print a signed token for one customer's debt.
    #[command(
        after_help = "Example:\n  DUNWELL_LINK_SECRET=$(openssl rand -base64 48) \\\n  dunwell link sign --campaign autumn --customer C0000042 --amount 123.45 --currency EUR --expires 2026-12-31"
    )]
    Sign {
        #[arg(long)]
        campaign: String,
        #[arg(long)]
        customer: String,
        /// The amount due, a decimal in the currency's units (123.45).
        #[arg(long)]
        amount: String,
        #[arg(long)]
        currency: String,
        /// The last day the link works.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_arg)]
        expires: chrono::NaiveDate,
        /// Also print the full link under this base URL.
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// The environment variable that holds the secret.
        #[arg(long, value_name = "VAR", default_value = crate::payment::link::DEFAULT_SECRET_ENV)]
        secret_env: String,
    },
    /// Check a token: exit 0 and print its claims if valid, exit 1 with the reason if not.
    #[command(after_help = "Example:\n  dunwell link verify AQQ5AAAAAAAAMDlFVVIO… && echo valid")]
    Verify {
        token: String,
        /// Check expiry against this date instead of today (UTC).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_arg)]
        today: Option<chrono::NaiveDate>,
        #[arg(long, value_name = "VAR", default_value = crate::payment::link::DEFAULT_SECRET_ENV)]
        secret_env: String,
    },
}

#[derive(Args, Debug)]
pub struct GenArgs {
    #[arg(long, default_value_t = 1000)]
    pub customers: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The date the history leads up to.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = as_of_arg, default_value = "2026-11-20")]
    pub as_of: chrono::NaiveDate,
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Instead of a new export: the next export after this outbox, as its customers
    /// would have reacted (with --data, the export it was made from).
    #[arg(long, value_name = "OUTBOX", requires = "data")]
    pub respond: Option<PathBuf>,
    /// With --respond: the export the outbox was made from.
    #[arg(long, value_name = "DIR", requires = "respond")]
    pub data: Option<PathBuf>,
    /// With --respond: days until the next export.
    #[arg(long, default_value_t = 7, requires = "respond")]
    pub days: i64,
}

fn date_arg(s: &str) -> std::result::Result<chrono::NaiveDate, String> {
    parse_date(s)
}

/// A campaign date: within 1970–2099, as `as_of:` in the campaign file.
fn as_of_arg(s: &str) -> std::result::Result<chrono::NaiveDate, String> {
    parse_date(s).and_then(|d| crate::campaign::plausible_year(d, "the date"))
}

/// A duration, `250ms`, `30s`, `5min`, `1h`, from 1 ms up to `max` (checked before it
/// becomes a `Duration`: `from_secs_f64` panics past u64 seconds).
fn duration(s: &str, max: std::time::Duration) -> std::result::Result<std::time::Duration, String> {
    let (n, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "s"), |k| (&s[..k], &s[k..]));
    let n: f64 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (expected e.g. 250ms, 30s, 5min)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => {
            return Err(format!(
                "unknown unit `{u}` in `{s}` (expected ms, s, min or h)"
            ));
        }
    };
    if !(0.001..=max.as_secs_f64()).contains(&secs) {
        return Err(format!(
            "`{s}` is out of range (expected 1ms to {}s)",
            max.as_secs()
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

fn retry_after_arg(s: &str) -> std::result::Result<std::time::Duration, String> {
    duration(s, std::time::Duration::from_secs(24 * 3600))
}

fn timeout_arg(s: &str) -> std::result::Result<std::time::Duration, String> {
    duration(s, std::time::Duration::from_secs(3600))
}

fn rate_arg(s: &str) -> std::result::Result<f64, String> {
    crate::send::parse_rate(s)
}

fn now_arg(s: &str) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.to_utc())
        .map_err(|e| format!("`{s}`: {e} (expected e.g. 2026-11-23T09:00:00Z)"))
}

fn phone_arg(s: &str) -> std::result::Result<String, String> {
    crate::values::normalise_phone(s)
}

fn cluster_arg(s: &str) -> std::result::Result<crate::segment::Cluster, String> {
    crate::segment::Cluster::parse(s)
}

fn channel_arg(s: &str) -> std::result::Result<crate::dataset::Channel, String> {
    crate::dataset::Channel::parse(s)
}
