//! The pipeline: discover, then per file in parallel read, load, build
//! objects, run per-object rules and take the index facts; then run-wide
//! rules, suppressions, and a sorted result.

use crate::catalog::CATALOG;
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::index::RunIndex;
use crate::k8s;
use crate::k8s::node_access::{NodeEscape, node_escape};
use crate::registry::{Rule, RuleContext};
use crate::rules::RULES;
use crate::settings::Settings;
use crate::source::{self, Candidate, FileId, SourceDb, SourceFile};
use crate::suppress::Suppressions;
use crate::yaml::{self, Span};
use rayon::prelude::*;
use std::sync::Arc;

/// Counts for the report's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Kubernetes objects found.
    pub objects: usize,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Note findings.
    pub notes: usize,
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome {
    /// Every file, for reporters.
    pub db: SourceDb,
    /// Findings, sorted by file, position and rule.
    pub diagnostics: Vec<Diagnostic>,
    /// Counts.
    pub summary: Summary,
    /// The run's cross-object facts (RBAC, namespaces, workloads), for
    /// queries such as `who-can`.
    pub index: RunIndex,
}

impl Outcome {
    /// Whether any finding is at or above the fail level.
    pub fn fails(&self, fail_on: Option<Severity>) -> bool {
        fail_on.is_some_and(|level| self.diagnostics.iter().any(|d| d.severity >= level))
    }
}

/// Where a file's text comes from.
#[derive(Debug)]
pub enum Text {
    /// Read it from the candidate's path.
    Read(Candidate),
    /// Already in memory (stdin, tests).
    Given {
        /// The name to show.
        name: String,
        /// The text.
        text: String,
    },
    /// A path that could not be walked.
    Problem(source::PathProblem),
}

impl Text {
    fn name(&self) -> &str {
        match self {
            Text::Read(c) => &c.name,
            Text::Given { name, .. } => name,
            Text::Problem(p) => &p.name,
        }
    }
}

/// Lints what the settings name: discovery, then [`lint_texts`].
pub fn lint(
    settings: &Settings,
    stdin: impl FnOnce() -> std::io::Result<String>,
) -> Result<Outcome, String> {
    let discovery = source::discover(&settings.inputs, &settings.filters)
        .map_err(|e| format!("invalid glob: {e}"))?;
    let mut stdin = Some(stdin);
    let mut texts = Vec::with_capacity(discovery.files.len() + discovery.problems.len());
    for candidate in discovery.files {
        if candidate.path.is_none() {
            let read = stdin
                .take()
                .map_or_else(|| Ok(String::new()), |read| read());
            texts.push(match read {
                Ok(text) => Text::Given {
                    name: candidate.name,
                    text,
                },
                Err(e) => Text::Problem(source::PathProblem {
                    name: candidate.name,
                    message: source::io_message(&e),
                }),
            });
        } else {
            texts.push(Text::Read(candidate));
        }
    }
    texts.extend(discovery.problems.into_iter().map(Text::Problem));
    Ok(lint_texts(texts, settings))
}

/// Lints the given files.
pub fn lint_texts(mut texts: Vec<Text>, settings: &Settings) -> Outcome {
    texts.sort_by(|a, b| a.name().cmp(b.name()));
    let active: Vec<ActiveRule> = RULES
        .iter()
        .enumerate()
        .filter(|(i, _)| settings.enabled[*i])
        .map(|(i, rule)| ActiveRule {
            rule: *rule,
            severity: CATALOG[i].severity,
            configured: settings.severity[i],
        })
        .collect();
    let results: Vec<FileResult> = texts
        .into_par_iter()
        .enumerate()
        .map(|(i, text)| process_file(FileId(i as u32), text, settings, &active))
        .collect();

    let mut index = RunIndex::default();
    let mut diagnostics = Vec::new();
    let mut files = Vec::with_capacity(results.len());
    let mut suppressions = Vec::with_capacity(results.len());
    let mut summary = Summary::default();
    for result in results {
        summary.files += usize::from(result.read);
        summary.objects += result.objects;
        index.extend(result.index);
        diagnostics.extend(result.diagnostics);
        files.push(result.file);
        suppressions.push(result.suppressions);
    }
    index.pod_security_default = settings.pod_security;
    index.file_names = files.iter().map(|f| f.name.clone()).collect();
    index.finish();
    for active_rule in &active {
        let mut cx = RuleContext::new(
            active_rule.rule.id(),
            active_rule.severity,
            active_rule.configured,
            &mut diagnostics,
        )
        .targeting(settings.kubernetes_minor);
        active_rule.rule.check_run(&index, &mut cx);
    }
    let db = SourceDb::new(files);
    let mut diagnostics = apply_suppressions(diagnostics, suppressions, &db, settings);
    diagnostics.sort_by(|a, b| {
        let name = |d: &Diagnostic| db.file(d.primary.file).name.as_str();
        name(a)
            .cmp(name(b))
            .then_with(|| a.sort_key().cmp(&b.sort_key()))
    });
    for diagnostic in &diagnostics {
        match diagnostic.severity {
            Severity::Error => summary.errors += 1,
            Severity::Warning => summary.warnings += 1,
            Severity::Note => summary.notes += 1,
        }
    }
    Outcome {
        db,
        diagnostics,
        summary,
        index,
    }
}

struct ActiveRule {
    rule: &'static dyn Rule,
    severity: Severity,
    configured: Option<Severity>,
}

struct FileResult {
    file: SourceFile,
    read: bool,
    objects: usize,
    diagnostics: Vec<Diagnostic>,
    index: RunIndex,
    suppressions: Suppressions,
}

/// A diagnostic from the engine itself, if its rule is on.
fn engine_diagnostic(
    settings: &Settings,
    rule: &'static str,
    file: FileId,
    span: Span,
    message: String,
) -> Option<Diagnostic> {
    let i = CATALOG.iter().position(|m| m.id == rule)?;
    settings.enabled[i].then(|| {
        Diagnostic::new(
            rule,
            settings.severity[i].unwrap_or(CATALOG[i].severity),
            file,
            span,
            message,
        )
    })
}

fn process_file(id: FileId, text: Text, settings: &Settings, active: &[ActiveRule]) -> FileResult {
    let mut result = FileResult {
        file: SourceFile::new(text.name().to_owned(), Arc::from("")),
        read: false,
        objects: 0,
        diagnostics: Vec::new(),
        index: RunIndex::new(settings.is_enabled("pod-security-violation")).keeping_custom_objects(
            settings.is_enabled("unknown-field") || settings.is_enabled("schema-type-mismatch"),
        ),
        suppressions: Suppressions::default(),
    };
    let unreadable = |result: &mut FileResult, message: String| {
        let help = "Make the file readable, or leave it out with --exclude or the config's `exclude` list.";
        result.diagnostics.extend(
            engine_diagnostic(settings, "unreadable-file", id, Span::default(), message)
                .map(|d| d.with_help(help)),
        );
    };
    let (content, explicit) = match text {
        Text::Problem(problem) => {
            unreadable(
                &mut result,
                format!("cannot read {:?}: {}", problem.name, problem.message),
            );
            return result;
        }
        Text::Given { text, .. } => (text, true),
        Text::Read(candidate) => match read_file(&candidate, settings.max_file_size) {
            Ok(content) => (content, candidate.explicit),
            Err(ReadFailure::Unreadable(message)) => {
                unreadable(
                    &mut result,
                    format!("cannot read {:?}: {message}", candidate.name),
                );
                return result;
            }
            Err(ReadFailure::NotUtf8 { lossy, valid_up_to }) => {
                result.file = SourceFile::new(candidate.name, Arc::from(lossy));
                result.read = true;
                let span = Span::new(valid_up_to, valid_up_to + 1);
                let message = "the file is not UTF-8 text (binary data or another encoding); YAML must be Unicode".to_owned();
                result.diagnostics.extend(
                    engine_diagnostic(settings, "yaml-syntax", id, span, message).map(|d| {
                        d.with_help("Save the file as UTF-8, or leave it out with --exclude.")
                    }),
                );
                return result;
            }
        },
    };
    result.read = true;
    let text: Arc<str> = Arc::from(content);
    result.file = SourceFile::new(result.file.name.clone(), text.clone());

    let stream = yaml::parse_stream(&text, settings.limits);
    // Go templates (Helm charts without their Chart.yaml, other generators)
    // are not manifests until rendered: skip them quietly unless named.
    let in_templates_dir = result
        .file
        .name
        .split(['/', '\\'])
        .any(|part| part == "templates");
    if !explicit && (in_templates_dir || !stream.errors.is_empty()) && text.contains("{{") {
        return result;
    }
    let objects = k8s::objects(id, &stream.documents, &settings.pod_spec_paths);
    // A YAML error in a file with no sign of Kubernetes objects (a CI
    // workflow, a values file) is not this tool's business.
    let relevant = explicit || !objects.is_empty() || text.contains("apiVersion");
    if relevant {
        for error in &stream.errors {
            let template_hint = if text.contains("{{") {
                " (this looks like an unrendered template)"
            } else {
                ""
            };
            let message = format!("invalid YAML: {}{template_hint}", error.message);
            let help =
                "Fix the YAML at this position; the file's other documents were still linted.";
            result.diagnostics.extend(
                engine_diagnostic(settings, "yaml-syntax", id, error.span, message)
                    .map(|d| d.with_help(help)),
            );
        }
    }
    if text.contains("kslint-ignore") {
        result.suppressions = Suppressions::from_comments(&text, result.file.line_index());
    }
    report_yaml_traps(
        settings,
        id,
        &text,
        &stream.documents,
        &objects,
        &mut result.diagnostics,
    );
    let base = result.file.name.rsplit('/').next().unwrap_or_default();
    if matches!(
        base,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    ) {
        result.index.patch_refs = kustomization_patches(id, &stream.documents);
    }
    result.objects = objects.len();
    for object in &objects {
        result.suppressions.add_annotations(object);
        result.index.add(object);
        let first_new = result.diagnostics.len();
        for active_rule in active {
            let mut cx = RuleContext::new(
                active_rule.rule.id(),
                active_rule.severity,
                active_rule.configured,
                &mut result.diagnostics,
            )
            .targeting(settings.kubernetes_minor);
            cx.for_object(id, object.slot, &object.object);
            active_rule.rule.check(object, &mut cx);
        }
        if result.diagnostics.len() > first_new
            && let Some(escape) = object.pod.as_ref().and_then(node_escape)
        {
            for diagnostic in &mut result.diagnostics[first_new..] {
                if is_pod_security_rule(diagnostic.rule) {
                    add_node_escape(diagnostic, id, &escape);
                }
            }
        }
    }
    result
}

/// Whether a rule judges the pod's isolation from its node (and so gains
/// from the node-escape context). Image hygiene and resource limits do not.
fn is_pod_security_rule(rule: &str) -> bool {
    const NOT_ISOLATION: &[&str] = &[
        "image-latest-tag",
        "image-not-pinned",
        "resource-limits-missing",
    ];
    !NOT_ISOLATION.contains(&rule)
        && CATALOG
            .iter()
            .find(|meta| meta.id == rule)
            .is_some_and(|meta| meta.category == "pod-security")
}

/// Says on a workload's finding that its pods can take over their node,
/// so no namespace boundary limits the damage.
pub fn add_node_escape(diagnostic: &mut Diagnostic, file: FileId, escape: &NodeEscape) {
    let at_escape = diagnostic.primary.file == file && diagnostic.primary.span == escape.span;
    // At the escaping setting itself, the finding already says how.
    let how = if at_escape {
        String::new()
    } else {
        format!("{}, so ", escape.how)
    };
    diagnostic.message.push_str(&format!(
        "; namespaces are no boundary here: {how}whoever controls this pod controls every pod on its node, in every namespace"
    ));
    if !at_escape {
        diagnostic.related.push(Label {
            file,
            span: escape.span,
            message: "this lets the pod take over its node".to_owned(),
        });
    }
}

/// The patch files a kustomization names.
fn kustomization_patches(file: FileId, documents: &[yaml::Document]) -> Vec<(FileId, String)> {
    let Some(root) = documents.first().map(|d| &d.root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["patches", "patchesJson6902", "patchesStrategicMerge"] {
        for item in root
            .get(key)
            .and_then(yaml::Node::as_seq)
            .unwrap_or_default()
        {
            let path = item
                .as_str()
                .or_else(|| item.get("path").and_then(yaml::Node::as_str));
            // An inline patch (a YAML string with a newline) is no file.
            if let Some(path) = path.filter(|p| !p.contains('\n')) {
                out.push((file, path.to_owned()));
            }
        }
    }
    out
}

/// `yaml-duplicate-key` and `yaml-ambiguous-value`, tied to the object
/// they are in (so annotations can suppress them).
fn report_yaml_traps(
    settings: &Settings,
    file: FileId,
    text: &str,
    documents: &[yaml::Document],
    objects: &[k8s::Manifest],
    out: &mut Vec<Diagnostic>,
) {
    let duplicates = settings.is_enabled("yaml-duplicate-key");
    let ambiguous = settings.is_enabled("yaml-ambiguous-value");
    if !duplicates && !ambiguous {
        return;
    }
    let owner = |span: Span| {
        objects
            .iter()
            .find(|o| o.node.span.start <= span.start && span.end <= o.node.span.end)
    };
    // Only inside Kubernetes objects: CI workflows, compose files and
    // values files have their own YAML conventions.
    let mut push = |diagnostic: Option<Diagnostic>, span: Span| {
        if let (Some(mut diagnostic), Some(object)) = (diagnostic, owner(span)) {
            diagnostic.object = Some(object.object.clone());
            diagnostic.slot = Some(object.slot);
            out.push(diagnostic);
        }
    };
    let key = |span: Span| {
        text.get(span.start as usize..span.end as usize)
            .unwrap_or("")
    };
    for document in documents {
        if duplicates {
            for (first, repeated) in &document.duplicate_keys {
                let message = format!(
                    "the key `{}` is written twice in this mapping; Kubernetes keeps this later value and silently drops the first",
                    key(*repeated)
                );
                let diagnostic = engine_diagnostic(settings, "yaml-duplicate-key", file, *repeated, message).map(|d| {
                    let mut d = d.with_help("Delete one of the two keys, keeping the value you mean; a review of the first one shows nothing wrong.");
                    d.related.push(Label { file, span: *first, message: "first written here; this value is ignored".to_owned() });
                    d
                });
                push(diagnostic, *repeated);
            }
        }
        if ambiguous {
            for value in yaml_traps_ambiguous(text, document) {
                let written = key(value.span);
                let message = format!(
                    "`{written}` is {}: Kubernetes reads it as {}, while YAML 1.2 tools (yq, editors, formatters) read {}",
                    value.why, value.reading, value.yaml12
                );
                let help = if value.why.contains("boolean") {
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
                let diagnostic =
                    engine_diagnostic(settings, "yaml-ambiguous-value", file, value.span, message)
                        .map(|d| d.with_help(help));
                push(diagnostic, value.span);
            }
        }
    }
}

fn yaml_traps_ambiguous(
    text: &str,
    document: &yaml::Document,
) -> Vec<crate::rules::manifest::yaml_traps::Ambiguous> {
    crate::rules::manifest::yaml_traps::ambiguous_values(text, document)
}

enum ReadFailure {
    Unreadable(String),
    NotUtf8 { lossy: String, valid_up_to: usize },
}

fn read_file(candidate: &Candidate, max_size: u64) -> Result<String, ReadFailure> {
    let path = candidate
        .path
        .as_deref()
        .ok_or_else(|| ReadFailure::Unreadable("no path".into()))?;
    let meta =
        std::fs::metadata(path).map_err(|e| ReadFailure::Unreadable(source::io_message(&e)))?;
    if !meta.is_file() {
        // Reading a FIFO or a device could block forever or never end.
        return Err(ReadFailure::Unreadable("not a regular file".into()));
    }
    if meta.len() > max_size {
        return Err(ReadFailure::Unreadable(format!(
            "the file is {} bytes, over the limit of {max_size} bytes (raise it with --max-file-size)",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| ReadFailure::Unreadable(source::io_message(&e)))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid_up_to = e.utf8_error().valid_up_to();
        ReadFailure::NotUtf8 {
            lossy: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            valid_up_to,
        }
    })
}

fn apply_suppressions(
    diagnostics: Vec<Diagnostic>,
    mut suppressions: Vec<Suppressions>,
    db: &SourceDb,
    settings: &Settings,
) -> Vec<Diagnostic> {
    let mut kept: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|d| {
            let table = &mut suppressions[d.primary.file.0 as usize];
            if table.items.is_empty() {
                return true;
            }
            let file = db.file(d.primary.file);
            let line = file.line_col(d.primary.span.start).line - 1;
            !table.covers(d, line)
        })
        .collect();
    for (i, table) in suppressions.into_iter().enumerate() {
        for item in table.items.into_iter().filter(|item| !item.used) {
            let message = if item.rule == "all" {
                "this suppression hides no finding".to_owned()
            } else {
                match Settings::rule_index(&item.rule) {
                    // A rule turned off in this run hides nothing here, but may
                    // elsewhere; that is not the suppression's fault.
                    Ok(index) if !settings.enabled[index] => continue,
                    Ok(_) => format!("the suppression of {:?} hides no finding", item.rule),
                    Err(unknown) => unknown,
                }
            };
            let Some(mut diagnostic) = engine_diagnostic(
                settings,
                "unused-suppression",
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
            kept.push(diagnostic.with_help("Remove it (or the rule name from it), so it cannot hide a future finding by accident."));
        }
    }
    kept
}
