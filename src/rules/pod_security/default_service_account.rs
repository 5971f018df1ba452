//! `default-service-account`: see rules/default-service-account.md
use crate::index::ClusterView;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(DefaultServiceAccount, "default-service-account");

impl Rule for DefaultServiceAccount {
    crate::rule_identity!();

    fn check_run(&self, cluster: &ClusterView, cx: &mut RuleContext) {
        for &workload in cluster
            .workloads()
            .iter()
            .filter(|w| w.service_account == "default")
        {
            let object = Some((workload.slot, workload.object.clone()));
            cx.report_at(workload.file, workload.service_account_span.unwrap_or(workload.pod_spec_span), "pod runs as the namespace's default service account", object)
                .help("Create a ServiceAccount for this workload and set serviceAccountName; every pod in the namespace shares the default one and its permissions.");
        }
    }
}
