//! The Pod Security Standards, evaluated as the upstream admission library
//! (`k8s.io/pod-security-admission`) does: the levels, the policy versions,
//! which checks each level and version runs, and for every failed check the
//! fields that fail it, so a finding can point at them.
//!
//! Like the API server, the evaluator reads the pod as decoded and
//! defaulted: a field of the wrong type counts as unset (the API server
//! would refuse the object), and a volume with no source is an `emptyDir`.
//! It reads the pod only through [`crate::k8s::predicates`], the
//! field-level layer the per-rule checks of `rules::pod_security` and the
//! node-escape context share, so they all read every field alike.

mod checks;

pub use checks::{ALLOWED_VOLUMES, BASELINE_CAPABILITIES, safe_sysctl};

use crate::k8s::PodSpec;
use crate::yaml::Span;
use std::fmt;
use std::str::FromStr;

/// The newest policy version kslint knows; `latest` and newer versions
/// evaluate as this one, as the admission library clamps to its newest.
pub const NEWEST_MINOR: u16 = 37;

/// The namespace labels Pod Security Admission reads.
pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// A Pod Security level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Unrestricted.
    Privileged,
    /// Blocks known privilege escalations.
    Baseline,
    /// Hardened pods only.
    Restricted,
}

impl Level {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    /// Parses a label value; only the three exact names are levels.
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }
}

/// A policy version: `latest` or `v1.N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// The newest version.
    Latest,
    /// `v1.N`.
    Minor(u16),
}

impl Version {
    /// Parses a label value as the admission library does: `latest`, or
    /// `v1.N` with no leading zero.
    pub fn parse(text: &str) -> Option<Version> {
        if text == "latest" {
            return Some(Version::Latest);
        }
        let digits = text.strip_prefix("v1.")?;
        let well_formed = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !well_formed {
            return None;
        }
        // Go's Atoi fails past 64 bits, making the label invalid; any
        // other minor past the newest evaluates as the newest.
        let minor: u64 = digits.parse().ok()?;
        Some(Version::Minor(minor.min(u64::from(u16::MAX)) as u16))
    }

    /// The minor version whose checks run.
    pub fn effective_minor(self) -> u16 {
        match self {
            Version::Latest => NEWEST_MINOR,
            Version::Minor(minor) => minor.min(NEWEST_MINOR),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::Minor(minor) => write!(f, "v1.{minor}"),
        }
    }
}

/// A level at a version: what a namespace label pair asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    /// The level.
    pub level: Level,
    /// The version of the level's checks.
    pub version: Version,
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level.as_str(), self.version)
    }
}

impl FromStr for Policy {
    type Err = String;

    /// `LEVEL[:VERSION]`, as `--pod-security` takes it.
    fn from_str(text: &str) -> Result<Self, String> {
        let (level, version) = text.split_once(':').unwrap_or((text, "latest"));
        let level = Level::parse(level).ok_or_else(|| {
            format!(
                "unknown Pod Security level {level:?}: expected privileged, baseline or restricted"
            )
        })?;
        let version = Version::parse(version).ok_or_else(|| {
            format!("invalid Pod Security version {version:?}: expected \"latest\" or \"v1.N\" such as v1.30")
        })?;
        Ok(Policy { level, version })
    }
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The upstream check id (`allowPrivilegeEscalation`).
    pub check: &'static str,
    /// What the check forbids, in the API server's words (`host namespaces`).
    pub reason: &'static str,
    /// Which containers or values fail it.
    pub detail: String,
    /// How to fix it: a sentence.
    pub fix: &'static str,
    /// The offending fields (or, for an absence, where to add one); the
    /// first is the one to show.
    pub spans: Vec<Span>,
}

/// Evaluates a pod spec against one policy; empty when it is admitted.
pub fn evaluate(pod: &PodSpec, policy: Policy) -> Vec<Violation> {
    checks::selected(policy)
        .into_iter()
        .filter_map(|(check, variant)| (checks::CHECKS[check].variants[variant].run)(pod))
        .collect()
}

/// The verdict of every check version on one pod, computed once while its
/// tree is alive, so any policy can be answered later without the tree.
#[derive(Debug, Clone, Default)]
pub struct Verdicts {
    failures: Vec<(u8, u8, Violation)>,
}

impl Verdicts {
    /// Runs every version of every check on a pod spec.
    pub fn of(pod: &PodSpec) -> Verdicts {
        let mut failures = Vec::new();
        for (c, check) in checks::CHECKS.iter().enumerate() {
            for (v, variant) in check.variants.iter().enumerate() {
                if let Some(violation) = (variant.run)(pod) {
                    failures.push((c as u8, v as u8, violation));
                }
            }
        }
        Verdicts { failures }
    }

    /// The checks a policy runs that this pod fails, in upstream order.
    pub fn violations(&self, policy: Policy) -> Vec<&Violation> {
        if self.failures.is_empty() {
            return Vec::new();
        }
        checks::selected(policy)
            .into_iter()
            .filter_map(|(check, variant)| {
                self.failures
                    .iter()
                    .find(|(c, v, _)| usize::from(*c) == check && usize::from(*v) == variant)
                    .map(|(_, _, violation)| violation)
            })
            .collect()
    }
}

/// The ids of the checks a policy runs, in upstream order (for tests and
/// docs).
pub fn check_ids(policy: Policy) -> Vec<&'static str> {
    checks::selected(policy)
        .into_iter()
        .map(|(check, _)| checks::CHECKS[check].id)
        .collect()
}

/// Every check id with the checks it replaces at the restricted level
/// (`capabilities_restricted` replaces `capabilities_baseline`).
pub fn overrides(id: &str) -> Vec<&'static str> {
    checks::CHECKS
        .iter()
        .filter(|check| check.id == id)
        .flat_map(|check| check.variants.iter())
        .flat_map(|variant| variant.overrides.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests;
