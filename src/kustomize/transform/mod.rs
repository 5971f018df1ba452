//! The built-in transformers, in kustomize's order (`metadata`: namespace,
//! prefix and suffix, labels and annotations; replicas here; `images`), and
//! the name-reference fix that follows renames (`references`), then those
//! the `transformers` field configures (`configured`).

mod configured;
mod images;
mod metadata;
mod references;

use images::set_images;
use metadata::{
    COMMON_ANNOTATIONS, LABEL_SELECTORS, METADATA_LABELS, add_pairs, rename, set_namespace,
};
pub(super) use references::fix_name_references;

use super::res::{self, FieldSpec, Res, made};
use super::{Error, Kustomization, Sources, patch};
use crate::yaml::{Node, Value};

/// Runs a kustomization's transformers on everything accumulated so far.
pub(super) fn run(
    k: &Kustomization,
    sources: &mut Sources,
    resources: &mut Vec<Res>,
    extras: &super::vars::Extras,
) -> Result<(), Error> {
    patch::strategic_merge_field(k, sources, resources)?;
    // An object a patch deleted is gone before the next transformer.
    resources.retain(|r| !r.node.is_null());
    patch::patches_field(k, sources, resources)?;
    resources.retain(|r| !r.node.is_null());
    if let Some(node) = k.field("namespace") {
        let namespace = node.as_str().unwrap_or("");
        if !namespace.is_empty() {
            set_namespace(resources, namespace, &extras.namespaces, node.span)?;
            let mut seen = std::collections::HashSet::new();
            for r in resources.iter() {
                let id = r.id();
                if !seen.insert(id.clone()) {
                    return Err(Error::invalid(
                        format!(
                            "`namespace` makes two objects {} {} in {}",
                            id.kind, id.name, namespace
                        ),
                        node.span,
                    ));
                }
            }
        }
    }
    if let Some(node) = k.field("namePrefix") {
        rename(resources, node.as_str().unwrap_or(""), "", node.span)?;
    }
    if let Some(node) = k.field("nameSuffix") {
        rename(resources, "", node.as_str().unwrap_or(""), node.span)?;
    }
    if let Some(labels) = k.field("labels") {
        for entry in labels.as_seq().unwrap_or_default() {
            if entry.get("fields").is_some() {
                return Err(Error::unsupported("`labels` with `fields`", entry.span));
            }
            let selectors = entry.get("includeSelectors").and_then(Node::as_bool) == Some(true);
            let templates = entry.get("includeTemplates").and_then(Node::as_bool) == Some(true);
            let specs: Vec<FieldSpec> = if selectors {
                [METADATA_LABELS, LABEL_SELECTORS].concat()
            } else if templates {
                METADATA_LABELS.to_vec()
            } else {
                vec![FieldSpec::any("metadata/labels", true)]
            };
            if let Some(pairs) = entry.get("pairs") {
                add_pairs(resources, pairs, &specs)?;
            }
        }
    }
    if let Some(labels) = k.field("commonLabels") {
        add_pairs(
            resources,
            labels,
            &[METADATA_LABELS, LABEL_SELECTORS].concat(),
        )?;
    }
    if let Some(annotations) = k.field("commonAnnotations") {
        add_pairs(resources, annotations, COMMON_ANNOTATIONS)?;
    }
    patch::json6902_field(k, sources, resources)?;
    resources.retain(|r| !r.node.is_null());
    if let Some(replicas) = k.field("replicas") {
        for entry in replicas.as_seq().unwrap_or_default() {
            set_replicas(resources, entry)?;
        }
    }
    if let Some(images) = k.field("images") {
        set_images(resources, images.as_seq().unwrap_or_default())?;
    }
    resources.retain(|r| !r.node.is_null());
    super::replace::run(k, sources, resources)?;
    configured::run(k, sources, resources)
}

/// Build bookkeeping kustomize strips from every object.
pub(super) fn strip_build_annotations(node: &mut Node) {
    let Some(metadata) = res::get_mut(node, "metadata") else {
        return;
    };
    let Some(annotations) = res::get_mut(metadata, "annotations") else {
        return;
    };
    if annotations.is_null() {
        res::remove(metadata, "annotations");
        return;
    }
    if let Value::Map(entries) = &mut annotations.value {
        entries.retain(|e| {
            !e.key.starts_with("internal.config.kubernetes.io/")
                && !matches!(
                    e.key.as_str(),
                    "config.kubernetes.io/path"
                        | "config.kubernetes.io/index"
                        | "config.k8s.io/id"
                        | "config.kubernetes.io/origin"
                        | "alpha.config.kubernetes.io/transformations"
                )
        });
        if entries.is_empty() {
            res::remove(metadata, "annotations");
        }
    }
}

fn set_replicas(resources: &mut [Res], entry: &Node) -> Result<(), Error> {
    let name = res::str_at(entry, &["name"]).unwrap_or("");
    // A missing count is 0, as kustomize reads it.
    let zero = made(Value::Int(0), entry.span);
    let count = entry.get("count").unwrap_or(&zero);
    if !matches!(count.value, Value::Int(_)) {
        return Err(Error::unsupported(
            "a `replicas` count that is not a whole number",
            count.span,
        ));
    }
    let mut matched = false;
    for r in resources.iter_mut() {
        let kind = r.kind();
        if !matches!(
            kind,
            "Deployment" | "ReplicationController" | "ReplicaSet" | "StatefulSet"
        ) {
            continue;
        }
        if !r.ids().any(|id| id.name == name) {
            continue;
        }
        matched = true;
        let span = count.span;
        let spec = res::mapping_at(&mut r.node, "spec", span)?;
        res::set(spec, "replicas", made(count.value.clone(), span));
    }
    if !matched {
        return Err(Error::invalid(
            format!(
                "`replicas` names {name:?}, which is no Deployment, StatefulSet, ReplicaSet or ReplicationController of this build"
            ),
            entry.span,
        ));
    }
    Ok(())
}
