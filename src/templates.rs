//! Message templates: found by convention, checked once, rendered strictly.
//!
//! `templates/{channel}/{cluster}/{stage}.{locale}.{ext}` with fallbacks — stage →
//! `default`, cluster → `default`, locale → its language → the campaign's default
//! locale (SPEC §7). The language decides first: a Polish debtor gets the Polish
//! default wording before the English wording written for their exact cluster.
//!
//! Tera 2 is strict: a variable the context does not have is an error with the file,
//! line, column and the names that do exist — reported before any message is sent.
//! HTML (`.html`) is autoescaped; subjects, plain text and SMS are not.

use crate::diag::{Diagnostic, Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every template under a folder, parsed.
pub struct Templates {
    root: PathBuf,
    tera: tera::Tera,
    names: BTreeSet<String>,
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
    pub fn load(root: &Path) -> Result<Templates> {
        let mut files = Vec::new();
        collect(root, root, &mut files).map_err(|e| Error::io(root, e))?;
        files.sort();
        let mut tera = tera::Tera::new();
        tera.autoescape_on(vec![".html"]);
        let mut problems = Vec::new();
        let mut sources = Vec::new();
        for (name, path) in &files {
            match std::fs::read_to_string(path) {
                Ok(text) => sources.push((name.clone(), text)),
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        // Each file alone first, so that every syntax error is found, not the first one;
        // missing parents and includes are then found when all are added together.
        for (name, text) in &sources {
            let mut single = tera::Tera::new();
            if let Err(e) = single.add_raw_template(name, text) {
                let msg = e.to_string();
                if !(msg.contains("inheriting from")
                    || msg.contains("not found")
                    || msg.contains("doesn't exist"))
                {
                    problems.push(locate(root, &e));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::Config(problems));
        }
        tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| Error::Config(vec![locate(root, &e)]))?;
        let names = files.into_iter().map(|(n, _)| n).collect();
        Ok(Templates {
            root: root.to_path_buf(),
            tera,
            names,
        })
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
        self.tera
            .render(name, context)
            .map_err(|e| locate(&self.root, &e))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e != "md") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, path));
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
        let t = Templates::load(dir.path()).unwrap();
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
        let Err(Error::Config(d)) = Templates::load(dir.path()) else {
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
        let t = Templates::load(dir.path()).unwrap();
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
        let t = Templates::load(dir.path()).unwrap();
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
}
