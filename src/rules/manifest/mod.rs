//! Findings about files rather than objects. The runner emits them (a rule
//! cannot look at a document that did not load); these declarations bind
//! them to their catalog files so they can be configured like any rule.

mod api_versions;
mod schema_rules;
pub mod yaml_traps;

pub use api_versions::{DeprecatedApiVersion, RemovedApiVersion};
pub use schema_rules::{SchemaTypeMismatch, UnknownField};

use crate::registry::Rule;

crate::declare_rule!(YamlSyntax, "yaml-syntax");
crate::declare_rule!(YamlDuplicateKey, "yaml-duplicate-key");
crate::declare_rule!(YamlAmbiguousValue, "yaml-ambiguous-value");
crate::declare_rule!(UnusedSuppression, "unused-suppression");
crate::declare_rule!(UnreadableFile, "unreadable-file");
crate::declare_rule!(HelmChartNotRendered, "helm-chart-not-rendered");
crate::declare_rule!(KustomizeBuildFailed, "kustomize-build-failed");

impl Rule for YamlSyntax {
    crate::rule_identity!();
}

impl Rule for UnusedSuppression {
    crate::rule_identity!();
}

impl Rule for UnreadableFile {
    crate::rule_identity!();
}

impl Rule for YamlDuplicateKey {
    crate::rule_identity!();
}

impl Rule for YamlAmbiguousValue {
    crate::rule_identity!();
}

impl Rule for HelmChartNotRendered {
    crate::rule_identity!();
}

impl Rule for KustomizeBuildFailed {
    crate::rule_identity!();
}
