//! The Kustomize engine of a run: builds each top-level kustomization
//! among the linted paths (natively, else with the real tool), groups the
//! builds into units, and says why a kustomization was not built.

use super::{Built, Error, FILE_NAMES, fallback, trace};
use crate::expand::{Context, Engine, Expansion, Generated, Origin, Problem, Provenance};
use crate::parsed::ParsedFile;
use crate::settings::{KustomizeMode, Settings};
use crate::source::{self, Discovery};
use crate::tree::Tree;
use crate::yaml::Span;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The Kustomize engine.
pub struct Builds;

impl Engine for Builds {
    fn expand(&self, found: &Discovery, kept: &HashSet<&Path>, cx: &Context<'_>) -> Expansion {
        let mode = cx.settings.kustomize_mode;
        if mode == KustomizeMode::Files {
            return Expansion::default();
        }
        // A kustomization whose file the include and exclude globs leave
        // out is not built.
        let wanted: Vec<PathBuf> = found
            .kustomizations
            .iter()
            .filter(|dir| {
                FILE_NAMES.iter().any(|name| {
                    let file = dir.join(name);
                    kept.contains(file.as_path()) || (*name == "Kustomization" && file.is_file())
                })
            })
            .cloned()
            .collect();
        let runs = build_top_level(&wanted, cx);
        let mut expansion = Expansion::default();
        if mode == KustomizeMode::Build {
            // The files that feed a build are linted through it.
            expansion.consumed = runs
                .iter()
                .filter_map(|run| run.built.as_ref())
                .flat_map(|built| built.sources.paths().map(Path::to_path_buf))
                .collect();
        }
        // A patch is part of an object, never one of its own, even when its
        // kustomization cannot be built.
        expansion
            .consumed
            .extend(patch_files(&found.kustomizations, cx));
        for run in runs {
            if let Some(mut built) = run.built {
                // Each top-level build is what one environment deploys: its
                // own cluster for cross-resource rules.
                let unit = format!("kustomize {}", run.dir);
                expansion.generated.push(Generated {
                    name: format!("{}: kustomize build", run.dir),
                    // Tracing needs the origins, not the text.
                    text: std::mem::take(&mut built.emitted.text),
                    documents: Some(std::mem::take(&mut built.emitted.documents)),
                    provenance: Arc::new(Provenance {
                        dir: run.dir,
                        origin: Origin::Build(Arc::new(built)),
                        unit,
                    }),
                });
            }
            expansion.problems.extend(run.problem);
        }
        expansion
    }
}

/// The fields whose entries name patch files.
const PATCH_FIELDS: [&str; 3] = ["patches", "patchesStrategicMerge", "patchesJson6902"];

/// The fields whose entries name whole objects or kustomizations.
const RESOURCE_FIELDS: [&str; 3] = ["resources", "components", "crds"];

/// The real paths of the files the kustomizations in `dirs` name as
/// patches: in a patch field, or only in a comment (a patch switched off
/// by commenting its entry out is still a patch, not an object), unless
/// the kustomization also names them as resources.
fn patch_files(dirs: &[PathBuf], cx: &Context<'_>) -> HashSet<PathBuf> {
    let of_one = |dir: &PathBuf| {
        let mut out = Vec::new();
        let Some(parsed) = parsed_kustomization(dir, cx) else {
            return out;
        };
        let text = &parsed.text;
        let root = parsed.stream.documents.first().map(|d| &d.root);
        let entries = |fields: &[&str]| -> Vec<String> {
            fields
                .iter()
                .flat_map(|field| {
                    root.and_then(|r| r.get(field))
                        .and_then(crate::yaml::Node::as_seq)
                        .unwrap_or_default()
                })
                .filter_map(|item| {
                    item.as_str()
                        .or_else(|| item.get("path").and_then(crate::yaml::Node::as_str))
                })
                // An inline patch (YAML in a string) names no file.
                .filter(|entry| !entry.contains('\n'))
                .map(str::to_owned)
                .collect()
        };
        let resources: HashSet<PathBuf> = entries(&RESOURCE_FIELDS)
            .iter()
            .map(|entry| source::lexical_join(dir, entry))
            .collect();
        let named = entries(&PATCH_FIELDS)
            .into_iter()
            .chain(commented_files(text));
        for entry in named {
            let path = source::lexical_join(dir, &entry);
            if resources.contains(&path) {
                continue;
            }
            if let Ok(real) = cx.tree.resolve(&path)
                && real.is_file()
            {
                out.push(real);
            }
        }
        out
    };
    dirs.par_iter().flat_map_iter(of_one).collect()
}

/// The kustomization file of a folder, read and parsed through the run's
/// cache: the builds and the file's own lint take it from there.
fn parsed_kustomization(dir: &Path, cx: &Context<'_>) -> Option<Arc<ParsedFile>> {
    let real = cx.tree.resolve(&kustomization_file(dir)).ok()?;
    cx.parsed.get(cx.tree, &real)
}

/// The YAML and JSON file names in comments under a patch field (its key
/// written or itself commented out): entries switched off by commenting
/// them out. A file commented out under `resources` is an object the
/// kustomization leaves out, linted as written.
fn commented_files(text: &str) -> Vec<String> {
    let mut section = "";
    let mut out = Vec::new();
    for line in text.lines() {
        // A top-level key, live or commented out, opens a section.
        let bare = line.strip_prefix('#').map_or(line, str::trim_start);
        if let Some((key, _)) = bare.split_once(':')
            && !bare.starts_with(' ')
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric())
        {
            section = if bare.len() == line.len() || bare.trim_end().ends_with(':') {
                key
            } else {
                section
            };
        }
        let Some((_, comment)) = line.split_once('#') else {
            continue;
        };
        if !PATCH_FIELDS.contains(&section) {
            continue;
        }
        for word in
            comment.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']'))
        {
            let word = word.trim_start_matches(['-', ':']);
            let word = word.strip_prefix("path:").unwrap_or(word);
            if [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| word.len() > ext.len() && word.ends_with(ext))
            {
                out.push(word.to_owned());
            }
        }
    }
    out
}

/// A top-level kustomization and what became of building it.
struct Run {
    dir: String,
    built: Option<Built>,
    problem: Option<Problem>,
}

/// Builds each top-level kustomization: one no other kustomization of the
/// run includes (or one in a cycle, so the cycle is reported).
fn build_top_level(dirs: &[PathBuf], cx: &Context<'_>) -> Vec<Run> {
    let settings = cx.settings;
    let tool = fallback::Tool::find(settings.kustomize_bin.as_deref(), cx.tree);
    let canonical: Vec<Option<PathBuf>> = dirs.iter().map(|d| d.canonicalize().ok()).collect();
    // Each kustomization's folders, and the bytes of the files it names
    // itself.
    let read: HashMap<PathBuf, (Vec<PathBuf>, u64)> = dirs
        .par_iter()
        .zip(canonical.par_iter())
        .filter_map(|(d, c)| {
            let parsed = parsed_kustomization(d, cx);
            let root = &parsed.as_ref()?.stream.documents.first()?.root;
            let folders = super::referenced_folders(d, root, cx.tree);
            Some((c.clone()?, (folders, own_bytes(d, root))))
        })
        .collect();
    let referenced: HashSet<&PathBuf> = read
        .iter()
        .flat_map(|(from, (to, _))| to.iter().filter(move |t| *t != from))
        .collect();
    // A folder in a cycle reaches itself through what it includes.
    let in_cycle = |start: &PathBuf| {
        let included = read.get(start).map_or(&[][..], |(folders, _)| folders);
        reachable(included, &read).contains(start)
    };
    let mut top: Vec<(usize, &PathBuf, u64)> = dirs
        .iter()
        .zip(&canonical)
        .enumerate()
        .filter(|(_, (_, c))| {
            c.as_ref()
                .is_none_or(|c| !referenced.contains(c) || in_cycle(c))
        })
        // A component is built only as part of the kustomizations that
        // include it; one that none includes is no deployment of its own.
        .filter(|(_, (dir, _))| !is_component(dir, cx))
        .map(|(i, (dir, c))| {
            // About what building it reads: its own files and those of
            // every folder it includes, each folder counted once.
            let cost = c.as_ref().map_or(0, |c| {
                reachable(std::slice::from_ref(c), &read)
                    .iter()
                    .filter_map(|folder| read.get(*folder))
                    .map(|(_, bytes)| bytes)
                    .sum()
            });
            (i, dir, cost)
        })
        .collect();
    // The largest builds start first: one left to run alone at the end
    // would keep the other cores idle.
    top.sort_by_key(|&(i, _, cost)| (std::cmp::Reverse(cost), i));
    let mut runs: Vec<(usize, Run)> = top
        .par_iter()
        .map(|&(i, dir, _)| (i, build_one(dir, tool.as_ref(), cx)))
        .collect();
    runs.sort_by_key(|(i, _)| *i);
    runs.into_iter().map(|(_, run)| run).collect()
}

/// The bytes of the files a kustomization names itself (not the folders).
fn own_bytes(dir: &Path, root: &crate::yaml::Node) -> u64 {
    RESOURCE_FIELDS
        .iter()
        .chain(&PATCH_FIELDS)
        .chain(&["bases"])
        .flat_map(|key| {
            root.get(key)
                .and_then(crate::yaml::Node::as_seq)
                .unwrap_or_default()
        })
        .filter_map(|entry| entry.as_str().or_else(|| entry.get("path")?.as_str()))
        .filter(|entry| !entry.contains('\n'))
        .map(|entry| source::lexical_join(dir, entry))
        // What the build may read: nothing above the folder is looked at.
        .filter(|path| path.starts_with(dir))
        .filter_map(|path| std::fs::metadata(path).ok())
        .filter(std::fs::Metadata::is_file)
        .map(|meta| meta.len())
        .sum()
}

/// The kustomization folders (canonical) reachable from `from` through
/// the folders each includes, `from` among them.
fn reachable<'a>(
    from: &'a [PathBuf],
    read: &'a HashMap<PathBuf, (Vec<PathBuf>, u64)>,
) -> HashSet<&'a PathBuf> {
    let mut seen: HashSet<&PathBuf> = HashSet::new();
    let mut stack: Vec<&PathBuf> = from.iter().collect();
    while let Some(next) = stack.pop() {
        if seen.insert(next)
            && let Some((folders, _)) = read.get(next)
        {
            stack.extend(folders);
        }
    }
    seen
}

/// Whether the kustomization in `dir` is a `kind: Component`.
fn is_component(dir: &Path, cx: &Context<'_>) -> bool {
    parsed_kustomization(dir, cx)
        .and_then(|parsed| {
            let kind = parsed.stream.documents.first()?.root.get("kind")?;
            Some(kind.as_str() == Some("Component"))
        })
        .unwrap_or(false)
}

/// Builds one kustomization: natively, else (for a feature the engine does
/// not build) with the real tool.
fn build_one(dir: &Path, tool: Option<&fallback::Tool>, cx: &Context<'_>) -> Run {
    let (settings, tree) = (cx.settings, cx.tree);
    let shown = source::display_name(dir);
    let refused = |message: String, at: Option<(String, Arc<str>, Span)>, note: bool| {
        let (file, text, span) = at.unwrap_or_else(|| {
            let file = kustomization_file(dir);
            let text = tree
                .read_text(&file, settings.max_file_size)
                .unwrap_or_default();
            (
                source::display_name(&file),
                Arc::from(text),
                Span::default(),
            )
        });
        let help = if note {
            "Nothing to fix here; findings in these files are reported where they are, without the overlay's changes."
        } else {
            "Fix the kustomization at this line; `kubectl kustomize` on the folder shows the same error."
        };
        Run {
            dir: shown.clone(),
            built: None,
            problem: Some(Problem {
                rule: crate::rules::manifest::KustomizeBuildFailed::ID,
                file,
                text,
                span,
                message,
                help: help.to_owned(),
                severity: note.then_some(crate::diagnostic::Severity::Note),
            }),
        }
    };
    if let Some(why) = cx.budget.spent() {
        return refused(
            format!(
                "kslint did not build {shown}: {why}; its files were linted one by one instead"
            ),
            None,
            false,
        );
    }
    let built = |built: Built| Run {
        dir: shown.clone(),
        built: Some(built),
        problem: None,
    };
    let (error, sources) =
        match super::build_and_emit(dir, tree.clone(), settings.max_file_size, cx.parsed.clone()) {
            Ok(done) => {
                cx.budget
                    .spend(done.emitted.text.len(), std::time::Duration::ZERO);
                return built(done);
            }
            Err(failed) => failed,
        };
    let (message, at, note) = match error {
        Error::Invalid { message, at } => (
            format!(
                "kustomize build of {shown} fails ({message}); its files were linted one by one instead"
            ),
            at,
            false,
        ),
        Error::Unsupported { feature, at } => {
            // A kustomization the real tool rejects too is broken, unless
            // only a flag kslint never passes (plugins, Helm) would build it.
            let mut broken = false;
            let why = match tool {
                Some(tool) => match fallback_build(dir, tool, tree, settings, cx) {
                    Ok(done) => return built(done),
                    Err(fallback::Refusal::NotLocal(why) | fallback::Refusal::NoSandbox(why)) => {
                        format!("kslint did not hand it to `{}` because {why}", tool.command())
                    }
                    Err(fallback::Refusal::Failed(why)) => {
                        broken = !why.contains("--enable-");
                        format!("`{}` failed on it too ({why})", tool.command())
                    }
                },
                None => match &settings.kustomize_bin {
                    Some(bin) => format!(
                        "--kustomize-bin {} is not a program kslint can run ({})",
                        bin.display(),
                        source::named_program(bin, tree)
                            .err()
                            .map(|e| e.to_string())
                            .unwrap_or_default()
                    ),
                    None => "neither kustomize nor kubectl is on PATH to build it (install one, or pass --kustomize-bin)".to_owned(),
                },
            };
            (
                format!(
                    "{shown} uses {feature}, which kslint's Kustomize engine does not build, and {why}; its files were linted one by one instead"
                ),
                at,
                !broken,
            )
        }
    };
    let place = sources
        .locate(at)
        .map(|(path, text, span)| (trace::shown(path), Arc::from(text), span));
    refused(message, place, note)
}

/// The kustomization file of a folder.
fn kustomization_file(dir: &Path) -> PathBuf {
    FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .unwrap_or_else(|| dir.join("kustomization.yaml"))
}

/// A build by the real tool, its output and time counted in the budget.
fn fallback_build(
    dir: &Path,
    tool: &fallback::Tool,
    tree: &Arc<Tree>,
    settings: &Settings,
    cx: &Context<'_>,
) -> Result<Built, fallback::Refusal> {
    let started = std::time::Instant::now();
    let built = fallback::build(
        dir,
        tool,
        tree.clone(),
        settings.max_file_size,
        // A build is read like a file: no larger than one.
        settings.tools.with_output_cap(settings.max_file_size),
    );
    let made = built.as_ref().map_or(0, |b| b.emitted.text.len());
    cx.budget.spend(made, started.elapsed());
    built
}
