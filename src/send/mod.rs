//! The send stage, `dunwell send OUTBOX`: delivers exactly what `run` wrote — the
//! reviewed bytes, checked against their SHA-256 — once.
//!
//! Every message has a row in the journal (`journal.rs`); a message is claimed in a
//! committed transaction before it goes out and its outcome is committed after, so a
//! send killed at any moment resumes without sending anything twice: delivered messages
//! are skipped, messages that were in flight are `unknown` and listed (resent only with
//! `--resend-unknown`). Many SMTP connections work at once (`--concurrency`), paced by
//! `--rate`; 4xx replies and lost connections are retried with exponential backoff and
//! jitter, 5xx replies are final. One `send` per outbox at a time (a lock on the folder).

pub mod dkim;
pub mod gateway;
pub mod history;
pub mod journal;
pub mod record;
pub mod smtp;

use crate::dataset::Channel;
use crate::diag::{Diagnostic, Error, Result};
use crate::outbox::Entry;
use crate::outbox::summary::{DeliverySummary, Rejected, RunSummary};
use journal::{Journal, Outcome, State};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `dunwell send` was asked for.
#[derive(Debug, Clone)]
pub struct SendOptions {
    pub outbox: PathBuf,
    /// Messages per second; `None` is as fast as the server takes them.
    pub rate: Option<f64>,
    pub concurrency: usize,
    /// The time to send as of (tests); the clock otherwise. It advances with the run.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    pub to_override: Option<String>,
    /// Every SMS to this number instead, the real one named in the text.
    pub sms_to_override: Option<String>,
    pub limit: Option<usize>,
    pub only_cluster: Option<String>,
    pub dry_run: bool,
    pub resend_unknown: bool,
    pub max_attempts: u32,
    pub retry_base: Duration,
    /// The outbox was moved (not copied) to this folder after sending began.
    pub moved: bool,
    /// Every network step (connect, each SMTP command, the data, QUIT; an SMS request)
    /// gives up after this long.
    pub timeout: Duration,
    /// Payments received since the export: the e-mails and SMS of customers who paid
    /// are cancelled before anything is claimed.
    pub payments: Vec<PathBuf>,
}

/// What `--payments` found and did.
#[derive(Debug, Default, serde::Serialize)]
pub struct PaymentsSeen {
    /// Payments read from the files.
    pub received: usize,
    /// Dated on or before the export's `as_of`: the export has them.
    pub before_export: usize,
    pub matched: usize,
    /// Payments that found no claim, with the reason (also in payments-unmatched.csv).
    #[serde(skip)]
    pub unmatched: Vec<crate::received::Unmatched>,
    /// Messages cancelled by this send (a dry run: that would be): id, state, why.
    pub cancelled: Vec<(String, State, String)>,
}

/// What a send did, for the summary and the exit code.
#[derive(Debug, Default, serde::Serialize)]
pub struct SendReport {
    /// Messages per journal state after this run.
    pub states: BTreeMap<State, u64>,
    pub delivered_now: u64,
    pub attempts_now: u64,
    pub unknown: Vec<(String, String)>,
    pub rejected: Vec<(String, String)>,
    pub scheduled_later: u64,
    pub next_scheduled: Option<String>,
    pub dry_run: bool,
    /// SMS left pending because no gateway is configured.
    pub sms_without_gateway: u64,
    /// Why the send stopped before everything due was offered, if it did.
    pub stopped: Option<String>,
    /// The journal recorded this send (not a dry run, not a test send), so the
    /// outbox's report has outcomes to show.
    pub journaled: bool,
    /// `--payments`: what was received and cancelled.
    pub payments: Option<PaymentsSeen>,
}

/// Parses `100/s`, `6000/min`, `50000/h` (or a bare number per second).
pub fn parse_rate(s: &str) -> std::result::Result<f64, String> {
    let (n, unit) = s.split_once('/').unwrap_or((s, "s"));
    let n: f64 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a rate (expected e.g. 100/s, 6000/min, 50000/h)"))?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        u => {
            return Err(format!(
                "unknown unit `{u}` in `{s}` (expected s, min or h)"
            ));
        }
    };
    let rate = n / per;
    // One message an hour to a million a second: beyond that the spacing between
    // messages is no longer a time a clock can hold (and tokio's interval panics on 0).
    if !(1.0 / 3600.0..=1_000_000.0).contains(&rate) || !rate.is_finite() {
        return Err(format!(
            "`{s}` is out of range (expected from 1/h to 1000000/s)"
        ));
    }
    Ok(rate)
}

/// The clock of a send: `--now` moves forward with the run, so retries come due.
#[derive(Clone, Copy)]
struct Clock {
    start: Instant,
    base_ms: i64,
}

impl Clock {
    fn new(now: Option<chrono::DateTime<chrono::Utc>>) -> Clock {
        let base = now.unwrap_or_else(|| chrono::DateTime::from(std::time::SystemTime::now()));
        Clock {
            start: Instant::now(),
            base_ms: base.timestamp_millis(),
        }
    }

    fn ms(&self) -> i64 {
        self.base_ms + self.start.elapsed().as_millis() as i64
    }
}

/// Reads messages back from the outbox, as `run` wrote them.
struct Store {
    root: PathBuf,
    /// Each message file once, with its size when opened: one open and one stat per
    /// file, not per message. A file cut short later fails the read itself.
    files: std::sync::Mutex<HashMap<String, (Arc<std::fs::File>, u64)>>,
}

impl Store {
    fn bytes(&self, e: &Entry) -> std::result::Result<Vec<u8>, String> {
        use std::os::unix::fs::FileExt;
        let (file, size) = {
            let mut files = self.files.lock().expect("not poisoned");
            match files.get(&e.path) {
                Some((f, size)) => (f.clone(), *size),
                None => {
                    let f = std::fs::File::open(self.root.join(&e.path))
                        .map_err(|err| format!("{}: {err}", e.path))?;
                    let size = f
                        .metadata()
                        .map_err(|err| format!("{}: {err}", e.path))?
                        .len();
                    let f = Arc::new(f);
                    files.insert(e.path.clone(), (f.clone(), size));
                    (f, size)
                }
            }
        };
        crate::outbox::reader::check_span(e, size)?;
        let mut buf = vec![0; e.length as usize];
        file.read_exact_at(&mut buf, e.offset)
            .map_err(|err| format!("{}: {err}", e.path))?;
        // Most messages have no line that mboxrd quoted: no second copy for them.
        let bytes = if e.path.ends_with(".mbox")
            && (buf.first() == Some(&b'>') || memchr::memmem::find(&buf, b"\n>").is_some())
        {
            crate::outbox::mboxrd_unescape(&buf)
        } else {
            buf
        };
        // What is sent is what was reviewed.
        if crate::hash::sha256_hex(&bytes) != e.sha256 {
            return Err(format!(
                "{} changed since `dunwell run` wrote it (SHA-256 differs): not sent",
                e.id
            ));
        }
        Ok(bytes)
    }
}

/// The value of a header (first occurrence, unfolded: a long `To:` with a name is
/// folded over several lines), from raw message bytes.
fn header(message: &[u8], name: &str) -> Option<String> {
    let head_end = memchr::memmem::find(message, b"\r\n\r\n").unwrap_or(message.len());
    let head = std::str::from_utf8(&message[..head_end]).ok()?;
    let mut lines = head.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            let mut value = v.to_string();
            while let Some(next) = lines.peek()
                && next.starts_with([' ', '\t'])
            {
                value.push_str(next);
                lines.next();
            }
            return Some(value.trim().to_string());
        }
    }
    None
}

/// The address in a header value (`Name <a@b>` or `a@b`).
fn address_in(value: &str) -> Option<lettre::Address> {
    let raw = match (value.rfind('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value,
    };
    raw.trim().parse().ok()
}

/// A test send: every message to one inbox, the real recipient shown.
fn redirect(message: &[u8], original: &str) -> Vec<u8> {
    let original = crate::email::header_text(original);
    let mut out = Vec::with_capacity(message.len() + 128);
    out.extend_from_slice(format!("X-Dunwell-Original-To: {original}\r\n").as_bytes());
    let head_end = memchr::memmem::find(message, b"\r\n\r\n").unwrap_or(message.len());
    let mut done = false;
    let mut start = 0;
    while start < head_end {
        let end = memchr::memmem::find(&message[start..head_end], b"\r\n")
            .map_or(head_end, |k| start + k);
        let line = &message[start..end];
        if !done && line.len() > 8 && line[..8].eq_ignore_ascii_case(b"Subject:") {
            out.extend_from_slice(b"Subject: [TEST for ");
            out.extend_from_slice(original.as_bytes());
            out.extend_from_slice(b"]");
            out.extend_from_slice(&line[8..]);
            done = true;
        } else {
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b"\r\n");
        start = end + 2;
    }
    if head_end < message.len() {
        out.extend_from_slice(&message[head_end + 2..]);
    }
    out
}

enum Payload {
    Email {
        from: lettre::Address,
        to: lettre::Address,
        bytes: Vec<u8>,
    },
    Sms {
        to: String,
        text: String,
    },
}

struct Job {
    id: String,
    payload: Payload,
    attempts: u32,
}

/// Delay before the next try: base × 2^(attempt-1), at most an hour, ±20 % jitter
/// (from the id, so that a thousand deferred messages do not come back at once).
fn backoff(base: Duration, attempts: u32, id: &str) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
    let capped = exp.min(Duration::from_secs(3600));
    let h = crate::hash::shard_of(&format!("{id}/{attempts}"), 1000) as f64 / 1000.0;
    capped.mul_f64(0.8 + 0.4 * h)
}

pub fn send(opts: &SendOptions) -> Result<SendReport> {
    let outbox = &opts.outbox;
    // Payment files that cannot be read stop the send before anything is touched.
    let received = if opts.payments.is_empty() {
        None
    } else {
        Some(crate::received::read(&opts.payments)?)
    };
    // Only a complete outbox, as sealed by `run`, is sent.
    let sealed = crate::outbox::Outbox::open(outbox)?;
    // Matched against every message's claim (letters and pages too: a payment of a
    // customer who gets only a letter is matched, not listed as unmatched).
    let matching = match &received {
        Some(r) => Some(crate::received::match_payments(
            r,
            crate::outbox::reader::claims(&sealed.entries),
            sealed.seal.as_of_date()?,
        )),
        None => None,
    };
    let manifest_sha = sealed
        .seal
        .files
        .get("manifest.jsonl")
        .map(|f| f.sha256.clone())
        .unwrap_or_default();
    // The SMS numbers and texts, by id (sealed with the manifest).
    let sms_texts: HashMap<String, (String, String)> =
        if sealed.entries.iter().any(|e| e.channel == Channel::Sms) {
            sealed
                .sms()?
                .into_iter()
                .map(|(id, s)| (id, (s.to, s.text)))
                .collect()
        } else {
            HashMap::new()
        };
    let entries: Vec<Entry> = sealed
        .entries
        .into_iter()
        .filter(|e| e.channel == Channel::Email || e.channel == Channel::Sms)
        .collect();
    // One sender per outbox, and no `run` under it: the folder itself is locked (a lock
    // file could be deleted).
    let _lock = crate::outbox::folder::Lock::take(outbox, "send")?;
    let clock = Clock::new(opts.now);
    let seeded = entries.iter().enumerate().map(|(k, e)| {
        let at = chrono::DateTime::parse_from_rfc3339(&e.scheduled_at)
            .map(|d| d.timestamp_millis())
            .unwrap_or(0);
        (k, e, at)
    });
    // A test send goes to a team inbox: its messages must stay to be sent for real, so
    // it never touches the outbox's journal (and sends only what it redirects).
    let test = opts.to_override.is_some() || opts.sms_to_override.is_some();
    // A journaled send adds its outcomes to summary.json when it ends: a summary that
    // cannot be read is refused now, before anything is sent, not after.
    let mut summary = if opts.dry_run || test {
        None
    } else {
        Some(RunSummary::read(outbox)?)
    };
    let (mut journal, mut record) = if opts.dry_run {
        (Journal::rehearse(outbox, &manifest_sha, seeded)?, None)
    } else if test {
        (Journal::in_memory(&manifest_sha, seeded)?, None)
    } else {
        let (j, r) = Journal::begin(outbox, &manifest_sha, seeded, opts.moved)?;
        (j, Some(r))
    };
    // Whatever happens from here — a finished send, a health check that fails, an error
    // half-way — a journal that was begun is stopped cleanly and its record says so.
    let result = (|| -> Result<SendReport> {
        let journal_id = journal.id()?;
        let changed = journal.changed(entries.iter())?;
        if !changed.is_empty() {
            return Err(Error::Refused(format!(
                "{} message(s) in {} differ from what this outbox's journal recorded (e.g. {}): the outbox was rendered again or edited after sending began; send a new outbox instead",
                changed.len(),
                outbox.display(),
                changed[0]
            )));
        }
        let orphans = if record.is_some() {
            journal.orphans_to_unknown(clock.ms())?
        } else {
            0
        };
        if orphans > 0 {
            eprintln!(
                "{orphans} message(s) were in flight when the last send stopped: marked unknown (see `--resend-unknown`)"
            );
        }
        if opts.resend_unknown && record.is_some() {
            let n = journal.release_unknown()?;
            eprintln!("{n} unknown message(s) will be sent again (--resend-unknown)");
        }
        // Right before anything is claimed: a customer who paid since the export gets no
        // reminder. Cancelled once, in one transaction, for every waiting message — the
        // payment files do not change while this send runs, and a message scheduled for
        // later is checked again by the send that finds it due (given newer files).
        let payments = match (&matching, &received) {
            (Some(m), Some(r)) => {
                let cancels: Vec<(String, State, String)> = entries
                    .iter()
                    .filter_map(|e| {
                        // Any currency paid since the export: the message would claim
                        // what is no longer owed.
                        let (why, paid, claim) =
                            e.currencies().find_map(|c| m.verdict(&e.customer_id, c))?;
                        Some((
                            e.id.clone(),
                            State::cancelled(why),
                            crate::received::Matching::describe(why, paid, claim),
                        ))
                    })
                    .collect();
                let cancelled = journal.cancel(&cancels, clock.ms(), opts.dry_run)?;
                if record.is_some() {
                    crate::received::write_unmatched(
                        &outbox.join(crate::received::UNMATCHED),
                        &m.unmatched,
                    )?;
                }
                Some(PaymentsSeen {
                    received: r.len(),
                    before_export: m.before_export,
                    matched: m.matched,
                    unmatched: m.unmatched.clone(),
                    cancelled,
                })
            }
            _ => None,
        };
        let by_id: HashMap<&str, &Entry> = entries.iter().map(|e| (e.id.as_str(), e)).collect();
        let store = Store {
            root: outbox.clone(),
            files: Default::default(),
        };
        let override_to: Option<lettre::Address> = match &opts.to_override {
            Some(a) => Some(
                a.parse()
                    .map_err(|e| Error::Usage(format!("--to-override `{a}`: {e}")))?,
            ),
            None => None,
        };

        let waiting = journal.waiting()?;
        let emails_waiting = waiting.get("email").copied().unwrap_or(0);
        let sms_waiting = waiting.get("sms").copied().unwrap_or(0);
        let sms_cfg = if sms_waiting > 0 && (!test || opts.sms_to_override.is_some()) {
            gateway::Config::from_env()?.map(|mut c| {
                c.timeout = opts.timeout;
                c
            })
        } else {
            None
        };
        let first_from = entries
            .iter()
            .find(|e| e.channel == Channel::Email)
            .and_then(|e| store.bytes(e).ok())
            .and_then(|b| header(&b, "From").as_deref().and_then(address_in));
        let dkim = dkim::Dkim::from_env(first_from.as_ref().map_or("", |a| a.domain()))?;

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Unavailable(format!("cannot start the async runtime: {e}")))?;
        let cfg = if emails_waiting > 0 && (!test || override_to.is_some()) {
            let mut cfg = smtp::Config::from_env()?;
            cfg.timeout = opts.timeout;
            // The health check: connect, EHLO, STARTTLS/AUTH as configured, QUIT.
            rt.block_on(async {
                let c = smtp::connect(&cfg).await?;
                smtp::quit(c, cfg.timeout).await;
                Ok::<_, String>(())
            })
            .map_err(|m| {
                Error::Config(vec![Diagnostic::whole_file(
                    "DUNWELL_SMTP_URL",
                    format!(
                        "SMTP health check failed for {}:{}: {m}",
                        cfg.host, cfg.port
                    ),
                )])
            })?;
            Some(cfg)
        } else {
            None
        };

        let mut report = SendReport {
            dry_run: opts.dry_run,
            sms_without_gateway: if sms_cfg.is_none() && !test {
                sms_waiting
            } else {
                0
            },
            payments,
            ..SendReport::default()
        };
        let channels = (cfg.is_some(), sms_cfg.is_some());
        if (channels.0 || channels.1) && !opts.dry_run {
            let http = match &sms_cfg {
                Some(c) => Some(
                    gateway::client(c)
                        .map_err(|m| Error::Unavailable(format!("SMS gateway: {m}")))?,
                ),
                None => None,
            };
            let sms_cfg = Arc::new(sms_cfg);
            let http = Arc::new(http);
            let concurrency = opts.concurrency.max(1);
            let (job_tx, job_rx) = tokio::sync::mpsc::channel::<Job>(concurrency);
            let job_rx = Arc::new(tokio::sync::Mutex::new(job_rx));
            let (res_tx, mut res_rx) =
                tokio::sync::mpsc::unbounded_channel::<(String, u32, smtp::Sent)>();
            let cfg = Arc::new(cfg);
            rt.block_on(async {
            let mut workers = Vec::new();
            for _ in 0..concurrency {
                let rx = job_rx.clone();
                let tx = res_tx.clone();
                let cfg = cfg.clone();
                let sms_cfg = sms_cfg.clone();
                let http = http.clone();
                let journal_id = journal_id.clone();
                workers.push(tokio::spawn(async move {
                    let mut conn: Option<lettre::transport::smtp::client::AsyncSmtpConnection> =
                        None;
                    loop {
                        let job = { rx.lock().await.recv().await };
                        let Some(job) = job else { break };
                        let sent =
                            match (&job.payload, cfg.as_ref(), sms_cfg.as_ref(), http.as_ref()) {
                                (Payload::Email { from, to, bytes }, Some(cfg), _, _) => {
                                    if conn.is_none() {
                                        match smtp::connect(cfg).await {
                                            Ok(c) => conn = Some(c),
                                            Err(m) => {
                                                let _ = tx.send((
                                                    job.id,
                                                    job.attempts,
                                                    smtp::Sent::Unreachable(m),
                                                ));
                                                continue;
                                            }
                                        }
                                    }
                                    let c = conn.as_mut().expect("connected");
                                    let sent =
                                        smtp::transaction(c, from, to, bytes, cfg.timeout).await;
                                    if !matches!(sent, smtp::Sent::Accepted(_))
                                        && let Some(c) = conn.take()
                                    {
                                        smtp::abort(c, cfg.timeout).await;
                                    }
                                    sent
                                }
                                (Payload::Sms { to, text }, _, Some(g), Some(client)) => {
                                    let key = gateway::idempotency_key(&journal_id, &job.id);
                                    gateway::send(client, g, &job.id, &key, to, text).await
                                }
                                _ => smtp::Sent::Transient(
                                    "no transport configured for this channel".into(),
                                ),
                            };
                        let _ = tx.send((job.id, job.attempts, sent));
                    }
                    if let (Some(c), Some(cfg)) = (conn, cfg.as_ref()) {
                        smtp::quit(c, cfg.timeout).await;
                    }
                }));
            }
            drop(res_tx);
            let mut ticker = opts.rate.map(|r| {
                let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / r));
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            let mut in_flight = 0usize;
            let mut claimed = 0usize;
            let mark = match &record {
                Some(_) => Some(record::Mark::open(outbox)?),
                None => None,
            };
            let mut claims_made = journal.claims()?;
            let mut outcomes: Vec<(String, Outcome)> = Vec::new();
            let mut unreachable_in_a_row = 0usize;
            let burst = if opts.rate.is_some() { 1 } else { concurrency };
            loop {
                while let Ok((id, attempts, sent)) = res_rx.try_recv() {
                    in_flight -= 1;
                    report.attempts_now += 1;
                    outcomes.push((id.clone(), outcome(&id, attempts, sent, opts, clock.ms())));
                }
                if !outcomes.is_empty() {
                    // Every connection failing in a row: the server is down. Stop offering
                    // messages (they keep their attempts) instead of cycling through all.
                    for (_, o) in &outcomes {
                        match o {
                            Outcome::Deferred { counted: false, .. } => unreachable_in_a_row += 1,
                            _ => unreachable_in_a_row = 0,
                        }
                    }
                    if unreachable_in_a_row >= concurrency + 3 && report.stopped.is_none() {
                        report.stopped = Some(
                            "the server could not be reached (every connection failed): stopped offering messages; those waiting keep their attempts — run send again when it is back".into(),
                        );
                    }
                }
                // Claim only what a connection is about to take (plus a couple queued):
                // everything claimed and not yet answered is `unknown` after a crash.
                let room = if report.stopped.is_some() {
                    0
                } else {
                    concurrency + 2
                }
                .saturating_sub(in_flight)
                    .min(burst)
                    .min(opts.limit.map_or(usize::MAX, |l| l.saturating_sub(claimed)));
                if room > 0
                    && let Some(t) = ticker.as_mut()
                {
                    // Outcomes are committed as soon as they arrive, not a tick later.
                    if !outcomes.is_empty() {
                        journal.record(&outcomes, clock.ms())?;
                        report.delivered_now += delivered(&outcomes);
                        outcomes.clear();
                    }
                    t.tick().await;
                }
                // The outcomes that arrived (in whatever batch the loop found) and the
                // next claim share one commit: nothing claimed leaves before it, and an
                // outcome not yet committed is `unknown` after a crash.
                let rows = if room > 0 || !outcomes.is_empty() {
                    let rows = journal.step(
                        &outcomes,
                        clock.ms(),
                        &journal::Claim {
                            limit: room,
                            max_attempts: opts.max_attempts,
                            only_cluster: opts.only_cluster.as_deref(),
                            channels,
                        },
                    )?;
                    report.delivered_now += delivered(&outcomes);
                    outcomes.clear();
                    rows
                } else {
                    Vec::new()
                };
                // The high-water mark follows every claim: a journal that later has
                // fewer (an old backup, a lost write-ahead log) is refused.
                if let Some(m) = &mark
                    && !rows.is_empty()
                {
                    claims_made += rows.len() as u64;
                    m.set(claims_made)?;
                }
                for row in &rows {
                    claimed += 1;
                    let e = by_id[row.id.as_str()];
                    let prepared = if e.channel == Channel::Sms {
                        sms_payload(e, &sms_texts, opts.sms_to_override.as_deref())
                    } else {
                        store.bytes(e).and_then(|bytes| {
                            let from = header(&bytes, "From")
                                .as_deref()
                                .and_then(address_in)
                                .ok_or_else(|| format!("{}: no From address", e.id))?;
                            // The envelope goes where the reviewed message says it goes.
                            let header_to = header(&bytes, "To").as_deref().and_then(address_in);
                            if !header_to
                                .as_ref()
                                .is_some_and(|a| a.to_string().eq_ignore_ascii_case(&e.to))
                            {
                                return Err(format!(
                                    "{}: the manifest sends it to `{}`, the message is addressed to {}: not sent",
                                    e.id,
                                    e.to,
                                    header_to.map_or_else(|| "nobody".to_string(), |a| format!("`{a}`"))
                                ));
                            }
                            let (to, bytes) = match &override_to {
                                Some(o) => (o.clone(), redirect(&bytes, &e.to)),
                                None => (
                                    e.to.parse::<lettre::Address>().map_err(|err| {
                                        format!("{}: recipient `{}`: {err}", e.id, e.to)
                                    })?,
                                    bytes,
                                ),
                            };
                            let bytes = match &dkim {
                                Some(d) => d.sign(&bytes)?,
                                None => bytes,
                            };
                            Ok(Payload::Email { from, to, bytes })
                        })
                    };
                    match prepared {
                        Ok(payload) => {
                            in_flight += 1;
                            if job_tx
                                .send(Job {
                                    id: row.id.clone(),
                                    payload,
                                    attempts: row.attempts,
                                })
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                        Err(m) => outcomes.push((row.id.clone(), Outcome::Rejected { reply: m })),
                    }
                }
                if rows.is_empty() {
                    if in_flight > 0 {
                        if let Ok(Some((id, attempts, sent))) =
                            tokio::time::timeout(Duration::from_millis(20), res_rx.recv()).await
                        {
                            in_flight -= 1;
                            report.attempts_now += 1;
                            outcomes
                                .push((id.clone(), outcome(&id, attempts, sent, opts, clock.ms())));
                        }
                        continue;
                    }
                    if !outcomes.is_empty() {
                        continue; // flush first
                    }
                    if opts.limit.is_some_and(|l| claimed >= l) || report.stopped.is_some() {
                        break;
                    }
                    // Deferred messages come due within this run when their backoff is short.
                    match journal.next_retry(opts.max_attempts)? {
                        Some(at) if at - clock.ms() <= 10 * 60 * 1000 => {
                            let wait = (at - clock.ms()).max(1) as u64;
                            tokio::time::sleep(Duration::from_millis(wait)).await;
                        }
                        _ => break,
                    }
                }
            }
            drop(job_tx);
            for w in workers {
                let _ = w.await;
            }
            Ok::<_, Error>(())
        })?;
        }
        let now = clock.ms();
        if record.is_some() {
            journal.give_up(opts.max_attempts, now)?;
        }
        report.states = journal.counts()?;
        report.unknown = journal.ids_in(State::Unknown)?;
        report.rejected = journal.ids_in(State::Rejected)?;
        let (later, next) = journal.later(now)?;
        report.scheduled_later = later;
        report.next_scheduled =
            next.and_then(|ms| chrono::DateTime::from_timestamp_millis(ms).map(|d| d.to_rfc3339()));
        Ok(report)
    })();
    if let Some(rec) = record.as_mut() {
        // A clean stop: the log folded into the journal, the exact count recorded.
        let stopped = journal.finish().and_then(|claims| {
            rec.claims = claims;
            rec.phase = record::Phase::Stopped;
            record::write(outbox, rec)
        });
        let mut report = result?;
        stopped?;
        if let Some(summary) = summary.as_mut() {
            write_delivery(outbox, summary, &report)?;
        }
        report.journaled = true;
        return Ok(report);
    }
    result
}

fn delivered(outcomes: &[(String, Outcome)]) -> u64 {
    outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Delivered { .. }))
        .count() as u64
}

/// An SMS as run wrote it, checked against the manifest's hash.
fn sms_payload(
    e: &Entry,
    texts: &HashMap<String, (String, String)>,
    redirect_to: Option<&str>,
) -> std::result::Result<Payload, String> {
    let (to, text) = texts
        .get(&e.id)
        .ok_or_else(|| format!("{}: not in sms.jsonl", e.id))?;
    // The reviewed number is the manifest's; sms.jsonl must agree with it.
    if *to != e.to {
        return Err(format!(
            "{}: sms.jsonl sends to {to}, the manifest to {}: not sent",
            e.id, e.to
        ));
    }
    if crate::hash::sms_digest(&e.to, text) != e.sha256 {
        return Err(format!(
            "{} changed since `dunwell run` wrote it (its number or text differs from the SHA-256): not sent",
            e.id
        ));
    }
    Ok(match redirect_to {
        Some(r) => Payload::Sms {
            to: r.to_string(),
            text: format!("[TEST for {to}] {text}"),
        },
        None => Payload::Sms {
            to: to.clone(),
            text: text.clone(),
        },
    })
}

fn outcome(id: &str, attempts: u32, sent: smtp::Sent, opts: &SendOptions, now: i64) -> Outcome {
    match sent {
        smtp::Sent::Accepted(reply) => Outcome::Delivered {
            server_id: smtp::server_id(&reply),
            reply,
        },
        smtp::Sent::Permanent(reply) => Outcome::Rejected { reply },
        smtp::Sent::Unknown(reply) => Outcome::Unknown { reply },
        smtp::Sent::Transient(reply) => Outcome::Deferred {
            reply,
            retry_at: now + backoff(opts.retry_base, attempts, id).as_millis() as i64,
            counted: true,
        },
        smtp::Sent::Unreachable(reply) => Outcome::Deferred {
            reply,
            retry_at: now + backoff(opts.retry_base, 1, id).as_millis() as i64,
            counted: false,
        },
    }
}

/// `summary.json` gains `delivery`: messages per state, the unknown ids, the rejected
/// ones with their replies (`report`, run next, adds the outcomes per channel).
fn write_delivery(outbox: &Path, summary: &mut RunSummary, report: &SendReport) -> Result<()> {
    // A send without --payments keeps what the last one with them found.
    let payments = match &report.payments {
        Some(p) => Some(crate::outbox::summary::PaymentsSummary {
            received: p.received,
            before_export: p.before_export,
            matched: p.matched,
            unmatched: p.unmatched.len(),
        }),
        None => summary.delivery.as_ref().and_then(|d| d.payments.clone()),
    };
    summary.delivery = Some(DeliverySummary {
        payments,
        by_channel: None,
        states: report
            .states
            .iter()
            .map(|(s, n)| (s.as_str().to_string(), *n))
            .collect(),
        unknown: Some(report.unknown.iter().map(|(id, _)| id.clone()).collect()),
        rejected: Some(
            report
                .rejected
                .iter()
                .map(|(id, reply)| Rejected {
                    id: id.clone(),
                    reply: reply.clone(),
                })
                .collect(),
        ),
    });
    summary.rewrite(outbox)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("100/s").unwrap(), 100.0);
        assert_eq!(parse_rate("6000/min").unwrap(), 100.0);
        assert_eq!(parse_rate("3600/h").unwrap(), 1.0);
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("1e-300/s").is_err());
        assert!(parse_rate("1e12/s").is_err());
        assert!(parse_rate("NaN/s").is_err());
        assert!(parse_rate("1/h").is_ok());
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn redirect_keeps_the_message_and_names_the_recipient() {
        let m = b"From: A <a@x.example>\r\nTo: B <b@y.example>\r\nSubject: =?utf-8?b?WmFwxYJhdGE=?=\r\n\r\nbody\r\n";
        let r = String::from_utf8(redirect(m, "b@y.example")).unwrap();
        assert!(r.starts_with("X-Dunwell-Original-To: b@y.example\r\n"));
        assert!(r.contains("\r\nSubject: [TEST for b@y.example] =?utf-8?b?WmFwxYJhdGE=?=\r\n"));
        assert!(r.ends_with("\r\n\r\nbody\r\n"));
        assert_eq!(header(m, "from").as_deref(), Some("A <a@x.example>"));
        // A long name folds the header over lines: the address is still found.
        let folded = b"To: =?utf-8?q?Przedsi=C4=99biorstwo_Handlowo-Us=C5=82ugowe?=\r\n =?utf-8?q?Kowalski_sp=2E_z_o=2Eo=2E?= <biuro@kowalski.example>\r\nSubject: x\r\n\r\nbody";
        let to = header(folded, "To").unwrap();
        assert_eq!(
            address_in(&to).unwrap().to_string(),
            "biuro@kowalski.example"
        );
        assert_eq!(
            address_in("A <a@x.example>").unwrap().to_string(),
            "a@x.example"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Duration::from_secs(10);
        assert!(backoff(b, 1, "x") < backoff(b, 3, "x"));
        assert!(backoff(b, 30, "x") <= Duration::from_secs(4320));
    }
}
