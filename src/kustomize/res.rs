//! Resources as Kustomize tracks them: a YAML tree plus the identities it
//! had before transformers renamed it, and node helpers for transformers.

use super::Error;
use crate::yaml::{Entry, Node, Span, Value};

/// A resource identity: group, version, kind, name, effective namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    /// `default` for an unset namespace, empty for cluster-scoped kinds.
    pub namespace: String,
}

/// How a generated object meets one with its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    Create,
    Merge,
    Replace,
}

/// One resource of a build.
#[derive(Debug, Clone)]
pub struct Res {
    pub node: Node,
    /// Identities before each rename, oldest first.
    pub previous: Vec<Id>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// A generated ConfigMap or Secret that gets a content hash suffix.
    pub needs_hash: bool,
    pub behavior: Behavior,
    /// The vars (`vars:`) whose value is a field of this object.
    pub var_names: Vec<String>,
}

impl Res {
    pub fn new(node: Node) -> Self {
        Res {
            node,
            previous: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            var_names: Vec::new(),
        }
    }

    pub fn api_version(&self) -> &str {
        str_at(&self.node, &["apiVersion"]).unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        str_at(&self.node, &["kind"]).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        str_at(&self.node, &["metadata", "name"]).unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        str_at(&self.node, &["metadata", "namespace"]).unwrap_or("")
    }

    pub fn group_version(&self) -> (&str, &str) {
        split_api_version(self.api_version())
    }

    pub fn cluster_scoped(&self) -> bool {
        is_cluster_scoped(self.api_version(), self.kind())
    }

    /// The current identity.
    pub fn id(&self) -> Id {
        let (group, version) = self.group_version();
        Id {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: self.kind().to_owned(),
            name: self.name().to_owned(),
            namespace: effective_namespace(self.namespace(), self.cluster_scoped()),
        }
    }

    /// The identity it was created with.
    pub fn original_id(&self) -> Id {
        self.previous.first().cloned().unwrap_or_else(|| self.id())
    }

    /// Every identity it has had, the current one last.
    pub fn ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.previous
            .iter()
            .cloned()
            .chain(std::iter::once(self.id()))
    }

    /// Remembers the current identity before a rename.
    pub fn store_previous(&mut self) {
        let id = self.id();
        self.previous.push(id);
    }
}

pub fn effective_namespace(namespace: &str, cluster_scoped: bool) -> String {
    if cluster_scoped {
        String::new()
    } else if namespace.is_empty() {
        "default".to_owned()
    } else {
        namespace.to_owned()
    }
}

/// `apps/v1` to (`apps`, `v1`); `v1` to (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// Kustomize's table of cluster-scoped types (its built-in schema, by exact
/// apiVersion and kind); everything else counts as namespaced.
pub fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    let (group, version) = split_api_version(api_version);
    let both = matches!(version, "v1" | "v1beta1");
    match group {
        "" => {
            version == "v1"
                && matches!(
                    kind,
                    "Namespace"
                        | "Node"
                        | "PersistentVolume"
                        | "ComponentStatus"
                        | "NodeProxyOptions"
                )
        }
        "rbac.authorization.k8s.io" => both && matches!(kind, "ClusterRole" | "ClusterRoleBinding"),
        "apiextensions.k8s.io" => both && kind == "CustomResourceDefinition",
        "apiregistration.k8s.io" => both && kind == "APIService",
        "admissionregistration.k8s.io" => {
            both && matches!(
                kind,
                "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
            )
        }
        "storage.k8s.io" => {
            both && matches!(
                kind,
                "StorageClass" | "CSIDriver" | "CSINode" | "VolumeAttachment"
            )
        }
        "scheduling.k8s.io" => both && kind == "PriorityClass",
        "networking.k8s.io" => both && kind == "IngressClass",
        "node.k8s.io" => both && kind == "RuntimeClass",
        "certificates.k8s.io" => both && kind == "CertificateSigningRequest",
        "flowcontrol.apiserver.k8s.io" => {
            version == "v1beta1" && matches!(kind, "FlowSchema" | "PriorityLevelConfiguration")
        }
        "policy" => version == "v1beta1" && kind == "PodSecurityPolicy",
        _ => false,
    }
}

pub fn str_at<'n>(node: &'n Node, path: &[&str]) -> Option<&'n str> {
    node.path(path).and_then(Node::as_str)
}

/// A new node made by a transformer, attributed to `span` (the field of the
/// kustomization that made it).
pub fn made(value: Value, span: Span) -> Node {
    Node {
        value,
        span,
        plain: false,
    }
}

pub fn string(text: &str, span: Span) -> Node {
    made(Value::Str(text.to_owned()), span)
}

pub fn empty_map(span: Span) -> Node {
    made(Value::Map(Vec::new()), span)
}

/// The entry `key` of a mapping node, if it is one.
pub fn entry_mut<'n>(node: &'n mut Node, key: &str) -> Option<&'n mut Entry> {
    match &mut node.value {
        Value::Map(entries) => entries.iter_mut().find(|e| e.key == key),
        _ => None,
    }
}

pub fn get_mut<'n>(node: &'n mut Node, key: &str) -> Option<&'n mut Node> {
    entry_mut(node, key).map(|e| &mut e.value)
}

/// Sets `key` in a mapping (a null node becomes a mapping first).
pub fn set(node: &mut Node, key: &str, value: Node) {
    if node.is_null() {
        node.value = Value::Map(Vec::new());
    }
    if let Value::Map(entries) = &mut node.value {
        match entries.iter_mut().find(|e| e.key == key) {
            Some(entry) => entry.value = value,
            None => entries.push(Entry {
                key: key.to_owned(),
                key_span: value.span,
                value,
            }),
        }
    }
}

pub fn remove(node: &mut Node, key: &str) -> Option<Node> {
    if let Value::Map(entries) = &mut node.value {
        let at = entries.iter().position(|e| e.key == key)?;
        return Some(entries.remove(at).value);
    }
    None
}

/// The mapping at `key`, created (as a map) when missing or null.
pub fn child_map<'n>(node: &'n mut Node, key: &str, span: Span) -> Option<&'n mut Node> {
    if node.is_null() {
        node.value = Value::Map(Vec::new());
    }
    if !matches!(node.value, Value::Map(_)) {
        return None;
    }
    if get_mut(node, key).is_none() {
        set(node, key, empty_map(span));
    }
    let child = get_mut(node, key)?;
    if child.is_null() {
        child.value = Value::Map(Vec::new());
    }
    Some(child)
}

/// [`child_map`], or an error for the user when the node or its child is
/// not a mapping (a patch may have made it a scalar or a list).
pub fn mapping_at<'n>(node: &'n mut Node, key: &str, span: Span) -> Result<&'n mut Node, Error> {
    child_map(node, key, span).ok_or_else(|| {
        Error::invalid(
            format!("`{key}` of an object is not a mapping after the patches, so kustomize cannot build it either"),
            span,
        )
    })
}

/// Applies `f` to every node at a fieldspec path (`spec/template/spec`),
/// visiting every element of a list on the way; with `create`, missing maps
/// on the way and the leaf (via `make`) are created.
pub fn walk_path(
    node: &mut Node,
    path: &[&str],
    create: Option<&dyn Fn() -> Node>,
    f: &mut dyn FnMut(&mut Node),
) {
    if let Value::Seq(items) = &mut node.value {
        for item in items {
            walk_path(item, path, create, f);
        }
        return;
    }
    let Some((first, rest)) = path.split_first() else {
        f(node);
        return;
    };
    let key = first.trim_end_matches("[]");
    if !matches!(node.value, Value::Map(_)) {
        return;
    }
    if get_mut(node, key).is_none_or(|n| n.is_null()) {
        let Some(make) = create else {
            return;
        };
        if first.ends_with("[]") {
            return;
        }
        let span = node.span;
        if rest.is_empty() {
            set(node, key, make());
        } else {
            set(node, key, empty_map(span));
        }
    }
    if let Some(child) = get_mut(node, key) {
        walk_path(child, rest, create, f);
    }
}

/// A fieldspec: the kinds it applies to and a `/`-separated path.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub group: &'static str,
    pub kind: &'static str,
    pub path: &'static str,
    pub create: bool,
}

impl FieldSpec {
    pub const fn any(path: &'static str, create: bool) -> Self {
        FieldSpec {
            group: "",
            kind: "",
            path,
            create,
        }
    }

    pub const fn of(kind: &'static str, path: &'static str, create: bool) -> Self {
        FieldSpec {
            group: "",
            kind,
            path,
            create,
        }
    }

    pub const fn of_group(
        group: &'static str,
        kind: &'static str,
        path: &'static str,
        create: bool,
    ) -> Self {
        FieldSpec {
            group,
            kind,
            path,
            create,
        }
    }

    /// Whether it applies to this group and kind (empty parts match any).
    pub fn selects(&self, group: &str, kind: &str) -> bool {
        (self.kind.is_empty() || self.kind == kind)
            && (self.group.is_empty() || self.group == group)
    }
}

/// Where a transformer writes: the objects it applies to and the path.
/// Built-in tables ([`FieldSpec`]) and specs read from the user's files
/// both are.
pub trait PathSpec {
    /// Whether it applies to objects of this group, version and kind.
    fn applies_to(&self, group: &str, version: &str, kind: &str) -> bool;
    /// The `/`-separated path.
    fn path(&self) -> &str;
    /// Whether missing mappings on the path are made.
    fn create(&self) -> bool;
}

impl PathSpec for FieldSpec {
    fn applies_to(&self, group: &str, _version: &str, kind: &str) -> bool {
        self.selects(group, kind)
    }
    fn path(&self) -> &str {
        self.path
    }
    fn create(&self) -> bool {
        self.create
    }
}

/// Shifts a tree's spans to a different place (for copies).
pub fn respan(node: &mut Node, span: Span) {
    node.span = span;
    match &mut node.value {
        Value::Map(entries) => {
            for entry in entries {
                entry.key_span = span;
                respan(&mut entry.value, span);
            }
        }
        Value::Seq(items) => {
            for item in items {
                respan(item, span);
            }
        }
        _ => {}
    }
}

/// A scalar as kustomize writes it into a label, an annotation or a tag:
/// its text, the JSON of anything else.
pub fn value_text(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Null => String::new(),
        _ => node.to_json().to_string(),
    }
}
