//! The catalog and the code agree: every `rules/*.md` is bound to exactly
//! one rule and back, its front matter parses, its sections exist, its
//! Example fires and its Use instead is clean, it has fixtures, and the
//! index in rules/README.md is what `kslint rules --format markdown` prints.

mod common;

use common::{human, lint_only, root};
use kslint::catalog::{self, CATALOG};
use kslint::rules::RULES;

/// Rules whose findings come from the engine, about files and folders
/// rather than manifest text; tests/cli.rs and tests/helm.rs cover them.
const ENGINE_ONLY: &[&str] = &[
    "unreadable-file",
    "helm-chart-not-rendered",
    "kustomize-build-failed",
];

#[test]
fn every_catalog_file_has_a_rule_and_back() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("rules"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md") && n != "README.md")
        .map(|n| n.trim_end_matches(".md").to_owned())
        .collect();
    files.sort();
    let ids: Vec<String> = RULES.iter().map(|r| r.id().to_owned()).collect();
    assert_eq!(
        ids, files,
        "RULES (left) and rules/*.md (right) differ; add the rule to src/rules/mod.rs, sorted"
    );
}

#[test]
fn struct_names_are_the_ids_in_pascal_case() {
    for rule in RULES {
        let type_name = rule.type_name().rsplit("::").next().unwrap().to_owned();
        let pascal: String = rule
            .id()
            .split('-')
            .map(|w| w[..1].to_uppercase() + &w[1..])
            .collect();
        assert_eq!(type_name, pascal, "rename the struct of {}", rule.id());
    }
}

#[test]
fn front_matter_and_sections() {
    for rule in RULES {
        let meta = catalog::parse(rule.id(), rule.doc())
            .unwrap_or_else(|e| panic!("rules/{}.md: {e}", rule.id()));
        assert!(
            ["pod-security", "rbac", "namespace", "manifest"].contains(&meta.category.as_str()),
            "{}: category",
            meta.id
        );
        assert!(
            meta.summary.ends_with('.'),
            "{}: the summary is a sentence ending in '.'",
            meta.id
        );
        for heading in ["What it does", "Why is this bad?", "Example", "Use instead"] {
            let text = meta
                .section(heading)
                .unwrap_or_else(|| panic!("rules/{}.md needs a `## {heading}` section", meta.id));
            assert!(
                !text.is_empty(),
                "rules/{}.md: `## {heading}` is empty",
                meta.id
            );
        }
    }
}

fn yaml_block(section: &str) -> Option<&str> {
    let start = section.find("```yaml\n")? + "```yaml\n".len();
    let end = section[start..].find("```")?;
    Some(&section[start..start + end])
}

#[test]
fn examples_fire_and_fixes_are_clean() {
    for meta in CATALOG.iter().filter(|m| !ENGINE_ONLY.contains(&m.id)) {
        let example = yaml_block(meta.section("Example").unwrap())
            .unwrap_or_else(|| panic!("rules/{}.md: Example needs a ```yaml block", meta.id));
        let outcome = lint_only(&[("example.yaml", example)], &[meta.id]);
        assert!(
            !outcome.diagnostics.is_empty(),
            "rules/{}.md: the Example does not fire the rule",
            meta.id
        );
        let fixed = yaml_block(meta.section("Use instead").unwrap())
            .unwrap_or_else(|| panic!("rules/{}.md: Use instead needs a ```yaml block", meta.id));
        let outcome = lint_only(&[("fixed.yaml", fixed)], &[meta.id]);
        assert!(
            outcome.diagnostics.is_empty(),
            "rules/{}.md: Use instead fires the rule:\n{}",
            meta.id,
            human(&outcome)
        );
    }
}

#[test]
fn every_rule_has_fixtures() {
    // A fixture is a file (`fail.yaml`) or, for cross-resource rules, a
    // folder linted as one run (`fail-restricted/`).
    let has = |folder: &std::path::Path, prefix: &str| {
        std::fs::read_dir(folder).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name == format!("{prefix}.yaml") || (e.path().is_dir() && name.starts_with(prefix))
            })
        })
    };
    for meta in CATALOG.iter().filter(|m| !ENGINE_ONLY.contains(&m.id)) {
        let folder = root().join("testdata/rules").join(meta.id);
        for prefix in ["fail", "pass"] {
            assert!(
                has(&folder, prefix),
                "add testdata/rules/{}/{prefix}.yaml (or a {prefix}-* folder)",
                meta.id
            );
        }
    }
}

#[test]
fn readme_index_is_current() {
    let readme = std::fs::read_to_string(root().join("rules/README.md")).unwrap();
    let (start, end) = ("<!-- index:start -->\n", "<!-- index:end -->");
    let from = readme
        .find(start)
        .expect("rules/README.md needs the index markers")
        + start.len();
    let to = readme.find(end).unwrap();
    let expected = catalog::listing(true, false);
    if readme[from..to] != expected {
        if std::env::var_os("KSLINT_BLESS").is_some() {
            let updated = format!("{}{}{}", &readme[..from], expected, &readme[to..]);
            std::fs::write(root().join("rules/README.md"), updated).unwrap();
        } else {
            panic!(
                "rules/README.md's index is stale: run `KSLINT_BLESS=1 cargo test --test catalog`"
            );
        }
    }
}
