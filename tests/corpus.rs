//! Every (rule, file, line, column) that kslint reports on the shared corpus
//! of real projects, against the checked-in list in
//! `testdata/corpus-findings.txt`. Grouping, wording and layout may change
//! freely; a finding that appears or disappears must show in a reviewed
//! diff of that list (`KSLINT_BLESS_CORPUS=1 cargo test --test corpus`).

mod common;

use std::collections::BTreeSet;
use std::process::Command;

const LIST: &str = "testdata/corpus-findings.txt";

#[test]
fn corpus_findings_match_the_checked_in_list() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    // Kustomizations beyond the native engine are built by kubectl; without
    // it those builds fail and the list cannot match.
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("skipped: kubectl is not installed");
        return;
    }
    // The list is of a run without Helm (charts are notes): CI installs a
    // helm for the Helm tests, and rendered charts would change the list.
    let output = Command::new(env!("CARGO_BIN_EXE_kslint"))
        .args(["--no-config", "--format", "json", "--fail-on", "never"])
        .args(["--helm-bin", "/nonexistent/helm", "."])
        .env_remove("KSLINT_HELM_BIN")
        .current_dir(&corpus)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_no_label_crosses_environments(&report);
    let found: BTreeSet<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}:{}:{}",
                d["rule"].as_str().unwrap(),
                d["file"].as_str().unwrap(),
                d["line"],
                d["column"]
            )
        })
        .collect();
    let path = common::root().join(LIST);
    if std::env::var_os("KSLINT_BLESS_CORPUS").is_some() {
        let text: String = found.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let listed: BTreeSet<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let lost: Vec<&String> = listed.difference(&found).collect();
    let new: Vec<&String> = found.difference(&listed).collect();
    assert!(
        lost.is_empty() && new.is_empty(),
        "corpus findings changed; if intended, rerun with KSLINT_BLESS_CORPUS=1 and review the diff of {LIST}\nlost: {lost:#?}\nnew: {new:#?}"
    );
}

/// The folder a file's environment is, for repositories of the corpus that
/// keep one environment per folder: ingress-nginx's cloud providers and the
/// rendered examples of the OpenTelemetry charts. Each is deployed alone,
/// so no finding in one may cite a file of another.
fn environment(file: &str) -> Option<(&str, &str)> {
    ["deploy/static/provider/", "/examples/"]
        .iter()
        .find_map(|marker| {
            let at = file.find(marker)? + marker.len();
            let (prefix, rest) = file.split_at(at);
            Some((prefix, rest.split('/').next()?))
        })
}

fn assert_no_label_crosses_environments(report: &serde_json::Value) {
    let mut crossing = Vec::new();
    for d in report["diagnostics"].as_array().unwrap() {
        let file = d["file"].as_str().unwrap();
        let Some(own) = environment(file) else {
            continue;
        };
        for label in d["related"].as_array().into_iter().flatten() {
            let other = label["file"].as_str().unwrap();
            if environment(other).is_some_and(|env| env.0 == own.0 && env.1 != own.1) {
                crossing.push(format!("{} {file} -> {other}", d["rule"]));
            }
        }
    }
    assert!(
        crossing.is_empty(),
        "findings cite files of another environment: {crossing:#?}"
    );
}
