//! `kslint fix`: fixes written at their exact spans, nothing else changed,
//! and the objects as Kubernetes decodes them the same where the fix is
//! safe.

mod common;

use common::kslint;
use std::path::Path;

/// The objects of a file as kslint (held to kubectl by the YAML oracle)
/// decodes them.
fn decoded(path: &Path) -> Vec<serde_json::Value> {
    let (text, _) = kslint::source::text_of(std::fs::read(path).unwrap());
    let stream = kslint::yaml::parse_manifest_stream(&text, kslint::yaml::Limits::default());
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    stream.documents.iter().map(|d| d.root.to_json()).collect()
}

fn stderr(run: &std::process::Output) -> String {
    String::from_utf8_lossy(&run.stderr).into_owned()
}

fn fixture(dir: &Path) -> std::path::PathBuf {
    copy("ambiguous/deploy.yaml", dir)
}

fn copy(fixture: &str, dir: &Path) -> std::path::PathBuf {
    let file = dir.join(Path::new(fixture).file_name().unwrap());
    std::fs::copy(common::root().join("testdata/fix").join(fixture), &file).unwrap();
    file
}

#[test]
fn safe_fixes_change_the_text_but_not_the_objects() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    let before = decoded(&file);
    let run = kslint(dir.path(), &["fix", "--no-config", "deploy.yaml"]);
    let said = stderr(&run);
    assert!(
        said.contains("fixed 3 findings in 1 file; 1 finding more with --unsafe-fixes"),
        "{said}"
    );
    let fixed = std::fs::read_to_string(&file).unwrap();
    insta::assert_snapshot!(fixed);
    assert_eq!(
        decoded(&file),
        before,
        "a safe fix changed what Kubernetes reads"
    );
    // The report after fixing no longer has them; a second run has nothing
    // safe left to fix and leaves the file alone.
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        stdout.matches("yaml-ambiguous-value").count(),
        1,
        "{stdout}"
    );
    let again = kslint(dir.path(), &["fix", "--no-config", "deploy.yaml"]);
    assert!(stderr(&again).contains("fixed 0 findings in 0 files"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), fixed);
}

#[test]
fn unsafe_fixes_quote_text_fields_and_change_only_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    let before = decoded(&file);
    let run = kslint(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "deploy.yaml"],
    );
    assert!(stderr(&run).contains("fixed 4 findings in 1 file"));
    let after = decoded(&file);
    // Only the env value changed: the boolean Kubernetes read became the
    // text the field takes.
    let mut expected = before.clone();
    expected[0]["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "yes".into();
    assert_eq!(after, expected);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!stdout.contains("yaml-ambiguous-value"), "{stdout}");
    assert!(!stdout.contains("schema-type-mismatch"), "{stdout}");
}

#[test]
fn print_diff_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    let original = std::fs::read(&file).unwrap();
    let run = kslint(
        dir.path(),
        &["fix", "--no-config", "--print-diff", "deploy.yaml"],
    );
    assert_eq!(run.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&run.stdout);
    assert!(diff.contains("-      hostNetwork: off   # keep this comment\n+      hostNetwork: false   # keep this comment"), "{diff}");
    assert_eq!(std::fs::read(&file).unwrap(), original);
}

#[test]
fn links_and_files_outside_the_tree_are_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = fixture(outside.path());
    let original = std::fs::read(&target).unwrap();
    std::fs::create_dir(dir.path().join("repo")).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("repo/deploy.yaml")).unwrap();
    let run = kslint(
        &dir.path().join("repo"),
        &["fix", "--no-config", "--unsafe-fixes", "."],
    );
    assert_eq!(std::fs::read(&target).unwrap(), original);
    assert!(stderr(&run).contains("fixed 0 findings"));
}

#[test]
fn unused_suppressions_are_removed_and_misspelt_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy("unused-suppression/pod.yaml", dir.path());
    let before = decoded(&file);
    let run = kslint(dir.path(), &["fix", "--no-config", "pod.yaml"]);
    assert!(
        stderr(&run).contains("fixed 4 findings in 1 file"),
        "{}",
        stderr(&run)
    );
    let fixed = std::fs::read_to_string(&file).unwrap();
    insta::assert_snapshot!(fixed);
    assert_eq!(decoded(&file), before);
    // Only the misspelt name is still reported: kslint does not guess it.
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(stdout.matches("unused-suppression").count(), 1, "{stdout}");
    assert!(stdout.contains("host-namespaces"), "{stdout}");
}

#[test]
fn fix_on_a_lint_run_fixes_then_reports() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    let run = kslint(
        dir.path(),
        &["--no-config", "--fix", "--format", "concise", "deploy.yaml"],
    );
    assert!(stderr(&run).contains("fixed 3 findings in 1 file"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        stdout.matches("yaml-ambiguous-value").count(),
        1,
        "{stdout}"
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("defaultMode: 0o644")
    );
}

#[test]
fn ignored_duplicate_keys_are_deleted_as_an_unsafe_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy("duplicate-key/svc.yaml", dir.path());
    let before = decoded(&file);
    // Safe fixes only: nothing to do.
    let run = kslint(dir.path(), &["fix", "--no-config", "svc.yaml"]);
    assert!(
        stderr(&run).contains("fixed 0 findings in 0 files; 2 findings more with --unsafe-fixes"),
        "{}",
        stderr(&run)
    );
    let run = kslint(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "svc.yaml"],
    );
    assert!(
        stderr(&run).contains("fixed 2 findings in 1 file"),
        "{}",
        stderr(&run)
    );
    let fixed = std::fs::read_to_string(&file).unwrap();
    insta::assert_snapshot!(fixed);
    // What Kubernetes applies is unchanged: it kept the later values.
    assert_eq!(decoded(&file), before);
    // The key in a flow mapping is reported but not deleted.
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(stdout.matches("yaml-duplicate-key").count(), 1, "{stdout}");
}
