//! The check stage: one file at a time (in parallel), read it, load its
//! YAML, view its objects, run the per-object rules, and collect the facts
//! cross-resource rules need.

use crate::catalog::CATALOG;
use crate::diagnostic::{Diagnostic, Severity};
use crate::expand::Generated;
use crate::index::RunIndex;
use crate::k8s;
use crate::k8s::node_access::node_escape;
use crate::registry::{FileView, Rule, RuleContext};
use crate::rules::RULES;
use crate::rules::manifest::{SchemaTypeMismatch, UnknownField, UnreadableFile};
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
    /// Custom rules' expressions that failed on its objects.
    pub policy_errors: Vec<crate::policy::custom::RuntimeError>,
    /// Whether its objects were linted here (not through a build).
    pub linted: bool,
    /// Whether it holds an admission policy or binding.
    pub has_policy: bool,
}

/// Reads, loads and checks one file: per-object rules, YAML traps,
/// suppression comments, and the facts cross-resource rules need.
pub fn process_file(
    id: FileId,
    text: Text,
    settings: &Settings,
    tree: &Tree,
    active: &[ActiveRule],
    parsed: &crate::parsed::ParsedFiles,
    budget: &crate::policy::validate::Budget,
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
        policy_errors: Vec::new(),
        linted: false,
        has_policy: false,
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
    // Fixes are made in files users own, not in renders or builds.
    let fixable = matches!(text, Text::Read(_));
    let mut made_documents = None;
    // A file a build read was parsed then (also one linted as written
    // because its build failed): its text and documents.
    let cached = match &text {
        Text::Fed(candidate) | Text::Read(candidate) if !parsed.is_empty() => candidate
            .path
            .as_deref()
            .and_then(|path| tree.resolve(path).ok())
            .and_then(|real| parsed.take(&real)),
        _ => None,
    };
    let (content, explicit) = match text {
        Text::Fed(candidate) | Text::Read(candidate) if let Some(file) = &cached => {
            (file.text.clone(), candidate.explicit)
        }
        Text::Problem(problem) => {
            unreadable(
                &mut result,
                format!("cannot read {:?}: {}", problem.name, problem.message),
            );
            return result;
        }
        Text::Given { text, .. } => (Arc::from(source::text_of(text.into_bytes()).0), true),
        Text::Generated(generated) => {
            let generated = *generated;
            made_documents = generated.documents;
            // kslint's own writer makes UTF-8 without carriage returns.
            let text = if made_documents.is_some() {
                generated.text
            } else {
                source::text_of(generated.text.into_bytes()).0
            };
            (Arc::from(text), true)
        }
        Text::Read(candidate) | Text::Fed(candidate) => {
            match read_file(&candidate, settings.max_file_size, tree) {
                Ok(content) => (Arc::from(content), candidate.explicit),
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
                    let view = FileView {
                        id,
                        text: &result.file.text,
                        not_utf8_at: Some(Span::new(valid_up_to, valid_up_to + 1)),
                        stream: &yaml::Stream::default(),
                        objects: &[],
                        named: candidate.explicit,
                    };
                    check_file(&view, active, &mut result.diagnostics);
                    return result;
                }
            }
        }
    };
    result.read = true;
    let text: Arc<str> = content;
    budget.earn(text.len());
    result.file = SourceFile::new(result.file.name.clone(), text.clone());

    // Written by kslint (a Kustomize build): no comments, no YAML traps,
    // nothing for the file-level rules; those read the files it came from.
    let written_by_kslint = made_documents.is_some();
    let stream = match (made_documents, cached) {
        (Some(documents), _) => yaml::Stream {
            documents,
            errors: Vec::new(),
        },
        (None, Some(file)) => file.stream,
        (None, None) => yaml::parse_manifest_stream(&text, parsed.limits().clone()),
    };
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
    if !written_by_kslint {
        if text.contains("kslint-ignore") {
            result.suppressions = Suppressions::from_comments(&text, result.file.line_index());
        }
        let view = FileView {
            id,
            text: &text,
            not_utf8_at: None,
            stream: &stream,
            objects: &objects,
            named: explicit,
        };
        check_file(&view, active, &mut result.diagnostics);
    }
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
    result.linted = true;
    let custom = settings
        .custom_rules
        .as_deref()
        .filter(|c| c.any_per_object());
    for object in &objects {
        result.has_policy |= crate::policy::admission::is_policy_kind(object);
        if let Some(custom) = custom {
            custom.check_object(
                object,
                budget,
                &mut result.diagnostics,
                &mut result.policy_errors,
            );
        }
        result.suppressions.add_annotations(object);
        let source = fixable.then(|| crate::edit::Source::new(id, &text, object.node));
        result.index.add(object, source.as_ref());
        let first_new = result.diagnostics.len();
        for active_rule in active {
            let mut cx = RuleContext::new(
                active_rule.rule.id(),
                active_rule.severity,
                active_rule.configured,
                &mut result.diagnostics,
            )
            .targeting(settings.kubernetes_minor)
            .with_source(source);
            cx.for_object(id, object.slot, &object.object);
            active_rule.rule.check(object, &mut cx);
        }
        if result.diagnostics.len() > first_new
            && let Some(escape) = object.pod.as_ref().and_then(node_escape)
        {
            // Said once per workload: on the finding at the escaping
            // setting, else on the gravest isolation finding.
            let new = &mut result.diagnostics[first_new..];
            let at_escape = new
                .iter()
                .position(|d| d.primary.file == id && d.primary.span == escape.span);
            let gravest = new
                .iter()
                .enumerate()
                .filter(|(_, d)| is_pod_security_rule(d.rule))
                .max_by_key(|(i, d)| (d.severity, std::cmp::Reverse(*i)))
                .map(|(i, _)| i);
            if let Some(i) = at_escape.or(gravest) {
                escape.explain(&mut new[i], id);
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

/// Runs the file-level rules on one file.
fn check_file(view: &FileView<'_>, active: &[ActiveRule], out: &mut Vec<Diagnostic>) {
    for active_rule in active {
        let mut cx = RuleContext::new(
            active_rule.rule.id(),
            active_rule.severity,
            active_rule.configured,
            out,
        );
        active_rule.rule.check_file(view, &mut cx);
    }
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
