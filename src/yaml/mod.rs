//! The YAML loader: multi-document streams into spanned trees, read exactly
//! as Kubernetes reads them.
//!
//! Built on saphyr-parser's event stream rather than a tree loader so that
//! kslint controls the scalar rules (YAML 1.1, see [`resolve`]), the limits
//! (nesting depth, alias expansion) and the spans (bytes, converted once from
//! the parser's character marks). A document that fails to parse becomes a
//! [`LoadError`] while the stream's other documents still load.

pub mod line_index;
pub mod resolve;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use std::collections::HashMap;

/// A byte range in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from byte offsets.
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// A resolved YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or empty.
    Null,
    /// A boolean (YAML 1.1 forms included).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float that is not a whole number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, keys unique (the last duplicate wins).
    Map(Vec<Entry>),
}

/// A value with the span of its source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The resolved value.
    pub value: Value,
    /// Where the value is written (for an alias, the anchored original).
    pub span: Span,
    /// Whether it was a plain (unquoted, untagged) scalar.
    pub plain: bool,
}

/// One key of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key, resolved and turned into a string as sigs.k8s.io/yaml does.
    pub key: String,
    /// Where the key is written.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

impl Node {
    /// The value under `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry for `key`, if this is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The entry at the end of a path of mapping keys.
    pub fn path_entry(&self, keys: &[&str]) -> Option<&Entry> {
        let (last, parents) = keys.split_last()?;
        self.path(parents)?.entry(last)
    }

    /// The string, if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The integer, if this is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The size of this tree for work budgets: its nodes, with strings
    /// counting one node per 64 bytes more.
    pub fn weight(&self) -> usize {
        let mut weight = 0usize;
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            weight += 1;
            match &node.value {
                Value::Str(s) => weight += s.len() / 64,
                Value::Seq(items) => stack.extend(items),
                Value::Map(entries) => {
                    for entry in entries {
                        weight += entry.key.len() / 64;
                        stack.push(&entry.value);
                    }
                }
                _ => {}
            }
        }
        weight
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The node at a JSON pointer (RFC 6901) below this one.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut node = self;
        for raw in pointer.strip_prefix('/')?.split('/') {
            let token = raw.replace("~1", "/").replace("~0", "~");
            node = match &node.value {
                Value::Map(entries) => &entries.iter().find(|e| e.key == token)?.value,
                Value::Seq(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The value as JSON, exactly as Kubernetes would receive it. Non-finite
    /// floats, which JSON cannot hold, become `null`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// One document of a stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root node (`null` for an empty document).
    pub root: Node,
    /// The document's text range, `---` line included.
    pub range: Span,
    /// Keys written twice in one mapping: (first, repeated) key spans.
    pub duplicate_keys: Vec<(Span, Span)>,
}

/// A document that could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    /// What went wrong, for the user.
    pub message: String,
    /// Where: the parser's position, or the construct over a limit.
    pub span: Span,
}

/// Limits that keep hostile input from exhausting the process.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest nesting of collections.
    pub max_depth: usize,
    /// Nodes that aliases may copy in one stream (a file): alias bombs,
    /// in one document or spread over many.
    pub max_alias_nodes: usize,
    /// Nodes that aliases may copy in the whole run, shared by every file
    /// loaded with these limits (many small bombs in many files).
    pub run_aliases: Option<std::sync::Arc<AliasBudget>>,
}

/// The run's alias budget: nodes copied so far, and the most allowed.
#[derive(Debug)]
pub struct AliasBudget {
    spent: std::sync::atomic::AtomicUsize,
    max: usize,
}

impl AliasBudget {
    /// A budget of `max` copied nodes.
    pub fn new(max: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(AliasBudget {
            spent: std::sync::atomic::AtomicUsize::new(0),
            max,
        })
    }

    /// Spends `nodes`; false when the budget is gone.
    fn spend(&self, nodes: usize) -> bool {
        use std::sync::atomic::Ordering;
        self.spent.fetch_add(nodes, Ordering::Relaxed) + nodes <= self.max
    }
}

/// How an error over an alias budget begins.
const ALIAS_BUDGET: &str = "aliases in";

/// Alias copies allowed in one run: far above any real repository's.
pub const RUN_ALIAS_NODES: usize = 1_000_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 512,
            max_alias_nodes: 100_000,
            run_aliases: None,
        }
    }
}

/// The outcome of loading a stream: every document that loaded, and an
/// error for every one that did not, in source order.
#[derive(Debug, Default)]
pub struct Stream {
    /// Loaded documents.
    pub documents: Vec<Document>,
    /// Documents that failed.
    pub errors: Vec<LoadError>,
}

/// Loads every document of a YAML stream.
pub fn parse_stream(text: &str, limits: Limits) -> Stream {
    parse_stream_at(text, 0, limits)
}

/// Loads a manifest file as kubectl reads it: a text whose first
/// non-blank character is `{` is a stream of JSON values (kubectl's decoder
/// tells JSON from YAML by that character, and reads JSON strictly); any
/// other text is YAML ([`parse_stream`]).
pub fn parse_manifest_stream(text: &str, limits: Limits) -> Stream {
    if !text.trim_start().starts_with('{') {
        return parse_stream_as(text, 0, limits, Reader::Kubectl);
    }
    let mut stream = Stream::default();
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    let mut start = 0;
    while let Some(value) = values.next() {
        match value {
            Ok(value) => {
                let end = values.byte_offset();
                // Valid JSON is YAML: loaded as such, each value a document
                // with its spans. A value only JSON reads (`\/`, a surrogate
                // pair) is taken as JSON decoded it, spanning the whole value.
                let part =
                    parse_stream_as(&text[start..end], start, limits.clone(), Reader::Kubectl);
                if part.errors.is_empty() {
                    stream.documents.extend(part.documents);
                } else {
                    let span = Span::new(start, end);
                    stream.documents.push(Document {
                        root: json_node(value, span),
                        range: span,
                        duplicate_keys: Vec::new(),
                    });
                }
                start = end;
            }
            Err(error) => {
                let line_start: usize = text
                    .split_inclusive('\n')
                    .take(error.line().saturating_sub(1))
                    .map(str::len)
                    .sum();
                let mut at = (line_start + error.column().saturating_sub(1)).min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let why = error.to_string();
                let why = why.split(" at line ").next().unwrap_or_default();
                let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                stream.errors.push(LoadError {
                    message: format!(
                        "kubectl reads a file that starts with `{{` as JSON, and this is no JSON ({why}); kubectl rejects the rest of the file. Quote the keys and strings, or start the file with `---` to have it read as YAML"
                    ),
                    span: Span::new(at, end),
                });
                break;
            }
        }
    }
    stream
}

/// A decoded JSON value as a node, every part at `span`.
fn json_node(value: serde_json::Value, span: Span) -> Node {
    use serde_json::Value as J;
    let value = match value {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => resolve::resolve_plain(&n.to_string()),
        J::String(s) => Value::Str(s),
        J::Array(items) => Value::Seq(items.into_iter().map(|v| json_node(v, span)).collect()),
        J::Object(map) => Value::Map(
            map.into_iter()
                .map(|(key, v)| Entry {
                    key,
                    key_span: span,
                    value: json_node(v, span),
                })
                .collect(),
        ),
    };
    Node {
        value,
        span,
        plain: false,
    }
}

/// Loads a stream whose spans start at `base` rather than 0 (texts laid
/// end to end in one address space, so a span also names its file).
pub fn parse_stream_at(text: &str, base: usize, limits: Limits) -> Stream {
    parse_stream_as(text, base, limits, Reader::Kustomize)
}

/// Whose reading of YAML a load follows where Kubernetes' tools differ.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reader {
    /// kubectl (go-yaml v2): a block scalar that ends the file without a
    /// line break still ends with one.
    Kubectl,
    /// Kustomize (go-yaml v3), for the files a build reads: it has none.
    Kustomize,
}

fn parse_stream_as(text: &str, base: usize, limits: Limits, reader: Reader) -> Stream {
    let mut stream = Stream::default();
    // One budget for the stream's documents together.
    let mut alias_nodes = 0;
    // Once it is spent, each later document with aliases fails the same
    // way: one error says so for all of them.
    let mut over_budget: Option<(usize, usize)> = None;
    for (mut chunk, separator_dropped) in split_documents(text) {
        let first_line = text[chunk.clone()]
            .split_inclusive('\n')
            .next()
            .unwrap_or("");
        // A byte order mark that opens the stream is no text.
        let bom = if chunk.start == 0 && first_line.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        // kubectl drops one that opens the file, and its decoder one that
        // opens what it reads.
        if bom > 0 && first_line[bom..].starts_with('\u{feff}') {
            chunk.start += bom;
        }
        if let Some(after) = first_line[bom..].strip_prefix("---") {
            let after = after.trim();
            if !after.is_empty() && !after.starts_with('#') {
                let at = base + chunk.start;
                // The span shows the line; the message names only its start.
                let after = match after.char_indices().nth(40) {
                    Some((cut, _)) => format!("{}…", &after[..cut]),
                    None => after.to_owned(),
                };
                stream.errors.push(LoadError {
                    message: format!(
                        "`{after}` after a `---` separator: Kubernetes allows only a comment there and rejects the file; move it to the next line"
                    ),
                    span: Span::new(at, at + first_line.trim_end().len()),
                });
                continue;
            }
            // `---#c`: YAML reads one plain scalar, Kubernetes' reader a
            // separator and a comment when it drops the line. A byte order
            // mark after a dropped line opens what the decoder reads.
            let after = &text[chunk.start + first_line.len()..];
            if separator_dropped && after.starts_with("\u{feff}\u{feff}") {
                let at = base + chunk.start + first_line.len() + 3;
                stream.errors.push(LoadError {
                    message: "a second byte order mark at the start of a document: Kubernetes' decoder misreads the document (it loses the first character of its keys); delete both".into(),
                    span: Span::new(at, at + 3),
                });
                continue;
            }
            if separator_dropped
                && (first_line[bom + 3..].starts_with('#') || after.starts_with('\u{feff}'))
            {
                chunk.start += first_line.len();
            }
        }
        let without_separator = separator_dropped || !first_line[bom..].starts_with("---");
        if let Some(marker) = leading_end_marker(&text[chunk.clone()]) {
            // Read with its `---` line, the part is one empty document;
            // what follows the `...` never reaches the decoder.
            if !without_separator {
                continue;
            }
            let at = base + chunk.start + marker.start;
            stream.errors.push(LoadError {
                message: "a `...` document end marker before the document: Kubernetes' decoder finds no document here and rejects this part of the file; delete the line".to_owned(),
                span: Span::new(at, at + marker.len()),
            });
            continue;
        }
        if let Some((at, c)) = control_character(&text[chunk.clone()]) {
            let at = base + chunk.start + at;
            stream.errors.push(LoadError {
                message: format!(
                    "a control character (U+{:04X}) in the document, which Kubernetes' decoder rejects whole; delete it, or write it as an escape in a double-quoted string",
                    c as u32
                ),
                span: Span::new(at, at + c.len_utf8()),
            });
            continue;
        }
        match load_document(
            &text[chunk.clone()],
            base + chunk.start,
            &limits,
            reader,
            &mut alias_nodes,
        ) {
            Ok(Some(document)) => stream.documents.push(document),
            Ok(None) => {}
            Err(error) if error.message.starts_with(ALIAS_BUDGET) => match &mut over_budget {
                Some((_, more)) => *more += 1,
                None => {
                    over_budget = Some((stream.errors.len(), 0));
                    stream.errors.push(error);
                }
            },
            Err(error) => stream
                .errors
                .push(directive_error(&text[chunk], base, error)),
        }
    }
    if let Some((first, more)) = over_budget
        && more > 0
    {
        let error = &mut stream.errors[first];
        error.message = format!(
            "{} (and in {more} later documents of this file, which were not read either)",
            error.message
        );
    }
    stream
}

/// A `%` directive line, cut from its document as Kubernetes cuts streams,
/// is what fails: said in those words, at the directive.
fn directive_error(chunk: &str, base: usize, error: LoadError) -> LoadError {
    let mut offset = 0;
    for line in chunk.split_inclusive('\n') {
        if line
            .strip_prefix('%')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic()))
        {
            let at = base + offset;
            return LoadError {
                message: "a `%` directive line: Kubernetes splits a stream at `---` lines before it decodes them, so the directive is cut off from the document after it and the whole part is rejected; delete the directive line".to_owned(),
                span: Span::new(at, at + line.trim_end().len()),
            };
        }
        offset += line.len();
    }
    error
}

/// Splits a stream into document texts at `---` and `...` lines. YAML forbids
/// those markers at the start of a line inside any scalar, so this split is
/// exact, and lets a broken document fail alone.
fn split_documents(text: &str) -> Vec<(std::ops::Range<usize>, bool)> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    // Kubernetes' reader drops a `---` line only when it ends a part that
    // holds something: one that opens the file, or follows a dropped one,
    // stays in the part the decoder reads (`---#c` is then a scalar, and
    // a byte order mark after it no stream start). Whether the `---` line
    // of the part being gathered was dropped:
    let mut separator_dropped = false;
    let mut part_from = 0;
    // Kubernetes decodes only the first document of each part between
    // `---` lines: after a `...` that ends one, the rest of the part never
    // reaches the cluster.
    let mut ignoring = false;
    for line in text.split_inclusive('\n') {
        let is_marker = |marker: &str| {
            line.strip_prefix(marker)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
        };
        // Kubernetes cuts a stream at each `---` line before decoding: a
        // `%` directive line stays with the text before it, where the
        // decoder rejects it (a directive needs the `---` that follows).
        // Kubernetes' reader takes every line that starts with `---` as a
        // separator (and rejects one followed by more than a comment).
        if line.starts_with("---") {
            if offset > start && !ignoring {
                chunks.push((start..offset, separator_dropped));
            }
            separator_dropped = offset > part_from;
            if separator_dropped {
                part_from = offset + line.len();
            }
            start = offset;
            ignoring = false;
        } else if !ignoring && is_marker("...") && holds_content(&text[start..offset]) {
            let end = offset + line.len();
            chunks.push((start..end, separator_dropped));
            start = end;
            ignoring = true;
        }
        offset += line.len();
    }
    if start < text.len() && !ignoring {
        chunks.push((start..text.len(), separator_dropped));
    }
    chunks
}

/// The first character libyaml's reader refuses, and where: C0 controls
/// other than tab and line breaks, DEL, C1 controls other than NEL, and
/// U+FFFE and U+FFFF.
fn control_character(text: &str) -> Option<(usize, char)> {
    // Bytes first, 64 at a time with no branch per byte (the compiler
    // makes it vector compares): only these bytes can begin one.
    let suspect = |b: u8| {
        (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')
            | (b == 0x7F)
            | (b == 0xC2)
            | (b == 0xEF)
    };
    const BLOCK: usize = 64;
    let block = text
        .as_bytes()
        .chunks(BLOCK)
        .position(|block| block.iter().fold(false, |any, &b| any | suspect(b)))?;
    let mut first = block * BLOCK;
    while !text.is_char_boundary(first) {
        first -= 1;
    }
    text[first..].char_indices().find_map(|(at, c)| {
        let refused = match c as u32 {
            0x09 | 0x0A | 0x0D | 0x85 => false,
            0x00..=0x1F | 0x7F..=0x9F | 0xFFFE | 0xFFFF => true,
            _ => false,
        };
        refused.then_some((first + at, c))
    })
}

/// The `...` line that opens a part before any content. Read without its
/// `---` line (one Kubernetes' reader dropped, or none), go-yaml finds no
/// document where it expects one; read with it, the part is one empty
/// document.
fn leading_end_marker(part: &str) -> Option<std::ops::Range<usize>> {
    // After the byte order mark that opens a file.
    let mut offset = if part.starts_with('\u{feff}') { 3 } else { 0 };
    for line in part[offset..].split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "..." || trimmed.starts_with("... ") {
            return Some(offset..offset + 3);
        }
        let content = trimmed.trim_start();
        if !content.is_empty() && !content.starts_with('#') && !content.starts_with("---") {
            return None;
        }
        offset += line.len();
    }
    None
}

/// Whether a part of a stream holds more than its `---` line, comments
/// and blank lines.
fn holds_content(part: &str) -> bool {
    part.lines().any(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#') && !line.starts_with("---")
    })
}

/// Converts the parser's character indices into byte offsets. Marks arrive
/// almost in order, so a cursor that walks from the last position makes
/// the conversion linear; ASCII text needs none.
struct CharToByte<'a> {
    text: &'a str,
    ascii: bool,
    char_index: usize,
    byte_index: usize,
}

impl<'a> CharToByte<'a> {
    fn new(text: &'a str) -> Self {
        CharToByte {
            text,
            ascii: text.is_ascii(),
            char_index: 0,
            byte_index: 0,
        }
    }

    fn byte(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.text.len());
        }
        while self.char_index < char_index && self.byte_index < self.text.len() {
            let c = self.text[self.byte_index..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
            self.byte_index += c;
            self.char_index += 1;
        }
        while self.char_index > char_index {
            let c = self.text[..self.byte_index]
                .chars()
                .next_back()
                .map_or(1, char::len_utf8);
            self.byte_index -= c;
            self.char_index -= 1;
        }
        self.byte_index
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: usize,
        anchor: usize,
        height: usize,
        nodes: usize,
        flow: bool,
    },
    Map {
        entries: Vec<RawEntry>,
        pending_key: Option<Node>,
        /// Whether the pending key is written as a float (`1e6: a`), which
        /// sigs.k8s.io/yaml names as Go formats a float32.
        pending_float_key: bool,
        start: usize,
        anchor: usize,
        height: usize,
        nodes: usize,
        flow: bool,
    },
}

struct RawEntry {
    key: String,
    key_span: Span,
    value: Node,
    merge: bool,
}

struct Anchored {
    node: Node,
    nodes: usize,
    height: usize,
}

struct Loader<'a> {
    text: &'a str,
    base: usize,
    chars: CharToByte<'a>,
    limits: &'a Limits,
    reader: Reader,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes: &'a mut usize,
    duplicate_keys: Vec<(Span, Span)>,
    root: Option<(Node, usize)>,
}

fn load_document<'a>(
    text: &'a str,
    base: usize,
    limits: &'a Limits,
    reader: Reader,
    alias_nodes: &'a mut usize,
) -> Result<Option<Document>, LoadError> {
    let mut loader = Loader {
        text,
        base,
        chars: CharToByte::new(text),
        limits,
        reader,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes,
        duplicate_keys: Vec::new(),
        root: None,
    };
    let mut parser = Parser::new_from_str(text);
    let mut seen_document = false;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let mut at = loader.chars.byte(e.marker().index());
            // An error at the end of the document (an unclosed bracket) is
            // shown at its last character, not on the next document's `---`.
            let content_end = text.trim_end().len();
            if at >= content_end && content_end > 0 {
                at = text[..content_end]
                    .char_indices()
                    .next_back()
                    .map_or(0, |(i, _)| i);
            }
            let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            LoadError {
                message: e.info().to_owned(),
                span: Span::new(base + at, base + end),
            }
        })?;
        let start = loader.chars.byte(span.start.index());
        let end = loader.chars.byte(span.end.index());
        match event {
            Event::DocumentStart(_) => seen_document = true,
            Event::StreamEnd => break,
            _ => loader.on_event(event, start, end)?,
        }
    }
    if !seen_document {
        return Ok(None);
    }
    let root = match loader.root {
        Some((root, _)) => root,
        None => Node {
            value: Value::Null,
            span: Span::new(base, base),
            plain: true,
        },
    };
    Ok(Some(Document {
        root,
        range: Span::new(base, base + text.len()),
        duplicate_keys: loader.duplicate_keys,
    }))
}

impl Loader<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.base + start, self.base + end)
    }

    fn on_event(&mut self, event: Event<'_>, start: usize, end: usize) -> Result<(), LoadError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let span = self.span(start, end);
                let mut text = text.into_owned();
                // A block scalar that ends the file without a final line
                // break has none to keep for Kustomize (the parser adds one,
                // as kubectl's does).
                if self.reader == Reader::Kustomize
                    && matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && !self.text.ends_with('\n')
                    && span.end as usize - self.base >= self.text.trim_end().len()
                    && text.ends_with('\n')
                {
                    text.pop();
                }
                let value = scalar_value(text, style, tag.as_deref())
                    .map_err(|message| LoadError { message, span })?;
                // `!!merge <<` is the merge key as a plain `<<` is.
                let merge_tag = tag.as_deref().and_then(core_tag) == Some("merge");
                let plain = (style == ScalarStyle::Plain && tag.is_none()) || merge_tag;
                let node = Node { value, span, plain };
                self.push(node, anchor, 0, 1)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= self.limits.max_depth {
                    return Err(LoadError {
                        message: format!(
                            "document nests deeper than {} levels; kslint stops reading it here",
                            self.limits.max_depth
                        ),
                        span: self.span(start, end.max(start + 1)),
                    });
                }
                // A block collection's start event is empty; a flow one
                // spans its bracket. (A block list may start at a flow item.)
                let flow =
                    end > start && matches!(self.text.as_bytes().get(start), Some(b'[' | b'{'));
                self.stack
                    .push(if matches!(event, Event::SequenceStart(..)) {
                        Frame::Seq {
                            items: Vec::new(),
                            start,
                            anchor,
                            height: 0,
                            nodes: 1,
                            flow,
                        }
                    } else {
                        Frame::Map {
                            entries: Vec::new(),
                            pending_key: None,
                            pending_float_key: false,
                            start,
                            anchor,
                            height: 0,
                            nodes: 1,
                            flow,
                        }
                    });
                Ok(())
            }
            Event::SequenceEnd => {
                let Some(Frame::Seq {
                    items,
                    start: open,
                    anchor,
                    height,
                    nodes,
                    flow,
                }) = self.stack.pop()
                else {
                    return Ok(());
                };
                let close = if flow {
                    end
                } else {
                    items
                        .last()
                        .map_or(open, |n| n.span.end as usize - self.base)
                };
                let node = Node {
                    value: Value::Seq(items),
                    span: self.span(open, close),
                    plain: false,
                };
                self.push(node, anchor, height + 1, nodes)
            }
            Event::MappingEnd => {
                let Some(Frame::Map {
                    entries,
                    start: open,
                    anchor,
                    height,
                    nodes,
                    flow,
                    ..
                }) = self.stack.pop()
                else {
                    return Ok(());
                };
                let close = if flow {
                    end
                } else {
                    entries.last().map_or(open, |e| {
                        e.value.span.end.max(e.key_span.end) as usize - self.base
                    })
                };
                let entries = self.finish_mapping(entries)?;
                let node = Node {
                    value: Value::Map(entries),
                    span: self.span(open, close),
                    plain: false,
                };
                self.push(node, anchor, height + 1, nodes)
            }
            Event::Alias(anchor) => {
                let Some(original) = self.anchors.get(&anchor) else {
                    return Err(LoadError {
                        message: "alias refers to an unknown anchor".into(),
                        span: self.span(start, end),
                    });
                };
                *self.alias_nodes += original.nodes;
                if *self.alias_nodes > self.limits.max_alias_nodes {
                    return Err(LoadError {
                        message: format!(
                            "{ALIAS_BUDGET} this file expand to more than {} nodes (an alias bomb?); kslint stops reading this document",
                            self.limits.max_alias_nodes
                        ),
                        span: self.span(start, end),
                    });
                }
                if let Some(run) = &self.limits.run_aliases
                    && !run.spend(original.nodes)
                {
                    return Err(LoadError {
                        message: format!(
                            "{ALIAS_BUDGET} this run's files expand to more than {} nodes together (alias bombs?); kslint stops reading this document",
                            run.max
                        ),
                        span: self.span(start, end),
                    });
                }
                if self.stack.len() + original.height > self.limits.max_depth {
                    return Err(LoadError {
                        message: format!(
                            "alias expands deeper than {} levels",
                            self.limits.max_depth
                        ),
                        span: self.span(start, end),
                    });
                }
                let (node, nodes, height) =
                    (original.node.clone(), original.nodes, original.height);
                self.push(node, 0, height, nodes)
            }
            _ => Ok(()),
        }
    }

    /// Places a finished node into its parent (or makes it the root).
    fn push(
        &mut self,
        node: Node,
        anchor: usize,
        height: usize,
        nodes: usize,
    ) -> Result<(), LoadError> {
        if anchor != 0 {
            let nodes = nodes.min(self.limits.max_alias_nodes + 1);
            self.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    nodes,
                    height,
                },
            );
        }
        let is_key = matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending_key: None,
                ..
            })
        );
        if !is_key && matches!(node.value, Value::Float(f) if !f.is_finite()) {
            return Err(LoadError {
                message: "`.inf` and `.nan` are no numbers JSON can hold, so Kubernetes rejects this document; quote the value if it is text".into(),
                span: node.span,
            });
        }
        if is_key && node.value == Value::Null {
            return Err(LoadError {
                message: "a null key (`~`, `null` or nothing before the colon), which Kubernetes rejects; quote it if it is text".into(),
                span: node.span,
            });
        }
        if is_key && matches!(node.value, Value::Seq(_) | Value::Map(_)) {
            return Err(LoadError {
                message: "a list or mapping as a key, which Kubernetes' decoder rejects (a `{{ }}` template expression must be rendered first); quote it if it is text".into(),
                span: node.span,
            });
        }
        if is_key && node.plain && self.written_as_unsigned(&node) {
            return Err(LoadError {
                message: "an integer key above 9223372036854775807, which Kubernetes' decoder rejects; quote it".into(),
                span: node.span,
            });
        }
        let float_key = is_key && node.plain && self.written_as_float(&node);
        match self.stack.last_mut() {
            None => self.root = Some((node, height)),
            Some(Frame::Seq {
                items,
                height: h,
                nodes: n,
                ..
            }) => {
                *h = (*h).max(height);
                *n += nodes;
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                pending_key,
                pending_float_key,
                height: h,
                nodes: n,
                ..
            }) => {
                *h = (*h).max(height);
                *n += nodes;
                match pending_key.take() {
                    None => {
                        *pending_float_key = float_key;
                        *pending_key = Some(node);
                    }
                    Some(key) => {
                        let merge = key.plain && matches!(&key.value, Value::Str(s) if s == "<<");
                        entries.push(RawEntry {
                            key: key_string(&key, *pending_float_key),
                            key_span: key.span,
                            value: node,
                            merge,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies `<<` merges and keeps the last of duplicate keys, as go-yaml
    /// v2 decodes a mapping: in order, each key or merge setting what it
    /// holds, so a merge overrides the keys above it and the keys below it
    /// override the merge; a list of mappings merges last to first, so the
    /// earlier ones win.
    fn finish_mapping(&mut self, raw: Vec<RawEntry>) -> Result<Vec<Entry>, LoadError> {
        // Keys are looked up through a map, never by scanning the entries
        // so far: a mapping of many keys must cost what it holds. Each slot
        // says whether a key of this mapping (not a merge) wrote it.
        let mut slots: Vec<Option<(Entry, bool)>> = Vec::with_capacity(raw.len());
        let mut position: HashMap<String, usize> = HashMap::with_capacity(raw.len());
        let mut set = |slots: &mut Vec<Option<(Entry, bool)>>,
                       entry: Entry,
                       explicit: bool,
                       duplicates: &mut Vec<(Span, Span)>| {
            // The last value of a key wins and moves to the end, as go-yaml
            // v2 keeps it.
            if let Some(&previous) = position.get(&entry.key)
                && let Some((first, first_explicit)) = slots[previous].take()
                && explicit
                && first_explicit
            {
                duplicates.push((first.key_span, entry.key_span));
            }
            position.insert(entry.key.clone(), slots.len());
            slots.push(Some((entry, explicit)));
        };
        for entry in raw {
            if !entry.merge {
                let entry = Entry {
                    key: entry.key,
                    key_span: entry.key_span,
                    value: entry.value,
                };
                set(&mut slots, entry, true, &mut self.duplicate_keys);
                continue;
            }
            let sources: Vec<&Node> = match &entry.value.value {
                Value::Map(_) => vec![&entry.value],
                Value::Seq(items) if items.iter().all(|i| matches!(i.value, Value::Map(_))) => {
                    items.iter().rev().collect()
                }
                _ => {
                    return Err(LoadError {
                        message: "`<<` merges a mapping or a list of mappings into this one; Kubernetes rejects any other value here".into(),
                        span: entry.value.span,
                    });
                }
            };
            for source in sources {
                for e in source.as_map().unwrap_or_default() {
                    set(&mut slots, e.clone(), false, &mut self.duplicate_keys);
                }
            }
        }
        Ok(slots
            .into_iter()
            .flatten()
            .map(|(entry, _)| entry)
            .collect())
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` with YAML's names for the
/// infinities and NaN, as sigs.k8s.io/yaml turns a float key into text:
/// the shortest digits that read back as the same float32, in exponent form
/// (`1e+06`) when the exponent is below -4 or at least 6.
fn go_float32_text(value: f64) -> String {
    if value.is_nan() {
        return ".nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    // Beyond float32's range the value becomes an infinity first.
    let single = value as f32;
    if single.is_infinite() {
        return if single > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if single == 0.0 {
        return if single.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let scientific = format!("{single:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        return single.to_string();
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

impl Loader<'_> {
    /// Whether a plain scalar is an integer only an unsigned 64-bit integer
    /// holds, read from its text.
    fn written_as_unsigned(&self, node: &Node) -> bool {
        matches!(node.value, Value::Float(_))
            && self
                .text
                .get(
                    (node.span.start as usize).saturating_sub(self.base)
                        ..(node.span.end as usize).saturating_sub(self.base),
                )
                .is_some_and(resolve::is_unsigned_only)
    }

    /// Whether a plain scalar is written as a float (not an integer), read
    /// from its text.
    fn written_as_float(&self, node: &Node) -> bool {
        if !matches!(node.value, Value::Int(_) | Value::Float(_)) {
            return false;
        }
        let (start, end) = (
            (node.span.start as usize).saturating_sub(self.base),
            (node.span.end as usize).saturating_sub(self.base),
        );
        self.text.get(start..end).is_some_and(|text| {
            matches!(node.value, Value::Float(_)) || resolve::is_float_text(text)
        })
    }
}

/// The name of a YAML core tag (`str` for `!!str`, and for the verbatim
/// `!<tag:yaml.org,2002:str>`), `None` for any other tag.
fn core_tag(tag: &Tag) -> Option<&str> {
    if tag.is_yaml_core_schema() || tag.handle == "!!" {
        return Some(&tag.suffix);
    }
    tag.suffix
        .strip_prefix("tag:yaml.org,2002:")
        .filter(|_| tag.handle.is_empty() || tag.handle == "!")
}

/// A scalar's value as go-yaml v2 decodes it: untagged, a plain scalar is
/// resolved (YAML 1.1) and a quoted or block one is text; a core tag of a
/// type (`!!int`, `!!bool`, ...) resolves the text and must fit it (else
/// the decoder rejects the document), `!!binary` is base64, and any other
/// tag (`!foo`, `!`, `!!Str`) keeps the text as it is.
fn scalar_value(text: String, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let Some(tag) = tag else {
        return Ok(match style {
            ScalarStyle::Plain => resolve::resolve_non_string(&text).unwrap_or(Value::Str(text)),
            _ => Value::Str(text),
        });
    };
    let wanted = match core_tag(tag) {
        Some("str") => return Ok(Value::Str(text)),
        Some("binary") => return binary_value(&text),
        Some(wanted @ ("int" | "float" | "bool" | "null" | "timestamp")) => wanted,
        _ => return Ok(Value::Str(text)),
    };
    if wanted == "timestamp" && resolve::is_timestamp(&text) {
        // Decoded into an untyped value, go-yaml v2 keeps a timestamp's text.
        return Ok(Value::Str(text));
    }
    let resolved = resolve::resolve_plain(&text);
    let found = match &resolved {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        // Told apart by how they are written: `1e3` is a float, however
        // whole; a whole number beyond int64 is an (unsigned) integer.
        Value::Int(_) | Value::Float(_)
            if matches!(resolved, Value::Float(f) if !f.is_finite())
                || resolve::is_float_text(&text) =>
        {
            "float"
        }
        Value::Int(_) | Value::Float(_) => "int",
        _ if resolve::is_timestamp(&text) => "timestamp",
        _ => "str",
    };
    match (wanted, found) {
        _ if wanted == found => Ok(resolved),
        // A whole number stays an integer here, as JSON prints it.
        ("float", "int") => Ok(resolved),
        _ => Err(format!(
            "`!!{wanted}` on `{}`, which is no {wanted}: Kubernetes' decoder rejects this document; remove the tag, or fix the value",
            match text.char_indices().nth(40) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        )),
    }
}

/// A `!!binary` scalar: base64 (line breaks ignored, as Go's decoder
/// does), decoded to text.
fn binary_value(text: &str) -> Result<Value, String> {
    use base64::Engine as _;
    const GO_STD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let compact: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
    match GO_STD.decode(compact) {
        Ok(bytes) => Ok(Value::Str(String::from_utf8_lossy(&bytes).into_owned())),
        Err(_) => Err(
            "`!!binary` on a value that is no base64: Kubernetes' decoder rejects this document; fix the value, or remove the tag if it is text".into(),
        ),
    }
}

/// Turns a resolved key into the string sigs.k8s.io/yaml gives it in JSON;
/// `float` when it is written as a float (`1e6`), whose whole-number value
/// the resolver keeps as an integer.
fn key_string(key: &Node, float: bool) -> String {
    match &key.value {
        Value::Str(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) if float => go_float32_text(*i as f64),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => go_float32_text(*f),
        Value::Seq(_) | Value::Map(_) => key.to_json().to_string(),
    }
}

#[cfg(test)]
mod tests;
