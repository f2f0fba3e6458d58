//! report.html in headless Chromium (tests/js/report.js): what a reader sees of its
//! charts.

use crate::node;
use crate::util::*;

/// Issue 16: no chart label or number is cut off at the chart's edge — each text's box
/// lies inside its SVG as Chromium draws it, on a desktop and on a phone — and no tick
/// stands above the first bar. The sample's report, and one whose labels are long: a
/// campaign whose stages have long names of their own.
#[test]
fn in_chromium_every_chart_label_is_inside_its_chart_and_no_tick_strays() {
    let _quiet = crate::quiet();
    let dir = sample_copy();
    let campaign = dir.path().join("samples/campaign.yaml");
    let text = std::fs::read_to_string(&campaign).unwrap();
    let long = text
        .replace(
            "name: second_reminder,",
            "name: second_reminder_by_registered_post_with_receipt,",
        )
        .replace(
            "second_reminder:",
            "second_reminder_by_registered_post_with_receipt:",
        );
    assert_ne!(long, text);
    let long_campaign = dir.path().join("samples/long.yaml");
    std::fs::write(&long_campaign, long).unwrap();
    for (campaign, expect) in [
        (root().join(SAMPLE), "No SMS consent"),
        (
            long_campaign,
            "Second reminder by registered post with receipt",
        ),
    ] {
        let out = outbox_of(campaign.to_str().unwrap(), &[]);
        let v = node(
            "report.js",
            &[out.path().join("report.html").to_str().unwrap()],
        );
        assert!(v["charts"].as_u64().unwrap() >= 2 * 24, "{v}");
        assert_eq!(
            v["clipped"].as_array().unwrap().len(),
            0,
            "{:#}",
            v["clipped"]
        );
        assert_eq!(v["stray"].as_array().unwrap().len(), 0, "{:#}", v["stray"]);
        // A label's lines are its texts one after another; none is shortened.
        let labels: Vec<&str> = v["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert!(
            labels.join(" ").contains(expect) && !labels.iter().any(|l| l.contains('…')),
            "{labels:?}"
        );
    }
}
