//! `dangerous-capability`: see rules/dangerous-capability.md
use super::helpers::capability;
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
// The Pod Security Standards baseline allow-list.
use crate::pss::BASELINE_CAPABILITIES as BASELINE;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(DangerousCapability, "dangerous-capability");

impl Rule for DangerousCapability {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod.containers() {
            // A null item is the name "", as Go decodes it: not on the list.
            for added in p::added_capabilities(&container) {
                let name = capability(added.name);
                if name == "NET_RAW" || BASELINE.contains(&name.as_str()) {
                    continue;
                }
                cx.report(added.node.span, format!("{} adds the capability {name}", container.describe()))
                    .label(if name == "ALL" { "every capability: as good as privileged" } else { "outside the Pod Security baseline" })
                    .help(format!("Remove {name} from capabilities.add; if the workload truly needs it, run it in an isolated namespace and suppress this finding with a reason."))
                    .container(&container);
            }
        }
    }
}
