//! Every rule, in one list. Adding a rule: `rules/<id>.md`, fixtures in
//! `testdata/rules/<id>/`, a file in its family with `declare_rule!`, and a
//! line here; `tests/catalog.rs` fails on any step forgotten.

pub mod manifest;
pub mod namespace;
pub mod pod_security;
pub mod rbac;

use crate::registry::Rule;
use manifest::*;
use namespace::*;
use pod_security::*;
use rbac::*;

/// Every rule kslint has, sorted by id.
pub static RULES: &[&dyn Rule] = &[
    &AdmissionPolicyDenied,
    &AdmissionPolicyNotEvaluated,
    &ApparmorUnconfined,
    &AutomountServiceAccountToken,
    &CapabilitiesNotDropped,
    &DangerousCapability,
    &DefaultServiceAccount,
    &DeprecatedApiVersion,
    &HelmChartNotRendered,
    &HostIpc,
    &HostNetwork,
    &HostPath,
    &HostPid,
    &HostPort,
    &HostProcess,
    &ImageLatestTag,
    &ImageNotPinned,
    &KustomizeBuildFailed,
    &MissingNetworkPolicy,
    &NamespaceNoPodSecurity,
    &NetRaw,
    &PodSecurityViolation,
    &PolicyExpressionError,
    &PrivilegeEscalation,
    &PrivilegedContainer,
    &ProcMount,
    &RbacClusterAdminBinding,
    &RbacCreatePods,
    &RbacDefaultSaBinding,
    &RbacEscalateBindImpersonate,
    &RbacNodeProxy,
    &RbacPodExec,
    &RbacPortForward,
    &RbacSecretsRead,
    &RbacSystemGroupBinding,
    &RbacTokenCreate,
    &RbacWildcard,
    &RbacWorkloadEscalation,
    &RemovedApiVersion,
    &ResourceLimitsMissing,
    &RunAsRoot,
    &SchemaTypeMismatch,
    &SeccompUnconfined,
    &SelinuxOptions,
    &UnknownField,
    &UnreadableFile,
    &UnsafeSysctl,
    &UnusedSuppression,
    &VolumeTypeRestricted,
    &WritableRootFilesystem,
    &YamlAmbiguousValue,
    &YamlDuplicateKey,
    &YamlSyntax,
];
