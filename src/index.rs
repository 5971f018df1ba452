//! The run index: the compact facts that cross-object rules need, taken
//! from each file while its trees are alive, so the trees can be dropped.
//! Later analyses (RBAC, namespaces) add their facts here.

use crate::diagnostic::{ObjectRef, ObjectSlot};
use crate::k8s::Manifest;
use crate::k8s::node_access::{NodeEscape, node_escape};
use crate::k8s::rbac::{BindingFact, RoleFact};
use crate::k8s::selector::{LabelSelector, labels_of};
use crate::pss::{self, Verdicts};
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
    /// Where `automountServiceAccountToken` would go into the pod spec, in
    /// a file kslint may fix that does not write it.
    pub automount_insertion: Option<crate::edit::Insertion>,
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

impl WorkloadFact {
    /// `this pod`, or `the pods of this Deployment`, for messages.
    pub fn pods(&self) -> String {
        if self.object.kind == "Pod" {
            "this pod".to_owned()
        } else {
            format!("the pods of this {}", self.object.kind)
        }
    }
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

/// A CustomResourceDefinition's schemas.
#[derive(Debug, Clone)]
pub struct CrdFact {
    /// `spec.group`.
    pub group: String,
    /// `spec.names.kind`.
    pub kind: String,
    /// Its name, for messages.
    pub name: String,
    /// Each version's name and `openAPIV3Schema`.
    pub versions: Vec<(String, Node)>,
    /// `spec.preserveUnknownFields` (the v1beta1 default): nothing is
    /// pruned, so unknown fields are kept, not dropped.
    pub preserves_unknown: bool,
}

/// A custom resource, kept whole so it can be checked against a CRD of
/// the run once every file is read.
#[derive(Debug, Clone)]
pub struct CustomObjectFact {
    /// Its file.
    pub file: FileId,
    /// Its place in the file.
    pub slot: ObjectSlot,
    /// Its identity.
    pub object: ObjectRef,
    /// The object.
    pub node: Node,
}

/// A custom resource's problem against its CRD.
#[derive(Debug, Clone)]
pub struct CrdProblem {
    /// The custom resource's file.
    pub file: FileId,
    /// Its place in the file.
    pub slot: ObjectSlot,
    /// Its identity.
    pub object: ObjectRef,
    /// The CRD's name.
    pub crd: String,
    /// The problem.
    pub problem: crate::schema::Problem,
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
#[derive(Debug, Default, Clone)]
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
    /// Every CustomResourceDefinition with schemas.
    pub crds: Vec<CrdFact>,
    /// Custom resources, when a rule checks them against CRDs.
    pub custom_objects: Vec<CustomObjectFact>,
    /// Whether to keep custom resources for the CRD check.
    pub wants_custom_objects: bool,
    /// Custom resources' problems against their CRDs (after `finish`).
    pub crd_problems: Vec<CrdProblem>,
    /// Patch files that kustomizations name (`patches`,
    /// `patchesStrategicMerge`, `patchesJson6902`): the kustomization's
    /// file and the path as written.
    pub patch_refs: Vec<(FileId, String)>,
    /// File paths by `FileId` (set once the run's files are known).
    pub file_names: std::sync::Arc<[String]>,
    service_accounts_by_name: HashMap<String, Vec<usize>>,
    namespaces_by_name: HashMap<String, usize>,
    /// Bindings by the service account name a subject gives.
    bindings_by_account: HashMap<String, Vec<usize>>,
    /// The same, by service account name and the subject's namespace
    /// (`None` where it is unset).
    bindings_by_account_in: HashMap<(String, Option<String>), Vec<usize>>,
    /// Bindings with a Group subject (it may hold any service account).
    bindings_with_groups: Vec<usize>,
    /// NetworkPolicies by the namespace they set.
    policies_by_namespace: HashMap<String, Vec<usize>>,
    /// NetworkPolicies without a namespace (they land where applied).
    policies_without_namespace: Vec<usize>,
    /// Workloads by the namespace they set.
    workloads_by_namespace: HashMap<String, Vec<usize>>,
    /// Workloads by the service account they run as.
    workloads_by_account: HashMap<String, Vec<usize>>,
    /// The same, by service account and namespace (`None` where unset).
    workloads_by_account_in: HashMap<(String, Option<String>), Vec<usize>>,
}

impl RunIndex {
    /// An empty index for one file.
    pub fn new(wants_pod_security: bool) -> Self {
        RunIndex {
            wants_pod_security,
            ..RunIndex::default()
        }
    }

    /// Keeps custom resources for the CRD check.
    pub fn keeping_custom_objects(mut self, keep: bool) -> Self {
        self.wants_custom_objects = keep;
        self
    }

    fn add_crd(&mut self, object: &Manifest) {
        let spec = object.node.get("spec");
        let text = |node: Option<&Node>| node.and_then(Node::as_str).unwrap_or_default().to_owned();
        let mut versions = Vec::new();
        for version in spec
            .and_then(|s| s.get("versions"))
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            if let Some(schema) = version.path(&["schema", "openAPIV3Schema"]) {
                versions.push((text(version.get("name")), schema.clone()));
            }
        }
        // apiextensions.k8s.io/v1beta1 kept one schema for every version.
        if let Some(schema) = spec.and_then(|s| s.path(&["validation", "openAPIV3Schema"])) {
            let names = spec
                .and_then(|s| s.get("versions"))
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .map(|v| text(v.get("name")))
                .chain(
                    spec.and_then(|s| s.get("version"))
                        .and_then(Node::as_str)
                        .map(str::to_owned),
                )
                .collect::<Vec<_>>();
            for name in names {
                versions.push((name, schema.clone()));
            }
        }
        let v1beta1 = object.object.api_version.ends_with("/v1beta1");
        let preserves_unknown = spec
            .and_then(|s| s.get("preserveUnknownFields"))
            .and_then(Node::as_bool)
            .unwrap_or(v1beta1);
        if !versions.is_empty() {
            self.crds.push(CrdFact {
                preserves_unknown,
                group: text(spec.and_then(|s| s.get("group"))),
                kind: text(spec.and_then(|s| s.path(&["names", "kind"]))),
                name: object.object.name.clone(),
                versions,
            });
        }
    }

    /// Adds the facts of one object.
    pub fn add(&mut self, object: &Manifest, source: Option<&crate::edit::Source>) {
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
        if object.kind() == "CustomResourceDefinition" && object.group() == "apiextensions.k8s.io" {
            self.add_crd(object);
        }
        if self.wants_custom_objects
            && object.group().contains('.')
            && !crate::schema::knows(&object.object.api_version, object.kind())
        {
            self.custom_objects.push(CustomObjectFact {
                file: object.file,
                slot: object.slot,
                object: object.object.clone(),
                node: object.node.clone(),
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
            automount_insertion: source
                .filter(|_| pod.entry("automountServiceAccountToken").is_none())
                .and_then(|source| source.insertion(pod.spec)),
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
        // Every field is named: a new fact that is not merged here is a
        // compile error, not facts silently lost across files.
        let RunIndex {
            workloads,
            service_accounts,
            namespaces,
            network_policies,
            roles,
            bindings,
            crds,
            custom_objects,
            patch_refs,
            // Settings of the run, the same in every file's index.
            wants_pod_security: _,
            pod_security_default: _,
            wants_custom_objects: _,
            // Made by `finish` from the merged facts.
            crd_problems: _,
            file_names: _,
            service_accounts_by_name: _,
            namespaces_by_name: _,
            bindings_by_account: _,
            bindings_by_account_in: _,
            policies_by_namespace: _,
            policies_without_namespace: _,
            bindings_with_groups: _,
            workloads_by_namespace: _,
            workloads_by_account: _,
            workloads_by_account_in: _,
        } = other;
        self.workloads.extend(workloads);
        self.service_accounts.extend(service_accounts);
        self.namespaces.extend(namespaces);
        self.network_policies.extend(network_policies);
        self.roles.extend(roles);
        self.bindings.extend(bindings);
        self.crds.extend(crds);
        self.patch_refs.extend(patch_refs);
        self.custom_objects.extend(custom_objects);
    }

    /// Builds the lookups, once every file's facts are in.
    pub fn finish(&mut self) {
        self.finish_beside(None);
    }

    /// Builds the lookups of a unit deployed beside the loose files, whose
    /// CustomResourceDefinitions its custom resources may use.
    pub fn finish_beside(&mut self, loose: Option<&RunIndex>) {
        self.bindings_by_account.clear();
        self.bindings_by_account_in.clear();
        self.bindings_with_groups.clear();
        for (i, binding) in self.bindings.iter().enumerate() {
            for subject in &binding.subjects {
                match subject.kind.as_str() {
                    "Group" => self.bindings_with_groups.push(i),
                    _ => {
                        if let Some(account) = subject_account(&subject.kind, &subject.name) {
                            self.bindings_by_account
                                .entry(account.to_owned())
                                .or_default()
                                .push(i);
                            let namespace = match subject.kind.as_str() {
                                "ServiceAccount" => binding.subject_namespace(subject),
                                _ => service_account_user(&subject.name).map(|(ns, _)| ns),
                            };
                            self.bindings_by_account_in
                                .entry((account.to_owned(), namespace.map(str::to_owned)))
                                .or_default()
                                .push(i);
                        }
                    }
                }
            }
        }
        for list in self
            .bindings_by_account
            .values_mut()
            .chain(self.bindings_by_account_in.values_mut())
        {
            list.dedup();
        }
        self.bindings_with_groups.dedup();
        self.policies_by_namespace.clear();
        self.policies_without_namespace.clear();
        for (i, policy) in self.network_policies.iter().enumerate() {
            match &policy.namespace {
                Some(namespace) => self
                    .policies_by_namespace
                    .entry(namespace.clone())
                    .or_default()
                    .push(i),
                None => self.policies_without_namespace.push(i),
            }
        }
        self.workloads_by_namespace.clear();
        self.workloads_by_account.clear();
        self.workloads_by_account_in.clear();
        for (i, workload) in self.workloads.iter().enumerate() {
            if let Some(namespace) = &workload.object.namespace {
                self.workloads_by_namespace
                    .entry(namespace.clone())
                    .or_default()
                    .push(i);
            }
            self.workloads_by_account
                .entry(workload.service_account.clone())
                .or_default()
                .push(i);
            self.workloads_by_account_in
                .entry((
                    workload.service_account.clone(),
                    workload.object.namespace.clone(),
                ))
                .or_default()
                .push(i);
        }
        self.service_accounts_by_name.clear();
        for (i, sa) in self.service_accounts.iter().enumerate() {
            self.service_accounts_by_name
                .entry(sa.name.clone())
                .or_default()
                .push(i);
        }
        self.crd_problems.clear();
        let patch_files = self.patch_files();
        for custom in &self.custom_objects {
            // A patch is a partial object: its missing fields come from the
            // object it patches, so required fields are not checked there.
            let partial = patch_files.contains(&custom.file);
            let (group, version) = custom
                .object
                .api_version
                .rsplit_once('/')
                .unwrap_or(("", custom.object.api_version.as_str()));
            let schema = self
                .crds
                .iter()
                .chain(loose.into_iter().flat_map(|l| &l.crds))
                .find_map(|crd| {
                    (crd.group == group && crd.kind == custom.object.kind).then(|| {
                        crd.versions
                            .iter()
                            .find(|(name, _)| name == version)
                            .map(|(_, schema)| (crd, schema))
                    })?
                });
            let Some((crd, schema)) = schema else {
                continue;
            };
            for problem in crate::schema::crd::check(&custom.node, schema) {
                let required = matches!(&problem, crate::schema::Problem::Mismatch { expected, .. } if expected.contains("required field"));
                let unknown = matches!(&problem, crate::schema::Problem::UnknownField { .. });
                if (partial && required) || (unknown && crd.preserves_unknown) {
                    continue;
                }
                self.crd_problems.push(CrdProblem {
                    file: custom.file,
                    slot: custom.slot,
                    object: custom.object.clone(),
                    crd: crd.name.clone(),
                    problem,
                });
            }
        }
        // Only the problems are needed from here on.
        self.custom_objects = Vec::new();
        self.namespaces_by_name.clear();
        for (i, namespace) in self.namespaces.iter().enumerate() {
            // The first definition wins, in file order.
            self.namespaces_by_name
                .entry(namespace.name.clone())
                .or_insert(i);
        }
    }

    /// The files kustomizations of the run use as patches.
    pub fn patch_files(&self) -> Vec<FileId> {
        let mut out = Vec::new();
        if self.patch_refs.is_empty() {
            return out;
        }
        let by_name: HashMap<String, usize> = self
            .file_names
            .iter()
            .enumerate()
            .map(|(i, n)| (normalize(n), i))
            .rev()
            .collect();
        for (kustomization, path) in &self.patch_refs {
            let Some(name) = self.file_names.get(kustomization.0 as usize) else {
                continue;
            };
            let dir = name.rsplit_once(['/', '\\']).map_or("", |(d, _)| d);
            let joined = if dir.is_empty() {
                normalize(path)
            } else {
                normalize(&format!("{dir}/{path}"))
            };
            if let Some(&i) = by_name.get(&joined) {
                out.push(FileId(i as u32));
            }
        }
        out
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

/// The namespace and name in a service account's user name
/// (`system:serviceaccount:NS:NAME`).
pub fn service_account_user(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
}

/// The service account name a binding subject gives: a ServiceAccount's
/// own, or the one in a `system:serviceaccount:NS:NAME` user name.
pub fn subject_account<'a>(kind: &str, name: &'a str) -> Option<&'a str> {
    match kind {
        "ServiceAccount" => Some(name),
        "User" => service_account_user(name).map(|(_, name)| name),
        _ => None,
    }
}

/// One cluster as the cross-resource rules see it: a unit's facts (one
/// Kustomize build, one chart's value set, or the loose files alone) and,
/// for a unit, the loose files deployed beside it. The loose facts are
/// shared by every unit's view, never copied, so a run of many builds
/// costs what its objects cost.
pub struct ClusterView<'a> {
    own: &'a RunIndex,
    loose: Option<&'a RunIndex>,
    /// The workloads judged here: the unit's own, and the loose ones the
    /// unit changes something for (a Namespace they run in, a binding
    /// that names their service account).
    subjects: Vec<&'a WorkloadFact>,
}

impl<'a> ClusterView<'a> {
    /// The view of one index alone (the loose files, or a whole run for
    /// queries).
    pub fn alone(index: &'a RunIndex) -> Self {
        ClusterView {
            own: index,
            loose: None,
            subjects: index.workloads.iter().collect(),
        }
    }

    /// The view of a unit deployed beside the loose files.
    pub fn beside(unit: &'a RunIndex, loose: &'a RunIndex) -> Self {
        let mut reached: Vec<usize> = Vec::new();
        if !unit.bindings_with_groups.is_empty() {
            // A group may hold any service account: rare, so simply all.
            reached.extend(0..loose.workloads.len());
        } else {
            for namespace in &unit.namespaces {
                reached.extend(
                    loose
                        .workloads_by_namespace
                        .get(&namespace.name)
                        .into_iter()
                        .flatten(),
                );
            }
            // A subject in a namespace reaches the workloads there (and
            // those without one); only a subject without a namespace
            // reaches every workload of its account's name.
            for (account, namespace) in unit.bindings_by_account_in.keys() {
                let lists: Vec<&Vec<usize>> = match namespace {
                    Some(_) => [namespace.clone(), None]
                        .into_iter()
                        .filter_map(|ns| loose.workloads_by_account_in.get(&(account.clone(), ns)))
                        .collect(),
                    None => loose
                        .workloads_by_account
                        .get(account)
                        .into_iter()
                        .collect(),
                };
                reached.extend(lists.into_iter().flatten());
            }
            reached.sort_unstable();
            reached.dedup();
        }
        ClusterView {
            own: unit,
            loose: Some(loose),
            subjects: unit
                .workloads
                .iter()
                .chain(reached.into_iter().map(|i| &loose.workloads[i]))
                .collect(),
        }
    }

    /// The indexes of this cluster, the unit's first.
    fn layers(&self) -> impl Iterator<Item = &'a RunIndex> + use<'a> {
        std::iter::once(self.own).chain(self.loose)
    }

    /// The workloads to judge in this view.
    pub fn workloads(&self) -> &[&'a WorkloadFact] {
        &self.subjects
    }

    /// The NetworkPolicies that may apply in a namespace: those in it and
    /// those without one; for an unset namespace, every one.
    pub fn network_policies_in(
        &self,
        namespace: Option<&str>,
    ) -> impl Iterator<Item = &'a NetworkPolicyFact> + use<'a> {
        let namespace = namespace.map(str::to_owned);
        self.layers().flat_map(move |index| {
            let positions: Box<dyn Iterator<Item = &usize>> = match &namespace {
                Some(namespace) => Box::new(
                    index
                        .policies_by_namespace
                        .get(namespace)
                        .into_iter()
                        .flatten()
                        .chain(&index.policies_without_namespace),
                ),
                None => Box::new(
                    index
                        .policies_by_namespace
                        .values()
                        .flatten()
                        .chain(&index.policies_without_namespace),
                ),
            };
            positions.map(|&i| &index.network_policies[i])
        })
    }

    /// Every Role and ClusterRole of the cluster.
    pub fn roles(&self) -> impl Iterator<Item = &'a RoleFact> + use<'a> {
        self.layers().flat_map(|index| &index.roles)
    }

    /// Every binding of the cluster.
    pub fn bindings(&self) -> impl Iterator<Item = &'a BindingFact> + use<'a> {
        self.layers().flat_map(|index| &index.bindings)
    }

    /// The bindings that may name a service account: those whose subjects
    /// give its name, and those with Group subjects, in file order per
    /// layer.
    pub fn bindings_for_account(
        &self,
        account: &str,
        namespace: Option<&str>,
    ) -> Vec<&'a BindingFact> {
        let mut out = Vec::new();
        for index in self.layers() {
            // A workload with a namespace meets the subjects in it and the
            // ones without (they land where applied): a lookup per case,
            // not every binding of a common name such as `default`.
            let named: Vec<&Vec<usize>> = match namespace {
                Some(namespace) => [Some(namespace), None]
                    .into_iter()
                    .filter_map(|ns| {
                        index
                            .bindings_by_account_in
                            .get(&(account.to_owned(), ns.map(str::to_owned)))
                    })
                    .collect(),
                None => index.bindings_by_account.get(account).into_iter().collect(),
            };
            let mut positions: Vec<usize> = named
                .into_iter()
                .flatten()
                .chain(&index.bindings_with_groups)
                .copied()
                .collect();
            positions.sort_unstable();
            positions.dedup();
            out.extend(positions.into_iter().map(|i| &index.bindings[i]));
        }
        out
    }

    /// A Namespace by name: the unit's, else a loose one.
    pub fn namespace(&self, name: &str) -> Option<&'a NamespaceFact> {
        self.layers().find_map(|index| index.namespace(name))
    }

    /// The ServiceAccount a workload runs as, if the cluster has it.
    pub fn service_account_of(&self, workload: &WorkloadFact) -> Option<&'a ServiceAccountFact> {
        self.layers()
            .find_map(|index| index.service_account_of(workload))
    }

    /// The unit's custom resources' problems against the CRDs it sees.
    pub fn crd_problems(&self) -> &'a [CrdProblem] {
        &self.own.crd_problems
    }

    /// The Pod Security level for namespaces without an enforce label.
    pub fn pod_security_default(&self) -> Option<pss::Policy> {
        self.own.pod_security_default
    }

    /// File paths by `FileId`.
    pub fn file_names(&self) -> &'a [String] {
        &self.own.file_names
    }
}

/// A run's file name with `.` and `..` resolved as text, as kustomize
/// joins paths. Most names have nothing to resolve and are kept as they
/// are: this runs over every file name of the run.
fn normalize(path: &str) -> String {
    let clean = !path.is_empty()
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if clean {
        return path.to_owned();
    }
    crate::source::display_name(&crate::source::lexical_join(std::path::Path::new(""), path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_files_resolve_relative_to_their_kustomization() {
        let index = RunIndex {
            file_names: vec![
                "kustomization.yaml".into(),
                "size-patch.yaml".into(),
                "overlay/kustomization.yaml".into(),
                "base/patch.yaml".into(),
                "overlay/local.yaml".into(),
            ]
            .into(),
            patch_refs: vec![
                (FileId(0), "./size-patch.yaml".into()),
                (FileId(2), "../base/patch.yaml".into()),
                (FileId(2), "local.yaml".into()),
                (FileId(2), "missing.yaml".into()),
            ],
            ..RunIndex::default()
        };
        assert_eq!(index.patch_files(), [FileId(1), FileId(3), FileId(4)]);
    }
}
