//! `host-process`: see rules/host-process.md
use super::helpers::is_true;
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(HostProcess, "host-process");

const HELP: &str = "Remove `hostProcess: true`; HostProcess containers run directly on the Windows node with its full access.";

impl Rule for HostProcess {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        let pod_level = pod.security(&["windowsOptions", "hostProcess"]);
        if let (true, Some(entry)) = (is_true(pod_level), pod_level) {
            cx.report(
                entry.value.span,
                "pod runs as a Windows HostProcess on the node",
            )
            .help(HELP);
        }
        for container in pod.containers() {
            let entry = container.security(&["windowsOptions", "hostProcess"]);
            if let (true, Some(entry)) = (is_true(entry), entry) {
                cx.report(
                    entry.value.span,
                    format!(
                        "{} runs as a Windows HostProcess on the node",
                        container.describe()
                    ),
                )
                .help(HELP)
                .container(&container);
            }
        }
    }
}
