//! `dunwell history`: outboxes and bounces recorded into the history store, a customer's
//! timeline.

use super::Exit;
use crate::diag::{Error, Result};
use crate::history::{History, Location};
use std::path::Path;

/// The time a row is recorded at (RFC 3339, UTC): `--now` where a command has it (tests,
/// rehearsals), else the clock. History rows are not part of any outbox's bytes.
pub(super) fn timestamp(now: Option<chrono::DateTime<chrono::Utc>>) -> String {
    let t = now.unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
    });
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn import(outbox: &Path, flag: Option<&str>) -> Result<Exit> {
    let loc = crate::send::history::location_of(outbox, flag)?.ok_or_else(|| {
        Error::Input(format!(
            "{}: the campaign names no history store (add `history: PATH` to it, or give --history PATH)",
            outbox.display()
        ))
    })?;
    let rec = crate::send::history::record(outbox, &loc, "import", &timestamp(None))?;
    let counts = History::open(&loc)?.counts()?;
    out!(
        "history {}: added {} run, {} contact(s), {} invoice claim(s), {} segment row(s); {} state(s) changed",
        loc.describe(),
        rec.added.runs,
        rec.added.contacts,
        rec.added.invoices,
        rec.added.segments,
        rec.states
    );
    out!(
        "the store holds {} run(s), {} contact(s), {} segment row(s)",
        counts.runs,
        counts.contacts,
        counts.segments
    );
    Ok(Exit::Ok)
}

pub fn approve(
    outbox: &Path,
    by: &str,
    flag: Option<&str>,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Exit> {
    let loc = crate::send::history::location_of(outbox, flag)?.ok_or_else(|| {
        Error::Input(format!(
            "{}: the campaign names no history store to record the approval in (add `history: PATH` to it, or give --history PATH)",
            outbox.display()
        ))
    })?;
    let new = crate::send::history::approve(outbox, &loc, by, &timestamp(now))?;
    out!(
        "{}: {} by {} (history {})",
        outbox.display(),
        if new { "approved" } else { "already approved" },
        by.trim(),
        loc.describe()
    );
    Ok(Exit::Ok)
}

pub fn events(
    file: &Path,
    history: &str,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Exit> {
    let loc = Location::parse(history, Path::new("."))
        .map_err(|msg| Error::Usage(format!("--history {history}: {msg}")))?;
    let events = crate::history::events::read(file)?;
    let added = History::open(&loc)?.record_events(&events, &timestamp(now))?;
    out!(
        "history {}: {} event(s) read from {}, {added} new",
        loc.describe(),
        events.len(),
        file.display()
    );
    Ok(Exit::Ok)
}

/// `--history`: a store that exists (a SQLite file that is not there is a typo, not a
/// new store: nothing could be shown or matched in it).
fn existing_store(history: &str) -> Result<Location> {
    let loc = Location::parse(history, Path::new("."))
        .map_err(|msg| Error::Usage(format!("--history {history}: {msg}")))?;
    if let Location::Sqlite(p) = &loc
        && !p.exists()
    {
        return Err(Error::Input(format!(
            "{}: no history store there",
            p.display()
        )));
    }
    Ok(loc)
}

pub fn show(customer: &str, history: &str) -> Result<Exit> {
    let loc = existing_store(history)?;
    let t = History::open(&loc)?.timeline(customer)?;
    let who = crate::diag::escape_control(customer);
    if t.clusters.is_empty() && t.contacts.is_empty() && t.events.is_empty() && t.returns.is_empty()
    {
        out!("{who}: nothing recorded");
        return Ok(Exit::Ok);
    }
    out!("{who}");
    if !t.clusters.is_empty() {
        out!("clusters:");
        for (campaign, as_of, cluster, rule) in &t.clusters {
            out!("  {as_of}  {cluster:<13} rule {rule}  ({campaign})");
        }
    }
    if !t.contacts.is_empty() {
        out!("contacts:");
        for c in &t.contacts {
            out!(
                "  {}  {:<7} {:<14} {} {} — {} at {} (template {}, campaign {})",
                c.scheduled_at,
                c.channel,
                c.stage,
                c.amount,
                c.currency,
                c.state,
                c.state_at,
                c.template,
                c.campaign
            );
            for (number, open) in &c.invoices {
                out!("      {number}  open {open} {}", c.currency);
            }
        }
    }
    if !t.events.is_empty() {
        out!("events:");
        for e in &t.events {
            let promise = if e.promised_date.is_empty() {
                String::new()
            } else {
                format!(
                    " — promised {} by {}",
                    if e.promised_amount.is_empty() {
                        "payment"
                    } else {
                        &e.promised_amount
                    },
                    e.promised_date
                )
            };
            out!(
                "  {}  {:<7} {}{}{}  ({})",
                e.date,
                e.channel,
                e.kind,
                if e.reference.is_empty() {
                    String::new()
                } else {
                    format!(" {}", crate::diag::escape_control(&e.reference))
                },
                promise,
                crate::diag::escape_control(&e.source)
            );
        }
    }
    if !t.returns.is_empty() {
        out!("came back:");
        for (at, kind, status, detail) in &t.returns {
            out!(
                "  {at}  {kind} {status} {}",
                crate::diag::escape_control(detail)
            );
        }
    }
    Ok(Exit::Ok)
}

/// What each kind of notice does, for the summary.
fn meaning(kind: crate::bounce::Kind) -> &'static str {
    use crate::bounce::Kind::*;
    match kind {
        Bounce => "the address is unusable: e-mail left out (bounced:email) until it changes",
        Refused => "our mail was refused: not held against the customer",
        Delayed => "delayed or delivered: ignored",
        Complaint => "spam complaint: an e-mail opt-out (opted_out:email)",
        NotSpam => "marked not spam: recorded",
        Other => "not a notification or a report: left alone",
    }
}

pub fn bounces(
    mailbox: &Path,
    history: &str,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Exit> {
    let loc = existing_store(history)?;
    let mut h = History::open(&loc)?;
    let recorded_at = timestamp(now);
    let today = chrono::DateTime::parse_from_rfc3339(&recorded_at)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let r = crate::bounce::record::read(mailbox, &mut h, &recorded_at, today)?;
    let notices: usize = r.kinds.values().map(|(n, _)| n).sum();
    let matched: usize = r.kinds.values().map(|(_, m)| m).sum();
    out!(
        "{}: {} message(s), {} notice(s), {} matched to a contact; history {}: added {} return(s), {} event(s)",
        mailbox.display(),
        r.messages,
        notices,
        matched,
        loc.describe(),
        r.returns_added,
        r.events_added
    );
    for kind in crate::bounce::Kind::ALL {
        let (n, m) = r.kinds.get(kind).copied().unwrap_or_default();
        out!(
            "  {:<10} {n:>6}  {m:>6} matched  {}",
            kind.as_str(),
            meaning(*kind)
        );
    }
    if !r.unmatched.is_empty() {
        out!("unmatched (no recorded contact has the Message-ID):");
        for (source, kind, id, address) in &r.unmatched {
            let id = if id.is_empty() {
                "no Message-ID".to_string()
            } else {
                format!("<{}>", crate::diag::escape_control(id))
            };
            out!(
                "  {}  {kind}  {id}  {}",
                crate::diag::escape_control(source),
                crate::diag::escape_control(address)
            );
        }
    }
    if !r.left_alone.is_empty() {
        out!("left alone:");
        for (source, what) in &r.left_alone {
            out!(
                "  {}  {}",
                crate::diag::escape_control(source),
                crate::diag::escape_control(what)
            );
        }
    }
    for p in &r.problems {
        eprintln!("{}", crate::diag::escape_control(p));
    }
    if r.problems.is_empty() {
        Ok(Exit::Ok)
    } else {
        eprintln!(
            "{} message(s) could not be read; the others are recorded",
            r.problems.len()
        );
        Ok(Exit::Partial)
    }
}
