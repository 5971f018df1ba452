//! Users' own policies: custom rules in CEL from the config, and the
//! ValidatingAdmissionPolicies of the linted tree, evaluated statically.

pub mod cost;
pub mod expression;
pub mod library;
