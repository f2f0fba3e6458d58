//! dunwell's addition to tera: a deterministic budget for one render.
//!
//! A template written by a person can loop a billion times or build a gigabyte-long
//! string; a batch of a million customers must neither hang nor run out of memory on
//! one of them, and must exclude the same customer on every machine. So a render can
//! carry limits counted by the engine itself, never by a clock:
//! - steps: one per loop iteration, function, filter and test call, include and
//!   component, and one per element a spread copies; and one per [`WORK_PER_STEP`]
//!   bytes of *work*: text built, copied, scanned or compared in memory, elements
//!   visited to weigh a value, [`ELEMENT_WORK`] bytes for every list or map element
//!   made. So no step does more than a bounded amount of work, and a render cannot
//!   allocate more in all than `WORK_PER_STEP` bytes per step it may take.
//! - bytes: no value the render builds is heavier — a concatenation, a filter's or
//!   function's result, a captured block (`{% set x %}…`, `{% filter %}`), a list or
//!   map (its [`weight`]: the bytes of its strings, every element at least one). Text
//!   is bounded as it is written ([`CapWriter`]), never formatted first and measured
//!   after. The output itself is bounded by the writer the caller renders into.
//! - depth: lists and maps nest at most [`MAX_DEPTH`] deep (dropping, comparing or
//!   formatting a value recurses), includes, components, blocks and `super()` at most
//!   [`MAX_NESTING`] (each is a large frame of the interpreter on the stack).
//!
//! The limits live in thread-locals for the duration of [`crate::Tera::render_limited`]
//! (a render runs on one thread; includes and components share the count).

use crate::errors::{Error, TeraResult};
use crate::value::{Value, ValueInner};
use std::cell::Cell;
use std::io;

/// Bytes of work that make a step (see the module's documentation).
pub(crate) const WORK_PER_STEP: u64 = 64;
/// The work of making one element of a list or map (about the memory it takes).
pub(crate) const ELEMENT_WORK: usize = 32;
/// How deep lists and maps built by a template may nest.
pub(crate) const MAX_DEPTH: usize = 64;
/// How deep includes, components, blocks and `super()` may nest in one another: each
/// is one more run of the interpreter on the stack, tens of kilobytes (a worker
/// thread has 2 MiB), and tera bounds only components (20 deep) and include cycles.
pub(crate) const MAX_NESTING: usize = 16;

/// What one render may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Loop iterations, calls, includes, copied elements, and work (see `budget.rs`).
    pub steps: u64,
    /// The heaviest text, list or map the render may build.
    pub bytes: usize,
}

/// Which limit a render ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exceeded {
    /// The step limit it had.
    Steps(u64),
    /// The byte limit it had.
    Bytes(usize),
    /// A nesting limit: lists and maps in one another (64), or includes, components,
    /// blocks and `super()` (16).
    Depth(usize),
}

thread_local! {
    static STEPS_LEFT: Cell<u64> = const { Cell::new(u64::MAX) };
    /// Work done since the last step it was charged as.
    static WORK: Cell<u64> = const { Cell::new(0) };
    static MAX_BYTES: Cell<usize> = const { Cell::new(usize::MAX) };
    static LIMITS: Cell<Option<Limits>> = const { Cell::new(None) };
    static EXCEEDED: Cell<Option<Exceeded>> = const { Cell::new(None) };
    /// Runs of the interpreter under way on this thread.
    static NESTING: Cell<usize> = const { Cell::new(0) };
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
        WORK.take(),
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
    WORK.set(saved.4);
    (r, exceeded)
}

/// One run of the interpreter, the outermost or nested in another: refused past
/// [`MAX_NESTING`] nested ones.
pub(crate) struct Nested(());

pub(crate) fn nest() -> TeraResult<Nested> {
    let depth = NESTING.get() + 1;
    if depth > MAX_NESTING + 1 {
        return Err(over_depth(MAX_NESTING));
    }
    NESTING.set(depth);
    Ok(Nested(()))
}

impl Drop for Nested {
    fn drop(&mut self) {
        NESTING.set(NESTING.get() - 1);
    }
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
            "the template takes more than {limit} steps (loop iterations, calls and work) for this message"
        )));
    }
    STEPS_LEFT.set(left - n);
    Ok(())
}

/// Takes `bytes` of work from the budget: a step per [`WORK_PER_STEP`], the remainder
/// carried to the next call (so many small pieces of work add up exactly).
#[inline]
pub(crate) fn work(bytes: usize) -> TeraResult<()> {
    let total = WORK.get().saturating_add(bytes as u64);
    WORK.set(total % WORK_PER_STEP);
    if total >= WORK_PER_STEP {
        charge(total / WORK_PER_STEP)
    } else {
        Ok(())
    }
}

/// How much work is left before the step limit.
pub(crate) fn work_left() -> u64 {
    STEPS_LEFT
        .get()
        .saturating_mul(WORK_PER_STEP)
        .saturating_add(WORK_PER_STEP - 1 - WORK.get())
}

/// The byte limit of the render under way (`usize::MAX` outside one).
#[inline]
pub(crate) fn max_bytes() -> usize {
    MAX_BYTES.get()
}

/// The refusal of a value heavier than the byte limit.
pub(crate) fn over_bytes() -> Error {
    let max = MAX_BYTES.get();
    EXCEEDED.set(Some(Exceeded::Bytes(max)));
    Error::message(format!(
        "the template builds a text, list or map of more than {max} bytes for this message"
    ))
}

/// The refusal of values or components nested deeper than `limit`.
pub(crate) fn over_depth(limit: usize) -> Error {
    EXCEEDED.set(Some(Exceeded::Depth(limit)));
    Error::message(format!(
        "the template nests lists and maps, or includes, blocks and components, more than {limit} deep for this message"
    ))
}

/// Whether a string of `len` bytes may be built.
#[inline]
pub(crate) fn check_bytes(len: usize) -> TeraResult<()> {
    if len > MAX_BYTES.get() {
        return Err(over_bytes());
    }
    Ok(())
}

/// What [`measure`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Measure {
    /// The bytes of the strings (and byte strings) in the value, every element and
    /// every other value at least 1, map keys included: a bound on its text.
    pub weight: usize,
    /// Values visited.
    pub nodes: usize,
    /// Lists and maps around the deepest value visited.
    pub depth: usize,
}

/// Weighs `v`, stopping as soon as its weight passes `cap` or its depth passes
/// [`MAX_DEPTH`] (so a list holding a list a million times over costs `cap` visits at
/// most, and the recursion is at most `MAX_DEPTH` deep).
pub(crate) fn measure(v: &Value, cap: usize) -> Measure {
    fn walk(v: &Value, depth: usize, cap: usize, m: &mut Measure) -> bool {
        m.nodes += 1;
        m.depth = m.depth.max(depth);
        if depth > MAX_DEPTH {
            return false;
        }
        match &v.inner {
            ValueInner::String(s) => m.weight = m.weight.saturating_add(s.len().max(1)),
            ValueInner::Bytes(b) => m.weight = m.weight.saturating_add(b.len().max(1)),
            ValueInner::Array(a) => {
                if a.is_empty() {
                    m.weight = m.weight.saturating_add(1);
                }
                for e in a.iter() {
                    if !walk(e, depth + 1, cap, m) {
                        return false;
                    }
                }
            }
            ValueInner::Map(map) => {
                if map.is_empty() {
                    m.weight = m.weight.saturating_add(1);
                }
                for (k, e) in map.iter() {
                    m.weight = m.weight.saturating_add(k.as_str().map_or(1, str::len));
                    if !walk(e, depth + 1, cap, m) {
                        return false;
                    }
                }
            }
            _ => m.weight = m.weight.saturating_add(1),
        }
        m.weight <= cap
    }
    let mut m = Measure::default();
    walk(v, 0, cap, &mut m);
    m
}

/// Refuses a value the template built if it is heavier than the byte limit or nested
/// deeper than [`MAX_DEPTH`]; the weighing is work. Returns its weight.
pub(crate) fn check_value(v: &Value) -> TeraResult<usize> {
    let max = MAX_BYTES.get();
    let m = measure(v, max);
    work(m.nodes)?;
    if m.depth > MAX_DEPTH {
        return Err(over_depth(MAX_DEPTH));
    }
    if m.weight > max {
        return Err(over_bytes());
    }
    Ok(m.weight)
}

/// The work of reading `v` at its top level: a string's bytes, a list's or map's
/// elements.
pub(crate) fn top_work(v: &Value) -> usize {
    match &v.inner {
        ValueInner::String(s) => s.len(),
        ValueInner::Bytes(b) => b.len(),
        ValueInner::Array(a) => a.len(),
        ValueInner::Map(m) => m.len(),
        _ => 0,
    }
}

/// The work of making `v` (a call's result): a string's bytes, or [`ELEMENT_WORK`] for
/// every element of a list or map.
pub(crate) fn made_work(v: &Value) -> usize {
    match &v.inner {
        ValueInner::String(s) => s.len(),
        ValueInner::Bytes(b) => b.len(),
        ValueInner::Array(a) => a.len().saturating_mul(ELEMENT_WORK),
        ValueInner::Map(m) => m.len().saturating_mul(ELEMENT_WORK),
        _ => 0,
    }
}

/// Charges comparing `a` with `b` (`==`, `<`, …): nothing for a number, a boolean or
/// none; the shorter string; for two lists or maps, weighing both and the lighter one.
pub(crate) fn charge_compare(a: &Value, b: &Value) -> TeraResult<()> {
    match (&a.inner, &b.inner) {
        (ValueInner::String(x), ValueInner::String(y)) => work(x.len().min(y.len())),
        (ValueInner::Bytes(x), ValueInner::Bytes(y)) => work(x.len().min(y.len())),
        (ValueInner::Array(_), ValueInner::Array(_)) | (ValueInner::Map(_), ValueInner::Map(_)) => {
            let max = MAX_BYTES.get();
            let (ma, mb) = (measure(a, max), measure(b, max));
            work(
                ma.nodes
                    .saturating_add(mb.nodes)
                    .saturating_add(ma.weight.min(mb.weight)),
            )
        }
        _ => Ok(()),
    }
}

/// Charges looking for `needle` in `container` (`in`, `is containing`): the string
/// searched, every element of a list compared, a map's key hashed.
pub(crate) fn charge_contains(container: &Value, needle: &Value) -> TeraResult<()> {
    match &container.inner {
        ValueInner::String(s) => work(s.len().saturating_add(top_work(needle))),
        ValueInner::Array(_) => {
            let m = measure(container, MAX_BYTES.get());
            work(m.nodes.saturating_add(m.weight))
        }
        _ => work(top_work(needle)),
    }
}

/// A writer into memory that refuses to grow past the byte limit, before it grows, and
/// counts what it copies as work: every place a render formats a value or captures
/// output into memory writes through one.
pub(crate) struct CapWriter<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> CapWriter<'a> {
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Self {
        CapWriter { buf }
    }
}

impl io::Write for CapWriter<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let to_io = |e: Error| io::Error::other(e.to_string());
        if self.buf.len().saturating_add(b.len()) > MAX_BYTES.get() {
            return Err(to_io(over_bytes()));
        }
        work(b.len()).map_err(to_io)?;
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A refusal from a [`CapWriter`] as the engine's error, with its own words.
pub(crate) fn from_io(e: io::Error) -> Error {
    Error::message(e.to_string())
}

/// `v` as text (what `{{ v }}` writes, unescaped), built within the byte limit.
pub(crate) fn format_value(v: &Value) -> TeraResult<String> {
    if let ValueInner::String(s) = &v.inner {
        check_bytes(s.len())?;
        work(s.len())?;
        return Ok(s.as_str().to_string());
    }
    let mut buf = Vec::new();
    v.format(&mut CapWriter::new(&mut buf)).map_err(from_io)?;
    // Value::format writes only valid UTF-8
    Ok(String::from_utf8(buf)?)
}
