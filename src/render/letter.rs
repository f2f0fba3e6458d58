//! The letter: Markdown from the template, laid out with the invoice table and the
//! payment slip by `letter`, as a message of its own or as the e-mail's attachment.

use super::context::Context;
use super::{Rendered, Renderer, documents};
use crate::dataset::CustomerView;
use crate::diag::Diagnostic;
use crate::format::DateLength;
use crate::plan::Planned;
use crate::segment::Assignment;
use rust_decimal::Decimal;

impl Renderer<'_> {
    /// A letter sent as a letter.
    pub(super) fn letter_message(
        &self,
        m: &Planned,
        view: &CustomerView<'_>,
        a: &Assignment,
        ctx: Context<'_>,
        tctx: &tera::Context,
        locale: &str,
    ) -> Result<Rendered, Diagnostic> {
        // The claimed invoices as issued go in the envelope after the letter. Only a
        // PDF can be printed as it is; an XML e-invoice is data for the customer's
        // system, not a page, and rides with the e-mail only (the run says so).
        let documents = documents(m, view)?;
        let enclosed = m.attach_statement
            || documents
                .iter()
                .any(|d| crate::dataset::Invoice::is_pdf(&d.path));
        let (mut composed, subject) = if m.statement {
            let s = self.statement(view, locale)?;
            (s.letter, s.title)
        } else {
            self.letter(m, view, a, &ctx, tctx, locale, enclosed)?
        };
        let mut enclosures = Vec::new();
        if m.attach_statement {
            enclosures.push(self.statement(view, locale)?.letter.objects);
        }
        let mut not_printed = Vec::new();
        for d in documents {
            if !crate::dataset::Invoice::is_pdf(&d.path) {
                not_printed.push((d.invoice, d.name));
                continue;
            }
            let doc = lopdf::Document::load_mem(&d.bytes).map_err(|e| {
                Diagnostic::whole_file(
                    &d.path,
                    format!(
                        "the document of invoice {} is no longer a PDF dunwell can read: {e} (expected the file that was there when the export was read)",
                        crate::values::quote(&d.invoice)
                    ),
                )
                .customer(crate::diag::Unmade::Document)
            })?;
            enclosures.push(doc);
        }
        composed.enclose(enclosures);
        Ok(Rendered::Letter {
            bytes: composed.bytes,
            pages: composed.pages,
            objects: Box::new(composed.objects),
            drawing: composed.drawing,
            subject,
            to: ctx.customer.address.join(", "),
            link: ctx.payment.link,
            not_printed,
        })
    }

    /// The customer's statement of account as of the campaign date, since the last one
    /// delivered (`statement::since`): posted alone, enclosed with a letter, or
    /// attached to an e-mail — the same bytes as `dunwell statement` writes.
    pub(super) fn statement(
        &self,
        view: &CustomerView<'_>,
        locale: &str,
    ) -> Result<crate::statement::Statement, Diagnostic> {
        let letters = self.letters.ok_or_else(|| {
            Diagnostic::whole_file(
                "templates/fonts",
                "statements need the fonts in templates/fonts/",
            )
        })?;
        let maker = crate::statement::Maker {
            campaign: self.campaign,
            letters,
            templates: self.templates,
            formats: self.formats,
            words: self.words,
            addresses: self.addresses,
        };
        maker.make(
            view,
            locale,
            crate::statement::since(view, self.campaign.as_of),
        )
    }

    /// The letter: its Markdown body rendered, laid out with the invoice table and the
    /// payment slip, written as a PDF. Returns it with its subject (the first heading).
    /// `enclosed`: pages follow it in the envelope (its slip cannot be cut off then).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn letter(
        &self,
        m: &Planned,
        view: &CustomerView<'_>,
        a: &Assignment,
        ctx: &Context<'_>,
        tctx: &tera::Context,
        locale: &str,
        enclosed: bool,
    ) -> Result<(crate::letter::Composed, String), Diagnostic> {
        use crate::letter::layout::TablePart;
        let letters = self.letters.ok_or_else(|| {
            Diagnostic::whole_file(
                "templates/fonts",
                "letters need the fonts in templates/fonts/",
            )
        })?;
        let name = self.template("letter", a, m, locale, "md")?;
        let markdown = self.templates.render(name, tctx)?;
        let subject = crate::letter::title_of(&markdown);
        let labels = letters.labels(locale);
        let short = |d| self.formats.date(d, DateLength::Short, locale);
        let words = self.words.get(locale);
        let parts = m
            .claims()
            .zip(&ctx.groups)
            .map(|((currency, numbers, _), group)| {
                let money = |d| self.formats.money(d, currency, locale);
                let (mut amount, mut paid, mut open) =
                    (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
                // Oldest first: the order the debt grew in, the order of the enclosures.
                let mut rows: Vec<Vec<String>> = super::oldest_first(view, numbers)
                    .into_iter()
                    .map(|k| {
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
                // Statutory interest and compensation are lines of the table, and in
                // its total: what the letter claims is what it adds up.
                let (interest, comp) = group.extra;
                let row = |label: String, d: Decimal| {
                    let mut r = vec![label];
                    r.extend(std::iter::repeat_n(String::new(), 5));
                    r.push(money(d));
                    r
                };
                if !interest.is_zero() {
                    rows.push(row(
                        words
                            .interest_row
                            .replace("{date}", &short(self.campaign.as_of)),
                        interest,
                    ));
                    open += interest;
                }
                if !comp.is_zero() {
                    rows.push(row(words.compensation_row.clone(), comp));
                    open += comp;
                }
                TablePart {
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
                }
            })
            .collect();
        let table = crate::letter::invoice_table(labels, parts);
        let id = format!("{}-letter", view.customer.id());
        let recipient = self
            .addresses
            .recipient(view.customer, self.campaign.creditor.country.as_deref());
        let letter = crate::letter::Letter {
            id: &id,
            locale,
            markdown: &markdown,
            creditor: &self.campaign.creditor,
            recipient: recipient.lines,
            recipient_name: recipient.name_line,
            customer_id: view.customer.id(),
            date: ctx.campaign.as_of.clone(),
            date_unix: self
                .campaign
                .as_of
                .and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp()),
            tables: vec![table],
            reference: ctx.payment.reference.clone(),
            slips: ctx
                .groups
                .iter()
                .map(|g| crate::letter::Slip {
                    currency: (ctx.groups.len() > 1).then(|| g.currency.to_string()),
                    beneficiary: self.campaign.creditor.name.clone(),
                    account: g
                        .payment
                        .account
                        .iter()
                        .map(|l| (l.label.clone(), l.value.clone()))
                        .collect(),
                    amount: g.payable.clone(),
                    pay_by: ctx.pay_by.clone(),
                    reference: g.payment.reference.clone(),
                    qr: g.payment.qr.clone(),
                    epc: g.payment.qr_is_epc,
                })
                .collect(),
            title: subject.clone(),
            keep: units(ctx),
            closing: &words.closing,
            enclosed,
        };
        let composed = letters.compose(&letter).map_err(|e| match e.unmade() {
            Some(why) => Diagnostic::whole_file(self.templates_root().join(name), e.to_string())
                .customer(why),
            // The creditor's, not this customer's: `load_letters` stops the run first.
            None => Diagnostic::whole_file(&self.campaign.path, e.to_string()),
        })?;
        Ok((composed, subject))
    }
}

/// What the letter prints that must stay on one line: every date and amount of the
/// context (ICU's amounts hold no-break spaces already; dates and account numbers hold
/// ordinary ones), the creditor's phone number. Lists of amounts in several currencies
/// are not one unit: each amount in them is.
fn units(ctx: &Context<'_>) -> Vec<String> {
    let mut out: Vec<String> = vec![
        ctx.pay_by.clone(),
        ctx.campaign.as_of.clone(),
        ctx.payment.expires.clone(),
        ctx.totals.main.clone(),
        ctx.totals.first_due.clone(),
    ];
    out.extend(ctx.creditor.phone.clone());
    let instalments = |out: &mut Vec<String>, list: &[super::context::Instalment]| {
        for p in list {
            out.extend([p.due.clone(), p.amount.clone()]);
        }
    };
    instalments(&mut out, &ctx.instalments);
    for g in &ctx.groups {
        out.extend([
            g.amount.clone(),
            g.open.clone(),
            g.interest.clone(),
            g.compensation.clone(),
            g.payable.clone(),
            g.payment.expires.clone(),
        ]);
        out.extend(g.payment.account.iter().map(|l| l.value.clone()));
        instalments(&mut out, &g.instalments);
        for i in &g.invoices {
            out.extend([
                i.issue_date.clone(),
                i.due_date.clone(),
                i.amount.clone(),
                i.open.clone(),
                i.interest.clone(),
                i.compensation.clone(),
            ]);
        }
    }
    out.retain(|s| !s.trim().is_empty());
    out.sort();
    out.dedup();
    out
}
