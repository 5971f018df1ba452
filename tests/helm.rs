//! Helm end to end: charts rendered by a real Helm (the SDK from PyPI
//! behind `.ci/helm.py` in CI), `helm template` output given as a file or
//! on stdin, and findings traced to the template and values lines.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn helm_dir() -> PathBuf {
    common::root().join("testdata/helm")
}

fn kslint_in(dir: &Path, args: &[&str], path_env: Option<&str>, stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kslint"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = path_env {
        command.env("PATH", path);
    }
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn json(output: &Output) -> Vec<serde_json::Value> {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    report["diagnostics"].as_array().unwrap().clone()
}

/// The JSON findings of a run in `dir` with helm on PATH (if any).
fn lint(dir: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    json(&kslint_in(dir, args, None, None))
}

/// `rule file:line:col object` for each finding, and its related labels.
fn brief(diagnostics: &[serde_json::Value]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&format!(
            "{} {}:{}:{} {}\n",
            d["rule"].as_str().unwrap(),
            d["file"].as_str().unwrap(),
            d["line"],
            d["column"],
            d["object"]["name"].as_str().unwrap_or("-"),
        ));
        for r in d["related"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "    {}:{}:{} {}\n",
                r["file"].as_str().unwrap(),
                r["line"],
                r["column"],
                r["message"].as_str().unwrap()
            ));
        }
    }
    out
}

fn find<'a>(
    diagnostics: &'a [serde_json::Value],
    rule: &str,
    name: &str,
) -> Vec<&'a serde_json::Value> {
    diagnostics
        .iter()
        .filter(|d| d["rule"] == rule && d["object"]["name"] == name)
        .collect()
}

#[test]
fn value_sets_trace_findings_to_values_and_template_lines() {
    let Some(_) = common::tool("helm") else {
        return;
    };
    let output = kslint_in(
        &helm_dir(),
        &["--config", "shop.kslint.yaml", "--format", "json", "shop"],
        None,
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let diagnostics = json(&output);
    insta::assert_snapshot!(brief(&diagnostics));

    // Set through values-prod.yaml: at the values key, with a label at the
    // template's toYaml.
    let web = find(&diagnostics, "privileged-container", "shop-web");
    assert_eq!(web.len(), 1, "{}", brief(&diagnostics));
    assert_eq!(web[0]["file"], "shop/values-prod.yaml");
    assert_eq!(web[0]["line"], 3);
    let related = web[0]["related"].as_array().unwrap();
    assert!(related.iter().any(|r| {
        r["file"] == "shop/templates/deployment.yaml"
            && r["line"] == 27
            && r["message"]
                == "this template line writes `securityContext.privileged` from the values files"
    }));
    assert!(
        related
            .iter()
            .any(|r| r["message"] == "found when rendering with the value set prod")
    );

    // Written in the template: at the template line, once for both sets.
    let agent = find(&diagnostics, "privileged-container", "shop-node-agent");
    assert_eq!(agent.len(), 1);
    assert_eq!(agent[0]["file"], "shop/templates/node-agent.yaml");
    assert_eq!(agent[0]["line"], 26);

    // A `# kslint-ignore` above the template's toYaml line covers findings
    // traced through it into a values file.
    assert!(find(&diagnostics, "privilege-escalation", "shop-web").is_empty());

    // A subchart's value set in the parent chart's values.yaml, under the
    // subchart's name.
    let cache = find(&diagnostics, "writable-root-filesystem", "shop-cache");
    assert_eq!(cache.len(), 1, "{}", brief(&diagnostics));
    assert_eq!(cache[0]["file"], "shop/values.yaml");
    let values = std::fs::read_to_string(helm_dir().join("shop/values.yaml")).unwrap();
    let line = values
        .lines()
        .nth(cache[0]["line"].as_u64().unwrap() as usize - 1);
    assert_eq!(line, Some("    readOnlyRootFilesystem: false"));

    // A `# kslint-ignore` comment in the template hides the dev-only
    // finding it names, and is not reported unused.
    assert!(
        !diagnostics
            .iter()
            .any(|d| (d["rule"] == "writable-root-filesystem"
                && d["object"]["name"] == "shop-web")
                || d["rule"] == "unused-suppression"),
        "{}",
        brief(&diagnostics)
    );
    // Nothing is left in the rendered stream or read from raw templates.
    for d in &diagnostics {
        let file = d["file"].as_str().unwrap();
        assert!(file.starts_with("shop/"), "{file}");
        assert!(!file.contains("helm template"), "{file}");
        assert_ne!(d["rule"], "yaml-syntax");
    }
}

#[test]
fn the_release_namespace_helm_defaults_to_is_not_a_namespace() {
    let Some(_) = common::tool("helm") else {
        return;
    };
    // No configured namespace: `.Release.Namespace` renders as `default`,
    // which must not show up in findings as if the user had chosen it.
    let diagnostics = lint(&helm_dir(), &["--no-config", "--format", "json", "shop"]);
    assert!(!diagnostics.is_empty());
    for d in &diagnostics {
        assert!(d["object"]["namespace"].is_null(), "{d}");
        let text = format!("{} {}", d["message"], d["help"]);
        assert!(
            !text.contains("\"default\"") && !text.contains("default/"),
            "{text}"
        );
    }
}

#[test]
fn piped_helm_template_output_is_traced_to_the_chart() {
    let Some(helm) = common::tool("helm") else {
        return;
    };
    let rendered = Command::new(helm)
        .args(["template", "shop", "shop", "-f", "shop/values-prod.yaml"])
        .current_dir(helm_dir())
        .output()
        .unwrap();
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let output = kslint_in(
        &helm_dir(),
        &["--no-config", "--format", "json", "-"],
        None,
        Some(&rendered.stdout),
    );
    let diagnostics = json(&output);
    let agent = find(&diagnostics, "privileged-container", "shop-node-agent");
    assert_eq!(agent[0]["file"], "shop/templates/node-agent.yaml");
    assert_eq!(agent[0]["line"], 26);
    // kslint was not told about values-prod.yaml, so it must not claim a
    // values line: it points at the template's toYaml and says why.
    let web = find(&diagnostics, "privileged-container", "shop-web");
    assert_eq!(web[0]["file"], "shop/templates/deployment.yaml");
    assert_eq!(web[0]["line"], 27);
    let why = brief(&diagnostics);
    assert!(
        why.contains("found `securityContext.privileged` in none of the values files"),
        "{why}"
    );
}

#[test]
fn rendered_file_is_attributed_to_its_templates() {
    // No helm needed: the stream was rendered once and committed.
    let file = "testdata/helm/rendered/shop-prod.yaml";
    // From the repository root the chart `shop` is not found: findings stay
    // in the stream, each naming its template at the `# Source:` line.
    let output = kslint_in(
        common::root(),
        &["--no-config", "--format", "json", file],
        None,
        None,
    );
    let diagnostics = json(&output);
    assert!(!diagnostics.is_empty());
    for d in &diagnostics {
        assert_eq!(d["file"], file);
        let related = d["related"].as_array().unwrap();
        assert!(
            related.iter().any(|r| r["message"]
                .as_str()
                .unwrap()
                .starts_with("rendered from the template shop/")),
            "{d}"
        );
    }
    let agent = find(&diagnostics, "privileged-container", "shop-node-agent");
    let source_line = agent[0]["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["message"] == "rendered from the template shop/templates/node-agent.yaml")
        .unwrap()["line"]
        .as_u64()
        .unwrap();
    let text = std::fs::read_to_string(common::root().join(file)).unwrap();
    assert_eq!(
        text.lines().nth(source_line as usize - 1),
        Some("# Source: shop/templates/node-agent.yaml")
    );

    // Beside the chart folder, the same stream is traced into the chart.
    let diagnostics = lint(
        &helm_dir(),
        &["--no-config", "--format", "json", "rendered/shop-prod.yaml"],
    );
    let agent = find(&diagnostics, "privileged-container", "shop-node-agent");
    assert_eq!(agent[0]["file"], "shop/templates/node-agent.yaml");
    assert_eq!(agent[0]["line"], 26);
    let web = find(&diagnostics, "privileged-container", "shop-web");
    assert_eq!(web[0]["file"], "shop/templates/deployment.yaml");
}

#[test]
fn without_helm_a_chart_gets_exactly_one_note() {
    let empty = tempfile::tempdir().unwrap();
    let output = kslint_in(
        &helm_dir(),
        &["--config", "shop.kslint.yaml", "--format", "json", "shop"],
        Some(empty.path().to_str().unwrap()),
        None,
    );
    let diagnostics = json(&output);
    assert_eq!(diagnostics.len(), 1, "{}", brief(&diagnostics));
    let note = &diagnostics[0];
    assert_eq!(note["rule"], "helm-chart-not-rendered");
    assert_eq!(note["severity"], "note");
    assert_eq!(note["file"], "shop/Chart.yaml");
    assert!(
        note["message"]
            .as_str()
            .unwrap()
            .starts_with("helm not found: install helm or pipe helm template output")
    );
    // A note does not fail the run.
    assert_eq!(output.status.code(), Some(0));
    // The same from inside the chart folder.
    let output = kslint_in(
        &helm_dir().join("shop"),
        &["--no-config", "--format", "json", "."],
        Some(empty.path().to_str().unwrap()),
        None,
    );
    let diagnostics = json(&output);
    assert_eq!(diagnostics.len(), 1, "{}", brief(&diagnostics));
    assert_eq!(diagnostics[0]["file"], "Chart.yaml");
}

#[test]
fn missing_dependencies_are_reported_without_rendering() {
    let output = kslint_in(
        &helm_dir(),
        &["--no-config", "--format", "json", "needs-redis"],
        None,
        None,
    );
    let diagnostics = json(&output);
    assert_eq!(diagnostics.len(), 1, "{}", brief(&diagnostics));
    assert_eq!(diagnostics[0]["rule"], "helm-chart-not-rendered");
    assert_eq!(diagnostics[0]["severity"], "warning");
    assert_eq!(diagnostics[0]["line"], 5);
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("`redis`")
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_failed_render_quotes_helm() {
    let Some(_) = common::tool("helm") else {
        return;
    };
    let diagnostics = lint(&helm_dir(), &["--no-config", "--format", "json", "broken"]);
    assert_eq!(diagnostics.len(), 1, "{}", brief(&diagnostics));
    let message = diagnostics[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("helm template failed for broken"),
        "{message}"
    );
    assert!(
        message.contains("set image.tag to the release's image tag"),
        "{message}"
    );
}

#[test]
fn real_charts_render_and_trace() {
    let Some(_) = common::tool("helm") else {
        return;
    };
    let Some(real) = common::corpus() else {
        return;
    };
    // Online Boutique's chart renders with its defaults.
    let chart = real.join("GoogleCloudPlatform__microservices-demo/helm-chart");
    let diagnostics = lint(
        &real,
        &["--no-config", "--format", "json", chart.to_str().unwrap()],
    );
    assert!(diagnostics.len() > 20, "{}", brief(&diagnostics));
    let prefix = chart.to_string_lossy().into_owned();
    // Its templates use if/else branches, conditional documents and `with`
    // blocks; every finding is still traced to one line (checked by hand
    // when this was written: 37 of 37).
    let approximate: Vec<_> = diagnostics
        .iter()
        .filter(|d| {
            d["related"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["message"].as_str().unwrap().starts_with("approximate"))
        })
        .collect();
    assert!(approximate.is_empty(), "{approximate:?}");
    for d in &diagnostics {
        let file = d["file"].as_str().unwrap();
        assert!(
            file.starts_with(&format!("{prefix}/templates/"))
                || file.starts_with(&format!("{prefix}/values.yaml")),
            "{file}"
        );
        assert_ne!(d["rule"], "yaml-syntax");
    }
    // ingress-nginx's chart renders with its defaults too, and its findings
    // land in its templates and values, never in a template read as YAML.
    let chart = real.join("kubernetes__ingress-nginx/charts/ingress-nginx");
    let diagnostics = lint(
        &real,
        &["--no-config", "--format", "json", chart.to_str().unwrap()],
    );
    let prefix = chart.to_string_lossy().into_owned();
    assert!(!diagnostics.is_empty());
    for d in &diagnostics {
        assert!(
            d["rule"] != "helm-chart-not-rendered" && d["rule"] != "yaml-syntax",
            "{}",
            brief(&diagnostics)
        );
        let file = d["file"].as_str().unwrap();
        assert!(file.starts_with(&format!("{prefix}/")), "{file}");
    }
}

#[test]
fn committed_helm_template_output_names_its_templates() {
    // open-telemetry's examples are committed `helm template` output; their
    // charts are not in the corpus, so each finding names its template.
    let Some(corpus) = common::corpus() else {
        return;
    };
    let examples = corpus
        .join("open-telemetry__opentelemetry-helm-charts/charts/opentelemetry-collector/examples");
    let output = kslint_in(
        common::root(),
        &[
            "--no-config",
            "--format",
            "json",
            examples.to_str().unwrap(),
        ],
        None,
        None,
    );
    let diagnostics = json(&output);
    let rendered: Vec<_> = diagnostics
        .iter()
        .filter(|d| d["file"].as_str().unwrap().contains("/rendered/"))
        .collect();
    assert!(rendered.len() > 10);
    for d in rendered {
        assert!(
            d["related"].as_array().unwrap().iter().any(|r| r["message"]
                .as_str()
                .unwrap()
                .starts_with("rendered from the template opentelemetry-collector/templates/")),
            "{d}"
        );
    }
}
