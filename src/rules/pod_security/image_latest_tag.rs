//! `image-latest-tag`: see rules/image-latest-tag.md
use crate::k8s::Manifest;
use crate::registry::{Rule, RuleContext};

crate::declare_rule!(ImageLatestTag, "image-latest-tag");

/// The tag of an image reference, if it has one. A `:` before the last `/`
/// is a registry port, not a tag.
pub fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last_part = name.rsplit('/').next().unwrap_or(name);
    last_part.split_once(':').map(|(_, tag)| tag)
}

impl Rule for ImageLatestTag {
    crate::rule_identity!();

    fn check(&self, object: &Manifest, cx: &mut RuleContext) {
        let Some(pod) = &object.pod else { return };
        for container in pod.containers() {
            let Some((image, span)) = container.image() else {
                continue;
            };
            let problem = match image_tag(image) {
                _ if image.contains('@') => continue,
                None => "has no tag, so it means latest",
                Some("latest") => "uses the latest tag",
                Some(_) => continue,
            };
            cx.report(span, format!("image {image:?} of {} {problem}", container.describe()))
                .help("Pin the image to a version tag, or better a digest (`@sha256:…`), so what runs is what was reviewed.")
                .container(&container);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::image_tag;

    #[test]
    fn tags() {
        assert_eq!(image_tag("nginx"), None);
        assert_eq!(image_tag("nginx:1.25"), Some("1.25"));
        assert_eq!(image_tag("host:5000/app"), None);
        assert_eq!(image_tag("host:5000/app:latest"), Some("latest"));
        assert_eq!(image_tag("app@sha256:abc"), None);
    }
}
