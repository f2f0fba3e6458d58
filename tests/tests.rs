//! Integration tests: the real binary on real files under `tests/fixtures/`.
//!
//! One test binary with modules (ripgrep's layout): one build, many tests.

mod util;

mod architecture;
mod bad_input;
mod bounces;
mod campaign;
mod check;
mod cycle;
mod documents;
mod exit_codes;
mod faults;
mod formats;
mod generated;
mod history;
mod import;
mod letters;
mod link;
mod load_properties;
mod money;
mod payments;
mod plan;
mod readme;
mod render;
mod report;
mod rules;
mod run;
mod segment;
mod send;
mod serve;
mod sms;
mod statement;
mod token_properties;
mod wording;
