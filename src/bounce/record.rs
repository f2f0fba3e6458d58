//! A mailbox read into the history store: each notice becomes a `returns` row, matched
//! to its contact by the original Message-ID, and what the next run must know becomes
//! an event of the customer — a bounce `bounced` (the address in `reference`), a
//! complaint `opted_out` and `complaint`. Keyed by content, so reading the same
//! mailbox again, or a mailbox that holds a message already read, adds nothing.

use super::{Kind, mailbox};
use crate::diag::Result;
use crate::history::{EventRecord, History, ReturnRecord};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What a reading found and did.
#[derive(Debug, Default)]
pub struct Reading {
    /// Messages in the mailbox (read or not).
    pub messages: usize,
    /// Per kind: (notices, of them matched to a contact).
    pub kinds: BTreeMap<Kind, (usize, usize)>,
    /// Notices whose Message-ID no contact has (or that had none): (source, kind,
    /// message id, address).
    pub unmatched: Vec<(String, Kind, String, String)>,
    /// Messages that are neither notifications nor reports: (source, what they are).
    pub left_alone: Vec<(String, String)>,
    /// Messages that could not be read: `SOURCE: why`.
    pub problems: Vec<String>,
    /// Rows the store did not have before.
    pub returns_added: u64,
    pub events_added: u64,
}

/// Rows written per transaction.
const PART: usize = 10_000;

/// Reads the mailbox at `path` into the store. `now` is the time rows are recorded at
/// (RFC 3339); `today` dates the events of a notification without a readable `Date`.
pub fn read(
    path: &Path,
    history: &mut History,
    now: &str,
    today: chrono::NaiveDate,
) -> Result<Reading> {
    let mut out = Reading::default();
    let mut returns = Vec::new();
    let mut events = Vec::new();
    // Classified first (a notice is small), then matched in one batch: the store finds
    // Message-IDs by a pass over its messages, not an index every contact would pay for.
    let mut read = Vec::new();
    for item in mailbox::open(path)? {
        let item = item?;
        out.messages += 1;
        match item.bytes.and_then(|b| super::classify(&b)) {
            Ok(c) => read.push((item.source, c)),
            Err(why) => out.problems.push(format!("{}: {why}", item.source)),
        }
    }
    let ids: Vec<String> = read
        .iter()
        .map(|(_, c)| c.message_id.clone())
        .filter(|id| !id.is_empty())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let customers: HashMap<String, String> = history.customers_of_messages(&ids)?;
    for (source, classified) in read {
        let contact: Option<(String, String)> = customers
            .get(&classified.message_id)
            .map(|c| (c.clone(), String::new()));
        let day = classified.date.map_or(today, |d| d.date_naive());
        for (i, n) in classified.notices.iter().enumerate() {
            let counts = out.kinds.entry(n.kind).or_default();
            counts.0 += 1;
            if contact.is_some() {
                counts.1 += 1;
            }
            if n.kind == Kind::Other {
                out.left_alone.push((source.clone(), n.detail.clone()));
            } else if contact.is_none() {
                out.unmatched.push((
                    source.clone(),
                    n.kind,
                    classified.message_id.clone(),
                    n.address.clone(),
                ));
            }
            let customer = contact.as_ref().map_or("", |(c, _)| c.as_str());
            returns.push(ReturnRecord {
                key: format!("{}:{i}", classified.sha256),
                received_at: classified.date.map_or(String::new(), |d| {
                    d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                }),
                kind: n.kind.to_string(),
                action: n.action.clone(),
                status: n.status.clone(),
                address: n.address.clone(),
                message_id: classified.message_id.clone(),
                customer: customer.to_string(),
                detail: n.detail.clone(),
                source: source.clone(),
            });
            if let Some((customer, written_to)) = &contact {
                events.extend(events_of(n, customer, written_to, day, &source));
            }
        }
        if returns.len() >= PART {
            out.returns_added += history.record_returns(&returns, now)?;
            out.events_added += history.record_events(&events, now)?;
            returns.clear();
            events.clear();
        }
    }
    out.returns_added += history.record_returns(&returns, now)?;
    out.events_added += history.record_events(&events, now)?;
    Ok(out)
}

/// The events a matched notice gives its customer. A bounce's reference is the address
/// that failed — the notice's own (as we gave it, when the report says), else the one
/// the contact was written to (the store keeps none since its version 2, so empty) — so
/// a new address in next week's export is tried
/// again. A complaint is an e-mail opt-out, and counts as a complaint.
fn events_of(
    n: &super::Notice,
    customer: &str,
    written_to: &str,
    day: chrono::NaiveDate,
    source: &str,
) -> Vec<EventRecord> {
    let event = |kind: &str, reference: &str, note: String| EventRecord {
        customer: customer.to_string(),
        kind: kind.to_string(),
        date: day.format("%Y-%m-%d").to_string(),
        channel: "email".into(),
        reference: reference.to_string(),
        note,
        source: source.to_string(),
        ..EventRecord::default()
    };
    let address = if n.address.is_empty() {
        written_to
    } else {
        &n.address
    };
    match n.kind {
        // A bounce that names no address cannot say which address is bad: blocking
        // "any address" would also block the corrected one next week's export brings.
        // The return is recorded (and listed); no event.
        Kind::Bounce if address.is_empty() => Vec::new(),
        Kind::Bounce => vec![event("bounced", address, n.status.clone())],
        Kind::Complaint => vec![
            event("opted_out", address, format!("{} complaint", n.action)),
            event(
                "complaint",
                address,
                format!("feedback report: {}", n.action),
            ),
        ],
        Kind::Refused | Kind::Delayed | Kind::NotSpam | Kind::Other => Vec::new(),
    }
}
