//! Human output: miette's graphical reports, one per finding, then a
//! one-line summary. Labels in other files become related reports, each
//! with its own source (a miette report has one source).

use super::HumanOptions;
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::runner::Outcome;
use crate::source::SourceDb;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;
use std::sync::Arc;

/// Renders every finding and the summary.
pub fn render(outcome: &Outcome, options: HumanOptions) -> String {
    render_with(outcome, options, true)
}

/// Renders every finding, and the summary line unless `summary` is false
/// (`--quiet`).
pub fn render_with(outcome: &Outcome, options: HumanOptions, summary: bool) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false)
        .with_urls(false);
    let mut out = String::new();
    for diagnostic in &outcome.diagnostics {
        let report = Report::new(diagnostic, &outcome.db);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{}: {}\n", diagnostic.rule, diagnostic.message));
        }
        out.push('\n');
    }
    if summary {
        out.push_str(&summary_line(outcome));
        out.push('\n');
    }
    out
}

/// Counts per rule (`--statistics`): count, rule, severity, summary, most
/// frequent first.
pub fn statistics(outcome: &Outcome) -> String {
    let mut counts: Vec<(&str, crate::diagnostic::Severity, usize)> = Vec::new();
    for d in &outcome.diagnostics {
        match counts
            .iter_mut()
            .find(|(rule, severity, _)| *rule == d.rule && *severity == d.severity)
        {
            Some(entry) => entry.2 += 1,
            None => counts.push((d.rule, d.severity, 1)),
        }
    }
    counts.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(b.0)));
    let width = counts
        .iter()
        .map(|(rule, ..)| rule.len())
        .max()
        .unwrap_or(4);
    let mut out = String::new();
    for (rule, severity, count) in &counts {
        let summary = crate::catalog::CATALOG
            .iter()
            .find(|m| m.id == *rule)
            .map_or("", |m| m.summary.as_str());
        // `as_str`: Display ignores widths.
        let severity = severity.as_str();
        out.push_str(&format!(
            "{count:>6}  {rule:<width$}  {severity:<7}  {summary}\n"
        ));
    }
    out.push_str(&summary_line(outcome));
    out.push('\n');
    out
}

/// `Found 2 errors and 1 warning in 3 files (7 objects).`
pub fn summary_line(outcome: &Outcome) -> String {
    let s = outcome.summary;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let scope = format!(
        "{} ({})",
        plural(s.files, "file"),
        plural(s.objects, "object")
    );
    let counts: Vec<String> = [
        (s.errors, "error"),
        (s.warnings, "warning"),
        (s.notes, "note"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, w)| plural(n, w))
    .collect();
    match counts.len() {
        0 => format!("No problems found in {scope}."),
        1 => format!("Found {} in {scope}.", counts[0]),
        _ => format!(
            "Found {} and {} in {scope}.",
            counts[..counts.len() - 1].join(", "),
            counts[counts.len() - 1]
        ),
    }
}

/// A finding as miette sees it.
struct Report {
    message: String,
    code: &'static str,
    severity: Severity,
    help: Option<String>,
    source: NamedSource<Arc<str>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn new(diagnostic: &Diagnostic, db: &SourceDb) -> Self {
        let primary_file = diagnostic.primary.file;
        let mut labels = vec![labeled(&diagnostic.primary, true, db)];
        let mut related = Vec::new();
        for label in &diagnostic.related {
            if label.file == primary_file {
                labels.push(labeled(label, false, db));
            } else {
                related.push(Report {
                    message: label.message.clone(),
                    code: "",
                    severity: Severity::Note,
                    help: None,
                    source: named(label, db),
                    labels: vec![labeled(
                        &Label {
                            message: String::new(),
                            ..label.clone()
                        },
                        true,
                        db,
                    )],
                    related: Vec::new(),
                });
            }
        }
        let message = match &diagnostic.object {
            Some(object) => format!("{}: {}", object, diagnostic.message),
            None => diagnostic.message.clone(),
        };
        Report {
            message,
            code: diagnostic.rule,
            severity: diagnostic.severity,
            help: diagnostic.help.clone(),
            source: named(&diagnostic.primary, db),
            labels,
            related,
        }
    }
}

fn named(label: &Label, db: &SourceDb) -> NamedSource<Arc<str>> {
    let file = db.file(label.file);
    NamedSource::new(&file.name, file.text.clone())
}

fn labeled(label: &Label, primary: bool, db: &SourceDb) -> LabeledSpan {
    let text = &db.file(label.file).text;
    let start = (label.span.start as usize).min(text.len());
    // An empty span at the end of a line would render past it; show one
    // character instead.
    let len = if label.span.is_empty() {
        usize::from(start < text.len())
    } else {
        label.span.len()
    };
    let message = (!label.message.is_empty()).then(|| label.message.clone());
    let span = SourceSpan::new(start.into(), len);
    if primary {
        LabeledSpan::new_primary_with_span(message, span)
    } else {
        LabeledSpan::new_with_span(message, span)
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}
