//! `apparmor-unconfined`: see rules/apparmor-unconfined.md
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(ApparmorUnconfined, "apparmor-unconfined");

const ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

impl Rule for ApparmorUnconfined {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for entry in pod.annotations() {
            if entry.key.starts_with(ANNOTATION) && entry.value.as_str() == Some("unconfined") {
                cx.report(entry.value.span, format!("annotation {:?} disables AppArmor", entry.key))
                    .help("Use `runtime/default` or a `localhost/` profile, or set appArmorProfile in the securityContext.");
            }
        }
        if let Some(entry) = pod
            .security(&["appArmorProfile", "type"])
            .filter(|e| e.value.as_str() == Some("Unconfined"))
        {
            cx.report(entry.value.span, "pod disables AppArmor for its containers")
                .help("Set appArmorProfile type to RuntimeDefault or Localhost.");
        }
        for container in pod.containers() {
            if let Some(entry) = container
                .security(&["appArmorProfile", "type"])
                .filter(|e| e.value.as_str() == Some("Unconfined"))
            {
                cx.report(
                    entry.value.span,
                    format!("{} runs without AppArmor", container.describe()),
                )
                .help("Set appArmorProfile type to RuntimeDefault or Localhost.")
                .container(&container);
            }
        }
    }
}
