//! The gallery page: one card per cell with its samples, filters by cluster, stage,
//! channel and locale. E-mails and payment pages are shown in sandboxed iframes (their
//! own files, scripts off), letters as their PDF pages drawn as SVG, SMS as a phone
//! bubble. No network: every file is beside the page.

use super::Site;
use super::cells::{Cell, Who};
use crate::diag::Diagnostic;
use crate::plan::stage_label;
use crate::render::Rendered;
use std::collections::BTreeSet;
use std::fmt::Write;

use crate::templates::escape_html as esc;

/// A file name from a cell id and a sample number.
fn slug(id: &str, k: usize) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{clean}.{k}")
}

/// A filter: each option's value is the word the cards carry, its text the label.
fn select(out: &mut String, id: &str, label: &str, values: &[(String, String)]) {
    let _ = write!(
        out,
        "<label>{label} <select id=\"f-{id}\" data-key=\"{id}\"><option value=\"\">all</option>"
    );
    for (v, text) in values {
        let _ = write!(out, "<option value=\"{}\">{}</option>", esc(v), esc(text));
    }
    out.push_str("</select></label>");
}

/// Adds (word, label) to `list` once, keeping the order of first sight.
fn once(list: &mut Vec<(String, String)>, word: &str, label: impl FnOnce() -> String) {
    if !list.iter().any(|(w, _)| w == word) {
        list.push((word.to_string(), label()));
    }
}

/// The gallery's copy of an e-mail for measuring it at a phone's width: the e-mail with
/// a script that tells the gallery how wide it is, under a policy that lets only that
/// script run (and fetches nothing) even when the page is opened as a file.
fn measured_copy(html: &str) -> String {
    let head = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\"><script>{FIT_SCRIPT}</script>",
        fit_policy()
    );
    match html.find("<head>") {
        Some(k) => format!("{}{head}{}", &html[..k + 6], &html[k + 6..]),
        None => format!("{head}{html}"),
    }
}

/// The policy of a measured copy: its one script by hash, styles and inline pictures.
pub fn fit_policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        use base64::Engine;
        use sha2::Digest;
        format!(
            "default-src 'none'; script-src 'sha256-{}'; style-src 'unsafe-inline'; img-src data:; font-src data:",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(FIT_SCRIPT))
        )
    })
}

/// A measured copy's policy when served: its own, framed by the gallery only, sandboxed
/// with nothing but its script allowed.
pub fn fit_csp() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        format!(
            "{}; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-scripts",
            fit_policy()
        )
    })
}

/// Runs in a measured copy (`m/*.fit.html`, framed 390 px wide and out of sight): how
/// wide the e-mail lays out, posted to the gallery, which names the file.
const FIT_SCRIPT: &str = "addEventListener('load',function(){var d=document.documentElement,b=document.body;parent.postMessage({fit:location.pathname.split('/').pop(),width:Math.max(d.scrollWidth,b?b.scrollWidth:0),inner:innerWidth},'*')});";

/// What the gallery shows above the cells: the campaign, and problems no cell owns.
pub struct Heading<'a> {
    pub title: &'a str,
    pub from: &'a str,
    /// Template and rule errors found while loading.
    pub problems: &'a [Diagnostic],
    /// Served live: the page reloads itself when the server's version moves on.
    pub live: bool,
    pub version: u64,
    /// Customers with a timeline page (`m/timeline-ID.html`).
    pub timelines: &'a BTreeSet<String>,
}

pub fn build(h: &Heading<'_>, cells: &[Cell], site: &mut Site, cache: &mut super::PageCache) {
    let mut old = std::mem::take(cache);
    let mut body = String::with_capacity(256 * 1024);
    let mut sets: [Vec<(String, String)>; 4] = Default::default();
    for c in cells {
        once(&mut sets[0], c.cluster.as_str(), || {
            c.cluster.label().into()
        });
        once(&mut sets[1], &c.stage_name, || stage_label(&c.stage_name));
        once(&mut sets[2], c.channel.as_str(), || {
            c.channel.label().into()
        });
        once(&mut sets[3], &c.locale, || c.locale.clone());
    }
    // Stages in the ladder's order, the rest by their words.
    sets[1].sort_by_key(|(word, _)| {
        cells
            .iter()
            .find(|c| &c.stage_name == word)
            .map_or(usize::MAX, |c| c.stage)
    });
    sets[2].sort();
    sets[3].sort();
    let samples: usize = cells.iter().map(|c| c.samples.len()).sum();
    let failing = cells.iter().filter(|c| has_problem(c)).count();
    let _ = write!(
        body,
        "<header><div class=\"title\"><h1>{}</h1><p>{} cells · {} messages · <span class=\"{}\">{} with problems</span><span id=\"too-wide\" class=\"bad\"></span></p></div><form id=\"filters\">",
        esc(h.title),
        cells.len(),
        samples,
        if failing > 0 { "bad" } else { "good" },
        failing
    );
    select(&mut body, "cluster", "cluster", &sets[0]);
    select(&mut body, "stage", "stage", &sets[1]);
    select(&mut body, "channel", "channel", &sets[2]);
    select(&mut body, "locale", "locale", &sets[3]);
    body.push_str("<label><input type=\"checkbox\" id=\"f-problems\"> problems only</label><span id=\"shown\"></span></form></header><main>");
    if !h.problems.is_empty() {
        body.push_str("<section class=\"problems\"><h2>Problems found while loading</h2>");
        for d in h.problems {
            let _ = write!(body, "<pre class=\"error\">{}</pre>", esc(&d.render(None)));
        }
        body.push_str("</section>");
    }
    body.push_str("<div id=\"cells\">");
    for cell in cells {
        // The card's hash lets the live page swap only the cards an edit changed.
        let mut c = String::new();
        card(&mut c, h, cell, site, cache, &mut old);
        use sha2::Digest;
        let hash = crate::hash::hex(&sha2::Sha256::digest(c.as_bytes())[..8]);
        body.push_str(&c.replacen("<article ", &format!("<article data-hash=\"{hash}\" "), 1));
    }
    body.push_str("</div><p id=\"none\" hidden>No cell matches these filters.</p></main>");
    // Where each e-mail is laid out at a phone's width, one after another.
    body.push_str("<iframe id=\"fit\" class=\"fit\" sandbox=\"allow-scripts\" title=\"measuring\" aria-hidden=\"true\" tabindex=\"-1\"></iframe>");

    let mut page = String::with_capacity(body.len() + 8 * 1024);
    let _ = write!(
        page,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{}<title>{} — preview</title><link rel=\"icon\" href=\"data:,\"><style>{CSS}</style></head><body data-live=\"{}\" data-version=\"{}\">",
        super::GENERATOR,
        esc(h.title),
        h.live,
        h.version
    );
    page.push_str(&body);
    let _ = writeln!(page, "<script>{SCRIPT}</script></body></html>");
    site.files.insert("index.html".into(), page.into_bytes());
}

/// The page's Content-Security-Policy when served: its one inline script and one inline
/// style by their SHA-256 (both are constants, so the hashes are too), its own files,
/// frames and event stream, no plug-ins, forms or framing by other pages.
pub fn csp() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        use base64::Engine;
        use sha2::Digest;
        let hash = |s: &str| {
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s.as_bytes()))
        };
        format!(
            "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; \
             img-src 'self' data:; frame-src 'self'; connect-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
            hash(SCRIPT),
            hash(CSS)
        )
    })
}

/// A cell with a sample that failed, or was made with something wrong in it.
fn has_problem(cell: &Cell) -> bool {
    cell.samples
        .iter()
        .any(|s| s.result.is_err() || !s.problems.is_empty())
}

fn card(
    out: &mut String,
    h: &Heading<'_>,
    cell: &Cell,
    site: &mut Site,
    cache: &mut super::PageCache,
    old: &mut super::PageCache,
) {
    let id = cell.id();
    let problem = has_problem(cell);
    let _ = write!(
        out,
        "<article class=\"cell{}\" id=\"{}\" data-cluster=\"{}\" data-stage=\"{}\" data-channel=\"{}\" data-locale=\"{}\" data-problem=\"{}\">",
        if problem { " has-problem" } else { "" },
        esc(&id),
        cell.cluster.as_str(),
        esc(&cell.stage_name),
        cell.channel.as_str(),
        esc(&cell.locale),
        u8::from(problem)
    );
    let _ = write!(
        out,
        "<h2><span class=\"tag {}\">{}</span> {} · <b>{}</b> · {}</h2>",
        cell.cluster.as_str(),
        cell.cluster.label(),
        esc(&stage_label(&cell.stage_name)),
        cell.channel.label(),
        esc(&cell.locale)
    );
    match &cell.template {
        Some(t) => {
            let _ = write!(out, "<p class=\"tmpl\">templates/{}", esc(t));
            if let Some(f) = &cell.fallback {
                let _ = write!(
                    out,
                    " <span class=\"warn\">no {} wording: {} is used</span>",
                    esc(&cell.locale),
                    esc(f)
                );
            }
            out.push_str("</p>");
        }
        None if cell.channel == crate::dataset::Channel::Letter
            || cell.channel == crate::dataset::Channel::Web =>
        {
            out.push_str("<p class=\"tmpl\">built-in layout</p>")
        }
        None => out.push_str("<p class=\"tmpl warn\">no template for this cell</p>"),
    }
    for (k, s) in cell.samples.iter().enumerate() {
        let file = slug(&id, k);
        out.push_str("<div class=\"sample\"><aside class=\"who\">");
        let who = match s.who {
            Who::Planned => "in the plan",
            Who::StandIn => "stand-in: a real customer shown in this cell",
            Who::Persona => "persona: no customer speaks this language",
            Who::MultiCurrency => {
                "persona: a real customer's debts, and the same again in a second currency"
            }
        };
        let _ = write!(
            out,
            "<b>{}</b><span class=\"id\">{} · {}</span><p class=\"because\"><span class=\"tag {}\">{}</span> rule <code>{}</code>: {}</p>",
            esc(&s.name),
            esc(&s.customer_id),
            who,
            cell.cluster.as_str(),
            cell.cluster.label(),
            esc(&s.rule),
            esc(&s.because)
        );
        if h.timelines.contains(&s.customer_id) {
            let _ = write!(
                out,
                "<a class=\"timeline\" href=\"m/timeline-{}.html\" target=\"_blank\" rel=\"noopener\">timeline</a>",
                esc(&crate::outbox::folder::file_name(&s.customer_id))
            );
        }
        if !s.evidence.is_empty() {
            out.push_str("<ul class=\"evidence\">");
            for e in &s.evidence {
                let _ = write!(out, "<li>{}</li>", esc(e));
            }
            out.push_str("</ul>");
        }
        out.push_str("</aside><div class=\"msg\">");
        for p in &s.problems {
            let _ = write!(out, "<p class=\"problem\">{}</p>", esc(p));
        }
        match &s.result {
            Err(d) => {
                let _ = write!(out, "<pre class=\"error\">{}</pre>", esc(&d.render(None)));
            }
            Ok(Rendered::Email {
                subject,
                to,
                text,
                html,
                bytes,
                ..
            }) => {
                let path = format!("m/{file}.html");
                site.files.insert(path.clone(), html.clone().into_bytes());
                let fit = format!("m/{file}.fit.html");
                site.files
                    .insert(fit.clone(), measured_copy(html).into_bytes());
                let eml = format!("m/{file}.eml");
                site.files.insert(eml.clone(), bytes.clone());
                let _ = write!(
                    out,
                    "<div class=\"meta\"><div><i>From</i> {}</div><div><i>To</i> {}</div><div><i>Subject</i> <b class=\"subject\">{}</b></div><div><a href=\"{eml}\" download>.eml</a></div></div><div class=\"panes\"><iframe class=\"email\" sandbox=\"\" loading=\"lazy\" src=\"{path}\" data-fit=\"{fit}\" title=\"{}\"></iframe><pre class=\"text\">{}</pre></div>",
                    esc(h.from),
                    esc(to),
                    esc(subject),
                    esc(subject),
                    esc(text)
                );
            }
            Ok(Rendered::Sms { to, text, info, .. }) => {
                let _ = write!(
                    out,
                    "<div class=\"phone\"><div class=\"to\">{}</div><div class=\"bubble\">{}</div><p class=\"smsinfo\"><b class=\"{}\">{}</b> · <b>{} segment{}</b> · {} characters</p></div>",
                    esc(to),
                    esc(text),
                    if info.segments > 1 { "warn" } else { "" },
                    info.encoding.as_str(),
                    info.segments,
                    if info.segments == 1 { "" } else { "s" },
                    info.units
                );
            }
            Ok(Rendered::Letter {
                bytes,
                pages,
                subject,
                to,
                drawing,
                ..
            }) => {
                let pdf = format!("m/{file}.pdf");
                site.files.insert(pdf.clone(), bytes.clone());
                let _ = write!(
                    out,
                    "<div class=\"meta\"><div><i>To</i> {}</div><div><i>Subject</i> <b>{}</b></div><div>{} page{} · <a href=\"{pdf}\">PDF</a></div></div><div class=\"pages\">",
                    esc(to),
                    esc(subject),
                    pages,
                    if *pages == 1 { "" } else { "s" }
                );
                for (n, svg) in cache.pages(old, bytes, drawing).into_iter().enumerate() {
                    let p = format!("m/{file}.p{}.svg", n + 1);
                    site.files.insert(p.clone(), svg.into_bytes());
                    let _ = write!(
                        out,
                        "<img class=\"page\" src=\"{p}\" alt=\"page {}\" loading=\"lazy\">",
                        n + 1
                    );
                }
                out.push_str("</div>");
            }
            Ok(Rendered::Web { html, link, .. }) => {
                let path = format!("m/{file}.web.html");
                site.files.insert(path.clone(), html.clone().into_bytes());
                let _ = write!(
                    out,
                    "<div class=\"meta\"><div><i>Link</i> <code>{}</code></div></div><iframe class=\"web\" sandbox=\"\" loading=\"lazy\" src=\"{path}\" title=\"payment page\"></iframe>",
                    esc(link)
                );
            }
        }
        out.push_str("</div></div>");
    }
    out.push_str("</article>");
}

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;color:#2b323c;background:#eef0f3}
header{position:sticky;top:0;z-index:2;background:#1f2a37;color:#fff;padding:10px 20px;display:flex;flex-wrap:wrap;gap:8px 24px;align-items:center;justify-content:space-between}
header h1{margin:0;font-size:18px}header p{margin:0;opacity:.85;font-size:13px}
#filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;font-size:13px}
#filters select{font:inherit;padding:2px 4px;border-radius:4px}
#shown{opacity:.8}
.good{color:#9be3b5}.bad{color:#ffb4a8;font-weight:600}
main{padding:12px 20px}
.cell{background:#fff;border-radius:8px;margin:0 0 14px;padding:10px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.cell.has-problem{border-left:4px solid #c83e3e}
.cell h2{font-size:15px;margin:0 0 2px;font-weight:500}
.tmpl{margin:0 0 8px;color:#6b7480;font:12px ui-monospace,monospace}
.warn{color:#b45309}
.tag{display:inline-block;padding:0 6px;border-radius:9px;color:#fff;font-size:12px;background:#8a939e}
.tag.forgetful{background:#3b82c4}.tag.chronic_late{background:#d18a12}.tag.unable{background:#2a9d8f}.tag.unwilling{background:#c83e3e}
.sample{display:grid;grid-template-columns:240px 1fr;gap:14px;border-top:1px solid #eceef1;padding:8px 0}
.who b{display:block}.who a.timeline{font-size:12px;display:inline-block;margin-top:4px}.who .id{font-size:12px;color:#6b7480}
.because{margin:6px 0 2px;font-size:13px}
.evidence{margin:0;padding-left:18px;font:12px ui-monospace,monospace;color:#4b5563}
.meta{font-size:13px;margin-bottom:6px;overflow-wrap:anywhere}.meta i{color:#6b7480;font-style:normal;display:inline-block;min-width:56px}
.panes{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:10px}
iframe{width:100%;border:1px solid #dde1e6;border-radius:6px;background:#fff}
iframe.email{height:520px}iframe.web{width:390px;max-width:100%;height:640px}
pre.text{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;font:12px/1.5 ui-monospace,monospace;background:#f7f8fa;border-radius:6px;padding:8px;max-height:520px;overflow:auto}
.phone{max-width:340px;background:#f2f3f5;border-radius:18px;padding:12px}
.phone .to{font-size:12px;color:#6b7480;text-align:center;margin-bottom:6px}
.bubble{background:#e4e6eb;border-radius:16px 16px 16px 4px;padding:8px 12px;white-space:pre-wrap;word-wrap:break-word}
.smsinfo{font-size:12px;color:#4b5563;margin:6px 0 0}
.pages{display:flex;gap:10px;overflow-x:auto}
img.page{width:420px;max-width:100%;height:auto;border:1px solid #d5d9de;box-shadow:0 1px 3px rgba(0,0,0,.12);background:#fff}
p.problem{margin:0 0 8px;padding:6px 10px;background:#fdecea;color:#8a1f17;border-radius:6px;font-size:13px;overflow-wrap:anywhere}
iframe.fit{position:absolute;left:-10000px;top:0;width:390px;height:800px;border:0;visibility:hidden}
pre.error{margin:0;white-space:pre-wrap;background:#fdecea;color:#8a1f17;border-radius:6px;padding:8px;font:12px/1.5 ui-monospace,monospace}
.problems{background:#fff;border-radius:8px;padding:10px 14px;margin-bottom:14px;border-left:4px solid #c83e3e}
.problems h2{font-size:15px;margin:0 0 6px}.problems pre{margin-bottom:6px}
@media (max-width:800px){.sample{grid-template-columns:1fr}.panes{grid-template-columns:1fr}}
"#;

/// Filters (kept in the URL's #fragment, so a reload keeps them) and, when served,
/// reloading on the server's signal with the scroll position kept. A constant (what
/// changes, `LIVE` and `VERSION`, is on `<body>`): the served page's CSP allows it by
/// its hash, and no other script. URLs are relative: under `serve --bind` the gallery
/// lives at `/TOKEN/`.
const SCRIPT: &str = r#"
(function () {
  const LIVE = document.body.dataset.live === 'true', VERSION = document.body.dataset.version;
  document.getElementById('filters').addEventListener('submit', (e) => e.preventDefault());
  const keys = ['cluster', 'stage', 'channel', 'locale'];
  let cells = Array.from(document.querySelectorAll('article.cell'));
  const problems = document.getElementById('f-problems');
  function state() {
    const s = {};
    keys.forEach(k => { const v = document.getElementById('f-' + k).value; if (v) s[k] = v; });
    if (problems.checked) s.problems = '1';
    return s;
  }
  function apply() {
    const s = state();
    let shown = 0;
    cells.forEach(c => {
      const ok = keys.every(k => !s[k] || c.dataset[k] === s[k])
        && (!s.problems || c.dataset.problem === '1' || c.dataset.overflow === '1');
      c.hidden = !ok;
      if (ok) shown++;
    });
    document.getElementById('shown').textContent = shown + ' of ' + cells.length + ' cells';
    document.getElementById('none').hidden = shown > 0;
    const h = new URLSearchParams(s).toString();
    history.replaceState(null, '', h ? '#' + h : location.pathname);
  }
  const from = new URLSearchParams(location.hash.slice(1));
  keys.forEach(k => {
    const el = document.getElementById('f-' + k);
    if (from.get(k)) el.value = from.get(k);
    el.addEventListener('change', apply);
  });
  problems.checked = from.get('problems') === '1';
  problems.addEventListener('change', apply);
  apply();
  // E-mails wider than a phone: each laid out in turn in a frame 390 px wide, out of
  // sight, whose copy of the e-mail posts its width back (a file:// page cannot look
  // into its frames). One wider than its window is a problem of its cell. In the
  // background: one e-mail when the page is idle, none while a live update is applied.
  const fitFrame = document.getElementById('fit');
  const idle = window.requestIdleCallback || ((f) => setTimeout(f, 50));
  let fitting = null, fitTimer = 0, fitPaused = false;
  function fitted(f, width, inner) {
    clearTimeout(fitTimer);
    fitting = null;
    f.dataset.width = String(width);
    if (inner > 0 && width > inner && f.isConnected) {
      const p = document.createElement('p');
      p.className = 'problem too-wide';
      p.textContent = 'Wider than a phone: ' + width + ' px on a ' + inner + ' px screen, readers would scroll sideways.';
      f.closest('.msg').prepend(p);
      const card = f.closest('article.cell');
      card.dataset.overflow = '1';
      card.classList.add('has-problem');
      apply();
    }
    countWide();
    nextFit();
  }
  function countWide() {
    const wide = document.querySelectorAll('p.too-wide').length;
    document.getElementById('too-wide').textContent = wide ? ' · ' + wide + ' e-mail' + (wide > 1 ? 's' : '') + ' wider than a phone' : '';
  }
  function nextFit() {
    if (fitting || fitPaused) return;
    const f = document.querySelector('iframe.email[data-fit]:not([data-width])');
    if (!f) return;
    fitting = f;
    idle(() => {
      // A busy machine can take longer than the first wait to load the first frame:
      // one more try, with a longer wait, before the e-mail counts as unmeasured.
      const retry = !f.dataset.tries;
      fitTimer = setTimeout(() => {
        if (retry) {
          f.dataset.tries = '1';
          fitting = null;
          nextFit();
        } else {
          fitted(f, -1, 0);
        }
      }, retry ? 10000 : 30000);
      fitFrame.src = f.dataset.fit;
    }, { timeout: 1000 });
  }
  window.addEventListener('message', (e) => {
    const d = e.data;
    if (e.source !== fitFrame.contentWindow || !fitting || !d || typeof d.fit !== 'string') return;
    if (fitting.dataset.fit.split('/').pop() !== d.fit) return;
    fitted(fitting, Number(d.width) || 0, Number(d.inner) || 0);
  });
  nextFit();
  if (LIVE) {
    // Only the cards whose hash changed are replaced: the others keep their frames, so
    // an edit shows in a fraction of a second. A changed matrix reloads the page.
    let current = VERSION;
    let busy = Promise.resolve();
    async function refresh() {
      fitPaused = true;
      try {
        await update();
      } finally {
        fitPaused = false;
        countWide();
        nextFit();
      }
    }
    async function update() {
      const html = await (await fetch('./', { cache: 'no-store' })).text();
      const doc = new DOMParser().parseFromString(html, 'text/html');
      const fresh = Array.from(doc.querySelectorAll('article.cell'));
      const old = new Map(cells.map((a) => [a.id, a]));
      const sameSelects = keys.every((k) =>
        document.getElementById('f-' + k).options.length === doc.getElementById('f-' + k).options.length);
      if (!sameSelects || fresh.length !== old.size || fresh.some((a) => !old.has(a.id))) {
        location.reload();
        return;
      }
      document.querySelector('header .title').replaceWith(doc.querySelector('header .title'));
      const was = document.querySelector('section.problems');
      const now = doc.querySelector('section.problems');
      if (was) was.remove();
      if (now) document.querySelector('main').prepend(document.importNode(now, true));
      for (const a of fresh) {
        const o = old.get(a.id);
        if (o.dataset.hash !== a.dataset.hash) o.replaceWith(document.importNode(a, true));
      }
      cells = Array.from(document.querySelectorAll('article.cell'));
      apply();
    }
    const events = new EventSource('events');
    events.addEventListener('version', (e) => {
      if (e.data !== current) {
        current = e.data;
        busy = busy.then(refresh).catch(() => location.reload());
      }
    });
  }
})();
"#;
