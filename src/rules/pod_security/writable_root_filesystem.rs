//! `writable-root-filesystem`: see rules/writable-root-filesystem.md
use super::helpers::{hardening_fix, linux_pod};
use crate::diagnostic::{Cause, Hardening};
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
            let fix = hardening_fix(cx, &container, Hardening::ReadOnlyRoot);
            let span = entry.map_or_else(|| container.absence_span(), |e| e.value.span);
            let report = cx.report(span, format!("{} has a writable root filesystem", container.describe()))
                .help("Set `readOnlyRootFilesystem: true` and mount an emptyDir where the application must write.")
                .container(&container);
            // `readOnlyRootFilesystem: false` is a choice, its own finding;
            // unset is one of the container's missing settings.
            if entry.is_none_or(|e| e.value.as_bool().is_none()) {
                report
                    .cause(Cause::Unhardened {
                        setting: Hardening::ReadOnlyRoot,
                        container: container.describe(),
                    })
                    .fix(fix);
            }
        }
    }
}
