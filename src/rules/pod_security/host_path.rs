//! `host-path`: see rules/host-path.md
use crate::diagnostic::Severity;
use crate::k8s::Manifest;
use crate::k8s::node_access::host_path_risk;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(HostPath, "host-path");

impl Rule for HostPath {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        // Only set hostPath volumes: `hostPath: null` is none, as the API
        // server and Pod Security read it.
        for volume in p::host_path_volumes(pod) {
            let name = volume.name();
            let span = volume
                .path
                .written()
                .map_or(volume.entry.key_span, |e| e.value.span);
            let path = volume.path.text();
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
