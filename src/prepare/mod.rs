//! The pipeline's shared prefix: campaign → rules → load → validate → segment, and the
//! plan when a command needs it. Every command that reads a campaign starts here, and
//! what is computed here is computed once: `run`, `check`, `preview` and each `serve`
//! re-render take the segmentation and the plan from [`Prepared`] instead of redoing
//! them. Nothing here prints; the commands say what happened (`cmd/`).

pub mod summary;

use crate::campaign::{Campaign, Overrides};
use crate::diag::{Diagnostic, Error, Result};
use crate::segment::{RuleSet, Segmentation};
use crate::validate::Validated;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

/// Which campaign, with which export, as of when (the command line's `--data` and
/// `--as-of` override the campaign file).
#[derive(Debug, Clone)]
pub struct Inputs {
    pub campaign: PathBuf,
    pub data: Option<PathBuf>,
    pub as_of: Option<chrono::NaiveDate>,
}

/// The campaign, its data, every customer's segment — and, on first use, the plan.
pub struct Prepared {
    pub campaign: Campaign,
    pub rules: RuleSet,
    pub validated: Validated,
    pub seg: Segmentation,
    /// Seconds spent loading and validating the export, and segmenting it.
    pub load_seconds: f64,
    pub segment_seconds: f64,
    /// What the history store added to the export's events.
    pub from_history: HistoryRead,
    /// With a history store: the reminders delivered about each invoice, for levels.
    pub delivered: Option<DeliveredInvoices>,
    plan: OnceLock<crate::plan::Plan>,
}

/// Events the history store added: delivered contacts as `reminder_sent`, and events
/// recorded into it (`history events`, bounces, complaints).
#[derive(Clone, Copy, Debug, Default)]
pub struct HistoryRead {
    pub contacts: usize,
    pub events: usize,
    /// The campaign names a SQLite store that does not exist (yet): read as empty.
    pub store_missing: bool,
}

/// The history's delivered reminders per invoice, before the plan's ladder gives each
/// stage name its level: (invoice position in the dataset, stage name, day).
#[derive(Debug, Default)]
pub struct DeliveredInvoices {
    pub stages: Vec<String>,
    pub rows: Vec<(u32, u16, chrono::NaiveDate)>,
}

impl DeliveredInvoices {
    /// The levels under `rules`' ladder. A stage the ladder no longer has (renamed,
    /// removed) counts as its bottom rung: the invoice is not escalated on a guess, and
    /// the day of that reminder still spaces the next one.
    pub fn levels(&self, rules: &crate::plan::Rules) -> crate::plan::Levels {
        let index: Vec<Option<usize>> = self.stages.iter().map(|s| rules.stage_index(s)).collect();
        let mut levels = crate::plan::Levels::default();
        for &(invoice, stage, day) in &self.rows {
            levels.add(invoice, index[usize::from(stage)].unwrap_or(0), day);
        }
        levels
    }
}

impl Prepared {
    /// The plan under `rules` (the campaign's stage ladder, matrix and policy), computed
    /// the first time it is asked for.
    pub fn plan(&self, rules: &crate::plan::Rules) -> &crate::plan::Plan {
        self.plan.get_or_init(|| {
            let levels = self.delivered.as_ref().map(|d| d.levels(rules));
            crate::plan::plan(
                &self.validated.dataset,
                &self.seg,
                rules,
                levels.as_ref(),
                self.campaign.as_of,
            )
        })
    }
}

/// Reads the campaign and its rule file, then the data: any error stops.
pub fn prepare(inputs: &Inputs) -> Result<Prepared> {
    let campaign = load_campaign(inputs)?;
    let rules = RuleSet::load_with_budget(&campaign.segments, campaign.limits.rule_steps())?;
    prepare_data(campaign, rules)
}

fn load_campaign(inputs: &Inputs) -> Result<Campaign> {
    Campaign::load(
        &inputs.campaign,
        &Overrides {
            data: inputs.data.clone(),
            as_of: inputs.as_of,
            rules: None,
        },
    )
}

/// Loads, validates and segments the campaign's export.
pub fn prepare_data(campaign: Campaign, rules: RuleSet) -> Result<Prepared> {
    let t = Instant::now();
    let loaded = crate::load::load(&campaign.data)?;
    let mut validated = crate::validate::validate(loaded);
    let (from_history, delivered) = read_history(&campaign, &mut validated.dataset)?;
    let load_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let seg = crate::segment::segment(&validated.dataset, &rules, campaign.as_of);
    Ok(Prepared {
        campaign,
        rules,
        validated,
        seg,
        load_seconds,
        segment_seconds: t.elapsed().as_secs_f64(),
        from_history,
        delivered,
        plan: OnceLock::new(),
    })
}

/// The contacts the history store knows were delivered by the campaign's `as_of`
/// become `reminder_sent` events of their customers — so reminders ignored, the
/// frequency caps and every rule over reminders count what dunwell sent in earlier
/// runs, not only what the export logged. An event the export already has (same
/// customer, channel and day) is not added twice. No store: nothing, and no levels; a
/// store not made yet: nothing delivered, so every invoice starts at the first level.
fn read_history(
    campaign: &Campaign,
    data: &mut crate::dataset::Dataset,
) -> Result<(HistoryRead, Option<DeliveredInvoices>)> {
    use crate::dataset::{Channel, Event, EventKind};
    use crate::history::{History, Location};
    let Some(loc) = &campaign.history else {
        return Ok((HistoryRead::default(), None));
    };
    if let Location::Sqlite(p) = loc
        && !p.exists()
    {
        let missing = HistoryRead {
            store_missing: true,
            ..HistoryRead::default()
        };
        return Ok((missing, Some(DeliveredInvoices::default())));
    }
    let mut store = History::open(loc)?;
    let index: std::collections::HashMap<&str, u32> = data
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id(), i as u32))
        .collect();
    // Read a row at a time: twelve weekly runs of a million customers are millions of
    // rows, and only what they come to (events, levels) is kept.
    let mut extra = Vec::new();
    store.each_delivered(campaign.as_of, &mut |customer, channel, day| {
        let (Some(&i), Ok(channel), Ok(date)) = (
            index.get(customer),
            Channel::parse(channel),
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d"),
        ) else {
            return; // a customer no longer in the export, or a row from elsewhere
        };
        let view = data.view(i as usize);
        let known = view
            .events
            .iter()
            .any(|e| e.kind == EventKind::ReminderSent && e.channel == channel && e.date == date);
        if !known {
            extra.push(Event {
                customer: i,
                date,
                channel,
                kind: EventKind::ReminderSent,
                reference: None,
                note: None,
                promised: None,
                promised_amount: None,
            });
        }
    })?;
    let mut delivered = DeliveredInvoices::default();
    let mut names: std::collections::HashMap<String, u16> = std::collections::HashMap::new();
    store.each_delivered_invoice(campaign.as_of, &mut |customer, invoice, stage, day| {
        let (Some(&i), Ok(day)) = (
            index.get(customer),
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d"),
        ) else {
            return;
        };
        let r = &data.records[i as usize];
        let Some(k) =
            (r.invoices.start..r.invoices.end).find(|&k| *data.invoices[k as usize].id == *invoice)
        else {
            return; // an invoice the export no longer has (paid, or written off)
        };
        let next = names.len() as u16;
        let stage = match names.get(stage) {
            Some(&k) => k,
            None => *names.entry(stage.to_string()).or_insert(next),
        };
        delivered.rows.push((k, stage, day));
        let inv = &mut data.invoices[k as usize];
        inv.reminded = Some(inv.reminded.map_or(day, |d| d.min(day)));
    })?;
    let mut statements = Vec::new();
    store.each_last_statement(campaign.as_of, &mut |customer, day| {
        if let (Some(&i), Ok(day)) = (
            index.get(customer),
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d"),
        ) {
            statements.push((i, day));
        }
    })?;
    let recorded = store.events_by(campaign.as_of)?;
    drop(store);
    // Events recorded into the store (`history events`, bounces, complaints), unless the
    // export has the same one.
    let contacts_added = extra.len();
    for e in &recorded {
        let (Some(&i), Ok(kind), Ok(channel), Ok(date)) = (
            index.get(e.customer.as_str()),
            EventKind::parse(&e.kind),
            Channel::parse(&e.channel),
            chrono::NaiveDate::parse_from_str(&e.date, "%Y-%m-%d"),
        ) else {
            continue;
        };
        let promised = chrono::NaiveDate::parse_from_str(&e.promised_date, "%Y-%m-%d").ok();
        let promised_amount = e.promised_amount.parse::<rust_decimal::Decimal>().ok();
        let text = |t: &str| (!t.is_empty()).then(|| Box::from(t));
        let view = data.view(i as usize);
        let known = view.events.iter().any(|x| {
            x.kind == kind
                && x.channel == channel
                && x.date == date
                && x.promised == promised
                && x.reference.as_deref().unwrap_or("") == e.reference
        });
        if !known {
            extra.push(Event {
                customer: i,
                date,
                channel,
                kind,
                reference: text(&e.reference),
                note: text(&e.note),
                promised,
                promised_amount,
            });
        }
    }
    let mut stages: Vec<(String, u16)> = names.into_iter().collect();
    stages.sort_by_key(|(_, k)| *k);
    delivered.stages = stages.into_iter().map(|(s, _)| s).collect();
    for (i, day) in statements {
        data.customers[i as usize].last_statement = Some(day);
    }
    let added = data.add_events(extra);
    Ok((
        HistoryRead {
            contacts: contacts_added,
            events: added - contacts_added,
            store_missing: false,
        },
        Some(delivered),
    ))
}

/// What `check`, `preview` and `serve` work from: the data and a leniently loaded kit,
/// or — when the rule file, the plan or the templates cannot be used at all — none, and
/// in both cases every problem found while loading (rule-file and template errors
/// together, not one per run).
pub struct Lenient {
    pub loaded: Option<(Prepared, crate::render::Kit)>,
    pub problems: Vec<Diagnostic>,
}

pub fn load_lenient(inputs: &Inputs) -> Result<Lenient> {
    let campaign = load_campaign(inputs)?;
    let mut problems = Vec::new();
    let rules = match RuleSet::load_with_budget(&campaign.segments, campaign.limits.rule_steps()) {
        Ok(r) => Some(r),
        Err(Error::Config(d)) => {
            problems.extend(d);
            None
        }
        Err(e) => return Err(e),
    };
    let (kit, more) = reload_kit(&campaign)?;
    problems.extend(more);
    let (Some(rules), Some(kit)) = (rules, kit) else {
        return Ok(Lenient {
            loaded: None,
            problems,
        });
    };
    let p = prepare_data(campaign, rules)?;
    Ok(Lenient {
        loaded: Some((p, kit)),
        problems,
    })
}

/// The templates (leniently: broken ones are reported and left out), the plan rules
/// and, when the matrix has letters, the fonts. `None` when the plan or the fonts cannot
/// be used at all; the problems either way.
pub fn reload_kit(campaign: &Campaign) -> Result<(Option<crate::render::Kit>, Vec<Diagnostic>)> {
    // Links in a check or a preview are never sent: a throw-away key, no secret needed.
    let signer =
        crate::payment::link::Signer::new(b"dunwell check: these links are never sent, 0123")
            .map_err(Error::Usage)?;
    let (mut kit, problems) = match crate::render::Kit::load_lenient(campaign, signer) {
        Ok(k) => k,
        Err(Error::Config(d)) => return Ok((None, d)),
        Err(e) => return Err(e),
    };
    if kit.rules.uses_letters() {
        match kit.load_letters(campaign) {
            Ok(()) => {}
            Err(Error::Config(mut d)) => {
                d.splice(0..0, problems);
                return Ok((None, d));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((Some(kit), problems))
}
