//! `unsafe-sysctl`: see rules/unsafe-sysctl.md
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::pss::{self, NEWEST_MINOR};
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(UnsafeSysctl, "unsafe-sysctl");

impl Rule for UnsafeSysctl {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for sysctl in p::sysctls(pod) {
            // A sysctl with no name (or a null one) is the sysctl "" to the
            // API server, as Pod Security reads it.
            let text = sysctl.name();
            // The kubelet accepts `/` as a separator too.
            // The safe set of the newest Pod Security version.
            if pss::safe_sysctl(&text.replace('/', "."), NEWEST_MINOR) {
                continue;
            }
            // At the name's value; a nameless sysctl at its list item.
            let span = sysctl
                .name
                .written()
                .map_or(sysctl.node.span, |e| e.value.span);
            cx.report(span, format!("pod sets the unsafe sysctl {text:?}"))
                .help("Remove the sysctl; kernel settings outside the safe set can affect other pods on the node.");
        }
    }
}
