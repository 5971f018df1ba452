//! `replacements`: copy a field of one object into fields of others, as
//! Kustomize v5's replacement filter does (the last built-in transformer).
//!
//! Its field paths have two readers in kustomize, and both are followed:
//! the source's is exact (`[name=web]` matches the name `web`), the
//! targets' matches list items by unanchored regular expression (`[name=web]`
//! also matches `webhook`), walks every item for `*`, and may create
//! missing fields. What is not followed exactly is [`Error::Unsupported`].

use super::res::{self, Id, Res};
use super::{Error, Kustomization, Sources, patch};
use crate::yaml::{Entry, Node, Span, Value};
use std::collections::HashSet;

/// Runs a kustomization's `replacements` on its resources.
pub(super) fn run(
    k: &Kustomization,
    sources: &mut Sources,
    resources: &mut [Res],
) -> Result<(), Error> {
    let Some(field) = k.field("replacements") else {
        return Ok(());
    };
    let mut replacements: Vec<Node> = Vec::new();
    for item in field.as_seq().unwrap_or_default() {
        match item.get("path") {
            Some(path) => {
                if item.get("source").is_some() || item.get("targets").is_some() {
                    return Err(Error::invalid(
                        "cannot specify both path and inline replacement",
                        item.span,
                    ));
                }
                let docs = patch::load(&k.dir, path.as_str().unwrap_or(""), path.span, sources)?;
                if docs.is_empty() {
                    return Err(Error::invalid(
                        "a replacements file must hold a replacement or a list of them",
                        path.span,
                    ));
                }
                // A file holds one replacement or a list of them.
                for doc in docs.into_iter().take(1) {
                    match &doc.value {
                        Value::Seq(items) => replacements.extend(items.iter().cloned()),
                        Value::Map(_) => replacements.push(doc),
                        _ => {
                            return Err(Error::invalid(
                                "a replacements file must hold a replacement or a list of them",
                                path.span,
                            ));
                        }
                    }
                }
            }
            None => replacements.push(item.clone()),
        }
    }
    // Fields a replacement created carry no YAML tag: each later write
    // takes its type from its text again.
    let mut created = HashSet::new();
    for replacement in &replacements {
        apply(replacement, sources, resources, &mut created)?;
    }
    Ok(())
}

/// A field a replacement created: the resource's index and the field's path.
type Created = HashSet<(usize, Vec<String>)>;

fn apply(
    replacement: &Node,
    sources: &Sources,
    resources: &mut [Res],
    created: &mut Created,
) -> Result<(), Error> {
    let at = replacement.span;
    let (Some(source), Some(targets)) = (replacement.get("source"), replacement.get("targets"))
    else {
        return Err(Error::invalid(
            "replacements must specify a source and at least one target",
            at,
        ));
    };
    check_selector(source)?;
    let value = source_value(source, sources, resources)?;
    for target in targets.as_seq().unwrap_or_default() {
        let Some(select) = target.get("select").filter(|s| !s.is_null()) else {
            return Err(Error::invalid(
                "target must specify resources to select",
                target.span,
            ));
        };
        check_selector(select)?;
        let field_paths: Vec<&str> = match target.get("fieldPaths").and_then(Node::as_seq) {
            Some(paths) if !paths.is_empty() => paths
                .iter()
                .map(|p| {
                    p.as_str()
                        .ok_or_else(|| Error::invalid("a field path must be a string", p.span))
                })
                .collect::<Result<_, _>>()?,
            _ => vec!["metadata.name"],
        };
        let options = Options::read(target.get("options"), target.span)?;
        let rejects = target
            .get("reject")
            .and_then(Node::as_seq)
            .unwrap_or_default();
        for reject in rejects {
            check_selector(reject)?;
        }
        for (index, r) in resources.iter_mut().enumerate() {
            if !labels_match(select, r)? {
                continue;
            }
            let mut rejected = false;
            for reject in rejects {
                // A reject with no selector of a kind is no reject of it.
                let by_labels = (has_text(reject, "labelSelector")
                    || has_text(reject, "annotationSelector"))
                    && labels_match(reject, r)?;
                let by_id = !selector_is_empty(reject) && r.ids().any(|id| selected(&id, reject));
                rejected |= by_labels || by_id;
            }
            if rejected || !r.ids().any(|id| selected(&id, select)) {
                continue;
            }
            for path in &field_paths {
                let mut writer = Writer {
                    value: &value,
                    options: &options,
                    span: target.span,
                    sources,
                    created: &mut *created,
                    resource: index,
                    trail: Vec::new(),
                    places: 0,
                };
                writer.copy_to(&mut r.node, path)?;
            }
        }
    }
    Ok(())
}

fn has_text(node: &Node, key: &str) -> bool {
    res::str_at(node, &[key]).is_some_and(|t| !t.is_empty())
}

/// kustomize decodes selectors strictly: a field that is not a string
/// fails the build.
fn check_selector(selector: &Node) -> Result<(), Error> {
    for key in [
        "group",
        "version",
        "kind",
        "name",
        "namespace",
        "fieldPath",
        "labelSelector",
        "annotationSelector",
    ] {
        if let Some(value) = selector.get(key)
            && !value.is_null()
            && value.as_str().is_none()
        {
            return Err(Error::invalid(
                format!("`{key}` of a replacement selector must be a string"),
                value.span,
            ));
        }
    }
    Ok(())
}

/// The value a replacement copies: the node, and a scalar's text as
/// kustomize holds it.
struct Copied {
    node: Node,
    text: Option<String>,
}

/// The value a replacement copies, refined by its `delimiter` option.
fn source_value(source: &Node, sources: &Sources, resources: &[Res]) -> Result<Copied, Error> {
    let mut found = None;
    for r in resources {
        if r.ids().any(|id| selected(&id, source)) {
            if found.is_some() {
                return Err(Error::invalid(
                    "a replacement source selects more than one object",
                    source.span,
                ));
            }
            found = Some(r);
        }
    }
    let Some(found) = found else {
        return Err(Error::invalid(
            "a replacement source selects no object of the build",
            source.span,
        ));
    };
    let path = res::str_at(source, &["fieldPath"])
        .filter(|p| !p.is_empty())
        .unwrap_or("metadata.name");
    // kyaml's path reader trims each part and drops empty ones.
    let parts: Vec<String> = split_path(path)
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let value = lookup(&found.node, &parts, source.span, sources)?
        .filter(|v| !is_nil_or_empty(v))
        .ok_or_else(|| {
            Error::invalid(
                format!("the replacement source has no field `{path}`"),
                source.span,
            )
        })?;
    let options = Options::read(source.get("options"), source.span)?;
    let collection = matches!(value.value, Value::Map(_) | Value::Seq(_));
    let Some(delimiter) = options.delimiter else {
        return Ok(Copied {
            node: value.clone(),
            text: if collection {
                None
            } else {
                Some(replacement_text(value, sources)?)
            },
        });
    };
    if collection {
        return Err(Error::invalid(
            "delimiter option can only be used with scalar nodes",
            source.span,
        ));
    }
    let text = replacement_text(value, sources)?;
    let parts: Vec<&str> = text.split(delimiter.as_str()).collect();
    let part = usize::try_from(options.index)
        .ok()
        .and_then(|i| parts.get(i))
        .ok_or_else(|| {
            Error::invalid(
                format!(
                    "options.index {} is out of bounds for value {text}",
                    options.index
                ),
                source.span,
            )
        })?;
    Ok(Copied {
        node: Node {
            value: Value::Str((*part).to_owned()),
            span: value.span,
            plain: value.plain,
        },
        text: Some((*part).to_owned()),
    })
}

/// kyaml's `IsNilOrEmpty`: a null, or an empty map or list.
fn is_nil_or_empty(node: &Node) -> bool {
    match &node.value {
        Value::Null => true,
        Value::Map(entries) => entries.is_empty(),
        Value::Seq(items) => items.is_empty(),
        _ => false,
    }
}

/// A scalar's text as kustomize holds it: strings as they are, other
/// scalars as written in their file (when that text is still this value).
fn replacement_text(node: &Node, sources: &Sources) -> Result<String, Error> {
    if let Value::Str(s) = &node.value {
        return Ok(s.clone());
    }
    if matches!(node.value, Value::Map(_) | Value::Seq(_)) {
        return Err(Error::unsupported(
            "a replacement that joins a map or list into a string",
            node.span,
        ));
    }
    let written = sources
        .locate(node.span)
        .map(|(_, text, local)| text[local.start as usize..local.end as usize].to_owned())
        .filter(|text| node.plain && crate::yaml::resolve::resolve_plain(text) == node.value);
    match (written, &node.value) {
        (Some(text), _) => Ok(text),
        (None, Value::Int(i)) => Ok(i.to_string()),
        (None, Value::Bool(b)) => Ok(b.to_string()),
        _ => Err(Error::unsupported(
            "a replacement of a value kslint cannot write as kustomize does",
            node.span,
        )),
    }
}

/// The `options` of a source or target.
#[derive(Default)]
struct Options {
    delimiter: Option<String>,
    index: i64,
    create: bool,
}

impl Options {
    fn read(node: Option<&Node>, span: Span) -> Result<Self, Error> {
        let Some(node) = node.filter(|n| !n.is_null()) else {
            return Ok(Options::default());
        };
        let index = match node.get("index") {
            None => 0,
            Some(i) => i
                .as_i64()
                .ok_or_else(|| Error::invalid("options.index must be a number", span))?,
        };
        Ok(Options {
            delimiter: res::str_at(node, &["delimiter"])
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            index,
            create: node.get("create").and_then(Node::as_bool) == Some(true),
        })
    }
}

/// Whether an id is selected by a selector's group, version, kind, name and
/// namespace (exact strings; an empty one selects all).
fn selected(id: &Id, selector: &Node) -> bool {
    let field = |key: &str| res::str_at(selector, &[key]).unwrap_or("");
    let namespace = field("namespace");
    // kustomize compares namespaces here without cluster scope: an unset
    // one is `default` on either side.
    let id_namespace = if id.namespace.is_empty() {
        "default"
    } else {
        id.namespace.as_str()
    };
    (field("name").is_empty() || field("name") == id.name)
        && (namespace.is_empty() || namespace == id_namespace)
        && (field("group").is_empty() || field("group") == id.group)
        && (field("version").is_empty() || field("version") == id.version)
        && (field("kind").is_empty() || field("kind") == id.kind)
}

fn selector_is_empty(selector: &Node) -> bool {
    ["group", "version", "kind", "name", "namespace"]
        .iter()
        .all(|key| res::str_at(selector, &[key]).is_none_or(str::is_empty))
}

fn labels_match(selector: &Node, r: &Res) -> Result<bool, Error> {
    for (key, field) in [
        ("labelSelector", "labels"),
        ("annotationSelector", "annotations"),
    ] {
        if let Some(text) = res::str_at(selector, &[key]).filter(|t| !t.is_empty()) {
            let values = r.node.path(&["metadata", field]);
            if !patch::label_selector_matches(text, values)
                .map_err(|e| Error::unsupported(e, selector.span))?
            {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// kyaml's `SmarterPathSplitter` on `.`: a leading `.` is dropped, `\.`
/// escapes a dot, and `[...]` keeps its dots (brackets without `=` that
/// held a dot are a plain key).
fn split_path(path: &str) -> Vec<String> {
    let mut raw: Vec<&str> = path.split('.').collect();
    if raw.len() > 1 && raw[0].is_empty() {
        raw.remove(0);
    }
    let mut parts: Vec<String> = Vec::new();
    for piece in raw {
        match parts.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(piece);
            }
            _ => parts.push(piece.to_owned()),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let part = &parts[i];
        if part.starts_with('[') && !part.ends_with(']') {
            let mut joined = vec![part.clone()];
            while i < parts.len() - 1 {
                i += 1;
                joined.push(parts[i].clone());
                if parts[i].ends_with(']') {
                    break;
                }
            }
            let joined = joined.join(".");
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_matches(['[', ']']).to_owned());
            }
        } else {
            out.push(part.clone());
        }
        i += 1;
    }
    out
}

fn is_list_index(part: &str) -> bool {
    part.starts_with('[') && part.ends_with(']')
}

/// `[name=value]` as (name, value).
fn name_value(part: &str, span: Span) -> Result<(&str, &str), Error> {
    part[1..part.len() - 1].split_once('=').ok_or_else(|| {
        Error::invalid(
            format!("`{part}` must be [name=value] to match a list item"),
            span,
        )
    })
}

/// kyaml's `Lookup` (the source reader): exact matches, no wildcards.
fn lookup<'n>(
    node: &'n Node,
    parts: &[String],
    span: Span,
    sources: &Sources,
) -> Result<Option<&'n Node>, Error> {
    let mut current = node;
    for part in parts {
        let next = if let Ok(index) = part.parse::<i64>() {
            if index < 0 {
                return Err(Error::invalid(
                    format!("array index {index} cannot be negative"),
                    span,
                ));
            }
            current.as_seq().and_then(|items| items.get(index as usize))
        } else if part == "-" || part == "*" {
            return Err(Error::unsupported(
                format!("the source field path part `{part}`"),
                span,
            ));
        } else if is_list_index(part) {
            let (name, value) = name_value(part, span)?;
            if name.is_empty() {
                return Err(Error::unsupported(
                    "a source field path matching a list value",
                    span,
                ));
            }
            // The field's text as written, with no quotes.
            current.as_seq().and_then(|items| {
                items.iter().find(|item| {
                    item.get(name).is_some_and(|v| {
                        !matches!(v.value, Value::Map(_) | Value::Seq(_))
                            && replacement_text(v, sources).is_ok_and(|t| t == value)
                    })
                })
            })
        } else {
            match &current.value {
                Value::Map(_) => current.get(part),
                _ => None,
            }
        };
        match next {
            Some(next) if !next.is_null() => current = next,
            _ => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// Writes a replacement's value into one object.
struct Writer<'a> {
    value: &'a Copied,
    options: &'a Options,
    span: Span,
    sources: &'a Sources,
    created: &'a mut Created,
    resource: usize,
    /// The path from the object to the node being visited.
    trail: Vec<String>,
    places: usize,
}

impl Writer<'_> {
    /// Writes at every place a target field path matches (kyaml's
    /// `PathMatcher`), creating missing maps and the last field when the
    /// `create` option is set.
    fn copy_to(&mut self, object: &mut Node, path: &str) -> Result<(), Error> {
        let parts = split_path(path);
        if parts.iter().any(|p| p.is_empty()) {
            return Err(Error::unsupported(
                format!("the target field path `{path}` with an empty part"),
                self.span,
            ));
        }
        self.write_matches(object, &parts)?;
        if self.places == 0 {
            let what = if self.options.create {
                "find or create"
            } else {
                "find"
            };
            return Err(Error::invalid(
                format!("unable to {what} field \"{path}\" in replacement target"),
                self.span,
            ));
        }
        Ok(())
    }

    fn unsupported(&self, what: &str) -> Error {
        Error::unsupported(what.to_owned(), self.span)
    }

    fn visit(&mut self, node: &mut Node, step: String, rest: &[String]) -> Result<(), Error> {
        self.trail.push(step);
        let result = self.write_matches(node, rest);
        self.trail.pop();
        result
    }

    fn write_matches(&mut self, node: &mut Node, parts: &[String]) -> Result<(), Error> {
        let Some((part, rest)) = parts.split_first() else {
            self.places += 1;
            // A value copied into places inside itself grows with each
            // replacement: count every copy before it is made.
            self.sources.spend(&self.value.node, 1, self.span)?;
            return self.set_value(node);
        };
        if let Ok(index) = part.parse::<usize>() {
            let Value::Seq(items) = &mut node.value else {
                return Err(self.unsupported("a replacement field path indexing a non-list"));
            };
            if index == items.len() && self.options.create {
                return Err(self.unsupported("a replacement that creates a list item"));
            }
            let count = items.len();
            let Some(item) = items.get_mut(index) else {
                return Err(Error::invalid(
                    format!("index {index} specified but only {count} elements found"),
                    self.span,
                ));
            };
            return self.visit(item, index.to_string(), rest);
        }
        if is_list_index(part) || part == "*" {
            let Value::Seq(items) = &mut node.value else {
                return Err(
                    self.unsupported("a replacement field path matching items of a non-list")
                );
            };
            let before = self.places;
            if part == "*" {
                for (i, item) in items.iter_mut().enumerate() {
                    self.visit(item, i.to_string(), rest)?;
                }
            } else {
                let (name, pattern) = name_value(part, self.span)?;
                let regex = go_regex(pattern, self.span)?;
                for (i, item) in items.iter_mut().enumerate() {
                    let compared = if name.is_empty() {
                        Some(&*item)
                    } else {
                        item.get(name)
                    };
                    let Some(compared) = compared else {
                        continue;
                    };
                    // kyaml matches the field as YAML writes it, anywhere.
                    let text = self.match_text(compared)?;
                    if regex.is_match(text.trim()) {
                        self.visit(item, i.to_string(), rest)?;
                    }
                }
            }
            if self.places == before && self.options.create {
                return Err(self.unsupported("a replacement that creates a list item"));
            }
            return Ok(());
        }
        match &mut node.value {
            Value::Map(entries) => {
                if let Some(entry) = entries.iter_mut().find(|e| e.key == *part) {
                    return self.visit(&mut entry.value, part.clone(), rest);
                }
                if !self.options.create {
                    return Ok(());
                }
                if rest
                    .first()
                    .is_some_and(|next| is_list_index(next) || next.parse::<usize>().is_ok())
                {
                    return Err(self.unsupported("a replacement that creates a list"));
                }
                let made = if rest.is_empty() {
                    let mut path = self.trail.clone();
                    path.push(part.clone());
                    self.created.insert((self.resource, path));
                    Node {
                        value: Value::Null,
                        span: self.span,
                        plain: true,
                    }
                } else {
                    res::empty_map(self.span)
                };
                entries.push(Entry {
                    key: part.clone(),
                    key_span: self.span,
                    value: made,
                });
                let entry = entries.last_mut().expect("just pushed");
                self.visit(&mut entry.value, part.clone(), rest)
            }
            Value::Null if !self.options.create => Ok(()),
            _ => Err(self.unsupported("a replacement field path through a scalar")),
        }
    }

    /// A list item's field as kyaml's matcher sees it: its YAML text.
    fn match_text(&self, node: &Node) -> Result<String, Error> {
        if matches!(
            node.value,
            Value::Map(_) | Value::Seq(_) | Value::Null | Value::Float(_)
        ) || !node.plain
        {
            return Err(self.unsupported(
                "a replacement matching list items by a field that is quoted, null, a number with a point, a map or a list",
            ));
        }
        replacement_text(node, self.sources)
    }

    /// kyaml's `setFieldValue`: a scalar target keeps its type and takes
    /// the value's text; a map or list target becomes the value.
    fn set_value(&mut self, target: &mut Node) -> Result<(), Error> {
        let created = self.created.contains(&(self.resource, self.trail.clone()));
        let mut text = self.value.text.clone();
        if let Some(delimiter) = &self.options.delimiter {
            let current = match &target.value {
                Value::Str(current) => current.clone(),
                Value::Null if created => String::new(),
                _ => {
                    return Err(
                        self.unsupported("a delimited replacement of a value that is not a string")
                    );
                }
            };
            let Some(part) = &text else {
                return Err(self.unsupported("a delimited replacement of a map or list"));
            };
            let mut pieces: Vec<&str> = current.split(delimiter.as_str()).collect();
            match usize::try_from(self.options.index) {
                Err(_) => pieces.insert(0, part),
                Ok(i) if i >= pieces.len() => pieces.push(part),
                Ok(i) => pieces[i] = part,
            }
            text = Some(pieces.join(delimiter));
        }
        let written_as_bool = |node: &Node| {
            self.sources
                .locate(node.span)
                .map(|(_, file, local)| &file[local.start as usize..local.end as usize])
                .is_some_and(|t| {
                    matches!(t, "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
                })
        };
        match (&target.value, text) {
            (Value::Map(_) | Value::Seq(_), _) => target.value = self.value.node.value.clone(),
            (_, None) => {
                return Err(self.unsupported("a replacement of a map or list into a scalar"));
            }
            // Untagged (made by a replacement): YAML reads the text's type.
            (_, Some(text)) if created => {
                target.value = crate::yaml::resolve::resolve_plain(&text);
            }
            (Value::Str(_), Some(text)) => target.value = Value::Str(text),
            (Value::Int(_), Some(text)) => match text.parse::<i64>() {
                Ok(i) => target.value = Value::Int(i),
                Err(_) => return Err(self.unsupported("a replacement writing text into a number")),
            },
            // `yes` and `on` are strings to kustomize's YAML 1.2 reader.
            (Value::Bool(_), Some(text)) if target.plain && !written_as_bool(target) => {
                target.value = Value::Str(text);
                target.plain = false;
            }
            (Value::Bool(_), Some(text)) if matches!(text.as_str(), "true" | "false") => {
                target.value = Value::Bool(text == "true");
            }
            _ => return Err(self.unsupported("a replacement between values of these types")),
        }
        target.span = self.value.node.span;
        Ok(())
    }
}

/// A Go regular expression, where Rust's reads the same: Rust's `\d`, `\w`,
/// `\s` and `\b` match Unicode, Go's only ASCII.
fn go_regex(pattern: &str, span: Span) -> Result<regex::Regex, Error> {
    let unicode_classes = [
        "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\b", "\\B", "\\p", "\\P",
    ];
    if unicode_classes.iter().any(|c| pattern.contains(c)) {
        return Err(Error::unsupported(
            format!("the pattern `{pattern}`, whose classes Go and Rust read differently"),
            span,
        ));
    }
    regex::Regex::new(pattern).map_err(|_| {
        Error::unsupported(
            format!("the pattern `{pattern}`, which kslint's regular expressions cannot read"),
            span,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_as_kyaml_splits_them() {
        assert_eq!(
            split_path(".metadata.annotations.[cert-manager.io/inject-ca-from]"),
            ["metadata", "annotations", "cert-manager.io/inject-ca-from"]
        );
        assert_eq!(
            split_path("spec.containers.[name=web].image"),
            ["spec", "containers", "[name=web]", "image"]
        );
        assert_eq!(split_path(r"data.a\.b"), ["data", "a.b"]);
        assert_eq!(
            split_path("spec.http.0.route"),
            ["spec", "http", "0", "route"]
        );
    }
}
