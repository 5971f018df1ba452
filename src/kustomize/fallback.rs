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

use super::{Built, FILE_NAMES, Sources, emit, is_remote, lexical_join, trace};
use crate::sandbox;
use crate::tree::Tree;
use crate::yaml::{self, Node, Span, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The annotation kustomize writes for `buildMetadata: [originAnnotations]`.
const ORIGIN: &str = "config.kubernetes.io/origin";

/// The program that builds kustomizations kslint cannot.
#[derive(Debug, Clone)]
pub struct Tool {
    program: PathBuf,
    kubectl: bool,
}

impl Tool {
    /// The program the user named (a path, or a name on PATH; never one
    /// from the linted tree's configuration), else `kustomize`, else
    /// `kubectl`, on PATH. A program PATH finds inside `tree` is skipped.
    pub fn find(configured: Option<&Path>, tree: &Tree) -> Option<Tool> {
        let program = match configured {
            Some(named) => crate::source::named_program(named, tree).ok()?,
            None => crate::source::find_program("kustomize", tree)
                .or_else(|| crate::source::find_program("kubectl", tree))?,
        };
        // The tool runs in a temporary folder: a relative path would
        // resolve there.
        let program = program.canonicalize().ok()?;
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
    /// The tool cannot be walled off here, and the user did not allow
    /// running it without walls.
    NoSandbox(String),
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

/// Builds the kustomization in `dir` with `tool`, reading only files of
/// `tree`. The tool runs walled off ([`crate::sandbox`]) within the
/// policy's limits; without walls, only when the policy allows it.
pub fn build(
    dir: &Path,
    tool: &Tool,
    tree: Arc<Tree>,
    max_file_size: u64,
    policy: sandbox::Policy,
) -> Result<Built, Refusal> {
    let dir = tree
        .resolve(dir)
        .map_err(|outside| Refusal::NotLocal(format!("{} {}", trace::shown(dir), outside.why())))?;
    let mut sources = Sources::within(tree, max_file_size);
    let mut survey = Survey::default();
    survey.check(&dir, &mut sources, 0)?;
    let patches = survey.patch_documents(&mut sources);

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
    let field = if survey.top_is_component {
        "components"
    } else {
        "resources"
    };
    let target = relative(&wrapper_dir, &dir);
    // Only the top kustomization's sortOptions order the output: the
    // wrapper, now at the top, carries them.
    let sort_options = survey
        .sort_options
        .as_ref()
        .map(|o| format!("sortOptions: {o}\n"))
        .unwrap_or_default();
    let text = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n{field}:\n- {}\nbuildMetadata: [originAnnotations]\n{sort_options}",
        serde_json::to_string(&target.to_string_lossy()).expect("a string")
    );
    std::fs::write(wrapper_dir.join("kustomization.yaml"), text)
        .map_err(|e| Refusal::Failed(format!("cannot write the temporary kustomization: {e}")))?;

    let job = sandbox::Job {
        program: &tool.program,
        args: vec![
            if tool.kubectl { "kustomize" } else { "build" }.into(),
            wrapper_dir.clone().into(),
        ],
        cwd: &wrapper_dir,
        policy,
    };
    let output = sandbox::run(&job).map_err(|failure| match failure {
        sandbox::Failure::NoSandbox(_) => Refusal::NoSandbox(failure.why(tool.command())),
        sandbox::Failure::Exit(stderr) => Refusal::Failed(tool_error(&stderr)),
        other => Refusal::Failed(other.why(tool.command())),
    })?;
    let stdout = String::from_utf8(output).map_err(|_| {
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
        patches,
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

/// The tool's error in one line: kustomize's own words, without kubectl's
/// log prefix (`E1128 17:20:30.236127 960 run.go:72] "command failed"
/// err="..."`) or deprecation warnings.
fn tool_error(stderr: &str) -> String {
    let text: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim_start().starts_with("# Warning:"))
        .collect();
    let text = text.join("\n");
    // klog writes `err="..."`, or `err=<` ... `>` over several lines.
    let body = if let Some(at) = text.find("err=<") {
        let rest = &text[at + 5..];
        rest.rfind('>').map_or(rest, |end| &rest[..end])
    } else if let Some(at) = text.find("err=\"") {
        let rest = &text[at + 5..];
        rest.rfind('"').map_or(rest, |end| &rest[..end])
    } else {
        &text
    };
    sandbox::shown_error(&body.replace("\\\"", "\"").replace("\\n", " "))
}

/// Whether everything the kustomization tree in `dir` names is local and
/// inside `tree`, so the real tool can build it without reaching the
/// network or reading outside the repository.
pub fn check_local(dir: &Path, tree: Arc<Tree>) -> Result<(), Refusal> {
    let dir = tree
        .resolve(dir)
        .map_err(|outside| Refusal::NotLocal(format!("{} {}", trace::shown(dir), outside.why())))?;
    Survey::default().check(&dir, &mut Sources::within(tree, READ_LIMIT), 0)
}

/// Files larger than this are not read to place findings.
const READ_LIMIT: u64 = 16 << 20;

/// What the tree of a kustomization names, checked to be local.
#[derive(Default)]
struct Survey {
    seen: HashSet<PathBuf>,
    /// Patches in the order kustomize applies them: a base's before its
    /// overlay's.
    patch_files: Vec<PatchFile>,
    top_is_component: bool,
    /// The top kustomization's `sortOptions`, as JSON.
    sort_options: Option<String>,
}

/// Every field of a kustomization (Kustomize v5.5.0): kustomize rejects
/// others, or reads them as one of these in another case.
const KUSTOMIZATION_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "imageTags",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "replacements",
    "vars",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "helmCharts",
    "helmGlobals",
    "helmChartInflationGenerator",
    "openapi",
    "buildMetadata",
    "sortOptions",
];

/// YAML that kustomize's reader and kslint's may read differently: tags
/// (`!!binary` decodes to other text) and merge keys (`<<`, applied in
/// another order).
fn yaml_trap(text: &str) -> Option<&'static str> {
    // Whole-line comments are skipped; anything else counts, even inside
    // quotes, as a quote can end before a tag.
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if line.contains("<<") {
            return Some("a merge key (`<<`)");
        }
        let tagged = line.char_indices().any(|(at, c)| {
            c == '!'
                && line[..at]
                    .chars()
                    .next_back()
                    .is_none_or(|before| before.is_whitespace() || "[{,:-?".contains(before))
        });
        if tagged {
            return Some("a YAML tag (`!`)");
        }
    }
    None
}

/// The fields of a kustomization (and of its entries) that name paths.
/// kustomize reads field names without regard to case, so a key that is
/// one of these in another case is refused rather than missed.
const PATH_KEYS: &[&str] = &[
    "configMapGenerator",
    "secretGenerator",
    "resources",
    "bases",
    "components",
    "generators",
    "transformers",
    "validators",
    "crds",
    "configurations",
    "patchesStrategicMerge",
    "patches",
    "patchesJson6902",
    "replacements",
    "openapi",
    "path",
    "patch",
    "target",
    "files",
    "envs",
    "env",
    "helmCharts",
    "helmGlobals",
    "helmChartInflationGenerator",
    "chartHome",
    "configHome",
    "repo",
    "valuesFile",
    "additionalValuesFiles",
];

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

impl Survey {
    /// Walks the kustomization in `dir` (a path as kustomize joins it, not
    /// resolved) and those it includes, refusing anything kustomize could
    /// fetch or kslint could not read as kustomize does.
    fn check(&mut self, dir: &Path, sources: &mut Sources, depth: usize) -> Result<(), Refusal> {
        if depth > 64 {
            return Err(Refusal::NotLocal(
                "kustomizations nest more than 64 deep".to_owned(),
            ));
        }
        // kustomize resolves a kustomization's folder through links, then
        // joins its entries to that as text.
        let dir = &sources.tree().resolve(dir).map_err(|outside| {
            Refusal::NotLocal(format!("{} {}", trace::shown(dir), outside.why()))
        })?;
        if !self.seen.insert(dir.clone()) {
            return Ok(());
        }
        // kustomize tries every name; any that is present must be the one
        // plain file kslint reads.
        let present: Vec<PathBuf> = FILE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .collect();
        let file = match &present[..] {
            [] => return Ok(()),
            [one] if std::fs::symlink_metadata(one).is_ok_and(|m| m.is_file()) => one.clone(),
            [one] => {
                return Err(Refusal::NotLocal(format!(
                    "{} is a link or a special file",
                    super::trace::shown(one)
                )));
            }
            _ => {
                return Err(Refusal::NotLocal(format!(
                    "{} holds more than one kustomization file",
                    super::trace::shown(dir)
                )));
            }
        };
        let shown = super::trace::shown(&file);
        let unreadable = |why: String| {
            Refusal::NotLocal(format!(
                "kslint cannot read {shown} as kustomize does ({why})"
            ))
        };
        let (base, text) = sources
            .read(&file.canonicalize().unwrap_or_else(|_| file.clone()))
            .map_err(|e| unreadable(e.to_string()))?;
        if let Some(trap) = yaml_trap(text) {
            return Err(unreadable(format!("it uses {trap}")));
        }
        let stream = yaml::parse_stream_at(text, base, yaml::Limits::default());
        if let Some(error) = stream.errors.first() {
            return Err(unreadable(error.message.clone()));
        }
        let [document] = &stream.documents[..] else {
            return Err(unreadable("it is not one YAML document".to_owned()));
        };
        if !document.duplicate_keys.is_empty() {
            return Err(unreadable("a key is written twice".to_owned()));
        }
        let root = &document.root;
        if root.as_map().is_none() {
            return Err(unreadable("it is not a mapping".to_owned()));
        }
        if let Some(entry) = root
            .as_map()
            .unwrap_or_default()
            .iter()
            .find(|e| !KUSTOMIZATION_FIELDS.contains(&e.key.as_str()))
        {
            return Err(Refusal::NotLocal(format!(
                "{shown} has the key `{}`, which is no kustomization field kslint knows",
                entry.key
            )));
        }
        if let Some(key) = odd_key(root) {
            return Err(Refusal::NotLocal(format!(
                "{shown} has the key `{key}`, which kustomize reads as a field that names paths"
            )));
        }
        if depth == 0 {
            self.top_is_component = root.get("kind").and_then(Node::as_str) == Some("Component");
            self.sort_options = root
                .get("sortOptions")
                .filter(|o| !o.is_null())
                .map(|o| o.to_json().to_string());
        }
        let mut entries: Vec<(&str, Entry, Option<&Node>)> = Vec::new();
        for (field, kind) in LIST_FIELDS {
            for item in root.get(field).and_then(Node::as_seq).unwrap_or_default() {
                match item.as_str() {
                    // kustomize reads such a string as YAML first.
                    Some(s) if *kind == Entry::Config && s.contains(['\n', ':', '{']) => {
                        return Err(Refusal::NotLocal(format!(
                            "{shown} has a plugin configuration written inline, which kslint cannot check"
                        )));
                    }
                    Some(s) => entries.push((s, *kind, None)),
                    // A plugin configuration written inline.
                    None if *kind == Entry::Config => {
                        if let Some(remote) = remote_in_node(item) {
                            return Err(Refusal::NotLocal(format!(
                                "{shown} names `{remote}`, which kustomize would fetch"
                            )));
                        }
                    }
                    None => {}
                }
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
                        entries.extend(
                            file.as_str().map(|s| {
                                (s.split_once('=').map_or(s, |(_, p)| p), Entry::File, None)
                            }),
                        );
                    }
                }
                entries.extend(
                    item.get("env")
                        .and_then(Node::as_str)
                        .map(|s| (s, Entry::File, None)),
                );
            }
        }
        // Bases first, so patches are kept in the order they apply.
        let mut own_patches = Vec::new();
        for (entry, kind, target) in entries {
            // An inline patch is YAML, not a path.
            if kind == Entry::Patch && entry.contains('\n') {
                continue;
            }
            if is_remote(entry) {
                return Err(Refusal::NotLocal(format!(
                    "its tree names `{entry}`, which kustomize would fetch"
                )));
            }
            // kustomize joins paths as text (`a/link/..` is `a`), not
            // through symbolic links.
            let path = lexical_join(dir, entry);
            // The tool follows links; kslint follows them first.
            if let Err(outside) = sources.tree().resolve(&path)
                && !matches!(outside, crate::tree::Outside::Unresolved(_))
            {
                return Err(Refusal::NotLocal(format!(
                    "its tree names `{entry}`, and {}",
                    outside.why()
                )));
            }
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {
                    if kind == Entry::Config {
                        // A folder of plugin configurations is built before
                        // it is used: kslint cannot tell what it would name.
                        return Err(Refusal::NotLocal(format!(
                            "its tree takes plugin configurations from the folder `{entry}`, which kslint cannot check"
                        )));
                    }
                    self.check(&path, sources, depth + 1)?;
                }
                Ok(meta) if meta.is_file() && meta.len() > sources.max_file_size() => {
                    // The tool would read it whole, with no limit of its own.
                    return Err(Refusal::NotLocal(format!(
                        "its tree names `{entry}`, which is {} bytes, over the limit of {} bytes (raise it with --max-file-size)",
                        meta.len(),
                        sources.max_file_size()
                    )));
                }
                Ok(meta) if meta.is_file() => {
                    let real = path.canonicalize().unwrap_or(path);
                    if kind == Entry::Patch {
                        own_patches.push(PatchFile::new(PatchSource::File(real.clone()), target));
                    }
                    // Data files are the tool's to read; manifests, patches
                    // and plugin configurations are kslint's too.
                    if kind == Entry::File || meta.len() > READ_LIMIT {
                        continue;
                    }
                    let read = sources.read(&real).map(|(_, text)| text);
                    if kind == Entry::Config {
                        // A plugin's configuration may itself name URLs.
                        let config = super::trace::shown(&real);
                        let unreadable_config = |why: String| {
                            Refusal::NotLocal(format!(
                                "kslint cannot read {config} as kustomize does ({why})"
                            ))
                        };
                        let text = read.map_err(|e| unreadable_config(e.to_string()))?;
                        if let Some(trap) = yaml_trap(text) {
                            return Err(unreadable_config(format!("it uses {trap}")));
                        }
                        if let Some(remote) = remote_in(text).map_err(unreadable_config)? {
                            return Err(Refusal::NotLocal(format!(
                                "{} names `{remote}`, which kustomize would fetch",
                                super::trace::shown(&real)
                            )));
                        }
                    }
                }
                Ok(_) => {
                    // A pipe or device could block the tool for ever.
                    return Err(Refusal::NotLocal(format!(
                        "its tree names `{entry}`, which is neither a file nor a folder"
                    )));
                }
                Err(_) if matches!(kind, Entry::Folder | Entry::Config) => {
                    // kustomize reads a missing folder as a git repository.
                    return Err(Refusal::NotLocal(format!(
                        "its tree names `{entry}`, which is no local file or folder, so kustomize would try to fetch it"
                    )));
                }
                // A missing data file or patch (or a one-line inline patch)
                // fetches nothing: the tool reads it or says what is wrong.
                Err(_) => {}
            }
        }
        self.patch_files.extend(own_patches);
        for item in root
            .get("patches")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            if let Some(patch) = item.get("patch").filter(|p| p.as_str().is_some()) {
                self.add_inline(patch, item.get("target"), sources);
            }
        }
        for field in ["patchesStrategicMerge", "patchesJson6902"] {
            for item in root.get(field).and_then(Node::as_seq).unwrap_or_default() {
                if item.as_str().is_some_and(|s| s.contains('\n')) {
                    self.add_inline(item, None, sources);
                } else if let Some(patch) = item.get("patch").filter(|p| p.as_str().is_some()) {
                    self.add_inline(patch, item.get("target"), sources);
                }
            }
        }
        Ok(())
    }

    /// Keeps an inline patch's documents, placed in its kustomization.
    fn add_inline(&mut self, patch: &Node, target: Option<&Node>, sources: &Sources) {
        let text = patch.as_str().unwrap_or("");
        if let Ok(docs) = super::patch::inline(text, patch.span, sources) {
            self.patch_files
                .push(PatchFile::new(PatchSource::Inline(docs), target));
        }
    }

    /// Every patch document, latest first: strategic merge patches as
    /// they are, JSON 6902 operations as the object they write.
    fn patch_documents(&self, sources: &mut Sources) -> Vec<PatchDocument> {
        let mut out = Vec::new();
        for patch in self.patch_files.iter().rev() {
            let documents = match &patch.source {
                PatchSource::File(path) => match sources.read(path) {
                    Ok((base, text)) => yaml::parse_stream_at(text, base, yaml::Limits::default())
                        .documents
                        .into_iter()
                        .map(|d| d.root)
                        .collect(),
                    Err(_) => Vec::new(),
                },
                PatchSource::Inline(docs) => docs.clone(),
            };
            for document in documents {
                let operations = document.as_seq().is_some();
                let node = if operations {
                    match operations_as_object(&document) {
                        Some(node) => node,
                        None => continue,
                    }
                } else {
                    document
                };
                let own = |path: &[&str]| node.path(path).and_then(Node::as_str).map(str::to_owned);
                // A patch names its object, or its entry's target does.
                let (kind, name) = if operations {
                    (patch.kind.clone(), patch.name.clone())
                } else {
                    (
                        own(&["kind"]).or_else(|| patch.kind.clone()),
                        own(&["metadata", "name"]).or_else(|| patch.name.clone()),
                    )
                };
                // A patch with no kind (a label selector alone) could be
                // meant for anything: it is not used to place values.
                if let Some(kind) = kind {
                    out.push(PatchDocument { node, kind, name });
                }
            }
        }
        out
    }
}

/// A patch document that may have set values of built objects.
struct PatchDocument {
    node: Node,
    kind: String,
    name: Option<String>,
}

/// A key anywhere in a kustomization that kustomize would read as a
/// path-naming field, though kslint's exact reading would not: the field
/// in another case, or any key that is not ASCII (Go folds some letters,
/// such as `ſ` to `s`).
fn odd_key(node: &Node) -> Option<String> {
    match &node.value {
        Value::Map(entries) => entries.iter().find_map(|e| {
            let odd = !e.key.is_ascii()
                || PATH_KEYS
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&e.key) && *k != e.key);
            if odd {
                Some(e.key.clone())
            } else {
                odd_key(&e.value)
            }
        }),
        Value::Seq(items) => items.iter().find_map(odd_key),
        _ => None,
    }
}

/// The first string of a YAML text that names something remote; an error
/// when the text is not YAML kslint reads as kustomize would.
fn remote_in(text: &str) -> Result<Option<String>, String> {
    let stream = yaml::parse_stream(text, yaml::Limits::default());
    if let Some(error) = stream.errors.first() {
        return Err(error.message.clone());
    }
    if stream
        .documents
        .iter()
        .any(|d| !d.duplicate_keys.is_empty())
    {
        return Err("a key is written twice".to_owned());
    }
    Ok(stream
        .documents
        .iter()
        .find_map(|d| remote_in_node(&d.root)))
}

fn remote_in_node(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) if is_remote(s) => Some(s.clone()),
        Value::Seq(items) => items.iter().find_map(remote_in_node),
        Value::Map(entries) => entries.iter().find_map(|e| {
            if is_remote(&e.key) {
                Some(e.key.clone())
            } else {
                remote_in_node(&e.value)
            }
        }),
        _ => None,
    }
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
    /// The tree's patches, latest first.
    patches: Vec<PatchDocument>,
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
                let objects = self.objects(path);
                // The longest name wins: `web-api`, not `web`, for `prod-web-api`.
                let source = objects
                    .iter()
                    .filter(|o| same_object(o, &kind, &name))
                    .max_by_key(|o| {
                        o.path(&["metadata", "name"])
                            .and_then(Node::as_str)
                            .map_or(0, str::len)
                    })
                    .cloned();
                // Without the object itself, its kind's first (or the
                // file's first) line is a guess: everything is approximate.
                let guess = source.as_ref().map(|s| s.span).or_else(|| {
                    objects
                        .iter()
                        .find(|o| o.get("kind").and_then(Node::as_str) == Some(kind.as_str()))
                        .or_else(|| objects.first())
                        .map(|o| o.span)
                });
                (source, guess.map(|s| self.first_line(s)))
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
                        .filter(|g| {
                            g.get("name")
                                .and_then(Node::as_str)
                                .is_some_and(|n| derives_from(&name, n))
                        })
                        .max_by_key(|g| g.get("name").and_then(Node::as_str).map_or(0, str::len))
                        .map(|g| g.span)
                });
                let whole = entry.or_else(|| self.objects(path).first().map(|k| k.span));
                (None, whole.map(|s| self.first_line(s)))
            }
            Origin::Unknown => (None, None),
        };
        let whole = whole.unwrap_or_default();
        let mut candidates: Vec<Option<&Node>> = self
            .patches
            .iter()
            .filter(|p| p.kind == kind && p.name.as_deref().is_none_or(|n| derives_from(&name, n)))
            .map(|p| Some(&p.node))
            .collect();
        candidates.push(source.as_ref());
        place_node(object, &candidates, whole, &mut self.approximate);
        if let Some(source) = &source {
            object.span = source.span;
        }
    }
}

/// Whether a built name comes from a source name: the same, or with a
/// prefix, suffix or hash joined by `-` or `.` (`web` gives `prod-web`,
/// not `myweb`).
fn derives_from(built: &str, source: &str) -> bool {
    if source.is_empty() {
        return false;
    }
    built.match_indices(source).any(|(at, _)| {
        let before = built[..at].chars().next_back();
        let after = built[at + source.len()..].chars().next();
        before.is_none_or(|c| matches!(c, '-' | '.'))
            && after.is_none_or(|c| matches!(c, '-' | '.'))
    })
}

/// Whether a source object is the built one: the same kind, and a name
/// the built one derives from.
fn same_object(candidate: &Node, kind: &str, name: &str) -> bool {
    candidate.get("kind").and_then(Node::as_str) == Some(kind)
        && candidate
            .path(&["metadata", "name"])
            .and_then(Node::as_str)
            .is_some_and(|n| derives_from(name, n))
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
        // Appends have no known place; deep or far paths are not worth the
        // memory their padding would take.
        if segments.len() > 64
            || segments
                .iter()
                .any(|s| s == "-" || s.parse::<usize>().is_ok_and(|i| i > 1000))
        {
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
            let by_key: Vec<HashMap<&str, &yaml::Entry>> = candidates
                .iter()
                .map(|c| {
                    c.and_then(Node::as_map)
                        .unwrap_or_default()
                        .iter()
                        .map(|e| (e.key.as_str(), e))
                        .collect()
                })
                .collect();
            for entry in entries {
                let below: Vec<Option<&yaml::Entry>> = by_key
                    .iter()
                    .map(|keys| keys.get(entry.key.as_str()).copied())
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
            // Each candidate list's items by name, once: long lists stay
            // linear.
            let by_name: Vec<HashMap<&str, &Node>> = candidates
                .iter()
                .map(|c| {
                    let mut names = HashMap::new();
                    for x in c.and_then(Node::as_seq).unwrap_or_default() {
                        if let Some(name) = x.get("name").and_then(Node::as_str) {
                            names.entry(name).or_insert(x);
                        }
                    }
                    names
                })
                .collect();
            for (i, item) in items.iter_mut().enumerate() {
                let name = item.get("name").and_then(Node::as_str).map(str::to_owned);
                let aligned: Vec<Option<&Node>> = candidates
                    .iter()
                    .zip(&by_name)
                    .map(|(c, names)| {
                        let list = (*c)?.as_seq()?;
                        // List items with names (containers, volumes,
                        // ports) are matched by name, as merges do; else,
                        // or against a nameless item (an operation's), by
                        // place.
                        name.as_deref()
                            .and_then(|name| names.get(name).copied())
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
    fn tool_errors_lose_the_log_prefix() {
        let stderr = "# Warning: 'vars' is deprecated.\nE1128 17:20:30.236127     960 run.go:72] \"command failed\" err=\"accumulating resources: 'x' must resolve to a file\"\n";
        assert_eq!(
            tool_error(stderr),
            "accumulating resources: 'x' must resolve to a file"
        );
        assert_eq!(tool_error("Error: no such file\n"), "Error: no such file");
        let stderr = "E1128 17:22:29.741419 2829 run.go:72] \"command failed\" err=<\n\taccumulating resources:\n\tmissing\n >\n";
        assert_eq!(tool_error(stderr), "accumulating resources: missing");
    }

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
