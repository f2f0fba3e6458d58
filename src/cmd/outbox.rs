//! `dunwell outbox show`: one message of a complete outbox, as it will be sent;
//! `dunwell outbox posted`: its print batch went to the post.
//! `dunwell outbox cutoff`: the print cut-off (letters and pages of customers who paid).

use super::Exit;
use crate::dataset::Channel;
use crate::diag::{Error, Result};

pub fn show(outbox: &std::path::Path, id: &str) -> Result<Exit> {
    // Only a complete outbox, its entries checked to point inside it.
    let sealed = crate::outbox::Outbox::open(outbox)?;
    let Some(entry) = sealed.entries.iter().find(|e| e.id == id) else {
        return Err(Error::Input(format!(
            "no message `{}` in {}",
            id.escape_debug(),
            outbox.join("manifest.jsonl").display()
        )));
    };
    if entry.channel == Channel::Sms {
        let Some(sms) = sealed.sms()?.remove(id) else {
            return Err(Error::Refused(format!(
                "{}: no SMS `{}` although the manifest lists it",
                outbox.join("sms.jsonl").display(),
                id.escape_debug()
            )));
        };
        out!("{}", sms.text);
        return Ok(Exit::Ok);
    }
    if let Some(r) = crate::outbox::cutoff::removed(outbox, id)? {
        let what = match entry.channel {
            Channel::Web => {
                // The page published now is the one that replaced it: shown as it is.
                let path = outbox.join(&entry.path);
                let page = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                eprintln!(
                    "{id}: withdrawn by `dunwell outbox cutoff` ({}, cutoff.csv); the page now published:",
                    r.reason
                );
                out_part!("{}", String::from_utf8_lossy(&page));
                return Ok(Exit::Ok);
            }
            _ => "taken out of letters/print.pdf",
        };
        eprintln!(
            "{id}: {what} by `dunwell outbox cutoff` ({}, cutoff.csv)",
            r.reason
        );
    }
    let bytes = sealed.stored_bytes(entry).map_err(Error::Refused)?;
    out_part!("{}", String::from_utf8_lossy(&bytes));
    Ok(Exit::Ok)
}

pub fn posted(
    outbox: &std::path::Path,
    flag: Option<&str>,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Exit> {
    let loc = crate::send::history::location_of(outbox, flag)?.ok_or_else(|| {
        Error::Input(format!(
            "{}: the campaign names no history store (add `history: PATH` to it, or give --history PATH)",
            outbox.display()
        ))
    })?;
    let (letters, marked) =
        crate::send::history::posted(outbox, &loc, &super::history::timestamp(now))?;
    out!(
        "history {}: {letters} letter(s) in the print batch, {marked} newly marked delivered",
        loc.describe()
    );
    Ok(Exit::Ok)
}

/// `dunwell outbox cutoff OUTBOX --payments FILE…`: letters and pages of customers who
/// paid since the export taken out; summary.json and report.html say so.
pub fn cutoff(outbox: &std::path::Path, payments: &[std::path::PathBuf]) -> Result<Exit> {
    use crate::outbox::summary::{CutoffSummary, PaymentsSummary, RunSummary};
    // The summary is checked before anything is changed.
    let mut summary = RunSummary::read(outbox)?;
    let c = crate::outbox::cutoff::cutoff(outbox, payments)?;
    let mut figures = CutoffSummary {
        print_letters: c.letters_left,
        print_pages: c.print_pages,
        payments: PaymentsSummary {
            received: c.received,
            before_export: c.before_export,
            matched: c.matched,
            unmatched: c.unmatched.len(),
        },
        ..CutoffSummary::default()
    };
    for r in &c.record {
        let by = match r.channel {
            Channel::Letter => &mut figures.letters,
            _ => &mut figures.pages,
        };
        *by.entry(r.reason.clone()).or_default() += 1;
    }
    summary.cutoff = Some(figures);
    summary.rewrite(outbox)?;
    // The audit trail (run, approval, send, cut-off) is part of the history.
    if !c.removed.is_empty()
        && let Some(loc) = crate::send::history::location_of(outbox, None)?
    {
        let sha = crate::send::history::manifest_sha(outbox)?;
        let letters = c
            .removed
            .iter()
            .filter(|r| r.channel == Channel::Letter)
            .count();
        crate::history::History::open(&loc)?.audit(
            &sha,
            "cutoff",
            &crate::send::history::operator(),
            &format!(
                "{letters} letter(s) and {} page(s) taken out",
                c.removed.len() - letters
            ),
            &super::history::timestamp(None),
        )?;
    }
    crate::report::report(outbox)?;
    let listed = outbox.join(crate::received::UNMATCHED);
    super::send::payments_line(
        c.received,
        c.before_export,
        c.matched,
        &c.unmatched,
        Some(&listed),
    );
    for r in &c.removed {
        let what = match r.channel {
            Channel::Letter => "letter taken out of print.pdf",
            _ => "payment page withdrawn",
        };
        out!(
            "{}: {}: {what}: {}",
            r.reason,
            r.id,
            crate::diag::escape_control(&r.payments)
        );
    }
    out!(
        "cutoff: {} removed now, {} by earlier cut-offs; letters/print.pdf: {} letter(s), {} page(s)",
        c.removed.len(),
        c.earlier,
        c.letters_left,
        c.print_pages
    );
    Ok(Exit::Ok)
}
