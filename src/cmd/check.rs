//! `dunwell check`: every cell of the matrix rendered, every problem reported.

use super::Exit;
use crate::cli::CheckArgs;
use crate::diag::Result;

pub fn check(args: CheckArgs) -> Result<Exit> {
    super::set_threads(args.data.threads)?;
    let l = crate::prepare::load_lenient(&super::inputs(&args.data))?;
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
    Ok(if errors > 0 { Exit::Failed } else { Exit::Ok })
}
