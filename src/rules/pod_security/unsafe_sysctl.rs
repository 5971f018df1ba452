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
            if sysctl.as_map().is_none() {
                continue;
            }
            // A sysctl with no name (or a null one) is the sysctl "" to the
            // API server, as Pod Security reads it: report it at the item.
            let name = sysctl.entry("name");
            let text = name.and_then(|e| e.value.as_str()).unwrap_or_default();
            // The kubelet accepts `/` as a separator too.
            // The safe set of the newest Pod Security version.
            if pss::safe_sysctl(&text.replace('/', "."), NEWEST_MINOR) {
                continue;
            }
            let span = name.map_or(sysctl.span, |e| e.value.span);
            cx.report(span, format!("pod sets the unsafe sysctl {text:?}"))
                .help("Remove the sysctl; kernel settings outside the safe set can affect other pods on the node.");
        }
    }
}
