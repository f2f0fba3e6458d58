//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external
//! assets) made from the outbox's summary (`summary.json`, read typed), so that
//! `dunwell report` can rebuild it from the outbox alone.

use super::charts::{Bar, color, hbars, small};
use super::{CHANNELS, grouped, money};
use crate::dataset::{Channel, humanize};
use crate::outbox::summary::{DeliverySummary, Group, RunSummary};
use crate::plan::{ExclusionReason, stage_label};
use crate::segment::Cluster;
use crate::send::journal::State;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write;

use crate::templates::escape_html as esc;

fn f64_of(d: Decimal) -> f64 {
    // Bar lengths only; every number printed is the decimal itself.
    d.to_string().parse().unwrap_or(0.0)
}

/// A count of a map that has no entry for a key it never counted.
fn count_of<K: Ord + ?Sized>(map: &BTreeMap<String, usize>, key: &K) -> u64
where
    String: std::borrow::Borrow<K>,
{
    map.get(key).map_or(0, |n| *n as u64)
}

/// The stages in campaign order (a stage the campaign does not name goes last).
fn stage_order<'a>(s: &RunSummary, by_stage: &'a BTreeMap<String, Group>) -> Vec<&'a str> {
    let mut names: Vec<&str> = by_stage.keys().map(String::as_str).collect();
    let pos = |n: &str| s.stages.iter().position(|o| o == n);
    names.sort_by_key(|n| pos(n).unwrap_or(usize::MAX));
    names
}

fn section(out: &mut String, id: &str, title: &str, note: &str) {
    let _ = write!(out, "<section id=\"{id}\"><h2>{}</h2>", esc(title));
    if !note.is_empty() {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(note));
    }
}

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><thead><tr>");
    for (k, h) in head.iter().enumerate() {
        let class = if k == 0 { "" } else { " class=\"num\"" };
        let _ = write!(out, "<th{class}>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for (k, c) in r.iter().enumerate() {
            let class = if k == 0 { "" } else { " class=\"num\"" };
            let _ = write!(out, "<td{class}>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn figure(out: &mut String, svg: &str, caption: &str) {
    let _ = write!(
        out,
        "<figure>{svg}<figcaption>{}</figcaption></figure>",
        esc(caption)
    );
}

/// A channel's label from its word (summary.json's keys).
fn channel_label(word: &str) -> String {
    Channel::parse(word).map_or_else(|_| humanize(word), |c| c.label().to_string())
}

/// A delivery state's label from its word.
fn state_label(word: &str) -> String {
    State::parse(word).map_or_else(|_| humanize(word), |s| s.label().to_string())
}

/// An ageing bucket (`current`, `1-30`, `90+`) as the page says it.
fn bucket_label(bucket: &str) -> String {
    match bucket {
        "current" => "Not yet due".into(),
        b => format!("{} days", b.replace('-', "–")),
    }
}

/// Bars of counts: (the word, which picks the colour when `key_color`; the label; n).
fn counts_chart(pairs: &[(&str, String, u64)], key_color: bool) -> String {
    hbars(
        &pairs
            .iter()
            .enumerate()
            .map(|(k, (key, label, n))| Bar {
                label: label.clone(),
                value: *n as f64,
                text: grouped(&n.to_string()),
                color: color(if key_color { key } else { "" }, k),
            })
            .collect::<Vec<_>>(),
    )
}

/// Customers and overdue amounts by `what`, keyed by the words in `order`, each shown
/// as `label` says.
fn groups(
    out: &mut String,
    g: &BTreeMap<String, Group>,
    order: &[&str],
    what: &str,
    label: &dyn Fn(&str) -> String,
) {
    let customers = |k: &str| g.get(k).map_or(0, |g| g.customers as u64);
    let owed = |k: &str, cur: &str| g.get(k).and_then(|g| g.overdue.get(cur)).copied();
    let pairs: Vec<(&str, String, u64)> =
        order.iter().map(|k| (*k, label(k), customers(k))).collect();
    figure(
        out,
        &counts_chart(&pairs, true),
        &format!("customers by {what}"),
    );
    // Amounts per currency: a column and a chart each (currencies are never added up).
    let mut currencies: Vec<&str> = Vec::new();
    for k in order {
        for c in g.get(*k).into_iter().flat_map(|g| g.overdue.keys()) {
            if !currencies.contains(&c.as_str()) {
                currencies.push(c);
            }
        }
    }
    currencies.sort();
    let rows: Vec<Vec<String>> = order
        .iter()
        .map(|k| {
            let mut r = vec![label(k), grouped(&customers(k).to_string())];
            for cur in &currencies {
                r.push(owed(k, cur).map_or("–".into(), |a| money(a, cur)));
            }
            r
        })
        .collect();
    let overdue: Vec<String> = currencies.iter().map(|c| format!("overdue {c}")).collect();
    let mut head = vec![what, "customers"];
    head.extend(overdue.iter().map(String::as_str));
    table(out, &head, &rows);
    if !currencies.is_empty() {
        out.push_str("<div class=\"multiples\">");
        for cur in currencies {
            let bars: Vec<Bar> = order
                .iter()
                .enumerate()
                .map(|(n, k)| {
                    let a = owed(k, cur).unwrap_or_default();
                    Bar {
                        label: label(k),
                        value: f64_of(a),
                        text: money(a, cur),
                        color: color(k, n),
                    }
                })
                .collect();
            figure(out, &small(&bars), &format!("overdue {cur} by {what}"));
        }
        out.push_str("</div>");
    }
}

/// The whole page.
pub fn page(s: &RunSummary) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let name = s.campaign.as_str();
    let as_of = s.as_of.as_str();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — dunning report</title><style>{CSS}</style></head><body>",
        esc(name)
    );
    let _ = write!(
        out,
        "<header><h1>{}</h1><p>as of {}{}</p></header><main>",
        esc(name),
        esc(as_of),
        s.shard
            .as_ref()
            .map(|sh| format!(" · shard {}", esc(sh)))
            .unwrap_or_default()
    );

    // Headline numbers and the reconciliation.
    out.push_str("<section id=\"overview\"><div class=\"cards\">");
    for (label, n) in [
        ("customers in the export", s.customers_in),
        ("with a message", s.planned_customers),
        ("excluded", s.excluded_customers),
        ("rejected (bad data)", s.rejected_customers),
        ("messages", s.messages),
    ] {
        let _ = write!(
            out,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            grouped(&n.to_string()),
            esc(label)
        );
    }
    out.push_str("</div>");
    let (class, text) = if s.filtered {
        (
            "note",
            "A filtered run (--sample, --segment or --channel): the counts cover only the customers and messages it selected, not the whole export, and are not reconciled with it.",
        )
    } else if s.balanced {
        (
            "ok",
            "Every customer is in the plan, the exclusions or the rejects: the counts reconcile.",
        )
    } else {
        (
            "warn",
            "The counts do not reconcile: customers in the export ≠ with a message + excluded + rejected. See summary.json.",
        )
    };
    let _ = write!(out, "<p class=\"{class}\">{text}</p></section>");

    // Clusters.
    let clusters: Vec<&str> = [
        "forgetful",
        "chronic_late",
        "unable",
        "unwilling",
        "no_history",
    ]
    .into_iter()
    .filter(|c| s.figures.customers_by_cluster.contains_key(*c))
    .collect();
    section(
        &mut out,
        "clusters",
        "Customers and overdue amounts by cluster",
        "Segmented customers of this run; overdue = open amount of invoices past their due date.",
    );
    groups(
        &mut out,
        &s.figures.customers_by_cluster,
        &clusters,
        "cluster",
        &Cluster::label_of,
    );
    out.push_str("</section>");

    let stages = stage_order(s, &s.figures.customers_by_stage);
    section(
        &mut out,
        "stages",
        "Customers and overdue amounts by stage",
        "Customers with at least one message, by the stage of their messages.",
    );
    groups(
        &mut out,
        &s.figures.customers_by_stage,
        &stages,
        "stage",
        &stage_label,
    );
    out.push_str("</section>");

    // Channel mix.
    section(
        &mut out,
        "channels",
        "Channel mix",
        "Messages written, by channel.",
    );
    let mix: Vec<(&str, String, u64)> = CHANNELS
        .iter()
        .map(|c| {
            (
                c.as_str(),
                c.label().to_string(),
                count_of(&s.by_channel, c.as_str()),
            )
        })
        .filter(|(_, _, n)| *n > 0)
        .collect();
    figure(&mut out, &counts_chart(&mix, false), "messages by channel");
    let rows: Vec<Vec<String>> = clusters
        .iter()
        .map(|cl| {
            let mut r = vec![Cluster::label_of(cl)];
            let per = s.by_cluster_channel.get(*cl);
            for (c, _, _) in &mix {
                let n = per.map_or(0, |per| count_of(per, *c));
                r.push(grouped(&n.to_string()));
            }
            r
        })
        .collect();
    let mut head = vec!["cluster"];
    head.extend(mix.iter().map(|(_, label, _)| label.as_str()));
    table(&mut out, &head, &rows);
    out.push_str("</section>");

    // Exclusions.
    section(
        &mut out,
        "exclusions",
        "Exclusions by reason",
        "A whole customer or one channel of a customer left out (exclusions.csv has each one).",
    );
    let mut reasons: Vec<(&str, String, u64)> = s
        .exclusions_by_reason
        .iter()
        .map(|(k, n)| (k.as_str(), ExclusionReason::label_of(k), *n as u64))
        .collect();
    reasons.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)));
    if reasons.is_empty() {
        out.push_str("<p>No exclusions.</p>");
    } else {
        figure(
            &mut out,
            &counts_chart(&reasons, false),
            "exclusions by reason",
        );
    }
    out.push_str("</section>");

    // Ageing and DSO.
    section(
        &mut out,
        "ageing",
        "Ageing of open invoices",
        "Open invoices by days past due, per currency.",
    );
    out.push_str("<div class=\"multiples\">");
    for (cur, buckets) in &s.figures.ageing {
        let bars: Vec<Bar> = buckets
            .iter()
            .enumerate()
            .map(|(k, b)| Bar {
                label: bucket_label(&b.bucket),
                value: f64_of(b.amount),
                text: format!("{} · {} inv.", money(b.amount, cur), b.invoices),
                color: AGEING[k.min(4)],
            })
            .collect();
        figure(
            &mut out,
            &small(&bars),
            &format!("{cur}: open amount by days past due"),
        );
    }
    out.push_str("</div>");
    let dso = &s.figures.dso_days;
    let _ = write!(
        out,
        "<h3>DSO (days sales outstanding)</h3><p class=\"note\">Open receivables ÷ amount invoiced in the {} days up to {} × {}.</p>",
        super::DSO_PERIOD_DAYS,
        esc(as_of),
        super::DSO_PERIOD_DAYS
    );
    let bars: Vec<Bar> = dso
        .iter()
        .enumerate()
        .map(|(k, (c, d))| Bar {
            label: c.to_string(),
            value: d.map(f64_of).unwrap_or(0.0),
            text: d.map_or("nothing invoiced".into(), |d| format!("{d} days")),
            color: color("", k),
        })
        .collect();
    figure(&mut out, &hbars(&bars), "DSO per currency");
    out.push_str("</section>");

    // SMS.
    section(
        &mut out,
        "sms",
        "SMS segments and estimated cost",
        "Segments as the operator bills them (GSM-7: 160/153 characters, UCS-2: 70/67).",
    );
    let sms_messages = count_of(&s.by_channel, "sms");
    let segments = s.sms_segments;
    let cost = s.figures.sms_cost.as_ref();
    let _ = write!(
        out,
        "<div class=\"cards\"><div class=\"card\"><b>{}</b><span>SMS</span></div><div class=\"card\"><b>{}</b><span>segments</span></div><div class=\"card\"><b>{}</b><span>estimated cost</span></div></div>",
        grouped(&sms_messages.to_string()),
        grouped(&segments.to_string()),
        cost.map_or("no prices set (sms.cost)".to_string(), |c| money(
            c.total,
            &c.currency
        ))
    );
    if let Some(c) = cost.filter(|c| c.unpriced_segments > 0) {
        let _ = write!(
            out,
            "<p class=\"warn\">{} segments go to countries without a price and are not in the estimate.</p>",
            c.unpriced_segments
        );
    }
    // Countries by their names, as the letters' last address line names them; the
    // shipped table, since the report is read back from an outbox without the campaign.
    let countries = crate::letter::address::Addresses::shipped();
    let by_country: Vec<(&str, String, u64)> = s
        .figures
        .sms_segments_by_country
        .iter()
        .map(|(k, n)| {
            // `??`: customers the export gives no country (report::count_sms).
            let name = if k == "??" {
                "No country given".to_string()
            } else {
                countries.country_in_words(k)
            };
            (k.as_str(), name, *n)
        })
        .collect();
    if !by_country.is_empty() {
        figure(
            &mut out,
            &counts_chart(&by_country, false),
            "SMS segments by the customer's country",
        );
    }
    out.push_str("</section>");

    if let Some(c) = &s.cutoff {
        cutoff_section(&mut out, c);
    }

    // Delivery.
    section(
        &mut out,
        "delivery",
        "Delivery",
        "From the send journal (journal.sqlite).",
    );
    match &s.delivery {
        None => out.push_str("<p>Not sent yet: run <code>dunwell send</code>, then <code>dunwell report</code> to add the outcomes.</p>"),
        Some(delivery) => delivery_section(&mut out, delivery),
    }
    out.push_str("</section></main></body></html>\n");
    out
}

/// The send journal's outcomes: per state, per channel × state, the unknown and the
/// rejected messages.
fn delivery_section(out: &mut String, delivery: &DeliverySummary) {
    let order = [
        "delivered",
        "cancelled:paid",
        "cancelled:part_paid",
        "deferred",
        "pending",
        "sending",
        "unknown",
        "rejected",
    ];
    let count = |map: &BTreeMap<String, u64>, k: &str| map.get(k).copied().unwrap_or(0);
    let states: Vec<(&str, String, u64)> = order
        .iter()
        .map(|k| (*k, state_label(k), count(&delivery.states, k)))
        .filter(|(_, _, n)| *n > 0)
        .collect();
    figure(
        out,
        &counts_chart(&states, true),
        "messages by delivery state",
    );
    let by_channel = delivery.by_channel.as_ref().filter(|m| !m.is_empty());
    if let Some(by_channel) = by_channel {
        let rows: Vec<Vec<String>> = by_channel
            .iter()
            .map(|(ch, per)| {
                let mut r = vec![channel_label(ch)];
                r.extend(order.iter().map(|k| count(per, k).to_string()));
                r
            })
            .collect();
        let labels: Vec<String> = order.iter().map(|k| state_label(k)).collect();
        let mut head = vec!["channel"];
        head.extend(labels.iter().map(String::as_str));
        table(out, &head, &rows);
    }
    if let Some(p) = &delivery.payments {
        payments_note(out, "The last <code>send --payments</code>", p);
    }
    let unknown: Vec<String> = delivery.unknown.clone().unwrap_or_default();
    let rejected: Vec<String> = delivery
        .rejected
        .iter()
        .flatten()
        .map(|r| format!("{}: {}", r.id, r.reply))
        .collect();
    for (list, title) in [(unknown, "Fate unknown"), (rejected, "Rejected")] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, "<h3>{title} ({})</h3><ul class=\"ids\">", list.len());
        for text in list.iter().take(100) {
            let _ = write!(out, "<li>{}</li>", esc(text));
        }
        out.push_str("</ul>");
    }
}

/// What the payment files of a send or a cut-off held.
fn payments_note(out: &mut String, who: &str, p: &crate::outbox::summary::PaymentsSummary) {
    let _ = write!(
        out,
        "<p class=\"note\">{who} read {} payment(s) received: {} dated on or before the export (it has them), {} matched to a customer, {} unmatched (<code>payments-unmatched.csv</code>). Messages of customers who paid everything claimed are <code>cancelled:paid</code>; of those who paid a part, <code>cancelled:part_paid</code> (the next run claims the rest).</p>",
        p.received, p.before_export, p.matched, p.unmatched
    );
}

/// The print cut-off: letters and payment pages of customers who paid since the export.
fn cutoff_section(out: &mut String, c: &crate::outbox::summary::CutoffSummary) {
    section(
        out,
        "cutoff",
        "Print cut-off",
        "Letters taken out of letters/print.pdf and payment pages withdrawn because the customer paid since the export (cutoff.csv lists each).",
    );
    let reasons = ["cancelled:paid", "cancelled:part_paid"];
    let count = |m: &BTreeMap<String, usize>, k: &str| m.get(k).copied().unwrap_or(0);
    let rows: Vec<Vec<String>> = [("letters", &c.letters), ("payment pages", &c.pages)]
        .iter()
        .map(|(what, m)| {
            let mut r = vec![what.to_string()];
            r.extend(reasons.iter().map(|k| count(m, k).to_string()));
            r
        })
        .collect();
    let head: Vec<String> = reasons.iter().map(|k| state_label(k)).collect();
    table(out, &["", &head[0], &head[1]], &rows);
    let _ = write!(
        out,
        "<p>letters/print.pdf now: {} letter(s), {} page(s).</p>",
        c.print_letters, c.print_pages
    );
    payments_note(out, "The last <code>outbox cutoff</code>", &c.payments);
    out.push_str("</section>");
}

const AGEING: [plotters::style::RGBColor; 5] = [
    plotters::style::RGBColor(0x8a, 0x93, 0x9e),
    plotters::style::RGBColor(0xe9, 0xc4, 0x6a),
    plotters::style::RGBColor(0xf4, 0xa2, 0x61),
    plotters::style::RGBColor(0xe7, 0x6f, 0x51),
    plotters::style::RGBColor(0xc8, 0x3e, 0x3e),
];

const CSS: &str = "
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;color:#333a45;background:#f4f5f7}
header{background:#1f2a37;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:2px 0 0;opacity:.8}
main{max-width:1100px;margin:0 auto;padding:12px 20px 40px}
section{background:#fff;border-radius:8px;padding:14px 20px;margin:16px 0;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{font-size:18px;margin:4px 0 8px}h3{font-size:15px;margin:16px 0 4px}
.note{color:#66707c;margin:0 0 8px;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0}
.card{background:#f4f5f7;border-radius:6px;padding:8px 14px;min-width:120px}.card b{display:block;font-size:22px}.card span{font-size:12px;color:#66707c}
.ok{color:#2e7d4f}.warn{color:#b23a3a}
figure{margin:8px 0}figure svg{max-width:760px;display:block}figcaption{font-size:12px;color:#66707c}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:4px 18px}
table{border-collapse:collapse;margin:8px 0;font-size:14px}th,td{padding:3px 12px 3px 0;border-bottom:1px solid #e6e8eb;text-align:left}
th{font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f4f5f7;padding:1px 4px;border-radius:3px}ul.ids{font:12px ui-monospace,monospace;columns:2}
";

/// The recovery section (`report --payments`): dated with the payments' last day, kept
/// apart from the rebuild of the rest of the page.
pub fn recovery(r: &super::recovery::Recovery) -> String {
    let mut out = String::new();
    let until = r.payments_until.as_deref().unwrap_or("—");
    section(
        &mut out,
        "recovery",
        &format!("Recovery — payments up to {until}"),
        &format!(
            "{} payment(s) matched to this outbox's claims, {} unmatched ({}). A customer counts in the row of each channel that reached them; paid in full within N days of the contact.",
            r.payments_matched,
            r.payments_unmatched,
            r.payment_files.join(", ")
        ),
    );
    let pct = |n: u64, of: u64| {
        if of == 0 {
            "—".to_string()
        } else {
            format!("{:.0} %", n as f64 * 100.0 / of as f64)
        }
    };
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            let amounts = |k: usize| {
                row.recovered
                    .iter()
                    .map(|(c, a)| super::money(a[k], c))
                    .collect::<Vec<_>>()
                    .join(" · ")
            };
            vec![
                format!(
                    "{} · {} · {}",
                    Cluster::label_of(&row.cluster),
                    stage_label(&row.stage),
                    channel_label(&row.channel)
                ),
                grouped(&row.customers.to_string()),
                pct(row.paid_in_full[0], row.customers),
                pct(row.paid_in_full[1], row.customers),
                pct(row.paid_in_full[2], row.customers),
                amounts(2),
                row.claimed
                    .iter()
                    .map(|(c, a)| super::money(*a, c))
                    .collect::<Vec<_>>()
                    .join(" · "),
                row.median_days_to_pay
                    .map_or("—".into(), |d| format!("{d} d")),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "cluster · stage · channel",
            "customers",
            "paid ≤ 7 d",
            "≤ 14 d",
            "≤ 30 d",
            "recovered ≤ 30 d",
            "claimed",
            "median days to pay",
        ],
        &rows,
    );
    let costs: Vec<Vec<String>> = r
        .cost
        .iter()
        .map(|(currency, cost)| {
            let back = r.recovered_30.get(currency).copied().unwrap_or_default();
            vec![
                currency.clone(),
                super::money(*cost, currency),
                super::money(back, currency),
                if back > Decimal::ZERO {
                    format!("{:.4}", (*cost / back).round_dp(4))
                } else {
                    "—".into()
                },
            ]
        })
        .collect();
    if !costs.is_empty() {
        table(
            &mut out,
            &[
                "currency",
                "cost of the contacts",
                "recovered ≤ 30 d",
                "cost per unit recovered",
            ],
            &costs,
        );
    }
    out.push_str("</section>");
    out
}

/// Who did what to this outbox, from the history store (`report` with a store): its
/// own dated section, like the recovery.
pub fn audit(trail: &super::Trail) -> String {
    let mut out = String::new();
    section(
        &mut out,
        "audit",
        "Audit trail",
        "From the history store: approvals, the send, the print batch posted, as recorded.",
    );
    // Text columns, left-aligned (the shared table right-aligns figures).
    out.push_str("<table><thead><tr><th>when</th><th>what</th><th>who</th><th>detail</th></tr></thead><tbody>");
    for (action, actor, detail, at) in trail {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(at),
            esc(action),
            esc(actor),
            esc(detail)
        );
    }
    out.push_str("</tbody></table></section>");
    out
}
