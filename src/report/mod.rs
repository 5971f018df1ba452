//! Reporters: one module per output format, each a pure function from a
//! run's outcome to text.

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
        Format::Json => json_safe(json::render(outcome)),
        Format::Sarif => json_safe(sarif::render(outcome)),
        Format::Github => github::render(outcome),
        Format::Junit => xml_safe(junit::render(outcome)),
        Format::Gitlab => json_safe(gitlab::render(outcome)),
        Format::Markdown => markdown::render(outcome),
    }
}
