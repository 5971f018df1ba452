//! The `images` transformer: new names, tags and digests for container
//! images.

use super::super::Error;
use super::super::res::{self, Res, string};
use crate::yaml::{Node, Span, Value};

pub(super) fn set_images(resources: &mut [Res], entry: &Node) -> Result<(), Error> {
    let name = res::str_at(entry, &["name"]).unwrap_or("");
    if entry.get("tagSuffix").is_some() {
        return Err(Error::unsupported("`images` with `tagSuffix`", entry.span));
    }
    let new_name = res::str_at(entry, &["newName"]);
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
    let new_tag = entry.get("newTag").map(res::value_text);
    let digest = res::str_at(entry, &["digest"]);
    let pattern = regex::Regex::new(&format!(
        "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$"
    ))
    .map_err(|_| Error::invalid(format!("`{name}` is not a valid image name"), entry.span))?;
    let span = entry.span;
    let update = |image: &str| -> Option<String> {
        if !pattern.is_match(image) {
            return None;
        }
        let (mut base, mut tag, mut sha) = split_image(image);
        if let Some(n) = new_name {
            base = n.to_owned();
        }
        match (&new_tag, digest) {
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
    };
    for r in resources.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        update_containers(&mut r.node, &update, span);
    }
    Ok(())
}

/// Every `containers`/`initContainers` list at any depth (kustomize's
/// image pass reaches custom resources this way too).
fn update_containers(node: &mut Node, update: &dyn Fn(&str) -> Option<String>, span: Span) {
    match &mut node.value {
        Value::Map(entries) => {
            for entry in entries {
                if matches!(entry.key.as_str(), "containers" | "initContainers")
                    && let Value::Seq(items) = &mut entry.value.value
                {
                    for item in items {
                        if let Some(image) = res::get_mut(item, "image")
                            && let Some(text) = image.as_str()
                            && let Some(new) = update(text)
                        {
                            *image = string(&new, span);
                        }
                    }
                }
                update_containers(&mut entry.value, update, span);
            }
        }
        Value::Seq(items) => {
            for item in items {
                update_containers(item, update, span);
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
