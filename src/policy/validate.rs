//! What custom rules and admission policies share: validations evaluated
//! over one object's bindings, in order, with `variables` composed as the
//! API server does, under a run-wide budget.

use super::expression::{Bindings, EVALUATION_LIMIT, Expression, map_of, measure, over_limit};
use super::field_path::Step;
use crate::yaml::Span;
use cel::objects::Value;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a run may spend on evaluations, in cost units (about 40 ns
/// each): this much, plus [`PER_BYTE`] for each byte of text it lints. A
/// tree of expensive policies stops being evaluated (each further
/// evaluation is an error that says so) instead of taking unbounded time,
/// and the budget grows with the input, so real repositories never meet it.
pub const RUN_BUDGET: u64 = 100_000_000;

/// Cost units a run earns per byte of text it lints.
pub const PER_BYTE: u64 = 20;

/// What a run has left to spend on evaluations.
pub struct Budget {
    left: AtomicU64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            left: AtomicU64::new(RUN_BUDGET),
        }
    }
}

impl Budget {
    /// Adds what a text of `bytes` bytes earns.
    pub fn earn(&self, bytes: usize) {
        self.left
            .fetch_add(PER_BYTE.saturating_mul(bytes as u64), Ordering::Relaxed);
    }

    /// Takes `cost` from the budget; false if it was spent.
    fn take(&self, cost: f64) -> bool {
        let cost = cost.max(1.0).min(u64::MAX as f64) as u64;
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(cost)
            })
            .is_ok()
    }
}

/// Where a piece of a policy is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The file: an index into the policy's sources, or a run's file.
    pub file: crate::source::FileId,
    /// The span.
    pub span: Span,
}

/// One compiled validation.
#[derive(Debug)]
pub struct Validation {
    /// The expression that must be true.
    pub expression: Expression,
    /// Where it is written.
    pub at: Place,
    /// The fixed message, if any.
    pub message: Option<String>,
    /// The message expression, if any, with where it is written.
    pub message_expression: Option<(Expression, Place)>,
    /// Where the finding goes in the object.
    pub field_path: Option<Vec<Step>>,
    /// The expression's text, for the default message.
    pub text: String,
}

/// A named variable.
#[derive(Debug)]
pub struct Variable {
    /// Its name under `variables`.
    pub name: String,
    /// Its expression.
    pub expression: Expression,
    /// Where it is written.
    pub at: Place,
}

/// The outcome of one validation on one object.
#[derive(Debug)]
pub enum Outcome {
    /// It held.
    Pass,
    /// It was false: the message to show and the field to point at.
    Fail {
        /// The message.
        message: String,
    },
    /// Evaluating it failed: where and why.
    Error {
        /// The expression (or variable, or message expression) that failed.
        at: Place,
        /// Why.
        why: String,
    },
}

/// Evaluates `variables`, then each validation, for one object. `bindings`
/// hold `object` and the rest; `variables` is added here.
pub fn run(
    variables: &[Variable],
    validations: &[Validation],
    bindings: &Bindings,
    budget: &Budget,
) -> Vec<Outcome> {
    let mut bindings = bindings.clone();
    let mut errors: Vec<(String, Place, String)> = Vec::new();
    if !variables.is_empty() {
        let mut values: Vec<(String, Value)> = Vec::new();
        let set = |bindings: &mut Bindings, values: &[(String, Value)]| {
            let map = map_of(values.iter().cloned());
            let size = measure(&map);
            bindings.set("variables", map, size);
        };
        for variable in variables {
            set(&mut bindings, &values);
            match evaluate(&variable.expression, &bindings, budget) {
                Ok(value) => values.push((variable.name.clone(), value)),
                Err(why) => errors.push((variable.name.clone(), variable.at, why)),
            }
        }
        set(&mut bindings, &values);
    }
    validations
        .iter()
        .map(|validation| {
            let failed_variable = |why: &str| {
                errors.iter().find(|(name, _, _)| {
                    why.contains(&format!("`{name}`")) && validation.text.contains(name.as_str())
                })
            };
            match evaluate(&validation.expression, &bindings, budget) {
                Ok(Value::Bool(true)) => Outcome::Pass,
                Ok(Value::Bool(false)) => Outcome::Fail {
                    message: message(validation, &bindings, budget),
                },
                Ok(other) => Outcome::Error {
                    at: validation.at,
                    why: format!("it must evaluate to a bool, not {}", other.type_of()),
                },
                Err(why) => match failed_variable(&why) {
                    Some((name, at, first)) => Outcome::Error {
                        at: *at,
                        why: format!("variable `{name}` failed: {first}"),
                    },
                    None => Outcome::Error {
                        at: validation.at,
                        why,
                    },
                },
            }
        })
        .collect()
}

/// Whether an evaluation error is one of kslint's own bounds (the per-call
/// limit or the run's budget) rather than the expression failing.
pub fn is_bound(why: &str) -> bool {
    why.contains(LIMIT_WORDS) || why.contains(BUDGET_WORDS)
}

const LIMIT_WORDS: &str = "over the limit of";
const BUDGET_WORDS: &str = "evaluation budget is spent";

/// Evaluates one expression if its cost bound is within the per-call limit
/// and what the run has left.
pub fn evaluate(
    expression: &Expression,
    bindings: &Bindings,
    budget: &Budget,
) -> Result<Value, String> {
    let bound = expression.bound(bindings);
    if bound > EVALUATION_LIMIT {
        return Err(over_limit(bound, EVALUATION_LIMIT));
    }
    if !budget.take(bound) {
        return Err(format!(
            "the run's evaluation budget is spent ({RUN_BUDGET} cost units, plus {PER_BYTE} per byte linted); the tree's policies are too expensive to evaluate in full"
        ));
    }
    expression.execute(bindings)
}

/// The message of a failed validation: the message expression's result if
/// it gives a non-empty string, else the message, else upstream's default.
fn message(validation: &Validation, bindings: &Bindings, budget: &Budget) -> String {
    if let Some((expression, _)) = &validation.message_expression
        && let Ok(Value::String(text)) = evaluate(expression, bindings, budget)
        && !text.trim().is_empty()
    {
        return text.trim().to_owned();
    }
    match &validation.message {
        Some(message) if !message.trim().is_empty() => message.trim().to_owned(),
        _ => format!("failed expression: {}", validation.text.trim()),
    }
}
