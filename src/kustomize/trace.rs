//! Moves findings from a build's output to the files that set each value:
//! the base, the patch, or the kustomization field of a transformer.

use super::Built;
use crate::diagnostic::{Cause, Diagnostic, Hardening, Label};
use crate::expand::FileNamer;
use crate::source::{FileId, display_name};
use crate::yaml::Span;
use std::path::Path;
use std::sync::Arc;

impl crate::expand::Retrace for Built {
    fn retrace<'t>(&'t self, d: &mut Diagnostic, text: FileId, names: &mut FileNamer<'_, 't>) {
        let at = d.primary.span;
        let base = base_object(self, d.primary.span, names);
        let caveat = approximate(self, d.primary.span);
        if let Some(removal) = removal_behind(self, d) {
            blame_removal(self, d, removal, text, base, names);
            return;
        }
        if let Some(moved) = move_label(&d.primary, self, names) {
            d.primary = moved;
            d.rendered_from = Some(text);
            if let Some(Cause::Unhardened { setting, .. }) = d.cause {
                d.fix = source_fix(self, text, at, d.container.as_deref(), setting, names);
            }
            d.source_object = base.as_ref().map(|b| (b.file, b.span.start));
            if let Some(mut base) = base.filter(|b| b.file != d.primary.file) {
                // A value from a kustomization field (`images`,
                // `commonLabels`, a replacement) is no patch.
                let setter = names.name(d.primary.file);
                if super::FILE_NAMES
                    .iter()
                    .any(|name| Path::new(setter).file_name() == Some(name.as_ref()))
                {
                    base.message = "the object this kustomization field changes".to_owned();
                }
                d.related.insert(0, base);
            }
            if let Some(message) = caveat {
                // In a label of its own: every reporter shows it.
                d.related.insert(
                    0,
                    Label {
                        file: d.primary.file,
                        span: d.primary.span,
                        message,
                    },
                );
            }
        }
    }

    fn retrace_label<'t>(&'t self, label: &mut Label, names: &mut FileNamer<'_, 't>) {
        if let Some(moved) = move_label(label, self, names) {
            *label = moved;
        }
    }
}

/// The hardening fix made where the build took the finding's place from
/// (a base, or the patch that wrote the container's settings), in the
/// container around it there: every build of that file gets the setting,
/// and an overlay that sets it otherwise still wins (its patch is applied
/// on top).
fn source_fix<'t>(
    built: &'t Built,
    output: FileId,
    at: Span,
    container: Option<&str>,
    setting: Hardening,
    names: &mut FileNamer<'_, 't>,
) -> Option<crate::diagnostic::Fix> {
    let name = container?;
    // The container in the build's output (the file `output`), then the
    // file and node it came from: the base's container, which an overlay's
    // patch merged into.
    let output = parsed(built, Path::new(""), names.text(output)?)?;
    let built_container = innermost_named(document_at(&output, at)?, at, name)?;
    let (path, text, span) = built
        .sources
        .locate(built.emitted.origin(built_container.span)?)?;
    let source = parsed(built, path, text)?;
    let root = document_at(&source, span)?;
    let container = innermost_named(root, span, name)?;
    let file = file_id(path, text, names);
    crate::edit::Source::new(file, text, root).hardening(container, setting)
}

/// `text` parsed, once per build however many findings ask (the build's
/// output, `output`, under the empty path).
fn parsed(built: &Built, path: &Path, text: &str) -> Option<Arc<crate::yaml::Stream>> {
    let mut reparsed = built.reparsed.lock().ok()?;
    Some(
        reparsed
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                Arc::new(crate::yaml::parse_stream(
                    text,
                    crate::yaml::Limits::default(),
                ))
            })
            .clone(),
    )
}

/// The root of the document that holds `span`.
fn document_at(stream: &crate::yaml::Stream, span: Span) -> Option<&crate::yaml::Node> {
    let at = stream
        .documents
        .partition_point(|d| d.root.span.end < span.end);
    stream
        .documents
        .get(at)
        .map(|d| &d.root)
        .filter(|root| root.span.start <= span.start && span.end <= root.span.end)
}

/// The innermost mapping around `span` whose `name` is `name`, found by
/// descending through the children that hold `span` (in order of place, so
/// each step is a binary search: a list of thousands of containers costs a
/// logarithm per finding).
fn innermost_named<'n>(
    node: &'n crate::yaml::Node,
    span: Span,
    name: &str,
) -> Option<&'n crate::yaml::Node> {
    use crate::yaml::{Node, Value};
    let holds = |n: &Node| n.span.start <= span.start && span.end <= n.span.end;
    let mut found = None;
    let mut node = node;
    loop {
        if node.as_map().is_some() && node.get("name").and_then(Node::as_str) == Some(name) {
            found = Some(node);
        }
        let next = match &node.value {
            Value::Map(entries) => {
                let at = entries.partition_point(|e| e.value.span.end < span.end);
                entries.get(at).map(|e| &e.value).filter(|n| holds(n))
            }
            Value::Seq(items) => {
                let at = items.partition_point(|n| n.span.end < span.end);
                items.get(at).filter(|n| holds(n))
            }
            _ => None,
        };
        match next {
            // A child is a level deeper: the descent ends.
            Some(child) => node = child,
            None => return found,
        }
    }
}

/// The keys whose removal takes a hardening setting away: the setting's
/// own, its parents', and the whole `securityContext`.
fn keys_of(setting: Hardening) -> &'static [&'static str] {
    match setting {
        Hardening::NoPrivilegeEscalation => &["securityContext", "allowPrivilegeEscalation"],
        Hardening::DropAll | Hardening::DropNetRaw => &["securityContext", "capabilities", "drop"],
        Hardening::ReadOnlyRoot => &["securityContext", "readOnlyRootFilesystem"],
        Hardening::NonRoot => &["securityContext", "runAsNonRoot", "runAsUser"],
        Hardening::Seccomp => &["securityContext", "seccompProfile"],
    }
}

/// For a missing hardening setting, the patch that removed one from the
/// container the finding is about, if one did.
fn removal_behind<'b>(built: &'b Built, d: &Diagnostic) -> Option<&'b super::Removal> {
    let Some(Cause::Unhardened { setting, .. }) = d.cause else {
        return None;
    };
    // Most builds remove nothing: no need to look for the container.
    if built.sources.removals.is_empty() {
        return None;
    }
    let span = d.primary.span;
    // The innermost node around the finding's place: its container.
    let (_, container) = built
        .emitted
        .origins
        .iter()
        .filter(|(out, source)| {
            out.start <= span.start && span.end <= out.end && *out != span && !source.is_empty()
        })
        .min_by_key(|(out, _)| out.end - out.start)?;
    built.sources.removals.iter().find(|r| {
        container.start <= r.parent.start
            && r.parent.end <= container.end
            && keys_of(setting).contains(&r.key.as_str())
    })
}

/// Points a finding at the patch operation that removed the setting, with
/// a label at the value the base wrote.
fn blame_removal<'t>(
    built: &'t Built,
    d: &mut Diagnostic,
    removal: &super::Removal,
    text: FileId,
    base: Option<Label>,
    names: &mut FileNamer<'_, 't>,
) {
    let Some((path, source, by)) = built.sources.locate(removal.by) else {
        return;
    };
    let file = file_id(path, source, names);
    d.primary = Label {
        file,
        span: by,
        message: format!("this patch removes `{}`", removal.key),
    };
    d.rendered_from = Some(text);
    d.source_object = base.as_ref().map(|b| (b.file, b.span.start));
    if let Some((path, source, removed)) = built.sources.locate(removal.removed) {
        let file = file_id(path, source, names);
        d.related.insert(
            0,
            Label {
                file,
                span: removed,
                message: "the base sets it here".to_owned(),
            },
        );
    }
}

fn move_label<'t>(label: &Label, built: &'t Built, names: &mut FileNamer<'_, 't>) -> Option<Label> {
    let origin = built.emitted.origin(label.span)?;
    let (path, text, span) = built.sources.locate(origin)?;
    let file = file_id(path, text, names);
    Some(Label {
        file,
        span,
        message: label.message.clone(),
    })
}

/// For a finding the real tool built and kslint could place only at its
/// object, why the place is approximate.
fn approximate(built: &Built, span: Span) -> Option<String> {
    let fallback = built.fallback.as_ref()?;
    let origin = built.emitted.origin(span)?;
    fallback.approximate.contains(&origin).then(|| {
        format!(
            "approximate: `{}` built this (kslint's engine does not build a feature it uses), and kslint found no line of the tree that writes this value, so it points at the object",
            fallback.command
        )
    })
}

/// The first line of the object a span is in, where the build read it.
fn base_object<'t>(built: &'t Built, span: Span, names: &mut FileNamer<'_, 't>) -> Option<Label> {
    let object = built.emitted.object_origin(span)?;
    let (path, text, local) = built.sources.locate(object)?;
    let line_end = text[local.start as usize..]
        .find('\n')
        .map_or(text.len(), |i| local.start as usize + i);
    let file = file_id(path, text, names);
    Some(Label {
        file,
        span: Span::new(local.start as usize, line_end),
        message: "the base object this build patched".to_owned(),
    })
}

/// The run's file for a path the build read (added if the run lacks it).
fn file_id<'t>(path: &Path, text: &'t str, names: &mut FileNamer<'_, 't>) -> FileId {
    names.id(shown(path), text)
}

/// A canonical path as the run shows paths: relative to the current folder
/// when it is below it.
pub fn shown(path: &Path) -> String {
    // The current folder does not change during a run: resolved once.
    static CWD: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let cwd = CWD.get_or_init(|| {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| cwd.canonicalize().ok())
    });
    let relative = cwd
        .as_ref()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    display_name(relative.as_deref().unwrap_or(path))
}
