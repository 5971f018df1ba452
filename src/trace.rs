//! The trace stage: findings in generated texts move to the files users
//! edit (a Helm template or values line, the base or patch of a
//! Kustomize build), around the two passes of suppressions, and findings
//! that several units or value sets share are merged into one.

use crate::diagnostic::{Diagnostic, Label};
use crate::expand::{
    ChartFound, FileNamer, Provenance, Retrace, TraceInput, Tracer, resolve_stand_ins,
};
use crate::outcome::SourceMap;
use crate::settings::Settings;
use crate::source::{FileId, SourceDb};
use crate::suppress::{Suppressions, suppress, unused_suppressions};
use crate::tree::Tree;
use crate::yaml::Span;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Tracing for one run: the engines' tracers, and the generated texts
/// that retrace themselves (by the id of their text).
pub struct Tracing<'a> {
    tracers: Vec<Box<dyn Tracer>>,
    builds: HashMap<FileId, Arc<dyn Retrace>>,
    provenance: &'a [Option<Arc<Provenance>>],
    /// Files from here on were loaded by tracing (templates, values files).
    first_added: usize,
}

impl<'a> Tracing<'a> {
    /// Tracing for the run's files, given each file's provenance (by id)
    /// and the chart folders the engines found.
    pub fn new(
        db: &SourceDb,
        provenance: &'a [Option<Arc<Provenance>>],
        charts: Vec<ChartFound>,
        tree: &Tree,
    ) -> Self {
        let builds = provenance
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((FileId(i as u32), p.as_ref()?.build()?.clone())))
            .collect();
        let input = TraceInput {
            db,
            provenance,
            charts: &charts,
            tree,
        };
        Tracing {
            tracers: crate::engines()
                .iter()
                .filter_map(|engine| engine.tracer(&input))
                .collect(),
            builds,
            provenance,
            first_added: db.len(),
        }
    }

    /// Suppresses, traces, suppresses again on the traced places, adds the
    /// unused suppressions (traced too), and merges repeated findings.
    /// Annotation suppressions act on generated objects; comment ones on
    /// the lines findings are traced to.
    pub fn run(
        &mut self,
        diagnostics: Vec<Diagnostic>,
        mut suppressions: Vec<Suppressions>,
        db: &mut SourceDb,
        settings: &Settings,
        any_units: bool,
    ) -> Vec<Diagnostic> {
        suppressions.resize_with(db.len(), Suppressions::default);
        for tracer in &self.tracers {
            tracer.drop_generated_comments(&mut suppressions);
        }
        let diagnostics = suppress(diagnostics, &mut suppressions, db, |_| Vec::new());
        let diagnostics = self.trace(diagnostics, db);
        suppressions.extend(added_suppressions(db, self.first_added));
        let diagnostics = suppress(diagnostics, &mut suppressions, db, |d| {
            self.tracers.iter().flat_map(|t| t.more_places(d)).collect()
        });
        // A misspelt rule name is worth saying anywhere; an unused
        // suppression only where it could not hide something elsewhere.
        let skip_unused = |file: FileId| self.tracers.iter().any(|t| t.conditional(file, db));
        let unused = unused_suppressions(suppressions, settings, skip_unused, |file| {
            db.file(file).text.clone()
        });
        let mut diagnostics = diagnostics;
        diagnostics.extend(self.trace(unused, db));
        // A fix edits the text it was found in: once a finding was traced
        // from a render or build to the file users edit (a template, a
        // base), those edits are not the change to make there, so the fix
        // goes; tracing made the fixes that belong there (a base's
        // container, a chart's values). Helm output committed with its
        // `# Source:` lines counts as a render: it is made anew from the
        // chart.
        for diagnostic in &mut diagnostics {
            if let Some(render) = diagnostic.rendered_from
                && diagnostic
                    .fix
                    .as_ref()
                    .is_some_and(|fix| fix.edits.iter().any(|edit| edit.file == render))
            {
                diagnostic.fix = None;
            }
        }
        // Only generated texts and several units can repeat a finding.
        if any_units || self.tracers.iter().any(|t| t.repeats()) {
            merge_duplicates(diagnostics, self.provenance)
        } else {
            diagnostics
        }
    }

    fn trace(&mut self, mut diagnostics: Vec<Diagnostic>, db: &mut SourceDb) -> Vec<Diagnostic> {
        for tracer in &mut self.tracers {
            diagnostics = tracer.trace(diagnostics, db);
        }
        if self.builds.is_empty() {
            return diagnostics;
        }
        let builds = &self.builds;
        let shared: &SourceDb = db;
        let added: Vec<Vec<(String, &str)>> = diagnostics
            .par_iter_mut()
            .map(|d| {
                let mut names = FileNamer::new(shared);
                let text = d.primary.file;
                if let Some(build) = builds.get(&text) {
                    build.retrace(d, text, &mut names);
                }
                for label in &mut d.related {
                    if let Some(build) = builds.get(&label.file) {
                        build.retrace_label(label, &mut names);
                    }
                }
                names.into_added()
            })
            .collect();
        for (d, added) in diagnostics.iter_mut().zip(added) {
            resolve_stand_ins(d, added, db);
        }
        diagnostics
    }

    /// How places in the generated texts map to source files, for queries.
    pub fn source_maps(self) -> HashMap<FileId, Arc<dyn SourceMap>> {
        self.builds
            .into_iter()
            .map(|(id, built)| (id, built as Arc<dyn SourceMap>))
            .collect()
    }
}

/// The comment suppressions of files tracing loaded (templates, values
/// files, the bases of builds), in file id order after the run's own.
fn added_suppressions(db: &SourceDb, first_added: usize) -> Vec<Suppressions> {
    (first_added..db.len())
        .map(|i| {
            let file = db.file(FileId(i as u32));
            if file.text.contains("kslint-ignore") {
                Suppressions::from_comments(&file.text, file.line_index())
            } else {
                Suppressions::default()
            }
        })
        .collect()
}

/// Merges identical findings (same rule, place and message): a finding
/// several value sets of a chart share, or one a loose file and a render
/// both give (a chart's `crds/`, loose files seen by several units). A
/// finding only some value sets have names them; an unused suppression in
/// a template that another value set used is no finding.
fn merge_duplicates(
    mut diagnostics: Vec<Diagnostic>,
    renders: &[Option<Arc<Provenance>>],
) -> Vec<Diagnostic> {
    let render_of = |d: &Diagnostic| {
        d.rendered_from
            .and_then(|id| renders.get(id.0 as usize))
            .and_then(Option::as_ref)
    };
    // Findings in files as written first, so a build's copy of one finds it.
    diagnostics.sort_by_key(|d| render_of(d).is_some_and(|r| r.build().is_some()));
    struct Seen {
        sets: Vec<String>,
        // Whether a copy came from outside any value set.
        everywhere: bool,
        // The Kustomize builds that have it.
        builds: Vec<String>,
    }
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    let mut seen: Vec<Seen> = Vec::with_capacity(diagnostics.len());
    let mut index: HashMap<(&'static str, FileId, Span, String), usize> = HashMap::new();
    let mut loose: HashMap<(&'static str, FileId, Span, Option<String>), usize> = HashMap::new();
    for diagnostic in diagnostics {
        let build = render_of(&diagnostic)
            .filter(|r| r.build().is_some())
            .map(|r| r.dir.clone());
        let set = render_of(&diagnostic)
            .and_then(|r| r.render())
            .map(|r| r.value_set.clone());
        // Builds rename objects (a prefix per overlay), so the same line
        // of a shared base gives messages that differ only by name: one
        // finding per rule, place, and object and container as the base
        // file has them (a line can feed several objects of one build).
        let key = (
            diagnostic.rule,
            diagnostic.primary.file,
            diagnostic.primary.span,
            if build.is_some() {
                format!("{:?} {:?}", diagnostic.source_object, diagnostic.container)
            } else {
                diagnostic.message.clone()
            },
        );
        // With `--kustomize both` a base file is linted as written too: its
        // finding and the builds' copy of it at the same place are one.
        let place = (
            diagnostic.rule,
            diagnostic.primary.file,
            diagnostic.primary.span,
            diagnostic.container.clone(),
        );
        let as_written = if build.is_some() {
            loose.get(&place).copied()
        } else {
            None
        };
        let at = match as_written.or_else(|| index.get(&key).copied()) {
            Some(at) => at,
            None => {
                if build.is_none() {
                    loose.entry(place).or_insert(out.len());
                }
                index.insert(key, out.len());
                out.push(diagnostic);
                seen.push(Seen {
                    sets: Vec::new(),
                    everywhere: false,
                    builds: Vec::new(),
                });
                out.len() - 1
            }
        };
        if let Some(build) = build {
            if !seen[at].builds.contains(&build) {
                seen[at].builds.push(build);
            }
            continue;
        }
        match set {
            Some(set) if !set.is_empty() => {
                if !seen[at].sets.contains(&set) {
                    seen[at].sets.push(set);
                }
            }
            _ => seen[at].everywhere = true,
        }
    }
    // The value sets each chart was rendered with.
    let mut per_chart: HashMap<&str, Vec<&str>> = HashMap::new();
    for generated in renders.iter().flatten() {
        let Some(render) = generated.render() else {
            continue;
        };
        let sets = per_chart.entry(generated.dir.as_str()).or_default();
        if !sets.contains(&render.value_set.as_str()) {
            sets.push(render.value_set.as_str());
        }
    }
    let mut kept = Vec::with_capacity(out.len());
    for (mut diagnostic, seen) in out.into_iter().zip(seen) {
        let every = render_of(&diagnostic)
            .and_then(|r| per_chart.get(r.dir.as_str()))
            .map_or(0, Vec::len);
        let partial = !seen.everywhere && !seen.sets.is_empty() && seen.sets.len() < every;
        if partial && diagnostic.rule == crate::rules::manifest::UnusedSuppression::ID {
            continue;
        }
        let mut name = |names: &[String], one: &str, many: &str| {
            let noun = if names.len() == 1 { one } else { many };
            diagnostic.related.push(Label {
                file: diagnostic.primary.file,
                span: diagnostic.primary.span,
                message: format!("{noun} {}", names.join(", ")),
            });
        };
        if !seen.builds.is_empty() {
            name(&seen.builds, "in the build of", "in the builds of");
        }
        if partial {
            name(
                &seen.sets,
                "found when rendering with the value set",
                "found when rendering with the value sets",
            );
        }
        kept.push(diagnostic);
    }
    kept
}
