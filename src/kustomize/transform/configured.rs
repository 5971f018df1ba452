//! The `transformers` field: built-in transformers configured in files of
//! their own (`apiVersion: builtin`, `kind: LabelTransformer`), which run
//! after the kustomization's other transformers, as in kustomize. Labels
//! and annotations are built here; any other transformer is
//! [`Error::Unsupported`], so the build falls back to the real tool.

use super::super::vars::{field, specs, text_at};
use super::super::{Error, Kustomization, Sources, restricted};
use super::metadata::add_pairs;
use crate::kustomize::res::Res;
use crate::yaml::{self, Node};

pub(super) fn run(
    k: &Kustomization,
    sources: &mut Sources,
    resources: &mut [Res],
) -> Result<(), Error> {
    let Some(entries) = k.field("transformers") else {
        return Ok(());
    };
    let Some(entries) = entries.as_seq() else {
        return Err(Error::invalid(
            "`transformers` must be a list of files",
            entries.span,
        ));
    };
    for entry in entries {
        let Some(name) = entry.as_str() else {
            return Err(Error::invalid(
                "a `transformers` entry must name a file",
                entry.span,
            ));
        };
        if name.contains('\n') {
            return Err(Error::unsupported(
                "`transformers` written inline",
                entry.span,
            ));
        }
        let path = restricted(&k.dir, name, entry.span)?;
        if path.is_dir() {
            return Err(Error::unsupported(
                "`transformers` built from a kustomization",
                entry.span,
            ));
        }
        let (base, text) = sources
            .read(&path)
            .map_err(|e| Error::invalid(format!("cannot read `{name}`: {e}"), entry.span))?;
        let stream = yaml::parse_stream_at(text, base, yaml::Limits::default());
        if let Some(error) = stream.errors.first() {
            return Err(Error::invalid(
                format!("invalid YAML in `{name}`: {}", error.message),
                error.span,
            ));
        }
        for document in &stream.documents {
            apply(&document.root, entry, sources, resources)?;
        }
    }
    Ok(())
}

/// Applies one transformer configuration, read from the file `entry`
/// names (where a kind this engine leaves to kustomize is reported).
fn apply(
    config: &Node,
    entry: &Node,
    sources: &Sources,
    resources: &mut [Res],
) -> Result<(), Error> {
    if config.is_null() {
        return Ok(());
    }
    let api_version = text_at(config, "apiVersion")?;
    let kind = text_at(config, "kind")?;
    let pairs_key = match (api_version.as_str(), kind.as_str()) {
        ("builtin", "LabelTransformer") => "labels",
        ("builtin", "AnnotationsTransformer") => "annotations",
        ("builtin", _) => {
            return Err(Error::unsupported(
                format!("`transformers` with a {kind}"),
                entry.span,
            ));
        }
        _ => {
            return Err(Error::unsupported(
                "`transformers` with a plugin",
                entry.span,
            ));
        }
    };
    let targets = specs(field(config, "fieldSpecs").unwrap_or(&null_node(config)))?;
    // Each field spec is tried on every object: a file of thousands of
    // them is work the build's budget must cover.
    sources.spend_units(targets.len().saturating_mul(resources.len()), entry.span)?;
    if let Some(pairs) = field(config, pairs_key).filter(|p| !p.is_null()) {
        add_pairs(resources, pairs, &targets)?;
    }
    Ok(())
}

fn null_node(at: &Node) -> Node {
    crate::kustomize::res::made(crate::yaml::Value::Null, at.span)
}
