//! `host-path`: see rules/host-path.md
use crate::diagnostic::Severity;
use crate::k8s::Manifest;
use crate::k8s::node_access::host_path_risk;
use crate::registry::{Rule, RuleContext};
use crate::yaml::Node;

crate::declare_rule!(HostPath, "host-path");

impl Rule for HostPath {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for volume in pod.volumes() {
            // `hostPath: null` is no hostPath volume: the API server
            // decodes it as absent, as Pod Security does.
            let Some(host_path) = volume.entry("hostPath").filter(|e| !e.value.is_null()) else {
                continue;
            };
            let name = volume.get("name").and_then(Node::as_str).unwrap_or("");
            let path_entry = host_path.value.entry("path");
            let span = path_entry.map_or(host_path.key_span, |e| e.value.span);
            let path = path_entry.and_then(|e| e.value.as_str()).unwrap_or("");
            match host_path_risk(path) {
                Some(risk) => {
                    cx.report(span, format!("volume {name:?} mounts the host path {path:?}"))
                        .label(risk.describe())
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
