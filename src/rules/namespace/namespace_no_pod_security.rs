//! `namespace-no-pod-security`: see rules/namespace-no-pod-security.md
use crate::k8s::Manifest;
use crate::pss::{self, Level, Version};
use crate::registry::{Rule, RuleContext};
use crate::yaml::Node;

crate::declare_rule!(NamespaceNoPodSecurity, "namespace-no-pod-security");

/// The labels Pod Security Admission reads, after the prefix.
const KNOWN_LABELS: &[&str] = &[
    "enforce",
    "enforce-version",
    "warn",
    "warn-version",
    "audit",
    "audit-version",
];

impl Rule for NamespaceNoPodSecurity {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        if object.kind() != "Namespace" || !object.group().is_empty() {
            return;
        }
        let name = &object.object.name;
        let labels = object
            .metadata()
            .and_then(|m| m.get("labels"))
            .and_then(Node::as_map)
            .unwrap_or_default();
        let mut has_enforce = false;
        for label in labels {
            let Some(short) = label.key.strip_prefix(pss::LABEL_PREFIX) else {
                continue;
            };
            if !KNOWN_LABELS.contains(&short) {
                let hint = crate::spelling::nearest(short, KNOWN_LABELS.iter().copied())
                    .map(|s| format!("; did you mean `{}{s}`?", pss::LABEL_PREFIX))
                    .unwrap_or_default();
                cx.report(label.key_span, format!("Pod Security Admission ignores the label {:?}{hint}", label.key))
                    .help("Use one of the labels Pod Security reads: enforce, warn or audit, each with an optional -version.");
                continue;
            }
            has_enforce |= short == "enforce";
            let value = label.value.as_str().unwrap_or_default();
            if short.ends_with("-version") {
                if Version::parse(value).is_none() {
                    cx.report(label.value.span, format!("{value:?} is not a Pod Security version, so the API server refuses this Namespace"))
                        .help("Write the version as `v1.N` (such as v1.30) or `latest`.");
                }
            } else if Level::parse(value).is_none() {
                cx.report(
                    label.value.span,
                    format!("{value:?} is not a Pod Security level, so the API server refuses this Namespace"),
                )
                .help("Use `restricted`, `baseline` or `privileged`.");
            }
        }
        if has_enforce {
            return;
        }
        let span = object
            .node
            .entry("metadata")
            .map_or(object.node.span, |e| e.key_span);
        cx.report(span, format!("namespace {name:?} has no Pod Security enforce label, so it admits privileged pods"))
            .label("add `pod-security.kubernetes.io/enforce` to these labels")
            .help("Add the label `pod-security.kubernetes.io/enforce: restricted` (or `baseline`); if the namespace must run privileged pods, set `privileged` to say so.");
    }
}
