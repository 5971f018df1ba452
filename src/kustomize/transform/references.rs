//! The name-reference fix: after prefixes, suffixes and generator hashes
//! rename objects, references to them (a pod's ConfigMap volume, a
//! RoleBinding's role and subjects) follow to the new names.

use super::super::res::{self, Id, Res, string};
use crate::yaml::{Node, Value};

struct Referral {
    kind: &'static str,
    group: &'static str,
    referrers: &'static [(&'static str, &'static str)],
}

const POD_SPECS: [(&str, &str); 8] = [
    ("Pod", "spec"),
    ("PodTemplate", "template/spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
];

/// Paths below a pod spec, per target kind.
const CONFIG_MAP_IN_POD: &[&str] = &[
    "volumes/configMap/name",
    "containers/env/valueFrom/configMapKeyRef/name",
    "initContainers/env/valueFrom/configMapKeyRef/name",
    "containers/envFrom/configMapRef/name",
    "initContainers/envFrom/configMapRef/name",
    "volumes/projected/sources/configMap/name",
];
const SECRET_IN_POD: &[&str] = &[
    "volumes/secret/secretName",
    "containers/env/valueFrom/secretKeyRef/name",
    "initContainers/env/valueFrom/secretKeyRef/name",
    "containers/envFrom/secretRef/name",
    "initContainers/envFrom/secretRef/name",
    "imagePullSecrets/name",
    "volumes/projected/sources/secret/name",
];

const REFERRALS: &[Referral] = &[
    // kustomize's table names IngressClass with the group
    // `networking.k8s.io/v1`, which no object has: Ingress class names are
    // never updated, and are not here either.
    Referral {
        kind: "ValidatingAdmissionPolicy",
        group: "admissionregistration.k8s.io",
        referrers: &[("ValidatingAdmissionPolicyBinding", "spec/policyName")],
    },
    Referral {
        kind: "Service",
        group: "",
        referrers: &[
            ("StatefulSet", "spec/serviceName"),
            ("Ingress", "spec/rules/http/paths/backend/serviceName"),
            ("Ingress", "spec/backend/serviceName"),
            ("Ingress", "spec/rules/http/paths/backend/service/name"),
            ("Ingress", "spec/defaultBackend/service/name"),
            ("APIService", "spec/service/name"),
        ],
    },
    Referral {
        kind: "Role",
        group: "rbac.authorization.k8s.io",
        referrers: &[("RoleBinding", "roleRef/name")],
    },
    Referral {
        kind: "ClusterRole",
        group: "rbac.authorization.k8s.io",
        referrers: &[
            ("RoleBinding", "roleRef/name"),
            ("ClusterRoleBinding", "roleRef/name"),
        ],
    },
    Referral {
        kind: "PersistentVolume",
        group: "",
        referrers: &[("PersistentVolumeClaim", "spec/volumeName")],
    },
    Referral {
        kind: "StorageClass",
        group: "storage.k8s.io",
        referrers: &[
            ("PersistentVolume", "spec/storageClassName"),
            ("PersistentVolumeClaim", "spec/storageClassName"),
            (
                "StatefulSet",
                "spec/volumeClaimTemplates/spec/storageClassName",
            ),
        ],
    },
    Referral {
        kind: "Deployment",
        group: "",
        referrers: &[("HorizontalPodAutoscaler", "spec/scaleTargetRef/name")],
    },
    Referral {
        kind: "StatefulSet",
        group: "",
        referrers: &[("HorizontalPodAutoscaler", "spec/scaleTargetRef/name")],
    },
    Referral {
        kind: "ReplicaSet",
        group: "",
        referrers: &[("HorizontalPodAutoscaler", "spec/scaleTargetRef/name")],
    },
    Referral {
        kind: "ReplicationController",
        group: "",
        referrers: &[("HorizontalPodAutoscaler", "spec/scaleTargetRef/name")],
    },
    Referral {
        kind: "ConfigMap",
        group: "",
        referrers: &[
            ("Role", "rules/resourceNames"),
            ("ClusterRole", "rules/resourceNames"),
            (
                "Ingress",
                "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
            ),
        ],
    },
    Referral {
        kind: "PersistentVolume",
        group: "",
        referrers: &[("ClusterRole", "rules/resourceNames")],
    },
    Referral {
        kind: "Secret",
        group: "",
        referrers: &[
            ("Ingress", "spec/tls/secretName"),
            ("ServiceAccount", "imagePullSecrets/name"),
            ("Role", "rules/resourceNames"),
            ("ClusterRole", "rules/resourceNames"),
            ("StorageClass", "parameters/secretName"),
            ("StorageClass", "parameters/adminSecretName"),
            ("StorageClass", "parameters/userSecretName"),
            ("StorageClass", "parameters/secretRef"),
            ("PersistentVolume", "spec/azureFile/secretName"),
            (
                "Ingress",
                "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
            ),
            (
                "Ingress",
                "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
            ),
            (
                "Ingress",
                "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
            ),
        ],
    },
];

/// References written as a map with `name` and `namespace`: the referrer
/// kind, the path to the map, and the kind it names.
const MAP_REFERRALS: &[(&str, &str, &str)] = &[
    (
        "MutatingWebhookConfiguration",
        "webhooks/clientConfig/service",
        "Service",
    ),
    (
        "ValidatingWebhookConfiguration",
        "webhooks/clientConfig/service",
        "Service",
    ),
    ("Node", "spec/configSource/configMap", "ConfigMap"),
];

/// A field path's parts: `/` separates them, `\/` is a slash in a key.
fn path_parts(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                chars.next();
                parts.last_mut().expect("one part").push('/');
            }
            '/' => parts.push(String::new()),
            other => parts.last_mut().expect("one part").push(other),
        }
    }
    parts
}

/// Updates references to renamed objects (after prefix, suffix, hash), as
/// kustomize's name-reference transformer does for its common fields.
pub(in crate::kustomize) fn fix_name_references(
    resources: &mut [Res],
    configured: &[crate::kustomize::vars::NameReference],
) {
    // Only a renamed object can be what a reference must follow; without
    // one there is nothing to fix.
    let snapshot: Vec<Renamed> = resources
        .iter()
        .filter(|r| !r.previous.is_empty())
        .map(Renamed::of)
        .collect();
    if snapshot.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        let kind = r.original_id().kind;
        let (group, version) = {
            let (g, v) = r.group_version();
            (g.to_owned(), v.to_owned())
        };
        let mut jobs: Vec<(&str, &str, String)> = Vec::new();
        for (referrer, prefix) in POD_SPECS {
            if kind != referrer {
                continue;
            }
            for path in CONFIG_MAP_IN_POD {
                jobs.push(("ConfigMap", "", format!("{prefix}/{path}")));
            }
            for path in SECRET_IN_POD {
                jobs.push(("Secret", "", format!("{prefix}/{path}")));
            }
            if referrer != "ReplicaSet" && referrer != "PodTemplate" {
                jobs.push(("ServiceAccount", "", format!("{prefix}/serviceAccountName")));
                jobs.push((
                    "PersistentVolumeClaim",
                    "",
                    format!("{prefix}/volumes/persistentVolumeClaim/claimName"),
                ));
                jobs.push((
                    "PriorityClass",
                    "scheduling.k8s.io",
                    format!("{prefix}/priorityClassName"),
                ));
            }
        }
        // A ReplicationController's pod spec names service accounts, claims
        // and priority classes, but kustomize does not follow its ConfigMaps.
        if kind == "ReplicationController" {
            let prefix = "spec/template/spec";
            jobs.push(("ServiceAccount", "", format!("{prefix}/serviceAccountName")));
            jobs.push((
                "PersistentVolumeClaim",
                "",
                format!("{prefix}/volumes/persistentVolumeClaim/claimName"),
            ));
            jobs.push((
                "PriorityClass",
                "scheduling.k8s.io",
                format!("{prefix}/priorityClassName"),
            ));
        }
        for referral in REFERRALS {
            for (referrer, path) in referral.referrers {
                if *referrer == kind {
                    jobs.push((referral.kind, referral.group, (*path).to_owned()));
                }
            }
        }
        // Places a configurations file adds, unless the built-in tables
        // above already follow them.
        for reference in configured {
            for spec in &reference.specs {
                let built_in = jobs
                    .iter()
                    .any(|(k, _, p)| *k == reference.kind && *p == spec.path)
                    || MAP_REFERRALS.iter().any(|(referrer, path, target)| {
                        *referrer == kind
                            && *target == reference.kind
                            && spec.path.strip_suffix("/name") == Some(*path)
                    });
                if !built_in && spec.selects(&group, &version, &kind) {
                    jobs.push((&reference.kind, &reference.group, spec.path.clone()));
                }
            }
        }
        let namespace = r.id().namespace;
        let cluster_scoped = r.cluster_scoped();
        let referrer_prefixes = r.prefixes.clone();
        let referrer_suffixes = r.suffixes.clone();
        for (target_kind, target_group, path) in jobs {
            let parts = path_parts(&path);
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            let is_role_ref = path.ends_with("roleRef/name");
            let role_ref = is_role_ref.then(|| {
                (
                    res::str_at(&r.node, &["roleRef", "kind"])
                        .unwrap_or("")
                        .to_owned(),
                    res::str_at(&r.node, &["roleRef", "apiGroup"])
                        .unwrap_or("")
                        .to_owned(),
                )
            });
            let mut update = |node: &mut Node| {
                let mut fix = |scalar: &mut Node| {
                    let Some(old) = scalar.as_str() else {
                        return;
                    };
                    if let Some(new) = referral(
                        &snapshot,
                        old,
                        target_kind,
                        target_group,
                        role_ref.as_ref(),
                        &namespace,
                        cluster_scoped,
                        (&referrer_prefixes, &referrer_suffixes),
                    ) && new != old
                    {
                        scalar.value = Value::Str(new);
                    }
                };
                match &mut node.value {
                    Value::Seq(items) => items.iter_mut().for_each(&mut fix),
                    _ => fix(node),
                }
            };
            res::walk_path(&mut r.node, &parts, None, &mut update);
        }
        if matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding") {
            fix_subjects(r, &snapshot);
        }
        for (referrer, path, target) in MAP_REFERRALS {
            if *referrer == kind {
                fix_map_references(r, &snapshot, path, target);
            }
        }
    }
}

/// What reference fixing needs of a renamed object: its identities,
/// never its content (a copy of every object costs more than the fixing).
struct Renamed {
    /// Identities before each rename, oldest first; never empty.
    previous: Vec<Id>,
    current: Id,
    /// `metadata.namespace` as written (empty when unset).
    namespace: String,
    cluster_scoped: bool,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Renamed {
    fn of(r: &Res) -> Self {
        Renamed {
            previous: r.previous.clone(),
            current: r.id(),
            namespace: r.namespace().to_owned(),
            cluster_scoped: r.cluster_scoped(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }

    fn name(&self) -> &str {
        &self.current.name
    }

    fn original_namespace(&self) -> &str {
        &self.previous[0].namespace
    }
}

/// The current name of the object a reference names by an old name.
#[allow(clippy::too_many_arguments)]
fn referral(
    all: &[Renamed],
    old: &str,
    kind: &str,
    group: &str,
    role_ref: Option<&(String, String)>,
    namespace: &str,
    cluster_scoped: bool,
    affixes: (&[String], &[String]),
) -> Option<String> {
    let candidates: Vec<&Renamed> = all
        .iter()
        // Only objects the referrer can see: cluster-scoped ones, or ones in
        // its namespace.
        .filter(|c| cluster_scoped || c.cluster_scoped || c.current.namespace == namespace)
        .filter(|c| c.previous.iter().any(|p| p.name == old))
        .filter(|c| {
            c.previous
                .iter()
                .any(|p| p.kind == kind && (group.is_empty() || p.group == group))
        })
        .filter(|c| {
            role_ref.is_none_or(|(k, g)| {
                c.previous
                    .iter()
                    .any(|p| &p.kind == k && (g.is_empty() || &p.group == g))
            })
        })
        .collect();
    pick(candidates, affixes).map(|c| c.name().to_owned())
}

fn pick<'r>(
    candidates: Vec<&'r Renamed>,
    (prefixes, suffixes): (&[String], &[String]),
) -> Option<&'r Renamed> {
    if candidates.len() <= 1 {
        return candidates.into_iter().next();
    }
    let ends_with = |whole: &[String], part: &[String]| {
        whole.is_empty() || part.is_empty() || whole.ends_with(part) || part.ends_with(whole)
    };
    let narrowed: Vec<&Renamed> = candidates
        .iter()
        .copied()
        .filter(|c| ends_with(&c.prefixes, prefixes) && ends_with(&c.suffixes, suffixes))
        .collect();
    // None left: kustomize changes nothing. Several with different names:
    // kustomize fails, and kslint leaves the reference as written.
    let first = *narrowed.first()?;
    narrowed
        .iter()
        .all(|c| c.name() == first.name())
        .then_some(first)
}

/// RoleBinding subjects naming a renamed ServiceAccount get its new name
/// and namespace.
/// A reference written as a map (`name`, `namespace`) to a renamed
/// object: both are updated, as kustomize does; the candidates are those
/// first (or now) in the map's namespace.
fn fix_map_references(r: &mut Res, all: &[Renamed], path: &str, target: &str) {
    let affixes = (r.prefixes.clone(), r.suffixes.clone());
    let namespace = r.id().namespace;
    let cluster_scoped = r.cluster_scoped();
    let parts: Vec<&str> = path.split('/').collect();
    let mut update = |map: &mut Node| {
        let Some(name) = res::str_at(map, &["name"]).map(str::to_owned) else {
            return;
        };
        let wanted = res::str_at(map, &["namespace"]).map(str::to_owned);
        let of_kind: Vec<&Renamed> = all
            .iter()
            .filter(|c| {
                c.previous
                    .iter()
                    .any(|p| p.name == name && p.kind == target)
            })
            .filter(|c| cluster_scoped || c.cluster_scoped || c.current.namespace == namespace)
            .collect();
        let candidates: Vec<&Renamed> = match &wanted {
            None => of_kind,
            Some(ns) => {
                let original: Vec<&Renamed> = of_kind
                    .iter()
                    .copied()
                    .filter(|c| c.original_namespace() == ns)
                    .collect();
                if original.is_empty() {
                    of_kind
                        .into_iter()
                        .filter(|c| c.current.namespace == *ns)
                        .collect()
                } else {
                    original
                }
            }
        };
        let Some(found) = pick(candidates, (&affixes.0, &affixes.1)) else {
            return;
        };
        let span = map.span;
        if found.name() == name && found.namespace.is_empty() {
            return;
        }
        res::set(map, "name", string(found.name(), span));
        if !found.namespace.is_empty() {
            res::set(map, "namespace", string(&found.namespace, span));
        }
    };
    res::walk_path(&mut r.node, &parts, None, &mut update);
}

fn fix_subjects(r: &mut Res, all: &[Renamed]) {
    let Some(Value::Seq(subjects)) = res::get_mut(&mut r.node, "subjects").map(|s| &mut s.value)
    else {
        return;
    };
    for subject in subjects {
        if res::str_at(subject, &["kind"]) != Some("ServiceAccount") {
            continue;
        }
        let Some(name) = res::str_at(subject, &["name"]).map(str::to_owned) else {
            continue;
        };
        let namespace = res::str_at(subject, &["namespace"]).map(str::to_owned);
        let candidates: Vec<&Renamed> = all
            .iter()
            .filter(|c| {
                c.current.kind == "ServiceAccount"
                    || c.previous.iter().any(|p| p.kind == "ServiceAccount")
            })
            .filter(|c| c.previous.iter().any(|p| p.name == name))
            .filter(|c| {
                namespace
                    .as_ref()
                    .is_none_or(|ns| c.original_namespace() == ns || c.current.namespace == *ns)
            })
            .collect();
        let Some(found) = pick(candidates, (&[], &[])) else {
            continue;
        };
        let span = subject.span;
        if found.name() != name {
            res::set(subject, "name", string(found.name(), span));
        }
        if !found.namespace.is_empty() {
            res::set(subject, "namespace", string(&found.namespace, span));
        }
    }
}
