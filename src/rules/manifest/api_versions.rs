//! `removed-api-version` and `deprecated-api-version`: see their catalog
//! files. The table follows the Kubernetes deprecated API migration guide.

use crate::diagnostic::{Applicability, Edit, Effect, Fix};
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(RemovedApiVersion, "removed-api-version");
crate::declare_rule!(DeprecatedApiVersion, "deprecated-api-version");

/// An API version of some kinds that Kubernetes deprecated, then removed.
struct Retired {
    api_version: &'static str,
    /// The kinds it applies to; empty for every kind of the group version.
    kinds: &'static [&'static str],
    /// The minor version that deprecated it.
    deprecated: u16,
    /// The minor version that stopped serving it.
    removed: u16,
    /// What to use instead (`None`: nothing replaces it).
    replacement: Option<&'static str>,
}

const fn retired(
    api_version: &'static str,
    kinds: &'static [&'static str],
    deprecated: u16,
    removed: u16,
    replacement: Option<&'static str>,
) -> Retired {
    Retired {
        api_version,
        kinds,
        deprecated,
        removed,
        replacement,
    }
}

const WORKLOADS: &[&str] = &[
    "Deployment",
    "DaemonSet",
    "ReplicaSet",
    "StatefulSet",
    "ControllerRevision",
];

static RETIRED: &[Retired] = &[
    retired("extensions/v1beta1", WORKLOADS, 9, 16, Some("apps/v1")),
    retired("apps/v1beta1", WORKLOADS, 9, 16, Some("apps/v1")),
    retired("apps/v1beta2", WORKLOADS, 9, 16, Some("apps/v1")),
    retired(
        "extensions/v1beta1",
        &["NetworkPolicy"],
        9,
        16,
        Some("networking.k8s.io/v1"),
    ),
    retired(
        "extensions/v1beta1",
        &["PodSecurityPolicy"],
        10,
        16,
        Some("policy/v1beta1"),
    ),
    retired(
        "extensions/v1beta1",
        &["Ingress"],
        14,
        22,
        Some("networking.k8s.io/v1"),
    ),
    retired(
        "networking.k8s.io/v1beta1",
        &["Ingress", "IngressClass"],
        19,
        22,
        Some("networking.k8s.io/v1"),
    ),
    retired(
        "admissionregistration.k8s.io/v1beta1",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
        16,
        22,
        Some("admissionregistration.k8s.io/v1"),
    ),
    retired(
        "apiextensions.k8s.io/v1beta1",
        &["CustomResourceDefinition"],
        16,
        22,
        Some("apiextensions.k8s.io/v1"),
    ),
    retired(
        "apiregistration.k8s.io/v1beta1",
        &["APIService"],
        19,
        22,
        Some("apiregistration.k8s.io/v1"),
    ),
    retired(
        "authentication.k8s.io/v1beta1",
        &["TokenReview"],
        19,
        22,
        Some("authentication.k8s.io/v1"),
    ),
    retired(
        "authorization.k8s.io/v1beta1",
        &[],
        19,
        22,
        Some("authorization.k8s.io/v1"),
    ),
    retired(
        "certificates.k8s.io/v1beta1",
        &["CertificateSigningRequest"],
        19,
        22,
        Some("certificates.k8s.io/v1"),
    ),
    retired(
        "coordination.k8s.io/v1beta1",
        &["Lease"],
        19,
        22,
        Some("coordination.k8s.io/v1"),
    ),
    retired(
        "rbac.authorization.k8s.io/v1beta1",
        &[],
        17,
        22,
        Some("rbac.authorization.k8s.io/v1"),
    ),
    retired(
        "rbac.authorization.k8s.io/v1alpha1",
        &[],
        17,
        22,
        Some("rbac.authorization.k8s.io/v1"),
    ),
    retired(
        "scheduling.k8s.io/v1beta1",
        &["PriorityClass"],
        14,
        22,
        Some("scheduling.k8s.io/v1"),
    ),
    retired(
        "scheduling.k8s.io/v1alpha1",
        &["PriorityClass"],
        14,
        17,
        Some("scheduling.k8s.io/v1"),
    ),
    retired(
        "storage.k8s.io/v1beta1",
        &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
        19,
        22,
        Some("storage.k8s.io/v1"),
    ),
    retired("batch/v1beta1", &["CronJob"], 21, 25, Some("batch/v1")),
    retired("batch/v2alpha1", &["CronJob"], 21, 25, Some("batch/v1")),
    retired(
        "discovery.k8s.io/v1beta1",
        &["EndpointSlice"],
        21,
        25,
        Some("discovery.k8s.io/v1"),
    ),
    retired(
        "events.k8s.io/v1beta1",
        &["Event"],
        19,
        25,
        Some("events.k8s.io/v1"),
    ),
    retired(
        "autoscaling/v2beta1",
        &["HorizontalPodAutoscaler"],
        23,
        25,
        Some("autoscaling/v2"),
    ),
    retired(
        "policy/v1beta1",
        &["PodDisruptionBudget"],
        21,
        25,
        Some("policy/v1"),
    ),
    retired("policy/v1beta1", &["PodSecurityPolicy"], 21, 25, None),
    retired(
        "node.k8s.io/v1beta1",
        &["RuntimeClass"],
        20,
        25,
        Some("node.k8s.io/v1"),
    ),
    retired(
        "autoscaling/v2beta2",
        &["HorizontalPodAutoscaler"],
        23,
        26,
        Some("autoscaling/v2"),
    ),
    retired(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        &["FlowSchema", "PriorityLevelConfiguration"],
        23,
        26,
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
    retired(
        "storage.k8s.io/v1beta1",
        &["CSIStorageCapacity"],
        24,
        27,
        Some("storage.k8s.io/v1"),
    ),
    retired(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        &["FlowSchema", "PriorityLevelConfiguration"],
        26,
        29,
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
    retired(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        &["FlowSchema", "PriorityLevelConfiguration"],
        29,
        32,
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
    // Deprecated with no removal scheduled: the API server warns on use.
    retired(
        "v1",
        &["Endpoints"],
        33,
        NOT_SCHEDULED,
        Some("discovery.k8s.io/v1 EndpointSlice"),
    ),
];

/// Whether moving to the replacement is only a new `apiVersion`: the
/// migration guide lists no field changes (or, for a PodDisruptionBudget,
/// none that touch this object: an empty `selector` selects no pods in
/// `policy/v1beta1` and every pod in `policy/v1`).
fn same_fields(retired: &Retired, object: &Manifest) -> bool {
    match (retired.api_version, object.kind()) {
        ("policy/v1beta1", "PodDisruptionBudget") => object
            .node
            .path(&["spec", "selector"])
            .is_none_or(|selector| !selector.as_map().is_some_and(<[_]>::is_empty)),
        ("node.k8s.io/v1beta1", _)
        | ("apiregistration.k8s.io/v1beta1", _)
        | ("authentication.k8s.io/v1beta1", _)
        | ("coordination.k8s.io/v1beta1", _)
        | ("networking.k8s.io/v1beta1", "IngressClass")
        | ("rbac.authorization.k8s.io/v1beta1", _)
        | ("scheduling.k8s.io/v1beta1", _)
        | ("storage.k8s.io/v1beta1", _)
        | ("batch/v1beta1", "CronJob") => true,
        _ => false,
    }
}

/// The fix that writes the replacement `apiVersion`, where nothing else
/// changes; its quotes, if any, stay.
fn api_version_fix(retired: &Retired, object: &Manifest, cx: &RuleContext) -> Option<Fix> {
    let source = cx.source()?;
    let replacement = retired.replacement.filter(|r| !r.contains(' '))?;
    if !same_fields(retired, object) {
        return None;
    }
    let node = object.node.get("apiVersion")?;
    let written = source
        .text
        .get(node.span.start as usize..node.span.end as usize)?;
    let quote = match written.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) => (q as char).to_string(),
        _ => String::new(),
    };
    Some(Fix {
        applicability: Applicability::Safe,
        effect: Effect::Changes,
        title: format!("write `apiVersion: {replacement}`"),
        edits: vec![Edit {
            file: source.file,
            span: node.span,
            replacement: format!("{quote}{replacement}{quote}"),
        }],
    })
}

/// `removed` of an API with no removal scheduled.
const NOT_SCHEDULED: u16 = u16::MAX;

fn lookup(object: &Manifest) -> Option<&'static Retired> {
    let api_version = object.object.api_version.as_str();
    RETIRED.iter().find(|r| {
        r.api_version == api_version && (r.kinds.is_empty() || r.kinds.contains(&object.kind()))
    })
}

/// Where to point: the `apiVersion` value.
fn span(object: &Manifest) -> crate::yaml::Span {
    object
        .node
        .get("apiVersion")
        .map_or(object.node.span, |n| n.span)
}

fn replacement_help(retired: &Retired, object: &Manifest) -> String {
    let kind = object.kind();
    match retired.replacement {
        Some(replacement) if replacement.contains(' ') => format!("Use {replacement} instead of {kind}."),
        Some(replacement) if same_fields(retired, object) => format!("Use `apiVersion: {replacement}` for {kind}; no field changes between the versions."),
        Some(replacement) => format!("Use `apiVersion: {replacement}` for {kind}, and change the fields that differ between the versions (Kubernetes' deprecated API migration guide lists them)."),
        None if kind == "PodSecurityPolicy" => "Remove the PodSecurityPolicy and label the namespaces for Pod Security Admission (`pod-security.kubernetes.io/enforce`) instead.".to_owned(),
        None => format!("Remove the {kind}: nothing replaces this API."),
    }
}

impl Rule for RemovedApiVersion {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(retired) = lookup(object) else {
            return;
        };
        let target = cx.kubernetes_minor();
        if target < retired.removed {
            return;
        }
        let fix = api_version_fix(retired, object, cx);
        cx.report(
            span(object),
            format!(
                "Kubernetes 1.{} removed `{}` for {}: the API server rejects this object (the targeted version is 1.{target})",
                retired.removed,
                retired.api_version,
                object.kind()
            ),
        )
        .help(replacement_help(retired, object))
        .fix(fix);
    }
}

impl Rule for DeprecatedApiVersion {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(retired) = lookup(object) else {
            return;
        };
        let target = cx.kubernetes_minor();
        if target < retired.deprecated || target >= retired.removed {
            return;
        }
        let fix = api_version_fix(retired, object, cx);
        let consequence = if retired.removed == NOT_SCHEDULED {
            "the API server warns on every use, and a later release may remove it".to_owned()
        } else {
            format!(
                "Kubernetes 1.{} removes it, so upgrading the cluster breaks this manifest",
                retired.removed
            )
        };
        cx.report(
            span(object),
            format!(
                "`{}` for {} is deprecated since Kubernetes 1.{}: {consequence}",
                retired.api_version,
                object.kind(),
                retired.deprecated,
            ),
        )
        .help(replacement_help(retired, object))
        .fix(fix);
    }
}
