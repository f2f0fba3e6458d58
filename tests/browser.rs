//! `preview` and `serve`, in headless Chromium among others: a test binary of its own
//! (see Cargo.toml) so that the live server's timing is not measured under the load of
//! the other integration tests.

#[allow(dead_code, unused_imports)] // the helpers other test modules use
mod util;

mod payment_pages;
mod preview;
mod report_page;

/// One test of this binary at a time: a second Chromium or gallery render on two cores
/// would make the serve timing meaningless.
static QUIET: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn quiet() -> std::sync::MutexGuard<'static, ()> {
    QUIET.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs a script of tests/js (each drives Chromium and prints one JSON line last).
pub fn node(script: &str, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(util::root().join("tests/js"))
        .output()
        .expect("node runs (scripts/test installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "{script} printed no result:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "{v:#}");
    v
}
