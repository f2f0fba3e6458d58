//! The SMS: one trimmed text, transliterated to GSM-7 where the campaign asks, with the
//! short link: every character counts towards the segments paid for.

use super::context::Context;
use super::{Rendered, Renderer};
use crate::dataset::CustomerView;
use crate::diag::Diagnostic;
use crate::plan::Planned;
use crate::segment::Assignment;
use crate::sms;

impl Renderer<'_> {
    pub(super) fn sms(
        &self,
        m: &Planned,
        view: &CustomerView<'_>,
        a: &Assignment,
        ctx: Context<'_>,
        tctx: &tera::Context,
        locale: &str,
    ) -> Result<Rendered, Diagnostic> {
        let name = self.template("sms", a, m, locale, "txt")?;
        let mut text = self
            .templates
            .render(name, tctx)?
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
}
