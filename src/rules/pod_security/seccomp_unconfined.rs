//! `seccomp-unconfined`: see rules/seccomp-unconfined.md
use super::helpers::linux_pod;
use crate::diagnostic::Severity;
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(SeccompUnconfined, "seccomp-unconfined");

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";
const HELP: &str = "Set `seccompProfile: {type: RuntimeDefault}` in the pod's securityContext (or a Localhost profile).";

impl Rule for SeccompUnconfined {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = linux_pod(object) else { return };
        for entry in pod.annotations() {
            let unconfined = entry
                .value
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case("unconfined"));
            if unconfined
                && (entry.key == POD_ANNOTATION || entry.key.starts_with(CONTAINER_ANNOTATION))
            {
                cx.report(
                    entry.value.span,
                    format!("annotation {:?} disables seccomp", entry.key),
                )
                .help(HELP)
                .severity(Severity::Error);
            }
        }
        let pod_type = pod.security(&["seccompProfile", "type"]);
        if let Some(entry) = pod_type.filter(|e| e.value.as_str() == Some("Unconfined")) {
            cx.report(entry.value.span, "pod disables seccomp for its containers")
                .help(HELP)
                .severity(Severity::Error);
        }
        for container in pod.containers() {
            let own = container.security(&["seccompProfile", "type"]);
            if let Some(entry) = own.filter(|e| e.value.as_str() == Some("Unconfined")) {
                cx.report(
                    entry.value.span,
                    format!("{} runs without seccomp", container.describe()),
                )
                .help("Set the container's seccompProfile type to RuntimeDefault or Localhost.")
                .severity(Severity::Error)
                .container(&container);
            } else if own.is_none()
                // `seccompProfile: null` sets no profile, as the API server
                // and Pod Security read it.
                && container.security(&["seccompProfile"]).is_none_or(|e| e.value.is_null())
                && pod.security(&["seccompProfile"]).is_none_or(|e| e.value.is_null())
            {
                cx.report(
                    container.absence_span(),
                    format!("{} has no seccomp profile", container.describe()),
                )
                .help(HELP)
                .container(&container);
            }
        }
    }
}
