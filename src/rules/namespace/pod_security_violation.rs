//! `pod-security-violation`: see rules/pod-security-violation.md
use crate::diagnostic::Severity;
use crate::index::{ClusterView, NamespaceFact, WorkloadFact};
use crate::pss::{Level, Policy, Version};
use crate::registry::{Rule, RuleContext};
use crate::source::FileId;
use crate::yaml::Span;

crate::declare_rule!(PodSecurityViolation, "pod-security-violation");

/// The three Pod Security Admission modes, strictest effect first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Enforce,
    Warn,
    Audit,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Mode::Enforce => "rejects",
            Mode::Warn => "warns about",
            Mode::Audit => "audits",
        }
    }
}

/// One mode's policy for a workload, and where it was asked for.
struct Demand {
    mode: Mode,
    policy: Policy,
    /// The namespace label that sets the level, if a label does.
    label: Option<(FileId, Span)>,
    /// How the message names where the policy comes from.
    origin: String,
}

/// The policies a namespace's labels (and the configured default) set, as
/// the admission library reads them: an invalid enforce level fails closed
/// (restricted), an invalid warn or audit level fails open (privileged),
/// an invalid version is `latest`.
fn demands(namespace: Option<&NamespaceFact>, default: Option<Policy>) -> Vec<Demand> {
    let mut out = Vec::new();
    for mode in [Mode::Enforce, Mode::Warn, Mode::Audit] {
        let level_label = namespace.and_then(|ns| ns.label(mode.label()));
        let version_label = namespace.and_then(|ns| ns.label(&format!("{}-version", mode.label())));
        let version_text = version_label.and_then(|l| l.value.as_deref());
        let labelled_version = version_text.map(|v| Version::parse(v).unwrap_or(Version::Latest));
        let name = namespace.map_or("", |ns| ns.name.as_str());
        let demand = match (level_label, mode) {
            (Some(label), _) => {
                let text = label.value.as_deref().unwrap_or_default();
                let level = Level::parse(text).unwrap_or(match mode {
                    Mode::Enforce => Level::Restricted,
                    _ => Level::Privileged,
                });
                Demand {
                    mode,
                    // Each label overrides only its own field of the default.
                    policy: Policy {
                        level,
                        version: labelled_version
                            .or(default.filter(|_| mode == Mode::Enforce).map(|d| d.version))
                            .unwrap_or(Version::Latest),
                    },
                    label: namespace.map(|ns| (ns.file, label.span)),
                    origin: if Level::parse(text).is_some() {
                        format!("{} on namespace {name:?}", mode.label())
                    } else {
                        format!(
                            "{} on namespace {name:?}, whose invalid level {text:?} counts as {}",
                            mode.label(),
                            level.as_str()
                        )
                    },
                }
            }
            (None, Mode::Enforce) => match default {
                Some(policy) => Demand {
                    mode,
                    policy: Policy {
                        level: policy.level,
                        version: labelled_version.unwrap_or(policy.version),
                    },
                    label: None,
                    origin: "the pod-security setting".to_owned(),
                },
                None => continue,
            },
            (None, _) => continue,
        };
        if demand.policy.level != Level::Privileged {
            out.push(demand);
        }
    }
    out
}

impl Rule for PodSecurityViolation {
    crate::rule_identity!();

    fn check_run(&self, cluster: &ClusterView, cx: &mut RuleContext) {
        for &workload in cluster.workloads() {
            check_workload(cluster, workload, cx);
        }
    }
}

fn check_workload(cluster: &ClusterView, workload: &WorkloadFact, cx: &mut RuleContext) {
    let Some(verdicts) = &workload.pod_security else {
        return;
    };
    let namespace = workload
        .object
        .namespace
        .as_deref()
        .and_then(|name| cluster.namespace(name));
    let pods = workload.pods();
    // A check failed under enforce is not repeated for warn or audit, nor
    // is a field an enforce check already reported (restrictedVolumes under
    // warn after hostPathVolumes under enforce).
    let mut reported: Vec<&str> = Vec::new();
    let mut reported_spans: Vec<Span> = Vec::new();
    for demand in demands(namespace, cluster.pod_security_default()) {
        // Spans of earlier (stricter-mode) demands only: checks of one
        // demand often share a span, such as a container lacking a
        // securityContext.
        let earlier_spans = reported_spans.len();
        for violation in verdicts.violations(demand.policy) {
            let spans: Vec<Span> = violation
                .spans
                .iter()
                .copied()
                .filter(|s| !reported_spans[..earlier_spans].contains(s))
                .collect();
            if reported.contains(&violation.check) || spans.is_empty() {
                continue;
            }
            reported.push(violation.check);
            reported_spans.extend(&spans);
            let message = format!(
                "Pod Security {} ({}) {} {pods}: {} ({})",
                demand.policy,
                demand.origin,
                demand.mode.verb(),
                violation.reason,
                violation.detail
            );
            let object = Some((workload.slot, workload.object.clone()));
            let (first, rest) = spans.split_first().expect("checked non-empty");
            let mut report = cx
                .report_at(workload.file, *first, message, object)
                .help(violation.fix);
            for span in rest {
                report = report.related(workload.file, *span, "fails the same check");
            }
            if let Some((file, span)) = demand.label {
                let asks = match demand.mode {
                    Mode::Enforce => "enforces",
                    Mode::Warn => "warns at",
                    Mode::Audit => "audits at",
                };
                report = report.related(file, span, format!("this label {asks} {}", demand.policy));
            }
            if demand.mode != Mode::Enforce {
                report.severity(Severity::Warning);
            }
            if let Some(escape) = &workload.escape {
                let last = cx.last_mut().expect("just reported");
                escape.explain(last, workload.file);
            }
        }
    }
}
