//! Properties of the shipped wording that a reader notices at once: each stage says
//! something new (its subject differs from the previous stage's, per cluster and
//! language), and no Markdown markup is left in a printed letter. Checked over the
//! sample campaign's gallery, one message per cluster × stage × language.

use crate::util::*;
use std::collections::BTreeMap;

/// The words of a subject: the amounts, dates and punctuation taken out, so that two
/// customers' subjects at one stage compare equal.
fn words(subject: &str) -> String {
    subject
        .chars()
        .filter(|c| c.is_alphabetic() || c.is_whitespace())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[test]
fn each_stage_has_a_subject_of_its_own_and_no_letter_prints_markdown() {
    let dir = tempdir();
    let r = dunwell_env(
        ["preview", SAMPLE, "--out", dir.path().to_str().unwrap()],
        &[SECRET],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ladder = [
        "pre_due",
        "reminder",
        "second_reminder",
        "final_notice",
        "pre_legal",
    ];
    // (cluster, locale) → stage → subject words
    let mut subjects: BTreeMap<(String, String), BTreeMap<usize, (String, String)>> =
        BTreeMap::new();
    let mut letters = 0;
    for f in std::fs::read_dir(dir.path().join("m")).unwrap() {
        let path = f.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let parts: Vec<&str> = name.split('.').collect();
        // CLUSTER.STAGE.CHANNEL.LOCALE.N.EXT
        let [cluster, stage, channel, locale, "0", ext] = parts[..] else {
            continue;
        };
        match (channel, ext) {
            ("email", "eml") => {
                let raw = std::fs::read(&path).unwrap();
                let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
                let subject = parsed.subject().unwrap_or("").to_string();
                let k = ladder.iter().position(|s| *s == stage).unwrap();
                subjects
                    .entry((cluster.to_string(), locale.to_string()))
                    .or_default()
                    .insert(k, (words(&subject), subject));
            }
            ("letter", "pdf") => {
                letters += 1;
                let text = tool("pdftotext", &[path.to_str().unwrap(), "-"]);
                assert!(
                    !text.contains("**") && !text.contains("__"),
                    "{name}: Markdown markup printed:\n{text}"
                );
            }
            _ => {}
        }
    }
    assert!(letters > 30, "{letters} letters");
    let mut same = Vec::new();
    let mut compared = 0;
    for ((cluster, locale), stages) in &subjects {
        let ordered: Vec<&(String, String)> = stages.values().collect();
        for pair in ordered.windows(2) {
            compared += 1;
            if pair[0].0 == pair[1].0 {
                same.push(format!(
                    "{cluster}/{locale}: {:?} then {:?}",
                    pair[0].1, pair[1].1
                ));
            }
        }
    }
    assert!(compared > 80, "{compared} pairs of stages");
    assert!(
        same.is_empty(),
        "a stage repeats the previous subject:\n{}",
        same.join("\n")
    );
}

/// One's own whitespace aside: pdftotext breaks lines where the letter does, and puts
/// or leaves out the space before 御中.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn companies_get_the_business_greeting_and_never_a_personal_one() {
    let out = outbox_of(SAMPLE, &[]);
    let customers: BTreeMap<String, (String, String)> =
        read_csv(std::path::Path::new("samples/data/customers.csv"))
            .into_iter()
            .map(|r| {
                (
                    r["customer_id"].clone(),
                    (r["kind"].clone(), r["name"].clone()),
                )
            })
            .collect();
    let mut seen = BTreeMap::<(String, String), usize>::new();
    let mut wrong = Vec::new();
    for m in manifest(out.path()) {
        let channel = m["channel"].as_str().unwrap();
        let text = match channel {
            "email" => {
                let raw = std::fs::read(out.path().join(m["path"].as_str().unwrap())).unwrap();
                let at = m["offset"].as_u64().unwrap() as usize;
                let raw = &raw[at..at + m["length"].as_u64().unwrap() as usize];
                let parsed = mail_parser::MessageParser::default().parse(raw).unwrap();
                parsed.body_text(0).unwrap().to_string()
            }
            "letter" => tool(
                "pdftotext",
                &[
                    out.path()
                        .join(m["path"].as_str().unwrap())
                        .to_str()
                        .unwrap(),
                    "-",
                ],
            ),
            _ => continue,
        };
        let locale = m["locale"].as_str().unwrap();
        let (kind, name) = &customers[m["customer_id"].as_str().unwrap()];
        let business = match locale {
            "en" => "Dear Sir or Madam".to_string(),
            "it" => format!("Spett.le {name}"),
            "pl" => "Szanowni Państwo".to_string(),
            "ro" => "Stimată doamnă / Stimate domn".to_string(),
            "lv" => "Godātie kungi un dāmas".to_string(),
            "ja" => format!("{name} 御中"),
            "zh" => format!("{name}："),
            other => panic!("unexpected locale {other}"),
        };
        let personal = [
            format!("Dear {name}"),
            format!("Hello {name}"),
            format!("Gentile {name}"),
            format!("Buongiorno {name}"),
            format!("Dzień dobry, {name}"),
            format!("Bună ziua, {name}"),
            format!("Labdien, {name}"),
            format!("{name} 様"),
            format!("尊敬的{name}"),
            format!("{name}，您好"),
        ];
        let t = squeeze(&text);
        let ok = match kind.as_str() {
            "company" => {
                t.contains(&squeeze(&business)) && !personal.iter().any(|p| t.contains(&squeeze(p)))
            }
            // A Chinese person is 尊敬的NAME：, which holds a company's NAME：.
            _ => {
                !t.contains(&squeeze(&business))
                    || (locale == "zh" && t.contains(&squeeze(&format!("尊敬的{name}："))))
            }
        };
        if !ok {
            wrong.push(format!("{} ({kind}, {locale}):\n{text}", m["id"]));
        }
        *seen.entry((kind.clone(), channel.to_string())).or_default() += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    for key in [
        ("company", "email"),
        ("company", "letter"),
        ("person", "email"),
        ("person", "letter"),
    ] {
        let n = seen
            .get(&(key.0.to_string(), key.1.to_string()))
            .copied()
            .unwrap_or(0);
        assert!(n >= 10, "only {n} {key:?} messages: {seen:?}");
    }
}
