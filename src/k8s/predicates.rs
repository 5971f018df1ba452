//! The Pod Security predicates: what a pod spec sets, read once, as the API
//! server decodes it, for both the Pod Security evaluator (`pss::checks`)
//! and the per-rule checks (`rules::pod_security`), so that the two cannot
//! read one field two ways.
//!
//! Each predicate answers a field-level question (is this a hostPath
//! volume, which capabilities does this container add, what is its
//! effective `runAsUser`) and returns the decided value together with the
//! entry that decides it, so each caller can point where its own contract
//! says. What counts as a violation (allow-lists, case folding, policy
//! versions, Windows exemptions) stays with the callers.
//!
//! The decoding, in one place:
//! - an absent key and a `null` value are the same: Go leaves the field nil
//!   (or zero), so a `null` struct, list item or scalar sets nothing;
//! - a struct field is read through only when it is a mapping (anything
//!   else the API server refuses, so nothing below it is set);
//! - an item of a list of strings that is `null` is `""`, as Go decodes it;
//! - a set scalar of the wrong type stays visible ([`Field::is_set`] without
//!   a typed value), so a caller can still say something about it; the
//!   schema rules report the type itself.
//!
//! This module reads the tree only: it imports neither its users nor
//! anything above `k8s` and `yaml`.

use crate::k8s::{Container, PodSpec};
use crate::yaml::{Entry, Node, Span};

/// One field as written, read as the API server decodes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Field<'a>(Option<&'a Entry>);

impl<'a> Field<'a> {
    /// `key` of a mapping (unset when `node` is missing or not a mapping).
    pub fn of(node: Option<&'a Node>, key: &str) -> Field<'a> {
        Field(node.and_then(|n| n.entry(key)))
    }

    /// The entry as written, `null` included: where to point, not what is
    /// set.
    pub fn written(self) -> Option<&'a Entry> {
        self.0
    }

    /// The entry when the field is set: written and not `null`.
    pub fn set(self) -> Option<&'a Entry> {
        self.0.filter(|e| !e.value.is_null())
    }

    /// Whether the field is set (whatever the type of its value).
    pub fn is_set(self) -> bool {
        self.set().is_some()
    }

    /// The entry when the field holds a struct: a mapping.
    pub fn object(self) -> Option<&'a Entry> {
        self.0.filter(|e| e.value.as_map().is_some())
    }

    /// The struct's mapping, if the field holds one.
    pub fn node(self) -> Option<&'a Node> {
        self.object().map(|e| &e.value)
    }

    /// A boolean value.
    pub fn bool(self) -> Option<bool> {
        self.0.and_then(|e| e.value.as_bool())
    }

    /// Whether the value is exactly `true`.
    pub fn is_true(self) -> bool {
        self.bool() == Some(true)
    }

    /// A string value.
    pub fn str(self) -> Option<&'a str> {
        self.0.and_then(|e| e.value.as_str())
    }

    /// A string field as Go holds it: `""` when unset (or not a string).
    pub fn text(self) -> &'a str {
        self.str().unwrap_or("")
    }

    /// An integer value.
    pub fn int(self) -> Option<i64> {
        self.0.and_then(|e| e.value.as_i64())
    }

    /// The items of a list value (none when unset or not a list).
    pub fn items(self) -> &'a [Node] {
        self.0.and_then(|e| e.value.as_seq()).unwrap_or_default()
    }

    /// Where the value is written; its key when the value is `null`
    /// (an empty value has no text to underline).
    pub fn at(self) -> Option<Span> {
        self.0.map(|e| {
            if e.value.is_null() {
                e.key_span
            } else {
                e.value.span
            }
        })
    }
}

/// Where a pod or container setting lives: the pod's `securityContext` or
/// a container's.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// `spec.securityContext`.
    Pod(PodSpec<'a>),
    /// A container's `securityContext` (any kind of container).
    Container(Container<'a>),
}

impl<'a> Scope<'a> {
    /// The `securityContext` entry, when it is a mapping.
    pub fn security_context(&self) -> Option<&'a Entry> {
        match self {
            Scope::Pod(pod) => pod.security_context(),
            Scope::Container(container) => container.security_context(),
        }
    }

    /// A field of the `securityContext`.
    pub fn field(&self, key: &str) -> Field<'a> {
        Field::of(self.security_context().map(|e| &e.value), key)
    }

    /// The container, for a container scope.
    pub fn container(&self) -> Option<&Container<'a>> {
        match self {
            Scope::Pod(_) => None,
            Scope::Container(container) => Some(container),
        }
    }
}

/// The pod, then every container (regular, init, ephemeral), in order:
/// the places a setting that exists at both levels can be written.
pub fn scopes<'a>(pod: &PodSpec<'a>) -> impl Iterator<Item = Scope<'a>> + 'a {
    std::iter::once(Scope::Pod(*pod)).chain(pod.containers().map(Scope::Container))
}

/// The effective value of a setting that exists at pod and container level,
/// as the kubelet resolves it: the container's when set, else the pod's.
/// Unset when neither sets it.
pub fn effective<'a>(
    container: &Container<'a>,
    field: impl Fn(&Scope<'a>) -> Field<'a>,
) -> (Field<'a>, Option<Scope<'a>>) {
    let own = Scope::Container(*container);
    let decided = field(&own);
    if decided.is_set() {
        return (decided, Some(own));
    }
    let pod = Scope::Pod(container.pod);
    let decided = field(&pod);
    if decided.is_set() {
        (decided, Some(pod))
    } else {
        (Field::default(), None)
    }
}

// ---- pod level ----

/// The host namespaces a pod can share, by their pod spec keys.
pub const HOST_NAMESPACES: [&str; 3] = ["hostNetwork", "hostPID", "hostIPC"];

/// `hostNetwork`, `hostPID` or `hostIPC` (one of [`HOST_NAMESPACES`]).
pub fn host_namespace<'a>(pod: &PodSpec<'a>, key: &str) -> Field<'a> {
    Field::of(Some(pod.spec), key)
}

/// `hostUsers`.
pub fn host_users<'a>(pod: &PodSpec<'a>) -> Field<'a> {
    Field::of(Some(pod.spec), "hostUsers")
}

/// Whether the pod runs in its own user namespace (`hostUsers: false`).
pub fn in_user_namespace(pod: &PodSpec) -> bool {
    host_users(pod).bool() == Some(false)
}

/// Whether the pod declares itself a Windows pod (`spec.os.name`).
pub fn is_windows(pod: &PodSpec) -> bool {
    pod.is_windows()
}

/// A volume source (`hostPath`, `emptyDir`, ...) of a volume.
pub fn volume_source<'a>(volume: &'a Node, key: &str) -> Field<'a> {
    Field::of(Some(volume), key)
}

/// The set entries of a volume other than its `name`: its sources (more
/// than one, or an unknown key, is the user's mistake; all are returned).
pub fn volume_sources(volume: &Node) -> impl Iterator<Item = &Entry> {
    volume
        .as_map()
        .unwrap_or_default()
        .iter()
        .filter(|e| e.key != "name" && !e.value.is_null())
}

/// A volume's `name` (`""` when unset).
pub fn volume_name(volume: &Node) -> &str {
    Field::of(Some(volume), "name").text()
}

/// A hostPath volume.
#[derive(Debug, Clone, Copy)]
pub struct HostPathVolume<'a> {
    /// The volume.
    pub volume: &'a Node,
    /// Its `hostPath` entry (set: not `null`).
    pub entry: &'a Entry,
    /// `hostPath.path`.
    pub path: Field<'a>,
}

impl<'a> HostPathVolume<'a> {
    /// The volume's name.
    pub fn name(&self) -> &'a str {
        volume_name(self.volume)
    }
}

/// The hostPath volumes of a pod: every volume whose `hostPath` is set.
pub fn host_path_volumes<'a>(pod: &PodSpec<'a>) -> impl Iterator<Item = HostPathVolume<'a>> + 'a {
    pod.volumes().iter().filter_map(|volume| {
        let entry = volume_source(volume, "hostPath").set()?;
        Some(HostPathVolume {
            volume,
            entry,
            path: Field::of(Some(&entry.value), "path"),
        })
    })
}

/// A pod sysctl.
#[derive(Debug, Clone, Copy)]
pub struct Sysctl<'a> {
    /// The list item.
    pub node: &'a Node,
    /// Its `name`.
    pub name: Field<'a>,
}

impl<'a> Sysctl<'a> {
    /// The name as Go holds it: `""` when unset.
    pub fn name(&self) -> &'a str {
        self.name.text()
    }

    /// Where the name is written, else the item.
    pub fn span(&self) -> Span {
        self.name.at().unwrap_or(self.node.span)
    }
}

/// The pod's `securityContext.sysctls` items that are mappings.
pub fn sysctls<'a>(pod: &PodSpec<'a>) -> impl Iterator<Item = Sysctl<'a>> + 'a {
    Scope::Pod(*pod)
        .field("sysctls")
        .items()
        .iter()
        .filter(|item| item.as_map().is_some())
        .map(|node| Sysctl {
            node,
            name: Field::of(Some(node), "name"),
        })
}

/// The prefix of the per-container AppArmor annotations.
pub const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";
/// The pod's seccomp annotation (before v1.19 the only way to set it).
pub const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
/// The prefix of the per-container seccomp annotations.
pub const SECCOMP_CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// An annotation of the pod (or pod template) with a string value.
#[derive(Debug, Clone, Copy)]
pub struct Annotation<'a> {
    /// The entry.
    pub entry: &'a Entry,
    /// Its value.
    pub value: &'a str,
    /// The container it names after its prefix, for per-container keys.
    pub container: Option<&'a str>,
}

/// The AppArmor annotations, in written order.
pub fn apparmor_annotations<'a>(pod: &PodSpec<'a>) -> impl Iterator<Item = Annotation<'a>> + 'a {
    pod.annotations().iter().filter_map(|entry| {
        let container = entry.key.strip_prefix(APPARMOR_ANNOTATION)?;
        Some(Annotation {
            entry,
            value: entry.value.as_str()?,
            container: Some(container),
        })
    })
}

/// The seccomp annotations (pod and per container), in written order.
pub fn seccomp_annotations<'a>(pod: &PodSpec<'a>) -> impl Iterator<Item = Annotation<'a>> + 'a {
    pod.annotations().iter().filter_map(|entry| {
        let container = match entry.key.strip_prefix(SECCOMP_CONTAINER_ANNOTATION) {
            Some(name) => Some(name),
            None if entry.key == SECCOMP_POD_ANNOTATION => None,
            None => return None,
        };
        Some(Annotation {
            entry,
            value: entry.value.as_str()?,
            container,
        })
    })
}

// ---- pod or container level ----

/// A `seccompProfile` or `appArmorProfile` struct.
#[derive(Debug, Clone, Copy)]
pub struct Profile<'a> {
    /// The profile's entry.
    pub entry: &'a Entry,
    /// Its `type`.
    pub kind: Field<'a>,
}

impl<'a> Profile<'a> {
    fn of(field: Field<'a>) -> Option<Profile<'a>> {
        let entry = field.object()?;
        Some(Profile {
            entry,
            kind: Field::of(Some(&entry.value), "type"),
        })
    }

    /// Where the type is written, else the profile's key.
    pub fn span(&self) -> Span {
        self.kind.at().unwrap_or(self.entry.key_span)
    }
}

/// The `seccompProfile` field (set even when it is not a struct).
pub fn seccomp_profile_field<'a>(scope: &Scope<'a>) -> Field<'a> {
    scope.field("seccompProfile")
}

/// The `seccompProfile` struct.
pub fn seccomp_profile<'a>(scope: &Scope<'a>) -> Option<Profile<'a>> {
    Profile::of(seccomp_profile_field(scope))
}

/// The `appArmorProfile` struct.
pub fn apparmor_profile<'a>(scope: &Scope<'a>) -> Option<Profile<'a>> {
    Profile::of(scope.field("appArmorProfile"))
}

/// A `seLinuxOptions` struct.
#[derive(Debug, Clone, Copy)]
pub struct SeLinuxOptions<'a> {
    /// The options' entry.
    pub entry: &'a Entry,
    /// `type`.
    pub kind: Field<'a>,
    /// `user`.
    pub user: Field<'a>,
    /// `role`.
    pub role: Field<'a>,
}

/// The `seLinuxOptions` struct.
pub fn selinux_options<'a>(scope: &Scope<'a>) -> Option<SeLinuxOptions<'a>> {
    let entry = scope.field("seLinuxOptions").object()?;
    let field = |key| Field::of(Some(&entry.value), key);
    Some(SeLinuxOptions {
        entry,
        kind: field("type"),
        user: field("user"),
        role: field("role"),
    })
}

/// `windowsOptions.hostProcess`.
pub fn host_process<'a>(scope: &Scope<'a>) -> Field<'a> {
    Field::of(scope.field("windowsOptions").node(), "hostProcess")
}

/// `runAsUser`.
pub fn run_as_user<'a>(scope: &Scope<'a>) -> Field<'a> {
    scope.field("runAsUser")
}

/// `runAsNonRoot`.
pub fn run_as_non_root<'a>(scope: &Scope<'a>) -> Field<'a> {
    scope.field("runAsNonRoot")
}

// ---- container level ----

fn container_field<'a>(container: &Container<'a>, key: &str) -> Field<'a> {
    Scope::Container(*container).field(key)
}

/// `privileged`.
pub fn privileged<'a>(container: &Container<'a>) -> Field<'a> {
    container_field(container, "privileged")
}

/// `allowPrivilegeEscalation`.
pub fn allow_privilege_escalation<'a>(container: &Container<'a>) -> Field<'a> {
    container_field(container, "allowPrivilegeEscalation")
}

/// `procMount`.
pub fn proc_mount<'a>(container: &Container<'a>) -> Field<'a> {
    container_field(container, "procMount")
}

/// The set `hostPort` of every port of the container.
pub fn host_ports<'a>(container: &Container<'a>) -> impl Iterator<Item = Field<'a>> + 'a {
    Field::of(Some(container.node), "ports")
        .items()
        .iter()
        .map(|port| Field::of(Some(port), "hostPort"))
        .filter(|port| port.is_set())
}

/// The `capabilities` field (set even when it is not a struct).
pub fn capabilities<'a>(container: &Container<'a>) -> Field<'a> {
    container_field(container, "capabilities")
}

/// `capabilities.drop`.
pub fn drop_list<'a>(container: &Container<'a>) -> Field<'a> {
    Field::of(capabilities(container).node(), "drop")
}

/// `capabilities.add`.
pub fn add_list<'a>(container: &Container<'a>) -> Field<'a> {
    Field::of(capabilities(container).node(), "add")
}

/// A capability named in `add` or `drop`.
#[derive(Debug, Clone, Copy)]
pub struct Capability<'a> {
    /// The name as written (`""` for `null`, as Go decodes it).
    pub name: &'a str,
    /// The list item.
    pub node: &'a Node,
}

/// The string items of a list of capabilities; `null` is `""`.
fn capability_items(list: Field<'_>) -> impl Iterator<Item = Capability<'_>> {
    list.items().iter().filter_map(|node| {
        let name = if node.is_null() { "" } else { node.as_str()? };
        Some(Capability { name, node })
    })
}

/// The capabilities the container adds.
pub fn added_capabilities<'a>(
    container: &Container<'a>,
) -> impl Iterator<Item = Capability<'a>> + 'a {
    capability_items(add_list(container))
}

/// The capabilities the container drops.
pub fn dropped_capabilities<'a>(
    container: &Container<'a>,
) -> impl Iterator<Item = Capability<'a>> + 'a {
    capability_items(drop_list(container))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::objects;
    use crate::source::FileId;
    use crate::yaml::{Limits, parse_stream};

    fn with_pod(spec: &str, test: impl Fn(&PodSpec)) {
        with_object(
            &format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}"),
            test,
        );
    }

    fn with_object(text: &str, test: impl Fn(&PodSpec)) {
        let stream = parse_stream(text, Limits::default());
        let objects = objects(FileId(0), &stream.documents, &[]);
        let pod = objects.first().and_then(|o| o.pod.as_ref());
        test(pod.expect("the test text is a pod"));
    }

    #[test]
    fn null_is_absent() {
        with_pod(
            "  containers:\n  - name: c\n    securityContext:\n      privileged: null\n      capabilities: null\n  volumes:\n  - {name: a, hostPath: null}\n  - {name: b, hostPath: {path: /x}}\n",
            |pod| {
                let names: Vec<_> = host_path_volumes(pod).map(|v| v.name()).collect();
                assert_eq!(names, ["b"]);
                let container = pod.containers().next().expect("one container");
                assert!(privileged(&container).written().is_some());
                assert!(!privileged(&container).is_set());
                assert!(capabilities(&container).written().is_some());
                assert_eq!(added_capabilities(&container).count(), 0);
            },
        );
    }

    #[test]
    fn effective_values_fall_back_to_the_pod() {
        with_pod(
            "  securityContext: {runAsUser: 0}\n  containers:\n  - name: a\n    securityContext: {runAsUser: null}\n  - name: b\n    securityContext: {runAsUser: 7}\n",
            |pod| {
                let users: Vec<_> = pod
                    .containers()
                    .map(|c| {
                        let (field, scope) = effective(&c, run_as_user);
                        (
                            field.int(),
                            scope.and_then(|s| s.container().map(|c| c.name())),
                        )
                    })
                    .collect();
                assert_eq!(users, [(Some(0), None), (Some(7), Some("b"))]);
            },
        );
    }

    #[test]
    fn list_strings_decode_as_go_does() {
        with_pod(
            "  containers:\n  - name: c\n    securityContext:\n      capabilities: {add: [null, 3, NET_RAW]}\n",
            |pod| {
                let container = pod.containers().next().expect("one container");
                let names: Vec<_> = added_capabilities(&container).map(|c| c.name).collect();
                assert_eq!(names, ["", "NET_RAW"]);
            },
        );
    }

    #[test]
    fn annotations_name_their_container() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: unconfined\n    container.seccomp.security.alpha.kubernetes.io/c: runtime/default\n    container.apparmor.security.beta.kubernetes.io/c: unconfined\n    other: x\nspec:\n  containers: [{name: c}]\n";
        with_object(text, |pod| {
            let seccomp: Vec<_> = seccomp_annotations(pod)
                .map(|a| (a.container, a.value))
                .collect();
            assert_eq!(
                seccomp,
                [(None, "unconfined"), (Some("c"), "runtime/default")]
            );
            let apparmor: Vec<_> = apparmor_annotations(pod).map(|a| a.container).collect();
            assert_eq!(apparmor, [Some("c")]);
        });
    }
}
