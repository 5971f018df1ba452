//! Patches: strategic merge (with the merge keys of built-in types) and
//! JSON 6902, the `patches` field with target selectors, and the legacy
//! `patchesStrategicMerge` and `patchesJson6902` fields.

use super::res::{self, Res, respan};
use super::{Error, Kustomization, Sources, restricted};
use crate::yaml::{self, Entry, Node, Span, Value};

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
            apply_by_id(resources, &doc, span)?;
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
                        apply_json(&mut r.node, ops, text_span)?;
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
                            apply_keeping_identity(r, &doc);
                        }
                    }
                }
                None => {
                    for doc in &docs {
                        apply_by_id(resources, doc, text_span)?;
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
                apply_json(&mut r.node, ops, span)?;
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

/// A patch applied to the one resource whose current or earlier id is the
/// patch's.
fn apply_by_id(resources: &mut [Res], doc: &Node, span: Span) -> Result<(), Error> {
    let patch = Res::new(doc.clone());
    let want = patch.id();
    let matches: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ids().any(|id| id == want))
        .map(|(i, _)| i)
        .collect();
    match matches[..] {
        [one] => {
            apply_keeping_identity(&mut resources[one], doc);
            Ok(())
        }
        [] => Err(Error::invalid(
            format!(
                "no resource matches the patch for {} {}{}",
                want.kind,
                want.name,
                if want.namespace.is_empty() || want.namespace == "default" {
                    String::new()
                } else {
                    format!(" in namespace {}", want.namespace)
                }
            ),
            // An inline patch has no place of its own: the entry's.
            if doc.span == Span::default() {
                span
            } else {
                doc.span
            },
        )),
        _ => Err(Error::invalid(
            format!(
                "several resources match the patch for {} {}",
                want.kind, want.name
            ),
            doc.span,
        )),
    }
}

/// A strategic merge that keeps the target's name, namespace and kind.
fn apply_keeping_identity(r: &mut Res, doc: &Node) {
    let name = res::str_at(&r.node, &["metadata", "name"]).map(str::to_owned);
    let namespace = r.node.path(&["metadata", "namespace"]).cloned();
    let kind = r.node.get("kind").cloned();
    let api_version = r.node.get("apiVersion").cloned();
    let kind_name = r.kind().to_owned();
    let schema = has_schema(r.api_version(), &kind_name).then_some(kind_name.as_str());
    let name_node = r.node.path(&["metadata", "name"]).cloned();
    match merge(Some(r.node.clone()), doc, &mut Vec::new(), schema) {
        None => {
            r.node = Node {
                value: Value::Null,
                span: r.node.span,
                plain: false,
            }
        }
        Some(mut merged) => {
            // kyaml's merge drops the fields of a patched object whose value
            // is empty (`key:`); an explicit `null` stays.
            drop_empty(&mut merged);
            if let Some(kind) = kind {
                res::set(&mut merged, "kind", kind);
            }
            if let Some(v) = api_version {
                res::set(&mut merged, "apiVersion", v);
            }
            if let Some(metadata) = res::get_mut(&mut merged, "metadata") {
                if let (Some(_), Some(node)) = (name, name_node) {
                    res::set(metadata, "name", node);
                }
                match namespace {
                    Some(ns) => res::set(metadata, "namespace", ns),
                    None => {
                        res::remove(metadata, "namespace");
                    }
                }
            }
            r.node = merged;
        }
    }
}

/// Whether kustomize knows the type's schema (Kubernetes 1.21 built-ins);
/// lists of other types are replaced, never merged.
fn has_schema(api_version: &str, kind: &str) -> bool {
    let (group, version) = res::split_api_version(api_version);
    match group {
        "" => version == "v1",
        "apps" => version == "v1",
        "batch" => version == "v1" || (version == "v1beta1" && kind == "CronJob"),
        "admissionregistration.k8s.io"
        | "policy"
        | "networking.k8s.io"
        | "rbac.authorization.k8s.io"
        | "storage.k8s.io"
        | "autoscaling"
        | "scheduling.k8s.io"
        | "apiregistration.k8s.io"
        | "apiextensions.k8s.io"
        | "certificates.k8s.io"
        | "coordination.k8s.io"
        | "node.k8s.io"
        | "discovery.k8s.io"
        | "events.k8s.io" => true,
        _ => false,
    }
}

/// The merge keys of a list at `path` (keys from the object root, list
/// items left out), or `None` when the list is replaced.
fn merge_keys(path: &[String], schema: Option<&str>) -> Option<&'static [&'static str]> {
    let kind = schema?;
    let last = path.last()?.as_str();
    let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
    let pod_kind = matches!(
        kind,
        "Pod"
            | "PodTemplate"
            | "Deployment"
            | "ReplicaSet"
            | "DaemonSet"
            | "StatefulSet"
            | "Job"
            | "CronJob"
            | "ReplicationController"
    );
    let in_container = path.iter().rev().skip(1).any(|k| {
        matches!(
            k.as_str(),
            "containers" | "initContainers" | "ephemeralContainers"
        )
    });
    match last {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
            if pod_kind =>
        {
            Some(&["name"])
        }
        "hostAliases" if pod_kind => Some(&["ip"]),
        "topologySpreadConstraints" if pod_kind => Some(&["topologyKey", "whenUnsatisfiable"]),
        "env" if in_container => Some(&["name"]),
        "ports" if in_container => Some(&["containerPort", "protocol"]),
        "ports" if kind == "Service" && parent == Some("spec") && path.len() == 2 => {
            Some(&["port", "protocol"])
        }
        "volumeMounts" if in_container => Some(&["mountPath"]),
        "volumeDevices" if in_container => Some(&["devicePath"]),
        "secrets" if kind == "ServiceAccount" && path.len() == 1 => Some(&["name"]),
        "finalizers" if parent == Some("metadata") => Some(&[]),
        "ownerReferences" if parent == Some("metadata") => Some(&["uid"]),
        "webhooks"
            if path.len() == 1
                && matches!(
                    kind,
                    "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
                ) =>
        {
            Some(&["name"])
        }
        "conditions" if parent == Some("status") => Some(&["type"]),
        _ => None,
    }
}

/// Strategic merge of `patch` into `dest`; `None` deletes.
fn merge(
    dest: Option<Node>,
    patch: &Node,
    path: &mut Vec<String>,
    schema: Option<&str>,
) -> Option<Node> {
    match &patch.value {
        Value::Map(patch_entries) => {
            match patch.get("$patch").and_then(Node::as_str) {
                Some("delete") => return None,
                Some("replace") => return Some(without_directives(patch)),
                _ => {}
            }
            let mut dest = match dest {
                Some(d) if matches!(d.value, Value::Map(_)) => d,
                _ => return Some(without_directives(patch)),
            };
            for entry in patch_entries {
                if entry.key == "$patch" {
                    continue;
                }
                if entry.value.is_null() {
                    res::remove(&mut dest, &entry.key);
                    continue;
                }
                path.push(entry.key.clone());
                let current = res::get_mut(&mut dest, &entry.key).map(|n| n.clone());
                let merged = match (&current, &entry.value.value) {
                    (Some(d), Value::Seq(_)) if matches!(d.value, Value::Seq(_)) => {
                        merge_list(d, &entry.value, path, schema)
                    }
                    _ => merge(current, &entry.value, path, schema),
                };
                path.pop();
                match merged {
                    Some(node) => {
                        if let Value::Map(entries) = &mut dest.value {
                            match entries.iter_mut().find(|e| e.key == entry.key) {
                                Some(e) => e.value = node,
                                None => entries.push(Entry {
                                    key: entry.key.clone(),
                                    key_span: entry.key_span,
                                    value: node,
                                }),
                            }
                        }
                    }
                    None => {
                        res::remove(&mut dest, &entry.key);
                    }
                }
            }
            Some(dest)
        }
        Value::Seq(_) => match dest {
            Some(d) if matches!(d.value, Value::Seq(_)) => merge_list(&d, patch, path, schema),
            _ => Some(without_directives(patch)),
        },
        _ => Some(patch.clone()),
    }
}

fn merge_list(
    dest: &Node,
    patch: &Node,
    path: &mut Vec<String>,
    schema: Option<&str>,
) -> Option<Node> {
    let patch_items = patch.as_seq().unwrap_or_default();
    let directive = |n: &Node| n.get("$patch").and_then(Node::as_str).map(str::to_owned);
    let only_directive =
        |n: &Node| n.as_map().is_some_and(|m| m.len() == 1) && directive(n).is_some();
    if let Some(list_directive) = patch_items
        .iter()
        .find(|n| only_directive(n))
        .and_then(&directive)
    {
        if list_directive == "delete" {
            return None;
        }
        if list_directive == "replace" {
            let kept: Vec<Node> = patch_items
                .iter()
                .filter(|n| !only_directive(n))
                .map(without_directives)
                .collect();
            return Some(Node {
                value: Value::Seq(kept),
                span: patch.span,
                plain: false,
            });
        }
    }
    // A list without merge keys is replaced as written, directives and
    // all (kyaml does not read them there).
    let Some(keys) = merge_keys(path, schema) else {
        return Some(patch.clone());
    };
    let dest_items = dest.as_seq().unwrap_or_default();
    let mut used = vec![false; dest_items.len()];
    let mut out = Vec::new();
    for item in patch_items {
        let found = if keys.is_empty() {
            dest_items
                .iter()
                .enumerate()
                .position(|(i, d)| !used[i] && same_scalar(d, item))
        } else {
            dest_items
                .iter()
                .enumerate()
                .position(|(i, d)| !used[i] && same_keys(d, item, keys))
        };
        let delete = directive(item).as_deref() == Some("delete");
        match found {
            Some(i) => {
                used[i] = true;
                if delete {
                    continue;
                }
                if let Some(merged) = merge(Some(dest_items[i].clone()), item, path, schema) {
                    out.push(merged);
                }
            }
            None if delete => {}
            None => out.push(without_directives(item)),
        }
    }
    for (i, item) in dest_items.iter().enumerate() {
        if !used[i] {
            out.push(item.clone());
        }
    }
    Some(Node {
        value: Value::Seq(out),
        span: dest.span,
        plain: false,
    })
}

fn same_scalar(a: &Node, b: &Node) -> bool {
    a.value == b.value
}

/// Merge keys agree where both sides have them (a missing protocol matches).
fn same_keys(dest: &Node, patch: &Node, keys: &[&str]) -> bool {
    let mut any = false;
    for key in keys {
        if let (Some(a), Some(b)) = (dest.get(key), patch.get(key)) {
            if a.value != b.value {
                return false;
            }
            any = true;
        }
    }
    any
}

fn drop_empty(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            entries.retain(|e| !(e.value.is_null() && e.value.span.is_empty()));
            for e in entries {
                drop_empty(&mut e.value);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(drop_empty),
        _ => {}
    }
}

fn without_directives(node: &Node) -> Node {
    let mut node = node.clone();
    strip(&mut node);
    node
}

fn strip(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            entries.retain(|e| e.key != "$patch");
            for e in entries {
                strip(&mut e.value);
            }
        }
        Value::Seq(items) => {
            items.retain(|i| {
                !(i.as_map().is_some_and(|m| m.len() == 1) && i.get("$patch").is_some())
            });
            for i in items {
                strip(i);
            }
        }
        _ => {}
    }
}

// --- targets -----------------------------------------------------------------

/// A patch's `target`, its patterns compiled once for every resource it
/// is matched against: group, version, kind, name and namespace are
/// anchored regular expressions; label and annotation selectors use
/// Kubernetes' `key=value`, `key!=value`, `key`, `!key`.
struct Target<'n> {
    node: &'n Node,
    group: Option<regex::Regex>,
    version: Option<regex::Regex>,
    kind: Option<regex::Regex>,
    name: Option<regex::Regex>,
    namespace: Option<regex::Regex>,
}

impl<'n> Target<'n> {
    fn new(node: &'n Node) -> Result<Self, Error> {
        let regex = |key: &str| -> Result<Option<regex::Regex>, Error> {
            match res::str_at(node, &[key]) {
                None | Some("") => Ok(None),
                Some(text) => regex::Regex::new(&format!("^(?:{text})$"))
                    .map(Some)
                    .map_err(|_| {
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
        let ok = |re: &Option<regex::Regex>, values: &[&str]| {
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

// --- JSON 6902 -----------------------------------------------------------------

fn apply_json(node: &mut Node, ops: &[Node], span: Span) -> Result<(), Error> {
    for op in ops {
        let at = op.span;
        let name = res::str_at(op, &["op"]).unwrap_or("");
        let path = pointer(res::str_at(op, &["path"]).unwrap_or(""));
        let fail = |what: &str| {
            Error::invalid(
                format!(
                    "JSON patch `{name}` at {}: {what}",
                    res::str_at(op, &["path"]).unwrap_or("")
                ),
                at,
            )
        };
        match name {
            "add" | "replace" | "test" => {
                let value = op.get("value").cloned().ok_or_else(|| fail("no value"))?;
                match name {
                    "add" => {
                        add(node, &path, value).ok_or_else(|| fail("the path does not exist"))?
                    }
                    "replace" => {
                        // kustomize's json-patch (v4) sets a missing key of a
                        // map that exists, as `add` would.
                        let missing_key = path.split_last().is_some_and(|(last, parent)| {
                            lookup_mut(node, parent).is_some_and(|p| {
                                matches!(p.value, Value::Map(_)) && p.get(last).is_none()
                            })
                        });
                        if missing_key {
                            add(node, &path, value)
                                .ok_or_else(|| fail("the path does not exist"))?;
                        } else {
                            let target = lookup_mut(node, &path)
                                .ok_or_else(|| fail("the path does not exist"))?;
                            *target = value;
                        }
                    }
                    _ => {
                        let target = lookup_mut(node, &path)
                            .ok_or_else(|| fail("the path does not exist"))?;
                        if target.to_json() != value.to_json() {
                            return Err(fail("the test failed"));
                        }
                    }
                }
            }
            "remove" => {
                remove(node, &path).ok_or_else(|| fail("the path does not exist"))?;
            }
            "move" | "copy" => {
                let from = pointer(res::str_at(op, &["from"]).unwrap_or(""));
                let value = if name == "move" {
                    remove(node, &from)
                } else {
                    lookup_mut(node, &from).map(|n| n.clone())
                }
                .ok_or_else(|| fail("`from` does not exist"))?;
                add(node, &path, value).ok_or_else(|| fail("the path does not exist"))?;
            }
            _ => {
                return Err(Error::invalid(
                    format!("unknown JSON patch operation `{name}`"),
                    at,
                ));
            }
        }
        // `copy` can double an object per operation: stop a blow-up.
        if name == "copy" && size(node) > 1_000_000 {
            return Err(Error::invalid(
                "JSON patch copies make the object too large",
                at,
            ));
        }
    }
    let _ = span;
    Ok(())
}

/// A list index of a JSON pointer; negative counts from the end, as the
/// JSON patch library kustomize uses allows.
fn index(part: &str, len: usize) -> Option<usize> {
    let i: i64 = part.parse().ok()?;
    if i < 0 {
        usize::try_from(len as i64 + i).ok()
    } else {
        usize::try_from(i).ok()
    }
}

fn size(node: &Node) -> usize {
    match &node.value {
        Value::Map(entries) => 1 + entries.iter().map(|e| size(&e.value)).sum::<usize>(),
        Value::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        _ => 1,
    }
}

fn pointer(text: &str) -> Vec<String> {
    text.split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn lookup_mut<'n>(node: &'n mut Node, path: &[String]) -> Option<&'n mut Node> {
    let mut current = node;
    for part in path {
        current = match &mut current.value {
            Value::Map(entries) => &mut entries.iter_mut().find(|e| &e.key == part)?.value,
            Value::Seq(items) => {
                let i = index(part, items.len())?;
                items.get_mut(i)?
            }
            _ => return None,
        };
    }
    Some(current)
}

fn add(node: &mut Node, path: &[String], value: Node) -> Option<()> {
    let (last, parent_path) = path.split_last()?;
    let parent = lookup_mut(node, parent_path)?;
    match &mut parent.value {
        Value::Map(_) => {
            res::set(parent, last, value);
            Some(())
        }
        Value::Seq(items) => {
            if last == "-" {
                items.push(value);
            } else {
                let i: usize = last.parse().ok()?;
                if i > items.len() {
                    return None;
                }
                items.insert(i, value);
            }
            Some(())
        }
        _ => None,
    }
}

fn remove(node: &mut Node, path: &[String]) -> Option<Node> {
    let (last, parent_path) = path.split_last()?;
    let parent = lookup_mut(node, parent_path)?;
    match &mut parent.value {
        Value::Map(_) => res::remove(parent, last),
        Value::Seq(items) => {
            let i: usize = last.parse().ok()?;
            (i < items.len()).then(|| items.remove(i))
        }
        _ => None,
    }
}
