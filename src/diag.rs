//! Problems reported to people: where they are and how to fix them.
//!
//! Two kinds, because they travel differently (STYLE: two failure channels):
//! - [`Defect`]: one row of the user's data is wrong. The run goes on; the customer
//!   it belongs to is quarantined (errors) or loses one channel (warnings).
//! - [`Diagnostic`]: a configuration, rule or template problem. The run stops before any
//!   customer is touched, and every such problem is listed at once, with a caret frame.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// A problem with one row of an input file: `FILE:LINE: column COL: what (expected)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defect {
    pub file: Arc<str>,
    pub line: u64,
    /// Lower-case column name, `None` for problems with the whole row.
    pub column: Option<&'static str>,
    /// The customer this row belongs to, as written in the file (may be unknown).
    pub customer_id: Option<Box<str>>,
    pub message: String,
    pub severity: Severity,
}

impl Defect {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Defect {
    /// One line for the operator's terminal. Messages quote the user's data, and a name
    /// or e-mail holding `ESC [2J` must not clear that terminal (issue 12, item 14):
    /// control, bidirectional and zero-width characters are written escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        write!(f, "{}: ", escape_control(&location(&self.file, self.line)))?;
        if let Some(col) = self.column {
            write!(f, "column {}: ", escape_control(col))?;
        }
        write!(f, "{level}{}", escape_control(&self.message))
    }
}

/// Where a row is: `FILE:LINE` in a text file, `FILE:SHEET!ROW` in a spreadsheet — a
/// sheet's rows are named as the spreadsheet names them, so a defect's `file` of a sheet
/// ends in `!` and takes the row number without a colon.
pub fn location(file: &str, line: u64) -> String {
    if file.ends_with('!') {
        format!("{file}{line}")
    } else {
        format!("{file}:{line}")
    }
}

/// Whether `c` changes how a terminal or a text around it behaves instead of showing as
/// a glyph: C0 and C1 controls and DEL (escape sequences, `\r` overwriting a line), the
/// bidirectional controls (reordering what follows: U+202A–U+202E, U+2066–U+2069,
/// U+200E, U+200F, U+061C), zero-width and invisible characters (U+200B, U+2060–U+2064,
/// U+FEFF, U+180E) and the line and paragraph separators U+2028, U+2029. The joiners
/// U+200C and U+200D are not among them: Persian, Indic scripts and emoji need them.
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{200B}'
                | '\u{2060}'..='\u{2064}'
                | '\u{FEFF}'
                | '\u{180E}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `text` with every [`is_unprintable`] character written as an escape (`\n`, `\t`,
/// `\u{1b}`), so that data quoted in a message shows what it holds and does nothing.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unprintable(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whose problem a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The campaign's files are wrong: stop before anything is written, list them all.
    #[default]
    Files,
    /// One customer's message cannot be made from their data: that message is
    /// excluded, the campaign goes on.
    Customer(Unmade),
}

/// Why one customer's message cannot be made. A caller that treats these apart matches
/// on this, never on the message's text (which is for people and may change).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unmade {
    /// A character of their data that no font in `templates/fonts/` has.
    MissingGlyph,
    /// The render went over a budget (`limits.template_steps`, `limits.message_bytes`,
    /// the nesting depth).
    OverLimit,
    /// Their address needs more lines than the envelope window holds.
    AddressTooLong,
    /// Their amount or date cannot go into a payment token.
    Token,
    /// The e-mail cannot be built from their data (a date no header can carry).
    Email,
    /// An invoice's document, checked when the export was read, cannot be read now
    /// (removed or changed since).
    Document,
}

/// A problem in a file a person edits (campaign, rules, templates), pointing at a place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// How many characters the caret underlines (at least 1).
    pub width: usize,
    pub message: String,
    /// Extra lines: known names, how to fix it.
    pub notes: Vec<String>,
    pub severity: Severity,
    pub scope: Scope,
    /// The line holds a secret (a password in a URL): the frame names the place but
    /// does not print the line.
    pub hide_source: bool,
}

impl Diagnostic {
    pub fn error(
        file: impl Into<PathBuf>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            column,
            width: 1,
            message: message.into(),
            notes: Vec::new(),
            severity: Severity::Error,
            scope: Scope::Files,
            hide_source: false,
        }
    }

    /// The line at this place is not printed in the frame (it holds a credential).
    pub fn hiding_source(mut self) -> Self {
        self.hide_source = true;
        self
    }

    /// This problem belongs to one customer's message, not to the campaign's files.
    pub fn customer(mut self, why: Unmade) -> Self {
        self.scope = Scope::Customer(why);
        self
    }

    pub fn whole_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::error(file, 0, 0, message)
    }

    pub fn width(mut self, width: usize) -> Self {
        self.width = width.max(1);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The diagnostic with a caret frame under the offending source line, in the style of
    /// `just` and `rustc`; `source` is the file's text (read again when not given).
    pub fn render(&self, source: Option<&str>) -> String {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{level}: {}\n", self.message);
        if self.line == 0 {
            out.push_str(&format!("  --> {}\n", self.file.display()));
        } else {
            out.push_str(&format!(
                "  --> {}:{}:{}\n",
                self.file.display(),
                self.line,
                self.column
            ));
            let owned;
            let text = match source {
                _ if self.hide_source => None,
                Some(s) => Some(s),
                None => {
                    owned = std::fs::read_to_string(&self.file).ok();
                    owned.as_deref()
                }
            };
            if let Some(src_line) = text.and_then(|t| t.lines().nth(self.line - 1)) {
                let num = self.line.to_string();
                let pad = " ".repeat(num.len());
                let src_line = src_line.trim_end_matches('\r');
                out.push_str(&format!("{pad} |\n{num} | {src_line}\n"));
                let lead: String = src_line
                    .chars()
                    .take(self.column.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                out.push_str(&format!("{pad} | {lead}{}\n", "^".repeat(self.width)));
            }
        }
        for note in &self.notes {
            out.push_str(&format!("  = {note}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    /// One line, for logs and tests: `file:line:column: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Everything that stops a command. `cli` maps each to an exit code; stages never exit.
#[derive(Debug)]
pub enum Error {
    /// Config, rules or templates are wrong: every problem found, in file order.
    Config(Vec<Diagnostic>),
    /// An input file cannot be read as a table at all (empty, no header, missing column).
    Data(Vec<Defect>),
    /// A file could not be read or written.
    Io { path: PathBuf, err: std::io::Error },
    /// The command line asks for something impossible: flags that cannot go together, a
    /// flag's value out of its range. The only error that exits 2 (SPEC §3); everything
    /// below is a wrong input, outbox, setting or machine and exits 1.
    Usage(String),
    /// The files are in a state in which going on could lose or duplicate something
    /// (an incomplete outbox, a lost journal, an outbox in use, a folder someone else
    /// owns): nothing was done, and the message says what to do.
    Refused(String),
    /// A file or folder the command was pointed at is not what it needs: a `--data`
    /// folder without the export, an outbox whose summary is not dunwell's, a message
    /// the outbox does not hold.
    Input(String),
    /// A setting read from the environment is missing or wrong: the SMTP server, the SMS
    /// gateway, the DKIM key, the payment-link secret.
    Environment(String),
    /// The machine cannot give the command what it needs: a port to listen on, threads
    /// for the async runtime, a file watcher, random bytes for a token, a TLS client.
    Unavailable(String),
}

impl Error {
    pub fn io(path: &Path, err: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            err,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(diags) => {
                for d in diags {
                    write!(f, "{}", d.render(None))?;
                }
                let errors = diags
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                write!(
                    f,
                    "{errors} error{} found",
                    if errors == 1 { "" } else { "s" }
                )
            }
            Error::Data(defects) => {
                for (i, d) in defects.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
            Error::Io { path, err } => write!(f, "{}: {err}", path.display()),
            Error::Usage(msg)
            | Error::Refused(msg)
            | Error::Input(msg)
            | Error::Environment(msg)
            | Error::Unavailable(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The known name closest to `wrong`, when it is close enough to be a typo.
pub fn did_you_mean<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong_lc = wrong.to_lowercase();
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(&wrong_lc, &k.to_lowercase()), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let known = ["late_ratio", "avg_days_late", "on_time_ratio"];
        assert_eq!(did_you_mean("late_ration", known), Some("late_ratio"));
        assert_eq!(did_you_mean("zzz", known), None);
    }

    #[test]
    fn caret_points_at_column() {
        let d = Diagnostic::error("r.yaml", 2, 9, "unknown feature `x`").width(3);
        let text = d.render(Some("rules:\n  when: abc > 1\n"));
        assert!(text.contains("--> r.yaml:2:9"), "{text}");
        assert!(
            text.contains("2 |   when: abc > 1\n  |         ^^^\n"),
            "{text}"
        );
    }

    /// Issue 12, item 14: data in a message cannot drive the operator's terminal.
    #[test]
    fn defects_print_control_characters_escaped() {
        let d = Defect {
            file: Arc::from("customers.csv"),
            line: 3,
            column: Some("email"),
            customer_id: None,
            message: "`\u{1b}[2J\u{9b}x\u{7f}@example.com\u{202e}moc` is not an e-mail address\r\n"
                .into(),
            severity: Severity::Warning,
        };
        let shown = d.to_string();
        assert_eq!(
            shown,
            "customers.csv:3: column email: warning: `\\u{1b}[2J\\u{9b}x\\u{7f}@example.com\\u{202e}moc` is not an e-mail address\\r\\n"
        );
        assert!(!shown.chars().any(is_unprintable), "{shown:?}");
        // Printable text, joiners included, is left alone.
        assert_eq!(
            escape_control("Zoë 👩\u{200d}💻 می\u{200c}خواهم"),
            "Zoë 👩\u{200d}💻 می\u{200c}خواهم"
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\nżółw x", 10), (2, 5));
    }
}
