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
    let validated = crate::validate::validate(loaded);
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
        plan: OnceLock::new(),
    })
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
