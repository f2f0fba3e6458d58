//! The ISO 11649 creditor reference that lets the bank statement name the customer.

/// What the payer quotes so the payment finds its customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// ISO 11649 `RF…`, validated by banks.
    Creditor(String),
    /// Free text, for ids that do not fit a creditor reference.
    Text(String),
}

impl Reference {
    /// `RF` + check digits + the customer id, when the id is 1–21 letters and digits
    /// (separators dropped); free text otherwise.
    pub fn for_customer(customer_id: &str) -> Reference {
        let body: String = customer_id
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | '.' | '/' | ' '))
            .collect::<String>()
            .to_ascii_uppercase();
        if (1..=21).contains(&body.len()) && body.chars().all(|c| c.is_ascii_alphanumeric()) {
            let check = 98 - mod97(&format!("{body}RF00"));
            Reference::Creditor(format!("RF{check:02}{body}"))
        } else {
            Reference::Text(customer_id.chars().take(140).collect())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Reference::Creditor(s) | Reference::Text(s) => s,
        }
    }
}

/// The ISO 7064 MOD 97-10 remainder, letters counting A = 10 … Z = 35.
fn mod97(s: &str) -> u32 {
    let mut r: u32 = 0;
    for c in s.chars() {
        let v = c.to_digit(36).expect("alphanumeric");
        if v >= 10 {
            r = (r * 100 + v) % 97;
        } else {
            r = (r * 10 + v) % 97;
        }
    }
    r
}

/// Whether an `RF…` reference passes its check digits.
pub fn creditor_reference_valid(r: &str) -> bool {
    r.len() >= 5
        && r.starts_with("RF")
        && r.chars().all(|c| c.is_ascii_alphanumeric())
        && mod97(&format!("{}{}", &r[4..], &r[..4])) == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creditor_reference_has_valid_check_digits() {
        // The example from ISO 11649.
        assert_eq!(
            Reference::for_customer("539007547034"),
            Reference::Creditor("RF18539007547034".into())
        );
        let r = Reference::for_customer("c-000123");
        assert!(creditor_reference_valid(r.as_str()), "{r:?}");
        assert!(!creditor_reference_valid("RF19539007547034"));
        assert!(matches!(
            Reference::for_customer("ÄÖÜ#1"),
            Reference::Text(_)
        ));
        assert!(matches!(
            Reference::for_customer("a-very-long-customer-identifier-2026"),
            Reference::Text(_)
        ));
    }
}
