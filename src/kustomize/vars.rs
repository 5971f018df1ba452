//! Kustomize's legacy `vars`, and the `configurations` files that tell its
//! transformers where else to look. A var names a field of one object of
//! the build; once every rename is done, `$(NAME)` in the var-reference
//! fields of every object becomes that field's value, as kustomize resolves
//! it at the top of a build. What is not followed exactly is
//! [`Error::Unsupported`], so the build falls back to the real tool.

use super::res::{self, Id, Res};
use super::{Error, Kustomization, Sources, restricted};
use crate::yaml::{self, Node, Span, Value};
use std::collections::HashMap;

/// The most field specs configurations files and vars one build may add:
/// each is matched against every object, so thousands would make a build
/// quadratic. Real kustomizations use a handful.
const MAX_ADDED: usize = 1_000;

/// A field spec read from a configurations file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Spec {
    group: String,
    version: String,
    kind: String,
    pub path: String,
    pub create: bool,
}

impl Spec {
    pub fn selects(&self, group: &str, version: &str, kind: &str) -> bool {
        (self.kind.is_empty() || self.kind == kind)
            && (self.group.is_empty() || self.group == group)
            && (self.version.is_empty() || self.version == version)
    }

    fn selects_res(&self, r: &Res) -> bool {
        let (group, version) = r.group_version();
        self.selects(group, version, r.kind())
    }
}

impl res::PathSpec for Spec {
    fn applies_to(&self, group: &str, version: &str, kind: &str) -> bool {
        self.selects(group, version, kind)
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn create(&self) -> bool {
        self.create
    }
}

/// Objects of `kind` (in `group`) are named at these places too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NameReference {
    pub kind: String,
    pub group: String,
    pub specs: Vec<Spec>,
}

/// One `vars` entry: the field of the object whose value `$(name)` takes.
#[derive(Debug, Clone)]
struct Var {
    name: String,
    target: Id,
    /// Whether the target names its namespace or is cluster-scoped: then
    /// the namespace must match too.
    exact: bool,
    field_path: String,
    span: Span,
}

/// What a kustomization and the ones it includes add to the built-in
/// transformer configuration, and the vars they declare. Merged upwards,
/// as kustomize merges accumulators.
#[derive(Debug, Default)]
pub(super) struct Extras {
    pub var_references: Vec<Spec>,
    pub name_references: Vec<NameReference>,
    pub namespaces: Vec<Spec>,
    vars: Vec<Var>,
}

impl Extras {
    /// Takes in what an included kustomization accumulated.
    pub fn merge(&mut self, other: Extras, at: Span) -> Result<(), Error> {
        self.merge_config(
            other.var_references,
            other.name_references,
            other.namespaces,
            at,
        )?;
        for var in other.vars {
            self.add_var(var, at)?;
        }
        Ok(())
    }

    fn merge_config(
        &mut self,
        var_references: Vec<Spec>,
        name_references: Vec<NameReference>,
        namespaces: Vec<Spec>,
        at: Span,
    ) -> Result<(), Error> {
        for spec in var_references {
            if !self.var_references.contains(&spec) {
                self.var_references.push(spec);
            }
        }
        for spec in namespaces {
            if !self.namespaces.contains(&spec) {
                self.namespaces.push(spec);
            }
        }
        for reference in name_references {
            match self
                .name_references
                .iter_mut()
                .find(|r| r.kind == reference.kind && r.group == reference.group)
            {
                Some(known) => {
                    for spec in reference.specs {
                        if !known.specs.contains(&spec) {
                            known.specs.push(spec);
                        }
                    }
                }
                None => self.name_references.push(reference),
            }
        }
        let added = self.var_references.len()
            + self.namespaces.len()
            + self
                .name_references
                .iter()
                .map(|r| r.specs.len())
                .sum::<usize>();
        if added > MAX_ADDED {
            return Err(Error::invalid(
                format!(
                    "configurations files add more than {MAX_ADDED} field specs to this build; kslint stopped building it"
                ),
                at,
            ));
        }
        Ok(())
    }

    fn add_var(&mut self, var: Var, at: Span) -> Result<(), Error> {
        if self.vars.len() >= MAX_ADDED {
            return Err(Error::invalid(
                format!(
                    "this build declares more than {MAX_ADDED} vars; kslint stopped building it"
                ),
                at,
            ));
        }
        if self.vars.iter().any(|v| v.name == var.name) {
            let span = if var.span == Span::default() {
                at
            } else {
                var.span
            };
            return Err(Error::invalid(
                format!("the var `{}` is declared twice in this build", var.name),
                span,
            ));
        }
        self.vars.push(var);
        Ok(())
    }

    /// Reads the `configurations` files of `k`.
    pub fn read_configurations(
        &mut self,
        k: &Kustomization,
        sources: &mut Sources,
    ) -> Result<(), Error> {
        for (entry, span) in k.strings("configurations") {
            let file = restricted(&k.dir, entry, span)?;
            let (base, text) = sources.read(&file).map_err(|e| {
                Error::invalid(format!("cannot read {}: {e}", file.display()), span)
            })?;
            let stream = yaml::parse_stream_at(text, base, yaml::Limits::default());
            if let Some(error) = stream.errors.first() {
                return Err(Error::invalid(
                    format!("invalid YAML in {}: {}", file.display(), error.message),
                    error.span,
                ));
            }
            let Some(root) = stream.documents.into_iter().next().map(|d| d.root) else {
                continue;
            };
            let (mut var_references, mut name_references, mut namespaces) =
                (Vec::new(), Vec::new(), Vec::new());
            for entry in root.as_map().unwrap_or_default() {
                let value = &entry.value;
                match entry.key.to_ascii_lowercase().as_str() {
                    "varreference" => var_references.extend(specs(value)?),
                    "namespace" => namespaces.extend(specs(value)?),
                    "namereference" => {
                        for item in list(value)? {
                            // kustomize matches the referred kind by
                            // group and kind; the version is not needed.
                            let (group, _) = group_version(item);
                            name_references.push(NameReference {
                                kind: text_at(item, "kind")?,
                                group,
                                specs: specs(field(item, "fieldSpecs").unwrap_or(&null()))?,
                            });
                        }
                    }
                    // Other transformer settings change built-in
                    // transformers this engine writes as tables.
                    _ if !value.is_null() => {
                        return Err(Error::unsupported(
                            format!("`{}` in a configurations file", entry.key),
                            entry.key_span,
                        ));
                    }
                    _ => {}
                }
            }
            self.merge_config(var_references, name_references, namespaces, span)?;
        }
        Ok(())
    }

    /// Declares the `vars` of `k`, each tied to the one object of
    /// `resources` it names (by any name the object has had).
    pub fn declare_vars(&mut self, k: &Kustomization, resources: &mut [Res]) -> Result<(), Error> {
        let Some(vars) = k.field("vars") else {
            return Ok(());
        };
        for item in list(vars)? {
            let var = read_var(item)?;
            let matches = |id: &Id| {
                id.name == var.target.name
                    && id.kind == var.target.kind
                    && id.group == var.target.group
                    && id.version == var.target.version
                    && (!var.exact || id.namespace == var.target.namespace)
            };
            let mut matched = resources
                .iter_mut()
                .filter(|r| r.ids().any(|id| matches(&id)));
            if let Some(first) = matched.next() {
                if matched.next().is_some() {
                    return Err(Error::invalid(
                        format!(
                            "the var `{}` names more than one object of this build",
                            var.name
                        ),
                        var.span,
                    ));
                }
                first.var_names.push(var.name.clone());
            }
            self.add_var(var, vars.span)?;
        }
        Ok(())
    }

    /// Replaces `$(NAME)` in every var-reference field with the value of
    /// the field the var names.
    pub fn resolve(&self, resources: &mut [Res], sources: &Sources) -> Result<(), Error> {
        if self.vars.is_empty() {
            return Ok(());
        }
        let mut values: HashMap<&str, Value> = HashMap::new();
        for var in &self.vars {
            let Some(holder) = resources.iter().find(|r| r.var_names.contains(&var.name)) else {
                return Err(Error::invalid(
                    format!(
                        "the var `{}` names {} {}, which is not in this build",
                        var.name, var.target.kind, var.target.name
                    ),
                    var.span,
                ));
            };
            let value = field_value(&holder.node, &var.field_path, var.span)?;
            values.insert(&var.name, value);
        }
        // Each value copied counts as work, so a field of many `$(BIG)`
        // stops at the build's bound instead of exhausting memory.
        let spend = |bytes: usize, at: Span| sources.spend_units(bytes / 64 + 1, at);
        let defaults = default_var_references();
        for r in resources.iter_mut() {
            let specs: Vec<&Spec> = defaults
                .iter()
                .chain(&self.var_references)
                .filter(|s| s.selects_res(r))
                .collect();
            for spec in specs {
                let parts: Vec<&str> = spec.path.split('/').collect();
                substitute_at(&mut r.node, &parts, &values, &spend)?;
            }
        }
        Ok(())
    }
}

fn null() -> Node {
    res::made(Value::Null, Span::default())
}

fn list(node: &Node) -> Result<&[Node], Error> {
    if node.is_null() {
        return Ok(&[]);
    }
    node.as_seq()
        .ok_or_else(|| Error::invalid("expected a list", node.span))
}

/// The value under `key` as Go's JSON decoding finds a struct field:
/// the exact key, else one that differs only in case (`fieldPath` for
/// `fieldpath`).
pub(super) fn field<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    node.get(key).or_else(|| {
        node.as_map()?
            .iter()
            .find(|e| e.key.eq_ignore_ascii_case(key))
            .map(|e| &e.value)
    })
}

pub(super) fn text_at(node: &Node, key: &str) -> Result<String, Error> {
    match field(node, key) {
        None => Ok(String::new()),
        Some(v) if v.is_null() => Ok(String::new()),
        Some(v) => v
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::unsupported(format!("a `{key}` that is not text"), v.span)),
    }
}

/// `group` and `version`, or the two halves of `apiVersion` when given.
fn group_version(node: &Node) -> (String, String) {
    let field = |k| text_at(node, k).unwrap_or_default();
    let (mut group, mut version) = (field("group"), field("version"));
    let api_version = field("apiVersion");
    match api_version.split_once('/') {
        Some((g, v)) if !v.contains('/') => (group, version) = (g.to_owned(), v.to_owned()),
        None if !api_version.is_empty() => version = api_version,
        _ => {}
    }
    (group, version)
}

pub(super) fn specs(node: &Node) -> Result<Vec<Spec>, Error> {
    list(node)?
        .iter()
        .map(|item| {
            let path = text_at(item, "path")?;
            if path.contains('\\') || path.is_empty() {
                return Err(Error::unsupported("this field spec path", item.span));
            }
            Ok(Spec {
                group: text_at(item, "group")?,
                version: text_at(item, "version")?,
                kind: text_at(item, "kind")?,
                path,
                create: field(item, "create").and_then(Node::as_bool) == Some(true),
            })
        })
        .collect()
}

fn read_var(item: &Node) -> Result<Var, Error> {
    let name = text_at(item, "name")?;
    let objref = field(item, "objref").cloned().unwrap_or_else(null);
    let (group, version) = group_version(&objref);
    let kind = text_at(&objref, "kind")?;
    let namespace = text_at(&objref, "namespace")?;
    let api_version = if group.is_empty() {
        version.clone()
    } else {
        format!("{group}/{version}")
    };
    let cluster_scoped = res::is_cluster_scoped(&api_version, &kind);
    let field_path = field(item, "fieldref")
        .map(|f| text_at(f, "fieldpath"))
        .transpose()?
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "metadata.name".to_owned());
    Ok(Var {
        exact: !namespace.is_empty() || cluster_scoped,
        target: Id {
            group,
            version,
            name: text_at(&objref, "name")?,
            namespace: res::effective_namespace(&namespace, cluster_scoped),
            kind,
        },
        name,
        field_path,
        span: item.span,
    })
}

/// The value at a dotted field path (`spec.template.spec.containers[0].image`):
/// text, a whole number or a boolean, as kustomize substitutes them.
fn field_value(node: &Node, path: &str, span: Span) -> Result<Value, Error> {
    if path.contains(['[', ']']) && !is_plain_indexed(path) {
        return Err(Error::unsupported(
            format!("the var field path `{path}`"),
            span,
        ));
    }
    let mut at = node;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (
                key,
                rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()),
            ),
            None => (part, None),
        };
        if !key.is_empty() {
            at = match (&at.value, key.parse::<usize>()) {
                (Value::Map(_), _) => at.get(key),
                (Value::Seq(items), Ok(i)) => items.get(i),
                _ => None,
            }
            .ok_or_else(|| missing(path, span))?;
        }
        if let Some(i) = index {
            at = at
                .as_seq()
                .and_then(|s| s.get(i))
                .ok_or_else(|| missing(path, span))?;
        }
    }
    match &at.value {
        Value::Str(_) | Value::Int(_) | Value::Bool(_) => Ok(at.value.clone()),
        Value::Null => Err(missing(path, span)),
        _ => Err(Error::unsupported(
            format!("a var whose field `{path}` is not text, a whole number or a boolean"),
            span,
        )),
    }
}

/// Only `name[N]` brackets, no `[key=value]` selectors.
fn is_plain_indexed(path: &str) -> bool {
    path.split('.').all(|part| match part.split_once('[') {
        None => !part.contains(']'),
        Some((_, rest)) => rest
            .strip_suffix(']')
            .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit())),
    })
}

fn missing(path: &str, span: Span) -> Error {
    Error::invalid(
        format!("the field `{path}` a var names is not in the object it names"),
        span,
    )
}

/// Walks a field spec path as kustomize does (into every item of a list on
/// the way) and substitutes vars in what it finds.
/// Counts the bytes a substitution copies against the build's bound.
type Spend<'a> = dyn Fn(usize, Span) -> Result<(), Error> + 'a;

fn substitute_at(
    node: &mut Node,
    path: &[&str],
    values: &HashMap<&str, Value>,
    spend: &Spend<'_>,
) -> Result<(), Error> {
    let Some((first, rest)) = path.split_first() else {
        return substitute(node, values, spend);
    };
    match &mut node.value {
        Value::Null => Ok(()),
        Value::Seq(items) => {
            for item in items {
                substitute_at(item, path, values, spend)?;
            }
            Ok(())
        }
        Value::Map(_) => match res::get_mut(node, first.trim_end_matches("[]")) {
            Some(child) => substitute_at(child, rest, values, spend),
            None => Ok(()),
        },
        _ => Err(Error::invalid(
            format!("a var reference path meets a plain value at `{first}`"),
            node.span,
        )),
    }
}

fn substitute(
    node: &mut Node,
    values: &HashMap<&str, Value>,
    spend: &Spend<'_>,
) -> Result<(), Error> {
    let span = node.span;
    match &mut node.value {
        Value::Str(text) => {
            node.value = replaced(text, values, span, spend)?;
        }
        Value::Map(entries) => {
            for entry in entries {
                if let Value::Str(text) = &entry.value.value {
                    let span = entry.value.span;
                    entry.value.value = replaced(text, values, span, spend)?;
                }
            }
        }
        Value::Seq(items) => {
            for item in items {
                let Value::Str(text) = &item.value else {
                    return Err(Error::invalid(
                        "a var reference list holds something other than text",
                        item.span,
                    ));
                };
                let span = item.span;
                item.value = replaced(text, values, span, spend)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// kustomize's expansion: `$(NAME)` becomes the var's value (keeping its
/// type when it is the whole text), `$$` is a `$`, anything else stays.
fn replaced(
    input: &str,
    values: &HashMap<&str, Value>,
    span: Span,
    spend: &Spend<'_>,
) -> Result<Value, Error> {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let (mut checkpoint, mut cursor) = (0, 0);
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let next = bytes[cursor + 1];
            let advance = match next {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match input[cursor + 2..].find(')') {
                    Some(end) => {
                        let name = &input[cursor + 2..cursor + 2 + end];
                        let value = values.get(name);
                        if input.len() == name.len() + 3 {
                            if let Some(Value::Str(text)) = value {
                                spend(text.len(), span)?;
                            }
                            return Ok(value
                                .cloned()
                                .unwrap_or_else(|| Value::Str(input.to_owned())));
                        }
                        match value {
                            Some(v) => {
                                let text = res::value_text(&res::made(v.clone(), span));
                                spend(text.len(), span)?;
                                out.push_str(&text);
                            }
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        end + 2
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                // Go copies the byte after `$` as a character of its own,
                // which garbles text that is not ASCII.
                b if !b.is_ascii() => {
                    return Err(Error::unsupported(
                        "a `$` before a character that is not ASCII in a var reference field",
                        span,
                    ));
                }
                b => {
                    out.push('$');
                    out.push(b as char);
                    1
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.push_str(&input[checkpoint.min(input.len())..]);
    Ok(Value::Str(out))
}

/// kustomize's built-in var-reference fields.
fn default_var_references() -> Vec<Spec> {
    const IN_CONTAINERS: [&str; 4] = ["args", "command", "env/value", "volumeMounts/mountPath"];
    let spec = |kind: &str, path: String| Spec {
        group: String::new(),
        version: String::new(),
        kind: kind.to_owned(),
        path,
        create: false,
    };
    let mut out = Vec::new();
    let pods = [
        (
            "CronJob",
            "spec/jobTemplate/spec/template/spec",
            "spec/jobTemplate/spec/template/volumes/nfs/server",
        ),
        (
            "DaemonSet",
            "spec/template/spec",
            "spec/template/spec/volumes/nfs/server",
        ),
        (
            "Deployment",
            "spec/template/spec",
            "spec/template/spec/volumes/nfs/server",
        ),
        (
            "Job",
            "spec/template/spec",
            "spec/template/spec/volumes/nfs/server",
        ),
        ("Pod", "spec", "spec/volumes/nfs/server"),
        (
            "ReplicaSet",
            "spec/template/spec",
            "spec/template/spec/volumes/nfs/server",
        ),
        (
            "StatefulSet",
            "spec/template/spec",
            "spec/volumeClaimTemplates/spec/nfs/server",
        ),
    ];
    for (kind, pod, nfs) in pods {
        for list in ["containers", "initContainers"] {
            for field in IN_CONTAINERS {
                out.push(spec(kind, format!("{pod}/{list}/{field}")));
            }
        }
        out.push(spec(kind, nfs.to_owned()));
    }
    for (kind, path) in [
        ("Deployment", "spec/template/metadata/annotations"),
        ("Ingress", "spec/rules/host"),
        ("Ingress", "spec/tls/hosts"),
        ("Ingress", "spec/tls/secretName"),
        ("Service", "spec/ports/port"),
        ("Service", "spec/ports/targetPort"),
        ("PersistentVolume", "spec/nfs/server"),
        ("", "metadata/labels"),
        ("", "metadata/annotations"),
    ] {
        out.push(spec(kind, path.to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, Value)]) -> HashMap<&'static str, Value> {
        pairs.iter().cloned().collect()
    }

    #[test]
    fn expansion_follows_kustomize() {
        let values = vars(&[("A", Value::Str("x".into())), ("N", Value::Int(3))]);
        let free = |_: usize, _: Span| Ok(());
        let text = |s: &str| match replaced(s, &values, Span::default(), &free).unwrap() {
            Value::Str(s) => s,
            other => format!("{other:?}"),
        };
        assert_eq!(text("$(A)-$(N)"), "x-3");
        assert_eq!(text("$(N)"), "Int(3)");
        assert_eq!(text("$$(A)"), "$(A)");
        assert_eq!(text("$(B) $(A"), "$(B) $(A");
        assert_eq!(text("a$"), "a$");
        assert_eq!(text("$x$(A)"), "$xx");
    }

    #[test]
    fn field_paths_with_indexes() {
        let stream = crate::yaml::parse_stream(
            "spec:\n  containers:\n  - image: a\n    ports: [{containerPort: 80}]\n",
            crate::yaml::Limits::default(),
        );
        let root = &stream.documents[0].root;
        let at = |p| field_value(root, p, Span::default());
        assert_eq!(at("spec.containers[0].image"), Ok(Value::Str("a".into())));
        assert_eq!(
            at("spec.containers.0.ports[0].containerPort"),
            Ok(Value::Int(80))
        );
        assert!(matches!(
            at("spec.containers[1].image"),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            at("spec.containers[name=a].image"),
            Err(Error::Unsupported { .. })
        ));
    }
}
