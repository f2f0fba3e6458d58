//! What a rule condition may cost, bounded from its text before any customer is evaluated
//! (issue 12, item 11).
//!
//! cel has no fuel or step limit of its own, and conditions are written by credit teams:
//! one comprehension nested three deep over 100-element list literals took 35 s per
//! customer — and loading a rule file evaluates every rule on two probe customers, so
//! loading took as long. A time limit would exclude different customers on different
//! machines; a bound computed from the rule text is the same everywhere. So, like cel-go's
//! `EstimateCost` and the CEL cost limits of Kubernetes, [`estimate`] computes the
//! worst-case number of steps of a condition from its CEL tree when the rule file loads,
//! and the file is refused when one rule — or all of them together, since first-match may
//! evaluate every rule for one customer — may take more than the budget
//! ([`DEFAULT_RULE_STEPS`] unless the caller sets another).
//!
//! The bound can be sound and close because rules see only scalars: every feature is a
//! number, a boolean or a short text, and no function available to rules returns a list.
//! Every list is a literal, a `map`/`filter` result (no longer than its input) or a `+` of
//! lists, so the length of every list and the size of every text follow from the rule
//! text. The estimator keeps an upper bound of each value's [`Shape`] and charges, in
//! steps:
//! - 1 for every node evaluated;
//! - the [weight](Shape::weight) of every value an operation reads, copies or builds
//!   (1 per number, 1 per [`TEXT_BYTES_PER_STEP`] bytes of text, the sum of the elements
//!   for a list) — so `[l].map(x, x + x)[0]`, which doubles a value per level with one
//!   iteration each, costs what it copies;
//! - a comprehension (`all`, `exists`, `exists_one`, `map`, `filter`): its range and
//!   initial value, then for each element of the range the loop condition, the copy of the
//!   element and the step, then its result;
//! - `c ? a : b` the dearer branch; `a && b` and `a || b` both sides.
//!
//! Refused, as unbounded or not deterministic: a condition nested deeper than
//! [`MAX_DEPTH`] (the evaluator's stack); iterating over a map (its keys come in a
//! random order), `list + map` (the same), `matches` (it compiles a regular expression on
//! every call, at a cost that depends on the pattern in ways a bound cannot follow:
//! `a{1000}{1000}`), optional values, message literals, and every function not listed in
//! [`Walker::call`].
//!
//! A safety net keeps an estimator bug from hanging a run: [`instrument`] adds a counted
//! step (`@tick`, a name rule text cannot spell) to every loop iteration, and a customer's
//! evaluation stops once the count passes the budget. Each iteration costs at least one
//! estimated step, so a sound estimate never lets the net fire; if it does, it fires the
//! same way on every machine and that customer goes to `rejected.csv`.

use crate::features::{self, FeatureDef, Features, Value};
use cel::common::ast::operators;
use cel::common::ast::{CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::common::value::CowVal;
use cel::{ExecutionError, FunctionContext};
use std::cell::Cell;

/// Steps one customer's segmentation may take, all rules together, unless the campaign
/// sets another budget. The shipped rule files take under 100; a loop nested three deep
/// over 100-element lists takes 30 million.
pub const DEFAULT_RULE_STEPS: u64 = 10_000;

/// Bytes of text one step reads or copies.
pub const TEXT_BYTES_PER_STEP: u64 = 16;

/// The longest value of a text feature (`hold`, `kind`): words of a fixed vocabulary.
pub(super) const TEXT_FEATURE_BYTES: u64 = 32;

/// How deep a condition may nest (brackets, calls, loops): the interpreter recurses once
/// per level, with about 38 KB of stack a level in a debug build, and evaluates on worker
/// threads with 2 MB of stack. A nesting 60 deep crashed the process.
pub const MAX_DEPTH: usize = 24;

/// The longest text `string()` makes of a number or a boolean.
const NUMBER_TEXT_BYTES: u64 = 32;

/// Functions rules may call besides the operators, for the note of a refusal.
const FUNCTIONS: &str =
    "size, contains, startsWith, endsWith, int, uint, double, bool, string, bytes, dyn, type";

/// An upper bound of the values an expression may give: each kind it may be, and how big.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// A number, a boolean or null.
    scalar: bool,
    /// A string or bytes of at most this many bytes.
    text: Option<u64>,
    /// A list.
    list: Option<Seq>,
    /// A map.
    map: Option<Table>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Seq {
    len: u64,
    elem: Box<Shape>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Table {
    len: u64,
    key: Box<Shape>,
    value: Box<Shape>,
}

impl Shape {
    pub fn scalar() -> Shape {
        Shape {
            scalar: true,
            ..Shape::default()
        }
    }

    pub fn text(bytes: u64) -> Shape {
        Shape {
            text: Some(bytes),
            ..Shape::default()
        }
    }

    pub fn list(len: u64, elem: Shape) -> Shape {
        Shape {
            list: Some(Seq {
                len,
                elem: Box::new(elem),
            }),
            ..Shape::default()
        }
    }

    pub fn map(len: u64, key: Shape, value: Shape) -> Shape {
        Shape {
            map: Some(Table {
                len,
                key: Box::new(key),
                value: Box::new(value),
            }),
            ..Shape::default()
        }
    }

    /// A bound of both: a value either may give.
    pub fn join(&self, other: &Shape) -> Shape {
        Shape {
            scalar: self.scalar || other.scalar,
            text: match (self.text, other.text) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            list: match (&self.list, &other.list) {
                (Some(a), Some(b)) => Some(Seq {
                    len: a.len.max(b.len),
                    elem: Box::new(a.elem.join(&b.elem)),
                }),
                (a, b) => a.clone().or_else(|| b.clone()),
            },
            map: match (&self.map, &other.map) {
                (Some(a), Some(b)) => Some(Table {
                    len: a.len.max(b.len),
                    key: Box::new(a.key.join(&b.key)),
                    value: Box::new(a.value.join(&b.value)),
                }),
                (a, b) => a.clone().or_else(|| b.clone()),
            },
        }
    }

    /// Steps to read, compare or copy a value of this shape, at most.
    pub fn weight(&self) -> u64 {
        let scalar = u64::from(self.scalar);
        let text = self.text.map_or(0, |b| 1 + b / TEXT_BYTES_PER_STEP);
        let list = self.list.as_ref().map_or(0, |s| {
            1u64.saturating_add(s.len.saturating_mul(s.elem.weight()))
        });
        let map = self.map.as_ref().map_or(0, |t| {
            1u64.saturating_add(
                t.len
                    .saturating_mul(t.key.weight().saturating_add(t.value.weight())),
            )
        });
        scalar.max(text).max(list).max(map)
    }
}

/// One comprehension of a condition and what one evaluation of it may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loop {
    /// Its node: the parser places it at the macro's `(`.
    pub id: u64,
    /// Worst-case steps of one evaluation, nested loops included.
    pub steps: u64,
    /// Elements it may visit.
    pub len: u64,
    /// Worst-case steps per element.
    pub per_element: u64,
}

/// The worst case of one evaluation of a condition.
#[derive(Debug)]
pub struct Estimate {
    pub steps: u64,
    /// Every comprehension, outermost first (in the order they are written).
    pub loops: Vec<Loop>,
}

impl Estimate {
    /// The outermost comprehension whose one evaluation may exceed `budget`: where to
    /// point when the condition is over it.
    pub fn outermost_over(&self, budget: u64) -> Option<&Loop> {
        // Written order puts a loop before the loops nested in it, so the first one over
        // the budget is not inside another one over it.
        self.loops.iter().find(|l| l.steps > budget)
    }
}

/// Why a condition cannot be bounded (or would not be deterministic).
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The node at fault.
    pub at: u64,
    pub message: String,
    pub note: String,
}

fn refuse(at: u64, message: impl Into<String>, note: impl Into<String>) -> Refusal {
    Refusal {
        at,
        message: message.into(),
        note: note.into(),
    }
}

/// The worst-case cost of evaluating `expr` once, with the features bound.
pub fn estimate(expr: &IdedExpr) -> Result<Estimate, Refusal> {
    let mut w = Walker {
        scope: Vec::new(),
        loops: Vec::new(),
        depth: 0,
    };
    let (steps, shape) = w.walk(expr)?;
    Ok(Estimate {
        // The result is converted once more when the evaluation hands it over.
        steps: steps.saturating_add(shape.weight()),
        loops: w.loops,
    })
}

fn sum<const N: usize>(parts: [u64; N]) -> u64 {
    parts.into_iter().fold(0, u64::saturating_add)
}

/// Steps and shape of one expression.
type Walked = Result<(u64, Shape), Refusal>;

struct Walker<'e> {
    /// Comprehension variables in scope, innermost last.
    scope: Vec<(&'e str, Shape)>,
    loops: Vec<Loop>,
    /// Nodes from the root to the one being walked.
    depth: usize,
}

impl<'e> Walker<'e> {
    fn walk(&mut self, e: &'e IdedExpr) -> Walked {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(refuse(
                e.id,
                format!("the condition nests more than {MAX_DEPTH} levels deep"),
                "split it into several rules, or write it flatter",
            ));
        }
        let walked = self.node(e);
        self.depth -= 1;
        walked
    }

    fn node(&mut self, e: &'e IdedExpr) -> Walked {
        match &e.expr {
            Expr::Literal(l) => Ok((1, literal(l))),
            Expr::Ident(name) => self.ident(e.id, name),
            Expr::Select(s) => {
                let (steps, operand) = self.walk(&s.operand)?;
                if s.test {
                    return Ok((sum([steps, 1]), Shape::scalar()));
                }
                // Only maps have fields here: the features are scalars and message
                // literals are refused. On anything else it is an evaluation error.
                let value = operand.map.map(|t| *t.value).unwrap_or_default();
                Ok((sum([steps, 1, value.weight()]), value))
            }
            Expr::List(l) => {
                let mut steps = 1;
                let mut elem = Shape::default();
                for x in &l.elements {
                    let (c, s) = self.walk(x)?;
                    // Each element is copied into the new list.
                    steps = sum([steps, c, s.weight()]);
                    elem = elem.join(&s);
                }
                Ok((steps, Shape::list(l.elements.len() as u64, elem)))
            }
            Expr::Map(m) => {
                let mut steps = 1;
                let (mut key, mut value) = (Shape::default(), Shape::default());
                for entry in &m.entries {
                    let EntryExpr::MapEntry(me) = &entry.expr else {
                        return Err(refuse(entry.id, "a field in a map literal", ""));
                    };
                    let (ck, k) = self.walk(&me.key)?;
                    let (cv, v) = self.walk(&me.value)?;
                    steps = sum([steps, ck, cv, k.weight(), v.weight(), 1]);
                    key = key.join(&k);
                    value = value.join(&v);
                }
                Ok((steps, Shape::map(m.entries.len() as u64, key, value)))
            }
            Expr::Struct(_) => Err(refuse(
                e.id,
                "message literals (`Name{field: …}`) are not available in rules",
                "conditions compare features with numbers, texts and lists",
            )),
            Expr::Call(call) => self.call(e.id, call),
            Expr::Comprehension(c) => self.comprehension(e.id, c),
            Expr::Unspecified => Err(refuse(e.id, "an incomplete expression", "")),
        }
    }

    fn ident(&self, id: u64, name: &str) -> Walked {
        // Comprehension variables shadow features, as in the interpreter.
        if let Some((_, s)) = self.scope.iter().rev().find(|(n, _)| *n == name) {
            // Variables are borrowed, not copied.
            return Ok((1, s.clone()));
        }
        match features::feature(name) {
            // A feature's value is made afresh for every lookup.
            Some(f) => {
                let s = feature_shape(f);
                Ok((sum([1, s.weight()]), s))
            }
            None => Err(refuse(id, format!("unknown name `{name}`"), "")),
        }
    }

    /// Operators and the functions rules may call: each reads its operands and builds
    /// its result once.
    fn call(&mut self, id: u64, call: &'e CallExpr) -> Walked {
        let name = call.func_name.as_str();
        // The target (`x` in `x.size()`) is an operand like the others.
        let operands: Vec<&'e IdedExpr> = call
            .target
            .iter()
            .map(|t| &**t)
            .chain(call.args.iter())
            .collect();
        match name {
            operators::CONDITIONAL => {
                let [c, a, b] = operands[..] else {
                    return Err(refuse(id, "a malformed `? :`", ""));
                };
                let (cc, _) = self.walk(c)?;
                let (ca, sa) = self.walk(a)?;
                let (cb, sb) = self.walk(b)?;
                return Ok((sum([1, cc, ca.max(cb)]), sa.join(&sb)));
            }
            operators::LOGICAL_AND | operators::LOGICAL_OR => {
                let mut steps = 1;
                for o in operands {
                    steps = sum([steps, self.walk(o)?.0]);
                }
                return Ok((steps, Shape::scalar()));
            }
            operators::OPT_INDEX | operators::OPT_SELECT => {
                return Err(refuse(
                    id,
                    "optional values (`a.?b`, `a[?b]`) are not available in rules",
                    "every feature always has a value",
                ));
            }
            "matches" => {
                return Err(refuse(
                    id,
                    "`matches` is not available in rules",
                    "it compiles a regular expression on every call, at a cost no bound can \
                     follow; the text features are fixed words: compare them with `==`, \
                     `in [\"a\", \"b\"]`, `startsWith`, `endsWith` or `contains`",
                ));
            }
            _ => {}
        }
        /// What the call gives.
        enum Gives {
            Scalar,
            Plus,
            Index,
            Same,
            Text,
        }
        let kind = match name {
            operators::ADD => Gives::Plus,
            operators::INDEX => Gives::Index,
            operators::LOGICAL_NOT
            | operators::NEGATE
            | operators::NOT_STRICTLY_FALSE
            | operators::EQUALS
            | operators::NOT_EQUALS
            | operators::LESS
            | operators::LESS_EQUALS
            | operators::GREATER
            | operators::GREATER_EQUALS
            | operators::IN
            | operators::SUBSTRACT
            | operators::MULTIPLY
            | operators::DIVIDE
            | operators::MODULO
            | "size"
            | "contains"
            | "startsWith"
            | "endsWith"
            | "int"
            | "uint"
            | "double"
            | "bool"
            | "type" => Gives::Scalar,
            "dyn" => Gives::Same,
            "string" | "bytes" => Gives::Text,
            _ => {
                return Err(refuse(
                    id,
                    format!("function `{name}` is not available in rules"),
                    format!("available: the operators and {FUNCTIONS}"),
                ));
            }
        };
        let mut steps = 1;
        let mut shapes = Vec::with_capacity(operands.len());
        for o in operands {
            let (c, s) = self.walk(o)?;
            steps = sum([steps, c, s.weight()]);
            shapes.push(s);
        }
        let result = match (kind, &shapes[..]) {
            (Gives::Scalar, _) => Shape::scalar(),
            (Gives::Plus, [a, b]) => plus(id, a, b)?,
            (Gives::Index, [container, _]) => {
                let from_list = container.list.as_ref().map(|s| (*s.elem).clone());
                let from_map = container.map.as_ref().map(|t| (*t.value).clone());
                from_list
                    .unwrap_or_default()
                    .join(&from_map.unwrap_or_default())
            }
            (Gives::Same, [one]) => one.clone(),
            (Gives::Text, [one]) => {
                let mut s = Shape::default();
                if one.scalar {
                    s = Shape::text(NUMBER_TEXT_BYTES);
                }
                if let Some(b) = one.text {
                    s = s.join(&Shape::text(b));
                }
                s
            }
            // Wrong arity: an evaluation error, whatever the operands.
            _ => Shape::default(),
        };
        Ok((sum([steps, result.weight()]), result))
    }

    fn comprehension(&mut self, id: u64, c: &'e ComprehensionExpr) -> Walked {
        // Reserve this loop's place before the loops nested in it.
        let slot = self.loops.len();
        self.loops.push(Loop {
            id,
            steps: 0,
            len: 0,
            per_element: 0,
        });
        let (c_range, range) = self.walk(&c.iter_range)?;
        if range.map.is_some() {
            return Err(refuse(
                id,
                "this loop goes over a map, whose keys come in a random order: the result could differ between runs",
                "loop over a list instead, e.g. `[\"dispute\", \"legal\"].exists(h, hold == h)`",
            ));
        }
        let (len, elem) = match &range.list {
            Some(s) => (s.len, (*s.elem).clone()),
            // Not a list: an evaluation error before the first element.
            None => (0, Shape::default()),
        };
        let (c_init, init) = self.walk(&c.accu_init)?;
        let depth = self.scope.len();
        match &c.iter_var2 {
            None => self.scope.push((&c.iter_var, elem.clone())),
            Some(value) => {
                self.scope.push((&c.iter_var, Shape::scalar()));
                self.scope.push((value, elem.clone()));
            }
        }
        self.scope.push((&c.accu_var, init.clone()));
        let (c_cond, _) = self.walk(&c.loop_cond)?;
        let (steps, per_element, shape) = if let Some((guard, items)) = appends(c) {
            // `map`/`filter`: the interpreter appends to the gathered list in place.
            let c_guard = match guard {
                Some(g) => self.walk(g)?.0,
                None => 0,
            };
            let (c_items, items) = self.walk(items)?;
            let added = items.list.clone().expect("a list literal");
            let per = sum([c_cond, elem.weight(), c_guard, c_items, items.weight()]);
            let gathered = Shape::list(len.saturating_mul(added.len), *added.elem);
            (
                sum([1, c_range, c_init, len.saturating_mul(per), 1]),
                per,
                gathered,
            )
        } else {
            // Anything else steps an accumulator that must keep its shape (a boolean for
            // `all`/`exists`, a count for `exists_one`): each step may copy it.
            let (c_step, step) = self.walk(&c.loop_step)?;
            if init.join(&step) != init {
                return Err(refuse(
                    id,
                    "cannot bound what this loop accumulates",
                    "use `all`, `exists`, `exists_one`, `map` or `filter`",
                ));
            }
            let per = sum([c_cond, elem.weight(), c_step, init.weight()]);
            let (c_result, result) = self.walk(&c.result)?;
            let steps = sum([
                1,
                c_range,
                c_init,
                init.weight(),
                len.saturating_mul(per),
                c_result,
                result.weight(),
            ]);
            (steps, per, result)
        };
        self.scope.truncate(depth);
        self.loops[slot] = Loop {
            id,
            steps,
            len,
            per_element,
        };
        Ok((steps, shape))
    }
}

fn literal(l: &LiteralValue) -> Shape {
    match l {
        LiteralValue::String(s) => Shape::text(s.inner().len() as u64),
        LiteralValue::Bytes(b) => Shape::text(b.inner().len() as u64),
        LiteralValue::Boolean(_)
        | LiteralValue::Double(_)
        | LiteralValue::Int(_)
        | LiteralValue::Null
        | LiteralValue::UInt(_) => Shape::scalar(),
    }
}

fn feature_shape(f: &FeatureDef) -> Shape {
    match (f.get)(&Features::default()) {
        Value::Text(_) => Shape::text(TEXT_FEATURE_BYTES),
        Value::Int(_) | Value::Number(_) | Value::Money(_) | Value::Bool(_) => Shape::scalar(),
    }
}

/// `a + b`: numbers add, texts and lists concatenate.
fn plus(id: u64, a: &Shape, b: &Shape) -> Result<Shape, Refusal> {
    // A list takes anything iterable on the right, a map included.
    if a.list.is_some() && b.map.is_some() {
        return Err(refuse(
            id,
            "this adds a map to a list, taking its keys in a random order: the result could differ between runs",
            "add lists only",
        ));
    }
    let mut sum = Shape {
        scalar: a.scalar && b.scalar,
        text: a.text.zip(b.text).map(|(x, y)| x.saturating_add(y)),
        ..Shape::default()
    };
    if let (Some(x), Some(y)) = (&a.list, &b.list) {
        sum.list = Some(Seq {
            len: x.len.saturating_add(y.len),
            elem: Box::new(x.elem.join(&y.elem)),
        });
    }
    Ok(sum)
}

/// The parts of a `map`/`filter` comprehension — its guard, if any, and the list literal
/// each element appends — when the interpreter runs it as one (cel's `AppendStep`): the
/// accumulator starts as `[]`, the step is `@result + [e]` or `g ? @result + [e] :
/// @result`, the loop condition is a literal and the result is the accumulator.
fn appends<'c>(c: &'c ComprehensionExpr) -> Option<(Option<&'c IdedExpr>, &'c IdedExpr)> {
    let accu = c.accu_var.as_str();
    let is_accu = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if n == accu);
    let items = |e: &'c IdedExpr| -> Option<&'c IdedExpr> {
        let Expr::Call(call) = &e.expr else {
            return None;
        };
        if call.func_name != operators::ADD || call.target.is_some() {
            return None;
        }
        match call.args.as_slice() {
            [lhs, rhs] if is_accu(lhs) && matches!(rhs.expr, Expr::List(_)) => Some(rhs),
            _ => None,
        }
    };
    let empty_init = matches!(&c.accu_init.expr, Expr::List(l) if l.elements.is_empty());
    if !is_accu(&c.result) || !matches!(c.loop_cond.expr, Expr::Literal(_)) || !empty_init {
        return None;
    }
    let (guard, items) = match &c.loop_step.expr {
        Expr::Call(call) if call.func_name == operators::CONDITIONAL && call.target.is_none() => {
            match call.args.as_slice() {
                [g, step, otherwise] if is_accu(otherwise) => (Some(g), items(step)?),
                _ => return None,
            }
        }
        _ => (None, items(&c.loop_step)?),
    };
    // What is appended must not read what was gathered (rule text cannot name it).
    if guard.is_some_and(|g| mentions(g, accu)) || mentions(items, accu) {
        return None;
    }
    Some((guard, items))
}

/// Whether `e` reads the variable `name` where it is not rebound by a nested loop.
fn mentions(e: &IdedExpr, name: &str) -> bool {
    match &e.expr {
        Expr::Ident(n) => n == name,
        Expr::Call(c) => {
            c.target.as_deref().is_some_and(|t| mentions(t, name))
                || c.args.iter().any(|a| mentions(a, name))
        }
        Expr::Select(s) => mentions(&s.operand, name),
        Expr::List(l) => l.elements.iter().any(|x| mentions(x, name)),
        Expr::Map(m) => m.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(me) => mentions(&me.key, name) || mentions(&me.value, name),
            EntryExpr::StructField(f) => mentions(&f.value, name),
        }),
        Expr::Struct(s) => s.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(me) => mentions(&me.key, name) || mentions(&me.value, name),
            EntryExpr::StructField(f) => mentions(&f.value, name),
        }),
        Expr::Comprehension(c) => {
            let rebound =
                c.iter_var == name || c.iter_var2.as_deref() == Some(name) || c.accu_var == name;
            mentions(&c.iter_range, name)
                || mentions(&c.accu_init, name)
                || (!rebound
                    && [&c.loop_cond, &c.loop_step, &c.result]
                        .into_iter()
                        .any(|p| mentions(p, name)))
        }
        Expr::Literal(_) | Expr::Unspecified => false,
    }
}

/// The counted step added to every loop iteration; rule text cannot spell the name.
pub(super) const TICK: &str = "@tick";

thread_local! {
    /// Loop iterations of the customer being evaluated on this thread.
    static TICKS: Cell<u64> = const { Cell::new(0) };
}

/// Starts counting one customer's loop iterations (all rules together).
pub(super) fn start_count() {
    TICKS.with(|t| t.set(0));
}

/// Whether this thread's customer went over `limit` iterations.
pub(super) fn count_exceeded(limit: u64) -> bool {
    TICKS.with(|t| t.get() > limit)
}

/// cel's native function type (named `Function` inside cel, which does not export it).
pub(super) type Native = Box<
    dyn for<'c, 'k> Fn(&mut FunctionContext<'c, 'k>) -> Result<CowVal<'c, 'k>, ExecutionError>
        + Send
        + Sync,
>;

/// `@tick(x)`: counts one iteration and gives `x` back, or fails past `limit`.
pub(super) fn counter(limit: u64) -> Native {
    Box::new(move |ftx| {
        let n = TICKS.with(|t| {
            let n = t.get().saturating_add(1);
            t.set(n);
            n
        });
        if n > limit {
            return Err(ExecutionError::function_error(
                TICK,
                format!("more than {limit} loop iterations"),
            ));
        }
        ftx.args
            .pop()
            .ok_or_else(|| ExecutionError::function_error(TICK, "no argument"))
    })
}

/// `expr` with a counted step in every loop iteration, evaluated before that iteration's
/// work, placed so that the interpreter still appends `map`/`filter` results in place.
pub fn instrument(expr: &IdedExpr) -> IdedExpr {
    let mut e = expr.clone();
    add_ticks(&mut e);
    e
}

fn tick(e: IdedExpr) -> IdedExpr {
    IdedExpr {
        id: e.id,
        expr: Expr::Call(CallExpr {
            func_name: TICK.to_string(),
            target: None,
            args: vec![e],
        }),
    }
}

fn add_ticks(e: &mut IdedExpr) {
    match &mut e.expr {
        Expr::Call(c) => {
            if let Some(t) = &mut c.target {
                add_ticks(t);
            }
            c.args.iter_mut().for_each(add_ticks);
        }
        Expr::Select(s) => add_ticks(&mut s.operand),
        Expr::List(l) => l.elements.iter_mut().for_each(add_ticks),
        Expr::Map(m) => {
            for entry in &mut m.entries {
                if let EntryExpr::MapEntry(me) = &mut entry.expr {
                    add_ticks(&mut me.key);
                    add_ticks(&mut me.value);
                }
            }
        }
        Expr::Comprehension(c) => {
            for part in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                add_ticks(part);
            }
            let guarded = appends(c).map(|(guard, _)| guard.is_some());
            match guarded {
                // `g ? @result + [e] : @result` → `@tick(g) ? …`
                Some(true) => {
                    if let Expr::Call(step) = &mut c.loop_step.expr {
                        let g = std::mem::take(&mut step.args[0]);
                        step.args[0] = tick(g);
                    }
                }
                // `@result + [e]` → `@tick(true) ? @result + [e] : @result`
                Some(false) => {
                    let append = std::mem::take(&mut c.loop_step);
                    let id = append.id;
                    c.loop_step = IdedExpr {
                        id,
                        expr: Expr::Call(CallExpr {
                            func_name: operators::CONDITIONAL.to_string(),
                            target: None,
                            args: vec![
                                tick(IdedExpr {
                                    id,
                                    expr: Expr::Literal(LiteralValue::Boolean(true.into())),
                                }),
                                append,
                                IdedExpr {
                                    id,
                                    expr: Expr::Ident(c.accu_var.clone()),
                                },
                            ],
                        }),
                    };
                }
                // Anything else: the loop condition, evaluated before every element.
                None => {
                    let cond = std::mem::take(&mut c.loop_cond);
                    c.loop_cond = tick(cond);
                }
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Struct(_) | Expr::Unspecified => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{CustomerKind, Hold};

    fn program(text: &str) -> cel::Program {
        super::super::parse_cel(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn steps(text: &str) -> u64 {
        estimate(program(text).expression())
            .unwrap_or_else(|r| panic!("{text}: {r:?}"))
            .steps
    }

    /// Steps and shape of `text` as a part of a condition.
    fn walked(text: &str) -> (u64, Shape) {
        let p = program(text);
        let mut w = Walker {
            scope: Vec::new(),
            loops: Vec::new(),
            depth: 0,
        };
        w.walk(p.expression())
            .unwrap_or_else(|r| panic!("{text}: {r:?}"))
    }

    fn shape(text: &str) -> Shape {
        walked(text).1
    }

    fn part(text: &str) -> u64 {
        walked(text).0
    }

    fn refusal(text: &str) -> Refusal {
        match estimate(program(text).expression()) {
            Ok(e) => panic!("{text}: accepted at {} steps", e.steps),
            Err(r) => r,
        }
    }

    /// `[0, 1, …, n-1]`.
    fn range(n: usize) -> String {
        let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        format!("[{}]", items.join(", "))
    }

    #[test]
    fn literal_sizes() {
        assert_eq!(shape("[1, 2.5, true]"), Shape::list(3, Shape::scalar()));
        assert_eq!(shape("'abc' + 'de'"), Shape::text(5));
        assert_eq!(shape("b'abc'"), Shape::text(3));
        assert_eq!(
            shape("[[1, 2], [3]]"),
            Shape::list(2, Shape::list(2, Shape::scalar()))
        );
        assert_eq!(
            shape("{'a': [1], 'bc': [2, 3]}"),
            Shape::map(2, Shape::text(2), Shape::list(2, Shape::scalar()))
        );
        assert_eq!(shape("hold"), Shape::text(TEXT_FEATURE_BYTES));
        assert_eq!(shape("late_ratio"), Shape::scalar());
        // What an operation charges: 1, plus its operands (evaluated and read), plus
        // its result; and the condition's result is read once more when handed over.
        assert_eq!(part("1 < 2"), 1 + (1 + 1) + (1 + 1) + 1);
        assert_eq!(steps("1 < 2"), part("1 < 2") + 1);
        assert_eq!(steps("[1, 2]"), part("[1, 2]") + 3);
        // Text is read 16 bytes a step.
        assert_eq!(Shape::text(64).weight(), 5);
        assert!(steps(&format!("hold == '{}'", "x".repeat(1600))) > 100);
        // A list weighs its elements.
        assert_eq!(
            Shape::list(10, Shape::list(3, Shape::scalar())).weight(),
            41
        );
    }

    #[test]
    fn nested_comprehensions_multiply() {
        let nested = |n: usize| {
            let l = range(n);
            format!("{l}.exists(a, {l}.exists(b, a + b == open_invoices))")
        };
        let e = estimate(program(&nested(10)).expression()).unwrap();
        assert_eq!(e.loops.len(), 2);
        let (outer, inner) = (e.loops[0], e.loops[1]);
        assert_eq!((outer.len, inner.len), (10, 10));
        assert!(outer.per_element > inner.steps, "{outer:?} {inner:?}");
        assert!(outer.steps > 10 * inner.steps);
        // Twice the lists, four times the work.
        let (s10, s20) = (steps(&nested(10)), steps(&nested(20)));
        assert!(s20 > 3 * s10 && s20 < 5 * s10, "{s10} {s20}");
        // Three deep over 100 elements: far over the default budget.
        let l = range(100);
        let hostile = format!("{l}.exists(a, {l}.exists(b, {l}.exists(c, a + b + c < 0)))");
        let e = estimate(program(&hostile).expression()).unwrap();
        assert!(e.steps > 1000 * DEFAULT_RULE_STEPS, "{}", e.steps);
        // The outermost loop over the budget is the first one.
        assert_eq!(e.outermost_over(DEFAULT_RULE_STEPS), Some(&e.loops[0]));
        // One loop over 100 elements nested in a cheap one: the inner one is the culprit
        // only when the outer one is within the budget — it is not here.
        let e = estimate(
            program(&format!("[1].all(a, {l}.exists(b, {l}.exists(c, b == c)))")).expression(),
        )
        .unwrap();
        assert_eq!(e.outermost_over(DEFAULT_RULE_STEPS), Some(&e.loops[0]));
        let e = estimate(
            program(&format!(
                "[1].all(a, a > 0) && {l}.exists(b, {l}.exists(c, b == c))"
            ))
            .expression(),
        )
        .unwrap();
        assert_eq!(e.outermost_over(DEFAULT_RULE_STEPS), Some(&e.loops[1]));
    }

    #[test]
    fn map_and_filter_result_sizes() {
        assert_eq!(
            shape("[1, 2, 3].map(x, x * 2)"),
            Shape::list(3, Shape::scalar())
        );
        // At most as long as the input.
        assert_eq!(
            shape("[1, 2, 3].filter(x, x > 1)"),
            Shape::list(3, Shape::scalar())
        );
        assert_eq!(
            shape("[1, 2, 3].map(x, x > 1, [x, x])"),
            Shape::list(3, Shape::list(2, Shape::scalar()))
        );
        assert_eq!(
            shape("[[1, 2], [3]].map(x, x + x)"),
            Shape::list(2, Shape::list(4, Shape::scalar()))
        );
        assert_eq!(
            shape("[1, 2] + [1, 2, 3].filter(x, x > 1)"),
            Shape::list(5, Shape::scalar())
        );
        assert_eq!(
            shape("[hold].map(h, h + h)[0]"),
            Shape::text(2 * TEXT_FEATURE_BYTES)
        );
        // Booleans and counts for the others.
        assert_eq!(shape("[1, 2].exists_one(x, x > 1)"), Shape::scalar());
        // A map's result is charged by what it builds: appending is linear, not quadratic.
        let (s100, s200) = (
            steps(&format!("size({}.map(x, x + 1)) > 0", range(100))),
            steps(&format!("size({}.map(x, x + 1)) > 0", range(200))),
        );
        assert!(s200 < 2 * s100 + 10, "{s100} {s200}");
    }

    /// `[v].map(x, x + x)[0]` doubles `v` with one iteration per level.
    #[test]
    fn doubling_without_loops_is_charged_and_refused() {
        let doubled = |start: &str, levels: usize| {
            (0..levels).fold(start.to_string(), |e, _| format!("[{e}].map(x, x + x)[0]"))
        };
        let text = format!("'{}'", "x".repeat(16_000));
        for start in [text.as_str(), &range(1000)] {
            let (s4, s7) = (steps(&doubled(start, 4)), steps(&doubled(start, 7)));
            // Eight times the copying; the loops themselves are the same.
            assert!(s7 > 7 * s4, "{s4} {s7}");
            assert!(s7 > 10 * DEFAULT_RULE_STEPS, "{s7}");
        }
        // Deeper is refused for its depth alone (see `MAX_DEPTH`).
        let r = refusal(&format!("size({}) > 0", doubled("'ab'", 8)));
        assert!(r.message.contains("nests more than 24 levels"), "{r:?}");
        // Sizes saturate instead of overflowing.
        let huge = Shape::list(u64::MAX, Shape::text(u64::MAX));
        assert_eq!(huge.weight(), u64::MAX);
        assert_eq!(Shape::list(3, huge.clone()).weight(), u64::MAX, "{huge:?}");
    }

    #[test]
    fn iterating_a_map_is_refused() {
        for text in [
            "{'a': 1, 'b': 2}.exists(k, k == 'a')",
            "{'a': 1}.map(k, k)[0] == 'a'",
            "[true ? {'a': 1} : [1]].all(m, m.all(k, true))",
        ] {
            let r = refusal(text);
            assert!(r.message.contains("random order"), "{text}: {r:?}");
        }
        let r = refusal("size([1] + {'a': 1}) > 0");
        assert!(r.message.contains("adds a map to a list"), "{r:?}");
        // Reading a map is fine.
        assert_eq!(steps("{'a': 1}['a'] == 1"), steps("{'a': 1}['a'] == 1"));
        assert!(steps("'a' in {'a': 1} && {'a': 1}.a == 1") < 50);
    }

    #[test]
    fn conditional_charges_the_dearer_branch() {
        let cheap = "open_invoices > 1";
        let dear = format!("{}.exists(x, x == open_invoices)", range(50));
        let both = part(&format!("has_history ? {cheap} : {dear}"));
        assert_eq!(both, 1 + part("has_history") + part(&dear));
        assert_eq!(
            part(&format!("has_history ? {dear} : {cheap}")),
            both,
            "whichever side it is on"
        );
        // `&&` and `||` may evaluate both sides.
        assert_eq!(
            part(&format!("{cheap} && {dear}")),
            1 + part(cheap) + part(&dear)
        );
    }

    #[test]
    fn what_cannot_be_bounded_is_refused() {
        let r = refusal("hold.matches('^d.*')");
        assert!(r.message.contains("`matches` is not available"), "{r:?}");
        let r = refusal("hold.lowerAscii() == 'x'");
        assert!(
            r.message.contains("function `lowerAscii` is not available"),
            "{r:?}"
        );
        assert!(r.note.contains("size, contains"), "{r:?}");
        let r = refusal("timestamp('2026-01-01T00:00:00Z') > timestamp('2025-01-01T00:00:00Z')");
        assert!(r.message.contains("`timestamp`"), "{r:?}");
        // (Optional syntax, `a.?b`, is already a syntax error for `Program::compile`.)
        let r = refusal("Foo{a: 1} == 1");
        assert!(r.message.contains("message literals"), "{r:?}");
        // The refusal points at the offending node.
        let p = program("open_invoices > 1 && hold.matches('x')");
        let r = estimate(p.expression()).unwrap_err();
        let (start, _) = p.source_info().offset_for(r.at).unwrap();
        assert_eq!(
            &"open_invoices > 1 && hold.matches('x')"[start as usize..][..1],
            "("
        );
    }

    #[test]
    fn ordinary_conditions_are_cheap() {
        for text in [
            "!has_history",
            "promises_broken >= 1 && (reminders_ignored >= 2 || max_days_past_due > 60)",
            "hold in ['dispute', 'legal'] && overdue_amount > 500 && (late_ratio >= 0.5 || !has_history)",
            "kind == 'company' && size(hold) == 0",
        ] {
            assert!(steps(text) < 100, "{text}: {}", steps(text));
        }
    }

    /// The estimator's bound on text features holds for every value they can take.
    #[test]
    fn text_features_fit_their_bound() {
        let values = Hold::ALL
            .iter()
            .map(|h| h.as_str())
            .chain(CustomerKind::ALL.iter().map(|k| k.as_str()));
        for v in values {
            assert!(v.len() as u64 <= TEXT_FEATURE_BYTES, "{v}");
        }
        let text: Vec<&str> = features::FEATURES
            .iter()
            .filter(|f| matches!((f.get)(&Features::default()), Value::Text(_)))
            .map(|f| f.name)
            .collect();
        assert_eq!(
            text,
            ["hold", "kind"],
            "a new text feature needs its bound checked here"
        );
    }

    /// Evaluates the instrumented `text` with a loop limit: the value, or the error.
    fn run(text: &str, limit: u64) -> std::result::Result<cel::Value, String> {
        let mut root = cel::Context::default();
        root.add_function::<Native, _>(TICK, counter(limit))
            .unwrap();
        root.add_variable_from_value("open_invoices", 2i64);
        let expr = instrument(program(text).expression());
        start_count();
        root.resolve(&expr).map_err(|e| e.to_string())
    }

    #[test]
    fn the_safety_net_counts_every_iteration_and_changes_no_result() {
        for text in [
            "[1, 2, 3].all(x, x > 0)",
            "[1, 2, 3].exists(x, x == open_invoices)",
            "[1, 2, 3].exists_one(x, x > 2)",
            "[1, 2, 3].map(x, x * 2) == [2, 4, 6]",
            "[1, 2, 3].map(x, x > 1, x * 2) == [4, 6]",
            "[1, 2, 3].filter(x, x > 1) == [2, 3]",
            "[[1], [2, 3]].map(l, l.filter(x, x > 1)) == [[], [3]]",
            "[1, 2].all(x, [1, 2].exists(y, x == y))",
        ] {
            let plain = cel::Program::compile(text).unwrap();
            let mut ctx = cel::Context::default();
            ctx.add_variable_from_value("open_invoices", 2i64);
            let expected = plain.execute(&ctx).unwrap();
            assert_eq!(run(text, 100), Ok(expected.clone()), "{text}");
            // Never more iterations than estimated steps.
            let estimated = steps(text);
            start_count();
            let _ = run(text, u64::MAX);
            assert!(!count_exceeded(estimated), "{text}");
        }
        // Three elements, three counts; nested: 2 + 2 × 2.
        assert!(run("[1, 2, 3].all(x, x > 0)", 3).is_ok());
        let stopped = run("[1, 2, 3].all(x, x > 0)", 2).unwrap_err();
        assert!(stopped.contains("more than 2 loop iterations"), "{stopped}");
        assert!(run("[1, 2].all(x, [1, 2].all(y, x > 0))", 6).is_ok());
        assert!(run("[1, 2].all(x, [1, 2].all(y, x > 0))", 5).is_err());
        assert!(run("[1, 2, 3].map(x, x * 2) == [2, 4, 6]", 2).is_err());
        assert!(run("[1, 2, 3].filter(x, x > 1) == [2, 3]", 2).is_err());
        assert!(run("[1, 2, 3].exists_one(x, x > 2)", 2).is_err());
    }
}
