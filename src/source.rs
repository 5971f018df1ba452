//! Finding and reading the files to lint.
//!
//! Discovery walks the given paths with ripgrep's `ignore` walker
//! (.gitignore, .ignore, hidden files), keeps `.yaml`, `.yml` and `.json`,
//! applies include and exclude globs, and leaves out unrendered Helm
//! templates. Problems with a path (a symlink loop, a missing file) are
//! returned beside the files, never raised: the run goes on.

use crate::tree::{Outside, Tree};
pub use crate::tree::{io_message, text_of};
use crate::yaml::line_index::LineIndex;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The names a kustomization file may have: a folder holding one is a
/// kustomization.
pub const KUSTOMIZATION_FILES: &[&str] =
    &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The tree of a run's inputs: what it may read (see [`Tree`]). Standard
/// input belongs to the current folder's repository.
pub fn tree_of(inputs: &[Input]) -> Tree {
    tree_with_overlays(inputs, None)
}

/// [`tree_of`], reading `overlays` in place of their files.
pub fn tree_with_overlays(inputs: &[Input], overlays: Option<crate::tree::Overrides>) -> Tree {
    let paths: Vec<&Path> = inputs
        .iter()
        .map(|input| match input {
            Input::Path(path) => path.as_path(),
            Input::Stdin => Path::new("."),
        })
        .collect();
    Tree::of(&paths).with_overrides(overlays)
}

/// Index of a file in the run's [`SourceDb`], in path order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// What the user asked to lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file or folder.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

/// A file chosen for linting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The path shown to users (`-` for stdin).
    pub name: String,
    /// Where to read it; `None` for stdin.
    pub path: Option<PathBuf>,
    /// Named on the command line rather than found by walking.
    pub explicit: bool,
}

/// A path that could not be walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathProblem {
    /// The path shown to users.
    pub name: String,
    /// What went wrong.
    pub message: String,
}

/// Which files to take.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// When non-empty, a file must match one of these.
    pub include: Vec<String>,
    /// Files matching any of these are left out.
    pub exclude: Vec<String>,
}

/// Builds a glob set where `*` does not cross `/`.
pub fn glob_set(patterns: &[String]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(
            globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()?,
        );
        // `vendor/**` should also match `vendor` itself and `deploy/vendor/…`
        // below the linted root, as a .gitignore pattern would.
        if !pattern.starts_with('/') && !pattern.starts_with("**/") {
            builder.add(Glob::new(&format!("**/{pattern}"))?);
        }
    }
    builder.build()
}

/// The result of discovery: files in path order, and path problems.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to lint, sorted by name, without duplicates.
    pub files: Vec<Candidate>,
    /// Paths that could not be read while walking.
    pub problems: Vec<PathProblem>,
    /// Helm chart folders (holding `Chart.yaml`), sorted.
    pub charts: Vec<PathBuf>,
    /// Kustomization folders (holding `kustomization.yaml`), sorted.
    pub kustomizations: Vec<PathBuf>,
    /// The size of the files found, in bytes: what bounds on generated
    /// output scale with.
    pub bytes: u64,
}

/// Walks the inputs. Links are followed only inside `tree`: one that
/// leads out of it, or into a kernel file system, is a problem, not a walk.
pub fn discover(
    inputs: &[Input],
    filters: &Filters,
    tree: &Tree,
) -> Result<Discovery, globset::Error> {
    let include = glob_set(&filters.include)?;
    let exclude = glob_set(&filters.exclude)?;
    let mut discovery = Discovery::default();
    let refused: Arc<Mutex<Vec<PathProblem>>> = Arc::default();
    // Keyed by the bytes of the path: hashing a `Path` walks its parts.
    let visited: Arc<Mutex<std::collections::HashSet<std::ffi::OsString>>> = Arc::default();
    for input in inputs {
        let root = match input {
            Input::Stdin => {
                discovery.files.push(Candidate {
                    name: "-".into(),
                    path: None,
                    explicit: true,
                });
                continue;
            }
            Input::Path(root) => root,
        };
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() && tree.resolve(root).is_err() => {
                let outside = tree.resolve(root).err();
                discovery.problems.push(PathProblem {
                    name: display_name(root),
                    message: outside.map_or_else(String::new, |o| o.why()),
                });
                continue;
            }
            Ok(meta) if !meta.is_dir() => {
                discovery.bytes += meta.len();
                discovery.files.push(Candidate {
                    name: display_name(root),
                    path: Some(root.clone()),
                    explicit: true,
                });
                continue;
            }
            Ok(_) => {}
            Err(error) => {
                discovery.problems.push(PathProblem {
                    name: display_name(root),
                    message: io_message(&error),
                });
                continue;
            }
        }
        let walk_tree = tree.clone();
        let walk_refused = refused.clone();
        let walk_visited = visited.clone();
        let walker = ignore::WalkBuilder::new(root)
            .follow_links(true)
            .require_git(false)
            .filter_entry(move |entry| {
                // A dangling link is the reader's to report.
                if (entry.path_is_symlink() || entry.depth() == 0)
                    && let Err(outside) = walk_tree.resolve(entry.path())
                    && !matches!(outside, Outside::Unresolved(_))
                {
                    let name = display_name(entry.path());
                    let message = outside.why();
                    if let Ok(mut refused) = walk_refused.lock() {
                        refused.push(PathProblem { name, message });
                    }
                    return false;
                }
                // Links to folders inside the tree are followed, but each
                // real folder is walked once: two links per level would
                // otherwise double the walk at every level.
                if entry.file_type().is_some_and(|t| t.is_dir())
                    && let Ok(real) = entry.path().canonicalize()
                    && let Ok(mut visited) = walk_visited.lock()
                    && !visited.insert(real.into_os_string())
                {
                    return false;
                }
                !is_chart_template_dir(entry.path())
            })
            .build();
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    discovery.problems.push(walk_problem(&error));
                    continue;
                }
            };
            if entry.file_type().is_some_and(|t| t.is_dir()) {
                if entry.path().join("Chart.yaml").is_file() {
                    // `chart/` and `chart` are one chart.
                    discovery.charts.push(entry.path().components().collect());
                }
                if KUSTOMIZATION_FILES
                    .iter()
                    .any(|name| entry.path().join(name).is_file())
                {
                    discovery
                        .kustomizations
                        .push(entry.path().components().collect());
                }
                continue;
            }
            if !has_manifest_extension(entry.path()) {
                continue;
            }
            let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
            let name = display_name(entry.path());
            let matches = |set: &GlobSet| set.is_match(&name) || set.is_match(relative);
            if matches(&exclude) || (!filters.include.is_empty() && !matches(&include)) {
                continue;
            }
            discovery.bytes += entry.metadata().map_or(0, |m| m.len());
            discovery.files.push(Candidate {
                name,
                path: Some(entry.into_path()),
                explicit: false,
            });
        }
    }
    discovery.charts.sort();
    discovery.charts.dedup();
    discovery.kustomizations.sort();
    discovery.kustomizations.dedup();
    // The same file named twice (`kslint a a/x.yaml`) is read once; two
    // files are never merged because their names look alike.
    discovery
        .files
        .sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
    discovery.files.dedup_by(|a, b| a.path == b.path);
    if let Ok(mut refused) = refused.lock() {
        discovery.problems.append(&mut refused);
    }
    Ok(discovery)
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        e.eq_ignore_ascii_case("yaml")
            || e.eq_ignore_ascii_case("yml")
            || e.eq_ignore_ascii_case("json")
    })
}

/// A Helm chart's `templates/` and `charts/` hold Go templates (or
/// subcharts with their own), not YAML; parsing them would only make noise.
fn is_chart_template_dir(path: &Path) -> bool {
    let is_template_dir = path
        .file_name()
        .is_some_and(|n| n == "templates" || n == "charts");
    is_template_dir
        && path
            .parent()
            .is_some_and(|chart| chart.join("Chart.yaml").is_file())
}

/// A path as shown to users: no leading `./`, and bytes that are not
/// UTF-8 written as `\xNN`, so two different names never look the same.
pub fn display_name(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut text = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        text.push_str(chunk.valid());
        for byte in chunk.invalid() {
            text.push_str(&format!("\\x{byte:02X}"));
        }
    }
    let trimmed = text.strip_prefix("./").unwrap_or(&text);
    if trimmed.is_empty() {
        ".".into()
    } else {
        trimmed.to_owned()
    }
}

/// `dir` joined with `entry` and cleaned as text, as Go's `filepath.Join`
/// does: `..` removes the part before it, whatever links are on disk.
pub fn lexical_join(dir: &Path, entry: &str) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for part in dir.components().chain(Path::new(entry).components()) {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(part),
            },
            Component::RootDir | Component::Prefix(_) => {
                out.clear();
                out.push(part);
            }
            Component::Normal(_) => out.push(part),
        }
    }
    out.iter().collect()
}

fn walk_problem(error: &ignore::Error) -> PathProblem {
    fn path_of(error: &ignore::Error) -> Option<&Path> {
        match error {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::Loop { child, .. } => Some(child),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            ignore::Error::Partial(errors) => errors.first().and_then(path_of),
            _ => None,
        }
    }
    fn message_of(error: &ignore::Error) -> String {
        match error {
            ignore::Error::WithPath { err, .. }
            | ignore::Error::WithDepth { err, .. }
            | ignore::Error::WithLineNumber { err, .. } => message_of(err),
            ignore::Error::Loop { ancestor, .. } => {
                format!("symbolic link loop back to {}", display_name(ancestor))
            }
            ignore::Error::Io(io) => io_message(io),
            other => other.to_string(),
        }
    }
    PathProblem {
        name: path_of(error).map_or_else(|| "?".into(), display_name),
        message: message_of(error),
    }
}

/// One file of the run, as read.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown to users.
    pub name: String,
    /// Its text (lossy if it was not UTF-8; empty if unreadable).
    pub text: Arc<str>,
    line_index: OnceLock<LineIndex>,
}

impl SourceFile {
    /// A file with its text.
    pub fn new(name: String, text: Arc<str>) -> Self {
        SourceFile {
            name,
            text,
            line_index: OnceLock::new(),
        }
    }

    /// Line starts, computed on first use.
    pub fn line_index(&self) -> &LineIndex {
        self.line_index.get_or_init(|| LineIndex::new(&self.text))
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: u32) -> crate::yaml::line_index::LineCol {
        self.line_index().line_col(&self.text, offset)
    }

    /// Where a span starts and ends, as lines and columns.
    pub fn range(
        &self,
        span: crate::yaml::Span,
    ) -> (
        crate::yaml::line_index::LineCol,
        crate::yaml::line_index::LineCol,
    ) {
        (self.line_col(span.start), self.line_col(span.end))
    }
}

/// Every file of a run, by [`FileId`].
#[derive(Debug, Default)]
pub struct SourceDb {
    files: Vec<SourceFile>,
    /// The first file of each name: builds look files up by name once per
    /// file they read.
    by_name: HashMap<String, FileId>,
}

impl SourceDb {
    /// A database of the given files; ids are their positions.
    pub fn new(files: Vec<SourceFile>) -> Self {
        let mut db = SourceDb {
            files: Vec::with_capacity(files.len()),
            by_name: HashMap::with_capacity(files.len()),
        };
        for file in files {
            db.push(file);
        }
        db
    }

    /// The file with this id.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// Adds a file found after the run's own (a Helm template, a values
    /// file), returning its id.
    pub fn push(&mut self, file: SourceFile) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.by_name.entry(file.name.clone()).or_insert(id);
        self.files.push(file);
        id
    }

    /// The file with this name, if the run has it.
    pub fn find(&self, name: &str) -> Option<FileId> {
        self.by_name.get(name).copied()
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A program on PATH. Empty and relative entries are skipped: they name
/// the current folder, which may be the repository being linted; so is a
/// program inside `tree`, which the change under review may have put there.
pub fn find_program(name: &str, tree: &Tree) -> Option<PathBuf> {
    programs_on_path(name).find(|candidate| !in_tree(candidate, tree))
}

/// The program a user named: a bare name (`helm`) is looked up on PATH as
/// [`find_program`] does, never in the current folder; a path (with a
/// `/`) is used as given, unless it leads inside `tree`: the change under
/// review may have put it there. `Err` says why it cannot be used.
pub fn named_program(named: &Path, tree: &Tree) -> Result<PathBuf, ProgramError> {
    let shown = display_name(named);
    let is_name = named.components().count() == 1 && !named.to_string_lossy().contains('/');
    if is_name {
        let name = named.to_string_lossy().into_owned();
        return find_program(&name, tree).ok_or_else(|| match skipped_program(&name, tree) {
            Some(skipped) => ProgramError::OnPathInsideTree {
                name,
                found: display_name(&skipped),
            },
            None => ProgramError::NotOnPath { name },
        });
    }
    let real = named.canonicalize().map_err(|e| ProgramError::CannotRun {
        shown: shown.clone(),
        why: io_message(&e),
    })?;
    if tree.holds(&real) {
        return Err(ProgramError::InsideTree { shown });
    }
    if !real.is_file() {
        return Err(ProgramError::NotAProgram { shown });
    }
    Ok(real)
}

/// Why a program the user named cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    /// A bare name that PATH does not hold.
    #[error("no program `{name}` is on PATH")]
    NotOnPath {
        /// The name looked up.
        name: String,
    },
    /// PATH holds it only inside the tree under review.
    #[error(
        "the `{name}` on PATH ({found}) is inside the repository under review, and kslint runs no program from it"
    )]
    OnPathInsideTree {
        /// The name looked up.
        name: String,
        /// The program skipped, shown.
        found: String,
    },
    /// The path does not lead to a file.
    #[error("{shown} cannot be run: {why}")]
    CannotRun {
        /// The path, shown.
        shown: String,
        /// Why, in words.
        why: String,
    },
    /// The path leads inside the tree under review.
    #[error(
        "{shown} is inside the repository under review, and kslint runs no program from it; install it outside the repository"
    )]
    InsideTree {
        /// The path, shown.
        shown: String,
    },
    /// The path leads to a folder or other non-file.
    #[error("{shown} is not a program")]
    NotAProgram {
        /// The path, shown.
        shown: String,
    },
}

/// A program on PATH that [`find_program`] skipped because it lies inside
/// the tree, to name in a note.
pub fn skipped_program(name: &str, tree: &Tree) -> Option<PathBuf> {
    programs_on_path(name).find(|candidate| in_tree(candidate, tree))
}

fn in_tree(path: &Path, tree: &Tree) -> bool {
    path.canonicalize().is_ok_and(|real| tree.holds(&real))
}

fn programs_on_path(name: &str) -> impl Iterator<Item = PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .filter(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .collect::<Vec<_>>()
        .into_iter()
}
