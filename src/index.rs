//! The run index: the compact facts that cross-object rules need, taken
//! from each file while its trees are alive, so the trees can be dropped.
//! Later analyses (RBAC, namespaces) add their facts here.

use crate::diagnostic::{ObjectRef, ObjectSlot};
use crate::k8s::Manifest;
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
    service_accounts_by_name: HashMap<String, Vec<usize>>,
}

impl RunIndex {
    /// Adds the facts of one object.
    pub fn add(&mut self, object: &Manifest) {
        if object.kind() == "ServiceAccount" && object.group().is_empty() {
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
        });
    }

    /// Merges another file's facts.
    pub fn extend(&mut self, other: RunIndex) {
        self.workloads.extend(other.workloads);
        self.service_accounts.extend(other.service_accounts);
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
            .find(|sa| {
                sa.namespace.as_deref() == namespace
                    || sa.namespace.is_none()
                    || namespace.is_none()
            })
    }
}
