//! Custom resources checked against the `openAPIV3Schema` of their
//! CustomResourceDefinition when that CRD is in the run: unknown fields
//! (where the schema lists properties and does not preserve unknown
//! fields), types, enums and required fields.

use super::Problem;
use crate::yaml::{Node, Span, Value};

/// Checks a custom resource against a CRD version's schema.
pub fn check(object: &Node, schema: &Node) -> Vec<Problem> {
    let mut problems = Vec::new();
    // apiVersion, kind and metadata are the API server's, not the schema's.
    // A field missing at the root is reported at the `kind`.
    let root_span = object.get("kind").map_or(object.span, |k| k.span);
    let mut stack: Vec<(&Node, &Node, String, bool, Span)> =
        vec![(object, schema, String::new(), true, root_span)];
    while let Some((node, schema, path, root, key_span)) = stack.pop() {
        if node.is_null()
            || flag(schema, "x-kubernetes-preserve-unknown-fields")
                && schema.get("properties").is_none()
        {
            continue;
        }
        if let Some(expected) = mismatch(node, schema) {
            problems.push(Problem::Mismatch {
                span: node.span,
                path: path.clone(),
                expected,
                found: super::describe_found(node),
            });
            continue;
        }
        let join = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        match &node.value {
            Value::Map(entries) => {
                let properties = schema.get("properties").and_then(Node::as_map);
                let additional = schema
                    .get("additionalProperties")
                    .filter(|a| a.as_map().is_some());
                let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields")
                    || schema.get("additionalProperties").and_then(Node::as_bool) == Some(true);
                for required in schema
                    .get("required")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Node::as_str)
                {
                    // A defaulted field is filled in before validation.
                    let defaulted = properties
                        .and_then(|p| p.iter().find(|f| f.key == required))
                        .is_some_and(|f| f.value.get("default").is_some());
                    if !defaulted && !entries.iter().any(|e| e.key == required) {
                        // Point at the key that holds the mapping.
                        problems.push(Problem::Mismatch {
                            span: key_span,
                            path: path.clone(),
                            expected: format!("a mapping with the required field `{required}`"),
                            found: "a mapping without it".to_owned(),
                        });
                    }
                }
                for entry in entries.iter().rev() {
                    if root && matches!(entry.key.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    // Strategic merge patch directives are not fields.
                    if entry.key.starts_with('$') {
                        continue;
                    }
                    let field = properties.and_then(|p| p.iter().find(|f| f.key == entry.key));
                    match (field, additional) {
                        // An embedded resource has its own apiVersion, kind
                        // and metadata.
                        (Some(field), _) => stack.push((
                            &entry.value,
                            &field.value,
                            join(&entry.key),
                            flag(&field.value, "x-kubernetes-embedded-resource"),
                            entry.key_span,
                        )),
                        (None, Some(values)) => stack.push((
                            &entry.value,
                            values,
                            join(&entry.key),
                            false,
                            entry.key_span,
                        )),
                        (None, None) if properties.is_some() && !preserve => {
                            let names = properties
                                .unwrap_or_default()
                                .iter()
                                .map(|f| f.key.as_str());
                            problems.push(Problem::UnknownField {
                                name: entry.key.clone(),
                                span: entry.key_span,
                                suggestion: crate::spelling::nearest(&entry.key, names)
                                    .map(str::to_owned),
                                parent: path.clone(),
                            });
                        }
                        _ => {}
                    }
                }
            }
            Value::Seq(items) => {
                if let Some(item_schema) = schema.get("items").filter(|i| i.as_map().is_some()) {
                    for (i, item) in items.iter().enumerate().rev() {
                        stack.push((item, item_schema, format!("{path}[{i}]"), false, item.span));
                    }
                }
            }
            _ => {}
        }
    }
    problems.sort_by_key(|p| p.span().start);
    problems
}

fn flag(schema: &Node, key: &str) -> bool {
    schema.get(key).and_then(Node::as_bool) == Some(true)
}

/// What a value should have been, if its schema rejects it.
fn mismatch(node: &Node, schema: &Node) -> Option<String> {
    if flag(schema, "x-kubernetes-int-or-string") {
        return (!matches!(node.value, Value::Int(_) | Value::Str(_)))
            .then(|| "an integer or a string".to_owned());
    }
    let kind = schema.get("type").and_then(Node::as_str)?;
    let fits = matches!(
        (kind, &node.value),
        ("object", Value::Map(_))
            | ("array", Value::Seq(_))
            | ("string", Value::Str(_))
            | ("boolean", Value::Bool(_))
            | ("integer", Value::Int(_))
            | ("number", Value::Int(_) | Value::Float(_))
    );
    if !fits {
        return Some(match kind {
            "object" => "a mapping".to_owned(),
            "array" => "a list".to_owned(),
            "string" => "a string".to_owned(),
            "boolean" => "a boolean (true or false)".to_owned(),
            "integer" => "an integer".to_owned(),
            "number" => "a number".to_owned(),
            other => other.to_owned(),
        });
    }
    let allowed = schema.get("enum").and_then(Node::as_seq)?;
    let value = node.to_json();
    (!allowed.iter().any(|a| a.to_json() == value)).then(|| {
        let list: Vec<String> = allowed.iter().map(|a| a.to_json().to_string()).collect();
        format!("one of {}", list.join(", "))
    })
}
