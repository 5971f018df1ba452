//! `privilege-escalation`: see rules/privilege-escalation.md
use super::helpers::{hardening_fix, linux_pod};
use crate::diagnostic::{Cause, Hardening};
use crate::k8s::Manifest;
use crate::k8s::predicates as p;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(PrivilegeEscalation, "privilege-escalation");

impl Rule for PrivilegeEscalation {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = linux_pod(object) else { return };
        for container in pod.containers() {
            let field = p::allow_privilege_escalation(&container);
            match field.bool() {
                Some(false) => {}
                Some(true) => {
                    let span = field.at().unwrap_or_else(|| container.absence_span());
                    cx.report(
                        span,
                        format!("{} allows privilege escalation", container.describe()),
                    )
                    .help("Set `allowPrivilegeEscalation: false`.")
                    .container(&container);
                }
                None => {
                    // Unset, null or not a boolean: at the key if written.
                    let fix = hardening_fix(cx, &container, Hardening::NoPrivilegeEscalation);
                    let span = field
                        .written()
                        .map_or_else(|| container.absence_span(), |e| e.key_span);
                    cx.report(span, format!("{} does not set allowPrivilegeEscalation to false", container.describe()))
                        .help("Add `allowPrivilegeEscalation: false` to the container's securityContext; unset, setuid binaries can gain root.")
                        .cause(Cause::Unhardened { setting: Hardening::NoPrivilegeEscalation, container: container.describe() })
                        .container(&container)
                        .fix(fix);
                }
            }
        }
    }
}
