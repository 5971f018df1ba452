//! GitLab Code Quality: a JSON array of issues, shown in merge requests.

use crate::diagnostic::Severity;
use crate::outcome::Outcome;
use serde::Serialize;

#[derive(Serialize)]
struct Issue<'a> {
    description: String,
    check_name: &'a str,
    fingerprint: String,
    severity: &'static str,
    categories: [&'static str; 1],
    location: Location<'a>,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
    end: u32,
}

/// Renders the findings as a Code Quality report.
pub fn render(outcome: &Outcome) -> String {
    let fingerprints = super::sarif::fingerprints(outcome);
    let issues: Vec<Issue> = outcome
        .diagnostics
        .iter()
        .zip(fingerprints)
        .map(|(d, fingerprint)| {
            let file = outcome.db.file(d.primary.file);
            let mut description = match &d.object {
                Some(object) => format!("{object}: {}", d.message),
                None => d.message.clone(),
            };
            if let Some(help) = &d.help {
                description.push_str(". ");
                description.push_str(help);
            }
            Issue {
                description,
                check_name: d.rule,
                // GitLab matches issues across pipelines by fingerprint.
                fingerprint: format!("{}:{fingerprint}", d.rule),
                severity: match d.severity {
                    Severity::Error => "critical",
                    Severity::Warning => "major",
                    Severity::Note => "info",
                },
                categories: ["Security"],
                location: Location {
                    path: &file.name,
                    lines: Lines {
                        begin: file.line_col(d.primary.span.start).line,
                        end: file.line_col(d.primary.span.end).line,
                    },
                },
            }
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&issues).expect("serializable");
    text.push('\n');
    text
}
