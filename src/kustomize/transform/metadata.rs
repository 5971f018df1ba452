//! Metadata transformers: namespace, name prefix and suffix, labels and
//! annotations, at the field specs kustomize uses for them.

use super::super::Error;
use super::super::res::{self, FieldSpec, Res, string};
use crate::yaml::{Node, Span, Value};

// --- namespace -------------------------------------------------------------

pub(super) fn set_namespace(
    resources: &mut [Res],
    namespace: &str,
    configured: &[crate::kustomize::vars::Spec],
    span: Span,
) -> Result<(), Error> {
    for r in resources.iter_mut() {
        r.store_previous();
        // Places a configurations file adds (webhook services, mostly);
        // `metadata/namespace` is the built-in one below.
        for spec in configured {
            let (group, version) = r.group_version();
            if spec.path == "metadata/namespace" || !spec.selects(group, version, r.kind()) {
                continue;
            }
            let parts: Vec<&str> = spec.path.split('/').collect();
            let make = || string(namespace, span);
            let mut put = |n: &mut Node| *n = string(namespace, span);
            res::walk_path(
                &mut r.node,
                &parts,
                spec.create.then_some(&make as &dyn Fn() -> Node),
                &mut put,
            );
        }
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

pub(super) fn rename(
    resources: &mut [Res],
    prefix: &str,
    suffix: &str,
    span: Span,
) -> Result<(), Error> {
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

pub(super) const METADATA_LABELS: &[FieldSpec] = &[
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
pub(super) const LABEL_SELECTORS: &[FieldSpec] = &[
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

pub(super) const COMMON_ANNOTATIONS: &[FieldSpec] = &[
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
pub(super) fn add_pairs<S: res::PathSpec>(
    resources: &mut [Res],
    pairs: &Node,
    specs: &[S],
) -> Result<(), Error> {
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
        let (group, version) = r.group_version();
        let (group, version, kind) = (group.to_owned(), version.to_owned(), r.kind().to_owned());
        for spec in specs
            .iter()
            .filter(|s| s.applies_to(&group, &version, &kind))
        {
            let parts: Vec<&str> = spec.path().split('/').collect();
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
                spec.create().then_some(&make as &dyn Fn() -> Node),
                &mut put,
            );
            if failed {
                return Err(Error::invalid(
                    format!("{} {}: `{}` is not a mapping", kind, r.name(), spec.path()),
                    entries[0].2,
                ));
            }
        }
    }
    Ok(())
}
