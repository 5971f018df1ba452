//! Users' own policies: custom rules in CEL from the config, and the
//! ValidatingAdmissionPolicies of the linted tree, evaluated statically.

pub mod admission;
pub mod cost;
pub mod custom;
pub mod expression;
pub mod field_path;
pub mod library;
pub mod pass;
pub mod resources;
pub mod validate;
