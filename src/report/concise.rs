//! Concise output: one line per finding, `file:line:col: severity[rules]
//! message`, as compilers, ruff and eslint print them: for editors that
//! jump to a place, for grep and for CI logs.

use crate::group::Finding;
use crate::outcome::Outcome;
use crate::text;

/// Renders every finding, one per line, and the summary line.
pub fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    for finding in crate::group::findings(&outcome.diagnostics) {
        out.push_str(&line(outcome, &finding));
        out.push('\n');
    }
    out.push_str(&super::summary_line(outcome));
    out.push('\n');
    out
}

/// `deploy/web.yaml:16:11: warning[net-raw] Deployment web: container ...`
pub fn line(outcome: &Outcome, finding: &Finding) -> String {
    let (file, at) = outcome.place(finding.primary.file, finding.primary.span);
    let message = match finding.object() {
        Some(object) => format!("{object}: {}", finding.message),
        None => finding.message.clone(),
    };
    text::clean_line(&format!(
        "{file}:{}:{}: {}[{}] {message}",
        at.line,
        at.column,
        finding.severity,
        finding.rules().join(",")
    ))
    .into_owned()
}
