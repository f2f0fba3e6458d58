//! Rule files with mistakes: each is reported with its line, column and a hint, before
//! any customer is evaluated.

use crate::util::*;
use dunwell::campaign::{Campaign, Overrides};
use dunwell::segment::{DEFAULT_RULE_STEPS, RuleSet};
use std::time::{Duration, Instant};

fn check(rules: &str, expected: &[&str]) {
    let (run, out) = segment(
        &fixture("clusters/campaign.yaml"),
        &["--rules", &fixture(&format!("rules/{rules}"))],
    );
    assert_eq!(run.code, 1, "{rules}: {}", run.stderr);
    for e in expected {
        assert!(
            run.stderr.contains(e),
            "{rules}: missing {e:?} in\n{}",
            run.stderr
        );
    }
    assert!(
        !out.path().join("segments.csv").exists(),
        "nothing is written when rules are wrong"
    );
}

#[test]
fn unknown_feature_with_suggestion_and_known_names() {
    check(
        "unknown_feature.yaml",
        &[
            "error: rule `late`: unknown feature `late_ration` — did you mean `late_ratio`?",
            "--> tests/fixtures/rules/unknown_feature.yaml:4:12",
            "4 |     when: \"late_ration >= 0.5\"\n  |            ^^^^^^^^^^^",
            "= known features: overdue_amount, open_amount, max_days_past_due",
        ],
    );
}

#[test]
fn syntax_error_points_at_the_token() {
    check(
        "syntax.yaml",
        &[
            "rule `broken`: Syntax error",
            "--> tests/fixtures/rules/syntax.yaml:4:33",
        ],
    );
}

#[test]
fn unknown_cluster() {
    check(
        "unknown_cluster.yaml",
        &[
            "unknown cluster `unwiling` — did you mean `unwilling`?",
            "unknown_cluster.yaml:3:14",
            "known clusters: forgetful",
        ],
    );
}

#[test]
fn missing_fallback_would_leave_customers_unassigned() {
    check(
        "no_fallback.yaml",
        &[
            "no fallback rule: customers that match no condition would be left unassigned",
            "no_fallback.yaml:2:11",
        ],
    );
}

#[test]
fn rules_after_the_fallback_are_unreachable() {
    check(
        "unreachable.yaml",
        &[
            "rule `late` can never fire: it comes after the fallback rule `everyone` (line 2)",
            "unreachable.yaml:4:11",
        ],
    );
}

#[test]
fn positions_inside_block_scalars() {
    check(
        "multiline.yaml",
        &[
            "unknown feature `plans_brokn` — did you mean `plans_broken`?",
            "multiline.yaml:6:7",
        ],
    );
}

/// Issue 12, item 11: a nested comprehension took 35 s per customer, and loading the
/// rule file evaluated it twice on probe customers (40 s in a debug build).
#[test]
fn a_rule_over_the_cost_budget_is_refused_before_it_runs() {
    let started = Instant::now();
    check(
        "costly.yaml",
        &[
            "error: rule `nested` may take ",
            " steps per customer, over the budget of 10,000\n",
            "--> tests/fixtures/rules/costly.yaml:12:10",
            "12 |         .exists(a, [0, 1, 2,",
            "\n   |          ^^^^^^\n",
            "= this `exists` goes over up to 100 elements at up to ",
            "steps each: nested loops multiply",
            "= the budget is 10,000 steps per customer for all rules together",
        ],
    );
    // Nothing evaluated the rule: the whole command takes a fraction of one evaluation.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// The rule files dunwell ships and the sample campaign names load, far below the budget.
#[test]
fn the_shipped_rules_are_far_below_the_cost_budget() {
    let campaign =
        Campaign::load(&root().join("samples/campaign.yaml"), &Overrides::default()).unwrap();
    for file in [
        campaign.segments.clone(),
        root().join("segments/default.yaml"),
        root().join("tests/fixtures/rules/strict.yaml"),
    ] {
        let rules = RuleSet::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let total: u64 = rules.rules.iter().map(|r| r.steps).sum();
        assert!(
            total > 0 && total * 50 < DEFAULT_RULE_STEPS,
            "{}: {total}",
            file.display()
        );
    }
    let (run, out) = segment("samples/campaign.yaml", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(out.path().join("segments.csv").exists());
}

#[test]
fn unknown_keys_are_errors_with_a_hint() {
    check(
        "unknown_key.yaml",
        &[
            "unknown key `wen` — did you mean `when`?",
            "unknown_key.yaml:4:5",
            "known keys here: name, cluster, when, because",
        ],
    );
}

#[test]
fn campaign_file_mistakes() {
    let dir = tempdir();
    let campaign = dir.path().join("campaign.yaml");
    let text = std::fs::read_to_string(root().join("tests/fixtures/clusters/campaign.yaml"))
        .unwrap()
        .replace("as_of: 2026-11-20", "as_of: 2026-02-30\ncredtor: {}")
        .replace(
            "customers.csv",
            &root()
                .join("tests/fixtures/clusters/customers.csv")
                .display()
                .to_string(),
        );
    std::fs::write(&campaign, text).unwrap();
    let run = dunwell([
        "segment",
        campaign.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("unknown key `credtor` — did you mean `creditor`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn data_key_mistakes() {
    let dir = tempdir();
    let campaign = dir.path().join("campaign.yaml");
    for (data, expected) in [
        (
            "data:\n  customers: a.csv\n  invoice: b.csv\n",
            "unknown key `invoice` — did you mean `invoices`?",
        ),
        (
            "data:\n  customers: a.csv\n  ndjson: b.ndjson\n",
            "data: `ndjson` goes alone",
        ),
        (
            "data:\n  invoices: b.csv\n",
            "data: `customers` and `invoices` are required",
        ),
    ] {
        std::fs::write(
            &campaign,
            format!("name: x\nas_of: 2026-11-20\n{data}creditor: {{name: X}}\n"),
        )
        .unwrap();
        let run = dunwell([
            "segment",
            campaign.to_str().unwrap(),
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(run.code, 1);
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
        assert!(run.stderr.contains("campaign.yaml:"), "{}", run.stderr);
    }
}

#[test]
fn the_campaign_sets_the_rule_budget() {
    // The shipped rules take 94 steps per customer at worst: a campaign allowing 50
    // refuses them at load, one allowing the default accepts them.
    let dir = tempdir();
    let campaign = dir.path().join("campaign.yaml");
    let text = std::fs::read_to_string(root().join("samples/campaign.yaml"))
        .unwrap()
        .replace("data/", &format!("{}/samples/data/", root().display()))
        .replace("../segments", &format!("{}/segments", root().display()))
        .replace("../templates", &format!("{}/templates", root().display()));
    std::fs::write(&campaign, format!("{text}\nlimits: {{rule_steps: 50}}\n")).unwrap();
    let out = dir.path().join("out");
    let run = dunwell([
        "segment",
        campaign.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("50"), "{}", run.stderr);
    std::fs::write(
        &campaign,
        format!("{text}\nlimits: {{rule_steps: 10000}}\n"),
    )
    .unwrap();
    let run = dunwell([
        "segment",
        campaign.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
