//! `yaml-syntax`, `yaml-duplicate-key` and `yaml-ambiguous-value`: a file's
//! YAML, before and beside its objects.

use super::yaml_traps::{ambiguous_values, short_continuations};
use crate::diagnostic::{Applicability, Edit, Effect, Fix};
use crate::registry::{FileView, Rule, RuleContext};
use crate::yaml::Span;

crate::declare_rule!(YamlSyntax, "yaml-syntax");
crate::declare_rule!(YamlDuplicateKey, "yaml-duplicate-key");
crate::declare_rule!(YamlAmbiguousValue, "yaml-ambiguous-value");

impl Rule for YamlSyntax {
    crate::rule_identity!();

    fn check_file(&self, file: &FileView<'_>, cx: &mut RuleContext) {
        if let Some(span) = file.not_utf8_at {
            cx.report_at(
                file.id,
                span,
                "the file is not UTF-8 text (binary data or another encoding); YAML must be Unicode",
                None,
            )
            .help("Save the file as UTF-8, or leave it out with --exclude.");
            return;
        }
        // A YAML error in a file with no sign of Kubernetes objects (a CI
        // workflow, a values file) is not this tool's business.
        let relevant = file.named || !file.objects.is_empty() || file.text.contains("apiVersion");
        if !relevant {
            return;
        }
        let template_hint = if file.text.contains("{{") {
            " (this looks like an unrendered template)"
        } else {
            ""
        };
        for error in &file.stream.errors {
            cx.report_at(
                file.id,
                error.span,
                format!("invalid YAML: {}{template_hint}", error.message),
                None,
            )
            .help("Fix the YAML at this position; the file's other documents were still linted.");
        }
    }
}

/// The written text at a span.
fn written<'a>(file: &FileView<'a>, span: Span) -> &'a str {
    file.text
        .get(span.start as usize..span.end as usize)
        .unwrap_or("")
}

/// Reports tied to the object they are in (so its annotations can suppress
/// them); only inside Kubernetes objects, since CI workflows, compose files
/// and values files have their own YAML conventions.
fn in_object(
    file: &FileView<'_>,
    span: Span,
) -> Option<(crate::diagnostic::ObjectSlot, crate::diagnostic::ObjectRef)> {
    file.object_at(span).map(|o| (o.slot, o.object.clone()))
}

impl Rule for YamlDuplicateKey {
    crate::rule_identity!();

    fn check_file(&self, file: &FileView<'_>, cx: &mut RuleContext) {
        // Each fix is checked by loading its document twice: the checks of
        // a file load at most four times its size (and 64 KiB), so a file
        // of many repeated keys costs linear time.
        let mut bytes_left = 4 * file.text.len() + 64 * 1024;
        for document in &file.stream.documents {
            for (first, repeated) in &document.duplicate_keys {
                let Some(object) = in_object(file, *repeated) else {
                    continue;
                };
                let message = format!(
                    "the key `{}` is written twice in this mapping; Kubernetes keeps this later value and silently drops the first",
                    written(file, *repeated)
                );
                let report = cx
                    .report_at(file.id, *repeated, message, Some(object))
                    .help("Delete one of the two keys, keeping the value you mean; a review of the first one shows nothing wrong.")
                    .related(file.id, *first, "first written here; this value is ignored");
                let lines = ignored_entry(file.text, document.range, *first, &mut bytes_left);
                if let Some(lines) = lines {
                    // Unsafe: the objects stay the same, but the author may
                    // have meant the first value.
                    report.fix(Fix {
                        applicability: Applicability::Unsafe,
                        effect: Effect::Same,
                        title: "delete the ignored first key".into(),
                        edits: vec![Edit {
                            file: file.id,
                            span: lines,
                            replacement: String::new(),
                        }],
                    });
                }
            }
        }
    }
}

/// The lines of the block mapping entry whose key is at `key` (the key
/// first on its line): its line and the lines of its value under it.
/// Offered only if the text without them loads to the same objects, which
/// rules out a key inside a flow mapping or a list item's first key.
fn ignored_entry(text: &str, document: Span, key: Span, budget: &mut usize) -> Option<Span> {
    let start = key.start as usize;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..start];
    if !indent.bytes().all(|b| b == b' ') {
        return None;
    }
    let mut end = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1);
    // Lines indented deeper belong to the value; blank and comment lines
    // only when a deeper line follows them.
    let mut at = end;
    while at < text.len() {
        let next = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        let line = &text[at..next];
        let content = line.trim_start_matches(' ');
        if content.trim().is_empty() || content.starts_with('#') {
            at = next;
            continue;
        }
        if line.len() - content.len() <= indent.len() {
            break;
        }
        end = next;
        at = next;
    }
    let (from, to) = (
        document.start as usize,
        (document.end as usize).min(text.len()),
    );
    if !(from <= line_start && end <= to) {
        return None;
    }
    let cost = 2 * (to - from);
    if cost > *budget {
        return None;
    }
    *budget -= cost;
    let without = format!("{}{}", &text[from..line_start], &text[end..to]);
    let load = |text: &str| {
        let stream = crate::yaml::parse_stream(text, crate::yaml::Limits::default());
        stream.errors.is_empty().then(|| {
            stream
                .documents
                .iter()
                .map(|d| d.root.to_json())
                .collect::<Vec<_>>()
        })
    };
    (load(&without)? == load(&text[from..to])?).then_some(Span::new(line_start, end))
}

impl Rule for YamlAmbiguousValue {
    crate::rule_identity!();

    fn check_file(&self, file: &FileView<'_>, cx: &mut RuleContext) {
        for document in &file.stream.documents {
            for value in ambiguous_values(file.text, document) {
                let Some(object) = in_object(file, value.span) else {
                    continue;
                };
                let written = written(file, value.span);
                let message = format!(
                    "`{written}` is {}: Kubernetes reads it as {}, while YAML 1.2 tools (yq, editors, formatters) read {}",
                    value.why, value.reading, value.yaml12
                );
                let help = if value.why.contains("flow collection") {
                    format!("Quote it ({}) so every tool reads the text.", value.plain)
                } else if value.why.contains("boolean") {
                    format!(
                        "Write `{}` if you mean the boolean, or quote it (\"{written}\") if you mean the text.",
                        value.reading
                    )
                } else {
                    format!(
                        "Write `{}` (what Kubernetes reads), or quote it if you mean the text.",
                        value.reading
                    )
                };
                // Written as Kubernetes reads it, the objects stay the same;
                // where the field takes text (an env value), quoting is the
                // fix, and it changes the object.
                let takes_text = file.object_at(value.span).is_some_and(|manifest| {
                    manifest.schema_problems().iter().any(|problem| {
                        matches!(problem, crate::schema::Problem::Mismatch { span, expected, .. }
                            if *span == value.span && expected.contains("string"))
                    })
                });
                let fix = if takes_text {
                    Fix {
                        applicability: Applicability::Unsafe,
                        effect: Effect::Changes,
                        title: format!("quote it: \"{written}\""),
                        edits: vec![Edit {
                            file: file.id,
                            span: value.span,
                            replacement: format!("\"{written}\""),
                        }],
                    }
                } else {
                    Fix {
                        applicability: Applicability::Safe,
                        effect: Effect::Same,
                        title: format!("write `{}`", value.plain),
                        edits: vec![Edit {
                            file: file.id,
                            span: value.span,
                            replacement: value.plain.clone(),
                        }],
                    }
                };
                cx.report_at(file.id, value.span, message, Some(object))
                    .help(help)
                    .fix(fix);
            }
            for span in short_continuations(file.text, document) {
                let Some(object) = in_object(file, span) else {
                    continue;
                };
                cx.report_at(
                    file.id,
                    span,
                    "this quoted string continues on a line indented less than the line it starts on: Kubernetes (YAML 1.1) joins the lines, while YAML 1.2 tools (yq, editors, formatters) reject the file",
                    Some(object),
                )
                .help("Indent the continuation line at least as far as the line the string starts on, or write the string on one line.");
            }
        }
    }
}
