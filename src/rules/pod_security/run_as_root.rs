//! `run-as-root`: see rules/run-as-root.md
use super::helpers::{hardening_fix, linux_pod};
use crate::diagnostic::{Cause, Hardening, Severity};
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(RunAsRoot, "run-as-root");

impl Rule for RunAsRoot {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = linux_pod(object) else { return };
        for container in pod.containers() {
            let (user, _) = p::effective(&container, p::run_as_user);
            match user.int() {
                Some(0) => {
                    let span = user.at().unwrap_or_else(|| container.absence_span());
                    cx.report(
                        span,
                        format!("{} runs as root (UID 0)", container.describe()),
                    )
                    .help("Set runAsUser to a non-zero UID and `runAsNonRoot: true`.")
                    .severity(Severity::Error)
                    .container(&container);
                }
                Some(_) => {}
                // A set value of the wrong type: the schema rules say so.
                None if user.is_set() => {}
                None => {
                    let (non_root, _) = p::effective(&container, p::run_as_non_root);
                    if non_root.bool() != Some(true) {
                        let fix = hardening_fix(cx, &container, Hardening::NonRoot);
                        cx.report(container.absence_span(), format!("{} may run as root, depending on its image", container.describe()))
                            .help("Set `runAsNonRoot: true` (and a non-zero runAsUser) in the container's or the pod's securityContext.")
                            .cause(Cause::Unhardened { setting: Hardening::NonRoot, container: container.describe() })
                            .container(&container)
                            .fix(fix);
                    }
                }
            }
        }
    }
}
