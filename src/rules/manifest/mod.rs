//! Findings about files rather than objects: the YAML rules check each file
//! (`yaml_rules`); the rest are reported by the stage that meets the
//! problem (a file that cannot be read, a chart or build that cannot be
//! expanded, a suppression that hid nothing), and are declared here so they
//! can be configured like any rule.

mod api_versions;
mod schema_rules;
mod yaml_rules;
pub mod yaml_traps;

pub use api_versions::{DeprecatedApiVersion, RemovedApiVersion};
pub use schema_rules::{SchemaTypeMismatch, UnknownField};
pub use yaml_rules::{YamlAmbiguousValue, YamlDuplicateKey, YamlSyntax};

use crate::registry::Rule;

crate::declare_rule!(UnusedSuppression, "unused-suppression");
crate::declare_rule!(UnreadableFile, "unreadable-file");
crate::declare_rule!(HelmChartNotRendered, "helm-chart-not-rendered");
crate::declare_rule!(KustomizeBuildFailed, "kustomize-build-failed");
crate::declare_rule!(AdmissionPolicyDenied, "admission-policy-denied");
crate::declare_rule!(
    AdmissionPolicyNotEvaluated,
    "admission-policy-not-evaluated"
);
crate::declare_rule!(PolicyExpressionError, "policy-expression-error");

// The policy stage (`crate::policy`) reports these three: it evaluates
// custom rules and admission policies after the objects are loaded.
impl Rule for AdmissionPolicyDenied {
    crate::rule_identity!();
}

impl Rule for AdmissionPolicyNotEvaluated {
    crate::rule_identity!();
}

impl Rule for PolicyExpressionError {
    crate::rule_identity!();
}

impl Rule for UnusedSuppression {
    crate::rule_identity!();
}

impl Rule for UnreadableFile {
    crate::rule_identity!();
}

impl Rule for HelmChartNotRendered {
    crate::rule_identity!();
}

impl Rule for KustomizeBuildFailed {
    crate::rule_identity!();
}
