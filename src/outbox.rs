//! The files a run leaves behind for people and machines: `segments.csv`,
//! `rejected.csv`, `summary.json` (later issues add the messages themselves).
//!
//! CSV cells holding text from the input are written so that a spreadsheet does not run
//! them as formulas (a customer named `=HYPERLINK(…)` is a classic CSV injection).

use crate::dataset::Dataset;
use crate::diag::{Defect, Error, Result};
use crate::segment::{RuleSet, Segmentation};
use std::io::Write;
use std::path::Path;

/// Text from the input, defused for spreadsheets: a leading `=`, `+`, `-`, `@`, tab or
/// carriage return gets a `'` in front (OWASP's recommendation).
pub fn safe_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::io::BufWriter<std::fs::File>>> {
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(csv::WriterBuilder::new().from_writer(std::io::BufWriter::with_capacity(1 << 20, f)))
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    Error::io(path, std::io::Error::other(e))
}

/// `segments.csv`: customer_id, cluster, rule, because, evidence, then every feature
/// any rule uses — enough to see why each earlier rule did not fire, too.
pub fn write_segments(
    path: &Path,
    data: &Dataset,
    rules: &RuleSet,
    seg: &Segmentation,
) -> Result<()> {
    use rayon::prelude::*;
    let mut header = vec!["customer_id", "cluster", "rule", "because", "evidence"];
    header.extend(rules.features.iter().copied());
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(|e| csv_err(path, e))?;
    out.write_all(
        &w.into_inner()
            .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?,
    )
    .map_err(|e| Error::io(path, e))?;
    // Rows are formatted in parallel, in blocks, and written in customer order.
    const BLOCK: usize = 16_384;
    for start in (0..seg.assignments.len()).step_by(BLOCK * 8) {
        let end = (start + BLOCK * 8).min(seg.assignments.len());
        let parts: Vec<std::result::Result<Vec<u8>, csv::Error>> = (start..end)
            .step_by(BLOCK)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|b| segment_rows(b..(b + BLOCK).min(end), data, rules, seg))
            .collect();
        for p in parts {
            out.write_all(&p.map_err(|e| csv_err(path, e))?)
                .map_err(|e| Error::io(path, e))?;
        }
    }
    out.flush().map_err(|e| Error::io(path, e))
}

fn segment_rows(
    range: std::ops::Range<usize>,
    data: &Dataset,
    rules: &RuleSet,
    seg: &Segmentation,
) -> std::result::Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::with_capacity(range.len() * 128));
    let mut row: Vec<String> = Vec::new();
    for i in range {
        let Some(a) = &seg.assignments[i] else {
            continue;
        };
        let f = &seg.features[i];
        let rule = &rules.rules[a.rule];
        row.clear();
        row.push(safe_cell(data.customers[i].id()).into_owned());
        row.push(a.cluster.to_string());
        row.push(rule.name.clone());
        row.push(safe_cell(&rule.because).into_owned());
        let evidence: Vec<String> = rules
            .evidence(a, f)
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        row.push(evidence.join("; "));
        for name in &rules.features {
            row.push((crate::features::feature(name).unwrap().get)(f).to_string());
        }
        w.write_record(&row)?;
    }
    w.into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))
}

/// `rejected.csv`: customer_id, file, line, column, reason — one row per defect.
pub fn write_rejected<'a>(
    path: &Path,
    defects: impl IntoIterator<Item = &'a Defect>,
) -> Result<()> {
    let mut w = csv_writer(path)?;
    w.write_record(["customer_id", "file", "line", "column", "reason"])
        .map_err(|e| csv_err(path, e))?;
    for d in defects {
        let line = d.line.to_string();
        w.write_record([
            &*safe_cell(d.customer_id.as_deref().unwrap_or("")),
            &*safe_cell(&d.file),
            line.as_str(),
            d.column.unwrap_or(""),
            &*safe_cell(&d.message),
        ])
        .map_err(|e| csv_err(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut text =
        serde_json::to_vec_pretty(value).map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    text.push(b'\n');
    let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(&text).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(safe_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(safe_cell("@cmd"), "'@cmd");
        assert_eq!(safe_cell("Anna"), "Anna");
    }
}
