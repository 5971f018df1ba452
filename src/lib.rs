//! kslint: a static Kubernetes manifest security linter.
#![warn(missing_docs)]
pub mod yaml;
