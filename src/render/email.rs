//! The e-mail: the text template (subject, blank line, body), its HTML twin or the
//! layout around its paragraphs, the letter attached when the cell asks, then the
//! original invoices the message claims (`document` in the export), MIME around all.

use super::context::Context;
use super::{Rendered, Renderer, documents, letter_file_name};
use crate::dataset::CustomerView;
use crate::diag::Diagnostic;
use crate::email::{self, Attachment, Envelope, Parts};
use crate::plan::Planned;
use crate::segment::Assignment;
use serde::Serialize;

impl Renderer<'_> {
    pub(super) fn email(
        &self,
        m: &Planned,
        view: &CustomerView<'_>,
        a: &Assignment,
        ctx: Context<'_>,
        tctx: &tera::Context,
        locale: &str,
    ) -> Result<Rendered, Diagnostic> {
        let name = self.template("email", a, m, locale, "txt")?;
        let full = self.templates.render(name, tctx)?;
        let (subject, text) = split_subject(&full).ok_or_else(|| {
                Diagnostic::error(name, 1, 1, "the first line is the subject, then a blank line, then the body (expected `Subject`, ``, `Dear …`)")
            })?;
        let html = match self.templates.resolve(
            "email",
            a.cluster.as_str(),
            self.stage_template(m),
            locale,
            &self.campaign.locales.default,
            "html",
        ) {
            Some(h) => self.templates.render(h, tctx)?,
            None => {
                let paragraphs: Vec<&str> = text
                    .split("\n\n")
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect();
                let links: Vec<&str> = ctx.groups.iter().map(|g| g.payment.link.as_str()).collect();
                let ids: Vec<&str> = ctx.invoices.iter().map(|i| i.id).collect();
                let mut with_body = tctx.clone();
                with_body.insert("subject", &subject);
                with_body.insert("blocks", &blocks(&paragraphs, &links, &ids));
                with_body.insert("paragraphs", &paragraphs);
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
        let mut attachments = Vec::new();
        if m.attach_letter {
            let (composed, _) = self.letter(m, view, a, &ctx, tctx, locale, false)?;
            attachments.push(Attachment {
                name: format!("{}.pdf", letter_file_name(view.customer.id())),
                bytes: composed.bytes,
            });
        }
        if m.attach_statement {
            let s = self
                .statement(view, locale)
                .map_err(|d| d.customer(crate::diag::Unmade::Email))?;
            let name = view.customer.id();
            attachments.push(Attachment {
                name: format!("statement-{name}.pdf"),
                bytes: s.letter.bytes,
            });
            attachments.push(Attachment {
                name: format!("statement-{name}.xlsx"),
                bytes: s.xlsx,
            });
        }
        attachments.extend(documents(m, view)?.into_iter().map(|d| Attachment {
            name: d.name,
            bytes: d.bytes,
        }));
        let parts = Parts {
            subject,
            text,
            html,
            attachments,
        };
        let (bytes, message_id) = email::build(&env, &parts, &m.scheduled_at)
            .map_err(|e| Diagnostic::whole_file("email", e).customer(crate::diag::Unmade::Email))?;
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
}

/// One paragraph of the text body, as the HTML layout shows it.
#[derive(Debug, PartialEq, Eq, Serialize)]
struct Block<'a> {
    /// `text`; `invoices`, a list of this message's invoices (the layout shows its own
    /// table instead, from `groups`); `links`, a paragraph that carries the payment
    /// links (the layout's buttons carry them: a 200-character address as text is what
    /// made every e-mail wider than a phone); `list` (`- `, `• ` or `・` lines) or
    /// `steps` (`1. `, `2. `, …).
    kind: &'static str,
    text: &'a str,
    /// A list's items, without their `- ` or `1. `.
    items: Vec<&'a str>,
}

fn blocks<'a>(paragraphs: &[&'a str], links: &[&str], invoice_ids: &[&str]) -> Vec<Block<'a>> {
    paragraphs
        .iter()
        .map(|&text| {
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            let bullets: Option<Vec<&str>> = lines
                .iter()
                .map(|l| {
                    l.strip_prefix("- ")
                        .or_else(|| l.strip_prefix("• "))
                        .or_else(|| l.strip_prefix('・'))
                })
                .collect();
            // `1. `, `2. `, … in order: a sentence that starts with a number is no list.
            let steps: Option<Vec<&str>> = lines
                .iter()
                .enumerate()
                .map(|(k, l)| {
                    let (n, rest) = l.split_once(". ")?;
                    (n.parse::<usize>().ok()? == k + 1).then_some(rest)
                })
                .collect();
            let (kind, items) = if links.iter().any(|l| text.contains(l)) {
                ("links", Vec::new())
            } else if let Some(items) = bullets {
                // The invoice list: every line names one of the message's invoices, and
                // every invoice is named.
                let all = !invoice_ids.is_empty()
                    && items
                        .iter()
                        .all(|i| invoice_ids.iter().any(|id| i.contains(id)))
                    && invoice_ids
                        .iter()
                        .all(|id| items.iter().any(|i| i.contains(id)));
                (if all { "invoices" } else { "list" }, items)
            } else if let Some(items) = steps {
                ("steps", items)
            } else {
                ("text", Vec::new())
            };
            Block { kind, text, items }
        })
        .collect()
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
    fn paragraphs_become_blocks() {
        let link = "https://pay.example/p/AAAA?utm_source=dunwell";
        let links = format!("Pay here:\n{link}");
        let paragraphs = [
            "Dear A,",
            "- INV-1, due 1 May: 1.00 €\n- INV-2, due 2 May: 2.00 €",
            "- a point\n- another",
            "1. 1.00 € by 1 June\n2. 2.00 € by 1 July",
            links.as_str(),
            "2. is not a list. Thanks",
        ];
        let kinds: Vec<(&str, Vec<&str>)> = blocks(&paragraphs, &[link], &["INV-1", "INV-2"])
            .into_iter()
            .map(|b| (b.kind, b.items))
            .collect();
        assert_eq!(
            kinds,
            [
                ("text", vec![]),
                (
                    "invoices",
                    vec!["INV-1, due 1 May: 1.00 €", "INV-2, due 2 May: 2.00 €"]
                ),
                ("list", vec!["a point", "another"]),
                ("steps", vec!["1.00 € by 1 June", "2.00 € by 1 July"]),
                ("links", vec![]),
                ("text", vec![]),
            ]
        );
        // A list that leaves an invoice out is not the invoice list.
        assert_eq!(
            blocks(&[paragraphs[1]], &[link], &["INV-1", "INV-2", "INV-3"])[0].kind,
            "list"
        );
    }

    #[test]
    fn subject_then_body() {
        assert_eq!(
            split_subject("\nHello\n\nDear A,\n\nPay.\n"),
            Some(("Hello".into(), "Dear A,\n\nPay.".into()))
        );
        assert_eq!(split_subject("Only a subject"), None);
    }
}
