//! The command line: parses flags, runs the stages, prints, and owns the exit codes.
//!
//! Exit codes (SPEC §3): 0 ok; 1 input or rules have errors (or `--strict` and something
//! was rejected); 2 usage error; 3 partial — some customers were quarantined, the files
//! say which.

use crate::campaign::{Campaign, Overrides, parse_date};
use crate::dataset::Dataset;
use crate::diag::{Error, Result};
use crate::features::Features;
use crate::generate::{GenOptions, generate};
use crate::load::load;
use crate::money::Currency;
use crate::outbox;
use crate::segment::{Cluster, RuleSet, Segmentation, segment};
use crate::validate::{Intake, Validated, validate};
use clap::{Args, Parser, Subcommand};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Writes a line of the command's result to stdout. A closed pipe (`dunwell … | head`)
/// ends the process quietly instead of a panic.
macro_rules! out {
    () => { write_out(format_args!("\n")) };
    ($($arg:tt)*) => { write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

macro_rules! out_part {
    ($($arg:tt)*) => { write_out(format_args!($($arg)*)) };
}

fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "dunwell",
    version,
    about = "Personalised dunning campaigns from an accounts-receivable export",
    after_help = "Examples:\n  dunwell segment samples/campaign.yaml\n  dunwell segment samples/campaign.yaml --rules segments/strict.yaml\n  dunwell gen --customers 100000 --seed 1 --out /tmp/ar"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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
    },
    /// Print one message of an outbox.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Make or check a signed payment token (for the payment portal side).
    #[command(subcommand)]
    Link(LinkCommand),
    /// Generate a realistic receivables export (customers, invoices, payments, events).
    #[command(
        after_help = "Example:\n  dunwell gen --customers 1000000 --seed 42 --out /tmp/ar-1m"
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
struct SegmentArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Where segments.csv, rejected.csv and summary.json go.
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,
    /// Another rule file: print how customers would move between clusters under it.
    #[arg(long, value_name = "OTHER.yaml")]
    rules: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
struct PreviewArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Where index.html and the messages go.
    #[arg(long, value_name = "DIR", default_value = "preview")]
    out: PathBuf,
    /// Customers shown per cell.
    #[arg(long, value_name = "N", default_value_t = 1)]
    per_cell: usize,
    /// Open the gallery in the default browser.
    #[arg(long)]
    open: bool,
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
struct SendArgs {
    /// The outbox `dunwell run` wrote.
    outbox: PathBuf,
    /// Messages per second, minute or hour, evenly spaced: 100/s, 6000/min, 50000/h.
    #[arg(long)]
    rate: Option<String>,
    /// SMTP connections working at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Send as of this time instead of now (RFC 3339; for tests and rehearsals).
    #[arg(long)]
    now: Option<String>,
    /// Every message to this address instead; the real recipient in the subject and in
    /// an X-Dunwell-Original-To header.
    #[arg(long, value_name = "ADDR")]
    to_override: Option<String>,
    /// Every SMS to this number instead; the real number at the start of the text.
    #[arg(long, value_name = "PHONE")]
    sms_to_override: Option<String>,
    /// Send at most N messages in this run.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Only this cluster's messages.
    #[arg(long, value_name = "CLUSTER")]
    only_cluster: Option<String>,
    /// Every check and the server health check; nothing is sent.
    #[arg(long)]
    dry_run: bool,
    /// Send again the messages whose fate is unknown (in flight when a send was killed).
    #[arg(long)]
    resend_unknown: bool,
    /// Tries per message before a 4xx reply counts as a failure (an unreachable server
    /// costs no attempt).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=100))]
    max_attempts: u32,
    /// The outbox was moved (not copied) to this folder after sending began: send from
    /// here from now on. Without it, a copy of a sent-from outbox is refused.
    #[arg(long)]
    moved: bool,
    /// Wait before the first retry, doubled for each next one (with ±20 % jitter).
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    retry_after: String,
    /// Give up on a network step (connect, greeting, each SMTP command, the data, QUIT,
    /// an SMS request) after this long.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    timeout: String,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The outbox folder.
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,
    /// Only the first N planned customers (a test batch).
    #[arg(long, value_name = "N")]
    sample: Option<usize>,
    /// Only customers of this cluster.
    #[arg(long, value_name = "CLUSTER")]
    segment: Option<String>,
    /// Only these channels (repeatable).
    #[arg(long = "channel", value_name = "CHANNEL")]
    channels: Vec<String>,
    /// The I-th of N disjoint, stable parts of the campaign (0-based): `--shard 0/3`.
    #[arg(long, value_name = "I/N", value_parser = shard_arg)]
    shard: Option<(u64, u64)>,
    /// One `email/ID.eml` file per message instead of mbox parts (small runs).
    #[arg(long)]
    eml: bool,
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
enum OutboxCommand {
    /// Print a message (an e-mail as RFC 5322 text, an SMS as its text).
    #[command(after_help = "Example:\n  dunwell outbox show out/ C0000042-email")]
    Show { outbox: PathBuf, id: String },
}

#[derive(Subcommand, Debug)]
enum LinkCommand {
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
        #[arg(long, value_name = "VAR", default_value = crate::link::DEFAULT_SECRET_ENV)]
        secret_env: String,
    },
    /// Check a token: exit 0 and print its claims if valid, exit 1 with the reason if not.
    #[command(after_help = "Example:\n  dunwell link verify AQQ5AAAAAAAAMDlFVVIO… && echo valid")]
    Verify {
        token: String,
        /// Check expiry against this date instead of today (UTC).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_arg)]
        today: Option<chrono::NaiveDate>,
        #[arg(long, value_name = "VAR", default_value = crate::link::DEFAULT_SECRET_ENV)]
        secret_env: String,
    },
}

#[derive(Args, Debug)]
struct GenArgs {
    #[arg(long, default_value_t = 1000)]
    customers: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The date the history leads up to.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = as_of_arg, default_value = "2026-11-20")]
    as_of: chrono::NaiveDate,
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

fn date_arg(s: &str) -> std::result::Result<chrono::NaiveDate, String> {
    parse_date(s)
}

/// A campaign date: within 1970–2099, as `as_of:` in the campaign file.
fn as_of_arg(s: &str) -> std::result::Result<chrono::NaiveDate, String> {
    parse_date(s).and_then(|d| crate::campaign::plausible_year(d, "the date"))
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            match e {
                Error::Usage(_) => 2,
                _ => 1,
            }
        }
    }
}

/// A duration flag, from 1 ms up to `max`.
fn duration(flag: &str, s: &str, max: std::time::Duration) -> Result<std::time::Duration> {
    let (n, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "s"), |k| (&s[..k], &s[k..]));
    let n: f64 = n.trim().parse().map_err(|_| {
        Error::Usage(format!(
            "{flag} `{s}` is not a duration (expected e.g. 250ms, 30s, 5min)"
        ))
    })?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => {
            return Err(Error::Usage(format!(
                "{flag}: unknown unit `{u}` in `{s}` (expected ms, s, min or h)"
            )));
        }
    };
    // Checked before it becomes a Duration: from_secs_f64 panics past u64 seconds.
    if !(0.001..=max.as_secs_f64()).contains(&secs) {
        return Err(Error::Usage(format!(
            "{flag} `{s}` is out of range (expected 1ms to {}s)",
            max.as_secs()
        )));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// What `check`, `preview` and `serve` work from: the data and a leniently loaded kit,
/// or — when the rule file, the plan or the templates cannot be used at all — none, and
/// in both cases every problem found while loading (rule-file and template errors
/// together, not one per run).
pub struct Lenient {
    pub loaded: Option<(Prepared, crate::render::Kit)>,
    pub problems: Vec<crate::diag::Diagnostic>,
}

pub fn load_lenient(args: &DataArgs) -> Result<Lenient> {
    let campaign = Campaign::load(
        &args.campaign,
        &Overrides {
            data: args.data.clone(),
            as_of: args.as_of,
            rules: None,
        },
    )?;
    let mut problems = Vec::new();
    let rules = match RuleSet::load_with_budget(&campaign.segments, campaign.limits.rule_steps()) {
        Ok(r) => Some(r),
        Err(Error::Config(d)) => {
            problems.extend(d);
            None
        }
        Err(e) => return Err(e),
    };
    let (kit, more) = reload_kit(&campaign)?;
    problems.extend(more);
    let (Some(rules), Some(kit)) = (rules, kit) else {
        return Ok(Lenient {
            loaded: None,
            problems,
        });
    };
    let p = prepare_data(campaign, rules)?;
    Ok(Lenient {
        loaded: Some((p, kit)),
        problems,
    })
}

fn cmd_preview(args: PreviewArgs) -> Result<i32> {
    set_threads(args.data.threads)?;
    let t = Instant::now();
    let l = load_lenient(&args.data)?;
    let Some((p, kit)) = &l.loaded else {
        for d in &l.problems {
            eprintln!("{}", d.render(None));
        }
        return Ok(1);
    };
    let site = crate::preview::site(p, kit, &l.problems, args.per_cell, None);
    site.write(&args.out)?;
    let index = args.out.join("index.html");
    out!(
        "preview: {} ({} files, {:.2} s)",
        index.display(),
        site.files.len(),
        t.elapsed().as_secs_f64()
    );
    if args.open {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else if cfg!(windows) {
            "explorer"
        } else {
            "xdg-open"
        };
        if let Err(e) = std::process::Command::new(opener).arg(&index).spawn() {
            eprintln!(
                "could not open a browser ({opener}: {e}); open {} by hand",
                index.display()
            );
        }
    }
    Ok(
        if l.problems
            .iter()
            .any(|d| d.severity == crate::diag::Severity::Error)
        {
            1
        } else {
            0
        },
    )
}

/// The templates (leniently: broken ones are reported and left out), the plan rules
/// and, when the matrix has letters, the fonts. `None` when the plan or the fonts cannot
/// be used at all; the problems either way.
pub fn reload_kit(
    campaign: &Campaign,
) -> Result<(Option<crate::render::Kit>, Vec<crate::diag::Diagnostic>)> {
    // Links in a check or a preview are never sent: a throw-away key, no secret needed.
    let signer = crate::link::Signer::new(b"dunwell check: these links are never sent, 0123")
        .map_err(Error::Usage)?;
    let (mut kit, problems) = match crate::render::Kit::load_lenient(campaign, signer) {
        Ok(k) => k,
        Err(Error::Config(d)) => return Ok((None, d)),
        Err(e) => return Err(e),
    };
    if kit.rules.uses_letters() {
        match kit.load_letters(campaign) {
            Ok(()) => {}
            Err(Error::Config(mut d)) => {
                d.splice(0..0, problems);
                return Ok((None, d));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((Some(kit), problems))
}

fn cmd_check(args: CheckArgs) -> Result<i32> {
    set_threads(args.data.threads)?;
    let l = load_lenient(&args.data)?;
    let report = match &l.loaded {
        Some((p, kit)) => crate::check::check(p, kit, &l.problems),
        None => crate::check::Report {
            findings: l.problems.clone(),
            cells: 0,
        },
    };
    for d in &report.findings {
        out!("{}\n", d.render(None));
    }
    let errors = report.errors();
    out!(
        "{} cells rendered: {} error(s), {} warning(s)",
        report.cells,
        errors,
        report.findings.len() - errors
    );
    Ok(if errors > 0 { 1 } else { 0 })
}

fn cmd_send(args: SendArgs) -> Result<i32> {
    let opts = crate::send::SendOptions {
        outbox: args.outbox.clone(),
        rate: args
            .rate
            .as_deref()
            .map(crate::send::parse_rate)
            .transpose()
            .map_err(|m| Error::Usage(format!("--rate {m}")))?,
        concurrency: args.concurrency,
        now: args
            .now
            .as_deref()
            .map(|s| {
                chrono::DateTime::parse_from_rfc3339(s)
                    .map(|d| d.to_utc())
                    .map_err(|e| {
                        Error::Usage(format!(
                            "--now `{s}`: {e} (expected e.g. 2026-11-23T09:00:00Z)"
                        ))
                    })
            })
            .transpose()?,
        to_override: args.to_override,
        sms_to_override: args
            .sms_to_override
            .map(|p| {
                crate::load::normalise_phone(&p)
                    .map_err(|m| Error::Usage(format!("--sms-to-override: {m}")))
            })
            .transpose()?,
        limit: args.limit,
        only_cluster: args
            .only_cluster
            .map(|c| {
                Cluster::parse(&c)
                    .map(|c| c.as_str().to_string())
                    .map_err(|m| Error::Usage(format!("--only-cluster {m}")))
            })
            .transpose()?,
        dry_run: args.dry_run,
        resend_unknown: args.resend_unknown,
        max_attempts: args.max_attempts,
        moved: args.moved,
        retry_base: duration(
            "--retry-after",
            &args.retry_after,
            std::time::Duration::from_secs(24 * 3600),
        )?,
        timeout: duration(
            "--timeout",
            &args.timeout,
            std::time::Duration::from_secs(3600),
        )?,
    };
    if !(1..=1024).contains(&opts.concurrency) {
        return Err(Error::Usage(format!(
            "--concurrency {} (expected 1 to 1024)",
            opts.concurrency
        )));
    }
    let t = Instant::now();
    let r = crate::send::send(&opts)?;
    let count = |k: &str| r.states.get(k).copied().unwrap_or(0);
    if r.dry_run {
        out!(
            "dry run: {} message(s) waiting, {} of them scheduled later; health check passed; nothing sent",
            count("pending") + count("deferred"),
            r.scheduled_later
        );
    } else {
        out!(
            "delivered {} in {:.2} s ({} attempts); journal: {}",
            r.delivered_now,
            t.elapsed().as_secs_f64(),
            r.attempts_now,
            r.states
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if r.scheduled_later > 0 {
        out!(
            "{} message(s) are scheduled later (first at {}): run send again then",
            r.scheduled_later,
            r.next_scheduled.as_deref().unwrap_or("?")
        );
    }
    if r.sms_without_gateway > 0 {
        out!(
            "{} SMS not sent: no gateway configured (set DUNWELL_SMS_URL)",
            r.sms_without_gateway
        );
    }
    if let Some(why) = &r.stopped {
        out!("stopped early: {why}");
    }
    for (id, reply) in &r.unknown {
        out!("unknown: {id}: {reply}");
    }
    for (id, reply) in &r.rejected {
        out!("rejected: {id}: {reply}");
    }
    Ok(
        if r.unknown.is_empty() && r.rejected.is_empty() && r.stopped.is_none() {
            0
        } else {
            3
        },
    )
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Segment(args) => cmd_segment(args),
        Command::Link(cmd) => cmd_link(cmd),
        Command::Run(args) => cmd_run(args),
        Command::Send(args) => cmd_send(args),
        Command::Check(args) => cmd_check(args),
        Command::Preview(args) => cmd_preview(args),
        Command::Serve(args) => crate::serve::serve(args),
        Command::Report { outbox } => {
            let path = crate::report::report(&outbox)?;
            out!("report: {}", path.display());
            Ok(0)
        }
        Command::Outbox(OutboxCommand::Show { outbox, id }) => cmd_outbox_show(&outbox, &id),
        Command::Gen(args) => {
            let t = Instant::now();
            let mut stats = generate(&GenOptions {
                customers: args.customers,
                seed: args.seed,
                as_of: args.as_of,
                out: args.out.clone(),
            })?;
            stats.customers = args.customers;
            let mut line = Vec::new();
            stats.write_line(&mut line).expect("writing to memory");
            eprint!(
                "wrote {}: {}",
                args.out.display(),
                String::from_utf8_lossy(&line)
            );
            eprintln!("in {:.2} s", t.elapsed().as_secs_f64());
            Ok(0)
        }
    }
}

pub(crate) fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if !(1..=1024).contains(&n) {
            return Err(Error::Usage(format!("--threads {n} (expected 1 to 1024)")));
        }
        // Only the first call in a process can size the pool; tests call `run` once.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    Ok(())
}

/// The first stages every data command shares: campaign, rules, load, validate.
pub struct Prepared {
    pub campaign: Campaign,
    pub rules: RuleSet,
    pub validated: Validated,
}

fn prepare(args: &DataArgs) -> Result<Prepared> {
    set_threads(args.threads)?;
    let campaign = Campaign::load(
        &args.campaign,
        &Overrides {
            data: args.data.clone(),
            as_of: args.as_of,
            rules: None,
        },
    )?;
    let rules = RuleSet::load_with_budget(&campaign.segments, campaign.limits.rule_steps())?;
    prepare_data(campaign, rules)
}

fn prepare_data(campaign: Campaign, rules: RuleSet) -> Result<Prepared> {
    let t = Instant::now();
    let loaded = load(&campaign.data)?;
    let validated = validate(loaded);
    log(&format!(
        "read {} customers ({} rejected); kept {} invoices, {} payments, {} events in {:.2} s",
        validated.intake.customers,
        validated.intake.rejected_customers,
        validated.dataset.invoices.len(),
        validated.dataset.payments.len(),
        validated.dataset.events.len(),
        t.elapsed().as_secs_f64()
    ));
    report_defects(&validated);
    Ok(Prepared {
        campaign,
        rules,
        validated,
    })
}

/// Status lines go to stderr so stdout stays the command's result.
fn log(line: &str) {
    eprintln!("{line}");
}

/// Prints warnings and rejections, capped so a broken export does not flood a terminal
/// (the full list is in rejected.csv).
fn report_defects(v: &Validated) {
    const SHOWN: usize = 20;
    for d in v.warnings.iter().take(SHOWN) {
        eprintln!("{d}");
    }
    if v.warnings.len() > SHOWN {
        eprintln!("… and {} more warnings", v.warnings.len() - SHOWN);
    }
    for d in v.rejected.iter().take(SHOWN) {
        eprintln!("{d}");
    }
    if v.rejected.len() > SHOWN {
        eprintln!(
            "… and {} more rejected rows (see rejected.csv)",
            v.rejected.len() - SHOWN
        );
    }
}

#[derive(serde::Serialize)]
struct SegmentSummary<'a> {
    campaign: &'a str,
    as_of: String,
    rules: String,
    intake: &'a Intake,
    /// Customers segmented + customers rejected (by validation or by a failing rule)
    /// = customers in the export.
    reconciliation: Reconciliation,
    clusters: BTreeMap<&'static str, ClusterSummary>,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Reconciliation {
    pub customers_in: usize,
    pub segmented: usize,
    pub rejected: usize,
    pub balanced: bool,
    pub open_amount_in: BTreeMap<String, Decimal>,
    pub open_amount_segmented: BTreeMap<String, Decimal>,
    pub open_amount_rejected: BTreeMap<String, Decimal>,
}

#[derive(serde::Serialize, Default)]
struct ClusterSummary {
    customers: usize,
    overdue_amount: BTreeMap<String, Decimal>,
}

fn cmd_segment(args: SegmentArgs) -> Result<i32> {
    let p = prepare(&args.data)?;
    let other = args
        .rules
        .as_deref()
        .map(|r| RuleSet::load_with_budget(r, p.campaign.limits.rule_steps()))
        .transpose()?;
    if args.data.strict && !p.validated.rejected.is_empty() {
        eprintln!(
            "--strict: {} rows rejected; nothing written",
            p.validated.rejected.len()
        );
        return Ok(1);
    }
    let t = Instant::now();
    let data = &p.validated.dataset;
    let seg = segment(data, &p.rules, p.campaign.as_of);
    log(&format!(
        "segmented {} customers in {:.2} s",
        data.len(),
        t.elapsed().as_secs_f64()
    ));

    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    outbox::write_segments(&args.out.join("segments.csv"), data, &p.rules, &seg)?;
    outbox::write_rejected(
        &args.out.join("rejected.csv"),
        p.validated.rejected.iter().chain(&seg.failures),
    )?;
    let rec = reconcile(&p.validated, data, &seg);
    let clusters = cluster_table(&seg);
    let summary = SegmentSummary {
        campaign: &p.campaign.name,
        as_of: p.campaign.as_of.to_string(),
        rules: p.rules.file.display().to_string(),
        intake: &p.validated.intake,
        reconciliation: rec.clone(),
        clusters,
    };
    outbox::write_json(&args.out.join("summary.json"), &summary)?;

    print_clusters(&summary);
    if let Some(other) = &other {
        print_migration(&p.rules, other, &seg);
    }
    out!(
        "written: {}",
        ["segments.csv", "rejected.csv", "summary.json"]
            .map(|f| args.out.join(f).display().to_string())
            .join(", ")
    );
    if !rec.balanced {
        eprintln!("internal error: counts do not reconcile: {rec:?}");
        return Ok(1);
    }
    Ok(if rec.rejected > 0 { 3 } else { 0 })
}

fn cmd_link(cmd: LinkCommand) -> Result<i32> {
    use crate::link::{Claims, Signer};
    match cmd {
        LinkCommand::Sign {
            campaign,
            customer,
            amount,
            currency,
            expires,
            base_url,
            secret_env,
        } => {
            let base_url = base_url
                .map(|b| crate::link::check_base_url(&b))
                .transpose()
                .map_err(|m| Error::Usage(format!("--base-url {m}")))?;
            let signer = Signer::from_env(&secret_env)?;
            let currency = Currency::parse(&currency).map_err(Error::Usage)?;
            let amount = crate::money::parse_amount(&amount, Some(currency), false)
                .map_err(|m| Error::Usage(format!("--amount {m}")))?;
            let claims = Claims::new(&campaign, &customer, amount, currency, expires)
                .map_err(|m| Error::Usage(format!("--expires/--amount: {m}")))?;
            let token = signer.sign(&claims);
            out!("{token}");
            if let Some(base) = base_url {
                out!(
                    "{}",
                    crate::link::url(&base, &token, &campaign, "web", "manual")
                );
                out!("{}", crate::link::short_url(&base, &signer.short(&claims)));
            }
            Ok(0)
        }
        LinkCommand::Verify {
            token,
            today,
            secret_env,
        } => {
            let signer = Signer::from_env(&secret_env)?;
            let today = today.unwrap_or_else(today_utc);
            match signer.verify(&token, today) {
                Ok(claims) => {
                    out!(
                        "{}",
                        serde_json::to_string_pretty(&claims).expect("claims serialise")
                    );
                    Ok(0)
                }
                Err(why) => {
                    eprintln!("invalid token: {why}");
                    Ok(1)
                }
            }
        }
    }
}

/// Today's date in UTC: the one place dunwell reads the clock (verifying a link's expiry
/// on the portal side; never for anything written to an outbox).
fn today_utc() -> chrono::NaiveDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map_or(chrono::NaiveDate::MIN, |t| t.date_naive())
}

/// Every input customer is segmented or rejected; amounts likewise.
pub fn reconcile(v: &Validated, data: &Dataset, seg: &Segmentation) -> Reconciliation {
    let segmented = seg.assignments.iter().filter(|a| a.is_some()).count();
    let rule_failures = seg.assignments.len() - segmented;
    let mut open_segmented: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut open_rejected = v.intake.rejected_open_amount.clone();
    for (i, a) in seg.assignments.iter().enumerate() {
        let target = if a.is_some() {
            &mut open_segmented
        } else {
            &mut open_rejected
        };
        let view = data.view(i);
        for inv in view.invoices {
            let open = inv.open_amount();
            if !open.is_zero() {
                crate::money::add_to(target, inv.currency, open);
            }
        }
    }
    let customers_in = v.intake.customers;
    let rejected = v.intake.rejected_customers + rule_failures;
    let mut sum = open_segmented.clone();
    for (k, a) in &open_rejected {
        *sum.entry(k.clone()).or_default() += a;
    }
    let balanced = customers_in == segmented + rejected && sum == v.intake.open_amount;
    Reconciliation {
        customers_in,
        segmented,
        rejected,
        balanced,
        open_amount_in: v.intake.open_amount.clone(),
        open_amount_segmented: open_segmented,
        open_amount_rejected: open_rejected,
    }
}

fn cluster_table(seg: &Segmentation) -> BTreeMap<&'static str, ClusterSummary> {
    let mut out: BTreeMap<&'static str, ClusterSummary> = Cluster::ALL
        .iter()
        .map(|c| (c.as_str(), ClusterSummary::default()))
        .collect();
    for (a, f) in seg.assignments.iter().zip(&seg.features) {
        let Some(a) = a else { continue };
        let s = out
            .get_mut(a.cluster.as_str())
            .expect("every cluster listed");
        s.customers += 1;
        add_overdue(&mut s.overdue_amount, f);
    }
    out
}

fn add_overdue(map: &mut BTreeMap<String, Decimal>, f: &Features) {
    if let Some(c) = f.currency
        && !f.overdue_amount.is_zero()
    {
        crate::money::add_to(map, c, f.overdue_amount);
    }
}

fn amounts(map: &BTreeMap<String, Decimal>) -> String {
    if map.is_empty() {
        return "—".into();
    }
    map.iter()
        .map(|(c, a)| {
            let text = Currency::parse(c)
                .map_or_else(|_| a.to_string(), |cur| crate::money::plain(*a, cur));
            format!("{c} {}", group_thousands(&text))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn group_thousands(s: &str) -> String {
    let (int, frac) = s.split_once('.').map_or((s, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

fn print_clusters(s: &SegmentSummary<'_>) {
    let r = &s.reconciliation;
    out!("{} — as of {} — rules {}", s.campaign, s.as_of, s.rules);
    out!(
        "customers in export: {}   segmented: {}   rejected: {}",
        r.customers_in,
        r.segmented,
        r.rejected
    );
    out!();
    out!(
        "{:<14} {:>10} {:>7}  overdue",
        "cluster",
        "customers",
        "share"
    );
    for (name, c) in &s.clusters {
        let share = if r.segmented == 0 {
            0.0
        } else {
            100.0 * c.customers as f64 / r.segmented as f64
        };
        out!(
            "{name:<14} {:>10} {share:>6.1}%  {}",
            c.customers,
            amounts(&c.overdue_amount)
        );
    }
    out!("{:<14} {:>10}", "total", r.segmented);
    out!();
}

fn print_migration(current: &RuleSet, other: &RuleSet, seg: &Segmentation) {
    let n = Cluster::ALL.len();
    let mut m = vec![vec![0usize; n + 1]; n];
    let mut failed = 0;
    for (a, f) in seg.assignments.iter().zip(&seg.features) {
        let Some(a) = a else { continue };
        let row = Cluster::ALL.iter().position(|c| *c == a.cluster).unwrap();
        match other.assign(f) {
            Ok(b) => m[row][Cluster::ALL.iter().position(|c| *c == b.cluster).unwrap()] += 1,
            Err(_) => {
                m[row][n] += 1;
                failed += 1;
            }
        }
    }
    out!(
        "migration: rows = {} → columns = {}",
        current.file.display(),
        other.file.display()
    );
    out_part!("{:<14}", "");
    for c in Cluster::ALL {
        out_part!(" {:>12}", c.as_str());
    }
    if failed > 0 {
        out_part!(" {:>12}", "failed");
    }
    out!(" {:>8}", "moved");
    for (i, c) in Cluster::ALL.iter().enumerate() {
        out_part!("{:<14}", c.as_str());
        for v in m[i].iter().take(n) {
            out_part!(" {v:>12}");
        }
        if failed > 0 {
            out_part!(" {:>12}", m[i][n]);
        }
        let moved: usize = m[i]
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, v)| v)
            .sum();
        out!(" {moved:>8}");
    }
    out!();
}

/// Exposed for tests: parse a command line and run it, returning the exit code.
pub fn run_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => match run(cli) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{e}");
                if matches!(e, Error::Usage(_)) { 2 } else { 1 }
            }
        },
        Err(_) => 2,
    }
}

fn cmd_run(args: RunArgs) -> Result<i32> {
    let p = prepare(&args.data)?;
    if args.data.strict && !p.validated.rejected.is_empty() {
        eprintln!(
            "--strict: {} rows rejected; nothing written",
            p.validated.rejected.len()
        );
        return Ok(1);
    }
    let opts = crate::run::RunOptions {
        out: args.out,
        sample: args.sample,
        segment: args.segment,
        channels: args.channels,
        shard: args.shard,
        eml: args.eml,
    };
    let done = crate::run::run(&p, &opts)?;
    print_run_summary(&done.summary, &opts.out);
    if !done.summary.balanced {
        eprintln!("internal error: customers do not reconcile");
        return Ok(1);
    }
    Ok(
        if done.summary.rejected_customers > 0 || done.render_failures > 0 {
            3
        } else {
            0
        },
    )
}

/// What `run` did, as a credit manager reads it: a table of messages by cluster and
/// channel, then the exclusions by reason.
fn print_run_summary(summary: &crate::run::RunSummary, out: &std::path::Path) {
    out!(
        "{} — as of {}{}",
        summary.campaign,
        summary.as_of,
        summary
            .shard
            .as_ref()
            .map(|s| format!(" — shard {s}"))
            .unwrap_or_default()
    );
    out!(
        "customers: {} in = {} planned + {} excluded + {} rejected",
        summary.customers_in,
        summary.planned_customers,
        summary.excluded_customers,
        summary.rejected_customers
    );
    let channels: Vec<&String> = summary.by_channel.keys().collect();
    out!();
    out_part!("{:<16}", "messages");
    for ch in &channels {
        out_part!("{:>10}", ch);
    }
    out!("{:>10}", "total");
    for (cluster, row) in &summary.by_cluster_channel {
        out_part!("{:<16}", cluster);
        for ch in &channels {
            out_part!("{:>10}", row.get(*ch).copied().unwrap_or(0));
        }
        out!("{:>10}", row.values().sum::<usize>());
    }
    out_part!("{:<16}", "total");
    for ch in &channels {
        out_part!("{:>10}", summary.by_channel[*ch]);
    }
    out!("{:>10}", summary.messages);
    if summary.sms_segments > 0 {
        out!("sms segments: {}", summary.sms_segments);
    }
    out!();
    if summary.exclusions_by_reason.is_empty() {
        out!("exclusions: none");
    } else {
        out!("exclusions");
        for (reason, n) in &summary.exclusions_by_reason {
            out!("  {reason:<30}{n:>8}");
        }
    }
    out!();
    out!("outbox: {}", out.display());
}

fn cmd_outbox_show(outbox: &std::path::Path, id: &str) -> Result<i32> {
    // Only a complete outbox, its entries checked to point inside it.
    let sealed = crate::outbox::seal::Outbox::open(outbox)?;
    let Some(entry) = sealed.entries.iter().find(|e| e.id == id) else {
        return Err(Error::Usage(format!(
            "no message `{}` in {}",
            id.escape_debug(),
            outbox.join("manifest.jsonl").display()
        )));
    };
    if entry.channel == "sms" {
        let path = outbox.join("sms.jsonl");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l)
                .map_err(|e| Error::Refused(format!("{}: {e}", path.display())))?;
            if v["id"] == id {
                out!("{}", v["text"].as_str().unwrap_or(""));
                return Ok(0);
            }
        }
        return Err(Error::Refused(format!(
            "{}: no SMS `{}` although the manifest lists it",
            path.display(),
            id.escape_debug()
        )));
    }
    let bytes = sealed.stored_bytes(entry).map_err(Error::Refused)?;
    out_part!("{}", String::from_utf8_lossy(&bytes));
    Ok(0)
}
