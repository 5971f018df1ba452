//! One finding per root cause. Several rules can report one problem from
//! their own angles (a container without a `securityContext` misses six
//! settings; one `*` role rule grants every danger). Rules stay separate,
//! so ids, `--disable`, suppressions and the JSON records keep working;
//! this module ties the findings of one cause into a group and words each
//! group as the one finding a person fixes.

use crate::diagnostic::{Applicability, Cause, Diagnostic, Hardening, Label, ObjectRef, Severity};
use std::collections::HashMap;

/// What findings must share to be one: their cause's kind (and for a role
/// rule, which item), the file and object they are in, and the container.
#[derive(Hash, PartialEq, Eq)]
struct Key<'a> {
    item: Option<u32>,
    file: crate::source::FileId,
    rendered_from: Option<crate::source::FileId>,
    object: Option<&'a ObjectRef>,
    slot: Option<crate::diagnostic::ObjectSlot>,
    source_object: Option<(crate::source::FileId, u32)>,
    container: Option<&'a str>,
}

fn key(diagnostic: &Diagnostic) -> Option<Key<'_>> {
    let item = match diagnostic.cause.as_ref()? {
        Cause::Unhardened { .. } => None,
        Cause::RoleRule { item, .. } => Some(*item),
    };
    Some(Key {
        item,
        file: diagnostic.primary.file,
        rendered_from: diagnostic.rendered_from,
        object: diagnostic.object.as_ref(),
        slot: diagnostic.slot,
        source_object: diagnostic.source_object,
        container: diagnostic.container.as_deref(),
    })
}

/// Numbers the groups of sorted findings (from 1, in report order); a
/// finding whose cause no other finding shares gets no group.
pub fn assign(diagnostics: &mut [Diagnostic]) {
    let mut members: HashMap<Key, Vec<usize>> = HashMap::new();
    for (i, diagnostic) in diagnostics.iter().enumerate() {
        if let Some(key) = key(diagnostic) {
            members.entry(key).or_default().push(i);
        }
    }
    let mut groups: Vec<Vec<usize>> = members.into_values().filter(|m| m.len() > 1).collect();
    groups.sort_unstable_by_key(|m| m[0]);
    for (number, group) in groups.iter().enumerate() {
        for &i in group {
            diagnostics[i].group = Some(number as u32 + 1);
        }
    }
}

/// One thing to fix: a finding, or a group of findings with one cause,
/// worded as one.
#[derive(Debug)]
pub struct Finding<'a> {
    /// The findings it stands for, most severe first.
    pub members: Vec<&'a Diagnostic>,
    /// The highest severity among them.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// What to do. Its line breaks are kslint's own (a YAML block to
    /// paste): text from the tree in it has been made one line already, so
    /// a name cannot start a line that a CI log reads as a command.
    pub help: Option<String>,
    /// The place to edit.
    pub primary: Label,
    /// Related places.
    pub related: Vec<Label>,
}

impl Finding<'_> {
    /// The rule ids it covers, in member order, each once.
    pub fn rules(&self) -> Vec<&'static str> {
        let mut rules: Vec<&'static str> = Vec::new();
        for member in &self.members {
            if !rules.contains(&member.rule) {
                rules.push(member.rule);
            }
        }
        rules
    }

    /// The object it is about.
    pub fn object(&self) -> Option<&ObjectRef> {
        self.members[0].object.as_ref()
    }

    /// What `kslint fix` does about it, in a sentence; `None` if it has no
    /// fix at all.
    pub fn fix_note(&self) -> Option<String> {
        let fixes: Vec<&crate::diagnostic::Fix> =
            self.members.iter().filter_map(|m| m.fix.as_ref()).collect();
        let safe = fixes
            .iter()
            .filter(|f| f.applicability == Applicability::Safe)
            .count();
        let whole = fixes.len() == self.members.len();
        let what = match (self.members.len(), fixes.first()) {
            (1, Some(fix)) => format!(" ({})", fix.title),
            _ => String::new(),
        };
        match (safe, fixes.len() - safe) {
            (0, 0) => None,
            (_, 0) if whole => Some(format!("`kslint fix` makes this change{what}.")),
            (0, _) if whole => Some(format!(
                "`kslint fix --unsafe-fixes` makes this change{what}; review it before you merge."
            )),
            (0, _) => Some(
                "`kslint fix --unsafe-fixes` makes part of this change; review it before you merge.".to_owned(),
            ),
            _ => Some(
                "`kslint fix` makes part of this change, `kslint fix --unsafe-fixes` more (review those before you merge).".to_owned(),
            ),
        }
    }
}

/// How many findings of each severity people read: a group counts once,
/// at its highest severity. Returns (errors, warnings, notes).
pub fn counts(diagnostics: &[Diagnostic]) -> (usize, usize, usize) {
    let mut highest: HashMap<u32, Severity> = HashMap::new();
    let mut counts = (0, 0, 0);
    let mut add = |severity: Severity| match severity {
        Severity::Error => counts.0 += 1,
        Severity::Warning => counts.1 += 1,
        Severity::Note => counts.2 += 1,
    };
    for diagnostic in diagnostics {
        match diagnostic.group {
            None => add(diagnostic.severity),
            Some(group) => {
                let entry = highest.entry(group).or_insert(diagnostic.severity);
                *entry = (*entry).max(diagnostic.severity);
            }
        }
    }
    highest.into_values().for_each(add);
    counts
}

/// What `kslint fix` does to the findings people read (a group counts
/// once): how many it fixes whole, and how many more `--unsafe-fixes`
/// fixes whole. A group some of whose members have no fix counts in
/// neither.
pub fn fixable(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let mut groups: HashMap<u32, Option<Applicability>> = HashMap::new();
    let mut counts = (0, 0);
    let mut add = |fix: Option<Applicability>| match fix {
        Some(Applicability::Safe) => counts.0 += 1,
        Some(Applicability::Unsafe) => counts.1 += 1,
        None => {}
    };
    for diagnostic in diagnostics {
        let fix = diagnostic.fix.as_ref().map(|f| f.applicability);
        match diagnostic.group {
            None => add(fix),
            Some(group) => {
                groups
                    .entry(group)
                    .and_modify(|whole| *whole = whole.zip(fix).map(|(a, b)| a.max(b)))
                    .or_insert(fix);
            }
        }
    }
    groups.into_values().for_each(add);
    counts
}

/// The findings of a run as people read them: each group once, where its
/// first member is, the other findings as they are.
pub fn findings(diagnostics: &[Diagnostic]) -> Vec<Finding<'_>> {
    let mut by_group: HashMap<u32, Vec<&Diagnostic>> = HashMap::new();
    for diagnostic in diagnostics {
        if let Some(group) = diagnostic.group {
            by_group.entry(group).or_default().push(diagnostic);
        }
    }
    let mut findings = Vec::with_capacity(diagnostics.len());
    for diagnostic in diagnostics {
        match diagnostic.group {
            None => findings.push(single(diagnostic)),
            Some(group) => {
                if let Some(members) = by_group.remove(&group) {
                    findings.push(grouped(members));
                }
            }
        }
    }
    findings
}

fn single(diagnostic: &Diagnostic) -> Finding<'_> {
    Finding {
        members: vec![diagnostic],
        severity: diagnostic.severity,
        message: diagnostic.message.clone(),
        help: diagnostic
            .help
            .as_deref()
            .map(|h| crate::text::clean_line(h).into_owned()),
        primary: diagnostic.primary.clone(),
        related: diagnostic.related.clone(),
    }
}

fn grouped(mut members: Vec<&Diagnostic>) -> Finding<'_> {
    // Most severe first; among equals, the order the causes list.
    members.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| hardening(a).cmp(&hardening(b)))
    });
    let severity = members[0].severity;
    match &members[0].cause {
        Some(Cause::Unhardened { container, .. }) => {
            let container = container.clone();
            unhardened(members, severity, &container)
        }
        _ => role_rule(members, severity),
    }
}

fn hardening(diagnostic: &Diagnostic) -> Option<Hardening> {
    match diagnostic.cause {
        Some(Cause::Unhardened { setting, .. }) => Some(setting),
        _ => None,
    }
}

/// Places other than the primary one, each once, with the labels of the
/// findings that point there.
fn other_places(
    members: &[&Diagnostic],
    primary: &Label,
    label: impl Fn(&Diagnostic) -> String,
) -> Vec<Label> {
    let mut places: Vec<Label> = Vec::new();
    for member in members {
        let place = &member.primary;
        if place.file == primary.file && place.span == primary.span {
            continue;
        }
        match places
            .iter_mut()
            .find(|p| p.file == place.file && p.span == place.span)
        {
            Some(existing) => {
                existing.message.push_str(", ");
                existing.message.push_str(&label(member));
            }
            None => places.push(Label {
                file: place.file,
                span: place.span,
                message: label(member),
            }),
        }
    }
    places
}

/// The related labels of the members, each place once.
fn member_labels(members: &[&Diagnostic], shown: &mut Vec<Label>) {
    for member in members {
        for label in &member.related {
            if !shown
                .iter()
                .any(|l| l.file == label.file && l.span == label.span)
            {
                shown.push(label.clone());
            }
        }
    }
}

/// The place most members point at (the container's `securityContext` or
/// name, where every missing setting goes).
fn common_place(members: &[&Diagnostic]) -> Label {
    let mut best = &members[0].primary;
    let mut best_count = 0;
    for member in members {
        let count = members
            .iter()
            .filter(|m| {
                m.primary.file == member.primary.file && m.primary.span == member.primary.span
            })
            .count();
        if count > best_count {
            best = &member.primary;
            best_count = count;
        }
    }
    // Its label, if any, stays: "this patch removes `securityContext`".
    best.clone()
}

fn unhardened<'a>(
    members: Vec<&'a Diagnostic>,
    severity: Severity,
    container: &str,
) -> Finding<'a> {
    let mut settings: Vec<Hardening> = members.iter().filter_map(|m| hardening(m)).collect();
    settings.sort_unstable();
    settings.dedup();
    let phrases: Vec<&str> = settings
        .iter()
        .filter_map(|s| match s {
            Hardening::DropAll if settings.contains(&Hardening::DropNetRaw) => {
                Some("default capabilities kept (NET_RAW too)")
            }
            Hardening::DropAll => Some("default capabilities kept"),
            Hardening::DropNetRaw if settings.contains(&Hardening::DropAll) => None,
            Hardening::DropNetRaw => Some("NET_RAW kept"),
            Hardening::NoPrivilegeEscalation => Some("privilege escalation allowed"),
            Hardening::ReadOnlyRoot => Some("writable root filesystem"),
            Hardening::NonRoot => Some("may run as root"),
            Hardening::Seccomp => Some("no seccomp profile"),
        })
        .collect();
    let message = format!("{container} is not hardened: {}", phrases.join(", "));
    let primary = common_place(&members);
    let mut related = other_places(&members, &primary, |m| match m.cause {
        Some(Cause::Unhardened {
            setting: Hardening::DropAll | Hardening::DropNetRaw,
            ..
        }) => "`drop` lacks ALL".to_owned(),
        _ => "set here".to_owned(),
    });
    member_labels(&members, &mut related);
    let help = format!(
        "Add these settings to the container's securityContext (merge them with any already there):\n{}",
        security_context(&settings)
    );
    Finding {
        members,
        severity,
        message,
        help: Some(help),
        primary,
        related,
    }
}

/// The `securityContext` block that sets every missing setting, ready to
/// paste under a container.
pub fn security_context(settings: &[Hardening]) -> String {
    let mut block = String::from("securityContext:");
    let mut capabilities = false;
    for setting in settings {
        let line = match setting {
            Hardening::NoPrivilegeEscalation => "\n  allowPrivilegeEscalation: false",
            Hardening::DropAll | Hardening::DropNetRaw if !capabilities => {
                capabilities = true;
                "\n  capabilities: {drop: [ALL]}"
            }
            Hardening::DropAll | Hardening::DropNetRaw => continue,
            Hardening::ReadOnlyRoot => "\n  readOnlyRootFilesystem: true",
            Hardening::NonRoot => "\n  runAsNonRoot: true",
            Hardening::Seccomp => "\n  seccompProfile: {type: RuntimeDefault}",
        };
        block.push_str(line);
    }
    block
}

fn role_rule(mut members: Vec<&Diagnostic>, severity: Severity) -> Finding<'_> {
    let is_wildcard =
        |d: &Diagnostic| matches!(d.cause, Some(Cause::RoleRule { wildcard: true, .. }));
    // A `*` is the fix for the whole item: it leads.
    members.sort_by_key(|d| !is_wildcard(d));
    let mut holder = "";
    let mut grants: Vec<&str> = Vec::new();
    let mut consequences: Vec<&str> = Vec::new();
    for member in &members {
        if let Some(Cause::RoleRule {
            holder: h,
            grant,
            consequence,
            ..
        }) = &member.cause
        {
            holder = h;
            if !grants.contains(&grant.as_str()) {
                grants.push(grant);
                consequences.push(consequence);
            }
        }
    }
    let message = if is_wildcard(members[0]) {
        format!(
            "{}; among what it grants: {}",
            members[0].message,
            crate::text::join_and(&grants[1..])
        )
    } else {
        format!(
            "this role rule grants {}: {holder} can {}",
            crate::text::join_and(&grants),
            consequences.join("; ")
        )
    };
    let primary = Label {
        message: String::new(),
        ..members[0].primary.clone()
    };
    // Under a leading `*`, the other dangers are what the `*` grants: its
    // own labels (the other `*`s of the item) say all there is.
    let mut related = if is_wildcard(members[0]) {
        Vec::new()
    } else {
        other_places(&members, &primary, |m| match &m.cause {
            Some(Cause::RoleRule { grant, .. }) => grant.clone(),
            _ => String::new(),
        })
    };
    let labelled = if is_wildcard(members[0]) {
        &members[..1]
    } else {
        &members[..]
    };
    member_labels(labelled, &mut related);
    let mut helps: Vec<std::borrow::Cow<str>> = Vec::new();
    for member in &members {
        if let Some(help) = member.help.as_deref().map(crate::text::clean_line)
            && !helps.contains(&help)
        {
            helps.push(help);
        }
    }
    // Narrowing a `*` is the one fix; the other rules' advice follows from it.
    if is_wildcard(members[0]) {
        helps.truncate(1);
    }
    Finding {
        members,
        severity,
        message,
        help: (!helps.is_empty()).then(|| helps.join("\n")),
        primary,
        related,
    }
}
