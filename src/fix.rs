//! `kslint fix`: the fixes findings carry, applied to the files users own.
//! A fix is a set of text edits at exact spans, so comments, quoting,
//! indentation and line breaks around it stay as they are. This module
//! only plans: it reads each file again, checks it is the text the spans
//! were measured in, and makes the new text; writing (atomic, never through
//! a link) is [`write`]'s.

use crate::diagnostic::{Applicability, Edit};
use crate::outcome::Outcome;
use crate::source::FileId;
use crate::tree::Tree;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One file's new text.
#[derive(Debug)]
pub struct FileFix {
    /// The name users see.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// Its bytes as read for the plan (written only if still the same).
    pub original: Vec<u8>,
    /// The text with the fixes applied.
    pub fixed: String,
    /// How many findings the fixes resolve.
    pub fixes: usize,
}

/// What a run's fixes would change, and what they could not.
#[derive(Debug, Default)]
pub struct Plan {
    /// The files to change, by name.
    pub files: Vec<FileFix>,
    /// Fixes left out, each with the reason (a file kslint may not write,
    /// an edit that overlaps another).
    pub skipped: Vec<String>,
    /// Unsafe fixes left out because they were not asked for.
    pub unsafe_left: usize,
}

/// Plans the fixes of `outcome`'s findings: the safe ones, and the unsafe
/// ones too when `unsafe_fixes`. Only files of the tree, read from disk as
/// they were linted, are changed.
pub fn plan(outcome: &Outcome, unsafe_fixes: bool, tree: &Tree, max_size: u64) -> Plan {
    let mut result = Plan::default();
    // Each file's edits, each fix's edits kept together.
    let mut by_file: BTreeMap<FileId, Vec<&[Edit]>> = BTreeMap::new();
    for diagnostic in &outcome.diagnostics {
        let Some(fix) = &diagnostic.fix else {
            continue;
        };
        if fix.applicability == Applicability::Unsafe && !unsafe_fixes {
            result.unsafe_left += 1;
            continue;
        }
        let Some(first) = fix.edits.first() else {
            continue;
        };
        if fix.edits.iter().any(|e| e.file != first.file) {
            result.skipped.push(format!(
                "{}: a fix across files ({}) is not applied yet",
                outcome.db.file(first.file).name,
                fix.title
            ));
            continue;
        }
        by_file.entry(first.file).or_default().push(&fix.edits);
    }
    for (id, fixes) in by_file {
        let file = outcome.db.file(id);
        match read_as_linted(&file.name, &file.text, tree, max_size) {
            Ok((path, original)) => {
                let (fixed, applied, overlapping) = apply(&file.text, &fixes);
                if overlapping > 0 {
                    result.skipped.push(format!(
                        "{}: {overlapping} fix(es) overlap another and wait for the next run",
                        file.name
                    ));
                }
                if applied > 0 {
                    result.files.push(FileFix {
                        name: file.name.clone(),
                        path,
                        original,
                        fixed,
                        fixes: applied,
                    });
                }
            }
            Err(why) => result.skipped.push(format!("{}: {why}", file.name)),
        }
    }
    result
}

/// Applies whole fixes in order of place, leaving out one that overlaps a
/// fix already taken. Returns the text, the fixes applied and those left.
fn apply(text: &str, fixes: &[&[Edit]]) -> (String, usize, usize) {
    let mut order: Vec<&[Edit]> = fixes.to_vec();
    order.sort_by_key(|edits| edits.iter().map(|e| e.span.start).min());
    let mut taken: Vec<&Edit> = Vec::new();
    let (mut applied, mut overlapping) = (0, 0);
    let mut taken_fixes: Vec<&[Edit]> = Vec::new();
    for edits in order {
        // Several findings one edit resolves (the names of one comment).
        if taken_fixes.contains(&edits) {
            applied += 1;
            continue;
        }
        let clashes = edits.iter().any(|e| {
            taken.iter().any(|t| {
                e.span.start < t.span.end && t.span.start < e.span.end
                    || (e.span.start == t.span.start && e.span.is_empty() && t.span.is_empty())
            })
        });
        let inside = edits.iter().all(|e| {
            text.get(e.span.start as usize..e.span.end as usize)
                .is_some()
        });
        if clashes || !inside {
            overlapping += 1;
            continue;
        }
        taken.extend(edits.iter());
        taken_fixes.push(edits);
        applied += 1;
    }
    taken.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for edit in taken {
        out.push_str(&text[at..edit.span.start as usize]);
        out.push_str(&edit.replacement);
        at = edit.span.end as usize;
    }
    out.push_str(&text[at..]);
    (out, applied, overlapping)
}

/// The file's path and bytes, if kslint may change it: a regular file of
/// the tree (not a link), whose text is still the one it linted.
fn read_as_linted(
    name: &str,
    linted: &str,
    tree: &Tree,
    max_size: u64,
) -> Result<(PathBuf, Vec<u8>), String> {
    let path = PathBuf::from(name);
    let meta = std::fs::symlink_metadata(&path).map_err(|_| {
        "not a file kslint read from disk (a build or render): nothing to write".to_owned()
    })?;
    if meta.file_type().is_symlink() {
        return Err("a symbolic link: kslint does not write through links".into());
    }
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    tree.resolve(&path)
        .map_err(|_| "outside the linted tree: kslint writes only there".to_owned())?;
    let bytes = tree.read(&path, max_size).map_err(|e| e.why())?;
    let (text, not_utf8) = crate::tree::text_of(bytes.clone());
    if not_utf8.is_some() || text != linted {
        return Err(
            "its text is not the one linted (changed since, or line breaks kslint reads as kubectl does): lint it again"
                .into(),
        );
    }
    Ok((path, bytes))
}

/// Writes a fixed file, unless it changed since it was read: atomically
/// (a temporary file beside it, then a rename), keeping its mode.
pub fn write(file: &FileFix) -> Result<(), String> {
    let now = std::fs::read(&file.path).map_err(|e| crate::source::io_message(&e))?;
    if now != file.original {
        return Err("changed while kslint was fixing it; run again".into());
    }
    crate::tree::write_atomically(&file.path, &file.fixed, ".kslint-fix")
}

/// A unified diff of the change to one file.
pub fn unified_diff(file: &FileFix) -> String {
    let before = String::from_utf8_lossy(&file.original);
    similar::TextDiff::from_lines(before.as_ref(), file.fixed.as_str())
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{}", file.name), &format!("b/{}", file.name))
        .to_string()
}
