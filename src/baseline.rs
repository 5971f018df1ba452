//! Baselines: the findings a team accepts for now, recorded in a file
//! (`.kslint-baseline.json`) so that a run reports only new ones.
//!
//! An entry is what identifies a finding without line numbers (rule, file,
//! object, container, message) and its fingerprint, the same content hash
//! SARIF reports carry with the occurrence of that content in the file.
//! Lines moving, or unrelated edits, change neither. Every field of an
//! entry must match, not only the fingerprint: the readable fields are
//! what a reviewer sees when a change adds an entry, so an entry cannot
//! say one thing and hide another.

use crate::changes::normalized;
use crate::diagnostic::Diagnostic;
use crate::source::SourceDb;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// The file `kslint baseline write` writes when nothing names another.
pub const DEFAULT_FILE: &str = ".kslint-baseline.json";

/// The largest baseline read.
const MAX_SIZE: u64 = 64 * 1024 * 1024;

/// The format's version; a change that breaks readers bumps it.
const VERSION: u32 = 1;

/// One recorded finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The file, relative to the baseline's folder, with `/` separators.
    pub file: String,
    /// The rule id.
    pub rule: String,
    /// The object, as `Kind namespace/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The container, for a finding about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The finding's message.
    pub message: String,
    /// The content hash and which occurrence of that content it is.
    pub fingerprint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u32,
    findings: Vec<Entry>,
}

/// A baseline read from its file.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The file's name as users gave it.
    pub name: String,
    /// The folder its paths are relative to (absolute).
    pub dir: PathBuf,
    /// The recorded findings.
    pub entries: Vec<Entry>,
}

/// Where a baseline file was named, which decides how it may be read and
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// `--baseline FILE`: the user's own choice, anywhere.
    CommandLine(PathBuf),
    /// `baseline:` in a config file, which may come with the change under
    /// review: a relative path inside the config's repository, never
    /// through a link out of it.
    Config {
        /// The path, joined to the config's folder.
        path: PathBuf,
        /// The config file.
        config: PathBuf,
    },
}

impl Named {
    /// The baseline file's path.
    pub fn path(&self) -> &Path {
        match self {
            Named::CommandLine(path) | Named::Config { path, .. } => path,
        }
    }
}

/// Checks a config's `baseline:` value: a relative path to a `.json` file
/// below the config's folder (so a shared config cannot name a file
/// elsewhere for `kslint baseline write` to overwrite).
pub fn check_config_path(text: &str) -> Result<PathBuf, String> {
    let path = Path::new(text);
    if text.is_empty()
        || !path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "`baseline` must be a relative path below the config's folder without `..`, not {text:?}"
        ));
    }
    if path.extension().is_none_or(|e| e != "json") {
        return Err(format!("`baseline` must name a `.json` file, not {text:?}"));
    }
    if path.components().any(|c| c.as_os_str() == ".git") {
        return Err("`baseline` must not be inside `.git`".to_owned());
    }
    Ok(path.to_path_buf())
}

impl Baseline {
    /// Reads the baseline a command line or config names.
    pub fn load(named: &Named) -> Result<Baseline, String> {
        let path = named.path();
        let name = crate::source::display_name(path);
        let text = match named {
            Named::CommandLine(_) => read_bounded(path),
            Named::Config { config, .. } => crate::tree::Tree::around(config)
                .read_text(path, MAX_SIZE)
                .map_err(|e| e.why()),
        }
        .map_err(|why| {
            format!(
                "cannot read the baseline {name}: {why} (record one with `kslint baseline write`)"
            )
        })?;
        Baseline::parse(&name, &folder_of(path), &text)
    }

    /// A baseline from its text.
    pub fn parse(name: &str, dir: &Path, text: &str) -> Result<Baseline, String> {
        let document: Document = serde_json::from_str(text)
            .map_err(|e| format!("{name} is not a kslint baseline: {e}"))?;
        if document.version != VERSION {
            return Err(format!(
                "{name} is a baseline of version {}, which this kslint does not read (it reads version {VERSION})",
                document.version
            ));
        }
        Ok(Baseline {
            name: name.to_owned(),
            dir: dir.to_path_buf(),
            entries: document.findings,
        })
    }

    /// The file's text: entries sorted by file, rule and fingerprint, so
    /// a change to the baseline reads as a small diff.
    pub fn to_json(entries: &[Entry]) -> String {
        let mut findings = entries.to_vec();
        findings.sort();
        findings.dedup();
        let document = Document {
            version: VERSION,
            findings,
        };
        let mut text = serde_json::to_string_pretty(&document).expect("entries serialize");
        text.push('\n');
        text
    }
}

/// The absolute folder of a baseline file.
pub fn folder_of(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new(""));
    let cwd = std::env::current_dir().unwrap_or_default();
    normalized(&cwd.join(parent))
}

fn read_bounded(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SIZE + 1).read_to_end(&mut bytes))
        .map_err(|e| crate::source::io_message(&e))?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(format!("larger than {MAX_SIZE} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())
}

/// The entry of each finding, in order. `dir` is the baseline's folder.
pub fn entries_of(diagnostics: &[Diagnostic], db: &SourceDb, dir: &Path) -> Vec<Entry> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut occurrences: HashMap<u64, u32> = HashMap::new();
    let mut relative: HashMap<crate::source::FileId, String> = HashMap::new();
    diagnostics
        .iter()
        .map(|d| {
            let file = relative
                .entry(d.primary.file)
                .or_insert_with(|| relative_name(&db.file(d.primary.file).name, &cwd, dir))
                .clone();
            let hash = d.content_hash(&file);
            let occurrence = occurrences.entry(hash).or_insert(0);
            *occurrence += 1;
            Entry {
                file,
                rule: d.rule.to_owned(),
                object: d.object.as_ref().map(ToString::to_string),
                container: d.container.clone(),
                message: d.message.clone(),
                fingerprint: format!("{hash:016x}:{occurrence}"),
            }
        })
        .collect()
}

/// For each current entry, the index of the baseline entry equal to it.
pub fn matches(current: &[Entry], baseline: &[Entry]) -> Vec<Option<usize>> {
    let mut by_entry: HashMap<&Entry, usize> = HashMap::with_capacity(baseline.len());
    for (i, entry) in baseline.iter().enumerate() {
        by_entry.entry(entry).or_insert(i);
    }
    current.iter().map(|e| by_entry.get(e).copied()).collect()
}

/// What applying a baseline to a run left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Findings in the baseline, not reported (a group of one cause
    /// counts once, as the summary counts).
    pub baselined: usize,
    /// Baseline entries that match no finding of the run (fixed, or
    /// changed): `kslint baseline prune` removes them.
    pub stale: usize,
}

/// Leaves out of `diagnostics` the findings the baseline holds.
pub fn apply(diagnostics: &mut Vec<Diagnostic>, db: &SourceDb, baseline: &Baseline) -> Applied {
    let current = entries_of(diagnostics, db, &baseline.dir);
    let found = matches(&current, &baseline.entries);
    let mut used = vec![false; baseline.entries.len()];
    let mut left_out = Vec::new();
    let mut kept = Vec::with_capacity(diagnostics.len());
    for (diagnostic, hit) in std::mem::take(diagnostics).into_iter().zip(found) {
        match hit {
            Some(i) => {
                used[i] = true;
                left_out.push(diagnostic);
            }
            None => kept.push(diagnostic),
        }
    }
    *diagnostics = kept;
    crate::group::assign(&mut left_out);
    let (errors, warnings, notes) = crate::group::counts(&left_out);
    Applied {
        baselined: errors + warnings + notes,
        stale: stale(baseline, &used, db).iter().filter(|s| **s).count(),
    }
}

/// Which entries no finding of this run matches although the run could
/// have found them: their file was read, or is gone. An entry for a file
/// the run did not read (a run on part of the repository) is not stale.
pub fn stale(baseline: &Baseline, used: &[bool], db: &SourceDb) -> Vec<bool> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let read: std::collections::HashSet<String> = (0..db.len())
        .map(|i| {
            relative_name(
                &db.file(crate::source::FileId(i as u32)).name,
                &cwd,
                &baseline.dir,
            )
        })
        .collect();
    baseline
        .entries
        .iter()
        .zip(used)
        .map(|(entry, used)| {
            !used
                && (read.contains(&entry.file)
                    || (entry.file != "-"
                        && std::fs::symlink_metadata(baseline.dir.join(&entry.file)).is_err()))
        })
        .collect()
}

/// Writes a baseline file: to a temporary file beside it, then renamed
/// over it, so a reader never sees half a file. A link at the path is
/// refused rather than followed.
pub fn write(path: &Path, text: &str) -> Result<(), String> {
    crate::tree::write_atomically(path, text, ".kslint-baseline")
}

/// A name as users see it (relative to the current folder, or absolute),
/// relative to `dir` with `/` separators: the same file gets the same name
/// from wherever kslint runs. Standard input stays `-`.
fn relative_name(name: &str, cwd: &Path, dir: &Path) -> String {
    if name == "-" {
        return name.to_owned();
    }
    let file = normalized(&cwd.join(name));
    let mut file_parts = file.components().peekable();
    let mut dir_parts = dir.components().peekable();
    while let (Some(a), Some(b)) = (file_parts.peek(), dir_parts.peek()) {
        if a != b {
            break;
        }
        file_parts.next();
        dir_parts.next();
    }
    let ups = dir_parts.map(|_| "..".to_owned());
    let downs = file_parts.map(|c| c.as_os_str().to_string_lossy().into_owned());
    let parts: Vec<String> = ups.chain(downs).collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_to_the_baseline_folder() {
        let cwd = Path::new("/repo/deploy");
        assert_eq!(
            relative_name("web.yaml", cwd, Path::new("/repo")),
            "deploy/web.yaml"
        );
        assert_eq!(
            relative_name("./a/../web.yaml", cwd, Path::new("/repo/deploy")),
            "web.yaml"
        );
        assert_eq!(
            relative_name("../base/x.yaml", cwd, Path::new("/repo/deploy")),
            "../base/x.yaml"
        );
        assert_eq!(
            relative_name("/other/x.yaml", cwd, Path::new("/repo")),
            "../other/x.yaml"
        );
        assert_eq!(relative_name("-", cwd, Path::new("/repo")), "-");
    }

    #[test]
    fn config_paths_stay_below_the_config() {
        assert!(check_config_path(".kslint-baseline.json").is_ok());
        assert!(check_config_path("ci/baseline.json").is_ok());
        for bad in [
            "",
            "/tmp/b.json",
            "../b.json",
            "a/../../b.json",
            "Makefile",
            ".git/b.json",
        ] {
            assert!(check_config_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_field_of_an_entry_must_match() {
        let entry = Entry {
            file: "web.yaml".into(),
            rule: "privileged-container".into(),
            object: Some("Deployment shop/web".into()),
            container: Some("web".into()),
            message: "runs privileged".into(),
            fingerprint: "00000000000000aa:1".into(),
        };
        let relabelled = Entry {
            rule: "image-latest-tag".into(),
            ..entry.clone()
        };
        let one = std::slice::from_ref(&entry);
        assert_eq!(matches(one, &[relabelled]), vec![None]);
        assert_eq!(matches(one, one), vec![Some(0)]);
    }

    #[test]
    fn a_baseline_of_another_version_is_refused() {
        let error = Baseline::parse(
            "b.json",
            Path::new("/"),
            r#"{"version": 2, "findings": []}"#,
        )
        .unwrap_err();
        assert!(error.contains("version 2"), "{error}");
        assert!(Baseline::parse("b.json", Path::new("/"), "[]").is_err());
    }
}
