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
        let mut attachments = Vec::new();
        if m.attach_letter {
            let (composed, _) = self.letter(m, view, a, &ctx, tctx, locale)?;
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
