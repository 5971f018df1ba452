//! Tracing a field of a rendered object back to what produced it: a
//! literal on a template line, or a key of a values file that a template
//! expression (`{{ .Values.x }}`, `toYaml .Values.x | nindent N`) pulled
//! in. Every precise answer is checked against the rendered value; when
//! the check fails or the template is beyond this reading, the answer says
//! it is approximate rather than naming a wrong line.

use super::template::{Line, Seg, Written};
use crate::yaml::{Node, Span, Value};

/// The values files of a render, in the order Helm merges them (later
/// files win).
#[derive(Debug)]
pub struct ValuesFile<'a> {
    /// Its parsed root.
    pub root: &'a Node,
    /// Where this chart's values sit in the file (a parent chart's values
    /// file keeps a subchart's under its name).
    pub prefix: Vec<String>,
}

/// Where a rendered field came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A template line wrote it.
    Template {
        /// The bytes to point at in the template.
        span: Span,
        /// Whether kslint is sure of this line; if not, `why` says so.
        exact: bool,
        /// A label for the place.
        why: String,
    },
    /// A values file set it, through a template expression.
    Values {
        /// Which of the render's values files.
        file: usize,
        /// The key (or list item) in it.
        span: Span,
        /// The template expression that inserted it.
        template_span: Span,
        /// The values path, dotted.
        key: String,
    },
}

/// A place in a rendered object: the path from its root to a node.
#[derive(Debug)]
pub struct Located<'a> {
    /// Keys and list indices from the object root.
    pub path: Vec<Seg>,
    /// The `name` of each list item on the path, if it has one.
    pub names: Vec<Option<String>>,
    /// The node the span falls in.
    pub node: &'a Node,
    /// Whether the span is on the node's key rather than its value.
    pub at_key: bool,
}

/// Finds the deepest node of `root` that contains `span`.
pub fn locate(root: &Node, span: Span) -> Option<Located<'_>> {
    let within = |outer: Span| outer.start <= span.start && span.end <= outer.end.max(span.start);
    if !within(root.span) {
        return None;
    }
    let mut located = Located {
        path: Vec::new(),
        names: Vec::new(),
        node: root,
        at_key: false,
    };
    loop {
        let next = match &located.node.value {
            Value::Map(entries) => entries.iter().find_map(|entry| {
                if entry.key_span.start <= span.start
                    && span.start < entry.key_span.end.max(entry.key_span.start + 1)
                {
                    Some((Seg::Key(entry.key.clone()), &entry.value, true, None))
                } else if within(entry.value.span) {
                    Some((Seg::Key(entry.key.clone()), &entry.value, false, None))
                } else {
                    None
                }
            }),
            Value::Seq(items) => items.iter().enumerate().find_map(|(i, item)| {
                within(item.span).then(|| {
                    let name = item.get("name").and_then(Node::as_str).map(str::to_owned);
                    (Seg::Item(i), item, false, Some(name))
                })
            }),
            _ => None,
        };
        let Some((seg, node, at_key, name)) = next else {
            return Some(located);
        };
        located.path.push(seg);
        if let Some(name) = name {
            located.names.push(name);
        }
        located.node = node;
        if at_key {
            located.at_key = true;
            return Some(located);
        }
    }
}

/// Traces a rendered place to its template line or values key.
pub fn trace(
    place: &Located<'_>,
    rendered_text: &str,
    lines: &[Line],
    values: &[ValuesFile<'_>],
) -> Origin {
    let path = &place.path;
    let scalar = !matches!(place.node.value, Value::Map(_) | Value::Seq(_));
    // A line that writes exactly this key.
    let exact: Vec<&Line> = pick(
        lines
            .iter()
            .filter(|l| !matches!(l.written, Written::Insert(_)))
            .filter(|l| same_path(&l.path, path) && names_agree(l, &place.names))
            .collect(),
        path,
    );
    if let [line] = exact[..] {
        return from_line(line, place, scalar, rendered_text, values);
    }
    if exact.len() > 1 {
        return uncertain(
            exact[0].key_span,
            "this line or another like it in the template wrote the value; kslint could not tell which",
        );
    }
    // A flow collection written literally (`add: [NET_ADMIN]`): the item
    // is inside that line's value.
    let rendered = slice(rendered_text, place.node.span);
    if scalar && !rendered.is_empty() {
        let inline = lines.iter().find(|l| {
            matches!(l.written, Written::Literal(_))
                && l.path.len() < path.len()
                && same_path(&l.path, &path[..l.path.len()])
                && names_agree(l, &place.names)
        });
        if let Some(line) = inline
            && let Written::Literal(text) = &line.written
            && let Some(at) = text.find(unquote(rendered))
        {
            let start = line.value_span.start as usize + at;
            return Origin::Template {
                span: Span::new(start, start + unquote(rendered).len()),
                exact: true,
                why: String::new(),
            };
        }
    }
    // The deepest block an action inserted above this place.
    let ancestor = lines
        .iter()
        .filter(|l| matches!(l.written, Written::Block))
        .filter(|l| l.path.len() < path.len() && same_path(&l.path, &path[..l.path.len()]))
        .filter(|l| names_agree(l, &place.names))
        .max_by_key(|l| l.path.len());
    let inserts: Vec<&Line> = lines
        .iter()
        .filter(|l| matches!(l.written, Written::Insert(_)))
        .filter(|l| l.path.len() <= path.len() && same_path(&l.path, &path[..l.path.len()]))
        .filter(|l| names_agree(l, &place.names))
        .collect();
    let deepest_insert = inserts.iter().map(|l| l.path.len()).max();
    if let Some(depth) = deepest_insert
        && ancestor.is_none_or(|a| a.path.len() <= depth)
    {
        let at_depth: Vec<&&Line> = inserts.iter().filter(|l| l.path.len() == depth).collect();
        for line in &at_depth {
            let Written::Insert(Some(base)) = &line.written else {
                continue;
            };
            let mut key: Vec<Seg> = base.iter().cloned().map(Seg::Key).collect();
            key.extend(path[depth..].iter().cloned());
            if let Some((file, span, node)) = lookup(values, &key)
                && agrees(node, place.node)
            {
                return Origin::Values {
                    file,
                    span,
                    template_span: line.value_span,
                    key: dotted(&key),
                };
            }
        }
        let line = at_depth[0];
        let why = match &line.written {
            Written::Insert(Some(base)) => {
                let mut key: Vec<Seg> = base.iter().cloned().map(Seg::Key).collect();
                key.extend(path[depth..].iter().cloned());
                format!(
                    "this action inserts `.Values.{}`, but kslint found `{}` in none of the values files it was given; the value may come from a file or --set it did not see",
                    base.join("."),
                    dotted(&key)
                )
            }
            _ => "this action (a helper or expression) produced the value; kslint cannot trace inside it".to_owned(),
        };
        return uncertain(line.value_span, &why);
    }
    match ancestor {
        Some(line) => uncertain(
            line.key_span,
            "the value is set under this key by template logic kslint could not follow",
        ),
        None => uncertain(
            Span::default(),
            "kslint could not trace this value to a line of the template",
        ),
    }
}

fn from_line(
    line: &Line,
    place: &Located<'_>,
    scalar: bool,
    rendered_text: &str,
    values: &[ValuesFile<'_>],
) -> Origin {
    let at = if place.at_key || !scalar {
        line.key_span
    } else {
        line.value_span
    };
    match &line.written {
        Written::Block | Written::Insert(_) => Origin::Template {
            span: line.key_span,
            exact: true,
            why: String::new(),
        },
        Written::Literal(text) => {
            let rendered = slice(rendered_text, place.node.span);
            if place.at_key || !scalar || unquote(rendered) == text {
                Origin::Template {
                    span: at,
                    exact: true,
                    why: String::new(),
                }
            } else {
                uncertain(
                    line.key_span,
                    "the template writes this key, but the rendered value differs from this line's; kslint could not tell where it came from",
                )
            }
        }
        Written::Expr(reference) => {
            if let Some(path) = reference
                && !place.at_key
            {
                let key: Vec<Seg> = path.iter().cloned().map(Seg::Key).collect();
                if let Some((file, span, node)) = lookup(values, &key)
                    && agrees(node, place.node)
                {
                    return Origin::Values {
                        file,
                        span,
                        template_span: line.value_span,
                        key: dotted(&key),
                    };
                }
            }
            Origin::Template {
                span: at,
                exact: true,
                why: "this expression renders the value".to_owned(),
            }
        }
    }
}

fn uncertain(span: Span, why: &str) -> Origin {
    Origin::Template {
        span,
        exact: false,
        why: why.to_owned(),
    }
}

/// Among lines that match, those whose item numbers match the rendered
/// indices, when that narrows them to one.
fn pick<'l>(candidates: Vec<&'l Line>, path: &[Seg]) -> Vec<&'l Line> {
    if candidates.len() <= 1 {
        return candidates;
    }
    let by_position: Vec<&Line> = candidates
        .iter()
        .copied()
        .filter(|l| l.path == path)
        .collect();
    if by_position.len() == 1 {
        return by_position;
    }
    // Lines for the same key in sibling `if`/`else` branches differ only in
    // what they write; one key line for all is still the right place.
    candidates
}

/// Whether a template path (items numbered in template order) can be the
/// rendered path (items numbered by position); item numbers may differ, as
/// ranges and conditions change them.
fn same_path(template: &[Seg], rendered: &[Seg]) -> bool {
    template.len() == rendered.len()
        && template.iter().zip(rendered).all(|(t, r)| match (t, r) {
            (Seg::Key(a), Seg::Key(b)) => a == b,
            (Seg::Item(_), Seg::Item(_)) => true,
            _ => false,
        })
}

/// Whether a line's list items can be the rendered ones: literal names,
/// where both sides have one, must be equal.
fn names_agree(line: &Line, rendered: &[Option<String>]) -> bool {
    line.item_names
        .iter()
        .zip(rendered)
        .all(|(t, r)| match (t, r) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
}

/// The last values file that sets `path`: the key's span and its node.
fn lookup<'v>(values: &[ValuesFile<'v>], path: &[Seg]) -> Option<(usize, Span, &'v Node)> {
    values.iter().enumerate().rev().find_map(|(i, file)| {
        let mut node = file.root;
        for key in &file.prefix {
            node = node.get(key)?;
        }
        let mut span = node.span;
        for seg in path {
            match seg {
                Seg::Key(key) => {
                    let entry = node.entry(key)?;
                    span = entry.key_span;
                    node = &entry.value;
                }
                Seg::Item(index) => {
                    node = node.as_seq()?.get(*index)?;
                    span = node.span;
                }
            }
        }
        // A key set to null in a later file unsets it (Helm's way to drop a
        // default); it did not set this value.
        (!node.is_null()).then_some((i, span, node))
    })
}

/// Whether a values node is what the template rendered.
fn agrees(values: &Node, rendered: &Node) -> bool {
    match (&values.value, &rendered.value) {
        (Value::Map(_), Value::Map(_)) | (Value::Seq(_), Value::Seq(_)) => true,
        (Value::Map(_) | Value::Seq(_), _) | (_, Value::Map(_) | Value::Seq(_)) => false,
        (a, b) => scalar_text(a) == scalar_text(b),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.clone(),
        Value::Seq(_) | Value::Map(_) => String::new(),
    }
}

fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Item(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn slice(text: &str, span: Span) -> &str {
    text.get(span.start as usize..span.end as usize)
        .unwrap_or("")
}

fn unquote(text: &str) -> &str {
    let t = text.trim();
    if t.len() >= 2
        && ((t.starts_with('"') && t.ends_with('"')) || (t.starts_with('\'') && t.ends_with('\'')))
    {
        &t[1..t.len() - 1]
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helm::template;
    use crate::yaml::{Limits, parse_stream};

    const TEMPLATE: &str = r#"spec:
  {{- with .Values.pod }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: web
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
      securityContext:
        privileged: {{ .Values.privileged }}
    - name: agent
      securityContext:
        privileged: true
"#;

    /// Traces the rendered value at `needle` (its first occurrence after
    /// `after`) and shows where it went.
    fn traced(rendered: &str, values: &str, after: &str, needle: &str) -> String {
        let root = &parse_stream(rendered, Limits::default()).documents[0].root;
        let values_root = &parse_stream(values, Limits::default()).documents[0].root;
        let from = rendered.find(after).unwrap();
        let at = from + rendered[from..].find(needle).unwrap();
        let place = locate(root, Span::new(at, at + needle.len())).unwrap();
        let lines = template::read(TEMPLATE);
        let files = [ValuesFile {
            root: values_root,
            prefix: Vec::new(),
        }];
        match trace(&place, rendered, &lines, &files) {
            Origin::Template { span, exact, .. } => {
                let line = TEMPLATE[..span.start as usize].matches('\n').count() + 1;
                format!("template:{line} exact={exact}")
            }
            Origin::Values { span, key, .. } => {
                let line = values[..span.start as usize].matches('\n').count() + 1;
                format!("values:{line} {key}")
            }
        }
    }

    const VALUES: &str =
        "image:\n  repository: web\n  tag: \"1.0\"\npod:\n  runAsUser: 0\nprivileged: true\n";

    const RENDERED: &str = r#"spec:
  securityContext:
    runAsUser: 0
  containers:
    - name: web
      image: "web:1.0"
      securityContext:
        privileged: true
    - name: agent
      securityContext:
        privileged: true
"#;

    #[test]
    fn literals_expressions_and_inserted_blocks() {
        // Written literally for the agent container: that template line.
        assert_eq!(
            traced(RENDERED, VALUES, "agent", "true"),
            "template:13 exact=true"
        );
        // From `.Values.privileged`: the values key.
        assert_eq!(
            traced(RENDERED, VALUES, "web", "true"),
            "values:6 privileged"
        );
        // Through `with .Values.pod` and `toYaml .`: the nested key.
        assert_eq!(
            traced(RENDERED, VALUES, "spec", "0"),
            "values:5 pod.runAsUser"
        );
        // A value composed by the template is not one values key: the line
        // that composes it.
        assert_eq!(
            traced(RENDERED, VALUES, "web", "web:1.0"),
            "template:8 exact=true"
        );
    }

    #[test]
    fn a_value_that_disagrees_is_never_claimed() {
        // The values file kslint has says false; the render says true (a
        // --set or a values file it was not given): not the values line.
        let values = VALUES.replace("privileged: true", "privileged: false");
        assert_eq!(
            traced(RENDERED, &values, "web", "true"),
            "template:10 exact=true"
        );
        // The pod's runAsUser is in no values file: approximate, at the
        // action that inserted it.
        let values = VALUES.replace("  runAsUser: 0\n", "  fsGroup: 1\n");
        assert_eq!(
            traced(RENDERED, &values, "spec", "0"),
            "template:4 exact=false"
        );
        // A literal line whose text differs from the render is not claimed.
        let rendered = RENDERED.replacen("privileged: true\n", "privileged: yes\n", 2);
        let rendered = rendered.replacen("privileged: yes\n", "privileged: true\n", 1);
        assert_eq!(
            traced(&rendered, VALUES, "agent", "yes"),
            "template:13 exact=false"
        );
    }
}
