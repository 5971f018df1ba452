//! The tree a run may read. What kslint lints is untrusted (a pull request
//! from a stranger), so every read goes through [`Tree`]: a path is read
//! only when its real location (after every symbolic link) lies inside the
//! repository of a linted path, and never on a kernel file system such as
//! `/proc`. A link that leaves the tree is reported, never followed.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Kernel file systems: their files are not manifests, and reading them
/// leaks the runner's secrets (`/proc/self/environ`) or never ends.
const SPECIAL: &[&str] = &["/proc", "/sys", "/dev"];

/// The folders a run may read: for each linted path, the repository that
/// holds it (the nearest folder upwards with a `.git`), or the path's own
/// folder outside any repository.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Canonical roots.
    roots: Vec<PathBuf>,
    /// The roots' git folders: they hold the checkout's credentials
    /// (`actions/checkout` writes its token into `.git/config`).
    git_dirs: Vec<PathBuf>,
    /// Folders already resolved: most reads share their folder with many
    /// others, and resolving a path costs a system call per part.
    /// Keyed by the bytes of the path: hashing a `Path` walks its parts.
    folders: Arc<Mutex<HashMap<OsString, Option<PathBuf>>>>,
    /// Texts that stand for files of the tree, by real path: `kslint fix`
    /// lints its fixed texts again before it writes them.
    overrides: Option<Overrides>,
}

/// Texts standing for files, by real (canonical) path.
pub type Overrides = Arc<HashMap<PathBuf, Arc<str>>>;

/// Why a path may not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outside {
    /// The path resolves outside every root of the tree.
    Escapes {
        /// Where it really leads.
        target: PathBuf,
    },
    /// It resolves into a kernel file system.
    Special {
        /// Where it really leads.
        target: PathBuf,
    },
    /// It resolves into the repository's git folder.
    Git,
    /// It cannot be resolved (missing, a dangling link, a link loop).
    Unresolved(String),
}

impl Outside {
    /// Why, in words. The target is named only by its file system: its
    /// full path may itself be a secret.
    pub fn why(&self) -> String {
        match self {
            Outside::Escapes { .. } => "it leads outside the repository (through a symbolic link or `..`), and kslint reads nothing outside the tree it lints".to_owned(),
            Outside::Special { target } => format!(
                "it leads into {}, a kernel file system, and kslint reads only the files of the tree it lints",
                SPECIAL
                    .iter()
                    .find(|s| target.starts_with(s))
                    .unwrap_or(&"/proc")
            ),
            Outside::Git => "it leads into the repository's .git folder, which holds the checkout's credentials, and kslint reads nothing there".to_owned(),
            Outside::Unresolved(why) => why.clone(),
        }
    }
}

impl Tree {
    /// The tree of the linted paths: their repositories.
    pub fn of(paths: &[&Path]) -> Tree {
        let mut roots = Vec::new();
        for path in paths {
            if let Some(root) = root_of(path)
                && !roots.contains(&root)
            {
                roots.push(root);
            }
        }
        Tree::with_roots(roots)
    }

    /// The tree around one path (a folder or file): its repository.
    pub fn around(path: &Path) -> Tree {
        Tree::with_roots(root_of(path).into_iter().collect())
    }

    fn with_roots(roots: Vec<PathBuf>) -> Tree {
        let git_dirs = roots.iter().filter_map(|root| git_dir(root)).collect();
        Tree {
            roots,
            git_dirs,
            folders: Arc::default(),
            overrides: None,
        }
    }

    /// The same tree, reading `overrides` in place of their files.
    pub fn with_overrides(mut self, overrides: Option<Overrides>) -> Tree {
        self.overrides = overrides;
        self
    }

    /// The real path of `path`: its folder resolved once per run, then the
    /// last part looked at on its own (followed only if it is a link).
    fn real_path(&self, path: &Path) -> std::io::Result<PathBuf> {
        self.real_path_and_kind(path).map(|(real, _)| real)
    }

    /// [`Tree::real_path`], with the file's type when looking at the last
    /// part told it (it was no link).
    fn real_path_and_kind(
        &self,
        path: &Path,
    ) -> std::io::Result<(PathBuf, Option<std::fs::FileType>)> {
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return Ok((path.canonicalize()?, None));
        };
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        let cached = self
            .folders
            .lock()
            .ok()
            .and_then(|f| f.get(folder.as_os_str()).cloned());
        let real_folder = match cached {
            Some(real) => real,
            None => {
                let real = folder.canonicalize().ok();
                if let Ok(mut folders) = self.folders.lock() {
                    folders.insert(folder.as_os_str().to_owned(), real.clone());
                }
                real
            }
        };
        let Some(real_folder) = real_folder else {
            return Ok((path.canonicalize()?, None));
        };
        let candidate = real_folder.join(name);
        let kind = std::fs::symlink_metadata(&candidate)?.file_type();
        if kind.is_symlink() {
            return Ok((candidate.canonicalize()?, None));
        }
        Ok((candidate, Some(kind)))
    }

    /// The canonical roots.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Whether a real (canonical) path lies inside the tree.
    pub fn holds(&self, real: &Path) -> bool {
        self.classify(real).is_ok()
    }

    fn classify(&self, real: &Path) -> Result<(), Outside> {
        if SPECIAL.iter().any(|s| real.starts_with(s)) {
            return Err(Outside::Special {
                target: real.to_path_buf(),
            });
        }
        if self.git_dirs.iter().any(|git| real.starts_with(git)) {
            return Err(Outside::Git);
        }
        if !self.roots.iter().any(|root| real.starts_with(root)) {
            return Err(Outside::Escapes {
                target: real.to_path_buf(),
            });
        }
        Ok(())
    }

    /// The real path of `path`, if the tree may read it. A missing path
    /// outside the tree is refused as outside, so the answer never tells
    /// what exists beyond the tree.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, Outside> {
        match self.real_path(path) {
            Ok(real) => self.classify(&real).map(|()| real),
            Err(e) => {
                let missing = Outside::Unresolved(io_message(&e));
                match nearest_real(path) {
                    Some(real) => self.classify(&real).and(Err(missing)),
                    None => Err(missing),
                }
            }
        }
    }

    /// Reads a regular file of the tree, at most `limit` bytes. The file is
    /// opened through its resolved path, so a link swapped in after the
    /// check cannot lead the read elsewhere.
    pub fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        use std::io::Read;
        let (real, kind) = match self.real_path_and_kind(path) {
            Ok(found) => found,
            Err(_) => {
                return Err(ReadError::Outside(
                    self.resolve(path)
                        .err()
                        .unwrap_or(Outside::Unresolved(String::new())),
                ));
            }
        };
        self.classify(&real).map_err(ReadError::Outside)?;
        if let Some(text) = self.overrides.as_ref().and_then(|o| o.get(&real)) {
            return Ok(text.as_bytes().to_vec());
        }
        // Opening a pipe would wait for a writer: look before opening.
        let is_file = match kind {
            Some(kind) => kind.is_file(),
            None => std::fs::metadata(&real).map_err(ReadError::Io)?.is_file(),
        };
        if !is_file {
            return Err(ReadError::NotRegular);
        }
        let file = std::fs::File::open(&real).map_err(ReadError::Io)?;
        let meta = file.metadata().map_err(ReadError::Io)?;
        if !meta.is_file() {
            return Err(ReadError::NotRegular);
        }
        if meta.len() > limit {
            return Err(ReadError::TooLarge {
                size: meta.len(),
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        // The file may grow between the check and the read.
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(ReadError::Io)?;
        if bytes.len() as u64 > limit {
            return Err(ReadError::TooLarge {
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok(bytes)
    }

    /// Reads a file of the tree as UTF-8 text (lossy), at most `limit`
    /// bytes, with CR-only line ends read as Kubernetes reads them.
    pub fn read_text(&self, path: &Path, limit: u64) -> Result<String, ReadError> {
        let bytes = self.read(path, limit)?;
        Ok(text_of(bytes).0)
    }

    /// Like [`Tree::read_text`], but text that is not UTF-8 is an error.
    pub fn read_utf8(&self, path: &Path, limit: u64) -> Result<String, ReadError> {
        match text_of(self.read(path, limit)?) {
            (text, None) => Ok(text),
            (_, Some(_)) => Err(ReadError::NotUtf8),
        }
    }
}

/// Why a read failed.
#[derive(Debug)]
pub enum ReadError {
    /// The path leads outside the tree.
    Outside(Outside),
    /// Not a regular file (a FIFO, socket or device).
    NotRegular,
    /// Not UTF-8 text.
    NotUtf8,
    /// Larger than allowed.
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The operating system refused.
    Io(std::io::Error),
}

impl ReadError {
    /// Why, in words.
    pub fn why(&self) -> String {
        match self {
            ReadError::Outside(outside) => outside.why(),
            ReadError::NotRegular => "not a regular file".to_owned(),
            ReadError::NotUtf8 => "not UTF-8 text".to_owned(),
            ReadError::TooLarge { size, limit } => format!(
                "the file is {size} bytes, over the limit of {limit} bytes (raise it with --max-file-size)"
            ),
            ReadError::Io(e) => io_message(e),
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why())
    }
}

/// A path that may not exist, resolved as far as it does: its deepest
/// existing folder made real, then the rest as written.
fn nearest_real(path: &Path) -> Option<PathBuf> {
    let absolute = absolute(path)?;
    let mut rest = Vec::new();
    let mut folder = absolute.as_path();
    loop {
        if let Ok(real) = folder.canonicalize() {
            return Some(rest.iter().rev().fold(real, |p, part| p.join(part)));
        }
        rest.push(folder.file_name()?.to_owned());
        folder = folder.parent()?;
    }
}

/// A repository's git folder: `.git`, or the folder a `.git` file names
/// (a worktree or a submodule).
fn git_dir(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    let meta = std::fs::symlink_metadata(&dot_git).ok()?;
    if meta.is_file() {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(&dot_git)
            .ok()?
            .take(4096)
            .read_to_string(&mut text)
            .ok()?;
        let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
        return root.join(target).canonicalize().ok();
    }
    dot_git.canonicalize().ok()
}

/// The root for a linted path: the nearest folder upwards (from the path
/// if it is a real folder, else from the folder holding it) with a `.git`,
/// else that start folder. The path's last part is not followed: a linted
/// name that is a link out of its repository stays outside the tree.
fn root_of(path: &Path) -> Option<PathBuf> {
    let absolute = absolute(path)?;
    let is_real_dir = std::fs::symlink_metadata(&absolute).is_ok_and(|m| m.is_dir());
    let start = if is_real_dir {
        absolute.clone()
    } else {
        absolute.parent()?.to_path_buf()
    };
    let start = start.canonicalize().ok()?;
    let repository = start
        .ancestors()
        .find(|dir| std::fs::symlink_metadata(dir.join(".git")).is_ok());
    Some(repository.unwrap_or(&start).to_path_buf())
}

/// `path` made absolute and cleaned as text (`a/../b` is `b`).
fn absolute(path: &Path) -> Option<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// An I/O error in words, without Rust's "(os error N)" suffix.
pub fn io_message(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file or folder (or a dangling symbolic link)".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = error.to_string();
            text.split(" (os error").next().unwrap_or(&text).to_owned()
        }
    }
}

/// A file's text from its bytes: UTF-8, or lossy text and the offset of
/// the first byte that is not UTF-8. A lone carriage return ends a line,
/// as in Kubernetes' YAML reader; it becomes a line feed, which keeps
/// every byte offset.
pub fn text_of(bytes: Vec<u8>) -> (String, Option<usize>) {
    let mut bytes = bytes;
    // `contains` on bytes is a vectorised search: most files have no CR.
    if bytes.contains(&b'\r') {
        // kubectl's line reader drops one CR before each LF, then its YAML
        // reader takes CR LF and a lone CR as one line break each: so a run
        // of CRs before an LF is one break fewer than it has CRs (`\r\r\n`
        // is one). Lone CRs become LFs in place; such a run loses a CR.
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'\r' {
                out.push(bytes[i]);
                i += 1;
                continue;
            }
            let run = bytes[i..].iter().take_while(|&&b| b == b'\r').count();
            if bytes.get(i + run) == Some(&b'\n') {
                out.extend(std::iter::repeat_n(b'\n', run.saturating_sub(2)));
                out.push(b'\r');
            } else {
                out.extend(std::iter::repeat_n(b'\n', run));
            }
            i += run;
        }
        bytes = out;
    }
    match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let valid_up_to = e.utf8_error().valid_up_to();
            (
                String::from_utf8_lossy(e.as_bytes()).into_owned(),
                Some(valid_up_to),
            )
        }
    }
}

/// Writes `text` to `path` atomically: a temporary file (named from
/// `prefix`) beside it, then a rename. Refuses a symbolic link.
pub fn write_atomically(path: &Path, text: &str, prefix: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let name = path.display();
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!(
            "{name} is a symbolic link; kslint writes only to a regular file"
        ));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |e: std::io::Error| format!("cannot write {name}: {}", io_message(&e));
    let mut temporary = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(folder)
        .map_err(fail)?;
    temporary.write_all(text.as_bytes()).map_err(fail)?;
    // A temporary file is private; the file it replaces is shared: it
    // keeps that file's mode, or gets a file's usual.
    let mode = std::fs::metadata(path).map_or_else(
        |_| std::fs::Permissions::from_mode(0o644),
        |meta| meta.permissions(),
    );
    temporary.as_file().set_permissions(mode).map_err(fail)?;
    temporary.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carriage_returns_as_kubectl_reads_them() {
        // A lone CR is a line break; a run of CRs before an LF is one
        // break fewer than it has CRs (kubectl's line reader drops one).
        let text = |bytes: &[u8]| text_of(bytes.to_vec()).0;
        assert_eq!(text(b"a\rb\r\nc\n"), "a\nb\r\nc\n");
        assert_eq!(text(b"a\r\r\nb"), "a\r\nb");
        assert_eq!(text(b"a\r\r\r\nb\r\r"), "a\n\r\nb\n\n");
    }

    #[test]
    fn links_out_of_the_repository_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("deploy")).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "token").unwrap();
        std::fs::write(repo.join("deploy/ok.yaml"), "a: 1").unwrap();
        std::os::unix::fs::symlink("../../secret.txt", repo.join("deploy/leak.yaml")).unwrap();
        std::os::unix::fs::symlink("ok.yaml", repo.join("deploy/alias.yaml")).unwrap();
        std::os::unix::fs::symlink("/proc/self/environ", repo.join("deploy/env.yaml")).unwrap();
        // Linting a subfolder still allows the whole repository.
        let tree = Tree::of(&[repo.join("deploy").as_path()]);
        assert_eq!(tree.roots(), [repo.canonicalize().unwrap()]);
        assert!(tree.read(&repo.join("deploy/ok.yaml"), 100).is_ok());
        assert!(tree.read(&repo.join("deploy/alias.yaml"), 100).is_ok());
        assert!(matches!(
            tree.read(&repo.join("deploy/leak.yaml"), 100),
            Err(ReadError::Outside(Outside::Escapes { .. }))
        ));
        assert!(matches!(
            tree.read(&repo.join("deploy/env.yaml"), 100),
            Err(ReadError::Outside(Outside::Special { .. }))
        ));
        assert!(matches!(
            tree.read(&repo.join("deploy/ok.yaml"), 2),
            Err(ReadError::TooLarge { .. })
        ));
        // A linted name that is itself a link out stays outside.
        let tree = Tree::of(&[repo.join("deploy/leak.yaml").as_path()]);
        assert!(tree.read(&repo.join("deploy/leak.yaml"), 100).is_err());
    }

    #[test]
    fn the_git_folder_is_not_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::write(
            repo.join(".git/config"),
            "extraheader = AUTHORIZATION: basic x",
        )
        .unwrap();
        std::os::unix::fs::symlink(".git/config", repo.join("config.yaml")).unwrap();
        let tree = Tree::of(&[repo.clone().as_path()]);
        assert!(matches!(
            tree.read(&repo.join(".git/config"), 100),
            Err(ReadError::Outside(Outside::Git))
        ));
        assert!(matches!(
            tree.read(&repo.join("config.yaml"), 100),
            Err(ReadError::Outside(Outside::Git))
        ));
        // A missing path outside reads as outside, not as missing.
        assert!(matches!(
            tree.resolve(&dir.path().join("nothing/here")),
            Err(Outside::Escapes { .. })
        ));
        assert!(matches!(
            tree.resolve(&repo.join("nothing")),
            Err(Outside::Unresolved(_))
        ));
    }

    #[test]
    fn outside_a_repository_the_linted_folder_is_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("manifests");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(dir.path().join("beside.yaml"), "a: 1").unwrap();
        let tree = Tree::of(&[folder.clone().as_path()]);
        // The temporary folder may itself be inside a repository.
        let expected = dir
            .path()
            .canonicalize()
            .unwrap()
            .ancestors()
            .find(|d| d.join(".git").exists())
            .map(Path::to_path_buf);
        if expected.is_none() {
            assert_eq!(tree.roots(), [folder.canonicalize().unwrap()]);
            assert!(tree.read(&folder.join("../beside.yaml"), 100).is_err());
        }
    }
}
