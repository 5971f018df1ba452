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

/// The fixture folders of a rule whose names start with `prefix`: each is
/// one run (cross-resource rules need several objects, often in several
/// files).
fn fixture_folders(prefix: &str) -> Vec<(String, std::path::PathBuf)> {
    let rules_dir = common::root().join("testdata/rules");
    let mut folders = Vec::new();
    for rule_dir in std::fs::read_dir(&rules_dir).unwrap() {
        let rule_dir = rule_dir.unwrap().path();
        for entry in std::fs::read_dir(&rule_dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && name.starts_with(prefix) {
                folders.push((
                    rule_dir.file_name().unwrap().to_string_lossy().into_owned(),
                    path,
                ));
            }
        }
    }
    folders.sort();
    folders
}

/// Lints a fixture folder with only its rule on, plus its `kslint.yaml`
/// config when it has one. Returns the files and the outcome.
fn lint_folder(rule: &str, folder: &Path) -> (Vec<(String, String)>, kslint::runner::Outcome) {
    let mut settings = kslint::settings::Settings::only(&[rule]);
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().unwrap() == "kslint.yaml" {
            settings.apply_config_text("kslint.yaml", &text).unwrap();
            continue;
        }
        files.push((relative(&path), text));
    }
    let texts = files
        .iter()
        .map(|(name, text)| kslint::runner::Text::Given {
            name: name.clone(),
            text: text.clone(),
        })
        .collect();
    (files, kslint::runner::lint_texts(texts, &settings))
}

#[test]
fn fail_folders() {
    for (rule, folder) in fixture_folders("fail") {
        let (files, outcome) = lint_folder(&rule, &folder);
        let name = relative(&folder);
        let mut expected = BTreeSet::new();
        for (file, text) in &files {
            for (i, line) in text.lines().enumerate() {
                if line.trim_end().ends_with("# expect") {
                    expected.insert((file.clone(), i + 1));
                }
            }
        }
        assert!(!expected.is_empty(), "{name}: no `# expect` line");
        let fired: BTreeSet<(String, usize)> = outcome
            .diagnostics
            .iter()
            .map(|d| {
                let file = &outcome.db.file(d.primary.file).name;
                let text = &files.iter().find(|(n, _)| n == file).unwrap().1;
                (file.clone(), line_of(text, d.primary.span.start))
            })
            .collect();
        assert_eq!(
            fired, expected,
            "{name}: where {rule} fired (left) differs from the `# expect` lines (right)"
        );
        let snapshot = name.replace("testdata/rules/", "").replace('/', "__");
        insta::assert_snapshot!(snapshot, human(&outcome));
    }
}

#[test]
fn pass_folders() {
    for (rule, folder) in fixture_folders("pass") {
        let (_, outcome) = lint_folder(&rule, &folder);
        assert!(
            outcome.diagnostics.is_empty(),
            "{rule} fired on {}:\n{}",
            relative(&folder),
            human(&outcome)
        );
    }
}
