//! `dunwell serve`: the preview gallery, live. An HTTP server (axum on tokio, behind the
//! checks of `http.rs`) on 127.0.0.1 serves the gallery from memory; a file watcher
//! (notify) sees template, rule and campaign edits, a builder thread renders the
//! gallery again, and the open pages reload themselves on a server-sent event.
//!
//! A template edit re-renders the cells from the data already loaded; a rule, campaign
//! or data edit loads everything again. An error — a template that does not parse, a
//! rule file that does not load — becomes part of the page, never a crashed server.

use crate::dataset::Channel;
use crate::diag::{Diagnostic, Error, Result};
use crate::prepare::Inputs;
use crate::preview::cells::Cell;
use crate::preview::{PageCache, Site};
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

mod http;

struct Shared {
    site: RwLock<Arc<Site>>,
    version: AtomicU64,
    changed: tokio::sync::broadcast::Sender<u64>,
}

/// Keeps the loaded data, the rendered cells and the drawn letter pages between edits.
struct Builder {
    args: Inputs,
    per_cell: usize,
    loaded: Option<crate::prepare::Lenient>,
    cells: Vec<Cell>,
    pages: PageCache,
}

impl Builder {
    /// The default language of the campaign loaded last.
    fn default_locale(&self) -> String {
        self.loaded
            .as_ref()
            .and_then(|l| l.loaded.as_ref())
            .map(|(p, _)| p.campaign.locales.default.clone())
            .unwrap_or_default()
    }

    /// The gallery at `version`. After a template edit (`affected` says which cells
    /// it can change) only those cells are rendered again, from the data already loaded.
    fn build(&mut self, version: u64, affected: Option<&dyn Fn(&Cell) -> bool>) -> Site {
        let title = self.args.campaign.display().to_string();
        if let (Some(affected), Some(l)) = (affected, self.loaded.as_mut())
            && let Some((p, kit)) = l.loaded.as_mut()
        {
            match crate::prepare::reload_kit(&p.campaign) {
                Ok((Some(new_kit), problems)) => {
                    *kit = new_kit;
                    l.problems = problems;
                    let previous = std::mem::take(&mut self.cells);
                    self.cells = crate::preview::cells::rerender(
                        p,
                        kit,
                        &l.problems,
                        self.per_cell,
                        previous,
                        affected,
                    );
                    return crate::preview::site_of(
                        p,
                        &self.cells,
                        &l.problems,
                        Some(version),
                        &mut self.pages,
                    );
                }
                Ok((None, problems)) => {
                    l.problems = problems;
                    self.cells.clear();
                    return crate::preview::problems_site(&title, &l.problems, version);
                }
                Err(e) => {
                    self.cells.clear();
                    return crate::preview::problems_site(
                        &title,
                        &[error_diagnostic(&self.args.campaign, e)],
                        version,
                    );
                }
            }
        }
        self.cells.clear();
        match crate::prepare::load_lenient(&self.args) {
            Ok(l) => {
                let site = match &l.loaded {
                    Some((p, kit)) => {
                        self.cells =
                            crate::preview::cells::cells(p, kit, &l.problems, self.per_cell);
                        crate::preview::site_of(
                            p,
                            &self.cells,
                            &l.problems,
                            Some(version),
                            &mut self.pages,
                        )
                    }
                    None => crate::preview::problems_site(&title, &l.problems, version),
                };
                self.loaded = Some(l);
                site
            }
            Err(e) => {
                self.loaded = None;
                crate::preview::problems_site(
                    &title,
                    &[error_diagnostic(&self.args.campaign, e)],
                    version,
                )
            }
        }
    }
}

/// What a template edit can change: cells of these channels, and — for a message
/// template `CHANNEL/CLUSTER/STAGE.LOCALE.EXT` — only those whose lookup would try that
/// file (the file's cluster or `default`, its stage or `default`, its language or the
/// default language). Layouts, partials and fonts change every cell of their channels.
struct Edit {
    channels: &'static [Channel],
    file: Option<(String, String, String)>,
}

impl Edit {
    fn of(templates: &Path, path: &Path) -> Option<Edit> {
        let rel = path.strip_prefix(templates).ok()?;
        let parts: Vec<&str> = rel.iter().map(|c| c.to_str()).collect::<Option<_>>()?;
        let channels: &'static [Channel] = match *parts.first()? {
            "email" => &[Channel::Email],
            "sms" => &[Channel::Sms],
            "web" => &[Channel::Web],
            // E-mails may carry the letter as an attachment.
            "letter" | "fonts" => &[Channel::Letter, Channel::Email],
            _ => return None,
        };
        let file = match parts.as_slice() {
            [_, cluster, name] => match name.split('.').collect::<Vec<_>>().as_slice() {
                [stage, locale, _ext] => {
                    Some((cluster.to_string(), stage.to_string(), locale.to_string()))
                }
                _ => None,
            },
            _ => None,
        };
        Some(Edit { channels, file })
    }

    fn touches(&self, cell: &Cell, default_locale: &str) -> bool {
        self.channels.contains(&cell.channel)
            && self.file.as_ref().is_none_or(|(cluster, stage, locale)| {
                (cluster == cell.cluster.as_str() || cluster == "default")
                    && (*stage == cell.lookup || stage == "default")
                    && (*locale == cell.locale || locale == default_locale)
            })
    }
}

/// The edits, when every changed file is a template; `None` means load everything.
fn edits(templates: &Path, paths: &[PathBuf]) -> Option<Vec<Edit>> {
    paths.iter().map(|p| Edit::of(templates, p)).collect()
}

fn error_diagnostic(campaign: &Path, e: Error) -> Diagnostic {
    match e {
        Error::Config(mut d) if !d.is_empty() => d.swap_remove(0),
        e => Diagnostic::whole_file(campaign, e.to_string()),
    }
}

/// What `dunwell serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub inputs: Inputs,
    pub port: u16,
    pub per_cell: usize,
    pub bind: Option<std::net::IpAddr>,
    pub header_timeout: Duration,
}

pub fn serve(args: ServeOptions) -> Result<()> {
    let t = Instant::now();
    let mut builder = Builder {
        args: args.inputs.clone(),
        per_cell: args.per_cell,
        loaded: None,
        cells: Vec::new(),
        pages: PageCache::default(),
    };
    let first = builder.build(1, None);
    let (changed, _) = tokio::sync::broadcast::channel(16);
    let shared = Arc::new(Shared {
        site: RwLock::new(Arc::new(first)),
        version: AtomicU64::new(1),
        changed,
    });
    eprintln!("rendered the gallery in {:.2} s", t.elapsed().as_secs_f64());

    // What to watch: the campaign file, the rule file, the templates and the data.
    let templates = builder
        .loaded
        .as_ref()
        .and_then(|l| l.loaded.as_ref())
        .map(|(p, _)| canonical(&p.campaign.templates));
    let watched = watch_list(&args.inputs.campaign, builder.loaded.as_ref());
    let (tx, rx) = std::sync::mpsc::channel::<Vec<PathBuf>>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && !matches!(ev.kind, notify::EventKind::Access(_))
        {
            let _ = tx.send(ev.paths);
        }
    })
    .map_err(|e| Error::Unavailable(format!("cannot watch files: {e}")))?;
    for (path, recursive) in &watched {
        use notify::Watcher;
        let mode = if *recursive {
            notify::RecursiveMode::Recursive
        } else {
            notify::RecursiveMode::NonRecursive
        };
        if let Err(e) = watcher.watch(path, mode) {
            eprintln!("not watching {}: {e}", path.display());
        }
    }

    // The builder thread: waits for a change, lets a burst of saves settle, renders.
    let for_builder = shared.clone();
    std::thread::spawn(move || {
        let _watcher = watcher;
        while let Ok(mut paths) = rx.recv() {
            while let Ok(more) = rx.recv_timeout(Duration::from_millis(60)) {
                paths.extend(more);
            }
            let edits = templates.as_ref().and_then(|t| edits(t, &paths));
            let version = for_builder.version.load(Ordering::SeqCst) + 1;
            let t = Instant::now();
            let default = builder.default_locale();
            let site = match &edits {
                Some(e) => builder.build(
                    version,
                    Some(&|cell: &Cell| e.iter().any(|e| e.touches(cell, &default))),
                ),
                None => builder.build(version, None),
            };
            *for_builder.site.write().expect("site lock") = Arc::new(site);
            for_builder.version.store(version, Ordering::SeqCst);
            let _ = for_builder.changed.send(version);
            eprintln!(
                "{} changed: gallery rendered again in {:.2} s",
                paths
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                t.elapsed().as_secs_f64()
            );
        }
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Unavailable(format!("cannot start the server: {e}")))?;
    let ip = args
        .bind
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let token = if http::is_loopback(ip) {
        None
    } else {
        Some(
            http::Access::draw_token()
                .map_err(|e| Error::Unavailable(format!("cannot draw an access token: {e}")))?,
        )
    };
    let header_timeout = args.header_timeout;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((ip, args.port))
            .await
            .map_err(|e| Error::Unavailable(format!("cannot listen on {ip}:{}: {e}", args.port)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        let access = Arc::new(http::Access::new(addr, token));
        // The first line of stdout is the address, with the token on a LAN bind (tests
        // and scripts read it).
        println!("serving {}", access.url());
        if addr.ip().is_unspecified() {
            eprintln!(
                "listening on every interface: from another machine, use this one's address in place of {}",
                addr.ip()
            );
        }
        let app = axum::Router::new()
            .route("/", axum::routing::get(index))
            .route("/events", axum::routing::get(events))
            .route("/{*path}", axum::routing::get(file))
            .with_state(shared);
        http::run(listener, app, access, header_timeout, http::MAX_CONNECTIONS).await;
        Ok::<(), Error>(())
    })?;
    Ok(())
}

/// Folders to watch, and whether recursively: editors save by renaming, so folders
/// are watched rather than files.
fn watch_list(campaign: &Path, loaded: Option<&crate::prepare::Lenient>) -> Vec<(PathBuf, bool)> {
    let parent = |p: &Path| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let mut out = vec![(parent(campaign), false)];
    if let Some((p, _)) = loaded.and_then(|l| l.loaded.as_ref()) {
        out.push((p.campaign.templates.clone(), true));
        out.push((parent(&p.campaign.segments), false));
        // This week's export: a new file dropped in is a full reload.
        let data = p.campaign.data.files();
        out.extend(data.into_iter().map(|d| (parent(d), false)));
    }
    let mut out: Vec<(PathBuf, bool)> = out.into_iter().map(|(p, r)| (canonical(&p), r)).collect();
    out.sort();
    out.dedup();
    out
}

/// Watched and compared as absolute paths: events name files under the watched folder.
fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

fn respond(site: &Site, path: &str) -> Response {
    match site.files.get(path) {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, Site::content_type(path)),
                (header::CONTENT_SECURITY_POLICY, Site::csp(path)),
            ],
            bytes.clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "not in the gallery (it may have been re-rendered)",
        )
            .into_response(),
    }
}

async fn index(State(s): State<Arc<Shared>>) -> Response {
    let site = s.site.read().expect("site lock").clone();
    respond(&site, "index.html")
}

async fn file(State(s): State<Arc<Shared>>, UrlPath(path): UrlPath<String>) -> Response {
    let site = s.site.read().expect("site lock").clone();
    respond(&site, &path)
}

/// The current version at once, then each new one.
async fn events(
    State(s): State<Arc<Shared>>,
) -> Sse<impl futures_util::Stream<Item = std::result::Result<Event, std::convert::Infallible>>> {
    let rx = s.changed.subscribe();
    let now = s.version.load(Ordering::SeqCst);
    let stream = futures_util::stream::unfold((Some(now), rx), |(first, mut rx)| async move {
        let version = match first {
            Some(v) => v,
            None => loop {
                match rx.recv().await {
                    Ok(v) => break v,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            },
        };
        let event = Event::default().event("version").data(version.to_string());
        Some((Ok(event), (None, rx)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_touches_the_cells_whose_lookup_tries_the_file() {
        let t = Path::new("/c/templates");
        let cell = |cluster, stage: &str, channel, locale: &str| Cell {
            cluster,
            stage: 0,
            stage_name: stage.into(),
            lookup: stage.into(),
            channel,
            locale: locale.into(),
            template: None,
            fallback: None,
            samples: Vec::new(),
        };
        use crate::segment::Cluster::*;
        let e = Edit::of(t, Path::new("/c/templates/email/unable/default.pl.txt")).unwrap();
        assert!(e.touches(&cell(Unable, "reminder", Channel::Email, "pl"), "en"));
        assert!(!e.touches(&cell(Unable, "reminder", Channel::Email, "it"), "en"));
        assert!(!e.touches(&cell(Forgetful, "reminder", Channel::Email, "pl"), "en"));
        assert!(!e.touches(&cell(Unable, "reminder", Channel::Sms, "pl"), "en"));
        // The default language's wording is every language's fallback.
        let en = Edit::of(t, Path::new("/c/templates/sms/default/reminder.en.txt")).unwrap();
        assert!(en.touches(&cell(Unwilling, "reminder", Channel::Sms, "lv"), "en"));
        assert!(!en.touches(&cell(Unwilling, "pre_legal", Channel::Sms, "lv"), "en"));
        // A layout changes its whole channel; letters change the e-mails carrying them.
        let layout = Edit::of(t, Path::new("/c/templates/email/layout.html")).unwrap();
        assert!(layout.touches(&cell(Forgetful, "x", Channel::Email, "ja"), "en"));
        let letter = Edit::of(t, Path::new("/c/templates/letter/labels.yaml")).unwrap();
        assert!(letter.touches(&cell(Forgetful, "x", Channel::Email, "ja"), "en"));
        // Anything else loads everything again.
        assert!(edits(t, &[PathBuf::from("/c/segments/default.yaml")]).is_none());
    }
}
