//! `unknown-field` and `schema-type-mismatch`: the object against the
//! schema of its built-in kind (see `crate::schema`).
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};
use crate::schema::Problem;

crate::declare_rule!(UnknownField, "unknown-field");
crate::declare_rule!(SchemaTypeMismatch, "schema-type-mismatch");

impl Rule for UnknownField {
    crate::rule_identity!();

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
            let hint = suggestion
                .as_deref()
                .map_or_else(String::new, |s| format!("; did you mean `{s}`?"));
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
