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

/// Asserts that a second `kslint` run with these arguments has nothing
/// left to fix.
fn nothing_left(dir: &Path, args: &[&str]) {
    let again = kslint(dir, args);
    assert!(
        stderr(&again).contains("fixed 0 findings in 0 files"),
        "{}",
        stderr(&again)
    );
}

/// Runs kslint and asserts that what it says on stderr contains `said`.
fn run_saying(dir: &Path, args: &[&str], said: &str) -> std::process::Output {
    let run = kslint(dir, args);
    assert!(stderr(&run).contains(said), "{}", stderr(&run));
    run
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
    let run = run_saying(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "deploy.yaml"],
        "fixed 4 findings in 1 file",
    );
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
    let run = run_saying(
        dir.path(),
        &["fix", "--no-config", "pod.yaml"],
        "fixed 4 findings in 1 file",
    );
    let fixed = std::fs::read_to_string(&file).unwrap();
    insta::assert_snapshot!(fixed);
    assert_eq!(decoded(&file), before);
    // Only the misspelt name is still reported: kslint does not guess it.
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(stdout.matches("unused-suppression").count(), 1, "{stdout}");
    assert!(stdout.contains("host-namespaces"), "{stdout}");
    nothing_left(dir.path(), &["fix", "--no-config", "pod.yaml"]);
}

#[test]
fn fix_on_a_lint_run_fixes_then_reports() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    let run = run_saying(
        dir.path(),
        &["--no-config", "--fix", "--format", "concise", "deploy.yaml"],
        "fixed 3 findings in 1 file",
    );
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
    run_saying(
        dir.path(),
        &["fix", "--no-config", "svc.yaml"],
        "fixed 0 findings in 0 files; 2 findings more with --unsafe-fixes",
    );
    let run = run_saying(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "svc.yaml"],
        "fixed 2 findings in 1 file",
    );
    let fixed = std::fs::read_to_string(&file).unwrap();
    insta::assert_snapshot!(fixed);
    // What Kubernetes applies is unchanged: it kept the later values.
    assert_eq!(decoded(&file), before);
    // The key in a flow mapping is reported but not deleted.
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(stdout.matches("yaml-duplicate-key").count(), 1, "{stdout}");
    nothing_left(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "svc.yaml"],
    );
}

/// Sets `value` at a JSON pointer, making the mappings on the way.
fn set(value: &mut serde_json::Value, pointer: &str, new: serde_json::Value) {
    let mut at = value;
    for key in pointer.trim_start_matches('/').split('/') {
        at = match at {
            serde_json::Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
            other => {
                if other.is_null() {
                    *other = serde_json::json!({});
                }
                other
                    .as_object_mut()
                    .unwrap()
                    .entry(key)
                    .or_insert(serde_json::Value::Null)
            }
        };
    }
    *at = new;
}

/// The hardening fixture's objects with the settings the fixes add.
fn hardened(mut objects: Vec<serde_json::Value>, unsafe_fixes: bool) -> Vec<serde_json::Value> {
    use serde_json::json;
    let (web, sidecar, init) = (
        "/spec/template/spec/containers/0/securityContext",
        "/spec/template/spec/containers/1/securityContext",
        "/spec/template/spec/initContainers/0/securityContext",
    );
    let drop = if unsafe_fixes { "ALL" } else { "NET_RAW" };
    for container in [web, init] {
        set(
            &mut objects[0],
            &format!("{container}/capabilities/drop"),
            json!([drop]),
        );
    }
    for container in [web, sidecar, init] {
        set(
            &mut objects[0],
            &format!("{container}/allowPrivilegeEscalation"),
            json!(false),
        );
        set(
            &mut objects[0],
            &format!("{container}/seccompProfile/type"),
            json!("RuntimeDefault"),
        );
    }
    set(
        &mut objects[1],
        "/spec/containers/0/securityContext/capabilities/drop",
        json!([drop]),
    );
    if unsafe_fixes {
        set(
            &mut objects[0],
            &format!("{sidecar}/capabilities/drop"),
            json!(["NET_RAW", "ALL"]),
        );
        for container in [web, sidecar, init] {
            set(
                &mut objects[0],
                &format!("{container}/readOnlyRootFilesystem"),
                json!(true),
            );
        }
        // The sidecar's `runAsNonRoot: false` is a choice the fix keeps.
        for container in [web, init] {
            set(
                &mut objects[0],
                &format!("{container}/runAsNonRoot"),
                json!(true),
            );
        }
        set(
            &mut objects[1],
            "/spec/containers/0/securityContext/runAsNonRoot",
            json!(true),
        );
    }
    objects
}

#[test]
fn hardening_fixes_add_only_the_missing_settings_in_the_files_layout() {
    for unsafe_fixes in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let file = copy("hardening/deploy.yaml", dir.path());
        let before = decoded(&file);
        let mut args = vec!["fix", "--no-config", "deploy.yaml"];
        if unsafe_fixes {
            args.push("--unsafe-fixes");
        }
        let run = kslint(dir.path(), &args);
        let said = stderr(&run);
        let expected = if unsafe_fixes {
            "fixed 16 findings in 1 file\n"
        } else {
            "fixed 9 findings in 1 file; 10 findings more with --unsafe-fixes"
        };
        assert!(said.contains(expected), "{said}");
        let fixed = std::fs::read_to_string(&file).unwrap();
        if unsafe_fixes {
            insta::assert_snapshot!("hardening_unsafe", fixed);
        } else {
            insta::assert_snapshot!("hardening_safe", fixed);
        }
        // The objects differ from the originals in the added settings only.
        assert_eq!(decoded(&file), hardened(before, unsafe_fixes));
        // What stays is what was written on purpose (and, for a safe run,
        // what only unsafe fixes change).
        let stdout = String::from_utf8_lossy(&run.stdout);
        for rule in ["net-raw", "seccomp-unconfined"] {
            assert!(!stdout.contains(rule), "{rule} left:\n{stdout}");
        }
        if unsafe_fixes {
            assert!(!stdout.contains("capabilities-not-dropped"), "{stdout}");
            assert_eq!(stdout.matches("run-as-root").count(), 1, "{stdout}");
        }
        // A second run has nothing left to fix.
        nothing_left(dir.path(), &args);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), fixed);
    }
}

#[test]
fn fixes_keep_crlf_line_breaks_and_refuse_lone_carriage_returns() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(common::root().join("testdata/fix/hardening/deploy.yaml")).unwrap();
    let crlf = dir.path().join("crlf.yaml");
    std::fs::write(&crlf, text.replace('\n', "\r\n")).unwrap();
    let before = decoded(&crlf);
    run_saying(
        dir.path(),
        &["fix", "--no-config", "crlf.yaml"],
        "fixed 9 findings in 1 file",
    );
    let fixed = std::fs::read_to_string(&crlf).unwrap();
    assert_eq!(
        fixed.matches('\n').count(),
        fixed.matches("\r\n").count(),
        "{fixed:?}"
    );
    assert_eq!(decoded(&crlf), hardened(before, false));

    // Lone CRs are line breaks to Kubernetes; kslint reads them as line
    // feeds, and writing its text back would change every one.
    let old_mac = dir.path().join("cr.yaml");
    std::fs::write(&old_mac, text.replace('\n', "\r")).unwrap();
    let original = std::fs::read(&old_mac).unwrap();
    run_saying(
        dir.path(),
        &["fix", "--no-config", "cr.yaml"],
        "lone carriage returns",
    );
    assert_eq!(std::fs::read(&old_mac).unwrap(), original);
}

#[test]
fn token_automount_is_turned_off_safely_only_where_no_binding_names_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy("automount/app.yaml", dir.path());
    let before = decoded(&file);
    let mut expected = before.clone();
    set(
        &mut expected[0],
        "/spec/template/spec/automountServiceAccountToken",
        false.into(),
    );
    run_saying(
        dir.path(),
        &["fix", "--no-config", "app.yaml"],
        "fixed 1 finding in 1 file; 1 finding more with --unsafe-fixes",
    );
    assert_eq!(decoded(&file), expected);
    // The bound account's pods may call the API: turning the token off
    // is the user's call.
    let run = run_saying(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "app.yaml"],
        "fixed 1 finding in 1 file",
    );
    set(
        &mut expected[1],
        "/spec/template/spec/automountServiceAccountToken",
        false.into(),
    );
    assert_eq!(decoded(&file), expected);
    insta::assert_snapshot!(std::fs::read_to_string(&file).unwrap());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        !stdout.contains("automount-service-account-token"),
        "{stdout}"
    );
    nothing_left(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "app.yaml"],
    );
}

#[test]
fn api_versions_are_replaced_only_where_no_field_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy("api-version/old.yaml", dir.path());
    let mut expected = decoded(&file);
    let run = run_saying(
        dir.path(),
        &["fix", "--no-config", "old.yaml"],
        "fixed 2 findings in 1 file",
    );
    expected[0]["apiVersion"] = "rbac.authorization.k8s.io/v1".into();
    expected[2]["apiVersion"] = "policy/v1".into();
    assert_eq!(decoded(&file), expected);
    insta::assert_snapshot!(std::fs::read_to_string(&file).unwrap());
    // What is left needs field changes, which the help names.
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(stdout.matches("removed-api-version").count(), 2, "{stdout}");
    assert!(stdout.contains("change the fields that differ"), "{stdout}");
    nothing_left(dir.path(), &["fix", "--no-config", "old.yaml"]);
}

#[test]
fn committed_helm_output_is_not_fixed_its_chart_is_where_the_change_goes() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::root().join("testdata/fix/hardening/deploy.yaml"))
        .unwrap()
        .replacen(
            "apiVersion: apps/v1",
            "# Source: shop/templates/deploy.yaml\napiVersion: apps/v1",
            1,
        );
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, &text).unwrap();
    let run = run_saying(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "rendered.yaml"],
        "fixed 0 findings in 0 files",
    );
    // The report still says what to add.
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("allowPrivilegeEscalation: false"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

/// Copies a fixture folder into `dir`.
fn copy_tree(fixture: &str, dir: &Path) {
    let from = common::root().join("testdata/fix").join(fixture);
    for entry in walk(&from) {
        let to = dir.join(entry.strip_prefix(&from).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &to).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_hardening_fix_through_kustomize_goes_into_the_base_both_overlays_build() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree("kustomize-base", dir.path());
    // A repository: the base, outside the linted folder, is in its tree.
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let overlays: Vec<(String, String)> = [
        "overlays/dev/kustomization.yaml",
        "overlays/prod/kustomization.yaml",
        "overlays/prod/user.yaml",
    ]
    .iter()
    .map(|f| {
        (
            f.to_string(),
            std::fs::read_to_string(dir.path().join(f)).unwrap(),
        )
    })
    .collect();
    let run = run_saying(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "overlays"],
        "in 1 file",
    );
    // The base, which both overlays build on, holds the settings; the
    // overlays are as they were.
    let base = std::fs::read_to_string(dir.path().join("base/deploy.yaml")).unwrap();
    insta::assert_snapshot!(base);
    for (name, text) in &overlays {
        assert_eq!(
            &std::fs::read_to_string(dir.path().join(name)).unwrap(),
            text,
            "{name}"
        );
    }
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!stdout.contains("not hardened"), "{stdout}");
    nothing_left(
        dir.path(),
        &["fix", "--no-config", "--unsafe-fixes", "overlays"],
    );
    // The real Kustomize builds both overlays with the settings, prod's
    // own `runAsUser` merged in.
    let Some(kubectl) = common::tool("kubectl") else {
        return;
    };
    for (overlay, user) in [("dev", None), ("prod", Some(101))] {
        let built = std::process::Command::new(&kubectl)
            .args(["kustomize", &format!("overlays/{overlay}")])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(built.status.success(), "{}", stderr(&built));
        let text = String::from_utf8(built.stdout).unwrap();
        let stream = kslint::yaml::parse_stream(&text, kslint::yaml::Limits::default());
        let context = stream.documents[0]
            .root
            .pointer("/spec/template/spec/containers/0/securityContext")
            .unwrap()
            .to_json();
        let mut expected = serde_json::json!({
            "capabilities": {"drop": ["ALL"]},
            "allowPrivilegeEscalation": false,
            "runAsNonRoot": true,
            "seccompProfile": {"type": "RuntimeDefault"},
            "readOnlyRootFilesystem": true,
        });
        if let Some(user) = user {
            expected["runAsUser"] = user.into();
        }
        assert_eq!(context, expected, "{overlay}");
    }
}

#[test]
fn a_hardening_fix_through_helm_goes_into_the_charts_values() {
    let Some(helm) = common::tool("helm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    copy_tree("helm-values", dir.path());
    let template = std::fs::read_to_string(dir.path().join("shop/templates/deploy.yaml")).unwrap();
    let run = run_saying(
        dir.path(),
        &[
            "fix",
            "--no-config",
            "--unsafe-fixes",
            "--helm-bin",
            helm.to_str().unwrap(),
            "shop",
        ],
        "in 1 file",
    );
    // The values file holds the settings; the template is untouched.
    insta::assert_snapshot!(std::fs::read_to_string(dir.path().join("shop/values.yaml")).unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shop/templates/deploy.yaml")).unwrap(),
        template
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!stdout.contains("not hardened"), "{stdout}");
    nothing_left(
        dir.path(),
        &[
            "fix",
            "--no-config",
            "--unsafe-fixes",
            "--helm-bin",
            helm.to_str().unwrap(),
            "shop",
        ],
    );
}

#[test]
fn unused_annotation_suppressions_are_removed_whole_or_in_part() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy("unused-annotation/pods.yaml", dir.path());
    let mut expected = decoded(&file);
    let run = run_saying(
        dir.path(),
        &["fix", "--no-config", "pods.yaml"],
        "fixed 2 findings in 1 file",
    );
    expected[0]["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("kslint.io/ignore");
    expected[1]["metadata"]["annotations"]["kslint.io/ignore"] =
        "privileged-container -- a node debugger".into();
    assert_eq!(decoded(&file), expected);
    insta::assert_snapshot!(std::fs::read_to_string(&file).unwrap());
    // The name still in use still hides its finding.
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!stdout.contains("unused-suppression"), "{stdout}");
    assert!(!stdout.contains("privileged-container"), "{stdout}");
    nothing_left(dir.path(), &["fix", "--no-config", "pods.yaml"]);
}
