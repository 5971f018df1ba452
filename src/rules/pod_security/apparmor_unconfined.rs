//! `apparmor-unconfined`: see rules/apparmor-unconfined.md
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(ApparmorUnconfined, "apparmor-unconfined");

const HELP: &str = "Set appArmorProfile type to RuntimeDefault or Localhost.";

impl Rule for ApparmorUnconfined {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for annotation in p::apparmor_annotations(pod) {
            if annotation.value == "unconfined" {
                cx.report(annotation.entry.value.span, format!("annotation {:?} disables AppArmor", annotation.entry.key))
                    .help("Use `runtime/default` or a `localhost/` profile, or set appArmorProfile in the securityContext.");
            }
        }
        for scope in p::scopes(pod) {
            let Some(profile) = p::apparmor_profile(&scope) else {
                continue;
            };
            let Some(span) = profile.kind.at() else {
                continue;
            };
            if profile.kind.str() != Some("Unconfined") {
                continue;
            }
            match scope.container() {
                None => {
                    cx.report(span, "pod disables AppArmor for its containers")
                        .help(HELP);
                }
                Some(container) => {
                    cx.report(
                        span,
                        format!("{} runs without AppArmor", container.describe()),
                    )
                    .help(HELP)
                    .container(container);
                }
            }
        }
    }
}
