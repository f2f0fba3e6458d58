//! dunwell's addition to tera: a deterministic budget for one render.
//!
//! A template written by a person can loop a billion times or build a gigabyte-long
//! string; a batch of a million customers must neither hang nor run out of memory on
//! one of them, and must exclude the same customer on every machine. So a render can
//! carry limits counted by the engine itself, never by a clock:
//! - steps: one per loop iteration, function, filter and test call, include and
//!   component, and one per element a spread copies;
//! - bytes: no string the render builds — a concatenation, a filter's or function's
//!   result, a captured block (`{% set x %}…`, `{% filter %}`) — is longer; the
//!   output itself is bounded by the writer the caller renders into.
//!
//! The limits live in thread-locals for the duration of [`crate::Tera::render_limited`]
//! (a render runs on one thread; includes and components share the count).

use crate::errors::{Error, TeraResult};
use std::cell::Cell;

/// What one render may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Loop iterations, calls, includes and copied elements.
    pub steps: u64,
    /// The longest string the render may build.
    pub bytes: usize,
}

/// Which limit a render ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exceeded {
    /// The step limit it had.
    Steps(u64),
    /// The byte limit it had.
    Bytes(usize),
}

thread_local! {
    static STEPS_LEFT: Cell<u64> = const { Cell::new(u64::MAX) };
    static MAX_BYTES: Cell<usize> = const { Cell::new(usize::MAX) };
    static LIMITS: Cell<Option<Limits>> = const { Cell::new(None) };
    static EXCEEDED: Cell<Option<Exceeded>> = const { Cell::new(None) };
}

/// Runs `f` under `limits`; returns its result and the limit it ran into, if any
/// (errors raised inside filters are turned into text by the engine, so the caller
/// asks here rather than matching the error).
pub(crate) fn within<R>(limits: Limits, f: impl FnOnce() -> R) -> (R, Option<Exceeded>) {
    let saved = (
        STEPS_LEFT.get(),
        MAX_BYTES.get(),
        LIMITS.get(),
        EXCEEDED.take(),
    );
    STEPS_LEFT.set(limits.steps);
    MAX_BYTES.set(limits.bytes);
    LIMITS.set(Some(limits));
    let r = f();
    let exceeded = EXCEEDED.take();
    STEPS_LEFT.set(saved.0);
    MAX_BYTES.set(saved.1);
    LIMITS.set(saved.2);
    EXCEEDED.set(saved.3);
    (r, exceeded)
}

/// Takes `n` steps from the budget.
#[inline]
pub(crate) fn charge(n: u64) -> TeraResult<()> {
    let left = STEPS_LEFT.get();
    if left < n {
        STEPS_LEFT.set(0);
        let limit = LIMITS.get().map_or(0, |l| l.steps);
        EXCEEDED.set(Some(Exceeded::Steps(limit)));
        return Err(Error::message(format!(
            "the template takes more than {limit} steps (loop iterations and calls) for this message"
        )));
    }
    STEPS_LEFT.set(left - n);
    Ok(())
}

/// Whether a string of `len` bytes may be built.
#[inline]
pub(crate) fn check_bytes(len: usize) -> TeraResult<()> {
    let max = MAX_BYTES.get();
    if len > max {
        EXCEEDED.set(Some(Exceeded::Bytes(max)));
        return Err(Error::message(format!(
            "the template builds a text of more than {max} bytes for this message"
        )));
    }
    Ok(())
}
