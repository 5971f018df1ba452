//! Tracing a field of a rendered object back to what produced it: a
//! literal on a template line, or a key of a values file that a template
//! expression (`{{ .Values.x }}`, `toYaml .Values.x | nindent N`) pulled
//! in. Every precise answer is checked against the rendered value; when
//! the check fails or the template is beyond this reading, the answer says
//! it is approximate rather than naming a wrong line.

use super::template::{Line, Seg, Written, unquote};
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

/// Traces a rendered place to its template line or values key. `lines`
/// are the lines of the template document that rendered the object.
pub fn trace(
    place: &Located<'_>,
    rendered_text: &str,
    lines: &[Line],
    values: &[ValuesFile<'_>],
) -> Origin {
    let path = &place.path;
    let scalar = !matches!(place.node.value, Value::Map(_) | Value::Seq(_));
    // Lines that write exactly this key (or list item).
    let candidates: Vec<&Line> = lines
        .iter()
        .filter(|l| !matches!(l.written, Written::Insert(_)))
        .filter(|l| same_path(&l.path, path) && names_agree(l, &place.names))
        .collect();
    if let [line] = candidates[..] {
        return from_line(line, place, scalar, rendered_text, values);
    }
    if candidates.len() > 1 {
        // Several lines could have written it (list items numbered
        // differently once an `if` or `range` drops or repeats some): only
        // one whose value checks out is an answer.
        let checked: Vec<&Line> = candidates
            .iter()
            .copied()
            .filter(|l| checks_out(l, place, scalar, rendered_text, values))
            .collect();
        if let [line] = checked[..] {
            return from_line(line, place, scalar, rendered_text, values);
        }
        let first = checked.first().unwrap_or(&candidates[0]);
        return uncertain(
            first.key_span,
            "this line or another like it in the template wrote the value; kslint could not tell which",
        );
    }
    // A flow collection written literally (`add: [NET_ADMIN]`): the value
    // is inside that line's value.
    if let Some(origin) = inside_flow_literal(place, lines) {
        return origin;
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
        let mut found = Vec::new();
        for line in &at_depth {
            let Written::Insert(Some(base)) = &line.written else {
                continue;
            };
            let Some(key) = inserted_key(base, place, depth, lines, values) else {
                continue;
            };
            if let Some((file, span, node)) = lookup(values, &key)
                && agrees(node, place.node)
            {
                found.push(Origin::Values {
                    file,
                    span,
                    template_span: line.value_span,
                    key: dotted(&key),
                });
            }
        }
        // Two inserts (`if`/`else` branches) that both agree: not one answer.
        if let [origin] = &found[..] {
            return origin.clone();
        }
        let line = at_depth[0];
        let why = match &line.written {
            _ if found.len() > 1 => {
                "one of several actions here inserted the value; kslint could not tell which"
                    .to_owned()
            }
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

/// The values path an insert of `.Values.<base>` gives the rendered place.
/// A list item's rendered index counts the items written before the
/// insert too, so items are matched by `name`, or by index only when the
/// insert writes the whole list.
fn inserted_key(
    base: &[String],
    place: &Located<'_>,
    depth: usize,
    lines: &[Line],
    values: &[ValuesFile<'_>],
) -> Option<Vec<Seg>> {
    let path = &place.path;
    let mut key: Vec<Seg> = base.iter().cloned().map(Seg::Key).collect();
    let mut rest = path[depth..].to_vec();
    if let Some(Seg::Item(index)) = rest.first().cloned() {
        let items_before = path[..depth]
            .iter()
            .filter(|s| matches!(s, Seg::Item(_)))
            .count();
        let name = place.names.get(items_before).cloned().flatten();
        let list = lookup(values, &key).and_then(|(_, _, node)| node.as_seq())?;
        rest[0] = Seg::Item(match name {
            Some(name) => list
                .iter()
                .position(|item| item.get("name").and_then(Node::as_str) == Some(name.as_str()))?,
            None => {
                let shared = lines.iter().any(|l| {
                    l.path.len() > depth
                        && same_path(&l.path[..depth], &path[..depth])
                        && matches!(l.path[depth], Seg::Item(_))
                });
                if shared {
                    return None;
                }
                index
            }
        });
    }
    key.extend(rest);
    Some(key)
}

/// A value inside a flow collection written on one template line
/// (`add: [NET_ADMIN]`, `securityContext: {runAsUser: 0}`).
fn inside_flow_literal(place: &Located<'_>, lines: &[Line]) -> Option<Origin> {
    let path = &place.path;
    let line = lines.iter().find(|l| {
        matches!(&l.written, Written::Literal(text) if text.starts_with(['[', '{']))
            && l.path.len() < path.len()
            && same_path(&l.path, &path[..l.path.len()])
            && names_agree(l, &place.names)
    })?;
    let Written::Literal(text) = &line.written else {
        return None;
    };
    let stream = crate::yaml::parse_stream(text, crate::yaml::Limits::default());
    let mut node = &stream.documents.first()?.root;
    let mut span = node.span;
    for seg in &path[line.path.len()..] {
        match seg {
            Seg::Key(key) => {
                let entry = node.entry(key)?;
                span = if place.at_key {
                    entry.key_span
                } else {
                    entry.value.span
                };
                node = &entry.value;
            }
            Seg::Item(index) => {
                node = node.as_seq()?.get(*index)?;
                span = node.span;
            }
        }
    }
    if !place.at_key && !agrees(node, place.node) {
        return Some(uncertain(
            line.key_span,
            "the template writes this key, but the rendered value differs from this line's; kslint could not tell where it came from",
        ));
    }
    // The literal's text starts where the line's value does (quotes are
    // not part of a flow collection).
    let start = line.value_span.start + span.start;
    Some(Origin::Template {
        span: Span::new(start as usize, (start + span.len() as u32) as usize),
        exact: true,
        why: String::new(),
    })
}

/// Whether a line could have written this rendered value (a literal or
/// values reference that disagrees could not).
pub fn may_write(line: &Line, node: &Node, rendered_text: &str, values: &[ValuesFile<'_>]) -> bool {
    match &line.written {
        Written::Literal(text) => unquote(slice(rendered_text, node.span)) == text,
        Written::Expr(Some(path)) => {
            let key: Vec<Seg> = path.iter().cloned().map(Seg::Key).collect();
            lookup(values, &key).is_none_or(|(_, _, found)| agrees(found, node))
        }
        _ => true,
    }
}

/// Whether a line's value is verifiably the rendered one.
fn checks_out(
    line: &Line,
    place: &Located<'_>,
    scalar: bool,
    rendered_text: &str,
    values: &[ValuesFile<'_>],
) -> bool {
    match &line.written {
        // A finding at a key still has a rendered value to compare.
        Written::Literal(text) => !scalar || unquote(slice(rendered_text, place.node.span)) == text,
        Written::Expr(Some(path)) => {
            let key: Vec<Seg> = path.iter().cloned().map(Seg::Key).collect();
            lookup(values, &key).is_some_and(|(_, _, node)| agrees(node, place.node))
        }
        Written::Block => !scalar,
        Written::Expr(None) | Written::Insert(_) => false,
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
        (a, b) => comparable_text(a) == comparable_text(b),
    }
}

/// A scalar's text for comparing a values-file value with a rendered one.
fn comparable_text(value: &Value) -> String {
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
        traced_in(TEMPLATE, rendered, values, after, needle)
    }

    fn traced_in(
        template_text: &str,
        rendered: &str,
        values: &str,
        after: &str,
        needle: &str,
    ) -> String {
        let root = &parse_stream(rendered, Limits::default()).documents[0].root;
        let values_root = &parse_stream(values, Limits::default()).documents[0].root;
        let from = rendered.find(after).unwrap();
        let at = from + rendered[from..].find(needle).unwrap();
        let place = locate(root, Span::new(at, at + needle.len())).unwrap();
        let lines: Vec<_> = template::read(template_text)
            .into_iter()
            .filter(|l| l.doc == 0)
            .collect();
        let files = [ValuesFile {
            root: values_root,
            prefix: Vec::new(),
        }];
        match trace(&place, rendered, &lines, &files) {
            Origin::Template { span, exact, .. } => {
                let line = template_text[..span.start as usize].matches('\n').count() + 1;
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

    #[test]
    fn an_if_before_list_items_does_not_mislead() {
        // With metrics off, rendered item 0 is the main container: the
        // metrics line (template item 0) must not be claimed.
        let template = r#"containers:
  {{- if .Values.metrics }}
  - name: {{ .Chart.Name }}-metrics
    securityContext:
      privileged: true
  {{- end }}
  - name: {{ .Chart.Name }}
    securityContext:
      privileged: {{ .Values.privileged }}
"#;
        let rendered = "containers:\n  - name: app\n    securityContext:\n      privileged: true\n";
        let origin = traced_in(template, rendered, "privileged: true\n", "app", "true");
        assert_eq!(origin, "template:5 exact=false");
        // With the value set differently, only the main line checks out.
        let origin = traced_in(template, rendered, "privileged: false\n", "app", "true");
        assert_eq!(origin, "template:5 exact=true");
    }

    #[test]
    fn inserted_list_items_are_matched_by_name() {
        let template = r#"containers:
  - name: app
    image: app
  {{- with .Values.extraContainers }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
"#;
        let values = "extraContainers:\n  - name: a\n    image: a\n  - name: b\n    image: b\n";
        let rendered = "containers:\n  - name: app\n    image: app\n  - name: a\n    image: a\n  - name: b\n    image: b\n";
        // Rendered item 2 is values item 1 (`b`), line 5.
        assert_eq!(
            traced_in(template, rendered, values, "image: b", "b"),
            "values:5 extraContainers[1].image"
        );
    }

    #[test]
    fn flow_literals_scalar_items_and_indent() {
        let template = r#"spec:
  securityContext: {runAsGroup: 3000, runAsUser: 0}
  containers:
    - name: app
      securityContext:
        capabilities:
          add:
            - SYS_TIME
            - NET_ADMIN
      resources:
{{ toYaml .Values.resources | indent 8 }}
      ports:
        - containerPort: 80
"#;
        let rendered = r#"spec:
  securityContext: {runAsGroup: 3000, runAsUser: 0}
  containers:
    - name: app
      securityContext:
        capabilities:
          add:
            - SYS_TIME
            - NET_ADMIN
      resources:
        limits: {cpu: 1}
      ports:
        - containerPort: 80
"#;
        let values = "resources:\n  limits: {cpu: 1}\n";
        // The `0`, not the `0` inside 3000.
        let root = &parse_stream(rendered, Limits::default()).documents[0].root;
        let at = rendered.find("runAsUser: 0").unwrap() + "runAsUser: ".len();
        let place = locate(root, Span::new(at, at + 1)).unwrap();
        let lines = template::read(template);
        let Origin::Template { span, exact, .. } = trace(&place, rendered, &lines, &[]) else {
            panic!("a template line");
        };
        assert!(exact);
        assert_eq!(
            span.start as usize,
            template.find("runAsUser: 0").unwrap() + "runAsUser: ".len()
        );
        assert_eq!(
            traced_in(template, rendered, values, "add", "NET_ADMIN"),
            "template:9 exact=true"
        );
        // `indent 8` at column 0 still lands under `resources:`, and the
        // lines after it keep their place.
        assert_eq!(
            traced_in(template, rendered, values, "limits", "1"),
            "values:2 resources.limits.cpu"
        );
        assert_eq!(
            traced_in(template, rendered, values, "ports", "80"),
            "template:13 exact=true"
        );
    }
}
