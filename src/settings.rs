//! Resolved settings: the config file (`.kslint.yaml`) and command-line
//! flags merged into what the linter runs with. The linter sees only
//! [`Settings`], never raw flags.

use crate::catalog::{self, CATALOG};
use crate::diagnostic::Severity;
use crate::k8s::PodSpecPath;
use crate::pss;
use crate::source::{Filters, Input};
use crate::yaml::{self, Node, Value};
use std::path::{Path, PathBuf};

/// Config file names, looked for from the current folder upwards.
pub const CONFIG_NAMES: &[&str] = &[".kslint.yaml", ".kslint.yml"];

/// Files larger than this are not read unless raised.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What to lint.
    pub inputs: Vec<Input>,
    /// Include and exclude globs.
    pub filters: Filters,
    /// Findings at or above this fail the run; `None` never fails.
    pub fail_on: Option<Severity>,
    /// Per rule (by position in `RULES`): enabled.
    pub enabled: Vec<bool>,
    /// Per rule: severity set in config.
    pub severity: Vec<Option<Severity>>,
    /// Pod-spec places of custom resources.
    pub pod_spec_paths: Vec<PodSpecPath>,
    /// Largest file read, in bytes.
    pub max_file_size: u64,
    /// Parser limits.
    pub limits: yaml::Limits,
    /// The Pod Security level for workloads whose namespace sets none.
    pub pod_security: Option<pss::Policy>,
    /// The Kubernetes minor version targeted (`1.N`), for API removals.
    pub kubernetes_minor: u16,
    /// How to render Helm charts.
    pub helm: HelmSettings,
    /// The folder of the config file, which its paths are relative to.
    pub config_dir: PathBuf,
    /// What to lint in Kustomize trees: builds, files, or both.
    pub kustomize_mode: KustomizeMode,
    /// The program that builds what the native engine does not (`kustomize`
    /// or `kubectl`); unset means the first of them on PATH. Only the
    /// command line and the environment set it, never the linted tree.
    pub kustomize_bin: Option<PathBuf>,
    /// How helm and kustomize run: their limits, and whether they may run
    /// where they cannot be walled off (the user's choice, for trees they
    /// trust). Only the command line sets it.
    pub tools: crate::sandbox::Policy,
    /// The baseline a config names (`baseline:`); the command line may
    /// name another or none.
    pub baseline_file: Option<crate::baseline::Named>,
    /// Findings recorded in this baseline are left out of the report.
    pub baseline: Option<std::sync::Arc<crate::baseline::Baseline>>,
    /// Pull-request mode: only findings that touch these lines are
    /// reported.
    pub changed: Option<std::sync::Arc<crate::changes::Change>>,
    /// Texts that stand for files on disk, by real path: an editor's
    /// unsaved documents (`kslint server`), the texts `kslint fix` made.
    pub overlays: Option<crate::tree::Overrides>,
    /// Custom rules from the config, if it has any.
    pub custom_rules: Option<std::sync::Arc<crate::policy::custom::CustomRules>>,
}

/// How kslint treats kustomizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KustomizeMode {
    /// Build each top-level kustomization and lint the output (the files
    /// that feed a build are not linted again on their own).
    #[default]
    Build,
    /// Lint every file as it is, building nothing.
    Files,
    /// Both.
    Both,
}

impl std::str::FromStr for KustomizeMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "build" => Ok(KustomizeMode::Build),
            "files" => Ok(KustomizeMode::Files),
            "both" => Ok(KustomizeMode::Both),
            other => Err(format!(
                "unknown kustomize mode {other:?}: expected build, files or both"
            )),
        }
    }
}

/// Why a config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read (or is no regular file, or is too large).
    #[error("{file}: {why}")]
    Unreadable {
        /// The file as the user named it.
        file: String,
        /// Why, in words.
        why: String,
    },
    /// A setting is wrong: where, and why.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        /// The file as the user named it.
        file: String,
        /// The 1-based line of the setting.
        line: u32,
        /// The 1-based column of the setting.
        column: u32,
        /// What is wrong, and what would be right.
        message: String,
    },
}

/// A rule id no rule has.
#[derive(Debug, thiserror::Error)]
#[error("unknown rule `{id}`{} (`kslint rules` lists them)", .suggestion.map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
pub struct UnknownRule {
    /// The id as written.
    pub id: String,
    /// The closest rule id, if one is close.
    pub suggestion: Option<&'static str>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            inputs: vec![Input::Path(".".into())],
            filters: Filters::default(),
            fail_on: Some(Severity::Warning),
            enabled: CATALOG.iter().map(|m| m.default_enabled).collect(),
            severity: vec![None; CATALOG.len()],
            pod_spec_paths: Vec::new(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            limits: yaml::Limits::default(),
            pod_security: None,
            kubernetes_minor: pss::NEWEST_MINOR,
            helm: HelmSettings::default(),
            config_dir: PathBuf::from("."),
            kustomize_mode: KustomizeMode::Build,
            kustomize_bin: None,
            tools: crate::sandbox::Policy::default(),
            baseline_file: None,
            baseline: None,
            changed: None,
            overlays: None,
            custom_rules: None,
        }
    }
}

impl Settings {
    /// Settings with only the given rules enabled (for tests and tools).
    pub fn only(ids: &[&str]) -> Self {
        let mut settings = Settings::default();
        for (enabled, meta) in settings.enabled.iter_mut().zip(CATALOG.iter()) {
            *enabled = ids.contains(&meta.id);
        }
        settings
    }

    /// The position of a rule id, or an error with a suggestion.
    pub fn rule_index(id: &str) -> Result<usize, UnknownRule> {
        CATALOG
            .iter()
            .position(|m| m.id == id)
            .ok_or_else(|| UnknownRule {
                id: id.to_owned(),
                suggestion: catalog::suggest(id),
            })
    }

    /// A finding of kslint's own (a file it cannot read, a build that
    /// fails), if its rule is on: at `severity` instead of the catalog's
    /// when given (a note for a tool that is missing), unless the config
    /// sets one.
    pub fn engine_diagnostic(
        &self,
        rule: &'static str,
        severity: Option<crate::diagnostic::Severity>,
        file: crate::source::FileId,
        span: yaml::Span,
        message: String,
    ) -> Option<crate::diagnostic::Diagnostic> {
        let i = CATALOG.iter().position(|m| m.id == rule)?;
        self.enabled[i].then(|| {
            let default = severity.unwrap_or(CATALOG[i].severity);
            crate::diagnostic::Diagnostic::new(
                rule,
                self.severity[i].unwrap_or(default),
                file,
                span,
                message,
            )
        })
    }

    /// Whether a rule is on.
    pub fn is_enabled(&self, id: &str) -> bool {
        CATALOG
            .iter()
            .position(|m| m.id == id)
            .is_some_and(|i| self.enabled[i])
    }

    /// Applies a config file the user named. It must still be a regular
    /// file of a sane size: the action's `config` input may name a file of
    /// the pull request.
    pub fn apply_config(&mut self, config: &Path) -> Result<(), ConfigError> {
        use std::io::Read;
        let fail = |why: String| ConfigError::Unreadable {
            file: config.display().to_string(),
            why,
        };
        let meta = std::fs::metadata(config).map_err(|e| fail(crate::source::io_message(&e)))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".to_owned()));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(config)
            .and_then(|f| f.take(MAX_CONFIG_SIZE + 1).read_to_end(&mut bytes))
            .map_err(|e| fail(crate::source::io_message(&e)))?;
        if bytes.len() as u64 > MAX_CONFIG_SIZE {
            return Err(fail(format!("larger than {MAX_CONFIG_SIZE} bytes")));
        }
        self.apply_config_file(config, crate::source::text_of(bytes).0)
    }

    /// Applies a config file found in the tree: it is read only if it is a
    /// regular file of its repository (not a link to a file elsewhere).
    pub fn apply_found_config(&mut self, config: &Path) -> Result<(), ConfigError> {
        let text = crate::tree::Tree::around(config)
            .read_text(config, MAX_CONFIG_SIZE)
            .map_err(|e| ConfigError::Unreadable {
                file: config.display().to_string(),
                why: e.why(),
            })?;
        self.apply_config_file(config, text)
    }

    fn apply_config_file(&mut self, config: &Path, text: String) -> Result<(), ConfigError> {
        self.config_dir = config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        self.apply_config_text(&config.display().to_string(), &text)
    }

    /// Applies config text; errors name the file, line and column.
    pub fn apply_config_text(&mut self, name: &str, text: &str) -> Result<(), ConfigError> {
        let at = |span: yaml::Span, message: String| {
            let lc = yaml::line_index::LineIndex::new(text).line_col(text, span.start);
            ConfigError::Invalid {
                file: name.to_owned(),
                line: lc.line,
                column: lc.column,
                message,
            }
        };
        let stream = yaml::parse_stream(text, self.limits.clone());
        if let Some(error) = stream.errors.first() {
            return Err(at(error.span, error.message.clone()));
        }
        let Some(root) = stream.documents.first().map(|d| &d.root) else {
            return Ok(());
        };
        if root.is_null() {
            return Ok(());
        }
        let entries = root
            .as_map()
            .ok_or_else(|| at(root.span, "the config must be a mapping".into()))?;
        // Custom rules first, so `rules` can configure them wherever the
        // two keys are.
        let custom_first = entries
            .iter()
            .filter(|e| e.key == "custom-rules")
            .chain(entries.iter().filter(|e| e.key != "custom-rules"));
        for entry in custom_first {
            let value = &entry.value;
            match entry.key.as_str() {
                "fail-on" => {
                    self.fail_on = parse_fail_on(value.as_str().unwrap_or_default())
                        .map_err(|e| at(value.span, e))?
                }
                "include" => self
                    .filters
                    .include
                    .extend(strings(value).map_err(|e| at(value.span, e))?),
                "exclude" => self
                    .filters
                    .exclude
                    .extend(strings(value).map_err(|e| at(value.span, e))?),
                "max-file-size" => {
                    let size = value.as_i64().filter(|n| *n > 0).ok_or_else(|| {
                        at(
                            value.span,
                            "max-file-size must be a positive number of bytes".into(),
                        )
                    })? as u64;
                    // The config is the tree's: it may tighten the bound,
                    // never loosen it.
                    if size > DEFAULT_MAX_FILE_SIZE {
                        return Err(at(
                            value.span,
                            format!(
                                "max-file-size in a config file can only lower the limit (at most {DEFAULT_MAX_FILE_SIZE}); raise it with --max-file-size"
                            ),
                        ));
                    }
                    self.max_file_size = size;
                }
                "rules" => self.apply_rules(value).map_err(|(span, e)| at(span, e))?,
                "kubernetes-version" => {
                    let text = match &value.value {
                        Value::Str(s) => s.clone(),
                        // `1.30` unquoted is a float to YAML.
                        Value::Float(_) | Value::Int(_) => {
                            text[value.span.start as usize..value.span.end as usize].to_owned()
                        }
                        _ => String::new(),
                    };
                    self.kubernetes_minor =
                        parse_kubernetes_version(&text).map_err(|e| at(value.span, e))?;
                }
                "pod-security" => {
                    let policy = value.as_str().ok_or_else(|| {
                        at(value.span, "pod-security must be LEVEL or LEVEL:VERSION, such as restricted or baseline:v1.30".into())
                    })?;
                    self.pod_security = Some(policy.parse().map_err(|e| at(value.span, e))?);
                }
                "pod-spec-paths" => self
                    .apply_pod_spec_paths(value)
                    .map_err(|(span, e)| at(span, e))?,
                "helm" => self.apply_helm(value).map_err(|(span, e)| at(span, e))?,
                "custom-rules" => self.apply_custom_rules(name, text, value, &at)?,
                "baseline" => {
                    let path = crate::baseline::check_config_path(value.as_str().unwrap_or(""))
                        .map_err(|e| at(value.span, e))?;
                    self.baseline_file = Some(crate::baseline::Named::Config {
                        path: self.config_dir.join(path),
                        config: PathBuf::from(name),
                    });
                }
                "kustomize" => {
                    let mode = value.as_str().unwrap_or("");
                    self.kustomize_mode = mode.parse().map_err(|e| at(value.span, e))?;
                }
                "kustomize-bin" => {
                    return Err(at(
                        entry.key_span,
                        program_refused("kustomize-bin", "--kustomize-bin", "KSLINT_KUSTOMIZE_BIN"),
                    ));
                }
                other => {
                    let hint = crate::spelling::nearest(other, CONFIG_KEYS.iter().copied())
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    return Err(at(
                        entry.key_span,
                        format!(
                            "unknown config key `{other}`{hint} (known keys: {})",
                            CONFIG_KEYS.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `rules:` for a custom rule: on, off or a severity. `None` if no
    /// custom rule has that id.
    fn configure_custom_rule(
        &mut self,
        id: &str,
        setting: &Node,
    ) -> Option<Result<(), (yaml::Span, String)>> {
        let rules = std::sync::Arc::get_mut(self.custom_rules.as_mut()?)?;
        let rule = rules.rules.iter_mut().find(|r| r.id == id)?;
        let severity = |text: &str| text.parse::<Severity>().map_err(|e| (setting.span, e));
        Some(match &setting.value {
            Value::Bool(on) => {
                rule.enabled = *on;
                Ok(())
            }
            Value::Str(text) => severity(text).map(|s| {
                rule.severity = s;
                rule.enabled = true;
            }),
            _ => Err((
                setting.span,
                "a custom rule takes on, off or a severity here".into(),
            )),
        })
    }

    /// `custom-rules`: rules written in the config, or names of files
    /// (beside the config, inside its repository) that hold such a list.
    fn apply_custom_rules(
        &mut self,
        name: &str,
        text: &str,
        value: &Node,
        at: &dyn Fn(yaml::Span, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        use crate::policy::custom::{CustomRules, Source};
        let mut rules = CustomRules::default();
        let items = value.as_seq().ok_or_else(|| {
            at(
                value.span,
                "`custom-rules` must be a list of rules or of files that hold rules".into(),
            )
        })?;
        let inline: Vec<Node> = items
            .iter()
            .filter(|i| i.as_str().is_none())
            .cloned()
            .collect();
        let inline = Node {
            value: Value::Seq(inline),
            span: value.span,
            plain: false,
        };
        // Shown like the run's files: relative to the current folder.
        let shown = |name: &str| -> String {
            std::env::current_dir()
                .ok()
                .and_then(|cwd| {
                    Path::new(name)
                        .strip_prefix(cwd)
                        .ok()
                        .map(|p| p.display().to_string())
                })
                .unwrap_or_else(|| name.to_owned())
        };
        rules
            .add(
                Source {
                    name: shown(name),
                    text: std::sync::Arc::from(text),
                },
                &inline,
            )
            .map_err(|(span, e)| at(span, e))?;
        for item in items {
            let Some(relative) = item.as_str() else {
                continue;
            };
            let path = inside(&self.config_dir, &self.config_dir, relative)
                .map_err(|e| at(item.span, e))?;
            let file_text = crate::tree::Tree::around(&path)
                .read_text(&path, MAX_CONFIG_SIZE)
                .map_err(|e| at(item.span, format!("cannot read {relative:?}: {}", e.why())))?;
            let file_name = shown(&path.display().to_string());
            let invalid = |span: yaml::Span, message: String| {
                let lc =
                    yaml::line_index::LineIndex::new(&file_text).line_col(&file_text, span.start);
                ConfigError::Invalid {
                    file: file_name.clone(),
                    line: lc.line,
                    column: lc.column,
                    message,
                }
            };
            let stream = yaml::parse_stream(&file_text, self.limits.clone());
            if let Some(error) = stream.errors.first() {
                return Err(invalid(error.span, error.message.clone()));
            }
            let Some(root) = stream.documents.first().map(|d| &d.root) else {
                continue;
            };
            let list = root.get("custom-rules").unwrap_or(root);
            rules
                .add(
                    Source {
                        name: file_name.clone(),
                        text: std::sync::Arc::from(file_text.as_str()),
                    },
                    list,
                )
                .map_err(|(span, e)| invalid(span, e))?;
        }
        crate::catalog::register_custom(rules.catalog_entries());
        self.custom_rules = Some(std::sync::Arc::new(rules));
        Ok(())
    }

    fn apply_rules(&mut self, value: &Node) -> Result<(), (yaml::Span, String)> {
        let entries = value.as_map().ok_or((
            value.span,
            "`rules` must map rule ids to on, off or a severity".to_owned(),
        ))?;
        for entry in entries {
            let index = match Self::rule_index(&entry.key) {
                Ok(index) => index,
                Err(unknown) => {
                    self.configure_custom_rule(&entry.key, &entry.value)
                        .unwrap_or_else(|| Err((entry.key_span, unknown.to_string())))?;
                    continue;
                }
            };
            let setting = &entry.value;
            match &setting.value {
                Value::Bool(on) => self.enabled[index] = *on,
                Value::Str(severity) => {
                    self.severity[index] = Some(severity.parse().map_err(|e| (setting.span, e))?);
                    self.enabled[index] = true;
                }
                Value::Map(options) => {
                    for option in options {
                        match (option.key.as_str(), &option.value.value) {
                            ("enabled", Value::Bool(on)) => self.enabled[index] = *on,
                            ("severity", Value::Str(severity)) => {
                                self.severity[index] =
                                    Some(severity.parse().map_err(|e| (option.value.span, e))?)
                            }
                            (key, _) => {
                                return Err((
                                    option.key_span,
                                    format!(
                                        "`{key}` is not a rule option here: use `enabled: true|false` or `severity: error|warning|note`"
                                    ),
                                ));
                            }
                        }
                    }
                }
                _ => {
                    return Err((
                        setting.span,
                        "a rule takes on, off, a severity, or {enabled, severity}".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `helm: {bin, charts: [{path, release, namespace, value-sets: [{name,
    /// values, set}]}]}`. Chart paths are relative to the config file's
    /// folder; values files to their chart folder.
    fn apply_helm(&mut self, value: &Node) -> Result<(), (yaml::Span, String)> {
        let entries = value.as_map().ok_or((
            value.span,
            "`helm` must be a mapping with `charts`".to_owned(),
        ))?;
        let base = self.config_dir.clone();
        for entry in entries {
            match entry.key.as_str() {
                "bin" => {
                    return Err((
                        entry.key_span,
                        program_refused("helm.bin", "--helm-bin", "KSLINT_HELM_BIN"),
                    ));
                }
                "charts" => {
                    let items = entry.value.as_seq().ok_or((
                        entry.value.span,
                        "`helm.charts` must be a list of {path, release, namespace, value-sets}"
                            .to_owned(),
                    ))?;
                    for item in items {
                        self.helm.charts.push(chart_config(item, &base)?);
                    }
                }
                other => {
                    return Err((
                        entry.key_span,
                        format!("unknown key `helm.{other}` (known: charts)"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn apply_pod_spec_paths(&mut self, value: &Node) -> Result<(), (yaml::Span, String)> {
        let items = value.as_seq().ok_or((
            value.span,
            "`pod-spec-paths` must be a list of {kind, path, apiVersion?}".to_owned(),
        ))?;
        for item in items {
            let kind = item
                .get("kind")
                .and_then(Node::as_str)
                .ok_or((item.span, "each pod-spec path needs a `kind`".to_owned()))?;
            let path = item.get("path").and_then(Node::as_str).ok_or((
                item.span,
                "each pod-spec path needs a `path` such as spec.runner.template.spec".to_owned(),
            ))?;
            let group = item
                .get("apiVersion")
                .and_then(Node::as_str)
                .map(|v| v.rsplit_once('/').map_or(v, |(g, _)| g).to_owned());
            self.pod_spec_paths.push(PodSpecPath {
                kind: kind.to_owned(),
                group,
                keys: path.split('.').map(str::to_owned).collect(),
            });
        }
        Ok(())
    }
}

/// Why a config file may not name a program: the file is part of the tree
/// under review, and a pull request could point it at a script of its own.
fn program_refused(key: &str, flag: &str, variable: &str) -> String {
    format!(
        "`{key}` is not read from a config file: the repository under review must not choose the programs kslint runs; pass {flag} PATH or set {variable}, or put the program on PATH"
    )
}

/// Every key the config file accepts.
pub const CONFIG_KEYS: &[&str] = &[
    "baseline",
    "fail-on",
    "include",
    "exclude",
    "max-file-size",
    "rules",
    "pod-spec-paths",
    "pod-security",
    "kubernetes-version",
    "helm",
    "kustomize",
    "custom-rules",
];

fn chart_config(item: &Node, base: &Path) -> Result<ChartConfig, (yaml::Span, String)> {
    let text = |key: &str| -> Result<Option<String>, (yaml::Span, String)> {
        match item.get(key) {
            None => Ok(None),
            Some(node) => node
                .as_str()
                .map(|s| Some(s.to_owned()))
                .ok_or((node.span, format!("`{key}` must be a string"))),
        }
    };
    let entries = item.as_map().ok_or((
        item.span,
        "each chart is a mapping with a `path`".to_owned(),
    ))?;
    for entry in entries {
        if !matches!(
            entry.key.as_str(),
            "path" | "release" | "namespace" | "value-sets"
        ) {
            return Err((
                entry.key_span,
                format!(
                    "unknown chart key `{}` (known: path, release, namespace, value-sets)",
                    entry.key
                ),
            ));
        }
    }
    let path = text("path")?.ok_or((
        item.span,
        "each chart needs a `path`, its folder".to_owned(),
    ))?;
    let path_span = item.get("path").map_or(item.span, |n| n.span);
    let dir = inside(base, base, &path).map_err(|e| (path_span, e))?;
    let release = text("release")?;
    if let Some(release) = &release
        && !is_release_name(release)
    {
        return Err((
            item.get("release").map_or(item.span, |n| n.span),
            format!(
                "{release:?} is not a valid Helm release name: lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 53 characters"
            ),
        ));
    }
    let namespace = text("namespace")?;
    if let Some(namespace) = &namespace
        && !is_namespace_name(namespace)
    {
        return Err((
            item.get("namespace").map_or(item.span, |n| n.span),
            format!(
                "{namespace:?} is not a valid namespace name: lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters"
            ),
        ));
    }
    let mut config = ChartConfig {
        path: dir.clone(),
        release,
        namespace,
        value_sets: Vec::new(),
    };
    let sets = match item.get("value-sets") {
        None => &[][..],
        Some(node) => node.as_seq().ok_or((
            node.span,
            "`value-sets` must be a list of {name, values, set}".to_owned(),
        ))?,
    };
    for set in sets {
        let name = set.get("name").and_then(Node::as_str).ok_or((
            set.span,
            "each value set needs a `name`, such as dev or prod".to_owned(),
        ))?;
        let mut files = Vec::new();
        if let Some(node) = set.get("values") {
            let names = strings(node)
                .map_err(|e| (node.span, e.replace("glob strings", "values file paths")))?;
            let spans: Vec<yaml::Span> = match node.as_seq() {
                Some(items) => items.iter().map(|i| i.span).collect(),
                None => vec![node.span],
            };
            for (name, span) in names.iter().zip(spans) {
                files.push(inside(base, &dir, name).map_err(|e| (span, e))?);
            }
        }
        let sets = match set.get("set") {
            Some(node) => strings(node)
                .map_err(|e| (node.span, e.replace("glob strings", "KEY=VALUE strings")))?,
            None => Vec::new(),
        };
        config.value_sets.push(ValueSet {
            name: name.to_owned(),
            files,
            set: sets,
        });
    }
    Ok(config)
}

/// `from/relative`, which must stay inside `root` (the config file's
/// folder) as text: no absolute path, no `..` above it. Links are checked
/// when the file is read. Without a leading `./`, so paths match the
/// run's names.
fn inside(root: &Path, from: &Path, relative: &str) -> Result<PathBuf, String> {
    use std::path::Component;
    let refused = || {
        format!(
            "{relative:?} is outside the folder of this config file; a config may only name files in its repository"
        )
    };
    if Path::new(relative).is_absolute() {
        return Err(refused());
    }
    let start: Vec<Component> = root
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let mut parts: Vec<Component> = from
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    if !parts.starts_with(&start) {
        return Err(refused());
    }
    for part in Path::new(relative).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.len() <= start.len() {
                    return Err(refused());
                }
                parts.pop();
            }
            Component::Normal(_) => parts.push(part),
            Component::RootDir | Component::Prefix(_) => return Err(refused()),
        }
    }
    let joined: PathBuf = parts.iter().collect();
    Ok(if joined.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        joined
    })
}

/// A Helm release name, as `helm template` accepts it (and so never a flag).
fn is_release_name(name: &str) -> bool {
    name.len() <= 53 && name.split('.').all(is_dns_label)
}

/// A Kubernetes namespace name (a DNS-1123 label).
fn is_namespace_name(name: &str) -> bool {
    name.len() <= 63 && is_dns_label(name)
}

fn is_dns_label(part: &str) -> bool {
    let bytes = part.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// `1.30`, `v1.30` or `1.30.2` to the minor version 30.
pub fn parse_kubernetes_version(text: &str) -> Result<u16, String> {
    let rest = text.trim().trim_start_matches('v');
    let minor = rest
        .strip_prefix("1.")
        .and_then(|r| r.split('.').next())
        .and_then(|m| m.parse::<u16>().ok());
    minor.ok_or_else(|| format!("invalid Kubernetes version {text:?}: expected 1.N such as 1.30"))
}

/// `error`, `warning`, `note` or `never`.
pub fn parse_fail_on(text: &str) -> Result<Option<Severity>, String> {
    match text {
        "never" | "none" => Ok(None),
        other => other.parse().map(Some).map_err(|_| {
            format!("unknown fail level {other:?}: expected error, warning, note or never")
        }),
    }
}

fn strings(value: &Node) -> Result<Vec<String>, String> {
    match &value.value {
        Value::Str(s) => Ok(vec![s.clone()]),
        Value::Seq(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or("expected a list of glob strings".to_owned())
            })
            .collect(),
        _ => Err("expected a list of glob strings".into()),
    }
}

/// The config file for a folder: the nearest `.kslint.yaml` upwards, up to
/// the repository's root (the folder holding `.git`); outside a repository,
/// only in the folder itself. A config above the repository (in a shared
/// parent such as `/tmp`) is someone else's.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let in_repository = start
        .ancestors()
        .any(|dir| std::fs::symlink_metadata(dir.join(".git")).is_ok());
    let mut folders = Vec::new();
    for dir in start.ancestors() {
        folders.push(dir);
        if !in_repository || std::fs::symlink_metadata(dir.join(".git")).is_ok() {
            break;
        }
    }
    folders
        .into_iter()
        .flat_map(|dir| CONFIG_NAMES.iter().map(move |name| dir.join(name)))
        .find(|p| std::fs::symlink_metadata(p).is_ok())
}

/// The largest config file read.
const MAX_CONFIG_SIZE: u64 = 1 << 20;

/// One way to render a chart: its values files and `--set` values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueSet {
    /// A name users see (`dev`, `prod`); empty for the chart's defaults.
    pub name: String,
    /// Values files, in order (later ones win), as paths to read.
    pub files: Vec<PathBuf>,
    /// `--set` expressions, in order.
    pub set: Vec<String>,
}

/// How to render one chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartConfig {
    /// The chart folder (the one holding `Chart.yaml`).
    pub path: PathBuf,
    /// The release name (`release-name` when unset, as `helm template`).
    pub release: Option<String>,
    /// The release namespace.
    pub namespace: Option<String>,
    /// Value sets; none means the chart's own values.
    pub value_sets: Vec<ValueSet>,
}

/// Helm options of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelmSettings {
    /// The `helm` binary to use instead of the one on PATH.
    pub bin: Option<PathBuf>,
    /// Per-chart options from the config file.
    pub charts: Vec<ChartConfig>,
    /// Values files given on the command line, for every chart.
    pub values: Vec<PathBuf>,
    /// `--set` values given on the command line, for every chart.
    pub set: Vec<String>,
}

impl HelmSettings {
    /// The options for a chart folder: its configured entry, or defaults.
    pub fn for_chart(&self, dir: &Path) -> ChartConfig {
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        };
        let mut config = self
            .charts
            .iter()
            .find(|c| same(&c.path, dir))
            .cloned()
            .unwrap_or_else(|| ChartConfig {
                path: dir.to_path_buf(),
                ..ChartConfig::default()
            });
        if config.value_sets.is_empty() {
            config.value_sets.push(ValueSet::default());
        }
        for set in &mut config.value_sets {
            set.files.extend(self.values.iter().cloned());
            set.set.extend(self.set.iter().cloned());
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_and_rules() {
        let mut settings = Settings::default();
        let text = "fail-on: error\nexclude: [vendor/**]\nrules:\n  image-not-pinned: on\n  net-raw: note\n  host-port: off\n";
        settings.apply_config_text("c.yaml", text).unwrap();
        assert_eq!(settings.fail_on, Some(Severity::Error));
        assert!(settings.is_enabled("image-not-pinned"));
        assert!(!settings.is_enabled("host-port"));
        let net_raw = Settings::rule_index("net-raw").unwrap();
        assert_eq!(settings.severity[net_raw], Some(Severity::Note));
    }

    #[test]
    fn kustomize_keys() {
        let mut settings = Settings {
            config_dir: PathBuf::from("repo"),
            ..Settings::default()
        };
        settings
            .apply_config_text("c.yaml", "kustomize: both\n")
            .unwrap();
        assert_eq!(settings.kustomize_mode, KustomizeMode::Both);
    }

    #[test]
    fn a_config_cannot_name_programs() {
        let mut settings = Settings::default();
        for text in ["kustomize-bin: ./evil.sh\n", "helm:\n  bin: ./evil.sh\n"] {
            let error = settings
                .apply_config_text("c.yaml", text)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("must not choose the programs kslint runs"),
                "{error}"
            );
        }
        assert_eq!(settings.kustomize_bin, None);
        assert_eq!(settings.helm.bin, None);
    }

    #[test]
    fn chart_paths_stay_inside_and_names_are_not_flags() {
        let config = |text: &str| {
            let mut settings = Settings {
                config_dir: PathBuf::from("repo"),
                ..Settings::default()
            };
            settings
                .apply_config_text("c.yaml", text)
                .map(|()| settings)
        };
        let ok = config(
            "helm:\n  charts:\n  - path: charts/shop\n    release: shop\n    namespace: shop\n    value-sets:\n    - {name: prod, values: [../common.yaml, prod.yaml]}\n",
        )
        .unwrap();
        let chart = &ok.helm.charts[0];
        assert_eq!(chart.path, PathBuf::from("repo/charts/shop"));
        assert_eq!(
            chart.value_sets[0].files,
            [
                PathBuf::from("repo/charts/common.yaml"),
                PathBuf::from("repo/charts/shop/prod.yaml")
            ]
        );
        for (text, at) in [
            ("helm:\n  charts:\n  - path: /etc\n", "c.yaml:3:11"),
            ("helm:\n  charts:\n  - path: ../..\n", "c.yaml:3:11"),
            (
                "helm:\n  charts:\n  - path: c\n    value-sets:\n    - {name: a, values: [/proc/self/environ]}\n",
                "c.yaml:5:26",
            ),
            (
                "helm:\n  charts:\n  - path: c\n    value-sets:\n    - {name: a, values: [../../../../etc/passwd]}\n",
                "c.yaml:5:26",
            ),
            (
                "helm:\n  charts:\n  - path: c\n    release: --post-renderer=./evil.sh\n",
                "c.yaml:4:14",
            ),
            (
                "helm:\n  charts:\n  - path: c\n    namespace: \"-n\"\n",
                "c.yaml:4:16",
            ),
        ] {
            let error = config(text).unwrap_err().to_string();
            assert!(error.starts_with(at), "{text}: {error}");
        }
    }

    #[test]
    fn unknown_keys_suggest_the_nearest() {
        let mut settings = Settings::default();
        let error = settings
            .apply_config_text("c.yaml", "exlude: [a]\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("c.yaml:1:1: unknown config key `exlude`; did you mean `exclude`?"),
            "{error}"
        );
        let error = settings
            .apply_config_text("c.yaml", "rules:\n  privileged-containers: off\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("c.yaml:2:3: unknown rule `privileged-containers`; did you mean `privileged-container`?"), "{error}");
    }
}
