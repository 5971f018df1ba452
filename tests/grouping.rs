//! One finding per root cause: the shapes people read (a container's
//! missing hardening settings, a role rule with several dangers, a
//! workload's escalation chain, the opening summary, concise lines), and
//! the promises behind them: every rule's record stays in the JSON, and the
//! suggested `securityContext`, pasted in, silences the container.

mod common;

use common::root;
use kslint::diagnostic::Severity;
use kslint::report::{self, Format, HumanOptions};
use kslint::runner::{Outcome, Text, lint_texts};
use kslint::settings::Settings;

fn lint(files: &[(&str, String)]) -> Outcome {
    let texts = files
        .iter()
        .map(|(name, text)| Text::Given {
            name: (*name).to_owned(),
            text: text.clone(),
        })
        .collect();
    lint_texts(texts, &Settings::default())
}

fn fixture(name: &str) -> (&'static str, String) {
    let path = format!("testdata/reports/grouping/{name}");
    let text = std::fs::read_to_string(root().join(&path)).unwrap();
    (Box::leak(path.into_boxed_str()), text)
}

fn render(format: Format, outcome: &Outcome, width: usize) -> String {
    report::render(
        format,
        outcome,
        HumanOptions {
            color: false,
            width,
        },
    )
}

#[test]
fn grouped_findings_read_as_one_each() {
    let outcome = lint(&[fixture("chain.yaml"), fixture("textbook.yaml")]);
    insta::assert_snapshot!(render(Format::Human, &outcome, 100));
}

#[test]
fn concise_prints_one_line_per_finding() {
    let outcome = lint(&[fixture("chain.yaml"), fixture("textbook.yaml")]);
    insta::assert_snapshot!(render(Format::Concise, &outcome, 100));
}

#[test]
fn the_textbook_deployment_is_one_short_finding() {
    let outcome = lint(&[fixture("textbook.yaml")]);
    let failing: Vec<_> = kslint::group::findings(&outcome.diagnostics)
        .into_iter()
        .filter(|f| f.severity > Severity::Note)
        .collect();
    assert_eq!(failing.len(), 1, "{failing:#?}");
    assert_eq!(failing[0].members.len(), 6);
    let human = render(Format::Human, &outcome, 100);
    assert!(human.lines().count() <= 25, "{human}");

    // Every rule keeps its record in the JSON, tied by one group.
    let json: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &outcome, 100)).unwrap();
    let grouped: Vec<&serde_json::Value> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["group"].is_null())
        .collect();
    assert_eq!(grouped.len(), 6);
    assert!(grouped.iter().all(|d| d["group"] == grouped[0]["group"]));
}

#[test]
fn the_suggested_security_context_silences_the_container() {
    let (name, text) = fixture("textbook.yaml");
    let outcome = lint(&[(name, text.clone())]);
    let finding = kslint::group::findings(&outcome.diagnostics)
        .into_iter()
        .find(|f| f.severity > Severity::Note)
        .unwrap();
    let help = finding.help.unwrap();
    let block: String = help
        .lines()
        .skip_while(|l| !l.starts_with("securityContext:"))
        .map(|l| format!("          {l}\n"))
        .collect();
    assert!(block.contains("runAsNonRoot: true"), "{help}");
    let fixed = text.replace(
        "          image: nginx:1.27\n",
        &format!("          image: nginx:1.27\n{block}"),
    );
    assert_ne!(fixed, text);
    let outcome = lint(&[(name, fixed)]);
    let left: Vec<_> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity > Severity::Note)
        .collect();
    assert!(left.is_empty(), "{left:#?}");
}

#[test]
fn a_setting_made_unsafe_on_purpose_stays_its_own_finding() {
    let text = fixture("textbook.yaml").1.replace(
        "          image: nginx:1.27\n",
        "          image: nginx:1.27\n          securityContext:\n            allowPrivilegeEscalation: true\n",
    );
    let outcome = lint(&[("web.yaml", text)]);
    let findings = kslint::group::findings(&outcome.diagnostics);
    let escalation: Vec<_> = findings
        .iter()
        .filter(|f| f.rules().contains(&"privilege-escalation"))
        .collect();
    assert_eq!(escalation.len(), 1);
    assert_eq!(escalation[0].members.len(), 1, "{escalation:#?}");
    assert!(findings.iter().any(|f| f.members.len() == 5));
}

#[test]
fn disabled_rules_leave_the_rest_of_the_group() {
    let mut settings = Settings::default();
    settings
        .apply_config_text(
            ".kslint.yaml",
            "rules:\n  net-raw: off\n  run-as-root: off\n",
        )
        .unwrap();
    let outcome = lint_texts(
        vec![Text::Given {
            name: "web.yaml".into(),
            text: fixture("textbook.yaml").1,
        }],
        &settings,
    );
    let findings = kslint::group::findings(&outcome.diagnostics);
    let hardening = findings.iter().find(|f| f.members.len() > 1).unwrap();
    assert_eq!(hardening.members.len(), 4);
    assert!(!hardening.help.as_ref().unwrap().contains("runAsNonRoot"));
}
