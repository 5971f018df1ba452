//! JSON 6902 patches: `add`, `remove`, `replace`, `move`, `copy` and
//! `test` operations at JSON pointers.

use super::super::{Error, Removal, res};
use crate::yaml::{Node, Span, Value};

pub(super) fn apply_json(
    node: &mut Node,
    ops: &[Node],
    span: Span,
    removals: &mut Vec<Removal>,
) -> Result<(), Error> {
    for op in ops {
        let at = op.span;
        let name = res::str_at(op, &["op"]).unwrap_or("");
        let path = pointer(res::str_at(op, &["path"]).unwrap_or(""));
        let fail = |what: &str| {
            Error::invalid(
                format!(
                    "JSON patch `{name}` at {}: {what}",
                    res::str_at(op, &["path"]).unwrap_or("")
                ),
                at,
            )
        };
        match name {
            "add" | "replace" | "test" => {
                let value = op.get("value").cloned().ok_or_else(|| fail("no value"))?;
                match name {
                    "add" => {
                        add(node, &path, value).ok_or_else(|| fail("the path does not exist"))?
                    }
                    "replace" => {
                        // kustomize's json-patch (v4) sets a missing key of a
                        // map that exists, as `add` would.
                        let missing_key = path.split_last().is_some_and(|(last, parent)| {
                            lookup_mut(node, parent).is_some_and(|p| {
                                matches!(p.value, Value::Map(_)) && p.get(last).is_none()
                            })
                        });
                        if missing_key {
                            add(node, &path, value)
                                .ok_or_else(|| fail("the path does not exist"))?;
                        } else {
                            let target = lookup_mut(node, &path)
                                .ok_or_else(|| fail("the path does not exist"))?;
                            *target = value;
                        }
                    }
                    _ => {
                        let target = lookup_mut(node, &path)
                            .ok_or_else(|| fail("the path does not exist"))?;
                        if target.to_json() != value.to_json() {
                            return Err(fail("the test failed"));
                        }
                    }
                }
            }
            "remove" => {
                let parent = path
                    .split_last()
                    .and_then(|(_, parent)| lookup_mut(node, parent))
                    .map(|p| p.span);
                let removed = remove(node, &path).ok_or_else(|| fail("the path does not exist"))?;
                if let (Some(parent), Some(key)) = (parent, path.last()) {
                    // The `op: remove` line, where the user reads it.
                    let by = op.entry("op").map_or(at, |e| e.key_span.to(e.value.span));
                    removals.push(Removal {
                        parent,
                        key: key.clone(),
                        removed: removed.span,
                        by,
                    });
                }
            }
            "move" | "copy" => {
                let from = pointer(res::str_at(op, &["from"]).unwrap_or(""));
                let value = if name == "move" {
                    remove(node, &from)
                } else {
                    lookup_mut(node, &from).map(|n| n.clone())
                }
                .ok_or_else(|| fail("`from` does not exist"))?;
                add(node, &path, value).ok_or_else(|| fail("the path does not exist"))?;
            }
            _ => {
                return Err(Error::invalid(
                    format!("unknown JSON patch operation `{name}`"),
                    at,
                ));
            }
        }
        // `copy` can double an object per operation: stop a blow-up.
        if name == "copy" && size(node) > 1_000_000 {
            return Err(Error::invalid(
                "JSON patch copies make the object too large",
                at,
            ));
        }
    }
    let _ = span;
    Ok(())
}

/// A list index of a JSON pointer; negative counts from the end, as the
/// JSON patch library kustomize uses allows.
fn index(part: &str, len: usize) -> Option<usize> {
    let i: i64 = part.parse().ok()?;
    if i < 0 {
        usize::try_from(len as i64 + i).ok()
    } else {
        usize::try_from(i).ok()
    }
}

fn size(node: &Node) -> usize {
    match &node.value {
        Value::Map(entries) => 1 + entries.iter().map(|e| size(&e.value)).sum::<usize>(),
        Value::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        _ => 1,
    }
}

fn pointer(text: &str) -> Vec<String> {
    text.split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn lookup_mut<'n>(node: &'n mut Node, path: &[String]) -> Option<&'n mut Node> {
    let mut current = node;
    for part in path {
        current = match &mut current.value {
            Value::Map(entries) => &mut entries.iter_mut().find(|e| &e.key == part)?.value,
            Value::Seq(items) => {
                let i = index(part, items.len())?;
                items.get_mut(i)?
            }
            _ => return None,
        };
    }
    Some(current)
}

fn add(node: &mut Node, path: &[String], value: Node) -> Option<()> {
    let (last, parent_path) = path.split_last()?;
    let parent = lookup_mut(node, parent_path)?;
    match &mut parent.value {
        Value::Map(_) => {
            res::set(parent, last, value);
            Some(())
        }
        Value::Seq(items) => {
            if last == "-" {
                items.push(value);
            } else {
                let i: usize = last.parse().ok()?;
                if i > items.len() {
                    return None;
                }
                items.insert(i, value);
            }
            Some(())
        }
        _ => None,
    }
}

fn remove(node: &mut Node, path: &[String]) -> Option<Node> {
    let (last, parent_path) = path.split_last()?;
    let parent = lookup_mut(node, parent_path)?;
    match &mut parent.value {
        Value::Map(_) => res::remove(parent, last),
        Value::Seq(items) => {
            let i: usize = last.parse().ok()?;
            (i < items.len()).then(|| items.remove(i))
        }
        _ => None,
    }
}
