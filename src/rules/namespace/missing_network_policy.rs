//! `missing-network-policy`: see rules/missing-network-policy.md
use crate::index::ClusterView;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(MissingNetworkPolicy, "missing-network-policy");

impl Rule for MissingNetworkPolicy {
    crate::rule_identity!();

    fn check_run(&self, cluster: &ClusterView, cx: &mut RuleContext) {
        for &workload in cluster.workloads() {
            // NetworkPolicy does not apply to pods on the node's network.
            if workload.host_network {
                continue;
            }
            let namespace = workload.object.namespace.as_deref();
            let isolated = cluster
                .network_policies_in(namespace)
                .any(|policy| policy.pod_selector.matches(&workload.pod_labels));
            if isolated {
                continue;
            }
            let pods = workload.pods();
            let (them, they) = if workload.object.kind == "Pod" {
                ("it", "it")
            } else {
                ("them", "they")
            };
            let place = namespace.map_or_else(
                || "in the same namespace".to_owned(),
                |ns| format!("in namespace {ns:?}"),
            );
            let object = Some((workload.slot, workload.object.clone()));
            cx.report_at(
                workload.file,
                workload.pod_labels_span,
                format!("no NetworkPolicy selects {pods}, so every pod in the cluster can reach {them} and {they} can reach anything"),
                object,
            )
            .help(format!("Add a NetworkPolicy {place} whose podSelector matches these labels; a default-deny policy with `podSelector: {{}}` covers the whole namespace."));
        }
    }
}
