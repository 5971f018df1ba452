//! RBAC objects as facts: a Role's or ClusterRole's rules and a binding's
//! subjects, each item with the span it is written at. The analysis that
//! joins them lives in `crate::rbac`; the facts live here, below the run
//! index that collects them.

use crate::diagnostic::{ObjectRef, ObjectSlot};
use crate::k8s::Manifest;
use crate::k8s::selector::{LabelSelector, labels_of};
use crate::source::FileId;
use crate::yaml::{Node, Span};

/// The API group of RBAC objects.
pub const GROUP: &str = "rbac.authorization.k8s.io";

/// A string list entry and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The text.
    pub text: String,
    /// Its span.
    pub span: Span,
}

/// One item of a role's `rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFact {
    /// The rule item.
    pub span: Span,
    /// `apiGroups`.
    pub api_groups: Vec<Item>,
    /// `resources`.
    pub resources: Vec<Item>,
    /// `verbs`.
    pub verbs: Vec<Item>,
    /// `resourceNames`.
    pub resource_names: Vec<String>,
    /// `nonResourceURLs`.
    pub non_resource_urls: Vec<Item>,
}

fn items(node: Option<&Node>) -> Vec<Item> {
    node.and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| {
            Some(Item {
                text: n.as_str()?.to_owned(),
                span: n.span,
            })
        })
        .collect()
}

impl RuleFact {
    fn from_node(node: &Node) -> RuleFact {
        RuleFact {
            span: node.span,
            api_groups: items(node.get("apiGroups")),
            resources: items(node.get("resources")),
            verbs: items(node.get("verbs")),
            resource_names: items(node.get("resourceNames"))
                .into_iter()
                .map(|i| i.text)
                .collect(),
            non_resource_urls: items(node.get("nonResourceURLs")),
        }
    }

    /// `create pods, pods/exec` style summary of what the rule allows.
    pub fn describe(&self) -> String {
        let list = |items: &[Item]| {
            items
                .iter()
                .map(|i| i.text.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("{} {}", list(&self.verbs), list(&self.resources))
    }
}

/// A Role or ClusterRole.
#[derive(Debug, Clone)]
pub struct RoleFact {
    /// Its file; `None` for a built-in ClusterRole.
    pub file: Option<FileId>,
    /// Its place in the file.
    pub slot: ObjectSlot,
    /// Its identity.
    pub object: ObjectRef,
    /// A ClusterRole.
    pub cluster: bool,
    /// Its labels (aggregation selects on them).
    pub labels: Vec<(String, String)>,
    /// `aggregationRule.clusterRoleSelectors`, if it aggregates.
    pub aggregation: Option<Vec<LabelSelector>>,
    /// Its own rules.
    pub rules: Vec<RuleFact>,
}

impl RoleFact {
    /// The facts of a Role or ClusterRole object.
    pub fn from_manifest(object: &Manifest) -> Option<RoleFact> {
        let cluster = match object.kind() {
            "ClusterRole" => true,
            "Role" => false,
            _ => return None,
        };
        if object.group() != GROUP {
            return None;
        }
        let aggregation = object
            .node
            .path(&["aggregationRule", "clusterRoleSelectors"])
            .and_then(Node::as_seq)
            .map(|selectors| {
                selectors
                    .iter()
                    .map(|s| LabelSelector::parse(Some(s)))
                    .collect()
            });
        Some(RoleFact {
            file: Some(object.file),
            slot: object.slot,
            object: object.object.clone(),
            cluster,
            labels: labels_of(object.metadata().and_then(|m| m.get("labels"))),
            aggregation: aggregation.filter(|_| cluster),
            rules: object
                .node
                .get("rules")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter(|r| r.as_map().is_some())
                .map(RuleFact::from_node)
                .collect(),
        })
    }

    /// `ClusterRole edit (built-in)`, `Role shop/debug`.
    pub fn describe(&self) -> String {
        let kind = if self.cluster { "ClusterRole" } else { "Role" };
        let builtin = if self.file.is_none() {
            " (built-in)"
        } else {
            ""
        };
        format!("{kind} {}{builtin}", qualified(&self.object))
    }
}

/// `shop/web`, or `web` without a namespace.
pub fn qualified(object: &ObjectRef) -> String {
    match &object.namespace {
        Some(ns) => format!("{ns}/{}", object.name),
        None => object.name.clone(),
    }
}

/// A subject of a binding.
#[derive(Debug, Clone)]
pub struct Subject {
    /// `ServiceAccount`, `User` or `Group`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its namespace as written.
    pub namespace: Option<String>,
    /// The subject item.
    pub span: Span,
    /// The `name` value (or the item, when it has none).
    pub name_span: Span,
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone)]
pub struct BindingFact {
    /// Its file.
    pub file: FileId,
    /// Its place in the file.
    pub slot: ObjectSlot,
    /// Its identity.
    pub object: ObjectRef,
    /// A ClusterRoleBinding.
    pub cluster: bool,
    /// `roleRef.kind`.
    pub role_kind: String,
    /// `roleRef.name`.
    pub role_name: String,
    /// The `roleRef.name` value (or the binding, when it has none).
    pub role_name_span: Span,
    /// Its subjects.
    pub subjects: Vec<Subject>,
}

impl BindingFact {
    /// The facts of a RoleBinding or ClusterRoleBinding object.
    pub fn from_manifest(object: &Manifest) -> Option<BindingFact> {
        let cluster = match object.kind() {
            "ClusterRoleBinding" => true,
            "RoleBinding" => false,
            _ => return None,
        };
        if object.group() != GROUP {
            return None;
        }
        let role_ref = object.node.get("roleRef");
        let text = |node: Option<&Node>, key: &str| {
            node.and_then(|n| n.get(key))
                .and_then(Node::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let subjects = object
            .node
            .get("subjects")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter(|s| s.as_map().is_some())
            .map(|s| Subject {
                kind: text(Some(s), "kind"),
                name: text(Some(s), "name"),
                namespace: Some(text(Some(s), "namespace")).filter(|n| !n.is_empty()),
                span: s.span,
                name_span: s.get("name").map_or(s.span, |n| n.span),
            })
            .collect();
        Some(BindingFact {
            file: object.file,
            slot: object.slot,
            object: object.object.clone(),
            cluster,
            role_kind: text(role_ref, "kind"),
            role_name: text(role_ref, "name"),
            role_name_span: role_ref
                .and_then(|r| r.get("name"))
                .map_or(object.node.span, |n| n.span),
            subjects,
        })
    }

    /// `RoleBinding shop/debug`.
    pub fn describe(&self) -> String {
        let kind = if self.cluster {
            "ClusterRoleBinding"
        } else {
            "RoleBinding"
        };
        format!("{kind} {}", qualified(&self.object))
    }

    /// The namespace a ServiceAccount subject is in: its own, else (in a
    /// RoleBinding) the binding's, as the authorizer defaults it.
    pub fn subject_namespace<'a>(&'a self, subject: &'a Subject) -> Option<&'a str> {
        subject.namespace.as_deref().or(if self.cluster {
            None
        } else {
            self.object.namespace.as_deref()
        })
    }
}
