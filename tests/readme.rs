//! The README is tested (just's habit): the synopsis block of its `## Commands` section
//! lists every command `--help` lists, each with every flag its `--help` has and no flag
//! it does not, and a flag is in brackets there exactly when it is optional.

use crate::util::*;
use std::collections::BTreeMap;

/// A command's flags (`--out`), each with whether it is required.
type Flags = BTreeMap<String, bool>;

/// The lines of the section of `text` that starts with the line `title` (`Options:`),
/// up to the first empty line.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// Every `--flag` in `text`, with whether it stands outside brackets (required).
fn flags_in(text: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut prev = ' ';
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '-' if text[i..].starts_with("--") && matches!(prev, ' ' | '[' | '(') => {
                let name: String = text[i + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                    .collect();
                if !name.is_empty() {
                    found.push((format!("--{name}"), depth == 0));
                    for _ in 0..name.len() + 1 {
                        chars.next();
                    }
                }
            }
            _ => {}
        }
        prev = c;
    }
    found
}

/// Every command and subcommand `dunwell --help` leads to (`link sign`), with the
/// flags its own `--help` lists (without `--help` and `--version`).
fn commands_in_help(path: &[String], into: &mut BTreeMap<String, Flags>) {
    let mut args = path.to_vec();
    args.push("--help".into());
    let r = dunwell(&args);
    assert_eq!(r.code, 0, "dunwell {}: {}", args.join(" "), r.stderr);
    let subcommands: Vec<String> = section(&r.stdout, "Commands:")
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(String::from)
        .collect();
    if !subcommands.is_empty() {
        for s in subcommands {
            let mut sub = path.to_vec();
            sub.push(s);
            commands_in_help(&sub, into);
        }
        return;
    }
    // Required flags are the ones the usage line names outside `[OPTIONS]`.
    let usage: String = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Usage:"))
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let required: Vec<String> = flags_in(&usage)
        .into_iter()
        .filter(|(_, outside_brackets)| *outside_brackets)
        .map(|(f, _)| f)
        .collect();
    // An option's own line starts within six spaces (`  -h, --help`, `      --out`); its
    // wrapped description is indented further.
    let mut flags = Flags::new();
    for line in section(&r.stdout, "Options:") {
        let indent = line.len() - line.trim_start().len();
        if indent > 6 || !line.trim_start().starts_with('-') {
            continue;
        }
        let head = line.split("  ").find(|s| !s.is_empty()).unwrap_or("");
        for (flag, _) in flags_in(&format!(" {}", head.replace(',', " "))) {
            if flag != "--help" && flag != "--version" {
                let is_required = required.contains(&flag);
                flags.insert(flag, is_required);
            }
        }
    }
    into.insert(path.join(" "), flags);
}

/// The synopsis lines of README.md's `## Commands` block, by command (`link sign`).
fn commands_in_readme() -> BTreeMap<String, Flags> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Commands\n")
        .nth(1)
        .expect("README.md has a `## Commands` section");
    let block = section
        .split("```")
        .nth(1)
        .expect("the `## Commands` section starts with a code block");
    let mut commands = BTreeMap::new();
    for line in block.lines().filter_map(|l| l.strip_prefix("dunwell ")) {
        let name: Vec<&str> = line
            .split(' ')
            .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
            .collect();
        let mut flags = Flags::new();
        for (flag, required) in flags_in(line) {
            assert!(
                flags.insert(flag.clone(), required).is_none(),
                "README.md lists {flag} twice for `dunwell {}`",
                name.join(" ")
            );
        }
        let name = name.join(" ");
        assert!(
            commands.insert(name.clone(), flags).is_none(),
            "README.md lists `dunwell {name}` twice"
        );
    }
    commands
}

#[test]
fn the_readme_command_block_lists_every_command_and_flag_help_has_and_no_other() {
    let mut help = BTreeMap::new();
    commands_in_help(&[], &mut help);
    let readme = commands_in_readme();
    assert!(help.len() >= 10, "{help:?}");
    let mut wrong = Vec::new();
    for name in help.keys().filter(|n| !readme.contains_key(*n)) {
        wrong.push(format!("`dunwell {name}` has no line"));
    }
    for name in readme.keys().filter(|n| !help.contains_key(*n)) {
        wrong.push(format!("`dunwell {name}` is not a command"));
    }
    for (name, flags) in &help {
        let Some(listed) = readme.get(name) else {
            continue;
        };
        for (flag, required) in flags {
            match listed.get(flag) {
                None => wrong.push(format!("`dunwell {name}`: {flag} is missing")),
                Some(r) if r != required => wrong.push(format!(
                    "`dunwell {name}`: {flag} is {} (it should {}be in brackets)",
                    if *required { "required" } else { "optional" },
                    if *required { "not " } else { "" }
                )),
                Some(_) => {}
            }
        }
        for flag in listed.keys().filter(|f| !flags.contains_key(*f)) {
            wrong.push(format!(
                "`dunwell {name}`: {flag} is not in `dunwell {name} --help`"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "README.md's `## Commands` block disagrees with --help:\n  {}",
        wrong.join("\n  ")
    );
}
