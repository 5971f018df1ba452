//! `host-path`: see rules/host-path.md
use crate::diagnostic::Severity;
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};
use crate::yaml::Node;

crate::declare_rule!(HostPath, "host-path");

/// Folders whose contents give control of the node, or its secrets.
const SENSITIVE: &[&str] = &[
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/home",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/etc/kubernetes",
    "/run/containerd",
    "/run/crio",
    "/run/docker",
    "/run/cri-dockerd",
    "/var/run/containerd",
    "/var/run/crio",
    "/var/run/docker",
    "/var/run/cri-dockerd",
];
const SOCKETS: &[&str] = &[
    "docker.sock",
    "containerd.sock",
    "crio.sock",
    "cri-dockerd.sock",
];

/// Why a host path is sensitive, if it is.
fn sensitive(path: &str) -> Option<&'static str> {
    let mut normal = String::with_capacity(path.len());
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        normal.push('/');
        normal.push_str(part);
    }
    if normal.is_empty() {
        return Some("the node's root filesystem");
    }
    let file = normal.rsplit('/').next().unwrap_or_default();
    if SOCKETS.contains(&file) || normal == "/run" || normal == "/var/run" {
        return Some(
            "a container runtime socket: whoever holds it starts privileged containers on the node",
        );
    }
    SENSITIVE
        .iter()
        .any(|dir| {
            normal == *dir
                || normal
                    .strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .then_some("a node system folder")
}

impl Rule for HostPath {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for volume in pod.volumes() {
            let Some(host_path) = volume.entry("hostPath") else {
                continue;
            };
            let name = volume.get("name").and_then(Node::as_str).unwrap_or("");
            let path_entry = host_path.value.entry("path");
            let span = path_entry.map_or(host_path.key_span, |e| e.value.span);
            let path = path_entry.and_then(|e| e.value.as_str()).unwrap_or("");
            match sensitive(path) {
                Some(why) => {
                    cx.report(span, format!("volume {name:?} mounts the host path {path:?}"))
                        .label(why)
                        .help("Remove the hostPath volume; use a ConfigMap, Secret, emptyDir or PersistentVolumeClaim, or a CSI driver for node access.")
                        .severity(Severity::Error);
                }
                None => {
                    cx.report(span, format!("volume {name:?} mounts the host path {path:?}"))
                        .help("Replace the hostPath volume with an emptyDir, PersistentVolumeClaim or CSI volume; if it must stay, mount it readOnly.");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sensitive;

    #[test]
    fn sensitive_paths() {
        for path in [
            "/",
            "//",
            "/etc",
            "/etc/",
            "/etc/ssl",
            "/var/run/docker.sock",
            "/run/containerd/containerd.sock",
            "/var/lib/kubelet/pods",
            "/proc/1",
            "/run",
        ] {
            assert!(sensitive(path).is_some(), "{path}");
        }
        for path in [
            "/data",
            "/etcd",
            "/var/log",
            "/opt/app",
            "/var/lib/app",
            "/home2",
        ] {
            assert!(sensitive(path).is_none(), "{path}");
        }
    }
}
