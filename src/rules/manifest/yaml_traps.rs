//! YAML traps that load without error but not as written: repeated keys
//! (the last wins) and plain scalars that YAML 1.1, which Kubernetes reads,
//! and YAML 1.2 read differently. The runner reports them per document.

use crate::yaml::resolve::is_yaml11_only;
use crate::yaml::{Document, Node, Span, Value};

/// A plain scalar Kubernetes reads differently from YAML 1.2 tools.
#[derive(Debug, Clone, PartialEq)]
pub struct Ambiguous {
    /// Where it is.
    pub span: Span,
    /// What Kubernetes reads (`true`, `420`).
    pub reading: String,
    /// Why: `a YAML 1.1 boolean`, `a YAML 1.1 octal number`.
    pub why: &'static str,
    /// What a YAML 1.2 tool reads instead.
    pub yaml12: String,
    /// The value written so both read what Kubernetes reads: `true`, an
    /// octal number as `0o644`, other numbers in decimal.
    pub plain: String,
}

/// Every value node of a document (not keys), in document order.
fn values(document: &Document) -> impl Iterator<Item = &Node> {
    let mut stack: Vec<&Node> = vec![&document.root];
    std::iter::from_fn(move || {
        let node = stack.pop()?;
        match &node.value {
            Value::Seq(items) => stack.extend(items.iter().rev()),
            Value::Map(entries) => stack.extend(entries.iter().rev().map(|e| &e.value)),
            _ => {}
        }
        Some(node)
    })
}

/// Every ambiguous plain scalar of a document, in order.
pub fn ambiguous_values(text: &str, document: &Document) -> Vec<Ambiguous> {
    let mut out = Vec::new();
    for node in values(document) {
        match &node.value {
            // Only in a flow collection can a plain scalar end with `:`
            // (`[a:]`): libyaml ends it at `:` only before a blank, YAML 1.2
            // before a flow indicator too, which makes it a key.
            Value::Str(string) if node.plain && string.ends_with(':') => {
                out.push(Ambiguous {
                    span: node.span,
                    reading: format!("the string \"{string}\""),
                    why: "a plain value ending in `:` in a flow collection",
                    yaml12: format!(
                        "a mapping of the key \"{}\" to an empty value",
                        string.trim_end_matches(':')
                    ),
                    plain: format!("\"{}\"", string.replace('\\', "\\\\").replace('"', "\\\"")),
                });
            }
            Value::Bool(_) | Value::Int(_) | Value::Float(_) if node.plain => {
                let Some(written) = text.get(node.span.start as usize..node.span.end as usize)
                else {
                    continue;
                };
                if !is_yaml11_only(written) {
                    continue;
                }
                let (reading, why) = match &node.value {
                    Value::Bool(b) => (b.to_string(), "a YAML 1.1 boolean"),
                    Value::Int(i) if written.trim_start_matches(['+', '-']).starts_with("0b") => {
                        (i.to_string(), "a YAML 1.1 binary number")
                    }
                    Value::Int(i) if written.contains('_') => (
                        i.to_string(),
                        "a YAML 1.1 number with its underscores dropped",
                    ),
                    Value::Int(i) => (i.to_string(), "a YAML 1.1 octal number"),
                    Value::Float(f) => (
                        f.to_string(),
                        "a YAML 1.1 number with its underscores dropped",
                    ),
                    _ => unreachable!("matched above"),
                };
                // YAML 1.2 reads leading-zero numbers as decimal, and the
                // other forms as strings.
                let yaml12 = if why.contains("octal") {
                    let sign = if written.starts_with('-') { "-" } else { "" };
                    let digits = written
                        .trim_start_matches(['+', '-'])
                        .trim_start_matches('0');
                    format!("{sign}{}", if digits.is_empty() { "0" } else { digits })
                } else {
                    format!("the string \"{written}\"")
                };
                // `08` and `01.5` read the same in both versions.
                if yaml12 == reading {
                    continue;
                }
                let plain = if why.contains("octal") {
                    let sign = if written.starts_with('-') { "-" } else { "" };
                    format!(
                        "{sign}0o{}",
                        written
                            .trim_start_matches(['+', '-'])
                            .trim_start_matches('0')
                    )
                } else {
                    reading.clone()
                };
                out.push(Ambiguous {
                    span: node.span,
                    reading,
                    why,
                    yaml12,
                    plain,
                });
            }
            _ => {}
        }
    }
    out
}

/// The continuation lines of quoted strings that are indented less than
/// the line the string starts on (`- "--a \` then `  --b"` under a deeper
/// list): Kubernetes' YAML 1.1 reader joins them, YAML 1.2 tools reject
/// the file. Each span is the text of such a line.
pub fn short_continuations(text: &str, document: &Document) -> Vec<Span> {
    let mut out = Vec::new();
    for node in values(document) {
        match &node.value {
            Value::Str(_) if !node.plain => {
                let (start, end) = (node.span.start as usize, node.span.end as usize);
                let Some(written) = text.get(start..end) else {
                    continue;
                };
                if !written.starts_with(['"', '\'']) || !written.contains('\n') {
                    continue;
                }
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                let indent = |line: &str| line.len() - line.trim_start_matches(' ').len();
                let block = indent(&text[line_start..start]);
                let mut at = start + written.find('\n').unwrap_or(0) + 1;
                for line in written.split('\n').skip(1) {
                    let content = line.trim();
                    if !content.is_empty() && indent(line) < block {
                        let from = at + indent(line);
                        out.push(Span::new(from, from + line.trim_end().len() - indent(line)));
                    }
                    at += line.len() + 1;
                }
            }
            _ => {}
        }
    }
    out
}
