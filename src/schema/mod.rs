//! The Kubernetes schema of every built-in kind (data/schema, generated
//! from k8s-openapi by examples/gen_k8s_schema.rs), and the check of an
//! object against it: fields the schema does not have, and values of the
//! wrong type, each at its span. Values are read as Kubernetes reads YAML
//! (1.1: `on` is a boolean, `0644` is 420), which the loader already does.

pub mod crd;

use crate::yaml::{Node, Span, Value};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

const DATA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/schema/kubernetes-v1.37.json"
));

/// A schema node, compacted.
#[derive(Debug, Deserialize)]
pub struct Type {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    format: Option<String>,
    #[serde(rename = "enum")]
    values_allowed: Option<Vec<String>>,
    items: Option<Box<Type>>,
    values: Option<Box<Type>>,
    properties: Option<BTreeMap<String, Type>>,
}

#[derive(Debug, Deserialize)]
struct SchemaFile {
    kinds: HashMap<String, String>,
    types: HashMap<String, Type>,
}

static SCHEMA: LazyLock<SchemaFile> =
    LazyLock::new(|| serde_json::from_str(DATA).expect("the bundled schema is valid JSON"));

/// What is wrong at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A key the schema does not have.
    UnknownField {
        /// The key.
        name: String,
        /// The key's span.
        span: Span,
        /// The nearest valid field.
        suggestion: Option<String>,
        /// The path of the mapping that holds it (`spec.template.spec`).
        parent: String,
    },
    /// A value of the wrong type.
    Mismatch {
        /// The value's span.
        span: Span,
        /// The field's path.
        path: String,
        /// What the schema wants, as a phrase.
        expected: String,
        /// What was written, as a phrase.
        found: String,
    },
}

impl Problem {
    /// Where it is.
    pub fn span(&self) -> Span {
        match self {
            Problem::UnknownField { span, .. } | Problem::Mismatch { span, .. } => *span,
        }
    }
}

/// Whether kslint has the schema of an apiVersion and kind.
pub fn knows(api_version: &str, kind: &str) -> bool {
    SCHEMA.kinds.contains_key(&format!("{api_version} {kind}"))
}

fn resolve(ty: &Type) -> &Type {
    let mut ty = ty;
    // Refs are one level deep in the generated data, but follow chains.
    for _ in 0..8 {
        match ty.reference.as_deref().and_then(|r| SCHEMA.types.get(r)) {
            Some(target) => ty = target,
            None => break,
        }
    }
    ty
}

fn describe_found(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Int(i) => format!("the number {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Str(s) => format!("the string {s:?}"),
        Value::Seq(_) => "a list".to_owned(),
        Value::Map(_) => "a mapping".to_owned(),
    }
}

/// Whether a string is a Kubernetes quantity (`500m`, `1Gi`, `1e3`).
pub fn is_quantity(text: &str) -> bool {
    let text = text.trim();
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(digits_end);
    let number_ok = !number.is_empty() && number != "." && number.matches('.').count() <= 1;
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
        .is_some_and(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()));
    number_ok && suffix_ok
}

/// Checks a value against a type; returns what it expected if it does not
/// fit, for scalars and container shapes (not the contents).
fn mismatch(node: &Node, ty: &Type) -> Option<String> {
    let kind = ty.kind.as_deref().unwrap_or("any");
    let ok = match (kind, &node.value) {
        (_, Value::Null) | ("any", _) => true,
        ("boolean", Value::Bool(_)) => true,
        ("integer", Value::Int(i)) => match ty.format.as_deref() {
            Some("int32") => i32::try_from(*i).is_ok(),
            _ => true,
        },
        ("number", Value::Int(_) | Value::Float(_)) => true,
        ("string", Value::Str(s)) => match &ty.values_allowed {
            // Only a wrong case is certain: descriptions may not list all.
            Some(allowed) => {
                allowed.iter().any(|a| a == s) || !allowed.iter().any(|a| a.eq_ignore_ascii_case(s))
            }
            None => true,
        },
        ("int-or-string", Value::Int(_) | Value::Str(_)) => true,
        ("quantity", Value::Int(_) | Value::Float(_)) => true,
        ("quantity", Value::Str(s)) => is_quantity(s),
        ("array", Value::Seq(_)) => true,
        ("object", Value::Map(_)) => true,
        _ => false,
    };
    if ok {
        return None;
    }
    Some(match kind {
        "boolean" => "a boolean (true or false)".to_owned(),
        "integer" if ty.format.as_deref() == Some("int32") => "a 32-bit integer".to_owned(),
        "integer" => "an integer".to_owned(),
        "number" => "a number".to_owned(),
        "string" => match (&ty.values_allowed, &node.value) {
            (Some(allowed), Value::Str(s)) => {
                let right = allowed
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(s))
                    .map_or(String::new(), |a| {
                        format!(" `{a}` (values are case-sensitive)")
                    });
                format!("one of {}:{right}", allowed.join(", "))
            }
            _ => "a string".to_owned(),
        },
        "int-or-string" => "an integer or a string".to_owned(),
        "quantity" => "a quantity such as 500m, 2 or 1Gi".to_owned(),
        "array" => "a list".to_owned(),
        "object" => "a mapping".to_owned(),
        other => other.to_owned(),
    })
}

/// One step of a field path, kept as a link to its parent so that paths
/// are only spelled out for problems.
enum Step<'a> {
    Root,
    Key(usize, &'a str),
    Index(usize, usize),
}

fn spell(steps: &[Step], mut at: usize) -> String {
    let mut parts: Vec<String> = Vec::new();
    loop {
        match steps[at] {
            Step::Root => break,
            Step::Key(parent, key) => {
                parts.push(format!(".{key}"));
                at = parent;
            }
            Step::Index(parent, i) => {
                parts.push(format!("[{i}]"));
                at = parent;
            }
        }
    }
    let path: String = parts.into_iter().rev().collect();
    path.strip_prefix('.').map(str::to_owned).unwrap_or(path)
}

/// The problems of one object, in document order, if its kind is known.
/// Use `Manifest::schema_problems`, which computes them once.
pub fn check(api_version: &str, kind: &str, object: &Node) -> Vec<Problem> {
    let key = format!("{api_version} {kind}");
    let Some(root) = SCHEMA
        .kinds
        .get(&key)
        .and_then(|name| SCHEMA.types.get(name))
    else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let mut steps: Vec<Step> = vec![Step::Root];
    let mut stack: Vec<(&Node, &Type, usize)> = vec![(object, root, 0)];
    while let Some((node, ty, at)) = stack.pop() {
        let ty = resolve(ty);
        if let Some(expected) = mismatch(node, ty) {
            problems.push(Problem::Mismatch {
                span: node.span,
                path: spell(&steps, at),
                expected,
                found: describe_found(node),
            });
            continue;
        }
        match &node.value {
            Value::Seq(items) => {
                if let Some(item_type) = &ty.items {
                    for (i, item) in items.iter().enumerate().rev() {
                        steps.push(Step::Index(at, i));
                        stack.push((item, item_type, steps.len() - 1));
                    }
                }
            }
            Value::Map(entries) => {
                if let Some(properties) = &ty.properties {
                    for entry in entries.iter().rev() {
                        // `$patch` and friends are strategic merge patch
                        // directives, not fields.
                        if entry.key.starts_with('$') {
                            continue;
                        }
                        match properties.get(&entry.key) {
                            Some(field) => {
                                steps.push(Step::Key(at, &entry.key));
                                stack.push((&entry.value, field, steps.len() - 1));
                            }
                            None => problems.push(Problem::UnknownField {
                                name: entry.key.clone(),
                                span: entry.key_span,
                                suggestion: suggest(&entry.key, properties),
                                parent: spell(&steps, at),
                            }),
                        }
                    }
                } else if let Some(value_type) = &ty.values {
                    for entry in entries.iter().rev() {
                        steps.push(Step::Key(at, &entry.key));
                        stack.push((&entry.value, value_type, steps.len() - 1));
                    }
                }
            }
            _ => {}
        }
    }
    problems.sort_by_key(|p| p.span().start);
    problems
}

/// The valid field nearest a misspelt one: same letters in another case
/// first, then edit distance.
fn suggest(name: &str, properties: &BTreeMap<String, Type>) -> Option<String> {
    if let Some(same) = properties.keys().find(|k| k.eq_ignore_ascii_case(name)) {
        return Some(same.clone());
    }
    crate::spelling::nearest(name, properties.keys().map(String::as_str)).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in ["500m", "1Gi", "2", "0.5", "1e3", "+1k", "100Mi", "1.5"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "1GB", "lots", "1 Gi", "Gi", ".", "1e", "1..2"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn the_bundled_schema_loads() {
        assert!(knows("apps/v1", "Deployment"));
        assert!(knows("v1", "Pod"));
        assert!(knows("rbac.authorization.k8s.io/v1", "Role"));
        assert!(!knows("example.com/v1", "Widget"));
    }
}
