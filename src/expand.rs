//! The expand stage: engines turn parts of the tree into the texts that
//! really reach a cluster (a Helm chart into its rendered manifests, a
//! kustomization into its build). Each text carries its provenance, so
//! later stages can trace a finding back to the file the user edits, and
//! each engine reports what it could not expand as [`Problem`]s.

use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::outcome::SourceMap;
use crate::sandbox;
use crate::settings::Settings;
use crate::source::{Discovery, FileId, SourceDb};
use crate::suppress::Suppressions;
use crate::tree::Tree;
use crate::yaml::Span;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// An engine: what it expands, and how.
pub trait Engine: Sync {
    /// Expands what discovery found. `kept` are the files the include and
    /// exclude filters kept.
    fn expand(&self, found: &Discovery, kept: &HashSet<&Path>, cx: &Context<'_>) -> Expansion;

    /// Its part of the trace stage for a run, if it has one beyond the
    /// [`Retrace`] of each generated text.
    fn tracer(&self, _run: &TraceInput<'_>) -> Option<Box<dyn Tracer>> {
        None
    }
}

/// What an engine's tracer may read of a run.
pub struct TraceInput<'a> {
    /// The run's texts, loaded.
    pub db: &'a SourceDb,
    /// Each text's provenance, by file id (`None`: a file as it is).
    pub provenance: &'a [Option<Arc<Provenance>>],
    /// The chart folders the engines found.
    pub charts: &'a [ChartFound],
    /// What tracing may read.
    pub tree: &'a Tree,
}

/// An engine's part of the trace stage: moves findings in texts it knows
/// (the ones it made, or a piped stream it recognises) to the files users
/// edit, and says how suppressions there behave.
pub trait Tracer {
    /// Moves each finding and label in a text it knows to its source.
    fn trace(&mut self, diagnostics: Vec<Diagnostic>, db: &mut SourceDb) -> Vec<Diagnostic>;

    /// Drops comment suppressions of generated texts whose comments are
    /// read in their sources instead.
    fn drop_generated_comments(&self, _suppressions: &mut [Suppressions]) {}

    /// More places whose comment suppressions apply to a traced finding.
    fn more_places(&self, _diagnostic: &Diagnostic) -> Vec<(FileId, Span)> {
        Vec::new()
    }

    /// Whether a suppression in `file` may hide findings only under other
    /// inputs (a template line that renders under some values), so it is
    /// not reported unused when it hid nothing here.
    fn conditional(&self, _file: FileId, _db: &SourceDb) -> bool {
        false
    }

    /// Whether it traced texts that can repeat a finding.
    fn repeats(&self) -> bool {
        false
    }
}

/// What an engine may use.
pub struct Context<'a> {
    /// The run's settings.
    pub settings: &'a Settings,
    /// What the run may read.
    pub tree: &'a Arc<Tree>,
    /// What all engines may make together.
    pub budget: &'a Budget,
    /// Files parsed once for the whole run.
    pub parsed: &'a Arc<crate::parsed::ParsedFiles>,
}

/// What an engine made of the tree.
#[derive(Debug, Default)]
pub struct Expansion {
    /// The texts it made.
    pub generated: Vec<Generated>,
    /// What it could not expand, at the place that says why.
    pub problems: Vec<Problem>,
    /// Files whose objects reach the run through a generated text (the
    /// bases of a build): their text is still read for its own checks.
    pub consumed: HashSet<PathBuf>,
    /// The chart folders found, with their names: a piped `helm template`
    /// stream names its chart, and tracing looks for it among these.
    pub charts: Vec<ChartFound>,
}

/// A chart folder found among the linted paths.
#[derive(Debug, Clone)]
pub struct ChartFound {
    /// Its folder, as shown.
    pub dir: String,
    /// `Chart.yaml`'s name.
    pub name: String,
    /// Whether any render of it succeeded.
    pub rendered: bool,
}

/// A text an engine made.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The name shown if a finding cannot be traced to a file.
    pub name: String,
    /// The text.
    pub text: String,
    /// Its documents when the engine made them with the text (spans in
    /// the text, as the loader reads them); else the text is parsed.
    pub documents: Option<Vec<crate::yaml::Document>>,
    /// What made it.
    pub provenance: Arc<Provenance>,
}

/// What made a generated text, and where it belongs.
#[derive(Debug)]
pub struct Provenance {
    /// The folder it was made from (chart or kustomization), as shown.
    pub dir: String,
    /// The engine and its inputs.
    pub origin: Origin,
    /// The unit it joins for cross-resource rules: texts that are
    /// alternatives (value sets of a chart, overlays of a base) never
    /// share one.
    pub unit: String,
}

/// The engine that made a text, and what it was given.
#[derive(Debug)]
pub enum Origin {
    /// `helm template` of a chart with one value set.
    Render(Render),
    /// A Kustomize build: it knows, place by place, which file it read.
    Build(Arc<dyn Retrace>),
}

/// A generated text that knows which file each of its places came from,
/// and moves findings there. Findings are moved in parallel, so the run's
/// files are named through a [`FileNamer`].
pub trait Retrace: SourceMap {
    /// Moves a finding whose primary place is in this text (`text`) to the
    /// file that place came from, with labels that say how.
    fn retrace<'t>(
        &'t self,
        diagnostic: &mut Diagnostic,
        text: FileId,
        names: &mut FileNamer<'_, 't>,
    );

    /// Moves one label that is in this text.
    fn retrace_label<'t>(&'t self, label: &mut Label, names: &mut FileNamer<'_, 't>);
}

/// The ids of the files one finding's retrace names. A file the run has
/// keeps its id; one it lacks gets a stand-in, made a real id once every
/// finding is moved, in the findings' order: the ids do not depend on
/// which thread finished first.
pub struct FileNamer<'db, 't> {
    db: &'db SourceDb,
    /// The files the run lacked, by stand-in number: name and text.
    added: Vec<(String, &'t str)>,
}

/// Stand-in ids start here, far above any run's count of files.
const STAND_IN: u32 = 1 << 31;

impl<'db, 't> FileNamer<'db, 't> {
    /// Names files of `db`, or new ones.
    pub fn new(db: &'db SourceDb) -> Self {
        FileNamer {
            db,
            added: Vec::new(),
        }
    }

    /// The id of the file shown as `name`, whose text is `text`.
    pub fn id(&mut self, name: String, text: &'t str) -> FileId {
        if let Some(id) = self.db.find(&name) {
            return id;
        }
        let at = match self.added.iter().position(|(known, _)| *known == name) {
            Some(at) => at,
            None => {
                self.added.push((name, text));
                self.added.len() - 1
            }
        };
        FileId(STAND_IN + at as u32)
    }

    /// The shown name of a file this namer gave or found.
    pub fn name(&self, id: FileId) -> &str {
        match id.0.checked_sub(STAND_IN) {
            Some(at) => &self.added[at as usize].0,
            None => &self.db.file(id).name,
        }
    }

    /// The text of a file of the run (a build's output, to trace in).
    pub fn text(&self, id: FileId) -> Option<&'db str> {
        (id.0 < STAND_IN).then(|| &*self.db.file(id).text)
    }

    /// The files the run lacked, in stand-in order.
    pub fn into_added(self) -> Vec<(String, &'t str)> {
        self.added
    }
}

/// Gives the files a finding's retrace added their real ids (pushing them
/// to `db` unless an earlier finding did) and puts the ids in its labels.
pub fn resolve_stand_ins(
    diagnostic: &mut Diagnostic,
    added: Vec<(String, &str)>,
    db: &mut SourceDb,
) {
    if added.is_empty() {
        return;
    }
    let ids: Vec<FileId> = added
        .into_iter()
        .map(|(name, text)| {
            db.find(&name)
                .unwrap_or_else(|| db.push(crate::source::SourceFile::new(name, Arc::from(text))))
        })
        .collect();
    let real = |id: &mut FileId| {
        if let Some(at) = id.0.checked_sub(STAND_IN) {
            *id = ids[at as usize];
        }
    };
    real(&mut diagnostic.primary.file);
    for label in &mut diagnostic.related {
        real(&mut label.file);
    }
    if let Some((file, _)) = &mut diagnostic.source_object {
        real(file);
    }
    for edit in diagnostic.fix.iter_mut().flat_map(|fix| &mut fix.edits) {
        real(&mut edit.file);
    }
}

/// How a chart was rendered.
#[derive(Debug, Clone, Default)]
pub struct Render {
    /// The value set's name (empty for the chart's defaults).
    pub value_set: String,
    /// The values files given to helm, in order, as shown.
    pub values: Vec<String>,
    /// The `--set` expressions helm was given.
    pub set: Vec<String>,
    /// Whether the release namespace was configured (else helm writes
    /// `default`, which is no namespace the user chose).
    pub namespace_set: bool,
}

impl Provenance {
    /// The render, if a chart render made the text.
    pub fn render(&self) -> Option<&Render> {
        match &self.origin {
            Origin::Render(render) => Some(render),
            Origin::Build(_) => None,
        }
    }

    /// The build, if a Kustomize build made the text.
    pub fn build(&self) -> Option<&Arc<dyn Retrace>> {
        match &self.origin {
            Origin::Build(built) => Some(built),
            Origin::Render(_) => None,
        }
    }

    /// Whether `namespace: default` in the text is a namespace the user
    /// chose.
    pub fn namespace_chosen(&self) -> bool {
        self.render().is_none_or(|r| r.namespace_set)
    }
}

/// Why an engine could not expand something, reported at a place of a
/// file (`Chart.yaml`, a kustomization line).
#[derive(Debug, Clone)]
pub struct Problem {
    /// The rule that reports it.
    pub rule: &'static str,
    /// The file, as shown.
    pub file: String,
    /// The file's text, for a file the run does not read itself.
    pub text: Arc<str>,
    /// The place.
    pub span: Span,
    /// What went wrong.
    pub message: String,
    /// What to do.
    pub help: String,
    /// A lesser severity than the rule's (a note for a missing tool).
    pub severity: Option<Severity>,
}

/// What the builds and renders of one run may make together: the bytes of
/// their output and the time of the tools they run. Each build and render
/// is bounded alone; this bounds their number (a hundred overlays of one
/// large base, or charts that each print a little under their cap).
pub struct Budget {
    bytes: AtomicU64,
    tool_millis: AtomicU64,
}

impl Budget {
    /// Output may be four times the size of the linted files, and at least
    /// 32 MiB; tools may run five times their per-run timeout in all.
    pub fn for_run(input_bytes: u64, tools: &sandbox::Policy) -> Budget {
        Budget {
            bytes: (input_bytes.saturating_mul(4)).max(32 << 20).into(),
            tool_millis: (tools.limits.time.as_millis() as u64 * 5).into(),
        }
    }

    /// Why nothing more may be built or rendered, if so.
    pub fn spent(&self) -> Option<String> {
        if self.bytes.load(Ordering::Relaxed) == 0 {
            Some("the run's builds and renders already made as much output as it allows (four times the size of the linted files, at least 32 MiB)".to_owned())
        } else if self.tool_millis.load(Ordering::Relaxed) == 0 {
            Some(
                "the run's tools already ran as long as it allows (five times --tool-timeout)"
                    .to_owned(),
            )
        } else {
            None
        }
    }

    /// Counts output made and tool time used.
    pub fn spend(&self, bytes: usize, tool_time: std::time::Duration) {
        let take = |left: &AtomicU64, amount: u64| {
            let _ = left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(amount))
            });
        };
        take(&self.bytes, bytes as u64);
        take(&self.tool_millis, tool_time.as_millis() as u64);
    }
}
