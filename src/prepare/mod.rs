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
    /// Contacts from the history store added as `reminder_sent` events.
    pub from_history: usize,
    /// Events recorded in the history store (bounces, opt-outs, complaints) added.
    pub history_events: usize,
    plan: OnceLock<crate::plan::Plan>,
}

impl Prepared {
    /// The plan under `rules` (the campaign's stage ladder, matrix and policy), computed
    /// the first time it is asked for.
    pub fn plan(&self, rules: &crate::plan::Rules) -> &crate::plan::Plan {
        self.plan.get_or_init(|| {
            crate::plan::plan(
                &self.validated.dataset,
                &self.seg,
                rules,
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
    let (from_history, history_events) = read_history(&campaign, &mut validated.dataset)?;
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
        history_events,
        plan: OnceLock::new(),
    })
}

/// The contacts the history store knows were delivered by the campaign's `as_of`
/// become `reminder_sent` events of their customers — so reminders ignored, the
/// frequency caps and every rule over reminders count what dunwell sent in earlier
/// runs, not only what the export logged. An event the export already has (same
/// customer, channel and day) is not added twice. The events recorded by then — a
/// bounce, an opt-out after a complaint (`history bounces`) — are added as the export's
/// own events would be, unless the export has the same one. No store, or none yet:
/// nothing. Returns (contacts, events) added.
fn read_history(campaign: &Campaign, data: &mut crate::dataset::Dataset) -> Result<(usize, usize)> {
    use crate::dataset::{Channel, Event, EventKind};
    use crate::history::{History, Location};
    let Some(loc) = &campaign.history else {
        return Ok((0, 0));
    };
    if let Location::Sqlite(p) = loc
        && !p.exists()
    {
        return Ok((0, 0));
    }
    let mut store = History::open(loc)?;
    let contacts = store.delivered_by(campaign.as_of)?;
    let recorded = store.events_by(campaign.as_of)?;
    let index: std::collections::HashMap<&str, u32> = data
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id(), i as u32))
        .collect();
    let mut extra = Vec::new();
    for (customer, channel, day) in &contacts {
        let (Some(&i), Ok(channel), Ok(date)) = (
            index.get(customer.as_str()),
            Channel::parse(channel),
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d"),
        ) else {
            continue; // a customer no longer in the export, or a row from elsewhere
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
                note: Some("dunwell history".into()),
                promised: None,
            });
        }
    }
    let contacts_added = extra.len();
    for r in &recorded {
        let (Some(&i), Ok(kind), Ok(channel), Ok(date)) = (
            index.get(r.customer.as_str()),
            EventKind::parse(&r.kind),
            Channel::parse(&r.channel),
            chrono::NaiveDate::parse_from_str(&r.date, "%Y-%m-%d"),
        ) else {
            continue; // a customer no longer in the export, or a word this version lacks
        };
        let text = |s: &str| (!s.is_empty()).then(|| Box::<str>::from(s));
        let event = Event {
            customer: i,
            date,
            channel,
            kind,
            reference: text(&r.reference),
            note: text(&r.note),
            promised: chrono::NaiveDate::parse_from_str(&r.promised_date, "%Y-%m-%d").ok(),
        };
        let known = data.view(i as usize).events.iter().any(|e| {
            e.kind == kind
                && e.channel == channel
                && e.date == date
                && e.reference == event.reference
        });
        if !known {
            extra.push(event);
        }
    }
    let events_added = extra.len() - contacts_added;
    data.add_events(extra);
    Ok((contacts_added, events_added))
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
