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
