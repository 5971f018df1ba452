//! The pod-spec view: where a workload keeps its pod spec, its containers,
//! and their effective security settings as the kubelet resolves them.

use crate::diagnostic::ObjectRef;
use crate::yaml::{Entry, Node, Span};

/// A config-declared place of a pod spec in a custom resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSpecPath {
    /// The kind it applies to.
    pub kind: String,
    /// The API group, or any group when `None`.
    pub group: Option<String>,
    /// Keys from the object root to the pod spec mapping.
    pub keys: Vec<String>,
}

/// Built-in places of pod specs, tried in order: Pod, PodTemplate, CronJob,
/// and every workload (built-in or custom: Argo Rollouts, OpenKruise, KEDA
/// ScaledJob) with a pod template.
const TEMPLATE_PATHS: &[&[&str]] = &[
    &["spec", "template", "spec"],
    &["spec", "jobTemplate", "spec", "template", "spec"],
    &["spec", "jobTargetRef", "template", "spec"],
];

/// Finds the pod spec of an object, if it has one.
pub fn find_pod_spec<'a>(
    node: &'a Node,
    object: &ObjectRef,
    configured: &[PodSpecPath],
) -> Option<PodSpec<'a>> {
    let core = !object.api_version.contains('/');
    if object.kind == "Pod" && core {
        return PodSpec::at(node, &["spec"], node.get("metadata"));
    }
    if object.kind == "PodTemplate" && core {
        let template = node.get("template")?;
        return PodSpec::at(node, &["template", "spec"], template.get("metadata"));
    }
    let group = object.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    for path in configured {
        if path.kind == object.kind && path.group.as_deref().is_none_or(|g| g == group) {
            let keys: Vec<&str> = path.keys.iter().map(String::as_str).collect();
            let parent = node.path(&keys[..keys.len().saturating_sub(1)]);
            if let Some(spec) = PodSpec::at(node, &keys, parent.and_then(|p| p.get("metadata"))) {
                return Some(spec);
            }
        }
    }
    // The built-in workloads always hold a pod template, containers or not
    // (a pod spec that sets only `hostIPC` is still a pod); for other kinds
    // only a template with containers is taken for one.
    let workload = match (group, object.kind.as_str()) {
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("", "ReplicationController")
        | ("batch", "Job") => Some(&["spec", "template", "spec"][..]),
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template", "spec"][..]),
        _ => None,
    };
    if let Some(keys) = workload {
        let template = node.path(&keys[..keys.len() - 1]);
        return PodSpec::at(node, keys, template.and_then(|t| t.get("metadata")));
    }
    for keys in TEMPLATE_PATHS {
        let template = node.path(&keys[..keys.len() - 1]);
        if let Some(pod) = PodSpec::at(node, keys, template.and_then(|t| t.get("metadata")))
            && pod.spec.get("containers").is_some()
        {
            return Some(pod);
        }
    }
    None
}

/// A pod spec inside an object.
#[derive(Debug, Clone, Copy)]
pub struct PodSpec<'a> {
    /// The pod spec mapping.
    pub spec: &'a Node,
    /// The `spec:` key that holds it (where absences are reported).
    pub key_span: Span,
    /// The pod's (or pod template's) metadata.
    pub metadata: Option<&'a Node>,
}

impl<'a> PodSpec<'a> {
    fn at(root: &'a Node, keys: &[&str], metadata: Option<&'a Node>) -> Option<Self> {
        let entry = root.path_entry(keys)?;
        entry.value.as_map()?;
        Some(PodSpec {
            spec: &entry.value,
            key_span: entry.key_span,
            metadata,
        })
    }

    /// A field of the pod spec.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.spec.get(key)
    }

    /// An entry of the pod spec.
    pub fn entry(&self, key: &str) -> Option<&'a Entry> {
        self.spec.entry(key)
    }

    /// The pod-level `securityContext` entry.
    pub fn security_context(&self) -> Option<&'a Entry> {
        self.spec
            .entry("securityContext")
            .filter(|e| e.value.as_map().is_some())
    }

    /// A pod-level security field, by path below `securityContext`.
    pub fn security(&self, path: &[&str]) -> Option<&'a Entry> {
        self.security_context()?.value.path_entry(path)
    }

    /// Whether the pod declares itself a Windows pod (`spec.os.name`).
    pub fn is_windows(&self) -> bool {
        self.spec.path(&["os", "name"]).and_then(Node::as_str) == Some("windows")
    }

    /// The pod's annotations, if any.
    pub fn annotations(&self) -> &'a [Entry] {
        self.metadata
            .and_then(|m| m.get("annotations"))
            .and_then(Node::as_map)
            .unwrap_or_default()
    }

    /// Containers, init containers and ephemeral containers, in that order.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> + 'a {
        let pod = *self;
        [
            ("containers", ContainerKind::Regular),
            ("initContainers", ContainerKind::Init),
            ("ephemeralContainers", ContainerKind::Ephemeral),
        ]
        .into_iter()
        .flat_map(move |(key, kind)| {
            pod.spec
                .get(key)
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter(|c| c.as_map().is_some())
                .map(move |node| Container { node, kind, pod })
        })
    }

    /// The volumes.
    pub fn volumes(&self) -> &'a [Node] {
        self.spec
            .get("volumes")
            .and_then(Node::as_seq)
            .unwrap_or_default()
    }
}

/// Which list a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// `containers`.
    Regular,
    /// `initContainers`.
    Init,
    /// `ephemeralContainers`.
    Ephemeral,
}

impl ContainerKind {
    /// How to name it in a message.
    pub fn noun(self) -> &'static str {
        match self {
            ContainerKind::Regular => "container",
            ContainerKind::Init => "init container",
            ContainerKind::Ephemeral => "ephemeral container",
        }
    }
}

/// A container of a pod spec.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// The container mapping.
    pub node: &'a Node,
    /// Which list it is in.
    pub kind: ContainerKind,
    /// Its pod.
    pub pod: PodSpec<'a>,
}

impl<'a> Container<'a> {
    /// The container's name (empty if missing).
    pub fn name(&self) -> &'a str {
        self.node.get("name").and_then(Node::as_str).unwrap_or("")
    }

    /// `container "web"`, `init container "setup"`: how messages name it.
    pub fn describe(&self) -> String {
        format!("{} {:?}", self.kind.noun(), self.name())
    }

    /// The `name: web` entry, or the container itself when it has no name.
    pub fn name_span(&self) -> Span {
        match self.node.entry("name") {
            Some(entry) => entry.key_span.to(entry.value.span),
            None => self.node.span,
        }
    }

    /// The image reference (trimmed, non-empty) and where it is written.
    pub fn image(&self) -> Option<(&'a str, Span)> {
        let node = self.node.get("image")?;
        let image = node.as_str().map(str::trim).filter(|i| !i.is_empty())?;
        Some((image, node.span))
    }

    /// The container's `securityContext` entry, if it is a mapping.
    pub fn security_context(&self) -> Option<&'a Entry> {
        self.node
            .entry("securityContext")
            .filter(|e| e.value.as_map().is_some())
    }

    /// A container-level security field, by path below `securityContext`.
    pub fn security(&self, path: &[&str]) -> Option<&'a Entry> {
        self.security_context()?.value.path_entry(path)
    }

    /// The effective value of a field that exists at pod and container
    /// level: the container's if set (and not null), else the pod's.
    pub fn effective(&self, path: &[&str]) -> Option<&'a Entry> {
        self.security(path)
            .filter(|e| !e.value.is_null())
            .or_else(|| self.pod.security(path).filter(|e| !e.value.is_null()))
    }

    /// Where to report a missing security setting: the container's
    /// `securityContext` key if it has one, else its name.
    pub fn absence_span(&self) -> Span {
        self.node
            .entry("securityContext")
            .map_or_else(|| self.name_span(), |e| e.key_span)
    }
}
