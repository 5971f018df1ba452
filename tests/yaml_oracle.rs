//! YAML read exactly as Kubernetes reads it (issue 18): kslint's loader
//! against kubectl, the reference.
//!
//! kubectl reads a file with its own `---` splitter and sigs.k8s.io/yaml
//! over go-yaml v2 (YAML 1.1 scalars); `kubectl label --local -f FILE
//! kslint.io/probe=1 -o json` prints every decoded object offline, with the
//! probe label added, which the comparison removes again.
//!
//! - `offline_cases_decode_as_kubectl_decoded_them` always runs: every
//!   `testdata/yaml-oracle/NAME.yaml` must load in kslint to exactly
//!   `NAME.json` (what kubectl printed: one object, or an array of the
//!   objects of a stream), or, beside `NAME.rejected` (kubectl's error),
//!   kslint must report a load error.
//! - `corpus_documents_decode_as_kubectl_decodes_them` and
//!   `generated_edge_cases_decode_as_kubectl_decodes_them` need kubectl:
//!   the same comparison for every document of ../shared/corpus/real and
//!   for 5,000 edge cases generated from a seeded PRNG.
//!
//! Each document ends in one verdict: equal; both reject it; out of scope
//! (kubectl rejects, and kslint reads no object with a `kind`, or metadata
//! kubectl's ObjectMeta cannot decode); or a difference: kubectl rejects
//! what kslint loads (kslint is more lenient), kslint rejects what kubectl
//! loads (the document goes unchecked), or both load it to different
//! values. Differences fail the test unless [`ALLOWED`] names them with a
//! reason. `KSLINT_BLESS_ORACLE=1` writes one input per distinct difference
//! into testdata/yaml-oracle with kubectl's answer, so the offline test
//! keeps covering it without kubectl.
//!
//! What is compared, and what is not a difference:
//! - Objects as kubectl prints them: a document whose top level has
//!   `items` is a list and stands for its items (kubectl's unstructured
//!   decoding makes any such object a list); a `null` document is nothing.
//! - `metadata.labels` and `metadata` left empty or `null` are dropped on
//!   both sides (kubectl creates them to hold the probe label): Kubernetes
//!   reads an empty, a null and a missing map alike.
//! - Mapping keys compare as sets (kubectl sorts them; kslint keeps them in
//!   document order, which nothing in Kubernetes sees).
//! - Numbers compare by value as Go's encoding/json prints them, the only
//!   form Kubernetes ever receives: kubectl's output has been through
//!   float64 and int64 and back, so `1.0` prints as `1`, `1e3` as `1000`,
//!   `-0` as `0`, and an integer float as its digits. Both sides are turned
//!   into the same canonical text ([`float_text`]) from their exact values
//!   (kubectl's numbers are read from their text with Rust's correctly
//!   rounded parser, not serde_json's faster one). A number never equals a
//!   string or a boolean, and two different values never compare equal.
//!
//! Speed (kubectl takes ~70 ms a call, CI has two cores): up to 48 files
//! go to one kubectl call (`-f` repeated). kubectl names each file it
//! rejects and prints the objects of the others in file order, so its
//! output is cut into each file's part ([`Checker::batch`]); a part that
//! is not what kslint reads is confirmed by a second call with the files
//! in reverse order (a wrong cut would not survive it) or by running the
//! file alone. A file of several documents that differs is split at its
//! `---` lines into one-document files, so that each difference is
//! reported, and blessed, as the one document that shows it; a difference
//! that shows only in the whole stream is reported with the whole file.
//!
//! `KSLINT_ORACLE_LIST=PREFIX` writes every difference to PREFIX.corpus.tsv
//! and PREFIX.generated.tsv; `KSLINT_ORACLE_CASES` and `KSLINT_ORACLE_SEED`
//! change how many edge cases are generated, and from which seed.

mod common;

use kslint::yaml::{Limits, parse_manifest_stream};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The label the probe adds.
const PROBE: &str = "kslint.io/probe";

/// Where the offline cases live.
const CASES: &str = "testdata/yaml-oracle";

/// Differences that are known and accepted, each with the reason. A
/// difference is allowed when its kind matches and its input has what
/// `input` looks for. Each is kslint reading more leniently than kubectl,
/// or differing only in blanks of a value: never a document kubectl
/// applies that kslint leaves unchecked.
struct Allowed {
    kind: DiffKind,
    input: fn(&str) -> bool,
    #[allow(dead_code)]
    reason: &'static str,
}

const UNICODE_BREAKS: &str = "NEL, LS and PS (U+0085, U+2028, U+2029) outside quoted strings: libyaml (YAML 1.1) breaks \
     lines at them, kslint's reader (YAML 1.2) takes them as characters. kslint then loads \
     documents kubectl rejects, or keeps blanks kubectl folds; teaching the parser a second \
     kind of line break everywhere costs more than these inputs are worth.";

const LONE_CR: &str = "A lone CR (an old Mac line break) next to a `---` line: kslint reads every CR as a line \
     break, as editors show the file, while kubectl's document splitter breaks lines at LF only, \
     so it sees no separator line there (or a `---` line with text after it).";

const ALLOWED: &[Allowed] = &[
    Allowed {
        kind: DiffKind::KslintLenient,
        input: has_unicode_break,
        reason: UNICODE_BREAKS,
    },
    Allowed {
        kind: DiffKind::ValuesDiffer,
        input: has_unicode_break,
        reason: UNICODE_BREAKS,
    },
    Allowed {
        kind: DiffKind::KslintLenient,
        input: has_lone_cr_separator,
        reason: LONE_CR,
    },
    Allowed {
        kind: DiffKind::KslintRejects,
        input: has_lone_cr_separator,
        reason: LONE_CR,
    },
];

fn has_unicode_break(text: &str) -> bool {
    text.contains(['\u{85}', '\u{2028}', '\u{2029}'])
}

/// A `---` at the start of a line that ends, or follows, a lone CR.
fn has_lone_cr_separator(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices("---").any(|(at, _)| {
        let lone_cr = |i: usize| bytes.get(i) == Some(&b'\r') && bytes.get(i + 1) != Some(&b'\n');
        let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
        (at > 0 && lone_cr(at - 1)) || (at..line_end).any(lone_cr)
    })
}

// ------------------------------------------------------------------ values

/// A decoded JSON value, as the comparison sees it.
#[derive(Debug, Clone, PartialEq)]
enum J {
    Null,
    Bool(bool),
    /// A number, as the canonical text of its value ([`number_text`]).
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(BTreeMap<String, J>),
}

/// The key that stands for a number in [`parse_json_values`]' rewrite.
const NUMBER_KEY: &str = "\u{0}kslint-oracle-number";

impl J {
    /// kslint's JSON, whose numbers hold their exact values.
    fn from_kslint(value: &serde_json::Value) -> J {
        use serde_json::Value as V;
        match value {
            V::Null => J::Null,
            V::Bool(b) => J::Bool(*b),
            V::Number(n) => J::Num(if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                float_text(n.as_f64().unwrap_or(f64::NAN))
            }),
            V::String(s) => J::Str(s.clone()),
            V::Array(items) => J::Arr(items.iter().map(J::from_kslint).collect()),
            V::Object(map) => J::Obj(
                map.iter()
                    .map(|(k, v)| (k.clone(), J::from_kslint(v)))
                    .collect(),
            ),
        }
    }

    /// A value parsed from a rewrite of [`parse_json_values`].
    fn from_rewritten(value: serde_json::Value) -> J {
        use serde_json::Value as V;
        match value {
            V::Null => J::Null,
            V::Bool(b) => J::Bool(b),
            V::Number(n) => J::Num(n.to_string()),
            V::String(s) => J::Str(s),
            V::Array(items) => J::Arr(items.into_iter().map(J::from_rewritten).collect()),
            V::Object(map) => {
                if map.len() == 1
                    && let Some(V::String(token)) = map.get(NUMBER_KEY)
                {
                    return J::Num(number_text(token));
                }
                J::Obj(
                    map.into_iter()
                        .map(|(k, v)| (k, J::from_rewritten(v)))
                        .collect(),
                )
            }
        }
    }

    fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(map) => map.get(key),
            _ => None,
        }
    }

    /// JSON text: pretty with `indent`, else compact.
    fn write(&self, out: &mut String, indent: Option<usize>) {
        let newline = |out: &mut String, depth: usize| {
            if let Some(width) = indent {
                out.push('\n');
                out.push_str(&" ".repeat(width * depth));
            }
        };
        fn go(
            value: &J,
            out: &mut String,
            depth: usize,
            indent: Option<usize>,
            newline: &dyn Fn(&mut String, usize),
        ) {
            match value {
                J::Null => out.push_str("null"),
                J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                J::Num(n) => out.push_str(n),
                J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
                J::Arr(items) if items.is_empty() => out.push_str("[]"),
                J::Obj(map) if map.is_empty() => out.push_str("{}"),
                J::Arr(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        newline(out, depth + 1);
                        go(item, out, depth + 1, indent, newline);
                    }
                    newline(out, depth);
                    out.push(']');
                }
                J::Obj(map) => {
                    out.push('{');
                    for (i, (key, item)) in map.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        newline(out, depth + 1);
                        out.push_str(&serde_json::to_string(key).unwrap());
                        out.push_str(if indent.is_some() { ": " } else { ":" });
                        go(item, out, depth + 1, indent, newline);
                    }
                    newline(out, depth);
                    out.push('}');
                }
            }
        }
        go(self, out, 0, indent, &newline);
    }

    fn compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out
    }

    fn short(&self) -> String {
        clip(&self.compact(), 160)
    }
}

/// A JSON number token as the canonical text of its value: integers that
/// fit 64 bits exactly, anything else through f64 ([`float_text`]).
fn number_text(token: &str) -> String {
    if !token.contains(['.', 'e', 'E']) {
        if let Ok(i) = token.parse::<i64>() {
            return i.to_string();
        }
        if let Ok(u) = token.parse::<u64>() {
            return u.to_string();
        }
    }
    float_text(token.parse::<f64>().expect("kubectl prints JSON numbers"))
}

/// An f64 as Go's encoding/json prints it, up to the exponent's spelling:
/// the shortest digits that round-trip, plain from 1e-6 to below 1e21 (an
/// integer value without a fraction), in exponent form outside. Zero has
/// no sign: Kubernetes reads "-0" back as the integer 0.
fn float_text(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    if (1e-6..1e21).contains(&f.abs()) {
        format!("{f}")
    } else {
        format!("{f:e}")
    }
}

/// Parses a stream of JSON values (kubectl's output, or a case's expected
/// file), keeping every number exact: each number token is rewritten into
/// an object holding its text before serde_json sees it.
fn parse_json_values(text: &str) -> Result<Vec<J>, String> {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(text.len() + 256);
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if b == b'\\' && i + 1 < bytes.len() {
                out.extend_from_slice(&bytes[i..i + 2]);
                i += 2;
                continue;
            }
            if b == b'"' {
                in_string = false;
            }
            out.push(b);
            i += 1;
        } else if b == b'"' {
            in_string = true;
            out.push(b);
            i += 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < bytes.len()
                && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                i += 1;
            }
            out.extend_from_slice(b"{\"\\u0000kslint-oracle-number\":\"");
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(b"\"}");
        } else {
            out.push(b);
            i += 1;
        }
    }
    let rewritten = String::from_utf8(out).map_err(|e| e.to_string())?;
    serde_json::Deserializer::from_str(&rewritten)
        .into_iter::<serde_json::Value>()
        .map(|v| v.map(J::from_rewritten).map_err(|e| e.to_string()))
        .collect()
}

/// Drops `metadata.labels` and `metadata` when empty or null.
fn normalise(value: J) -> J {
    let J::Obj(mut object) = value else {
        return value;
    };
    let empty = |v: Option<&J>| match v {
        Some(J::Null) => true,
        Some(J::Obj(map)) => map.is_empty(),
        _ => false,
    };
    if let Some(J::Obj(meta)) = object.get_mut("metadata")
        && empty(meta.get("labels"))
    {
        meta.remove("labels");
    }
    if empty(object.get("metadata")) {
        object.remove("metadata");
    }
    J::Obj(object)
}

/// Where two values first differ, if they do: kubectl's first.
fn first_difference(kube: &J, mine: &J, path: &str) -> Option<String> {
    let at = if path.is_empty() { "/" } else { path };
    match (kube, mine) {
        (J::Obj(a), J::Obj(b)) => {
            for (key, value) in a {
                let inner = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                match b.get(key) {
                    None => {
                        return Some(format!("{inner}: only kubectl has it ({})", value.short()));
                    }
                    Some(other) => {
                        if let Some(d) = first_difference(value, other, &inner) {
                            return Some(d);
                        }
                    }
                }
            }
            b.iter().find(|(k, _)| !a.contains_key(*k)).map(|(k, v)| {
                format!(
                    "{path}/{}: only kslint has it ({})",
                    k.replace('~', "~0").replace('/', "~1"),
                    v.short()
                )
            })
        }
        (J::Arr(a), J::Arr(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{path}/{i}"))),
        (J::Arr(a), J::Arr(b)) => Some(format!(
            "{at}: kubectl has {} items, kslint {} ({} vs {})",
            a.len(),
            b.len(),
            kube.short(),
            mine.short()
        )),
        _ if kube == mine => None,
        _ => Some(format!(
            "{at}: kubectl {} vs kslint {}",
            kube.short(),
            mine.short()
        )),
    }
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

fn first_line(text: &str) -> String {
    clip(text.lines().next().unwrap_or(""), 240)
}

// ------------------------------------------------------------ kslint's view

/// What kslint makes of a text, in kubectl's terms.
#[derive(Debug, Clone, Default)]
struct View {
    /// Documents kslint could not load.
    errors: Vec<String>,
    /// The objects kubectl should print, in order.
    objects: Vec<J>,
    /// Documents kubectl cannot take as objects, and why.
    outside: Vec<String>,
    /// `null` documents, which kubectl skips.
    empty: usize,
}

impl View {
    /// As kslint reads a file: line breaks as kubectl's reader takes them,
    /// then JSON or YAML as kubectl tells them apart.
    fn of(text: &str) -> View {
        let (text, _) = kslint::source::text_of(text.as_bytes().to_vec());
        let stream = parse_manifest_stream(&text, Limits::default());
        let mut view = View {
            errors: stream
                .errors
                .iter()
                .map(|e| format!("{} (at byte {})", e.message, e.span.start))
                .collect(),
            ..View::default()
        };
        for document in &stream.documents {
            view.classify(J::from_kslint(&document.root.to_json()));
        }
        view
    }

    fn classify(&mut self, root: J) {
        if root == J::Null {
            self.empty += 1;
            return;
        }
        if let Some(why) = object_problem(&root, false) {
            self.outside.push(why);
            return;
        }
        match root.get("items") {
            None => self.objects.push(normalise(root)),
            Some(J::Null) => {}
            Some(J::Arr(items)) => match items.iter().find_map(|i| object_problem(i, true)) {
                Some(why) => self.outside.push(format!("a list item: {why}")),
                None => self.objects.extend(items.iter().cloned().map(normalise)),
            },
            Some(_) => self.outside.push("`items` that is not a list".into()),
        }
    }

    /// The view of texts laid end to end at `---` lines: kslint loads each
    /// document of a stream on its own, so this is the view of the whole
    /// (but for the alias budget a stream shares, far above these inputs).
    fn concat<'a>(views: impl IntoIterator<Item = &'a View>) -> View {
        let mut all = View::default();
        for view in views {
            all.errors.extend(view.errors.iter().cloned());
            all.objects.extend(view.objects.iter().cloned());
            all.outside.extend(view.outside.iter().cloned());
            all.empty += view.empty;
        }
        all
    }

    /// Whether kslint loads it all, as objects kubectl can take.
    fn clean(&self) -> bool {
        self.errors.is_empty() && self.outside.is_empty()
    }
}

/// Why kubectl cannot take this as an object, if it cannot: not a mapping,
/// no `kind` (a list item also needs `apiVersion`), or metadata its
/// ObjectMeta cannot decode.
fn object_problem(value: &J, item: bool) -> Option<String> {
    let J::Obj(map) = value else {
        return Some(format!(
            "a document that is not a mapping ({})",
            value.short()
        ));
    };
    let text = |key: &str| matches!(map.get(key), Some(J::Str(s)) if !s.is_empty());
    if !text("kind") {
        return Some("a mapping without a `kind`".into());
    }
    if item && !text("apiVersion") {
        return Some("a list item without an `apiVersion`".into());
    }
    if !matches!(map.get("apiVersion"), None | Some(J::Str(_))) {
        return Some("an `apiVersion` that is not a string".into());
    }
    if !metadata_decodes(map.get("metadata")) {
        return Some("metadata kubectl's ObjectMeta cannot decode".into());
    }
    None
}

/// Whether Kubernetes' ObjectMeta decodes this `metadata` (the fields it
/// types; the rest it ignores).
fn metadata_decodes(meta: Option<&J>) -> bool {
    let string_map = |v: &J| match v {
        J::Null => true,
        J::Obj(m) => m.values().all(|x| matches!(x, J::Str(_))),
        _ => false,
    };
    let time = |v: &J| match v {
        J::Null => true,
        J::Str(s) => {
            let b = s.as_bytes();
            b.len() >= 20 && b[4] == b'-' && b[10] == b'T' && (s.ends_with('Z') || s.len() > 20)
        }
        _ => false,
    };
    let integer = |v: &J| match v {
        J::Null => true,
        J::Num(n) => n.parse::<i64>().is_ok(),
        _ => false,
    };
    match meta {
        None | Some(J::Null) => true,
        Some(J::Obj(m)) => m.iter().all(|(key, value)| match key.as_str() {
            "labels" | "annotations" => string_map(value),
            "name" | "namespace" | "generateName" | "uid" | "resourceVersion" | "selfLink" => {
                matches!(value, J::Null | J::Str(_))
            }
            "generation" | "deletionGracePeriodSeconds" => integer(value),
            "creationTimestamp" | "deletionTimestamp" => time(value),
            "finalizers" => match value {
                J::Null => true,
                J::Arr(items) => items.iter().all(|x| matches!(x, J::Str(_))),
                _ => false,
            },
            "ownerReferences" | "managedFields" => match value {
                J::Null => true,
                J::Arr(items) => items.iter().all(|x| matches!(x, J::Obj(_))),
                _ => false,
            },
            _ => true,
        }),
        Some(_) => false,
    }
}

// ---------------------------------------------------------------- verdicts

/// What kubectl made of a file.
#[derive(Debug, Clone)]
enum Kube {
    /// The objects it printed, probe label removed.
    Accepted(Vec<J>),
    /// Its error.
    Rejected(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum DiffKind {
    /// kslint reports an error, kubectl loads it: the document goes
    /// unchecked.
    KslintRejects,
    /// Both load it, to different objects.
    ValuesDiffer,
    /// kubectl rejects it, kslint loads it.
    KslintLenient,
}

impl DiffKind {
    fn describe(self) -> &'static str {
        match self {
            DiffKind::KslintRejects => {
                "kslint rejects, kubectl loads (the document goes unchecked)"
            }
            DiffKind::ValuesDiffer => "both load it, to different values",
            DiffKind::KslintLenient => "kubectl rejects, kslint loads (kslint is more lenient)",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            DiffKind::KslintRejects => "kslint-rejects",
            DiffKind::ValuesDiffer => "values-differ",
            DiffKind::KslintLenient => "kslint-lenient",
        }
    }
}

#[derive(Debug, Clone)]
enum Verdict {
    Equal,
    /// Neither prints anything (comments, empty documents, empty lists).
    Empty,
    BothReject,
    /// kubectl rejects something that is not an object it could take.
    Outside,
    Diff(DiffKind, String),
}

impl Verdict {
    fn clean(&self) -> bool {
        matches!(self, Verdict::Equal | Verdict::Empty)
    }
}

fn judge(view: &View, kube: &Kube) -> Verdict {
    match kube {
        Kube::Rejected(why) => {
            if !view.errors.is_empty() {
                Verdict::BothReject
            } else if !view.outside.is_empty() {
                Verdict::Outside
            } else {
                Verdict::Diff(
                    DiffKind::KslintLenient,
                    format!(
                        "kubectl: {}; kslint loads {} object(s)",
                        first_line(why),
                        view.objects.len()
                    ),
                )
            }
        }
        Kube::Accepted(objects) => {
            if let Some(error) = view.errors.first() {
                Verdict::Diff(
                    DiffKind::KslintRejects,
                    format!("kslint: {error}; kubectl loads {} object(s)", objects.len()),
                )
            } else if let Some(outside) = view.outside.first() {
                Verdict::Diff(
                    DiffKind::ValuesDiffer,
                    format!(
                        "kubectl loads {} object(s); kslint reads {outside}",
                        objects.len()
                    ),
                )
            } else if objects.len() != view.objects.len() {
                Verdict::Diff(
                    DiffKind::ValuesDiffer,
                    format!(
                        "kubectl prints {} object(s), kslint reads {}",
                        objects.len(),
                        view.objects.len()
                    ),
                )
            } else if let Some(detail) = objects
                .iter()
                .zip(&view.objects)
                .find_map(|(k, m)| first_difference(k, m, ""))
            {
                Verdict::Diff(DiffKind::ValuesDiffer, detail)
            } else if objects.is_empty() {
                Verdict::Empty
            } else {
                Verdict::Equal
            }
        }
    }
}

// ------------------------------------------------------------------ kubectl

/// One kubectl call over several files.
struct Call {
    ok: bool,
    /// kubectl's errors, each file's path shown by its name.
    stderr: String,
    objects: Vec<J>,
    /// Per file: whether kubectl's errors name it.
    mentioned: Vec<bool>,
    /// Per file: kubectl's error lines that name it.
    why: Vec<String>,
    /// Whether some error names no file (kubectl rejected something, but
    /// which file it was is not known).
    unattributed: bool,
}

impl Call {
    fn kube(self) -> Kube {
        if self.ok {
            Kube::Accepted(self.objects)
        } else {
            Kube::Rejected(self.stderr)
        }
    }
}

/// Runs kubectl over `files`, each a path and the name to show for it.
fn kubectl(tool: &Path, files: &[(PathBuf, String)]) -> Call {
    let mut command = Command::new(tool);
    command.args(["label", "--local", "-o", "json"]);
    for (file, _) in files {
        command.arg("-f").arg(file);
    }
    command.arg(format!("{PROBE}=1"));
    // No cluster is involved; keep any user configuration out of it.
    command.env("KUBECONFIG", "/dev/null");
    let output = command.output().expect("kubectl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let values = parse_json_values(&stdout)
        .unwrap_or_else(|e| panic!("kubectl printed JSON that does not parse ({e}):\n{stdout}"));
    let mut objects = Vec::new();
    for value in values {
        unlabel(value, &mut objects);
    }
    let ok = output.status.success();
    let mut shown = stderr.clone();
    let mut mentioned = Vec::new();
    let mut why = Vec::new();
    for (file, name) in files {
        let path = file.display().to_string();
        let named = |line: &str| {
            line.contains(&format!("{path}:")) || line.contains(&format!("\"{path}\""))
        };
        mentioned.push(!ok && named(&stderr));
        why.push(
            stderr
                .lines()
                .filter(|line| named(line))
                .map(|line| line.replace(&path, name))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        shown = shown.replace(&path, name);
    }
    let unattributed = !ok
        && stderr.lines().any(|line| {
            !line.trim().is_empty()
                && !files
                    .iter()
                    .any(|(file, _)| line.contains(&file.display().to_string()))
        });
    Call {
        ok,
        stderr: shown,
        objects,
        mentioned,
        why,
        unattributed,
    }
}

/// Takes the probe label off an object kubectl printed (a `List` without
/// the label is a wrapper around several).
fn unlabel(value: J, out: &mut Vec<J>) {
    let J::Obj(mut object) = value else {
        panic!(
            "kubectl printed a value that is not an object: {}",
            value.short()
        );
    };
    let probe = match object.get_mut("metadata") {
        Some(J::Obj(meta)) => match meta.get_mut("labels") {
            Some(J::Obj(labels)) => labels.remove(PROBE),
            _ => None,
        },
        _ => None,
    };
    match probe {
        Some(J::Str(value)) if value == "1" => out.push(normalise(J::Obj(object))),
        None if object.get("kind") == Some(&J::Str("List".into())) => {
            match object.remove("items") {
                Some(J::Arr(items)) => items.into_iter().for_each(|i| unlabel(i, out)),
                other => panic!("kubectl printed a List without items: {other:?}"),
            }
        }
        _ => panic!(
            "kubectl printed an object without the probe label: {}",
            J::Obj(object).short()
        ),
    }
}

// -------------------------------------------------------------------- units

/// One `---` section of a file, as sent alone.
#[derive(Debug, Clone)]
struct Chunk {
    range: Range<usize>,
    view: View,
    /// Where it comes from, for the report.
    origin: String,
    /// What produced it (the generator's constructs; "corpus").
    signature: String,
}

/// A text sent to kubectl as one file.
#[derive(Debug, Clone)]
struct Unit {
    /// The file itself, when the unit is a whole file on disk.
    path: Option<PathBuf>,
    text: String,
    view: View,
    chunks: Vec<Chunk>,
}

impl Unit {
    fn new(path: Option<PathBuf>, text: String, chunks: Vec<Chunk>) -> Unit {
        Unit {
            path,
            view: View::concat(chunks.iter().map(|c| &c.view)),
            text,
            chunks,
        }
    }

    /// A unit of `text`, cut into chunks that get their views (in
    /// parallel, by [`with_views`]).
    fn unviewed(
        path: Option<PathBuf>,
        text: String,
        origin: impl Fn(usize, usize) -> (String, String),
    ) -> Unit {
        let ranges = chunk_ranges(&text);
        let chunks = ranges
            .iter()
            .enumerate()
            .map(|(i, range)| {
                let (origin, signature) = origin(i, range.start);
                Chunk {
                    range: range.clone(),
                    view: View::default(),
                    origin,
                    signature,
                }
            })
            .collect();
        Unit {
            path,
            view: View::default(),
            text,
            chunks,
        }
    }

    /// The unit of chunks `range` alone (viewed anew: where a chunk stands
    /// can change how it reads).
    fn sub(&self, range: Range<usize>) -> Unit {
        let start = self.chunks[range.start].range.start;
        let end = self.chunks[range.end - 1].range.end;
        let text = self.text[start..end].to_owned();
        let ranges: Vec<Range<usize>> = self.chunks[range.clone()]
            .iter()
            .map(|c| c.range.start - start..c.range.end - start)
            .collect();
        let chunks = self.chunks[range]
            .iter()
            .zip(chunk_views(&text, &ranges))
            .zip(&ranges)
            .map(|((c, view), range)| Chunk {
                range: range.clone(),
                view,
                ..c.clone()
            })
            .collect();
        Unit::new(None, text, chunks)
    }

    fn origin(&self) -> String {
        let origins: Vec<&str> = self.chunks.iter().map(|c| c.origin.as_str()).collect();
        if origins.len() == 1 {
            origins[0].to_owned()
        } else {
            format!(
                "{} documents in context: {}",
                origins.len(),
                origins.join(", ")
            )
        }
    }

    fn signature(&self) -> String {
        let all: BTreeSet<&str> = self.chunks.iter().map(|c| c.signature.as_str()).collect();
        all.into_iter().collect::<Vec<_>>().join(" + ")
    }
}

/// Gives each unit's chunks kslint's views, on all cores.
fn with_views(mut units: Vec<Unit>) -> Vec<Unit> {
    use rayon::prelude::*;
    units.par_iter_mut().for_each(|unit| {
        let ranges: Vec<Range<usize>> = unit.chunks.iter().map(|c| c.range.clone()).collect();
        for (chunk, view) in unit.chunks.iter_mut().zip(chunk_views(&unit.text, &ranges)) {
            chunk.view = view;
        }
        unit.view = View::concat(unit.chunks.iter().map(|c| &c.view));
    });
    units
}

/// kslint's view of each chunk of `text` where it stands. Kubernetes'
/// reader drops a chunk's `---` line when it ends a part that holds
/// something (and then a `...` or a byte order mark after it reads
/// differently), so such a chunk is viewed after a comment line that
/// stands for the part before it.
fn chunk_views(text: &str, ranges: &[Range<usize>]) -> Vec<View> {
    let mut part_from = 0;
    ranges
        .iter()
        .map(|range| {
            let chunk = &text[range.clone()];
            if chunk.starts_with("---") && range.start > part_from {
                part_from = range.start + chunk.find('\n').map_or(chunk.len(), |n| n + 1);
                View::of(&format!("#\n{chunk}"))
            } else {
                View::of(chunk)
            }
        })
        .collect()
}

/// Splits a text at its `---` lines, as kslint does (a `%` directive line
/// goes with the document after it), but not at `...` lines: kubectl's
/// splitter ignores those, so a `...` and what follows stay with the
/// document before.
fn chunk_ranges(text: &str) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut directives_from: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let is_marker = |marker: &str| {
            line.strip_prefix(marker)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
        };
        if is_marker("---") {
            let cut = directives_from.unwrap_or(offset);
            if cut > start {
                chunks.push(start..cut);
            }
            start = cut;
            directives_from = None;
        } else if is_marker("...") {
            directives_from = None;
        } else if line.starts_with('%') {
            directives_from.get_or_insert(offset);
        }
        offset += line.len();
    }
    if start < text.len() {
        chunks.push(start..text.len());
    }
    chunks
}

// ------------------------------------------------------------------ checker

/// A difference found.
#[derive(Debug, Clone)]
struct Difference {
    kind: DiffKind,
    detail: String,
    origin: String,
    signature: String,
    text: String,
    kube: Kube,
}

#[derive(Debug, Default)]
struct Tally {
    equal: usize,
    empty: usize,
    both_reject: usize,
    outside: usize,
    calls: usize,
    notes: Vec<String>,
    diffs: Vec<Difference>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.equal += other.equal;
        self.empty += other.empty;
        self.both_reject += other.both_reject;
        self.outside += other.outside;
        self.calls += other.calls;
        self.notes.extend(other.notes);
        self.diffs.extend(other.diffs);
    }
}

struct Checker<'a> {
    kubectl: &'a Path,
    dir: &'a Path,
    worker: usize,
    files: usize,
    tally: Tally,
}

impl Checker<'_> {
    fn call(&mut self, units: &[&Unit]) -> Call {
        let mut files = Vec::new();
        let mut temporary = Vec::new();
        for unit in units {
            match &unit.path {
                Some(path) => {
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    files.push((path.clone(), name));
                }
                None => {
                    self.files += 1;
                    let path = self
                        .dir
                        .join(format!("w{}-{:07}.yaml", self.worker, self.files));
                    std::fs::write(&path, &unit.text).unwrap();
                    temporary.push(path.clone());
                    files.push((path, "input.yaml".to_owned()));
                }
            }
        }
        self.tally.calls += 1;
        let call = kubectl(self.kubectl, &files);
        for path in temporary {
            let _ = std::fs::remove_file(path);
        }
        call
    }

    fn count_clean(&mut self, unit: &Unit) {
        for chunk in &unit.chunks {
            if chunk.view.objects.is_empty() {
                self.tally.empty += 1;
            } else {
                self.tally.equal += 1;
            }
        }
    }

    fn record(&mut self, unit: &Unit, verdict: Verdict, kube: Kube) {
        match verdict {
            Verdict::Equal | Verdict::Empty => self.count_clean(unit),
            Verdict::BothReject if unit.chunks.len() == 1 => self.tally.both_reject += 1,
            Verdict::Outside if unit.chunks.len() == 1 => self.tally.outside += 1,
            Verdict::BothReject | Verdict::Outside => self.tally.notes.push(format!(
                "{}: kubectl rejects these documents together, but each one alone is fine",
                unit.origin()
            )),
            Verdict::Diff(kind, detail) => {
                let signature = unit.signature();
                self.tally.diffs.push(Difference {
                    kind,
                    detail,
                    origin: unit.origin(),
                    signature,
                    text: unit.text.clone(),
                    kube,
                });
            }
        }
    }

    /// Several files in one kubectl call. kubectl prints the objects of
    /// the files in order and names each file it rejects, so its output is
    /// cut into each file's part: by what each file should print, or, when
    /// that does not add up, by the cut that matches the most files
    /// ([`best_cut`]), which a second call, the files in reverse order,
    /// must reproduce. A file whose part differs from kslint's objects is
    /// confirmed the same way ([`Checker::confirm`]) or run alone. Returns
    /// whether every file was clean.
    fn batch(&mut self, units: &[&Unit]) -> bool {
        if units.len() == 1 {
            return self.single(units[0]);
        }
        let call = self.call(units);
        let simple: Option<Vec<usize>> = units
            .iter()
            .enumerate()
            .map(|(i, unit)| expected_count(unit, call.mentioned[i]))
            .collect();
        if let Some(counts) = simple.filter(|c| c.iter().sum::<usize>() == call.objects.len()) {
            return self.settle(units, &call, &counts, None);
        }
        let Some(counts) = best_cut(units, &call) else {
            let (left, right) = units.split_at(units.len() / 2);
            let left = self.batch(left);
            let right = self.batch(right);
            return left && right;
        };
        let reversed: Vec<&Unit> = units.iter().rev().copied().collect();
        let again = self.call(&reversed);
        self.settle(units, &call, &counts, Some(&again))
    }

    /// Judges each file of a batch on its part of the output (`counts`
    /// objects each). With `check`, the same files' call in reverse order:
    /// a file whose part differs between the two goes alone.
    fn settle(
        &mut self,
        units: &[&Unit],
        call: &Call,
        counts: &[usize],
        check: Option<&Call>,
    ) -> bool {
        let first = cut(&call.objects, counts.iter().copied());
        let second = check.map(|again| {
            let mut parts = cut(&again.objects, counts.iter().rev().copied());
            parts.reverse();
            (again, parts)
        });
        let n = units.len();
        // An error that names no file may be any file's that printed
        // nothing: those go alone.
        let unattributed = call.unattributed || check.is_some_and(|c| c.unattributed);
        let mut clean = true;
        let mut suspects = Vec::new();
        for (i, unit) in units.iter().enumerate() {
            let part = first[i];
            let mentioned = call.mentioned[i];
            let inconsistent = second.as_ref().is_some_and(|(again, parts)| {
                again.objects.len() != call.objects.len()
                    || again.mentioned[n - 1 - i] != mentioned
                    || parts[i] != part
            });
            if inconsistent || unattributed && !mentioned && part.is_empty() {
                clean &= self.single(unit);
            } else if mentioned && unit.chunks.len() == 1 {
                clean = false;
                self.rejected(unit, call, i);
            } else if !mentioned && unit.view.clean() && part == &unit.view.objects[..] {
                self.count_clean(unit);
            } else if unit.chunks.len() > 1 {
                clean &= self.split(unit, None);
            } else if second.is_some() {
                clean = false;
                let kube = Kube::Accepted(part.to_vec());
                let verdict = judge(&unit.view, &kube);
                self.record(unit, verdict, kube);
            } else {
                clean = false;
                suspects.push((*unit, part.to_vec()));
            }
        }
        clean & self.confirm(suspects)
    }

    /// A one-document file kubectl named in an error: both reject it, it is
    /// out of scope, or kubectl rejects what kslint loads.
    fn rejected(&mut self, unit: &Unit, call: &Call, i: usize) {
        let kube = Kube::Rejected(call.why[i].clone());
        let verdict = judge(&unit.view, &kube);
        self.record(unit, verdict, kube);
    }

    /// Files whose part of a batch's output is not what kslint reads, with
    /// that part. They go to kubectl together again, in reverse order: a
    /// file whose part comes out the same under that other cut is judged
    /// on it; any other goes alone. (A wrong cut would have to give the
    /// same objects from other files at other boundaries.)
    fn confirm(&mut self, suspects: Vec<(&Unit, Vec<J>)>) -> bool {
        if suspects.len() < 2 {
            return suspects
                .into_iter()
                .fold(true, |clean, (unit, _)| self.single(unit) && clean);
        }
        let units: Vec<&Unit> = suspects.iter().rev().map(|(u, _)| *u).collect();
        let call = self.call(&units);
        let total: usize = suspects.iter().map(|(_, part)| part.len()).sum();
        if !call.ok || total != call.objects.len() {
            return suspects
                .into_iter()
                .fold(true, |clean, (unit, _)| self.single(unit) && clean);
        }
        let mut position = 0;
        let mut clean = true;
        for (unit, part) in suspects.into_iter().rev() {
            let again = &call.objects[position..position + part.len()];
            position += part.len();
            if again == &part[..] {
                let kube = Kube::Accepted(part);
                let verdict = judge(&unit.view, &kube);
                clean &= verdict.clean();
                self.record(unit, verdict, kube);
            } else {
                clean &= self.single(unit);
            }
        }
        clean
    }

    /// One file alone. When it is not clean and has several documents,
    /// they go again as a batch of one-document files; if each of those
    /// is clean, the difference shows only in context, and the whole file
    /// is the input that shows it. Returns whether it was clean.
    fn single(&mut self, unit: &Unit) -> bool {
        let call = self.call(&[unit]);
        self.single_from(unit, call)
    }

    /// [`Checker::single`], given kubectl's answer for the file alone.
    fn single_from(&mut self, unit: &Unit, call: Call) -> bool {
        let kube = call.kube();
        let verdict = judge(&unit.view, &kube);
        if verdict.clean() {
            self.count_clean(unit);
            return true;
        }
        if unit.chunks.len() == 1 {
            self.record(unit, verdict, kube);
            return false;
        }
        self.split(unit, Some((verdict, kube)))
    }

    /// A file of several documents that is not clean, as a batch of
    /// one-document files, so that each difference is the one document
    /// that shows it. If each is clean, the difference shows only in the
    /// whole file, which is recorded as it is (with `whole`, what kubectl
    /// and kslint made of it, when already known).
    fn split(&mut self, unit: &Unit, whole: Option<(Verdict, Kube)>) -> bool {
        let parts: Vec<Unit> = (0..unit.chunks.len()).map(|i| unit.sub(i..i + 1)).collect();
        let parts: Vec<&Unit> = parts.iter().collect();
        if !self.batch(&parts) {
            return false;
        }
        let (verdict, kube) = whole.unwrap_or_else(|| {
            let kube = self.call(&[unit]).kube();
            (judge(&unit.view, &kube), kube)
        });
        // Its documents are counted already.
        let clean = verdict.clean();
        if !clean {
            self.record(unit, verdict, kube);
        }
        clean
    }
}

/// What a file should print if kslint is right: nothing when kubectl
/// names it in an error and it has one document; kslint's objects, and one
/// object for each document kslint cannot load. `None` for a file with
/// several documents that kubectl names (it may have printed some first).
fn expected_count(unit: &Unit, mentioned: bool) -> Option<usize> {
    if mentioned {
        (unit.chunks.len() == 1).then_some(0)
    } else {
        Some(unit.view.objects.len() + unit.view.errors.len())
    }
}

/// Cuts `objects` into consecutive parts of `counts` objects.
fn cut(objects: &[J], counts: impl Iterator<Item = usize>) -> Vec<&[J]> {
    let mut position = 0;
    counts
        .map(|n| {
            let start = position.min(objects.len());
            position += n;
            &objects[start..position.min(objects.len())]
        })
        .collect()
}

/// The cut of a batch's output into the files' parts under which the most
/// files print exactly what kslint reads (a dynamic program over files and
/// output positions); a one-document file kubectl names prints nothing.
fn best_cut(units: &[&Unit], call: &Call) -> Option<Vec<usize>> {
    const NEVER: usize = usize::MAX / 4;
    let (n, total) = (units.len(), call.objects.len());
    let mut best = vec![vec![NEVER; total + 1]; n + 1];
    let mut choice = vec![vec![0; total + 1]; n + 1];
    best[n][total] = 0;
    for i in (0..n).rev() {
        let unit = units[i];
        let mentioned = call.mentioned[i];
        let expected = expected_count(unit, mentioned);
        let fixed = mentioned && unit.chunks.len() == 1;
        let most = if fixed {
            0
        } else {
            unit.chunks.len() + unit.view.objects.len() + 2
        };
        for p in 0..=total {
            for c in 0..=most.min(total - p) {
                let rest = best[i + 1][p + c];
                if rest >= NEVER {
                    continue;
                }
                let matches = !mentioned
                    && unit.view.clean()
                    && c == unit.view.objects.len()
                    && call.objects[p..p + c] == unit.view.objects[..];
                let cost = rest + usize::from(!(fixed || matches));
                if cost < best[i][p] || (cost == best[i][p] && Some(c) == expected) {
                    best[i][p] = cost;
                    choice[i][p] = c;
                }
            }
        }
    }
    if best[0][0] >= NEVER {
        return None;
    }
    let mut counts = Vec::with_capacity(n);
    let mut p = 0;
    for row in choice.iter().take(n) {
        counts.push(row[p]);
        p += row[p];
    }
    Some(counts)
}

/// Runs batches of units on a few threads.
fn check_all(kubectl: &Path, batches: Vec<Vec<Unit>>) -> Tally {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let dir = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let total = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for worker in 0..threads {
            let (batches, next, total, dir) = (&batches, &next, &total, dir.path());
            scope.spawn(move || {
                let mut checker = Checker {
                    kubectl,
                    dir,
                    worker,
                    files: 0,
                    tally: Tally::default(),
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(batch) = batches.get(i) else { break };
                    let units: Vec<&Unit> = batch.iter().collect();
                    checker.batch(&units);
                }
                total.lock().unwrap().add(checker.tally);
            });
        }
    });
    let mut tally = total.into_inner().unwrap();
    tally
        .diffs
        .sort_by(|a, b| (a.kind, &a.origin).cmp(&(b.kind, &b.origin)));
    tally.notes.sort();
    tally
}

/// Groups units into kubectl calls of at most `files` files and `bytes`
/// bytes.
fn batches(units: Vec<Unit>, files: usize, bytes: usize) -> Vec<Vec<Unit>> {
    let mut out: Vec<Vec<Unit>> = Vec::new();
    let mut current: Vec<Unit> = Vec::new();
    let mut size = 0;
    for unit in units {
        if !current.is_empty() && (current.len() >= files || size + unit.text.len() > bytes) {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        size += unit.text.len();
        current.push(unit);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

// ------------------------------------------------------------------- report

fn allowed(difference: &Difference) -> Option<&'static Allowed> {
    ALLOWED
        .iter()
        .find(|a| a.kind == difference.kind && (a.input)(&difference.text))
}

fn show_input(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i == 30 {
            let _ = writeln!(out, "    | … ({} more lines)", text.lines().count() - 30);
            break;
        }
        let line = line.strip_suffix('\n').unwrap_or(line);
        let _ = writeln!(out, "    | {}", clip(&visible(line), 200));
    }
    if !text.ends_with('\n') {
        out.push_str("    (no final line break)\n");
    }
    out
}

/// A line with its invisible characters shown: a tab as `→`, a carriage
/// return as `␍`, other controls and odd spaces as `\u{…}`.
fn visible(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '\t' => "→".to_owned(),
            '\r' => "␍".to_owned(),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{a0}' | '\u{200b}' | '\u{2028}' | '\u{2029}' | '\u{3000}' | '\u{feff}'
                ) =>
            {
                format!("\\u{{{:x}}}", c as u32)
            }
            c => c.to_string(),
        })
        .collect()
}

fn show_kube(kube: &Kube) -> String {
    match kube {
        Kube::Rejected(why) => format!("rejects it: {}", clip(why, 400)),
        Kube::Accepted(objects) => format!(
            "loads {} object(s): {}",
            objects.len(),
            clip(
                &objects.iter().map(J::compact).collect::<Vec<_>>().join(" "),
                600
            )
        ),
    }
}

/// Prints the tally, writes the differences in bless mode, and fails on
/// any that is not allowed.
fn report(what: &str, summary: &str, tally: Tally, started: Instant) {
    let compared = tally.equal + tally.both_reject + tally.diffs.len();
    eprintln!(
        "{what}: {summary}; {compared} documents compared: {} equal, {} rejected by both, {} differ; \
         also {} out of scope (not objects kubectl takes), {} empty; {} kubectl calls; {:.1}s",
        tally.equal,
        tally.both_reject,
        tally.diffs.len(),
        tally.outside,
        tally.empty,
        tally.calls,
        started.elapsed().as_secs_f64()
    );
    for note in &tally.notes {
        eprintln!("note: {note}");
    }
    if std::env::var_os("KSLINT_BLESS_ORACLE").is_some() {
        bless(&tally.diffs);
    }
    // KSLINT_ORACLE_LIST=PREFIX writes every difference, one a line, to
    // PREFIX.corpus.tsv and PREFIX.generated.tsv: kind, what produced it,
    // where, what differs.
    if let Some(prefix) = std::env::var_os("KSLINT_ORACLE_LIST") {
        let mut out = String::new();
        for d in &tally.diffs {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}",
                d.kind.slug(),
                d.signature,
                d.origin,
                d.detail.replace(['\n', '\t'], " ")
            );
        }
        std::fs::write(format!("{}.{what}.tsv", prefix.to_string_lossy()), out).unwrap();
    }
    let (allowed_diffs, failing): (Vec<&Difference>, Vec<&Difference>) =
        tally.diffs.iter().partition(|d| allowed(d).is_some());
    if !allowed_diffs.is_empty() {
        eprintln!(
            "{what}: {} document(s) with an allowed difference (see ALLOWED)",
            allowed_diffs.len()
        );
    }
    if failing.is_empty() {
        return;
    }
    let mut message = format!(
        "{what}: {} document(s) that kslint reads differently from kubectl\n",
        failing.len()
    );
    let mut by_kind: BTreeMap<DiffKind, usize> = BTreeMap::new();
    // The most serious first: what kslint leaves unchecked.
    let mut by_cause: BTreeMap<(DiffKind, String), Vec<&Difference>> = BTreeMap::new();
    for d in &failing {
        *by_kind.entry(d.kind).or_default() += 1;
        by_cause
            .entry((d.kind, cause(d.kind, &d.detail, &d.text, &d.kube)))
            .or_default()
            .push(d);
    }
    for (kind, count) in &by_kind {
        let _ = writeln!(message, "  {count:5}  {}", kind.describe());
    }
    let _ = writeln!(message, "by cause ({}):", by_cause.len());
    for ((_, cause), diffs) in by_cause.iter().take(100) {
        let _ = writeln!(message, "  {:5}  {cause}", diffs.len());
    }
    if by_cause.len() > 100 {
        let _ = writeln!(message, "  … and {} more", by_cause.len() - 100);
    }
    // The smallest input of each cause first, then more, up to 30.
    for diffs in by_cause.values_mut() {
        diffs.sort_by_key(|d| d.text.len());
    }
    let mut shown: Vec<&Difference> = Vec::new();
    let mut round = 0;
    while shown.len() < 30 {
        let before = shown.len();
        for diffs in by_cause.values() {
            if let Some(d) = diffs.get(round)
                && shown.len() < 30
            {
                shown.push(d);
            }
        }
        if shown.len() == before {
            break;
        }
        round += 1;
    }
    let _ = writeln!(message, "the first {} in detail:", shown.len());
    for d in shown {
        let _ = write!(
            message,
            "\n[{}] {}\n  produced by: {}\n  {}\n  kubectl {}\n  input:\n{}",
            d.kind.describe(),
            d.origin,
            d.signature,
            d.detail,
            show_kube(&d.kube),
            show_input(&d.text)
        );
    }
    message.push_str(
        "\nKSLINT_BLESS_ORACLE=1 writes the smallest input of each cause that no case in \
         testdata/yaml-oracle shows yet there, with kubectl's answer.",
    );
    panic!("{message}");
}

/// FNV-1a, for stable case names.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn slug(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    clip(out.trim_matches('-'), max).replace('…', "")
}

/// The folder of offline cases: testdata/yaml-oracle, or
/// `KSLINT_ORACLE_CASES_DIR` (to try inputs before adding them).
fn cases_dir() -> PathBuf {
    std::env::var_os("KSLINT_ORACLE_CASES_DIR")
        .map_or_else(|| common::root().join(CASES), PathBuf::from)
}

/// What a difference is about, without where: the message of the side
/// that fails, or the shape of what differs, with positions, names and
/// numbers taken out. Two differences with the same cause are, most
/// likely, one bug (a heuristic: the report groups by it, and bless writes
/// one case for each).
fn cause(kind: DiffKind, detail: &str, text: &str, kube: &Kube) -> String {
    let message = match kind {
        DiffKind::KslintRejects => detail
            .strip_prefix("kslint: ")
            .unwrap_or(detail)
            .split(" (at byte")
            .next()
            .unwrap_or_default()
            .to_owned(),
        DiffKind::KslintLenient => {
            let mut message = detail
                .strip_prefix("kubectl: ")
                .unwrap_or(detail)
                .split("; kslint loads")
                .next()
                .unwrap_or_default();
            message = message.strip_prefix("error: ").unwrap_or(message);
            if let Some(rest) = message.strip_prefix("error parsing ") {
                message = rest.split_once(": ").map_or(rest, |(_, m)| m);
            }
            for prefix in ["error converting YAML to JSON: ", "yaml: "] {
                message = message.strip_prefix(prefix).unwrap_or(message);
            }
            if let Some(rest) = message.strip_prefix("line ") {
                message = rest.split_once(": ").map_or(rest, |(_, m)| m);
            }
            // The offending value is not the cause.
            let general = [
                "invalid map key",
                "cannot decode",
                "invalid Yaml document separator",
                "unsupported value",
            ];
            match general.iter().find(|g| message.contains(*g)) {
                Some(general) => (*general).to_owned(),
                None => message
                    .split(", key:")
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            }
        }
        DiffKind::ValuesDiffer => {
            let view = View::of(text);
            match kube {
                Kube::Accepted(objects)
                    if view.outside.is_empty() && objects.len() == view.objects.len() =>
                {
                    objects
                        .iter()
                        .zip(&view.objects)
                        .find_map(|(k, m)| difference_shape(k, m))
                        .unwrap_or_default()
                }
                Kube::Accepted(_) if view.outside.is_empty() => {
                    "a different number of objects".into()
                }
                _ => "kubectl loads what kslint reads as no object".into(),
            }
        }
    };
    let message: String = message
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    format!("{}: {}", kind.slug(), clip(&message, 100))
}

/// The shape of the first difference between kubectl's value and kslint's.
fn difference_shape(kube: &J, mine: &J) -> Option<String> {
    fn kind(value: &J) -> &'static str {
        match value {
            J::Null => "null",
            J::Bool(_) => "a boolean",
            J::Num(_) => "a number",
            J::Str(_) => "a string",
            J::Arr(_) => "a list",
            J::Obj(_) => "a mapping",
        }
    }
    fn key(key: &str) -> &'static str {
        let numeric = key.trim_start_matches(['-', '+']);
        if numeric.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            "a number-like key"
        } else {
            "a key"
        }
    }
    match (kube, mine) {
        (J::Obj(a), J::Obj(b)) => {
            for (k, value) in a {
                match b.get(k) {
                    None => return Some(format!("{} only kubectl has", key(k))),
                    Some(other) => {
                        if let Some(shape) = difference_shape(value, other) {
                            return Some(shape);
                        }
                    }
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{} only kslint has", key(k)))
        }
        (J::Arr(a), J::Arr(b)) if a.len() == b.len() => {
            a.iter().zip(b).find_map(|(x, y)| difference_shape(x, y))
        }
        (J::Arr(_), J::Arr(_)) => Some("lists of different lengths".into()),
        _ if kube == mine => None,
        (J::Str(a), J::Str(b)) => Some(
            if a.trim_end_matches('\n') == b.trim_end_matches('\n') {
                "strings that differ in their final line breaks"
            } else if a.split_whitespace().collect::<String>()
                == b.split_whitespace().collect::<String>()
            {
                "strings that differ in spaces or line breaks"
            } else {
                "different strings"
            }
            .into(),
        ),
        _ => Some(format!("kubectl {} vs kslint {}", kind(kube), kind(mine))),
    }
}

/// The offline cases: each input's name and text, and kubectl's answer.
fn offline_cases(dir: &Path, failures: &mut Vec<String>) -> Vec<(String, String, Kube)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut cases = Vec::new();
    for path in &names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".yaml") else {
            let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
            if !matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("json" | "rejected" | "md")
            ) || (name != "README.md" && !dir.join(format!("{stem}.yaml")).is_file())
            {
                failures.push(format!("{name}: belongs to no NAME.yaml"));
            }
            continue;
        };
        let text = String::from_utf8(std::fs::read(path).unwrap())
            .unwrap_or_else(|_| panic!("{name} is not UTF-8"));
        let json = dir.join(format!("{stem}.json"));
        let rejected = dir.join(format!("{stem}.rejected"));
        let kube = match (json.is_file(), rejected.is_file()) {
            (true, false) => {
                let values = parse_json_values(&std::fs::read_to_string(&json).unwrap())
                    .unwrap_or_else(|e| panic!("{stem}.json: {e}"));
                let objects = match values.as_slice() {
                    [J::Arr(items)] => items.clone(),
                    [object] => vec![object.clone()],
                    _ => panic!("{stem}.json holds more than one value"),
                };
                Kube::Accepted(objects.into_iter().map(normalise).collect())
            }
            (false, true) => Kube::Rejected(std::fs::read_to_string(&rejected).unwrap()),
            _ => {
                failures.push(format!(
                    "{name}: needs exactly one of {stem}.json, {stem}.rejected"
                ));
                continue;
            }
        };
        cases.push((name, text, kube));
    }
    cases
}

/// Writes, for each cause of difference ([`cause`]) that no offline case
/// shows yet, its smallest input as an offline case with kubectl's answer.
fn bless(diffs: &[Difference]) {
    let dir = cases_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let mut known = BTreeSet::new();
    for (_, text, kube) in offline_cases(&dir, &mut Vec::new()) {
        if let Verdict::Diff(kind, detail) = judge(&View::of(&text), &kube) {
            known.insert(cause(kind, &detail, &text, &kube));
        }
    }
    let mut smallest: BTreeMap<String, &Difference> = BTreeMap::new();
    for d in diffs {
        let entry = smallest
            .entry(cause(d.kind, &d.detail, &d.text, &d.kube))
            .or_insert(d);
        if d.text.len() < entry.text.len() {
            *entry = d;
        }
    }
    for (cause, d) in smallest {
        if known.contains(&cause) {
            continue;
        }
        let hash = format!("{:08x}", fnv(&d.text) as u32);
        let name = format!("{}-{hash}", slug(&cause, 70));
        std::fs::write(dir.join(format!("{name}.yaml")), &d.text).unwrap();
        write_expected(&dir, &name, &d.kube);
        eprintln!(
            "blessed {}/{name}.yaml ({}: {})",
            dir.display(),
            d.origin,
            d.signature
        );
    }
}

/// Writes kubectl's answer for case `name`: `name.json` or `name.rejected`.
fn write_expected(dir: &Path, name: &str, kube: &Kube) {
    match kube {
        Kube::Rejected(why) => {
            std::fs::write(dir.join(format!("{name}.rejected")), format!("{why}\n")).unwrap()
        }
        Kube::Accepted(objects) => {
            let value = match objects.as_slice() {
                [one] => one.clone(),
                _ => J::Arr(objects.clone()),
            };
            let mut text = String::new();
            value.write(&mut text, Some(2));
            text.push('\n');
            std::fs::write(dir.join(format!("{name}.json")), text).unwrap();
        }
    }
}

// ------------------------------------------------------------------ offline

#[test]
fn offline_cases_decode_as_kubectl_decoded_them() {
    let dir = cases_dir();
    // In bless mode, a new NAME.yaml gets kubectl's answer.
    if std::env::var_os("KSLINT_BLESS_ORACLE").is_some()
        && let Some(tool) = common::tool("kubectl")
    {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".yaml")
                && !dir.join(format!("{stem}.json")).is_file()
                && !dir.join(format!("{stem}.rejected")).is_file()
            {
                let kube = kubectl(&tool, &[(path.clone(), name.clone())]).kube();
                write_expected(&dir, stem, &kube);
                eprintln!("blessed {}", path.display());
            }
        }
    }
    let mut failures = Vec::new();
    let cases = offline_cases(&dir, &mut failures);
    let checked = cases.len();
    for (name, text, kube) in cases {
        let view = View::of(&text);
        match judge(&view, &kube) {
            Verdict::Equal | Verdict::Empty | Verdict::BothReject => {}
            Verdict::Outside => failures.push(format!(
                "{name}: kslint reads {} (an offline case must be an object)",
                view.outside.join("; ")
            )),
            Verdict::Diff(kind, detail) => {
                let difference = Difference {
                    kind,
                    detail: detail.clone(),
                    origin: name.clone(),
                    signature: String::new(),
                    text: text.clone(),
                    kube: kube.clone(),
                };
                if allowed(&difference).is_none() {
                    failures.push(format!(
                        "{name}: {}\n  {detail}\n  kubectl {}\n  input:\n{}",
                        kind.describe(),
                        show_kube(&kube),
                        show_input(&text)
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "no cases in {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} of {checked} offline case(s) in {} fail:\n\n{}",
        failures.len(),
        dir.display(),
        failures.join("\n\n")
    );
}

// ------------------------------------------------------------------- corpus

/// Files under a `templates/` folder holding `{{` are Helm templates, not
/// YAML until rendered.
fn is_helm_template(relative: &str, text: &str) -> bool {
    relative.split('/').any(|part| part == "templates") && text.contains("{{")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn corpus_documents_decode_as_kubectl_decodes_them() {
    let Some(kubectl) = common::tool("kubectl") else {
        return;
    };
    let Some(corpus) = common::corpus() else {
        return;
    };
    let started = Instant::now();
    let mut files = Vec::new();
    yaml_files(&corpus, &mut files);
    let (mut templates, mut not_utf8) = (0, 0);
    let mut whole = Vec::new();
    for path in &files {
        let relative = path
            .strip_prefix(&corpus)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let Ok(text) = String::from_utf8(std::fs::read(path).unwrap()) else {
            not_utf8 += 1;
            continue;
        };
        if is_helm_template(&relative, &text) {
            templates += 1;
            continue;
        }
        let several = chunk_ranges(&text).len() > 1;
        whole.push(Unit::unviewed(Some(path.clone()), text, |i, _| {
            let origin = if several {
                format!("{relative} (document {})", i + 1)
            } else {
                relative.clone()
            };
            (origin, "corpus".into())
        }));
    }
    let units = with_views(whole);
    let documents: usize = units.iter().map(|u| u.chunks.len()).sum();
    let summary = format!(
        "{} YAML files ({templates} Helm templates and {not_utf8} non-UTF-8 files left out), \
         {documents} documents",
        files.len()
    );
    let tally = check_all(&kubectl, batches(units, 32, 1 << 20));
    report("corpus", &summary, tally, started);
}

// ---------------------------------------------------------------- generator

/// SplitMix64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Real-looking manifests the generator starts from.
fn base_manifests() -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop",
                "labels": {"app": "web", "tier": "frontend", "version": "1.0"},
                "annotations": {"example.com/config": "{\"a\": 1}", "note": "it's fine"}},
            "spec": {"serviceAccountName": "web", "automountServiceAccountToken": false,
                "hostNetwork": false,
                "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "fsGroup": 2000,
                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": "web", "image": "nginx:1.27",
                    "args": ["--port=8080", "--log-level", "debug"],
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "MODE", "value": "production"}, {"name": "RATIO", "value": "0.5"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"},
                        "requests": {"cpu": 0.25, "memory": "64Mi"}},
                    "securityContext": {"privileged": false, "allowPrivilegeEscalation": false,
                        "readOnlyRootFilesystem": true,
                        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
                    "volumeMounts": [{"name": "config", "mountPath": "/etc/web", "readOnly": true}]}],
                "volumes": [{"name": "config", "configMap": {"name": "web-config", "defaultMode": 420}}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "labels": {"app": "api"}},
            "spec": {"replicas": 3, "revisionHistoryLimit": 5,
                "selector": {"matchLabels": {"app": "api"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                "template": {"metadata": {"labels": {"app": "api"}, "annotations": {"prometheus.io/scrape": "true"}},
                    "spec": {"hostPID": false, "containers": [{"name": "api", "image": "ghcr.io/example/api@sha256:0123abcd",
                        "command": ["/bin/sh", "-c", "exec api --config /etc/api/config.yaml"],
                        "env": [{"name": "DEBUG", "value": "false"}, {"name": "PORT", "value": "8080"}],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                            "initialDelaySeconds": 10, "periodSeconds": 5.5},
                        "securityContext": {"runAsUser": 0, "privileged": true}}]}}}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web-config", "namespace": "shop"},
            "data": {"nginx.conf": "server {\n  listen 8080;\n  location / {\n    root /srv;\n  }\n}\n",
                "script.sh": "#!/bin/sh\necho \"start\" && exec nginx -g 'daemon off;'",
                "flag": "true", "mode": "0644", "empty": "", "ratio": "1e3"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "reader", "labels": {"rbac.example.com/aggregate": "true"}},
            "rules": [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["*"]},
                {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "backup"},
            "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid", "suspend": false,
                "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": {
                    "restartPolicy": "OnFailure",
                    "containers": [{"name": "backup", "image": "busybox:1.36",
                        "command": ["sh", "-c", "tar czf /backup/data.tgz /data && echo done"],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                    "volumes": [{"name": "data", "hostPath": {"path": "/var/lib/data", "type": "Directory"}}]}}}}}}),
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "externalTrafficPolicy": "Local",
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "https", "port": 443, "targetPort": "https"}]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "allow-web"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                    "ports": [{"protocol": "TCP", "port": 443}]}],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns"}}}]}]}}),
    ]
}

/// A manifest as the generator holds it.
#[derive(Debug, Clone)]
enum G {
    Str(String),
    /// A number, boolean or null, written as is.
    Lit(String),
    Seq(Vec<G>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone)]
enum Entry {
    Kv(String, G),
    /// Lines the generator writes at this place, given the indentation.
    Snippet(Snippet),
}

#[derive(Debug, Clone)]
struct Snippet {
    template: String,
    key: String,
    anchor: String,
    /// Continuation lines' indentation, relative to the entry's.
    continuation: i64,
    /// A block scalar's explicit indentation, if its header has one.
    block_indent: Option<usize>,
    /// Extra indentation of a block scalar's content.
    block_extra: i64,
}

impl Snippet {
    fn render(&self, n: usize, w: usize) -> String {
        let col = |base: usize, delta: i64| " ".repeat((base as i64 + delta).max(0) as usize);
        let block = |base: usize, default: usize| {
            col(
                base,
                self.block_indent.unwrap_or(default) as i64 + self.block_extra,
            )
        };
        self.template
            .replace("$I", &" ".repeat(n))
            .replace("$J", &" ".repeat(n + w))
            .replace("$L", &" ".repeat(n + 2 * w))
            .replace("$C", &col(n, self.continuation))
            .replace("$D", &col(n + w, self.continuation))
            .replace("$B", &block(n, w))
            .replace("$E", &block(n + w, 2))
            .replace("$K", &self.key)
            .replace("$A", &self.anchor)
            .replace("$T", "\t")
    }
}

fn to_g(value: &serde_json::Value) -> G {
    use serde_json::Value as V;
    match value {
        V::Null => G::Lit("null".into()),
        V::Bool(b) => G::Lit(b.to_string()),
        V::Number(n) => G::Lit(n.to_string()),
        V::String(s) => G::Str(s.clone()),
        V::Array(items) => G::Seq(items.iter().map(to_g).collect()),
        V::Object(map) => G::Map(
            map.iter()
                .map(|(k, v)| Entry::Kv(k.clone(), to_g(v)))
                .collect(),
        ),
    }
}

/// A family of constructs: templates (`$I` the entry's indentation, `$J`
/// and `$L` one and two levels deeper, `$C`/`$D` a continuation line's
/// indentation from `$I`/`$J`, `$B`/`$E` a block scalar's content from
/// `$I`/`$J`, `$K` a fresh key, `$A` a fresh anchor, `$T` a tab, `$V`/`$W`
/// values from `values`, `$X` a key as long as `$V` says).
struct Family {
    name: &'static str,
    weight: usize,
    templates: &'static [&'static str],
    values: &'static [&'static str],
}

const YAML11: &[&str] = &[
    "on",
    "off",
    "yes",
    "no",
    "y",
    "n",
    "Y",
    "N",
    "On",
    "OFF",
    "True",
    "FALSE",
    "tRUE",
    "0644",
    "0o644",
    "0O17",
    "0777",
    "08",
    "09",
    "0_7",
    "1_000",
    "1__0",
    "_1",
    "1_",
    "0x1F",
    "0X1f",
    "-0x1F",
    "+0x1F",
    "0x_1F",
    "0x",
    "0o",
    "0b101",
    "0B11",
    "-0b11",
    "0b_1",
    "0b2",
    ".5",
    "-.5",
    "+.5",
    "1.",
    "-1.",
    "0.",
    "1.e3",
    ".e3",
    "1e3",
    "1E3",
    "1e+3",
    "1e-3",
    "1.5e-7",
    "1e21",
    "1e20",
    "1e6",
    "1e400",
    "-1e400",
    "1e-400",
    "12e",
    "1_0.5",
    "._5",
    ".5_0",
    "3.14159265358979323846",
    "0.1",
    "1.0",
    "-0",
    "-0.0",
    "+0",
    "+1",
    "-1",
    "++1",
    "+-1",
    "1:20",
    "190:20:30",
    "-1:20",
    "1:2.5",
    ".inf",
    "-.inf",
    "+.inf",
    ".Inf",
    ".INF",
    ".iNF",
    ".nan",
    ".NaN",
    ".NAN",
    "nan",
    "inf",
    "Infinity",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "2002-12-14T00:00:00Z",
    "12:30:45",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "100000000000000000000",
    "123456789012345678901234567890",
    "0x8000000000000000",
    "0xFFFFFFFFFFFFFFFF",
    "0x10000000000000000",
    "-0x8000000000000000",
    "07777777777777777777777",
    "9007199254740993",
    "9007199254740993.0",
    "1_000_000",
    "1,000",
    "1/2",
    "=",
    "<<",
    "0.1e1",
    "1e0",
    "+.inf",
    "0x1p3",
    "1_2_3",
    "0b1_0",
    "-0o17",
    "0o8",
];

const KEYS: &[&str] = &[
    "1",
    "-1",
    "0",
    "0644",
    "0x1F",
    "1_000",
    "1.5",
    "0.1",
    "1.0",
    "1e3",
    "1e6",
    "1e20",
    "1e-5",
    "0.0001",
    "3.14159265358979",
    "16777217.0",
    "123456789.0",
    "100000.5",
    ".5",
    "-.5",
    ".inf",
    "-.inf",
    ".nan",
    "on",
    "off",
    "yes",
    "y",
    "n",
    "true",
    "False",
    "~",
    "null",
    "Null",
    "\"\"",
    "''",
    "2001-12-14",
    "18446744073709551615",
    "9223372036854775807",
    "9223372036854775808",
    "-0",
    "+1",
    "1:20",
    "[a]",
    "[a, b]",
    "{a: 1}",
    "[]",
    "{}",
    "!!str 1",
    "!!int \"7\"",
    "\"~\"",
    "'1'",
    "\"1.5\"",
    "!!float 1",
    "!!binary aGk=",
    "!!null x",
    "*x",
    "&k k",
    "? x",
    "- x",
    "a b",
    "\"a\\nb\"",
    "1e400",
    "0x8000000000000000",
    "-9223372036854775809",
];

const TAGGED: &[&str] = &[
    "!!str 1",
    "!!str true",
    "!!str ~",
    "!!str",
    "!!str 0644",
    "!!int \"3\"",
    "!!int '0x1F'",
    "!!int 0644",
    "!!int \"abc\"",
    "!!int 1.5",
    "!!int 1e3",
    "!!float 1",
    "!!float \"1.5\"",
    "!!float .inf",
    "!!float abc",
    "!!bool yes",
    "!!bool \"on\"",
    "!!bool 1",
    "!!null \"\"",
    "!!null ~",
    "!!null x",
    "!!binary aGVsbG8=",
    "!!binary \"aGVs bG8=\"",
    "!!binary !!!",
    "!!binary \"\"",
    "!!timestamp 2001-12-14",
    "!!timestamp x",
    "!foo x",
    "!foo 1",
    "!foo true",
    "!foo ~",
    "! 1",
    "! on",
    "! x",
    "!<tag:yaml.org,2002:str> 1",
    "!<tag:yaml.org,2002:int> \"12\"",
    "!<!bar> 1",
    "!!seq [a]",
    "!!map {a: 1}",
    "!!str [a]",
    "!!map [a]",
    "!!seq {a: 1}",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!pairs [a: 1]",
    "!!merge x",
    "!!python/str x",
    "!!value =",
    "!!foo x",
    "!!Str 1",
    "!e!foo x",
    "!!int",
    "!!bool",
    "!!float",
    "!<tag:yaml.org,2002:bool> yes",
    "!!str !!int 1",
    "!foo!bar x",
    "!!int -0x1F",
    "!!int 0b11",
    "!!float 0x1F",
    "!!int 1_000",
    "!!float 1_0.5",
];

const QUOTED: &[&str] = &[
    "'it''s'",
    "\"a\\tb\"",
    "\"a\tb\"",
    "\"\\x41\\u00e9\\U0001F600\"",
    "\"\\N\\_\\L\\P\"",
    "\"\\/\"",
    "\"\\e\\a\\v\\0\\b\\f\\r\"",
    "\"\\ \"",
    "\"\\\"\"",
    "\"a\\\\b\"",
    "''",
    "\"\"",
    "\"#x\"",
    "'a #b'",
    "\"\\x4\"",
    "\"\\u12\"",
    "\"\\q\"",
    "\"\\U00110000\"",
    "\"\\uD800\"",
    "\"\\x80\"",
    "'a\\nb'",
    "\"\\'\"",
    "\"\\\t\"",
    "'line''s'''",
    "\"}\"",
    "'0644'",
    "\"on\"",
    "\"1e3\"",
    "'~'",
    "\"\\u0000\"",
    "\"\\x7f\"",
    "\"a\\\nb\"",
    "\" lead\"",
    "'trail '",
    "\"\\ud83d\\ude00\"",
    "\"\\U0001f600\"",
    "'\"'",
    "\"'\"",
    "'a''''b'",
    "\"\\\\\"",
    "\"\\u00e9\"",
    "\"\\u00E9\"",
    "\"\\xe9\"",
];

const PLAIN_ODD: &[&str] = &[
    "a#b",
    "a #b",
    "http://x:80/a",
    "a:b",
    "a: b",
    ":a",
    "-a",
    "?a",
    "@a",
    "`a",
    "%a",
    "!a",
    "&a",
    "*a",
    "|a",
    ">a",
    "a,b",
    "[a",
    "]a",
    "{a",
    "}a",
    "a]",
    "a}",
    "a,",
    "a!",
    "a&",
    "a*",
    "a|",
    "a>",
    "a'",
    "a\"",
    "'a'b",
    "\"a\"b",
    "~a",
    "a~",
    "=",
    "a  ",
    "a\t",
    "a  b",
    "-",
    "--",
    "---a",
    "...a",
    "a...",
    "a:",
    "a::b",
    "::",
    "?",
    ":",
    "- a",
    "? a",
    ": a",
    "a ? b",
    "a - b",
    "a -b",
    "a\\b",
    "a\\",
    "\\",
    "%",
    "a%",
    "<<",
    "<<a",
    "a<<",
    "0x1F-1",
    "1-2",
    "1.2.3",
    "v1.0",
    "1e3x",
    "true!",
    "no-",
    "Yes.",
    "~~",
    "null0",
    ".",
    "..",
    "-.",
    "+",
    "+a",
    ".a",
];

const BLOCK_HEADERS: &[&str] = &[
    "|", "|-", "|+", ">", ">-", ">+", "|2", "|1", "|4", ">2", "|2-", "|-2", ">+1", ">1-", "| # c",
    ">- # c", "|#c", "|0", "|10", "|  ", "|-  # c", ">$T# c", "|+ ", "|-+", "||",
];

const FAMILIES: &[Family] = &[
    Family {
        name: "yaml11",
        weight: 12,
        templates: &[
            "$I$K: $V\n",
            "$I$K:\n$J- $V\n$J- $W\n",
            "$I$K: [$V, $W]\n",
            "$I$K: {a: $V}\n",
            "$I$K:\n$J$V\n",
            "$I$K: &$A $V\n$I$Kc: *$A\n",
            "$I$K: $V # c\n",
            "$I$K:\n$J$V: x\n",
        ],
        values: YAML11,
    },
    Family {
        name: "keys",
        weight: 7,
        templates: &[
            "$I$K:\n$J$V: v\n",
            "$I$K: {$V: v}\n",
            "$I$K:\n$J? $V\n$J: v\n",
            "$I$K:\n$J$V:\n$L- v\n",
        ],
        values: KEYS,
    },
    Family {
        name: "tags",
        weight: 9,
        templates: &[
            "$I$K: $V\n",
            "$I$K:\n$J- $V\n",
            "$I$K: [$V]\n",
            "$I$K: $V\n$I$Kb: x\n",
            "$I$K: !!binary |\n$JaGVsbG8g\n$Jd29ybGQ=\n",
            "$I$K: !!str |\n$J1\n",
            "$I$K: !foo\n$Ja: 1\n",
            "$I$K: !!map\n$Ja: 1\n",
            "$I$K: !!seq\n$J- a\n",
            "$I$K: !!str\n$Ja: 1\n",
            "$I$K: !!omap\n$J- a: 1\n",
            "$I$K: !!set\n$J? a\n$J? b\n",
            "$I$K: !!null\n$Ja: 1\n",
            "$I$K: !!int |\n$J12\n",
            "$I$K: !foo [1, on]\n",
        ],
        values: TAGGED,
    },
    Family {
        name: "quoted",
        weight: 6,
        templates: &[
            "$I$K: $V\n",
            "$I$K: [$V]\n",
            "$I$K:\n$J- $V\n",
            "$I$K:\n$J$V: x\n",
        ],
        values: QUOTED,
    },
    Family {
        name: "plain",
        weight: 6,
        templates: &[
            "$I$K: $V\n",
            "$I$K:\n$J- $V\n",
            "$I$K: [$V]\n",
            "$I$K:\n$J$V: x\n",
        ],
        values: PLAIN_ODD,
    },
    Family {
        name: "multiline-plain",
        weight: 5,
        templates: &[
            "$I$K: w1 w2\n$Cw3\n",
            "$I$K: w1\n\n$Cw2\n",
            "$I$K: w1\n$Cw2\n$Cw3 # c\n",
            "$I$K:\n$J- w1\n$Dw2\n",
            "$I$K: w1\n$C- w2\n",
            "$I$K: w1\n$Ck: v\n",
            "$I$K: w1\n$C#w2\n",
            "$I$K: w1\n$C  w2  \n",
            "$I$K:\n$Jw1\n$Dw2\n",
            "$I$K: w1\n$C\n$Cw2\n",
            "$I$K: w1:\n$Cw2\n",
            "$I$K: http://a\n$C/b\n",
            "$I$K: w1\n$C$Tw2\n",
            "$I$K: [w1\n$Cw2]\n",
        ],
        values: &[],
    },
    Family {
        name: "multiline-double",
        weight: 6,
        templates: &[
            "$I$K: \"w1\n$Cw2\"\n",
            "$I$K: \"w1 \\\n$Cw2\"\n",
            "$I$K: \"w1\\\n$C  w2\"\n",
            "$I$K: \"w1\n\n$Cw2\"\n",
            "$I$K: \"w1\n$C\n$Cw2\"\n",
            "$I$K: \"w1   \n$C   w2\"\n",
            "$I$K: \"w1\n$T$Cw2\"\n",
            "$I$K: \"\n$Cw1\n$C\"\n",
            "$I$K:\n$J- \"w1\n$Dw2\"\n",
            "$I$K:\n$J- \"--a \\\n$D--b\"\n",
            "$I$K: \"w1\n--- w2\"\n",
            "$I$K: \"w1\n... w2\"\n",
            "$I$K: \"w1\n$C# not a comment\"\n",
            "$I$K: {a: \"w1\n$Cw2\"}\n",
            "$I$K: \"w1\n$C\\tw2\"\n",
            "$I$K:\n$J\"w1\n$Dw2\": v\n",
            "$I$K: \"w1\n$Cw2\n$Cw3\"\n",
            "$I$K:\n$J\"w1\n$Dw2\"\n",
        ],
        values: &[],
    },
    Family {
        name: "multiline-single",
        weight: 4,
        templates: &[
            "$I$K: 'w1\n$Cw2'\n",
            "$I$K: 'w1\n\n$Cw2'\n",
            "$I$K: 'it''s\n$Cw2'\n",
            "$I$K: 'w1   \n$C   w2'\n",
            "$I$K:\n$J- 'w1\n$Dw2'\n",
            "$I$K: 'w1\n$C# x'\n",
            "$I$K: 'w1\n$T$Cw2'\n",
            "$I$K: ['w1\n$Cw2']\n",
            "$I$K: 'w1\\\n$Cw2'\n",
            "$I$K: 'w1\n$C\n$Cw2'\n",
        ],
        values: &[],
    },
    Family {
        name: "block",
        weight: 9,
        templates: &[
            "$I$K: $V\n$Bl1\n$Bl2\n",
            "$I$K: $V\n$Bl1\n\n$Bl2\n\n\n",
            "$I$K: $V\n$Bl1\n$B  more\n$Bl3\n",
            "$I$K: $V\n\n$Bl1\n",
            "$I$K: $V\n$B  lead\n$Bl2\n",
            "$I$K: $V\n$Bl1\n$B \n$Bl2\n",
            "$I$K: $V\n$Bl1\n$B$Tt\n",
            "$I$K: $V\n$Bl1\n$I# c\n$Bl2\n",
            "$I$K: $V\n$Bl1\n# col0\n$Bl2\n",
            "$I$K: $V\n$Bl1\n$B# hash\n",
            "$I$K: $V\n$Ba\n$B  b\n$Bc\n\n$B  d\n$Be\n",
            "$I$K: $V\n",
            "$I$K: $V\n$I$Kb: x\n",
            "$I$K:\n$J- $V\n$El1\n$El2\n$J- x\n",
            "$I$K: $V\n\n$B   \n$Bl1\n",
            "$I$K: $V\n$B  \n$B    \n$Bl1\n",
            "$I$K: $V\n$Bl1\n$B\n",
            "$I$K: $V\n$Bl1\n  \n",
            "$I$K: $V\n$B---x\n$B...\n",
            "$I$K: [$V]\n",
            "$I$K: $V\n$Bl1\n$B\n$I$Kb: x\n",
        ],
        values: BLOCK_HEADERS,
    },
    Family {
        name: "anchors",
        weight: 6,
        templates: &[
            "$I$K: &$A v1\n$I$Kc: *$A\n",
            "$I$K: &$A\n$Jk1: v1\n$Jk2: [1, 2]\n$I$Kc: *$A\n",
            "$I$K:\n$J- &$A x\n$J- *$A\n",
            "$I$K: &$A kname\n$I$Km:\n$J*$A : v\n",
            "$I$K: &$A kname\n$I$Km:\n$J*$A: v\n",
            "$I$K: &$A one\n$I$Kb: &$A two\n$I$Kc: *$A\n",
            "$I$K: *$Anope\n",
            "$I$K: &$A\n$I$Kc: *$A\n",
            "$I$K: &$A.x v\n$I$Kc: *$A.x\n",
            "$I$K: &$A/x v\n$I$Kc: *$A/x\n",
            "$I$K: &$A:x v\n$I$Kc: *$A:x\n",
            "$I$K: [&$A v, *$A]\n",
            "$I$K: {a: &$A v, b: *$A}\n",
            "$I$K: [&$A v, *$A]\n",
            "$I$K: &$A [1, 2]\n$I$Kc:\n$J- *$A\n$J- *$A\n",
            "$I$K: & v\n",
            "$I$K: &$A &$Ab v\n",
            "$I$K: &$A !!str 1\n$I$Kc: *$A\n",
            "$I$K: !!str &$A 1\n$I$Kc: *$A\n",
            "$I$K: *$A\n$I$Kc: &$A v\n",
            "$I$K: {*$A : v}\n",
            "$I$K: &$A 0644\n$I$Kc: [*$A, *$A]\n",
            "$I$K: &$A \"0644\"\n$I$Kc: *$A\n",
            "$I$K: &$A yes\n$I$Kc:\n$J*$A : *$A\n",
            "$I$K: &$A,x v\n$I$Kc: [*$A,x]\n",
            "$I$K: &$A] v\n$I$Kc: *$A]\n",
        ],
        values: &[],
    },
    Family {
        name: "merge",
        weight: 7,
        templates: &[
            "$I$Kb: &$A\n$Jx: 1\n$Jy: 2\n$I$K:\n$J<<: *$A\n$Jy: 20\n",
            "$I$Kb: &$A\n$Jx: 1\n$Jy: 2\n$I$K:\n$Jy: 20\n$J<<: *$A\n",
            "$I$Kb: &$A {x: 1, y: 2}\n$I$Kc: &$Ac {y: 3, z: 4}\n$I$K:\n$J<<: [*$A, *$Ac]\n",
            "$I$Kb: &$A {x: 1, y: 2}\n$I$Kc: &$Ac {y: 3, z: 4}\n$I$K:\n$Jz: 9\n$J<<: [*$Ac, *$A]\n",
            "$I$K:\n$J<<: {x: 1}\n$Jy: 2\n",
            "$I$K:\n$J<<: [{x: 1}, {x: 2, y: 3}]\n",
            "$I$Kb: &$A 5\n$I$K:\n$J<<: *$A\n",
            "$I$K:\n$J<<: 1\n",
            "$I$K:\n$J<<: ~\n",
            "$I$K:\n$J<<: []\n",
            "$I$Kb: &$A [1]\n$I$K:\n$J<<: *$A\n",
            "$I$Kb: &$A {x: 1}\n$I$K: {<<: *$A, y: 2}\n",
            "$I$Kb: &$A {x: 1}\n$I$K:\n$J\"<<\": *$A\n",
            "$I$Kb: &$A {x: 1}\n$I$K:\n$J'<<': *$A\n",
            "$I$Kb: &$A {x: 1}\n$I$K:\n$J!!merge <<: *$A\n",
            "$I$Kb: &$A {x: 1}\n$I$K:\n$J<<: *$A\n$J<<: {y: 2}\n",
            "$I$Kb: &$A {x: 1}\n$I$K:\n$Jx: 0\n$J<<: *$A\n$Jx: 2\n",
            "$I$Kb: &$A\n$Jx: 1\n$J<<: {w: 1}\n$I$K:\n$J<<: *$A\n",
            "$I$Kb: &$A {x: {deep: 1}}\n$I$K:\n$J<<: *$A\n$Jx: {other: 2}\n",
            "$I$K:\n$J<<: [*$Amissing]\n",
            "$I$K:\n$J<< : {x: 1}\n",
            "$I$Kb: &$A {x: 1}\n$I$K:\n$J- <<: *$A\n$J  y: 2\n",
            "$I$Kb: &$A {x: 1}\n$I$K:\n$J<<: [*$A, 3]\n",
            "$I$Kb: &$A {x: 1}\n$I$K: {y: 0, <<: *$A}\n",
            "$I$Kb: &$A {x: 1}\n$I$K:\n$J<<: [*$A]\n$Jx: 5\n",
            "$I$Kb: &$A {1: a, on: b}\n$I$K:\n$J<<: *$A\n",
            "$I$Kb: &$A {x: 1}\n$I$Kc: &$Ac {<<: *$A, y: 2}\n$I$K:\n$J<<: *$Ac\n$Jx: 3\n",
        ],
        values: &[],
    },
    Family {
        name: "flow",
        weight: 8,
        templates: &[
            "$I$K: [a, b, c]\n",
            "$I$K: [a, b,]\n",
            "$I$K: {a: 1, b: 2,}\n",
            "$I$K: {a, b}\n",
            "$I$K: {a: , b: }\n",
            "$I$K: [a: 1, b]\n",
            "$I$K: {\"a\":1, 'b':2}\n",
            "$I$K: {\"a\":1,\"b\":[x,y]}\n",
            "$I$K: [a, [b, {c: d}]]\n",
            "$I$K: {? a : b}\n",
            "$I$K: [? a : b]\n",
            "$I$K: [a,,b]\n",
            "$I$K: {a: 1\n",
            "$I$K: [a] x\n",
            "$I$K: [a,\n$Cb]\n",
            "$I$K: [\n$Ca,\n$Cb\n$C]\n",
            "$I$K: {a: 1,\n$Cb: 2}\n",
            "$I$K: [a, # c\n$Cb]\n",
            "$I$K: [a\n$Cb]\n",
            "$I$K: [\"a\n$Cb\"]\n",
            "$I$K: {a: [1,\n$C2], b: {c:\n$Cd}}\n",
            "$I$K: [http://x, a:b, a: b]\n",
            "$I$K: {a:b}\n",
            "$I$K: {\"a\":b}\n",
            "$I$K: [a]]\n",
            "$I$K: [ ]\n",
            "$I$K: [-a, - b]\n",
            "$I$K: [a, {b: c]\n",
            "$I$K:\n$J[a, b]\n",
            "$I$K:\n$J{a: 1,\n$Db: 2}\n",
            "$I$K: [a, b]  # c\n",
            "$I$K: [a, b]# c\n",
            "$I$K: {a: 1, a: 2}\n",
            "$I$K: [{a: 1}, {b: 2}]\n",
            "$I$K: { a : 1 }\n",
            "$I$K: {a :1}\n",
            "$I$K: [a , b ]\n",
            "$I$K: [ \"a\" , 'b' ]\n",
            "$I$K: {a: \"x\"y}\n",
            "$I$K: [a: b: c]\n",
            "$I$K: [a, b\n$C, c]\n",
            "$I$K: {a: 1}\n$C# c\n",
            "$I$K: [a, b]\n$Cc\n",
            "$I$K: {\n$C}\n",
            "$I$K: [a, 'b\n$Cc', d]\n",
            "$I$K: {a: [b, c], d: {e: f}}\n",
            "$I$K: [1, 0644, on, ~, 1e3]\n",
            "$I$K: {1: a, on: b, ~: c}\n",
            "$I$K: [a,b,c]\n",
            "$I$K: {a:1}\n",
            "$I$K: {a: 1, b: [2, 3], c: {d: 4}}\n",
            "$I$K: [a,\n$Cb,\n$Cc,\n$C]\n",
        ],
        values: &[],
    },
    Family {
        name: "comments",
        weight: 5,
        templates: &[
            "$I$K: # c\n$Jv\n",
            "$I$K: # c\n$Jk: v\n",
            "$I$K:\n$J- a # c\n# col0\n$J- b\n",
            "$I$K: a#b\n",
            "$I$K: \"a\"#b\n",
            "$I$K: 'a' # c\n",
            "$I$K: | # c\n$Jtext\n$I# after\n",
            "$I$K: a\n$J# c\n$Jb\n",
            "$I$K:\n$J-\n$L# c\n$Lv\n",
            "$I$K: a$T# c\n",
            "$I$K:\n$J-# c\n",
            "$I$K: [a, # c\n$Jb]\n",
            "$I$K: # c\n\n# c2\n$J- v\n",
            "$I# c\n$I$K: v\n",
            "$I$K: v # c: d\n",
            "$I$K: v #\n",
            "$I$K: v ##\n",
            "$I$K:#c\n",
            "$I$K: >\n$Ja\n$J#b\n$Jc\n",
            "$I$K:\n$J# only a comment\n",
            "$I$K: \"a\" # c\n",
            "$I#$K: commented out\n",
            "$I$K: # c\n$I$Kb: x\n",
            "$I$K: a # c\n$J b\n",
        ],
        values: &[],
    },
    Family {
        name: "tabs",
        weight: 4,
        templates: &[
            "$I$K:$Tv\n",
            "$I$K: v$T\n",
            "$I$K: a$Tb\n",
            "$I$K:\n$J-$Tv\n",
            "$I$K$T: v\n",
            "$I$K: [a,$Tb]\n",
            "$I$K: {a:$Tb}\n",
            "$I$K: \"a\n$T$Cb\"\n",
            "$I$K:\n$T$Ja: 1\n",
            "$I$K:\n$Ja:$T1\n$Jb:$T2\n",
            "$I$K: |\n$J$Ta\n$Jb\n",
            "$I$K:$T# c\n$Jv\n",
            "$I$K: 'a$Tb'\n",
            "$I$K: $T\n",
            "$I$K:\n$J- a\n$T$J- b\n",
            "$I$K: $Tv\n",
            "$I$K:$T[a, b]\n",
            "$I$K:$T{a: 1}\n",
            "$I$K:$T|\n$Jx\n",
            "$I$K:$T&$A v\n",
        ],
        values: &[],
    },
    Family {
        name: "long-key",
        weight: 2,
        templates: &[
            "$I$K:\n$J$X: v\n",
            "$I$K:\n$J\"$X\": v\n",
            "$I$K: {$X: v}\n",
            "$I$K:\n$J? $X\n$J: v\n",
            "$I$K: $X\n",
            "$I$K:\n$J- $X: v\n",
            "$I$K:\n$J'$X': v\n",
        ],
        values: &["1000", "1023", "1024", "1025", "1030", "2000"],
    },
    Family {
        name: "duplicate-keys",
        weight: 3,
        templates: &[
            "$I$K:\n$Ja: 1\n$Ja: 2\n",
            "$I$K:\n$Ja: 1\n$J\"a\": 2\n",
            "$I$K:\n$J'a': 1\n$Ja: 2\n$Jb: 3\n",
            "$I$K:\n$J1: x\n$J0x1: y\n",
            "$I$K:\n$Jyes: x\n$Jon: y\n",
            "$I$K: {a: 1, a: 2}\n",
            "$I$K:\n$Ja: {x: 1}\n$Ja: {y: 2}\n",
            "$I$K:\n$Ja: 1\n$Jb: 2\n$Ja: 3\n",
            "$I$K: 1\n$I$K: 2\n",
            "$I$K:\n$J~: 1\n$Jnull: 2\n",
        ],
        values: &[],
    },
    Family {
        name: "indentation",
        weight: 5,
        templates: &[
            "$I$K:\n$I- a\n$I- b\n",
            "$I$K:\n$J- - a\n$J  - b\n$J- c\n",
            "$I$K:\n$J-   a: 1\n$J    b: 2\n",
            "$I$K:\n$J- a: 1\n$J   b: 2\n",
            "$I$K:\n$I a: 1\n$I b: 2\n",
            "$I$K:\n$J$J$Ja: 1\n",
            "$I$K:\n$Ja: 1\n$J b: 2\n",
            "$I$K:\n$Ja:\n$J- x\n",
            "$I$K: \n\n\n$Ja: 1\n",
            "$I$K:\n$J? a\n$J: 1\n",
            "$I$K:\n$J? - a\n$J  - b\n$J: 1\n",
            "$I$K:\n$J? a\n",
            "$I$K:\n$J-\n$J$Ja: 1\n",
            "$I$K:\n$J- \n$J- b\n",
            "$I$K:\n$J - a\n$J- b\n",
            "$I$K:\n$J- a\n$J - b\n",
            "$I$K:\n$J-\n$J  - a\n",
            "$I$K:\n$J- a:\n$J  - b\n",
            "$I$K:\n$J- a:\n$J    b: 1\n",
            "$I$K: - a\n",
            "$I$K:\n$J-a\n",
            "$I$K:\n$Ja: 1\n$Cb: 2\n",
            "$I$K:\n$Ja:\n$L b: 1\n$Lc: 2\n",
            "$I$K:\n$J- - - a\n",
            "$I$K: !!map\n$J? a\n$J: b\n",
        ],
        values: &[],
    },
    Family {
        name: "unicode",
        weight: 4,
        templates: &[
            "$I$K: \"a\u{2028}b\"\n",
            "$I$K: a\u{2028}b\n",
            "$I$K: a\u{85}b\n",
            "$I$K: \"a\u{85}b\"\n",
            "$I$K: \"a\u{7}b\"\n",
            "$I$K: a\u{a0}b\n",
            "$I$K: \"\u{feff}x\"\n",
            "$I$K: \u{feff}x\n",
            "$I$Ké: ü\n",
            "$I$K: 日本語\n",
            "$I$K: 😀\n",
            "$I$K: \"😀\"\n",
            "$I$K: a\u{200b}\n",
            "$I$K: 'a\u{2029}b'\n",
            "$I$K: |\n$Ja\u{2028}b\n",
            "$I$K: \"\u{1}\"\n",
            "$I$K: a\u{7f}\n",
            "$I$K: \"\u{d7ff}\u{e000}\u{fffd}\"\n",
            "$I$K: \"\u{fffe}\"\n",
            "$I$K: \"\u{10ffff}\"\n",
            "$I$K: a\u{2028}$Cb\n",
            "$I$K: \"a\u{85}$Cb\"\n",
            "$I$K:\u{a0}v\n",
            "$I$K: \u{3000}v\n",
            "$I$K: ｖ：ｗ\n",
        ],
        values: &[],
    },
    Family {
        name: "empty",
        weight: 3,
        templates: &[
            "$I$K:\n",
            "$I$K: \"\"\n",
            "$I$K:\n$J-\n",
            "$I$K:\n$J- \n$J- b\n",
            "$I$K: []\n",
            "$I$K: {}\n",
            "$I$K: ~\n",
            "$I$K: !!str\n",
            "$I$K: !!null\n",
            "$I$K: ''\n",
            "$I$K: &$A\n",
            "$I$K: -\n",
            "$I$K: !!str # c\n",
            "$I$K: # c\n",
            "$I$K:   \n",
            "$I$K:\n$J\n$I$Kb: 1\n",
            "$I$K: [~, null, '', \"\"]\n",
            "$I$K: {a: ~, b: }\n",
            "$I: v\n",
            "$I\"\": v\n",
        ],
        values: &[],
    },
];

/// Changes to the whole document rather than one place.
const PREFIXES: &[&str] = &[
    "---\n",
    "--- # c\n",
    "---\t\n",
    "--- \n",
    "%YAML 1.1\n---\n",
    "%YAML 1.2\n---\n",
    "%YAML 1.1\n--- # c\n",
    "%TAG !e! tag:example.com,2000:\n---\n",
    "%FOO bar\n---\n",
    "# c\n---\n",
    "---\n---\n",
    "...\n",
    "...\n---\n",
    "--- !!map\n",
    "--- &a\n",
    "---#c\n",
    "# c\n\n",
    "\n\n",
    "--- !foo\n",
    "%YAML 1.3\n---\n",
    "%YAML 1.1\n%YAML 1.1\n---\n",
    "#!/bin/sh\n",
    "   \n",
];

const SUFFIXES: &[&str] = &[
    "...\n",
    "... # c\n",
    "---\n",
    "---\n...\n",
    "...\n...\n",
    "# trailing\n",
    "\n\n\n",
    "...\nignored: text\n",
    "...\n---\n",
    "--- \n# c\n",
    "...\napiVersion: v1\nkind: Ghost\n",
    "...\n%YAML 1.1\n---\n",
    "  \n\t\n",
];

/// One generated document: its text, what went into it, and whether it
/// must end a file (its last line has no line break).
struct Case {
    text: String,
    signature: String,
    ends_file: bool,
}

/// The rendering choices of one case.
struct Style {
    width: usize,
    seq_indented: bool,
    flow_percent: u64,
    flow_multiline: bool,
}

/// Writes a manifest tree as block YAML with varied, valid styles; the
/// snippets add the edge constructs.
struct Render<'a> {
    rng: &'a mut Rng,
    style: Style,
    out: String,
}

/// Whether a string can be written plain and still read as that string,
/// under YAML 1.1 and 1.2 alike (conservative).
fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~"
    ) || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s != s.trim()
        || s.contains(|c: char| !(c.is_ascii_alphanumeric() || "._/=:@+-*% ".contains(c)))
        || s.contains("<<")
    {
        return false;
    }
    if first.is_ascii_alphabetic() || first == '/' {
        return true;
    }
    // Digits first: only with a letter no number form uses, and no colon
    // (sexagesimal, times).
    first.is_ascii_digit()
        && !s.contains(':')
        && s.chars()
            .any(|c| c.is_ascii_alphabetic() && !"eExXoObBaAcCdDfF".contains(c))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Render<'_> {
    fn pad(&mut self, n: usize) {
        self.out.push_str(&" ".repeat(n));
    }

    /// A string on one line: plain, single- or double-quoted.
    fn inline(&mut self, s: &str) -> String {
        let simple = !s.contains(|c: char| c.is_control());
        if plain_safe(s) && self.rng.chance(70) {
            s.to_owned()
        } else if simple && self.rng.chance(45) {
            single_quoted(s)
        } else {
            double_quoted(s)
        }
    }

    fn key(&mut self, k: &str) {
        let text = if plain_safe(k) && !self.rng.chance(8) {
            k.to_owned()
        } else if self.rng.chance(50) {
            single_quoted(k)
        } else {
            double_quoted(k)
        };
        self.out.push_str(&text);
    }

    fn flowable(g: &G) -> bool {
        match g {
            G::Map(entries) => entries.iter().all(|e| match e {
                Entry::Kv(_, v) => Self::flowable(v),
                Entry::Snippet(_) => false,
            }),
            G::Seq(items) => items.iter().all(Self::flowable),
            _ => true,
        }
    }

    /// A value after `key:` or `-`, for an entry at indentation `n`.
    fn value(&mut self, g: &G, n: usize) {
        let w = self.style.width;
        match g {
            G::Lit(text) => {
                self.out.push(' ');
                self.out.push_str(text);
                self.out.push('\n');
            }
            G::Str(s) if s.contains('\n') && self.rng.chance(75) => {
                let body = s.strip_suffix('\n').unwrap_or(s);
                let header = if s.ends_with('\n') { "|" } else { "|-" };
                self.out.push(' ');
                self.out.push_str(header);
                if body.starts_with(' ') {
                    self.out.push_str(&w.to_string());
                }
                self.out.push('\n');
                for line in body.split('\n') {
                    if !line.is_empty() {
                        self.pad(n + w);
                        self.out.push_str(line);
                    }
                    self.out.push('\n');
                }
            }
            G::Str(s) => {
                let text = self.inline(s);
                self.out.push(' ');
                self.out.push_str(&text);
                self.out.push('\n');
            }
            G::Seq(items) if items.is_empty() => self.out.push_str(" []\n"),
            G::Map(entries) if entries.is_empty() => self.out.push_str(" {}\n"),
            _ if Self::flowable(g) && self.rng.chance(self.style.flow_percent) => {
                self.out.push(' ');
                self.flow(g, n);
                self.out.push('\n');
            }
            G::Map(entries) => {
                self.out.push('\n');
                self.map(entries, n + w);
            }
            G::Seq(items) => {
                self.out.push('\n');
                let at = if self.style.seq_indented { n + w } else { n };
                self.seq(items, at);
            }
        }
    }

    fn map(&mut self, entries: &[Entry], n: usize) {
        for entry in entries {
            match entry {
                Entry::Snippet(snippet) => {
                    let text = snippet.render(n, self.style.width);
                    self.out.push_str(&text);
                }
                Entry::Kv(key, value) => {
                    self.pad(n);
                    self.key(key);
                    self.out.push(':');
                    self.value(value, n);
                }
            }
        }
    }

    fn seq(&mut self, items: &[G], n: usize) {
        for item in items {
            match item {
                G::Map(entries) if !entries.is_empty() => {
                    // "- " and the mapping's first entry on one line.
                    let start = self.out.len();
                    self.map(entries, n + 2);
                    assert!(self.out[start..].starts_with(&" ".repeat(n + 2)));
                    self.out
                        .replace_range(start..start + n + 2, &format!("{}- ", " ".repeat(n)));
                }
                _ => {
                    self.pad(n);
                    self.out.push('-');
                    self.value(item, n);
                }
            }
        }
    }

    fn flow(&mut self, g: &G, n: usize) {
        let separator = if self.style.flow_multiline && self.rng.chance(40) {
            format!(",\n{}", " ".repeat(n + self.style.width))
        } else {
            ", ".to_owned()
        };
        match g {
            G::Lit(text) => self.out.push_str(text),
            G::Str(s) if s.contains('\n') => self.out.push_str(&double_quoted(s)),
            G::Str(s) => {
                let text = self.inline(s);
                self.out.push_str(&text);
            }
            G::Seq(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(&separator);
                    }
                    self.flow(item, n);
                }
                self.out.push(']');
            }
            G::Map(entries) => {
                self.out.push('{');
                for (i, entry) in entries.iter().enumerate() {
                    if let Entry::Kv(key, value) = entry {
                        if i > 0 {
                            self.out.push_str(&separator);
                        }
                        self.key(key);
                        self.out.push_str(": ");
                        self.flow(value, n);
                    }
                }
                self.out.push('}');
            }
        }
    }
}

/// Paths (entry and item indices) to the mappings a snippet may go into:
/// all but `metadata` and what is under it, which kubectl types.
fn free_maps(g: &G, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    match g {
        G::Map(entries) => {
            out.push(path.clone());
            for (i, entry) in entries.iter().enumerate() {
                if let Entry::Kv(key, value) = entry
                    && key != "metadata"
                {
                    path.push(i);
                    free_maps(value, path, out);
                    path.pop();
                }
            }
        }
        G::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i);
                free_maps(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(g: &'a mut G, path: &[usize]) -> &'a mut G {
    let Some((first, rest)) = path.split_first() else {
        return g;
    };
    match g {
        G::Map(entries) => match &mut entries[*first] {
            Entry::Kv(_, value) => at_mut(value, rest),
            Entry::Snippet(_) => unreachable!(),
        },
        G::Seq(items) => at_mut(&mut items[*first], rest),
        _ => unreachable!(),
    }
}

const CONTINUATIONS: &[i64] = &[1, 2, 4, 1, 2, 0, -1, -2, -99];
const BLOCK_EXTRAS: &[i64] = &[0, 0, 0, 0, 1, 2, -1];

fn pick_family(rng: &mut Rng) -> &'static Family {
    let total: usize = FAMILIES.iter().map(|f| f.weight).sum();
    let mut roll = rng.below(total);
    for family in FAMILIES {
        if roll < family.weight {
            return family;
        }
        roll -= family.weight;
    }
    unreachable!()
}

/// One snippet of a family, and its signature.
fn snippet(rng: &mut Rng, family: &Family, id: usize) -> (Snippet, String) {
    let index = rng.below(family.templates.len());
    let mut template = family.templates[index].to_owned();
    let mut signature = format!("{}#{index}", family.name);
    let mut picked = String::new();
    if template.contains("$V") || template.contains("$X") {
        let value = *rng.pick(family.values);
        let second = *rng.pick(family.values);
        let value = value.replace("$T", "\t");
        if template.contains("$X") {
            let length: usize = value.parse().unwrap();
            template = template.replace("$X", &"k".repeat(length));
        }
        let _ = write!(signature, "={}", value.escape_debug());
        if template.contains("$W") {
            let _ = write!(signature, ",{}", second.escape_debug());
        }
        template = template.replace("$V", &value).replace("$W", second);
        picked = value;
    }
    let continuation = *rng.pick(CONTINUATIONS);
    if template.contains("$C") || template.contains("$D") {
        let _ = write!(signature, "@c{continuation:+}");
    }
    let block_extra = *rng.pick(BLOCK_EXTRAS);
    let block_indent = if template.contains("$B") || template.contains("$E") {
        let _ = write!(signature, "@b{block_extra:+}");
        // The block header's (`$V`) indentation digit, if it has one.
        picked
            .chars()
            .take_while(|c| !c.is_whitespace())
            .find(|c| c.is_ascii_digit())
            .and_then(|c| c.to_digit(10))
            .map(|d| d as usize)
            .filter(|d| *d > 0)
    } else {
        None
    };
    (
        Snippet {
            template,
            key: format!("x-{id}"),
            anchor: format!("a{id}"),
            continuation,
            block_indent,
            block_extra,
        },
        signature,
    )
}

/// Changes to a rendered document as a whole.
fn document_change(rng: &mut Rng, text: &mut String, signature: &mut Vec<String>) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    match rng.below(9) {
        0 => {
            let i = rng.below(PREFIXES.len());
            signature.push(format!("prefix#{i}"));
            text.insert_str(0, PREFIXES[i]);
        }
        1 => {
            let i = rng.below(SUFFIXES.len());
            signature.push(format!("suffix#{i}"));
            text.push_str(SUFFIXES[i]);
        }
        2 => {
            signature.push("crlf".into());
            *text = text.replace('\n', "\r\n");
        }
        3 => {
            signature.push("crlf-some-lines".into());
            *text = lines
                .iter()
                .map(|l| {
                    if rng.chance(30) {
                        l.replace('\n', "\r\n")
                    } else {
                        (*l).to_owned()
                    }
                })
                .collect();
        }
        4 => {
            signature.push("bom".into());
            text.insert(0, '\u{feff}');
        }
        5 => {
            let at = rng.below(lines.len().max(2) - 1);
            signature.push("lone-cr".into());
            *text = lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    if i == at {
                        l.replace('\n', "\r")
                    } else {
                        (*l).to_owned()
                    }
                })
                .collect();
        }
        6 => {
            let at = rng.below(lines.len() + 1);
            let indent = rng.below(9);
            signature.push(format!("comment-line@{indent}"));
            let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            out.insert(at, format!("{}# c\n", " ".repeat(indent)));
            *text = out.concat();
        }
        7 => {
            let at = rng.below(lines.len() + 1);
            let spaces = rng.below(4);
            signature.push(format!("blank-line@{spaces}"));
            let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            out.insert(at, format!("{}\n", " ".repeat(spaces)));
            *text = out.concat();
        }
        _ => {
            let at = rng.below(lines.len());
            signature.push("trailing-spaces".into());
            *text = lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    if i == at {
                        l.replacen('\n', "  \n", 1)
                    } else {
                        (*l).to_owned()
                    }
                })
                .collect();
        }
    }
}

fn generate_case(rng: &mut Rng, bases: &[serde_json::Value], number: usize) -> Case {
    // A name of its own, so that no two cases decode to the same object.
    let mut base = rng.pick(bases).clone();
    let name = format!("{}-{number}", base["metadata"]["name"].as_str().unwrap());
    base["metadata"]["name"] = serde_json::Value::String(name);
    let mut tree = to_g(&base);
    let mut signature: Vec<String> = Vec::new();
    let snippets = match rng.below(20) {
        0..=1 => 0,
        2..=13 => 1,
        _ => 2,
    };
    for id in 0..snippets {
        let family = pick_family(rng);
        let (snippet, name) = snippet(rng, family, id);
        signature.push(name);
        let mut maps = Vec::new();
        free_maps(&tree, &mut Vec::new(), &mut maps);
        let path = rng.pick(&maps).clone();
        if let G::Map(entries) = at_mut(&mut tree, &path) {
            let at = rng.below(entries.len() + 1);
            entries.insert(at, Entry::Snippet(snippet));
        }
    }
    let style = Style {
        width: *rng.pick(&[2, 2, 2, 2, 4, 4, 1, 3]),
        seq_indented: rng.chance(60),
        flow_percent: *rng.pick(&[0, 0, 0, 15, 15, 40]),
        flow_multiline: rng.chance(30),
    };
    let mut render = Render {
        rng,
        style,
        out: String::new(),
    };
    if let G::Map(entries) = &tree {
        render.map(entries, 0);
    }
    let mut text = render.out;
    let changes = match rng.below(10) {
        0..=6 => 0,
        7..=8 => 1,
        _ => 2,
    };
    for _ in 0..changes {
        document_change(rng, &mut text, &mut signature);
    }
    let ends_file = rng.chance(3);
    if ends_file {
        while text.ends_with(['\n', '\r']) {
            text.pop();
        }
        signature.push("no-final-line-break".into());
    }
    if signature.is_empty() {
        signature.push("styles only".into());
    }
    Case {
        text,
        signature: signature.join(" + "),
        ends_file,
    }
}

/// The generated cases as units: most alone, some that kslint loads
/// cleanly joined into multi-document streams.
fn generated_units(seed: u64, count: usize) -> Vec<Unit> {
    let mut rng = Rng(seed);
    let bases = base_manifests();
    let cases: Vec<Case> = (0..count)
        .map(|number| generate_case(&mut rng, &bases, number))
        .collect();
    let alone: Vec<Unit> = with_views(
        cases
            .iter()
            .enumerate()
            .map(|(number, case)| {
                Unit::unviewed(None, case.text.clone(), |_, _| {
                    (format!("generated case {number}"), case.signature.clone())
                })
            })
            .collect(),
    );
    let mut units = Vec::new();
    let mut streams = Vec::new();
    let mut stream: Vec<usize> = Vec::new();
    let flush = |stream: &mut Vec<usize>, streams: &mut Vec<Unit>| {
        if stream.is_empty() {
            return;
        }
        let mut text = String::new();
        let mut owners: Vec<(Range<usize>, usize)> = Vec::new();
        for number in stream.drain(..) {
            let case = &cases[number].text;
            let start = text.len();
            if start > 0 && !case.starts_with("---") && !case.starts_with('%') {
                text.push_str("---\n");
            }
            text.push_str(case);
            owners.push((start..text.len(), number));
        }
        let owner = |at: usize| owners.iter().find(|(r, _)| r.contains(&at)).unwrap().1;
        streams.push(Unit::unviewed(None, text.clone(), |_, start| {
            let number = owner(start);
            (
                format!("generated case {number} (in a stream)"),
                cases[number].signature.clone(),
            )
        }));
    };
    let mut rng = Rng(seed ^ 0x5eed);
    for (number, unit) in alone.into_iter().enumerate() {
        let case = &cases[number];
        let joinable = !case.ends_file && unit.view.clean() && case.text.ends_with('\n');
        if joinable && rng.chance(15) {
            stream.push(number);
            if stream.len() >= 4 {
                flush(&mut stream, &mut streams);
            }
        } else {
            units.push(unit);
        }
    }
    flush(&mut stream, &mut streams);
    units.extend(with_views(streams));
    units
}

#[test]
fn generated_edge_cases_decode_as_kubectl_decodes_them() {
    let Some(kubectl) = common::tool("kubectl") else {
        return;
    };
    let started = Instant::now();
    let seed = std::env::var("KSLINT_ORACLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(18);
    let count = std::env::var("KSLINT_ORACLE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000);
    let units = generated_units(seed, count);
    let documents: usize = units.iter().map(|u| u.chunks.len()).sum();
    let summary = format!(
        "{count} generated cases (seed {seed}) in {} files, {documents} documents",
        units.len()
    );
    let tally = check_all(&kubectl, batches(units, 48, 1 << 20));
    report("generated", &summary, tally, started);
}
