//! `dunwell report`: report.html rebuilt from a complete outbox and its journal.

use super::Exit;
use crate::diag::Result;

pub fn report(outbox: &std::path::Path) -> Result<Exit> {
    let path = crate::report::report(outbox)?;
    out!("report: {}", path.display());
    Ok(Exit::Ok)
}
