//! `capabilities-not-dropped`: see rules/capabilities-not-dropped.md
use super::helpers::{drop_span, drops, hardening_fix, linux_pod};
use crate::diagnostic::{Cause, Hardening};
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(CapabilitiesNotDropped, "capabilities-not-dropped");

impl Rule for CapabilitiesNotDropped {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = linux_pod(object) else { return };
        for container in pod.containers() {
            if !drops(&container, "ALL") {
                let fix = hardening_fix(cx, &container, Hardening::DropAll);
                cx.report(drop_span(&container), format!("{} does not drop all capabilities", container.describe()))
                    .help("Add `ALL` to securityContext.capabilities.drop, then add back only the capabilities the container needs.")
                    .cause(Cause::Unhardened { setting: Hardening::DropAll, container: container.describe() })
                    .container(&container)
                    .fix(fix);
            }
        }
    }
}
