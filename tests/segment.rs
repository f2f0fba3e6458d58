//! Segmentation of hand-made customers, one per cluster, with their reasons.

use crate::util::*;

#[test]
fn every_cluster_is_reached_with_its_rule_and_reasons() {
    let (run, out) = segment(&fixture("clusters/campaign.yaml"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = read_csv(&out.path().join("segments.csv"));
    let by_id = |id: &str| {
        rows.iter()
            .find(|r| r["customer_id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    let expect = [
        ("F1", "forgetful", "good_payer", ""),
        (
            "L1",
            "chronic_late",
            "habitually_late",
            "late_ratio=1.000; avg_days_late=16.500",
        ),
        (
            "U1",
            "unable",
            "financial_distress",
            "plans_broken=0; bounced_payments=1; partial_payments=0; overdue_invoices=1",
        ),
        (
            "W1",
            "unwilling",
            "broken_promises",
            "promises_broken=1; reminders_ignored=2; max_days_past_due=97",
        ),
        (
            "N1",
            "no_history",
            "too_little_history",
            "has_history=false",
        ),
    ];
    for (id, cluster, rule, evidence) in expect {
        let r = by_id(id);
        assert_eq!(
            (
                r["cluster"].as_str(),
                r["rule"].as_str(),
                r["evidence"].as_str()
            ),
            (cluster, rule, evidence),
            "{id}"
        );
    }
    // The reasons a credit manager reads, and every feature any rule uses.
    assert_eq!(
        by_id("W1")["because"],
        "broke a promise to pay and ignores reminders"
    );
    assert_eq!(by_id("F1")["max_days_past_due"], "10");
    assert_eq!(by_id("N1")["days_since_last_payment"], "-1");
    assert_eq!(rows.len(), 5);
}

#[test]
fn prints_the_cluster_table_with_amounts_per_currency() {
    let (run, out) = segment(&fixture("clusters/campaign.yaml"), &[]);
    assert_eq!(run.code, 0);
    for line in [
        "customers in export: 5   segmented: 5   rejected: 0",
        "chronic_late            1   20.0%  JPY 15,500",
        "forgetful               1   20.0%  EUR 120.50",
        "unwilling               1   20.0%  RON 3,100.00",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    let summary = read_json(&out.path().join("summary.json"));
    assert_eq!(summary["clusters"]["unable"]["customers"], 1);
    assert_eq!(
        summary["clusters"]["unable"]["overdue_amount"]["PLN"],
        "800.00"
    );
    assert_eq!(summary["reconciliation"]["balanced"], true);
}

#[test]
fn as_of_and_data_override_the_campaign() {
    // The bad campaign's data replaced by the clean folder, a month later.
    let (run, out) = segment(
        &fixture("bad/campaign.yaml"),
        &["--data", &fixture("clusters"), "--as-of", "2026-12-20"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = read_csv(&out.path().join("segments.csv"));
    assert_eq!(rows.len(), 5);
    let f1 = rows.iter().find(|r| r["customer_id"] == "F1").unwrap();
    assert_eq!(f1["max_days_past_due"], "40");
    assert!(run.stdout.contains("as of 2026-12-20"), "{}", run.stdout);
}

#[test]
fn migration_matrix_between_rule_sets() {
    let (run, _out) = segment(
        &fixture("clusters/campaign.yaml"),
        &["--rules", &fixture("rules/strict.yaml")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // U1 (unable, 50 days overdue) becomes unwilling under the strict rules.
    let matrix = run
        .stdout
        .split("migration:")
        .nth(1)
        .expect("a migration matrix");
    let line = matrix
        .lines()
        .find(|l| l.starts_with("unable "))
        .expect("an unable row");
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells,
        ["unable", "0", "0", "0", "1", "0", "1"],
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(
        "migration: rows = segments/default.yaml → columns = tests/fixtures/rules/strict.yaml"
    ));
}

#[test]
fn the_sample_campaign_reaches_all_five_clusters() {
    let (run, out) = segment("samples/campaign.yaml", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = read_json(&out.path().join("summary.json"));
    for c in [
        "forgetful",
        "chronic_late",
        "unable",
        "unwilling",
        "no_history",
    ] {
        let n = summary["clusters"][c]["customers"].as_u64().unwrap();
        assert!(n >= 10, "{c}: only {n} customers in the sample");
    }
    assert_eq!(summary["reconciliation"]["customers_in"], 320);
}

#[test]
fn help_shows_examples() {
    for args in [
        vec!["--help"],
        vec!["segment", "--help"],
        vec!["gen", "--help"],
    ] {
        let run = dunwell(&args);
        assert_eq!(run.code, 0);
        assert!(run.stdout.contains("Example"), "{args:?}: {}", run.stdout);
    }
    assert_eq!(
        dunwell(["segment"]).code,
        2,
        "a missing argument is a usage error"
    );
}

#[test]
fn the_sample_cluster_table_is_printed_whole() {
    let (run, out) = segment(SAMPLE, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_matches_file(
        &normalise(&run.stdout, &[(out.path(), "$OUT")]),
        "segment_sample",
    );
}
