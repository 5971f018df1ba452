//! GitHub Actions workflow commands: one annotation per finding.

use crate::diagnostic::Severity;
use crate::outcome::Outcome;
use crate::text;

/// Renders `::error file=…,line=…::message` lines.
pub fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    // One annotation per finding: a container's missing settings are one
    // fix, so one note on the pull request.
    for finding in crate::group::findings(&outcome.diagnostics) {
        let file = outcome.db.file(finding.primary.file);
        let start = file.line_col(finding.primary.span.start);
        let end = file.line_col(finding.primary.span.end);
        let command = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let title = format!("kslint {}", finding.rules().join(", "));
        // Text from the tree (names, values) is cleaned first: the only
        // line breaks are the ones kslint puts before and in the help.
        let mut message = match finding.object() {
            Some(object) => {
                text::clean_line(&format!("{object}: {}", finding.message)).into_owned()
            }
            None => text::clean_line(&finding.message).into_owned(),
        };
        if let Some(help) = &finding.help {
            message.push('\n');
            message.push_str(&text::clean_block(help));
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
