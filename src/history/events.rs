//! `dunwell history events FILE.csv`: events from the portal or the CRM — promises to
//! pay (with `promised_date` and `promised_amount`), disputes, plans, opt-outs per
//! channel, replies — recorded into the history store, so the next run knows them even
//! when this week's export does not carry them.
//!
//! The file has events.csv's columns (docs/input.md). A file with a bad row is refused
//! whole, every bad row named: recording half a file and asking the user to find which
//! half is how events get lost.

use super::EventRecord;
use crate::dataset::{Channel, EventKind};
use crate::diag::{Error, Result};
use crate::values::{IdKind, check_id, plausible_date};
use std::path::Path;

/// Reads every event of `path`; all the file's problems at once (`FILE:LINE: column X:
/// what is wrong (what was expected)`).
pub fn read(path: &Path) -> Result<Vec<EventRecord>> {
    // `,` or `;`, told by the header line, as the export's own files (docs/input.md).
    let head_line = std::fs::read(path)
        .map_err(|e| Error::io(path, e))?
        .split(|&b| b == b'\n')
        .next()
        .map(|l| l.to_vec())
        .unwrap_or_default();
    let delimiter = if head_line.contains(&b';') && !head_line.contains(&b',') {
        b';'
    } else {
        b','
    };
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_path(path)
        .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
    let shown = path.display();
    let head: Vec<String> = r
        .headers()
        .map_err(|e| Error::Input(format!("{shown}:1: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let col = |name: &str| head.iter().position(|h| h == name);
    let missing: Vec<&str> = ["customer_id", "date", "channel", "kind"]
        .into_iter()
        .filter(|c| col(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Error::Input(format!(
            "{shown}:1: missing column(s) {} (expected events.csv's columns: customer_id, date, channel, kind, and optionally reference, note, promised_date, promised_amount)",
            missing.join(", ")
        )));
    }
    let [customer, date, channel, kind] =
        ["customer_id", "date", "channel", "kind"].map(|c| col(c).unwrap_or(0));
    let [reference, note, promised_date, promised_amount] =
        ["reference", "note", "promised_date", "promised_amount"].map(col);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for row in r.records() {
        let row = row.map_err(|e| Error::Input(format!("{shown}: {e}")))?;
        let line = row.position().map_or(0, |p| p.line());
        let cell = |k: Option<usize>| k.and_then(|k| row.get(k)).unwrap_or("").trim();
        let mut bad = |column: &str, why: String| {
            problems.push(format!("{shown}:{line}: column {column}: {why}"));
        };
        let c = cell(Some(customer));
        if let Err(why) = check_id(c, IdKind::Customer) {
            bad("customer_id", why);
        }
        let day = match plausible_date(cell(Some(date))) {
            Ok(d) => d.format("%Y-%m-%d").to_string(),
            Err(why) => {
                bad("date", why);
                String::new()
            }
        };
        let ch = cell(Some(channel));
        if let Err(why) = Channel::parse(ch) {
            bad("channel", why);
        }
        let k = cell(Some(kind));
        if let Err(why) = EventKind::parse(k) {
            bad("kind", why);
        }
        let by = match cell(promised_date) {
            "" => String::new(),
            t => match plausible_date(t) {
                Ok(d) => d.format("%Y-%m-%d").to_string(),
                Err(why) => {
                    bad("promised_date", why);
                    String::new()
                }
            },
        };
        let amount = match cell(promised_amount) {
            "" => String::new(),
            t => match crate::money::parse_amount(t, None, delimiter == b';') {
                Ok(a) if a > rust_decimal::Decimal::ZERO => a.normalize().to_string(),
                Ok(_) => {
                    bad(
                        "promised_amount",
                        format!("`{t}` is not above zero (expected the amount promised)"),
                    );
                    String::new()
                }
                Err(why) => {
                    bad("promised_amount", why);
                    String::new()
                }
            },
        };
        out.push(EventRecord {
            customer: c.to_string(),
            kind: k.to_string(),
            date: day,
            channel: ch.to_string(),
            reference: cell(reference).to_string(),
            note: cell(note).to_string(),
            promised_date: by,
            promised_amount: amount,
            source: format!("{shown}:{line}"),
        });
    }
    if !problems.is_empty() {
        let n = problems.len();
        problems.truncate(50);
        return Err(Error::Input(format!(
            "{} bad row(s), nothing recorded:\n{}{}",
            n,
            problems.join("\n"),
            if n > 50 { "\n…" } else { "" }
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_and_every_bad_row_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("crm.csv");
        std::fs::write(
            &good,
            "customer_id,date,channel,kind,promised_date,promised_amount,note\nC1,2026-11-18,call,promise_to_pay,2026-11-27,157.25,will pay Friday\nC2,2026-11-19,sms,opted_out,,,\n",
        )
        .unwrap();
        let ev = read(&good).unwrap();
        assert_eq!(ev.len(), 2);
        assert_eq!(
            (
                ev[0].promised_date.as_str(),
                ev[0].promised_amount.as_str(),
                ev[0].source.as_str()
            ),
            (
                "2026-11-27",
                "157.25",
                format!("{}:2", good.display()).as_str()
            )
        );
        // The semicolon form with decimal commas, as European exports write it.
        let semi = dir.path().join("crm-semi.csv");
        std::fs::write(
            &semi,
            "customer_id;date;channel;kind;promised_date;promised_amount\nC1;2026-11-18;call;promise_to_pay;2026-11-27;157,25\n",
        )
        .unwrap();
        let ev = read(&semi).unwrap();
        assert_eq!(ev[0].promised_amount, "157.25");
        let bad = dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            "customer_id,date,channel,kind,promised_amount\nC1,2026-13-01,fax,promise_to_pai,-5\nC2,2026-11-19,email,replied,\n",
        )
        .unwrap();
        let err = read(&bad).unwrap_err().to_string();
        for want in [
            ":2: column date:",
            ":2: column channel:",
            ":2: column kind:",
            ":2: column promised_amount:",
            "nothing recorded",
        ] {
            assert!(err.contains(want), "{want} not in {err}");
        }
        assert!(!err.contains(":3:"), "{err}");
        let missing = dir.path().join("missing.csv");
        std::fs::write(&missing, "customer_id,when\nC1,2026-11-01\n").unwrap();
        let err = read(&missing).unwrap_err().to_string();
        assert!(
            err.contains("missing column(s) date, channel, kind"),
            "{err}"
        );
    }
}
