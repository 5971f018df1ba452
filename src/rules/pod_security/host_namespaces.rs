//! `host-network`, `host-pid`, `host-ipc`: see their files in rules/.
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(HostNetwork, "host-network");
crate::declare_rule!(HostPid, "host-pid");
crate::declare_rule!(HostIpc, "host-ipc");

fn check_host_field(object: &Manifest, cx: &mut RuleContext, field: &str, what: &str, help: &str) {
    let Some(pod) = &object.pod else { return };
    let shared = p::host_namespace(pod, field);
    if shared.is_true()
        && let Some(span) = shared.at()
    {
        cx.report(span, format!("pod shares the node's {what}"))
            .help(help.to_owned());
    }
}

impl Rule for HostNetwork {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        check_host_field(
            object,
            cx,
            "hostNetwork",
            "network namespace",
            "Remove `hostNetwork: true`; expose ports with a Service instead.",
        );
    }
}

impl Rule for HostPid {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        check_host_field(
            object,
            cx,
            "hostPID",
            "process namespace",
            "Remove `hostPID: true`; the pod can then only see its own processes.",
        );
    }
}

impl Rule for HostIpc {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        check_host_field(
            object,
            cx,
            "hostIPC",
            "IPC namespace",
            "Remove `hostIPC: true`; share memory between containers of the pod with an emptyDir volume.",
        );
    }
}
