//! What in a pod spec reaches into its node: sensitive host paths, and the
//! settings that let whoever controls the pod take over the node (and with
//! it every pod on the node, in every namespace).

use super::PodSpec;
use crate::diagnostic::{Diagnostic, Label};
use crate::source::FileId;
use crate::yaml::Span;

/// Why a host path matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPathRisk {
    /// `/`.
    RootFilesystem,
    /// A container runtime socket, or the folder that holds it.
    RuntimeSocket,
    /// A node system folder (`/etc`, `/var/lib/kubelet`, ...).
    SystemFolder,
}

impl HostPathRisk {
    /// A label for the path.
    pub fn describe(self) -> &'static str {
        match self {
            HostPathRisk::RootFilesystem => "the node's root filesystem",
            HostPathRisk::RuntimeSocket => {
                "a container runtime socket: whoever holds it starts privileged containers on the node"
            }
            HostPathRisk::SystemFolder => "a node system folder",
        }
    }
}

/// Folders whose contents give control of the node, or its secrets.
const SYSTEM_FOLDERS: &[&str] = &[
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
];
/// Folders that hold a container runtime's socket.
const RUNTIME_FOLDERS: &[&str] = &[
    "/run/containerd",
    "/run/crio",
    "/run/docker",
    "/run/cri-dockerd",
    "/var/run/containerd",
    "/var/run/crio",
    "/var/run/docker",
    "/var/run/cri-dockerd",
];
const RUNTIME_SOCKETS: &[&str] = &[
    "docker.sock",
    "containerd.sock",
    "crio.sock",
    "cri-dockerd.sock",
];

/// Why a host path is sensitive, if it is.
pub fn host_path_risk(path: &str) -> Option<HostPathRisk> {
    let mut normal = String::with_capacity(path.len());
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        normal.push('/');
        normal.push_str(part);
    }
    if normal.is_empty() {
        return Some(HostPathRisk::RootFilesystem);
    }
    let file = normal.rsplit('/').next().unwrap_or_default();
    let under = |dir: &&str| {
        normal == *dir
            || normal
                .strip_prefix(*dir)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    if RUNTIME_SOCKETS.contains(&file)
        || normal == "/run"
        || normal == "/var/run"
        || RUNTIME_FOLDERS.iter().any(under)
    {
        return Some(HostPathRisk::RuntimeSocket);
    }
    SYSTEM_FOLDERS
        .iter()
        .any(under)
        .then_some(HostPathRisk::SystemFolder)
}

/// How a pod can take over its node, and where that is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEscape {
    /// `container "web" is privileged`.
    pub how: String,
    /// The setting that allows it.
    pub span: Span,
}

impl NodeEscape {
    /// Says on a finding about this pod that it can take over its node, so
    /// no namespace boundary limits the damage (and, unless the finding is
    /// at the escaping setting itself, labels that setting).
    pub fn explain(&self, diagnostic: &mut Diagnostic, file: FileId) {
        let at_escape = diagnostic.primary.file == file && diagnostic.primary.span == self.span;
        let how = if at_escape {
            String::new()
        } else {
            format!("{}, so ", self.how)
        };
        diagnostic.message.push_str(&format!(
            "; namespaces are no boundary here: {how}whoever controls this pod controls every pod on its node, in every namespace"
        ));
        if !at_escape {
            diagnostic.related.push(Label {
                file,
                span: self.span,
                message: "this lets the pod take over its node".to_owned(),
            });
        }
    }
}

/// The first way this pod can break out to its node, if any: a privileged
/// container, SYS_ADMIN, a Windows HostProcess container, the runtime
/// socket or `/` mounted from the host, or the host's PID namespace with a
/// host path to reach processes' files through.
pub fn node_escape(pod: &PodSpec) -> Option<NodeEscape> {
    use super::predicates as p;
    for container in pod.containers() {
        let privileged = p::privileged(&container);
        if privileged.is_true() {
            return Some(NodeEscape {
                how: format!("{} is privileged", container.describe()),
                span: privileged.at()?,
            });
        }
        for added in p::added_capabilities(&container) {
            let name = added.name.trim().to_ascii_uppercase();
            if matches!(name.as_str(), "SYS_ADMIN" | "CAP_SYS_ADMIN" | "ALL") {
                return Some(NodeEscape {
                    how: format!("{} adds {name}", container.describe()),
                    span: added.node.span,
                });
            }
        }
        let (host_process, _) = p::effective(&container, p::host_process);
        if host_process.is_true() {
            return Some(NodeEscape {
                how: format!(
                    "{} runs as a Windows HostProcess container",
                    container.describe()
                ),
                span: host_process.at()?,
            });
        }
    }
    let mut first_host_path = None;
    for volume in p::host_path_volumes(pod) {
        let span = volume
            .path
            .written()
            .map_or(volume.entry.key_span, |p| p.value.span);
        first_host_path.get_or_insert(span);
        let how = match volume.path.str().and_then(host_path_risk) {
            Some(HostPathRisk::RootFilesystem) => "the node's root filesystem",
            Some(HostPathRisk::RuntimeSocket) => "the container runtime socket",
            _ => continue,
        };
        return Some(NodeEscape {
            how: format!("volume {:?} mounts {how}", volume.name()),
            span,
        });
    }
    let host_pid = p::host_namespace(pod, "hostPID");
    if host_pid.is_true() && first_host_path.is_some() {
        return Some(NodeEscape {
            how: "the pod shares the node's process namespace and mounts a host path".to_owned(),
            span: host_pid.at()?,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::objects;
    use crate::source::FileId;
    use crate::yaml::{Limits, parse_stream};

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
            assert!(host_path_risk(path).is_some(), "{path}");
        }
        for path in [
            "/data",
            "/etcd",
            "/var/log",
            "/opt/app",
            "/var/lib/app",
            "/home2",
        ] {
            assert!(host_path_risk(path).is_none(), "{path}");
        }
    }

    fn escape(spec: &str) -> Option<String> {
        let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}");
        let stream = parse_stream(&text, Limits::default());
        let objects = objects(FileId(0), &stream.documents, &[]);
        node_escape(objects[0].pod.as_ref().unwrap()).map(|e| e.how)
    }

    #[test]
    fn escapes() {
        let c = "  containers:\n  - name: c\n    securityContext:\n";
        assert_eq!(
            escape(&format!("{c}      privileged: true\n")).as_deref(),
            Some("container \"c\" is privileged")
        );
        assert!(escape(&format!("{c}      privileged: false\n")).is_none());
        assert!(
            escape(&format!(
                "{c}      capabilities: {{add: [CAP_SYS_ADMIN]}}\n"
            ))
            .is_some()
        );
        assert!(escape(&format!("{c}      capabilities: {{add: [NET_ADMIN]}}\n")).is_none());
        let socket = "  containers: [{name: c}]\n  volumes:\n  - name: s\n    hostPath: {path: /var/run/docker.sock}\n";
        assert!(escape(socket).unwrap().contains("runtime socket"));
        let folder = "  containers: [{name: c}]\n  volumes: [{name: s, hostPath: {path: /run/containerd}}]\n";
        assert!(escape(folder).unwrap().contains("runtime socket"));
        let root = "  containers: [{name: c}]\n  volumes: [{name: r, hostPath: {path: /}}]\n";
        assert!(escape(root).unwrap().contains("root filesystem"));
        let logs =
            "  containers: [{name: c}]\n  volumes: [{name: l, hostPath: {path: /var/log}}]\n";
        assert!(escape(logs).is_none());
        assert!(escape(&format!("  hostPID: true\n{logs}")).is_some());
        assert!(escape("  hostPID: true\n  containers: [{name: c}]\n").is_none());
    }
}
