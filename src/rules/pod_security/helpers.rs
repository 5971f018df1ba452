//! Helpers shared by the pod and container security rules. The fields
//! themselves are read by `pss::predicates`, which Pod Security shares.

use crate::diagnostic::{Fix, Hardening};
use crate::k8s::predicates as p;
use crate::k8s::{Container, Manifest, PodSpec};
use crate::registry::RuleContext;
use crate::yaml::Span;

/// A capability name as the runtime reads it: upper case, no `CAP_`.
pub fn capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper
        .strip_prefix("CAP_")
        .map(str::to_owned)
        .unwrap_or(upper)
}

/// Whether the container drops a capability (or ALL).
pub fn drops(container: &Container, name: &str) -> bool {
    p::dropped_capabilities(container)
        .map(|c| capability(c.name))
        .any(|c| c == "ALL" || c == name)
}

/// Where to report a capability list that lacks a drop: the `drop` key, else
/// `capabilities`, else `securityContext`, else the container's name.
pub fn drop_span(container: &Container) -> Span {
    p::drop_list(container)
        .written()
        .or_else(|| p::capabilities(container).written())
        .map_or_else(|| container.absence_span(), |e| e.key_span)
}

/// The pod spec of a workload, unless it is a Windows pod (`spec.os.name:
/// windows`): the API server rejects Linux-only settings there, so rules
/// about them have nothing to ask for.
pub fn linux_pod<'a>(object: &'a Manifest) -> Option<&'a PodSpec<'a>> {
    object.pod.as_ref().filter(|pod| !p::is_windows(pod))
}

/// The fix that adds a missing hardening setting to a container's
/// `securityContext` (see [`crate::edit::Source::hardening`]); `None`
/// where kslint has no file text to edit.
pub fn hardening_fix(cx: &RuleContext, container: &Container, setting: Hardening) -> Option<Fix> {
    cx.source()?.hardening(container.node, setting)
}
