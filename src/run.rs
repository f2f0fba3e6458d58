//! The run stage: plan → render → outbox, for `dunwell run`.
//!
//! Every template cell the plan uses is rendered once first, so a template error stops
//! the run before anything is written. Then messages are rendered in parallel in blocks
//! and written in plan order — memory holds one block, not the campaign, and the outbox
//! is byte-identical for any thread count. The exclusions and the reconciliation cover
//! exactly the customers this run was asked for (`--shard`, `--segment`, `--sample`).

use crate::diag::{Error, Result};
use crate::hash::{sha256_hex, shard_of};
use crate::outbox::folder;
use crate::prepare::Prepared;
use crate::progress::Progress;
use crate::segment::Cluster;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn log(line: &str) {
    eprintln!("{line}");
}

/// `summary.json`: what was written and why the rest was not.
#[derive(serde::Serialize, Default, Debug)]
pub struct RunSummary {
    pub campaign: String,
    pub as_of: String,
    pub shard: Option<String>,
    pub messages: usize,
    pub by_channel: BTreeMap<String, usize>,
    pub by_cluster: BTreeMap<String, usize>,
    pub by_stage: BTreeMap<String, usize>,
    /// cluster → channel → messages.
    pub by_cluster_channel: BTreeMap<String, BTreeMap<String, usize>>,
    pub by_locale: BTreeMap<String, usize>,
    pub sms_segments: u64,
    /// Pages of all letters, and of `letters/print.pdf` (with the blank backs).
    pub letter_pages: u64,
    pub print_pages: u64,
    pub exclusions_by_reason: BTreeMap<String, usize>,
    /// customers_in = planned + excluded + rejected (whole customers).
    pub customers_in: usize,
    pub planned_customers: usize,
    pub excluded_customers: usize,
    pub rejected_customers: usize,
    pub balanced: bool,
    /// The campaign's stages in order (the report lists them so).
    pub stages: Vec<String>,
    #[serde(flatten)]
    pub figures: crate::report::Figures,
}

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

/// The outcome of a run: its summary and how many messages failed to render.
#[derive(Debug)]
pub struct Done {
    pub summary: RunSummary,
    pub render_failures: usize,
}

/// Plans, renders (in parallel, in plan order) and writes the outbox.
pub fn run(p: &Prepared, args: &RunOptions) -> Result<Done> {
    use crate::outbox::seal::Hashing;
    use crate::outbox::{Entry, Mbox};
    use crate::render::Rendered;
    use rayon::prelude::*;
    use std::io::Write;

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
    let channels = &args.channels;
    let only_cluster = args.segment;

    let data = &p.validated.dataset;
    let seg = &p.seg;
    let t = Instant::now();
    let plan = p.plan(&kit.rules);
    log(&format!(
        "planned {} messages for {} customers in {:.2} s",
        plan.messages.len(),
        plan.planned_customers,
        t.elapsed().as_secs_f64()
    ));

    // Which customers this run covers.
    let in_scope = |i: u32| -> bool {
        let c = &data.customers[i as usize];
        args.shard.is_none_or(|(k, n)| shard_of(c.id(), n) == k)
            && only_cluster.is_none_or(|cl| {
                seg.assignments[i as usize]
                    .as_ref()
                    .is_some_and(|a| a.cluster == cl)
            })
    };
    let mut messages: Vec<&crate::plan::Planned> = plan
        .messages
        .iter()
        .filter(|m| in_scope(m.customer) && (channels.is_empty() || channels.contains(&m.channel)))
        .collect();
    if let Some(n) = args.sample {
        let mut kept = std::collections::BTreeSet::new();
        messages.retain(|m| {
            if kept.len() < n || kept.contains(&m.customer) {
                kept.insert(m.customer);
                true
            } else {
                false
            }
        });
    }

    let wants_letters = messages
        .iter()
        .any(|m| m.channel == crate::dataset::Channel::Letter || m.attach_letter);
    if wants_letters {
        kit.load_letters(campaign)?;
    }
    let kit = kit;
    let rules = &kit.rules;
    let renderer = kit.renderer(campaign, &p.rules);
    let render_one = |m: &crate::plan::Planned| {
        let i = m.customer as usize;
        renderer.render(
            m,
            &data.view(i),
            seg.assignments[i]
                .as_ref()
                .expect("planned customers are segmented"),
            &seg.features[i],
        )
    };

    // Every template cell used is rendered once before anything is written: a template
    // error stops the run with every problem listed, not after 40,000 messages.
    let mut first_of_cell = BTreeMap::new();
    for m in &messages {
        let i = m.customer as usize;
        let a = seg.assignments[i].as_ref().expect("planned");
        let lang = data.customers[i].language().unwrap_or("").to_string();
        first_of_cell
            .entry((a.cluster, m.stage, m.channel, lang, m.template.clone()))
            .or_insert(*m);
    }
    let mut problems: Vec<crate::diag::Diagnostic> = first_of_cell
        .values()
        .collect::<Vec<_>>()
        .par_iter()
        .filter_map(|m| render_one(m).err())
        // A glyph missing from the fonts, a render over its budget: that customer's
        // message is excluded below (render_failed), the campaign goes on.
        .filter(|d| d.scope == crate::diag::Scope::Files)
        .collect();
    problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    problems.dedup();
    if !problems.is_empty() {
        return Err(Error::Config(problems));
    }

    let out = &args.out;
    // Held until the outbox is sealed: one writer, and nothing of an earlier run left.
    let _lock = crate::outbox::folder::prepare(out)?;
    let mut mbox = Mbox::new(&out.join("email"))?;
    let manifest_path = out.join("manifest.jsonl");
    let mut manifest = Hashing::new(std::io::BufWriter::new(
        std::fs::File::create(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?,
    ));
    let sms_path = out.join("sms.jsonl");
    let mut sms_out = Hashing::new(std::io::BufWriter::new(
        std::fs::File::create(&sms_path).map_err(|e| Error::io(&sms_path, e))?,
    ));
    let mut summary = RunSummary {
        campaign: campaign.name.clone(),
        as_of: campaign.as_of.to_string(),
        shard: args.shard.map(|(i, n)| format!("{i}/{n}")),
        ..RunSummary::default()
    };
    let mut extra_exclusions: Vec<(u32, crate::dataset::Channel, String)> = Vec::new();
    let mut binder = if messages
        .iter()
        .any(|m| m.channel == crate::dataset::Channel::Letter)
    {
        Some(crate::letter::print::Binder::create(&out.join("letters"))?)
    } else {
        None
    };
    let t = Instant::now();
    // Rendered in parallel, in blocks, written in plan order: memory holds one block.
    let mut progress = Progress::new("rendered", messages.len() as u64);
    // A rendered letter with its parsed objects is ~100 kB, an e-mail ~5 kB: smaller
    // blocks keep memory flat when a run has letters.
    let block_size = if binder.is_some() { 512 } else { 4096 };
    for block in messages.chunks(block_size) {
        // Hashing, mbox quoting and parsing letters for print.pdf happen on the render
        // threads; the writer only writes.
        type Done = (
            Rendered,
            String,
            Vec<u8>,
            Option<crate::letter::print::Prepared>,
        );
        let mut rendered: Vec<std::result::Result<Done, crate::diag::Diagnostic>> = block
            .par_iter()
            .map(|m| {
                let mut r = render_one(m)?;
                Ok(match &mut r {
                    Rendered::Email { bytes, .. } => {
                        let escaped = if args.eml {
                            Vec::new()
                        } else {
                            crate::outbox::mboxrd_escape(bytes)
                        };
                        (sha256_hex(bytes), escaped, None)
                    }
                    Rendered::Sms { text, to, .. } => {
                        (crate::hash::sms_digest(to, text), Vec::new(), None)
                    }
                    Rendered::Letter { bytes, objects, .. } => {
                        let doc = std::mem::take(&mut **objects);
                        let prepared = crate::letter::print::prepare(doc);
                        (sha256_hex(bytes), Vec::new(), Some(prepared))
                    }
                    Rendered::Web { html, .. } => (sha256_hex(html.as_bytes()), Vec::new(), None),
                })
                .map(|(sha, escaped, prepared)| (r, sha, escaped, prepared))
            })
            .collect();
        // Letters join print.pdf in plan order: ids are handed out in order, the
        // renumbering runs in parallel.
        let serialized: Vec<Option<crate::letter::print::Serialized>> = match binder.as_mut() {
            Some(b) => {
                let bases: Vec<Option<u32>> = rendered
                    .iter()
                    .map(|r| match r {
                        Ok((_, _, _, Some(p))) => Some(b.reserve(p.ids_needed())),
                        _ => None,
                    })
                    .collect();
                rendered
                    .par_iter_mut()
                    .zip(bases)
                    .map(|(r, base)| match (r, base) {
                        (Ok((_, _, _, p)), Some(base)) => p.take().map(|p| p.serialize(base)),
                        _ => None,
                    })
                    .collect()
            }
            None => rendered.iter().map(|_| None).collect(),
        };
        progress.advance(block.len() as u64);
        for ((m, r), bound) in block.iter().zip(rendered).zip(serialized) {
            let i = m.customer as usize;
            let c = &data.customers[i];
            let a = seg.assignments[i].as_ref().expect("planned");
            let id = format!("{}-{}", c.id(), m.channel);
            let (rendered, sha256, escaped, _) = match r {
                Ok(r) => r,
                Err(d) => {
                    failed(&mut extra_exclusions, m);
                    // The message may quote the customer's data: escaped for the terminal.
                    eprintln!("{}", crate::diag::escape_control(&format!("{id}: {d}")));
                    continue;
                }
            };
            // What every manifest line has; each channel fills in the rest.
            let base = Entry {
                id: id.clone(),
                customer_id: c.id().to_string(),
                channel: String::new(),
                cluster: a.cluster.to_string(),
                stage: rules.stage_name(m.stage).to_string(),
                locale: c
                    .language()
                    .unwrap_or(&campaign.locales.default)
                    .to_string(),
                to: String::new(),
                subject: None,
                path: String::new(),
                offset: 0,
                length: 0,
                sha256,
                message_id: None,
                sms_encoding: None,
                sms_segments: None,
                link: String::new(),
                scheduled_at: m.scheduled_at.to_rfc3339(),
            };
            let entry = match rendered {
                Rendered::Email {
                    bytes,
                    message_id,
                    subject,
                    to,
                    link,
                    ..
                } => {
                    let (path, offset, length) = if args.eml {
                        let name = format!("{id}.eml");
                        if !put_file(&out.join("email"), &name, &bytes)? {
                            failed(&mut extra_exclusions, m);
                            continue;
                        }
                        (
                            format!("email/{}", folder::file_name(&name)),
                            0,
                            bytes.len() as u64,
                        )
                    } else {
                        mbox.append_escaped(
                            &escaped,
                            &m.scheduled_at
                                .to_utc()
                                .format("%a %b %e %H:%M:%S %Y")
                                .to_string(),
                        )?
                    };
                    Entry {
                        channel: "email".into(),
                        to,
                        subject: Some(subject),
                        path,
                        offset,
                        length,
                        message_id: Some(message_id),
                        link,
                        ..base
                    }
                }
                Rendered::Sms {
                    to,
                    link,
                    text,
                    info,
                } => {
                    if info.segments > campaign.sms.max_segments {
                        extra_exclusions.push((
                            m.customer,
                            m.channel,
                            "too_many_segments:sms".into(),
                        ));
                        continue;
                    }
                    let line = serde_json::json!({
                        "id": id, "to": to, "text": text, "encoding": info.encoding.as_str(),
                        "segments": info.segments, "scheduled_at": base.scheduled_at,
                    });
                    let mut bytes = serde_json::to_vec(&line).expect("json");
                    bytes.push(b'\n');
                    sms_out
                        .write_all(&bytes)
                        .map_err(|e| Error::io(&sms_path, e))?;
                    summary.sms_segments += u64::from(info.segments);
                    crate::report::count_sms(&mut summary.figures, data, m.customer, info.segments);
                    Entry {
                        channel: "sms".into(),
                        to,
                        path: "sms.jsonl".into(),
                        length: text.len() as u64,
                        sms_encoding: Some(info.encoding.as_str().into()),
                        sms_segments: Some(info.segments),
                        link,
                        ..base
                    }
                }
                Rendered::Letter {
                    bytes,
                    pages,
                    subject,
                    to,
                    link,
                    ..
                } => {
                    let name = format!("{id}.pdf");
                    if !put_file(&out.join("letters"), &name, &bytes)? {
                        failed(&mut extra_exclusions, m);
                        continue;
                    }
                    if let (Some(b), Some(s)) = (binder.as_mut(), bound) {
                        b.append(s, &id, c.id(), pages)?;
                    }
                    summary.letter_pages += pages as u64;
                    Entry {
                        channel: "letter".into(),
                        to,
                        subject: Some(subject),
                        path: format!("letters/{}", folder::file_name(&name)),
                        length: bytes.len() as u64,
                        link,
                        ..base
                    }
                }
                Rendered::Web { token, html, link } => {
                    // The folder must be the token itself (the link opens it): a token
                    // too long for a folder name fails this page, not the campaign.
                    if folder::file_name(&token) != token.as_str()
                        || !put_file(&out.join("web").join(&token), "index.html", html.as_bytes())?
                    {
                        failed(&mut extra_exclusions, m);
                        continue;
                    }
                    Entry {
                        channel: "web".into(),
                        path: format!("web/{token}/index.html"),
                        length: html.len() as u64,
                        link,
                        ..base
                    }
                }
            };
            *summary.by_channel.entry(entry.channel.clone()).or_default() += 1;
            *summary.by_cluster.entry(entry.cluster.clone()).or_default() += 1;
            *summary.by_stage.entry(entry.stage.clone()).or_default() += 1;
            *summary.by_locale.entry(entry.locale.clone()).or_default() += 1;
            *summary
                .by_cluster_channel
                .entry(entry.cluster.clone())
                .or_default()
                .entry(entry.channel.clone())
                .or_default() += 1;
            summary.messages += 1;
            let mut line = serde_json::to_vec(&entry).expect("json");
            line.push(b'\n');
            manifest
                .write_all(&line)
                .map_err(|e| Error::io(&manifest_path, e))?;
        }
    }
    progress.finish();
    mbox.finish()?;
    if let Some(b) = binder {
        summary.print_pages = b.finish()? as u64;
    }
    let (_, manifest_seal) = manifest
        .finish()
        .map_err(|e| Error::io(&manifest_path, e))?;
    let (_, sms_seal) = sms_out.finish().map_err(|e| Error::io(&sms_path, e))?;
    log(&format!(
        "rendered {} messages in {:.2} s",
        summary.messages,
        t.elapsed().as_secs_f64()
    ));

    // Exclusions (plan's, then rendering's) and the reconciliation, for this run's scope.
    let mut rows: Vec<(u32, Option<crate::dataset::Channel>, String)> = plan
        .exclusions
        .iter()
        .filter(|e| in_scope(e.customer))
        .map(|e| (e.customer, e.channel, e.reason.clone()))
        .collect();
    let mut sent_to: std::collections::BTreeSet<u32> = std::collections::BTreeSet::new();
    for m in &messages {
        sent_to.insert(m.customer);
    }
    for (c, ch, reason) in &extra_exclusions {
        rows.push((*c, Some(*ch), reason.clone()));
    }
    let written: std::collections::BTreeSet<u32> = {
        let failed: std::collections::BTreeSet<(u32, crate::dataset::Channel)> = extra_exclusions
            .iter()
            .map(|(c, ch, _)| (*c, *ch))
            .collect();
        messages
            .iter()
            .filter(|m| !failed.contains(&(m.customer, m.channel)))
            .map(|m| m.customer)
            .collect()
    };
    for c in sent_to.difference(&written) {
        rows.push((*c, None, "no_channel_left".into()));
    }
    rows.sort_by_key(|r| (r.0, r.1.is_some()));
    for (_, _, reason) in &rows {
        *summary
            .exclusions_by_reason
            .entry(reason.clone())
            .or_default() += 1;
    }
    crate::outbox::write_exclusions(
        &out.join("exclusions.csv"),
        rows.iter().map(|(c, ch, r)| {
            (
                data.customers[*c as usize].id(),
                ch.map(|c| c.as_str()),
                r.as_str(),
            )
        }),
    )?;
    let shard_keep = |id: &str| args.shard.is_none_or(|(k, n)| shard_of(id, n) == k);
    crate::outbox::write_rejected(
        &out.join("rejected.csv"),
        p.validated
            .rejected
            .iter()
            .chain(&seg.failures)
            .filter(|d| shard_keep(d.customer_id.as_deref().unwrap_or(""))),
    )?;
    crate::outbox::write_segments(&out.join("segments.csv"), data, &p.rules, seg)?;
    let whole_excluded = rows
        .iter()
        .filter(|r| r.1.is_none())
        .map(|r| r.0)
        .collect::<std::collections::BTreeSet<_>>();
    summary.planned_customers = written.len();
    summary.excluded_customers = whole_excluded.len();
    // A shard accounts for its own customers, so that each shard's summary reconciles
    // on its own and the shards' counts add up to the export's.
    let quarantined = p
        .validated
        .rejected_customers
        .iter()
        .filter(|id| shard_keep(id))
        .count();
    let failed = seg
        .failures
        .iter()
        .filter(|d| shard_keep(d.customer_id.as_deref().unwrap_or("")))
        .count();
    summary.rejected_customers = quarantined + failed;
    summary.customers_in = match args.shard {
        None => p.validated.intake.customers,
        Some(_) => data.customers.iter().filter(|c| shard_keep(c.id())).count() + quarantined,
    };
    let unfiltered = args.sample.is_none() && args.segment.is_none() && channels.is_empty();
    summary.balanced = !unfiltered
        || summary.planned_customers + summary.excluded_customers + summary.rejected_customers
            == summary.customers_in;
    summary.stages = (0..rules.stage_count())
        .map(|s| rules.stage_name(s).to_string())
        .collect();
    let sms_by_country = std::mem::take(&mut summary.figures.sms_segments_by_country);
    summary.figures = crate::report::figures(
        data,
        seg,
        &summary.stages,
        &messages,
        campaign.as_of,
        &in_scope,
    );
    summary.figures.sms_segments_by_country = sms_by_country;
    crate::report::price_sms(&mut summary.figures, campaign.sms.cost.as_ref());
    crate::outbox::write_json(&out.join("summary.json"), &summary)?;
    crate::report::write_html(out, &summary)?;
    // Last: from here on the outbox is complete and may be sent.
    crate::outbox::seal::write(
        out,
        &crate::outbox::seal::Seal {
            format: 1,
            campaign: summary.campaign.clone(),
            as_of: summary.as_of.clone(),
            shard: summary.shard.clone(),
            messages: summary.messages,
            files: [
                ("manifest.jsonl".to_string(), manifest_seal),
                ("sms.jsonl".to_string(), sms_seal),
            ]
            .into(),
        },
    )?;

    Ok(Done {
        summary,
        render_failures: extra_exclusions.len(),
    })
}

/// A message that could not be made: that customer's channel is excluded, the
/// campaign goes on.
fn failed(exclusions: &mut Vec<(u32, crate::dataset::Channel, String)>, m: &crate::plan::Planned) {
    exclusions.push((
        m.customer,
        m.channel,
        format!("render_failed:{}", m.channel),
    ));
}

/// Writes one message's file (`name` made to fit, see `folder::file_name`). A name the
/// file system still refuses fails that message only (`Ok(false)`); any other error — a
/// full disk, a read-only folder — stops the run, and the outbox stays unsealed.
fn put_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<bool> {
    let path = crate::outbox::folder::path_in(dir, name);
    let r = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, bytes));
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidFilename => {
            eprintln!("{}: {e}", path.display());
            Ok(false)
        }
        Err(e) => Err(Error::io(&path, e)),
    }
}
