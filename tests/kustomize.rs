//! The native Kustomize build against the real one: every kustomization of
//! ../shared/corpus/real (kustomize-builds.tsv) and of testdata/kustomize is
//! built by kslint and by `kubectl kustomize`, and the outputs must be the
//! same objects. A kustomization using a feature the engine does not build
//! must say so (kslint then falls back to kubectl); one that kubectl
//! rejects must be rejected too.

mod common;

use kslint::kustomize::{self, Error, Sources};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn canonical(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<String, serde_json::Value> =
                map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
            serde_json::Value::Object(sorted.into_iter().collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(canonical).collect())
        }
        other => other.clone(),
    }
}

/// The objects of a stream as sorted canonical JSON.
fn objects(text: &str) -> Vec<String> {
    let stream = kslint::yaml::parse_stream(text, kslint::yaml::Limits::default());
    let mut out: Vec<String> = stream
        .documents
        .iter()
        .filter(|d| !d.root.is_null())
        .map(|d| canonical(&d.root.to_json()).to_string())
        .collect();
    out.sort();
    out
}

#[derive(Default, Debug)]
struct Tally {
    equal: usize,
    both_fail: usize,
    unsupported: BTreeMap<String, usize>,
    differ: Vec<String>,
}

enum Verdict {
    Equal,
    BothFail,
    Unsupported(String),
    Differ(String),
}

/// Builds each folder both ways (in parallel: kubectl dominates the time).
fn compare(kubectl: &Path, dirs: &[PathBuf], shown: impl Fn(&Path) -> String + Sync) -> Tally {
    use rayon::prelude::*;
    let verdicts: Vec<Verdict> = dirs
        .par_iter()
        .map(|dir| verdict(kubectl, dir, &shown(dir)))
        .collect();
    let mut tally = Tally::default();
    for verdict in verdicts {
        match verdict {
            Verdict::Equal => tally.equal += 1,
            Verdict::BothFail => tally.both_fail += 1,
            Verdict::Unsupported(feature) => *tally.unsupported.entry(feature).or_default() += 1,
            Verdict::Differ(why) => tally.differ.push(why),
        }
    }
    tally
}

fn verdict(kubectl: &Path, dir: &Path, name: &str) -> Verdict {
    let native = kustomize::build(dir, &mut Sources::default());
    // A remote base would send kubectl to the network; kslint must refuse
    // it on its own.
    if dir.ends_with("bad/remote-base") {
        return match native {
            Err(Error::Invalid { .. }) => Verdict::BothFail,
            _ => Verdict::Differ(format!("{name}: a remote base was not refused")),
        };
    }
    let reference = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap();
    match native {
        Err(Error::Unsupported { feature, .. }) => Verdict::Unsupported(feature),
        Err(Error::Invalid { message, .. }) if reference.status.success() => Verdict::Differ(
            format!("{name}: kslint failed ({message}), kubectl built it"),
        ),
        Err(Error::Invalid { .. }) => Verdict::BothFail,
        Ok(_) if !reference.status.success() => {
            let why = String::from_utf8_lossy(&reference.stderr);
            Verdict::Differ(format!(
                "{name}: kubectl failed ({}), kslint built it",
                why.trim()
            ))
        }
        Ok(nodes) => {
            let mut mine: Vec<String> = nodes
                .iter()
                .map(|n| canonical(&n.to_json()).to_string())
                .collect();
            mine.sort();
            let theirs = objects(&String::from_utf8_lossy(&reference.stdout));
            if mine == theirs {
                return Verdict::Equal;
            }
            let only_mine = mine.iter().find(|m| !theirs.contains(m));
            let only_theirs = theirs.iter().find(|t| !mine.contains(t));
            Verdict::Differ(format!(
                "{name}: {} objects vs kubectl's {}\n  kslint:  {}\n  kubectl: {}",
                mine.len(),
                theirs.len(),
                only_mine.map_or("-", String::as_str),
                only_theirs.map_or("-", String::as_str)
            ))
        }
    }
}

#[test]
fn native_build_equals_kubectl_on_the_corpus() {
    let Some(kubectl) = common::tool("kubectl") else {
        return;
    };
    let corpus = common::root().join("../shared/corpus/real");
    let Ok(list) = std::fs::read_to_string(corpus.join("kustomize-builds.tsv")) else {
        eprintln!("skipped: the shared corpus is not beside the repository");
        return;
    };
    let dirs: Vec<PathBuf> = list
        .lines()
        .filter_map(|l| l.split('\t').next())
        .map(|d| corpus.join(d))
        .collect();
    let tally = compare(&kubectl, &dirs, |d| {
        d.strip_prefix(&corpus).unwrap_or(d).display().to_string()
    });
    eprintln!("{} kustomizations: {tally:?}", dirs.len());
    assert!(tally.differ.is_empty(), "{}", tally.differ.join("\n"));
    // What the engine builds today; a drop means a regression.
    assert!(tally.equal >= 195, "{tally:?}");
}

#[test]
fn native_build_equals_kubectl_on_the_fixtures() {
    let Some(kubectl) = common::tool("kubectl") else {
        return;
    };
    let mut dirs = Vec::new();
    let roots = [
        common::root().join("testdata/kustomize"),
        common::root().join("testdata/kustomize-edge"),
    ];
    for entry in roots.iter().flat_map(|root| walk(root)) {
        if kustomize::FILE_NAMES
            .iter()
            .any(|n| entry.join(n).is_file())
        {
            dirs.push(entry);
        }
    }
    dirs.sort();
    let tally = compare(&kubectl, &dirs, common::relative);
    assert!(tally.differ.is_empty(), "{}", tally.differ.join("\n"));
    assert!(tally.unsupported.is_empty(), "{tally:?}");
    assert!(tally.equal >= 10, "{tally:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        }
    }
    out
}

/// kslint's JSON findings for a run in the repository root.
fn lint_json(args: &[&str]) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_kslint"))
        .args(["--no-config", "--format", "json"])
        .args(args)
        .current_dir(common::root())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    report["diagnostics"].as_array().unwrap().clone()
}

fn related(d: &serde_json::Value) -> Vec<(String, u64, String)> {
    d["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_owned(),
                r["line"].as_u64().unwrap(),
                r["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn findings_point_at_the_file_that_set_the_value() {
    let diagnostics = lint_json(&["testdata/kustomize"]);
    // Set by the prod overlay's patch: at the patch line, naming the base.
    let privileged: Vec<_> = diagnostics
        .iter()
        .filter(|d| d["rule"] == "privileged-container")
        .collect();
    assert_eq!(privileged.len(), 1, "{privileged:?}");
    assert_eq!(
        privileged[0]["file"],
        "testdata/kustomize/overlays/prod/debug-patch.yaml"
    );
    assert_eq!(privileged[0]["line"], 11);
    assert_eq!(privileged[0]["object"]["name"], "prod-web");
    let labels = related(privileged[0]);
    assert!(labels.contains(&(
        "testdata/kustomize/base/deployment.yaml".to_owned(),
        1,
        "the base object this build patched".to_owned()
    )));
    assert!(
        labels
            .iter()
            .any(|l| l.2 == "in the build of testdata/kustomize/overlays/prod")
    );

    // From the base: at the base line, once, naming every build that ships
    // it (the `directives` overlay deletes the volume).
    let host_path: Vec<_> = diagnostics
        .iter()
        .filter(|d| d["rule"] == "host-path")
        .collect();
    assert_eq!(host_path.len(), 1, "{host_path:?}");
    assert_eq!(
        host_path[0]["file"],
        "testdata/kustomize/base/deployment.yaml"
    );
    assert_eq!(host_path[0]["line"], 33);
    assert!(related(host_path[0]).iter().any(|l| l.2
        == "in the builds of testdata/kustomize/json6902, testdata/kustomize/labels, testdata/kustomize/legacy, testdata/kustomize/overlays/dev, testdata/kustomize/overlays/prod"));
    // The base folder is built through its overlays, never on its own.
    assert!(!diagnostics.iter().any(|d| {
        related(d)
            .iter()
            .any(|l| l.2.contains("build of testdata/kustomize/base"))
    }));

    // A `# kslint-ignore` comment in the base hides the finding in every
    // build, and counts as used.
    assert!(
        !diagnostics
            .iter()
            .any(|d| d["rule"] == "automount-service-account-token"
                || d["rule"] == "unused-suppression"),
        "{diagnostics:?}"
    );

    // A prefixed service account still links to its prefixed RoleBinding
    // (one build, so the message names its objects).
    let diagnostics = lint_json(&["testdata/kustomize/overlays/prod"]);
    let escalation: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d["rule"] == "rbac-workload-escalation")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        escalation.iter().any(|m| m.starts_with(
            "Deployment shop/prod-web -> ServiceAccount shop/prod-web -> RoleBinding shop/prod-web -> Role shop/prod-web: create pods/exec"
        )),
        "{escalation:?}"
    );
}

#[test]
fn broken_kustomizations_are_reported_where_they_break() {
    let diagnostics = lint_json(&["testdata/kustomize"]);
    let failed: Vec<(String, u64, String)> = diagnostics
        .iter()
        .filter(|d| d["rule"] == "kustomize-build-failed")
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = [
        ("bad/cycle-a", "a cycle"),
        ("bad/cycle-b", "a cycle"),
        ("bad/escaping-path", "is outside"),
        ("bad/missing-resource", "cannot be read"),
        ("bad/remote-base", "never reaches the network"),
    ];
    assert_eq!(failed.len(), expect.len(), "{failed:?}");
    for ((file, line, message), (dir, words)) in failed.iter().zip(expect) {
        assert_eq!(
            file,
            &format!("testdata/kustomize/{dir}/kustomization.yaml")
        );
        assert_eq!(*line, 2, "{message}");
        assert!(message.contains(words), "{message}");
    }
    // The run went on: the good builds were linted.
    assert!(
        diagnostics
            .iter()
            .any(|d| d["rule"] == "privileged-container")
    );
}

#[test]
fn files_mode_lints_files_as_written() {
    let diagnostics = lint_json(&["--kustomize", "files", "testdata/kustomize"]);
    assert!(
        !diagnostics
            .iter()
            .any(|d| d["rule"] == "kustomize-build-failed")
    );
    // No build: the base Deployment is linted as written, with no prefix.
    let names: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d["rule"] == "host-path")
        .filter_map(|d| d["object"]["name"].as_str())
        .collect();
    assert_eq!(names, ["web"]);
}
