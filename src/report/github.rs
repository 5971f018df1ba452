//! GitHub Actions workflow commands: one annotation per finding.

use crate::diagnostic::Severity;
use crate::runner::Outcome;

/// Renders `::error file=…,line=…::message` lines.
pub fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    for d in &outcome.diagnostics {
        let file = outcome.db.file(d.primary.file);
        let start = file.line_col(d.primary.span.start);
        let end = file.line_col(d.primary.span.end);
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let title = format!("kslint {}", d.rule);
        let mut message = match &d.object {
            Some(object) => format!("{object}: {}", d.message),
            None => d.message.clone(),
        };
        if let Some(help) = &d.help {
            message.push('\n');
            message.push_str(help);
        }
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            property(&file.name),
            start.line,
            start.column,
            end.line,
            end.column,
            property(&title),
            data(&message)
        ));
    }
    out
}

/// Escapes a workflow command's message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}
