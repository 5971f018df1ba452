//! The result of a run, as reporters and queries read it: the files, the
//! findings, the counts and the cross-object facts. Plain data: nothing
//! here knows how a run is made.

use crate::diagnostic::{Diagnostic, Severity};
use crate::index::RunIndex;
use crate::source::{FileId, SourceDb, SourceFile};
use crate::yaml::Span;
use crate::yaml::line_index::LineCol;
use std::collections::HashMap;
use std::sync::Arc;

/// Counts for the report's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Kubernetes objects found.
    pub objects: usize,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Note findings.
    pub notes: usize,
    /// Files with findings (human summary only).
    #[serde(skip)]
    pub files_with_findings: usize,
    /// Of those, files outside the paths named on the command line, read
    /// through a Kustomize base or a chart (human summary only).
    #[serde(skip)]
    pub outside_inputs: usize,
    /// Findings left out because the baseline holds them (set when a
    /// baseline was used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baselined: Option<usize>,
    /// Baseline entries no finding matches any more (set when a baseline
    /// was used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_stale: Option<usize>,
    /// Findings left out because they touch no line of the change (set
    /// in pull-request mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_change: Option<usize>,
}

/// Maps places in a generated text (a Kustomize build) back to the file
/// the generator read them from.
pub trait SourceMap: Send + Sync + std::fmt::Debug {
    /// The file (as shown to users), its text and the place in it that
    /// `span` of the generated text came from.
    fn source_of(&self, span: Span) -> Option<(String, &str, Span)>;
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome {
    /// Every file, for reporters.
    pub db: SourceDb,
    /// Findings, sorted by file, position and rule.
    pub diagnostics: Vec<Diagnostic>,
    /// Counts.
    pub summary: Summary,
    /// The run's cross-object facts (RBAC, namespaces, workloads), for
    /// queries such as `who-can`.
    pub index: RunIndex,
    /// Generated texts, by id, and how their places map to source files.
    pub source_maps: HashMap<FileId, Arc<dyn SourceMap>>,
}

impl Outcome {
    /// A place of the run as users see it: the file's name and the line and
    /// column. A place in a generated text is the place in the file it was
    /// made from.
    pub fn place(&self, file: FileId, span: Span) -> (String, LineCol) {
        if let Some((name, text, local)) = self
            .source_maps
            .get(&file)
            .and_then(|map| map.source_of(span))
        {
            let at = SourceFile::new(name.clone(), Arc::from(text)).line_col(local.start);
            return (name, at);
        }
        let source = self.db.file(file);
        (source.name.clone(), source.line_col(span.start))
    }

    /// Whether any finding is at or above the fail level.
    pub fn fails(&self, fail_on: Option<Severity>) -> bool {
        fail_on.is_some_and(|level| self.diagnostics.iter().any(|d| d.severity >= level))
    }
}
