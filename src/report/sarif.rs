//! SARIF 2.1.0 for code scanning: rules from the catalog, real regions,
//! and fingerprints that do not change when unrelated lines move.

use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::outcome::Outcome;
use crate::source::SourceDb;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Renders the outcome as a SARIF log with one run.
pub fn render(outcome: &Outcome) -> String {
    let catalog = crate::catalog::all();
    let rules: Vec<Value> = catalog
        .iter()
        .map(|meta| {
            let full = meta.section("What it does").unwrap_or(&meta.summary);
            let mut rule = json!({
                "id": meta.id,
                "name": pascal_case(meta.id),
                "shortDescription": {"text": meta.summary},
                "fullDescription": {"text": full},
                "help": {"text": meta.body.trim(), "markdown": meta.body.trim()},
                "helpUri": meta.url(),
                "defaultConfiguration": {"level": level(meta.severity), "enabled": meta.default_enabled},
                "properties": {"tags": ["security", "kubernetes", meta.category.as_str()]},
            });
            // A custom rule's page is the config, not this repository.
            if meta.category == "custom" {
                rule.as_object_mut().map(|r| r.remove("helpUri"));
            }
            rule
        })
        .collect();
    let results: Vec<Value> = outcome
        .diagnostics
        .iter()
        .zip(fingerprints(outcome))
        .map(|(d, fingerprint)| result(d, &outcome.db, fingerprint, &catalog))
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kslint",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

/// A stable fingerprint per finding, in order: its content's hash (no line
/// numbers, so moving unrelated lines keeps it) and which occurrence of
/// that content it is. Shared with the GitLab report.
pub fn fingerprints(outcome: &Outcome) -> Vec<String> {
    let mut seen: HashMap<u64, u32> = HashMap::new();
    outcome
        .diagnostics
        .iter()
        .map(|d| {
            let base = d.content_hash(&outcome.db.file(d.primary.file).name);
            let occurrence = seen.entry(base).or_insert(0);
            *occurrence += 1;
            format!("{base:016x}:{occurrence}")
        })
        .collect()
}

fn result(
    d: &Diagnostic,
    db: &SourceDb,
    fingerprint: String,
    catalog: &[&crate::catalog::RuleMeta],
) -> Value {
    let rule_index = catalog.iter().position(|m| m.id == d.rule).unwrap_or(0);
    let mut message = match &d.object {
        Some(object) => format!("{object}: {}", d.message),
        None => d.message.clone(),
    };
    if let Some(help) = &d.help {
        message.push_str(". ");
        message.push_str(help);
    }
    let related: Vec<Value> = d
        .related
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let mut location = location(label, db);
            location["id"] = json!(i);
            location["message"] = json!({"text": label.message});
            location
        })
        .collect();
    let mut value = json!({
        "ruleId": d.rule,
        "ruleIndex": rule_index,
        "level": level(d.severity),
        "message": {"text": message},
        "locations": [location(&d.primary, db)],
        "partialFingerprints": {"kslintFingerprint/v1": fingerprint},
    });
    if !related.is_empty() {
        value["relatedLocations"] = json!(related);
    }
    // Code scanning keeps one alert per rule; the group says which alerts
    // one fix resolves together.
    if let Some(group) = d.group {
        value["properties"] = json!({"kslintGroup": group});
    }
    if let Some(fix) = &d.fix {
        let changes: Vec<Value> = fix
            .edits
            .iter()
            .map(|edit| {
                let file = db.file(edit.file);
                json!({
                    "artifactLocation": {"uri": uri(&file.name)},
                    "replacements": [{
                        "deletedRegion": region(file, edit.span),
                        "insertedContent": {"text": edit.replacement},
                    }],
                })
            })
            .collect();
        value["fixes"] = json!([{
            "description": {"text": format!("{} ({} fix)", fix.title, fix.applicability.as_str())},
            "artifactChanges": changes,
        }]);
    }
    value
}

fn location(label: &Label, db: &SourceDb) -> Value {
    let file = db.file(label.file);
    json!({"physicalLocation": {
        "artifactLocation": {"uri": uri(&file.name)},
        "region": region(file, label.span),
    }})
}

/// A SARIF region: lines and columns from 1, the end exclusive.
fn region(file: &crate::source::SourceFile, span: crate::yaml::Span) -> Value {
    let (start, end) = file.range(span);
    json!({"startLine": start.line, "startColumn": start.column, "endLine": end.line, "endColumn": end.column})
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A relative URI reference for a path: forward slashes, reserved bytes
/// percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}
