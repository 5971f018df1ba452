//! `volume-type-restricted`: see rules/volume-type-restricted.md
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};
use crate::yaml::Node;

crate::declare_rule!(VolumeTypeRestricted, "volume-type-restricted");

/// The Pod Security Standards' restricted volume types.
const ALLOWED: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
    "image",
];

impl Rule for VolumeTypeRestricted {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for volume in pod.volumes() {
            let name = volume.get("name").and_then(Node::as_str).unwrap_or("");
            for entry in volume.as_map().unwrap_or_default() {
                if entry.key == "name"
                    || entry.value.is_null()
                    || ALLOWED.contains(&entry.key.as_str())
                {
                    continue;
                }
                cx.report(entry.key_span, format!("volume {name:?} has the type {}, outside the restricted set", entry.key))
                    .help("Use a configMap, secret, projected, emptyDir, persistentVolumeClaim, csi or ephemeral volume instead.");
            }
        }
    }
}
