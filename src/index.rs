//! The run index: the compact facts that cross-object rules need, taken
//! from each file while its trees are alive, so the trees can be dropped.
//! Later analyses (RBAC, namespaces) add their facts here.

use crate::diagnostic::{ObjectRef, ObjectSlot};
use crate::k8s::Manifest;
use crate::k8s::node_access::{NodeEscape, node_escape};
use crate::k8s::selector::{LabelSelector, labels_of};
use crate::pss::{self, Verdicts};
use crate::rbac::{BindingFact, RoleFact};
use crate::source::FileId;
use crate::yaml::{Node, Span};
use std::collections::HashMap;

/// A workload's pod-level identity facts.
#[derive(Debug, Clone)]
pub struct WorkloadFact {
    /// Its file.
    pub file: FileId,
    /// Its place in the file.
    pub slot: ObjectSlot,
    /// Its identity.
    pub object: ObjectRef,
    /// The service account it runs as (`default` when unset).
    pub service_account: String,
    /// The `serviceAccountName` (or deprecated `serviceAccount`) entry.
    pub service_account_span: Option<Span>,
    /// The pod spec's `spec:` key.
    pub pod_spec_span: Span,
    /// The pod's `automountServiceAccountToken`, and where it is.
    pub automount: Option<(bool, Span)>,
    /// The pods' labels.
    pub pod_labels: Vec<(String, String)>,
    /// Where the pods' labels are (or would go): the pod's `labels` key,
    /// else its `metadata`, else the pod spec.
    pub pod_labels_span: Span,
    /// Whether the pods use the node's network (no NetworkPolicy applies).
    pub host_network: bool,
    /// How the pods can take over their node, if they can.
    pub escape: Option<NodeEscape>,
    /// Every Pod Security check's verdict, when a rule needs them.
    pub pod_security: Option<Box<Verdicts>>,
    /// A projected volume mounts a service account token whatever
    /// `automountServiceAccountToken` says.
    pub projected_token: bool,
}

/// A Pod Security label of a Namespace.
#[derive(Debug, Clone)]
pub struct PodSecurityLabel {
    /// The part after `pod-security.kubernetes.io/` (`enforce`, `warn-version`).
    pub name: String,
    /// The value, if it is a string.
    pub value: Option<String>,
    /// The whole `key: value` entry.
    pub span: Span,
}

/// A Namespace's facts.
#[derive(Debug, Clone)]
pub struct NamespaceFact {
    /// Its file.
    pub file: FileId,
    /// Its name.
    pub name: String,
    /// Its `pod-security.kubernetes.io/*` labels.
    pub pod_security: Vec<PodSecurityLabel>,
}

impl NamespaceFact {
    /// A Pod Security label by its short name (`enforce`).
    pub fn label(&self, name: &str) -> Option<&PodSecurityLabel> {
        self.pod_security.iter().find(|l| l.name == name)
    }
}

/// A NetworkPolicy's facts.
#[derive(Debug, Clone)]
pub struct NetworkPolicyFact {
    /// Its namespace, if set.
    pub namespace: Option<String>,
    /// The pods it selects.
    pub pod_selector: LabelSelector,
}

/// A ServiceAccount's facts.
#[derive(Debug, Clone)]
pub struct ServiceAccountFact {
    /// Its namespace, if set.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Its `automountServiceAccountToken`.
    pub automount: Option<bool>,
}

/// Facts of the whole run.
#[derive(Debug, Default)]
pub struct RunIndex {
    /// Every workload with a pod spec.
    pub workloads: Vec<WorkloadFact>,
    /// Every ServiceAccount.
    pub service_accounts: Vec<ServiceAccountFact>,
    /// Every Namespace.
    pub namespaces: Vec<NamespaceFact>,
    /// Every NetworkPolicy.
    pub network_policies: Vec<NetworkPolicyFact>,
    /// Every Role and ClusterRole.
    pub roles: Vec<RoleFact>,
    /// Every RoleBinding and ClusterRoleBinding.
    pub bindings: Vec<BindingFact>,
    /// Whether to take every workload's Pod Security verdicts (costly, so
    /// only when a rule reads them).
    pub wants_pod_security: bool,
    /// The Pod Security level for namespaces without an enforce label
    /// (`--pod-security`, config `pod-security`).
    pub pod_security_default: Option<pss::Policy>,
    /// File paths by `FileId` (set once the run's files are known).
    pub file_names: Vec<String>,
    service_accounts_by_name: HashMap<String, Vec<usize>>,
    namespaces_by_name: HashMap<String, usize>,
}

impl RunIndex {
    /// An empty index for one file.
    pub fn new(wants_pod_security: bool) -> Self {
        RunIndex {
            wants_pod_security,
            ..RunIndex::default()
        }
    }

    /// Adds the facts of one object.
    pub fn add(&mut self, object: &Manifest) {
        let core = object.group().is_empty();
        if object.kind() == "Namespace" && core {
            let labels = object
                .metadata()
                .and_then(|m| m.get("labels"))
                .and_then(Node::as_map)
                .unwrap_or_default();
            self.namespaces.push(NamespaceFact {
                file: object.file,
                name: object.object.name.clone(),
                pod_security: labels
                    .iter()
                    .filter_map(|e| {
                        Some(PodSecurityLabel {
                            name: e.key.strip_prefix(pss::LABEL_PREFIX)?.to_owned(),
                            value: e.value.as_str().map(str::to_owned),
                            span: e.key_span.to(e.value.span),
                        })
                    })
                    .collect(),
            });
        }
        if object.kind() == "NetworkPolicy" && object.group() == "networking.k8s.io" {
            self.network_policies.push(NetworkPolicyFact {
                namespace: object.object.namespace.clone(),
                pod_selector: LabelSelector::parse(object.node.path(&["spec", "podSelector"])),
            });
        }
        if let Some(role) = RoleFact::from_manifest(object) {
            self.roles.push(role);
        }
        if let Some(binding) = BindingFact::from_manifest(object) {
            self.bindings.push(binding);
        }
        if object.kind() == "ServiceAccount" && core {
            self.service_accounts.push(ServiceAccountFact {
                namespace: object.object.namespace.clone(),
                name: object.object.name.clone(),
                automount: object
                    .node
                    .get("automountServiceAccountToken")
                    .and_then(Node::as_bool),
            });
        }
        let Some(pod) = &object.pod else { return };
        let named = pod
            .entry("serviceAccountName")
            .filter(|e| e.value.as_str().is_some_and(|s| !s.is_empty()))
            .or_else(|| {
                pod.entry("serviceAccount")
                    .filter(|e| e.value.as_str().is_some_and(|s| !s.is_empty()))
            })
            .or_else(|| pod.entry("serviceAccountName"));
        let service_account = named
            .and_then(|e| e.value.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or("default");
        let pod_metadata = pod.metadata.filter(|m| m.as_map().is_some());
        let labels_entry = pod_metadata.and_then(|m| m.entry("labels"));
        // A pod's metadata is the object's own; a template's is the
        // `metadata` key beside the pod spec.
        let metadata_key = if object.kind() == "Pod" {
            object.node.entry("metadata").map(|e| e.key_span)
        } else {
            None
        };
        self.workloads.push(WorkloadFact {
            file: object.file,
            slot: object.slot,
            object: object.object.clone(),
            service_account: service_account.to_owned(),
            service_account_span: named.map(|e| e.key_span.to(e.value.span)),
            pod_spec_span: pod.key_span,
            automount: pod
                .entry("automountServiceAccountToken")
                .and_then(|e| Some((e.value.as_bool()?, e.value.span))),
            pod_labels: labels_of(labels_entry.map(|e| &e.value)),
            pod_labels_span: labels_entry
                .map(|e| e.key_span)
                .or(metadata_key)
                .unwrap_or(pod.key_span),
            host_network: pod.get("hostNetwork").and_then(Node::as_bool) == Some(true),
            escape: node_escape(pod),
            pod_security: self.wants_pod_security.then(|| Box::new(Verdicts::of(pod))),
            projected_token: pod.volumes().iter().any(|volume| {
                volume
                    .path(&["projected", "sources"])
                    .and_then(Node::as_seq)
                    .is_some_and(|sources| {
                        sources
                            .iter()
                            .any(|s| s.get("serviceAccountToken").is_some())
                    })
            }),
        });
    }

    /// Merges another file's facts.
    pub fn extend(&mut self, other: RunIndex) {
        self.workloads.extend(other.workloads);
        self.service_accounts.extend(other.service_accounts);
        self.namespaces.extend(other.namespaces);
        self.network_policies.extend(other.network_policies);
        self.roles.extend(other.roles);
        self.bindings.extend(other.bindings);
    }

    /// Builds the lookups, once every file's facts are in.
    pub fn finish(&mut self) {
        self.service_accounts_by_name.clear();
        for (i, sa) in self.service_accounts.iter().enumerate() {
            self.service_accounts_by_name
                .entry(sa.name.clone())
                .or_default()
                .push(i);
        }
        self.namespaces_by_name.clear();
        for (i, namespace) in self.namespaces.iter().enumerate() {
            // The first definition wins, in file order.
            self.namespaces_by_name
                .entry(namespace.name.clone())
                .or_insert(i);
        }
    }

    /// A Namespace of the run by name.
    pub fn namespace(&self, name: &str) -> Option<&NamespaceFact> {
        self.namespaces_by_name
            .get(name)
            .map(|&i| &self.namespaces[i])
    }

    /// Whether a namespaced object's namespace and another's can be the
    /// same: equal, or either unset (it lands where it is applied).
    pub fn same_namespace(a: Option<&str>, b: Option<&str>) -> bool {
        a == b || a.is_none() || b.is_none()
    }

    /// The ServiceAccount a workload runs as, if it is in the run. An unset
    /// namespace on either side matches, since both land in the namespace
    /// they are applied to.
    pub fn service_account_of(&self, workload: &WorkloadFact) -> Option<&ServiceAccountFact> {
        let namespace = workload.object.namespace.as_deref();
        let candidates = self
            .service_accounts_by_name
            .get(&workload.service_account)?;
        candidates
            .iter()
            .map(|&i| &self.service_accounts[i])
            .find(|sa| Self::same_namespace(sa.namespace.as_deref(), namespace))
    }
}
