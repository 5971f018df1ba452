//! A Markdown summary: counts and a table of findings, for a CI job summary
//! (`$GITHUB_STEP_SUMMARY`) or a pull request comment.

use crate::diagnostic::Severity;
use crate::outcome::Outcome;
use crate::text;
use std::fmt::Write;

/// More rows make the summary too large for GitHub (1 MiB per step).
const MAX_ROWS: usize = 500;

/// Makes text safe inside a table cell: one line, no table breaks, no
/// HTML, and no Markdown (a name like `![x](https://…)` must not become an
/// image or a link): every character that can open markup is escaped.
fn cell(raw: &str) -> String {
    let cleaned = text::clean_line(raw);
    let mut out = String::with_capacity(cleaned.len());
    for c in cleaned.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '!' | '|' | '~' | '$' | '#' => {
                out.push('\\');
                out.push(c);
            }
            // GitHub links bare addresses (`user@host`, `https://…`,
            // `www.…`); written as references, they stay text.
            '@' => out.push_str("&#64;"),
            ':' if out
                .get(out.len().saturating_sub(5)..)
                .is_some_and(|end| end.to_ascii_lowercase().ends_with("http"))
                || out
                    .get(out.len().saturating_sub(5)..)
                    .is_some_and(|end| end.eq_ignore_ascii_case("https")) =>
            {
                out.push_str("&#58;")
            }
            '.' if out
                .get(out.len().saturating_sub(3)..)
                .is_some_and(|end| end.eq_ignore_ascii_case("www")) =>
            {
                out.push_str("&#46;")
            }
            c => out.push(c),
        }
    }
    out
}

/// Makes text safe as a code span in a table cell: the fence is longer
/// than any run of backticks inside, so no text can close it early.
fn code(raw: &str) -> String {
    let text = text::clean_line(raw).replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A space keeps a backtick at either end from joining the fence.
    if longest > 0 {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// Renders the outcome as Markdown.
pub fn render(outcome: &Outcome) -> String {
    let s = &outcome.summary;
    let (errors, warnings, notes) = crate::group::counts(&outcome.diagnostics);
    let mut out = String::from("## kslint\n\n");
    let _ = writeln!(
        out,
        "{errors} errors, {warnings} warnings, {notes} notes in {} files ({} objects).\n",
        s.files, s.objects
    );
    if let (Some(baselined), Some(stale)) = (s.baselined, s.baseline_stale) {
        let _ = writeln!(
            out,
            "{baselined} findings in the baseline not shown; {stale} baseline entries no longer match.\n"
        );
    }
    if let Some(outside) = s.outside_change {
        let _ = writeln!(out, "{outside} findings outside the change not shown.\n");
    }
    let mut findings = crate::group::findings(&outcome.diagnostics);
    if findings.is_empty() {
        out.push_str("No findings.\n");
        return out;
    }
    // The gravest first: a job summary shows only the first rows.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out.push_str("| Severity | Rule | Location | Finding |\n|---|---|---|---|\n");
    for finding in findings.iter().take(MAX_ROWS) {
        let file = outcome.db.file(finding.primary.file);
        let at = file.line_col(finding.primary.span.start);
        let icon = match finding.severity {
            Severity::Error => "🔴 error",
            Severity::Warning => "🟠 warning",
            Severity::Note => "🔵 note",
        };
        let rules: Vec<String> = finding
            .rules()
            .into_iter()
            .map(|rule| match crate::catalog::meta(rule) {
                Some(meta) => format!("[{rule}]({})", meta.url()),
                None => rule.to_owned(),
            })
            .collect();
        let object = finding
            .object()
            .map_or_else(String::new, |o| format!("{o}: "));
        let _ = writeln!(
            out,
            "| {icon} | {} | {} | {} |",
            rules.join(", "),
            code(&format!("{}:{}:{}", file.name, at.line, at.column)),
            cell(&format!("{object}{}", finding.message))
        );
    }
    if findings.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\nand {} more; see the job log or the SARIF report.",
            findings.len() - MAX_ROWS
        );
    }
    out
}
