//! Escapes for text from the input placed into formats that would otherwise interpret
//! it: Markdown (letter bodies) and spreadsheet cells (the CSV files of the outbox).
//! (`diag::escape_control` is the third, for text shown on a terminal.)

/// Text from the input, defused for spreadsheets: a leading `=`, `+`, `-`, `@`, tab or
/// carriage return gets a `'` in front (OWASP's recommendation).
pub fn safe_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// [`safe_cell`] undone, for dunwell's own CSV files read back (`history import` reads
/// segments.csv). An id that itself began with `'=` would read back without its `'`:
/// the one ambiguity of the OWASP escape, accepted because ids of that shape do not
/// occur in receivables exports.
pub fn read_cell(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => text,
    }
}

/// Markdown escaping for values put into a letter body: a customer called `*Ltd*` is
/// printed with its asterisks, never in italics; line breaks in data do not start blocks.
pub fn markdown(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut buf = [0u8; 4];
    for c in input.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '<' | '>' | '(' | ')' | '#' | '+'
            | '-' | '.' | '!' | '|' | '~' | '&' => {
                out.write_all(b"\\")?;
                out.write_all(c.encode_utf8(&mut buf).as_bytes())?;
            }
            '\n' | '\r' => out.write_all(b" ")?,
            _ => out.write_all(c.encode_utf8(&mut buf).as_bytes())?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_back_as_written() {
        for id in ["C1", "-42", "=SUM(A1)", "@x", "'quoted", "O'Brien"] {
            assert_eq!(read_cell(&safe_cell(id)), id);
        }
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(safe_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(safe_cell("@cmd"), "'@cmd");
        assert_eq!(safe_cell("Anna"), "Anna");
    }

    #[test]
    fn markdown_in_data_is_printed_not_interpreted() {
        let mut out = Vec::new();
        markdown("*Ltd* [x](y)\n# no", &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\\*Ltd\\* \\[x\\]\\(y\\) \\# no"
        );
    }
}
