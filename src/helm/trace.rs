//! Moves findings from rendered Helm output to the files users edit: the
//! template line, or the values key a template pulled in. Works on chart
//! renders and on `helm template` output given as a file or on stdin,
//! whenever the chart's folder can be found.

use super::origin::{self, Origin, ValuesFile};
use super::template::{self, Line};
use super::{SourceHeader, header_at, source_headers, subchart_path};
use crate::diagnostic::{Cause, Diagnostic, Label};
use crate::expand::{ChartFound, Provenance};
use crate::source::{FileId, SourceDb, SourceFile, display_name};
use crate::suppress::{Scope, Suppressions};
use crate::tree::Tree;
use crate::yaml::{self, Node, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Context {
    /// The chart folder, if kslint found it.
    chart_dir: Option<PathBuf>,
    /// Values files after the chart's own, as shown.
    values: Vec<String>,
    /// Values paths `--set` gave (`image.tag`), which no file shows.
    set_keys: Vec<String>,
    headers: Vec<SourceHeader>,
    /// The render's documents, parsed again only if a finding there is
    /// traced into a chart.
    documents: std::cell::OnceCell<Vec<yaml::Document>>,
}

impl Context {
    fn documents(&self, rendered_text: &str) -> &[yaml::Document] {
        self.documents
            .get_or_init(|| yaml::parse_stream(rendered_text, yaml::Limits::default()).documents)
    }
}

impl crate::expand::Tracer for Tracer {
    /// Traces every finding (and its labels) that is in a rendered text.
    fn trace(&mut self, diagnostics: Vec<Diagnostic>, db: &mut SourceDb) -> Vec<Diagnostic> {
        if self.contexts.is_empty() {
            return diagnostics;
        }
        diagnostics
            .into_iter()
            .map(|d| self.trace_one(d, db))
            .collect()
    }

    fn drop_generated_comments(&self, suppressions: &mut [Suppressions]) {
        self.drop_rendered_comment_suppressions(suppressions);
    }

    fn more_places(&self, diagnostic: &Diagnostic) -> Vec<(FileId, Span)> {
        self.template_places(diagnostic)
    }

    /// A template's lines render only under some values, and a chart that
    /// was not rendered had no chance to use its suppressions.
    fn conditional(&self, file: FileId, db: &SourceDb) -> bool {
        self.is_template(file)
            || self
                .unrendered
                .iter()
                .any(|dir| db.file(file).name.starts_with(dir.as_str()))
    }

    fn repeats(&self) -> bool {
        self.has_renders()
    }
}

/// Traces findings of a run's rendered texts.
pub struct Tracer {
    contexts: HashMap<FileId, Context>,
    templates: HashMap<PathBuf, Option<(FileId, Vec<Line>)>>,
    values: HashMap<String, Option<(FileId, Node)>>,
    /// What tracing may read: templates and values files of the tree.
    tree: Tree,
    /// The folders (with a trailing `/`) of charts that were not rendered.
    unrendered: Vec<String>,
}

impl Tracer {
    /// Finds the rendered texts of a run: chart renders, and files whose
    /// documents carry `# Source:` headers. `charts` are the run's chart
    /// folders with their names, to find the chart of a piped stream.
    pub fn new(
        db: &SourceDb,
        renders: &[Option<Arc<Provenance>>],
        charts: &[ChartFound],
        tree: &Tree,
    ) -> Self {
        let mut contexts = HashMap::new();
        let mut found_charts: HashMap<String, Option<PathBuf>> = HashMap::new();
        for i in 0..db.len() {
            let id = FileId(i as u32);
            let file = db.file(id);
            let generated = renders.get(i).and_then(Option::as_ref);
            // Kustomize builds have their own tracing.
            if generated.is_some_and(|g| g.render().is_none()) {
                continue;
            }
            let render = generated.and_then(|g| g.render().map(|r| (g.dir.as_str(), r)));
            if render.is_none() && !file.text.contains("# Source: ") {
                continue;
            }
            let headers = source_headers(&file.text);
            let Some(first) = headers.first() else {
                continue;
            };
            let (chart_dir, values) = match render {
                Some((dir, render)) => (Some(PathBuf::from(dir)), render.values.clone()),
                None => (
                    found_charts
                        .entry(first.chart().to_owned())
                        .or_insert_with(|| find_chart(first.chart(), charts, tree))
                        .clone(),
                    Vec::new(),
                ),
            };
            let set_keys = render
                .map(|(_, r)| {
                    r.set
                        .iter()
                        .flat_map(|s| s.split(','))
                        .filter_map(|pair| pair.split_once('=').map(|(k, _)| k.trim().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            contexts.insert(
                id,
                Context {
                    chart_dir,
                    values,
                    set_keys,
                    headers,
                    documents: std::cell::OnceCell::new(),
                },
            );
        }
        Tracer {
            contexts,
            templates: HashMap::new(),
            values: HashMap::new(),
            unrendered: charts
                .iter()
                .filter(|c| !c.rendered)
                .map(|c| format!("{}/", c.dir))
                .collect(),
            tree: tree.clone(),
        }
    }

    /// Comments in a render come from its templates, where kslint reads
    /// them instead (so `# kslint-ignore-file` covers one template, not
    /// the whole render). Annotations stay with the rendered objects.
    pub fn drop_rendered_comment_suppressions(&self, suppressions: &mut [Suppressions]) {
        for (id, context) in &self.contexts {
            if context.chart_dir.is_none() {
                continue;
            }
            if let Some(table) = suppressions.get_mut(id.0 as usize) {
                table
                    .items
                    .retain(|item| matches!(item.scope, Scope::Object(_) | Scope::Container(..)));
            }
        }
    }

    /// Whether the run has rendered text to trace.
    pub fn has_renders(&self) -> bool {
        !self.contexts.is_empty()
    }

    /// Whether the tracing read this file as a template. Its lines render
    /// only under some values, so a suppression there that hid nothing in
    /// this run may hide something in another: it is not reported unused.
    pub fn is_template(&self, file: FileId) -> bool {
        self.templates
            .values()
            .any(|t| t.as_ref().is_some_and(|(id, _)| *id == file))
    }

    /// The template places of a traced finding, whose comment suppressions
    /// also count (a `# kslint-ignore` above a `toYaml` line).
    pub fn template_places(&self, diagnostic: &Diagnostic) -> Vec<(FileId, Span)> {
        if diagnostic.rendered_from.is_none() {
            return Vec::new();
        }
        diagnostic
            .related
            .iter()
            .filter(|label| self.is_template(label.file))
            .map(|label| (label.file, label.span))
            .collect()
    }

    fn trace_one(&mut self, mut diagnostic: Diagnostic, db: &mut SourceDb) -> Diagnostic {
        let rendered = diagnostic.primary.file;
        if self.contexts.contains_key(&rendered) {
            let (primary, extra) = self.trace_label(&diagnostic.primary, db, true);
            diagnostic.primary = primary;
            diagnostic.related.splice(0..0, extra);
            diagnostic.rendered_from = Some(rendered);
            if let Some(Cause::Unhardened { setting, .. }) = diagnostic.cause
                && self.is_template(diagnostic.primary.file)
            {
                diagnostic.fix = self.values_fix(rendered, &diagnostic.primary, setting, db);
            }
        }
        let related = std::mem::take(&mut diagnostic.related);
        for label in related {
            if self.contexts.contains_key(&label.file) && label.file != diagnostic.primary.file {
                let (moved, _) = self.trace_label(&label, db, false);
                diagnostic.related.push(moved);
            } else {
                diagnostic.related.push(label);
            }
        }
        diagnostic
    }

    /// The fix for a container's missing hardening setting, made in the
    /// chart's `values.yaml` where the template writes the container's
    /// whole `securityContext` from a values key (`toYaml
    /// .Values.securityContext`). Only for a render of the chart's own
    /// values: another values file or `--set` may give that key.
    fn values_fix(
        &mut self,
        rendered: FileId,
        at: &Label,
        setting: crate::diagnostic::Hardening,
        db: &mut SourceDb,
    ) -> Option<crate::diagnostic::Fix> {
        let context = self.contexts.get(&rendered)?;
        if !context.values.is_empty() || !context.set_keys.is_empty() {
            return None;
        }
        let chart_dir = context.chart_dir.clone()?;
        // A subchart's template reads its own values under a prefix.
        let own_templates = display_name(&chart_dir.join("templates"));
        let template = db.file(at.file);
        if !template.name.starts_with(&format!("{own_templates}/")) {
            return None;
        }
        let key = security_context_values_key(&template.text, at.span.start as usize)?;
        let name = display_name(&chart_dir.join("values.yaml"));
        let id = load_values(&mut self.values, &name, db, &self.tree)?;
        let root = &self.values.get(&name)?.as_ref()?.1;
        let keys: Vec<&str> = key.split('.').collect();
        let (last, parents) = keys.split_last()?;
        let base = if parents.is_empty() {
            root
        } else {
            root.path(parents)?
        };
        // Written as a mapping (`{}` too): a key the chart leaves unset may
        // be tested with `if` in the template.
        base.get(last)?.as_map()?;
        let text = db.file(id).text.clone();
        crate::edit::Source::new(id, &text, root).hardening_under(base, last, setting)
    }

    /// Where a label in a rendered text belongs, and labels to add.
    fn trace_label(
        &mut self,
        label: &Label,
        db: &mut SourceDb,
        primary: bool,
    ) -> (Label, Vec<Label>) {
        let unchanged = (label.clone(), Vec::new());
        let Tracer {
            contexts,
            templates,
            values,
            ..
        } = self;
        let Some(context) = contexts.get(&label.file) else {
            return unchanged;
        };
        let Some(header) = header_at(&context.headers, label.span.start).cloned() else {
            return unchanged;
        };
        let rendered_from = Label {
            file: label.file,
            span: header.span,
            message: format!("rendered from the template {}", header.path),
        };
        let Some(chart_dir) = context.chart_dir.clone() else {
            return (
                label.clone(),
                primary.then_some(rendered_from).into_iter().collect(),
            );
        };
        // A `# Source:` path is the stream's word: it must name a file of
        // the chart, never one outside it.
        let template_path = super::template_file(&chart_dir, &header);
        let template_id = template_path
            .as_ref()
            .and_then(|path| load_template(templates, path, &chart_dir, db, &self.tree));
        let (Some(template_path), Some(template_id)) = (template_path, template_id) else {
            return (
                label.clone(),
                primary.then_some(rendered_from).into_iter().collect(),
            );
        };
        let rendered_text = db.file(label.file).text.clone();
        let documents = context.documents(&rendered_text);
        let document = documents.iter().find(|d| {
            d.range.start <= label.span.start
                && label.span.start < d.range.end.max(d.range.start + 1)
        });
        let located = document.and_then(|d| Some((d, origin::locate(&d.root, label.span)?)));
        let Some((document, located)) = located else {
            // Not inside an object (a comment, a syntax error): the template
            // line with the same text, if there is exactly one.
            let found = same_line(db, label, template_id);
            let span = found.unwrap_or_default();
            let caveat = (primary && found.is_none()).then(|| Label {
                file: template_id,
                span,
                message: "approximate: kslint could not trace this to a line of the template"
                    .to_owned(),
            });
            return (
                Label {
                    file: template_id,
                    span,
                    message: label.message.clone(),
                },
                caveat.into_iter().collect(),
            );
        };
        // Values files, in Helm's merge order, each with where this chart's
        // values sit in it.
        let subchart = subchart_path(&header);
        let mut sources: Vec<(String, Vec<String>)> = Vec::new();
        let mut own = chart_dir.clone();
        for name in &subchart {
            own = own.join("charts").join(name);
        }
        sources.push((display_name(&own.join("values.yaml")), Vec::new()));
        if !subchart.is_empty() {
            sources.push((
                display_name(&chart_dir.join("values.yaml")),
                subchart.clone(),
            ));
        }
        for file in &context.values {
            sources.push((file.clone(), subchart.clone()));
        }
        let mut loaded: Vec<(FileId, usize)> = Vec::new();
        for (i, (name, _)) in sources.iter().enumerate() {
            if let Some(id) = load_values(values, name, db, &self.tree) {
                loaded.push((id, i));
            }
        }
        let files: Vec<ValuesFile<'_>> = loaded
            .iter()
            .map(|(_, i)| ValuesFile {
                root: &values[&sources[*i].0].as_ref().expect("loaded").1,
                prefix: sources[*i].1.clone(),
            })
            .collect();
        // The template document this object came from. Helm drops the
        // documents an `if` emptied, so documents are matched by kind (and
        // name), and by order only among documents of the same kind.
        let root = &document.root;
        let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
        let same_kind_before = documents
            .iter()
            .take_while(|d| d.range.start < root.span.start)
            .filter(|d| {
                header_at(&context.headers, d.root.span.start)
                    .is_some_and(|h| h.path == header.path)
                    && d.root.get("kind").and_then(Node::as_str) == Some(kind)
            })
            .count();
        let all_lines = &templates[&template_path].as_ref().expect("loaded").1;
        let doc = choose_document(all_lines, root, &rendered_text, &files, same_kind_before);
        let lines: Vec<Line> = all_lines.iter().filter(|l| l.doc == doc).cloned().collect();
        let mut traced = origin::trace(&located, &rendered_text, &lines, &files);
        if let Origin::Values {
            key, template_span, ..
        } = &traced
            && let Some(set) = context.set_keys.iter().find(|k| {
                key == *k || key.starts_with(&format!("{k}.")) || k.starts_with(&format!("{key}."))
            })
        {
            traced = Origin::Template {
                span: *template_span,
                exact: false,
                why: format!(
                    "the value may come from --set {set}=..., which no file shows; the template writes it here"
                ),
            };
        }
        let moved = |file, span| Label {
            file,
            span,
            message: label.message.clone(),
        };
        match traced {
            Origin::Template { span, exact, why } => {
                // An approximate place says so, in a label of its own
                // (reporters show related labels in every format).
                let caveat = (primary && !exact).then(|| Label {
                    file: template_id,
                    span,
                    message: format!("approximate: {why}"),
                });
                (moved(template_id, span), caveat.into_iter().collect())
            }
            Origin::Values {
                file,
                span,
                template_span,
                key,
            } => {
                let inserted = Label {
                    file: template_id,
                    span: template_span,
                    message: format!("this template line writes `{key}` from the values files"),
                };
                (
                    moved(loaded[file].0, span),
                    if primary { vec![inserted] } else { Vec::new() },
                )
            }
        }
    }
}

/// The values key a template writes a container's `securityContext` from,
/// for the container whose first line holds byte `at`: a
/// `securityContext:` line of the container followed by (or ending in) a
/// `toYaml .Values.KEY`. Template actions on lines of their own (`{{- if
/// ... }}`) are passed over; the container ends at a line indented less.
fn security_context_values_key(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let column = at - line_start;
    let mut lines = text[line_start..].lines().skip(1).take(400);
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with("{{") && trimmed.ends_with("}}") {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent < column {
            return None;
        }
        if indent != column {
            continue;
        }
        let Some(rest) = trimmed.strip_prefix("securityContext:") else {
            continue;
        };
        let source = if rest.trim().is_empty() {
            lines.by_ref().find(|l| !l.trim().is_empty())?
        } else {
            rest
        };
        if !source.contains("toYaml") {
            return None;
        }
        let after = &source[source.find(".Values.")? + ".Values.".len()..];
        let key: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let key = key.trim_end_matches('.');
        return (!key.is_empty()).then(|| key.to_owned());
    }
    None
}

fn load_template(
    templates: &mut HashMap<PathBuf, Option<(FileId, Vec<Line>)>>,
    path: &Path,
    chart_dir: &Path,
    db: &mut SourceDb,
    tree: &Tree,
) -> Option<FileId> {
    if !templates.contains_key(path) {
        let loaded =
            load(path, Some(chart_dir), db, tree).map(|id| (id, template::read(&db.file(id).text)));
        templates.insert(path.to_path_buf(), loaded);
    }
    templates[path].as_ref().map(|(id, _)| *id)
}

fn load_values(
    values: &mut HashMap<String, Option<(FileId, Node)>>,
    name: &str,
    db: &mut SourceDb,
    tree: &Tree,
) -> Option<FileId> {
    if !values.contains_key(name) {
        let loaded = load(Path::new(name), None, db, tree).and_then(|id| {
            let stream = yaml::parse_stream(&db.file(id).text, yaml::Limits::default());
            let root = stream.documents.into_iter().next()?.root;
            Some((id, root))
        });
        values.insert(name.to_owned(), loaded);
    }
    values[name].as_ref().map(|(id, _)| *id)
}

/// Which document of a template rendered `root`: those whose `kind` line
/// can be the rendered kind, then whose `metadata.name` can be the
/// rendered name; among several left, the `nth` (in template order).
fn choose_document(
    lines: &[Line],
    root: &Node,
    rendered_text: &str,
    values: &[ValuesFile<'_>],
    nth: usize,
) -> usize {
    let documents = lines.iter().map(|l| l.doc).max().map_or(0, |d| d + 1);
    let can_be = |doc: usize, path: &[&str]| {
        let Some(node) = root.path(path) else {
            return true;
        };
        let wanted: Vec<template::Seg> = path
            .iter()
            .map(|k| template::Seg::Key((*k).to_owned()))
            .collect();
        let line = lines.iter().find(|l| l.doc == doc && l.path == wanted);
        line.is_none_or(|line| origin::may_write(line, node, rendered_text, values))
    };
    let kinds: Vec<usize> = (0..documents).filter(|d| can_be(*d, &["kind"])).collect();
    let named: Vec<usize> = kinds
        .iter()
        .copied()
        .filter(|d| can_be(*d, &["metadata", "name"]))
        .collect();
    let pool = if named.is_empty() { &kinds } else { &named };
    match pool.len() {
        0 => 0,
        1 => pool[0],
        _ => kinds
            .get(nth)
            .copied()
            .filter(|d| pool.contains(d))
            .unwrap_or(pool[0]),
    }
}

/// Template and values files larger than this are not read for tracing.
const READ_LIMIT: u64 = 16 << 20;

/// The run's file with this path, or the file read and added: only a file
/// of the tree, and inside `within` (the chart) when given.
fn load(path: &Path, within: Option<&Path>, db: &mut SourceDb, tree: &Tree) -> Option<FileId> {
    let name = display_name(path);
    let real = tree.resolve(path).ok()?;
    if let Some(chart) = within
        && !chart
            .canonicalize()
            .is_ok_and(|chart| real.starts_with(chart))
    {
        return None;
    }
    if let Some(id) = db.find(&name) {
        return Some(id);
    }
    let text = tree.read_text(path, READ_LIMIT).ok()?;
    Some(db.push(SourceFile::new(name, Arc::from(text))))
}

/// The chart folder of a piped stream: a chart of the run with that name,
/// the current folder, or a folder of that name.
fn find_chart(name: &str, charts: &[ChartFound], tree: &Tree) -> Option<PathBuf> {
    if let Some(chart) = charts.iter().find(|c| c.name == name) {
        return Some(PathBuf::from(&chart.dir));
    }
    // The chart's name is the stream's word: only a plain folder name.
    let plain = !name.is_empty()
        && Path::new(name)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        && !name.contains('/');
    let mut candidates = vec![PathBuf::from(".")];
    if plain {
        candidates.push(PathBuf::from(name));
    }
    candidates.into_iter().find(|dir| {
        tree.read_text(&dir.join("Chart.yaml"), 1 << 20)
            .is_ok_and(|text| super::chart_file(&text).name == name)
    })
}

/// The template line with the same text as the rendered line (a comment,
/// a line outside any object), if exactly one has it.
fn same_line(db: &SourceDb, label: &Label, template: FileId) -> Option<Span> {
    let rendered = db.file(label.file);
    let line = rendered.line_col(label.span.start).line as usize - 1;
    let range = rendered.line_index().line_range(&rendered.text, line);
    let wanted = rendered.text[range.clone()].trim();
    let column = label.span.start as usize - range.start;
    let target = db.file(template);
    let lines = target.line_index();
    let matches: Vec<std::ops::Range<usize>> = (0..lines.line_count())
        .map(|l| lines.line_range(&target.text, l))
        .filter(|r| !wanted.is_empty() && target.text[r.clone()].trim() == wanted)
        .collect();
    match &matches[..] {
        [only] => {
            // Same text, possibly indented differently: keep the offset
            // from the text's start.
            let rendered_indent = rendered.text[range.clone()].len()
                - rendered.text[range.clone()].trim_start().len();
            let target_indent =
                target.text[only.clone()].len() - target.text[only.clone()].trim_start().len();
            let start =
                (only.start + target_indent + column.saturating_sub(rendered_indent)).min(only.end);
            let end = (start + label.span.len()).min(only.end).max(start);
            Some(Span::new(start, end))
        }
        _ => None,
    }
}
