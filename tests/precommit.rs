//! The pre-commit hooks with the real pre-commit: `pre-commit try-repo`
//! builds kslint from this repository (language: rust) and runs each hook
//! on a temporary git repository, once clean and once with a bad manifest.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "kslint")
        .env("GIT_AUTHOR_EMAIL", "kslint@example.com")
        .env("GIT_COMMITTER_NAME", "kslint")
        .env("GIT_COMMITTER_EMAIL", "kslint@example.com")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn try_repo(pre_commit: &Path, dir: &Path, hook: &str) -> Output {
    let root = common::root();
    Command::new(pre_commit)
        .args([
            "try-repo",
            root.to_str().unwrap(),
            hook,
            "--all-files",
            "--color",
            "never",
        ])
        .current_dir(dir)
        // Reuse pre-commit's environments and the release build between runs.
        .env("PRE_COMMIT_HOME", root.join("target/pre-commit-home"))
        .env("CARGO_TARGET_DIR", root.join("target/pre-commit-build"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn both_hooks_pass_good_and_fail_bad_manifests() {
    let Some(pre_commit) = common::tool("pre-commit") else {
        return;
    };
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    git(dir, &["init", "--quiet"]);
    let fixtures = common::root().join("testdata/hooks");
    std::fs::copy(fixtures.join("good.yaml"), dir.join("good.yaml")).unwrap();
    git(dir, &["add", "good.yaml"]);
    git(dir, &["commit", "--quiet", "-m", "good"]);
    for hook in ["kslint", "kslint-files"] {
        let output = try_repo(&pre_commit, dir, hook);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{hook} on a good manifest:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.contains("Passed"), "{text}");
    }
    std::fs::copy(fixtures.join("bad.yaml"), dir.join("bad.yaml")).unwrap();
    git(dir, &["add", "bad.yaml"]);
    for hook in ["kslint", "kslint-files"] {
        let output = try_repo(&pre_commit, dir, hook);
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{hook} on a bad manifest:\n{text}"
        );
        assert!(text.contains("Failed"), "{text}");
        assert!(text.contains("privileged-container"), "{text}");
        assert!(text.contains("bad.yaml:18:"), "{text}");
    }
}
