//! Writes a build's objects as YAML and remembers, for every node written,
//! the span it came from, so findings in the output go back to the files.

use crate::yaml::{Node, Span, Value};

/// A build written out, with where each piece came from.
#[derive(Debug, Default)]
pub struct Emitted {
    /// The YAML stream.
    pub text: String,
    /// (span in `text`, span in the build's [`super::Sources`]), in the
    /// order written: a parent before its children.
    pub origins: Vec<(Span, Span)>,
}

impl Emitted {
    /// The source span of `span`: of the written node it is, or of the run
    /// of nodes it covers from start to end (a key and its value) when they
    /// are read from one place in order; else of the innermost node that
    /// holds it.
    pub fn origin(&self, span: Span) -> Option<Span> {
        let (holder, source) = self
            .origins
            .iter()
            .filter(|(out, _)| out.start <= span.start && span.end <= out.end.max(out.start + 1))
            .min_by_key(|(out, _)| out.end - out.start)?;
        if *holder != span
            && let Some(covered) = self.covered(span, *source)
        {
            return Some(covered);
        }
        Some(*source).filter(|source| *source != Span::default())
    }

    /// The source of the nodes that start and end `span` when both were
    /// read inside `within` (the holder's source) in order; else of the
    /// node that starts it (a patch may have written the value).
    fn covered(&self, span: Span, within: Span) -> Option<Span> {
        let inside = |&&(out, source): &&(Span, Span)| {
            source != Span::default() && span.start <= out.start && out.end <= span.end
        };
        let first = self
            .origins
            .iter()
            .filter(inside)
            .filter(|(out, _)| out.start == span.start)
            .max_by_key(|(out, _)| out.end)?
            .1;
        let last = self
            .origins
            .iter()
            .filter(inside)
            .filter(|(out, _)| out.end == span.end)
            .max_by_key(|(out, _)| out.end - out.start)
            .map(|(_, source)| *source);
        let read_within = |source: Span| within.start <= source.start && source.end <= within.end;
        Some(match last {
            Some(last) if read_within(first) && read_within(last) && first.start <= last.end => {
                Span {
                    start: first.start,
                    end: last.end,
                }
            }
            _ => first,
        })
    }
}

/// Writes objects as a YAML stream.
pub fn emit(objects: &[Node]) -> Emitted {
    let mut out = Emitted::default();
    for object in objects {
        out.text.push_str("---\n");
        let start = out.text.len();
        write_map_body(&mut out, object, 0);
        let end = out.text.len();
        out.origins.push((Span::new(start, end), object.span));
    }
    out
}

fn write_map_body(out: &mut Emitted, node: &Node, indent: usize) {
    let Value::Map(entries) = &node.value else {
        return;
    };
    for entry in entries {
        out.text.push_str(&" ".repeat(indent));
        let key_start = out.text.len();
        out.text.push_str(&key_text(&entry.key));
        out.origins
            .push((Span::new(key_start, out.text.len()), entry.key_span));
        out.text.push(':');
        write_value(out, &entry.value, indent, key_start);
    }
}

/// Writes a value after `key:` (or `-`), with its children below.
fn write_value(out: &mut Emitted, node: &Node, indent: usize, owner_start: usize) {
    let start_of_value;
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => {
            out.text.push('\n');
            start_of_value = out.text.len();
            write_map_body(out, node, indent + 2);
        }
        Value::Seq(items) if !items.is_empty() => {
            out.text.push('\n');
            start_of_value = out.text.len();
            for item in items {
                out.text.push_str(&" ".repeat(indent));
                let item_start = out.text.len();
                out.text.push('-');
                match &item.value {
                    Value::Map(entries) if !entries.is_empty() => {
                        // The first key goes on the dash's line.
                        out.text.push(' ');
                        let body_start = out.text.len();
                        let mut body = Emitted::default();
                        write_map_body(&mut body, item, indent + 2);
                        let trimmed = body.text.trim_start_matches(' ');
                        let cut = body.text.len() - trimmed.len();
                        out.text.push_str(trimmed);
                        for (span, source) in body.origins {
                            let shift =
                                |o: u32| (o as usize - cut.min(o as usize) + body_start) as u32;
                            out.origins.push((
                                Span {
                                    start: shift(span.start),
                                    end: shift(span.end),
                                },
                                source,
                            ));
                        }
                    }
                    _ => write_value(out, item, indent + 2, item_start),
                }
                out.origins
                    .push((Span::new(item_start, out.text.len()), item.span));
            }
        }
        _ => {
            out.text.push(' ');
            start_of_value = out.text.len();
            out.text.push_str(&yaml_scalar(node));
            out.text.push('\n');
            out.origins
                .push((Span::new(start_of_value, out.text.len() - 1), node.span));
            return;
        }
    }
    let _ = owner_start;
    out.origins
        .push((Span::new(start_of_value, out.text.len()), node.span));
}

/// A key, quoted unless it is plain text YAML reads as the same string.
fn key_text(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !key.starts_with(['-', '.'])
        && crate::yaml::resolve::resolve_non_string(key).is_none()
        && !crate::yaml::resolve::is_yaml11_only(key);
    if plain {
        key.to_owned()
    } else {
        serde_json::to_string(key).expect("a string")
    }
}

/// A scalar as emitted YAML: strings JSON-quoted (a JSON string is a
/// YAML double-quoted string), floats with a point.
fn yaml_scalar(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            let text = f.to_string();
            if text.contains(['.', 'e', 'E']) || text.contains("inf") || text.contains("NaN") {
                text
            } else {
                format!("{text}.0")
            }
        }
        // JSON strings are YAML double-quoted strings.
        Value::Str(s) => serde_json::to_string(s).expect("a string"),
        Value::Map(_) => "{}".to_owned(),
        Value::Seq(_) => "[]".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse_stream};

    #[test]
    fn round_trips_and_maps_back() {
        let source = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          securityContext:\n            privileged: true\n          args: [\"--x\", \"on\"]\n      hostPID: false\n";
        let object = parse_stream(source, Limits::default())
            .documents
            .remove(0)
            .root;
        let emitted = emit(std::slice::from_ref(&object));
        let again = parse_stream(&emitted.text, Limits::default())
            .documents
            .remove(0)
            .root;
        assert_eq!(again.to_json(), object.to_json(), "{}", emitted.text);
        // The written `true` maps back to the source's `true`.
        let at = emitted.text.find("true").unwrap();
        let origin = emitted.origin(Span::new(at, at + 4)).unwrap();
        assert_eq!(&source[origin.start as usize..origin.end as usize], "true");
        let at = emitted.text.find("securityContext").unwrap();
        let origin = emitted.origin(Span::new(at, at + 15)).unwrap();
        assert_eq!(
            &source[origin.start as usize..origin.end as usize],
            "securityContext"
        );
    }
}
