//! The import graph follows ARCHITECTURE.md's layers: a module uses only modules listed
//! before it, so nothing imports back up the pipeline and there is no import cycle.
//! Read from the source (every `crate::name` outside test modules), not from a tool, so
//! the check needs nothing but the files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The layer list of ARCHITECTURE.md, lowest first.
fn layers(text: &str) -> Vec<String> {
    let start = text
        .find("<!-- layers")
        .expect("ARCHITECTURE.md marks its layer list");
    let end = text.find("<!-- /layers -->").expect("the list ends");
    text[start..end]
        .lines()
        .filter_map(|l| {
            let (num, rest) = l.split_once(". `")?;
            num.trim().parse::<u32>().ok()?;
            Some(rest.split('`').next()?.to_string())
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/send/journal.rs` → `send`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// The code outside `#[cfg(test)]` modules (clippy keeps them last in a file; a test may
/// reach anything).
fn non_test(text: &str) -> &str {
    let mut at = 0;
    while let Some(k) = text[at..].find("#[cfg(test)]") {
        let after = text[at + k + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod ") {
            return &text[..at + k];
        }
        at += k + 1;
    }
    text
}

/// Every `crate::name` a text refers to (not `$crate::`, which a macro expands in its
/// caller's crate, and is the same crate here anyway).
fn references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(k) = text[at..].find("crate::") {
        let start = at + k;
        at = start + "crate::".len();
        let before = start.checked_sub(1).map(|i| bytes[i]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$') {
            continue;
        }
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            !name.is_empty(),
            "`crate::{{…}}` imports are not read by this check: one module per `use`"
        );
        out.insert(name);
    }
    out
}

#[test]
fn no_module_imports_a_module_above_it() {
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let order = layers(&arch);
    assert!(order.len() > 20, "layer list not found: {order:?}");
    let rank: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();

    // Every module of lib.rs is placed, and nothing is placed that does not exist.
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let placed: BTreeSet<&str> = rank.keys().copied().collect();
    assert_eq!(
        declared, placed,
        "src/lib.rs's modules and ARCHITECTURE.md's layer list differ"
    );

    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut upward = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let own = rank[module.as_str()];
        let text = std::fs::read_to_string(file).unwrap();
        for used in references(non_test(&text)) {
            let Some(&r) = rank.get(used.as_str()) else {
                continue; // `crate::Result`-style re-exports at the root
            };
            if r > own {
                upward.push(format!(
                    "{}: `{module}` (layer {}) uses `{used}` (layer {})",
                    file.strip_prefix(root()).unwrap().display(),
                    own + 1,
                    r + 1
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up the layers of ARCHITECTURE.md (move the shared piece down, \
         or the module up):\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    // The reader of the source, tried on text it must catch and text it must pass.
    let text = "use crate::send::journal;\nfn f() { $crate::diag::x(); crate::hash::hex(b\"\"); }\n#[cfg(test)]\nmod tests { use crate::cmd::Exit; }\n";
    let found = references(non_test(text));
    assert_eq!(
        found,
        ["hash", "send"].into_iter().map(String::from).collect()
    );
    assert_eq!(
        layers("<!-- layers -->\n1. `diag` — x\n2. `hash` — y\n<!-- /layers -->"),
        ["diag", "hash"]
    );
}
