//! `dunwell link sign` and `verify`: what the payment portal relies on.

use crate::util::*;

fn sign(expires: &str) -> String {
    let run = dunwell_env(
        [
            "link",
            "sign",
            "--campaign",
            "autumn",
            "--customer",
            "C0000042",
            "--amount",
            "123.45",
            "--currency",
            "EUR",
            "--expires",
            expires,
        ],
        &[SECRET],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.trim().to_string()
}

#[test]
fn a_signed_token_verifies_with_its_claims() {
    let token = sign("2026-12-31");
    let run = dunwell_env(
        ["link", "verify", &token, "--today", "2026-12-31"],
        &[SECRET],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let claims: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(claims["customer"], "C0000042");
    assert_eq!(claims["amount_minor"], 12345);
    assert_eq!(claims["currency"], "EUR");
    assert_eq!(claims["expires"], "2026-12-31");
}

#[test]
fn altered_expired_or_foreign_tokens_fail_with_the_reason() {
    let token = sign("2026-12-31");
    let mut altered = token.clone().into_bytes();
    altered[12] = if altered[12] == b'x' { b'y' } else { b'x' };
    let altered = String::from_utf8(altered).unwrap();
    for (tok, env, today, why) in [
        (&altered, SECRET, "2026-12-01", "signature does not match"),
        (&token, SECRET, "2027-01-01", "expired on 2026-12-31"),
        (
            &token,
            (
                "DUNWELL_LINK_SECRET",
                "another secret that is long enough, too",
            ),
            "2026-12-01",
            "signature does not match",
        ),
    ] {
        let run = dunwell_env(["link", "verify", tok, "--today", today], &[env]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains(why), "{why}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn the_secret_must_be_set_and_long() {
    let run = dunwell_env(["link", "verify", "AAAA"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the payment-link secret is not set: export DUNWELL_LINK_SECRET="),
        "{}",
        run.stderr
    );
    let run = dunwell_env(
        ["link", "verify", "AAAA"],
        &[("DUNWELL_LINK_SECRET", "short")],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("expected at least 32"),
        "{}",
        run.stderr
    );
}

#[test]
fn links_carry_utm_parameters_and_a_short_form() {
    let run = dunwell_env(
        [
            "link",
            "sign",
            "--campaign",
            "autumn",
            "--customer",
            "C1",
            "--amount",
            "10",
            "--currency",
            "JPY",
            "--expires",
            "2026-12-31",
            "--base-url",
            "https://pay.example.com/p",
        ],
        &[SECRET],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[1].starts_with(&format!(
            "https://pay.example.com/p/{}?utm_source=dunwell&utm_medium=web",
            lines[0]
        )),
        "{lines:?}"
    );
    let path = lines[2].trim_start_matches("https://pay.example.com");
    assert!(path.starts_with("/s/") && path.len() <= 40, "{path}");
}

#[test]
fn sign_prints_the_token_the_link_and_the_short_link_whole() {
    let run = dunwell_env(
        [
            "link",
            "sign",
            "--campaign",
            "autumn",
            "--customer",
            "C0000042",
            "--amount",
            "123.45",
            "--currency",
            "EUR",
            "--expires",
            "2026-12-31",
            "--base-url",
            "https://pay.example.com/p",
        ],
        &[SECRET],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_matches_file(&run.stdout, "link_sign");
}
