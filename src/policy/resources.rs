//! Kinds as admission sees them: the resource name a kind is served as,
//! and whether it is namespaced.

/// Kinds whose resource name the usual rule gets wrong.
const IRREGULAR: &[(&str, &str)] = &[("Endpoints", "endpoints")];

/// The resource (plural, lowercase) a kind is served as, guessed as the
/// API machinery guesses it (`NetworkPolicy` is `networkpolicies`).
pub fn plural(kind: &str) -> String {
    if let Some((_, resource)) = IRREGULAR.iter().find(|(k, _)| *k == kind) {
        return (*resource).to_owned();
    }
    let lower = kind.to_ascii_lowercase();
    if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// Built-in kinds that are not namespaced.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "APIService",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "CertificateSigningRequest",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ComponentStatus",
    "VolumeAttributesClass",
    "DeviceClass",
    "GatewayClass",
];

/// Whether objects of `kind` live in a namespace (custom kinds are
/// assumed to).
pub fn namespaced(kind: &str) -> bool {
    !CLUSTER_SCOPED.contains(&kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_become_resources() {
        assert_eq!(plural("Deployment"), "deployments");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("Gateway"), "gateways");
        assert_eq!(plural("Endpoints"), "endpoints");
    }
}
