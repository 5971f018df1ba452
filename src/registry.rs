//! The rule interface: per-object checks, run-wide checks over the compact
//! [`RunIndex`], and the small builder rules report through.

use crate::diagnostic::{Cause, Diagnostic, Label, ObjectRef, ObjectSlot, Severity};
use crate::index::ClusterView;
use crate::k8s::{Container, Manifest};
use crate::source::FileId;
use crate::yaml::Span;

/// A lint rule. Rules collect diagnostics; they never print.
pub trait Rule: Sync {
    /// The rule id (from `declare_rule!`).
    fn id(&self) -> &'static str;
    /// The catalog file's text (from `declare_rule!`).
    fn doc(&self) -> &'static str;
    /// The Rust type's name (checked against the id by the catalog test).
    fn type_name(&self) -> &'static str;
    /// Checks one object.
    fn check(&self, _object: &Manifest, _cx: &mut RuleContext) {}
    /// Checks relations between the run's objects.
    fn check_run(&self, _cluster: &ClusterView, _cx: &mut RuleContext) {}
    /// Checks a file as a whole: its YAML rather than its objects.
    fn check_file(&self, _file: &FileView<'_>, _cx: &mut RuleContext) {}
}

/// One file as file-level rules see it.
pub struct FileView<'a> {
    /// Its id.
    pub id: FileId,
    /// Its text (lossy when it is not UTF-8).
    pub text: &'a str,
    /// Where the text stops being UTF-8, if it does (nothing was loaded).
    pub not_utf8_at: Option<Span>,
    /// The loaded stream: documents and syntax errors.
    pub stream: &'a crate::yaml::Stream,
    /// The Kubernetes objects in it, in document order unless aliases
    /// copied one.
    pub objects: &'a [Manifest<'a>],
    /// Whether the user named the file (or a generator made it), rather
    /// than a folder walk finding it.
    pub named: bool,
}

impl<'a> FileView<'a> {
    /// The object whose text holds `span`, if any.
    pub fn object_at(&self, span: Span) -> Option<&'a Manifest<'a>> {
        let holds = |o: &Manifest| o.node.span.start <= span.start && span.end <= o.node.span.end;
        let in_order = self
            .objects
            .windows(2)
            .all(|w| w[0].node.span.start <= w[1].node.span.start);
        if in_order {
            let after = self
                .objects
                .partition_point(|o| o.node.span.start <= span.start);
            after
                .checked_sub(1)
                .map(|i| &self.objects[i])
                .filter(|o| holds(o))
        } else {
            self.objects.iter().find(|o| holds(o))
        }
    }
}

/// Declares a rule struct bound to its catalog file `rules/<id>.md`; a
/// missing file is a compile error.
#[macro_export]
macro_rules! declare_rule {
    ($name:ident, $id:literal) => {
        #[doc = concat!("The `", $id, "` rule; see rules/", $id, ".md.")]
        pub struct $name;
        impl $name {
            /// The rule id.
            pub const ID: &'static str = $id;
            const DOC: &'static str =
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/", $id, ".md"));
        }
    };
}

/// Implements the identity half of [`Rule`] for a declared rule.
#[macro_export]
macro_rules! rule_identity {
    () => {
        fn id(&self) -> &'static str {
            Self::ID
        }
        fn doc(&self) -> &'static str {
            Self::DOC
        }
        fn type_name(&self) -> &'static str {
            std::any::type_name::<Self>()
        }
    };
}

/// Where a rule reports, with the rule's id and severity filled in.
pub struct RuleContext<'a> {
    rule: &'static str,
    severity: Severity,
    configured: Option<Severity>,
    object: Option<(FileId, ObjectSlot, &'a ObjectRef)>,
    out: &'a mut Vec<Diagnostic>,
    kubernetes_minor: u16,
    source: Option<crate::edit::Source<'a>>,
}

impl<'a> RuleContext<'a> {
    /// A context for one rule; `configured` is a severity set in config,
    /// which wins over what the rule reports.
    pub fn new(
        rule: &'static str,
        severity: Severity,
        configured: Option<Severity>,
        out: &'a mut Vec<Diagnostic>,
    ) -> Self {
        RuleContext {
            rule,
            severity: configured.unwrap_or(severity),
            configured,
            object: None,
            out,
            kubernetes_minor: crate::pss::NEWEST_MINOR,
            source: None,
        }
    }

    /// Gives rules the text of a file kslint may fix, to build fixes in.
    pub fn with_source(mut self, source: Option<crate::edit::Source<'a>>) -> Self {
        self.source = source;
        self
    }

    /// The text fixes are made in, if the object's file is one kslint may
    /// fix (not a render or build).
    pub fn source(&self) -> Option<&crate::edit::Source<'a>> {
        self.source.as_ref()
    }

    /// Sets the Kubernetes minor version the run targets.
    pub fn targeting(mut self, minor: u16) -> Self {
        self.kubernetes_minor = minor;
        self
    }

    /// The Kubernetes minor version the run targets (`1.N`).
    pub fn kubernetes_minor(&self) -> u16 {
        self.kubernetes_minor
    }

    /// Scopes reports to one object.
    pub fn for_object(&mut self, file: FileId, slot: ObjectSlot, object: &'a ObjectRef) {
        self.object = Some((file, slot, object));
    }

    /// Reports at a span of the current object's file.
    pub fn report(&mut self, span: Span, message: impl Into<String>) -> Report<'_> {
        let (file, slot, object) = self
            .object
            .expect("report() needs an object; use report_at()");
        let mut diagnostic = Diagnostic::new(self.rule, self.severity, file, span, message);
        diagnostic.object = Some(object.clone());
        diagnostic.slot = Some(slot);
        self.push(diagnostic)
    }

    /// Reports at a span of any file, for run-wide rules.
    pub fn report_at(
        &mut self,
        file: FileId,
        span: Span,
        message: impl Into<String>,
        object: Option<(ObjectSlot, ObjectRef)>,
    ) -> Report<'_> {
        let mut diagnostic = Diagnostic::new(self.rule, self.severity, file, span, message);
        if let Some((slot, object)) = object {
            diagnostic.slot = Some(slot);
            diagnostic.object = Some(object);
        }
        self.push(diagnostic)
    }

    /// The diagnostic reported last, to amend it.
    pub fn last_mut(&mut self) -> Option<&mut Diagnostic> {
        self.out.last_mut()
    }

    fn push(&mut self, diagnostic: Diagnostic) -> Report<'_> {
        self.out.push(diagnostic);
        let configured = self.configured;
        Report {
            diagnostic: self.out.last_mut().expect("just pushed"),
            configured,
        }
    }
}

/// A diagnostic being filled in.
pub struct Report<'a> {
    diagnostic: &'a mut Diagnostic,
    configured: Option<Severity>,
}

impl Report<'_> {
    /// What to do about it: an imperative sentence ending in a period.
    pub fn help(self, help: impl Into<String>) -> Self {
        self.diagnostic.help = Some(help.into());
        self
    }

    /// A label on the primary span.
    pub fn label(self, message: impl Into<String>) -> Self {
        self.diagnostic.primary.message = message.into();
        self
    }

    /// A related place.
    pub fn related(self, file: FileId, span: Span, message: impl Into<String>) -> Self {
        self.diagnostic.related.push(Label {
            file,
            span,
            message: message.into(),
        });
        self
    }

    /// Ties the finding to a container (for per-container suppressions).
    pub fn container(self, container: &Container) -> Self {
        self.diagnostic.container = Some(container.name().to_owned());
        self
    }

    /// The root cause this finding shares with other rules' findings.
    pub fn cause(self, cause: Cause) -> Self {
        self.diagnostic.cause = Some(cause);
        self
    }

    /// A change that resolves the finding, if there is one.
    pub fn fix(self, fix: impl Into<Option<crate::diagnostic::Fix>>) -> Self {
        self.diagnostic.fix = fix.into();
        self
    }

    /// Raises or lowers this finding's severity, unless config fixed it.
    pub fn severity(self, severity: Severity) -> Self {
        if self.configured.is_none() {
            self.diagnostic.severity = severity;
        }
        self
    }
}
