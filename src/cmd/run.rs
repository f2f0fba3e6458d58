//! `dunwell run`: the outbox written, and a table of what is in it.

use super::Exit;
use crate::cli::RunArgs;
use crate::diag::Result;

pub fn run(args: RunArgs) -> Result<Exit> {
    let p = super::prepare(&args.data)?;
    if args.data.strict && !p.validated.rejected.is_empty() {
        eprintln!(
            "--strict: {} rows rejected; nothing written",
            p.validated.rejected.len()
        );
        return Ok(Exit::Failed);
    }
    let opts = crate::run::RunOptions {
        out: args.out,
        sample: args.sample,
        segment: args.segment,
        channels: args.channels,
        shard: args.shard,
        eml: args.eml,
    };
    let done = crate::run::run(&p, &opts)?;
    eprintln!(
        "planned {} messages for {} customers in {:.2} s",
        done.planned.0, done.planned.1, done.plan_seconds
    );
    for line in &done.failures {
        eprintln!("{line}");
    }
    for line in &done.warnings {
        eprintln!("warning: {line}");
    }
    eprintln!(
        "rendered {} messages in {:.2} s",
        done.summary.messages, done.render_seconds
    );
    print_run_summary(&done.summary, &opts.out);
    // Only a run of the whole export (or a whole shard) must reconcile.
    if !done.summary.filtered && !done.summary.balanced {
        eprintln!("internal error: customers do not reconcile");
        return Ok(Exit::Failed);
    }
    Ok(
        if done.summary.rejected_customers > 0 || !done.failures.is_empty() {
            Exit::Partial
        } else {
            Exit::Ok
        },
    )
}

/// What `run` did, as a credit manager reads it: a table of messages by cluster and
/// channel, then the exclusions by reason.
fn print_run_summary(summary: &crate::run::RunSummary, out: &std::path::Path) {
    out!(
        "{} — as of {}{}",
        summary.campaign,
        summary.as_of,
        summary
            .shard
            .as_ref()
            .map(|s| format!(" — shard {s}"))
            .unwrap_or_default()
    );
    if summary.filtered {
        // The selection's counts do not add up to the export's: no equation claimed.
        out!(
            "customers: {} in; this filtered run covers {} planned, {} excluded, {} rejected",
            summary.customers_in,
            summary.planned_customers,
            summary.excluded_customers,
            summary.rejected_customers
        );
    } else {
        out!(
            "customers: {} in = {} planned + {} excluded + {} rejected",
            summary.customers_in,
            summary.planned_customers,
            summary.excluded_customers,
            summary.rejected_customers
        );
    }
    let channels: Vec<&String> = summary.by_channel.keys().collect();
    out!();
    out_part!("{:<16}", "messages");
    for ch in &channels {
        out_part!("{:>10}", ch);
    }
    out!("{:>10}", "total");
    for (cluster, row) in &summary.by_cluster_channel {
        out_part!("{:<16}", cluster);
        for ch in &channels {
            out_part!("{:>10}", row.get(*ch).copied().unwrap_or(0));
        }
        out!("{:>10}", row.values().sum::<usize>());
    }
    out_part!("{:<16}", "total");
    for ch in &channels {
        out_part!("{:>10}", summary.by_channel[*ch]);
    }
    out!("{:>10}", summary.messages);
    if summary.sms_segments > 0 {
        out!("sms segments: {}", summary.sms_segments);
    }
    out!();
    if summary.exclusions_by_reason.is_empty() {
        out!("exclusions: none");
    } else {
        out!("exclusions");
        for (reason, n) in &summary.exclusions_by_reason {
            out!("  {reason:<30}{n:>8}");
        }
    }
    out!();
    out!("outbox: {}", out.display());
}
