//! `rbac-wildcard`: see rules/rbac-wildcard.md
use crate::diagnostic::Severity;
use crate::k8s::Manifest;
use crate::rbac::{Item, RoleFact};
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(RbacWildcard, "rbac-wildcard");

impl Rule for RbacWildcard {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(role) = RoleFact::from_manifest(object) else {
            return;
        };
        for rule in role.rules.iter().filter(|r| r.resource_names.is_empty()) {
            let stars = |items: &[Item]| -> Vec<crate::yaml::Span> {
                items
                    .iter()
                    .filter(|i| i.text == "*")
                    .map(|i| i.span)
                    .collect()
            };
            let (verbs, resources, groups) = (
                stars(&rule.verbs),
                stars(&rule.resources),
                stars(&rule.api_groups),
            );
            let everything = !verbs.is_empty() && !resources.is_empty();
            let mut all: Vec<(crate::yaml::Span, &str)> = Vec::new();
            all.extend(verbs.iter().map(|s| (*s, "verbs")));
            all.extend(resources.iter().map(|s| (*s, "resources")));
            all.extend(groups.iter().map(|s| (*s, "apiGroups")));
            let Some(((first, field), rest)) = all.split_first() else {
                continue;
            };
            let message = if everything {
                "this rule allows every verb on every resource it covers: whoever holds it can do anything there, including reading secrets and granting itself more".to_owned()
            } else {
                format!(
                    "`*` in {field} grants more than the rule names, including verbs, resources or API groups added in the future"
                )
            };
            let mut report = cx
                .report(*first, message)
                .help("List the verbs, resources and API groups the holder needs instead of `*`.")
                .severity(if everything {
                    Severity::Error
                } else {
                    Severity::Warning
                });
            for (span, field) in rest {
                report = report.related(object.file, *span, format!("`*` in {field}"));
            }
        }
    }
}
