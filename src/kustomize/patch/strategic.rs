//! Strategic merge: maps merge key by key, lists of built-in types merge
//! by their merge keys (`name` for containers, `containerPort` for ports),
//! and the `$patch`, `$retainKeys` and `$setElementOrder` directives.

use super::super::res::{self, Res};
use super::super::{Error, Removal};
use crate::yaml::{Entry, Node, Span, Value};

/// A patch applied to the one resource whose current or earlier id is the
/// patch's.
pub(super) fn apply_by_id(
    resources: &mut [Res],
    doc: &Node,
    span: Span,
    removals: &mut Vec<Removal>,
) -> Result<(), Error> {
    let patch = Res::new(doc.clone());
    let want = patch.id();
    let matches: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ids().any(|id| id == want))
        .map(|(i, _)| i)
        .collect();
    match matches[..] {
        [one] => {
            apply_keeping_identity(&mut resources[one], doc, removals);
            Ok(())
        }
        [] => Err(Error::invalid(
            format!(
                "no resource matches the patch for {} {}{}",
                want.kind,
                want.name,
                if want.namespace.is_empty() || want.namespace == "default" {
                    String::new()
                } else {
                    format!(" in namespace {}", want.namespace)
                }
            ),
            // An inline patch has no place of its own: the entry's.
            if doc.span == Span::default() {
                span
            } else {
                doc.span
            },
        )),
        _ => Err(Error::invalid(
            format!(
                "several resources match the patch for {} {}",
                want.kind, want.name
            ),
            doc.span,
        )),
    }
}

/// A strategic merge that keeps the target's name, namespace and kind.
pub(super) fn apply_keeping_identity(r: &mut Res, doc: &Node, removals: &mut Vec<Removal>) {
    let name = res::str_at(&r.node, &["metadata", "name"]).map(str::to_owned);
    let namespace = r.node.path(&["metadata", "namespace"]).cloned();
    let kind = r.node.get("kind").cloned();
    let api_version = r.node.get("apiVersion").cloned();
    let kind_name = r.kind().to_owned();
    let schema = has_schema(r.api_version(), &kind_name).then_some(kind_name.as_str());
    let name_node = r.node.path(&["metadata", "name"]).cloned();
    match merge(Some(r.node.clone()), doc, &mut Vec::new(), schema, removals) {
        None => {
            r.node = Node {
                value: Value::Null,
                span: r.node.span,
                plain: false,
            }
        }
        Some(mut merged) => {
            // kyaml's merge drops the fields of a patched object whose value
            // is empty (`key:`); an explicit `null` stays.
            drop_empty(&mut merged);
            if let Some(kind) = kind {
                res::set(&mut merged, "kind", kind);
            }
            if let Some(v) = api_version {
                res::set(&mut merged, "apiVersion", v);
            }
            if let Some(metadata) = res::get_mut(&mut merged, "metadata") {
                if let (Some(_), Some(node)) = (name, name_node) {
                    res::set(metadata, "name", node);
                }
                match namespace {
                    Some(ns) => res::set(metadata, "namespace", ns),
                    None => {
                        res::remove(metadata, "namespace");
                    }
                }
            }
            r.node = merged;
        }
    }
}

/// Whether kustomize knows the type's schema (Kubernetes 1.21 built-ins);
/// lists of other types are replaced, never merged.
fn has_schema(api_version: &str, kind: &str) -> bool {
    let (group, version) = res::split_api_version(api_version);
    match group {
        "" => version == "v1",
        "apps" => version == "v1",
        "batch" => version == "v1" || (version == "v1beta1" && kind == "CronJob"),
        "admissionregistration.k8s.io"
        | "policy"
        | "networking.k8s.io"
        | "rbac.authorization.k8s.io"
        | "storage.k8s.io"
        | "autoscaling"
        | "scheduling.k8s.io"
        | "apiregistration.k8s.io"
        | "apiextensions.k8s.io"
        | "certificates.k8s.io"
        | "coordination.k8s.io"
        | "node.k8s.io"
        | "discovery.k8s.io"
        | "events.k8s.io" => true,
        _ => false,
    }
}

/// The merge keys of a list at `path` (keys from the object root, list
/// items left out), or `None` when the list is replaced.
fn merge_keys(path: &[String], schema: Option<&str>) -> Option<&'static [&'static str]> {
    let kind = schema?;
    let last = path.last()?.as_str();
    let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
    let pod_kind = matches!(
        kind,
        "Pod"
            | "PodTemplate"
            | "Deployment"
            | "ReplicaSet"
            | "DaemonSet"
            | "StatefulSet"
            | "Job"
            | "CronJob"
            | "ReplicationController"
    );
    let in_container = path.iter().rev().skip(1).any(|k| {
        matches!(
            k.as_str(),
            "containers" | "initContainers" | "ephemeralContainers"
        )
    });
    match last {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
            if pod_kind =>
        {
            Some(&["name"])
        }
        "hostAliases" if pod_kind => Some(&["ip"]),
        "topologySpreadConstraints" if pod_kind => Some(&["topologyKey", "whenUnsatisfiable"]),
        "env" if in_container => Some(&["name"]),
        "ports" if in_container => Some(&["containerPort", "protocol"]),
        "ports" if kind == "Service" && parent == Some("spec") && path.len() == 2 => {
            Some(&["port", "protocol"])
        }
        "volumeMounts" if in_container => Some(&["mountPath"]),
        "volumeDevices" if in_container => Some(&["devicePath"]),
        "secrets" if kind == "ServiceAccount" && path.len() == 1 => Some(&["name"]),
        "finalizers" if parent == Some("metadata") => Some(&[]),
        "ownerReferences" if parent == Some("metadata") => Some(&["uid"]),
        "webhooks"
            if path.len() == 1
                && matches!(
                    kind,
                    "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
                ) =>
        {
            Some(&["name"])
        }
        "conditions" if parent == Some("status") => Some(&["type"]),
        _ => None,
    }
}

/// Strategic merge of `patch` into `dest`; `None` deletes.
fn merge(
    dest: Option<Node>,
    patch: &Node,
    path: &mut Vec<String>,
    schema: Option<&str>,
    removals: &mut Vec<Removal>,
) -> Option<Node> {
    match &patch.value {
        Value::Map(patch_entries) => {
            match patch.get("$patch").and_then(Node::as_str) {
                Some("delete") => return None,
                Some("replace") => return Some(without_directives(patch)),
                _ => {}
            }
            let mut dest = match dest {
                Some(d) if matches!(d.value, Value::Map(_)) => d,
                _ => return Some(without_directives(patch)),
            };
            for entry in patch_entries {
                if entry.key == "$patch" {
                    continue;
                }
                if entry.value.is_null() {
                    let parent = dest.span;
                    if let Some(removed) = res::remove(&mut dest, &entry.key) {
                        removals.push(Removal {
                            parent,
                            key: entry.key.clone(),
                            removed: removed.span,
                            by: entry.key_span.to(entry.value.span),
                        });
                    }
                    continue;
                }
                path.push(entry.key.clone());
                let current = res::get_mut(&mut dest, &entry.key).map(|n| n.clone());
                let merged = match (&current, &entry.value.value) {
                    (Some(d), Value::Seq(_)) if matches!(d.value, Value::Seq(_)) => {
                        merge_list(d, &entry.value, path, schema, removals)
                    }
                    _ => merge(current, &entry.value, path, schema, removals),
                };
                path.pop();
                match merged {
                    Some(node) => {
                        if let Value::Map(entries) = &mut dest.value {
                            match entries.iter_mut().find(|e| e.key == entry.key) {
                                Some(e) => e.value = node,
                                None => entries.push(Entry {
                                    key: entry.key.clone(),
                                    key_span: entry.key_span,
                                    value: node,
                                }),
                            }
                        }
                    }
                    None => {
                        let parent = dest.span;
                        if let Some(removed) = res::remove(&mut dest, &entry.key) {
                            // The `$patch: delete` line under the key.
                            let by = entry
                                .value
                                .entry("$patch")
                                .map_or(entry.key_span, |e| e.key_span.to(e.value.span));
                            removals.push(Removal {
                                parent,
                                key: entry.key.clone(),
                                removed: removed.span,
                                by,
                            });
                        }
                    }
                }
            }
            Some(dest)
        }
        Value::Seq(_) => match dest {
            Some(d) if matches!(d.value, Value::Seq(_)) => {
                merge_list(&d, patch, path, schema, removals)
            }
            _ => Some(without_directives(patch)),
        },
        // A patch that restates a value (a list item's merge key, most
        // often) changes nothing: the value stays where it was written.
        _ => match dest {
            Some(d) if d.value == patch.value => Some(d),
            _ => Some(patch.clone()),
        },
    }
}

fn merge_list(
    dest: &Node,
    patch: &Node,
    path: &mut Vec<String>,
    schema: Option<&str>,
    removals: &mut Vec<Removal>,
) -> Option<Node> {
    let patch_items = patch.as_seq().unwrap_or_default();
    let directive = |n: &Node| n.get("$patch").and_then(Node::as_str).map(str::to_owned);
    let only_directive =
        |n: &Node| n.as_map().is_some_and(|m| m.len() == 1) && directive(n).is_some();
    if let Some(list_directive) = patch_items
        .iter()
        .find(|n| only_directive(n))
        .and_then(&directive)
    {
        if list_directive == "delete" {
            return None;
        }
        if list_directive == "replace" {
            let kept: Vec<Node> = patch_items
                .iter()
                .filter(|n| !only_directive(n))
                .map(without_directives)
                .collect();
            return Some(Node {
                value: Value::Seq(kept),
                span: patch.span,
                plain: false,
            });
        }
    }
    // A list without merge keys is replaced as written, directives and
    // all (kyaml does not read them there).
    let Some(keys) = merge_keys(path, schema) else {
        return Some(patch.clone());
    };
    let dest_items = dest.as_seq().unwrap_or_default();
    let mut used = vec![false; dest_items.len()];
    let mut out = Vec::new();
    for item in patch_items {
        let found = if keys.is_empty() {
            dest_items
                .iter()
                .enumerate()
                .position(|(i, d)| !used[i] && same_scalar(d, item))
        } else {
            dest_items
                .iter()
                .enumerate()
                .position(|(i, d)| !used[i] && same_keys(d, item, keys))
        };
        let delete = directive(item).as_deref() == Some("delete");
        match found {
            Some(i) => {
                used[i] = true;
                if delete {
                    continue;
                }
                if let Some(merged) =
                    merge(Some(dest_items[i].clone()), item, path, schema, removals)
                {
                    out.push(merged);
                }
            }
            None if delete => {}
            None => out.push(without_directives(item)),
        }
    }
    for (i, item) in dest_items.iter().enumerate() {
        if !used[i] {
            out.push(item.clone());
        }
    }
    Some(Node {
        value: Value::Seq(out),
        span: dest.span,
        plain: false,
    })
}

fn same_scalar(a: &Node, b: &Node) -> bool {
    a.value == b.value
}

/// Merge keys agree where both sides have them (a missing protocol matches).
fn same_keys(dest: &Node, patch: &Node, keys: &[&str]) -> bool {
    let mut any = false;
    for key in keys {
        if let (Some(a), Some(b)) = (dest.get(key), patch.get(key)) {
            if a.value != b.value {
                return false;
            }
            any = true;
        }
    }
    any
}

fn drop_empty(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            entries.retain(|e| !(e.value.is_null() && e.value.span.is_empty()));
            for e in entries {
                drop_empty(&mut e.value);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(drop_empty),
        _ => {}
    }
}

fn without_directives(node: &Node) -> Node {
    let mut node = node.clone();
    strip(&mut node);
    node
}

fn strip(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            entries.retain(|e| e.key != "$patch");
            for e in entries {
                strip(&mut e.value);
            }
        }
        Value::Seq(items) => {
            items.retain(|i| {
                !(i.as_map().is_some_and(|m| m.len() == 1) && i.get("$patch").is_some())
            });
            for i in items {
                strip(i);
            }
        }
        _ => {}
    }
}
