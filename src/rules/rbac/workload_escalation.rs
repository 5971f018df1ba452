//! `rbac-workload-escalation`: see rules/rbac-workload-escalation.md
use crate::index::{ClusterView, WorkloadFact};
use crate::rbac::authorize::{Danger, Hit, dangers};
use crate::rbac::{BindingFact, Granted, Model, RoleFact, Subject, names_workload, token_mounted};
use crate::registry::{Rule, RuleContext};
use std::collections::HashMap;
use std::rc::Rc;

crate::declare_rule!(RbacWorkloadEscalation, "rbac-workload-escalation");

/// One dangerous permission a binding grants.
struct Grant<'a> {
    role: &'a RoleFact,
    granted: Granted<'a>,
    hit: Hit,
}

impl Rule for RbacWorkloadEscalation {
    crate::rule_identity!();

    fn check_run(&self, cluster: &ClusterView, cx: &mut RuleContext) {
        let workloads: Vec<&WorkloadFact> = cluster
            .workloads()
            .iter()
            .copied()
            .filter(|w| token_mounted(cluster, w))
            .collect();
        // The bindings each workload's account may be named by (a lookup,
        // not workloads times bindings), and each of those bindings once.
        let relevant: Vec<Vec<&BindingFact>> = workloads
            .iter()
            .map(|w| {
                cluster.bindings_for_account(&w.service_account, w.object.namespace.as_deref())
            })
            .collect();
        let mut position: HashMap<*const BindingFact, usize> = HashMap::new();
        let mut bindings: Vec<&BindingFact> = Vec::new();
        for &binding in relevant.iter().flatten() {
            position
                .entry(std::ptr::from_ref(binding))
                .or_insert_with(|| {
                    bindings.push(binding);
                    bindings.len() - 1
                });
        }
        if bindings.is_empty() {
            return;
        }
        let model = Model::new(cluster.roles()).with_paths(cluster.file_names());
        // Each binding's dangerous grants, computed once per role and scope:
        // many bindings share a role (`view`, `edit`).
        let mut by_role: HashMap<(*const RoleFact, bool), Rc<Vec<Grant>>> = HashMap::new();
        let none: Rc<Vec<Grant>> = Rc::default();
        let grants: Vec<Rc<Vec<Grant>>> = bindings
            .iter()
            .map(|binding| {
                let Some(role) = model.role_of(binding) else {
                    return none.clone();
                };
                let namespaced = !binding.cluster;
                by_role
                    .entry((std::ptr::from_ref(role), namespaced))
                    .or_insert_with(|| {
                        Rc::new(
                            model
                                .rules_of(role)
                                .iter()
                                .flat_map(|granted| {
                                    dangers(granted.rule, namespaced)
                                        .into_iter()
                                        .map(move |hit| Grant {
                                            role,
                                            granted: *granted,
                                            hit,
                                        })
                                })
                                .collect(),
                        )
                    })
                    .clone()
            })
            .collect();
        for (workload, relevant) in workloads.into_iter().zip(relevant) {
            // Bindings that name this workload's account. A match that only
            // holds because a namespace is unset (it lands where applied)
            // is kept only from the files nearest the workload: folders of
            // one repository reuse names like `service-account`.
            let mut candidates: Vec<(&BindingFact, &Subject, &Vec<Grant>, bool, i64)> = Vec::new();
            // Harmless bindings count too: the nearest binding of a
            // reused name may be the workload's own, with nothing to report.
            for binding in relevant {
                let grants: &Vec<Grant> = &grants[position[&std::ptr::from_ref(binding)]];
                if let Some(subject) = binding
                    .subjects
                    .iter()
                    .find(|s| names_workload(binding, s, workload))
                {
                    let everyone = subject.kind == "Group"
                        && matches!(
                            subject.name.as_str(),
                            "system:serviceaccounts" | "system:authenticated"
                        );
                    let exact = everyone
                        || (workload.object.namespace.is_some()
                            && (subject.kind != "ServiceAccount"
                                || binding.subject_namespace(subject).is_some()));
                    let closeness = model.closeness(binding.file, workload.file);
                    candidates.push((binding, subject, grants, exact, closeness));
                }
            }
            let closest = candidates.iter().filter(|c| !c.3).map(|c| c.4).max();
            // A danger is shown through the nearest binding that grants
            // it: sibling folders (rendered examples, environments) often
            // repeat the same binding, and the workload's own is the one
            // its user edits.
            candidates.sort_by_key(|c| std::cmp::Reverse(c.4));
            let mut chain: Vec<Link> = Vec::new();
            for (binding, subject, grants, exact, closeness) in candidates {
                if !exact && Some(closeness) != closest {
                    continue;
                }
                for grant in grants {
                    if chain
                        .iter()
                        .any(|link| link.grant.hit.danger == grant.hit.danger)
                    {
                        continue;
                    }
                    chain.push(Link {
                        binding,
                        subject,
                        grant,
                    });
                }
            }
            // A `*` on `*` rule grants every other danger too: what else
            // that same rule grants adds nothing to read.
            let everything: Vec<*const crate::rbac::RuleFact> = chain
                .iter()
                .filter(|link| link.grant.hit.danger == Danger::Wildcard)
                .map(|link| std::ptr::from_ref(link.grant.granted.rule))
                .collect();
            chain.retain(|link| {
                link.grant.hit.danger == Danger::Wildcard
                    || !everything.contains(&std::ptr::from_ref(link.grant.granted.rule))
            });
            if !chain.is_empty() {
                report(cx, workload, &chain);
            }
        }
    }
}

/// One danger of a workload and the binding that grants it.
struct Link<'a> {
    binding: &'a BindingFact,
    subject: &'a Subject,
    grant: &'a Grant<'a>,
}

/// One finding per workload: every danger its service account holds,
/// most severe first, with the chain to the first ones as labels.
fn report(cx: &mut RuleContext, workload: &WorkloadFact, chain: &[Link]) {
    let account_namespace = workload
        .object
        .namespace
        .as_deref()
        .map_or_else(String::new, |ns| format!("{ns}/"));
    let mut links: Vec<&Link> = chain.iter().collect();
    links.sort_by_key(|link| link.grant.hit.danger);
    let grants: Vec<String> = links
        .iter()
        .map(|link| format!("`{}`", link.grant.hit.what))
        .collect();
    let grants: Vec<&str> = grants.iter().map(String::as_str).collect();
    let message = format!(
        "runs as ServiceAccount {account_namespace}{}, whose RBAC grants {}: an attacker who controls this pod can {}",
        workload.service_account,
        crate::text::join_and(&grants),
        links[0].grant.hit.danger.consequence()
    );
    let span = workload
        .service_account_span
        .unwrap_or(workload.pod_spec_span);
    let object = Some((workload.slot, workload.object.clone()));
    let mut report = cx
        .report_at(workload.file, span, message, object)
        .help("Run this workload as its own ServiceAccount without these permissions, or set `automountServiceAccountToken: false` if it never calls the Kubernetes API.");
    let mut bindings_shown: Vec<*const BindingFact> = Vec::new();
    for link in &links {
        if !bindings_shown.contains(&std::ptr::from_ref(link.binding)) {
            bindings_shown.push(std::ptr::from_ref(link.binding));
            report = report.related(
                link.binding.file,
                link.subject.name_span,
                format!(
                    "{} binds {} to this subject",
                    link.binding.describe(),
                    link.grant.role.describe()
                ),
            );
        }
        if let Some(file) = link.grant.granted.source.file {
            report = report.related(
                file,
                link.grant.hit.span,
                format!("this rule allows `{}`", link.grant.hit.what),
            );
        }
    }
    let _ = report;
}
