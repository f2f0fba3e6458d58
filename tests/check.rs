//! `dunwell check`: the clean samples pass; a broken copy of the sample templates is
//! reported problem by problem, with files and lines, in one run.

use crate::util::*;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn edit(root: &Path, file: &str, f: impl Fn(String) -> String) {
    let p = root.join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    let changed = f(text.clone());
    assert_ne!(changed, text, "{file}: the edit changed nothing");
    std::fs::write(p, changed).unwrap();
}

#[test]
fn the_sample_campaign_checks_clean() {
    let r = dunwell(["check", "samples/campaign.yaml"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("0 error(s), 0 warning(s)"),
        "{}",
        r.stdout
    );
    let cells: usize = r
        .stdout
        .split(" cells rendered")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(cells > 300, "{cells} cells");
}

#[test]
fn every_problem_of_a_broken_copy_is_reported_at_once() {
    let dir = tempdir();
    for d in ["templates", "samples", "segments"] {
        copy_dir(&root().join(d), &dir.path().join(d));
    }
    let t = dir.path().join("templates");
    edit(&t, "email/forgetful/default.en.txt", |s| {
        s.replace("{{ customer.name }}", "{{ custmer.name }}")
    });
    edit(&t, "sms/unwilling/default.pl.txt", |s| {
        s + "{% if totals.count %}\n"
    });
    edit(&t, "email/unable/default.it.txt", |s| {
        s.replace("{{ payment.link }}", "(link removed)")
    });
    edit(&t, "sms/chronic_late/default.ro.txt", |s| {
        s.trim().to_string() + &" Vă mulțumim pentru înțelegere și colaborare.".repeat(8) + "\n"
    });
    for f in std::fs::read_dir(t.join("sms/default")).unwrap() {
        let p = f.unwrap().path();
        if p.to_string_lossy().ends_with(".lv.txt") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let r = dunwell([
        "check",
        dir.path().join("samples/campaign.yaml").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    // The unclosed tag, with its file and line.
    assert!(
        out.contains("templates/sms/unwilling/default.pl.txt:"),
        "{out}"
    );
    // The unknown variable: file, line, column, caret, the known names, a suggestion.
    assert!(
        out.contains("templates/email/forgetful/default.en.txt:3:10"),
        "{out}"
    );
    assert!(out.contains("did you mean `customer`?"), "{out}");
    assert!(out.contains("Available variables") || out.contains("known names"));
    // The removed payment link and the oversized SMS.
    assert!(
        out.contains("no payment link") && out.contains("email/unable/default.it.txt"),
        "{out}"
    );
    assert!(
        out.contains("over the campaign's cap of 3")
            && out.contains("sms/chronic_late/default.ro.txt"),
        "{out}"
    );
    // The missing Latvian SMS wording: Latvian customers fall back to English.
    assert!(out.contains("warning: no lv wording"), "{out}");
    assert!(out.contains("4 error(s)"), "{out}");
}
