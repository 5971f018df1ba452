//! `rbac-wildcard`: see rules/rbac-wildcard.md
use crate::diagnostic::{Cause, Severity};
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
        let holder = if role.cluster {
            "whoever it is bound to"
        } else {
            "whoever it is bound to in its namespace"
        };
        for (item, rule) in role
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.resource_names.is_empty())
        {
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
            let (message, grant, consequence) = if everything {
                (
                    "this rule allows every verb on every resource it covers: whoever holds it can do anything there, including reading secrets and granting itself more".to_owned(),
                    "every verb on every resource".to_owned(),
                    "do anything to every resource the rule covers".to_owned(),
                )
            } else {
                (
                    format!(
                        "`*` in {field} grants more than the rule names, including verbs, resources or API groups added in the future"
                    ),
                    format!("`*` in {field}"),
                    "use whatever `*` comes to cover, including verbs, resources and API groups added in the future".to_owned(),
                )
            };
            let mut report = cx
                .report(*first, message)
                .help("List the verbs, resources and API groups the holder needs instead of `*`.")
                .severity(if everything {
                    Severity::Error
                } else {
                    Severity::Warning
                })
                .cause(Cause::RoleRule {
                    item: item as u32,
                    holder,
                    grant,
                    consequence,
                    wildcard: true,
                });
            for (span, field) in rest {
                report = report.related(object.file, *span, format!("`*` in {field}"));
            }
        }
    }
}
