//! Payment QR codes: the EPC/SEPA credit-transfer QR ("GiroCode", EPC069-12) for euro
//! debts, the payment link for the rest.

use super::reference::Reference;
use rust_decimal::Decimal;

/// The EPC069-12 payload (version 002, UTF-8). `None` when the data cannot make a valid
/// one (amount out of range, no IBAN): the slip then carries the payment link instead.
pub fn epc_payload(
    beneficiary: &str,
    iban: &str,
    bic: Option<&str>,
    amount: Decimal,
    reference: &Reference,
) -> Option<String> {
    let iban: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    if iban.len() < 15 || iban.len() > 34 || !iban.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    if amount < Decimal::new(1, 2) || amount > Decimal::new(99_999_999_999, 2) {
        return None;
    }
    let name: String = beneficiary.chars().take(70).collect();
    let (structured, text) = match reference {
        Reference::Creditor(r) => (r.as_str(), ""),
        Reference::Text(t) => ("", t.as_str()),
    };
    let text: String = text.chars().take(140).collect();
    // Lines: service tag, version, charset (1 = UTF-8), identification, BIC, name,
    // IBAN, amount, purpose, structured reference, unstructured text.
    let amount = format!("EUR{}", amount.round_dp(2).normalize_to_2dp());
    let iban = iban.to_ascii_uppercase();
    let mut lines = vec![
        "BCD",
        "002",
        "1",
        "SCT",
        bic.unwrap_or("").trim(),
        &name,
        &iban,
        &amount,
        "",
        structured,
        &text,
    ];
    // EPC069-12: no separator after the last populated element — a creditor reference
    // leaves the text empty, and the payload ends with the reference, not a line feed.
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let payload = lines.join("\n");
    (payload.len() <= 331).then_some(payload)
}

trait TwoDp {
    fn normalize_to_2dp(self) -> String;
}

impl TwoDp for Decimal {
    fn normalize_to_2dp(self) -> String {
        let mut d = self;
        d.rescale(2);
        d.to_string()
    }
}

/// The QR symbol, error correction M (what EPC069-12 requires): rows of dark modules.
pub fn matrix(data: &str) -> Option<(usize, Vec<bool>)> {
    let code =
        qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M).ok()?;
    let w = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Some((w, dark))
}

/// The QR as inline SVG for the payment page (crisp at any size, no image file).
pub fn svg(data: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M).ok()?;
    let doc = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in HTML: the XML declaration goes.
    Some(doc[doc.find("<svg")?..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::reference::creditor_reference_valid;
    use std::str::FromStr;

    #[test]
    fn epc_payload_lines() {
        let p = epc_payload(
            "Nordlicht Utilities Europe B.V.",
            "NL91 ABNA 0417 1643 00",
            Some("ABNANL2A"),
            Decimal::from_str("123.4").unwrap(),
            &Reference::for_customer("C000123"),
        )
        .unwrap();
        let lines: Vec<&str> = p.split('\n').collect();
        assert_eq!(
            &lines[..8],
            &[
                "BCD",
                "002",
                "1",
                "SCT",
                "ABNANL2A",
                "Nordlicht Utilities Europe B.V.",
                "NL91ABNA0417164300",
                "EUR123.40"
            ]
        );
        assert!(creditor_reference_valid(lines[9]));
        assert_eq!(lines.len(), 10, "nothing after the last populated element");
        assert!(!p.ends_with('\n'), "{p:?}");
        assert!(
            epc_payload(
                "X",
                "NL91ABNA0417164300",
                None,
                Decimal::ZERO,
                &Reference::Text("a".into())
            )
            .is_none()
        );
        assert!(
            epc_payload("X", "bad", None, Decimal::ONE, &Reference::Text("a".into())).is_none()
        );
    }

    #[test]
    fn matrix_is_square() {
        let (w, m) = matrix("BCD\n002\n1\nSCT\n").unwrap();
        assert_eq!(m.len(), w * w);
        assert!(m.iter().any(|d| *d));
        assert!(svg("https://pay.example/p/x").unwrap().starts_with("<svg"));
    }
}
