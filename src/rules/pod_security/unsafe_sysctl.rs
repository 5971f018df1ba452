//! `unsafe-sysctl`: see rules/unsafe-sysctl.md
use crate::k8s::Manifest;
use crate::pss::{self, NEWEST_MINOR};
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(UnsafeSysctl, "unsafe-sysctl");

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
            // The safe set of the newest Pod Security version.
            if pss::safe_sysctl(&text.replace('/', "."), NEWEST_MINOR) {
                continue;
            }
            cx.report(name.value.span, format!("pod sets the unsafe sysctl {text:?}"))
                .help("Remove the sysctl; kernel settings outside the safe set can affect other pods on the node.");
        }
    }
}
