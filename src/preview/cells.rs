//! The matrix as template editors see it: every cell — cluster × stage × channel ×
//! locale — rendered for real customers. `check` renders one customer per cell and
//! looks for problems; `preview` and `serve` show N of them.
//!
//! Who is shown in a cell, in order of preference: customers the plan really puts in
//! that cell; customers of that cluster and language shown at that stage; a customer of
//! that language shown in that cluster; and for a supported language nobody in the data
//! speaks, a persona: a real customer's invoices under a made-up name in that language.

use crate::dataset::{Channel, Customer, CustomerView, Field};
use crate::diag::Diagnostic;
use crate::plan::Planned;
use crate::prepare::Prepared;
use crate::render::{Kit, Rendered};
use crate::segment::{Cluster, Segmentation};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Who a sample is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// The plan sends this customer exactly this message.
    Planned,
    /// A real customer of the data shown in this cell (another stage or cluster).
    StandIn,
    /// A made-up name and language over a real customer's invoices.
    Persona,
    /// A real customer's invoices and a copy of them in a second currency (`check`
    /// renders every cell with debts in two currencies).
    MultiCurrency,
}

pub struct Sample {
    pub customer_id: String,
    pub name: String,
    pub who: Who,
    /// Why the customer is in their cluster: the rule, its wording and the evidence.
    pub rule: String,
    pub because: String,
    pub evidence: Vec<String>,
    pub result: Result<Rendered, Diagnostic>,
    /// What is wrong with a message that was made: a letter whose envelope window lacks
    /// part of the customer's address.
    pub problems: Vec<String>,
}

pub struct Cell {
    pub cluster: Cluster,
    pub stage: usize,
    pub stage_name: String,
    /// The name the template lookup uses: the stage's, or the cell's `template:`.
    pub lookup: String,
    pub channel: Channel,
    pub locale: String,
    /// The template this cell renders (relative to the templates folder), if any.
    pub template: Option<String>,
    /// Set when the cell's language has no wording of its own: the language used.
    pub fallback: Option<String>,
    pub samples: Vec<Sample>,
}

impl Cell {
    pub fn id(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.cluster.as_str(),
            self.stage_name,
            self.channel.as_str(),
            self.locale
        )
    }
}

/// A made-up name per language for personas.
fn persona_name(lang: &str) -> &'static str {
    match lang {
        "it" => "Giulia Bianchi",
        "pl" => "Anna Kowalska",
        "ro" => "Andrei Popescu",
        "lv" => "Anna Bērziņa",
        "ja" => "佐藤 花子",
        "zh" => "王芳",
        "de" => "Anna Schmidt",
        "fr" => "Camille Martin",
        "es" => "Lucía García",
        "nl" => "Sanne de Vries",
        "pt" => "Ana Silva",
        _ => "Alex Morgan",
    }
}

fn persona(base: &Customer, lang: &str) -> Customer {
    let fields = [
        Field::Id,
        Field::Name,
        Field::Email,
        Field::Phone,
        Field::AddressLine1,
        Field::AddressLine2,
        Field::PostalCode,
        Field::City,
        Field::Region,
        Field::Country,
        Field::Language,
    ];
    let mut text = fields.map(|f| base.get(f));
    text[Field::Id as usize] = Some("PERSONA");
    text[Field::Name as usize] = Some(persona_name(lang));
    text[Field::Language as usize] = Some(lang);
    let mut c = Customer::with_text(text, base.extras());
    c.timezone = base.timezone;
    c.kind = base.kind;
    c
}

/// The extension of a channel's message template.
pub fn extension(channel: Channel) -> &'static str {
    match channel {
        Channel::Letter => "md",
        Channel::Web => "html",
        _ => "txt",
    }
}

/// Renders `per_cell` samples of every cell. `broken` are the template files that did
/// not load (syntax errors): a cell whose template would have been one of them shows
/// that error instead of quietly rendering a fallback.
pub fn cells(p: &Prepared, kit: &Kit, broken: &[Diagnostic], per_cell: usize) -> Vec<Cell> {
    rerender(p, kit, broken, per_cell, Vec::new(), &|_| true)
}

/// [`cells`] for `check`: one sample per cell, and a second with debts in two
/// currencies, so that a template that only works for one is found before a customer
/// who owes in two gets it.
pub fn cells_for_check(p: &Prepared, kit: &Kit, broken: &[Diagnostic]) -> Vec<Cell> {
    render_cells(p, kit, broken, 1, Vec::new(), &|_| true, true)
}

/// Like [`cells`], but a cell `affected` says no to keeps its samples from `previous`
/// (the live preview re-renders only what an edit can change).
pub fn rerender(
    p: &Prepared,
    kit: &Kit,
    broken: &[Diagnostic],
    per_cell: usize,
    previous: Vec<Cell>,
    affected: &dyn Fn(&Cell) -> bool,
) -> Vec<Cell> {
    render_cells(p, kit, broken, per_cell, previous, affected, false)
}

fn render_cells(
    p: &Prepared,
    kit: &Kit,
    broken: &[Diagnostic],
    per_cell: usize,
    previous: Vec<Cell>,
    affected: &dyn Fn(&Cell) -> bool,
    multi_currency: bool,
) -> Vec<Cell> {
    let mut previous: BTreeMap<String, Cell> = previous.into_iter().map(|c| (c.id(), c)).collect();
    let campaign = &p.campaign;
    let data = &p.validated.dataset;
    let rules = &kit.rules;
    let seg: &Segmentation = &p.seg;
    let plan = p.plan(rules);
    let renderer = kit.renderer(campaign, &p.rules);
    let default = campaign.locales.default.as_str();
    let per_cell = per_cell.max(1);
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

    // Planned messages by cell, by (cluster, locale) and by locale: a few of each.
    type Key = (Cluster, usize, Channel, String);
    let mut exact: BTreeMap<Key, Vec<&Planned>> = BTreeMap::new();
    let mut by_cluster: BTreeMap<(Cluster, String), Vec<&Planned>> = BTreeMap::new();
    let mut by_locale: BTreeMap<String, Vec<&Planned>> = BTreeMap::new();
    fn push<'p>(v: &mut Vec<&'p Planned>, m: &'p Planned, n: usize) {
        if v.len() < n && v.iter().all(|o| o.customer != m.customer) {
            v.push(m);
        }
    }
    for m in &plan.messages {
        let i = m.customer as usize;
        let Some(a) = seg.assignments[i].as_ref() else {
            continue;
        };
        let loc = locale_of(i);
        let e = exact
            .entry((a.cluster, m.stage, m.channel, loc.clone()))
            .or_default();
        if e.len() < per_cell {
            e.push(m);
        }
        push(
            by_cluster.entry((a.cluster, loc.clone())).or_default(),
            m,
            per_cell,
        );
        push(by_locale.entry(loc).or_default(), m, per_cell);
    }
    // Every language the data speaks, and every supported one (personas).
    let mut locales: Vec<String> = by_locale.keys().cloned().collect();
    for s in &campaign.locales.supported {
        let lang = s.split(['-', '_']).next().unwrap_or(s).to_string();
        if !locales.contains(&lang) {
            locales.push(lang);
        }
    }
    locales.sort();
    let any: Vec<&Planned> = plan.messages.iter().take(per_cell).collect();

    let templates_dir = &campaign.templates;
    let broken_names: Vec<(String, &Diagnostic)> = broken
        .iter()
        .filter_map(|d| {
            let rel = d.file.strip_prefix(templates_dir).ok()?;
            Some((rel.to_string_lossy().replace('\\', "/"), d))
        })
        .collect();

    // The cells, then their samples rendered in parallel.
    struct Job<'a> {
        cell: usize,
        base: &'a Planned,
        who: Who,
        persona_lang: Option<String>,
    }
    let mut cells = Vec::new();
    let mut jobs = Vec::new();
    for cluster in Cluster::ALL {
        for stage in 0..rules.stage_count() {
            let Some(matrix_cell) = rules.cell(*cluster, stage) else {
                continue;
            };
            let stage_t = matrix_cell
                .template
                .as_deref()
                .unwrap_or(rules.stage_name(stage))
                .to_string();
            for &channel in &matrix_cell.channels {
                for loc in &locales {
                    let ext = extension(channel);
                    let resolved = kit.templates.resolve(
                        channel.as_str(),
                        cluster.as_str(),
                        &stage_t,
                        loc,
                        default,
                        ext,
                    );
                    let fallback = resolved.and_then(|n| {
                        let lang = n.rsplit('.').nth(1).unwrap_or("");
                        (lang != loc).then(|| lang.to_string())
                    });
                    let k = cells.len();
                    let mut cell = Cell {
                        cluster: *cluster,
                        stage,
                        stage_name: rules.stage_name(stage).to_string(),
                        lookup: stage_t.clone(),
                        channel,
                        locale: loc.clone(),
                        template: resolved.map(str::to_string),
                        fallback,
                        samples: Vec::new(),
                    };
                    // A template that did not load: the cell names it, not the fallback.
                    if let Some(d) = shadowed(&cell, &broken_names, default) {
                        cell.template = d
                            .file
                            .strip_prefix(templates_dir)
                            .ok()
                            .map(|p| p.to_string_lossy().replace('\\', "/"));
                        cell.fallback = None;
                    }
                    cells.push(cell);
                    let (who, base, persona_lang): (Who, Vec<&Planned>, Option<String>) =
                        match exact.get(&(*cluster, stage, channel, loc.clone())) {
                            Some(v) => (Who::Planned, v.clone(), None),
                            None => match by_cluster.get(&(*cluster, loc.clone())) {
                                Some(v) => (Who::StandIn, v.clone(), None),
                                None => match by_locale.get(loc) {
                                    Some(v) => (Who::StandIn, v.clone(), None),
                                    None => (Who::Persona, any.clone(), Some(loc.clone())),
                                },
                            },
                        };
                    if !affected(&cells[k])
                        && let Some(old) = previous.remove(&cells[k].id())
                    {
                        cells[k].samples = old.samples;
                        continue;
                    }
                    for b in &base {
                        jobs.push(Job {
                            cell: k,
                            base: b,
                            who,
                            persona_lang: persona_lang.clone(),
                        });
                    }
                    // After the real samples: what check reports first is a real customer.
                    if multi_currency
                        && let Some(first) = base.first()
                        && second_currency(&kit.accounts, first.currency).is_some()
                    {
                        jobs.push(Job {
                            cell: k,
                            base: first,
                            who: Who::MultiCurrency,
                            persona_lang: persona_lang.clone(),
                        });
                    }
                }
            }
        }
    }
    let rendered: Vec<(usize, Sample)> = jobs
        .par_iter()
        .map(|job| {
            let cell = &cells[job.cell];
            let i = job.base.customer as usize;
            let mut a = seg.assignments[i].clone().expect("planned");
            let rule = &p.rules.rules[a.rule];
            let evidence: Vec<String> = p
                .rules
                .evidence(&a, &seg.features[i])
                .into_iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            let (rule_name, because) = (rule.name.clone(), rule.because.clone());
            a.cluster = cell.cluster;
            let matrix_cell = rules
                .cell(cell.cluster, cell.stage)
                .expect("cells come from the matrix");
            let mut m = job.base.clone();
            m.stage = cell.stage;
            m.channel = cell.channel;
            m.template = matrix_cell.template.clone();
            m.attach_letter = matrix_cell.attach_letter && cell.channel == Channel::Email;
            m.statement = matrix_cell.statement && cell.channel == Channel::Letter;
            m.attach_statement = matrix_cell.attach_statement
                && (cell.channel == Channel::Email
                    || (cell.channel == Channel::Letter && !matrix_cell.statement));
            let view = data.view(i);
            let persona_customer = job
                .persona_lang
                .as_deref()
                .map(|l| persona(view.customer, l));
            let view = CustomerView {
                customer: persona_customer.as_ref().unwrap_or(view.customer),
                ..view
            };
            // The multi-currency persona: the claimed invoices again, in a second
            // currency the creditor has an account for.
            let mut doubled: Vec<crate::dataset::Invoice>;
            let view = if job.who == Who::MultiCurrency {
                doubled = view.invoices.to_vec();
                let second =
                    second_currency(&kit.accounts, m.currency).expect("checked when queued");
                let mut copies = Vec::new();
                for k in m.all_invoices() {
                    let mut inv = view.invoices[(k - view.invoice_base) as usize].clone();
                    inv.id = format!("{}-{}", inv.id, second.code()).into();
                    inv.currency = second;
                    copies.push(doubled.len() as u32 + view.invoice_base);
                    doubled.push(inv);
                }
                let amount = copies
                    .iter()
                    .map(|&k| doubled[(k - view.invoice_base) as usize].open_amount())
                    .sum();
                m.others.push(crate::plan::Claim {
                    currency: second,
                    invoices: copies,
                    amount,
                });
                CustomerView {
                    invoices: &doubled,
                    ..view
                }
            } else {
                view
            };
            let result = match shadowed(cell, &broken_names, default) {
                Some(d) => Err(d.clone()),
                None => renderer.render(&m, &view, &a, &seg.features[i]),
            };
            let problems = match &result {
                Ok(Rendered::Letter { drawing, .. }) => {
                    window_problems(&kit.addresses, view.customer, &drawing.window_lines())
                }
                _ => Vec::new(),
            };
            (
                job.cell,
                Sample {
                    customer_id: view.customer.id().to_string(),
                    name: view.customer.name().to_string(),
                    who: job.who,
                    rule: rule_name,
                    because,
                    evidence,
                    result,
                    problems,
                },
            )
        })
        .collect();
    for (k, s) in rendered {
        cells[k].samples.push(s);
    }
    cells
}

/// What a letter's envelope window (`window`, its lines as set) lacks of the customer's
/// name and address, said for the gallery and `check`.
pub fn window_problems(
    addresses: &crate::letter::address::Addresses,
    customer: &Customer,
    window: &[String],
) -> Vec<String> {
    use crate::letter::address::{field_name, missing};
    missing(&addresses.expected(customer), window)
        .into_iter()
        .map(|(f, v)| {
            format!(
                "Lost an address line: the envelope window does not show the {} `{v}` (it shows: {})",
                field_name(f),
                window.join(" / ")
            )
        })
        .collect()
}

/// The syntax error of a template this cell would have used had it loaded: a file the
/// cell's lookup tries before the one it found, or a shared layout of its channel.
fn shadowed<'a>(
    cell: &Cell,
    broken: &'a [(String, &'a Diagnostic)],
    default: &str,
) -> Option<&'a Diagnostic> {
    let channel = cell.channel.as_str();
    let exts: &[&str] = match cell.channel {
        Channel::Email => &["txt", "html"],
        c => &[extension(c)],
    };
    for (name, d) in broken {
        let Some(rest) = name.strip_prefix(&format!("{channel}/")) else {
            continue;
        };
        // `email/layout.html`, `web/base.html`: every cell of the channel uses it.
        if !rest.contains('/') {
            return Some(d);
        }
        for ext in exts {
            let mut locales = vec![cell.locale.as_str(), default];
            locales.dedup();
            'search: for loc in locales {
                for cl in [cell.cluster.as_str(), "default"] {
                    for st in [cell.lookup.as_str(), "default"] {
                        let candidate = format!("{channel}/{cl}/{st}.{loc}.{ext}");
                        if &candidate == name {
                            return Some(d);
                        }
                        if cell.template.as_deref() == Some(candidate.as_str()) {
                            break 'search;
                        }
                    }
                }
            }
        }
    }
    None
}

/// A currency other than `main` that the creditor can be paid in: one of its accounts',
/// or, with no account at all (payment by link), euro (złoty when the main currency is
/// euro). `None`: the creditor has an account in one currency only — a debt in another
/// could not be claimed at all.
fn second_currency(
    accounts: &BTreeMap<String, crate::payment::account::Account>,
    main: crate::money::Currency,
) -> Option<crate::money::Currency> {
    if accounts.is_empty() {
        let code = if main.code() == "EUR" { "PLN" } else { "EUR" };
        return crate::money::Currency::parse(code).ok();
    }
    accounts
        .keys()
        .filter(|c| c.as_str() != main.code())
        .find_map(|c| crate::money::Currency::parse(c).ok())
}
