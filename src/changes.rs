//! Pull-request mode: the lines a change added or modified, from a unified
//! diff (`--diff FILE`) or from git (`--new-from-rev REV`, read with gix,
//! never by running `git`), and the findings that touch them.
//!
//! A finding is new when its place, or one of its related places (the
//! binding that lets a workload escalate, the patch that removed a
//! setting), lies on a changed line. A finding that only a related place
//! makes new moves to that place, so a pull-request annotation lands on a
//! line of the change; its own place stays as a related one.

use crate::diagnostic::{Diagnostic, Label};
use crate::source::SourceDb;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// The largest text of a file at a revision that is compared.
const MAX_OLD_TEXT: u64 = 64 * 1024 * 1024;

/// The largest diff read.
const MAX_DIFF_SIZE: u64 = 256 * 1024 * 1024;

/// Lines a change added or modified, per file (absolute, normalized).
#[derive(Debug, Default, Clone)]
pub struct ChangedLines {
    /// 1-based inclusive line ranges, sorted.
    by_file: HashMap<PathBuf, Vec<(u32, u32)>>,
}

impl ChangedLines {
    /// Marks lines `first..=last` of `file` changed.
    pub fn add(&mut self, file: PathBuf, first: u32, last: u32) {
        self.by_file.entry(file).or_default().push((first, last));
    }

    /// Whether any line in `first..=last` of `file` changed.
    pub fn touches(&self, file: &Path, first: u32, last: u32) -> bool {
        self.by_file
            .get(file)
            .is_some_and(|ranges| ranges.iter().any(|&(a, b)| a <= last && first <= b))
    }

    /// How many files have changed lines.
    pub fn files(&self) -> usize {
        self.by_file.len()
    }

    /// The changed lines of a unified diff (`git diff`, `diff -u`), whose
    /// paths are relative to `root`. Removed lines change nothing that
    /// remains; a hunk that only removes marks the line after it, where
    /// the removal shows.
    pub fn from_unified_diff(text: &str, root: &Path) -> Result<ChangedLines, String> {
        let mut changed = ChangedLines::default();
        let mut file: Option<PathBuf> = None;
        // Inside a hunk: the next new-side line, and how many old and new
        // lines the hunk still has (its header says; a `---` line inside
        // it is a removed line, not a header).
        let mut line: u32 = 0;
        let (mut old_left, mut new_left) = (0u32, 0u32);
        let mut removed_here = false;
        for (number, text_line) in text.lines().enumerate() {
            if old_left > 0 || new_left > 0 {
                let Some(path) = &file else {
                    return Err(format!("line {}: a hunk before any `+++` line", number + 1));
                };
                match text_line.as_bytes().first() {
                    Some(b'+') => {
                        changed.add(path.clone(), line, line);
                        line += 1;
                        new_left = new_left.saturating_sub(1);
                        removed_here = false;
                    }
                    Some(b'-') => {
                        if !removed_here {
                            changed.add(path.clone(), line.max(1), line.max(1));
                            removed_here = true;
                        }
                        old_left = old_left.saturating_sub(1);
                    }
                    Some(b'\\') => {}
                    _ => {
                        line += 1;
                        old_left = old_left.saturating_sub(1);
                        new_left = new_left.saturating_sub(1);
                        removed_here = false;
                    }
                }
                continue;
            }
            if let Some(path) = text_line.strip_prefix("+++ ") {
                file = new_side_path(path).map(|p| normalized(&root.join(p)));
            } else if let Some(header) = text_line.strip_prefix("@@ ") {
                let (old, start, new) = hunk_header(header).ok_or_else(|| {
                    format!(
                        "line {}: `{}` is not a hunk header",
                        number + 1,
                        crate::text::clean_line(text_line)
                    )
                })?;
                (old_left, line, new_left) = (old, start.max(1), new);
                removed_here = false;
                if file.is_none() {
                    // `+++ /dev/null`: a removed file; skip its lines.
                    file = Some(PathBuf::new());
                }
            } else if text_line.starts_with("diff ") {
                file = None;
            }
        }
        changed.by_file.remove(&PathBuf::new());
        Ok(changed)
    }

    /// The lines of a unified diff file.
    pub fn read_diff(path: &Path, root: &Path) -> Result<ChangedLines, String> {
        use std::io::Read;
        let name = crate::source::display_name(path);
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_DIFF_SIZE + 1).read_to_end(&mut bytes))
            .map_err(|e| {
                format!(
                    "cannot read the diff {name}: {}",
                    crate::source::io_message(&e)
                )
            })?;
        if bytes.len() as u64 > MAX_DIFF_SIZE {
            return Err(format!(
                "the diff {name} is larger than {MAX_DIFF_SIZE} bytes"
            ));
        }
        ChangedLines::from_unified_diff(&String::from_utf8_lossy(&bytes), root)
            .map_err(|why| format!("the diff {name} cannot be read: {why}"))
    }

    /// The lines that differ between `old` and `new` texts of `file`:
    /// inserted and replaced lines, and the line after a removal. Past the
    /// deadline a diff is coarser (more lines count as changed), so texts
    /// made to be slow to compare cannot stall a run.
    pub fn add_text_diff(
        &mut self,
        file: PathBuf,
        old: &str,
        new: &str,
        deadline: std::time::Instant,
    ) {
        use similar::{DiffOp, TextDiff};
        let diff = TextDiff::configure()
            .deadline(deadline)
            .diff_lines(old, new);
        for op in diff.ops() {
            match *op {
                DiffOp::Insert {
                    new_index, new_len, ..
                }
                | DiffOp::Replace {
                    new_index, new_len, ..
                } => {
                    let first = new_index as u32 + 1;
                    self.add(file.clone(), first, first + new_len as u32 - 1);
                }
                DiffOp::Delete { new_index, .. } => {
                    let at = new_index as u32 + 1;
                    self.add(file.clone(), at, at);
                }
                DiffOp::Equal { .. } => {}
            }
        }
    }
}

/// The path of a `+++` line: `b/` dropped, `/dev/null` (a removed file)
/// none, a tab and timestamp (`diff -u`) cut.
fn new_side_path(text: &str) -> Option<PathBuf> {
    let path = text.split('\t').next().unwrap_or(text).trim_end();
    if path == "/dev/null" {
        return None;
    }
    let path = path.strip_prefix("b/").unwrap_or(path);
    Some(PathBuf::from(path))
}

/// A hunk header (`-a,b +c,d @@`): old line count, new first line, new
/// line count (a count left out is 1).
fn hunk_header(header: &str) -> Option<(u32, u32, u32)> {
    let mut words = header.split_whitespace();
    let range = |word: &str| -> Option<(u32, u32)> {
        let (start, count) = word.split_once(',').unwrap_or((word, "1"));
        Some((start.parse().ok()?, count.parse().ok()?))
    };
    let (_, old_count) = range(words.next()?.strip_prefix('-')?)?;
    let (new_start, new_count) = range(words.next()?.strip_prefix('+')?)?;
    Some((old_count, new_start, new_count))
}

/// The root of the git repository around `start` (the folder holding
/// `.git`), or `start` outside one: where a diff's paths begin.
pub fn repository_root(start: &Path) -> PathBuf {
    start
        .ancestors()
        .find(|dir| std::fs::symlink_metadata(dir.join(".git")).is_ok())
        .unwrap_or(start)
        .to_path_buf()
}

/// `path` with its folder's links resolved, as the work tree's root is.
fn real_path(path: &Path) -> PathBuf {
    path.parent()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .zip(path.file_name())
        .map_or_else(|| path.to_path_buf(), |(dir, name)| dir.join(name))
}

/// `path` with `.` and `..` resolved as text.
pub fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What a pull request changed.
pub enum Change {
    /// Lines a unified diff names.
    Lines(ChangedLines),
    /// Everything that differs from a git revision: each file with a
    /// finding is compared with its text there when the run ends.
    Since(Revision),
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Lines(lines) => write!(f, "Lines({} files)", lines.files()),
            Change::Since(revision) => write!(f, "Since({})", revision.name),
        }
    }
}

/// A git revision's tree, to read files as they were there.
pub struct Revision {
    /// The revision as the user wrote it.
    pub name: String,
    /// The repository's git folder, opened again where the run ends (an
    /// open repository is not shared between threads).
    git_dir: PathBuf,
    tree: gix::ObjectId,
    /// The work tree's root (absolute, with links resolved).
    root: PathBuf,
}

impl Revision {
    /// The revision `name` (a commit, branch, tag, `HEAD~1`, …) of the git
    /// repository around `start`. Only objects are read: no hook, filter
    /// or program of the repository's config runs.
    pub fn open(start: &Path, name: &str) -> Result<Revision, String> {
        let repository = gix::ThreadSafeRepository::discover_opts(
            start,
            gix::discover::upwards::Options::default(),
            gix::sec::trust::Mapping {
                full: gix::open::Options::isolated(),
                reduced: gix::open::Options::isolated(),
            },
        )
        .map_err(|e| format!("--new-from-rev needs a git repository: {e}"))?;
        let local = repository.to_thread_local();
        let git_dir = local.git_dir().to_path_buf();
        let root = local
            .workdir()
            .ok_or("--new-from-rev needs a work tree, not a bare repository")?;
        let root = std::fs::canonicalize(root).map_err(|e| {
            format!(
                "cannot resolve the work tree: {}",
                crate::source::io_message(&e)
            )
        })?;
        let tree = local
            .rev_parse_single(name)
            .map_err(|e| {
                format!(
                    "revision {name:?} is not in this repository ({e}); in a shallow clone, fetch it first (actions/checkout with fetch-depth: 0)"
                )
            })?
            .object()
            .map_err(|e| format!("revision {name:?} cannot be read: {e}"))?
            .peel_to_tree()
            .map_err(|e| format!("revision {name:?} has no tree: {e}"))?
            .id;
        Ok(Revision {
            name: name.to_owned(),
            git_dir,
            tree,
            root,
        })
    }

    /// The changed lines of each file (absolute, normalized), its current
    /// text given: a file the revision lacks is new in every line; a file
    /// outside the work tree changed nowhere.
    fn changed_lines<'t>(&self, files: impl Iterator<Item = (PathBuf, &'t str)>) -> ChangedLines {
        let repository = gix::open_opts(&self.git_dir, gix::open::Options::isolated()).ok();
        let tree = repository
            .as_ref()
            .and_then(|r| r.find_tree(self.tree).ok());
        let mut changed = ChangedLines::default();
        // One budget for the whole run, however many files it compares.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        for (path, text) in files {
            let Ok(relative) = path.strip_prefix(&self.root) else {
                continue;
            };
            let old = tree
                .as_ref()
                .and_then(|t| t.lookup_entry_by_path(relative).ok().flatten())
                .filter(|entry| entry.mode().is_blob())
                // A text larger than kslint would read counts as changed
                // everywhere rather than being loaded.
                .filter(|entry| {
                    repository.as_ref().is_some_and(|r| {
                        r.find_header(entry.oid())
                            .is_ok_and(|h| h.size() <= MAX_OLD_TEXT)
                    })
                })
                .and_then(|entry| entry.object().ok())
                .map(|blob| String::from_utf8_lossy(&blob.data).into_owned());
            match old {
                Some(old) if old == text => {}
                Some(old) => changed.add_text_diff(path, &old, text, deadline),
                None => changed.add(path, 1, u32::MAX),
            }
        }
        changed
    }
}

/// Keeps the findings a change touches (see the module's words), and
/// returns how many it left out (a group of one cause counting once).
pub fn keep_touched(diagnostics: &mut Vec<Diagnostic>, db: &SourceDb, change: &Change) -> usize {
    let cwd = std::env::current_dir().unwrap_or_default();
    let since;
    let changed = match change {
        Change::Lines(lines) => lines,
        Change::Since(revision) => {
            let mut files: Vec<crate::source::FileId> = diagnostics
                .iter()
                .flat_map(|d| std::iter::once(&d.primary).chain(&d.related))
                .map(|label| label.file)
                .collect();
            files.sort_unstable();
            files.dedup();
            // Names are as users gave them; the work tree's root has its
            // links resolved, so resolve the file's folder the same way.
            since = revision.changed_lines(files.into_iter().map(|id| {
                let file = db.file(id);
                (real_path(&normalized(&cwd.join(&file.name))), &*file.text)
            }));
            &since
        }
    };
    let mut paths: HashMap<crate::source::FileId, PathBuf> = HashMap::new();
    let mut touched = |label: &Label| {
        let file = db.file(label.file);
        let path = paths.entry(label.file).or_insert_with(|| {
            let path = normalized(&cwd.join(&file.name));
            match change {
                Change::Lines(_) => path,
                Change::Since(_) => real_path(&path),
            }
        });
        let first = file.line_col(label.span.start).line;
        let last = file.line_col(label.span.end).line.max(first);
        changed.touches(path, first, last)
    };
    let mut left_out = Vec::new();
    let mut kept = Vec::with_capacity(diagnostics.len());
    for mut diagnostic in std::mem::take(diagnostics) {
        if touched(&diagnostic.primary) {
            kept.push(diagnostic);
            continue;
        }
        match diagnostic.related.iter().position(&mut touched) {
            Some(i) => {
                let mut place = diagnostic.related.remove(i);
                std::mem::swap(&mut diagnostic.primary, &mut place);
                if place.message.is_empty() {
                    place.message =
                        "the finding's own place, unchanged; the changed line above makes it new"
                            .to_owned();
                }
                diagnostic.related.insert(0, place);
                kept.push(diagnostic);
            }
            None => left_out.push(diagnostic),
        }
    }
    *diagnostics = kept;
    crate::group::assign(&mut left_out);
    let (errors, warnings, notes) = crate::group::counts(&left_out);
    errors + warnings + notes
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "\
diff --git a/deploy/web.yaml b/deploy/web.yaml
index 1111111..2222222 100644
--- a/deploy/web.yaml
+++ b/deploy/web.yaml
@@ -3,3 +3,4 @@ metadata:
 context three
-removed four
+added four
+added five
 context six
@@ -20,3 +21,2 @@
 context twenty-one
-gone
 context twenty-two
diff --git a/old.yaml b/old.yaml
deleted file mode 100644
--- a/old.yaml
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
--- /dev/null
+++ b/new.yaml
@@ -0,0 +1,2 @@
+x: 1
+y: 2
";

    #[test]
    fn added_lines_and_removals_of_a_unified_diff() {
        let changed = ChangedLines::from_unified_diff(DIFF, Path::new("/repo")).unwrap();
        let web = Path::new("/repo/deploy/web.yaml");
        assert!(!changed.touches(web, 3, 3));
        assert!(changed.touches(web, 4, 4));
        assert!(changed.touches(web, 5, 5));
        assert!(!changed.touches(web, 6, 21));
        // The removal after line 21 shows at line 22.
        assert!(changed.touches(web, 22, 22));
        assert!(changed.touches(Path::new("/repo/new.yaml"), 1, 2));
        assert!(!changed.touches(Path::new("/repo/old.yaml"), 1, 2));
        assert_eq!(changed.files(), 2);
    }

    #[test]
    fn a_removed_line_that_looks_like_a_header_is_a_removed_line() {
        let diff = "+++ b/x.yaml\n@@ -1,3 +1,2 @@\n a\n--- b\n+++ c\n";
        let changed = ChangedLines::from_unified_diff(diff, Path::new("/")).unwrap();
        assert!(changed.touches(Path::new("/x.yaml"), 2, 2));
        assert_eq!(changed.files(), 1);
    }

    #[test]
    fn a_bad_hunk_header_is_an_error_that_names_its_line() {
        let error =
            ChangedLines::from_unified_diff("+++ b/x\n@@ nonsense\n", Path::new("/")).unwrap_err();
        assert!(error.starts_with("line 2:"), "{error}");
    }

    #[test]
    fn text_diffs_mark_inserted_and_replaced_lines() {
        let mut changed = ChangedLines::default();
        let file = PathBuf::from("/f");
        let later = std::time::Instant::now() + std::time::Duration::from_secs(60);
        changed.add_text_diff(file.clone(), "a\nb\nc\nd\n", "a\nB\nc\nnew\nd\n", later);
        assert!(!changed.touches(&file, 1, 1));
        assert!(changed.touches(&file, 2, 2));
        assert!(!changed.touches(&file, 3, 3));
        assert!(changed.touches(&file, 4, 4));
        assert!(!changed.touches(&file, 5, 5));
    }
}
