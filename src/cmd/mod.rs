//! The commands, one file each: they run the stages, print the result (stdout) and the
//! status (stderr), and own the exit code — an [`Exit`], never a bare number. Parsing and
//! checking the command line is clap's, in `cli.rs`; the stages below never print.
//!
//! Exit codes (SPEC §3): 0 ok; 1 the input, campaign, rules, outbox or a setting is
//! wrong, or the machine cannot give what the command needs (or `--strict` and a row was
//! rejected); 2 the command line is wrong, and nothing else; 3 partial — some customers
//! quarantined or some messages not made or not sent, the files say which.

/// Writes a line of the command's result to stdout. A closed pipe (`dunwell … | head`)
/// ends the process quietly instead of a panic.
macro_rules! out {
    () => { $crate::cmd::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cmd::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

macro_rules! out_part {
    ($($arg:tt)*) => { $crate::cmd::write_out(format_args!($($arg)*)) };
}

pub(crate) fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

mod check;
mod generate;
mod history;
mod link;
mod outbox;
mod preview;
mod report;
mod run;
mod segment;
mod send;
mod statement;

use crate::cli::{Cli, Command, DataArgs, HistoryCommand, OutboxCommand};
use crate::diag::{Error, Result};
use crate::prepare::Prepared;
use clap::Parser;

/// How a command ended (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok,
    /// The input, campaign, rules, outbox or a setting is wrong, or the machine cannot
    /// serve (a port in use); nothing was done that matters.
    Failed,
    /// The command line is wrong.
    Usage,
    /// Done in part: some customers quarantined, some messages not made or not sent.
    Partial,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Partial => 3,
        }
    }

    /// The exit for an error that stopped a command.
    fn of(e: &Error) -> Exit {
        // Every variant named: a new error has to choose, and 2 is the command line's
        // alone (SPEC §3) — a wrong file, setting or machine is 1.
        match e {
            Error::Usage(_) => Exit::Usage,
            Error::Config(_)
            | Error::Data(_)
            | Error::Io { .. }
            | Error::Refused(_)
            | Error::Input(_)
            | Error::Environment(_)
            | Error::Unavailable(_) => Exit::Failed,
        }
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match dispatch(cli) {
        Ok(exit) => exit.code(),
        Err(e) => {
            eprintln!("{e}");
            Exit::of(&e).code()
        }
    }
}

/// Exposed for tests: parse a command line and run it, returning the exit code.
pub fn run_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => match dispatch(cli) {
            Ok(exit) => exit.code(),
            Err(e) => {
                eprintln!("{e}");
                Exit::of(&e).code()
            }
        },
        Err(_) => 2,
    }
}

fn dispatch(cli: Cli) -> Result<Exit> {
    match cli.command {
        Command::Segment(args) => segment::segment(args),
        Command::Link(cmd) => link::link(cmd),
        Command::Run(args) => run::run(args),
        Command::Send(args) => send::send(args),
        Command::Check(args) => check::check(args),
        Command::Statement(args) => statement::statement(args),
        Command::Preview(args) => preview::preview(args),
        Command::Serve(args) => {
            set_threads(args.data.threads)?;
            crate::serve::serve(crate::serve::ServeOptions {
                inputs: inputs(&args.data),
                port: args.port,
                per_cell: args.per_cell,
                bind: args.bind,
                header_timeout: args.header_timeout,
            })?;
            Ok(Exit::Ok)
        }
        Command::Report {
            outbox,
            payments,
            history,
        } => report::report(&outbox, &payments, history.as_deref()),
        Command::Approve {
            outbox,
            by,
            history,
            now,
        } => history::approve(&outbox, &by, history.as_deref(), now),
        Command::Outbox(OutboxCommand::Show { outbox, id }) => outbox::show(&outbox, &id),
        Command::Outbox(OutboxCommand::Posted {
            outbox,
            history,
            now,
        }) => outbox::posted(&outbox, history.as_deref(), now),
        Command::Outbox(OutboxCommand::Cutoff { outbox, payments }) => {
            outbox::cutoff(&outbox, &payments)
        }
        Command::Gen(args) => generate::generate(args),
        Command::History(HistoryCommand::Import { outbox, history }) => {
            history::import(&outbox, history.as_deref())
        }
        Command::History(HistoryCommand::Events { file, history, now }) => {
            history::events(&file, &history, now)
        }
        Command::History(HistoryCommand::Show { customer, history }) => {
            history::show(&customer, &history)
        }
        Command::History(HistoryCommand::Bounces {
            mailbox,
            history,
            now,
        }) => history::bounces(&mailbox, &history, now),
    }
}

pub(crate) fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if !(1..=1024).contains(&n) {
            return Err(Error::Usage(format!("--threads {n} (expected 1 to 1024)")));
        }
        // Only the first call in a process can size the pool; tests call `run` once.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    Ok(())
}

/// The campaign, data and date a data command was given.
fn inputs(d: &DataArgs) -> crate::prepare::Inputs {
    crate::prepare::Inputs {
        campaign: d.campaign.clone(),
        data: d.data.clone(),
        as_of: d.as_of,
    }
}

/// The shared prefix of the data commands, with what it read said on stderr.
fn prepare(d: &DataArgs) -> Result<Prepared> {
    set_threads(d.threads)?;
    let p = crate::prepare::prepare(&inputs(d))?;
    report_intake(&p);
    Ok(p)
}

/// What was read, and the export's defects.
fn report_intake(p: &Prepared) {
    let v = &p.validated;
    log(&format!(
        "read {} customers ({} rejected); kept {} invoices, {} payments, {} events in {:.2} s",
        v.intake.customers,
        v.intake.rejected_customers,
        v.dataset.invoices.len(),
        v.dataset.payments.len(),
        v.dataset.events.len(),
        p.load_seconds
    ));
    if p.from_history.store_missing
        && let Some(loc) = &p.campaign.history
    {
        // Right for a first cycle; after a lost or mis-mounted store it means every
        // invoice starts again at the first level and the caps forget earlier runs.
        log(&format!(
            "warning: history {} does not exist: read as empty (every invoice starts at the first reminder level). If earlier runs were recorded, the store is missing or mounted elsewhere.",
            loc.describe()
        ));
    }
    if p.from_history.contacts > 0 {
        log(&format!(
            "history: {} contact(s) delivered by {} read as reminder_sent events",
            p.from_history.contacts, p.campaign.as_of
        ));
    }
    if p.from_history.events > 0 {
        log(&format!(
            "history: {} recorded event(s) (promises, opt-outs, bounces …) added to the export's",
            p.from_history.events
        ));
    }
    report_defects(v);
}

/// Status lines go to stderr so stdout stays the command's result.
fn log(line: &str) {
    eprintln!("{line}");
}

/// Prints warnings and rejections, capped so a broken export does not flood a terminal
/// (the full list is in rejected.csv).
fn report_defects(v: &crate::validate::Validated) {
    const SHOWN: usize = 20;
    for d in v.warnings.iter().take(SHOWN) {
        eprintln!("{d}");
    }
    if v.warnings.len() > SHOWN {
        eprintln!("… and {} more warnings", v.warnings.len() - SHOWN);
    }
    for d in v.rejected.iter().take(SHOWN) {
        eprintln!("{d}");
    }
    if v.rejected.len() > SHOWN {
        eprintln!(
            "… and {} more rejected rows (see rejected.csv)",
            v.rejected.len() - SHOWN
        );
    }
}
