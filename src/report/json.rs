//! The JSON contract of RULES.md, field for field. Serialized straight
//! from borrowed records: large runs have thousands of findings, and a
//! `serde_json::Value` tree per finding cost more than the linting.

use crate::diagnostic::{Applicability, Diagnostic, ObjectRef, Severity};
use crate::outcome::{Outcome, Summary};
use crate::source::SourceDb;
use serde::Serialize;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    diagnostics: Vec<Entry<'a>>,
    summary: &'a Summary,
}

#[derive(Serialize)]
struct Entry<'a> {
    rule: &'a str,
    severity: Severity,
    message: &'a str,
    file: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    object: Option<&'a ObjectRef>,
    help: Option<&'a str>,
    related: Vec<Related<'a>>,
    /// Ties the records of one root cause (a container's missing
    /// hardening settings, the dangers of one role rule) that people
    /// see as one finding; absent on a record that stands alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<u32>,
    /// The change `kslint fix` makes for it, as text edits; absent when
    /// the rule knows none.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<FixEntry<'a>>,
}

#[derive(Serialize)]
struct FixEntry<'a> {
    applicability: Applicability,
    title: &'a str,
    edits: Vec<EditEntry<'a>>,
}

/// One edit: the text from (line, column) to (end_line, end_column),
/// columns in characters from 1 and the end exclusive, replaced.
#[derive(Serialize)]
struct EditEntry<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    replacement: &'a str,
}

#[derive(Serialize)]
struct Related<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    message: &'a str,
}

/// Renders the outcome as the versioned JSON document.
pub fn render(outcome: &Outcome) -> String {
    let document = Document {
        version: 1,
        diagnostics: outcome
            .diagnostics
            .iter()
            .map(|d| entry(d, &outcome.db))
            .collect(),
        summary: &outcome.summary,
    };
    let mut bytes = Vec::with_capacity(512 * (outcome.diagnostics.len() + 1));
    serde_json::to_writer_pretty(&mut bytes, &document).expect("writing to memory succeeds");
    bytes.push(b'\n');
    String::from_utf8(bytes).expect("serde_json writes UTF-8")
}

fn entry<'a>(d: &'a Diagnostic, db: &'a SourceDb) -> Entry<'a> {
    let file = db.file(d.primary.file);
    let (start, end) = file.range(d.primary.span);
    Entry {
        rule: d.rule,
        severity: d.severity,
        message: &d.message,
        file: &file.name,
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        object: d.object.as_ref(),
        help: d.help.as_deref(),
        related: d
            .related
            .iter()
            .map(|label| {
                let file = db.file(label.file);
                let at = file.line_col(label.span.start);
                Related {
                    file: &file.name,
                    line: at.line,
                    column: at.column,
                    message: &label.message,
                }
            })
            .collect(),
        group: d.group,
        fix: d.fix.as_ref().map(|fix| FixEntry {
            applicability: fix.applicability,
            title: &fix.title,
            edits: fix
                .edits
                .iter()
                .map(|edit| {
                    let file = db.file(edit.file);
                    let (start, end) = file.range(edit.span);
                    EditEntry {
                        file: &file.name,
                        line: start.line,
                        column: start.column,
                        end_line: end.line,
                        end_column: end.column,
                        replacement: &edit.replacement,
                    }
                })
                .collect(),
        }),
    }
}
