//! The pipeline: discover the files, let the engines expand what they
//! build (see [`crate::expand`]), check every text in parallel
//! ([`crate::check`]), run the cross-resource rules per unit, trace
//! findings in generated texts back to the files users edit, apply
//! suppressions, and sort the result into an [`Outcome`].

pub use crate::check::Text;
use crate::check::{ActiveRule, FileResult, process_file};
use crate::diagnostic::{Diagnostic, Severity};
use crate::expand::{Budget, ChartFound, Context, Expansion, Problem, Provenance};
use crate::index::{ClusterView, RunIndex};
pub use crate::outcome::{Outcome, Summary};
use crate::parsed::ParsedFiles;
use crate::registry::RuleContext;
use crate::settings::Settings;
use crate::source::{self, FileId, SourceDb, SourceFile};
use crate::trace::Tracing;
use crate::tree::Tree;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Why a run could not start. Anything wrong in the linted tree is a
/// finding instead.
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// An `--include`/`--exclude` pattern (or the config's) is no glob.
    #[error("invalid glob: {0}")]
    InvalidGlob(#[from] globset::Error),
    /// A path to lint does not exist: a usage error, not a finding.
    #[error("{shown}: no such file or folder{}", .suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    NoSuchPath {
        /// The path as given.
        shown: String,
        /// A close name in its folder, if there is one.
        suggestion: Option<String>,
    },
}

/// Refuses a path that does not exist (a dangling link exists, and is a
/// finding of its own), suggesting the closest name beside it.
fn check_exists(path: &std::path::Path) -> Result<(), LintError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        _ => return Ok(()),
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let names: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .take(10_000)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    let wanted = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suggestion = crate::spelling::nearest(&wanted, names.iter().map(String::as_str))
        .map(|name| source::display_name(&folder.join(name)));
    Err(LintError::NoSuchPath {
        shown: source::display_name(path),
        suggestion,
    })
}

/// Lints what the settings name: discovery, expansion, then
/// [`lint_generated`].
pub fn lint(
    settings: &Settings,
    stdin: impl FnOnce() -> std::io::Result<String>,
) -> Result<Outcome, LintError> {
    for input in &settings.inputs {
        if let source::Input::Path(path) = input {
            check_exists(path)?;
        }
    }
    let tree = Arc::new(source::tree_with_overlays(
        &settings.inputs,
        settings.overlays.clone(),
    ));
    let discovery = source::discover(&settings.inputs, &settings.filters, &tree)?;
    let mut stdin = Some(stdin);
    let mut texts = Vec::with_capacity(discovery.files.len() + discovery.problems.len());
    for candidate in &discovery.files {
        if candidate.path.is_some() {
            texts.push(Text::Read(candidate.clone()));
            continue;
        }
        let read = stdin
            .take()
            .map_or_else(|| Ok(String::new()), |read| read());
        texts.push(match read {
            Ok(text) => Text::Given {
                name: candidate.name.clone(),
                text,
            },
            Err(e) => Text::Problem(source::PathProblem {
                name: candidate.name.clone(),
                message: source::io_message(&e),
            }),
        });
    }
    texts.extend(discovery.problems.iter().cloned().map(Text::Problem));

    let budget = Budget::for_run(discovery.bytes, &settings.tools);
    let parsed = Arc::new(ParsedFiles::for_run(settings));
    let cx = Context {
        settings,
        tree: &tree,
        budget: &budget,
        parsed: &parsed,
    };
    let kept: HashSet<&std::path::Path> = discovery
        .files
        .iter()
        .filter_map(|c| c.path.as_deref())
        .collect();
    let mut expansions: Vec<Expansion> = crate::engines()
        .iter()
        .map(|engine| engine.expand(&discovery, &kept, &cx))
        .collect();
    // Files an engine consumed are linted through its texts; their own text
    // is still read for what only a file has (YAML traps, comments).
    let consumed: HashSet<&std::path::PathBuf> =
        expansions.iter().flat_map(|e| &e.consumed).collect();
    if !consumed.is_empty() {
        // A path resolved per file: in parallel, as the reads are.
        texts = texts
            .into_par_iter()
            .map(|text| match text {
                Text::Read(c)
                    if c.path
                        .as_ref()
                        .and_then(|p| tree.resolve(p).ok())
                        .is_some_and(|p| consumed.contains(&p)) =>
                {
                    Text::Fed(c)
                }
                other => other,
            })
            .collect();
    }
    for expansion in &mut expansions {
        texts.extend(
            std::mem::take(&mut expansion.generated)
                .into_iter()
                .map(|g| Text::Generated(Box::new(g))),
        );
    }
    Ok(lint_generated(texts, expansions, settings, &tree, &parsed))
}

/// Lints the given files.
pub fn lint_texts(texts: Vec<Text>, settings: &Settings) -> Outcome {
    let tree = source::tree_with_overlays(&settings.inputs, settings.overlays.clone());
    let parsed = ParsedFiles::for_run(settings);
    lint_generated(texts, Vec::new(), settings, &tree, &parsed)
}

/// Lints the given files and generated texts, and reports what the
/// engines could not expand.
pub fn lint_generated(
    mut texts: Vec<Text>,
    expansions: Vec<Expansion>,
    settings: &Settings,
    tree: &Tree,
    parsed: &ParsedFiles,
) -> Outcome {
    texts.sort_by(|a, b| a.name().cmp(b.name()));
    let active = ActiveRule::all(settings);
    let provenance: Vec<Option<Arc<Provenance>>> = texts
        .iter()
        .map(|t| match t {
            Text::Generated(g) => Some(g.provenance.clone()),
            _ => None,
        })
        .collect();
    let budget = crate::policy::validate::Budget::default();
    let results: Vec<FileResult> = texts
        .into_par_iter()
        .enumerate()
        .map(|(i, text)| {
            process_file(
                FileId(i as u32),
                text,
                settings,
                tree,
                &active,
                parsed,
                &budget,
            )
        })
        .collect();

    let mut diagnostics = Vec::new();
    let mut files = Vec::with_capacity(results.len());
    let mut suppressions = Vec::with_capacity(results.len());
    let mut summary = Summary::default();
    let mut indexes = Vec::with_capacity(results.len());
    let mut policy_errors = Vec::new();
    let mut linted = Vec::with_capacity(results.len());
    let mut has_policy = Vec::with_capacity(results.len());
    for (result, provenance) in results.into_iter().zip(&provenance) {
        policy_errors.extend(result.policy_errors);
        linted.push(result.linted);
        has_policy.push(result.has_policy);
        summary.files += usize::from(result.read && provenance.is_none());
        summary.objects += result.objects;
        diagnostics.extend(result.diagnostics);
        files.push(result.file);
        suppressions.push(result.suppressions);
        indexes.push(result.index);
    }
    // Shared by every unit's index: one copy, however many units.
    let file_names: Arc<[String]> = files.iter().map(|f| f.name.clone()).collect();
    let (index, any_units) = run_units(
        indexes,
        &provenance,
        &file_names,
        settings,
        &active,
        &mut diagnostics,
    );

    let units: Vec<Option<&str>> = provenance
        .iter()
        .map(|p| p.as_ref().map(|p| p.unit.as_str()))
        .collect();
    let facts = crate::policy::pass::FileFacts {
        files: &files,
        units: &units,
        linted: &linted,
        has_policy: &has_policy,
    };
    let reading = crate::policy::pass::Reading {
        limits: &settings.limits,
        pod_spec_paths: &settings.pod_spec_paths,
    };
    let (found, failed) =
        crate::policy::pass::run(&facts, &reading, settings.custom_rules.as_deref(), &budget);
    policy_errors.extend(failed);
    diagnostics.extend(found.into_iter().filter_map(|d| configured(d, settings)));

    let mut db = SourceDb::new(files);
    report_config_problems(settings, policy_errors, &mut db, &mut diagnostics);
    // Files read later, to report or trace into (Kustomize bases, chart
    // templates), count as read too.
    let before_tracing = db.len();
    let mut charts: Vec<ChartFound> = Vec::new();
    for expansion in expansions {
        report_problems(expansion.problems, &mut db, settings, &mut diagnostics);
        charts.extend(expansion.charts);
    }
    let mut tracing = Tracing::new(&db, &provenance, charts, tree);
    let mut diagnostics = tracing.run(diagnostics, suppressions, &mut db, settings, any_units);
    diagnostics.sort_by(|a, b| {
        let name = |d: &Diagnostic| db.file(d.primary.file).name.as_str();
        name(a)
            .cmp(name(b))
            .then_with(|| a.sort_key().cmp(&b.sort_key()))
    });
    if let Some(baseline) = &settings.baseline {
        let applied = crate::baseline::apply(&mut diagnostics, &db, baseline);
        summary.baselined = Some(applied.baselined);
        summary.baseline_stale = Some(applied.stale);
    }
    if let Some(changed) = &settings.changed {
        summary.outside_change = Some(crate::changes::keep_touched(&mut diagnostics, &db, changed));
    }
    crate::group::assign(&mut diagnostics);
    summary.files += db.len() - before_tracing;
    let with_findings: std::collections::BTreeSet<&str> = diagnostics
        .iter()
        .map(|d| db.file(d.primary.file).name.as_str())
        .collect();
    summary.files_with_findings = with_findings.len();
    summary.outside_inputs = with_findings
        .iter()
        .filter(|name| !under_inputs(name, &settings.inputs))
        .count();
    for diagnostic in &diagnostics {
        match diagnostic.severity {
            Severity::Error => summary.errors += 1,
            Severity::Warning => summary.warnings += 1,
            Severity::Note => summary.notes += 1,
        }
    }
    let source_maps = tracing.source_maps();
    Outcome {
        db,
        diagnostics,
        summary,
        index,
        source_maps,
    }
}

/// Runs the cross-resource rules once per unit: every generated text
/// joins the unit its provenance names, and each unit is seen as its own
/// cluster with the loose files beside it (never with another unit: value
/// sets of one chart and overlays of one base are alternatives). Returns
/// the index of everything at once, for queries (`who-can`, graphs) and the
/// report's risk summary, and whether there were units.
fn run_units(
    indexes: Vec<RunIndex>,
    provenance: &[Option<Arc<Provenance>>],
    file_names: &Arc<[String]>,
    settings: &Settings,
    active: &[ActiveRule],
    diagnostics: &mut Vec<Diagnostic>,
) -> (RunIndex, bool) {
    let mut units: Vec<RunIndex> = Vec::new();
    // Units in order of first appearance, found by key in constant time:
    // a run has a file per object and a unit per build.
    let mut unit_by_key: HashMap<&str, usize> = HashMap::new();
    let mut loose = RunIndex::default();
    for (index, provenance) in indexes.into_iter().zip(provenance) {
        match provenance {
            Some(provenance) => {
                let unit = *unit_by_key
                    .entry(provenance.unit.as_str())
                    .or_insert_with(|| {
                        units.push(RunIndex::default());
                        units.len() - 1
                    });
                units[unit].extend(index);
            }
            None => loose.extend(index),
        }
    }
    let prepare = |index: &mut RunIndex, beside: Option<&RunIndex>| {
        index.pod_security_default = settings.pod_security;
        index.file_names = Arc::clone(file_names);
        index.finish_beside(beside);
    };
    let run_rules = |cluster: &ClusterView, out: &mut Vec<Diagnostic>| {
        for active_rule in active {
            let mut cx = RuleContext::new(
                active_rule.rule.id(),
                active_rule.severity,
                active_rule.configured,
                out,
            )
            .targeting(settings.kubernetes_minor);
            active_rule.rule.check_run(cluster, &mut cx);
        }
    };
    let any_units = !units.is_empty();
    // Everything at once, before `finish` drops what only it needs.
    let mut whole = any_units.then(|| {
        let mut whole = loose.clone();
        // Checked against their CRDs in the loose pass already.
        whole.custom_objects.clear();
        whole
    });
    prepare(&mut loose, None);
    let loose_findings = diagnostics.len();
    run_rules(&ClusterView::alone(&loose), diagnostics);
    // Units are independent clusters: checked in parallel, their findings
    // kept in unit order.
    let checked: Vec<(RunIndex, Vec<Diagnostic>)> = units
        .into_par_iter()
        .map(|mut unit| {
            prepare(&mut unit, Some(&loose));
            // A loose workload seen again here (a binding of this unit
            // names its account) repeats the loose pass's findings, merged
            // later.
            let mut found = Vec::new();
            run_rules(&ClusterView::beside(&unit, &loose), &mut found);
            (unit, found)
        })
        .collect();
    // A loose workload seen again in a unit repeats the loose pass's
    // findings word for word: each is kept once, before anything traces
    // or merges them.
    let mut by_place: HashMap<(&'static str, source::FileId, crate::yaml::Span), Vec<usize>> =
        HashMap::new();
    for (at, d) in diagnostics.iter().enumerate().skip(loose_findings) {
        by_place
            .entry((d.rule, d.primary.file, d.primary.span))
            .or_default()
            .push(at);
    }
    for (unit, found) in checked {
        for d in found {
            let same = by_place
                .entry((d.rule, d.primary.file, d.primary.span))
                .or_default();
            if same.iter().any(|&at| diagnostics[at] == d) {
                continue;
            }
            same.push(diagnostics.len());
            diagnostics.push(d);
        }
        if let Some(whole) = &mut whole {
            whole.extend(unit);
        }
    }
    let index = match whole {
        Some(mut whole) => {
            prepare(&mut whole, None);
            whole
        }
        None => loose,
    };
    (index, any_units)
}

/// A finding of a rule whose severity the finding chose (an admission
/// policy's action), if the rule is on, at the severity config gives it.
fn configured(mut d: Diagnostic, settings: &Settings) -> Option<Diagnostic> {
    let Ok(index) = Settings::rule_index(d.rule) else {
        // A custom rule's finding: its severity is the rule's own.
        return Some(d);
    };
    if !settings.enabled[index] {
        return None;
    }
    if let Some(severity) = settings.severity[index] {
        d.severity = severity;
    }
    Some(d)
}

/// What the engines could not expand, at the place that says why.
fn report_problems(
    problems: Vec<Problem>,
    db: &mut SourceDb,
    settings: &Settings,
    out: &mut Vec<Diagnostic>,
) {
    for problem in problems {
        if !settings.is_enabled(problem.rule) {
            continue;
        }
        // The file may be outside the run's own (an exclude glob).
        let file = db
            .find(&problem.file)
            .unwrap_or_else(|| db.push(SourceFile::new(problem.file, problem.text)));
        out.extend(
            settings
                .engine_diagnostic(
                    problem.rule,
                    problem.severity,
                    file,
                    problem.span,
                    problem.message,
                )
                .map(|d| d.with_help(problem.help)),
        );
    }
}

/// Whether a file (by its shown name) lies under a path named on the
/// command line, compared as text: a Kustomize base reached through
/// `../base` does not.
fn under_inputs(name: &str, inputs: &[source::Input]) -> bool {
    let name = source::lexical_join(std::path::Path::new(""), name);
    inputs.iter().any(|input| match input {
        source::Input::Stdin => name == std::path::Path::new("-"),
        source::Input::Path(path) => {
            let path = source::lexical_join(std::path::Path::new(""), &path.to_string_lossy());
            if path.as_os_str().is_empty() {
                !name.starts_with("..") && !name.is_absolute()
            } else {
                name.starts_with(&path)
            }
        }
    })
}

/// Reports what is wrong in custom rules (expressions that do not compile,
/// or fail on objects) at their lines in the config, and merges repeats of
/// one expression's failure, in the config or a policy, into one finding
/// that counts the objects.
fn report_config_problems(
    settings: &Settings,
    errors: Vec<crate::policy::custom::RuntimeError>,
    db: &mut SourceDb,
    out: &mut Vec<Diagnostic>,
) {
    if !settings.is_enabled(crate::policy::admission::EXPRESSION_ERROR) {
        out.retain(|d| d.rule != crate::policy::admission::EXPRESSION_ERROR);
        return;
    }
    let severity = Settings::rule_index(crate::policy::admission::EXPRESSION_ERROR)
        .ok()
        .and_then(|i| settings.severity[i])
        .unwrap_or(Severity::Error);
    if let Some(custom) = settings.custom_rules.as_deref() {
        let ids: Vec<crate::source::FileId> = custom
            .sources
            .iter()
            .map(|s| db.push(SourceFile::new(s.name.clone(), s.text.clone())))
            .collect();
        let help = "Fix the expression in the custom rule; until then the rule does not judge these objects.";
        for (at, why) in &custom.problems {
            out.push(
                Diagnostic::new(
                    crate::policy::admission::EXPRESSION_ERROR,
                    severity,
                    ids[at.file.0 as usize],
                    at.span,
                    format!("this custom rule's expression does not compile: {why}"),
                )
                .with_help(help),
            );
        }
        for error in errors {
            out.push(
                Diagnostic::new(
                    crate::policy::admission::EXPRESSION_ERROR,
                    severity,
                    ids[error.at.file.0 as usize],
                    error.at.span,
                    format!(
                        "custom rule `{}` fails on {}: {}",
                        error.rule, error.object, error.why
                    ),
                )
                .with_help(help),
            );
        }
    }
    merge_repeats(out, severity);
}

/// One finding per failing expression: the first object's error, with how
/// many more objects it failed on.
fn merge_repeats(out: &mut Vec<Diagnostic>, severity: Severity) {
    let mut first: std::collections::HashMap<
        (crate::source::FileId, crate::yaml::Span),
        (usize, usize),
    > = Default::default();
    let mut keep = vec![true; out.len()];
    for (i, d) in out.iter().enumerate() {
        if d.rule != crate::policy::admission::EXPRESSION_ERROR {
            continue;
        }
        match first.get_mut(&(d.primary.file, d.primary.span)) {
            Some((_, more)) => {
                *more += 1;
                keep[i] = false;
            }
            None => {
                first.insert((d.primary.file, d.primary.span), (i, 0));
            }
        }
    }
    for (at, more) in first.values() {
        out[*at].severity = severity;
        if *more > 0 {
            out[*at]
                .message
                .push_str(&format!(" (and on {more} more objects)"));
        }
    }
    let mut i = 0;
    out.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}
