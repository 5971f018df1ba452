//! The object model: Kubernetes objects as views over spanned YAML trees.
//!
//! Nothing is decoded into client structs (that is how other linters lost
//! positions); accessors return [`Node`]s that carry their spans.

pub mod node_access;
pub mod pod;
pub mod predicates;
pub mod rbac;
pub mod selector;

use crate::diagnostic::{ObjectRef, ObjectSlot};
use crate::source::FileId;
use crate::yaml::{Document, Node, Value};
pub use pod::{Container, ContainerKind, PodSpec, PodSpecPath};

/// One Kubernetes object of a file.
#[derive(Debug)]
pub struct Manifest<'a> {
    /// The file it is in.
    pub file: FileId,
    /// Its place among the file's objects.
    pub slot: ObjectSlot,
    /// The object's mapping.
    pub node: &'a Node,
    /// apiVersion, kind, namespace, name.
    pub object: ObjectRef,
    /// The pod spec, for workloads.
    pub pod: Option<PodSpec<'a>>,
    /// Schema problems, computed on first use (two rules read them).
    schema: std::cell::OnceCell<Vec<crate::schema::Problem>>,
}

impl<'a> Manifest<'a> {
    /// `metadata`, if present.
    pub fn metadata(&self) -> Option<&'a Node> {
        self.node.get("metadata")
    }

    /// The kind.
    pub fn kind(&self) -> &str {
        &self.object.kind
    }

    /// The object's problems against the schema of its kind.
    pub fn schema_problems(&self) -> &[crate::schema::Problem] {
        self.schema
            .get_or_init(|| crate::schema::check(&self.object.api_version, self.kind(), self.node))
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        self.object
            .api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }
}

/// Kinds that configure tools rather than describe cluster objects.
fn is_tool_config(api_version: &str, kind: &str) -> bool {
    api_version.starts_with("kustomize.config.k8s.io/")
        || (api_version.starts_with("config.kubernetes.io/") && kind != "List")
        || (matches!(kind, "Kustomization" | "Component") && api_version.contains("kustomize"))
}

/// The identity of an object node, if it has a string apiVersion and kind.
pub fn object_ref(node: &Node) -> Option<ObjectRef> {
    let api_version = node.get("apiVersion")?.as_str()?;
    let kind = node.get("kind")?.as_str()?;
    if api_version.is_empty() || kind.is_empty() || is_tool_config(api_version, kind) {
        return None;
    }
    let metadata = node.get("metadata");
    let text = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .and_then(Node::as_str)
            .map(str::to_owned)
    };
    Some(ObjectRef {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        namespace: text("namespace").filter(|ns| !ns.is_empty()),
        name: text("name")
            .or_else(|| text("generateName"))
            .unwrap_or_default(),
    })
}

/// Every object of a file's documents, `List` kinds flattened, in order.
pub fn objects<'a>(
    file: FileId,
    documents: &'a [Document],
    pod_paths: &[PodSpecPath],
) -> Vec<Manifest<'a>> {
    let mut out = Vec::new();
    for document in documents {
        collect(file, &document.root, pod_paths, &mut out);
    }
    out
}

fn collect<'a>(
    file: FileId,
    node: &'a Node,
    pod_paths: &[PodSpecPath],
    out: &mut Vec<Manifest<'a>>,
) {
    let Some(object) = object_ref(node) else {
        return;
    };
    if object.kind.ends_with("List")
        && let Some(Value::Seq(items)) = node.get("items").map(|n| &n.value)
    {
        for item in items {
            collect(file, item, pod_paths, out);
        }
        return;
    }
    let slot = ObjectSlot {
        index: out.len() as u32,
    };
    let pod = pod::find_pod_spec(node, &object, pod_paths);
    out.push(Manifest {
        file,
        slot,
        node,
        object,
        pod,
        schema: std::cell::OnceCell::new(),
    });
}
