//! `resource-limits-missing`: see rules/resource-limits-missing.md
use crate::k8s::{ContainerKind, Manifest};
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(ResourceLimitsMissing, "resource-limits-missing");

impl Rule for ResourceLimitsMissing {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod
            .containers()
            .filter(|c| c.kind == ContainerKind::Regular)
        {
            let resources = container.node.entry("resources");
            let limits = resources.and_then(|r| r.value.entry("limits"));
            if limits
                .and_then(|l| l.value.get("memory"))
                .is_some_and(|m| !m.is_null())
            {
                continue;
            }
            let span = limits
                .or(resources)
                .map_or_else(|| container.name_span(), |e| e.key_span);
            cx.report(span, format!("{} has no memory limit", container.describe()))
                .help("Set resources.limits.memory, so one pod cannot exhaust its node's memory and evict its neighbours.")
                .container(&container);
        }
    }
}
