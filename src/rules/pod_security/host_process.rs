//! `host-process`: see rules/host-process.md
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(HostProcess, "host-process");

const HELP: &str = "Remove `hostProcess: true`; HostProcess containers run directly on the Windows node with its full access.";

impl Rule for HostProcess {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for scope in p::scopes(pod) {
            let host_process = p::host_process(&scope);
            let Some(span) = host_process.at().filter(|_| host_process.is_true()) else {
                continue;
            };
            match scope.container() {
                None => {
                    cx.report(span, "pod runs as a Windows HostProcess on the node")
                        .help(HELP);
                }
                Some(container) => {
                    cx.report(
                        span,
                        format!(
                            "{} runs as a Windows HostProcess on the node",
                            container.describe()
                        ),
                    )
                    .help(HELP)
                    .container(container);
                }
            }
        }
    }
}
