//! `dunwell check`: the clean samples pass; a broken copy of the sample templates is
//! reported problem by problem, with files and lines, in one run.

use crate::util::*;
use std::path::Path;

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
    // A clean check prints one line, its summary.
    assert_matches_file(&r.stdout, "check_sample");
}

#[test]
fn every_problem_of_a_broken_copy_is_reported_at_once() {
    let dir = sample_copy();
    let t = dir.path().join("templates");
    // Both greetings (a person's in the final stages, everyone else's): which one a
    // check renders depends on who the sample's customers are.
    edit(&t, "email/forgetful/default.en.txt", |s| {
        s.replace("{{ customer.name }}", "{{ custmer.name }}")
    });
    edit(&t, "sms/unwilling/default.pl.txt", |s| {
        s + "{% if totals.count %}\n"
    });
    edit(&t, "email/unable/default.it.txt", |s| {
        s.replace("{{ g.payment.link }}", "(link removed)")
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
        out.contains("templates/email/forgetful/default.en.txt:3:146"),
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
    // And the whole report, as the user reads it.
    assert_matches_file(
        &normalise(out, &[(dir.path(), "$COPY")]),
        "check_broken_copy",
    );
}

#[test]
fn a_broken_rule_file_and_a_broken_template_are_reported_in_one_run() {
    let dir = sample_copy();
    // An unknown feature in a rule's condition and an unclosed tag in a template.
    edit(&dir.path().join("segments"), "default.yaml", |s| {
        s.replace("promises_broken >= 1 &&", "promises_brokn >= 1 &&")
    });
    edit(
        &dir.path().join("templates"),
        "sms/unwilling/default.pl.txt",
        |s| format!("{{% if customer.name %}}{s}"),
    );
    let r = dunwell([
        "check",
        dir.path().join("samples/campaign.yaml").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    assert!(out.contains("segments/default.yaml:"), "{out}");
    assert!(out.contains("promises_brokn"), "{out}");
    assert!(out.contains("did you mean `promises_broken`"), "{out}");
    assert!(
        out.contains("templates/sms/unwilling/default.pl.txt:"),
        "{out}"
    );
}

/// Issue 16: a letter whose envelope window would lack part of the address is an error
/// of the address formats that dropped it (here a campaign's own table without Poland's
/// street line), found before anything is printed.
#[test]
fn a_letter_that_would_lose_an_address_line_is_an_error() {
    let dir = sample_copy();
    edit(
        &dir.path().join("templates"),
        "letter/addresses.yaml",
        |s| {
            let line = s
                .lines()
                .find(|l| l.starts_with("PL:"))
                .unwrap()
                .to_string();
            s.replace(&line, "PL: {name: \"POLAND\", fmt: \"%N%n%O%n%Z %C\"}")
        },
    );
    let r = dunwell([
        "check",
        dir.path().join("samples/campaign.yaml").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    assert!(
        out.contains("error: Lost an address line: the envelope window does not show the first address line `ul. "),
        "{out}"
    );
    assert!(out.contains("templates/letter/addresses.yaml"), "{out}");
    assert!(!out.contains("`Via "), "only the Polish letters: {out}");
}

#[test]
fn a_supported_language_nobody_speaks_is_checked_with_a_persona() {
    let dir = sample_copy();
    edit(&dir.path().join("samples"), "campaign.yaml", |s| {
        s.replace(
            "supported: [en, it, pl, ro, lv, ja, zh]",
            "supported: [en, it, pl, ro, lv, ja, zh, de]",
        )
    });
    let campaign = dir.path().join("samples/campaign.yaml");
    let r = dunwell(["check", campaign.to_str().unwrap()]);
    // German falls back to English: warnings, not errors.
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("warning: no de wording"), "{}", r.stdout);
    // The gallery shows the German cells with a German persona over real invoices.
    let out = dir.path().join("gallery");
    let r = dunwell([
        "preview",
        campaign.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let de = index
        .split("<article")
        .find(|a| a.contains("id=\"forgetful.reminder.email.de\""))
        .expect("a German cell");
    assert!(de.contains("Anna Schmidt"), "{de}");
    assert!(de.contains("persona: no customer speaks this language"));
    assert!(de.contains("no de wording: en is used"));
}
