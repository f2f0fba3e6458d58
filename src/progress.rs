//! Progress of a long stage on stderr: a bar on a terminal, a plain line every 10 %
//! when stderr is a file or a pipe (CI logs, `2> run.log`), nothing for small runs.

use std::io::IsTerminal;
use std::time::Instant;

/// Runs below this size finish before a bar would be worth drawing.
const QUIET_BELOW: u64 = 20_000;

pub struct Progress {
    what: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    bar: Option<indicatif::ProgressBar>,
    /// The next tenth at which a plain line is printed.
    next_tenth: u64,
    quiet: bool,
}

impl Progress {
    pub fn new(what: &'static str, total: u64) -> Progress {
        let quiet = total < QUIET_BELOW;
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:>10} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_message(what);
            bar
        });
        Progress {
            what,
            total,
            done: 0,
            started: Instant::now(),
            bar,
            next_tenth: 1,
            quiet,
        }
    }

    pub fn advance(&mut self, n: u64) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
            return;
        }
        if self.quiet || self.total == 0 {
            return;
        }
        while self.next_tenth <= 10 && self.done * 10 >= self.total * self.next_tenth {
            let secs = self.started.elapsed().as_secs_f64();
            eprintln!(
                "{} {}/{} ({}%) in {:.1} s, {:.0}/s",
                self.what,
                self.done,
                self.total,
                self.next_tenth * 10,
                secs,
                self.done as f64 / secs.max(1e-9)
            );
            self.next_tenth += 1;
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_runs_are_quiet_and_counts_add_up() {
        let mut p = Progress::new("rendered", 10);
        p.advance(4);
        p.advance(6);
        assert_eq!(p.done, 10);
        assert!(p.quiet && p.bar.is_none());
        let mut big = Progress::new("rendered", 100_000);
        big.advance(55_000);
        assert_eq!(
            big.next_tenth, 6,
            "five plain lines printed, the next at 60%"
        );
        big.finish();
    }
}
