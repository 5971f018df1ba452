//! The Pod Security checks, each in the versions the admission library
//! defines. They read the pod only through [`crate::k8s::predicates`], which
//! decodes it as the API server does and which the per-rule checks share.

use super::{Level, Policy, Violation};
use crate::k8s::predicates::{self as p, Field, Scope};
use crate::k8s::{Container, PodSpec};
use crate::yaml::{Entry, Node, Span};
use std::collections::BTreeSet;

/// A check and its versions.
pub(super) struct Check {
    /// The upstream id.
    pub id: &'static str,
    /// Baseline checks also run at restricted, unless overridden.
    pub level: Level,
    /// Versions, oldest first.
    pub variants: &'static [Variant],
}

/// One version of a check.
pub(super) struct Variant {
    /// The first policy minor version it applies to.
    pub since: u16,
    /// The check; `None` when the pod passes.
    pub run: fn(&PodSpec) -> Option<Violation>,
    /// Baseline checks this one replaces at the restricted level.
    pub overrides: &'static [&'static str],
}

const fn since(since: u16, run: fn(&PodSpec) -> Option<Violation>) -> Variant {
    Variant {
        since,
        run,
        overrides: &[],
    }
}

const fn replacing(
    since: u16,
    run: fn(&PodSpec) -> Option<Violation>,
    overrides: &'static [&'static str],
) -> Variant {
    Variant {
        since,
        run,
        overrides,
    }
}

/// Every check: baseline ones, then restricted ones, each sorted by id as
/// the admission library orders its messages.
pub(super) static CHECKS: &[Check] = &[
    Check {
        id: "appArmorProfile",
        level: Level::Baseline,
        variants: &[since(0, app_armor_profile)],
    },
    Check {
        id: "capabilities_baseline",
        level: Level::Baseline,
        variants: &[since(0, capabilities_baseline)],
    },
    Check {
        id: "hostNamespaces",
        level: Level::Baseline,
        variants: &[since(0, host_namespaces)],
    },
    Check {
        id: "hostPathVolumes",
        level: Level::Baseline,
        variants: &[since(0, host_path_volumes)],
    },
    Check {
        id: "hostPorts",
        level: Level::Baseline,
        variants: &[since(0, host_ports)],
    },
    Check {
        id: "hostProbesAndHostLifecycle",
        level: Level::Baseline,
        variants: &[since(34, host_probes_and_lifecycle)],
    },
    Check {
        id: "privileged",
        level: Level::Baseline,
        variants: &[since(0, privileged)],
    },
    Check {
        id: "procMount",
        level: Level::Baseline,
        variants: &[
            since(0, proc_mount),
            since(35, proc_mount_unless_user_namespace),
        ],
    },
    Check {
        id: "seLinuxOptions",
        level: Level::Baseline,
        variants: &[
            since(0, selinux_options_1_0),
            since(31, selinux_options_1_31),
        ],
    },
    Check {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        variants: &[
            since(0, seccomp_annotations),
            since(19, seccomp_profile_baseline),
        ],
    },
    Check {
        id: "sysctls",
        level: Level::Baseline,
        variants: &[
            since(0, sysctls_1_0),
            since(27, sysctls_1_27),
            since(29, sysctls_1_29),
            since(32, sysctls_1_32),
            since(37, sysctls_1_37),
        ],
    },
    Check {
        id: "windowsHostProcess",
        level: Level::Baseline,
        variants: &[since(0, windows_host_process)],
    },
    Check {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        variants: &[
            since(8, allow_privilege_escalation),
            since(25, unless_windows::<{ APE }>),
        ],
    },
    Check {
        id: "capabilities_restricted",
        level: Level::Restricted,
        variants: &[
            replacing(22, capabilities_restricted, &["capabilities_baseline"]),
            replacing(25, unless_windows::<{ CAPS }>, &["capabilities_baseline"]),
        ],
    },
    Check {
        id: "procMount_restricted",
        level: Level::Restricted,
        variants: &[replacing(35, proc_mount_restricted, &["procMount"])],
    },
    Check {
        id: "restrictedVolumes",
        level: Level::Restricted,
        variants: &[replacing(0, restricted_volumes, &["hostPathVolumes"])],
    },
    Check {
        id: "runAsNonRoot",
        level: Level::Restricted,
        variants: &[
            since(0, run_as_non_root),
            since(35, run_as_non_root_unless_user_namespace),
        ],
    },
    Check {
        id: "runAsUser",
        level: Level::Restricted,
        variants: &[
            since(23, run_as_user),
            since(35, run_as_user_unless_user_namespace),
        ],
    },
    Check {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        variants: &[
            replacing(19, seccomp_profile_restricted, &["seccompProfile_baseline"]),
            replacing(
                25,
                unless_windows::<{ SECCOMP }>,
                &["seccompProfile_baseline"],
            ),
        ],
    },
];

/// The (check, variant) pairs a policy runs, in message order.
pub(super) fn selected(policy: Policy) -> Vec<(usize, usize)> {
    if policy.level == Level::Privileged {
        return Vec::new();
    }
    let minor = policy.version.effective_minor();
    let active = |check: &Check| check.variants.iter().rposition(|v| v.since <= minor);
    let restricted = policy.level == Level::Restricted;
    let overridden: Vec<&str> = if restricted {
        CHECKS
            .iter()
            .filter(|c| c.level == Level::Restricted)
            .filter_map(|c| active(c).map(|v| c.variants[v].overrides))
            .flatten()
            .copied()
            .collect()
    } else {
        Vec::new()
    };
    CHECKS
        .iter()
        .enumerate()
        .filter(|(_, c)| match c.level {
            Level::Baseline => !overridden.contains(&c.id),
            _ => restricted,
        })
        .filter_map(|(i, c)| active(c).map(|v| (i, v)))
        .collect()
}

// Checks that Windows pods (`spec.os.name: windows`) skip from v1.25.
const APE: u8 = 0;
const CAPS: u8 = 1;
const SECCOMP: u8 = 2;

fn unless_windows<const CHECK: u8>(pod: &PodSpec) -> Option<Violation> {
    if p::is_windows(pod) {
        return None;
    }
    match CHECK {
        APE => allow_privilege_escalation(pod),
        CAPS => capabilities_restricted(pod),
        _ => seccomp_profile_restricted(pod),
    }
}

// ---- wording ----

/// `"a", "b"`.
fn quote_all<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    items
        .into_iter()
        .map(|s| format!("{:?}", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `container "a"` or `containers "a", "b"`.
fn containers(names: &[&str]) -> String {
    let noun = if names.len() == 1 {
        "container"
    } else {
        "containers"
    };
    format!("{noun} {}", quote_all(names))
}

/// The verb form that agrees with a count of subjects.
fn agree(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}

/// `pod and containers "a", "b"`: who set a forbidden value.
fn setters(pod: bool, names: &[&str]) -> String {
    match (pod, names.is_empty()) {
        (true, true) => "pod".to_owned(),
        (true, false) => format!("pod and {}", containers(names)),
        _ => containers(names),
    }
}

/// Collects the containers and spans a check finds.
#[derive(Default)]
struct Findings<'a> {
    names: Vec<&'a str>,
    spans: Vec<Span>,
    values: BTreeSet<String>,
}

impl<'a> Findings<'a> {
    fn container(&mut self, container: &Container<'a>, span: Span) {
        let name = container.name();
        if self.names.last() != Some(&name) {
            self.names.push(name);
        }
        self.spans.push(span);
    }

    fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn violation(
        self,
        check: &'static str,
        reason: &'static str,
        detail: String,
        fix: &'static str,
    ) -> Option<Violation> {
        (!self.spans.is_empty()).then_some(Violation {
            check,
            reason,
            detail,
            fix,
            spans: self.spans,
        })
    }
}

// ---- baseline ----

fn app_armor_profile(pod: &PodSpec) -> Option<Violation> {
    let allowed = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let mut found = Findings::default();
    let mut pod_bad = false;
    for scope in p::scopes(pod) {
        let Some(profile) = p::apparmor_profile(&scope) else {
            continue;
        };
        let kind = profile.kind.text();
        if allowed(kind) {
            continue;
        }
        found.values.insert(kind.to_owned());
        match scope.container() {
            Some(container) => found.container(container, profile.span()),
            None => {
                pod_bad = true;
                found.spans.push(profile.span());
            }
        }
    }
    let mut annotations = Vec::new();
    for annotation in p::apparmor_annotations(pod) {
        let value = annotation.value;
        let allowed_value =
            value.is_empty() || value == "runtime/default" || value.starts_with("localhost/");
        if !allowed_value {
            annotations.push(format!("{}={value:?}", annotation.entry.key));
            found.spans.push(annotation.entry.value.span);
        }
    }
    let mut who = Vec::new();
    if pod_bad || !found.names.is_empty() {
        who.push(setters(pod_bad, &found.names));
    }
    if !annotations.is_empty() {
        who.push("annotations".to_owned());
    }
    let mut values: Vec<String> = found.values.iter().map(|v| format!("{v:?}")).collect();
    values.extend(annotations);
    let detail = format!(
        "{} set AppArmor profile {}",
        who.join(" and "),
        values.join(", ")
    );
    found.violation(
        "appArmorProfile",
        "forbidden AppArmor profile",
        detail,
        "Use the `RuntimeDefault` (or a `Localhost`) AppArmor profile, or remove the setting.",
    )
}

/// Capabilities a container may add at the baseline level.
pub const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline(pod: &PodSpec) -> Option<Violation> {
    let mut found = Findings::default();
    for container in pod.containers() {
        for capability in p::added_capabilities(&container) {
            // The admission library compares exact strings: `CAP_CHOWN` and
            // `chown` are not on the list.
            if !BASELINE_CAPABILITIES.contains(&capability.name) {
                found.values.insert(capability.name.to_owned());
                found.container(&container, capability.node.span);
            }
        }
    }
    let detail = format!(
        "{} {} {}",
        containers(&found.names),
        agree(found.names.len(), "adds", "add"),
        quote_all(&found.values)
    );
    found.violation(
        "capabilities_baseline",
        "non-default capabilities",
        detail,
        "Remove the capability from `securityContext.capabilities.add`; only the runtime's default set is allowed.",
    )
}

fn host_namespaces(pod: &PodSpec) -> Option<Violation> {
    let mut spans = Vec::new();
    let mut set = Vec::new();
    for key in p::HOST_NAMESPACES {
        let field = p::host_namespace(pod, key);
        if field.is_true()
            && let Some(span) = field.at()
        {
            spans.push(span);
            set.push(format!("{key}=true"));
        }
    }
    (!spans.is_empty()).then(|| Violation {
        check: "hostNamespaces",
        reason: "host namespaces",
        detail: set.join(", "),
        fix: "Remove `hostNetwork`, `hostPID` and `hostIPC` (or set them to false).",
        spans,
    })
}

fn host_path_volumes(pod: &PodSpec) -> Option<Violation> {
    let mut spans = Vec::new();
    let mut names = Vec::new();
    for volume in p::host_path_volumes(pod) {
        spans.push(volume.entry.key_span);
        names.push(volume.name());
    }
    let noun = if names.len() == 1 {
        "volume"
    } else {
        "volumes"
    };
    (!spans.is_empty()).then(|| Violation {
        check: "hostPathVolumes",
        reason: "hostPath volumes",
        detail: format!("{noun} {}", quote_all(&names)),
        fix: "Replace the hostPath volume with an emptyDir, ConfigMap, Secret, PersistentVolumeClaim or CSI volume.",
        spans,
    })
}

fn host_ports(pod: &PodSpec) -> Option<Violation> {
    let mut found = Findings::default();
    for container in pod.containers() {
        for port in p::host_ports(&container) {
            if let (Some(number), Some(span)) = (port.int(), port.at())
                && number != 0
            {
                found.values.insert(number.to_string());
                found.container(&container, span);
            }
        }
    }
    let detail = format!(
        "{} {} hostPort {}",
        containers(&found.names),
        agree(found.names.len(), "uses", "use"),
        found.values.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    found.violation(
        "hostPorts",
        "hostPort",
        detail,
        "Remove `hostPort`; expose the port through a Service instead.",
    )
}

/// A struct field of a container outside its security context (only this
/// check reads probes and lifecycle handlers).
fn object<'a>(node: &'a Node, key: &str) -> Option<&'a Entry> {
    Field::of(Some(node), key).object()
}

fn host_probes_and_lifecycle(pod: &PodSpec) -> Option<Violation> {
    let mut found = Findings::default();
    for container in pod.containers() {
        let probes = ["livenessProbe", "readinessProbe", "startupProbe"]
            .into_iter()
            .filter_map(|key| object(container.node, key));
        let hooks = object(container.node, "lifecycle")
            .into_iter()
            .flat_map(|lifecycle| {
                ["postStart", "preStop"]
                    .into_iter()
                    .filter_map(|key| object(&lifecycle.value, key))
            });
        for handler in probes.chain(hooks) {
            for kind in ["httpGet", "tcpSocket"] {
                let host = Field::of(object(&handler.value, kind).map(|h| &h.value), "host");
                if let (Some(name), Some(span)) = (host.str(), host.at())
                    && !name.is_empty()
                {
                    found.values.insert(name.to_owned());
                    found.container(&container, span);
                }
            }
        }
    }
    let detail = format!(
        "{} {} probe or lifecycle host {}",
        containers(&found.names),
        agree(found.names.len(), "uses", "use"),
        quote_all(&found.values)
    );
    found.violation(
        "hostProbesAndHostLifecycle",
        "probe or lifecycle host",
        detail,
        "Remove `host` from the probe or lifecycle handler; it then targets the pod's own IP.",
    )
}

fn privileged(pod: &PodSpec) -> Option<Violation> {
    let mut found = Findings::default();
    for container in pod.containers() {
        let field = p::privileged(&container);
        if field.is_true()
            && let Some(span) = field.at()
        {
            found.container(&container, span);
        }
    }
    let detail = format!(
        "{} must not set securityContext.privileged=true",
        containers(&found.names)
    );
    found.violation(
        "privileged",
        "privileged",
        detail,
        "Remove `privileged: true`; add only the specific capabilities the container needs.",
    )
}

fn proc_mount(pod: &PodSpec) -> Option<Violation> {
    proc_mount_as(pod, "procMount")
}

/// The restricted level's copy of the procMount check, which ignores
/// `hostUsers`.
fn proc_mount_restricted(pod: &PodSpec) -> Option<Violation> {
    proc_mount_as(pod, "procMount_restricted")
}

fn proc_mount_as(pod: &PodSpec, check: &'static str) -> Option<Violation> {
    let mut found = Findings::default();
    for container in pod.containers() {
        let field = p::proc_mount(&container);
        if let (Some(kind), Some(span)) = (field.str(), field.at())
            && kind != "Default"
        {
            found.values.insert(kind.to_owned());
            found.container(&container, span);
        }
    }
    let detail = format!(
        "{} must not set securityContext.procMount to {}",
        containers(&found.names),
        quote_all(&found.values)
    );
    found.violation(
        check,
        "procMount",
        detail,
        "Remove `procMount` (or set it to `Default`) so /proc keeps its masks.",
    )
}

fn proc_mount_unless_user_namespace(pod: &PodSpec) -> Option<Violation> {
    if p::in_user_namespace(pod) {
        return None;
    }
    proc_mount(pod)
}

const SELINUX_TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn selinux_options_1_0(pod: &PodSpec) -> Option<Violation> {
    selinux_options(pod, SELINUX_TYPES_1_0)
}

fn selinux_options_1_31(pod: &PodSpec) -> Option<Violation> {
    selinux_options(pod, SELINUX_TYPES_1_31)
}

fn selinux_options(pod: &PodSpec, allowed_types: &[&str]) -> Option<Violation> {
    let mut found = Findings::default();
    let (mut user, mut role) = (false, false);
    let mut check = |scope: &Scope, found: &mut Findings| -> Vec<Span> {
        let Some(options) = p::selinux_options(scope) else {
            return Vec::new();
        };
        let mut spans = Vec::new();
        let kind = options.kind.text();
        if !allowed_types.contains(&kind) {
            found.values.insert(kind.to_owned());
            spans.extend(options.kind.at());
        }
        for (field, seen) in [(options.user, &mut user), (options.role, &mut role)] {
            if !field.text().is_empty() {
                *seen = true;
                spans.extend(field.at());
            }
        }
        spans
    };
    let pod_spans = check(&Scope::Pod(*pod), &mut found);
    let pod_bad = !pod_spans.is_empty();
    found.spans.extend(pod_spans);
    for container in pod.containers() {
        for span in check(&Scope::Container(container), &mut found) {
            found.container(&container, span);
        }
    }
    let mut what = Vec::new();
    if !found.values.is_empty() {
        let noun = if found.values.len() == 1 {
            "type"
        } else {
            "types"
        };
        what.push(format!("{noun} {}", quote_all(&found.values)));
    }
    if user {
        what.push("user may not be set".to_owned());
    }
    if role {
        what.push("role may not be set".to_owned());
    }
    let detail = format!(
        "{} set forbidden securityContext.seLinuxOptions: {}",
        setters(pod_bad, &found.names),
        what.join("; ")
    );
    found.violation(
        "seLinuxOptions",
        "seLinuxOptions",
        detail,
        "Remove `seLinuxOptions.user` and `role`, and use a container type (`container_t`) or none.",
    )
}

/// Seccomp profile types allowed at every level that restricts seccomp.
fn allowed_seccomp(kind: &str) -> bool {
    matches!(kind, "RuntimeDefault" | "Localhost")
}

/// Before v1.19 seccomp was set by annotations.
fn seccomp_annotations(pod: &PodSpec) -> Option<Violation> {
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    // Only the pod's key and the keys of the pod's own containers count.
    let names: Vec<&str> = pod.containers().map(|c| c.name()).collect();
    let mut keys: Vec<(&Entry, String)> = p::seccomp_annotations(pod)
        .filter(|a| a.container.is_none_or(|name| names.contains(&name)))
        .filter(|a| !valid(a.value))
        .map(|a| (a.entry, format!("{}={:?}", a.entry.key, a.value)))
        .collect();
    keys.sort_by(|a, b| a.1.cmp(&b.1));
    let noun = if keys.len() == 1 {
        "annotation"
    } else {
        "annotations"
    };
    (!keys.is_empty()).then(|| Violation {
        check: "seccompProfile_baseline",
        reason: "seccompProfile",
        detail: format!(
            "forbidden {noun} {}",
            keys.iter()
                .map(|(_, t)| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        fix: "Set the annotation to `runtime/default` or a `localhost/` profile, or remove it.",
        spans: keys.iter().map(|(e, _)| e.value.span).collect(),
    })
}

/// A set `seccompProfile` and whether its type is allowed; the span is
/// the type, or the profile when it has none.
fn seccomp_of(scope: &Scope) -> Option<(bool, String, Span)> {
    let profile = p::seccomp_profile(scope)?;
    let kind = profile.kind.text();
    Some((allowed_seccomp(kind), kind.to_owned(), profile.span()))
}

fn seccomp_profile_baseline(pod: &PodSpec) -> Option<Violation> {
    seccomp_profile(pod, false)
}

fn seccomp_profile_restricted(pod: &PodSpec) -> Option<Violation> {
    seccomp_profile(pod, true)
}

fn seccomp_profile(pod: &PodSpec, required: bool) -> Option<Violation> {
    let (check, fix) = if required {
        (
            "seccompProfile_restricted",
            "Set `securityContext.seccompProfile.type: RuntimeDefault` in the pod (or in each container).",
        )
    } else {
        (
            "seccompProfile_baseline",
            "Use the `RuntimeDefault` or a `Localhost` seccomp profile instead of `Unconfined`.",
        )
    };
    let mut found = Findings::default();
    let mut pod_bad = false;
    let pod_profile = seccomp_of(&Scope::Pod(*pod));
    if let Some((false, kind, span)) = &pod_profile {
        pod_bad = true;
        found.values.insert(kind.clone());
        found.spans.push(*span);
    }
    let pod_set = matches!(pod_profile, Some((true, ..)));
    let mut implicit = Findings::default();
    for container in pod.containers() {
        match seccomp_of(&Scope::Container(container)) {
            Some((false, kind, span)) => {
                found.values.insert(kind);
                found.container(&container, span);
            }
            Some((true, ..)) => {}
            None if required && !pod_set => {
                implicit.container(&container, container.absence_span())
            }
            None => {}
        }
    }
    if !found.is_empty() {
        let detail = format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters(pod_bad, &found.names),
            quote_all(&found.values)
        );
        return found.violation(check, "seccompProfile", detail, fix);
    }
    if let Some(sc) = pod.security_context()
        && !implicit.is_empty()
    {
        // One pod-level setting fixes every container: point there.
        implicit.spans = vec![sc.key_span];
    }
    let detail = format!(
        "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
        containers(&implicit.names)
    );
    implicit.violation(check, "seccompProfile", detail, fix)
}

const SYSCTLS_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const SYSCTLS_1_37: &[&str] = &[
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

/// Whether Pod Security allows a sysctl at a policy minor version.
pub fn safe_sysctl(name: &str, minor: u16) -> bool {
    [
        (0, SYSCTLS_1_0),
        (27, SYSCTLS_1_27),
        (29, SYSCTLS_1_29),
        (32, SYSCTLS_1_32),
        (37, SYSCTLS_1_37),
    ]
    .iter()
    .any(|(since, names)| *since <= minor && names.contains(&name))
}

fn sysctls_1_0(pod: &PodSpec) -> Option<Violation> {
    sysctls(pod, 0)
}
fn sysctls_1_27(pod: &PodSpec) -> Option<Violation> {
    sysctls(pod, 27)
}
fn sysctls_1_29(pod: &PodSpec) -> Option<Violation> {
    sysctls(pod, 29)
}
fn sysctls_1_32(pod: &PodSpec) -> Option<Violation> {
    sysctls(pod, 32)
}
fn sysctls_1_37(pod: &PodSpec) -> Option<Violation> {
    sysctls(pod, 37)
}

fn sysctls(pod: &PodSpec, minor: u16) -> Option<Violation> {
    let mut names = Vec::new();
    let mut spans = Vec::new();
    for sysctl in p::sysctls(pod) {
        let name = sysctl.name();
        if !safe_sysctl(name, minor) {
            names.push(name);
            spans.push(sysctl.span());
        }
    }
    (!spans.is_empty()).then(|| Violation {
        check: "sysctls",
        reason: "forbidden sysctls",
        detail: names.join(", "),
        fix: "Remove the sysctl, or set it on the node; pods may only set the namespaced, isolated ones.",
        spans,
    })
}

fn windows_host_process(pod: &PodSpec) -> Option<Violation> {
    let host_process = |scope: &Scope| {
        let field = p::host_process(scope);
        field.is_true().then(|| field.at()).flatten()
    };
    let mut found = Findings::default();
    let pod_span = host_process(&Scope::Pod(*pod));
    found.spans.extend(pod_span);
    for container in pod.containers() {
        if let Some(span) = host_process(&Scope::Container(container)) {
            found.container(&container, span);
        }
    }
    let detail = format!(
        "{} must not set securityContext.windowsOptions.hostProcess=true",
        setters(pod_span.is_some(), &found.names)
    );
    found.violation(
        "windowsHostProcess",
        "hostProcess",
        detail,
        "Remove `windowsOptions.hostProcess: true`; run node-level work outside the pod.",
    )
}

// ---- restricted ----

fn allow_privilege_escalation(pod: &PodSpec) -> Option<Violation> {
    let mut found = Findings::default();
    for container in pod.containers() {
        let field = p::allow_privilege_escalation(&container);
        match (field.bool(), field.at()) {
            (Some(false), _) => {}
            (Some(true), Some(span)) => found.container(&container, span),
            _ => found.container(&container, container.absence_span()),
        }
    }
    let detail = format!(
        "{} must set securityContext.allowPrivilegeEscalation=false",
        containers(&found.names)
    );
    found.violation(
        "allowPrivilegeEscalation",
        "allowPrivilegeEscalation != false",
        detail,
        "Set `securityContext.allowPrivilegeEscalation: false` in every container.",
    )
}

fn capabilities_restricted(pod: &PodSpec) -> Option<Violation> {
    let mut missing_drop = Findings::default();
    let mut adding = Findings::default();
    for container in pod.containers() {
        let Some(caps) = p::capabilities(&container).object() else {
            let sc = container.security_context();
            let span = sc.map_or_else(|| container.absence_span(), |sc| sc.key_span);
            missing_drop.container(&container, span);
            continue;
        };
        let drops_all = p::dropped_capabilities(&container).any(|c| c.name == "ALL");
        if !drops_all {
            let drop = p::drop_list(&container).written();
            missing_drop.container(&container, drop.map_or(caps.key_span, |d| d.key_span));
        }
        for capability in p::added_capabilities(&container) {
            if capability.name != "NET_BIND_SERVICE" {
                adding.values.insert(capability.name.to_owned());
                adding.container(&container, capability.node.span);
            }
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers(&missing_drop.names)
        ));
    }
    if !adding.is_empty() {
        details.push(format!(
            "{} must not add {} in securityContext.capabilities.add",
            containers(&adding.names),
            quote_all(&adding.values)
        ));
    }
    let mut spans = missing_drop.spans;
    spans.extend(adding.spans);
    (!spans.is_empty()).then(|| Violation {
        check: "capabilities_restricted",
        reason: "unrestricted capabilities",
        detail: details.join("; "),
        fix: "Set `securityContext.capabilities.drop: [\"ALL\"]` in every container and add back at most `NET_BIND_SERVICE`.",
        spans,
    })
}

/// Inline volume sources the restricted level allows.
pub const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Inline volume sources the restricted level forbids.
const RESTRICTED_VOLUMES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn restricted_volumes(pod: &PodSpec) -> Option<Violation> {
    let mut names = Vec::new();
    let mut kinds = BTreeSet::new();
    let mut spans = Vec::new();
    for volume in pod.volumes() {
        let set = |key: &str| p::volume_source(volume, key).set();
        if ALLOWED_VOLUMES.iter().any(|k| set(k).is_some()) {
            continue;
        }
        // No source at all defaults to emptyDir, which is allowed.
        if let Some((kind, entry)) = RESTRICTED_VOLUMES
            .iter()
            .find_map(|k| set(k).map(|e| (*k, e)))
        {
            names.push(p::volume_name(volume));
            kinds.insert(kind);
            spans.push(entry.key_span);
        }
    }
    let noun = if names.len() == 1 {
        "volume"
    } else {
        "volumes"
    };
    (!spans.is_empty()).then(|| Violation {
        check: "restrictedVolumes",
        reason: "restricted volume types",
        detail: format!(
            "{noun} {} {} {}",
            quote_all(&names),
            agree(names.len(), "uses", "use"),
            quote_all(&kinds)
        ),
        fix: "Use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected or secret volumes.",
        spans,
    })
}

fn run_as_non_root(pod: &PodSpec) -> Option<Violation> {
    let pod_field = p::run_as_non_root(&Scope::Pod(*pod));
    let pod_value = pod_field.bool();
    let mut explicit = Findings::default();
    let pod_bad = pod_value == Some(false);
    if pod_bad {
        explicit.spans.extend(pod_field.at());
    }
    let mut implicit = Findings::default();
    for container in pod.containers() {
        let field = p::run_as_non_root(&Scope::Container(container));
        match (field.bool(), field.at()) {
            (Some(false), Some(span)) => explicit.container(&container, span),
            (Some(_), _) => {}
            (None, _) if pod_value != Some(true) => {
                implicit.container(&container, container.absence_span())
            }
            (None, _) => {}
        }
    }
    let fix = "Set `securityContext.runAsNonRoot: true` in the pod (and remove any `runAsNonRoot: false`).";
    if !explicit.is_empty() {
        let detail = format!(
            "{} must not set securityContext.runAsNonRoot=false",
            setters(pod_bad, &explicit.names)
        );
        return explicit.violation("runAsNonRoot", "runAsNonRoot != true", detail, fix);
    }
    if let Some(sc) = pod.security_context()
        && !implicit.is_empty()
    {
        implicit.spans = vec![sc.key_span];
    }
    let detail = format!(
        "pod or {} must set securityContext.runAsNonRoot=true",
        containers(&implicit.names)
    );
    implicit.violation("runAsNonRoot", "runAsNonRoot != true", detail, fix)
}

fn run_as_non_root_unless_user_namespace(pod: &PodSpec) -> Option<Violation> {
    if p::in_user_namespace(pod) {
        return None;
    }
    run_as_non_root(pod)
}

fn run_as_user(pod: &PodSpec) -> Option<Violation> {
    let root = |scope: &Scope| {
        let field = p::run_as_user(scope);
        (field.int() == Some(0)).then(|| field.at()).flatten()
    };
    let mut found = Findings::default();
    let pod_span = root(&Scope::Pod(*pod));
    found.spans.extend(pod_span);
    for container in pod.containers() {
        if let Some(span) = root(&Scope::Container(container)) {
            found.container(&container, span);
        }
    }
    let detail = format!(
        "{} must not set runAsUser=0",
        setters(pod_span.is_some(), &found.names)
    );
    found.violation(
        "runAsUser",
        "runAsUser=0",
        detail,
        "Set `runAsUser` to a non-zero user id (or remove it and build the image with a non-root USER).",
    )
}

fn run_as_user_unless_user_namespace(pod: &PodSpec) -> Option<Violation> {
    if p::in_user_namespace(pod) {
        return None;
    }
    run_as_user(pod)
}
