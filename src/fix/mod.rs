//! `kslint fix`: the fixes findings carry, applied to the files users own.
//! A fix is a set of text edits at exact spans, so comments, quoting,
//! indentation and line breaks around it stay as they are. This module
//! plans: it reads each file again, checks it is the text the spans were
//! measured in, makes the new text and decodes it to check each fix did
//! only what it says; [`until_stable`] lints the fixed texts again until
//! nothing is left to fix (one fix can make room for the next: a
//! `securityContext` inserted by one is completed by the others); writing
//! (atomic, never through a link) is [`write`]'s.

use crate::diagnostic::{Applicability, Edit, Effect, Fix};
use crate::outcome::Outcome;
use crate::source::FileId;
use crate::tree::{Overrides, Tree};
use crate::yaml::Span;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

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
    let mut by_file: BTreeMap<FileId, Vec<&Fix>> = BTreeMap::new();
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
        by_file.entry(first.file).or_default().push(fix);
    }
    for (id, fixes) in by_file {
        let file = outcome.db.file(id);
        match read_as_linted(&file.name, &file.text, tree, max_size) {
            Ok((path, original)) => {
                let (fixed, applied, overlapping, refused) = apply_checked(&file.text, &fixes);
                if overlapping > 0 {
                    result.skipped.push(format!(
                        "{}: {overlapping} fix(es) overlap another and wait for the next run",
                        file.name
                    ));
                }
                for title in refused {
                    result.skipped.push(format!(
                        "{}: the fix \"{title}\" would change more than it says (its file decodes differently): left for you",
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

/// How many times [`until_stable`] lints the fixed texts again at most.
pub const MAX_ROUNDS: usize = 10;

/// Fixes in rounds, as far as they go: `lint` lints the run with the given
/// texts standing for their files; each round's fixed texts are linted
/// again, until a round has nothing left to fix or [`MAX_ROUNDS`] have run.
/// Nothing is written: the plan's files hold the final texts.
pub fn until_stable(
    tree: &Tree,
    unsafe_fixes: bool,
    max_size: u64,
    mut lint: impl FnMut(Option<Overrides>) -> anyhow::Result<Outcome>,
) -> anyhow::Result<Plan> {
    let mut texts: HashMap<PathBuf, Arc<str>> = HashMap::new();
    let mut files: BTreeMap<String, FileFix> = BTreeMap::new();
    let mut last = Plan::default();
    for _ in 0..MAX_ROUNDS {
        let overrides = (!texts.is_empty()).then(|| Arc::new(texts.clone()));
        let outcome = lint(overrides.clone())?;
        let round = plan(
            &outcome,
            unsafe_fixes,
            &tree.clone().with_overrides(overrides),
            max_size,
        );
        drop(outcome);
        last = Plan {
            files: Vec::new(),
            skipped: round.skipped,
            unsafe_left: round.unsafe_left,
        };
        if round.files.is_empty() {
            break;
        }
        for file in round.files {
            let real = tree
                .resolve(&file.path)
                .map_err(|e| anyhow::anyhow!("{}: {}", file.name, e.why()))?;
            texts.insert(real, Arc::from(file.fixed.as_str()));
            match files.entry(file.name.clone()) {
                std::collections::btree_map::Entry::Occupied(mut seen) => {
                    let seen = seen.get_mut();
                    seen.fixed = file.fixed;
                    seen.fixes += file.fixes;
                }
                // The first round read the file from disk: its bytes are
                // what the write checks.
                std::collections::btree_map::Entry::Vacant(new) => {
                    new.insert(file);
                }
            }
        }
    }
    last.files = files.into_values().collect();
    Ok(last)
}

/// Applies the fixes as [`apply`] does, then decodes the result: if a
/// document changed otherwise than its fixes' effects allow, the fixes are
/// applied one at a time, each checked, and those that fail are left out.
/// Returns the text, the fixes applied, those that overlap another, and the
/// titles of those refused.
fn apply_checked<'f>(text: &str, fixes: &[&'f Fix]) -> (String, usize, usize, Vec<&'f str>) {
    let (fixed, taken, overlapping) = apply(text, fixes);
    if taken.is_empty() {
        return (fixed, 0, overlapping, Vec::new());
    }
    let before = load(text);
    if decodes_as_allowed(&before, &fixed, &taken) {
        return (fixed, taken.len(), overlapping, Vec::new());
    }
    // Edits are measured in the original text: the first fix that passes
    // alone is applied, the rest wait for the next round. Each try decodes
    // the file: a few are enough to find the fix that misbehaves.
    let mut refused = Vec::new();
    for (i, fix) in taken.iter().enumerate().take(MAX_TRIES) {
        let (next, one, _) = apply(text, &[fix]);
        if decodes_as_allowed(&before, &next, &one) {
            let waiting = overlapping + taken.len() - i - 1;
            return (next, 1, waiting, refused);
        }
        refused.push(fix.title.as_str());
    }
    let waiting = overlapping + taken.len() - refused.len();
    (text.to_owned(), 0, waiting, refused)
}

/// How many fixes of one file [`apply_checked`] tries alone at most.
const MAX_TRIES: usize = 16;

fn load(text: &str) -> crate::yaml::Stream {
    crate::yaml::parse_manifest_stream(text, crate::yaml::Limits::default())
}

/// Whether `fixed` decodes to the objects of `before` (the text the fixes
/// were made in) changed only as the fixes' effects allow: as many
/// documents, no new load errors, and in each document the effects of the
/// fixes made in it.
fn decodes_as_allowed(before: &crate::yaml::Stream, fixed: &str, fixes: &[&Fix]) -> bool {
    let after = load(fixed);
    if after.errors.len() > before.errors.len() || after.documents.len() != before.documents.len() {
        return false;
    }
    before
        .documents
        .iter()
        .zip(&after.documents)
        .all(|(old, new)| {
            let within = |edit: &Edit| {
                old.range.start <= edit.span.start && edit.span.start <= old.range.end
            };
            let mut effect = None;
            for fix in fixes.iter().filter(|f| f.edits.iter().any(within)) {
                effect = effect.max(Some(fix.effect));
            }
            let (old, new) = (old.root.to_json(), new.root.to_json());
            match effect {
                None | Some(Effect::Same) => old == new,
                Some(Effect::Adds) => old != new && extends(&old, &new),
                Some(Effect::Changes) => true,
            }
        })
}

/// Whether `new` holds all of `old`, with only fields and list items added.
fn extends(old: &serde_json::Value, new: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (old, new) {
        (J::Object(old), J::Object(new)) => old
            .iter()
            .all(|(key, value)| new.get(key).is_some_and(|v| extends(value, v))),
        (J::Array(old), J::Array(new)) => {
            old.len() <= new.len() && old.iter().zip(new).all(|(a, b)| extends(a, b))
        }
        _ => old == new,
    }
}

/// Applies whole fixes in order of place, leaving out one that overlaps a
/// fix already taken. Returns the text, the fixes applied and how many
/// were left out.
fn apply<'f>(text: &str, fixes: &[&'f Fix]) -> (String, Vec<&'f Fix>, usize) {
    let mut order: Vec<&Fix> = fixes.to_vec();
    order.sort_by_key(|fix| fix.edits.iter().map(|e| e.span.start).min());
    let mut taken: Vec<&Edit> = Vec::new();
    let mut places = Taken::default();
    let mut overlapping = 0;
    let mut taken_fixes: Vec<&Fix> = Vec::new();
    // The edit sets taken, to know one that several findings share (the
    // names of one comment) in constant time.
    let mut seen: std::collections::HashSet<Vec<(u32, u32, &str)>> = Default::default();
    let key = |fix: &'f Fix| -> Vec<(u32, u32, &'f str)> {
        fix.edits
            .iter()
            .map(|e| (e.span.start, e.span.end, e.replacement.as_str()))
            .collect()
    };
    for fix in order {
        let edits = fix.edits.as_slice();
        if seen.contains(&key(fix)) {
            taken_fixes.push(fix);
            continue;
        }
        let inside = edits.iter().all(|e| {
            text.get(e.span.start as usize..e.span.end as usize)
                .is_some()
        });
        if !inside || edits.iter().any(|e| places.clashes(e.span)) {
            overlapping += 1;
            continue;
        }
        for edit in edits {
            places.take(edit.span);
        }
        taken.extend(edits.iter());
        seen.insert(key(fix));
        taken_fixes.push(fix);
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
    (out, taken_fixes, overlapping)
}

/// The places edits were taken at: replaced spans (which never overlap)
/// by start, and insertion points. Looking one up costs a logarithm, so a
/// file with a hundred thousand fixes is planned in linear-logarithmic time.
#[derive(Default)]
struct Taken {
    spans: BTreeMap<u32, u32>,
    insertions: std::collections::BTreeSet<u32>,
}

impl Taken {
    /// Whether an edit at `span` would overlap one taken: a replaced span
    /// sharing a byte with it, an insertion strictly inside it, or (for an
    /// insertion) another insertion at the same point.
    fn clashes(&self, span: Span) -> bool {
        let (start, end) = (span.start, span.end);
        if start == end {
            return self.insertions.contains(&start)
                || self
                    .spans
                    .range(..start)
                    .next_back()
                    .is_some_and(|(_, &taken_end)| taken_end > start);
        }
        // Taken spans do not overlap: the last one starting before `end`
        // ends last among them.
        self.spans
            .range(..end)
            .next_back()
            .is_some_and(|(_, &taken_end)| taken_end > start)
            || self.insertions.range(start + 1..end).next().is_some()
    }

    fn take(&mut self, span: Span) {
        if span.is_empty() {
            self.insertions.insert(span.start);
        } else {
            self.spans.insert(span.start, span.end);
        }
    }
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
    // Byte for byte: a file whose lone carriage returns kslint read as line
    // feeds would lose them.
    if bytes != linted.as_bytes() {
        let (text, _) = crate::tree::text_of(bytes.clone());
        return Err(if text == linted {
            "it ends lines with lone carriage returns, which kslint would not keep".into()
        } else {
            "its text is not the one linted (changed since): lint it again".into()
        });
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
    // Myers' diff is quadratic in the worst case: past the deadline it
    // finishes with a coarser (still correct) diff.
    similar::TextDiff::configure()
        .timeout(std::time::Duration::from_secs(1))
        .diff_lines(before.as_ref(), file.fixed.as_str())
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{}", file.name), &format!("b/{}", file.name))
        .to_string()
}
