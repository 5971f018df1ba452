//! A shallow reading of a Helm template: which YAML key each line writes
//! and what it writes there (a literal, an expression, or a block inserted
//! by `toYaml`/`include`). It does not evaluate Go templates; it follows
//! indentation and the `with`/`range` blocks that rebind `.`, which is
//! enough to trace most rendered fields back to a line.

use crate::yaml::Span;

/// One step of a path in a rendered object or a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A list item: its index in rendered output; any item in templates.
    Item(usize),
}

/// What a template line writes at its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A key whose value follows on the next lines.
    Block,
    /// A value written as is.
    Literal(String),
    /// A value made by a template expression (`{{ .Values.x }}`); the
    /// values path it reads, when kslint can tell.
    Expr(Option<Vec<String>>),
    /// A block inserted by an action on its own (`toYaml .Values.x`,
    /// `include "..."`); the values path it inserts, when it is one.
    Insert(Option<Vec<String>>),
}

/// A template line that writes YAML.
#[derive(Debug, Clone)]
pub struct Line {
    /// Where it writes: keys, and list items numbered in template order.
    pub path: Vec<Seg>,
    /// What it writes.
    pub written: Written,
    /// The key (or the whole action for inserts), in template bytes.
    pub key_span: Span,
    /// The value text (or the action), in template bytes.
    pub value_span: Span,
    /// The literal `name:` of each list item on the path (to tell sibling
    /// containers apart), `None` where unknown.
    pub item_names: Vec<Option<String>>,
    /// Which YAML document of the template (split at `---`) it is in.
    pub doc: usize,
}

/// Reads a template's lines.
pub fn read(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    // (indent, path, item names, is a key with a block value)
    let mut stack: Vec<Frame> = Vec::new();
    // What `.` means in each open block, as a values path (None: not values).
    let mut dots: Vec<Option<Vec<String>>> = vec![None];
    let mut open_action = false;
    let mut block_scalar_indent: Option<usize> = None;
    let mut doc = 0usize;
    let mut offset = 0usize;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if open_action {
            // Inside a multi-line action such as a long `{{- if and ... }}`.
            if line.contains("}}") {
                open_action = false;
            }
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim_start_matches(' ');
        if let Some(block) = block_scalar_indent {
            if content.is_empty() || indent > block {
                continue;
            }
            block_scalar_indent = None;
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if indent == 0 && (content == "---" || content.starts_with("--- ")) {
            // Helm drops empty documents, so only one with content counts.
            if lines.last().is_some_and(|l: &Line| l.doc == doc) {
                doc += 1;
            }
            stack.clear();
            continue;
        }
        if content.starts_with("{{") {
            let actions = actions_of(content);
            if actions.unclosed {
                open_action = true;
            }
            if actions.rest.trim().is_empty() {
                for action in &actions.items {
                    if let Some(insert) = control(action, &mut dots) {
                        // An output action alone on its line inserts a block.
                        let target = insert_indent(action, indent).unwrap_or(indent);
                        let parent = parent_of(&mut stack, target);
                        let at = start + indent;
                        let span = Span::new(at, at + content.trim_end().len());
                        lines.push(Line {
                            path: parent.0,
                            written: Written::Insert(insert),
                            key_span: span,
                            value_span: span,
                            item_names: parent.1,
                            doc,
                        });
                    }
                }
                continue;
            }
        }
        // A YAML line, possibly starting with list dashes.
        let mut column = indent;
        let mut rest = content;
        let mut item_started = false;
        while let Some(after) = rest
            .strip_prefix("- ")
            .or_else(|| (rest == "-").then_some(""))
        {
            let (path, names) = parent_for_item(&mut stack, column);
            let ordinal = next_ordinal(&mut stack, column);
            let mut item_path = path;
            item_path.push(Seg::Item(ordinal));
            let mut item_names = names;
            item_names.push(item_name(after));
            stack.push(Frame {
                indent: column,
                path: item_path,
                names: item_names,
                item: true,
                ordinals: Vec::new(),
            });
            let trimmed = after.trim_start_matches(' ');
            column += rest.len() - trimmed.len();
            rest = trimmed;
            item_started = true;
            if rest.is_empty() {
                break;
            }
        }
        let Some((key, value)) = split_key(rest) else {
            // A list item that is a scalar (`- NET_ADMIN`, `- {{ .Values.x }}`).
            if item_started && !rest.is_empty() {
                let item = stack.last().expect("an item frame was pushed");
                let text = strip_comment(rest).trim_end();
                let at = start + (line.len() - rest.len());
                let span = Span::new(at, at + text.len());
                let dot = dots.last().cloned().flatten();
                let written = if text.contains("{{") {
                    Written::Expr(values_path(text, dot.as_deref()))
                } else {
                    Written::Literal(unquote(text).to_owned())
                };
                lines.push(Line {
                    path: item.path.clone(),
                    written,
                    key_span: span,
                    value_span: span,
                    item_names: item.names.clone(),
                    doc,
                });
            }
            continue;
        };
        let key_start = start + (line.len() - rest.len());
        let key_span = Span::new(key_start, key_start + key.len());
        let key_name = unquote(key.trim()).to_owned();
        while stack
            .last()
            .is_some_and(|f| f.indent > column || (f.indent == column && !(f.item && item_started)))
        {
            stack.pop();
        }
        let (mut path, names) = stack
            .last()
            .map(|f| (f.path.clone(), f.names.clone()))
            .unwrap_or_default();
        path.push(Seg::Key(key_name));
        let value_text = strip_comment(value).trim();
        let value_start = start + (line.len() - rest.len()) + (rest.len() - value.len());
        let value_start = value_start + (value.len() - value.trim_start().len());
        let value_span = Span::new(value_start, value_start + value_text.len());
        let dot = dots.last().cloned().flatten();
        let written = if value_text.is_empty() {
            Written::Block
        } else if value_text.contains("{{") {
            let inner = value_text.trim();
            if inner.starts_with("{{") && inner.ends_with("}}") && is_block_insert(inner) {
                Written::Insert(values_path(inner, dot.as_deref()))
            } else {
                Written::Expr(values_path(inner, dot.as_deref()))
            }
        } else if value_text.starts_with('|') || value_text.starts_with('>') {
            block_scalar_indent = Some(column);
            Written::Literal(String::new())
        } else {
            Written::Literal(unquote(value_text).to_owned())
        };
        let is_block = matches!(written, Written::Block | Written::Insert(_));
        lines.push(Line {
            path: path.clone(),
            written,
            key_span,
            value_span,
            item_names: names.clone(),
            doc,
        });
        if is_block {
            stack.push(Frame {
                indent: column,
                path,
                names,
                item: false,
                ordinals: Vec::new(),
            });
        }
    }
    lines
}

#[derive(Debug)]
struct Frame {
    indent: usize,
    path: Vec<Seg>,
    names: Vec<Option<String>>,
    item: bool,
    // How many list items each child list has had, by dash column.
    ordinals: Vec<(usize, usize)>,
}

/// The path and names of the innermost key at an indent below `column`.
fn parent_of(stack: &mut Vec<Frame>, column: usize) -> (Vec<Seg>, Vec<Option<String>>) {
    while stack.last().is_some_and(|f| f.indent >= column) {
        stack.pop();
    }
    stack
        .last()
        .map(|f| (f.path.clone(), f.names.clone()))
        .unwrap_or_default()
}

/// The parent of a list item whose dash is at `column`: YAML lets a list
/// sit at the same indent as its key.
fn parent_for_item(stack: &mut Vec<Frame>, column: usize) -> (Vec<Seg>, Vec<Option<String>>) {
    while stack
        .last()
        .is_some_and(|f| f.indent > column || (f.indent == column && f.item))
    {
        stack.pop();
    }
    stack
        .last()
        .map(|f| (f.path.clone(), f.names.clone()))
        .unwrap_or_default()
}

fn next_ordinal(stack: &mut [Frame], column: usize) -> usize {
    let Some(frame) = stack.last_mut() else {
        return 0;
    };
    match frame.ordinals.iter_mut().find(|(c, _)| *c == column) {
        Some((_, n)) => {
            *n += 1;
            *n
        }
        None => {
            frame.ordinals.push((column, 0));
            0
        }
    }
}

/// The literal name of a list item written as `- name: x`.
fn item_name(after_dash: &str) -> Option<String> {
    let (key, value) = split_key(after_dash.trim_start())?;
    let value = strip_comment(value).trim();
    (key.trim() == "name" && !value.is_empty() && !value.contains("{{"))
        .then(|| unquote(value).to_owned())
}

/// `key: value` or `key:`; keys made by templates are not keys we can use.
fn split_key(text: &str) -> Option<(&str, &str)> {
    if text.starts_with("{{") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'"') | Some(b'\'')) {
        let quote = bytes[0];
        i = 1 + text[1..].find(quote as char)? + 1;
    }
    while i < bytes.len() {
        match bytes[i] {
            b':' if i + 1 == bytes.len() || bytes[i + 1] == b' ' => {
                let key = &text[..i];
                if key.contains("{{") || key.trim().is_empty() {
                    return None;
                }
                return Some((key, &text[i + 1..]));
            }
            b'#' if i > 0 && bytes[i - 1] == b' ' => return None,
            _ => i += 1,
        }
    }
    None
}

fn strip_comment(value: &str) -> &str {
    // A ` #` outside quotes and actions starts a comment.
    let mut in_action = 0usize;
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in value.char_indices() {
        match c {
            '{' if value[i..].starts_with("{{") => in_action += 1,
            '}' if value[i..].starts_with("}}") && in_action > 0 => in_action -= 1,
            '"' | '\'' if in_action == 0 => {
                quote = match quote {
                    Some(q) if q == c => None,
                    None => Some(c),
                    other => other,
                }
            }
            '#' if in_action == 0 && quote.is_none() && previous == ' ' => return &value[..i],
            _ => {}
        }
        previous = c;
    }
    value
}

/// Text without one pair of surrounding quotes.
pub(super) fn unquote(text: &str) -> &str {
    let t = text.trim();
    if t.len() >= 2
        && ((t.starts_with('"') && t.ends_with('"')) || (t.starts_with('\'') && t.ends_with('\'')))
    {
        &t[1..t.len() - 1]
    } else {
        t
    }
}

struct Actions<'a> {
    items: Vec<&'a str>,
    rest: String,
    unclosed: bool,
}

/// The `{{ ... }}` actions of a line and what is left outside them.
fn actions_of(content: &str) -> Actions<'_> {
    let mut items = Vec::new();
    let mut rest = String::new();
    let mut cursor = 0;
    let mut unclosed = false;
    while let Some(open) = content[cursor..].find("{{") {
        rest.push_str(&content[cursor..cursor + open]);
        let from = cursor + open;
        match content[from..].find("}}") {
            Some(close) => {
                items.push(&content[from..from + close + 2]);
                cursor = from + close + 2;
            }
            None => {
                // The start of an action that ends on a later line still
                // opens its block (`{{- if and` ... `}}`).
                items.push(&content[from..]);
                unclosed = true;
                cursor = content.len();
            }
        }
    }
    rest.push_str(&content[cursor..]);
    Actions {
        items,
        rest,
        unclosed,
    }
}

/// The words of an action, without the delimiters and trim markers.
fn action_body(action: &str) -> &str {
    action
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim_start_matches('-')
        .trim_end_matches('-')
        .trim()
}

/// Follows `with`, `range`, `if`, `define` and `end`; an output action
/// returns the values path it inserts (`Some(None)` when not values).
fn control(action: &str, dots: &mut Vec<Option<Vec<String>>>) -> Option<Option<Vec<String>>> {
    let body = action_body(action);
    if body.starts_with("/*") {
        return None;
    }
    let word = body.split_whitespace().next().unwrap_or("");
    let dot = dots.last().cloned().flatten();
    match word {
        "with" => {
            dots.push(values_path(&body[4..], dot.as_deref()));
            None
        }
        "range" => {
            // `range $i, $x := .Values.list` or `range .Values.list`: `.`
            // becomes an element, which has no fixed values path.
            dots.push(None);
            None
        }
        "if" | "define" | "block" => {
            dots.push(dot);
            None
        }
        "end" => {
            if dots.len() > 1 {
                dots.pop();
            }
            None
        }
        "else" | "break" | "continue" | "" => None,
        _ if body.starts_with('$') && body.contains(":=") => None,
        _ if body.starts_with('$') && body.contains('=') && !body.contains("==") => None,
        _ => Some(values_path(body, dot.as_deref())),
    }
}

/// Whether a value made only of actions inserts a block (`toYaml`,
/// `include`) rather than a scalar.
fn is_block_insert(text: &str) -> bool {
    text.contains("toYaml") || text.contains("nindent")
}

/// The column an action's block lands at: `nindent N` puts it there.
/// `indent N` indents every line by N (the first after the action's own
/// column, which is usually 0 for this idiom).
fn insert_indent(action: &str, column: usize) -> Option<usize> {
    let body = action_body(action);
    let mut words = body.split(|c: char| c.is_whitespace() || c == '|' || c == ')');
    while let Some(word) = words.next() {
        if word == "nindent" || word == "indent" {
            let n: usize = words.find(|w| !w.is_empty())?.parse().ok()?;
            return Some(if word == "indent" { n.max(column) } else { n });
        }
    }
    None
}

/// The values path an expression reads: `.Values.a.b`, `$.Values.a.b`,
/// or `.a.b` / `.` inside a `with` over values. `None` for anything else
/// (`.Release.Namespace`, `include "x" .`, string literals).
pub fn values_path(expression: &str, dot: Option<&[String]>) -> Option<Vec<String>> {
    let body = action_body(expression.trim());
    let body = body.trim_start_matches("{{").trim_end_matches("}}");
    // Helpers and printf compose values with text; their result is not
    // one values key.
    let words: Vec<&str> = body
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '|')
        .filter(|w| !w.is_empty())
        .collect();
    if words.iter().any(|w| {
        matches!(
            *w,
            "include" | "tpl" | "printf" | "print" | "cat" | "template" | "index"
        )
    }) {
        return None;
    }
    let reference = words
        .iter()
        .find(|w| w.starts_with('.') || w.starts_with("$."))?;
    let reference = reference.trim_start_matches('$');
    if let Some(rest) = reference.strip_prefix(".Values") {
        return Some(split_fields(rest));
    }
    let dot = dot?;
    let mut path = dot.to_vec();
    path.extend(split_fields(reference));
    Some(path)
}

fn split_fields(rest: &str) -> Vec<String> {
    rest.split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(path: &[Seg]) -> String {
        path.iter()
            .map(|s| match s {
                Seg::Key(k) => k.clone(),
                Seg::Item(i) => format!("[{i}]"),
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    #[test]
    fn follows_indentation_lists_and_inserts() {
        let text = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
spec:
  template:
    spec:
      {{- with .Values.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: app
          image: "{{ .Values.image.repository }}"
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          ports:
            - containerPort: 8080
        - name: sidecar
          securityContext:
            privileged: true
"#;
        let lines = read(text);
        let shown: Vec<String> = lines
            .iter()
            .map(|l| format!("{} {:?}", keys(&l.path), l.written))
            .collect();
        let expected = [
            "apiVersion Literal(\"apps/v1\")",
            "kind Literal(\"Deployment\")",
            "metadata Block",
            "metadata.name Expr(None)",
            "spec Block",
            "spec.template Block",
            "spec.template.spec Block",
            "spec.template.spec.securityContext Block",
            "spec.template.spec.securityContext Insert(Some([\"podSecurityContext\"]))",
            "spec.template.spec.containers Block",
            "spec.template.spec.containers.[0].name Literal(\"app\")",
            "spec.template.spec.containers.[0].image Expr(Some([\"image\", \"repository\"]))",
            "spec.template.spec.containers.[0].securityContext Block",
            "spec.template.spec.containers.[0].securityContext Insert(Some([\"securityContext\"]))",
            "spec.template.spec.containers.[0].ports Block",
            "spec.template.spec.containers.[0].ports.[0].containerPort Literal(\"8080\")",
            "spec.template.spec.containers.[1].name Literal(\"sidecar\")",
            "spec.template.spec.containers.[1].securityContext Block",
            "spec.template.spec.containers.[1].securityContext.privileged Literal(\"true\")",
        ];
        assert_eq!(shown, expected);
        let privileged = lines.last().unwrap();
        assert_eq!(privileged.item_names, vec![Some("sidecar".to_owned())]);
        assert_eq!(
            &text[privileged.value_span.start as usize..privileged.value_span.end as usize],
            "true"
        );
    }

    #[test]
    fn values_paths() {
        assert_eq!(
            values_path("{{ .Values.a.b | quote }}", None),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            values_path("{{ $.Values.a }}", None),
            Some(vec!["a".into()])
        );
        assert_eq!(
            values_path("{{ toYaml . | nindent 4 }}", Some(&["x".to_owned()])),
            Some(vec!["x".into()])
        );
        assert_eq!(values_path("{{ .Release.Namespace }}", None), None);
        assert_eq!(
            values_path("{{ include \"a\" . }}", Some(&["x".to_owned()])),
            None
        );
    }

    #[test]
    fn block_scalars_and_multiline_actions_are_skipped() {
        let text = "data:\n  script: |\n    privileged: true\n{{- if and\n    .Values.a\n    .Values.b }}\n  other: x\n{{- end }}\n";
        let shown: Vec<String> = read(text).iter().map(|l| keys(&l.path)).collect();
        assert_eq!(shown, ["data", "data.script", "data.other"]);
    }

    #[test]
    fn documents_are_numbered_as_helm_splits_them() {
        let text = "---\n{{- if .Values.a }}\nkind: A\nspec:\n  hostNetwork: true\n{{- end }}\n---\nkind: B\nspec:\n  hostNetwork: {{ .Values.b }}\n";
        let docs: Vec<(usize, String)> =
            read(text).iter().map(|l| (l.doc, keys(&l.path))).collect();
        assert_eq!(
            docs,
            [
                (0, "kind".to_owned()),
                (0, "spec".to_owned()),
                (0, "spec.hostNetwork".to_owned()),
                (1, "kind".to_owned()),
                (1, "spec".to_owned()),
                (1, "spec.hostNetwork".to_owned()),
            ]
        );
    }
}
