//! `host-port`: see rules/host-port.md
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};
use crate::yaml::Node;

crate::declare_rule!(HostPort, "host-port");

impl Rule for HostPort {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod.containers() {
            for port in container
                .node
                .get("ports")
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                let Some(entry) = port.entry("hostPort") else {
                    continue;
                };
                if matches!(entry.value.as_i64(), Some(0)) || entry.value.is_null() {
                    continue;
                }
                cx.report(entry.value.span, format!("{} binds a port on the node", container.describe()))
                    .help("Remove hostPort and expose the port through a Service; a host port bypasses NetworkPolicy on many CNIs and pins the pod to nodes where the port is free.")
                    .container(&container);
            }
        }
    }
}
