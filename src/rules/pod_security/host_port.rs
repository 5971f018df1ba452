//! `host-port`: see rules/host-port.md
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(HostPort, "host-port");

impl Rule for HostPort {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod.containers() {
            for port in p::host_ports(&container) {
                // A set hostPort of the wrong type (`"8080"`) still asks for
                // a host port, so it is reported; Pod Security, like the API
                // server's decoder, cannot read it as one.
                if port.int() == Some(0) {
                    continue;
                }
                let Some(span) = port.at() else { continue };
                cx.report(span, format!("{} binds a port on the node", container.describe()))
                    .help("Remove hostPort and expose the port through a Service; a host port bypasses NetworkPolicy on many CNIs and pins the pod to nodes where the port is free.")
                    .container(&container);
            }
        }
    }
}
