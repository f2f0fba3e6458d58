//! One planned message → its bytes: the template context, the templates, the payment
//! link, the e-mail or SMS around them.
//!
//! Templates see a documented context (`docs/templates.md`), not the internal model:
//! amounts arrive already formatted for the customer's locale (`totals.amount`) next to
//! their plain value (`totals.amount_plain`), so wording never does arithmetic.
//!
//! Every channel renders from the same [`Context`] ([`context`]), so an e-mail, an SMS, a
//! letter and a payment page of one customer quote the same amounts, link and reference;
//! what differs per channel — MIME, GSM-7, the PDF, the page — has a file each.

pub mod context;
mod email;
mod letter;
mod sms;
mod web;
pub use crate::letter::words;

use crate::campaign::Campaign;
use crate::dataset::{Channel, CustomerView};
use crate::diag::Diagnostic;
use crate::format::Formats;
use crate::payment::account::Account;
use crate::payment::link::Signer;
use crate::plan::{Planned, Rules};
use crate::segment::{Assignment, RuleSet};
use crate::sms::Sms;
use crate::templates::Templates;
use chrono::NaiveDate;
use std::collections::BTreeMap;

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
        /// Its pages as laid out, for the gallery.
        drawing: crate::letter::Drawing,
        subject: String,
        /// The address, one line.
        to: String,
        link: String,
        /// Claimed invoices whose documents are not PDFs, so not in the envelope:
        /// (invoice number, file name).
        not_printed: Vec<(String, String)>,
    },
    Web {
        token: String,
        html: String,
        link: String,
        /// The other currencies' tokens: the same page is published under each.
        aliases: Vec<String>,
    },
}

impl Rendered {
    pub fn channel(&self) -> Channel {
        match self {
            Rendered::Email { .. } => Channel::Email,
            Rendered::Sms { .. } => Channel::Sms,
            Rendered::Letter { .. } => Channel::Letter,
            Rendered::Web { .. } => Channel::Web,
        }
    }
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
    pub words: words::Words,
    /// How each destination country sets an address.
    pub addresses: crate::letter::address::Addresses,
    /// The creditor's accounts by currency code (empty: payment by link only).
    pub accounts: BTreeMap<String, Account>,
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
        let rules = Rules::new(plan, &campaign.path)?.starting_on(campaign.as_of);
        let expires = campaign.as_of + chrono::Duration::days(i64::from(links.expires_after_days));
        crate::payment::link::check_expiry(expires).map_err(|msg| {
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
        let c = &campaign.creditor;
        Ok((
            Kit {
                rules,
                signer,
                formats,
                templates,
                letters: None,
                words: words::Words::load(&campaign.templates)?,
                addresses: crate::letter::address::Addresses::load(&campaign.templates)?,
                accounts: crate::payment::account::by_currency(
                    &c.accounts,
                    c.iban.as_deref(),
                    c.bic.as_deref(),
                ),
                base_url: links.base_url.clone(),
                expires,
            },
            problems,
        ))
    }

    /// Loads the letter fonts and labels (only runs with letters pay for them).
    pub fn load_letters(&mut self, campaign: &Campaign) -> crate::diag::Result<()> {
        if self.letters.is_none() {
            let letters =
                crate::letter::Letters::load(&campaign.templates, campaign.letters.clone())?;
            letters.check_creditor(campaign)?;
            self.letters = Some(letters);
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
            words: &self.words,
            addresses: &self.addresses,
            accounts: &self.accounts,
        }
    }

    /// Currencies the plan claims that the creditor has no account for, with how many
    /// customers owe in each — empty when every debt has its account (or the campaign
    /// names no account at all: payment by link only).
    pub fn missing_accounts(&self, plan: &crate::plan::Plan) -> Vec<(String, usize)> {
        if self.accounts.is_empty() {
            return Vec::new();
        }
        let mut missing: BTreeMap<String, std::collections::BTreeSet<u32>> = BTreeMap::new();
        for m in &plan.messages {
            for (currency, _, _) in m.claims() {
                if !self.accounts.contains_key(currency.code()) {
                    missing
                        .entry(currency.code().to_string())
                        .or_default()
                        .insert(m.customer);
                }
            }
        }
        missing.into_iter().map(|(c, who)| (c, who.len())).collect()
    }
}

/// The campaign's error for currencies without an account: at `creditor:`, naming each
/// currency, how many customers owe in it and what to add.
pub fn missing_accounts_error(campaign: &Campaign, missing: &[(String, usize)]) -> Diagnostic {
    let list: Vec<String> = missing
        .iter()
        .map(|(c, n)| format!("{c} ({n} customer{})", if *n == 1 { "" } else { "s" }))
        .collect();
    Diagnostic::whole_file(
        &campaign.path,
        format!(
            "creditor.accounts has no account for {}: a debt is never paid into another currency's account (add e.g. {{currency: {}, iban: …, bic: …}} under creditor.accounts; see docs/money.md)",
            list.join(", "),
            missing[0].0
        ),
    )
}

/// The campaign's error for invoices whose `governing_law` has no law file (under
/// `interest: {law: auto}`), each named `FILE:LINE`; `None` when there are none.
pub fn unknown_laws_error(
    campaign: &Campaign,
    data: &crate::dataset::Dataset,
) -> Option<Diagnostic> {
    let interest = campaign.interest.as_ref()?;
    let (lines, count) = interest.unknown_laws(data, &data.sources.invoices, 10);
    if count == 0 {
        return None;
    }
    let mut d = Diagnostic::whole_file(
        &campaign.path,
        format!(
            "interest: {count} invoice{} name a governing law dunwell has no law file for; none of their interest could be claimed under the law the contract chose",
            if count == 1 { "" } else { "s" }
        ),
    );
    for l in lines {
        d = d.note(l);
    }
    if count > 10 {
        d = d.note(format!("… and {} more", count - 10));
    }
    Some(d)
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
    pub words: &'a words::Words,
    pub addresses: &'a crate::letter::address::Addresses,
    pub accounts: &'a BTreeMap<String, Account>,
}

impl Renderer<'_> {
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
        let ctx = self.context(m, view, a, features, m.channel.as_str())?;
        let tctx = tera::Context::from_serialize(&ctx)
            .map_err(|e| Diagnostic::whole_file("templates", e.to_string()))?;
        match m.channel {
            Channel::Email => self.email(m, view, a, ctx, &tctx, &locale),
            Channel::Sms => self.sms(m, view, a, ctx, &tctx, &locale),
            Channel::Letter => self.letter_message(m, view, a, ctx, &tctx, &locale),
            Channel::Web => self.web(m, a, ctx, tctx, &locale),
            // Calls are made by people: the plan lists them, nothing is rendered.
            Channel::Call => Err(Diagnostic::whole_file(
                "templates",
                "the call channel has no renderer",
            )),
        }
    }

    fn templates_root(&self) -> &std::path::Path {
        &self.campaign.templates
    }
}

/// An original invoice a message carries: its invoice number, its file's name (what
/// the e-mail calls the attachment) and its bytes.
pub struct Document {
    pub invoice: String,
    pub name: String,
    pub path: std::path::PathBuf,
    pub bytes: Vec<u8>,
}

/// The documents of the invoices `m` claims, every currency's, main currency first, in
/// the order the message lists them. Read now: the export was checked when it was
/// loaded, and a file gone since fails this customer's message, not the run.
fn documents(m: &Planned, view: &CustomerView<'_>) -> Result<Vec<Document>, Diagnostic> {
    let mut out = Vec::new();
    let ordered = m
        .claims()
        .flat_map(|(_, numbers, _)| oldest_first(view, numbers));
    for k in ordered {
        let inv = &view.invoices[(k - view.invoice_base) as usize];
        let Some(path) = inv.document.as_deref() else {
            continue;
        };
        let bytes = std::fs::read(path).map_err(|e| {
            Diagnostic::whole_file(
                path,
                format!(
                    "the document of invoice {} cannot be read: {e} (expected the file that was there when the export was read)",
                    crate::values::quote(&inv.id)
                ),
            )
            .customer(crate::diag::Unmade::Document)
        })?;
        out.push(Document {
            invoice: inv.id.to_string(),
            name: path
                .file_name()
                .map_or_else(|| "document".into(), |n| n.to_string_lossy().into_owned()),
            path: path.to_path_buf(),
            bytes,
        });
    }
    Ok(out)
}

/// A currency's invoices in the order the letter's table lists them: oldest due date
/// first, then the older invoice, then the export's order.
fn oldest_first(view: &CustomerView<'_>, numbers: &[u32]) -> Vec<u32> {
    let mut out = numbers.to_vec();
    out.sort_by_key(|&k| {
        let inv = &view.invoices[(k - view.invoice_base) as usize];
        (inv.due_date, inv.issue_date, k)
    });
    out
}

/// A customer id as a file name (ids are already checked to hold no separators).
pub fn letter_file_name(customer_id: &str) -> String {
    format!("{customer_id}-letter")
}
