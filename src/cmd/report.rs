//! `dunwell report`: report.html rebuilt from a complete outbox and its journal — with
//! `--payments`, what the campaign recovered; with a history store, the audit trail.

use super::Exit;
use crate::diag::Result;

pub fn report(
    outbox: &std::path::Path,
    payments: &[std::path::PathBuf],
    history: Option<&str>,
) -> Result<Exit> {
    // The audit trail, when the campaign (or --history) names a store that exists.
    if let Some(loc) = crate::send::history::location_of(outbox, history)?
        && !matches!(&loc, crate::history::Location::Sqlite(p) if !p.exists())
    {
        let sha = crate::send::history::manifest_sha(outbox)?;
        let trail = crate::history::History::open(&loc)?.audit_trail(&sha)?;
        if !trail.is_empty() {
            crate::report::write_audit(outbox, &trail)?;
        }
    }
    if !payments.is_empty() {
        let r = crate::report::recovery::recover(outbox, payments)?;
        let customers: u64 = r.rows.iter().map(|row| row.customers).sum();
        out!(
            "recovery: {} payment(s) matched, {} unmatched, up to {}; {} contact row(s), recovered within 30 days: {}",
            r.payments_matched,
            r.payments_unmatched,
            r.payments_until.as_deref().unwrap_or("—"),
            customers,
            r.recovered_30
                .iter()
                .map(|(c, a)| format!("{a} {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let path = crate::report::report(outbox)?;
    out!("report: {}", path.display());
    Ok(Exit::Ok)
}
