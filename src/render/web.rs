//! The payment page: its HTML, with the QR code inline, under the token's path.

use super::context::Context;
use super::{Rendered, Renderer};
use crate::diag::Diagnostic;
use crate::plan::Planned;
use crate::segment::Assignment;

impl Renderer<'_> {
    pub(super) fn web(
        &self,
        m: &Planned,
        a: &Assignment,
        ctx: Context<'_>,
        tctx: tera::Context,
        locale: &str,
    ) -> Result<Rendered, Diagnostic> {
        let name = self.template("web", a, m, locale, "html")?;
        let qrs: Vec<&str> = ctx.groups.iter().map(|g| g.payment.qr.as_str()).collect();
        let html = crate::web::page(self.templates, name, tctx, &qrs)?;
        Ok(Rendered::Web {
            token: ctx.payment.token,
            html,
            link: ctx.payment.link,
            aliases: ctx
                .groups
                .iter()
                .skip(1)
                .map(|g| g.payment.token.clone())
                .collect(),
        })
    }
}
