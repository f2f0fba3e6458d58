//! `dunwell run` on the sample campaign: real MIME parsed back by Python's `email`
//! package, links that verify, byte-identical outboxes for any thread count, shards.

use crate::util::*;
use std::collections::BTreeSet;

#[test]
fn emails_parse_back_as_multipart_alternative() {
    let out = outbox_of(SAMPLE, &[]);
    let m = manifest(out.path());
    let emails: Vec<&serde_json::Value> = m.iter().filter(|e| e["channel"] == "email").collect();
    assert!(emails.len() > 100);
    let script = r#"
import mailbox, sys, json
from email.header import decode_header, make_header
rows = []
for msg in mailbox.mbox(sys.argv[1]):
    pdf = None
    head = msg
    if msg.get_content_type() == "multipart/mixed":
        alt, att = msg.get_payload()
        assert att.get_content_type() == "application/pdf", att.get_content_type()
        assert att.get_filename().endswith("-letter.pdf"), att.get_filename()
        pdf = att.get_payload(decode=True)
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        msg = alt
    assert msg.get_content_type() == "multipart/alternative", msg.get_content_type()
    types = [p.get_content_type() for p in msg.get_payload()]
    assert types == ["text/plain", "text/html"], types
    text = msg.get_payload()[0].get_payload(decode=True).decode("utf-8")
    rows.append({"to": str(make_header(decode_header(head["To"]))), "subject": str(make_header(decode_header(head["Subject"]))), "bcc": head["Bcc"], "text": text, "pdf": pdf is not None})
print(json.dumps(rows))
"#;
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(out.path().join("email/part-00000.mbox"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let parsed: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(parsed.len(), emails.len());
    // The sample attaches the letter for `unable` and `unwilling` final notices.
    let with_pdf = parsed.iter().filter(|p| p["pdf"] == true).count();
    assert!(with_pdf > 10, "{with_pdf} e-mails carry the letter");
    assert!(with_pdf < parsed.len());
    for (p, e) in parsed.iter().zip(&emails) {
        assert!(
            p["to"]
                .as_str()
                .unwrap()
                .contains(e["to"].as_str().unwrap()),
            "{p} vs {e}"
        );
        assert_eq!(p["subject"], e["subject"]);
        assert!(p["bcc"].is_null());
        assert!(
            p["text"]
                .as_str()
                .unwrap()
                .contains(e["link"].as_str().unwrap()),
            "every e-mail carries its link"
        );
    }
}

#[test]
fn every_link_verifies_and_an_altered_one_does_not() {
    let out = outbox_of(SAMPLE, &["--channel", "email"]);
    for e in manifest(out.path()).iter().take(25) {
        let link = e["link"].as_str().unwrap();
        let token = link
            .split('/')
            .next_back()
            .unwrap()
            .split('?')
            .next()
            .unwrap();
        let ok = dunwell_env(
            ["link", "verify", token, "--today", "2026-11-30"],
            &[SECRET],
        );
        assert_eq!(ok.code, 0, "{}", ok.stderr);
        let claims: serde_json::Value = serde_json::from_str(&ok.stdout).unwrap();
        assert_eq!(claims["customer"], e["customer_id"]);
        let expired = dunwell_env(
            ["link", "verify", token, "--today", "2027-01-01"],
            &[SECRET],
        );
        assert_eq!(expired.code, 1);
        let mut bad = token.to_string();
        bad.replace_range(5..6, if &token[5..6] == "A" { "B" } else { "A" });
        assert_eq!(
            dunwell_env(["link", "verify", &bad, "--today", "2026-11-30"], &[SECRET]).code,
            1
        );
    }
}

#[test]
fn byte_identical_for_1_and_2_threads_and_shards_partition_the_run() {
    let one = outbox_of(SAMPLE, &["--threads", "1"]);
    let two = outbox_of(SAMPLE, &["--threads", "2"]);
    // Every file: mbox, manifest, letters (PDF IDs, font subset tags), print.pdf, pages.
    let files = |root: &std::path::Path| -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p.strip_prefix(root).unwrap().to_path_buf());
                }
            }
        }
        out.sort();
        out
    };
    let names = files(one.path());
    assert_eq!(names, files(two.path()));
    assert!(names.iter().any(|n| n.starts_with("letters")));
    assert!(names.iter().any(|n| n.starts_with("web")));
    for f in &names {
        assert!(
            std::fs::read(one.path().join(f)).unwrap()
                == std::fs::read(two.path().join(f)).unwrap(),
            "{} differs",
            f.display()
        );
    }
    let all: BTreeSet<String> = manifest(one.path())
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let mut union = BTreeSet::new();
    let whole = read_json(&one.path().join("summary.json"));
    let mut sums = [0u64; 4];
    for i in 0..3 {
        let s = outbox_of(SAMPLE, &["--shard", &format!("{i}/3")]);
        for e in manifest(s.path()) {
            assert!(
                union.insert(e["id"].as_str().unwrap().to_string()),
                "a message in two shards"
            );
        }
        let summary = read_json(&s.path().join("summary.json"));
        assert_eq!(
            summary["balanced"], true,
            "each shard reconciles on its own"
        );
        for (k, key) in [
            "customers_in",
            "planned_customers",
            "excluded_customers",
            "rejected_customers",
        ]
        .iter()
        .enumerate()
        {
            sums[k] += summary[key].as_u64().unwrap();
        }
    }
    assert_eq!(union, all);
    assert_eq!(
        sums,
        [
            "customers_in",
            "planned_customers",
            "excluded_customers",
            "rejected_customers"
        ]
        .map(|k| whole[k].as_u64().unwrap()),
        "the shards' counts add up to the whole run's"
    );
}

/// The code block of README.md that follows the text `after`.
fn readme_example(after: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let rest = &readme[readme
        .find(after)
        .unwrap_or_else(|| panic!("README.md has no {after:?}"))..];
    rest.split("```")
        .nth(1)
        .expect("a code block follows")
        .trim_start_matches('\n')
        .to_string()
}

/// Whether `actual` reads as the README's `shown` text: line by line, where a line of
/// `…` alone stands for any number of lines and a `…` inside a line for any text. With `whole`,
/// `shown` must reach the end of `actual`; without, it may show only its beginning.
fn shows(shown: &str, actual: &str, whole: bool) -> Result<(), String> {
    let actual: Vec<&str> = actual.lines().collect();
    let mut at = 0;
    let mut skipping = false;
    for line in shown.lines() {
        if line.trim() == "…" {
            skipping = true;
            continue;
        }
        let fits = |a: &str| match line.split_once('…') {
            Some((head, tail)) => {
                a.len() >= head.len() + tail.len() && a.starts_with(head) && a.ends_with(tail)
            }
            None => a == line,
        };
        let found = if skipping {
            actual[at..].iter().position(|a| fits(a)).map(|i| at + i)
        } else {
            actual.get(at).filter(|a| fits(a)).map(|_| at)
        };
        match found {
            Some(i) => at = i + 1,
            None => {
                return Err(format!(
                    "the README shows {line:?} where the output has {:?}",
                    actual.get(at).copied().unwrap_or("(its end)")
                ));
            }
        }
        skipping = false;
    }
    if whole && !skipping && at < actual.len() {
        return Err(format!("the README stops before {:?}", actual[at]));
    }
    Ok(())
}

/// An e-mail's subject and plain-text part as Python's `email` package decodes them.
fn subject_and_text(message: &str) -> String {
    use std::io::Write;
    let mut py = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys\n\
             from email import policy\n\
             from email.parser import BytesParser\n\
             m = BytesParser(policy=policy.default).parse(sys.stdin.buffer)\n\
             sys.stdout.write('Subject: ' + m['subject'] + '\\n\\n' + m.get_body(('plain',)).get_content())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    py.stdin
        .take()
        .unwrap()
        .write_all(message.as_bytes())
        .unwrap();
    let o = py.wait_with_output().unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_run_summary_is_printed_whole_and_the_readme_shows_it_and_its_example_email() {
    let out = tempdir();
    let r = run_campaign(SAMPLE, out.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stdout = normalise(&r.stdout, &[(out.path(), "$OUT")]);
    assert_matches_file(&stdout, "run_sample");
    // The README runs it into `out/`.
    let readme = readme_example("prints what it did:");
    shows(&readme, &stdout.replace("$OUT", "out"), true)
        .unwrap_or_else(|e| panic!("README.md's run output is out of date: {e}\n{stdout}"));
    let show = dunwell([
        "outbox",
        "show",
        out.path().to_str().unwrap(),
        "C0000127-email",
    ]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    // ICU groups and spaces amounts with no-break spaces; the README shows spaces.
    let text = subject_and_text(&show.stdout).replace(['\u{a0}', '\u{202f}'], " ");
    shows(
        &readme_example("`dunwell outbox show out C0000127-email`"),
        &text,
        false,
    )
    .unwrap_or_else(|e| panic!("README.md's e-mail is out of date: {e}\n{text}"));
}

#[test]
fn an_email_is_shown_whole_as_rfc_5322_text() {
    let out = outbox_of(SAMPLE, &["--channel", "email", "--sample", "5"]);
    let m = manifest(out.path());
    assert_eq!(m.len(), 5);
    let id = m[0]["id"].as_str().unwrap();
    let show = dunwell(["outbox", "show", out.path().to_str().unwrap(), id]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert_matches_file(&show.stdout, "outbox_show_email");
}

#[test]
fn the_readme_examples_are_read_as_the_readme_means() {
    let shown = "a\n  …\nd\nx…z";
    assert_eq!(shows(shown, "a\nb\nc\nd\nxyz\n", true), Ok(()));
    assert_eq!(shows(shown, "a\nd\nxz\nmore\n", false), Ok(()));
    assert!(shows(shown, "a\nd\nxz\nmore\n", true).is_err());
    assert!(shows(shown, "a\nb\nd\nyz\n", true).is_err());
    assert!(shows("a\nd", "a\nb\nd", false).is_err());
}
