//! Message templates: found by convention, checked once, rendered strictly.
//!
//! `templates/{channel}/{cluster}/{stage}.{locale}.{ext}` with fallbacks — stage →
//! `default`, cluster → `default`, locale → its language → the campaign's default
//! locale (SPEC §7). The language decides first: a Polish debtor gets the Polish
//! default wording before the English wording written for their exact cluster.
//!
//! Tera 2 is strict: a variable the context does not have is an error with the file,
//! line, column and the names that do exist — reported before any message is sent.
//! HTML (`.html`) is autoescaped; subjects, plain text and SMS are not. Letter bodies
//! (`letter/**.md`) live in an engine of their own whose escaping is Markdown's: a value
//! cannot start a heading or turn a name italic.
//!
//! Filters for wording in any language: `money`, `date`, `plural` (CLDR rules through
//! ICU4X, see `format.rs`) and `text_html` for the e-mail layout.
//!
//! Every render runs under a budget (`Limits`: steps and bytes, counted by the engine,
//! see vendor/tera/PATCHED.md): a template that loops a billion times, writes a 100 MB
//! e-mail or joins a list of a thousand references to a long text fails that one
//! message, the same way on every machine, instead of taking the process down.
//!
//! CSS is inlined once, into the template's source when it is loaded, not into each of
//! 100,000 rendered messages: a `<style>` in `email/base.html` reaches every template
//! that extends it. If inlining would move a Tera tag (HTML parsers move text out of
//! tables), that template is inlined after rendering instead — slower, never wrong.

use crate::diag::{Diagnostic, Error, Result};
use crate::format::{DateLength, Formats};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use tera::{Kwargs, State, TeraResult, Value};

/// Every template under a folder, parsed.
pub struct Templates {
    root: PathBuf,
    tera: tera::Tera,
    /// Markdown letter bodies, escaped for Markdown.
    md: tera::Tera,
    names: BTreeSet<String>,
    /// HTML templates whose CSS could not be inlined into the source: inlined per message.
    inline_after: BTreeMap<String, String>,
    limits: Limits,
}

/// What a Tera `invoice_table()` call leaves in the Markdown: a private-use character
/// no one types by accident, alone in its paragraph.
pub const TABLE_MARKER: &str = "\u{E000}dunwell:invoice-table\u{E000}";

/// The marker of a letter's `n`th table (0 is the invoice table, [`TABLE_MARKER`]).
pub fn table_marker(n: usize) -> String {
    if n == 0 {
        TABLE_MARKER.to_string()
    } else {
        format!("\u{E000}dunwell:table-{n}\u{E000}")
    }
}

pub use crate::campaign::TemplateLimits as Limits;

/// The output of one render, refusing to grow past the budget.
struct Capped {
    buf: Vec<u8>,
    max: usize,
    over: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + b.len() > self.max {
            self.over = true;
            return Err(std::io::Error::other("output budget exceeded"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("root", &self.root)
            .field("templates", &self.names.len())
            .finish()
    }
}

/// The file, line and column of a Tera error, from its ` --> name:line:col` line.
fn locate(root: &Path, err: &tera::Error) -> Diagnostic {
    let text = err.to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("template error")
        .trim_start_matches("error: ")
        .to_string();
    let at = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .and_then(|loc| {
            let mut parts = loc.rsplitn(3, ':');
            let col = parts.next()?.parse::<usize>().ok()?;
            let line = parts.next()?.parse::<usize>().ok()?;
            Some((parts.next()?.to_string(), line, col))
        });
    match at {
        Some((name, line, col)) => {
            // Tera names the known variables in the message; keep them as a note too.
            Diagnostic::error(root.join(name), line, col, first)
        }
        None => Diagnostic::whole_file(root, first),
    }
}

impl Templates {
    /// Loads every file under `root` (names are paths relative to it, `/`-separated).
    /// Every syntax error is reported, not only the first.
    pub fn load(root: &Path, formats: Arc<Formats>) -> Result<Templates> {
        let (templates, problems) = Self::load_lenient(root, formats)?;
        if problems.is_empty() {
            Ok(templates)
        } else {
            Err(Error::Config(problems))
        }
    }

    /// Like `load`, but a file with a syntax error is left out and its problems returned
    /// beside the rest, so that `check` can go on and render everything else.
    pub fn load_lenient(
        root: &Path,
        formats: Arc<Formats>,
    ) -> Result<(Templates, Vec<Diagnostic>)> {
        let mut files = Vec::new();
        collect(root, root, &mut files).map_err(|e| Error::io(root, e))?;
        files.sort();
        let mut tera = engine(&formats);
        let mut problems = Vec::new();
        let mut broken = BTreeSet::new();
        let mut sources = Vec::new();
        for (name, path) in &files {
            match std::fs::read_to_string(path) {
                Ok(text) => sources.push((name.clone(), text)),
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        let known: BTreeSet<String> = sources.iter().map(|(n, _)| n.clone()).collect();
        // Each file alone first, so that every syntax error is found, not the first one;
        // missing parents and includes are then found when all are added together.
        for (name, text) in &sources {
            let mut single = if name.ends_with(".md") {
                md_engine(&formats)
            } else {
                engine(&formats)
            };
            if let Err(e) = single.add_raw_template(name, text)
                && !needs_other_files(&e, &known)
            {
                problems.push(locate(root, &e));
                broken.insert(name.clone());
            }
        }
        let (markdown, sources): (Vec<_>, Vec<_>) = sources
            .into_iter()
            .filter(|(n, _)| !broken.contains(n))
            .partition(|(n, _)| n.ends_with(".md"));
        let (sources, inline_after) = inline_css(root, sources)?;
        tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| Error::Config(vec![locate(root, &e)]))?;
        let mut md = md_engine(&formats);
        md.add_raw_templates(markdown.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| Error::Config(vec![locate(root, &e)]))?;
        let names = files
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !broken.contains(n))
            .collect();
        Ok((
            Templates {
                root: root.to_path_buf(),
                tera,
                md,
                names,
                inline_after,
                limits: Limits::default(),
            },
            problems,
        ))
    }

    /// The template for a message part, by the fallback chain; `None` if there is none.
    pub fn resolve(
        &self,
        channel: &str,
        cluster: &str,
        stage: &str,
        locale: &str,
        default_locale: &str,
        ext: &str,
    ) -> Option<&str> {
        let lang = locale.split(['-', '_']).next().unwrap_or(locale);
        let mut locales = vec![locale, lang, default_locale];
        locales.dedup();
        for loc in locales {
            for cl in [cluster, "default"] {
                for st in [stage, "default"] {
                    let name = format!("{channel}/{cl}/{st}.{loc}.{ext}");
                    if let Some(n) = self.names.get(&name) {
                        return Some(n.as_str());
                    }
                }
            }
        }
        None
    }

    /// Renders one template; an error names the template's file, line and column.
    pub fn render(
        &self,
        name: &str,
        context: &tera::Context,
    ) -> std::result::Result<String, Diagnostic> {
        let engine = if name.ends_with(".md") {
            &self.md
        } else {
            &self.tera
        };
        let mut out = Capped {
            buf: Vec::with_capacity(4096),
            max: self.limits.bytes,
            over: false,
        };
        let (r, exceeded) = engine.render_limited(
            name,
            context,
            &mut out,
            tera::Limits {
                steps: self.limits.steps,
                bytes: self.limits.bytes,
            },
        );
        // The budget is checked first: an error inside a filter comes back as text.
        let over = match exceeded {
            Some(tera::Exceeded::Steps(n)) => Some(format!(
                "takes more than {n} steps (loop iterations, calls and work) for this customer: the message is not made (limits.template_steps)"
            )),
            Some(tera::Exceeded::Bytes(n)) => Some(format!(
                "builds a text, list or map of more than {n} bytes for this customer: the message is not made (limits.message_bytes)"
            )),
            Some(tera::Exceeded::Depth(n)) => Some(format!(
                "nests lists and maps, or includes, blocks and components, more than {n} deep for this customer: the message is not made"
            )),
            None if out.over => Some(format!(
                "renders more than {} bytes for this customer: the message is not made (limits.message_bytes)",
                self.limits.bytes
            )),
            None => None,
        };
        if let Some(msg) = over {
            return Err(Diagnostic::whole_file(self.root.join(name), msg)
                .customer(crate::diag::Unmade::OverLimit));
        }
        r.map_err(|e| locate(&self.root, &e))?;
        let out = String::from_utf8(out.buf).map_err(|e| {
            Diagnostic::whole_file(self.root.join(name), format!("not UTF-8 output: {e}"))
        })?;
        match self.inline_after.get(name) {
            Some(css) => css_inliner()
                .inline_fragment(&out, css)
                .or_else(|_| css_inliner().inline(&out))
                .map_err(|e| Diagnostic::whole_file(self.root.join(name), e.to_string())),
            None => Ok(out),
        }
    }

    /// Sets the budget every render runs under.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Whether a template of this name loaded.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The templates folder.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }
}

/// Whether a template failed to load alone only because it refers to other files that
/// exist (a parent, an include, a component): those are checked when all are loaded
/// together. Any other error is the template's own.
fn needs_other_files(e: &tera::Error, known: &BTreeSet<String>) -> bool {
    if matches!(e.kind(), tera::ErrorKind::MissingParent { .. }) {
        return true;
    }
    let text = e.to_string();
    let errors: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("error: "))
        .collect();
    !errors.is_empty()
        && errors.iter().all(|m| {
            m.strip_prefix("Unknown template `")
                .and_then(|r| r.split('`').next())
                .is_some_and(|n| known.contains(n))
                || m.starts_with("Unknown component `")
        })
}

/// A Tera engine with dunwell's filters; `locale` and `currency` come from the context.
fn engine(formats: &Arc<Formats>) -> tera::Tera {
    let mut tera = tera::Tera::new();
    tera.autoescape_on(vec![".html"]);
    let f = formats.clone();
    tera.register_filter(
        "money",
        move |v: Value, kw: Kwargs, st: &State| -> TeraResult<String> {
            let amount = decimal(&v, "money")?;
            let code = match kw.get::<String>("currency")? {
                Some(c) => c,
                None => context_str(st, "currency", "money")?,
            };
            let currency = crate::money::Currency::parse(&code)
                .map_err(|e| tera::Error::message(format!("money: {e}")))?;
            Ok(f.money(amount, currency, &context_str(st, "locale", "money")?))
        },
    );
    let f = formats.clone();
    tera.register_filter(
        "date",
        move |v: String, kw: Kwargs, st: &State| -> TeraResult<String> {
            let d = chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|_| {
                tera::Error::message(format!(
                    "date: `{v}` is not a date (expected YYYY-MM-DD, e.g. `invoice.due_iso`)"
                ))
            })?;
            let length = match kw.get::<String>("length")? {
                None => DateLength::Long,
                Some(l) => DateLength::parse(&l).ok_or_else(|| {
                    tera::Error::message(format!(
                        "date: length `{l}` (expected long, medium or short)"
                    ))
                })?,
            };
            Ok(f.date(d, length, &context_str(st, "locale", "date")?))
        },
    );
    let f = formats.clone();
    tera.register_filter(
        "plural",
        move |v: Value, kw: Kwargs, st: &State| -> TeraResult<String> {
            let n = decimal(&v, "plural")?;
            let category = f.plural(n, &context_str(st, "locale", "plural")?);
            match kw.get::<String>(category)? {
                Some(word) => Ok(word),
                None => kw.get::<String>("other")?.ok_or_else(|| {
                    tera::Error::message(format!(
                        "plural: no `{category}` or `other` form given for {n} (expected e.g. plural(one=\"invoice\", other=\"invoices\"))"
                    ))
                }),
            }
        },
    );
    tera.register_filter("text_html", |v: String, _: Kwargs, _: &State| {
        Value::safe_string(&text_html(&v))
    });
    tera
}

/// The letter engine: the same filters, Markdown escaping, and `invoice_table()`, which
/// leaves a marker the letter layout replaces with the paginated table.
fn md_engine(formats: &Arc<Formats>) -> tera::Tera {
    let mut tera = engine(formats);
    tera.set_escape_fn(crate::escape::markdown);
    tera.autoescape_on(vec![".md"]);
    tera.register_function("invoice_table", |_: Kwargs, _: &State| {
        Value::safe_string(&format!("\n\n{}\n\n", TABLE_MARKER))
    });
    // A statement's other tables: payments received and ageing.
    tera.register_function("payments_table", |_: Kwargs, _: &State| {
        Value::safe_string(&format!("\n\n{}\n\n", table_marker(1)))
    });
    tera.register_function("ageing_table", |_: Kwargs, _: &State| {
        Value::safe_string(&format!("\n\n{}\n\n", table_marker(2)))
    });
    tera
}

fn context_str(st: &State, name: &str, filter: &str) -> TeraResult<String> {
    st.get::<String>(name)?.ok_or_else(|| {
        tera::Error::message(format!(
            "{filter}: the context has no `{name}` (pass {name}=… to the filter)"
        ))
    })
}

/// A Tera value as a decimal: money never goes through a float.
fn decimal(v: &Value, filter: &str) -> TeraResult<Decimal> {
    if let Some(s) = v.as_str() {
        return Decimal::from_str(s.trim()).map_err(|_| {
            tera::Error::message(format!(
                "{filter}: `{s}` is not a number (expected e.g. `1234.50`)"
            ))
        });
    }
    if let Some(i) = v.as_i128() {
        return Decimal::try_from_i128_with_scale(i, 0)
            .map_err(|e| tera::Error::message(format!("{filter}: {e}")));
    }
    // A number is short; any other value is named by its type, never formatted (a list
    // may reference megabytes of text).
    let what = if v.is_number() {
        v.to_string()
    } else {
        format!("a value of type {}", v.name())
    };
    Err(tera::Error::message(format!(
        "{filter}: {what} is not an exact number (use the `*_plain` string fields: money is never a float)"
    )))
}

/// Plain text as HTML: escaped, line breaks kept, web addresses made links.
pub fn text_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(at) = rest.find("https://").or_else(|| rest.find("http://")) {
        escape_into(&mut out, &rest[..at]);
        let url_len = rest[at..]
            .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .unwrap_or(rest.len() - at);
        let mut url = &rest[at..at + url_len];
        // A sentence's full stop or closing bracket is not part of the address.
        while url.ends_with(['.', ',', ')', ';', ':', '!', '?', '。', '，']) {
            url = &url[..url.len() - url.chars().last().map_or(1, char::len_utf8)];
        }
        out.push_str("<a href=\"");
        escape_into(&mut out, url);
        out.push_str("\">");
        escape_into(&mut out, url);
        out.push_str("</a>");
        rest = &rest[at + url.len()..];
    }
    escape_into(&mut out, rest);
    out.replace('\n', "<br>\n")
}

/// `s` with `& < > " '` as entities: safe in HTML text and quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

fn escape_into(out: &mut String, s: &str) {
    let mut copied = 0;
    for (at, c) in s.bytes().enumerate() {
        let entity = match c {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[copied..at]);
        out.push_str(entity);
        copied = at + 1;
    }
    out.push_str(&s[copied..]);
}

fn css_inliner() -> css_inline::CSSInliner<'static> {
    css_inline::CSSInliner::options()
        .keep_style_tags(false)
        .keep_at_rules(true)
        .load_remote_stylesheets(false)
        .build()
}

/// The `{% extends "…" %}` parent of a template source, if any.
fn parent(source: &str) -> Option<&str> {
    let rest = source.trim_start().strip_prefix("{%")?.trim_start();
    let rest = rest
        .trim_start_matches('-')
        .trim_start()
        .strip_prefix("extends")?;
    let rest = rest.trim_start();
    let quote = rest.chars().next()?;
    let rest = &rest[quote.len_utf8()..];
    Some(&rest[..rest.find(quote)?])
}

/// The contents of every `<style>` element in a source.
fn style_blocks(source: &str) -> String {
    let mut css = String::new();
    let mut rest = source;
    while let Some(open) = rest.find("<style") {
        let Some(body) = rest[open..].find('>') else {
            break;
        };
        let from = open + body + 1;
        let Some(len) = rest[from..].find("</style>") else {
            break;
        };
        css.push_str(&rest[from..from + len]);
        css.push('\n');
        rest = &rest[from + len..];
    }
    css
}

/// The Tera tags of a source, in order: inlining must not move or change any.
fn tera_tags(source: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find(['{']) {
        let close = match rest[open..].get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                rest = &rest[open + 1..];
                continue;
            }
        };
        let Some(len) = rest[open..].find(close) else {
            break;
        };
        tags.push(&rest[open..open + len + 2]);
        rest = &rest[open + len + 2..];
    }
    tags
}

/// Inlines the CSS of every HTML template (its own `<style>`s and its parents') into its
/// source. Templates where that would disturb a Tera tag are returned with their CSS, to
/// be inlined after rendering.
#[allow(clippy::type_complexity)]
fn inline_css(
    root: &Path,
    sources: Vec<(String, String)>,
) -> Result<(Vec<(String, String)>, BTreeMap<String, String>)> {
    let by_name: BTreeMap<&str, &str> = sources
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let css_of = |name: &str| -> String {
        // Parents first, so that a child's rules win, as in a browser.
        let mut chain = Vec::new();
        let mut at = Some(name);
        while let Some(n) = at.filter(|n| !chain.contains(n) && chain.len() < 16) {
            chain.push(n);
            at = by_name.get(n).and_then(|s| parent(s));
        }
        chain
            .iter()
            .rev()
            .filter_map(|n| by_name.get(n))
            .map(|s| style_blocks(s))
            .collect()
    };
    let mut out = Vec::with_capacity(sources.len());
    let mut after = BTreeMap::new();
    for (name, text) in &sources {
        // E-mail clients drop `<style>`; browsers (payment pages) keep it.
        if !name.ends_with(".html") || !name.starts_with("email/") {
            out.push((name.clone(), text.clone()));
            continue;
        }
        let css = css_of(name);
        if css.trim().is_empty() {
            out.push((name.clone(), text.clone()));
            continue;
        }
        let inliner = css_inliner();
        let whole_document = text.contains("<html");
        let inlined = if whole_document {
            inliner.inline(text)
        } else {
            inliner.inline_fragment(text, &css)
        }
        .map_err(|e| Error::Config(vec![Diagnostic::whole_file(root.join(name), e.to_string())]))?;
        if tera_tags(&inlined) == tera_tags(text) {
            out.push((name.clone(), inlined));
        } else {
            out.push((name.clone(), text.clone()));
            after.insert(name.clone(), css);
        }
    }
    // A parent's markup is rendered as part of its children, never by its own name: when
    // a parent must be inlined after rendering, so must every template that extends it
    // (from its own source — inlining the same rules twice is not idempotent).
    let mut moved = true;
    while moved {
        moved = false;
        for (name, text) in &mut out {
            if after.contains_key(name.as_str()) {
                continue;
            }
            if let Some(p) = by_name.get(name.as_str()).and_then(|s| parent(s))
                && after.contains_key(p)
            {
                *text = by_name[name.as_str()].to_string();
                after.insert(name.clone(), css_of(name));
                moved = true;
            }
        }
    }
    Ok((out, after))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            // Templates only: not the fonts, label files or READMEs beside them.
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if matches!(ext, "html" | "txt")
                || (ext == "md" && (name.starts_with("letter/") || name.starts_with("statement/")))
            {
                out.push((name, path));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let p = root.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }

    #[test]
    fn fallback_prefers_the_language_then_the_cluster_then_the_stage() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("sms/default/default.en.txt", "en default"),
                ("sms/unable/default.en.txt", "en unable"),
                ("sms/default/reminder.pl.txt", "pl reminder"),
                ("sms/unable/final_notice.en.txt", "en unable final"),
            ],
        );
        let t = Templates::load(dir.path(), Arc::new(Formats::new(["en", "pl"]))).unwrap();
        let r = |cl, st, loc| t.resolve("sms", cl, st, loc, "en", "txt");
        assert_eq!(
            r("unable", "reminder", "pl-PL"),
            Some("sms/default/reminder.pl.txt"),
            "Polish first"
        );
        assert_eq!(
            r("unable", "final_notice", "pl"),
            Some("sms/unable/final_notice.en.txt"),
            "no Polish final notice: English, most specific"
        );
        assert_eq!(
            r("unable", "reminder", "ja"),
            Some("sms/unable/default.en.txt")
        );
        assert_eq!(
            r("forgetful", "reminder", "it"),
            Some("sms/default/default.en.txt")
        );
        assert_eq!(
            t.resolve("email", "forgetful", "reminder", "it", "en", "txt"),
            None
        );
    }

    #[test]
    fn every_syntax_error_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("sms/default/default.en.txt", "Hi {{ customer.name"),
                ("sms/default/default.it.txt", "{% if x %}unclosed"),
                ("sms/default/default.pl.txt", "ok"),
            ],
        );
        let Err(Error::Config(d)) =
            Templates::load(dir.path(), Arc::new(Formats::new(["en", "pl"])))
        else {
            panic!("expected errors")
        };
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].file.ends_with("sms/default/default.en.txt") && d[0].line == 1,
            "{:?}",
            d[0]
        );
        assert!(
            d[1].file.ends_with("sms/default/default.it.txt"),
            "{:?}",
            d[1]
        );
    }

    #[test]
    fn undefined_variables_name_the_place_and_the_known_names() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[(
                "email/default/default.en.txt",
                "Dear {{ customer.name }},\n{{ custmer.name }}",
            )],
        );
        let t = Templates::load(dir.path(), Arc::new(Formats::new(["en", "pl"]))).unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("customer", &serde_json::json!({"name": "Anna"}));
        let d = t.render("email/default/default.en.txt", &ctx).unwrap_err();
        assert_eq!((d.line, d.column), (2, 4));
        assert!(
            d.message.contains("`custmer` is not defined") && d.message.contains("customer"),
            "{}",
            d.message
        );
    }

    #[test]
    fn css_is_inlined_into_the_source_once() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                (
                    "email/base.html",
                    "<html><head><style>p.x { color: red } @media (max-width: 600px) { p.x { color: blue } }</style></head><body>{% block body %}{% endblock body %}</body></html>",
                ),
                (
                    "email/a.html",
                    "{% extends \"email/base.html\" %}{% block body %}{% for n in names %}<p class=\"x\">{{ n }}</p>{% endfor %}{% endblock body %}",
                ),
                (
                    "email/table.html",
                    "<html><head><style>td { color: red }</style></head><body><table>{% for n in names %}<tr><td>{{ n }}</td></tr>{% endfor %}</table></body></html>",
                ),
            ],
        );
        let t = Templates::load(dir.path(), Arc::new(Formats::new(["en"]))).unwrap();
        assert!(
            t.inline_after.contains_key("email/table.html"),
            "text in a table moves"
        );
        assert!(!t.inline_after.contains_key("email/a.html"));
        let mut ctx = tera::Context::new();
        ctx.insert("names", &["<b>", "Zoë"]);
        let a = t.render("email/a.html", &ctx).unwrap();
        assert!(
            a.contains(r#"<p class="x" style="color: red;">&lt;b&gt;</p>"#),
            "{a}"
        );
        assert!(a.contains("@media"), "media queries stay in a <style>: {a}");
        let table = t.render("email/table.html", &ctx).unwrap();
        assert!(
            table.contains(r#"<td style="color: red;">Zoë</td>"#),
            "{table}"
        );
    }

    #[test]
    fn a_child_of_a_layout_that_cannot_be_inlined_once_is_inlined_after_rendering() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                (
                    "email/base.html",
                    "<html><head><style>p, td { color: red }</style></head><body><table>{% for n in names %}<tr><td>{{ n }}</td></tr>{% endfor %}</table>{% block body %}{% endblock body %}</body></html>",
                ),
                (
                    "email/a.html",
                    "{% extends \"email/base.html\" %}{% block body %}<p>{{ name }}</p>{% endblock body %}",
                ),
            ],
        );
        let t = Templates::load(dir.path(), Arc::new(Formats::new(["en"]))).unwrap();
        assert!(t.inline_after.contains_key("email/base.html"));
        assert!(t.inline_after.contains_key("email/a.html"));
        let mut ctx = tera::Context::new();
        ctx.insert("name", "Zoë");
        ctx.insert("names", &["Ada"]);
        let a = t.render("email/a.html", &ctx).unwrap();
        assert!(a.contains(r#"<td style="color: red;">Ada</td>"#), "{a}");
        assert!(a.contains(r#"<p style="color: red;">Zoë</p>"#), "{a}");
    }

    /// The shipped layout keeps every Tera tag where an HTML parser leaves it, so that
    /// its CSS is inlined once, when the templates load, not into each of 100,000 e-mails.
    #[test]
    fn the_shipped_email_layout_is_inlined_once() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let t = Templates::load(&root, Arc::new(Formats::new(["en"]))).unwrap();
        assert!(t.inline_after.is_empty(), "{:?}", t.inline_after.keys());
    }

    #[test]
    fn filters_follow_the_locale() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[(
                "sms/default/default.pl.txt",
                "{{ n }} {{ n | plural(one=\"faktura\", few=\"faktury\", many=\"faktur\", other=\"faktury\") }}, {{ \"1234.5\" | money }}, {{ \"2026-12-04\" | date }}",
            )],
        );
        let t = Templates::load(dir.path(), Arc::new(Formats::new(["en", "pl"]))).unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("locale", "pl");
        ctx.insert("currency", "PLN");
        let r = |n: i64, ctx: &mut tera::Context| {
            ctx.insert("n", &n);
            t.render("sms/default/default.pl.txt", ctx)
                .unwrap()
                .replace('\u{a0}', " ")
        };
        assert_eq!(r(1, &mut ctx), "1 faktura, 1 234,50 zł, 4 grudnia 2026");
        assert!(r(3, &mut ctx).starts_with("3 faktury"));
        assert!(r(5, &mut ctx).starts_with("5 faktur,"));
        ctx.insert("n", &1.5f64);
        let err = t.render("sms/default/default.pl.txt", &ctx).unwrap_err();
        assert!(err.message.contains("never a float"), "{}", err.message);
    }

    #[test]
    fn text_html_escapes_and_links() {
        assert_eq!(
            text_html("Pay <now> at https://pay.example/p/x?a=1&b=2.\nThanks"),
            "Pay &lt;now&gt; at <a href=\"https://pay.example/p/x?a=1&amp;b=2\">https://pay.example/p/x?a=1&amp;b=2</a>.<br>\nThanks"
        );
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                (
                    "email/layout.html",
                    "<html><body>{% block body %}{% endblock body %}</body></html>",
                ),
                (
                    "email/default/default.en.html",
                    "{% extends \"email/layout.html\" %}{% block body %}<p>{{ name }}</p>{% endblock body %}",
                ),
                ("email/default/default.en.txt", "Dear {{ name }}"),
            ],
        );
        let t = Templates::load(dir.path(), Arc::new(Formats::new(["en", "pl"]))).unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("name", "<script>alert(1)</script> & Co");
        let html = t.render("email/default/default.en.html", &ctx).unwrap();
        assert_eq!(
            html,
            "<html><body><p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p></body></html>"
        );
        assert_eq!(
            t.render("email/default/default.en.txt", &ctx).unwrap(),
            "Dear <script>alert(1)</script> & Co"
        );
    }

    // The render budget against hostile templates (issue 12 item 11). Limits are small,
    // so that a missing check shows as an allocation many times the byte limit (counted
    // by `track`, this thread only) or as a render that succeeds where it must fail.

    const SMALL: Limits = Limits {
        steps: 100_000,
        bytes: 64 << 10,
    };

    /// `s`: 32 KiB of text, in a dozen steps.
    const S32K: &str = "{% set s = \"xxxxxxxxxxxxxxxx\" %}{% for i in range(end=11) %}{% set_global s = s ~ s %}{% endfor %}";

    /// `a`: a list of 64,000 references to one 39-digit number in three levels; it weighs
    /// 64,000 (within 64 KiB) but reads as 2.6 MB of text.
    const WIDE: &str = "{% set n = 10 ** 38 %}{% set l1 = [n for i in range(end=40)] %}{% set l2 = [l1 for i in range(end=40)] %}{% set a = [l2 for i in range(end=40)] %}";

    /// Renders `name` among `files` under `limits`: the result, and the most bytes the
    /// render held allocated at once.
    fn render_under(
        files: &[(&str, &str)],
        name: &str,
        limits: Limits,
    ) -> (std::result::Result<String, Diagnostic>, usize) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), files);
        let mut t = Templates::load(dir.path(), Arc::new(Formats::new(["en"]))).unwrap();
        t.set_limits(limits);
        let ctx = tera::Context::new();
        super::track::peak(|| t.render(name, &ctx))
    }

    /// The render failed that one customer's message, over the limit named by `what`.
    #[track_caller]
    fn assert_over(r: &std::result::Result<String, Diagnostic>, what: &str, case: &str) {
        match r {
            Ok(out) => panic!("{case}: rendered {} bytes, expected over {what}", out.len()),
            Err(d) => {
                assert_eq!(
                    d.scope,
                    crate::diag::Scope::Customer(crate::diag::Unmade::OverLimit),
                    "{case}: {d:?}"
                );
                assert!(d.message.contains(what), "{case}: {}", d.message);
            }
        }
    }

    #[test]
    fn a_list_never_references_more_text_than_the_byte_limit() {
        // Each builds a list or map of three references to 32 KiB: 96 KiB of text.
        let cases = [
            ("list", "{% set a = [s, s, s] %}{{ a | length }}"),
            (
                "spread",
                "{% set a = [s] %}{% set b = [...a, ...a, ...a] %}{{ b | length }}",
            ),
            (
                "comprehension",
                "{% set a = [s for i in range(end=3)] %}{{ a | length }}",
            ),
            (
                "map",
                "{% set m = {\"a\": s, \"b\": s, \"c\": s} %}{{ m | length }}",
            ),
            (
                "map_spread",
                "{% set m = {\"a\": s} %}{% set n = {\"b\": s} %}{% set o = {\"c\": s} %}{% set p = {...m, ...n, ...o} %}{{ p | length }}",
            ),
            // A filter's result: group_by repeats the key.
            (
                "filter",
                "{% set t = s ~ \"y\" %}{{ [{\"k\": t}] | group_by(attribute=\"k\") | length }}",
            ),
        ];
        for (case, body) in cases {
            let src = format!("{S32K}{body}");
            let (r, _) = render_under(&[("sms/t.txt", &src)], "sms/t.txt", SMALL);
            assert_over(&r, "bytes", case);
        }
        // Under the limit it renders.
        let src = format!("{S32K}{{% set a = [s] %}}{{{{ a | length }}}}");
        let (r, _) = render_under(&[("sms/t.txt", &src)], "sms/t.txt", SMALL);
        assert_eq!(r.unwrap(), "1");
    }

    #[test]
    fn text_is_bounded_while_it_is_made_not_measured_after() {
        // Every way a value becomes text in memory, on `a` (2.6 MB of text): each is
        // refused before it holds much more than the 64 KiB limit.
        // (case, files, the template rendered)
        type Case = (&'static str, Vec<(&'static str, String)>, &'static str);
        let cases: Vec<Case> = vec![
            ("join", vec![("sms/t.txt", format!("{WIDE}{{{{ a | join(sep=\"\") | length }}}}"))], "sms/t.txt"),
            ("concat", vec![("sms/t.txt", format!("{WIDE}{{% set x = a ~ \"\" %}}{{{{ x | length }}}}"))], "sms/t.txt"),
            ("capture", vec![("sms/t.txt", format!("{WIDE}{{% set x %}}{{{{ a }}}}{{% endset %}}{{{{ x | length }}}}"))], "sms/t.txt"),
            ("filter_block", vec![("sms/t.txt", format!("{WIDE}{{% filter upper %}}{{{{ a }}}}{{% endfilter %}}"))], "sms/t.txt"),
            ("str", vec![("sms/t.txt", format!("{WIDE}{{{{ a | str | length }}}}"))], "sms/t.txt"),
            ("safe", vec![("sms/t.txt", format!("{WIDE}{{{{ a | safe | length }}}}"))], "sms/t.txt"),
            ("string_argument", vec![("sms/t.txt", format!("{WIDE}{{{{ a | date }}}}"))], "sms/t.txt"),
            ("escaped_html", vec![("email/t.html", format!("{WIDE}<p>{{{{ a }}}}</p>"))], "email/t.html"),
            (
                "include_captured",
                vec![
                    ("sms/p.txt", format!("{WIDE}{{{{ a }}}}")),
                    ("sms/t.txt", "{% set x %}{% include \"sms/p.txt\" %}{% endset %}{{ x | length }}".to_string()),
                ],
                "sms/t.txt",
            ),
            (
                "super",
                vec![
                    ("sms/base.txt", format!("{{% block b %}}{WIDE}{{{{ a }}}}{{% endblock b %}}")),
                    ("sms/t.txt", "{% extends \"sms/base.txt\" %}{% block b %}{{ super() | length }}{% endblock b %}".to_string()),
                ],
                "sms/t.txt",
            ),
            (
                "component",
                vec![("sms/t.txt", format!("{{% component C() %}}{WIDE}{{{{ a }}}}{{% endcomponent C %}}{{{{ <C/> | length }}}}"))],
                "sms/t.txt",
            ),
            (
                "split",
                vec![("sms/t.txt", format!("{S32K}{{% set s = s ~ s %}}{{{{ s | split(pat=\"\") | length }}}}"))],
                "sms/t.txt",
            ),
        ];
        for (case, files, name) in &cases {
            let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
            let (r, peak) = render_under(&files, name, SMALL);
            assert_over(&r, "bytes", case);
            assert!(peak < 512 << 10, "{case}: {peak} bytes allocated at once");
        }
        // A value that is not a number is named in money's error, not written out.
        let src = format!("{WIDE}{{{{ a | money(currency=\"EUR\") }}}}");
        let (r, peak) = render_under(&[("sms/t.txt", &src)], "sms/t.txt", SMALL);
        assert!(r.unwrap_err().message.contains("type array"));
        assert!(peak < 512 << 10, "money: {peak} bytes allocated at once");
    }

    #[test]
    fn every_step_does_a_bounded_amount_of_work() {
        // Each takes a few hundred loop iterations, and each iteration copies, compares
        // or scans 32 KiB: the work is counted, so each is over 100,000 steps.
        let loops = [
            ("concat", "{% set x = s ~ \"\" %}"),
            ("capture", "{% set x %}{{ s }}{% endset %}"),
            ("compare", "{% if s == t %}{% endif %}"),
            ("index", "{% set c = s[5] %}"),
            ("in", "{% if \"y\" in s %}{% endif %}"),
            ("filter", "{% set u = s | upper %}"),
            ("iterate", "{% for c in s %}{% break %}{% endfor %}"),
            ("map_lookup", "{% set v = m[t] %}"),
        ];
        for (case, body) in loops {
            let src = format!(
                "{S32K}{{% set t = s ~ \"\" %}}{{% set m = {{\"a\": 1}} %}}{{% for i in range(end=500) %}}{body}{{% endfor %}}"
            );
            let (r, _) = render_under(&[("sms/t.txt", &src)], "sms/t.txt", SMALL);
            assert_over(&r, "steps", case);
        }
        let map = "{% set m = [{\"k\": i} for i in range(end=2000)] | group_by(attribute=\"k\") %}";
        let calls = [
            // Quadratic in one call.
            ("unique", "{{ range(end=5000) | unique | length }}".to_string()),
            (
                "sort",
                "{% set r = range(end=20000) | reverse %}{% for i in range(end=10) %}{% set x = r | sort %}{% endfor %}".to_string(),
            ),
            (
                "map_iteration",
                format!("{map}{{% for i in range(end=200) %}}{{% for k, v in m %}}{{% break %}}{{% endfor %}}{{% endfor %}}"),
            ),
            (
                "map_spread",
                format!("{map}{{% for i in range(end=200) %}}{{% set x = {{...m}} %}}{{% endfor %}}"),
            ),
        ];
        for (case, src) in &calls {
            let (r, _) = render_under(&[("sms/t.txt", src)], "sms/t.txt", SMALL);
            assert_over(&r, "steps", case);
        }
        // super() four times a level, nine levels of `extends`: 4^9 renders of a block.
        let mut files = vec![(
            "sms/l0.txt".to_string(),
            "{% block b %}{% endblock b %}".to_string(),
        )];
        for i in 1..10 {
            files.push((
                format!("sms/l{i}.txt"),
                format!(
                    "{{% extends \"sms/l{}.txt\" %}}{{% block b %}}{}{{% endblock b %}}",
                    i - 1,
                    "{{ super() }}".repeat(4)
                ),
            ));
        }
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let (r, _) = render_under(&files, "sms/l9.txt", SMALL);
        assert_over(&r, "steps", "super");
        // What a message does renders well within the default budget.
        let src = "{% for i in range(end=30) %}{% set row = {\"id\": i, \"name\": \"Invoice \" ~ i} %}{{ row.name | upper }} {{ row.id }}\n{% endfor %}{{ [3, 1, 2] | sort | join(sep=\",\") }}";
        let (r, _) = render_under(
            &[("sms/t.txt", src)],
            "sms/t.txt",
            Limits {
                steps: 2_000,
                bytes: 64 << 10,
            },
        );
        assert!(r.unwrap().ends_with("INVOICE 29 29\n1,2,3"));
    }

    #[test]
    fn replace_is_measured_exactly_before_it_is_built() {
        // 1,024 bytes, each replaced by six: exactly the limit.
        let src = "{% set s = \"aaaaaaaaaaaaaaaa\" %}{% for i in range(end=6) %}{% set_global s = s ~ s %}{% endfor %}{{ s | replace(from=\"a\", to=\"bbbbbb\") | length }}";
        let limits = Limits {
            steps: 100_000,
            bytes: 6 * 1024,
        };
        let (r, _) = render_under(&[("sms/t.txt", src)], "sms/t.txt", limits);
        assert_eq!(r.unwrap(), "6144");
        let src = format!("{S32K}{{{{ s | replace(from=\"\", to=\"xx\") | length }}}}");
        let (r, peak) = render_under(&[("sms/t.txt", &src)], "sms/t.txt", SMALL);
        assert_over(&r, "bytes", "replace");
        assert!(peak < 512 << 10, "replace: {peak}");
    }

    #[test]
    fn nesting_is_bounded_and_fits_a_worker_threads_stack() {
        // Renders run on rayon's workers, whose stacks are 2 MiB; every include,
        // component, block and super() is one more interpreter frame on it.
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                // A list in a list a hundred deep.
                let src = "{% set a = 1 %}{% for i in range(end=100) %}{% set_global a = [a] %}{% endfor %}{{ a | length }}";
                let (r, _) = render_under(&[("sms/t.txt", src)], "sms/t.txt", SMALL);
                assert_over(&r, "deep", "list");
                // A component that includes a partial that calls the component.
                let files = [
                    ("sms/t.txt", "{% component R(n) %}{% include \"sms/r.txt\" %}{% endcomponent R %}{{ <R n={1}/> }}"),
                    ("sms/r.txt", "{{ <R n={n}/> }}"),
                ];
                let (r, _) = render_under(&files, "sms/t.txt", SMALL);
                assert_over(&r, "deep", "component");
                // A chain of includes forty long fails; the deepest chain allowed renders.
                let chain = |n: usize| -> Vec<(String, String)> {
                    (0..n)
                        .map(|i| {
                            let next = if i + 1 < n {
                                format!("{{% include \"sms/i{}.txt\" %}}", i + 1)
                            } else {
                                String::new()
                            };
                            (format!("sms/i{i}.txt"), format!("{i} {next}"))
                        })
                        .collect()
                };
                for (n, ok) in [(40, false), (17, true)] {
                    let files = chain(n);
                    let files: Vec<(&str, &str)> =
                        files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                    let (r, _) = render_under(&files, "sms/i0.txt", SMALL);
                    if ok {
                        assert!(r.unwrap().starts_with("0 1 2"));
                    } else {
                        assert_over(&r, "deep", "includes");
                    }
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }
}

#[cfg(test)]
mod track {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<i64> = const { Cell::new(0) };
        static PEAK: Cell<i64> = const { Cell::new(0) };
    }

    pub struct Tracking;

    fn add(n: usize) {
        let _ = LIVE.try_with(|l| {
            let v = l.get() + n as i64;
            l.set(v);
            let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
        });
    }

    fn sub(n: usize) {
        let _ = LIVE.try_with(|l| l.set(l.get() - n as i64));
    }

    unsafe impl GlobalAlloc for Tracking {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(l) };
            if !p.is_null() {
                add(l.size());
            }
            p
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(l) };
            if !p.is_null() {
                add(l.size());
            }
            p
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            unsafe { System.dealloc(p, l) };
            sub(l.size());
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            let q = unsafe { System.realloc(p, l, new) };
            if !q.is_null() {
                sub(l.size());
                add(new);
            }
            q
        }
    }

    #[global_allocator]
    static GLOBAL: Tracking = Tracking;

    /// `f`'s result and the most bytes it held allocated at once, on this thread.
    pub fn peak<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let base = LIVE.get();
        PEAK.set(base);
        let r = f();
        (r, (PEAK.get() - base).max(0) as usize)
    }
}
