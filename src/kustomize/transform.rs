//! The built-in transformers, in kustomize's order, and the name-reference
//! fix that follows renames.

use super::res::{self, FieldSpec, Id, Res, made, string};
use super::{Error, Kustomization, Sources, patch};
use crate::yaml::{Node, Span, Value};

/// Runs a kustomization's transformers on everything accumulated so far.
pub(super) fn run(
    k: &Kustomization,
    sources: &mut Sources,
    resources: &mut Vec<Res>,
) -> Result<(), Error> {
    patch::strategic_merge_field(k, sources, resources)?;
    // An object a patch deleted is gone before the next transformer.
    resources.retain(|r| !r.node.is_null());
    patch::patches_field(k, sources, resources)?;
    resources.retain(|r| !r.node.is_null());
    if let Some(node) = k.field("namespace") {
        let namespace = node.as_str().unwrap_or("");
        if !namespace.is_empty() {
            set_namespace(resources, namespace, node.span)?;
            let mut seen = std::collections::HashSet::new();
            for r in resources.iter() {
                let id = r.id();
                if !seen.insert(id.clone()) {
                    return Err(Error::invalid(
                        format!(
                            "`namespace` makes two objects {} {} in {}",
                            id.kind, id.name, namespace
                        ),
                        node.span,
                    ));
                }
            }
        }
    }
    if let Some(node) = k.field("namePrefix") {
        rename(resources, node.as_str().unwrap_or(""), "", node.span)?;
    }
    if let Some(node) = k.field("nameSuffix") {
        rename(resources, "", node.as_str().unwrap_or(""), node.span)?;
    }
    if let Some(labels) = k.field("labels") {
        for entry in labels.as_seq().unwrap_or_default() {
            if entry.get("fields").is_some() {
                return Err(Error::unsupported("`labels` with `fields`", entry.span));
            }
            let selectors = entry.get("includeSelectors").and_then(Node::as_bool) == Some(true);
            let templates = entry.get("includeTemplates").and_then(Node::as_bool) == Some(true);
            let specs: Vec<FieldSpec> = if selectors {
                [METADATA_LABELS, LABEL_SELECTORS].concat()
            } else if templates {
                METADATA_LABELS.to_vec()
            } else {
                vec![FieldSpec::any("metadata/labels", true)]
            };
            if let Some(pairs) = entry.get("pairs") {
                add_pairs(resources, pairs, &specs)?;
            }
        }
    }
    if let Some(labels) = k.field("commonLabels") {
        add_pairs(
            resources,
            labels,
            &[METADATA_LABELS, LABEL_SELECTORS].concat(),
        )?;
    }
    if let Some(annotations) = k.field("commonAnnotations") {
        add_pairs(resources, annotations, COMMON_ANNOTATIONS)?;
    }
    patch::json6902_field(k, sources, resources)?;
    resources.retain(|r| !r.node.is_null());
    if let Some(replicas) = k.field("replicas") {
        for entry in replicas.as_seq().unwrap_or_default() {
            set_replicas(resources, entry)?;
        }
    }
    if let Some(images) = k.field("images") {
        for entry in images.as_seq().unwrap_or_default() {
            set_images(resources, entry)?;
        }
    }
    resources.retain(|r| !r.node.is_null());
    super::replace::run(k, sources, resources)
}

/// Build bookkeeping kustomize strips from every object.
pub(super) fn strip_build_annotations(node: &mut Node) {
    let Some(metadata) = res::get_mut(node, "metadata") else {
        return;
    };
    let Some(annotations) = res::get_mut(metadata, "annotations") else {
        return;
    };
    if annotations.is_null() {
        res::remove(metadata, "annotations");
        return;
    }
    if let Value::Map(entries) = &mut annotations.value {
        entries.retain(|e| {
            !e.key.starts_with("internal.config.kubernetes.io/")
                && !matches!(
                    e.key.as_str(),
                    "config.kubernetes.io/path"
                        | "config.kubernetes.io/index"
                        | "config.k8s.io/id"
                        | "config.kubernetes.io/origin"
                        | "alpha.config.kubernetes.io/transformations"
                )
        });
        if entries.is_empty() {
            res::remove(metadata, "annotations");
        }
    }
}

// --- namespace -------------------------------------------------------------

fn set_namespace(resources: &mut [Res], namespace: &str, span: Span) -> Result<(), Error> {
    for r in resources.iter_mut() {
        r.store_previous();
        let (group, version) = {
            let (g, v) = r.group_version();
            (g.to_owned(), v.to_owned())
        };
        let kind = r.kind().to_owned();
        if !r.cluster_scoped() {
            let metadata = res::mapping_at(&mut r.node, "metadata", span)?;
            res::set(metadata, "namespace", string(namespace, span));
        }
        if kind == "Namespace" && group.is_empty() && version == "v1" {
            let metadata = res::mapping_at(&mut r.node, "metadata", span)?;
            res::set(metadata, "name", string(namespace, span));
        }
        if matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
            && let Some(Value::Seq(subjects)) =
                res::get_mut(&mut r.node, "subjects").map(|s| &mut s.value)
        {
            // kustomize sets the namespace of every subject named
            // `default`, whatever its kind.
            for subject in subjects {
                if res::str_at(subject, &["name"]) == Some("default") {
                    res::set(subject, "namespace", string(namespace, span));
                }
            }
        }
        if kind == "APIService" && group == "apiregistration.k8s.io" {
            let mut put = |n: &mut Node| *n = string(namespace, span);
            let make = || string(namespace, span);
            res::walk_path(
                &mut r.node,
                &["spec", "service", "namespace"],
                Some(&make),
                &mut put,
            );
        }
        if kind == "CustomResourceDefinition" && group == "apiextensions.k8s.io" {
            let mut put = |n: &mut Node| *n = string(namespace, span);
            res::walk_path(
                &mut r.node,
                &[
                    "spec",
                    "conversion",
                    "webhook",
                    "clientConfig",
                    "service",
                    "namespace",
                ],
                None,
                &mut put,
            );
        }
    }
    Ok(())
}

// --- prefix and suffix -----------------------------------------------------

fn rename(resources: &mut [Res], prefix: &str, suffix: &str, span: Span) -> Result<(), Error> {
    if prefix.is_empty() && suffix.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        let original = r.original_id();
        let skipped = original.kind == "CustomResourceDefinition"
            || original.kind == "Namespace"
            || (original.kind == "APIService" && original.group == "apiregistration.k8s.io");
        if skipped {
            continue;
        }
        if !prefix.is_empty() {
            r.prefixes.push(prefix.to_owned());
        }
        if !suffix.is_empty() {
            r.suffixes.push(suffix.to_owned());
        }
        r.store_previous();
        let name = format!("{prefix}{}{suffix}", r.name());
        let metadata = res::mapping_at(&mut r.node, "metadata", span)?;
        res::set(metadata, "name", string(&name, span));
    }
    Ok(())
}

// --- labels and annotations ------------------------------------------------

const METADATA_LABELS: &[FieldSpec] = &[
    FieldSpec::any("metadata/labels", true),
    FieldSpec::of(
        "ReplicationController",
        "spec/template/metadata/labels",
        true,
    ),
    FieldSpec::of("Deployment", "spec/template/metadata/labels", true),
    FieldSpec::of("ReplicaSet", "spec/template/metadata/labels", true),
    FieldSpec::of("DaemonSet", "spec/template/metadata/labels", true),
    FieldSpec::of_group("apps", "StatefulSet", "spec/template/metadata/labels", true),
    FieldSpec::of_group(
        "apps",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ),
    FieldSpec::of_group("batch", "Job", "spec/template/metadata/labels", true),
    FieldSpec::of_group("batch", "CronJob", "spec/jobTemplate/metadata/labels", true),
    FieldSpec::of_group(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ),
];

/// Selectors `commonLabels` (and `labels` with includeSelectors) also set,
/// besides [`METADATA_LABELS`].
const LABEL_SELECTORS: &[FieldSpec] = &[
    FieldSpec::of("Service", "spec/selector", true),
    FieldSpec::of("ReplicationController", "spec/selector", true),
    FieldSpec::of("Deployment", "spec/selector/matchLabels", true),
    FieldSpec::of("ReplicaSet", "spec/selector/matchLabels", true),
    FieldSpec::of("DaemonSet", "spec/selector/matchLabels", true),
    FieldSpec::of_group("apps", "StatefulSet", "spec/selector/matchLabels", true),
    FieldSpec::of_group(
        "apps",
        "Deployment",
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "apps",
        "Deployment",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "apps",
        "Deployment",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "apps",
        "Deployment",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "apps",
        "Deployment",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "apps",
        "StatefulSet",
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "apps",
        "StatefulSet",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "apps",
        "StatefulSet",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "apps",
        "StatefulSet",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "apps",
        "StatefulSet",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group("batch", "Job", "spec/selector/matchLabels", false),
    FieldSpec::of_group(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "policy",
        "PodDisruptionBudget",
        "spec/selector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "networking.k8s.io",
        "NetworkPolicy",
        "spec/podSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "networking.k8s.io",
        "NetworkPolicy",
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ),
    FieldSpec::of_group(
        "networking.k8s.io",
        "NetworkPolicy",
        "spec/egress/to/podSelector/matchLabels",
        false,
    ),
];

const COMMON_ANNOTATIONS: &[FieldSpec] = &[
    FieldSpec::any("metadata/annotations", true),
    FieldSpec::of(
        "ReplicationController",
        "spec/template/metadata/annotations",
        true,
    ),
    FieldSpec::of("Deployment", "spec/template/metadata/annotations", true),
    FieldSpec::of("ReplicaSet", "spec/template/metadata/annotations", true),
    FieldSpec::of("DaemonSet", "spec/template/metadata/annotations", true),
    FieldSpec::of("StatefulSet", "spec/template/metadata/annotations", true),
    FieldSpec::of_group("batch", "Job", "spec/template/metadata/annotations", true),
    FieldSpec::of_group(
        "batch",
        "CronJob",
        "spec/jobTemplate/metadata/annotations",
        true,
    ),
    FieldSpec::of_group(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/annotations",
        true,
    ),
];

/// Sets each `key: value` of `pairs` (as strings, keys sorted) at every
/// fieldspec that selects a resource.
fn add_pairs(resources: &mut [Res], pairs: &Node, specs: &[FieldSpec]) -> Result<(), Error> {
    if let Some(e) = pairs
        .as_map()
        .unwrap_or_default()
        .iter()
        .find(|e| !matches!(e.value.value, Value::Str(_)))
    {
        // Kustomize keeps the YAML text of a number or boolean here.
        return Err(Error::unsupported(
            "a label or annotation value that is not a string",
            e.value.span,
        ));
    }
    let mut entries: Vec<(String, String, Span)> = pairs
        .as_map()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e.key.clone(),
                res::value_text(&e.value),
                e.key_span.to(e.value.span),
            )
        })
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for r in resources.iter_mut() {
        let (group, _) = r.group_version();
        let (group, kind) = (group.to_owned(), r.kind().to_owned());
        for spec in specs.iter().filter(|s| s.selects(&group, &kind)) {
            let parts = spec.parts();
            let span = entries[0].2;
            let make = || res::empty_map(span);
            let mut failed = false;
            let mut put = |target: &mut Node| {
                if target.is_null() {
                    target.value = Value::Map(Vec::new());
                }
                if !matches!(target.value, Value::Map(_)) {
                    failed = true;
                    return;
                }
                for (key, value, span) in &entries {
                    res::set(target, key, string(value, *span));
                }
            };
            res::walk_path(
                &mut r.node,
                &parts,
                spec.create.then_some(&make as &dyn Fn() -> Node),
                &mut put,
            );
            if failed {
                return Err(Error::invalid(
                    format!("{} {}: `{}` is not a mapping", kind, r.name(), spec.path),
                    entries[0].2,
                ));
            }
        }
    }
    Ok(())
}

// --- replicas and images ---------------------------------------------------

fn set_replicas(resources: &mut [Res], entry: &Node) -> Result<(), Error> {
    let name = res::str_at(entry, &["name"]).unwrap_or("");
    // A missing count is 0, as kustomize reads it.
    let zero = made(Value::Int(0), entry.span);
    let count = entry.get("count").unwrap_or(&zero);
    if !matches!(count.value, Value::Int(_)) {
        return Err(Error::unsupported(
            "a `replicas` count that is not a whole number",
            count.span,
        ));
    }
    let mut matched = false;
    for r in resources.iter_mut() {
        let kind = r.kind();
        if !matches!(
            kind,
            "Deployment" | "ReplicationController" | "ReplicaSet" | "StatefulSet"
        ) {
            continue;
        }
        if !r.ids().any(|id| id.name == name) {
            continue;
        }
        matched = true;
        let span = count.span;
        let spec = res::mapping_at(&mut r.node, "spec", span)?;
        res::set(spec, "replicas", made(count.value.clone(), span));
    }
    if !matched {
        return Err(Error::invalid(
            format!(
                "`replicas` names {name:?}, which is no Deployment, StatefulSet, ReplicaSet or ReplicationController of this build"
            ),
            entry.span,
        ));
    }
    Ok(())
}

fn set_images(resources: &mut [Res], entry: &Node) -> Result<(), Error> {
    let name = res::str_at(entry, &["name"]).unwrap_or("");
    if entry.get("tagSuffix").is_some() {
        return Err(Error::unsupported("`images` with `tagSuffix`", entry.span));
    }
    let new_name = res::str_at(entry, &["newName"]);
    // Kustomize reads the YAML text of a number (`1.10`), which the
    // parsed value no longer has.
    if let Some(tag) = entry
        .get("newTag")
        .filter(|t| !matches!(t.value, Value::Str(_)))
    {
        return Err(Error::unsupported(
            "an `images` newTag written as a number",
            tag.span,
        ));
    }
    let new_tag = entry.get("newTag").map(res::value_text);
    let digest = res::str_at(entry, &["digest"]);
    let pattern = regex::Regex::new(&format!(
        "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$"
    ))
    .map_err(|_| Error::invalid(format!("`{name}` is not a valid image name"), entry.span))?;
    let span = entry.span;
    let update = |image: &str| -> Option<String> {
        if !pattern.is_match(image) {
            return None;
        }
        let (mut base, mut tag, mut sha) = split_image(image);
        if let Some(n) = new_name {
            base = n.to_owned();
        }
        match (&new_tag, digest) {
            (Some(t), Some(d)) => {
                tag = Some(t.clone());
                sha = Some(d.to_owned());
            }
            (Some(t), None) => {
                tag = Some(t.clone());
                sha = None;
            }
            (None, Some(d)) => {
                tag = None;
                sha = Some(d.to_owned());
            }
            (None, None) => {}
        }
        let mut out = base;
        if let Some(t) = tag {
            out.push(':');
            out.push_str(&t);
        }
        if let Some(d) = sha {
            out.push('@');
            out.push_str(&d);
        }
        Some(out)
    };
    for r in resources.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        update_containers(&mut r.node, &update, span);
    }
    Ok(())
}

/// Every `containers`/`initContainers` list at any depth (kustomize's
/// image pass reaches custom resources this way too).
fn update_containers(node: &mut Node, update: &dyn Fn(&str) -> Option<String>, span: Span) {
    match &mut node.value {
        Value::Map(entries) => {
            for entry in entries {
                if matches!(entry.key.as_str(), "containers" | "initContainers")
                    && let Value::Seq(items) = &mut entry.value.value
                {
                    for item in items {
                        if let Some(image) = res::get_mut(item, "image")
                            && let Some(text) = image.as_str()
                            && let Some(new) = update(text)
                        {
                            *image = string(&new, span);
                        }
                    }
                }
                update_containers(&mut entry.value, update, span);
            }
        }
        Value::Seq(items) => {
            for item in items {
                update_containers(item, update, span);
            }
        }
        _ => {}
    }
}

/// `registry/name:tag@sha256:…` to (name, tag, digest), looking for `:` and
/// `@` after the first `/` only (a registry may have a port).
fn split_image(image: &str) -> (String, Option<String>, Option<String>) {
    let search_from = image.find('/').map_or(0, |i| i + 1);
    let (rest, digest) = match image[search_from..].find('@') {
        Some(at) => {
            let at = search_from + at;
            (&image[..at], Some(image[at + 1..].to_owned()))
        }
        None => (image, None),
    };
    match rest[search_from.min(rest.len())..].find(':') {
        Some(at) => {
            let at = search_from + at;
            (
                rest[..at].to_owned(),
                Some(rest[at + 1..].to_owned()),
                digest,
            )
        }
        None => (rest.to_owned(), None, digest),
    }
}

// --- name references ---------------------------------------------------------

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
pub(super) fn fix_name_references(resources: &mut [Res]) {
    let snapshot: Vec<Res> = resources.to_vec();
    for r in resources.iter_mut() {
        let kind = r.original_id().kind;
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

/// The current name of the object a reference names by an old name.
#[allow(clippy::too_many_arguments)]
fn referral(
    all: &[Res],
    old: &str,
    kind: &str,
    group: &str,
    role_ref: Option<&(String, String)>,
    namespace: &str,
    cluster_scoped: bool,
    affixes: (&[String], &[String]),
) -> Option<String> {
    let candidates: Vec<&Res> = all
        .iter()
        .filter(|c| !c.previous.is_empty())
        // Only objects the referrer can see: cluster-scoped ones, or ones in
        // its namespace.
        .filter(|c| cluster_scoped || c.cluster_scoped() || c.id().namespace == namespace)
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
    candidates: Vec<&'r Res>,
    (prefixes, suffixes): (&[String], &[String]),
) -> Option<&'r Res> {
    if candidates.len() <= 1 {
        return candidates.into_iter().next();
    }
    let ends_with = |whole: &[String], part: &[String]| {
        whole.is_empty() || part.is_empty() || whole.ends_with(part) || part.ends_with(whole)
    };
    let narrowed: Vec<&Res> = candidates
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
fn fix_map_references(r: &mut Res, all: &[Res], path: &str, target: &str) {
    let affixes = (r.prefixes.clone(), r.suffixes.clone());
    let namespace = r.id().namespace;
    let cluster_scoped = r.cluster_scoped();
    let parts: Vec<&str> = path.split('/').collect();
    let mut update = |map: &mut Node| {
        let Some(name) = res::str_at(map, &["name"]).map(str::to_owned) else {
            return;
        };
        let wanted = res::str_at(map, &["namespace"]).map(str::to_owned);
        let of_kind: Vec<&Res> = all
            .iter()
            .filter(|c| !c.previous.is_empty())
            .filter(|c| {
                c.previous
                    .iter()
                    .any(|p| p.name == name && p.kind == target)
            })
            .filter(|c| cluster_scoped || c.cluster_scoped() || c.id().namespace == namespace)
            .collect();
        let candidates: Vec<&Res> = match &wanted {
            None => of_kind,
            Some(ns) => {
                let original: Vec<&Res> = of_kind
                    .iter()
                    .copied()
                    .filter(|c| c.original_id().namespace == *ns)
                    .collect();
                if original.is_empty() {
                    of_kind
                        .into_iter()
                        .filter(|c| c.id().namespace == *ns)
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
        if found.name() == name && found.namespace().is_empty() {
            return;
        }
        res::set(map, "name", string(found.name(), span));
        if !found.namespace().is_empty() {
            res::set(map, "namespace", string(found.namespace(), span));
        }
    };
    res::walk_path(&mut r.node, &parts, None, &mut update);
}

fn fix_subjects(r: &mut Res, all: &[Res]) {
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
        let candidates: Vec<&Res> = all
            .iter()
            .filter(|c| {
                c.kind() == "ServiceAccount"
                    || c.previous.iter().any(|p| p.kind == "ServiceAccount")
            })
            .filter(|c| !c.previous.is_empty() && c.previous.iter().any(|p| p.name == name))
            .filter(|c| {
                namespace
                    .as_ref()
                    .is_none_or(|ns| c.original_id().namespace == *ns || c.id().namespace == *ns)
            })
            .collect();
        let Some(found) = pick(candidates, (&[], &[])) else {
            continue;
        };
        let span = subject.span;
        if found.name() != name {
            res::set(subject, "name", string(found.name(), span));
        }
        let ns = found.namespace();
        if !ns.is_empty() {
            res::set(subject, "namespace", string(ns, span));
        }
    }
}

/// An id as kustomize prints it in messages.
#[allow(dead_code)]
pub(super) fn describe(id: &Id) -> String {
    format!("{} {}", id.kind, id.name)
}
