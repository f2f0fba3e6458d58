//! SPEC §3: exit 2 belongs to the command line alone; a wrong input, outbox, setting or
//! a machine that cannot give what a command needs exits 1. Each case here exited 2
//! before issue 13, item 4 (docs/exit-codes.md lists them all).

use crate::util::*;

#[test]
fn a_data_folder_without_the_export_exits_1() {
    let dir = tempdir();
    let r = dunwell(["check", SAMPLE, "--data", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("expected a folder with customers.csv and invoices.csv"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_message_the_outbox_does_not_hold_exits_1() {
    let out = email_outbox(&["--sample", "1"]);
    let r = dunwell(["outbox", "show", out.path().to_str().unwrap(), "no-such-id"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("no message `no-such-id`"), "{}", r.stderr);
}

#[test]
fn a_wrong_smtp_setting_exits_1() {
    let out = email_outbox(&["--sample", "1"]);
    let r = dunwell_env(
        ["send", out.path().to_str().unwrap(), "--dry-run"],
        &[("DUNWELL_SMTP_URL", "ftp://relay.example.com")],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("DUNWELL_SMTP_URL: "), "{}", r.stderr);
}

#[test]
fn a_port_in_use_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = taken.local_addr().unwrap().port().to_string();
    let r = dunwell(["serve", SAMPLE, "--port", &port]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cannot listen on"), "{}", r.stderr);
}

#[test]
fn a_flag_out_of_range_still_exits_2() {
    let r = dunwell(["check", SAMPLE, "--threads", "0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--threads 0"), "{}", r.stderr);
}
