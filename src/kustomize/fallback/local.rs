//! The locality check: before the real tool runs, every path the
//! kustomization tree names must be a local file or folder inside the
//! tree, because kustomize fetches remote bases and URLs on its own and
//! follows links wherever they lead.

use super::super::{FILE_NAMES, Sources, is_remote, lexical_join, trace};
use super::Refusal;
use super::origin::{PatchDocument, operations_as_object};
use crate::tree::Tree;
use crate::yaml::{self, Node, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
pub(super) struct Survey {
    seen: HashSet<PathBuf>,
    /// Patches in the order kustomize applies them: a base's before its
    /// overlay's.
    patch_files: Vec<PatchFile>,
    pub(super) top_is_component: bool,
    /// The top kustomization's `sortOptions`, as JSON.
    pub(super) sort_options: Option<String>,
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
    pub(super) fn check(
        &mut self,
        dir: &Path,
        sources: &mut Sources,
        depth: usize,
    ) -> Result<(), Refusal> {
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
        if let Ok(docs) = super::super::patch::inline(text, patch.span, sources) {
            self.patch_files
                .push(PatchFile::new(PatchSource::Inline(docs), target));
        }
    }

    /// Every patch document, latest first: strategic merge patches as
    /// they are, JSON 6902 operations as the object they write.
    pub(super) fn patch_documents(&self, sources: &mut Sources) -> Vec<PatchDocument> {
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
