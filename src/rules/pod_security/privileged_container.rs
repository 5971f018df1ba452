//! `privileged-container`: see rules/privileged-container.md
use super::helpers::is_true;
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(PrivilegedContainer, "privileged-container");

impl Rule for PrivilegedContainer {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod.containers() {
            let entry = container.security(&["privileged"]);
            if let (true, Some(entry)) = (is_true(entry), entry) {
                cx.report(entry.value.span, format!("{} runs privileged", container.describe()))
                    .label("privileged: every capability and every device of the node")
                    .help("Remove `privileged: true`; add back only the capabilities the container needs.")
                    .container(&container);
            }
        }
    }
}
