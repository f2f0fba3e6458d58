//! One planned message → its bytes: the template context, the templates, the payment
//! link, the e-mail or SMS around them.
//!
//! Templates see a documented context (`docs/templates.md`), not the internal model:
//! amounts arrive already formatted for the customer's locale (`totals.amount`) next to
//! their plain value (`totals.amount_plain`), so wording never does arithmetic.

use crate::campaign::Campaign;
use crate::dataset::{CustomerView, Field};
use crate::diag::{Diagnostic, Unmade};
use crate::email::{self, Envelope, Parts};
use crate::features::feature;
use crate::format::{DateLength, Formats};
use crate::link::{Claims, Signer};
use crate::plan::{Planned, Rules};
use crate::segment::{Assignment, RuleSet};
use crate::sms::{self, Sms};
use crate::templates::Templates;
use chrono::NaiveDate;
use rust_decimal::Decimal;
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

/// A rendered message, with the payment link it carries (the short form for SMS).
#[derive(Debug, Clone)]
pub enum Rendered {
    Email {
        bytes: Vec<u8>,
        message_id: String,
        subject: String,
        to: String,
        link: String,
        /// The plain-text part, before MIME encoding (for `check`).
        text: String,
        /// The HTML part as sent (CSS inlined), before MIME encoding (for `preview`).
        html: String,
    },
    Sms {
        to: String,
        link: String,
        text: String,
        info: Sms,
    },
    Letter {
        bytes: Vec<u8>,
        pages: usize,
        /// Its objects, for print.pdf.
        objects: Box<lopdf::Document>,
        subject: String,
        /// The address, one line.
        to: String,
        link: String,
    },
    Web {
        token: String,
        html: String,
        link: String,
    },
}

/// What rendering a campaign needs, loaded once: the plan rules, the link signer, the
/// locale formats, the templates, and the letter fonts when the run has letters. `run`
/// builds one (and `cargo bench`; `check` and `preview` will).
pub struct Kit {
    pub rules: Rules,
    pub signer: Signer,
    pub formats: std::sync::Arc<Formats>,
    pub templates: Templates,
    pub letters: Option<crate::letter::Letters>,
    base_url: String,
    expires: NaiveDate,
}

impl Kit {
    /// Checks the campaign has what rendering needs and loads it (templates are parsed
    /// and checked here).
    pub fn load(campaign: &Campaign, signer: Signer) -> crate::diag::Result<Kit> {
        let (kit, problems) = Self::load_lenient(campaign, signer)?;
        if problems.is_empty() {
            Ok(kit)
        } else {
            Err(crate::diag::Error::Config(problems))
        }
    }

    /// Like `load`, with templates that have syntax errors left out and their problems
    /// returned (for `check`, which reports everything at once).
    pub fn load_lenient(
        campaign: &Campaign,
        signer: Signer,
    ) -> crate::diag::Result<(Kit, Vec<Diagnostic>)> {
        use crate::diag::Error;
        let plan = campaign.plan.as_ref().ok_or_else(|| {
            Error::Config(vec![Diagnostic::whole_file(
                &campaign.path,
                "`run` needs `stages`, `matrix` and `policy` (see docs/plan.md)",
            )])
        })?;
        let links = campaign.links.as_ref().ok_or_else(|| {
            Error::Config(vec![Diagnostic::whole_file(
                &campaign.path,
                "`run` needs `links: {base_url: …}` for payment links (see docs/links.md)",
            )])
        })?;
        let rules = Rules::new(plan, &campaign.path)?;
        let expires = campaign.as_of + chrono::Duration::days(i64::from(links.expires_after_days));
        crate::link::check_expiry(expires).map_err(|msg| {
            Error::Config(vec![Diagnostic::whole_file(
                &campaign.path,
                format!(
                    "links.expires_after_days: {} days after as_of {}: {msg}",
                    links.expires_after_days, campaign.as_of
                ),
            )])
        })?;
        let formats = std::sync::Arc::new(Formats::new(
            campaign.locales.supported.iter().map(String::as_str),
        ));
        let (mut templates, problems) =
            Templates::load_lenient(&campaign.templates, formats.clone())?;
        templates.set_limits(campaign.limits.templates());
        Ok((
            Kit {
                rules,
                signer,
                formats,
                templates,
                letters: None,
                base_url: links.base_url.clone(),
                expires,
            },
            problems,
        ))
    }

    /// Loads the letter fonts and labels (only runs with letters pay for them).
    pub fn load_letters(&mut self, campaign: &Campaign) -> crate::diag::Result<()> {
        if self.letters.is_none() {
            self.letters = Some(crate::letter::Letters::load(
                &campaign.templates,
                campaign.letters.clone(),
            )?);
        }
        Ok(())
    }

    pub fn renderer<'a>(
        &'a self,
        campaign: &'a Campaign,
        segment_rules: &'a RuleSet,
    ) -> Renderer<'a> {
        Renderer {
            campaign,
            templates: &self.templates,
            formats: &self.formats,
            signer: &self.signer,
            rules: &self.rules,
            segment_rules,
            base_url: &self.base_url,
            expires: self.expires,
            letters: self.letters.as_ref(),
        }
    }
}

/// What rendering needs, built once per run and shared by every thread.
pub struct Renderer<'a> {
    pub campaign: &'a Campaign,
    pub templates: &'a Templates,
    pub formats: &'a Formats,
    pub signer: &'a Signer,
    pub rules: &'a Rules,
    pub segment_rules: &'a RuleSet,
    pub base_url: &'a str,
    pub expires: NaiveDate,
    /// Fonts and labels, when the run has letters (or e-mails that carry one).
    pub letters: Option<&'a crate::letter::Letters>,
}

impl Renderer<'_> {
    /// The locale a customer is written to in: theirs if templates exist for it, else
    /// the campaign's default.
    fn locale<'v>(&'v self, view: &CustomerView<'v>) -> &'v str {
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
        .map_err(|msg| Diagnostic::whole_file(&self.campaign.path, msg).customer(Unmade::Token))?;
        let token = self.signer.sign(&claims);
        let pay_by = as_of + chrono::Duration::days(14);
        let link = crate::link::url(
            self.base_url,
            &token,
            &self.campaign.name,
            channel,
            a.cluster.as_str(),
        );
        let creditor = &self.campaign.creditor;
        let reference = crate::letter::qr::Reference::for_customer(c.id());
        let epc = match (m.currency.code(), creditor.iban.as_deref()) {
            ("EUR", Some(iban)) => crate::letter::qr::epc_payload(
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
                short_link: crate::link::short_url(self.base_url, &self.signer.short(&claims)),
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

    /// The template a cell names (`matrix: … template:`), else the stage's name.
    fn stage_template<'m>(&'m self, m: &'m Planned) -> &'m str {
        m.template
            .as_deref()
            .unwrap_or(self.rules.stage_name(m.stage))
    }

    fn template(
        &self,
        channel: &str,
        a: &Assignment,
        m: &Planned,
        locale: &str,
        ext: &str,
    ) -> Result<&str, Diagnostic> {
        let stage = self.stage_template(m);
        self.templates.resolve(channel, a.cluster.as_str(), stage, locale, &self.campaign.locales.default, ext).ok_or_else(|| {
            Diagnostic::whole_file(
                "templates",
                format!("no template for {channel} / {} / {stage} / {locale} (expected templates/{channel}/{}/{stage}.{locale}.{ext} or a fallback)", a.cluster, a.cluster),
            )
        })
    }

    pub fn render(
        &self,
        m: &Planned,
        view: &CustomerView<'_>,
        a: &Assignment,
        features: &crate::features::Features,
    ) -> Result<Rendered, Diagnostic> {
        let locale = self.locale(view).to_string();
        let channel = m.channel.as_str();
        let ctx = self.context(m, view, a, features, channel)?;
        let tctx = tera::Context::from_serialize(&ctx)
            .map_err(|e| Diagnostic::whole_file("templates", e.to_string()))?;
        match channel {
            "email" => {
                let name = self.template("email", a, m, &locale, "txt")?;
                let full = self.templates.render(name, &tctx)?;
                let (subject, text) = split_subject(&full).ok_or_else(|| {
                    Diagnostic::error(name, 1, 1, "the first line is the subject, then a blank line, then the body (expected `Subject`, ``, `Dear …`)")
                })?;
                let html = match self.templates.resolve(
                    "email",
                    a.cluster.as_str(),
                    self.stage_template(m),
                    &locale,
                    &self.campaign.locales.default,
                    "html",
                ) {
                    Some(h) => self.templates.render(h, &tctx)?,
                    None => {
                        let mut with_body = tctx.clone();
                        with_body.insert("subject", &subject);
                        with_body.insert(
                            "paragraphs",
                            &text
                                .split("\n\n")
                                .map(str::trim)
                                .filter(|p| !p.is_empty())
                                .collect::<Vec<_>>(),
                        );
                        self.templates.render("email/layout.html", &with_body)?
                    }
                };
                let creditor = &self.campaign.creditor;
                let from = creditor
                    .email
                    .as_deref()
                    .unwrap_or("noreply@dunwell.invalid");
                let env = Envelope {
                    from_name: &creditor.name,
                    from_address: from,
                    reply_to: creditor.reply_to.as_deref(),
                    to_name: view.customer.name(),
                    to_address: view.customer.email().unwrap_or(""),
                };
                let attachment = if m.attach_letter {
                    let (composed, _) = self.letter(m, view, a, &ctx, &tctx, &locale)?;
                    Some((
                        format!("{}.pdf", letter_file_name(view.customer.id())),
                        composed.bytes,
                    ))
                } else {
                    None
                };
                let parts = Parts {
                    subject,
                    text,
                    html,
                    attachment,
                };
                let (bytes, message_id) = email::build(&env, &parts, &m.scheduled_at)
                    .map_err(|e| Diagnostic::whole_file("email", e).customer(Unmade::Email))?;
                let Parts {
                    subject,
                    text,
                    html,
                    ..
                } = parts;
                Ok(Rendered::Email {
                    bytes,
                    message_id,
                    text,
                    html,
                    subject,
                    to: view.customer.email().unwrap_or("").to_string(),
                    link: ctx.payment.link,
                })
            }
            "sms" => {
                let name = self.template("sms", a, m, &locale, "txt")?;
                let mut text = self
                    .templates
                    .render(name, &tctx)?
                    .replace("\r\n", "\n")
                    .trim()
                    .to_string();
                let lang = locale.split(['-', '_']).next().unwrap_or("");
                if self
                    .campaign
                    .sms
                    .transliterate
                    .iter()
                    .any(|l| l == lang || *l == locale)
                {
                    text = sms::transliterate(&text);
                }
                let info = sms::analyse(&text);
                Ok(Rendered::Sms {
                    to: view.customer.phone().unwrap_or("").to_string(),
                    link: ctx.payment.short_link,
                    text,
                    info,
                })
            }
            "letter" => {
                let (composed, subject) = self.letter(m, view, a, &ctx, &tctx, &locale)?;
                Ok(Rendered::Letter {
                    bytes: composed.bytes,
                    pages: composed.pages,
                    objects: Box::new(composed.objects),
                    subject,
                    to: ctx.customer.address.join(", "),
                    link: ctx.payment.link,
                })
            }
            "web" => {
                let name = self.template("web", a, m, &locale, "html")?;
                let html = crate::web::page(self.templates, name, tctx, &ctx.payment.qr)?;
                Ok(Rendered::Web {
                    token: ctx.payment.token,
                    html,
                    link: ctx.payment.link,
                })
            }
            other => Err(Diagnostic::whole_file(
                "templates",
                format!("the {other} channel has no renderer"),
            )),
        }
    }

    /// The letter: its Markdown body rendered, laid out with the invoice table and the
    /// payment slip, written as a PDF. Returns it with its subject (the first heading).
    fn letter(
        &self,
        m: &Planned,
        view: &CustomerView<'_>,
        a: &Assignment,
        ctx: &Context<'_>,
        tctx: &tera::Context,
        locale: &str,
    ) -> Result<(crate::letter::Composed, String), Diagnostic> {
        use crate::letter::layout::Table;
        let letters = self.letters.ok_or_else(|| {
            Diagnostic::whole_file(
                "templates/fonts",
                "letters need the fonts in templates/fonts/",
            )
        })?;
        let name = self.template("letter", a, m, locale, "md")?;
        let markdown = self.templates.render(name, tctx)?;
        let subject = markdown
            .lines()
            .find_map(|l| l.trim().strip_prefix('#'))
            .map(|h| h.trim_start_matches('#').trim().replace('\\', ""))
            .unwrap_or_default();
        let labels = letters.labels(locale);
        let short = |d| self.formats.date(d, DateLength::Short, locale);
        let money = |d| self.formats.money(d, m.currency, locale);
        let (mut amount, mut paid, mut open) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let rows = m
            .invoices
            .iter()
            .map(|&k| {
                let inv = &view.invoices[(k - view.invoice_base) as usize];
                let o = inv.open_amount();
                amount += inv.amount;
                paid += inv.amount - o;
                open += o;
                vec![
                    inv.id.to_string(),
                    short(inv.issue_date),
                    short(inv.due_date),
                    (self.campaign.as_of - inv.due_date).num_days().to_string(),
                    money(inv.amount),
                    money(inv.amount - o),
                    money(o),
                ]
            })
            .collect();
        let table = Table {
            header: [
                &labels.invoice,
                &labels.issued,
                &labels.due,
                &labels.days,
                &labels.amount,
                &labels.paid,
                &labels.open,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows,
            total: vec![
                labels.total.clone(),
                String::new(),
                String::new(),
                String::new(),
                money(amount),
                money(paid),
                money(open),
            ],
            widths: vec![2.2, 1.4, 1.4, 1.15, 1.75, 1.45, 1.75],
            first_number: 3,
        };
        let p = &ctx.payment;
        let id = format!("{}-letter", view.customer.id());
        let recipient: Vec<&str> = std::iter::once(ctx.customer.name)
            .chain(ctx.customer.address.iter().copied())
            .collect();
        let letter = crate::letter::Letter {
            id: &id,
            locale,
            markdown: &markdown,
            creditor: &self.campaign.creditor,
            recipient,
            customer_id: view.customer.id(),
            date: ctx.campaign.as_of.clone(),
            date_unix: self
                .campaign
                .as_of
                .and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp()),
            table,
            slip: crate::letter::Slip {
                beneficiary: self.campaign.creditor.name.clone(),
                iban: p.iban.clone(),
                bic: p.bic.clone(),
                amount: ctx.totals.amount.clone(),
                pay_by: ctx.pay_by.clone(),
                reference: p.reference.clone(),
                qr: p.qr.clone(),
                epc: p.qr_is_epc,
            },
            title: subject.clone(),
        };
        let composed = letters.compose(&letter).map_err(|e| {
            Diagnostic::whole_file(self.templates_root().join(name), e.to_string())
                .customer(e.unmade())
        })?;
        Ok((composed, subject))
    }

    fn templates_root(&self) -> &std::path::Path {
        &self.campaign.templates
    }
}

/// A customer id as a file name (ids are already checked to hold no separators).
pub fn letter_file_name(customer_id: &str) -> String {
    format!("{customer_id}-letter")
}

/// `Subject\n\nBody…` → (subject, body).
fn split_subject(full: &str) -> Option<(String, String)> {
    let full = full.trim_start_matches(['\n', '\r']);
    let (first, rest) = full.split_once('\n')?;
    let subject = first.trim().to_string();
    let body = rest.trim_start_matches(['\r', '\n']).trim_end().to_string();
    (!subject.is_empty() && !body.is_empty()).then_some((subject, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_then_body() {
        assert_eq!(
            split_subject("\nHello\n\nDear A,\n\nPay.\n"),
            Some(("Hello".into(), "Dear A,\n\nPay.".into()))
        );
        assert_eq!(split_subject("Only a subject"), None);
    }
}
