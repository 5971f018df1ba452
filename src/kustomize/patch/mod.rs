//! Patches: strategic merge (with the merge keys of built-in types) and
//! JSON 6902, the `patches` field with target selectors, and the legacy
//! `patchesStrategicMerge` and `patchesJson6902` fields.

mod json6902;
mod strategic;

use super::pattern::Pattern;
use super::res::{self, Res, respan};
use super::{Error, Kustomization, Sources, restricted};
use crate::yaml::{self, Node, Span, Value};
use json6902::apply_json;
use strategic::{apply_by_id, apply_keeping_identity};

/// `patchesStrategicMerge`: inline YAML or files, each applied to the one
/// resource with its id.
pub(super) fn strategic_merge_field(
    k: &Kustomization,
    sources: &mut Sources,
    resources: &mut [Res],
) -> Result<(), Error> {
    for (entry, span) in k.strings("patchesStrategicMerge") {
        // Inline YAML first, as kustomize tries; otherwise a file.
        let docs = match inline(entry, span, sources) {
            Ok(docs) if docs.iter().any(|d| d.get("kind").is_some()) => docs,
            _ => load(&k.dir, entry, span, sources)?,
        };
        for doc in docs {
            apply_by_id(resources, &doc, span, &mut sources.removals)?;
        }
    }
    Ok(())
}

/// `patches`: each a strategic merge or JSON 6902 patch, from a file or
/// inline, with an optional target selector.
pub(super) fn patches_field(
    k: &Kustomization,
    sources: &mut Sources,
    resources: &mut [Res],
) -> Result<(), Error> {
    for entry in k
        .field("patches")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        if entry.get("options").is_some() {
            return Err(Error::unsupported("`patches` with `options`", entry.span));
        }
        let (docs, text_span) = patch_docs(k, entry, sources)?;
        let target = entry.get("target");
        match classify(&docs) {
            Kind::Json(ops) => {
                let Some(target) = target else {
                    return Err(Error::invalid(
                        "a JSON 6902 patch needs a `target`",
                        entry.span,
                    ));
                };
                let target = Target::new(target)?;
                for r in resources.iter_mut() {
                    if target.selects(r)? {
                        sources.spend(&r.node, 1, text_span)?;
                        r.store_previous();
                        apply_json(&mut r.node, ops, text_span, &mut sources.removals)?;
                    }
                }
            }
            Kind::Strategic => match target {
                Some(target) => {
                    if docs.len() != 1 {
                        return Err(Error::invalid(
                            "a `patches` entry with a `target` may hold only one strategic merge patch",
                            entry.span,
                        ));
                    }
                    if res::str_at(&docs[0], &["metadata", "name"]).is_none_or(str::is_empty) {
                        return Err(Error::invalid(
                            "a strategic merge patch needs metadata.name",
                            text_span,
                        ));
                    }
                    let target = Target::new(target)?;
                    for r in resources.iter_mut() {
                        if target.selects(r)? {
                            sources.spend(&docs[0], 1, text_span)?;
                            let mut doc = docs[0].clone();
                            if let Some(v) = res::get_mut(&mut doc, "apiVersion") {
                                v.value = Value::Str(r.api_version().to_owned());
                            }
                            apply_keeping_identity(r, &doc, &mut sources.removals);
                        }
                    }
                }
                None => {
                    for doc in &docs {
                        apply_by_id(resources, doc, text_span, &mut sources.removals)?;
                    }
                }
            },
            Kind::Neither => {
                return Err(Error::invalid(
                    "this patch is neither a strategic merge patch (an object with kind and name) nor a JSON 6902 list of operations",
                    text_span,
                ));
            }
        }
    }
    Ok(())
}

/// `patchesJson6902`: JSON 6902 operations on one named target.
pub(super) fn json6902_field(
    k: &Kustomization,
    sources: &mut Sources,
    resources: &mut [Res],
) -> Result<(), Error> {
    for entry in k
        .field("patchesJson6902")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let Some(target) = entry.get("target") else {
            return Err(Error::invalid(
                "`patchesJson6902` entries need a `target`",
                entry.span,
            ));
        };
        let (docs, span) = patch_docs(k, entry, sources)?;
        let Kind::Json(ops) = classify(&docs) else {
            return Err(Error::invalid(
                "`patchesJson6902` needs a list of JSON 6902 operations",
                span,
            ));
        };
        let target = Target::new(target)?;
        for r in resources.iter_mut() {
            if target.selects(r)? {
                sources.spend(&r.node, 1, span)?;
                apply_json(&mut r.node, ops, span, &mut sources.removals)?;
            }
        }
    }
    Ok(())
}

/// A patch entry's documents, from its `path` file or its inline `patch`,
/// and the span they are attributed to.
fn patch_docs(
    k: &Kustomization,
    entry: &Node,
    sources: &mut Sources,
) -> Result<(Vec<Node>, Span), Error> {
    match (entry.get("path"), entry.get("patch")) {
        (Some(path), None) => Ok((
            load(&k.dir, path.as_str().unwrap_or(""), path.span, sources)?,
            path.span,
        )),
        (None, Some(patch)) => Ok((
            inline(patch.as_str().unwrap_or(""), patch.span, sources)?,
            patch.span,
        )),
        _ => Err(Error::invalid(
            "a patch needs exactly one of `path` and `patch`",
            entry.span,
        )),
    }
}

enum Kind<'d> {
    Strategic,
    Json(&'d [Node]),
    Neither,
}

fn classify(docs: &[Node]) -> Kind<'_> {
    match docs {
        [only] if matches!(only.value, Value::Seq(_)) => {
            Kind::Json(only.as_seq().unwrap_or_default())
        }
        _ if !docs.is_empty() && docs.iter().all(|d| d.get("kind").is_some()) => Kind::Strategic,
        _ => Kind::Neither,
    }
}

pub(super) fn load(
    dir: &std::path::Path,
    entry: &str,
    span: Span,
    sources: &mut Sources,
) -> Result<Vec<Node>, Error> {
    let path = restricted(dir, entry, span)?;
    let (base, text) = sources
        .read(&path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display()), span))?;
    parse(text, base, span)
}

/// An inline patch. Written as a literal block (`patch: |-`), each line of
/// its text is a line of the kustomization, so its nodes keep their own
/// places there; otherwise they are attributed to the whole value.
pub(super) fn inline(text: &str, span: Span, sources: &Sources) -> Result<Vec<Node>, Error> {
    let mut docs = parse(text, 0, span)?;
    let lines = sources
        .locate(span)
        .and_then(|(_, file, local)| block_lines(text, file, local, span));
    for doc in &mut docs {
        match &lines {
            Some(lines) => shift(doc, &|offset| place_in_block(lines, offset)),
            None => respan(doc, span),
        }
    }
    Ok(docs)
}

/// For each line of a literal block scalar's `text`: (offset in `text`,
/// offset of that line's text in the build's address space). `None` when
/// the written block is not the text line for line (folded, quoted,
/// escaped).
fn block_lines(text: &str, file: &str, local: Span, span: Span) -> Option<Vec<(u32, u32)>> {
    // The block's text starts on the line after its header.
    let first_line = file.get(..local.start as usize)?.rfind('\n')? + 1;
    let header_line = file[..first_line - 1].rfind('\n').map_or(0, |i| i + 1);
    let header = file[header_line..first_line - 1].trim_end();
    let indicator = header.rsplit([' ', '\t']).next()?;
    // A literal block's header: `|`, with chomping and indentation marks.
    if !indicator.starts_with('|')
        || indicator[1..].contains(|c: char| !matches!(c, '-' | '+' | '0'..='9'))
    {
        return None;
    }
    let file_base = span.start - local.start;
    let mut source_line = first_line;
    let wanted: Vec<&str> = text.lines().collect();
    let last = wanted.iter().rposition(|l| !l.is_empty())?;
    let indent = file[source_line..]
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())?;
    let mut out = Vec::with_capacity(last + 1);
    let mut text_offset = 0usize;
    for line in &wanted[..=last] {
        let end = file[source_line..]
            .find('\n')
            .map_or(file.len(), |i| source_line + i);
        let written_line = &file[source_line..end];
        if line.is_empty() {
            if !written_line.trim().is_empty() {
                return None;
            }
        } else if written_line.len() < indent
            || !written_line[..indent].bytes().all(|b| b == b' ')
            || &written_line[indent..] != *line
        {
            return None;
        }
        out.push((
            text_offset as u32,
            file_base + (source_line + indent.min(written_line.len())) as u32,
        ));
        text_offset += line.len() + 1;
        source_line = end + 1;
    }
    Some(out)
}

/// Where an offset of a block's text is in the build's address space.
fn place_in_block(lines: &[(u32, u32)], offset: u32) -> u32 {
    let i = lines.partition_point(|(start, _)| *start <= offset).max(1) - 1;
    let (text_start, source_start) = lines[i];
    source_start + (offset - text_start)
}

/// Moves every span of a tree by `place`.
fn shift(node: &mut Node, place: &dyn Fn(u32) -> u32) {
    node.span = Span {
        start: place(node.span.start),
        end: place(node.span.end),
    };
    match &mut node.value {
        Value::Map(entries) => {
            for entry in entries {
                entry.key_span = Span {
                    start: place(entry.key_span.start),
                    end: place(entry.key_span.end),
                };
                shift(&mut entry.value, place);
            }
        }
        Value::Seq(items) => {
            for item in items {
                shift(item, place);
            }
        }
        _ => {}
    }
}

fn parse(text: &str, base: usize, span: Span) -> Result<Vec<Node>, Error> {
    let stream = yaml::parse_stream_at(text, base, yaml::Limits::default());
    if let Some(error) = stream.errors.first() {
        return Err(Error::invalid(
            format!("invalid YAML in a patch: {}", error.message),
            span,
        ));
    }
    Ok(stream
        .documents
        .into_iter()
        .map(|d| d.root)
        .filter(|r| !r.is_null())
        .collect())
}

// --- targets -----------------------------------------------------------------

/// A patch's `target`, its patterns compiled once for every resource it
/// is matched against: group, version, kind, name and namespace are
/// anchored regular expressions; label and annotation selectors use
/// Kubernetes' `key=value`, `key!=value`, `key`, `!key`.
struct Target<'n> {
    node: &'n Node,
    group: Option<Pattern>,
    version: Option<Pattern>,
    kind: Option<Pattern>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
}

impl<'n> Target<'n> {
    fn new(node: &'n Node) -> Result<Self, Error> {
        let regex = |key: &str| -> Result<Option<Pattern>, Error> {
            match res::str_at(node, &[key]) {
                None | Some("") => Ok(None),
                Some(text) => Pattern::new(text).map(Some).map_err(|_| {
                    Error::invalid(format!("`{text}` is not a valid pattern"), node.span)
                }),
            }
        };
        Ok(Target {
            node,
            group: regex("group")?,
            version: regex("version")?,
            kind: regex("kind")?,
            name: regex("name")?,
            namespace: regex("namespace")?,
        })
    }

    /// Whether the target selects a resource.
    fn selects(&self, r: &Res) -> Result<bool, Error> {
        let (group, version) = r.group_version();
        let current = r.id();
        let original = r.original_id();
        let ok = |re: &Option<Pattern>, values: &[&str]| {
            re.as_ref()
                .is_none_or(|re| values.iter().any(|v| re.is_match(v)))
        };
        if !ok(&self.group, &[group])
            || !ok(&self.version, &[version])
            || !ok(&self.kind, &[r.kind()])
            || !ok(&self.name, &[&original.name, &current.name])
            || !ok(&self.namespace, &[&original.namespace, &current.namespace])
        {
            return Ok(false);
        }
        for (key, field) in [
            ("labelSelector", "labels"),
            ("annotationSelector", "annotations"),
        ] {
            if let Some(selector) = res::str_at(self.node, &[key]) {
                let values = r.node.path(&["metadata", field]);
                if !label_selector_matches(selector, values)
                    .map_err(|e| Error::unsupported(e, self.node.span))?
                {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

pub(super) fn label_selector_matches(
    selector: &str,
    labels: Option<&Node>,
) -> Result<bool, String> {
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(super::res::value_text);
    for term in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if term.contains(" in ") || term.contains(" notin ") || term.contains('(') {
            return Err("set-based label selectors in patch targets".to_owned());
        }
        let ok = if let Some((k, v)) = term.split_once("!=") {
            get(k.trim()).as_deref() != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            get(k.trim()).as_deref() == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            get(k.trim()).is_none()
        } else {
            get(term).is_some()
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}
