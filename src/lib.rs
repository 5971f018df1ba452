//! kslint: a static Kubernetes manifest security linter.
//!
//! Data flows one way: [`source`] finds files, [`yaml`] loads them into
//! spanned trees, [`k8s`] views them as objects, [`rules`] (through
//! [`runner`] and [`registry`]) produce [`diagnostic`]s, [`suppress`]
//! filters them, and [`report`] renders them.
#![warn(missing_docs)]

pub mod baseline;
pub mod catalog;
pub mod changes;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod edit;
pub mod expand;
pub mod fix;
pub mod group;
pub mod helm;
pub mod index;
pub mod k8s;
pub mod kustomize;
pub mod outcome;
pub mod parsed;
pub mod policy;
pub mod pss;
pub mod rbac;
pub mod registry;
pub mod report;
pub mod rules;
pub mod runner;
pub mod sandbox;
pub mod schema;
pub mod server;
pub mod settings;
pub mod source;
pub mod spelling;
pub mod suppress;
pub mod text;
pub mod trace;
pub mod tree;
pub mod yaml;

/// The engines of a run, in the order they expand: Kustomize builds, then
/// Helm charts.
pub fn engines() -> Vec<Box<dyn expand::Engine>> {
    vec![
        Box::new(kustomize::builds::Builds),
        Box::new(helm::charts::Charts),
    ]
}
