//! The `kslint` binary: parse flags, run the linter, write reports, and
//! map the outcome to an exit code (0 clean, 1 findings, 2 usage or fatal).

use clap::Parser;
use kslint::baseline::{self, Baseline, Named};
use kslint::catalog::CATALOG;
use kslint::changes::{self, Change, ChangedLines, Revision};
use kslint::cli::{
    BaselineCommand, Cli, Command, FixArgs, GraphFormat, LintArgs, QueryFormat, RbacCommand,
    RulesFormat, WhoCanArgs,
};
use kslint::report::{self, Format, HumanOptions};
use kslint::settings::{self, Settings};
use kslint::source::Input;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

// glibc's malloc contends between rayon's threads on the many small
// allocations of YAML trees; mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Rules { format }) => {
            load_custom_rules();
            print(&rules_listing(format)).map(|()| ExitCode::SUCCESS)
        }
        Some(Command::Explain { rule }) => {
            load_custom_rules();
            explain(&rule)
        }
        Some(Command::Lint(args)) => lint(*args),
        Some(Command::WhoCan(args)) => who_can(args),
        Some(Command::Completions { shell }) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command, "kslint", &mut out);
            print(&String::from_utf8_lossy(&out)).map(|()| ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(anyhow::Error::from)
                .and_then(|()| print(&String::from_utf8_lossy(&out)))
                .map(|()| ExitCode::SUCCESS)
        }
        Some(Command::Rbac {
            command: RbacCommand::Graph { paths, format },
        }) => rbac_graph(paths, format),
        Some(Command::Server) => kslint::server::serve(|root, overlays| {
            let args = LintArgs {
                paths: vec![root.to_path_buf()],
                ..LintArgs::default()
            };
            let mut settings = resolve(&args)?;
            if let Some(named) = &settings.baseline_file {
                settings.baseline = Some(std::sync::Arc::new(
                    Baseline::load(named).map_err(anyhow::Error::msg)?,
                ));
            }
            settings.overlays = Some(overlays);
            Ok(kslint::runner::lint(&settings, || Ok(String::new()))?)
        })
        .map(|()| ExitCode::SUCCESS),
        Some(Command::Fix(args)) => fix(*args),
        Some(Command::Baseline { command }) => match command {
            BaselineCommand::Write(args) => baseline_write(*args),
            BaselineCommand::Prune(args) => baseline_prune(*args),
        },
        None => lint(cli.lint),
    };
    result.unwrap_or_else(|message| {
        // The message may quote the linted tree (a file name, a config
        // value): no control characters reach the terminal or CI log.
        eprintln!(
            "error: {}",
            kslint::text::clean_line(&format!("{message:#}"))
        );
        ExitCode::from(2)
    })
}

fn lint(mut args: LintArgs) -> anyhow::Result<ExitCode> {
    if std::mem::take(&mut args.fix) {
        return fix(FixArgs {
            print_diff: false,
            lint: args,
        });
    }
    let mut settings = resolve(&args)?;
    let outputs = pair_outputs(&args)?;
    if let Some(named) = &settings.baseline_file {
        settings.baseline = Some(std::sync::Arc::new(
            Baseline::load(named).map_err(anyhow::Error::msg)?,
        ));
    }
    // The repository of the first path linted (the current folder's for
    // standard input).
    let cwd = std::env::current_dir()?;
    let start = settings
        .inputs
        .iter()
        .find_map(|input| match input {
            Input::Path(path) => Some(cwd.join(path)),
            Input::Stdin => None,
        })
        .map_or_else(
            || cwd.clone(),
            |path| {
                if path.is_dir() {
                    path
                } else {
                    path.parent()
                        .map_or_else(|| cwd.clone(), std::path::Path::to_path_buf)
                }
            },
        );
    if let Some(diff) = &args.diff {
        let lines = ChangedLines::read_diff(diff, &changes::repository_root(&start))
            .map_err(anyhow::Error::msg)?;
        settings.changed = Some(std::sync::Arc::new(Change::Lines(lines)));
    }
    if let Some(rev) = &args.new_from_rev {
        let revision = Revision::open(&start, rev).map_err(anyhow::Error::msg)?;
        settings.changed = Some(std::sync::Arc::new(Change::Since(revision)));
    }
    let outcome = run(&args, &settings)?;
    for (format, target) in outputs {
        let to_terminal = target.is_none() && std::io::stdout().is_terminal();
        // NO_COLOR (any value) and --no-color win; CLICOLOR_FORCE (not 0)
        // colours a pipe too.
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let forced = std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0");
        let color = !args.no_color && !no_color && target.is_none() && (to_terminal || forced);
        let width = if to_terminal { terminal_width() } else { 100 };
        let options = HumanOptions { color, width };
        let mut text = match format {
            Format::Human if args.statistics => report::human::statistics(&outcome),
            Format::Human if args.quiet => report::human::render_with(&outcome, options, false),
            _ => report::render(format, &outcome, options),
        };
        match target {
            None => {
                // Machine formats are escaped where they are made; text for
                // people is fenced.
                if matches!(format, Format::Human | Format::Markdown) && in_github_actions() {
                    text = without_workflow_commands(&text);
                }
                print(&text)?
            }
            Some(path) => write_report(&path, &text)?,
        }
    }
    Ok(if outcome.fails(settings.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Lints as the settings say, with a progress note on a terminal.
fn run(args: &LintArgs, settings: &Settings) -> anyhow::Result<kslint::runner::Outcome> {
    // No progress note while the user may be typing into standard input.
    let reads_stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    let progress = (!args.quiet && !reads_stdin).then(Progress::start);
    let outcome = kslint::runner::lint(settings, || read_stdin(settings.max_file_size));
    drop(progress);
    Ok(outcome?)
}

/// `kslint fix`: the fixes applied (or shown as a diff), then a lint run
/// that reports what remains.
fn fix(args: FixArgs) -> anyhow::Result<ExitCode> {
    let settings = resolve(&args.lint)?;
    let tree = kslint::source::tree_of(&settings.inputs);
    let plan = kslint::fix::until_stable(
        &tree,
        args.lint.unsafe_fixes,
        settings.max_file_size,
        |overlays| {
            let mut round = settings.clone();
            round.overlays = overlays;
            run(&args.lint, &round)
        },
    )?;
    let clean = |text: &str| kslint::text::clean_line(text).into_owned();
    for why in &plan.skipped {
        eprintln!("kslint: not fixed: {}", clean(why));
    }
    if args.print_diff {
        let mut out = String::new();
        for file in &plan.files {
            out.push_str(&kslint::text::clean_block(&kslint::fix::unified_diff(file)));
        }
        print(&out)?;
        let fixes: usize = plan.files.iter().map(|f| f.fixes).sum();
        eprintln!(
            "kslint: {} in {} would be fixed",
            plural(fixes, "finding"),
            plural(plan.files.len(), "file")
        );
        return Ok(if plan.files.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let mut fixed = 0;
    let mut files = 0;
    for file in &plan.files {
        match kslint::fix::write(file) {
            Ok(()) => {
                fixed += file.fixes;
                files += 1;
            }
            Err(why) => eprintln!("kslint: not fixed: {}: {}", clean(&file.name), clean(&why)),
        }
    }
    let mut note = format!(
        "kslint: fixed {} in {}",
        plural(fixed, "finding"),
        plural(files, "file")
    );
    if plan.unsafe_left > 0 {
        note.push_str(&format!(
            "; {} more with --unsafe-fixes",
            plural(plan.unsafe_left, "finding")
        ));
    }
    eprintln!("{note}");
    let mut again = args.lint;
    again.fix = false;
    lint(again)
}

/// `kslint baseline write`: every current finding, recorded.
fn baseline_write(args: LintArgs) -> anyhow::Result<ExitCode> {
    let settings = resolve(&args)?;
    let named = settings
        .baseline_file
        .clone()
        .unwrap_or_else(|| Named::CommandLine(baseline::DEFAULT_FILE.into()));
    check_writable(&named)?;
    let outcome = run(&args, &settings)?;
    let dir = baseline::folder_of(named.path());
    let entries = baseline::entries_of(&outcome.diagnostics, &outcome.db, &dir);
    baseline::write(named.path(), &Baseline::to_json(&entries)).map_err(anyhow::Error::msg)?;
    let (errors, warnings, notes) = kslint::group::counts(&outcome.diagnostics);
    let name = kslint::source::display_name(named.path());
    let mut message = format!(
        "Recorded {} in {name}.",
        plural(errors + warnings + notes, "finding")
    );
    if matches!(named, Named::CommandLine(_)) && baseline::check_config_path(&name).is_ok() {
        message.push_str(&format!(
            " Lint with `--baseline {name}`, or put `baseline: {name}` in .kslint.yaml, to report only new findings."
        ));
    } else if matches!(named, Named::CommandLine(_)) {
        message.push_str(&format!(
            " Lint with `--baseline {name}` to report only new findings."
        ));
    }
    print(&format!("{}\n", kslint::text::clean_line(&message))).map(|()| ExitCode::SUCCESS)
}

/// `kslint baseline prune`: the entries no finding matches, removed.
fn baseline_prune(args: LintArgs) -> anyhow::Result<ExitCode> {
    let settings = resolve(&args)?;
    let Some(named) = settings.baseline_file.clone() else {
        anyhow::bail!(
            "no baseline to prune: name one with --baseline FILE or `baseline:` in .kslint.yaml"
        );
    };
    check_writable(&named)?;
    let recorded = Baseline::load(&named).map_err(anyhow::Error::msg)?;
    let outcome = run(&args, &settings)?;
    let current = baseline::entries_of(&outcome.diagnostics, &outcome.db, &recorded.dir);
    let mut matched = vec![false; recorded.entries.len()];
    for i in baseline::matches(&current, &recorded.entries)
        .into_iter()
        .flatten()
    {
        matched[i] = true;
    }
    let stale = baseline::stale(&recorded, &matched, &outcome.db);
    let kept: Vec<baseline::Entry> = recorded
        .entries
        .iter()
        .zip(&stale)
        .filter(|(_, stale)| !**stale)
        .map(|(e, _)| e.clone())
        .collect();
    let removed = recorded.entries.len() - kept.len();
    if removed > 0 {
        baseline::write(named.path(), &Baseline::to_json(&kept)).map_err(anyhow::Error::msg)?;
    }
    let message = format!(
        "Removed {} that no finding matches any more from {}; {} left.",
        match removed {
            1 => "1 entry".to_owned(),
            n => format!("{n} entries"),
        },
        recorded.name,
        kept.len()
    );
    print(&format!("{}\n", kslint::text::clean_line(&message))).map(|()| ExitCode::SUCCESS)
}

/// A baseline a config names is written only inside the config's
/// repository, never through a link out of it.
fn check_writable(named: &Named) -> anyhow::Result<()> {
    if let Named::Config { path, config } = named {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        kslint::tree::Tree::around(config)
            .resolve(folder)
            .map_err(|why| {
                anyhow::anyhow!(
                    "kslint does not write the baseline {} that {} names: {}",
                    kslint::source::display_name(path),
                    kslint::source::display_name(config),
                    why.why()
                )
            })?;
    }
    Ok(())
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Standard input, at most `limit` bytes (it may be a rendered chart of
/// any size): the same limit as a file's.
fn read_stdin(limit: u64) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin().take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "standard input is over the limit of {limit} bytes (raise it with --max-file-size)"
        )));
    }
    Ok(kslint::source::text_of(bytes).0)
}

/// Whether this runs as a GitHub Actions step, whose log reads lines
/// starting with `::` as commands.
fn in_github_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// Human output for a GitHub Actions log: between `::stop-commands::` and
/// its end marker, a random token no linted file can guess, the runner
/// takes no line as a command, whatever names the tree holds.
fn without_workflow_commands(text: &str) -> String {
    let token = random_token();
    format!("::stop-commands::{token}\n{text}::{token}::\n")
}

/// 128 random bits as hex, from the operating system's randomness (through
/// the standard library's randomly keyed hasher).
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut token = String::from("kslint-");
    for _ in 0..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(std::process::id().into());
        token.push_str(&format!("{:016x}", hasher.finish()));
    }
    token
}

/// Writes a report file without following a symbolic link: a link in the
/// linted tree (a pull request can commit `kslint.sarif -> ~/.bashrc`) is
/// refused, and the text goes to a new file beside the target that then
/// replaces it, so a reader never sees half a report.
fn write_report(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let shown = kslint::text::clean_line(&path.display().to_string()).into_owned();
    let refuse = |why: &str| anyhow::anyhow!("cannot write {shown}: {why}");
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refuse(
            "it is a symbolic link, and kslint does not write through links (remove it first)",
        ));
    }
    // A relative path's folders are the tree's: none may be a link.
    if path.is_relative() {
        let mut folder = std::path::PathBuf::new();
        for part in path.parent().into_iter().flat_map(|p| p.components()) {
            folder.push(part);
            if std::fs::symlink_metadata(&folder).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(refuse(&format!(
                    "its folder {} is a symbolic link, and kslint does not write through links",
                    folder.display()
                )));
            }
        }
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".kslint-report-")
        .tempfile_in(folder)
        .map_err(|e| refuse(&e.to_string()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| refuse(&e.to_string()))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = file
        .as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644));
    file.persist(path)
        .map_err(|e| refuse(&e.error.to_string()))?;
    Ok(())
}

/// Pairs formats with outputs: outputs take the last formats in order, and
/// at most one format is left for stdout.
fn pair_outputs(args: &LintArgs) -> anyhow::Result<Vec<(Format, Option<std::path::PathBuf>)>> {
    let formats = if args.format.is_empty() {
        vec![Format::Human]
    } else {
        args.format.clone()
    };
    if args.output.len() > formats.len() {
        anyhow::bail!("more --output than --format values: give a --format for each --output");
    }
    let to_stdout = formats.len() - args.output.len();
    if to_stdout > 1 {
        anyhow::bail!("several formats need an --output each (all but one, which goes to stdout)");
    }
    let mut pairs = Vec::new();
    for (i, format) in formats.into_iter().enumerate() {
        let target = i
            .checked_sub(to_stdout)
            .map(|o| args.output[o].clone())
            .filter(|p| p.as_os_str() != "-");
        pairs.push((format, target));
    }
    Ok(pairs)
}

fn resolve(args: &LintArgs) -> anyhow::Result<Settings> {
    let mut settings = Settings::default();
    if !args.no_config {
        match &args.config {
            Some(path) => settings.apply_config(path)?,
            None => {
                let found = std::env::current_dir()
                    .ok()
                    .and_then(|dir| settings::find_config(&dir));
                if let Some(config) = found {
                    settings.apply_found_config(&config)?;
                }
            }
        }
    }
    if !args.paths.is_empty() {
        settings.inputs = args
            .paths
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::Path(p.clone())
                }
            })
            .collect();
    }
    settings
        .filters
        .include
        .extend(args.include.iter().cloned());
    settings
        .filters
        .exclude
        .extend(args.exclude.iter().cloned());
    if args.no_baseline {
        settings.baseline_file = None;
    }
    if let Some(path) = &args.baseline {
        settings.baseline_file = Some(Named::CommandLine(path.clone()));
    }
    if let Some(level) = &args.fail_on {
        settings.fail_on = settings::parse_fail_on(level).map_err(anyhow::Error::msg)?;
    }
    for id in &args.enable {
        settings.enabled[Settings::rule_index(id)?] = true;
    }
    for id in &args.disable {
        settings.enabled[Settings::rule_index(id)?] = false;
    }
    if let Some(size) = args.max_file_size {
        settings.max_file_size = size;
    }
    if let Some(version) = &args.kubernetes_version {
        settings.kubernetes_minor = settings::parse_kubernetes_version(version)
            .map_err(|e| anyhow::anyhow!("--kubernetes-version: {e}"))?;
    }
    if let Some(policy) = &args.pod_security {
        settings.pod_security = Some(
            policy
                .parse()
                .map_err(|e| anyhow::anyhow!("--pod-security: {e}"))?,
        );
    }
    if let Some(bin) = &args.helm_bin {
        settings.helm.bin = Some(bin.clone());
    }
    settings
        .helm
        .values
        .extend(args.helm_values.iter().cloned());
    settings.helm.set.extend(args.helm_set.iter().cloned());
    if let Some(mode) = &args.kustomize {
        settings.kustomize_mode = mode
            .parse()
            .map_err(|e| anyhow::anyhow!("--kustomize: {e}"))?;
    }
    if let Some(bin) = &args.kustomize_bin {
        settings.kustomize_bin = Some(bin.clone());
    }
    settings.tools.allow_unsandboxed = args.allow_unsandboxed_tools;
    if let Some(seconds) = args.tool_timeout {
        settings.tools.limits.time = std::time::Duration::from_secs(seconds);
    }
    Ok(settings)
}

/// A note on stderr, for runs longer than a second on a terminal, that
/// kslint is still at work; cleared when the run ends.
struct Progress {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start() -> Progress {
        use std::sync::atomic::Ordering;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let done = done.clone();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let mut shown = false;
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    let elapsed = started.elapsed();
                    if elapsed.as_secs() >= 1 {
                        eprint!("\rkslint: linting… {}s", elapsed.as_secs());
                        shown = true;
                    }
                }
                if shown {
                    eprint!("\r\x1b[2K");
                }
            })
        });
        Progress { done, thread }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads the manifests under `paths` with no rule on: the facts are all a
/// query needs.
fn read_facts(paths: Vec<std::path::PathBuf>) -> anyhow::Result<kslint::runner::Outcome> {
    let args = LintArgs {
        paths,
        ..LintArgs::default()
    };
    let mut settings = resolve(&args)?;
    settings.enabled.iter_mut().for_each(|on| *on = false);
    Ok(kslint::runner::lint(&settings, || {
        read_stdin(settings.max_file_size)
    })?)
}

fn who_can(args: WhoCanArgs) -> anyhow::Result<ExitCode> {
    use kslint::rbac::query;
    let outcome = read_facts(args.paths)?;
    let question = query::Question::new(
        &args.verb,
        &args.resource,
        args.api_group.as_deref(),
        args.namespace.as_deref(),
    );
    let accesses = query::who_can(&outcome.index, &question);
    let text = match args.format {
        QueryFormat::Human => {
            let text = query::render_human(&question, &accesses, &|f, s| outcome.place(f, s));
            if in_github_actions() {
                without_workflow_commands(&text)
            } else {
                text
            }
        }
        QueryFormat::Json => kslint::text::escape_log_commands_json(query::render_json(
            &question,
            &accesses,
            &|f, s| outcome.place(f, s),
        )),
    };
    print(&text).map(|()| ExitCode::SUCCESS)
}

fn rbac_graph(paths: Vec<std::path::PathBuf>, format: GraphFormat) -> anyhow::Result<ExitCode> {
    let outcome = read_facts(paths)?;
    let graph = kslint::rbac::graph::Graph::of(&outcome.index);
    let text = match format {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
    };
    print(&text).map(|()| ExitCode::SUCCESS)
}

fn explain(id: &str) -> anyhow::Result<ExitCode> {
    let meta = match kslint::catalog::meta(id) {
        Some(meta) => meta,
        None => &CATALOG[Settings::rule_index(id)?],
    };
    print(meta.doc).map(|()| ExitCode::SUCCESS)
}

/// Makes the custom rules of the config found from the current folder
/// known to `kslint rules` and `kslint explain`; a config that does not
/// load only costs its custom rules (a lint run reports why).
fn load_custom_rules() {
    let found = std::env::current_dir()
        .ok()
        .and_then(|dir| settings::find_config(&dir));
    if let Some(config) = found
        && let Err(e) = Settings::default().apply_found_config(&config)
    {
        eprintln!("warning: custom rules not listed: {e}");
    }
}

fn rules_listing(format: RulesFormat) -> String {
    kslint::catalog::listing(format == RulesFormat::Markdown, format == RulesFormat::Json)
}

/// Writes to stdout; a closed pipe (`kslint | head`) is not an error.
fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| anyhow::anyhow!("cannot write to stdout: {e}")),
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}
