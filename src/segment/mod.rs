//! Behavioural segmentation: ordered rules in CEL, first match wins.
//!
//! Rules are written by credit teams in `segments/*.yaml`, in CEL (the Common Expression
//! Language: a standard, side-effect free, familiar from Kubernetes and Firebase) over
//! the [`FEATURES`](crate::features::FEATURES). A rule file is checked completely before
//! any customer is evaluated — syntax, unknown names, clusters, types, reachability — and
//! every assignment records the rule that fired and the feature values it looked at, so a
//! credit manager can answer "why was this customer treated as unwilling?".
//!
//! What a rule may cost is bounded from its text when the file loads, before the probe
//! evaluations: see [`cost`].

mod cost;

pub use cost::DEFAULT_RULE_STEPS;

use crate::dataset::Dataset;
use crate::diag::{Defect, Diagnostic, Error, Result, Severity, did_you_mean, line_col};
use crate::features::{self, Features, Value, feature, feature_names};
use crate::spans::parse_yaml;
use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::common::value::CowVal;
use cel::context::VariableResolver;
use chrono::NaiveDate;
use rayon::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::path::{Path, PathBuf};
use std::sync::Arc;

crate::dataset::vocabulary!(
    /// The behavioural clusters of the credit-management literature.
    Cluster {
        Forgetful = "forgetful",
        ChronicLate = "chronic_late",
        Unable = "unable",
        Unwilling = "unwilling",
        NoHistory = "no_history",
    }
);

impl Cluster {
    /// The cluster as the credit team reads it in the report and the gallery; files and
    /// the terminal keep the word (`chronic_late`).
    pub fn label(self) -> &'static str {
        match self {
            Cluster::Forgetful => "Forgetful",
            Cluster::ChronicLate => "Chronically late",
            Cluster::Unable => "Unable to pay",
            Cluster::Unwilling => "Unwilling to pay",
            Cluster::NoHistory => "No payment history",
        }
    }

    /// The label of a cluster's word; the word made readable if it is none.
    pub fn label_of(word: &str) -> String {
        Cluster::parse(word).map_or_else(|_| crate::dataset::humanize(word), |c| c.label().into())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    cluster: Spanned<String>,
    #[serde(default)]
    when: Option<Spanned<String>>,
    #[serde(default)]
    because: Option<String>,
}

/// One checked rule.
pub struct Rule {
    pub name: String,
    pub cluster: Cluster,
    /// `None` for the fallback rule; with a counted step in every loop ([`cost::instrument`]).
    condition: Option<IdedExpr>,
    pub when: Option<String>,
    /// Plain-language reason, shown to credit managers and available to templates.
    pub because: String,
    /// Features the condition names, in order of first mention.
    pub features: Vec<&'static str>,
    pub line: usize,
    /// Worst-case evaluation steps of the condition ([`cost::estimate`]); 0 for the fallback.
    pub steps: u64,
}

/// An ordered, fully checked rule file.
pub struct RuleSet {
    pub file: PathBuf,
    pub rules: Vec<Rule>,
    /// Features named by any rule, in rule order: the explanation columns.
    pub features: Vec<&'static str>,
    /// Steps one customer's evaluation may take, all rules together.
    pub budget: u64,
    root: cel::Context<'static, 'static>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("file", &self.file)
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// Where a rule's condition text starts in the YAML file, to map CEL positions back.
struct Origin {
    line: usize,
    column: usize,
    /// The scalar was quoted: its text starts one character after `column`.
    quoted: bool,
    /// A block scalar (`|`, `>`): the text starts at `line`, `column` already.
    block: bool,
}

impl Origin {
    fn at(&self, text: &str, offset: usize) -> (usize, usize) {
        let (l, c) = line_col(text, offset);
        if l == 1 {
            (
                self.line,
                self.column + c - 1 + usize::from(self.quoted && !self.block),
            )
        } else {
            // Later lines of a multi-line scalar: indentation is the scalar's column.
            (
                self.line + l - 1,
                if self.block { self.column + c - 1 } else { c },
            )
        }
    }
}

impl RuleSet {
    /// Loads a rule file under the default budget, [`DEFAULT_RULE_STEPS`].
    pub fn load(path: &Path) -> Result<RuleSet> {
        RuleSet::load_with_budget(path, DEFAULT_RULE_STEPS)
    }

    /// Loads a rule file whose rules, all together, may take at most `steps` evaluation
    /// steps per customer (see [`cost`]); a rule file over it is refused.
    pub fn load_with_budget(path: &Path, steps: u64) -> Result<RuleSet> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        RuleSet::parse_with_budget(path, &text, steps)
    }

    /// Parses and checks a rule file under the default budget.
    pub fn parse(path: &Path, text: &str) -> Result<RuleSet> {
        RuleSet::parse_with_budget(path, text, DEFAULT_RULE_STEPS)
    }

    /// Parses and checks a rule file, reporting every problem at once.
    pub fn parse_with_budget(path: &Path, text: &str, budget: u64) -> Result<RuleSet> {
        let raw: RawRules = parse_yaml(path, text)?;
        let source_lines: Vec<&str> = text.lines().collect();
        let mut diags = Vec::new();
        let at =
            |s: &Spanned<String>| (s.referenced.line() as usize, s.referenced.column() as usize);
        if raw.rules.is_empty() {
            diags.push(
                Diagnostic::whole_file(path, "no rules: every customer would be left unassigned")
                    .note("add at least one rule, the last one without `when` (the fallback)"),
            );
        }
        let mut root = cel::Context::default();
        root.add_function::<cost::Native, _>(cost::TICK, cost::counter(budget))
            .expect("`@tick` is no standard function");
        let mut rules: Vec<Rule> = Vec::new();
        // The running total of worst-case steps, for the budget of the whole file.
        let mut total: u64 = 0;
        let mut costs: Vec<String> = Vec::new();
        let mut total_over: Option<Diagnostic> = None;
        let mut fallback: Option<(String, usize)> = None;
        for r in &raw.rules {
            let (line, column) = at(&r.name);
            if let Some(prev) = rules.iter().find(|p| p.name == r.name.value) {
                diags.push(
                    Diagnostic::error(
                        path,
                        line,
                        column,
                        format!(
                            "rule name `{}` is used twice (first on line {})",
                            r.name.value, prev.line
                        ),
                    )
                    .width(r.name.value.chars().count()),
                );
            }
            if let Some((name, fl)) = &fallback {
                diags.push(
                    Diagnostic::error(path, line, column, format!("rule `{}` can never fire: it comes after the fallback rule `{name}` (line {fl})", r.name.value))
                        .width(r.name.value.chars().count())
                        .note("move the fallback (the rule without `when`) to the end"),
                );
            }
            let cluster = match Cluster::parse(&r.cluster.value) {
                Ok(c) => Some(c),
                Err(_) => {
                    let (l, c) = at(&r.cluster);
                    let known: Vec<&str> = Cluster::ALL.iter().map(|c| c.as_str()).collect();
                    let mut d = Diagnostic::error(
                        path,
                        l,
                        c,
                        format!("unknown cluster `{}`", r.cluster.value),
                    )
                    .width(r.cluster.value.chars().count())
                    .note(format!("known clusters: {}", known.join(", ")));
                    if let Some(s) = did_you_mean(&r.cluster.value, known.iter().copied()) {
                        d.message.push_str(&format!(" — did you mean `{s}`?"));
                    }
                    diags.push(d);
                    None
                }
            };
            let mut rule_features = Vec::new();
            let mut steps = 0;
            let condition = match &r.when {
                None => {
                    fallback = Some((r.name.value.clone(), line));
                    None
                }
                Some(when) if when.value.trim() == "true" => {
                    fallback = Some((r.name.value.clone(), line));
                    None
                }
                Some(when) => {
                    let (l, c) = at(when);
                    let first = source_lines
                        .get(l.saturating_sub(1))
                        .and_then(|s| s.chars().nth(c.saturating_sub(1)));
                    let origin = Origin {
                        line: l,
                        column: c,
                        quoted: matches!(first, Some('"' | '\'')),
                        block: !matches!(first, Some('"' | '\'')) && when.value.contains('\n'),
                    };
                    let compiled = compile(
                        path,
                        &r.name.value,
                        &when.value,
                        &origin,
                        budget,
                        &mut rule_features,
                        &mut diags,
                    );
                    compiled.map(|(condition, cost)| {
                        steps = cost;
                        total = total.saturating_add(cost);
                        costs.push(format!("`{}` {}", r.name.value, steps_text(cost)));
                        if total > budget && total_over.is_none() {
                            let text = &when.value;
                            let (l, c) = origin.at(text, text.len() - text.trim_start().len());
                            total_over = Some(
                                Diagnostic::error(
                                    path,
                                    l,
                                    c,
                                    format!(
                                        "rule `{}`: the rules up to this one may take {} steps per customer together, over the budget of {}",
                                        r.name.value,
                                        steps_text(total),
                                        steps_text(budget)
                                    ),
                                )
                                .width(when.value.trim().chars().count().clamp(1, 60))
                                .note("a customer no rule matches is evaluated by every rule, so their costs add up")
                                .note(format!("steps per rule: {}", costs.join(", ")))
                                .note(budget_note(budget)),
                            );
                        }
                        condition
                    })
                }
            };
            if let Some(cluster) = cluster {
                rules.push(Rule {
                    name: r.name.value.clone(),
                    cluster,
                    condition,
                    when: r.when.as_ref().map(|w| w.value.trim().to_string()),
                    because: r.because.clone().unwrap_or_else(|| {
                        r.when
                            .as_ref()
                            .map_or("fallback".into(), |w| w.value.trim().to_string())
                    }),
                    features: rule_features,
                    line,
                    steps,
                });
            }
        }
        if fallback.is_none() && !raw.rules.is_empty() {
            let last = raw.rules.last().unwrap();
            let (l, c) = at(&last.name);
            diags.push(
                Diagnostic::error(path, l, c, "no fallback rule: customers that match no condition would be left unassigned")
                    .width(last.name.value.chars().count())
                    .note("end the list with a rule without `when`, e.g. `- {name: default, cluster: forgetful}`"),
            );
        }
        diags.extend(total_over);
        // Type errors (comparing a text feature with a number, a condition that is not
        // true/false) only show when evaluated: try every rule on two feature sets — only
        // once every rule is known to be within the budget.
        if diags.is_empty() {
            for rule in &rules {
                let Some(condition) = &rule.condition else {
                    continue;
                };
                for probe in [Features::default(), probe_features()] {
                    cost::start_count();
                    if let Err(msg) = eval(&root, condition, budget, &probe) {
                        let r = raw
                            .rules
                            .iter()
                            .find(|r| r.name.value == rule.name)
                            .unwrap();
                        let (l, c) = at(r.when.as_ref().unwrap());
                        diags.push(
                            Diagnostic::error(path, l, c, format!("rule `{}`: {msg}", rule.name))
                                .width(
                                    rule.when.as_deref().unwrap_or("").chars().count().min(60) + 2,
                                ),
                        );
                        break;
                    }
                }
            }
        }
        if !diags.is_empty() {
            return Err(Error::Config(diags));
        }
        let mut features: Vec<&'static str> = Vec::new();
        for r in &rules {
            for f in &r.features {
                if !features.contains(f) {
                    features.push(f);
                }
            }
        }
        Ok(RuleSet {
            file: path.to_path_buf(),
            rules,
            features,
            budget,
            root,
        })
    }
}

/// A customer whose features look like a real debtor's, so that type errors in
/// conditions that only bite on non-zero values show too.
fn probe_features() -> Features {
    Features {
        overdue_amount: rust_decimal::Decimal::new(12345, 2),
        max_days_past_due: 40,
        open_invoices: 2,
        overdue_invoices: 1,
        settled_invoices: 4,
        on_time_ratio: 0.5,
        late_ratio: 0.5,
        avg_days_late: 9.5,
        days_since_last_payment: 30,
        has_history: true,
        hold: "dispute",
        kind: "person",
        ..Features::default()
    }
}

/// The condition ready to evaluate and its worst-case steps, or `None` with `diags` saying
/// why: a syntax error, an unknown feature, or a cost over `budget` or beyond any bound.
fn compile(
    path: &Path,
    rule: &str,
    text: &str,
    origin: &Origin,
    budget: u64,
    used: &mut Vec<&'static str>,
    diags: &mut Vec<Diagnostic>,
) -> Option<(IdedExpr, u64)> {
    let program = match parse_cel(text) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors.errors {
                let (l, c) = (e.pos.0.max(1) as usize, e.pos.1.max(0) as usize);
                let offset: usize = text
                    .split_inclusive('\n')
                    .take(l - 1)
                    .map(str::len)
                    .sum::<usize>()
                    + text
                        .lines()
                        .nth(l - 1)
                        .map_or(0, |s| s.char_indices().nth(c).map_or(s.len(), |(i, _)| i));
                let (line, column) = origin.at(text, offset);
                diags.push(
                    Diagnostic::error(path, line, column, format!("rule `{rule}`: {}", tidy_cel_error(&e.msg)))
                        .note("conditions are CEL expressions, e.g. `late_ratio >= 0.5 && avg_days_late > 7`"),
                );
            }
            return None;
        }
    };
    let mut idents = Vec::new();
    collect_idents(program.expression(), &mut Vec::new(), &mut idents);
    let mut ok = true;
    for (name, id) in idents {
        if let Some(f) = feature(&name) {
            if !used.contains(&f.name) {
                used.push(f.name);
            }
            continue;
        }
        ok = false;
        let offset = program
            .source_info()
            .offset_for(id)
            .map_or(0, |(s, _)| s as usize);
        let (line, column) = origin.at(text, offset);
        let mut d = Diagnostic::error(
            path,
            line,
            column,
            format!("rule `{rule}`: unknown feature `{name}`"),
        )
        .width(name.chars().count())
        .note(format!(
            "known features: {}",
            feature_names().collect::<Vec<_>>().join(", ")
        ));
        if let Some(s) = did_you_mean(&name, feature_names()) {
            d.message.push_str(&format!(" — did you mean `{s}`?"));
        }
        diags.push(d);
    }
    if !ok {
        return None;
    }
    // The cost, before anything evaluates the condition (the probes in
    // `parse_with_budget`). `place` gives (line, column, width, text underlined) of a node.
    let place = |id: u64| {
        let offset = program
            .source_info()
            .offset_for(id)
            .map_or(0, |(s, _)| s as usize);
        let span = caret(text, offset);
        let (line, column) = origin.at(text, span.start);
        let under = &text[span];
        (line, column, under.chars().count().max(1), under)
    };
    let estimate = match cost::estimate(program.expression()) {
        Ok(e) => e,
        Err(refusal) => {
            let (line, column, width, _) = place(refusal.at);
            let mut d = Diagnostic::error(
                path,
                line,
                column,
                format!("rule `{rule}`: {}", refusal.message),
            )
            .width(width);
            if !refusal.note.is_empty() {
                d = d.note(refusal.note);
            }
            diags.push(d.note("rules may only use what dunwell can bound the cost of: see docs/segmentation.md, \"Cost limit\""));
            return None;
        }
    };
    if estimate.steps > budget {
        let message = format!(
            "rule `{rule}` may take {} steps per customer, over the budget of {}",
            steps_text(estimate.steps),
            steps_text(budget)
        );
        let d = match estimate.outermost_over(budget) {
            Some(l) => {
                let (line, column, width, name) = place(l.id);
                Diagnostic::error(path, line, column, message)
                    .width(width)
                    .note(format!(
                        "this `{name}` goes over up to {} elements at up to {} steps each: nested loops multiply",
                        steps_text(l.len),
                        steps_text(l.per_element)
                    ))
            }
            None => {
                let (line, column) = origin.at(text, text.len() - text.trim_start().len());
                Diagnostic::error(path, line, column, message)
                    .width(text.trim().chars().count().clamp(1, 60))
                    .note("no single loop is over the budget: the parts of the condition add up")
            }
        };
        diags.push(d.note(budget_note(budget)));
        return None;
    }
    Some((cost::instrument(program.expression()), estimate.steps))
}

/// What to underline for a node at byte `offset` of `text`: the parser places a call or
/// a loop (`exists`, `map`, …) at its `(`, so the caret goes under the name before it.
fn caret(text: &str, offset: usize) -> std::ops::Range<usize> {
    if text.get(offset..).is_some_and(|t| t.starts_with('(')) {
        let before = text[..offset].trim_end();
        let start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map(|(i, _)| i);
        if let Some(start) = start {
            return start..before.len();
        }
    }
    let start = if text.is_char_boundary(offset) {
        offset.min(text.len())
    } else {
        0
    };
    let end = text[start..]
        .chars()
        .next()
        .map_or(start, |c| start + c.len_utf8());
    start..end
}

/// A step count for people: `30,301,201`; astronomic ones as "more than 10^18".
fn steps_text(n: u64) -> String {
    if n > 1_000_000_000_000_000_000 {
        return "more than 10^18".to_string();
    }
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn budget_note(budget: u64) -> String {
    format!(
        "the budget is {} steps per customer for all rules together; a step is one operation \
         on one value (docs/segmentation.md, \"Cost limit\")",
        steps_text(budget)
    )
}

/// Stack for cel's parser: room for the deepest nesting its recursion limit lets through.
const PARSER_STACK: usize = 256 << 20;

/// `cel::Program::compile` on a thread with a large stack: the generated ANTLR parser
/// takes about 130 KB of stack per nested bracket in a debug build, and a rule with 60
/// nested brackets overflowed the main thread's stack (SIGABRT) before cel's recursion
/// limit could refuse it. The stack is reserved, not committed: unused, it costs nothing.
pub(crate) fn parse_cel(text: &str) -> std::result::Result<cel::Program, cel::ParseErrors> {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("cel-parse".into())
            .stack_size(PARSER_STACK)
            .spawn_scoped(s, || cel::Program::compile(text))
            .expect("a thread for the rule parser")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Strips ANTLR's token list from a CEL syntax error: people need the place, not the grammar.
fn tidy_cel_error(msg: &str) -> String {
    match msg.split_once(" expecting ") {
        Some((head, _)) => format!("{} (expected an operand or a closing bracket)", head.trim()),
        None => msg.to_string(),
    }
}

/// Identifiers the expression reads, with their node ids; comprehension variables
/// (`x` in `list.all(x, …)`) are bound, not features.
fn collect_idents(e: &IdedExpr, bound: &mut Vec<String>, out: &mut Vec<(String, u64)>) {
    match &e.expr {
        Expr::Ident(name) => {
            if !bound.contains(name) {
                out.push((name.clone(), e.id));
            }
        }
        Expr::Call(call) => {
            if let Some(t) = &call.target {
                collect_idents(t, bound, out);
            }
            for a in &call.args {
                collect_idents(a, bound, out);
            }
        }
        Expr::Select(sel) => collect_idents(&sel.operand, bound, out),
        Expr::List(list) => {
            for el in &list.elements {
                collect_idents(el, bound, out);
            }
        }
        Expr::Comprehension(c) => {
            collect_idents(&c.iter_range, bound, out);
            let n = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            bound.push(c.accu_var.clone());
            for part in [&c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                collect_idents(part, bound, out);
            }
            bound.truncate(n);
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                match &entry.expr {
                    EntryExpr::MapEntry(e) => {
                        collect_idents(&e.key, bound, out);
                        collect_idents(&e.value, bound, out);
                    }
                    EntryExpr::StructField(f) => collect_idents(&f.value, bound, out),
                }
            }
        }
        Expr::Struct(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// Hands feature values to CEL on demand: no per-customer map is built.
struct Resolver<'a>(&'a Features);

impl VariableResolver for Resolver<'_> {
    fn resolve<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        let v = match (feature(name)?.get)(self.0) {
            Value::Int(i) => cel::Value::Int(i),
            Value::Number(r) => cel::Value::Float(r),
            // Rules compare amounts with thresholds; the money itself stays decimal.
            Value::Money(m) => cel::Value::Float(m.to_f64().unwrap_or(f64::MAX)),
            Value::Bool(b) => cel::Value::Bool(b),
            Value::Text(t) => cel::Value::String(Arc::new(t.to_string())),
        };
        let boxed: Box<dyn cel::common::value::Val> = v.try_into().ok()?;
        Some(CowVal::Owned(boxed))
    }
}

/// One condition on one customer; the caller starts the customer's loop count
/// ([`cost::start_count`]).
fn eval(
    root: &cel::Context<'_, '_>,
    condition: &IdedExpr,
    budget: u64,
    f: &Features,
) -> std::result::Result<bool, String> {
    let resolver = Resolver(f);
    let mut ctx = root.new_inner_scope();
    ctx.set_variable_resolver(&resolver);
    match ctx.resolve(condition) {
        Ok(cel::Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!(
            "the condition gives {other:?}, not true or false (expected a comparison such as `x > 3`)"
        )),
        // The safety net fired: the estimate let through more than it should have.
        Err(_) if cost::count_exceeded(budget) => Err(format!(
            "stopped after {budget} loop iterations, the budget for one customer (a bug in \
             dunwell's cost estimate: please report the rule)"
        )),
        Err(e) => Err(format!("cannot be evaluated: {e}")),
    }
}

/// One customer's cluster and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub cluster: Cluster,
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
}

/// Every accepted customer's features and cluster; customers whose evaluation failed
/// are moved to `failures` (they go to `rejected.csv`, never silently lost).
#[derive(Debug, Default)]
pub struct Segmentation {
    pub features: Vec<Features>,
    /// `None` where the customer's evaluation failed (see `failures`).
    pub assignments: Vec<Option<Assignment>>,
    pub failures: Vec<Defect>,
}

/// An assignment, or the index of the rule whose condition failed and why.
pub type Assigned = std::result::Result<Assignment, (usize, String)>;

impl RuleSet {
    /// The first rule that holds for `f`.
    pub fn assign(&self, f: &Features) -> Assigned {
        cost::start_count();
        for (i, rule) in self.rules.iter().enumerate() {
            let hit = match &rule.condition {
                None => true,
                Some(c) => eval(&self.root, c, self.budget, f).map_err(|e| (i, e))?,
            };
            if hit {
                return Ok(Assignment {
                    cluster: rule.cluster,
                    rule: i,
                });
            }
        }
        // The checks guarantee a fallback; this only fires if that invariant is broken.
        Err((self.rules.len().saturating_sub(1), "no rule matched".into()))
    }

    /// The features a rule used, with their values: the "because" of an assignment.
    pub fn evidence(&self, a: &Assignment, f: &Features) -> Vec<(&'static str, Value)> {
        self.rules[a.rule]
            .features
            .iter()
            .map(|n| (*n, (feature(n).unwrap().get)(f)))
            .collect()
    }
}

/// Features and clusters of every customer, in parallel; output order is input order.
pub fn segment(data: &Dataset, rules: &RuleSet, as_of: NaiveDate) -> Segmentation {
    let (features, assigned): (Vec<Features>, Vec<Assigned>) = (0..data.len())
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let f = features::compute(&data.view(i), as_of);
            let a = rules.assign(&f);
            (f, a)
        })
        .unzip();
    let file: Arc<str> = Arc::from(rules.file.display().to_string());
    let mut failures = Vec::new();
    let assignments = assigned
        .into_iter()
        .enumerate()
        .map(|(i, a)| match a {
            Ok(a) => Some(a),
            Err((rule, msg)) => {
                let r = &rules.rules[rule];
                failures.push(Defect {
                    file: file.clone(),
                    line: r.line as u64,
                    column: Some("when"),
                    customer_id: Some(Box::from(data.customers[i].id())),
                    message: format!("rule `{}` {msg}", r.name),
                    severity: Severity::Error,
                });
                None
            }
        })
        .collect();

    Segmentation {
        features,
        assignments,
        failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<RuleSet, Vec<Diagnostic>> {
        RuleSet::parse(Path::new("r.yaml"), text).map_err(|e| match e {
            Error::Config(d) => d,
            other => panic!("{other}"),
        })
    }

    #[test]
    fn first_match_wins_and_explains() {
        let rs = parse(
            "rules:\n  - name: late\n    cluster: chronic_late\n    when: \"late_ratio >= 0.5 && avg_days_late > 7\"\n  - name: rest\n    cluster: forgetful\n",
        )
        .unwrap();
        let f = Features {
            late_ratio: 0.6,
            avg_days_late: 10.0,
            ..Features::default()
        };
        let a = rs.assign(&f).unwrap();
        assert_eq!(a.cluster, Cluster::ChronicLate);
        let ev = rs.evidence(&a, &f);
        assert_eq!(ev[0].0, "late_ratio");
        assert_eq!(ev[1].1.to_string(), "10.000");
        assert_eq!(
            rs.assign(&Features::default()).unwrap().cluster,
            Cluster::Forgetful
        );
    }

    /// The forms docs/segmentation.md promises.
    #[test]
    fn documented_cel_forms_work() {
        let rs = parse(
            "rules:\n  - name: a\n    cluster: unable\n    when: 'hold in [\"dispute\", \"legal\"] && overdue_amount > 500 && (late_ratio >= 0.5 || !has_history)'\n  - name: b\n    cluster: forgetful\n",
        )
        .unwrap();
        let f = Features {
            hold: "legal",
            overdue_amount: rust_decimal::Decimal::new(50001, 2),
            late_ratio: 0.5,
            has_history: true,
            ..Features::default()
        };
        assert_eq!(rs.assign(&f).unwrap().cluster, Cluster::Unable);
        let f = Features {
            hold: "hardship",
            ..f
        };
        assert_eq!(rs.assign(&f).unwrap().cluster, Cluster::Forgetful);
    }

    #[test]
    fn unknown_feature_points_at_it() {
        let d = parse("rules:\n  - name: late\n    cluster: chronic_late\n    when: \"late_ration > 0.5\"\n  - name: rest\n    cluster: forgetful\n")
            .unwrap_err();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].line, d[0].column), (4, 12));
        assert!(
            d[0].message.contains("did you mean `late_ratio`"),
            "{}",
            d[0].message
        );
    }

    /// Names inside map literals were not checked (nor shown as evidence).
    #[test]
    fn features_inside_map_literals_are_checked() {
        let d = parse("rules:\n  - name: a\n    cluster: unable\n    when: \"{'x': late_ration}['x'] > 0.5\"\n  - name: rest\n    cluster: forgetful\n").unwrap_err();
        assert!(
            d[0].to_string().starts_with(
                "r.yaml:4:18: rule `a`: unknown feature `late_ration` — did you mean `late_ratio`?"
            ),
            "{}",
            d[0]
        );
        let rs = parse("rules:\n  - name: a\n    cluster: unable\n    when: \"{'x': late_ratio}['x'] > 0.5\"\n  - name: rest\n    cluster: forgetful\n").unwrap();
        assert_eq!(rs.rules[0].features, ["late_ratio"]);
    }

    #[test]
    fn every_problem_at_once() {
        let d = parse(
            "rules:\n  - name: a\n    cluster: unwiling\n    when: \"x > \"\n  - name: b\n    cluster: forgetful\n    when: \"late_ratio > 1\"\n",
        )
        .unwrap_err();
        let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert!(
            text.iter().any(|t| t
                .contains("r.yaml:3:14: unknown cluster `unwiling` — did you mean `unwilling`?")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.starts_with("r.yaml:4:")), "{text:?}");
        assert!(
            text.iter().any(|t| t.contains("no fallback rule")),
            "{text:?}"
        );
    }

    #[test]
    fn type_errors_are_caught_before_any_customer() {
        let d = parse("rules:\n  - name: a\n    cluster: unable\n    when: \"hold > 3\"\n  - name: b\n    cluster: forgetful\n").unwrap_err();
        assert!(
            d[0].message.contains("cannot be evaluated"),
            "{}",
            d[0].message
        );
        let d = parse("rules:\n  - name: a\n    cluster: unable\n    when: \"open_invoices + 1\"\n  - name: b\n    cluster: forgetful\n").unwrap_err();
        assert!(
            d[0].message.contains("not true or false"),
            "{}",
            d[0].message
        );
    }

    /// `[0, 1, …, n-1]`.
    fn range(n: usize) -> String {
        let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        format!("[{}]", items.join(","))
    }

    /// A loop nested three deep over 100 elements: the 35 s per customer, and
    /// loading evaluated it twice (40 s in a debug build).
    fn hostile() -> String {
        let l = range(100);
        format!(
            "rules:\n  - name: late\n    cluster: chronic_late\n    when: late_ratio > 0.5\n  - name: nested\n    cluster: unwilling\n    when: \"{l}.exists(a, {l}.exists(b, {l}.exists(c, a + b + c < open_invoices)))\"\n  - name: rest\n    cluster: forgetful\n"
        )
    }

    #[test]
    fn a_rule_over_the_budget_is_refused_before_any_evaluation() {
        let text = hostile();
        let started = std::time::Instant::now();
        let d = parse(&text).unwrap_err();
        // The probes alone took 40 s in a debug build: they must not have run.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(d.len(), 1, "{d:?}");
        let column = text.lines().nth(6).unwrap().find(".exists(").unwrap() + 2;
        let message = d[0].to_string();
        assert!(
            message.starts_with(&format!("r.yaml:7:{column}: rule `nested` may take "))
                && message.ends_with(" steps per customer, over the budget of 10,000"),
            "{message}"
        );
        assert_eq!(d[0].width, "exists".len());
        assert!(
            d[0].notes[0].contains("this `exists` goes over up to 100 elements at up to "),
            "{:?}",
            d[0].notes
        );
        assert!(d[0].notes[1].contains("the budget is 10,000 steps per customer"));
    }

    #[test]
    fn the_budget_is_configurable_and_exact() {
        let text = "rules:\n  - name: a\n    cluster: unable\n    when: \"[1, 2, 3].exists(x, x == open_invoices)\"\n  - name: rest\n    cluster: forgetful\n";
        let rs = parse(text).unwrap();
        let steps = rs.rules[0].steps;
        assert!(steps > 20 && steps < 100, "{steps}");
        let at = |budget| RuleSet::parse_with_budget(Path::new("r.yaml"), text, budget);
        assert!(at(steps).is_ok());
        let Err(Error::Config(d)) = at(steps - 1) else {
            panic!("accepted over the budget")
        };
        assert!(
            d[0].message
                .contains(&format!("over the budget of {}", steps - 1)),
            "{}",
            d[0]
        );
        // One step under, the loop alone is within it (handing the result over is the
        // one step outside it): the caret is on the whole condition; two under, on the loop.
        assert_eq!((d[0].line, d[0].column), (4, 12), "{}", d[0]);
        let Err(Error::Config(d)) = at(steps - 2) else {
            panic!("accepted over the budget")
        };
        assert_eq!((d[0].line, d[0].column, d[0].width), (4, 22, 6), "{}", d[0]);
        // Two loops, each within the budget, together over it.
        let text = text.replace(
            "open_invoices)",
            "open_invoices) || [1, 2, 3].exists(x, x == 5)",
        );
        let steps = RuleSet::parse(Path::new("r.yaml"), &text).unwrap().rules[0].steps;
        let Err(Error::Config(d)) =
            RuleSet::parse_with_budget(Path::new("r.yaml"), &text, steps - 1)
        else {
            panic!("accepted over the budget")
        };
        assert_eq!((d[0].line, d[0].column), (4, 12), "{}", d[0]);
        assert!(d[0].notes[0].contains("no single loop"), "{:?}", d[0].notes);
        // Raising the budget lets a dearer rule in.
        let l = range(20);
        let text = format!(
            "rules:\n  - name: a\n    cluster: unable\n    when: \"{l}.exists(x, {l}.exists(y, x + y == open_invoices))\"\n  - name: rest\n    cluster: forgetful\n"
        );
        assert!(parse(&text).is_err());
        assert!(
            RuleSet::parse_with_budget(Path::new("r.yaml"), &text, 2 * DEFAULT_RULE_STEPS).is_ok()
        );
    }

    #[test]
    fn the_rules_together_are_within_the_budget() {
        let l = range(12);
        let rule = |name: &str| {
            format!(
                "  - name: {name}\n    cluster: unable\n    when: \"{l}.exists(x, {l}.exists(y, x + y == open_invoices))\"\n"
            )
        };
        let text = format!(
            "rules:\n{}{}{}  - name: rest\n    cluster: forgetful\n",
            rule("a"),
            rule("b"),
            rule("c")
        );
        let one = parse(&format!(
            "rules:\n{}  - name: rest\n    cluster: forgetful\n",
            rule("a")
        ))
        .unwrap()
        .rules[0]
            .steps;
        assert!(
            one > DEFAULT_RULE_STEPS / 3 && one <= DEFAULT_RULE_STEPS / 2,
            "{one}"
        );
        let d = parse(&text).unwrap_err();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].to_string().starts_with(&format!(
                "r.yaml:10:12: rule `c`: the rules up to this one may take {} steps per customer together, over the budget of 10,000",
                steps_text(3 * one)
            )),
            "{}",
            d[0]
        );
    }

    #[test]
    fn unboundable_conditions_point_at_the_culprit() {
        let d = parse("rules:\n  - name: a\n    cluster: unable\n    when: \"open_invoices > 1 && {'a': 1}.exists(k, k == hold)\"\n  - name: rest\n    cluster: forgetful\n").unwrap_err();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].to_string()
                .starts_with("r.yaml:4:42: rule `a`: this loop goes over a map"),
            "{}",
            d[0]
        );
        let d = parse("rules:\n  - name: a\n    cluster: unable\n    when: \"hold.matches('^d')\"\n  - name: rest\n    cluster: forgetful\n").unwrap_err();
        assert!(
            d[0].to_string()
                .starts_with("r.yaml:4:17: rule `a`: `matches` is not available"),
            "{}",
            d[0]
        );
        assert_eq!(d[0].width, "matches".len());
    }

    /// The safety net: were an estimate too low, the customer's evaluation would stop at
    /// the budget — and the customer is a segmentation failure, not a hung run.
    #[test]
    fn evaluation_stops_at_the_budget() {
        let mut rs = parse("rules:\n  - name: a\n    cluster: unable\n    when: \"[1, 2, 3].exists(x, x == 5)\"\n  - name: rest\n    cluster: forgetful\n").unwrap();
        assert_eq!(
            rs.assign(&Features::default()).unwrap().cluster,
            Cluster::Forgetful
        );
        // As if the estimate had allowed it: three iterations against a limit of two.
        rs.root = cel::Context::default();
        rs.root
            .add_function::<cost::Native, _>(cost::TICK, cost::counter(2))
            .unwrap();
        rs.budget = 2;
        let (rule, msg) = rs.assign(&Features::default()).unwrap_err();
        assert_eq!(rule, 0);
        assert!(msg.contains("stopped after 2 loop iterations"), "{msg}");
        // The count is per customer: the next one starts afresh, with the same outcome.
        assert_eq!(rs.assign(&Features::default()).unwrap_err().1, msg);
    }

    /// cel's parser and interpreter overflowed the stack on 60 nested brackets (SIGABRT):
    /// the parser gets a large stack, and the nesting is limited before any evaluation.
    #[test]
    fn deeply_nested_conditions_are_refused_without_a_crash() {
        for (depth, expected) in [
            // At the 24th level: `size(` and `>` are two, so the 22nd bracket.
            (
                60,
                "r.yaml:4:39: rule `a`: the condition nests more than 24 levels deep",
            ),
            (300, "Recursion limit of 96 exceeded"),
        ] {
            let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            let text = format!(
                "rules:\n  - name: a\n    cluster: unable\n    when: \"size({nested}) > 0\"\n  - name: rest\n    cluster: forgetful\n"
            );
            let d = parse(&text).unwrap_err();
            assert!(d[0].to_string().contains(expected), "{}", d[0]);
        }
        // 20 levels are fine.
        let nested = format!("{}1{}", "[".repeat(20), "]".repeat(20));
        parse(&format!("rules:\n  - name: a\n    cluster: unable\n    when: \"size({nested}) > 0\"\n  - name: rest\n    cluster: forgetful\n")).unwrap();
    }

    /// The shipped rule files, far below the default budget.
    #[test]
    fn shipped_rules_are_cheap() {
        for file in ["segments/default.yaml", "tests/fixtures/rules/strict.yaml"] {
            let rs = RuleSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
            let costs: Vec<u64> = rs.rules.iter().map(|r| r.steps).collect();
            let total: u64 = costs.iter().sum();
            eprintln!("{file}: {costs:?} = {total}");
            assert!(total < DEFAULT_RULE_STEPS / 50, "{file}: {costs:?}");
        }
    }

    #[test]
    fn rules_after_the_fallback_are_unreachable() {
        let d = parse("rules:\n  - name: all\n    cluster: forgetful\n  - name: late\n    cluster: unable\n    when: \"bounced_payments > 1\"\n").unwrap_err();
        assert!(
            d[0].to_string()
                .contains("r.yaml:4:11: rule `late` can never fire"),
            "{}",
            d[0]
        );
    }
}
