//! Pull-request mode end to end: `--new-from-rev` on a git repository made
//! with two commits, and `--diff` with the same change as a unified diff.
//! The tests make the repository with the `git` program; kslint itself
//! reads it with gix.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn kslint(dir: &Path, args: &[&str]) -> Output {
    common::kslint(dir, args)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=kslint",
            "-c",
            "user.email=kslint@example.com",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the tests make their git fixtures with the git program");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// (rule, file, line) of each finding, and the summary.
fn report(output: &Output) -> (Vec<(String, String, u64)>, serde_json::Value) {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let findings = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_owned(),
                d["file"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    (findings, report["summary"].clone())
}

/// A workload whose service account no binding reaches yet, and a role
/// that can create pods.
const APP: &str = "\
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: nginx:1.27
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-maker, namespace: shop}
rules:
  - apiGroups: [\"\"]
    resources: [pods]
    verbs: [create]
";

/// The change under review: a binding that lets the untouched workload
/// escalate.
const BINDING: &str = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-makes-pods, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-maker}
subjects:
  - {kind: ServiceAccount, name: web, namespace: shop}
";

fn repository() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    git(dir, &["init", "-q", "."]);
    std::fs::write(dir.join("app.yaml"), APP).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    std::fs::write(dir.join("binding.yaml"), BINDING).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "bind"]);
    repo
}

const LINT: &[&str] = &["--no-config", "--format", "json"];

#[test]
fn a_new_binding_makes_an_untouched_workload_a_new_finding_at_the_binding() {
    let repo = repository();
    let dir = repo.path();
    let (all, _) = report(&kslint(dir, LINT));
    assert!(all.len() > 3, "{all:?}");

    let run = kslint(dir, &[LINT, &["--new-from-rev", "HEAD~1"]].concat());
    assert_eq!(run.status.code(), Some(1));
    let (findings, summary) = report(&run);
    // The escalation is about the Deployment in app.yaml, which did not
    // change; the binding did, so the finding is new and lands there.
    assert_eq!(
        findings,
        vec![(
            "rbac-workload-escalation".to_owned(),
            "binding.yaml".to_owned(),
            6
        )]
    );
    // Counted as people read them: the container's hardening records are
    // one finding, then three notes and the role's `create pods`.
    assert_eq!(summary["outside_change"], 5);
    let human = kslint(dir, &["--no-config", "--new-from-rev", "HEAD~1"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("the finding's own place, unchanged"),
        "{text}"
    );
    assert!(text.contains("outside the change not shown"), "{text}");

    // The same change as a unified diff gives the same findings.
    let diff = git(dir, &["diff", "HEAD~1", "HEAD"]);
    std::fs::write(dir.join("change.diff"), diff).unwrap();
    let from_diff = kslint(
        dir,
        &[LINT, &["--diff", "change.diff", "app.yaml", "binding.yaml"]].concat(),
    );
    assert_eq!(report(&from_diff).0, findings);

    // Nothing changed since HEAD: nothing is new.
    let (none, _) = report(&kslint(dir, &[LINT, &["--new-from-rev", "HEAD"]].concat()));
    assert_eq!(none, vec![]);
}

#[test]
fn uncommitted_edits_and_new_files_are_part_of_the_change() {
    let repo = repository();
    let dir = repo.path();
    std::fs::write(
        dir.join("app.yaml"),
        APP.replace("nginx:1.27", "nginx:latest"),
    )
    .unwrap();
    let (findings, _) = report(&kslint(dir, &[LINT, &["--new-from-rev", "HEAD"]].concat()));
    assert_eq!(
        findings,
        vec![("image-latest-tag".to_owned(), "app.yaml".to_owned(), 16)]
    );

    // A file the revision does not have is new in every line.
    std::fs::create_dir(dir.join("more")).unwrap();
    std::fs::write(
        dir.join("more/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  - {name: c, image: nginx:1.27, securityContext: {privileged: true}}\n",
    )
    .unwrap();
    let (findings, _) = report(&kslint(dir, &[LINT, &["--new-from-rev", "HEAD"]].concat()));
    assert!(
        findings
            .iter()
            .any(|(rule, file, _)| rule == "privileged-container" && file == "more/pod.yaml"),
        "{findings:?}"
    );
}

#[test]
fn a_revision_that_is_not_there_is_a_usage_error() {
    let repo = repository();
    let run = kslint(
        repo.path(),
        &[LINT, &["--new-from-rev", "no-such-branch"]].concat(),
    );
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("\"no-such-branch\" is not in this repository"),
        "{stderr}"
    );
    let outside = tempfile::tempdir().unwrap();
    let run = kslint(
        outside.path(),
        &[LINT, &["--new-from-rev", "HEAD"]].concat(),
    );
    assert_eq!(run.status.code(), Some(2));
}
