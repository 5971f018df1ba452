//! Suppressions: `kslint.io/ignore` annotations (object, pod template, or
//! one container) and `# kslint-ignore` / `# kslint-ignore-file` comments.
//! Each named rule is tracked on its own, so one that hides nothing is
//! reported as `unused-suppression`.

use crate::diagnostic::{Diagnostic, ObjectRef, ObjectSlot};
use crate::k8s::Manifest;
use crate::settings::Settings;
use crate::source::{FileId, SourceDb};
use crate::yaml::line_index::LineIndex;
use crate::yaml::{Node, Span};

/// The annotation that suppresses rules for an object.
pub const ANNOTATION: &str = "kslint.io/ignore";

/// What a suppression covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole file.
    File,
    /// Findings that start on this 0-based line.
    Line(u32),
    /// Findings of this object.
    Object(ObjectSlot),
    /// Findings about this container of this object.
    Container(ObjectSlot, String),
}

/// One rule named by one suppression.
#[derive(Debug, Clone)]
pub struct Item {
    /// The rule id, or `all`.
    pub rule: String,
    /// Where the name is written.
    pub span: Span,
    /// What it covers.
    pub scope: Scope,
    /// The object it was written on, for annotation suppressions.
    pub object: Option<(ObjectSlot, ObjectRef)>,
    /// For an annotation, its whole `key: value` entry.
    pub annotation: Option<Span>,
    /// Whether it hid a finding.
    pub used: bool,
}

/// A file's suppressions.
#[derive(Debug, Default)]
pub struct Suppressions {
    /// Every item, in source order.
    pub items: Vec<Item>,
}

impl Suppressions {
    /// Reads the `# kslint-ignore` comments of a file.
    pub fn from_comments(text: &str, lines: &LineIndex) -> Self {
        let mut items = Vec::new();
        let mut pending: Vec<Item> = Vec::new();
        for line in 0..lines.line_count() {
            let range = lines.line_range(text, line);
            let content = &text[range.clone()];
            let Some((at, file_wide)) = find_directive(content) else {
                let trimmed = content.trim_start();
                if !trimmed.is_empty() && !trimmed.starts_with('#') {
                    for mut item in pending.drain(..) {
                        item.scope = Scope::Line(line as u32);
                        items.push(item);
                    }
                }
                continue;
            };
            let keyword = if file_wide {
                "kslint-ignore-file"
            } else {
                "kslint-ignore"
            };
            let names_from = at + keyword.len();
            let own_line = content[..at]
                .trim_end()
                .trim_end_matches('#')
                .trim()
                .is_empty();
            for (name, offset) in rule_names(&content[names_from..]) {
                let start = range.start + names_from + offset;
                let item = Item {
                    rule: name.to_owned(),
                    span: Span::new(start, start + name.len()),
                    scope: if file_wide {
                        Scope::File
                    } else {
                        Scope::Line(line as u32)
                    },
                    object: None,
                    annotation: None,
                    used: false,
                };
                if !file_wide && own_line {
                    pending.push(item)
                } else {
                    items.push(item)
                }
            }
        }
        // A directive on the last lines, with nothing below it, covers nothing;
        // keep it so it is reported as unused.
        items.extend(pending);
        Suppressions { items }
    }

    /// Adds the annotation suppressions of an object and its pod template.
    pub fn add_annotations(&mut self, object: &Manifest) {
        let sources = [
            object.metadata(),
            object.pod.as_ref().and_then(|p| p.metadata),
        ];
        let mut seen = Vec::new();
        for metadata in sources.into_iter().flatten() {
            if seen.contains(&metadata.span) {
                continue;
            }
            seen.push(metadata.span);
            for entry in metadata
                .get("annotations")
                .and_then(Node::as_map)
                .unwrap_or_default()
            {
                let scope = if entry.key == ANNOTATION {
                    Scope::Object(object.slot)
                } else if let Some(container) = entry.key.strip_prefix("kslint.io/ignore.") {
                    Scope::Container(object.slot, container.to_owned())
                } else {
                    continue;
                };
                let Some(value) = entry.value.as_str() else {
                    continue;
                };
                for (name, _) in rule_names(value) {
                    self.items.push(Item {
                        rule: name.to_owned(),
                        span: entry.value.span,
                        scope: scope.clone(),
                        object: Some((object.slot, object.object.clone())),
                        annotation: Some(entry.key_span.to(entry.value.span)),
                        used: false,
                    });
                }
            }
        }
    }

    /// Whether a finding is suppressed; marks every item that covers it.
    pub fn covers(&mut self, diagnostic: &Diagnostic, line: u32) -> bool {
        let mut hidden = false;
        for item in &mut self.items {
            if item.rule != diagnostic.rule && item.rule != "all" {
                continue;
            }
            let matches = match &item.scope {
                Scope::File => true,
                Scope::Line(l) => *l == line,
                Scope::Object(slot) => diagnostic.slot == Some(*slot),
                Scope::Container(slot, name) => {
                    diagnostic.slot == Some(*slot)
                        && diagnostic.container.as_deref() == Some(name.as_str())
                }
            };
            if matches {
                item.used = true;
                hidden = true;
            }
        }
        hidden
    }
}

/// Finds `kslint-ignore` or `kslint-ignore-file` in a comment of a line:
/// the byte offset of the keyword and whether it is file-wide.
fn find_directive(line: &str) -> Option<(usize, bool)> {
    let mut search = 0;
    while let Some(found) = line[search..].find('#') {
        let hash = search + found;
        let starts_comment = hash == 0 || line.as_bytes()[hash - 1].is_ascii_whitespace();
        let after = line[hash + 1..].trim_start();
        let at = line.len() - after.len();
        if starts_comment {
            if let Some(rest) = after.strip_prefix("kslint-ignore-file") {
                if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                    return Some((at, true));
                }
            } else if let Some(rest) = after.strip_prefix("kslint-ignore")
                && (rest.is_empty() || rest.starts_with(char::is_whitespace))
            {
                return Some((at, false));
            }
        }
        search = hash + 1;
    }
    None
}

/// The rule names of a directive, with their byte offsets in `text`; a
/// reason after ` -- ` is ignored.
fn rule_names(text: &str) -> Vec<(&str, usize)> {
    // A reason after `--`, or another comment after `#`, ends the names.
    let names = text.split(" -- ").next().unwrap_or(text);
    let names = names.split("--").next().unwrap_or(names);
    let names = names.split('#').next().unwrap_or(names);
    let mut out = Vec::new();
    let mut offset = 0;
    for part in names.split([',', ' ', '\t']) {
        if !part.is_empty() {
            out.push((part, offset));
        }
        offset += part.len() + 1;
    }
    out
}

/// Drops the findings a suppression covers, marking it used.
/// `also` names more places whose suppressions count (the template line
/// that wrote a value traced to a values file).
pub fn suppress(
    diagnostics: Vec<Diagnostic>,
    suppressions: &mut [Suppressions],
    db: &SourceDb,
    also: impl Fn(&Diagnostic) -> Vec<(FileId, Span)>,
) -> Vec<Diagnostic> {
    diagnostics
        .into_iter()
        .filter(|d| {
            let mut places = vec![(d.primary.file, d.primary.span)];
            places.extend(also(d));
            let mut hidden = false;
            for (file, span) in places {
                let Some(table) = suppressions.get_mut(file.0 as usize) else {
                    continue;
                };
                if table.items.is_empty() {
                    continue;
                }
                let line = db.file(file).line_col(span.start).line - 1;
                hidden |= table.covers(d, line);
            }
            !hidden
        })
        .collect()
}

/// `unused-suppression` for every suppression that hid nothing.
/// Files for which `skip` holds report only misspelt rule names. A
/// comment's unused name gets a fix from the file's text (`text`).
pub fn unused_suppressions(
    suppressions: Vec<Suppressions>,
    settings: &Settings,
    skip: impl Fn(FileId) -> bool,
    text: impl Fn(FileId) -> std::sync::Arc<str>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, table) in suppressions.into_iter().enumerate() {
        let skip = skip(FileId(i as u32));
        let fixes = suppression_fixes(&table, &text(FileId(i as u32)), FileId(i as u32));
        for (at, item) in table
            .items
            .into_iter()
            .enumerate()
            .filter(|(_, item)| !item.used)
        {
            if skip && (item.rule == "all" || crate::catalog::known(&item.rule)) {
                continue;
            }
            let message = if item.rule == "all" {
                "this suppression hides no finding".to_owned()
            } else {
                match Settings::rule_index(&item.rule) {
                    // A rule turned off in this run hides nothing here, but may
                    // elsewhere; that is not the suppression's fault.
                    Ok(index) if !settings.enabled[index] => continue,
                    Ok(_) => format!("the suppression of {:?} hides no finding", item.rule),
                    Err(_) if crate::catalog::known(&item.rule) => {
                        format!("the suppression of {:?} hides no finding", item.rule)
                    }
                    Err(unknown) => unknown.to_string(),
                }
            };
            let Some(mut diagnostic) = settings.engine_diagnostic(
                crate::rules::manifest::UnusedSuppression::ID,
                None,
                FileId(i as u32),
                item.span,
                message,
            ) else {
                continue;
            };
            if let Some((slot, object)) = item.object {
                diagnostic.slot = Some(slot);
                diagnostic.object = Some(object);
            }
            diagnostic.fix = fixes.get(&at).cloned();
            out.push(diagnostic.with_help("Remove it (or the rule name from it), so it cannot hide a future finding by accident."));
        }
    }
    out
}

/// The fixes of a file's unused suppressions, by item index: a comment
/// none of whose names hides anything is removed (its whole line when it
/// stands alone); else each unused name goes with its comma. An
/// annotation none of whose names hides anything is removed when it
/// stands on its own lines; else its value is written without them.
fn suppression_fixes(
    table: &Suppressions,
    text: &str,
    file: FileId,
) -> std::collections::HashMap<usize, crate::diagnostic::Fix> {
    use crate::diagnostic::{Applicability, Edit, Effect, Fix};
    let mut fixes = std::collections::HashMap::new();
    if table.items.iter().all(|item| item.used) {
        return fixes;
    }
    annotation_fixes(table, text, file, &mut fixes);
    if table
        .items
        .iter()
        .all(|item| item.used || item.object.is_some())
    {
        return fixes;
    }
    let line_of = |at: usize| {
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        start..end
    };
    // The comment items of each line, in order.
    let mut by_line: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (at, item) in table.items.iter().enumerate() {
        if item.object.is_none() && (item.span.end as usize) <= text.len() {
            by_line
                .entry(line_of(item.span.start as usize).start)
                .or_default()
                .push(at);
        }
    }
    for (line_start, items) in by_line {
        let mut line = line_of(line_start);
        // A CRLF line ends before its CR.
        if text[..line.end].ends_with('\r') {
            line.end -= 1;
        }
        let content = &text[line.clone()];
        let Some((keyword_at, _)) = find_directive(content) else {
            continue;
        };
        let hash = line.start + content[..keyword_at].rfind('#').unwrap_or(0);
        // A misspelt name is left for the user to spell (it may be meant).
        let known = |i: &usize| {
            table.items[*i].rule == "all" || crate::catalog::known(&table.items[*i].rule)
        };
        let unused: Vec<usize> = items
            .iter()
            .copied()
            .filter(|&i| !table.items[i].used && known(&i))
            .collect();
        if unused.len() == items.len() {
            // The whole comment: its line when nothing else is on it, else
            // from the blanks before `#` to the end of the line.
            let before = text[line.start..hash].trim_end_matches([' ', '\t']);
            let span = if before.is_empty() {
                // The line and its line break.
                let end = text[line.end..]
                    .find('\n')
                    .map_or(text.len(), |i| line.end + i + 1);
                Span::new(line.start, end)
            } else {
                Span::new(line.start + before.len(), line.end)
            };
            let fix = Fix {
                applicability: Applicability::Safe,
                effect: Effect::Same,
                title: "remove the comment".into(),
                edits: vec![Edit {
                    file,
                    span,
                    replacement: String::new(),
                }],
            };
            for i in unused {
                fixes.insert(i, fix.clone());
            }
            continue;
        }
        for i in unused {
            let name = table.items[i].span;
            let (start, end) = (name.start as usize, name.end as usize);
            // The name and the separator after it, or (the last name) the
            // one before it.
            let after = text[end..line.end]
                .chars()
                .take_while(|c| matches!(c, ',' | ' ' | '\t'))
                .count();
            let next_is_name = text[end + after..line.end]
                .chars()
                .next()
                .is_some_and(|c| !matches!(c, '-' | '#'));
            let span = if after > 0 && next_is_name {
                Span::new(start, end + after)
            } else {
                let before = text[line.start..start]
                    .chars()
                    .rev()
                    .take_while(|c| matches!(c, ',' | ' ' | '\t'))
                    .count();
                Span::new(start - before, end)
            };
            fixes.insert(
                i,
                Fix {
                    applicability: Applicability::Safe,
                    effect: Effect::Same,
                    title: format!("remove {:?} from the comment", table.items[i].rule),
                    edits: vec![Edit {
                        file,
                        span,
                        replacement: String::new(),
                    }],
                },
            );
        }
    }
    fixes
}

/// [`suppression_fixes`] for annotations. The annotation changes the
/// object (kslint alone reads it), so the fixes say they change values.
fn annotation_fixes(
    table: &Suppressions,
    text: &str,
    file: FileId,
    fixes: &mut std::collections::HashMap<usize, crate::diagnostic::Fix>,
) {
    use crate::diagnostic::{Applicability, Edit, Effect, Fix};
    let known = |item: &Item| item.rule == "all" || crate::catalog::known(&item.rule);
    // The items of each annotation, in order.
    let mut by_entry: std::collections::BTreeMap<(u32, u32), Vec<usize>> = Default::default();
    for (at, item) in table.items.iter().enumerate() {
        if let Some(entry) = item.annotation
            && (entry.end as usize) <= text.len()
        {
            by_entry
                .entry((entry.start, entry.end))
                .or_default()
                .push(at);
        }
    }
    for ((start, end), items) in by_entry {
        let unused: Vec<usize> = items
            .iter()
            .copied()
            .filter(|&i| !table.items[i].used && known(&table.items[i]))
            .collect();
        if unused.is_empty() {
            continue;
        }
        let (start, end) = (start as usize, end as usize);
        let fix = if unused.len() == items.len() {
            // The entry's lines, when nothing else is on them.
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
            let after = text[end..line_end].trim();
            if !text[line_start..start].trim().is_empty()
                || !(after.is_empty() || after.starts_with('#'))
            {
                continue;
            }
            let through = (line_end + 1).min(text.len());
            Fix {
                applicability: Applicability::Safe,
                effect: Effect::Changes,
                title: "remove the annotation".into(),
                edits: vec![Edit {
                    file,
                    span: Span::new(line_start, through),
                    replacement: String::new(),
                }],
            }
        } else {
            // The value again without the unused names, quoted.
            let value = table.items[items[0]].span;
            let written = &text[value.start as usize..value.end as usize];
            // Escapes would need decoding: such a value is left to the user.
            if written.contains('\\') || written.contains("''") {
                continue;
            }
            let unquoted = written.trim_matches(|c| c == '"' || c == '\'');
            let reason = unquoted.split_once("--").map(|(_, r)| r.trim());
            let kept: Vec<&str> = items
                .iter()
                .filter(|i| !unused.contains(i))
                .map(|&i| table.items[i].rule.as_str())
                .collect();
            let mut new = kept.join(", ");
            if let Some(reason) = reason {
                new.push_str(" -- ");
                new.push_str(reason);
            }
            let Ok(quoted) = serde_json::to_string(&new) else {
                continue;
            };
            Fix {
                applicability: Applicability::Safe,
                effect: Effect::Changes,
                title: format!("write the annotation as {quoted}"),
                edits: vec![Edit {
                    file,
                    span: value,
                    replacement: quoted,
                }],
            }
        };
        for i in unused {
            fixes.insert(i, fix.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_directives() {
        let text = "a: 1 # kslint-ignore host-pid, host-ipc -- debugging\n# kslint-ignore net-raw\n\nb: 2\n# kslint-ignore-file all\nc: '# kslint-ignore nothing'\n";
        let found = Suppressions::from_comments(text, &LineIndex::new(text));
        let summary: Vec<_> = found
            .items
            .iter()
            .map(|i| {
                (
                    i.rule.as_str(),
                    i.scope.clone(),
                    &text[i.span.start as usize..i.span.end as usize],
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("host-pid", Scope::Line(0), "host-pid"),
                ("host-ipc", Scope::Line(0), "host-ipc"),
                ("net-raw", Scope::Line(3), "net-raw"),
                ("all", Scope::File, "all"),
            ]
        );
    }
}
