//! `seccomp-unconfined`: see rules/seccomp-unconfined.md
use super::helpers::{hardening_fix, linux_pod};
use crate::diagnostic::{Cause, Hardening, Severity};
use crate::k8s::Manifest;
use crate::k8s::predicates::{self as p, Scope};
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(SeccompUnconfined, "seccomp-unconfined");

const HELP: &str = "Set `seccompProfile: {type: RuntimeDefault}` in the pod's securityContext (or a Localhost profile).";

/// Where a profile's type is `Unconfined`.
fn unconfined(scope: &Scope) -> Option<crate::yaml::Span> {
    let profile = p::seccomp_profile(scope)?;
    (profile.kind.str() == Some("Unconfined"))
        .then(|| profile.kind.at())
        .flatten()
}

impl Rule for SeccompUnconfined {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = linux_pod(object) else { return };
        for annotation in p::seccomp_annotations(pod) {
            if annotation.value.eq_ignore_ascii_case("unconfined") {
                cx.report(
                    annotation.entry.value.span,
                    format!("annotation {:?} disables seccomp", annotation.entry.key),
                )
                .help(HELP)
                .severity(Severity::Error);
            }
        }
        if let Some(span) = unconfined(&Scope::Pod(*pod)) {
            cx.report(span, "pod disables seccomp for its containers")
                .help(HELP)
                .severity(Severity::Error);
        }
        for container in pod.containers() {
            if let Some(span) = unconfined(&Scope::Container(container)) {
                cx.report(
                    span,
                    format!("{} runs without seccomp", container.describe()),
                )
                .help("Set the container's seccompProfile type to RuntimeDefault or Localhost.")
                .severity(Severity::Error)
                .container(&container);
            } else if !p::effective(&container, p::seccomp_profile_field)
                .0
                .is_set()
            {
                // Neither the container nor the pod sets a profile (`null`
                // sets none, as the API server reads it).
                let fix = hardening_fix(cx, &container, Hardening::Seccomp);
                cx.report(
                    container.absence_span(),
                    format!("{} has no seccomp profile", container.describe()),
                )
                .help(HELP)
                .cause(Cause::Unhardened {
                    setting: Hardening::Seccomp,
                    container: container.describe(),
                })
                .container(&container)
                .fix(fix);
            }
        }
    }
}
