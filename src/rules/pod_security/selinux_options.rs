//! `selinux-options`: see rules/selinux-options.md
use crate::k8s::Manifest;
use crate::k8s::predicates::{self as p, SeLinuxOptions};
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(SelinuxOptions, "selinux-options");

const ALLOWED_TYPES: &[&str] = &[
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn check_options(options: &SeLinuxOptions, who: &str, cx: &mut RuleContext) {
    for (key, field) in [
        ("type", options.kind),
        ("user", options.user),
        ("role", options.role),
    ] {
        let Some(entry) = field.set() else { continue };
        let value = field.text();
        let problem = match key {
            "type" if !value.is_empty() && !ALLOWED_TYPES.contains(&value) => {
                format!("{who} sets the SELinux type {value:?}")
            }
            "user" if !value.is_empty() => format!("{who} sets the SELinux user {value:?}"),
            "role" if !value.is_empty() => format!("{who} sets the SELinux role {value:?}"),
            _ => continue,
        };
        cx.report(entry.value.span, problem)
            .help("Remove the SELinux user and role, and use one of the container types (container_t, container_init_t, container_kvm_t, container_engine_t); a custom type can lift the confinement.");
    }
}

impl Rule for SelinuxOptions {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for scope in p::scopes(pod) {
            let Some(options) = p::selinux_options(&scope) else {
                continue;
            };
            let who = scope
                .container()
                .map_or_else(|| "pod".to_owned(), |c| c.describe());
            check_options(&options, &who, cx);
        }
    }
}
