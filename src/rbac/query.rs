//! `kslint who-can`: which subjects, and which workloads through their
//! service accounts, the manifests allow to perform one action.

use super::authorize::{allows, matching_resource};
use super::{BindingFact, Granted, Model, RoleFact, Subject, qualified};
use crate::index::{ClusterView, RunIndex, WorkloadFact};
use crate::source::FileId;
use crate::yaml::Span;
use crate::yaml::line_index::LineCol;
use serde_json::{Value, json};

/// The API group of common resources, so `who-can create deployments`
/// means `apps` as `kubectl auth can-i` does.
const GROUPS: &[(&str, &str)] = &[
    ("deployments", "apps"),
    ("replicasets", "apps"),
    ("statefulsets", "apps"),
    ("daemonsets", "apps"),
    ("controllerrevisions", "apps"),
    ("jobs", "batch"),
    ("cronjobs", "batch"),
    ("roles", "rbac.authorization.k8s.io"),
    ("rolebindings", "rbac.authorization.k8s.io"),
    ("clusterroles", "rbac.authorization.k8s.io"),
    ("clusterrolebindings", "rbac.authorization.k8s.io"),
    ("ingresses", "networking.k8s.io"),
    ("networkpolicies", "networking.k8s.io"),
    ("horizontalpodautoscalers", "autoscaling"),
    ("poddisruptionbudgets", "policy"),
    ("leases", "coordination.k8s.io"),
    ("customresourcedefinitions", "apiextensions.k8s.io"),
    ("certificatesigningrequests", "certificates.k8s.io"),
];

/// What is asked: a verb on a group's resource, maybe in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The verb.
    pub verb: String,
    /// The API group (`""` for core).
    pub group: String,
    /// `pods` or `pods/exec`.
    pub resource: String,
    /// Only grants that apply in this namespace.
    pub namespace: Option<String>,
}

impl Question {
    /// Parses `RESOURCE[.GROUP][/SUBRESOURCE]` as kubectl does; an explicit
    /// group wins over the table of common resources.
    pub fn new(verb: &str, resource: &str, group: Option<&str>, namespace: Option<&str>) -> Self {
        let (base, sub) = match resource.split_once('/') {
            Some((base, sub)) => (base, Some(sub)),
            None => (resource, None),
        };
        let (name, dotted_group) = match base.split_once('.') {
            Some((name, group)) => (name, Some(group)),
            None => (base, None),
        };
        let group = group
            .or(dotted_group)
            .or_else(|| GROUPS.iter().find(|(r, _)| *r == name).map(|(_, g)| *g))
            .unwrap_or("");
        let resource = match sub {
            Some(sub) => format!("{name}/{sub}"),
            None => name.to_owned(),
        };
        Question {
            verb: verb.to_owned(),
            group: group.to_owned(),
            resource,
            namespace: namespace.map(str::to_owned),
        }
    }
}

/// One grant that answers the question.
pub struct Access<'a> {
    /// Who.
    pub subject: &'a Subject,
    /// Through which binding.
    pub binding: &'a BindingFact,
    /// The role bound.
    pub role: &'a RoleFact,
    /// The rule that allows it.
    pub granted: Granted<'a>,
    /// Where the rule entry is that matches.
    pub entry: Span,
    /// Workloads that run as this subject (for service accounts and their
    /// groups), with whether their pods mount a token.
    pub workloads: Vec<(&'a WorkloadFact, bool)>,
}

/// Where a binding's grant applies: a namespace, or `None` for
/// cluster-wide (or wherever a namespace-less RoleBinding is applied).
fn applies_in(binding: &BindingFact, namespace: Option<&str>) -> bool {
    binding.cluster
        || namespace.is_none()
        || RunIndex::same_namespace(binding.object.namespace.as_deref(), namespace)
}

/// Answers a question over a run's facts.
pub fn who_can<'a>(index: &'a RunIndex, question: &Question) -> Vec<Access<'a>> {
    let model = Model::new(&index.roles).with_paths(&index.file_names);
    let cluster = ClusterView::alone(index);
    let mut out = Vec::new();
    for binding in &index.bindings {
        if !applies_in(binding, question.namespace.as_deref())
            || (!binding.cluster && super::authorize::is_cluster_scoped(&question.resource))
        {
            continue;
        }
        let Some(role) = model.role_of(binding) else {
            continue;
        };
        let rules = model.rules_of(role);
        let allowing: Vec<Granted> = rules
            .iter()
            .filter(|g| allows(g.rule, &question.verb, &question.group, &question.resource))
            .copied()
            .collect();
        // An unrestricted grant first; one limited to named objects still
        // answers the question, with the names.
        let Some(granted) = allowing
            .iter()
            .find(|g| g.rule.resource_names.is_empty())
            .or(allowing.first())
            .copied()
        else {
            continue;
        };
        let entry = matching_resource(granted.rule, &question.resource)
            .map_or(granted.rule.span, |r| r.span);
        for subject in &binding.subjects {
            let workloads = index
                .workloads
                .iter()
                .filter(|w| super::names_workload(binding, subject, w))
                .map(|w| (w, super::token_mounted(&cluster, w)))
                .collect();
            out.push(Access {
                subject,
                binding,
                role,
                granted,
                entry,
                workloads,
            });
        }
    }
    out
}

/// Where a place of the run is, for users: file name, line and column.
pub type Locate<'a> = &'a dyn Fn(FileId, Span) -> (String, LineCol);

fn place(locate: Locate, file: FileId, span: Span) -> String {
    let (name, at) = locate(file, span);
    format!("{name}:{}:{}", at.line, at.column)
}

fn place_json(locate: Locate, file: Option<FileId>, span: Span) -> Value {
    match file {
        None => Value::Null,
        Some(file) => {
            let (name, at) = locate(file, span);
            json!({"file": name, "line": at.line, "column": at.column})
        }
    }
}

fn subject_name(access: &Access) -> String {
    let namespace = match access.subject.kind.as_str() {
        "ServiceAccount" => access.binding.subject_namespace(access.subject),
        _ => None,
    };
    match namespace {
        Some(ns) => format!("{} {ns}/{}", access.subject.kind, access.subject.name),
        None => format!("{} {}", access.subject.kind, access.subject.name),
    }
}

fn scope(binding: &BindingFact) -> String {
    match (&binding.object.namespace, binding.cluster) {
        (_, true) => "cluster-wide".to_owned(),
        (Some(ns), false) => format!("in namespace {ns}"),
        (None, false) => "in the namespace it is applied to".to_owned(),
    }
}

/// The human answer. Every name and place is cleaned of control
/// characters: they come from the linted tree.
pub fn render_human(question: &Question, accesses: &[Access], locate: Locate) -> String {
    render_human_raw(question, accesses, &|file, span| {
        let (name, at) = locate(file, span);
        (crate::text::clean_line(&name).into_owned(), at)
    })
}

/// A name from the tree on one line, control characters shown as symbols.
fn c(text: impl AsRef<str>) -> String {
    crate::text::clean_line(text.as_ref()).into_owned()
}

fn render_human_raw(question: &Question, accesses: &[Access], locate: Locate) -> String {
    let group = if question.group.is_empty() {
        String::new()
    } else {
        format!(" ({})", question.group)
    };
    let namespace = question
        .namespace
        .as_deref()
        .map_or_else(String::new, |ns| format!(" in namespace {ns}"));
    let mut answer = format!(
        "Who can `{} {}`{}{}:\n",
        c(&question.verb),
        c(&question.resource),
        c(group),
        c(namespace)
    );
    if accesses.is_empty() {
        answer.push_str("\n  nobody, as far as these manifests say\n");
        return answer;
    }
    // Overlays of one base, and value sets of one chart, repeat an access
    // at the same places: each is shown once.
    let mut shown = std::collections::HashSet::new();
    for access in accesses {
        let mut out = String::new();
        out.push_str(&format!(
            "\n  {} ({})\n",
            c(subject_name(access)),
            c(scope(access.binding))
        ));
        out.push_str(&format!(
            "    binding  {}  {}\n",
            c(access.binding.describe()),
            place(locate, access.binding.file, access.subject.span)
        ));
        let rule = match access.granted.source.file {
            Some(file) => format!("  {}", place(locate, file, access.entry)),
            None => String::new(),
        };
        let mut role = c(access.role.describe());
        if !std::ptr::eq(access.role, access.granted.source) {
            role.push_str(&format!(" via {}", c(access.granted.source.describe())));
        }
        let names = &access.granted.rule.resource_names;
        if !names.is_empty() {
            role.push_str(&format!(" (only {})", c(names.join(", "))));
        }
        out.push_str(&format!(
            "    role     {role}{rule}  [{}]\n",
            c(access.granted.rule.describe())
        ));
        let mut workloads = std::collections::HashSet::new();
        for (workload, token) in &access.workloads {
            let token = if *token { "" } else { " (no token mounted)" };
            let line = format!(
                "    workload {} {}{token}  {}\n",
                c(&workload.object.kind),
                c(qualified(&workload.object)),
                place(
                    locate,
                    workload.file,
                    workload
                        .service_account_span
                        .unwrap_or(workload.pod_spec_span)
                )
            );
            if workloads.insert(line.clone()) {
                out.push_str(&line);
            }
        }
        if shown.insert(out.clone()) {
            answer.push_str(&out);
        }
    }
    answer
}

/// Values in order, each once (overlays and value sets repeat them).
fn unique(values: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    values.filter(|v| seen.insert(v.to_string())).collect()
}

/// The JSON answer.
pub fn render_json(question: &Question, accesses: &[Access], locate: Locate) -> String {
    let subjects = accesses.iter().map(|access| {
            let subject_namespace = match access.subject.kind.as_str() {
                "ServiceAccount" => access.binding.subject_namespace(access.subject),
                _ => None,
            };
            json!({
                "kind": access.subject.kind,
                "name": access.subject.name,
                "namespace": subject_namespace,
                "scope": if access.binding.cluster { Value::Null } else { json!(access.binding.object.namespace) },
                "binding": {
                    "kind": if access.binding.cluster { "ClusterRoleBinding" } else { "RoleBinding" },
                    "namespace": access.binding.object.namespace,
                    "name": access.binding.object.name,
                    "at": place_json(locate, Some(access.binding.file), access.subject.span),
                },
                "role": {
                    "kind": if access.role.cluster { "ClusterRole" } else { "Role" },
                    "namespace": access.role.object.namespace,
                    "name": access.role.object.name,
                    "builtin": access.role.file.is_none(),
                },
                "rule": place_json(locate, access.granted.source.file, access.entry),
                "resourceNames": access.granted.rule.resource_names,
                "workloads": unique(access.workloads.iter().map(|(w, token)| json!({
                    "kind": w.object.kind,
                    "namespace": w.object.namespace,
                    "name": w.object.name,
                    "tokenMounted": token,
                    "at": place_json(locate, Some(w.file), w.service_account_span.unwrap_or(w.pod_spec_span)),
                }))),
            })
        });
    let subjects = unique(subjects);
    let report = json!({
        "verb": question.verb,
        "apiGroup": question.group,
        "resource": question.resource,
        "namespace": question.namespace,
        "subjects": subjects,
    });
    serde_json::to_string_pretty(&report).expect("JSON values serialize") + "\n"
}

#[cfg(test)]
mod tests {
    use super::Question;

    #[test]
    fn resources_parse_as_kubectl_does() {
        let q = Question::new("create", "pods/portforward", None, Some("shop"));
        assert_eq!(
            (q.group.as_str(), q.resource.as_str()),
            ("", "pods/portforward")
        );
        let q = Question::new("create", "deployments", None, None);
        assert_eq!(q.group, "apps");
        let q = Question::new("get", "widgets.example.com/status", None, None);
        assert_eq!(
            (q.group.as_str(), q.resource.as_str()),
            ("example.com", "widgets/status")
        );
        let q = Question::new("get", "deployments", Some("extensions"), None);
        assert_eq!(q.group, "extensions");
    }
}
