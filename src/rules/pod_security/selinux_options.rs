//! `selinux-options`: see rules/selinux-options.md
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};
use crate::yaml::Entry;

crate::declare_rule!(SelinuxOptions, "selinux-options");

const ALLOWED_TYPES: &[&str] = &[
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn check_options(options: &Entry, who: &str, cx: &mut RuleContext) {
    for entry in options.value.as_map().unwrap_or_default() {
        let value = entry.value.as_str().unwrap_or_default();
        let problem = match entry.key.as_str() {
            "type" if !value.is_empty() && !ALLOWED_TYPES.contains(&value) => {
                format!("{who} sets the SELinux type {value:?}")
            }
            "user" if !entry.value.is_null() && !value.is_empty() => {
                format!("{who} sets the SELinux user {value:?}")
            }
            "role" if !entry.value.is_null() && !value.is_empty() => {
                format!("{who} sets the SELinux role {value:?}")
            }
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
        if let Some(options) = pod.security(&["seLinuxOptions"]) {
            check_options(options, "pod", cx);
        }
        for container in pod.containers() {
            if let Some(options) = container.security(&["seLinuxOptions"]) {
                check_options(options, &container.describe(), cx);
            }
        }
    }
}
