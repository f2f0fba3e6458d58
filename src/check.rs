//! `dunwell check CAMPAIGN.yaml`: every cell of the matrix — cluster × stage × channel ×
//! the locales the data has — rendered with a real customer of the data before anything
//! is sent, every problem reported at once with its file, line and column.
//!
//! Found here besides what loading already refuses (rule files, template syntax):
//! template errors at render time (an unknown variable, with the names that exist), a
//! message without its payment link, an SMS over the campaign's segment cap or not in
//! GSM-7 where the campaign transliterates, a letter with characters no font has, and a
//! language that falls back to another language's wording (a warning).

use crate::cli::Prepared;
use crate::dataset::Channel;
use crate::diag::{Diagnostic, Result, Severity};
use crate::render::{Kit, Rendered};
use crate::segment::{Cluster, segment};
use std::collections::{BTreeMap, BTreeSet};

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

/// The names a template can use, for "did you mean" on an unknown variable.
const CONTEXT: [&str; 17] = [
    "customer",
    "invoices",
    "totals",
    "cluster",
    "reasons",
    "stage",
    "payment",
    "creditor",
    "campaign",
    "pay_by",
    "pay_by_iso",
    "instalments",
    "plan_offer",
    "locale",
    "currency",
    "invoice_table",
    "qr_svg",
];

fn hint(d: Diagnostic) -> Diagnostic {
    // Tera: "Variable `custmer.name` not found in context …"
    let name = d
        .message
        .split('`')
        .nth(1)
        .and_then(|v| v.split(['.', '[']).next())
        .map(str::to_string);
    match name {
        Some(n)
            if (d.message.contains("not defined") || d.message.contains("not found"))
                && !CONTEXT.contains(&n.as_str()) =>
        {
            let mut d = if d.message.contains("Available variables") {
                d
            } else {
                d.note(format!("known names: {}", CONTEXT.join(", ")))
            };
            if let Some(s) = crate::diag::did_you_mean(&n, CONTEXT) {
                d = d.note(format!("did you mean `{s}`?"));
            }
            d
        }
        _ => d,
    }
}

pub fn check(p: &Prepared, kit: &mut Kit) -> Result<Report> {
    let campaign = &p.campaign;
    let data = &p.validated.dataset;
    let rules = &kit.rules;
    let has_letters = Cluster::ALL.iter().any(|c| {
        (0..rules.stage_count()).any(|s| {
            rules
                .cell(*c, s)
                .is_some_and(|(ch, _, attach)| attach || ch.contains(&Channel::Letter))
        })
    });
    if has_letters {
        kit.load_letters(campaign)?;
    }
    let kit = &*kit;
    let rules = &kit.rules;
    let seg = segment(data, &p.rules, campaign.as_of);
    let plan = crate::plan::plan(data, &seg, rules, campaign.as_of);
    let renderer = kit.renderer(campaign, &p.rules);
    let default = campaign.locales.default.as_str();
    let locale_of = |i: usize| -> String {
        let tag = data.customers[i].language().unwrap_or(default);
        let lang = tag.split(['-', '_']).next().unwrap_or(tag);
        if campaign
            .locales
            .supported
            .iter()
            .any(|s| s == tag || s == lang)
        {
            lang.to_string()
        } else {
            default.to_string()
        }
    };
    // A planned message per (cluster, locale) and per locale, to render cells with.
    let mut sample: BTreeMap<(Cluster, String), &crate::plan::Planned> = BTreeMap::new();
    let mut any_of_locale: BTreeMap<String, &crate::plan::Planned> = BTreeMap::new();
    for m in &plan.messages {
        let i = m.customer as usize;
        let Some(a) = seg.assignments[i].as_ref() else {
            continue;
        };
        let loc = locale_of(i);
        sample.entry((a.cluster, loc.clone())).or_insert(m);
        any_of_locale.entry(loc).or_insert(m);
    }
    let mut report = Report::default();
    let mut seen = BTreeSet::new();
    for cluster in Cluster::ALL {
        for stage in 0..rules.stage_count() {
            let Some((channels, template, attach)) = rules.cell(*cluster, stage) else {
                continue;
            };
            for &channel in channels {
                for (loc, fallback) in &any_of_locale {
                    let base = sample.get(&(*cluster, loc.clone())).unwrap_or(fallback);
                    let i = base.customer as usize;
                    let mut a = seg.assignments[i].clone().expect("planned");
                    a.cluster = *cluster;
                    let mut m = (*base).clone();
                    m.stage = stage;
                    m.channel = channel;
                    m.template = template.map(str::to_string);
                    m.attach_letter = attach && channel == Channel::Email;
                    report.cells += 1;
                    let stage_t = template.unwrap_or(rules.stage_name(stage));
                    let ext = match channel {
                        Channel::Letter => "md",
                        Channel::Web => "html",
                        _ => "txt",
                    };
                    let resolved = kit.templates.resolve(
                        channel.as_str(),
                        cluster.as_str(),
                        stage_t,
                        loc,
                        default,
                        ext,
                    );
                    let file = resolved
                        .map(|n| campaign.templates.join(n))
                        .unwrap_or_else(|| campaign.templates.clone());
                    if let Some(n) = resolved {
                        let lang_of = n.rsplit('.').nth(1).unwrap_or("");
                        if lang_of != loc {
                            let mut d = Diagnostic::whole_file(
                                &file,
                                format!(
                                    "no {loc} wording: {loc} customers get this {lang_of} template (add a .{loc}.{ext} beside it)"
                                ),
                            );
                            d.severity = Severity::Warning;
                            report.add(&mut seen, d);
                        }
                    }
                    let view = data.view(i);
                    match renderer.render(&m, &view, &a, &seg.features[i]) {
                        Err(d) => {
                            report.add(&mut seen, hint(d));
                        }
                        Ok(Rendered::Email { text, link, .. }) => {
                            if !text.contains(&link) {
                                report.add(&mut seen, Diagnostic::whole_file(
                                        &file,
                                        "the e-mail has no payment link (expected {{ payment.link }} in the text)",
                                    ));
                            }
                        }
                        Ok(Rendered::Sms {
                            text, info, link, ..
                        }) => {
                            if !text.contains(&link) {
                                report.add(&mut seen, Diagnostic::whole_file(
                                        &file,
                                        "the SMS has no payment link (expected {{ payment.short_link }})",
                                    ));
                            }
                            if info.segments > campaign.sms.max_segments {
                                report.add(&mut seen, Diagnostic::whole_file(
                                        &file,
                                        format!(
                                            "the SMS is {} segments ({} {}), over the campaign's cap of {} (shorten it)",
                                            info.segments,
                                            info.units,
                                            info.encoding.as_str(),
                                            campaign.sms.max_segments
                                        ),
                                    ));
                            }
                            if campaign.sms.transliterate.iter().any(|l| l == loc)
                                && info.encoding == crate::sms::Encoding::Ucs2
                            {
                                report.add(&mut seen, Diagnostic::whole_file(
                                        &file,
                                        format!(
                                            "the campaign sends {loc} SMS in GSM-7, but {} cannot be written in it",
                                            info.non_gsm.join(" ")
                                        ),
                                    ));
                            }
                        }
                        Ok(_) => {}
                    }
                }
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
    Ok(report)
}
