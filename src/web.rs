//! Personal payment pages (SPEC §7 web): `web/TOKEN/index.html`, one static page per
//! customer, published under the payment link's base URL so that every message's link
//! opens it. The page is a Tera template (`templates/web/…`, autoescaped HTML) over the
//! message context, plus the payment QR as inline SVG: no scripts, no external assets.

use crate::diag::Diagnostic;
use crate::templates::Templates;

/// Renders the page from `template`; `qrs` are what each currency's QR code holds (EPC
/// or the link), the main currency first: `qr_svg` is the first, `qr_svgs` all.
pub fn page(
    templates: &Templates,
    template: &str,
    context: tera::Context,
    qrs: &[&str],
) -> Result<String, Diagnostic> {
    let mut context = context;
    let svgs: Vec<String> = qrs
        .iter()
        .map(|q| crate::payment::qr::svg(q).unwrap_or_default())
        .collect();
    context.insert("qr_svg", svgs.first().map_or("", String::as_str));
    context.insert("qr_svgs", &svgs);
    templates.render(template, &context)
}

/// The page that replaces a customer's payment page when they paid since the export
/// (`outbox cutoff`): the link in their e-mail, SMS or letter then says so instead of
/// asking for money again. `paid`: all of it; otherwise a part (the amount on the old
/// page is no longer what is owed, and the next run says what is). In the page's
/// language, English for one without these words; no scripts, no assets.
pub fn withdrawn(locale: &str, paid: bool) -> String {
    let language = locale.split(['-', '_']).next().unwrap_or("en");
    let (title, text) = match (language, paid) {
        ("it", true) => (
            "Pagato — grazie",
            "Abbiamo ricevuto il Suo pagamento. Non c'è altro da pagare qui.",
        ),
        ("it", false) => (
            "Grazie per il Suo pagamento",
            "Abbiamo ricevuto un Suo pagamento. Questa pagina non è più aggiornata: Le comunicheremo l'importo ancora aperto.",
        ),
        ("pl", true) => (
            "Zapłacono — dziękujemy",
            "Otrzymaliśmy Państwa płatność. Nie ma tu już nic do zapłaty.",
        ),
        ("pl", false) => (
            "Dziękujemy za płatność",
            "Otrzymaliśmy Państwa płatność. Ta strona jest już nieaktualna: poinformujemy Państwa, jaka kwota pozostaje do zapłaty.",
        ),
        ("ro", true) => (
            "Plătit — vă mulțumim",
            "Am primit plata dumneavoastră. Nu mai este nimic de plătit aici.",
        ),
        ("ro", false) => (
            "Vă mulțumim pentru plată",
            "Am primit o plată de la dumneavoastră. Această pagină nu mai este actuală: vă vom comunica suma rămasă de plată.",
        ),
        ("lv", true) => (
            "Samaksāts — paldies",
            "Esam saņēmuši jūsu maksājumu. Šeit vairs nekas nav jāmaksā.",
        ),
        ("lv", false) => (
            "Paldies par maksājumu",
            "Esam saņēmuši jūsu maksājumu. Šī lapa vairs nav aktuāla: mēs jums paziņosim, kāda summa vēl jāsamaksā.",
        ),
        ("ja", true) => (
            "お支払い済みです — ありがとうございました",
            "お支払いを確認いたしました。こちらでのお支払いは不要です。",
        ),
        ("ja", false) => (
            "お支払いありがとうございます",
            "お支払いを確認いたしました。このページの内容は最新ではありません。残りのご請求額は改めてご連絡いたします。",
        ),
        ("zh", true) => ("已付款 — 谢谢", "我们已收到您的付款。此处无需再付款。"),
        ("zh", false) => (
            "感谢您的付款",
            "我们已收到您的一笔付款。此页面已不是最新内容：我们将另行告知您尚未结清的金额。",
        ),
        (_, true) => (
            "Paid — thank you",
            "We have received your payment. There is nothing more to pay here.",
        ),
        (_, false) => (
            "Thank you for your payment",
            "We have received a payment from you. This page is no longer current: we will let you know what is still open.",
        ),
    };
    // A BCP 47 tag from the manifest; anything else is dropped, never put into the page.
    let lang: String = locale
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(35)
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>{title}</title>\n<style>body{{margin:0;font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",sans-serif;color:#1d232a;background:#f3f5f7}}main{{max-width:640px;margin:0 auto;padding:16px}}section{{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.08)}}h1{{font-size:1.3rem;margin:0 0 8px;color:#0f7b4a}}</style>\n</head>\n<body>\n<main><section>\n<h1>{title}</h1>\n<p>{text}</p>\n</section></main>\n</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_withdrawn_page_speaks_the_pages_language() {
        let it = super::withdrawn("it", true);
        assert!(it.contains("<html lang=\"it\">") && it.contains("Pagato — grazie"));
        assert!(super::withdrawn("pl-PL", false).contains("Dziękujemy za płatność"));
        assert!(super::withdrawn("xx", true).contains("Paid — thank you"));
        assert!(!super::withdrawn("en", true).contains("<script"));
    }
}
