//! Human output: miette's graphical reports, one per finding, then a
//! one-line summary. Labels in other files become related reports, each
//! with its own source (a miette report has one source).

use super::HumanOptions;
use crate::diagnostic::{Label, Severity};
use crate::group::Finding;
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
/// (`--quiet`). Errors come first, then warnings, each in file order, with
/// a snippet; notes (advice that never fails a run) follow as one line
/// each. A run with several findings opens with what matters most.
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
    let findings = crate::group::findings(&outcome.diagnostics);
    let (notes, mut shown): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.severity == Severity::Note);
    shown.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let mut out = String::new();
    if summary && shown.len() > 1 {
        out.push_str(&risks(outcome, &findings));
    }
    for finding in shown {
        let report = Report::new(finding, &outcome.db);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{}: {}\n", report.code, finding.message));
        }
        out.push('\n');
    }
    if !notes.is_empty() {
        out.push_str("Notes (advice, never a failure; `kslint explain RULE` says more):\n");
        for note in notes {
            out.push_str("  ");
            out.push_str(&super::concise::line(outcome, note));
            out.push('\n');
        }
        out.push('\n');
    }
    if summary {
        out.push_str(&super::summary_line(outcome));
        out.push('\n');
    }
    out
}

/// The opening summary: how many workloads and containers each kind of
/// risk touches, the gravest first.
fn risks(outcome: &Outcome, findings: &[Finding]) -> String {
    use crate::diagnostic::Cause;
    use crate::rules::rbac::RbacWorkloadEscalation;
    use std::collections::HashSet;
    let failing: HashSet<&crate::diagnostic::ObjectRef> = findings
        .iter()
        .filter(|f| f.severity > Severity::Note)
        .filter_map(Finding::object)
        .collect();
    let node_takeover: HashSet<&crate::diagnostic::ObjectRef> = outcome
        .index
        .workloads
        .iter()
        .filter(|w| w.escape.is_some() && failing.contains(&w.object))
        .map(|w| &w.object)
        .collect();
    let escalating: HashSet<&crate::diagnostic::ObjectRef> = findings
        .iter()
        .filter(|f| f.members[0].rule == RbacWorkloadEscalation::ID)
        .filter_map(Finding::object)
        .collect();
    fn cause_of<'a>(finding: &&'a Finding) -> Option<&'a Cause> {
        finding.members[0].cause.as_ref()
    }
    let unhardened = findings
        .iter()
        .filter(|f| matches!(cause_of(f), Some(Cause::Unhardened { .. })))
        .count();
    let role_rules = findings
        .iter()
        .filter(|f| matches!(cause_of(f), Some(Cause::RoleRule { .. })))
        .count();
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut lines: Vec<String> = Vec::new();
    if !node_takeover.is_empty() {
        lines.push(format!(
            "{} take over {} node (and every pod on it, in any namespace)",
            count(node_takeover.len(), "workload can", "workloads can"),
            if node_takeover.len() == 1 {
                "its"
            } else {
                "their"
            }
        ));
    }
    if !escalating.is_empty() {
        lines.push(format!(
            "{} as a service account whose RBAC lets an attacker in the pod go further",
            count(escalating.len(), "workload runs", "workloads run")
        ));
    }
    if role_rules > 0 {
        lines.push(format!(
            "{} dangerous permissions",
            count(role_rules, "role rule grants", "role rules grant")
        ));
    }
    if unhardened > 0 {
        lines.push(format!(
            "{} not hardened (each finding shows the securityContext that fixes it)",
            count(unhardened, "container is", "containers are")
        ));
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("Most important:\n");
    for line in lines {
        out.push_str("  - ");
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
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
        let meta = crate::catalog::meta(rule);
        let varies = counts.iter().filter(|(r, ..)| r == rule).count() > 1;
        // A rule under two severities says which case each one is.
        let summary = match meta {
            Some(meta) if varies => severity_case(meta, *severity).unwrap_or_else(|| {
                format!("its severity depends on the case: `kslint explain {rule}`")
            }),
            Some(meta) => meta.summary.clone(),
            None => String::new(),
        };
        // `as_str`: Display ignores widths.
        let severity = severity.as_str();
        out.push_str(&format!(
            "{count:>6}  {rule:<width$}  {severity:<7}  {summary}\n"
        ));
    }
    out.push_str(&super::summary_line(outcome));
    out.push('\n');
    out
}

/// The first sentence of the catalog's `- **severity**:` case of a rule.
fn severity_case(meta: &crate::catalog::RuleMeta, severity: Severity) -> Option<String> {
    let marker = format!("- **{}**:", severity.as_str());
    let body = meta.section("What it does")?;
    let start = body.find(&marker)? + marker.len();
    let rest = &body[start..];
    let end = rest.find("\n- ").unwrap_or(rest.len());
    let case = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = case.find(". ").map_or(case.as_str(), |i| &case[..i]);
    Some(sentence.trim_end_matches('.').to_owned())
}

/// A finding as miette sees it.
struct Report {
    message: String,
    code: String,
    severity: Severity,
    help: Option<String>,
    source: NamedSource<Excerpt>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn new(finding: &Finding, db: &SourceDb) -> Self {
        let primary_file = finding.primary.file;
        let short = |label: &Label| Label {
            message: cut_label(&label.message),
            span: first_line(db, label),
            ..label.clone()
        };
        let mut here = vec![(short(&finding.primary), true)];
        // Places in other files: one snippet per file, the first place's
        // message as its title.
        let mut elsewhere: Vec<Vec<Label>> = Vec::new();
        let hidden = finding.related.len().saturating_sub(MAX_RELATED);
        for label in finding.related.iter().take(MAX_RELATED) {
            if label.file == primary_file {
                here.push((short(label), false));
            } else {
                match elsewhere.iter_mut().find(|g| g[0].file == label.file) {
                    Some(group) => group.push(short(label)),
                    None => elsewhere.push(vec![short(label)]),
                }
            }
        }
        let mut related = Vec::new();
        for mut group in elsewhere {
            let title = label_title(&finding.related, &group[0]);
            group[0].message.clear();
            let labels: Vec<(&Label, bool)> =
                group.iter().enumerate().map(|(i, l)| (l, i == 0)).collect();
            let (source, labels) = excerpt(db, &labels);
            related.push(Report {
                message: text::clean_line(&title).into_owned(),
                code: String::new(),
                severity: Severity::Note,
                help: None,
                source,
                labels,
                related: Vec::new(),
            });
        }
        let here: Vec<(&Label, bool)> = here.iter().map(|(l, p)| (l, *p)).collect();
        let (source, labels) = excerpt(db, &here);
        let message = match finding.object() {
            Some(object) => format!("{}: {}", object, finding.message),
            None => finding.message.clone(),
        };
        Report {
            message: text::clean_line(&message).into_owned(),
            code: finding.rules().join(", "),
            severity: finding.severity,
            // The help may hold a YAML block to paste: its lines stay.
            help: finding.help.as_ref().map(|h| {
                let mut help = text::clean_block(h).into_owned();
                if let Some(note) = finding.fix_note() {
                    help.push('\n');
                    help.push_str(&text::clean_line(&note));
                }
                if hidden > 0 {
                    help.push_str(&format!(
                        "\n({hidden} more related {}: `--format json` lists every one.)",
                        if hidden == 1 { "place" } else { "places" }
                    ));
                }
                help
            }),
            source,
            labels,
            related,
        }
    }
}

/// A label's span cut at the end of its first line: a related place is a
/// pointer, and a whole mapping under it would print every line of it.
fn first_line(db: &SourceDb, label: &Label) -> crate::yaml::Span {
    let text: &str = &db.file(label.file).text;
    let start = (label.span.start as usize).min(text.len());
    let end = (label.span.end as usize).min(text.len());
    match text.get(start..end).and_then(|s| s.find('\n')) {
        Some(newline) => crate::yaml::Span::new(start, start + newline),
        None => label.span,
    }
}

/// Related places shown per finding: a chain of bindings and roles can be
/// long, and the first places show where to act.
const MAX_RELATED: usize = 2;

/// The whole message of a related place (the snippet's label is cut).
fn label_title(all: &[Label], shown: &Label) -> String {
    all.iter()
        .find(|l| l.file == shown.file && l.span == shown.span)
        .map_or_else(|| shown.message.clone(), |l| l.message.clone())
}

/// Label texts longer than this many characters are cut: a label sits
/// beside a snippet line, and JSON keeps the whole text.
const MAX_LABEL_CHARS: usize = 100;

fn cut_label(message: &str) -> String {
    if message.chars().count() <= MAX_LABEL_CHARS {
        return message.to_owned();
    }
    let mut cut: String = message.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
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
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
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
