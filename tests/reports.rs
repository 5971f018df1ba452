//! Every output format on one fixed sample: snapshots of what users and CI
//! systems read, the JSON contract's fields, and SARIF validated against the
//! official 2.1.0 schema.

mod common;

use common::root;
use kslint::report::{self, Format, HumanOptions};
use kslint::runner::{Outcome, Text, lint_texts};
use kslint::settings::Settings;

fn sample() -> Outcome {
    let folder = root().join("testdata/reports/sample");
    let mut texts = Vec::new();
    for name in ["broken.yaml", "web.yaml"] {
        let text = std::fs::read_to_string(folder.join(name)).unwrap();
        texts.push(Text::Given {
            name: format!("testdata/reports/sample/{name}"),
            text,
        });
    }
    let mut settings = Settings::only(&[
        "privileged-container",
        "host-pid",
        "run-as-root",
        "image-latest-tag",
        "yaml-syntax",
        "unused-suppression",
        "automount-service-account-token",
    ]);
    settings.fail_on = None;
    lint_texts(texts, &settings)
}

fn render(format: Format) -> String {
    report::render(
        format,
        &sample(),
        HumanOptions {
            color: false,
            width: 80,
        },
    )
}

#[test]
fn human() {
    insta::assert_snapshot!(render(Format::Human));
}

#[test]
fn github() {
    insta::assert_snapshot!(render(Format::Github));
}

#[test]
fn json_contract() {
    let text = render(Format::Json);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["version"], 1);
    let keys = [
        "rule",
        "severity",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "object",
        "help",
        "related",
    ];
    for diagnostic in value["diagnostics"].as_array().unwrap() {
        let mut found: Vec<&str> = diagnostic
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        found.sort();
        let mut expected = keys.to_vec();
        expected.sort();
        assert_eq!(found, expected);
    }
    let summary: Vec<&str> = value["summary"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(summary, ["files", "objects", "errors", "warnings", "notes"]);
    // Byte offsets become character columns, after a non-ASCII line too.
    let privileged = value["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["rule"] == "privileged-container" && d["file"].as_str().unwrap().ends_with("web.yaml")
        })
        .unwrap();
    assert_eq!(
        (
            privileged["line"].as_u64(),
            privileged["column"].as_u64(),
            privileged["end_column"].as_u64()
        ),
        (Some(18), Some(41), Some(45))
    );
    // The image value holds an `é`: its end column counts it as one.
    let image = value["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "image-latest-tag")
        .unwrap();
    assert_eq!(
        (
            image["line"].as_u64(),
            image["column"].as_u64(),
            image["end_column"].as_u64()
        ),
        (Some(17), Some(18), Some(49))
    );
    insta::assert_snapshot!(text);
}

#[test]
fn sarif_is_valid_and_stable() {
    let text = render(Format::Sarif);
    let log: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("testdata/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
    for result in log["runs"][0]["results"].as_array().unwrap() {
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(
            region["startLine"].as_u64().unwrap() >= 1
                && region["endColumn"].as_u64().unwrap() >= 1
        );
        assert!(
            result["partialFingerprints"]
                .as_object()
                .is_some_and(|f| !f.is_empty())
        );
    }
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.iter().all(|r| {
        r["helpUri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("rules/{}.md", r["id"].as_str().unwrap()))
    }));
}

#[test]
fn fingerprints_survive_unrelated_line_moves() {
    let fingerprints = |prefix: &str| {
        let text = format!(
            "{prefix}{}",
            std::fs::read_to_string(root().join("testdata/reports/sample/web.yaml")).unwrap()
        );
        let outcome = lint_texts(
            vec![Text::Given {
                name: "web.yaml".into(),
                text,
            }],
            &Settings::default(),
        );
        let log: serde_json::Value = serde_json::from_str(&report::render(
            Format::Sarif,
            &outcome,
            HumanOptions {
                color: false,
                width: 80,
            },
        ))
        .unwrap();
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].to_string())
            .collect::<Vec<_>>()
    };
    let before = fingerprints("");
    let after = fingerprints("# a new comment\n# and another\n");
    assert!(!before.is_empty());
    assert_eq!(before, after);
}

#[test]
fn junit_is_well_formed_xml() {
    let text = render(Format::Junit);
    insta::assert_snapshot!(text);
    let document = roxmltree::Document::parse(&text).expect("JUnit output is XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let outcome = sample();
    assert_eq!(cases.len(), outcome.diagnostics.len());
    let failures = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    assert_eq!(
        root.attribute("failures"),
        Some(failures.to_string().as_str())
    );
    assert!(failures > 0);
    // A clean run is one passing case, still valid XML.
    let clean = kslint::runner::lint_texts(Vec::new(), &kslint::settings::Settings::default());
    let text = kslint::report::render(
        Format::Junit,
        &clean,
        kslint::report::HumanOptions {
            color: false,
            width: 80,
        },
    );
    let document = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(
        document
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        1
    );
}

#[test]
fn gitlab_code_quality() {
    let text = render(Format::Gitlab);
    insta::assert_snapshot!(text);
    let issues: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(issues.len(), sample().diagnostics.len());
    let mut fingerprints = std::collections::HashSet::new();
    for issue in &issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].is_string(), "{key} in {issue}");
        }
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&issue["severity"].as_str().unwrap())
        );
        assert!(issue["location"]["path"].is_string());
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        assert!(fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_owned()));
    }
}

#[test]
fn sarif_of_every_rule_fixture_validates() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("testdata/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut settings = kslint::settings::Settings {
        inputs: vec![kslint::source::Input::Path(root().join("testdata/rules"))],
        ..Default::default()
    };
    settings.enabled.iter_mut().for_each(|on| *on = true);
    let outcome = kslint::runner::lint(&settings, || Ok(String::new())).unwrap();
    assert!(outcome.diagnostics.len() > 100);
    let text = kslint::report::render(
        Format::Sarif,
        &outcome,
        kslint::report::HumanOptions {
            color: false,
            width: 80,
        },
    );
    let log: serde_json::Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn markdown_summary() {
    let text = render(Format::Markdown);
    insta::assert_snapshot!(text);
    let rows = text
        .lines()
        .filter(|l| l.starts_with("| 🔴") || l.starts_with("| 🟠") || l.starts_with("| 🔵"))
        .count();
    assert_eq!(rows, sample().diagnostics.len());
}
