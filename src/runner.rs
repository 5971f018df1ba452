//! The pipeline: discover, then per file in parallel read, load, build
//! objects, run per-object rules and take the index facts; then run-wide
//! rules, suppressions, and a sorted result.

use crate::catalog::CATALOG;
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::helm::{
    self,
    trace::{RenderInfo, Tracer, merge_duplicates},
};
use crate::index::RunIndex;
use crate::k8s;
use crate::k8s::node_access::{NodeEscape, node_escape};
use crate::kustomize;
use crate::registry::{Rule, RuleContext};
use crate::rules::RULES;
use crate::sandbox;
use crate::settings::{KustomizeMode, Settings};
use crate::source::{self, Candidate, FileId, SourceDb, SourceFile};
use crate::suppress::Suppressions;
use crate::tree::Tree;
use crate::yaml::{self, Span};
use rayon::prelude::*;
use std::sync::Arc;

/// Counts for the report's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Kubernetes objects found.
    pub objects: usize,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Note findings.
    pub notes: usize,
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome {
    /// Every file, for reporters.
    pub db: SourceDb,
    /// Findings, sorted by file, position and rule.
    pub diagnostics: Vec<Diagnostic>,
    /// Counts.
    pub summary: Summary,
    /// The run's cross-object facts (RBAC, namespaces, workloads), for
    /// queries such as `who-can`.
    pub index: RunIndex,
    /// Kustomize builds, by the id of their output, so places in the
    /// output go back to the files the builds read.
    pub builds: std::collections::HashMap<FileId, Arc<kustomize::Built>>,
}

impl Outcome {
    /// A place of the run as users see it: the file's name and the line and
    /// column. A place in a build's output is the place in the file the
    /// build read it from.
    pub fn place(&self, file: FileId, span: Span) -> (String, crate::yaml::line_index::LineCol) {
        if let Some(built) = self.builds.get(&file)
            && let Some(origin) = built.emitted.origin(span)
            && let Some((path, text, local)) = built.sources.locate(origin)
        {
            let name = kustomize::trace::shown(path);
            let at = SourceFile::new(name.clone(), Arc::from(text)).line_col(local.start);
            return (name, at);
        }
        let source = self.db.file(file);
        (source.name.clone(), source.line_col(span.start))
    }

    /// Whether any finding is at or above the fail level.
    pub fn fails(&self, fail_on: Option<Severity>) -> bool {
        fail_on.is_some_and(|level| self.diagnostics.iter().any(|d| d.severity >= level))
    }
}

/// Where a file's text comes from.
#[derive(Debug)]
pub enum Text {
    /// Read it from the candidate's path.
    Read(Candidate),
    /// Already in memory (stdin, tests).
    Given {
        /// The name to show.
        name: String,
        /// The text.
        text: String,
    },
    /// A path that could not be walked.
    Problem(source::PathProblem),
    /// A chart rendered by `helm template`.
    Rendered(Box<Rendered>),
    /// A file a Kustomize build read: its objects are linted through the
    /// build, its text (YAML traps, suppression comments) here.
    Fed(Candidate),
}

impl Text {
    fn name(&self) -> &str {
        match self {
            Text::Read(c) | Text::Fed(c) => &c.name,
            Text::Given { name, .. } => name,
            Text::Problem(p) => &p.name,
            Text::Rendered(r) => &r.name,
        }
    }
}

/// One rendering of a chart: a unit of its own for cross-resource rules.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The name shown if a finding cannot be traced to a file.
    pub name: String,
    /// What `helm template` printed.
    pub text: String,
    /// The chart folder, as shown to users.
    pub chart: String,
    /// The value set's name (empty for the chart's defaults).
    pub value_set: String,
    /// The values files given to helm, in order, as shown to users.
    pub values: Vec<String>,
    /// Whether the release namespace was configured.
    pub namespace_set: bool,
    /// The `--set` expressions helm was given.
    pub set: Vec<String>,
    /// For a Kustomize build: its output's origins and the files it read.
    pub build: Option<Arc<kustomize::Built>>,
    /// The unit it joins for cross-resource rules: renders and builds
    /// that are alternatives (value sets of a chart, overlays of a base)
    /// never share one.
    pub unit: String,
}

/// Lints what the settings name: discovery, then [`lint_texts`].
pub fn lint(
    settings: &Settings,
    stdin: impl FnOnce() -> std::io::Result<String>,
) -> Result<Outcome, String> {
    let tree = Arc::new(Tree::of(&settings.inputs));
    let discovery = source::discover(&settings.inputs, &settings.filters, &tree)
        .map_err(|e| format!("invalid glob: {e}"))?;
    let mut stdin = Some(stdin);
    let mut texts = Vec::with_capacity(discovery.files.len() + discovery.problems.len());
    for candidate in discovery.files {
        if candidate.path.is_none() {
            let read = stdin
                .take()
                .map_or_else(|| Ok(String::new()), |read| read());
            texts.push(match read {
                Ok(text) => Text::Given {
                    name: candidate.name,
                    text,
                },
                Err(e) => Text::Problem(source::PathProblem {
                    name: candidate.name,
                    message: source::io_message(&e),
                }),
            });
        } else {
            texts.push(Text::Read(candidate));
        }
    }
    texts.extend(discovery.problems.into_iter().map(Text::Problem));
    let budget = Budget::for_run(discovery.bytes, &settings.tools);
    let builds = if settings.kustomize_mode == KustomizeMode::Files {
        Vec::new()
    } else {
        // A kustomization whose file the include and exclude globs leave out
        // is not built.
        let kept: std::collections::HashSet<&std::path::Path> = texts
            .iter()
            .filter_map(|t| match t {
                Text::Read(c) => c.path.as_deref(),
                _ => None,
            })
            .collect();
        let wanted: Vec<std::path::PathBuf> = discovery
            .kustomizations
            .iter()
            .filter(|dir| {
                kustomize::FILE_NAMES.iter().any(|name| {
                    let file = dir.join(name);
                    kept.contains(file.as_path()) || (*name == "Kustomization" && file.is_file())
                })
            })
            .cloned()
            .collect();
        build_kustomizations(&wanted, settings, &tree, &budget)
    };
    if settings.kustomize_mode == KustomizeMode::Build {
        // The files that feed a build are linted through it.
        let fed: std::collections::HashSet<&std::path::Path> = builds
            .iter()
            .filter_map(|b| b.built.as_ref())
            .flat_map(|b| b.sources.paths())
            .collect();
        texts = texts
            .into_iter()
            .map(|t| match t {
                Text::Read(c)
                    if c.path
                        .as_ref()
                        .and_then(|p| p.canonicalize().ok())
                        .is_some_and(|p| fed.contains(p.as_path())) =>
                {
                    Text::Fed(c)
                }
                other => other,
            })
            .collect();
    }
    let colors = build_units(&builds);
    for (build, color) in builds.iter().zip(colors) {
        if let Some(built) = &build.built {
            texts.push(Text::Rendered(Box::new(Rendered {
                name: format!("{}: kustomize build", build.dir),
                text: built.emitted.text.clone(),
                chart: build.dir.clone(),
                value_set: String::new(),
                values: Vec::new(),
                namespace_set: true,
                set: Vec::new(),
                build: Some(built.clone()),
                unit: format!("kustomize {color}"),
            })));
        }
    }
    let charts = render_charts(&discovery.charts, settings, &tree, &budget);
    for chart in &charts {
        texts.extend(
            chart
                .renders
                .iter()
                .map(|r| Text::Rendered(Box::new(r.clone()))),
        );
    }
    Ok(lint_generated(texts, charts, builds, settings, &tree))
}

/// What the builds and renders of one run may make together: the bytes of
/// their output and the time of the tools they run. Each build and render
/// is bounded alone; this bounds their number (a hundred overlays of one
/// large base, or charts that each print a little under their cap).
pub struct Budget {
    bytes: std::sync::atomic::AtomicU64,
    tool_millis: std::sync::atomic::AtomicU64,
}

impl Budget {
    /// Output may be four times the size of the linted files, and at least
    /// 32 MiB; tools may run five times their per-run timeout in all.
    fn for_run(input_bytes: u64, tools: &sandbox::Policy) -> Budget {
        Budget {
            bytes: (input_bytes.saturating_mul(4)).max(32 << 20).into(),
            tool_millis: (tools.limits.time.as_millis() as u64 * 5).into(),
        }
    }

    /// Why nothing more may be built or rendered, if so.
    fn spent(&self) -> Option<String> {
        use std::sync::atomic::Ordering;
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

    fn spend(&self, bytes: usize, tool_time: std::time::Duration) {
        use std::sync::atomic::Ordering;
        let take = |left: &std::sync::atomic::AtomicU64, amount: u64| {
            let _ = left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(amount))
            });
        };
        take(&self.bytes, bytes as u64);
        take(&self.tool_millis, tool_time.as_millis() as u64);
    }
}

/// Groups builds into units: builds that read a common file (overlays of
/// one base: alternatives, such as dev and prod) go to different units;
/// unrelated builds, parts of one system, share one. Greedy colouring, so
/// the number of units is about the most overlays any base has.
fn build_units(builds: &[BuildRun]) -> Vec<usize> {
    let mut readers: std::collections::HashMap<&std::path::Path, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, build) in builds.iter().enumerate() {
        for path in build.built.iter().flat_map(|b| b.sources.paths()) {
            readers.entry(path).or_default().push(i);
        }
    }
    let mut colors: Vec<usize> = Vec::with_capacity(builds.len());
    for (i, build) in builds.iter().enumerate() {
        let mut taken = std::collections::HashSet::new();
        for path in build.built.iter().flat_map(|b| b.sources.paths()) {
            for &other in &readers[path] {
                if other < i {
                    taken.insert(colors[other]);
                }
            }
        }
        colors.push((0..).find(|c| !taken.contains(c)).expect("a free colour"));
    }
    colors
}

/// A top-level kustomization of the run and what became of building it.
#[derive(Debug)]
pub struct BuildRun {
    /// Its folder, as shown.
    pub dir: String,
    /// The build, if it succeeded.
    pub built: Option<Arc<kustomize::Built>>,
    /// Why it was not built: the file and span to report, the message, and
    /// whether it is only a note (an unsupported feature).
    pub problem: Option<(String, Arc<str>, Span, String, bool)>,
}

/// Builds each top-level kustomization: one no other kustomization of the
/// run includes.
fn build_kustomizations(
    dirs: &[std::path::PathBuf],
    settings: &Settings,
    tree: &Arc<Tree>,
    budget: &Budget,
) -> Vec<BuildRun> {
    let tool = kustomize::fallback::Tool::find(settings.kustomize_bin.as_deref(), tree);
    let canonical: Vec<Option<std::path::PathBuf>> =
        dirs.iter().map(|d| d.canonicalize().ok()).collect();
    let edges: std::collections::HashMap<std::path::PathBuf, Vec<std::path::PathBuf>> = dirs
        .par_iter()
        .zip(canonical.par_iter())
        .filter_map(|(d, c)| {
            Some((
                c.clone()?,
                kustomize::referenced_folders(d, tree, settings.max_file_size),
            ))
        })
        .collect();
    let referenced: std::collections::HashSet<&std::path::PathBuf> = edges
        .iter()
        .flat_map(|(from, to)| to.iter().filter(move |t| *t != from))
        .collect();
    // A kustomization in a cycle is included by another, yet nothing
    // builds it: build it so the cycle is reported.
    let in_cycle = |start: &std::path::PathBuf| {
        let mut stack: Vec<&std::path::PathBuf> = edges.get(start).into_iter().flatten().collect();
        let mut seen = std::collections::HashSet::new();
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
        .filter(|(_, c)| c.as_ref().is_none_or(|c| !referenced.contains(c) || in_cycle(c)))
        .map(|(dir, _)| {
            let shown = source::display_name(dir);
            if let Some(why) = budget.spent() {
                let file = kustomize::FILE_NAMES
                    .iter()
                    .map(|n| dir.join(n))
                    .find(|p| p.is_file())
                    .unwrap_or_else(|| dir.join("kustomization.yaml"));
                let text = tree.read_text(&file, settings.max_file_size).unwrap_or_default();
                return BuildRun {
                    dir: shown.clone(),
                    built: None,
                    problem: Some((
                        source::display_name(&file),
                        Arc::from(text),
                        Span::default(),
                        format!("kslint did not build {shown}: {why}; its files were linted one by one instead"),
                        false,
                    )),
                };
            }
            match kustomize::build_and_emit(dir, tree.clone(), settings.max_file_size) {
                Ok(built) => {
                    budget.spend(built.emitted.text.len(), std::time::Duration::ZERO);
                    BuildRun {
                        dir: shown,
                        built: Some(Arc::new(built)),
                        problem: None,
                    }
                }
                Err((error, sources)) => {
                    let (message, at, note) = match error {
                        kustomize::Error::Invalid { message, at } => (
                            format!("kustomize build of {shown} fails ({message}); its files were linted one by one instead"),
                            at,
                            false,
                        ),
                        kustomize::Error::Unsupported { feature, at } => {
                            // A kustomization the real tool rejects too is
                            // broken, unless only a flag kslint never
                            // passes (plugins, Helm) would build it.
                            let mut broken = false;
                            let why = match &tool {
                                Some(tool) => match fallback_build(dir, tool, tree, settings, budget) {
                                    Ok(built) => {
                                        return BuildRun {
                                            dir: shown,
                                            built: Some(Arc::new(built)),
                                            problem: None,
                                        };
                                    }
                                    Err(
                                        kustomize::fallback::Refusal::NotLocal(why)
                                        | kustomize::fallback::Refusal::NoSandbox(why),
                                    ) => {
                                        format!("kslint did not hand it to `{}` because {why}", tool.command())
                                    }
                                    Err(kustomize::fallback::Refusal::Failed(why)) => {
                                        broken = !why.contains("--enable-");
                                        format!("`{}` failed on it too ({why})", tool.command())
                                    }
                                },
                                None => match &settings.kustomize_bin {
                                    Some(bin) => format!(
                                        "--kustomize-bin {} is not a program kslint can run ({})",
                                        bin.display(),
                                        source::named_program(bin, tree).err().unwrap_or_default()
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
                    let (file, text, span) = match sources.locate(at) {
                        Some((path, text, span)) => {
                            (kustomize::trace::shown(path), Arc::from(text), span)
                        }
                        None => {
                            let file = kustomize::FILE_NAMES
                                .iter()
                                .map(|n| dir.join(n))
                                .find(|p| p.is_file())
                                .unwrap_or_else(|| dir.join("kustomization.yaml"));
                            let text = tree
                                .read_text(&file, settings.max_file_size)
                                .unwrap_or_default();
                            (source::display_name(&file), Arc::from(text), Span::default())
                        }
                    };
                    BuildRun {
                        dir: shown,
                        built: None,
                        problem: Some((file, text, span, message, note)),
                    }
                }
            }
        })
        .collect()
}

/// A build by the real tool, its output and time counted in the budget.
fn fallback_build(
    dir: &std::path::Path,
    tool: &kustomize::fallback::Tool,
    tree: &Arc<Tree>,
    settings: &Settings,
    budget: &Budget,
) -> Result<kustomize::Built, kustomize::fallback::Refusal> {
    let started = std::time::Instant::now();
    let built = kustomize::fallback::build(
        dir,
        tool,
        tree.clone(),
        settings.max_file_size,
        // A build is read like a file: no larger than one.
        settings.tools.with_output_cap(settings.max_file_size),
    );
    let made = built.as_ref().map_or(0, |b| b.emitted.text.len());
    budget.spend(made, started.elapsed());
    built
}

/// A chart found among the linted paths, and what became of rendering it.
#[derive(Debug, Clone)]
pub struct ChartRun {
    /// The chart folder, as shown to users.
    pub dir: String,
    /// `Chart.yaml`'s name.
    pub name: String,
    /// Problems to report at `Chart.yaml`: (span, message, help, is the
    /// missing-helm note).
    pub problems: Vec<(Span, String, String, bool)>,
    /// Successful renders.
    pub renders: Vec<Rendered>,
}

/// Renders each chart with each of its value sets, when helm is there.
fn render_charts(
    dirs: &[std::path::PathBuf],
    settings: &Settings,
    tree: &Tree,
    budget: &Budget,
) -> Vec<ChartRun> {
    let helm_bin = helm::find_helm(settings.helm.bin.as_deref(), tree);
    dirs.par_iter()
        .map(|dir| {
            let shown = source::display_name(dir);
            let text = tree
                .read_text(&dir.join("Chart.yaml"), settings.max_file_size)
                .unwrap_or_default();
            let chart = helm::chart_file(&text);
            let mut run = ChartRun {
                dir: shown.clone(),
                name: chart.name.clone(),
                problems: Vec::new(),
                renders: Vec::new(),
            };
            let name_span = chart.name_span;
            let missing = helm::missing_dependencies(dir, &chart, tree);
            for (name, version, span) in &missing {
                run.problems.push((
                    *span,
                    format!(
                        "the chart's dependency `{name}` ({}) is missing from {shown}/charts/, so kslint cannot render the chart and did not lint it",
                        if version.is_empty() { "any version" } else { version }
                    ),
                    "Run `helm dependency build` in the chart folder (kslint never downloads charts), or vendor the dependency into charts/.".to_owned(),
                    false,
                ));
            }
            if !missing.is_empty() {
                return run;
            }
            let helm_bin = match &helm_bin {
                Ok(helm_bin) => helm_bin,
                Err(why) => {
                    // Plain "not found" is the common case and says it all.
                    let why = match settings.helm.bin.as_ref() {
                        None if why.starts_with("no program") => String::new(),
                        None => format!(" ({why})"),
                        Some(bin) => format!(" (--helm-bin {}: {why})", bin.display()),
                    };
                    run.problems.push((
                        name_span,
                        format!("{}{why}; the chart {shown} was not rendered, so its templates were not linted", helm::HELM_NOT_FOUND),
                        format!("Install helm outside the repository (or pass --helm-bin), or lint rendered output: `helm template {shown} | kslint -`."),
                        true,
                    ));
                    return run;
                }
            };
            if let Some(why) = sandbox::unavailable().filter(|_| !settings.tools.allow_unsandboxed) {
                run.problems.push((
                    name_span,
                    format!("the chart {shown} was not rendered, so its templates were not linted: kslint runs helm only walled off from the machine, and {why}"),
                    format!("Lint rendered output instead (`helm template {shown} | kslint -`), or pass --allow-unsandboxed-tools on a tree you trust."),
                    true,
                ));
                return run;
            }
            let refuse = |why: String| {
                (
                    name_span,
                    format!("kslint did not hand the chart {shown} to helm, so its templates were not linted: {why}"),
                    "Keep every file the chart and its values use inside the repository: replace a link with the file it points to, or remove it.".to_owned(),
                    false,
                )
            };
            if let Err(why) = helm::check_chart(dir, tree) {
                run.problems.push(refuse(why));
                return run;
            }
            // A render is read like a file: no larger than one.
            let tools = settings.tools.with_output_cap(settings.max_file_size);
            let config = settings.helm.for_chart(dir);
            for set in &config.value_sets {
                // Values files from the command line are the user's own;
                // those from the config file must be the tree's.
                let escaping = set
                    .files
                    .iter()
                    .filter(|f| !settings.helm.values.contains(f))
                    .find_map(|f| {
                        tree.resolve(f).err().map(|outside| {
                            format!("the values file {} cannot be used: {}", source::display_name(f), outside.why())
                        })
                    });
                if let Some(why) = escaping {
                    run.problems.push(refuse(why));
                    continue;
                }
                if let Some(why) = budget.spent() {
                    run.problems.push((
                        name_span,
                        format!("kslint did not render the chart {shown}: {why}"),
                        "Lint the charts and overlays in separate runs if the repository really needs this much output.".to_owned(),
                        false,
                    ));
                    break;
                }
                let args = helm::template_args(&config, set, settings.kubernetes_minor);
                let label = if set.name.is_empty() {
                    String::new()
                } else {
                    format!(" (value set {})", set.name)
                };
                let started = std::time::Instant::now();
                let rendered = helm::render(helm_bin, args, tools);
                budget.spend(rendered.as_ref().map_or(0, String::len), started.elapsed());
                match rendered {
                    Ok(text) => run.renders.push(Rendered {
                        name: format!("{shown}: helm template{label}"),
                        text,
                        chart: shown.clone(),
                        value_set: set.name.clone(),
                        values: set.files.iter().map(|f| source::display_name(f)).collect(),
                        namespace_set: config.namespace.is_some(),
                        set: set.set.clone(),
                        build: None,
                        unit: format!("helm {shown} {}", set.name),
                    }),
                    Err(message) => run.problems.push((
                        name_span,
                        format!("helm template failed for {shown}{label}, so the chart was not linted: {message}"),
                        "Fix the error helm names, or give the values the chart needs in a value set (the `helm` section of .kslint.yaml, or --helm-values); `helm template` with the same values shows the same error.".to_owned(),
                        false,
                    )),
                }
            }
            run
        })
        .collect()
}

/// Lints the given files.
pub fn lint_texts(texts: Vec<Text>, settings: &Settings) -> Outcome {
    let tree = Tree::of(&settings.inputs);
    lint_generated(texts, Vec::new(), Vec::new(), settings, &tree)
}

/// Lints the given files, chart renders and Kustomize builds.
pub fn lint_generated(
    mut texts: Vec<Text>,
    charts: Vec<ChartRun>,
    builds: Vec<BuildRun>,
    settings: &Settings,
    tree: &Tree,
) -> Outcome {
    texts.sort_by(|a, b| a.name().cmp(b.name()));
    let active: Vec<ActiveRule> = RULES
        .iter()
        .enumerate()
        .filter(|(i, _)| settings.enabled[*i])
        .map(|(i, rule)| ActiveRule {
            rule: *rule,
            severity: CATALOG[i].severity,
            configured: settings.severity[i],
        })
        .collect();
    let renders: Vec<Option<RenderInfo>> = texts
        .iter()
        .map(|t| match t {
            Text::Rendered(r) => Some(RenderInfo {
                chart: r.chart.clone(),
                value_set: r.value_set.clone(),
                values: r.values.clone(),
                set: r.set.clone(),
                build: r.build.is_some(),
                unit: r.unit.clone(),
            }),
            _ => None,
        })
        .collect();
    // One alias budget for every file of the run.
    let limits = yaml::Limits {
        run_aliases: Some(yaml::AliasBudget::new(yaml::RUN_ALIAS_NODES)),
        ..settings.limits.clone()
    };
    let results: Vec<FileResult> = texts
        .into_par_iter()
        .enumerate()
        .map(|(i, text)| process_file(FileId(i as u32), text, settings, tree, &limits, &active))
        .collect();

    // Each chart render is a unit of its own: cross-resource rules see it
    // with the loose files, never with another render.
    let mut units: Vec<RunIndex> = Vec::new();
    let mut unit_keys: Vec<String> = Vec::new();
    let mut loose = RunIndex::default();
    let mut diagnostics = Vec::new();
    let mut files = Vec::with_capacity(results.len());
    let mut suppressions = Vec::with_capacity(results.len());
    let mut summary = Summary::default();
    for (i, result) in results.into_iter().enumerate() {
        summary.files += usize::from(result.read && renders[i].is_none());
        summary.objects += result.objects;
        match &renders[i] {
            Some(render) => {
                let key = render.unit.clone();
                let unit = unit_keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                    unit_keys.push(key);
                    units.push(RunIndex::default());
                    units.len() - 1
                });
                units[unit].extend(result.index);
            }
            None => loose.extend(result.index),
        }
        diagnostics.extend(result.diagnostics);
        files.push(result.file);
        suppressions.push(result.suppressions);
    }
    let file_names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    let prepare = |mut index: RunIndex| {
        index.pod_security_default = settings.pod_security;
        index.file_names = file_names.clone();
        index.finish();
        index
    };
    let run_rules = |index: &RunIndex, out: &mut Vec<Diagnostic>| {
        for active_rule in &active {
            let mut cx = RuleContext::new(
                active_rule.rule.id(),
                active_rule.severity,
                active_rule.configured,
                out,
            )
            .targeting(settings.kubernetes_minor);
            active_rule.rule.check_run(index, &mut cx);
        }
    };
    let any_units = !units.is_empty();
    // Queries (`who-can`, graphs) see every file and render at once.
    let mut whole = any_units.then(|| loose.clone());
    for unit_index in units {
        let mut index = loose.clone();
        index.extend(unit_index.clone());
        if let Some(whole) = &mut whole {
            whole.extend(unit_index);
        }
        let index = prepare(index);
        // Loose files' findings here may repeat the loose pass's (merged
        // later) or need this render (a binding it ships).
        run_rules(&index, &mut diagnostics);
    }
    let loose = prepare(loose);
    run_rules(&loose, &mut diagnostics);
    let index = match whole {
        Some(whole) => prepare(whole),
        None => loose,
    };

    let mut db = SourceDb::new(files);
    for chart in &charts {
        report_chart_problems(chart, &mut db, settings, tree, &mut diagnostics);
    }
    for build in &builds {
        report_build_problem(build, &mut db, settings, &mut diagnostics);
    }
    let built: std::collections::HashMap<FileId, Arc<kustomize::Built>> = renders
        .iter()
        .enumerate()
        .filter(|(_, r)| r.as_ref().is_some_and(|r| r.build))
        .filter_map(|(i, _)| {
            let name = db.file(FileId(i as u32)).name.clone();
            let build = builds
                .iter()
                .find(|b| format!("{}: kustomize build", b.dir) == name)?;
            Some((FileId(i as u32), build.built.clone()?))
        })
        .collect();
    let chart_names: Vec<(String, String)> = charts
        .iter()
        .map(|c| (c.dir.clone(), c.name.clone()))
        .collect();
    suppressions.resize_with(db.len(), Suppressions::default);
    let mut tracer = Tracer::new(&db, &renders, &chart_names, tree);
    tracer.drop_rendered_comment_suppressions(&mut suppressions);
    // Annotation suppressions act on rendered objects; comment ones on the
    // template and values lines findings are traced to.
    let diagnostics = suppress(diagnostics, &mut suppressions, &db, |_| Vec::new());
    let diagnostics = tracer.trace_all(diagnostics, &mut db);
    let diagnostics = kustomize::trace::trace_all(diagnostics, &built, &mut db);
    suppressions.extend(tracer.added_suppressions(&db));
    let diagnostics = suppress(diagnostics, &mut suppressions, &db, |d| {
        tracer.template_places(d)
    });
    // A template's lines render only under some values: a suppression
    // there that hid nothing may hide something with other values. A
    // misspelt rule name is still worth saying.
    let skip_unused = |file: FileId| {
        tracer.is_template(file)
            || charts.iter().any(|c| {
                c.renders.is_empty() && db.file(file).name.starts_with(&format!("{}/", c.dir))
            })
    };
    let unused = unused_suppressions(suppressions, settings, skip_unused);
    let mut diagnostics = diagnostics;
    let unused = tracer.trace_all(unused, &mut db);
    diagnostics.extend(kustomize::trace::trace_all(unused, &built, &mut db));
    // Only renders and several units can repeat a finding.
    let mut diagnostics = if any_units || tracer.has_renders() {
        merge_duplicates(diagnostics, &renders)
    } else {
        diagnostics
    };
    diagnostics.sort_by(|a, b| {
        let name = |d: &Diagnostic| db.file(d.primary.file).name.as_str();
        name(a)
            .cmp(name(b))
            .then_with(|| a.sort_key().cmp(&b.sort_key()))
    });
    for diagnostic in &diagnostics {
        match diagnostic.severity {
            Severity::Error => summary.errors += 1,
            Severity::Warning => summary.warnings += 1,
            Severity::Note => summary.notes += 1,
        }
    }
    Outcome {
        db,
        diagnostics,
        summary,
        index,
        builds: built,
    }
}

/// Why a kustomization was not built, at the line that says so.
fn report_build_problem(
    build: &BuildRun,
    db: &mut SourceDb,
    settings: &Settings,
    out: &mut Vec<Diagnostic>,
) {
    let Some((file, text, span, message, note)) = &build.problem else {
        return;
    };
    let help = if *note {
        "Nothing to fix here; findings in these files are reported where they are, without the overlay's changes."
    } else {
        "Fix the kustomization at this line; `kubectl kustomize` on the folder shows the same error."
    };
    let id = db
        .find(file)
        .unwrap_or_else(|| db.push(SourceFile::new(file.clone(), text.clone())));
    let lesser = note.then_some(Severity::Note);
    out.extend(
        engine_diagnostic_as(
            settings,
            "kustomize-build-failed",
            lesser,
            id,
            *span,
            message.clone(),
        )
        .map(|d| d.with_help(help)),
    );
}

/// A chart's render problems (helm missing, a failed render, missing
/// dependencies), at its `Chart.yaml`.
fn report_chart_problems(
    chart: &ChartRun,
    db: &mut SourceDb,
    settings: &Settings,
    tree: &Tree,
    out: &mut Vec<Diagnostic>,
) {
    if chart.problems.is_empty() || !settings.is_enabled("helm-chart-not-rendered") {
        return;
    }
    // Chart.yaml may be outside the run's files (an exclude glob).
    let chart_yaml = source::display_name(&std::path::Path::new(&chart.dir).join("Chart.yaml"));
    let file = db.find(&chart_yaml).unwrap_or_else(|| {
        let text = tree
            .read_text(std::path::Path::new(&chart_yaml), settings.max_file_size)
            .unwrap_or_default();
        db.push(SourceFile::new(chart_yaml.clone(), Arc::from(text)))
    });
    for (span, message, help, no_helm) in &chart.problems {
        let lesser = no_helm.then_some(Severity::Note);
        out.extend(
            engine_diagnostic_as(
                settings,
                "helm-chart-not-rendered",
                lesser,
                file,
                *span,
                message.clone(),
            )
            .map(|d| d.with_help(help.clone())),
        );
    }
}

struct ActiveRule {
    rule: &'static dyn Rule,
    severity: Severity,
    configured: Option<Severity>,
}

struct FileResult {
    file: SourceFile,
    read: bool,
    objects: usize,
    diagnostics: Vec<Diagnostic>,
    index: RunIndex,
    suppressions: Suppressions,
}

/// A diagnostic from the engine itself, if its rule is on.
fn engine_diagnostic(
    settings: &Settings,
    rule: &'static str,
    file: FileId,
    span: Span,
    message: String,
) -> Option<Diagnostic> {
    engine_diagnostic_as(settings, rule, None, file, span, message)
}

/// An engine diagnostic at `severity` instead of the catalog's (a note for
/// a tool that is missing), unless the config sets one.
fn engine_diagnostic_as(
    settings: &Settings,
    rule: &'static str,
    severity: Option<Severity>,
    file: FileId,
    span: Span,
    message: String,
) -> Option<Diagnostic> {
    let i = CATALOG.iter().position(|m| m.id == rule)?;
    settings.enabled[i].then(|| {
        let default = severity.unwrap_or(CATALOG[i].severity);
        Diagnostic::new(
            rule,
            settings.severity[i].unwrap_or(default),
            file,
            span,
            message,
        )
    })
}

fn process_file(
    id: FileId,
    text: Text,
    settings: &Settings,
    tree: &Tree,
    limits: &yaml::Limits,
    active: &[ActiveRule],
) -> FileResult {
    let mut result = FileResult {
        file: SourceFile::new(text.name().to_owned(), Arc::from("")),
        read: false,
        objects: 0,
        diagnostics: Vec::new(),
        index: RunIndex::new(settings.is_enabled("pod-security-violation")).keeping_custom_objects(
            settings.is_enabled("unknown-field") || settings.is_enabled("schema-type-mismatch"),
        ),
        suppressions: Suppressions::default(),
    };
    let unreadable = |result: &mut FileResult, message: String| {
        let help = "Make the file readable, or leave it out with --exclude or the config's `exclude` list.";
        result.diagnostics.extend(
            engine_diagnostic(settings, "unreadable-file", id, Span::default(), message)
                .map(|d| d.with_help(help)),
        );
    };
    // `helm template` without a namespace renders `.Release.Namespace` as
    // `default`; that is no namespace the user chose, so it must not shape
    // findings (messages, namespace matching).
    let helm_default_namespace = matches!(&text, Text::Rendered(r) if !r.namespace_set);
    let fed = matches!(text, Text::Fed(_));
    let (content, explicit) = match text {
        Text::Problem(problem) => {
            unreadable(
                &mut result,
                format!("cannot read {:?}: {}", problem.name, problem.message),
            );
            return result;
        }
        Text::Given { text, .. } => (source::text_of(text.into_bytes()).0, true),
        Text::Rendered(rendered) => (source::text_of(rendered.text.into_bytes()).0, true),
        Text::Read(candidate) | Text::Fed(candidate) => {
            match read_file(&candidate, settings.max_file_size, tree) {
                Ok(content) => (content, candidate.explicit),
                Err(ReadFailure::Unreadable(message)) => {
                    unreadable(
                        &mut result,
                        format!("cannot read {:?}: {message}", candidate.name),
                    );
                    return result;
                }
                Err(ReadFailure::NotUtf8 { lossy, valid_up_to }) => {
                    result.file = SourceFile::new(candidate.name, Arc::from(lossy));
                    result.read = true;
                    let span = Span::new(valid_up_to, valid_up_to + 1);
                    let message = "the file is not UTF-8 text (binary data or another encoding); YAML must be Unicode".to_owned();
                    result.diagnostics.extend(
                        engine_diagnostic(settings, "yaml-syntax", id, span, message).map(|d| {
                            d.with_help("Save the file as UTF-8, or leave it out with --exclude.")
                        }),
                    );
                    return result;
                }
            }
        }
    };
    result.read = true;
    let text: Arc<str> = Arc::from(content);
    result.file = SourceFile::new(result.file.name.clone(), text.clone());

    let stream = yaml::parse_stream(&text, limits.clone());
    // Go templates (Helm charts without their Chart.yaml, other generators)
    // are not manifests until rendered: skip them quietly unless named.
    let in_templates_dir = result
        .file
        .name
        .split(['/', '\\'])
        .any(|part| part == "templates");
    if !explicit && (in_templates_dir || !stream.errors.is_empty()) && text.contains("{{") {
        return result;
    }
    let mut objects = k8s::objects(id, &stream.documents, &settings.pod_spec_paths);
    if helm_default_namespace {
        for object in &mut objects {
            if object.object.namespace.as_deref() == Some("default") {
                object.object.namespace = None;
            }
        }
    }
    // A YAML error in a file with no sign of Kubernetes objects (a CI
    // workflow, a values file) is not this tool's business.
    let relevant = explicit || !objects.is_empty() || text.contains("apiVersion");
    if relevant {
        for error in &stream.errors {
            let template_hint = if text.contains("{{") {
                " (this looks like an unrendered template)"
            } else {
                ""
            };
            let message = format!("invalid YAML: {}{template_hint}", error.message);
            let help =
                "Fix the YAML at this position; the file's other documents were still linted.";
            result.diagnostics.extend(
                engine_diagnostic(settings, "yaml-syntax", id, error.span, message)
                    .map(|d| d.with_help(help)),
            );
        }
    }
    if text.contains("kslint-ignore") {
        result.suppressions = Suppressions::from_comments(&text, result.file.line_index());
    }
    report_yaml_traps(
        settings,
        id,
        &text,
        &stream.documents,
        &objects,
        &mut result.diagnostics,
    );
    let base = result.file.name.rsplit('/').next().unwrap_or_default();
    if matches!(
        base,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    ) {
        result.index.patch_refs = kustomization_patches(id, &stream.documents);
    }
    if fed {
        return result;
    }
    result.objects = objects.len();
    for object in &objects {
        result.suppressions.add_annotations(object);
        result.index.add(object);
        let first_new = result.diagnostics.len();
        for active_rule in active {
            let mut cx = RuleContext::new(
                active_rule.rule.id(),
                active_rule.severity,
                active_rule.configured,
                &mut result.diagnostics,
            )
            .targeting(settings.kubernetes_minor);
            cx.for_object(id, object.slot, &object.object);
            active_rule.rule.check(object, &mut cx);
        }
        if result.diagnostics.len() > first_new
            && let Some(escape) = object.pod.as_ref().and_then(node_escape)
        {
            for diagnostic in &mut result.diagnostics[first_new..] {
                if is_pod_security_rule(diagnostic.rule) {
                    add_node_escape(diagnostic, id, &escape);
                }
            }
        }
    }
    result
}

/// Whether a rule judges the pod's isolation from its node (and so gains
/// from the node-escape context). Image hygiene and resource limits do not.
fn is_pod_security_rule(rule: &str) -> bool {
    const NOT_ISOLATION: &[&str] = &[
        "image-latest-tag",
        "image-not-pinned",
        "resource-limits-missing",
    ];
    !NOT_ISOLATION.contains(&rule)
        && CATALOG
            .iter()
            .find(|meta| meta.id == rule)
            .is_some_and(|meta| meta.category == "pod-security")
}

/// Says on a workload's finding that its pods can take over their node,
/// so no namespace boundary limits the damage.
pub fn add_node_escape(diagnostic: &mut Diagnostic, file: FileId, escape: &NodeEscape) {
    let at_escape = diagnostic.primary.file == file && diagnostic.primary.span == escape.span;
    // At the escaping setting itself, the finding already says how.
    let how = if at_escape {
        String::new()
    } else {
        format!("{}, so ", escape.how)
    };
    diagnostic.message.push_str(&format!(
        "; namespaces are no boundary here: {how}whoever controls this pod controls every pod on its node, in every namespace"
    ));
    if !at_escape {
        diagnostic.related.push(Label {
            file,
            span: escape.span,
            message: "this lets the pod take over its node".to_owned(),
        });
    }
}

/// The patch files a kustomization names.
fn kustomization_patches(file: FileId, documents: &[yaml::Document]) -> Vec<(FileId, String)> {
    let Some(root) = documents.first().map(|d| &d.root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["patches", "patchesJson6902", "patchesStrategicMerge"] {
        for item in root
            .get(key)
            .and_then(yaml::Node::as_seq)
            .unwrap_or_default()
        {
            let path = item
                .as_str()
                .or_else(|| item.get("path").and_then(yaml::Node::as_str));
            // An inline patch (a YAML string with a newline) is no file.
            if let Some(path) = path.filter(|p| !p.contains('\n')) {
                out.push((file, path.to_owned()));
            }
        }
    }
    out
}

/// `yaml-duplicate-key` and `yaml-ambiguous-value`, tied to the object
/// they are in (so annotations can suppress them).
fn report_yaml_traps(
    settings: &Settings,
    file: FileId,
    text: &str,
    documents: &[yaml::Document],
    objects: &[k8s::Manifest],
    out: &mut Vec<Diagnostic>,
) {
    let duplicates = settings.is_enabled("yaml-duplicate-key");
    let ambiguous = settings.is_enabled("yaml-ambiguous-value");
    if !duplicates && !ambiguous {
        return;
    }
    // Objects are in document order (unless aliases copied one): the one
    // holding a span is then the last that starts before it.
    let in_order = objects
        .windows(2)
        .all(|w| w[0].node.span.start <= w[1].node.span.start);
    let holds = |o: &&k8s::Manifest, span: Span| {
        o.node.span.start <= span.start && span.end <= o.node.span.end
    };
    let owner = |span: Span| {
        if in_order {
            let after = objects.partition_point(|o| o.node.span.start <= span.start);
            after
                .checked_sub(1)
                .map(|i| &objects[i])
                .filter(|o| holds(o, span))
        } else {
            objects.iter().find(|o| holds(o, span))
        }
    };
    // Only inside Kubernetes objects: CI workflows, compose files and
    // values files have their own YAML conventions.
    let mut push = |diagnostic: Option<Diagnostic>, span: Span| {
        if let (Some(mut diagnostic), Some(object)) = (diagnostic, owner(span)) {
            diagnostic.object = Some(object.object.clone());
            diagnostic.slot = Some(object.slot);
            out.push(diagnostic);
        }
    };
    let key = |span: Span| {
        text.get(span.start as usize..span.end as usize)
            .unwrap_or("")
    };
    for document in documents {
        if duplicates {
            for (first, repeated) in &document.duplicate_keys {
                let message = format!(
                    "the key `{}` is written twice in this mapping; Kubernetes keeps this later value and silently drops the first",
                    key(*repeated)
                );
                let diagnostic = engine_diagnostic(settings, "yaml-duplicate-key", file, *repeated, message).map(|d| {
                    let mut d = d.with_help("Delete one of the two keys, keeping the value you mean; a review of the first one shows nothing wrong.");
                    d.related.push(Label { file, span: *first, message: "first written here; this value is ignored".to_owned() });
                    d
                });
                push(diagnostic, *repeated);
            }
        }
        if ambiguous {
            for value in yaml_traps_ambiguous(text, document) {
                let written = key(value.span);
                let message = format!(
                    "`{written}` is {}: Kubernetes reads it as {}, while YAML 1.2 tools (yq, editors, formatters) read {}",
                    value.why, value.reading, value.yaml12
                );
                let help = if value.why.contains("boolean") {
                    format!(
                        "Write `{}` if you mean the boolean, or quote it (\"{written}\") if you mean the text.",
                        value.reading
                    )
                } else {
                    format!(
                        "Write `{}` (what Kubernetes reads), or quote it if you mean the text.",
                        value.reading
                    )
                };
                let diagnostic =
                    engine_diagnostic(settings, "yaml-ambiguous-value", file, value.span, message)
                        .map(|d| d.with_help(help));
                push(diagnostic, value.span);
            }
        }
    }
}

fn yaml_traps_ambiguous(
    text: &str,
    document: &yaml::Document,
) -> Vec<crate::rules::manifest::yaml_traps::Ambiguous> {
    crate::rules::manifest::yaml_traps::ambiguous_values(text, document)
}

enum ReadFailure {
    Unreadable(String),
    NotUtf8 { lossy: String, valid_up_to: usize },
}

fn read_file(candidate: &Candidate, max_size: u64, tree: &Tree) -> Result<String, ReadFailure> {
    let path = candidate
        .path
        .as_deref()
        .ok_or_else(|| ReadFailure::Unreadable("no path".into()))?;
    let bytes = tree
        .read(path, max_size)
        .map_err(|e| ReadFailure::Unreadable(e.why()))?;
    match source::text_of(bytes) {
        (text, None) => Ok(text),
        (lossy, Some(valid_up_to)) => Err(ReadFailure::NotUtf8 { lossy, valid_up_to }),
    }
}

/// Drops the findings a suppression covers, marking it used.
/// `also` names more places whose suppressions count (the template line
/// that wrote a value traced to a values file).
fn suppress(
    diagnostics: Vec<Diagnostic>,
    suppressions: &mut [Suppressions],
    db: &SourceDb,
    also: impl Fn(&Diagnostic) -> Vec<(FileId, Span)>,
) -> Vec<Diagnostic> {
    diagnostics
        .into_iter()
        .filter(|d| {
            let mut places = vec![(d.primary.file, d.primary.span)];
            places.extend(also(d));
            let mut hidden = false;
            for (file, span) in places {
                let Some(table) = suppressions.get_mut(file.0 as usize) else {
                    continue;
                };
                if table.items.is_empty() {
                    continue;
                }
                let line = db.file(file).line_col(span.start).line - 1;
                hidden |= table.covers(d, line);
            }
            !hidden
        })
        .collect()
}

/// `unused-suppression` for every suppression that hid nothing.
/// Files for which `skip` holds report only misspelt rule names.
fn unused_suppressions(
    suppressions: Vec<Suppressions>,
    settings: &Settings,
    skip: impl Fn(FileId) -> bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, table) in suppressions.into_iter().enumerate() {
        let skip = skip(FileId(i as u32));
        for item in table.items.into_iter().filter(|item| !item.used) {
            if skip && (item.rule == "all" || Settings::rule_index(&item.rule).is_ok()) {
                continue;
            }
            let message = if item.rule == "all" {
                "this suppression hides no finding".to_owned()
            } else {
                match Settings::rule_index(&item.rule) {
                    // A rule turned off in this run hides nothing here, but may
                    // elsewhere; that is not the suppression's fault.
                    Ok(index) if !settings.enabled[index] => continue,
                    Ok(_) => format!("the suppression of {:?} hides no finding", item.rule),
                    Err(unknown) => unknown,
                }
            };
            let Some(mut diagnostic) = engine_diagnostic(
                settings,
                "unused-suppression",
                FileId(i as u32),
                item.span,
                message,
            ) else {
                continue;
            };
            if let Some((slot, object)) = item.object {
                diagnostic.slot = Some(slot);
                diagnostic.object = Some(object);
            }
            out.push(diagnostic.with_help("Remove it (or the rule name from it), so it cannot hide a future finding by accident."));
        }
    }
    out
}
