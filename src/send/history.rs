//! What a sent (or imported) outbox leaves in the history store: the run, its contacts
//! with the invoices they claim (from the manifest), the segmentation (segments.csv)
//! and each message's state from the send journal. Idempotent: the outbox is its key,
//! so recording it again — a resumed send, an import after a send — adds nothing but
//! states that moved.

use crate::diag::{Error, Result};
use crate::history::{Added, Contact, History, Location, RunRecord, Segment};
use crate::outbox::summary::RunSummary;
use std::path::Path;

/// What one recording did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub added: Added,
    /// Contacts whose state changed.
    pub states: u64,
}

/// The store an outbox records into: `--history` if given, else the campaign's
/// (as `run` wrote it into summary.json); `None` when neither names one.
pub fn location_of(outbox: &Path, flag: Option<&str>) -> Result<Option<Location>> {
    // An incomplete outbox is refused for what it is before its summary is read.
    crate::outbox::seal::check(outbox)?;
    let text = match flag {
        Some(t) => Some(t.to_string()),
        None => RunSummary::read(outbox)?.history,
    };
    text.map(|t| {
        Location::parse(&t, Path::new("."))
            .map_err(|msg| Error::Input(format!("history {t}: {msg}")))
    })
    .transpose()
}

/// Records a sealed outbox and its journal's states. The manifest is read a line at a
/// time and recorded in parts: memory holds one part, whatever the outbox's size.
pub fn record(outbox: &Path, location: &Location, source: &str, now: &str) -> Result<Recorded> {
    use std::io::BufRead;
    let seal = crate::outbox::seal::check(outbox)?;
    let manifest_sha = seal
        .files
        .get("manifest.jsonl")
        .map(|f| f.sha256.clone())
        .ok_or_else(|| Error::Refused(format!("{}: the seal has no manifest", outbox.display())))?;
    let run = RunRecord {
        outbox: manifest_sha.clone(),
        campaign: seal.campaign.clone(),
        shard: seal.shard.clone().unwrap_or_default(),
        as_of: seal.as_of.clone(),
        messages: seal.messages as u64,
        source: source.to_string(),
    };
    let mut h = History::open(location)?;
    let mut added = Added {
        runs: h.record_run_row(&run, now)?,
        ..Added::default()
    };
    let path = outbox.join("manifest.jsonl");
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut part = Vec::with_capacity(PART);
    for (k, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(&path, e))?;
        let e: crate::outbox::Entry = serde_json::from_str(&line).map_err(|e| {
            Error::Refused(format!(
                "{}:{}: not a manifest line: {e}",
                path.display(),
                k + 1
            ))
        })?;
        part.push(contact_of(&e));
        if part.len() == PART {
            let (c, i) = h.record_contacts(&run, &part, now)?;
            added.contacts += c;
            added.invoices += i;
            part.clear();
        }
    }
    let (c, i) = h.record_contacts(&run, &part, now)?;
    added.contacts += c;
    added.invoices += i;
    for part in read_segments(&outbox.join("segments.csv"))?.chunks(PART) {
        added.segments += h.record_segments(&run, part)?;
    }
    let mut states = 0;
    for part in super::journal::states(outbox)?.chunks(PART) {
        let part: Vec<(String, String)> = part
            .iter()
            .map(|(id, s)| (id.clone(), s.to_string()))
            .collect();
        states += h.record_states(&manifest_sha, &part, now)?;
    }
    Ok(Recorded { added, states })
}

/// `dunwell outbox posted`: the letters of the outbox's print batch (letters/print.csv,
/// as a cut-off left it) were handed to the post, so they count as delivered — for
/// reminder levels, the frequency caps and the timeline. Records the outbox first if
/// the store does not have it yet. Returns (letters in the batch, newly marked).
pub fn posted(outbox: &Path, location: &Location, now: &str) -> Result<(u64, u64)> {
    let seal = crate::outbox::seal::check(outbox)?;
    let manifest_sha = seal
        .files
        .get("manifest.jsonl")
        .map(|f| f.sha256.clone())
        .ok_or_else(|| Error::Refused(format!("{}: the seal has no manifest", outbox.display())))?;
    let ids = crate::letter::print::letter_ids(outbox)?;
    if ids.is_empty() {
        // No letters in this run: nothing was posted, and a cycle script need not ask.
        return Ok((0, 0));
    }
    record(outbox, location, "import", now)?;
    let mut h = History::open(location)?;
    let mut marked = 0;
    for part in ids.chunks(PART) {
        marked += h.record_posted(&manifest_sha, part, now)?;
    }
    h.audit(
        &manifest_sha,
        "posted",
        "",
        &format!("{} letters", ids.len()),
        now,
    )?;
    Ok((ids.len() as u64, marked))
}

/// Follows a running send: every few seconds the states that moved in the journal are
/// recorded into the history, so the store knows a delivery as it happens, not only
/// when the send ends (a send of a million messages takes minutes). `stop` ends it; the
/// full record after the send completes whatever it missed. A failure here is only
/// reported: the record after the send is the one that counts.
pub fn follow(
    outbox: &Path,
    location: &Location,
    stop: &std::sync::atomic::AtomicBool,
    now: impl Fn() -> String,
) -> Result<u64> {
    use std::sync::atomic::Ordering;
    let sha = manifest_sha(outbox)?;
    let mut store: Option<History> = None;
    let mut since = 0i64;
    let mut moved = 0;
    let mut last_error = None;
    loop {
        for _ in 0..FOLLOW_TICKS {
            if stop.load(Ordering::Relaxed) {
                return match (moved, last_error) {
                    (0, Some(e)) => Err(e),
                    _ => Ok(moved),
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // A look that fails (the journal not made yet by a send still starting, the
        // store busy) is tried again at the next tick, not given up for the whole send.
        let mut look = || -> Result<()> {
            if store.is_none() {
                // The contacts must be there for their states to land.
                record(outbox, location, "send", &now())?;
                store = Some(History::open(location)?);
            }
            let h = store.as_mut().expect("opened");
            let (states, latest) = super::journal::states_since(outbox, since)?;
            let part: Vec<(String, String)> = states
                .into_iter()
                .map(|(id, s)| (id, s.to_string()))
                .collect();
            for chunk in part.chunks(PART) {
                moved += h.record_states(&sha, chunk, &now())?;
            }
            // A second of overlap: a state committed with an earlier stamp while this
            // read ran is read again (recording a state twice changes nothing).
            since = latest - 1000;
            Ok(())
        };
        if let Err(e) = look() {
            last_error = Some(e);
        }
    }
}

/// Tenths of a second between two looks at the journal.
const FOLLOW_TICKS: u32 = 20;

/// The manifest hash the seal holds: what an approval names.
pub fn manifest_sha(outbox: &Path) -> Result<String> {
    let seal = crate::outbox::seal::check(outbox)?;
    seal.files
        .get("manifest.jsonl")
        .map(|f| f.sha256.clone())
        .ok_or_else(|| Error::Refused(format!("{}: the seal has no manifest", outbox.display())))
}

/// Who is at the keyboard, as the audit trail names them: `DUNWELL_USER`, else the
/// login name.
pub fn operator() -> String {
    std::env::var("DUNWELL_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `dunwell approve`: records who approved this outbox (its manifest hash). Returns
/// whether the approval is new.
pub fn approve(outbox: &Path, location: &Location, by: &str, now: &str) -> Result<bool> {
    let by = by.trim();
    if by.is_empty() || by.chars().any(char::is_control) || by.len() > 200 {
        return Err(Error::Usage(
            "--by: expected the approver's name (1–200 printable characters)".into(),
        ));
    }
    let sha = manifest_sha(outbox)?;
    record(outbox, location, "import", now)?;
    let mut h = History::open(location)?;
    Ok(h.audit(&sha, "approve", by, "", now)? > 0)
}

/// Whether `outbox` needs an approval: its campaign says so (in the seal or in
/// summary.json), or the store has approvals for other outboxes of its campaign — so
/// editing the flag out of the outbox's files does not skip the four eyes.
pub fn approval_required(outbox: &Path, location: Option<&Location>) -> Result<bool> {
    let seal = crate::outbox::seal::check(outbox)?;
    if seal.approval_required || RunSummary::read(outbox)?.approval_required {
        return Ok(true);
    }
    match location {
        Some(l) => History::open(l)?.campaign_approves(&seal.campaign),
        None => Ok(false),
    }
}

/// Before a real send of an outbox whose campaign asks for approval: someone other than
/// the sender approved exactly this outbox. A changed outbox has another manifest hash
/// (and a message edited in place fails its own hash when sent), so an approval never
/// carries over to what was not reviewed.
pub fn check_approval(outbox: &Path, location: Option<&Location>, sender: &str) -> Result<String> {
    let shown = outbox.display();
    if sender.is_empty() {
        return Err(Error::Refused(format!(
            "{shown}: the campaign requires approval, and the sender has no name to tell from the approver's (set DUNWELL_USER)"
        )));
    }
    let Some(location) = location else {
        return Err(Error::Refused(format!(
            "{shown}: the campaign requires approval, but no history store is named to find it in (give --history)"
        )));
    };
    let sha = manifest_sha(outbox)?;
    let approvals: Vec<String> = History::open(location)?
        .audit_trail(&sha)?
        .into_iter()
        .filter(|(action, ..)| action == "approve")
        .map(|(_, actor, ..)| actor)
        .collect();
    if approvals.is_empty() {
        return Err(Error::Refused(format!(
            "{shown}: not approved — the campaign requires approval (`dunwell approve {shown} --by NAME`, by someone other than the sender); an outbox changed since it was approved needs a new approval"
        )));
    }
    match approvals.iter().find(|a| !a.eq_ignore_ascii_case(sender)) {
        Some(a) => Ok(a.clone()),
        None => Err(Error::Refused(format!(
            "{shown}: approved only by {sender}, who is sending it: four eyes means a second person approves (`dunwell approve {shown} --by NAME`)"
        ))),
    }
}

/// Contacts per transaction when recording a large outbox.
const PART: usize = 50_000;

fn contact_of(e: &crate::outbox::Entry) -> Contact {
    Contact {
        id: e.id.clone(),
        customer: e.customer_id.clone(),
        channel: e.channel.to_string(),
        stage: e.stage.clone(),
        cluster: e.cluster.clone(),
        template: e.template.clone(),
        currency: e.currency.clone(),
        amount: e.amount.map(|a| a.to_string()).unwrap_or_default(),
        token: token_of(&e.link).to_string(),
        scheduled_at: e.scheduled_at.clone(),
        invoices: e
            .all_invoices()
            .map(|(n, a)| (n.clone(), a.to_string()))
            .collect(),
        message_id: e.message_id.clone().unwrap_or_default(),
        statement: e.statement,
    }
}

/// customer_id, cluster and rule of each row of segments.csv.
fn read_segments(path: &Path) -> Result<Vec<Segment>> {
    let mut r = csv::Reader::from_path(path)
        .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
    let bad = |why: String| Error::Refused(format!("{}: {why}", path.display()));
    let head = r.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(format!("no `{name}` column")))
    };
    let (c, k, rule) = (col("customer_id")?, col("cluster")?, col("rule")?);
    let mut out = Vec::new();
    for row in r.records() {
        let row = row.map_err(|e| bad(e.to_string()))?;
        out.push(Segment {
            customer: crate::escape::read_cell(row.get(c).unwrap_or("")).to_string(),
            cluster: row.get(k).unwrap_or("").to_string(),
            rule: row.get(rule).unwrap_or("").to_string(),
        });
    }
    Ok(out)
}

/// `https://pay.example/p/TOKEN?utm_…` → `TOKEN`: the part that names the debt; the
/// base and the tracking parameters are the campaign's, the same for every contact.
fn token_of(link: &str) -> &str {
    let path = link.split(['?', '#']).next().unwrap_or("");
    path.rsplit('/').next().unwrap_or("")
}
