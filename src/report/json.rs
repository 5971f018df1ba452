//! The JSON contract of RULES.md, field for field.

use crate::diagnostic::Diagnostic;
use crate::runner::Outcome;
use crate::source::SourceDb;
use serde_json::{Value, json};

/// Renders the outcome as the versioned JSON document.
pub fn render(outcome: &Outcome) -> String {
    let diagnostics: Vec<Value> = outcome
        .diagnostics
        .iter()
        .map(|d| diagnostic(d, &outcome.db))
        .collect();
    let document = json!({
        "version": 1,
        "diagnostics": diagnostics,
        "summary": outcome.summary,
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

fn diagnostic(d: &Diagnostic, db: &SourceDb) -> Value {
    let file = db.file(d.primary.file);
    let start = file.line_col(d.primary.span.start);
    let end = file.line_col(d.primary.span.end);
    let related: Vec<Value> = d
        .related
        .iter()
        .map(|label| {
            let file = db.file(label.file);
            let at = file.line_col(label.span.start);
            json!({"file": file.name, "line": at.line, "column": at.column, "message": label.message})
        })
        .collect();
    json!({
        "rule": d.rule,
        "severity": d.severity,
        "message": d.message,
        "file": file.name,
        "line": start.line,
        "column": start.column,
        "end_line": end.line,
        "end_column": end.column,
        "object": d.object,
        "help": d.help,
        "related": related,
    })
}
