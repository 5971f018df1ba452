//! Writes a build's objects as YAML and remembers, for every node written,
//! the span it came from, so findings in the output go back to the files.

use crate::yaml::{Document, Node, Span, Value};

/// A build written out, with where each piece came from.
#[derive(Debug, Default)]
pub struct Emitted {
    /// The YAML stream.
    pub text: String,
    /// (span in `text`, span in the build's [`super::Sources`]), each
    /// pushed when its node is done: children before their parent.
    pub origins: Vec<(Span, Span)>,
    /// Indices into `origins` in the order nodes start to be written
    /// (a parent before its children): the order [`Nesting`] sorts by,
    /// without sorting.
    preorder: Vec<u32>,
    /// The objects as documents of `text`, each node spanning what the
    /// YAML loader would give it: the text need not be parsed again.
    /// Taken by whoever lints the build.
    pub documents: Vec<Document>,
    /// `origins` as a tree, built on the first lookup.
    nesting: std::sync::OnceLock<Nesting>,
}

/// The written spans of [`Emitted::origins`] nest (a node's span holds its
/// children's): sorted by start (outer first), each with the position of
/// the span that holds it, a lookup walks up from the last span that
/// starts at or before a place instead of scanning them all.
#[derive(Debug, Default)]
struct Nesting {
    /// Indices into `origins`: by start, then longest first, then (for
    /// equal spans) the later written first, so the earliest is innermost.
    sorted: Vec<u32>,
    /// For each position of `sorted`, the position of its holder.
    holder: Vec<Option<u32>>,
}

fn contains(out: Span, span: Span) -> bool {
    out.start <= span.start && span.end <= out.end.max(out.start + 1)
}

impl Emitted {
    /// The source span of `span`: of the written node it is, or of the run
    /// of nodes it covers from start to end (a key and its value) when they
    /// are read from one place in order; else of the innermost node that
    /// holds it.
    pub fn origin(&self, span: Span) -> Option<Span> {
        let (nesting, mut at) = self.last_starting_by(span.start)?;
        while !contains(self.origins[nesting.sorted[at] as usize].0, span) {
            at = nesting.holder[at]? as usize;
        }
        let (holder, source) = &self.origins[nesting.sorted[at] as usize];
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
        // Only spans that start inside `span` can lie inside it.
        let nesting = self.nesting();
        let start_of = |i: &u32| self.origins[*i as usize].0.start;
        let from = nesting.sorted.partition_point(|i| start_of(i) < span.start);
        let to = nesting.sorted.partition_point(|i| start_of(i) <= span.end);
        let mut candidates: Vec<u32> = nesting.sorted[from..to].to_vec();
        // In written order, as a scan of all origins would meet them.
        candidates.sort_unstable();
        let candidates: Vec<&(Span, Span)> = candidates
            .iter()
            .map(|&i| &self.origins[i as usize])
            .collect();
        let first = candidates
            .iter()
            .copied()
            .filter(inside)
            .filter(|(out, _)| out.start == span.start)
            .max_by_key(|(out, _)| out.end)?
            .1;
        let last = candidates
            .iter()
            .copied()
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

    /// The source span of the whole object that holds `span`.
    pub fn object_origin(&self, span: Span) -> Option<Span> {
        let (nesting, mut at) = self.last_starting_by(span.start)?;
        let mut outermost = None;
        loop {
            let (out, source) = self.origins[nesting.sorted[at] as usize];
            if out.start <= span.start && span.end <= out.end {
                outermost = Some(source);
            }
            match nesting.holder[at] {
                Some(up) => at = up as usize,
                None => return outermost,
            }
        }
    }

    /// The nesting, and the position in it of the last written span that
    /// starts at or before `start`: every span that holds a place starting
    /// there is it or one of its holders.
    fn last_starting_by(&self, start: u32) -> Option<(&Nesting, usize)> {
        let nesting = self.nesting();
        let after = nesting
            .sorted
            .partition_point(|&i| self.origins[i as usize].0.start <= start);
        Some((nesting, after.checked_sub(1)?))
    }

    fn nesting(&self) -> &Nesting {
        self.nesting.get_or_init(|| {
            let origins = &self.origins;
            let order = |i: u32| {
                let out = origins[i as usize].0;
                (out.start, std::cmp::Reverse(out.end), std::cmp::Reverse(i))
            };
            // The written order is already sorted but for texts not made by
            // `emit` (and tests): checked in one pass, else sorted.
            let mut sorted = if self.preorder.len() == origins.len()
                && self.preorder.windows(2).all(|w| order(w[0]) < order(w[1]))
            {
                self.preorder.clone()
            } else {
                let mut sorted: Vec<u32> = (0..origins.len() as u32).collect();
                sorted.sort_unstable_by_key(|&i| order(i));
                sorted
            };
            sorted.shrink_to_fit();
            let mut holder = Vec::with_capacity(sorted.len());
            // The spans open at this point of the walk, outermost first.
            let mut open: Vec<u32> = Vec::new();
            for (position, &i) in sorted.iter().enumerate() {
                let out = origins[i as usize].0;
                while let Some(&top) = open.last() {
                    let held = origins[sorted[top as usize] as usize].0;
                    if held.start <= out.start && out.end <= held.end {
                        break;
                    }
                    open.pop();
                }
                holder.push(open.last().copied());
                open.push(position as u32);
            }
            Nesting { sorted, holder }
        })
    }
}

/// Writes objects as a YAML stream. Each node's span becomes where it is
/// written (its source span goes to [`Emitted::origins`]).
pub fn emit(objects: Vec<Node>) -> Emitted {
    let mut out = Emitted::default();
    // Sized once from what the objects span in their sources (about what
    // they take written out): growing a buffer of megabytes step by step
    // costs more than writing it.
    let source_bytes: usize = objects
        .iter()
        .map(|o| (o.span.end - o.span.start) as usize)
        .sum();
    out.text
        .reserve(source_bytes + source_bytes / 4 + 64 * objects.len());
    out.origins.reserve(source_bytes / 12 + 8 * objects.len());
    out.preorder.reserve(source_bytes / 12 + 8 * objects.len());
    out.documents.reserve(objects.len());
    for mut object in objects {
        let document_start = out.text.len();
        out.text.push_str("---\n");
        let start = out.text.len();
        let source = object.span;
        let slot = out.open();
        write_map_body(&mut out, &mut object, 0, false);
        let end = out.text.len();
        out.close(slot, Span::new(start, end), source);
        out.documents.push(Document {
            root: object,
            range: Span::new(document_start, end),
            duplicate_keys: Vec::new(),
        });
    }
    out
}

/// Writes a mapping's entries, each on a line of its own at `indent`
/// (the first on the current line when `inline`, after a list's dash),
/// and spans the mapping as the loader does: from its first key to the
/// end of its last value.
fn write_map_body(out: &mut Emitted, node: &mut Node, indent: usize, inline: bool) {
    node.plain = false;
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    let mut span: Option<Span> = None;
    for (i, entry) in entries.iter_mut().enumerate() {
        if !(inline && i == 0) {
            push_indent(&mut out.text, indent);
        }
        let key_start = out.text.len();
        push_key(&mut out.text, &entry.key);
        let key_span = Span::new(key_start, out.text.len());
        let slot = out.open();
        out.close(slot, key_span, entry.key_span);
        entry.key_span = key_span;
        out.text.push(':');
        write_value(out, &mut entry.value, indent, false);
        let end = entry.value.span.end.max(key_span.end);
        span = Some(Span {
            start: span.map_or(key_span.start, |s| s.start),
            end,
        });
    }
    if let Some(span) = span {
        node.span = span;
    }
}

/// Writes a value after `key:` (or `-`, `after_dash`), with its children
/// below.
fn write_value(out: &mut Emitted, node: &mut Node, indent: usize, after_dash: bool) {
    let source = node.span;
    let slot = out.open();
    let start_of_value;
    match &mut node.value {
        Value::Map(entries) if !entries.is_empty() => {
            out.text.push('\n');
            start_of_value = out.text.len();
            write_map_body(out, node, indent + 2, false);
        }
        Value::Seq(items) if !items.is_empty() => {
            out.text.push('\n');
            start_of_value = out.text.len();
            let mut span: Option<Span> = None;
            for item in items.iter_mut() {
                push_indent(&mut out.text, indent);
                let item_start = out.text.len();
                let item_source = item.span;
                let item_slot = out.open();
                out.text.push('-');
                match &item.value {
                    Value::Map(entries) if !entries.is_empty() => {
                        // The first key goes on the dash's line.
                        out.text.push(' ');
                        write_map_body(out, item, indent + 2, true);
                    }
                    _ => write_value(out, item, indent + 2, true),
                }
                out.close(
                    item_slot,
                    Span::new(item_start, out.text.len()),
                    item_source,
                );
                // As the loader spans a block list: from its first dash;
                // when the list is a mapping's value (written at the key's
                // indentation), from the first item's content, or just
                // after the dash when that item is a list below it.
                let nested_list = matches!(&item.value, Value::Seq(items) if !items.is_empty());
                let first = if after_dash {
                    item_start as u32
                } else if nested_list {
                    item_start as u32 + 1
                } else {
                    item.span.start
                };
                span = Some(Span {
                    start: span.map_or(first, |s| s.start),
                    end: item.span.end,
                });
            }
            if let Some(span) = span {
                node.span = span;
            }
            node.plain = false;
        }
        _ => {
            out.text.push(' ');
            start_of_value = out.text.len();
            push_scalar(&mut out.text, node);
            let span = Span::new(start_of_value, out.text.len());
            out.text.push('\n');
            out.close(slot, span, source);
            node.span = span;
            return;
        }
    }
    out.close(slot, Span::new(start_of_value, out.text.len()), source);
}

impl Emitted {
    /// Takes the next place in the written order, for a node about to be
    /// written.
    fn open(&mut self) -> usize {
        self.preorder.push(u32::MAX);
        self.preorder.len() - 1
    }

    /// Records a written node at the place [`Emitted::open`] gave it.
    fn close(&mut self, slot: usize, written: Span, source: Span) {
        self.preorder[slot] = self.origins.len() as u32;
        self.origins.push((written, source));
    }
}

fn push_indent(text: &mut String, indent: usize) {
    text.extend(std::iter::repeat_n(' ', indent));
}

/// A key, quoted unless it is plain text YAML reads as the same string.
fn push_key(text: &mut String, key: &str) {
    let bytes = key.as_bytes();
    // Most keys are words, and no word longer than `false` is anything
    // but text in YAML: no need to ask the resolver.
    let word = bytes.len() > 5
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
    let plain = word
        || !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
            && !key.starts_with(['-', '.'])
            && crate::yaml::resolve::resolve_non_string(key).is_none()
            && !crate::yaml::resolve::is_yaml11_only(key);
    if plain {
        text.push_str(key);
    } else {
        push_quoted(text, key);
    }
}

/// A scalar as emitted YAML: strings JSON-quoted (a JSON string is a
/// YAML double-quoted string), floats with a point. Marks the node plain
/// as the loader would read what is written.
fn push_scalar(text: &mut String, node: &mut Node) {
    use std::fmt::Write;
    node.plain = true;
    match &node.value {
        Value::Null => text.push_str("null"),
        Value::Bool(b) => text.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(text, "{i}");
        }
        Value::Float(f) => {
            let start = text.len();
            let _ = write!(text, "{f}");
            let written = &text[start..];
            if !(written.contains(['.', 'e', 'E'])
                || written.contains("inf")
                || written.contains("NaN"))
            {
                text.push_str(".0");
            }
        }
        // JSON strings are YAML double-quoted strings.
        Value::Str(s) => {
            push_quoted(text, s);
            node.plain = false;
        }
        Value::Map(_) => {
            text.push_str("{}");
            node.plain = false;
        }
        Value::Seq(_) => {
            text.push_str("[]");
            node.plain = false;
        }
    }
}

/// `s` as a JSON string, which YAML reads as a double-quoted string.
fn push_quoted(text: &mut String, s: &str) {
    use std::fmt::Write;
    text.reserve(s.len() + 2);
    text.push('"');
    // Runs of bytes that need no escape are copied whole; every escaped
    // character is ASCII, so a cut there is a character boundary.
    let mut run_start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        text.push_str(&s[run_start..i]);
        run_start = i + 1;
        match b {
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            0x08 => text.push_str("\\b"),
            0x0c => text.push_str("\\f"),
            _ => {
                let _ = write!(text, "\\u{b:04x}");
            }
        }
    }
    text.push_str(&s[run_start..]);
    text.push('"');
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
        let emitted = emit(vec![object.clone()]);
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

    /// Emitted documents are what the loader reads from the emitted text,
    /// spans and all, so the text need not be parsed again.
    #[test]
    fn documents_are_what_the_loader_reads() {
        let sources = [
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {}\n  annotations:\n    \"a b\": \"x\\ny\"\n    on: yes\nspec:\n  replicas: 3\n  ratio: 1.5\n  big: 1e6\n  none: null\n  template:\n    spec:\n      containers:\n        - name: web\n          securityContext:\n            privileged: true\n          args: [\"--x\", \"on\", \"\\t\\u0001\", \"é\"]\n          env: []\n        - {}\n        - [a, [b, {}], []]\n        - - 1\n          - k: v\n            l: [x]\n      hostPID: false\n",
            "kind: List\nitems:\n- a: [[[]]]\n  b:\n  - - - c\n",
            "a: [{}, x]\nb: [[], {k: v}]\nc: [null, [[k: v]]]\nd: [[{k: v, l: [1]}]]\n",
        ];
        for source in sources {
            let objects: Vec<Node> = parse_stream(source, Limits::default())
                .documents
                .into_iter()
                .map(|d| d.root)
                .collect();
            let emitted = emit(vec![objects[0].clone(), objects[0].clone()]);
            let parsed = parse_stream(&emitted.text, Limits::default());
            assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
            assert_eq!(parsed.documents.len(), emitted.documents.len());
            for (read, made) in parsed.documents.iter().zip(&emitted.documents) {
                assert_eq!(read.range, made.range, "{}", emitted.text);
                assert_eq!(read.root, made.root, "{}", emitted.text);
                assert!(made.duplicate_keys.is_empty());
            }
        }
    }

    /// Strings are written as JSON writes them.
    #[test]
    fn strings_are_quoted_as_json() {
        for s in [
            "",
            "plain",
            "a\"b\\c",
            "line\nnext\r\t",
            "\u{1}\u{8}\u{c}\u{1f}\u{7f}",
            "é ü 日本 \u{85}\u{2028}",
        ] {
            let mut text = String::new();
            push_quoted(&mut text, s);
            assert_eq!(text, serde_json::to_string(s).unwrap());
        }
        let mut text = String::new();
        push_key(&mut text, "matchLabels");
        push_key(&mut text, "yes");
        assert_eq!(text, "matchLabels\"yes\"");
    }

    /// What `origin` finds through the nesting is what a scan of every
    /// origin finds.
    #[test]
    fn origins_found_through_the_nesting_are_those_a_scan_finds() {
        fn by_scan(emitted: &Emitted, span: Span) -> Option<Span> {
            let (holder, source) = emitted
                .origins
                .iter()
                .filter(|(out, _)| contains(*out, span))
                .min_by_key(|(out, _)| out.end - out.start)?;
            if *holder != span {
                let inside = |&&(out, source): &&(Span, Span)| {
                    source != Span::default() && span.start <= out.start && out.end <= span.end
                };
                let first = emitted
                    .origins
                    .iter()
                    .filter(inside)
                    .filter(|(out, _)| out.start == span.start)
                    .max_by_key(|(out, _)| out.end);
                if let Some(first) = first {
                    let last = emitted
                        .origins
                        .iter()
                        .filter(inside)
                        .filter(|(out, _)| out.end == span.end)
                        .max_by_key(|(out, _)| out.end - out.start)
                        .map(|(_, source)| *source);
                    let read_within = |s: Span| source.start <= s.start && s.end <= source.end;
                    return Some(match last {
                        Some(last)
                            if read_within(first.1)
                                && read_within(last)
                                && first.1.start <= last.end =>
                        {
                            Span::new(first.1.start as usize, last.end as usize)
                        }
                        _ => first.1,
                    });
                }
            }
            Some(*source).filter(|source| *source != Span::default())
        }
        let source = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          securityContext:\n            privileged: true\n          args: [\"--x\", \"on\"]\n        - [a, [b, {}], []]\n        - - 1\n          - k: v\n            l: [x]\n      hostPID: false\n";
        let object = parse_stream(source, Limits::default())
            .documents
            .remove(0)
            .root;
        let emitted = emit(vec![object.clone(), object]);
        let end = emitted.text.len();
        let mut spans: Vec<Span> = emitted.origins.iter().map(|(out, _)| *out).collect();
        for start in (0..end).step_by(3) {
            for width in [0, 1, 2, 5, 9, 17, 40] {
                spans.push(Span::new(start, (start + width).min(end)));
            }
        }
        for span in spans {
            assert_eq!(emitted.origin(span), by_scan(&emitted, span), "{span:?}");
            let outermost = emitted
                .origins
                .iter()
                .filter(|(out, _)| out.start <= span.start && span.end <= out.end)
                .max_by_key(|(out, _)| out.end - out.start)
                .map(|(_, source)| *source);
            assert_eq!(emitted.object_origin(span), outermost, "{span:?}");
        }
    }

    /// The order nodes are written in is the nesting's order, so building
    /// the nesting takes no sort.
    #[test]
    fn written_order_is_the_nesting_order() {
        let sources = [
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {}}\nspec:\n  containers:\n  - name: a\n    args: [\"x\", [y, {}], []]\n    env: []\n  - - 1\n    - k: v\n      l: [x]\n  - {}\n  - \"\"\n",
            "kind: List\nitems:\n- a: [[[]]]\n  b:\n  - - - c\n",
        ];
        for source in sources {
            let object = parse_stream(source, Limits::default())
                .documents
                .remove(0)
                .root;
            let emitted = emit(vec![object.clone(), object]);
            let mut sorted: Vec<u32> = (0..emitted.origins.len() as u32).collect();
            sorted.sort_unstable_by_key(|&i| {
                let out = emitted.origins[i as usize].0;
                (out.start, std::cmp::Reverse(out.end), std::cmp::Reverse(i))
            });
            assert_eq!(emitted.preorder, sorted, "{}", emitted.text);
        }
    }
}
