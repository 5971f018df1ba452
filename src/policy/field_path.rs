//! Field paths as admission policies write them (`spec.replicas`,
//! `spec.containers[0].image`, `metadata.labels['app.kubernetes.io/name']`),
//! resolved to the narrowest span a finding can point at.

use crate::yaml::{Node, Span};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A mapping key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// Parses a field path; the error says what is wrong.
pub fn parse(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'.' if at > 0 => at += 1,
            b'[' => {
                let close = text[at..]
                    .find(']')
                    .map(|i| at + i)
                    .ok_or_else(|| format!("`[` at column {} is never closed", at + 1))?;
                let inner = text[at + 1..close].trim();
                let step = if let Some(quoted) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    Step::Key(quoted.to_owned())
                } else {
                    Step::Index(inner.parse().map_err(|_| {
                        format!("`[{inner}]` is neither a list index nor a quoted key")
                    })?)
                };
                steps.push(step);
                at = close + 1;
                continue;
            }
            _ => {}
        }
        let end = text[at..].find(['.', '[']).map_or(text.len(), |i| at + i);
        let key = &text[at..end];
        if key.is_empty() {
            return Err(format!("an empty field name at column {}", at + 1));
        }
        steps.push(Step::Key(key.to_owned()));
        at = end;
    }
    if steps.is_empty() {
        return Err("the field path is empty".to_owned());
    }
    Ok(steps)
}

/// The span to report a finding about `steps` at: the value if it is a
/// scalar, the key that holds it otherwise, or the deepest part of the
/// path that exists (a missing field is reported where it would go).
pub fn locate(root: &Node, steps: &[Step]) -> Option<Span> {
    let mut node = root;
    let mut key_span = None;
    for step in steps {
        let next = match step {
            Step::Key(key) => node.entry(key).map(|e| (Some(e.key_span), &e.value)),
            Step::Index(i) => node
                .as_seq()
                .and_then(|items| items.get(*i))
                .map(|n| (None, n)),
        };
        match next {
            Some((key, value)) => {
                key_span = key.or_else(|| first_key(value));
                node = value;
            }
            None => break,
        }
    }
    let scalar = !matches!(
        node.value,
        crate::yaml::Value::Map(_) | crate::yaml::Value::Seq(_)
    );
    if scalar && !std::ptr::eq(node, root) {
        return Some(node.span);
    }
    key_span
}

fn first_key(node: &Node) -> Option<Span> {
    node.as_map().and_then(|m| m.first()).map(|e| e.key_span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_indexes_and_quoted_keys() {
        assert_eq!(
            parse("spec.containers[0].image").unwrap(),
            vec![
                Step::Key("spec".into()),
                Step::Key("containers".into()),
                Step::Index(0),
                Step::Key("image".into())
            ]
        );
        assert_eq!(
            parse("metadata.labels['app.kubernetes.io/name']").unwrap()[2],
            Step::Key("app.kubernetes.io/name".into())
        );
        assert!(parse("spec.[x]").is_err());
        assert!(parse("spec[0").is_err());
    }

    #[test]
    fn locates_the_value_or_the_nearest_key() {
        let text = "spec:\n  replicas: 3\n  template:\n    spec: {}\n";
        let stream = crate::yaml::parse_stream(text, crate::yaml::Limits::default());
        let root = &stream.documents[0].root;
        let at = |path: &str| {
            let span = locate(root, &parse(path).unwrap()).unwrap();
            &text[span.start as usize..span.end as usize]
        };
        assert_eq!(at("spec.replicas"), "3");
        assert_eq!(at("spec.template.spec.containers[0].image"), "spec");
        assert_eq!(at("spec.nothing"), "spec");
    }
}
