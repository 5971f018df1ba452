//! The binary end to end: exit codes, stdin, config, subcommands, and
//! hostile input that must never crash a run or hide other findings.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn kslint(dir: &Path, args: &[&str]) -> Output {
    common::kslint(dir, args)
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

fn rules_fired(report: &serde_json::Value) -> Vec<(String, String)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_owned(),
                d["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const PRIVILEGED: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext: {privileged: true}\n";

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), PRIVILEGED).unwrap();
    let only = [
        "--no-config",
        "--disable",
        "automount-service-account-token",
    ];
    assert_eq!(
        kslint(dir.path(), &["--no-config", "pod.yaml"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        kslint(dir.path(), &[&only[..], &["--fail-on", "never"]].concat())
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        kslint(
            dir.path(),
            &["--no-config", "--enable", "privileged-containers"]
        )
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        kslint(dir.path(), &["--no-config", "--fail-on", "sometimes"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        kslint(dir.path(), &["--no-config", "--format", "yaml"])
            .status
            .code(),
        Some(2)
    );

    // A path that does not exist is a usage error, not a finding.
    let missing = kslint(dir.path(), &["--no-config", "pod.yml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "error: pod.yml: no such file or folder; did you mean `pod.yaml`?\n"
    );
    assert!(missing.stdout.is_empty());
    let missing = kslint(dir.path(), &["--no-config", "/nonexistent/x.yaml"]);
    assert_eq!(missing.status.code(), Some(2));

    let clean = tempfile::tempdir().unwrap();
    std::fs::write(
        clean.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    )
    .unwrap();
    let output = kslint(clean.path(), &["--no-config"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("No problems found in 1 file (1 object).")
    );
}

#[test]
fn notes_do_not_fail_by_default_but_fail_on_note_does() {
    let dir = tempfile::tempdir().unwrap();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n";
    std::fs::write(dir.path().join("pod.yaml"), pod).unwrap();
    let args = [
        "--no-config",
        "--disable",
        "privilege-escalation",
        "--disable",
        "capabilities-not-dropped",
        "--disable",
        "net-raw",
    ];
    let args = [
        &args[..],
        &[
            "--disable",
            "run-as-root",
            "--disable",
            "writable-root-filesystem",
            "--disable",
            "seccomp-unconfined",
        ],
    ]
    .concat();
    let output = kslint(dir.path(), &args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        kslint(dir.path(), &[&args[..], &["--fail-on", "note"]].concat())
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn stdin_is_named_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kslint"))
        .args([
            "--no-config",
            "--format",
            "json",
            "--enable",
            "privileged-container",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PRIVILEGED.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let report = json(&output);
    assert!(rules_fired(&report).contains(&("-".into(), "privileged-container".into())));
    let first = &report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "privileged-container")
        .unwrap();
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(8), Some(35))
    );
}

#[test]
fn config_file_is_found_upwards_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    // Upwards means up to the repository's root.
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    std::fs::write(dir.path().join("deploy/pod.yaml"), PRIVILEGED).unwrap();
    std::fs::write(
        dir.path().join(".kslint.yaml"),
        "fail-on: error\nrules:\n  privileged-container: off\n",
    )
    .unwrap();
    let output = kslint(&dir.path().join("deploy"), &["--format", "json"]);
    let fired = rules_fired(&json(&output));
    assert!(
        !fired.iter().any(|(_, r)| r == "privileged-container"),
        "{fired:?}"
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "only warnings and notes remain, and fail-on is error"
    );

    std::fs::write(
        dir.path().join(".kslint.yaml"),
        "rules:\n  privileged: off\n",
    )
    .unwrap();
    let output = kslint(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            ".kslint.yaml:2:3: unknown rule `privileged`; did you mean `privileged-container`?"
        ),
        "{stderr}"
    );
}

#[test]
fn gitignore_hidden_files_and_globs_are_respected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for name in [
        "a/pod.yaml",
        "vendor/pod.yaml",
        "ignored/pod.yaml",
        ".hidden/pod.yaml",
        "chart/templates/pod.yaml",
        "a/notes.txt",
    ] {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, PRIVILEGED).unwrap();
    }
    std::fs::write(
        root.join("chart/Chart.yaml"),
        "apiVersion: v2\nname: chart\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(root.join("chart/values.yaml"), "image: {tag: latest}\n").unwrap();
    std::fs::write(root.join(".gitignore"), "ignored/\n").unwrap();
    // Without helm, the chart gets one note and its templates are not read.
    let output = kslint(
        root,
        &[
            "--no-config",
            "--format",
            "json",
            "--exclude",
            "vendor/**",
            "--helm-bin",
            "no-such-helm",
        ],
    );
    let fired = rules_fired(&json(&output));
    let files: std::collections::BTreeSet<&str> = fired.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["a/pod.yaml", "chart/Chart.yaml"]
    );
    let chart: Vec<&str> = fired
        .iter()
        .filter(|(f, _)| f == "chart/Chart.yaml")
        .map(|(_, rule)| rule.as_str())
        .collect();
    assert_eq!(chart, ["helm-chart-not-rendered"]);
    assert_eq!(
        json(&output)["summary"]["files"],
        3,
        "a/pod.yaml, chart/Chart.yaml, chart/values.yaml"
    );
}

#[test]
fn hostile_input_never_crashes_and_other_findings_survive() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |name: &str, bytes: &[u8]| std::fs::write(root.join(name), bytes).unwrap();
    write("a-good.yaml", PRIVILEGED.as_bytes());
    write(
        "broken.yaml",
        format!("a: [unclosed\n---\n{PRIVILEGED}").as_bytes(),
    );
    write(
        "binary.yaml",
        &[0x7f, b'E', b'L', b'F', 0, 0xff, 0xfe, 0x00, 0x12],
    );
    write(
        "latin1.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n",
    );
    write("empty.yaml", b"");
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..12 {
        let p = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", [p.as_str(); 10].join(", ")));
    }
    write("bomb.yaml", bomb.as_bytes());
    let deep: String = (0..10_000)
        .map(|i| format!("{}- \n", " ".repeat(i)))
        .collect();
    write(
        "deep.yaml",
        format!("apiVersion: v1\nkind: List\nitems:\n{deep}").as_bytes(),
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        std::os::unix::fs::symlink(".", root.join("dir-loop")).unwrap();
        std::os::unix::fs::symlink("missing.yaml", root.join("dangling.yaml")).unwrap();
        write("locked.yaml", PRIVILEGED.as_bytes());
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            root.join("locked.yaml"),
            std::fs::Permissions::from_mode(0o000),
        )
        .unwrap();
        let fifo =
            std::ffi::CString::new(root.join("pipe.yaml").to_string_lossy().as_bytes()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        unsafe extern "C" {
            fn mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
        }
        assert_eq!(unsafe { mkfifo(fifo.as_ptr(), 0o644) }, 0);
    }
    let output = kslint(
        root,
        &[
            "--no-config",
            "--format",
            "json",
            "--enable",
            "privileged-container",
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json(&output);
    let fired = rules_fired(&report);
    let has = |file: &str, rule: &str| fired.contains(&(file.to_owned(), rule.to_owned()));
    assert!(has("a-good.yaml", "privileged-container"), "{fired:?}");
    assert!(
        has("broken.yaml", "yaml-syntax") && has("broken.yaml", "privileged-container"),
        "{fired:?}"
    );
    assert!(has("binary.yaml", "yaml-syntax"), "{fired:?}");
    assert!(has("latin1.yaml", "yaml-syntax"), "{fired:?}");
    assert!(has("bomb.yaml", "yaml-syntax"), "{fired:?}");
    assert!(has("deep.yaml", "yaml-syntax"), "{fired:?}");
    assert!(has("dangling.yaml", "unreadable-file"), "{fired:?}");
    assert!(has("pipe.yaml", "unreadable-file"), "{fired:?}");
    assert!(
        fired
            .iter()
            .any(|(f, r)| f.contains("loop") && r == "unreadable-file"),
        "{fired:?}"
    );
    assert!(!fired.iter().any(|(f, _)| f == "empty.yaml"), "{fired:?}");
    let root_user = std::fs::read(root.join("locked.yaml")).is_ok();
    if !root_user {
        assert!(has("locked.yaml", "unreadable-file"), "{fired:?}");
    }
    let messages: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("alias bomb")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("nests deeper than")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("not UTF-8")),
        "{messages:?}"
    );
}

#[test]
fn oversized_files_are_skipped_with_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.yaml"), PRIVILEGED.repeat(10)).unwrap();
    let output = kslint(
        dir.path(),
        &["--no-config", "--format", "json", "--max-file-size", "100"],
    );
    let report = json(&output);
    assert_eq!(
        rules_fired(&report),
        vec![("big.yaml".to_owned(), "unreadable-file".to_owned())]
    );
    assert!(
        report["diagnostics"][0]["message"]
            .as_str()
            .unwrap()
            .contains("over the limit of 100 bytes")
    );
}

#[test]
fn rules_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let output = kslint(dir.path(), &["rules"]);
    assert_eq!(output.status.code(), Some(0));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.lines().any(|l| l.starts_with("privileged-container")
        && l.contains("pod-security")
        && l.contains("error")
        && l.contains("on")));
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("image-not-pinned") && l.contains("off"))
    );
    let output = kslint(dir.path(), &["explain", "net-raw"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("## Why is this bad?"));
    let output = kslint(dir.path(), &["explain", "net-rw"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("did you mean `net-raw`?"));
}

#[test]
fn several_formats_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), PRIVILEGED).unwrap();
    let output = kslint(
        dir.path(),
        &[
            "--no-config",
            "--format",
            "github",
            "--format",
            "sarif",
            "--output",
            "out.sarif",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("::error file=pod.yaml,line=8,col=35,endLine=8,endColumn=39,title=kslint privileged-container::"));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn demo_has_findings() {
    let output = kslint(common::root(), &["--no-config", "testdata/demo"]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("testdata/demo/apps/shop.yaml:22:25"),
        "{text}"
    );
    assert!(
        !text.contains("node-exporter.yaml"),
        "the demo's suppressions hold: {text}"
    );
}

#[test]
fn pod_security_flag_and_config_set_a_default_level() {
    let dir = tempfile::tempdir().unwrap();
    // Baseline admits this pod; restricted does not (no securityContext).
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n";
    std::fs::write(dir.path().join("pod.yaml"), pod).unwrap();
    let only = [
        "--no-config",
        "--format",
        "json",
        "--disable",
        "missing-network-policy",
    ];
    let count = |output: &Output| {
        rules_fired(&json(output))
            .iter()
            .filter(|(_, rule)| rule == "pod-security-violation")
            .count()
    };
    let unset = kslint(dir.path(), &only);
    assert_eq!(count(&unset), 0, "no level asked for");
    let baseline = kslint(
        dir.path(),
        &[&only[..], &["--pod-security", "baseline"]].concat(),
    );
    assert_eq!(count(&baseline), 0);
    let restricted = kslint(
        dir.path(),
        &[&only[..], &["--pod-security", "restricted:v1.30"]].concat(),
    );
    // allowPrivilegeEscalation, capabilities, runAsNonRoot, seccompProfile.
    assert_eq!(
        count(&restricted),
        4,
        "{}",
        String::from_utf8_lossy(&restricted.stdout)
    );
    assert_eq!(restricted.status.code(), Some(1));
    let report = json(&restricted);
    let messages: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.starts_with(
            "Pod Security restricted:v1.30 (the pod-security setting) rejects this pod: "
        )),
        "{messages:?}"
    );

    let bad = kslint(dir.path(), &["--no-config", "--pod-security", "strict"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown Pod Security level \"strict\""));

    std::fs::write(
        dir.path().join(".kslint.yaml"),
        "pod-security: restricted\n",
    )
    .unwrap();
    let configured = kslint(
        dir.path(),
        &["--format", "json", "--disable", "missing-network-policy"],
    );
    assert_eq!(count(&configured), 4);
    std::fs::write(
        dir.path().join(".kslint.yaml"),
        "pod-security: baseline:1.30\n",
    )
    .unwrap();
    let invalid = kslint(dir.path(), &["--format", "json"]);
    assert_eq!(invalid.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&invalid.stderr).contains(".kslint.yaml:1:15"),
        "{}",
        String::from_utf8_lossy(&invalid.stderr)
    );
}

#[test]
fn quiet_statistics_colour_completions_and_man() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), PRIVILEGED).unwrap();
    let text = |output: &Output| String::from_utf8_lossy(&output.stdout).into_owned();

    let normal = text(&kslint(dir.path(), &["--no-config"]));
    assert!(normal.contains("Found "), "{normal}");
    let quiet = text(&kslint(dir.path(), &["--no-config", "--quiet"]));
    assert!(
        quiet.contains("privileged-container") && !quiet.contains("Found "),
        "{quiet}"
    );

    let stats = text(&kslint(dir.path(), &["--no-config", "--statistics"]));
    let line = stats
        .lines()
        .find(|l| l.contains("privileged-container"))
        .unwrap_or_else(|| panic!("{stats}"));
    assert!(
        line.trim_start().starts_with("1  privileged-container"),
        "{line}"
    );
    assert!(!stats.contains("╭─"), "statistics replace the findings");

    // CLICOLOR_FORCE colours a pipe; NO_COLOR (set by `kslint()`) wins.
    let forced = Command::new(env!("CARGO_BIN_EXE_kslint"))
        .args(["--no-config"])
        .current_dir(dir.path())
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(
        text(&forced).contains("\u{1b}["),
        "CLICOLOR_FORCE gives colour"
    );
    let both = Command::new(env!("CARGO_BIN_EXE_kslint"))
        .args(["--no-config"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(!text(&both).contains("\u{1b}["));

    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = kslint(dir.path(), &["completions", shell]);
        assert!(script.status.success());
        assert!(
            text(&script).contains("who-can"),
            "{shell} completion knows the subcommands"
        );
    }
    let man = text(&kslint(dir.path(), &["man"]));
    assert!(
        man.starts_with(".ie") || man.contains(".TH kslint"),
        "{}",
        &man[..man.len().min(200)]
    );
    assert!(man.contains("pod\\-security") || man.contains("pod-security"));
}
