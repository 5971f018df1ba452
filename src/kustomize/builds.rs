//! The Kustomize engine of a run: builds each top-level kustomization
//! among the linted paths (natively, else with the real tool), groups the
//! builds into units, and says why a kustomization was not built.

use super::{Built, Error, FILE_NAMES, fallback, trace};
use crate::expand::{Context, Engine, Expansion, Generated, Origin, Problem, Provenance};
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
        let units = units(&runs);
        for (run, unit) in runs.into_iter().zip(units) {
            if let Some(built) = run.built {
                expansion.generated.push(Generated {
                    name: format!("{}: kustomize build", run.dir),
                    text: built.emitted.text.clone(),
                    provenance: Arc::new(Provenance {
                        dir: run.dir,
                        origin: Origin::Build(built),
                        unit: format!("kustomize {unit}"),
                    }),
                });
            }
            expansion.problems.extend(run.problem);
        }
        expansion
    }
}

/// A top-level kustomization and what became of building it.
struct Run {
    dir: String,
    built: Option<Arc<Built>>,
    problem: Option<Problem>,
}

/// Groups builds into units: builds that read a common file (overlays of
/// one base: alternatives, such as dev and prod) go to different units;
/// unrelated builds, parts of one system, share one. Greedy colouring, so
/// the number of units is about the most overlays any base has.
fn units(runs: &[Run]) -> Vec<usize> {
    let mut readers: HashMap<&Path, Vec<usize>> = HashMap::new();
    for (i, run) in runs.iter().enumerate() {
        for path in run.built.iter().flat_map(|b| b.sources.paths()) {
            readers.entry(path).or_default().push(i);
        }
    }
    let mut colors: Vec<usize> = Vec::with_capacity(runs.len());
    for (i, run) in runs.iter().enumerate() {
        let mut taken = HashSet::new();
        for path in run.built.iter().flat_map(|b| b.sources.paths()) {
            for &other in &readers[path] {
                if other < i {
                    taken.insert(colors[other]);
                }
            }
        }
        let free = (0..=taken.len()).find(|c| !taken.contains(c));
        colors.push(free.unwrap_or(taken.len()));
    }
    colors
}

/// Builds each top-level kustomization: one no other kustomization of the
/// run includes (or one in a cycle, so the cycle is reported).
fn build_top_level(dirs: &[PathBuf], cx: &Context<'_>) -> Vec<Run> {
    let settings = cx.settings;
    let tool = fallback::Tool::find(settings.kustomize_bin.as_deref(), cx.tree);
    let canonical: Vec<Option<PathBuf>> = dirs.iter().map(|d| d.canonicalize().ok()).collect();
    let edges: HashMap<PathBuf, Vec<PathBuf>> = dirs
        .par_iter()
        .zip(canonical.par_iter())
        .filter_map(|(d, c)| {
            Some((
                c.clone()?,
                super::referenced_folders(d, cx.tree, settings.max_file_size),
            ))
        })
        .collect();
    let referenced: HashSet<&PathBuf> = edges
        .iter()
        .flat_map(|(from, to)| to.iter().filter(move |t| *t != from))
        .collect();
    let in_cycle = |start: &PathBuf| {
        let mut stack: Vec<&PathBuf> = edges.get(start).into_iter().flatten().collect();
        let mut seen = HashSet::new();
        while let Some(next) = stack.pop() {
            if next == start {
                return true;
            }
            if seen.insert(next) {
                stack.extend(edges.get(next).into_iter().flatten());
            }
        }
        false
    };
    dirs.par_iter()
        .zip(canonical.par_iter())
        .filter(|(_, c)| {
            c.as_ref()
                .is_none_or(|c| !referenced.contains(c) || in_cycle(c))
        })
        .map(|(dir, _)| build_one(dir, tool.as_ref(), cx))
        .collect()
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
        built: Some(Arc::new(built)),
        problem: None,
    };
    let (error, sources) = match super::build_and_emit(dir, tree.clone(), settings.max_file_size) {
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
