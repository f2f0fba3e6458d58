//! `preview` and `serve`, in headless Chromium among others: a test binary of its own
//! (see Cargo.toml) so that the live server's timing is not measured under the load of
//! the other integration tests.

#[allow(dead_code, unused_imports)] // the helpers other test modules use
mod util;

mod preview;
mod report_page;
