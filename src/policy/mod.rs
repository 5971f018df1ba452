//! Users' own policies: custom rules in CEL from the config, and the
//! ValidatingAdmissionPolicies of the linted tree, evaluated statically.

pub mod admission;
pub mod cost;
pub mod custom;
pub mod expression;
pub mod field_path;
pub mod library;
pub mod pass;
pub mod resources;
pub mod validate;

use crate::diagnostic::{Diagnostic, Severity};
use crate::settings::Settings;
use crate::source::{SourceDb, SourceFile};

/// Reports what is wrong in custom rules (expressions that do not compile,
/// or fail on objects) at their lines in the config, and merges repeats of
/// one expression's failure, in the config or a policy, into one finding
/// that counts the objects.
pub fn report_config_problems(
    settings: &Settings,
    errors: Vec<custom::RuntimeError>,
    db: &mut SourceDb,
    out: &mut Vec<Diagnostic>,
) {
    if !settings.is_enabled(admission::EXPRESSION_ERROR) {
        out.retain(|d| d.rule != admission::EXPRESSION_ERROR);
        return;
    }
    let severity = Settings::rule_index(admission::EXPRESSION_ERROR)
        .ok()
        .and_then(|i| settings.severity[i])
        .unwrap_or(Severity::Error);
    if let Some(custom) = settings.custom_rules.as_deref() {
        let ids: Vec<crate::source::FileId> = custom
            .sources
            .iter()
            .map(|s| db.push(SourceFile::new(s.name.clone(), s.text.clone())))
            .collect();
        let help = "Fix the expression in the custom rule; until then the rule does not judge these objects.";
        for (at, why) in &custom.problems {
            out.push(
                Diagnostic::new(
                    admission::EXPRESSION_ERROR,
                    severity,
                    ids[at.file.0 as usize],
                    at.span,
                    format!("this custom rule's expression does not compile: {why}"),
                )
                .with_help(help),
            );
        }
        for error in errors {
            out.push(
                Diagnostic::new(
                    admission::EXPRESSION_ERROR,
                    severity,
                    ids[error.at.file.0 as usize],
                    error.at.span,
                    format!(
                        "custom rule `{}` fails on {}: {}",
                        error.rule, error.object, error.why
                    ),
                )
                .with_help(help),
            );
        }
    }
    merge_repeats(out, severity);
}

/// One finding per failing expression: the first object's error, with how
/// many more objects it failed on.
fn merge_repeats(out: &mut Vec<Diagnostic>, severity: Severity) {
    let mut first: std::collections::HashMap<
        (crate::source::FileId, crate::yaml::Span),
        (usize, usize),
    > = Default::default();
    let mut keep = vec![true; out.len()];
    for (i, d) in out.iter().enumerate() {
        if d.rule != admission::EXPRESSION_ERROR {
            continue;
        }
        match first.get_mut(&(d.primary.file, d.primary.span)) {
            Some((_, more)) => {
                *more += 1;
                keep[i] = false;
            }
            None => {
                first.insert((d.primary.file, d.primary.span), (i, 0));
            }
        }
    }
    for (at, more) in first.values() {
        out[*at].severity = severity;
        if *more > 0 {
            out[*at]
                .message
                .push_str(&format!(" (and on {more} more objects)"));
        }
    }
    let mut i = 0;
    out.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}
