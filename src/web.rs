//! Personal payment pages (SPEC §7 web): `web/TOKEN/index.html`, one static page per
//! customer, published under the payment link's base URL so that every message's link
//! opens it. The page is a Tera template (`templates/web/…`, autoescaped HTML) over the
//! message context, plus the payment QR as inline SVG: no scripts, no external assets.

use crate::diag::Diagnostic;
use crate::templates::Templates;

/// Renders the page from `template`; `qr` is what the QR code holds (EPC or the link).
pub fn page(
    templates: &Templates,
    template: &str,
    context: tera::Context,
    qr: &str,
) -> Result<String, Diagnostic> {
    let mut context = context;
    context.insert("qr_svg", &crate::payment::qr::svg(qr).unwrap_or_default());
    templates.render(template, &context)
}
