//! Every rule against its fixtures: each fail document fires exactly on the
//! lines marked `# expect`, pass documents stay silent, and the human
//! output of every fail fixture is snapshotted.

mod common;

use common::{human, lint_only, relative};
use kslint::yaml::{Limits, parse_stream};
use std::collections::BTreeSet;
use std::path::Path;

fn rule_of(path: &Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn line_of(text: &str, offset: u32) -> usize {
    text[..offset as usize].matches('\n').count() + 1
}

#[test]
fn fail_fixtures() {
    insta::glob!("../testdata", "rules/*/fail*.yaml", |path| {
        let rule = rule_of(path);
        let text = std::fs::read_to_string(path).unwrap();
        let name = relative(path);
        let outcome = lint_only(&[(&name, &text)], &[&rule]);
        assert!(
            outcome.diagnostics.iter().all(|d| d.rule == rule),
            "{name}: only {rule} was enabled"
        );

        let expected: BTreeSet<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_end().ends_with("# expect"))
            .map(|(i, _)| i + 1)
            .collect();
        let fired: BTreeSet<usize> = outcome
            .diagnostics
            .iter()
            .map(|d| line_of(&text, d.primary.span.start))
            .collect();
        assert_eq!(
            fired, expected,
            "{name}: lines where {rule} fired (left) differ from the `# expect` lines (right)"
        );

        for document in parse_stream(&text, Limits::default()).documents {
            let range = document.range.start..document.range.end;
            assert!(
                outcome
                    .diagnostics
                    .iter()
                    .any(|d| range.contains(&d.primary.span.start)),
                "{name}: the document at line {} does not fire {rule}",
                line_of(&text, document.range.start)
            );
        }
        for diagnostic in &outcome.diagnostics {
            let help = diagnostic.help.as_deref().unwrap_or_default();
            assert!(
                help.ends_with('.'),
                "{name}: help must be a sentence ending in '.': {help:?}"
            );
        }
        insta::assert_snapshot!(human(&outcome));
    });
}

#[test]
fn pass_fixtures() {
    insta::glob!("../testdata", "rules/*/pass*.yaml", |path| {
        let rule = rule_of(path);
        let text = std::fs::read_to_string(path).unwrap();
        let outcome = lint_only(&[(&relative(path), &text)], &[&rule]);
        assert!(
            outcome.diagnostics.is_empty(),
            "{rule} fired on its pass fixture:\n{}",
            human(&outcome)
        );
    });
}

#[test]
fn pass_context_folders() {
    let rules_dir = common::root().join("testdata/rules");
    for rule_dir in std::fs::read_dir(&rules_dir).unwrap() {
        let folder = rule_dir.unwrap().path().join("pass-context");
        if !folder.is_dir() {
            continue;
        }
        let rule = rule_of(&folder);
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap().path();
            files.push((relative(&entry), std::fs::read_to_string(&entry).unwrap()));
        }
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let outcome = lint_only(&borrowed, &[&rule]);
        assert!(
            outcome.diagnostics.is_empty(),
            "{rule} fired on {}:\n{}",
            relative(&folder),
            human(&outcome)
        );
    }
}
