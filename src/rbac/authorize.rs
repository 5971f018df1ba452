//! RBAC rule matching as the API server's authorizer does it, and the
//! dangerous permissions kslint looks for in a rule.
//!
//! Matching follows `k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go`:
//! `*` matches every verb, group or resource (subresources included); a
//! resource `pods` does not cover `pods/exec`; `*/scale` covers the `scale`
//! subresource of every resource; `pods/*` is not a wildcard (it matches
//! only a subresource literally named `*`).

use super::RuleFact;
use crate::yaml::Span;

/// Whether a rule lets a verb act on `group`'s `resource` (`pods` or
/// `pods/exec`), ignoring `resourceNames`.
pub fn allows(rule: &RuleFact, verb: &str, group: &str, resource: &str) -> bool {
    rule.verbs.iter().any(|v| v.text == "*" || v.text == verb)
        && rule
            .api_groups
            .iter()
            .any(|g| g.text == "*" || g.text == group)
        && matching_resource(rule, resource).is_some()
}

/// The first resource entry of a rule that covers `resource`.
pub fn matching_resource<'a>(rule: &'a RuleFact, resource: &str) -> Option<&'a super::Item> {
    let subresource = resource.split_once('/').map(|(_, sub)| sub);
    rule.resources.iter().find(|r| {
        r.text == "*"
            || r.text == resource
            || subresource.is_some_and(|sub| r.text.strip_prefix("*/") == Some(sub))
    })
}

/// A kind of dangerous permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Danger {
    /// `*` for both verbs and resources.
    Wildcard,
    /// Create pods, or workloads that create pods.
    CreatePods,
    /// `pods/exec` or `pods/attach`.
    PodExec,
    /// `pods/portforward`.
    PortForward,
    /// Read secrets.
    SecretsRead,
    /// `escalate` or `bind` on roles, or `impersonate`.
    EscalateBindImpersonate,
    /// `nodes/proxy`.
    NodeProxy,
    /// Create service account tokens.
    TokenCreate,
}

impl Danger {
    /// Every kind, in report order.
    pub const ALL: [Danger; 8] = [
        Danger::Wildcard,
        Danger::CreatePods,
        Danger::PodExec,
        Danger::PortForward,
        Danger::SecretsRead,
        Danger::EscalateBindImpersonate,
        Danger::NodeProxy,
        Danger::TokenCreate,
    ];

    /// What whoever holds the permission can do, as a clause.
    pub fn consequence(self) -> &'static str {
        match self {
            Danger::Wildcard => {
                "do anything to every resource the rule covers, from reading secrets to starting privileged pods"
            }
            Danger::CreatePods => {
                "start a pod that runs as any service account of the namespace, or a privileged pod that takes over its node"
            }
            Danger::PodExec => {
                "run commands inside other pods and take their service account tokens and secrets"
            }
            Danger::PortForward => {
                "tunnel through the API server to any pod's ports, past every NetworkPolicy"
            }
            Danger::SecretsRead => {
                "read secrets, including other service accounts' tokens and every stored credential"
            }
            Danger::EscalateBindImpersonate => {
                "grant itself any permission or act as another user, up to cluster-admin"
            }
            Danger::NodeProxy => {
                "call the kubelet API of nodes directly, which runs commands in any pod there and bypasses audit logging"
            }
            Danger::TokenCreate => "mint tokens for other service accounts and act as them",
        }
    }
}

/// One dangerous permission of a rule, at the entry that grants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The kind.
    pub danger: Danger,
    /// What is allowed, such as `create pods` or `get pods/exec`.
    pub what: String,
    /// The entry to point at.
    pub span: Span,
}

/// Resources whose `create` starts pods, by API group.
const POD_CREATORS: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("extensions", "deployments"),
    ("extensions", "replicasets"),
    ("extensions", "daemonsets"),
];

/// Resources that can be impersonated.
const IMPERSONABLE: &[(&str, &str)] = &[
    ("", "users"),
    ("", "groups"),
    ("", "serviceaccounts"),
    ("authentication.k8s.io", "userextras/scopes"),
    ("authentication.k8s.io", "uids"),
];

/// Resources that exist outside namespaces: a Role, or any role bound by a
/// RoleBinding, cannot grant them.
pub const CLUSTER_SCOPED: &[&str] = &[
    "nodes",
    "persistentvolumes",
    "clusterroles",
    "clusterrolebindings",
    "users",
    "groups",
    "uids",
    "userextras",
    "customresourcedefinitions",
    "storageclasses",
    "certificatesigningrequests",
    "validatingwebhookconfigurations",
    "mutatingwebhookconfigurations",
    "priorityclasses",
    "runtimeclasses",
    "csidrivers",
    "csinodes",
    "volumeattachments",
];

/// Whether a resource (or its parent, for a subresource) is cluster-scoped.
pub fn is_cluster_scoped(resource: &str) -> bool {
    let base = resource.split('/').next().unwrap_or(resource);
    CLUSTER_SCOPED.contains(&base)
}

/// The dangerous permissions a rule grants. A rule limited by
/// `resourceNames` grants none of them, except escalate, bind and
/// impersonate, which are dangerous whatever the names. In a namespace
/// (a Role, or a role bound by a RoleBinding) cluster-scoped resources
/// such as `nodes/proxy` are out of reach.
pub fn dangers(rule: &RuleFact, namespaced: bool) -> Vec<Hit> {
    let mut hits = Vec::new();
    let named = !rule.resource_names.is_empty();
    let verb_span = |verb: &str| {
        rule.verbs
            .iter()
            .find(|v| v.text == verb)
            .or_else(|| rule.verbs.iter().find(|v| v.text == "*"))
            .map_or(rule.span, |v| v.span)
    };
    // Any verb on nodes/proxy reaches the kubelet (checked once, not per
    // verb: rules can list many verbs).
    let node_proxy = if !named
        && !namespaced
        && !rule.verbs.is_empty()
        && rule
            .api_groups
            .iter()
            .any(|g| g.text == "*" || g.text.is_empty())
    {
        matching_resource(rule, "nodes/proxy").map(|entry| Hit {
            danger: Danger::NodeProxy,
            what: format!("{} nodes/proxy", rule.verbs[0].text),
            span: entry.span,
        })
    } else {
        None
    };
    let mut check = |danger: Danger, verbs: &[&str], targets: &[(&str, &str)], at_verb: bool| {
        for verb in verbs {
            for (group, resource) in targets {
                // `bind` is checked in the namespace of the RoleBinding being
                // written, so a Role can grant it even on clusterroles.
                if namespaced && *verb != "bind" && is_cluster_scoped(resource) {
                    continue;
                }
                if allows(rule, verb, group, resource) {
                    let span = if at_verb {
                        verb_span(verb)
                    } else {
                        matching_resource(rule, resource).map_or(rule.span, |r| r.span)
                    };
                    hits.push(Hit {
                        danger,
                        what: format!("{verb} {resource}"),
                        span,
                    });
                    return;
                }
            }
        }
    };
    if !named {
        check(Danger::CreatePods, &["create"], POD_CREATORS, false);
        check(
            Danger::PodExec,
            &["create", "get"],
            &[("", "pods/exec"), ("", "pods/attach")],
            false,
        );
        check(
            Danger::PortForward,
            &["create", "get"],
            &[("", "pods/portforward")],
            false,
        );
        check(
            Danger::SecretsRead,
            &["get", "list", "watch"],
            &[("", "secrets")],
            false,
        );
        check(
            Danger::TokenCreate,
            &["create"],
            &[("", "serviceaccounts/token")],
            false,
        );
    }
    check(
        Danger::EscalateBindImpersonate,
        &["escalate", "bind"],
        &[
            ("rbac.authorization.k8s.io", "roles"),
            ("rbac.authorization.k8s.io", "clusterroles"),
        ],
        true,
    );
    check(
        Danger::EscalateBindImpersonate,
        &["impersonate"],
        IMPERSONABLE,
        true,
    );
    hits.extend(node_proxy);
    // Every extra (`userextras/<key>`) can be impersonated, not one name.
    let extras = rule
        .resources
        .iter()
        .any(|r| r.text.starts_with("userextras/"))
        && rule
            .api_groups
            .iter()
            .any(|g| g.text == "*" || g.text == "authentication.k8s.io")
        && rule
            .verbs
            .iter()
            .any(|v| v.text == "impersonate" || v.text == "*");
    if extras && !namespaced {
        hits.push(Hit {
            danger: Danger::EscalateBindImpersonate,
            what: "impersonate userextras".to_owned(),
            span: verb_span("impersonate"),
        });
    }
    // Escalate, bind and impersonate are one kind: keep the first found.
    if let Some(first) = hits
        .iter()
        .position(|h| h.danger == Danger::EscalateBindImpersonate)
    {
        let mut i = first + 1;
        while i < hits.len() {
            if hits[i].danger == Danger::EscalateBindImpersonate {
                hits.remove(i);
            } else {
                i += 1;
            }
        }
    }
    // Full control of the core group or of every group; `*` on one
    // custom group is left to the specific kinds above.
    let broad_group = rule
        .api_groups
        .iter()
        .any(|g| g.text == "*" || g.text.is_empty());
    if !named
        && broad_group
        && let (Some(verb), Some(_)) = (
            rule.verbs.iter().find(|v| v.text == "*"),
            rule.resources.iter().find(|r| r.text == "*"),
        )
    {
        hits.insert(
            0,
            Hit {
                danger: Danger::Wildcard,
                what: "* on *".to_owned(),
                span: verb.span,
            },
        );
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::Item;

    fn items(texts: &[&str]) -> Vec<Item> {
        texts
            .iter()
            .map(|t| Item {
                text: (*t).to_owned(),
                span: Span::default(),
            })
            .collect()
    }

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> RuleFact {
        RuleFact {
            span: Span::default(),
            api_groups: items(groups),
            resources: items(resources),
            verbs: items(verbs),
            resource_names: Vec::new(),
            non_resource_urls: Vec::new(),
        }
    }

    #[test]
    fn matching_follows_the_authorizer() {
        let pods = rule(&[""], &["pods"], &["get"]);
        assert!(allows(&pods, "get", "", "pods"));
        assert!(!allows(&pods, "get", "", "pods/exec"));
        assert!(!allows(&pods, "get", "apps", "pods"));
        assert!(!allows(&pods, "list", "", "pods"));
        let all = rule(&["*"], &["*"], &["*"]);
        assert!(allows(&all, "create", "", "pods/exec"));
        let scale = rule(&["apps"], &["*/scale"], &["update"]);
        assert!(allows(&scale, "update", "apps", "deployments/scale"));
        assert!(!allows(&scale, "update", "apps", "deployments"));
        // `pods/*` is not a wildcard to the API server.
        let star = rule(&[""], &["pods/*"], &["create"]);
        assert!(!allows(&star, "create", "", "pods/exec"));
        assert!(allows(&star, "create", "", "pods/*"));
    }

    fn kinds(rule: &RuleFact) -> Vec<Danger> {
        dangers(rule, false).into_iter().map(|h| h.danger).collect()
    }

    #[test]
    fn dangers_of_rules() {
        assert_eq!(
            kinds(&rule(&["apps"], &["deployments"], &["create"])),
            [Danger::CreatePods]
        );
        assert!(kinds(&rule(&[""], &["deployments"], &["create"])).is_empty());
        assert_eq!(
            kinds(&rule(&[""], &["pods/exec"], &["create"])),
            [Danger::PodExec]
        );
        assert_eq!(
            kinds(&rule(&[""], &["pods/portforward"], &["get"])),
            [Danger::PortForward]
        );
        assert_eq!(
            kinds(&rule(&[""], &["secrets"], &["list"])),
            [Danger::SecretsRead]
        );
        assert!(kinds(&rule(&[""], &["secrets"], &["create"])).is_empty());
        assert_eq!(
            kinds(&rule(&[""], &["nodes/proxy"], &["get"])),
            [Danger::NodeProxy]
        );
        assert_eq!(
            kinds(&rule(&[""], &["serviceaccounts/token"], &["create"])),
            [Danger::TokenCreate]
        );
        assert_eq!(
            kinds(&rule(
                &["rbac.authorization.k8s.io"],
                &["clusterroles"],
                &["bind"]
            )),
            [Danger::EscalateBindImpersonate]
        );
        assert_eq!(
            kinds(&rule(&[""], &["users"], &["impersonate"])),
            [Danger::EscalateBindImpersonate]
        );
        let all = kinds(&rule(&["*"], &["*"], &["*"]));
        assert_eq!(all.len(), Danger::ALL.len());
        assert_eq!(all[0], Danger::Wildcard);
    }

    #[test]
    fn namespaces_hold_no_cluster_scoped_resources() {
        let all = rule(&["*"], &["*"], &["get"]);
        let namespaced: Vec<Danger> = dangers(&all, true).into_iter().map(|h| h.danger).collect();
        assert!(!namespaced.contains(&Danger::NodeProxy));
        assert!(namespaced.contains(&Danger::SecretsRead));
        let users = rule(&[""], &["users", "serviceaccounts"], &["impersonate"]);
        assert_eq!(
            dangers(&users, true).len(),
            1,
            "serviceaccounts are namespaced"
        );
        let only_users = rule(&[""], &["users"], &["impersonate"]);
        assert!(dangers(&only_users, true).is_empty());
    }

    #[test]
    fn wildcards_over_one_custom_group_are_not_full_control() {
        let custom = rule(&["widgets.example.com"], &["*"], &["*"]);
        assert!(kinds(&custom).is_empty());
        assert_eq!(kinds(&rule(&[""], &["*"], &["*"]))[0], Danger::Wildcard);
    }

    #[test]
    fn node_proxy_with_many_verbs_is_one_hit() {
        let verbs: Vec<String> = (0..10_000).map(|i| format!("v{i}")).collect();
        let verbs: Vec<&str> = verbs.iter().map(String::as_str).collect();
        let many = rule(&[""], &["nodes/proxy"], &verbs);
        assert_eq!(kinds(&many), [Danger::NodeProxy]);
    }

    #[test]
    fn resource_names_limit_all_but_escalation() {
        let mut secrets = rule(&[""], &["secrets"], &["get"]);
        secrets.resource_names = vec!["tls".into()];
        assert!(kinds(&secrets).is_empty());
        let mut bind = rule(&["rbac.authorization.k8s.io"], &["roles"], &["bind"]);
        bind.resource_names = vec!["viewer".into()];
        assert_eq!(kinds(&bind), [Danger::EscalateBindImpersonate]);
    }
}
