//! Helm: charts rendered with `helm template`, streams that `helm template`
//! produced (documents headed by `# Source: CHART/templates/FILE`), and
//! tracing rendered fields back to template lines and values keys.
//!
//! kslint never renders templates itself and never reaches the network: a
//! chart is rendered by the `helm` binary the user has, offline (no
//! dependency update, no repository access), and only when one is found.

pub mod charts;
pub mod origin;
pub mod template;
pub mod trace;

use crate::sandbox;
pub use crate::settings::{ChartConfig, HelmSettings, ValueSet};
use crate::tree::Tree;
use crate::yaml::{self, Node, Span};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The note given for a chart when no `helm` binary is found.
pub const HELM_NOT_FOUND: &str = "helm not found: install helm or pipe helm template output";

/// Whether a folder is a Helm chart.
pub fn is_chart(dir: &Path) -> bool {
    dir.join("Chart.yaml").is_file()
}

/// The `helm` binary: the one the user named (`--helm-bin` or
/// `KSLINT_HELM_BIN`, never the linted tree's config), or the first on PATH;
/// never one inside the tree. `Err` says why none can be used.
pub fn find_helm(
    configured: Option<&Path>,
    tree: &Tree,
) -> Result<PathBuf, crate::source::ProgramError> {
    crate::source::named_program(configured.unwrap_or(Path::new("helm")), tree)
}

/// The most files and folders a chart may hold for kslint to render it.
const MAX_CHART_ENTRIES: usize = 100_000;

/// Checks a chart before helm reads it: helm follows symbolic links inside
/// a chart (`.Files.Get`), so a link to `/proc/self/environ` or a
/// credentials file would put the runner's secrets into a template's
/// output or error. Every link must stay inside `tree`, and every entry
/// must be a file or folder (a pipe could stall helm). The problem found,
/// with the offending path, if any.
pub fn check_chart(dir: &Path, tree: &Tree) -> Result<(), ChartRefusal> {
    if let Err(outside) = tree.resolve(dir) {
        return Err(ChartRefusal::FolderOutside(outside.why()));
    }
    let mut pending = vec![dir.to_path_buf()];
    // helm follows links to folders too: each real folder is checked once.
    let mut visited = std::collections::HashSet::new();
    let mut entries = 0usize;
    while let Some(folder) = pending.pop() {
        if let Ok(real) = folder.canonicalize()
            && !visited.insert(real)
        {
            continue;
        }
        let listing = std::fs::read_dir(&folder).map_err(|e| ChartRefusal::Unreadable {
            folder: crate::source::display_name(&folder),
            why: crate::source::io_message(&e),
        })?;
        for entry in listing.flatten() {
            entries += 1;
            if entries > MAX_CHART_ENTRIES {
                return Err(ChartRefusal::TooManyEntries);
            }
            let path = entry.path();
            let shown = crate::source::display_name(&path);
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                match tree.resolve(&path) {
                    Ok(real) if real.is_dir() => pending.push(real),
                    Ok(real) if !real.is_file() => return Err(ChartRefusal::LinkToSpecial(shown)),
                    Ok(_) => {}
                    // helm skips a dangling link with a warning.
                    Err(crate::tree::Outside::Unresolved(_)) => {}
                    Err(outside) => {
                        return Err(ChartRefusal::LinkOutside {
                            link: shown,
                            why: outside.why(),
                        });
                    }
                }
            } else if kind.is_dir() {
                pending.push(path);
            } else if !kind.is_file() {
                return Err(ChartRefusal::Special(shown));
            }
        }
    }
    Ok(())
}

/// Why a chart is not handed to helm.
#[derive(Debug, thiserror::Error)]
pub enum ChartRefusal {
    /// The chart folder itself leads outside the tree.
    #[error("the chart folder {0}")]
    FolderOutside(String),
    /// A folder of the chart cannot be listed.
    #[error("{folder} cannot be read: {why}")]
    Unreadable {
        /// The folder, shown.
        folder: String,
        /// Why, in words.
        why: String,
    },
    /// The chart is larger than kslint hands to helm.
    #[error("the chart holds more than {MAX_CHART_ENTRIES} files and folders")]
    TooManyEntries,
    /// A link leads outside the tree.
    #[error("{link}: {why}")]
    LinkOutside {
        /// The link, shown.
        link: String,
        /// Where it leads, in words.
        why: String,
    },
    /// A link leads to a pipe, socket or device.
    #[error("{0} leads to something that is not a regular file (a pipe, socket or device)")]
    LinkToSpecial(String),
    /// An entry is a pipe, socket or device.
    #[error("{0} is not a regular file (a pipe, socket or device)")]
    Special(String),
}

/// A chart's name and declared dependencies, read from `Chart.yaml`.
#[derive(Debug, Default)]
pub struct ChartFile {
    /// `name`.
    pub name: String,
    /// Where `name` is written (the file's start if nowhere).
    pub name_span: Span,
    /// Each dependency's name, version, and the span of its list item.
    pub dependencies: Vec<(String, String, Span)>,
}

/// Reads `Chart.yaml` text.
pub fn chart_file(text: &str) -> ChartFile {
    let stream = yaml::parse_stream(text, yaml::Limits::default());
    let Some(root) = stream.documents.first().map(|d| &d.root) else {
        return ChartFile::default();
    };
    let name = root
        .get("name")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_owned();
    let name_span = root
        .entry("name")
        .map_or(Span::default(), |e| e.key_span.to(e.value.span));
    let dependencies = root
        .get("dependencies")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|item| {
            let name = item.get("name").and_then(Node::as_str)?;
            let version = item.get("version").and_then(Node::as_str).unwrap_or("");
            let span = item
                .entry("name")
                .map_or(item.span, |e| e.key_span.to(e.value.span));
            Some((name.to_owned(), version.to_owned(), span))
        })
        .collect();
    ChartFile {
        name,
        name_span,
        dependencies,
    }
}

/// Declared dependencies that `charts/` does not hold (as a folder whose
/// `Chart.yaml` names it, or an archive `NAME-VERSION.tgz`).
pub fn missing_dependencies<'c>(
    dir: &Path,
    chart: &'c ChartFile,
    tree: &Tree,
) -> Vec<&'c (String, String, Span)> {
    let charts = dir.join("charts");
    let present: Vec<String> = std::fs::read_dir(&charts)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                let text = tree.read_text(&path.join("Chart.yaml"), 1 << 20).ok()?;
                Some(chart_file(&text).name)
            } else {
                let file = path.file_name()?.to_str()?;
                file.strip_suffix(".tgz").map(str::to_owned)
            }
        })
        .collect();
    chart
        .dependencies
        .iter()
        .filter(|(name, _, _)| {
            !present.iter().any(|p| {
                p == name
                    || p.strip_prefix(name.as_str())
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()))
            })
        })
        .collect()
}

/// The `helm template` command line for a chart and value set. Every value
/// is joined to its flag (`--values=FILE`), and the release and chart come
/// after `--`, so nothing from a config file can become a flag of its own
/// (`--post-renderer` runs a program).
pub fn template_args(config: &ChartConfig, set: &ValueSet, kubernetes_minor: u16) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["template".into()];
    if let Some(namespace) = &config.namespace {
        args.push(format!("--namespace={namespace}").into());
    }
    for file in &set.files {
        let mut arg = OsString::from("--values=");
        arg.push(file);
        args.push(arg);
    }
    for value in &set.set {
        args.push(format!("--set={value}").into());
    }
    args.push(format!("--kube-version=v1.{kubernetes_minor}.0").into());
    args.push("--include-crds".into());
    args.push("--".into());
    args.push(
        config
            .release
            .clone()
            .unwrap_or_else(|| "release-name".to_owned())
            .into(),
    );
    args.push(config.path.clone().into());
    args
}

/// Runs `helm template`, walled off ([`crate::sandbox`]); the rendered
/// stream, or helm's error in words (bounded, with control characters
/// shown as symbols).
pub fn render(
    helm: &Path,
    args: Vec<OsString>,
    policy: sandbox::Policy,
) -> Result<String, RenderError> {
    let cwd = std::env::current_dir()
        .map_err(|e| RenderError::NoWorkingFolder(crate::source::io_message(&e)))?;
    let job = sandbox::Job {
        program: helm,
        args,
        cwd: &cwd,
        policy,
    };
    match sandbox::run(&job) {
        Ok(stdout) => String::from_utf8(stdout).map_err(|_| RenderError::NotUtf8),
        Err(sandbox::Failure::Exit(stderr)) => {
            let message = stderr
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let message = message.strip_prefix("Error: ").unwrap_or(&message);
            Err(RenderError::Helm(sandbox::shown_error(message)))
        }
        Err(failure) => Err(RenderError::Tool(failure)),
    }
}

/// Why `helm template` gave no stream.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// kslint's own folder is gone, so helm has nowhere to run.
    #[error("the current folder cannot be read: {0}")]
    NoWorkingFolder(String),
    /// Helm reported an error (its words, bounded and made safe to show).
    #[error("{0}")]
    Helm(String),
    /// The output is not text.
    #[error("helm template printed text that is not UTF-8")]
    NotUtf8,
    /// The sandbox stopped or refused it.
    #[error("{}", .0.why("helm template"))]
    Tool(sandbox::Failure),
}

/// A `# Source: CHART/templates/FILE` header in a rendered stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHeader {
    /// Where the header line starts.
    pub offset: u32,
    /// The path after `# Source: `, in the stream's bytes.
    pub span: Span,
    /// The path: the chart's name, then the file inside the chart.
    pub path: String,
}

impl SourceHeader {
    /// The chart's name (the first path part).
    pub fn chart(&self) -> &str {
        self.path.split('/').next().unwrap_or("")
    }

    /// The template's path inside its chart folder.
    pub fn inside_chart(&self) -> &str {
        self.path.split_once('/').map_or("", |(_, rest)| rest)
    }
}

/// The `# Source:` headers of a stream, in order.
pub fn source_headers(text: &str) -> Vec<SourceHeader> {
    let mut headers = Vec::new();
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        if let Some(path) = line.strip_prefix("# Source: ") {
            let path = path.trim_end();
            if path.contains("/templates/") || path.contains("/crds/") {
                let start = offset + "# Source: ".len();
                headers.push(SourceHeader {
                    offset: offset as u32,
                    span: Span::new(start, start + path.len()),
                    path: path.to_owned(),
                });
            }
        }
        offset += line.len();
    }
    headers
}

/// The header that heads the text at `offset`.
pub fn header_at(headers: &[SourceHeader], offset: u32) -> Option<&SourceHeader> {
    let after = headers.partition_point(|h| h.offset <= offset);
    after.checked_sub(1).map(|i| &headers[i])
}

/// The folder of a chart or subchart named in a `# Source:` path, given
/// the top chart's folder: `app/charts/db/templates/x.yaml` lives in
/// `<chart>/charts/db/templates/x.yaml`.
/// `None` when the path leaves the chart (`..`, an absolute path): the
/// header is the stream's word, and may lie.
pub fn template_file(chart_dir: &Path, header: &SourceHeader) -> Option<PathBuf> {
    let inside = Path::new(header.inside_chart());
    let plain = inside
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    (plain && !header.inside_chart().is_empty()).then(|| chart_dir.join(inside))
}

/// The subchart path of a template: `["db"]` for
/// `app/charts/db/templates/x.yaml`, empty for the top chart.
pub fn subchart_path(header: &SourceHeader) -> Vec<String> {
    let parts: Vec<&str> = header.inside_chart().split('/').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < parts.len() && parts[i] == "charts" {
        out.push(parts[i + 1].to_owned());
        i += 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_subcharts() {
        let text = "---\n# Source: app/templates/a.yaml\nkind: A\n---\n# Source: app/charts/db/templates/b.yaml\nkind: B\n";
        let headers = source_headers(text);
        assert_eq!(headers.len(), 2);
        assert_eq!(headers[0].chart(), "app");
        assert_eq!(headers[1].inside_chart(), "charts/db/templates/b.yaml");
        assert_eq!(subchart_path(&headers[1]), vec!["db".to_owned()]);
        let b = text.find("kind: B").unwrap() as u32;
        assert_eq!(header_at(&headers, b).unwrap().path, headers[1].path);
        assert!(header_at(&headers, 0).is_none());
    }

    #[test]
    fn args_never_reach_the_network() {
        let config = ChartConfig {
            path: "charts/app".into(),
            namespace: Some("shop".into()),
            ..ChartConfig::default()
        };
        let set = ValueSet {
            name: "prod".into(),
            files: vec!["charts/app/values-prod.yaml".into()],
            set: vec!["a=b".into()],
        };
        let args: Vec<String> = template_args(&config, &set, 30)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let args = args.join(" ");
        assert_eq!(
            args,
            "template --namespace=shop --values=charts/app/values-prod.yaml --set=a=b --kube-version=v1.30.0 --include-crds -- release-name charts/app"
        );
        assert!(!args.contains("dependency") && !args.contains("repo"));
    }
}
