//! `unknown-field` and `schema-type-mismatch`: the object against the
//! schema of its built-in kind (see `crate::schema`).
use crate::index::ClusterView;
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};
use crate::schema::Problem;

crate::declare_rule!(UnknownField, "unknown-field");
crate::declare_rule!(SchemaTypeMismatch, "schema-type-mismatch");

/// `; did you mean `x`?`, or nothing.
fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

impl Rule for UnknownField {
    crate::rule_identity!();

    fn check_run(&self, cluster: &ClusterView, cx: &mut RuleContext) {
        for found in cluster.crd_problems() {
            let Problem::UnknownField {
                name,
                span,
                suggestion,
                parent,
            } = &found.problem
            else {
                continue;
            };
            let place = if parent.is_empty() {
                format!(
                    "the schema of {} (CRD {}) has no field `{name}`",
                    found.object.kind, found.crd
                )
            } else {
                format!(
                    "`{parent}` in the schema of {} (CRD {}) has no field `{name}`",
                    found.object.kind, found.crd
                )
            };
            let hint = did_you_mean(suggestion.as_deref());
            cx.report_at(found.file, *span, format!("{place}{hint}"), Some((found.slot, found.object.clone())))
                .help("Fix the field name; the API server prunes fields its CRD schema does not list, so this setting would be dropped.");
        }
    }

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        for problem in object.schema_problems() {
            let Problem::UnknownField {
                name,
                span,
                suggestion,
                parent,
            } = problem
            else {
                continue;
            };
            let place = if parent.is_empty() {
                format!("{} has no field `{name}`", object.kind())
            } else {
                format!("`{parent}` of a {} has no field `{name}`", object.kind())
            };
            let hint = did_you_mean(suggestion.as_deref());
            let help = match &suggestion {
                Some(s) => format!("Rename it to `{s}`; as written, Kubernetes drops it (or rejects the object under strict validation), with every setting below it."),
                None => "Remove it, or move it to where it belongs; as written, Kubernetes drops it (or rejects the object under strict validation).".to_owned(),
            };
            cx.report(*span, format!("{place}{hint}")).help(help);
        }
    }
}

impl Rule for SchemaTypeMismatch {
    crate::rule_identity!();

    fn check_run(&self, cluster: &ClusterView, cx: &mut RuleContext) {
        for found in cluster.crd_problems() {
            let Problem::Mismatch {
                span,
                path,
                expected,
                found: written,
            } = &found.problem
            else {
                continue;
            };
            let place = if path.is_empty() {
                "the object".to_owned()
            } else {
                format!("`{path}`")
            };
            cx.report_at(
                found.file,
                *span,
                format!("{place} must be {expected} by the schema of CRD {}, but it is {written}", found.crd),
                Some((found.slot, found.object.clone())),
            )
            .help("Change the value to what the CRD's schema allows; the API server rejects the object otherwise.");
        }
    }

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        for problem in object.schema_problems() {
            let Problem::Mismatch {
                span,
                path,
                expected,
                found,
            } = problem
            else {
                continue;
            };
            cx.report(*span, format!("`{path}` must be {expected}, but it is {found}"))
                .help("Write the value in the type the field takes; quote numbers meant as text, and unquote numbers and booleans meant as such.");
        }
    }
}
