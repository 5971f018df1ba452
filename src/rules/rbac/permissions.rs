//! The per-role permission rules: each reports the rule items of a Role or
//! ClusterRole that grant one kind of dangerous permission.
use crate::diagnostic::Cause;
use crate::k8s::Manifest;
use crate::rbac::RoleFact;
use crate::rbac::authorize::{Danger, dangers};
use crate::registry::{Rule, RuleContext};

/// Reports every rule item of a role that grants `danger`.
fn report(object: &Manifest, cx: &mut RuleContext, danger: Danger, help: &str) {
    let Some(role) = RoleFact::from_manifest(object) else {
        return;
    };
    let holder = if role.cluster {
        "whoever it is bound to"
    } else {
        "whoever it is bound to in its namespace"
    };
    for (item, rule) in role.rules.iter().enumerate() {
        for hit in dangers(rule, !role.cluster)
            .into_iter()
            .filter(|h| h.danger == danger)
        {
            cx.report(
                hit.span,
                format!(
                    "this role allows `{}`: {holder} can {}",
                    hit.what,
                    danger.consequence()
                ),
            )
            .help(help)
            .cause(Cause::RoleRule {
                item: item as u32,
                holder,
                grant: format!("`{}`", hit.what),
                consequence: danger.consequence().to_owned(),
                wildcard: false,
            });
        }
    }
}

macro_rules! permission_rule {
    ($name:ident, $id:literal, $danger:expr, $help:literal) => {
        crate::declare_rule!($name, $id);

        impl Rule for $name {
            crate::rule_identity!();

            fn check(&self, object: &Manifest, cx: &mut RuleContext) {
                report(object, cx, $danger, $help);
            }
        }
    };
}

permission_rule!(
    RbacCreatePods,
    "rbac-create-pods",
    Danger::CreatePods,
    "Remove `create` on pods and pod-creating workloads unless this role is for a deployment tool; bind such roles only to the tool's own service account."
);
permission_rule!(
    RbacPodExec,
    "rbac-pod-exec",
    Danger::PodExec,
    "Remove `pods/exec` and `pods/attach`; grant them only to people who debug, through a separate role bound for a limited time."
);
permission_rule!(
    RbacPortForward,
    "rbac-port-forward",
    Danger::PortForward,
    "Remove `pods/portforward`; expose what must be reached through a Service behind a NetworkPolicy instead."
);
permission_rule!(
    RbacSecretsRead,
    "rbac-secrets-read",
    Danger::SecretsRead,
    "Limit the rule to the secrets needed with `resourceNames`, or mount those secrets into the pod instead of reading them through the API."
);
permission_rule!(
    RbacEscalateBindImpersonate,
    "rbac-escalate-bind-impersonate",
    Danger::EscalateBindImpersonate,
    "Remove `escalate`, `bind` and `impersonate`; only cluster administrators and RBAC management tools need them."
);
permission_rule!(
    RbacNodeProxy,
    "rbac-node-proxy",
    Danger::NodeProxy,
    "Remove `nodes/proxy`; read node metrics through `nodes/metrics` or `nodes/stats` instead."
);
permission_rule!(
    RbacTokenCreate,
    "rbac-token-create",
    Danger::TokenCreate,
    "Remove `create` on `serviceaccounts/token`, or limit it with `resourceNames` to the service accounts this holder may act as."
);
