//! The `images` transformer: new names, tags and digests for container
//! images.

use super::super::Error;
use super::super::pattern::Plain;
use super::super::res::{self, Res, string};
use crate::yaml::{Node, Span, Value};

/// One `images` entry, ready to apply to an image reference.
struct ImageRule<'e> {
    name: ImageName,
    new_name: Option<&'e str>,
    new_tag: Option<String>,
    digest: Option<&'e str>,
}

impl<'e> ImageRule<'e> {
    fn new(entry: &'e Node) -> Result<Self, Error> {
        let name = res::str_at(entry, &["name"]).unwrap_or("");
        if entry.get("tagSuffix").is_some() {
            return Err(Error::unsupported("`images` with `tagSuffix`", entry.span));
        }
        // Kustomize reads the YAML text of a number (`1.10`), which the
        // parsed value no longer has.
        if let Some(tag) = entry
            .get("newTag")
            .filter(|t| !matches!(t.value, Value::Str(_)))
        {
            return Err(Error::unsupported(
                "an `images` newTag written as a number",
                tag.span,
            ));
        }
        let name = ImageName::new(name).map_err(|_| {
            Error::invalid(format!("`{name}` is not a valid image name"), entry.span)
        })?;
        Ok(ImageRule {
            name,
            new_name: res::str_at(entry, &["newName"]),
            new_tag: entry.get("newTag").map(res::value_text),
            digest: res::str_at(entry, &["digest"]),
        })
    }

    /// The image as this entry rewrites it, if the entry names it.
    fn apply(&self, image: &str) -> Option<String> {
        if !self.name.is_match(image) {
            return None;
        }
        let (mut base, mut tag, mut sha) = split_image(image);
        if let Some(n) = self.new_name {
            base = n.to_owned();
        }
        match (&self.new_tag, self.digest) {
            (Some(t), Some(d)) => {
                tag = Some(t.clone());
                sha = Some(d.to_owned());
            }
            (Some(t), None) => {
                tag = Some(t.clone());
                sha = None;
            }
            (None, Some(d)) => {
                tag = None;
                sha = Some(d.to_owned());
            }
            (None, None) => {}
        }
        let mut out = base;
        if let Some(t) = tag {
            out.push(':');
            out.push_str(&t);
        }
        if let Some(d) = sha {
            out.push('@');
            out.push_str(&d);
        }
        Some(out)
    }
}

/// The image an `images` entry names: kustomize reads its `name` as a
/// regular expression, followed by an optional tag and digest.
enum ImageName {
    Plain(Plain),
    Regex(regex::Regex),
}

impl ImageName {
    fn new(name: &str) -> Result<Self, regex::Error> {
        match Plain::new(name) {
            Some(plain) => Ok(ImageName::Plain(plain)),
            None => regex::Regex::new(&format!(
                "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$"
            ))
            .map(ImageName::Regex),
        }
    }

    fn is_match(&self, image: &str) -> bool {
        match self {
            ImageName::Plain(plain) => plain.strip_prefix(image).is_some_and(is_tag_and_digest),
            ImageName::Regex(regex) => regex.is_match(image),
        }
    }
}

/// Whether `rest` is `(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?`.
fn is_tag_and_digest(rest: &str) -> bool {
    let tag_chars = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.{}-".contains(&b))
    };
    let (tag, digest) = match rest.find('@') {
        Some(at) => (&rest[..at], Some(&rest[at..])),
        None => (rest, None),
    };
    (tag.is_empty() || tag.strip_prefix(':').is_some_and(tag_chars))
        && digest.is_none_or(|d| d.strip_prefix("@sha256:").is_some_and(tag_chars))
}

/// Applies a kustomization's `images` entries in order. Kustomize runs one
/// pass per entry; each image is rewritten by the entries in turn, so one
/// walk over the objects gives the same result.
pub(super) fn set_images(resources: &mut [Res], entries: &[Node]) -> Result<(), Error> {
    let rules = entries
        .iter()
        .map(ImageRule::new)
        .collect::<Result<Vec<_>, _>>()?;
    if rules.is_empty() {
        return Ok(());
    }
    let spans: Vec<Span> = entries.iter().map(|e| e.span).collect();
    let update = |image: &str| -> Option<(String, Span)> {
        let mut changed: Option<(String, Span)> = None;
        for (rule, span) in rules.iter().zip(&spans) {
            let current = changed.as_ref().map_or(image, |(text, _)| text.as_str());
            if let Some(new) = rule.apply(current) {
                changed = Some((new, *span));
            }
        }
        changed
    };
    for r in resources.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        update_containers(&mut r.node, &update);
    }
    Ok(())
}

/// Every `containers`/`initContainers` list at any depth (kustomize's
/// image pass reaches custom resources this way too).
fn update_containers(node: &mut Node, update: &dyn Fn(&str) -> Option<(String, Span)>) {
    match &mut node.value {
        Value::Map(entries) => {
            for entry in entries {
                if matches!(entry.key.as_str(), "containers" | "initContainers")
                    && let Value::Seq(items) = &mut entry.value.value
                {
                    for item in items {
                        if let Some(image) = res::get_mut(item, "image")
                            && let Some(text) = image.as_str()
                            && let Some((new, span)) = update(text)
                        {
                            *image = string(&new, span);
                        }
                    }
                }
                update_containers(&mut entry.value, update);
            }
        }
        Value::Seq(items) => {
            for item in items {
                update_containers(item, update);
            }
        }
        _ => {}
    }
}

/// `registry/name:tag@sha256:…` to (name, tag, digest), looking for `:` and
/// `@` after the first `/` only (a registry may have a port).
fn split_image(image: &str) -> (String, Option<String>, Option<String>) {
    let search_from = image.find('/').map_or(0, |i| i + 1);
    let (rest, digest) = match image[search_from..].find('@') {
        Some(at) => {
            let at = search_from + at;
            (&image[..at], Some(image[at + 1..].to_owned()))
        }
        None => (image, None),
    };
    match rest[search_from.min(rest.len())..].find(':') {
        Some(at) => {
            let at = search_from + at;
            (
                rest[..at].to_owned(),
                Some(rest[at + 1..].to_owned()),
                digest,
            )
        }
        None => (rest.to_owned(), None, digest),
    }
}

#[cfg(test)]
mod tests {
    use super::ImageName;

    /// A plainly named image matches exactly what kustomize's expression
    /// does.
    #[test]
    fn plain_image_names_match_as_the_expression_does() {
        let names = ["nginx", "ghcr.io/org/app", "registry:5000/app", "a.c", ""];
        let images = [
            "nginx",
            "nginx:1.27",
            "nginx:1.27-alpine",
            "nginx@sha256:abc",
            "nginx:1.27@sha256:abc",
            "nginx:1.27@sha1:abc",
            "nginx:1.27:x",
            "nginx/extra",
            "nginxx",
            "ngin",
            "ghcr.io/org/app:v1",
            "ghcrxio/org/app",
            "registry:5000/app:{TAG}",
            "abc:1",
            "a/c",
            ":1",
            "@sha256:0",
            "",
        ];
        for name in names {
            let plain = ImageName::new(name).unwrap();
            assert!(matches!(plain, ImageName::Plain(_)), "{name}");
            let regex = regex::Regex::new(&format!(
                "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$"
            ))
            .unwrap();
            for image in images {
                assert_eq!(
                    plain.is_match(image),
                    regex.is_match(image),
                    "{name} {image:?}"
                );
            }
        }
        assert!(matches!(
            ImageName::new("app|web").unwrap(),
            ImageName::Regex(_)
        ));
    }
}
