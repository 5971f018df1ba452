//! Builds a kustomization the native engine does not support with the real
//! tool (`kustomize build`, or `kubectl kustomize`), and maps its output
//! back to the files through kustomize's origin annotations.
//!
//! kslint never reaches the network: before the tool runs, every path the
//! kustomization tree names must be a local file or folder, because
//! kustomize fetches remote bases and URLs on its own. The tool runs
//! without the flags that enable plugins, exec functions and Helm.
//!
//! `local` holds that check; `origin` maps the output back to the files.

mod local;
mod origin;

use super::{Built, Sources, emit, trace};
use crate::sandbox;
use crate::tree::Tree;
use crate::yaml::{self, Span};
use local::Survey;
pub use local::check_local;
use origin::{Mapper, Origin, take_origin};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The program that builds kustomizations kslint cannot.
#[derive(Debug, Clone)]
pub struct Tool {
    program: PathBuf,
    kubectl: bool,
}

impl Tool {
    /// The program the user named (a path, or a name on PATH; never one
    /// from the linted tree's configuration), else `kustomize`, else
    /// `kubectl`, on PATH. A program PATH finds inside `tree` is skipped.
    pub fn find(configured: Option<&Path>, tree: &Tree) -> Option<Tool> {
        let program = match configured {
            Some(named) => crate::source::named_program(named, tree).ok()?,
            None => crate::source::find_program("kustomize", tree)
                .or_else(|| crate::source::find_program("kubectl", tree))?,
        };
        // The tool runs in a temporary folder: a relative path would
        // resolve there.
        let program = program.canonicalize().ok()?;
        let kubectl = program
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("kubectl"));
        Some(Tool { program, kubectl })
    }

    /// The build command, as users know it.
    pub fn command(&self) -> &'static str {
        if self.kubectl {
            "kubectl kustomize"
        } else {
            "kustomize build"
        }
    }
}

/// Why the tool did not build a kustomization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The tree names something that is not local: kslint will not let
    /// the tool fetch it.
    NotLocal(String),
    /// The tool failed: its error, in one line.
    Failed(String),
    /// The tool cannot be walled off here, and the user did not allow
    /// running it without walls.
    NoSandbox(String),
}

/// What a fallback build knows beyond a native one.
#[derive(Debug, Default)]
pub struct Fallback {
    /// The command that built it.
    pub command: &'static str,
    /// Source spans that stand for a whole object: nodes placed there are
    /// approximate.
    pub approximate: HashSet<Span>,
}

/// Builds the kustomization in `dir` with `tool`, reading only files of
/// `tree`. The tool runs walled off ([`crate::sandbox`]) within the
/// policy's limits; without walls, only when the policy allows it.
pub fn build(
    dir: &Path,
    tool: &Tool,
    tree: Arc<Tree>,
    max_file_size: u64,
    policy: sandbox::Policy,
) -> Result<Built, Refusal> {
    let dir = tree
        .resolve(dir)
        .map_err(|outside| Refusal::NotLocal(format!("{} {}", trace::shown(dir), outside.why())))?;
    let mut sources = Sources::within(tree, max_file_size);
    let mut survey = Survey::default();
    survey.check(&dir, &mut sources, 0)?;
    let patches = survey.patch_documents(&mut sources);

    // A wrapper outside the user's tree asks for origin annotations without
    // writing into it; folders, unlike files, load from anywhere.
    let wrapper = tempfile::Builder::new()
        .prefix("kslint-kustomize-")
        .tempdir()
        .map_err(|e| Refusal::Failed(format!("cannot make a temporary folder: {e}")))?;
    let wrapper_dir = wrapper
        .path()
        .canonicalize()
        .map_err(|e| Refusal::Failed(format!("cannot read the temporary folder: {e}")))?;
    let field = if survey.top_is_component {
        "components"
    } else {
        "resources"
    };
    let target = relative(&wrapper_dir, &dir);
    // Only the top kustomization's sortOptions order the output: the
    // wrapper, now at the top, carries them.
    let sort_options = survey
        .sort_options
        .as_ref()
        .map(|o| format!("sortOptions: {o}\n"))
        .unwrap_or_default();
    let text = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n{field}:\n- {}\nbuildMetadata: [originAnnotations]\n{sort_options}",
        serde_json::to_string(&target.to_string_lossy()).expect("a string")
    );
    std::fs::write(wrapper_dir.join("kustomization.yaml"), text)
        .map_err(|e| Refusal::Failed(format!("cannot write the temporary kustomization: {e}")))?;

    let job = sandbox::Job {
        program: &tool.program,
        args: vec![
            if tool.kubectl { "kustomize" } else { "build" }.into(),
            wrapper_dir.clone().into(),
        ],
        cwd: &wrapper_dir,
        policy,
    };
    let output = sandbox::run(&job).map_err(|failure| match failure {
        sandbox::Failure::NoSandbox(_) => Refusal::NoSandbox(failure.why(tool.command())),
        sandbox::Failure::Exit(stderr) => Refusal::Failed(tool_error(&stderr)),
        other => Refusal::Failed(other.why(tool.command())),
    })?;
    let stdout = String::from_utf8(output).map_err(|_| {
        Refusal::Failed(format!("{} printed text that is not UTF-8", tool.command()))
    })?;
    let stream = yaml::parse_stream(&stdout, yaml::Limits::default());
    if let Some(error) = stream.errors.first() {
        return Err(Refusal::Failed(format!(
            "{} printed YAML kslint cannot read: {}",
            tool.command(),
            error.message
        )));
    }

    let mut mapper = Mapper {
        sources,
        parsed: HashMap::new(),
        patches,
        approximate: HashSet::new(),
    };
    let mut objects = Vec::new();
    for document in stream.documents {
        let mut object = document.root;
        if object.is_null() {
            continue;
        }
        let origin = take_origin(&mut object)
            .and_then(|o| Origin::read(&o, &wrapper_dir))
            .unwrap_or(Origin::Unknown);
        mapper.place(&mut object, &origin);
        objects.push(object);
    }
    drop(wrapper);
    Ok(Built {
        emitted: emit::emit(objects),
        sources: mapper.sources,
        fallback: Some(Fallback {
            command: tool.command(),
            approximate: mapper.approximate,
        }),
        reparsed: Default::default(),
    })
}

/// The tool's error in one line: kustomize's own words, without kubectl's
/// log prefix (`E1128 17:20:30.236127 960 run.go:72] "command failed"
/// err="..."`) or deprecation warnings.
fn tool_error(stderr: &str) -> String {
    let text: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim_start().starts_with("# Warning:"))
        .collect();
    let text = text.join("\n");
    // klog writes `err="..."`, or `err=<` ... `>` over several lines.
    let body = if let Some(at) = text.find("err=<") {
        let rest = &text[at + 5..];
        rest.rfind('>').map_or(rest, |end| &rest[..end])
    } else if let Some(at) = text.find("err=\"") {
        let rest = &text[at + 5..];
        rest.rfind('"').map_or(rest, |end| &rest[..end])
    } else {
        &text
    };
    sandbox::shown_error(&body.replace("\\\"", "\"").replace("\\n", " "))
}
/// `to` as a path relative to the folder `from` (both canonical).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_errors_lose_the_log_prefix() {
        let stderr = "# Warning: 'vars' is deprecated.\nE1128 17:20:30.236127     960 run.go:72] \"command failed\" err=\"accumulating resources: 'x' must resolve to a file\"\n";
        assert_eq!(
            tool_error(stderr),
            "accumulating resources: 'x' must resolve to a file"
        );
        assert_eq!(tool_error("Error: no such file\n"), "Error: no such file");
        let stderr = "E1128 17:22:29.741419 2829 run.go:72] \"command failed\" err=<\n\taccumulating resources:\n\tmissing\n >\n";
        assert_eq!(tool_error(stderr), "accumulating resources: missing");
    }

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        assert_eq!(
            relative(
                Path::new("/tmp/kslint-x"),
                Path::new("/work/repo/overlays/prod")
            ),
            PathBuf::from("../../work/repo/overlays/prod")
        );
        assert_eq!(
            relative(Path::new("/a/b"), Path::new("/a/b/c")),
            PathBuf::from("c")
        );
    }
}
