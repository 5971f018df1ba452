//! `proc-mount`: see rules/proc-mount.md
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(ProcMount, "proc-mount");

impl Rule for ProcMount {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod.containers() {
            let proc_mount = p::proc_mount(&container);
            // A set value of the wrong type is not `Default` either.
            let Some(entry) = proc_mount.set() else {
                continue;
            };
            if proc_mount.str() == Some("Default") {
                continue;
            }
            cx.report(entry.value.span, format!("{} unmasks /proc", container.describe()))
                .help("Remove procMount or set it to Default, so the kernel paths under /proc stay masked.")
                .container(&container);
        }
    }
}
