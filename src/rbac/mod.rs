//! RBAC as data: roles, bindings and their rules with source spans, the
//! built-in ClusterRoles, and the model that joins them (aggregation
//! resolved) so rules and subcommands can ask who may do what.

pub mod authorize;
pub mod graph;
pub mod query;

use crate::index::{ClusterView, RunIndex, WorkloadFact};
use crate::source::FileId;
use crate::yaml::{Limits, parse_stream};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::LazyLock;

pub use crate::k8s::rbac::*;

/// The upstream bootstrap ClusterRoles (data/rbac/SOURCE.md).
const BOOTSTRAP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/rbac/bootstrap-cluster-roles.yaml"
));

/// The built-in ClusterRoles every cluster has.
pub static BUILTIN: LazyLock<Vec<RoleFact>> = LazyLock::new(|| {
    let stream = parse_stream(BOOTSTRAP, Limits::default());
    crate::k8s::objects(FileId(u32::MAX), &stream.documents, &[])
        .iter()
        .filter_map(RoleFact::from_manifest)
        .map(|mut role| {
            role.file = None;
            role
        })
        .collect()
});

/// A rule as granted through a role: the rule, and the role that holds it
/// (an aggregated ClusterRole's rules live in the roles it selects).
#[derive(Debug, Clone, Copy)]
pub struct Granted<'a> {
    /// The role whose `rules` hold it.
    pub source: &'a RoleFact,
    /// The rule.
    pub rule: &'a RuleFact,
}

/// The run's RBAC joined: roles by name, aggregation resolved.
pub struct Model<'a> {
    /// The run's Roles by name (several when folders reuse a name).
    roles_by_name: HashMap<&'a str, Vec<&'a RoleFact>>,
    /// ClusterRoles by name: the run's (several when folders reuse a
    /// name), else the built-in one.
    cluster_roles: HashMap<&'a str, Vec<&'a RoleFact>>,
    /// `rules_of` per role, computed once: aggregation can be costly.
    resolved: RefCell<HashMap<*const RoleFact, Rc<[Granted<'a>]>>>,
    /// File paths by `FileId`, to tell same-named objects apart.
    paths: &'a [String],
}

/// How many leading folders two paths share (more: closer).
pub fn affinity(a: &str, b: &str) -> usize {
    a.split(['/', '\\'])
        .zip(b.split(['/', '\\']))
        .take_while(|(x, y)| x == y)
        .count()
}

impl<'a> Model<'a> {
    /// Joins the run's roles and bindings with the built-in ClusterRoles;
    /// a ClusterRole in the run wins over a built-in one of that name.
    pub fn new(roles: impl IntoIterator<Item = &'a RoleFact>) -> Model<'a> {
        let mut cluster_roles: HashMap<&str, Vec<&RoleFact>> = HashMap::new();
        let mut roles_by_name: HashMap<&str, Vec<&RoleFact>> = HashMap::new();
        for role in roles {
            let by_name = if role.cluster {
                &mut cluster_roles
            } else {
                &mut roles_by_name
            };
            by_name.entry(&role.object.name).or_default().push(role);
        }
        for role in BUILTIN.iter() {
            cluster_roles
                .entry(&role.object.name)
                .or_insert_with(|| vec![role]);
        }
        Model {
            roles_by_name,
            cluster_roles,
            resolved: RefCell::default(),
            paths: &[],
        }
    }

    /// Uses the run's file paths (by `FileId`) to pick among same-named
    /// roles.
    pub fn with_paths(mut self, paths: &'a [String]) -> Self {
        self.paths = paths;
        self
    }

    /// How close two files are: shared leading folders, else (without
    /// paths) closeness in path order.
    pub fn closeness(&self, a: FileId, b: FileId) -> i64 {
        match (self.paths.get(a.0 as usize), self.paths.get(b.0 as usize)) {
            (Some(x), Some(y)) => affinity(x, y) as i64,
            _ => -i64::from(a.0.abs_diff(b.0)),
        }
    }

    /// Of several roles with the name a binding refers to, the one in the
    /// binding's file, else the nearest: loose folders that reuse generic
    /// names (`role`, `manager-role`) are told apart by where they are.
    fn nearest(&self, candidates: &[&'a RoleFact], binding: &BindingFact) -> Option<&'a RoleFact> {
        candidates
            .iter()
            .copied()
            .max_by_key(|role| match role.file {
                Some(file) if file == binding.file => i64::MAX,
                Some(file) => self.closeness(file, binding.file),
                None => i64::MIN,
            })
    }

    /// The role a binding refers to, if known.
    pub fn role_of(&self, binding: &BindingFact) -> Option<&'a RoleFact> {
        match binding.role_kind.as_str() {
            "ClusterRole" => self
                .cluster_roles
                .get(binding.role_name.as_str())
                .and_then(|roles| self.nearest(roles, binding)),
            "Role" if !binding.cluster => {
                let namespace = binding.object.namespace.as_deref();
                let candidates: &[&RoleFact] = self
                    .roles_by_name
                    .get(binding.role_name.as_str())
                    .map_or(&[], Vec::as_slice);
                let exact: Vec<&RoleFact> = candidates
                    .iter()
                    .copied()
                    .filter(|r| r.object.namespace.as_deref() == namespace)
                    .collect();
                if !exact.is_empty() {
                    return self.nearest(&exact, binding);
                }
                let possible: Vec<&RoleFact> = candidates
                    .iter()
                    .copied()
                    .filter(|r| RunIndex::same_namespace(r.object.namespace.as_deref(), namespace))
                    .collect();
                self.nearest(&possible, binding)
            }
            _ => None,
        }
    }

    /// The rules a role grants: its own, or for an aggregated ClusterRole,
    /// those of every ClusterRole its selectors match (transitively).
    pub fn rules_of(&self, role: &'a RoleFact) -> Rc<[Granted<'a>]> {
        let key = role as *const RoleFact;
        if let Some(rules) = self.resolved.borrow().get(&key) {
            return rules.clone();
        }
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.collect(role, &mut out, &mut seen);
        let rules: Rc<[Granted<'a>]> = out.into();
        self.resolved.borrow_mut().insert(key, rules.clone());
        rules
    }

    fn collect(
        &self,
        role: &'a RoleFact,
        out: &mut Vec<Granted<'a>>,
        seen: &mut HashSet<*const RoleFact>,
    ) {
        if !seen.insert(role as *const _) {
            return;
        }
        let Some(selectors) = &role.aggregation else {
            out.extend(role.rules.iter().map(|rule| Granted { source: role, rule }));
            return;
        };
        let mut members: Vec<&RoleFact> = self
            .cluster_roles
            .values()
            .flatten()
            .copied()
            .filter(|other| selectors.iter().any(|s| s.matches(&other.labels)))
            .collect();
        // Deterministic order: the run's roles first, by name.
        members.sort_by(|a, b| {
            (a.file.is_none(), &a.object.name).cmp(&(b.file.is_none(), &b.object.name))
        });
        for member in members {
            self.collect(member, out, seen);
        }
    }
}

/// Whether the pods carry a token: the pod's setting wins, then the
/// ServiceAccount's, and the default is yes.
pub fn token_mounted(cluster: &ClusterView, workload: &WorkloadFact) -> bool {
    if workload.projected_token {
        return true;
    }
    match workload.automount {
        Some((mounted, _)) => mounted,
        None => cluster
            .service_account_of(workload)
            .is_none_or(|sa| sa.automount != Some(false)),
    }
}

/// Whether a subject of a binding is the workload's service account (or
/// a group it belongs to).
pub fn names_workload(binding: &BindingFact, subject: &Subject, workload: &WorkloadFact) -> bool {
    let namespace = workload.object.namespace.as_deref();
    match subject.kind.as_str() {
        // A ClusterRoleBinding subject without a namespace is refused by
        // the API server, but Kustomize's `namespace:` fills it in at build
        // time, so it matches like any namespace-less object.
        "ServiceAccount" => {
            subject.name == workload.service_account
                && RunIndex::same_namespace(binding.subject_namespace(subject), namespace)
        }
        // A service account's user name: system:serviceaccount:NS:NAME.
        "User" => crate::index::service_account_user(&subject.name).is_some_and(|(ns, name)| {
            name == workload.service_account && RunIndex::same_namespace(Some(ns), namespace)
        }),
        "Group" => match subject.name.as_str() {
            "system:serviceaccounts" | "system:authenticated" => true,
            group => group
                .strip_prefix("system:serviceaccounts:")
                .is_some_and(|ns| RunIndex::same_namespace(Some(ns), namespace)),
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests;
