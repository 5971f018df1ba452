//! JUnit XML: one test suite per file with findings, one failed test case
//! per error or warning (notes pass, with their text as output), so CI
//! systems show findings in their test reports.

use crate::diagnostic::{Diagnostic, Severity};
use crate::outcome::Outcome;
use crate::text;
use std::fmt::Write;

/// Escapes text for XML attributes and content. Control characters (other
/// than the newlines kslint writes itself) become visible symbols, and the
/// characters XML 1.0 forbids (U+FFFE, U+FFFF) become U+FFFD, so the
/// report is well-formed for any input.
fn xml(raw: &str) -> String {
    let cleaned = text::clean_block(raw);
    let mut out = String::with_capacity(cleaned.len());
    for c in cleaned.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{fffe}' | '\u{ffff}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A name from the tree, on one line.
fn one_line(raw: &str) -> String {
    xml(&text::clean_line(raw))
}

/// Renders the outcome as a JUnit report.
pub fn render(outcome: &Outcome) -> String {
    let failed = |d: &Diagnostic| d.severity >= Severity::Warning;
    let failures = outcome.diagnostics.iter().filter(|d| failed(d)).count();
    let tests = outcome.diagnostics.len().max(1);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"kslint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">"
    );
    if outcome.diagnostics.is_empty() {
        out.push_str("  <testsuite name=\"kslint\" tests=\"1\" failures=\"0\" errors=\"0\">\n");
        let _ = writeln!(
            out,
            "    <testcase name=\"no findings\" classname=\"kslint\"><system-out>{} files, {} objects</system-out></testcase>",
            outcome.summary.files, outcome.summary.objects
        );
        out.push_str("  </testsuite>\n");
    }
    // Diagnostics are sorted by file: each run of one file is a suite.
    let mut rest = &outcome.diagnostics[..];
    while let Some(first) = rest.first() {
        let count = rest
            .iter()
            .take_while(|d| d.primary.file == first.primary.file)
            .count();
        let (group, tail) = rest.split_at(count);
        rest = tail;
        let file = outcome.db.file(first.primary.file);
        let name = one_line(&file.name);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
            group.len(),
            group.iter().filter(|d| failed(d)).count()
        );
        for d in group {
            let at = file.line_col(d.primary.span.start);
            let object = d
                .object
                .as_ref()
                .map_or_else(String::new, |o| format!("{o}: "));
            let message = one_line(&format!("{object}{}", d.message));
            let _ = write!(
                out,
                "    <testcase name=\"{}:{}:{} {}\" classname=\"{name}\" file=\"{name}\" line=\"{}\">",
                name, at.line, at.column, d.rule, at.line
            );
            let detail = xml(&format!(
                "{}:{}:{}: {} [{}]\n{}",
                text::clean_line(&file.name),
                at.line,
                at.column,
                text::clean_line(&d.message),
                d.severity,
                text::clean_line(d.help.as_deref().unwrap_or_default())
            ));
            if failed(d) {
                let _ = write!(
                    out,
                    "<failure type=\"{}\" message=\"{message}\">{detail}</failure>",
                    d.rule
                );
            } else {
                let _ = write!(out, "<system-out>{detail}</system-out>");
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
