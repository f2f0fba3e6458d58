//! The campaign report: its figures recomputed here from the export and the outbox, and
//! the HTML page checked for being self-contained, with a chart per figure.

use crate::util::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

fn dec(v: &serde_json::Value) -> Decimal {
    Decimal::from_str(v.as_str().expect("amounts are strings")).unwrap()
}

#[test]
fn figures_agree_with_the_export_recomputed_independently() {
    let out = outbox_of(SAMPLE, &[]);
    let s = read_json(&out.path().join("summary.json"));
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let cluster_of: BTreeMap<String, String> = read_csv(&out.path().join("segments.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["cluster"].clone()))
        .collect();
    let invoices = read_csv(&root().join("samples/data/invoices.csv"));

    // Customers per cluster = segments.csv.
    let mut per_cluster: BTreeMap<&str, usize> = BTreeMap::new();
    for c in cluster_of.values() {
        *per_cluster.entry(c).or_default() += 1;
    }
    for (c, n) in &per_cluster {
        assert_eq!(
            s["customers_by_cluster"][*c]["customers"].as_u64().unwrap() as usize,
            *n,
            "{c}"
        );
    }

    // Overdue per cluster and currency, ageing and DSO from invoices.csv.
    let mut overdue: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut ageing: BTreeMap<(String, usize), (usize, Decimal)> = BTreeMap::new();
    let mut open_total: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut invoiced_90: BTreeMap<String, Decimal> = BTreeMap::new();
    for inv in &invoices {
        let cur = inv["currency"].clone();
        let amount = Decimal::from_str(&inv["amount"]).unwrap();
        let issued = chrono::NaiveDate::parse_from_str(&inv["issue_date"], "%Y-%m-%d").unwrap();
        if (as_of - issued).num_days() < 90 && issued <= as_of {
            *invoiced_90.entry(cur.clone()).or_default() += amount;
        }
        if inv["status"] != "open" {
            continue;
        }
        let open = amount - Decimal::from_str(&inv["amount_paid"]).unwrap();
        if open <= Decimal::ZERO {
            continue;
        }
        let due = chrono::NaiveDate::parse_from_str(&inv["due_date"], "%Y-%m-%d").unwrap();
        let days = (as_of - due).num_days();
        let bucket = match days {
            ..=0 => 0,
            1..=30 => 1,
            31..=60 => 2,
            61..=90 => 3,
            _ => 4,
        };
        let a = ageing.entry((cur.clone(), bucket)).or_default();
        a.0 += 1;
        a.1 += open;
        *open_total.entry(cur.clone()).or_default() += open;
        if days > 0
            && let Some(cl) = cluster_of.get(&inv["customer_id"])
        {
            *overdue.entry((cl.clone(), cur)).or_default() += open;
        }
    }
    assert!(overdue.len() > 20, "the sample spreads debt over clusters");
    for ((cl, cur), amount) in &overdue {
        assert_eq!(
            dec(&s["customers_by_cluster"][cl]["overdue"][cur]),
            *amount,
            "{cl} {cur}"
        );
    }
    for ((cur, k), (n, amount)) in &ageing {
        let b = &s["ageing"][cur][*k];
        assert_eq!(b["invoices"].as_u64().unwrap() as usize, *n, "{cur} {k}");
        assert_eq!(dec(&b["amount"]), *amount, "{cur} bucket {k}");
    }
    for (cur, open) in &open_total {
        let dso = (open / invoiced_90[cur] * Decimal::from(90)).round_dp(1);
        assert_eq!(dec(&s["dso_days"][cur]), dso, "{cur}");
    }

    // Customers per stage = the manifest's customers per stage.
    let mut by_stage: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in manifest(out.path()) {
        by_stage
            .entry(e["stage"].as_str().unwrap().into())
            .or_default()
            .insert(e["customer_id"].as_str().unwrap().into());
    }
    for (stage, ids) in &by_stage {
        assert_eq!(
            s["customers_by_stage"][stage]["customers"]
                .as_u64()
                .unwrap() as usize,
            ids.len()
        );
    }

    // SMS segments by country add up, and the cost is priced per country.
    let seg_total: u64 = read_jsonl(&out.path().join("sms.jsonl"))
        .iter()
        .map(|l| l["segments"].as_u64().unwrap())
        .sum();
    let by_country = s["sms_segments_by_country"].as_object().unwrap();
    assert_eq!(
        by_country
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        seg_total
    );
    let price = |c: &str| match c {
        "GB" => Decimal::from_str("0.038").unwrap(),
        "PL" => Decimal::from_str("0.031").unwrap(),
        "RO" => Decimal::from_str("0.045").unwrap(),
        "IT" => Decimal::from_str("0.072").unwrap(),
        "LV" => Decimal::from_str("0.05").unwrap(),
        _ => Decimal::from_str("0.065").unwrap(),
    };
    let cost: Decimal = by_country
        .iter()
        .map(|(c, n)| price(c) * Decimal::from(n.as_u64().unwrap()))
        .sum();
    assert_eq!(dec(&s["sms_cost"]["total"]), cost);
    assert_eq!(s["sms_cost"]["currency"], "EUR");
}

#[test]
fn the_report_page_is_self_contained_with_a_chart_per_figure() {
    let out = outbox_of(SAMPLE, &[]);
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    for banned in ["<script", "<link", " src=", "url(", "@import"] {
        assert!(!html.contains(banned), "report.html has {banned}");
    }
    // The only URLs are the SVG namespace (a name, never fetched).
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    let charts = html.matches("<svg").count();
    // Cluster, stage, channel, exclusions, DSO, SMS + a chart per currency for the
    // overdue by cluster, by stage and ageing (6 currencies in the sample).
    assert_eq!(charts, 6 + 3 * 6, "charts");
    for id in [
        "clusters",
        "stages",
        "channels",
        "exclusions",
        "ageing",
        "sms",
        "delivery",
    ] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    // The numbers are beside the bars: the channel mix as the summary counts it.
    let s = read_json(&out.path().join("summary.json"));
    for ch in ["email", "sms", "letter", "web"] {
        let n = s["by_channel"][ch].as_u64().unwrap();
        assert!(html.contains(&format!(">\n{n}\n</text>")), "{ch} {n}");
    }
    assert!(html.contains("Not sent yet"));
    // The whole export: its counts reconcile, and the page says so.
    assert_eq!(
        (&s["filtered"], &s["balanced"]),
        (&false.into(), &true.into())
    );
    assert!(html.contains("the counts reconcile"));

    // `dunwell report` rebuilds the same page from the outbox alone.
    let before = html.clone();
    std::fs::remove_file(out.path().join("report.html")).unwrap();
    let r = dunwell(["report", out.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(out.path().join("report.html")).unwrap(),
        before
    );
}

#[test]
fn a_folder_that_is_not_an_outbox_is_refused_clearly() {
    let dir = tempdir();
    let r = dunwell(["report", dir.path().to_str().unwrap()]);
    // The input is wrong, not the command line: exit 1 (SPEC §3).
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not an outbox"), "{}", r.stderr);
    assert!(r.stderr.contains("complete.json"), "{}", r.stderr);
    assert!(r.stderr.contains("dunwell run"), "{}", r.stderr);
}

/// Issue 13: a run of part of the export (`--sample`, `--segment`, `--channel`) said its
/// counts reconciled. They cover its selection only, and the report says that instead.
#[test]
fn a_filtered_run_does_not_claim_its_counts_reconcile() {
    for filter in [
        &["--sample", "5"][..],
        &["--segment", "unable", "--sample", "3"],
    ] {
        let out = outbox_of(SAMPLE, filter);
        let s = read_json(&out.path().join("summary.json"));
        assert_eq!(s["filtered"], true, "{filter:?}");
        let sum = [
            "planned_customers",
            "excluded_customers",
            "rejected_customers",
        ]
        .map(|k| s[k].as_u64().unwrap())
        .iter()
        .sum::<u64>();
        // `balanced` is whether the counts add up, not a pass for a filtered run.
        assert_eq!(
            s["balanced"],
            sum == s["customers_in"].as_u64().unwrap(),
            "{filter:?}"
        );
        assert_eq!(s["balanced"], false, "a sample of 5 leaves customers out");
        let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
        assert!(!html.contains("reconcile:"), "{filter:?}");
        assert!(!html.contains("the counts reconcile"), "{filter:?}");
        assert!(
            html.contains("the counts cover only the customers and messages it selected"),
            "{filter:?}"
        );
        // `dunwell report` says the same from the outbox alone.
        let r = dunwell(["report", out.path().to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            std::fs::read_to_string(out.path().join("report.html")).unwrap(),
            html
        );
    }
}

/// Issue 13: a summary.json that is not the one `run` wrote is refused, naming it, by
/// `report` and by `send` (before anything is sent) — never read as zeros.
#[test]
fn a_corrupt_or_missing_summary_is_refused_not_read_as_zeros() {
    let out = outbox_of(SAMPLE, &["--channel", "email", "--sample", "2"]);
    let path = out.path().join("summary.json");
    let mut s = read_json(&path);
    s.as_object_mut().unwrap().remove("customers_in");
    std::fs::write(&path, s.to_string()).unwrap();
    let html = out.path().join("report.html");
    let before = std::fs::read(&html).unwrap();
    let r = dunwell(["report", out.path().to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(path.to_str().unwrap()), "{}", r.stderr);
    assert!(r.stderr.contains("customers_in"), "{}", r.stderr);
    assert!(r.stderr.contains("dunwell run"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(&html).unwrap(),
        before,
        "report.html is left as it was"
    );

    // `send` refuses before it sends anything or begins a journal (a closed port: no
    // connection is attempted either).
    let r = dunwell_env(
        ["send", out.path().to_str().unwrap()],
        &[("DUNWELL_SMTP_URL", "smtp://127.0.0.1:9")],
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(path.to_str().unwrap()), "{}", r.stderr);
    assert!(!out.path().join("journal.sqlite").exists());

    std::fs::remove_file(&path).unwrap();
    let r = dunwell(["report", out.path().to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(path.to_str().unwrap()), "{}", r.stderr);
    assert!(r.stderr.contains("dunwell run"), "{}", r.stderr);
}

/// Issue 16: the page names clusters, stages, channels and exclusion reasons in words
/// ("No SMS consent", not `no_consent:sms`) and countries by name ("Poland", not `PL`)
/// in its charts and tables; the files keep the codes.
#[test]
fn the_report_says_clusters_stages_and_reasons_in_words() {
    let out = outbox_of(SAMPLE, &[]);
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    // What a reader sees: the charts' text and the tables' cells.
    let mut shown: Vec<String> = Vec::new();
    for part in html.split("<text").skip(1) {
        let inner = &part[part.find('>').unwrap() + 1..part.find("</text>").unwrap()];
        shown.push(inner.trim().to_string());
    }
    for tag in ["<td>", "<th>", "<td class=\"num\">", "<th class=\"num\">"] {
        for part in html.split(tag).skip(1) {
            shown.push(part[..part.find("</t").unwrap()].to_string());
        }
    }
    let summary = read_json(&out.path().join("summary.json"));
    let mut codes: Vec<String> = Vec::new();
    for key in ["exclusions_by_reason", "by_cluster", "by_stage"] {
        codes.extend(summary[key].as_object().unwrap().keys().cloned());
    }
    // The SMS chart's countries (ISO codes in summary.json).
    let countries: Vec<String> = summary["sms_segments_by_country"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(countries.iter().any(|c| c == "PL"), "{countries:?}");
    codes.extend(countries);
    assert!(codes.iter().any(|c| c == "no_consent:sms"), "{codes:?}");
    for code in &codes {
        assert!(
            !shown.iter().any(|s| s == code),
            "the page shows the code `{code}`"
        );
    }
    assert!(
        shown.iter().all(|s| !s.contains('_')),
        "{:?}",
        shown.iter().filter(|s| s.contains('_')).collect::<Vec<_>>()
    );
    for words in [
        "No SMS consent",
        "Frequency cap reached (letter)",
        "Chronically late",
        "Unable to pay",
        "Before legal action",
        "Second reminder",
        "Payment page",
        "Poland",
        "Italy",
        "Japan",
    ] {
        assert!(shown.iter().any(|s| s == words), "no {words:?}");
    }
    // The files keep their codes.
    let csv = std::fs::read_to_string(out.path().join("exclusions.csv")).unwrap();
    assert!(csv.contains(",sms,no_consent:sms") || csv.contains("no_consent:sms"));
    assert!(!csv.contains("No SMS consent"));
}
