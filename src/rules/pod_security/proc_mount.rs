//! `proc-mount`: see rules/proc-mount.md
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(ProcMount, "proc-mount");

impl Rule for ProcMount {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod.containers() {
            let Some(entry) = container.security(&["procMount"]) else {
                continue;
            };
            if entry.value.is_null() || entry.value.as_str() == Some("Default") {
                continue;
            }
            cx.report(entry.value.span, format!("{} unmasks /proc", container.describe()))
                .help("Remove procMount or set it to Default, so the kernel paths under /proc stay masked.")
                .container(&container);
        }
    }
}
