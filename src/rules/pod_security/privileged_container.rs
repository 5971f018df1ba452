//! `privileged-container`: see rules/privileged-container.md
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(PrivilegedContainer, "privileged-container");

impl Rule for PrivilegedContainer {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod.containers() {
            let privileged = p::privileged(&container);
            if privileged.is_true()
                && let Some(span) = privileged.at()
            {
                cx.report(span, format!("{} runs privileged", container.describe()))
                    .label("privileged: every capability and every device of the node")
                    .help("Remove `privileged: true`; add back only the capabilities the container needs.")
                    .container(&container);
            }
        }
    }
}
