//! `image-not-pinned`: see rules/image-not-pinned.md
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(ImageNotPinned, "image-not-pinned");

impl Rule for ImageNotPinned {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod.containers() {
            let Some((image, span)) = container.image() else {
                continue;
            };
            if image.contains("@sha256:") {
                continue;
            }
            cx.report(span, format!("image {image:?} of {} is not pinned to a digest", container.describe()))
                .help("Append the image digest (`@sha256:…`); a tag can be moved to other content at any time.")
                .container(&container);
        }
    }
}
