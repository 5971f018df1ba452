//! The policy stage: after the cross-resource rules, admission policies
//! and the custom rules that read other objects (`namespaceObject`,
//! `resources`) run per unit, over the objects the check stage linted.
//! It reads the texts again (from memory) only when the run has policies
//! or such rules, so a run without them pays nothing.

use super::admission::{self, Admission};
use super::cost::Size;
use super::custom::{self, CustomRules, RuntimeError};
use super::expression::{self, list_size};
use super::validate::Budget;
use crate::diagnostic::Diagnostic;
use crate::k8s::{self, Manifest};
use crate::source::{FileId, SourceFile};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// How the run reads texts, as the check stage did.
pub struct Reading<'a> {
    /// The YAML loader's bounds.
    pub limits: &'a crate::yaml::Limits,
    /// Where custom resources keep a pod spec.
    pub pod_spec_paths: &'a [crate::k8s::PodSpecPath],
}

/// What the check stage says about each file.
pub struct FileFacts<'a> {
    /// The files, in id order.
    pub files: &'a [SourceFile],
    /// The unit each belongs to (`None` for loose files).
    pub units: &'a [Option<&'a str>],
    /// Whether the check stage linted the file's objects (not a file a
    /// build consumed).
    pub linted: &'a [bool],
    /// Whether the file holds an admission policy or binding.
    pub has_policy: &'a [bool],
}

/// Runs the stage; findings and runtime errors of custom rules.
pub fn run(
    facts: &FileFacts,
    reading: &Reading,
    custom: Option<&CustomRules>,
    budget: &Budget,
) -> (Vec<Diagnostic>, Vec<RuntimeError>) {
    let custom = custom.filter(|c| c.rules.iter().any(|r| r.enabled && r.needs_run));
    let any_policy = facts.has_policy.iter().any(|p| *p);
    if custom.is_none() && !any_policy {
        return (Vec::new(), Vec::new());
    }
    let mut loose = Vec::new();
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut unit_of: HashMap<&str, usize> = HashMap::new();
    for (i, unit) in facts.units.iter().enumerate() {
        if !facts.linted[i] {
            continue;
        }
        match unit {
            None => loose.push(i),
            Some(key) => {
                let at = *unit_of.entry(key).or_insert_with(|| {
                    units.push(Vec::new());
                    units.len() - 1
                });
                units[at].push(i);
            }
        }
    }
    let parse = |indexes: &[usize]| -> Vec<(FileId, crate::yaml::Stream)> {
        indexes
            .par_iter()
            .map(|&i| {
                let stream = crate::yaml::parse_manifest_stream(
                    &facts.files[i].text,
                    reading.limits.clone(),
                );
                (FileId(i as u32), stream)
            })
            .collect()
    };
    let loose_streams = parse(&loose);
    let loose_objects = objects_of(&loose_streams, reading);
    let loose_refs: Vec<&Manifest> = loose_objects.iter().collect();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let loose_admission = Admission::of(&loose_refs, &mut out);
    let loose_has_policies = !loose_admission.is_empty();
    judge_all(
        &[&loose_admission],
        custom,
        &loose_refs,
        &loose_refs,
        budget,
        &mut out,
        &mut errors,
    );
    // Units one after another: the loose objects they share are views
    // that cannot cross threads (each file's parse is parallel).
    let unit_results: Vec<(Vec<Diagnostic>, Vec<RuntimeError>)> = units
        .iter()
        .filter(|unit| {
            loose_has_policies || custom.is_some() || unit.iter().any(|&i| facts.has_policy[i])
        })
        .map(|unit| {
            let streams = parse(unit);
            let objects = objects_of(&streams, reading);
            let unit_refs: Vec<&Manifest> = objects.iter().collect();
            let mut everything = loose_refs.clone();
            everything.extend(unit_refs.iter().copied());
            let mut out = Vec::new();
            let mut errors = Vec::new();
            let admission = Admission::of(&unit_refs, &mut out);
            judge_all(
                &[&loose_admission, &admission],
                custom,
                &unit_refs,
                &everything,
                budget,
                &mut out,
                &mut errors,
            );
            (out, errors)
        })
        .collect();
    for (found, failed) in unit_results {
        out.extend(found);
        errors.extend(failed);
    }
    (out, errors)
}

fn objects_of<'s>(
    streams: &'s [(FileId, crate::yaml::Stream)],
    reading: &Reading,
) -> Vec<Manifest<'s>> {
    streams
        .iter()
        .flat_map(|(id, stream)| k8s::objects(*id, &stream.documents, reading.pod_spec_paths))
        .collect()
}

fn judge_all(
    parts: &[&Admission],
    custom: Option<&CustomRules>,
    judged: &[&Manifest],
    everything: &[&Manifest],
    budget: &Budget,
    out: &mut Vec<Diagnostic>,
    errors: &mut Vec<RuntimeError>,
) {
    let bound = parts.iter().any(|a| !a.is_empty());
    let namespaces = if bound {
        admission::namespaces(everything)
    } else {
        Vec::new()
    };
    let resources = custom.map(|c| resources_value(c, everything));
    for object in judged {
        if bound {
            admission::judge(parts, object, everything, &namespaces, budget, out);
        }
        let (Some(custom), Some(resources)) = (custom, &resources) else {
            continue;
        };
        let mut bindings = None;
        for rule in custom.rules.iter().filter(|r| r.enabled && r.needs_run) {
            if !rule.matcher.matches(object) {
                continue;
            }
            let bindings = bindings.get_or_insert_with(|| {
                let mut b = custom::object_bindings(object);
                let namespace = namespace_of(object, everything);
                let size = namespace.as_ref().map_or(Size::ONE, |n| n.1);
                b.set(
                    "namespaceObject",
                    namespace.map_or(cel::objects::Value::Null, |n| n.0),
                    size,
                );
                b.set_shared("resources", resources.0.clone(), resources.1);
                b
            });
            custom.judge(rule, object, bindings, budget, out, errors);
        }
    }
}

fn namespace_of(
    object: &Manifest,
    everything: &[&Manifest],
) -> Option<(cel::objects::Value, Size)> {
    let name = object.object.namespace.as_deref().unwrap_or("default");
    everything
        .iter()
        .find(|o| o.kind() == "Namespace" && o.group().is_empty() && o.object.name == name)
        .map(|n| expression::from_yaml(n.node))
}

/// `resources`: for each kind a rule selects, the unit's objects of that
/// kind (an empty list if there are none).
fn resources_value(custom: &CustomRules, everything: &[&Manifest]) -> (expression::Shared, Size) {
    let mut kinds: Vec<&str> = Vec::new();
    for rule in &custom.rules {
        for kind in &rule.resource_kinds {
            if !kinds.contains(&kind.as_str()) {
                kinds.push(kind);
            }
        }
    }
    let mut size = Size::ONE;
    let entries: Vec<(String, cel::objects::Value)> = kinds
        .iter()
        .map(|kind| {
            let mut item_size = Size::ONE;
            let items: Vec<cel::objects::Value> = everything
                .iter()
                .filter(|o| o.kind() == *kind)
                .map(|o| {
                    let (value, s) = expression::from_yaml(o.node);
                    item_size = expression::larger(item_size, s);
                    value
                })
                .collect();
            size = expression::larger(size, list_size(items.len(), item_size));
            (kind.to_string(), cel::objects::Value::List(Arc::new(items)))
        })
        .collect();
    (expression::share(expression::map_of(entries)), size)
}
