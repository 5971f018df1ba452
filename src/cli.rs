//! Command-line flags (clap derive). Only `main` reads these; the linter
//! sees resolved [`crate::settings::Settings`].

use crate::report::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// kslint: find Kubernetes security problems in manifests before they reach a cluster.
#[derive(Debug, Parser)]
#[command(name = "kslint", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; without one, kslint lints.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Lint options (the default command).
    #[command(flatten)]
    pub lint: LintArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint files and folders (the default).
    Lint(Box<LintArgs>),
    /// List every rule.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
    },
    /// Print a rule's documentation.
    #[command(alias = "rule")]
    Explain {
        /// The rule id, e.g. privileged-container.
        rule: String,
    },
    /// List who the manifests allow to do something: subjects, and workloads through their service accounts.
    WhoCan(WhoCanArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `kslint man > kslint.1`.
    Man,
    /// Record today's findings so that later runs report only new ones.
    Baseline {
        /// What to do.
        #[command(subcommand)]
        command: BaselineCommand,
    },
    /// Apply the fixes findings carry (the safe ones unless --unsafe-fixes), then lint again and report what remains.
    Fix(Box<FixArgs>),
    /// Serve the Language Server Protocol on stdin and stdout, for editors.
    Server,
    /// RBAC views of the manifests.
    Rbac {
        /// What to show.
        #[command(subcommand)]
        command: RbacCommand,
    },
}

/// Options of `kslint fix`: a lint run's, and how to fix.
#[derive(Debug, Args)]
pub struct FixArgs {
    /// Print the changes as a unified diff instead of writing them (exit 1 if there are any).
    #[arg(long)]
    pub print_diff: bool,
    /// The lint run (and --unsafe-fixes).
    #[command(flatten)]
    pub lint: LintArgs,
}

/// Options of `kslint who-can`.
#[derive(Debug, Args)]
pub struct WhoCanArgs {
    /// The verb, e.g. create, get, list, impersonate.
    pub verb: String,
    /// The resource as kubectl writes it: pods, pods/exec, deployments.apps.
    pub resource: String,
    /// Files or folders to read (default: the current folder).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only grants that apply in this namespace.
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The API group, when the resource does not say (core by default, apps for deployments, ...).
    #[arg(long, value_name = "GROUP")]
    pub api_group: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = QueryFormat::Human)]
    pub format: QueryFormat,
}

/// Formats of `kslint who-can`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// Readable text.
    Human,
    /// JSON.
    Json,
}

/// `kslint rbac` subcommands.
#[derive(Debug, Subcommand)]
pub enum RbacCommand {
    /// Draw workloads -> service accounts -> bindings -> roles.
    Graph {
        /// Files or folders to read (default: the current folder).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
}

/// `kslint baseline` subcommands. Both lint as a run with the same
/// options would, with no baseline applied.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Record every current finding in the baseline (--baseline FILE, the config's `baseline`, or .kslint-baseline.json), replacing what it held.
    Write(Box<LintArgs>),
    /// Remove the baseline's entries that no finding matches any more (fixed or changed); adds none.
    Prune(Box<LintArgs>),
}

/// Formats of `kslint rbac graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (`| dot -Tsvg > rbac.svg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
}

/// Formats of `kslint rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// Aligned columns.
    Table,
    /// A Markdown table (the index in rules/README.md).
    Markdown,
    /// JSON.
    Json,
}

/// Options of a lint run.
#[derive(Debug, Args, Default)]
pub struct LintArgs {
    /// Files or folders to lint; `-` reads standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format; repeat with --output to write several.
    #[arg(long, short = 'f', value_enum)]
    pub format: Vec<Format>,
    /// Write a format's report to this file (`-` for stdout), paired with --format in order.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Config file (default: the nearest .kslint.yaml upwards).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore config files.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Fail (exit 1) on findings at or above this level: error, warning, note or never [default: warning].
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<String>,
    /// Turn a rule on (repeatable).
    #[arg(long, value_name = "RULE")]
    pub enable: Vec<String>,
    /// Turn a rule off (repeatable).
    #[arg(long, value_name = "RULE")]
    pub disable: Vec<String>,
    /// Lint only files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// No colours in human output (also NO_COLOR).
    #[arg(long)]
    pub no_color: bool,
    /// Skip files larger than this many bytes [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// The Kubernetes version to check API removals against, e.g. 1.30 [default: the newest known].
    #[arg(long, value_name = "1.N")]
    pub kubernetes_version: Option<String>,
    /// Print only the findings: no summary line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print counts per rule instead of the findings (human format).
    #[arg(long)]
    pub statistics: bool,
    /// Apply the safe fixes first (as `kslint fix`), then report what remains.
    #[arg(long)]
    pub fix: bool,
    /// With --fix or `kslint fix`: also apply fixes that change objects.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Leave out the findings recorded in this baseline (see `kslint baseline write`) [default: the config's `baseline`].
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Report every finding, even with a baseline in the config.
    #[arg(long, conflicts_with = "baseline")]
    pub no_baseline: bool,
    /// Report only findings that touch a line this unified diff adds or changes (`git diff`, `diff -u`; paths relative to the repository's root).
    #[arg(long, value_name = "FILE", conflicts_with = "new_from_rev")]
    pub diff: Option<PathBuf>,
    /// Report only findings that touch a line changed since this git revision (a pull request's base: a commit, branch or tag).
    #[arg(long, value_name = "REV")]
    pub new_from_rev: Option<String>,
    /// Check workloads whose namespace has no Pod Security enforce label against this level, e.g. restricted or baseline:v1.30.
    #[arg(long, value_name = "LEVEL[:VERSION]")]
    pub pod_security: Option<String>,
    /// The helm binary that renders charts [default: helm on PATH].
    #[arg(long, value_name = "PATH", env = "KSLINT_HELM_BIN")]
    pub helm_bin: Option<PathBuf>,
    /// A values file for every chart rendered, after its configured ones (repeatable).
    #[arg(long, value_name = "FILE")]
    pub helm_values: Vec<PathBuf>,
    /// A `--set KEY=VALUE` for every chart rendered (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub helm_set: Vec<String>,
    /// Kustomize trees: lint each top-level build (pointing into the files that set each value), the files as they are, or both [default: build].
    #[arg(long, value_name = "build|files|both")]
    pub kustomize: Option<String>,
    /// The program that builds kustomizations using features kslint's engine does not build (kustomize or kubectl) [default: kustomize, else kubectl, on PATH].
    #[arg(long, value_name = "PATH", env = "KSLINT_KUSTOMIZE_BIN")]
    pub kustomize_bin: Option<PathBuf>,
    /// Run helm and kustomize even where kslint cannot wall them off (no user or network namespaces); only for trees you trust.
    #[arg(long)]
    pub allow_unsandboxed_tools: bool,
    /// Stop helm or kustomize after this many seconds [default: 120].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub tool_timeout: Option<u64>,
}
