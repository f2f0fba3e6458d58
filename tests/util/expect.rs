//! Whole-output tests, in the style of just and mdBook: a command's text is compared
//! whole with a checked-in file, `tests/expected/NAME.txt`, so that any change to what a
//! user reads shows up in review as a diff of that file.
//!
//! `DUNWELL_BLESS=1 cargo test --test tests` rewrites the files of the tests it runs
//! instead of comparing (and those tests pass); `git diff tests/expected/` then shows
//! what changed, to be read before committing. A snapshot does not replace an assertion
//! about what matters: the tests that compare whole keep their assertions.
//!
//! Only what must be is normalised ([`normalise`]): temporary folders and timings.

use std::path::{Path, PathBuf};

/// The environment variable that rewrites the expected files.
pub const BLESS: &str = "DUNWELL_BLESS";

fn expected_path(name: &str) -> PathBuf {
    super::root()
        .join("tests/expected")
        .join(format!("{name}.txt"))
}

/// Compares `actual` with `tests/expected/NAME.txt`, or, with `DUNWELL_BLESS=1`, writes
/// it there. On a difference, panics with a unified diff (`-` expected, `+` actual) and
/// the command that accepts the new text.
#[track_caller]
pub fn assert_matches_file(actual: &str, name: &str) {
    let path = expected_path(name);
    let shown = format!("tests/expected/{name}.txt");
    if std::env::var(BLESS).is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{shown}: {e}"));
        return;
    }
    let bless = format!(
        "If the new output is right: {BLESS}=1 cargo test --test tests {} \
         and review `git diff tests/expected/`.",
        test_name()
    );
    let expected = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{shown} does not exist yet. The output was:\n{actual}\n{bless}")
        }
        Err(e) => panic!("{shown}: {e}"),
    };
    if expected == actual {
        return;
    }
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let diff = if a == b {
        format!(
            "the lines are the same; the line endings or the final newline differ:\n\
             expected {:?}\n  actual {:?}\n",
            tail(&expected),
            tail(actual)
        )
    } else {
        unified_diff(&a, &b)
    };
    panic!("the output differs from {shown} (- expected, + actual):\n{diff}\n{bless}");
}

/// The last characters of a text, to show a difference in its ending.
fn tail(s: &str) -> &str {
    let mut i = s.len().saturating_sub(40);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// The running test's name (`module::test`, the thread's name under libtest), to
/// filter on.
fn test_name() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or_default()
        .to_string()
}

/// `text` with each temporary folder replaced by its placeholder (`$OUT`, …) and each
/// timing (`in 0.12 s`) by `in N s` — the parts of an output that differ between two
/// runs of the same test. Nothing else is touched.
pub fn normalise(text: &str, folders: &[(&Path, &str)]) -> String {
    let mut text = text.to_string();
    for (dir, placeholder) in folders {
        let mut forms = vec![dir.display().to_string()];
        if let Ok(c) = dir.canonicalize() {
            forms.push(c.display().to_string());
        }
        // The longest form first: one may be a prefix of another.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        for f in forms {
            text = text.replace(&f, placeholder);
        }
    }
    timings(&text)
}

/// `in 0.12 s`, `in 12 s` → `in N s`.
fn timings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("in ") {
        let (before, from) = rest.split_at(i);
        out.push_str(before);
        let after = &from[3..];
        let digits = after
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(after.len());
        let number = &after[..digits];
        let starts_a_word = before.is_empty() || before.ends_with([' ', '\n', '(']);
        if starts_a_word
            && !number.is_empty()
            && number.starts_with(|c: char| c.is_ascii_digit())
            && after[digits..].starts_with(" s")
            && !after[digits + 2..].starts_with(|c: char| c.is_alphanumeric())
        {
            out.push_str("in N s");
            rest = &after[digits + 2..];
        } else {
            out.push_str("in ");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// One step of a line diff.
#[derive(Clone, Copy, PartialEq)]
enum Step {
    Same,
    Removed,
    Added,
}

/// A unified diff of two texts' lines with three lines of context (an LCS over lines:
/// the expected files are short).
fn unified_diff(a: &[&str], b: &[&str]) -> String {
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // The steps, each with the line it shows and its place in a and b before it.
    let mut steps: Vec<(Step, &str, usize, usize)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            steps.push((Step::Same, a[i], i, j));
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            steps.push((Step::Removed, a[i], i, j));
            i += 1;
        } else {
            steps.push((Step::Added, b[j], i, j));
            j += 1;
        }
    }
    // Hunks: every change with three steps of context either side, overlaps merged.
    const CONTEXT: usize = 3;
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        if s.0 == Step::Same {
            continue;
        }
        let (from, to) = (
            k.saturating_sub(CONTEXT),
            (k + CONTEXT + 1).min(steps.len()),
        );
        match hunks.last_mut() {
            Some(last) if from <= last.1 => last.1 = to,
            _ => hunks.push((from, to)),
        }
    }
    let mut out = String::new();
    for (from, to) in hunks {
        let part = &steps[from..to];
        let count = |not: Step| part.iter().filter(|s| s.0 != not).count();
        let (a_len, b_len) = (count(Step::Added), count(Step::Removed));
        // Unified diff numbers lines from 1; an empty side is numbered by the line before.
        let first = |at: usize, len: usize| if len == 0 { at } else { at + 1 };
        out.push_str(&format!(
            "@@ -{},{a_len} +{},{b_len} @@\n",
            first(part[0].2, a_len),
            first(part[0].3, b_len)
        ));
        for (step, line, _, _) in part {
            let sign = match step {
                Step::Same => ' ',
                Step::Removed => '-',
                Step::Added => '+',
            };
            out.push(sign);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn timings_become_n_and_nothing_else_changes() {
    assert_eq!(
        timings("kept 3 invoices in 0.01 s\nrendered 5 messages in 12 s (in 2.5 s)\n"),
        "kept 3 invoices in N s\nrendered 5 messages in N s (in N s)\n"
    );
    for same in [
        "in 5 steps",
        "within 0.5 s",
        "in s",
        "in 2 seconds",
        "begin 3 s",
    ] {
        assert_eq!(timings(same), same);
    }
}

#[test]
fn a_diff_shows_each_change_with_its_context_and_line_numbers() {
    let a: Vec<&str> = "1 2 3 4 5 6 7 8 9 10 11 12".split(' ').collect();
    let b: Vec<&str> = "1 2 3 4 five 6 7 8 9 10 11 12 13".split(' ').collect();
    assert_eq!(
        unified_diff(&a, &b),
        "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n\
         @@ -10,3 +10,4 @@\n 10\n 11\n 12\n+13\n"
    );
    assert_eq!(unified_diff(&[], &["x"]), "@@ -0,0 +1,1 @@\n+x\n");
    assert_eq!(unified_diff(&["x"], &[]), "@@ -1,1 +0,0 @@\n-x\n");
}
