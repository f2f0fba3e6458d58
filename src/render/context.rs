//! The template context: what every channel's templates see, built once per message.
//!
//! [`FIELDS`] is the one list of its names: docs/templates.md documents each (a test
//! holds the list to the document and to [`Context`] itself), and `check` suggests from
//! it when a template misspells one.

use super::Renderer;
use crate::dataset::{CustomerView, Field};
use crate::diag::Diagnostic;
use crate::features::feature;
use crate::format::DateLength;
use crate::payment::link::Claims;
use crate::plan::Planned;
use crate::segment::Assignment;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct CustomerCtx<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    /// Address lines, ready to print.
    pub address: Vec<&'a str>,
    pub language: &'a str,
    /// Columns of the export dunwell does not know.
    pub extra: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
pub struct InvoiceCtx<'a> {
    pub id: &'a str,
    /// Long dates in the customer's language; `*_iso` are `2026-12-04` for the `date` filter.
    pub issue_date: String,
    pub due_date: String,
    pub due_iso: String,
    pub days_past_due: i64,
    /// Formatted for the customer's locale; `*_plain` are `1234.50`.
    pub amount: String,
    pub open: String,
    pub open_plain: String,
}

#[derive(Serialize)]
pub struct Totals {
    pub amount: String,
    pub amount_plain: String,
    pub currency: &'static str,
    pub count: usize,
    pub oldest_days_past_due: i64,
    /// The earliest due date among the invoices, formatted.
    pub first_due: String,
}

#[derive(Serialize)]
pub struct Reasons<'a> {
    pub rule: &'a str,
    pub because: &'a str,
    pub evidence: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
pub struct Payment {
    pub link: String,
    pub short_link: String,
    /// The last day the link works, formatted for the customer.
    pub expires: String,
    /// The link's token: the payment page is `web/TOKEN/index.html`.
    pub token: String,
    /// Where the payment page sends a card payment (the portal checks the token).
    pub card_link: String,
    /// What the payer quotes on a bank transfer: an ISO 11649 `RF…` reference made from
    /// the customer id, or the id itself when it cannot make one.
    pub reference: String,
    pub iban: Option<String>,
    pub bic: Option<String>,
    /// What the QR code holds: the EPC (SEPA credit transfer) payload for euro debts
    /// with an IBAN, the payment link otherwise.
    pub qr: String,
    pub qr_is_epc: bool,
}

/// One instalment of the payment plan offered (to `unable` customers by the default
/// templates): the instalments sum exactly to the debt.
#[derive(Serialize)]
pub struct Instalment {
    pub number: usize,
    pub due: String,
    pub due_iso: String,
    pub amount: String,
    pub amount_plain: String,
}

#[derive(Serialize)]
pub struct CampaignCtx<'a> {
    pub name: &'a str,
    pub as_of: String,
}

/// Everything a template can name.
#[derive(Serialize)]
pub struct Context<'a> {
    pub customer: CustomerCtx<'a>,
    pub invoices: Vec<InvoiceCtx<'a>>,
    pub totals: Totals,
    pub cluster: &'static str,
    pub reasons: Reasons<'a>,
    pub stage: &'a str,
    pub payment: Payment,
    pub creditor: &'a crate::campaign::Creditor,
    pub campaign: CampaignCtx<'a>,
    /// The date to pay by, formatted: `as_of` + 14 days.
    pub pay_by: String,
    pub pay_by_iso: String,
    /// A payment plan: three monthly instalments from `pay_by`.
    pub instalments: Vec<Instalment>,
    /// Whether the cluster calls for a payment-plan offer (`unable`).
    pub plan_offer: bool,
    /// The customer's locale and the message's currency, read by the `money`, `date`
    /// and `plural` filters.
    pub locale: &'a str,
    pub currency: &'static str,
}

impl Renderer<'_> {
    /// The locale a customer is written to in: theirs if templates exist for it, else
    /// the campaign's default.
    pub(super) fn locale<'v>(&'v self, view: &CustomerView<'v>) -> &'v str {
        let tag = view
            .customer
            .language()
            .unwrap_or(&self.campaign.locales.default);
        let lang = tag.split(['-', '_']).next().unwrap_or(tag);
        if self
            .campaign
            .locales
            .supported
            .iter()
            .any(|s| s == tag || s == lang)
        {
            tag
        } else {
            &self.campaign.locales.default
        }
    }

    pub fn context<'v>(
        &'v self,
        m: &Planned,
        view: &CustomerView<'v>,
        a: &Assignment,
        features: &crate::features::Features,
        channel: &str,
    ) -> Result<Context<'v>, Diagnostic> {
        let c = view.customer;
        let locale = self.locale(view);
        let as_of = self.campaign.as_of;
        let money = |d| self.formats.money(d, m.currency, locale);
        let date = |d| self.formats.date(d, DateLength::Long, locale);
        let invoices: Vec<InvoiceCtx> = m
            .invoices
            .iter()
            .map(|&k| {
                let inv = &view.invoices[(k - view.invoice_base) as usize];
                InvoiceCtx {
                    id: &inv.id,
                    issue_date: date(inv.issue_date),
                    due_date: date(inv.due_date),
                    due_iso: inv.due_date.to_string(),
                    days_past_due: (as_of - inv.due_date).num_days(),
                    amount: money(inv.amount),
                    open: money(inv.open_amount()),
                    open_plain: crate::money::plain(inv.open_amount(), m.currency),
                }
            })
            .collect();
        let rule = &self.segment_rules.rules[a.rule];
        let claims = Claims::new(
            &self.campaign.name,
            c.id(),
            m.amount,
            m.currency,
            self.expires,
        )
        .map_err(|msg| {
            Diagnostic::whole_file(&self.campaign.path, msg).customer(crate::diag::Unmade::Token)
        })?;
        let token = self.signer.sign(&claims);
        let pay_by = as_of + chrono::Duration::days(14);
        let link = crate::payment::link::url(
            self.base_url,
            &token,
            &self.campaign.name,
            channel,
            a.cluster.as_str(),
        );
        let creditor = &self.campaign.creditor;
        let reference = crate::payment::reference::Reference::for_customer(c.id());
        let epc = match (m.currency.code(), creditor.iban.as_deref()) {
            ("EUR", Some(iban)) => crate::payment::qr::epc_payload(
                &creditor.name,
                iban,
                creditor.bic.as_deref(),
                m.amount,
                &reference,
            ),
            _ => None,
        };
        let address: Vec<&str> = [
            Field::AddressLine1,
            Field::AddressLine2,
            Field::PostalCode,
            Field::City,
            Field::Region,
            Field::Country,
        ]
        .iter()
        .filter_map(|f| c.get(*f))
        .collect();
        Ok(Context {
            customer: CustomerCtx {
                id: c.id(),
                name: c.name(),
                kind: c.kind.map_or("", |k| k.as_str()),
                email: c.email().unwrap_or(""),
                phone: c.phone().unwrap_or(""),
                address,
                language: locale,
                extra: c.extras().collect(),
            },
            totals: Totals {
                amount: money(m.amount),
                amount_plain: crate::money::plain(m.amount, m.currency),
                currency: m.currency.code(),
                count: invoices.len(),
                oldest_days_past_due: invoices.iter().map(|i| i.days_past_due).max().unwrap_or(0),
                first_due: m
                    .invoices
                    .iter()
                    .map(|&k| view.invoices[(k - view.invoice_base) as usize].due_date)
                    .min()
                    .map(date)
                    .unwrap_or_default(),
            },
            invoices,
            cluster: a.cluster.as_str(),
            reasons: Reasons {
                rule: &rule.name,
                because: &rule.because,
                evidence: rule
                    .features
                    .iter()
                    .map(|n| (*n, (feature(n).expect("checked").get)(features).to_string()))
                    .collect(),
            },
            stage: self.rules.stage_name(m.stage),
            payment: Payment {
                short_link: crate::payment::link::short_url(
                    self.base_url,
                    &self.signer.short(&claims),
                ),
                expires: date(self.expires),
                card_link: format!("{}/{token}/card", self.base_url.trim_end_matches('/')),
                reference: reference.as_str().to_string(),
                iban: creditor.iban.clone(),
                bic: creditor.bic.clone(),
                qr_is_epc: epc.is_some(),
                qr: epc.unwrap_or_else(|| link.clone()),
                link,
                token,
            },
            creditor: &self.campaign.creditor,
            campaign: CampaignCtx {
                name: &self.campaign.name,
                as_of: date(as_of),
            },
            pay_by: date(pay_by),
            pay_by_iso: pay_by.to_string(),
            instalments: crate::money::split(m.amount, m.currency, 3)
                .into_iter()
                .enumerate()
                .map(|(k, amount)| {
                    let due = pay_by
                        .checked_add_months(chrono::Months::new(k as u32))
                        .unwrap_or(pay_by);
                    Instalment {
                        number: k + 1,
                        due: date(due),
                        due_iso: due.to_string(),
                        amount: money(amount),
                        amount_plain: crate::money::plain(amount, m.currency),
                    }
                })
                .collect(),
            plan_offer: a.cluster == crate::segment::Cluster::Unable,
            locale,
            currency: m.currency.code(),
        })
    }
}

/// Every name a template can use, with what it holds. `check` offers these names when a
/// template misspells one; docs/templates.md must document each, and nothing else (a
/// test holds the list to the document and to what [`Context`] serialises).
pub const FIELDS: &[(&str, &str)] = &[
    ("customer.id", "the customer's id"),
    ("customer.name", "the customer's name"),
    ("customer.kind", "`person` or `company`, empty when unknown"),
    ("customer.email", "empty when missing"),
    ("customer.phone", "empty when missing"),
    ("customer.address", "address lines, ready to print"),
    ("customer.language", "the locale the message is written in"),
    (
        "customer.extra.COLUMN",
        "columns of the export dunwell does not know",
    ),
    ("invoices", "the invoices this message covers, oldest first"),
    ("invoices[i].id", "the invoice number"),
    ("invoices[i].issue_date", "long date"),
    ("invoices[i].due_date", "long date"),
    ("invoices[i].due_iso", "the due date as YYYY-MM-DD"),
    ("invoices[i].days_past_due", "negative before the due date"),
    ("invoices[i].amount", "formatted"),
    ("invoices[i].open", "what is still open, formatted"),
    ("invoices[i].open_plain", "what is still open, as 1234.50"),
    ("totals.amount", "what the message asks for, formatted"),
    (
        "totals.amount_plain",
        "what the message asks for, as 1234.50",
    ),
    ("totals.currency", "ISO 4217 code"),
    ("totals.count", "invoices"),
    (
        "totals.oldest_days_past_due",
        "days past due of the oldest invoice",
    ),
    ("totals.first_due", "earliest due date"),
    ("cluster", "the customer's cluster"),
    ("reasons.rule", "the segmentation rule that fired"),
    ("reasons.because", "its explanation"),
    ("reasons.evidence.FEATURE", "the values the rule looked at"),
    ("stage", "the stage (not the template name)"),
    (
        "payment.link",
        "signed, with UTM parameters for the channel and cluster",
    ),
    ("payment.short_link", "for SMS"),
    ("payment.expires", "the last day the link works"),
    (
        "payment.token",
        "the link's token: the payment page is web/TOKEN/index.html",
    ),
    ("payment.card_link", "BASE_URL/TOKEN/card"),
    (
        "payment.reference",
        "an ISO 11649 RF reference, or the customer id",
    ),
    ("payment.iban", "the creditor's"),
    ("payment.bic", "the creditor's"),
    (
        "payment.qr",
        "what the QR code holds: the EPC payload or the link",
    ),
    ("payment.qr_is_epc", "whether it is the EPC payload"),
    ("creditor.name", "from the campaign file"),
    ("creditor.address", "from the campaign file"),
    ("creditor.email", "from the campaign file"),
    ("creditor.reply_to", "from the campaign file"),
    ("creditor.phone", "from the campaign file"),
    ("creditor.website", "from the campaign file"),
    ("creditor.iban", "from the campaign file"),
    ("creditor.bic", "from the campaign file"),
    ("creditor.vat_id", "from the campaign file"),
    ("campaign.name", "the campaign's name"),
    ("campaign.as_of", "the campaign date, formatted"),
    ("pay_by", "`as_of` + 14 days, formatted"),
    ("pay_by_iso", "`as_of` + 14 days, as YYYY-MM-DD"),
    ("instalments", "a payment plan from `pay_by`, monthly"),
    ("instalments[i].number", "1, 2, 3"),
    ("instalments[i].due", "formatted"),
    ("instalments[i].due_iso", "as YYYY-MM-DD"),
    ("instalments[i].amount", "formatted"),
    ("instalments[i].amount_plain", "as 1234.50"),
    (
        "plan_offer",
        "whether the cluster calls for a payment-plan offer (`unable`)",
    ),
    ("locale", "read by the filters"),
    ("currency", "read by the filters"),
    (
        "invoice_table",
        "only in letters: a function, the invoice table",
    ),
    ("qr_svg", "only on payment pages: the QR code as inline SVG"),
    (
        "subject",
        "only in email/layout.html: the text template's subject",
    ),
    (
        "paragraphs",
        "only in email/layout.html: the text template's paragraphs",
    ),
];

/// The top-level names of [`FIELDS`], in its order: what a template's variable starts with.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = Vec::new();
    for (path, _) in FIELDS {
        let top = path.split(['.', '[']).next().unwrap_or(path);
        if !names.contains(&top) {
            names.push(top);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Names the channels add to the context (only some templates see them): not fields
    /// of [`Context`].
    const ADDED: [&str; 4] = ["subject", "paragraphs", "invoice_table", "qr_svg"];

    /// The paths of a serialised context: a field of an object is `a.b`, a list is named
    /// itself and its objects' fields `a[i].b`.
    fn paths(prefix: &str, v: &serde_json::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    paths(&p, v, out);
                }
            }
            serde_json::Value::Array(items) => {
                out.insert(prefix.to_string());
                if let Some(first @ serde_json::Value::Object(_)) = items.first() {
                    paths(&format!("{prefix}[i]"), first, out);
                }
            }
            _ => {
                out.insert(prefix.to_string());
            }
        }
    }

    fn listed() -> BTreeSet<String> {
        FIELDS.iter().map(|(p, _)| p.to_string()).collect()
    }

    /// FIELDS is the context: every field [`Context`] serialises is listed, and every
    /// listed name is a field, but for the few the channels add.
    #[test]
    fn the_list_is_the_context() {
        let creditor = crate::campaign::Creditor::default();
        let text = String::new;
        let ctx = Context {
            customer: CustomerCtx {
                id: "",
                name: "",
                kind: "",
                email: "",
                phone: "",
                address: vec![""],
                language: "",
                extra: BTreeMap::from([("COLUMN", "")]),
            },
            invoices: vec![InvoiceCtx {
                id: "",
                issue_date: text(),
                due_date: text(),
                due_iso: text(),
                days_past_due: 0,
                amount: text(),
                open: text(),
                open_plain: text(),
            }],
            totals: Totals {
                amount: text(),
                amount_plain: text(),
                currency: "",
                count: 0,
                oldest_days_past_due: 0,
                first_due: text(),
            },
            cluster: "",
            reasons: Reasons {
                rule: "",
                because: "",
                evidence: BTreeMap::from([("FEATURE", text())]),
            },
            stage: "",
            payment: Payment {
                link: text(),
                short_link: text(),
                expires: text(),
                token: text(),
                card_link: text(),
                reference: text(),
                iban: None,
                bic: None,
                qr: text(),
                qr_is_epc: false,
            },
            creditor: &creditor,
            campaign: CampaignCtx {
                name: "",
                as_of: text(),
            },
            pay_by: text(),
            pay_by_iso: text(),
            instalments: vec![Instalment {
                number: 1,
                due: text(),
                due_iso: text(),
                amount: text(),
                amount_plain: text(),
            }],
            plan_offer: false,
            locale: "",
            currency: "",
        };
        let mut found = BTreeSet::new();
        paths("", &serde_json::to_value(&ctx).unwrap(), &mut found);
        let mut want = listed();
        want.retain(|p| !ADDED.contains(&p.as_str()));
        assert_eq!(found, want, "FIELDS and Context differ");
    }

    /// The names docs/templates.md's context table documents, its shorthand
    /// (`invoices[i].issue_date`, `.due_date`) spelt out.
    fn documented() -> BTreeSet<String> {
        let doc = include_str!("../../docs/templates.md");
        let section = doc
            .split("\n## The context\n")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("docs/templates.md has a section `## The context`");
        let mut out = BTreeSet::new();
        for row in section.lines().filter(|l| l.starts_with("| `")) {
            let first = row.split('|').nth(1).unwrap_or("");
            let mut parent = String::new();
            for name in first.split('`').skip(1).step_by(2) {
                let full = match name.strip_prefix('.') {
                    Some(rest) => format!("{parent}.{rest}"),
                    None => name.to_string(),
                };
                parent = full
                    .rsplit_once('.')
                    .map_or(String::new(), |(p, _)| p.to_string());
                out.insert(full);
            }
        }
        out
    }

    /// docs/templates.md is what template authors read: every name of the context is
    /// there, and every name there is one.
    #[test]
    fn every_context_field_is_documented() {
        let (doc, list) = (documented(), listed());
        let missing: Vec<_> = list.difference(&doc).collect();
        assert!(missing.is_empty(), "docs/templates.md lacks {missing:?}");
        let unknown: Vec<_> = doc.difference(&list).collect();
        assert!(
            unknown.is_empty(),
            "docs/templates.md documents {unknown:?}, which the context does not have"
        );
    }
}
