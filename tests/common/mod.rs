//! Helpers shared by the integration tests.
#![allow(dead_code)]

use kslint::diagnostic::Severity;
use kslint::report::{self, Format, HumanOptions};
use kslint::runner::{Outcome, Text, lint_texts};
use kslint::settings::Settings;
use std::path::Path;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Lints in-memory files with only the given rules on. `unused-suppression`
/// needs the rules it judges, so with it every default rule runs and only
/// the asked rules' findings are kept.
pub fn lint_only(files: &[(&str, &str)], rules: &[&str]) -> Outcome {
    let texts = files
        .iter()
        .map(|(name, text)| Text::Given {
            name: (*name).to_owned(),
            text: (*text).to_owned(),
        })
        .collect();
    if !rules.contains(&"unused-suppression") {
        return lint_texts(texts, &Settings::only(rules));
    }
    let mut outcome = lint_texts(texts, &Settings::default());
    outcome.diagnostics.retain(|d| rules.contains(&d.rule));
    let count = |s: Severity| {
        outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    outcome.summary.errors = count(Severity::Error);
    outcome.summary.warnings = count(Severity::Warning);
    outcome.summary.notes = count(Severity::Note);
    outcome
}

/// Human output as a terminal-independent snapshot (no colour, width 80).
pub fn human(outcome: &Outcome) -> String {
    report::render(
        Format::Human,
        outcome,
        HumanOptions {
            color: false,
            width: 80,
        },
    )
}

/// The path relative to the repository root, with forward slashes.
pub fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// An external tool a test drives (Graphviz, pre-commit, actionlint), if it
/// is on PATH. `.ci/run` installs them and sets `KSLINT_REQUIRE_TOOLS=1`,
/// which turns a missing tool into a failure; elsewhere the test says it
/// skipped, so `cargo test` stays green on a machine without them.
pub fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("KSLINT_REQUIRE_TOOLS").is_none(),
            "`{name}` is required here (KSLINT_REQUIRE_TOOLS is set) but not on PATH"
        );
        eprintln!("skipped: `{name}` is not installed (.ci/run installs it)");
    }
    found
}

/// The shared corpus of real projects (`KSLINT_SHARED`, else `../shared`
/// beside the repository), if it is there. CI has it; a fresh clone does
/// not, and the tests that need it then say they skipped (and
/// `tests/optional.rs` lists the skip as an ignored test).
pub fn corpus() -> Option<std::path::PathBuf> {
    let shared = std::env::var_os("KSLINT_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"));
    let corpus = shared.join("corpus/real");
    if corpus.is_dir() {
        return Some(corpus);
    }
    assert!(
        std::env::var_os("KSLINT_REQUIRE_TOOLS").is_none(),
        "the shared corpus is required here (KSLINT_REQUIRE_TOOLS is set) but missing at {}",
        corpus.display()
    );
    eprintln!("skipped: the shared corpus is not at {}", corpus.display());
    None
}

/// Runs the kslint binary in `dir`, without colour or standard input.
pub fn kslint(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kslint"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}
