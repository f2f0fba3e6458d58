//! `dunwell segment`: segments.csv, rejected.csv, summary.json and the cluster table.

use super::{Exit, log};
use crate::cli::SegmentArgs;
use crate::diag::{Error, Result};
use crate::money::Currency;
use crate::outbox;
use crate::prepare::summary::{ClusterSummary, Reconciliation, cluster_table, reconcile};
use crate::segment::{Cluster, RuleSet, Segmentation};
use crate::validate::Intake;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

#[derive(serde::Serialize)]
struct SegmentSummary<'a> {
    campaign: &'a str,
    as_of: String,
    rules: String,
    intake: &'a Intake,
    /// Customers segmented + customers rejected (by validation or by a failing rule)
    /// = customers in the export.
    reconciliation: Reconciliation,
    clusters: BTreeMap<&'static str, ClusterSummary>,
}

pub fn segment(args: SegmentArgs) -> Result<Exit> {
    let p = super::prepare(&args.data)?;
    let other = args
        .rules
        .as_deref()
        .map(|r| RuleSet::load_with_budget(r, p.campaign.limits.rule_steps()))
        .transpose()?;
    if args.data.strict && !p.validated.rejected.is_empty() {
        eprintln!(
            "--strict: {} rows rejected; nothing written",
            p.validated.rejected.len()
        );
        return Ok(Exit::Failed);
    }
    let data = &p.validated.dataset;
    let seg = &p.seg;
    log(&format!(
        "segmented {} customers in {:.2} s",
        data.len(),
        p.segment_seconds
    ));

    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    outbox::write_segments(&args.out.join("segments.csv"), data, &p.rules, seg)?;
    outbox::write_rejected(
        &args.out.join("rejected.csv"),
        p.validated.rejected.iter().chain(&seg.failures),
    )?;
    let rec = reconcile(&p.validated, data, seg);
    let clusters = cluster_table(seg);
    let summary = SegmentSummary {
        campaign: &p.campaign.name,
        as_of: p.campaign.as_of.to_string(),
        rules: p.rules.file.display().to_string(),
        intake: &p.validated.intake,
        reconciliation: rec.clone(),
        clusters,
    };
    outbox::write_json(&args.out.join("summary.json"), &summary)?;

    print_clusters(&summary);
    if let Some(other) = &other {
        print_migration(&p.rules, other, seg);
    }
    out!(
        "written: {}",
        ["segments.csv", "rejected.csv", "summary.json"]
            .map(|f| args.out.join(f).display().to_string())
            .join(", ")
    );
    if !rec.balanced {
        eprintln!("internal error: counts do not reconcile: {rec:?}");
        return Ok(Exit::Failed);
    }
    Ok(if rec.rejected > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

fn amounts(map: &BTreeMap<String, Decimal>) -> String {
    if map.is_empty() {
        return "—".into();
    }
    map.iter()
        .map(|(c, a)| {
            let text = Currency::parse(c)
                .map_or_else(|_| a.to_string(), |cur| crate::money::plain(*a, cur));
            format!("{c} {}", group_thousands(&text))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn group_thousands(s: &str) -> String {
    let (int, frac) = s.split_once('.').map_or((s, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

fn print_clusters(s: &SegmentSummary<'_>) {
    let r = &s.reconciliation;
    out!("{} — as of {} — rules {}", s.campaign, s.as_of, s.rules);
    out!(
        "customers in export: {}   segmented: {}   rejected: {}",
        r.customers_in,
        r.segmented,
        r.rejected
    );
    out!();
    out!(
        "{:<14} {:>10} {:>7}  overdue",
        "cluster",
        "customers",
        "share"
    );
    for (name, c) in &s.clusters {
        let share = if r.segmented == 0 {
            0.0
        } else {
            100.0 * c.customers as f64 / r.segmented as f64
        };
        out!(
            "{name:<14} {:>10} {share:>6.1}%  {}",
            c.customers,
            amounts(&c.overdue_amount)
        );
    }
    out!("{:<14} {:>10}", "total", r.segmented);
    out!();
}

fn print_migration(current: &RuleSet, other: &RuleSet, seg: &Segmentation) {
    let n = Cluster::ALL.len();
    let mut m = vec![vec![0usize; n + 1]; n];
    let mut failed = 0;
    for (a, f) in seg.assignments.iter().zip(&seg.features) {
        let Some(a) = a else { continue };
        let row = Cluster::ALL.iter().position(|c| *c == a.cluster).unwrap();
        match other.assign(f) {
            Ok(b) => m[row][Cluster::ALL.iter().position(|c| *c == b.cluster).unwrap()] += 1,
            Err(_) => {
                m[row][n] += 1;
                failed += 1;
            }
        }
    }
    out!(
        "migration: rows = {} → columns = {}",
        current.file.display(),
        other.file.display()
    );
    out_part!("{:<14}", "");
    for c in Cluster::ALL {
        out_part!(" {:>12}", c.as_str());
    }
    if failed > 0 {
        out_part!(" {:>12}", "failed");
    }
    out!(" {:>8}", "moved");
    for (i, c) in Cluster::ALL.iter().enumerate() {
        out_part!("{:<14}", c.as_str());
        for v in m[i].iter().take(n) {
            out_part!(" {v:>12}");
        }
        if failed > 0 {
            out_part!(" {:>12}", m[i][n]);
        }
        let moved: usize = m[i]
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, v)| v)
            .sum();
        out!(" {moved:>8}");
    }
    out!();
}
