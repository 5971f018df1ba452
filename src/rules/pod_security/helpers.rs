//! Helpers shared by the pod and container security rules. The fields
//! themselves are read by `pss::predicates`, which Pod Security shares.

use crate::diagnostic::{Applicability, Effect, Fix, Hardening};
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
/// `securityContext` (creating it, or `capabilities`, as needed), in the
/// file's own layout. `None` where kslint has no file text to edit, or the
/// setting is written already (a `null`, a value of another type): that
/// is the user's to look at.
pub fn hardening_fix(cx: &RuleContext, container: &Container, setting: Hardening) -> Option<Fix> {
    use Applicability::{Safe, Unsafe};
    let source = cx.source()?;
    // The API server rejects `allowPrivilegeEscalation: false` beside
    // `privileged: true` or an added SYS_ADMIN.
    if setting == Hardening::NoPrivilegeEscalation
        && (p::privileged(container).bool() == Some(true)
            || p::added_capabilities(container).any(|c| capability(c.name) == "SYS_ADMIN"))
    {
        return None;
    }
    let (path, value, applicability, title): (&[&str], &str, _, &str) = match setting {
        Hardening::NoPrivilegeEscalation => (
            &["securityContext", "allowPrivilegeEscalation"],
            "false",
            Safe,
            "add `allowPrivilegeEscalation: false` to the securityContext",
        ),
        Hardening::Seccomp => (
            &["securityContext", "seccompProfile", "type"],
            "RuntimeDefault",
            Safe,
            "add `seccompProfile: {type: RuntimeDefault}` to the securityContext",
        ),
        // Many images run as root or write to their root filesystem.
        Hardening::NonRoot => (
            &["securityContext", "runAsNonRoot"],
            "true",
            Unsafe,
            "add `runAsNonRoot: true` to the securityContext (the image must run as a non-root user)",
        ),
        Hardening::ReadOnlyRoot => (
            &["securityContext", "readOnlyRootFilesystem"],
            "true",
            Unsafe,
            "add `readOnlyRootFilesystem: true` to the securityContext (mount an emptyDir where the container writes)",
        ),
        // Images that start as root often need CHOWN, SETUID or
        // NET_BIND_SERVICE; raw sockets only ping-like tools use.
        Hardening::DropAll | Hardening::DropNetRaw => {
            let (name, applicability) = if setting == Hardening::DropAll {
                ("ALL", Unsafe)
            } else {
                ("NET_RAW", Safe)
            };
            let list = p::drop_list(container);
            let edit = match list.written() {
                Some(entry) => source.append_item(&entry.value, name)?,
                None => source.insert_path(
                    container.node,
                    &["securityContext", "capabilities", "drop"],
                    &format!("[{name}]"),
                )?,
            };
            return Some(Fix {
                applicability,
                effect: Effect::Adds,
                title: format!("add `{name}` to securityContext.capabilities.drop"),
                edits: vec![edit],
            });
        }
    };
    let edit = source.insert_path(container.node, path, value)?;
    Some(Fix {
        applicability,
        effect: Effect::Adds,
        title: title.to_owned(),
        edits: vec![edit],
    })
}
