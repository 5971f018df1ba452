//! Namespaces as security boundaries: Pod Security Admission labels, the
//! workloads they admit, and network isolation.

mod missing_network_policy;
mod namespace_no_pod_security;
mod pod_security_violation;

pub use missing_network_policy::MissingNetworkPolicy;
pub use namespace_no_pod_security::NamespaceNoPodSecurity;
pub use pod_security_violation::PodSecurityViolation;
