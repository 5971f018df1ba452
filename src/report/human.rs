//! Human output: miette's graphical reports, one per finding, then a
//! one-line summary. Labels in other files become related reports, each
//! with its own source (a miette report has one source).

use super::HumanOptions;
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::outcome::Outcome;
use crate::source::SourceDb;
use crate::text;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

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
    source: NamedSource<Excerpt>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn new(diagnostic: &Diagnostic, db: &SourceDb) -> Self {
        let primary_file = diagnostic.primary.file;
        let mut here = vec![(&diagnostic.primary, true)];
        let mut related = Vec::new();
        for label in &diagnostic.related {
            if label.file == primary_file {
                here.push((label, false));
            } else {
                let unlabeled = Label {
                    message: String::new(),
                    ..label.clone()
                };
                let (source, labels) = excerpt(db, &[(&unlabeled, true)]);
                related.push(Report {
                    message: text::clean_line(&label.message).into_owned(),
                    code: "",
                    severity: Severity::Note,
                    help: None,
                    source,
                    labels,
                    related: Vec::new(),
                });
            }
        }
        let (source, labels) = excerpt(db, &here);
        let message = match &diagnostic.object {
            Some(object) => format!("{}: {}", object, diagnostic.message),
            None => diagnostic.message.clone(),
        };
        Report {
            message: text::clean_line(&message).into_owned(),
            code: diagnostic.rule,
            severity: diagnostic.severity,
            help: diagnostic
                .help
                .as_ref()
                .map(|h| text::clean_line(h).into_owned()),
            source,
            labels,
            related,
        }
    }
}

/// Source lines longer than this many characters are cut around the
/// finding: a one-line JSON manifest must not be printed whole per finding.
const MAX_LINE_CHARS: usize = 160;

/// Characters kept before the finding on a cut line.
const CUT_LEAD_CHARS: usize = 40;

/// The lines of one file a report shows: each label's lines with one line
/// of context, long lines cut around the labels, control characters shown
/// as symbols. miette reads only this, never the whole file, so the cost
/// of a report does not grow with the file.
#[derive(Debug)]
struct Excerpt {
    text: String,
    lines: Vec<ExcerptLine>,
    /// Runs of `lines` that are consecutive in the file.
    blocks: Vec<std::ops::Range<usize>>,
}

#[derive(Debug)]
struct ExcerptLine {
    /// 0-based line number in the file.
    number: usize,
    /// Where the line starts in the file.
    file_start: usize,
    /// The part of the file's line shown (bytes of the file).
    window: std::ops::Range<usize>,
    /// Characters of the line before the window.
    window_column: usize,
    /// Where the line starts in the excerpt's text.
    start: usize,
    /// Bytes of the `…` before the window (0 when uncut).
    prefix: usize,
    /// Where the window's text ends in the excerpt's text.
    end: usize,
}

/// Builds the excerpt for labels of one file, and the labels in its
/// coordinates.
fn excerpt(db: &SourceDb, labels: &[(&Label, bool)]) -> (NamedSource<Excerpt>, Vec<LabeledSpan>) {
    let file = db.file(labels[0].0.file);
    let text: &str = &file.text;
    let index = file.line_index();
    let clamp = |offset: u32| {
        let mut at = (offset as usize).min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let line_of = |offset: usize| index.line_of(offset);
    // The empty "line" after a final line break is no line to show.
    let last_line = index
        .line_count()
        .saturating_sub(if text.ends_with('\n') { 2 } else { 1 });
    // Line ranges to show, merged when they touch.
    let mut ranges: Vec<(usize, usize)> = labels
        .iter()
        .map(|(label, _)| {
            let start = line_of(clamp(label.span.start));
            let end = line_of(clamp(label.span.end.max(label.span.start)));
            (start.saturating_sub(1), (end + 1).min(last_line))
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 + 1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let points: Vec<usize> = labels
        .iter()
        .flat_map(|(label, _)| [clamp(label.span.start), clamp(label.span.end)])
        .collect();
    let mut excerpt = Excerpt {
        text: String::new(),
        lines: Vec::new(),
        blocks: Vec::new(),
    };
    for (first, last) in merged {
        let block_start = excerpt.lines.len();
        for number in first..=last {
            let range = index.line_range(text, number);
            let window = window(&text[range.clone()], range.start, &points);
            let window_column = text[range.start..window.start].chars().count();
            let start = excerpt.text.len();
            if window.start > range.start {
                excerpt.text.push('…');
            }
            let prefix = excerpt.text.len() - start;
            excerpt
                .text
                .push_str(&text::clean_block(&text[window.clone()]));
            let end = excerpt.text.len();
            if window.end < range.end {
                excerpt.text.push('…');
            }
            excerpt.text.push('\n');
            excerpt.lines.push(ExcerptLine {
                number,
                file_start: range.start,
                window,
                window_column,
                start,
                prefix,
                end,
            });
        }
        excerpt.blocks.push(block_start..excerpt.lines.len());
    }
    let spans: Vec<LabeledSpan> = labels
        .iter()
        .map(|(label, primary)| {
            let start = excerpt.place(text, clamp(label.span.start));
            let mut end = excerpt
                .place(text, clamp(label.span.end.max(label.span.start)))
                .max(start);
            // An empty span would render past the line; show one
            // character instead.
            if end == start {
                end = excerpt.text[start..]
                    .chars()
                    .next()
                    .filter(|c| *c != '\n')
                    .map_or(start, |c| start + c.len_utf8());
            }
            let message =
                (!label.message.is_empty()).then(|| text::clean_line(&label.message).into_owned());
            let span = SourceSpan::new(start.into(), end - start);
            if *primary {
                LabeledSpan::new_primary_with_span(message, span)
            } else {
                LabeledSpan::new_with_span(message, span)
            }
        })
        .collect();
    let name = text::clean_line(&file.name).into_owned();
    (NamedSource::new(name, excerpt), spans)
}

/// The part of a line to show: all of it when short, else a window around
/// the first point of interest (a label's start or end) on it.
fn window(line: &str, line_start: usize, points: &[usize]) -> std::ops::Range<usize> {
    let whole = line_start..line_start + line.len();
    // Bytes bound characters: most lines need no count at all.
    if line.len() <= MAX_LINE_CHARS {
        return whole;
    }
    let chars = line.chars().count();
    if chars <= MAX_LINE_CHARS {
        return whole;
    }
    let first = points
        .iter()
        .copied()
        .filter(|p| whole.contains(p))
        .min()
        .map_or(0, |p| line[..p - line_start].chars().count());
    let from = first.saturating_sub(CUT_LEAD_CHARS);
    let to = (from + MAX_LINE_CHARS).min(chars);
    let byte = |char_index: usize| {
        line.char_indices()
            .nth(char_index)
            .map_or(line.len(), |(i, _)| i)
    };
    line_start + byte(from)..line_start + byte(to)
}

impl Excerpt {
    /// The excerpt offset of a file offset on one of its lines (clamped to
    /// the part of the line shown).
    fn place(&self, text: &str, offset: usize) -> usize {
        let i = self
            .lines
            .partition_point(|l| l.file_start <= offset)
            .saturating_sub(1);
        let Some(line) = self.lines.get(i) else {
            return 0;
        };
        let clamped = offset.clamp(line.window.start, line.window.end);
        let shown: usize = text[line.window.start..clamped]
            .chars()
            .map(|c| {
                if text::needs_picture(c) {
                    text::picture(c).len_utf8()
                } else {
                    c.len_utf8()
                }
            })
            .sum();
        line.start + line.prefix + shown
    }
}

impl miette::SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let offset = span.offset();
        let end = offset + span.len();
        // Only within one run of consecutive lines: a gap holds lines not
        // shown, so spans across it are not one snippet.
        let block = self
            .blocks
            .iter()
            .find(|b| {
                let block_end = self.lines[b.end - 1].end + 4;
                self.lines[b.start].start <= offset && end <= block_end
            })
            .ok_or(miette::MietteError::OutOfBounds)?;
        let block_start = self.lines[block.start].start;
        let block_end = self
            .lines
            .get(block.end)
            .map_or(self.text.len(), |next| next.start);
        let block_text = &self.text[block_start..block_end];
        let inner = block_text.read_span(
            &SourceSpan::new((offset - block_start).into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        let data = inner.data();
        let first_line = block_text[..inner.span().offset()]
            .bytes()
            .filter(|b| *b == b'\n')
            .count();
        let first = &self.lines[block.start + first_line];
        let line_count = data.iter().filter(|b| **b == b'\n').count().max(1);
        // Columns count characters of the file's line, cut or not.
        let column = if context_lines_before == 0 {
            let line = self
                .lines
                .iter()
                .rfind(|l| l.start <= offset)
                .unwrap_or(first);
            let from = line.start + line.prefix;
            let to = offset.clamp(from, line.end);
            line.window_column + self.text[from..to].chars().count()
        } else {
            0
        };
        Ok(Box::new(miette::MietteSpanContents::new(
            data,
            SourceSpan::new(
                (inner.span().offset() + block_start).into(),
                inner.span().len(),
            ),
            first.number,
            column,
            line_count,
        )))
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
