//! `dunwell history`: outboxes recorded into the history store, a customer's timeline.

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

pub fn show(customer: &str, history: &str) -> Result<Exit> {
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
    let t = History::open(&loc)?.timeline(customer)?;
    let who = crate::diag::escape_control(customer);
    if t.clusters.is_empty() && t.contacts.is_empty() {
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
    Ok(Exit::Ok)
}
