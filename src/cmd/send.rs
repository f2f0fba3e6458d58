//! `dunwell send`: an outbox delivered, and what happened said.

use super::Exit;
use crate::cli::SendArgs;
use crate::diag::Result;
use crate::send::journal::State;
use std::time::Instant;

pub fn send(args: SendArgs) -> Result<Exit> {
    let opts = crate::send::SendOptions {
        outbox: args.outbox.clone(),
        rate: args.rate,
        concurrency: usize::from(args.concurrency),
        now: args.now,
        to_override: args.to_override,
        sms_to_override: args.sms_to_override,
        limit: args.limit,
        only_cluster: args.only_cluster.map(|c| c.as_str().to_string()),
        dry_run: args.dry_run,
        resend_unknown: args.resend_unknown,
        max_attempts: args.max_attempts,
        moved: args.moved,
        retry_base: args.retry_after,
        timeout: args.timeout,
        payments: args.payments,
    };
    // The history store is opened (and its schema brought up to date) before anything
    // is sent: a store that cannot be written stops the send, not the record after it.
    let test = opts.to_override.is_some() || opts.sms_to_override.is_some();
    let history = if opts.dry_run || test {
        None
    } else {
        let loc = crate::send::history::location_of(&args.outbox, args.history.as_deref())?;
        if let Some(l) = &loc {
            crate::history::History::open(l)?;
        }
        if crate::send::history::approval_required(&args.outbox, loc.as_ref())? {
            let sender = crate::send::history::operator();
            let by = crate::send::history::check_approval(&args.outbox, loc.as_ref(), &sender)?;
            eprintln!("approved by {by}; sent by {sender}");
            if let Some(l) = &loc {
                let sha = crate::send::history::manifest_sha(&args.outbox)?;
                crate::history::History::open(l)?.audit(
                    &sha,
                    "send",
                    &sender,
                    "",
                    &super::history::timestamp(args.now),
                )?;
            }
        }
        loc
    };
    let t = Instant::now();
    // The history follows the send from a thread of its own (the send runs on tokio,
    // the store is synchronous), recording deliveries as they happen.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let r = std::thread::scope(|scope| {
        let follower = history.as_ref().map(|loc| {
            let (outbox, stop, now) = (&args.outbox, &stop, args.now);
            scope.spawn(move || {
                crate::send::history::follow(outbox, loc, stop, || super::history::timestamp(now))
            })
        });
        let r = crate::send::send(&opts);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        match follower.map(|f| f.join()) {
            Some(Ok(Err(e))) => eprintln!("history (while sending): {e}"),
            Some(Err(_)) => eprintln!(
                "history (while sending): the recorder stopped unexpectedly; the record after the send completes it"
            ),
            _ => {}
        }
        r
    })?;
    let mut history_failed = false;
    if r.journaled {
        // The report shows the outcomes as soon as a send ends (or is resumed).
        crate::report::report(&args.outbox)?;
        if let Some(loc) = &history {
            let now = super::history::timestamp(args.now);
            match crate::send::history::record(&args.outbox, loc, "send", &now) {
                Ok(rec) => eprintln!(
                    "history {}: {} contact(s) added, {} state(s) recorded",
                    loc.describe(),
                    rec.added.contacts,
                    rec.states
                ),
                // What was sent is sent and journaled; only the record is missing, and
                // an import makes it later (idempotently).
                Err(e) => {
                    eprintln!(
                        "{e}\nthe messages are sent and journaled but not in the history: record them with `dunwell history import {}`",
                        args.outbox.display()
                    );
                    history_failed = true;
                }
            }
        }
    }
    let count = |k: State| r.states.get(&k).copied().unwrap_or(0);
    if r.dry_run {
        let paid = r.payments.as_ref().map_or(0, |p| p.cancelled.len() as u64);
        out!(
            "dry run: {} message(s) waiting, {} of them scheduled later; health check passed; nothing sent",
            (count(State::Pending) + count(State::Deferred)).saturating_sub(paid),
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
    if let Some(p) = &r.payments {
        let listed = r
            .journaled
            .then(|| args.outbox.join(crate::received::UNMATCHED));
        payments_line(
            p.received,
            p.before_export,
            p.matched,
            &p.unmatched,
            listed.as_deref(),
        );
        let verb = if r.dry_run {
            "would be cancelled"
        } else {
            "cancelled"
        };
        for (id, state, why) in &p.cancelled {
            out!(
                "{state}: {id}: {verb}: {}",
                crate::diag::escape_control(why)
            );
        }
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
        if r.unknown.is_empty() && r.rejected.is_empty() && r.stopped.is_none() && !history_failed {
            Exit::Ok
        } else {
            Exit::Partial
        },
    )
}

/// What the payment files held, on stderr, and each payment that found no customer.
pub(super) fn payments_line(
    received: usize,
    before_export: usize,
    matched: usize,
    unmatched: &[crate::received::Unmatched],
    listed: Option<&std::path::Path>,
) {
    eprintln!(
        "payments: {received} received, {before_export} dated on or before the export (it has them), {matched} matched, {} unmatched{}",
        unmatched.len(),
        match listed {
            Some(path) if !unmatched.is_empty() => format!(" (listed in {})", path.display()),
            _ => String::new(),
        }
    );
    for u in unmatched {
        let p = &u.payment;
        eprintln!(
            "unmatched payment {}: {} {} {}: {}",
            crate::diag::escape_control(&p.source),
            p.amount,
            p.currency.map(|c| c.code()).unwrap_or(""),
            crate::diag::escape_control(p.name.as_deref().unwrap_or("(no name)")),
            crate::diag::escape_control(&u.why)
        );
    }
}
