//! The RBAC subcommands end to end (`who-can`, `rbac graph`), and a
//! regression snapshot of the RBAC findings on RBAC-heavy real projects.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn kslint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kslint"))
        .args(args)
        .current_dir(common::root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

const CHAIN: &str = "testdata/rules/rbac-workload-escalation/fail-chain";

#[test]
fn who_can_names_subject_binding_rule_and_workload() {
    let text = stdout(&kslint(&[
        "who-can",
        "create",
        "pods/portforward",
        "-n",
        "shop",
        CHAIN,
    ]));
    insta::assert_snapshot!(text);

    let json: serde_json::Value = serde_json::from_str(&stdout(&kslint(&[
        "who-can",
        "create",
        "pods/portforward",
        "-n",
        "shop",
        "--format",
        "json",
        CHAIN,
    ])))
    .unwrap();
    let subjects = json["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0]["name"], "default");
    assert_eq!(subjects[0]["namespace"], "shop");
    assert_eq!(subjects[0]["rule"]["line"], 11);
    assert_eq!(subjects[0]["workloads"][0]["name"], "frontend");
    assert_eq!(subjects[0]["workloads"][0]["tokenMounted"], true);

    // Other namespaces, other verbs, and cluster-scoped resources through a
    // RoleBinding are not granted.
    for args in [
        &[
            "who-can",
            "create",
            "pods/portforward",
            "-n",
            "payments",
            "--format",
            "json",
            CHAIN,
        ][..],
        &["who-can", "delete", "pods", "--format", "json", CHAIN][..],
        &["who-can", "get", "pods/exec", "--format", "json", CHAIN][..],
    ] {
        let json: serde_json::Value = serde_json::from_str(&stdout(&kslint(args))).unwrap();
        assert!(json["subjects"].as_array().unwrap().is_empty(), "{args:?}");
    }
}

#[test]
fn who_can_resolves_builtin_and_aggregated_roles() {
    let edit = "testdata/rules/rbac-workload-escalation/fail-builtin-edit";
    let json: serde_json::Value = serde_json::from_str(&stdout(&kslint(&[
        "who-can",
        "create",
        "deployments",
        "--format",
        "json",
        edit,
    ])))
    .unwrap();
    assert_eq!(json["apiGroup"], "apps");
    let subject = &json["subjects"][0];
    assert_eq!(subject["role"]["name"], "edit");
    assert_eq!(subject["role"]["builtin"], true);
    assert!(subject["rule"].is_null(), "built-in rules have no file");

    let aggregated = "testdata/rules/rbac-workload-escalation/fail-aggregated";
    let json: serde_json::Value = serde_json::from_str(&stdout(&kslint(&[
        "who-can", "list", "secrets", "--format", "json", aggregated,
    ])))
    .unwrap();
    assert_eq!(json["subjects"][0]["role"]["name"], "monitoring");
    assert!(
        json["subjects"][0]["rule"]["file"]
            .as_str()
            .unwrap()
            .ends_with("resources.yaml")
    );
}

#[test]
fn who_can_on_a_real_install() {
    // Argo CD's application controller holds `*` on `*` cluster-wide.
    let Some(argo) = real("argoproj__argo-cd/manifests/install.yaml") else {
        return;
    };
    let json: serde_json::Value = serde_json::from_str(&stdout(&kslint(&[
        "who-can",
        "create",
        "pods/exec",
        "-n",
        "shop",
        "--format",
        "json",
        argo.to_str().unwrap(),
    ])))
    .unwrap();
    let names: Vec<&str> = json["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"argocd-application-controller"),
        "{names:?}"
    );
    assert_eq!(names.len(), 1, "{names:?}");
}

fn graph(format: &str, paths: &[&str]) -> String {
    let mut args = vec!["rbac", "graph", "--format", format];
    args.extend(paths);
    stdout(&kslint(&args))
}

/// A project of the shared corpus (the real projects with the most RBAC),
/// if the corpus is there.
fn real(project: &str) -> Option<PathBuf> {
    common::corpus().map(|corpus| corpus.join(project))
}

#[test]
fn graph_dot_renders_with_graphviz() {
    let dot = graph("dot", &[CHAIN]);
    insta::assert_snapshot!(dot);
    let Some(graphviz) = common::tool("dot") else {
        return;
    };
    let Some(argo) = real("argoproj__argo-cd/manifests/install.yaml") else {
        return;
    };
    for source in [dot, graph("dot", &[argo.to_str().unwrap()])] {
        let mut child = Command::new(&graphviz)
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(source.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "dot rejected the graph: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("<svg"));
    }
}

/// Checks a Mermaid flowchart the way its grammar needs: a header, quoted
/// labels without raw quotes, and edges between declared nodes only.
fn assert_well_formed_mermaid(text: &str) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("flowchart LR"));
    let mut declared = Vec::new();
    for line in lines {
        let line = line.trim();
        if let Some((from, rest)) = line.split_once(" -->|\"") {
            let (label, to) = rest.split_once("\"| ").expect("edge label closes");
            assert!(!label.contains('"'), "raw quote in {line}");
            assert!(
                declared.contains(&from.to_owned()),
                "edge from undeclared {from}"
            );
            assert!(declared.contains(&to.to_owned()), "edge to undeclared {to}");
        } else if line.starts_with("classDef ") || line.starts_with("linkStyle ") {
        } else if let Some(ids) = line.strip_prefix("class ") {
            let ids = ids.split_once(' ').unwrap().0;
            for id in ids.split(',') {
                assert!(
                    declared.contains(&id.to_owned()),
                    "class of undeclared {id}"
                );
            }
        } else {
            let id: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let shape = &line[id.len()..];
            let open = ["[[\"", "([\"", "[/\"", "[\""]
                .iter()
                .find(|o| shape.starts_with(**o))
                .unwrap_or_else(|| panic!("unknown node syntax: {line}"));
            let inner = &shape[open.len()..];
            let label_end = inner.rfind('"').expect("label closes");
            assert!(!inner[..label_end].contains('"'), "raw quote in {line}");
            declared.push(id);
        }
    }
    assert!(!declared.is_empty());
}

#[test]
fn graph_mermaid_is_well_formed() {
    let text = graph("mermaid", &[CHAIN]);
    insta::assert_snapshot!(text);
    assert_well_formed_mermaid(&text);
    let Some(kubeflow) = real("kubeflow__manifests") else {
        return;
    };
    assert_well_formed_mermaid(&graph("mermaid", &[kubeflow.to_str().unwrap()]));
}

#[test]
fn real_projects_rbac_findings() {
    // A regression snapshot of every RBAC finding on the RBAC-heavy real
    // manifests; each was reviewed by hand (see the closing note of the
    // RBAC issue).
    if common::corpus().is_none() {
        return;
    }
    let mut report = String::new();
    for project in [
        "argoproj__argo-cd/manifests/install.yaml",
        "prometheus-operator__kube-prometheus",
        "kubeflow__manifests",
    ] {
        let path = real(project).expect("the corpus is there");
        // The files as written (the snapshot was reviewed that way);
        // tests/kustomize.rs covers builds.
        let output = kslint(&[
            "--no-config",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--kustomize",
            "files",
            path.to_str().unwrap(),
        ]);
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let prefix = path.to_string_lossy().into_owned();
        for d in json["diagnostics"].as_array().unwrap() {
            let rule = d["rule"].as_str().unwrap();
            if !rule.starts_with("rbac-") {
                continue;
            }
            let file = d["file"].as_str().unwrap();
            let file = file
                .strip_prefix(&prefix)
                .unwrap_or(file)
                .trim_start_matches('/');
            report.push_str(&format!(
                "{project} {file}:{}:{} {rule} {}: {}\n",
                d["line"],
                d["column"],
                d["severity"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            ));
        }
    }
    insta::assert_snapshot!(report);
}
