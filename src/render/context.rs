//! The template context: what every channel's templates see, built once per message.
//!
//! [`FIELDS`] is the one list of its names: docs/templates.md documents each (a test
//! holds the list to the document and to [`Context`] itself), and `check` suggests from
//! it when a template misspells one.

use super::Renderer;
use crate::dataset::CustomerView;
use crate::diag::Diagnostic;
use crate::features::feature;
use crate::format::DateLength;
use crate::payment::link::Claims;
use crate::plan::Planned;
use crate::segment::Assignment;
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
    /// Address lines as the destination's post wants them, without the name.
    pub address: Vec<String>,
    pub language: &'a str,
    /// Columns of the export dunwell does not know.
    pub extra: BTreeMap<&'a str, &'a str>,
}

#[derive(Clone, Serialize)]
pub struct InvoiceCtx<'a> {
    pub id: &'a str,
    /// ISO 4217: a message may claim debts in several currencies.
    pub currency: &'static str,
    /// Long dates in the customer's language; `*_iso` are `2026-12-04` for the `date` filter.
    pub issue_date: String,
    pub due_date: String,
    pub due_iso: String,
    pub days_past_due: i64,
    /// Formatted for the customer's locale; `*_plain` are `1234.50`.
    pub amount: String,
    pub open: String,
    pub open_plain: String,
    /// Statutory interest to `as_of` and the fixed compensation claimed on it (docs/
    /// money.md), formatted and as `1234.50`; empty when none is claimed.
    pub interest: String,
    pub interest_plain: String,
    pub compensation: String,
    pub compensation_plain: String,
}

#[derive(Serialize)]
pub struct Totals {
    /// Every currency's total, as a list in the customer's language: `€120.00 and
    /// PLN 300.00` (amounts in different currencies are never added).
    pub amount: String,
    /// The main currency's total (`amount_plain`, `currency` are the main currency's).
    pub main: String,
    pub amount_plain: String,
    pub currency: &'static str,
    /// How many other currencies the message claims.
    pub more: usize,
    /// The interest and compensation claimed, each currency's as a list (empty when
    /// none), the invoices' open amounts without them, and a sentence saying what is
    /// claimed in the customer's language (`templates/words.yaml`), empty when nothing is.
    pub interest: String,
    pub compensation: String,
    pub open: String,
    pub interest_line: String,
    /// The shortest form, for SMS: the main total and, with more currencies, how many
    /// more (`€120.00 (+1 other currency)`).
    pub short: String,
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

/// One line of a bank account as its payers read it: `IBAN` `NL91 ABNA 0417 1643 00`.
#[derive(Clone, Serialize)]
pub struct AccountLine {
    pub label: String,
    pub value: String,
}

#[derive(Clone, Serialize)]
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
    /// The account this currency is paid into, when the campaign has one: its IBAN and
    /// BIC, and every line of it as its payers read it (sort code, zengin, …).
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub account: Vec<AccountLine>,
    /// What the QR code holds: the EPC (SEPA credit transfer) payload for euro debts
    /// to a SEPA IBAN, the payment link otherwise.
    pub qr: String,
    pub qr_is_epc: bool,
}

/// A message's debts in one currency: its invoices, its total, its own payment link and
/// account.
#[derive(Serialize)]
pub struct Group<'a> {
    pub currency: &'static str,
    pub amount: String,
    pub amount_plain: String,
    /// Interest and compensation on its invoices (empty when none), and the invoices'
    /// open amounts without them (`amount` is all it asks for).
    pub interest: String,
    pub interest_plain: String,
    pub compensation: String,
    pub compensation_plain: String,
    pub open: String,
    pub open_plain: String,
    /// The interest and compensation as numbers, for the letter's table.
    #[serde(skip)]
    pub extra: (Decimal, Decimal),
    /// What its link and QR code ask for, formatted: `amount` without the interest and
    /// compensation unless `interest.include_in_links` (the slip's amount).
    pub payable: String,
    pub count: usize,
    pub invoices: Vec<InvoiceCtx<'a>>,
    pub payment: Payment,
    pub instalments: Vec<Instalment>,
}

/// One instalment of the payment plan offered (to `unable` customers by the default
/// templates): the instalments sum exactly to the debt.
#[derive(Clone, Serialize)]
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
    /// Every invoice claimed, grouped by currency, the main currency first.
    pub invoices: Vec<InvoiceCtx<'a>>,
    pub totals: Totals,
    /// The claim per currency, the main currency first; one group for most customers.
    pub groups: Vec<Group<'a>>,
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
    /// The customer's locale (with their country as its region: `en-GB`) and the
    /// message's main currency, read by the `money`, `date` and `plural` filters.
    pub locale: std::borrow::Cow<'a, str>,
    pub currency: &'static str,
}

impl Renderer<'_> {
    /// The locale a customer is written to in: theirs if templates exist for it, else
    /// the campaign's default.
    pub(super) fn locale<'v>(&'v self, view: &CustomerView<'v>) -> std::borrow::Cow<'v, str> {
        self.campaign.locales.pick_for(
            view.customer.language(),
            view.customer.get(crate::dataset::Field::Country),
        )
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
        let locale_tag = self.locale(view);
        let locale: &str = &locale_tag;
        let as_of = self.campaign.as_of;
        let date = |d| self.formats.date(d, DateLength::Long, locale);
        let rule = &self.segment_rules.rules[a.rule];
        let pay_by = as_of + chrono::Duration::days(14);
        let creditor = &self.campaign.creditor;
        let reference = crate::payment::reference::Reference::for_customer(c.id());
        let words = self.words.get(locale);
        let mut groups: Vec<Group> = Vec::new();
        for (currency, numbers, amount) in m.claims() {
            let money = |d| self.formats.money(d, currency, locale);
            let plain = |d| crate::money::plain(d, currency);
            // Interest and compensation per invoice (both zero unless claimed).
            let mut extra = (Decimal::ZERO, Decimal::ZERO);
            let mut owed = Vec::with_capacity(numbers.len());
            for &k in numbers {
                let inv = &view.invoices[(k - view.invoice_base) as usize];
                let (i, comp) = self.interest_on(view, k, inv)?;
                extra.0 += i;
                extra.1 += comp;
                owed.push((i, comp));
            }
            let shown = |d: Decimal| if d.is_zero() { String::new() } else { money(d) };
            let shown_plain = |d: Decimal| if d.is_zero() { String::new() } else { plain(d) };
            let invoices: Vec<InvoiceCtx> = numbers
                .iter()
                .zip(&owed)
                .map(|(&k, &(interest, compensation))| {
                    let inv = &view.invoices[(k - view.invoice_base) as usize];
                    InvoiceCtx {
                        interest: shown(interest),
                        interest_plain: shown_plain(interest),
                        compensation: shown(compensation),
                        compensation_plain: shown_plain(compensation),
                        id: &inv.id,
                        currency: currency.code(),
                        issue_date: date(inv.issue_date),
                        due_date: date(inv.due_date),
                        due_iso: inv.due_date.to_string(),
                        days_past_due: (as_of - inv.due_date).num_days(),
                        amount: money(inv.amount),
                        open: money(inv.open_amount()),
                        open_plain: crate::money::plain(inv.open_amount(), currency),
                    }
                })
                .collect();
            let due = amount + extra.0 + extra.1;
            // What the link and the QR code ask for: the interest only when the campaign
            // says so (`interest.include_in_links`).
            let payable = match &self.campaign.interest {
                Some(i) if i.config.include_in_links => due,
                _ => amount,
            };
            let claims = Claims::new(&self.campaign.name, c.id(), payable, currency, self.expires)
                .map_err(|msg| {
                    Diagnostic::whole_file(&self.campaign.path, msg)
                        .customer(crate::diag::Unmade::Token)
                })?;
            let token = self.signer.sign(&claims);
            let link = crate::payment::link::url(
                self.base_url,
                &token,
                &self.campaign.name,
                channel,
                a.cluster.as_str(),
            );
            let account = match self.accounts.get(currency.code()) {
                Some(acc) => Some(acc),
                None if self.accounts.is_empty() => None,
                None => {
                    return Err(Diagnostic::whole_file(
                        &self.campaign.path,
                        format!(
                            "creditor.accounts has no {} account, and this message claims {} (add {{currency: {}, iban: …}}: a debt is never paid into another currency's account)",
                            currency.code(),
                            money(amount),
                            currency.code()
                        ),
                    )
                    .customer(crate::diag::Unmade::Token));
                }
            };
            let epc = match account {
                Some(acc) if acc.sepa() => crate::payment::qr::epc_payload(
                    &creditor.name,
                    &acc.iban_compact().unwrap_or_default(),
                    acc.bic.as_deref(),
                    payable,
                    &reference,
                ),
                _ => None,
            };
            let instalments = crate::money::split(due, currency, 3)
                .into_iter()
                .enumerate()
                .map(|(k, part)| {
                    let due = pay_by
                        .checked_add_months(chrono::Months::new(k as u32))
                        .unwrap_or(pay_by);
                    Instalment {
                        number: k + 1,
                        due: date(due),
                        due_iso: due.to_string(),
                        amount: money(part),
                        amount_plain: crate::money::plain(part, currency),
                    }
                })
                .collect();
            groups.push(Group {
                currency: currency.code(),
                amount: money(due),
                amount_plain: plain(due),
                interest: shown(extra.0),
                interest_plain: shown_plain(extra.0),
                compensation: shown(extra.1),
                compensation_plain: shown_plain(extra.1),
                open: money(amount),
                open_plain: plain(amount),
                extra,
                payable: money(payable),
                count: invoices.len(),
                invoices,
                payment: Payment {
                    short_link: crate::payment::link::short_url(
                        self.base_url,
                        &self.signer.short(&claims),
                    ),
                    expires: date(self.expires),
                    card_link: format!("{}/{token}/card", self.base_url.trim_end_matches('/')),
                    reference: reference.as_str().to_string(),
                    iban: account.and_then(|acc| {
                        acc.iban_compact()
                            .map(|i| crate::payment::account::fours(&i))
                    }),
                    bic: account.and_then(|acc| acc.bic.clone()),
                    account: account
                        .map(|acc| {
                            acc.lines()
                                .into_iter()
                                .map(|(label, value)| AccountLine {
                                    label: words.label(label).to_string(),
                                    value,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    qr_is_epc: epc.is_some(),
                    qr: epc.unwrap_or_else(|| link.clone()),
                    link,
                    token,
                },
                instalments,
            });
        }
        let invoices: Vec<InvoiceCtx> = groups
            .iter()
            .flat_map(|g| g.invoices.iter().cloned())
            .collect();
        let main = &groups[0];
        let list = |f: &dyn Fn(&Group) -> String| {
            let items: Vec<String> = groups.iter().map(f).filter(|s| !s.is_empty()).collect();
            self.formats
                .and_list(items.iter().map(String::as_str), locale)
        };
        let more = groups.len() - 1;
        let address: Vec<String> = self
            .addresses
            .recipient(c, self.campaign.creditor.country.as_deref())
            .address()
            .map(str::to_string)
            .collect();
        Ok(Context {
            customer: CustomerCtx {
                id: c.id(),
                name: c.name(),
                kind: c.kind.map_or("", |k| k.as_str()),
                email: c.email().unwrap_or(""),
                phone: c.phone().unwrap_or(""),
                address,
                language: self.campaign.locales.pick(c.language()),
                extra: c.extras().collect(),
            },
            totals: Totals {
                amount: self
                    .formats
                    .and_list(groups.iter().map(|g| g.amount.as_str()), locale),
                main: main.amount.clone(),
                interest: list(&|g: &Group| g.interest.clone()),
                compensation: list(&|g: &Group| g.compensation.clone()),
                open: list(&|g: &Group| g.open.clone()),
                interest_line: self.interest_line(&groups, words, &date(as_of), locale),
                amount_plain: main.amount_plain.clone(),
                currency: main.currency,
                more,
                short: if more == 0 {
                    main.amount.clone()
                } else {
                    let n = rust_decimal::Decimal::from(more);
                    format!(
                        "{} {}",
                        main.amount,
                        words.more(self.formats.plural(n, locale), more)
                    )
                },
                count: invoices.len(),
                oldest_days_past_due: invoices.iter().map(|i| i.days_past_due).max().unwrap_or(0),
                first_due: m
                    .all_invoices()
                    .map(|k| view.invoices[(k - view.invoice_base) as usize].due_date)
                    .min()
                    .map(date)
                    .unwrap_or_default(),
            },
            payment: main.payment.clone(),
            instalments: main.instalments.clone(),
            currency: main.currency,
            invoices,
            groups,
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
            creditor: &self.campaign.creditor,
            campaign: CampaignCtx {
                name: &self.campaign.name,
                as_of: date(as_of),
            },
            pay_by: date(pay_by),
            pay_by_iso: pay_by.to_string(),
            plan_offer: a.cluster == crate::segment::Cluster::Unable,
            locale: locale_tag.clone(),
        })
    }
}

impl Renderer<'_> {
    /// Statutory interest and compensation claimed on one invoice, in its currency: both
    /// zero when the campaign claims none or the law gives none (the reason is the
    /// engine's). A gap in the law data (a day no rate table covers) stops the message
    /// with the file and what to add.
    fn interest_on(
        &self,
        view: &CustomerView<'_>,
        k: u32,
        inv: &crate::dataset::Invoice,
    ) -> Result<(Decimal, Decimal), Diagnostic> {
        let Some(cfg) = &self.campaign.interest else {
            return Ok((Decimal::ZERO, Decimal::ZERO));
        };
        cfg.claimed(self.campaign.as_of, view, k, inv, cfg.demand_letter(inv))
            .map_err(|gap| {
                Diagnostic::whole_file(&self.campaign.path, format!("interest: {gap}"))
                    .customer(crate::diag::Unmade::Token)
            })
    }

    /// "Statutory late-payment interest to 20 November 2026: €12.34. Fixed compensation
    /// for recovery costs: €40.00." in the customer's words — or nothing when nothing is
    /// claimed.
    fn interest_line(
        &self,
        groups: &[Group],
        words: &super::words::Language,
        as_of: &str,
        locale: &str,
    ) -> String {
        let list = |f: &dyn Fn(&Group) -> String| -> String {
            let items: Vec<String> = groups.iter().map(f).filter(|s| !s.is_empty()).collect();
            if items.is_empty() {
                String::new()
            } else {
                self.formats
                    .and_list(items.iter().map(String::as_str), locale)
            }
        };
        let (interest, comp) = (
            list(&|g| g.interest.clone()),
            list(&|g| g.compensation.clone()),
        );
        let mut out = Vec::new();
        if !interest.is_empty() {
            out.push(
                words
                    .interest_sentence
                    .replace("{date}", as_of)
                    .replace("{amount}", &interest),
            );
        }
        if !comp.is_empty() {
            out.push(words.compensation_sentence.replace("{amount}", &comp));
        }
        // Japanese and Chinese sentences follow each other without a space.
        let lang = locale.split(['-', '_']).next().unwrap_or(locale);
        out.join(if matches!(lang, "ja" | "zh") { "" } else { " " })
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
    (
        "invoices",
        "every invoice this message covers, by currency (the main one first), oldest first",
    ),
    ("invoices[i].id", "the invoice number"),
    ("invoices[i].currency", "its ISO 4217 code"),
    ("invoices[i].issue_date", "long date"),
    ("invoices[i].due_date", "long date"),
    ("invoices[i].due_iso", "the due date as YYYY-MM-DD"),
    ("invoices[i].days_past_due", "negative before the due date"),
    ("invoices[i].amount", "formatted"),
    ("invoices[i].open", "what is still open, formatted"),
    ("invoices[i].open_plain", "what is still open, as 1234.50"),
    (
        "invoices[i].interest",
        "statutory interest claimed on it to `as_of`, formatted; empty when none",
    ),
    ("invoices[i].interest_plain", "as 1234.50; empty when none"),
    (
        "invoices[i].compensation",
        "the fixed compensation claimed on it, formatted; empty when none",
    ),
    (
        "invoices[i].compensation_plain",
        "as 1234.50; empty when none",
    ),
    (
        "totals.amount",
        "what the message asks for, formatted: each currency's total (with interest and compensation when claimed), as a list",
    ),
    ("totals.main", "the main currency's total, formatted"),
    (
        "totals.amount_plain",
        "the main currency's total, as 1234.50",
    ),
    ("totals.currency", "the main currency's ISO 4217 code"),
    (
        "totals.more",
        "how many other currencies the message claims",
    ),
    (
        "totals.short",
        "for SMS: the main total, and how many more currencies",
    ),
    ("totals.count", "invoices, in every currency"),
    (
        "totals.interest",
        "the interest claimed, each currency's, as a list; empty when none",
    ),
    (
        "totals.compensation",
        "the compensation claimed, as a list; empty when none",
    ),
    (
        "totals.open",
        "the invoices' open amounts without interest and compensation, as a list",
    ),
    (
        "totals.interest_line",
        "a sentence stating the interest and compensation claimed; empty when none",
    ),
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
    (
        "payment.iban",
        "the account this currency is paid into, in groups of four",
    ),
    ("payment.bic", "that account's BIC"),
    (
        "payment.account",
        "that account's lines as its payers read them",
    ),
    (
        "payment.account[i].label",
        "`IBAN`, `Sort code`, … in the customer's language",
    ),
    (
        "payment.account[i].value",
        "`NL91 ABNA 0417 1643 00`, `20-00-00`, …",
    ),
    (
        "payment.qr",
        "what the QR code holds: the EPC payload or the link",
    ),
    ("payment.qr_is_epc", "whether it is the EPC payload"),
    ("creditor.name", "from the campaign file"),
    (
        "creditor.short_name",
        "from the campaign file (at most 11 characters, for SMS); the name when not given",
    ),
    ("creditor.address", "from the campaign file"),
    ("creditor.email", "from the campaign file"),
    ("creditor.reply_to", "from the campaign file"),
    ("creditor.phone", "from the campaign file"),
    ("creditor.website", "from the campaign file"),
    ("creditor.iban", "from the campaign file"),
    ("creditor.bic", "from the campaign file"),
    ("creditor.accounts", "from the campaign file"),
    ("creditor.vat_id", "from the campaign file"),
    ("creditor.country", "from the campaign file"),
    (
        "creditor.sme",
        "from the campaign file: true for a small or medium-sized creditor",
    ),
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
    (
        "groups",
        "the claim per currency, the main one first; each has what the top level has for the main currency",
    ),
    ("groups[i].currency", "ISO 4217 code"),
    ("groups[i].amount", "its total, formatted"),
    ("groups[i].amount_plain", "as 1234.50"),
    (
        "groups[i].payable",
        "what its link and QR code ask for, formatted (without interest unless include_in_links)",
    ),
    (
        "groups[i].interest",
        "its interest, formatted; empty when none",
    ),
    ("groups[i].interest_plain", "as 1234.50; empty when none"),
    (
        "groups[i].compensation",
        "its compensation, formatted; empty when none",
    ),
    (
        "groups[i].compensation_plain",
        "as 1234.50; empty when none",
    ),
    (
        "groups[i].open",
        "its invoices' open amounts, without interest and compensation",
    ),
    ("groups[i].open_plain", "as 1234.50"),
    ("groups[i].count", "its invoices"),
    ("groups[i].invoices", "as `invoices`"),
    ("groups[i].invoices[i].id", "as in `invoices`"),
    ("groups[i].invoices[i].currency", "as in `invoices`"),
    ("groups[i].invoices[i].issue_date", "as in `invoices`"),
    ("groups[i].invoices[i].due_date", "as in `invoices`"),
    ("groups[i].invoices[i].due_iso", "as in `invoices`"),
    ("groups[i].invoices[i].days_past_due", "as in `invoices`"),
    ("groups[i].invoices[i].amount", "as in `invoices`"),
    ("groups[i].invoices[i].open", "as in `invoices`"),
    ("groups[i].invoices[i].open_plain", "as in `invoices`"),
    ("groups[i].invoices[i].interest", "as in `invoices`"),
    ("groups[i].invoices[i].interest_plain", "as in `invoices`"),
    ("groups[i].invoices[i].compensation", "as in `invoices`"),
    (
        "groups[i].invoices[i].compensation_plain",
        "as in `invoices`",
    ),
    (
        "groups[i].payment.link",
        "as `payment.link`, for this currency: its own link (and account below)",
    ),
    ("groups[i].payment.short_link", "as in `payment`"),
    ("groups[i].payment.expires", "as in `payment`"),
    ("groups[i].payment.token", "as in `payment`"),
    ("groups[i].payment.card_link", "as in `payment`"),
    ("groups[i].payment.reference", "as in `payment`"),
    ("groups[i].payment.iban", "as in `payment`"),
    ("groups[i].payment.bic", "as in `payment`"),
    ("groups[i].payment.account", "as in `payment`"),
    ("groups[i].payment.account[i].label", "as in `payment`"),
    ("groups[i].payment.account[i].value", "as in `payment`"),
    ("groups[i].payment.qr", "as in `payment`"),
    ("groups[i].payment.qr_is_epc", "as in `payment`"),
    (
        "groups[i].instalments",
        "as `instalments`, in this currency",
    ),
    ("groups[i].instalments[i].number", "as in `instalments`"),
    ("groups[i].instalments[i].due", "as in `instalments`"),
    ("groups[i].instalments[i].due_iso", "as in `instalments`"),
    ("groups[i].instalments[i].amount", "as in `instalments`"),
    (
        "groups[i].instalments[i].amount_plain",
        "as in `instalments`",
    ),
    ("locale", "read by the filters"),
    ("currency", "read by the filters"),
    (
        "invoice_table",
        "only in letters: a function, the invoice table",
    ),
    ("qr_svg", "only on payment pages: the QR code as inline SVG"),
    (
        "qr_svgs",
        "only on payment pages: each group's QR code, in the order of `groups`",
    ),
    (
        "subject",
        "only in email/layout.html: the text template's subject",
    ),
    (
        "paragraphs",
        "only in email/layout.html: the text template's paragraphs",
    ),
    (
        "blocks",
        "only in email/layout.html: the paragraphs with their kind (text, invoices, links, list, steps) and list items",
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
    const ADDED: [&str; 6] = [
        "subject",
        "paragraphs",
        "blocks",
        "invoice_table",
        "qr_svg",
        "qr_svgs",
    ];

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
        let invoice = || InvoiceCtx {
            id: "",
            currency: "",
            interest: text(),
            interest_plain: text(),
            compensation: text(),
            compensation_plain: text(),
            issue_date: text(),
            due_date: text(),
            due_iso: text(),
            days_past_due: 0,
            amount: text(),
            open: text(),
            open_plain: text(),
        };
        let payment = || Payment {
            link: text(),
            short_link: text(),
            expires: text(),
            token: text(),
            card_link: text(),
            reference: text(),
            iban: None,
            bic: None,
            account: vec![AccountLine {
                label: text(),
                value: text(),
            }],
            qr: text(),
            qr_is_epc: false,
        };
        let instalment = || Instalment {
            number: 1,
            due: text(),
            due_iso: text(),
            amount: text(),
            amount_plain: text(),
        };
        let ctx = Context {
            customer: CustomerCtx {
                id: "",
                name: "",
                kind: "",
                email: "",
                phone: "",
                address: vec![String::new()],
                language: "",
                extra: BTreeMap::from([("COLUMN", "")]),
            },
            invoices: vec![InvoiceCtx {
                id: "",
                currency: "",
                interest: text(),
                interest_plain: text(),
                compensation: text(),
                compensation_plain: text(),
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
                main: text(),
                amount_plain: text(),
                currency: "",
                more: 0,
                short: text(),
                interest: text(),
                compensation: text(),
                open: text(),
                interest_line: text(),
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
            payment: payment(),
            groups: vec![Group {
                currency: "",
                amount: text(),
                amount_plain: text(),
                interest: text(),
                interest_plain: text(),
                compensation: text(),
                compensation_plain: text(),
                open: text(),
                open_plain: text(),
                extra: (Decimal::ZERO, Decimal::ZERO),
                payable: text(),
                count: 0,
                invoices: vec![invoice()],
                payment: payment(),
                instalments: vec![instalment()],
            }],
            creditor: &creditor,
            campaign: CampaignCtx {
                name: "",
                as_of: text(),
            },
            pay_by: text(),
            pay_by_iso: text(),
            instalments: vec![instalment()],
            plan_offer: false,
            locale: "".into(),
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
