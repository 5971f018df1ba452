//! `automount-service-account-token`: see rules/automount-service-account-token.md
use crate::diagnostic::{Applicability, Effect, Fix};
use crate::index::ClusterView;
use crate::rbac::names_workload;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(
    AutomountServiceAccountToken,
    "automount-service-account-token"
);

impl Rule for AutomountServiceAccountToken {
    crate::rule_identity!();

    fn check_run(&self, cluster: &ClusterView, cx: &mut RuleContext) {
        for &workload in cluster.workloads() {
            let span = match workload.automount {
                Some((false, _)) => continue,
                Some((true, span)) => span,
                None => {
                    if cluster
                        .service_account_of(workload)
                        .is_some_and(|sa| sa.automount == Some(false))
                    {
                        continue;
                    }
                    workload
                        .service_account_span
                        .unwrap_or(workload.pod_spec_span)
                }
            };
            let object = Some((workload.slot, workload.object.clone()));
            // Without a binding the token grants nothing kslint can see the
            // pod use; with one, the pod may call the API with it.
            let fix = workload.automount_insertion.map(|insertion| {
                let bound = cluster
                    .bindings_for_account(
                        &workload.service_account,
                        workload.object.namespace.as_deref(),
                    )
                    .iter()
                    .any(|binding| {
                        binding
                            .subjects
                            .iter()
                            .any(|subject| names_workload(binding, subject, workload))
                    });
                Fix {
                    applicability: if bound {
                        Applicability::Unsafe
                    } else {
                        Applicability::Safe
                    },
                    effect: Effect::Adds,
                    title: "add `automountServiceAccountToken: false` to the pod spec".to_owned(),
                    edits: vec![insertion.edit(
                        workload.file,
                        &["automountServiceAccountToken"],
                        "false",
                    )],
                }
            });
            cx.report_at(workload.file, span, format!("pod mounts a token for the service account {:?}", workload.service_account), object)
                .help("Set `automountServiceAccountToken: false` in the pod spec (or on the ServiceAccount) unless the pod calls the Kubernetes API.")
                .fix(fix);
        }
    }
}
