//! The plan on the sample campaign: every customer planned, excluded or rejected —
//! exactly one — and no message outside its contact window.

use crate::util::*;
use chrono::{Datelike, Timelike};
use dunwell::campaign::{Campaign, Overrides};
use dunwell::plan::{Rules, plan};
use dunwell::segment::{RuleSet, segment};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn every_customer_ends_in_exactly_one_place_and_messages_respect_windows() {
    let campaign =
        Campaign::load(&root().join("samples/campaign.yaml"), &Overrides::default()).unwrap();
    let config = campaign
        .plan
        .as_ref()
        .expect("the sample campaign has a plan");
    let rules = Rules::new(config, &campaign.path).unwrap();
    let validated = dunwell::validate::validate(dunwell::load::load(&campaign.data).unwrap());
    let data = &validated.dataset;
    let seg = segment(
        data,
        &RuleSet::load(&campaign.segments).unwrap(),
        campaign.as_of,
    );
    let p = plan(data, &seg, &rules, None, campaign.as_of);

    let planned: BTreeSet<u32> = p.messages.iter().map(|m| m.customer).collect();
    let excluded: BTreeSet<u32> = p
        .exclusions
        .iter()
        .filter(|e| e.channel.is_none())
        .map(|e| e.customer)
        .collect();
    assert!(planned.is_disjoint(&excluded));
    assert_eq!(planned.len(), p.planned_customers);
    assert_eq!(excluded.len(), p.excluded_customers);
    let rejected = validated.intake.rejected_customers + seg.failures.len();
    assert_eq!(
        planned.len() + excluded.len() + rejected,
        validated.intake.customers
    );
    assert!(
        planned.len() > 150,
        "most sample customers get a message: {}",
        planned.len()
    );

    // One message per customer per channel.
    let mut seen = BTreeMap::new();
    for m in &p.messages {
        assert!(
            seen.insert((m.customer, m.channel), ()).is_none(),
            "two {:?} messages for {}",
            m.channel,
            m.customer
        );
    }
    // Mon–Fri, 09:00–19:00, in the customer's own zone.
    for m in &p.messages {
        let t = m.scheduled_at;
        assert!(t.weekday().num_days_from_monday() < 5, "{t}");
        assert!((9..19).contains(&t.hour()), "{t}");
        let tz = data.customers[m.customer as usize].timezone.unwrap();
        assert_eq!(t.timezone(), tz);
    }
    // Every reason is one of the documented codes.
    let codes = [
        "hold:",
        "promised_until:",
        "nothing_open",
        "all_disputed",
        "no_stage",
        "pre_due_too_late",
        "below_minimum",
        "no_channel_in_matrix",
        "no_channel_left",
        "no_consent:",
        "opted_out:",
        "invalid_contact:",
        "missing_contact:",
        "frequency_cap:",
    ];
    for e in &p.exclusions {
        assert!(
            codes.iter().any(|c| e.reason.to_string().starts_with(c)),
            "{}",
            e.reason
        );
    }
    // Pre-due reminders go to the chronic late only (prevention), and each reaches its
    // customer before every invoice it mentions falls due.
    for m in &p.messages {
        if rules.stage_name(m.stage) == "pre_due" {
            for k in m.all_invoices() {
                let due = data.invoices[k as usize].due_date;
                assert!(
                    m.scheduled_at.date_naive() < due,
                    "pre_due to {} at {} for an invoice due {due}",
                    data.customers[m.customer as usize].id(),
                    m.scheduled_at
                );
            }
            assert_eq!(
                seg.assignments[m.customer as usize]
                    .as_ref()
                    .unwrap()
                    .cluster
                    .as_str(),
                "chronic_late"
            );
        }
    }
    assert!(
        p.messages
            .iter()
            .any(|m| rules.stage_name(m.stage) == "pre_due")
    );
    // The sample has customers whose invoice falls due before the contact window opens
    // (a weekend, a time zone): they wait, with the reason.
    assert!(
        p.exclusions
            .iter()
            .any(|e| e.reason.to_string() == "pre_due_too_late")
    );
}

/// events.csv's optional `promised_date`: a promise pauses that customer
/// (`promised_until:DATE` with the campaign's grace); a malformed one is an error at
/// its file, line and column.
#[test]
fn a_promise_with_a_date_pauses_the_customer_and_a_bad_date_is_named() {
    let dir = sample_copy();
    let events = dir.path().join("samples/data/events.csv");
    let text = std::fs::read_to_string(&events).unwrap();
    let mut lines: Vec<String> = text.lines().map(|l| format!("{l},")).collect();
    lines[0] = format!("{}promised_date", lines[0]);
    lines.push("C0000001,2026-11-18,call,promise_to_pay,,,2026-11-27".into());
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let campaign = dir.path().join("samples/campaign.yaml");
    let out = outbox_of(campaign.to_str().unwrap(), &[]);
    let rows = read_csv(&out.path().join("exclusions.csv"));
    let c1: Vec<&String> = rows
        .iter()
        .filter(|r| r["customer_id"] == "C0000001")
        .map(|r| &r["reason"])
        .collect();
    assert_eq!(
        c1,
        ["promised_until:2026-11-30"],
        "27 November + 3 days of grace"
    );
    assert!(
        manifest(out.path())
            .iter()
            .all(|e| e["customer_id"] != "C0000001"),
        "nothing goes to a customer who promised"
    );

    let n = lines.len();
    lines[n - 1] = "C0000001,2026-11-18,call,promise_to_pay,,,27.11.2026".into();
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let r = dunwell(["segment", campaign.to_str().unwrap(), "--strict"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("events.csv:{n}: column promised_date")),
        "{}",
        r.stderr
    );
}
