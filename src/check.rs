//! The check stage: one file at a time (in parallel), read it, load its
//! YAML, view its objects, run the per-object rules, and collect the facts
//! cross-resource rules need.

use crate::catalog::CATALOG;
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::expand::Generated;
use crate::index::RunIndex;
use crate::k8s;
use crate::k8s::node_access::node_escape;
use crate::registry::{Rule, RuleContext};
use crate::rules::RULES;
use crate::rules::manifest::{
    SchemaTypeMismatch, UnknownField, UnreadableFile, YamlAmbiguousValue, YamlDuplicateKey,
    YamlSyntax,
};
use crate::rules::namespace::PodSecurityViolation;
use crate::rules::pod_security::{ImageLatestTag, ImageNotPinned, ResourceLimitsMissing};
use crate::settings::Settings;
use crate::source::{self, Candidate, FileId, SourceFile};
use crate::suppress::Suppressions;
use crate::tree::Tree;
use crate::yaml::{self, Span};
use std::sync::Arc;

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
    /// A text an engine made (a chart render, a Kustomize build).
    Generated(Box<Generated>),
    /// A file a Kustomize build read: its objects are linted through the
    /// build, its text (YAML traps, suppression comments) here.
    Fed(Candidate),
}

impl Text {
    /// The name shown to users.
    pub fn name(&self) -> &str {
        match self {
            Text::Read(c) | Text::Fed(c) => &c.name,
            Text::Given { name, .. } => name,
            Text::Problem(p) => &p.name,
            Text::Generated(g) => &g.name,
        }
    }
}

/// A rule that is on, with its severity.
pub struct ActiveRule {
    /// The rule.
    pub rule: &'static dyn Rule,
    /// Its severity in the catalog.
    pub severity: Severity,
    /// The severity the config gives it, if any.
    pub configured: Option<Severity>,
}

impl ActiveRule {
    /// The rules the settings turn on.
    pub fn all(settings: &Settings) -> Vec<ActiveRule> {
        RULES
            .iter()
            .enumerate()
            .filter(|(i, _)| settings.enabled[*i])
            .map(|(i, rule)| ActiveRule {
                rule: *rule,
                severity: CATALOG[i].severity,
                configured: settings.severity[i],
            })
            .collect()
    }
}

/// What checking one file found.
pub struct FileResult {
    /// The file, as read.
    pub file: SourceFile,
    /// Whether it could be read.
    pub read: bool,
    /// How many objects it holds.
    pub objects: usize,
    /// Its findings.
    pub diagnostics: Vec<Diagnostic>,
    /// Its facts for cross-resource rules.
    pub index: RunIndex,
    /// Its suppressions.
    pub suppressions: Suppressions,
}

/// Reads, loads and checks one file: per-object rules, YAML traps,
/// suppression comments, and the facts cross-resource rules need.
pub fn process_file(
    id: FileId,
    text: Text,
    settings: &Settings,
    tree: &Tree,
    limits: &yaml::Limits,
    active: &[ActiveRule],
) -> FileResult {
    let mut result = FileResult {
        file: SourceFile::new(text.name().to_owned(), Arc::from("")),
        read: false,
        objects: 0,
        diagnostics: Vec::new(),
        index: RunIndex::new(settings.is_enabled(PodSecurityViolation::ID)).keeping_custom_objects(
            settings.is_enabled(UnknownField::ID) || settings.is_enabled(SchemaTypeMismatch::ID),
        ),
        suppressions: Suppressions::default(),
    };
    let unreadable = |result: &mut FileResult, message: String| {
        let help = "Make the file readable, or leave it out with --exclude or the config's `exclude` list.";
        result.diagnostics.extend(
            settings
                .engine_diagnostic(UnreadableFile::ID, None, id, Span::default(), message)
                .map(|d| d.with_help(help)),
        );
    };
    // `helm template` without a namespace renders `.Release.Namespace` as
    // `default`; that is no namespace the user chose, so it must not shape
    // findings (messages, namespace matching).
    let helm_default_namespace =
        matches!(&text, Text::Generated(g) if !g.provenance.namespace_chosen());
    let fed = matches!(text, Text::Fed(_));
    let (content, explicit) = match text {
        Text::Problem(problem) => {
            unreadable(
                &mut result,
                format!("cannot read {:?}: {}", problem.name, problem.message),
            );
            return result;
        }
        Text::Given { text, .. } => (source::text_of(text.into_bytes()).0, true),
        Text::Generated(generated) => (source::text_of(generated.text.into_bytes()).0, true),
        Text::Read(candidate) | Text::Fed(candidate) => {
            match read_file(&candidate, settings.max_file_size, tree) {
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
                        settings
                            .engine_diagnostic(YamlSyntax::ID, None, id, span, message)
                            .map(|d| {
                                d.with_help(
                                    "Save the file as UTF-8, or leave it out with --exclude.",
                                )
                            }),
                    );
                    return result;
                }
            }
        }
    };
    result.read = true;
    let text: Arc<str> = Arc::from(content);
    result.file = SourceFile::new(result.file.name.clone(), text.clone());

    let stream = yaml::parse_stream(&text, limits.clone());
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
    let mut objects = k8s::objects(id, &stream.documents, &settings.pod_spec_paths);
    if helm_default_namespace {
        for object in &mut objects {
            if object.object.namespace.as_deref() == Some("default") {
                object.object.namespace = None;
            }
        }
    }
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
                settings
                    .engine_diagnostic(YamlSyntax::ID, None, id, error.span, message)
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
    if fed {
        return result;
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
                    escape.explain(diagnostic, id);
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
        ImageLatestTag::ID,
        ImageNotPinned::ID,
        ResourceLimitsMissing::ID,
    ];
    !NOT_ISOLATION.contains(&rule)
        && CATALOG
            .iter()
            .find(|meta| meta.id == rule)
            .is_some_and(|meta| meta.category == "pod-security")
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
    let duplicates = settings.is_enabled(YamlDuplicateKey::ID);
    let ambiguous = settings.is_enabled(YamlAmbiguousValue::ID);
    if !duplicates && !ambiguous {
        return;
    }
    // Objects are in document order (unless aliases copied one): the one
    // holding a span is then the last that starts before it.
    let in_order = objects
        .windows(2)
        .all(|w| w[0].node.span.start <= w[1].node.span.start);
    let holds = |o: &&k8s::Manifest, span: Span| {
        o.node.span.start <= span.start && span.end <= o.node.span.end
    };
    let owner = |span: Span| {
        if in_order {
            let after = objects.partition_point(|o| o.node.span.start <= span.start);
            after
                .checked_sub(1)
                .map(|i| &objects[i])
                .filter(|o| holds(o, span))
        } else {
            objects.iter().find(|o| holds(o, span))
        }
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
                let diagnostic = settings.engine_diagnostic(YamlDuplicateKey::ID, None, file, *repeated, message).map(|d| {
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
                let diagnostic = settings
                    .engine_diagnostic(YamlAmbiguousValue::ID, None, file, value.span, message)
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

fn read_file(candidate: &Candidate, max_size: u64, tree: &Tree) -> Result<String, ReadFailure> {
    let path = candidate
        .path
        .as_deref()
        .ok_or_else(|| ReadFailure::Unreadable("no path".into()))?;
    let bytes = tree
        .read(path, max_size)
        .map_err(|e| ReadFailure::Unreadable(e.why()))?;
    match source::text_of(bytes) {
        (text, None) => Ok(text),
        (lossy, Some(valid_up_to)) => Err(ReadFailure::NotUtf8 { lossy, valid_up_to }),
    }
}
