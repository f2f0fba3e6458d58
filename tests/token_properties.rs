//! Property tests of payment tokens (issue 12): any campaign name and customer id a
//! campaign can hold round-trips through sign and verify, and distinct claims never
//! share a token or a short reference.

use chrono::NaiveDate;
use dunwell::money::Currency;
use dunwell::payment::link::{Claims, Signer};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn signer() -> Signer {
    Signer::new(b"property tests: Zx8Qe1/9mLr0aT7uVw3KbPq+Y2nH5sJcDfGiOk4Ej6U=").unwrap()
}

/// Text of up to `max` bytes from every script a customer id is written in, emoji and
/// astral characters included.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::char::range('0', 'z'),
            prop::char::range('\u{4e00}', '\u{9fff}'),
            prop::char::range('\u{0400}', '\u{04ff}'),
            prop::char::range('\u{1f300}', '\u{1f64f}'),
            Just('ł'),
            Just('-'),
            Just('/'),
        ],
        1..80,
    )
    .prop_map(move |chars| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > max {
                break;
            }
            s.push(c);
        }
        if s.is_empty() { "x".into() } else { s }
    })
}

fn claims() -> impl Strategy<Value = Claims> {
    (
        text(64),
        text(64),
        0u64..1_000_000_000_000u64,
        prop::sample::select(vec!["EUR", "JPY", "PLN", "GBP", "CNY", "RON"]),
        0i64..65_535,
    )
        .prop_map(|(campaign, customer, minor, cur, days)| {
            let currency = Currency::parse(cur).unwrap();
            let amount = Decimal::from_i128_with_scale(i128::from(minor), currency.minor_units());
            let expires =
                NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Duration::days(days);
            Claims::new(&campaign, &customer, amount, currency, expires).unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_claim_round_trips(c in claims()) {
        let s = signer();
        let token = s.sign(&c);
        prop_assert!(token.len() <= 240, "a folder name: {} characters", token.len());
        let back = s.verify(&token, NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
        prop_assert_eq!(back, Ok(c.clone()));
        prop_assert!(s.verify_short(&s.short(&c), &c));
    }

    #[test]
    fn distinct_claims_never_share_a_token(a in claims(), b in claims()) {
        prop_assume!(a != b);
        let s = signer();
        prop_assert_ne!(s.sign(&a), s.sign(&b));
        prop_assert_ne!(s.short(&a), s.short(&b));
    }

    #[test]
    fn ids_that_differ_only_past_255_bytes_still_differ(tail_a in text(8), tail_b in text(8)) {
        // What version 1 got wrong: a long shared prefix.
        prop_assume!(tail_a != tail_b);
        let prefix = "顧".repeat(90);
        let eur = Currency::parse("EUR").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let a = Claims::new("c", &format!("{prefix}{tail_a}"), Decimal::ONE, eur, d).unwrap();
        let b = Claims::new("c", &format!("{prefix}{tail_b}"), Decimal::ONE, eur, d).unwrap();
        let s = signer();
        prop_assert_ne!(s.sign(&a), s.sign(&b));
        prop_assert_eq!(s.verify(&s.sign(&a), d).unwrap().customer, a.customer);
    }
}
