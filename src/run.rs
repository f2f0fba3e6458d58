//! The run stage: plan → render → outbox, for `dunwell run`.
//!
//! Every template cell the plan uses is rendered once first, so a template error stops
//! the run before anything is written. Then messages are rendered in parallel in blocks
//! and written in plan order — memory holds one block, not the campaign, and the outbox
//! is byte-identical for any thread count. The exclusions and the reconciliation cover
//! exactly the customers this run was asked for (`--shard`, `--segment`, `--sample`).

use crate::dataset::Channel;
use crate::diag::{Diagnostic, Error, Result};
use crate::hash::shard_of;
use crate::outbox::writer::{Meta, Ready, Writer};
use crate::plan::{ExclusionReason, Planned};
use crate::prepare::Prepared;
use crate::progress::Progress;
use crate::render::Rendered;
use crate::segment::Cluster;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

pub use crate::outbox::summary::RunSummary;

/// What `dunwell run` was asked for, besides the data.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub out: PathBuf,
    pub sample: Option<usize>,
    pub segment: Option<Cluster>,
    pub channels: Vec<crate::dataset::Channel>,
    pub shard: Option<(u64, u64)>,
    pub eml: bool,
}

/// The outcome of a run: its summary, and each message that could not be made (the
/// command prints them; that customer's channel is in exclusions.csv).
#[derive(Debug)]
pub struct Done {
    pub summary: RunSummary,
    pub failures: Vec<String>,
    /// Warnings about messages that were written: an e-mail over its size, a document
    /// that cannot be printed.
    pub warnings: Vec<String>,
    /// Messages and customers in the whole plan (before `--shard`, `--sample`, …).
    pub planned: (usize, usize),
    pub plan_seconds: f64,
    pub render_seconds: f64,
}

/// Plans, renders (in parallel, in plan order) and writes the outbox, as stages:
/// select what this run covers, try every template cell once, write the messages,
/// account for everyone else, seal.
pub fn run(p: &Prepared, args: &RunOptions) -> Result<Done> {
    let campaign = &p.campaign;
    let secret_env = campaign
        .links
        .as_ref()
        .map_or(crate::payment::link::DEFAULT_SECRET_ENV, |l| {
            l.secret_env.as_str()
        });
    let mut kit = crate::render::Kit::load(
        campaign,
        crate::payment::link::Signer::from_env(secret_env)?,
    )?;
    let t = Instant::now();
    let plan = p.plan(&kit.rules);
    let plan_seconds = t.elapsed().as_secs_f64();
    let scope = Scope { p, args };
    let messages = scope.select(&plan.messages);
    // Before anything is written: a debt with no account to pay it into stops the run
    // (never a transfer into another currency's account).
    let missing = kit.missing_accounts(plan);
    if !missing.is_empty() {
        return Err(crate::diag::Error::Config(vec![
            crate::render::missing_accounts_error(campaign, &missing),
        ]));
    }
    if let Some(d) = crate::render::unknown_laws_error(campaign, &p.validated.dataset) {
        return Err(crate::diag::Error::Config(vec![d]));
    }
    if messages
        .iter()
        .any(|m| m.channel == Channel::Letter || m.attach_letter || m.attach_statement)
    {
        kit.load_letters(campaign)?;
    }
    let kit = kit;
    let renderer = kit.renderer(campaign, &p.rules);
    let render_one = |m: &Planned| {
        let i = m.customer as usize;
        renderer.render(
            m,
            &p.validated.dataset.view(i),
            p.seg.assignments[i]
                .as_ref()
                .expect("planned customers are segmented"),
            &p.seg.features[i],
        )
    };
    try_every_cell(p, &messages, &render_one)?;

    let t = Instant::now();
    let mut summary = RunSummary {
        campaign: campaign.name.clone(),
        as_of: campaign.as_of.to_string(),
        shard: args.shard.map(|(i, n)| format!("{i}/{n}")),
        ..RunSummary::default()
    };
    let written = write_messages(p, args, &kit.rules, &messages, &render_one, &mut summary)?;
    let render_seconds = t.elapsed().as_secs_f64();
    account(p, &scope, plan, &messages, &written.failed, &mut summary)?;
    summary.stages = (0..kit.rules.stage_count())
        .map(|s| kit.rules.stage_name(s).to_string())
        .collect();
    summary.history = p.campaign.history.as_ref().map(|h| h.describe());
    summary.approval_required = p.campaign.approval == crate::campaign::Approval::Required;
    let sms_by_country = std::mem::take(&mut summary.figures.sms_segments_by_country);
    summary.figures = crate::report::figures(
        &p.validated.dataset,
        &p.seg,
        &summary.stages,
        &messages,
        campaign.as_of,
        &|i| scope.covers(i),
    );
    summary.figures.sms_segments_by_country = sms_by_country;
    crate::report::price_sms(&mut summary.figures, campaign.sms.cost.as_ref());
    if let Some(price) = &campaign.letters.cost {
        let letters = summary.by_channel.get("letter").copied().unwrap_or(0);
        summary.figures.letter_cost = Some(crate::outbox::summary::LetterCost {
            currency: price.currency.clone(),
            total: price.per_letter.0 * rust_decimal::Decimal::from(letters as u64),
        });
    }
    let out = written.files.dir().to_path_buf();
    crate::outbox::write_json(&out.join("summary.json"), &summary)?;
    crate::report::write_html(&out, &summary)?;
    written.files.seal(
        &summary.campaign,
        &summary.as_of,
        summary.shard.as_deref(),
        summary.approval_required,
    )?;
    Ok(Done {
        summary,
        failures: written.messages,
        warnings: written.notes,
        planned: (plan.messages.len(), plan.planned_customers),
        plan_seconds,
        render_seconds,
    })
}

/// The customers this run covers (`--shard`, `--segment`) and, of their messages, the
/// ones it writes (`--channel`, `--sample`).
struct Scope<'a> {
    p: &'a Prepared,
    args: &'a RunOptions,
}

impl Scope<'_> {
    fn covers(&self, i: u32) -> bool {
        let c = &self.p.validated.dataset.customers[i as usize];
        self.args
            .shard
            .is_none_or(|(k, n)| shard_of(c.id(), n) == k)
            && self.args.segment.is_none_or(|cl| {
                self.p.seg.assignments[i as usize]
                    .as_ref()
                    .is_some_and(|a| a.cluster == cl)
            })
    }

    /// A shard accounts for its own customers (rejected ones too, by id).
    fn in_shard(&self, id: &str) -> bool {
        self.args.shard.is_none_or(|(k, n)| shard_of(id, n) == k)
    }

    fn select<'p>(&self, planned: &'p [Planned]) -> Vec<&'p Planned> {
        let channels = &self.args.channels;
        let mut messages: Vec<&Planned> = planned
            .iter()
            .filter(|m| {
                self.covers(m.customer) && (channels.is_empty() || channels.contains(&m.channel))
            })
            .collect();
        if let Some(n) = self.args.sample {
            let mut kept = BTreeSet::new();
            messages.retain(|m| {
                if kept.len() < n || kept.contains(&m.customer) {
                    kept.insert(m.customer);
                    true
                } else {
                    false
                }
            });
        }
        messages
    }
}

/// Every template cell used is rendered once before anything is written: a template
/// error stops the run with every problem listed, not after 40,000 messages.
fn try_every_cell(
    p: &Prepared,
    messages: &[&Planned],
    render_one: &(dyn Fn(&Planned) -> std::result::Result<Rendered, Diagnostic> + Sync),
) -> Result<()> {
    let data = &p.validated.dataset;
    let mut first_of_cell = BTreeMap::new();
    for m in messages {
        let i = m.customer as usize;
        let a = p.seg.assignments[i].as_ref().expect("planned");
        let lang = data.customers[i].language().unwrap_or("").to_string();
        first_of_cell
            .entry((a.cluster, m.stage, m.channel, lang, m.template.clone()))
            .or_insert(*m);
    }
    let mut problems: Vec<Diagnostic> = first_of_cell
        .values()
        .collect::<Vec<_>>()
        .par_iter()
        .filter_map(|m| render_one(m).err())
        // A glyph missing from the fonts, a render over its budget: that customer's
        // message is excluded (render_failed), the campaign goes on.
        .filter(|d| d.scope == crate::diag::Scope::Files)
        .collect();
    problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Config(problems))
    }
}

/// What writing the messages left: the files to seal, the messages that could not be
/// made (customer, channel, reason) and what to say about each.
struct Written {
    files: crate::outbox::writer::Finished,
    failed: Vec<(u32, Channel, ExclusionReason)>,
    messages: Vec<String>,
    /// What was written, but not whole or not as asked: warnings.
    notes: Vec<String>,
}

/// Rendered in parallel, in blocks, written in plan order: memory holds one block, and
/// the outbox is the same bytes for any thread count.
fn write_messages(
    p: &Prepared,
    args: &RunOptions,
    rules: &crate::plan::Rules,
    messages: &[&Planned],
    render_one: &(dyn Fn(&Planned) -> std::result::Result<Rendered, Diagnostic> + Sync),
    summary: &mut RunSummary,
) -> Result<Written> {
    let data = &p.validated.dataset;
    let campaign = &p.campaign;
    let letters = messages.iter().any(|m| m.channel == Channel::Letter);
    let mut w = Writer::create(&args.out, args.eml, letters)?;
    let mut failed = Vec::new();
    let mut said = Vec::new();
    let mut notes = Vec::new();
    let email_limit = campaign.limits.email_bytes();
    let mut progress = Progress::new("rendered", messages.len() as u64);
    // A rendered letter with its parsed objects is ~100 kB, an e-mail ~5 kB: smaller
    // blocks keep memory flat when a run has letters.
    let block_size = if letters { 512 } else { 4096 };
    for block in messages.chunks(block_size) {
        let mut ready: Vec<std::result::Result<Ready, Diagnostic>> = block
            .par_iter()
            .map(|m| render_one(m).map(|r| Ready::new(r, args.eml)))
            .collect();
        w.bind(&mut ready);
        progress.advance(block.len() as u64);
        for (m, r) in block.iter().zip(ready) {
            let i = m.customer as usize;
            let c = &data.customers[i];
            let id = format!("{}-{}", c.id(), m.channel);
            let fail = |failed: &mut Vec<_>| {
                failed.push((
                    m.customer,
                    m.channel,
                    ExclusionReason::RenderFailed(m.channel),
                ))
            };
            let ready = match r {
                Ok(r) => r,
                Err(d) => {
                    fail(&mut failed);
                    // The message may quote the customer's data: escaped for the terminal.
                    said.push(crate::diag::escape_control(&format!("{id}: {d}")).into_owned());
                    continue;
                }
            };
            if let Rendered::Sms { info, .. } = ready.rendered()
                && info.segments > campaign.sms.max_segments
            {
                failed.push((
                    m.customer,
                    m.channel,
                    ExclusionReason::TooManySegments(m.channel),
                ));
                continue;
            }
            // A message the recipient's server would refuse is not written at all, and
            // never cut down: an e-mail without the invoices it says it carries is worse
            // than no e-mail (the letter, the SMS and the page still go).
            if let Rendered::Email { bytes, .. } = ready.rendered()
                && bytes.len() as u64 > email_limit
            {
                failed.push((m.customer, m.channel, ExclusionReason::TooLarge(m.channel)));
                notes.push(format!(
                    "{id}: the e-mail is {} bytes with its attachments, more than limits.email_bytes ({email_limit}): not written, listed in exclusions.csv as too_large:email",
                    bytes.len()
                ));
                continue;
            }
            if let Rendered::Letter { not_printed, .. } = ready.rendered() {
                for (invoice, file) in not_printed {
                    summary.documents_not_printed += 1;
                    notes.push(crate::diag::escape_control(&format!(
                        "{id}: the document of invoice {invoice}, `{file}`, is not a PDF: it is not in print.pdf (an e-mail still carries it)"
                    )).into_owned());
                }
            }
            let a = p.seg.assignments[i].as_ref().expect("planned");
            let meta = Meta {
                id,
                customer_id: c.id().to_string(),
                name: c.name().to_string(),
                cluster: a.cluster.to_string(),
                stage: rules.stage_name(m.stage).to_string(),
                locale: c
                    .language()
                    .unwrap_or(&campaign.locales.default)
                    .to_string(),
                scheduled_at: m.scheduled_at,
                template: if m.statement {
                    crate::plan::STATEMENT
                } else {
                    m.template.as_deref().unwrap_or(rules.stage_name(m.stage))
                }
                .to_string(),
                statement: m.statement || m.attach_statement,
                invoices: m
                    .invoices
                    .iter()
                    .map(|k| {
                        let inv = &data.invoices[*k as usize];
                        (inv.id.to_string(), inv.open_amount())
                    })
                    .collect(),
                amount: m.amount,
                currency: m.currency.to_string(),
                others: m
                    .others
                    .iter()
                    .map(|o| crate::outbox::OtherClaim {
                        currency: o.currency.to_string(),
                        amount: o.amount,
                        invoices: o
                            .invoices
                            .iter()
                            .map(|k| {
                                let inv = &data.invoices[*k as usize];
                                (inv.id.to_string(), inv.open_amount())
                            })
                            .collect(),
                    })
                    .collect(),
            };
            let entry = match w.write(meta, ready)? {
                Ok(entry) => entry,
                Err(why) => {
                    fail(&mut failed);
                    said.push(why);
                    continue;
                }
            };
            if let Some(segments) = entry.sms_segments {
                summary.sms_segments += u64::from(segments);
                crate::report::count_sms(&mut summary.figures, data, m.customer, segments);
            }
            tally(summary, &entry);
        }
    }
    progress.finish();
    let files = w.finish()?;
    summary.letter_pages = files.letter_pages;
    summary.print_pages = files.print_pages;
    Ok(Written {
        files,
        failed,
        messages: said,
        notes,
    })
}

fn tally(summary: &mut RunSummary, entry: &crate::outbox::Entry) {
    *summary
        .by_channel
        .entry(entry.channel.to_string())
        .or_default() += 1;
    *summary.by_cluster.entry(entry.cluster.clone()).or_default() += 1;
    *summary.by_stage.entry(entry.stage.clone()).or_default() += 1;
    *summary.by_locale.entry(entry.locale.clone()).or_default() += 1;
    *summary
        .by_cluster_channel
        .entry(entry.cluster.clone())
        .or_default()
        .entry(entry.channel.to_string())
        .or_default() += 1;
    summary.messages += 1;
}

/// Exclusions (the plan's, then rendering's), rejects and segments for this run's
/// scope, and the reconciliation: customers in = planned + excluded + rejected.
fn account(
    p: &Prepared,
    scope: &Scope<'_>,
    plan: &crate::plan::Plan,
    messages: &[&Planned],
    failed: &[(u32, Channel, ExclusionReason)],
    summary: &mut RunSummary,
) -> Result<()> {
    let data = &p.validated.dataset;
    let seg = &p.seg;
    let args = scope.args;
    let out = &args.out;
    let mut rows: Vec<(u32, Option<Channel>, ExclusionReason)> = plan
        .exclusions
        .iter()
        .filter(|e| scope.covers(e.customer))
        .map(|e| (e.customer, e.channel, e.reason))
        .collect();
    let sent_to: BTreeSet<u32> = messages.iter().map(|m| m.customer).collect();
    for (c, ch, reason) in failed {
        rows.push((*c, Some(*ch), *reason));
    }
    let written: BTreeSet<u32> = {
        let failed: BTreeSet<(u32, Channel)> = failed.iter().map(|(c, ch, _)| (*c, *ch)).collect();
        messages
            .iter()
            .filter(|m| !failed.contains(&(m.customer, m.channel)))
            .map(|m| m.customer)
            .collect()
    };
    for c in sent_to.difference(&written) {
        rows.push((*c, None, ExclusionReason::NoChannelLeft));
    }
    rows.sort_by_key(|r| (r.0, r.1.is_some()));
    for (_, _, reason) in &rows {
        *summary
            .exclusions_by_reason
            .entry(reason.code())
            .or_default() += 1;
    }
    crate::outbox::write_exclusions(
        &out.join("exclusions.csv"),
        rows.iter()
            .map(|(c, ch, r)| (data.customers[*c as usize].id(), *ch, *r)),
    )?;
    let in_shard =
        |d: &&crate::diag::Defect| scope.in_shard(d.customer_id.as_deref().unwrap_or(""));
    crate::outbox::write_rejected(
        &out.join("rejected.csv"),
        p.validated
            .rejected
            .iter()
            .chain(&seg.failures)
            .filter(in_shard),
    )?;
    crate::outbox::write_segments(&out.join("segments.csv"), data, &p.rules, seg)?;
    let whole_excluded = rows
        .iter()
        .filter(|r| r.1.is_none())
        .map(|r| r.0)
        .collect::<BTreeSet<_>>();
    summary.planned_customers = written.len();
    summary.excluded_customers = whole_excluded.len();
    // A shard accounts for its own customers, so that each shard's summary reconciles
    // on its own and the shards' counts add up to the export's.
    let quarantined = p
        .validated
        .rejected_customers
        .iter()
        .filter(|id| scope.in_shard(id))
        .count();
    let failed = seg.failures.iter().filter(in_shard).count();
    summary.rejected_customers = quarantined + failed;
    summary.customers_in = match args.shard {
        None => p.validated.intake.customers,
        Some(_) => {
            data.customers
                .iter()
                .filter(|c| scope.in_shard(c.id()))
                .count()
                + quarantined
        }
    };
    // A filtered run's counts cover its selection only: they are said to be, and
    // `balanced` is whether they add up all the same (a shard accounts for all its own).
    summary.filtered = args.sample.is_some() || args.segment.is_some() || !args.channels.is_empty();
    summary.balanced =
        summary.planned_customers + summary.excluded_customers + summary.rejected_customers
            == summary.customers_in;
    Ok(())
}
