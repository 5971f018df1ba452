//! RBAC: what roles allow, whom bindings grant them to, and which workloads
//! end up holding dangerous permissions.

mod bindings;
mod permissions;
mod wildcard;
mod workload_escalation;

pub use bindings::{RbacClusterAdminBinding, RbacDefaultSaBinding, RbacSystemGroupBinding};
pub use permissions::{
    RbacCreatePods, RbacEscalateBindImpersonate, RbacNodeProxy, RbacPodExec, RbacPortForward,
    RbacSecretsRead, RbacTokenCreate,
};
pub use wildcard::RbacWildcard;
pub use workload_escalation::RbacWorkloadEscalation;
