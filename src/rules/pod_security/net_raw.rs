//! `net-raw`: see rules/net-raw.md
use super::helpers::{capability, drop_span, drops, hardening_fix, linux_pod};
use crate::diagnostic::{Cause, Hardening, Severity};
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(NetRaw, "net-raw");

impl Rule for NetRaw {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = linux_pod(object) else { return };
        for container in pod.containers() {
            let added_raw: Vec<_> = p::added_capabilities(&container)
                .filter(|c| capability(c.name) == "NET_RAW")
                .collect();
            for added in &added_raw {
                cx.report(added.node.span, format!("{} adds NET_RAW", container.describe()))
                    .label("raw sockets: spoofed packets and ARP/DNS attacks on the pod network")
                    .help("Remove NET_RAW from capabilities.add; ping and similar tools work without it on current kernels.")
                    .severity(Severity::Error)
                    .container(&container);
            }
            if added_raw.is_empty() && !drops(&container, "NET_RAW") {
                let fix = hardening_fix(cx, &container, Hardening::DropNetRaw);
                cx.report(
                    drop_span(&container),
                    format!(
                        "{} keeps NET_RAW, which container runtimes grant by default",
                        container.describe()
                    ),
                )
                .help("Add `ALL` (or at least `NET_RAW`) to securityContext.capabilities.drop.")
                .cause(Cause::Unhardened {
                    setting: Hardening::DropNetRaw,
                    container: container.describe(),
                })
                .container(&container)
                .fix(fix);
            }
        }
    }
}
