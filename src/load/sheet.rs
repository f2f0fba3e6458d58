//! Spreadsheets (XLSX, XLSM, XLSB, XLS, ODS) read with calamine into a [`Grid`]: one
//! sheet, its first non-empty row the header, every cell typed as the file has it.
//!
//! Cells keep their type here — a number is a double, a date cell a serial day or an ISO
//! date — and become the text the decoders check in [`super::mapping`], which knows each
//! column's kind. The rows are named as the spreadsheet names them (`FILE:SHEET!ROW`),
//! so that the person fixing a cell finds it.

use super::mapping::{DateSystem, Grid, GridRow, Value};
use crate::diag::{Defect, Error, Result, Severity, did_you_mean};
use calamine::{Data, Reader, Sheets};
use std::path::Path;
use std::sync::Arc;

/// Reads `sheet` (the first sheet when `None`) of the workbook at `path`.
pub(super) fn read(path: &Path, sheet: Option<&str>) -> Result<Grid> {
    let fatal = |file: &str, message: String| {
        Error::Data(vec![Defect {
            file: Arc::from(file),
            line: 1,
            column: None,
            customer_id: None,
            message,
            severity: Severity::Error,
        }])
    };
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(Error::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let mut book = calamine::open_workbook_auto(path).map_err(|e| {
        fatal(
            &shown,
            format!("cannot read the spreadsheet: {e} (expected an .xlsx, .xlsm, .xlsb, .xls or .ods file)"),
        )
    })?;
    let system = match &book {
        Sheets::Xlsx(b) => DateSystem::excel(b.has_1904_epoch()),
        Sheets::Xlsb(b) => DateSystem::excel(b.has_1904_epoch()),
        Sheets::Xls(b) => DateSystem::excel(b.has_1904_epoch()),
        Sheets::Ods(_) => DateSystem::Ods,
    };
    let names = book.sheet_names();
    let name = match sheet {
        None => names.first().cloned().ok_or_else(|| {
            fatal(
                &shown,
                "the workbook has no sheets (expected a sheet with a header row)".into(),
            )
        })?,
        Some(want) => match names.iter().find(|n| n.as_str() == want) {
            Some(n) => n.clone(),
            None => match names
                .iter()
                .find(|n| n.trim().eq_ignore_ascii_case(want.trim()))
            {
                Some(n) => n.clone(),
                None => {
                    let hint = did_you_mean(want, names.iter().map(String::as_str))
                        .map(|s| format!(" — did you mean `{s}`?"))
                        .unwrap_or_default();
                    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                    return Err(fatal(
                        &shown,
                        format!(
                            "no sheet `{want}`{hint} (expected one of the workbook's sheets: {})",
                            list.join(", ")
                        ),
                    ));
                }
            },
        },
    };
    let file: Arc<str> = Arc::from(format!("{shown}:{name}!"));
    let range = book
        .worksheet_range(&name)
        .map_err(|e| fatal(&file, format!("cannot read the sheet: {e}")))?;
    let (first_row, _) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows().enumerate().map(|(k, cells)| {
        // Row numbers as the spreadsheet shows them: 1-based, counted from the sheet's
        // top, not from the first row that holds something.
        let line = u64::from(first_row) + k as u64 + 1;
        (line, cells)
    });
    let Some((header_line, header)) = rows.find(|(_, cells)| cells.iter().any(|c| !blank(c)))
    else {
        return Err(Error::Data(vec![Defect {
            file: file.clone(),
            line: u64::from(first_row) + 1,
            column: None,
            customer_id: None,
            message: "the sheet is empty (expected a header row of column names)".into(),
            severity: Severity::Error,
        }]));
    };
    let headers: Vec<String> = header
        .iter()
        .map(|c| text_of(c).unwrap_or_default())
        .collect();
    let rows: Vec<GridRow> = rows
        .filter(|(_, cells)| cells.iter().any(|c| !blank(c)))
        .map(|(line, cells)| GridRow {
            line,
            cells: cells.iter().map(|c| value(c, system)).collect(),
            problem: None,
        })
        .collect();
    Ok(Grid {
        file,
        header_line,
        headers,
        rows,
        system,
        comma_decimal: false,
        unit: "row",
        broken: Vec::new(),
    })
}

fn blank(c: &Data) -> bool {
    match c {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A header cell as a name: text as written, a number as its shortest form.
fn text_of(c: &Data) -> Option<String> {
    match c {
        Data::String(s) => Some(s.trim().to_string()),
        Data::Float(f) => Some(format!("{f}")),
        Data::Int(i) => Some(i.to_string()),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        _ => None,
    }
}

/// A cell as the file types it. Date cells become dates here, while the workbook's date
/// system is known; plain numbers stay numbers (a serial day only where the column is a
/// date, which [`super::mapping`] decides).
fn value(c: &Data, system: DateSystem) -> Value {
    match c {
        Data::Empty => Value::Empty,
        Data::String(s) if s.trim().is_empty() => Value::Empty,
        Data::String(s) => Value::Text(s.trim().to_string()),
        Data::Float(f) => Value::Number(*f),
        Data::Int(i) => Value::Int(*i),
        Data::Bool(b) => Value::Bool(*b),
        Data::DateTime(d) if d.is_duration() => {
            Value::Error("is a duration cell (expected a date, a number or text)".into())
        }
        Data::DateTime(d) => Value::Date(system.date(d.as_f64())),
        Data::DateTimeIso(s) => Value::Date(crate::values::parse_date(s)),
        Data::DurationIso(_) => {
            Value::Error("is a duration cell (expected a date, a number or text)".into())
        }
        Data::Error(e) => Value::Error(format!(
            "holds the spreadsheet error {e} (expected a value; fix the formula or paste the values)"
        )),
    }
}
