//! Custom rules and admission policies: located findings (through a
//! Kustomize overlay too), the catalog features custom rules share with
//! built-in ones, errors in users' CEL, the examples in
//! examples/policies/, and the conformance set of admission policies.

mod common;

use common::{kslint, root};
use serde_json::Value;
use std::path::Path;

fn json(dir: &Path, args: &[&str]) -> (Vec<Value>, i32) {
    let mut all = vec!["--format", "json", "--helm-bin", "/nonexistent/helm"];
    all.extend_from_slice(args);
    let output = kslint(dir, &all);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let diagnostics = parsed["diagnostics"].as_array().unwrap().clone();
    (diagnostics, output.status.code().unwrap_or(-1))
}

fn of_rule<'a>(diagnostics: &'a [Value], rule: &str) -> Vec<&'a Value> {
    diagnostics.iter().filter(|d| d["rule"] == rule).collect()
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

const FEW_REPLICAS: &str = r#"custom-rules:
  - id: few-replicas
    severity: warning
    summary: Deployments run at most 2 replicas here.
    match: {kinds: [Deployment]}
    validations:
      - expression: "object.spec.replicas <= 2"
        message: "too many replicas"
        fieldPath: "spec.replicas"
"#;

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 5
";

#[test]
fn a_custom_rule_reports_at_the_line_and_column_of_its_field_path() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[(".kslint.yaml", FEW_REPLICAS), ("deploy.yaml", DEPLOYMENT)],
    );
    let (diagnostics, code) = json(dir.path(), &["deploy.yaml"]);
    let found = of_rule(&diagnostics, "few-replicas");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["line"], 6);
    assert_eq!(found[0]["column"], 13);
    assert_eq!(found[0]["severity"], "warning");
    assert_eq!(found[0]["message"], "too many replicas");
    assert_eq!(code, 1, "a warning fails the run at the default fail level");
}

#[test]
fn a_custom_rule_reports_at_the_overlay_line_that_sets_the_field() {
    let dir = root().join("testdata/policies/overlay-field");
    let (diagnostics, _) = json(&dir, &["prod"]);
    let found = of_rule(&diagnostics, "few-replicas");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["file"], "prod/replicas.yaml");
    assert_eq!(
        (&found[0]["line"], &found[0]["column"]),
        (&6.into(), &13.into())
    );
    // The base alone sets one replica: nothing to report there.
    let (diagnostics, _) = json(&dir, &["base"]);
    assert!(of_rule(&diagnostics, "few-replicas").is_empty());
}

#[test]
fn custom_rules_are_listed_explained_suppressed_and_in_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let suppressed = format!("# kslint-ignore-file few-replicas\n{DEPLOYMENT}");
    write(
        dir.path(),
        &[
            (".kslint.yaml", FEW_REPLICAS),
            ("deploy.yaml", DEPLOYMENT),
            ("quiet/deploy.yaml", &suppressed),
        ],
    );
    let listed = kslint(dir.path(), &["rules", "--format", "json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let custom = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "few-replicas")
        .expect("kslint rules lists the custom rule");
    assert_eq!(custom["category"], "custom");
    let explained = kslint(dir.path(), &["explain", "few-replicas"]);
    let explained = String::from_utf8_lossy(&explained.stdout);
    assert!(
        explained.contains("Deployments run at most 2 replicas here.")
            && explained.contains("object.spec.replicas <= 2"),
        "{explained}"
    );
    let (diagnostics, _) = json(dir.path(), &["quiet"]);
    assert!(
        of_rule(&diagnostics, "few-replicas").is_empty(),
        "a suppression comment hides it: {diagnostics:#?}"
    );
    assert!(of_rule(&diagnostics, "unused-suppression").is_empty());
    let sarif = kslint(dir.path(), &["--format", "sarif", "deploy.yaml"]);
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let index = rules
        .iter()
        .position(|r| r["id"] == "few-replicas")
        .unwrap();
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "few-replicas");
    assert_eq!(result["ruleIndex"], index);
}

#[test]
fn a_bad_expression_is_located_in_the_config_and_the_rest_still_runs() {
    let config = r#"custom-rules:
  - id: broken-syntax
    summary: Broken.
    match: {kinds: [Deployment]}
    validations:
      - expression: "object.spec.replicas <="
  - id: typo
    summary: A typo.
    match: {kinds: [Deployment]}
    validations:
      - expression: "objet.spec.replicas > 0"
  - id: fails-at-runtime
    summary: Reads a field without has().
    match: {kinds: [Deployment]}
    validations:
      - expression: "object.spec.paused == false"
  - id: few-replicas
    summary: At most 2.
    match: {kinds: [Deployment]}
    validations:
      - expression: "object.spec.replicas <= 2"
"#;
    let dir = tempfile::tempdir().unwrap();
    let second = DEPLOYMENT.replace("name: web", "name: api");
    write(
        dir.path(),
        &[
            (".kslint.yaml", config),
            ("deploy.yaml", &format!("{DEPLOYMENT}---\n{second}")),
        ],
    );
    let (diagnostics, code) = json(dir.path(), &["deploy.yaml"]);
    let errors = of_rule(&diagnostics, "policy-expression-error");
    let at = |line: u64| {
        errors
            .iter()
            .find(|d| d["line"] == line)
            .unwrap_or_else(|| panic!("no policy-expression-error at line {line}: {errors:#?}"))
    };
    assert!(
        at(6)["message"]
            .as_str()
            .unwrap()
            .contains("does not compile")
    );
    assert!(
        at(11)["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `object`")
    );
    let runtime = at(16)["message"].as_str().unwrap();
    assert!(
        runtime.contains("fails on Deployment web") && runtime.contains("and on 1 more objects"),
        "{runtime}"
    );
    assert!(errors.iter().all(|d| d["file"] == ".kslint.yaml"));
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(of_rule(&diagnostics, "few-replicas").len(), 2);
    assert_eq!(code, 1);
}

#[test]
fn a_config_with_a_malformed_custom_rule_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = "custom-rules:\n  - id: privileged-container\n    summary: x.\n    match: {kinds: [Pod]}\n    validations: [{expression: 'true'}]\n";
    write(
        dir.path(),
        &[(".kslint.yaml", config), ("deploy.yaml", DEPLOYMENT)],
    );
    let output = kslint(dir.path(), &["deploy.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is a built-in rule"), "{stderr}");
}

/// The examples in examples/policies/: each custom rule fires exactly on
/// the lines of its test manifest marked `# fail`.
#[test]
fn the_example_policies_fire_where_their_tests_say() {
    let folder = root().join("examples/policies");
    let mut checked = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let rules = std::fs::read_to_string(&path).unwrap();
        let id = rules
            .lines()
            .find_map(|l| l.trim().strip_prefix("- id: "))
            .unwrap()
            .to_owned();
        let manifest =
            std::fs::read_to_string(folder.join("testdata").join(format!("{id}.yaml"))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                (".kslint.yaml", "custom-rules: [policies/rules.yaml]\n"),
                ("policies/rules.yaml", &rules),
                ("manifests.yaml", &manifest),
            ],
        );
        let (diagnostics, _) = json(dir.path(), &["manifests.yaml"]);
        assert!(
            of_rule(&diagnostics, "policy-expression-error").is_empty(),
            "{id}: {diagnostics:#?}"
        );
        let mut fired: Vec<u64> = of_rule(&diagnostics, &id)
            .iter()
            .map(|d| d["line"].as_u64().unwrap())
            .collect();
        fired.sort();
        let expected: Vec<u64> = manifest
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_end().ends_with("# fail"))
            .map(|(i, _)| i as u64 + 1)
            .collect();
        assert_eq!(fired, expected, "{id}: {diagnostics:#?}");
        checked += 1;
    }
    assert_eq!(checked, 4, "four example policies");
}

#[test]
fn custom_rules_read_the_namespace_object() {
    let config = r#"custom-rules:
  - id: prod-needs-replicas
    summary: Deployments in namespaces labelled tier=prod run at least 2 replicas.
    match: {kinds: [Deployment]}
    validations:
      - expression: >-
          namespaceObject == null || !has(namespaceObject.metadata.labels) ||
          namespaceObject.metadata.labels.?tier.orValue('') != 'prod' || object.spec.replicas >= 2
        fieldPath: spec.replicas
"#;
    let manifests = "apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {tier: prod}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: sandbox}
spec:
  replicas: 1
";
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[(".kslint.yaml", config), ("all.yaml", manifests)],
    );
    let (diagnostics, _) = json(dir.path(), &["all.yaml"]);
    let found = of_rule(&diagnostics, "prod-needs-replicas");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["line"], 11);
    assert_eq!(found[0]["object"]["namespace"], "shop");
}

/// The conformance set (testdata/admission/conformance, written from the
/// Kubernetes documentation; its README names the sources): every object
/// marked `conformance.kslint.dev/expect` gets that verdict, and the
/// message named by `conformance.kslint.dev/message`.
#[test]
fn admission_policies_agree_with_the_conformance_set() {
    use kslint::diagnostic::Severity;
    let folder = root().join("testdata/admission/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = common::lint_only(
            &[(&name, &text)],
            &[
                "admission-policy-denied",
                "admission-policy-not-evaluated",
                "policy-expression-error",
            ],
        );
        let stream = kslint::yaml::parse_stream(&text, kslint::yaml::Limits::default());
        for document in &stream.documents {
            let root = &document.root;
            let annotation = |key: &str| {
                root.path(&["metadata", "annotations", key])
                    .and_then(kslint::yaml::Node::as_str)
            };
            let Some(expected) = annotation("conformance.kslint.dev/expect") else {
                continue;
            };
            let object = kslint::k8s::object_ref(root).unwrap();
            let denials: Vec<_> = outcome
                .diagnostics
                .iter()
                .filter(|d| {
                    d.rule == "admission-policy-denied" && d.object.as_ref() == Some(&object)
                })
                .collect();
            let shown = object.to_string();
            let not_evaluated = outcome.diagnostics.iter().any(|d| {
                d.rule == "admission-policy-not-evaluated"
                    && (d.object.as_ref() == Some(&object)
                        || d.message.contains(&format!(" on {shown}:")))
            });
            let got = if denials.iter().any(|d| d.severity == Severity::Error) {
                "deny"
            } else if denials.iter().any(|d| d.severity == Severity::Warning) {
                "warn"
            } else if !denials.is_empty() {
                "audit"
            } else if not_evaluated {
                "not-evaluated"
            } else {
                "admit"
            };
            let message_ok = annotation("conformance.kslint.dev/message")
                .filter(|_| !matches!(expected, "admit" | "not-evaluated"))
                .is_none_or(|m| denials.iter().any(|d| d.message.contains(m)));
            if got != expected || !message_ok {
                wrong.push(format!(
                    "{name}: {shown}: expected {expected}, got {got}: {:?}",
                    denials.iter().map(|d| &d.message).collect::<Vec<_>>()
                ));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked >= 180, "only {checked} verdicts checked");
}

/// `rules:` configures custom rules as it does built-in ones, wherever it
/// is in the config.
#[test]
fn the_rules_key_turns_custom_rules_off_and_sets_their_severity() {
    let config = format!(
        "rules:\n  few-replicas: error\n  named-web: off\n{FEW_REPLICAS}  - id: named-web\n    summary: Named web.\n    match: {{kinds: [Deployment]}}\n    validations:\n      - expression: \"object.metadata.name != 'web'\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[(".kslint.yaml", &config), ("deploy.yaml", DEPLOYMENT)],
    );
    let (diagnostics, _) = json(dir.path(), &["deploy.yaml"]);
    let found = of_rule(&diagnostics, "few-replicas");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["severity"], "error");
    assert!(
        of_rule(&diagnostics, "named-web").is_empty(),
        "{diagnostics:#?}"
    );
    let unknown = config.replace("named-web: off", "named-wbe: off");
    write(dir.path(), &[(".kslint.yaml", &unknown)]);
    let output = kslint(dir.path(), &["deploy.yaml"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unknown id is a usage error"
    );
}
