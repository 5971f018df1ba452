//! `volume-type-restricted`: see rules/volume-type-restricted.md
use crate::k8s::Manifest;
// The Pod Security Standards' restricted volume types.
use crate::k8s::predicates as p;
use crate::pss::ALLOWED_VOLUMES as ALLOWED;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(VolumeTypeRestricted, "volume-type-restricted");

impl Rule for VolumeTypeRestricted {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for volume in pod.volumes() {
            let name = p::volume_name(volume);
            // Every set key but `name` is a source; unlike Pod Security,
            // which looks only at the first forbidden source of a volume
            // with no allowed one, the rule names each.
            for entry in p::volume_sources(volume) {
                if ALLOWED.contains(&entry.key.as_str()) {
                    continue;
                }
                cx.report(entry.key_span, format!("volume {name:?} has the type {}, outside the restricted set", entry.key))
                    .help("Use a configMap, secret, projected, emptyDir, persistentVolumeClaim, csi or ephemeral volume instead.");
            }
        }
    }
}
