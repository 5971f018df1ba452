//! Generates `data/schema/kubernetes-v1.37.json`, the compact schema of
//! every built-in kind that `unknown-field` and `schema-type-mismatch`
//! check against, from k8s-openapi's JSON Schemas (schemars).
//!
//!     cargo run --example gen_k8s_schema > data/schema/kubernetes-v1.37.json
//!
//! The output keeps what validation needs (properties, item and value
//! types, formats, enums) and drops descriptions. `tests/schema.rs` fails
//! when the committed file differs from a fresh run.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Collects the schema of each resource type with its apiVersion and kind.
macro_rules! kinds {
    ($($ty:path,)*) => {{
        let mut kinds: Vec<(String, Value)> = Vec::new();
        $(
            kinds.push((
                format!(
                    "{} {}",
                    <$ty as k8s_openapi::Resource>::API_VERSION,
                    <$ty as k8s_openapi::Resource>::KIND
                ),
                serde_json::to_value(schemars::schema_for!($ty)).expect("schemas serialize"),
            ));
        )*
        kinds
    }};
}

/// Enum values a description lists as "One of Always, Never, IfNotPresent."
/// (the API's own wording; the OpenAPI v2 schema has no `enum`). Only
/// capitalised words count, and at least two.
fn enum_values(description: &str) -> Option<Vec<String>> {
    let (_, rest) = description.split_once("One of ")?;
    let list = rest.split(['.', ';', '\n']).next()?;
    let values: Vec<String> = list
        .split([',', ' '])
        .map(|w| w.trim_matches(|c: char| c == '"' || c == '`' || c == '\''))
        .filter(|w| !w.is_empty() && *w != "or" && *w != "and")
        .map(str::to_owned)
        .collect();
    let well_formed = values.len() >= 2
        && values.iter().all(|v| {
            v.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && v.chars().all(|c| c.is_ascii_alphanumeric())
        });
    well_formed.then_some(values)
}

/// The compact form of one schema node.
fn compact(node: &Value) -> Value {
    let mut out = Map::new();
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return match name {
            "io.k8s.apimachinery.pkg.api.resource.Quantity" => json!({"type": "quantity"}),
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => json!({"type": "int-or-string"}),
            _ => json!({"ref": name}),
        };
    }
    if node.get("x-kubernetes-int-or-string").is_some() {
        return json!({"type": "int-or-string"});
    }
    if node.get("x-kubernetes-preserve-unknown-fields").is_some() {
        return json!({"type": "any"});
    }
    let kind = node.get("type").and_then(Value::as_str);
    match kind {
        Some(kind) => {
            out.insert("type".into(), json!(kind));
        }
        None if node.get("properties").is_none() => return json!({"type": "any"}),
        None => {
            out.insert("type".into(), json!("object"));
        }
    }
    if let Some(format) = node.get("format").and_then(Value::as_str)
        && matches!(format, "int32" | "int64" | "byte" | "date-time")
    {
        out.insert("format".into(), json!(format));
    }
    if let Some(values) = node
        .get("description")
        .and_then(Value::as_str)
        .and_then(enum_values)
    {
        out.insert("enum".into(), json!(values));
    }
    if let Some(items) = node.get("items") {
        out.insert("items".into(), compact(items));
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        out.insert("values".into(), compact(values));
    }
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        let properties: BTreeMap<&String, Value> =
            properties.iter().map(|(k, v)| (k, compact(v))).collect();
        out.insert("properties".into(), json!(properties));
    }
    // An object with neither fields nor value types is free-form JSON
    // (RawExtension, JSON, FieldsV1): anything goes.
    if kind == Some("object") && !out.contains_key("properties") && !out.contains_key("values") {
        return json!({"type": "any"});
    }
    Value::Object(out)
}

fn main() {
    let kinds = kinds! {
        k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicy,
        k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicyBinding,
        k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration,
        k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy,
        k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding,
        k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration,
        k8s_openapi::api::admissionregistration::v1alpha1::MutatingAdmissionPolicy,
        k8s_openapi::api::admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding,
        k8s_openapi::api::admissionregistration::v1beta1::MutatingAdmissionPolicy,
        k8s_openapi::api::admissionregistration::v1beta1::MutatingAdmissionPolicyBinding,
        k8s_openapi::api::apiserverinternal::v1alpha1::StorageVersion,
        k8s_openapi::api::apps::v1::ControllerRevision,
        k8s_openapi::api::apps::v1::DaemonSet,
        k8s_openapi::api::apps::v1::Deployment,
        k8s_openapi::api::apps::v1::ReplicaSet,
        k8s_openapi::api::apps::v1::StatefulSet,
        k8s_openapi::api::authentication::v1::SelfSubjectReview,
        k8s_openapi::api::authentication::v1::TokenRequest,
        k8s_openapi::api::authentication::v1::TokenReview,
        k8s_openapi::api::authorization::v1::LocalSubjectAccessReview,
        k8s_openapi::api::authorization::v1::SelfSubjectAccessReview,
        k8s_openapi::api::authorization::v1::SelfSubjectRulesReview,
        k8s_openapi::api::authorization::v1::SubjectAccessReview,
        k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler,
        k8s_openapi::api::autoscaling::v1::Scale,
        k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
        k8s_openapi::api::batch::v1::CronJob,
        k8s_openapi::api::batch::v1::Job,
        k8s_openapi::api::certificates::v1::CertificateSigningRequest,
        k8s_openapi::api::certificates::v1::ClusterTrustBundle,
        k8s_openapi::api::certificates::v1::PodCertificateRequest,
        k8s_openapi::api::certificates::v1beta1::ClusterTrustBundle,
        k8s_openapi::api::certificates::v1beta1::PodCertificateRequest,
        k8s_openapi::api::coordination::v1::Lease,
        k8s_openapi::api::coordination::v1alpha2::LeaseCandidate,
        k8s_openapi::api::coordination::v1beta1::LeaseCandidate,
        k8s_openapi::api::core::v1::Binding,
        k8s_openapi::api::core::v1::ComponentStatus,
        k8s_openapi::api::core::v1::ConfigMap,
        k8s_openapi::api::core::v1::Endpoints,
        k8s_openapi::api::core::v1::Event,
        k8s_openapi::api::core::v1::LimitRange,
        k8s_openapi::api::core::v1::Namespace,
        k8s_openapi::api::core::v1::Node,
        k8s_openapi::api::core::v1::PersistentVolume,
        k8s_openapi::api::core::v1::PersistentVolumeClaim,
        k8s_openapi::api::core::v1::Pod,
        k8s_openapi::api::core::v1::PodTemplate,
        k8s_openapi::api::core::v1::ReplicationController,
        k8s_openapi::api::core::v1::ResourceQuota,
        k8s_openapi::api::core::v1::Secret,
        k8s_openapi::api::core::v1::Service,
        k8s_openapi::api::core::v1::ServiceAccount,
        k8s_openapi::api::discovery::v1::EndpointSlice,
        k8s_openapi::api::events::v1::Event,
        k8s_openapi::api::flowcontrol::v1::FlowSchema,
        k8s_openapi::api::flowcontrol::v1::PriorityLevelConfiguration,
        k8s_openapi::api::lifecycle::v1alpha1::Eviction,
        k8s_openapi::api::lifecycle::v1alpha1::EvictionRequest,
        k8s_openapi::api::networking::v1::IPAddress,
        k8s_openapi::api::networking::v1::Ingress,
        k8s_openapi::api::networking::v1::IngressClass,
        k8s_openapi::api::networking::v1::NetworkPolicy,
        k8s_openapi::api::networking::v1::ServiceCIDR,
        k8s_openapi::api::node::v1::RuntimeClass,
        k8s_openapi::api::policy::v1::Eviction,
        k8s_openapi::api::policy::v1::PodDisruptionBudget,
        k8s_openapi::api::rbac::v1::ClusterRole,
        k8s_openapi::api::rbac::v1::ClusterRoleBinding,
        k8s_openapi::api::rbac::v1::Role,
        k8s_openapi::api::rbac::v1::RoleBinding,
        k8s_openapi::api::resource::v1::DeviceClass,
        k8s_openapi::api::resource::v1::DeviceTaintRule,
        k8s_openapi::api::resource::v1::ResourceClaim,
        k8s_openapi::api::resource::v1::ResourceClaimTemplate,
        k8s_openapi::api::resource::v1::ResourceSlice,
        k8s_openapi::api::resource::v1alpha3::DeviceTaintRule,
        k8s_openapi::api::resource::v1alpha3::ResourcePoolStatusRequest,
        k8s_openapi::api::resource::v1beta1::DeviceClass,
        k8s_openapi::api::resource::v1beta1::ResourceClaim,
        k8s_openapi::api::resource::v1beta1::ResourceClaimTemplate,
        k8s_openapi::api::resource::v1beta1::ResourceSlice,
        k8s_openapi::api::resource::v1beta2::DeviceClass,
        k8s_openapi::api::resource::v1beta2::DeviceTaintRule,
        k8s_openapi::api::resource::v1beta2::ResourceClaim,
        k8s_openapi::api::resource::v1beta2::ResourceClaimTemplate,
        k8s_openapi::api::resource::v1beta2::ResourceSlice,
        k8s_openapi::api::scheduling::v1::PriorityClass,
        k8s_openapi::api::scheduling::v1alpha3::CompositePodGroup,
        k8s_openapi::api::scheduling::v1alpha3::PodGroup,
        k8s_openapi::api::scheduling::v1alpha3::Workload,
        k8s_openapi::api::scheduling::v1beta1::PodGroup,
        k8s_openapi::api::scheduling::v1beta1::Workload,
        k8s_openapi::api::storage::v1::CSIDriver,
        k8s_openapi::api::storage::v1::CSINode,
        k8s_openapi::api::storage::v1::CSIStorageCapacity,
        k8s_openapi::api::storage::v1::StorageClass,
        k8s_openapi::api::storage::v1::VolumeAttachment,
        k8s_openapi::api::storage::v1::VolumeAttributesClass,
        k8s_openapi::api::storagemigration::v1::StorageVersionMigration,
        k8s_openapi::api::storagemigration::v1beta1::StorageVersionMigration,
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService,
    };
    let mut types: BTreeMap<String, Value> = BTreeMap::new();
    let mut roots: BTreeMap<String, String> = BTreeMap::new();
    for (key, schema) in kinds {
        let title = schema["title"].as_str().unwrap_or(&key).to_owned();
        for (name, definition) in schema["$defs"].as_object().into_iter().flatten() {
            types
                .entry(name.clone())
                .or_insert_with(|| compact(definition));
        }
        let mut root = schema.clone();
        root.as_object_mut()
            .expect("a schema object")
            .remove("$defs");
        let name = format!("root:{title}");
        types.insert(name.clone(), compact(&root));
        roots.insert(key, name);
    }
    let document = json!({
        "source": "k8s-openapi 0.29 (feature v1_37), schemars JSON Schema, compacted by examples/gen_k8s_schema.rs",
        "kinds": roots,
        "types": types,
    });
    println!(
        "{}",
        serde_json::to_string(&document).expect("serializable")
    );
}
