//! `writable-root-filesystem`: see rules/writable-root-filesystem.md
use super::helpers::linux_pod;
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(WritableRootFilesystem, "writable-root-filesystem");

impl Rule for WritableRootFilesystem {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = linux_pod(object) else { return };
        for container in pod.containers() {
            let entry = container.security(&["readOnlyRootFilesystem"]);
            if entry.and_then(|e| e.value.as_bool()) == Some(true) {
                continue;
            }
            let span = entry.map_or_else(|| container.absence_span(), |e| e.value.span);
            cx.report(span, format!("{} has a writable root filesystem", container.describe()))
                .help("Set `readOnlyRootFilesystem: true` and mount an emptyDir where the application must write.")
                .container(&container);
        }
    }
}
