//! Baselines end to end: `kslint baseline write`, a run that reports only
//! what is new, line shifts that change nothing, `kslint baseline prune`,
//! and a config that may not point a baseline elsewhere.

mod common;

use std::path::Path;
use std::process::Output;

fn kslint(dir: &Path, args: &[&str]) -> Output {
    common::kslint(dir, args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The rules of a JSON report, with their lines.
fn findings(output: &Output) -> Vec<(String, u64)> {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(output)));
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn summary(output: &Output) -> serde_json::Value {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    report["summary"].clone()
}

/// One hardened Deployment and one legacy one with several findings.
const APPS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: hardened, namespace: shop}
spec:
  selector: {matchLabels: {app: hardened}}
  template:
    metadata: {labels: {app: hardened}}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: nginx:1.27
          resources: {limits: {memory: 128Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy, namespace: shop}
spec:
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers:
        - name: app
          image: nginx:1.27
";

fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join("apps.yaml"), APPS).unwrap();
    dir
}

const LINT: &[&str] = &["--no-config", "--format", "json"];

#[test]
fn a_baseline_hides_todays_findings_and_shows_a_new_one() {
    let repo = repository();
    let dir = repo.path();
    let before = kslint(dir, LINT);
    assert_eq!(before.status.code(), Some(1));
    let recorded = findings(&before).len();
    assert!(recorded >= 5, "{:?}", findings(&before));

    let write = kslint(dir, &["baseline", "write", "--no-config"]);
    assert_eq!(write.status.code(), Some(0), "{}", stderr(&write));
    assert!(
        stdout(&write).contains(".kslint-baseline.json"),
        "{}",
        stdout(&write)
    );
    let text = std::fs::read_to_string(dir.join(".kslint-baseline.json")).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["findings"].as_array().unwrap().len(), recorded);

    let with = [LINT, &["--baseline", ".kslint-baseline.json"]].concat();
    let clean = kslint(dir, &with);
    assert_eq!(findings(&clean), vec![]);
    assert_eq!(clean.status.code(), Some(0));
    assert!(summary(&clean)["baselined"].as_u64().unwrap() > 0);
    assert_eq!(summary(&clean)["baseline_stale"], 0);

    // Lines inserted above, and the two objects swapped: nothing is new.
    let (hardened, legacy) = APPS.split_once("---\n").unwrap();
    let moved = format!("# moved around\n\n{legacy}---\n# a comment\n{hardened}");
    std::fs::write(dir.join("apps.yaml"), &moved).unwrap();
    let shifted = kslint(dir, &with);
    assert_eq!(findings(&shifted), vec![], "{}", stdout(&shifted));
    assert_eq!(summary(&shifted)["baseline_stale"], 0);

    // A privileged container in the hardened Deployment: only that is new.
    let privileged = moved.replace(
        "allowPrivilegeEscalation: false\n",
        "allowPrivilegeEscalation: false\n            privileged: true\n",
    );
    std::fs::write(dir.join("apps.yaml"), &privileged).unwrap();
    let line = privileged
        .lines()
        .position(|l| l.contains("privileged: true"))
        .unwrap() as u64
        + 1;
    let new = kslint(dir, &with);
    assert_eq!(
        findings(&new),
        vec![("privileged-container".to_owned(), line)]
    );
    assert_eq!(new.status.code(), Some(1));

    // From a subfolder, naming the same baseline: the same result.
    std::fs::create_dir(dir.join("sub")).unwrap();
    let from_sub = kslint(
        &dir.join("sub"),
        &[LINT, &["--baseline", "../.kslint-baseline.json", ".."]].concat(),
    );
    assert_eq!(findings(&from_sub).len(), 1, "{}", stdout(&from_sub));
}

#[test]
fn fixed_findings_are_stale_and_prune_removes_them() {
    let repo = repository();
    let dir = repo.path();
    let write = kslint(
        dir,
        &["baseline", "write", "--no-config", "--baseline", "b.json"],
    );
    assert_eq!(write.status.code(), Some(0), "{}", stderr(&write));
    let entries = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("b.json")).unwrap();
        let file: serde_json::Value = serde_json::from_str(&text).unwrap();
        file["findings"].as_array().unwrap().len()
    };
    let all = entries(dir);

    // The legacy Deployment is removed: its entries match nothing now.
    let (hardened, _) = APPS.split_once("---\n").unwrap();
    std::fs::write(dir.join("apps.yaml"), hardened).unwrap();
    let with = [LINT, &["--baseline", "b.json"]].concat();
    let run = kslint(dir, &with);
    let stale = summary(&run)["baseline_stale"].as_u64().unwrap() as usize;
    assert!(stale > 0 && stale < all, "{stale} of {all}");
    let human = kslint(dir, &["--no-config", "--baseline", "b.json"]);
    assert!(
        stdout(&human).contains("`kslint baseline prune` removes them"),
        "{}",
        stdout(&human)
    );

    let prune = kslint(
        dir,
        &["baseline", "prune", "--no-config", "--baseline", "b.json"],
    );
    assert_eq!(prune.status.code(), Some(0), "{}", stderr(&prune));
    assert_eq!(entries(dir), all - stale);
    let after = kslint(dir, &with);
    assert_eq!(summary(&after)["baseline_stale"], 0);
    assert_eq!(findings(&after), vec![]);

    // A run over part of the tree does not call entries of other files
    // stale.
    std::fs::create_dir(dir.join("other")).unwrap();
    std::fs::write(
        dir.join("other/x.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .unwrap();
    let part = kslint(dir, &[LINT, &["--baseline", "b.json", "other"]].concat());
    assert_eq!(summary(&part)["baseline_stale"], 0);
}

#[test]
fn an_entry_edited_to_read_as_another_finding_hides_nothing() {
    let repo = repository();
    let dir = repo.path();
    kslint(dir, &["baseline", "write", "--no-config"]);
    let path = dir.join(".kslint-baseline.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // A reviewer reads `image-latest-tag`; the fingerprint is the
    // legacy container's hardening finding.
    let edited = text.replace(
        "\"rule\": \"run-as-root\"",
        "\"rule\": \"image-latest-tag\"",
    );
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let run = kslint(
        dir,
        &[LINT, &["--baseline", ".kslint-baseline.json"]].concat(),
    );
    assert_eq!(
        findings(&run)
            .iter()
            .map(|(rule, _)| rule.as_str())
            .collect::<Vec<_>>(),
        vec!["run-as-root"]
    );
}

#[test]
fn the_config_names_the_baseline_inside_its_repository() {
    let repo = repository();
    let dir = repo.path();
    std::fs::create_dir(dir.join("ci")).unwrap();
    std::fs::write(
        dir.join(".kslint.yaml"),
        "baseline: ci/kslint-baseline.json\n",
    )
    .unwrap();
    let write = kslint(dir, &["baseline", "write"]);
    assert_eq!(write.status.code(), Some(0), "{}", stderr(&write));
    assert!(dir.join("ci/kslint-baseline.json").is_file());
    let run = kslint(dir, &["--format", "json"]);
    assert_eq!(findings(&run), vec![]);
    assert_eq!(run.status.code(), Some(0));
    let everything = kslint(dir, &["--format", "json", "--no-baseline"]);
    assert!(!findings(&everything).is_empty());

    // A config from the change under review cannot point kslint at a
    // file elsewhere, nor at one that is not JSON.
    for bad in ["../outside.json", "/tmp/kslint-baseline.json", "Makefile"] {
        std::fs::write(dir.join(".kslint.yaml"), format!("baseline: {bad}\n")).unwrap();
        let refused = kslint(dir, &["baseline", "write"]);
        assert_eq!(refused.status.code(), Some(2), "{bad}");
        assert!(
            stderr(&refused).contains("`baseline` must"),
            "{}",
            stderr(&refused)
        );
    }

    // Nor write through a folder that links out of the repository.
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), dir.join("linked")).unwrap();
    std::fs::write(dir.join(".kslint.yaml"), "baseline: linked/b.json\n").unwrap();
    let refused = kslint(dir, &["baseline", "write"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(!elsewhere.path().join("b.json").exists());

    // A missing baseline is an error, not a silent full report.
    std::fs::write(dir.join(".kslint.yaml"), "baseline: missing.json\n").unwrap();
    let missing = kslint(dir, &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("kslint baseline write"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn a_link_at_the_baseline_path_is_not_written_through() {
    let repo = repository();
    let dir = repo.path();
    let target = dir.join("target.txt");
    std::fs::write(&target, "keep me").unwrap();
    std::os::unix::fs::symlink(&target, dir.join("b.json")).unwrap();
    let write = kslint(
        dir,
        &["baseline", "write", "--no-config", "--baseline", "b.json"],
    );
    assert_eq!(write.status.code(), Some(2));
    assert!(
        stderr(&write).contains("symbolic link"),
        "{}",
        stderr(&write)
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
}
