//! Diagnostics as data: what a rule found, where, and how to fix it.
//! Reporters turn these into text; nothing here knows about output formats.

use crate::source::FileId;
use crate::yaml::Span;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational; never fails a run.
    Note,
    /// Fails a run at the default fail level.
    Warning,
    /// A serious problem.
    Error,
}

impl Severity {
    /// The lowercase name used in config, JSON and the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "note" => Ok(Severity::Note),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity {other:?}: expected error, warning or note"
            )),
        }
    }
}

/// The Kubernetes object a finding belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// `apiVersion` as written.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, if set.
    pub namespace: Option<String>,
    /// `metadata.name` (or `generateName`), empty if neither is set.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A place in a file with a short message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The file.
    pub file: FileId,
    /// The bytes.
    pub span: Span,
    /// What this place has to do with the finding (may be empty).
    pub message: String,
}

/// Whether applying a fix can change what reaches the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// The cluster gets the same objects (the text only says it plainly).
    Safe,
    /// The objects change (hardening that can break a workload).
    Unsafe,
}

impl Applicability {
    /// The lowercase name used in the catalog and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// One text replacement in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The file.
    pub file: FileId,
    /// The bytes to replace (empty to insert).
    pub span: Span,
    /// The new text.
    pub replacement: String,
}

/// What a fix does to the objects its file decodes to; `kslint fix`
/// decodes the fixed file and refuses a fix that did anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// They stay the same: the text says the same thing another way.
    Same,
    /// Fields or list items are added; nothing there is changed or removed.
    Adds,
    /// Values change (checked where the fix is made).
    Changes,
}

/// A change that resolves a finding: edits of the files users own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// Whether it can change what reaches the cluster.
    pub applicability: Applicability,
    /// What it does to the decoded objects.
    pub effect: Effect,
    /// What it does, in a few words (`write \`true\``).
    pub title: String,
    /// The edits, none overlapping.
    pub edits: Vec<Edit>,
}

/// Where in its file a finding's object lives, for suppressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectSlot {
    /// The object's index among the file's objects.
    pub index: u32,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule id.
    pub rule: &'static str,
    /// Severity after config overrides.
    pub severity: Severity,
    /// What is wrong, lowercase, no final period.
    pub message: String,
    /// The place to edit.
    pub primary: Label,
    /// Related places, possibly in other files.
    pub related: Vec<Label>,
    /// What to do, a sentence ending in a period.
    pub help: Option<String>,
    /// The object, `None` for file-level findings.
    pub object: Option<ObjectRef>,
    /// The object's place in its file (for annotation suppressions).
    pub slot: Option<ObjectSlot>,
    /// The container the finding is about (for per-container suppressions).
    pub container: Option<String>,
    /// The chart render it was found in, when traced back from one.
    pub rendered_from: Option<FileId>,
    /// For a finding in a Kustomize build: where its object starts in the
    /// file the build read it from, the same in every overlay.
    pub source_object: Option<(FileId, u32)>,
    /// A change that resolves it, if the rule knows one.
    pub fix: Option<Fix>,
    /// The root cause this finding shares with findings of other rules, so
    /// that reporters show one finding per fix.
    pub cause: Option<Cause>,
    /// The group of findings with one root cause this finding belongs to
    /// (numbered from 1 in report order), set once a run's findings are
    /// sorted; `None` for a finding that stands alone.
    pub group: Option<u32>,
}

/// A root cause that several rules report on, each from its own angle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A container lacks a hardening setting. Every missing setting of one
    /// container is one fix: a `securityContext` that sets them all.
    Unhardened {
        /// The setting missing.
        setting: Hardening,
        /// The container, as messages name it (`container "web"`).
        container: String,
    },
    /// One item of a role's `rules` grants a dangerous permission; every
    /// danger of one item is one fix: narrowing that item.
    RoleRule {
        /// The item's index in the role's `rules`.
        item: u32,
        /// Who holds the permission (`whoever it is bound to`).
        holder: &'static str,
        /// What the item grants, e.g. `create` on `pods`.
        grant: String,
        /// What the holder can do with it.
        consequence: String,
        /// The grant is a `*`: listing what the holder needs instead
        /// removes every other danger of the item too.
        wildcard: bool,
    },
}

/// A container hardening setting whose absence a rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hardening {
    /// `allowPrivilegeEscalation: false`.
    NoPrivilegeEscalation,
    /// `capabilities.drop: [ALL]`.
    DropAll,
    /// NET_RAW dropped (by `drop: [ALL]`).
    DropNetRaw,
    /// `readOnlyRootFilesystem: true`.
    ReadOnlyRoot,
    /// `runAsNonRoot: true`.
    NonRoot,
    /// `seccompProfile.type: RuntimeDefault`.
    Seccomp,
}

impl Diagnostic {
    /// What identifies the finding independent of line numbers: rule,
    /// file (as `file_name` names it), object, container and message.
    /// FNV-1a, so it is the same in every build of kslint; SARIF
    /// fingerprints and baselines are made of it.
    pub fn content_hash(&self, file_name: &str) -> u64 {
        let object = self
            .object
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let parts = [
            self.rule,
            file_name,
            object.as_str(),
            self.container.as_deref().unwrap_or(""),
            self.message.as_str(),
        ];
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for byte in part.bytes().chain([0]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    }

    /// A diagnostic with no object, help or related labels.
    pub fn new(
        rule: &'static str,
        severity: Severity,
        file: FileId,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            rule,
            severity,
            message: message.into(),
            primary: Label {
                file,
                span,
                message: String::new(),
            },
            related: Vec::new(),
            help: None,
            object: None,
            slot: None,
            container: None,
            rendered_from: None,
            source_object: None,
            fix: None,
            cause: None,
            group: None,
        }
    }

    /// Adds a help sentence.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The order reporters use: file, position, rule, message.
    pub fn sort_key(&self) -> (FileId, u32, u32, &'static str, &str) {
        (
            self.primary.file,
            self.primary.span.start,
            self.primary.span.end,
            self.rule,
            &self.message,
        )
    }
}
