//! dunwell turns an accounts-receivable export into a personalised dunning campaign.
//!
//! The pipeline, one module per stage:
//! `load → validate → features → segment → plan → render → outbox → send → report`;
//! `run.rs` drives plan → render → outbox for `dunwell run`.
//! Each stage is a plain function of the previous stage's output and the campaign,
//! so `check`, `preview` and `serve` reuse them on a sample.

pub mod bounce;
pub mod campaign;
pub mod check;
pub mod cli;
pub mod cmd;
pub mod dataset;
pub mod diag;
pub mod email;
pub mod escape;
pub mod features;
pub mod format;
pub mod generate;
pub mod hash;
pub mod history;
pub mod interest;
pub mod letter;
pub mod load;
pub mod money;
pub mod outbox;
pub mod payment;
pub mod plan;
pub mod prepare;
pub mod preview;
pub mod progress;
pub mod received;
pub mod redact;
pub mod render;
pub mod report;
pub mod run;
pub mod segment;
pub mod send;
pub mod serve;
pub mod simulate;
pub mod sms;
pub mod spans;
pub mod statement;
pub mod templates;
pub mod validate;
pub mod values;
pub mod web;
