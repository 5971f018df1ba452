//! Builds a kustomization the native engine does not support with the real
//! tool (`kustomize build`, or `kubectl kustomize`), and maps its output
//! back to the files through kustomize's origin annotations.
//!
//! kslint never reaches the network: before the tool runs, every path the
//! kustomization tree names must be a local file or folder, because
//! kustomize fetches remote bases and URLs on its own. The tool runs
//! without the flags that enable plugins, exec functions and Helm.
//!
//! Origin annotations name the file of each object, not the line of each
//! value. A node of the output is placed at the same key path of the
//! object in that file, or of a patch file of the tree naming the object,
//! when the value there is the one built; otherwise at the object's first
//! line, marked approximate.

use super::{Built, FILE_NAMES, Sources, emit, is_remote};
use crate::yaml::{self, Node, Span, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The annotation kustomize writes for `buildMetadata: [originAnnotations]`.
const ORIGIN: &str = "config.kubernetes.io/origin";

/// The program that builds kustomizations kslint cannot.
#[derive(Debug, Clone)]
pub struct Tool {
    program: PathBuf,
    kubectl: bool,
}

impl Tool {
    /// The configured program (a path, or a name on PATH), else `kustomize`,
    /// else `kubectl`, on PATH.
    pub fn find(configured: Option<&Path>) -> Option<Tool> {
        let program = match configured {
            Some(path) if path.is_file() => path.to_path_buf(),
            Some(path) if path.components().count() == 1 => {
                crate::helm::find_helm_named(path.to_str()?)?
            }
            Some(_) => return None,
            None => crate::helm::find_helm_named("kustomize")
                .or_else(|| crate::helm::find_helm_named("kubectl"))?,
        };
        let kubectl = program
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("kubectl"));
        Some(Tool { program, kubectl })
    }

    /// The build command, as users know it.
    pub fn command(&self) -> &'static str {
        if self.kubectl {
            "kubectl kustomize"
        } else {
            "kustomize build"
        }
    }
}

/// Why the tool did not build a kustomization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The tree names something that is not local: kslint will not let
    /// the tool fetch it.
    NotLocal(String),
    /// The tool failed: its error, in one line.
    Failed(String),
}

/// What a fallback build knows beyond a native one.
#[derive(Debug, Default)]
pub struct Fallback {
    /// The command that built it.
    pub command: &'static str,
    /// Source spans that stand for a whole object: nodes placed there are
    /// approximate.
    pub approximate: HashSet<Span>,
}

/// Builds the kustomization in `dir` with `tool`.
pub fn build(dir: &Path, tool: &Tool) -> Result<Built, Refusal> {
    let dir = dir
        .canonicalize()
        .map_err(|e| Refusal::Failed(format!("cannot read {}: {e}", dir.display())))?;
    let mut sources = Sources::default();
    let mut tree = Tree::default();
    tree.check(&dir, &mut sources, 0)?;

    // A wrapper outside the user's tree asks for origin annotations without
    // writing into it; folders, unlike files, load from anywhere.
    let wrapper = tempfile::Builder::new()
        .prefix("kslint-kustomize-")
        .tempdir()
        .map_err(|e| Refusal::Failed(format!("cannot make a temporary folder: {e}")))?;
    let wrapper_dir = wrapper
        .path()
        .canonicalize()
        .map_err(|e| Refusal::Failed(format!("cannot read the temporary folder: {e}")))?;
    let field = if tree.top_is_component {
        "components"
    } else {
        "resources"
    };
    let target = relative(&wrapper_dir, &dir);
    let text = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n{field}:\n- {}\nbuildMetadata: [originAnnotations]\n",
        serde_json::to_string(&target.to_string_lossy()).expect("a string")
    );
    std::fs::write(wrapper_dir.join("kustomization.yaml"), text)
        .map_err(|e| Refusal::Failed(format!("cannot write the temporary kustomization: {e}")))?;

    let mut command = Command::new(&tool.program);
    command.arg(if tool.kubectl { "kustomize" } else { "build" });
    let output = command
        .arg(&wrapper_dir)
        .current_dir(&wrapper_dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Refusal::Failed(format!(
                "cannot run {}: {}",
                tool.program.display(),
                crate::source::io_message(&e)
            ))
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("# Warning:"))
            .collect();
        return Err(Refusal::Failed(message.join(" ")));
    }
    let stdout = String::from_utf8(output.stdout).map_err(|_| {
        Refusal::Failed(format!("{} printed text that is not UTF-8", tool.command()))
    })?;
    let stream = yaml::parse_stream(&stdout, yaml::Limits::default());
    if let Some(error) = stream.errors.first() {
        return Err(Refusal::Failed(format!(
            "{} printed YAML kslint cannot read: {}",
            tool.command(),
            error.message
        )));
    }

    let mut mapper = Mapper {
        sources,
        parsed: HashMap::new(),
        patch_files: tree.patch_files,
        approximate: HashSet::new(),
    };
    let mut objects = Vec::new();
    for document in stream.documents {
        let mut object = document.root;
        if object.is_null() {
            continue;
        }
        let origin = take_origin(&mut object)
            .and_then(|o| Origin::read(&o, &wrapper_dir))
            .unwrap_or(Origin::Unknown);
        mapper.place(&mut object, &origin);
        objects.push(object);
    }
    drop(wrapper);
    Ok(Built {
        emitted: emit::emit(&objects),
        sources: mapper.sources,
        fallback: Some(Fallback {
            command: tool.command(),
            approximate: mapper.approximate,
        }),
    })
}

/// Whether everything the kustomization tree in `dir` names is local, so
/// the real tool can build it without reaching the network.
pub fn check_local(dir: &Path) -> Result<(), Refusal> {
    let dir = dir
        .canonicalize()
        .map_err(|e| Refusal::Failed(format!("cannot read {}: {e}", dir.display())))?;
    Tree::default().check(&dir, &mut Sources::default(), 0)
}

/// What the tree of a kustomization names, checked to be local.
#[derive(Default)]
struct Tree {
    seen: HashSet<PathBuf>,
    patch_files: Vec<PatchFile>,
    top_is_component: bool,
}

/// Fields whose entries are paths kustomize loads, and what each is.
const LIST_FIELDS: &[(&str, Entry)] = &[
    ("resources", Entry::Folder),
    ("bases", Entry::Folder),
    ("components", Entry::Folder),
    ("generators", Entry::Config),
    ("transformers", Entry::Config),
    ("validators", Entry::Config),
    ("crds", Entry::File),
    ("configurations", Entry::File),
    ("patchesStrategicMerge", Entry::Patch),
];

/// Fields whose entries are maps with a `path`.
const PATH_FIELDS: &[(&str, Entry)] = &[
    ("patches", Entry::Patch),
    ("patchesJson6902", Entry::Patch),
    ("replacements", Entry::File),
];

/// A patch of the tree (a file, or inline in a kustomization), with the
/// kind and name its entry targets.
#[derive(Clone)]
struct PatchFile {
    source: PatchSource,
    kind: Option<String>,
    name: Option<String>,
}

#[derive(Clone)]
enum PatchSource {
    File(PathBuf),
    /// Its documents, placed in the kustomization.
    Inline(Vec<Node>),
}

impl PatchFile {
    fn new(source: PatchSource, target: Option<&Node>) -> Self {
        let field = |key: &str| {
            target
                .and_then(|t| t.get(key))
                .and_then(Node::as_str)
                .map(str::to_owned)
        };
        PatchFile {
            source,
            kind: field("kind"),
            name: field("name"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// A file, or a folder with a kustomization.
    Folder,
    /// A plugin configuration file (or a kustomization folder).
    Config,
    /// A data file.
    File,
    /// A patch file, or an inline patch.
    Patch,
}

impl Tree {
    fn check(&mut self, dir: &Path, sources: &mut Sources, depth: usize) -> Result<(), Refusal> {
        if depth > 64 {
            return Err(Refusal::NotLocal(
                "kustomizations nest more than 64 deep".to_owned(),
            ));
        }
        if !self.seen.insert(dir.to_path_buf()) {
            return Ok(());
        }
        let Some(file) = FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) else {
            return Ok(());
        };
        let Ok((base, text)) = sources.read(&file) else {
            return Ok(());
        };
        let stream = yaml::parse_stream_at(text, base, yaml::Limits::default());
        let Some(root) = stream.documents.into_iter().next().map(|d| d.root) else {
            return Ok(());
        };
        if depth == 0 {
            self.top_is_component = root.get("kind").and_then(Node::as_str) == Some("Component");
        }
        let mut entries: Vec<(&str, Entry, Option<&Node>)> = Vec::new();
        for (field, kind) in LIST_FIELDS {
            for item in root.get(field).and_then(Node::as_seq).unwrap_or_default() {
                entries.extend(item.as_str().map(|s| (s, *kind, None)));
            }
        }
        for item in root
            .get("patches")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            if let Some(patch) = item.get("patch").filter(|p| p.as_str().is_some()) {
                self.add_inline(patch, item.get("target"), sources);
            }
        }
        for item in root
            .get("patchesStrategicMerge")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            if item.as_str().is_some_and(|s| s.contains('\n')) {
                self.add_inline(item, None, sources);
            }
        }
        for (field, kind) in PATH_FIELDS {
            for item in root.get(field).and_then(Node::as_seq).unwrap_or_default() {
                entries.extend(
                    item.get("path")
                        .and_then(Node::as_str)
                        .map(|s| (s, *kind, item.get("target"))),
                );
            }
        }
        entries.extend(
            root.path(&["openapi", "path"])
                .and_then(Node::as_str)
                .map(|s| (s, Entry::File, None)),
        );
        for generator in ["configMapGenerator", "secretGenerator"] {
            for item in root
                .get(generator)
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                for key in ["files", "envs"] {
                    for file in item.get(key).and_then(Node::as_seq).unwrap_or_default() {
                        // `key=path` names the key the file's content gets.
                        entries.extend(file.as_str().map(|s| {
                            (s.rsplit_once('=').map_or(s, |(_, p)| p), Entry::File, None)
                        }));
                    }
                }
                entries.extend(
                    item.get("env")
                        .and_then(Node::as_str)
                        .map(|s| (s, Entry::File, None)),
                );
            }
        }
        for (entry, kind, target) in entries {
            // An inline patch is YAML, not a path.
            if kind == Entry::Patch && entry.contains('\n') {
                continue;
            }
            if is_remote(entry) || entry.contains("://") {
                return Err(Refusal::NotLocal(format!(
                    "its tree names `{entry}`, which kustomize would fetch"
                )));
            }
            let path = dir.join(entry);
            if path.is_dir() {
                self.check(&path.canonicalize().unwrap_or(path), sources, depth + 1)?;
            } else if path.is_file() {
                let path = path.canonicalize().unwrap_or(path);
                if kind == Entry::Patch {
                    self.patch_files
                        .push(PatchFile::new(PatchSource::File(path.clone()), target));
                }
                if let (Ok((_, text)), Entry::Config) = (sources.read(&path), kind) {
                    // A plugin's configuration may itself name URLs.
                    if let Some(remote) = remote_in(text) {
                        return Err(Refusal::NotLocal(format!(
                            "{} names `{remote}`, which kustomize would fetch",
                            super::trace::shown(&path)
                        )));
                    }
                }
            } else if matches!(kind, Entry::Folder | Entry::Config) {
                // kustomize reads a missing folder as a git repository.
                return Err(Refusal::NotLocal(format!(
                    "its tree names `{entry}`, which is no local file or folder, so kustomize would try to fetch it"
                )));
            }
            // A missing data file or patch (or a one-line inline patch)
            // fetches nothing: the tool reads it or says what is wrong.
        }
        Ok(())
    }
}

impl Tree {
    /// Keeps an inline patch's documents, placed in its kustomization.
    fn add_inline(&mut self, patch: &Node, target: Option<&Node>, sources: &Sources) {
        let text = patch.as_str().unwrap_or("");
        if let Ok(docs) = super::patch::inline(text, patch.span, sources) {
            self.patch_files
                .push(PatchFile::new(PatchSource::Inline(docs), target));
        }
    }
}

/// The first string of a YAML text that names something remote.
fn remote_in(text: &str) -> Option<String> {
    fn walk(node: &Node) -> Option<String> {
        match &node.value {
            Value::Str(s) if is_remote(s) || s.contains("://") => Some(s.clone()),
            Value::Seq(items) => items.iter().find_map(walk),
            Value::Map(entries) => entries.iter().find_map(|e| walk(&e.value)),
            _ => None,
        }
    }
    yaml::parse_stream(text, yaml::Limits::default())
        .documents
        .iter()
        .find_map(|d| walk(&d.root))
}

/// `to` as a path relative to the folder `from` (both canonical).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    out
}

/// Removes the origin annotation (and an annotations map it leaves empty),
/// returning its text.
fn take_origin(object: &mut Node) -> Option<String> {
    let Value::Map(entries) = &mut object.value else {
        return None;
    };
    let metadata = entries.iter_mut().find(|e| e.key == "metadata")?;
    let Value::Map(metadata) = &mut metadata.value.value else {
        return None;
    };
    let at = metadata.iter().position(|e| e.key == "annotations")?;
    let Value::Map(annotations) = &mut metadata[at].value.value else {
        return None;
    };
    let origin = annotations.iter().position(|e| e.key == ORIGIN)?;
    let origin = annotations.remove(origin).value;
    if annotations.is_empty() {
        metadata.remove(at);
    }
    origin.as_str().map(str::to_owned)
}

/// Where kustomize says an object came from.
enum Origin {
    /// A resource file.
    File(PathBuf),
    /// A generator configured in a kustomization file.
    Generated(PathBuf),
    Unknown,
}

impl Origin {
    fn read(text: &str, wrapper_dir: &Path) -> Option<Origin> {
        let stream = yaml::parse_stream(text, yaml::Limits::default());
        let root = &stream.documents.first()?.root;
        if root.get("repo").is_some() {
            return None;
        }
        let resolve = |key: &str| {
            let path = root.get(key)?.as_str()?;
            wrapper_dir.join(path).canonicalize().ok()
        };
        resolve("path")
            .map(Origin::File)
            .or_else(|| resolve("configuredIn").map(Origin::Generated))
    }
}

/// Places the nodes of built objects in the files of the tree.
struct Mapper {
    sources: Sources,
    /// Each file's objects (a `List`'s items in its place), parsed once.
    parsed: HashMap<PathBuf, Vec<Node>>,
    patch_files: Vec<PatchFile>,
    approximate: HashSet<Span>,
}

impl Mapper {
    fn objects(&mut self, path: &Path) -> &[Node] {
        if !self.parsed.contains_key(path) {
            let objects = match self.sources.read(path) {
                Ok((base, text)) => yaml::parse_stream_at(text, base, yaml::Limits::default())
                    .documents
                    .into_iter()
                    .flat_map(|d| match d.root.get("items").and_then(Node::as_seq) {
                        Some(items)
                            if d.root.get("kind").and_then(Node::as_str) == Some("List") =>
                        {
                            items.to_vec()
                        }
                        _ => vec![d.root],
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
            self.parsed.insert(path.to_path_buf(), objects);
        }
        &self.parsed[path]
    }

    /// The first line of a span, in its file.
    fn first_line(&self, span: Span) -> Span {
        let Some((_, text, local)) = self.sources.locate(span) else {
            return span;
        };
        let start = local.start as usize;
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        Span::new(span.start as usize, span.start as usize + (end - start))
    }

    fn place(&mut self, object: &mut Node, origin: &Origin) {
        let kind = object
            .get("kind")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned();
        let name = object
            .path(&["metadata", "name"])
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned();
        let (source, whole) = match origin {
            Origin::File(path) => {
                let source = best_match(self.objects(path), &kind, &name).cloned();
                let whole = source.as_ref().map(|s| self.first_line(s.span));
                (source, whole)
            }
            Origin::Generated(path) => {
                let field = if kind == "Secret" {
                    "secretGenerator"
                } else {
                    "configMapGenerator"
                };
                let entry = self.objects(path).first().and_then(|k| {
                    k.get(field)?
                        .as_seq()?
                        .iter()
                        .filter_map(|g| Some((g.get("name")?.as_str()?.len(), g)))
                        .filter(|(_, g)| {
                            g.get("name")
                                .and_then(Node::as_str)
                                .is_some_and(|n| name.contains(n))
                        })
                        .max_by_key(|(len, _)| *len)
                        .map(|(_, g)| g.span)
                });
                let whole = entry.or_else(|| self.objects(path).first().map(|k| k.span));
                (None, whole.map(|s| self.first_line(s)))
            }
            Origin::Unknown => (None, None),
        };
        let mut patches: Vec<Node> = Vec::new();
        for patch in self.patch_files.clone() {
            let targeted = patch.kind.as_deref().is_none_or(|k| k == kind)
                && patch.name.as_deref().is_none_or(|n| name.contains(n));
            let documents = match &patch.source {
                PatchSource::File(path) => self.objects(path).to_vec(),
                PatchSource::Inline(docs) => docs.clone(),
            };
            for document in &documents {
                if document.as_seq().is_some() {
                    // JSON 6902 operations: what they add or replace, as
                    // the object they write.
                    if targeted {
                        patches.extend(operations_as_object(document));
                    }
                } else if same_object(document, &kind, &name) || (targeted && patch.kind.is_some())
                {
                    patches.push(document.clone());
                }
            }
        }
        let whole = whole.unwrap_or_default();
        // Patches first: what an overlay sets wins over its base.
        let mut candidates: Vec<Option<&Node>> = patches.iter().map(Some).collect();
        candidates.push(source.as_ref());
        place_node(object, &candidates, whole, &mut self.approximate);
        if let Some(source) = &source {
            object.span = source.span;
        }
    }
}

/// Whether a source object is the built one: the same kind, and a name the
/// built one contains (prefixes, suffixes and hashes only add to it).
fn same_object(candidate: &Node, kind: &str, name: &str) -> bool {
    candidate.get("kind").and_then(Node::as_str) == Some(kind)
        && candidate
            .path(&["metadata", "name"])
            .and_then(Node::as_str)
            .is_some_and(|n| name.contains(n))
}

/// The object of a file the built one came from: the same kind with the
/// longest name the built one contains, else the first of its kind.
fn best_match<'a>(objects: &'a [Node], kind: &str, name: &str) -> Option<&'a Node> {
    objects
        .iter()
        .filter(|o| same_object(o, kind, name))
        .max_by_key(|o| {
            o.path(&["metadata", "name"])
                .and_then(Node::as_str)
                .map_or(0, str::len)
        })
        .or_else(|| {
            objects
                .iter()
                .find(|o| o.get("kind").and_then(Node::as_str) == Some(kind))
        })
        .or_else(|| objects.first())
}

/// The values JSON 6902 `add` and `replace` operations write, as one
/// sparse object: `/spec/hostNetwork` with `true` becomes
/// `{spec: {hostNetwork: true}}`, spans at the operation. Appends (`-`)
/// are left out: their place in the list is unknown.
fn operations_as_object(operations: &Node) -> Option<Node> {
    let mut object = Node {
        value: Value::Map(Vec::new()),
        span: operations.span,
        plain: false,
    };
    for operation in operations.as_seq()? {
        if !matches!(
            operation.get("op").and_then(Node::as_str),
            Some("add" | "replace")
        ) {
            continue;
        }
        let (Some(path), Some(value)) = (operation.get("path"), operation.get("value")) else {
            continue;
        };
        let Some(pointer) = path.as_str().and_then(|p| p.strip_prefix('/')) else {
            continue;
        };
        let segments: Vec<String> = pointer
            .split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        if segments.iter().any(|s| s == "-") {
            continue;
        }
        write_at(&mut object, &segments, value.clone(), path.span);
    }
    Some(object)
}

fn write_at(node: &mut Node, segments: &[String], value: Node, at: Span) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let child = || Node {
        value: if rest.first().is_some_and(|s| s.parse::<usize>().is_ok()) {
            Value::Seq(Vec::new())
        } else {
            Value::Map(Vec::new())
        },
        span: at,
        plain: false,
    };
    let slot = match &mut node.value {
        Value::Map(entries) => {
            let i = match entries.iter().position(|e| e.key == *first) {
                Some(i) => i,
                None => {
                    entries.push(yaml::Entry {
                        key: first.clone(),
                        key_span: at,
                        value: child(),
                    });
                    entries.len() - 1
                }
            };
            &mut entries[i].value
        }
        Value::Seq(items) => {
            let Ok(i) = first.parse::<usize>() else {
                return;
            };
            // Bounded by the document, which bounds the index written.
            if i > 10_000 {
                return;
            }
            while items.len() <= i {
                items.push(Node {
                    value: Value::Null,
                    span: at,
                    plain: false,
                });
            }
            if rest.is_empty() || items[i].is_null() {
                items[i] = child();
            }
            &mut items[i]
        }
        _ => return,
    };
    if rest.is_empty() {
        *slot = value;
    } else {
        write_at(slot, rest, value, at);
    }
}

fn is_collection(value: &Value) -> bool {
    matches!(value, Value::Map(_) | Value::Seq(_))
}

/// Gives `node` and its children the spans of the candidates (nodes at the
/// same key path, in order of preference) that hold the built value, else
/// `whole`, which is then approximate.
fn place_node(
    node: &mut Node,
    candidates: &[Option<&Node>],
    whole: Span,
    approximate: &mut HashSet<Span>,
) {
    let chosen = if is_collection(&node.value) {
        // A map or list is written where its base writes it, else in a patch.
        candidates
            .iter()
            .rev()
            .flatten()
            .find(|c| std::mem::discriminant(&c.value) == std::mem::discriminant(&node.value))
    } else {
        candidates.iter().flatten().find(|c| c.value == node.value)
    };
    node.span = match chosen {
        Some(c) => c.span,
        None => {
            approximate.insert(whole);
            whole
        }
    };
    match &mut node.value {
        Value::Map(entries) => {
            for entry in entries {
                let below: Vec<Option<&yaml::Entry>> = candidates
                    .iter()
                    .map(|c| c.and_then(|c| c.entry(&entry.key)))
                    .collect();
                let values: Vec<Option<&Node>> =
                    below.iter().map(|e| e.map(|e| &e.value)).collect();
                place_node(&mut entry.value, &values, whole, approximate);
                // The key goes with the value: where the value is placed if
                // that file writes the key, else where the base writes it.
                let with_value = below
                    .iter()
                    .flatten()
                    .find(|e| e.value.span == entry.value.span);
                entry.key_span = match with_value.or_else(|| below.iter().rev().flatten().next()) {
                    Some(e) => e.key_span,
                    None => {
                        approximate.insert(whole);
                        whole
                    }
                };
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let name = item.get("name").and_then(Node::as_str).map(str::to_owned);
                let aligned: Vec<Option<&Node>> = candidates
                    .iter()
                    .map(|c| {
                        let list = (*c)?.as_seq()?;
                        // List items with names (containers, volumes,
                        // ports) are matched by name, as merges do; else,
                        // or against a nameless item (an operation's), by
                        // place.
                        name.as_deref()
                            .and_then(|name| {
                                list.iter()
                                    .find(|x| x.get("name").and_then(Node::as_str) == Some(name))
                            })
                            .or_else(|| list.get(i).filter(|x| x.get("name").is_none()))
                    })
                    .collect();
                place_node(item, &aligned, whole, approximate);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        assert_eq!(
            relative(
                Path::new("/tmp/kslint-x"),
                Path::new("/work/repo/overlays/prod")
            ),
            PathBuf::from("../../work/repo/overlays/prod")
        );
        assert_eq!(
            relative(Path::new("/a/b"), Path::new("/a/b/c")),
            PathBuf::from("c")
        );
    }

    #[test]
    fn the_origin_annotation_is_taken_out() {
        let text = "kind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/origin: |\n      path: base/cm.yaml\n";
        let mut object = yaml::parse_stream(text, yaml::Limits::default())
            .documents
            .remove(0)
            .root;
        assert_eq!(
            take_origin(&mut object).as_deref(),
            Some("path: base/cm.yaml\n")
        );
        assert!(object.path(&["metadata", "annotations"]).is_none());
        assert_eq!(
            object.path(&["metadata", "name"]).and_then(Node::as_str),
            Some("x")
        );
    }

    #[test]
    fn values_go_to_the_patch_that_set_them_or_else_to_the_object() {
        let base =
            "kind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  paused: false\n";
        let patch = "kind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n";
        let built = "kind: Deployment\nmetadata:\n  name: prod-web\nspec:\n  replicas: 3\n  paused: true\n  minReadySeconds: 5\n";
        let parse = |t: &str, at: usize| {
            yaml::parse_stream_at(t, at, yaml::Limits::default())
                .documents
                .remove(0)
                .root
        };
        let (base, patch) = (parse(base, 1000), parse(patch, 2000));
        let mut object = parse(built, 0);
        let whole = Span::new(1000, 1016);
        let mut approximate = HashSet::new();
        place_node(
            &mut object,
            &[Some(&patch), Some(&base)],
            whole,
            &mut approximate,
        );
        let replicas = object.path(&["spec", "replicas"]).unwrap().span;
        assert_eq!(replicas, patch.path(&["spec", "replicas"]).unwrap().span);
        // `paused` is in the base with another value: not claimed.
        assert_eq!(object.path(&["spec", "paused"]).unwrap().span, whole);
        assert_eq!(
            object.path(&["spec", "minReadySeconds"]).unwrap().span,
            whole
        );
        let spec = object.get("spec").unwrap().span;
        assert_eq!(spec, base.get("spec").unwrap().span);
        assert!(approximate.contains(&whole));
    }
}
