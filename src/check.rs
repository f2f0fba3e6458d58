//! `dunwell check CAMPAIGN.yaml`: every cell of the matrix — cluster × stage × channel ×
//! the locales the data has and the campaign supports — rendered with a real customer
//! (or a persona) before anything is sent, every problem reported at once with its file,
//! line and column: rule-file and template syntax errors found while loading, and
//! template errors at render time (an unknown variable, with the names that exist), a
//! message without its payment link, an SMS over the campaign's segment cap or not in
//! GSM-7 where the campaign transliterates, a letter with characters no font has, and a
//! language that falls back to another language's wording (a warning).

use crate::diag::{Diagnostic, Severity};
use crate::prepare::Prepared;
use crate::render::{Kit, Rendered};
use std::collections::BTreeSet;

/// What `check` found (errors first, then warnings), and how many cells it rendered.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Diagnostic>,
    pub cells: usize,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Adds a finding once (the same template error shows in many cells).
    fn add(&mut self, seen: &mut BTreeSet<(String, usize, usize, String)>, d: Diagnostic) {
        let key = (
            d.file.display().to_string(),
            d.line,
            d.column,
            d.message.clone(),
        );
        if seen.insert(key) {
            self.findings.push(d);
        }
    }
}

fn hint(d: Diagnostic) -> Diagnostic {
    // Tera: "Variable `custmer.name` not found in context …"
    let name = d
        .message
        .split('`')
        .nth(1)
        .and_then(|v| v.split(['.', '[']).next())
        .map(str::to_string);
    // The names a template can use, for "did you mean" on an unknown variable.
    let context = crate::render::context::names();
    match name {
        Some(n)
            if (d.message.contains("not defined") || d.message.contains("not found"))
                && !context.contains(&n.as_str()) =>
        {
            let mut d = if d.message.contains("Available variables") {
                d
            } else {
                d.note(format!("known names: {}", context.join(", ")))
            };
            if let Some(s) = crate::diag::did_you_mean(&n, context.iter().copied()) {
                d = d.note(format!("did you mean `{s}`?"));
            }
            d
        }
        _ => d,
    }
}

pub fn check(p: &Prepared, kit: &Kit, broken: &[Diagnostic]) -> Report {
    let campaign = &p.campaign;
    let mut report = Report::default();
    let mut seen = BTreeSet::new();
    // One report per SMS file and problem: customers differ in length, not the fix.
    let mut sms_seen: BTreeSet<(std::path::PathBuf, &str)> = BTreeSet::new();
    for d in broken {
        report.add(&mut seen, d.clone());
    }
    let missing = kit.missing_accounts(p.plan(&kit.rules));
    if !missing.is_empty() {
        report.add(
            &mut seen,
            crate::render::missing_accounts_error(campaign, &missing),
        );
    }
    if let Some(d) = crate::render::unknown_laws_error(campaign, &p.validated.dataset) {
        report.add(&mut seen, d);
    }
    for cell in crate::preview::cells::cells_for_check(p, kit, broken) {
        report.cells += 1;
        let loc = &cell.locale;
        let ext = crate::preview::cells::extension(cell.channel);
        let file = cell
            .template
            .as_ref()
            .map(|n| campaign.templates.join(n))
            .unwrap_or_else(|| campaign.templates.clone());
        if let Some(lang_of) = &cell.fallback {
            let mut d = Diagnostic::whole_file(
                &file,
                format!(
                    "no {loc} wording: {loc} customers get this {lang_of} template (add a .{loc}.{ext} beside it)"
                ),
            );
            d.severity = Severity::Warning;
            report.add(&mut seen, d);
        }
        for sample in cell.samples {
            let multi = sample.who == crate::preview::cells::Who::MultiCurrency;
            // A letter made with part of the address missing from its window: the
            // address formats are to blame (the campaign's own, if it has them).
            for problem in &sample.problems {
                let table = campaign.templates.join("letter/addresses.yaml");
                let blame = if table.is_file() { &table } else { &file };
                report.add(&mut seen, Diagnostic::whole_file(blame, problem.clone()));
            }
            match sample.result {
                Err(d) => report.add(&mut seen, hint(d)),
                Ok(Rendered::Email { text, link, .. }) => {
                    // Two currencies, two signed links: a template that prints only
                    // `payment.link` leaves the second debt without a way to pay it.
                    let base = link.split("?").next().unwrap_or(&link);
                    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
                    // Found anywhere: a Japanese line puts a link right after `：`.
                    let links: BTreeSet<&str> = text
                        .match_indices(prefix)
                        .map(|(k, _)| {
                            let rest = &text[k..];
                            &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())]
                        })
                        .collect();
                    if multi && text.contains(&link) && links.len() < 2 {
                        report.add(
                            &mut seen,
                            Diagnostic::whole_file(
                                &file,
                                "for a customer owing in two currencies the e-mail has one payment link (expected one per currency: loop over `groups` and print each `g.payment.link`, see docs/money.md)",
                            ),
                        );
                    }
                    if !text.contains(&link) {
                        report.add(
                            &mut seen,
                            Diagnostic::whole_file(
                                &file,
                                "the e-mail has no payment link (expected {{ payment.link }} in the text)",
                            ),
                        );
                    }
                }
                Ok(Rendered::Sms {
                    text, info, link, ..
                }) => {
                    if !text.contains(&link) {
                        report.add(
                            &mut seen,
                            Diagnostic::whole_file(
                                &file,
                                "the SMS has no payment link (expected {{ payment.short_link }})",
                            ),
                        );
                    }
                    if info.segments > campaign.sms.max_segments
                        && sms_seen.insert((file.clone(), "cap"))
                    {
                        report.add(
                            &mut seen,
                            Diagnostic::whole_file(
                                &file,
                                format!(
                                    "the SMS is {} segments ({} {}), over the campaign's cap of {} (shorten it)",
                                    info.segments,
                                    info.units,
                                    info.encoding.as_str(),
                                    campaign.sms.max_segments
                                ),
                            ),
                        );
                    }
                    if campaign.sms.transliterate.iter().any(|l| l == loc)
                        && info.encoding == crate::sms::Encoding::Ucs2
                        && sms_seen.insert((file.clone(), "gsm"))
                    {
                        report.add(
                            &mut seen,
                            Diagnostic::whole_file(
                                &file,
                                format!(
                                    "the campaign sends {loc} SMS in GSM-7, but {} cannot be written in it",
                                    info.non_gsm.join(" ")
                                ),
                            ),
                        );
                    }
                }
                Ok(_) => {}
            }
        }
    }
    report.findings.sort_by(|a, b| {
        (a.severity != Severity::Error, &a.file, a.line).cmp(&(
            b.severity != Severity::Error,
            &b.file,
            b.line,
        ))
    });
    report
}
