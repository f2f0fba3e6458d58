//! `dunwell preview`: the gallery written to a folder.

use super::Exit;
use crate::cli::PreviewArgs;
use crate::diag::Result;
use std::time::Instant;

pub fn preview(args: PreviewArgs) -> Result<Exit> {
    super::set_threads(args.data.threads)?;
    let t = Instant::now();
    let l = crate::prepare::load_lenient(&super::inputs(&args.data))?;
    let Some((p, kit)) = &l.loaded else {
        for d in &l.problems {
            eprintln!("{}", d.render(None));
        }
        return Ok(Exit::Failed);
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
            Exit::Failed
        } else {
            Exit::Ok
        },
    )
}
