//! The per-binding rules: whom a binding grants a role to.
use crate::k8s::Manifest;
use crate::rbac::BindingFact;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(RbacClusterAdminBinding, "rbac-cluster-admin-binding");
crate::declare_rule!(RbacSystemGroupBinding, "rbac-system-group-binding");
crate::declare_rule!(RbacDefaultSaBinding, "rbac-default-sa-binding");

/// Where a binding's grant applies.
fn scope(binding: &BindingFact) -> String {
    match (&binding.object.namespace, binding.cluster) {
        (_, true) => "in every namespace".to_owned(),
        (Some(ns), false) => format!("in namespace {ns:?}"),
        (None, false) => "in the namespace it is applied to".to_owned(),
    }
}

impl Rule for RbacClusterAdminBinding {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(binding) = BindingFact::from_manifest(object) else {
            return;
        };
        if binding.role_kind != "ClusterRole" || binding.role_name != "cluster-admin" {
            return;
        }
        cx.report(binding.role_name_span, format!("this binding grants cluster-admin: its subjects can do anything {}", scope(&binding)))
            .help("Bind a role with only the permissions the subjects need; keep cluster-admin for break-glass accounts outside the manifests.");
    }
}

/// Groups (and the anonymous user) that mean "everyone".
fn everyone(name: &str) -> Option<&'static str> {
    match name {
        "system:anonymous" => Some("every request without credentials"),
        "system:unauthenticated" => Some("every request without credentials"),
        "system:authenticated" => Some("every user and every service account of the cluster"),
        _ => None,
    }
}

impl Rule for RbacSystemGroupBinding {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(binding) = BindingFact::from_manifest(object) else {
            return;
        };
        for subject in &binding.subjects {
            let Some(who) = everyone(&subject.name) else {
                continue;
            };
            cx.report(
                subject.name_span,
                format!(
                    "this binding grants the {} {:?} to {}: {who}",
                    binding.role_kind, binding.role_name, subject.name
                ),
            )
            .help("Bind the role to the specific users, groups or service accounts that need it.");
        }
    }
}

impl Rule for RbacDefaultSaBinding {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(binding) = BindingFact::from_manifest(object) else {
            return;
        };
        for subject in &binding.subjects {
            if subject.kind != "ServiceAccount" || subject.name != "default" {
                continue;
            }
            let namespace = binding.subject_namespace(subject).map_or_else(
                || "its namespace".to_owned(),
                |ns| format!("namespace {ns:?}"),
            );
            cx.report(
                subject.name_span,
                format!(
                    "this binding grants the {} {:?} to the default ServiceAccount of {namespace}: every pod there that names no service account gets it",
                    binding.role_kind, binding.role_name
                ),
            )
            .help("Create a ServiceAccount for the workload that needs the role, bind the role to it, and set `serviceAccountName` in that workload.");
        }
    }
}
