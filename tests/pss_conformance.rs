//! Pod Security conformance: the evaluator against every upstream fixture
//! of k8s.io/pod-security-admission (vendored in testdata/pss-conformance,
//! see its SOURCE.md). Each fail pod must be rejected at its level and
//! version by the check its file names (or the restricted check that
//! replaces it); each pass pod must be admitted.

use kslint::k8s;
use kslint::pss::{self, Level, Policy, Verdicts, Version};
use kslint::source::FileId;
use kslint::yaml::{Limits, parse_stream};
use std::path::{Path, PathBuf};

fn sorted_dir(path: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
}

/// `capabilities_baseline3` -> `capabilities_baseline`.
fn check_named(stem: &str) -> String {
    stem.trim_end_matches(|c: char| c.is_ascii_digit())
        .to_ascii_lowercase()
}

#[test]
fn every_upstream_fixture_agrees() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pss-conformance");
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for (level_name, level) in [
        ("baseline", Level::Baseline),
        ("restricted", Level::Restricted),
    ] {
        for version_dir in sorted_dir(&root.join(level_name)) {
            let version_name = version_dir
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let version = Version::parse(&version_name).expect("fixture folders are versions");
            assert!(matches!(version, Version::Minor(_)));
            let policy = Policy { level, version };
            for (verdict, must_fail) in [("pass", false), ("fail", true)] {
                let folder = version_dir.join(verdict);
                if !folder.is_dir() {
                    continue;
                }
                for file in sorted_dir(&folder) {
                    let text = std::fs::read_to_string(&file).unwrap();
                    let stream = parse_stream(&text, Limits::default());
                    assert!(stream.errors.is_empty(), "{}", file.display());
                    let objects = k8s::objects(FileId(0), &stream.documents, &[]);
                    let pod = objects[0].pod.as_ref().expect("every fixture is a pod");
                    let violations = pss::evaluate(pod, policy);
                    let verdicts = Verdicts::of(pod);
                    let precomputed: Vec<_> =
                        verdicts.violations(policy).into_iter().cloned().collect();
                    assert_eq!(violations, precomputed, "{}", file.display());
                    checked += 1;
                    let name = format!(
                        "{level_name}/{version_name}/{verdict}/{}",
                        file.file_name().unwrap().to_string_lossy()
                    );
                    for violation in &violations {
                        assert!(!violation.spans.is_empty(), "{name}: {violation:?}");
                        for span in &violation.spans {
                            assert!((span.end as usize) <= text.len() && span.start <= span.end);
                        }
                    }
                    if !must_fail {
                        if !violations.is_empty() {
                            let ids: Vec<_> = violations.iter().map(|v| v.check).collect();
                            disagreements
                                .push(format!("{name}: admitted upstream, rejected by {ids:?}"));
                        }
                        continue;
                    }
                    let expected = check_named(&file.file_stem().unwrap().to_string_lossy());
                    let named = violations.iter().any(|v| {
                        v.check.to_ascii_lowercase() == expected
                            || pss::overrides(v.check)
                                .iter()
                                .any(|o| o.to_ascii_lowercase() == expected)
                    });
                    if !named {
                        let ids: Vec<_> = violations.iter().map(|v| v.check).collect();
                        disagreements.push(format!(
                            "{name}: rejected upstream by {expected}, here by {ids:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {checked} fixtures disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // Every fixture file was read: a renamed folder must not pass vacuously.
    assert!(checked >= 4500, "only {checked} fixtures found");
    println!("{checked} Pod Security fixtures agree");
}
