//! The Helm engine of a run: renders each chart among the linted paths
//! with each of its value sets (walled off, see [`crate::sandbox`]), and
//! says at its `Chart.yaml` why a chart was not rendered.

use crate::diagnostic::Severity;
use crate::expand::{
    ChartFound, Context, Engine, Expansion, Generated, Origin, Problem, Provenance, Render,
    TraceInput, Tracer,
};
use crate::sandbox;
use crate::source::{self, Discovery};
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The Helm engine.
pub struct Charts;

impl Engine for Charts {
    fn tracer(&self, run: &TraceInput<'_>) -> Option<Box<dyn Tracer>> {
        Some(Box::new(super::trace::Tracer::new(
            run.db,
            run.provenance,
            run.charts,
            run.tree,
        )))
    }

    fn expand(&self, found: &Discovery, _kept: &HashSet<&Path>, cx: &Context<'_>) -> Expansion {
        let mut expansion = Expansion::default();
        for run in render_charts(&found.charts, cx) {
            expansion.charts.push(ChartFound {
                dir: run.dir.clone(),
                name: run.name.clone(),
                rendered: !run.renders.is_empty(),
            });
            let file = source::display_name(&Path::new(&run.dir).join("Chart.yaml"));
            for (span, message, help, no_helm) in run.problems {
                expansion.problems.push(Problem {
                    rule: crate::rules::manifest::HelmChartNotRendered::ID,
                    file: file.clone(),
                    text: run.text.clone(),
                    span,
                    message,
                    help,
                    severity: no_helm.then_some(Severity::Note),
                });
            }
            expansion.generated.extend(run.renders);
        }
        expansion
    }
}

/// A chart and what became of rendering it.
struct ChartRun {
    /// The chart folder, as shown to users.
    dir: String,
    /// `Chart.yaml`'s name.
    name: String,
    /// `Chart.yaml`'s text.
    text: Arc<str>,
    /// Problems to report at `Chart.yaml`: (span, message, help, is it
    /// only a note: a missing tool).
    problems: Vec<(crate::yaml::Span, String, String, bool)>,
    /// Successful renders.
    renders: Vec<Generated>,
}

/// Renders each chart with each of its value sets, when helm is there.
fn render_charts(dirs: &[PathBuf], cx: &Context<'_>) -> Vec<ChartRun> {
    let (settings, tree, budget) = (cx.settings, cx.tree.as_ref(), cx.budget);
    let helm_bin = super::find_helm(settings.helm.bin.as_deref(), tree);
    dirs.par_iter()
        .map(|dir| {
            let shown = source::display_name(dir);
            let text = tree
                .read_text(&dir.join("Chart.yaml"), settings.max_file_size)
                .unwrap_or_default();
            let chart = super::chart_file(&text);
            let mut run = ChartRun {
                dir: shown.clone(),
                name: chart.name.clone(),
                text: Arc::from(text.as_str()),
                problems: Vec::new(),
                renders: Vec::new(),
            };
            let name_span = chart.name_span;
            let missing = super::missing_dependencies(dir, &chart, tree);
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
                        None if matches!(why, source::ProgramError::NotOnPath { .. }) => {
                            String::new()
                        }
                        None => format!(" ({why})"),
                        Some(bin) => format!(" (--helm-bin {}: {why})", bin.display()),
                    };
                    run.problems.push((
                        name_span,
                        format!("{}{why}; the chart {shown} was not rendered, so its templates were not linted", super::HELM_NOT_FOUND),
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
            if let Err(why) = super::check_chart(dir, tree) {
                run.problems.push(refuse(why.to_string()));
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
                let args = super::template_args(&config, set, settings.kubernetes_minor);
                let label = if set.name.is_empty() {
                    String::new()
                } else {
                    format!(" (value set {})", set.name)
                };
                let started = std::time::Instant::now();
                let rendered = super::render(helm_bin, args, tools);
                budget.spend(rendered.as_ref().map_or(0, String::len), started.elapsed());
                match rendered {
                    Ok(text) => run.renders.push(Generated {
                        name: format!("{shown}: helm template{label}"),
                        text,
                        documents: None,
                        provenance: Arc::new(Provenance {
                            dir: shown.clone(),
                            origin: Origin::Render(Render {
                                value_set: set.name.clone(),
                                values: set.files.iter().map(|f| source::display_name(f)).collect(),
                                set: set.set.clone(),
                                namespace_set: config.namespace.is_some(),
                            }),
                            unit: format!("helm {shown} {}", set.name),
                        }),
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
