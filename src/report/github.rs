//! GitHub Actions workflow commands: one annotation per finding.

use crate::diagnostic::Severity;
use crate::outcome::Outcome;
use crate::text;

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
        // Text from the tree (names, values) is cleaned first: the only
        // line break is the one kslint puts before the help.
        let mut message = match &d.object {
            Some(object) => text::clean_line(&format!("{object}: {}", d.message)).into_owned(),
            None => text::clean_line(&d.message).into_owned(),
        };
        if let Some(help) = &d.help {
            message.push('\n');
            message.push_str(&text::clean_line(help));
        }
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            property(&text::clean_line(&file.name)),
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
