//! A customer's timeline as a page of the gallery (`m/timeline-CUSTOMER.html`), for a
//! campaign with a history store: the export's invoices and payments, every contact the
//! store remembers with its outcome, the events recorded (promises, opt-outs, bounces)
//! and the clusters over the runs — one chronological table, newest last, so a credit
//! manager reviewing a cell sees what this customer has already been through.

use crate::dataset::{Channel, CustomerView, humanize};
use crate::history::Timeline;
use crate::plan::stage_label;
use crate::segment::Cluster;
use crate::templates::escape_html as esc;
use std::fmt::Write;

const CSS: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}\
main{max-width:960px;margin:0 auto;padding:16px}h1{font-size:22px;margin:8px 0}\
h2{font-size:17px;margin:24px 0 8px}table{border-collapse:collapse;width:100%;background:#fff}\
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e6eb;vertical-align:top}\
th{font-weight:600;background:#eef1f5}td.num{text-align:right;white-space:nowrap}td:first-child{white-space:nowrap}\
.k{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#5b6472}\
.contact .k{color:#1a5fb4}.payment .k{color:#26a269}.event .k{color:#a05a00}.return .k{color:#c01c28}\
.wrap{overflow-x:auto}\
@media (max-width:600px){table,tbody,tr,td{display:block}thead{display:none}\
tr{border-bottom:1px solid #e3e6eb;padding:6px 0}td{border:0;padding:2px 8px}td.num{text-align:left}}";

/// A channel as the report and the gallery name it (`Payment page`); a word the program
/// does not know (an event's channel from the CRM) made readable.
fn channel_label(word: &str) -> String {
    Channel::parse(word).map_or_else(|_| humanize(word), |c| c.label().to_string())
}

/// The page for one customer; `view` is the customer as the export has them (none when
/// the export no longer does).
pub fn page(
    customer_id: &str,
    name: &str,
    view: Option<&CustomerView<'_>>,
    t: &Timeline,
) -> String {
    // (date, order within the day, class, what, detail, amount)
    let mut rows: Vec<(String, u8, &str, String, String, String)> = Vec::new();
    if let Some(v) = view {
        for inv in v.invoices {
            rows.push((
                inv.issue_date.to_string(),
                0,
                "invoice",
                inv.id.to_string(),
                format!(
                    "due {} · {}{}",
                    inv.due_date,
                    inv.status.as_str(),
                    if inv.disputed { " · disputed" } else { "" }
                ),
                format!(
                    "{} {} (open {})",
                    inv.amount,
                    inv.currency.code(),
                    inv.open_amount()
                ),
            ));
        }
        for p in v.payments {
            rows.push((
                p.date.to_string(),
                1,
                "payment",
                String::new(),
                format!(
                    "{} · {}{}",
                    p.method.as_str(),
                    p.status.as_str(),
                    p.invoice
                        .and_then(|k| v.invoices.get(k.checked_sub(v.invoice_base)? as usize))
                        .map(|i| format!(" · {}", i.id))
                        .unwrap_or_default()
                ),
                p.amount.to_string(),
            ));
        }
    }
    for c in &t.contacts {
        let invoices: Vec<String> = c
            .invoices
            .iter()
            .map(|(n, a)| format!("{n} ({a})"))
            .collect();
        rows.push((
            c.scheduled_at.chars().take(10).collect(),
            2,
            "contact",
            format!("{} · {}", channel_label(&c.channel), stage_label(&c.stage)),
            format!(
                "{} at {} · cluster: {} · template {} · {} · {}",
                humanize(&c.state),
                c.state_at,
                Cluster::label_of(&c.cluster),
                c.template,
                invoices.join(", "),
                c.campaign
            ),
            format!("{} {}", c.amount, c.currency),
        ));
    }
    for e in &t.events {
        let promise = if e.promised_date.is_empty() {
            String::new()
        } else {
            format!(" · promised by {}", e.promised_date)
        };
        rows.push((
            e.date.clone(),
            3,
            "event",
            format!("{} · {}", humanize(&e.kind), channel_label(&e.channel)),
            format!("{}{promise} · {}", e.reference, e.source),
            e.promised_amount.clone(),
        ));
    }
    for (at, kind, status, detail) in &t.returns {
        rows.push((
            at.chars().take(10).collect(),
            4,
            "return",
            format!("came back: {kind}"),
            format!("{status} {detail}"),
            String::new(),
        ));
    }
    rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{}<title>{} — timeline</title><style>{CSS}</style></head><body><main><h1>{} <span class=\"k\">{}</span></h1>",
        super::GENERATOR,
        esc(name),
        esc(name),
        esc(customer_id)
    );
    out.push_str("<h2>Clusters over the runs</h2><div class=\"wrap\"><table><thead><tr><th>as of</th><th>cluster</th><th>rule</th><th>campaign</th></tr></thead><tbody>");
    for (campaign, as_of, cluster, rule) in &t.clusters {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(as_of),
            esc(&Cluster::label_of(cluster)),
            esc(rule),
            esc(campaign)
        );
    }
    out.push_str("</tbody></table></div><h2>Timeline</h2><div class=\"wrap\"><table><thead><tr><th>date</th><th>what</th><th>detail</th><th class=\"num\">amount</th></tr></thead><tbody>");
    for (date, _, class, what, detail, amount) in &rows {
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td>{}</td><td><span class=\"k\">{class}</span><br>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(date),
            esc(what),
            esc(detail),
            esc(amount)
        );
    }
    out.push_str("</tbody></table></div></main></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_export_and_the_crm_wrote_is_escaped() {
        let t = Timeline {
            clusters: vec![(
                "c".into(),
                "2026-11-20".into(),
                "unwilling".into(),
                "r".into(),
            )],
            events: vec![crate::history::EventRecord {
                customer: "C1".into(),
                kind: "promise_to_pay".into(),
                date: "2026-11-18".into(),
                channel: "call".into(),
                reference: "<img src=x onerror=alert(1)>".into(),
                source: "crm.csv:2".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let page = page("C1", "<script>alert(1)</script> 🧾", None, &t);
        assert!(
            !page.contains("<script>") && !page.contains("<img"),
            "{page}"
        );
        assert!(page.contains("&lt;script&gt;") && page.contains("🧾"));
        assert!(page.contains("Promise to pay · Call"), "{page}");
        assert!(page.contains("<td>Unwilling to pay</td>") && !page.contains("unwilling"));
    }
}
