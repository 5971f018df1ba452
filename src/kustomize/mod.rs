//! A native `kustomize build` (Kustomize v5, as `kubectl kustomize`
//! embeds it): resources, components, generators and the built-in
//! transformers, with load restrictions and no network, plugins or exec.
//!
//! Every file a build reads is laid end to end in one address space
//! ([`Sources`]), so each span of the output names the file and place that
//! set it: the base, the patch, or the kustomization field of the
//! transformer that wrote it. Features the engine does not implement are an
//! [`Error::Unsupported`], so a caller can fall back to the real tool.

pub mod builds;
pub mod emit;
pub mod fallback;
mod generate;
mod patch;
mod pattern;
mod replace;
mod res;
pub mod trace;
mod transform;
mod vars;

pub(crate) use crate::source::lexical_join;
use crate::tree::{ReadError, Tree};
use crate::yaml::{self, Node, Span, Value};
use res::Res;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

/// The names a kustomization file may have.
pub const FILE_NAMES: &[&str] = crate::source::KUSTOMIZATION_FILES;

/// Why a build failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The kustomization is wrong (a missing file, a patch with no target,
    /// a cycle): `at` is where, in the [`Sources`] address space.
    Invalid {
        /// What is wrong, for the user.
        message: String,
        /// The offending place.
        at: Span,
    },
    /// It uses a feature this engine does not implement.
    Unsupported {
        /// The feature, as the kustomization names it.
        feature: String,
        /// Where it is used.
        at: Span,
    },
}

impl Error {
    fn invalid(message: impl Into<String>, at: Span) -> Self {
        Error::Invalid {
            message: message.into(),
            at,
        }
    }

    fn unsupported(feature: impl Into<String>, at: Span) -> Self {
        Error::Unsupported {
            feature: feature.into(),
            at,
        }
    }
}

/// The most kustomizations one build may visit: diamonds (each including
/// the next two) would otherwise take exponential time.
const MAX_VISITS: usize = 10_000;

/// The most objects one build may output.
pub const MAX_OBJECTS: usize = 20_000;

/// The most work one build may do, in nodes (objects loaded, patches
/// applied, values copied by replacements; long strings count one node
/// per 64 bytes). Far above any real build; a bomb of copies stops here.
const MAX_WORK: usize = 2_000_000;

/// The files a build read, each at its own offset of one address space,
/// and what it may still read and do.
#[derive(Debug)]
pub struct Sources {
    files: Vec<(PathBuf, usize, Arc<str>)>,
    /// Keyed by the bytes of the path: hashing a `Path` walks its parts.
    by_path: std::collections::HashMap<std::ffi::OsString, usize>,
    next: usize,
    tree: Arc<Tree>,
    max_file_size: u64,
    /// The run's parsed files, shared by its builds.
    parsed: Option<Arc<crate::parsed::ParsedFiles>>,
    visits: usize,
    work: AtomicUsize,
    /// What patches removed, to blame a missing setting on the patch.
    pub removals: Vec<Removal>,
}

/// A setting a patch removed from an object (a JSON 6902 `remove`, a
/// strategic merge `null` or `$patch: delete`). Spans are in the build's
/// [`Sources`].
#[derive(Debug, Clone)]
pub struct Removal {
    /// The mapping or list that lost it.
    pub parent: Span,
    /// The key (or list index) removed.
    pub key: String,
    /// The value removed, where the base wrote it.
    pub removed: Span,
    /// The patch operation that removed it.
    pub by: Span,
}

impl Sources {
    /// A build that reads only files of `tree`, each at most
    /// `max_file_size` bytes.
    pub fn within(tree: Arc<Tree>, max_file_size: u64) -> Self {
        // Offset 0 stays unused: an empty span means "made by no file".
        Sources {
            files: Vec::new(),
            by_path: std::collections::HashMap::new(),
            next: 1,
            tree,
            max_file_size,
            parsed: None,
            visits: 0,
            work: AtomicUsize::new(0),
            removals: Vec::new(),
        }
    }

    /// Takes parsed files from (and leaves them in) the run's cache.
    pub fn with_parsed(mut self, parsed: Arc<crate::parsed::ParsedFiles>) -> Self {
        self.parsed = Some(parsed);
        self
    }

    /// The tree this build reads.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The largest file this build reads.
    pub fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    /// Reads a file of the tree (once), returning its base offset and text.
    fn read(&mut self, path: &Path) -> Result<(usize, &str), ReadError> {
        if let Some(&i) = self.by_path.get(path.as_os_str()) {
            let (_, base, text) = &self.files[i];
            return Ok((*base, text));
        }
        let text = self.tree.read_utf8(path, self.max_file_size)?;
        let base = self.add(path, text.into());
        Ok((base, &self.files.last().expect("just added").2))
    }

    /// A file's bytes as they are, for a generator that takes any content
    /// (not UTF-8 text goes to a ConfigMap's `binaryData`).
    fn read_bytes(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        self.tree.read(path, self.max_file_size)
    }

    /// Places a file's text in the address space, at the returned base.
    fn add(&mut self, path: &Path, text: Arc<str>) -> usize {
        let base = self.next;
        // One byte between files keeps an end-of-file span in its file.
        self.next += text.len() + 1;
        self.by_path
            .insert(path.as_os_str().to_owned(), self.files.len());
        self.files.push((path.to_path_buf(), base, text));
        base
    }

    /// Reads and parses a YAML file of the tree, spans in this build's
    /// address space. Through the run's cache when there is one: a file
    /// several builds read is parsed once.
    fn parse(&mut self, path: &Path) -> Result<yaml::Stream, ReadError> {
        let known = self.by_path.get(path.as_os_str()).copied();
        if let Some(parsed) = &self.parsed
            && let Some(file) = parsed.get(&self.tree, path)
        {
            let base = match known {
                Some(i) => self.files[i].1,
                None => self.add(path, file.text.clone()),
            };
            return Ok(crate::parsed::shifted(&file.stream, base));
        }
        let (base, text) = self.read(path)?;
        Ok(yaml::parse_stream_at(text, base, yaml::Limits::default()))
    }

    /// Counts a kustomization visited by this build.
    fn visit(&mut self, at: Span) -> Result<(), Error> {
        self.visits += 1;
        if self.visits > MAX_VISITS {
            return Err(Error::invalid(
                format!(
                    "this build includes kustomizations more than {MAX_VISITS} times (bases that include each other in a diamond?); kslint stopped building it"
                ),
                at,
            ));
        }
        Ok(())
    }

    /// Counts work done on `node` (patching or copying it).
    fn spend(&self, node: &Node, times: usize, at: Span) -> Result<(), Error> {
        self.spend_units(node.weight().saturating_mul(times), at)
    }

    /// Counts work, in nodes.
    fn spend_units(&self, cost: usize, at: Span) -> Result<(), Error> {
        use std::sync::atomic::Ordering;
        let spent = self
            .work
            .fetch_add(cost, Ordering::Relaxed)
            .saturating_add(cost);
        if spent > MAX_WORK {
            return Err(Error::invalid(
                format!(
                    "this build makes more than {MAX_WORK} nodes of output (patches or replacements that copy values over and over?); kslint stopped building it"
                ),
                at,
            ));
        }
        Ok(())
    }

    /// Every file read, in order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(p, _, _)| p.as_path())
    }

    /// The file and local span of a span.
    pub fn locate(&self, span: Span) -> Option<(&Path, &str, Span)> {
        if span == Span::default() {
            return None;
        }
        let start = span.start as usize;
        // Files are laid out in the order read: the last one that starts
        // at or before the span holds it, if any does.
        let after = self.files.partition_point(|(_, base, _)| *base <= start);
        let (path, base, text) = self.files.get(after.checked_sub(1)?)?;
        (start <= base + text.len()).then(|| {
            let local = Span::new(start - base, span.end as usize - base);
            (path.as_path(), &**text, local)
        })
    }
}

/// A kustomization file, read.
struct Kustomization {
    dir: PathBuf,
    root: Node,
    is_component: bool,
}

impl Kustomization {
    fn field(&self, key: &str) -> Option<&Node> {
        self.root.get(key).filter(|n| !n.is_null())
    }

    fn strings(&self, key: &str) -> Vec<(&str, Span)> {
        self.field(key)
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.as_str().map(|s| (s, n.span)))
            .collect()
    }
}

/// The fields this engine builds; any other (openapi, helmCharts, ...) makes the build unsupported.
const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "sortOptions",
    "buildMetadata",
    "replacements",
    "vars",
    "configurations",
    "transformers",
];

/// Builds the kustomization in `dir`: its output objects, in the order
/// kustomize writes them (`sortOptions`, legacy by default).
pub fn build(dir: &Path, sources: &mut Sources) -> Result<Vec<Node>, Error> {
    let dir = &dir.canonicalize().map_err(|e| {
        Error::invalid(
            format!("cannot read {}: {e}", dir.display()),
            Span::default(),
        )
    })?;
    let mut chain = Vec::new();
    let top = read_kustomization(dir, sources, Span::default()).ok();
    // A Component may be built on its own, as kustomize allows.
    let top_is_component = top.as_ref().is_some_and(|k| k.is_component);
    let order = match &top {
        Some(top) => sort_order(top)?,
        None => Some(legacy_order(DEFAULT_ORDER_FIRST, DEFAULT_ORDER_LAST)),
    };
    let mut extras = vars::Extras::default();
    let mut resources = accumulate(
        dir,
        sources,
        &mut chain,
        Vec::new(),
        &mut extras,
        top_is_component,
    )?;
    generate::add_hashes(&mut resources);
    transform::fix_name_references(&mut resources, &extras.name_references);
    // Vars take their values once every name is final, as kustomize
    // resolves them at the top of a build only.
    extras.resolve(&mut resources, sources)?;
    resources.retain(|r| {
        r.node
            .path(&[
                "metadata",
                "annotations",
                "config.kubernetes.io/local-config",
            ])
            .is_none_or(|v| v.as_str() == Some("false"))
    });
    if let Some(order) = &order {
        resources.sort_by(|a, b| legacy_cmp(a, b, order));
    }
    let mut out: Vec<Node> = resources.into_iter().map(|r| r.node).collect();
    for node in &mut out {
        transform::strip_build_annotations(node);
    }
    Ok(out)
}

/// kustomize's legacy order: these kinds first, in this order...
const DEFAULT_ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// ...and these last.
const DEFAULT_ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Each kind's rank in a legacy order (0 for kinds in neither list).
type KindRanks = std::collections::HashMap<String, i64>;

fn legacy_order(first: &[&str], last: &[&str]) -> KindRanks {
    let mut ranks = KindRanks::new();
    for (i, kind) in first.iter().enumerate() {
        ranks.insert((*kind).to_owned(), i as i64 - first.len() as i64);
    }
    for (i, kind) in last.iter().enumerate() {
        ranks.insert((*kind).to_owned(), 1 + i as i64);
    }
    ranks
}

/// The output order `sortOptions` asks for: `None` keeps the order of
/// accumulation (`fifo`); without `sortOptions`, the legacy order.
fn sort_order(k: &Kustomization) -> Result<Option<KindRanks>, Error> {
    let Some(options) = k.field("sortOptions") else {
        return Ok(Some(legacy_order(DEFAULT_ORDER_FIRST, DEFAULT_ORDER_LAST)));
    };
    let legacy_options = options.get("legacySortOptions").filter(|o| !o.is_null());
    match options.get("order").and_then(Node::as_str) {
        Some("fifo") if legacy_options.is_some() => Err(Error::invalid(
            "`sortOptions.legacySortOptions` is set but the order is fifo, not legacy",
            options.span,
        )),
        Some("fifo") => Ok(None),
        Some("legacy") => Ok(Some(match legacy_options {
            None => legacy_order(DEFAULT_ORDER_FIRST, DEFAULT_ORDER_LAST),
            Some(o) => {
                let kinds = |key: &str| -> Vec<&str> {
                    o.get(key)
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(Node::as_str)
                        .collect()
                };
                legacy_order(&kinds("orderFirst"), &kinds("orderLast"))
            }
        })),
        _ => Err(Error::invalid(
            "`sortOptions.order` must be legacy or fifo",
            options.span,
        )),
    }
}

/// `text`, or kustomize's marker for an empty field in sort keys.
fn or_marker<'t>(text: &'t str, none: &'static str) -> &'t str {
    if text.is_empty() { none } else { text }
}

/// kustomize's legacy comparison: by kind rank, then group, version and
/// kind, then namespace and name.
fn legacy_cmp(a: &Res, b: &Res, ranks: &KindRanks) -> std::cmp::Ordering {
    let ((group_a, version_a), (group_b, version_b)) = (a.group_version(), b.group_version());
    let gvk = |group: &str, version: &str, kind: &str| {
        format!(
            "{}_{}_{}",
            or_marker(group, "~G"),
            or_marker(version, "~V"),
            or_marker(kind, "~K")
        )
    };
    if (group_a, version_a, a.kind()) != (group_b, version_b, b.kind()) {
        let rank = |r: &Res| ranks.get(r.kind()).copied().unwrap_or(0);
        let by_rank = rank(a).cmp(&rank(b));
        if by_rank.is_ne() {
            return by_rank;
        }
        let by_gvk = gvk(group_a, version_a, a.kind()).cmp(&gvk(group_b, version_b, b.kind()));
        // kustomize orders core Namespaces after grouped ones.
        if a.kind() == "Namespace"
            && b.kind() == "Namespace"
            && (group_a.is_empty() || group_b.is_empty())
        {
            return by_gvk.reverse();
        }
        return by_gvk;
    }
    let id = |r: &Res| {
        let (group, version) = r.group_version();
        let or = or_marker;
        format!(
            "{}.{}.{}|{}|{}",
            or(r.kind(), "[noKind]"),
            or(version, "[noVer]"),
            or(group, "[noGrp]"),
            or(r.namespace(), "~X"),
            or(r.name(), "~N")
        )
    };
    id(a).cmp(&id(b))
}

fn read_kustomization(dir: &Path, sources: &mut Sources, at: Span) -> Result<Kustomization, Error> {
    let found: Vec<PathBuf> = FILE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .filter(|p| p.is_file())
        .collect();
    let path = match &found[..] {
        [one] => one.clone(),
        [] => {
            return Err(Error::invalid(
                format!(
                    "{} holds no kustomization.yaml, kustomization.yml or Kustomization",
                    dir.display()
                ),
                at,
            ));
        }
        _ => {
            return Err(Error::invalid(
                format!("{} holds more than one kustomization file", dir.display()),
                at,
            ));
        }
    };
    let stream = sources
        .parse(&path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display()), at))?;
    if let Some(error) = stream.errors.first() {
        return Err(Error::invalid(
            format!("invalid YAML in {}: {}", path.display(), error.message),
            error.span,
        ));
    }
    let root = stream
        .documents
        .into_iter()
        .next()
        .map(|d| d.root)
        .filter(|r| !r.is_null())
        .ok_or_else(|| Error::invalid(format!("{} is empty", path.display()), at))?;
    let Some(entries) = root.as_map() else {
        return Err(Error::invalid(
            format!("{} is not a mapping", path.display()),
            root.span,
        ));
    };
    for entry in entries {
        if !KNOWN_FIELDS.contains(&entry.key.as_str()) {
            return Err(Error::unsupported(
                format!("`{}`", entry.key),
                entry.key_span,
            ));
        }
        if entry.key == "buildMetadata" && entry.value.as_seq().is_some_and(|s| !s.is_empty()) {
            return Err(Error::unsupported("`buildMetadata`", entry.key_span));
        }
    }
    let kind = root
        .get("kind")
        .and_then(Node::as_str)
        .unwrap_or("Kustomization");
    if !matches!(kind, "Kustomization" | "Component") {
        return Err(Error::invalid(
            "kind should be Kustomization or Component",
            root.get("kind").map_or(at, |k| k.span),
        ));
    }
    let expected = if kind == "Component" {
        "kustomize.config.k8s.io/v1alpha1"
    } else {
        "kustomize.config.k8s.io/v1beta1"
    };
    if let Some(version) = root.get("apiVersion").and_then(Node::as_str)
        && version != expected
    {
        return Err(Error::invalid(
            format!("the apiVersion of a {kind} must be {expected}"),
            root.get("apiVersion").map_or(at, |v| v.span),
        ));
    }
    Ok(Kustomization {
        dir: dir.to_path_buf(),
        is_component: kind == "Component",
        root,
    })
}

/// Builds one kustomization onto `resources` (its parent's, for a
/// component; empty otherwise): resources, generators, components, then
/// transformers.
fn accumulate(
    dir: &Path,
    sources: &mut Sources,
    chain: &mut Vec<PathBuf>,
    mut resources: Vec<Res>,
    extras: &mut vars::Extras,
    as_component: bool,
) -> Result<Vec<Res>, Error> {
    let at = Span::default();
    sources.visit(at)?;
    let canonical = sources.tree.resolve(dir).map_err(|outside| {
        Error::invalid(
            format!("`{}` cannot be built: {}", trace::shown(dir), outside.why()),
            at,
        )
    })?;
    if let Some(visited) = chain.iter().find(|v| v.starts_with(&canonical)) {
        return Err(Error::invalid(
            format!(
                "a cycle: {} includes {}, which is already being built",
                trace::shown(&canonical),
                trace::shown(visited)
            ),
            at,
        ));
    }
    if chain.len() >= 64 {
        return Err(Error::invalid(
            "kustomizations include each other more than 64 deep",
            at,
        ));
    }
    let kustomization = read_kustomization(&canonical, sources, at)?;
    if kustomization.is_component != as_component {
        let message = if as_component {
            "a `components` entry must be a kustomization of kind Component"
        } else {
            "a kustomization of kind Component belongs under `components`, not `resources`"
        };
        return Err(Error::invalid(message, kustomization.root.span));
    }
    chain.push(canonical.clone());
    let result = accumulate_in(&kustomization, sources, chain, &mut resources, extras);
    chain.pop();
    result.map(|()| resources)
}

fn accumulate_in(
    k: &Kustomization,
    sources: &mut Sources,
    chain: &mut Vec<PathBuf>,
    resources: &mut Vec<Res>,
    extras: &mut vars::Extras,
) -> Result<(), Error> {
    let mut entries = k.strings("resources");
    entries.extend(k.strings("bases"));
    let mut ids: std::collections::HashSet<res::Id> = resources.iter().map(Res::id).collect();
    for (entry, span) in entries {
        if is_remote(entry) {
            return Err(Error::invalid(
                format!(
                    "`{entry}` is a remote resource; kslint never reaches the network, so it was not built"
                ),
                span,
            ));
        }
        if Path::new(entry).is_absolute() {
            return Err(Error::invalid(
                format!("`{entry}` is an absolute path; kslint only builds files inside the tree"),
                span,
            ));
        }
        let path = lexical_join(&k.dir, entry);
        // Outside the tree, whether it exists is no business of the build.
        outside_check(sources, &path, entry, span)?;
        if path.is_dir() {
            let mut included = vars::Extras::default();
            let built = accumulate(&path, sources, chain, Vec::new(), &mut included, false)
                .map_err(|e| at_entry(e, span))?;
            append(resources, &mut ids, built, span)?;
            extras.merge(included, span)?;
        } else {
            let file = restricted(&k.dir, entry, span)?;
            let loaded = load_resources(&file, sources, span)?;
            append(resources, &mut ids, loaded, span)?;
        }
    }
    extras.read_configurations(k, sources)?;
    generate::run(k, sources, resources)?;
    for (entry, span) in k.strings("components") {
        if is_remote(entry) {
            return Err(Error::invalid(
                format!(
                    "`{entry}` is a remote component; kslint never reaches the network, so it was not built"
                ),
                span,
            ));
        }
        if Path::new(entry).is_absolute() {
            return Err(Error::invalid(
                format!(
                    "`{entry}` is an absolute path; kustomize refuses absolute component roots"
                ),
                span,
            ));
        }
        let path = lexical_join(&k.dir, entry);
        outside_check(sources, &path, entry, span)?;
        if !path.is_dir() {
            return Err(Error::invalid(
                format!("the component `{entry}` is not a folder"),
                span,
            ));
        }
        let taken = std::mem::take(resources);
        *resources = accumulate(&path, sources, chain, taken, extras, true)
            .map_err(|e| at_entry(e, span))?;
    }
    transform::run(k, sources, resources, extras)?;
    extras.declare_vars(k, resources)
}

/// Refuses a path that leads outside the tree, before anything asks whether
/// it exists.
fn outside_check(sources: &Sources, path: &Path, entry: &str, span: Span) -> Result<(), Error> {
    match sources.tree.resolve(path) {
        Err(outside) if !matches!(outside, crate::tree::Outside::Unresolved(_)) => Err(
            Error::invalid(format!("`{entry}` cannot be read: {}", outside.why()), span),
        ),
        _ => Ok(()),
    }
}

/// An error in a nested kustomization with no place of its own is shown at
/// the entry that names it.
fn at_entry(error: Error, span: Span) -> Error {
    match error {
        Error::Invalid { message, at } if at == Span::default() => {
            Error::Invalid { message, at: span }
        }
        Error::Unsupported { feature, at } if at == Span::default() => {
            Error::Unsupported { feature, at: span }
        }
        other => other,
    }
}

/// Adds objects to a build, refusing an id it already has (`ids` holds
/// the ids of `resources`, kept from entry to entry: rebuilt for each, a
/// long `resources` list would cost its square).
fn append(
    resources: &mut Vec<Res>,
    ids: &mut std::collections::HashSet<res::Id>,
    more: Vec<Res>,
    span: Span,
) -> Result<(), Error> {
    if resources.len() + more.len() > MAX_OBJECTS {
        return Err(Error::invalid(
            format!(
                "this build makes more than {MAX_OBJECTS} objects (bases included over and over?); kslint stopped building it"
            ),
            span,
        ));
    }
    for res in more {
        let id = res.id();
        if !ids.insert(id.clone()) {
            return Err(Error::invalid(
                format!("{} {} is defined twice in this build", id.kind, id.name),
                span,
            ));
        }
        resources.push(res);
    }
    Ok(())
}

/// What kustomize may treat as a remote base or file (a URL or a git
/// repository, as its repo spec parser reads them). Generous on purpose: a
/// local path that merely looks remote is refused, never fetched.
fn is_remote(entry: &str) -> bool {
    let lower = entry.trim().to_ascii_lowercase();
    let scheme = |p: &str| lower.starts_with(p);
    // `user@host:org/repo`, the scp-like form git accepts.
    let user_at = lower.split_once('@').is_some_and(|(user, _)| {
        user.starts_with(|c: char| c.is_ascii_alphabetic())
            && user.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    lower.contains("://")
        || [
            "http:",
            "https:",
            "ssh:",
            "file:",
            "git:",
            "git::",
            "gh:",
            "github.com",
        ]
        .iter()
        .any(|p| scheme(p))
        || user_at
        || [
            "?ref=",
            "?version=",
            "?timeout=",
            "?submodules=",
            "_git/",
            ".git/",
            ".git?",
            "//",
        ]
        .iter()
        .any(|p| lower.contains(p))
        || lower.ends_with(".git")
}

/// A file path inside the kustomization's folder (kustomize's default load
/// restrictor): no absolute paths, no `..` or symlink out of it.
fn restricted(root: &Path, entry: &str, span: Span) -> Result<PathBuf, Error> {
    if Path::new(entry).is_absolute() {
        return Err(Error::invalid(
            format!(
                "`{entry}` is an absolute path; a kustomization may only read files in or below its folder"
            ),
            span,
        ));
    }
    let path = lexical_join(root, entry);
    // Out of the folder as written: refused before anything is looked up.
    if !path.starts_with(root) {
        return Err(Error::invalid(
            format!(
                "`{entry}` is outside {}; a kustomization may only read files in or below its folder",
                trace::shown(root)
            ),
            span,
        ));
    }
    let resolved = path.canonicalize().map_err(|e| {
        Error::invalid(
            format!(
                "`{entry}` cannot be read: {}",
                crate::source::io_message(&e)
            ),
            span,
        )
    })?;
    // The tree's own check (kernel file systems) comes with the read.
    if !resolved.starts_with(root) {
        return Err(Error::invalid(
            format!(
                "`{entry}` is outside {}; a kustomization may only read files in or below its folder",
                trace::shown(root)
            ),
            span,
        ));
    }
    if !resolved.is_file() {
        return Err(Error::invalid(format!("`{entry}` is not a file"), span));
    }
    Ok(resolved)
}

/// The objects of a manifest file (a `List` is expanded).
fn load_resources(path: &Path, sources: &mut Sources, span: Span) -> Result<Vec<Res>, Error> {
    let stream = sources
        .parse(path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display()), span))?;
    let stream_len = stream
        .documents
        .iter()
        .map(|d| d.range.end - d.range.start)
        .sum::<u32>() as usize;
    if let Some(error) = stream.errors.first() {
        return Err(Error::invalid(
            format!("invalid YAML in {}: {}", path.display(), error.message),
            error.span,
        ));
    }
    if let Some((_, repeated)) = stream
        .documents
        .iter()
        .flat_map(|d| &d.duplicate_keys)
        .next()
    {
        return Err(Error::invalid(
            format!(
                "a key is written twice in {}; kustomize refuses the file",
                path.display()
            ),
            *repeated,
        ));
    }
    // Loading costs what the text holds: about a node per 16 bytes, counted
    // without walking the trees.
    sources.spend_units(stream_len / 16 + 1, span)?;
    let mut out = Vec::new();
    let mut queue: std::collections::VecDeque<Node> =
        stream.documents.into_iter().map(|d| d.root).collect();
    while let Some(node) = queue.pop_front() {
        if node.is_null() {
            continue;
        }
        let kind = node.get("kind").and_then(Node::as_str).unwrap_or("");
        if kind.is_empty() {
            return Err(Error::invalid(
                format!("an object in {} has no kind", path.display()),
                node.span,
            ));
        }
        if kind.ends_with("List") && node.get("items").is_some() {
            if let Some(Value::Seq(items)) = node.get("items").map(|i| &i.value) {
                queue.extend(items.iter().cloned());
            }
            continue;
        }
        if res::str_at(&node, &["metadata", "name"]).is_none_or(str::is_empty) {
            return Err(Error::invalid(
                format!("an object in {} has no metadata.name", path.display()),
                node.span,
            ));
        }
        let mut node = node;
        transform::strip_build_annotations(&mut node);
        out.push(Res::new(node));
    }
    Ok(out)
}

/// The folders a kustomization (the root of `dir`'s kustomization file)
/// names in `resources`, `bases` and `components` (canonical paths), to
/// find the top-level ones of a run.
pub fn referenced_folders(dir: &Path, root: &Node, tree: &Tree) -> Vec<PathBuf> {
    ["resources", "bases", "components"]
        .iter()
        .flat_map(|key| root.get(key).and_then(Node::as_seq).unwrap_or_default())
        .filter_map(Node::as_str)
        .filter(|entry| !is_remote(entry))
        .filter_map(|entry| tree.resolve(&lexical_join(dir, entry)).ok())
        .filter(|p| p.is_dir())
        .collect()
}

/// A successful build, written out, with the files it read.
#[derive(Debug)]
pub struct Built {
    /// The output and where each node of it came from.
    pub emitted: emit::Emitted,
    /// The files the build read.
    pub sources: Sources,
    /// Set when the real tool built it, not the native engine.
    pub fallback: Option<fallback::Fallback>,
    /// The files it read, parsed again when a finding's fix is made in
    /// one: once per file, however many findings it has.
    pub(crate) reparsed:
        std::sync::Mutex<std::collections::HashMap<PathBuf, Arc<crate::yaml::Stream>>>,
}

impl crate::outcome::SourceMap for Built {
    fn source_of(&self, span: Span) -> Option<(String, &str, Span)> {
        let origin = self.emitted.origin(span)?;
        let (path, text, local) = self.sources.locate(origin)?;
        Some((trace::shown(path), text, local))
    }
}

/// Builds and writes out the kustomization in `dir`.
pub fn build_and_emit(
    dir: &Path,
    tree: Arc<Tree>,
    max_file_size: u64,
    parsed: Arc<crate::parsed::ParsedFiles>,
) -> Result<Built, (Error, Box<Sources>)> {
    let mut sources = Sources::within(tree, max_file_size).with_parsed(parsed);
    match build(dir, &mut sources) {
        Ok(objects) => Ok(Built {
            emitted: emit::emit(objects),
            sources,
            fallback: None,
            reparsed: Default::default(),
        }),
        Err(error) => Err((error, Box::new(sources))),
    }
}
