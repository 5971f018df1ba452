//! `unsafe-sysctl`: see rules/unsafe-sysctl.md
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(UnsafeSysctl, "unsafe-sysctl");

/// The Pod Security Standards' safe set.
const SAFE: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

impl Rule for UnsafeSysctl {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        let sysctls = pod
            .security(&["sysctls"])
            .and_then(|e| e.value.as_seq())
            .unwrap_or_default();
        for sysctl in sysctls {
            let Some(name) = sysctl.entry("name") else {
                continue;
            };
            let text = name.value.as_str().unwrap_or_default();
            // The kubelet accepts `/` as a separator too.
            if SAFE.contains(&text.replace('/', ".").as_str()) {
                continue;
            }
            cx.report(name.value.span, format!("pod sets the unsafe sysctl {text:?}"))
                .help("Remove the sysctl; kernel settings outside the safe set can affect other pods on the node.");
        }
    }
}
