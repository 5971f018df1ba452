//! Origin mapping: kustomize's origin annotations name the file of each
//! built object, not the line of each value. A node of the output is
//! placed at the same key path of the object in that file, or of a patch
//! file of the tree naming the object, when the value there is the one
//! built; otherwise at the object's first line, marked approximate.

use super::super::Sources;
use crate::yaml::{self, Node, Span, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The annotation kustomize writes for `buildMetadata: [originAnnotations]`.
const ORIGIN: &str = "config.kubernetes.io/origin";

/// A patch document that may have set values of built objects.
pub(super) struct PatchDocument {
    pub(super) node: Node,
    pub(super) kind: String,
    pub(super) name: Option<String>,
}

/// Removes the origin annotation (and an annotations map it leaves empty),
/// returning its text.
pub(super) fn take_origin(object: &mut Node) -> Option<String> {
    let Value::Map(entries) = &mut object.value else {
        return None;
    };
    let metadata = entries.iter_mut().find(|e| e.key == "metadata")?;
    let Value::Map(metadata) = &mut metadata.value.value else {
        return None;
    };
    let at = metadata.iter().position(|e| e.key == "annotations")?;
    let Value::Map(annotations) = &mut metadata[at].value.value else {
        return None;
    };
    let origin = annotations.iter().position(|e| e.key == ORIGIN)?;
    let origin = annotations.remove(origin).value;
    if annotations.is_empty() {
        metadata.remove(at);
    }
    origin.as_str().map(str::to_owned)
}

/// Where kustomize says an object came from.
pub(super) enum Origin {
    /// A resource file.
    File(PathBuf),
    /// A generator configured in a kustomization file.
    Generated(PathBuf),
    Unknown,
}

impl Origin {
    pub(super) fn read(text: &str, wrapper_dir: &Path) -> Option<Origin> {
        let stream = yaml::parse_stream(text, yaml::Limits::default());
        let root = &stream.documents.first()?.root;
        if root.get("repo").is_some() {
            return None;
        }
        let resolve = |key: &str| {
            let path = root.get(key)?.as_str()?;
            wrapper_dir.join(path).canonicalize().ok()
        };
        resolve("path")
            .map(Origin::File)
            .or_else(|| resolve("configuredIn").map(Origin::Generated))
    }
}

/// Places the nodes of built objects in the files of the tree.
pub(super) struct Mapper {
    pub(super) sources: Sources,
    /// Each file's objects (a `List`'s items in its place), parsed once.
    pub(super) parsed: HashMap<PathBuf, Vec<Node>>,
    /// The tree's patches, latest first.
    pub(super) patches: Vec<PatchDocument>,
    pub(super) approximate: HashSet<Span>,
}

impl Mapper {
    fn objects(&mut self, path: &Path) -> &[Node] {
        if !self.parsed.contains_key(path) {
            let objects = match self.sources.read(path) {
                Ok((base, text)) => yaml::parse_stream_at(text, base, yaml::Limits::default())
                    .documents
                    .into_iter()
                    .flat_map(|d| match d.root.get("items").and_then(Node::as_seq) {
                        Some(items)
                            if d.root.get("kind").and_then(Node::as_str) == Some("List") =>
                        {
                            items.to_vec()
                        }
                        _ => vec![d.root],
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
            self.parsed.insert(path.to_path_buf(), objects);
        }
        &self.parsed[path]
    }

    /// The first line of a span, in its file.
    fn first_line(&self, span: Span) -> Span {
        let Some((_, text, local)) = self.sources.locate(span) else {
            return span;
        };
        let start = local.start as usize;
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        Span::new(span.start as usize, span.start as usize + (end - start))
    }

    pub(super) fn place(&mut self, object: &mut Node, origin: &Origin) {
        let kind = object
            .get("kind")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned();
        let name = object
            .path(&["metadata", "name"])
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned();
        let (source, whole) = match origin {
            Origin::File(path) => {
                let objects = self.objects(path);
                // The longest name wins: `web-api`, not `web`, for `prod-web-api`.
                let source = objects
                    .iter()
                    .filter(|o| same_object(o, &kind, &name))
                    .max_by_key(|o| {
                        o.path(&["metadata", "name"])
                            .and_then(Node::as_str)
                            .map_or(0, str::len)
                    })
                    .cloned();
                // Without the object itself, its kind's first (or the
                // file's first) line is a guess: everything is approximate.
                let guess = source.as_ref().map(|s| s.span).or_else(|| {
                    objects
                        .iter()
                        .find(|o| o.get("kind").and_then(Node::as_str) == Some(kind.as_str()))
                        .or_else(|| objects.first())
                        .map(|o| o.span)
                });
                (source, guess.map(|s| self.first_line(s)))
            }
            Origin::Generated(path) => {
                let field = if kind == "Secret" {
                    "secretGenerator"
                } else {
                    "configMapGenerator"
                };
                let entry = self.objects(path).first().and_then(|k| {
                    k.get(field)?
                        .as_seq()?
                        .iter()
                        .filter(|g| {
                            g.get("name")
                                .and_then(Node::as_str)
                                .is_some_and(|n| derives_from(&name, n))
                        })
                        .max_by_key(|g| g.get("name").and_then(Node::as_str).map_or(0, str::len))
                        .map(|g| g.span)
                });
                let whole = entry.or_else(|| self.objects(path).first().map(|k| k.span));
                (None, whole.map(|s| self.first_line(s)))
            }
            Origin::Unknown => (None, None),
        };
        let whole = whole.unwrap_or_default();
        let mut candidates: Vec<Option<&Node>> = self
            .patches
            .iter()
            .filter(|p| p.kind == kind && p.name.as_deref().is_none_or(|n| derives_from(&name, n)))
            .map(|p| Some(&p.node))
            .collect();
        candidates.push(source.as_ref());
        place_node(object, &candidates, whole, &mut self.approximate);
        if let Some(source) = &source {
            object.span = source.span;
        }
    }
}

/// Whether a built name comes from a source name: the same, or with a
/// prefix, suffix or hash joined by `-` or `.` (`web` gives `prod-web`,
/// not `myweb`).
fn derives_from(built: &str, source: &str) -> bool {
    if source.is_empty() {
        return false;
    }
    built.match_indices(source).any(|(at, _)| {
        let before = built[..at].chars().next_back();
        let after = built[at + source.len()..].chars().next();
        before.is_none_or(|c| matches!(c, '-' | '.'))
            && after.is_none_or(|c| matches!(c, '-' | '.'))
    })
}

/// Whether a source object is the built one: the same kind, and a name
/// the built one derives from.
fn same_object(candidate: &Node, kind: &str, name: &str) -> bool {
    candidate.get("kind").and_then(Node::as_str) == Some(kind)
        && candidate
            .path(&["metadata", "name"])
            .and_then(Node::as_str)
            .is_some_and(|n| derives_from(name, n))
}

/// The values JSON 6902 `add` and `replace` operations write, as one
/// sparse object: `/spec/hostNetwork` with `true` becomes
/// `{spec: {hostNetwork: true}}`, spans at the operation. Appends (`-`)
/// are left out: their place in the list is unknown.
pub(super) fn operations_as_object(operations: &Node) -> Option<Node> {
    let mut object = Node {
        value: Value::Map(Vec::new()),
        span: operations.span,
        plain: false,
    };
    for operation in operations.as_seq()? {
        if !matches!(
            operation.get("op").and_then(Node::as_str),
            Some("add" | "replace")
        ) {
            continue;
        }
        let (Some(path), Some(value)) = (operation.get("path"), operation.get("value")) else {
            continue;
        };
        let Some(pointer) = path.as_str().and_then(|p| p.strip_prefix('/')) else {
            continue;
        };
        let segments: Vec<String> = pointer
            .split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        // Appends have no known place; deep or far paths are not worth the
        // memory their padding would take.
        if segments.len() > 64
            || segments
                .iter()
                .any(|s| s == "-" || s.parse::<usize>().is_ok_and(|i| i > 1000))
        {
            continue;
        }
        write_at(&mut object, &segments, value.clone(), path.span);
    }
    Some(object)
}

fn write_at(node: &mut Node, segments: &[String], value: Node, at: Span) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let child = || Node {
        value: if rest.first().is_some_and(|s| s.parse::<usize>().is_ok()) {
            Value::Seq(Vec::new())
        } else {
            Value::Map(Vec::new())
        },
        span: at,
        plain: false,
    };
    let slot = match &mut node.value {
        Value::Map(entries) => {
            let i = match entries.iter().position(|e| e.key == *first) {
                Some(i) => i,
                None => {
                    entries.push(yaml::Entry {
                        key: first.clone(),
                        key_span: at,
                        value: child(),
                    });
                    entries.len() - 1
                }
            };
            &mut entries[i].value
        }
        Value::Seq(items) => {
            let Ok(i) = first.parse::<usize>() else {
                return;
            };
            while items.len() <= i {
                items.push(Node {
                    value: Value::Null,
                    span: at,
                    plain: false,
                });
            }
            if rest.is_empty() || items[i].is_null() {
                items[i] = child();
            }
            &mut items[i]
        }
        _ => return,
    };
    if rest.is_empty() {
        *slot = value;
    } else {
        write_at(slot, rest, value, at);
    }
}

fn is_collection(value: &Value) -> bool {
    matches!(value, Value::Map(_) | Value::Seq(_))
}

/// Gives `node` and its children the spans of the candidates (nodes at the
/// same key path, in order of preference) that hold the built value, else
/// `whole`, which is then approximate.
fn place_node(
    node: &mut Node,
    candidates: &[Option<&Node>],
    whole: Span,
    approximate: &mut HashSet<Span>,
) {
    let chosen = if is_collection(&node.value) {
        // A map or list is written where its base writes it, else in a patch.
        candidates
            .iter()
            .rev()
            .flatten()
            .find(|c| std::mem::discriminant(&c.value) == std::mem::discriminant(&node.value))
    } else {
        candidates.iter().flatten().find(|c| c.value == node.value)
    };
    node.span = match chosen {
        Some(c) => c.span,
        None => {
            approximate.insert(whole);
            whole
        }
    };
    match &mut node.value {
        Value::Map(entries) => {
            let by_key: Vec<HashMap<&str, &yaml::Entry>> = candidates
                .iter()
                .map(|c| {
                    c.and_then(Node::as_map)
                        .unwrap_or_default()
                        .iter()
                        .map(|e| (e.key.as_str(), e))
                        .collect()
                })
                .collect();
            for entry in entries {
                let below: Vec<Option<&yaml::Entry>> = by_key
                    .iter()
                    .map(|keys| keys.get(entry.key.as_str()).copied())
                    .collect();
                let values: Vec<Option<&Node>> =
                    below.iter().map(|e| e.map(|e| &e.value)).collect();
                place_node(&mut entry.value, &values, whole, approximate);
                // The key goes with the value: where the value is placed if
                // that file writes the key, else where the base writes it.
                let with_value = below
                    .iter()
                    .flatten()
                    .find(|e| e.value.span == entry.value.span);
                entry.key_span = match with_value.or_else(|| below.iter().rev().flatten().next()) {
                    Some(e) => e.key_span,
                    None => {
                        approximate.insert(whole);
                        whole
                    }
                };
            }
        }
        Value::Seq(items) => {
            // Each candidate list's items by name, once: long lists stay
            // linear.
            let by_name: Vec<HashMap<&str, &Node>> = candidates
                .iter()
                .map(|c| {
                    let mut names = HashMap::new();
                    for x in c.and_then(Node::as_seq).unwrap_or_default() {
                        if let Some(name) = x.get("name").and_then(Node::as_str) {
                            names.entry(name).or_insert(x);
                        }
                    }
                    names
                })
                .collect();
            for (i, item) in items.iter_mut().enumerate() {
                let name = item.get("name").and_then(Node::as_str).map(str::to_owned);
                let aligned: Vec<Option<&Node>> = candidates
                    .iter()
                    .zip(&by_name)
                    .map(|(c, names)| {
                        let list = (*c)?.as_seq()?;
                        // List items with names (containers, volumes,
                        // ports) are matched by name, as merges do; else,
                        // or against a nameless item (an operation's), by
                        // place.
                        name.as_deref()
                            .and_then(|name| names.get(name).copied())
                            .or_else(|| list.get(i).filter(|x| x.get("name").is_none()))
                    })
                    .collect();
                place_node(item, &aligned, whole, approximate);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_annotation_is_taken_out() {
        let text = "kind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/origin: |\n      path: base/cm.yaml\n";
        let mut object = yaml::parse_stream(text, yaml::Limits::default())
            .documents
            .remove(0)
            .root;
        assert_eq!(
            take_origin(&mut object).as_deref(),
            Some("path: base/cm.yaml\n")
        );
        assert!(object.path(&["metadata", "annotations"]).is_none());
        assert_eq!(
            object.path(&["metadata", "name"]).and_then(Node::as_str),
            Some("x")
        );
    }

    #[test]
    fn values_go_to_the_patch_that_set_them_or_else_to_the_object() {
        let base =
            "kind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  paused: false\n";
        let patch = "kind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n";
        let built = "kind: Deployment\nmetadata:\n  name: prod-web\nspec:\n  replicas: 3\n  paused: true\n  minReadySeconds: 5\n";
        let parse = |t: &str, at: usize| {
            yaml::parse_stream_at(t, at, yaml::Limits::default())
                .documents
                .remove(0)
                .root
        };
        let (base, patch) = (parse(base, 1000), parse(patch, 2000));
        let mut object = parse(built, 0);
        let whole = Span::new(1000, 1016);
        let mut approximate = HashSet::new();
        place_node(
            &mut object,
            &[Some(&patch), Some(&base)],
            whole,
            &mut approximate,
        );
        let replicas = object.path(&["spec", "replicas"]).unwrap().span;
        assert_eq!(replicas, patch.path(&["spec", "replicas"]).unwrap().span);
        // `paused` is in the base with another value: not claimed.
        assert_eq!(object.path(&["spec", "paused"]).unwrap().span, whole);
        assert_eq!(
            object.path(&["spec", "minReadySeconds"]).unwrap().span,
            whole
        );
        let spec = object.get("spec").unwrap().span;
        assert_eq!(spec, base.get("spec").unwrap().span);
        assert!(approximate.contains(&whole));
    }
}
