//! The tree kslint lints is a stranger's pull request. Each test here builds
//! an attack in a temporary repository and checks the promise of
//! SECURITY.md that it breaks against: no program from the tree runs,
//! nothing outside the tree is read or shown, other programs run walled
//! off and bounded, output cannot forge CI commands or drive a terminal,
//! the work stays bounded, and nothing is skipped silently.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Text that exists only outside the tree (in files beside the repository
/// and in kslint's environment): it must never appear in any output.
const SECRET: &str = "kslint-test-secret-7f3a9c";

const PRIVILEGED_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers:\n    - name: web\n      image: nginx:1.27\n      securityContext:\n        privileged: true\n";

/// A repository (`outer/repo`, with `.git`) and a place beside it
/// (`outer`) holding what an attacker wants to reach.
struct Scene {
    _dir: tempfile::TempDir,
    outer: PathBuf,
    repo: PathBuf,
}

impl Scene {
    fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let outer = dir.path().canonicalize().unwrap();
        let repo = outer.join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::write(outer.join("secret.txt"), format!("token={SECRET}\n")).unwrap();
        // A manifest outside the tree, with the secret as its object name.
        std::fs::write(
            outer.join("secret.yaml"),
            PRIVILEGED_POD.replace(
                "name: web\n  namespace",
                &format!("name: {SECRET}\n  namespace"),
            ),
        )
        .unwrap();
        Scene {
            _dir: dir,
            outer,
            repo,
        }
    }

    /// Writes a file inside the repository.
    fn write(&self, path: &str, text: &str) -> PathBuf {
        let path = self.repo.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Makes a symbolic link inside the repository.
    fn link(&self, path: &str, target: impl AsRef<Path>) {
        let path = self.repo.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }

    /// A script (outside the repository unless `path` says otherwise).
    fn script(&self, path: &Path, text: &str) -> PathBuf {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_path_buf()
    }

    /// Where a planted script leaves its mark if it ever runs.
    fn marker(&self) -> PathBuf {
        self.outer.join("pwned")
    }

    /// A script that leaves the mark.
    fn evil_script(&self, path: &Path) -> PathBuf {
        self.script(
            path,
            &format!("#!/bin/sh\necho ran > '{}'\n", self.marker().display()),
        )
    }
}

/// kslint in `cwd` with a secret in its environment, no colour.
fn kslint(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kslint"));
    command
        .args(args)
        .current_dir(cwd)
        .env("KSLINT_TEST_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// Every output format of one run, and the run's output. The formats go to
/// files outside the repository.
fn all_formats(cwd: &Path, extra: &[&str], env: &[(&str, &str)]) -> (String, Output) {
    let out = tempfile::tempdir().unwrap();
    let formats = ["json", "sarif", "github", "junit", "gitlab", "markdown"];
    let mut args: Vec<String> = vec!["--format".into(), "human".into()];
    for format in formats {
        args.extend(["--format".into(), format.into()]);
    }
    for format in formats {
        args.extend([
            "--output".into(),
            out.path().join(format).display().to_string(),
        ]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = kslint(cwd, &args, env);
    let mut all = String::from_utf8_lossy(&output.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&output.stderr));
    for format in formats {
        all.push_str(&std::fs::read_to_string(out.path().join(format)).unwrap_or_default());
    }
    (all, output)
}

/// The findings of a JSON run: (rule, file, message).
fn findings(output: &Output) -> Vec<(String, String, String)> {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_owned(),
                d["file"].as_str().unwrap().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn json_run(
    cwd: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Output, Vec<(String, String, String)>) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let output = kslint(cwd, &all, env);
    let found = findings(&output);
    (output, found)
}

fn assert_no_secret(all: &str) {
    assert!(!all.contains(SECRET), "the secret leaked:\n{all}");
}

/// Runs a command and watches its peak resident memory (VmHWM) until it
/// ends: (output, time, peak bytes).
/// A wall-clock bound the attacks blow through by far (minutes, or until
/// killed) that a debug build still meets on a busy two-core CI machine
/// running the other tests beside it.
const GENEROUS: Duration = Duration::from_secs(30);

fn measured(command: &mut Command) -> (Output, Duration, u64) {
    use std::io::Read;
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stderr.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let mut peak = 0u64;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            && let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb * 1024);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let output = Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    (output, started.elapsed(), peak)
}

fn can_wall_off() -> bool {
    kslint::sandbox::unavailable().is_none()
}

// --- 1. No program from the tree runs ------------------------------------

#[test]
fn config_cannot_choose_programs() {
    let scene = Scene::new();
    scene.evil_script(&scene.repo.join("evil.sh"));
    scene.write(
        "app/kustomization.yaml",
        "resources: [pod.yaml]\ngenerators: []\n",
    );
    scene.write("app/pod.yaml", PRIVILEGED_POD);
    scene.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    scene.write("chart/templates/pod.yaml", PRIVILEGED_POD);
    for config in ["kustomize-bin: ./evil.sh\n", "helm:\n  bin: ./evil.sh\n"] {
        scene.write(".kslint.yaml", config);
        let output = kslint(&scene.repo, &["."], &[]);
        assert_eq!(output.status.code(), Some(2), "{config}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("must not choose the programs kslint runs"),
            "{stderr}"
        );
        assert!(!scene.marker().exists(), "{config}: the planted script ran");
    }
    // A bare program name on the command line is looked up on PATH, never
    // in the current folder; a path into the tree is refused.
    scene.write(".kslint.yaml", "fail-on: never\n");
    scene.evil_script(&scene.repo.join("kubectl"));
    scene.evil_script(&scene.repo.join("helm"));
    for args in [
        ["--kustomize-bin", "kubectl", "."],
        ["--helm-bin", "helm", "."],
        ["--kustomize-bin", "./kubectl", "."],
        ["--helm-bin", "./helm", "."],
    ] {
        let output = kslint(&scene.repo, &args, &[("PATH", "/usr/bin:/bin")]);
        assert!(output.status.code().is_some());
        assert!(
            !scene.marker().exists(),
            "{args:?}: a program from the tree ran"
        );
    }
    let (_, found) = json_run(&scene.repo, &["--helm-bin", "./helm", "."], &[]);
    assert!(
        found
            .iter()
            .any(|(rule, _, m)| rule == "helm-chart-not-rendered"
                && m.contains("inside the repository under review")),
        "{found:?}"
    );
    std::fs::remove_file(scene.repo.join("kubectl")).unwrap();
    std::fs::remove_file(scene.repo.join("helm")).unwrap();
    // A helm the pull request puts on PATH (an absolute entry into the
    // tree) is skipped, and the note says why.

    std::fs::remove_file(scene.repo.join(".kslint.yaml")).unwrap();
    let bin = scene.repo.join("bin");
    scene.evil_script(&bin.join("helm"));
    scene.evil_script(&bin.join("kubectl"));
    scene.evil_script(&bin.join("kustomize"));
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let (_, found) = json_run(&scene.repo, &["."], &[("PATH", &path)]);
    assert!(!scene.marker().exists(), "a program from the tree ran");
    assert!(
        found
            .iter()
            .any(|(rule, _, message)| rule == "helm-chart-not-rendered"
                && message.contains("inside the repository under review")),
        "{found:?}"
    );
}

#[test]
fn release_names_never_become_flags() {
    let scene = Scene::new();
    scene.evil_script(&scene.repo.join("evil.sh"));
    scene.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    scene.write("chart/templates/pod.yaml", PRIVILEGED_POD);
    scene.write("chart/values-prod.yaml", "a: 1\n");
    // A trusted helm (the user's) that records how it was called.
    let argv = scene.outer.join("argv.txt");
    let helm = scene.script(
        &scene.outer.join("tools/helm"),
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{}'; done\nprintf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: x}}\\n'\n",
            argv.display()
        ),
    );
    let helm = helm.to_str().unwrap();
    for (config, at) in [
        (
            "helm:\n  charts:\n  - path: chart\n    release: --post-renderer=./evil.sh\n",
            ".kslint.yaml:4:14",
        ),
        (
            "helm:\n  charts:\n  - path: chart\n    namespace: \"--post-renderer=./evil.sh\"\n",
            ".kslint.yaml:4:16",
        ),
        (
            "helm:\n  charts:\n  - path: chart\n    value-sets:\n    - {name: a, values: [/proc/self/environ]}\n",
            ".kslint.yaml:5:26",
        ),
        (
            "helm:\n  charts:\n  - path: chart\n    value-sets:\n    - {name: a, values: [../../secret.txt]}\n",
            ".kslint.yaml:5:26",
        ),
    ] {
        scene.write(".kslint.yaml", config);
        let output = kslint(&scene.repo, &["--helm-bin", helm, "."], &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{config}: {stderr}");
        assert!(stderr.contains(at), "{config}: {stderr}");
        assert!(!argv.exists(), "helm ran with {config}");
    }
    // A valid release: every value joined to its flag, positionals after `--`.
    scene.write(
        ".kslint.yaml",
        "helm:\n  charts:\n  - path: chart\n    release: shop\n    namespace: shop\n    value-sets:\n    - {name: prod, values: [values-prod.yaml], set: [\"a=--b\"]}\n",
    );
    let output = kslint(&scene.repo, &["--helm-bin", helm, "."], &[]);
    assert!(output.status.code().is_some());
    let recorded = std::fs::read_to_string(&argv).unwrap_or_default();
    let args: Vec<&str> = recorded.lines().collect();
    let dashes = args.iter().position(|a| *a == "--");
    let positionals = dashes.map(|i| &args[i + 1..]).unwrap_or_default();
    assert!(
        positionals.len() == 2 && positionals[0] == "shop" && positionals[1].ends_with("/chart"),
        "{args:?}"
    );
    for arg in &args[1..dashes.unwrap()] {
        assert!(
            arg.starts_with("--") && (arg.contains('=') || *arg == "--include-crds"),
            "{args:?}"
        );
    }
    assert!(args.contains(&"--set=a=--b"), "{args:?}");
    assert!(!scene.marker().exists());
}

// --- 2. Nothing outside the tree is read or shown ------------------------

#[test]
fn planted_config_above_the_repository_is_ignored() {
    let scene = Scene::new();
    scene.write("pod.yaml", PRIVILEGED_POD);
    // Planted in a shared parent folder (such as /tmp).
    std::fs::write(
        scene.outer.join(".kslint.yaml"),
        "rules:\n  privileged-container: off\n",
    )
    .unwrap();
    let (_, found) = json_run(&scene.repo, &["."], &[]);
    assert!(
        found
            .iter()
            .any(|(rule, ..)| rule == "privileged-container"),
        "the planted config applied: {found:?}"
    );
    // A repository config that is a link out of the repository is refused.
    scene.link(".kslint.yaml", scene.outer.join(".kslint.yaml"));
    let output = kslint(&scene.repo, &["."], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("leads outside the repository"), "{stderr}");
}

#[test]
fn links_out_of_the_tree_are_never_read() {
    let scene = Scene::new();
    scene.write("ok/pod.yaml", PRIVILEGED_POD);
    scene.link("leak.yaml", scene.outer.join("secret.yaml"));
    scene.link("relative-leak.yaml", "../secret.yaml");
    scene.link("env.yaml", "/proc/self/environ");
    scene.link("x/kustomization.yaml", "/proc/self/environ");
    scene.link("sys", "/sys");
    std::fs::create_dir(scene.outer.join("elsewhere")).unwrap();
    std::fs::copy(
        scene.outer.join("secret.yaml"),
        scene.outer.join("elsewhere/pod.yaml"),
    )
    .unwrap();
    scene.link("folder-link", scene.outer.join("elsewhere"));
    // A kustomization that names a folder outside the repository by `..`.
    scene.write(
        "escape/kustomization.yaml",
        "resources:\n  - ../../elsewhere\n",
    );
    // One that builds, with a patch that is a link out.
    scene.write(
        "k/kustomization.yaml",
        "resources: [pod.yaml]\npatches:\n  - path: patch.yaml\n",
    );
    scene.write(
        "k/pod.yaml",
        &PRIVILEGED_POD.replace("name: web\n  namespace", "name: k\n  namespace"),
    );
    scene.link("k/patch.yaml", scene.outer.join("secret.yaml"));
    let started = Instant::now();
    let (all, output) = all_formats(&scene.repo, &["."], &[]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the walk took {:?}",
        started.elapsed()
    );
    assert_no_secret(&all);
    assert_eq!(output.status.code(), Some(1));
    let (_, found) = json_run(&scene.repo, &["."], &[]);
    // Each refused link is a located diagnostic.
    for name in [
        "leak.yaml",
        "relative-leak.yaml",
        "env.yaml",
        "sys",
        "folder-link",
        "x/kustomization.yaml",
    ] {
        assert!(
            found
                .iter()
                .any(|(rule, file, message)| rule == "unreadable-file"
                    && file == name
                    && (message.contains("outside the repository")
                        || message.contains("kernel file system"))),
            "{name}: {found:?}"
        );
    }
    for dir in ["escape", "k"] {
        assert!(
            found
                .iter()
                .any(|(rule, file, _)| rule == "kustomize-build-failed" && file.starts_with(dir)),
            "{dir}: {found:?}"
        );
    }
    // The rest of the tree is linted.
    assert!(
        found
            .iter()
            .any(|(rule, file, _)| rule == "privileged-container" && file == "ok/pod.yaml"),
        "{found:?}"
    );
}

#[test]
fn source_headers_stay_inside_the_chart() {
    let scene = Scene::new();
    scene.write(
        "app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    scene.write("app/templates/pod.yaml", "# a template\n");
    // The outside file looks like the template kslint would trace into.
    std::fs::write(
        scene.outer.join("outside.yaml"),
        format!("{PRIVILEGED_POD}# {SECRET}\n"),
    )
    .unwrap();
    let stream = format!("---\n# Source: app/templates/../../../outside.yaml\n{PRIVILEGED_POD}");
    scene.write("rendered.yaml", &stream);
    let (all, output) = all_formats(&scene.repo, &["rendered.yaml"], &[]);
    assert_no_secret(&all);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("rendered.yaml"), "{all}");
}

#[test]
fn helm_cannot_read_through_links() {
    let Some(helm) = common::tool("helm") else {
        return;
    };
    let scene = Scene::new();
    scene.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    scene.write(
        "chart/templates/leak.yaml",
        "{{ fail (.Files.Get \"leak.txt\") }}\n",
    );
    scene.link("chart/leak.txt", scene.outer.join("secret.txt"));
    scene.write(
        "env/Chart.yaml",
        "apiVersion: v2\nname: env\nversion: 0.1.0\n",
    );
    scene.write(
        "env/templates/leak.yaml",
        "{{ fail (.Files.Get \"environ\") }}\n",
    );
    scene.link("env/environ", "/proc/self/environ");
    let helm = helm.to_str().unwrap();
    let (all, _) = all_formats(&scene.repo, &["--helm-bin", helm, "."], &[]);
    assert_no_secret(&all);
    let (_, found) = json_run(&scene.repo, &["--helm-bin", helm, "."], &[]);
    for (chart, link) in [("chart", "chart/leak.txt"), ("env", "env/environ")] {
        assert!(
            found
                .iter()
                .any(|(rule, file, message)| rule == "helm-chart-not-rendered"
                    && file == &format!("{chart}/Chart.yaml")
                    && message.contains(link)),
            "{chart}: {found:?}"
        );
    }
}

#[test]
fn chart_links_are_followed_before_helm_runs() {
    let scene = Scene::new();
    scene.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    scene.write("chart/templates/x.yaml", "kind: ConfigMap\n");
    // A link to a folder inside the tree, which holds a link out of it:
    // helm follows both.
    scene.link("chart/files", "../shared");
    scene.link("shared/leak", scene.outer.join("secret.txt"));
    let helm = scene.evil_script(&scene.outer.join("tools/helm"));
    let (_, found) = json_run(
        &scene.repo,
        &["--helm-bin", helm.to_str().unwrap(), "."],
        &[],
    );
    assert!(!scene.marker().exists(), "the chart was handed to helm");
    assert!(
        found
            .iter()
            .any(|(rule, file, m)| rule == "helm-chart-not-rendered"
                && file == "chart/Chart.yaml"
                && m.contains("leak")),
        "{found:?}"
    );
}

#[test]
fn the_git_folder_is_never_read() {
    let scene = Scene::new();
    // Where actions/checkout keeps its token.
    std::fs::write(
        scene.repo.join(".git/config"),
        format!("[http]\n\textraheader = AUTHORIZATION: basic {SECRET}\n"),
    )
    .unwrap();
    scene.link("config.yaml", ".git/config");
    scene.write(
        "gen/kustomization.yaml",
        "configMapGenerator:\n- name: c\n  files: [c=../.git/config]\n",
    );
    scene.link("gen2/config", "../.git/config");
    scene.write(
        "gen2/kustomization.yaml",
        "configMapGenerator:\n- name: c\n  files: [config]\n",
    );
    let (all, _) = all_formats(&scene.repo, &["."], &[]);
    assert_no_secret(&all);
    let (_, found) = json_run(&scene.repo, &["."], &[]);
    assert!(
        found.iter().any(|(rule, file, m)| rule == "unreadable-file"
            && file == "config.yaml"
            && m.contains(".git folder")),
        "{found:?}"
    );
    for dir in ["gen/", "gen2/"] {
        assert!(
            found
                .iter()
                .any(|(rule, file, _)| rule == "kustomize-build-failed" && file.starts_with(dir)),
            "{dir}: {found:?}"
        );
    }
}

#[test]
fn what_the_user_names_is_bounded_too() {
    let scene = Scene::new();
    scene.write("pod.yaml", PRIVILEGED_POD);
    // Standard input obeys the file size limit.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kslint"))
        .args(["--format", "json", "--max-file-size", "1000", "-"])
        .current_dir(&scene.repo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(PRIVILEGED_POD.repeat(100).as_bytes());
    }
    let output = child.wait_with_output().unwrap();
    let found = findings(&output);
    assert!(
        found.iter().any(|(rule, file, m)| rule == "unreadable-file"
            && file == "-"
            && m.contains("over the limit")),
        "{found:?}"
    );
    // A config that is no regular file is refused at once.
    let output = kslint(&scene.repo, &["--config", "/dev/zero", "."], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a regular file"));
    // The tree's config may lower the size limit, never raise it.
    scene.write(".kslint.yaml", "max-file-size: 100000000000\n");
    let output = kslint(&scene.repo, &["."], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("can only lower"));
}

// --- 3. Other programs run walled off ------------------------------------

/// A fake helm (the user's own) that reports what it sees to `report`.
fn spy_helm(scene: &Scene, report: &Path) -> PathBuf {
    scene.script(
        &scene.outer.join("tools/helm"),
        &format!(
            "#!/bin/sh\n\
             net=0\n\
             while IFS= read -r line; do case \"$line\" in *:*) net=$((net+1));; esac; done < /proc/net/dev\n\
             {{ echo \"secret=$KSLINT_TEST_SECRET\"; echo \"path=$PATH\"; echo \"home=$HOME\"; echo \"kubeconfig=$KUBECONFIG\"; echo \"interfaces=$net\"; echo \"pid=$$\"; }} > '{}'\n\
             printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: x}}\\n'\n",
            report.display()
        ),
    )
}

#[test]
fn tools_run_walled_off() {
    if !can_wall_off() {
        eprintln!("skipped: this machine cannot make namespaces");
        return;
    }
    let scene = Scene::new();
    scene.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    scene.write("chart/templates/x.yaml", "kind: ConfigMap\n");
    let report = scene.outer.join("seen.txt");
    let helm = spy_helm(&scene, &report);
    let output = kslint(
        &scene.repo,
        &["--helm-bin", helm.to_str().unwrap(), "."],
        &[],
    );
    let seen = std::fs::read_to_string(&report).unwrap_or_else(|_| {
        panic!(
            "helm did not run: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert!(seen.contains("secret=\n"), "{seen}");
    assert!(seen.contains("kubeconfig=/dev/null\n"), "{seen}");
    assert!(
        !seen.contains(&format!("home={}", std::env::var("HOME").unwrap())),
        "{seen}"
    );
    // Its own network namespace holds loopback alone, and its own process
    // namespace starts with it.
    assert!(seen.contains("interfaces=1\n"), "{seen}");
    assert!(seen.contains("pid=1\n"), "{seen}");
}

#[test]
fn tools_are_stopped_at_their_limits() {
    if !can_wall_off() {
        eprintln!("skipped: this machine cannot make namespaces");
        return;
    }
    let scene = Scene::new();
    scene.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    scene.write("chart/templates/x.yaml", "kind: ConfigMap\n");
    let lint_within = |helm: &Path, seconds: &str| {
        let started = Instant::now();
        let (_, found) = json_run(
            &scene.repo,
            &[
                "--tool-timeout",
                seconds,
                "--helm-bin",
                helm.to_str().unwrap(),
                ".",
            ],
            &[],
        );
        (found, started.elapsed())
    };
    let lint = |helm: &Path| lint_within(helm, "2");
    // Time: a helm that never ends, with a child that outlives it.
    let slow = scene.script(
        &scene.outer.join("slow/helm"),
        "#!/bin/sh\n/bin/sleep 987 &\nexec /bin/sleep 986\n",
    );
    let (found, took) = lint(&slow);
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(
        found
            .iter()
            .any(|(_, _, m)| m.contains("did not finish within 2 seconds")),
        "{found:?}"
    );
    std::thread::sleep(Duration::from_millis(200));
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("sleep 987") || c.contains("sleep 986"))
        .collect();
    assert!(left.is_empty(), "left running: {left:?}");
    // Output: a helm that never stops printing.
    let loud = scene.script(
        &scene.outer.join("loud/helm"),
        "#!/bin/sh\nexec /usr/bin/yes\n",
    );
    let (found, took) = lint(&loud);
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(
        found
            .iter()
            .any(|(_, _, m)| m.contains("printed more than 64 MB")),
        "{found:?}"
    );
    // Memory: a helm that takes 3 GB.
    if let Some(python) = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .iter()
        .find(|p| Path::new(p).exists())
    {
        let greedy = scene.script(
            &scene.outer.join("greedy/helm"),
            &format!("#!{python}\nimport time\nx = [b'a' * (64 << 20) for _ in range(48)]\ntime.sleep(60)\n"),
        );
        // Time enough to reach the memory limit on a busy machine, where
        // filling 1 GB can take longer than the 2 seconds above.
        let (found, took) = lint_within(&greedy, "10");
        assert!(took < Duration::from_secs(15), "{took:?}");
        assert!(
            found
                .iter()
                .any(|(_, _, m)| m.contains("used more than 1024 MB of memory")),
            "{found:?}"
        );
    }
}

#[test]
fn no_sandbox_no_tool() {
    let scene = Scene::new();
    scene.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    scene.write("chart/templates/x.yaml", "kind: ConfigMap\n");
    let helm = scene.evil_script(&scene.outer.join("tools/helm"));
    let helm = helm.to_str().unwrap();
    let no_walls = [("KSLINT_NO_NAMESPACES", "1")];
    let (output, found) = json_run(&scene.repo, &["--helm-bin", helm, "."], &no_walls);
    assert!(!scene.marker().exists(), "helm ran without walls");
    assert_eq!(
        output.status.code(),
        Some(0),
        "a note does not fail the run"
    );
    assert!(
        found
            .iter()
            .any(|(rule, _, m)| rule == "helm-chart-not-rendered"
                && m.contains("only walled off")
                && m.contains("KSLINT_NO_NAMESPACES")),
        "{found:?}"
    );
    // The user may allow it for a tree they trust.
    json_run(
        &scene.repo,
        &["--allow-unsandboxed-tools", "--helm-bin", helm, "."],
        &no_walls,
    );
    assert!(
        scene.marker().exists(),
        "--allow-unsandboxed-tools did not run helm"
    );
}

// --- 4. Output cannot be turned against its reader -------------------------

/// The lines a GitHub runner takes as workflow commands: it splits output
/// at `\n` and `\r`, trims leading white space, and skips everything
/// between `::stop-commands::TOKEN` and `::TOKEN::`.
fn workflow_commands(log: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut stopped: Option<String> = None;
    for line in log.split(['\n', '\r']) {
        let line = line.trim_start();
        if let Some(token) = &stopped {
            if line == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        if let Some(token) = line.strip_prefix("::stop-commands::") {
            stopped = Some(token.to_owned());
            continue;
        }
        if line.starts_with("::") {
            commands.push(line.to_owned());
        }
    }
    commands
}

fn forged_tree(scene: &Scene) {
    // A file name, a namespace and an object name that try to break out.
    let name = "evil\n::error file=x.yaml,line=1::forged\n::add-mask::x.yaml";
    std::fs::write(scene.repo.join(name), PRIVILEGED_POD).unwrap();
    scene.write(
        "ns.yaml",
        &PRIVILEGED_POD.replace(
            "namespace: shop",
            "namespace: \"ns\\r::warning file=y.yaml::forged\\r\"",
        ),
    );
    scene.write(
        "name.yaml",
        &PRIVILEGED_POD.replace(
            "name: web\n  namespace",
            "name: \"a\\n::stop-commands::x\\n::error::forged\"\n  namespace",
        ),
    );
    // A value that a finding's help quotes (the capability to remove).
    scene.write(
        "cap.yaml",
        &PRIVILEGED_POD.replace(
            "privileged: true",
            "capabilities: {add: [\"SYS_ADMIN\\n::error file=x.yaml,line=1::forged\"]}",
        ),
    );
    scene.write(
        "legacy.yaml",
        &PRIVILEGED_POD.replace(
            "name: web\n  namespace",
            "name: \"x ##[error]forged ##vso[task.complete]\"\n  namespace",
        ),
    );
}

#[test]
fn no_forged_workflow_commands() {
    let scene = Scene::new();
    forged_tree(&scene);
    let legit = |command: &str| {
        (command.starts_with("::error file=")
            || command.starts_with("::warning file=")
            || command.starts_with("::notice file="))
            && command.contains(",title=kslint ")
    };
    // The action's lint step, with every log format.
    for format in ["human", "junit", "json", "markdown", "gitlab"] {
        let work = tempfile::tempdir().unwrap();
        let output = Command::new("bash")
            .arg(common::root().join("action/run.sh"))
            .current_dir(&scene.repo)
            .env("KSLINT_BIN", env!("CARGO_BIN_EXE_kslint"))
            .env("INPUT_PATHS", ".")
            .env("INPUT_FORMAT", format)
            .env("INPUT_SARIF_FILE", work.path().join("kslint.sarif"))
            .env("GITHUB_STEP_SUMMARY", work.path().join("summary.md"))
            .env("GITHUB_OUTPUT", work.path().join("outputs"))
            .env("GITHUB_ACTIONS", "true")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let mut log = String::from_utf8_lossy(&output.stdout).into_owned();
        log.push_str(&String::from_utf8_lossy(&output.stderr));
        let commands = workflow_commands(&log);
        assert!(!commands.is_empty(), "{format}: no annotations\n{log}");
        for command in &commands {
            assert!(
                legit(command),
                "{format}: a forged command: {command}\n{log}"
            );
        }
        // Each annotation is one whole command: nothing forged rides along.
        assert!(
            !log.contains("\n::error file=x.yaml,line=1::forged"),
            "{log}"
        );
    }
    // kslint run directly in a workflow step: its human output is fenced.
    let output = kslint(&scene.repo, &["."], &[("GITHUB_ACTIONS", "true")]);
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(workflow_commands(&log).is_empty(), "{log}");
    assert!(log.starts_with("::stop-commands::kslint-"), "{log}");
    // GitHub's legacy form and Azure's are read anywhere in a line:
    // machine formats write `##` so that only parsers read it, and errors
    // break it.
    for format in ["json", "sarif", "gitlab", "junit"] {
        let output = kslint(
            &scene.repo,
            &["--format", format, "."],
            &[("GITHUB_ACTIONS", "true")],
        );
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            !text.contains("##[") && !text.contains("##vso["),
            "{format}: {text}"
        );
        assert!(text.contains("forged"), "{format}: {text}");
    }
    scene.write(".kslint.yaml", "rules:\n  \"##[error]forged\": off\n");
    let output = kslint(&scene.repo, &["."], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("forged") && !stderr.contains("##["),
        "{stderr}"
    );
}

#[test]
fn queries_print_names_safely() {
    let scene = Scene::new();
    scene.write(
        "rbac.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: \"b\\n::error file=x::forged\\e[2J ##[warning]legacy\"\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: \"r\\e]52;c;aGk=\\a\"}\nsubjects:\n- {kind: User, name: \"alice\\n::add-mask::x\"}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: \"r\\e]52;c;aGk=\\a\"\nrules:\n- {apiGroups: [\"\"], resources: [secrets], verbs: [get]}\n",
    );
    for args in [
        &["who-can", "get", "secrets", "."][..],
        &["rbac", "graph", "."][..],
        &["rbac", "graph", "--format", "mermaid", "."][..],
    ] {
        let output = kslint(&scene.repo, args, &[]);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("alice"), "{args:?}: {text}");
        assert!(!text.contains(['\x1b', '\x07']), "{args:?}: {text}");
        assert!(workflow_commands(&text).is_empty(), "{args:?}: {text}");
        assert!(!text.contains("##["), "{args:?}: {text}");
    }
}

#[test]
fn terminal_escapes_are_shown_not_sent() {
    let scene = Scene::new();
    // An OSC 52 clipboard write and a screen clear in an object name, a
    // raw escape in a file's text (a syntax error shows its line), C1
    // controls and a direction override.
    scene.write(
        "pod.yaml",
        &PRIVILEGED_POD.replace(
            "name: web\n  namespace",
            "name: \"x\\e]52;c;aGVsbG8=\\a\\e[2J\\u009b31m\\u202e\\u061c\\U000E0041\"\n  namespace",
        ),
    );
    let raw = format!(
        "{PRIVILEGED_POD}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: \x1b[2J\x1b]0;title\x07 ]\n"
    );
    scene.write("raw.yaml", &raw);
    std::fs::write(scene.repo.join("esc\x1b[31m.yaml"), PRIVILEGED_POD).unwrap();
    for format in ["human", "github", "junit", "markdown"] {
        let output = kslint(&scene.repo, &["--format", format, "."], &[]);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("raw.yaml"), "{format}: {text}");
        for bad in [
            '\x1b',
            '\x07',
            '\u{9b}',
            '\u{202e}',
            '\u{61c}',
            '\u{e0041}',
            '\r',
        ] {
            assert!(
                !text.contains(bad),
                "{format}: {bad:?} reached the output:\n{text}"
            );
        }
        assert!(text.contains('␛'), "{format}: {text}");
    }
}

#[test]
fn reports_are_never_written_through_links() {
    let scene = Scene::new();
    scene.write("pod.yaml", PRIVILEGED_POD);
    let victim = scene.outer.join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    scene.link("kslint.sarif", &victim);
    std::fs::create_dir(scene.outer.join("elsewhere")).unwrap();
    scene.link("reports", scene.outer.join("elsewhere"));
    for target in ["kslint.sarif", "reports/kslint.sarif"] {
        let output = kslint(
            &scene.repo,
            &["--format", "sarif", "--output", target, "."],
            &[],
        );
        assert_eq!(output.status.code(), Some(2), "{target}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("symbolic link"), "{stderr}");
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!scene.outer.join("elsewhere/kslint.sarif").exists());
    // A regular file is replaced as usual.
    std::fs::write(scene.repo.join("old.sarif"), "old").unwrap();
    let output = kslint(
        &scene.repo,
        &["--format", "sarif", "--output", "old.sarif", "."],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        std::fs::read_to_string(scene.repo.join("old.sarif"))
            .unwrap()
            .contains("\"runs\"")
    );
}

#[test]
fn junit_and_markdown_hold_any_name() {
    let scene = Scene::new();
    for (i, name) in [
        "\\uFFFE\\uFFFF",
        "`` <img src=x onerror=alert(1)> ``",
        "![x](https://evil.example/x.png)",
        "[click](https://evil.example/)",
        "<script>alert(1)</script>",
        "a|b\\n| c |",
        "see https://evil.example/x and www.evil.example or admin@evil.example",
    ]
    .iter()
    .enumerate()
    {
        scene.write(
            &format!("pod{i}.yaml"),
            &PRIVILEGED_POD.replace(
                "name: web\n  namespace",
                &format!("name: \"{name}\"\n  namespace"),
            ),
        );
    }
    std::fs::write(scene.repo.join("``![y](https:x)``.yaml"), PRIVILEGED_POD).unwrap();
    let junit = kslint(&scene.repo, &["--format", "junit", "."], &[]);
    let xml = String::from_utf8(junit.stdout).unwrap();
    roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let markdown = kslint(&scene.repo, &["--format", "markdown", "."], &[]);
    let text = String::from_utf8(markdown.stdout).unwrap();
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let mut rows = 0;
    for event in Parser::new_ext(&text, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => {
                // Only the rule links kslint writes itself.
                if let Event::Start(Tag::Link { dest_url, .. }) = &event {
                    assert!(
                        dest_url.starts_with("https://github.com/kslint/"),
                        "{dest_url}\n{text}"
                    );
                } else {
                    panic!("an image from a name:\n{text}");
                }
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                panic!("HTML from a name: {html}\n{text}")
            }
            Event::Start(Tag::TableRow) => rows += 1,
            _ => {}
        }
    }
    // Bare addresses, which GitHub would link, are written as references.
    for bare in ["https://evil", "www.evil", "admin@evil"] {
        assert!(!text.contains(bare), "{bare}: {text}");
    }
    // One row per finding: no name broke the table.
    let findings = text
        .lines()
        .filter(|l| l.starts_with("| 🔴") || l.starts_with("| 🟠") || l.starts_with("| 🔵"))
        .count();
    assert_eq!(rows, findings, "{text}");
}

#[test]
fn long_lines_are_cut() {
    let scene = Scene::new();
    // A one-line JSON manifest wider than the renderer's column limit.
    let pad = "x".repeat(70_000);
    scene.write(
        "wide.json",
        &format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {{\"name\": \"p\", \"annotations\": {{\"a\": \"{pad}\"}}}}, \"spec\": {{\"containers\": [{{\"name\": \"c\", \"image\": \"nginx:1.27\", \"securityContext\": {{\"privileged\": true}}}}]}}}}"
        ),
    );
    // A 5 MB line, once per finding before.
    let long = "y".repeat(5 << 20);
    scene.write("long.yaml", &format!("{PRIVILEGED_POD}# {long}\n"));
    let output = kslint(&scene.repo, &["."], &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout.len() < 100_000,
        "{} bytes of output",
        output.stdout.len()
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("wide.json:1:"), "{text}");
    assert!(text.contains("\"privileged\": true"), "{text}");
}

// --- 5. Bounded work --------------------------------------------------------

#[test]
fn wide_mappings_cost_what_they_hold() {
    let scene = Scene::new();
    // 150,000 keys in 1.8 MB, far under the file size limit: each key was
    // once compared with every key before it (30 s in a release build).
    let keys: String = (0..150_000).map(|i| format!("  k{i}: v\n")).collect();
    scene.write(
        "wide.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: wide}}\ndata:\n{keys}"),
    );
    // The same key 50,000 times, behind a merge key.
    let repeated: String = (0..50_000).map(|i| format!("  k: v{i}\n")).collect();
    scene.write(
        "repeated.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: repeated}}\ndata:\n  <<: {{a: b}}\n{repeated}"
        ),
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_kslint"));
    command
        .args(["--format", "json", "--fail-on", "never", "."])
        .current_dir(&scene.repo);
    let (output, took, _) = measured(&mut command);
    assert!(took < GENEROUS, "{took:?}");
    let found = findings(&output);
    assert!(
        found
            .iter()
            .any(|(rule, file, _)| rule == "yaml-duplicate-key" && file.ends_with("repeated.yaml")),
        "{found:?}"
    );
}

/// A YAML document whose aliases copy about `10^levels` nodes.
fn alias_bomb(levels: usize) -> String {
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nx0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..levels {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("x{i}: &a{i} [{refs}]\n"));
    }
    text
}

#[test]
fn bombs_are_bounded() {
    let scene = Scene::new();
    // Alias bombs: one file of many documents just under the old
    // per-document budget, and many such files.
    // Each document copies about 12,000 nodes: under any budget alone.
    let doc = alias_bomb(4);
    scene.write("aliases/one.yaml", &vec![doc.clone(); 200].join("---\n"));
    for i in 0..20 {
        scene.write(
            &format!("aliases/many-{i}.yaml"),
            &vec![doc.clone(); 8].join("---\n"),
        );
    }
    // Diamond kustomizations: each level includes the next two.
    let depth = 30;
    for i in 0..depth {
        for side in ["a", "b"] {
            let text = if i + 1 == depth {
                "resources: [cm.yaml]\n".to_owned()
            } else {
                format!(
                    "resources: [../a{}, ../b{}]\nnameSuffix: -{side}\n",
                    i + 1,
                    i + 1
                )
            };
            scene.write(&format!("diamond/{side}{i}/kustomization.yaml"), &text);
        }
    }
    for side in ["a", "b"] {
        scene.write(
            &format!("diamond/{side}{}/cm.yaml", depth - 1),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{side}}}\n"),
        );
    }
    // Replacements that copy a map into four places inside itself, ten
    // times over.
    let keys: String = (0..50).map(|i| format!("  k{i}: v\n")).collect();
    scene.write(
        "replace/cm.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: src}}\ndata:\n{keys}  a: {{}}\n  b: {{}}\n  c: {{}}\n  d: {{}}\n"),
    );
    let replacement = "- source: {kind: ConfigMap, name: src, fieldPath: data}\n  targets:\n  - select: {kind: ConfigMap, name: src}\n    fieldPaths: [data.a, data.b, data.c, data.d]\n    options: {create: true}\n";
    scene.write(
        "replace/kustomization.yaml",
        &format!(
            "resources: [cm.yaml]\nreplacements:\n{}",
            replacement.repeat(10)
        ),
    );
    // Patch targets with a large pattern, over many objects.
    let pattern: Vec<String> = (0..3000).map(|i| format!("name-{i}")).collect();
    let pattern = pattern.join("|");
    let mut objects = String::new();
    for i in 0..200 {
        objects.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\n"
        ));
    }
    scene.write("regex/objects.yaml", &objects);
    scene.write(
        "regex/kustomization.yaml",
        &format!(
            "resources: [objects.yaml]\npatches:\n- target: {{name: \"{pattern}\"}}\n  patch: '[{{\"op\": \"add\", \"path\": \"/data\", \"value\": {{}}}}]'\n- target: {{name: \"{pattern}|cm-.*\"}}\n  patch: '[{{\"op\": \"add\", \"path\": \"/data\", \"value\": {{}}}}]'\n"
        ),
    );
    // Two links per level to the next folder: the walk doubles per level
    // unless each real folder is walked once.
    for i in 0..16 {
        std::fs::create_dir_all(scene.repo.join(format!("fan/d{i}"))).unwrap();
    }
    for i in 0..15 {
        scene.link(&format!("fan/d{i}/a"), format!("../d{}", i + 1));
        scene.link(&format!("fan/d{i}/b"), format!("../d{}", i + 1));
    }
    scene.write(
        "fan/d15/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fan}\n",
    );
    // Vars that copy a 1.5 MB value 50,000 times into one argument.
    scene.write(
        "vars/objects.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata: {{big: {}}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - {{name: c, image: c, args: [\"{}\"]}}\n",
            "y".repeat(1_500_000),
            "$(BIG)".repeat(50_000)
        ),
    );
    scene.write(
        "vars/kustomization.yaml",
        "resources: [objects.yaml]\nvars:\n- name: BIG\n  objref: {kind: ConfigMap, name: big, apiVersion: v1}\n  fieldref: {fieldpath: data.big}\n",
    );
    // Configurations files with thousands of field specs, each matched
    // against every object.
    let specs: String = (0..5000)
        .map(|i| format!("- {{kind: ConfigMap, path: data/k{i}}}\n"))
        .collect();
    scene.write("configs/params.yaml", &format!("varReference:\n{specs}"));
    scene.write(
        "configs/kustomization.yaml",
        "resources: [cm.yaml]\nconfigurations: [params.yaml]\n",
    );
    scene.write(
        "configs/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    // A generator file over the size limit.

    scene.write(
        "big/kustomization.yaml",
        "configMapGenerator:\n- name: big\n  files: [big.txt]\n",
    );
    scene.write("big/big.txt", &"z".repeat(3 << 20));

    let mut command = Command::new(env!("CARGO_BIN_EXE_kslint"));
    command
        .args(["--format", "json", "--max-file-size", "2000000", "."])
        .current_dir(&scene.repo);
    let (output, took, peak) = measured(&mut command);
    assert!(took < GENEROUS, "{took:?}");
    // About 520 MB today: the run keeps each file its builds parsed until
    // the file's own lint; the bombs unbounded would take gigabytes.
    assert!(peak < 640 << 20, "peak memory {} MB", peak >> 20);
    let found = findings(&output);
    let has = |rule: &str, file: &str, words: &str| {
        assert!(
            found
                .iter()
                .any(|(r, f, m)| r == rule && f.starts_with(file) && m.contains(words)),
            "{rule} {file} {words}: {found:?}"
        );
    };
    // The file's own budget, or the run's if other files spent it first.
    has("yaml-syntax", "aliases/one.yaml", "aliases in this");
    has(
        "yaml-syntax",
        "aliases/many-",
        "aliases in this run's files expand",
    );
    has("kustomize-build-failed", "diamond/", "more than");
    has(
        "kustomize-build-failed",
        "replace/",
        "more than 2000000 nodes",
    );
    has("kustomize-build-failed", "big/", "over the limit");
    has("kustomize-build-failed", "vars/", "more than 2000000 nodes");
    has(
        "kustomize-build-failed",
        "configs/",
        "more than 1000 field specs",
    );
}

#[test]
fn the_fallback_tool_is_bounded_too() {
    let Some(kubectl) = common::tool("kubectl") else {
        return;
    };
    if !can_wall_off() {
        eprintln!("skipped: this machine cannot make namespaces");
        return;
    }
    let scene = Scene::new();
    // `generators` sends it to kubectl; its replacements would take gigabytes.
    let keys: String = (0..200).map(|i| format!("  k{i}: v\n")).collect();
    scene.write(
        "replace/cm.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: src}}\ndata:\n{keys}"),
    );
    let replacement = "- source: {kind: ConfigMap, name: src, fieldPath: data}\n  targets:\n  - select: {kind: ConfigMap, name: src}\n    fieldPaths: [data.a, data.b, data.c, data.d]\n    options: {create: true}\n";
    scene.write(
        "replace/kustomization.yaml",
        &format!(
            "resources: [cm.yaml]\ngenerators: []\nreplacements:\n{}",
            replacement.repeat(12)
        ),
    );
    let started = Instant::now();
    let (_, found) = json_run(
        &scene.repo,
        &[
            "--kustomize-bin",
            kubectl.to_str().unwrap(),
            "--tool-timeout",
            "30",
            ".",
        ],
        &[],
    );
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    assert!(
        found
            .iter()
            .any(|(rule, _, m)| rule == "kustomize-build-failed"
                && (m.contains("used more than")
                    || m.contains("did not finish")
                    || m.contains("printed more than"))),
        "{found:?}"
    );
}

// --- 6. Nothing is skipped silently ---------------------------------------

#[test]
fn look_alike_names_are_both_linted() {
    let scene = Scene::new();
    for byte in [0xff_u8, 0xfe] {
        let bytes = [b'a', byte, b'.', b'y', b'a', b'm', b'l'];
        let name = std::ffi::OsStr::from_bytes(&bytes);
        std::fs::write(scene.repo.join(name), PRIVILEGED_POD).unwrap();
    }
    let (output, found) = json_run(&scene.repo, &["."], &[]);
    assert_eq!(output.status.code(), Some(1));
    let mut files: Vec<&str> = found
        .iter()
        .filter(|(rule, ..)| rule == "privileged-container")
        .map(|(_, file, _)| file.as_str())
        .collect();
    files.sort();
    assert_eq!(files, ["a\\xFE.yaml", "a\\xFF.yaml"]);
}

#[test]
fn cr_line_ends_count_lines() {
    let scene = Scene::new();
    scene.write("mac.yaml", &PRIVILEGED_POD.replace('\n', "\r"));
    let (_, found) = json_run(&scene.repo, &["."], &[]);
    let output = kslint(&scene.repo, &["--format", "json", "."], &[]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let privileged = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "privileged-container")
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(privileged["line"], 11);
    assert_eq!(privileged["column"], 21);
}

#[test]
fn absolute_component_roots_are_refused() {
    let scene = Scene::new();
    scene.write(
        "comp/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
    );
    let absolute = scene.repo.join("comp");
    scene.write(
        "app/kustomization.yaml",
        &format!(
            "resources: [pod.yaml]\ncomponents:\n  - {}\n",
            absolute.display()
        ),
    );
    scene.write("app/pod.yaml", PRIVILEGED_POD);
    let (_, found) = json_run(&scene.repo, &["app"], &[]);
    assert!(
        found
            .iter()
            .any(|(rule, file, m)| rule == "kustomize-build-failed"
                && file == "app/kustomization.yaml"
                && m.contains("absolute")),
        "{found:?}"
    );
}

// --- All at once ---------------------------------------------------------------

#[test]
fn everything_at_once() {
    let scene = Scene::new();
    scene.write(
        "good/deploy.yaml",
        &PRIVILEGED_POD.replace("name: web\n  namespace", "name: good\n  namespace"),
    );
    // Links out, a planted config above, forged names, bombs.
    scene.link("leak.yaml", scene.outer.join("secret.yaml"));
    scene.link("env.yaml", "/proc/self/environ");
    scene.link("x/kustomization.yaml", "/proc/self/environ");
    scene.link("sys", "/sys");
    std::fs::write(
        scene.outer.join(".kslint.yaml"),
        "rules:\n  privileged-container: off\n",
    )
    .unwrap();
    forged_tree(&scene);
    scene.write("aliases/one.yaml", &vec![alias_bomb(4); 200].join("---\n"));
    for i in 0..20 {
        for side in ["a", "b"] {
            let text = if i == 19 {
                "resources: [cm.yaml]\n".to_owned()
            } else {
                format!(
                    "resources: [../a{}, ../b{}]\nnameSuffix: -{side}\n",
                    i + 1,
                    i + 1
                )
            };
            scene.write(&format!("diamond/{side}{i}/kustomization.yaml"), &text);
        }
    }
    for side in ["a", "b"] {
        scene.write(
            &format!("diamond/{side}19/cm.yaml"),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{side}}}\n"),
        );
    }
    scene.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    scene.write(
        "chart/templates/leak.yaml",
        "{{ fail (.Files.Get \"leak.txt\") }}\n",
    );
    scene.link("chart/leak.txt", scene.outer.join("secret.txt"));
    let pad = "x".repeat(70_000);
    scene.write("wide.json", &format!("{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"w\", \"annotations\": {{\"a\": \"{pad}\", \"b\": yes}}}}}}"));
    scene.write("mac.yaml", &PRIVILEGED_POD.replace('\n', "\r"));

    let mut command = Command::new(env!("CARGO_BIN_EXE_kslint"));
    command
        .args(["--format", "json", "."])
        .current_dir(&scene.repo)
        .env("KSLINT_TEST_SECRET", SECRET);
    let (output, took, peak) = measured(&mut command);
    eprintln!("everything at once: {took:?}, peak {} MB", peak >> 20);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(took < GENEROUS, "{took:?}");
    assert!(peak < 500 << 20, "peak memory {} MB", peak >> 20);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_no_secret(&text);
    let found = findings(&output);
    for (rule, file) in [
        ("unreadable-file", "leak.yaml"),
        ("unreadable-file", "env.yaml"),
        ("unreadable-file", "sys"),
        ("unreadable-file", "x/kustomization.yaml"),
        ("yaml-syntax", "aliases/one.yaml"),
        ("kustomize-build-failed", "diamond/"),
        ("privileged-container", "good/deploy.yaml"),
        ("privileged-container", "mac.yaml"),
        ("privileged-container", "evil"),
    ] {
        assert!(
            found
                .iter()
                .any(|(r, f, _)| r == rule && f.starts_with(file)),
            "{rule} {file}: {found:?}"
        );
    }
    if common::tool("helm").is_some() {
        assert!(
            found
                .iter()
                .any(|(r, f, _)| r == "helm-chart-not-rendered" && f == "chart/Chart.yaml"),
            "{found:?}"
        );
    }
}

#[test]
fn patches_that_break_objects_never_crash() {
    let scene = Scene::new();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: [1]\n";
    for (dir, kustomization) in [
        // The whole object replaced by a number, then a namespace set.
        (
            "whole",
            "resources: [cm.yaml]\nnamespace: x\npatches:\n- target: {kind: ConfigMap}\n  patch: '[{\"op\": \"replace\", \"path\": \"\", \"value\": 5}]'\n",
        ),
        // Its metadata replaced by a number, then a prefix added.
        (
            "metadata",
            "resources: [cm.yaml]\nnamePrefix: p-\npatches:\n- target: {kind: ConfigMap}\n  patch: '[{\"op\": \"replace\", \"path\": \"/metadata\", \"value\": 5}]'\n",
        ),
        // Replicas set on a spec that is a list.
        (
            "replicas",
            "resources: [deploy.yaml]\nreplicas:\n- {name: d, count: 2}\n",
        ),
    ] {
        scene.write(&format!("{dir}/kustomization.yaml"), kustomization);
        scene.write(&format!("{dir}/cm.yaml"), cm);
        scene.write(&format!("{dir}/deploy.yaml"), deploy);
    }
    scene.write("ok.yaml", PRIVILEGED_POD);
    let (output, found) = json_run(&scene.repo, &["."], &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // No panic: the build that cannot go on says so; the others lint what
    // the patches made.
    assert!(
        found
            .iter()
            .any(|(rule, file, _)| rule == "kustomize-build-failed" && file.starts_with("whole/")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(rule, file, _)| rule == "privileged-container" && file == "ok.yaml")
    );
}

/// A pod of 5,000 bare containers: 15,000 safe fixes in one file. Planning
/// them and diffing the result stay linear-logarithmic; an overlap check of
/// every fix against every other, or an unbounded minimal diff, took
/// minutes.
#[test]
fn thousands_of_fixes_in_one_file_are_planned_and_shown_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: wide}\nspec:\n  automountServiceAccountToken: false\n  containers:\n",
    );
    for i in 0..5000 {
        text.push_str(&format!("  - name: c{i}\n    image: nginx:1.27\n"));
    }
    std::fs::write(dir.path().join("wide.yaml"), &text).unwrap();
    let started = Instant::now();
    let run = kslint(
        dir.path(),
        &["fix", "--print-diff", "--no-config", "wide.yaml"],
        &[],
    );
    let took = started.elapsed();
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(
        said.contains("15000 findings in 1 file would be fixed"),
        "{said}"
    );
    assert!(took < Duration::from_secs(40), "took {took:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("wide.yaml")).unwrap(),
        text
    );
}

/// A Kustomize base holding a pod of 5,000 bare containers: each of its
/// 30,000 findings gets a fix made in the base. Tracing them parses the
/// base once and finds each container by binary search; parsing the base
/// and scanning every node once per finding took two minutes.
#[test]
fn fixes_for_thousands_of_findings_in_a_base_are_traced_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: wide}\nspec:\n  automountServiceAccountToken: false\n  containers:\n",
    );
    for i in 0..5000 {
        text.push_str(&format!("  - name: c{i}\n    image: nginx:1.27\n"));
    }
    std::fs::create_dir_all(dir.path().join("base")).unwrap();
    std::fs::create_dir_all(dir.path().join("overlay")).unwrap();
    std::fs::write(dir.path().join("base/pod.yaml"), &text).unwrap();
    std::fs::write(
        dir.path().join("base/kustomization.yaml"),
        "resources: [pod.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("overlay/kustomization.yaml"),
        "namePrefix: x-\nresources: [../base]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let started = Instant::now();
    let run = kslint(
        dir.path(),
        &["--no-config", "--format", "json", "overlay"],
        &[],
    );
    let took = started.elapsed();
    let found: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let fixed = found["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["fix"]["edits"][0]["file"] == "base/pod.yaml")
        .count();
    assert_eq!(fixed, 30000);
    assert!(took < Duration::from_secs(40), "took {took:?}");
}

/// A policy from the tree (or a custom rule from its config) whose
/// expressions would run for hours: each evaluation is bounded before it
/// starts, the run's budget stops the rest, and everything else is still
/// reported.
#[test]
fn expensive_policies_are_refused_and_the_run_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let policy = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: slow
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: ["*"]
        apiVersions: ["*"]
        operations: ["*"]
        resources: ["*"]
  validations:
    - expression: "lists.range(1000000).all(x, lists.range(1000000).all(y, x != y || true))"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: slow
spec:
  policyName: slow
  validationActions: [Deny]
"#;
    let config = format!(
        "custom-rules:\n  - id: slow-rule\n    summary: Slow.\n    match: {{kinds: ['*']}}\n    validations:\n      - expression: \"{}\"\n",
        "lists.range(1500).all(x, lists.range(300).all(y, x + y >= 0))"
    );
    let mut objects = String::new();
    for i in 0..400 {
        objects.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers: [{{name: c, image: nginx:1.27, securityContext: {{privileged: true}}}}]\n"
        ));
    }
    std::fs::write(dir.path().join("policy.yaml"), policy).unwrap();
    std::fs::write(dir.path().join(".kslint.yaml"), config).unwrap();
    std::fs::write(dir.path().join("pods.yaml"), objects).unwrap();
    let started = Instant::now();
    let (output, found) = json_run(dir.path(), &["--helm-bin", "/nonexistent/helm", "."], &[]);
    let took = started.elapsed();
    assert!(took < GENEROUS, "{took:?}");
    assert_eq!(output.status.code(), Some(1));
    let errors: Vec<_> = found
        .iter()
        .filter(|(rule, ..)| rule == "policy-expression-error")
        .collect();
    assert!(
        errors.iter().any(|(_, _, m)| m.contains("over the limit")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|(_, _, m)| m.contains("budget is spent")),
        "{errors:#?}"
    );
    let privileged = found
        .iter()
        .filter(|(rule, ..)| rule == "privileged-container")
        .count();
    assert_eq!(privileged, 400, "other findings are not lost");
    // kslint's own limits are no verdict of the API server's.
    assert!(
        found
            .iter()
            .all(|(rule, ..)| rule != "admission-policy-denied"),
        "{found:#?}"
    );
}

/// Expressions too long or too deeply nested to parse safely are refused
/// at the line that holds them, never crash the run.
#[test]
fn oversized_and_deeply_nested_expressions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("{}true", "true && ".repeat(2_000));
    let deep = format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000));
    let config = format!(
        "custom-rules:\n  - id: long\n    summary: Long.\n    match: {{kinds: ['*']}}\n    validations:\n      - expression: \"{long}\"\n  - id: deep\n    summary: Deep.\n    match: {{kinds: ['*']}}\n    validations:\n      - expression: \"{deep} == 1\"\n"
    );
    std::fs::write(dir.path().join(".kslint.yaml"), config).unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx:1.27}]\n",
    )
    .unwrap();
    let (_, found) = json_run(
        dir.path(),
        &["--helm-bin", "/nonexistent/helm", "pod.yaml"],
        &[],
    );
    let errors: Vec<_> = found
        .iter()
        .filter(|(rule, ..)| rule == "policy-expression-error")
        .collect();
    assert_eq!(errors.len(), 2, "{found:#?}");
    assert!(
        errors.iter().any(|(_, _, m)| m.contains("bytes long")),
        "{errors:#?}"
    );
}
