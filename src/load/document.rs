//! An invoice's `document`: the original invoice the export names next to its row, checked
//! while the export is read, so that a file missing on the day of the run is a defect of
//! that customer (`FILE:LINE`), not a message sent without what it promises.
//!
//! The path is held to `values::check_document_path` (relative, inside the export folder,
//! printable); here the file is found and read: it exists, is a file, can be opened, does
//! not lead out of the folder through a symbolic link, and a PDF is one lopdf reads with
//! at least one page and no password — what print.pdf will bind later, checked now.

use crate::values::{check_document_path, quote};
use std::path::{Path, PathBuf};

/// The folder `document` paths are relative to: the invoices file's (the NDJSON file's).
pub(super) struct DocumentRoot {
    dir: PathBuf,
    /// `dir` with links resolved, once: every document is compared with it.
    canonical: Option<PathBuf>,
}

impl DocumentRoot {
    /// The folder of `table`, the file the invoices are read from.
    pub(super) fn of(table: &Path) -> DocumentRoot {
        let dir = match table.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let canonical = dir.canonicalize().ok();
        DocumentRoot { dir, canonical }
    }

    /// The document `text` names, checked; or what is wrong, in the words that follow
    /// `FILE:LINE: column document:`.
    pub(super) fn check(&self, text: &str) -> Result<Box<Path>, String> {
        let plain = check_document_path(text)?;
        let path = self.dir.join(&plain);
        let shown = quote(&plain);
        let folder = self.dir.display();
        let meta = std::fs::metadata(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "{shown} does not exist in {folder} (expected the invoice's document, relative to the folder of the invoices file)"
            ),
            _ => format!("{shown} cannot be read: {e} (expected a file dunwell may read)"),
        })?;
        if !meta.is_file() {
            return Err(format!(
                "{shown} is not a file (expected the invoice's document, a file)"
            ));
        }
        // `..` is refused in the text; a link inside the folder could still point out of
        // it (an export unpacked from an archive can hold one).
        if let (Some(root), Ok(real)) = (&self.canonical, path.canonicalize())
            && !real.starts_with(root)
        {
            return Err(format!(
                "{shown} is a link to a file outside {folder} (expected a file inside the export folder)"
            ));
        }
        if crate::dataset::Invoice::is_pdf(&path) {
            let bytes = std::fs::read(&path).map_err(|e| {
                format!("{shown} cannot be read: {e} (expected a file dunwell may read)")
            })?;
            check_pdf(&bytes).map_err(|why| format!("{shown} {why}"))?;
        } else {
            std::fs::File::open(&path).map_err(|e| {
                format!("{shown} cannot be read: {e} (expected a file dunwell may read)")
            })?;
        }
        Ok(path.into_boxed_path())
    }
}

/// What print.pdf needs of a PDF: that lopdf reads it, that it has pages, and that they
/// are not behind a password (their text could not be copied into another file).
fn check_pdf(bytes: &[u8]) -> Result<(), String> {
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| {
        format!(
            "is not a PDF dunwell can read: {e} (expected a PDF file, as the invoice was issued)"
        )
    })?;
    if doc.is_encrypted() {
        return Err("is protected by a password (expected a PDF without one)".into());
    }
    if doc.get_pages().is_empty() {
        return Err("has no pages (expected a PDF of the invoice)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_found_in_the_invoices_folder_and_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = DocumentRoot::of(&dir.path().join("invoices.csv"));
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join("docs/I-1.xml"), "<Invoice/>").unwrap();
        std::fs::write(dir.path().join("docs/I-2.pdf"), "not a PDF").unwrap();
        let found = root.check("docs/I-1.xml").unwrap();
        assert_eq!(&*found, dir.path().join("docs/I-1.xml"));
        let e = root.check("docs/I-9.pdf").unwrap_err();
        assert!(e.starts_with("`docs/I-9.pdf` does not exist in "), "{e}");
        let e = root.check("docs/I-2.pdf").unwrap_err();
        assert!(e.contains("is not a PDF dunwell can read"), "{e}");
        let e = root.check("docs").unwrap_err();
        assert!(e.contains("is not a file"), "{e}");
        let e = root.check("../invoices.csv").unwrap_err();
        assert!(e.contains("leads out of the export folder"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_folder_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.xml"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.xml"),
            dir.path().join("I-1.xml"),
        )
        .unwrap();
        let root = DocumentRoot::of(&dir.path().join("invoices.csv"));
        let e = root.check("I-1.xml").unwrap_err();
        assert!(e.contains("is a link to a file outside"), "{e}");
    }
}
