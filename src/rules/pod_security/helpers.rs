//! Helpers shared by the pod and container security rules.

use crate::k8s::{Container, Manifest, PodSpec};
use crate::yaml::{Entry, Node, Span};

/// A capability name as the runtime reads it: upper case, no `CAP_`.
pub fn capability(node: &Node) -> Option<String> {
    // Go decodes a null item of a list of strings as "", as Pod Security
    // reads it.
    let name = if node.is_null() { "" } else { node.as_str()? };
    let upper = name.trim().to_ascii_uppercase();
    Some(
        upper
            .strip_prefix("CAP_")
            .map(str::to_owned)
            .unwrap_or(upper),
    )
}

/// The `capabilities.drop` entry of a container, if any.
pub fn drop_entry<'a>(container: &Container<'a>) -> Option<&'a Entry> {
    container.security(&["capabilities", "drop"])
}

/// Whether the container drops a capability (or ALL).
pub fn drops(container: &Container, name: &str) -> bool {
    drop_entry(container)
        .and_then(|e| e.value.as_seq())
        .is_some_and(|items| {
            items
                .iter()
                .filter_map(capability)
                .any(|c| c == "ALL" || c == name)
        })
}

/// The items of `capabilities.add`.
pub fn added<'a>(container: &Container<'a>) -> &'a [Node] {
    container
        .security(&["capabilities", "add"])
        .and_then(|e| e.value.as_seq())
        .unwrap_or_default()
}

/// Where to report a capability list that lacks a drop: the `drop` key, else
/// `capabilities`, else `securityContext`, else the container's name.
pub fn drop_span(container: &Container) -> Span {
    drop_entry(container)
        .or_else(|| container.security(&["capabilities"]))
        .map_or_else(|| container.absence_span(), |e| e.key_span)
}

/// Whether a value is exactly `true`.
pub fn is_true(entry: Option<&Entry>) -> bool {
    entry.and_then(|e| e.value.as_bool()) == Some(true)
}

/// The pod spec of a workload, unless it is a Windows pod (`spec.os.name:
/// windows`): the API server rejects Linux-only settings there, so rules
/// about them have nothing to ask for.
pub fn linux_pod<'a>(object: &'a Manifest) -> Option<&'a PodSpec<'a>> {
    object.pod.as_ref().filter(|pod| !pod.is_windows())
}
