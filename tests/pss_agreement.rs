//! The per-rule pod security checks (`rules/pod_security`) and the Pod
//! Security evaluator (`pss`) read a pod through one predicate layer
//! (`kslint::pss::predicates`). These tests hold the two to it: an explicit
//! `null` reads as an absent field in both, as the API server decodes it,
//! and where a rule mirrors a PSS check their verdicts agree.

mod common;

use common::lint_only;
use kslint::k8s;
use kslint::pss::{self, Level, Policy, Version};
use kslint::runner::{Text, lint_texts};
use kslint::settings::Settings;
use kslint::source::FileId;
use kslint::yaml::{Limits, parse_stream};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A Pod with `spec` (indented by two) as its spec.
fn pod(spec: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n{spec}")
}

/// Whether `rule` reports anything on `text`.
fn fires(rule: &str, text: &str) -> bool {
    !lint_only(&[("pod.yaml", text)], &[rule])
        .diagnostics
        .is_empty()
}

/// Whether the PSS check `check` fails the first pod of `text` at `policy`.
fn fails(check: &str, policy: Policy, text: &str) -> bool {
    let stream = parse_stream(text, Limits::default());
    let objects = k8s::objects(FileId(0), &stream.documents, &[]);
    let Some(pod) = objects.first().and_then(|o| o.pod.as_ref()) else {
        panic!("no pod in {text}");
    };
    pss::evaluate(pod, policy).iter().any(|v| v.check == check)
}

const BASELINE: Policy = Policy {
    level: Level::Baseline,
    version: Version::Latest,
};
const RESTRICTED: Policy = Policy {
    level: Level::Restricted,
    version: Version::Latest,
};

/// One field written three ways: absent, as `null`, and set.
struct Case {
    rule: &'static str,
    check: &'static str,
    policy: Policy,
    absent: &'static str,
    null: &'static str,
    set: &'static str,
}

const CONTAINER: &str = "  containers:\n  - name: c\n    image: app@sha256:0\n";

/// Holds a rule and its PSS check to one verdict on a field written three
/// ways, and the rule to one verdict for `null` and absent.
fn null_reads_as_absent(case: Case) {
    for (how, spec) in [
        ("absent", case.absent),
        ("null", case.null),
        ("set", case.set),
    ] {
        let text = pod(&format!("{CONTAINER}{spec}"));
        assert_eq!(
            fires(case.rule, &text),
            fails(case.check, case.policy, &text),
            "{} and {} disagree when the field is {how}:\n{text}",
            case.rule,
            case.check
        );
    }
    let absent = pod(&format!("{CONTAINER}{}", case.absent));
    let null = pod(&format!("{CONTAINER}{}", case.null));
    assert_eq!(
        fires(case.rule, &absent),
        fires(case.rule, &null),
        "{} reads null unlike an absent field",
        case.rule
    );
}

/// The API server decodes `hostPath: null` as a volume with no hostPath.
#[test]
fn host_path_null_is_no_host_path_volume() {
    null_reads_as_absent(Case {
        rule: "host-path",
        check: "hostPathVolumes",
        policy: BASELINE,
        absent: "  volumes:\n  - name: v\n",
        null: "  volumes:\n  - name: v\n    hostPath: null\n",
        set: "  volumes:\n  - name: v\n    hostPath:\n      path: /data\n",
    });
}

/// `seccompProfile: null` sets no profile: the container runs unconfined
/// unless the runtime defaults it.
#[test]
fn seccomp_profile_null_is_no_profile() {
    null_reads_as_absent(Case {
        rule: "seccomp-unconfined",
        check: "seccompProfile_restricted",
        policy: RESTRICTED,
        absent: "  securityContext: {}\n",
        null: "  securityContext:\n    seccompProfile: null\n",
        set: "  securityContext:\n    seccompProfile:\n      type: RuntimeDefault\n",
    });
}

/// A sysctl with no name is the sysctl `""` to the API server, as is one
/// whose name is `null`; neither is in the safe set.
#[test]
fn a_sysctl_without_a_name_is_the_empty_name() {
    null_reads_as_absent(Case {
        rule: "unsafe-sysctl",
        check: "sysctls",
        policy: BASELINE,
        absent: "  securityContext:\n    sysctls:\n    - value: \"1\"\n",
        null: "  securityContext:\n    sysctls:\n    - name: null\n      value: \"1\"\n",
        set: "  securityContext:\n    sysctls:\n    - name: kernel.shm_rmid_forced\n      value: \"1\"\n",
    });
}

/// `add: [null]` is the capability `""` to Go, which no allow-list holds.
#[test]
fn a_null_capability_is_the_empty_name() {
    let caps = |item: &str| {
        pod(&format!(
            "{CONTAINER}    securityContext:\n      capabilities:\n        add: [{item}]\n"
        ))
    };
    for item in ["null", "\"\""] {
        let text = caps(item);
        assert!(fires("dangerous-capability", &text), "{text}");
        assert!(fails("capabilities_baseline", BASELINE, &text), "{text}");
    }
    assert!(!fires("dangerous-capability", &caps("CHOWN")));
}

// ---- the rules that mirror a PSS check, on every upstream fixture ----

/// How a rule's verdict relates to a PSS check's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// The same question: the rule fires exactly when the check fails.
    Same,
    /// The rule asks less than the check: when it fires the check fails.
    RuleImpliesCheck,
    /// The rule asks more than the check: when the check fails it fires.
    CheckImpliesRule,
}

/// Rules (any of which firing counts) against PSS checks (any of which
/// failing counts), each at the policy whose version and level the rule
/// follows.
struct Pair {
    rules: &'static [&'static str],
    checks: &'static [(&'static str, Policy)],
    relation: Relation,
}

const fn at(level: Level, version: Version) -> Policy {
    Policy { level, version }
}
const BASELINE_LATEST: Policy = at(Level::Baseline, Version::Latest);
const RESTRICTED_LATEST: Policy = at(Level::Restricted, Version::Latest);
/// The last version before the user-namespace exemptions (v1.35), which
/// run-as-root does not make.
const RESTRICTED_1_34: Policy = at(Level::Restricted, Version::Minor(34));
/// The last version that read the seccomp annotations.
const BASELINE_1_18: Policy = at(Level::Baseline, Version::Minor(18));

/// Which rule mirrors which check, and how far. Where a pair is not
/// `Same`, the meanings differ on purpose (rules/*.md documents each rule):
/// - unsafe-sysctl also reads `/` as the separator, as the kubelet does, so
///   `net/ipv4/tcp_syncookies` is safe to it and not to Pod Security (which
///   compares exact names); it never fires where Pod Security admits.
/// - dangerous-capability folds case and `CAP_` and leaves NET_RAW to
///   net-raw; Pod Security compares exact strings.
/// - capabilities-not-dropped and net-raw ask one half each of
///   capabilities_restricted (drop ALL; add nothing but NET_BIND_SERVICE),
///   with case folding; Pod Security also exempts Windows pods only from
///   v1.25, the rules always.
/// - apparmor-unconfined fires only on `Unconfined` / `unconfined`; Pod
///   Security forbids every profile but RuntimeDefault and Localhost.
/// - run-as-root reads the effective runAsUser / runAsNonRoot of each
///   container; Pod Security fails any explicit `runAsUser: 0` and asks for
///   `runAsNonRoot: true` even when a non-zero runAsUser is set, and from
///   v1.35 exempts user-namespaced pods.
/// - seccomp-unconfined's error is the baseline question (an `Unconfined`
///   profile, or, before v1.19, annotation) and its warning the restricted
///   one (no profile at all); Pod Security also forbids any other type.
/// - volume-type-restricted names every set source outside the allowed
///   list, unknown keys included; Pod Security fails a volume only for a
///   known restricted source and only when it has no allowed one.
/// - host-port also reports a hostPort of the wrong type (`"8080"`), which
///   the API server cannot decode and Pod Security reads as unset; the
///   fixtures are well-typed, so on them the two are the same.
const PAIRS: &[Pair] = &[
    Pair {
        rules: &["privileged-container"],
        checks: &[("privileged", BASELINE_LATEST)],
        relation: Relation::Same,
    },
    Pair {
        rules: &["host-network", "host-pid", "host-ipc"],
        checks: &[("hostNamespaces", BASELINE_LATEST)],
        relation: Relation::Same,
    },
    Pair {
        rules: &["host-path"],
        checks: &[("hostPathVolumes", BASELINE_LATEST)],
        relation: Relation::Same,
    },
    Pair {
        rules: &["host-port"],
        checks: &[("hostPorts", BASELINE_LATEST)],
        relation: Relation::Same,
    },
    Pair {
        // The restricted copy, which no hostUsers setting relaxes.
        rules: &["proc-mount"],
        checks: &[("procMount_restricted", RESTRICTED_LATEST)],
        relation: Relation::Same,
    },
    Pair {
        rules: &["selinux-options"],
        checks: &[("seLinuxOptions", BASELINE_LATEST)],
        relation: Relation::Same,
    },
    Pair {
        rules: &["host-process"],
        checks: &[("windowsHostProcess", BASELINE_LATEST)],
        relation: Relation::Same,
    },
    Pair {
        rules: &["privilege-escalation"],
        checks: &[("allowPrivilegeEscalation", RESTRICTED_LATEST)],
        relation: Relation::Same,
    },
    Pair {
        rules: &["unsafe-sysctl"],
        checks: &[("sysctls", BASELINE_LATEST)],
        relation: Relation::RuleImpliesCheck,
    },
    Pair {
        rules: &["dangerous-capability"],
        checks: &[("capabilities_baseline", BASELINE_LATEST)],
        relation: Relation::RuleImpliesCheck,
    },
    Pair {
        rules: &["capabilities-not-dropped", "net-raw"],
        checks: &[("capabilities_restricted", RESTRICTED_LATEST)],
        relation: Relation::RuleImpliesCheck,
    },
    Pair {
        rules: &["apparmor-unconfined"],
        checks: &[("appArmorProfile", BASELINE_LATEST)],
        relation: Relation::RuleImpliesCheck,
    },
    Pair {
        rules: &["run-as-root"],
        checks: &[
            ("runAsUser", RESTRICTED_1_34),
            ("runAsNonRoot", RESTRICTED_1_34),
        ],
        relation: Relation::RuleImpliesCheck,
    },
    Pair {
        rules: &["seccomp-unconfined"],
        checks: &[
            ("seccompProfile_baseline", BASELINE_1_18),
            ("seccompProfile_restricted", RESTRICTED_LATEST),
        ],
        relation: Relation::RuleImpliesCheck,
    },
    Pair {
        rules: &["volume-type-restricted"],
        checks: &[("restrictedVolumes", RESTRICTED_LATEST)],
        relation: Relation::CheckImpliesRule,
    },
];

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn rules_agree_with_the_checks_they_mirror() {
    let root = common::root().join("testdata/pss-conformance");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    // Most fixtures repeat across versions; the verdicts here depend only
    // on the pod (each pair fixes its policy), so each text runs once.
    let mut pods: BTreeMap<String, String> = BTreeMap::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        pods.entry(text).or_insert_with(|| common::relative(path));
    }
    assert!(pods.len() >= 300, "only {} distinct fixtures", pods.len());
    // The rules' own fixtures too, one workload per text: they exercise
    // what the upstream ones do not (case-folded and CAP_ capabilities,
    // workloads other than Pods).
    let mut rule_files = Vec::new();
    yaml_files(&common::root().join("testdata/rules"), &mut rule_files);
    for path in &rule_files {
        let text = std::fs::read_to_string(path).unwrap();
        let stream = parse_stream(&text, Limits::default());
        for (i, document) in stream.documents.iter().enumerate() {
            let range = document.range.start as usize..document.range.end as usize;
            let objects = k8s::objects(FileId(0), std::slice::from_ref(document), &[]);
            // A suppression hides what a rule found; that is not a verdict.
            if let [object] = objects.as_slice()
                && object.pod.is_some()
                && !text[range.clone()].contains("kslint")
            {
                pods.entry(text[range].to_owned())
                    .or_insert_with(|| format!("{}#{i}", common::relative(path)));
            }
        }
    }

    let rules: BTreeSet<&str> = PAIRS.iter().flat_map(|p| p.rules.iter().copied()).collect();
    let rules: Vec<&str> = rules.into_iter().collect();
    let texts = pods
        .iter()
        .map(|(text, name)| Text::Given {
            name: name.clone(),
            text: text.clone(),
        })
        .collect();
    let outcome = lint_texts(texts, &Settings::only(&rules));
    let mut fired: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for diagnostic in &outcome.diagnostics {
        let file = outcome.db.file(diagnostic.primary.file).name.as_str();
        fired.entry(file).or_default().insert(diagnostic.rule);
    }

    let mut disagreements = Vec::new();
    let mut seen = vec![(0usize, 0usize); PAIRS.len()];
    for (text, name) in &pods {
        let stream = parse_stream(text, Limits::default());
        let objects = k8s::objects(FileId(0), &stream.documents, &[]);
        let pod = objects[0].pod.as_ref().expect("every text holds a pod");
        let none = BTreeSet::new();
        let fired = fired.get(name.as_str()).unwrap_or(&none);
        for (i, pair) in PAIRS.iter().enumerate() {
            let rule = pair.rules.iter().any(|r| fired.contains(r));
            let check = pair.checks.iter().any(|(check, policy)| {
                pss::evaluate(pod, *policy)
                    .iter()
                    .any(|v| v.check == *check)
            });
            seen[i].0 += usize::from(rule);
            seen[i].1 += usize::from(check);
            let agrees = match pair.relation {
                Relation::Same => rule == check,
                Relation::RuleImpliesCheck => !rule || check,
                Relation::CheckImpliesRule => !check || rule,
            };
            if !agrees {
                disagreements.push(format!(
                    "{name}: {:?} {} but {:?} {} ({:?})",
                    pair.rules,
                    if rule { "fires" } else { "is silent" },
                    pair.checks.iter().map(|(c, _)| c).collect::<Vec<_>>(),
                    if check { "fails" } else { "passes" },
                    pair.relation
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // Every pair is exercised both ways: no pair agrees vacuously.
    for (pair, (rule, check)) in PAIRS.iter().zip(&seen) {
        assert!(
            *rule > 0 && *check > 0 && *rule < pods.len() && *check < pods.len(),
            "{:?}: fires on {rule}, fails on {check} of {} fixtures",
            pair.rules,
            pods.len()
        );
    }
}
