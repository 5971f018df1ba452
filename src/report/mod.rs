//! Reporters: one module per output format, each a pure function from a
//! run's outcome to text.

pub mod concise;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use crate::outcome::Outcome;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style diagnostics with source snippets.
    Human,
    /// One line per finding: `file:line:col: severity[rule] message`.
    Concise,
    /// The JSON contract (RULES.md).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (inline annotations).
    Github,
    /// JUnit XML, for the test reports of GitLab, Jenkins and Azure DevOps.
    Junit,
    /// GitLab Code Quality JSON.
    Gitlab,
    /// A Markdown summary table (CI job summaries).
    Markdown,
}

/// Options for human output.
#[derive(Debug, Clone, Copy)]
pub struct HumanOptions {
    /// ANSI colours.
    pub color: bool,
    /// Terminal width.
    pub width: usize,
}

/// Renders an outcome in a format. Machine-readable formats write `##` in
/// a way that means the same to a parser but not to a CI log that reads
/// `##[command]` anywhere in a line (the text may quote the linted tree).
pub fn render(format: Format, outcome: &Outcome, human: HumanOptions) -> String {
    use crate::text::{escape_log_commands_json as json_safe, escape_log_commands_xml as xml_safe};
    match format {
        Format::Human => human::render(outcome, human),
        Format::Concise => concise::render(outcome),
        Format::Json => json_safe(json::render(outcome)),
        Format::Sarif => json_safe(sarif::render(outcome)),
        Format::Github => github::render(outcome),
        Format::Junit => xml_safe(junit::render(outcome)),
        Format::Gitlab => json_safe(gitlab::render(outcome)),
        Format::Markdown => markdown::render(outcome),
    }
}

/// `Found 2 errors and 1 warning in 3 files (7 objects).`
pub fn summary_line(outcome: &Outcome) -> String {
    let s = outcome.summary;
    // Findings as people read them: a group of one cause counts once.
    let (errors, warnings, notes) = crate::group::counts(&outcome.diagnostics);
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let read = format!(
        "{} ({})",
        plural(s.files, "file"),
        plural(s.objects, "object")
    );
    // Where the findings are: "in 2 of 9 files", and whether some lie in
    // files the named paths only reach (a Kustomize base, a chart).
    let scope = if s.files_with_findings == s.files {
        read.clone()
    } else {
        format!("{} of {read}", s.files_with_findings)
    };
    let scope = match s.outside_inputs {
        0 => scope,
        n => format!(
            "{scope}; {} outside the paths given (Kustomize bases or chart sources)",
            if n == 1 {
                "1 of them lies".to_owned()
            } else {
                format!("{n} of them lie")
            }
        ),
    };
    let counts: Vec<String> = [(errors, "error"), (warnings, "warning"), (notes, "note")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| plural(n, w))
        .collect();
    let line = match counts.len() {
        0 => format!("No problems found in {read}."),
        1 => format!("Found {} in {scope}.", counts[0]),
        _ => format!(
            "Found {} and {} in {scope}.",
            counts[..counts.len() - 1].join(", "),
            counts[counts.len() - 1]
        ),
    };
    let line = match s.outside_change {
        Some(n) => format!(
            "{line} {} outside the change not shown.",
            match n {
                1 => "1 finding".to_owned(),
                n => format!("{n} findings"),
            }
        ),
        None => line,
    };
    let line = with_baseline(line, s);
    // What `kslint fix` would do, counted as the findings are.
    match crate::group::fixable(&outcome.diagnostics) {
        (0, 0) => line,
        (0, more) => format!(
            "{line} {} fixable with `kslint fix --unsafe-fixes`.",
            plural(more, "finding")
        ),
        (safe, 0) => format!(
            "{line} {} fixable with `kslint fix`.",
            plural(safe, "finding")
        ),
        (safe, more) => format!(
            "{line} {} fixable with `kslint fix` ({more} more with `--unsafe-fixes`).",
            plural(safe, "finding")
        ),
    }
}

/// The summary line with what a baseline hid and how much of it is stale.
fn with_baseline(line: String, s: crate::outcome::Summary) -> String {
    match (s.baselined, s.baseline_stale) {
        (Some(baselined), Some(stale)) => {
            let mut line = format!(
                "{line} {} in the baseline not shown.",
                match baselined {
                    1 => "1 finding".to_owned(),
                    n => format!("{n} findings"),
                }
            );
            if stale > 0 {
                line.push_str(&format!(
                    " {} of the baseline no longer {}: `kslint baseline prune` removes {}.",
                    match stale {
                        1 => "1 entry".to_owned(),
                        n => format!("{n} entries"),
                    },
                    if stale == 1 { "matches" } else { "match" },
                    if stale == 1 { "it" } else { "them" },
                ));
            }
            line
        }
        _ => line,
    }
}
