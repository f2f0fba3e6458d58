//! `dunwell preview`: a sample of every cell of the matrix rendered into a static
//! gallery (`DIR/index.html` and the messages beside it) that opens without a network;
//! `dunwell serve` shows the same gallery live (src/serve/).

pub mod cells;
mod gallery;
mod timeline;

use crate::diag::{Diagnostic, Error, Result};
use crate::prepare::Prepared;
use crate::render::Kit;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The gallery's files: path (relative, `/`-separated) → bytes.
#[derive(Default)]
pub struct Site {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Site {
    pub fn content_type(path: &str) -> &'static str {
        match path.rsplit('.').next() {
            Some("html") => "text/html; charset=utf-8",
            Some("svg") => "image/svg+xml",
            Some("pdf") => "application/pdf",
            Some("eml") => "message/rfc822",
            _ => "application/octet-stream",
        }
    }

    /// The Content-Security-Policy `serve` sends with a file. The gallery page runs only
    /// its own script and style (by hash), loads its own files and frames and opens its
    /// event stream. A message (an e-mail or payment page in its sandboxed frame, a
    /// letter page) runs nothing: inline styles, pictures inline or over https, and the
    /// `sandbox` directive, so that it has no origin even when opened on its own. An
    /// e-mail's measured copy (`*.fit.html`) runs its one script, by hash, sandboxed all
    /// the same. A PDF is not sandboxed (Chromium then refuses to show it), only never
    /// framed.
    pub fn csp(path: &str) -> &'static str {
        const MESSAGE: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; \
            font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox";
        match path.rsplit('.').next() {
            _ if path == "index.html" => gallery::csp(),
            _ if path.ends_with(".fit.html") => gallery::fit_csp(),
            Some("html" | "svg") => MESSAGE,
            Some("pdf") => "frame-ancestors 'none'",
            _ => "default-src 'none'; frame-ancestors 'none'; sandbox",
        }
    }

    /// Writes the gallery into `dir`. What a previous gallery wrote there (the files its
    /// manifest lists) and this one does not write again is removed; nothing else is —
    /// `--out` may be a folder with other files in it (issue 12, item 14).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let manifest = dir.join(MANIFEST);
        let old = match std::fs::read_to_string(&manifest) {
            Ok(text) => listed(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
            Err(e) => return Err(Error::io(&manifest, e)),
        };
        let index = dir.join("index.html");
        if !old.contains("index.html") && index.exists() && !is_gallery(&index) {
            return Err(Error::Refused(format!(
                "{} was not written by `dunwell preview`: choose another --out folder (a \
                 preview replaces only the files an earlier preview wrote)",
                index.display()
            )));
        }
        let m = dir.join("m");
        std::fs::create_dir_all(&m).map_err(|e| Error::io(&m, e))?;
        let new: BTreeSet<String> = self.files.keys().cloned().collect();
        debug_assert!(
            new.iter().all(|f| is_ours(f)),
            "gallery files: index.html, m/*"
        );
        // Every file is listed before it is written: a preview stopped half-way leaves
        // nothing the next one would not know to remove.
        write_manifest(&manifest, old.union(&new))?;
        for (path, bytes) in &self.files {
            let p = dir.join(path);
            std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
        }
        write_manifest(&manifest, new.iter())?;
        for stale in old.difference(&new) {
            let p = dir.join(stale);
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&p, e));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The list of files a gallery wrote, beside its `index.html`, one path a line.
const MANIFEST: &str = ".dunwell-preview";

/// A gallery's own file names: `index.html` and files directly in `m/`. A manifest line
/// naming anything else is ignored, never removed.
fn is_ours(path: &str) -> bool {
    path == "index.html"
        || path.strip_prefix("m/").is_some_and(|name| {
            !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\'])
        })
}

fn listed(manifest: &str) -> BTreeSet<String> {
    manifest
        .lines()
        .filter(|l| is_ours(l))
        .map(str::to_string)
        .collect()
}

fn write_manifest<'a>(path: &Path, files: impl Iterator<Item = &'a String>) -> Result<()> {
    let mut text = String::from(
        "# Written by `dunwell preview`: the next preview into this folder replaces these files.\n",
    );
    for f in files {
        text.push_str(f);
        text.push('\n');
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// An `index.html` written by `dunwell preview`, this one or one from before the
/// manifest (its head always started this way).
fn is_gallery(index: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(index).and_then(|f| f.take(4096).read_to_end(&mut head));
    let head = String::from_utf8_lossy(&head);
    read.is_ok()
        && (head.contains(GENERATOR)
            || head.contains(" — preview</title><link rel=\"icon\" href=\"data:,\"><style>"))
}

/// In the gallery's `<head>`: how a later preview knows the page is its own.
pub(crate) const GENERATOR: &str = "<meta name=\"generator\" content=\"dunwell preview\">";

/// Letter pages already drawn, by the SHA-256 of the PDF: the live preview draws only
/// the letters an edit changed.
#[derive(Default)]
pub struct PageCache(BTreeMap<[u8; 32], Vec<String>>);

impl PageCache {
    pub(crate) fn pages(
        &mut self,
        old: &mut PageCache,
        pdf: &[u8],
        drawing: &crate::letter::Drawing,
    ) -> Vec<String> {
        use sha2::Digest;
        let key: [u8; 32] = sha2::Sha256::digest(pdf).into();
        if let Some(p) = self.0.get(&key) {
            return p.clone();
        }
        let p = match old.0.remove(&key) {
            Some(p) => p,
            None => drawing.svg_pages(),
        };
        self.0.insert(key, p.clone());
        p
    }
}

/// The gallery of a campaign: every cell rendered (the kit is loaded leniently, so that
/// a broken template shows in its cells) and the problems found while loading.
pub fn site(
    p: &Prepared,
    kit: &Kit,
    problems: &[Diagnostic],
    per_cell: usize,
    live: Option<u64>,
) -> Site {
    let cells = cells::cells(p, kit, problems, per_cell);
    site_of(p, &cells, problems, live, &mut PageCache::default())
}

/// The gallery of cells already rendered; `cache` holds the letter pages drawn last
/// time and is left holding this gallery's.
pub fn site_of(
    p: &Prepared,
    cells: &[cells::Cell],
    problems: &[Diagnostic],
    live: Option<u64>,
    cache: &mut PageCache,
) -> Site {
    let mut site = Site::default();
    let from = match &p.campaign.creditor.email {
        Some(e) => format!("{} <{e}>", p.campaign.creditor.name),
        None => p.campaign.creditor.name.clone(),
    };
    let timelines = timelines(p, cells, &mut site);
    gallery::build(
        &gallery::Heading {
            title: &p.campaign.name,
            from: &from,
            problems,
            live: live.is_some(),
            version: live.unwrap_or(0),
            timelines: &timelines,
        },
        cells,
        &mut site,
        cache,
    );
    site
}

/// With a history store: a timeline page for each real customer the gallery shows
/// (`m/timeline-ID.html`); the customers that have one. A store that cannot be read
/// gives no pages — the gallery is for reviewing wording and must open regardless.
fn timelines(p: &Prepared, cells: &[cells::Cell], site: &mut Site) -> BTreeSet<String> {
    let mut done = BTreeSet::new();
    let Some(loc) = &p.campaign.history else {
        return done;
    };
    if let crate::history::Location::Sqlite(path) = loc
        && !path.exists()
    {
        return done;
    }
    let Ok(mut store) = crate::history::History::open(loc) else {
        return done;
    };
    let shown: BTreeMap<&str, &str> = cells
        .iter()
        .flat_map(|c| &c.samples)
        .filter(|s| s.who != cells::Who::Persona)
        .map(|s| (s.customer_id.as_str(), s.name.as_str()))
        .collect();
    let data = &p.validated.dataset;
    let index: std::collections::HashMap<&str, usize> = data
        .customers
        .iter()
        .enumerate()
        .filter(|(_, c)| shown.contains_key(c.id()))
        .map(|(i, c)| (c.id(), i))
        .collect();
    for (id, name) in shown {
        let Ok(t) = store.timeline(id) else {
            return done;
        };
        let view = index.get(id).map(|&i| data.view(i));
        site.files.insert(
            format!("m/timeline-{}.html", crate::outbox::folder::file_name(id)),
            timeline::page(id, name, view.as_ref(), &t).into_bytes(),
        );
        done.insert(id.to_string());
    }
    done
}

/// A gallery with no cells: what stopped rendering (a rule file or campaign that does
/// not load), shown where the cells would be.
pub fn problems_site(title: &str, problems: &[Diagnostic], version: u64) -> Site {
    let mut site = Site::default();
    gallery::build(
        &gallery::Heading {
            title,
            from: "",
            problems,
            live: true,
            version,
            timelines: &BTreeSet::new(),
        },
        &[],
        &mut site,
        &mut PageCache::default(),
    );
    site
}
